//! Decoding of the Linux `mmap`/`munmap`/`mprotect` arguments.
//!
//! This is the "decode" half of a seL4-style decode/perform split: every
//! function here only reads its arguments (and, for `mmap`, asks the caller
//! what a file descriptor is) and returns either a fully validated request or
//! the errno Linux would return. Nothing is changed until the caller performs
//! the request, so a failing syscall has no side effects.
//!
//! The checks run in the order Linux runs them (mm/mmap.c `ksys_mmap_pgoff`,
//! `do_mmap`, `__get_unmapped_area`; mm/mprotect.c `do_mprotect_pkey`;
//! mm/vma.c `do_vmi_munmap`), so a call with several problems gets the same
//! errno as on Linux. This kernel's own policies (never W+X, device memory
//! never executable, strict prot bits) are slotted in
//! where Linux makes the analogous decision and are marked "Policy".
//!
//! The constants are Linux's uapi values; asm-generic, ARM and arm64 agree on
//! every one of them.

use crate::drivers::chardev::{CharDev, MappedTypes, MmapArgs, PrivateData};
use crate::errno::Errno;
use crate::mm::memtype::MemoryType;

/// The page size the syscall ABI is expressed in (4 KiB on ARM and arm64 as
/// configured here).
pub const PAGE_SIZE: usize = 4096;

pub const PROT_NONE: u32 = 0;
pub const PROT_READ: u32 = 1;
pub const PROT_WRITE: u32 = 2;
pub const PROT_EXEC: u32 = 4;
/// System V semaphore hint; Linux's `arch_validate_prot` accepts and ignores it.
pub const PROT_SEM: u32 = 8;
pub const PROT_GROWSDOWN: u32 = 0x0100_0000;
pub const PROT_GROWSUP: u32 = 0x0200_0000;

pub const MAP_SHARED: u32 = 0x01;
pub const MAP_PRIVATE: u32 = 0x02;
pub const MAP_SHARED_VALIDATE: u32 = 0x03;
pub const MAP_TYPE: u32 = 0x0f;
pub const MAP_FIXED: u32 = 0x10;
pub const MAP_ANONYMOUS: u32 = 0x20;
pub const MAP_GROWSDOWN: u32 = 0x0100;
pub const MAP_DENYWRITE: u32 = 0x0800;
pub const MAP_EXECUTABLE: u32 = 0x1000;
pub const MAP_LOCKED: u32 = 0x2000;
pub const MAP_NORESERVE: u32 = 0x4000;
pub const MAP_POPULATE: u32 = 0x8000;
pub const MAP_NONBLOCK: u32 = 0x1_0000;
pub const MAP_STACK: u32 = 0x2_0000;
pub const MAP_HUGETLB: u32 = 0x4_0000;
pub const MAP_SYNC: u32 = 0x8_0000;
pub const MAP_FIXED_NOREPLACE: u32 = 0x10_0000;
pub const MAP_UNINITIALIZED: u32 = 0x400_0000;

/// The flags every mapping implicitly supports (include/linux/mman.h
/// `LEGACY_MAP_MASK`, minus the x86-only `MAP_32BIT` and the hugetlb size
/// bits). `MAP_SHARED_VALIDATE` refuses anything outside it with
/// `EOPNOTSUPP`; note that, exactly as in Linux, this includes
/// `MAP_FIXED_NOREPLACE` and `MAP_SYNC` (no mapping here supports DAX).
pub const LEGACY_MAP_MASK: u32 = MAP_SHARED
    | MAP_PRIVATE
    | MAP_FIXED
    | MAP_ANONYMOUS
    | MAP_DENYWRITE
    | MAP_EXECUTABLE
    | MAP_UNINITIALIZED
    | MAP_GROWSDOWN
    | MAP_LOCKED
    | MAP_NORESERVE
    | MAP_POPULATE
    | MAP_NONBLOCK
    | MAP_STACK
    | MAP_HUGETLB;

