//! armmu-user: a tiny `no_std` runtime for static Linux programs (ARM EABI and AArch64).
//!
//! Everything here speaks the *Linux* syscall ABI, so the same binaries run under armmu,
//! under a real Linux kernel and under `qemu-arm`/`qemu-aarch64` (user mode), which is
//! how the expectations in `src/bin/` are validated.
//!
//! * raw syscalls: [`syscall0`] .. [`syscall6`] (ARM: number in r7; AArch64: number in x8)
//! * typed helpers returning `Result<usize, i32>` (the `Err` is a positive errno)
//! * [`print!`]/[`println!`] over fd 1 without allocation
//! * `_start` reading argc/argv/envp/auxv from the initial stack, calling the binary's
//!   `main(Args) -> i32` registered with [`entry!`], then `exit_group(ret)`
//! * a TAP-like test framework ([`check`], [`finish`]) and [`cntvct`] for benchmarks
#![no_std]

use core::arch::{asm, global_asm};
use core::ffi::CStr;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU32, Ordering};

#[cfg(not(any(target_arch = "arm", target_arch = "aarch64")))]
compile_error!("armmu-user supports only arm (ARM EABI) and aarch64");

pub mod process;
pub use process::*;

/// Syscall numbers and flag values of the Linux ABI for the architecture being built.
pub mod sys {
    /// ARM EABI syscall numbers (`svc #0`, number in r7).
    #[cfg(target_arch = "arm")]
    mod nr {
        pub const EXIT: usize = 1;
        pub const READ: usize = 3;
        pub const WRITE: usize = 4;
        pub const OPEN: usize = 5;
        pub const CLOSE: usize = 6;
        pub const GETPID: usize = 20;
        pub const BRK: usize = 45;
        pub const IOCTL: usize = 54;
        pub const MUNMAP: usize = 91;
        pub const MPROTECT: usize = 125;
        pub const WRITEV: usize = 146;
        /// `mmap2`: the offset is in 4096-byte units.
        pub const MMAP2: usize = 192;
        pub const MADVISE: usize = 220;
        pub const EXIT_GROUP: usize = 248;
        pub const SET_TID_ADDRESS: usize = 256;
        pub const OPENAT: usize = 322;
        /// `clock_gettime` with the 32-bit `struct timespec`.
        pub const CLOCK_GETTIME: usize = 263;
        /// `clock_nanosleep` with the 32-bit `struct timespec`.
        pub const CLOCK_NANOSLEEP: usize = 265;
        /// ARM private syscall `set_tls` (`__ARM_NR_BASE + 5`).
        pub const ARM_SET_TLS: usize = 0xf0005;

        // Processes and signals.
        pub const FORK: usize = 2;
        pub const EXECVE: usize = 11;
        pub const MOUNT: usize = 21;
        /// `alarm`: an OABI-only entry; an EABI kernel without `OABI_COMPAT` (Debian's
        /// armmp) answers ENOSYS, so [`crate::alarm`] uses `setitimer` like glibc.
        pub const OABI_ALARM: usize = 27;
        pub const PAUSE: usize = 29;
        pub const KILL: usize = 37;
        pub const MKDIR: usize = 39;
        pub const SETPGID: usize = 57;
        pub const GETPPID: usize = 64;
        pub const GETPGRP: usize = 65;
        pub const SETSID: usize = 66;
        pub const SETITIMER: usize = 104;
        pub const GETITIMER: usize = 105;
        pub const WAIT4: usize = 114;
        /// `clone(flags, newsp, parent_tid, tls, child_tid)` (CLONE_BACKWARDS order).
        pub const CLONE: usize = 120;
        pub const UNAME: usize = 122;
        pub const GETPGID: usize = 132;
        pub const SCHED_YIELD: usize = 158;
        /// `nanosleep` with the 32-bit `struct timespec`.
        pub const NANOSLEEP: usize = 162;
        pub const MREMAP: usize = 163;
        pub const RT_SIGRETURN: usize = 173;
        pub const RT_SIGACTION: usize = 174;
        pub const RT_SIGPROCMASK: usize = 175;
        pub const RT_SIGPENDING: usize = 176;
        pub const RT_SIGSUSPEND: usize = 179;
        pub const VFORK: usize = 190;
        /// The 32-bit-uid calls (`getuid32` ...).
        pub const GETUID: usize = 199;
        pub const GETGID: usize = 200;
        pub const GETEUID: usize = 201;
        pub const GETEGID: usize = 202;
        pub const GETTID: usize = 224;
        /// `futex` with the 32-bit `struct timespec`.
        pub const FUTEX: usize = 240;
        pub const TGKILL: usize = 268;
    }

    /// AArch64 syscall numbers (`svc #0`, number in x8). There is no `open`: use `openat`.
    #[cfg(target_arch = "aarch64")]
    mod nr {
        pub const IOCTL: usize = 29;
        pub const OPENAT: usize = 56;
        pub const CLOSE: usize = 57;
        pub const READ: usize = 63;
        pub const WRITE: usize = 64;
        pub const WRITEV: usize = 66;
        pub const EXIT: usize = 93;
        pub const EXIT_GROUP: usize = 94;
        pub const SET_TID_ADDRESS: usize = 96;
        pub const GETPID: usize = 172;
        pub const BRK: usize = 214;
        pub const MUNMAP: usize = 215;
        /// `mmap`: the offset is in bytes.
        pub const MMAP: usize = 222;
        pub const MPROTECT: usize = 226;
        pub const MADVISE: usize = 233;
        pub const CLOCK_GETTIME: usize = 113;
        pub const CLOCK_NANOSLEEP: usize = 115;

        // Processes and signals. No fork, vfork, alarm, pause, getpgrp or mkdir here:
        // clone, setitimer, rt_sigsuspend, getpgid(0) and mkdirat stand in.
        pub const MKDIRAT: usize = 34;
        pub const MOUNT: usize = 40;
        pub const FUTEX: usize = 98;
        pub const NANOSLEEP: usize = 101;
        pub const GETITIMER: usize = 102;
        pub const SETITIMER: usize = 103;
        pub const SCHED_YIELD: usize = 124;
        pub const KILL: usize = 129;
        pub const TGKILL: usize = 131;
        pub const RT_SIGSUSPEND: usize = 133;
        pub const RT_SIGACTION: usize = 134;
        pub const RT_SIGPROCMASK: usize = 135;
        pub const RT_SIGPENDING: usize = 136;
        pub const RT_SIGRETURN: usize = 139;
        pub const SETPGID: usize = 154;
        pub const GETPGID: usize = 155;
        pub const SETSID: usize = 157;
        pub const UNAME: usize = 160;
        pub const GETPPID: usize = 173;
        pub const GETUID: usize = 174;
        pub const GETEUID: usize = 175;
        pub const GETGID: usize = 176;
        pub const GETEGID: usize = 177;
        pub const GETTID: usize = 178;
        pub const MREMAP: usize = 216;
        /// `clone(flags, newsp, parent_tid, tls, child_tid)`.
        pub const CLONE: usize = 220;
        pub const EXECVE: usize = 221;
        pub const WAIT4: usize = 260;
    }
    pub use nr::*;

    pub const PROT_NONE: u32 = 0;
    pub const PROT_READ: u32 = 1;
    pub const PROT_WRITE: u32 = 2;
    pub const PROT_EXEC: u32 = 4;

    pub const MAP_SHARED: u32 = 0x01;
    pub const MAP_PRIVATE: u32 = 0x02;
    pub const MAP_SHARED_VALIDATE: u32 = 0x03;
    pub const MAP_TYPE: u32 = 0x0f;
    pub const MAP_FIXED: u32 = 0x10;
    pub const MAP_ANONYMOUS: u32 = 0x20;
    pub const MAP_POPULATE: u32 = 0x8000;
    pub const MAP_FIXED_NOREPLACE: u32 = 0x10_0000;

