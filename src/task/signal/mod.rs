//! Linux signals, independent of the architecture: signal numbers and
//! sets, `struct sigaction` as `rt_sigaction` sees it, `siginfo_t`, the
//! per-process signal state with Linux's rules (kernel/signal.c), and the
//! decision to restart an interrupted syscall. The two signal-frame ABIs
//! are in [`arm`] (ARMv7-A EABI) and [`aarch64`]; both are pure functions
//! over plain register structs and a [`UserMem`], so everything here is
//! host-tested and nothing touches a register.
//!
//! How a trap path uses it on the way back to user mode (Linux's
//! `do_signal`/`get_signal`/`handle_signal`):
//!
//! 1. `signals.dequeue()`; on `Some((sig, info, Disposition::Ignore))`
//!    call it again (Linux's `get_signal` loop); `Terminate(sig)` ends
//!    the process (wait status [`wait_status_killed`]), `Stop(sig)` stops
//!    it (or is ignored where there is no job control).
//! 2. If the trap was a syscall, [`restart_decision`] with its return
//!    value and `Some(&action)` when a handler is about to run (`None`
//!    when nothing runs), then the architecture's `apply_restart` —
//!    before the frame is built, so the frame holds the restarted pc.
//! 3. Handler: `arch::setup_frame(regs, sig, &info, &action,
//!    signals.mask_to_save(), trampoline, mem)`; on `Ok` call
//!    [`Signals::delivered`], on `Err` [`Signals::force_sigsegv`]
//!    (Linux's `signal_setup_done`). No handler at all: call
//!    [`Signals::restore_saved_mask`].
//! 4. `rt_sigreturn`/`sigreturn`: the architecture's `restore_*` on the
//!    registers at the syscall; `Ok(mask)` → [`Signals::set_blocked`] and
//!    return to user with the restored registers *untouched* (no syscall
//!    return value written, no restart logic: Linux's `forget_syscall`);
//!    `Err` → `force(SIGSEGV, SigInfo::kernel(SIGSEGV))`.
//!
//! Left out: `sigaltstack`/`SA_ONSTACK` (frames always go below the
//! current sp; `uc_stack` says `SS_DISABLE`), job control (stop/continue
//! are reported, not performed), ptrace, SVE/SME/extra contexts on
//! AArch64, iWMMXt/Crunch on ARM, core files.

pub mod aarch64;
pub mod arm;
#[cfg(test)]
mod tests;

use crate::errno::Errno;
use alloc::vec::Vec;

// ---------------------------------------------------------------------------
// Signal numbers (include/uapi/asm-generic/signal.h; ARM and AArch64 share
// them) and sets.

pub const SIGHUP: u32 = 1;
pub const SIGINT: u32 = 2;
pub const SIGQUIT: u32 = 3;
pub const SIGILL: u32 = 4;
pub const SIGTRAP: u32 = 5;
pub const SIGABRT: u32 = 6;
pub const SIGIOT: u32 = 6;
pub const SIGBUS: u32 = 7;
pub const SIGFPE: u32 = 8;
pub const SIGKILL: u32 = 9;
pub const SIGUSR1: u32 = 10;
pub const SIGSEGV: u32 = 11;
pub const SIGUSR2: u32 = 12;
pub const SIGPIPE: u32 = 13;
pub const SIGALRM: u32 = 14;
pub const SIGTERM: u32 = 15;
pub const SIGSTKFLT: u32 = 16;
pub const SIGCHLD: u32 = 17;
pub const SIGCONT: u32 = 18;
pub const SIGSTOP: u32 = 19;
pub const SIGTSTP: u32 = 20;
pub const SIGTTIN: u32 = 21;
pub const SIGTTOU: u32 = 22;
pub const SIGURG: u32 = 23;
pub const SIGXCPU: u32 = 24;
pub const SIGXFSZ: u32 = 25;
pub const SIGVTALRM: u32 = 26;
pub const SIGPROF: u32 = 27;
pub const SIGWINCH: u32 = 28;
pub const SIGIO: u32 = 29;
pub const SIGPOLL: u32 = SIGIO;
pub const SIGPWR: u32 = 30;
pub const SIGSYS: u32 = 31;
/// The first real-time signal as the kernel numbers it (C libraries keep
/// a few for themselves and report a higher `SIGRTMIN`).
pub const SIGRTMIN: u32 = 32;
pub const SIGRTMAX: u32 = 64;
/// Number of signals (`_NSIG`).
pub const NSIG: u32 = 64;

/// `sizeof(sigset_t)` in the kernel: the only `sigsetsize` the `rt_sig*`
/// syscalls accept, on both ABIs.
pub const SIGSET_SIZE: usize = 8;

