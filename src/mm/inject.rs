//! Fault injection: make the Nth frame or kernel-heap allocation from now
//! fail, so tests can walk every syscall path over every allocation it
//! makes and check that each failure becomes `ENOMEM` (or a clean kill)
//! and leaks nothing.
//!
//! Off unless the kernel command line says `armmu.faultinject=1`. Then
//! user space drives it through kernel-private syscall numbers, far from
//! Linux's (ARM EABI numbers end below 0x1000 plus the ARM-private
//! 0x0f0000 block; AArch64 below 0x200), the same numbers on both
//! architectures:
//!
//! | nr | call | result |
//! |---|---|---|
//! | `0xA2_0000` | `inject(op, n)`: op 0 = disarm, 1 = arm "fail the frame allocation with index `n` from now" (0 = the next one), 2 = the same for the kernel heap | op 0: 1 if the armed failure fired since it was armed, else 0; ops 1/2: 0 |
//! | `0xA2_0001` | `memstat(which)`: 0 = free frames, 1 = heap bytes in use, 2 = total frames, 3 = audit violations so far, 4 = audit checks so far | the value |
//! | `0xA2_0002` | `kexec(va)` (ARMv7-A): the kernel branches to user address `va` with an abort probe armed | the IFSR of the prefetch abort it took, or 0 if the code ran and returned (PXN missing) |
//!
//! All three return `-ENOSYS` unless fault injection is enabled
//! (`memstat` also works with `armmu.audit=1`). Only one failure is armed
//! at a time and it fires once; the allocations the auditor makes are not
//! counted (see [`Suspend`]).
//!
//! The hooks are single calls: [`fail`] at the top of
//! `FrameAllocator::alloc`/`alloc_contiguous` and of the global
//! allocator's `alloc` (a null return). The decision logic is the plain
//! [`Injector`], host-tested.

use crate::errno::Errno;
use core::sync::atomic::{AtomicBool, Ordering};

/// Which allocator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Frame,
    Heap,
}

pub const SYS_INJECT: usize = 0xA2_0000;
pub const SYS_MEMSTAT: usize = 0xA2_0001;
pub const SYS_KEXEC: usize = 0xA2_0002;

pub const OP_DISARM: usize = 0;
pub const OP_ARM_FRAME: usize = 1;
pub const OP_ARM_HEAP: usize = 2;

/// The injection state.
#[derive(Debug)]
pub struct Injector {
    enabled: bool,
    /// (kind, how many allocations of that kind still succeed first).
    armed: Option<(Kind, u32)>,
    fired: bool,
    suspended: u32,
    /// Allocations seen while enabled, per kind (frames, heap).
    pub seen: [u64; 2],
    /// Failures injected, per kind.
    pub injected: [u64; 2],
}

impl Injector {
    pub const fn new() -> Self {
        Injector {
            enabled: false,
            armed: None,
            fired: false,
            suspended: 0,
            seen: [0; 2],
            injected: [0; 2],
        }
    }

