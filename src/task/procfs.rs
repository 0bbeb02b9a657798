//! Generated `/proc` files beside `<pid>/maps`: `/proc/meminfo`,
//! `/proc/iomem` (the physical address map, `bootinfo::devices`) and
//! `/proc/device-tree` (the boot device tree as Linux's
//! `/sys/firmware/devicetree/base` shows it: one directory per node, one
//! file per property holding its raw bytes). Here `/proc/device-tree` is
//! the directory itself, not a symlink to /sys (there is no sysfs). Its
//! directories open with `O_RDONLY|O_DIRECTORY` and list through
//! getdents64 ([`dt_dir_entries`]): `.`, `..`, the properties (`DT_REG`)
//! and the child nodes (`DT_DIR`). Linux (kernfs) lists them in its own
//! hash order and adds a `name` property to every node; here they come
//! in tree order and only the blob's properties exist.

use super::stat::{self, Meta, S_IFDIR, S_IFREG};
use crate::dtb::Fdt;
use crate::errno::Errno;
use alloc::string::String;
use alloc::vec::Vec;

/// A generated file, by what it shows.
pub enum ProcFile {
    Meminfo,
    Iomem,
    /// Property `prop` of the node at `node` (an absolute tree path).
    DtProp {
        node: String,
        prop: String,
    },
    /// The directory of the node at `node` (an absolute tree path).
    DtDir {
        node: String,
    },
}

/// Inode numbers: a node's is this plus its offset in the blob, a
/// property's [`DT_PROP_INO`] plus (node offset * 64 + its index).
pub const DT_NODE_INO: u64 = 0x1_0000_0000;
pub const DT_PROP_INO: u64 = 0x2_0000_0000;
/// `/proc`'s own inode (the parent of `/proc/device-tree`).
pub const PROC_INO: u64 = 1;
/// `DT_DIR` and `DT_REG` (dirent.h).
pub const DT_DIR: u8 = 4;
pub const DT_REG: u8 = 8;

/// One entry of a `/proc/device-tree` directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DtDirEnt<'a> {
    pub name: &'a [u8],
    pub ino: u64,
    pub dtype: u8,
}

/// The listing of the node directory `rest` ("" for the root): `.`,
/// `..`, its properties in blob order, then its child nodes in blob
/// order. None: no such node (or a property: not a directory), or the
/// tree is malformed before the listing is complete.
pub fn dt_dir_entries<'a>(fdt: &Fdt<'a>, rest: &str) -> Option<Vec<DtDirEnt<'a>>> {
    let Some(DtEntry::Node { id }) = dt_lookup(fdt, rest) else {
        return None;
    };
    let mut last = [0usize; crate::dtb::MAX_DEPTH + 1];
    let mut found: Option<(usize, u64)> = None; // (depth, parent ino)
    let mut out = Vec::new();
    let mut failed = false;
    let mut push = |out: &mut Vec<DtDirEnt<'a>>, e| {
        if out.try_reserve(1).is_err() {
            failed = true;
            return false;
        }
        out.push(e);
        true
    };
    let walked = fdt.walk(|n| {
        if n.depth > crate::dtb::MAX_DEPTH {
            return false;
        }
        last[n.depth] = n.props_offset();
        match found {
            None if n.props_offset() == id => {
                let parent = match n.depth {
                    0 => PROC_INO,
                    d => DT_NODE_INO + last[d - 1] as u64,
                };
                found = Some((n.depth, parent));
                let own = DT_NODE_INO + id as u64;
                if !push(
                    &mut out,
                    DtDirEnt {
                        name: b".",
                        ino: own,
                        dtype: DT_DIR,
                    },
                ) || !push(
                    &mut out,
                    DtDirEnt {
                        name: b"..",
                        ino: parent,
                        dtype: DT_DIR,
                    },
                ) {
                    return false;
                }
                for (i, (name, _)) in n.props().enumerate() {
                    let ino = DT_PROP_INO + (id as u64) * 64 + i as u64;
                    if !push(
                        &mut out,
                        DtDirEnt {
                            name,
                            ino,
                            dtype: DT_REG,
                        },
                    ) {
                        return false;
                    }
                }
                true
            }
            None => true,
            // Past the node's subtree: done.
            Some((d, _)) if n.depth <= d => false,
            Some((d, _)) if n.depth == d + 1 => push(
                &mut out,
                DtDirEnt {
                    name: n.name,
                    ino: DT_NODE_INO + n.props_offset() as u64,
                    dtype: DT_DIR,
                },
            ),
            Some(_) => true,
        }
    });
    (walked.is_ok() && !failed && found.is_some()).then_some(out)
}

