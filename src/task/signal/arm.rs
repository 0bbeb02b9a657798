//! The ARMv7-A EABI signal frames, as Linux builds and reads them
//! (arch/arm/kernel/signal.c, arch/arm/kernel/signal.h,
//! arch/arm/include/asm/ucontext.h, arch/arm/include/uapi/asm/sigcontext.h,
//! arch/arm/include/asm/user.h).
//!
//! ```text
//! struct rt_sigframe { siginfo_t info; /* 128 */ struct sigframe sig; }   // 888
//! struct sigframe    { struct ucontext uc; /* 744 */ unsigned long retcode[4]; } // 760
//! struct ucontext    { uc_flags 0, uc_link 4, uc_stack 8 (12 bytes),
//!                      uc_mcontext 20 (sigcontext, 84), uc_sigmask 104 (8),
//!                      __unused[30] 112, uc_regspace[128] 232 (8-aligned) }
//! uc_regspace: struct vfp_sigframe (288: magic, size, fpregs[32] at 8,
//!              fpscr 264, fpexc 272, fpinst 276, fpinst2 280), then a
//!              zero end magic
//! ```
//!
//! `SA_SIGINFO` handlers get the rt frame (`rt_sigreturn`, 173); the
//! others the plain `sigframe` (`sigreturn`, 119), as Linux's
//! `handle_signal` does: musl and glibc install restorers for both.

use super::{
    get_u32, get_u64, put_u32, put_u64, Abi, Restart, SigAction, SigInfo, SigSet, UserMem,
    SA_RESTORER, SA_SIGINFO, SA_THIRTYTWO, SIGINFO_SIZE,
};
use crate::errno::Errno;

/// VFP registers as a signal frame saves them (`struct user_vfp`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ArmVfp {
    pub d: [u64; 32],
    pub fpscr: u32,
}

/// The thread's last fault (Linux's `current->thread.{trap_no,
/// error_code, address}`): written into the frame's sigcontext, never
/// read back. Zero when the signal is not a fault.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ArmFault {
    pub trap_no: u32,
    pub error_code: u32,
    pub address: u32,
}

/// The user registers a signal frame saves and restores.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ArmRegs {
    /// r0..r12 (r11 = fp, r12 = ip).
    pub r: [u32; 13],
    pub sp: u32,
    pub lr: u32,
    pub pc: u32,
    pub cpsr: u32,
    /// `Some` when the task has VFP state: it is saved in `uc_regspace`
    /// and, on return, the frame must hold a valid VFP block (as Linux
    /// with `CONFIG_VFP`). `None`: no VFP block is written or read.
    pub vfp: Option<ArmVfp>,
    pub fault: ArmFault,
}

// Sizes and offsets (derivation in the module doc; tests check them
// against numbers written from the headers).
pub const SIGCONTEXT_SIZE: usize = 84;
pub const UCONTEXT_SIZE: usize = 744;
pub const SIGFRAME_SIZE: usize = 760;
pub const RT_SIGFRAME_SIZE: usize = 888;
/// `sizeof(struct vfp_sigframe)` (`VFP_STORAGE_SIZE`).
pub const VFP_STORAGE_SIZE: usize = 288;
pub const VFP_MAGIC: u32 = 0x5646_5001;
/// uc_flags of a non-rt frame: "a value which sc.trap_no would never have".
pub const SIGFRAME_UC_FLAGS: u32 = 0x5ac3_c35a;

/// Offsets inside `struct ucontext`.
pub mod uc {
    pub const FLAGS: usize = 0;
    pub const LINK: usize = 4;
    pub const STACK: usize = 8;
    pub const MCONTEXT: usize = 20;
    pub const SIGMASK: usize = 104;
    pub const REGSPACE: usize = 232;
}
/// Offsets inside `struct sigcontext`.
pub mod sc {
    pub const TRAP_NO: usize = 0;
    pub const ERROR_CODE: usize = 4;
    pub const OLDMASK: usize = 8;
    pub const R0: usize = 12;
    pub const SP: usize = 64;
    pub const LR: usize = 68;
    pub const PC: usize = 72;
    pub const CPSR: usize = 76;
    pub const FAULT_ADDRESS: usize = 80;
}
/// Offsets inside `struct vfp_sigframe`.
pub mod vfp {
    pub const MAGIC: usize = 0;
    pub const SIZE: usize = 4;
    pub const FPREGS: usize = 8;
    pub const FPSCR: usize = 264;
    pub const FPEXC: usize = 272;
    pub const FPINST: usize = 276;
    pub const FPINST2: usize = 280;
}
/// `retcode` inside `struct sigframe`.
pub const SIGFRAME_RETCODE: usize = UCONTEXT_SIZE;
/// `sig` (the `struct sigframe`) inside `struct rt_sigframe`.
pub const RT_SIGFRAME_SIG: usize = SIGINFO_SIZE;

