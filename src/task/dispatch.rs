//! One syscall, by meaning: the arguments in, the result or the exit out.

use super::files::AT_FDCWD;
use super::{Outcome, Sys, Task};
use crate::errno::Errno;
use crate::kprintln;
use crate::loader::stack;

impl Task {
    /// lseek with the ABI's `off_t` (32-bit on ARM: a position past
    /// 2^31 - 1 is `EOVERFLOW`).
    fn lseek_native(&mut self, fd: i32, off: usize, whence: u32) -> Result<usize, Errno> {
        let off = match self.layout.word {
            stack::WordSize::W32 => off as u32 as i32 as i64,
            stack::WordSize::W64 => off as i64,
        };
        let p = self.lseek(fd, off, whence)?;
        if self.layout.word == stack::WordSize::W32 && p > i32::MAX as u64 {
            return Err(Errno::EOVERFLOW);
        }
        Ok(p as usize)
    }

    /// Perform one syscall.
    pub fn syscall(&mut self, sys: Sys, a: [usize; 6]) -> Outcome {
        let r: Result<usize, Errno> = match sys {
            Sys::Exit | Sys::ExitGroup => return Outcome::Exit(a[0] as i32),
            Sys::Write => self.write(a[0] as i32, a[1], a[2]),
            Sys::Writev => {
                let word = match self.layout.word {
                    stack::WordSize::W32 => 4,
                    stack::WordSize::W64 => 8,
                };
                self.writev(a[0] as i32, a[1], a[2], word)
            }
            Sys::Read => self.read(a[0] as i32, a[1], a[2]),
            Sys::Open => self.open(AT_FDCWD, a[0], a[1] as u32, a[2] as u32),
            // creat(path, mode): open with O_CREAT|O_WRONLY|O_TRUNC.
            Sys::Creat => self.open(AT_FDCWD, a[0], 0o1101, a[1] as u32),
            Sys::Readv => {
                let word = self.word();
                self.readv(a[0] as i32, a[1], a[2], word)
            }
            Sys::Pread64 | Sys::Pwrite64 => {
                let off = self.off64(a, 3);
                self.pread_pwrite(sys == Sys::Pwrite64, a[0] as i32, a[1], a[2], off)
            }
            Sys::Mkdir => self.mkdirat(AT_FDCWD, a[0], a[1] as u32),
            Sys::MkdirAt => self.mkdirat(a[0] as i32, a[1], a[2] as u32),
            Sys::Rmdir => self.unlinkat(AT_FDCWD, a[0], 0x200),
            Sys::Unlink => self.unlinkat(AT_FDCWD, a[0], 0),
            Sys::UnlinkAt => self.unlinkat(a[0] as i32, a[1], a[2] as u32),
            Sys::Rename => self.renameat2(AT_FDCWD, a[0], AT_FDCWD, a[1], 0),
            Sys::RenameAt => self.renameat2(a[0] as i32, a[1], a[2] as i32, a[3], 0),
            Sys::RenameAt2 => self.renameat2(a[0] as i32, a[1], a[2] as i32, a[3], a[4] as u32),
            Sys::Link => self.linkat(AT_FDCWD, a[0], AT_FDCWD, a[1], 0),
            Sys::LinkAt => self.linkat(a[0] as i32, a[1], a[2] as i32, a[3], a[4] as u32),
            Sys::Symlink => self.symlinkat(a[0], AT_FDCWD, a[1]),
            Sys::SymlinkAt => self.symlinkat(a[0], a[1] as i32, a[2]),
            // The native length: 32-bit on ARM's truncate/ftruncate.
            Sys::Truncate => self.truncate_path(a[0], a[1] as isize as i64),
            Sys::Ftruncate => self.ftruncate(a[0] as i32, a[1] as isize as i64),
            // ARM's 64-bit forms: the length in an aligned register pair.
            Sys::Truncate64 => {
                self.truncate_path(a[0], (a[2] as u32 as u64 | (a[3] as u64) << 32) as i64)
            }
            Sys::Ftruncate64 => self.ftruncate(
                a[0] as i32,
                (a[2] as u32 as u64 | (a[3] as u64) << 32) as i64,
            ),
            // Nothing to write back: the file system is in memory.
            Sys::Fsync => self.fd(a[0] as i32).map(|_| 0),
            Sys::OpenAt => {
                if a[0] as i32 != AT_FDCWD && self.fd(a[0] as i32).is_err() {
                    Err(Errno::EBADF)
                } else {
                    self.open(a[0] as i32, a[1], a[2] as u32, a[3] as u32)
                }
            }
            Sys::Dup => self.dup(a[0] as i32),
            Sys::Dup2 => self.dup3(a[0] as i32, a[1] as i32, None),
            Sys::Dup3 => self.dup3(a[0] as i32, a[1] as i32, Some(a[2] as u32)),
            Sys::Fcntl => self.fcntl(a[0] as i32, a[1] as u32 as usize, a[2]),
            Sys::Pipe => self.pipe2(a[0], 0),
            Sys::Pipe2 => self.pipe2(a[0], a[1] as u32),
            Sys::Lseek => self.lseek_native(a[0] as i32, a[1], a[2] as u32),
            Sys::Llseek => {
                let off = ((a[1] as u32 as u64) << 32 | a[2] as u32 as u64) as i64;
                self.lseek(a[0] as i32, off, a[4] as u32).and_then(|p| {
                    self.write_user(a[3], &p.to_le_bytes())?;
                    Ok(0)
                })
            }
            Sys::Getcwd => self.getcwd(a[0], a[1]),
            Sys::Chdir => self.chdir(a[0]),
            Sys::Fchdir => self.fchdir(a[0] as i32),
            Sys::Umask => self.umask(a[0]),
            Sys::Getrlimit => self.getrlimit(a[0], a[1]),
            Sys::Setrlimit => self.setrlimit(a[0], a[1]),
            Sys::Prlimit64 => self.prlimit64(a),
            Sys::Access => self.faccessat(AT_FDCWD, a[0], a[1] as u32, 0),
            Sys::FaccessAt => self.faccessat(a[0] as i32, a[1], a[2] as u32, 0),
            Sys::FaccessAt2 => self.faccessat(a[0] as i32, a[1], a[2] as u32, a[3] as u32),
            Sys::Stat64 => self.stat_path(a[0], a[1], true),
            Sys::Lstat64 => self.stat_path(a[0], a[1], false),
            Sys::Fstat => self.fstat(a[0] as i32, a[1]),
            Sys::FstatAt => self.fstatat(a[0] as i32, a[1], a[2], a[3] as u32),
            Sys::Statx => self.statx(a),
            Sys::Getdents64 => self.getdents64(a[0] as i32, a[1], a[2]),
            Sys::Readlink => self.readlinkat(AT_FDCWD, a[0], a[1], a[2]),
            Sys::Readlinkat => self.readlinkat(a[0] as i32, a[1], a[2], a[3]),
            Sys::Close => self.close(a[0] as i32),
            Sys::GetPid => Ok(self.pid as usize),
            Sys::SetTidAddress => Ok(self.pid as usize),
            // The console is a terminal (task/tty.rs; TIOCSPGRP here
            // knows only the caller's group, the scheduler's path checks
            // the process table); a driver's fd goes to its driver
            // (`task::devio`); other fds have no ioctls: ENOTTY.
            Sys::Ioctl if self.fd(a[0] as i32).is_ok_and(|f| f.is_console()) => {
                let own = self.pgid;
                self.tty_ioctl(a[0] as i32, a[1] as u32, a[2], |g| g == own)
            }
            Sys::Ioctl => self.ioctl(a[0] as i32, a[1] as u32, a[2]),
            Sys::Brk => Ok(self.space.brk(self.mmu.as_mut(), a[0])),
            Sys::Munmap => self.munmap(a[0], a[1]),
            Sys::Mprotect => self.mprotect(a[0], a[1], a[2] as u32),
            Sys::Mmap2 => self.mmap(a, (a[5] as u64) << 12),
            Sys::Mmap => self.mmap(a, a[5] as u64),
            Sys::Madvise => self.madvise(a[0], a[1], a[2]),
            Sys::Mremap => self.mremap(a),
            Sys::Msync => self.msync(a[0], a[1], a[2]),
            Sys::Mincore => self.mincore(a[0], a[1], a[2]),
            Sys::Mlock => self.mlock(a[0], a[1], 0),
            Sys::Mlock2 => self.mlock(a[0], a[1], a[2]),
            Sys::Munlock => self.munlock(a[0], a[1]),
            Sys::Mlockall => self.mlockall(a[0]),
            Sys::Munlockall => self.munlockall(),
            Sys::SetTls => Ok(0),
            // The process calls switch stacks: `sched` handles them before
            // a task's own syscalls are reached.
            Sys::Fork
            | Sys::Vfork
            | Sys::Clone
            | Sys::Execve
            | Sys::Wait4
            | Sys::GetPpid
            | Sys::Kill
            | Sys::Tgkill
            | Sys::SchedYield
            | Sys::Nanosleep
            | Sys::ClockNanosleep
            | Sys::ClockNanosleep64
            | Sys::ClockGettime
            | Sys::ClockGettime64
            | Sys::GetId
            | Sys::Gettid
            | Sys::Uname
            | Sys::RtSigaction
            | Sys::RtSigprocmask
            | Sys::RtSigreturn
            | Sys::Sigreturn
            | Sys::RtSigsuspend
            | Sys::RtSigpending
            | Sys::Pause
            | Sys::Setpgid
            | Sys::Getpgid
            | Sys::Getpgrp
            | Sys::Setsid
            | Sys::Getitimer
            | Sys::Setitimer
            | Sys::Futex
            | Sys::FutexTime64
            | Sys::Poll
            | Sys::Ppoll
            | Sys::PpollTime64 => Err(Errno::ENOSYS),
            Sys::Unknown(n) => {
                let seen = &self.reported[..self.reported_count];
                if !seen.contains(&n) && self.reported_count < self.reported.len() {
                    self.reported[self.reported_count] = n;
                    self.reported_count += 1;
                    kprintln!(
                        "task {} ({}): syscall {n} not implemented: ENOSYS",
                        self.pid,
                        self.name
                    );
                }
                Err(Errno::ENOSYS)
            }
        };
        Outcome::Return(match r {
            Ok(v) => v as isize,
            Err(e) => e.as_return(),
        })
    }
}

#[cfg(test)]
mod tests;
