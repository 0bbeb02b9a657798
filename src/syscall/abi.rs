//! Each architecture's Linux syscall numbers, as one table per ABI, and
//! the meaning ([`Sys`]) the neutral kernel dispatches on. The numbers come
//! from Linux's tables (`arch/arm/tools/syscall.tbl` for the ARM EABI,
//! `include/uapi/asm-generic/unistd.h` for AArch64).

/// The Linux syscalls this kernel implements, by meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sys {
    Exit,
    ExitGroup,
    Read,
    Write,
    Writev,
    Open,
    OpenAt,
    Close,
    GetPid,
    Ioctl,
    Brk,
    Munmap,
    Mprotect,
    /// mmap2: offset in 4096-byte units (ARM EABI).
    Mmap2,
    /// mmap: offset in bytes (AArch64).
    Mmap,
    Madvise,
    Mremap,
    Msync,
    Mincore,
    Mlock,
    /// mlock2: mlock with flags (`MLOCK_ONFAULT`).
    Mlock2,
    Munlock,
    Mlockall,
    Munlockall,
    SetTidAddress,
    /// Handled by the architecture (thread pointer register).
    SetTls,
    Fork,
    Vfork,
    Clone,
    Execve,
    Wait4,
    GetPpid,
    Kill,
    Tgkill,
    SchedYield,
    /// nanosleep with the 32-bit `timespec` on ARM, 64-bit on AArch64.
    Nanosleep,
    /// clock_nanosleep with the ABI's native `timespec`.
    ClockNanosleep,
    /// ARM's `clock_nanosleep_time64`.
    ClockNanosleep64,
    /// clock_gettime with the ABI's native `timespec` (32-bit on ARM).
    ClockGettime,
    /// ARM's `clock_gettime64` (64-bit `timespec`).
    ClockGettime64,
    /// getuid, getgid, geteuid, getegid (every id is root's: 0).
    GetId,
    Gettid,
    Uname,
    RtSigaction,
    RtSigprocmask,
    RtSigreturn,
    /// ARM's non-rt `sigreturn` (frames of handlers without SA_SIGINFO).
    Sigreturn,
    RtSigsuspend,
    RtSigpending,
    Pause,
    Setpgid,
    Getpgid,
    Getpgrp,
    Setsid,
    Getitimer,
    Setitimer,
    /// futex with the ABI's native `timespec`.
    Futex,
    /// ARM's `futex_time64`.
    FutexTime64,
    Dup,
    /// dup2 (ARM only; AArch64 has dup3).
    Dup2,
    Dup3,
    /// fcntl and ARM's fcntl64 (the same for the commands implemented).
    Fcntl,
    /// pipe (ARM only): pipe2 with flags 0.
    Pipe,
    Pipe2,
    Getcwd,
    Chdir,
    Fchdir,
    Umask,
    /// getrlimit (AArch64) / ugetrlimit (ARM): the ABI's `struct rlimit`.
    Getrlimit,
    Setrlimit,
    Prlimit64,
    /// access (ARM only).
    Access,
    FaccessAt,
    FaccessAt2,
    /// stat64 (ARM): `struct stat64`, symlinks followed.
    Stat64,
    /// lstat64 (ARM).
    Lstat64,
    /// fstat64 (ARM, `struct stat64`) / fstat (AArch64, `struct stat`).
    Fstat,
    /// fstatat64 (ARM) / newfstatat (AArch64).
    FstatAt,
    Statx,
    Lseek,
    /// ARM's `_llseek` (64-bit offset in two registers, result in memory).
    Llseek,
    Getdents64,
    /// readlink (ARM only).
    Readlink,
    Readlinkat,
    /// poll (ARM only; milliseconds).
    Poll,
    /// ppoll with the ABI's native `timespec`.
    Ppoll,
    /// ARM's `ppoll_time64`.
    PpollTime64,
    Creat,
    Readv,
    /// pread64/pwrite64: ARM passes the offset in an aligned register
    /// pair (a[4], a[5]), AArch64 in a[3].
    Pread64,
    Pwrite64,
    Mkdir,
    MkdirAt,
    Rmdir,
    Unlink,
    UnlinkAt,
    Rename,
    RenameAt,
    RenameAt2,
    Link,
    LinkAt,
    Symlink,
    SymlinkAt,
    Truncate,
    Ftruncate,
    /// ARM's truncate64/ftruncate64 (64-bit length in a register pair).
    Truncate64,
    Ftruncate64,
    /// fsync and fdatasync.
    Fsync,
    Unknown(usize),
}

