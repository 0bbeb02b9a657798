//! Signals: handlers (one-argument and SA_SIGINFO) with the right signal number and
//! siginfo (si_signo, si_code SI_USER, si_pid, si_uid); the mask while a handler runs
//! (the signal itself, sa_mask, SA_NODEFER) and after it; SA_RESETHAND; rt_sigprocmask
//! blocking (pending, delivered once at unblock), rt_sigsuspend; SIGKILL cannot be caught
//! or blocked; SIGCHLD's handler with CLD_EXITED and the child's status, SIGCHLD's default
//! (ignored) and SIG_IGN (children reaped automatically: wait4 -> ECHILD); alarm and
//! setitimer timing out a child while the parent waits in wait4 (EINTR without
//! SA_RESTART, restarted with it); a child signalling its parent during wait4 (both
//! variants); process groups (setpgid, getpgid, kill(-pgid)); a handled SIGSEGV and
//! SIGILL (si_addr, si_code; the handler _exits); an asynchronous SIGALRM in a
//! register-only loop (every register restored by rt_sigreturn).
//! Every expectation is Linux 6.1's (user/oracle/signals.*.txt).
#![no_std]
#![no_main]

use armmu_user::errno::*;
use armmu_user::sys::*;
use armmu_user::*;
use core::ffi::c_void;
use core::sync::atomic::Ordering::SeqCst;
use core::sync::atomic::{AtomicI32, AtomicU32, AtomicUsize};

entry!(main);

const MS: u64 = 1_000_000;

/// What the SA_SIGINFO handler saw last.
static INFO_COUNT: AtomicU32 = AtomicU32::new(0);
static INFO_SIGNO: AtomicI32 = AtomicI32::new(-1);
static INFO_CODE: AtomicI32 = AtomicI32::new(-1);
static INFO_PID: AtomicI32 = AtomicI32::new(-1);
static INFO_UID: AtomicU32 = AtomicU32::new(u32::MAX);
static INFO_STATUS: AtomicI32 = AtomicI32::new(-1);
static INFO_ARG: AtomicI32 = AtomicI32::new(-1);
/// The low 32 bits of the blocked mask inside the handler.
static INFO_MASK: AtomicU32 = AtomicU32::new(0);

extern "C" fn on_info(sig: i32, info: *mut SigInfo, _uc: *mut c_void) {
    // SAFETY: the kernel passes a valid siginfo.
    let info = unsafe { &*info };
    INFO_ARG.store(sig, SeqCst);
    INFO_SIGNO.store(info.signo, SeqCst);
    INFO_CODE.store(info.code, SeqCst);
    INFO_PID.store(info.pid(), SeqCst);
    INFO_UID.store(info.uid(), SeqCst);
    INFO_STATUS.store(info.status(), SeqCst);
    INFO_MASK.store(rt_sigprocmask(SIG_BLOCK, None).unwrap_or(0) as u32, SeqCst);
    INFO_COUNT.fetch_add(1, SeqCst);
}

static SIMPLE_SIG: AtomicI32 = AtomicI32::new(0);
static SIMPLE_COUNT: AtomicU32 = AtomicU32::new(0);

extern "C" fn on_simple(sig: i32) {
    SIMPLE_SIG.store(sig, SeqCst);
    SIMPLE_COUNT.fetch_add(1, SeqCst);
}

/// The SIGALRM handler that ends a hung child (the harness pattern).
static VICTIM: AtomicI32 = AtomicI32::new(0);
static ALRM_COUNT: AtomicU32 = AtomicU32::new(0);

extern "C" fn on_alarm_kill(_sig: i32) {
    ALRM_COUNT.fetch_add(1, SeqCst);
    let _ = kill(VICTIM.load(SeqCst) as isize, SIGKILL);
}

/// Where a child's SIGSEGV/SIGILL handler reports (a MAP_SHARED page).
static REPORT: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_fault(sig: i32, info: *mut SigInfo, _uc: *mut c_void) {
    // SAFETY: the kernel passes a valid siginfo; REPORT is a live shared page.
    unsafe {
        let info = &*info;
        let r = REPORT.load(SeqCst) as *mut usize;
        r.write_volatile(info.signo as usize);
        r.add(1).write_volatile(info.code as usize);
        r.add(2).write_volatile(info.addr());
    }
    // Returning would re-run the faulting instruction.
    exit_now(if sig == SIGSEGV { 42 } else { 43 });
}

