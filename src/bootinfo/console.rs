//! Which UART is the console, from the device tree, as Linux's
//! `of_console_check`/earlycon find it: `/chosen` `stdout-path` (or the
//! older `linux,stdout-path`), its `:options` (baud rate etc.) dropped, an
//! alias resolved through `/aliases` or a full path; else the `serial0`
//! alias; else the first enabled node with a UART `compatible` the kernel
//! drives. A node with `status` other than "okay" is skipped, and its
//! `reg` is translated through every parent bus's `ranges`
//! ([`crate::dtb::Fdt::translate_reg`]). Every candidate that is passed
//! over is reported through `note` with the reason.

use super::gic_intid;
use crate::drivers::uart::{family_of, kind_of, UartDesc, Unusable};
use crate::dtb::{Fdt, Node, TranslateError};
use core::fmt;

/// How the console was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// `/chosen` `stdout-path` (or `linux,stdout-path`).
    StdoutPath,
    /// The `serial0` alias.
    Serial0,
    /// The first enabled UART node the kernel has a driver for.
    FirstCompatible,
    /// The board file (no usable device tree).
    BoardFile,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::StdoutPath => "/chosen stdout-path",
            Source::Serial0 => "alias serial0",
            Source::FirstCompatible => "first UART node with a driver",
            Source::BoardFile => "board file",
        })
    }
}

/// Why a node is not used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejected<'a> {
    Disabled,
    Unusable(Unusable),
    Translate(TranslateError<'a>),
}

impl fmt::Display for Rejected<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejected::Disabled => f.write_str("status is not \"okay\""),
            Rejected::Unusable(u) => write!(f, "{u}"),
            Rejected::Translate(t) => write!(f, "reg not translatable: {t}"),
        }
    }
}

/// The console description of `node`, or why it cannot be the console.
pub fn describe<'a>(fdt: &Fdt<'a>, node: &Node<'a>) -> Result<UartDesc, Rejected<'a>> {
    if !node.is_enabled() {
        return Err(Rejected::Disabled);
    }
    let (kind, compatible) = kind_of(node).map_err(Rejected::Unusable)?;
    let (pa, size) = fdt.translate_reg(node, 0).map_err(Rejected::Translate)?;
    Ok(UartDesc {
        kind,
        pa,
        size: size.unwrap_or(0),
        irq: node.prop("interrupts").and_then(gic_intid),
        compatible,
    })
}

/// The path `stdout-path` names, options dropped: its own value if it
/// is a full path, else the alias's. `None` (and a note) if it names
/// nothing.
fn stdout_node<'a>(fdt: &Fdt<'a>, note: &mut dyn FnMut(fmt::Arguments)) -> Option<Node<'a>> {
    let chosen = fdt.find_path("/chosen")?;
    let raw = chosen
        .prop_str("stdout-path")
        .or_else(|| chosen.prop_str("linux,stdout-path"))?;
    // "serial0:115200n8": the options follow the first ':'.
    let name = raw.split(':').next().unwrap_or(raw);
    let path = if name.starts_with('/') {
        Some(name)
    } else {
        fdt.alias(name)
    };
    let node = path.and_then(|p| fdt.find_path(p));
    if node.is_none() {
        note(format_args!(
            "console: stdout-path \"{raw}\" names no node; trying alias serial0"
        ));
    }
    node
}

