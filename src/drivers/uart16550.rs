//! 8250/16550-compatible UARTs (`ns16550a`, `ns16550`, `snps,dw-apb-uart`;
//! the BCM2835 mini UART in [`super::bcm2835_aux`]): polled transmit,
//! receive polled or by the "received data available" interrupt.
//!
//! Registers (PC16550D data sheet; Linux `include/uapi/linux/serial_reg.h`):
//! index 0 RBR (read) / THR (write), 1 IER, 5 LSR, each at
//! `index << reg-shift` bytes from the base, accessed `reg-io-width` bytes
//! wide (devicetree binding `serial/8250.yaml`; Linux `of_serial.c`:
//! width 1 = UPIO_MEM, 4 = UPIO_MEM32). Supported layouts: shift 0 with
//! 8-bit access (PC style), shift 2 with 8-bit access, shift 2 with 32-bit
//! access (Synopsys DesignWare APB UART as on the Allwinner H3, and the
//! BCM2835 mini UART). The bootloader has set the baud rate, line format
//! and FIFOs (as for Linux's earlycon): LCR and the divisor are never
//! touched.

// register_structs! checks each field's alignment as `offset % size`,
// which clippy flags for the 1-byte registers.
#![allow(clippy::modulo_one)]

use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::registers::{ReadOnly, ReadWrite};
use tock_registers::LocalRegisterCopy;
use tock_registers::{register_bitfields, register_structs};

register_bitfields! [u8,
    /// Interrupt enable register.
    pub IER [
        /// Received data available (ERBFI).
        ERBFI OFFSET(0) NUMBITS(1) [],
        /// Transmitter holding register empty (ETBEI).
        ETBEI OFFSET(1) NUMBITS(1) []
    ],
    /// Line status register.
    pub LSR [
        /// Data ready: a byte waits in RBR / the receive FIFO.
        DR OFFSET(0) NUMBITS(1) [],
        /// Transmitter holding register (FIFO) can take a byte.
        THRE OFFSET(5) NUMBITS(1) [],
        /// Transmitter empty: holding register and shift register idle.
        TEMT OFFSET(6) NUMBITS(1) []
    ]
];

register_structs! {
    /// reg-shift 0, 8-bit access.
    pub Regs8 {
        (0x0 => pub rbr_thr: ReadWrite<u8>),
        (0x1 => pub ier: ReadWrite<u8, IER::Register>),
        (0x2 => _reserved0),
        (0x5 => pub lsr: ReadOnly<u8, LSR::Register>),
        (0x6 => _reserved1),
        (0x8 => @END),
    }
}

register_structs! {
    /// reg-shift 2, 8-bit access (the low byte of each word).
    pub Regs8Stride4 {
        (0x00 => pub rbr_thr: ReadWrite<u8>),
        (0x01 => _reserved0),
        (0x04 => pub ier: ReadWrite<u8, IER::Register>),
        (0x05 => _reserved1),
        (0x14 => pub lsr: ReadOnly<u8, LSR::Register>),
        (0x15 => _reserved2),
        (0x20 => @END),
    }
}

register_structs! {
    /// reg-shift 2, 32-bit access (only the low 8 bits carry the 16550
    /// register; the rest read as 0 and are written as 0).
    pub Regs32 {
        (0x00 => pub rbr_thr: ReadWrite<u32>),
        (0x04 => pub ier: ReadWrite<u32>),
        (0x08 => _reserved0),
        (0x14 => pub lsr: ReadOnly<u32>),
        (0x18 => _reserved1),
        (0x20 => @END),
    }
}

/// How the registers are laid out and accessed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// reg-shift 0, reg-io-width 1.
    Byte,
    /// reg-shift 2, reg-io-width 1.
    ByteStride4,
    /// reg-shift 2, reg-io-width 4.
    Word,
}

impl Layout {
    /// The layout for a node's `reg-shift` and `reg-io-width`; `None` for
    /// a combination this driver does not implement.
    pub fn from_shift_width(shift: u32, width: u32) -> Option<Self> {
        match (shift, width) {
            (0, 1) => Some(Layout::Byte),
            (2, 1) => Some(Layout::ByteStride4),
            (2, 4) => Some(Layout::Word),
            _ => None,
        }
    }

    /// Bytes of register space used (registers 0..=7).
    pub const fn span(self) -> u64 {
        match self {
            Layout::Byte => 8,
            Layout::ByteStride4 | Layout::Word => 0x20,
        }
    }
}