static TICK: AtomicU32 = AtomicU32::new(0);

extern "C" fn on_tick(_sig: i32) {
    TICK.store(1, SeqCst);
}

fn sleep_forever() -> ! {
    loop {
        let _ = nanosleep_ns(1_000_000_000);
    }
}

fn spawn(f: fn() -> !) -> usize {
    match fork() {
        Ok(0) => f(),
        Ok(pid) => pid,
        Err(e) => {
            check_detail("fork", false, format_args!("{}", name(e)));
            exit(finish())
        }
    }
}

fn main(_args: Args) -> i32 {
    let me = getpid();
    handlers_and_siginfo(me);
    masks();
    sigchld();
    alarm_times_out_a_child();
    child_signals_parent_in_wait4();
    process_groups();
    handled_faults();
    async_signal_keeps_registers();
    finish()
}

fn handlers_and_siginfo(me: usize) {
    expect_ok(
        "rt_sigaction(SIGUSR1, SA_SIGINFO handler)",
        signal_info(SIGUSR1, on_info, 0),
    );
    check(
        "kill(getpid(), SIGUSR1) -> 0",
        kill(me as isize, SIGUSR1) == Ok(0),
    );
    check(
        "the handler ran once before kill returned",
        INFO_COUNT.load(SeqCst) == 1,
    );
    check(
        "handler's first argument is 10 (SIGUSR1)",
        INFO_ARG.load(SeqCst) == SIGUSR1,
    );
    check("si_signo == SIGUSR1", INFO_SIGNO.load(SeqCst) == SIGUSR1);
    check_detail(
        "si_code == SI_USER (0)",
        INFO_CODE.load(SeqCst) == SI_USER,
        format_args!("{}", INFO_CODE.load(SeqCst)),
    );
    check("si_pid == getpid()", INFO_PID.load(SeqCst) == me as i32);
    check("si_uid == 0", INFO_UID.load(SeqCst) == 0);
    check(
        "SIGUSR1 is blocked while its handler runs",
        INFO_MASK.load(SeqCst) as u64 & sigbit(SIGUSR1) != 0,
    );
    check(
        "and unblocked again after rt_sigreturn",
        rt_sigprocmask(SIG_BLOCK, None).map(|m| m & sigbit(SIGUSR1)) == Ok(0),
    );
    let mut old = KSigAction::default();
    let r = rt_sigaction(SIGUSR1, None, Some(&mut old));
    check(
        "rt_sigaction reads back the handler and SA_SIGINFO|SA_RESTORER",
        r == Ok(0)
            && old.handler == info_handler_addr(on_info)
            && old.flags & (SA_SIGINFO | SA_RESTORER) == SA_SIGINFO | SA_RESTORER,
    );

    expect_ok(
        "rt_sigaction(SIGUSR2, one-argument handler)",
        signal(SIGUSR2, on_simple, 0),
    );
    let _ = kill(me as isize, SIGUSR2);
    check(
        "one-argument handler got 12 (SIGUSR2)",
        SIMPLE_SIG.load(SeqCst) == SIGUSR2 && SIMPLE_COUNT.load(SeqCst) == 1,
    );

    // sa_mask and SA_NODEFER.
    let _ = sigaction(
        SIGUSR1,
        info_handler_addr(on_info),
        SA_SIGINFO,
        sigbit(SIGUSR2),
    );
    let _ = kill(me as isize, SIGUSR1);
    let m = INFO_MASK.load(SeqCst) as u64;
    check(
        "sa_mask (SIGUSR2) is blocked while the handler runs, with the signal",
        m & sigbit(SIGUSR2) != 0 && m & sigbit(SIGUSR1) != 0,
    );
    let _ = sigaction(
        SIGUSR1,
        info_handler_addr(on_info),
        SA_SIGINFO | SA_NODEFER,
        0,
    );
    let _ = kill(me as isize, SIGUSR1);
    check(
        "SA_NODEFER: the signal is not blocked in its handler",
        INFO_MASK.load(SeqCst) as u64 & sigbit(SIGUSR1) == 0,
    );

    // SA_RESETHAND: one delivery, then SIG_DFL.
    let _ = signal(SIGUSR2, on_simple, SA_RESETHAND);
    let _ = kill(me as isize, SIGUSR2);
    let mut old = KSigAction::default();
    let _ = rt_sigaction(SIGUSR2, None, Some(&mut old));
    check(
        "SA_RESETHAND: the handler ran, then the action is SIG_DFL",
        SIMPLE_COUNT.load(SeqCst) == 2 && old.handler == SIG_DFL,
    );

    expect_err(
        "rt_sigaction(SIGKILL, handler) -> EINVAL",
        signal(SIGKILL, on_simple, 0),
        EINVAL,
    );
    expect_err(
        "rt_sigaction(SIGSTOP, handler) -> EINVAL",
        signal(SIGSTOP, on_simple, 0),
        EINVAL,
    );
    expect_err("kill(self, 65) -> EINVAL", kill(me as isize, 65), EINVAL);
}