/// Linux ARM EABI numbers (`svc #0`, number in r7).
pub const ARM_EABI: &[(usize, Sys)] = &[
    (1, Sys::Exit),
    (2, Sys::Fork),
    (3, Sys::Read),
    (4, Sys::Write),
    (5, Sys::Open),
    (6, Sys::Close),
    (8, Sys::Creat),
    (9, Sys::Link),
    (10, Sys::Unlink),
    (11, Sys::Execve),
    (12, Sys::Chdir),
    (19, Sys::Lseek),
    (20, Sys::GetPid),
    (24, Sys::GetId),
    (29, Sys::Pause),
    (33, Sys::Access),
    (37, Sys::Kill),
    (38, Sys::Rename),
    (39, Sys::Mkdir),
    (40, Sys::Rmdir),
    (41, Sys::Dup),
    (42, Sys::Pipe),
    (45, Sys::Brk),
    (47, Sys::GetId),
    (49, Sys::GetId),
    (50, Sys::GetId),
    (54, Sys::Ioctl),
    (55, Sys::Fcntl),
    (57, Sys::Setpgid),
    (60, Sys::Umask),
    (63, Sys::Dup2),
    (64, Sys::GetPpid),
    (65, Sys::Getpgrp),
    (66, Sys::Setsid),
    (75, Sys::Setrlimit),
    (83, Sys::Symlink),
    (85, Sys::Readlink),
    (91, Sys::Munmap),
    (92, Sys::Truncate),
    (93, Sys::Ftruncate),
    (104, Sys::Setitimer),
    (105, Sys::Getitimer),
    (114, Sys::Wait4),
    (118, Sys::Fsync),
    (119, Sys::Sigreturn),
    (120, Sys::Clone),
    (122, Sys::Uname),
    (125, Sys::Mprotect),
    (132, Sys::Getpgid),
    (133, Sys::Fchdir),
    (140, Sys::Llseek),
    (144, Sys::Msync),
    (145, Sys::Readv),
    (146, Sys::Writev),
    (148, Sys::Fsync),
    (150, Sys::Mlock),
    (151, Sys::Munlock),
    (152, Sys::Mlockall),
    (153, Sys::Munlockall),
    (158, Sys::SchedYield),
    (162, Sys::Nanosleep),
    (163, Sys::Mremap),
    (168, Sys::Poll),
    (173, Sys::RtSigreturn),
    (174, Sys::RtSigaction),
    (175, Sys::RtSigprocmask),
    (176, Sys::RtSigpending),
    (179, Sys::RtSigsuspend),
    (180, Sys::Pread64),
    (181, Sys::Pwrite64),
    (183, Sys::Getcwd),
    (190, Sys::Vfork),
    (191, Sys::Getrlimit),
    (192, Sys::Mmap2),
    (193, Sys::Truncate64),
    (194, Sys::Ftruncate64),
    (195, Sys::Stat64),
    (196, Sys::Lstat64),
    (197, Sys::Fstat),
    (199, Sys::GetId),
    (200, Sys::GetId),
    (201, Sys::GetId),
    (202, Sys::GetId),
    (217, Sys::Getdents64),
    (219, Sys::Mincore),
    (220, Sys::Madvise),
    (221, Sys::Fcntl),
    (224, Sys::Gettid),
    (240, Sys::Futex),
    (248, Sys::ExitGroup),
    (256, Sys::SetTidAddress),
    (263, Sys::ClockGettime),
    (265, Sys::ClockNanosleep),
    (268, Sys::Tgkill),
    (322, Sys::OpenAt),
    (323, Sys::MkdirAt),
    (327, Sys::FstatAt),
    (328, Sys::UnlinkAt),
    (329, Sys::RenameAt),
    (330, Sys::LinkAt),
    (331, Sys::SymlinkAt),
    (332, Sys::Readlinkat),
    (334, Sys::FaccessAt),
    (336, Sys::Ppoll),
    (358, Sys::Dup3),
    (359, Sys::Pipe2),
    (369, Sys::Prlimit64),
    (382, Sys::RenameAt2),
    (390, Sys::Mlock2),
    (397, Sys::Statx),
    (403, Sys::ClockGettime64),
    (407, Sys::ClockNanosleep64),
    (414, Sys::PpollTime64),
    (422, Sys::FutexTime64),
    (439, Sys::FaccessAt2),
    // ARM-private (__ARM_NR_set_tls = __ARM_NR_BASE 0x0f0000 + 5).
    (0x0f_0005, Sys::SetTls),
];

