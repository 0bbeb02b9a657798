//! Processes, signals, time and futexes: raw wrappers over the Linux syscalls for both
//! ABIs (ARM EABI numbers / AArch64 generic numbers, see [`crate::sys`]).
//!
//! * `fork` (ARM `fork`; AArch64 has none: `clone(SIGCHLD, 0, 0, 0, 0)`), [`clone`],
//!   [`vfork_exec`] (the vfork child runs only inside one asm block), [`execve`],
//!   [`wait4`] and the `W*` status helpers
//! * ids: [`getppid`], [`getuid`] .. [`getegid`] (the 32-bit-uid calls on ARM),
//!   [`setpgid`], [`getpgid`], [`gettid`], [`uname`]
//! * signals: [`sigaction`] (always with `SA_RESTORER` and our own restorer calling
//!   `rt_sigreturn`, as glibc does; on ARM a handler without `SA_SIGINFO` gets Linux's
//!   old `struct sigframe` and a restorer calling `sigreturn` (119)), [`rt_sigprocmask`], [`rt_sigpending`], [`kill`],
//!   [`SigInfo`]; handlers are `extern "C" fn(i32)` or, with `SA_SIGINFO`,
//!   `extern "C" fn(i32, *mut SigInfo, *mut c_void)`
//! * time: [`nanosleep_ns`], [`sched_yield`], [`setitimer`], [`alarm`] (through
//!   `setitimer(ITIMER_REAL)` on both: ARM EABI's `alarm` is OABI-only)
//! * [`futex_wait`], [`futex_wake`] (with or without `FUTEX_PRIVATE_FLAG`), [`mremap`]
use crate::sys::*;
use crate::{decode, syscall0, syscall1, syscall2, syscall3, syscall4, syscall5, syscall6};
use core::arch::global_asm;
use core::ffi::{c_void, CStr};
use core::sync::atomic::AtomicU32;

// ---------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------

/// `fork()`: the child's pid in the parent, 0 in the child.
pub fn fork() -> Result<usize, i32> {
    #[cfg(target_arch = "arm")]
    // SAFETY: fork duplicates the process; both continue here with their own memory.
    let r = unsafe { syscall0(FORK) };
    #[cfg(target_arch = "aarch64")]
    // SAFETY: as above (glibc's fork on arm64 is exactly this clone).
    let r = unsafe { syscall5(CLONE, SIGCHLD as usize, 0, 0, 0, 0) };
    decode(r)
}

/// Raw `clone(flags, newsp, parent_tid, tls, child_tid)` (the argument order of both ARM
/// and arm64).
///
/// # Safety
/// With `CLONE_VM` or a new stack the child shares or switches memory under the
/// compiler's feet; only plain fork-like flags are safe to return into Rust code.
pub unsafe fn clone(
    flags: usize,
    newsp: usize,
    ptid: usize,
    tls: usize,
    ctid: usize,
) -> Result<usize, i32> {
    // SAFETY: forwarded to the caller.
    decode(unsafe { syscall5(CLONE, flags, newsp, ptid, tls, ctid) })
}

