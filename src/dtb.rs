//! A flattened device tree reader that never panics (devicetree
//! specification v0.4, chapter 5), used in place on the bootloader's blob.
//!
//! The structure block is a token stream: `FDT_BEGIN_NODE` (name, NUL,
//! padding to 4), `FDT_PROP` (len, nameoff, value, padding), `FDT_NOP`,
//! `FDT_END_NODE`, `FDT_END`. Every read is bounds-checked; a malformed
//! blob ends the walk with an error, it never indexes out of range. (The
//! `fdt` crate this replaces panics on a tree without `/chosen` and on
//! malformed tokens, which a bootloader can hand us.)

/// Structure block tokens.
const FDT_BEGIN_NODE: u32 = 1;
const FDT_END_NODE: u32 = 2;
const FDT_PROP: u32 = 3;
const FDT_NOP: u32 = 4;
const FDT_END: u32 = 9;

/// Deepest node nesting followed (real trees are a handful deep).
pub const MAX_DEPTH: usize = 32;

/// The structure block does not follow the format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed {
    /// Offset in the structure block where the walk stopped.
    pub offset: usize,
}

/// The blocks of a blob whose header was checked
/// ([`crate::bootinfo::check_dtb_header`]).
#[derive(Clone, Copy, Debug)]
pub struct Fdt<'a> {
    structs: &'a [u8],
    strings: &'a [u8],
    rsvmap: &'a [u8],
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn be64(b: &[u8], at: usize) -> Option<u64> {
    let hi = be32(b, at)?;
    let lo = be32(b, at.checked_add(4)?)?;
    Some((u64::from(hi) << 32) | u64::from(lo))
}

fn align4(x: usize) -> Option<usize> {
    Some(x.checked_add(3)? & !3)
}

/// The bytes before the first NUL (None without one).
fn cstr(b: &[u8]) -> Option<&[u8]> {
    b.iter().position(|&c| c == 0).map(|n| &b[..n])
}

/// A big-endian cell value of 1 or 2 cells (None for other widths).
pub fn cells_value(b: &[u8]) -> Option<u64> {
    match b.len() {
        4 => be32(b, 0).map(u64::from),
        8 => be64(b, 0),
        _ => None,
    }
}

/// Most cells an address is read with here (128 bits); the specification
/// puts no limit, real trees use 1 to 3 (PCI).
pub const MAX_ADDR_CELLS: u32 = 4;

/// A big-endian value of `cells` 32-bit cells at `at` in `b` (None if it
/// does not fit in `b` or `cells` is above [`MAX_ADDR_CELLS`]).
fn read_cells(b: &[u8], at: usize, cells: u32) -> Option<u128> {
    if cells > MAX_ADDR_CELLS {
        return None;
    }
    let mut v = 0u128;
    for i in 0..cells as usize {
        v = (v << 32) | u128::from(be32(b, at.checked_add(i.checked_mul(4)?)?)?);
    }
    Some(v)
}

/// One node during a walk.
#[derive(Clone, Copy, Debug)]
pub struct Node<'a> {
    /// Name with unit address ("pl011@9000000"); "" for the root.
    pub name: &'a [u8],
    /// 0 for the root.
    pub depth: usize,
    /// `#address-cells` / `#size-cells` of the parent (how `reg` reads).
    pub parent_cells: (u32, u32),
    fdt: Fdt<'a>,
    /// Offset of the first token after the node's name.
    props_at: usize,
}

impl<'a> Node<'a> {
    /// Where the node's properties start in the structure block: its
    /// identity within one tree.
    pub fn props_offset(&self) -> usize {
        self.props_at
    }

