//! Architecture-neutral memory management.
pub mod asid;
pub mod audit;
pub mod fault;
pub mod frame;
pub mod heap;
pub mod inject;
pub mod kmem;
pub mod layout;
pub mod memtype;
pub mod pageops;
pub mod pagetable;
pub mod planner;
pub mod shm;
pub mod space;
pub mod tlb;
pub mod vma;

use core::sync::atomic::{AtomicUsize, Ordering};

static BUGS: AtomicUsize = AtomicUsize::new(0);

/// For a result that cannot be an error while the kernel is right (a
/// frame freed twice, a table change after every fallible step was done):
/// never dropped silently. A failure is logged as a kernel bug and
/// counted; the QEMU tests fail on any such line.
pub fn must<T, E: core::fmt::Debug>(r: Result<T, E>, what: &str) {
    if let Err(e) = r {
        BUGS.fetch_add(1, Ordering::Relaxed);
        crate::kprintln!("armmu BUG: {what}: {e:?}");
    }
}

/// How many [`must`] failures there were.
pub fn bugs() -> usize {
    BUGS.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn must_counts_every_failure() {
        // The counter only grows (other tests may add to it concurrently),
        // so each failure shows as at least one more.
        let before = bugs();
        must::<(), _>(Err("test"), "a failure on purpose");
        let once = bugs();
        assert!(once > before, "{before} -> {once}");
        must::<(), _>(Err("test"), "a second one");
        assert!(bugs() > once);
    }
}
