//! What the bootloader told us, from the flattened device tree (DTB), with
//! the board file as fallback.

use crate::board;

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
    /// First RAM bank [base, base + size).
    pub ram_base: u64,
    pub ram_size: u64,
    pub uart_base: u64,
    pub initrd: Option<(u64, u64)>,
    pub cmdline: [u8; CMDLINE_MAX],
    pub cmdline_len: usize,
    pub psci: Option<PsciConduit>,
    /// Reserved ranges from /memreserve/ (at most 8 kept).
    pub reserved: [(u64, u64); 8],
    pub reserved_count: usize,
    pub dtb_size: usize,
    /// Whether the values came from a DTB (false: board defaults).
    pub from_dtb: bool,
}

fn be(bytes: &[u8]) -> Option<u64> {
    match bytes.len() {
        4 => Some(u32::from_be_bytes(bytes.try_into().ok()?) as u64),
        8 => Some(u64::from_be_bytes(bytes.try_into().ok()?)),
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
            uart_base: board::UART_BASE,
            initrd: None,
            cmdline: [0; CMDLINE_MAX],
            cmdline_len: 0,
            psci: None,
            reserved: [(0, 0); 8],
            reserved_count: 0,
            dtb_size: 0,
            from_dtb: false,
        };
        let n = board::NAME.len().min(64);
        b.model[..n].copy_from_slice(&board::NAME.as_bytes()[..n]);
        b.model_len = n;
        b
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
    /// blob gives the board defaults.
    pub fn from_dtb(dtb: &[u8]) -> Self {
        let mut info = Self::board_defaults();
        let Ok(fdt) = fdt::Fdt::new(dtb) else {
            return info;
        };
        info.from_dtb = true;
        info.dtb_size = fdt.total_size();
        let model = fdt.root().model().as_bytes();
        let n = model.len().min(64);
        info.model[..n].copy_from_slice(&model[..n]);
        info.model_len = n;

        if let Some(r) = fdt.memory().regions().next() {
            info.ram_base = r.starting_address as usize as u64;
            if let Some(s) = r.size {
                info.ram_size = s as u64;
            }
        }
        let chosen = fdt.chosen();
        if let Some(args) = chosen.bootargs() {
            let n = args.len().min(CMDLINE_MAX);
            info.cmdline[..n].copy_from_slice(&args.as_bytes()[..n]);
            info.cmdline_len = n;
        }
        if let Some(node) = fdt.find_node("/chosen") {
            let start = node
                .property("linux,initrd-start")
                .and_then(|p| be(p.value));
            let end = node.property("linux,initrd-end").and_then(|p| be(p.value));
            if let (Some(s), Some(e)) = (start, end) {
                if e > s {
                    info.initrd = Some((s, e));
                }
            }
        }
        // The console: /chosen stdout-path, else the first PL011.
        let uart = chosen
            .stdout()
            .filter(|n| {
                n.compatible()
                    .is_some_and(|c| c.all().any(|s| s == "arm,pl011"))
            })
            .or_else(|| fdt.find_compatible(&["arm,pl011"]));
        if let Some(base) = uart.and_then(|n| n.reg()).and_then(|mut r| r.next()) {
            info.uart_base = base.starting_address as usize as u64;
        }
        if let Some(psci) = fdt.find_compatible(&["arm,psci-1.0", "arm,psci-0.2", "arm,psci"]) {
            info.psci = match psci.property("method").and_then(|p| p.as_str()) {
                Some("hvc") => Some(PsciConduit::Hvc),
                Some("smc") => Some(PsciConduit::Smc),
                _ => None,
            };
        }
        for r in fdt.memory_reservations() {
            if info.reserved_count < info.reserved.len() {
                let s = r.address() as usize as u64;
                info.reserved[info.reserved_count] = (s, s + r.size() as u64);
                info.reserved_count += 1;
            }
        }
        info
    }
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

/// Copy the DTB at physical address `dtb` (identity-mapped by the boot
/// code) into `buf` and parse the copy. QEMU pads the blob to 1 MiB, so
/// only the used part (structure, strings, reservation map) is copied and
/// the copy's `totalsize` is set to it; `dtb_size` keeps the real size.
///
/// # Safety
/// The header and the used part of the blob must be mapped readable.
pub unsafe fn read_dtb(dtb: usize, buf: &'static mut [u8]) -> BootInfo {
    if dtb == 0 {
        return BootInfo::board_defaults();
    }
    let hdr = dtb as *const u32;
    // SAFETY: the caller maps the 40-byte header.
    let w = |i: usize| unsafe { u32::from_be(hdr.add(i).read_volatile()) };
    let (magic, total) = (w(0), w(1));
    let used = [w(2) + w(9), w(3) + w(8), w(4) + 16]
        .into_iter()
        .max()
        .unwrap_or(0)
        .min(total);
    if magic != 0xd00d_feed || used as usize > buf.len() || used < 40 {
        crate::kprintln!(
            "armmu: no usable DTB (magic {magic:#x}, size {total}); using board defaults"
        );
        return BootInfo::board_defaults();
    }
    let copy = &mut buf[..used as usize];
    // SAFETY: the caller maps `used` bytes at `dtb`; `copy` is ours.
    unsafe { core::ptr::copy_nonoverlapping(dtb as *const u8, copy.as_mut_ptr(), copy.len()) };
    copy[4..8].copy_from_slice(&used.to_be_bytes());
    let mut info = BootInfo::from_dtb(copy);
    info.dtb_size = total as usize;
    info
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
        assert_eq!(b.uart_base, 0x0900_0000);
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

    #[test]
    fn garbage_gives_board_defaults() {
        let b = BootInfo::from_dtb(&[0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0]);
        assert!(!b.from_dtb);
        assert_eq!(b.ram_base, board::RAM_BASE);
        assert_eq!(b.uart_base, board::UART_BASE);
    }
}
