use super::v2::{CpuInterface, Distributor};
use super::v3::{DistributorV3, RdFrame, SgiFrame};
use super::*;
use core::mem::{offset_of, size_of};

const VIRT_A15: &[u8] = include_bytes!("../../../tests/data/qemu-virt-a15.dtb");
const VIRT_A53_V3: &[u8] = include_bytes!("../../../tests/data/qemu-virt-a53-gicv3.dtb");

/// ARM IHI 0048B table 4-1 (distributor) and 4-2 (CPU interface).
#[test]
fn gicv2_offsets_follow_the_spec() {
    assert_eq!(offset_of!(Distributor, ctlr), 0x000);
    assert_eq!(offset_of!(Distributor, typer), 0x004);
    assert_eq!(offset_of!(Distributor, iidr), 0x008);
    assert_eq!(offset_of!(Distributor, igroupr), 0x080);
    assert_eq!(offset_of!(Distributor, isenabler), 0x100);
    assert_eq!(offset_of!(Distributor, icenabler), 0x180);
    assert_eq!(offset_of!(Distributor, ispendr), 0x200);
    assert_eq!(offset_of!(Distributor, icpendr), 0x280);
    assert_eq!(offset_of!(Distributor, isactiver), 0x300);
    assert_eq!(offset_of!(Distributor, icactiver), 0x380);
    assert_eq!(offset_of!(Distributor, ipriorityr), 0x400);
    assert_eq!(offset_of!(Distributor, itargetsr), 0x800);
    assert_eq!(offset_of!(Distributor, icfgr), 0xc00);
    assert_eq!(offset_of!(Distributor, sgir), 0xf00);
    assert_eq!(offset_of!(Distributor, icpidr2), 0xfe8);
    assert_eq!(size_of::<Distributor>(), 0x1000);
    assert_eq!(offset_of!(CpuInterface, ctlr), 0x00);
    assert_eq!(offset_of!(CpuInterface, pmr), 0x04);
    assert_eq!(offset_of!(CpuInterface, bpr), 0x08);
    assert_eq!(offset_of!(CpuInterface, iar), 0x0c);
    assert_eq!(offset_of!(CpuInterface, eoir), 0x10);
    assert_eq!(offset_of!(CpuInterface, rpr), 0x14);
    assert_eq!(offset_of!(CpuInterface, hppir), 0x18);
    assert_eq!(offset_of!(CpuInterface, iidr), 0xfc);
    assert_eq!(offset_of!(CpuInterface, dir), 0x1000);
}

/// ARM IHI 0069 chapter 12: GICD_IROUTER<n> at 0x6000 + 8n (n >= 32),
/// GICD_PIDR2 0xFFE8; RD_base GICR_CTLR 0, IIDR 4, TYPER 8, STATUSR 0x10,
/// WAKER 0x14; SGI_base GICR_IGROUPR0 0x80, ISENABLER0 0x100 ...
/// IPRIORITYR 0x400, ICFGR0/1 0xC00/0xC04, IGRPMODR0 0xD00.
#[test]
fn gicv3_offsets_follow_the_spec() {
    assert_eq!(offset_of!(DistributorV3, irouter), 0x6000 + 8 * 32);
    assert_eq!(offset_of!(DistributorV3, pidr2), 0xffe8);
    assert_eq!(size_of::<DistributorV3>(), 0x1_0000);
    assert_eq!(offset_of!(RdFrame, ctlr), 0x00);
    assert_eq!(offset_of!(RdFrame, iidr), 0x04);
    assert_eq!(offset_of!(RdFrame, typer_lo), 0x08);
    assert_eq!(offset_of!(RdFrame, typer_hi), 0x0c);
    assert_eq!(offset_of!(RdFrame, statusr), 0x10);
    assert_eq!(offset_of!(RdFrame, waker), 0x14);
    assert_eq!(offset_of!(RdFrame, pidr2), 0xffe8);
    assert_eq!(size_of::<RdFrame>(), 0x1_0000);
    assert_eq!(offset_of!(SgiFrame, igroupr0), 0x080);
    assert_eq!(offset_of!(SgiFrame, isenabler0), 0x100);
    assert_eq!(offset_of!(SgiFrame, icenabler0), 0x180);
    assert_eq!(offset_of!(SgiFrame, ispendr0), 0x200);
    assert_eq!(offset_of!(SgiFrame, icpendr0), 0x280);
    assert_eq!(offset_of!(SgiFrame, isactiver0), 0x300);
    assert_eq!(offset_of!(SgiFrame, icactiver0), 0x380);
    assert_eq!(offset_of!(SgiFrame, ipriorityr), 0x400);
    assert_eq!(offset_of!(SgiFrame, icfgr0), 0xc00);
    assert_eq!(offset_of!(SgiFrame, icfgr1), 0xc04);
    assert_eq!(offset_of!(SgiFrame, igrpmodr0), 0xd00);
    assert_eq!(size_of::<SgiFrame>(), 0x1_0000);
}