fn masks() {
    let me = getpid() as isize;
    let _ = signal_info(SIGUSR1, on_info, 0);
    let before = INFO_COUNT.load(SeqCst);
    let old = rt_sigprocmask(SIG_BLOCK, Some(sigbit(SIGUSR1)));
    check(
        "rt_sigprocmask(SIG_BLOCK, SIGUSR1): old mask had no SIGUSR1",
        old.map(|m| m & sigbit(SIGUSR1)) == Ok(0),
    );
    let _ = kill(me, SIGUSR1);
    let _ = kill(me, SIGUSR1);
    check(
        "blocked SIGUSR1: the handler does not run",
        INFO_COUNT.load(SeqCst) == before,
    );
    check(
        "rt_sigpending shows SIGUSR1",
        rt_sigpending().map(|p| p & sigbit(SIGUSR1)) == Ok(sigbit(SIGUSR1)),
    );
    let old = rt_sigprocmask(SIG_UNBLOCK, Some(sigbit(SIGUSR1)));
    check(
        "SIG_UNBLOCK: old mask had SIGUSR1",
        old.map(|m| m & sigbit(SIGUSR1)) == Ok(sigbit(SIGUSR1)),
    );
    check(
        "unblocking delivers it, once (two kills, one standard signal)",
        INFO_COUNT.load(SeqCst) == before + 1,
    );
    check(
        "nothing pending afterwards",
        rt_sigpending().map(|p| p & sigbit(SIGUSR1)) == Ok(0),
    );

    // rt_sigsuspend: a pending blocked signal is delivered inside it; EINTR; the mask
    // comes back.
    let _ = rt_sigprocmask(SIG_BLOCK, Some(sigbit(SIGUSR1)));
    let _ = kill(me, SIGUSR1);
    let r = rt_sigsuspend(0);
    check(
        "rt_sigsuspend(empty mask) with SIGUSR1 pending -> EINTR, handler ran",
        r == Err(EINTR) && INFO_COUNT.load(SeqCst) == before + 2,
    );
    check(
        "after rt_sigsuspend SIGUSR1 is blocked again",
        rt_sigprocmask(SIG_UNBLOCK, Some(sigbit(SIGUSR1))).map(|m| m & sigbit(SIGUSR1))
            == Ok(sigbit(SIGUSR1)),
    );

    // SIGKILL and SIGSTOP cannot be blocked: silently dropped from the set.
    let _ = rt_sigprocmask(SIG_BLOCK, Some(sigbit(SIGKILL) | sigbit(SIGSTOP)));
    let m = rt_sigprocmask(SIG_BLOCK, None).unwrap_or(u64::MAX);
    check(
        "SIGKILL and SIGSTOP cannot be blocked",
        m & (sigbit(SIGKILL) | sigbit(SIGSTOP)) == 0,
    );
    expect_err(
        "rt_sigprocmask with a bad how -> EINVAL",
        rt_sigprocmask(7, Some(0)).map(|m| m as usize),
        EINVAL,
    );
}