/// `rt_sigaction`, `rt_sigprocmask`, `rt_sigpending`, `rt_sigsuspend`:
/// `if (sigsetsize != sizeof(sigset_t)) return -EINVAL;`.
pub fn check_sigsetsize(size: usize) -> Result<(), Errno> {
    if size == SIGSET_SIZE {
        Ok(())
    } else {
        Err(Errno::EINVAL)
    }
}

/// A set of signals 1..=64: bit `n - 1` is signal `n` (the kernel's
/// `sigset_t`, 8 bytes little-endian in user memory on both ABIs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigSet(pub u64);

impl SigSet {
    pub const EMPTY: SigSet = SigSet(0);
    pub const FULL: SigSet = SigSet(u64::MAX);

    /// The set holding only `sig` (empty for a number outside 1..=64).
    pub const fn of(sig: u32) -> SigSet {
        if sig >= 1 && sig <= NSIG {
            SigSet(1 << (sig - 1))
        } else {
            SigSet(0)
        }
    }
    pub const fn contains(self, sig: u32) -> bool {
        self.0 & SigSet::of(sig).0 != 0
    }
    pub fn add(&mut self, sig: u32) {
        self.0 |= SigSet::of(sig).0;
    }
    pub fn remove(&mut self, sig: u32) {
        self.0 &= !SigSet::of(sig).0;
    }
    pub const fn union(self, o: SigSet) -> SigSet {
        SigSet(self.0 | o.0)
    }
    pub const fn intersect(self, o: SigSet) -> SigSet {
        SigSet(self.0 & o.0)
    }
    pub const fn without(self, o: SigSet) -> SigSet {
        SigSet(self.0 & !o.0)
    }
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// The lowest-numbered signal in the set.
    pub const fn lowest(self) -> Option<u32> {
        if self.0 == 0 {
            None
        } else {
            Some(self.0.trailing_zeros() + 1)
        }
    }
    pub const fn to_bytes(self) -> [u8; 8] {
        self.0.to_le_bytes()
    }
    pub const fn from_bytes(b: [u8; 8]) -> SigSet {
        SigSet(u64::from_le_bytes(b))
    }
}

/// SIGKILL and SIGSTOP: never blocked, caught or ignored.
pub const UNBLOCKABLE: SigSet = SigSet(1 << (SIGKILL - 1) | 1 << (SIGSTOP - 1));
/// Linux's `SYNCHRONOUS_MASK`: faults, dequeued before anything else but
/// SIGKILL.
pub const SYNCHRONOUS: SigSet = SigSet(
    1 << (SIGSEGV - 1)
        | 1 << (SIGBUS - 1)
        | 1 << (SIGILL - 1)
        | 1 << (SIGTRAP - 1)
        | 1 << (SIGFPE - 1)
        | 1 << (SIGSYS - 1),
);
/// Linux's `SIG_KERNEL_STOP_MASK`.
const STOP_SIGNALS: SigSet =
    SigSet(1 << (SIGSTOP - 1) | 1 << (SIGTSTP - 1) | 1 << (SIGTTIN - 1) | 1 << (SIGTTOU - 1));

/// `1 <= sig <= 64`.
pub const fn valid_signal(sig: u32) -> bool {
    sig >= 1 && sig <= NSIG
}

/// What a signal does with `SIG_DFL` (signal(7), "Standard signals").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultAction {
    Terminate,
    Ignore,
    /// Terminate and dump core. No core file is written here, so the
    /// process ends exactly as `Terminate`: Linux sets the wait status's
    /// core flag (0x80, `WCOREDUMP`) only when a core was actually
    /// written, so the status is the bare signal number
    /// ([`wait_status_killed`]).
    CoreDump,
    Stop,
    Continue,
}

pub const fn default_action(sig: u32) -> DefaultAction {
    use DefaultAction::*;
    match sig {
        SIGQUIT | SIGILL | SIGTRAP | SIGABRT | SIGBUS | SIGFPE | SIGSEGV | SIGXCPU | SIGXFSZ
        | SIGSYS => CoreDump,
        SIGCHLD | SIGURG | SIGWINCH => Ignore,
        SIGCONT => Continue,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => Stop,
        // Every other standard signal and every real-time one.
        _ => Terminate,
    }
}

/// Linux's `sig_kernel_ignore`: SIG_DFL means "discard" (SIGCONT is in
/// the set: its continuing happens when it is sent, not delivered).
const fn kernel_ignores(sig: u32) -> bool {
    matches!(
        default_action(sig),
        DefaultAction::Ignore | DefaultAction::Continue
    )
}

/// The wait status of a process killed by `sig` (no core file is ever
/// written, so never with `WCOREDUMP`'s 0x80).
pub const fn wait_status_killed(sig: u32) -> i32 {
    (sig & 0x7f) as i32
}

/// The wait status of a process that called `exit(code)`.
pub const fn wait_status_exited(code: i32) -> i32 {
    (code & 0xff) << 8
}

// ---------------------------------------------------------------------------
// sigaction

