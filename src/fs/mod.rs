//! Files: the in-memory root file system ([`tmpfs`]), file data through
//! the page cache ([`data`]), and the root's set-up at boot from the
//! initramfs, as Linux unpacks it into its rootfs ([`unpack`]).
//!
//! One instance, [`ROOT`], behind a lock; the syscalls (`task::files`,
//! `task::paths`) walk it. Character devices are nodes whose `(major,
//! minor)` names a driver; `/proc` is a mount point answered by procfs.

pub mod data;
pub mod tmpfs;

use crate::errno::Errno;
use crate::loader::cpio;
use crate::mm::shm;
use tmpfs::{Ino, Mount, New, Tmpfs, ROOT as ROOT_INO};

/// The root file system (None before boot unpacked it).
pub static ROOT: spin::Mutex<Option<Tmpfs>> = spin::Mutex::new(None);

/// The root's device number: Linux's rootfs is the first anonymous
/// device after the internal mounts, `0:2` (`/proc/self/maps` shows
/// `00:02` for its files on the Debian kernels used as reference).
pub const ROOT_DEV: (u32, u32) = (0, 2);

/// The kernel's own device nodes, made in `/dev` when the archive has
/// none by that name (devtmpfs): name, (major, minor), permissions
/// (drivers/char/mem.c and tty: mem 1:1, null 1:3, zero 1:5, tty 5:0,
/// console 5:1, ttyAMA0 204:64).
pub const DEVICES: [DevNode; 6] = [
    ("mem", (1, 1), 0o640),
    ("null", (1, 3), 0o666),
    ("zero", (1, 5), 0o666),
    ("tty", (5, 0), 0o666),
    ("console", (5, 1), 0o600),
    ("ttyAMA0", (204, 64), 0o620),
];

/// Why unpacking the initramfs failed (the cpio reader's words), for
/// the report of the `execve` of init that then fails.
pub static UNPACK_ERROR: spin::Once<alloc::string::String> = spin::Once::new();