pub const O_ACCMODE: u32 = 3;
pub const O_RDONLY: u32 = 0;
pub const O_WRONLY: u32 = 1;
pub const O_RDWR: u32 = 2;
/// `O_DSYNC` (asm-generic 0o10000). `O_SYNC` includes this bit.
pub const O_DSYNC: u32 = 0x1000;
/// `O_SYNC` = `__O_SYNC | O_DSYNC` (asm-generic 0o4010000; ARM and arm64 use
/// the generic value).
pub const O_SYNC: u32 = 0x10_1000;

/// `MAP_SHARED_VALIDATE` with a flag this kernel does not know.
pub const EOPNOTSUPP: Errno = Errno::EOPNOTSUPP;

/// Access rights of a mapping, decoded from `PROT_*` bits.
/// `PROT_NONE` is all three false.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Prot {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
}

impl Prot {
    pub const NONE: Prot = Prot {
        read: false,
        write: false,
        exec: false,
    };

    /// Decodes `PROT_READ | PROT_WRITE | PROT_EXEC` (plus the ignored
    /// `PROT_SEM`); any other bit gives `None`, like Linux's generic
    /// `arch_validate_prot`.
    pub const fn from_bits(bits: u32) -> Option<Prot> {
        if bits & !(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM) != 0 {
            return None;
        }
        Some(Prot {
            read: bits & PROT_READ != 0,
            write: bits & PROT_WRITE != 0,
            exec: bits & PROT_EXEC != 0,
        })
    }

    /// The `PROT_*` bits for this protection.
    pub const fn bits(self) -> u32 {
        (if self.read { PROT_READ } else { 0 })
            | (if self.write { PROT_WRITE } else { 0 })
            | (if self.exec { PROT_EXEC } else { 0 })
    }

    /// Writable and executable at once: never allowed by this kernel.
    pub const fn is_write_exec(self) -> bool {
        self.write && self.exec
    }
}

/// What a new mapping is backed by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backing {
    /// Zero-filled memory (also `/dev/zero`).
    Anonymous,
    /// Physical memory a driver's `mmap` granted (`/dev/mem`, a DMA
    /// buffer): mapped whole at once, as Linux's `remap_pfn_range`.
    Device {
        /// Physical address of the first byte.
        phys: u64,
        /// The memory type the driver chose (e.g. `/dev/mem` with
        /// `O_SYNC`: Strongly-ordered, as Linux's `uncached_access()`).
        mem: MemoryType,
        /// Whether the mapping may ever become writable (Linux's
        /// `VM_MAYWRITE`): for `/dev/mem` only shared mappings of an
        /// `O_RDWR` fd. A later `mprotect(PROT_WRITE)` must be refused
        /// when false.
        may_write: bool,
    },
    /// A regular file: its page cache, the memory object `id`
    /// (`crate::mm::shm`). Shared: a window on the cache; private:
    /// copy-on-write over it. [`MmapRequest::may_write`] says whether a
    /// shared one may ever be writable.
    File {
        id: crate::mm::shm::ShmId,
        /// The first file page mapped (the offset / 4096).
        pgoff: usize,
    },
}

/// How `addr` is to be interpreted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// A hint (page-aligned, 0 = none): use it if free, else search.
    Hint,
    /// `MAP_FIXED`: exactly at `addr`, replacing whatever is there.
    Fixed,
    /// `MAP_FIXED_NOREPLACE`: exactly at `addr`; `EEXIST` if anything is
    /// mapped there (the caller checks, it owns the address space).
    FixedNoReplace,
}

