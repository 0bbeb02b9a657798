//! Data-cache maintenance by VA and memory-type changes of the kernel's
//! linear map (ARMv7-A), for drivers that hand RAM to user space with
//! another memory type (`drivers::dmabuf`).
//!
//! With an outer cache enabled (the Cortex-A9 boards' L2C-310,
//! [`crate::drivers::pl310`]) the point of coherency lies beyond it:
//! maintenance by VA to the PoC reaches only the inner (L1) caches
//! (ARM ARM B2.2.7 "system caches": a cache outside the processor's
//! architecturally visible ones is maintained through its own
//! controller), so every operation here also runs the L2C-310's by-PA
//! operation, in the order `pl310::{clean, invalidate, clean_invalidate}`
//! gives. Without one, the code is what it always was.

#[cfg(target_arch = "arm")]
use super::mmu::{self, HwEnv};
#[cfg(target_arch = "arm")]
use crate::drivers::pl310::{self, Inner, Outer};
#[cfg(target_arch = "arm")]
use crate::errno::Errno;
#[cfg(target_arch = "arm")]
use crate::mm::memtype::{MapAttrs, MemoryType};
#[cfg(target_arch = "arm")]
use tock_registers::interfaces::Writeable;

/// Clean and invalidate every data-cache line of `[va, va + len)` to the
/// point of coherency (`DCCIMVAC`, CP15 c7, c14, 1; ARM ARM B4.2.1 "Cache
/// and branch predictor maintenance operations"), then DSB: maintenance
/// by MVA is only guaranteed complete after a DSB (ARM ARM B2.2.9
/// "Ordering of cache and branch predictor maintenance operations").
/// `va..va+len` must be mapped (a translation fault on maintenance by
/// MVA is a data abort).
#[cfg(target_arch = "arm")]
pub fn clean_invalidate_to_poc(va: usize, len: usize) {
    if let Some(regs) = pl310::active() {
        for_each_phys_run(va, len, |va, pa, len| {
            pl310::clean_invalidate(&mut OuterHw { regs }, va, pa, len)
        });
        return;
    }
    inner_clean_invalidate(va, len);
}

/// Clean `[va, va + len)` to the point of coherency (memory), both cache
/// levels: DCCMVAC by VA, then the L2C-310's Clean Line by PA if it is
/// enabled (`pl310::clean`). For data a non-coherent observer reads.
#[cfg(target_arch = "arm")]
pub fn clean_to_poc(va: usize, len: usize) {
    match pl310::active() {
        Some(regs) => for_each_phys_run(va, len, |va, pa, len| {
            pl310::clean(&mut OuterHw { regs }, va, pa, len)
        }),
        None => {
            inner(Inner::Clean, va, len);
            // Maintenance by MVA completes only after a DSB (B2.2.9).
            aarch32_cpu::asm::dsb();
        }
    }
}

/// Invalidate `[va, va + len)` in both levels (data a non-coherent
/// observer wrote to memory): the L2C-310's Invalidate Line by PA first if
/// enabled, then DCIMVAC by VA (`pl310::invalidate`). Whole lines only:
/// a partial line's other bytes are discarded with it.
#[cfg(target_arch = "arm")]
pub fn invalidate_to_poc(va: usize, len: usize) {
    match pl310::active() {
        Some(regs) => for_each_phys_run(va, len, |va, pa, len| {
            pl310::invalidate(&mut OuterHw { regs }, va, pa, len)
        }),
        None => {
            inner(Inner::Invalidate, va, len);
            // Complete before the caller reads the memory (B2.2.9).
            aarch32_cpu::asm::dsb();
        }
    }
}

/// Clean and invalidate `[va, va + len)`, physically `[pa, pa + len)`
/// (one contiguous run), to the PoC: the table code's maintenance before
/// a mapping becomes non-cacheable ([`super::mmu::HwEnv`]), where the PA
/// comes from the descriptor.
#[cfg(target_arch = "arm")]
pub fn clean_invalidate_to_poc_pa(va: usize, pa: u64, len: usize) {
    match pl310::active() {
        Some(regs) => pl310::clean_invalidate(&mut OuterHw { regs }, va, pa, len),
        None => inner_clean_invalidate(va, len),
    }
}

