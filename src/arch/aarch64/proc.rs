//! Processes on AArch64: the user frame's meaning, kernel stacks and the
//! context switch, address-space switching, and the timer and interrupt
//! hooks the neutral scheduler (`task::sched`) calls. The kernel has no
//! FP/SIMD code (`aarch64-unknown-none-softfloat`), so a process's v0-v31,
//! FPSR and FPCR stay live in the unit while it runs in user mode or in
//! the kernel; they are saved to its `FpState` when it is switched out and
//! loaded when it is resumed (eagerly, at every switch: no lazy trap), and
//! read or written in place where a signal frame needs them.

pub use super::exceptions::Frame;
use super::user::{self, UserMmu};
use crate::errno::Errno;
use crate::mm::space::Mmu;
use crate::task::{FpState, Task, UserLayout};
use aarch64_cpu::asm::barrier;
use alloc::boxed::Box;

/// AArch64's `timespec`/`timeval` fields are 64-bit.
pub const NATIVE_TIME64: bool = true;
/// `uname -m` on a Linux arm64 kernel.
pub const UNAME_MACHINE: &[u8] = b"aarch64";

core::arch::global_asm!(
    r#"
    .section .text
    // x0 = where to save this context's sp, x1 = the sp to resume.
    .global armmu_a64_switch
armmu_a64_switch:
    stp x19, x20, [sp, #-96]!
    stp x21, x22, [sp, #16]
    stp x23, x24, [sp, #32]
    stp x25, x26, [sp, #48]
    stp x27, x28, [sp, #64]
    stp x29, x30, [sp, #80]
    mov x2, sp
    str x2, [x0]
    mov sp, x1
    ldp x21, x22, [sp, #16]
    ldp x23, x24, [sp, #32]
    ldp x25, x26, [sp, #48]
    ldp x27, x28, [sp, #64]
    ldp x29, x30, [sp, #80]
    ldp x19, x20, [sp], #96
    ret

    // A new process's first run: sp points at its user Frame.
    .global armmu_a64_ret_to_user
armmu_a64_ret_to_user:
    b armmu_a64_restore

    // The user FP/SIMD state, x0 = &FpState: q0-q31 at 0, FPSR at 512,
    // FPCR at 516. The only FP/SIMD instructions in the kernel: its
    // target has no FP/SIMD, so the assembler is told these exist.
    .arch_extension fp
    .arch_extension simd
    .global armmu_a64_fp_save
armmu_a64_fp_save:
    stp q0, q1, [x0, #0]
    stp q2, q3, [x0, #32]
    stp q4, q5, [x0, #64]
    stp q6, q7, [x0, #96]
    stp q8, q9, [x0, #128]
    stp q10, q11, [x0, #160]
    stp q12, q13, [x0, #192]
    stp q14, q15, [x0, #224]
    stp q16, q17, [x0, #256]
    stp q18, q19, [x0, #288]
    stp q20, q21, [x0, #320]
    stp q22, q23, [x0, #352]
    stp q24, q25, [x0, #384]
    stp q26, q27, [x0, #416]
    stp q28, q29, [x0, #448]
    stp q30, q31, [x0, #480]
    mrs x1, fpsr
    mrs x2, fpcr
    str w1, [x0, #512]
    str w2, [x0, #516]
    ret

    .global armmu_a64_fp_restore
armmu_a64_fp_restore:
    ldp q0, q1, [x0, #0]
    ldp q2, q3, [x0, #32]
    ldp q4, q5, [x0, #64]
    ldp q6, q7, [x0, #96]
    ldp q8, q9, [x0, #128]
    ldp q10, q11, [x0, #160]
    ldp q12, q13, [x0, #192]
    ldp q14, q15, [x0, #224]
    ldp q16, q17, [x0, #256]
    ldp q18, q19, [x0, #288]
    ldp q20, q21, [x0, #320]
    ldp q22, q23, [x0, #352]
    ldp q24, q25, [x0, #384]
    ldp q26, q27, [x0, #416]
    ldp q28, q29, [x0, #448]
    ldp q30, q31, [x0, #480]
    ldr w1, [x0, #512]
    ldr w2, [x0, #516]
    msr fpsr, x1
    msr fpcr, x2
    ret
"#
);

extern "C" {
    fn armmu_a64_switch(save_sp: *mut usize, resume_sp: usize);
    fn armmu_a64_ret_to_user();
    fn armmu_a64_fp_save(to: *mut FpState);
    fn armmu_a64_fp_restore(from: *const FpState);
}

// The offsets `armmu_a64_fp_save`/`restore` use.
const _: () = {
    assert!(core::mem::offset_of!(FpState, q) == 0);
    assert!(core::mem::offset_of!(FpState, fpsr) == 512);
    assert!(core::mem::offset_of!(FpState, fpcr) == 516);
};

impl Frame {
    /// The first user frame of a program: EL0t, interrupts unmasked.
    pub fn for_entry(entry: u64, sp: u64) -> Frame {
        Frame {
            elr: entry,
            sp_el0: sp,
            spsr: 0,
            ..Frame::default()
        }
    }

    pub fn set_result(&mut self, v: isize) {
        self.x[0] = v as u64;
    }
}

/// Build a new process's kernel stack: its user frame at the top, under it
/// the callee-saved registers `armmu_a64_switch` restores, returning into
/// `armmu_a64_ret_to_user`. Returns the sp to switch to.
pub fn new_task_stack(top: usize, frame: &Frame) -> usize {
    let frame_at = top - core::mem::size_of::<Frame>();
    let ctx_at = frame_at - 96;
    // SAFETY: [ctx_at, top) lies in the fresh kernel stack the caller owns
    // and nothing runs on yet; both addresses are 16-aligned (the frame
    // is 288 bytes, a multiple of 16).
    unsafe {
        (frame_at as *mut Frame).write(*frame);
        let ctx = ctx_at as *mut u64;
        for i in 0..11 {
            ctx.add(i).write(0);
        }
        ctx.add(11)
            .write(armmu_a64_ret_to_user as *const () as usize as u64);
    }
    ctx_at
}

/// Save this context's sp into `*save_sp` and resume the one at
/// `resume_sp`.
///
/// # Safety
/// `resume_sp` must be an sp saved by `switch` or built by
/// `new_task_stack`, on a stack that is still alive; `save_sp` must stay
/// valid until this context is resumed.
pub unsafe fn switch(save_sp: *mut usize, resume_sp: usize) {
    // SAFETY: as the caller promised.
    unsafe { armmu_a64_switch(save_sp, resume_sp) }
}

pub fn layout() -> UserLayout {
    user::layout()
}

/// A fresh, empty user address space.
pub fn new_mmu() -> Result<Box<dyn Mmu + Send>, Errno> {
    let m = user::new_user_mmu(1)?;
    let b: Box<dyn Mmu + Send> = crate::task::process::try_box(m).map_err(|_| Errno::ENOMEM)?;
    Ok(b)
}

fn user_mmu(t: &mut Task) -> &mut UserMmu {
    // SAFETY: every task's Mmu on this architecture is a UserMmu
    // (`new_mmu` is the only constructor used for tasks).
    unsafe { &mut *(&mut *t.mmu as *mut (dyn Mmu + Send) as *mut UserMmu) }
}

/// Make `t`'s address space the one TTBR0 walks, tagged `asid`. With
/// `flush_all` (an ASID rollover) every non-global TLB entry goes first
/// (ARM ARM: TLB invalidate all, then DSB and ISB before the new ASID is
/// installed, so no old entry can match it).
pub fn activate(t: &mut Task, asid: u16, flush_all: bool) {
    if flush_all {
        // SAFETY: TLB maintenance only.
        unsafe { core::arch::asm!("tlbi vmalle1is") };
        barrier::dsb(barrier::ISH);
        barrier::isb(barrier::SY);
    }
    let m = user_mmu(t);
    m.table.asid = Some(asid);
    user::activate(&m.table);
}

/// Invalidate every TLB entry of `asid` (a dead or replaced address
/// space's; ARM ARM: invalidate by ASID, DSB, ISB).
pub fn flush_asid(asid: u16) {
    // SAFETY: TLB maintenance only.
    unsafe { core::arch::asm!("tlbi aside1is, {x}", x = in(reg) (asid as u64) << 48) };
    barrier::dsb(barrier::ISH);
    barrier::isb(barrier::SY);
}

/// ASID bits the hardware gives (as configured at boot).
pub fn asid_bits() -> u32 {
    super::asid_hw::asid_bits()
}

pub fn deactivate() {
    user::deactivate();
}

/// Save the user FP/SIMD registers (v0-v31, FPSR, FPCR) of the process
/// running on this CPU: live in the unit, the kernel never touches them.
pub fn save_fp(to: &mut FpState) {
    // SAFETY: `to` is a valid, exclusive 528-byte FpState (the offsets are
    // checked above); CPACR_EL1.FPEN = 0b11 since boot, so the FP/SIMD
    // accesses do not trap at EL1; only x1, x2 (caller-saved) change.
    unsafe { armmu_a64_fp_save(to) }
}

/// Load the user FP/SIMD registers the process about to run (or the
/// signal frame) holds; they stay live until the next save.
pub fn restore_fp(from: &FpState) {
    // SAFETY: as `save_fp`; only reads `*from`. Writing FPCR needs no
    // synchronization for the user code it affects: the ERET that returns
    // there is a context synchronization event (ARM ARM D1.10.4).
    unsafe { armmu_a64_fp_restore(from) }
}

use crate::task::signal::{self, aarch64 as siga64, Abi, SigAction, SigInfo, SigSet, UserMem};

/// The user registers as the signal-frame code sees them: the general
/// ones from the frame, and with `fp` the FP/SIMD ones from the unit
/// (live: this is the running process, and the kernel does not use them).
fn signal_regs(f: &Frame, fp: bool) -> siga64::A64Regs {
    let mut r = siga64::A64Regs {
        x: f.x,
        sp: f.sp_el0,
        pc: f.elr,
        pstate: f.spsr,
        fault_address: 0,
        esr: 0,
        ..Default::default()
    };
    if fp {
        let mut s = FpState::ZERO;
        save_fp(&mut s);
        r.q = s.q;
        r.fpsr = s.fpsr;
        r.fpcr = s.fpcr;
    }
    r
}

/// The general registers back into the frame.
fn set_gp_regs(f: &mut Frame, r: &siga64::A64Regs) {
    f.x = r.x;
    f.sp_el0 = r.sp;
    f.elr = r.pc;
    f.spsr = r.pstate;
}

/// The FP/SIMD registers back into the unit, where the return to user
/// mode finds them.
fn set_fp_regs(r: &siga64::A64Regs) {
    restore_fp(&FpState {
        q: r.q,
        fpsr: r.fpsr,
        fpcr: r.fpcr,
    });
}

/// Build a handler's frame on the user stack (Linux's `setup_rt_frame`)
/// and point the registers at the handler.
#[allow(clippy::too_many_arguments)]
pub fn setup_signal_frame(
    frame: &mut Frame,
    sig: u32,
    info: &SigInfo,
    action: &SigAction,
    old_mask: SigSet,
    trampoline: usize,
    _abi: Abi,
    mem: &mut dyn UserMem,
) -> Result<(), Errno> {
    let mut r = signal_regs(frame, true);
    siga64::setup_frame(&mut r, sig, info, action, old_mask, trampoline as u64, mem)?;
    // The handler starts with the interrupted FP/SIMD state, as on Linux:
    // the unit still holds it, only the general registers change.
    set_gp_regs(frame, &r);
    Ok(())
}

/// rt_sigreturn: the registers and mask saved in the frame at sp.
pub fn restore_signal_frame(
    frame: &mut Frame,
    _abi: Abi,
    rt: bool,
    mem: &mut dyn UserMem,
) -> Result<SigSet, Errno> {
    let mut r = signal_regs(frame, false);
    // AArch64 has only rt_sigreturn.
    let _ = rt;
    // On error nothing changed, in the frame or in the unit.
    let mask = siga64::restore_rt_frame(&mut r, mem)?;
    set_gp_regs(frame, &r);
    set_fp_regs(&r);
    Ok(mask)
}

pub fn apply_restart(frame: &mut Frame, d: signal::Restart, arg0: usize) {
    let mut r = signal_regs(frame, false);
    siga64::apply_restart(&mut r, d, arg0 as u64);
    set_gp_regs(frame, &r);
}