/// A validated `mmap` request, ready to be performed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MmapRequest {
    /// The fixed address, or the hint rounded down to a page (0 = no hint).
    pub addr: usize,
    /// Length rounded up to whole pages; never 0.
    pub len: usize,
    pub prot: Prot,
    pub shared: bool,
    pub placement: Placement,
    pub backing: Backing,
    /// Fault everything in now (`MAP_POPULATE` without `MAP_NONBLOCK`, or
    /// `MAP_LOCKED`, as Linux decides it).
    pub populate: bool,
    /// Linux's `VM_MAYWRITE`: whether `mprotect` may ever make it
    /// writable (false only for a shared mapping of a read-only fd).
    pub may_write: bool,
    /// `MAP_NORESERVE`: exempt from the overcommit check (Linux's
    /// heuristic mode honours it).
    pub noreserve: bool,
}

/// What a file descriptor refers to, as far as `mmap` cares.
#[derive(Clone, Copy)]
pub enum FdKind<'a> {
    /// A character device with a driver (`drivers::chardev`): `/dev/mem`,
    /// `/dev/dmabuf0`, ... with the flags it was opened with, the open
    /// file's driver word, and what every process maps now over the
    /// driver's exclusive range (for the mismatched-attributes rule).
    Driver {
        dev: &'a dyn CharDev,
        flags: u32,
        private: &'a PrivateData,
        mapped: MappedTypes,
    },
    /// `/dev/zero`, with its open flags: behaves as an anonymous mapping
    /// (shared: Linux's shmem), under the file-mode rules of any mapping.
    DevZero { flags: u32 },
    /// A file that cannot be mapped (`ENODEV`), or `EACCES` if not open
    /// for reading.
    File { readable: bool },
    /// A regular file of the in-memory file system: its page cache is
    /// the memory object `id`. `flags` are the open flags (`O_ACCMODE`);
    /// `ino` and `dev` name it (for `/proc/<pid>/maps`, through the VFS).
    Regular {
        id: crate::mm::shm::ShmId,
        flags: u32,
        ino: u64,
        dev: (u32, u32),
    },
    /// The console; a tty cannot be mapped (`ENODEV`).
    Console,
    /// The descriptor number is not open.
    Closed,
}

impl core::fmt::Debug for FdKind<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FdKind::Driver { flags, mapped, .. } => f
                .debug_struct("Driver")
                .field("flags", flags)
                .field("mapped", mapped)
                .finish_non_exhaustive(),
            FdKind::DevZero { flags } => f.debug_struct("DevZero").field("flags", flags).finish(),
            FdKind::File { readable } => {
                f.debug_struct("File").field("readable", readable).finish()
            }
            FdKind::Regular {
                id,
                flags,
                ino,
                dev,
            } => f
                .debug_struct("Regular")
                .field("id", id)
                .field("flags", flags)
                .field("ino", ino)
                .field("dev", dev)
                .finish(),
            FdKind::Console => f.write_str("Console"),
            FdKind::Closed => f.write_str("Closed"),
        }
    }
}

/// Facts about the calling task that decoding needs.
pub struct MmContext<'a> {
    /// First address user space cannot use (Linux `TASK_SIZE`).
    pub task_size: usize,
    /// Looks up a file descriptor; `None` or `Closed` means `EBADF`.
    pub fd: &'a dyn Fn(i32) -> Option<FdKind<'a>>,
}

/// A validated, page-aligned, non-empty `[start, end)` range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RangeRequest {
    pub start: usize,
    pub end: usize,
}

/// `PAGE_ALIGN(len)`, or `None` where Linux's macro would wrap around.
const fn page_align(len: usize) -> Option<usize> {
    match len.checked_add(PAGE_SIZE - 1) {
        Some(v) => Some(v & !(PAGE_SIZE - 1)),
        None => None,
    }
}

const fn is_page_aligned(addr: usize) -> bool {
    addr & (PAGE_SIZE - 1) == 0
}