    pub const O_RDONLY: u32 = 0;
    pub const O_WRONLY: u32 = 1;
    pub const O_RDWR: u32 = 2;
    /// `O_SYNC` (`__O_SYNC | O_DSYNC`): the generic value 0o4010000 on ARM and arm64.
    pub const O_SYNC: u32 = 0o4010000;

    pub const AT_FDCWD: i32 = -100;

    pub const MADV_NORMAL: u32 = 0;
    pub const MADV_DONTNEED: u32 = 4;

    pub const TCGETS: u32 = 0x5401;

    pub const CLOCK_REALTIME: u32 = 0;
    pub const CLOCK_MONOTONIC: u32 = 1;

    /// Signal numbers (the same on ARM and arm64).
    pub const SIGHUP: i32 = 1;
    pub const SIGINT: i32 = 2;
    pub const SIGQUIT: i32 = 3;
    pub const SIGILL: i32 = 4;
    pub const SIGTRAP: i32 = 5;
    pub const SIGABRT: i32 = 6;
    pub const SIGBUS: i32 = 7;
    pub const SIGFPE: i32 = 8;
    pub const SIGKILL: i32 = 9;
    pub const SIGUSR1: i32 = 10;
    pub const SIGSEGV: i32 = 11;
    pub const SIGUSR2: i32 = 12;
    pub const SIGPIPE: i32 = 13;
    pub const SIGALRM: i32 = 14;
    pub const SIGTERM: i32 = 15;
    pub const SIGCHLD: i32 = 17;
    pub const SIGCONT: i32 = 18;
    pub const SIGSTOP: i32 = 19;

    /// `sa_flags`.
    pub const SA_NOCLDSTOP: usize = 0x1;
    pub const SA_NOCLDWAIT: usize = 0x2;
    pub const SA_SIGINFO: usize = 0x4;
    pub const SA_RESTORER: usize = 0x0400_0000;
    pub const SA_ONSTACK: usize = 0x0800_0000;
    pub const SA_RESTART: usize = 0x1000_0000;
    pub const SA_NODEFER: usize = 0x4000_0000;
    pub const SA_RESETHAND: usize = 0x8000_0000;
    /// Special handlers.
    pub const SIG_DFL: usize = 0;
    pub const SIG_IGN: usize = 1;
    /// `rt_sigprocmask` `how`.
    pub const SIG_BLOCK: u32 = 0;
    pub const SIG_UNBLOCK: u32 = 1;
    pub const SIG_SETMASK: u32 = 2;

    /// `si_code` values.
    pub const SI_USER: i32 = 0;
    pub const SI_KERNEL: i32 = 0x80;
    pub const SEGV_MAPERR: i32 = 1;
    pub const SEGV_ACCERR: i32 = 2;
    pub const ILL_ILLOPC: i32 = 1;
    pub const CLD_EXITED: i32 = 1;
    pub const CLD_KILLED: i32 = 2;
    pub const CLD_DUMPED: i32 = 3;

    /// `clone` flags (the low byte is the exit signal).
    pub const CLONE_VM: usize = 0x100;
    pub const CLONE_VFORK: usize = 0x4000;

    /// `wait4` options.
    pub const WNOHANG: u32 = 1;
    pub const WUNTRACED: u32 = 2;

    /// `futex` operations.
    pub const FUTEX_WAIT: u32 = 0;
    pub const FUTEX_WAKE: u32 = 1;
    pub const FUTEX_PRIVATE_FLAG: u32 = 128;

    /// `setitimer` timers.
    pub const ITIMER_REAL: u32 = 0;
    pub const ITIMER_VIRTUAL: u32 = 1;
    pub const ITIMER_PROF: u32 = 2;

    /// Auxiliary vector keys.
    pub const AT_NULL: usize = 0;
    pub const AT_PHDR: usize = 3;
    pub const AT_PAGESZ: usize = 6;
    pub const AT_ENTRY: usize = 9;
    pub const AT_HWCAP: usize = 16;
    pub const AT_RANDOM: usize = 25;
}

/// Linux errno values (identical on ARM and arm64).
pub mod errno {
    pub const EPERM: i32 = 1;
    pub const ENOENT: i32 = 2;
    pub const ESRCH: i32 = 3;
    pub const EINTR: i32 = 4;
    pub const EIO: i32 = 5;
    pub const E2BIG: i32 = 7;
    pub const ENOEXEC: i32 = 8;
    pub const EBADF: i32 = 9;
    pub const ECHILD: i32 = 10;
    pub const EAGAIN: i32 = 11;
    pub const ENOMEM: i32 = 12;
    pub const EACCES: i32 = 13;
    pub const EFAULT: i32 = 14;
    pub const EBUSY: i32 = 16;
    pub const EEXIST: i32 = 17;
    pub const ENODEV: i32 = 19;
    pub const EINVAL: i32 = 22;
    pub const ENOTDIR: i32 = 20;
    pub const EISDIR: i32 = 21;
    pub const EMFILE: i32 = 24;
    pub const ENOTTY: i32 = 25;
    pub const EROFS: i32 = 30;
    pub const ENAMETOOLONG: i32 = 36;
    pub const ENOSYS: i32 = 38;
    pub const EOVERFLOW: i32 = 75;
    pub const EOPNOTSUPP: i32 = 95;
    pub const ETIMEDOUT: i32 = 110;

    /// Symbolic name of an errno, for messages.
    pub fn name(e: i32) -> &'static str {
        match e {
            EPERM => "EPERM",
            ENOENT => "ENOENT",
            ESRCH => "ESRCH",
            EINTR => "EINTR",
            EIO => "EIO",
            E2BIG => "E2BIG",
            ENOEXEC => "ENOEXEC",
            EBADF => "EBADF",
            ECHILD => "ECHILD",
            EAGAIN => "EAGAIN",
            ENOMEM => "ENOMEM",
            EACCES => "EACCES",
            EFAULT => "EFAULT",
            EBUSY => "EBUSY",
            EEXIST => "EEXIST",
            ENODEV => "ENODEV",
            EINVAL => "EINVAL",
            ENOTDIR => "ENOTDIR",
            EISDIR => "EISDIR",
            EMFILE => "EMFILE",
            ENOTTY => "ENOTTY",
            EROFS => "EROFS",
            ENAMETOOLONG => "ENAMETOOLONG",
            EOPNOTSUPP => "EOPNOTSUPP",
            ENOSYS => "ENOSYS",
            EOVERFLOW => "EOVERFLOW",
            ETIMEDOUT => "ETIMEDOUT",
            _ => "E?",
        }
    }
}

/// Page size used by the programs (4 KiB on both architectures).
pub const PAGE: usize = 4096;

/// The architecture name, for messages.
#[cfg(target_arch = "arm")]
pub const ARCH: &str = "arm";
/// The architecture name, for messages.
#[cfg(target_arch = "aarch64")]
pub const ARCH: &str = "aarch64";

/// A kernel address that user space must not touch: 0xC000_0000 (the 3G/1G split) on ARM,
/// the bottom of the TTBR1 half on AArch64. Fault programs take `ADDR=0x...` to override.
#[cfg(target_arch = "arm")]
pub const KERNEL_ADDR: usize = 0xC000_0000;
/// A kernel address that user space must not touch (see the ARM variant).
#[cfg(target_arch = "aarch64")]
pub const KERNEL_ADDR: usize = 0xFFFF_0000_0000_0000;

