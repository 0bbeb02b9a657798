//! Exception vectors and the register frame.
//!
//! Every exception is handled on the SVC stack: `srsdb` pushes the return
//! address and SPSR there, the handler switches to SVC mode and pushes the
//! rest, so aborts, undefined instructions, SVCs and IRQs share one frame
//! layout whether they came from USR or SVC mode.

/// Saved registers, lowest address first (the order the entry code stores
/// them).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Frame {
    /// USR-mode banked sp and lr.
    pub usr_sp: u32,
    pub usr_lr: u32,
    pub r: [u32; 13],
    /// SVC-mode lr at the time of the exception (live if it came from SVC).
    pub svc_lr: u32,
    /// Where execution resumes (`rfe`): for aborts, the faulting instruction.
    pub pc: u32,
    pub cpsr: u32,
}

impl Frame {
    pub const fn from_user(&self) -> bool {
        self.cpsr & 0x1f == 0x10
    }
}

/// Why the vector was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Vector {
    Undefined = 1,
    Svc = 2,
    PrefetchAbort = 3,
    DataAbort = 4,
    Irq = 6,
    Fiq = 7,
}

impl Vector {
    pub fn from_raw(v: u32) -> Option<Vector> {
        Some(match v {
            1 => Vector::Undefined,
            2 => Vector::Svc,
            3 => Vector::PrefetchAbort,
            4 => Vector::DataAbort,
            6 => Vector::Irq,
            7 => Vector::Fiq,
            _ => return None,
        })
    }
}

#[cfg(target_arch = "arm")]
core::arch::global_asm!(
    r#"
    .section .text.vectors, "ax"
    .arm
    .balign 32
    .global armmu_vectors
armmu_vectors:
    b armmu_vec_reset
    b armmu_vec_undef
    b armmu_vec_svc
    b armmu_vec_pabt
    b armmu_vec_dabt
    b armmu_vec_reset
    b armmu_vec_irq
    b armmu_vec_fiq

    @ \adj turns the banked lr into the address to resume at (ARM ARM
    @ B1.8.3 table B1-7): the faulting instruction for aborts and undefined,
    @ the next one for SVC.
    .macro armmu_entry name, kind, adj
\name:
    sub lr, lr, #\adj
    srsdb sp!, #0x13
    cps #0x13
    push {{r0-r12, lr}}
    sub sp, sp, #8
    stmia sp, {{sp, lr}}^
    mov r0, sp
    mov r1, #\kind
    bl armmu_exception
    ldmia sp, {{sp, lr}}^
    add sp, sp, #8
    pop {{r0-r12, lr}}
    rfeia sp!
    .endm

    armmu_entry armmu_vec_undef, 1, 4
    armmu_entry armmu_vec_svc, 2, 0
    armmu_entry armmu_vec_pabt, 3, 4
    armmu_entry armmu_vec_dabt, 4, 8
    armmu_entry armmu_vec_irq, 6, 4
    armmu_entry armmu_vec_fiq, 7, 4

armmu_vec_reset:
    b armmu_vec_reset
"#
);

/// Offset of `Frame::pc` (checked against the asm layout by a test).
pub const FRAME_WORDS: usize = 18;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_layout_matches_the_entry_code() {
        assert_eq!(core::mem::size_of::<Frame>(), FRAME_WORDS * 4);
        assert_eq!(core::mem::offset_of!(Frame, r), 8);
        assert_eq!(core::mem::offset_of!(Frame, svc_lr), 60);
        assert_eq!(core::mem::offset_of!(Frame, pc), 64);
        assert_eq!(core::mem::offset_of!(Frame, cpsr), 68);
        // 8-byte multiple keeps the SVC stack AAPCS-aligned for the handler.
        assert_eq!(core::mem::size_of::<Frame>() % 8, 0);
    }
}
