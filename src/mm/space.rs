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
        (va..va + size)
            .step_by(PAGE_SIZE)
            .all(|v| self.lookup(v).is_none())
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
    /// Visit every present block or page of the table, decoded from the raw
    /// descriptors by the architecture's independent decoder (for the
    /// invariant auditor, `mm::audit`).
    fn walk(&self, visit: &mut dyn FnMut(&crate::mm::audit::Mapping));
    /// Frames of RAM the kernel manages (Linux's `totalram_pages`): the
    /// overcommit heuristic's limit for one request.
    fn total_frames(&self) -> usize;
}

/// Memory attributes of a user mapping with this protection and kind.
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
        }
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

    /// Unmap removed pieces from the table, freeing the frames they owned.
    /// The range's edges are block boundaries already: nothing can fail.
    fn release(mmu: &mut dyn Mmu, pieces: &[Vma]) {
        for p in pieces {
            crate::mm::must(
                mmu.unmap(p.start, p.size(), owns_frames(p.kind)),
                "unmap after split",
            );
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
        let kind = match req.backing {
            Backing::Anonymous => VmaKind::Anonymous {
                shared: req.shared,
                may_write: req.may_write,
            },
            Backing::DevMem {
                phys,
                sync,
                may_write,
            } => VmaKind::Device {
                phys,
                // O_SYNC: Strongly-ordered (Linux pgprot_noncached); else
                // shareable Device: writes may be buffered, never
                // speculative or merged.
                mem: if sync {
                    MemoryType::StronglyOrdered
                } else {
                    MemoryType::DeviceShareable
                },
                may_write,
            },
        };
        // Accounted as Linux accounts: private writable memory, and shared
        // anonymous memory (shmem) whatever its protection.
        let accounted = match kind {
            VmaKind::Anonymous { shared, .. } => shared || req.prot.write,
            _ => false,
        };
        if accounted && !req.noreserve {
            Self::enough_memory(mmu, req.len)?;
        }
        let vma = Vma {
            start: addr,
            end,
            prot: req.prot,
            kind,
        };
        if req.placement == Placement::Fixed {
            // Linux unmaps first too: if the insert below then fails, the
            // old mapping is gone (do_mmap -> mmap_region).
            self.split_edges(mmu, addr, end)?;
            let old = self.vmas.remove(addr, end)?;
            Self::release(mmu, &old);
        }
        self.vmas.insert(vma)?;
        if let Backing::DevMem { phys, .. } = req.backing {
            // Device registers are mapped now: there is nothing to allocate.
            if let Err(e) = mmu.map(addr, phys, req.len, user_attrs(req.prot, kind)) {
                crate::mm::must(self.vmas.remove(addr, end), "undo a device VMA");
                return Err(e);
            }
        } else if req.populate {
            // Best effort, as Linux's MAP_POPULATE: what cannot be
            // allocated now is faulted in later (or fails then).
            let mut va = addr;
            while va < end && self.fault(mmu, va, Access2::Read).is_ok() {
                va += PAGE_SIZE;
            }
        }
        Ok(addr)
    }

    pub fn munmap(&mut self, mmu: &mut dyn Mmu, r: RangeRequest) -> Result<(), Errno> {
        if self.vmas.is_free(r.start, r.end) {
            return Ok(());
        }
        self.split_edges(mmu, r.start, r.end)?;
        let pieces = self.vmas.remove(r.start, r.end)?;
        Self::release(mmu, &pieces);
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
            }
        }
        err.map_or(Ok(()), Err)
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
            let shared_anon = matches!(v.kind, VmaKind::Anonymous { shared: true, .. });
            let drop_pages = match advice {
                Advice::Hint => false,
                Advice::DontNeed => match v.kind {
                    VmaKind::Device { .. } => return Err(Errno::EINVAL),
                    _ => !shared_anon,
                },
                Advice::Free if private_anon => false,
                Advice::Free => return Err(Errno::EINVAL),
                Advice::Remove if shared_anon && v.prot.write => true,
                Advice::Remove if shared_anon => return Err(Errno::EACCES),
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
                        self.fault(mmu, va, access)?;
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
                // Same rights and kind: it merges into `v`.
                self.vmas.insert(Vma {
                    start: v.end,
                    end: new_end,
                    ..v
                })?;
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
        let shared = matches!(
            v.kind,
            VmaKind::Anonymous { shared: true, .. } | VmaKind::Device { .. }
        );
        if old_len == 0 && !shared {
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
        let mut off = 0;
        while off < old_len {
            if let Some(pa) = mmu.lookup(addr + off) {
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
    /// allowed. Errors: `EFAULT` outside any mapping (SIGSEGV, maperr),
    /// `EACCES` for an access the mapping does not allow (SIGSEGV,
    /// accerr), `ENOMEM` when no frame is left (an out-of-memory kill).
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
        if mmu.lookup(page).is_some() {
            return Ok(()); // already there (e.g. a populate loop)
        }
        if !owns_frames(vma.kind) {
            return Err(Errno::EFAULT);
        }
        let attrs = user_attrs(vma.prot, vma.kind);
        let section = mmu.section_size();
        let block = va & !(section - 1);
        if matches!(vma.kind, VmaKind::Anonymous { .. } | VmaKind::Heap)
            && block >= vma.start
            && block + section <= vma.end
            && mmu.is_unmapped(block, section)
        {
            if let Ok(pa) = mmu.alloc_zeroed(section) {
                if mmu.map(block, pa, section, attrs).is_ok() {
                    return Ok(());
                }
                for off in (0..section).step_by(PAGE_SIZE) {
                    mmu.free_frame(pa + off as u64);
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

    /// Remove everything (task exit). Device mappings are unmapped first
    /// without freeing anything; then the whole user range in one walk, so
    /// no block needs splitting and nothing can fail or be left behind.
    pub fn teardown(&mut self, mmu: &mut dyn Mmu) {
        for v in self.vmas.iter().filter(|v| !owns_frames(v.kind)) {
            crate::mm::must(mmu.unmap(v.start, v.size(), false), "teardown: device");
        }
        crate::mm::must(mmu.unmap(0, self.task_size, true), "teardown");
        self.vmas = VmaSet::new(self.vmas.max_count());
    }
}

#[cfg(test)]
mod tests;