/// Linux AArch64 numbers (`svc #0`, number in x8; asm-generic).
pub const AARCH64: &[(usize, Sys)] = &[
    (17, Sys::Getcwd),
    (23, Sys::Dup),
    (24, Sys::Dup3),
    (25, Sys::Fcntl),
    (29, Sys::Ioctl),
    (34, Sys::MkdirAt),
    (35, Sys::UnlinkAt),
    (36, Sys::SymlinkAt),
    (37, Sys::LinkAt),
    (38, Sys::RenameAt),
    (45, Sys::Truncate),
    (46, Sys::Ftruncate),
    (48, Sys::FaccessAt),
    (49, Sys::Chdir),
    (50, Sys::Fchdir),
    (56, Sys::OpenAt),
    (57, Sys::Close),
    (59, Sys::Pipe2),
    (61, Sys::Getdents64),
    (62, Sys::Lseek),
    (63, Sys::Read),
    (64, Sys::Write),
    (65, Sys::Readv),
    (66, Sys::Writev),
    (67, Sys::Pread64),
    (68, Sys::Pwrite64),
    (73, Sys::Ppoll),
    (78, Sys::Readlinkat),
    (79, Sys::FstatAt),
    (80, Sys::Fstat),
    (82, Sys::Fsync),
    (83, Sys::Fsync),
    (93, Sys::Exit),
    (94, Sys::ExitGroup),
    (96, Sys::SetTidAddress),
    (98, Sys::Futex),
    (101, Sys::Nanosleep),
    (102, Sys::Getitimer),
    (103, Sys::Setitimer),
    (113, Sys::ClockGettime),
    (115, Sys::ClockNanosleep),
    (124, Sys::SchedYield),
    (129, Sys::Kill),
    (131, Sys::Tgkill),
    (133, Sys::RtSigsuspend),
    (134, Sys::RtSigaction),
    (135, Sys::RtSigprocmask),
    (136, Sys::RtSigpending),
    (139, Sys::RtSigreturn),
    (154, Sys::Setpgid),
    (155, Sys::Getpgid),
    (157, Sys::Setsid),
    (160, Sys::Uname),
    (163, Sys::Getrlimit),
    (164, Sys::Setrlimit),
    (166, Sys::Umask),
    (172, Sys::GetPid),
    (173, Sys::GetPpid),
    (174, Sys::GetId),
    (175, Sys::GetId),
    (176, Sys::GetId),
    (177, Sys::GetId),
    (178, Sys::Gettid),
    (214, Sys::Brk),
    (215, Sys::Munmap),
    (216, Sys::Mremap),
    (220, Sys::Clone),
    (221, Sys::Execve),
    (222, Sys::Mmap),
    (226, Sys::Mprotect),
    (227, Sys::Msync),
    (228, Sys::Mlock),
    (229, Sys::Munlock),
    (230, Sys::Mlockall),
    (231, Sys::Munlockall),
    (232, Sys::Mincore),
    (233, Sys::Madvise),
    (260, Sys::Wait4),
    (261, Sys::Prlimit64),
    (276, Sys::RenameAt2),
    (284, Sys::Mlock2),
    (291, Sys::Statx),
    (439, Sys::FaccessAt2),
];