/// The first address above user space on armmu (its TASK_SIZE): 0x8000_0000 on ARMv7-A
/// (TTBCR.N = 1: TTBR0 covers the low 2 GiB), 2^39 on AArch64 (T0SZ = 25). Linux's is
/// higher (ARM armmp: 0xBF00_0000; arm64 with 48-bit VAs: 2^48), so programs that probe it
/// take `USER_TOP=0x...` to run against Linux.
#[cfg(target_arch = "arm")]
pub const USER_TOP: usize = 0x8000_0000;
/// The first address above user space on armmu (see the ARM variant).
#[cfg(target_arch = "aarch64")]
pub const USER_TOP: usize = 0x0000_0080_0000_0000;

// ---------------------------------------------------------------------------------------
// Raw syscalls
// ---------------------------------------------------------------------------------------

/// Raw syscall with 0 arguments; returns the kernel's r0/x0 (negative errno on failure).
///
/// # Safety
/// A syscall can do anything to the process (unmap memory in use, exit, ...); the caller
/// must uphold whatever the particular syscall requires.
#[inline(always)]
pub unsafe fn syscall0(n: usize) -> isize {
    syscall6(n, 0, 0, 0, 0, 0, 0)
}

/// Raw syscall with 1 argument. See [`syscall0`].
///
/// # Safety
/// As [`syscall0`].
#[inline(always)]
pub unsafe fn syscall1(n: usize, a0: usize) -> isize {
    syscall6(n, a0, 0, 0, 0, 0, 0)
}

/// Raw syscall with 2 arguments. See [`syscall0`].
///
/// # Safety
/// As [`syscall0`].
#[inline(always)]
pub unsafe fn syscall2(n: usize, a0: usize, a1: usize) -> isize {
    syscall6(n, a0, a1, 0, 0, 0, 0)
}

/// Raw syscall with 3 arguments. See [`syscall0`].
///
/// # Safety
/// As [`syscall0`].
#[inline(always)]
pub unsafe fn syscall3(n: usize, a0: usize, a1: usize, a2: usize) -> isize {
    syscall6(n, a0, a1, a2, 0, 0, 0)
}

/// Raw syscall with 4 arguments. See [`syscall0`].
///
/// # Safety
/// As [`syscall0`].
#[inline(always)]
pub unsafe fn syscall4(n: usize, a0: usize, a1: usize, a2: usize, a3: usize) -> isize {
    syscall6(n, a0, a1, a2, a3, 0, 0)
}

/// Raw syscall with 5 arguments. See [`syscall0`].
///
/// # Safety
/// As [`syscall0`].
#[inline(always)]
pub unsafe fn syscall5(n: usize, a0: usize, a1: usize, a2: usize, a3: usize, a4: usize) -> isize {
    syscall6(n, a0, a1, a2, a3, a4, 0)
}

/// Raw syscall with 6 arguments (ARM EABI: number in r7, args r0-r5, result r0).
///
/// # Safety
/// As [`syscall0`].
#[cfg(target_arch = "arm")]
#[inline(always)]
pub unsafe fn syscall6(
    n: usize,
    a0: usize,
    a1: usize,
    a2: usize,
    a3: usize,
    a4: usize,
    a5: usize,
) -> isize {
    let ret: isize;
    // SAFETY: `svc #0` enters the kernel with the Linux EABI convention; the kernel
    // preserves every register except r0. Memory may be read or written by the kernel,
    // so no `nomem`/`readonly` option; it does not touch our stack.
    unsafe {
        asm!(
            "svc #0",
            in("r7") n,
            inlateout("r0") a0 => ret,
            in("r1") a1,
            in("r2") a2,
            in("r3") a3,
            in("r4") a4,
            in("r5") a5,
            options(nostack)
        );
    }
    ret
}

/// Raw syscall with 6 arguments (AArch64: number in x8, args x0-x5, result x0).
///
/// # Safety
/// As [`syscall0`].
#[cfg(target_arch = "aarch64")]
#[inline(always)]
pub unsafe fn syscall6(
    n: usize,
    a0: usize,
    a1: usize,
    a2: usize,
    a3: usize,
    a4: usize,
    a5: usize,
) -> isize {
    let ret: isize;
    // SAFETY: `svc #0` enters the kernel with the Linux AArch64 convention; the kernel
    // preserves every register except x0. Memory may be read or written by the kernel,
    // so no `nomem`/`readonly` option; it does not touch our stack.
    unsafe {
        asm!(
            "svc #0",
            in("x8") n,
            inlateout("x0") a0 => ret,
            in("x1") a1,
            in("x2") a2,
            in("x3") a3,
            in("x4") a4,
            in("x5") a5,
            options(nostack)
        );
    }
    ret
}

/// Decode a raw syscall return: -4095..=-1 is `Err(errno)`, anything else `Ok(value)`.
#[inline]
pub fn decode(ret: isize) -> Result<usize, i32> {
    if (-4095..=-1).contains(&ret) {
        Err(-ret as i32)
    } else {
        Ok(ret as usize)
    }
}

// ---------------------------------------------------------------------------------------
// Typed helpers
// ---------------------------------------------------------------------------------------

/// `write(fd, buf, len)`.
pub fn write(fd: i32, buf: &[u8]) -> Result<usize, i32> {
    // SAFETY: the kernel only reads `buf.len()` bytes of a live slice.
    decode(unsafe { syscall3(sys::WRITE, fd as usize, buf.as_ptr() as usize, buf.len()) })
}

