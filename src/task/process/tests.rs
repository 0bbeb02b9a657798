//! The process table's rules, with expectations from the man pages:
//! wait4(2) / waitpid(2), kill(2), setpgid(2), futex(2), and Linux's
//! re-parenting to init (exit(2): "children are inherited by init").

use super::*;
use crate::mm::audit::Mapping;
use crate::mm::memtype::MapAttrs;
use crate::mm::space::{AddressSpace, Mmu};
use crate::task::UserLayout;
use alloc::string::String;

/// An address space that never maps anything: these tests are about the
/// table, not memory.
struct NoMmu;

impl Mmu for NoMmu {
    fn map(&mut self, _: usize, _: u64, _: usize, _: MapAttrs) -> Result<(), Errno> {
        Err(Errno::ENOMEM)
    }
    fn split(&mut self, _: usize) -> Result<(), Errno> {
        Ok(())
    }
    fn unmap(&mut self, _: usize, _: usize, _: bool) -> Result<(), Errno> {
        Ok(())
    }
    fn protect(&mut self, _: usize, _: usize, _: MapAttrs) -> Result<(), Errno> {
        Ok(())
    }
    fn lookup(&self, _: usize) -> Option<u64> {
        None
    }
    fn alloc_zeroed(&mut self, _: usize) -> Result<u64, Errno> {
        Err(Errno::ENOMEM)
    }
    fn free_frame(&mut self, _: u64) {}
    unsafe fn fill_frame(&mut self, _: u64, _: usize, _: &[u8]) {}
    unsafe fn copy_frame(&mut self, _: u64, _: u64, _: bool) {}
    fn section_size(&self) -> usize {
        1 << 20
    }
    fn walk(&self, _: &mut dyn FnMut(&Mapping)) {}
    fn total_frames(&self) -> usize {
        0
    }
}

fn layout() -> UserLayout {
    UserLayout {
        task_size: 0x8000_0000,
        stack_top: 0x7f00_0000,
        stack_size: 8 << 20,
        mmap_lo: 0x1_0000,
        mmap_hi: 0x7e00_0000,
        machine: crate::loader::elf::Machine::Arm,
        word: crate::loader::stack::WordSize::W32,
        platform: b"v7l",
        hwcap: 0,
        hwcap2: None,
        pie_bias: 0,
    }
}

fn task(pid: u32, ppid: u32) -> Box<Task> {
    let l = layout();
    let mut t = Task::new(
        pid,
        String::from("t"),
        AddressSpace::new(l.task_size, l.mmap_lo, l.mmap_hi),
        Box::new(NoMmu),
        Vec::new(),
        l,
    );
    t.ppid = ppid;
    t.pgid = if ppid == 0 { pid } else { 1 };
    t.state = State::Runnable;
    Box::new(t)
}

/// init (1) with children 2 and 3; 3 has a child 4.
fn family() -> Procs {
    let mut p = Procs::new();
    for (pid, ppid) in [(1, 0), (2, 1), (3, 1), (4, 3)] {
        assert_eq!(p.alloc_pid(), Ok(pid));
        assert!(p.insert(task(pid, ppid)).is_ok());
    }
    p
}

#[test]
fn status_words_read_as_the_wait_macros_do() {
    // <sys/wait.h>: WIFEXITED(s) = (s & 0x7f) == 0, WEXITSTATUS = (s >> 8) & 0xff,
    // WIFSIGNALED(s) = ((s & 0x7f) + 1) >> 1 > 0, WTERMSIG = s & 0x7f.
    let s = exit_status(3);
    assert_eq!(s & 0x7f, 0);
    assert_eq!((s >> 8) & 0xff, 3);
    assert_eq!(
        exit_status(256 + 7),
        7 << 8,
        "only the low 8 bits of the code"
    );
    let k = signal_status(11);
    assert!(((k & 0x7f) + 1) >> 1 > 0);
    assert_eq!(k & 0x7f, 11);
}

