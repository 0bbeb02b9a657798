//! The facade the neutral kernel flow (`kernel.rs`) uses on ARMv7-A.

use super::mmu::Mem;
use super::{mmu, power, selftest, table_dump, user};
use crate::arch::Summary;
use crate::bootinfo::PsciConduit;
use crate::mm::kmem;
use crate::task::Ended;

/// How the log names the unprivileged level.
pub const USER_MODE: &str = "USR mode";

pub fn summary() -> Summary {
    let l = mmu::layout();
    Summary {
        image_va: mmu::IMAGE_VA as u64,
        image_size: l.image_size,
        io_va: mmu::IO_VA as u64,
        io_size: mmu::IO_SIZE as u64,
    }
}

/// (free, total) 4 KiB frames.
pub fn frames() -> (usize, usize) {
    kmem::frames::<Mem>()
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
    kmem::initrd_slice::<Mem>(start, end)
}

/// See [`kmem::alloc_frames_buffer`].
pub fn alloc_frames_buffer(count: usize) -> Option<&'static mut [u8]> {
    kmem::alloc_frames_buffer::<Mem>(count)
}

/// See [`kmem::free_frames_buffer_tail`].
pub fn free_frames_buffer_tail(buf: &'static mut [u8], keep: usize) -> &'static mut [u8] {
    kmem::free_frames_buffer_tail::<Mem>(buf, keep)
}

/// See [`kmem::free_phys_range`].
pub fn free_phys_range(start: u64, end: u64) -> usize {
    kmem::free_phys_range::<Mem>(start, end)
}

/// ASID width for `mm::asid::AsidAllocator::new` (asid_hw.rs).
pub fn asid_bits() -> u32 {
    super::asid_hw::asid_bits()
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
    let _ = pid;
    user::run(path, argv, envp)
}

pub fn exit(code: u32, psci: Option<PsciConduit>) -> ! {
    power::exit(code, psci)
}

/// Map device registers for the kernel: see [`mmu::ioremap`].
pub fn ioremap(pa: u64, len: u64) -> Option<u64> {
    mmu::ioremap(pa, len)
}