pub const NR_SIGRETURN: u32 = 119;
pub const NR_RT_SIGRETURN: u32 = 173;
pub const NR_RESTART_SYSCALL: u32 = 0;

/// Linux's `sigreturn_codes` (arch/arm/kernel/sigreturn_codes.S), the
/// words the signal page holds and a frame's `retcode` copies, indexed
/// as `setup_return` does (`idx = thumb << 1`, `+ 3` with `SA_SIGINFO`):
/// 0 `mov r7, #119`, 1 `svc #0x900077`, 2 Thumb `movs r7, #119; svc #0`,
/// 3 `mov r7, #173`, 4 `svc #0x9000ad`, 5 Thumb `movs r7, #173; svc #0`,
/// 6 the word after them (the FDPIC bounce `ldr r3, [sp, #756]`), only
/// ever copied as the unused second word of a Thumb rt retcode. The ARM
/// `svc` immediates are the OABI numbers Linux writes; an EABI kernel
/// ignores them (the number is in r7).
pub const SIGRETURN_CODES: [u32; 7] = [
    0xe3a0_7077,
    0xef90_0077,
    0xdf00_2777,
    0xe3a0_70ad,
    0xef90_00ad,
    0xdf00_27ad,
    0xe59d_32f4,
];

/// Bytes of the trampoline a kernel maps for user space (the signal
/// page's copy of `sigreturn_codes`, first six words): pass its user
/// address as `trampoline` to [`setup_frame`]. Entry points: ARM
/// sigreturn +0, Thumb sigreturn +8, ARM rt_sigreturn +12, Thumb
/// rt_sigreturn +20.
pub const TRAMPOLINE: [u8; 24] = {
    let mut b = [0u8; 24];
    let mut i = 0;
    while i < 6 {
        let w = SIGRETURN_CODES[i].to_le_bytes();
        b[i * 4] = w[0];
        b[i * 4 + 1] = w[1];
        b[i * 4 + 2] = w[2];
        b[i * 4 + 3] = w[3];
        i += 1;
    }
    b
};

// CPSR bits (arch/arm/include/uapi/asm/ptrace.h).
pub const MODE_MASK: u32 = 0x1f;
pub const USR_MODE: u32 = 0x10;
pub const MODE32_BIT: u32 = 0x10;
pub const PSR_T_BIT: u32 = 0x20;
pub const PSR_F_BIT: u32 = 0x40;
pub const PSR_I_BIT: u32 = 0x80;
pub const PSR_A_BIT: u32 = 0x100;
pub const PSR_E_BIT: u32 = 0x200;
pub const PSR_IT_MASK: u32 = 0x0600_fc00;
const PSR_F: u32 = 0xff00_0000;
const PSR_S: u32 = 0x00ff_0000;
const PSR_X: u32 = 0x0000_ff00;
const FPEXC_EN: u32 = 1 << 30;
const SS_DISABLE: u32 = 2;

/// Linux's `valid_user_regs` (ARMv7-A, no 26-bit mode): F and A are
/// always cleared; valid means user mode with IRQs enabled. An invalid
/// CPSR is forced to something harmless, and `false` returned.
pub fn valid_user_regs(cpsr: &mut u32) -> bool {
    let mode = *cpsr & MODE_MASK;
    *cpsr &= !(PSR_F_BIT | PSR_A_BIT);
    if *cpsr & PSR_I_BIT == 0 && mode == USR_MODE {
        return true;
    }
    *cpsr &= PSR_F | PSR_S | PSR_X | PSR_T_BIT | MODE32_BIT;
    *cpsr |= USR_MODE;
    false
}

/// Fill `struct sigframe` (at `sf` in `buf`) as Linux's
/// `setup_sigframe`: sigcontext, uc_sigmask, the VFP block, end magic.
fn setup_sigframe(buf: &mut [u8], sf: usize, regs: &ArmRegs, mask: SigSet) {
    let mc = sf + uc::MCONTEXT;
    put_u32(buf, mc + sc::TRAP_NO, regs.fault.trap_no);
    put_u32(buf, mc + sc::ERROR_CODE, regs.fault.error_code);
    put_u32(buf, mc + sc::OLDMASK, mask.0 as u32);
    for (i, r) in regs.r.iter().enumerate() {
        put_u32(buf, mc + sc::R0 + 4 * i, *r);
    }
    put_u32(buf, mc + sc::SP, regs.sp);
    put_u32(buf, mc + sc::LR, regs.lr);
    put_u32(buf, mc + sc::PC, regs.pc);
    put_u32(buf, mc + sc::CPSR, regs.cpsr);
    put_u32(buf, mc + sc::FAULT_ADDRESS, regs.fault.address);
    put_u64(buf, sf + uc::SIGMASK, mask.0);
    let mut aux = sf + uc::REGSPACE;
    if let Some(v) = &regs.vfp {
        put_u32(buf, aux + vfp::MAGIC, VFP_MAGIC);
        put_u32(buf, aux + vfp::SIZE, VFP_STORAGE_SIZE as u32);
        for (i, d) in v.d.iter().enumerate() {
            put_u64(buf, aux + vfp::FPREGS + 8 * i, *d);
        }
        put_u32(buf, aux + vfp::FPSCR, v.fpscr);
        // The exception registers as a VFPv3 with nothing pending shows
        // them: enabled, no FPINST.
        put_u32(buf, aux + vfp::FPEXC, FPEXC_EN);
        put_u32(buf, aux + vfp::FPINST, 0);
        put_u32(buf, aux + vfp::FPINST2, 0);
        aux += VFP_STORAGE_SIZE;
    }
    put_u32(buf, aux, 0);
}

