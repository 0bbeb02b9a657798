//! What the bootloader told us, from the flattened device tree (DTB), with
//! the board file as fallback.

use crate::board;
use crate::drivers::uart::UartDesc;

pub mod console;
pub mod devices;

/// RAM banks kept from the device tree's memory nodes.
pub const MAX_RAM_BANKS: usize = 8;

/// Longest kernel command line kept (Linux's COMMAND_LINE_SIZE on ARM).
pub const CMDLINE_MAX: usize = 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PsciConduit {
    Hvc,
    Smc,
}

#[derive(Clone, Debug)]
pub struct BootInfo {
    pub model: [u8; 64],
    pub model_len: usize,
    /// First RAM bank [base, base + size): the one the kernel uses.
    pub ram_base: u64,
    pub ram_size: u64,
    /// Every RAM bank of the memory nodes, in tree order (base, size);
    /// banks of size 0 are left out. At most [`MAX_RAM_BANKS`].
    pub ram_banks: [(u64, u64); MAX_RAM_BANKS],
    pub ram_bank_count: usize,
    /// The console UART (its interrupt, a GIC INTID, from its node's
    /// `interrupts`; none: the console is polled). `None`: the device tree
    /// names none the kernel drives, and the kernel prints nothing.
    pub console: Option<UartDesc>,
    pub console_source: console::Source,
    pub initrd: Option<(u64, u64)>,
    pub cmdline: [u8; CMDLINE_MAX],
    pub cmdline_len: usize,
    pub psci: Option<PsciConduit>,
    /// Reserved ranges from /memreserve/ (at most 8 kept).
    pub reserved: [(u64, u64); 8],
    pub reserved_count: usize,
    pub dtb_size: usize,
    /// Physical address of the DTB it came from (kept reserved in RAM).
    pub dtb_pa: Option<u64>,
    /// Whether the values came from a DTB (false: board defaults).
    pub from_dtb: bool,
}

/// The GIC INTID of a device's `interrupts` property, when it is one
/// GIC specifier (three cells: type 0 = SPI (INTID 32 + n), 1 = PPI
/// (16 + n); flags), as Linux's arm,gic binding reads it.
pub fn gic_intid(interrupts: &[u8]) -> Option<u32> {
    if interrupts.len() != 12 {
        return None;
    }
    let cell = |i: usize| {
        u32::from_be_bytes([
            interrupts[i * 4],
            interrupts[i * 4 + 1],
            interrupts[i * 4 + 2],
            interrupts[i * 4 + 3],
        ])
    };
    match (cell(0), cell(1)) {
        (0, n) if n < 988 => Some(32 + n),
        (1, n) if n < 16 => Some(16 + n),
        _ => None,
    }
}

impl BootInfo {
    pub fn board_defaults() -> Self {
        let mut b = BootInfo {
            model: [0; 64],
            model_len: 0,
            ram_base: board::RAM_BASE,
            ram_size: board::RAM_SIZE_DEFAULT,
            ram_banks: [(0, 0); MAX_RAM_BANKS],
            ram_bank_count: 0,
            console: board::FALLBACK_CONSOLE,
            console_source: console::Source::BoardFile,
            initrd: None,
            cmdline: [0; CMDLINE_MAX],
            cmdline_len: 0,
            psci: None,
            reserved: [(0, 0); 8],
            reserved_count: 0,
            dtb_size: 0,
            dtb_pa: None,
            from_dtb: false,
        };
        let n = board::NAME.len().min(64);
        b.model[..n].copy_from_slice(&board::NAME.as_bytes()[..n]);
        b.model_len = n;
        b
    }

    /// The RAM banks found in the device tree.
    pub fn ram_banks(&self) -> &[(u64, u64)] {
        &self.ram_banks[..self.ram_bank_count]
    }

    pub fn model(&self) -> &str {
        core::str::from_utf8(&self.model[..self.model_len]).unwrap_or("?")
    }

    pub fn cmdline(&self) -> &str {
        core::str::from_utf8(&self.cmdline[..self.cmdline_len]).unwrap_or("")
    }