    /// The properties of this node (name, value).
    pub fn props(&self) -> Props<'a> {
        Props {
            fdt: self.fdt,
            pos: self.props_at,
        }
    }

    pub fn prop(&self, name: &str) -> Option<&'a [u8]> {
        self.props()
            .find(|&(n, _)| n == name.as_bytes())
            .map(|(_, v)| v)
    }

    /// A string property, without its NUL.
    pub fn prop_str(&self, name: &str) -> Option<&'a str> {
        core::str::from_utf8(cstr(self.prop(name)?)?).ok()
    }

    /// Whether `compatible` lists `c`.
    pub fn is_compatible(&self, c: &str) -> bool {
        self.prop("compatible").is_some_and(|v| {
            v.split(|&b| b == 0)
                .filter(|s| !s.is_empty())
                .any(|s| s == c.as_bytes())
        })
    }

    /// The first (address, size) of `reg`, read with the parent's cells
    /// (size `None` when `#size-cells` is 0). Only 1- or 2-cell values.
    pub fn reg0(&self) -> Option<(u64, Option<u64>)> {
        self.reg(0)
    }

    /// The `i`th (address, size) of `reg` (0-based), read like
    /// [`reg0`](Self::reg0); `None` past the end.
    pub fn reg(&self, i: usize) -> Option<(u64, Option<u64>)> {
        let reg = self.prop("reg")?;
        let (ac, sc) = (self.parent_cells.0 as usize, self.parent_cells.1 as usize);
        let a_len = ac.checked_mul(4)?;
        let s_len = sc.checked_mul(4)?;
        let at = i.checked_mul(a_len.checked_add(s_len)?)?;
        let addr = cells_value(reg.get(at..at.checked_add(a_len)?)?)?;
        let s_at = at.checked_add(a_len)?;
        let size = if sc == 0 {
            None
        } else {
            Some(cells_value(reg.get(s_at..s_at.checked_add(s_len)?)?)?)
        };
        Some((addr, size))
    }

    /// The `i`th 32-bit cell (0-based) of a property.
    pub fn cell(&self, name: &str, i: usize) -> Option<u32> {
        be32(self.prop(name)?, i.checked_mul(4)?)
    }

    /// The strings of `compatible`, most specific first.
    pub fn compatibles(&self) -> impl Iterator<Item = &'a [u8]> {
        self.prop("compatible")
            .unwrap_or(&[])
            .split(|&b| b == 0)
            .filter(|s| !s.is_empty())
    }

    /// Whether the device is usable (devicetree specification v0.4
    /// table 2.4, Linux's `__of_device_is_available`): no `status`, or
    /// `status` "okay" (or the older "ok"). "disabled", "reserved", "fail"
    /// and any malformed value are not.
    pub fn is_enabled(&self) -> bool {
        match self.prop("status") {
            None => true,
            Some(v) => matches!(cstr(v), Some(b"okay") | Some(b"ok")),
        }
    }

    /// `#address-cells` and `#size-cells` this node gives its children
    /// (2 and 1 when absent, as the specification says).
    pub fn child_cells(&self) -> (u32, u32) {
        let get = |n| self.prop(n).and_then(cells_value).map(|v| v as u32);
        (
            get("#address-cells").unwrap_or(2),
            get("#size-cells").unwrap_or(1),
        )
    }
}

/// Whether node name `name` ("serial@7e201000") answers path component
/// `comp`: the same bytes, or `comp` without a unit address equal to the
/// name's part before '@' (libfdt's `fdt_nodename_eq_`, which U-Boot
/// uses to resolve paths).
fn name_matches(name: &[u8], comp: &[u8]) -> bool {
    name == comp
        || (!comp.contains(&b'@')
            && name.len() > comp.len()
            && name.starts_with(comp)
            && name[comp.len()] == b'@')
}

/// Iterator over a node's properties; stops at the first token that is
/// not a property or NOP, or at malformed data.
#[derive(Clone, Debug)]
pub struct Props<'a> {
    fdt: Fdt<'a>,
    pos: usize,
}

impl<'a> Iterator for Props<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let tok = be32(self.fdt.structs, self.pos)?;
            match tok {
                FDT_NOP => self.pos = self.pos.checked_add(4)?,
                FDT_PROP => {
                    let (name, value, next) = self.fdt.prop_at(self.pos)?;
                    self.pos = next;
                    return Some((name, value));
                }
                _ => return None,
            }
        }
    }
}

impl<'a> Fdt<'a> {
    /// The blocks of `blob`, whose header [`check_dtb_header`]
    /// (crate::bootinfo::check_dtb_header) accepted.
    pub fn new(blob: &'a [u8]) -> Option<Self> {
        let off_struct = be32(blob, 8)? as usize;
        let off_strings = be32(blob, 12)? as usize;
        let off_rsv = be32(blob, 16)? as usize;
        let size_strings = be32(blob, 32)? as usize;
        let size_struct = be32(blob, 36)? as usize;
        Some(Fdt {
            structs: blob.get(off_struct..off_struct.checked_add(size_struct)?)?,
            strings: blob.get(off_strings..off_strings.checked_add(size_strings)?)?,
            rsvmap: blob.get(off_rsv..)?,
        })
    }

    /// The property at `pos` (an FDT_PROP token): name, value, next offset.
    fn prop_at(&self, pos: usize) -> Option<(&'a [u8], &'a [u8], usize)> {
        let len = be32(self.structs, pos.checked_add(4)?)? as usize;
        let nameoff = be32(self.structs, pos.checked_add(8)?)? as usize;
        let start = pos.checked_add(12)?;
        let end = start.checked_add(len)?;
        let value = self.structs.get(start..end)?;
        let name = cstr(self.strings.get(nameoff..)?)?;
        Some((name, value, align4(end)?))
    }

