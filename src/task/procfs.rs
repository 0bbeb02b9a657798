//! Generated `/proc` files beside `<pid>/maps`: `/proc/meminfo`,
//! `/proc/iomem` (the physical address map, `bootinfo::devices`) and
//! `/proc/device-tree` (the boot device tree as Linux's
//! `/sys/firmware/devicetree/base` shows it: one directory per node, one
//! file per property holding its raw bytes). Here `/proc/device-tree` is
//! the directory itself, not a symlink to /sys (there is no sysfs), and
//! directories are not listed (no getdents on /proc).

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
    match dt_lookup(&boot_fdt()?, rest)? {
        DtEntry::Node { id } => Some(dir(0x1_0000_0000 + id as u64)),
        DtEntry::Prop { id, value } => Some(file(0x2_0000_0000 + id as u64, value.len() as u64)),
    }
}

impl ProcFile {
    /// The generated file `path` names, if it is one (ENOENT: under
    /// /proc/device-tree but no such property; EISDIR: a node).
    pub fn open(path: &str) -> Option<Result<ProcFile, Errno>> {
        match path.trim_end_matches('/') {
            "/proc/meminfo" => return Some(Ok(ProcFile::Meminfo)),
            "/proc/iomem" => return Some(Ok(ProcFile::Iomem)),
            _ => {}
        }
        let rest = dt_rest(path)?;
        Some((|| {
            let fdt = boot_fdt().ok_or(Errno::ENOENT)?;
            match dt_lookup(&fdt, rest).ok_or(Errno::ENOENT)? {
                DtEntry::Node { .. } => Err(Errno::EISDIR),
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

    /// The file's contents now.
    pub fn text(&self) -> Result<Vec<u8>, Errno> {
        match self {
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
}
