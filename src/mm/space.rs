//! A user address space: the VMA set plus the architecture's page table,
//! and the Linux memory syscalls performed on them (after `mm_args` has
//! validated the arguments: decode, then perform).
//!
//! Anonymous memory is allocated lazily, on the first fault; a fault in a
//! 1 MiB-aligned block lying entirely inside an anonymous mapping tries a
//! whole section first (like transparent huge pages), and falls back to
//! 4 KiB pages.

use crate::errno::Errno;
use crate::mm::memtype::{Access, MapAttrs, MemoryType};
use crate::mm::vma::{Vma, VmaKind, VmaSet};
use crate::syscall::mm_args::{Backing, MmapRequest, Placement, Prot, RangeRequest, PAGE_SIZE};

/// What the address space needs from the architecture and the frame pool.
pub trait Mmu {
    fn map(&mut self, va: usize, pa: u64, size: usize, attrs: MapAttrs) -> Result<(), Errno>;
    /// Unmap everything present; report each removed block (va, pa, size)
    /// after its TLB entries are gone.
    fn unmap(
        &mut self,
        va: usize,
        size: usize,
        removed: &mut dyn FnMut(usize, u64, usize),
    ) -> Result<(), Errno>;
    fn protect(&mut self, va: usize, size: usize, attrs: MapAttrs) -> Result<(), Errno>;
    /// Physical address `va` translates to, if present.
    fn lookup(&self, va: usize) -> Option<u64>;
    /// Whether nothing at all is mapped in `[va, va + size)`.
    fn is_unmapped(&self, va: usize, size: usize) -> bool;
    /// A zeroed frame of `size` bytes (4 KiB, or a section), aligned to it.
    fn alloc_zeroed(&mut self, size: usize) -> Result<u64, Errno>;
    fn free_frame(&mut self, pa: u64);
    /// Copy `data` into frame `pa` at `offset` (through the kernel's map).
    fn fill_frame(&mut self, pa: u64, offset: usize, data: &[u8]);
    /// The block size the table can map in one entry (1 MiB on ARMv7).
    fn section_size(&self) -> usize;
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

fn owns_frames(kind: VmaKind) -> bool {
    !matches!(kind, VmaKind::Device { .. })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access2 {
    Read,
    Write,
    Execute,
}

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
            vmas: VmaSet::new(65530),
            mmap_lo,
            mmap_hi,
            task_size,
            brk_start: 0,
            brk: 0,
        }
    }

    /// Unmap [start, end) from the table and free the frames it owned.
    fn release(mmu: &mut dyn Mmu, pieces: &[Vma]) -> Result<(), Errno> {
        for p in pieces {
            let own = owns_frames(p.kind);
            let mut frees: alloc::vec::Vec<(u64, usize)> = alloc::vec::Vec::new();
            mmu.unmap(p.start, p.end - p.start, &mut |_, pa, size| {
                if own {
                    frees.push((pa, size));
                }
            })?;
            for (pa, size) in frees {
                for off in (0..size).step_by(PAGE_SIZE) {
                    mmu.free_frame(pa + off as u64);
                }
            }
        }
        Ok(())
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
            Backing::Anonymous => VmaKind::Anonymous { shared: req.shared },
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
        let vma = Vma {
            start: addr,
            end,
            prot: req.prot,
            kind,
        };
        if req.placement == Placement::Fixed {
            let old = self.vmas.remove(addr, end)?;
            Self::release(mmu, &old)?;
        }
        self.vmas.insert(vma)?;
        if let Backing::DevMem { phys, .. } = req.backing {
            // Device registers are mapped now: there is nothing to allocate.
            if let Err(e) = mmu.map(addr, phys, req.len, user_attrs(req.prot, kind)) {
                let _ = self.vmas.remove(addr, end);
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
        let pieces = self.vmas.remove(r.start, r.end)?;
        Self::release(mmu, &pieces)
    }

    pub fn mprotect(
        &mut self,
        mmu: &mut dyn Mmu,
        r: RangeRequest,
        prot: Prot,
    ) -> Result<(), Errno> {
        let changed = self.vmas.protect(r.start, r.end, prot)?;
        for p in changed {
            mmu.protect(p.start, p.end - p.start, user_attrs(p.prot, p.kind))?;
        }
        Ok(())
    }

    /// `madvise(MADV_DONTNEED)`: private anonymous pages are dropped and
    /// read back as zero, as on Linux.
    pub fn discard(&mut self, mmu: &mut dyn Mmu, r: RangeRequest) -> Result<(), Errno> {
        let pieces: alloc::vec::Vec<Vma> = self
            .vmas
            .iter()
            .filter(|v| v.end > r.start && v.start < r.end && owns_frames(v.kind))
            .map(|v| Vma {
                start: v.start.max(r.start),
                end: v.end.min(r.end),
                ..*v
            })
            .collect();
        Self::release(mmu, &pieces)
    }

    /// Linux brk: returns the new break, or the old one if it can't move.
    pub fn brk(&mut self, mmu: &mut dyn Mmu, want: usize) -> usize {
        let page = |x: usize| (x + PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
        if want < self.brk_start || want >= self.task_size {
            return self.brk;
        }
        let (old_end, new_end) = (page(self.brk), page(want));
        if new_end > old_end {
            if !self.vmas.is_free(old_end, new_end) {
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
    /// allowed, Err(()) if the task must get a signal.
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
        if let Err(e) = mmu.map(page, pa, PAGE_SIZE, attrs) {
            mmu.free_frame(pa);
            return Err(e);
        }
        Ok(())
    }

    /// Remove everything (task exit).
    pub fn teardown(&mut self, mmu: &mut dyn Mmu) {
        if let Ok(all) = self.vmas.remove(0, self.task_size) {
            let _ = Self::release(mmu, &all);
        }
    }
}
