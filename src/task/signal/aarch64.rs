//! The AArch64 signal frame, as Linux builds and reads it
//! (arch/arm64/kernel/signal.c, arch/arm64/include/uapi/asm/sigcontext.h,
//! arch/arm64/include/uapi/asm/ucontext.h).
//!
//! ```text
//! struct rt_sigframe { siginfo_t info; /* 128 */ struct ucontext uc; }      // 4688
//! struct ucontext    { uc_flags 0, uc_link 8, uc_stack 16 (24 bytes),
//!                      uc_sigmask 40 (8), __unused[120] 48,
//!                      uc_mcontext 176 (16-aligned) }                      // 4560
//! struct sigcontext  { fault_address 0, regs[31] 8, sp 256, pc 264,
//!                      pstate 272, __reserved[4096] 288 (16-aligned) }     // 4384
//! __reserved: fpsimd_context {head {magic 0x46508001, size 528}, fpsr,
//!             fpcr, vregs[32]} at 0; with a fault, esr_context {head
//!             {0x45535201, 16}, esr} at 528; then a zero head.
//! ```
//!
//! Above the frame, a 16-byte `frame_record {fp, lr}` holding the
//! interrupted x29/x30; x29 points at it so unwinders can walk through
//! the handler. Both are 16-byte aligned.

use super::{
    get_u128, get_u32, get_u64, put_u128, put_u32, put_u64, Abi, Restart, SigAction, SigInfo,
    SigSet, UserMem, SA_RESTORER, SA_SIGINFO, SIGINFO_SIZE,
};
use crate::errno::Errno;

/// The user registers a signal frame saves and restores.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct A64Regs {
    pub x: [u64; 31],
    pub sp: u64,
    pub pc: u64,
    pub pstate: u64,
    pub q: [u128; 32],
    pub fpsr: u32,
    pub fpcr: u32,
    /// The thread's last fault (Linux's `thread.fault_address` and
    /// `thread.fault_code`): written into the frame (the ESR as an
    /// `esr_context` when non-zero), never read back.
    pub fault_address: u64,
    pub esr: u64,
}

pub const SIGCONTEXT_SIZE: usize = 4384;
pub const UCONTEXT_SIZE: usize = 4560;
pub const RT_SIGFRAME_SIZE: usize = 4688;
pub const FRAME_RECORD_SIZE: usize = 16;
pub const FPSIMD_MAGIC: u32 = 0x4650_8001;
pub const FPSIMD_CONTEXT_SIZE: usize = 528;
pub const ESR_MAGIC: u32 = 0x4553_5201;
pub const ESR_CONTEXT_SIZE: usize = 16;
pub const RESERVED_SIZE: usize = 4096;

/// Offsets inside `struct rt_sigframe`.
pub mod off {
    pub const INFO: usize = 0;
    pub const UC: usize = 128;
    pub const UC_FLAGS: usize = UC;
    pub const UC_LINK: usize = UC + 8;
    pub const UC_STACK: usize = UC + 16;
    pub const UC_SIGMASK: usize = UC + 40;
    pub const UC_MCONTEXT: usize = UC + 176;
    pub const FAULT_ADDRESS: usize = UC_MCONTEXT;
    pub const REGS: usize = UC_MCONTEXT + 8;
    pub const SP: usize = UC_MCONTEXT + 256;
    pub const PC: usize = UC_MCONTEXT + 264;
    pub const PSTATE: usize = UC_MCONTEXT + 272;
    pub const RESERVED: usize = UC_MCONTEXT + 288;
}
/// Offsets inside `struct fpsimd_context`.
pub mod fpsimd {
    pub const MAGIC: usize = 0;
    pub const SIZE: usize = 4;
    pub const FPSR: usize = 8;
    pub const FPCR: usize = 12;
    pub const VREGS: usize = 16;
}

pub const NR_RT_SIGRETURN: u64 = 139;
pub const NR_RESTART_SYSCALL: u64 = 128;

