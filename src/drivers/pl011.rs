//! ARM PrimeCell PL011 UART (DDI 0183): polled transmit; receive polled
//! or by its receive and receive-timeout interrupts (UARTIMSC RXIM, RTIM).

use tock_registers::interfaces::{ReadWriteable, Readable, Writeable};
use tock_registers::register_bitfields;
use tock_registers::register_structs;
use tock_registers::registers::{ReadOnly, ReadWrite, WriteOnly};

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
    ],
    /// UARTIMSC / UARTRIS / UARTMIS / UARTICR: the interrupt bits.
    pub INT [
        /// Receive timeout (data sat in the FIFO for 32 bit periods).
        RT OFFSET(6) NUMBITS(1) [],
        TX OFFSET(5) NUMBITS(1) [],
        /// Receive (FIFO at its trigger level, or a byte without FIFO).
        RX OFFSET(4) NUMBITS(1) []
    ]
];

register_structs! {
    pub Registers {
        (0x000 => pub dr: ReadWrite<u32>),
        (0x004 => _reserved0),
        (0x018 => pub fr: ReadOnly<u32, FR::Register>),
        (0x01c => _reserved1),
        (0x030 => pub cr: ReadWrite<u32, CR::Register>),
        (0x034 => _reserved2),
        (0x038 => pub imsc: ReadWrite<u32, INT::Register>),
        (0x03c => pub ris: ReadOnly<u32, INT::Register>),
        (0x040 => pub mis: ReadOnly<u32, INT::Register>),
        (0x044 => pub icr: WriteOnly<u32, INT::Register>),
        (0x048 => @END),
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

    /// The register block's address (what `new` was given).
    pub fn base(&self) -> usize {
        self.regs as *const Registers as usize
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

    /// Raise the interrupt when input arrives (receive and receive
    /// timeout); the other sources keep their mask bits.
    pub fn enable_rx_interrupts(&self) {
        self.regs.icr.write(INT::RX::SET + INT::RT::SET);
        self.regs.imsc.modify(INT::RX::SET + INT::RT::SET);
    }

    /// Clear the receive interrupts, before draining the FIFO: a byte
    /// that comes after the drain raises them again (reading DR also
    /// clears RX once the FIFO is below its trigger level).
    pub fn clear_rx_interrupts(&self) {
        self.regs.icr.write(INT::RX::SET + INT::RT::SET);
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
