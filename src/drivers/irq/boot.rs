//! Bring-up from the boot flow and the interrupt-path self-test, with
//! IRQs masked throughout.

use super::{ack as acknowledge, eoi as end_of_interrupt, init, ChipInfo, IrqInfo};
use crate::arch::current::timer;
use crate::bootinfo::BootInfo;
use crate::drivers::bcm2836;
use crate::drivers::gic::{Mhz, SPIN_LIMIT};
use crate::kprintln;

/// The boot DTB. It stays reserved in RAM: read through the linear map
/// (initrd_slice serves any RAM range).
fn dtb_of(info: &BootInfo) -> Option<&'static [u8]> {
    let pa = info.dtb_pa?;
    crate::arch::current::api::initrd_slice(pa, pa + info.dtb_size as u64)
}

/// Initialise the interrupt controller from the boot DTB and prove the
/// interrupt path. Returns the number of failed checks (0 also when there
/// is no controller: the
/// kernel then runs without interrupts, as the log says).
pub fn boot(info: &BootInfo) -> u32 {
    let Some(dtb) = dtb_of(info) else {
        kprintln!("irq: no device tree: running without interrupts");
        return 0;
    };
    // No generic timer (Cortex-A9): the A9 global timer is the counter
    // and its PPI 27 the tick, before the controller enables that PPI.
    #[cfg(target_arch = "arm")]
    crate::drivers::a9_global_timer::init(dtb);
    match init(dtb) {
        Ok(gi) => selftest(&gi),
        Err(e) => {
            kprintln!("irq: no interrupt controller ({e}): running without interrupts");
            0
        }
    }
}

/// The virtual timer's interrupt through the controller, with IRQs
/// masked: first by polling (it must be pending at the GIC's CPU
/// interface, or in the BCM2836 local controller's IRQ source register,
/// once CNTVCT passes the deadline), then by WFI (it must wake the CPU).
fn selftest(gi: &IrqInfo) -> u32 {
    let fail = |what: core::fmt::Arguments| {
        timer::stop();
        kprintln!("irq: FAILED: {what}");
        1
    };
    if !timer::irqs_masked() {
        return fail(format_args!("IRQs are unmasked in kernel mode"));
    }
    let freq = timer::frequency();
    if freq == 0 {
        return fail(format_args!("CNTFRQ is 0"));
    }
    // 1 ms ahead.
    let delta = (freq / 1000).max(1);

    // 1. Poll: no WFI until the path is known to work (a WFI nothing
    // wakes would hang the boot).
    let deadline = timer::now() + delta;
    timer::set_deadline(deadline);
    while timer::now() < deadline {
        core::hint::spin_loop();
    }
    let mut got = None;
    for _ in 0..SPIN_LIMIT {
        got = acknowledge();
        if got.is_some() {
            break;
        }
    }
    timer::stop();
    if let Some(irq) = got {
        end_of_interrupt(irq);
    }
    if got != Some(gi.timer_irq) {
        return fail(format_args!(
            "timer PPI {} not pending at the interrupt controller after its deadline (acknowledge: {got:?})",
            gi.timer_irq
        ));
    }

    // 2. WFI with IRQs masked. WFI may also complete early (it is a hint):
    // wait again until the GIC has something.
    let start = timer::now();
    let deadline = start + delta;
    timer::set_deadline(deadline);
    let limit = deadline + 1000 * delta;
    let mut wfis = 0u32;
    let (irq, at) = loop {
        timer::idle_wait();
        wfis += 1;
        let irq = acknowledge();
        let at = timer::now();
        if irq.is_some() || at > limit {
            break (irq, at);
        }
    };
    timer::stop();
    if let Some(i) = irq {
        end_of_interrupt(i);
    }
    if irq != Some(gi.timer_irq) {
        return fail(format_args!(
            "after WFI, acknowledge gave {irq:?}, not the timer PPI {}",
            gi.timer_irq
        ));
    }
    if at < deadline {
        return fail(format_args!(
            "timer PPI taken at CNTVCT {at}, before its deadline {deadline}"
        ));
    }
    if !timer::irqs_masked() {
        return fail(format_args!("IRQs got unmasked"));
    }
    let src = if gi.timer_irq_from_dtb {
        "device tree"
    } else {
        "default"
    };
    kprintln!(
        "irq: {gi}; timer PPI {} fired after {} ticks (deadline {delta} at {}), {wfis} wfi with IRQs masked",
        gi.timer_irq,
        at - start,
        Mhz(freq)
    );
    match &gi.chip {
        ChipInfo::Gic(g) => kprintln!(
            "irq: {} interrupt IDs, ArchRev {}, timer INTID from the {src}",
            g.lines,
            g.arch_rev
        ),
        ChipInfo::Bcm2836(b) => {
            let name = bcm2836::TIMER_NAMES
                .get(gi.timer_irq as usize)
                .copied()
                .unwrap_or("?");
            kprintln!(
                "irq: timer {name} (l1-intc source {}) from the {src}; peripherals {}",
                gi.timer_irq,
                if b.armctrl_pa.is_some() {
                    "through the armctrl-ic (l1-intc source 8, GPU interrupt)"
                } else {
                    "unreachable (no armctrl-ic)"
                }
            );
        }
    }
    0
}

/// The console UART's receive interrupt: what the boot information read
/// (a GIC's three cells), else its node's `interrupts` through its
/// interrupt parent (the Pi's ARMCTRL controller: two cells).
pub fn console_irq(info: &BootInfo) -> Option<u32> {
    let c = info.console?;
    if c.irq.is_some() {
        return c.irq;
    }
    super::uart_irq(dtb_of(info)?, c.pa)
}