pub const SIG_DFL: usize = 0;
pub const SIG_IGN: usize = 1;

pub const SA_NOCLDSTOP: u64 = 0x0000_0001;
pub const SA_NOCLDWAIT: u64 = 0x0000_0002;
pub const SA_SIGINFO: u64 = 0x0000_0004;
/// Accepted and reported back, but `sigaltstack` is not implemented: the
/// frame always goes on the current stack.
pub const SA_ONSTACK: u64 = 0x0800_0000;
pub const SA_RESTART: u64 = 0x1000_0000;
pub const SA_NODEFER: u64 = 0x4000_0000;
pub const SA_RESETHAND: u64 = 0x8000_0000;
pub const SA_RESTORER: u64 = 0x0400_0000;
/// ARM only (`__ARCH_UAPI_SA_FLAGS`): a 26-bit relic, kept in the flags.
pub const SA_THIRTYTWO: u64 = 0x0200_0000;
pub const SA_EXPOSE_TAGBITS: u64 = 0x0000_0800;
/// Never accepted: user space sets it to probe for flag support.
pub const SA_UNSUPPORTED: u64 = 0x0000_0400;

/// The two ABIs' user-visible layouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Abi {
    /// ARMv7-A EABI: 32-bit `unsigned long` and pointers.
    Arm,
    /// AArch64 LP64.
    Aarch64,
}

impl Abi {
    /// Linux's `UAPI_SA_FLAGS`: the flags `do_sigaction` keeps.
    pub const fn uapi_sa_flags(self) -> u64 {
        let common = SA_NOCLDSTOP
            | SA_NOCLDWAIT
            | SA_SIGINFO
            | SA_ONSTACK
            | SA_RESTART
            | SA_NODEFER
            | SA_RESETHAND
            | SA_EXPOSE_TAGBITS;
        match self {
            Abi::Arm => common | SA_THIRTYTWO | SA_RESTORER,
            Abi::Aarch64 => common | SA_RESTORER,
        }
    }

    /// `sizeof(struct sigaction)` as `rt_sigaction` copies it.
    pub const fn sigaction_size(self) -> usize {
        match self {
            // handler, flags, restorer: 4 bytes each; sa_mask 8.
            Abi::Arm => 20,
            Abi::Aarch64 => 32,
        }
    }
}

/// The kernel's `struct sigaction` (include/linux/signal_types.h, with
/// `__ARCH_HAS_SA_RESTORER` on both architectures).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigAction {
    pub handler: usize,
    pub flags: u64,
    pub restorer: usize,
    pub mask: SigSet,
}

impl SigAction {
    /// Parse `rt_sigaction`'s `act` (at least [`Abi::sigaction_size`]
    /// bytes; `None` if shorter).
    pub fn from_bytes(abi: Abi, b: &[u8]) -> Option<SigAction> {
        match abi {
            Abi::Arm => Some(SigAction {
                handler: get_u32(b, 0)? as usize,
                flags: get_u32(b, 4)? as u64,
                restorer: get_u32(b, 8)? as usize,
                mask: SigSet(get_u64(b, 12)?),
            }),
            Abi::Aarch64 => Some(SigAction {
                handler: get_u64(b, 0)? as usize,
                flags: get_u64(b, 8)?,
                restorer: get_u64(b, 16)? as usize,
                mask: SigSet(get_u64(b, 24)?),
            }),
        }
    }

    /// Serialise for `rt_sigaction`'s `oact`: the first
    /// [`Abi::sigaction_size`] bytes of the result are the struct.
    pub fn to_bytes(&self, abi: Abi) -> [u8; 32] {
        let mut b = [0u8; 32];
        match abi {
            Abi::Arm => {
                put_u32(&mut b, 0, self.handler as u32);
                put_u32(&mut b, 4, self.flags as u32);
                put_u32(&mut b, 8, self.restorer as u32);
                put_u64(&mut b, 12, self.mask.0);
            }
            Abi::Aarch64 => {
                put_u64(&mut b, 0, self.handler as u64);
                put_u64(&mut b, 8, self.flags);
                put_u64(&mut b, 16, self.restorer as u64);
                put_u64(&mut b, 24, self.mask.0);
            }
        }
        b
    }

    /// A user handler (neither `SIG_DFL` nor `SIG_IGN`).
    pub const fn is_handler(&self) -> bool {
        self.handler != SIG_DFL && self.handler != SIG_IGN
    }
}

// ---------------------------------------------------------------------------
// siginfo (include/uapi/asm-generic/siginfo.h)