/// Deliver `sig` to a handler: build the frame below `regs.sp` and set
/// the registers to enter `action.handler` (Linux's `handle_signal`:
/// the rt frame with `SA_SIGINFO`, else the plain one). `old_mask` is the
/// mask to restore on return ([`super::Signals::mask_to_save`]);
/// `trampoline` is the user address of [`TRAMPOLINE`] (used without
/// `SA_RESTORER`). On `Err` nothing in `regs` changed: the caller forces
/// SIGSEGV ([`super::Signals::force_sigsegv`]). `SA_ONSTACK` is not
/// honoured (no `sigaltstack`): the frame is always on the current stack.
pub fn setup_frame(
    regs: &mut ArmRegs,
    sig: u32,
    info: &SigInfo,
    action: &SigAction,
    old_mask: SigSet,
    trampoline: usize,
    mem: &mut dyn UserMem,
) -> Result<(), Errno> {
    let rt = action.flags & SA_SIGINFO != 0;
    let size = if rt { RT_SIGFRAME_SIZE } else { SIGFRAME_SIZE };
    // get_sigframe: "ATPCS B01 mandates 8-byte alignment".
    let frame = (regs.sp as usize).checked_sub(size).ok_or(Errno::EFAULT)? & !7;
    let mut buf = [0u8; RT_SIGFRAME_SIZE];
    let sf = if rt { RT_SIGFRAME_SIG } else { 0 };
    if rt {
        let si = info.to_bytes(Abi::Arm);
        buf[..SIGINFO_SIZE].copy_from_slice(&si);
        put_u32(&mut buf, sf + uc::FLAGS, 0);
        put_u32(&mut buf, sf + uc::LINK, 0);
        // __save_altstack with no alternate stack: {NULL, SS_DISABLE, 0}.
        put_u32(&mut buf, sf + uc::STACK, 0);
        put_u32(&mut buf, sf + uc::STACK + 4, SS_DISABLE);
        put_u32(&mut buf, sf + uc::STACK + 8, 0);
    } else {
        put_u32(&mut buf, sf + uc::FLAGS, SIGFRAME_UC_FLAGS);
    }
    setup_sigframe(&mut buf, sf, regs, old_mask);

    // setup_return.
    let handler = action.handler as u32;
    let thumb = handler & 1;
    let mut cpsr = regs.cpsr & !(PSR_F | PSR_E_BIT);
    if action.flags & SA_THIRTYTWO != 0 {
        cpsr = (cpsr & !MODE_MASK) | USR_MODE;
    }
    cpsr &= !PSR_IT_MASK;
    if thumb != 0 {
        cpsr |= PSR_T_BIT;
    } else {
        cpsr &= !PSR_T_BIT;
    }
    let retcode = if action.flags & SA_RESTORER != 0 {
        action.restorer as u32
    } else {
        let idx = ((thumb << 1) + if rt { 3 } else { 0 }) as usize;
        // The sigreturn code goes on the stack too, "to remain ABI
        // compliant", though the handler returns through the page.
        let rc = sf + SIGFRAME_RETCODE;
        put_u32(&mut buf, rc, SIGRETURN_CODES[idx]);
        put_u32(&mut buf, rc + 4, SIGRETURN_CODES[idx + 1]);
        (trampoline as u32)
            .wrapping_add((idx as u32) << 2)
            .wrapping_add(thumb)
    };
    // handle_signal: "Check that the resulting registers are actually sane."
    if !valid_user_regs(&mut cpsr) {
        return Err(Errno::EINVAL);
    }
    let frame32 = u32::try_from(frame).map_err(|_| Errno::EFAULT)?;
    mem.write(frame, &buf[..size])?;

    regs.r[0] = sig;
    if rt {
        regs.r[1] = frame32;
        regs.r[2] = frame32.wrapping_add((RT_SIGFRAME_SIG + uc::FLAGS) as u32);
    }
    regs.sp = frame32;
    regs.lr = retcode;
    regs.pc = handler;
    regs.cpsr = cpsr;
    Ok(())
}