/// Decodes `mmap(addr, len, prot, flags, fd, offset)`.
///
/// `offset` is in bytes (`mmap2` callers pass `pgoff * 4096`). The checks, in
/// order, and where Linux makes them:
///
/// 1. `offset` not page-aligned: `EINVAL` (arm64 `sys_mmap`, ARM `old_mmap`).
/// 2. Not `MAP_ANONYMOUS` and `fd` is not open: `EBADF` (`ksys_mmap_pgoff`).
/// 3. `MAP_HUGETLB`: `EINVAL` (`ksys_mmap_pgoff`; there is no hugetlbfs).
/// 4. `len == 0`: `EINVAL`; `PAGE_ALIGN(len)` overflows: `ENOMEM`;
///    `offset + len` overflows: `EOVERFLOW` (`do_mmap`).
/// 5. `len > task_size`: `ENOMEM`. For `MAP_FIXED`/`MAP_FIXED_NOREPLACE`:
///    `addr > task_size - len`: `ENOMEM`, `addr` unaligned: `EINVAL`
///    (`__get_unmapped_area`). A hint is just rounded down to a page.
/// 6. Policy: a `prot` bit other than READ/WRITE/EXEC/SEM: `EINVAL` (Linux
///    silently ignores unknown bits in `mmap`; we refuse them, as its
///    `mprotect` does). `PROT_WRITE|PROT_EXEC`: `EACCES` (never W+X).
/// 7. The `MAP_TYPE` switch of `do_mmap`: neither `MAP_SHARED`,
///    `MAP_PRIVATE` nor `MAP_SHARED_VALIDATE`: `EINVAL`;
///    `MAP_SHARED_VALIDATE` with a flag outside [`LEGACY_MAP_MASK`]:
///    `EOPNOTSUPP` (with plain `MAP_SHARED`/`MAP_PRIVATE` unknown flags are
///    ignored, as in Linux). Linux's anonymous path rejects
///    `MAP_SHARED_VALIDATE` with `EINVAL`; we follow mmap(2) instead and
///    treat it as a validated `MAP_SHARED` everywhere.
/// 8. The backing:
///    * anonymous: `MAP_SHARED` with `MAP_GROWSDOWN`: `EINVAL`; a private
///      `MAP_GROWSDOWN` mapping is accepted as a plain mapping.
///    * `/dev/zero`: anonymous (shared or private), but `MAP_GROWSDOWN` is
///      `EINVAL` as for every file mapping.
///    * a driver (`/dev/mem`, `/dev/dmabuf0`): shared `PROT_WRITE` needs
///      an fd open for writing, any mapping needs it open for reading,
///      else `EACCES` (`FMODE_*` checks); Policy: `PROT_EXEC` is `EACCES`
///      (driver memory is never executable: for device registers a
///      speculative fetch could touch a register with side effects);
///      `MAP_GROWSDOWN`: `EINVAL`; then the driver's own `mmap`
///      (`CharDev::mmap`; `/dev/mem`'s rules are in `drivers::devmem`).
///    * regular file ([`FdKind::Regular`]): first (before step 6, where
///      `do_mmap` calls `file_mmap_ok`) the range must stay below
///      `MAX_LFS_FILESIZE`, else `EOVERFLOW` ([`file_mmap_ok`]); then a
///      shared `PROT_WRITE` mapping needs an fd open for writing and any
///      mapping one open for reading (`EACCES`); `MAP_GROWSDOWN`:
///      `EINVAL`. A shared mapping of an fd not open for writing may never
///      become writable (`may_write` false, as Linux clears
///      `VM_MAYWRITE`). A private mapping of a read-only fd may be
///      writable: its writes are copies.
///    * another file ([`FdKind::File`]): not readable: `EACCES`, else
///      `ENODEV`; console: `ENODEV` (no `mmap` file operation).
///
/// `MAP_FIXED_NOREPLACE`'s `EEXIST` needs the address space, so the caller
/// checks it when performing a [`Placement::FixedNoReplace`] request.
pub fn decode_mmap(
    addr: usize,
    len: usize,
    prot: u32,
    flags: u32,
    fd: i32,
    offset: u64,
    ctx: &MmContext,
) -> Result<MmapRequest, Errno> {
    // 1. sys_mmap / old_mmap: the byte offset must be a page multiple.
    if !offset.is_multiple_of(PAGE_SIZE as u64) {
        return Err(Errno::EINVAL);
    }

    // 2. ksys_mmap_pgoff: fget(fd) before anything else looks at the call.
    let file = if flags & MAP_ANONYMOUS != 0 {
        None
    } else {
        match (ctx.fd)(fd) {
            None | Some(FdKind::Closed) => return Err(Errno::EBADF),
            Some(kind) => Some(kind),
        }
    };

    // 3. No hugetlbfs: a file is never hugepage-backed and there is no pool
    //    for anonymous huge pages.
    if flags & MAP_HUGETLB != 0 {
        return Err(Errno::EINVAL);
    }

    // 4. do_mmap: length and offset arithmetic.
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    let len = page_align(len).ok_or(Errno::ENOMEM)?;
    // Linux checks `pgoff + (len >> PAGE_SHIFT)` in unsigned long; checking
    // that and the byte sum also keeps the physical end representable.
    let pgoff = usize::try_from(offset / PAGE_SIZE as u64).map_err(|_| Errno::EOVERFLOW)?;
    pgoff.checked_add(len / PAGE_SIZE).ok_or(Errno::EOVERFLOW)?;
    offset.checked_add(len as u64).ok_or(Errno::EOVERFLOW)?;

    // 5. __get_unmapped_area.
    let placement = if flags & MAP_FIXED_NOREPLACE != 0 {
        Placement::FixedNoReplace
    } else if flags & MAP_FIXED != 0 {
        Placement::Fixed
    } else {
        Placement::Hint
    };
    if len > ctx.task_size {
        return Err(Errno::ENOMEM);
    }
    let addr = match placement {
        // do_mmap's round_hint_to_min: `hint &= PAGE_MASK`, rounded down
        // (checked on Linux 6.1 armmp under QEMU; get_unmapped_area's
        // PAGE_ALIGN then sees an aligned hint).
        Placement::Hint => addr & !(PAGE_SIZE - 1),
        Placement::Fixed | Placement::FixedNoReplace => {
            // len <= task_size was checked just above.
            if addr > ctx.task_size - len {
                return Err(Errno::ENOMEM);
            }
            if !is_page_aligned(addr) {
                return Err(Errno::EINVAL);
            }
            addr
        }
    };

    // do_mmap's file_mmap_ok, for a regular file (the only kind with a
    // size limit that can be reached here).
    if matches!(file, Some(FdKind::Regular { .. }))
        && !file_mmap_ok(pgoff as u64, len as u64, usize::BITS)
    {
        return Err(Errno::EOVERFLOW);
    }

    // 6. Policy: strict prot bits, never writable and executable at once.
    let prot = Prot::from_bits(prot).ok_or(Errno::EINVAL)?;
    if prot.is_write_exec() {
        return Err(Errno::EACCES);
    }

    // 7. The MAP_TYPE switch.
    let shared = match flags & MAP_TYPE {
        MAP_PRIVATE => false,
        MAP_SHARED => true,
        MAP_SHARED_VALIDATE => {
            if flags & !LEGACY_MAP_MASK != 0 {
                return Err(EOPNOTSUPP);
            }
            true
        }
        _ => return Err(Errno::EINVAL),
    };
    let grows_down = flags & MAP_GROWSDOWN != 0;

    // 8. The backing object.
    let backing = match file {
        None => {
            if shared && grows_down {
                return Err(Errno::EINVAL);
            }
            Backing::Anonymous
        }
        Some(FdKind::DevZero { flags: oflags }) => {
            // do_mmap's file checks: a shared writable mapping needs a
            // writable fd, any mapping a readable one.
            let acc = oflags & O_ACCMODE;
            if shared && prot.write && !(acc == O_WRONLY || acc == O_RDWR) {
                return Err(Errno::EACCES);
            }
            if !(acc == O_RDONLY || acc == O_RDWR) {
                return Err(Errno::EACCES);
            }
            if grows_down {
                return Err(Errno::EINVAL);
            }
            Backing::Anonymous
        }
        Some(FdKind::Driver {
            dev,
            flags: oflags,
            private,
            mapped,
        }) => {
            let acc = oflags & O_ACCMODE;
            let fmode_read = acc == O_RDONLY || acc == O_RDWR;
            let fmode_write = acc == O_WRONLY || acc == O_RDWR;
            if shared && prot.write && !fmode_write {
                return Err(Errno::EACCES);
            }
            if !fmode_read {
                return Err(Errno::EACCES);
            }
            // Policy, at the point Linux applies a noexec mount.
            if prot.exec {
                return Err(Errno::EACCES);
            }
            if grows_down {
                return Err(Errno::EINVAL);
            }
            // mmap_region -> f_op->mmap: the driver decides the rest.
            let args = MmapArgs {
                offset,
                len,
                shared,
                prot,
                open_flags: oflags,
            };
            let m = dev.mmap(&args, private, &mapped)?;
            // The granted range must be representable (the VMA checks
            // alignment again).
            m.phys.checked_add(len as u64).ok_or(Errno::EOVERFLOW)?;
            Backing::Device {
                phys: m.phys,
                mem: m.mem,
                may_write: m.may_write,
            }
        }
        Some(FdKind::Regular {
            id, flags: oflags, ..
        }) => {
            // do_mmap's MAP_SHARED / MAP_PRIVATE file checks: a shared
            // writable mapping needs FMODE_WRITE, any mapping FMODE_READ;
            // then the file system's mmap (shmem_mmap: always there).
            let (fmode_read, fmode_write) = fmode(oflags);
            if shared && prot.write && !fmode_write {
                return Err(Errno::EACCES);
            }
            if !fmode_read {
                return Err(Errno::EACCES);
            }
            if grows_down {
                return Err(Errno::EINVAL);
            }
            Backing::File { id, pgoff }
        }
        Some(FdKind::File { readable }) => {
            if !readable {
                return Err(Errno::EACCES);
            }
            return Err(Errno::ENODEV);
        }
        Some(FdKind::Console) => return Err(Errno::ENODEV),
        Some(FdKind::Closed) => return Err(Errno::EBADF),
    };

    let populate = flags & MAP_LOCKED != 0 || flags & (MAP_POPULATE | MAP_NONBLOCK) == MAP_POPULATE;
    // do_mmap: a shared mapping of a file not open for writing loses
    // VM_MAYWRITE; anonymous and private mappings keep it.
    let may_write = match (file, &backing) {
        (_, Backing::Device { may_write, .. }) => *may_write,
        (Some(FdKind::DevZero { flags: oflags }), _) if shared => {
            let acc = oflags & O_ACCMODE;
            acc == O_WRONLY || acc == O_RDWR
        }
        (Some(FdKind::Regular { flags: oflags, .. }), _) if shared => fmode(oflags).1,
        _ => true,
    };

    Ok(MmapRequest {
        addr,
        len,
        prot,
        shared,
        placement,
        backing,
        populate,
        may_write,
        noreserve: flags & MAP_NORESERVE != 0,
    })
}