pub const SI_USER: i32 = 0;
pub const SI_KERNEL: i32 = 0x80;
pub const SI_QUEUE: i32 = -1;
pub const SI_TIMER: i32 = -2;
pub const SI_TKILL: i32 = -6;
pub const ILL_ILLOPC: i32 = 1;
pub const ILL_ILLOPN: i32 = 2;
pub const ILL_ILLADR: i32 = 3;
pub const ILL_ILLTRP: i32 = 4;
pub const ILL_PRVOPC: i32 = 5;
pub const FPE_INTDIV: i32 = 1;
pub const SEGV_MAPERR: i32 = 1;
pub const SEGV_ACCERR: i32 = 2;
pub const BUS_ADRALN: i32 = 1;
pub const BUS_ADRERR: i32 = 2;
pub const BUS_OBJERR: i32 = 3;
pub const TRAP_BRKPT: i32 = 1;
pub const CLD_EXITED: i32 = 1;
pub const CLD_KILLED: i32 = 2;
pub const CLD_DUMPED: i32 = 3;
pub const CLD_TRAPPED: i32 = 4;
pub const CLD_STOPPED: i32 = 5;
pub const CLD_CONTINUED: i32 = 6;

/// `sizeof(siginfo_t)` on both ABIs.
pub const SIGINFO_SIZE: usize = 128;

/// The union part of a `siginfo_t` this kernel fills.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SigFields {
    #[default]
    None,
    /// `kill`, `tkill`, and the kernel's own (`SI_KERNEL`): `_kill`.
    Kill { pid: u32, uid: u32 },
    /// `sigqueue`, timers: `_rt` (`si_value` as an integer/pointer).
    Rt { pid: u32, uid: u32, value: u64 },
    /// SIGCHLD: `_sigchld` (times in clock ticks).
    Child {
        pid: u32,
        uid: u32,
        status: i32,
        utime: i64,
        stime: i64,
    },
    /// SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP: `_sigfault`.
    Fault { addr: u64 },
}

/// A `siginfo_t`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigInfo {
    pub signo: u32,
    pub errno: i32,
    pub code: i32,
    pub fields: SigFields,
}

impl SigInfo {
    /// `kill(pid, sig)` from process `pid`, user `uid`.
    pub const fn user(sig: u32, pid: u32, uid: u32) -> SigInfo {
        SigInfo {
            signo: sig,
            errno: 0,
            code: SI_USER,
            fields: SigFields::Kill { pid, uid },
        }
    }
    /// Sent by the kernel itself (Linux's `SEND_SIG_PRIV`, `force_sig`).
    pub const fn kernel(sig: u32) -> SigInfo {
        SigInfo {
            signo: sig,
            errno: 0,
            code: SI_KERNEL,
            fields: SigFields::Kill { pid: 0, uid: 0 },
        }
    }
    /// A fault at `addr` (`force_sig_fault`).
    pub const fn fault(sig: u32, code: i32, addr: u64) -> SigInfo {
        SigInfo {
            signo: sig,
            errno: 0,
            code,
            fields: SigFields::Fault { addr },
        }
    }
    /// SIGCHLD for a child that ended: `code` is `CLD_EXITED` (status =
    /// exit code) or `CLD_KILLED`/`CLD_DUMPED` (status = signal).
    pub const fn child(
        code: i32,
        pid: u32,
        uid: u32,
        status: i32,
        utime: i64,
        stime: i64,
    ) -> SigInfo {
        SigInfo {
            signo: SIGCHLD,
            errno: 0,
            code,
            fields: SigFields::Child {
                pid,
                uid,
                status,
                utime,
                stime,
            },
        }
    }

    /// The 128 bytes `copy_siginfo_to_user` writes (everything not named
    /// is zero). The union starts at 12 on ARM, 16 on AArch64 (it holds
    /// pointers, so it is 8-aligned there).
    pub fn to_bytes(&self, abi: Abi) -> [u8; SIGINFO_SIZE] {
        let mut b = [0u8; SIGINFO_SIZE];
        put_u32(&mut b, 0, self.signo);
        put_u32(&mut b, 4, self.errno as u32);
        put_u32(&mut b, 8, self.code as u32);
        let u = match abi {
            Abi::Arm => 12,
            Abi::Aarch64 => 16,
        };
        let long = |b: &mut [u8], off: usize, v: u64| match abi {
            Abi::Arm => put_u32(b, off, v as u32),
            Abi::Aarch64 => put_u64(b, off, v),
        };
        // The member after pid and uid: an int on ARM, a pointer- or
        // long-aligned one on AArch64 (u + 8 is 8-aligned there).
        match self.fields {
            SigFields::None => {}
            SigFields::Kill { pid, uid } => {
                put_u32(&mut b, u, pid);
                put_u32(&mut b, u + 4, uid);
            }
            SigFields::Rt { pid, uid, value } => {
                put_u32(&mut b, u, pid);
                put_u32(&mut b, u + 4, uid);
                long(&mut b, u + 8, value);
            }
            SigFields::Child {
                pid,
                uid,
                status,
                utime,
                stime,
            } => {
                put_u32(&mut b, u, pid);
                put_u32(&mut b, u + 4, uid);
                put_u32(&mut b, u + 8, status as u32);
                // clock_t is a long: 4 bytes at 24/28 on ARM; on AArch64
                // 8 bytes, the int status padded to 32 and 40.
                match abi {
                    Abi::Arm => {
                        put_u32(&mut b, u + 12, utime as u32);
                        put_u32(&mut b, u + 16, stime as u32);
                    }
                    Abi::Aarch64 => {
                        put_u64(&mut b, u + 16, utime as u64);
                        put_u64(&mut b, u + 24, stime as u64);
                    }
                }
            }
            SigFields::Fault { addr } => long(&mut b, u, addr),
        }
        b
    }
}

