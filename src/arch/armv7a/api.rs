//! The facade the neutral kernel flow (`kernel.rs`) uses on ARMv7-A.

use super::{mmu, power, selftest, table_dump, user};
use crate::arch::Summary;
use crate::bootinfo::PsciConduit;
use crate::task::Ended;

/// How the log names the unprivileged level.
pub const USER_MODE: &str = "USR mode";

pub fn summary() -> Summary {
    let l = mmu::layout();
    Summary {
        image_va: mmu::IMAGE_VA as u64,
        image_size: l.image_size,
        device_pa: l.device_pa,
        device_size: l.device_size,
        device_va: mmu::DEVICE_VA as u64,
    }
}

/// (free, total) 4 KiB frames.
pub fn frames() -> (usize, usize) {
    mmu::with_mm(|mm| (mm.frames.free_count(), mm.frames.total()))
}

pub fn print_kernel_table() {
    table_dump::print_kernel_table()
}

/// Run the boot self-tests; returns the number of failed checks.
pub fn selftests() -> u32 {
    selftest::memory_types().failed + selftest::accesses().failed
}

/// The initrd through the linear map, if it lies in RAM.
pub fn initrd_slice(start: u64, end: u64) -> Option<&'static [u8]> {
    if end <= start || !mmu::is_ram(start) || !mmu::is_ram(end - 1) {
        return None;
    }
    // SAFETY: the initrd frames are reserved and covered by the linear map;
    // nothing writes them.
    Some(unsafe {
        core::slice::from_raw_parts(
            mmu::phys_to_virt(start as u32) as *const u8,
            (end - start) as usize,
        )
    })
}

/// `count` physically contiguous free frames as one byte buffer through
/// the linear map (contents left as they are), or `None` when the frame
/// allocator has no such run. For large boot-time buffers (the unpacked
/// initramfs) that must not come from the heap.
pub fn alloc_frames_buffer(count: usize) -> Option<&'static mut [u8]> {
    let len = count.checked_mul(crate::mm::frame::FRAME_SIZE as usize)?;
    let pa = mmu::with_mm(|mm| mm.frames.alloc_contiguous(count, 1)).ok()?;
    // SAFETY: the frames were just taken from the allocator, so nothing
    // else uses them, and all managed frames lie under the linear map
    // (Normal memory, kernel RW); the buffer is handed out only once.
    Some(unsafe { core::slice::from_raw_parts_mut(mmu::phys_to_virt(pa as u32) as *mut u8, len) })
}

/// Give back the frames of a buffer from [`alloc_frames_buffer`] past its
/// first `keep` bytes (rounded up to a frame); returns what is kept.
pub fn free_frames_buffer_tail(buf: &'static mut [u8], keep: usize) -> &'static mut [u8] {
    let frame = crate::mm::frame::FRAME_SIZE as usize;
    let keep = keep.min(buf.len()).div_ceil(frame) * frame;
    let (kept, tail) = buf.split_at_mut(keep);
    if !tail.is_empty() {
        if let Some(pa) = mmu::virt_to_phys(tail.as_ptr() as _) {
            let pa = pa as u64;
            if let Err(e) = mmu::with_mm(|mm| mm.frames.free_contiguous(pa, tail.len() / frame)) {
                crate::kprintln!("frames: could not give back {pa:#x} (+{}): {e:?}", tail.len());
            }
        }
    }
    kept
}

/// Give back the frames of `[start, end)` (page-aligned, all in use, e.g.
/// the unpacked initrd); returns how many were freed (0, with a message,
/// if the allocator refuses: then nothing changed).
pub fn free_phys_range(start: u64, end: u64) -> usize {
    let n = (end.saturating_sub(start) / crate::mm::frame::FRAME_SIZE) as usize;
    if n == 0 {
        return 0;
    }
    match mmu::with_mm(|mm| mm.frames.free_contiguous(start, n)) {
        Ok(()) => n,
        Err(e) => {
            crate::kprintln!("frames: could not give back {start:#x}..{end:#x}: {e:?}");
            0
        }
    }
}

pub fn init_cpu_for_users() {
    user::init_cpu_for_users()
}

pub fn run_task(
    pid: u32,
    path: &str,
    argv: &[&[u8]],
    envp: &[&[u8]],
) -> Result<Ended, alloc::string::String> {
    user::run(pid, path, argv, envp)
}

pub fn exit(code: u32, psci: Option<PsciConduit>) -> ! {
    power::exit(code, psci)
}
