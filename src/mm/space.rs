//! A user address space: the VMA set plus the architecture's page table,
//! and the Linux memory syscalls performed on them (after `mm_args` has
//! validated the arguments: decode, then perform).
//!
//! Anonymous memory and ELF segments are allocated lazily, on the first
//! fault; a fault in a 1 MiB-aligned block lying entirely inside an
//! anonymous mapping tries a whole section first (like transparent huge
//! pages), and falls back to 4 KiB pages.
//!
//! Every operation does its fallible steps first (splitting a block at the
//! edges of the range needs a new table; the VMA set may refuse to grow)
//! and only then changes what the task sees, so a failure leaves the
//! address space as it was; the page-table walks that follow need no
//! memory and cannot fail.
//!
//! Overcommit follows Linux's default heuristic (`vm.overcommit_memory` =
//! 0): one request for more private writable or shared anonymous memory
//! than the machine has RAM is refused with `ENOMEM` (`MAP_NORESERVE`
//! exempts it); smaller requests succeed and are backed on first touch.
//! A fault that finds no free frame is an out-of-memory kill.

use crate::errno::Errno;
use crate::mm::memtype::{Access, MapAttrs, MemoryType};
use crate::mm::vma::{Vma, VmaKind, VmaSet};
use crate::syscall::mm_args::{
    Backing, MmapRequest, MremapRequest, Placement, Prot, RangeRequest, PAGE_SIZE,
};
use core::fmt::Write as _;

/// What the address space needs from the architecture and the frame pool.
pub trait Mmu {
    fn map(&mut self, va: usize, pa: u64, size: usize, attrs: MapAttrs) -> Result<(), Errno>;
    /// Make `va` a block boundary, keeping every translation as it is (a
    /// section or block around it is split into smaller entries). The one
    /// step of an unmap or protect that may need memory, done first.
    fn split(&mut self, va: usize) -> Result<(), Errno>;
    /// Unmap everything present in `[va, va + size)`; with `free_frames`,
    /// the frames it mapped go back to the pool once no TLB holds them.
    /// Cannot fail once both ends are block boundaries ([`Mmu::split`]).
    fn unmap(&mut self, va: usize, size: usize, free_frames: bool) -> Result<(), Errno>;
    fn protect(&mut self, va: usize, size: usize, attrs: MapAttrs) -> Result<(), Errno>;
    /// Physical address `va` translates to, if present.
    fn lookup(&self, va: usize) -> Option<u64>;
    /// Whether nothing at all is mapped in `[va, va + size)`.
    fn is_unmapped(&self, va: usize, size: usize) -> bool {
        // One search (a real table skips empty entries within each
        // table), not one walk per page: a section fault asks this of
        // 256 pages.
        self.next_leaf(va, va + size).is_none()
    }
    /// A zeroed frame of `size` bytes (4 KiB, or a section), aligned to it.
    fn alloc_zeroed(&mut self, size: usize) -> Result<u64, Errno>;
    fn free_frame(&mut self, pa: u64);
    /// Copy `data` into frame `pa` at `offset` (through the kernel's map),
    /// cut at the end of the frame.
    ///
    /// # Safety
    /// `pa` is a frame this address space allocated ([`Mmu::alloc_zeroed`])
    /// and still owns: any other physical address would be overwritten.
    unsafe fn fill_frame(&mut self, pa: u64, offset: usize, data: &[u8]);
    /// The block size the table can map in one entry (1 MiB on ARMv7).
    fn section_size(&self) -> usize;
    /// How much anonymous memory one fault maps when its aligned chunk
    /// fits the VMA (and no section does): one page unless the
    /// architecture says more.
    fn fault_around(&self) -> usize {
        PAGE_SIZE
    }
    /// Visit every present block or page of the table, decoded from the raw
    /// descriptors by the architecture's independent decoder (for the
    /// invariant auditor, `mm::audit`).
    fn walk(&self, visit: &mut dyn FnMut(&crate::mm::audit::Mapping));
    /// Frames of RAM the kernel manages (Linux's `totalram_pages`): the
    /// overcommit heuristic's limit for one request.
    fn total_frames(&self) -> usize;

    /// The first present block or page meeting `[va, end)` (it may start
    /// before `va`). The default steps page by page with
    /// [`Mmu::lookup`] (fakes that map pages only).
    fn next_leaf(&self, va: usize, end: usize) -> Option<Leaf> {
        let mut v = va & !(PAGE_SIZE - 1);
        while v < end {
            if let Some(pa) = self.lookup(v) {
                return Some(Leaf {
                    va: v,
                    pa: pa & !(PAGE_SIZE as u64 - 1),
                    size: PAGE_SIZE,
                });
            }
            v = v.checked_add(PAGE_SIZE)?;
        }
        None
    }
    /// Point the present 4 KiB page at `va` to frame `pa` with `attrs`,
    /// break-before-make (a copy-on-write break): when this returns, no
    /// TLB holds the old translation, so the old frame may be released.
    /// Needs no memory; `EFAULT` (nothing changed) if no 4 KiB page is
    /// there. The default unmaps and maps (fakes).
    fn replace(&mut self, va: usize, pa: u64, attrs: MapAttrs) -> Result<(), Errno> {
        if self.lookup(va).is_none() {
            return Err(Errno::EFAULT);
        }
        self.unmap(va, PAGE_SIZE, false)?;
        self.map(va, pa, PAGE_SIZE, attrs)
    }
    /// One more reference to the RAM frame `pa` (it gets one more
    /// mapping). The default refuses: an Mmu without reference counts
    /// cannot fork.
    fn share_frame(&mut self, _pa: u64) -> Result<(), Errno> {
        Err(Errno::ENOMEM)
    }
    /// References to the RAM frame `pa` (0 for a free frame or one that
    /// is not RAM). The default: every frame is exclusive.
    fn frame_refs(&self, _pa: u64) -> usize {
        1
    }
    /// One 4 KiB frame whose contents the caller overwrites whole before
    /// anyone can read it (a copy-on-write copy): the default zeroes it,
    /// the real one saves the zeroing.
    fn alloc_frame(&mut self) -> Result<u64, Errno> {
        self.alloc_zeroed(PAGE_SIZE)
    }
    /// Copy the 4 KiB frame `src` into the frame `dst` (through the
    /// kernel's map); with `exec` (it will be mapped executable) make the
    /// copy visible to instruction fetch.
    ///
    /// # Safety
    /// `dst` is a frame this address space just allocated
    /// ([`Mmu::alloc_frame`]) and nothing else uses; `src` is a RAM frame
    /// it maps, or one a memory object it maps holds (a file's page
    /// cache), readable through the linear map. Any other `dst` would be
    /// overwritten.
    unsafe fn copy_frame(&mut self, dst: u64, src: u64, exec: bool);

    /// `fork`'s copy of the present blocks of `[va, va + size)` (one VMA,
    /// whose edges no block straddles: `EINVAL` otherwise) into `child`
    /// (empty there), with `attrs`. With `share` the child takes one more
    /// reference to every frame ([`Mmu::share_frame`]: RAM it owns); with
    /// `cow` the parent's blocks get `attrs` too (the read-only
    /// copy-on-write attributes), their old translations gone from the TLB
    /// when this returns. On an error the child holds exactly the blocks
    /// whose references it took, so its teardown gives them back. The
    /// default goes block by block ([`fork_range_by_leaf`]); a real table
    /// copies table by table.
    fn fork_range(
        &mut self,
        child: &mut dyn Mmu,
        va: usize,
        size: usize,
        attrs: MapAttrs,
        share: bool,
        cow: bool,
    ) -> Result<(), Errno> {
        fork_range_by_leaf(self, child, va, size, attrs, share, cow)
    }

    /// This table as `Any`, for fast paths between two tables of one
    /// implementation ([`Mmu::fork_range`]); `None`: there are none.
    fn as_any_mut(&mut self) -> Option<&mut dyn core::any::Any> {
        None
    }

    /// [`Mmu::unmap`] for an address space that will never run again
    /// ([`AddressSpace::teardown`]). The default is `unmap`; a real table
    /// first makes itself unreachable (no walks from it, its ASID's TLB
    /// entries invalidated) and then frees without per-entry maintenance.
    fn unmap_dead(&mut self, va: usize, size: usize, free_frames: bool) -> Result<(), Errno> {
        self.unmap(va, size, free_frames)
    }
}

/// [`Mmu::fork_range`] block by block: each present block of the parent
/// found with [`Mmu::next_leaf`], its references taken (undone if one
/// fails), mapped into the child (references dropped if that fails), then
/// write-protected in the parent for copy-on-write (which cannot fail).
pub fn fork_range_by_leaf<M: Mmu + ?Sized>(
    mmu: &mut M,
    child: &mut dyn Mmu,
    start: usize,
    size: usize,
    attrs: MapAttrs,
    share: bool,
    cow: bool,
) -> Result<(), Errno> {
    let end = start + size;
    let mut va = start;
    while let Some(l) = mmu.next_leaf(va, end) {
        if l.va < start || l.va + l.size > end {
            // Blocks never straddle a VMA's edge (every change to a range
            // splits its edges first).
            return Err(Errno::EINVAL);
        }
        va = l.va + l.size;
        if !share {
            child.map(l.va, l.pa, l.size, attrs)?;
            continue;
        }
        let frames = l.size / PAGE_SIZE;
        for i in 0..frames {
            if let Err(e) = mmu.share_frame(l.pa + (i * PAGE_SIZE) as u64) {
                for j in 0..i {
                    mmu.free_frame(l.pa + (j * PAGE_SIZE) as u64);
                }
                return Err(e);
            }
        }
        if let Err(e) = child.map(l.va, l.pa, l.size, attrs) {
            for j in 0..frames {
                mmu.free_frame(l.pa + (j * PAGE_SIZE) as u64);
            }
            return Err(e);
        }
        if cow {
            crate::mm::must(mmu.protect(l.va, l.size, attrs), "fork: write-protect");
        }
    }
    Ok(())
}

