//! The GICv3 CPU interface through its EL1 system registers (ARM IHI 0069,
//! its AArch64 System register descriptions). aarch64-cpu 11.2 has
//! only ICC_CTLR_EL1 and ICC_SRE_EL2 of these, so they are read and
//! written by name with `mrs`/`msr`.
//!
//! Group 1 only: the kernel runs in Non-secure EL1 (QEMU `virt` without
//! `secure=on`), where Group 1 interrupts are IRQs.

use aarch64_cpu::registers::{Readable, MPIDR_EL1};

/// MPIDR_EL1 (for GICR_TYPER.Affinity_Value and GICD_IROUTER).
pub fn mpidr() -> u64 {
    MPIDR_EL1.get()
}

/// ICC_SRE_EL1.SRE = 1: use the system-register interface. `false` if it
/// stays 0 (a higher EL forces the memory-mapped interface, which this
/// driver does not use).
pub fn enable_sre() -> bool {
    let sre: u64;
    // SAFETY: ICC_SRE_EL1 is accessible at EL1 whenever a GICv3 CPU
    // interface exists (the caller found one in the device tree); setting
    // SRE only selects the interface. The ISB makes the new value take
    // effect for the following ICC_* accesses (IHI 0069, ICC_SRE_EL1: a change
    // of SRE needs a context synchronization event).
    unsafe {
        core::arch::asm!(
            "mrs {t}, icc_sre_el1",
            "orr {t}, {t}, #1",
            "msr icc_sre_el1, {t}",
            "isb",
            "mrs {t}, icc_sre_el1",
            t = out(reg) sre,
            options(nostack, preserves_flags)
        );
    }
    sre & 1 == 1
}

/// Priority mask, binary point 0, EOImode 0 (EOIR drops the priority and
/// deactivates), Group 1 on.
pub fn init(pmr: u8) {
    // SAFETY: EL1 accesses to the CPU interface, SRE already 1
    // ([`enable_sre`]). ICC_CTLR_EL1.EOImode (bit 1) cleared; the other
    // fields are left as reset. The ISB makes the writes take effect
    // before any later ICC_* access or WFI (IHI 0069: a write to an ICC_*
    // register is guaranteed visible only after a context
    // synchronization event).
    unsafe {
        core::arch::asm!(
            "msr icc_pmr_el1, {pmr}",
            "msr icc_bpr1_el1, xzr",
            "mrs {t}, icc_ctlr_el1",
            "bic {t}, {t}, #2",
            "msr icc_ctlr_el1, {t}",
            "mov {t}, #1",
            "msr icc_igrpen1_el1, {t}",
            "isb",
            pmr = in(reg) pmr as u64,
            t = out(reg) _,
            options(nostack, preserves_flags)
        );
    }
}

/// ICC_IAR1_EL1: acknowledge the highest-priority pending Group 1
/// interrupt (1023 if none).
pub fn read_iar1() -> u32 {
    let iar: u64;
    // SAFETY: reading IAR1 acknowledges an interrupt, which is the point;
    // it has no other effect. The DSB after it, as Linux's
    // gic_read_iar(), orders the acknowledgement before any later device
    // access the handler makes (IHI 0069, observability of System register accesses).
    unsafe {
        core::arch::asm!(
            "mrs {x}, icc_iar1_el1",
            "dsb sy",
            x = out(reg) iar,
            options(nostack, preserves_flags)
        );
    }
    iar as u32
}

/// ICC_EOIR1_EL1: priority drop and deactivation (EOImode 0).
pub fn write_eoir1(intid: u32) {
    // SAFETY: ends the interrupt `intid` the caller acknowledged. The ISB
    // makes the deactivation take effect before what follows (as Linux's
    // gic_write_eoir()).
    unsafe {
        core::arch::asm!(
            "msr icc_eoir1_el1, {x}",
            "isb",
            x = in(reg) intid as u64,
            options(nostack, preserves_flags)
        );
    }
}