// ---------------------------------------------------------------------------
// Per-process state

/// What delivering a dequeued signal means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// Run this handler (the action as it was before `SA_RESETHAND`
    /// reset it).
    Handler(SigAction),
    /// The process dies of this signal (also the core-dumping ones).
    Terminate(u32),
    /// Default action "stop" (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU).
    Stop(u32),
    /// Discarded: dequeue the next one.
    Ignore,
}

/// Real-time signals queued beyond the standard ones' single slot (a
/// fixed stand-in for `RLIMIT_SIGPENDING`).
pub const RT_QUEUE_MAX: usize = 64;

/// A process's signals (single-threaded: Linux's per-thread and shared
/// pending sets are one).
#[derive(Clone, Debug)]
pub struct Signals {
    abi: Abi,
    actions: [SigAction; NSIG as usize],
    blocked: SigSet,
    pending: SigSet,
    /// siginfo of each pending standard signal (1..=31; index sig - 1).
    std_info: [SigInfo; (SIGRTMIN - 1) as usize],
    /// Queued real-time signals, oldest first.
    rt_queue: Vec<SigInfo>,
    /// `rt_sigsuspend`'s mask to restore (Linux's `saved_sigmask` with
    /// `TIF_RESTORE_SIGMASK`).
    saved_mask: Option<SigSet>,
}

impl Signals {
    /// A first process: every action `SIG_DFL`, nothing blocked or
    /// pending.
    pub fn new(abi: Abi) -> Signals {
        Signals {
            abi,
            actions: [SigAction::default(); NSIG as usize],
            blocked: SigSet::EMPTY,
            pending: SigSet::EMPTY,
            std_info: [SigInfo::default(); (SIGRTMIN - 1) as usize],
            rt_queue: Vec::new(),
            saved_mask: None,
        }
    }

    pub fn abi(&self) -> Abi {
        self.abi
    }
    pub fn blocked(&self) -> SigSet {
        self.blocked
    }
    /// Every pending signal, blocked or not.
    pub fn pending(&self) -> SigSet {
        self.pending
    }
    /// The action of `sig` (default for an invalid number).
    pub fn action(&self, sig: u32) -> SigAction {
        self.slot(sig).map(|i| self.actions[i]).unwrap_or_default()
    }

    fn slot(&self, sig: u32) -> Option<usize> {
        if valid_signal(sig) {
            Some((sig - 1) as usize)
        } else {
            None
        }
    }

    /// `rt_sigaction(sig, new, old)`: returns the old action.
    /// EINVAL for a signal outside 1..=64 or a new action for SIGKILL or
    /// SIGSTOP (querying them is allowed). Unknown flags are dropped, as
    /// are SIGKILL and SIGSTOP from the handler's mask. An action that
    /// ignores the signal (`SIG_IGN`, or `SIG_DFL` where the default is
    /// to ignore) discards it if pending (POSIX 3.3.1.3, as Linux).
    pub fn sigaction(&mut self, sig: u32, new: Option<SigAction>) -> Result<SigAction, Errno> {
        let Some(i) = self.slot(sig) else {
            return Err(Errno::EINVAL);
        };
        if new.is_some() && UNBLOCKABLE.contains(sig) {
            return Err(Errno::EINVAL);
        }
        let old = self.actions[i];
        if let Some(mut a) = new {
            a.flags &= self.abi.uapi_sa_flags();
            a.mask = a.mask.without(UNBLOCKABLE);
            self.actions[i] = a;
            if handler_ignored(a.handler, sig) {
                self.discard(SigSet::of(sig));
            }
        }
        Ok(old)
    }

    /// `rt_sigprocmask(how, set, oldset)`: returns the old mask. `how` is
    /// only looked at when `set` is given (as Linux: with a null `set`
    /// any `how` succeeds). SIGKILL and SIGSTOP are never blocked.
    pub fn sigprocmask(&mut self, how: u32, set: Option<SigSet>) -> Result<SigSet, Errno> {
        let old = self.blocked;
        if let Some(s) = set {
            let s = s.without(UNBLOCKABLE);
            self.blocked = match how {
                SIG_BLOCK => old.union(s),
                SIG_UNBLOCK => old.without(s),
                SIG_SETMASK => s,
                _ => return Err(Errno::EINVAL),
            };
        }
        Ok(old)
    }