/// `vfork()` whose child immediately calls `execve(path, argv, envp)` and, should that
/// fail, `exit_group(127)`, all inside one asm block so the child never touches the
/// stack it shares with the suspended parent. ARM uses `vfork`; AArch64 (which has
/// none) `clone(CLONE_VM | CLONE_VFORK | SIGCHLD, 0, ...)` like glibc. Returns the
/// child's pid once the child has exec'd or exited.
///
/// # Safety
/// `argv`/`envp` are NULL-terminated arrays of NUL-terminated strings that stay alive.
pub unsafe fn vfork_exec(
    path: &CStr,
    argv: *const *const u8,
    envp: *const *const u8,
) -> Result<usize, i32> {
    let r: isize;
    #[cfg(target_arch = "arm")]
    // SAFETY: vfork suspends the parent until the child execs or exits; the child runs
    // only the instructions below (registers, no memory), never returns into Rust.
    unsafe {
        core::arch::asm!(
            "mov r7, #190",
            "svc #0",
            "cmp r0, #0",
            "bne 2f",
            "mov r0, r4",
            "mov r1, r5",
            "mov r2, r8",
            "mov r7, #11",
            "svc #0",
            "mov r0, #127",
            "mov r7, #248",
            "svc #0",
            "2:",
            in("r4") path.as_ptr(),
            in("r5") argv,
            in("r8") envp,
            out("r0") r,
            out("r1") _, out("r2") _, out("r7") _,
            options(nostack)
        );
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: as above.
    unsafe {
        core::arch::asm!(
            "mov x0, #0x4111", // CLONE_VM | CLONE_VFORK | SIGCHLD
            "mov x1, #0",
            "mov x2, #0",
            "mov x3, #0",
            "mov x4, #0",
            "mov x8, #220",
            "svc #0",
            "cbnz x0, 2f",
            "mov x0, x9",
            "mov x1, x10",
            "mov x2, x11",
            "mov x8, #221",
            "svc #0",
            "mov x0, #127",
            "mov x8, #94",
            "svc #0",
            "2:",
            in("x9") path.as_ptr(),
            in("x10") argv,
            in("x11") envp,
            out("x0") r,
            out("x1") _, out("x2") _, out("x3") _, out("x4") _, out("x8") _,
            options(nostack)
        );
    }
    decode(r)
}

/// `execve(path, argv, envp)`: returns only on failure, with the errno.
///
/// # Safety
/// `argv`/`envp` are NULL-terminated arrays of NUL-terminated strings (or NULL).
pub unsafe fn execve(path: &CStr, argv: *const *const u8, envp: *const *const u8) -> i32 {
    // SAFETY: forwarded to the caller; on success the image is replaced.
    let r = unsafe { syscall3(EXECVE, path.as_ptr() as usize, argv as usize, envp as usize) };
    match decode(r) {
        Ok(_) => 0,
        Err(e) => e,
    }
}

/// `wait4(pid, &status, options, NULL)`: the pid reaped (0 with `WNOHANG` and nothing to
/// reap); `status` is written when a child was reaped.
pub fn wait4(pid: isize, status: &mut i32, options: u32) -> Result<usize, i32> {
    // SAFETY: the kernel writes one int into `status`.
    decode(unsafe {
        syscall4(
            WAIT4,
            pid as usize,
            status as *mut i32 as usize,
            options as usize,
            0,
        )
    })
}

/// `wait4(pid, ..)` retried on EINTR: `(pid, status)`.
pub fn waitpid(pid: isize) -> Result<(usize, i32), i32> {
    let mut st = 0;
    loop {
        match wait4(pid, &mut st, 0) {
            Ok(p) => return Ok((p, st)),
            Err(crate::errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
}

/// The child exited normally.
pub fn wifexited(status: i32) -> bool {
    status & 0x7f == 0
}
/// Its exit code (with [`wifexited`]).
pub fn wexitstatus(status: i32) -> i32 {
    (status >> 8) & 0xff
}
/// The child was killed by a signal.
pub fn wifsignaled(status: i32) -> bool {
    let s = status & 0x7f;
    s != 0 && s != 0x7f
}
/// The signal that killed it (with [`wifsignaled`]).
pub fn wtermsig(status: i32) -> i32 {
    status & 0x7f
}
/// A core dump was written.
pub fn wcoredump(status: i32) -> bool {
    status & 0x80 != 0
}

/// A shell-like description of a wait status: `exit 3`, `signal 9`, `status 0x...`.
pub struct WaitStatus(pub i32);

impl core::fmt::Display for WaitStatus {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let s = self.0;
        if wifexited(s) {
            write!(f, "exit {} (status {s:#x})", wexitstatus(s))
        } else if wifsignaled(s) {
            write!(f, "signal {} (status {s:#x})", wtermsig(s))
        } else {
            write!(f, "status {s:#x}")
        }
    }
}

/// `getppid()`.
pub fn getppid() -> usize {
    // SAFETY: no arguments, no memory.
    unsafe { syscall0(GETPPID) as usize }
}

/// `gettid()`.
pub fn gettid() -> usize {
    // SAFETY: no arguments, no memory.
    unsafe { syscall0(GETTID) as usize }
}

/// `getuid()` (ARM: `getuid32`).
pub fn getuid() -> Result<usize, i32> {
    // SAFETY: no arguments, no memory.
    decode(unsafe { syscall0(GETUID) })
}
/// `getgid()` (ARM: `getgid32`).
pub fn getgid() -> Result<usize, i32> {
    // SAFETY: no arguments, no memory.
    decode(unsafe { syscall0(GETGID) })
}
/// `geteuid()` (ARM: `geteuid32`).
pub fn geteuid() -> Result<usize, i32> {
    // SAFETY: no arguments, no memory.
    decode(unsafe { syscall0(GETEUID) })
}
/// `getegid()` (ARM: `getegid32`).
pub fn getegid() -> Result<usize, i32> {
    // SAFETY: no arguments, no memory.
    decode(unsafe { syscall0(GETEGID) })
}

/// `setpgid(pid, pgid)`.
pub fn setpgid(pid: usize, pgid: usize) -> Result<usize, i32> {
    // SAFETY: no memory.
    decode(unsafe { syscall2(SETPGID, pid, pgid) })
}

/// `getpgid(pid)`.
pub fn getpgid(pid: usize) -> Result<usize, i32> {
    // SAFETY: no memory.
    decode(unsafe { syscall1(GETPGID, pid) })
}

/// `struct utsname`: six NUL-terminated fields of 65 bytes.
#[repr(C)]
pub struct Utsname {
    pub sysname: [u8; 65],
    pub nodename: [u8; 65],
    pub release: [u8; 65],
    pub version: [u8; 65],
    pub machine: [u8; 65],
    pub domainname: [u8; 65],
}

/// `uname(&buf)`.
pub fn uname(buf: &mut Utsname) -> Result<usize, i32> {
    // SAFETY: the kernel writes one struct utsname into `buf`.
    decode(unsafe { syscall1(UNAME, buf as *mut Utsname as usize) })
}

/// The bytes before the first NUL of a fixed-size field (`None` if there is no NUL).
pub fn field_str(f: &[u8]) -> Option<&str> {
    let n = f.iter().position(|&b| b == 0)?;
    core::str::from_utf8(&f[..n]).ok()
}

/// `mremap(old, old_len, new_len, flags)` (no `new_address`).
pub fn mremap(old: usize, old_len: usize, new_len: usize, flags: usize) -> Result<usize, i32> {
    // SAFETY: only changes the caller's own mappings, which it chose.
    decode(unsafe { syscall4(MREMAP, old, old_len, new_len, flags) })
}

/// `mkdir(path, mode)` (AArch64: `mkdirat(AT_FDCWD, ..)`).
pub fn mkdir(path: &CStr, mode: u32) -> Result<usize, i32> {
    #[cfg(target_arch = "arm")]
    // SAFETY: the kernel reads a NUL-terminated string.
    let r = unsafe { syscall2(MKDIR, path.as_ptr() as usize, mode as usize) };
    #[cfg(target_arch = "aarch64")]
    // SAFETY: as above.
    let r = unsafe {
        syscall3(
            MKDIRAT,
            AT_FDCWD as isize as usize,
            path.as_ptr() as usize,
            mode as usize,
        )
    };
    decode(r)
}

/// `mount(source, target, fstype, flags, NULL)`.
pub fn mount(source: &CStr, target: &CStr, fstype: &CStr, flags: usize) -> Result<usize, i32> {
    // SAFETY: the kernel reads three NUL-terminated strings.
    decode(unsafe {
        syscall5(
            MOUNT,
            source.as_ptr() as usize,
            target.as_ptr() as usize,
            fstype.as_ptr() as usize,
            flags,
            0,
        )
    })
}

// ---------------------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------------------

/// `struct timespec` (two C longs on both ABIs; the ARM calls used here take 32-bit times).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct Timespec {
    pub sec: isize,
    pub nsec: isize,
}

impl Timespec {
    pub fn from_ns(ns: u64) -> Self {
        Timespec {
            sec: (ns / 1_000_000_000) as isize,
            nsec: (ns % 1_000_000_000) as isize,
        }
    }
}

/// `nanosleep(req, rem)`.
pub fn nanosleep(req: &Timespec, rem: Option<&mut Timespec>) -> Result<usize, i32> {
    let rem = rem.map_or(0, |r| r as *mut Timespec as usize);
    // SAFETY: the kernel reads `req` and writes `rem` when given.
    decode(unsafe { syscall2(NANOSLEEP, req as *const Timespec as usize, rem) })
}

/// Sleep `ns` nanoseconds (one `nanosleep`; EINTR is returned, not retried).
pub fn nanosleep_ns(ns: u64) -> Result<usize, i32> {
    nanosleep(&Timespec::from_ns(ns), None)
}

/// Monotonic time in nanoseconds (0 if the clock fails).
pub fn now_ns() -> u64 {
    crate::clock_gettime_ns(CLOCK_MONOTONIC).unwrap_or(0)
}

/// `sched_yield()`.
pub fn sched_yield() -> Result<usize, i32> {
    // SAFETY: no memory.
    decode(unsafe { syscall0(SCHED_YIELD) })
}

/// `struct itimerval`: interval and value, each a `struct timeval` (two C longs).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct Itimerval {
    pub interval_sec: isize,
    pub interval_usec: isize,
    pub value_sec: isize,
    pub value_usec: isize,
}

/// `setitimer(which, new, old)`.
pub fn setitimer(which: u32, new: &Itimerval, old: Option<&mut Itimerval>) -> Result<usize, i32> {
    let old = old.map_or(0, |o| o as *mut Itimerval as usize);
    // SAFETY: the kernel reads `new` and writes `old` when given.
    decode(unsafe {
        syscall3(
            SETITIMER,
            which as usize,
            new as *const Itimerval as usize,
            old,
        )
    })
}

/// `alarm(secs)` the way glibc does it where there is no `alarm` syscall (AArch64, ARM
/// EABI): `setitimer(ITIMER_REAL, {0, secs})`; returns the seconds that were left on the
/// previous alarm (rounded to the nearest second, at least 1 if one was pending).
pub fn alarm(secs: u32) -> Result<usize, i32> {
    let new = Itimerval {
        value_sec: secs as isize,
        ..Default::default()
    };
    let mut old = Itimerval::default();
    setitimer(ITIMER_REAL, &new, Some(&mut old))?;
    let mut left = old.value_sec as usize;
    if (old.value_usec != 0 && left == 0) || old.value_usec >= 500_000 {
        left += 1;
    }
    Ok(left)
}

// ---------------------------------------------------------------------------------------
// Futexes
// ---------------------------------------------------------------------------------------

/// Raw `futex(uaddr, op, val, timeout_or_val2, uaddr2, val3)`.
///
/// # Safety
/// `uaddr` (and `uaddr2` for the operations that use it) are the caller's futex words.
pub unsafe fn futex(
    uaddr: usize,
    op: u32,
    val: u32,
    timeout: usize,
    uaddr2: usize,
    val3: u32,
) -> Result<usize, i32> {
    // SAFETY: forwarded to the caller.
    decode(unsafe {
        syscall6(
            FUTEX,
            uaddr,
            op as usize,
            val as usize,
            timeout,
            uaddr2,
            val3 as usize,
        )
    })
}

/// `FUTEX_WAIT`: sleep while `*word == expected` (EAGAIN if it is not), until a
/// `FUTEX_WAKE`, a signal (EINTR) or the relative `timeout_ns` (ETIMEDOUT).
/// `private` adds `FUTEX_PRIVATE_FLAG` (only waiters of this process match).
pub fn futex_wait(
    word: &AtomicU32,
    expected: u32,
    private: bool,
    timeout_ns: Option<u64>,
) -> Result<usize, i32> {
    let ts = timeout_ns.map(Timespec::from_ns);
    let tsp = ts.as_ref().map_or(0, |t| t as *const Timespec as usize);
    let op = FUTEX_WAIT | if private { FUTEX_PRIVATE_FLAG } else { 0 };
    // SAFETY: `word` is a live u32; the timeout is read by the kernel.
    unsafe { futex(word.as_ptr() as usize, op, expected, tsp, 0, 0) }
}

/// `FUTEX_WAKE`: wake up to `n` waiters on `word`; returns how many were woken.
pub fn futex_wake(word: &AtomicU32, n: u32, private: bool) -> Result<usize, i32> {
    let op = FUTEX_WAKE | if private { FUTEX_PRIVATE_FLAG } else { 0 };
    // SAFETY: `word` is a live u32; FUTEX_WAKE does not write memory.
    unsafe { futex(word.as_ptr() as usize, op, n, 0, 0, 0) }
}

// ---------------------------------------------------------------------------------------
// Signals
// ---------------------------------------------------------------------------------------

/// The kernel's `struct sigaction` (ARM and arm64): handler, flags, restorer, mask
/// (`sigset_t` of 64 bits: two `unsigned long` on ARM, one on arm64; as two u32 it has
/// the alignment of both).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct KSigAction {
    pub handler: usize,
    pub flags: usize,
    pub restorer: usize,
    pub mask: [u32; 2],
}