fn sigchld() {
    let _ = signal_info(SIGCHLD, on_info, 0);
    let before = INFO_COUNT.load(SeqCst);
    let pid = spawn(|| exit(3));
    let r = waitpid(pid as isize);
    check(
        "SIGCHLD handler: wait4 reaped the child (exit 3)",
        r.map(|(p, s)| p == pid && wifexited(s) && wexitstatus(s) == 3) == Ok(true),
    );
    check(
        "SIGCHLD handler ran once by then",
        INFO_COUNT.load(SeqCst) == before + 1,
    );
    check(
        "SIGCHLD siginfo: si_signo 17, si_code CLD_EXITED (1), si_pid = child, si_status = 3",
        INFO_SIGNO.load(SeqCst) == SIGCHLD
            && INFO_CODE.load(SeqCst) == CLD_EXITED
            && INFO_PID.load(SeqCst) == pid as i32
            && INFO_STATUS.load(SeqCst) == 3,
    );

    let _ = sigaction(SIGCHLD, SIG_DFL, 0, 0);
    let pid = spawn(|| exit(4));
    let r = waitpid(pid as isize);
    check(
        "SIGCHLD default action: ignored, the parent goes on and reaps (exit 4)",
        r.map(|(p, s)| p == pid && wexitstatus(s) == 4) == Ok(true),
    );

    let _ = sigaction(SIGCHLD, SIG_IGN, 0, 0);
    let pid = spawn(|| exit(5));
    let mut st = 0;
    let r = wait4(pid as isize, &mut st, 0);
    check_detail(
        "SIGCHLD SIG_IGN: the child is reaped automatically, wait4 -> ECHILD",
        r == Err(ECHILD),
        format_args!("{}", Res(r)),
    );
    let _ = sigaction(SIGCHLD, SIG_DFL, 0, 0);
}

/// The harness pattern: a child sleeps forever, the parent sets an alarm and waits in
/// wait4; the SIGALRM handler kills the child.
fn alarm_times_out_a_child() {
    #[cfg(target_arch = "arm")]
    expect_err(
        "ARM EABI: syscall 27 (alarm, OABI only) -> ENOSYS",
        // SAFETY: no memory involved.
        decode(unsafe { syscall1(OABI_ALARM, 0) }),
        ENOSYS,
    );
    check("alarm(5) -> 0 (none pending)", alarm(5) == Ok(0));
    check("alarm(0) -> 5 (the seconds left)", alarm(0) == Ok(5));

    let _ = signal(SIGALRM, on_alarm_kill, 0);
    let pid = spawn(sleep_forever);
    VICTIM.store(pid as i32, SeqCst);
    let t0 = now_ns();
    let _ = alarm(1);
    let mut st = -1;
    let r = wait4(pid as isize, &mut st, 0);
    let dt = now_ns() - t0;
    check_detail(
        "alarm(1), no SA_RESTART: wait4 -> EINTR after >= 1 s",
        r == Err(EINTR) && dt >= 1_000_000_000 && ALRM_COUNT.load(SeqCst) == 1,
        format_args!("{} after {dt} ns", Res(r)),
    );
    let r = wait4(pid as isize, &mut st, 0);
    check_detail(
        "then wait4 reaps the child the handler killed (SIGKILL)",
        r == Ok(pid) && wifsignaled(st) && wtermsig(st) == SIGKILL,
        format_args!("{} {}", Res(r), WaitStatus(st)),
    );

    let _ = signal(SIGALRM, on_alarm_kill, SA_RESTART);
    let pid = spawn(sleep_forever);
    VICTIM.store(pid as i32, SeqCst);
    let t0 = now_ns();
    let it = Itimerval {
        value_usec: 200_000,
        ..Default::default()
    };
    let s = setitimer(ITIMER_REAL, &it, None);
    let r = wait4(pid as isize, &mut st, 0);
    let dt = now_ns() - t0;
    check_detail(
        "setitimer 200 ms, SA_RESTART: wait4 restarts and reaps the killed child",
        s == Ok(0)
            && r == Ok(pid)
            && wtermsig(st) == SIGKILL
            && dt >= 200 * MS
            && ALRM_COUNT.load(SeqCst) == 2,
        format_args!("{} {} after {dt} ns", Res(r), WaitStatus(st)),
    );
    let _ = sigaction(SIGALRM, SIG_DFL, 0, 0);
}