/// Syscall numbers below this are looked up in a direct index (both ABIs'
/// Linux numbers are below 450; ARM's private ones, 0xf0000 + n, are not).
pub const DIRECT: usize = 512;

/// `table` as an array indexed by number, built at compile time: one load
/// per syscall instead of a binary search.
pub const fn index(table: &[(usize, Sys)]) -> [Sys; DIRECT] {
    let mut out = [Sys::Unknown(0); DIRECT];
    let mut i = 0;
    while i < DIRECT {
        out[i] = Sys::Unknown(i);
        i += 1;
    }
    let mut j = 0;
    while j < table.len() {
        let (n, sys) = table[j];
        if n < DIRECT {
            out[n] = sys;
        }
        j += 1;
    }
    out
}

/// The number `table` gives `sys` (`usize::MAX` if none), at compile
/// time: the exception entry's fast path compares raw numbers. Only the
/// fast path's calls (getpid, gettid) are recognised.
pub const fn number(table: &[(usize, Sys)], sys: Sys) -> usize {
    let mut j = 0;
    while j < table.len() {
        let (n, s) = table[j];
        // `==` is not const for this enum; the callers ask for field-less
        // variants only.
        if matches!(
            (s, sys),
            (Sys::GetPid, Sys::GetPid) | (Sys::Gettid, Sys::Gettid)
        ) {
            return n;
        }
        j += 1;
    }
    usize::MAX
}

pub static ARM_EABI_INDEX: [Sys; DIRECT] = index(ARM_EABI);
pub static AARCH64_INDEX: [Sys; DIRECT] = index(AARCH64);

/// [`lookup`] through the direct index where the number is in it.
#[inline]
pub fn lookup_indexed(index: &[Sys; DIRECT], table: &[(usize, Sys)], nr: usize) -> Sys {
    match index.get(nr) {
        Some(&s) => s,
        None => lookup(table, nr),
    }
}