/// Choose the console. `note` receives a line for every candidate
/// passed over.
pub fn choose(fdt: &Fdt, note: &mut dyn FnMut(fmt::Arguments)) -> Option<(UartDesc, Source)> {
    let mut tried: [Option<usize>; 2] = [None; 2];
    let attempt =
        |n: &Node, src: Source, note: &mut dyn FnMut(fmt::Arguments)| match describe(fdt, n) {
            Ok(d) => Some(d),
            Err(why) => {
                let path = fdt.lineage(n);
                match path {
                    Some(p) => note(format_args!("console: {p} ({src}) not used: {why}")),
                    None => note(format_args!("console: node ({src}) not used: {why}")),
                }
                None
            }
        };
    if let Some(n) = stdout_node(fdt, note) {
        tried[0] = Some(n.props_offset());
        if let Some(d) = attempt(&n, Source::StdoutPath, note) {
            return Some((d, Source::StdoutPath));
        }
    }
    if let Some(n) = fdt.alias("serial0").and_then(|p| fdt.find_path(p)) {
        if tried[0] != Some(n.props_offset()) {
            tried[1] = Some(n.props_offset());
            if let Some(d) = attempt(&n, Source::Serial0, note) {
                return Some((d, Source::Serial0));
            }
        }
    }
    // Every enabled node with a UART compatible, in tree order; the
    // first that works (a translation failure is reported and skipped).
    let mut found = None;
    let _ = fdt.walk(|n| {
        if n.is_enabled() && family_of(n).is_some() && !tried.contains(&Some(n.props_offset())) {
            found = attempt(n, Source::FirstCompatible, note);
        }
        found.is_none()
    });
    found.map(|d| (d, Source::FirstCompatible))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bootinfo::BootInfo;
    use crate::drivers::uart::UartKind;
    use crate::drivers::uart16550::Layout;
    use crate::dtb::build::Tree;
    use std::string::String;
    use std::vec::Vec;

    fn dtb(name: &str) -> Vec<u8> {
        let path = std::format!("{}/tests/data/dtb/{name}.dtb", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn choose_in(blob: &[u8]) -> (Option<(UartDesc, Source)>, String) {
        let f = Fdt::new(blob).unwrap();
        let mut notes = String::new();
        let r = choose(&f, &mut |a| notes.push_str(&std::format!("{a}\n")));
        (r, notes)
    }

    /// The console of each board's Debian DTB (Linux 6.1.176, armmp and
    /// arm64 packages), against what Linux found on the same tree
    /// (`../shared/BOARD-FACTS.md`, its summary table and logs): the UART
    /// `stdout-path` (or, with an empty /chosen, `serial0`) names, its
    /// driver (Linux: earlycon pl11 / bcm2835aux MMIO32 / uart0 MMIO32 /
    /// ec_imx21), its physical address, and the RAM banks of the memory
    /// nodes as the .dts writes them.
    #[test]
    fn debian_board_dtbs() {
        struct Want {
            dtb: &'static str,
            src: Source,
            compatible: &'static str,
            kind: UartKind,
            pa: u64,
            irq: Option<u32>,
            ram: &'static [(u64, u64)],
        }
        let want = [
            // stdout-path = "serial0:115200n8" -> /soc/serial@7e201000.
            // Its interrupts go to the BCM2836 armctrl (2 cells): no GIC.
            Want {
                dtb: "bcm2836-rpi-2-b",
                src: Source::StdoutPath,
                compatible: "arm,pl011",
                kind: UartKind::Pl011,
                pa: 0x3f20_1000,
                irq: None,
                ram: &[(0, 0x4000_0000)],
            },
            // stdout-path = "serial1:115200n8": the mini UART.
            Want {
                dtb: "bcm2837-rpi-3-b",
                src: Source::StdoutPath,
                compatible: "brcm,bcm2835-aux-uart",
                kind: UartKind::Bcm2835Aux,
                pa: 0x3f21_5040,
                irq: None,
                ram: &[(0, 0x4000_0000)],
            },
            // Pi 4 (no QEMU model: expected values from the BCM2711 ARM
            // Peripherals datasheet): stdout-path = "serial1:115200n8",
            // the mini UART, bus 0x7e215040 -> CPU 0xfe215040 (main
            // peripherals 0x7e000000 -> 0xfe000000, low-peripheral
            // mode); its interrupt is VideoCore IRQ 29 (AUX), GIC INTID
            // 96 + 29 through the GIC-400. memory@0 has size 0 (the
            // firmware fills it in): no bank.
            Want {
                dtb: "bcm2711-rpi-4-b",
                src: Source::StdoutPath,
                compatible: "brcm,bcm2835-aux-uart",
                kind: UartKind::Bcm2835Aux,
                pa: 0xfe21_5040,
                irq: Some(96 + 29),
                ram: &[],
            },
            // serial0 = uart0, reg-shift 2, reg-io-width 4, GIC SPI 0.
            // No memory node: U-Boot adds it.
            Want {
                dtb: "sun8i-h3-orangepi-pc",
                src: Source::StdoutPath,
                compatible: "snps,dw-apb-uart",
                kind: UartKind::Ns16550(Layout::Word),
                pa: 0x01c2_8000,
                irq: Some(32),
                ram: &[],
            },
            // stdout-path = &uart2 (a full path); GIC SPI 27 (i.MX6Q
            // reference manual: UART2 is IRQ 59 = 32 + 27).
            Want {
                dtb: "imx6q-sabrelite",
                src: Source::StdoutPath,
                compatible: "fsl,imx6q-uart",
                kind: UartKind::Imx,
                pa: 0x021e_8000,
                irq: Some(59),
                ram: &[(0x1000_0000, 0x4000_0000)],
            },
            // Empty /chosen: serial0. Its one-cell interrupt goes through
            // the motherboard's interrupt-map: not a GIC specifier here.
            Want {
                dtb: "vexpress-v2p-ca9",
                src: Source::Serial0,
                compatible: "arm,pl011",
                kind: UartKind::Pl011,
                pa: 0x1000_9000,
                irq: None,
                ram: &[(0x6000_0000, 0x4000_0000)],
            },
            Want {
                dtb: "vexpress-v2p-ca15-tc1",
                src: Source::Serial0,
                compatible: "arm,pl011",
                kind: UartKind::Pl011,
                pa: 0x1c09_0000,
                irq: None,
                ram: &[(0x8000_0000, 0x4000_0000)],
            },
        ];
        for w in &want {
            let blob = dtb(w.dtb);
            let (r, notes) = choose_in(&blob);
            let (d, src) = r.unwrap_or_else(|| panic!("{}: no console\n{notes}", w.dtb));
            assert_eq!(src, w.src, "{}", w.dtb);
            assert_eq!(d.compatible, w.compatible, "{}", w.dtb);
            assert_eq!(d.kind, w.kind, "{}", w.dtb);
            assert_eq!(d.pa, w.pa, "{}", w.dtb);
            assert_eq!(d.irq, w.irq, "{}", w.dtb);
            assert_eq!(notes, "", "{}", w.dtb);
            let info = BootInfo::from_dtb(&blob);
            assert!(info.from_dtb, "{}", w.dtb);
            assert_eq!(info.console, Some(d), "{}", w.dtb);
            assert_eq!(info.ram_banks(), w.ram, "{}", w.dtb);
        }
    }

    /// The same trees with the console node disabled: Linux would not use
    /// it, nor do we; the next candidate is taken and the reason noted.
    #[test]
    fn a_disabled_stdout_node_is_skipped() {
        // Pi 3: stdout is serial1 (mini UART). Disable it by turning its
        // "okay" into "disab" (same length... "okay\0" -> "fail\0").
        let mut blob = dtb("bcm2837-rpi-3-b");
        let f = Fdt::new(&blob).unwrap();
        let n = f.find_path("/soc/serial@7e215040").unwrap();
        let status = n.prop("status").unwrap();
        assert_eq!(status, b"okay\0");
        let at = status.as_ptr() as usize - blob.as_ptr() as usize;
        blob[at..at + 4].copy_from_slice(b"fail");
        let (r, notes) = choose_in(&blob);
        let (d, src) = r.unwrap();
        // serial0 = the PL011 at 0x3f201000.
        assert_eq!(
            (src, d.pa, d.kind),
            (Source::Serial0, 0x3f20_1000, UartKind::Pl011)
        );
        assert!(
            notes.contains("/soc/serial@7e215040 (/chosen stdout-path) not used: status"),
            "{notes}"
        );
    }

    fn base_tree(t: &mut Tree, compatible: &str) {
        t.begin("")
            .str("compatible", compatible)
            .cells("#address-cells", &[1])
            .cells("#size-cells", &[1]);
    }

    #[test]
    fn stdout_path_forms() {
        // A full path with options, linux,stdout-path, an alias without
        // options, an alias to nothing; a 16550 with an unsupported
        // layout; and a first-compatible fallback.
        let build = |chosen: &[(&str, &str)], uart1_shift: u32| {
            let mut t = Tree::default();
            base_tree(&mut t, "acme,board");
            t.begin("chosen");
            for (k, v) in chosen {
                t.str(k, v);
            }
            t.end();
            t.begin("aliases")
                .str("serial0", "/soc/serial@1000")
                .str("serial1", "/soc/serial@2000")
                .end();
            t.begin("soc")
                .cells("#address-cells", &[1])
                .cells("#size-cells", &[1])
                .cells("ranges", &[0, 0x4000_0000, 0x10_0000]);
            t.begin("serial@1000")
                .str("compatible", "ns16550a")
                .cells("reg", &[0x1000, 0x100])
                .end();
            t.begin("serial@2000")
                .str("compatible", "ns16550a")
                .cells("reg", &[0x2000, 0x100])
                .cells("reg-shift", &[uart1_shift])
                .cells("reg-io-width", &[1])
                .end();
            t.end().end();
            t.finish()
        };
        let pa = |blob: &[u8]| choose_in(blob).0.map(|(d, s)| (d.pa, s));
        assert_eq!(
            pa(&build(&[("stdout-path", "/soc/serial@2000:115200n8")], 2)),
            Some((0x4000_2000, Source::StdoutPath))
        );
        assert_eq!(
            pa(&build(&[("linux,stdout-path", "serial1")], 2)),
            Some((0x4000_2000, Source::StdoutPath))
        );
        // stdout-path wins over linux,stdout-path.
        assert_eq!(
            pa(&build(
                &[("stdout-path", "serial0"), ("linux,stdout-path", "serial1")],
                2
            )),
            Some((0x4000_1000, Source::StdoutPath))
        );
        // An alias that does not exist: serial0, with a note.
        let (r, notes) = choose_in(&build(&[("stdout-path", "serial7:9600")], 2));
        assert_eq!(
            r.map(|(d, s)| (d.pa, s)),
            Some((0x4000_1000, Source::Serial0))
        );
        assert!(notes.contains("\"serial7:9600\" names no node"), "{notes}");
        // reg-shift 1 with 8-bit access: refused with the reason.
        let (r, notes) = choose_in(&build(&[("stdout-path", "serial1")], 1));
        assert_eq!(
            r.map(|(d, s)| (d.pa, s)),
            Some((0x4000_1000, Source::Serial0))
        );
        assert!(
            notes.contains("reg-shift 1 and reg-io-width 1 is not supported"),
            "{notes}"
        );
        // No stdout-path at all: serial0, quietly.
        let (r, notes) = choose_in(&build(&[], 0));
        assert_eq!(
            r.map(|(d, s)| (d.pa, s)),
            Some((0x4000_1000, Source::Serial0))
        );
        assert_eq!(notes, "");
    }

    #[test]
    fn first_compatible_fallback_and_none() {
        // No /chosen, no aliases: the first enabled UART with a driver
        // (the disabled one and the untranslatable one are passed over).
        let mut t = Tree::default();
        base_tree(&mut t, "acme,board");
        t.begin("serial@100")
            .str("compatible", "acme,unknown-uart")
            .cells("reg", &[0x100, 0x100])
            .end();
        t.begin("serial@200")
            .str("compatible", "arm,pl011")
            .str("status", "disabled")
            .cells("reg", &[0x200, 0x100])
            .end();
        t.begin("island")
            .cells("#address-cells", &[1])
            .cells("#size-cells", &[1]);
        t.begin("serial@300")
            .str("compatible", "fsl,imx21-uart")
            .cells("reg", &[0x300, 0x100])
            .end();
        t.end();
        t.begin("serial@400")
            .prop("compatible", b"vendor,x\0snps,dw-apb-uart\0")
            .cells("reg", &[0x400, 0x100])
            .cells("reg-shift", &[2])
            .cells("reg-io-width", &[4])
            .end();
        t.end();
        let blob = t.finish();
        let (r, notes) = choose_in(&blob);
        let (d, s) = r.unwrap();
        assert_eq!(
            (d.pa, s, d.kind, d.compatible),
            (
                0x400,
                Source::FirstCompatible,
                UartKind::Ns16550(Layout::Word),
                "snps,dw-apb-uart"
            )
        );
        assert!(notes.contains("/island/serial@300"), "{notes}");
        assert!(notes.contains("island has no ranges"), "{notes}");

        // A tree with no UART the kernel drives, of another machine: no
        // console at all (the board file's address is never used)...
        let mut t = Tree::default();
        base_tree(&mut t, "acme,board");
        t.end();
        let blob = t.finish();
        assert_eq!(choose_in(&blob).0, None);
        let info = BootInfo::from_dtb(&blob);
        assert!(info.from_dtb);
        assert_eq!(info.console, None);
        // ...but on the board file's own machine its console stands in.
        let mut t = Tree::default();
        base_tree(&mut t, crate::board::COMPATIBLE[0]);
        t.end();
        let info = BootInfo::from_dtb(&t.finish());
        assert_eq!(info.console, crate::board::FALLBACK_CONSOLE);
        assert_eq!(info.console_source, Source::BoardFile);
    }
}
