//! The BCM2835/BCM2837 "mini UART" (`brcm,bcm2835-aux-uart`, the Raspberry
//! Pi 3's console): a cut-down 16550 in the auxiliary peripherals block.
//!
//! BCM2835 ARM Peripherals, §2.2: the aux block is at bus address
//! 0x7e21_5000; the mini UART's registers start at offset 0x40
//! (AUX_MU_IO_REG), one 8-bit register per 32-bit word: IO (data) 0x40,
//! IER 0x44, IIR 0x48, LCR 0x4c, MCR 0x50, LSR 0x54 (bit 0 data ready,
//! bit 5 transmitter can accept a byte, bit 6 transmitter idle). The
//! device tree's `reg` (0x7e215040, 0x40) already points at 0x40, so the
//! 16550 driver with reg-shift 2 and 32-bit access drives it, which is what
//! Linux's `8250_bcm2835aux.c` does (`UPIO_MEM32`, `regshift = 2`, also for
//! its earlycon). The mini UART's baud rate follows the VPU clock and its
//! AUX_ENABLES bit is outside this block: the firmware/bootloader sets
//! both (`enable_uart=1`), as Linux assumes.

use super::uart16550::{Layout, Uart16550};

/// The register layout of the mini UART for the 16550 driver.
pub const LAYOUT: Layout = Layout::Word;

/// # Safety
/// As [`Uart16550::new`]: `base` maps the mini UART's registers
/// (AUX_MU_IO_REG first).
pub const unsafe fn new(base: usize) -> Uart16550 {
    // SAFETY: forwarded to the caller's contract.
    unsafe { Uart16550::new(base, LAYOUT) }
}

#[cfg(test)]
mod tests {
    use super::super::uart16550::Regs32;
    use core::mem::offset_of;

    /// AUX_MU_IER_REG 0x7e215044 and AUX_MU_LSR_REG 0x7e215054 (BCM2835
    /// ARM Peripherals, table on p. 8), from AUX_MU_IO_REG 0x7e215040.
    #[test]
    fn offsets_are_the_peripherals_manual_s() {
        assert_eq!(offset_of!(Regs32, rbr_thr), 0x7e21_5040 - 0x7e21_5040);
        assert_eq!(offset_of!(Regs32, ier), 0x7e21_5044 - 0x7e21_5040);
        assert_eq!(offset_of!(Regs32, lsr), 0x7e21_5054 - 0x7e21_5040);
    }
}