/// Write all of `buf`, retrying partial writes.
pub fn write_all(fd: i32, mut buf: &[u8]) -> Result<(), i32> {
    while !buf.is_empty() {
        match write(fd, buf) {
            Ok(0) => return Err(errno::EIO),
            Ok(n) => buf = &buf[n.min(buf.len())..],
            Err(errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// `read(fd, buf, len)`.
pub fn read(fd: i32, buf: &mut [u8]) -> Result<usize, i32> {
    // SAFETY: the kernel writes at most `buf.len()` bytes into a live, exclusive slice.
    decode(unsafe { syscall3(sys::READ, fd as usize, buf.as_mut_ptr() as usize, buf.len()) })
}

/// `exit_group(code)`: ends the whole process.
pub fn exit(code: i32) -> ! {
    // SAFETY: exit_group never returns and needs no memory.
    unsafe {
        syscall1(sys::EXIT_GROUP, code as usize);
        // Should exit_group return (it never does on Linux), fall back to exit.
        syscall1(sys::EXIT, code as usize);
    }
    loop {
        core::hint::spin_loop();
    }
}

/// `mmap(addr, len, prot, flags, fd, off)`. On ARM this is `mmap2` with `off / 4096`
/// (an offset that is not a multiple of 4096 gives `EINVAL`, like glibc's `mmap`).
pub fn mmap(
    addr: usize,
    len: usize,
    prot: u32,
    flags: u32,
    fd: i32,
    off: u64,
) -> Result<usize, i32> {
    #[cfg(target_arch = "arm")]
    {
        if !off.is_multiple_of(4096) {
            return Err(errno::EINVAL);
        }
        let pgoff = off / 4096;
        if pgoff > u32::MAX as u64 {
            return Err(errno::EINVAL);
        }
        // SAFETY: creating a mapping cannot invalidate Rust-visible memory unless the
        // caller asks for MAP_FIXED over memory it uses, which is the caller's business.
        decode(unsafe {
            syscall6(
                sys::MMAP2,
                addr,
                len,
                prot as usize,
                flags as usize,
                fd as isize as usize,
                pgoff as usize,
            )
        })
    }
    #[cfg(target_arch = "aarch64")]
    {
        // SAFETY: as above.
        decode(unsafe {
            syscall6(
                sys::MMAP,
                addr,
                len,
                prot as usize,
                flags as usize,
                fd as isize as usize,
                off as usize,
            )
        })
    }
}

/// Anonymous private mapping anywhere.
pub fn mmap_anon(len: usize, prot: u32) -> Result<usize, i32> {
    mmap(0, len, prot, sys::MAP_PRIVATE | sys::MAP_ANONYMOUS, -1, 0)
}

/// `munmap(addr, len)`.
pub fn munmap(addr: usize, len: usize) -> Result<usize, i32> {
    // SAFETY: unmapping only affects memory the caller chose; the programs never hold
    // references into mappings across their munmap.
    decode(unsafe { syscall2(sys::MUNMAP, addr, len) })
}

/// `mprotect(addr, len, prot)`.
pub fn mprotect(addr: usize, len: usize, prot: u32) -> Result<usize, i32> {
    // SAFETY: changing protection cannot create dangling references; a later bad access
    // faults, which is what the tests look at.
    decode(unsafe { syscall3(sys::MPROTECT, addr, len, prot as usize) })
}

/// `madvise(addr, len, advice)`.
pub fn madvise(addr: usize, len: usize, advice: u32) -> Result<usize, i32> {
    // SAFETY: advice on caller-chosen memory (MADV_DONTNEED zeroes private anon pages,
    // which the caller asks for knowingly).
    decode(unsafe { syscall3(sys::MADVISE, addr, len, advice as usize) })
}

/// Open a path: `open` on ARM, `openat(AT_FDCWD, ...)` on AArch64.
pub fn open(path: &CStr, flags: u32, mode: u32) -> Result<i32, i32> {
    #[cfg(target_arch = "arm")]
    // SAFETY: `path` is a live NUL-terminated string the kernel only reads.
    let r = unsafe {
        syscall3(
            sys::OPEN,
            path.as_ptr() as usize,
            flags as usize,
            mode as usize,
        )
    };
    #[cfg(target_arch = "aarch64")]
    // SAFETY: as above.
    let r = unsafe {
        syscall4(
            sys::OPENAT,
            sys::AT_FDCWD as isize as usize,
            path.as_ptr() as usize,
            flags as usize,
            mode as usize,
        )
    };
    decode(r).map(|fd| fd as i32)
}

/// `close(fd)`.
pub fn close(fd: i32) -> Result<usize, i32> {
    // SAFETY: closing a descriptor touches no memory.
    decode(unsafe { syscall1(sys::CLOSE, fd as usize) })
}

/// `brk(addr)`: returns the new break (on failure Linux returns the *old* break, not an errno).
pub fn brk(addr: usize) -> usize {
    // SAFETY: moving the break only affects the heap area, which no Rust object lives in.
    unsafe { syscall1(sys::BRK, addr) as usize }
}

/// `getpid()`.
pub fn getpid() -> usize {
    // SAFETY: no arguments, no memory.
    unsafe { syscall0(sys::GETPID) as usize }
}

/// `ioctl(fd, req, arg)`.
///
/// # Safety
/// `arg` is interpreted by the driver (often a pointer it writes through).
pub unsafe fn ioctl(fd: i32, req: u32, arg: usize) -> Result<usize, i32> {
    // SAFETY: forwarded to the caller's contract.
    decode(unsafe { syscall3(sys::IOCTL, fd as usize, req as usize, arg) })
}

/// `set_tid_address(ptr)`: returns the caller's tid.
pub fn set_tid_address(ptr: *mut i32) -> usize {
    // SAFETY: the kernel stores the pointer; it writes through it only at thread exit.
    unsafe { syscall1(sys::SET_TID_ADDRESS, ptr as usize) as usize }
}

/// ARM private `set_tls(value)` (TPIDRURO).
#[cfg(target_arch = "arm")]
pub fn set_tls(value: usize) -> Result<usize, i32> {
    // SAFETY: sets the read-only thread register; touches no memory.
    decode(unsafe { syscall1(sys::ARM_SET_TLS, value) })
}

// ---------------------------------------------------------------------------------------
// Counters
// ---------------------------------------------------------------------------------------

/// The virtual counter CNTVCT (64 bits).
#[inline(always)]
pub fn cntvct() -> u64 {
    #[cfg(target_arch = "arm")]
    {
        let lo: u32;
        let hi: u32;
        // SAFETY: reads CNTVCT, which Linux makes readable at PL0 (CNTKCTL.PL0VCTEN).
        unsafe {
            asm!("isb", "mrrc p15, 1, {lo}, {hi}, c14", lo = out(reg) lo, hi = out(reg) hi,
                 options(nomem, nostack, preserves_flags));
        }
        ((hi as u64) << 32) | lo as u64
    }
    #[cfg(target_arch = "aarch64")]
    {
        let v: u64;
        // SAFETY: reads CNTVCT_EL0, readable at EL0 under Linux (CNTKCTL_EL1.EL0VCTEN).
        unsafe {
            asm!("isb", "mrs {v}, cntvct_el0", v = out(reg) v, options(nomem, nostack, preserves_flags));
        }
        v
    }
}

/// `clock_gettime(clock)` in nanoseconds.
pub fn clock_gettime_ns(clock: u32) -> Result<u64, i32> {
    // `struct timespec` is two C longs on both ABIs (32-bit on ARM EABI's clock_gettime).
    let mut ts = [0usize; 2];
    // SAFETY: the kernel writes one struct timespec into `ts`, which is large enough.
    decode(unsafe { syscall2(sys::CLOCK_GETTIME, clock as usize, ts.as_mut_ptr() as usize) })?;
    Ok(ts[0] as u64 * 1_000_000_000 + ts[1] as u64)
}

/// `clock_nanosleep(clock, flags, {sec, nsec}, NULL)` (the ABI's native
/// `struct timespec`: two C longs).
pub fn clock_nanosleep(clock: u32, flags: u32, sec: isize, nsec: isize) -> Result<(), i32> {
    let ts = [sec, nsec];
    // SAFETY: the kernel reads one struct timespec from `ts`; no `rem`.
    decode(unsafe {
        syscall4(
            sys::CLOCK_NANOSLEEP,
            clock as usize,
            flags as usize,
            ts.as_ptr() as usize,
            0,
        )
    })
    .map(|_| ())
}

/// The counter frequency CNTFRQ in Hz.
#[inline(always)]
pub fn cntfrq() -> u64 {
    #[cfg(target_arch = "arm")]
    {
        let f: u32;
        // SAFETY: CNTFRQ is readable at PL0 whenever either PL0 counter access is enabled.
        unsafe {
            asm!("mrc p15, 0, {f}, c14, c0, 0", f = out(reg) f, options(nomem, nostack, preserves_flags));
        }
        f as u64
    }
    #[cfg(target_arch = "aarch64")]
    {
        let f: u64;
        // SAFETY: as above, for CNTFRQ_EL0.
        unsafe {
            asm!("mrs {f}, cntfrq_el0", f = out(reg) f, options(nomem, nostack, preserves_flags));
        }
        f
    }
}

// ---------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------

/// A line-sized stack buffer flushed to a file descriptor (no allocation).
pub struct FdWriter {
    fd: i32,
    len: usize,
    buf: [u8; 256],
}

impl FdWriter {
    pub const fn new(fd: i32) -> Self {
        FdWriter {
            fd,
            len: 0,
            buf: [0; 256],
        }
    }

    pub fn flush(&mut self) {
        if self.len > 0 {
            let _ = write_all(self.fd, &self.buf[..self.len]);
            self.len = 0;
        }
    }
}

impl Write for FdWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &b in s.as_bytes() {
            if self.len == self.buf.len() {
                self.flush();
            }
            self.buf[self.len] = b;
            self.len += 1;
        }
        Ok(())
    }
}

impl Drop for FdWriter {
    fn drop(&mut self) {
        self.flush();
    }
}

#[doc(hidden)]
pub fn _print(args: fmt::Arguments) {
    let mut w = FdWriter::new(1);
    let _ = w.write_fmt(args);
    w.flush();
}

/// `print!` to fd 1.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::_print(format_args!($($arg)*)) };
}

/// `println!` to fd 1 (each call is a single `write` when the line fits in 256 bytes).
#[macro_export]
macro_rules! println {
    () => { $crate::_print(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::_print(format_args!("{}\n", format_args!($($arg)*))) };
}

/// Display helper for a syscall result: `Ok(0x...)` or `Err(ENAME=n)`.
pub struct Res(pub Result<usize, i32>);

impl fmt::Display for Res {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Ok(v) => write!(f, "Ok({v:#x})"),
            Err(e) => write!(f, "Err({}={e})", errno::name(e)),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Test framework (TAP-like)
// ---------------------------------------------------------------------------------------

// Single-threaded programs: plain loads and stores (no exclusives needed).
static PASSED: AtomicU32 = AtomicU32::new(0);
static FAILED: AtomicU32 = AtomicU32::new(0);

fn bump(c: &AtomicU32) {
    c.store(c.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

/// Record a check: prints `ok - name` or `not ok - name`.
pub fn check(name: &str, cond: bool) -> bool {
    check_detail(name, cond, format_args!("condition false"))
}

/// Record a check with a detail printed on failure: `not ok - name: detail`.
pub fn check_detail(name: &str, cond: bool, detail: fmt::Arguments) -> bool {
    if cond {
        bump(&PASSED);
        println!("ok - {name}");
    } else {
        bump(&FAILED);
        println!("not ok - {name}: {detail}");
    }
    cond
}

/// Check that a syscall succeeded; returns its value.
pub fn expect_ok(name: &str, r: Result<usize, i32>) -> Option<usize> {
    check_detail(name, r.is_ok(), format_args!("got {}", Res(r)));
    r.ok()
}

/// Check that a syscall failed with `want`.
pub fn expect_err(name: &str, r: Result<usize, i32>, want: i32) -> bool {
    check_detail(
        name,
        r == Err(want),
        format_args!("got {}, expected {}={want}", Res(r), errno::name(want)),
    )
}

/// Forget the counts inherited from the parent (call first thing in a forked child that
/// reports through its exit status, see [`child_exit`]).
pub fn reset_counts() {
    PASSED.store(0, Ordering::Relaxed);
    FAILED.store(0, Ordering::Relaxed);
}

/// The number of failed checks so far.
pub fn failures() -> u32 {
    FAILED.load(Ordering::Relaxed)
}

/// End a forked child: exit with its number of failed checks (capped at 100), without
/// the `# passed` line (that one belongs to the parent).
pub fn child_exit() -> ! {
    exit(failures().min(100) as i32)
}

/// Add checks counted elsewhere (e.g. by an earlier image of this process, carried across
/// `execve`).
pub fn add_counts(passed: u32, failed: u32) {
    PASSED.store(PASSED.load(Ordering::Relaxed) + passed, Ordering::Relaxed);
    FAILED.store(FAILED.load(Ordering::Relaxed) + failed, Ordering::Relaxed);
}

/// The number of passed checks so far.
pub fn passes() -> u32 {
    PASSED.load(Ordering::Relaxed)
}

/// Print `# passed N failed M`; returns the exit status: 0 if all passed, else the number
/// of failures (capped at 100 so it never wraps to 0 in the 8-bit exit status).
pub fn finish() -> i32 {
    let p = PASSED.load(Ordering::Relaxed);
    let f = FAILED.load(Ordering::Relaxed);
    println!("# passed {p} failed {f}");
    f.min(100) as i32
}

// ---------------------------------------------------------------------------------------
// Memory helpers
// ---------------------------------------------------------------------------------------

/// Volatile byte read at a raw address.
///
/// # Safety
/// `addr` must be mapped readable (or the caller expects the fault).
#[inline(always)]
pub unsafe fn peek(addr: usize) -> u8 {
    // SAFETY: forwarded to the caller.
    unsafe { core::ptr::read_volatile(addr as *const u8) }
}

/// Volatile byte write at a raw address.
///
/// # Safety
/// `addr` must be mapped writable and not alias any Rust object.
#[inline(always)]
pub unsafe fn poke(addr: usize, v: u8) {
    // SAFETY: forwarded to the caller.
    unsafe { core::ptr::write_volatile(addr as *mut u8, v) }
}

/// Volatile word read.
///
/// # Safety
/// As [`peek`], and `addr` is aligned.
#[inline(always)]
pub unsafe fn peek32(addr: usize) -> u32 {
    // SAFETY: forwarded to the caller.
    unsafe { core::ptr::read_volatile(addr as *const u32) }
}

/// Volatile word write.
///
/// # Safety
/// As [`poke`], and `addr` is aligned.
#[inline(always)]
pub unsafe fn poke32(addr: usize, v: u32) {
    // SAFETY: forwarded to the caller.
    unsafe { core::ptr::write_volatile(addr as *mut u32, v) }
}

/// Fill `len` bytes at `addr` with a pattern derived from `seed` (word writes).
///
/// # Safety
/// `[addr, addr+len)` is mapped writable, word aligned, and aliases no Rust object.
pub unsafe fn fill(addr: usize, len: usize, seed: u32) {
    let mut off = 0;
    while off + 4 <= len {
        // SAFETY: within the range the caller vouched for.
        unsafe { poke32(addr + off, pattern(seed, off)) };
        off += 4;
    }
}

/// Verify a pattern written by [`fill`]; returns the first bad offset.
///
/// # Safety
/// `[addr, addr+len)` is mapped readable and word aligned.
pub unsafe fn verify(addr: usize, len: usize, seed: u32) -> Result<(), usize> {
    let mut off = 0;
    while off + 4 <= len {
        // SAFETY: within the range the caller vouched for.
        if unsafe { peek32(addr + off) } != pattern(seed, off) {
            return Err(off);
        }
        off += 4;
    }
    Ok(())
}

/// Check that `len` bytes at `addr` read as zero; returns the first non-zero offset.
///
/// # Safety
/// `[addr, addr+len)` is mapped readable and word aligned.
pub unsafe fn all_zero(addr: usize, len: usize) -> Result<(), usize> {
    let mut off = 0;
    while off + 4 <= len {
        // SAFETY: within the range the caller vouched for.
        if unsafe { peek32(addr + off) } != 0 {
            return Err(off);
        }
        off += 4;
    }
    Ok(())
}

fn pattern(seed: u32, off: usize) -> u32 {
    (off as u32).wrapping_mul(0x9E37_79B9) ^ seed ^ 0xA5A5_0000
}

// ---------------------------------------------------------------------------------------
// Deliberate faults (for the fault_* programs)
// ---------------------------------------------------------------------------------------

/// Accesses that must kill the process. Each is a single instruction in inline assembly so
/// the compiler cannot reason about (or remove) the bad access.
pub mod fault {
    use core::arch::asm;

    /// Load a word from `addr`.
    pub fn read(addr: usize) -> usize {
        let v: usize;
        // SAFETY: deliberately invalid access; the kernel is expected to kill the process.
        // Should it survive, the load only produced a value.
        unsafe {
            #[cfg(target_arch = "arm")]
            asm!("ldr {v}, [{a}]", a = in(reg) addr, v = out(reg) v, options(nostack, readonly));
            #[cfg(target_arch = "aarch64")]
            asm!("ldr {v}, [{a}]", a = in(reg) addr, v = out(reg) v, options(nostack, readonly));
        }
        v
    }

    /// Store a word to `addr`.
    pub fn write(addr: usize, v: usize) {
        // SAFETY: deliberately invalid access; the kernel is expected to kill the process.
        // `addr` never aliases a Rust object (kernel space, or a read-only mapping).
        unsafe {
            #[cfg(target_arch = "arm")]
            asm!("str {v}, [{a}]", a = in(reg) addr, v = in(reg) v, options(nostack));
            #[cfg(target_arch = "aarch64")]
            asm!("str {v}, [{a}]", a = in(reg) addr, v = in(reg) v, options(nostack));
        }
    }

    /// Branch-and-link to `addr` (a returning call, should the kernel let it run).
    pub fn exec(addr: usize) {
        // SAFETY: deliberately invalid instruction fetch; the kernel is expected to kill the
        // process. All caller-saved (integer; the ARM target is soft-float) registers are
        // declared clobbered.
        unsafe {
            #[cfg(target_arch = "arm")]
            asm!(
                "blx {a}",
                a = in(reg) addr,
                out("r0") _, out("r1") _, out("r2") _, out("r3") _, out("r12") _, out("lr") _,
            );
            #[cfg(target_arch = "aarch64")]
            asm!("blr {a}", a = in(reg) addr, clobber_abi("C"));
        }
    }

    /// Execute a permanently undefined instruction (`udf #0`).
    pub fn undef() {
        // SAFETY: raises an undefined-instruction exception (SIGILL on Linux); touches nothing.
        unsafe { asm!("udf #0", options(nomem, nostack)) }
    }
}

// ---------------------------------------------------------------------------------------
// Process start
// ---------------------------------------------------------------------------------------

/// What Linux put on the initial stack: argc, argv[], NULL, envp[], NULL, auxv pairs.
#[derive(Clone, Copy)]
pub struct Args {
    pub argc: usize,
    pub argv: *const *const u8,
    pub envp: *const *const u8,
    pub auxv: *const usize,
}

impl Args {
    /// `argv[i]` without its NUL.
    pub fn arg(&self, i: usize) -> Option<&'static [u8]> {
        if i >= self.argc {
            return None;
        }
        // SAFETY: argv has argc valid entries, each a NUL-terminated string that lives for
        // the whole process.
        unsafe { Some(cstr_bytes(*self.argv.add(i))) }
    }

    /// All environment strings (`NAME=value`).
    pub fn envs(&self) -> EnvIter {
        EnvIter { p: self.envp }
    }

    /// The value of environment variable `name`.
    pub fn env(&self, name: &str) -> Option<&'static [u8]> {
        let n = name.as_bytes();
        self.envs().find_map(|e| {
            if e.len() > n.len() && e.starts_with(n) && e[n.len()] == b'=' {
                Some(&e[n.len() + 1..])
            } else {
                None
            }
        })
    }

    /// Environment variable parsed as a number (`0x` hex or decimal).
    pub fn env_usize(&self, name: &str) -> Option<usize> {
        self.env(name).and_then(parse_usize)
    }

    /// Auxiliary vector entry.
    pub fn auxv(&self, key: usize) -> Option<usize> {
        let mut p = self.auxv;
        loop {
            // SAFETY: the auxv is a list of (key, value) pairs ended by AT_NULL.
            let (k, v) = unsafe { (*p, *p.add(1)) };
            if k == sys::AT_NULL {
                return None;
            }
            if k == key {
                return Some(v);
            }
            // SAFETY: not at the terminator yet, so the next pair exists.
            p = unsafe { p.add(2) };
        }
    }
}

/// Iterator over the environment strings.
pub struct EnvIter {
    p: *const *const u8,
}

impl Iterator for EnvIter {
    type Item = &'static [u8];
    fn next(&mut self) -> Option<&'static [u8]> {
        // SAFETY: envp is a NULL-terminated array of NUL-terminated strings.
        unsafe {
            let s = *self.p;
            if s.is_null() {
                return None;
            }
            self.p = self.p.add(1);
            Some(cstr_bytes(s))
        }
    }
}

/// # Safety
/// `p` points to a NUL-terminated string that lives for the rest of the process.
unsafe fn cstr_bytes(p: *const u8) -> &'static [u8] {
    let mut n = 0;
    // SAFETY: the string is NUL-terminated.
    while unsafe { *p.add(n) } != 0 {
        n += 1;
    }
    // SAFETY: n bytes before the NUL are readable and immutable for the process lifetime.
    unsafe { core::slice::from_raw_parts(p, n) }
}

/// Parse `0x...` hexadecimal or decimal.
pub fn parse_usize(s: &[u8]) -> Option<usize> {
    let (digits, radix) = match s {
        [b'0', b'x' | b'X', rest @ ..] => (rest, 16),
        _ => (s, 10),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: usize = 0;
    for &c in digits {
        if c == b'_' {
            continue;
        }
        let d = (c as char).to_digit(radix)? as usize;
        v = v.checked_mul(radix as usize)?.checked_add(d)?;
    }
    Some(v)
}

/// Register the program's `fn main(args: Args) -> i32`.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[no_mangle]
        pub fn __armmu_user_main(args: $crate::Args) -> i32 {
            let main: fn($crate::Args) -> i32 = $main;
            main(args)
        }
    };
}

