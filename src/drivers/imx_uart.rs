//! The i.MX UART (`fsl,imx6q-uart`, `fsl,imx21-uart`; the SABRE Lite's
//! console): polled transmit, receive polled or by the receiver-ready
//! interrupt.
//!
//! Registers (i.MX 6Dual/6Quad Reference Manual, chapter 64 "UART";
//! Linux `drivers/tty/serial/imx.c`): URXD 0x00 (bit 15 CHARRDY, bits 7:0
//! data), UTXD 0x40, UCR1 0x80 (bit 9 RRDYEN), USR1 0x94, USR2 0x98 (bit 0
//! RDR, bit 3 TXDC), UTS 0xb4 (bit 4 TXFULL, bit 5 RXEMPTY, bit 6
//! TXEMPTY). Transmit is Linux's `imx_uart_console_early_putchar`: wait
//! while UTS.TXFULL, write UTXD. The bootloader (or QEMU's reset, which
//! sets UCR1.UARTEN and UCR2.TXEN) has set up clocks, baud rate and
//! enables; nothing here changes them.

use tock_registers::interfaces::{ReadWriteable, Readable, Writeable};
use tock_registers::registers::{ReadOnly, ReadWrite, WriteOnly};
use tock_registers::{register_bitfields, register_structs};

register_bitfields! [u32,
    pub URXD [
        /// A valid character is in DATA.
        CHARRDY OFFSET(15) NUMBITS(1) [],
        /// An error (overrun, frame, parity, break) came with it.
        ERR OFFSET(14) NUMBITS(1) [],
        DATA OFFSET(0) NUMBITS(8) []
    ],
    pub UCR1 [
        /// Receiver ready interrupt enable.
        RRDYEN OFFSET(9) NUMBITS(1) [],
        UARTEN OFFSET(0) NUMBITS(1) []
    ],
    pub USR2 [
        /// Transmission complete (FIFO and shift register empty).
        TXDC OFFSET(3) NUMBITS(1) [],
        /// Receive data ready.
        RDR OFFSET(0) NUMBITS(1) []
    ],
    pub UTS [
        TXEMPTY OFFSET(6) NUMBITS(1) [],
        RXEMPTY OFFSET(5) NUMBITS(1) [],
        TXFULL OFFSET(4) NUMBITS(1) []
    ]
];

register_structs! {
    pub Registers {
        (0x00 => pub urxd: ReadOnly<u32, URXD::Register>),
        (0x04 => _reserved0),
        (0x40 => pub utxd: WriteOnly<u32>),
        (0x44 => _reserved1),
        (0x80 => pub ucr1: ReadWrite<u32, UCR1::Register>),
        (0x84 => pub ucr2: ReadWrite<u32>),
        (0x88 => pub ucr3: ReadWrite<u32>),
        (0x8c => pub ucr4: ReadWrite<u32>),
        (0x90 => pub ufcr: ReadWrite<u32>),
        (0x94 => pub usr1: ReadWrite<u32>),
        (0x98 => pub usr2: ReadWrite<u32, USR2::Register>),
        (0x9c => _reserved2),
        (0xb4 => pub uts: ReadWrite<u32, UTS::Register>),
        (0xb8 => @END),
    }
}

/// Bytes of register space used.
pub const SPAN: u64 = 0xb8;

/// An i.MX UART at a kernel virtual address.
pub struct ImxUart {
    regs: &'static Registers,
}

impl ImxUart {
    /// # Safety
    /// `base` is the virtual address of a mapped i.MX UART register block
    /// (Device memory) that nothing else drives concurrently.
    pub const unsafe fn new(base: usize) -> Self {
        ImxUart {
            // SAFETY: the caller guarantees a mapped, exclusive block.
            regs: unsafe { &*(base as *const Registers) },
        }
    }

    pub fn base(&self) -> usize {
        self.regs as *const Registers as usize
    }

    pub fn putc(&self, c: u8) {
        while self.regs.uts.is_set(UTS::TXFULL) {
            core::hint::spin_loop();
        }
        self.regs.utxd.set(u32::from(c));
    }

    /// A received byte (one with an error flag is still returned, as a
    /// terminal would get it; the flags are not reported).
    pub fn getc(&self) -> Option<u8> {
        if self.regs.uts.is_set(UTS::RXEMPTY) {
            return None;
        }
        let v = self.regs.urxd.extract();
        v.is_set(URXD::CHARRDY).then(|| v.read(URXD::DATA) as u8)
    }

    /// Interrupt when the receive FIFO reaches its trigger level (UFCR
    /// RXTL, left as the bootloader set it). Reading URXD drains it.
    pub fn enable_rx_interrupts(&self) {
        self.regs.ucr1.modify(UCR1::RRDYEN::SET);
    }

    /// Wait until the transmitter is done (USR2.TXDC).
    pub fn flush(&self) {
        while !self.regs.usr2.is_set(USR2::TXDC) {
            core::hint::spin_loop();
        }
    }
}

// SAFETY: the register block is MMIO owned by this value; moving it to
// another context (the console lock) does not alias it.
unsafe impl Send for ImxUart {}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    /// Offsets from Linux's imx.c (URXD0 0x0, URTX0 0x40, UCR1 0x80, USR1
    /// 0x94, USR2 0x98, IMX21_UTS 0xb4).
    #[test]
    fn offsets_are_linux_s() {
        assert_eq!(offset_of!(Registers, urxd), 0x00);
        assert_eq!(offset_of!(Registers, utxd), 0x40);
        assert_eq!(offset_of!(Registers, ucr1), 0x80);
        assert_eq!(offset_of!(Registers, usr1), 0x94);
        assert_eq!(offset_of!(Registers, usr2), 0x98);
        assert_eq!(offset_of!(Registers, uts), 0xb4);
        assert_eq!(core::mem::size_of::<Registers>() as u64, SPAN);
    }

    /// Linux's bits: UTS_TXFULL 1<<4, UTS_RXEMPTY 1<<5, URXD_CHARRDY 1<<15,
    /// USR2_TXDC 1<<3, UCR1_RRDYEN 1<<9.
    #[test]
    fn polled_io_on_a_fake_block() {
        let mut regs = [0u32; SPAN as usize / 4];
        regs[0] = (1 << 15) | u32::from(b'q');
        regs[0x98 / 4] = 1 << 3;
        // SAFETY: `regs` outlives `u` and is only touched through it.
        let u = unsafe { ImxUart::new(regs.as_mut_ptr() as usize) };
        assert_eq!(u.getc(), Some(b'q'));
        u.putc(b'z');
        u.flush();
        u.enable_rx_interrupts();
        let _ = u;
        assert_eq!(regs[0x40 / 4], u32::from(b'z'));
        assert_eq!(regs[0x80 / 4], 1 << 9);
        regs[0xb4 / 4] = 1 << 5; // RX FIFO empty
                                 // SAFETY: as above.
        let u = unsafe { ImxUart::new(regs.as_mut_ptr() as usize) };
        assert_eq!(u.getc(), None);
    }
}