fn child_signals_parent_in_wait4() {
    for restart in [false, true] {
        let _ = signal_info(SIGUSR2, on_info, if restart { SA_RESTART } else { 0 });
        let before = INFO_COUNT.load(SeqCst);
        let pid = spawn(|| {
            let _ = nanosleep_ns(50 * MS);
            let _ = kill(getppid() as isize, SIGUSR2);
            let _ = nanosleep_ns(200 * MS);
            exit(6)
        });
        let mut st = -1;
        let r = wait4(pid as isize, &mut st, 0);
        let handled = INFO_COUNT.load(SeqCst) == before + 1
            && INFO_SIGNO.load(SeqCst) == SIGUSR2
            && INFO_PID.load(SeqCst) == pid as i32;
        if restart {
            check_detail(
                "child kill(getppid(), SIGUSR2) during wait4, SA_RESTART: handled, wait4 restarts",
                handled && r == Ok(pid) && wexitstatus(st) == 6,
                format_args!("{} {}", Res(r), WaitStatus(st)),
            );
        } else {
            check_detail(
                "child kill(getppid(), SIGUSR2) during wait4: handled (si_pid = child), EINTR",
                handled && r == Err(EINTR),
                format_args!("{}", Res(r)),
            );
            let r = waitpid(pid as isize);
            check(
                "then wait4 reaps it (exit 6)",
                r.map(|(p, s)| p == pid && wexitstatus(s) == 6) == Ok(true),
            );
        }
    }
    let _ = sigaction(SIGUSR2, SIG_DFL, 0, 0);
}

fn process_groups() {
    let own = getpgid(0);
    check("getpgid(0) succeeds", own.is_ok());
    println!("# getpgid(0) = {}", Res(own));
    let a = spawn(|| {
        let _ = setpgid(0, 0);
        sleep_forever()
    });
    let _ = setpgid(a, a);
    let b = match fork() {
        Ok(0) => {
            let _ = setpgid(0, a);
            sleep_forever()
        }
        Ok(pid) => pid,
        Err(_) => return,
    };
    let _ = setpgid(b, a);
    let c = spawn(sleep_forever);
    check(
        "setpgid(0, 0) in a child: getpgid(child) == child",
        getpgid(a) == Ok(a),
    );
    check(
        "a second child joins that group: getpgid == first child",
        getpgid(b) == Ok(a),
    );
    check(
        "a third child stays in the parent's group",
        getpgid(c) == own,
    );
    check(
        "kill(-pgid, SIGTERM) -> 0",
        kill(-(a as isize), SIGTERM) == Ok(0),
    );
    let ra = waitpid(a as isize);
    let rb = waitpid(b as isize);
    check(
        "both group members die of SIGTERM (15)",
        ra.map(|(p, s)| p == a && wtermsig(s) == SIGTERM) == Ok(true)
            && rb.map(|(p, s)| p == b && wtermsig(s) == SIGTERM) == Ok(true),
    );
    let mut st = 0;
    check(
        "the child outside the group is still alive (wait4 WNOHANG -> 0)",
        wait4(c as isize, &mut st, WNOHANG) == Ok(0),
    );
    let _ = kill(c as isize, SIGKILL);
    check(
        "then SIGKILL reaps it",
        waitpid(c as isize).map(|(_, s)| wtermsig(s)) == Ok(SIGKILL),
    );
    expect_err(
        "kill(-pgid) of a group that no longer exists -> ESRCH",
        kill(-(a as isize), SIGTERM),
        ESRCH,
    );
    expect_err("getpgid(reaped pid) -> ESRCH", getpgid(a), ESRCH);
}