    /// The value of `key=value` on the command line, if present.
    pub fn arg(&self, key: &str) -> Option<&str> {
        self.cmdline().split_ascii_whitespace().find_map(|w| {
            let (k, v) = w.split_once('=')?;
            (k == key).then_some(v)
        })
    }

    /// Parse a DTB; anything missing keeps the board default. An invalid
    /// blob gives the board defaults (see [`parse_dtb`] for why).
    pub fn from_dtb(dtb: &[u8]) -> Self {
        parse_dtb(dtb).unwrap_or_else(|_| Self::board_defaults())
    }

    /// The facts in a checked blob (header already accepted).
    fn read_tree(blob: &[u8]) -> Result<Self, DtbError> {
        use crate::dtb::{cells_value, Fdt};
        let fdt = Fdt::new(blob).ok_or(DtbError::BadBlock { what: "structure" })?;
        // Validate the whole structure block first: a tree that is
        // malformed anywhere is refused as a whole.
        fdt.walk(|_| true).map_err(|_| DtbError::Corrupt)?;
        let root = fdt.find(|n| n.depth == 0).ok_or(DtbError::Corrupt)?;
        let mut info = Self::board_defaults();
        info.from_dtb = true;
        info.dtb_size = blob.len();
        if let Some(model) = root.prop_str("model") {
            let n = model.len().min(64);
            info.model[..n].copy_from_slice(&model.as_bytes()[..n]);
            info.model_len = n;
        }
        let mut note = |a: core::fmt::Arguments| crate::kprintln!("{a}");
        let (banks, count) = memory_banks(&fdt, &mut note);
        info.ram_banks = banks;
        info.ram_bank_count = count;
        if let Some(&(base, size)) = info.ram_banks().first() {
            info.ram_base = base;
            info.ram_size = size;
        } else {
            note(format_args!(
                "memory: no RAM bank in the device tree; assuming the board file's {:#010x}..{:#010x}",
                info.ram_base,
                info.ram_base.saturating_add(info.ram_size)
            ));
        }
        let chosen = fdt.find_path("/chosen");
        if let Some(args) = chosen.and_then(|c| c.prop_str("bootargs")) {
            let n = args.len().min(CMDLINE_MAX);
            info.cmdline[..n].copy_from_slice(&args.as_bytes()[..n]);
            info.cmdline_len = n;
        }
        if let Some(c) = chosen {
            let start = c.prop("linux,initrd-start").and_then(cells_value);
            let end = c.prop("linux,initrd-end").and_then(cells_value);
            if let (Some(s), Some(e)) = (start, end) {
                if e > s {
                    info.initrd = Some((s, e));
                }
            }
        }
        // The console (bootinfo::console). Notes go to the kernel log,
        // which holds them until the console is up.
        match console::choose(&fdt, &mut note) {
            Some((desc, src)) => {
                info.console = Some(desc);
                info.console_source = src;
            }
            None if board_tree(&root) => {}
            None => info.console = None,
        }
        let psci = fdt.find(|n| {
            ["arm,psci-1.0", "arm,psci-0.2", "arm,psci"]
                .iter()
                .any(|c| n.is_compatible(c))
        });
        if let Some(psci) = psci {
            info.psci = match psci.prop_str("method") {
                Some("hvc") => Some(PsciConduit::Hvc),
                Some("smc") => Some(PsciConduit::Smc),
                _ => None,
            };
        }
        for (s, size) in fdt.reservations() {
            if info.reserved_count < info.reserved.len() {
                info.reserved[info.reserved_count] = (s, s.saturating_add(size));
                info.reserved_count += 1;
            }
        }
        Ok(info)
    }
}

