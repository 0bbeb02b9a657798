//! The generic timer's virtual timer on ARMv7-A (ARM ARM DDI 0406C,
//! chapter B8 "The Generic Timer"), through aarch32-cpu's CP15 registers:
//! CNTFRQ, CNTVCT, CNTV_CVAL and CNTV_CTL. Its interrupt is a PPI (27 on
//! QEMU `virt` and as the ARM BSA recommends; the device tree says).
//!
//! Nothing here needs IRQs unmasked: the timer asserts its interrupt to
//! the GIC, and [`idle_wait`] wakes on it while CPSR.I is set.

use aarch32_cpu::register::{CntVct, Cntfrq, CntvCtl, CntvCval};

/// CNTFRQ: counter ticks per second (set by firmware; QEMU: 62.5 MHz).
pub fn frequency() -> u64 {
    Cntfrq::read().0 as u64
}

/// CNTVCT, the virtual count. The ISB before it keeps the read from being
/// performed early, out of order with the instructions before it (ARM
/// ARM B8.1.2: reads of CNTVCT may occur speculatively and out of order).
pub fn now() -> u64 {
    aarch32_cpu::asm::isb();
    CntVct::read().0
}

/// Fire when CNTVCT >= `cval` (the timer condition, B8.1.5): CNTV_CVAL,
/// then CNTV_CTL ENABLE = 1, IMASK = 0. The ISB makes both writes take
/// effect before what follows (a WFI, say): B3.15.5, writes to CP15
/// registers need a context synchronization event.
pub fn set_deadline(cval: u64) {
    CntvCval::write(CntvCval(cval));
    // ENABLE (bit 0) = 1, IMASK (bit 1) = 0.
    CntvCtl::write(CntvCtl::new_with_raw_value(0b01));
    aarch32_cpu::asm::isb();
}

/// Disable the timer (ENABLE = 0, IMASK = 1): its interrupt output goes
/// low, so a level-sensitive PPI stops being pending.
pub fn stop() {
    // ENABLE (bit 0) = 0, IMASK (bit 1) = 1.
    CntvCtl::write(CntvCtl::new_with_raw_value(0b10));
    aarch32_cpu::asm::isb();
}

/// Whether the timer condition is met (CNTV_CTL.ISTATUS; UNKNOWN while
/// disabled).
pub fn fired() -> bool {
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
