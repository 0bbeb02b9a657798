//! CP15 operations `aarch32-cpu` 0.4 lacks: TTBCR, TTBR1, TLB maintenance
//! by MVA/ASID, the ATS1C* address-translation operations, cache
//! maintenance by MVA and CNTKCTL. Registers it does have (SCTLR, TTBR0,
//! DACR, CONTEXTIDR, DFSR/DFAR, IFSR/IFAR, PAR, VBAR, TLBIALL...) are used
//! from the crate directly.
//!
//! Each new register is a `SysReg` impl of the crate's own traits, so the
//! `mrc`/`mcr` encoding is written once, by the crate.

#[cfg(target_arch = "arm")]
pub use imp::*;

/// Register definitions (coprocessor coordinates from ARM ARM B4.2).
#[cfg(target_arch = "arm")]
mod imp {
    use aarch32_cpu::register::{SysReg, SysRegRead, SysRegWrite};

    macro_rules! cp15_reg {
        ($(#[$m:meta])* $name:ident, $crn:expr, $op1:expr, $crm:expr, $op2:expr, rw) => {
            cp15_reg!($(#[$m])* $name, $crn, $op1, $crm, $op2, wo);
            impl SysRegRead for $name {}
            impl $name {
                #[inline]
                pub fn read() -> u32 {
                    <Self as SysRegRead>::read_raw()
                }
            }
        };
        ($(#[$m:meta])* $name:ident, $crn:expr, $op1:expr, $crm:expr, $op2:expr, wo) => {
            $(#[$m])*
            pub struct $name;
            impl SysReg for $name {
                const CP: u32 = 15;
                const CRN: u32 = $crn;
                const OP1: u32 = $op1;
                const CRM: u32 = $crm;
                const OP2: u32 = $op2;
            }
            impl SysRegWrite for $name {}
            impl $name {
                /// # Safety
                /// The caller follows the ARM ARM rules for this register
                /// (barriers, valid values).
                #[inline]
                pub unsafe fn write(v: u32) {
                    // SAFETY: forwarded to the caller's contract.
                    unsafe { <Self as SysRegWrite>::write_raw(v) }
                }
            }
        };
    }

    cp15_reg!(/// Translation Table Base Control Register.
        Ttbcr, 2, 0, 0, 2, rw);
    cp15_reg!(/// Translation Table Base Register 1.
        Ttbr1, 2, 0, 0, 1, rw);
    cp15_reg!(/// Raw TTBR0 (the crate's typed one hides the walk attributes).
        Ttbr0Raw, 2, 0, 0, 0, rw);
    cp15_reg!(/// Memory Model Feature Register 0 (VMSA support level: PXN).
        IdMmfr0, 0, 0, 1, 4, rw);
    cp15_reg!(/// Memory Model Feature Register 3 (coherent table walks).
        IdMmfr3, 0, 0, 1, 7, rw);
    cp15_reg!(/// Counter-timer Kernel Control (PL0 access to the counters).
        Cntkctl, 14, 0, 1, 0, rw);
    cp15_reg!(/// TLB invalidate by MVA and ASID, Inner Shareable.
        Tlbimvais, 8, 0, 3, 1, wo);
    cp15_reg!(/// TLB invalidate by MVA, all ASIDs, Inner Shareable.
        Tlbimvaais, 8, 0, 3, 3, wo);
    cp15_reg!(/// TLB invalidate by ASID, Inner Shareable.
        Tlbiasidis, 8, 0, 3, 2, wo);
    cp15_reg!(/// TLB invalidate all, Inner Shareable.
        Tlbiallis, 8, 0, 3, 0, wo);
    cp15_reg!(/// Stage 1 current-state PL1 read translation.
        Ats1cpr, 7, 0, 8, 0, wo);
    cp15_reg!(/// Stage 1 current-state PL1 write translation.
        Ats1cpw, 7, 0, 8, 1, wo);
    cp15_reg!(/// Stage 1 current-state PL0 read translation.
        Ats1cur, 7, 0, 8, 2, wo);
    cp15_reg!(/// Stage 1 current-state PL0 write translation.
        Ats1cuw, 7, 0, 8, 3, wo);
    cp15_reg!(/// Clean and invalidate data cache line by MVA to PoC.
        Dccimvac, 7, 0, 14, 1, wo);
    cp15_reg!(/// Clean data cache line by MVA to PoU.
        Dccmvau, 7, 0, 11, 1, wo);
    cp15_reg!(/// Clean data cache line by MVA to PoC.
        Dccmvac, 7, 0, 10, 1, wo);
    cp15_reg!(/// Invalidate data cache line by MVA to PoC.
        Dcimvac, 7, 0, 6, 1, wo);
    cp15_reg!(/// Invalidate entire instruction cache, Inner Shareable.
        Icialluis, 7, 0, 1, 0, wo);
    cp15_reg!(/// Branch predictor invalidate all, Inner Shareable.
        Bpiallis, 7, 0, 1, 6, wo);
    cp15_reg!(/// Cache Type Register (minimum D-cache line).
        Ctr, 0, 0, 0, 1, rw);

    /// The virtual counter CNTVCT (64-bit, `mrrc p15, 1, lo, hi, c14`).
    #[inline]
    pub fn cntvct() -> u64 {
        let (lo, hi): (u32, u32);
        // SAFETY: reading CNTVCT has no side effects; PL1 always may.
        unsafe {
            core::arch::asm!("isb", "mrrc p15, 1, {lo}, {hi}, c14", lo = out(reg) lo, hi = out(reg) hi, options(nomem, nostack, preserves_flags));
        }
        ((hi as u64) << 32) | lo as u64
    }

    /// Counter frequency CNTFRQ.
    #[inline]
    pub fn cntfrq() -> u32 {
        let f: u32;
        // SAFETY: reading CNTFRQ has no side effects.
        unsafe {
            core::arch::asm!("mrc p15, 0, {f}, c14, c0, 0", f = out(reg) f, options(nomem, nostack, preserves_flags));
        }
        f
    }
}
