//! Expected values come from the Debian DTBs as `dtc -I dtb -O dts`
//! prints them and from `../shared/BOARD-FACTS.md` (the physical
//! addresses seen on the boards), not from this code.

use super::*;
use crate::dtb::build::Tree;
use std::string::String;
use std::vec::Vec;

fn dtb(name: &str) -> Vec<u8> {
    let path = std::format!("{}/tests/data/dtb/{name}.dtb", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn table(blob: &[u8], ram: &[(u64, u64)]) -> (std::boxed::Box<DeviceTable>, String) {
    let f = Fdt::new(blob).unwrap();
    let mut notes = String::new();
    let mut t = std::boxed::Box::new(DeviceTable::new());
    t.fill_from_fdt(&f, ram, &mut |a| notes.push_str(&std::format!("{a}\n")));
    (t, notes)
}

fn find(t: &DeviceTable, name: &str) -> Vec<(u64, u64)> {
    t.devices()
        .filter(|r| r.name_bytes() == name.as_bytes())
        .map(|r| (r.start, r.end))
        .collect()
}

fn iomem(t: &DeviceTable) -> String {
    let mut s = String::new();
    t.write_iomem(&mut s).unwrap();
    s
}

/// No device region's pages touch a RAM bank.
fn nothing_on_ram(t: &DeviceTable, ram: &[(u64, u64)]) {
    for r in t.devices() {
        let (s, e) = r.pages().unwrap();
        for &(b, z) in ram {
            assert!(
                e <= b || b + z <= s,
                "{} {s:#x}..{e:#x} overlaps RAM",
                r.name()
            );
        }
    }
}

/// Raspberry Pi 2 B as QEMU hands the tree over: QEMU's loader rewrites
/// the memory node to the RAM it gives the guest, 0..0x3c000000 (960 MiB,
/// BOARD-FACTS); the peripherals are the bus addresses 0x7e...... moved
/// by /soc's ranges to 0x3f......, the local interrupt controller is
/// identity-mapped at 0x40000000.
#[test]
fn raspi2_peripherals_and_local_intc() {
    let ram = [(0, 0x3c00_0000)];
    let (t, notes) = table(&dtb("bcm2836-rpi-2-b"), &ram);
    assert_eq!(find(&t, "serial@7e201000"), [(0x3f20_1000, 0x3f20_1200)]);
    assert_eq!(
        find(&t, "local_intc@40000000"),
        [(0x4000_0000, 0x4000_0100)]
    );
    assert_eq!(find(&t, "timer@7e003000"), [(0x3f00_3000, 0x3f00_4000)]);
    // Every device lies in the peripheral window or at the local intc.
    for r in t.devices() {
        assert!(
            (0x3f00_0000..0x4000_0000).contains(&r.start) && r.end <= 0x4000_0000
                || (r.start, r.end) == (0x4000_0000, 0x4000_0100),
            "{} at {:#x}",
            r.name(),
            r.start
        );
    }
    nothing_on_ram(&t, &ram);
    assert_eq!(notes, "");
    let text = iomem(&t);
    assert!(
        text.starts_with("00000000-3bffffff : System RAM\n"),
        "{text}"
    );
    assert!(
        text.contains("\n3f201000-3f2011ff : serial@7e201000\n"),
        "{text}"
    );
    assert!(text.contains("\n40000000-400000ff : local_intc@40000000\n"));
    // /dev/mem: the UART's page, not the RAM below, not an unlisted page.
    assert!(t.allows(0x3f20_1000, 0x1000));
    assert!(!t.allows(0x3bff_f000, 0x1000));
    assert!(!t.allows(0x3f20_1000, 0x2000) || find(&t, "serial@7e201000").len() > 1);
}

/// The same tree as Debian ships it says RAM is 0..0x40000000 (the
/// firmware fixes it): the peripherals would then be RAM, and none of
/// them is kept: RAM never becomes a device.
#[test]
fn raspi2_unpatched_memory_node_keeps_ram_out_of_the_device_path() {
    let ram = [(0, 0x4000_0000)];
    let (t, notes) = table(&dtb("bcm2836-rpi-2-b"), &ram);
    nothing_on_ram(&t, &ram);
    assert!(find(&t, "serial@7e201000").is_empty());
    assert!(notes.contains("devices: serial@7e201000 0x3f201000..0x3f201200 overlaps RAM 0x00000000..0x40000000: left out"), "{notes}");
    assert!(!t.allows(0x3f20_1000, 0x1000));
    assert_eq!(
        find(&t, "local_intc@40000000"),
        [(0x4000_0000, 0x4000_0100)]
    );
}

/// Pi 3: the mini UART (stdout-path serial1) 0x7e215040 → 0x3f215040.
#[test]
fn raspi3_mini_uart() {
    let ram = [(0, 0x3c00_0000)];
    let (t, _) = table(&dtb("bcm2837-rpi-3-b"), &ram);
    assert_eq!(find(&t, "serial@7e215040"), [(0x3f21_5040, 0x3f21_5080)]);
    assert!(t.allows(0x3f21_5000, 0x1000));
    nothing_on_ram(&t, &ram);
}

/// Raspberry Pi 4 B (BCM2711) with the RAM banks U-Boot writes in on a
/// board with more than 1 GB (0..0x3b400000 below the firmware's share,
/// 0x40000000..0xfc000000 below the peripherals): the peripherals from
/// 0xfc000000 (BCM2711 ARM Peripherals, low-peripheral mode), through
/// /soc, /emmc2bus and /scb; none of them on RAM. The /memreserve/ page
/// at 0 is RAM, not a device.
#[test]
fn raspi4_peripherals_above_ram() {
    let ram = [(0, 0x3b40_0000), (0x4000_0000, 0xbc00_0000)];
    let (t, notes) = table(&dtb("bcm2711-rpi-4-b"), &ram);
    assert_eq!(find(&t, "serial@7e215040"), [(0xfe21_5040, 0xfe21_5080)]);
    assert_eq!(find(&t, "serial@7e201000"), [(0xfe20_1000, 0xfe20_1200)]);
    assert_eq!(
        find(&t, "interrupt-controller@40041000"),
        [
            (0xff84_1000, 0xff84_2000),
            (0xff84_2000, 0xff84_4000),
            (0xff84_4000, 0xff84_6000),
            (0xff84_6000, 0xff84_8000)
        ]
    );
    assert_eq!(find(&t, "mmc@7e340000"), [(0xfe34_0000, 0xfe34_0100)]);
    assert_eq!(find(&t, "ethernet@7d580000"), [(0xfd58_0000, 0xfd59_0000)]);
    for r in t.devices() {
        assert!(r.start >= 0xfc00_0000, "{} at {:#x}", r.name(), r.start);
    }
    nothing_on_ram(&t, &ram);
    assert!(!notes.contains("overlaps RAM"), "{notes}");
    assert!(t.allows(0xfe21_5000, 0x1000));
    assert!(!t.allows(0x3b3f_f000, 0x1000));
    let text = iomem(&t);
    assert!(
        text.contains("\nfe215040-fe21507f : serial@7e215040\n"),
        "{text}"
    );
}

/// The same tree as Debian ships it (memory@0 of size 0) with the board
/// file's RAM the kernel then assumes (0x40000000, 128 MiB): the table is
/// still built, every peripheral kept (none lies in that RAM), no panic.
#[test]
fn raspi4_unpatched_memory_node() {
    let ram = [(0x4000_0000, 0x0800_0000)];
    let (t, _) = table(&dtb("bcm2711-rpi-4-b"), &ram);
    assert_eq!(find(&t, "serial@7e215040"), [(0xfe21_5040, 0xfe21_5080)]);
    nothing_on_ram(&t, &ram);
}

/// Orange Pi PC (H3): RAM at 0x40000000 (1 GiB), devices below it from
/// 0x01c00000; the UART at 0x01c28000, the GIC-400's four regions.
#[test]
fn orangepi_pc_h3() {
    let ram = [(0x4000_0000, 0x4000_0000)];
    let (t, notes) = table(&dtb("sun8i-h3-orangepi-pc"), &ram);
    assert_eq!(find(&t, "serial@1c28000"), [(0x01c2_8000, 0x01c2_8400)]);
    assert_eq!(
        find(&t, "interrupt-controller@1c81000"),
        [
            (0x01c8_1000, 0x01c8_2000),
            (0x01c8_2000, 0x01c8_4000),
            (0x01c8_4000, 0x01c8_6000),
            (0x01c8_6000, 0x01c8_8000)
        ]
    );
    assert!(t.devices().any(|r| r.start == 0x01c0_0000));
    nothing_on_ram(&t, &ram);
    assert!(t.allows(0x01c2_8000, 0x1000));
    assert!(!t.allows(0x4000_0000, 0x1000));
    assert!(!notes.contains("overlaps RAM"), "{notes}");
    // Disabled nodes are not devices (uart1 at 0x01c28400 is "disabled").
    assert!(find(&t, "serial@1c28400").is_empty());
}

/// Versatile Express A15: the RS1 map, motherboard peripherals behind
/// three levels of ranges at 0x1c000000.., the GIC at 0x2c001000; RAM at
/// 0x80000000; the reserved vram at 0x18000000 is RAM, not a device.
#[test]
fn vexpress_a15() {
    let ram = [(0x8000_0000, 0x4000_0000)];
    let (t, _) = table(&dtb("vexpress-v2p-ca15-tc1"), &ram);
    assert_eq!(find(&t, "serial@90000"), [(0x1c09_0000, 0x1c09_1000)]);
    assert_eq!(
        find(&t, "interrupt-controller@2c001000")[0],
        (0x2c00_1000, 0x2c00_2000)
    );
    // gpio@8 inside sysreg@10000 (ranges <0 0x10000 0x1000>): nested.
    assert_eq!(find(&t, "gpio@8"), [(0x1c01_0008, 0x1c01_000c)]);
    let text = iomem(&t);
    assert!(
        text.contains("1c010000-1c010fff : sysreg@10000\n  1c010008-1c01000b : gpio@8\n"),
        "{text}"
    );
    // i2c client addresses (dvi-transmitter@39) are not MMIO.
    assert!(find(&t, "dvi-transmitter@39").is_empty());
    assert!(t.ram_overlap(0x1800_0000, 0x1800_1000).is_some());
    assert!(!t.allows(0x1800_0000, 0x1000));
    // ioremap's pages: whole pages around the range; refused on RAM by
    // the linear map's word, on a DT RAM range (vram), or when the range
    // wraps.
    assert_eq!(
        t.io_pages(0x1c09_0ff0, 0x20, |_| false),
        Some((0x1c09_0000, 0x1c09_2000))
    );
    assert_eq!(
        t.io_pages(0x1c09_0000, 0x1000, |p| p >= 0x8000_0000),
        Some((0x1c09_0000, 0x1c09_1000))
    );
    assert_eq!(t.io_pages(0x8000_0000, 0x1000, |p| p >= 0x8000_0000), None);
    assert_eq!(t.io_pages(0x1800_0000, 0x1000, |_| false), None, "vram");
    assert_eq!(t.io_pages(u64::MAX - 0x10, 0x20, |_| false), None);
    nothing_on_ram(&t, &ram);
    nothing_on_ram(&t, &[(0x1800_0000, 0x80_0000)]);
}

/// Linux's `/proc/iomem` layout (kernel/resource.c `r_show`): 8 hex
/// digits at least, inclusive end, two spaces per level, ordered by start.
#[test]
fn iomem_format_and_nesting() {
    let mut t = DeviceTable::new();
    t.add_ram(0x4000_0000, 0x6000_0000).unwrap();
    t.add_device(0x0900_0000, 0x0900_1000, b"pl011@9000000")
        .unwrap();
    t.add_device(0x0800_0000, 0x0802_0000, b"intc@8000000")
        .unwrap();
    t.add_device(0x0801_0000, 0x0801_1000, b"child").unwrap();
    t.add_device(0x0801_0000, 0x0801_0100, b"grandchild")
        .unwrap();
    t.add_device(0x1_0000_0000, 0x1_0000_1000, b"high").unwrap();
    assert_eq!(
        t.add_device(0x0801_f000, 0x0802_1000, b"straddles"),
        Err(LeftOut::Conflict)
    );
    assert_eq!(
        t.add_device(0x5fff_f800, 0x6000_0800, b"ram"),
        Err(LeftOut::OverlapsRam {
            ram: (0x4000_0000, 0x6000_0000)
        })
    );
    // Its page touches a reserved range even though the bytes do not.
    t.add_reserved(0x3000_0800, 0x3000_0900);
    assert!(matches!(
        t.add_device(0x3000_0000, 0x3000_0010, b"x"),
        Err(LeftOut::OverlapsRam { .. })
    ));
    assert_eq!(
        iomem(&t),
        "08000000-0801ffff : intc@8000000\n\
         \x20 08010000-08010fff : child\n\
         \x20   08010000-080100ff : grandchild\n\
         09000000-09000fff : pl011@9000000\n\
         40000000-5fffffff : System RAM\n\
         100000000-100000fff : high\n"
    );
    assert!(t.allows(0x0900_0000, 0x1000));
    assert!(!t.allows(0x0900_0000, 0x2000));
    assert!(!t.allows(0x0901_0000, 0x1000));
    assert!(!t.allows(u64::MAX - 0xfff, 0x2000));
}

/// Full table: counted, never a panic.
#[test]
fn bounded() {
    let mut t = std::boxed::Box::new(DeviceTable::new());
    for i in 0..(MAX_RESOURCES as u64 + 10) {
        let _ = t.add_device(i * 0x1000, i * 0x1000 + 0x10, b"d");
    }
    assert_eq!(t.resources().len(), MAX_RESOURCES);
    assert_eq!(t.left_out, 10);
    // Names longer than NAME_MAX are cut.
    let mut t = DeviceTable::new();
    t.add_device(0, 1, &[b'a'; 100]).unwrap();
    assert_eq!(t.resources()[0].name_bytes().len(), NAME_MAX);
}

/// A synthetic tree: disabled subtrees, cpus and memory are not devices;
/// a reserved-memory region is RAM for the exclusion test.
#[test]
fn synthetic_tree_rules() {
    let mut tr = Tree::default();
    tr.begin("")
        .cells("#address-cells", &[1])
        .cells("#size-cells", &[1]);
    tr.begin("memory@40000000")
        .str("device_type", "memory")
        .cells("reg", &[0x4000_0000, 0x1000_0000])
        .end();
    tr.begin("reserved-memory")
        .cells("#address-cells", &[1])
        .cells("#size-cells", &[1])
        .prop("ranges", &[]);
    tr.begin("fb@30000000")
        .cells("reg", &[0x3000_0000, 0x10_0000])
        .end();
    tr.end();
    tr.begin("cpus")
        .cells("#address-cells", &[1])
        .cells("#size-cells", &[0]);
    tr.begin("cpu@0").cells("reg", &[0]).end();
    tr.end();
    tr.begin("soc")
        .cells("#address-cells", &[1])
        .cells("#size-cells", &[1])
        .prop("ranges", &[]);
    tr.begin("uart@1000").cells("reg", &[0x1000, 0x100]).end();
    tr.begin("fbctl@30000000")
        .cells("reg", &[0x3000_0000, 0x1000])
        .end();
    tr.begin("bus@2000").str("status", "disabled");
    tr.begin("dev@2000").cells("reg", &[0x2000, 0x100]).end();
    tr.end();
    tr.end();
    tr.end();
    let blob = tr.finish();
    let (t, notes) = table(&blob, &[(0x4000_0000, 0x1000_0000)]);
    let names: Vec<_> = t
        .devices()
        .map(|r| String::from_utf8_lossy(r.name_bytes()).into_owned())
        .collect();
    assert_eq!(names, ["uart@1000"]);
    assert!(notes.contains("fbctl@30000000"), "{notes}");
}
