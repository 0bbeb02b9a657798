//! User tasks, independent of the architecture: the task and the running
//! processes ([`process`], [`KERNEL`]), and, by concern, [`exec`] (loading from the
//! initramfs), [`uaccess`] (copies to and from user memory), [`files`]
//! (file descriptors and their I/O), [`memory`] (the mm syscalls' glue)
//! and [`dispatch`] (one syscall, by meaning). The architecture maps its
//! syscall numbers onto [`Sys`] through `syscall::abi`, moves registers in
//! and out, and provides the [`Mmu`] of each address space.

#[cfg(target_os = "none")]
mod delivery;
mod devio;
mod dispatch;
mod exec;
mod files;
mod fsctx;
mod memory;
mod paths;
pub mod pipe;
pub mod process;
pub mod procfs;
#[cfg(target_os = "none")]
pub mod sched;
mod shared;
mod shebang;
pub mod signal;
mod stat;
pub mod tty;
mod uaccess;
mod vfs;

pub use exec::ExecError;
pub use process::{FutexKey, KStack, State, Wait, Wake};

pub use crate::syscall::abi::Sys;
pub use files::{File, Open, PipeStep};

use crate::errno::Errno;
use crate::kprintln;
use crate::loader::{elf, stack};
use crate::mm::space::{Access2, AddressSpace, Mmu};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

/// Where the architecture puts things in a user address space.
#[derive(Clone, Copy, Debug)]
pub struct UserLayout {
    pub task_size: usize,
    pub stack_top: usize,
    pub stack_size: usize,
    pub mmap_lo: usize,
    pub mmap_hi: usize,
    pub machine: elf::Machine,
    pub word: stack::WordSize,
    pub platform: &'static [u8],
    pub hwcap: u64,
    pub hwcap2: Option<u64>,
    pub pie_bias: u64,
}

/// How a task ended.
pub enum Ended {
    Exited(i32),
    /// Killed by this signal number.
    Killed(i32),
}

pub enum Outcome {
    Return(isize),
    Exit(i32),
}

/// The user FP/SIMD registers of a process while it is switched out. The
/// kernel is built without FP/SIMD code on both architectures
/// (`armv7a-none-eabi`, `aarch64-unknown-none-softfloat`), so while a
/// process runs, in user mode or in the kernel, its FP state stays live
/// in the unit; it is saved here at a switch away and loaded back when
/// the process is resumed (`arch::save_fp`/`restore_fp`).
#[derive(Clone, Copy)]
#[repr(C, align(16))]
pub struct FpState {
    /// ARMv7-A: d0-d31.
    #[cfg(not(target_arch = "aarch64"))]
    pub d: [u64; 32],
    /// ARMv7-A: FPSCR.
    #[cfg(not(target_arch = "aarch64"))]
    pub fpscr: u32,
    /// AArch64: v0-v31 (q0-q31), at offset 0.
    #[cfg(target_arch = "aarch64")]
    pub q: [u128; 32],
    /// AArch64: FPSR, at offset 512.
    #[cfg(target_arch = "aarch64")]
    pub fpsr: u32,
    /// AArch64: FPCR, at offset 516.
    #[cfg(target_arch = "aarch64")]
    pub fpcr: u32,
}

impl FpState {
    #[cfg(not(target_arch = "aarch64"))]
    pub const ZERO: FpState = FpState {
        d: [0; 32],
        fpscr: 0,
    };
    #[cfg(target_arch = "aarch64")]
    pub const ZERO: FpState = FpState {
        q: [0; 32],
        fpsr: 0,
        fpcr: 0,
    };
}

