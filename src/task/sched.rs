//! The scheduler and the process syscalls (target only: they switch
//! kernel stacks). One CPU; the kernel runs with interrupts masked, so a
//! process only leaves the CPU where it chooses to (a blocking syscall,
//! exit, or the return to user mode after the timer asked for it), and
//! the one lock ([`KERNEL`]) is never held across a switch.
//!
//! Each process has its own kernel stack; its user registers are the
//! exception frame at the top of it. The scheduler loop runs on the boot
//! stack and is switched to and from like a process (xv6's design).
//! Interrupts are taken only from user mode; when nothing is runnable the
//! loop waits with `wfi` (interrupts masked: a pending one still wakes
//! the core) and polls the interrupt controller.

use super::process::{
    self, exit_status, signal_status, FutexKey, KStack, State, Target, Wait, Wake,
};
use super::signal::{self, SigInfo, SIGALRM, SIGCHLD, SIGKILL};
use super::{ExecError, Sys, Task, KERNEL};
use crate::arch::current::proc as arch;
use crate::arch::current::proc::Frame;
use crate::errno::Errno;
use crate::kprintln;
use crate::mm::asid::AsidAllocator;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};

/// The scheduler loop's saved kernel sp while a process runs.
static mut SCHED_SP: usize = 0;

/// ASIDs by generation (`mm::asid`): a process keeps its ASID across
/// switches, so an ordinary switch needs no TLB maintenance.
static ASIDS: spin::Mutex<Option<AsidAllocator>> = spin::Mutex::new(None);

/// `armmu.asid_bits=N` on the command line: use fewer ASIDs than the
/// hardware has (tests of the rollover on CPUs with 65536).
pub static ASID_BITS_CAP: AtomicU32 = AtomicU32::new(16);

/// Install `t`'s address space with its ASID (a fresh one if its
/// generation is stale; the whole TLB is flushed at a rollover).
fn activate(t: &mut Task) {
    let mut g = ASIDS.lock();
    let alloc = g.get_or_insert_with(|| {
        let bits = arch::asid_bits().min(ASID_BITS_CAP.load(Ordering::Relaxed));
        AsidAllocator::new(bits.clamp(2, 16)).unwrap_or_else(|_| {
            // 8 bits is valid on both architectures.
            AsidAllocator::new(8).expect("8-bit ASIDs")
        })
    });
    let (asid, flush_all) = alloc.activate(&mut t.asid);
    let rollovers = alloc.rollovers();
    drop(g);
    if flush_all {
        kprintln!(
            "asid: rollover {rollovers} (generation {}): TLB flushed",
            rollovers + 1
        );
    }
    arch::activate(t, asid, flush_all);
}

/// Time slice: 10 ms (Linux's CONFIG_HZ=100 tick).
const SLICE_HZ: u64 = 100;

/// Linux's internal restart codes as a syscall returns them (never seen
/// by user space): the signal code turns them into `EINTR` or a restart.
pub const ERESTARTSYS: isize = -(signal::ERESTARTSYS as isize);
pub const ERESTARTNOHAND: isize = -(signal::ERESTARTNOHAND as isize);

fn ticks_per_sec() -> u64 {
    crate::arch::current::timer::frequency().max(1)
}

fn now() -> u64 {
    crate::arch::counter()
}

/// Start `path` as pid 1 and run processes until it ends; everything
/// left is then killed and reaped. Returns init's wait status.
pub fn run_init(path: &str, argv: &[&[u8]], envp: &[&[u8]]) -> Result<i32, String> {
    let mmu = arch::new_mmu().map_err(|e| String::from(e.name()))?;
    let (mut task, entry, sp) =
        Task::exec(1, path, argv, envp, arch::layout(), mmu).map_err(|e| e.msg)?;
    let kstack = KStack::new().map_err(|e| String::from(e.name()))?;
    task.ksp = arch::new_task_stack(kstack.top(), &Frame::for_entry(entry, sp));
    task.kstack = Some(kstack);
    task.state = State::Runnable;
    {
        let mut k = KERNEL.lock();
        let _ = k.alloc_pid();
        let task = match process::try_box(task) {
            Ok(b) => b,
            Err(mut t) => {
                t.teardown();
                return Err(String::from(Errno::ENOMEM.name()));
            }
        };
        if let Err((e, mut t)) = k.insert(task) {
            t.teardown();
            return Err(String::from(e.name()));
        }
    }
    crate::drivers::tick::start(ticks_per_sec() / SLICE_HZ);
    let status = schedule();
    crate::drivers::tick::stop();
    // Init is gone: kill the rest, as Linux's shutdown would.
    let rest: Vec<Box<Task>> = {
        let mut k = KERNEL.lock();
        let pids: Vec<u32> = k.iter().map(|t| t.pid).collect();
        pids.into_iter().filter_map(|p| k.remove(p)).collect()
    };
    for mut t in rest {
        t.teardown();
    }
    Ok(status)
}

/// The scheduler loop (on the boot stack): round-robin over runnable
/// processes until init is a zombie.
fn schedule() -> i32 {
    let mut last = 0;
    loop {
        let next = {
            let k = KERNEL.lock();
            if let Some(State::Zombie(s)) = k.get(1).map(|t| t.state) {
                return s;
            }
            k.pick_next(last)
        };
        let Some(pid) = next else {
            crate::drivers::tick::idle_wait();
            handle_interrupts();
            // Also without an interrupt (none routed, or it raced the
            // wait): deadlines are checked against the counter here.
            expire_timers(&mut KERNEL.lock(), now());
            continue;
        };
        let ksp = {
            let mut k = KERNEL.lock();
            k.current = pid;
            RUNNING_PID.store(pid, Ordering::Relaxed);
            k.need_resched = false;
            let Some(t) = k.get_mut(pid) else { continue };
            activate(t);
            arch::restore_fp(&t.fp);
            t.ksp
        };
        // SAFETY: `ksp` was saved by `switch` (or built by
        // `new_task_stack`) on this process's live kernel stack; the
        // process comes back here through `switch_out`.
        unsafe { arch::switch(core::ptr::addr_of_mut!(SCHED_SP), ksp) };
        last = pid;
        let gone = {
            let mut k = KERNEL.lock();
            k.current = 0;
            RUNNING_PID.store(0, Ordering::Relaxed);
            // Off its kernel stack now: an auto-reaped process can go.
            match k.get(pid).map(|t| t.state) {
                Some(State::Reaped) => k.remove(pid),
                _ => None,
            }
        };
        drop(gone);
    }
}

/// Leave the CPU to the scheduler (the caller has set its state). Returns
/// when the scheduler picks this process again.
fn switch_out() {
    let slot: *mut usize = {
        let mut k = KERNEL.lock();
        let Some(t) = k.current_mut() else { return };
        if !t.kstack.as_ref().is_none_or(KStack::intact) {
            panic!("kernel stack overflow in process {} ({})", t.pid, t.name);
        }
        arch::save_fp(&mut t.fp);
        &mut t.ksp
    };
    // SAFETY: the slot is in this process's boxed Task, which lives until
    // its parent reaps it (never while it runs); SCHED_SP was saved when
    // the scheduler switched here.
    unsafe { arch::switch(slot, SCHED_SP) };
}