/// A device node to make: name under /dev, (major, minor), permissions.
type DevNode = (&'static str, (u32, u32), u32);

/// Run `f` on the root file system (`ENOENT` before there is one).
pub fn with<R>(f: impl FnOnce(&mut Tmpfs) -> R) -> Result<R, Errno> {
    let mut g = ROOT.lock();
    Ok(f(g.as_mut().ok_or(Errno::ENOENT)?))
}

/// Frames in the page cache of the files the root holds (inodes alive:
/// named or open). A file's data is kept, not leaked, when a program
/// exits; an object no inode holds is not counted here.
pub fn cache_frames() -> usize {
    with(|fs| {
        (1..=fs.slots() as Ino)
            .filter_map(|i| match fs.get(i).map(|n| &n.node) {
                Some(tmpfs::Node::Reg { obj }) => Some(shm::cached_pages(*obj)),
                _ => None,
            })
            .sum()
    })
    .unwrap_or(0)
}

/// Give up the inode's user of a page cache object (an inode died).
pub fn release(obj: shm::ShmId, pool: &mut dyn data::Pool) {
    shm::remove_user(obj, &mut |pa| pool.release(pa));
}

/// `mkdir -p` of the directories of `path` (relative to the root), as
/// unpacking does for members whose parents the archive lacks.
fn make_parents(fs: &mut Tmpfs, path: &[u8], now: tmpfs::Time) -> Result<Ino, Errno> {
    let mut dir = ROOT_INO;
    for comp in path.split(|&c| c == b'/').filter(|c| !c.is_empty()) {
        dir = match fs.lookup(dir, comp) {
            Ok(d) => d,
            Err(Errno::ENOENT) => fs.create(dir, comp, 0o755, New::Dir, (0, 0), now)?,
            Err(e) => return Err(e),
        };
    }
    Ok(dir)
}

/// Unpack a newc archive into `fs` as Linux's `init/initramfs.c` does:
/// members in order, a later member replacing an earlier one of the same
/// name (a directory keeps its contents and takes the new mode), parents
/// made as needed; regular files keep their bytes in the archive as the
/// source of their page cache (read in on first use). Then `/dev` gets
/// the kernel's device nodes the archive lacks, and `/proc` becomes
/// procfs's mount point. `ENOMEM` (or the archive's error) on failure.
pub fn unpack(
    fs: &mut Tmpfs,
    archive: &cpio::Archive<'static>,
    pool: &mut dyn data::Pool,
    now: tmpfs::Time,
) -> Result<usize, Errno> {
    let mut count = 0;
    for e in archive.entries() {
        let e = e.map_err(|err| {
            UNPACK_ERROR.call_once(|| alloc::format!("{err}"));
            Errno::EIO
        })?;
        let name = strip(e.name);
        if name.is_empty() {
            // "." : the root's own metadata.
            if let Some(r) = fs.get_mut(ROOT_INO) {
                r.mode = tmpfs::S_IFDIR | (e.mode & 0o7777);
            }
            continue;
        }
        let (dir_part, last, _) = tmpfs::split_last(name);
        let dir = make_parents(fs, dir_part, now)?;
        let ftype = e.mode & tmpfs::S_IFMT;
        if let Ok(old) = fs.lookup(dir, last) {
            let keep_dir = ftype == tmpfs::S_IFDIR && fs.get(old).is_some_and(|i| i.is_dir());
            if keep_dir {
                if let Some(i) = fs.get_mut(old) {
                    i.mode = e.mode;
                    i.uid = e.uid;
                    i.gid = e.gid;
                    i.mtime = (e.mtime as i64, 0);
                }
                continue;
            }
            let dir_wanted = fs.get(old).is_some_and(|i| i.is_dir());
            if let Some(obj) = fs.remove(dir, last, dir_wanted, now)? {
                release(obj, pool);
            }
        }
        let what = match ftype {
            tmpfs::S_IFDIR => New::Dir,
            tmpfs::S_IFREG => New::Reg(shm::create_file(e.data)?),
            tmpfs::S_IFLNK => {
                let mut t = alloc::vec::Vec::new();
                t.try_reserve_exact(e.data.len())
                    .map_err(|_| Errno::ENOMEM)?;
                t.extend_from_slice(e.data);
                New::Symlink(t)
            }
            tmpfs::S_IFCHR => New::Chr((e.rdevmajor, e.rdevminor)),
            tmpfs::S_IFIFO => New::Fifo,
            // Block devices and sockets: nothing here can open them.
            _ => continue,
        };
        let obj = match what {
            New::Reg(o) => Some(o),
            _ => None,
        };
        let mtime = (e.mtime as i64, 0);
        let ino = match fs.create(dir, last, e.mode, what, (e.uid, e.gid), mtime) {
            Ok(i) => i,
            Err(err) => {
                if let Some(o) = obj {
                    release(o, pool);
                }
                return Err(err);
            }
        };
        if let Some(i) = fs.get_mut(ino) {
            i.atime = mtime;
            i.ctime = mtime;
        }
        count += 1;
    }
    let dev = make_parents(fs, b"dev", now)?;
    for (name, rdev, perm) in DEVICES {
        if fs.lookup(dev, name.as_bytes()).is_err() {
            fs.create(dev, name.as_bytes(), perm, New::Chr(rdev), (0, 0), now)?;
        }
    }
    // The drivers' nodes (devtmpfs makes a node for each registered
    // device).
    let mut drivers: [Option<DevNode>; crate::drivers::chardev::MAX_NODES] =
        [None; crate::drivers::chardev::MAX_NODES];
    let mut n = 0;
    crate::drivers::chardev::for_each(|node| {
        if n < drivers.len() {
            drivers[n] = Some((node.name, node.rdev, node.mode));
            n += 1;
        }
    });
    for (name, rdev, perm) in drivers.iter().flatten() {
        if fs.lookup(dev, name.as_bytes()).is_err() {
            fs.create(
                dev,
                name.as_bytes(),
                *perm & 0o7777,
                New::Chr(*rdev),
                (0, 0),
                now,
            )?;
        }
    }
    let proc = make_parents(fs, b"proc", now)?;
    fs.set_mount(proc, Mount::Proc)?;
    Ok(count)
}

/// The executable at the absolute `path`, as `execve` opens it: symlinks
/// followed, a regular file with an execute bit (Linux: `EACCES` for a
/// directory, a device or a file without any execute bit, even for
/// root). Returns the file's page cache object with one more user, the
/// caller's (Linux's open `struct file` of the binary): the file's data
/// stays while the caller reads its headers, whatever happens to the
/// name; the caller gives it back with [`shm::remove_user`] (or hands it
/// on to the address space that maps the file).
///
/// Any regular file can be executed: one as unpacked, one written or
/// created since boot (the segments are mapped from the page cache, see
/// `AddressSpace::map_elf_segment`).
pub fn exec_file(path: &str) -> Result<shm::ShmId, Errno> {
    with(|fs| {
        let ino = fs.walk(ROOT_INO, path.as_bytes(), true)?;
        let n = fs.get(ino).ok_or(Errno::ENOENT)?;
        let tmpfs::Node::Reg { obj } = n.node else {
            return Err(Errno::EACCES);
        };
        if n.mode & 0o111 == 0 {
            return Err(Errno::EACCES);
        }
        shm::add_user(obj).map_err(|_| Errno::ENOMEM)?;
        Ok(obj)
    })?
}

/// A member name without "./" or "/" in front ("." itself is "").
fn strip(mut name: &[u8]) -> &[u8] {
    loop {
        if let Some(r) = name.strip_prefix(b"./") {
            name = r;
        } else if let Some(r) = name.strip_prefix(b"/") {
            name = r;
        } else if name == b"." {
            return b"";
        } else {
            return name;
        }
    }
}

/// The target's page cache frames: the frame allocator and the linear map.
#[cfg(target_os = "none")]
pub struct KernelPool;

#[cfg(target_os = "none")]
impl data::Pool for KernelPool {
    fn alloc_zeroed(&mut self) -> Result<u64, Errno> {
        use crate::arch::current::mmu::Mem;
        use crate::mm::kmem::KernelMemory;
        let pa = Mem::with_frames(|f| f.alloc()).map_err(|_| Errno::ENOMEM)?;
        self.bytes(pa).fill(0);
        Ok(pa)
    }
    fn release(&mut self, pa: u64) {
        use crate::arch::current::mmu::Mem;
        use crate::mm::kmem::KernelMemory;
        crate::mm::must(Mem::with_frames(|f| f.free(pa)), "page cache: free");
    }
    fn bytes(&mut self, pa: u64) -> &mut [u8] {
        use crate::arch::current::mmu::Mem;
        use crate::mm::kmem::KernelMemory;
        // SAFETY: `pa` is a RAM frame the page cache holds a reference to
        // (the linear map covers all managed RAM read-write); the kernel
        // runs on one CPU with the file system's lock held, so no other
        // kernel path uses this slice meanwhile (user mappings of the
        // frame are not Rust references).
        unsafe { core::slice::from_raw_parts_mut(Mem::phys_to_virt(pa) as *mut u8, 4096) }
    }
}

#[cfg(test)]
mod tests;