pub struct Task {
    pub pid: u32,
    pub name: String,
    pub space: AddressSpace,
    pub mmu: Box<dyn Mmu + Send>,
    pub fds: Vec<Option<File>>,
    pub layout: UserLayout,
    /// Syscall numbers already reported as unsupported (the first few:
    /// a fuzzer's random numbers must not grow kernel memory).
    reported: [usize; 16],
    reported_count: usize,
    /// Parent (0 for init) and process group.
    pub ppid: u32,
    pub pgid: u32,
    pub state: State,
    /// What woke the process from its last sleep.
    pub wake: Wake,
    /// When a sleep ends by itself (counter ticks), if it does.
    pub deadline: Option<u64>,
    /// `ITIMER_REAL`: (next expiry, interval), counter ticks.
    pub alarm: Option<(u64, u64)>,
    /// Actions, mask and pending signals (Linux's rules: `signal`).
    pub signals: signal::Signals,
    /// The kernel stack and the kernel sp saved while switched out.
    pub kstack: Option<KStack>,
    pub ksp: usize,
    pub fp: FpState,
    /// The ASID of this address space and its generation (`mm::asid`).
    pub asid: crate::mm::asid::AsidSlot,
    /// Set once the space took part in a fork: a present page may be
    /// read-only copy-on-write, so kernel writes fault it first.
    pub cow: bool,
}

/// The initramfs everyone opens files from (unpacked once at boot).
pub(super) static INITRAMFS: spin::Once<&'static [u8]> = spin::Once::new();

pub fn set_initramfs(bytes: &'static [u8]) {
    INITRAMFS.call_once(|| bytes);
}

impl Task {
    /// A process that is not yet schedulable (no kernel stack yet).
    pub fn new(
        pid: u32,
        name: String,
        space: AddressSpace,
        mmu: Box<dyn Mmu + Send>,
        fds: Vec<Option<File>>,
        layout: UserLayout,
    ) -> Task {
        Task {
            signals: signal::Signals::new(signal_abi(&layout)),
            pid,
            name,
            space,
            mmu,
            fds,
            layout,
            reported: [0; 16],
            reported_count: 0,
            ppid: 0,
            pgid: pid,
            state: State::Embryo,
            wake: Wake::None,
            deadline: None,
            alarm: None,
            kstack: None,
            ksp: 0,
            fp: FpState::ZERO,
            asid: crate::mm::asid::AsidSlot::NONE,
            cow: false,
        }
    }

    /// A `fork` child of `parent`, built in place in `slot` (its final
    /// heap place: a `Task` is about 3.7 KiB on ARMv7-A, mostly the signal
    /// actions and siginfos, and each move of a whole `Task` built on the
    /// stack is a copy of all of it; building it there and boxing it cost
    /// nine such copies per fork). Linux's `copy_process` rules: the
    /// child has its own pid, the parent's pid as its parent, the parent's
    /// process group, layout, FP registers (`fp`: the parent's, saved by
    /// the caller), signal actions and blocked mask with nothing pending
    /// (`Signals::fork`); no alarm (itimers are not inherited), no
    /// deadline; runnable, with the kernel stack `kstack` whose saved sp is
    /// `ksp`; an ASID of its own at its first switch. `space`, `mmu`,
    /// `fds` and `name` are the copies the caller made.
    #[allow(clippy::too_many_arguments)]
    pub fn fork_child(
        slot: Box<core::mem::MaybeUninit<Task>>,
        parent: &Task,
        pid: u32,
        name: String,
        space: AddressSpace,
        mmu: Box<dyn Mmu + Send>,
        fds: Vec<Option<File>>,
        kstack: KStack,
        ksp: usize,
    ) -> Box<Task> {
        use core::ptr::addr_of_mut;
        // Every field is written below: a field added to `Task` must be
        // added there too, or this pattern stops compiling.
        let _exhaustive = |t: Task| {
            let Task {
                pid: _,
                name: _,
                space: _,
                mmu: _,
                fds: _,
                layout: _,
                reported: _,
                reported_count: _,
                ppid: _,
                pgid: _,
                state: _,
                wake: _,
                deadline: _,
                alarm: _,
                signals: _,
                kstack: _,
                ksp: _,
                fp: _,
                asid: _,
                cow: _,
            } = t;
        };
        let p = Box::into_raw(slot).cast::<Task>();
        // SAFETY: `p` is the slot's allocation, with `Task`'s layout; every
        // field is written exactly once below before the Box is rebuilt
        // from it, so the `Box<Task>` holds a fully initialised Task (and
        // frees with the same layout).
        unsafe {
            addr_of_mut!((*p).pid).write(pid);
            addr_of_mut!((*p).name).write(name);
            addr_of_mut!((*p).space).write(space);
            addr_of_mut!((*p).mmu).write(mmu);
            addr_of_mut!((*p).fds).write(fds);
            addr_of_mut!((*p).layout).write(parent.layout);
            addr_of_mut!((*p).reported).write([0; 16]);
            addr_of_mut!((*p).reported_count).write(0);
            addr_of_mut!((*p).ppid).write(parent.pid);
            addr_of_mut!((*p).pgid).write(parent.pgid);
            addr_of_mut!((*p).state).write(State::Runnable);
            addr_of_mut!((*p).wake).write(Wake::None);
            addr_of_mut!((*p).deadline).write(None);
            addr_of_mut!((*p).alarm).write(None);
            parent.signals.fork_into(addr_of_mut!((*p).signals));
            addr_of_mut!((*p).kstack).write(Some(kstack));
            addr_of_mut!((*p).ksp).write(ksp);
            addr_of_mut!((*p).fp).write(parent.fp);
            addr_of_mut!((*p).asid).write(crate::mm::asid::AsidSlot::NONE);
            addr_of_mut!((*p).cow).write(true);
            Box::from_raw(p)
        }
    }