impl KSigAction {
    pub fn mask(&self) -> u64 {
        self.mask[0] as u64 | (self.mask[1] as u64) << 32
    }
}

/// `siginfo_t` (128 bytes): signo, errno, code, then the union (at byte 12 on ARM, 16 on
/// arm64, pointer-aligned).
#[repr(C)]
pub struct SigInfo {
    pub signo: i32,
    pub errno: i32,
    pub code: i32,
    #[cfg(target_arch = "aarch64")]
    _pad: i32,
    /// The union, as words.
    pub fields: [usize; 12],
}

impl SigInfo {
    fn int(&self, i: usize) -> i32 {
        // SAFETY: reads the i-th 32-bit int of the union, inside `fields`.
        unsafe { *(self.fields.as_ptr() as *const i32).add(i) }
    }
    /// `si_pid` (kill, sigqueue, SIGCHLD).
    pub fn pid(&self) -> i32 {
        self.int(0)
    }
    /// `si_uid`.
    pub fn uid(&self) -> u32 {
        self.int(1) as u32
    }
    /// `si_status` (SIGCHLD: exit code or signal).
    pub fn status(&self) -> i32 {
        self.int(2)
    }
    /// `si_addr` (SIGSEGV, SIGBUS, SIGILL, SIGFPE).
    pub fn addr(&self) -> usize {
        self.fields[0]
    }
}

