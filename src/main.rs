//! The kernel binary: panic handler and global allocator. Everything else
//! lives in the library so host tests can link it.
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(target_os = "none")]
mod bare {
    use core::alloc::{GlobalAlloc, Layout};

    /// Forwards to the library's heap (`armmu::mm::heap::HEAP`).
    struct KernelHeap;

    // SAFETY: forwards every call unchanged to a correct allocator.
    unsafe impl GlobalAlloc for KernelHeap {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            if armmu::mm::inject::fail(armmu::mm::inject::Kind::Heap, layout.size()) {
                return core::ptr::null_mut();
            }
            // SAFETY: same contract as the caller's.
            unsafe { armmu::mm::heap::HEAP.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: same contract as the caller's.
            unsafe { armmu::mm::heap::HEAP.dealloc(ptr, layout) }
        }
    }

    #[global_allocator]
    static ALLOCATOR: KernelHeap = KernelHeap;

    #[panic_handler]
    fn panic(info: &core::panic::PanicInfo) -> ! {
        // SAFETY: we are going down; nothing else will use the console.
        unsafe { armmu::console::force_unlock() };
        armmu::kprintln!("KERNEL PANIC: {info}");
        // SAFETY: as above; before the console is known this is the
        // only way the report (buffered so far) gets out.
        unsafe { armmu::console::panic_flush() };
        armmu::arch::shutdown(255)
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("armmu is a bare-metal kernel: build it with ./qemu-run.sh");
}