    /// Release every frame of the address space.
    pub fn teardown(&mut self) {
        self.space.teardown(self.mmu.as_mut());
    }

    pub(super) fn fd(&self, fd: i32) -> Result<&File, Errno> {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.fds.get(i))
            .and_then(|f| f.as_ref())
            .ok_or(Errno::EBADF)
    }
}

/// 16 bytes for AT_RANDOM: from the counter, mixed (not cryptographic;
/// there is no entropy source on this board).
pub(crate) fn random_bytes(seed: u32) -> [u8; 16] {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ seed as u64 ^ crate::arch::counter();
    let mut out = [0u8; 16];
    for chunk in out.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes());
    }
    out
}

/// The signal-frame ABI of a task with this layout.
pub fn signal_abi(layout: &UserLayout) -> signal::Abi {
    match layout.word {
        crate::loader::stack::WordSize::W32 => signal::Abi::Arm,
        crate::loader::stack::WordSize::W64 => signal::Abi::Aarch64,
    }
}

/// Every process; `current` is the one running (one CPU).
pub static KERNEL: spin::Mutex<process::Procs> = spin::Mutex::new(process::Procs::new());

/// Run `f` on the current process, if there is one.
pub fn with_current<R>(f: impl FnOnce(&mut Task) -> R) -> Option<R> {
    let mut g = KERNEL.lock();
    g.current_mut().map(f)
}

/// What became of a user abort.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// A lazy page is now mapped: return to the task.
    Resolved,
    /// A real fault: the task gets the fault's signal.
    Signal,
    /// The access was allowed but no frame is left: an out-of-memory kill
    /// (SIGKILL, as Linux's OOM killer).
    OutOfMemory,
    /// A page of a file mapping wholly past the end of the file: the task
    /// gets `SIGBUS` with `BUS_ADRERR` (`FaultInfo::past_end_of_file`).
    PastEndOfFile,
}

