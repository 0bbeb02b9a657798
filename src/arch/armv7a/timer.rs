//! The generic timer's virtual timer on ARMv7-A (ARM ARM DDI 0406C,
//! chapter B8 "The Generic Timer"), through aarch32-cpu's CP15 registers:
//! CNTFRQ, CNTVCT, CNTV_CVAL and CNTV_CTL. Its interrupt is a PPI (27 on
//! QEMU `virt` and as the ARM BSA recommends; the device tree says).
//!
//! Nothing here needs IRQs unmasked: the timer asserts its interrupt to
//! the GIC, and [`idle_wait`] wakes on it while CPSR.I is set.

//!
//! A CPU without the Generic Timer (ID_PFR1.GenTimer, bits [19:16], = 0:
//! the Cortex-A9) uses the Cortex-A9 MPCore **global timer** instead
//! ([`use_a9_global_timer`]): a 64-bit up-counter with a comparator and
//! an interrupt (PPI 27, ID27), at PERIPHBASE + 0x200 (Cortex-A9 MPCore
//! TRM r4p1, 4.4 "Global timer"). Every function here then uses it.

use aarch32_cpu::register::{CntVct, Cntfrq, CntvCtl, CntvCval};
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

/// ID_PFR1.GenTimer (bits [19:16]) is nonzero: CNTFRQ, CNTVCT, CNTV_* exist
/// (ARM ARM B4.1, ID_PFR1). On the Cortex-A9 they are UNDEFINED.
pub fn has_generic_timer() -> bool {
    let pfr1: u32;
    // SAFETY: ID_PFR1 (c0, c1, 1) is readable at PL1 on every ARMv7-A CPU.
    unsafe {
        core::arch::asm!("mrc p15, 0, {r}, c0, c1, 1", r = out(reg) pfr1, options(nomem, nostack))
    };
    (pfr1 >> 16) & 0xf != 0
}

/// VA of the A9 global timer's registers (0: use the generic timer).
static GT_VA: AtomicUsize = AtomicUsize::new(0);
/// Its input clock (PERIPHCLK) in Hz.
static GT_HZ: AtomicU32 = AtomicU32::new(0);

/// Global timer registers (Cortex-A9 MPCore TRM 4.4.1, offsets from
/// PERIPHBASE + 0x200).
mod gt {
    pub const COUNT_LO: usize = 0x00;
    pub const COUNT_HI: usize = 0x04;
    /// Control: bit 0 timer enable, bit 1 comparator enable, bit 2 IRQ
    /// enable, bit 3 auto-increment, [15:8] prescaler.
    pub const CONTROL: usize = 0x08;
    /// Interrupt status: bit 0 event flag, write 1 to clear.
    pub const STATUS: usize = 0x0c;
    pub const CMP_LO: usize = 0x10;
    pub const CMP_HI: usize = 0x14;
    pub const TIMER_ENABLE: u32 = 1 << 0;
    pub const COMP_ENABLE: u32 = 1 << 1;
    pub const IRQ_ENABLE: u32 = 1 << 2;
}

fn gt_read(off: usize) -> u32 {
    let va = GT_VA.load(Ordering::Relaxed);
    // SAFETY: `use_a9_global_timer` was given a live Device mapping of the
    // global timer's 0x20 bytes; `off` is one of its registers.
    unsafe { ((va + off) as *const u32).read_volatile() }
}

fn gt_write(off: usize, v: u32) {
    let va = GT_VA.load(Ordering::Relaxed);
    // SAFETY: as in `gt_read`.
    unsafe { ((va + off) as *mut u32).write_volatile(v) }
}

fn global_timer() -> bool {
    GT_VA.load(Ordering::Relaxed) != 0
}

/// Use the A9 global timer at `va` (a Device mapping of its 0x20 bytes,
/// kept for the kernel's lifetime) clocked at `hz`: start it counting
/// (prescaler 0, comparator and IRQ off, event flag cleared).
///
/// # Safety
/// `va` maps the Cortex-A9 global timer registers as Device memory for
/// good, and nothing else drives them.
pub unsafe fn use_a9_global_timer(va: usize, hz: u32) {
    GT_HZ.store(hz.max(1), Ordering::Relaxed);
    GT_VA.store(va, Ordering::Relaxed);
    gt_write(gt::CONTROL, gt::TIMER_ENABLE);
    gt_write(gt::STATUS, 1);
}