    /// Visit every node, depth first, in blob order. `f` returns `false`
    /// to stop early. Errors: the walk met malformed data (nodes visited
    /// before it were seen).
    pub fn walk(&self, mut f: impl FnMut(&Node<'a>) -> bool) -> Result<(), Malformed> {
        let s = self.structs;
        let mut pos = 0usize;
        // Cells each open node gives its children.
        let mut cells = [(2u32, 1u32); MAX_DEPTH + 1];
        let mut depth = 0usize; // open nodes
        let bad = |offset| Err(Malformed { offset });
        loop {
            let Some(tok) = be32(s, pos) else {
                return bad(pos);
            };
            match tok {
                FDT_BEGIN_NODE => {
                    let name_at = pos + 4;
                    let Some(name) = s.get(name_at..).and_then(cstr) else {
                        return bad(pos);
                    };
                    let Some(props_at) = align4(name_at + name.len() + 1) else {
                        return bad(pos);
                    };
                    if depth > MAX_DEPTH || props_at > s.len() {
                        return bad(pos);
                    }
                    let parent_cells = if depth == 0 { (2, 1) } else { cells[depth - 1] };
                    let node = Node {
                        name,
                        depth,
                        parent_cells,
                        fdt: *self,
                        props_at,
                    };
                    cells[depth] = node.child_cells();
                    depth += 1;
                    if !f(&node) {
                        return Ok(());
                    }
                    pos = props_at;
                }
                FDT_PROP => match self.prop_at(pos) {
                    Some((_, _, next)) if depth > 0 => pos = next,
                    _ => return bad(pos),
                },
                FDT_NOP => pos += 4,
                FDT_END_NODE => {
                    if depth == 0 {
                        return bad(pos);
                    }
                    depth -= 1;
                    pos += 4;
                }
                FDT_END if depth == 0 => return Ok(()),
                _ => return bad(pos),
            }
        }
    }

    /// The node at an absolute path ("/chosen", "/pl011@9000000"); `None`
    /// if there is none or the tree is malformed before it.
    pub fn find_path(&self, path: &str) -> Option<Node<'a>> {
        let want = path.as_bytes();
        if want.first() != Some(&b'/') {
            return None;
        }
        // Compare component by component while walking.
        let mut names: [&[u8]; MAX_DEPTH + 1] = [b""; MAX_DEPTH + 1];
        let mut found = None;
        let _ = self.walk(|n| {
            names[n.depth] = n.name;
            let mut comps = want.split(|&c| c == b'/').filter(|c| !c.is_empty());
            let matches = names[1..=n.depth]
                .iter()
                .all(|&x| comps.next().is_some_and(|c| name_matches(x, c)))
                && comps.next().is_none();
            if matches {
                found = Some(*n);
            }
            found.is_none()
        });
        found
    }

    /// The first node for which `f` holds.
    pub fn find(&self, mut f: impl FnMut(&Node<'a>) -> bool) -> Option<Node<'a>> {
        let mut found = None;
        let _ = self.walk(|n| {
            if f(n) {
                found = Some(*n);
            }
            found.is_none()
        });
        found
    }

    /// The memory reservation block: (address, size) until the (0, 0)
    /// terminator (or the end of the blob).
    pub fn reservations(&self) -> impl Iterator<Item = (u64, u64)> + 'a {
        let rsv = self.rsvmap;
        (0..)
            .map(move |i: usize| {
                let at = i.checked_mul(16)?;
                Some((be64(rsv, at)?, be64(rsv, at.checked_add(8)?)?))
            })
            .take_while(|e| matches!(e, Some(e) if *e != (0, 0)))
            .flatten()
    }
}

/// A node and its ancestors, root first (from [`Fdt::lineage`]).
#[derive(Clone, Copy, Debug)]
pub struct Lineage<'a> {
    nodes: [Option<Node<'a>>; MAX_DEPTH + 1],
    len: usize,
}

impl<'a> Lineage<'a> {
    /// The node at `depth` (0: the root) on the way to the node.
    pub fn at(&self, depth: usize) -> Option<Node<'a>> {
        if depth < self.len {
            self.nodes[depth]
        } else {
            None
        }
    }

    /// Number of nodes, root and the node included.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The node's full path ("/soc/serial@7e201000"; "/" for the root).
impl core::fmt::Display for Lineage<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.len <= 1 {
            return f.write_str("/");
        }
        for n in self.nodes[1..self.len].iter().flatten() {
            write!(f, "/{}", Name(n.name))?;
        }
        Ok(())
    }
}

/// A node name for messages (bytes that are not UTF-8 shown as '?').
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Name<'a>(pub &'a [u8]);

impl core::fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for chunk in self.0.utf8_chunks() {
            f.write_str(chunk.valid())?;
            if !chunk.invalid().is_empty() {
                f.write_str("?")?;
            }
        }
        Ok(())
    }
}

/// Why a `reg` entry has no CPU physical address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TranslateError<'a> {
    /// The node is not in the tree (or the tree is malformed before it).
    NotFound,
    /// No `reg` entry with that index (or `reg` is shorter than one entry).
    NoReg,
    /// `#address-cells` (0 or above [`MAX_ADDR_CELLS`]) or `#size-cells`
    /// (above 2) that this reader cannot use, given by `node`.
    Cells {
        node: &'a [u8],
        address: u32,
        size: u32,
    },
    /// A parent bus without `ranges`: its children's addresses are not
    /// CPU addresses (devicetree specification v0.4 §2.3.8).
    NoRanges { bus: &'a [u8] },
    /// `ranges` whose length is not a whole number of entries.
    BadRanges { bus: &'a [u8] },
    /// No entry of the bus's `ranges` covers the address.
    Unmapped { bus: &'a [u8], addr: u128 },
    /// The translated address does not fit in 64 bits.
    TooLarge,
}

impl core::fmt::Display for TranslateError<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            TranslateError::NotFound => f.write_str("node not found in the tree"),
            TranslateError::NoReg => f.write_str("no such reg entry"),
            TranslateError::Cells {
                node,
                address,
                size,
            } => write!(
                f,
                "{} gives #address-cells {address}, #size-cells {size}: not supported",
                Name(node)
            ),
            TranslateError::NoRanges { bus } => write!(
                f,
                "parent bus {} has no ranges: its addresses are not translatable",
                Name(bus)
            ),
            TranslateError::BadRanges { bus } => {
                write!(
                    f,
                    "ranges of {} is not a whole number of entries",
                    Name(bus)
                )
            }
            TranslateError::Unmapped { bus, addr } => {
                write!(f, "no entry of {}'s ranges covers {addr:#x}", Name(bus))
            }
            TranslateError::TooLarge => f.write_str("the address does not fit in 64 bits"),
        }
    }
}