/// The vDSO's `__kernel_rt_sigreturn`: `mov x8, #139; svc #0`. A kernel
/// without a vDSO maps these 8 bytes and passes their address as
/// `trampoline` for handlers without `SA_RESTORER` (every C library sets
/// `SA_RESTORER` on AArch64).
pub const TRAMPOLINE: [u8; 8] = {
    let a = 0xd280_1168u32.to_le_bytes();
    let b = 0xd400_0001u32.to_le_bytes();
    [a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]]
};

// PSTATE bits (arch/arm64/include/uapi/asm/ptrace.h).
pub const PSR_MODE_MASK: u64 = 0xf;
pub const PSR_MODE_EL0T: u64 = 0;
pub const PSR_MODE32_BIT: u64 = 0x10;
pub const PSR_F_BIT: u64 = 1 << 6;
pub const PSR_I_BIT: u64 = 1 << 7;
pub const PSR_A_BIT: u64 = 1 << 8;
pub const PSR_D_BIT: u64 = 1 << 9;
pub const PSR_BTYPE_MASK: u64 = 3 << 10;
pub const PSR_TCO_BIT: u64 = 1 << 25;
const PSR_NZCV: u64 = 0xf000_0000;
/// Linux 6.1's `SPSR_EL1_AARCH64_RES0_BITS` (arch/arm64/kernel/ptrace.c):
/// bits 63..32, 27..26, 23..22, 20..13 and 5.
pub const SPSR_EL1_AARCH64_RES0_BITS: u64 =
    !((1u64 << 32) - 1) | (0b11 << 26) | (0b11 << 22) | (((1u64 << 8) - 1) << 13) | (1 << 5);
const SS_DISABLE: u32 = 2;

/// Linux's `valid_native_regs`: RES0 bits are cleared; valid means EL0t,
/// AArch64, with D, A, I and F clear. An invalid PSTATE is forced to
/// EL0t keeping only NZCV, and `false` returned.
pub fn valid_user_regs(pstate: &mut u64) -> bool {
    *pstate &= !SPSR_EL1_AARCH64_RES0_BITS;
    if *pstate & PSR_MODE_MASK == PSR_MODE_EL0T
        && *pstate & PSR_MODE32_BIT == 0
        && *pstate & (PSR_D_BIT | PSR_A_BIT | PSR_I_BIT | PSR_F_BIT) == 0
    {
        return true;
    }
    *pstate &= PSR_NZCV;
    false
}

/// Bytes of the frame this kernel writes: everything up to and including
/// the end record (the rest of `__reserved` is left as it was, as Linux).
const WRITTEN: usize = off::RESERVED + FPSIMD_CONTEXT_SIZE + ESR_CONTEXT_SIZE + 16;

fn addr(v: u64) -> Result<usize, Errno> {
    usize::try_from(v).map_err(|_| Errno::EFAULT)
}