/// Sleep for `why` (optionally until `deadline`), unless a signal is
/// already pending. Returns what woke the process.
fn sleep(why: Wait, deadline: Option<u64>) -> Wake {
    {
        let mut k = KERNEL.lock();
        let Some(t) = k.current_mut() else {
            return Wake::Interrupted;
        };
        if t.signals.has_deliverable() {
            return Wake::Interrupted;
        }
        t.state = State::Sleeping(why);
        t.wake = Wake::None;
        t.deadline = deadline;
        if let Some(d) = deadline {
            crate::drivers::tick::set_deadline(d.min(now() + ticks_per_sec() / SLICE_HZ));
        }
    }
    switch_out();
    let mut k = KERNEL.lock();
    let Some(t) = k.current_mut() else {
        return Wake::Interrupted;
    };
    t.deadline = None;
    core::mem::replace(&mut t.wake, Wake::None)
}

/// Acknowledge and handle every pending interrupt (the timer: wake
/// sleepers, fire alarms, end the time slice; the console UART: input
/// into the line discipline).
pub fn handle_interrupts() {
    while let Some(irq) = crate::drivers::tick::acknowledge() {
        if crate::drivers::tick::is_timer(irq) {
            tick();
        } else if crate::console::is_rx_irq(irq) {
            console_input();
        }
        crate::drivers::tick::end(irq);
    }
}

/// Take what the console UART received (the receive interrupt, or a
/// poll before a console read or poll): wake the terminal's readers and
/// pollers, send the signal characters' signals to the foreground
/// process group. Init is spared a signal it has no handler for (Linux's
/// SIGNAL_UNKILLABLE: `^C` does not end the machine's init).
fn console_input() {
    let input = crate::console::receive();
    if !input.wake && input.signals == 0 {
        return;
    }
    let mut k = KERNEL.lock();
    if input.wake {
        k.wake_pipe(Some(super::tty::WAIT_KEY));
    }
    if input.signals == 0 || input.fg_pgrp == 0 {
        return;
    }
    // Each member in pid order, without allocating (interrupt path).
    let alive = |t: &Task| !matches!(t.state, State::Zombie(_) | State::Reaped);
    let mut last = 0;
    while let Some(pid) = k
        .iter()
        .filter(|t| t.pgid == input.fg_pgrp && t.pid > last && alive(t))
        .map(|t| t.pid)
        .min()
    {
        last = pid;
        for sig in 1..=64u32 {
            if input.signals & (1 << (sig - 1)) == 0 {
                continue;
            }
            let spared = pid == 1
                && k.get(1)
                    .is_some_and(|t| t.signals.action(sig).handler == signal::SIG_DFL);
            if !spared {
                send_signal(&mut k, pid, sig);
            }
        }
    }
}

fn tick() {
    let t = now();
    let mut k = KERNEL.lock();
    expire_timers(&mut k, t);
    k.need_resched = true;
    let slice_end = t + ticks_per_sec() / SLICE_HZ;
    let next = k.next_event().map_or(slice_end, |e| e.min(slice_end));
    crate::drivers::tick::set_deadline(next);
}

/// Wake sleepers whose deadline passed and send due SIGALRMs.
fn expire_timers(k: &mut process::Procs, t: u64) {
    k.expire(t);
    let mut alarms: Vec<u32> = Vec::new();
    for p in k.iter_mut() {
        if let Some((at, interval)) = p.alarm {
            if at <= t {
                p.alarm = if interval > 0 {
                    Some((t + interval, interval))
                } else {
                    None
                };
                if alarms.try_reserve(1).is_ok() {
                    alarms.push(p.pid);
                }
            }
        }
    }
    for pid in alarms {
        send_signal(k, pid, SIGALRM);
    }
}

/// Send `sig` from the kernel (SIGALRM, SIGCHLD...) to `pid`.
pub fn send_signal(k: &mut process::Procs, pid: u32, sig: u32) {
    send_signal_info(k, pid, sig, SigInfo::kernel(sig));
}

/// Mark `sig` pending for `pid` and wake it if it sleeps (every sleep
/// here is interruptible). Ignored signals are dropped by the rules
/// (`Signals::send`).
pub fn send_signal_info(k: &mut process::Procs, pid: u32, sig: u32, info: SigInfo) {
    let Some(t) = k.get_mut(pid) else { return };
    if matches!(t.state, State::Zombie(_) | State::Embryo) {
        return;
    }
    if t.signals.send(sig, info).is_ok() && t.signals.has_deliverable() {
        k.interrupt(pid);
    }
}

/// The current process ends with `status` (a `wait4` status word): its
/// memory goes now, the rest when the parent reaps it.
pub fn exit_current(status: i32) -> ! {
    {
        let mut k = KERNEL.lock();
        let me = k.current;
        if let Some(t) = k.current_mut() {
            t.teardown();
            t.fds.clear();
            t.alarm = None;
            // Still installed: the allocator keeps it until the next
            // rollover; otherwise its entries go now.
            if let Some(asid) = ASIDS.lock().as_mut().and_then(|a| a.release(&mut t.asid)) {
                arch::flush_asid(asid);
            }
        }
        // Its pipe ends are gone: their sleepers try again.
        k.wake_pipe(None);
        let ppid = k.make_zombie(me, status);
        // A parent that ignores SIGCHLD (or set SA_NOCLDWAIT) leaves no
        // zombie: wait4 then sees no such child (ECHILD), as on Linux.
        let autoreap = ppid.and_then(|p| k.get(p)).is_some_and(|p| {
            let a = p.signals.action(SIGCHLD);
            a.handler == signal::SIG_IGN || a.flags & signal::SA_NOCLDWAIT != 0
        });
        if autoreap {
            if let Some(t) = k.get_mut(me) {
                t.state = State::Reaped;
            }
        }
        if let Some(ppid) = ppid {
            // si_code: CLD_EXITED (1) or CLD_KILLED (2).
            let (code, st) = if status & 0x7f == 0 {
                (1, (status >> 8) & 0xff)
            } else {
                (2, status & 0x7f)
            };
            let info = SigInfo::child(code, me, 0, st, 0, 0);
            send_signal_info(&mut k, ppid, SIGCHLD, info);
        }
    }
    arch::deactivate();
    switch_out();
    unreachable_exit()
}

fn unreachable_exit() -> ! {
    // A zombie is never picked again; if it were, stop loudly.
    panic!("a zombie process was scheduled")
}

/// Return a syscall's result, or the errno.
fn ret(r: Result<usize, Errno>) -> isize {
    match r {
        Ok(v) => v as isize,
        Err(e) => e.as_return(),
    }
}

/// A syscall interrupted by a signal: Linux's restart code and the first
/// argument, which the return value overwrote (needed to restart it).
#[derive(Clone, Copy, Debug)]
pub struct Restart {
    pub code: isize,
    pub arg0: usize,
}

