//! Data-cache maintenance by VA and memory-type changes of the kernel's
//! linear map (AArch64), for drivers that hand RAM to user space with
//! another memory type (`drivers::dmabuf`).

#[cfg(target_arch = "aarch64")]
use super::mmu::{self, HwEnv};
#[cfg(target_arch = "aarch64")]
use crate::errno::Errno;
#[cfg(target_arch = "aarch64")]
use crate::mm::memtype::{MapAttrs, MemoryType};

/// Smallest data-cache line in bytes (CTR_EL0.DminLine, bits [19:16],
/// log2 of words).
#[cfg(target_arch = "aarch64")]
pub fn dcache_line() -> usize {
    let ctr: u64;
    // SAFETY: reading CTR_EL0 has no side effect (EL0-readable unless
    // trapped; the kernel runs at EL1).
    unsafe { core::arch::asm!("mrs {x}, ctr_el0", x = out(reg) ctr) };
    4 << ((ctr >> 16) & 0xf)
}

/// Clean and invalidate every data-cache line of `[va, va + len)` to the
/// point of coherency (`DC CIVAC`), then `DSB ISH`: a data-cache
/// instruction is only complete after a DSB (ARM ARM D7.5.9 / "Ordering
/// and completion of data and instruction cache instructions").
/// `va..va+len` must be mapped.
#[cfg(target_arch = "aarch64")]
pub fn clean_invalidate_to_poc(va: usize, len: usize) {
    let line = dcache_line();
    let mut a = va & !(line - 1);
    while a < va + len {
        // SAFETY: cache maintenance by VA on a mapped kernel address
        // (the caller's contract); memory contents as seen by the
        // program do not change.
        unsafe { core::arch::asm!("dc civac, {x}", x = in(reg) a) };
        a += line;
    }
    aarch64_cpu::asm::barrier::dsb(aarch64_cpu::asm::barrier::ISH);
}

/// Give the kernel linear map's entries of `[pa, pa + len)` (RAM, page
/// aligned) memory type `mem`, kernel read-write, never executable.
/// `Table::protect` splits 1 GiB / 2 MiB blocks to 4 KiB pages where
/// needed and rewrites each entry with break-before-make (invalid entry,
/// DSB, TLBI VAAE1IS, DSB + ISB, new entry: ARM ARM D8.13.1 / "Using
/// break-before-make when updating translation table entries"),
/// cleaning+invalidating the lines first when the new type is not
/// cacheable.
///
/// A split unmaps a whole block for a moment: call it on a range that
/// is not already split only when nothing in that block can be touched
/// (at boot, on the boot stack, with the linear map's tables in the
/// image's pool).
#[cfg(target_arch = "aarch64")]
pub fn set_linear_type(pa: u64, len: usize, mem: MemoryType) -> Result<(), Errno> {
    let l = mmu::layout();
    let in_ram = pa >= l.ram_base && pa + len as u64 <= l.ram_base + l.ram_size;
    let va = l.phys_to_virt(pa);
    if !in_ram || !(mmu::LINEAR_BASE..mmu::IMAGE_VA).contains(&va) {
        return Err(Errno::EINVAL);
    }
    let table = mmu::kernel_table();
    let attrs = MapAttrs::kernel_data().with_mem(mem);
    mmu::with_mm(|mm| table.protect(&mut HwEnv { mm }, va, len as u64, attrs))?;
    Ok(())
}

/// MAIR_EL1 (to decode a descriptor's AttrIndx).
#[cfg(target_arch = "aarch64")]
pub fn mair() -> u64 {
    let v: u64;
    // SAFETY: reading MAIR_EL1 at EL1 has no side effect.
    unsafe { core::arch::asm!("mrs {x}, mair_el1", x = out(reg) v) };
    v
}

/// The raw descriptor the kernel table holds for linear-map address of
/// `pa` (for logs a test decodes itself), or 0 if none.
#[cfg(target_arch = "aarch64")]
pub fn linear_entry(pa: u64) -> u64 {
    let va = mmu::layout().phys_to_virt(pa);
    let table = mmu::kernel_table();
    mmu::with_mm(|mm| table.lookup(&HwEnv { mm }, va).map_or(0, |p| p.raw))
}
