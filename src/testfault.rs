//! `armmu.test_fault=early|console`: a kernel fault on purpose, for the
//! test that a fault during early printing still produces a report
//! (issue 11). Testing only: nothing else reads the word, and a kernel
//! booted without it never takes these paths.
//!
//! * `early`: right after the device tree is read, before the console is
//!   known (messages still go to the early buffer), with the early
//!   buffer's lock held, half-way through a message;
//! * `console`: in `kernel::main`, with the console UART's lock held.
//!
//! Either reads [`FAULT_VA`], which no table maps at that point, so the
//! CPU takes a kernel data abort; its decoded report (kind, address, pc)
//! and the panic must reach the serial line and the machine must stop
//! with status 255 instead of hanging on the lock.

/// Where the provoked fault is taken: unmapped on both architectures at
/// both points (ARMv7-A: between the image window and the self-test
/// window; AArch64: a TTBR0 address with no boot block and, later, TTBR0
/// walks disabled).
pub const FAULT_VA: usize = 0xDEAD_0000;

/// Which fault the command line asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// Before the console is known (the early buffer's lock held).
    Early,
    /// With the console UART's lock held.
    Console,
}

/// The `armmu.test_fault=` word of `cmdline` (the last one wins, as
/// Linux's `__setup` parameters do); unknown values ask for nothing.
pub fn parse(cmdline: &str) -> Option<When> {
    let v = cmdline
        .split_ascii_whitespace()
        .filter_map(|w| w.strip_prefix("armmu.test_fault="))
        .next_back()?;
    match v {
        "early" => Some(When::Early),
        "console" => Some(When::Console),
        _ => None,
    }
}

/// Take the fault `cmdline` asks for at point `at`, if it asks for one.
#[cfg(target_os = "none")]
pub fn maybe(cmdline: &str, at: When) {
    if parse(cmdline) != Some(at) {
        return;
    }
    crate::kprintln!("test_fault: provoking a kernel fault at {FAULT_VA:#x} ({at:?})");
    crate::console::while_locked(at == When::Early, || {
        // SAFETY: deliberately unmapped: the read faults and the fault
        // handler never returns here (an unrecoverable kernel abort).
        let v = unsafe { (FAULT_VA as *const u32).read_volatile() };
        crate::kprintln!("test_fault: the read at {FAULT_VA:#x} did not fault ({v:#x})");
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_word() {
        assert_eq!(parse("armmu.test_fault=early"), Some(When::Early));
        assert_eq!(parse("a=1 armmu.test_fault=console b"), Some(When::Console));
        assert_eq!(
            parse("armmu.test_fault=early armmu.test_fault=console"),
            Some(When::Console)
        );
        assert_eq!(parse("armmu.test_fault=later"), None);
        assert_eq!(parse("armmu.test_fault"), None);
        assert_eq!(parse("xarmmu.test_fault=early"), None);
        assert_eq!(parse(""), None);
    }
}