/// The running process's pid, kept beside `KERNEL.current` (one CPU) so
/// the identity syscalls need no lock.
static RUNNING_PID: AtomicU32 = AtomicU32::new(0);

/// The syscalls that only read the caller's identity, answered at the
/// exception entry without the kernel lock, the process table or the
/// return-path checks: they change nothing a check could find (a signal
/// or a reschedule that arrives meanwhile is an interrupt, whose own
/// return path handles it). `getpid` on Linux costs 9 ticks on ARMv7-A;
/// through the general path here it costs 23 (the lock, the process
/// lookup, the fault-injection and truncation hooks, the return checks).
/// `nr` is the raw number; `ids` the ABI's numbers of the calls this
/// answers ([`FastNumbers::of`]).
#[inline(always)]
pub fn fast_syscall(nr: usize, ids: FastNumbers) -> Option<isize> {
    // One thread per process: the thread id is the process id.
    if nr == ids.getpid || nr == ids.gettid {
        match RUNNING_PID.load(Ordering::Relaxed) {
            0 => None,
            pid => Some(pid as isize),
        }
    } else {
        None
    }
}

/// An ABI's numbers for [`fast_syscall`], computed at compile time.
#[derive(Clone, Copy)]
pub struct FastNumbers {
    getpid: usize,
    gettid: usize,
}

impl FastNumbers {
    pub const fn of(table: &[(usize, Sys)]) -> FastNumbers {
        use crate::syscall::abi::number;
        FastNumbers {
            getpid: number(table, Sys::GetPid),
            gettid: number(table, Sys::Gettid),
        }
    }
}

/// One syscall from the current process, its result written into
/// `frame` (or the frame replaced, for `execve`/`rt_sigreturn`). Returns
/// the restart information if it was interrupted.
pub fn syscall(frame: &mut Frame, sys: Sys, a: [usize; 6]) -> After {
    // The calls that only touch the caller (most of them): one lock for
    // the call and for what the return to user mode must know.
    if is_own(sys) {
        let mut k = KERNEL.lock();
        let resched = k.need_resched;
        // A driver's mmap must know what EVERY process maps of its
        // memory now (mismatched attributes): collected here, where all
        // processes are reachable.
        let seen = match sys {
            Sys::Mmap | Sys::Mmap2 => super::devio::mapped_everywhere(&k, a[4] as i32),
            _ => None,
        };
        let Some(t) = k.current_mut() else {
            return After::CHECK;
        };
        if sys == Sys::Read && t.other_proc_maps(a[0] as i32).is_some() {
            drop(k);
            frame.set_result(ret(read_other_maps(a)));
            return After::CHECK;
        }
        // Console reads may sleep; TIOCSPGRP needs the process table.
        if sys == Sys::Read && t.fd(a[0] as i32).is_ok_and(|f| f.is_console()) {
            drop(k);
            return console_read_syscall(frame, a);
        }
        if sys == Sys::Ioctl
            && a[1] as u32 == super::tty::TIOCSPGRP
            && t.fd(a[0] as i32).is_ok_and(|f| f.is_console())
        {
            drop(k);
            frame.set_result(ret(tiocspgrp(a)));
            return After::CHECK;
        }
        // Pipe reads and writes may sleep: the scheduler's loop.
        if matches!(sys, Sys::Read | Sys::Write)
            && t.fd(a[0] as i32).is_ok_and(|f| f.pipe_end().is_some())
        {
            drop(k);
            return pipe_syscall(frame, sys, a);
        }
        let out = match seen {
            Some(seen) => t.mmap_syscall_seen(sys, a, seen),
            None => t.syscall(sys, a),
        };
        let check = resched || t.signals.needs_attention();
        // Closing an fd may close a pipe end: its sleepers try again.
        if sys == Sys::Close {
            k.wake_pipe(None);
        }
        apply_truncation(&mut k);
        drop(k);
        match out {
            super::Outcome::Return(r) => frame.set_result(r),
            super::Outcome::Exit(code) => exit_current(exit_status(code)),
        }
        return After {
            restart: None,
            check,
        };
    }
    let r: isize = match sys {
        Sys::Exit | Sys::ExitGroup => exit_current(exit_status(a[0] as i32)),
        Sys::Fork | Sys::Vfork => ret(fork(frame).and_then(fs_forked)),
        Sys::Clone => ret(clone(frame, a).and_then(fs_forked)),
        Sys::Execve => match execve(frame, a) {
            Ok(()) => return After::CHECK,
            Err(e) => e.as_return(),
        },
        Sys::Wait4 => wait4(a),
        Sys::GetPpid => ret(with_me(|t| Ok(t.ppid as usize))),
        Sys::Gettid => ret(with_me(|t| Ok(t.pid as usize))),
        Sys::GetId => 0,
        Sys::Kill => ret(kill(a[0] as i32, a[1] as u32)),
        Sys::Tgkill => ret(tgkill(a[0] as i32, a[1] as i32, a[2] as u32)),
        Sys::SchedYield => {
            KERNEL.lock().need_resched = true;
            0
        }
        Sys::Nanosleep => nanosleep(a[0], a[1]),
        Sys::ClockNanosleep => clock_nanosleep(a, arch::NATIVE_TIME64),
        Sys::ClockNanosleep64 => clock_nanosleep(a, true),
        Sys::ClockGettime => ret(clock_gettime(a[0], a[1], arch::NATIVE_TIME64)),
        Sys::ClockGettime64 => ret(clock_gettime(a[0], a[1], true)),
        Sys::Uname => ret(uname(a[0])),
        Sys::Setpgid => ret(setpgid(a[0] as i32, a[1] as i32)),
        Sys::Getpgid => ret(getpgid(a[0] as i32)),
        Sys::Getpgrp => ret(getpgid(0)),
        Sys::Setsid => ret(setsid()),
        Sys::Setitimer => ret(setitimer(a[0] as i32, a[1], a[2])),
        Sys::Getitimer => ret(getitimer(a[0] as i32, a[1])),
        Sys::Futex => futex(a, arch::NATIVE_TIME64),
        Sys::FutexTime64 => futex(a, true),
        Sys::Pause => pause(),
        Sys::RtSigaction
        | Sys::RtSigprocmask
        | Sys::RtSigreturn
        | Sys::Sigreturn
        | Sys::RtSigpending
        | Sys::RtSigsuspend => match super::delivery::syscall(frame, sys, a) {
            Some(r) => r,
            None => return After::CHECK,
        },
        Sys::Poll => poll(a, PollTimeout::Millis),
        Sys::Ppoll => poll(a, PollTimeout::Timespec(arch::NATIVE_TIME64)),
        Sys::PpollTime64 => poll(a, PollTimeout::Timespec(true)),
        // Replacing an fd may close a pipe end: its sleepers try again.
        Sys::Dup2 | Sys::Dup3 => {
            let r = with_current_ret(sys, a);
            KERNEL.lock().wake_pipe(None);
            r
        }
        Sys::Truncate | Sys::Truncate64 | Sys::Ftruncate | Sys::Ftruncate64 => {
            let r = with_current_ret(sys, a);
            apply_truncation(&mut KERNEL.lock());
            r
        }
        _ => with_current_ret(sys, a),
    };
    frame.set_result(r);
    After {
        restart: (r == ERESTARTSYS || r == ERESTARTNOHAND).then_some(Restart {
            code: r,
            arg0: a[0],
        }),
        check: true,
    }
}