    pub fn enable(&mut self) {
        self.enabled = true;
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Arm: the allocation of `kind` with index `n` from now fails.
    /// `ENOSYS` when not enabled.
    pub fn arm(&mut self, kind: Kind, n: u32) -> Result<(), Errno> {
        if !self.enabled {
            return Err(Errno::ENOSYS);
        }
        self.armed = Some((kind, n));
        self.fired = false;
        Ok(())
    }

    /// Disarm; whether the armed failure fired.
    pub fn disarm(&mut self) -> Result<bool, Errno> {
        if !self.enabled {
            return Err(Errno::ENOSYS);
        }
        self.armed = None;
        Ok(core::mem::replace(&mut self.fired, false))
    }

    /// The hook: whether this allocation must fail.
    pub fn should_fail(&mut self, kind: Kind) -> bool {
        if !self.enabled || self.suspended > 0 {
            return false;
        }
        let k = kind as usize;
        self.seen[k] += 1;
        match self.armed {
            Some((armed, 0)) if armed == kind => {
                self.armed = None;
                self.fired = true;
                self.injected[k] += 1;
                true
            }
            Some((armed, n)) if armed == kind => {
                self.armed = Some((armed, n - 1));
                false
            }
            _ => false,
        }
    }

    pub fn suspend(&mut self) {
        self.suspended += 1;
    }

    pub fn resume(&mut self) {
        self.suspended = self.suspended.saturating_sub(1);
    }
}

impl Default for Injector {
    fn default() -> Self {
        Self::new()
    }
}

/// Fast path for the hooks: nothing is locked unless injection is enabled.
static ENABLED: AtomicBool = AtomicBool::new(false);
static STATE: spin::Mutex<Injector> = spin::Mutex::new(Injector::new());

/// Turn fault injection on (command line `armmu.faultinject=1`).
pub fn enable() {
    STATE.lock().enable();
    ENABLED.store(true, Ordering::SeqCst);
}

pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The allocation hook: `true` means "fail this allocation" (`bytes`: its
/// size, for the log line that names each injected failure).
#[inline]
pub fn fail(kind: Kind, bytes: usize) -> bool {
    if !ENABLED.load(Ordering::Relaxed) {
        return false;
    }
    // try_lock, retried a bounded number of times: another core or host
    // test thread holds the lock for a few instructions only (without the
    // retry a concurrent frame allocation made a heap candidate vanish:
    // a flaky host test); an allocation made while this very context holds
    // the lock (nothing in this module allocates) is still simply not a
    // candidate instead of a deadlock.
    let mut guard = None;
    for _ in 0..100_000 {
        guard = STATE.try_lock();
        if guard.is_some() {
            break;
        }
        core::hint::spin_loop();
    }
    let (fail, index) = match guard {
        Some(mut s) => {
            let index = s.seen[kind as usize];
            (s.should_fail(kind), index)
        }
        None => return false,
    };
    if fail {
        // The console does not allocate.
        crate::kprintln!("inject: failing {kind:?} allocation of {bytes} bytes (#{index})");
    }
    fail
}

/// Allocations made while a `Suspend` lives are never failed (the
/// auditor's own bookkeeping).
pub struct Suspend(());

impl Suspend {
    pub fn new() -> Self {
        if enabled() {
            STATE.lock().suspend();
        }
        Suspend(())
    }
}

impl Default for Suspend {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Suspend {
    fn drop(&mut self) {
        if enabled() {
            STATE.lock().resume();
        }
    }
}

/// Disarm at task end: nothing armed survives into the next task.
pub fn reset() {
    if enabled() {
        let _ = STATE.lock().disarm();
    }
}

/// What `memstat` reports.
#[derive(Clone, Copy, Debug, Default)]
pub struct MemStat {
    pub free_frames: usize,
    pub heap_used: usize,
    pub total_frames: usize,
    pub audit_violations: usize,
    pub audit_checks: usize,
}

/// Handle a kernel-private syscall (not `SYS_KEXEC`, which the
/// architecture handles). `None`: not one of ours.
pub fn private_syscall(nr: usize, a: [usize; 6], stat: &dyn Fn() -> MemStat) -> Option<isize> {
    let r: Result<usize, Errno> = match nr {
        SYS_INJECT => {
            let mut s = STATE.lock();
            match a[0] {
                OP_DISARM => s.disarm().map(usize::from),
                OP_ARM_FRAME | OP_ARM_HEAP if !s.enabled() => Err(Errno::ENOSYS),
                OP_ARM_FRAME => s.arm(Kind::Frame, clamp(a[1])).map(|_| 0),
                OP_ARM_HEAP => s.arm(Kind::Heap, clamp(a[1])).map(|_| 0),
                _ if !s.enabled() => Err(Errno::ENOSYS),
                _ => Err(Errno::EINVAL),
            }
        }
        SYS_MEMSTAT => {
            if !enabled() && !crate::mm::audit::enabled() {
                Err(Errno::ENOSYS)
            } else {
                let m = stat();
                match a[0] {
                    0 => Ok(m.free_frames),
                    1 => Ok(m.heap_used),
                    2 => Ok(m.total_frames),
                    3 => Ok(m.audit_violations),
                    4 => Ok(m.audit_checks),
                    _ => Err(Errno::EINVAL),
                }
            }
        }
        _ => return None,
    };
    Some(match r {
        Ok(v) => v as isize,
        Err(e) => e.as_return(),
    })
}

fn clamp(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabled_never_fails_and_refuses_to_arm() {
        let mut i = Injector::new();
        assert_eq!(i.arm(Kind::Frame, 0), Err(Errno::ENOSYS));
        assert_eq!(i.disarm(), Err(Errno::ENOSYS));
        for _ in 0..10 {
            assert!(!i.should_fail(Kind::Frame));
            assert!(!i.should_fail(Kind::Heap));
        }
        assert_eq!(i.seen, [0, 0]);
    }

    #[test]
    fn exactly_the_nth_allocation_of_the_armed_kind_fails_once() {
        for n in 0..5u32 {
            let mut i = Injector::new();
            i.enable();
            i.arm(Kind::Frame, n).unwrap();
            let mut failed = std::vec::Vec::new();
            for k in 0..10u32 {
                // Heap allocations in between do not count for frames.
                assert!(!i.should_fail(Kind::Heap));
                if i.should_fail(Kind::Frame) {
                    failed.push(k);
                }
            }
            assert_eq!(failed, [n], "n = {n}");
            assert_eq!(i.disarm(), Ok(true));
            assert_eq!(i.disarm(), Ok(false), "fired is reported once");
            assert_eq!(i.injected, [1, 0]);
        }
    }

    #[test]
    fn unfired_arming_is_reported_and_disarm_stops_it() {
        let mut i = Injector::new();
        i.enable();
        i.arm(Kind::Heap, 3).unwrap();
        assert!(!i.should_fail(Kind::Heap));
        assert_eq!(i.disarm(), Ok(false));
        for _ in 0..10 {
            assert!(!i.should_fail(Kind::Heap));
        }
    }

    #[test]
    fn suspended_allocations_are_neither_counted_nor_failed() {
        let mut i = Injector::new();
        i.enable();
        i.arm(Kind::Heap, 0).unwrap();
        i.suspend();
        assert!(!i.should_fail(Kind::Heap));
        i.resume();
        assert!(i.should_fail(Kind::Heap), "the first unsuspended one fails");
    }

    #[test]
    fn private_syscall_numbers_are_far_from_linux() {
        // ARM EABI: 0..~0x1d0 plus 0x0f0000..0x0f07ff; AArch64 < 0x200.
        for nr in [SYS_INJECT, SYS_MEMSTAT, SYS_KEXEC] {
            assert!(nr > 0x0f_ffff, "{nr:#x}");
        }
        assert_eq!(private_syscall(5, [0; 6], &MemStat::default), None);
    }

    #[test]
    fn seen_counts_each_kind_while_enabled() {
        let mut i = Injector::new();
        i.enable();
        for _ in 0..3 {
            i.should_fail(Kind::Frame);
        }
        for _ in 0..2 {
            i.should_fail(Kind::Heap);
        }
        assert_eq!(i.seen, [3, 2]);
        assert_eq!(i.injected, [0, 0]);
    }

    #[test]
    fn clamp_saturates_at_u32_max() {
        assert_eq!(clamp(7), 7);
        assert_eq!(clamp(u32::MAX as usize), u32::MAX);
        assert_eq!(clamp(usize::MAX), u32::MAX);
    }

    /// The one host test of the global switch. It arms only heap failures,
    /// which nothing else in the host tests asks for (the kernel's global
    /// allocator lives in the binary), and frame failures only so far ahead
    /// (2^32 - 1 allocations) that none can fire in a concurrent test.
    #[test]
    fn the_private_syscalls_end_to_end() {
        let enosys = Errno::ENOSYS.as_return();
        let einval = Errno::EINVAL.as_return();
        let stat = || MemStat {
            free_frames: 10,
            heap_used: 11,
            total_frames: 12,
            audit_violations: 13,
            audit_checks: 14,
        };
        // Off (no other host test turns it on): everything is ENOSYS (the
        // auditor is off on the host too) and the hooks never fail.
        assert!(!enabled());
        for op in 0..4 {
            assert_eq!(
                private_syscall(SYS_INJECT, [op, 0, 0, 0, 0, 0], &stat),
                Some(enosys)
            );
        }
        assert_eq!(private_syscall(SYS_MEMSTAT, [0; 6], &stat), Some(enosys));
        assert!(!fail(Kind::Heap, 64));
        enable();
        assert!(enabled());
        // memstat: each value by its index, then EINVAL.
        for (which, want) in [(0, 10), (1, 11), (2, 12), (3, 13), (4, 14), (5, einval)] {
            assert_eq!(
                private_syscall(SYS_MEMSTAT, [which, 0, 0, 0, 0, 0], &stat),
                Some(want),
                "memstat({which})"
            );
        }
        let inject = |op: usize, n: usize| private_syscall(SYS_INJECT, [op, n, 0, 0, 0, 0], &stat);
        assert_eq!(inject(3, 0), Some(einval));
        // Frames: armed far ahead, not fired when disarmed.
        assert_eq!(inject(OP_ARM_FRAME, usize::MAX), Some(0));
        assert!(!fail(Kind::Frame, 4096));
        assert_eq!(inject(OP_DISARM, 0), Some(0));
        // Heap: the second allocation from now fails, once; a suspended
        // one neither counts nor fails.
        assert_eq!(inject(OP_ARM_HEAP, 1), Some(0));
        {
            let _s = Suspend::new();
            assert!(!fail(Kind::Heap, 64));
            assert!(!fail(Kind::Heap, 64));
        }
        assert!(!fail(Kind::Heap, 64));
        assert!(fail(Kind::Heap, 64));
        assert!(!fail(Kind::Heap, 64));
        assert_eq!(inject(OP_DISARM, 0), Some(1));
        assert_eq!(inject(OP_DISARM, 0), Some(0));
        // reset disarms: an armed failure does not survive the task.
        assert_eq!(inject(OP_ARM_HEAP, 0), Some(0));
        reset();
        assert!(!fail(Kind::Heap, 64));
        assert_eq!(inject(OP_DISARM, 0), Some(0));
    }
}