/// `(FMODE_READ, FMODE_WRITE)` of a file opened with `flags` (Linux's
/// `OPEN_FMODE`: `O_ACCMODE` 3 gives neither).
const fn fmode(flags: u32) -> (bool, bool) {
    let acc = flags & O_ACCMODE;
    (
        acc == O_RDONLY || acc == O_RDWR,
        acc == O_WRONLY || acc == O_RDWR,
    )
}

/// Linux's `file_mmap_ok` for a regular file: `len` bytes from page
/// `pgoff` stay within `MAX_LFS_FILESIZE`, which is `ULONG_MAX << 12` with
/// 32-bit longs and `LLONG_MAX` with 64-bit ones (`long_bits`). False is
/// `EOVERFLOW`.
pub const fn file_mmap_ok(pgoff: u64, len: u64, long_bits: u32) -> bool {
    let max = if long_bits == 32 {
        (u32::MAX as u64) << 12
    } else {
        i64::MAX as u64
    };
    if len > max {
        return false;
    }
    pgoff <= (max - len) >> 12
}

/// Decodes `mincore(start, len, vec)` as Linux's `sys_mincore` checks it
/// before walking: `start` unaligned: `EINVAL`; `[start, start + len)`
/// not inside user space (`access_ok`): `ENOMEM`; the vector of
/// `ceil(len / 4096)` bytes not inside user space: `EFAULT`. Returns
/// `(start, pages)`; `pages` may be 0 (nothing to do). A hole met while
/// walking is `ENOMEM` and a vector that cannot be written `EFAULT`
/// (the caller's business).
pub fn decode_mincore(
    start: usize,
    len: usize,
    vec: usize,
    task_size: usize,
) -> Result<(usize, usize), Errno> {
    if !is_page_aligned(start) {
        return Err(Errno::EINVAL);
    }
    if start.checked_add(len).is_none_or(|e| e > task_size) {
        return Err(Errno::ENOMEM);
    }
    let pages = len / PAGE_SIZE + usize::from(len % PAGE_SIZE != 0);
    if vec.checked_add(pages).is_none_or(|e| e > task_size) {
        return Err(Errno::EFAULT);
    }
    Ok((start, pages))
}

