//! The console as a terminal for processes: one step of `read(2)` (the
//! scheduler sleeps between steps, `sched::console_read`), poll's
//! readiness, and the terminal ioctls (`ioctl_tty(2)`): TCGETS, TCSETS,
//! TCSETSW, TCSETSF, TIOCGWINSZ, TIOCSWINSZ, TIOCGPGRP, TIOCSPGRP and
//! FIONREAD; any other request is `ENOTTY`, as on an fd that is no
//! terminal.
//!
//! The console counts as every process's controlling terminal (there are
//! no sessions here): a shell's `tcgetpgrp` finds init's group at first,
//! and job control (`tcsetpgrp` to each foreground job) works. Left out:
//! SIGTTOU/SIGTTIN for background groups, SIGWINCH on TIOCSWINSZ.

use super::files::{Open, O_NONBLOCK};
use super::Task;
use crate::console::{Tty, TTY};
use crate::drivers::tty::{ReadStep, Termios, Winsize, BUF_SIZE};
use crate::errno::Errno;

/// The `Wait::Pipe` key console readers sleep on (pipe keys are the
/// addresses of pipes, never 1); pollers (key 0) are woken with them.
pub const WAIT_KEY: usize = 1;

// Requests (asm-generic/ioctls.h: ARM and AArch64 both use it).
pub const TCGETS: u32 = 0x5401;
pub const TCSETS: u32 = 0x5402;
pub const TCSETSW: u32 = 0x5403;
pub const TCSETSF: u32 = 0x5404;
pub const TIOCGPGRP: u32 = 0x540F;
pub const TIOCSPGRP: u32 = 0x5410;
pub const TIOCGWINSZ: u32 = 0x5413;
pub const TIOCSWINSZ: u32 = 0x5414;
pub const FIONREAD: u32 = 0x541B;

/// How a request uses its argument: the kernel writes `Out(n)` bytes
/// to it, or reads `In(n)` bytes from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    Out(usize),
    In(usize),
}

/// The argument of a terminal request; `None`: not one (`ENOTTY`).
pub fn arg_of(cmd: u32) -> Option<Arg> {
    Some(match cmd {
        TCGETS => Arg::Out(Termios::SIZE),
        TCSETS | TCSETSW | TCSETSF => Arg::In(Termios::SIZE),
        TIOCGWINSZ => Arg::Out(Winsize::SIZE),
        TIOCSWINSZ => Arg::In(Winsize::SIZE),
        TIOCGPGRP | FIONREAD => Arg::Out(4),
        TIOCSPGRP => Arg::In(4),
        _ => return None,
    })
}

/// Carry out request `cmd` on `tty` (pure: the argument's bytes are
/// already read, `input`, or to be written, `out`, as [`arg_of`] says).
/// `group_exists` answers for TIOCSPGRP (`ESRCH` for a group with no
/// process, `EINVAL` for a negative one, as Linux's `tiocspgrp`).
/// `drain` waits for output to leave (TCSETSW, TCSETSF).
pub fn apply(
    tty: &mut Tty,
    cmd: u32,
    input: &[u8],
    out: &mut [u8],
    group_exists: impl Fn(u32) -> bool,
    drain: impl FnOnce(),
) -> Result<(), Errno> {
    let int = |v: i32, out: &mut [u8]| out[..4].copy_from_slice(&v.to_le_bytes());
    match cmd {
        TCGETS => out[..Termios::SIZE].copy_from_slice(&tty.ld.termios.to_bytes()),
        TCSETS | TCSETSW | TCSETSF => {
            let b: &[u8; Termios::SIZE] = input.try_into().map_err(|_| Errno::EFAULT)?;
            if cmd != TCSETS {
                drain();
            }
            if cmd == TCSETSF {
                tty.ld.flush_input();
            }
            tty.ld.set_termios(Termios::from_bytes(b));
        }
        TIOCGWINSZ => out[..Winsize::SIZE].copy_from_slice(&tty.winsize.to_bytes()),
        TIOCSWINSZ => {
            let b: &[u8; Winsize::SIZE] = input.try_into().map_err(|_| Errno::EFAULT)?;
            tty.winsize = Winsize::from_bytes(b);
        }
        TIOCGPGRP => int(tty.fg_pgrp as i32, out),
        FIONREAD => int(tty.ld.inq() as i32, out),
        TIOCSPGRP => {
            let b: [u8; 4] = input.try_into().map_err(|_| Errno::EFAULT)?;
            let g = i32::from_le_bytes(b);
            if g < 0 {
                return Err(Errno::EINVAL);
            }
            if !group_exists(g as u32) {
                return Err(Errno::ESRCH);
            }
            tty.fg_pgrp = g as u32;
        }
        _ => return Err(Errno::ENOTTY),
    }
    Ok(())
}