/// The RAM banks of the tree's memory nodes (depth 1, `device_type`
/// "memory", or named "memory"/"memory@..." as older trees do; enabled),
/// every `reg` entry of each read with the root's cells, in tree order;
/// at most [`MAX_RAM_BANKS`] (the rest are reported through `note`).
/// Entries of size 0 are no RAM and are left out; a memory node that
/// gives no bank at all is reported: the Raspberry Pi 4's tree as Debian
/// ships it has `memory@0 { reg = <0 0 0>; }`, for the firmware (and
/// U-Boot's `booti`, from the banks it learnt from the firmware) to
/// fill in.
pub fn memory_banks(
    fdt: &crate::dtb::Fdt,
    note: &mut dyn FnMut(core::fmt::Arguments),
) -> ([(u64, u64); MAX_RAM_BANKS], usize) {
    let mut banks = [(0u64, 0u64); MAX_RAM_BANKS];
    let mut count = 0;
    let mut dropped = 0usize;
    let _ = fdt.walk(|n| {
        let is_memory = n.depth == 1
            && n.is_enabled()
            && (n.prop_str("device_type") == Some("memory")
                || n.name == b"memory"
                || n.name.starts_with(b"memory@"));
        if is_memory {
            let mut i = 0;
            let mut sized = 0;
            while let Some((base, size)) = n.reg(i) {
                let size = size.unwrap_or(0);
                if size > 0 {
                    sized += 1;
                    if count < MAX_RAM_BANKS {
                        banks[count] = (base, size);
                        count += 1;
                    } else {
                        dropped += 1;
                    }
                }
                i += 1;
            }
            if sized == 0 {
                note(format_args!(
                    "memory: {} gives no RAM bank (no reg entry with a size: left for the firmware or bootloader to fill in)",
                    crate::dtb::Name(n.name)
                ));
            }
        }
        true
    });
    if dropped > 0 {
        note(format_args!(
            "memory: {dropped} more RAM banks than the {MAX_RAM_BANKS} kept: ignored"
        ));
    }
    (banks, count)
}

/// Whether the tree describes the machine the board file is for (its root
/// `compatible` lists one of [`board::COMPATIBLE`]): only then may the
/// board file's console stand in for one the tree does not name.
fn board_tree(root: &crate::dtb::Node) -> bool {
    board::COMPATIBLE.iter().any(|c| root.is_compatible(c))
}

impl BootInfo {
    /// The frame allocator for the first RAM bank (up to `limit` bytes),
    /// with everything in use at boot reserved: RAM base up to the end of
    /// the kernel image and BSS (firmware/boot stubs live below it), the DTB,
    /// the initrd and the DTB's /memreserve/ ranges.
    pub fn boot_frames(
        &self,
        limit: u64,
        dtb_pa: u64,
        image_end_pa: u64,
    ) -> crate::mm::frame::FrameAllocator {
        let mut frames =
            crate::mm::frame::FrameAllocator::new(self.ram_base, self.ram_size.min(limit));
        frames.reserve(self.ram_base, image_end_pa);
        frames.reserve(dtb_pa, dtb_pa + self.dtb_size.max(1) as u64);
        if let Some((s, e)) = self.initrd {
            frames.reserve(s, e);
        }
        for &(s, e) in &self.reserved[..self.reserved_count] {
            frames.reserve(s, e);
        }
        frames
    }
}

impl BootInfo {
    /// The page-aligned part of the initrd that can be given back once it
    /// has been unpacked (Linux's `free_initrd_mem`: the whole pages inside
    /// it), or `None` when there is none or the range touches something
    /// still in use: the kernel image (RAM base up to `image_end_pa`) or a
    /// `/memreserve/` range (a bootloader that overlaps them is wrong, and
    /// its frames stay reserved).
    pub fn initrd_frames_to_free(&self, image_end_pa: u64) -> Option<(u64, u64)> {
        const PAGE: u64 = crate::mm::frame::FRAME_SIZE;
        let (s, e) = self.initrd?;
        let first = s.checked_add(PAGE - 1)? & !(PAGE - 1);
        let last = e & !(PAGE - 1);
        if last <= first {
            return None;
        }
        let overlaps = |a: u64, b: u64| a < last && first < b;
        if overlaps(self.ram_base, image_end_pa) {
            return None;
        }
        if self.reserved[..self.reserved_count]
            .iter()
            .any(|&(a, b)| overlaps(a, b))
        {
            return None;
        }
        Some((first, last))
    }
}

