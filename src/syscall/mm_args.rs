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
//! never executable, no file mappings yet, strict prot bits) are slotted in
//! where Linux makes the analogous decision and are marked "Policy".
//!
//! The constants are Linux's uapi values; asm-generic, ARM and arm64 agree on
//! every one of them.

use crate::errno::Errno;

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
    /// Physical device memory through `/dev/mem`.
    DevMem {
        /// Physical address of the first byte (the mmap offset).
        phys: u64,
        /// The fd was opened with `O_SYNC`/`O_DSYNC`: map uncached, as
        /// Linux's `uncached_access()` does.
        sync: bool,
        /// Whether the mapping may ever become writable (Linux's
        /// `VM_MAYWRITE`): only shared mappings of an `O_RDWR` fd. A later
        /// `mprotect(PROT_WRITE)` must be refused when false.
        may_write: bool,
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdKind {
    /// `/dev/mem`, with the flags it was opened with (`O_ACCMODE`, `O_SYNC`).
    DevMem { flags: u32 },
    /// `/dev/zero`, with its open flags: behaves as an anonymous mapping
    /// (shared: Linux's shmem), under the file-mode rules of any mapping.
    DevZero { flags: u32 },
    /// A regular file; not mappable yet (`ENODEV`).
    File { readable: bool },
    /// The console; a tty cannot be mapped (`ENODEV`).
    Console,
    /// The descriptor number is not open.
    Closed,
}

/// Facts about the calling task that decoding needs.
pub struct MmContext<'a> {
    /// First address user space cannot use (Linux `TASK_SIZE`).
    pub task_size: usize,
    /// `[start, end)` physical ranges `/dev/mem` may map.
    pub device_windows: &'a [(u64, u64)],
    /// Looks up a file descriptor; `None` or `Closed` means `EBADF`.
    pub fd: &'a dyn Fn(i32) -> Option<FdKind>,
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
///    * `/dev/mem`: shared `PROT_WRITE` needs an fd open for writing, any
///      mapping needs it open for reading, else `EACCES` (`FMODE_*`
///      checks); Policy: `PROT_EXEC` is `EACCES` (device memory is never
///      executable: a speculative fetch could touch a register with side
///      effects) and a private writable mapping is `EACCES` (it would need
///      copy-on-write of device memory, which this kernel does not do);
///      `MAP_GROWSDOWN`: `EINVAL`; then the driver: `[offset, offset+len)`
///      must lie inside one device window, else `EPERM` (as Linux's
///      `STRICT_DEVMEM` `range_is_allowed`; this is what keeps RAM, page
///      tables and the kernel out of reach).
///    * regular file: not readable: `EACCES`, else `ENODEV` (not supported
///      yet); console: `ENODEV` (no `mmap` file operation).
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
    let offset_end = offset.checked_add(len as u64).ok_or(Errno::EOVERFLOW)?;

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
        Some(FdKind::DevMem { flags: oflags }) => {
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
            if !shared && prot.write {
                return Err(Errno::EACCES);
            }
            if grows_down {
                return Err(Errno::EINVAL);
            }
            // The driver's mmap: the whole range in one permitted window.
            let allowed = ctx
                .device_windows
                .iter()
                .any(|&(start, end)| start <= offset && offset_end <= end);
            if !allowed {
                return Err(Errno::EPERM);
            }
            Backing::DevMem {
                phys: offset,
                // Linux's /dev/mem maps uncached when O_DSYNC is set, which
                // O_SYNC includes.
                sync: oflags & O_DSYNC != 0,
                may_write: shared && fmode_write,
            }
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
        (_, Backing::DevMem { may_write, .. }) => *may_write,
        (Some(FdKind::DevZero { flags: oflags }), _) if shared => {
            let acc = oflags & O_ACCMODE;
            acc == O_WRONLY || acc == O_RDWR
        }
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
mod tests {
    //! Expected values come from mmap(2), munmap(2), mprotect(2) and the
    //! Linux sources they describe, not from this implementation.
    use super::*;

    const TASK: usize = 0xC000_0000; // 3 GiB user space, ARMv7 VMSPLIT_3G.
    const UART: (u64, u64) = (0x0900_0000, 0x0900_1000);
    const GIC: (u64, u64) = (0x0800_0000, 0x0802_0000);
    const GIC2: (u64, u64) = (0x0802_0000, 0x0804_0000); // adjacent to GIC
    const WINDOWS: [(u64, u64); 3] = [UART, GIC, GIC2];
    const RAM: u64 = 0x4000_0000;

    const FD_MEM_RW: i32 = 3;
    const FD_MEM_RO: i32 = 4;
    const FD_MEM_WO: i32 = 5;
    const FD_MEM_SYNC: i32 = 6;
    const FD_ZERO: i32 = 7;
    const FD_FILE: i32 = 8;
    const FD_FILE_WO: i32 = 9;
    const FD_CONSOLE: i32 = 1;
    const FD_CLOSED: i32 = 10;
    const FD_MEM_DSYNC: i32 = 11;
    const FD_ZERO_RO: i32 = 12;
    const FD_ZERO_WO: i32 = 13;
    const FD_ZERO_RW_SYNC: i32 = 14;

    fn fds(fd: i32) -> Option<FdKind> {
        match fd {
            FD_MEM_RW => Some(FdKind::DevMem { flags: O_RDWR }),
            FD_MEM_RO => Some(FdKind::DevMem { flags: O_RDONLY }),
            FD_MEM_WO => Some(FdKind::DevMem { flags: O_WRONLY }),
            FD_MEM_SYNC => Some(FdKind::DevMem {
                flags: O_RDWR | O_SYNC,
            }),
            FD_MEM_DSYNC => Some(FdKind::DevMem {
                flags: O_RDWR | O_DSYNC,
            }),
            FD_ZERO => Some(FdKind::DevZero { flags: O_RDWR }),
            FD_ZERO_RO => Some(FdKind::DevZero { flags: O_RDONLY }),
            FD_ZERO_WO => Some(FdKind::DevZero { flags: O_WRONLY }),
            FD_ZERO_RW_SYNC => Some(FdKind::DevZero {
                flags: O_RDWR | O_SYNC,
            }),
            FD_FILE => Some(FdKind::File { readable: true }),
            FD_FILE_WO => Some(FdKind::File { readable: false }),
            FD_CONSOLE => Some(FdKind::Console),
            FD_CLOSED => Some(FdKind::Closed),
            _ => None,
        }
    }

    fn mmap(
        addr: usize,
        len: usize,
        prot: u32,
        flags: u32,
        fd: i32,
        off: u64,
    ) -> Result<MmapRequest, Errno> {
        let ctx = MmContext {
            task_size: TASK,
            device_windows: &WINDOWS,
            fd: &fds,
        };
        decode_mmap(addr, len, prot, flags, fd, off, &ctx)
    }

    const RW: u32 = PROT_READ | PROT_WRITE;
    const ANON: u32 = MAP_PRIVATE | MAP_ANONYMOUS;

    fn rw() -> Prot {
        Prot {
            read: true,
            write: true,
            exec: false,
        }
    }

    #[test]
    fn constants_match_linux_uapi() {
        assert_eq!((PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC), (0, 1, 2, 4));
        assert_eq!((PROT_GROWSDOWN, PROT_GROWSUP), (0x0100_0000, 0x0200_0000));
        assert_eq!(
            (MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE, MAP_TYPE),
            (1, 2, 3, 0xf)
        );
        assert_eq!(
            (MAP_FIXED, MAP_ANONYMOUS, MAP_GROWSDOWN),
            (0x10, 0x20, 0x100)
        );
        assert_eq!(
            (MAP_DENYWRITE, MAP_EXECUTABLE, MAP_LOCKED),
            (0x800, 0x1000, 0x2000)
        );
        assert_eq!(
            (MAP_NORESERVE, MAP_POPULATE, MAP_NONBLOCK),
            (0x4000, 0x8000, 0x10000)
        );
        assert_eq!(
            (MAP_STACK, MAP_HUGETLB, MAP_SYNC),
            (0x20000, 0x40000, 0x80000)
        );
        assert_eq!(
            (MAP_FIXED_NOREPLACE, MAP_UNINITIALIZED),
            (0x100000, 0x4000000)
        );
        assert_eq!((O_ACCMODE, O_RDONLY, O_WRONLY, O_RDWR), (3, 0, 1, 2));
        assert_eq!((O_SYNC, O_DSYNC), (0o4010000, 0o10000));
        assert_eq!(PAGE_SIZE, 4096);
    }

    #[test]
    fn prot_from_bits() {
        assert_eq!(Prot::from_bits(PROT_NONE), Some(Prot::NONE));
        assert_eq!(Prot::from_bits(RW), Some(rw()));
        assert_eq!(
            Prot::from_bits(PROT_READ | PROT_SEM).map(Prot::bits),
            Some(1)
        );
        assert_eq!(Prot::from_bits(0x10), None);
        assert_eq!(Prot::from_bits(PROT_GROWSDOWN), None);
        assert_eq!(Prot::from_bits(7).map(Prot::bits), Some(7));
    }

    #[test]
    fn anonymous_private_ok() {
        let r = mmap(0, 5000, RW, ANON, -1, 0).unwrap();
        assert_eq!(
            r,
            MmapRequest {
                addr: 0,
                len: 8192,
                prot: rw(),
                shared: false,
                placement: Placement::Hint,
                backing: Backing::Anonymous,
                populate: false,
                may_write: true,
                noreserve: false,
            }
        );
        // "fd should be -1" for MAP_ANONYMOUS, but any value is ignored.
        assert!(mmap(0, 4096, RW, ANON, 1234, 0).is_ok());
        let s = mmap(0, 4096, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0).unwrap();
        assert!(s.shared);
        assert_eq!(s.backing, Backing::Anonymous);
    }

    #[test]
    fn len_zero_is_einval() {
        // mmap(2): "EINVAL (since Linux 2.6.12) length was 0."
        assert_eq!(mmap(0, 0, RW, ANON, -1, 0), Err(Errno::EINVAL));
    }

    #[test]
    fn len_that_cannot_be_page_aligned_is_enomem() {
        assert_eq!(mmap(0, usize::MAX, RW, ANON, -1, 0), Err(Errno::ENOMEM));
        assert_eq!(
            mmap(0, usize::MAX - PAGE_SIZE + 2, RW, ANON, -1, 0),
            Err(Errno::ENOMEM)
        );
    }

    #[test]
    fn len_larger_than_address_space_is_enomem() {
        // mmap(2) ENOMEM: "the process's maximum number of mappings would
        // have been exceeded / no memory": Linux's get_unmapped_area.
        assert_eq!(
            mmap(0, TASK + PAGE_SIZE, RW, ANON, -1, 0),
            Err(Errno::ENOMEM)
        );
        assert!(mmap(0, TASK, RW, ANON, -1, 0).is_ok());
    }

    #[test]
    fn map_type_must_be_shared_private_or_validate() {
        // mmap(2): "EINVAL flags contained none of MAP_PRIVATE, MAP_SHARED,
        // or MAP_SHARED_VALIDATE."
        assert_eq!(mmap(0, 4096, RW, MAP_ANONYMOUS, -1, 0), Err(Errno::EINVAL));
        assert_eq!(
            mmap(0, 4096, RW, MAP_ANONYMOUS | 0xf, -1, 0),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            mmap(0, 4096, RW, MAP_ANONYMOUS | 4, -1, 0),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            mmap(0, 4096, PROT_READ, 0, FD_MEM_RW, GIC.0),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn shared_validate_rejects_unknown_flags() {
        // mmap(2) MAP_SHARED_VALIDATE: "fails the mapping with the error
        // EOPNOTSUPP for unknown flags". LTP mmap20 uses 1 << 10.
        const UNKNOWN: u32 = 1 << 10;
        let off = GIC.0;
        assert_eq!(
            mmap(0, 4096, RW, MAP_SHARED_VALIDATE | UNKNOWN, FD_MEM_RW, off),
            Err(EOPNOTSUPP)
        );
        // MAP_SYNC is only for DAX files; /dev/mem is not one.
        assert_eq!(
            mmap(0, 4096, RW, MAP_SHARED_VALIDATE | MAP_SYNC, FD_MEM_RW, off),
            Err(EOPNOTSUPP)
        );
        // MAP_FIXED_NOREPLACE is not a legacy flag: Linux refuses it too.
        assert_eq!(
            mmap(
                0x1000_0000,
                4096,
                RW,
                MAP_SHARED_VALIDATE | MAP_FIXED_NOREPLACE,
                FD_MEM_RW,
                off
            ),
            Err(EOPNOTSUPP)
        );
        assert_eq!(
            mmap(
                0,
                4096,
                RW,
                MAP_SHARED_VALIDATE | MAP_ANONYMOUS | UNKNOWN,
                -1,
                0
            ),
            Err(EOPNOTSUPP)
        );
        // "MAP_SHARED mappings ignore unknown flags"; so does MAP_PRIVATE.
        let r = mmap(0, 4096, RW, MAP_SHARED | UNKNOWN | MAP_SYNC, FD_MEM_RW, off).unwrap();
        assert!(r.shared);
        assert!(mmap(0, 4096, RW, ANON | UNKNOWN, -1, 0).is_ok());
        // Only legacy flags: a validated MAP_SHARED.
        let r = mmap(
            0,
            4096,
            RW,
            MAP_SHARED_VALIDATE | MAP_POPULATE | MAP_LOCKED | MAP_NORESERVE,
            FD_MEM_RW,
            off,
        )
        .unwrap();
        assert!(r.shared);
        let r = mmap(0, 4096, RW, MAP_SHARED_VALIDATE | MAP_ANONYMOUS, -1, 0).unwrap();
        assert!(r.shared);
    }

    #[test]
    fn unknown_prot_bits_are_einval() {
        assert_eq!(mmap(0, 4096, 0x40, ANON, -1, 0), Err(Errno::EINVAL));
        assert_eq!(
            mmap(0, 4096, PROT_READ | 0x10, ANON, -1, 0),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            mmap(0, 4096, PROT_READ | PROT_GROWSDOWN, ANON, -1, 0),
            Err(Errno::EINVAL)
        );
        // PROT_SEM is a known (ignored) bit.
        assert_eq!(
            mmap(0, 4096, PROT_READ | PROT_SEM, ANON, -1, 0)
                .unwrap()
                .prot
                .bits(),
            PROT_READ
        );
        // PROT_NONE is fine.
        assert_eq!(
            mmap(0, 4096, PROT_NONE, ANON, -1, 0).unwrap().prot,
            Prot::NONE
        );
    }

    #[test]
    fn fixed_address_checks() {
        // mmap(2) EINVAL: "We don't like addr ... (e.g. ... not aligned on a
        // page boundary)" for MAP_FIXED.
        let f = ANON | MAP_FIXED;
        let n = ANON | MAP_FIXED_NOREPLACE;
        assert_eq!(mmap(0x1000_0800, 4096, RW, f, -1, 0), Err(Errno::EINVAL));
        assert_eq!(mmap(0x1000_0800, 4096, RW, n, -1, 0), Err(Errno::EINVAL));
        // Beyond the task size: ENOMEM ("no memory is available").
        assert_eq!(mmap(TASK, 4096, RW, f, -1, 0), Err(Errno::ENOMEM));
        assert_eq!(mmap(TASK - 4096, 8192, RW, f, -1, 0), Err(Errno::ENOMEM));
        assert_eq!(
            mmap(usize::MAX & !0xfff, 4096, RW, n, -1, 0),
            Err(Errno::ENOMEM)
        );
        // Ending exactly at task_size is fine.
        let r = mmap(TASK - 8192, 8000, RW, f, -1, 0).unwrap();
        assert_eq!(
            (r.addr, r.len, r.placement),
            (TASK - 8192, 8192, Placement::Fixed)
        );
        let r = mmap(0x1000_0000, 4096, RW, n, -1, 0).unwrap();
        assert_eq!(r.placement, Placement::FixedNoReplace);
        let r = mmap(0x1000_0000, 4096, RW, f | MAP_FIXED_NOREPLACE, -1, 0).unwrap();
        assert_eq!(r.placement, Placement::FixedNoReplace);
    }

    #[test]
    fn hint_is_rounded_down_and_never_an_error() {
        // Linux 6.1 (armmp, under QEMU) places mmap(0x12345678, ...) at
        // 0x12345000: round_hint_to_min masks the hint down.
        let r = mmap(0x1234_5678, 4096, RW, ANON, -1, 0).unwrap();
        assert_eq!((r.addr, r.placement), (0x1234_5000, Placement::Hint));
        let r = mmap(0x1234_5000, 4096, RW, ANON, -1, 0).unwrap();
        assert_eq!(r.addr, 0x1234_5000, "an aligned hint stays");
        // A hint outside user space is only a hint.
        let r = mmap(usize::MAX, 4096, RW, ANON, -1, 0).unwrap();
        assert_eq!(r.placement, Placement::Hint);
    }

    #[test]
    fn dev_zero_follows_the_file_mode_rules() {
        // mmap(2): EACCES "a file mapping was requested, but fd is not open
        // for reading. Or MAP_SHARED was requested and PROT_WRITE is set,
        // but fd is not open in read/write (O_RDWR) mode."
        assert_eq!(
            mmap(0, 4096, RW, MAP_SHARED, FD_ZERO_RO, 0),
            Err(Errno::EACCES)
        );
        assert_eq!(
            mmap(0, 4096, PROT_READ, MAP_PRIVATE, FD_ZERO_WO, 0),
            Err(Errno::EACCES)
        );
        // Read-only shared: mapped, but never writable later (VM_MAYWRITE
        // cleared); private keeps it (copy-on-write).
        let r = mmap(0, 4096, PROT_READ, MAP_SHARED, FD_ZERO_RO, 0).unwrap();
        assert!(!r.may_write);
        let r = mmap(0, 4096, RW, MAP_PRIVATE, FD_ZERO_RO, 0).unwrap();
        assert!(r.may_write);
        let r = mmap(0, 4096, PROT_READ, MAP_SHARED, FD_ZERO, 0).unwrap();
        assert!(r.may_write);
        assert!(
            mmap(0, 4096, RW, ANON | MAP_NORESERVE, -1, 0)
                .unwrap()
                .noreserve
        );
        assert!(!mmap(0, 4096, RW, ANON, -1, 0).unwrap().noreserve);
    }

    #[test]
    fn bad_fd_is_ebadf() {
        // mmap(2): "EBADF fd is not a valid file descriptor (and MAP_ANONYMOUS
        // was not set)."
        assert_eq!(
            mmap(0, 4096, PROT_READ, MAP_SHARED, -1, 0),
            Err(Errno::EBADF)
        );
        assert_eq!(
            mmap(0, 4096, PROT_READ, MAP_SHARED, 99, 0),
            Err(Errno::EBADF)
        );
        assert_eq!(
            mmap(0, 4096, PROT_READ, MAP_SHARED, FD_CLOSED, 0),
            Err(Errno::EBADF)
        );
        // Linux looks the fd up before it looks at len.
        assert_eq!(mmap(0, 0, PROT_READ, MAP_SHARED, 99, 0), Err(Errno::EBADF));
    }

    #[test]
    fn unaligned_offset_is_einval() {
        // mmap(2): "offset must be a multiple of the page size".
        assert_eq!(
            mmap(0, 4096, PROT_READ, MAP_SHARED, FD_MEM_RW, GIC.0 + 1),
            Err(Errno::EINVAL)
        );
        assert_eq!(mmap(0, 4096, RW, ANON, -1, 0x800), Err(Errno::EINVAL));
        // arm64 sys_mmap checks it first of all, even before the fd.
        assert_eq!(
            mmap(0, 4096, PROT_READ, MAP_SHARED, 99, 0x800),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn offset_overflow_is_eoverflow() {
        // mmap(2): "EOVERFLOW ... the number of pages used for length plus
        // number of pages used for offset would overflow".
        let off = !0xfffu64;
        assert_eq!(
            mmap(0, 4096, PROT_READ, MAP_SHARED, FD_MEM_RW, off),
            Err(Errno::EOVERFLOW)
        );
        assert_eq!(
            mmap(0, 8192, RW, ANON, -1, off - 4096),
            Err(Errno::EOVERFLOW)
        );
        assert!(mmap(0, 4096, RW, ANON, -1, off - 4096).is_ok());
    }

    #[test]
    fn write_and_exec_together_is_eacces() {
        let wx = PROT_WRITE | PROT_EXEC;
        assert_eq!(mmap(0, 4096, wx, ANON, -1, 0), Err(Errno::EACCES));
        assert_eq!(
            mmap(0, 4096, wx | PROT_READ, ANON, -1, 0),
            Err(Errno::EACCES)
        );
        let rx = mmap(0, 4096, PROT_READ | PROT_EXEC, ANON, -1, 0).unwrap();
        assert_eq!(
            rx.prot,
            Prot {
                read: true,
                write: false,
                exec: true
            }
        );
        assert!(mmap(0, 4096, PROT_EXEC, ANON, -1, 0).is_ok());
    }

    #[test]
    fn hugetlb_is_einval() {
        assert_eq!(
            mmap(0, 4096, RW, ANON | MAP_HUGETLB, -1, 0),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            mmap(
                0,
                4096,
                PROT_READ,
                MAP_SHARED | MAP_HUGETLB,
                FD_MEM_RW,
                GIC.0
            ),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn growsdown() {
        let r = mmap(0, 4096, RW, ANON | MAP_GROWSDOWN, -1, 0).unwrap();
        assert_eq!(r.backing, Backing::Anonymous);
        assert_eq!(
            mmap(
                0,
                4096,
                RW,
                MAP_SHARED | MAP_ANONYMOUS | MAP_GROWSDOWN,
                -1,
                0
            ),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            mmap(0, 4096, RW, MAP_SHARED | MAP_GROWSDOWN, FD_MEM_RW, GIC.0),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            mmap(0, 4096, RW, MAP_PRIVATE | MAP_GROWSDOWN, FD_ZERO, 0),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn populate() {
        assert!(
            mmap(0, 4096, RW, ANON | MAP_POPULATE, -1, 0)
                .unwrap()
                .populate
        );
        assert!(
            !mmap(0, 4096, RW, ANON | MAP_POPULATE | MAP_NONBLOCK, -1, 0)
                .unwrap()
                .populate
        );
        assert!(
            mmap(0, 4096, RW, ANON | MAP_LOCKED, -1, 0)
                .unwrap()
                .populate
        );
        // Accepted and ignored.
        let ignored =
            MAP_STACK | MAP_NORESERVE | MAP_DENYWRITE | MAP_EXECUTABLE | MAP_UNINITIALIZED;
        assert!(!mmap(0, 4096, RW, ANON | ignored, -1, 0).unwrap().populate);
    }

    #[test]
    fn dev_zero_is_anonymous() {
        let p = mmap(0, 4096, RW, MAP_PRIVATE, FD_ZERO, 0).unwrap();
        assert_eq!((p.backing, p.shared), (Backing::Anonymous, false));
        let s = mmap(0, 4096, RW, MAP_SHARED, FD_ZERO, 0).unwrap();
        assert_eq!((s.backing, s.shared), (Backing::Anonymous, true));
    }

    #[test]
    fn dev_mem_inside_one_window() {
        let r = mmap(0, 4096, RW, MAP_SHARED, FD_MEM_RW, UART.0).unwrap();
        assert_eq!(
            r.backing,
            Backing::DevMem {
                phys: UART.0,
                sync: false,
                may_write: true
            }
        );
        assert!(r.shared);
        // The whole window, ending exactly at its end.
        assert!(mmap(0, 0x20000, RW, MAP_SHARED, FD_MEM_RW, GIC.0).is_ok());
        assert!(mmap(0, 4096, RW, MAP_SHARED, FD_MEM_RW, GIC.1 - 4096).is_ok());
    }

    #[test]
    fn dev_mem_outside_windows_is_eperm() {
        // RAM, i.e. page tables and the kernel itself.
        assert_eq!(
            mmap(0, 4096, PROT_READ, MAP_SHARED, FD_MEM_RW, RAM),
            Err(Errno::EPERM)
        );
        assert_eq!(
            mmap(0, 4096, PROT_READ, MAP_SHARED, FD_MEM_RW, 0),
            Err(Errno::EPERM)
        );
        // Straddling the end of a window.
        assert_eq!(
            mmap(0, 8192, PROT_READ, MAP_SHARED, FD_MEM_RW, UART.0),
            Err(Errno::EPERM)
        );
        // Straddling two adjacent windows: each part is allowed but the
        // range must lie within ONE window.
        assert_eq!(
            mmap(0, 8192, PROT_READ, MAP_SHARED, FD_MEM_RW, GIC.1 - 4096),
            Err(Errno::EPERM)
        );
        // Starting just below a window.
        assert_eq!(
            mmap(0, 8192, PROT_READ, MAP_SHARED, FD_MEM_RW, UART.0 - 4096),
            Err(Errno::EPERM)
        );
        // No windows at all.
        let ctx = MmContext {
            task_size: TASK,
            device_windows: &[],
            fd: &fds,
        };
        assert_eq!(
            decode_mmap(0, 4096, PROT_READ, MAP_SHARED, FD_MEM_RW, UART.0, &ctx),
            Err(Errno::EPERM)
        );
    }

    #[test]
    fn dev_mem_access_modes() {
        // mmap(2) EACCES: "MAP_SHARED was requested and PROT_WRITE is set,
        // but fd is not open in read/write (O_RDWR) mode."
        assert_eq!(
            mmap(0, 4096, RW, MAP_SHARED, FD_MEM_RO, UART.0),
            Err(Errno::EACCES)
        );
        // Read-only shared mapping of an O_RDONLY fd is fine, but can never
        // become writable.
        let r = mmap(0, 4096, PROT_READ, MAP_SHARED, FD_MEM_RO, UART.0).unwrap();
        assert_eq!(
            r.backing,
            Backing::DevMem {
                phys: UART.0,
                sync: false,
                may_write: false
            }
        );
        // mmap(2) EACCES: "a file descriptor refers to a non-regular file. Or
        // a file mapping was requested, but fd is not open for reading."
        assert_eq!(
            mmap(0, 4096, PROT_READ, MAP_SHARED, FD_MEM_WO, UART.0),
            Err(Errno::EACCES)
        );
        assert_eq!(
            mmap(0, 4096, PROT_NONE, MAP_SHARED, FD_MEM_WO, UART.0),
            Err(Errno::EACCES)
        );
        assert_eq!(
            mmap(0, 4096, RW, MAP_SHARED, FD_MEM_WO, UART.0),
            Err(Errno::EACCES)
        );
        // Access checks come before the window check.
        assert_eq!(
            mmap(0, 4096, RW, MAP_SHARED, FD_MEM_RO, RAM),
            Err(Errno::EACCES)
        );
    }

    #[test]
    fn dev_mem_is_never_executable() {
        let rx = PROT_READ | PROT_EXEC;
        assert_eq!(
            mmap(0, 4096, rx, MAP_SHARED, FD_MEM_RW, UART.0),
            Err(Errno::EACCES)
        );
        assert_eq!(
            mmap(0, 4096, PROT_EXEC, MAP_SHARED, FD_MEM_RO, UART.0),
            Err(Errno::EACCES)
        );
        assert_eq!(
            mmap(0, 4096, rx, MAP_PRIVATE, FD_MEM_RW, UART.0),
            Err(Errno::EACCES)
        );
    }

    #[test]
    fn dev_mem_private() {
        // Read-only private is a plain view; writable private would need
        // copy-on-write of device memory.
        let r = mmap(0, 4096, PROT_READ, MAP_PRIVATE, FD_MEM_RW, UART.0).unwrap();
        assert!(!r.shared);
        assert_eq!(
            r.backing,
            Backing::DevMem {
                phys: UART.0,
                sync: false,
                may_write: false
            }
        );
        assert_eq!(
            mmap(0, 4096, RW, MAP_PRIVATE, FD_MEM_RW, UART.0),
            Err(Errno::EACCES)
        );
    }

    #[test]
    fn dev_mem_sync_flag() {
        let sync_of = |fd| match mmap(0, 4096, RW, MAP_SHARED, fd, UART.0).unwrap().backing {
            Backing::DevMem { sync, .. } => sync,
            Backing::Anonymous => panic!("not devmem"),
        };
        assert!(sync_of(FD_MEM_SYNC));
        assert!(sync_of(FD_MEM_DSYNC));
        assert!(!sync_of(FD_MEM_RW));
    }

    #[test]
    fn files_and_console_are_enodev() {
        // mmap(2): "ENODEV The underlying filesystem of the specified file
        // does not support memory mapping."
        assert_eq!(
            mmap(0, 4096, PROT_READ, MAP_PRIVATE, FD_FILE, 0),
            Err(Errno::ENODEV)
        );
        assert_eq!(
            mmap(0, 4096, PROT_READ, MAP_SHARED, FD_CONSOLE, 0),
            Err(Errno::ENODEV)
        );
        // Not open for reading: EACCES first.
        assert_eq!(
            mmap(0, 4096, PROT_READ, MAP_PRIVATE, FD_FILE_WO, 0),
            Err(Errno::EACCES)
        );
    }

    #[test]
    fn check_order_follows_linux() {
        // len == 0 is checked before the map type.
        assert_eq!(mmap(0, 0, RW, MAP_ANONYMOUS, -1, 0), Err(Errno::EINVAL));
        // Huge len (ENOMEM) before a missing map type (EINVAL).
        assert_eq!(
            mmap(0, usize::MAX, RW, MAP_ANONYMOUS, -1, 0),
            Err(Errno::ENOMEM)
        );
        // Fixed range beyond task size (ENOMEM) before misalignment (EINVAL).
        assert_eq!(
            mmap(TASK + 1, 4096, RW, ANON | MAP_FIXED, -1, 0),
            Err(Errno::ENOMEM)
        );
        // Hugetlb before len.
        assert_eq!(
            mmap(0, 0, RW, ANON | MAP_HUGETLB, -1, 0),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn munmap_checks() {
        // munmap(2): "EINVAL We don't like addr, length ... (e.g., they are
        // too large, or not aligned on a page boundary)"; "EINVAL (since
        // Linux 2.6.12) length was 0."
        assert_eq!(decode_munmap(0x1000_0800, 4096, TASK), Err(Errno::EINVAL));
        assert_eq!(decode_munmap(0x1000_0000, 0, TASK), Err(Errno::EINVAL));
        assert_eq!(decode_munmap(TASK + 4096, 4096, TASK), Err(Errno::EINVAL));
        assert_eq!(decode_munmap(TASK - 4096, 8192, TASK), Err(Errno::EINVAL));
        assert_eq!(decode_munmap(0x1000, usize::MAX, TASK), Err(Errno::EINVAL));
        // "The address addr must be a multiple of the page size (but length
        // need not be). All pages containing a part of the indicated range
        // are unmapped."
        assert_eq!(
            decode_munmap(0x1000_0000, 1, TASK),
            Ok(Some(RangeRequest {
                start: 0x1000_0000,
                end: 0x1000_1000
            }))
        );
        assert_eq!(
            decode_munmap(TASK - 4096, 4096, TASK),
            Ok(Some(RangeRequest {
                start: TASK - 4096,
                end: TASK
            }))
        );
        // start == task_size with len 0 is still the len-0 EINVAL.
        assert_eq!(decode_munmap(TASK, 0, TASK), Err(Errno::EINVAL));
    }

    #[test]
    fn mprotect_checks() {
        let a = 0x1000_0000;
        // mprotect(2): "EINVAL addr is not a valid pointer, or not a multiple
        // of the system page size."
        assert_eq!(
            decode_mprotect(a + 1, 4096, PROT_READ, TASK),
            Err(Errno::EINVAL)
        );
        // "EINVAL prot specified both PROT_GROWSUP and PROT_GROWSDOWN."
        assert_eq!(
            decode_mprotect(a, 4096, PROT_READ | PROT_GROWSDOWN | PROT_GROWSUP, TASK),
            Err(Errno::EINVAL)
        );
        // "EINVAL Invalid flags specified in prot."
        assert_eq!(decode_mprotect(a, 4096, 0x40, TASK), Err(Errno::EINVAL));
        // Length 0 is a successful no-op, checked before prot.
        assert_eq!(decode_mprotect(a, 0, PROT_READ, TASK), Ok(None));
        assert_eq!(decode_mprotect(a, 0, 0x40, TASK), Ok(None));
        // But an unaligned address is refused even then.
        assert_eq!(
            decode_mprotect(a + 1, 0, PROT_READ, TASK),
            Err(Errno::EINVAL)
        );
        // End overflows: ENOMEM.
        assert_eq!(
            decode_mprotect(a, usize::MAX, PROT_READ, TASK),
            Err(Errno::ENOMEM)
        );
        assert_eq!(
            decode_mprotect(usize::MAX & !0xfff, 4096, PROT_READ, TASK),
            Err(Errno::ENOMEM)
        );
        // Overflow is found before bad prot bits.
        assert_eq!(
            decode_mprotect(a, usize::MAX, 0x40, TASK),
            Err(Errno::ENOMEM)
        );
        // "ENOMEM Addresses in the range [addr, addr+len-1] are invalid for
        // the address space of the process".
        assert_eq!(
            decode_mprotect(TASK - 4096, 8192, PROT_READ, TASK),
            Err(Errno::ENOMEM)
        );
        assert_eq!(
            decode_mprotect(TASK, 4096, PROT_READ, TASK),
            Err(Errno::ENOMEM)
        );
        // Policy: never writable and executable.
        assert_eq!(
            decode_mprotect(a, 4096, PROT_WRITE | PROT_EXEC, TASK),
            Err(Errno::EACCES)
        );
        // No grows-down VMAs exist here.
        assert_eq!(
            decode_mprotect(a, 4096, PROT_READ | PROT_GROWSDOWN, TASK),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            decode_mprotect(a, 5000, RW, TASK),
            Ok(Some((
                RangeRequest {
                    start: a,
                    end: a + 8192
                },
                rw()
            )))
        );
        assert_eq!(
            decode_mprotect(TASK - 4096, 4096, PROT_NONE, TASK),
            Ok(Some((
                RangeRequest {
                    start: TASK - 4096,
                    end: TASK
                },
                Prot::NONE
            )))
        );
    }

    #[test]
    fn mremap_argument_checks_in_linux_order() {
        // mremap(2): EINVAL "flags has an invalid bit set; new_size was
        // zero; MREMAP_FIXED or MREMAP_DONTUNMAP without MREMAP_MAYMOVE;
        // MREMAP_DONTUNMAP with old_size != new_size; old_address not
        // page aligned".
        assert_eq!(decode_mremap(0x1000, 4096, 4096, 8, 0), Err(Errno::EINVAL));
        assert_eq!(
            decode_mremap(0x1000, 4096, 4096, MREMAP_FIXED, 0),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            decode_mremap(0x1000, 4096, 4096, MREMAP_DONTUNMAP, 0),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            decode_mremap(0x1000, 4096, 8192, MREMAP_DONTUNMAP | MREMAP_MAYMOVE, 0),
            Err(Errno::EINVAL)
        );
        assert_eq!(decode_mremap(0x1001, 4096, 4096, 0, 0), Err(Errno::EINVAL));
        assert_eq!(decode_mremap(0x1000, 4096, 0, 0, 0), Err(Errno::EINVAL));
        assert_eq!(
            decode_mremap(0x1000, 4096, usize::MAX, 0, 0),
            Err(Errno::EINVAL)
        );
        let r = decode_mremap(0x1000, 10, 5000, MREMAP_MAYMOVE | MREMAP_FIXED, 0x9000).unwrap();
        assert_eq!(
            r,
            MremapRequest {
                addr: 0x1000,
                old_len: 4096,
                new_len: 8192,
                may_move: true,
                fixed: Some(0x9000),
                dont_unmap: false,
            }
        );
    }

    #[test]
    fn dev_zero_modes_and_may_write_for_every_access_mode() {
        // do_mmap: MAP_SHARED + PROT_WRITE needs FMODE_WRITE; any mapping
        // needs FMODE_READ; a shared mapping of a file not open for
        // writing loses VM_MAYWRITE.
        assert_eq!(
            mmap(0, 4096, RW, MAP_SHARED, FD_ZERO_WO, 0),
            Err(Errno::EACCES),
            "write-only fd: not readable"
        );
        assert_eq!(
            mmap(0, 4096, PROT_READ, MAP_SHARED, FD_ZERO_WO, 0),
            Err(Errno::EACCES)
        );
        let r = mmap(0, 4096, RW, MAP_SHARED, FD_ZERO, 0).unwrap();
        assert!(r.shared && r.may_write && r.prot.write);
        assert_eq!(r.backing, Backing::Anonymous);
        let r = mmap(0, 4096, PROT_READ, MAP_PRIVATE, FD_ZERO_RO, 0).unwrap();
        assert!(!r.shared && r.may_write, "private: copy-on-write");
        assert_eq!(
            mmap(
                0,
                4096,
                PROT_READ,
                MAP_SHARED | MAP_GROWSDOWN,
                FD_ZERO_RO,
                0
            ),
            Err(Errno::EINVAL)
        );
        // Anonymous memory always keeps VM_MAYWRITE.
        for f in [MAP_SHARED, MAP_PRIVATE] {
            assert!(
                mmap(0, 4096, PROT_READ, f | MAP_ANONYMOUS, -1, 0)
                    .unwrap()
                    .may_write
            );
        }
        // /dev/mem: may_write only for a shared mapping of a writable fd.
        let r = mmap(0, 4096, PROT_READ, MAP_SHARED, FD_MEM_RO, UART.0).unwrap();
        assert!(!r.may_write);
        let r = mmap(0, 4096, PROT_READ, MAP_SHARED, FD_MEM_RW, UART.0).unwrap();
        assert!(r.may_write);
        let r = mmap(0, 4096, PROT_READ, MAP_PRIVATE, FD_MEM_RW, UART.0).unwrap();
        assert!(!r.may_write, "private device mapping: never writable");
        assert!(
            mmap(0, 4096, PROT_READ, MAP_SHARED | MAP_NORESERVE, FD_ZERO, 0)
                .unwrap()
                .noreserve
        );
    }

    #[test]
    fn mremap_flags_decode() {
        let r = decode_mremap(0x1000, 4096, 4096, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0).unwrap();
        assert!(r.may_move && r.dont_unmap && r.fixed.is_none());
        let r = decode_mremap(0x1000, 4096, 8192, 0, 0x5000).unwrap();
        assert!(!r.may_move && !r.dont_unmap);
        assert_eq!(r.fixed, None, "new_address ignored without MREMAP_FIXED");
        let r = decode_mremap(0x1000, 4096, 4096, MREMAP_MAYMOVE, 0).unwrap();
        assert!(r.may_move && !r.dont_unmap);
        let r = decode_mremap(
            0x1000,
            4096,
            4096,
            MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP,
            0x9000,
        )
        .unwrap();
        assert!(r.may_move && r.dont_unmap);
        assert_eq!(r.fixed, Some(0x9000));
        // old_size is PAGE_ALIGNed and may wrap to 0 (the duplicate case,
        // refused later); 0 stays 0.
        assert_eq!(
            decode_mremap(0x1000, usize::MAX, 4096, 0, 0)
                .unwrap()
                .old_len,
            0
        );
        assert_eq!(decode_mremap(0x1000, 0, 4096, 0, 0).unwrap().old_len, 0);
        assert_eq!(decode_mremap(0x1000, 4097, 1, 0, 0).unwrap().new_len, 4096);
    }

    #[test]
    fn access_mode_is_only_the_accmode_bits() {
        // O_ACCMODE alone decides FMODE_READ/FMODE_WRITE: an O_RDWR|O_SYNC
        // /dev/zero fd maps shared writable and keeps VM_MAYWRITE.
        let r = mmap(0, 4096, PROT_READ, MAP_SHARED, FD_ZERO_RW_SYNC, 0).unwrap();
        assert!(r.may_write);
        assert!(mmap(0, 4096, RW, MAP_SHARED, FD_ZERO_RW_SYNC, 0).is_ok());
    }

    #[test]
    fn a_length_near_the_top_of_the_address_space_is_enomem() {
        // do_mmap: PAGE_ALIGN(len) is not 0, pgoff + (len >> PAGE_SHIFT)
        // does not wrap, then get_unmapped_area: len > TASK_SIZE: ENOMEM.
        assert_eq!(
            mmap(0, usize::MAX - 8191, RW, ANON, -1, 0),
            Err(Errno::ENOMEM)
        );
        // PAGE_ALIGN wraps to 0: ENOMEM as well.
        assert_eq!(mmap(0, usize::MAX, RW, ANON, -1, 0), Err(Errno::ENOMEM));
    }
}
