//! One syscall, by meaning: the arguments in, the result or the exit out.

use super::files::AT_FDCWD;
use super::{Outcome, Sys, Task};
use crate::errno::Errno;
use crate::kprintln;
use crate::loader::stack;

impl Task {
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
            Sys::Open => self.open(a[0], a[1] as u32),
            Sys::OpenAt => {
                if a[0] as i32 != AT_FDCWD && self.fd(a[0] as i32).is_err() {
                    Err(Errno::EBADF)
                } else {
                    self.open(a[1], a[2] as u32)
                }
            }
            Sys::Close => self.close(a[0] as i32),
            Sys::GetPid => Ok(self.pid as usize),
            Sys::SetTidAddress => Ok(self.pid as usize),
            Sys::Ioctl => self.fd(a[0] as i32).and(Err(Errno::ENOTTY)),
            Sys::Brk => Ok(self.space.brk(self.mmu.as_mut(), a[0])),
            Sys::Munmap => self.munmap(a[0], a[1]),
            Sys::Mprotect => self.mprotect(a[0], a[1], a[2] as u32),
            Sys::Mmap2 => self.mmap(a, (a[5] as u64) << 12),
            Sys::Mmap => self.mmap(a, a[5] as u64),
            Sys::Madvise => self.madvise(a[0], a[1], a[2]),
            Sys::Mremap => self.mremap(a),
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
            | Sys::FutexTime64 => Err(Errno::ENOSYS),
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