/// Largest device tree accepted: Linux's `MAX_FDT_SIZE` on arm64 (2 MiB).
/// The boot code maps this much from the DTB's address, and the blob is
/// parsed in place (nothing is copied, so no buffer limits it further).
pub const DTB_MAX: usize = 2 << 20;

/// Size of a version-17 header (devicetree specification 5.2).
pub const DTB_HEADER_LEN: usize = 40;
/// FDT magic.
pub const DTB_MAGIC: u32 = 0xd00d_feed;

/// Why a device tree header is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DtbError {
    /// Not 8-byte aligned (the devicetree specification requires it).
    Unaligned {
        addr: usize,
    },
    BadMagic(u32),
    /// `last_comp_version` above 17, or `version` below 17 (the header
    /// fields used here, such as `size_dt_struct`, appeared in 17).
    Version {
        version: u32,
        last_comp: u32,
    },
    /// `totalsize` smaller than the header.
    TooSmall(u32),
    /// `totalsize` larger than [`DTB_MAX`].
    TooLarge(u32),
    /// A block (`what`) does not lie inside `totalsize`, or is misaligned.
    BadBlock {
        what: &'static str,
    },
    /// The header is fine but the structure block does not parse.
    Corrupt,
}

impl core::fmt::Display for DtbError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            DtbError::Unaligned { addr } => write!(f, "address {addr:#x} is not 8-byte aligned"),
            DtbError::BadMagic(m) => write!(f, "bad magic {m:#010x} (expected 0xd00dfeed)"),
            DtbError::Version { version, last_comp } => write!(
                f,
                "unsupported version {version} (last compatible {last_comp}; need 17)"
            ),
            DtbError::TooSmall(t) => write!(f, "totalsize {t} is smaller than the header"),
            DtbError::TooLarge(t) => write!(
                f,
                "totalsize {t} bytes is larger than the limit of {} MiB",
                DTB_MAX >> 20
            ),
            DtbError::BadBlock { what } => {
                write!(
                    f,
                    "the {what} block lies outside totalsize or is misaligned"
                )
            }
            DtbError::Corrupt => write!(f, "the structure block does not parse"),
        }
    }
}

/// Check a DTB header (the first [`DTB_HEADER_LEN`] bytes) the way Linux's
/// `fdt_check_header` does, and return `totalsize`: the number of bytes
/// that may then be read.
pub fn check_dtb_header(h: &[u8; DTB_HEADER_LEN]) -> Result<usize, DtbError> {
    let w = |i: usize| u32::from_be_bytes([h[4 * i], h[4 * i + 1], h[4 * i + 2], h[4 * i + 3]]);
    let (magic, total) = (w(0), w(1));
    let (off_struct, off_strings, off_rsv) = (w(2), w(3), w(4));
    let (version, last_comp) = (w(5), w(6));
    let (size_strings, size_struct) = (w(8), w(9));
    if magic != DTB_MAGIC {
        return Err(DtbError::BadMagic(magic));
    }
    if version < 17 || last_comp > 17 {
        return Err(DtbError::Version { version, last_comp });
    }
    if (total as usize) < DTB_HEADER_LEN {
        return Err(DtbError::TooSmall(total));
    }
    if total as usize > DTB_MAX {
        return Err(DtbError::TooLarge(total));
    }
    let inside = |off: u32, size: u32, min: u32, align: u32| {
        off >= min && off % align == 0 && off.checked_add(size).is_some_and(|e| e <= total)
    };
    let hdr = DTB_HEADER_LEN as u32;
    if !inside(off_rsv, 16, hdr, 8) {
        return Err(DtbError::BadBlock {
            what: "memory reservation",
        });
    }
    if !inside(off_struct, size_struct, hdr, 4) || size_struct % 4 != 0 {
        return Err(DtbError::BadBlock { what: "structure" });
    }
    if !inside(off_strings, size_strings, hdr, 1) {
        return Err(DtbError::BadBlock { what: "strings" });
    }
    Ok(total as usize)
}