#[test]
fn wait_finds_zombies_sleeps_on_live_children_and_echild_without() {
    let mut p = family();
    // Live children, none exited: sleep (or 0 with WNOHANG).
    assert_eq!(p.wait_check(1, Target::Any, 0), Ok(None));
    // No children at all: ECHILD.
    assert_eq!(p.wait_check(2, Target::Any, 0), Err(Errno::ECHILD));
    // A specific pid that is not our child: ECHILD (4 is 3's child).
    assert_eq!(p.wait_check(1, Target::Pid(4), 0), Err(Errno::ECHILD));
    // Unknown option bits: EINVAL.
    assert_eq!(p.wait_check(1, Target::Any, 0x100), Err(Errno::EINVAL));
    p.make_zombie(2, exit_status(5));
    assert_eq!(p.wait_check(1, Target::Any, 0), Ok(Some((2, 5 << 8))));
    assert_eq!(p.wait_check(1, Target::Pid(3), 0), Ok(None), "3 still runs");
    assert!(p.remove(2).is_some());
    assert_eq!(
        p.wait_check(1, Target::Pid(2), 0),
        Err(Errno::ECHILD),
        "reaped"
    );
}

#[test]
fn wait_pid_arguments_select_as_wait4_documents() {
    // waitpid(2): < -1 group |pid|, -1 any, 0 the caller's group, > 0 that pid.
    assert_eq!(Target::of_wait(7, 1), Target::Pid(7));
    assert_eq!(Target::of_wait(0, 5), Target::Group(5));
    assert_eq!(Target::of_wait(-1, 5), Target::Any);
    assert_eq!(Target::of_wait(-9, 5), Target::Group(9));
    let mut p = family();
    p.get_mut(3).unwrap().pgid = 3;
    p.make_zombie(3, exit_status(0));
    assert_eq!(
        p.wait_check(1, Target::Group(1), 0),
        Ok(None),
        "2 is in group 1, alive"
    );
    assert_eq!(p.wait_check(1, Target::Group(3), 0), Ok(Some((3, 0))));
}

#[test]
fn an_exiting_parent_gives_its_children_to_init_and_wakes_its_parent() {
    let mut p = family();
    p.get_mut(1).unwrap().state = State::Sleeping(Wait::Child);
    let parent = p.make_zombie(3, exit_status(0));
    assert_eq!(parent, Some(1));
    assert_eq!(p.get(4).unwrap().ppid, 1, "orphan re-parented to init");
    assert_eq!(
        p.get(1).unwrap().state,
        State::Runnable,
        "waiting parent woken"
    );
    assert_eq!(p.get(1).unwrap().wake, Wake::Retry);
    // An orphan that is already a zombie wakes init too.
    let mut p = family();
    p.make_zombie(4, exit_status(1));
    p.get_mut(1).unwrap().state = State::Sleeping(Wait::Child);
    p.make_zombie(3, exit_status(0));
    assert_eq!(p.wait_check(1, Target::Pid(4), 0), Ok(Some((4, 1 << 8))));
}

#[test]
fn kill_reaches_what_kill_2_says() {
    let mut p = family();
    p.get_mut(3).unwrap().pgid = 3;
    p.get_mut(4).unwrap().pgid = 3;
    assert_eq!(p.kill_targets(2, 4), Ok(alloc::vec![4]));
    assert_eq!(p.kill_targets(2, 99), Err(Errno::ESRCH));
    assert_eq!(p.kill_targets(2, -3), Ok(alloc::vec![3, 4]), "group 3");
    assert_eq!(
        p.kill_targets(4, 0),
        Ok(alloc::vec![3, 4]),
        "sender's group"
    );
    // -1: everyone except init and the sender.
    assert_eq!(p.kill_targets(2, -1), Ok(alloc::vec![3, 4]));
    assert_eq!(p.kill_targets(2, -77), Err(Errno::ESRCH));
}

