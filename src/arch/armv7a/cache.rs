//! Data-cache maintenance by VA and memory-type changes of the kernel's
//! linear map (ARMv7-A), for drivers that hand RAM to user space with
//! another memory type (`drivers::dmabuf`).

#[cfg(target_arch = "arm")]
use super::mmu::{self, HwEnv};
#[cfg(target_arch = "arm")]
use crate::errno::Errno;
#[cfg(target_arch = "arm")]
use crate::mm::memtype::{MapAttrs, MemoryType};

/// Clean and invalidate every data-cache line of `[va, va + len)` to the
/// point of coherency (`DCCIMVAC`, CP15 c7, c14, 1; ARM ARM B4.2.1 "Cache
/// and branch predictor maintenance operations"), then DSB: maintenance
/// by MVA is only guaranteed complete after a DSB (ARM ARM B2.2.9
/// "Ordering of cache and branch predictor maintenance operations").
/// `va..va+len` must be mapped (a translation fault on maintenance by
/// MVA is a data abort).
#[cfg(target_arch = "arm")]
pub fn clean_invalidate_to_poc(va: usize, len: usize) {
    let line = mmu::dcache_line() as usize;
    let mut a = va & !(line - 1);
    while a < va + len {
        // SAFETY: cache maintenance by MVA on a mapped kernel address
        // (the caller's contract); it changes no memory contents as seen
        // by the program.
        unsafe { super::cp15::Dccimvac::write(a as u32) };
        a += line;
    }
    aarch32_cpu::asm::dsb();
}

/// Give the kernel linear map's entries of `[pa, pa + len)` (RAM, page
/// aligned) memory type `mem`, kernel read-write, never executable.
/// `Table::protect` splits sections/supersections to 4 KiB pages where
/// needed and rewrites each entry with break-before-make (invalid entry,
/// DSB, TLBIMVAAIS, DSB + ISB, new entry: ARM ARM B3.10.1 "General TLB
/// maintenance requirements"), cleaning+invalidating the lines first
/// when the new type is not cacheable.
///
/// A split unmaps a whole section for a moment: call it on a range that
/// is not already split only when nothing in that section can be
/// touched (at boot, on the boot stack).
#[cfg(target_arch = "arm")]
pub fn set_linear_type(pa: u64, len: usize, mem: MemoryType) -> Result<(), Errno> {
    let l = mmu::layout();
    let in_ram = pa >= l.ram_base && pa + len as u64 <= l.ram_base + l.ram_size;
    if !in_ram || l.phys_to_virt(pa) < mmu::LINEAR_BASE as u64 {
        return Err(Errno::EINVAL);
    }
    let va = l.phys_to_virt(pa);
    // Only the linear map: an address in the image window is not RAM the
    // frame allocator hands out.
    if va >= mmu::IMAGE_VA as u64 {
        return Err(Errno::EINVAL);
    }
    let table = mmu::kernel_table();
    let attrs = MapAttrs::kernel_data().with_mem(mem);
    mmu::with_mm(|mm| table.protect(&mut HwEnv { mm }, va, len as u64, attrs))?;
    Ok(())
}

/// The raw descriptor the kernel table holds for linear-map address of
/// `pa` (for logs a test decodes itself), or 0 if none.
#[cfg(target_arch = "arm")]
pub fn linear_entry(pa: u64) -> u64 {
    let va = mmu::layout().phys_to_virt(pa);
    let table = mmu::kernel_table();
    mmu::with_mm(|mm| table.lookup(&HwEnv { mm }, va).map_or(0, |p| p.raw))
}
