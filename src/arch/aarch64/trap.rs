//! Rust side of the AArch64 vectors: kernel probes, semihosting fallback,
//! and the hook into the task layer for exceptions from EL0.

use super::exceptions::{Frame, KIND_FROM_EL0};
use super::fault;
use crate::kprintln;
use crate::mm::fault::FaultInfo;

static PROBE: spin::Mutex<(bool, Option<FaultInfo>)> = spin::Mutex::new((false, None));

/// Run `f` (one access expected to fault) with the probe armed. A data
/// abort skips the instruction; an instruction abort returns to the link
/// register (the probe branched with `blr`).
pub fn probe(f: impl FnOnce()) -> Option<FaultInfo> {
    *PROBE.lock() = (true, None);
    f();
    let mut p = PROBE.lock();
    p.0 = false;
    p.1.take()
}

/// Exceptions from EL0 (AArch64) do not come here: their vectors call the
/// task layer directly (`user::armmu_a64_user_exception`).
#[no_mangle]
extern "C" fn armmu_a64_exception(frame: &mut Frame, kind: u64) {
    if kind & KIND_FROM_EL0 != 0 && kind & 0x20 == 0 {
        panic!("exception {kind:#x} from EL0 on the kernel's path");
    }
    if kind & 3 != 0 {
        kprintln!("spurious asynchronous exception {kind:#x} in the kernel");
        return;
    }
    match fault::class(frame.esr) {
        fault::Class::DataAbort { .. } | fault::Class::InstructionAbort { .. } => {
            let info = fault::decode_abort(frame.esr, frame.far, frame.elr);
            let mut p = PROBE.lock();
            if p.0 {
                p.0 = false;
                p.1 = Some(info);
                if matches!(fault::class(frame.esr), fault::Class::DataAbort { .. }) {
                    frame.elr += 4;
                } else {
                    frame.elr = frame.x[30];
                }
                return;
            }
            drop(p);
            kprintln!("KERNEL abort: {info} (ESR {:#x})", frame.esr);
            panic!("unrecoverable kernel fault");
        }
        fault::Class::Undefined => {
            // SAFETY: ELR points at the instruction that was undefined.
            let insn = unsafe { (frame.elr as *const u32).read_volatile() };
            if insn == super::power::SEMIHOSTING_HLT {
                frame.x[0] = u64::MAX; // semihosting not available
                frame.elr += 4;
                return;
            }
            panic!(
                "undefined instruction {insn:#010x} in the kernel at {:#x}",
                frame.elr
            )
        }
        other => panic!(
            "kernel exception {other:?} ESR={:#x} ELR={:#x} FAR={:#x}",
            frame.esr, frame.elr, frame.far
        ),
    }
}