extern "Rust" {
    fn __armmu_user_main(args: Args) -> i32;
}

/// Called by `_start` with the initial stack pointer.
///
/// # Safety
/// `sp` is the process's initial stack pointer laid out by the kernel (Linux layout).
#[no_mangle]
unsafe extern "C" fn __armmu_user_start(sp: *const usize) -> ! {
    // SAFETY: Linux layout: [argc][argv... NULL][envp... NULL][auxv pairs... AT_NULL].
    let args = unsafe {
        let argc = *sp;
        let argv = sp.add(1) as *const *const u8;
        let envp = argv.add(argc + 1);
        let mut p = envp;
        while !(*p).is_null() {
            p = p.add(1);
        }
        Args {
            argc,
            argv,
            envp,
            auxv: p.add(1) as *const usize,
        }
    };
    // SAFETY: provided by the binary through `entry!`, with exactly this signature.
    let ret = unsafe { __armmu_user_main(args) };
    exit(ret)
}

#[cfg(target_arch = "arm")]
global_asm!(
    ".section .text._start, \"ax\", %progbits",
    ".global _start",
    ".type _start, %function",
    ".arm",
    "_start:",
    "    mov fp, #0",
    "    mov lr, #0",
    "    mov r0, sp",
    "    bic sp, sp, #7", // AAPCS: 8-byte aligned stack at public interfaces
    "    bl __armmu_user_start",
    "    udf #0",
    ".size _start, . - _start",
);

