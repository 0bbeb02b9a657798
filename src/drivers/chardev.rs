//! Character devices: one small trait a driver implements, and the
//! registry the VFS looks device files up in.
//!
//! This is the kernel's `struct file_operations` for device nodes, cut
//! down to what a board's drivers need: `open`, `read`, `write`, `ioctl`
//! and `mmap`. A driver is a `&'static dyn CharDev` (drivers are never
//! unloaded), registered once at boot under a name in `/dev` with its
//! device number and mode ([`register`]); the VFS finds it by path
//! ([`find`]) and calls it with the open file's state.
//!
//! Design choices, and why:
//!
//! * **Per-open state is one word** ([`PrivateData`], Linux's
//!   `file->private_data`). The VFS keeps it in the open file description
//!   (shared by `dup` and `fork`, like the file position) and passes it to
//!   every call. A word is enough for the drivers here (a mode chosen by
//!   `ioctl`) and needs no allocation or destructor; a driver that needs
//!   more can index its own table with it.
//! * **`ioctl` reaches user memory through [`UserCopy`]**, a trait object
//!   the VFS implements over the calling task's `copy_in`/`copy_out`
//!   (Linux's `copy_from_user`/`copy_to_user`). The driver never sees a
//!   raw user pointer it could dereference, and host tests pass a fake.
//! * **`mmap` does not map anything itself**: it validates the request
//!   and returns one physically contiguous range and its memory type
//!   ([`DevMap`]); the kernel then maps every page at once, as Linux's
//!   `remap_pfn_range` does, into a `VmaKind::Device` VMA (never
//!   faulted, never copied on write, never swapped). The generic file
//!   checks of `do_mmap` (access mode, `MAP_GROWSDOWN`) and this
//!   kernel's policies (device memory never executable) run before the
//!   driver is asked, in `syscall::mm_args`.

use crate::errno::Errno;
use crate::mm::memtype::MemoryType;
use crate::syscall::mm_args::Prot;

/// A driver's per-open-file word (Linux's `file->private_data`): zero at
/// `open`, kept by the VFS in the open file description, passed to
/// every call on that file.
pub type PrivateData = spin::Mutex<u64>;

/// How a driver's `ioctl` moves bytes from and to the caller's memory
/// (Linux's `copy_from_user`/`copy_to_user`): `EFAULT` unless the whole
/// range could be copied.
pub trait UserCopy {
    /// Fill `dst` from user address `va`.
    fn copy_from_user(&mut self, va: usize, dst: &mut [u8]) -> Result<(), Errno>;
    /// Write `src` to user address `va`.
    fn copy_to_user(&mut self, va: usize, src: &[u8]) -> Result<(), Errno>;
}

/// A validated `mmap` request, as a driver sees it (Linux's `vma` fields
/// a `f_op->mmap` looks at).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MmapArgs {
    /// The byte offset (`vm_pgoff << PAGE_SHIFT`), page-aligned.
    pub offset: u64,
    /// Length in bytes, whole pages, never 0.
    pub len: usize,
    /// `MAP_SHARED` (`VM_SHARED`).
    pub shared: bool,
    pub prot: Prot,
    /// The flags the file was opened with (`O_ACCMODE`, `O_SYNC`, ...).
    pub open_flags: u32,
}

/// What a driver's `mmap` grants: `len` bytes of physical memory from
/// `phys`, mapped with `mem` (Linux: the pfn and the `vm_page_prot`
/// handed to `remap_pfn_range`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DevMap {
    pub phys: u64,
    pub mem: MemoryType,
    /// Whether `mprotect` may later make the mapping writable (Linux's
    /// `VM_MAYWRITE`).
    pub may_write: bool,
}

/// The memory types every process maps now over a driver's exclusive
/// range ([`CharDev::exclusive_range`]), collected by the kernel before
/// the driver's `mmap` is called, so a driver can refuse a mapping whose
/// attributes would mismatch one that exists (ARM ARM "Mismatched memory
/// attributes"). A small set: more than [`MappedTypes::CAP`] distinct
/// types count as "full", which conflicts with everything.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MappedTypes {
    types: [Option<MemoryType>; MappedTypes::CAP],
    overflow: bool,
}