/// What the return to user mode after a syscall must do.
#[derive(Clone, Copy, Debug)]
pub struct After {
    /// The syscall was interrupted: restart it or fail with EINTR.
    pub restart: Option<Restart>,
    /// A switch or a signal may be due (false only when known not).
    pub check: bool,
}

impl After {
    pub const CHECK: After = After {
        restart: None,
        check: true,
    };
}

/// Syscalls the task performs on itself alone (`Task::syscall`): no
/// other process, no sleeping, no signal sent.
fn is_own(sys: Sys) -> bool {
    matches!(
        sys,
        Sys::Read
            | Sys::Write
            | Sys::Writev
            | Sys::Open
            | Sys::OpenAt
            | Sys::Close
            | Sys::GetPid
            | Sys::Ioctl
            | Sys::Brk
            | Sys::Munmap
            | Sys::Mprotect
            | Sys::Mmap2
            | Sys::Mmap
            | Sys::Madvise
            | Sys::Mremap
            | Sys::SetTidAddress
    )
}

/// A file the syscall just run shrank: its pages past the new end leave
/// every other process's mappings too (the caller's are gone already).
/// Unmapping another address space invalidates its TLB entries by its
/// own ASID (the table engine's break-before-make), as a reaped
/// process's teardown does.
fn apply_truncation(k: &mut super::process::Procs) {
    let Some((obj, first)) = super::truncated() else {
        return;
    };
    let me = k.current;
    for t in k.iter_mut().filter(|t| t.pid != me) {
        if !matches!(t.state, State::Zombie(_) | State::Reaped) {
            t.space.truncate_mappings(t.mmu.as_mut(), obj, first);
        }
    }
}

/// A syscall of the task itself (`Task::syscall`) outside the one-lock
/// fast path.
fn with_current_ret(sys: Sys, a: [usize; 6]) -> isize {
    match super::with_current(|t| t.syscall(sys, a)) {
        Some(super::Outcome::Return(r)) => r,
        Some(super::Outcome::Exit(code)) => exit_current(exit_status(code)),
        None => Errno::ESRCH.as_return(),
    }
}

/// The fs context (cwd, umask) of a forked child is its parent's.
fn fs_forked(child: usize) -> Result<usize, Errno> {
    let k = KERNEL.lock();
    super::fsctx::forked(k.current, child as u32, |p| k.get(p).is_some())?;
    Ok(child)
}

/// read/write of a pipe end (`pipe_rw`), its result and restart.
fn pipe_syscall(frame: &mut Frame, sys: Sys, a: [usize; 6]) -> After {
    slept(frame, pipe_rw(sys == Sys::Write, a), a)
}

/// The result `r` of a call that may have slept (a pipe or console
/// read/write): restarted if a signal interrupted it (`ERESTARTSYS`).
fn slept(frame: &mut Frame, r: isize, a: [usize; 6]) -> After {
    frame.set_result(r);
    After {
        restart: (r == ERESTARTSYS).then_some(Restart {
            code: r,
            arg0: a[0],
        }),
        check: true,
    }
}

/// read(2)/write(2) of a pipe end: step, and sleep while nothing can
/// move (`Wait::Pipe`); every step that moved bytes wakes the other
/// side. A signal ends the sleep: `ERESTARTSYS`, or the bytes written
/// so far; a write with no reader is `EPIPE` and `SIGPIPE`.
fn pipe_rw(write: bool, a: [usize; 6]) -> isize {
    use super::PipeStep;
    let (fd, buf, len) = (a[0] as i32, a[1], a[2]);
    let mut done = 0usize;
    loop {
        let step = with_me(|t| t.pipe_step(write, fd, buf + done, len - done, len));
        match step {
            Err(e) if done == 0 => return e.as_return(),
            Err(_) => return done as isize,
            Ok(PipeStep::Done(n)) => {
                let mut k = KERNEL.lock();
                let key = pipe_key(&k, fd);
                k.wake_pipe(key);
                return n as isize;
            }
            Ok(PipeStep::Moved(n)) => {
                done += n;
                let mut k = KERNEL.lock();
                let key = pipe_key(&k, fd);
                k.wake_pipe(key);
            }
            Ok(PipeStep::Block(key)) => {
                if sleep(Wait::Pipe(key), None) == Wake::Interrupted {
                    return if done > 0 { done as isize } else { ERESTARTSYS };
                }
            }
            Ok(PipeStep::Broken) => {
                let mut k = KERNEL.lock();
                let me = k.current;
                let sig = super::pipe::SIGPIPE;
                send_signal_info(&mut k, me, sig, SigInfo::kernel(sig));
                return if done > 0 {
                    done as isize
                } else {
                    Errno::EPIPE.as_return()
                };
            }
        }
    }
}

/// read(2) of the console: sleep until the line discipline has what
/// the read needs (a line, in canonical mode), woken by the UART's
/// receive interrupt (or at each tick when input is polled). A signal
/// ends the sleep with `ERESTARTSYS`, as n_tty's read.
fn console_read_syscall(frame: &mut Frame, a: [usize; 6]) -> After {
    slept(frame, console_read(a), a)
}

fn console_read(a: [usize; 6]) -> isize {
    use super::tty::ConsoleRead;
    let (fd, buf, len) = (a[0] as i32, a[1], a[2]);
    // VTIME (tenths of a second) runs from the first wait.
    let mut vtime_deadline: Option<u64> = None;
    loop {
        console_input();
        match with_me(|t| t.console_read_step(fd, buf, len)) {
            Err(e) => return e.as_return(),
            Ok(ConsoleRead::Done(n)) => return n as isize,
            Ok(ConsoleRead::Block(vtime)) => {
                if let Some(ds) = vtime {
                    let d = *vtime_deadline.get_or_insert_with(|| {
                        now().saturating_add(ticks_per_sec() * ds as u64 / 10)
                    });
                    if now() >= d {
                        return 0;
                    }
                }
                let tick = now().saturating_add(ticks_per_sec() / SLICE_HZ);
                let polled = (!crate::console::rx_interrupt_routed()).then_some(tick);
                let wake_at = match (vtime_deadline, polled) {
                    (Some(d), Some(p)) => Some(d.min(p)),
                    (d, p) => d.or(p),
                };
                match sleep(Wait::Pipe(super::tty::WAIT_KEY), wake_at) {
                    Wake::Interrupted => return ERESTARTSYS,
                    _ => continue,
                }
            }
        }
    }
}