/// Read `struct sigframe` at `buf[sf..]` into a copy of `regs` (Linux's
/// `restore_sigframe`); returns the registers and the mask to restore.
fn restore_sigframe_at(regs: &ArmRegs, buf: &[u8], sf: usize) -> Result<(ArmRegs, SigSet), Errno> {
    let bad = Errno::EINVAL;
    let mask = SigSet(get_u64(buf, sf + uc::SIGMASK).ok_or(bad)?);
    let mc = sf + uc::MCONTEXT;
    let mut n = *regs;
    for i in 0..13 {
        n.r[i] = get_u32(buf, mc + sc::R0 + 4 * i).ok_or(bad)?;
    }
    n.sp = get_u32(buf, mc + sc::SP).ok_or(bad)?;
    n.lr = get_u32(buf, mc + sc::LR).ok_or(bad)?;
    n.pc = get_u32(buf, mc + sc::PC).ok_or(bad)?;
    n.cpsr = get_u32(buf, mc + sc::CPSR).ok_or(bad)?;
    if !valid_user_regs(&mut n.cpsr) {
        return Err(bad);
    }
    if regs.vfp.is_some() {
        let aux = sf + uc::REGSPACE;
        let magic = get_u32(buf, aux + vfp::MAGIC).ok_or(bad)?;
        let size = get_u32(buf, aux + vfp::SIZE).ok_or(bad)?;
        if magic != VFP_MAGIC || size as usize != VFP_STORAGE_SIZE {
            return Err(bad);
        }
        let mut v = ArmVfp::default();
        for (i, d) in v.d.iter_mut().enumerate() {
            *d = get_u64(buf, aux + vfp::FPREGS + 8 * i).ok_or(bad)?;
        }
        v.fpscr = get_u32(buf, aux + vfp::FPSCR).ok_or(bad)?;
        n.vfp = Some(v);
    }
    Ok((n, mask))
}

fn restore(regs: &mut ArmRegs, mem: &dyn UserMem, rt: bool) -> Result<SigSet, Errno> {
    // "Since we stacked the signal on a 64-bit boundary, then 'sp' should
    // be word aligned here. If it's not, then the user is trying to mess
    // with us."
    if regs.sp & 7 != 0 {
        return Err(Errno::EINVAL);
    }
    let (size, sf) = if rt {
        (RT_SIGFRAME_SIZE, RT_SIGFRAME_SIG)
    } else {
        (SIGFRAME_SIZE, 0)
    };
    let mut buf = [0u8; RT_SIGFRAME_SIZE];
    mem.read(regs.sp as usize, &mut buf[..size])?;
    let (n, mask) = restore_sigframe_at(regs, &buf[..size], sf)?;
    *regs = n;
    Ok(mask)
}

/// `rt_sigreturn`: restore from the `struct rt_sigframe` at `regs.sp`.
/// On `Ok`, `regs` holds the interrupted context (return to user with it
/// as is: r0 is the restored r0, not a syscall result) and the result is
/// the mask to set ([`super::Signals::set_blocked`]). On `Err` (sp not
/// 8-aligned, unreadable frame, CPSR not user mode or with IRQs masked,
/// bad VFP block) `regs` is unchanged and the caller forces SIGSEGV.
pub fn restore_rt_frame(regs: &mut ArmRegs, mem: &dyn UserMem) -> Result<SigSet, Errno> {
    restore(regs, mem, true)
}

/// `sigreturn` (119): the same from a plain `struct sigframe`.
pub fn restore_sigframe(regs: &mut ArmRegs, mem: &dyn UserMem) -> Result<SigSet, Errno> {
    restore(regs, mem, false)
}

/// Apply a [`Restart`] decision to the registers of the syscall that was
/// interrupted (Linux's ARM `do_signal`): `orig_r0` is the syscall's first
/// argument as it was on entry (r0 now holds the result). Restarting
/// steps pc back over the `svc` (2 bytes in Thumb state, else 4).
/// `RestartSyscall` also sets r7 to `restart_syscall` (Linux restarts it
/// inside the kernel and leaves the user's r7 alone).
pub fn apply_restart(regs: &mut ArmRegs, decision: Restart, orig_r0: u32) {
    match decision {
        Restart::Keep => {}
        Restart::Interrupt => regs.r[0] = Errno::EINTR.as_return() as u32,
        Restart::Again | Restart::RestartSyscall => {
            regs.r[0] = orig_r0;
            let back = if regs.cpsr & PSR_T_BIT != 0 { 2 } else { 4 };
            regs.pc = regs.pc.wrapping_sub(back);
            if decision == Restart::RestartSyscall {
                regs.r[7] = NR_RESTART_SYSCALL;
            }
        }
    }
}