impl MappedTypes {
    pub const CAP: usize = 4;
    pub const NONE: MappedTypes = MappedTypes {
        types: [None; MappedTypes::CAP],
        overflow: false,
    };

    /// Note that a mapping with `mem` exists.
    pub fn add(&mut self, mem: MemoryType) {
        if self.types.contains(&Some(mem)) {
            return;
        }
        match self.types.iter_mut().find(|t| t.is_none()) {
            Some(slot) => *slot = Some(mem),
            None => self.overflow = true,
        }
    }

    pub fn is_empty(&self) -> bool {
        !self.overflow && self.types.iter().all(Option::is_none)
    }

    /// Whether every mapping that exists has type `mem` (true when none
    /// exists).
    pub fn all_are(&self, mem: MemoryType) -> bool {
        !self.overflow && self.types.iter().flatten().all(|&t| t == mem)
    }

    /// The distinct types noted.
    pub fn iter(&self) -> impl Iterator<Item = MemoryType> + '_ {
        self.types.iter().flatten().copied()
    }
}

/// A character device driver (Linux's `struct file_operations` for a
/// device node). Every method has a default with Linux's answer for a
/// driver that lacks the operation, so a driver implements only what it
/// has. `private` is the open file's [`PrivateData`] word.
pub trait CharDev: Sync {
    /// `open(2)` with these flags: a driver may refuse (e.g. `EBUSY`) or
    /// set up its word. Default: accept.
    fn open(&self, _flags: u32, _private: &PrivateData) -> Result<(), Errno> {
        Ok(())
    }

    /// `read(2)` at byte position `pos` into `buf`: the bytes read (0 at
    /// the end). Default `EINVAL`, as Linux for a file without `read`.
    fn read(&self, _pos: u64, _buf: &mut [u8], _private: &PrivateData) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }

    /// `write(2)` at `pos`: the bytes taken. Default `EINVAL`.
    fn write(&self, _pos: u64, _buf: &[u8], _private: &PrivateData) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }

    /// `ioctl(2)`: `cmd` and its argument; `user` reaches the caller's
    /// memory when `arg` is a pointer. Default `ENOTTY` ("inappropriate
    /// ioctl for device", Linux's answer without `unlocked_ioctl`).
    fn ioctl(
        &self,
        _cmd: u32,
        _arg: usize,
        _user: &mut dyn UserCopy,
        _private: &PrivateData,
    ) -> Result<usize, Errno> {
        Err(Errno::ENOTTY)
    }

    /// `mmap(2)`: validate and say what to map. `mapped` is what every
    /// process maps now over [`CharDev::exclusive_range`] (empty when the
    /// driver has none). Default `ENODEV` (no `f_op->mmap`).
    fn mmap(
        &self,
        _args: &MmapArgs,
        _private: &PrivateData,
        _mapped: &MappedTypes,
    ) -> Result<DevMap, Errno> {
        Err(Errno::ENODEV)
    }

    /// A physical range whose user mappings must all have one memory
    /// type: the kernel collects what is mapped over it for `mmap`.
    /// Default: none.
    fn exclusive_range(&self) -> Option<(u64, u64)> {
        None
    }

    /// Whether physical address `phys` is memory this driver hands out
    /// through `mmap` (so `/proc/<pid>/maps` can name the device file).
    /// Default: no.
    fn owns_phys(&self, _phys: u64) -> bool {
        false
    }
}

/// One registered device node.
#[derive(Clone, Copy)]
pub struct Node {
    /// Path under `/dev` without the prefix, e.g. `"dmabuf0"`.
    pub name: &'static str,
    /// (major, minor), as `st_rdev` shows it.
    pub rdev: (u32, u32),
    /// Permission bits (`S_IFCHR` is implied).
    pub mode: u32,
    pub dev: &'static dyn CharDev,
}

impl core::fmt::Debug for Node {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Node")
            .field("name", &self.name)
            .field("rdev", &self.rdev)
            .field("mode", &self.mode)
            .finish()
    }
}

/// How many device nodes a kernel may register (a fixed table: no
/// allocation, boards register a handful).
pub const MAX_NODES: usize = 16;

static NODES: spin::Mutex<[Option<Node>; MAX_NODES]> = spin::Mutex::new([None; MAX_NODES]);