/// CNTFRQ: counter ticks per second (set by firmware; QEMU: 62.5 MHz), or
/// the global timer's clock.
pub fn frequency() -> u64 {
    if global_timer() {
        return GT_HZ.load(Ordering::Relaxed) as u64;
    }
    if !has_generic_timer() {
        return 1;
    }
    Cntfrq::read().0 as u64
}

/// CNTVCT, the virtual count. The ISB before it keeps the read from being
/// performed early, out of order with the instructions before it (ARM
/// ARM B8.1.2: reads of CNTVCT may occur speculatively and out of order).
///
/// The global timer's two 32-bit halves are read upper, lower, upper
/// again until the upper half is stable (TRM 4.4.1, "to get the value
/// from the Global Timer Counter register proceed as follows").
/// Without either counter: 0.
pub fn now() -> u64 {
    if global_timer() {
        loop {
            let hi = gt_read(gt::COUNT_HI);
            let lo = gt_read(gt::COUNT_LO);
            if gt_read(gt::COUNT_HI) == hi {
                return ((hi as u64) << 32) | lo as u64;
            }
        }
    }
    if !has_generic_timer() {
        return 0;
    }
    aarch32_cpu::asm::isb();
    CntVct::read().0
}

/// Fire when CNTVCT >= `cval` (the timer condition, B8.1.5): CNTV_CVAL,
/// then CNTV_CTL ENABLE = 1, IMASK = 0. The ISB makes both writes take
/// effect before what follows (a WFI, say): B3.15.5, writes to CP15
/// registers need a context synchronization event.
///
/// Global timer: clear the comparator enable, write the comparator (lower
/// then upper), set comparator and IRQ enable (the TRM 4.4.1 sequence for
/// changing the comparator), after clearing a stale event flag.
pub fn set_deadline(cval: u64) {
    if global_timer() {
        gt_write(gt::CONTROL, gt::TIMER_ENABLE);
        gt_write(gt::STATUS, 1);
        gt_write(gt::CMP_LO, cval as u32);
        gt_write(gt::CMP_HI, (cval >> 32) as u32);
        gt_write(
            gt::CONTROL,
            gt::TIMER_ENABLE | gt::COMP_ENABLE | gt::IRQ_ENABLE,
        );
        return;
    }
    if !has_generic_timer() {
        return;
    }
    CntvCval::write(CntvCval(cval));
    // ENABLE (bit 0) = 1, IMASK (bit 1) = 0.
    CntvCtl::write(CntvCtl::new_with_raw_value(0b01));
    aarch32_cpu::asm::isb();
}

/// Disable the timer (ENABLE = 0, IMASK = 1): its interrupt output goes
/// low, so a level-sensitive PPI stops being pending.
pub fn stop() {
    if global_timer() {
        // Counter keeps running; comparator and IRQ off, event cleared
        // (the PPI follows the event flag while IRQ enable is set).
        gt_write(gt::CONTROL, gt::TIMER_ENABLE);
        gt_write(gt::STATUS, 1);
        return;
    }
    if !has_generic_timer() {
        return;
    }
    // ENABLE (bit 0) = 0, IMASK (bit 1) = 1.
    CntvCtl::write(CntvCtl::new_with_raw_value(0b10));
    aarch32_cpu::asm::isb();
}

/// Whether the timer condition is met (CNTV_CTL.ISTATUS; UNKNOWN while
/// disabled).
pub fn fired() -> bool {
    if global_timer() {
        return gt_read(gt::STATUS) & 1 != 0;
    }
    if !has_generic_timer() {
        return false;
    }
    CntvCtl::read().istatus()
}

/// Wait for an interrupt with IRQs still masked: DSB (memory accesses
/// and MMIO writes before it complete, B1.8.13 recommends it before
/// WFI), then WFI. A pending physical IRQ wakes WFI regardless of
/// CPSR.I (ARM ARM DDI 0406C B1.8.13 "Wait For Interrupt": the wake-up
/// events include "a physical IRQ interrupt, regardless of the value of
/// the CPSR.I bit"); the caller then polls the GIC.
pub fn idle_wait() {
    aarch32_cpu::asm::dsb();
    aarch32_cpu::asm::wfi();
}

/// Whether IRQs are masked (CPSR.I = 1), as the kernel keeps them.
pub fn irqs_masked() -> bool {
    aarch32_cpu::register::Cpsr::read().raw_value() & (1 << 7) != 0
}