/// ioctl(fd, TIOCSPGRP, &pgrp): the group must have a process in it.
fn tiocspgrp(a: [usize; 6]) -> Result<usize, Errno> {
    // The groups first: with_me holds the table's lock while the
    // request runs.
    let groups = {
        let k = KERNEL.lock();
        let mut v = Vec::new();
        v.try_reserve_exact(k.len()).map_err(|_| Errno::ENOMEM)?;
        v.extend(
            k.iter()
                .filter(|t| !matches!(t.state, State::Zombie(_) | State::Reaped))
                .map(|t| t.pgid),
        );
        v
    };
    with_me(|t| {
        t.tty_ioctl(a[0] as i32, super::tty::TIOCSPGRP, a[2], |g| {
            groups.contains(&g)
        })
    })
}

/// How a poll call gives its timeout: poll's int milliseconds (< 0:
/// none), or ppoll's `timespec` pointer (32- or 64-bit; NULL: none).
#[derive(Clone, Copy)]
enum PollTimeout {
    Millis,
    Timespec(bool),
}

/// poll / ppoll: scan, and sleep until a pipe changes (`Wait::Pipe(0)`),
/// the deadline passes, or a signal comes (`-ERESTARTNOHAND`: EINTR
/// once a handler ran; ppoll's mask then stays for the handler, as
/// Linux's `restore_saved_sigmask_unless`). Console input wakes nothing,
/// so a poll that waits for it looks again at each tick.
fn poll(a: [usize; 6], how: PollTimeout) -> isize {
    let start = now();
    let setup = with_me(|t| {
        let deadline = match how {
            PollTimeout::Millis => {
                let ms = a[2] as i32;
                (ms >= 0).then(|| start.saturating_add(ns_to_ticks(0, ms as u64 * 1_000_000)))
            }
            PollTimeout::Timespec(t64) if a[2] != 0 => {
                Some(start.saturating_add(read_timespec(t, a[2], t64)?))
            }
            PollTimeout::Timespec(_) => None,
        };
        if matches!(how, PollTimeout::Timespec(_)) && a[3] != 0 {
            super::signal::check_sigsetsize(a[4])?;
            let b = t.read_user(a[3], 8)?;
            let set = u64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8]));
            t.signals.suspend(super::signal::SigSet(set));
        }
        Ok(deadline)
    });
    let deadline = match setup {
        Ok(d) => d,
        Err(e) => return e.as_return(),
    };
    let done = |r: isize| {
        let _ = with_me(|t| {
            t.signals.restore_saved_mask();
            Ok(())
        });
        r
    };
    loop {
        console_input();
        let (ready, console) = match with_me(|t| t.poll_scan(a[0], a[1])) {
            Ok(x) => x,
            Err(e) => return done(e.as_return()),
        };
        if ready > 0 || deadline.is_some_and(|d| now() >= d) {
            return done(ready as isize);
        }
        let tick = now().saturating_add(ticks_per_sec() / SLICE_HZ);
        // Console input wakes pollers by interrupt; without one, look
        // again at each tick.
        let console = console && !crate::console::rx_interrupt_routed();
        let wake_at = match (deadline, console) {
            (Some(d), true) => Some(d.min(tick)),
            (None, true) => Some(tick),
            (d, false) => d,
        };
        if sleep(Wait::Pipe(0), wake_at) == Wake::Interrupted {
            return ERESTARTNOHAND;
        }
    }
}

fn pipe_key(k: &process::Procs, fd: i32) -> Option<usize> {
    let f = k.current()?.fd(fd).ok()?;
    Some(f.pipe_end()?.key())
}

fn other_maps(fd: i32) -> Option<u32> {
    super::with_current(|t| t.other_proc_maps(fd)).flatten()
}

/// read(2) of another process's `/proc/<pid>/maps`.
fn read_other_maps(a: [usize; 6]) -> Result<usize, Errno> {
    let pid = other_maps(a[0] as i32).ok_or(Errno::EBADF)?;
    let text = {
        let k = KERNEL.lock();
        match k.get(pid) {
            Some(t) if !matches!(t.state, State::Zombie(_) | State::Reaped) => {
                super::files::maps_text(t)?
            }
            // A zombie's map is empty, as Linux shows it.
            Some(_) => Vec::new(),
            None => return Err(Errno::ESRCH),
        }
    };
    with_me(|t| t.read_generated(a[0] as i32, &text, a[1], a[2]))
}

fn with_me<R>(f: impl FnOnce(&mut Task) -> Result<R, Errno>) -> Result<R, Errno> {
    super::with_current(f).unwrap_or(Err(Errno::ESRCH))
}

/// Back to user mode: give up the CPU if the time slice is over, then act
/// on pending signals (default action or a handler frame).
pub fn return_to_user(frame: &mut Frame, after: After) {
    if !after.check {
        return;
    }
    let restart = after.restart;
    // The common case, one lock: no switch due, nothing pending.
    let (resched, signals) = {
        let mut k = KERNEL.lock();
        let resched = core::mem::replace(&mut k.need_resched, false);
        let signals = k.current().is_some_and(|t| t.signals.needs_attention());
        (resched, signals)
    };
    if resched {
        switch_out();
    }
    // After a switch, signals may have arrived meanwhile.
    if resched || signals || restart.is_some() {
        super::delivery::deliver(frame, restart);
    }
}

/// A fault the page tables could not resolve: the process gets `sig`
/// (forced: a blocked or ignored fault signal kills, as Linux's
/// `force_sig_fault`).
pub fn fault_signal(frame: &mut Frame, sig: u32, info: &crate::mm::fault::FaultInfo) {
    let handled = super::delivery::force_fault(frame, sig, info);
    if !handled {
        super::current_killed(info);
        exit_current(signal_status(sig));
    }
}

/// Out of frames for an allowed access: killed (SIGKILL), as Linux's
/// OOM killer would.
pub fn oom_kill(info: &crate::mm::fault::FaultInfo) -> ! {
    super::current_oom_killed(info);
    exit_current(signal_status(SIGKILL))
}

fn fork(frame: &Frame) -> Result<usize, Errno> {
    let mut k = KERNEL.lock();
    let pid = k.alloc_pid()?;
    // The child's table slot and its heap slot first: the cheap refusals
    // before the address space is copied.
    k.reserve(1)?;
    let slot = process::try_box_uninit::<Task>().ok_or(Errno::ENOMEM)?;
    let kstack = KStack::new()?;
    let mut child_mmu = arch::new_mmu()?;
    let parent = k.current_mut().ok_or(Errno::ESRCH)?;
    let mut fds = Vec::new();
    fds.try_reserve_exact(parent.fds.len())
        .map_err(|_| Errno::ENOMEM)?;
    fds.extend(parent.fds.iter().cloned());
    let mut name = String::new();
    name.try_reserve_exact(parent.name.len())
        .map_err(|_| Errno::ENOMEM)?;
    name.push_str(&parent.name);
    let space = fork_space(parent, child_mmu.as_mut())?;
    // The parent's FP registers are live in the unit: its copy is the
    // child's starting state.
    arch::save_fp(&mut parent.fp);
    let mut cf = *frame;
    cf.set_result(0);
    let ksp = arch::new_task_stack(kstack.top(), &cf);
    let child = Task::fork_child(slot, parent, pid, name, space, child_mmu, fds, kstack, ksp);
    // Cannot fail: the table's room was reserved above.
    if let Err((e, mut c)) = k.insert(child) {
        c.teardown();
        return Err(e);
    }
    Ok(pid as usize)
}

