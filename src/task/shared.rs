//! [`Shared`]: a reference-counted pointer whose allocation may fail
//! (`ENOMEM`), where `alloc::sync::Arc::new` would abort the kernel:
//! every kernel-heap allocation on a syscall path must be able to fail
//! cleanly (the heap fault-injection test walks them all). Open file
//! descriptions and pipes are shared this way between fds and processes.

use crate::errno::Errno;
use core::alloc::Layout;
use core::ops::Deref;
use core::ptr::NonNull;
use core::sync::atomic::{fence, AtomicUsize, Ordering};

struct Inner<T> {
    count: AtomicUsize,
    value: T,
}

/// Like `Arc<T>`, created with [`Shared::try_new`].
pub struct Shared<T> {
    ptr: NonNull<Inner<T>>,
}

// SAFETY: as Arc: the value is shared between holders (Sync needed) and
// dropped by whichever holder is last (Send needed); the count is atomic.
unsafe impl<T: Send + Sync> Send for Shared<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for Shared<T> {}

impl<T> Shared<T> {
    /// `value` on the heap with one reference, or `ENOMEM`.
    pub fn try_new(value: T) -> Result<Shared<T>, Errno> {
        let layout = Layout::new::<Inner<T>>();
        // SAFETY: the layout has a non-zero size (it holds the count).
        let p = unsafe { alloc::alloc::alloc(layout) }.cast::<Inner<T>>();
        let ptr = NonNull::new(p).ok_or(Errno::ENOMEM)?;
        // SAFETY: `p` is a fresh allocation with `Inner<T>`'s layout.
        unsafe {
            p.write(Inner {
                count: AtomicUsize::new(1),
                value,
            })
        };
        Ok(Shared { ptr })
    }

    /// Whether both point at the same value.
    pub fn ptr_eq(a: &Shared<T>, b: &Shared<T>) -> bool {
        a.ptr == b.ptr
    }

    /// The value's address (a key for sleepers on it).
    pub fn as_ptr(this: &Shared<T>) -> *const T {
        // SAFETY: the allocation lives while `this` does.
        unsafe { core::ptr::addr_of!((*this.ptr.as_ptr()).value) }
    }

    fn inner(&self) -> &Inner<T> {
        // SAFETY: the allocation lives while a `Shared` points at it (the
        // count is at least this one).
        unsafe { self.ptr.as_ref() }
    }
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Shared<T> {
        // Relaxed, as Arc: a new reference from an existing one needs no
        // ordering. (More references than memory can hold cannot exist.)
        self.inner().count.fetch_add(1, Ordering::Relaxed);
        Shared { ptr: self.ptr }
    }
}

impl<T> Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner().value
    }
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        if self.inner().count.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        fence(Ordering::Acquire);
        let p = self.ptr.as_ptr();
        // SAFETY: this was the last reference: nobody else can reach the
        // value; it was allocated by `try_new` with this layout.
        unsafe {
            core::ptr::drop_in_place(p);
            alloc::alloc::dealloc(p.cast(), Layout::new::<Inner<T>>());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::sync::atomic::AtomicU32;

    struct Counted<'a>(&'a AtomicU32);
    impl Drop for Counted<'_> {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn dropped_once_by_the_last_holder() {
        let drops = AtomicU32::new(0);
        let a = Shared::try_new(Counted(&drops)).unwrap();
        let b = a.clone();
        let c = b.clone();
        assert!(Shared::ptr_eq(&a, &c));
        assert_eq!(Shared::as_ptr(&a), Shared::as_ptr(&b));
        drop(a);
        drop(c);
        assert_eq!(drops.load(Ordering::Relaxed), 0);
        drop(b);
        assert_eq!(drops.load(Ordering::Relaxed), 1);
        let x = Shared::try_new(5u64).unwrap();
        let y = Shared::try_new(5u64).unwrap();
        assert!(!Shared::ptr_eq(&x, &y));
        assert_eq!(*x + *y, 10);
    }
}