    /// Set the blocked mask (sigreturn's restored mask; Linux's
    /// `set_current_blocked`): SIGKILL and SIGSTOP are dropped.
    pub fn set_blocked(&mut self, mask: SigSet) {
        self.blocked = mask.without(UNBLOCKABLE);
    }

    /// `rt_sigpending`: the pending signals that are blocked.
    pub fn sigpending(&self) -> SigSet {
        self.pending.intersect(self.blocked)
    }

    /// `rt_sigsuspend(mask)`: block `mask` until a signal is handled; the
    /// old mask goes into the handler's frame ([`Signals::mask_to_save`])
    /// or comes back by [`Signals::restore_saved_mask`]. The syscall then
    /// sleeps until [`Signals::has_deliverable`] and returns
    /// `-ERESTARTNOHAND`.
    pub fn suspend(&mut self, mask: SigSet) {
        self.saved_mask = Some(self.blocked);
        self.blocked = mask.without(UNBLOCKABLE);
    }

    /// The mask a signal frame saves (`sigmask_to_save`).
    pub fn mask_to_save(&self) -> SigSet {
        self.saved_mask.unwrap_or(self.blocked)
    }

    /// No handler ran: undo `rt_sigsuspend`'s mask.
    pub fn restore_saved_mask(&mut self) {
        if let Some(m) = self.saved_mask.take() {
            self.blocked = m;
        }
    }

    /// Anything for the return to user mode to do: a deliverable signal,
    /// or `rt_sigsuspend`'s mask to put back.
    pub fn needs_attention(&self) -> bool {
        self.saved_mask.is_some() || self.has_deliverable()
    }

    /// Would a signal interrupt a sleeping syscall now?
    pub fn has_deliverable(&self) -> bool {
        !self.pending.without(self.blocked).is_empty()
    }

    /// Whether a syscall interrupted by `sig` is restarted rather than
    /// failing with EINTR when it returned `-ERESTARTSYS`: yes if no
    /// handler runs (ignored or default), else if the handler has
    /// `SA_RESTART`. (See [`restart_decision`] for the other codes.)
    pub fn restart_syscall(&self, sig: u32) -> bool {
        let a = self.action(sig);
        !a.is_handler() || a.flags & SA_RESTART != 0
    }

    /// Post `sig` (`info.signo` is set to it; Linux's
    /// `send_signal_locked` for one single-threaded process). `sig` 0 is
    /// the existence check: nothing happens. Returns whether the signal
    /// is now pending (false: discarded because ignored, or coalesced
    /// with an already pending standard signal whose siginfo is kept).
    /// A real-time signal beyond [`RT_QUEUE_MAX`] is kept without its
    /// siginfo when sent by `kill` (`SI_USER`), else EAGAIN.
    pub fn send(&mut self, sig: u32, info: SigInfo) -> Result<bool, Errno> {
        if sig == 0 {
            return Ok(false);
        }
        let Some(i) = self.slot(sig) else {
            return Err(Errno::EINVAL);
        };
        // prepare_signal: a stop signal cancels a pending SIGCONT and
        // SIGCONT cancels pending stop signals.
        if STOP_SIGNALS.contains(sig) {
            self.discard(SigSet::of(SIGCONT));
        } else if sig == SIGCONT {
            self.discard(STOP_SIGNALS);
        }
        // sig_ignored: a blocked signal is never ignored (its handler may
        // change before it is unblocked).
        if !self.blocked.contains(sig) && handler_ignored(self.actions[i].handler, sig) {
            return Ok(false);
        }
        let mut info = info;
        info.signo = sig;
        if sig < SIGRTMIN {
            // legacy_queue: one instance of a standard signal.
            if self.pending.contains(sig) {
                return Ok(false);
            }
            self.std_info[i] = info;
        } else {
            let room = self.rt_queue.len() < RT_QUEUE_MAX && self.rt_queue.try_reserve(1).is_ok();
            if room {
                self.rt_queue.push(info);
            } else if info.code != SI_USER {
                return Err(Errno::EAGAIN);
            }
            // else: "a silent loss of information", the bit alone.
        }
        self.pending.add(sig);
        Ok(true)
    }

    /// A signal the process cannot refuse (a fault, Linux's `force_sig`):
    /// if it is blocked or ignored, it is unblocked and its action reset
    /// to `SIG_DFL`, then it is sent.
    pub fn force(&mut self, sig: u32, info: SigInfo) {
        let Some(i) = self.slot(sig) else { return };
        let blocked = self.blocked.contains(sig);
        if blocked || self.actions[i].handler == SIG_IGN {
            self.actions[i].handler = SIG_DFL;
            self.blocked.remove(sig);
        }
        // Only a real-time signal with a full queue can fail (EAGAIN):
        // forced signals are the standard fault signals.
        let _ = self.send(sig, info);
    }

