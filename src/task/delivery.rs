//! Acting on signals: what is pending and deliverable, default actions,
//! and (target only) the return-to-user step that terminates, ignores, or
//! runs a handler.

use super::Task;

/// Signals whose default action is to ignore them (signal(7)): SIGCHLD,
/// SIGCONT, SIGURG, SIGWINCH.
const DEFAULT_IGNORED: u64 = (1 << (17 - 1)) | (1 << (18 - 1)) | (1 << (23 - 1)) | (1 << (28 - 1));
const SIGKILL_BIT: u64 = 1 << (9 - 1);
const SIGSTOP_BIT: u64 = 1 << (19 - 1);

impl Task {
    /// The signal the process will act on at its next return to user
    /// mode: the lowest pending unblocked one, SIGKILL first.
    pub fn deliverable_signal(&self) -> Option<u32> {
        let ready = self.sig_pending & !(self.sig_blocked & !(SIGKILL_BIT | SIGSTOP_BIT));
        if ready & SIGKILL_BIT != 0 {
            return Some(9);
        }
        (ready != 0).then(|| ready.trailing_zeros() + 1)
    }

    /// Whether sending `sig` now would be dropped (its action is to
    /// ignore it, explicitly or by default).
    pub fn signal_ignored(&self, sig: u32) -> bool {
        let bit = 1u64 << (sig - 1);
        match self.sig_handlers.get(sig as usize - 1).copied() {
            Some(0) | None => DEFAULT_IGNORED & bit != 0,
            Some(1) => true,
            Some(_) => false,
        }
    }

    /// fork: the child keeps the actions and the mask; nothing pending.
    pub fn copy_signal_state_from(&mut self, parent: &Task) {
        self.sig_handlers = parent.sig_handlers;
        self.sig_blocked = parent.sig_blocked;
        self.sig_pending = 0;
    }

    /// execve: handled signals go back to their default; ignored ones
    /// stay ignored; the mask and pending signals are kept.
    pub fn reset_signals_for_exec(&mut self) {
        for h in self.sig_handlers.iter_mut() {
            if *h > 1 {
                *h = 0;
            }
        }
    }
}

#[cfg(target_os = "none")]
pub use target::*;

#[cfg(target_os = "none")]
mod target {
    use super::super::process::signal_status;
    use super::super::sched::{exit_current, Restart, ERESTARTNOHAND, ERESTARTSYS};
    use super::super::{Sys, KERNEL};
    use super::DEFAULT_IGNORED;
    use crate::arch::current::proc::Frame;
    use crate::errno::Errno;

    /// The rt_sig* syscalls: `Some(result)`, or `None` when the frame was
    /// replaced (rt_sigreturn).
    pub fn syscall(_frame: &mut Frame, _sys: Sys, _a: [usize; 6]) -> Option<isize> {
        Some(Errno::ENOSYS.as_return())
    }

    /// Act on pending signals before returning to user mode; a syscall
    /// interrupted without a handler to run is restarted.
    pub fn deliver(frame: &mut Frame, restart: Option<Restart>) {
        loop {
            let sig = {
                let mut k = KERNEL.lock();
                let Some(t) = k.current_mut() else { return };
                let Some(sig) = t.deliverable_signal() else {
                    break;
                };
                t.sig_pending &= !(1 << (sig - 1));
                sig
            };
            if DEFAULT_IGNORED & (1 << (sig - 1)) != 0 {
                continue;
            }
            exit_current(signal_status(sig as i32));
        }
        if let Some(r) = restart {
            if r.code == ERESTARTSYS || r.code == ERESTARTNOHAND {
                frame.restart_syscall(r.arg0);
            }
        }
    }

    /// A fault signal: `true` if a handler will run, `false` if the
    /// process is to be killed.
    pub fn force_fault(_frame: &mut Frame, _sig: u32, _info: &crate::mm::fault::FaultInfo) -> bool {
        false
    }
}