/// A one-argument handler (`sa_handler`).
pub type Handler = extern "C" fn(i32);
/// A three-argument handler (`sa_sigaction`, with `SA_SIGINFO`).
pub type InfoHandler = extern "C" fn(i32, *mut SigInfo, *mut c_void);

extern "C" {
    /// The restorer the kernel returns to after a handler: `rt_sigreturn`.
    fn __armmu_user_rt_sigreturn();
    /// ARM only: the restorer of the non-RT frame (`sigreturn`, 119).
    #[cfg(target_arch = "arm")]
    fn __armmu_user_sigreturn();
}

// ARM (like glibc's __default_sa_restorer / __default_rt_sa_restorer): Linux builds an RT
// frame (ucontext + siginfo) only for SA_SIGINFO handlers, to be left with `rt_sigreturn`
// (173); a handler without SA_SIGINFO gets the old `struct sigframe`, left with
// `sigreturn` (119). Returning from the old frame through rt_sigreturn reads garbage
// (Linux 6.1 armmp kills the process with SIGSEGV).
#[cfg(target_arch = "arm")]
global_asm!(
    ".section .text.__armmu_user_sigreturn, \"ax\", %progbits",
    ".global __armmu_user_rt_sigreturn",
    ".type __armmu_user_rt_sigreturn, %function",
    ".global __armmu_user_sigreturn",
    ".type __armmu_user_sigreturn, %function",
    ".arm",
    "__armmu_user_rt_sigreturn:",
    "    mov r7, #173", // rt_sigreturn
    "    svc #0",
    "    udf #0",
    ".size __armmu_user_rt_sigreturn, . - __armmu_user_rt_sigreturn",
    "__armmu_user_sigreturn:",
    "    mov r7, #119", // sigreturn
    "    svc #0",
    "    udf #0",
    ".size __armmu_user_sigreturn, . - __armmu_user_sigreturn",
);

