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

    /// `#address-cells` and `#size-cells` this node gives its children
    /// (2 and 1 when absent, as the specification says).
    fn child_cells(&self) -> (u32, u32) {
        let get = |n| self.prop(n).and_then(cells_value).map(|v| v as u32);
        (
            get("#address-cells").unwrap_or(2),
            get("#size-cells").unwrap_or(1),
        )
    }
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
            let matches = names[1..=n.depth].iter().all(|&x| comps.next() == Some(x))
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

#[cfg(test)]
mod tests {
    use super::*;

    const VIRT_DTB: &[u8] = include_bytes!("../tests/data/qemu-virt-a15.dtb");

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