/// QEMU `virt` (hw/arm/virt.c): VIRT_GIC_DIST 0x0800_0000, VIRT_GIC_CPU
/// 0x0801_0000, VIRT_GIC_REDIST 0x080A_0000 (0xF60000 long), each
/// 64 KiB; the virtual timer is PPI 11 (ARCH_TIMER_VIRT_IRQ) = INTID 27.
#[test]
fn probes_qemu_virt_gicv2_and_gicv3() {
    let d = probe(VIRT_A15).unwrap();
    assert_eq!(
        d,
        GicDesc {
            version: Version::V2,
            compatible: "arm,cortex-a15-gic",
            dist: (0x0800_0000, 0x1_0000),
            cpu: (0x0801_0000, 0x1_0000),
            timer_irq: Some(27),
        }
    );
    let d = probe(VIRT_A53_V3).unwrap();
    assert_eq!(
        d,
        GicDesc {
            version: Version::V3,
            compatible: "arm,gic-v3",
            dist: (0x0800_0000, 0x1_0000),
            cpu: (0x080a_0000, 0xf6_0000),
            timer_irq: Some(27),
        }
    );
}

fn renamed(blob: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut b = blob.to_vec();
    let at = b
        .windows(from.len())
        .position(|w| w == from)
        .expect("string in blob");
    b[at..at + to.len()].copy_from_slice(to);
    b
}

/// The GICs of the boards' Debian DTBs, reg translated through the
/// parents' ranges; addresses from `../shared/BOARD-FACTS.md` (H3 GIC-400
/// dist 0x01c8_1000 / cpu 0x01c8_2000, i.MX6Q dist 0x00a0_1000 / cpu
/// 0x00a0_0100, vexpress-a9 dist 0x1e00_1000, vexpress-a15 0x2c00_1000)
/// and the Cortex-A9 MPCore TRM (CPU interface at PERIPHBASE + 0x100:
/// 0x1e00_0100) / the A15 memory map (GICC 0x2c00_2000).
#[test]
fn probes_the_boards_debian_dtbs() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/dtb/");
    let want: &[(&str, u64, u64)] = &[
        ("sun8i-h3-orangepi-pc", 0x01c8_1000, 0x01c8_2000),
        ("imx6q-sabrelite", 0x00a0_1000, 0x00a0_0100),
        ("vexpress-v2p-ca9", 0x1e00_1000, 0x1e00_0100),
        ("vexpress-v2p-ca15-tc1", 0x2c00_1000, 0x2c00_2000),
        // BCM2711 ARM Peripherals: GIC-400 at 0xff840000 (low-peripheral
        // mode), GICD + 0x1000, GICC + 0x2000.
        ("bcm2711-rpi-4-b", 0xff84_1000, 0xff84_2000),
    ];
    for &(name, dist, cpu) in want {
        let blob = std::fs::read(std::format!("{dir}{name}.dtb")).unwrap();
        let g = probe(&blob).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((g.dist.0, g.cpu.0), (dist, cpu), "{name}");
        assert_eq!(g.version, Version::V2, "{name}");
    }
    // The Raspberry Pis have no GIC.
    for name in ["bcm2836-rpi-2-b", "bcm2837-rpi-3-b"] {
        let blob = std::fs::read(std::format!("{dir}{name}.dtb")).unwrap();
        assert!(probe(&blob).unwrap_err().starts_with("no GIC"), "{name}");
    }
}