/// A user abort: a translation fault inside a mapping that allows the
/// access is resolved (lazy allocation), and so is a write to a
/// copy-on-write page; anything else is a signal. The flag says whether
/// the return to user mode has anything to check (a switch, a signal).
pub fn current_resolve_fault(
    info: &crate::mm::fault::FaultInfo,
    access: Access2,
) -> (Resolution, bool) {
    use crate::mm::fault::FaultKind;
    let resolvable = match info.kind {
        FaultKind::Translation => true,
        FaultKind::Permission => access == Access2::Write,
        _ => false,
    };
    if !resolvable {
        return (Resolution::Signal, true);
    }
    let mut k = KERNEL.lock();
    let resched = k.need_resched;
    let Some(task) = k.current_mut() else {
        return (Resolution::Signal, true);
    };
    if info.addr as usize >= task.layout.task_size {
        return (Resolution::Signal, true);
    }
    let Task { space, mmu, .. } = task;
    let r = match space.fault(mmu.as_mut(), info.addr as usize, access) {
        Ok(()) => Resolution::Resolved,
        Err(Errno::ENOMEM) => Resolution::OutOfMemory,
        // AddressSpace::fault's SIGBUS.
        Err(Errno::EIO) => Resolution::PastEndOfFile,
        Err(_) => Resolution::Signal,
    };
    // What the return to user mode must look at (one lock for both).
    let check = r != Resolution::Resolved || resched || task.signals.needs_attention();
    (r, check)
}

/// Report an out-of-memory kill of the current task.
pub fn current_oom_killed(info: &crate::mm::fault::FaultInfo) {
    with_current(|t| {
        kprintln!(
            "task {} ({}) killed: out of memory (SIGKILL): no free frame for a {} at 0x{:08x} pc=0x{:08x}; {} MiB mapped",
            t.pid,
            t.name,
            info.access.name(),
            info.addr,
            info.pc,
            t.space.vmas.mapped_bytes() >> 20
        );
    });
}

/// Report the kill of the current task by a fault.
pub fn current_killed(info: &crate::mm::fault::FaultInfo) {
    with_current(|t| kprintln!("task {} ({}) killed: {info}", t.pid, t.name));
}

/// A truncation whose pages must still leave the other processes'
/// mappings: (object, first page gone). Recorded by the syscall (which
/// runs with only its own process at hand) and applied by the scheduler
/// with the process table before the syscall returns ([`truncated`]).
static TRUNCATED: spin::Mutex<Option<(crate::mm::shm::ShmId, usize)>> = spin::Mutex::new(None);
/// Whether [`TRUNCATED`] may hold one: every syscall asks, almost none
/// truncate, so the common answer costs a load, not a lock.
static TRUNCATION_PENDING: core::sync::atomic::AtomicBool =
    core::sync::atomic::AtomicBool::new(false);

/// `ftruncate` (or `O_TRUNC`) shrank the file whose page cache is `obj`:
/// the pages from `first_gone` on leave every mapping of them (Linux's
/// `truncate_pagecache`, `unmap_mapping_range` with private copies too),
/// so the next touch faults and gets SIGBUS. The caller's own mappings
/// now, the other processes' before the syscall returns.
pub(crate) fn truncate_hook(task: &mut Task, obj: crate::mm::shm::ShmId, first_gone: usize) {
    task.space
        .truncate_mappings(task.mmu.as_mut(), obj, first_gone);
    let mut t = TRUNCATED.lock();
    *t = Some(match *t {
        // Two in one syscall (not made by any call now): the lower end
        // covers both only for one object; keep the first otherwise.
        Some((o, f)) if o == obj => (o, f.min(first_gone)),
        Some(other) => other,
        None => (obj, first_gone),
    });
    TRUNCATION_PENDING.store(true, core::sync::atomic::Ordering::Release);
}

/// The truncation recorded by the syscall that just ran, if any.
#[cfg_attr(not(target_os = "none"), allow(dead_code))]
pub(crate) fn truncated() -> Option<(crate::mm::shm::ShmId, usize)> {
    if !TRUNCATION_PENDING.swap(false, core::sync::atomic::Ordering::Acquire) {
        return None;
    }
    TRUNCATED.lock().take()
}