/// What a `/proc/device-tree` path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DtEntry<'a> {
    /// A node (a directory); its identity in the tree.
    Node { id: usize },
    /// A property of a node: its value.
    Prop { id: usize, value: &'a [u8] },
}

/// `rest` ("soc/serial@7e201000/compatible", "" for the root) in `fdt`.
/// Node names must match exactly (with the unit address), as directory
/// names do in Linux.
pub fn dt_lookup<'a>(fdt: &Fdt<'a>, rest: &str) -> Option<DtEntry<'a>> {
    let rest = rest.trim_matches('/');
    let node_at = |path: &str| {
        let want: Vec<&[u8]> = path
            .split('/')
            .filter(|c| !c.is_empty())
            .map(str::as_bytes)
            .collect();
        let mut names: [&[u8]; crate::dtb::MAX_DEPTH + 1] = [b""; crate::dtb::MAX_DEPTH + 1];
        fdt.find(|n| {
            if n.depth > crate::dtb::MAX_DEPTH {
                return false;
            }
            names[n.depth] = n.name;
            n.depth == want.len() && names[1..=n.depth].iter().zip(&want).all(|(a, b)| a == b)
        })
    };
    if let Some(n) = node_at(rest) {
        return Some(DtEntry::Node {
            id: n.props_offset(),
        });
    }
    let (parent, prop) = rest.rsplit_once('/').unwrap_or(("", rest));
    let n = node_at(parent)?;
    n.props()
        .enumerate()
        .find(|(_, (name, _))| *name == prop.as_bytes())
        .map(|(i, (_, value))| DtEntry::Prop {
            id: n.props_offset() * 64 + i,
            value,
        })
}

/// The boot device tree (read through the linear map; it stays reserved).
fn boot_fdt() -> Option<Fdt<'static>> {
    #[cfg(target_os = "none")]
    {
        let info = crate::kernel::try_info()?;
        let pa = info.dtb_pa?;
        let blob = crate::arch::current::api::initrd_slice(pa, pa + info.dtb_size as u64)?;
        Fdt::new(blob)
    }
    #[cfg(not(target_os = "none"))]
    None
}