#[cfg(target_arch = "aarch64")]
global_asm!(
    ".section .text.__armmu_user_sigreturn, \"ax\", %progbits",
    ".global __armmu_user_rt_sigreturn",
    ".type __armmu_user_rt_sigreturn, %function",
    "__armmu_user_rt_sigreturn:",
    "    mov x8, #139", // rt_sigreturn
    "    svc #0",
    "    udf #0",
    ".size __armmu_user_rt_sigreturn, . - __armmu_user_rt_sigreturn",
);

/// The address of the library's restorer for a handler with these `sa_flags`: the one
/// calling `rt_sigreturn`; on ARM without `SA_SIGINFO` the one calling `sigreturn`.
pub fn restorer(flags: usize) -> usize {
    #[cfg(target_arch = "arm")]
    if flags & SA_SIGINFO == 0 {
        return __armmu_user_sigreturn as *const () as usize;
    }
    let _ = flags;
    __armmu_user_rt_sigreturn as *const () as usize
}

/// Raw `rt_sigaction(sig, act, oldact, 8)`.
pub fn rt_sigaction(
    sig: i32,
    act: Option<&KSigAction>,
    old: Option<&mut KSigAction>,
) -> Result<usize, i32> {
    let a = act.map_or(0, |a| a as *const KSigAction as usize);
    let o = old.map_or(0, |o| o as *mut KSigAction as usize);
    // SAFETY: the kernel reads `act` and writes `old`, each one struct sigaction.
    decode(unsafe { syscall4(RT_SIGACTION, sig as usize, a, o, 8) })
}