/// `#address-cells`/`#size-cells` of `n`'s children, if this reader
/// handles them (address 1..=4 cells, size 0..=2 cells).
fn usable_cells<'a>(n: &Node<'a>) -> Result<(u32, u32), TranslateError<'a>> {
    let (a, s) = n.child_cells();
    if a == 0 || a > MAX_ADDR_CELLS || s > 2 {
        return Err(TranslateError::Cells {
            node: n.name,
            address: a,
            size: s,
        });
    }
    Ok((a, s))
}

impl<'a> Fdt<'a> {
    /// `node` and its ancestors (None if the walk does not reach it).
    pub fn lineage(&self, node: &Node<'a>) -> Option<Lineage<'a>> {
        let mut l = Lineage {
            nodes: [None; MAX_DEPTH + 1],
            len: 0,
        };
        let mut found = false;
        let _ = self.walk(|n| {
            if n.depth <= MAX_DEPTH {
                l.nodes[n.depth] = Some(*n);
                if n.props_at == node.props_at {
                    l.len = n.depth + 1;
                    found = true;
                }
            }
            !found
        });
        found.then_some(l)
    }

    /// The value of alias `name` in `/aliases` (a full path).
    pub fn alias(&self, name: &str) -> Option<&'a str> {
        self.find_path("/aliases")?.prop_str(name)
    }

    /// The `i`th `reg` entry of `node` as a CPU physical address and size:
    /// the bus address is carried up through every parent's `ranges`
    /// (devicetree specification v0.4 §2.3.8; Linux's `of_translate_address`
    /// for the default bus). Each `ranges` entry is (child-bus-address:
    /// the bus's `#address-cells`, parent-bus-address: its parent's
    /// `#address-cells`, length: the bus's `#size-cells`); the address is
    /// moved by the first entry whose [child, child + length) holds it. An
    /// empty `ranges` is the identity; a missing one means the addresses
    /// are not translatable (refused, as Linux does). The size is the
    /// entry's own (None with `#size-cells` 0).
    pub fn translate_reg(
        &self,
        node: &Node<'a>,
        i: usize,
    ) -> Result<(u64, Option<u64>), TranslateError<'a>> {
        let l = self.lineage(node).ok_or(TranslateError::NotFound)?;
        let depth = l.len().checked_sub(1).ok_or(TranslateError::NotFound)?;
        let parent = l.at(depth.wrapping_sub(1)).ok_or(TranslateError::NoReg)?;
        // How `reg` reads: the parent's cells.
        let (ac, sc) = usable_cells(&parent)?;
        let reg = node.prop("reg").ok_or(TranslateError::NoReg)?;
        let entry = ((ac + sc) * 4) as usize;
        let at = i.checked_mul(entry).ok_or(TranslateError::NoReg)?;
        let mut addr = read_cells(reg, at, ac).ok_or(TranslateError::NoReg)?;
        let size = if sc == 0 {
            None
        } else {
            let v = read_cells(reg, at + ac as usize * 4, sc).ok_or(TranslateError::NoReg)?;
            Some(v as u64) // sc <= 2: fits
        };
        // Up through each bus below the root: the node's parent first.
        for d in (1..depth).rev() {
            let bus = l.at(d).ok_or(TranslateError::NotFound)?;
            let grand = l.at(d - 1).ok_or(TranslateError::NotFound)?;
            let (cac, csc) = usable_cells(&bus)?;
            let (pac, _) = usable_cells(&grand)?;
            let ranges = bus
                .prop("ranges")
                .ok_or(TranslateError::NoRanges { bus: bus.name })?;
            if ranges.is_empty() {
                continue;
            }
            let step = ((cac + pac + csc) * 4) as usize;
            if ranges.len() % step != 0 {
                return Err(TranslateError::BadRanges { bus: bus.name });
            }
            let hit = ranges.chunks_exact(step).find_map(|e| {
                let child = read_cells(e, 0, cac)?;
                let par = read_cells(e, (cac * 4) as usize, pac)?;
                let len = read_cells(e, ((cac + pac) * 4) as usize, csc)?;
                let off = addr.checked_sub(child)?;
                (off < len).then(|| par.checked_add(off))
            });
            addr = match hit {
                Some(Some(a)) => a,
                Some(None) => return Err(TranslateError::TooLarge),
                None => {
                    return Err(TranslateError::Unmapped {
                        bus: bus.name,
                        addr,
                    })
                }
            };
        }
        let addr = u64::try_from(addr).map_err(|_| TranslateError::TooLarge)?;
        Ok((addr, size))
    }
}