fn handled_faults() {
    let Ok(report) = mmap(
        0,
        PAGE,
        PROT_READ | PROT_WRITE,
        MAP_SHARED | MAP_ANONYMOUS,
        -1,
        0,
    ) else {
        check("mmap report page", false);
        return;
    };
    REPORT.store(report, SeqCst);
    let rd = |i: usize| {
        // SAFETY: the shared report page.
        unsafe { (report as *const usize).add(i).read_volatile() }
    };

    let pid = spawn(|| {
        let _ = signal_info(SIGSEGV, on_fault, 0);
        fault::read(0x10);
        exit(1)
    });
    let r = waitpid(pid as isize);
    check(
        "handled SIGSEGV: the handler _exit(42)s",
        r.map(|(_, s)| wifexited(s) && wexitstatus(s) == 42) == Ok(true),
    );
    check_detail(
        "SIGSEGV siginfo: si_signo 11, si_code SEGV_MAPERR (1), si_addr 0x10",
        rd(0) == SIGSEGV as usize && rd(1) == SEGV_MAPERR as usize && rd(2) == 0x10,
        format_args!("{} {} {:#x}", rd(0), rd(1), rd(2)),
    );

    let ro = mmap_anon(PAGE, PROT_READ).unwrap_or(0);
    let pid = spawn(|| {
        let _ = signal_info(SIGSEGV, on_fault, 0);
        let ro = mmap_anon(PAGE, PROT_READ).unwrap_or(0);
        // SAFETY: the report page.
        unsafe {
            (REPORT.load(SeqCst) as *mut usize)
                .add(3)
                .write_volatile(ro)
        };
        fault::write(ro + 8, 1);
        exit(1)
    });
    let r = waitpid(pid as isize);
    let _ = munmap(ro, PAGE);
    check_detail(
        "handled SIGSEGV on a read-only page: si_code SEGV_ACCERR (2), si_addr = the word",
        r.map(|(_, s)| wexitstatus(s)) == Ok(42)
            && rd(1) == SEGV_ACCERR as usize
            && rd(2) == rd(3) + 8,
        format_args!("{} {:#x} (page {:#x})", rd(1), rd(2), rd(3)),
    );

    let pid = spawn(|| {
        let _ = signal_info(SIGILL, on_fault, 0);
        fault::undef();
        exit(1)
    });
    let r = waitpid(pid as isize);
    check_detail(
        "handled SIGILL: si_signo 4, si_code ILL_ILLOPC (1), the handler _exit(43)s",
        r.map(|(_, s)| wexitstatus(s)) == Ok(43)
            && rd(0) == SIGILL as usize
            && rd(1) == ILL_ILLOPC as usize,
        format_args!("{} {} {:#x}", rd(0), rd(1), rd(2)),
    );
}

#[inline(never)]
fn mix(n: u64) -> [u32; 4] {
    let (mut a, mut b, mut c, mut d) = (1u32, 2u32, 3u32, 4u32);
    for i in 0..n {
        a = a.wrapping_mul(31).wrapping_add(b ^ i as u32);
        b ^= a.rotate_left(5);
        c = c.wrapping_add(a ^ d);
        d = d.wrapping_sub(b).rotate_right(3);
    }
    [a, b, c, d]
}

fn async_signal_keeps_registers() {
    let _ = signal(SIGALRM, on_tick, 0);
    TICK.store(0, SeqCst);
    let it = Itimerval {
        value_usec: 30_000,
        ..Default::default()
    };
    let _ = setitimer(ITIMER_REAL, &it, None);
    let (mut a, mut b, mut c, mut d) = (1u32, 2u32, 3u32, 4u32);
    let mut n = 0u64;
    while TICK.load(SeqCst) == 0 {
        a = a.wrapping_mul(31).wrapping_add(b ^ n as u32);
        b ^= a.rotate_left(5);
        c = c.wrapping_add(a ^ d);
        d = d.wrapping_sub(b).rotate_right(3);
        n += 1;
    }
    let want = mix(n);
    check_detail(
        "SIGALRM interrupting a register-only loop: every register restored",
        [a, b, c, d] == want && n > 0,
        format_args!("{n} iterations: {:x?} vs {:x?}", [a, b, c, d], want),
    );
    let _ = sigaction(SIGALRM, SIG_DFL, 0, 0);
}
