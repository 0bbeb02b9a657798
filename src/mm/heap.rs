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
//!
//! Small blocks (up to [`CLASS_MAX`] bytes) are cached per power-of-two
//! size class: a freed block goes on its class's free list (up to
//! [`CLASS_CACHE_BYTES`] per class, the rest back to the regions), and an
//! allocation of that class pops one. linked_list_allocator's first-fit
//! costs ~270 instructions to allocate and ~230 to free; a pop or push is
//! about 15. Cached blocks count as free in [`usage`].

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

/// The smallest and largest size classes (powers of two).
pub const CLASS_MIN: usize = 16;
pub const CLASS_MAX: usize = 2048;
const CLASSES: usize = (CLASS_MAX / CLASS_MIN).trailing_zeros() as usize + 1;
/// The most bytes one class keeps cached.
pub const CLASS_CACHE_BYTES: usize = 64 << 10;

/// The size class of `layout` (its index and size), `None` above
/// [`CLASS_MAX`]. A class's blocks are aligned to their size, so any
/// layout whose size and alignment fit the class can use any of them.
fn class_of(layout: Layout) -> Option<(usize, usize)> {
    let size = layout.size().max(layout.align()).max(CLASS_MIN);
    if size > CLASS_MAX {
        return None;
    }
    let size = size.next_power_of_two();
    Some(((size / CLASS_MIN).trailing_zeros() as usize, size))
}

/// A set of heap regions that grows through a [`Grower`].
pub struct Regions {
    heaps: [Heap; MAX_REGIONS],
    count: usize,
    /// Bytes taken from the grower so far, and the most it may give.
    grown: usize,
    limit: usize,
    /// Per size class: the first cached free block (its first word links
    /// to the next; 0 ends the list) and the bytes cached.
    free: [usize; CLASSES],
    cached: [usize; CLASSES],
}

impl Regions {
    pub const fn new() -> Self {
        Regions {
            heaps: [const { Heap::empty() }; MAX_REGIONS],
            count: 0,
            grown: 0,
            limit: 0,
            free: [0; CLASSES],
            cached: [0; CLASSES],
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
        let Some((c, size)) = class_of(layout) else {
            return self.alloc_regions(layout, grow);
        };
        let head = self.free[c];
        if head != 0 {
            // SAFETY: `head` is a cached free block of this class (at least
            // 16 bytes, aligned to its size) whose first word links on.
            self.free[c] = unsafe { *(head as *const usize) };
            self.cached[c] -= size;
            return head as *mut u8;
        }
        match Layout::from_size_align(size, size) {
            Ok(l) => self.alloc_regions(l, grow),
            Err(_) => core::ptr::null_mut(),
        }
    }

    fn alloc_regions(&mut self, layout: Layout, grow: Option<Grower>) -> *mut u8 {
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
        let mut layout = layout;
        if let Some((c, size)) = class_of(layout) {
            if !ptr.is_null() && self.cached[c] + size <= CLASS_CACHE_BYTES {
                // SAFETY: the caller's contract: `ptr` is a block of this
                // class (allocated by `alloc` with a layout of the same
                // class), no longer used; it holds at least a word.
                unsafe { *(ptr as *mut usize) = self.free[c] };
                self.free[c] = ptr as usize;
                self.cached[c] += size;
                return;
            }
            match Layout::from_size_align(size, size) {
                Ok(l) => layout = l,
                Err(_) => return,
            }
        }
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

    /// (bytes in use, bytes free) over all regions; cached blocks are
    /// free.
    pub fn usage(&self) -> (usize, usize) {
        let cached: usize = self.cached.iter().sum();
        let (u, f) = self.heaps[..self.count]
            .iter()
            .fold((0, 0), |(u, f), h| (u + h.used(), f + h.free()));
        (u - cached.min(u), f + cached)
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
    fn size_classes() {
        let l = |size, align| Layout::from_size_align(size, align).unwrap();
        assert_eq!(class_of(l(1, 1)), Some((0, 16)));
        assert_eq!(class_of(l(16, 8)), Some((0, 16)));
        assert_eq!(class_of(l(17, 4)), Some((1, 32)));
        assert_eq!(class_of(l(8, 64)), Some((2, 64)));
        assert_eq!(class_of(l(2048, 8)), Some((7, 2048)));
        assert_eq!(class_of(l(2049, 8)), None);
        assert_eq!(class_of(l(8, 4096)), None);
        // 16, 32, 64, 128, 256, 512, 1024, 2048: eight classes.
        assert_eq!(CLASSES, 8);
    }

    #[test]
    fn small_blocks_are_cached_per_class_and_count_as_free() {
        let mut r = Regions::new();
        // SAFETY: a fresh host allocation owned by the test's heap.
        unsafe { r.add(boot_region(1 << 20), 1 << 20) };
        let (used0, free0) = r.usage();
        let a = r.alloc(Layout::from_size_align(24, 8).unwrap(), None);
        assert!(!a.is_null());
        assert_eq!(a as usize % 32, 0, "aligned to its class");
        assert_eq!(r.usage().0, used0 + 32);
        // SAFETY: `a` came from `alloc` with this layout.
        unsafe { r.dealloc(a, Layout::from_size_align(24, 8).unwrap()) };
        assert_eq!(r.usage(), (used0, free0), "a cached block is free");
        assert_eq!(
            (r.free[1], r.cached[1]),
            (a as usize, 32),
            "cached, not given back"
        );
        // Another layout of the same class gets the cached block back.
        let b = r.alloc(Layout::from_size_align(32, 32).unwrap(), None);
        assert_eq!(b, a);
        // SAFETY: as above.
        unsafe { r.dealloc(b, Layout::from_size_align(32, 32).unwrap()) };
        // A class caches at most CLASS_CACHE_BYTES; the rest goes back.
        let l = Layout::from_size_align(1024, 8).unwrap();
        let n = CLASS_CACHE_BYTES / 1024 + 8;
        let blocks: std::vec::Vec<*mut u8> = (0..n).map(|_| r.alloc(l, None)).collect();
        assert!(blocks.iter().all(|p| !p.is_null()));
        let mut seen = blocks.clone();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), n, "distinct blocks");
        for &p in &blocks {
            // SAFETY: each came from `alloc` with `l`.
            unsafe { r.dealloc(p, l) };
        }
        assert_eq!(r.cached[6], 64 << 10, "64 KiB of 1 KiB blocks stay cached");
        // The largest class works like the others.
        let big = Layout::from_size_align(2048, 8).unwrap();
        let p = r.alloc(big, None);
        assert!(!p.is_null() && p as usize % 2048 == 0);
        // SAFETY: `p` came from `alloc` with `big`.
        unsafe { r.dealloc(p, big) };
        assert_eq!(r.cached[7], 2048);
        assert_eq!(r.usage(), (used0, free0));
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