/// Deliver `sig` to a handler (Linux's `setup_rt_frame` and
/// `setup_return`): the frame record and frame go below `regs.sp`, and
/// the registers enter `action.handler` with x0 = sig, x29 = the frame
/// record, x30 = `action.restorer` with `SA_RESTORER` else `trampoline`
/// (the user address of [`TRAMPOLINE`] or the vDSO's), sp = the frame,
/// PSTATE with BTYPE and TCO cleared. With `SA_SIGINFO` the siginfo is
/// written and x1 = &info, x2 = &uc; without it, as Linux, neither (x1
/// and x2 keep their values). On `Err` nothing in `regs` changed: the
/// caller forces SIGSEGV. `SA_ONSTACK` is not honoured (no
/// `sigaltstack`).
pub fn setup_frame(
    regs: &mut A64Regs,
    sig: u32,
    info: &SigInfo,
    action: &SigAction,
    old_mask: SigSet,
    trampoline: u64,
    mem: &mut dyn UserMem,
) -> Result<(), Errno> {
    let record = regs
        .sp
        .checked_sub(FRAME_RECORD_SIZE as u64)
        .ok_or(Errno::EFAULT)?
        & !15;
    let frame = record
        .checked_sub(RT_SIGFRAME_SIZE as u64)
        .ok_or(Errno::EFAULT)?;

    let mut buf = [0u8; WRITTEN];
    let rt = action.flags & SA_SIGINFO != 0;
    if rt {
        buf[..SIGINFO_SIZE].copy_from_slice(&info.to_bytes(Abi::Aarch64));
    }
    put_u64(&mut buf, off::UC_FLAGS, 0);
    put_u64(&mut buf, off::UC_LINK, 0);
    put_u64(&mut buf, off::UC_STACK, 0);
    put_u32(&mut buf, off::UC_STACK + 8, SS_DISABLE);
    put_u64(&mut buf, off::UC_STACK + 16, 0);
    put_u64(&mut buf, off::UC_SIGMASK, old_mask.0);
    put_u64(&mut buf, off::FAULT_ADDRESS, regs.fault_address);
    for (i, x) in regs.x.iter().enumerate() {
        put_u64(&mut buf, off::REGS + 8 * i, *x);
    }
    put_u64(&mut buf, off::SP, regs.sp);
    put_u64(&mut buf, off::PC, regs.pc);
    put_u64(&mut buf, off::PSTATE, regs.pstate);
    let f = off::RESERVED;
    put_u32(&mut buf, f + fpsimd::MAGIC, FPSIMD_MAGIC);
    put_u32(&mut buf, f + fpsimd::SIZE, FPSIMD_CONTEXT_SIZE as u32);
    put_u32(&mut buf, f + fpsimd::FPSR, regs.fpsr);
    put_u32(&mut buf, f + fpsimd::FPCR, regs.fpcr);
    for (i, q) in regs.q.iter().enumerate() {
        put_u128(&mut buf, f + fpsimd::VREGS + 16 * i, *q);
    }
    let mut end = f + FPSIMD_CONTEXT_SIZE;
    if regs.esr != 0 {
        put_u32(&mut buf, end, ESR_MAGIC);
        put_u32(&mut buf, end + 4, ESR_CONTEXT_SIZE as u32);
        put_u64(&mut buf, end + 8, regs.esr);
        end += ESR_CONTEXT_SIZE;
    }
    // The terminator: a zero head (its 16-byte slot is already zero).
    let used = end + 16;

    let mut pstate = regs.pstate & !(PSR_BTYPE_MASK | PSR_TCO_BIT);
    if !valid_user_regs(&mut pstate) {
        return Err(Errno::EINVAL);
    }
    let start = if rt { 0 } else { off::UC };
    let base = addr(frame)?;
    mem.write(
        base.checked_add(start).ok_or(Errno::EFAULT)?,
        &buf[start..used],
    )?;
    let mut fr = [0u8; FRAME_RECORD_SIZE];
    put_u64(&mut fr, 0, regs.x[29]);
    put_u64(&mut fr, 8, regs.x[30]);
    mem.write(addr(record)?, &fr)?;

    regs.x[0] = sig as u64;
    if rt {
        regs.x[1] = frame + off::INFO as u64;
        regs.x[2] = frame + off::UC as u64;
    }
    regs.sp = frame;
    regs.x[29] = record;
    regs.pc = action.handler as u64;
    regs.pstate = pstate;
    regs.x[30] = if action.flags & SA_RESTORER != 0 {
        action.restorer as u64
    } else {
        trampoline
    };
    Ok(())
}