    /// A handler's frame could not be written (Linux's `force_sigsegv`):
    /// SIGSEGV is forced, with its action reset first if the signal being
    /// delivered was SIGSEGV itself (else it would recurse).
    pub fn force_sigsegv(&mut self, sig: u32) {
        if sig == SIGSEGV {
            self.actions[(SIGSEGV - 1) as usize].handler = SIG_DFL;
        }
        self.force(SIGSEGV, SigInfo::kernel(SIGSEGV));
    }

    /// Take the next deliverable signal: SIGKILL first, then the lowest
    /// synchronous one (SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE,
    /// SIGSYS), then the lowest number. Applies `SA_RESETHAND`.
    pub fn dequeue(&mut self) -> Option<(u32, SigInfo, Disposition)> {
        let ready = self.pending.without(self.blocked);
        let sig = if ready.contains(SIGKILL) {
            SIGKILL
        } else {
            let sync = ready.intersect(SYNCHRONOUS);
            if sync.is_empty() {
                ready.lowest()?
            } else {
                sync.lowest()?
            }
        };
        let i = self.slot(sig)?;
        let info = if sig < SIGRTMIN {
            self.pending.remove(sig);
            core::mem::take(&mut self.std_info[i])
        } else {
            let pos = self.rt_queue.iter().position(|q| q.signo == sig);
            let info = match pos {
                Some(p) => self.rt_queue.remove(p),
                // Queued without its siginfo: Linux makes one up.
                None => SigInfo::user(sig, 0, 0),
            };
            if !self.rt_queue.iter().any(|q| q.signo == sig) {
                self.pending.remove(sig);
            }
            info
        };
        let action = self.actions[i];
        let disp = match action.handler {
            SIG_IGN => Disposition::Ignore,
            SIG_DFL => match default_action(sig) {
                DefaultAction::Ignore | DefaultAction::Continue => Disposition::Ignore,
                DefaultAction::Stop => Disposition::Stop(sig),
                DefaultAction::Terminate | DefaultAction::CoreDump => Disposition::Terminate(sig),
            },
            _ => {
                if action.flags & SA_RESETHAND != 0 {
                    self.actions[i].handler = SIG_DFL;
                }
                Disposition::Handler(action)
            }
        };
        Some((sig, info, disp))
    }

    /// The handler's frame is written (Linux's `signal_delivered`): block
    /// the action's mask and, unless `SA_NODEFER`, the signal itself; a
    /// `rt_sigsuspend` mask is now in the frame, so forget it.
    pub fn delivered(&mut self, sig: u32, action: &SigAction) {
        self.saved_mask = None;
        let mut b = self.blocked.union(action.mask);
        if action.flags & SA_NODEFER == 0 {
            b.add(sig);
        }
        self.set_blocked(b);
    }

    /// [`Signals::fork`] written straight into `dst` (the child's final
    /// place): a `Signals` is about 3 KiB on ARMv7-A (64 actions, 31
    /// siginfos), and building it on the stack and moving it into the
    /// child cost a copy of all of it per move.
    ///
    /// # Safety
    /// `dst` is valid for writes and aligned; whatever it held is
    /// overwritten without being dropped.
    pub unsafe fn fork_into(&self, dst: *mut Signals) {
        // Every field is written below: a new field must be too, or this
        // pattern stops compiling.
        let _exhaustive = |s: Signals| {
            let Signals {
                abi: _,
                actions: _,
                blocked: _,
                pending: _,
                std_info: _,
                rt_queue: _,
                saved_mask: _,
            } = s;
        };
        // SAFETY: the caller's contract; every field is written once.
        unsafe {
            core::ptr::addr_of_mut!((*dst).abi).write(self.abi);
            core::ptr::addr_of_mut!((*dst).actions).write(self.actions);
            core::ptr::addr_of_mut!((*dst).blocked).write(self.blocked);
            core::ptr::addr_of_mut!((*dst).pending).write(SigSet::EMPTY);
            let info = core::ptr::addr_of_mut!((*dst).std_info).cast::<SigInfo>();
            for i in 0..(SIGRTMIN - 1) as usize {
                info.add(i).write(SigInfo::default());
            }
            core::ptr::addr_of_mut!((*dst).rt_queue).write(Vec::new());
            core::ptr::addr_of_mut!((*dst).saved_mask).write(None);
        }
    }

    /// The child's signals after `fork`: same actions and mask, nothing
    /// pending.
    pub fn fork(&self) -> Signals {
        Signals {
            abi: self.abi,
            actions: self.actions,
            blocked: self.blocked,
            pending: SigSet::EMPTY,
            std_info: [SigInfo::default(); (SIGRTMIN - 1) as usize],
            rt_queue: Vec::new(),
            saved_mask: None,
        }
    }

