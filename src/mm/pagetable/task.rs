//! A task's translation table as the neutral address-space code sees it
//! ([`Mmu`]): the engine over a root table with the task's ASID, and user
//! frames from the kernel's allocator. What is architectural (the
//! hardware table environment, freeing the root and the ASID's TLB
//! entries, instruction-cache maintenance, the independent decoder) comes
//! from a [`TableHost`].

use super::{Format, Table, TableEnv};
use crate::errno::Errno;
use crate::mm::audit::Mapping;
use crate::mm::frame::FrameAllocator;
use crate::mm::kmem::KernelMemory;
use crate::mm::memtype::MapAttrs;
use crate::mm::space::{Leaf, Mmu};
use core::marker::PhantomData;

/// A table environment that also holds the frame allocator (the memory
/// manager's lock is held while it lives).
pub trait WithFrames {
    fn frames(&mut self) -> &mut FrameAllocator;
}

/// What a task's table needs from its architecture besides the format.
pub trait TableHost<F: Format>: KernelMemory {
    /// The hardware table environment (real barriers and TLB maintenance).
    type Env<'a>: TableEnv<F> + WithFrames;
    /// Run `f` with the environment, under the memory manager's lock.
    fn with_env<R>(f: impl FnOnce(&mut Self::Env<'_>) -> R) -> R;
    /// Make `len` bytes just written at kernel address `va` visible to
    /// instruction fetch.
    fn sync_icache(va: usize, len: usize);
    /// The block a lazy fault may map in one entry (a section or 2 MiB).
    const SECTION_SIZE: usize;
    /// The chunk of anonymous memory a lazy fault maps when no section
    /// fits ([`crate::mm::space::Mmu::fault_around`]).
    const FAULT_AROUND: usize = PAGE;
    /// Visit every present block of the live `table`, decoded by the
    /// architecture's independent decoder.
    fn walk(table: &Table<F>, visit: &mut dyn FnMut(&Mapping));
    /// The task is gone: drop its ASID's TLB entries and free the root.
    fn release(table: &Table<F>);
    /// The address space will never run again: when this returns no CPU
    /// walks `table` (if it is the one installed, walks through it are
    /// turned off) and no TLB holds an entry of its ASID, so its entries
    /// and tables may be cleared and freed without maintenance
    /// ([`Table::clear_dead`]). Until another table is installed.
    fn retire(table: &Table<F>);
}

/// A task's table: the engine's [`Table`] and its architecture.
pub struct TaskTable<F: Format, H: TableHost<F>> {
    pub table: Table<F>,
    host: PhantomData<fn() -> H>,
}

impl<F: Format, H: TableHost<F>> TaskTable<F, H> {
    /// Take ownership of a zeroed root table (freed through
    /// [`TableHost::release`] on drop).
    pub fn new(table: Table<F>) -> Self {
        TaskTable {
            table,
            host: PhantomData,
        }
    }

    fn env<R>(&self, f: impl FnOnce(&Table<F>, &mut H::Env<'_>) -> R) -> R {
        H::with_env(|e| f(&self.table, e))
    }
}

/// Free a run of `count` frames from `start` that an unmap reported.
fn free_run(e: &mut impl WithFrames, run: Option<(u64, usize)>) {
    if let Some((start, count)) = run {
        crate::mm::must(
            e.frames().free_contiguous(start, count),
            "free unmapped frames",
        );
    }
}

impl<F, H> Drop for TaskTable<F, H>
where
    F: Format,
    H: TableHost<F>,
{
    fn drop(&mut self) {
        H::release(&self.table);
    }
}

const PAGE: usize = 4096;

impl<F: Format + 'static, H: TableHost<F> + 'static> Mmu for TaskTable<F, H> {
    fn map(&mut self, va: usize, pa: u64, size: usize, attrs: MapAttrs) -> Result<(), Errno> {
        self.env(|t, e| t.map(e, va as u64, pa, size as u64, attrs))
            .map_err(Errno::from)
    }

    fn split(&mut self, va: usize) -> Result<(), Errno> {
        self.env(|t, e| t.split_at(e, va as u64))
            .map_err(Errno::from)
    }

    fn unmap(&mut self, va: usize, size: usize, free_frames: bool) -> Result<(), Errno> {
        self.env(|t, e| {
            // Physically consecutive blocks are freed as one run (a
            // fault-around chunk or a section's pages: one bitmap update
            // instead of one per page).
            let mut run: Option<(u64, usize)> = None;
            let r = t.unmap(e, va as u64, size as u64, &mut |e, _, p, s| {
                // Reported after the TLB invalidation: the frames are
                // unreachable, so they may be reused at once.
                if !free_frames {
                    return;
                }
                let n = s as usize / PAGE;
                match run {
                    Some((start, count)) if start + (count * PAGE) as u64 == p => {
                        run = Some((start, count + n));
                    }
                    _ => free_run(e, run.replace((p, n))),
                }
            });
            free_run(e, run);
            r
        })
        .map_err(Errno::from)
    }

    fn protect(&mut self, va: usize, size: usize, attrs: MapAttrs) -> Result<(), Errno> {
        self.env(|t, e| t.protect(e, va as u64, size as u64, attrs))
            .map_err(Errno::from)
    }

    fn lookup(&self, va: usize) -> Option<u64> {
        let p = self.env(|t, e| t.lookup(e, va as u64))?;
        Some(p.pa + (va as u64 - p.va))
    }

    fn alloc_zeroed(&mut self, size: usize) -> Result<u64, Errno> {
        let frames = size / PAGE;
        let pa = H::with_frames(|f| {
            if frames == 1 {
                f.alloc()
            } else {
                f.alloc_contiguous(frames, frames)
            }
        })?;
        // SAFETY: fresh frames owned by us, mapped by the linear map as
        // Normal memory, page-aligned.
        unsafe { crate::mm::pageops::zero_pages(H::phys_to_virt(pa), size) };
        Ok(pa)
    }

    fn alloc_frame(&mut self) -> Result<u64, Errno> {
        H::with_frames(|f| f.alloc())
    }

    fn free_frame(&mut self, pa: u64) {
        H::with_frames(|f| {
            crate::mm::must(f.free(pa), "free a frame");
        });
    }

    unsafe fn fill_frame(&mut self, pa: u64, offset: usize, data: &[u8]) {
        let n = data.len().min(PAGE.saturating_sub(offset));
        let dst = H::phys_to_virt(pa) + offset;
        // SAFETY: the caller's contract: `pa` is a frame this address space
        // owns; the linear map covers it; the copy stays inside the frame.
        unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), dst as *mut u8, n) };
        // The frame may hold code.
        H::sync_icache(dst, n);
    }

