//! The console UART: which kinds the kernel drives, how a device tree node
//! names one (`compatible`, as Linux's earlycon matches `OF_EARLYCON_DECLARE`
//! tables), and one type over all drivers behind the [`ConsoleUart`] trait.

use super::imx_uart::{self, ImxUart};
use super::pl011::Pl011;
use super::uart16550::{self, Uart16550};
use crate::dtb::Node;

/// What the console needs from a UART driver.
pub trait ConsoleUart {
    /// Send a byte (waits while the transmit FIFO is full).
    fn putc(&self, c: u8);
    /// A received byte, if one is waiting.
    fn getc(&self) -> Option<u8>;
    /// Wait until everything written has left the wire.
    fn flush(&self);
    /// Raise the UART's interrupt when input arrives.
    fn enable_rx_interrupts(&self);
    /// Acknowledge the receive interrupt before draining (only where the
    /// hardware needs a write; reading the data clears the others).
    fn clear_rx_interrupts(&self);
}

/// The kinds of UART the kernel drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UartKind {
    /// ARM PL011 (`arm,pl011`).
    Pl011,
    /// 8250/16550 (`ns16550a`, `ns16550`, `snps,dw-apb-uart`), with its
    /// register layout from `reg-shift`/`reg-io-width`.
    Ns16550(uart16550::Layout),
    /// BCM2835 mini UART (`brcm,bcm2835-aux-uart`).
    Bcm2835Aux,
    /// i.MX UART (`fsl,imx6q-uart`, `fsl,imx21-uart`).
    Imx,
}

impl UartKind {
    /// Bytes of register space the driver touches from the base.
    pub const fn span(self) -> u64 {
        match self {
            UartKind::Pl011 => 0x48,
            UartKind::Ns16550(l) => l.span(),
            UartKind::Bcm2835Aux => super::bcm2835_aux::LAYOUT.span(),
            UartKind::Imx => imx_uart::SPAN,
        }
    }

    /// A nonzero number for the kind (kept in an atomic by the console).
    pub const fn code(self) -> u32 {
        match self {
            UartKind::Pl011 => 1,
            UartKind::Ns16550(uart16550::Layout::Byte) => 2,
            UartKind::Ns16550(uart16550::Layout::ByteStride4) => 3,
            UartKind::Ns16550(uart16550::Layout::Word) => 4,
            UartKind::Bcm2835Aux => 5,
            UartKind::Imx => 6,
        }
    }

    /// The kind of a [`code`](Self::code) (None for 0 or a stranger).
    pub const fn from_code(c: u32) -> Option<Self> {
        Some(match c {
            1 => UartKind::Pl011,
            2 => UartKind::Ns16550(uart16550::Layout::Byte),
            3 => UartKind::Ns16550(uart16550::Layout::ByteStride4),
            4 => UartKind::Ns16550(uart16550::Layout::Word),
            5 => UartKind::Bcm2835Aux,
            6 => UartKind::Imx,
            _ => return None,
        })
    }

    pub const fn name(self) -> &'static str {
        match self {
            UartKind::Pl011 => "PL011",
            UartKind::Ns16550(_) => "16550",
            UartKind::Bcm2835Aux => "BCM2835 mini UART",
            UartKind::Imx => "i.MX UART",
        }
    }
}

/// The `compatible` strings matched, and the kind each means.
pub const COMPATIBLES: &[(&str, Family)] = &[
    ("arm,pl011", Family::Pl011),
    ("ns16550a", Family::Ns16550),
    ("ns16550", Family::Ns16550),
    ("snps,dw-apb-uart", Family::Ns16550),
    ("brcm,bcm2835-aux-uart", Family::Bcm2835Aux),
    ("fsl,imx6q-uart", Family::Imx),
    ("fsl,imx21-uart", Family::Imx),
];

/// A driver family before its node's properties are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Pl011,
    Ns16550,
    Bcm2835Aux,
    Imx,
}

/// Why a node cannot be the console.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unusable {
    /// No `compatible` string this kernel has a driver for.
    NoDriver,
    /// A 16550 with a `reg-shift`/`reg-io-width` the driver does not do.
    Layout { shift: u32, width: u32 },
}

impl core::fmt::Display for Unusable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Unusable::NoDriver => f.write_str("no driver for its compatible"),
            Unusable::Layout { shift, width } => write!(
                f,
                "16550 with reg-shift {shift} and reg-io-width {width} is not supported"
            ),
        }
    }
}

/// The first of the node's `compatible` strings (most specific first)
/// that names a driver here, with that string.
pub fn family_of(node: &Node) -> Option<(Family, &'static str)> {
    node.compatibles().find_map(|c| {
        COMPATIBLES
            .iter()
            .find(|(s, _)| s.as_bytes() == c)
            .map(|&(s, f)| (f, s))
    })
}

/// The kind of UART `node` is, with its register layout.
pub fn kind_of(node: &Node) -> Result<(UartKind, &'static str), Unusable> {
    let (family, compat) = family_of(node).ok_or(Unusable::NoDriver)?;
    let kind = match family {
        Family::Pl011 => UartKind::Pl011,
        Family::Bcm2835Aux => UartKind::Bcm2835Aux,
        Family::Imx => UartKind::Imx,
        Family::Ns16550 => {
            // serial/8250.yaml: both default to 0 shift, 1-byte access.
            let shift = node.cell("reg-shift", 0).unwrap_or(0);
            let width = node.cell("reg-io-width", 0).unwrap_or(1);
            UartKind::Ns16550(
                uart16550::Layout::from_shift_width(shift, width)
                    .ok_or(Unusable::Layout { shift, width })?,
            )
        }
    };
    Ok((kind, compat))
}