fn fork_space(
    parent: &mut Task,
    child: &mut dyn crate::mm::space::Mmu,
) -> Result<crate::mm::space::AddressSpace, Errno> {
    let r = parent.space.fork(parent.mmu.as_mut(), child);
    if r.is_ok() {
        // Pages of both may now be copy-on-write.
        parent.cow = true;
    }
    r
}

/// `clone` with fork semantics only: flags must be a plain exit signal
/// (SIGCHLD as glibc's fork uses, or 0), optionally with vfork's
/// CLONE_VM|CLONE_VFORK; thread flags are `EINVAL`.
fn clone(frame: &Frame, a: [usize; 6]) -> Result<usize, Errno> {
    /// CLONE_VM | CLONE_VFORK: vfork as glibc's arm64 vfork() calls it.
    /// Done as a fork (the child gets a copy, the parent is not held until
    /// the child execs or exits): a correct vfork child cannot tell.
    const VFORK: u64 = 0x100 | 0x4000;
    let flags = a[0] as u64 & 0xffff_ffff;
    let exit_signal = flags & 0xff;
    /// CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID: glibc's fork(). The
    /// child's tid is written at `ctid` (a[4], CLONE_BACKWARDS order on
    /// both ABIs); CLEARTID only matters to other threads of the child
    /// (none here), so it is accepted and has nothing to do.
    const CHILD_SETTID: u64 = 0x0100_0000;
    const CHILD_CLEARTID: u64 = 0x0020_0000;
    // PARENT_SETTID, threads: not supported.
    let rest = flags & !0xff & !(CHILD_SETTID | CHILD_CLEARTID);
    if (rest != 0 && rest != VFORK) || a[1] != 0 {
        return Err(Errno::EINVAL);
    }
    if exit_signal != 0 && exit_signal != SIGCHLD as u64 {
        return Err(Errno::EINVAL);
    }
    let child = fork(frame)?;
    if flags & CHILD_SETTID != 0 {
        // Linux ignores a fault here (schedule_tail's put_user).
        if let Some(c) = KERNEL.lock().get_mut(child as u32) {
            let _ = c.poke_u32(a[4], child as u32);
        }
    }
    Ok(child)
}

/// `execve(path, argv, envp)`: the arguments are copied in, the new image
/// built in a new address space, and only then is the old one dropped;
/// on failure the caller continues with its errno.
fn execve(frame: &mut Frame, a: [usize; 6]) -> Result<(), Errno> {
    /// Linux's MAX_ARG_STRINGS is 0x7FFFFFFF; the total is limited by the
    /// stack (a quarter of 8 MiB): the same limit here, E2BIG past it.
    const MAX_ARG_BYTES: usize = 2 << 20;
    let (path, argv, envp, layout) = {
        let mut k = KERNEL.lock();
        let t = k.current_mut().ok_or(Errno::ESRCH)?;
        let path = t.read_cstr(a[0])?;
        let mut total = 0;
        let argv = t.read_string_array(a[1], &mut total, MAX_ARG_BYTES)?;
        let envp = t.read_string_array(a[2], &mut total, MAX_ARG_BYTES)?;
        (path, argv, envp, t.layout)
    };
    // procfs files are never programs (Linux: EACCES for anything but a
    // regular file); devices and directories of the root are refused by
    // the root's own lookup (`fs::exec_file`).
    let special = path == "/proc" || path.starts_with("/proc/");
    if special {
        return Err(Errno::EACCES);
    }
    let argv_refs: Vec<&[u8]> = argv.iter().map(|v| v.as_slice()).collect();
    let envp_refs: Vec<&[u8]> = envp.iter().map(|v| v.as_slice()).collect();
    let mmu = arch::new_mmu()?;
    let pid = KERNEL.lock().current;
    let (new, entry, sp) = match Task::exec(pid, &path, &argv_refs, &envp_refs, layout, mmu) {
        Ok(x) => x,
        Err(ExecError { errno, .. }) => return Err(errno),
    };
    let mut k = KERNEL.lock();
    let t = k.current_mut().ok_or(Errno::ESRCH)?;
    let Task {
        space, mmu, name, ..
    } = new;
    let mut old_space = core::mem::replace(&mut t.space, space);
    let mut old_mmu = core::mem::replace(&mut t.mmu, mmu);
    t.name = name;
    // Close-on-exec fds go (a pipe end among them wakes its sleepers).
    let closed_pipe = t.close_on_exec();
    let abi = t.signals.abi();
    t.signals.exec(abi);
    t.fp = super::FpState::ZERO;
    // Same ASID, new table: nothing of the old image may stay in the TLB.
    if let Some(asid) = t.asid.asid() {
        arch::flush_asid(asid);
    }
    activate(t);
    if closed_pipe {
        k.wake_pipe(None);
    }
    old_space.teardown(old_mmu.as_mut());
    drop(old_mmu);
    drop(k);
    arch::restore_fp(&super::FpState::ZERO);
    *frame = Frame::for_entry(entry, sp);
    Ok(())
}

fn wait4(a: [usize; 6]) -> isize {
    let options = a[2] as u32;
    loop {
        let found = {
            let k = KERNEL.lock();
            let me = k.current;
            let own_pgid = k.get(me).map_or(0, |t| t.pgid);
            k.wait_check(me, Target::of_wait(a[0] as i32, own_pgid), options)
        };
        match found {
            Err(e) => return e.as_return(),
            Ok(Some((pid, status))) => {
                let reaped = KERNEL.lock().remove(pid);
                drop(reaped);
                let word = (status as u32).to_le_bytes();
                let r = with_me(|t| {
                    if a[1] != 0 {
                        t.write_user(a[1], &word)?;
                    }
                    if a[3] != 0 {
                        // struct rusage: 2 timevals + 14 longs, all zero
                        // (no accounting yet).
                        let zero = [0u8; 144];
                        let n = if arch::NATIVE_TIME64 { 144 } else { 72 };
                        t.write_user(a[3], &zero[..n])?;
                    }
                    Ok(pid as usize)
                });
                return ret(r);
            }
            Ok(None) if options & process::WNOHANG != 0 => return 0,
            Ok(None) => match sleep(Wait::Child, None) {
                Wake::Interrupted => return ERESTARTSYS,
                _ => continue,
            },
        }
    }
}

fn kill(pid: i32, sig: u32) -> Result<usize, Errno> {
    if sig > 64 {
        return Err(Errno::EINVAL);
    }
    let mut k = KERNEL.lock();
    let me = k.current;
    let targets = k.kill_targets(me, pid)?;
    if sig != 0 {
        for p in targets {
            send_signal_info(&mut k, p, sig, SigInfo::user(sig, me, 0));
        }
    }
    Ok(0)
}