#[test]
fn probe_reports_what_is_missing() {
    let b = renamed(VIRT_A15, b"arm,cortex-a15-gic\0", b"arm,cortex-a15-gix\0");
    assert!(probe(&b).unwrap_err().starts_with("no GIC"));
    // Another compatible this driver knows.
    let b = renamed(VIRT_A15, b"arm,cortex-a15-gic\0", b"arm,cortex-a9-gic\0\0");
    assert_eq!(probe(&b).unwrap().version, Version::V2);
    // Without a timer node: no INTID from the tree (init uses 27).
    // (QEMU's node lists "arm,armv7-timer" only on a 32-bit CPU.)
    let b = renamed(VIRT_A15, b"arm,armv7-timer", b"arm,armv7-tixer");
    assert_eq!(probe(&b).unwrap().timer_irq, None);
    assert!(probe(&[]).is_err());
    assert!(probe(&VIRT_A15[..64]).is_err());
}

/// Corrupt bytes anywhere: errors or answers, never a panic.
#[test]
fn probe_never_panics_on_corrupt_trees() {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..3000 {
        let mut b = VIRT_A53_V3.to_vec();
        for _ in 0..4 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let at = (x % b.len() as u64) as usize;
            b[at] = (x >> 32) as u8;
        }
        let _ = probe(&b);
    }
}

#[test]
fn iar_decoding() {
    assert_eq!(decode_iar(27, Version::V2), Some(27));
    // GICv2 SGI: CPUID in [12:10] is not part of the ID.
    assert_eq!(decode_iar((3 << 10) | 5, Version::V2), Some(5));
    for special in [1020, 1021, 1022, 1023] {
        assert_eq!(decode_iar(special, Version::V2), None);
        assert_eq!(decode_iar(special, Version::V3), None);
    }
    assert_eq!(decode_iar(1019, Version::V2), Some(1019));
    // GICv3: 24-bit INTIDs (LPIs from 8192).
    assert_eq!(decode_iar(8192, Version::V3), Some(8192));
    assert_eq!(decode_iar(0xff00_001b, Version::V3), Some(27));
}

#[test]
fn window_translation() {
    let w = Window {
        pa: 0x0800_0000,
        size: 0x0300_0000,
        va: 0xf000_0000,
    };
    assert_eq!(w.va_of(0x0801_0000, 0x2000), Ok(0xf001_0000));
    assert_eq!(w.va_of(0x080a_0000, 0xf6_0000), Ok(0xf00a_0000));
    assert!(w.va_of(0x07ff_f000, 0x1000).is_err());
    assert!(w.va_of(0x0aff_f000, 0x2000).is_err());
    assert!(w.va_of(u64::MAX, 2).is_err());
}

#[test]
fn redistributor_search() {
    // Four frames, affinities 0x000, 0x001, 0x100, 0x101, Last on the 4th.
    let affs = [0x000u32, 0x001, 0x100, 0x101];
    let typer = |o: u64| {
        let i = (o / v3::RD_FRAMES_V3) as usize;
        let last = if i == 3 { 1 << 4 } else { 0 };
        (last, affs.get(i).copied().unwrap_or(0xdead))
    };
    let len = 4 * v3::RD_FRAMES_V3;
    assert_eq!(v3::find_redistributor(len, 0x100, typer), Ok(0x4_0000));
    assert_eq!(v3::find_redistributor(len, 0x101, typer), Ok(0x6_0000));
    assert!(v3::find_redistributor(len, 0x200, typer).is_err());
    // A region too short for the frame that matches.
    assert!(v3::find_redistributor(3 * v3::RD_FRAMES_V3, 0x101, typer).is_err());
    // GICv4 frames (VLPIS) are twice as long.
    let v4 = |o: u64| ((1 << 1), (o / v3::RD_FRAMES_V4) as u32);
    assert_eq!(v3::find_redistributor(0x10_0000, 2, v4), Ok(0x8_0000));
    assert!(v3::find_redistributor(0, 0, v4).is_err());
    // MPIDR: Aff3 [39:32], Aff2..0 [23:0]; bit 31 (RES1) dropped.
    assert_eq!(v3::affinity_of_mpidr(0x8000_0000), 0);
    assert_eq!(v3::affinity_of_mpidr(0x12_8003_0201), 0x1203_0201);
}