/// One step of a console read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsoleRead {
    /// The syscall returns this many bytes.
    Done(usize),
    /// Nothing yet: sleep (at most this many tenths of a second: VTIME).
    Block(Option<u8>),
}

/// Whether a console read would find input (poll's POLLIN).
pub fn console_readable() -> bool {
    TTY.lock().ld.readable()
}

impl Task {
    fn console_fd(&self, fd: i32) -> Result<u32, Errno> {
        let f = self.fd(fd)?;
        match f.open() {
            Open::Console => Ok(f.flags()),
            _ => Err(Errno::ENOTTY),
        }
    }

    /// One step of `read(2)` on the console fd `fd`: the bytes a read
    /// finds now, or `Block` (`EAGAIN` with O_NONBLOCK).
    pub(super) fn console_read_step(
        &mut self,
        fd: i32,
        buf: usize,
        len: usize,
    ) -> Result<ConsoleRead, Errno> {
        let flags = self.console_fd(fd).map_err(|_| Errno::EBADF)?;
        self.access_ok(buf, len)?;
        if len == 0 {
            return Ok(ConsoleRead::Done(0));
        }
        let mut tmp = [0u8; BUF_SIZE];
        let want = len.min(BUF_SIZE);
        let step = TTY.lock().ld.read(&mut tmp[..want]);
        match step {
            ReadStep::Done(n) => {
                let done = self.copy_out(buf, &tmp[..n]);
                if done == 0 && n > 0 {
                    return Err(Errno::EFAULT);
                }
                Ok(ConsoleRead::Done(done))
            }
            ReadStep::Wait(_) if flags & O_NONBLOCK != 0 => Err(Errno::EAGAIN),
            ReadStep::Wait(t) => Ok(ConsoleRead::Block(t)),
        }
    }

    /// `ioctl(fd, cmd, arg)`: the terminal requests on the console
    /// (`group_exists` for TIOCSPGRP), `ENOTTY` on any other fd or for
    /// any other request; `EFAULT` for an argument that cannot be read
    /// or written.
    pub(super) fn tty_ioctl(
        &mut self,
        fd: i32,
        cmd: u32,
        arg: usize,
        group_exists: impl Fn(u32) -> bool,
    ) -> Result<usize, Errno> {
        self.console_fd(fd)?;
        let dir = arg_of(cmd).ok_or(Errno::ENOTTY)?;
        let mut input = [0u8; Termios::SIZE];
        let mut out = [0u8; Termios::SIZE];
        let input = match dir {
            Arg::In(n) => {
                let got = self.copy_in(arg, &mut input[..n]);
                if got < n {
                    return Err(Errno::EFAULT);
                }
                &input[..n]
            }
            Arg::Out(n) => {
                // Checked before anything changes.
                self.access_ok(arg, n)?;
                &input[..0]
            }
        };
        apply(
            &mut TTY.lock(),
            cmd,
            input,
            &mut out,
            group_exists,
            crate::console::flush,
        )?;
        if let Arg::Out(n) = dir {
            self.write_user(arg, &out[..n])?;
        }
        Ok(0)
    }
}

#[cfg(test)]
mod tests;
