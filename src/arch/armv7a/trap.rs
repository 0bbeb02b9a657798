//! Rust side of the exception vectors: decode, then either recover (a
//! kernel probe, a user fault) or report and stop.

use super::exceptions::{Frame, Vector};
use super::fault::{decode_dfsr, decode_ifsr};
use crate::kprintln;
use crate::mm::fault::FaultInfo;
use aarch32_cpu::register::{Dfar, Dfsr, Ifar, Ifsr};

/// A kernel-mode access that is expected to fault (self-tests). While
/// armed, a data abort is recorded and the faulting instruction skipped; a
/// prefetch abort returns to the caller of the probed address (`svc_lr`).
static PROBE: spin::Mutex<Probe> = spin::Mutex::new(Probe {
    armed: false,
    last: None,
});

struct Probe {
    armed: bool,
    last: Option<FaultInfo>,
}

/// Run `f` (one faulting access) with the probe armed; returns the fault
/// it took, if any.
pub fn probe(f: impl FnOnce()) -> Option<FaultInfo> {
    {
        let mut p = PROBE.lock();
        p.armed = true;
        p.last = None;
    }
    f();
    let mut p = PROBE.lock();
    p.armed = false;
    p.last.take()
}

fn take_probe(info: FaultInfo) -> bool {
    let mut p = PROBE.lock();
    if p.armed {
        p.last = Some(info);
        p.armed = false;
        true
    } else {
        false
    }
}

/// Hook for exceptions from user mode (installed by the task layer).
pub type UserTrap = fn(&mut Frame, Vector);
static USER_TRAP: spin::Once<UserTrap> = spin::Once::new();

pub fn set_user_trap(f: UserTrap) {
    USER_TRAP.call_once(|| f);
}

/// The semihosting SVC immediate (ARM state).
const SEMIHOSTING_SVC: u32 = 0xEF12_3456;

#[no_mangle]
extern "C" fn armmu_exception(frame: &mut Frame, kind: u32) {
    let Some(v) = Vector::from_raw(kind) else {
        panic!("unknown exception vector {kind}");
    };
    if frame.from_user() {
        match USER_TRAP.get() {
            Some(f) => return f(frame, v),
            None => panic!("exception {v:?} from user mode with no task layer"),
        }
    }
    match v {
        Vector::DataAbort => {
            let info = decode_dfsr(Dfsr::read().raw_value(), Dfar::read().0, frame.pc);
            if take_probe(info) {
                frame.pc += 4;
                return;
            }
            kernel_fault(frame, "data abort", info)
        }
        Vector::PrefetchAbort => {
            let info = decode_ifsr(Ifsr::read().raw_value(), Ifar::read().0, frame.pc);
            if take_probe(info) {
                frame.pc = frame.svc_lr;
                return;
            }
            kernel_fault(frame, "prefetch abort", info)
        }
        Vector::Svc => {
            // `svc 0x123456` with semihosting disabled in QEMU (or on a
            // real board) lands here: report "not available".
            // SAFETY: frame.pc - 4 is the SVC instruction just executed.
            let insn = unsafe { ((frame.pc - 4) as *const u32).read_volatile() };
            if insn == SEMIHOSTING_SVC {
                frame.r[0] = u32::MAX;
                return;
            }
            panic!(
                "SVC {insn:#010x} from kernel mode at {:#010x}",
                frame.pc - 4
            )
        }
        Vector::Undefined => {
            let info = FaultInfo::undefined_instruction(frame.pc as u64);
            kernel_fault(frame, "undefined instruction", info)
        }
        Vector::Irq | Vector::Fiq => {
            kprintln!("spurious {v:?} in kernel mode");
        }
    }
}

fn kernel_fault(frame: &Frame, what: &str, info: FaultInfo) -> ! {
    kprintln!("KERNEL {what}: {info} (status {:#x})", info.raw_status);
    kprintln!(
        "  r0-r3  {:08x} {:08x} {:08x} {:08x}",
        frame.r[0],
        frame.r[1],
        frame.r[2],
        frame.r[3]
    );
    kprintln!("  lr={:08x} cpsr={:08x}", frame.svc_lr, frame.cpsr);
    panic!("unrecoverable kernel fault");
}