fn tgkill(tgid: i32, tid: i32, sig: u32) -> Result<usize, Errno> {
    if tgid <= 0 || tid <= 0 || tgid != tid {
        return Err(if tgid <= 0 || tid <= 0 {
            Errno::EINVAL
        } else {
            Errno::ESRCH
        });
    }
    kill(tid, sig)
}

/// Read a `timespec` (32- or 64-bit fields) as counter ticks; `EINVAL`
/// for a negative or out-of-range value, as Linux's `timespec64_valid`.
fn read_timespec(t: &mut Task, va: usize, time64: bool) -> Result<u64, Errno> {
    let (sec, nsec) = if time64 {
        let b = t.read_user(va, 16)?;
        (
            i64::from_le_bytes(b[0..8].try_into().unwrap_or([0; 8])),
            i64::from_le_bytes(b[8..16].try_into().unwrap_or([0; 8])),
        )
    } else {
        let b = t.read_user(va, 8)?;
        (
            i32::from_le_bytes(b[0..4].try_into().unwrap_or([0; 4])) as i64,
            i32::from_le_bytes(b[4..8].try_into().unwrap_or([0; 4])) as i64,
        )
    };
    if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
        return Err(Errno::EINVAL);
    }
    Ok(ns_to_ticks(sec as u64, nsec as u64))
}

fn ns_to_ticks(sec: u64, nsec: u64) -> u64 {
    let f = ticks_per_sec();
    sec.saturating_mul(f)
        .saturating_add((nsec as u128 * f as u128).div_ceil(1_000_000_000) as u64)
}

fn write_timespec(t: &mut Task, va: usize, ticks: u64, time64: bool) -> Result<(), Errno> {
    let f = ticks_per_sec();
    let sec = ticks / f;
    let nsec = ((ticks % f) as u128 * 1_000_000_000 / f as u128) as u64;
    if time64 {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&sec.to_le_bytes());
        b[8..].copy_from_slice(&nsec.to_le_bytes());
        t.write_user(va, &b)
    } else {
        let mut b = [0u8; 8];
        b[..4].copy_from_slice(&(sec as u32).to_le_bytes());
        b[4..].copy_from_slice(&(nsec as u32).to_le_bytes());
        t.write_user(va, &b)
    }
}

fn nanosleep(req: usize, rem: usize) -> isize {
    let ticks = match with_me(|t| read_timespec(t, req, arch::NATIVE_TIME64)) {
        Ok(v) => v,
        Err(e) => return e.as_return(),
    };
    let deadline = now().saturating_add(ticks);
    match sleep(Wait::Sleep, Some(deadline)) {
        Wake::Interrupted => {
            let left = deadline.saturating_sub(now());
            if rem != 0 {
                let _ = with_me(|t| write_timespec(t, rem, left, arch::NATIVE_TIME64));
            }
            // nanosleep is restarted only if no handler runs; with one it
            // fails with EINTR (Linux: -ERESTART_RESTARTBLOCK).
            ERESTARTNOHAND
        }
        _ => 0,
    }
}

/// clock_nanosleep(clock, flags, req, rem): Linux's `common_nsleep` for
/// the clocks that can sleep here (REALTIME 0, MONOTONIC 1, BOOTTIME 7,
/// TAI 11: all read the one counter, REALTIME counting from boot);
/// `TIMER_ABSTIME` (1) sleeps until the counter reaches `req`, and an
/// interrupted absolute sleep leaves `rem` alone (it restarts as it
/// was). THREAD_CPUTIME (3) and the clocks without a sleep
/// (MONOTONIC_RAW 4, the COARSE ones 5 and 6) are `EOPNOTSUPP`, as Linux
/// 6.1 answers (the man page still says `EINVAL` for 3); PROCESS_CPUTIME
/// (2) too here (Linux sleeps on the process's CPU time: not kept);
/// unknown clocks `EINVAL`.
fn clock_nanosleep(a: [usize; 6], time64: bool) -> isize {
    const TIMER_ABSTIME: usize = 1;
    let (clk, flags, req, rem) = (a[0] as u32 as i32, a[1], a[2], a[3]);
    match clk {
        0 | 1 | 7 | 11 => {}
        2..=6 => return Errno::EOPNOTSUPP.as_return(),
        _ => return Errno::EINVAL.as_return(),
    }
    let ticks = match with_me(|t| read_timespec(t, req, time64)) {
        Ok(v) => v,
        Err(e) => return e.as_return(),
    };
    let absolute = flags & TIMER_ABSTIME != 0;
    let deadline = if absolute {
        ticks
    } else {
        now().saturating_add(ticks)
    };
    if absolute && deadline <= now() {
        return 0;
    }
    match sleep(Wait::Sleep, Some(deadline)) {
        Wake::Interrupted => {
            if !absolute && rem != 0 {
                let left = deadline.saturating_sub(now());
                let _ = with_me(|t| write_timespec(t, rem, left, time64));
            }
            ERESTARTNOHAND
        }
        _ => 0,
    }
}

/// clock_gettime: every clock reads the generic timer's virtual counter
/// (REALTIME counts from boot: there is no RTC); unknown ids `EINVAL`.
fn clock_gettime(clk: usize, tp: usize, time64: bool) -> Result<usize, Errno> {
    // REALTIME, MONOTONIC, PROCESS_CPUTIME, THREAD_CPUTIME, MONOTONIC_RAW,
    // REALTIME_COARSE, MONOTONIC_COARSE, BOOTTIME (linux/time.h).
    if clk > 7 {
        return Err(Errno::EINVAL);
    }
    let t = now();
    with_me(|task| write_timespec(task, tp, t, time64)).map(|_| 0)
}

/// `uname`: struct new_utsname, six 65-byte fields.
fn uname(buf: usize) -> Result<usize, Errno> {
    let fields: [&[u8]; 6] = [
        b"Linux",
        b"armmu",
        b"6.1.0-armmu",
        b"#1 armmu",
        arch::UNAME_MACHINE,
        b"(none)",
    ];
    let mut out = [0u8; 6 * 65];
    for (i, f) in fields.iter().enumerate() {
        out[i * 65..i * 65 + f.len()].copy_from_slice(f);
    }
    with_me(|t| t.write_user(buf, &out)).map(|_| 0)
}

fn setpgid(pid: i32, pgid: i32) -> Result<usize, Errno> {
    let mut k = KERNEL.lock();
    let me = k.current;
    k.setpgid(me, pid, pgid).map(|_| 0)
}

fn getpgid(pid: i32) -> Result<usize, Errno> {
    let k = KERNEL.lock();
    k.getpgid(k.current, pid).map(|g| g as usize)
}

/// setsid: a new session and group led by the caller; `EPERM` if it
/// already leads a group.
fn setsid() -> Result<usize, Errno> {
    let mut k = KERNEL.lock();
    let me = k.current;
    if k.iter().any(|t| t.pgid == me) {
        return Err(Errno::EPERM);
    }
    let t = k.current_mut().ok_or(Errno::ESRCH)?;
    t.pgid = me;
    Ok(me as usize)
}