/// A flattened device tree writer for tests (devicetree specification
/// v0.4 chapter 5: header, empty reservation block, structure and strings
/// blocks), so tests can state a tree and the expected answers directly.
#[cfg(test)]
pub mod build {
    use std::vec::Vec;

    #[derive(Default)]
    pub struct Tree {
        structs: Vec<u8>,
        strings: Vec<u8>,
    }

    /// Big-endian 32-bit cells.
    pub fn cells(v: &[u32]) -> Vec<u8> {
        v.iter().flat_map(|c| c.to_be_bytes()).collect()
    }

    /// A NUL-terminated string value.
    pub fn str0(s: &str) -> Vec<u8> {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        v
    }

    impl Tree {
        fn word(&mut self, w: u32) {
            self.structs.extend_from_slice(&w.to_be_bytes());
        }
        fn pad(&mut self) {
            while self.structs.len() % 4 != 0 {
                self.structs.push(0);
            }
        }
        pub fn begin(&mut self, name: &str) -> &mut Self {
            self.word(1);
            self.structs.extend_from_slice(name.as_bytes());
            self.structs.push(0);
            self.pad();
            self
        }
        pub fn prop(&mut self, name: &str, value: &[u8]) -> &mut Self {
            let off = match self
                .strings
                .windows(name.len() + 1)
                .position(|w| &w[..name.len()] == name.as_bytes() && w[name.len()] == 0)
            {
                Some(o) => o,
                None => {
                    let o = self.strings.len();
                    self.strings.extend_from_slice(name.as_bytes());
                    self.strings.push(0);
                    o
                }
            };
            self.word(3);
            self.word(value.len() as u32);
            self.word(off as u32);
            self.structs.extend_from_slice(value);
            self.pad();
            self
        }
        pub fn cells(&mut self, name: &str, v: &[u32]) -> &mut Self {
            self.prop(name, &cells(v))
        }
        pub fn str(&mut self, name: &str, v: &str) -> &mut Self {
            self.prop(name, &str0(v))
        }
        pub fn end(&mut self) -> &mut Self {
            self.word(2);
            self
        }
        pub fn finish(&mut self) -> Vec<u8> {
            self.word(9);
            let rsv = 40;
            let off_struct = rsv + 16;
            let off_strings = off_struct + self.structs.len();
            let total = off_strings + self.strings.len();
            let mut b = Vec::new();
            for w in [
                0xd00d_feed,
                total as u32,
                off_struct as u32,
                off_strings as u32,
                rsv as u32,
                17,
                16,
                0,
                self.strings.len() as u32,
                self.structs.len() as u32,
            ] {
                b.extend_from_slice(&u32::to_be_bytes(w));
            }
            b.extend_from_slice(&[0; 16]);
            b.extend_from_slice(&self.structs);
            b.extend_from_slice(&self.strings);
            b
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VIRT_DTB: &[u8] = include_bytes!("../tests/data/qemu-virt-a15.dtb");

    use super::build::Tree;

    fn node<'a>(f: &Fdt<'a>, path: &str) -> Node<'a> {
        f.find_path(path).unwrap_or_else(|| panic!("{path}"))
    }

