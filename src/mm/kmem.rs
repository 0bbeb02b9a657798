//! What the neutral kernel does with physical memory, written once for
//! both architectures: each architecture only says how to reach its frame
//! allocator and its linear map ([`KernelMemory`]).

use crate::mm::frame::{FrameAllocator, FRAME_SIZE};

/// An architecture's memory manager, as the neutral code needs it.
pub trait KernelMemory {
    /// Run `f` with the frame allocator (under the memory manager's lock).
    fn with_frames<R>(f: impl FnOnce(&mut FrameAllocator) -> R) -> R;
    /// Like [`KernelMemory::with_frames`], but `None` instead of waiting
    /// when the lock is held (for callers that may run under it).
    fn try_with_frames<R>(f: impl FnOnce(&mut FrameAllocator) -> R) -> Option<R>;
    /// Where the linear map shows physical address `pa`.
    fn phys_to_virt(pa: u64) -> usize;
    /// The physical address behind a linear-map or image address.
    fn virt_to_phys(va: usize) -> Option<u64>;
    /// Whether `pa` is RAM the linear map covers.
    fn is_ram(pa: u64) -> bool;
}

const FRAME: usize = FRAME_SIZE as usize;

/// (free, total) 4 KiB frames.
pub fn frames<M: KernelMemory>() -> (usize, usize) {
    M::with_frames(|f| (f.free_count(), f.total()))
}

/// The initrd through the linear map, if it lies in RAM.
pub fn initrd_slice<M: KernelMemory>(start: u64, end: u64) -> Option<&'static [u8]> {
    if end <= start || !M::is_ram(start) || !M::is_ram(end - 1) {
        return None;
    }
    let len = usize::try_from(end - start).ok()?;
    // SAFETY: the initrd frames are reserved and covered by the linear map;
    // nothing writes them.
    Some(unsafe { core::slice::from_raw_parts(M::phys_to_virt(start) as *const u8, len) })
}

/// `count` physically contiguous free frames as one byte buffer through
/// the linear map (contents left as they are), or `None` when the frame
/// allocator has no such run. For large boot-time buffers (the unpacked
/// initramfs) that must not come from the heap.
pub fn alloc_frames_buffer<M: KernelMemory>(count: usize) -> Option<&'static mut [u8]> {
    let len = count.checked_mul(FRAME)?;
    let pa = M::with_frames(|f| f.alloc_contiguous(count, 1)).ok()?;
    // SAFETY: the frames were just taken from the allocator, so nothing
    // else uses them, and all managed frames lie under the linear map
    // (Normal memory, kernel RW); the buffer is handed out only once.
    Some(unsafe { core::slice::from_raw_parts_mut(M::phys_to_virt(pa) as *mut u8, len) })
}

/// Give back the frames of a buffer from [`alloc_frames_buffer`] past its
/// first `keep` bytes (rounded up to a frame); returns what is kept.
pub fn free_frames_buffer_tail<M: KernelMemory>(
    buf: &'static mut [u8],
    keep: usize,
) -> &'static mut [u8] {
    let keep = keep.min(buf.len()).div_ceil(FRAME) * FRAME;
    let (kept, tail) = buf.split_at_mut(keep);
    if !tail.is_empty() {
        if let Some(pa) = M::virt_to_phys(tail.as_ptr() as usize) {
            if let Err(e) = M::with_frames(|f| f.free_contiguous(pa, tail.len() / FRAME)) {
                crate::kprintln!(
                    "frames: could not give back {pa:#x} (+{}): {e:?}",
                    tail.len()
                );
            }
        }
    }
    kept
}

/// Give back the frames of `[start, end)` (page-aligned, all in use, e.g.
/// the unpacked initrd); returns how many were freed (0, with a message,
/// if the allocator refuses: then nothing changed).
pub fn free_phys_range<M: KernelMemory>(start: u64, end: u64) -> usize {
    let n = (end.saturating_sub(start) / FRAME_SIZE) as usize;
    if n == 0 {
        return 0;
    }
    match M::with_frames(|f| f.free_contiguous(start, n)) {
        Ok(()) => n,
        Err(e) => {
            crate::kprintln!("frames: could not give back {start:#x}..{end:#x}: {e:?}");
            0
        }
    }
}

/// Frames for the kernel heap ([`crate::mm::heap::set_grower`]): `bytes`
/// of contiguous RAM, returned as its linear-map address. Never waits for
/// the memory manager: the heap may be asked while its lock is held, and
/// then gets nothing.
pub fn heap_frames<M: KernelMemory>(bytes: usize) -> Option<usize> {
    let pa = M::try_with_frames(|f| f.alloc_contiguous(bytes.div_ceil(FRAME), 1))?.ok()?;
    Some(M::phys_to_virt(pa))
}

/// Let the heap grow from the frame allocator, up to an eighth of RAM.
/// Call once the linear map is live.
pub fn enable_heap_growth<M: KernelMemory>() {
    let ram = frames::<M>().1 * FRAME;
    crate::mm::heap::set_grower(heap_frames::<M>, ram / 8);
}

/// The invariant auditor over the current task (`armmu.audit=1`).
pub fn audit<M: KernelMemory>(when: core::fmt::Arguments) {
    if crate::mm::audit::enabled() {
        crate::mm::audit::audit_current(
            &|f| M::with_frames(|fr| f(fr)),
            &|pa| M::is_ram(pa),
            &when,
        );
    }
}

/// The kernel-private syscalls of `mm::inject` other than `SYS_KEXEC`
/// (which needs the architecture); `None` for any other number.
pub fn private_syscall<M: KernelMemory>(nr: usize, a: [usize; 6]) -> Option<isize> {
    crate::mm::inject::private_syscall(nr, a, &|| {
        let (free, total) = frames::<M>();
        let (checks, violations) = crate::mm::audit::totals();
        crate::mm::inject::MemStat {
            free_frames: free,
            heap_used: crate::mm::heap::usage().0,
            total_frames: total,
            audit_violations: violations,
            audit_checks: checks,
        }
    })
}

#[cfg(test)]
mod tests;