/// Register a device node (boot time). `EEXIST` for a name already
/// taken, `ENOSPC` when the table is full.
pub fn register(node: Node) -> Result<(), Errno> {
    let mut t = NODES.lock();
    if t.iter().flatten().any(|n| n.name == node.name) {
        return Err(Errno::EEXIST);
    }
    let slot = t.iter_mut().find(|n| n.is_none()).ok_or(Errno::ENOSPC)?;
    *slot = Some(node);
    Ok(())
}

/// The node registered for `path` (`/dev/<name>`).
pub fn find(path: &str) -> Option<Node> {
    let name = path.strip_prefix("/dev/")?;
    NODES
        .lock()
        .iter()
        .flatten()
        .find(|n| n.name == name)
        .copied()
}

/// The node registered with device number `rdev`.
pub fn by_rdev(rdev: (u32, u32)) -> Option<Node> {
    NODES
        .lock()
        .iter()
        .flatten()
        .find(|n| n.rdev == rdev)
        .copied()
}

/// Every registered node, in registration order (for a devfs listing).
pub fn for_each(mut f: impl FnMut(&Node)) {
    for n in NODES.lock().iter().flatten() {
        f(n);
    }
}

/// The node whose driver owns physical address `phys` (for `/proc/*/maps`).
pub fn owner_of(phys: u64) -> Option<Node> {
    NODES
        .lock()
        .iter()
        .flatten()
        .find(|n| n.dev.owns_phys(phys))
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Nothing;
    impl CharDev for Nothing {}
    static NOTHING: Nothing = Nothing;

    #[test]
    fn defaults_are_linux_answers_for_missing_operations() {
        // read(2)/write(2): EINVAL "fd is attached to an object which is
        // unsuitable for reading/writing"; ioctl(2): ENOTTY; mmap(2):
        // ENODEV "the underlying filesystem ... does not support memory
        // mapping".
        struct NoUser;
        impl UserCopy for NoUser {
            fn copy_from_user(&mut self, _: usize, _: &mut [u8]) -> Result<(), Errno> {
                Err(Errno::EFAULT)
            }
            fn copy_to_user(&mut self, _: usize, _: &[u8]) -> Result<(), Errno> {
                Err(Errno::EFAULT)
            }
        }
        let p = PrivateData::new(0);
        assert_eq!(NOTHING.open(0, &p), Ok(()));
        assert_eq!(NOTHING.read(0, &mut [0; 4], &p), Err(Errno::EINVAL));
        assert_eq!(NOTHING.write(0, &[0; 4], &p), Err(Errno::EINVAL));
        assert_eq!(NOTHING.ioctl(0, 0, &mut NoUser, &p), Err(Errno::ENOTTY));
        let a = MmapArgs {
            offset: 0,
            len: 4096,
            shared: true,
            prot: Prot::NONE,
            open_flags: 2,
        };
        assert_eq!(NOTHING.mmap(&a, &p, &MappedTypes::NONE), Err(Errno::ENODEV));
    }

    #[test]
    fn registry_finds_by_dev_path_and_refuses_duplicates() {
        let n = Node {
            name: "chardev-test0",
            rdev: (240, 7),
            mode: 0o600,
            dev: &NOTHING,
        };
        assert_eq!(register(n), Ok(()));
        assert_eq!(register(n).err(), Some(Errno::EEXIST));
        let f = find("/dev/chardev-test0").unwrap();
        assert_eq!((f.name, f.rdev, f.mode), ("chardev-test0", (240, 7), 0o600));
        assert!(find("chardev-test0").is_none());
        assert!(find("/dev/chardev-test").is_none());
    }

    #[test]
    fn mapped_types_as_a_set() {
        let mut m = MappedTypes::NONE;
        assert!(m.is_empty() && m.all_are(MemoryType::StronglyOrdered));
        m.add(MemoryType::NormalNonCacheable);
        m.add(MemoryType::NormalNonCacheable);
        assert_eq!(m.iter().count(), 1);
        assert!(m.all_are(MemoryType::NormalNonCacheable));
        assert!(!m.all_are(MemoryType::NormalWriteBackWriteAlloc));
        for t in MemoryType::FIXED {
            m.add(t);
        }
        // More distinct types than the set holds: nothing agrees with it.
        assert!(!m.is_empty());
        assert!(!m.all_are(MemoryType::NormalNonCacheable));
    }
}
