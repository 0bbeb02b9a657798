// QEMU `virt` (hw/arm/virt.c), 32-bit ARM: the fallback facts used when
// the device tree does not say otherwise.

pub const NAME: &str = "qemu-virt";

/// DRAM: base fixed by the machine, size from `-m` (the DTB says which).
pub const RAM_BASE: u64 = 0x4000_0000;
pub const RAM_SIZE_DEFAULT: u64 = 128 << 20;

/// PL011 UART0.
pub const UART_BASE: u64 = 0x0900_0000;

/// The root `compatible` of QEMU's generated device tree for this
/// machine (hw/arm/virt.c: "linux,dummy-virt").
pub const COMPATIBLE: &[&str] = &["linux,dummy-virt"];

/// The console when the bootloader passes no device tree or one the
/// kernel refuses, or a tree of this machine (root `compatible` in
/// [`COMPATIBLE`]) that names no UART. On any other machine's tree the
/// kernel never touches this address: the console comes from the tree.
pub const FALLBACK_CONSOLE: Option<crate::drivers::uart::UartDesc> =
    Some(crate::drivers::uart::UartDesc::pl011(UART_BASE, None));

/// GICv2 distributor and CPU interface.
pub const GIC_DIST_BASE: u64 = 0x0800_0000;
pub const GIC_CPU_BASE: u64 = 0x0801_0000;

/// Where QEMU's Linux loader puts a raw image: RAM base + 0x10000 (the
/// kernel finds its real load address at run time, so this is informative).
pub const LOAD_ADDR: u64 = RAM_BASE + 0x1_0000;

/// The device regions without a usable device tree (with one, they come
/// from the tree: `bootinfo::devices`): what /dev/mem maps and
/// /proc/iomem lists, and the only ranges the kernel maps registers of.
/// Device registers only, never RAM. (start, end, name)
pub const DEVICE_WINDOWS: &[(u64, u64, &str)] = &[
    (0x0800_0000, 0x0802_0000, "gic"),
    (0x0900_0000, 0x0900_1000, "pl011"),
    (0x0901_0000, 0x0901_1000, "pl031-rtc"),
    (0x0903_0000, 0x0903_1000, "pl061-gpio"),
    (0x0a00_0000, 0x0a00_4000, "virtio-mmio"),
];