    /// The devicetree specification's §2.3.8 example, nested: a child bus
    /// with 2 address cells mapped into a 1-cell parent, inside a bus that
    /// maps 0x0 of its children to 0x8000_0000 of the root.
    #[test]
    fn reg_goes_through_every_parent_ranges() {
        let mut t = Tree::default();
        t.begin("")
            .cells("#address-cells", &[1])
            .cells("#size-cells", &[1]);
        t.begin("outer@80000000")
            .cells("#address-cells", &[1])
            .cells("#size-cells", &[1])
            // child 0x0 -> parent 0x8000_0000, 256 MiB
            .cells("ranges", &[0x0, 0x8000_0000, 0x1000_0000]);
        t.begin("inner@1,0")
            .cells("#address-cells", &[2])
            .cells("#size-cells", &[1])
            // (cs 0, 0) -> 0x0010_0000, 1 MiB; (cs 1, 0) -> 0x0200_0000, 1 MiB
            .cells(
                "ranges",
                &[0, 0, 0x0010_0000, 0x10_0000, 1, 0, 0x0200_0000, 0x10_0000],
            );
        t.begin("uart@1,3000")
            .cells("reg", &[1, 0x3000, 0x100])
            .end();
        t.begin("uart@0,4000")
            .cells("reg", &[0, 0x4000, 0x100])
            .end();
        t.begin("far@2,0").cells("reg", &[2, 0, 0x100]).end();
        t.end(); // inner
        t.end(); // outer
        t.begin("flat")
            .cells("#address-cells", &[1])
            .cells("#size-cells", &[1])
            .prop("ranges", &[]);
        t.begin("dev@1234").cells("reg", &[0x1234, 4]).end();
        t.end();
        t.begin("island")
            .cells("#address-cells", &[1])
            .cells("#size-cells", &[1]);
        t.begin("dev@10").cells("reg", &[0x10, 4]).end();
        t.end();
        t.end(); // root
        let blob = t.finish();
        let f = Fdt::new(&blob).unwrap();
        let tr = |p: &str| f.translate_reg(&node(&f, p), 0);
        // 1:0x3000 -> 0x0200_3000 -> + 0x8000_0000.
        assert_eq!(
            tr("/outer@80000000/inner@1,0/uart@1,3000"),
            Ok((0x8200_3000, Some(0x100)))
        );
        assert_eq!(
            tr("/outer@80000000/inner@1,0/uart@0,4000"),
            Ok((0x8010_4000, Some(0x100)))
        );
        // Chip select 2 is in no range of inner.
        assert_eq!(
            tr("/outer@80000000/inner@1,0/far@2,0"),
            Err(TranslateError::Unmapped {
                bus: b"inner@1,0",
                addr: 2 << 32
            })
        );
        // An empty ranges is the identity.
        assert_eq!(tr("/flat/dev@1234"), Ok((0x1234, Some(4))));
        // No ranges: not translatable.
        assert_eq!(
            tr("/island/dev@10"),
            Err(TranslateError::NoRanges { bus: b"island" })
        );
        // A reg index past the end.
        assert_eq!(
            f.translate_reg(&node(&f, "/flat/dev@1234"), 1),
            Err(TranslateError::NoReg)
        );
        // Root children are not translated.
        assert_eq!(
            f.translate_reg(&node(&f, "/outer@80000000"), 0),
            Err(TranslateError::NoReg)
        );
        let l = f
            .lineage(&node(&f, "/outer@80000000/inner@1,0/uart@1,3000"))
            .unwrap();
        assert_eq!(std::format!("{l}"), "/outer@80000000/inner@1,0/uart@1,3000");
        assert_eq!(l.len(), 4);
    }

    /// 64-bit cells on both sides: a bus whose window lies above 4 GiB.
    #[test]
    fn sixty_four_bit_cells() {
        let mut t = Tree::default();
        t.begin("")
            .cells("#address-cells", &[2])
            .cells("#size-cells", &[2]);
        t.begin("soc")
            .cells("#address-cells", &[2])
            .cells("#size-cells", &[2])
            // child 0x1_0000_0000 -> parent 0x8_4000_0000, 4 GiB
            .cells("ranges", &[1, 0, 8, 0x4000_0000, 1, 0]);
        t.begin("dev")
            .cells("reg", &[1, 0x20_0000, 0, 0x1000])
            .end();
        t.end().end();
        let blob = t.finish();
        let f = Fdt::new(&blob).unwrap();
        assert_eq!(
            f.translate_reg(&node(&f, "/soc/dev"), 0),
            Ok((0x8_4020_0000, Some(0x1000)))
        );
    }

    #[test]
    fn malformed_ranges_and_cells_are_errors() {
        let mut t = Tree::default();
        t.begin("")
            .cells("#address-cells", &[1])
            .cells("#size-cells", &[1]);
        // ranges of 5 cells where an entry is 3.
        t.begin("short")
            .cells("#address-cells", &[1])
            .cells("#size-cells", &[1])
            .cells("ranges", &[0, 0, 0x1000, 0, 0]);
        t.begin("dev").cells("reg", &[0x10, 4]).end();
        t.end();
        t.begin("wide")
            .cells("#address-cells", &[5])
            .cells("#size-cells", &[1]);
        t.begin("dev").cells("reg", &[0, 0, 0, 0, 0x10, 4]).end();
        t.end();
        // A reg shorter than one entry.
        t.begin("stub").cells("reg", &[0x10]).end();
        t.end();
        let blob = t.finish();
        let f = Fdt::new(&blob).unwrap();
        assert_eq!(
            f.translate_reg(&node(&f, "/short/dev"), 0),
            Err(TranslateError::BadRanges { bus: b"short" })
        );
        assert_eq!(
            f.translate_reg(&node(&f, "/wide/dev"), 0),
            Err(TranslateError::Cells {
                node: b"wide",
                address: 5,
                size: 1
            })
        );
        assert_eq!(
            f.translate_reg(&node(&f, "/stub"), 0),
            Err(TranslateError::NoReg)
        );
        // Messages name the bus.
        let e = f.translate_reg(&node(&f, "/short/dev"), 0).unwrap_err();
        assert!(std::format!("{e}").contains("short"));
    }

    #[test]
    fn status_and_unit_address_free_paths() {
        let mut t = Tree::default();
        t.begin("");
        t.begin("a@1").str("status", "okay").end();
        t.begin("b@2").str("status", "disabled").end();
        t.begin("c@3").str("status", "ok").end();
        t.begin("d@4").prop("status", b"okay").end(); // no NUL: malformed
        t.begin("e@5").end();
        t.end();
        let blob = t.finish();
        let f = Fdt::new(&blob).unwrap();
        assert!(node(&f, "/a@1").is_enabled());
        assert!(!node(&f, "/b@2").is_enabled());
        assert!(node(&f, "/c@3").is_enabled());
        assert!(!node(&f, "/d@4").is_enabled());
        assert!(node(&f, "/e@5").is_enabled());
        // libfdt: a component without '@' matches the name before '@'.
        assert_eq!(node(&f, "/b").name, b"b@2");
        assert!(f.find_path("/b@3").is_none());
        assert!(f.find_path("/b@").is_none());
    }