#[test]
fn mhz() {
    assert_eq!(Mhz(62_500_000).to_string(), "62.5 MHz");
    assert_eq!(Mhz(24_000_000).to_string(), "24 MHz");
    assert_eq!(Mhz(19_200_000).to_string(), "19.2 MHz");
    assert_eq!(Mhz(1).to_string(), "0.000001 MHz");
    assert_eq!(Mhz(1_000_010).to_string(), "1.00001 MHz");
}

/// Zeroed, page-aligned memory standing for a register block.
fn fake(len: usize) -> usize {
    let l = std::alloc::Layout::from_size_align(len, 0x1000).unwrap();
    // SAFETY: non-zero size; leaked on purpose (the GIC refs are 'static).
    let p = unsafe { std::alloc::alloc_zeroed(l) };
    assert!(!p.is_null());
    p as usize
}

fn rd32(a: usize) -> u32 {
    // SAFETY: inside a fake block.
    unsafe { (a as *const u32).read_volatile() }
}
fn wr32(a: usize, v: u32) {
    // SAFETY: inside a fake block.
    unsafe { (a as *mut u32).write_volatile(v) }
}
fn rd8(a: usize) -> u8 {
    // SAFETY: inside a fake block.
    unsafe { (a as *const u8).read_volatile() }
}

/// GICv2 bring-up on plain memory: what it writes, by offset.
#[test]
fn gicv2_bring_up_writes() {
    let base = fake(0x2_0000);
    let (d, c) = (base, base + 0x1_0000);
    wr32(d + 0x004, 2); // TYPER.ITLinesNumber = 2: 96 IDs
    wr32(d + 0xfe8, 0x2b); // ICPIDR2: ArchRev 2
    wr32(d + 0xc04, u32::MAX); // ICFGR1: all edge
    wr32(c, 0x1e0); // GICC_CTLR: bypass disabled (kept)
    let desc = probe(VIRT_A15).unwrap();
    let w = Window {
        pa: 0x0800_0000,
        size: 0x2_0000,
        va: base as u64,
    };
    // SAFETY: the window is the fake block.
    let (gic, info) = unsafe { Gic::bring_up(&desc, &w, 0) }.unwrap();
    assert_eq!(
        info.to_string(),
        "GICv2 at 0x08000000 (dist) 0x08010000 (cpu)"
    );
    assert_eq!((info.lines, info.arch_rev, info.timer_irq), (96, 2, 27));
    assert_eq!(rd32(d), 1, "GICD_CTLR enable");
    for w in 1..3 {
        assert_eq!(rd32(d + 0x180 + 4 * w), u32::MAX, "SPIs disabled");
        assert_eq!(rd32(d + 0x280 + 4 * w), u32::MAX, "SPIs not pending");
    }
    assert_eq!(rd32(d + 0x180 + 12), 0, "beyond ITLinesNumber untouched");
    for i in 0..96 {
        assert_eq!(rd8(d + 0x400 + i), DEFAULT_PRIORITY);
    }
    assert_eq!(rd8(d + 0x400 + 96), 0);
    // Last write to ISENABLER0: the timer PPI (write-1-to-set).
    assert_eq!(rd32(d + 0x100), 1 << 27);
    // INTID 27: ICFGR1 bits [23:22], bit 23 clear = level.
    assert_eq!(rd32(d + 0xc04), !(1u32 << 23));
    assert_eq!(rd32(c + 0x004), PRIORITY_MASK as u32, "GICC_PMR");
    assert_eq!(rd32(c), 0x1e1, "GICC_CTLR enable, bypass bits kept");
    // Acknowledge and end.
    wr32(c + 0x00c, 27);
    assert_eq!(gic.acknowledge(), Some(27));
    wr32(c + 0x00c, 1023);
    assert_eq!(gic.acknowledge(), None);
    gic.end_of_interrupt(27);
    assert_eq!(rd32(c + 0x010), 27, "GICC_EOIR");
    // An SPI: its target is this CPU's own mask (read from a PPI's).
    wr32(d + 0x810, 0x0101_0101);
    gic.enable(40).unwrap();
    assert_eq!(rd8(d + 0x800 + 40), 0x01);
    assert_eq!(rd32(d + 0x104), 1 << 8);
    assert!(gic.enable(96).is_err());
}

