//! The kernel heap: `linked_list_allocator` heaps over a small boot region
//! in BSS plus regions taken from the frame allocator as the heap fills.
//!
//! The `#[global_allocator]` lives in the binary (main.rs) so host tests
//! keep std's allocator; it forwards here.
//!
//! Growth: when no region can satisfy a request, a new region of at least
//! [`GROW_MIN`] bytes of physically contiguous frames (seen through the
//! linear map) is added, up to [`MAX_REGIONS`] regions and at most an
//! eighth of RAM in all ([`set_grower`] sets both). The frame allocator is
//! asked without waiting: an allocation made while the memory manager's
//! lock is held gets no new region and fails instead of deadlocking.
//! Every path whose allocation size comes from input uses the fallible
//! APIs (`try_reserve`), so a failure there is `ENOMEM`, never a panic.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;
use linked_list_allocator::Heap;

/// The boot region: what the kernel needs before the frame allocator
/// exists, and its steady state for small workloads.
pub const BOOT_HEAP_SIZE: usize = 1 << 20;
/// Smallest region added when the heap grows.
pub const GROW_MIN: usize = 1 << 20;
/// Regions the heap can hold (the boot region included).
pub const MAX_REGIONS: usize = 32;

#[repr(C, align(4096))]
struct HeapSpace([u8; BOOT_HEAP_SIZE]);

static mut HEAP_SPACE: HeapSpace = HeapSpace([0; BOOT_HEAP_SIZE]);

/// Gives `bytes` (a multiple of 4 KiB) of fresh kernel-mapped memory, or
/// `None`; must not block.
pub type Grower = fn(bytes: usize) -> Option<usize>;

/// A set of heap regions that grows through a [`Grower`].
pub struct Regions {
    heaps: [Heap; MAX_REGIONS],
    count: usize,
    /// Bytes taken from the grower so far, and the most it may give.
    grown: usize,
    limit: usize,
}

impl Regions {
    pub const fn new() -> Self {
        Regions {
            heaps: [const { Heap::empty() }; MAX_REGIONS],
            count: 0,
            grown: 0,
            limit: 0,
        }
    }

    /// Add `[start, start + size)` as a region.
    ///
    /// # Safety
    /// The memory is valid, writable, unused by anything else, and stays
    /// so for as long as the heap lives.
    pub unsafe fn add(&mut self, start: usize, size: usize) -> bool {
        let Some(h) = self.heaps.get_mut(self.count) else {
            return false;
        };
        // SAFETY: the caller's contract.
        unsafe { h.init(start as *mut u8, size) };
        self.count += 1;
        true
    }

    pub fn alloc(&mut self, layout: Layout, grow: Option<Grower>) -> *mut u8 {
        for h in &mut self.heaps[..self.count] {
            if let Ok(p) = h.allocate_first_fit(layout) {
                return p.as_ptr();
            }
        }
        let Some(grow) = grow else {
            return core::ptr::null_mut();
        };
        if self.count == MAX_REGIONS {
            return core::ptr::null_mut();
        }
        // Room for the request, its alignment and the allocator's hole
        // bookkeeping, in whole frames.
        let need = layout
            .size()
            .checked_add(layout.align())
            .and_then(|n| n.checked_add(4096 + 64))
            .map(|n| n.max(GROW_MIN))
            .and_then(|n| n.checked_next_multiple_of(4096));
        let Some(need) = need.filter(|&n| self.grown.saturating_add(n) <= self.limit) else {
            return core::ptr::null_mut();
        };
        let Some(start) = grow(need) else {
            return core::ptr::null_mut();
        };
        self.grown += need;
        // SAFETY: the grower hands out fresh memory owned by the heap.
        unsafe { self.add(start, need) };
        match self.heaps[self.count - 1].allocate_first_fit(layout) {
            Ok(p) => p.as_ptr(),
            Err(()) => core::ptr::null_mut(),
        }
    }

    /// # Safety
    /// `ptr` came from [`Regions::alloc`] with this `layout`.
    pub unsafe fn dealloc(&mut self, ptr: *mut u8, layout: Layout) {
        let a = ptr as usize;
        let Some(p) = NonNull::new(ptr) else { return };
        for h in &mut self.heaps[..self.count] {
            if a >= h.bottom() as usize && a < h.top() as usize {
                // SAFETY: the caller's contract; `ptr` lies in this region.
                unsafe { h.deallocate(p, layout) };
                return;
            }
        }
    }

