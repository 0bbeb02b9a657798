//! The machine's physical address map from the device tree, as Linux's
//! resource tree (`/proc/iomem`) holds it: the RAM banks of the memory
//! nodes ("System RAM") and the registers of every enabled device node
//! (its `reg` entries carried through the parent buses' `ranges`,
//! [`Fdt::translate_reg`]), named by the node ("serial@7e201000", as
//! Linux's `of_device_alloc` names platform resources).
//!
//! What it is for:
//! * `/dev/mem` maps only pages of a device region of this table (Linux's
//!   `STRICT_DEVMEM`, stricter: Linux allows any page that is not RAM);
//! * `/proc/iomem` prints it;
//! * no device region may touch RAM: a region whose pages overlap a RAM
//!   bank, a `/reserved-memory` range or a `/memreserve/` entry is left
//!   out (and logged), so RAM is never reachable through the device path.
//!
//! Fixed size ([`MAX_RESOURCES`] entries, names cut at [`NAME_MAX`] bytes);
//! regions beyond it are counted in [`DeviceTable::left_out`] and logged.
//! Without a device tree the board file's windows fill it
//! ([`DeviceTable::fill_from_board`]).

use crate::dtb::{Fdt, Name, Node};

/// Most resources kept (the i.MX6Q tree, the largest here, has ~180
/// `reg` properties).
pub const MAX_RESOURCES: usize = 256;
/// Longest name kept (node names are at most 31 characters by the
/// specification; longer ones are cut).
pub const NAME_MAX: usize = 40;
const PAGE: u64 = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A RAM bank of a memory node ("System RAM").
    Ram,
    /// Device registers.
    Device,
}

/// One range `[start, end)` of the physical address map.
#[derive(Clone, Copy, Debug)]
pub struct Resource {
    pub start: u64,
    pub end: u64,
    pub kind: Kind,
    name: [u8; NAME_MAX],
    name_len: u8,
}

impl Resource {
    const EMPTY: Resource = Resource {
        start: 0,
        end: 0,
        kind: Kind::Device,
        name: [0; NAME_MAX],
        name_len: 0,
    };

    fn new(start: u64, end: u64, kind: Kind, name: &[u8]) -> Resource {
        let mut r = Resource {
            start,
            end,
            kind,
            ..Resource::EMPTY
        };
        let n = name.len().min(NAME_MAX);
        r.name[..n].copy_from_slice(&name[..n]);
        r.name_len = n as u8;
        r
    }

    pub fn name(&self) -> Name<'_> {
        Name(&self.name[..self.name_len as usize])
    }

    /// The name bytes.
    pub fn name_bytes(&self) -> &[u8] {
        &self.name[..self.name_len as usize]
    }

    /// `[start, end)` widened to whole pages (`None` if that wraps).
    pub fn pages(&self) -> Option<(u64, u64)> {
        Some((
            self.start & !(PAGE - 1),
            self.end.checked_add(PAGE - 1)? & !(PAGE - 1),
        ))
    }
}

/// Why a region is not in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeftOut {
    /// Its pages overlap RAM (a memory node, /reserved-memory or
    /// /memreserve/): never mapped as a device.
    OverlapsRam { ram: (u64, u64) },
    /// It overlaps another region without containing it or being
    /// contained (Linux's `insert_resource` refuses it the same way).
    Conflict,
    /// The table is full.
    Full,
}

/// The physical address map: RAM banks and device regions, sorted by
/// start (larger first at an equal start), nested by containment.
#[derive(Clone, Debug)]
pub struct DeviceTable {
    res: [Resource; MAX_RESOURCES],
    len: usize,
    /// RAM that device regions must not touch beyond the banks: the
    /// reserved-memory and /memreserve/ ranges (kept, not printed).
    reserved: [(u64, u64); 16],
    reserved_len: usize,
    /// Regions not kept because the table was full.
    pub left_out: usize,
    /// Whether the device regions came from a device tree.
    pub from_dtb: bool,
}

impl Default for DeviceTable {
    fn default() -> Self {
        Self::new()
    }
}

impl DeviceTable {
    pub const fn new() -> DeviceTable {
        DeviceTable {
            res: [Resource::EMPTY; MAX_RESOURCES],
            len: 0,
            reserved: [(0, 0); 16],
            reserved_len: 0,
            left_out: 0,
            from_dtb: false,
        }
    }

    pub fn resources(&self) -> &[Resource] {
        &self.res[..self.len]
    }

    /// The device regions.
    pub fn devices(&self) -> impl Iterator<Item = &Resource> {
        self.resources().iter().filter(|r| r.kind == Kind::Device)
    }