#[test]
fn gicv2_refusals() {
    let base = fake(0x2_0000);
    let desc = probe(VIRT_A15).unwrap();
    let w = Window {
        pa: 0x0800_0000,
        size: 0x2_0000,
        va: base as u64,
    };
    wr32(base + 0xfe8, 0x3b); // ArchRev 3: a GICv3 distributor
                              // SAFETY: the window is the fake block.
    let e = unsafe { Gic::bring_up(&desc, &w, 0) }.err().unwrap();
    assert!(e.contains("ArchRev"), "{e}");
    let small = Window {
        size: 0x1_1000,
        ..w
    };
    // SAFETY: as above.
    let e = unsafe { Gic::bring_up(&desc, &small, 0) }.err().unwrap();
    assert!(e.contains("device window"), "{e}");
    let tiny = GicDesc {
        cpu: (0x0801_0000, 0x1000),
        ..desc
    };
    // SAFETY: as above.
    assert!(unsafe { Gic::bring_up(&tiny, &w, 0) }.is_err());
}

/// GICv3 distributor and redistributor set-up on plain memory.
#[test]
fn gicv3_init_writes() {
    let d = fake(0x1_0000);
    let r = fake(0x2_0000);
    let s = r + 0x1_0000;
    wr32(d + 0x004, 1); // 64 IDs
    wr32(d + 0xffe8, 0x3b);
    wr32(r + 0x014, 0b010); // WAKER: ProcessorSleep
    wr32(s + 0xc04, u32::MAX);
    // SAFETY: fake blocks of the right sizes.
    let g = unsafe { v3::Gicv3::new(d, r, 0x1_0000_0203) };
    assert_eq!((g.arch_rev(), g.lines()), (3, 64));
    g.init().unwrap();
    assert_eq!(rd32(d), 0x13, "ARE_NS | EnableGrp1A | EnableGrp1");
    assert_eq!(rd32(d + 0x084), u32::MAX, "SPIs Group 1");
    assert_eq!(rd32(d + 0x184), u32::MAX, "SPIs disabled");
    assert_eq!(rd32(r + 0x014), 0, "redistributor awake");
    assert_eq!(rd32(s + 0x080), u32::MAX, "SGIs/PPIs Group 1");
    assert_eq!(rd32(s + 0x180), 0xffff_0000, "PPIs disabled");
    assert_eq!(rd32(s + 0x100), 0x0000_ffff, "SGIs enabled");
    g.enable(27).unwrap();
    assert_eq!(rd32(s + 0x100), 1 << 27);
    assert_eq!(rd8(s + 0x400 + 27), DEFAULT_PRIORITY);
    assert_eq!(rd32(s + 0xc04), !(1u32 << 23), "level");
    g.enable(40).unwrap();
    // GICD_IROUTER<40>: Aff3 [39:32] = 1, Aff2..0 = 0x000203.
    // SAFETY: inside the fake distributor.
    let route = unsafe { ((d + 0x6000 + 8 * 40) as *const u64).read_volatile() };
    assert_eq!(route, 0x1_0000_0203);
    assert_eq!(rd32(d + 0x104), 1 << 8);
    assert!(g.enable(64).is_err());
}

#[test]
fn gicv3_sleeping_redistributor_is_an_error() {
    let d = fake(0x1_0000);
    let r = fake(0x2_0000);
    wr32(r + 0x014, 0b110); // ChildrenAsleep never clears
                            // SAFETY: fake blocks of the right sizes.
    let g = unsafe { v3::Gicv3::new(d, r, 0) };
    assert_eq!(g.init(), Err("GICR_WAKER.ChildrenAsleep stays 1"));
}

#[test]
fn gicv3_without_aarch64_is_refused() {
    if cfg!(target_arch = "aarch64") {
        return;
    }
    let desc = probe(VIRT_A53_V3).unwrap();
    let w = Window {
        pa: 0,
        size: 0,
        va: 0,
    };
    // SAFETY: refused before any access.
    let e = unsafe { Gic::bring_up(&desc, &w, 0) }.err().unwrap();
    assert!(e.contains("GICv3"), "{e}");
}