/// Where the console is and how to drive it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UartDesc {
    pub kind: UartKind,
    /// CPU physical address of the register block (`reg` translated).
    pub pa: u64,
    /// Its size from `reg` (at least the driver's span).
    pub size: u64,
    /// The GIC INTID of its receive interrupt, if it has one the GIC
    /// takes.
    pub irq: Option<u32>,
    /// The `compatible` string that chose the driver.
    pub compatible: &'static str,
}

impl UartDesc {
    /// A PL011 at `pa` (the board files' fallback console).
    pub const fn pl011(pa: u64, irq: Option<u32>) -> Self {
        UartDesc {
            kind: UartKind::Pl011,
            pa,
            size: 0x1000,
            irq,
            compatible: "arm,pl011",
        }
    }

    /// The page-aligned physical range to map so every register the
    /// driver touches is reachable: [start, end).
    pub fn map_range(&self) -> (u64, u64) {
        const PAGE: u64 = 4096;
        // The reg size, at most 64 KiB (the i.MX UART's reg is 16 KiB of
        // which 0xb8 bytes are registers), at least the driver's span.
        let len = self.size.min(0x1_0000).max(self.kind.span());
        let start = self.pa & !(PAGE - 1);
        let end = self.pa.saturating_add(len).saturating_add(PAGE - 1) & !(PAGE - 1);
        (start, end)
    }
}

/// A console UART of any kind.
pub enum Uart {
    Pl011(Pl011),
    Ns16550(Uart16550),
    Imx(ImxUart),
}

impl Uart {
    /// The driver for `kind` at virtual address `va`.
    ///
    /// # Safety
    /// `va` maps (Device memory) the registers of a UART of that kind, at
    /// least [`UartKind::span`] bytes, that nothing else drives
    /// concurrently.
    pub unsafe fn new(kind: UartKind, va: usize) -> Self {
        match kind {
            // SAFETY: the caller's contract.
            UartKind::Pl011 => Uart::Pl011(unsafe { Pl011::new(va) }),
            // SAFETY: the caller's contract.
            UartKind::Ns16550(l) => Uart::Ns16550(unsafe { Uart16550::new(va, l) }),
            // SAFETY: the caller's contract.
            UartKind::Bcm2835Aux => Uart::Ns16550(unsafe { super::bcm2835_aux::new(va) }),
            // SAFETY: the caller's contract.
            UartKind::Imx => Uart::Imx(unsafe { ImxUart::new(va) }),
        }
    }

    /// The virtual address of the registers.
    pub fn base(&self) -> usize {
        match self {
            Uart::Pl011(u) => u.base(),
            Uart::Ns16550(u) => u.base(),
            Uart::Imx(u) => u.base(),
        }
    }
}

impl ConsoleUart for Uart {
    fn putc(&self, c: u8) {
        match self {
            Uart::Pl011(u) => u.putc(c),
            Uart::Ns16550(u) => u.putc(c),
            Uart::Imx(u) => u.putc(c),
        }
    }

    fn getc(&self) -> Option<u8> {
        match self {
            Uart::Pl011(u) => u.getc(),
            Uart::Ns16550(u) => u.getc(),
            Uart::Imx(u) => u.getc(),
        }
    }

    fn flush(&self) {
        match self {
            Uart::Pl011(u) => u.flush(),
            Uart::Ns16550(u) => u.flush(),
            Uart::Imx(u) => u.flush(),
        }
    }

    fn enable_rx_interrupts(&self) {
        match self {
            Uart::Pl011(u) => u.enable_rx_interrupts(),
            Uart::Ns16550(u) => u.enable_rx_interrupts(),
            Uart::Imx(u) => u.enable_rx_interrupts(),
        }
    }

    fn clear_rx_interrupts(&self) {
        match self {
            Uart::Pl011(u) => u.clear_rx_interrupts(),
            // Reading the data lowers the 16550's and the i.MX's.
            Uart::Ns16550(_) | Uart::Imx(_) => {}
        }
    }
}

impl core::fmt::Write for Uart {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_range_covers_the_registers() {
        // The Pi 3 mini UART: reg 0x3f215040, 0x40 bytes: one page.
        let d = UartDesc {
            kind: UartKind::Bcm2835Aux,
            pa: 0x3f21_5040,
            size: 0x40,
            irq: None,
            compatible: "brcm,bcm2835-aux-uart",
        };
        assert_eq!(d.map_range(), (0x3f21_5000, 0x3f21_6000));
        // A reg smaller than the driver's span still maps the span.
        let d = UartDesc {
            kind: UartKind::Imx,
            pa: 0x021e_8f80,
            size: 0x10,
            ..d
        };
        assert_eq!(d.map_range(), (0x021e_8000, 0x021e_a000));
        assert_eq!(
            UartDesc::pl011(0x0900_0000, None).map_range(),
            (0x0900_0000, 0x0900_1000)
        );
    }
}