/// Install `handler` (an address: a [`Handler`]/[`InfoHandler`] cast to usize, or
/// `SIG_DFL`/`SIG_IGN`) with `flags` (plus `SA_RESTORER` and the library's restorer for
/// real handlers) and the extra `mask` blocked while it runs.
pub fn sigaction(sig: i32, handler: usize, flags: usize, mask: u64) -> Result<usize, i32> {
    let mut act = KSigAction {
        handler,
        flags,
        restorer: 0,
        mask: [mask as u32, (mask >> 32) as u32],
    };
    if handler != SIG_DFL && handler != SIG_IGN {
        act.flags |= SA_RESTORER;
        act.restorer = restorer(flags);
    }
    rt_sigaction(sig, Some(&act), None)
}

/// Install a one-argument handler.
pub fn signal(sig: i32, h: Handler, flags: usize) -> Result<usize, i32> {
    sigaction(sig, h as usize, flags, 0)
}

/// Install an `SA_SIGINFO` handler.
pub fn signal_info(sig: i32, h: InfoHandler, flags: usize) -> Result<usize, i32> {
    sigaction(sig, h as usize, flags | SA_SIGINFO, 0)
}

/// The address of an `SA_SIGINFO` handler, for [`sigaction`] and comparisons.
pub fn info_handler_addr(h: InfoHandler) -> usize {
    h as usize
}

/// The bit of `sig` in a signal set.
pub const fn sigbit(sig: i32) -> u64 {
    1 << (sig - 1)
}

/// `rt_sigprocmask(how, set, oldset, 8)`; returns the old mask.
pub fn rt_sigprocmask(how: u32, set: Option<u64>) -> Result<u64, i32> {
    let mut old: u64 = 0;
    let s = set.unwrap_or(0);
    let sp = if set.is_some() {
        &s as *const u64 as usize
    } else {
        0
    };
    // SAFETY: the kernel reads `s` and writes `old`, 8 bytes each.
    decode(unsafe {
        syscall4(
            RT_SIGPROCMASK,
            how as usize,
            sp,
            &mut old as *mut u64 as usize,
            8,
        )
    })?;
    Ok(old)
}

/// `rt_sigpending(set, 8)`.
pub fn rt_sigpending() -> Result<u64, i32> {
    let mut set: u64 = 0;
    // SAFETY: the kernel writes 8 bytes.
    decode(unsafe { syscall2(RT_SIGPENDING, &mut set as *mut u64 as usize, 8) })?;
    Ok(set)
}

/// `rt_sigsuspend(mask, 8)`: always returns EINTR after a handler ran.
pub fn rt_sigsuspend(mask: u64) -> Result<usize, i32> {
    // SAFETY: the kernel reads 8 bytes.
    decode(unsafe { syscall2(RT_SIGSUSPEND, &mask as *const u64 as usize, 8) })
}

/// `kill(pid, sig)` (pid < -1: the process group -pid; 0: the caller's group).
pub fn kill(pid: isize, sig: i32) -> Result<usize, i32> {
    // SAFETY: no memory.
    decode(unsafe { syscall2(KILL, pid as usize, sig as usize) })
}

/// `exit_group` straight from anywhere, a signal handler included (like `_exit`).
pub fn exit_now(code: i32) -> ! {
    crate::exit(code)
}

/// A pointer-free word in memory shared between processes (a `MAP_SHARED` mapping).
///
/// # Safety
/// `addr` is 4-byte aligned and stays mapped for `'static` (the programs never unmap
/// their shared pages).
pub unsafe fn shared_word(addr: usize) -> &'static AtomicU32 {
    // SAFETY: forwarded to the caller; AtomicU32 has the layout of u32.
    unsafe { &*(addr as *const AtomicU32) }
}