/// The range of `mlock`, `mlock2` and `munlock` (Linux's `do_mlock` and
/// `apply_vma_lock_flags`): `start` rounded down to a page, `len` made
/// `PAGE_ALIGN(len + offset_in_page(start))` in unsigned long (wrapping
/// as Linux's arithmetic does); an end below the start: `EINVAL`; an
/// empty range: `Ok(None)` (success, nothing to do).
pub fn decode_lock_range(start: usize, len: usize) -> Result<Option<RangeRequest>, Errno> {
    let off = start % PAGE_SIZE;
    let len = len.wrapping_add(off).wrapping_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
    let start = start - off;
    let end = start.wrapping_add(len);
    if end < start {
        return Err(Errno::EINVAL);
    }
    if end == start {
        return Ok(None);
    }
    Ok(Some(RangeRequest { start, end }))
}

/// Decodes `munmap(addr, len)` as Linux's `do_vmi_munmap` does:
/// `addr` unaligned, `addr > task_size` or `len > task_size - addr`:
/// `EINVAL`; `len == 0` (the rounded range is empty): `EINVAL`.
///
/// Always `Some` on success (Linux has no "nothing to do" case for
/// `munmap`); the `Option` keeps the shape of [`decode_mprotect`]. Unmapping
/// a range with nothing mapped in it is a success, decided by the caller.
pub fn decode_munmap(
    addr: usize,
    len: usize,
    task_size: usize,
) -> Result<Option<RangeRequest>, Errno> {
    if !is_page_aligned(addr) || addr > task_size || len > task_size - addr {
        return Err(Errno::EINVAL);
    }
    let len = page_align(len).ok_or(Errno::EINVAL)?;
    let end = addr.checked_add(len).ok_or(Errno::EINVAL)?;
    if end == addr {
        return Err(Errno::EINVAL);
    }
    Ok(Some(RangeRequest { start: addr, end }))
}