/// The meaning of syscall `nr` in `table` (sorted by number: a binary
/// search); `Unknown(nr)` if it has none.
pub fn lookup(table: &[(usize, Sys)], nr: usize) -> Sys {
    match table.binary_search_by_key(&nr, |&(n, _)| n) {
        Ok(i) => table[i].1,
        Err(_) => Sys::Unknown(nr),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn compile_time_numbers() {
        // arch/arm/tools/syscall.tbl: getpid 20, gettid 224;
        // asm-generic/unistd.h: getpid 172, gettid 178.
        assert_eq!(number(ARM_EABI, Sys::GetPid), 20);
        assert_eq!(number(ARM_EABI, Sys::Gettid), 224);
        assert_eq!(number(AARCH64, Sys::GetPid), 172);
        assert_eq!(number(AARCH64, Sys::Gettid), 178);
        assert_eq!(number(AARCH64, Sys::Sigreturn), usize::MAX);
        assert_eq!(number(ARM_EABI, Sys::Read), usize::MAX);
    }

    #[test]
    fn numbers_from_the_linux_tables() {
        // arch/arm/tools/syscall.tbl (EABI) and asm-generic/unistd.h,
        // written out here, not taken from the tables above.
        let arm = [
            ("exit", 1, Sys::Exit),
            ("read", 3, Sys::Read),
            ("write", 4, Sys::Write),
            ("open", 5, Sys::Open),
            ("close", 6, Sys::Close),
            ("getpid", 20, Sys::GetPid),
            ("brk", 45, Sys::Brk),
            ("ioctl", 54, Sys::Ioctl),
            ("munmap", 91, Sys::Munmap),
            ("mprotect", 125, Sys::Mprotect),
            ("writev", 146, Sys::Writev),
            ("mremap", 163, Sys::Mremap),
            ("mmap2", 192, Sys::Mmap2),
            ("madvise", 220, Sys::Madvise),
            ("exit_group", 248, Sys::ExitGroup),
            ("set_tid_address", 256, Sys::SetTidAddress),
            ("openat", 322, Sys::OpenAt),
            ("set_tls", 0xf0005, Sys::SetTls),
            ("fork", 2, Sys::Fork),
            ("execve", 11, Sys::Execve),
            ("getuid", 24, Sys::GetId),
            ("pause", 29, Sys::Pause),
            ("kill", 37, Sys::Kill),
            ("getgid", 47, Sys::GetId),
            ("geteuid", 49, Sys::GetId),
            ("getegid", 50, Sys::GetId),
            ("setpgid", 57, Sys::Setpgid),
            ("getppid", 64, Sys::GetPpid),
            ("getpgrp", 65, Sys::Getpgrp),
            ("setsid", 66, Sys::Setsid),
            ("setitimer", 104, Sys::Setitimer),
            ("getitimer", 105, Sys::Getitimer),
            ("wait4", 114, Sys::Wait4),
            ("sigreturn", 119, Sys::Sigreturn),
            ("clone", 120, Sys::Clone),
            ("uname", 122, Sys::Uname),
            ("getpgid", 132, Sys::Getpgid),
            ("sched_yield", 158, Sys::SchedYield),
            ("nanosleep", 162, Sys::Nanosleep),
            ("clock_nanosleep", 265, Sys::ClockNanosleep),
            ("clock_nanosleep_time64", 407, Sys::ClockNanosleep64),
            ("rt_sigreturn", 173, Sys::RtSigreturn),
            ("rt_sigaction", 174, Sys::RtSigaction),
            ("rt_sigprocmask", 175, Sys::RtSigprocmask),
            ("rt_sigpending", 176, Sys::RtSigpending),
            ("rt_sigsuspend", 179, Sys::RtSigsuspend),
            ("vfork", 190, Sys::Vfork),
            ("getuid32", 199, Sys::GetId),
            ("getgid32", 200, Sys::GetId),
            ("geteuid32", 201, Sys::GetId),
            ("getegid32", 202, Sys::GetId),
            ("gettid", 224, Sys::Gettid),
            ("futex", 240, Sys::Futex),
            ("clock_gettime", 263, Sys::ClockGettime),
            ("tgkill", 268, Sys::Tgkill),
            ("clock_gettime64", 403, Sys::ClockGettime64),
            ("futex_time64", 422, Sys::FutexTime64),
            ("chdir", 12, Sys::Chdir),
            ("lseek", 19, Sys::Lseek),
            ("access", 33, Sys::Access),
            ("dup", 41, Sys::Dup),
            ("pipe", 42, Sys::Pipe),
            ("fcntl", 55, Sys::Fcntl),
            ("umask", 60, Sys::Umask),
            ("dup2", 63, Sys::Dup2),
            ("setrlimit", 75, Sys::Setrlimit),
            ("fchdir", 133, Sys::Fchdir),
            ("_llseek", 140, Sys::Llseek),
            ("getcwd", 183, Sys::Getcwd),
            ("ugetrlimit", 191, Sys::Getrlimit),
            ("stat64", 195, Sys::Stat64),
            ("lstat64", 196, Sys::Lstat64),
            ("fstat64", 197, Sys::Fstat),
            ("fcntl64", 221, Sys::Fcntl),
            ("fstatat64", 327, Sys::FstatAt),
            ("faccessat", 334, Sys::FaccessAt),
            ("dup3", 358, Sys::Dup3),
            ("pipe2", 359, Sys::Pipe2),
            ("prlimit64", 369, Sys::Prlimit64),
            ("statx", 397, Sys::Statx),
            ("faccessat2", 439, Sys::FaccessAt2),
            ("poll", 168, Sys::Poll),
            ("getdents64", 217, Sys::Getdents64),
            ("readlink", 85, Sys::Readlink),
            ("readlinkat", 332, Sys::Readlinkat),
            // Files (arch/arm/tools/syscall.tbl).
            ("creat", 8, Sys::Creat),
            ("link", 9, Sys::Link),
            ("unlink", 10, Sys::Unlink),
            ("rename", 38, Sys::Rename),
            ("mkdir", 39, Sys::Mkdir),
            ("rmdir", 40, Sys::Rmdir),
            ("symlink", 83, Sys::Symlink),
            ("truncate", 92, Sys::Truncate),
            ("ftruncate", 93, Sys::Ftruncate),
            ("fsync", 118, Sys::Fsync),
            ("readv", 145, Sys::Readv),
            ("fdatasync", 148, Sys::Fsync),
            ("pread64", 180, Sys::Pread64),
            ("pwrite64", 181, Sys::Pwrite64),
            ("truncate64", 193, Sys::Truncate64),
            ("ftruncate64", 194, Sys::Ftruncate64),
            ("mkdirat", 323, Sys::MkdirAt),
            ("unlinkat", 328, Sys::UnlinkAt),
            ("renameat", 329, Sys::RenameAt),
            ("linkat", 330, Sys::LinkAt),
            ("symlinkat", 331, Sys::SymlinkAt),
            ("renameat2", 382, Sys::RenameAt2),
            ("ppoll", 336, Sys::Ppoll),
            ("ppoll_time64", 414, Sys::PpollTime64),
            ("msync", 144, Sys::Msync),
            ("mlock", 150, Sys::Mlock),
            ("munlock", 151, Sys::Munlock),
            ("mlockall", 152, Sys::Mlockall),
            ("munlockall", 153, Sys::Munlockall),
            ("mincore", 219, Sys::Mincore),
            ("mlock2", 390, Sys::Mlock2),
        ];
        for (name, nr, sys) in arm {
            assert_eq!(lookup(ARM_EABI, nr), sys, "ARM {name}");
        }
        let a64 = [
            ("ioctl", 29, Sys::Ioctl),
            ("openat", 56, Sys::OpenAt),
            ("close", 57, Sys::Close),
            ("read", 63, Sys::Read),
            ("write", 64, Sys::Write),
            ("writev", 66, Sys::Writev),
            ("exit", 93, Sys::Exit),
            ("exit_group", 94, Sys::ExitGroup),
            ("set_tid_address", 96, Sys::SetTidAddress),
            ("getpid", 172, Sys::GetPid),
            ("brk", 214, Sys::Brk),
            ("munmap", 215, Sys::Munmap),
            ("mremap", 216, Sys::Mremap),
            ("mmap", 222, Sys::Mmap),
            ("mprotect", 226, Sys::Mprotect),
            ("madvise", 233, Sys::Madvise),
            ("futex", 98, Sys::Futex),
            ("nanosleep", 101, Sys::Nanosleep),
            ("clock_nanosleep", 115, Sys::ClockNanosleep),
            ("getitimer", 102, Sys::Getitimer),
            ("setitimer", 103, Sys::Setitimer),
            ("clock_gettime", 113, Sys::ClockGettime),
            ("sched_yield", 124, Sys::SchedYield),
            ("kill", 129, Sys::Kill),
            ("tgkill", 131, Sys::Tgkill),
            ("rt_sigsuspend", 133, Sys::RtSigsuspend),
            ("rt_sigaction", 134, Sys::RtSigaction),
            ("rt_sigprocmask", 135, Sys::RtSigprocmask),
            ("rt_sigpending", 136, Sys::RtSigpending),
            ("rt_sigreturn", 139, Sys::RtSigreturn),
            ("setpgid", 154, Sys::Setpgid),
            ("getpgid", 155, Sys::Getpgid),
            ("setsid", 157, Sys::Setsid),
            ("uname", 160, Sys::Uname),
            ("getppid", 173, Sys::GetPpid),
            ("getuid", 174, Sys::GetId),
            ("geteuid", 175, Sys::GetId),
            ("getgid", 176, Sys::GetId),
            ("getegid", 177, Sys::GetId),
            ("gettid", 178, Sys::Gettid),
            ("clone", 220, Sys::Clone),
            ("execve", 221, Sys::Execve),
            ("wait4", 260, Sys::Wait4),
            ("getcwd", 17, Sys::Getcwd),
            ("dup", 23, Sys::Dup),
            ("dup3", 24, Sys::Dup3),
            ("fcntl", 25, Sys::Fcntl),
            ("faccessat", 48, Sys::FaccessAt),
            ("chdir", 49, Sys::Chdir),
            ("fchdir", 50, Sys::Fchdir),
            ("pipe2", 59, Sys::Pipe2),
            ("lseek", 62, Sys::Lseek),
            ("newfstatat", 79, Sys::FstatAt),
            ("fstat", 80, Sys::Fstat),
            ("getrlimit", 163, Sys::Getrlimit),
            ("setrlimit", 164, Sys::Setrlimit),
            ("umask", 166, Sys::Umask),
            ("prlimit64", 261, Sys::Prlimit64),
            ("statx", 291, Sys::Statx),
            ("faccessat2", 439, Sys::FaccessAt2),
            ("ppoll", 73, Sys::Ppoll),
            ("getdents64", 61, Sys::Getdents64),
            ("readlinkat", 78, Sys::Readlinkat),
            // Files (include/uapi/asm-generic/unistd.h).
            ("mkdirat", 34, Sys::MkdirAt),
            ("unlinkat", 35, Sys::UnlinkAt),
            ("symlinkat", 36, Sys::SymlinkAt),
            ("linkat", 37, Sys::LinkAt),
            ("renameat", 38, Sys::RenameAt),
            ("truncate", 45, Sys::Truncate),
            ("ftruncate", 46, Sys::Ftruncate),
            ("readv", 65, Sys::Readv),
            ("pread64", 67, Sys::Pread64),
            ("pwrite64", 68, Sys::Pwrite64),
            ("fsync", 82, Sys::Fsync),
            ("fdatasync", 83, Sys::Fsync),
            ("renameat2", 276, Sys::RenameAt2),
            ("msync", 227, Sys::Msync),
            ("mlock", 228, Sys::Mlock),
            ("munlock", 229, Sys::Munlock),
            ("mlockall", 230, Sys::Mlockall),
            ("munlockall", 231, Sys::Munlockall),
            ("mincore", 232, Sys::Mincore),
            ("mlock2", 284, Sys::Mlock2),
        ];
        for (name, nr, sys) in a64 {
            assert_eq!(lookup(AARCH64, nr), sys, "AArch64 {name}");
        }
        assert_eq!(ARM_EABI.len(), arm.len(), "no number beyond those");
        assert_eq!(AARCH64.len(), a64.len(), "no number beyond those");
    }

    #[test]
    fn the_direct_index_says_what_the_tables_say() {
        for (idx, t) in [(&ARM_EABI_INDEX, ARM_EABI), (&AARCH64_INDEX, AARCH64)] {
            for nr in (0..2 * DIRECT).chain([0xf_0005, usize::MAX]) {
                assert_eq!(lookup_indexed(idx, t, nr), lookup(t, nr), "nr {nr}");
            }
        }
        assert_eq!(lookup_indexed(&ARM_EABI_INDEX, ARM_EABI, 20), Sys::GetPid);
        assert_eq!(lookup_indexed(&AARCH64_INDEX, AARCH64, 172), Sys::GetPid);
    }

    #[test]
    fn unknown_numbers_stay_unknown_and_tables_are_unambiguous() {
        for t in [ARM_EABI, AARCH64] {
            let nrs: BTreeSet<usize> = t.iter().map(|e| e.0).collect();
            assert_eq!(nrs.len(), t.len(), "a number listed twice");
            assert!(t.windows(2).all(|w| w[0].0 < w[1].0), "sorted, for lookup");
        }
        // The calls only one ABI has.
        assert_eq!(lookup(AARCH64, 5), Sys::Unknown(5), "no open on AArch64");
        assert_eq!(lookup(AARCH64, 192), Sys::Unknown(192));
        assert_eq!(
            lookup(ARM_EABI, 222),
            Sys::Unknown(222),
            "no mmap (old_mmap) here"
        );
        assert_eq!(lookup(ARM_EABI, 999), Sys::Unknown(999));
        assert_eq!(lookup(ARM_EABI, usize::MAX), Sys::Unknown(usize::MAX));
    }
}
