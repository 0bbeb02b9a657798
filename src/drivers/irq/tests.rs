//! Controller choice and interrupt specifiers on the boards' device
//! trees. Expected values: BOARD-FACTS.md (l1-intc at 0x4000_0000,
//! armctrl at bus 0x7e00b200 = CPU 0x3f00b200 through /soc's ranges
//! 0x7e000000 -> 0x3f000000), the DTBs' own text (`dtc -I dtb`: the
//! timer node's `interrupts = <0 4>, <1 4>, <3 4>, <2 4>` with the
//! l1-intc as parent, i.e. secure, non-secure, virtual, hypervisor =
//! CNTPSIRQ, CNTPNSIRQ, CNTVIRQ, CNTHPIRQ), and QEMU `virt`'s GIC.

use super::*;

fn dtb(name: &str) -> Vec<u8> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/dtb/");
    std::fs::read(std::format!("{dir}{name}.dtb")).unwrap()
}

const VIRT_A15: &[u8] = include_bytes!("../../../tests/data/qemu-virt-a15.dtb");
const VIRT_A53_V3: &[u8] = include_bytes!("../../../tests/data/qemu-virt-a53-gicv3.dtb");

#[test]
fn raspberry_pis_get_the_bcm2836_controllers() {
    for name in ["bcm2836-rpi-2-b", "bcm2837-rpi-3-b"] {
        let d = probe(&dtb(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            d,
            Desc::Bcm2836(bcm2836::Desc {
                local: (0x4000_0000, 0x100),
                armctrl: Some((0x3f00_b200, 0x200)),
                // CNTVIRQ: Linux's LOCAL_IRQ_CNTVIRQ = 3.
                timer_irq: Some(3),
            }),
            "{name}"
        );
    }
}

#[test]
fn gic_boards_keep_their_gic() {
    for blob in [VIRT_A15, VIRT_A53_V3] {
        let Desc::Gic(g) = probe(blob).unwrap() else {
            panic!("not a GIC")
        };
        assert_eq!(g.dist.0, 0x0800_0000);
        assert_eq!(g.timer_irq, Some(27));
    }
    for name in [
        "sun8i-h3-orangepi-pc",
        "imx6q-sabrelite",
        "vexpress-v2p-ca9",
    ] {
        assert!(matches!(probe(&dtb(name)), Ok(Desc::Gic(_))), "{name}");
    }
}

/// The four timer entries through the l1-intc, each the local source bit
/// of QA7_rev3.4 4.10; the PL011 `<2 25>` and the mini UART `<1 29>`
/// through the root's `interrupt-parent` (the armctrl-ic): GPU 57 and 29.
#[test]
fn specifiers_through_their_parents() {
    for name in ["bcm2836-rpi-2-b", "bcm2837-rpi-3-b"] {
        let blob = dtb(name);
        let fdt = Fdt::new(&blob).unwrap();
        let t = timer_node(&fdt).unwrap();
        let got: Vec<_> = (0..5).map(|i| interrupt_of(&fdt, &t, i)).collect();
        assert_eq!(got, [Some(0), Some(1), Some(3), Some(2), None], "{name}");
        let p = interrupt_parent(&fdt, &t).unwrap();
        assert!(p.is_compatible("brcm,bcm2836-l1-intc"));
        let uart = fdt.find_path("/soc/serial@7e201000").unwrap();
        assert!(interrupt_parent(&fdt, &uart)
            .unwrap()
            .is_compatible("brcm,bcm2836-armctrl-ic"));
        assert_eq!(interrupt_of(&fdt, &uart, 0), Some(64 + 57), "{name}");
        assert_eq!(uart_irq(&blob, 0x3f20_1000), Some(121), "{name}");
        // The mini UART is "disabled" in the Pi 2's tree.
        let aux = (name == "bcm2837-rpi-3-b").then_some(64 + 29);
        assert_eq!(uart_irq(&blob, 0x3f21_5040), aux, "{name}");
        assert_eq!(uart_irq(&blob, 0x1234_5000), None);
        // The armctrl-ic itself: <8 4> to the l1-intc, the GPU bit.
        let ic = fdt.find_path("/soc/interrupt-controller@7e00b200").unwrap();
        assert_eq!(interrupt_of(&fdt, &ic, 0), Some(8));
    }
    // QEMU virt: the PL011's SPI 1 = INTID 33, the virtual timer PPI 11.
    let fdt = Fdt::new(VIRT_A15).unwrap();
    let t = timer_node(&fdt).unwrap();
    assert_eq!(interrupt_of(&fdt, &t, 2), Some(27));
    assert_eq!(uart_irq(VIRT_A15, 0x0900_0000), Some(33));
}

/// Raspberry Pi 4 B (BCM2711): the same l1-intc node as the Pi 3 (no
/// `interrupt-controller` property), but the root's interrupt parent is
/// a GIC-400 at 0xff841000/0xff842000 (BCM2711 ARM Peripherals: GIC-400
/// at 0xff840000, distributor + 0x1000, CPU interface + 0x2000), which
/// serves the timer (`arm,armv8-timer`, the virtual timer PPI 11 = INTID
/// 27) and the UARTs: VideoCore IRQ n is INTID 96 + n (the datasheet's
/// GIC-400 interrupt map): AUX (the mini UART) 29, PL011 (UART0) 57.
#[test]
fn raspberry_pi_4_gets_its_gic_400() {
    let blob = dtb("bcm2711-rpi-4-b");
    let Desc::Gic(g) = probe(&blob).unwrap() else {
        panic!("Pi 4: not a GIC")
    };
    assert_eq!(g.compatible, "arm,gic-400");
    assert_eq!(g.version, gic::Version::V2);
    assert_eq!(g.dist, (0xff84_1000, 0x1000));
    assert_eq!(g.cpu, (0xff84_2000, 0x2000));
    assert_eq!(g.timer_irq, Some(16 + 11));
    let fdt = Fdt::new(&blob).unwrap();
    let t = timer_node(&fdt).unwrap();
    assert!(t.is_compatible("arm,armv8-timer"));
    assert!(interrupt_parent(&fdt, &t)
        .unwrap()
        .is_compatible("arm,gic-400"));
    // Secure, non-secure physical, virtual, hypervisor: PPIs 13, 14, 11, 10.
    let got: Vec<_> = (0..4).map(|i| interrupt_of(&fdt, &t, i)).collect();
    assert_eq!(got, [Some(29), Some(30), Some(27), Some(26)]);
    assert_eq!(uart_irq(&blob, 0xfe21_5040), Some(96 + 29));
    assert_eq!(uart_irq(&blob, 0xfe20_1000), Some(96 + 57));
}

#[test]
fn malformed_trees_give_errors() {
    // The l1-intc under another name: no controller at all.
    let b = dtb("bcm2836-rpi-2-b");
    let at = b
        .windows(20)
        .position(|w| w == b"brcm,bcm2836-l1-intc")
        .unwrap();
    let mut x = b.clone();
    x[at + 5] = b'X';
    assert!(probe(&x).unwrap_err().starts_with("no GIC"));
    assert!(probe(&[]).is_err());
    // Corrupt bytes anywhere: errors or answers, never a panic.
    let mut r = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..2000 {
        let mut c = b.clone();
        for _ in 0..4 {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            let at = (r % c.len() as u64) as usize;
            c[at] = (r >> 32) as u8;
        }
        let _ = probe(&c);
        let _ = uart_irq(&c, 0x3f20_1000);
    }
}
