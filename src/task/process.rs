//! Processes: the table, parent links, process groups, states, and the
//! rules of `wait4`, `kill`, exit and re-parenting, as Linux has them.
//! Pure bookkeeping: the context switch itself is in [`super::sched`]
//! (target only), so everything here is host-tested.

use super::Task;
use crate::errno::Errno;
use alloc::boxed::Box;
use alloc::vec::Vec;

/// Linux's default `pid_max` is 32768; this kernel keeps the table small
/// and refuses `fork` with `EAGAIN` past this many live processes (Linux's
/// answer when `RLIMIT_NPROC`/`pid_max` is reached).
pub const MAX_PROCS: usize = 1024;
/// Pids wrap here (Linux's default `pid_max`), skipping those in use.
pub const PID_MAX: u32 = 32768;

/// Bytes of each process's kernel stack (syscalls, faults, interrupts
/// from user mode all run on it).
pub const KSTACK_SIZE: usize = 32 * 1024;

const STACK_CANARY: u128 = 0x5354_4143_4b5f_454e_445f_6172_6d6d_7521;

/// A kernel stack: 16-byte aligned (AAPCS64 and AAPCS both accept it),
/// allocated fallibly.
pub struct KStack {
    /// Not zeroed: a stack is written before it is read.
    mem: Vec<core::mem::MaybeUninit<u128>>,
}

impl KStack {
    pub fn new() -> Result<KStack, Errno> {
        let mut mem = Vec::new();
        mem.try_reserve_exact(KSTACK_SIZE / 16)
            .map_err(|_| Errno::ENOMEM)?;
        // SAFETY: the capacity was reserved above, and `MaybeUninit`
        // elements need no initialisation (a resize would write all 8 KiB
        // of them: 14 000 instructions per fork on ARMv7-A).
        unsafe { mem.set_len(KSTACK_SIZE / 16) };
        mem[0] = core::mem::MaybeUninit::new(STACK_CANARY);
        Ok(KStack { mem })
    }

    /// Whether the lowest 16 bytes still hold the canary: a kernel stack
    /// that ran over its bottom would corrupt the heap below it.
    pub fn intact(&self) -> bool {
        // SAFETY: element 0 was initialised with the canary in `new`.
        self.mem
            .first()
            .is_some_and(|w| unsafe { w.assume_init_read() } == STACK_CANARY)
    }

    /// One past the highest byte (the initial stack pointer).
    pub fn top(&self) -> usize {
        self.mem.as_ptr() as usize + self.mem.len() * 16
    }
}

/// `Box::new` that gives the value back instead of aborting when the
/// kernel heap is out of memory (`Box::try_new` is not stable yet).
pub fn try_box<T>(v: T) -> Result<Box<T>, T> {
    let layout = core::alloc::Layout::new::<T>();
    if layout.size() == 0 {
        return Ok(Box::new(v));
    }
    // SAFETY: the layout has a non-zero size.
    let p = unsafe { alloc::alloc::alloc(layout) } as *mut T;
    if p.is_null() {
        return Err(v);
    }
    // SAFETY: `p` is a fresh allocation with `T`'s layout, written once
    // and handed to a Box that frees it with the same layout.
    unsafe {
        p.write(v);
        Ok(Box::from_raw(p))
    }
}

/// An uninitialised heap slot for a `T`, or `None` when the kernel heap
/// is out of memory: for a value built in place (`Task::fork_child`).
pub fn try_box_uninit<T>() -> Option<Box<core::mem::MaybeUninit<T>>> {
    let layout = core::alloc::Layout::new::<T>();
    if layout.size() == 0 {
        return Some(Box::new(core::mem::MaybeUninit::uninit()));
    }
    // SAFETY: the layout has a non-zero size.
    let p = unsafe { alloc::alloc::alloc(layout) }.cast::<core::mem::MaybeUninit<T>>();
    if p.is_null() {
        return None;
    }
    // SAFETY: a fresh allocation with `T`'s layout (that of
    // `MaybeUninit<T>`), which needs no initialisation; the Box frees it
    // with the same layout.
    Some(unsafe { Box::from_raw(p) })
}

/// Why a process sleeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// In `wait4`, for a child to change state.
    Child,
    /// In `nanosleep` (the deadline is in `Task::deadline`).
    Sleep,
    /// In `futex(FUTEX_WAIT)` on this key (optional deadline).
    Futex(FutexKey),
    /// In `pause`/`rt_sigsuspend`: only a signal wakes it.
    Pause,
    /// In `read`/`write` of a pipe (its key: `pipe::End::key`), or in
    /// `poll` (key 0: any pipe's activity wakes it).
    Pipe(usize),
}

