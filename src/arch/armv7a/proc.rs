//! Processes on ARMv7-A: the user frame's meaning, kernel stacks and the
//! context switch, address-space and VFP switching, and the timer and
//! interrupt hooks the neutral scheduler (`task::sched`) calls.

use super::cp15;
pub use super::exceptions::Frame;
use super::user::{self, UserMmu};
use crate::errno::Errno;
use crate::mm::space::Mmu;
use crate::task::{FpState, Task, UserLayout};
use aarch32_cpu::asm::{dsb, isb};
use alloc::boxed::Box;

/// ARM's native `timespec`/`timeval` fields are 32-bit (the `*64`
/// syscalls take 64-bit ones).
pub const NATIVE_TIME64: bool = false;
/// `uname -m` on a Linux ARMv7 kernel.
pub const UNAME_MACHINE: &[u8] = b"armv7l";

core::arch::global_asm!(
    r#"
    .section .text
    .arm
    @ r0 = where to save this context's sp, r1 = the sp to resume.
    .global armmu_switch
armmu_switch:
    push {{r4-r11, lr}}
    str sp, [r0]
    mov sp, r1
    pop {{r4-r11, pc}}

    @ A new process's first run: sp points at its user Frame.
    .global armmu_ret_to_user
armmu_ret_to_user:
    ldmia sp, {{sp, lr}}^
    add sp, sp, #8
    pop {{r0-r12, lr}}
    rfeia sp!

    .fpu neon
    @ r0 = &FpState: d0-d31 then FPSCR.
    .global armmu_vfp_save
armmu_vfp_save:
    vstmia r0!, {{d0-d15}}
    vstmia r0!, {{d16-d31}}
    vmrs r1, fpscr
    str r1, [r0]
    bx lr

    .global armmu_vfp_restore
armmu_vfp_restore:
    vldmia r0!, {{d0-d15}}
    vldmia r0!, {{d16-d31}}
    ldr r1, [r0]
    vmsr fpscr, r1
    bx lr
"#
);

extern "C" {
    fn armmu_switch(save_sp: *mut usize, resume_sp: usize);
    fn armmu_ret_to_user();
    fn armmu_vfp_save(to: *mut FpState);
    fn armmu_vfp_restore(from: *const FpState);
}

impl Frame {
    /// The first user frame of a program: USR mode, IRQs unmasked, ARM or
    /// Thumb state from bit 0 of the entry point.
    pub fn for_entry(entry: u64, sp: u64) -> Frame {
        let thumb = entry & 1 != 0;
        Frame {
            usr_sp: sp as u32,
            pc: (entry & !1) as u32,
            cpsr: 0x10 | if thumb { 1 << 5 } else { 0 },
            ..Frame::default()
        }
    }

    pub fn set_result(&mut self, v: isize) {
        self.r[0] = v as u32;
    }
}

/// Build a new process's kernel stack: its user frame at the top, under it
/// the callee-saved registers `armmu_switch` pops, returning into
/// `armmu_ret_to_user`. Returns the sp to switch to.
pub fn new_task_stack(top: usize, frame: &Frame) -> usize {
    let frame_at = top - core::mem::size_of::<Frame>();
    let ctx_at = frame_at - 9 * 4;
    // SAFETY: [ctx_at, top) lies in the fresh kernel stack the caller
    // owns and that nothing runs on yet; both addresses are 4-aligned.
    unsafe {
        (frame_at as *mut Frame).write(*frame);
        let ctx = ctx_at as *mut u32;
        for i in 0..8 {
            ctx.add(i).write(0);
        }
        ctx.add(8)
            .write(armmu_ret_to_user as *const () as usize as u32);
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
    unsafe { armmu_switch(save_sp, resume_sp) }
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
        unsafe { cp15::Tlbiallis::write(0) };
        dsb();
        isb();
    }
    let m = user_mmu(t);
    m.table.asid = Some(asid);
    user::activate(&m.table);
}

/// Invalidate every TLB entry of `asid` (a dead or replaced address
/// space's; ARM ARM: invalidate by ASID, DSB, ISB).
pub fn flush_asid(asid: u16) {
    // SAFETY: TLB maintenance only.
    unsafe { cp15::Tlbiasidis::write(asid as u8 as u32) };
    dsb();
    isb();
}

/// ASID bits the hardware gives (as configured at boot).
pub fn asid_bits() -> u32 {
    super::asid_hw::asid_bits()
}

pub fn deactivate() {
    user::deactivate();
}

/// Save the user VFP registers (eagerly, at every switch: the kernel is
/// soft-float, so they are the process's own until another runs).
pub fn save_fp(to: &mut FpState) {
    if user::has_vfp() {
        // SAFETY: the FP unit is enabled (FPEXC.EN) whenever VFP exists.
        unsafe { armmu_vfp_save(to) };
    }
}

pub fn restore_fp(from: &FpState) {
    if user::has_vfp() {
        // SAFETY: as save_fp.
        unsafe { armmu_vfp_restore(from) };
    }
}

use crate::task::signal::{self, arm as sigarm, Abi, SigAction, SigInfo, SigSet, UserMem};

/// The user registers as the signal-frame code sees them; the VFP
/// registers are read from the unit (they are live: the kernel is
/// soft-float).
fn signal_regs(f: &Frame) -> sigarm::ArmRegs {
    let vfp = user::has_vfp().then(|| {
        let mut s = FpState::ZERO;
        save_fp(&mut s);
        sigarm::ArmVfp {
            d: s.d,
            fpscr: s.fpscr,
        }
    });
    sigarm::ArmRegs {
        r: f.r,
        sp: f.usr_sp,
        lr: f.usr_lr,
        pc: f.pc,
        cpsr: f.cpsr,
        vfp,
        fault: sigarm::ArmFault::default(),
    }
}

fn set_signal_regs(f: &mut Frame, r: &sigarm::ArmRegs) {
    f.r = r.r;
    f.usr_sp = r.sp;
    f.usr_lr = r.lr;
    f.pc = r.pc;
    f.cpsr = r.cpsr;
    if let Some(v) = &r.vfp {
        restore_fp(&FpState {
            d: v.d,
            fpscr: v.fpscr,
        });
    }
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
    let mut r = signal_regs(frame);
    sigarm::setup_frame(&mut r, sig, info, action, old_mask, trampoline, mem)?;
    set_signal_regs(frame, &r);
    Ok(())
}

/// rt_sigreturn: the registers and mask saved in the frame at sp.
pub fn restore_signal_frame(
    frame: &mut Frame,
    _abi: Abi,
    rt: bool,
    mem: &mut dyn UserMem,
) -> Result<SigSet, Errno> {
    let mut r = signal_regs(frame);
    let mask = if rt {
        sigarm::restore_rt_frame(&mut r, mem)?
    } else {
        sigarm::restore_sigframe(&mut r, mem)?
    };
    set_signal_regs(frame, &r);
    Ok(mask)
}

pub fn apply_restart(frame: &mut Frame, d: signal::Restart, arg0: usize) {
    let mut r = signal_regs(frame);
    r.vfp = None;
    sigarm::apply_restart(&mut r, d, arg0 as u32);
    set_signal_regs(frame, &r);
}