/// Check `dtb` and parse it: [`check_dtb_header`], then the contents
/// ([`BootInfo::from_dtb`]).
pub fn parse_dtb(dtb: &[u8]) -> Result<BootInfo, DtbError> {
    let h: &[u8; DTB_HEADER_LEN] = dtb
        .get(..DTB_HEADER_LEN)
        .and_then(|h| h.try_into().ok())
        .ok_or(DtbError::TooSmall(dtb.len() as u32))?;
    let total = check_dtb_header(h)?;
    let blob = dtb
        .get(..total)
        .ok_or(DtbError::BadBlock { what: "whole" })?;
    BootInfo::read_tree(blob)
}

/// Read the DTB at physical address `dtb` (identity-mapped by the boot
/// code) in place: check its header, then parse `totalsize` bytes (at most
/// [`DTB_MAX`]). A missing or invalid DTB gives the board defaults with a
/// message saying why. `dtb_size` is the blob's `totalsize` (the frames
/// the caller keeps reserved).
///
/// # Safety
/// [`DTB_MAX`] bytes from `dtb` must be mapped
/// readable and not change while this runs.
pub unsafe fn read_dtb(dtb: usize) -> BootInfo {
    // SAFETY: as this function's.
    let info = unsafe { read_dtb_info(dtb) };
    if !info.from_dtb {
        devices::DEVICES
            .lock()
            .fill_from_board((info.ram_base, info.ram_size), board::DEVICE_WINDOWS);
    }
    #[cfg(target_os = "none")]
    crate::testfault::maybe(info.cmdline(), crate::testfault::When::Early);
    info
}