/// `rt_sigreturn`: restore from the `struct rt_sigframe` at `regs.sp`
/// (Linux's `restore_sigframe` and `parse_user_sigframe`). On `Ok`,
/// `regs` holds the interrupted context (return to user with it as is:
/// x0 is the restored x0, and no syscall restart applies) and the result
/// is the mask to set ([`super::Signals::set_blocked`]). On `Err` (sp not
/// 16-aligned, unreadable frame, PSTATE not EL0t AArch64 with DAIF clear,
/// a malformed or missing `fpsimd_context`, an unknown record such as
/// SVE, ZA or extra_context) `regs` is unchanged and the caller forces
/// SIGSEGV.
pub fn restore_rt_frame(regs: &mut A64Regs, mem: &dyn UserMem) -> Result<SigSet, Errno> {
    let bad = Errno::EINVAL;
    if regs.sp & 15 != 0 {
        return Err(bad);
    }
    let frame = addr(regs.sp)?;
    let at = |o: usize| frame.checked_add(o).ok_or(Errno::EFAULT);

    // uc_sigmask .. the end of the sigcontext's registers.
    let mut hdr = [0u8; off::RESERVED - off::UC_SIGMASK];
    mem.read(at(off::UC_SIGMASK)?, &mut hdr)?;
    let get = |o: usize| get_u64(&hdr, o - off::UC_SIGMASK).ok_or(bad);
    let mask = SigSet(get(off::UC_SIGMASK)?);
    let mut n = *regs;
    for i in 0..31 {
        n.x[i] = get(off::REGS + 8 * i)?;
    }
    n.sp = get(off::SP)?;
    n.pc = get(off::PC)?;
    n.pstate = get(off::PSTATE)?;
    if !valid_user_regs(&mut n.pstate) {
        return Err(bad);
    }

    // The records in __reserved.
    let mut offset = 0usize;
    let mut fp: Option<(usize, u32)> = None;
    loop {
        if RESERVED_SIZE - offset < 8 || offset % 16 != 0 {
            return Err(bad);
        }
        let mut head = [0u8; 8];
        mem.read(at(off::RESERVED + offset)?, &mut head)?;
        let magic = get_u32(&head, 0).ok_or(bad)?;
        let size = get_u32(&head, 4).ok_or(bad)?;
        let size_us = size as usize;
        if RESERVED_SIZE - offset < size_us {
            return Err(bad);
        }
        match magic {
            0 if size == 0 => break,
            FPSIMD_MAGIC if fp.is_none() && size_us >= FPSIMD_CONTEXT_SIZE => {
                fp = Some((offset, size));
            }
            ESR_MAGIC => {}
            _ => return Err(bad),
        }
        if size_us < 8 {
            return Err(bad);
        }
        offset += size_us;
    }
    let Some((fp_off, fp_size)) = fp else {
        return Err(bad);
    };
    if fp_size as usize != FPSIMD_CONTEXT_SIZE {
        return Err(bad);
    }
    let mut ctx = [0u8; FPSIMD_CONTEXT_SIZE];
    mem.read(at(off::RESERVED + fp_off)?, &mut ctx)?;
    n.fpsr = get_u32(&ctx, fpsimd::FPSR).ok_or(bad)?;
    n.fpcr = get_u32(&ctx, fpsimd::FPCR).ok_or(bad)?;
    for (i, q) in n.q.iter_mut().enumerate() {
        *q = get_u128(&ctx, fpsimd::VREGS + 16 * i).ok_or(bad)?;
    }
    *regs = n;
    Ok(mask)
}

/// Apply a [`Restart`] decision to the registers of the interrupted
/// syscall (Linux's arm64 `do_signal`): `orig_x0` is the first argument
/// as it was on entry. Restarting steps pc back over the `svc`;
/// `RestartSyscall` also sets x8 to `restart_syscall`.
pub fn apply_restart(regs: &mut A64Regs, decision: Restart, orig_x0: u64) {
    match decision {
        Restart::Keep => {}
        Restart::Interrupt => regs.x[0] = Errno::EINTR.as_return() as u64,
        Restart::Again | Restart::RestartSyscall => {
            regs.x[0] = orig_x0;
            regs.pc = regs.pc.wrapping_sub(4);
            if decision == Restart::RestartSyscall {
                regs.x[8] = NR_RESTART_SYSCALL;
            }
        }
    }
}