pub const MREMAP_MAYMOVE: u32 = 1;
pub const MREMAP_FIXED: u32 = 2;
pub const MREMAP_DONTUNMAP: u32 = 4;

/// A decoded `mremap`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MremapRequest {
    pub addr: usize,
    /// Page-aligned; 0 only asks to duplicate a shared mapping.
    pub old_len: usize,
    /// Page-aligned, never 0.
    pub new_len: usize,
    pub may_move: bool,
    /// `MREMAP_FIXED`: the new address (not yet checked: Linux checks it
    /// after finding the old mapping).
    pub fixed: Option<usize>,
    pub dont_unmap: bool,
}

/// Decodes `mremap(addr, old_len, new_len, flags, new_addr)` as the start
/// of Linux's `sys_mremap`: unknown flags, `MREMAP_FIXED` without
/// `MREMAP_MAYMOVE`, `MREMAP_DONTUNMAP` without `MREMAP_MAYMOVE` or with a
/// size change, an unaligned `addr`, and a zero `new_len` are `EINVAL`.
pub fn decode_mremap(
    addr: usize,
    old_len: usize,
    new_len: usize,
    flags: u32,
    new_addr: usize,
) -> Result<MremapRequest, Errno> {
    if flags & !(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP) != 0 {
        return Err(Errno::EINVAL);
    }
    let may_move = flags & MREMAP_MAYMOVE != 0;
    if flags & MREMAP_FIXED != 0 && !may_move {
        return Err(Errno::EINVAL);
    }
    let dont_unmap = flags & MREMAP_DONTUNMAP != 0;
    if dont_unmap && (!may_move || old_len != new_len) {
        return Err(Errno::EINVAL);
    }
    if !is_page_aligned(addr) {
        return Err(Errno::EINVAL);
    }
    // PAGE_ALIGN wraps to 0 on overflow: then new_len is "0" (EINVAL) and
    // old_len 0.
    let old_len = page_align(old_len).unwrap_or(0);
    let new_len = page_align(new_len).unwrap_or(0);
    if new_len == 0 {
        return Err(Errno::EINVAL);
    }
    Ok(MremapRequest {
        addr,
        old_len,
        new_len,
        may_move,
        fixed: (flags & MREMAP_FIXED != 0).then_some(new_addr),
        dont_unmap,
    })
}