#[cfg(target_arch = "aarch64")]
global_asm!(
    ".section .text._start, \"ax\", %progbits",
    ".global _start",
    ".type _start, %function",
    "_start:",
    "    mov x29, #0",
    "    mov x30, #0",
    "    mov x0, sp",
    "    and x1, x0, #~15",
    "    mov sp, x1",
    "    bl __armmu_user_start",
    "    udf #0",
    ".size _start, . - _start",
);

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    let mut w = FdWriter::new(1);
    let _ = writeln!(w, "panic: {info}");
    w.flush();
    exit(101)
}

// ---------------------------------------------------------------------------------------
// Files (the tmpfs / page-cache / file-mmap issue): `use armmu_user::file::*;`
// ---------------------------------------------------------------------------------------

/// File and file-mapping syscalls of both ABIs, in a module of their own so their names
/// (`lseek`, `stat`, ...) never collide with other helpers. ARM uses the calls glibc uses
/// on EABI (`ftruncate64`, `fstat64`, `_llseek`, `pread64` with the 64-bit offset in an
/// even register pair, `unlink`, `rename`); AArch64 the generic ones (`unlinkat`,
/// `renameat`, `fstat`).
pub mod file {
    use super::{decode, syscall1, syscall2, syscall3, syscall4};
    #[cfg(target_arch = "arm")]
    use super::{syscall5, syscall6};
    use core::ffi::CStr;