fn arm_next_event(k: &process::Procs) {
    let slice_end = now() + ticks_per_sec() / SLICE_HZ;
    crate::drivers::tick::set_deadline(k.next_event().map_or(slice_end, |e| e.min(slice_end)));
}

const ITIMER_REAL: i32 = 0;

/// Read a `struct itimerval` (two timevals) as (interval, value) ticks.
fn read_itimerval(t: &mut Task, va: usize) -> Result<(u64, u64), Errno> {
    let long = if arch::NATIVE_TIME64 { 8 } else { 4 };
    let b = t.read_user(va, 4 * long)?;
    let word = |i: usize| -> i64 {
        if long == 8 {
            i64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]))
        } else {
            i32::from_le_bytes(b[i * 4..i * 4 + 4].try_into().unwrap_or([0; 4])) as i64
        }
    };
    let tv = |s: i64, us: i64| -> Result<u64, Errno> {
        if s < 0 || !(0..1_000_000).contains(&us) {
            return Err(Errno::EINVAL);
        }
        Ok(ns_to_ticks(s as u64, us as u64 * 1000))
    };
    Ok((tv(word(0), word(1))?, tv(word(2), word(3))?))
}

fn write_itimerval(t: &mut Task, va: usize, interval: u64, value: u64) -> Result<(), Errno> {
    let f = ticks_per_sec();
    let parts = |ticks: u64| {
        (
            ticks / f,
            ((ticks % f) as u128 * 1_000_000 / f as u128) as u64,
        )
    };
    let (is, iu) = parts(interval);
    let (vs, vu) = parts(value);
    let mut b = [0u8; 32];
    let n = if arch::NATIVE_TIME64 {
        for (i, w) in [is, iu, vs, vu].iter().enumerate() {
            b[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        32
    } else {
        for (i, w) in [is, iu, vs, vu].iter().enumerate() {
            b[i * 4..i * 4 + 4].copy_from_slice(&(*w as u32).to_le_bytes());
        }
        16
    };
    t.write_user(va, &b[..n])
}

/// setitimer: `ITIMER_REAL` only (SIGALRM from the generic timer);
/// ITIMER_VIRTUAL and ITIMER_PROF would need CPU-time accounting: `EINVAL`.
fn setitimer(which: i32, new: usize, old: usize) -> Result<usize, Errno> {
    if which != ITIMER_REAL {
        return Err(Errno::EINVAL);
    }
    let t0 = now();
    let mut k = KERNEL.lock();
    let me = k.current_mut().ok_or(Errno::ESRCH)?;
    let (interval, value) = if new != 0 {
        read_itimerval(me, new)?
    } else {
        (0, 0)
    };
    if old != 0 {
        let (oi, ov) = me
            .alarm
            .map_or((0, 0), |(at, iv)| (iv, at.saturating_sub(t0)));
        write_itimerval(me, old, oi, ov)?;
    }
    me.alarm = (value > 0).then(|| (t0 + value, interval));
    arm_next_event(&k);
    Ok(0)
}

fn getitimer(which: i32, cur: usize) -> Result<usize, Errno> {
    if which != ITIMER_REAL {
        return Err(Errno::EINVAL);
    }
    let t0 = now();
    with_me(|me| {
        let (i, v) = me
            .alarm
            .map_or((0, 0), |(at, iv)| (iv, at.saturating_sub(t0)));
        write_itimerval(me, cur, i, v).map(|_| 0)
    })
}

fn pause() -> isize {
    pause_for_signal()
}

/// Sleep until a signal is deliverable (pause, rt_sigsuspend): always
/// `-ERESTARTNOHAND` (EINTR once a handler runs).
pub fn pause_for_signal() -> isize {
    loop {
        if sleep(Wait::Pause, None) == Wake::Interrupted {
            return ERESTARTNOHAND;
        }
    }
}

const FUTEX_WAIT: usize = 0;
const FUTEX_WAKE: usize = 1;
const FUTEX_WAIT_BITSET: usize = 9;
const FUTEX_WAKE_BITSET: usize = 10;
const FUTEX_PRIVATE_FLAG: usize = 128;
const FUTEX_CLOCK_REALTIME: usize = 256;

/// The key of the futex word at `va`: the physical word for a shared
/// mapping (two processes meet there), (pid, va) otherwise
/// (`FUTEX_PRIVATE_FLAG` asks for the private key even on shared memory).
fn futex_key(t: &mut Task, va: usize, private: bool) -> Result<FutexKey, Errno> {
    use crate::mm::space::FutexKey as MmKey;
    let Task { space, mmu, .. } = t;
    match space.translate_for_futex(mmu.as_mut(), va, false)? {
        MmKey::Shared { pa } if !private => Ok(FutexKey::Shared { pa }),
        _ => Ok(FutexKey::Private { pid: t.pid, va }),
    }
}

fn futex(a: [usize; 6], time64: bool) -> isize {
    let op = a[1];
    let cmd = op & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    let private = op & FUTEX_PRIVATE_FLAG != 0;
    match cmd {
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            if cmd == FUTEX_WAIT_BITSET && a[5] as u32 == 0 {
                return Errno::EINVAL.as_return();
            }
            if cmd == FUTEX_WAIT && op & FUTEX_CLOCK_REALTIME != 0 {
                return Errno::ENOSYS.as_return();
            }
            let prep = with_me(|t| {
                let key = futex_key(t, a[0], private)?;
                let b = t.read_user(a[0], 4)?;
                let cur = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                if cur != a[2] as u32 {
                    return Err(Errno::EAGAIN);
                }
                let timeout = if a[3] != 0 {
                    Some(read_timespec(t, a[3], time64)?)
                } else {
                    None
                };
                Ok((key, timeout))
            });
            let (key, timeout) = match prep {
                Ok(x) => x,
                Err(e) => return e.as_return(),
            };
            // FUTEX_WAIT's timeout is relative; the BITSET form's is
            // absolute on the clock (MONOTONIC here: both read the counter).
            let deadline = timeout.map(|t| {
                if cmd == FUTEX_WAIT {
                    now().saturating_add(t)
                } else {
                    t
                }
            });
            match sleep(Wait::Futex(key), deadline) {
                Wake::Done(v) => v,
                Wake::TimedOut => Errno::ETIMEDOUT.as_return(),
                Wake::Interrupted => ERESTARTSYS,
                _ => 0,
            }
        }
        FUTEX_WAKE | FUTEX_WAKE_BITSET => {
            if cmd == FUTEX_WAKE_BITSET && a[5] as u32 == 0 {
                return Errno::EINVAL.as_return();
            }
            let key = match with_me(|t| futex_key(t, a[0], private)) {
                Ok(k) => k,
                Err(e) => return e.as_return(),
            };
            let n = (a[2] as u32).min(i32::MAX as u32) as usize;
            KERNEL.lock().futex_wake(key, n) as isize
        }
        _ => Errno::ENOSYS.as_return(),
    }
}