/// Decodes `mprotect(addr, len, prot)` in `do_mprotect_pkey`'s order:
///
/// 1. both `PROT_GROWSDOWN` and `PROT_GROWSUP`: `EINVAL`;
/// 2. `addr` unaligned: `EINVAL`;
/// 3. `len == 0`: success with nothing to do (`Ok(None)`), even if `prot`
///    is bad;
/// 4. `addr + PAGE_ALIGN(len)` overflows: `ENOMEM`;
/// 5. a bit other than READ/WRITE/EXEC/SEM: `EINVAL`;
/// 6. `PROT_GROWSDOWN` or `PROT_GROWSUP`: `EINVAL` (this kernel has no
///    grows-down/up VMAs, and Linux refuses these bits on such a VMA);
/// 7. Policy: `PROT_WRITE|PROT_EXEC`: `EACCES`;
/// 8. range beyond `task_size`: `ENOMEM` (nothing can be mapped there; Linux
///    reaches the same errno when it finds no VMA).
///
/// Holes in the range (`ENOMEM`) and rights a mapping may not gain
/// (`EACCES`) are the address space's business: `VmaSet::protect`.
pub fn decode_mprotect(
    addr: usize,
    len: usize,
    prot: u32,
    task_size: usize,
) -> Result<Option<(RangeRequest, Prot)>, Errno> {
    let grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
    let prot = prot & !(PROT_GROWSDOWN | PROT_GROWSUP);
    if grows == PROT_GROWSDOWN | PROT_GROWSUP {
        return Err(Errno::EINVAL);
    }
    if !is_page_aligned(addr) {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Ok(None);
    }
    let len = page_align(len).ok_or(Errno::ENOMEM)?;
    let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
    let prot = Prot::from_bits(prot).ok_or(Errno::EINVAL)?;
    if grows != 0 {
        return Err(Errno::EINVAL);
    }
    if prot.is_write_exec() {
        return Err(Errno::EACCES);
    }
    if end > task_size {
        return Err(Errno::ENOMEM);
    }
    Ok(Some((RangeRequest { start: addr, end }, prot)))
}

#[cfg(test)]
mod tests;