    fn total_frames(&self) -> usize {
        H::with_frames(|f| f.total())
    }

    fn next_leaf(&self, va: usize, end: usize) -> Option<Leaf> {
        let p = self.env(|t, e| t.next_present(e, va as u64, end as u64))?;
        Some(Leaf {
            va: usize::try_from(p.va).ok()?,
            pa: p.pa,
            size: usize::try_from(p.size).ok()?,
        })
    }

    fn replace(&mut self, va: usize, pa: u64, attrs: MapAttrs) -> Result<(), Errno> {
        self.env(|t, e| t.replace_page(e, va as u64, pa, attrs))
            .map_err(Errno::from)
    }

    fn share_frame(&mut self, pa: u64) -> Result<(), Errno> {
        H::with_frames(|f| f.share(pa)).map_err(Errno::from)
    }

    fn frame_refs(&self, pa: u64) -> usize {
        H::with_frames(|f| f.refcount(pa))
    }

    unsafe fn copy_frame(&mut self, dst: u64, src: u64, exec: bool) {
        let d = H::phys_to_virt(dst);
        let s = H::phys_to_virt(src);
        // SAFETY: the caller's contract: `dst` is a frame this address
        // space just allocated and nothing else uses, `src` a RAM frame
        // it maps; the linear map covers both; distinct frames never
        // overlap.
        unsafe { crate::mm::pageops::copy_page(d, s) };
        // Only a page mapped executable needs its new instructions made
        // visible to instruction fetch (ARM ARM B2.2.7 / D7.5.9), as
        // Linux's __sync_icache_dcache does only for exec mappings.
        if exec {
            H::sync_icache(d, PAGE);
        }
    }

    fn section_size(&self) -> usize {
        H::SECTION_SIZE
    }

    fn fault_around(&self) -> usize {
        H::FAULT_AROUND
    }

    fn walk(&self, visit: &mut dyn FnMut(&Mapping)) {
        H::walk(&self.table, visit)
    }

    fn as_any_mut(&mut self) -> Option<&mut dyn core::any::Any> {
        Some(self)
    }

    /// Table by table ([`Table::fork_into`]) when the child is a table of
    /// this kind (always, for tasks); block by block otherwise.
    fn fork_range(
        &mut self,
        child: &mut dyn Mmu,
        va: usize,
        size: usize,
        attrs: MapAttrs,
        share: bool,
        cow: bool,
    ) -> Result<(), Errno> {
        let Some(c) = child.as_any_mut().and_then(|a| a.downcast_mut::<Self>()) else {
            return crate::mm::space::fork_range_by_leaf(self, child, va, size, attrs, share, cow);
        };
        let ct = c.table;
        let end = va.checked_add(size).ok_or(Errno::EINVAL)?;
        let r = self.env(|t, e| {
            t.fork_into(
                e,
                &ct,
                va as u64,
                end as u64,
                attrs,
                cow,
                &mut |e, pa, size| {
                    if !share {
                        return true;
                    }
                    let n = size / PAGE as u64;
                    for i in 0..n {
                        if e.frames().share(pa + i * PAGE as u64).is_err() {
                            for j in 0..i {
                                crate::mm::must(
                                    e.frames().free(pa + j * PAGE as u64),
                                    "fork: unshare",
                                );
                            }
                            return false;
                        }
                    }
                    true
                },
            )
        });
        match r {
            Ok(()) => Ok(()),
            // A block straddling the VMA's edge.
            Err(super::MapError::OutOfRange) => Err(Errno::EINVAL),
            Err(e) => Err(Errno::from(e)),
        }
    }

    /// Retire the table ([`TableHost::retire`]: no walks, no TLB entries
    /// of its ASID), then clear without maintenance
    /// ([`Table::clear_dead`]); a block straddling the range's edge takes
    /// the general `unmap`, which splits it.
    fn unmap_dead(&mut self, va: usize, size: usize, free_frames: bool) -> Result<(), Errno> {
        H::retire(&self.table);
        let end = va.checked_add(size).ok_or(Errno::EINVAL)?;
        let r = self.env(|t, e| {
            t.clear_dead(e, va as u64, end as u64, &mut |e, p, s| {
                if free_frames {
                    // One page (the common case): the single-frame free,
                    // without the run's checks.
                    let r = if s == PAGE as u64 {
                        e.frames().free(p)
                    } else {
                        e.frames().free_contiguous(p, s as usize / PAGE)
                    };
                    crate::mm::must(r, "free a dead table's frames");
                }
            })
        });
        match r {
            Ok(()) => Ok(()),
            Err(_) => self.unmap(va, size, free_frames),
        }
    }
}
