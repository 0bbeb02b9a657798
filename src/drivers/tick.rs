//! The scheduler's tick: the architecture's generic timer (virtual timer)
//! through the GIC found in the device tree. Without a GIC (none found,
//! or its boot self-test failed) every call here does nothing and the
//! scheduler polls the counter instead.

use crate::arch::current::timer;
use crate::drivers::gic;

/// The timer's interrupt, if interrupts reach the kernel.
fn timer_irq() -> Option<u32> {
    gic::info().map(|g| g.timer_irq)
}

/// Start ticking: the virtual timer's PPI enabled at the GIC, a first
/// deadline `first` counter ticks ahead.
pub fn start(first: u64) {
    if let Some(irq) = timer_irq() {
        if gic::enable(irq).is_ok() {
            timer::set_deadline(timer::now() + first);
        }
    }
}

pub fn stop() {
    if timer_irq().is_some() {
        timer::stop();
    }
}

/// The next timer interrupt, at counter value `at` (CNTV_CVAL).
pub fn set_deadline(at: u64) {
    if timer_irq().is_some() {
        timer::set_deadline(at);
    }
}

/// Nothing is runnable: wait for an interrupt (WFI with IRQs masked; the
/// caller polls the GIC). Without interrupts, return at once.
pub fn idle_wait() {
    if timer_irq().is_some() {
        timer::idle_wait();
    }
}

/// The next pending interrupt, acknowledged.
pub fn acknowledge() -> Option<u32> {
    timer_irq()?;
    gic::acknowledge()
}

pub fn end(irq: u32) {
    gic::end_of_interrupt(irq);
}

/// Whether `irq` is the timer's.
pub fn is_timer(irq: u32) -> bool {
    timer_irq() == Some(irq)
}