/// Where two futex waiters meet: the physical word for shared mappings,
/// (process, address) for private ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FutexKey {
    Shared { pa: u64 },
    Private { pid: u32, va: usize },
}

/// What a sleeping process was woken by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wake {
    /// Not woken (yet).
    None,
    /// Try the syscall again (a child changed state).
    Retry,
    /// The syscall completes with this value (a futex wake: 0).
    Done(isize),
    /// The deadline passed.
    TimedOut,
    /// A signal arrived.
    Interrupted,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Being set up by `fork`: not yet schedulable.
    Embryo,
    Runnable,
    Sleeping(Wait),
    /// Exited or killed; holds the `wait4` status word until reaped.
    Zombie(i32),
    /// Exited with nobody to wait for it (its parent ignores SIGCHLD or
    /// set SA_NOCLDWAIT): the scheduler frees it once off its stack.
    Reaped,
}

/// `wait4`'s status word: exit code in bits 15..8, or the signal in 6..0,
/// as Linux's `WIFEXITED`/`WIFSIGNALED` read it (defined once, with the
/// signal rules).
pub use super::signal::{wait_status_exited as exit_status, wait_status_killed as signal_status};

/// `wait4` options Linux accepts (`WNOHANG`, `WUNTRACED`, `WCONTINUED`,
/// `__WNOTHREAD`, `__WALL`, `__WCLONE`).
pub const WNOHANG: u32 = 1;
const WAIT4_VALID: u32 = 1 | 2 | 8 | 0x2000_0000 | 0x4000_0000 | 0x8000_0000;

/// Which children a `wait4`/`kill` pid argument selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Pid(u32),
    Group(u32),
    Any,
}

impl Target {
    /// Linux's reading of a `wait4` pid: > 0 that child, 0 the caller's
    /// group, -1 any, < -1 the group -pid.
    pub fn of_wait(pid: i32, own_pgid: u32) -> Target {
        match pid {
            p if p > 0 => Target::Pid(p as u32),
            0 => Target::Group(own_pgid),
            -1 => Target::Any,
            p => Target::Group(p.unsigned_abs()),
        }
    }
}

/// The process table. One lock (`sched::KERNEL`) guards it; the current
/// process is `current`.
pub struct Procs {
    /// Boxed on purpose: a switched-out process's saved kernel sp lives
    /// in its `Task`, which must not move while the table grows.
    #[allow(clippy::vec_box)]
    list: Vec<Box<Task>>,
    pub current: u32,
    next_pid: u32,
    /// Set by the timer tick: switch at the next return to user mode.
    pub need_resched: bool,
    /// Where `current` was last found in `list` (a hint: checked before use).
    cur_idx: usize,
}