    const DEBIAN: &[(&str, &[u8])] = &[
        (
            "rpi2",
            include_bytes!("../tests/data/dtb/bcm2836-rpi-2-b.dtb"),
        ),
        (
            "rpi3",
            include_bytes!("../tests/data/dtb/bcm2837-rpi-3-b.dtb"),
        ),
        (
            "h3",
            include_bytes!("../tests/data/dtb/sun8i-h3-orangepi-pc.dtb"),
        ),
        (
            "sabrelite",
            include_bytes!("../tests/data/dtb/imx6q-sabrelite.dtb"),
        ),
        (
            "vexpress-a9",
            include_bytes!("../tests/data/dtb/vexpress-v2p-ca9.dtb"),
        ),
        (
            "vexpress-a15",
            include_bytes!("../tests/data/dtb/vexpress-v2p-ca15-tc1.dtb"),
        ),
    ];

    /// Addresses Linux 6.1 printed for these nodes on the same DTBs
    /// (`../shared/BOARD-FACTS.md`: "3f201000.serial", "3f215040.serial",
    /// "1c28000.serial", "21e8000.serial", "10009000.uart",
    /// "1c090000.serial"; the Pi's bus address 0x7e201000 through /soc
    /// ranges 0x7e000000 -> 0x3f000000).
    #[test]
    fn debian_dtbs_translate_like_linux() {
        let want: &[(&str, &str, u64)] = &[
            ("rpi2", "/soc/serial@7e201000", 0x3f20_1000),
            ("rpi3", "/soc/serial@7e215040", 0x3f21_5040),
            ("h3", "/soc/serial@1c28000", 0x01c2_8000),
            ("sabrelite", "/soc/bus@2100000/serial@21e8000", 0x021e_8000),
            (
                "vexpress-a9",
                "/bus@40000000/motherboard-bus@40000000/iofpga@7,00000000/uart@9000",
                0x1000_9000,
            ),
            (
                "vexpress-a15",
                "/bus@8000000/motherboard-bus@8000000/iofpga-bus@300000000/serial@90000",
                0x1c09_0000,
            ),
        ];
        for &(board, path, pa) in want {
            let blob = DEBIAN.iter().find(|d| d.0 == board).unwrap().1;
            let f = Fdt::new(blob).unwrap();
            let n = node(&f, path);
            assert_eq!(
                f.translate_reg(&n, 0).map(|r| r.0),
                Ok(pa),
                "{board} {path}"
            );
        }
    }

    /// Raspberry Pi 4 B (BCM2711; no QEMU model, so no Linux log to
    /// compare with): the addresses the BCM2711 ARM Peripherals datasheet
    /// gives in its default low-peripheral mode (main peripherals at bus
    /// 0x7e000000 = CPU 0xfe000000, the ARM local peripherals at
    /// 0xff800000, the GIC-400 at 0xff840000 with the distributor 0x1000
    /// and the CPU interface 0x2000 above it; EMMC2 at 0xfe340000,
    /// GENET at 0xfd580000, PCIe at 0xfd500000). The tree reaches them
    /// through three different buses: /soc (1 address cell, into the
    /// root's 2), /emmc2bus and /scb (2 cells each); `dma-ranges` (the
    /// other direction: device -> CPU) play no part.
    #[test]
    fn raspi4_buses_translate_like_the_bcm2711_datasheet() {
        let blob = include_bytes!("../tests/data/dtb/bcm2711-rpi-4-b.dtb");
        let f = Fdt::new(blob).unwrap();
        let want: &[(&str, usize, u64, u64)] = &[
            ("/soc/serial@7e201000", 0, 0xfe20_1000, 0x200),
            ("/soc/serial@7e215040", 0, 0xfe21_5040, 0x40),
            ("/soc/gpio@7e200000", 0, 0xfe20_0000, 0xb4),
            ("/soc/local_intc@40000000", 0, 0xff80_0000, 0x100),
            ("/soc/interrupt-controller@40041000", 0, 0xff84_1000, 0x1000),
            ("/soc/interrupt-controller@40041000", 1, 0xff84_2000, 0x2000),
            ("/emmc2bus/mmc@7e340000", 0, 0xfe34_0000, 0x100),
            ("/scb/ethernet@7d580000", 0, 0xfd58_0000, 0x1_0000),
            ("/scb/pcie@7d500000", 0, 0xfd50_0000, 0x9310),
        ];
        for &(path, i, pa, size) in want {
            assert_eq!(
                f.translate_reg(&node(&f, path), i),
                Ok((pa, Some(size))),
                "{path} reg {i}"
            );
        }
        // The PCIe bridge's child (3 PCI address cells) is no MMIO
        // region: PCI configuration address 0 lies in none of the
        // bridge's ranges (its window is the 0x02000000 memory space).
        assert!(matches!(
            f.translate_reg(&node(&f, "/scb/pcie@7d500000/pci@0,0"), 0),
            Err(TranslateError::Unmapped {
                bus: b"pcie@7d500000",
                ..
            })
        ));
        // The GENET's MDIO bus: a register offset inside the GENET's
        // block, and the MAC has no ranges: not a CPU address.
        assert_eq!(
            f.translate_reg(&node(&f, "/scb/ethernet@7d580000/mdio@e14"), 0),
            Err(TranslateError::NoRanges {
                bus: b"ethernet@7d580000"
            })
        );
    }

