//! Expected values are written from Linux's headers and the man pages
//! (signal(7), sigaction(2), sigprocmask(2)), never from this code's
//! output; each literal cites where it comes from.

use super::aarch64::{self, A64Regs};
use super::arm::{self, ArmFault, ArmRegs, ArmVfp};
use super::*;
use alloc::vec;
use alloc::vec::Vec;

// ---------------------------------------------------------------------------
// A fake user memory: one window of bytes; anything outside is EFAULT.

struct Mem {
    base: usize,
    bytes: Vec<u8>,
}

impl Mem {
    fn new(base: usize, len: usize) -> Mem {
        Mem {
            base,
            bytes: vec![0xAA; len],
        }
    }
    fn range(&self, addr: usize, len: usize) -> Result<core::ops::Range<usize>, Errno> {
        let start = addr.checked_sub(self.base).ok_or(Errno::EFAULT)?;
        let end = start.checked_add(len).ok_or(Errno::EFAULT)?;
        if end > self.bytes.len() {
            return Err(Errno::EFAULT);
        }
        Ok(start..end)
    }
    fn u32(&self, addr: usize) -> u32 {
        let mut b = [0u8; 4];
        self.read(addr, &mut b).unwrap();
        u32::from_le_bytes(b)
    }
    fn u64(&self, addr: usize) -> u64 {
        let mut b = [0u8; 8];
        self.read(addr, &mut b).unwrap();
        u64::from_le_bytes(b)
    }
    fn u128(&self, addr: usize) -> u128 {
        let mut b = [0u8; 16];
        self.read(addr, &mut b).unwrap();
        u128::from_le_bytes(b)
    }
    fn set_u32(&mut self, addr: usize, v: u32) {
        self.write(addr, &v.to_le_bytes()).unwrap();
    }
    fn set_u64(&mut self, addr: usize, v: u64) {
        self.write(addr, &v.to_le_bytes()).unwrap();
    }
}

impl UserMem for Mem {
    fn write(&mut self, addr: usize, bytes: &[u8]) -> Result<(), Errno> {
        let r = self.range(addr, bytes.len())?;
        self.bytes[r].copy_from_slice(bytes);
        Ok(())
    }
    fn read(&self, addr: usize, out: &mut [u8]) -> Result<(), Errno> {
        let r = self.range(addr, out.len())?;
        out.copy_from_slice(&self.bytes[r]);
        Ok(())
    }
}

fn handler(h: usize, flags: u64) -> SigAction {
    SigAction {
        handler: h,
        flags,
        restorer: 0,
        mask: SigSet::EMPTY,
    }
}

// ---------------------------------------------------------------------------
// Numbers, sets, defaults

#[test]
fn signal_numbers_match_asm_generic_signal_h() {
    // include/uapi/asm-generic/signal.h (ARM's own asm/signal.h has the
    // same numbers).
    let expect = [
        (SIGHUP, 1),
        (SIGINT, 2),
        (SIGQUIT, 3),
        (SIGILL, 4),
        (SIGTRAP, 5),
        (SIGABRT, 6),
        (SIGBUS, 7),
        (SIGFPE, 8),
        (SIGKILL, 9),
        (SIGUSR1, 10),
        (SIGSEGV, 11),
        (SIGUSR2, 12),
        (SIGPIPE, 13),
        (SIGALRM, 14),
        (SIGTERM, 15),
        (SIGSTKFLT, 16),
        (SIGCHLD, 17),
        (SIGCONT, 18),
        (SIGSTOP, 19),
        (SIGTSTP, 20),
        (SIGTTIN, 21),
        (SIGTTOU, 22),
        (SIGURG, 23),
        (SIGXCPU, 24),
        (SIGXFSZ, 25),
        (SIGVTALRM, 26),
        (SIGPROF, 27),
        (SIGWINCH, 28),
        (SIGIO, 29),
        (SIGPWR, 30),
        (SIGSYS, 31),
        (SIGRTMIN, 32),
        (SIGRTMAX, 64),
    ];
    for (s, n) in expect {
        assert_eq!(s, n);
    }
}

#[test]
fn sigset_bit_n_minus_1_is_signal_n() {
    assert_eq!(SigSet::of(1).0, 1);
    assert_eq!(SigSet::of(SIGKILL).0, 0x100);
    assert_eq!(SigSet::of(64).0, 1 << 63);
    assert_eq!(SigSet::of(0).0, 0);
    assert_eq!(SigSet::of(65).0, 0);
    let s = SigSet::of(SIGINT).union(SigSet::of(SIGTERM));
    assert_eq!(s.lowest(), Some(SIGINT));
    assert!(s.contains(SIGTERM) && !s.contains(SIGHUP));
    assert_eq!(s.to_bytes(), [0x02, 0x40, 0, 0, 0, 0, 0, 0]);
}

#[test]
fn default_actions_follow_signal_7() {
    use DefaultAction::*;
    // signal(7), "Standard signals" table.
    let table = [
        (SIGHUP, Terminate),
        (SIGINT, Terminate),
        (SIGQUIT, CoreDump),
        (SIGILL, CoreDump),
        (SIGTRAP, CoreDump),
        (SIGABRT, CoreDump),
        (SIGBUS, CoreDump),
        (SIGFPE, CoreDump),
        (SIGKILL, Terminate),
        (SIGUSR1, Terminate),
        (SIGSEGV, CoreDump),
        (SIGUSR2, Terminate),
        (SIGPIPE, Terminate),
        (SIGALRM, Terminate),
        (SIGTERM, Terminate),
        (SIGSTKFLT, Terminate),
        (SIGCHLD, Ignore),
        (SIGCONT, Continue),
        (SIGSTOP, Stop),
        (SIGTSTP, Stop),
        (SIGTTIN, Stop),
        (SIGTTOU, Stop),
        (SIGURG, Ignore),
        (SIGXCPU, CoreDump),
        (SIGXFSZ, CoreDump),
        (SIGVTALRM, Terminate),
        (SIGPROF, Terminate),
        (SIGWINCH, Ignore),
        (SIGIO, Terminate),
        (SIGPWR, Terminate),
        (SIGSYS, CoreDump),
    ];
    for (s, a) in table {
        assert_eq!(default_action(s), a, "signal {s}");
    }
    // "The default action for an unhandled real-time signal is to
    // terminate the receiving process."
    for s in 32..=64 {
        assert_eq!(default_action(s), Terminate);
    }
}

#[test]
fn wait_status_has_no_core_flag_without_a_core_file() {
    // wait(2): WTERMSIG = status & 0x7f, WCOREDUMP = status & 0x80,
    // WEXITSTATUS = (status >> 8) & 0xff.
    assert_eq!(wait_status_killed(SIGSEGV), 11);
    assert_eq!(wait_status_exited(3), 0x300);
    assert_eq!(wait_status_exited(-1), 0xff00);
}

#[test]
fn sigsetsize_must_be_8() {
    assert_eq!(check_sigsetsize(8), Ok(()));
    assert_eq!(check_sigsetsize(4), Err(Errno::EINVAL));
    assert_eq!(check_sigsetsize(128), Err(Errno::EINVAL));
}

// ---------------------------------------------------------------------------
// struct sigaction and siginfo bytes

#[test]
fn sa_flag_values_match_headers() {
    // asm-generic/signal-defs.h; ARM/AArch64 uapi asm/signal.h for
    // SA_RESTORER and SA_THIRTYTWO.
    assert_eq!(SA_NOCLDSTOP, 0x1);
    assert_eq!(SA_NOCLDWAIT, 0x2);
    assert_eq!(SA_SIGINFO, 0x4);
    assert_eq!(SA_ONSTACK, 0x0800_0000);
    assert_eq!(SA_RESTART, 0x1000_0000);
    assert_eq!(SA_NODEFER, 0x4000_0000);
    assert_eq!(SA_RESETHAND, 0x8000_0000);
    assert_eq!(SA_RESTORER, 0x0400_0000);
    assert_eq!(SA_THIRTYTWO, 0x0200_0000);
    assert_eq!((SIG_DFL, SIG_IGN), (0, 1));
}