    /// (bytes in use, bytes free) over all regions.
    pub fn usage(&self) -> (usize, usize) {
        self.heaps[..self.count]
            .iter()
            .fold((0, 0), |(u, f), h| (u + h.used(), f + h.free()))
    }

    /// Number of regions, the boot region included.
    pub fn regions(&self) -> usize {
        self.count
    }
}

/// The kernel's heap (forwarded to by the binary's global allocator).
pub struct KernelHeap {
    regions: spin::Mutex<Regions>,
    grower: spin::Once<Grower>,
}

pub static HEAP: KernelHeap = KernelHeap {
    regions: spin::Mutex::new(Regions::new()),
    grower: spin::Once::new(),
};

// SAFETY: every call is serialised by the regions lock and forwarded to
// linked_list_allocator heaps over memory the kernel gave to the heap only.
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let grow = self.grower.get().copied();
        self.regions.lock().alloc(layout, grow)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is GlobalAlloc's, which is ours.
        unsafe { self.regions.lock().dealloc(ptr, layout) }
    }
}

/// Hand the BSS boot region to the allocator. Call once, before any
/// allocation.
pub fn init() {
    let start = core::ptr::addr_of_mut!(HEAP_SPACE) as usize;
    // SAFETY: called once at boot before anything allocates; HEAP_SPACE is
    // used by nothing else.
    unsafe { HEAP.regions.lock().add(start, BOOT_HEAP_SIZE) };
}

/// Let the heap grow from `grow`, by at most `limit` bytes in all. Call
/// once the frame allocator and the linear map are up.
pub fn set_grower(grow: Grower, limit: usize) {
    HEAP.regions.lock().limit = limit;
    HEAP.grower.call_once(|| grow);
}

/// Bytes the heap has taken from the frame allocator (it keeps them).
pub fn grown() -> usize {
    HEAP.regions.lock().grown
}