/// The register block, by layout.
#[derive(Clone, Copy)]
enum Regs {
    Byte(&'static Regs8),
    ByteStride4(&'static Regs8Stride4),
    Word(&'static Regs32),
}

/// A 16550 at a kernel virtual address.
pub struct Uart16550 {
    regs: Regs,
}

impl Uart16550 {
    /// # Safety
    /// `base` is the virtual address of a mapped 16550 register block
    /// (Device memory) laid out as `layout`, that nothing else drives
    /// concurrently.
    pub const unsafe fn new(base: usize, layout: Layout) -> Self {
        let regs = match layout {
            // SAFETY: the caller guarantees a mapped block of this layout.
            Layout::Byte => Regs::Byte(unsafe { &*(base as *const Regs8) }),
            // SAFETY: as above.
            Layout::ByteStride4 => Regs::ByteStride4(unsafe { &*(base as *const Regs8Stride4) }),
            // SAFETY: as above.
            Layout::Word => Regs::Word(unsafe { &*(base as *const Regs32) }),
        };
        Uart16550 { regs }
    }

    pub fn base(&self) -> usize {
        match self.regs {
            Regs::Byte(r) => r as *const Regs8 as usize,
            Regs::ByteStride4(r) => r as *const Regs8Stride4 as usize,
            Regs::Word(r) => r as *const Regs32 as usize,
        }
    }

    pub fn layout(&self) -> Layout {
        match self.regs {
            Regs::Byte(_) => Layout::Byte,
            Regs::ByteStride4(_) => Layout::ByteStride4,
            Regs::Word(_) => Layout::Word,
        }
    }

    fn lsr(&self) -> LocalRegisterCopy<u8, LSR::Register> {
        match self.regs {
            Regs::Byte(r) => r.lsr.extract(),
            Regs::ByteStride4(r) => r.lsr.extract(),
            Regs::Word(r) => LocalRegisterCopy::new(r.lsr.get() as u8),
        }
    }

    fn write_thr(&self, c: u8) {
        match self.regs {
            Regs::Byte(r) => r.rbr_thr.set(c),
            Regs::ByteStride4(r) => r.rbr_thr.set(c),
            Regs::Word(r) => r.rbr_thr.set(u32::from(c)),
        }
    }

    fn read_rbr(&self) -> u8 {
        match self.regs {
            Regs::Byte(r) => r.rbr_thr.get(),
            Regs::ByteStride4(r) => r.rbr_thr.get(),
            Regs::Word(r) => r.rbr_thr.get() as u8,
        }
    }

    fn set_ier(&self, v: LocalRegisterCopy<u8, IER::Register>) {
        match self.regs {
            Regs::Byte(r) => r.ier.set(v.get()),
            Regs::ByteStride4(r) => r.ier.set(v.get()),
            Regs::Word(r) => r.ier.set(u32::from(v.get())),
        }
    }

    pub fn putc(&self, c: u8) {
        while !self.lsr().is_set(LSR::THRE) {
            core::hint::spin_loop();
        }
        self.write_thr(c);
    }

    pub fn getc(&self) -> Option<u8> {
        self.lsr().is_set(LSR::DR).then(|| self.read_rbr())
    }

    /// Interrupt on received data only (ERBFI; the transmitter stays
    /// polled). Reading RBR until LSR.DR is clear lowers the interrupt.
    pub fn enable_rx_interrupts(&self) {
        let mut ier = LocalRegisterCopy::<u8, IER::Register>::new(0);
        ier.modify(IER::ERBFI::SET);
        self.set_ier(ier);
    }

    /// Wait until everything written has left the shift register.
    pub fn flush(&self) {
        while !self.lsr().is_set(LSR::TEMT) {
            core::hint::spin_loop();
        }
    }
}

// SAFETY: the register block is MMIO owned by this value; moving it to
// another context (the console lock) does not alias it.
unsafe impl Send for Uart16550 {}

#[cfg(test)]
mod tests {
    use super::*;

    /// The register offsets of the PC16550D (RBR/THR 0, IER 1, LSR 5)
    /// times the stride (`1 << reg-shift`), as Linux's `serial_in`
    /// computes `offset << regshift`.
    #[test]
    fn register_offsets_follow_reg_shift() {
        use core::mem::offset_of;
        assert_eq!(offset_of!(Regs8, ier), 1);
        assert_eq!(offset_of!(Regs8, lsr), 5);
        assert_eq!(offset_of!(Regs8Stride4, ier), 4);
        assert_eq!(offset_of!(Regs8Stride4, lsr), 5 << 2);
        assert_eq!(offset_of!(Regs32, ier), 4);
        assert_eq!(offset_of!(Regs32, lsr), 5 << 2);
        assert_eq!(Layout::from_shift_width(0, 1), Some(Layout::Byte));
        assert_eq!(Layout::from_shift_width(2, 4), Some(Layout::Word));
        assert_eq!(Layout::from_shift_width(1, 2), None);
        assert_eq!(Layout::from_shift_width(0, 4), None);
    }

    /// A fake register file in host memory: the driver's loads and stores
    /// land in it. LSR bits from the 16550 data sheet: DR bit 0, THRE
    /// bit 5, TEMT bit 6.
    #[test]
    fn polled_io_on_a_fake_dw_apb_block() {
        let mut regs = [0u32; 8];
        regs[5] = (1 << 5) | (1 << 6) | 1; // THRE, TEMT, DR
        regs[0] = u32::from(b'k');
        // SAFETY: `regs` outlives `u` and is only touched through it.
        let u = unsafe { Uart16550::new(regs.as_mut_ptr() as usize, Layout::Word) };
        assert_eq!(u.getc(), Some(b'k'));
        u.putc(b'x');
        u.flush();
        u.enable_rx_interrupts();
        let _ = u;
        assert_eq!(regs[0], u32::from(b'x'));
        assert_eq!(regs[1], 1, "IER: ERBFI only");
        regs[5] = 1 << 5; // nothing received
                          // SAFETY: as above.
        let u = unsafe { Uart16550::new(regs.as_mut_ptr() as usize, Layout::Word) };
        assert_eq!(u.getc(), None);
    }
}
