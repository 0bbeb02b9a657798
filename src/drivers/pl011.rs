//! ARM PrimeCell PL011 UART (DDI 0183), polled transmit and receive.

use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::register_bitfields;
use tock_registers::register_structs;
use tock_registers::registers::{ReadOnly, ReadWrite};

register_bitfields! [u32,
    pub FR [
        /// Transmit FIFO full.
        TXFF OFFSET(5) NUMBITS(1) [],
        /// Receive FIFO empty.
        RXFE OFFSET(4) NUMBITS(1) [],
        /// UART busy transmitting.
        BUSY OFFSET(3) NUMBITS(1) []
    ],
    pub CR [
        RXE OFFSET(9) NUMBITS(1) [],
        TXE OFFSET(8) NUMBITS(1) [],
        UARTEN OFFSET(0) NUMBITS(1) []
    ]
];

register_structs! {
    pub Registers {
        (0x000 => pub dr: ReadWrite<u32>),
        (0x004 => _reserved0),
        (0x018 => pub fr: ReadOnly<u32, FR::Register>),
        (0x01c => _reserved1),
        (0x030 => pub cr: ReadWrite<u32, CR::Register>),
        (0x034 => @END),
    }
}

/// A PL011 at a kernel virtual address.
pub struct Pl011 {
    regs: &'static Registers,
}

impl Pl011 {
    /// # Safety
    /// `base` is the virtual address of a mapped PL011 register block
    /// (Device memory) that nothing else drives concurrently.
    pub const unsafe fn new(base: usize) -> Self {
        Pl011 {
            // SAFETY: the caller guarantees a mapped, exclusive PL011 at `base`.
            regs: unsafe { &*(base as *const Registers) },
        }
    }

    /// Enable transmit and receive (QEMU's UART starts enabled; real boards
    /// are configured by the firmware, so the baud rate is left alone).
    pub fn enable(&self) {
        self.regs
            .cr
            .write(CR::UARTEN::SET + CR::TXE::SET + CR::RXE::SET);
    }

    pub fn putc(&self, c: u8) {
        while self.regs.fr.is_set(FR::TXFF) {
            core::hint::spin_loop();
        }
        self.regs.dr.set(c as u32);
    }

    pub fn getc(&self) -> Option<u8> {
        if self.regs.fr.is_set(FR::RXFE) {
            None
        } else {
            Some(self.regs.dr.get() as u8)
        }
    }

    /// Wait until everything written has left the shift register.
    pub fn flush(&self) {
        while self.regs.fr.is_set(FR::BUSY) {
            core::hint::spin_loop();
        }
    }
}

// SAFETY: the register block is MMIO owned by this value; moving it to
// another context (the console lock) does not alias it.
unsafe impl Send for Pl011 {}

impl core::fmt::Write for Pl011 {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for b in s.bytes() {
            if b == b'\n' {
                self.putc(b'\r');
            }
            self.putc(b);
        }
        Ok(())
    }
}