/// Bytes in use / free, for the boot log.
pub fn usage() -> (usize, usize) {
    HEAP.regions.lock().usage()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// Hands out leaked, page-aligned host memory and counts it.
    fn host_grow(bytes: usize) -> Option<usize> {
        let layout = std::alloc::Layout::from_size_align(bytes, 4096).ok()?;
        // SAFETY: non-zero size; leaked on purpose (the heap owns it).
        let p = unsafe { std::alloc::alloc(layout) };
        (!p.is_null()).then_some(p as usize)
    }

    fn boot_region(size: usize) -> usize {
        host_grow(size).unwrap()
    }

    #[test]
    fn grows_when_full_and_frees_into_the_right_region() {
        let mut r = Regions::new();
        // SAFETY: fresh host memory.
        unsafe { r.add(boot_region(64 << 10), 64 << 10) };
        r.limit = 8 << 20;
        let l = Layout::from_size_align(48 << 10, 8).unwrap();
        let a = r.alloc(l, Some(host_grow));
        assert!(!a.is_null());
        assert_eq!(r.regions(), 1, "fits the boot region");
        let b = r.alloc(l, Some(host_grow));
        assert!(!b.is_null());
        assert_eq!(r.regions(), 2, "a second region was added");
        let used = r.usage().0;
        // SAFETY: both came from this heap with this layout.
        unsafe {
            r.dealloc(b, l);
            r.dealloc(a, l);
        }
        assert_eq!(r.usage().0, used - 2 * l.size());
        assert_eq!(r.usage().0, 0);
    }

    #[test]
    fn a_request_larger_than_the_limit_fails_cleanly() {
        let mut r = Regions::new();
        // SAFETY: fresh host memory.
        unsafe { r.add(boot_region(64 << 10), 64 << 10) };
        r.limit = 2 << 20;
        let big = Layout::from_size_align(4 << 20, 8).unwrap();
        assert!(r.alloc(big, Some(host_grow)).is_null());
        assert_eq!(r.regions(), 1, "nothing taken for a refused request");
        // Without a grower: only the boot region.
        let l = Layout::from_size_align(128 << 10, 8).unwrap();
        assert!(r.alloc(l, None).is_null());
        // Up to the limit, then no more.
        let mut got = Vec::new();
        loop {
            let p = r.alloc(l, Some(host_grow));
            if p.is_null() {
                break;
            }
            got.push(p);
        }
        assert!(r.grown <= r.limit);
        assert!(
            got.len() >= 8,
            "about 2 MiB of 128 KiB blocks: {}",
            got.len()
        );
    }

    #[test]
    fn region_count_is_bounded() {
        let mut r = Regions::new();
        r.limit = usize::MAX;
        let l = Layout::from_size_align(GROW_MIN, 8).unwrap();
        for _ in 0..MAX_REGIONS {
            assert!(!r.alloc(l, Some(host_grow)).is_null());
        }
        assert_eq!(r.regions(), MAX_REGIONS);
        assert!(r.alloc(l, Some(host_grow)).is_null(), "no region left");
    }

    #[test]
    fn growth_is_counted_as_the_grower_gave_it_and_usage_sums_regions() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static GIVEN: AtomicUsize = AtomicUsize::new(0);
        fn counting_grow(bytes: usize) -> Option<usize> {
            GIVEN.fetch_add(bytes, Ordering::SeqCst);
            host_grow(bytes)
        }
        let mut r = Regions::new();
        // SAFETY: fresh host memory.
        unsafe { r.add(boot_region(64 << 10), 64 << 10) };
        assert_eq!(r.usage(), (0, 64 << 10), "an empty region is all free");
        r.limit = 16 << 20;
        let l = Layout::from_size_align(256 << 10, 8).unwrap();
        let a = r.alloc(l, Some(counting_grow));
        let b = r.alloc(l, Some(counting_grow));
        assert!(!a.is_null() && !b.is_null());
        let given = GIVEN.load(Ordering::SeqCst);
        assert!(given >= GROW_MIN && given % 4096 == 0);
        assert_eq!(r.grown, given, "grown = what the grower handed out");
        let (used, free) = r.usage();
        assert_eq!(used, 2 * l.size());
        assert_eq!(used + free, (64 << 10) + given, "every region counted");
    }

    #[test]
    fn a_grown_region_is_page_multiple_and_fits_the_request() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static ASKED: AtomicUsize = AtomicUsize::new(0);
        fn recording_grow(bytes: usize) -> Option<usize> {
            ASKED.store(bytes, Ordering::SeqCst);
            host_grow(bytes)
        }
        let mut r = Regions::new();
        r.limit = 64 << 20;
        let l = Layout::from_size_align(2 << 20, 8).unwrap();
        assert!(!r.alloc(l, Some(recording_grow)).is_null());
        let asked = ASKED.load(Ordering::SeqCst);
        assert_eq!(asked % 4096, 0);
        assert!(asked >= l.size() + l.align());
        // Room for the request, its alignment and one frame of
        // bookkeeping, rounded to frames: never a quarter MiB more.
        assert!(asked <= l.size() + 2 * 4096, "asked {asked:#x}");
    }

    /// The global heap (host tests keep std's allocator, so this static is
    /// touched by this test only): a 1 MiB boot region (README: "a 1 MiB
    /// boot region, then regions of contiguous frames"), growth through
    /// the grower that `set_grower` installs, counted by `grown`.
    #[test]
    fn the_kernel_heap_starts_with_a_1mib_region_and_grows() {
        init();
        assert_eq!(usage(), (0, 1 << 20));
        assert_eq!(grown(), 0);
        set_grower(host_grow, 8 << 20);
        // Eight bytes (the allocator's unit) more than the boot region holds.
        let l = Layout::from_size_align((1 << 20) + 8, 8).unwrap();
        // SAFETY: non-zero size; freed below with the same layout.
        let p = unsafe { HEAP.alloc(l) };
        assert!(!p.is_null());
        assert!(grown() >= 1 << 20, "more than the boot region: it grew");
        assert_eq!(usage().0, l.size());
        // SAFETY: from HEAP.alloc with this layout.
        unsafe { HEAP.dealloc(p, l) };
        assert_eq!(usage().0, 0);
    }
}
