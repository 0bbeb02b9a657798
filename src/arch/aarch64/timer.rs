//! The generic timer's virtual timer on AArch64 (ARM ARM DDI 0487,
//! chapter D12 "The Generic Timer in AArch64 state"), through
//! aarch64-cpu: CNTFRQ_EL0, CNTVCT_EL0, CNTV_CVAL_EL0 and CNTV_CTL_EL0.
//! Its interrupt is a PPI (27 on QEMU `virt` and as the ARM BSA
//! recommends; the device tree says).
//!
//! Nothing here needs IRQs unmasked: the timer asserts its interrupt to
//! the GIC, and [`idle_wait`] wakes on it while PSTATE.I is set.

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{
    Readable, Writeable, CNTFRQ_EL0, CNTVCT_EL0, CNTV_CTL_EL0, CNTV_CVAL_EL0,
};

/// CNTFRQ_EL0: counter ticks per second (set by firmware; QEMU: 62.5 MHz).
pub fn frequency() -> u64 {
    CNTFRQ_EL0.get()
}

/// CNTVCT_EL0. The ISB before it keeps the read from being performed
/// early, out of order with the instructions before it (DDI 0487, "The Generic Timer in AArch64 state":
/// reads of the counter can occur speculatively and out of order).
pub fn now() -> u64 {
    barrier::isb(barrier::SY);
    CNTVCT_EL0.get()
}

/// Fire when CNTVCT >= `cval` (the timer condition):
/// CNTV_CVAL_EL0, then CNTV_CTL_EL0 ENABLE = 1, IMASK = 0. The ISB makes
/// both writes take effect before what follows (a WFI, say): direct
/// writes to System registers need a context synchronization event
/// (DDI 0487, "Synchronization requirements for AArch64 System
/// registers").
pub fn set_deadline(cval: u64) {
    CNTV_CVAL_EL0.set(cval);
    CNTV_CTL_EL0.write(CNTV_CTL_EL0::ENABLE::SET + CNTV_CTL_EL0::IMASK::CLEAR);
    barrier::isb(barrier::SY);
}

/// Disable the timer (ENABLE = 0, IMASK = 1): its interrupt output goes
/// low, so a level-sensitive PPI stops being pending.
pub fn stop() {
    CNTV_CTL_EL0.write(CNTV_CTL_EL0::ENABLE::CLEAR + CNTV_CTL_EL0::IMASK::SET);
    barrier::isb(barrier::SY);
}

/// Whether the timer condition is met (ISTATUS; UNKNOWN while disabled).
pub fn fired() -> bool {
    CNTV_CTL_EL0.is_set(CNTV_CTL_EL0::ISTATUS)
}

/// Wait for an interrupt with IRQs still masked: DSB SY (memory accesses
/// and MMIO writes before it complete), then WFI. A physical IRQ the PE
/// receives is a WFI wake-up event whatever PSTATE.I says (DDI 0487,
/// chapter D1, "Wait for Interrupt": the mask bits only decide whether
/// the interrupt is then taken; the WFI pseudocode completes when
/// `InterruptPending()`); the caller then polls the GIC.
pub fn idle_wait() {
    barrier::dsb(barrier::SY);
    aarch64_cpu::asm::wfi();
}

/// Whether IRQs are masked (PSTATE.I = 1), as the kernel keeps them.
pub fn irqs_masked() -> bool {
    use aarch64_cpu::registers::DAIF;
    DAIF.is_set(DAIF::I)
}