    /// The pages `[pa, pa + len)` covers, if `ioremap` may map them: none
    /// is RAM by `is_ram` (the linear map) nor touches a RAM bank or
    /// reserved range of the device tree.
    pub fn io_pages(&self, pa: u64, len: u64, is_ram: impl Fn(u64) -> bool) -> Option<(u64, u64)> {
        let end = pa.checked_add(len)?;
        let (ps, pe) = (pa & !0xfff, end.checked_add(0xfff)? & !0xfff);
        if pe <= ps || is_ram(ps) || is_ram(pe - 1) || self.ram_overlap(ps, pe).is_some() {
            return None;
        }
        Some((ps, pe))
    }

    /// The first RAM range (bank or reserved) that `[s, e)` overlaps.
    pub fn ram_overlap(&self, s: u64, e: u64) -> Option<(u64, u64)> {
        let banks = self
            .resources()
            .iter()
            .filter(|r| r.kind == Kind::Ram)
            .map(|r| (r.start, r.end));
        let reserved = self.reserved[..self.reserved_len].iter().copied();
        banks.chain(reserved).find(|&(a, b)| a < e && s < b)
    }

    /// Add a RAM bank `[start, end)` (call before the devices).
    pub fn add_ram(&mut self, start: u64, end: u64) -> Result<(), LeftOut> {
        if end <= start {
            return Ok(());
        }
        self.insert(Resource::new(start, end, Kind::Ram, b"System RAM"))
    }

    /// RAM that is not a bank of its own (reserved-memory, /memreserve/).
    pub fn add_reserved(&mut self, start: u64, end: u64) {
        if end > start && self.reserved_len < self.reserved.len() {
            self.reserved[self.reserved_len] = (start, end);
            self.reserved_len += 1;
        }
    }

    /// Add device registers `[start, end)` named `name`: refused when its
    /// pages touch RAM, when it partly overlaps another region, or when
    /// the table is full (counted in `left_out`).
    pub fn add_device(&mut self, start: u64, end: u64, name: &[u8]) -> Result<(), LeftOut> {
        let r = Resource::new(start, end, Kind::Device, name);
        let (ps, pe) = r.pages().ok_or(LeftOut::Conflict)?;
        if end <= start {
            return Err(LeftOut::Conflict);
        }
        if let Some(ram) = self.ram_overlap(ps, pe) {
            return Err(LeftOut::OverlapsRam { ram });
        }
        self.insert(r)
    }

    fn insert(&mut self, r: Resource) -> Result<(), LeftOut> {
        let partial = self.resources().iter().any(|o| {
            let overlap = o.start < r.end && r.start < o.end;
            let nested =
                (o.start <= r.start && r.end <= o.end) || (r.start <= o.start && o.end <= r.end);
            overlap && !nested
        });
        if partial {
            return Err(LeftOut::Conflict);
        }
        if self.len == MAX_RESOURCES {
            self.left_out += 1;
            return Err(LeftOut::Full);
        }
        // Sorted by start, the larger first at an equal start (a parent
        // before what it contains); an equal range after the earlier one.
        let at = self.res[..self.len]
            .iter()
            .position(|o| o.start > r.start || (o.start == r.start && o.end < r.end))
            .unwrap_or(self.len);
        self.res.copy_within(at..self.len, at + 1);
        self.res[at] = r;
        self.len += 1;
        Ok(())
    }

    /// Whether `/dev/mem` may map `[offset, offset + len)`: it lies inside
    /// the pages of ONE device region (and, again, touches no RAM).
    pub fn allows(&self, offset: u64, len: u64) -> bool {
        let Some(end) = offset.checked_add(len) else {
            return false;
        };
        self.ram_overlap(offset, end).is_none()
            && self
                .devices()
                .any(|r| r.pages().is_some_and(|(s, e)| s <= offset && end <= e))
    }

    /// The regions as `/proc/iomem` prints them (kernel/resource.c
    /// `r_show`: `%*s%0*llx-%0*llx : %s`, two spaces per nesting level,
    /// end inclusive, at least 8 hex digits; at most 5 levels).
    pub fn write_iomem(&self, out: &mut impl core::fmt::Write) -> core::fmt::Result {
        let mut open: [u64; 5] = [0; 5];
        let mut depth = 0usize;
        for r in self.resources() {
            while depth > 0 && r.start >= open[depth - 1] {
                depth -= 1;
            }
            if depth < open.len() {
                writeln!(
                    out,
                    "{:indent$}{:08x}-{:08x} : {}",
                    "",
                    r.start,
                    r.end - 1,
                    r.name(),
                    indent = depth * 2
                )?;
                open[depth] = r.end;
                depth += 1;
            }
        }
        Ok(())
    }

