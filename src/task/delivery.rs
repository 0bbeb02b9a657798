//! Acting on signals (target only): the rt_sig* syscalls, the step before
//! every return to user mode that ignores, terminates or runs a handler
//! (Linux's `do_signal`), and fault signals. The rules are in
//! [`super::signal`]; the frames in its `arm`/`aarch64` modules; this is
//! the glue to the process table and user memory.

use super::sched::{exit_current, Restart as Interrupted};
use super::{Sys, Task};
use crate::arch::current::proc::{self as arch, Frame};
use crate::errno::Errno;
use crate::task::signal::{self, Disposition, SigAction, SigInfo, SigSet, UserMem};
use core::cell::RefCell;

/// User memory of the current task, for the signal-frame code.
pub struct TaskMem<'a>(pub RefCell<&'a mut Task>);

impl UserMem for TaskMem<'_> {
    fn write(&mut self, addr: usize, bytes: &[u8]) -> Result<(), Errno> {
        self.0.get_mut().write_user(addr, bytes)
    }
    fn read(&self, addr: usize, out: &mut [u8]) -> Result<(), Errno> {
        let v = self.0.borrow_mut().read_user(addr, out.len())?;
        out.copy_from_slice(&v);
        Ok(())
    }
}

fn me<R>(f: impl FnOnce(&mut Task) -> Result<R, Errno>) -> Result<R, Errno> {
    super::with_current(f).unwrap_or(Err(Errno::ESRCH))
}

fn ret(r: Result<usize, Errno>) -> isize {
    match r {
        Ok(v) => v as isize,
        Err(e) => e.as_return(),
    }
}

/// The rt_sig* syscalls: `Some(result)`, or `None` when the frame was
/// replaced (rt_sigreturn).
pub fn syscall(frame: &mut Frame, sys: Sys, a: [usize; 6]) -> Option<isize> {
    match sys {
        Sys::RtSigaction => Some(ret(rt_sigaction(a))),
        Sys::RtSigprocmask => Some(ret(rt_sigprocmask(a))),
        Sys::RtSigsuspend => Some(rt_sigsuspend(a)),
        Sys::RtSigpending => Some(ret(me(|t| {
            signal::check_sigsetsize(a[1])?;
            let set = t.signals.sigpending();
            t.write_user(a[0], &set.0.to_le_bytes())?;
            Ok(0)
        }))),
        Sys::RtSigreturn | Sys::Sigreturn => {
            let rt = sys == Sys::RtSigreturn;
            let r = me(|t| {
                let abi = t.signals.abi();
                let mut mem = TaskMem(RefCell::new(t));
                arch::restore_signal_frame(frame, abi, rt, &mut mem)
            });
            match r {
                Ok(mask) => {
                    super::with_current(|t| t.signals.set_blocked(mask));
                }
                Err(e) => {
                    crate::kprintln!("sigreturn: bad frame ({}): SIGSEGV", e.name());
                    super::with_current(|t| {
                        t.signals
                            .force(signal::SIGSEGV, SigInfo::kernel(signal::SIGSEGV))
                    });
                }
            }
            None
        }
        _ => Some(Errno::ENOSYS.as_return()),
    }
}

fn rt_sigaction(a: [usize; 6]) -> Result<usize, Errno> {
    let (sig, act, oldact, size) = (a[0] as u32, a[1], a[2], a[3]);
    signal::check_sigsetsize(size)?;
    me(|t| {
        let abi = t.signals.abi();
        let n = abi.sigaction_size();
        let new = if act != 0 {
            let b = t.read_user(act, n)?;
            Some(SigAction::from_bytes(abi, &b).ok_or(Errno::EFAULT)?)
        } else {
            None
        };
        let old = t.signals.sigaction(sig, new)?;
        if oldact != 0 {
            t.write_user(oldact, &old.to_bytes(abi)[..n])?;
        }
        Ok(0)
    })
}

fn read_set(t: &mut Task, va: usize) -> Result<SigSet, Errno> {
    let b = t.read_user(va, 8)?;
    let mut w = [0u8; 8];
    w.copy_from_slice(&b);
    Ok(SigSet(u64::from_le_bytes(w)))
}