/// The inner-only clean+invalidate: DCCIMVAC per line, then DSB
/// (maintenance by MVA is complete only after a DSB, B2.2.9).
#[cfg(target_arch = "arm")]
fn inner_clean_invalidate(va: usize, len: usize) {
    inner(Inner::CleanInvalidate, va, len);
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

/// One inner (L1) operation on every line of `[va, va + len)` by MVA, no
/// barrier (the caller's sequence places the DSBs).
#[cfg(target_arch = "arm")]
fn inner(op: Inner, va: usize, len: usize) {
    if len == 0 {
        return;
    }
    let line = mmu::dcache_line() as usize;
    let end = va.saturating_add(len);
    let mut a = va & !(line - 1);
    while a < end {
        // SAFETY: cache maintenance by MVA on a mapped kernel address (the
        // callers' contract). DCIMVAC discards the line: only ever issued
        // on ranges whose data is in memory already (after the clean steps
        // of `pl310::clean_invalidate`) or that a non-coherent observer
        // owns (`invalidate_to_poc`'s contract).
        unsafe {
            match op {
                Inner::Clean => super::cp15::Dccmvac::write(a as u32),
                Inner::Invalidate => super::cp15::Dcimvac::write(a as u32),
                Inner::CleanInvalidate => super::cp15::Dccimvac::write(a as u32),
            }
        }
        match a.checked_add(line) {
            Some(n) => a = n,
            None => break,
        }
    }
}

/// The real CPU and L2C-310 for the `pl310` sequences.
#[cfg(target_arch = "arm")]
struct OuterHw {
    regs: &'static pl310::Registers,
}

#[cfg(target_arch = "arm")]
impl pl310::Maintenance for OuterHw {
    fn inner(&mut self, op: Inner, va: usize, len: usize) {
        inner(op, va, len);
    }

    fn dsb(&mut self) {
        aarch32_cpu::asm::dsb();
    }

    /// One by-PA line operation (PL310 TRM 3.3.10). On the L2C-310 these
    /// are atomic: the write is accepted once the operation is done, so
    /// no polling between lines (unlike the by-way operations); the
    /// registers are Device memory, so the writes reach the controller in
    /// program order.
    fn outer(&mut self, op: Outer, pa: u32) {
        match op {
            Outer::Clean => self.regs.clean_line_pa.set(pa),
            Outer::Invalidate => self.regs.invalidate_line_pa.set(pa),
            Outer::CleanInvalidate => self.regs.clean_invalidate_line_pa.set(pa),
        }
    }

    fn sync(&mut self) {
        pl310::sync(self.regs);
    }
}

/// Physical address of a mapped kernel VA: the image window and the
/// linear map by their fixed offsets, anything else (an `ioremap` or
/// self-test alias) by the CPU's own translation (ATS1CPR, PAR).
#[cfg(target_arch = "arm")]
fn pa_of(va: usize) -> Option<u64> {
    if let Some(pa) = mmu::virt_to_phys(va) {
        return Some(pa as u64);
    }
    // SAFETY: an address translation operation only writes PAR.
    unsafe { super::cp15::Ats1cpr::write(va as u32 & !0xfff) };
    // PAR reflects the operation only after an ISB (ARM ARM B4.2.6).
    aarch32_cpu::asm::isb();
    let par = aarch32_cpu::register::Par::read().0;
    if par & 1 != 0 {
        return None;
    }
    // Short-descriptor PAR, success: PA[31:12] in bits [31:12] (ARM ARM
    // B4.1.112; PA bits above 4 GiB would come from a supersection, and no
    // RAM here lies there).
    Some(((par & !0xfff) | (va as u32 & 0xfff)) as u64)
}

/// Call `f(va, pa, len)` on each physically contiguous page run of
/// `[va, va + len)` (4 KiB pages; an untranslatable page is skipped: no
/// line of it can be in a cache by that VA).
#[cfg(target_arch = "arm")]
fn for_each_phys_run(va: usize, len: usize, mut f: impl FnMut(usize, u64, usize)) {
    let end = va.saturating_add(len);
    let mut a = va;
    while a < end {
        let page_end = (a & !0xfff).saturating_add(0x1000).min(end);
        if let Some(pa) = pa_of(a) {
            f(a, pa, page_end - a);
        }
        if page_end == a {
            break;
        }
        a = page_end;
    }
}