/// The facts of the DTB at `dtb` (board defaults if it is refused); the
/// device table ([`devices::DEVICES`]) filled from it.
///
/// # Safety
/// As [`read_dtb`].
unsafe fn read_dtb_info(dtb: usize) -> BootInfo {
    if dtb == 0 {
        crate::kprintln!("armmu: no DTB from the bootloader; using board defaults");
        return BootInfo::board_defaults();
    }
    let refuse = |e: DtbError| {
        crate::kprintln!("armmu: DTB at {dtb:#x} refused: {e}; using board defaults");
        BootInfo::board_defaults()
    };
    if !dtb.is_multiple_of(8) {
        return refuse(DtbError::Unaligned { addr: dtb });
    }
    let mut h = [0u8; DTB_HEADER_LEN];
    // SAFETY: the caller maps the header (within DTB_MAX of `dtb`); `h` is
    // ours.
    unsafe { core::ptr::copy_nonoverlapping(dtb as *const u8, h.as_mut_ptr(), h.len()) };
    let total = match check_dtb_header(&h) {
        Ok(t) => t,
        Err(e) => return refuse(e),
    };
    // SAFETY: `total` <= DTB_MAX bytes from `dtb` are mapped (caller) and
    // nothing writes them while the slice lives (only during this call).
    let blob = unsafe { core::slice::from_raw_parts(dtb as *const u8, total) };
    match parse_dtb(blob) {
        Ok(mut info) => {
            info.dtb_size = total;
            info.dtb_pa = Some(dtb as u64);
            if let Some(fdt) = crate::dtb::Fdt::new(blob) {
                let one = [(info.ram_base, info.ram_size)];
                let ram = if info.ram_bank_count > 0 {
                    info.ram_banks()
                } else {
                    &one[..]
                };
                devices::DEVICES
                    .lock()
                    .fill_from_fdt(&fdt, ram, &mut |a| crate::kprintln!("{a}"));
            }
            info
        }
        Err(e) => refuse(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `qemu-system-arm -M virt -m 512M -append "armmu.test=x init=/bin/a"
    /// -initrd <1234-byte file> -machine dumpdtb=...`: produced by QEMU
    /// itself (tests/data/README.md says how), not by this code.
    const VIRT_DTB: &[u8] = include_bytes!("../tests/data/qemu-virt-a15.dtb");

    #[test]
    fn parses_qemu_virt() {
        let b = BootInfo::from_dtb(VIRT_DTB);
        assert!(b.from_dtb);
        assert_eq!(b.ram_base, 0x4000_0000);
        assert_eq!(b.ram_size, 512 << 20);
        let c = b.console.expect("a console");
        assert_eq!((c.pa, c.compatible), (0x0900_0000, "arm,pl011"));
        assert_eq!(b.console_source, console::Source::StdoutPath);
        assert_eq!(b.ram_banks(), &[(0x4000_0000, 512 << 20)]);
        assert_eq!(b.psci, Some(PsciConduit::Hvc));
        assert_eq!(b.arg("armmu.test"), Some("x"));
        assert_eq!(b.arg("init"), Some("/bin/a"));
        assert_eq!(b.arg("nothing"), None);
        let (s, e) = b.initrd.expect("initrd in /chosen");
        assert_eq!(e - s, 1234);
        assert_eq!(b.model(), "linux,dummy-virt");
    }

    #[test]
    fn boot_frames_reserve_what_is_in_use() {
        let b = BootInfo::from_dtb(VIRT_DTB);
        let (s, e) = b.initrd.unwrap();
        let f = b.boot_frames(1 << 30, 0x4800_1000, 0x4030_0000);
        assert_eq!(f.total(), (512 << 20) / 4096);
        assert!(f.is_allocated(0x4000_0000) && f.is_allocated(0x402F_F000));
        assert!(!f.is_allocated(0x4030_0000));
        assert!(f.is_allocated(s & !0xfff) && f.is_allocated((e - 1) & !0xfff));
        assert!(f.is_allocated(0x4800_1000));
    }

    /// The Raspberry Pi 3's secondaries wait in the firmware's (or QEMU's)
    /// spin table: each polls its `cpu-release-addr` (0xd8, 0xe0, 0xe8,
    /// 0xf0 in the Debian tree's /cpus/cpu@1..3, `dtc -I dtb`), in the
    /// page at 0 that the tree's `/memreserve/ 0 0x1000` covers. That page
    /// is never handed out, even if the image's own reservation (RAM base
    /// up to the image's end) were empty: every frame allocated until the
    /// allocator is exhausted, none is it.
    #[test]
    fn pi3_spin_table_page_is_never_allocated() {
        let blob = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/dtb/bcm2837-rpi-3-b.dtb"
        ))
        .unwrap();
        let b = BootInfo::from_dtb(&blob);
        assert_eq!(b.ram_base, 0);
        assert_eq!(&b.reserved[..b.reserved_count], &[(0, 0x1000)]);
        let fdt = crate::dtb::Fdt::new(&blob).unwrap();
        let mut release = Vec::new();
        let _ = fdt.walk(|n| {
            if let Some(v) = n.prop("cpu-release-addr") {
                release.push(crate::dtb::cells_value(v).unwrap());
            }
            true
        });
        assert_eq!(release, [0xd8, 0xe0, 0xe8, 0xf0]);
        // Image "at" RAM base: no image reservation at all.
        let mut f = b.boot_frames(1 << 30, 0x0260_0000, 0);
        for &a in &release {
            assert!(f.is_allocated(a & !0xfff), "{a:#x}");
        }
        while let Ok(pa) = f.alloc() {
            assert!(
                release.iter().all(|&a| pa != a & !0xfff),
                "spin-table page {pa:#x} allocated"
            );
        }
        assert_eq!(f.free_count(), 0);
    }

    #[test]
    fn initrd_pages_to_free() {
        let mut b = BootInfo::from_dtb(VIRT_DTB);
        let (s, _) = b.initrd.unwrap();
        // QEMU's initrd here is 1234 bytes: no whole page inside.
        assert_eq!(b.initrd_frames_to_free(0x4030_0000), None);
        b.initrd = Some((0x4800_0800, 0x4800_5000));
        assert_eq!(
            b.initrd_frames_to_free(0x4030_0000),
            Some((0x4800_1000, 0x4800_5000))
        );
        // Overlapping the kernel image, or a /memreserve/: kept.
        assert_eq!(b.initrd_frames_to_free(0x4800_2000), None);
        b.reserved[0] = (0x4800_4fff, 0x4800_6000);
        b.reserved_count = 1;
        assert_eq!(b.initrd_frames_to_free(0x4030_0000), None);
        let _ = s;
    }

    #[test]
    fn uart_interrupt() {
        // QEMU's virt board wires the PL011 to SPI 1 (hw/arm/virt.c,
        // a15irqmap[VIRT_UART] = 1): GIC INTID 32 + 1.
        let c = BootInfo::from_dtb(VIRT_DTB).console.unwrap();
        assert_eq!(c.irq, Some(33));
        assert_eq!(gic_intid(&[0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 4]), Some(33));
        assert_eq!(gic_intid(&[0, 0, 0, 1, 0, 0, 0, 13, 0, 0, 0, 4]), Some(29));
        // Not a 3-cell GIC specifier, a PPI number past 15, or an SPI
        // past the GIC's 1020 INTIDs: no interrupt.
        assert_eq!(gic_intid(&[0, 0, 0, 0, 0, 0, 0, 1]), None);
        assert_eq!(gic_intid(&[0, 0, 0, 1, 0, 0, 0, 16, 0, 0, 0, 4]), None);
        assert_eq!(gic_intid(&[0, 0, 0, 0, 0, 0, 3, 0xdc, 0, 0, 0, 4]), None);
        assert_eq!(gic_intid(&[0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 4]), None);
    }

    fn pi4() -> std::vec::Vec<u8> {
        let p = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/dtb/bcm2711-rpi-4-b.dtb"
        );
        std::fs::read(p).unwrap()
    }

    fn banks_of(blob: &[u8]) -> (std::vec::Vec<(u64, u64)>, std::string::String) {
        let fdt = crate::dtb::Fdt::new(blob).unwrap();
        let mut notes = std::string::String::new();
        let (b, n) = memory_banks(&fdt, &mut |a| notes.push_str(&std::format!("{a}\n")));
        (b[..n].to_vec(), notes)
    }

    /// The Raspberry Pi 4 tree as Debian ships it (`dtc`: `memory@0 {
    /// device_type = "memory"; reg = <0x00 0x00 0x00>; }`, root cells
    /// 2/1): no RAM bank, said so; the kernel keeps the board file's RAM
    /// and everything else still comes from the tree (no panic). On the
    /// board this tree never arrives unpatched: the firmware and U-Boot
    /// write the banks in (next test).
    #[test]
    fn raspi4_memory_node_left_for_the_firmware() {
        let blob = pi4();
        let (banks, notes) = banks_of(&blob);
        assert_eq!(banks, []);
        assert_eq!(
            notes,
            "memory: memory@0 gives no RAM bank (no reg entry with a size: left for the firmware or bootloader to fill in)\n"
        );
        let b = BootInfo::from_dtb(&blob);
        assert!(b.from_dtb);
        assert_eq!(b.ram_banks(), &[]);
        assert_eq!(
            (b.ram_base, b.ram_size),
            (board::RAM_BASE, board::RAM_SIZE_DEFAULT)
        );
        assert_eq!(b.model(), "Raspberry Pi 4 Model B");
        // stdout-path "serial1:115200n8" -> the mini UART, bus 0x7e215040
        // = CPU 0xfe215040 (BCM2711 ARM Peripherals: 0x7e000000 ->
        // 0xfe000000 in low-peripheral mode).
        let c = b.console.unwrap();
        assert_eq!((c.pa, c.compatible), (0xfe21_5040, "brcm,bcm2835-aux-uart"));
        // /memreserve/ 0x0 0x1000: the spin-table page (cpu-release-addr
        // 0xd8..0xf0 of cpu@0..3).
        assert_eq!(&b.reserved[..b.reserved_count], &[(0, 0x1000)]);
        // The frame allocator over that assumed RAM, with the image and
        // the DTB where U-Boot rpi_4 puts them (kernel_addr_r 0x80000,
        // fdt_addr_r 0x2600000), outside it: built without a panic, those
        // reservations simply miss (the RAM itself may not exist: README).
        let f = b.boot_frames(1 << 30, 0x0260_0000, 0x0020_0000);
        assert_eq!(f.total() as u64, board::RAM_SIZE_DEFAULT / 4096);
        assert!(!f.is_allocated(board::RAM_BASE));
    }

    /// The same tree with the bank U-Boot's `booti` writes in
    /// (`arch_fixup_fdt` -> `fdt_fixup_memory_banks` from its DRAM banks,
    /// learnt from the firmware): a 1 GB board's ARM memory,
    /// 0..0x3b400000 (1024 MiB less the firmware's default 76 MiB
    /// `gpu_mem`), written over the three zero cells.
    #[test]
    fn raspi4_memory_node_as_u_boot_fills_it() {
        let mut blob = pi4();
        let fdt = crate::dtb::Fdt::new(&blob).unwrap();
        let reg = fdt.find_path("/memory@0").unwrap().prop("reg").unwrap();
        assert_eq!(reg, [0u8; 12]);
        let at = reg.as_ptr() as usize - blob.as_ptr() as usize;
        blob[at + 8..at + 12].copy_from_slice(&0x3b40_0000u32.to_be_bytes());
        let (banks, notes) = banks_of(&blob);
        assert_eq!(
            (banks.as_slice(), notes.as_str()),
            (&[(0, 0x3b40_0000)][..], "")
        );
        let b = BootInfo::from_dtb(&blob);
        assert_eq!((b.ram_base, b.ram_size), (0, 0x3b40_0000));
    }

    /// Banks with 2 address cells above 4 GiB (the Pi 4's 4 and 8 GB
    /// boards have RAM there; the numbers here are made up), in tree
    /// order; the kernel runs on the first. More than [`MAX_RAM_BANKS`]:
    /// the rest are reported, not silently lost.
    #[test]
    fn memory_banks_above_4g_and_too_many() {
        use crate::dtb::build::Tree;
        let tree = |banks: &[(u64, u32)]| {
            let mut t = Tree::default();
            t.begin("")
                .cells("#address-cells", &[2])
                .cells("#size-cells", &[1]);
            let mut reg = std::vec::Vec::new();
            for &(a, s) in banks {
                reg.extend_from_slice(&[(a >> 32) as u32, a as u32, s]);
            }
            t.begin("memory@0")
                .str("device_type", "memory")
                .cells("reg", &reg)
                .end();
            t.end();
            t.finish()
        };
        let blob = tree(&[
            (0, 0x3b40_0000),
            (0x4000_0000, 0xbc00_0000),
            (1 << 32, 0x8000_0000),
        ]);
        let (banks, notes) = banks_of(&blob);
        assert_eq!(
            banks,
            [
                (0, 0x3b40_0000),
                (0x4000_0000, 0xbc00_0000),
                (1 << 32, 0x8000_0000)
            ]
        );
        assert_eq!(notes, "");
        let b = BootInfo::from_dtb(&blob);
        assert_eq!(
            (b.ram_base, b.ram_size, b.ram_bank_count),
            (0, 0x3b40_0000, 3)
        );
        let many: std::vec::Vec<(u64, u32)> = (0..10).map(|i| (i << 32, 0x1000)).collect();
        let (banks, notes) = banks_of(&tree(&many));
        assert_eq!(banks.len(), MAX_RAM_BANKS);
        assert_eq!(banks[7], (7 << 32, 0x1000));
        assert_eq!(notes, "memory: 2 more RAM banks than the 8 kept: ignored\n");
    }

    #[test]
    fn garbage_gives_board_defaults() {
        let b = BootInfo::from_dtb(&[0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0]);
        assert!(!b.from_dtb);
        assert_eq!(b.ram_base, board::RAM_BASE);
        assert_eq!(b.console, board::FALLBACK_CONSOLE);
        assert_eq!(b.console_source, console::Source::BoardFile);
    }
}