fn rt_sigprocmask(a: [usize; 6]) -> Result<usize, Errno> {
    let (how, set, oldset, size) = (a[0] as u32, a[1], a[2], a[3]);
    signal::check_sigsetsize(size)?;
    me(|t| {
        let new = if set != 0 {
            Some(read_set(t, set)?)
        } else {
            None
        };
        let old = t.signals.sigprocmask(how, new)?;
        if oldset != 0 {
            t.write_user(oldset, &old.0.to_le_bytes())?;
        }
        Ok(0)
    })
}

/// rt_sigsuspend: wait with a temporary mask until a handler runs;
/// always `EINTR` (`-ERESTARTNOHAND`: restarted if nothing runs).
fn rt_sigsuspend(a: [usize; 6]) -> isize {
    let r = me(|t| {
        signal::check_sigsetsize(a[1])?;
        let set = read_set(t, a[0])?;
        t.signals.suspend(set);
        Ok(())
    });
    if let Err(e) = r {
        return e.as_return();
    }
    super::sched::pause_for_signal()
}

/// Act on pending signals before returning to user mode (Linux's
/// `do_signal`): ignored ones are dropped, a terminating one ends the
/// process, a handler gets a frame. An interrupted syscall is
/// restarted or fails with `EINTR` as the handler's `SA_RESTART` says.
pub fn deliver(frame: &mut Frame, interrupted: Option<Interrupted>) {
    let mut restart = interrupted;
    loop {
        let next = super::with_current(|t| t.signals.dequeue()).flatten();
        let Some((sig, info, disp)) = next else {
            break;
        };
        match disp {
            Disposition::Ignore | Disposition::Stop(_) => continue,
            Disposition::Terminate(s) => exit_current(signal::wait_status_killed(s)),
            Disposition::Handler(action) => {
                if let Some(r) = restart.take() {
                    let d = signal::restart_decision(r.code, Some(&action));
                    arch::apply_restart(frame, d, r.arg0);
                }
                let ok = super::with_current(|t| {
                    let old_mask = t.signals.mask_to_save();
                    let abi = t.signals.abi();
                    let tramp = t.layout.stack_top;
                    let r = {
                        let mut mem = TaskMem(RefCell::new(&mut *t));
                        arch::setup_signal_frame(
                            frame, sig, &info, &action, old_mask, tramp, abi, &mut mem,
                        )
                    };
                    match r {
                        Ok(()) => {
                            t.signals.delivered(sig, &action);
                            true
                        }
                        Err(_) => {
                            t.signals.force_sigsegv(sig);
                            false
                        }
                    }
                });
                if ok == Some(true) {
                    return;
                }
            }
        }
    }
    if let Some(r) = restart {
        arch::apply_restart(frame, signal::restart_decision(r.code, None), r.arg0);
    }
    super::with_current(|t| t.signals.restore_saved_mask());
}

/// A fault signal (forced, as Linux's `force_sig_fault`): `true` if a
/// handler will run, `false` if the process is to be killed.
pub fn force_fault(_frame: &mut Frame, sig: u32, info: &crate::mm::fault::FaultInfo) -> bool {
    let handled = super::with_current(|t| {
        // Linux decides SEGV_MAPERR/SEGV_ACCERR by the VMA, not by the
        // hardware fault: an address inside a mapping that refused the
        // access is ACCERR (bad_area_access_error), else MAPERR.
        let code = if sig == signal::SIGSEGV {
            let mapped = usize::try_from(info.addr)
                .ok()
                .and_then(|a| t.space.vmas.find(a))
                .is_some();
            if mapped {
                signal::SEGV_ACCERR
            } else {
                signal::SEGV_MAPERR
            }
        } else {
            info.si_code()
        };
        let si = SigInfo::fault(sig, code, info.addr);
        t.signals.force(sig, si);
        t.signals.action(sig).is_handler()
    });
    handled == Some(true)
}