/// A present block or page: first VA, PA, size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Leaf {
    pub va: usize,
    pub pa: u64,
    pub size: usize,
}

/// What a futex word is keyed by (Linux's `get_futex_key`): the physical
/// address of the word in shared memory (the same for every process
/// mapping it), the virtual address in private memory (the caller adds
/// the process).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FutexKey {
    Shared { pa: u64 },
    Private { va: usize },
}

/// The executable as `/proc/<pid>/maps` names it: its path, the device
/// (major, minor) of its file system and its inode.
#[derive(Clone, Copy, Debug)]
pub struct MapsFile<'a> {
    pub path: &'a str,
    pub dev: (u32, u32),
    pub ino: u64,
    /// Start of the kernel's signal-return trampoline page, shown as
    /// `[sigpage]` (Linux ARM's name for it) rather than as the file.
    pub sigpage: Option<usize>,
}

/// The device numbers `/proc/<pid>/maps` shows for a `/dev/mem` mapping.
/// Linux prints the *file system's* device (`inode->i_sb->s_dev` in
/// `show_map_vma`), not the device node's own number (1:1 is its
/// `i_rdev`): `/dev` is a devtmpfs, an anonymous-device file system, which
/// is `0:5` on a Debian kernel booted the usual way (`stat -c %d /dev`
/// gives 5).
pub const DEV_MEM_DEV: (u32, u32) = (0, 5);
/// The inode shown for `/dev/mem`: devtmpfs numbers inodes as they are
/// created (`get_next_ino`), and `/dev/mem` is among the first nodes
/// (`chr_dev_init` creates the mem class at fs_initcall); the exact
/// value differs between kernels and boots. This kernel shows 6.
pub const DEV_MEM_INO: u64 = 6;
/// The device of shared anonymous memory's file: the internal tmpfs
/// mount (`shm_mnt`), anonymous device `0:1`. Its inode is the object's
/// id here (Linux: the shmem inode's number).
pub const SHMEM_DEV: (u32, u32) = (0, 1);

/// The attributes of a copy-on-write page: the VMA's, without write
/// (with read, so a write-only mapping still reads: ARM has no
/// write-only pages).
#[inline(always)]
pub fn cow_attrs(prot: Prot, kind: VmaKind) -> MapAttrs {
    user_attrs(
        Prot {
            read: prot.read || prot.write,
            write: false,
            exec: prot.exec,
        },
        kind,
    )
}

/// Private memory with frames of its own: `fork` makes it copy-on-write
/// where it is writable.
#[inline(always)]
fn is_private_ram(kind: VmaKind) -> bool {
    owns_frames(kind) && !kind.is_shared()
}

/// Memory attributes of a user mapping with this protection and kind.
#[inline(always)]
pub fn user_attrs(prot: Prot, kind: VmaKind) -> MapAttrs {
    let mem = match kind {
        VmaKind::Device { mem, .. } => mem,
        _ => MemoryType::NormalWriteBackWriteAlloc,
    };
    let access = if prot.write {
        Access::UserRw
    } else if prot.read || prot.exec {
        Access::UserRo
    } else {
        Access::NoAccess
    };
    MapAttrs {
        mem,
        access,
        execute_never: !prot.exec || mem.is_device(),
        // The kernel never executes user memory.
        privileged_execute_never: true,
        not_global: true,
        shareable: true,
    }
}

/// Whether the frames behind a VMA belong to it (RAM it allocated), as
/// opposed to device registers it only maps.
#[inline(always)]
pub fn owns_frames(kind: VmaKind) -> bool {
    !matches!(kind, VmaKind::Device { .. })
}

/// What `madvise` is asked to do, as far as memory is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Advice {
    /// Accepted advice that changes nothing here (NORMAL, RANDOM,
    /// SEQUENTIAL, WILLNEED, DONTFORK, DODUMP, COLD, PAGEOUT, ...).
    Hint,
    DontNeed,
    Free,
    Remove,
    PopulateRead,
    PopulateWrite,
}