#[test]
fn kernel_sigaction_layout_per_abi() {
    // include/linux/signal_types.h with __ARCH_HAS_SA_RESTORER:
    // { sa_handler; unsigned long sa_flags; sa_restorer; sigset_t sa_mask }.
    // ARM: 4 + 4 + 4 + 8 (two 32-bit words, 4-aligned) = 20.
    let mut b = [0u8; 20];
    b[0..4].copy_from_slice(&0x0001_0400u32.to_le_bytes());
    b[4..8].copy_from_slice(&0x1400_0004u32.to_le_bytes());
    b[8..12].copy_from_slice(&0x0001_0800u32.to_le_bytes());
    b[12..20].copy_from_slice(&0x8000_0000_0000_0002u64.to_le_bytes());
    let a = SigAction::from_bytes(Abi::Arm, &b).unwrap();
    assert_eq!(a.handler, 0x10400);
    assert_eq!(a.flags, SA_RESTART | SA_RESTORER | SA_SIGINFO);
    assert_eq!(a.restorer, 0x10800);
    assert_eq!(a.mask, SigSet::of(2).union(SigSet::of(64)));
    assert_eq!(&a.to_bytes(Abi::Arm)[..20], &b[..]);
    assert_eq!(Abi::Arm.sigaction_size(), 20);
    assert!(SigAction::from_bytes(Abi::Arm, &b[..19]).is_none());

    // AArch64: four 8-byte fields = 32.
    let mut c = [0u8; 32];
    c[0..8].copy_from_slice(&0x40_0000u64.to_le_bytes());
    c[8..16].copy_from_slice(&(SA_RESTORER | SA_RESETHAND).to_le_bytes());
    c[16..24].copy_from_slice(&0x40_1000u64.to_le_bytes());
    c[24..32].copy_from_slice(&(1u64 << 9).to_le_bytes());
    let a = SigAction::from_bytes(Abi::Aarch64, &c).unwrap();
    assert_eq!(a.handler, 0x40_0000);
    assert_eq!(a.flags, SA_RESTORER | SA_RESETHAND);
    assert_eq!(a.restorer, 0x40_1000);
    assert_eq!(a.mask, SigSet::of(10));
    assert_eq!(a.to_bytes(Abi::Aarch64), c);
    assert_eq!(Abi::Aarch64.sigaction_size(), 32);
    assert!(SigAction::from_bytes(Abi::Aarch64, &c[..31]).is_none());
}