    #[test]
    fn walks_qemu_virt() {
        let f = Fdt::new(VIRT_DTB).unwrap();
        let mut nodes = 0;
        f.walk(|_| {
            nodes += 1;
            true
        })
        .unwrap();
        assert!(nodes > 10);
        let root = f.find(|n| n.depth == 0).unwrap();
        assert_eq!(root.prop_str("model"), Some("linux,dummy-virt"));
        assert_eq!(root.prop("#address-cells").and_then(cells_value), Some(2));
        let chosen = f.find_path("/chosen").unwrap();
        assert!(chosen
            .prop_str("bootargs")
            .unwrap()
            .contains("armmu.test=x"));
        let uart = f.find(|n| n.is_compatible("arm,pl011")).unwrap();
        assert_eq!(uart.reg0(), Some((0x0900_0000, Some(0x1000))));
        let stdout = chosen.prop_str("stdout-path").unwrap();
        assert_eq!(f.find_path(stdout).unwrap().name, uart.name);
        assert!(f.find_path("/nope").is_none());
        assert!(f.find_path("chosen").is_none());
    }

    #[test]
    fn reg_entries_and_cells() {
        let f = Fdt::new(VIRT_DTB).unwrap();
        // QEMU virt (hw/arm/virt.c memmap): GICv2 distributor at
        // 0x0800_0000 and CPU interface at 0x0801_0000, 64 KiB each.
        let gic = f.find(|n| n.is_compatible("arm,cortex-a15-gic")).unwrap();
        assert_eq!(gic.reg(0), Some((0x0800_0000, Some(0x1_0000))));
        assert_eq!(gic.reg(1), Some((0x0801_0000, Some(0x1_0000))));
        assert_eq!(gic.reg(2), None);
        assert_eq!(gic.reg(usize::MAX), None);
        assert_eq!(gic.cell("#interrupt-cells", 0), Some(3));
        assert_eq!(gic.cell("#interrupt-cells", 1), None);
        assert_eq!(gic.cell("#interrupt-cells", usize::MAX), None);
        assert_eq!(gic.cell("nope", 0), None);
        // A reg with 0 size cells: addresses only.
        let cpu = f.find(|n| n.name.starts_with(b"cpu@")).unwrap();
        assert_eq!(cpu.reg(0), Some((0, None)));
    }

    #[test]
    fn malformed_tokens_are_errors() {
        // A structure block that is just FDT_END_NODE, then an unknown token.
        let mut blob = VIRT_DTB.to_vec();
        let off_struct = be32(&blob, 8).unwrap() as usize;
        blob[off_struct..off_struct + 4].copy_from_slice(&FDT_END_NODE.to_be_bytes());
        let f = Fdt::new(&blob).unwrap();
        assert_eq!(f.walk(|_| true), Err(Malformed { offset: 0 }));
        blob[off_struct..off_struct + 4].copy_from_slice(&7u32.to_be_bytes());
        let f = Fdt::new(&blob).unwrap();
        assert!(f.walk(|_| true).is_err());
        assert!(f.find_path("/chosen").is_none());
    }

    /// The `fdt` crate (0.1.5, which this kernel used before) panics
    /// where a device tree merely lacks `/chosen` (its `Fdt::chosen`
    /// expects the node); U-Boot and the devicetree spec allow such a tree.
    /// Our reader answers `None`, and the boot facts still come from the
    /// tree: RAM, UART and model, just no command line or initrd.
    #[test]
    fn fdt_crate_panics_where_ours_reports() {
        let mut blob = VIRT_DTB.to_vec();
        // Rename the node "chosen" to "chosex": same length, still a valid
        // tree, just without /chosen.
        let at = blob
            .windows(7)
            .position(|w| w == b"chosen\0")
            .expect("a chosen node");
        blob[at + 5] = b'x';
        let theirs = fdt::Fdt::new(&blob).expect("fdt accepts the header");
        let panicked = std::panic::catch_unwind(|| {
            let _ = theirs.chosen();
        })
        .is_err();
        assert!(panicked, "fdt 0.1.5 panics on a tree without /chosen");
        let ours = Fdt::new(&blob).unwrap();
        assert!(ours.find_path("/chosen").is_none());
        let info = crate::bootinfo::BootInfo::from_dtb(&blob);
        assert!(info.from_dtb, "the tree is still used");
        assert_eq!(info.cmdline(), "");
        assert_eq!(info.initrd, None);
    }
}