impl Advice {
    /// Linux's `madvise_behavior_valid` (6.1, with KSM and THP configured
    /// as Debian does): `None` is `EINVAL`.
    pub fn from_linux(advice: usize) -> Option<Advice> {
        Some(match advice {
            4 | 24 => Advice::DontNeed, // MADV_DONTNEED, MADV_DONTNEED_LOCKED
            8 => Advice::Free,
            9 => Advice::Remove,
            22 => Advice::PopulateRead,
            23 => Advice::PopulateWrite,
            0..=3 | 10..=21 => Advice::Hint,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access2 {
    Read,
    Write,
    Execute,
}

/// Linux's `MAX_MAP_COUNT` default (`vm.max_map_count`).
pub const MAX_MAP_COUNT: usize = 65530;

pub struct AddressSpace {
    pub vmas: VmaSet,
    /// [mmap_lo, mmap_hi): where the kernel places non-fixed mappings (top-down).
    pub mmap_lo: usize,
    pub mmap_hi: usize,
    /// First address user space cannot use.
    pub task_size: usize,
    pub brk_start: usize,
    pub brk: usize,
    /// Some private frame may also be mapped by another address space
    /// (this one took part in a fork): making memory writable must then
    /// keep such pages read-only (copy-on-write). False saves the walk.
    pub shares_frames: bool,
    /// `mlockall(MCL_FUTURE)` without `MCL_ONFAULT` (Linux's
    /// `mm->def_flags & VM_LOCKED`): new mappings and heap growth are
    /// faulted in at once. Not inherited by `fork` (Linux's `mm_init`
    /// keeps only `VM_NOHUGEPAGE` of `def_flags`), gone after `execve`.
    pub lock_future: bool,
    /// The executable's page cache object (Linux's `mm->exe_file`, what
    /// `/proc/<pid>/exe` names), with a user of its own, separate from
    /// the one its VMAs hold: given back by `teardown`, taken again by
    /// `fork`. Set with [`AddressSpace::set_exe`].
    pub exe: Option<crate::mm::shm::ShmId>,
}

impl AddressSpace {
    pub fn new(task_size: usize, mmap_lo: usize, mmap_hi: usize) -> Self {
        AddressSpace {
            vmas: VmaSet::new(MAX_MAP_COUNT),
            mmap_lo,
            mmap_hi,
            task_size,
            brk_start: 0,
            brk: 0,
            shares_frames: false,
            lock_future: false,
            exe: None,
        }
    }

    /// The executable is the file whose page cache is `id` (exec): one
    /// more user of it, the address space's `exe_file`; a previous one
    /// is given back.
    pub fn set_exe(&mut self, mmu: &mut dyn Mmu, id: crate::mm::shm::ShmId) -> Result<(), Errno> {
        crate::mm::shm::add_user(id)?;
        if let Some(old) = self.exe.replace(id) {
            crate::mm::shm::remove_user(old, &mut |pa| mmu.free_frame(pa));
        }
        Ok(())
    }

    /// Linux's overcommit heuristic (`__vm_enough_memory`, mode 0): a
    /// single request for more pages than there is RAM is refused.
    pub fn enough_memory(mmu: &dyn Mmu, bytes: usize) -> Result<(), Errno> {
        if bytes / PAGE_SIZE > mmu.total_frames() {
            Err(Errno::ENOMEM)
        } else {
            Ok(())
        }
    }

    /// Split the table at both ends of `[start, end)` (the fallible part of
    /// changing that range), so that the change itself cannot fail.
    fn split_edges(&self, mmu: &mut dyn Mmu, start: usize, end: usize) -> Result<(), Errno> {
        mmu.split(start)?;
        if end < self.task_size {
            mmu.split(end)?;
        }
        Ok(())
    }

    /// Unmap removed pieces from the table, freeing the frames they owned,
    /// and leave the shared memory objects this address space no longer
    /// maps. The range's edges are block boundaries already: nothing can
    /// fail.
    fn release(&self, mmu: &mut dyn Mmu, pieces: &[Vma]) {
        Self::unmap_pieces(mmu, pieces);
        self.leave_objects(mmu, pieces);
    }

    /// The table half of [`AddressSpace::release`].
    fn unmap_pieces(mmu: &mut dyn Mmu, pieces: &[Vma]) {
        for p in pieces {
            crate::mm::must(
                mmu.unmap(p.start, p.size(), owns_frames(p.kind)),
                "unmap after split",
            );
        }
    }

    /// The object half of [`AddressSpace::release`]: leave each object
    /// (shared memory, a file's page cache) the removed `pieces` showed
    /// that no VMA left shows.
    fn leave_objects(&self, mmu: &mut dyn Mmu, pieces: &[Vma]) {
        for (i, p) in pieces.iter().enumerate() {
            if let Some((id, _)) = p.kind.object() {
                let seen = pieces[..i]
                    .iter()
                    .any(|q| q.kind.object().is_some_and(|(j, _)| j == id));
                if !seen && !self.maps_object(id) {
                    crate::mm::shm::remove_user(id, &mut |pa| mmu.free_frame(pa));
                }
            }
        }
    }

    /// Whether a VMA of this address space shows the object `id`.
    fn maps_object(&self, id: crate::mm::shm::ShmId) -> bool {
        self.vmas
            .iter()
            .any(|v| v.kind.object().is_some_and(|(j, _)| j == id))
    }

    /// Call `f` once for each memory object (shared memory, a file's page
    /// cache) this address space maps.
    fn each_object(&self, f: &mut dyn FnMut(crate::mm::shm::ShmId)) {
        let id_of = |v: &Vma| v.kind.object().map(|(id, _)| id);
        let n = self.vmas.iter().filter_map(id_of).count();
        let mut sorted = alloc::vec::Vec::new();
        if sorted.try_reserve_exact(n).is_ok() {
            sorted.extend(self.vmas.iter().filter_map(id_of));
            sorted.sort_unstable();
            sorted.dedup();
            sorted.into_iter().for_each(f);
        } else {
            // No memory for the list: quadratic, but it cannot fail.
            for (i, id) in self.vmas.iter().filter_map(id_of).enumerate() {
                if !self.vmas.iter().filter_map(id_of).take(i).any(|j| j == id) {
                    f(id);
                }
            }
        }
    }

    /// Perform a validated mmap. Returns the address.
    pub fn mmap(&mut self, mmu: &mut dyn Mmu, req: &MmapRequest) -> Result<usize, Errno> {
        let section = mmu.section_size();
        let addr = match req.placement {
            Placement::Fixed => req.addr,
            Placement::FixedNoReplace => {
                if !self.vmas.is_free(req.addr, req.addr + req.len) {
                    return Err(Errno::EEXIST);
                }
                req.addr
            }
            Placement::Hint => {
                let align = if req.len % section == 0 {
                    section
                } else {
                    PAGE_SIZE
                };
                let hint_ok = req.addr != 0 && req.addr >= self.mmap_lo.min(0x10000);
                let hint = if hint_ok { req.addr } else { 0 };
                self.vmas
                    .find_free(req.len, hint, self.mmap_lo, self.mmap_hi, align)
                    .or_else(|| {
                        self.vmas
                            .find_free(req.len, hint, self.mmap_lo, self.mmap_hi, PAGE_SIZE)
                    })
                    .ok_or(Errno::ENOMEM)?
            }
        };
        let end = addr
            .checked_add(req.len)
            .filter(|&e| e <= self.task_size)
            .ok_or(Errno::ENOMEM)?;
        // Accounted as Linux accounts (`accountable_mapping`, shmem's
        // `VM_ACCOUNT`): private writable memory (anonymous or a file's
        // copies), and shared anonymous memory whatever its protection; a
        // shared file mapping is the file's memory, charged by the file.
        let accounted = match req.backing {
            Backing::Anonymous => req.shared || req.prot.write,
            Backing::File { .. } => !req.shared && req.prot.write,
            _ => false,
        };
        if accounted && !req.noreserve {
            Self::enough_memory(mmu, req.len)?;
        }
        // A file's object: this address space becomes a user of it, unless
        // it is one already (one user per address space, whatever the
        // number of its VMAs on the object). Undone below on failure.
        let joined = match req.backing {
            Backing::File { id, .. } if !self.maps_object(id) => {
                crate::mm::shm::add_user(id)?;
                Some(id)
            }
            _ => None,
        };
        let kind = match req.backing {
            Backing::File { id, pgoff } if req.shared => VmaKind::Shm {
                id,
                pgoff,
                may_write: req.may_write,
            },
            Backing::File { id, pgoff } => VmaKind::FilePrivate { id, pgoff },
            Backing::Anonymous if req.shared => VmaKind::Shm {
                id: crate::mm::shm::create()?,
                pgoff: 0,
                may_write: req.may_write,
            },
            Backing::Anonymous => VmaKind::Anonymous {
                shared: false,
                may_write: req.may_write,
            },
            // The driver chose the type (`/dev/mem`: Device or, with
            // O_SYNC, Strongly-ordered; a DMA buffer: a Normal type).
            Backing::Device {
                phys,
                mem,
                may_write,
            } => VmaKind::Device {
                phys,
                mem,
                may_write,
            },
        };
        let vma = Vma {
            start: addr,
            end,
            prot: req.prot,
            kind,
        };
        if let Err(e) = self.place(mmu, vma, req.placement == Placement::Fixed) {
            // A new object nobody maps: gone again (it holds no page); a
            // file this address space just joined: left again (it did not
            // map it before, so nothing it had was replaced).
            let new = match (req.backing, kind) {
                (Backing::Anonymous, VmaKind::Shm { id, .. }) => Some(id),
                _ => joined,
            };
            if let Some(id) = new {
                crate::mm::shm::remove_user(id, &mut |pa| mmu.free_frame(pa));
            }
            return Err(e);
        }
        if let Backing::Device { phys, .. } = req.backing {
            // Driver memory is mapped now, all of it (remap_pfn_range):
            // there is nothing to allocate or fault in.
            if let Err(e) = mmu.map(addr, phys, req.len, user_attrs(req.prot, kind)) {
                crate::mm::must(self.vmas.remove(addr, end), "undo a device VMA");
                return Err(e);
            }
        } else if req.populate || self.lock_future {
            // Best effort, as Linux's MAP_POPULATE: what cannot be
            // allocated now is faulted in later (or fails then).
            let _ = self.populate(mmu, &vma, addr, end);
        }
        Ok(addr)
    }

    /// Fault `[start, end)` of `v` in as Linux's `populate_vma_page_range`
    /// does: private writable memory with write faults (copy-on-write
    /// broken now), the rest with read faults; device memory is mapped
    /// already. Stops at the first page that cannot be had: `EFAULT` for
    /// a page past the end of a file (Linux's `VM_FAULT_SIGBUS` through
    /// `get_user_pages`), `ENOMEM` out of frames; a `PROT_NONE` VMA is
    /// `EFAULT` (`check_vma_flags` without `FOLL_FORCE`).
    fn populate(
        &mut self,
        mmu: &mut dyn Mmu,
        v: &Vma,
        start: usize,
        end: usize,
    ) -> Result<(), Errno> {
        if matches!(v.kind, VmaKind::Device { .. }) {
            return Ok(());
        }
        if !(v.prot.read || v.prot.write || v.prot.exec) {
            return Err(Errno::EFAULT);
        }
        let access = if v.prot.write && !v.kind.is_shared() {
            Access2::Write
        } else {
            Access2::Read
        };
        let mut va = start;
        while va < end {
            if mmu.lookup(va).is_none() || access == Access2::Write {
                match self.fault(mmu, va, access) {
                    Ok(()) => {}
                    Err(Errno::ENOMEM) => return Err(Errno::ENOMEM),
                    Err(_) => return Err(Errno::EFAULT),
                }
            }
            va += PAGE_SIZE;
        }
        Ok(())
    }

    /// Insert the VMA of an mmap, replacing what is there if `fixed`.
    ///
    /// The objects the replaced VMAs showed are left only after the
    /// insertion, so that replacing a mapping of an object by another
    /// mapping of the same object keeps this address space its user.
    fn place(&mut self, mmu: &mut dyn Mmu, vma: Vma, fixed: bool) -> Result<(), Errno> {
        let mut old = alloc::vec::Vec::new();
        if fixed {
            // Linux unmaps first too: if the insert below then fails, the
            // old mapping is gone (do_mmap -> mmap_region).
            self.split_edges(mmu, vma.start, vma.end)?;
            old = self.vmas.remove(vma.start, vma.end)?;
            Self::unmap_pieces(mmu, &old);
        }
        let r = self.vmas.insert(vma);
        self.leave_objects(mmu, &old);
        r
    }

    pub fn munmap(&mut self, mmu: &mut dyn Mmu, r: RangeRequest) -> Result<(), Errno> {
        if self.vmas.is_free(r.start, r.end) {
            return Ok(());
        }
        self.split_edges(mmu, r.start, r.end)?;
        let pieces = self.vmas.remove(r.start, r.end)?;
        self.release(mmu, &pieces);
        Ok(())
    }

    /// `mprotect`: as on Linux, the VMAs before a hole (or before one that
    /// may not take `prot`) are changed, then `ENOMEM` (`EACCES`) returned.
    pub fn mprotect(
        &mut self,
        mmu: &mut dyn Mmu,
        r: RangeRequest,
        prot: Prot,
    ) -> Result<(), Errno> {
        let (stop, err) = self.vmas.protect_extent(r.start, r.end, prot);
        if stop > r.start {
            self.split_edges(mmu, r.start, stop)?;
            let changed = self.vmas.protect(r.start, stop, prot)?;
            for p in changed {
                // Edges are block boundaries and the attributes of a user
                // mapping always encode: cannot fail.
                crate::mm::must(
                    mmu.protect(p.start, p.size(), user_attrs(p.prot, p.kind)),
                    "protect after split",
                );
                // A private file mapping maps the page cache's frames
                // read-only whether or not this space forked.
                let may_share = self.shares_frames || matches!(p.kind, VmaKind::FilePrivate { .. });
                if may_share && p.prot.write && is_private_ram(p.kind) {
                    Self::keep_cow(mmu, &p);
                }
            }
        }
        err.map_or(Ok(()), Err)
    }

    /// Copy-on-write pages of the private VMA `v` (frames with more than
    /// one reference) back to read-only after `v` was made writable: a
    /// write must fault and copy. A block with any such frame stays
    /// read-only whole (the fault splits it). Needs no memory.
    fn keep_cow(mmu: &mut dyn Mmu, v: &Vma) {
        let mut va = v.start;
        while let Some(l) = mmu.next_leaf(va, v.end) {
            let shared = (0..l.size)
                .step_by(PAGE_SIZE)
                .any(|o| mmu.frame_refs(l.pa + o as u64) > 1);
            if shared {
                crate::mm::must(
                    mmu.protect(l.va, l.size, cow_attrs(v.prot, v.kind)),
                    "write-protect a shared frame",
                );
            }
            va = l.va + l.size;
        }
    }

    /// `madvise`, walking the VMAs of the range as Linux's
    /// `madvise_walk_vmas`: each mapped part gets the advice, a hole makes
    /// the result `ENOMEM` once the rest is done, and a VMA the advice
    /// does not apply to stops the walk with its error.
    ///
    /// - `DontNeed`: private pages are dropped (they come back zero-filled,
    ///   or from the file for an ELF segment); shared anonymous memory
    ///   keeps its data (it lives in shmem on Linux); device mappings
    ///   (`VM_PFNMAP`) are `EINVAL`.
    /// - `Free`: only private anonymous memory (`EINVAL` otherwise); the
    ///   pages may be kept, which this kernel does.
    /// - `Remove`: only shared writable anonymous memory (`EACCES` if not
    ///   writable, `EINVAL` if not shared): the data is punched out.
    /// - `Populate{Read,Write}`: fault the range in; `EINVAL` where the
    ///   access is not allowed or for devices, `ENOMEM` out of frames.
    /// - `Hint`: nothing to do beyond the hole rule.
    pub fn madvise(
        &mut self,
        mmu: &mut dyn Mmu,
        r: RangeRequest,
        advice: Advice,
    ) -> Result<(), Errno> {
        let mut result = Ok(());
        let mut covered = r.start;
        let mut at = r.start;
        while at < r.end {
            let Some(v) = self.vmas.iter_from(at).next().copied() else {
                break;
            };
            if v.start >= r.end {
                break;
            }
            if v.start > covered {
                result = Err(Errno::ENOMEM);
            }
            let (a, b) = (v.start.max(r.start), v.end.min(r.end));
            let private_anon = matches!(
                v.kind,
                VmaKind::Anonymous { shared: false, .. } | VmaKind::Heap | VmaKind::Stack
            );
            let shared_anon = matches!(
                v.kind,
                VmaKind::Anonymous { shared: true, .. } | VmaKind::Shm { .. }
            );
            let drop_pages = match advice {
                Advice::Hint => false,
                Advice::DontNeed => match v.kind {
                    VmaKind::Device { .. } => return Err(Errno::EINVAL),
                    _ => !shared_anon,
                },
                Advice::Free if private_anon => false,
                Advice::Free => return Err(Errno::EINVAL),
                Advice::Remove if shared_anon && v.prot.write => true,
                // madvise_remove: a VMA with a file that is not shared and
                // writable is EACCES; without a file, EINVAL.
                Advice::Remove if shared_anon => return Err(Errno::EACCES),
                Advice::Remove if matches!(v.kind, VmaKind::FilePrivate { .. }) => {
                    return Err(Errno::EACCES)
                }
                Advice::Remove => return Err(Errno::EINVAL),
                Advice::PopulateRead | Advice::PopulateWrite => {
                    let write = advice == Advice::PopulateWrite;
                    let ok = !matches!(v.kind, VmaKind::Device { .. })
                        && if write {
                            v.prot.write
                        } else {
                            v.prot.read || v.prot.write
                        };
                    if !ok {
                        return Err(Errno::EINVAL);
                    }
                    let access = if write { Access2::Write } else { Access2::Read };
                    let mut va = a;
                    while va < b {
                        // madvise_populate: a SIGBUS (past the end of a
                        // file) is EFAULT.
                        self.fault(mmu, va, access).map_err(|e| match e {
                            Errno::EIO => Errno::EFAULT,
                            e => e,
                        })?;
                        va += PAGE_SIZE;
                    }
                    false
                }
            };
            if drop_pages {
                mmu.split(a)?;
                if b < self.task_size {
                    mmu.split(b)?;
                }
                crate::mm::must(mmu.unmap(a, b - a, true), "madvise unmap after split");
                if let VmaKind::Shm { id, pgoff, .. } = v.kind {
                    // MADV_REMOVE punches the pages out of the object too.
                    // (Other processes mapping them keep their mapping,
                    // and with it the frame, until they unmap it.) A
                    // file's page whose source has bytes gets a zeroed
                    // page instead, so the hole reads as zero.
                    let first = pgoff + (a - v.start) / PAGE_SIZE;
                    for i in first..first + (b - a) / PAGE_SIZE {
                        let old =
                            crate::mm::shm::punch_page(id, i, &mut || mmu.alloc_zeroed(PAGE_SIZE))?;
                        if let Some(pa) = old {
                            mmu.free_frame(pa);
                        }
                    }
                }
            }
            covered = v.end;
            at = v.end;
        }
        if covered < r.end {
            result = Err(Errno::ENOMEM);
        }
        result
    }

    /// Whether a VMA of this kind and protection is accounted by Linux's
    /// overcommit heuristic (`VM_ACCOUNT`): private writable memory and
    /// shared anonymous memory.
    fn accounted(v: &Vma) -> bool {
        match v.kind {
            VmaKind::Anonymous { shared, .. } => shared || v.prot.write,
            // Shared anonymous memory; a file's object is the file's.
            VmaKind::Shm { id, .. } => crate::mm::shm::file_size(id).is_none(),
            VmaKind::Device { .. } => false,
            _ => v.prot.write,
        }
    }

    /// `mremap`, as Linux's `sys_mremap` (mm/mremap.c): shrink in place,
    /// grow in place when the following range is free, else move
    /// (`MREMAP_MAYMOVE`), to a fixed place (`MREMAP_FIXED`, replacing what
    /// is there), or move leaving the old range mapped but empty
    /// (`MREMAP_DONTUNMAP`). Pages move with their frames (no copy).
    pub fn mremap(&mut self, mmu: &mut dyn Mmu, req: MremapRequest) -> Result<usize, Errno> {
        let (addr, old_len, new_len) = (req.addr, req.old_len, req.new_len);
        let v = *self.vmas.find(addr).ok_or(Errno::EFAULT)?;
        if req.fixed.is_some() || req.dont_unmap {
            return self.mremap_to(mmu, req);
        }
        if old_len >= new_len {
            // Always allowed: unmap the tail.
            let end = addr.checked_add(old_len).filter(|&e| e <= self.task_size);
            let end = end.ok_or(Errno::EINVAL)?;
            if end > addr + new_len {
                self.munmap(
                    mmu,
                    RangeRequest {
                        start: addr + new_len,
                        end,
                    },
                )?;
            }
            return Ok(addr);
        }
        Self::check_resize(&v, addr, old_len, new_len)?;
        let delta = new_len - old_len;
        // Grow in place: old range runs to the VMA's end, room after it.
        if addr + old_len == v.end {
            let room = v
                .end
                .checked_add(delta)
                .filter(|&e| e <= self.task_size && self.vmas.is_free(v.end, e));
            if let Some(new_end) = room {
                if Self::accounted(&v) {
                    Self::enough_memory(mmu, delta)?;
                }
                // Same rights and kind (an object's page offset moved
                // along): it merges into `v`.
                let grown = Vma { end: new_end, ..v };
                self.vmas.insert(grown.clip_to(v.end, new_end))?;
                return Ok(addr);
            }
        }
        if !req.may_move {
            return Err(Errno::ENOMEM);
        }
        if self.vmas.count() >= MAX_MAP_COUNT - 3 {
            return Err(Errno::ENOMEM);
        }
        let new_addr = self
            .vmas
            .find_free(new_len, 0, self.mmap_lo, self.mmap_hi, PAGE_SIZE)
            .ok_or(Errno::ENOMEM)?;
        self.move_vma(mmu, v, addr, old_len, new_len, new_addr, false)
    }

    /// Linux's `vma_to_resize` checks for a growing (or same-size) remap.
    fn check_resize(v: &Vma, addr: usize, old_len: usize, new_len: usize) -> Result<(), Errno> {
        if old_len == 0 && !v.kind.is_shared() {
            return Err(Errno::EINVAL);
        }
        if old_len > v.end - addr {
            return Err(Errno::EFAULT);
        }
        if new_len != old_len && matches!(v.kind, VmaKind::Device { .. }) {
            // VM_PFNMAP mappings cannot grow.
            return Err(Errno::EFAULT);
        }
        if old_len == 0 {
            // Duplicating a shared mapping needs shared page tables: not
            // supported here (Linux warns it is deprecated).
            return Err(Errno::EINVAL);
        }
        Ok(())
    }

    /// Linux's `mremap_to`: `MREMAP_FIXED` and/or `MREMAP_DONTUNMAP`.
    fn mremap_to(&mut self, mmu: &mut dyn Mmu, req: MremapRequest) -> Result<usize, Errno> {
        let (addr, mut old_len, new_len) = (req.addr, req.old_len, req.new_len);
        if let Some(new_addr) = req.fixed {
            if new_addr % PAGE_SIZE != 0
                || new_len > self.task_size
                || new_addr > self.task_size - new_len
            {
                return Err(Errno::EINVAL);
            }
            // The old and new ranges must not overlap.
            if addr + old_len > new_addr && new_addr + new_len > addr {
                return Err(Errno::EINVAL);
            }
        }
        if self.vmas.count() + 2 >= MAX_MAP_COUNT - 3 {
            return Err(Errno::ENOMEM);
        }
        if let Some(new_addr) = req.fixed {
            self.munmap(
                mmu,
                RangeRequest {
                    start: new_addr,
                    end: new_addr + new_len,
                },
            )?;
        }
        if old_len > new_len {
            self.munmap(
                mmu,
                RangeRequest {
                    start: addr + new_len,
                    end: addr + old_len,
                },
            )?;
            old_len = new_len;
        }
        let v = *self.vmas.find(addr).ok_or(Errno::EFAULT)?;
        Self::check_resize(&v, addr, old_len, new_len)?;
        if req.dont_unmap && matches!(v.kind, VmaKind::Device { .. }) {
            return Err(Errno::EINVAL);
        }
        let new_addr = match req.fixed {
            Some(a) => a,
            None => self
                .vmas
                .find_free(new_len, 0, self.mmap_lo, self.mmap_hi, PAGE_SIZE)
                .ok_or(Errno::ENOMEM)?,
        };
        self.move_vma(mmu, v, addr, old_len, new_len, new_addr, req.dont_unmap)
    }

    /// Linux's `move_vma`: the pages of `[addr, addr + old_len)` (inside
    /// `v`) move to `new_addr`, the new VMA is `new_len` long. The page
    /// moves happen first (undone if a table cannot be allocated), then
    /// the VMA set changes in room reserved beforehand: nothing fails
    /// halfway.
    #[allow(clippy::too_many_arguments)]
    fn move_vma(
        &mut self,
        mmu: &mut dyn Mmu,
        v: Vma,
        addr: usize,
        old_len: usize,
        new_len: usize,
        new_addr: usize,
        dont_unmap: bool,
    ) -> Result<usize, Errno> {
        let new_end = new_addr.checked_add(new_len).ok_or(Errno::ENOMEM)?;
        if !self.vmas.is_free(new_addr, new_end) {
            return Err(Errno::ENOMEM);
        }
        let old = v.clip_to(addr, addr + old_len);
        if Self::accounted(&v) {
            let charge = if dont_unmap {
                new_len
            } else {
                new_len - old_len.min(new_len)
            };
            Self::enough_memory(mmu, charge)?;
        }
        // The moved kind: a device's physical start and an ELF segment's
        // file position follow the pages.
        let kind = match old.kind {
            VmaKind::Image(d) => VmaKind::Image(crate::mm::vma::ImageData {
                va: d.va.wrapping_add(new_addr).wrapping_sub(addr),
                ..d
            }),
            k => k,
        };
        let moved = Vma {
            start: new_addr,
            end: new_end,
            prot: v.prot,
            kind,
        };
        // Fallible steps first: room in the VMA set, block edges.
        self.vmas.reserve(4)?;
        self.split_edges(mmu, addr, addr + old_len)?;
        // Move the present pages (map at the new place, same frames and
        // attributes); undo on failure.
        let attrs = user_attrs(moved.prot, moved.kind);
        let ro = cow_attrs(moved.prot, moved.kind);
        let cow = moved.prot.write && is_private_ram(moved.kind);
        let mut off = 0;
        while off < old_len {
            if let Some(pa) = mmu.lookup(addr + off) {
                // A shared frame of private memory stays copy-on-write.
                let attrs = if cow && mmu.frame_refs(pa) > 1 {
                    ro
                } else {
                    attrs
                };
                if let Err(e) = mmu.map(new_addr + off, pa, PAGE_SIZE, attrs) {
                    crate::mm::must(
                        mmu.unmap(new_addr, off.max(PAGE_SIZE), false),
                        "undo a partial move",
                    );
                    return Err(e);
                }
            }
            off += PAGE_SIZE;
        }
        // Cannot fail now: room is reserved and counts were checked.
        if !dont_unmap {
            crate::mm::must(
                self.vmas.cut(addr, addr + old_len),
                "mremap: cut in reserved room",
            );
        }
        crate::mm::must(self.vmas.insert(moved), "mremap: insert in reserved room");
        crate::mm::must(
            mmu.unmap(addr, old_len, false),
            "mremap: unmap the old range",
        );
        Ok(new_addr)
    }

    /// Linux brk: returns the new break, or the old one if it can't move.
    pub fn brk(&mut self, mmu: &mut dyn Mmu, want: usize) -> usize {
        let page = |x: usize| (x + PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
        if want < self.brk_start || want >= self.task_size {
            return self.brk;
        }
        let (old_end, new_end) = (page(self.brk), page(want));
        if new_end > old_end {
            if !self.vmas.is_free(old_end, new_end)
                || Self::enough_memory(mmu, new_end - old_end).is_err()
            {
                return self.brk;
            }
            let v = Vma {
                start: old_end,
                end: new_end,
                prot: Prot {
                    read: true,
                    write: true,
                    exec: false,
                },
                kind: VmaKind::Heap,
            };
            if self.vmas.insert(v).is_err() {
                return self.brk;
            }
            if self.lock_future {
                // do_brk_flags with VM_LOCKED: mm_populate, errors ignored.
                let _ = self.populate(mmu, &v, old_end, new_end);
            }
        } else if new_end < old_end
            && self
                .munmap(
                    mmu,
                    RangeRequest {
                        start: new_end,
                        end: old_end,
                    },
                )
                .is_err()
        {
            return self.brk;
        }
        self.brk = want;
        want
    }

    /// Resolve a fault at `va`: Ok if it is now mapped with the access
    /// allowed. Called for translation faults and for permission faults.
    /// Errors: `EFAULT` outside any mapping (SIGSEGV, maperr), `EACCES`
    /// for an access the mapping does not allow (SIGSEGV, accerr),
    /// `ENOMEM` when no frame or table is left (an out-of-memory kill),
    /// **`EIO` for a page of a file mapping wholly past the end of the
    /// file: `SIGBUS`** (`BUS_ADRERR`, Linux's `VM_FAULT_SIGBUS` from
    /// `shmem_fault`), also after a truncation removed the page
    /// ([`truncate_mappings`]).
    ///
    /// A private file mapping ([`VmaKind::FilePrivate`]) maps the page
    /// cache's frame read-only on a read (so the file's later writes show
    /// through) and a copy of it on a write.
    ///
    /// A write to a present page of writable private memory is a
    /// copy-on-write break ([`AddressSpace::break_cow`]); a write to a
    /// present page of writable shared memory re-applies the VMA's
    /// attributes. Either way the page is writable afterwards, so a
    /// permission fault the VMA allows cannot repeat forever; one it does
    /// not allow is `EACCES`.
    pub fn fault(&mut self, mmu: &mut dyn Mmu, va: usize, access: Access2) -> Result<(), Errno> {
        let vma = *self.vmas.find(va).ok_or(Errno::EFAULT)?;
        let allowed = match access {
            Access2::Read => vma.prot.read || vma.prot.write || vma.prot.exec,
            Access2::Write => vma.prot.write,
            Access2::Execute => vma.prot.exec,
        };
        if !allowed {
            return Err(Errno::EACCES);
        }
        let page = va & !(PAGE_SIZE - 1);
        let attrs = user_attrs(vma.prot, vma.kind);
        if let Some(leaf) = mmu.next_leaf(page, page + PAGE_SIZE) {
            // Present. Reads and executes the VMA allows are allowed by
            // its attributes (a copy-on-write page is readable).
            if access != Access2::Write {
                return Ok(());
            }
            if is_private_ram(vma.kind) {
                return self.break_cow(mmu, &vma, page, leaf);
            }
            return mmu.protect(leaf.va, leaf.size, attrs);
        }
        if !owns_frames(vma.kind) {
            return Err(Errno::EFAULT);
        }
        if let Some((id, pgoff)) = vma.kind.object() {
            let index = pgoff.saturating_add((page - vma.start) / PAGE_SIZE);
            if let Some(size) = crate::mm::shm::file_size(id) {
                if index as u64 >= size.div_ceil(PAGE_SIZE as u64) {
                    return Err(Errno::EIO);
                }
            }
            if matches!(vma.kind, VmaKind::FilePrivate { .. }) {
                return Self::fault_file_private(mmu, &vma, id, index, page, access);
            }
            return Self::fault_shared(mmu, id, index, page, attrs);
        }
        // Anonymous memory: a whole section when its aligned block lies
        // in the VMA and nothing of it is mapped (as Linux's THP), else
        // the fault-around chunk (AArch64: 64 KiB, as arm64's anonymous
        // mTHP), else one page.
        if matches!(vma.kind, VmaKind::Anonymous { .. } | VmaKind::Heap) {
            for size in [mmu.section_size(), mmu.fault_around()] {
                if size > PAGE_SIZE && Self::fault_block(mmu, &vma, va, size, attrs) {
                    return Ok(());
                }
            }
        }
        let pa = mmu.alloc_zeroed(PAGE_SIZE)?;
        if let VmaKind::Image(data) = vma.kind {
            if let Some((off, bytes)) = data.in_page(page, PAGE_SIZE) {
                // SAFETY: `pa` was just allocated for this address space.
                unsafe { mmu.fill_frame(pa, off, bytes) };
            }
        }
        if let Err(e) = mmu.map(page, pa, PAGE_SIZE, attrs) {
            mmu.free_frame(pa);
            return Err(e);
        }
        Ok(())
    }

    /// Map page `index` of the shared memory object `id` at `page`: the
    /// object's frame, or a new zeroed one put into the object (so every
    /// address space mapping the object sees it). The mapping holds a
    /// reference of its own.
    fn fault_shared(
        mmu: &mut dyn Mmu,
        id: crate::mm::shm::ShmId,
        index: usize,
        page: usize,
        attrs: MapAttrs,
    ) -> Result<(), Errno> {
        let (pa, _) = crate::mm::shm::page_or_insert(id, index, &mut |src| {
            let pa = mmu.alloc_zeroed(PAGE_SIZE)?;
            if !src.is_empty() {
                // SAFETY: `pa` was just allocated for this address space.
                unsafe { mmu.fill_frame(pa, 0, src) };
            }
            Ok(pa)
        })?;
        mmu.share_frame(pa)?;
        if let Err(e) = mmu.map(page, pa, PAGE_SIZE, attrs) {
            mmu.free_frame(pa);
            return Err(e);
        }
        Ok(())
    }

    /// Page `index` of the file `id` at `page` of the private file mapping
    /// `vma`, absent so far: the page cache's frame (read in if needed),
    /// read-only with a reference of the mapping's own for a read or an
    /// execute; a copy of it, writable, for a write (Linux's `do_cow_fault`).
    fn fault_file_private(
        mmu: &mut dyn Mmu,
        vma: &Vma,
        id: crate::mm::shm::ShmId,
        index: usize,
        page: usize,
        access: Access2,
    ) -> Result<(), Errno> {
        let (cache, _) = crate::mm::shm::page_or_insert(id, index, &mut |src| {
            let pa = mmu.alloc_zeroed(PAGE_SIZE)?;
            if !src.is_empty() {
                // SAFETY: `pa` was just allocated for this address space.
                unsafe { mmu.fill_frame(pa, 0, src) };
            }
            Ok(pa)
        })?;
        if access == Access2::Write {
            let new = mmu.alloc_frame()?;
            // SAFETY: `new` was just allocated for this address space and
            // nothing else uses it; `cache` is a RAM frame of the page
            // cache, which holds a reference to it (readable through the
            // kernel's map).
            unsafe { mmu.copy_frame(new, cache, vma.prot.exec) };
            if let Err(e) = mmu.map(page, new, PAGE_SIZE, user_attrs(vma.prot, vma.kind)) {
                mmu.free_frame(new);
                return Err(e);
            }
            return Ok(());
        }
        mmu.share_frame(cache)?;
        if let Err(e) = mmu.map(page, cache, PAGE_SIZE, cow_attrs(vma.prot, vma.kind)) {
            mmu.free_frame(cache);
            return Err(e);
        }
        Ok(())
    }

    /// Map the zeroed, aligned `size` block holding `va` if it lies in
    /// `vma` and nothing of it is mapped; `false` (nothing changed) if not,
    /// or if no aligned contiguous frames are free.
    fn fault_block(mmu: &mut dyn Mmu, vma: &Vma, va: usize, size: usize, attrs: MapAttrs) -> bool {
        let block = va & !(size - 1);
        if block < vma.start || block + size > vma.end || !mmu.is_unmapped(block, size) {
            return false;
        }
        let Ok(pa) = mmu.alloc_zeroed(size) else {
            return false;
        };
        if mmu.map(block, pa, size, attrs).is_ok() {
            return true;
        }
        for off in (0..size).step_by(PAGE_SIZE) {
            mmu.free_frame(pa + off as u64);
        }
        false
    }

    /// A write to the present `leaf` holding `page` of the writable private
    /// VMA `vma`: copy-on-write. A frame no one else holds (one
    /// reference) is simply made writable again. A shared frame is copied
    /// into a new one, mapped writable in its place (break-before-make),
    /// and this address space's reference to the old one dropped.
    ///
    /// A section or block (1 MiB on ARMv7-A, 2 MiB on AArch64) whose
    /// frames are all exclusive is made writable whole; if any is shared,
    /// the block is *split* and only the written 4 KiB page is copied,
    /// as Linux does for a shared transparent huge page (it splits the
    /// PMD in `do_huge_pmd_wp_page`): copying the whole block would cost
    /// 256 or 512 frames and a copy of 1 or 2 MiB for one write, and
    /// need an aligned contiguous run that a fragmented pool may not have;
    /// the split needs only one table.
    pub fn break_cow(
        &mut self,
        mmu: &mut dyn Mmu,
        vma: &Vma,
        page: usize,
        leaf: Leaf,
    ) -> Result<(), Errno> {
        let rw = user_attrs(vma.prot, vma.kind);
        let mut leaf = leaf;
        if leaf.size > PAGE_SIZE {
            let exclusive = (0..leaf.size)
                .step_by(PAGE_SIZE)
                .all(|o| mmu.frame_refs(leaf.pa + o as u64) <= 1);
            if exclusive {
                return mmu.protect(leaf.va, leaf.size, rw);
            }
            mmu.split(page)?;
            if page + PAGE_SIZE < self.task_size {
                mmu.split(page + PAGE_SIZE)?;
            }
            leaf = mmu
                .next_leaf(page, page + PAGE_SIZE)
                .filter(|l| l.va == page && l.size == PAGE_SIZE)
                .ok_or(Errno::EFAULT)?;
        }
        let old = leaf.pa;
        if mmu.frame_refs(old) <= 1 {
            return mmu.protect(page, PAGE_SIZE, rw);
        }
        let new = mmu.alloc_frame()?;
        // SAFETY: `new` was just allocated for this address space; `old`
        // is a RAM frame it maps (private memory owns RAM frames only).
        unsafe { mmu.copy_frame(new, old, vma.prot.exec) };
        if let Err(e) = mmu.replace(page, new, rw) {
            mmu.free_frame(new);
            return Err(e);
        }
        // The old translation is gone from every TLB: drop our reference.
        mmu.free_frame(old);
        Ok(())
    }

    /// `fork`: a copy of this address space for a child, whose table is
    /// `child` (empty). The VMAs are copied; pages are shared, lazily:
    ///
    /// - private writable memory (anonymous, heap, stack, ELF data) becomes
    ///   copy-on-write: read-only in both, each frame one reference more
    ///   (a write faults and copies, [`AddressSpace::break_cow`]); the
    ///   parent's entries are write-protected through [`Mmu::protect`],
    ///   break-before-make with TLB invalidation;
    /// - other private memory (read-only, executable) is shared with the
    ///   same rights, one reference more per frame;
    /// - shared anonymous memory keeps its object: the child maps the same
    ///   frames (one reference more each) and becomes one more user, so a
    ///   page first touched after the fork, by either side, is seen by both;
    /// - `/dev/mem` mappings map the same physical pages with the same
    ///   memory type (no references: not RAM frames);
    /// - sections and blocks stay whole in both.
    ///
    /// Like Linux's `dup_mmap`, each private writable VMA is charged to the
    /// overcommit heuristic ([`AddressSpace::enough_memory`]) first. On a
    /// failure (`ENOMEM`: a VMA list, a table or a count that cannot be
    /// had) the child is torn down completely, every reference it took is
    /// dropped, and the parent stays as it was, except that pages already
    /// write-protected stay so (their next write finds one reference and
    /// just makes them writable).
    pub fn fork(&mut self, mmu: &mut dyn Mmu, child: &mut dyn Mmu) -> Result<AddressSpace, Errno> {
        for v in self.vmas.iter() {
            if Self::accounted(v) && !v.kind.is_shared() {
                Self::enough_memory(child, v.size())?;
            }
        }
        let mut c = AddressSpace {
            vmas: self.vmas.try_clone()?,
            mmap_lo: self.mmap_lo,
            mmap_hi: self.mmap_hi,
            task_size: self.task_size,
            brk_start: self.brk_start,
            brk: self.brk,
            shares_frames: true,
            lock_future: false,
            exe: None,
        };
        if let Some(id) = self.exe {
            crate::mm::shm::add_user(id)?;
            c.exe = Some(id);
        }
        self.shares_frames = true;
        // One more user of each object. Undone by hand on failure: the
        // child's teardown would remove a user of every object it maps.
        let mut users = Ok(());
        let mut added = 0usize;
        self.each_object(&mut |id| {
            if users.is_ok() {
                users = crate::mm::shm::add_user(id);
                added += usize::from(users.is_ok());
            }
        });
        if let Err(e) = users {
            let mut n = 0;
            self.each_object(&mut |id| {
                if n < added {
                    crate::mm::shm::remove_user(id, &mut |_| {});
                    n += 1;
                }
            });
            if let Some(id) = c.exe {
                crate::mm::shm::remove_user(id, &mut |_| {});
            }
            return Err(e);
        }
        if let Err(e) = self.fork_pages(mmu, child) {
            c.teardown(child);
            return Err(e);
        }
        Ok(c)
    }

    /// The page-table half of [`AddressSpace::fork`]: every present block
    /// of the parent into `child`, VMA by VMA ([`Mmu::fork_range`]):
    /// private writable memory copy-on-write, other RAM shared with the
    /// same rights, device memory mapped again without references.
    fn fork_pages(&self, mmu: &mut dyn Mmu, child: &mut dyn Mmu) -> Result<(), Errno> {
        for v in self.vmas.iter() {
            let share = owns_frames(v.kind);
            let cow = share && v.prot.write && !v.kind.is_shared();
            let attrs = if cow {
                cow_attrs(v.prot, v.kind)
            } else {
                user_attrs(v.prot, v.kind)
            };
            mmu.fork_range(child, v.start, v.size(), attrs, share, cow)?;
        }
        Ok(())
    }

    /// The futex key of the 4-byte word at `va` (Linux's
    /// `get_futex_key`): `EINVAL` if unaligned, `EFAULT` if nothing
    /// readable is mapped there. The page is faulted in (for reading) if
    /// needed. Shared memory (shared anonymous, `/dev/mem`) gives the
    /// word's physical address, the same in every process; private memory
    /// its virtual address.
    pub fn translate_for_futex(
        &mut self,
        mmu: &mut dyn Mmu,
        va: usize,
        _write: bool,
    ) -> Result<FutexKey, Errno> {
        if va % 4 != 0 {
            return Err(Errno::EINVAL);
        }
        let v = *self.vmas.find(va).ok_or(Errno::EFAULT)?;
        if !v.kind.is_shared() {
            return Ok(FutexKey::Private { va });
        }
        match self.fault(mmu, va, Access2::Read) {
            Ok(()) => {}
            Err(Errno::ENOMEM) => return Err(Errno::ENOMEM),
            Err(_) => return Err(Errno::EFAULT),
        }
        let pa = mmu.lookup(va).ok_or(Errno::EFAULT)?;
        Ok(FutexKey::Shared { pa })
    }

    /// `/proc/<pid>/maps` as Linux writes it ([`AddressSpace::write_maps_files`])
    /// with the executable's file on an unknown device (`00:00`, inode 0).
    pub fn write_maps(&self, out: &mut dyn core::fmt::Write, exe_path: &str) -> core::fmt::Result {
        self.write_maps_of(
            out,
            &MapsFile {
                path: exe_path,
                dev: (0, 0),
                ino: 0,
                sigpage: None,
            },
        )
    }

    /// `/proc/<pid>/maps` in Linux's format (`show_map_vma`,
    /// fs/proc/task_mmu.c): one line per VMA,
    /// `%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu ` (start, end, r/w/x,
    /// s or p, offset, device, inode), then, for a named mapping, spaces
    /// up to column `25 + 6 * sizeof(void *) - 1` (`seq_setwidth` and
    /// `seq_pad`: 48 on 32-bit, 72 on 64-bit), one more space and the
    /// name. Names: the executable for ELF segments (offset: the file
    /// offset the VMA's start shows), `[heap]`, `[stack]`, `/dev/mem` (the
    /// physical address as offset), `/dev/zero (deleted)` for shared
    /// anonymous memory (the object page offset); none for private
    /// anonymous memory.
    ///
    /// Without a file system to name them, file mappings show as the
    /// object they are ([`AddressSpace::write_maps_files`] names them).
    pub fn write_maps_of(
        &self,
        out: &mut dyn core::fmt::Write,
        exe: &MapsFile,
    ) -> core::fmt::Result {
        self.write_maps_files(out, exe, &|_, _| {})
    }

    /// [`AddressSpace::write_maps_of`] with file mappings named by the
    /// file system: `files(id, found)` calls `found` with the file whose
    /// page cache is the object `id` ([`FileNames`]). A file mapping then
    /// shows the file's device, inode and path, with ` (deleted)` after
    /// the path of a file that was unlinked (Linux's `d_path`), a newline
    /// in the path as `\012` (`seq_file_path`), and as offset the file
    /// offset its start maps (`vm_pgoff << 12`). A file the lookup does
    /// not know shows as an unnamed object (the shmem device, the
    /// object's id as inode).
    pub fn write_maps_files(
        &self,
        out: &mut dyn core::fmt::Write,
        exe: &MapsFile,
        files: FileNames,
    ) -> core::fmt::Result {
        self.write_maps_width(out, exe, files, 25 + 6 * core::mem::size_of::<usize>() - 1)
    }

    /// [`AddressSpace::write_maps_files`] with the name column given.
    fn write_maps_width(
        &self,
        out: &mut dyn core::fmt::Write,
        exe: &MapsFile,
        files: FileNames,
        width: usize,
    ) -> core::fmt::Result {
        for v in self.vmas.iter() {
            let file = v
                .kind
                .object()
                .filter(|&(id, _)| crate::mm::shm::file_size(id).is_some());
            if let Some((id, pgoff)) = file {
                let off = (pgoff as u64) << 12;
                let mut r = None;
                files(id, &mut |f| {
                    let name = MapsName {
                        path: f.path,
                        deleted: f.deleted,
                    };
                    r = Some(maps_line(out, v, off, f.dev, f.ino, Some(name), width));
                });
                match r {
                    Some(r) => r?,
                    None => maps_line(out, v, off, SHMEM_DEV, u64::from(id), None, width)?,
                }
                continue;
            }
            let (off, dev, ino, name): (u64, (u32, u32), u64, Option<&str>) = match v.kind {
                VmaKind::Image(_) if exe.sigpage == Some(v.start) => {
                    (0, (0, 0), 0, Some("[sigpage]"))
                }
                VmaKind::Image(d) => {
                    let off = (d.file_offset as i128 + v.start as i128 - d.va as i128).max(0);
                    (off as u64, exe.dev, exe.ino, Some(exe.path))
                }
                VmaKind::Device { phys, .. } => (phys, DEV_MEM_DEV, DEV_MEM_INO, Some("/dev/mem")),
                VmaKind::Shm { id, pgoff, .. } => (
                    (pgoff as u64) << 12,
                    SHMEM_DEV,
                    u64::from(id),
                    Some("/dev/zero (deleted)"),
                ),
                // A private file mapping of an object the lookup above
                // did not take (not a file: cannot happen).
                VmaKind::FilePrivate { id, pgoff } => {
                    ((pgoff as u64) << 12, SHMEM_DEV, u64::from(id), None)
                }
                VmaKind::Heap => (0, (0, 0), 0, Some("[heap]")),
                VmaKind::Stack => (0, (0, 0), 0, Some("[stack]")),
                // Linux names any VMA without a file that touches the
                // brk area `[heap]` (`show_map_vma`: `vm_start <= brk &&
                // vm_end >= start_brk`): the `.bss` past an executable's
                // file pages, which ends where the heap starts.
                VmaKind::Anonymous { shared: false, .. }
                    if v.start <= self.brk && v.end >= self.brk_start =>
                {
                    (0, (0, 0), 0, Some("[heap]"))
                }
                VmaKind::Anonymous { .. } => (0, (0, 0), 0, None),
            };
            let name = name.map(|path| MapsName {
                path,
                deleted: false,
            });
            maps_line(out, v, off, dev, ino, name, width)?;
        }
        Ok(())
    }

    /// A file shrank: unmap every page of every VMA on the file's object
    /// `id` that shows an object page at or past `first_page_gone`,
    /// dropping the mapping's frame reference: page-cache frames of
    /// shared and private mappings, and the private copies a private
    /// mapping made of such pages (Linux's `truncate_pagecache` ->
    /// `unmap_mapping_range(..., even_cows = 1)`). The next touch of such
    /// a page faults and, the page lying past the end, gets `SIGBUS`.
    /// Object mappings use 4 KiB pages only, so nothing needs splitting
    /// and nothing can fail.
    pub fn truncate_mappings(
        &mut self,
        mmu: &mut dyn Mmu,
        id: crate::mm::shm::ShmId,
        first_page_gone: usize,
    ) {
        for v in self.vmas.iter() {
            let Some((j, pgoff)) = v.kind.object() else {
                continue;
            };
            let skip = first_page_gone.saturating_sub(pgoff);
            if j != id || skip >= v.size() / PAGE_SIZE {
                continue;
            }
            let from = v.start + skip * PAGE_SIZE;
            let mut va = from;
            while let Some(l) = mmu.next_leaf(va, v.end) {
                if l.va < from || l.va + l.size > v.end {
                    // A block across the cut (never made for objects):
                    // page it, then look again.
                    crate::mm::must(mmu.split(from), "truncate: split");
                    crate::mm::must(mmu.split(l.va + l.size), "truncate: split");
                    continue;
                }
                crate::mm::must(mmu.unmap(l.va, l.size, true), "truncate: unmap");
                va = l.va + l.size;
            }
        }
    }

    /// `msync(start, len, flags)` as Linux 6.1's `sys_msync`: flags other
    /// than `MS_ASYNC|MS_INVALIDATE|MS_SYNC`, an unaligned `start`, or
    /// `MS_ASYNC` with `MS_SYNC`: `EINVAL`; `len` rounded up to pages,
    /// `start + len` wrapping: `ENOMEM`; an empty range: done. Then the
    /// VMAs of the range are walked: running out of VMAs before the end
    /// is `ENOMEM`; a hole is `ENOMEM` at once with plain `MS_ASYNC`, else
    /// remembered and returned (`ENOMEM`) after the walk.
    ///
    /// Nothing is written back: every file lives in memory, its page cache
    /// is the file, and a shared mapping writes the cache's frames
    /// directly, so `read` sees every write at once (`MS_SYNC`'s
    /// `vfs_fsync_range` has nothing to do on tmpfs either).
    /// `MS_INVALIDATE` of an `mlock`ed range would be `EBUSY` on Linux;
    /// this kernel keeps no lock state (see [`AddressSpace::mlock`]), so it
    /// never is.
    pub fn msync(&self, start: usize, len: usize, flags: u32) -> Result<(), Errno> {
        if flags & !(MS_ASYNC | MS_INVALIDATE | MS_SYNC) != 0
            || start % PAGE_SIZE != 0
            || (flags & MS_ASYNC != 0 && flags & MS_SYNC != 0)
        {
            return Err(Errno::EINVAL);
        }
        // (len + ~PAGE_MASK) & PAGE_MASK in unsigned long.
        let len = len.wrapping_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
        let end = start.wrapping_add(len);
        if end < start {
            return Err(Errno::ENOMEM);
        }
        if end == start {
            return Ok(());
        }
        let mut unmapped = Ok(());
        let mut start = start;
        let mut vmas = self.vmas.iter_from(start);
        loop {
            let v = vmas.next().ok_or(Errno::ENOMEM)?;
            if start < v.start {
                if flags == MS_ASYNC {
                    return Err(Errno::ENOMEM);
                }
                start = v.start;
                if start >= end {
                    return Err(Errno::ENOMEM);
                }
                unmapped = Err(Errno::ENOMEM);
            }
            start = v.end;
            if start >= end {
                return unmapped;
            }
        }
    }

    /// One step of `mincore` (Linux's `do_mincore`): the residency of the
    /// pages from `start` (page-aligned) to the end of the VMA holding it
    /// or `out.len()` pages, whichever comes first, one byte each (1:
    /// resident) into `out`; returns how many. `ENOMEM` if no VMA holds
    /// `start`.
    ///
    /// A page mapped in the table is resident. An absent page is resident
    /// if its memory object has it (shared memory, a file's page cache:
    /// Linux's `mincore_page` looks at the cache, not the table), or, for
    /// an ELF segment, if the file holds bytes for it (the executable is in
    /// memory); absent private anonymous memory is not. Device memory is
    /// mapped whole, hence resident.
    pub fn mincore_step(
        &self,
        mmu: &dyn Mmu,
        start: usize,
        out: &mut [u8],
    ) -> Result<usize, Errno> {
        let v = self.vmas.find(start).ok_or(Errno::ENOMEM)?;
        let n = ((v.end - start) / PAGE_SIZE).min(out.len());
        for (i, b) in out[..n].iter_mut().enumerate() {
            let page = start + i * PAGE_SIZE;
            let resident = mmu.lookup(page).is_some()
                || match v.kind {
                    VmaKind::Shm { id, pgoff, .. } | VmaKind::FilePrivate { id, pgoff } => {
                        let index = pgoff.saturating_add((page - v.start) / PAGE_SIZE);
                        crate::mm::shm::page(id, index).is_some()
                    }
                    VmaKind::Image(d) => d.in_page(page, PAGE_SIZE).is_some(),
                    VmaKind::Device { .. } => true,
                    VmaKind::Anonymous { .. } | VmaKind::Heap | VmaKind::Stack => false,
                };
            *b = u8::from(resident);
        }
        Ok(n)
    }

    /// Whether VMAs cover `[start, end)` without a hole.
    fn covers(&self, start: usize, end: usize) -> bool {
        let mut at = start;
        for v in self.vmas.iter_from(start) {
            if v.start > at {
                return false;
            }
            at = v.end;
            if at >= end {
                return true;
            }
        }
        false
    }

    /// `mlock`/`mlock2` of the decoded range `r` (Linux's `do_mlock`):
    /// `ENOMEM` if any part of it is not mapped (`apply_vma_lock_flags`),
    /// then, unless `on_fault` (`MLOCK_ONFAULT`), every page is faulted in
    /// as `__mm_populate` does (device memory is skipped, a `PROT_NONE`
    /// VMA or a page past the end of a file fails); a failure is turned
    /// into mlock's errno by `__mlock_posix_error_return`: `EFAULT` is
    /// `ENOMEM`, `ENOMEM` (no frame) is `EAGAIN`.
    ///
    /// Pages are never swapped out or migrated here, so residency is all
    /// a lock means: no `VM_LOCKED` state is kept (so `msync`'s
    /// `MS_INVALIDATE` is never `EBUSY`, `/proc` shows no `VmLck`), and
    /// `RLIMIT_MEMLOCK` does not apply (every task is root, with
    /// `CAP_IPC_LOCK`).
    pub fn mlock(
        &mut self,
        mmu: &mut dyn Mmu,
        r: RangeRequest,
        on_fault: bool,
    ) -> Result<(), Errno> {
        if !self.covers(r.start, r.end) {
            return Err(Errno::ENOMEM);
        }
        if on_fault {
            return Ok(());
        }
        self.populate_range(mmu, r.start, r.end, false)
            .map_err(|e| match e {
                Errno::ENOMEM => Errno::EAGAIN,
                _ => Errno::ENOMEM,
            })
    }

    /// `munlock`: `ENOMEM` if any part of `r` is not mapped, as
    /// `apply_vma_lock_flags`; nothing else to undo (see
    /// [`AddressSpace::mlock`]).
    pub fn munlock(&self, r: RangeRequest) -> Result<(), Errno> {
        if self.covers(r.start, r.end) {
            Ok(())
        } else {
            Err(Errno::ENOMEM)
        }
    }

    /// `mlockall(flags)`: no flag, an unknown flag, or `MCL_ONFAULT` alone
    /// is `EINVAL`; `MCL_CURRENT` (without `MCL_ONFAULT`) faults in every
    /// mapping now, ignoring what cannot be had (`mm_populate`);
    /// `MCL_FUTURE` (without `MCL_ONFAULT`) does so for every later
    /// mapping and heap growth ([`AddressSpace::lock_future`]).
    pub fn mlockall(&mut self, mmu: &mut dyn Mmu, flags: u32) -> Result<(), Errno> {
        if flags == 0
            || flags & !(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0
            || flags == MCL_ONFAULT
        {
            return Err(Errno::EINVAL);
        }
        let on_fault = flags & MCL_ONFAULT != 0;
        self.lock_future = flags & MCL_FUTURE != 0 && !on_fault;
        if flags & MCL_CURRENT != 0 && !on_fault {
            let _ = self.populate_range(mmu, 0, self.task_size, true);
        }
        Ok(())
    }

    /// `munlockall`: later mappings are no longer faulted in at once.
    pub fn munlockall(&mut self) {
        self.lock_future = false;
    }

    /// Linux's `__mm_populate` over `[start, end)`: each VMA's part is
    /// populated ([`AddressSpace::populate`]); with `ignore_errors` a VMA
    /// that fails is skipped, else the first failure is returned.
    fn populate_range(
        &mut self,
        mmu: &mut dyn Mmu,
        start: usize,
        end: usize,
        ignore_errors: bool,
    ) -> Result<(), Errno> {
        let mut at = start;
        while at < end {
            let Some(v) = self.vmas.iter_from(at).next().copied() else {
                break;
            };
            if v.start >= end {
                break;
            }
            let (a, b) = (v.start.max(at), v.end.min(end));
            match self.populate(mmu, &v, a, b) {
                Err(e) if !ignore_errors => return Err(e),
                _ => {}
            }
            at = v.end;
        }
        Ok(())
    }

    /// Remove everything (task exit). Device mappings are unmapped first
    /// without freeing anything; then the whole user range in one walk, so
    /// no block needs splitting and nothing can fail or be left behind;
    /// then this address space leaves the shared memory objects it mapped.
    pub fn teardown(&mut self, mmu: &mut dyn Mmu) {
        for v in self.vmas.iter().filter(|v| !owns_frames(v.kind)) {
            crate::mm::must(mmu.unmap_dead(v.start, v.size(), false), "teardown: device");
        }
        // Only where VMAs are (a walk of the whole user range costs a
        // visit of every top-level entry): runs of adjacent VMAs at once.
        let mut run: Option<(usize, usize)> = None;
        for v in self.vmas.iter() {
            run = match run {
                Some((s, e)) if e == v.start => Some((s, v.end)),
                Some((s, e)) => {
                    crate::mm::must(mmu.unmap_dead(s, e - s, true), "teardown");
                    Some((v.start, v.end))
                }
                None => Some((v.start, v.end)),
            };
        }
        if let Some((s, e)) = run {
            crate::mm::must(mmu.unmap_dead(s, e - s, true), "teardown");
        }
        self.each_object(&mut |id| crate::mm::shm::remove_user(id, &mut |pa| mmu.free_frame(pa)));
        if let Some(id) = self.exe.take() {
            crate::mm::shm::remove_user(id, &mut |pa| mmu.free_frame(pa));
        }
        self.vmas = VmaSet::new(self.vmas.max_count());
    }
}

/// What `/proc/<pid>/maps` shows for a file mapping: the file system's
/// answer for the file whose page cache a mapping shows.
#[derive(Clone, Copy, Debug)]
pub struct MappedFile<'a> {
    /// The file's path (as `d_path` gives it, without ` (deleted)`).
    pub path: &'a str,
    /// The file system's device (major, minor).
    pub dev: (u32, u32),
    pub ino: u64,
    /// Unlinked: ` (deleted)` follows the path.
    pub deleted: bool,
}

/// The file system's lookup for `/proc/<pid>/maps`
/// ([`AddressSpace::write_maps_files`]): `files(id, found)` calls `found`
/// once with the file whose page cache is the memory object `id`, or not
/// at all if no file has that object. (A callback, so the path may be
/// borrowed from wherever the file system keeps or builds it.)
pub type FileNames<'a> = &'a dyn Fn(crate::mm::shm::ShmId, &mut dyn FnMut(&MappedFile));

/// A name column of `/proc/<pid>/maps`.
struct MapsName<'a> {
    path: &'a str,
    deleted: bool,
}

/// One line of `/proc/<pid>/maps` (`show_map_vma`).
fn maps_line(
    out: &mut dyn core::fmt::Write,
    v: &Vma,
    off: u64,
    dev: (u32, u32),
    ino: u64,
    name: Option<MapsName>,
    width: usize,
) -> core::fmt::Result {
    let mut line = Counted { out, n: 0 };
    write!(
        line,
        "{:08x}-{:08x} {}{}{}{} {:08x} {:02x}:{:02x} {} ",
        v.start,
        v.end,
        if v.prot.read { 'r' } else { '-' },
        if v.prot.write { 'w' } else { '-' },
        if v.prot.exec { 'x' } else { '-' },
        if v.kind.is_shared() { 's' } else { 'p' },
        off,
        dev.0,
        dev.1,
        ino
    )?;
    if let Some(name) = name {
        let pad = width.saturating_sub(line.n);
        write!(line, "{:pad$} ", "", pad = pad)?;
        // seq_file_path(m, file, "\n"): a newline is escaped in octal.
        for (i, part) in name.path.split('\n').enumerate() {
            if i > 0 {
                line.write_str("\\012")?;
            }
            line.write_str(part)?;
        }
        if name.deleted {
            line.write_str(" (deleted)")?;
        }
    }
    line.write_char('\n')
}

/// `AddressSpace::truncate_mappings` as a function: what the file
/// system calls for every address space when a file shrinks
/// (`ftruncate`), after [`crate::mm::shm::set_file_size`].
pub fn truncate_mappings(
    space: &mut AddressSpace,
    mmu: &mut dyn Mmu,
    id: crate::mm::shm::ShmId,
    first_page_gone: usize,
) {
    space.truncate_mappings(mmu, id, first_page_gone)
}

/// `msync` flags (asm-generic/mman-common.h; ARM and arm64 use them).
pub const MS_ASYNC: u32 = 1;
pub const MS_INVALIDATE: u32 = 2;
pub const MS_SYNC: u32 = 4;

/// `mlockall` flags.
pub const MCL_CURRENT: u32 = 1;
pub const MCL_FUTURE: u32 = 2;
pub const MCL_ONFAULT: u32 = 4;
/// `mlock2`'s one flag.
pub const MLOCK_ONFAULT: u32 = 1;

/// A `fmt::Write` that counts what it passes on (for `seq_pad`).
struct Counted<'a> {
    out: &'a mut dyn core::fmt::Write,
    n: usize,
}

impl core::fmt::Write for Counted<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.n += s.chars().count();
        self.out.write_str(s)
    }
}

mod elf_map;
pub use elf_map::FileSegment;

#[cfg(test)]
mod elf_map_tests;
#[cfg(test)]
mod file_tests;
#[cfg(test)]
mod fork_tests;
#[cfg(test)]
mod tests;