fn le32(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}
fn le64(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

#[test]
fn siginfo_layout_arm() {
    // arch/arm/kernel/signal.c static_asserts: si_signo 0, si_errno 4,
    // si_code 8, si_pid 0x0c, si_uid 0x10, si_status 0x14, si_utime 0x18,
    // si_stime 0x1c, si_addr 0x0c, si_value 0x14; sizeof 128.
    let b = SigInfo::child(CLD_EXITED, 42, 1000, 7, 5, 6).to_bytes(Abi::Arm);
    assert_eq!(b.len(), 128);
    assert_eq!(le32(&b, 0), 17);
    assert_eq!(le32(&b, 4), 0);
    assert_eq!(le32(&b, 8), 1);
    assert_eq!(le32(&b, 0x0c), 42);
    assert_eq!(le32(&b, 0x10), 1000);
    assert_eq!(le32(&b, 0x14), 7);
    assert_eq!(le32(&b, 0x18), 5);
    assert_eq!(le32(&b, 0x1c), 6);
    assert!(b[0x20..].iter().all(|&x| x == 0));
    let f = SigInfo::fault(SIGSEGV, SEGV_ACCERR, 0xdead_b000).to_bytes(Abi::Arm);
    assert_eq!(
        (le32(&f, 0), le32(&f, 8), le32(&f, 0x0c)),
        (11, 2, 0xdead_b000)
    );
    let k = SigInfo::user(SIGTERM, 9, 0).to_bytes(Abi::Arm);
    assert_eq!((le32(&k, 8), le32(&k, 0x0c)), (0, 9));
    let mut q = SigInfo::user(40, 3, 4);
    q.code = SI_QUEUE;
    q.fields = SigFields::Rt {
        pid: 3,
        uid: 4,
        value: 0x1234,
    };
    let q = q.to_bytes(Abi::Arm);
    assert_eq!((le32(&q, 8), le32(&q, 0x14)), (-1i32 as u32, 0x1234));
}

#[test]
fn siginfo_layout_aarch64() {
    // arch/arm64/kernel/signal.c static_asserts: si_pid 0x10, si_uid
    // 0x14, si_status 0x18, si_utime 0x20, si_stime 0x28, si_addr 0x10,
    // si_value 0x18 (the union is pointer-aligned).
    let b = SigInfo::child(CLD_KILLED, 42, 1000, 9, -2, 6).to_bytes(Abi::Aarch64);
    assert_eq!(le32(&b, 0), 17);
    assert_eq!(le32(&b, 8), 2);
    assert_eq!(le32(&b, 0x0c), 0, "padding before the union");
    assert_eq!(le32(&b, 0x10), 42);
    assert_eq!(le32(&b, 0x14), 1000);
    assert_eq!(le32(&b, 0x18), 9);
    assert_eq!(le64(&b, 0x20), -2i64 as u64);
    assert_eq!(le64(&b, 0x28), 6);
    let f = SigInfo::fault(SIGBUS, BUS_ADRALN, 0x1_0000_0003).to_bytes(Abi::Aarch64);
    assert_eq!(le64(&f, 0x10), 0x1_0000_0003);
    assert_eq!(le32(&f, 8), 1);
}

#[test]
fn si_code_values_match_siginfo_h() {
    // include/uapi/asm-generic/siginfo.h.
    assert_eq!((SI_USER, SI_KERNEL, SI_QUEUE, SI_TKILL), (0, 0x80, -1, -6));
    assert_eq!((SEGV_MAPERR, SEGV_ACCERR), (1, 2));
    assert_eq!((BUS_ADRALN, BUS_ADRERR), (1, 2));
    assert_eq!(ILL_ILLOPC, 1);
    assert_eq!((CLD_EXITED, CLD_KILLED, CLD_DUMPED), (1, 2, 3));
}

// ---------------------------------------------------------------------------
// sigaction, sigprocmask: sigaction(2), sigprocmask(2)

#[test]
fn sigaction_einval_cases() {
    let mut s = Signals::new(Abi::Arm);
    let h = handler(0x1000, 0);
    // "EINVAL An invalid signal was specified. This will also be
    // generated if an attempt is made to change the action for SIGKILL
    // or SIGSTOP, which cannot be caught or ignored."
    assert_eq!(s.sigaction(0, Some(h)), Err(Errno::EINVAL));
    assert_eq!(s.sigaction(65, Some(h)), Err(Errno::EINVAL));
    assert_eq!(s.sigaction(0, None), Err(Errno::EINVAL));
    assert_eq!(s.sigaction(SIGKILL, Some(h)), Err(Errno::EINVAL));
    assert_eq!(
        s.sigaction(SIGSTOP, Some(handler(SIG_IGN, 0))),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        s.sigaction(SIGKILL, Some(handler(SIG_DFL, 0))),
        Err(Errno::EINVAL)
    );
    // Querying them is fine.
    assert_eq!(s.sigaction(SIGKILL, None), Ok(SigAction::default()));
    assert_eq!(s.sigaction(64, Some(h)), Ok(SigAction::default()));
    assert_eq!(s.sigaction(64, None), Ok(h));
}

#[test]
fn sigaction_returns_old_and_cleans_new() {
    let mut s = Signals::new(Abi::Aarch64);
    let mut h = handler(
        0x4000,
        SA_SIGINFO | SA_RESTORER | SA_UNSUPPORTED | (1 << 40),
    );
    h.mask = SigSet::of(SIGKILL)
        .union(SigSet::of(SIGSTOP))
        .union(SigSet::of(SIGUSR2));
    assert_eq!(s.sigaction(SIGUSR1, Some(h)), Ok(SigAction::default()));
    let got = s.sigaction(SIGUSR1, None).unwrap();
    // SA_UNSUPPORTED and unknown bits dropped (sigaction(2): "the kernel
    // clears unknown flag bits"); SIGKILL/SIGSTOP cannot be blocked
    // during a handler.
    assert_eq!(got.flags, SA_SIGINFO | SA_RESTORER);
    assert_eq!(got.mask, SigSet::of(SIGUSR2));
    // SA_THIRTYTWO is ARM's alone.
    s.sigaction(SIGUSR2, Some(handler(0x4000, SA_THIRTYTWO)))
        .unwrap();
    assert_eq!(s.action(SIGUSR2).flags, 0);
    let mut a = Signals::new(Abi::Arm);
    a.sigaction(SIGUSR2, Some(handler(0x4000, SA_THIRTYTWO)))
        .unwrap();
    assert_eq!(a.action(SIGUSR2).flags, SA_THIRTYTWO);
}

#[test]
fn sigprocmask_how_and_unblockable() {
    let mut s = Signals::new(Abi::Arm);
    let a = SigSet::of(SIGINT)
        .union(SigSet::of(SIGKILL))
        .union(SigSet::of(SIGSTOP));
    assert_eq!(s.sigprocmask(SIG_BLOCK, Some(a)), Ok(SigSet::EMPTY));
    // "It is not possible to block SIGKILL or SIGSTOP. Attempts to do so
    // are silently ignored."
    assert_eq!(s.blocked(), SigSet::of(SIGINT));
    assert_eq!(
        s.sigprocmask(SIG_BLOCK, Some(SigSet::of(SIGTERM))),
        Ok(SigSet::of(SIGINT))
    );
    assert_eq!(
        s.sigprocmask(SIG_UNBLOCK, Some(SigSet::of(SIGINT))),
        Ok(SigSet::of(SIGINT).union(SigSet::of(SIGTERM)))
    );
    assert_eq!(s.blocked(), SigSet::of(SIGTERM));
    assert_eq!(
        s.sigprocmask(SIG_SETMASK, Some(SigSet::FULL)),
        Ok(SigSet::of(SIGTERM))
    );
    assert_eq!(s.blocked(), SigSet(!0x0004_0100));
    // "EINVAL ... the value specified in how was invalid"; with a null set
    // "the signal mask is unchanged (i.e., how is ignored)".
    assert_eq!(s.sigprocmask(3, Some(SigSet::EMPTY)), Err(Errno::EINVAL));
    assert_eq!(s.blocked(), SigSet(!0x0004_0100));
    assert_eq!(s.sigprocmask(99, None), Ok(SigSet(!0x0004_0100)));
    s.set_blocked(SigSet::FULL);
    assert_eq!(s.blocked(), SigSet(!0x0004_0100));
}

#[test]
fn sigkill_cannot_be_blocked_caught_or_ignored() {
    let mut s = Signals::new(Abi::Arm);
    s.sigprocmask(SIG_SETMASK, Some(SigSet::FULL)).unwrap();
    assert!(s.sigaction(SIGKILL, Some(handler(SIG_IGN, 0))).is_err());
    assert!(s.sigaction(SIGKILL, Some(handler(0x1000, 0))).is_err());
    assert_eq!(s.send(SIGKILL, SigInfo::user(SIGKILL, 1, 0)), Ok(true));
    assert!(s.has_deliverable());
    let (sig, _, d) = s.dequeue().unwrap();
    assert_eq!((sig, d), (SIGKILL, Disposition::Terminate(SIGKILL)));
}

// ---------------------------------------------------------------------------
// Sending and dequeuing (kernel/signal.c semantics)

#[test]
fn standard_signals_coalesce_keeping_the_first_siginfo() {
    let mut s = Signals::new(Abi::Arm);
    s.sigaction(SIGUSR1, Some(handler(0x1000, 0))).unwrap();
    s.sigprocmask(SIG_BLOCK, Some(SigSet::of(SIGUSR1))).unwrap();
    assert_eq!(s.send(SIGUSR1, SigInfo::user(SIGUSR1, 10, 0)), Ok(true));
    assert_eq!(s.send(SIGUSR1, SigInfo::user(SIGUSR1, 20, 0)), Ok(false));
    assert!(!s.has_deliverable());
    assert_eq!(s.sigpending(), SigSet::of(SIGUSR1));
    s.sigprocmask(SIG_UNBLOCK, Some(SigSet::of(SIGUSR1)))
        .unwrap();
    let (sig, info, _) = s.dequeue().unwrap();
    assert_eq!(sig, SIGUSR1);
    assert_eq!(info.fields, SigFields::Kill { pid: 10, uid: 0 });
    assert!(s.dequeue().is_none());
}

#[test]
fn realtime_signals_queue_every_instance_in_order() {
    let mut s = Signals::new(Abi::Arm);
    s.sigaction(40, Some(handler(0x1000, 0))).unwrap();
    for pid in 1..=3 {
        assert_eq!(s.send(40, SigInfo::user(40, pid, 0)), Ok(true));
    }
    for pid in 1..=3 {
        let (sig, info, _) = s.dequeue().unwrap();
        assert_eq!((sig, info.fields), (40, SigFields::Kill { pid, uid: 0 }));
    }
    assert!(s.dequeue().is_none());
    assert!(s.pending().is_empty());
}

#[test]
fn realtime_queue_overflow() {
    let mut s = Signals::new(Abi::Arm);
    s.sigaction(50, Some(handler(0x1000, 0))).unwrap();
    for _ in 0..RT_QUEUE_MAX {
        s.send(50, SigInfo::user(50, 1, 0)).unwrap();
    }
    let mut q = SigInfo::user(50, 1, 0);
    q.code = SI_QUEUE;
    // sigqueue(3): "EAGAIN The limit of signals which may be queued has
    // been reached."
    assert_eq!(s.send(50, q), Err(Errno::EAGAIN));
    // kill() still gets through, without its siginfo.
    assert_eq!(s.send(51, SigInfo::user(51, 7, 0)).map(|_| ()), Ok(()));
    assert!(s.pending().contains(51));
}

#[test]
fn ignored_signals_are_discarded_when_sent() {
    let mut s = Signals::new(Abi::Arm);
    // SIGCHLD and SIGWINCH are ignored by default, SIGUSR1 explicitly.
    assert_eq!(
        s.send(SIGCHLD, SigInfo::child(CLD_EXITED, 2, 0, 0, 0, 0)),
        Ok(false)
    );
    assert_eq!(s.send(SIGWINCH, SigInfo::kernel(SIGWINCH)), Ok(false));
    s.sigaction(SIGUSR1, Some(handler(SIG_IGN, 0))).unwrap();
    assert_eq!(s.send(SIGUSR1, SigInfo::user(SIGUSR1, 1, 0)), Ok(false));
    assert!(s.pending().is_empty());
    // A blocked signal is never ignored at send time: the handler may
    // change before it is unblocked.
    s.sigprocmask(SIG_BLOCK, Some(SigSet::of(SIGUSR1))).unwrap();
    assert_eq!(s.send(SIGUSR1, SigInfo::user(SIGUSR1, 1, 0)), Ok(true));
    s.sigprocmask(SIG_UNBLOCK, Some(SigSet::of(SIGUSR1)))
        .unwrap();
    assert_eq!(s.dequeue().map(|d| d.2), Some(Disposition::Ignore));
    // Invalid numbers; 0 is the existence check.
    assert_eq!(s.send(65, SigInfo::kernel(65)), Err(Errno::EINVAL));
    assert_eq!(s.send(0, SigInfo::kernel(0)), Ok(false));
}

#[test]
fn setting_sig_ign_discards_a_pending_signal() {
    let mut s = Signals::new(Abi::Arm);
    s.sigprocmask(
        SIG_BLOCK,
        Some(SigSet::of(SIGTERM).union(SigSet::of(SIGCHLD))),
    )
    .unwrap();
    s.sigaction(SIGCHLD, Some(handler(0x1000, 0))).unwrap();
    s.send(SIGTERM, SigInfo::user(SIGTERM, 1, 0)).unwrap();
    s.send(SIGCHLD, SigInfo::child(CLD_EXITED, 2, 0, 0, 0, 0))
        .unwrap();
    s.send(45, SigInfo::user(45, 1, 0)).unwrap();
    assert_eq!(s.pending().0.count_ones(), 3);
    s.sigaction(SIGTERM, Some(handler(SIG_IGN, 0))).unwrap();
    assert!(!s.pending().contains(SIGTERM));
    // SIG_DFL for a signal whose default is to ignore discards too.
    s.sigaction(SIGCHLD, Some(handler(SIG_DFL, 0))).unwrap();
    assert!(!s.pending().contains(SIGCHLD));
    s.sigaction(45, Some(handler(SIG_IGN, 0))).unwrap();
    assert!(s.pending().is_empty());
}

#[test]
fn dequeue_order_kill_then_synchronous_then_lowest() {
    let mut s = Signals::new(Abi::Arm);
    for sig in [SIGHUP, SIGTERM, SIGSEGV, SIGUSR1, 33] {
        s.sigaction(sig, Some(handler(0x1000, 0))).unwrap();
    }
    s.sigprocmask(SIG_SETMASK, Some(SigSet::FULL)).unwrap();
    for sig in [33, SIGTERM, SIGUSR1, SIGSEGV, SIGHUP, SIGKILL] {
        s.send(sig, SigInfo::kernel(sig)).unwrap();
    }
    s.sigprocmask(SIG_SETMASK, Some(SigSet::EMPTY)).unwrap();
    let order: Vec<u32> = core::iter::from_fn(|| s.dequeue().map(|d| d.0)).collect();
    assert_eq!(order, vec![SIGKILL, SIGSEGV, SIGHUP, SIGUSR1, SIGTERM, 33]);
}

#[test]
fn blocked_signals_stay_pending() {
    let mut s = Signals::new(Abi::Arm);
    s.sigprocmask(SIG_BLOCK, Some(SigSet::of(SIGINT))).unwrap();
    s.send(SIGINT, SigInfo::user(SIGINT, 1, 0)).unwrap();
    assert!(!s.has_deliverable());
    assert!(s.dequeue().is_none());
    s.send(SIGTERM, SigInfo::user(SIGTERM, 1, 0)).unwrap();
    assert!(s.has_deliverable());
    assert_eq!(
        s.dequeue().map(|d| (d.0, d.2)),
        Some((SIGTERM, Disposition::Terminate(SIGTERM)))
    );
    assert!(s.dequeue().is_none());
    assert_eq!(s.pending(), SigSet::of(SIGINT));
}

#[test]
fn dispositions_by_default_action() {
    let mut s = Signals::new(Abi::Arm);
    s.sigprocmask(SIG_SETMASK, Some(SigSet::FULL)).unwrap();
    for sig in [SIGQUIT, SIGTSTP, SIGURG] {
        s.send(sig, SigInfo::kernel(sig)).unwrap();
    }
    s.sigprocmask(SIG_SETMASK, Some(SigSet::EMPTY)).unwrap();
    assert_eq!(s.dequeue().unwrap().2, Disposition::Terminate(SIGQUIT));
    assert_eq!(s.dequeue().unwrap().2, Disposition::Stop(SIGTSTP));
    assert_eq!(s.dequeue().unwrap().2, Disposition::Ignore);
}

#[test]
fn sigcont_and_stop_signals_cancel_each_other() {
    let mut s = Signals::new(Abi::Arm);
    s.sigprocmask(SIG_SETMASK, Some(SigSet::FULL)).unwrap();
    s.send(SIGTSTP, SigInfo::kernel(SIGTSTP)).unwrap();
    s.send(SIGCONT, SigInfo::kernel(SIGCONT)).unwrap();
    assert_eq!(s.pending(), SigSet::of(SIGCONT));
    s.send(SIGTTIN, SigInfo::kernel(SIGTTIN)).unwrap();
    assert_eq!(s.pending(), SigSet::of(SIGTTIN));
}

#[test]
fn sa_resethand_and_sa_nodefer() {
    let mut s = Signals::new(Abi::Arm);
    let mut h = handler(0x1000, SA_RESETHAND);
    h.mask = SigSet::of(SIGUSR2);
    s.sigaction(SIGUSR1, Some(h)).unwrap();
    s.send(SIGUSR1, SigInfo::user(SIGUSR1, 1, 0)).unwrap();
    let (sig, _, d) = s.dequeue().unwrap();
    // The handler runs with the action it had...
    assert_eq!(d, Disposition::Handler(h));
    // ...and sigaction(2): "Restore the signal action to the default upon
    // entry to the signal handler."
    assert_eq!(s.action(SIGUSR1).handler, SIG_DFL);
    // The handler runs with sa_mask and the signal itself blocked.
    s.delivered(sig, &h);
    assert_eq!(s.blocked(), SigSet::of(SIGUSR1).union(SigSet::of(SIGUSR2)));

    // SA_NODEFER: "Do not add the signal to the thread's signal mask
    // while the handler is executing".
    let mut t = Signals::new(Abi::Arm);
    let n = handler(0x1000, SA_NODEFER);
    t.sigaction(SIGUSR1, Some(n)).unwrap();
    t.delivered(SIGUSR1, &n);
    assert!(t.blocked().is_empty());
    assert_eq!(t.action(SIGUSR1), n, "no SA_RESETHAND: action kept");
}

#[test]
fn resethand_disposition_carries_the_old_action() {
    let mut s = Signals::new(Abi::Arm);
    let h = handler(0x1234, SA_RESETHAND | SA_SIGINFO);
    s.sigaction(SIGALRM, Some(h)).unwrap();
    s.send(SIGALRM, SigInfo::kernel(SIGALRM)).unwrap();
    assert_eq!(s.dequeue().unwrap().2, Disposition::Handler(h));
    // The next one takes the default action.
    s.send(SIGALRM, SigInfo::kernel(SIGALRM)).unwrap();
    assert_eq!(s.dequeue().unwrap().2, Disposition::Terminate(SIGALRM));
}

#[test]
fn force_unblocks_and_resets_ignored() {
    let mut s = Signals::new(Abi::Arm);
    s.sigaction(SIGSEGV, Some(handler(SIG_IGN, 0))).unwrap();
    s.sigprocmask(SIG_BLOCK, Some(SigSet::of(SIGSEGV))).unwrap();
    s.force(SIGSEGV, SigInfo::fault(SIGSEGV, SEGV_MAPERR, 0));
    assert!(!s.blocked().contains(SIGSEGV));
    assert_eq!(s.dequeue().unwrap().2, Disposition::Terminate(SIGSEGV));
    // A handled SIGSEGV whose frame cannot be written: reset, then kill.
    let mut t = Signals::new(Abi::Arm);
    t.sigaction(SIGSEGV, Some(handler(0x1000, 0))).unwrap();
    t.force_sigsegv(SIGSEGV);
    assert_eq!(t.dequeue().unwrap().2, Disposition::Terminate(SIGSEGV));
    // Another signal's frame failing leaves a SIGSEGV handler in place.
    let mut u = Signals::new(Abi::Arm);
    let h = handler(0x1000, 0);
    u.sigaction(SIGSEGV, Some(h)).unwrap();
    u.force_sigsegv(SIGUSR1);
    assert_eq!(u.dequeue().unwrap().2, Disposition::Handler(h));
}

#[test]
fn fork_and_exec() {
    let mut s = Signals::new(Abi::Arm);
    let h = handler(0x1000, SA_RESTART | SA_RESTORER);
    s.sigaction(SIGUSR1, Some(h)).unwrap();
    s.sigaction(SIGUSR2, Some(handler(SIG_IGN, SA_RESTART)))
        .unwrap();
    s.sigprocmask(SIG_BLOCK, Some(SigSet::of(SIGINT))).unwrap();
    s.send(SIGINT, SigInfo::user(SIGINT, 1, 0)).unwrap();
    // fork(2): "The child's set of pending signals is initially empty";
    // dispositions and mask are inherited.
    let c = s.fork();
    assert_eq!(c.action(SIGUSR1), h);
    assert_eq!(c.blocked(), SigSet::of(SIGINT));
    assert!(c.pending().is_empty());
    // execve(2): handled signals are reset to the default, ignored stay
    // ignored; the mask and pending signals are preserved.
    s.exec(Abi::Arm);
    assert_eq!(s.action(SIGUSR1), SigAction::default());
    assert_eq!(s.action(SIGUSR2), handler(SIG_IGN, 0));
    assert_eq!(s.blocked(), SigSet::of(SIGINT));
    assert_eq!(s.pending(), SigSet::of(SIGINT));
}

#[test]
fn sigsuspend_mask_is_saved_then_restored() {
    let mut s = Signals::new(Abi::Arm);
    let h = handler(0x1000, 0);
    s.sigaction(SIGUSR1, Some(h)).unwrap();
    s.sigprocmask(SIG_BLOCK, Some(SigSet::of(SIGUSR1))).unwrap();
    s.suspend(SigSet::of(SIGKILL));
    assert!(s.blocked().is_empty());
    assert_eq!(s.mask_to_save(), SigSet::of(SIGUSR1));
    s.send(SIGUSR1, SigInfo::kernel(SIGUSR1)).unwrap();
    assert!(s.has_deliverable());
    let (sig, _, _) = s.dequeue().unwrap();
    // The frame holds the pre-suspend mask; the handler runs with sig.
    let saved = s.mask_to_save();
    s.delivered(sig, &h);
    assert_eq!(saved, SigSet::of(SIGUSR1));
    assert_eq!(s.mask_to_save(), s.blocked());
    // Without a handler the mask comes back directly.
    let mut t = Signals::new(Abi::Arm);
    t.sigprocmask(SIG_BLOCK, Some(SigSet::of(SIGHUP))).unwrap();
    t.suspend(SigSet::EMPTY);
    t.restore_saved_mask();
    assert_eq!(t.blocked(), SigSet::of(SIGHUP));
}

// ---------------------------------------------------------------------------
// Restart decisions (Linux's do_signal, signal(7) "Interruption of system
// calls and library functions by signal handlers")

#[test]
fn restart_codes_match_include_linux_errno_h() {
    assert_eq!(
        (
            ERESTARTSYS,
            ERESTARTNOINTR,
            ERESTARTNOHAND,
            ERESTART_RESTARTBLOCK
        ),
        (512, 513, 514, 516)
    );
}

#[test]
fn restart_decisions() {
    let plain = handler(0x1000, 0);
    let restart = handler(0x1000, SA_RESTART);
    let r = |code: i32| -(code as isize);
    // A handler runs.
    assert_eq!(
        restart_decision(r(ERESTARTSYS), Some(&plain)),
        Restart::Interrupt
    );
    assert_eq!(
        restart_decision(r(ERESTARTSYS), Some(&restart)),
        Restart::Again
    );
    assert_eq!(
        restart_decision(r(ERESTARTNOINTR), Some(&plain)),
        Restart::Again
    );
    assert_eq!(
        restart_decision(r(ERESTARTNOHAND), Some(&restart)),
        Restart::Interrupt
    );
    assert_eq!(
        restart_decision(r(ERESTART_RESTARTBLOCK), Some(&restart)),
        Restart::Interrupt
    );
    // No handler: restart transparently.
    assert_eq!(restart_decision(r(ERESTARTSYS), None), Restart::Again);
    assert_eq!(restart_decision(r(ERESTARTNOHAND), None), Restart::Again);
    assert_eq!(restart_decision(r(ERESTARTNOINTR), None), Restart::Again);
    assert_eq!(
        restart_decision(r(ERESTART_RESTARTBLOCK), None),
        Restart::RestartSyscall
    );
    // Anything else stands.
    for v in [0, 5, -4, -515, -511, isize::MIN, isize::MAX] {
        assert_eq!(restart_decision(v, Some(&plain)), Restart::Keep);
    }
    let mut s = Signals::new(Abi::Arm);
    assert!(s.restart_syscall(SIGUSR1));
    s.sigaction(SIGUSR1, Some(plain)).unwrap();
    assert!(!s.restart_syscall(SIGUSR1));
    s.sigaction(SIGUSR1, Some(restart)).unwrap();
    assert!(s.restart_syscall(SIGUSR1));
}

#[test]
fn apply_restart_per_architecture() {
    let mut a = ArmRegs {
        pc: 0x1_0004,
        ..Default::default()
    };
    a.r[0] = -(ERESTARTSYS) as u32;
    let mut b = a;
    arm::apply_restart(&mut a, Restart::Again, 77);
    assert_eq!((a.r[0], a.pc), (77, 0x1_0000));
    b.cpsr = arm::PSR_T_BIT | arm::USR_MODE;
    arm::apply_restart(&mut b, Restart::RestartSyscall, 77);
    // Thumb `svc` is 2 bytes; restart_syscall is ARM EABI number 0.
    assert_eq!((b.r[0], b.pc, b.r[7]), (77, 0x1_0002, 0));
    let mut c = ArmRegs::default();
    arm::apply_restart(&mut c, Restart::Interrupt, 77);
    assert_eq!(c.r[0], (-4i32) as u32);

    let mut x = A64Regs {
        pc: 0x40_0008,
        ..Default::default()
    };
    aarch64::apply_restart(&mut x, Restart::RestartSyscall, 9);
    // asm-generic/unistd.h: __NR_restart_syscall 128.
    assert_eq!((x.x[0], x.pc, x.x[8]), (9, 0x40_0004, 128));
    aarch64::apply_restart(&mut x, Restart::Interrupt, 9);
    assert_eq!(x.x[0], (-4i64) as u64);
    let before = x;
    aarch64::apply_restart(&mut x, Restart::Keep, 1);
    assert_eq!(x, before);
}

// ---------------------------------------------------------------------------
// ARM frames

#[test]
fn arm_frame_sizes_and_offsets_from_headers() {
    // uapi/asm/sigcontext.h: 21 unsigned longs = 84 bytes; arm_r0 is the
    // 4th (12), arm_sp the 17th (64), arm_pc 19th (72), arm_cpsr 20th
    // (76), fault_address last (80).
    assert_eq!(arm::SIGCONTEXT_SIZE, 84);
    assert_eq!(
        (
            arm::sc::R0,
            arm::sc::SP,
            arm::sc::LR,
            arm::sc::PC,
            arm::sc::CPSR,
            arm::sc::FAULT_ADDRESS
        ),
        (12, 64, 68, 72, 76, 80)
    );
    // asm/ucontext.h: uc_flags 4 + uc_link 4 + stack_t (ss_sp, ss_flags,
    // ss_size) 12 → uc_mcontext at 20; + 84 → uc_sigmask at 104; sigset_t
    // is 8 bytes, __unused[32 - 2] ints = 120 → 232, already 8-aligned →
    // uc_regspace at 232; + 128 * 4 = 744.
    assert_eq!(arm::uc::MCONTEXT, 20);
    assert_eq!(arm::uc::SIGMASK, 104);
    assert_eq!(arm::uc::REGSPACE, 232);
    assert_eq!(arm::UCONTEXT_SIZE, 744);
    // signal.h: struct sigframe { ucontext; retcode[4] } = 744 + 16.
    assert_eq!(arm::SIGFRAME_SIZE, 760);
    // struct rt_sigframe { siginfo (128); sigframe } = 888.
    assert_eq!(arm::RT_SIGFRAME_SIZE, 888);
    // vfp_sigframe: "8 byte for magic and size, 264 byte for ufp, 12 bytes
    // for ufp_exc, 4 bytes padding" = 288.
    assert_eq!(arm::VFP_STORAGE_SIZE, 288);
    assert_eq!((arm::vfp::FPSCR, arm::vfp::FPEXC), (8 + 256, 8 + 264));
    assert_eq!(arm::VFP_MAGIC, 0x5646_5001);
}

#[test]
fn arm_trampoline_is_linux_sigreturn_codes() {
    // mov r7, #119 = 0xe3a07077; swi 0x900077; Thumb movs r7, #119 =
    // 0x2777, svc 0 = 0xdf00; the same with 173 (0xad).
    let t = arm::TRAMPOLINE;
    assert_eq!(le32(&t, 0), 0xe3a0_7077);
    assert_eq!(le32(&t, 4), 0xef90_0077);
    assert_eq!(&t[8..12], &[0x77, 0x27, 0x00, 0xdf]);
    assert_eq!(le32(&t, 12), 0xe3a0_70ad);
    assert_eq!(le32(&t, 16), 0xef90_00ad);
    assert_eq!(&t[20..24], &[0xad, 0x27, 0x00, 0xdf]);
}

const USR_NZCV: u32 = 0xf000_0010;

fn arm_regs() -> ArmRegs {
    let mut r = ArmRegs::default();
    for (i, v) in r.r.iter_mut().enumerate() {
        *v = 0x1000_0000 + i as u32;
    }
    r.sp = 0x7fff_0f04; // deliberately not 8-aligned
    r.lr = 0x0001_2345;
    r.pc = 0x0001_0100;
    r.cpsr = USR_NZCV | 0x000f_0000; // GE bits
    let mut v = ArmVfp {
        fpscr: 0x0300_0000,
        ..Default::default()
    };
    for (i, d) in v.d.iter_mut().enumerate() {
        *d = 0x0123_4567_89ab_cd00 + i as u64;
    }
    r.vfp = Some(v);
    r.fault = ArmFault {
        trap_no: 14,
        error_code: 0x817,
        address: 0xdead_0000,
    };
    r
}

#[test]
fn arm_rt_frame_contents_and_handler_entry() {
    let mut m = Mem::new(0x7ffe_0000, 0x2_0000);
    let orig = arm_regs();
    let mut r = orig;
    let mut act = handler(0x0002_0001, SA_SIGINFO | SA_RESTART); // Thumb handler
    act.mask = SigSet::of(SIGUSR2);
    let info = SigInfo::user(SIGUSR1, 5, 6);
    let old = SigSet::of(SIGHUP).union(SigSet::of(40));
    arm::setup_frame(&mut r, SIGUSR1, &info, &act, old, 0xffff_0200, &mut m).unwrap();
    // (sp - 888) & ~7.
    let f = ((0x7fff_0f04u32 - 888) & !7) as usize;
    assert_eq!(r.sp as usize, f);
    assert_eq!(r.r[0], SIGUSR1);
    assert_eq!(r.r[1] as usize, f);
    assert_eq!(r.r[2] as usize, f + 128);
    assert_eq!(r.pc, 0x0002_0001);
    // Thumb rt_sigreturn entry: page + (5 << 2) + 1.
    assert_eq!(r.lr, 0xffff_0200 + 20 + 1);
    // CPSR: flags (PSR_f) cleared, T set, GE and mode kept.
    assert_eq!(r.cpsr, 0x000f_0030);
    // siginfo: si_signo, si_code SI_USER, si_pid, si_uid.
    assert_eq!(
        (m.u32(f), m.u32(f + 8), m.u32(f + 12), m.u32(f + 16)),
        (10, 0, 5, 6)
    );
    let uc = f + 128;
    assert_eq!(m.u32(uc), 0, "uc_flags");
    assert_eq!(m.u32(uc + 4), 0, "uc_link");
    assert_eq!(m.u32(uc + 12), 2, "uc_stack.ss_flags = SS_DISABLE");
    let mc = uc + 20;
    assert_eq!(m.u32(mc), 14, "trap_no");
    assert_eq!(m.u32(mc + 4), 0x817, "error_code");
    assert_eq!(m.u32(mc + 8), old.0 as u32, "oldmask");
    for i in 0..13 {
        assert_eq!(m.u32(mc + 12 + 4 * i), 0x1000_0000 + i as u32);
    }
    assert_eq!(m.u32(mc + 64), 0x7fff_0f04);
    assert_eq!(m.u32(mc + 68), 0x0001_2345);
    assert_eq!(m.u32(mc + 72), 0x0001_0100);
    assert_eq!(m.u32(mc + 76), USR_NZCV | 0x000f_0000);
    assert_eq!(m.u32(mc + 80), 0xdead_0000);
    assert_eq!(m.u64(uc + 104), old.0);
    let vfp = uc + 232;
    assert_eq!((m.u32(vfp), m.u32(vfp + 4)), (0x5646_5001, 288));
    assert_eq!(m.u64(vfp + 8 + 8 * 31), 0x0123_4567_89ab_cd00 + 31);
    assert_eq!(m.u32(vfp + 264), 0x0300_0000);
    assert_eq!(m.u32(vfp + 288), 0, "end magic");
    // retcode on the stack: sigreturn_codes[5], [6].
    assert_eq!(m.u32(uc + 744), 0xdf00_27ad);

    // Return: everything comes back; the mask is the old one.
    r.r = [0x5555_5555; 13]; // the handler clobbered things
    let mask = arm::restore_rt_frame(&mut r, &m).unwrap();
    assert_eq!(mask, old);
    assert_eq!(r, orig);
}

#[test]
fn arm_plain_frame_for_handlers_without_siginfo() {
    let mut m = Mem::new(0x7ffe_0000, 0x2_0000);
    let mut orig = arm_regs();
    orig.vfp = None;
    let mut r = orig;
    let act = handler(0x0002_0000, 0);
    arm::setup_frame(
        &mut r,
        SIGINT,
        &SigInfo::kernel(SIGINT),
        &act,
        SigSet::EMPTY,
        0x5000,
        &mut m,
    )
    .unwrap();
    let f = ((0x7fff_0f04u32 - 760) & !7) as usize;
    assert_eq!(r.sp as usize, f);
    assert_eq!((r.r[0], r.r[1], r.r[2]), (SIGINT, orig.r[1], orig.r[2]));
    // ARM sigreturn entry: page + 0; T cleared.
    assert_eq!(r.lr, 0x5000);
    assert_eq!(r.cpsr & arm::PSR_T_BIT, 0);
    assert_eq!(m.u32(f), 0x5ac3_c35a, "uc_flags of a non-rt frame");
    assert_eq!(m.u32(f + 232), 0, "no VFP: end magic first");
    assert_eq!((m.u32(f + 744), m.u32(f + 748)), (0xe3a0_7077, 0xef90_0077));
    // rt_sigreturn expects the other frame; sigreturn reads this one.
    let mut back = r;
    assert_eq!(arm::restore_sigframe(&mut back, &m), Ok(SigSet::EMPTY));
    assert_eq!(back, orig);
}

#[test]
fn arm_sa_restorer_and_arm_mode_handler() {
    let mut m = Mem::new(0x7ffe_0000, 0x2_0000);
    let mut r = arm_regs();
    r.cpsr = arm::USR_MODE | arm::PSR_T_BIT | 0x0600_0c00; // Thumb, in an IT block
    let mut act = handler(0x0002_0000, SA_SIGINFO | SA_RESTORER);
    act.restorer = 0x0003_0001;
    arm::setup_frame(
        &mut r,
        SIGUSR1,
        &SigInfo::kernel(SIGUSR1),
        &act,
        SigSet::EMPTY,
        0x5000,
        &mut m,
    )
    .unwrap();
    assert_eq!(r.lr, 0x0003_0001);
    // T and IT cleared for an ARM handler.
    assert_eq!(r.cpsr, arm::USR_MODE);
}

#[test]
fn arm_restore_refuses_bad_frames() {
    let mut m = Mem::new(0x7ffe_0000, 0x2_0000);
    let orig = arm_regs();
    let mut r = orig;
    let act = handler(0x0002_0000, SA_SIGINFO);
    arm::setup_frame(
        &mut r,
        SIGUSR1,
        &SigInfo::kernel(SIGUSR1),
        &act,
        SigSet::EMPTY,
        0x5000,
        &mut m,
    )
    .unwrap();
    let f = r.sp as usize;
    let cpsr_at = f + 128 + 20 + 76;
    let at_handler = r;
    // CPSR claiming SVC mode (0x13), IRQs masked, or FIQ mode.
    for bad in [0x0000_0013u32, 0x0000_0090, 0x0000_0011, 0x0000_001f] {
        m.set_u32(cpsr_at, bad);
        let mut t = at_handler;
        assert!(arm::restore_rt_frame(&mut t, &m).is_err(), "cpsr {bad:#x}");
        assert_eq!(t, at_handler, "regs untouched on error");
    }
    // F and A are cleared, not refused (valid_user_regs).
    m.set_u32(cpsr_at, 0x0000_0150);
    let mut t = at_handler;
    arm::restore_rt_frame(&mut t, &m).unwrap();
    assert_eq!(t.cpsr, 0x10);
    m.set_u32(cpsr_at, orig.cpsr);
    // A VFP block with the wrong magic or size.
    let vfp = f + 128 + 232;
    let restores = |m: &Mem| arm::restore_rt_frame(&mut { at_handler }, m).is_ok();
    m.set_u32(vfp, 0x1234_5678);
    assert!(!restores(&m));
    m.set_u32(vfp, arm::VFP_MAGIC);
    m.set_u32(vfp + 4, 280);
    assert!(!restores(&m));
    m.set_u32(vfp + 4, 288);
    assert!(restores(&m));
    // Without VFP state in the task, the block is not looked at.
    m.set_u32(vfp, 0);
    let mut novfp = at_handler;
    novfp.vfp = None;
    assert!(arm::restore_rt_frame(&mut novfp, &m).is_ok());
    assert_eq!(novfp.vfp, None);
    m.set_u32(vfp, arm::VFP_MAGIC);
    // sp not 8-aligned; frame outside user memory.
    let mut t = at_handler;
    t.sp += 4;
    assert!(arm::restore_rt_frame(&mut t, &m).is_err());
    t.sp = 0x1000;
    assert_eq!(arm::restore_rt_frame(&mut t, &m), Err(Errno::EFAULT));
}

#[test]
fn arm_setup_fails_cleanly_without_stack() {
    let mut m = Mem::new(0x7ffe_0000, 0x100);
    let mut r = arm_regs();
    let before = r;
    let act = handler(0x1000, SA_SIGINFO);
    assert_eq!(
        arm::setup_frame(
            &mut r,
            SIGUSR1,
            &SigInfo::kernel(SIGUSR1),
            &act,
            SigSet::EMPTY,
            0,
            &mut m
        ),
        Err(Errno::EFAULT)
    );
    assert_eq!(r, before);
    r.sp = 16;
    assert_eq!(
        arm::setup_frame(
            &mut r,
            SIGUSR1,
            &SigInfo::kernel(SIGUSR1),
            &act,
            SigSet::EMPTY,
            0,
            &mut m
        ),
        Err(Errno::EFAULT)
    );
}

// ---------------------------------------------------------------------------
// AArch64 frame

#[test]
fn aarch64_frame_sizes_and_offsets_from_headers() {
    // uapi/asm/sigcontext.h: fault_address 8 + regs[31] 248 → sp at 256,
    // pc 264, pstate 272, __reserved aligned 16 → 288; + 4096 = 4384.
    assert_eq!(aarch64::SIGCONTEXT_SIZE, 4384);
    // uapi/asm/ucontext.h: uc_flags 8, uc_link 8, stack_t 24 (ss_sp 8,
    // ss_flags 4 + 4 padding, ss_size 8) → uc_sigmask at 40; __unused
    // 1024/8 - 8 = 120 → 168, uc_mcontext 16-aligned → 176; + 4384 = 4560.
    assert_eq!(aarch64::off::UC_SIGMASK - aarch64::off::UC, 40);
    assert_eq!(aarch64::off::UC_MCONTEXT - aarch64::off::UC, 176);
    assert_eq!(aarch64::UCONTEXT_SIZE, 4560);
    // struct rt_sigframe { siginfo 128; ucontext (16-aligned) } = 4688;
    // __reserved at 128 + 176 + 288 = 592.
    assert_eq!(aarch64::RT_SIGFRAME_SIZE, 4688);
    assert_eq!(aarch64::off::RESERVED, 592);
    assert_eq!(aarch64::off::SP, 128 + 176 + 256);
    // fpsimd_context: head 8, fpsr 4, fpcr 4, vregs 32 * 16 = 528.
    assert_eq!(aarch64::FPSIMD_CONTEXT_SIZE, 528);
    assert_eq!(aarch64::FPSIMD_MAGIC, 0x4650_8001);
    assert_eq!(aarch64::ESR_MAGIC, 0x4553_5201);
    // SPSR_EL1_AARCH64_RES0_BITS, GENMASK pieces written out.
    assert_eq!(aarch64::SPSR_EL1_AARCH64_RES0_BITS, 0xffff_ffff_0cdf_e020);
}

#[test]
fn aarch64_trampoline_is_mov_x8_139_svc_0() {
    // MOVZ X8, #139 = 0xd2800000 | 139 << 5 | 8; SVC #0 = 0xd4000001.
    assert_eq!(le32(&aarch64::TRAMPOLINE, 0), 0xd280_1168);
    assert_eq!(le32(&aarch64::TRAMPOLINE, 4), 0xd400_0001);
}

fn a64_regs() -> A64Regs {
    let mut r = A64Regs::default();
    for (i, v) in r.x.iter_mut().enumerate() {
        *v = 0xaaaa_0000_0000_0000 + i as u64;
    }
    for (i, q) in r.q.iter_mut().enumerate() {
        *q = (0x1111_2222_3333_4444_5555_6666_7777_0000u128) + i as u128;
    }
    r.sp = 0x7fff_f00c; // not 16-aligned
    r.pc = 0x40_1000;
    r.pstate = 0x6000_0000 | aarch64::PSR_BTYPE_MASK | aarch64::PSR_TCO_BIT; // Z C, EL0t
    r.fpsr = 0x0800_0010;
    r.fpcr = 0x0040_0000;
    r.fault_address = 0xdead_beef;
    r
}

#[test]
fn aarch64_frame_contents_and_handler_entry() {
    let mut m = Mem::new(0x7ffe_0000, 0x2_0000);
    let orig = a64_regs();
    let mut r = orig;
    let mut act = handler(0x40_2000, SA_SIGINFO | SA_RESTORER);
    act.restorer = 0x40_3000;
    let info = SigInfo::fault(SIGSEGV, SEGV_MAPERR, 0xdead_beef);
    let old = SigSet::of(SIGTERM);
    aarch64::setup_frame(&mut r, SIGSEGV, &info, &act, old, 0x9999, &mut m).unwrap();
    // Frame record at round_down(sp - 16, 16); frame 4688 below it.
    let rec = (0x7fff_f00c - 16) & !15u64;
    let f = rec - 4688;
    assert_eq!(r.sp, f);
    assert_eq!(r.x[29], rec);
    assert_eq!(
        (m.u64(rec as usize), m.u64(rec as usize + 8)),
        (orig.x[29], orig.x[30])
    );
    assert_eq!(r.x[30], 0x40_3000);
    assert_eq!((r.x[0], r.x[1], r.x[2]), (11, f, f + 128));
    assert_eq!(r.pc, 0x40_2000);
    // BTYPE and TCO cleared; NZCV and EL0t kept.
    assert_eq!(r.pstate, 0x6000_0000);
    let f = f as usize;
    assert_eq!(m.u32(f), 11);
    assert_eq!(m.u64(f + 16), 0xdead_beef, "si_addr");
    assert_eq!(m.u32(f + 128 + 24), 2, "uc_stack.ss_flags = SS_DISABLE");
    assert_eq!(m.u64(f + 128 + 40), old.0, "uc_sigmask");
    let mc = f + 128 + 176;
    assert_eq!(m.u64(mc), 0xdead_beef, "fault_address");
    for i in 0..31 {
        assert_eq!(m.u64(mc + 8 + 8 * i), orig.x[i]);
    }
    assert_eq!(m.u64(mc + 256), orig.sp);
    assert_eq!(m.u64(mc + 264), orig.pc);
    assert_eq!(m.u64(mc + 272), orig.pstate);
    let fp = mc + 288;
    assert_eq!((m.u32(fp), m.u32(fp + 4)), (0x4650_8001, 528));
    assert_eq!((m.u32(fp + 8), m.u32(fp + 12)), (orig.fpsr, orig.fpcr));
    assert_eq!(m.u128(fp + 16 + 16 * 31), orig.q[31]);
    assert_eq!(m.u64(fp + 528), 0, "no ESR: end marker next");

    let mut back = r;
    back.x = [0; 31];
    back.q = [0; 32];
    assert_eq!(aarch64::restore_rt_frame(&mut back, &m), Ok(old));
    assert_eq!(back.x, orig.x);
    assert_eq!(back.q, orig.q);
    assert_eq!(
        (back.sp, back.pc, back.fpsr, back.fpcr),
        (orig.sp, orig.pc, orig.fpsr, orig.fpcr)
    );
    // BTYPE and TCO are allowed at EL0 (not RES0): restored as saved.
    assert_eq!(back.pstate, orig.pstate);
}

#[test]
fn aarch64_without_siginfo_or_restorer_and_with_esr() {
    let mut m = Mem::new(0x7ffe_0000, 0x2_0000);
    let mut orig = a64_regs();
    orig.esr = 0x9200_0046;
    let mut r = orig;
    let act = handler(0x40_2000, 0);
    aarch64::setup_frame(
        &mut r,
        SIGBUS,
        &SigInfo::kernel(SIGBUS),
        &act,
        SigSet::EMPTY,
        0x7000,
        &mut m,
    )
    .unwrap();
    assert_eq!(r.x[30], 0x7000, "trampoline without SA_RESTORER");
    assert_eq!((r.x[1], r.x[2]), (orig.x[1], orig.x[2]), "x1/x2 untouched");
    let f = r.sp as usize;
    assert_eq!(
        m.u32(f),
        0xAAAA_AAAA,
        "siginfo not written without SA_SIGINFO"
    );
    let esr = f + 592 + 528;
    assert_eq!(
        (m.u32(esr), m.u32(esr + 4), m.u64(esr + 8)),
        (0x4553_5201, 16, 0x9200_0046)
    );
    assert_eq!(m.u64(esr + 16), 0, "end marker after the ESR record");
    let mut back = r;
    aarch64::restore_rt_frame(&mut back, &m).unwrap();
    assert_eq!((back.x, back.q, back.pc), (orig.x, orig.q, orig.pc));
}

#[test]
fn aarch64_restore_refuses_bad_frames() {
    let mut m = Mem::new(0x7ffe_0000, 0x2_0000);
    let mut r = a64_regs();
    let act = handler(0x40_2000, SA_SIGINFO);
    aarch64::setup_frame(
        &mut r,
        SIGUSR1,
        &SigInfo::kernel(SIGUSR1),
        &act,
        SigSet::EMPTY,
        0,
        &mut m,
    )
    .unwrap();
    let at = r;
    let f = r.sp as usize;
    let pstate_at = f + 128 + 176 + 272;
    let good = m.u64(pstate_at);
    // EL1h (0x5), EL1t (0x4), AArch32 (bit 4), IRQs masked (I, bit 7), D.
    for bad in [0x5u64, 0x4, 0x10, 0x80, 0x200, 0x3c5] {
        m.set_u64(pstate_at, bad);
        let mut t = at;
        assert!(
            aarch64::restore_rt_frame(&mut t, &m).is_err(),
            "pstate {bad:#x}"
        );
        assert_eq!(t, at);
    }
    // RES0 bits are cleared, not refused.
    m.set_u64(pstate_at, good | (1 << 40) | (1 << 20));
    let mut t = at;
    aarch64::restore_rt_frame(&mut t, &m).unwrap();
    assert_eq!(t.pstate, good);
    m.set_u64(pstate_at, good);

    let rsv = f + 592;
    let check = |m: &Mem, ok: bool, what: &str| {
        let mut t = at;
        assert_eq!(aarch64::restore_rt_frame(&mut t, m).is_ok(), ok, "{what}");
    };
    check(&m, true, "intact");
    // No fpsimd record at all.
    m.set_u64(rsv, 0);
    check(&m, false, "missing fpsimd");
    // Wrong fpsimd size; an unknown record (SVE_MAGIC 0x53564501).
    m.set_u32(rsv, aarch64::FPSIMD_MAGIC);
    m.set_u32(rsv + 4, 512);
    check(&m, false, "short fpsimd");
    m.set_u32(rsv + 4, 544);
    check(&m, false, "fpsimd of the wrong size");
    m.set_u32(rsv + 4, 528);
    check(&m, true, "restored");
    m.set_u32(rsv + 528, 0x5356_4501);
    m.set_u32(rsv + 532, 16);
    check(&m, false, "SVE record");
    // A terminator with a size; a record running past __reserved.
    m.set_u32(rsv + 528, 0);
    m.set_u32(rsv + 532, 16);
    check(&m, false, "end with size");
    m.set_u32(rsv + 528, aarch64::ESR_MAGIC);
    m.set_u32(rsv + 532, 4096);
    check(&m, false, "oversized record");
    m.set_u32(rsv + 532, 0);
    check(&m, false, "zero-size record");
    m.set_u32(rsv + 532, 24);
    check(&m, false, "next record misaligned");
    m.set_u64(rsv + 528, 0);
    // Duplicate fpsimd.
    m.set_u32(rsv + 528, aarch64::FPSIMD_MAGIC);
    m.set_u32(rsv + 532, 528);
    check(&m, false, "second fpsimd");
    m.set_u64(rsv + 528, 0);
    check(&m, true, "repaired");
    // sp not 16-aligned, or pointing outside user memory.
    let mut t = at;
    t.sp += 8;
    assert!(aarch64::restore_rt_frame(&mut t, &m).is_err());
    t.sp = 0x10;
    assert_eq!(aarch64::restore_rt_frame(&mut t, &m), Err(Errno::EFAULT));
    t.sp = !15;
    assert!(aarch64::restore_rt_frame(&mut t, &m).is_err());
}

#[test]
fn aarch64_setup_fails_cleanly() {
    let mut m = Mem::new(0x7ffe_0000, 0x100);
    let mut r = a64_regs();
    let before = r;
    let act = handler(0x1000, SA_SIGINFO);
    assert!(aarch64::setup_frame(
        &mut r,
        1,
        &SigInfo::kernel(1),
        &act,
        SigSet::EMPTY,
        0,
        &mut m
    )
    .is_err());
    assert_eq!(r, before);
    r.sp = 8;
    assert!(aarch64::setup_frame(
        &mut r,
        1,
        &SigInfo::kernel(1),
        &act,
        SigSet::EMPTY,
        0,
        &mut m
    )
    .is_err());
}

/// Arbitrary user bytes as a frame never panic either restore.
#[test]
fn restore_of_random_frames_never_panics() {
    let mut x: u64 = 0x1234_5678_9abc_def1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0..300 {
        let mut m = Mem::new(0x10_0000, 0x2000);
        for b in m.bytes.iter_mut() {
            *b = next() as u8;
        }
        // Sometimes plant plausible heads so the record walk goes deeper.
        if round % 2 == 0 {
            m.set_u32(0x10_0000 + 592, aarch64::FPSIMD_MAGIC);
            m.set_u32(0x10_0000 + 596, (next() % 2048) as u32);
            m.set_u64(0x10_0000 + 128 + 176 + 272, 0);
            m.set_u32(0x10_0000 + 128 + 20 + 76, 0x10);
        }
        let mut a = arm_regs();
        a.sp = 0x10_0000;
        let _ = arm::restore_rt_frame(&mut a, &m);
        let _ = arm::restore_sigframe(&mut a, &m);
        let mut b = a64_regs();
        b.sp = 0x10_0000;
        let _ = aarch64::restore_rt_frame(&mut b, &m);
        let bytes: Vec<u8> = (0..32).map(|_| next() as u8).collect();
        let _ = SigAction::from_bytes(Abi::Arm, &bytes);
        let _ = SigAction::from_bytes(Abi::Aarch64, &bytes[..(next() % 33) as usize]);
    }
}