    /// Syscall numbers (ARM EABI).
    #[cfg(target_arch = "arm")]
    pub mod nr {
        pub const UNLINK: usize = 10;
        pub const LSEEK: usize = 19;
        pub const RENAME: usize = 38;
        pub const RMDIR: usize = 40;
        pub const FSYNC: usize = 118;
        pub const LLSEEK: usize = 140;
        pub const MSYNC: usize = 144;
        pub const READV: usize = 145;
        pub const WRITEV: usize = 146;
        pub const MLOCK: usize = 150;
        pub const MUNLOCK: usize = 151;
        pub const PREAD64: usize = 180;
        pub const PWRITE64: usize = 181;
        pub const FTRUNCATE64: usize = 194;
        pub const FSTAT64: usize = 197;
        pub const GETDENTS64: usize = 217;
        pub const MINCORE: usize = 219;
        pub const OPENAT: usize = 322;
        /// `old_mmap` (byte offset, arguments in a struct): OABI only, so an EABI kernel
        /// without OABI_COMPAT (Debian's armmp) answers ENOSYS.
        pub const OABI_OLD_MMAP: usize = 90;
    }

    /// Syscall numbers (AArch64).
    #[cfg(target_arch = "aarch64")]
    pub mod nr {
        pub const UNLINKAT: usize = 35;
        pub const RENAMEAT: usize = 38;
        pub const FTRUNCATE: usize = 46;
        pub const OPENAT: usize = 56;
        pub const GETDENTS64: usize = 61;
        pub const LSEEK: usize = 62;
        pub const READV: usize = 65;
        pub const WRITEV: usize = 66;
        pub const PREAD64: usize = 67;
        pub const PWRITE64: usize = 68;
        pub const FSTAT: usize = 80;
        pub const FSYNC: usize = 82;
        pub const MSYNC: usize = 227;
        pub const MLOCK: usize = 228;
        pub const MUNLOCK: usize = 229;
        pub const MINCORE: usize = 232;
    }

    /// `open` flags (the same octal values on ARM and arm64).
    pub const O_CREAT: u32 = 0o100;
    pub const O_EXCL: u32 = 0o200;
    pub const O_TRUNC: u32 = 0o1000;
    pub const O_APPEND: u32 = 0o2000;
    /// `O_DIRECTORY`: 0o40000 on ARM, and on arm64 too (it keeps ARM's values for its
    /// AArch32 compat layer, not the generic 0o200000).
    pub const O_DIRECTORY: u32 = 0o40000;

    pub const SEEK_SET: u32 = 0;
    pub const SEEK_CUR: u32 = 1;
    pub const SEEK_END: u32 = 2;

    pub const MS_ASYNC: u32 = 1;
    pub const MS_INVALIDATE: u32 = 2;
    pub const MS_SYNC: u32 = 4;

    /// `MAP_LOCKED` (generic value, ARM and arm64).
    pub const MAP_LOCKED: u32 = 0x2000;

    pub const BUS_ADRALN: i32 = 1;
    pub const BUS_ADRERR: i32 = 2;

    pub const AT_REMOVEDIR: usize = 0x200;

    /// `openat(dirfd, path, flags, mode)`.
    pub fn openat(dirfd: i32, path: &CStr, flags: u32, mode: u32) -> Result<i32, i32> {
        // SAFETY: the kernel reads a NUL-terminated string.
        decode(unsafe {
            syscall4(
                nr::OPENAT,
                dirfd as isize as usize,
                path.as_ptr() as usize,
                flags as usize,
                mode as usize,
            )
        })
        .map(|fd| fd as i32)
    }

    /// `lseek(fd, off, whence)` (ARM: the 32-bit `lseek`, so `off` must fit in an i32
    /// there; [`llseek`] is the 64-bit one).
    pub fn lseek(fd: i32, off: i64, whence: u32) -> Result<u64, i32> {
        // SAFETY: no memory.
        decode(unsafe {
            syscall3(
                nr::LSEEK,
                fd as usize,
                off as isize as usize,
                whence as usize,
            )
        })
        .map(|v| v as u64)
    }

    /// ARM `_llseek(fd, off_hi, off_lo, &result, whence)`; on AArch64 `lseek`.
    pub fn llseek(fd: i32, off: i64, whence: u32) -> Result<u64, i32> {
        #[cfg(target_arch = "arm")]
        {
            let mut res: u64 = 0;
            // SAFETY: the kernel writes one loff_t into `res`.
            decode(unsafe {
                syscall5(
                    nr::LLSEEK,
                    fd as usize,
                    ((off as u64) >> 32) as usize,
                    off as u64 as u32 as usize,
                    &mut res as *mut u64 as usize,
                    whence as usize,
                )
            })?;
            Ok(res)
        }
        #[cfg(target_arch = "aarch64")]
        {
            lseek(fd, off, whence)
        }
    }

    /// `pread64(fd, buf, off)`.
    pub fn pread(fd: i32, buf: &mut [u8], off: u64) -> Result<usize, i32> {
        let (p, n) = (buf.as_mut_ptr() as usize, buf.len());
        #[cfg(target_arch = "arm")]
        // SAFETY: the kernel writes at most n bytes into the live slice. EABI: the 64-bit
        // offset in r4:r5 (an even pair; r3 is padding).
        let r = unsafe {
            syscall6(
                nr::PREAD64,
                fd as usize,
                p,
                n,
                0,
                off as u32 as usize,
                (off >> 32) as usize,
            )
        };
        #[cfg(target_arch = "aarch64")]
        // SAFETY: as above.
        let r = unsafe { syscall4(nr::PREAD64, fd as usize, p, n, off as usize) };
        decode(r)
    }

    /// `pwrite64(fd, buf, off)`.
    pub fn pwrite(fd: i32, buf: &[u8], off: u64) -> Result<usize, i32> {
        let (p, n) = (buf.as_ptr() as usize, buf.len());
        #[cfg(target_arch = "arm")]
        // SAFETY: the kernel reads n bytes of the live slice (offset as in `pread`).
        let r = unsafe {
            syscall6(
                nr::PWRITE64,
                fd as usize,
                p,
                n,
                0,
                off as u32 as usize,
                (off >> 32) as usize,
            )
        };
        #[cfg(target_arch = "aarch64")]
        // SAFETY: as above.
        let r = unsafe { syscall4(nr::PWRITE64, fd as usize, p, n, off as usize) };
        decode(r)
    }

    /// `struct iovec`.
    #[repr(C)]
    #[derive(Clone, Copy)]
    pub struct IoVec {
        pub base: usize,
        pub len: usize,
    }

    /// `readv(fd, iov, n)`.
    pub fn readv(fd: i32, bufs: &mut [&mut [u8]]) -> Result<usize, i32> {
        let mut iov = [IoVec { base: 0, len: 0 }; 8];
        let n = bufs.len().min(8);
        for (v, b) in iov.iter_mut().zip(bufs.iter_mut()) {
            *v = IoVec {
                base: b.as_mut_ptr() as usize,
                len: b.len(),
            };
        }
        // SAFETY: every iovec names a live exclusive slice the kernel may write.
        decode(unsafe { syscall3(nr::READV, fd as usize, iov.as_ptr() as usize, n) })
    }

    /// `writev(fd, iov, n)`.
    pub fn writev(fd: i32, bufs: &[&[u8]]) -> Result<usize, i32> {
        let mut iov = [IoVec { base: 0, len: 0 }; 8];
        let n = bufs.len().min(8);
        for (v, b) in iov.iter_mut().zip(bufs.iter()) {
            *v = IoVec {
                base: b.as_ptr() as usize,
                len: b.len(),
            };
        }
        // SAFETY: every iovec names a live slice the kernel only reads.
        decode(unsafe { syscall3(nr::WRITEV, fd as usize, iov.as_ptr() as usize, n) })
    }