    /// The `reg` entries of device node `n`, translated to CPU addresses.
    /// Entries that do not translate (i2c/spi addresses, buses without
    /// `ranges`) are not MMIO: not resources, as in Linux.
    fn add_node(&mut self, fdt: &Fdt, n: &Node, note: &mut dyn FnMut(core::fmt::Arguments)) {
        let mut i = 0;
        while let Ok((s, size)) = fdt.translate_reg(n, i) {
            i += 1;
            let Some(size) = size.filter(|&z| z > 0) else {
                continue;
            };
            let Some(e) = s.checked_add(size) else {
                continue;
            };
            match self.add_device(s, e, n.name) {
                Ok(()) | Err(LeftOut::Full) => {}
                Err(LeftOut::OverlapsRam { ram }) => note(format_args!(
                    "devices: {} {s:#010x}..{e:#010x} overlaps RAM {:#010x}..{:#010x}: left out",
                    Name(n.name),
                    ram.0,
                    ram.1
                )),
                Err(LeftOut::Conflict) => note(format_args!(
                    "devices: {} {s:#010x}..{e:#010x} partly overlaps another region: left out",
                    Name(n.name)
                )),
            }
        }
    }

    /// The board file's windows (no device tree): RAM from `ram`, the
    /// devices from `windows` (start, end, name).
    pub fn fill_from_board(&mut self, ram: (u64, u64), windows: &[(u64, u64, &str)]) {
        *self = DeviceTable::new();
        let _ = self.add_ram(ram.0, ram.0.saturating_add(ram.1));
        for &(s, e, name) in windows {
            let _ = self.add_device(s, e, name.as_bytes());
        }
    }

    /// Fill from a device tree: RAM banks (`ram`, base and size, from the
    /// memory nodes), the `/reserved-memory` children's `reg` and the
    /// `/memreserve/` entries as RAM, then every device region. `note`
    /// hears about each region left out.
    pub fn fill_from_fdt(
        &mut self,
        fdt: &Fdt,
        ram: &[(u64, u64)],
        note: &mut dyn FnMut(core::fmt::Arguments),
    ) {
        *self = DeviceTable::new();
        self.from_dtb = true;
        for &(base, size) in ram {
            let _ = self.add_ram(base, base.saturating_add(size));
        }
        for (s, size) in fdt.reservations() {
            self.add_reserved(s, s.saturating_add(size));
        }
        // Pass 1: reserved-memory (all of its regions are RAM, enabled or
        // not: "disabled" only means no driver uses them).
        let mut in_resmem: Option<usize> = None;
        let mut resmem: [Option<Node>; 16] = [None; 16];
        let mut nres = 0;
        let _ = fdt.walk(|n| {
            if in_resmem.is_some_and(|d| n.depth <= d) {
                in_resmem = None;
            }
            if n.depth == 1 && n.name == b"reserved-memory" {
                in_resmem = Some(1);
            } else if in_resmem.is_some() && n.prop("reg").is_some() && nres < resmem.len() {
                resmem[nres] = Some(*n);
                nres += 1;
            }
            true
        });
        for n in resmem[..nres].iter().flatten() {
            let mut i = 0;
            while let Ok((s, size)) = fdt.translate_reg(n, i) {
                self.add_reserved(s, s.saturating_add(size.unwrap_or(0)));
                i += 1;
            }
        }
        // Pass 2: devices. A node is skipped with its subtree when it is
        // disabled or not a device (memory, reserved-memory, cpus,
        // chosen, aliases).
        let mut skip: Option<usize> = None;
        let f = *fdt;
        let _ = f.walk(|n| {
            if skip.is_some_and(|d| n.depth <= d) {
                skip = None;
            }
            if skip.is_some() {
                return true;
            }
            let not_device = n.depth == 1
                && (n.name == b"memory"
                    || n.name.starts_with(b"memory@")
                    || n.prop_str("device_type") == Some("memory")
                    || n.name == b"reserved-memory"
                    || n.name == b"cpus"
                    || n.name == b"chosen"
                    || n.name == b"aliases");
            if not_device || !n.is_enabled() {
                skip = Some(n.depth);
                return true;
            }
            if n.depth > 0 && n.prop("reg").is_some() {
                self.add_node(&f, n, note);
            }
            true
        });
        if self.left_out > 0 {
            note(format_args!(
                "devices: table full ({MAX_RESOURCES} regions): {} more left out",
                self.left_out
            ));
        }
    }
}

/// The kernel's table, filled at boot (`bootinfo::read_dtb`).
pub static DEVICES: spin::Mutex<DeviceTable> = spin::Mutex::new(DeviceTable::new());

#[cfg(test)]
mod tests;
