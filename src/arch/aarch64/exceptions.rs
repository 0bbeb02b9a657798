//! AArch64 exception vectors (VBAR_EL1) and the register frame: x0-x30,
//! SP_EL0, ELR, SPSR, ESR and FAR, 288 bytes. The kernel is built for
//! `aarch64-unknown-none-softfloat`: the compiler emits no FP/SIMD
//! instruction, so an exception leaves the user's v0-v31, FPSR and FPCR
//! live in the unit and saves only the general registers. They are saved
//! and restored at a context switch (`proc::save_fp`/`restore_fp`) and
//! read or written where a signal frame needs them (`proc::signal_regs`).

#[repr(C, align(16))]
#[derive(Clone, Copy, Debug, Default)]
pub struct Frame {
    pub x: [u64; 31],
    pub sp_el0: u64,
    pub elr: u64,
    pub spsr: u64,
    pub esr: u64,
    pub far: u64,
}

impl Frame {
    /// SPSR.M[3:0] = 0: the exception came from EL0.
    pub const fn from_user(&self) -> bool {
        self.spsr & 0xf == 0
    }
}

pub const FRAME_SIZE: usize = 288;

/// Vector kinds: bit 4 set = from EL0; low bits: 0 sync, 1 IRQ, 2 FIQ, 3 SError.
pub const KIND_FROM_EL0: u64 = 0x10;

// Entry: each vector makes room for the frame, saves x0/x1 and branches
// to the common save with its kind in x0. Only general and system
// registers are touched: no FP/SIMD register is read or written here,
// nor anywhere in the compiled kernel (its target has no FP/SIMD).
#[cfg(target_arch = "aarch64")]
core::arch::global_asm!(
    r#"
    .section .text.vectors, "ax"
    .macro armmu_vec kind, save=armmu_a64_save
    .balign 0x80
    sub sp, sp, #288
    stp x0, x1, [sp, #0]
    mov x0, #\kind
    b \save
    .endm

    .balign 2048
    .global armmu_a64_vectors
armmu_a64_vectors:
    armmu_vec 0x20      // current EL, SP_EL0: never used
    armmu_vec 0x21
    armmu_vec 0x22
    armmu_vec 0x23
    armmu_vec 0x00      // current EL, SP_ELx: sync
    armmu_vec 0x01
    armmu_vec 0x02
    armmu_vec 0x03
    armmu_vec 0x10, armmu_a64_save_el0  // lower EL, AArch64: sync
    armmu_vec 0x11, armmu_a64_save_el0
    armmu_vec 0x12, armmu_a64_save_el0
    armmu_vec 0x13, armmu_a64_save_el0
    armmu_vec 0x30      // lower EL, AArch32: not supported
    armmu_vec 0x31
    armmu_vec 0x32
    armmu_vec 0x33

    // x0 = kind; x0, x1 are saved. The rest of the frame.
    .macro armmu_save_rest
    stp x2, x3, [sp, #16]
    stp x4, x5, [sp, #32]
    stp x6, x7, [sp, #48]
    stp x8, x9, [sp, #64]
    stp x10, x11, [sp, #80]
    stp x12, x13, [sp, #96]
    stp x14, x15, [sp, #112]
    stp x16, x17, [sp, #128]
    stp x18, x19, [sp, #144]
    stp x20, x21, [sp, #160]
    stp x22, x23, [sp, #176]
    stp x24, x25, [sp, #192]
    stp x26, x27, [sp, #208]
    stp x28, x29, [sp, #224]
    mrs x1, sp_el0
    stp x30, x1, [sp, #240]
    mrs x1, elr_el1
    mrs x2, spsr_el1
    stp x1, x2, [sp, #256]
    mrs x1, esr_el1
    mrs x2, far_el1
    stp x1, x2, [sp, #272]
    mov x1, x0
    mov x0, sp
    .endm

    .section .text
    // From EL0 (AArch64): straight into the task layer's handler.
    .global armmu_a64_save_el0
armmu_a64_save_el0:
    armmu_save_rest
    bl armmu_a64_user_exception
    b armmu_a64_restore

    .global armmu_a64_save
armmu_a64_save:
    armmu_save_rest
    bl armmu_a64_exception

    .global armmu_a64_restore
armmu_a64_restore:
    ldp x1, x2, [sp, #256]
    msr elr_el1, x1
    msr spsr_el1, x2
    ldp x30, x1, [sp, #240]
    msr sp_el0, x1
    ldp x0, x1, [sp, #0]
    ldp x2, x3, [sp, #16]
    ldp x4, x5, [sp, #32]
    ldp x6, x7, [sp, #48]
    ldp x8, x9, [sp, #64]
    ldp x10, x11, [sp, #80]
    ldp x12, x13, [sp, #96]
    ldp x14, x15, [sp, #112]
    ldp x16, x17, [sp, #128]
    ldp x18, x19, [sp, #144]
    ldp x20, x21, [sp, #160]
    ldp x22, x23, [sp, #176]
    ldp x24, x25, [sp, #192]
    ldp x26, x27, [sp, #208]
    ldp x28, x29, [sp, #224]
    add sp, sp, #288
    eret
"#
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_layout_matches_the_entry_code() {
        assert_eq!(core::mem::size_of::<Frame>(), FRAME_SIZE);
        assert_eq!(core::mem::offset_of!(Frame, sp_el0), 248);
        assert_eq!(core::mem::offset_of!(Frame, elr), 256);
        assert_eq!(core::mem::offset_of!(Frame, esr), 272);
        assert_eq!(core::mem::offset_of!(Frame, far), 280);
        assert_eq!(FRAME_SIZE % 16, 0, "sp stays 16-aligned");
    }
}