    /// `ftruncate(fd, len)` (ARM: `ftruncate64`, the length in r2:r3).
    pub fn ftruncate(fd: i32, len: u64) -> Result<usize, i32> {
        #[cfg(target_arch = "arm")]
        // SAFETY: no user memory.
        let r = unsafe {
            syscall4(
                nr::FTRUNCATE64,
                fd as usize,
                0,
                len as u32 as usize,
                (len >> 32) as usize,
            )
        };
        #[cfg(target_arch = "aarch64")]
        // SAFETY: no user memory.
        let r = unsafe { syscall2(nr::FTRUNCATE, fd as usize, len as usize) };
        decode(r)
    }

    /// `fsync(fd)`.
    pub fn fsync(fd: i32) -> Result<usize, i32> {
        // SAFETY: no user memory.
        decode(unsafe { syscall1(nr::FSYNC, fd as usize) })
    }

    /// The fields of `struct stat64` (ARM, 104 bytes) / `struct stat` (arm64, 128 bytes)
    /// the programs use.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct Stat {
        /// `st_dev`, encoded as the kernel does (`new_encode_dev`).
        pub dev: u64,
        pub ino: u64,
        pub mode: u32,
        pub nlink: u32,
        pub size: i64,
    }

    impl Stat {
        /// The major number of `st_dev` (`new_decode_dev`), as /proc/self/maps prints it.
        pub fn dev_major(&self) -> u32 {
            ((self.dev >> 8) & 0xfff) as u32
        }
        /// The minor number of `st_dev`.
        pub fn dev_minor(&self) -> u32 {
            ((self.dev & 0xff) | ((self.dev >> 12) & 0xfff00)) as u32
        }
    }

    /// `fstat64` (ARM) / `fstat` (AArch64).
    pub fn fstat(fd: i32) -> Result<Stat, i32> {
        let mut buf = [0u64; 16];
        let p = buf.as_mut_ptr() as usize;
        #[cfg(target_arch = "arm")]
        // SAFETY: the kernel writes one 104-byte struct stat64 into 128 bytes.
        decode(unsafe { syscall2(nr::FSTAT64, fd as usize, p) })?;
        #[cfg(target_arch = "aarch64")]
        // SAFETY: the kernel writes one 128-byte struct stat.
        decode(unsafe { syscall2(nr::FSTAT, fd as usize, p) })?;
        let w = |i: usize| buf[i / 8];
        let u32_at = |off: usize| (w(off) >> ((off % 8) * 8)) as u32;
        // ARM stat64: st_dev 0, st_mode 16, st_nlink 20, st_size 48, st_ino 96.
        // arm64 stat: st_dev 0, st_ino 8, st_mode 16, st_nlink 20, st_size 48.
        #[cfg(target_arch = "arm")]
        let ino = w(96);
        #[cfg(target_arch = "aarch64")]
        let ino = w(8);
        Ok(Stat {
            dev: w(0),
            ino,
            mode: u32_at(16),
            nlink: u32_at(20),
            size: w(48) as i64,
        })
    }

    /// `unlink(path)` (AArch64: `unlinkat(AT_FDCWD, path, 0)`).
    pub fn unlink(path: &CStr) -> Result<usize, i32> {
        #[cfg(target_arch = "arm")]
        // SAFETY: the kernel reads a NUL-terminated string.
        let r = unsafe { syscall1(nr::UNLINK, path.as_ptr() as usize) };
        #[cfg(target_arch = "aarch64")]
        // SAFETY: as above.
        let r = unsafe {
            syscall3(
                nr::UNLINKAT,
                super::sys::AT_FDCWD as isize as usize,
                path.as_ptr() as usize,
                0,
            )
        };
        decode(r)
    }

    /// `rmdir(path)` (AArch64: `unlinkat(AT_FDCWD, path, AT_REMOVEDIR)`).
    pub fn rmdir(path: &CStr) -> Result<usize, i32> {
        #[cfg(target_arch = "arm")]
        // SAFETY: the kernel reads a NUL-terminated string.
        let r = unsafe { syscall1(nr::RMDIR, path.as_ptr() as usize) };
        #[cfg(target_arch = "aarch64")]
        // SAFETY: as above.
        let r = unsafe {
            syscall3(
                nr::UNLINKAT,
                super::sys::AT_FDCWD as isize as usize,
                path.as_ptr() as usize,
                AT_REMOVEDIR,
            )
        };
        decode(r)
    }

    /// `rename(old, new)` (AArch64: `renameat(AT_FDCWD, old, AT_FDCWD, new)`).
    pub fn rename(old: &CStr, new: &CStr) -> Result<usize, i32> {
        #[cfg(target_arch = "arm")]
        // SAFETY: the kernel reads two NUL-terminated strings.
        let r = unsafe { syscall2(nr::RENAME, old.as_ptr() as usize, new.as_ptr() as usize) };
        #[cfg(target_arch = "aarch64")]
        // SAFETY: as above.
        let r = unsafe {
            let fdcwd = super::sys::AT_FDCWD as isize as usize;
            syscall4(
                nr::RENAMEAT,
                fdcwd,
                old.as_ptr() as usize,
                fdcwd,
                new.as_ptr() as usize,
            )
        };
        decode(r)
    }

    /// `getdents64(fd, buf)`: bytes filled (0 at the end of the directory).
    pub fn getdents64(fd: i32, buf: &mut [u8]) -> Result<usize, i32> {
        // SAFETY: the kernel writes at most buf.len() bytes into the live slice.
        decode(unsafe {
            syscall3(
                nr::GETDENTS64,
                fd as usize,
                buf.as_mut_ptr() as usize,
                buf.len(),
            )
        })
    }

    /// The names in a `getdents64` buffer (`struct linux_dirent64`: u64 d_ino, i64 d_off,
    /// u16 d_reclen, u8 d_type, char d_name[]), calling `f(name, d_type)`.
    pub fn for_each_dirent(buf: &[u8], mut f: impl FnMut(&[u8], u8)) {
        let mut off = 0;
        while off + 19 <= buf.len() {
            let reclen = u16::from_le_bytes([buf[off + 16], buf[off + 17]]) as usize;
            if reclen < 19 || off + reclen > buf.len() {
                break;
            }
            let ty = buf[off + 18];
            let name = &buf[off + 19..off + reclen];
            let end = name.iter().position(|&c| c == 0).unwrap_or(name.len());
            f(&name[..end], ty);
            off += reclen;
        }
    }

    /// `msync(addr, len, flags)`.
    pub fn msync(addr: usize, len: usize, flags: u32) -> Result<usize, i32> {
        // SAFETY: writes back / invalidates caller-chosen pages; no Rust object changes.
        decode(unsafe { syscall3(nr::MSYNC, addr, len, flags as usize) })
    }

    /// `mincore(addr, len, vec)`.
    pub fn mincore(addr: usize, len: usize, vec: &mut [u8]) -> Result<usize, i32> {
        // SAFETY: the kernel writes one byte per page of the range into `vec`; callers
        // pass a vec long enough (ceil(len / 4096)).
        decode(unsafe { syscall3(nr::MINCORE, addr, len, vec.as_mut_ptr() as usize) })
    }

    /// `mlock(addr, len)`.
    pub fn mlock(addr: usize, len: usize) -> Result<usize, i32> {
        // SAFETY: pins pages; no memory changes.
        decode(unsafe { syscall2(nr::MLOCK, addr, len) })
    }

    /// `munlock(addr, len)`.
    pub fn munlock(addr: usize, len: usize) -> Result<usize, i32> {
        // SAFETY: as above.
        decode(unsafe { syscall2(nr::MUNLOCK, addr, len) })
    }
}