#[test]
fn setpgid_checks_as_setpgid_2() {
    let mut p = family();
    assert_eq!(p.setpgid(1, 2, -1), Err(Errno::EINVAL));
    assert_eq!(p.setpgid(2, 3, 0), Err(Errno::ESRCH), "not self or a child");
    assert_eq!(p.setpgid(1, 99, 0), Err(Errno::ESRCH));
    assert_eq!(p.setpgid(1, 2, 42), Err(Errno::EPERM), "no such group");
    assert_eq!(p.setpgid(2, 0, 0), Ok(()));
    assert_eq!(p.getpgid(2, 0), Ok(2));
    assert_eq!(p.setpgid(1, 3, 2), Ok(()), "join an existing group");
    assert_eq!(p.getpgid(1, 3), Ok(2));
    assert_eq!(p.getpgid(1, 99), Err(Errno::ESRCH));
}

#[test]
fn futex_wake_wakes_at_most_n_on_that_key_only() {
    let mut p = family();
    let k = FutexKey::Shared { pa: 0x4000_0010 };
    let other = FutexKey::Private { pid: 2, va: 0x1000 };
    for pid in [2, 3, 4] {
        p.get_mut(pid).unwrap().state = State::Sleeping(Wait::Futex(k));
    }
    p.get_mut(1).unwrap().state = State::Sleeping(Wait::Futex(other));
    assert_eq!(p.futex_wake(k, 2), 2);
    assert_eq!(p.futex_wake(k, 5), 1, "one left");
    assert_eq!(p.futex_wake(k, 5), 0);
    assert_eq!(p.get(1).unwrap().state, State::Sleeping(Wait::Futex(other)));
    assert_eq!(p.get(2).unwrap().wake, Wake::Done(0));
}

#[test]
fn deadlines_wake_sleepers_and_report_the_next_one() {
    let mut p = family();
    for (pid, d) in [(2, 100), (3, 300)] {
        let t = p.get_mut(pid).unwrap();
        t.state = State::Sleeping(Wait::Sleep);
        t.deadline = Some(d);
    }
    p.get_mut(4).unwrap().alarm = Some((250, 0));
    assert_eq!(p.next_event(), Some(100));
    assert_eq!(p.expire(150), Some(300));
    assert_eq!(p.get(2).unwrap().wake, Wake::TimedOut);
    assert_eq!(p.get(2).unwrap().state, State::Runnable);
    assert_eq!(p.get(3).unwrap().state, State::Sleeping(Wait::Sleep));
    assert_eq!(p.next_event(), Some(250), "the alarm now comes first");
}

#[test]
fn round_robin_goes_on_after_the_last_and_wraps() {
    let mut p = family();
    p.get_mut(3).unwrap().state = State::Sleeping(Wait::Pause);
    assert_eq!(p.pick_next(0), Some(1));
    assert_eq!(p.pick_next(1), Some(2));
    assert_eq!(p.pick_next(2), Some(4), "3 sleeps");
    assert_eq!(p.pick_next(4), Some(1), "wraps");
    p.interrupt(3);
    assert_eq!(p.get(3).unwrap().wake, Wake::Interrupted);
    assert_eq!(p.pick_next(2), Some(3));
}

#[test]
fn pids_wrap_at_pid_max_skipping_live_ones() {
    let mut p = family();
    p.next_pid = PID_MAX - 1;
    assert_eq!(p.alloc_pid(), Ok(PID_MAX - 1));
    // Wraps to 2; 2, 3, 4 are alive.
    assert_eq!(p.alloc_pid(), Ok(5));
}

#[test]
fn a_kernel_stack_reports_an_overrun_of_its_bottom() {
    let k = KStack::new().unwrap();
    assert!(k.intact());
    assert_eq!(k.top() % 16, 0, "AAPCS64 wants a 16-byte aligned sp");
    // What an overflow would do: write below the lowest frame.
    let bottom = k.top() - KSTACK_SIZE;
    // SAFETY: the lowest byte of the stack this test owns.
    unsafe { (bottom as *mut u8).write(0) };
    assert!(!k.intact());
}