/// The `/proc/device-tree` part of `path` ("" for the directory itself).
fn dt_rest(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/proc/device-tree")?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// What a device-tree path with `.` and `..` resolved names.
#[derive(Debug, PartialEq, Eq)]
pub enum DtPath {
    /// A tree path ("" the root, "soc/serial@7e201000", ...).
    In(String),
    /// `..` climbed out of the root: `/proc` itself.
    Proc,
    /// `.` or `..` after a property (ENOTDIR in Linux), or no memory.
    Bad,
}

/// `rest` with `.` and `..` resolved as a directory walk does: each
/// must follow a node.
pub fn dt_resolve(fdt: &Fdt<'_>, rest: &str) -> DtPath {
    if !rest.split('/').any(|c| c == "." || c == "..") {
        let mut s = String::new();
        if s.try_reserve_exact(rest.len()).is_err() {
            return DtPath::Bad;
        }
        s.push_str(rest);
        return DtPath::In(s);
    }
    let mut s = String::new();
    if s.try_reserve_exact(rest.len()).is_err() {
        return DtPath::Bad;
    }
    for c in rest.split('/').filter(|c| !c.is_empty()) {
        if c == "." || c == ".." {
            if !matches!(dt_lookup(fdt, &s), Some(DtEntry::Node { .. })) {
                return DtPath::Bad;
            }
            if c == ".." {
                if s.is_empty() {
                    return DtPath::Proc;
                }
                let cut = s.rfind('/').unwrap_or(0);
                s.truncate(cut);
            }
            continue;
        }
        s.push('/');
        s.push_str(c);
    }
    DtPath::In(s)
}

/// stat of a `/proc/meminfo`, `/proc/iomem` or `/proc/device-tree` path
/// (None: not one of them, or nothing there).
pub fn meta(path: &str) -> Option<Meta> {
    let file = |ino: u64, size: u64| {
        let mut m = Meta::simple(stat::PROC_DEV, ino, S_IFREG | 0o444, (0, 0), 1);
        m.size = size;
        m
    };
    match path.trim_end_matches('/') {
        "/proc/meminfo" => return Some(file(3, 0)),
        "/proc/iomem" => return Some(file(4, 0)),
        _ => {}
    }
    let rest = dt_rest(path)?;
    let dir = |ino: u64| Meta::simple(stat::PROC_DEV, ino, S_IFDIR | 0o555, (0, 0), 2);
    let fdt = boot_fdt()?;
    let rest = match dt_resolve(&fdt, rest) {
        DtPath::In(r) => r,
        DtPath::Proc => return Some(dir(PROC_INO)),
        DtPath::Bad => return None,
    };
    match dt_lookup(&fdt, &rest)? {
        DtEntry::Node { id } => Some(dir(DT_NODE_INO + id as u64)),
        DtEntry::Prop { id, value } => Some(file(DT_PROP_INO + id as u64, value.len() as u64)),
    }
}

impl ProcFile {
    /// The generated file `path` names, if it is one (ENOENT: under
    /// /proc/device-tree but nothing there; a node opens as a directory).
    pub fn open(path: &str) -> Option<Result<ProcFile, Errno>> {
        match path.trim_end_matches('/') {
            "/proc/meminfo" => return Some(Ok(ProcFile::Meminfo)),
            "/proc/iomem" => return Some(Ok(ProcFile::Iomem)),
            _ => {}
        }
        let rest = dt_rest(path)?;
        Some((|| {
            let fdt = boot_fdt().ok_or(Errno::ENOENT)?;
            let rest = match dt_resolve(&fdt, rest) {
                DtPath::In(r) => r,
                DtPath::Proc => return Err(Errno::ENOENT),
                DtPath::Bad => return Err(Errno::ENOTDIR),
            };
            let rest = rest.as_str();
            match dt_lookup(&fdt, rest).ok_or(Errno::ENOENT)? {
                DtEntry::Node { .. } => {
                    let rest = rest.trim_matches('/');
                    let mut n = String::new();
                    n.try_reserve_exact(rest.len() + 1)
                        .map_err(|_| Errno::ENOMEM)?;
                    n.push('/');
                    n.push_str(rest);
                    Ok(ProcFile::DtDir { node: n })
                }
                DtEntry::Prop { .. } => {
                    let rest = rest.trim_matches('/');
                    let (node, prop) = rest.rsplit_once('/').unwrap_or(("", rest));
                    let mut n = String::new();
                    n.try_reserve_exact(node.len() + 1)
                        .map_err(|_| Errno::ENOMEM)?;
                    n.push('/');
                    n.push_str(node);
                    let mut p = String::new();
                    p.try_reserve_exact(prop.len()).map_err(|_| Errno::ENOMEM)?;
                    p.push_str(prop);
                    Ok(ProcFile::DtProp { node: n, prop: p })
                }
            }
        })())
    }

    /// Whether this is a directory (a device-tree node).
    pub fn is_dir(&self) -> bool {
        matches!(self, ProcFile::DtDir { .. })
    }

    /// Its path under /proc (for stat), "/proc/device-tree/..." for
    /// device-tree entries.
    pub fn path(&self) -> Result<String, Errno> {
        let (a, b, c) = match self {
            ProcFile::Meminfo => ("/proc/meminfo", "", ""),
            ProcFile::Iomem => ("/proc/iomem", "", ""),
            ProcFile::DtProp { node, prop } => (node.as_str(), "/", prop.as_str()),
            ProcFile::DtDir { node } => (node.as_str(), "", ""),
        };
        let dt = matches!(self, ProcFile::DtProp { .. } | ProcFile::DtDir { .. });
        let head = if dt { "/proc/device-tree" } else { "" };
        let mut p = String::new();
        p.try_reserve_exact(head.len() + a.len() + b.len() + c.len())
            .map_err(|_| Errno::ENOMEM)?;
        p.push_str(head);
        p.push_str(a);
        p.push_str(b);
        p.push_str(c);
        Ok(p)
    }

    /// The listing of a device-tree directory (ENOTDIR: not one;
    /// ENOENT: the tree is gone or malformed).
    pub fn dir_entries(&self) -> Result<Vec<DtDirEnt<'static>>, Errno> {
        let ProcFile::DtDir { node } = self else {
            return Err(Errno::ENOTDIR);
        };
        let fdt = boot_fdt().ok_or(Errno::ENOENT)?;
        dt_dir_entries(&fdt, node).ok_or(Errno::ENOENT)
    }

    /// The file's contents now.
    pub fn text(&self) -> Result<Vec<u8>, Errno> {
        match self {
            ProcFile::DtDir { .. } => Err(Errno::EISDIR),
            ProcFile::Meminfo => super::files::meminfo_text(),
            ProcFile::Iomem => {
                let mut out = super::files::Bounded(Vec::new());
                crate::bootinfo::devices::DEVICES
                    .lock()
                    .write_iomem(&mut out)
                    .map_err(|_| Errno::ENOMEM)?;
                Ok(out.0)
            }
            ProcFile::DtProp { node, prop } => {
                let fdt = boot_fdt().ok_or(Errno::ENOENT)?;
                let mut path = String::new();
                path.try_reserve_exact(node.len() + prop.len() + 1)
                    .map_err(|_| Errno::ENOMEM)?;
                path.push_str(node);
                path.push('/');
                path.push_str(prop);
                match dt_lookup(&fdt, &path) {
                    Some(DtEntry::Prop { value, .. }) => {
                        let mut v = Vec::new();
                        v.try_reserve_exact(value.len())
                            .map_err(|_| Errno::ENOMEM)?;
                        v.extend_from_slice(value);
                        Ok(v)
                    }
                    _ => Err(Errno::ENOENT),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dtb(name: &str) -> Vec<u8> {
        let path = std::format!("{}/tests/data/dtb/{name}.dtb", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap()
    }

    /// Values as `dtc` prints them from the Debian DTBs.
    #[test]
    fn device_tree_files_hold_raw_property_bytes() {
        let blob = dtb("bcm2837-rpi-3-b");
        let f = Fdt::new(&blob).unwrap();
        let v = |p| match dt_lookup(&f, p) {
            Some(DtEntry::Prop { value, .. }) => value.to_vec(),
            e => panic!("{p}: {e:?}"),
        };
        assert_eq!(v("/chosen/stdout-path"), b"serial1:115200n8\0");
        assert_eq!(v("aliases/serial1"), b"/soc/serial@7e215040\0");
        assert_eq!(
            v("/soc/serial@7e215040/compatible"),
            b"brcm,bcm2835-aux-uart\0"
        );
        assert_eq!(
            v("/soc/serial@7e215040/reg"),
            [0x7e, 0x21, 0x50, 0x40, 0, 0, 0, 0x40]
        );
        assert!(matches!(dt_lookup(&f, ""), Some(DtEntry::Node { .. })));
        assert!(matches!(dt_lookup(&f, "/soc/"), Some(DtEntry::Node { .. })));
        // Exact names only (directories carry the unit address).
        assert_eq!(dt_lookup(&f, "/soc/serial/compatible"), None);
        assert_eq!(dt_lookup(&f, "/soc/serial@7e215040/nothing"), None);
        assert_eq!(dt_lookup(&f, "/nothing/compatible"), None);
    }

    /// The listings as `fdtget -p` (properties) and `fdtget -l` (child
    /// nodes) print them for Debian's DTB (device-tree-compiler 1.6),
    /// with `.` and `..` first, as Linux's
    /// `/sys/firmware/devicetree/base` directories list (less the `name`
    /// property Linux adds to every node).
    #[test]
    fn device_tree_directories_list_properties_and_nodes() {
        let blob = dtb("bcm2837-rpi-3-b");
        let f = Fdt::new(&blob).unwrap();
        let names = |p: &str, dtype: u8| -> Vec<std::string::String> {
            dt_dir_entries(&f, p)
                .unwrap()
                .iter()
                .skip(2)
                .filter(|e| e.dtype == dtype)
                .map(|e| std::string::String::from_utf8(e.name.to_vec()).unwrap())
                .collect()
        };
        assert_eq!(
            names("", DT_REG),
            [
                "compatible",
                "model",
                "#address-cells",
                "#size-cells",
                "interrupt-parent"
            ]
        );
        assert_eq!(
            names("/", DT_DIR),
            [
                "aliases",
                "chosen",
                "reserved-memory",
                "thermal-zones",
                "soc",
                "clocks",
                "phy",
                "arm-pmu",
                "timer",
                "cpus",
                "leds",
                "wifi-pwrseq",
                "memory@0"
            ]
        );
        assert_eq!(names("/chosen", DT_REG), ["stdout-path"]);
        assert!(names("/chosen", DT_DIR).is_empty());
        assert_eq!(
            names("soc/serial@7e215040/", DT_REG),
            [
                "compatible",
                "reg",
                "interrupts",
                "clocks",
                "status",
                "pinctrl-names",
                "pinctrl-0"
            ]
        );
        // ".", "..": the node's own inode and its parent's, as stat gives
        // them; the root's parent is /proc.
        let ino = |p: &str| match dt_lookup(&f, p) {
            Some(DtEntry::Node { id }) => DT_NODE_INO + id as u64,
            e => panic!("{p}: {e:?}"),
        };
        let root = dt_dir_entries(&f, "").unwrap();
        assert_eq!(
            (root[0].name, root[0].ino, root[0].dtype),
            (&b"."[..], ino(""), DT_DIR)
        );
        assert_eq!((root[1].name, root[1].ino), (&b".."[..], PROC_INO));
        let chosen = dt_dir_entries(&f, "/chosen").unwrap();
        assert_eq!((chosen[0].ino, chosen[1].ino), (ino("/chosen"), ino("")));
        let uart = dt_dir_entries(&f, "/soc/serial@7e215040").unwrap();
        assert_eq!(uart[1].ino, ino("/soc"));
        // A child's inode in the listing is the one its path stats to.
        let soc = root.iter().find(|e| e.name == b"soc").unwrap();
        assert_eq!(soc.ino, ino("/soc"));
        let model = root.iter().find(|e| e.name == b"model").unwrap();
        match dt_lookup(&f, "/model") {
            Some(DtEntry::Prop { id, .. }) => assert_eq!(model.ino, DT_PROP_INO + id as u64),
            e => panic!("{e:?}"),
        }
        // Not directories: a property, nothing.
        assert_eq!(dt_dir_entries(&f, "/chosen/stdout-path"), None);
        assert_eq!(dt_dir_entries(&f, "/nothing"), None);
    }

    /// Every node of every committed DTB lists, each child once, and a
    /// truncated blob gives None or a listing, never a panic.
    #[test]
    fn every_node_lists_and_truncation_is_refused() {
        for name in [
            "bcm2836-rpi-2-b",
            "bcm2837-rpi-3-b",
            "imx6q-sabrelite",
            "sun8i-h3-orangepi-pc",
            "vexpress-v2p-ca9",
        ] {
            let blob = dtb(name);
            let f = Fdt::new(&blob).unwrap();
            let mut count = 0;
            let mut stack = std::vec![std::string::String::new()];
            while let Some(p) = stack.pop() {
                let l = dt_dir_entries(&f, &p).unwrap_or_else(|| panic!("{name} {p}"));
                count += 1;
                for e in l.iter().skip(2).filter(|e| e.dtype == DT_DIR) {
                    stack.push(std::format!("{p}/{}", std::str::from_utf8(e.name).unwrap()));
                }
            }
            let mut nodes = 0;
            f.walk(|_| {
                nodes += 1;
                true
            })
            .unwrap();
            assert_eq!(count, nodes, "{name}");
            for cut in (0..blob.len()).step_by(97) {
                if let Some(t) = Fdt::new(&blob[..cut]) {
                    let _ = dt_dir_entries(&t, "/soc");
                }
            }
        }
    }

    /// `.` and `..` resolve as a walk of the directories does.
    #[test]
    fn dot_and_dotdot_resolve() {
        let blob = dtb("bcm2837-rpi-3-b");
        let f = Fdt::new(&blob).unwrap();
        let r = |p: &str| dt_resolve(&f, p);
        assert_eq!(r("/chosen/."), DtPath::In("/chosen".into()));
        assert_eq!(r("/chosen/.."), DtPath::In("".into()));
        assert_eq!(
            r("/soc/serial@7e215040/../../chosen/stdout-path"),
            DtPath::In("/chosen/stdout-path".into())
        );
        assert_eq!(r("/.."), DtPath::Proc);
        assert_eq!(r("/chosen/../.."), DtPath::Proc);
        assert_eq!(r("/chosen/stdout-path/.."), DtPath::Bad);
        assert_eq!(r("/nothing/.."), DtPath::Bad);
        assert_eq!(r("/chosen"), DtPath::In("/chosen".into()));
    }
}