impl Procs {
    pub const fn new() -> Procs {
        Procs {
            list: Vec::new(),
            current: 0,
            next_pid: 1,
            need_resched: false,
            cur_idx: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn get(&self, pid: u32) -> Option<&Task> {
        self.list.iter().find(|t| t.pid == pid).map(|b| &**b)
    }

    pub fn get_mut(&mut self, pid: u32) -> Option<&mut Task> {
        self.list
            .iter_mut()
            .find(|t| t.pid == pid)
            .map(|b| &mut **b)
    }

    /// The running process: every syscall asks, so the index where it
    /// was last found is tried first.
    pub fn current(&self) -> Option<&Task> {
        match self.list.get(self.cur_idx) {
            Some(t) if t.pid == self.current => Some(t),
            _ => self.get(self.current),
        }
    }

    pub fn current_mut(&mut self) -> Option<&mut Task> {
        let c = self.current;
        let hit = self.list.get(self.cur_idx).is_some_and(|t| t.pid == c);
        if !hit {
            self.cur_idx = self.list.iter().position(|t| t.pid == c)?;
        }
        self.list.get_mut(self.cur_idx).map(|b| &mut **b)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Task> {
        self.list.iter().map(|b| &**b)
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Task> {
        self.list.iter_mut().map(|b| &mut **b)
    }

    /// A free pid: the next after the last one given, wrapping at
    /// `PID_MAX` to 2 (1 is init's forever), as Linux's `alloc_pid`.
    pub fn alloc_pid(&mut self) -> Result<u32, Errno> {
        if self.list.len() >= MAX_PROCS {
            return Err(Errno::EAGAIN);
        }
        loop {
            let p = self.next_pid;
            self.next_pid = if p + 1 >= PID_MAX { 2 } else { p + 1 };
            if self.get(p).is_none() {
                return Ok(p);
            }
        }
    }

    /// Room for `n` more processes, so that the next `n` inserts cannot
    /// fail (`ENOMEM` if the table cannot grow).
    pub fn reserve(&mut self, n: usize) -> Result<(), Errno> {
        self.list.try_reserve(n).map_err(|_| Errno::ENOMEM)
    }

    /// Add a process (fallible: the table grows with `try_reserve`).
    pub fn insert(&mut self, t: Box<Task>) -> Result<(), (Errno, Box<Task>)> {
        if self.list.try_reserve(1).is_err() {
            return Err((Errno::ENOMEM, t));
        }
        self.list.push(t);
        Ok(())
    }

    /// Take a process out of the table (reaping a zombie).
    pub fn remove(&mut self, pid: u32) -> Option<Box<Task>> {
        let i = self.list.iter().position(|t| t.pid == pid)?;
        Some(self.list.remove(i))
    }

    fn selects(t: &Task, parent: u32, target: Target) -> bool {
        t.ppid == parent
            && match target {
                Target::Pid(p) => t.pid == p,
                Target::Group(g) => t.pgid == g,
                Target::Any => true,
            }
    }

    /// `wait4`'s decision for `parent`: `Ok(Some((pid, status)))` for a
    /// zombie child to reap, `Ok(None)` to sleep (or return 0 with
    /// `WNOHANG`), `ECHILD` when no child matches, `EINVAL` for unknown
    /// options.
    pub fn wait_check(
        &self,
        parent: u32,
        target: Target,
        options: u32,
    ) -> Result<Option<(u32, i32)>, Errno> {
        if options & !WAIT4_VALID != 0 {
            return Err(Errno::EINVAL);
        }
        let mut any = false;
        for t in self
            .iter()
            .filter(|t| Self::selects(t, parent, target) && t.state != State::Reaped)
        {
            any = true;
            if let State::Zombie(status) = t.state {
                return Ok(Some((t.pid, status)));
            }
        }
        if any {
            Ok(None)
        } else {
            Err(Errno::ECHILD)
        }
    }

    /// The process `pid` ended with wait status `status`: it becomes a
    /// zombie, its children go to init (pid 1), and its parent is woken
    /// if it waits. Returns the parent's pid (for SIGCHLD).
    pub fn make_zombie(&mut self, pid: u32, status: i32) -> Option<u32> {
        let ppid = {
            let t = self.get_mut(pid)?;
            t.state = State::Zombie(status);
            t.ppid
        };
        let mut init_has_zombie = false;
        for t in self.iter_mut().filter(|t| t.ppid == pid) {
            t.ppid = 1;
            init_has_zombie |= matches!(t.state, State::Zombie(_));
        }
        if init_has_zombie {
            self.wake(1, Wait::Child, Wake::Retry);
        }
        self.wake(ppid, Wait::Child, Wake::Retry);
        Some(ppid)
    }

    /// Wake `pid` if it sleeps for `why`.
    pub fn wake(&mut self, pid: u32, why: Wait, how: Wake) -> bool {
        match self.get_mut(pid) {
            Some(t) if t.state == State::Sleeping(why) => {
                t.state = State::Runnable;
                t.wake = how;
                true
            }
            _ => false,
        }
    }

    /// Wake a sleeper for a signal (interruptible sleeps are all of them).
    pub fn interrupt(&mut self, pid: u32) {
        if let Some(t) = self.get_mut(pid) {
            if let State::Sleeping(_) = t.state {
                t.state = State::Runnable;
                t.wake = Wake::Interrupted;
            }
        }
    }

    /// Wake every process sleeping on a pipe (`key`, or any pipe for
    /// `None`: an fd table lost pipe ends) and every poller (key 0):
    /// they try again. How many.
    pub fn wake_pipe(&mut self, key: Option<usize>) -> usize {
        let mut n = 0;
        for t in self.iter_mut() {
            if let State::Sleeping(Wait::Pipe(k)) = t.state {
                if k == 0 || key.is_none_or(|key| key == k) {
                    t.state = State::Runnable;
                    t.wake = Wake::Retry;
                    n += 1;
                }
            }
        }
        n
    }

    /// Wake at most `n` futex waiters on `key`, oldest pid first: how many.
    pub fn futex_wake(&mut self, key: FutexKey, n: usize) -> usize {
        let mut woken = 0;
        for t in self.iter_mut() {
            if woken >= n {
                break;
            }
            if t.state == State::Sleeping(Wait::Futex(key)) {
                t.state = State::Runnable;
                t.wake = Wake::Done(0);
                woken += 1;
            }
        }
        woken
    }

    /// Wake every sleeper whose deadline is at or before `now`; returns
    /// the earliest deadline still pending.
    pub fn expire(&mut self, now: u64) -> Option<u64> {
        let mut next: Option<u64> = None;
        for t in self.iter_mut() {
            if let (State::Sleeping(_), Some(d)) = (t.state, t.deadline) {
                if d <= now {
                    t.state = State::Runnable;
                    t.wake = Wake::TimedOut;
                    t.deadline = None;
                } else {
                    next = Some(next.map_or(d, |n| n.min(d)));
                }
            }
        }
        next
    }

    /// The earliest pending alarm (`ITIMER_REAL`) or sleep deadline.
    pub fn next_event(&self) -> Option<u64> {
        self.iter()
            .flat_map(|t| {
                let sleep = match t.state {
                    State::Sleeping(_) => t.deadline,
                    _ => None,
                };
                [sleep, t.alarm.map(|(at, _)| at)]
            })
            .flatten()
            .min()
    }

    /// Round-robin: the first runnable process after `after` in pid
    /// order, wrapping around.
    pub fn pick_next(&self, after: u32) -> Option<u32> {
        let runnable = |t: &&Task| t.state == State::Runnable;
        let later = self
            .iter()
            .filter(runnable)
            .filter(|t| t.pid > after)
            .map(|t| t.pid)
            .min();
        later.or_else(|| self.iter().filter(runnable).map(|t| t.pid).min())
    }

    /// The pids `kill(pid, ..)` reaches from `sender` (Linux's
    /// `kill_something_info`): > 0 one process, 0 the sender's group, -1
    /// every process but init and the sender, < -1 the group -pid.
    /// `ESRCH` if none exists.
    pub fn kill_targets(&self, sender: u32, pid: i32) -> Result<Vec<u32>, Errno> {
        let own_pgid = self.get(sender).map_or(0, |t| t.pgid);
        let pick = |t: &&Task| -> bool {
            if t.state == State::Reaped {
                return false;
            }
            if matches!(t.state, State::Zombie(_) | State::Embryo) && pid <= 0 {
                return false;
            }
            match pid {
                p if p > 0 => t.pid == p as u32,
                0 => t.pgid == own_pgid,
                -1 => t.pid != 1 && t.pid != sender,
                p => t.pgid == p.unsigned_abs(),
            }
        };
        let mut v = Vec::new();
        let n = self.iter().filter(pick).count();
        v.try_reserve_exact(n).map_err(|_| Errno::ENOMEM)?;
        v.extend(self.iter().filter(pick).map(|t| t.pid));
        if v.is_empty() {
            Err(Errno::ESRCH)
        } else {
            Ok(v)
        }
    }

    /// `setpgid(pid, pgid)` by `caller`, with Linux's checks: `ESRCH` if
    /// `pid` is neither the caller nor its child, `EINVAL` for a negative
    /// pgid, `EPERM` if the group does not exist (and is not the target's
    /// own pid).
    pub fn setpgid(&mut self, caller: u32, pid: i32, pgid: i32) -> Result<(), Errno> {
        if pgid < 0 {
            return Err(Errno::EINVAL);
        }
        let pid = if pid == 0 { caller } else { pid as u32 };
        let t = self.get(pid).ok_or(Errno::ESRCH)?;
        if pid != caller && t.ppid != caller {
            return Err(Errno::ESRCH);
        }
        let pgid = if pgid == 0 { pid } else { pgid as u32 };
        if pgid != pid && !self.iter().any(|t| t.pgid == pgid) {
            return Err(Errno::EPERM);
        }
        if let Some(t) = self.get_mut(pid) {
            t.pgid = pgid;
        }
        Ok(())
    }

    pub fn getpgid(&self, caller: u32, pid: i32) -> Result<u32, Errno> {
        let pid = if pid == 0 { caller } else { pid as u32 };
        self.get(pid).map(|t| t.pgid).ok_or(Errno::ESRCH)
    }
}

#[cfg(test)]
mod tests;