    /// `execve` (Linux's `flush_signal_handlers(t, 0)`): caught signals
    /// go back to `SIG_DFL`, ignored ones stay ignored; every flag,
    /// restorer and handler mask is cleared. The blocked mask and the
    /// pending signals stay. `abi` is the new program's.
    pub fn exec(&mut self, abi: Abi) {
        self.abi = abi;
        for a in self.actions.iter_mut() {
            let handler = if a.handler == SIG_IGN {
                SIG_IGN
            } else {
                SIG_DFL
            };
            *a = SigAction {
                handler,
                ..SigAction::default()
            };
        }
    }

    /// Drop every pending instance of the signals in `set`.
    fn discard(&mut self, set: SigSet) {
        self.pending = self.pending.without(set);
        self.rt_queue.retain(|q| !set.contains(q.signo));
    }
}

/// Linux's `sig_handler_ignored`.
fn handler_ignored(handler: usize, sig: u32) -> bool {
    handler == SIG_IGN || (handler == SIG_DFL && kernel_ignores(sig))
}

pub const SIG_BLOCK: u32 = 0;
pub const SIG_UNBLOCK: u32 = 1;
pub const SIG_SETMASK: u32 = 2;

// ---------------------------------------------------------------------------
// Syscall restart (include/linux/errno.h: never seen by user space)

/// Restart if no handler runs or the handler has `SA_RESTART`.
pub const ERESTARTSYS: i32 = 512;
/// Always restart.
pub const ERESTARTNOINTR: i32 = 513;
/// Restart if no handler runs (else EINTR).
pub const ERESTARTNOHAND: i32 = 514;
/// Restart through `restart_syscall` if no handler runs (else EINTR).
pub const ERESTART_RESTARTBLOCK: i32 = 516;

/// What becomes of an interrupted syscall's return value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restart {
    /// Not a restart code: the syscall's result stands.
    Keep,
    /// Return `-EINTR` to user space.
    Interrupt,
    /// Execute the same syscall again with its original arguments.
    Again,
    /// Execute `restart_syscall` instead (ARM number 0, AArch64 128).
    RestartSyscall,
}

/// Linux's `do_signal` decision for a syscall that returned `ret`;
/// `handler` is the action whose handler is about to run, `None` when no
/// handler runs (the signal was ignored, stopped the process, or there
/// was none).
pub fn restart_decision(ret: isize, handler: Option<&SigAction>) -> Restart {
    let code = match ret.checked_neg().and_then(|c| i32::try_from(c).ok()) {
        Some(c @ (ERESTARTSYS | ERESTARTNOINTR | ERESTARTNOHAND | ERESTART_RESTARTBLOCK)) => c,
        _ => return Restart::Keep,
    };
    match handler {
        None if code == ERESTART_RESTARTBLOCK => Restart::RestartSyscall,
        None => Restart::Again,
        Some(a) => match code {
            ERESTARTNOINTR => Restart::Again,
            ERESTARTSYS if a.flags & SA_RESTART != 0 => Restart::Again,
            _ => Restart::Interrupt,
        },
    }
}

// ---------------------------------------------------------------------------
// User memory and byte helpers

/// The task's user memory as the frame code sees it (implemented by the
/// task layer over its user-access code; a fake in the tests). Every
/// access is checked: an address the task may not read or write is an
/// error (EFAULT), never a panic.
pub trait UserMem {
    fn write(&mut self, addr: usize, bytes: &[u8]) -> Result<(), Errno>;
    fn read(&self, addr: usize, out: &mut [u8]) -> Result<(), Errno>;
}

pub(crate) fn put_u32(b: &mut [u8], off: usize, v: u32) {
    if let Some(d) = b.get_mut(off..off.saturating_add(4)) {
        d.copy_from_slice(&v.to_le_bytes());
    }
}
pub(crate) fn put_u64(b: &mut [u8], off: usize, v: u64) {
    if let Some(d) = b.get_mut(off..off.saturating_add(8)) {
        d.copy_from_slice(&v.to_le_bytes());
    }
}
pub(crate) fn put_u128(b: &mut [u8], off: usize, v: u128) {
    if let Some(d) = b.get_mut(off..off.saturating_add(16)) {
        d.copy_from_slice(&v.to_le_bytes());
    }
}
pub(crate) fn get_u32(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes(s.try_into().ok()?))
}
pub(crate) fn get_u64(b: &[u8], off: usize) -> Option<u64> {
    let s = b.get(off..off.checked_add(8)?)?;
    Some(u64::from_le_bytes(s.try_into().ok()?))
}
pub(crate) fn get_u128(b: &[u8], off: usize) -> Option<u128> {
    let s = b.get(off..off.checked_add(16)?)?;
    Some(u128::from_le_bytes(s.try_into().ok()?))
}
