//! The kernel heap: a `linked_list_allocator` over a region in BSS.
//! The `#[global_allocator]` lives in the binary (main.rs) so host tests
//! keep std's allocator; it forwards here.

use linked_list_allocator::LockedHeap;

pub const HEAP_SIZE: usize = 6 << 20;

#[repr(C, align(4096))]
struct HeapSpace([u8; HEAP_SIZE]);

static mut HEAP_SPACE: HeapSpace = HeapSpace([0; HEAP_SIZE]);

pub static HEAP: LockedHeap = LockedHeap::empty();

/// Hand the BSS region to the allocator. Call once, before any allocation.
pub fn init() {
    // SAFETY: called once at boot before anything allocates; HEAP_SPACE is
    // used by nothing else.
    unsafe {
        let start = core::ptr::addr_of_mut!(HEAP_SPACE) as *mut u8;
        HEAP.lock().init(start, HEAP_SIZE);
    }
}

/// Bytes in use / free, for the boot log.
pub fn usage() -> (usize, usize) {
    let h = HEAP.lock();
    (h.used(), h.free())
}
