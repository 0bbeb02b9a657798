//! The scheduler's tick: the architecture's generic timer (virtual timer)
//! through the interrupt controller found in the device tree (a GIC, or
//! the Raspberry Pi's BCM2836 local controller: [`crate::drivers::irq`]).
//! Without one (none found, or its boot self-test failed) every call here
//! does nothing and the scheduler polls the counter instead.

use crate::arch::current::timer;
use crate::drivers::irq;

/// The timer's interrupt, if interrupts reach the kernel.
fn timer_irq() -> Option<u32> {
    irq::info().map(|i| i.timer_irq)
}

/// Start ticking: the virtual timer's interrupt enabled at the
/// controller, a first deadline `first` counter ticks ahead.
pub fn start(first: u64) {
    if let Some(n) = timer_irq() {
        if irq::enable(n).is_ok() {
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
/// caller polls the controller). Without interrupts, return at once.
pub fn idle_wait() {
    if timer_irq().is_some() {
        timer::idle_wait();
    }
}

/// The next pending interrupt, acknowledged.
pub fn acknowledge() -> Option<u32> {
    timer_irq()?;
    irq::ack()
}

pub fn end(n: u32) {
    irq::eoi(n);
}

/// Whether `irq` is the timer's.
pub fn is_timer(n: u32) -> bool {
    timer_irq() == Some(n)
}