/// `Task::fork_child` (built in place) gives the child what fork(2) and
/// Linux's `copy_process` say it gets: a new pid whose parent is the
/// caller, the caller's process group, signal dispositions and mask,
/// no pending signals (fork(2): "The child's set of pending signals is
/// initially empty"), no timers (fork(2): "The child does not inherit
/// timers from its parent"), the parent's FP registers, its own kernel
/// stack, and no ASID yet.
#[test]
fn fork_child_gets_the_parents_dispositions_and_nothing_pending() {
    use crate::task::signal::{SigAction, SigInfo, SigSet, SIGUSR1, SIGUSR2, SIG_IGN};
    let mut parent = task(7, 1);
    parent.pgid = 5;
    parent.alarm = Some((1000, 10));
    parent.deadline = Some(99);
    parent.fp.d[3] = 0x1234;
    parent.fp.fpscr = 0x0300_0000;
    let handler = SigAction {
        handler: 0x8000,
        flags: 0x0400_0000,
        restorer: 0x9000,
        mask: SigSet::of(SIGUSR2),
    };
    parent.signals.sigaction(SIGUSR1, Some(handler)).unwrap();
    parent
        .signals
        .sigaction(
            SIGUSR2,
            Some(SigAction {
                handler: SIG_IGN,
                ..SigAction::default()
            }),
        )
        .unwrap();
    parent.signals.set_blocked(SigSet::of(SIGUSR1));
    parent
        .signals
        .send(SIGUSR1, SigInfo::user(SIGUSR1, 3, 0))
        .unwrap();
    assert!(parent.signals.pending().contains(SIGUSR1));
    let l = layout();
    let kstack = KStack::new().unwrap();
    let top = kstack.top();
    let slot = try_box_uninit::<Task>().unwrap();
    let c = Task::fork_child(
        slot,
        &parent,
        8,
        String::from("t"),
        AddressSpace::new(l.task_size, l.mmap_lo, l.mmap_hi),
        Box::new(NoMmu),
        Vec::new(),
        kstack,
        top - 64,
    );
    assert_eq!((c.pid, c.ppid, c.pgid), (8, 7, 5));
    assert_eq!(c.state, State::Runnable);
    assert_eq!((c.alarm, c.deadline), (None, None));
    assert_eq!(c.wake, Wake::None);
    assert_eq!((c.fp.d[3], c.fp.fpscr), (0x1234, 0x0300_0000));
    assert_eq!(c.fp.d[4], 0);
    assert_eq!(c.signals.action(SIGUSR1), handler);
    assert_eq!(c.signals.action(SIGUSR2).handler, SIG_IGN);
    assert_eq!(c.signals.blocked(), SigSet::of(SIGUSR1));
    assert_eq!(c.signals.pending(), SigSet::EMPTY);
    assert_eq!(c.signals.abi(), parent.signals.abi());
    assert_eq!(c.ksp, top - 64);
    assert_eq!(c.kstack.as_ref().map(|k| k.top()), Some(top));
    assert!(c.kstack.as_ref().is_some_and(|k| k.intact()));
    assert_eq!(c.asid, crate::mm::asid::AsidSlot::NONE);
    assert!(c.cow);
    assert_eq!(c.name, "t");
    assert_eq!(c.layout.task_size, l.task_size);
    // The parent keeps its pending signal.
    assert!(parent.signals.pending().contains(SIGUSR1));
}

#[test]
fn reserve_makes_the_next_insert_infallible() {
    let mut p = Procs::new();
    assert_eq!(p.reserve(1), Ok(()));
    assert_eq!(p.alloc_pid(), Ok(1));
    assert!(p.insert(task(1, 0)).is_ok());
    assert_eq!(p.len(), 1);
}
