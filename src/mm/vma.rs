//! The set of regions a user address space has mapped: Linux's VMAs.
//!
//! A [`VmaSet`] is pure bookkeeping: it knows which virtual ranges are
//! mapped, with which rights and what backs them, and nothing about page
//! tables. Every operation validates first and then either succeeds
//! completely or leaves the set untouched, so the caller can derive
//! page-table work from the returned pieces and never has to roll back.
//!
//! Invariants, kept by every operation:
//! * VMAs are sorted, non-overlapping, non-empty and page-aligned;
//! * no two neighbouring VMAs could be merged (they touch, have the same
//!   rights and a compatible kind), so the set is the unique, smallest
//!   description of the address space and `count()` is meaningful against
//!   `max_count`;
//! * no VMA is writable and executable (this kernel's W^X policy);
//! * a `Device` VMA is never executable, is writable only if `may_write`,
//!   and its physical range neither wraps nor is unaligned.
//!
//! Storage is an AVL tree with per-subtree gap summaries ([`tree`]): a
//! lookup, an insertion, a removal and the top-down free-area search are
//! O(log n) whatever the number of VMAs (up to `vm.max_map_count`, 65 530,
//! as on Linux), and every allocation is fallible and made before anything
//! changes.

use alloc::vec::Vec;

use crate::errno::Errno;
use crate::mm::memtype::MemoryType;
use crate::syscall::mm_args::{Prot, PAGE_SIZE};

mod tree;
use tree::{Tree, NIL};

/// What backs a VMA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmaKind {
    /// Zero-filled memory, private or shared (shared survives fork shared).
    Anonymous {
        shared: bool,
        /// Linux's `VM_MAYWRITE`: false for a shared mapping of a
        /// `/dev/zero` fd opened read-only, which `mprotect` may then never
        /// make writable (`EACCES`).
        may_write: bool,
    },
    /// Physical device memory (`/dev/mem`).
    Device {
        /// Physical address that `vma.start` maps to.
        phys: u64,
        mem: MemoryType,
        /// Whether `mprotect` may ever make it writable (Linux's
        /// `VM_MAYWRITE`: only shared mappings of an `O_RDWR` fd).
        may_write: bool,
    },
    /// An ELF segment: a private mapping of the executable. Pages come in
    /// on first touch, filled from the file bytes they overlap (zero
    /// elsewhere: `.bss`), and come back from the file after
    /// `MADV_DONTNEED`, as Linux's private file mappings do.
    Image(ImageData),
    /// The main thread's stack.
    Stack,
    /// The `brk` heap.
    Heap,
    /// Shared anonymous memory (`MAP_SHARED|MAP_ANONYMOUS`, a shared
    /// mapping of `/dev/zero`): a window on a shared memory object
    /// ([`crate::mm::shm`]) that outlives `fork`. Page `i` of the VMA is
    /// page `pgoff + i` of the object.
    Shm {
        id: crate::mm::shm::ShmId,
        /// The object page that `vma.start` shows.
        pgoff: usize,
        /// As for [`VmaKind::Anonymous`] (`VM_MAYWRITE`).
        may_write: bool,
    },
    /// A private file mapping (`MAP_PRIVATE` of a regular file):
    /// copy-on-write over the file's page cache, the object `id`
    /// ([`crate::mm::shm::create_file`]). A read maps the cache frame
    /// read-only, so the file's later writes show through until the page
    /// is written; a write copies the cache page into a frame of the
    /// mapping's own. Page `i` of the VMA is page `pgoff + i` of the file.
    /// Like [`VmaKind::Shm`], the address space is a user of the object
    /// while a VMA on it exists. Always `VM_MAYWRITE` (private).
    ///
    /// A *shared* file mapping needs no kind of its own: it is a
    /// [`VmaKind::Shm`] on the file's object (the frames, faults, fork and
    /// `madvise` behave exactly as for shared anonymous memory); what
    /// differs (`SIGBUS` past the end, no overcommit charge, the name in
    /// `/proc/<pid>/maps`) is a property of the object, which knows it is
    /// a file ([`crate::mm::shm::file_size`] is `Some`).
    FilePrivate {
        id: crate::mm::shm::ShmId,
        /// The file page that `vma.start` shows.
        pgoff: usize,
    },
}

impl VmaKind {
    /// Memory whose pages are the same for every mapping of it (shared
    /// anonymous memory, devices), as opposed to private memory, which a
    /// `fork` makes copy-on-write.
    pub fn is_shared(&self) -> bool {
        matches!(
            self,
            VmaKind::Anonymous { shared: true, .. } | VmaKind::Shm { .. } | VmaKind::Device { .. }
        )
    }

    /// The memory object the VMA is a window on (shared memory, a file's
    /// page cache) and the object page its start shows.
    pub fn object(&self) -> Option<(crate::mm::shm::ShmId, usize)> {
        match *self {
            VmaKind::Shm { id, pgoff, .. } | VmaKind::FilePrivate { id, pgoff } => {
                Some((id, pgoff))
            }
            _ => None,
        }
    }
}

/// The file bytes behind an ELF segment: `bytes` appear at user address
/// `va` (the segment's `p_vaddr`); the rest of the VMA reads as zero.
#[derive(Clone, Copy)]
pub struct ImageData {
    pub bytes: &'static [u8],
    pub va: usize,
    /// Where `bytes` start in the file (`p_offset`), for
    /// `/proc/<pid>/maps`.
    pub file_offset: u64,
}

impl ImageData {
    /// No file bytes: all zero (tests, and segments with `p_filesz` 0).
    pub const ZERO: ImageData = ImageData {
        bytes: &[],
        va: 0,
        file_offset: 0,
    };

    /// The part of the file bytes that lands in `[page, page + len)`, as
    /// (offset in the page, bytes).
    pub fn in_page(&self, page: usize, len: usize) -> Option<(usize, &'static [u8])> {
        let lo = page.max(self.va);
        let hi = page
            .saturating_add(len)
            .min(self.va.saturating_add(self.bytes.len()));
        (hi > lo).then(|| (lo - page, &self.bytes[lo - self.va..hi - self.va]))
    }
}

/// Same segment: same bytes (by address, not content) at the same place.
impl PartialEq for ImageData {
    fn eq(&self, o: &Self) -> bool {
        self.va == o.va
            && self.file_offset == o.file_offset
            && self.bytes.len() == o.bytes.len()
            && core::ptr::eq(self.bytes.as_ptr(), o.bytes.as_ptr())
    }
}
impl Eq for ImageData {}

impl core::fmt::Debug for ImageData {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} file bytes at {:#x}", self.bytes.len(), self.va)
    }
}

/// One mapped region `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vma {
    pub start: usize,
    pub end: usize,
    pub prot: Prot,
    pub kind: VmaKind,
}

impl Vma {
    /// Length in bytes (0 for a malformed, inverted VMA).
    pub fn size(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    /// Whether `addr` lies inside.
    pub fn contains(&self, addr: usize) -> bool {
        self.start <= addr && addr < self.end
    }

    /// The part `[start, end)` of this VMA, with a device's physical address
    /// moved along. Callers pass a sub-range of `self`.
    fn clip(&self, start: usize, end: usize) -> Vma {
        let kind = match self.kind {
            VmaKind::Device {
                phys,
                mem,
                may_write,
            } => VmaKind::Device {
                // Exact for sub-ranges: insert checked that the whole
                // physical range is representable.
                phys: phys.saturating_add(start.saturating_sub(self.start) as u64),
                mem,
                may_write,
            },
            VmaKind::Shm {
                id,
                pgoff,
                may_write,
            } => VmaKind::Shm {
                id,
                pgoff: pgoff.saturating_add(start.saturating_sub(self.start) / PAGE_SIZE),
                may_write,
            },
            VmaKind::FilePrivate { id, pgoff } => VmaKind::FilePrivate {
                id,
                pgoff: pgoff.saturating_add(start.saturating_sub(self.start) / PAGE_SIZE),
            },
            other => other,
        };
        Vma {
            start,
            end,
            prot: self.prot,
            kind,
        }
    }

    /// The part `[start, end)` of this VMA (a sub-range of it).
    pub fn clip_to(&self, start: usize, end: usize) -> Vma {
        self.clip(start, end)
    }

    /// Whether `next` continues `self` so exactly that one VMA could
    /// describe both: touching, same rights, same kind, and for devices
    /// the same memory type and contiguous physical addresses.
    fn can_merge(&self, next: &Vma) -> bool {
        if self.end != next.start || self.prot != next.prot {
            return false;
        }
        match (self.kind, next.kind) {
            (
                VmaKind::Anonymous {
                    shared: a,
                    may_write: wa,
                },
                VmaKind::Anonymous {
                    shared: b,
                    may_write: wb,
                },
            ) => a == b && wa == wb,
            (
                VmaKind::Device {
                    phys: pa,
                    mem: ma,
                    may_write: wa,
                },
                VmaKind::Device {
                    phys: pb,
                    mem: mb,
                    may_write: wb,
                },
            ) => ma == mb && wa == wb && pa.checked_add(self.size() as u64) == Some(pb),
            (VmaKind::Image(a), VmaKind::Image(b)) => a == b,
            (
                VmaKind::Shm {
                    id: ia,
                    pgoff: oa,
                    may_write: wa,
                },
                VmaKind::Shm {
                    id: ib,
                    pgoff: ob,
                    may_write: wb,
                },
            ) => ia == ib && wa == wb && oa.checked_add(self.size() / PAGE_SIZE) == Some(ob),
            (
                VmaKind::FilePrivate { id: ia, pgoff: oa },
                VmaKind::FilePrivate { id: ib, pgoff: ob },
            ) => ia == ib && oa.checked_add(self.size() / PAGE_SIZE) == Some(ob),
            (VmaKind::Stack, VmaKind::Stack) | (VmaKind::Heap, VmaKind::Heap) => true,
            _ => false,
        }
    }

    /// Whether this kind of VMA may carry `prot`: never W+X, and a device
    /// never executable nor writable unless `may_write`.
    fn allows(&self, prot: Prot) -> bool {
        if prot.is_write_exec() {
            return false;
        }
        match self.kind {
            VmaKind::Device { may_write, .. } => !prot.exec && (may_write || !prot.write),
            VmaKind::Anonymous { may_write, .. } | VmaKind::Shm { may_write, .. } => {
                may_write || !prot.write
            }
            _ => true,
        }
    }
}

const fn is_page_aligned(addr: usize) -> bool {
    addr & (PAGE_SIZE - 1) == 0
}

/// Appends `v` to a sorted run, merging it into the last element if they
/// are compatible.
fn push_merged(out: &mut Vec<Vma>, v: Vma) {
    if let Some(last) = out.last_mut() {
        if last.can_merge(&v) {
            last.end = v.end;
            return;
        }
    }
    out.push(v);
}

/// A run of VMAs in the tree: the node before it (`NIL` if none), its
/// first and last nodes (`NIL` if empty) and its length.
struct Hits {
    before: u32,
    first: u32,
    last: u32,
    k: usize,
}

/// A user address space's regions: sorted, non-overlapping, page-aligned,
/// maximally merged.
#[derive(Clone)]
pub struct VmaSet {
    tree: Tree,
    /// Like Linux's `vm.max_map_count`: operations that would leave more
    /// VMAs than this fail with `ENOMEM`.
    max_count: usize,
}

impl core::fmt::Debug for VmaSet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        struct List<'a>(&'a VmaSet);
        impl core::fmt::Debug for List<'_> {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.debug_list().entries(self.0.iter()).finish()
            }
        }
        f.debug_struct("VmaSet")
            .field("vmas", &List(self))
            .field("max_count", &self.max_count)
            .finish()
    }
}

impl VmaSet {
    /// A copy (for `fork`), or `ENOMEM`.
    pub fn try_clone(&self) -> Result<VmaSet, Errno> {
        Ok(VmaSet {
            tree: self.tree.try_clone()?,
            max_count: self.max_count,
        })
    }

    /// An empty address space allowing at most `max_count` VMAs.
    pub fn new(max_count: usize) -> Self {
        VmaSet {
            tree: Tree::new(),
            max_count,
        }
    }

    /// All VMAs in address order.
    pub fn iter(&self) -> impl Iterator<Item = &Vma> {
        self.tree.iter_from_node(self.tree.after(NIL))
    }

    /// The VMAs that end after `addr`, in address order (the one holding
    /// `addr`, if any, first).
    pub fn iter_from(&self, addr: usize) -> impl Iterator<Item = &Vma> {
        self.tree.iter_from_node(self.tree.first_ending_after(addr))
    }

    /// The VMA containing `addr`, if any.
    pub fn find(&self, addr: usize) -> Option<&Vma> {
        self.iter_from(addr).next().filter(|v| v.start <= addr)
    }

    /// Whether nothing is mapped in `[start, end)`. An empty range is free;
    /// an inverted one is not.
    pub fn is_free(&self, start: usize, end: usize) -> bool {
        if start >= end {
            return start == end;
        }
        self.iter_from(start).next().is_none_or(|v| v.start >= end)
    }

    /// Number of VMAs.
    pub fn count(&self) -> usize {
        self.tree.len()
    }

    /// The VMA limit this set was created with.
    pub fn max_count(&self) -> usize {
        self.max_count
    }

    /// Total bytes mapped.
    pub fn mapped_bytes(&self) -> usize {
        self.iter()
            .fold(0usize, |acc, v| acc.saturating_add(v.size()))
    }

    /// The VMAs meeting `[start, end)`.
    fn hits(&self, start: usize, end: usize) -> Hits {
        let first = self.tree.first_ending_after(start);
        let (mut t, mut last, mut k) = (first, NIL, 0);
        while t != NIL && self.tree.vma(t).start < end {
            last = t;
            k += 1;
            t = self.tree.after(t);
        }
        Hits {
            before: self.tree.before(first),
            first,
            last,
            k,
        }
    }

    /// Finds room for `len` bytes.
    ///
    /// A non-zero, page-aligned `hint` is used as is if `[hint, hint+len)`
    /// is free and inside `[lo, hi)`. Otherwise the highest free, `align`ed
    /// address in `[lo, hi)` is returned, searching downwards like Linux's
    /// `arch_get_unmapped_area_topdown`. `align` (a power of two; anything
    /// at or below `PAGE_SIZE` means page alignment) lets large mappings
    /// land on 1 MiB boundaries so they can use section entries; a caller
    /// that gets `None` with a large `align` can retry with `PAGE_SIZE`.
    /// `None` if `len` is 0 or unaligned, `align` is not a power of two, or
    /// nothing fits.
    ///
    /// O(log n) with page alignment: the search skips every subtree whose
    /// largest hole is shorter than `len`.
    pub fn find_free(
        &self,
        len: usize,
        hint: usize,
        lo: usize,
        hi: usize,
        align: usize,
    ) -> Option<usize> {
        if len == 0 || !is_page_aligned(len) {
            return None;
        }
        let align = if align <= PAGE_SIZE {
            PAGE_SIZE
        } else if align.is_power_of_two() {
            align
        } else {
            return None;
        };
        let lo = lo.checked_add(PAGE_SIZE - 1)? & !(PAGE_SIZE - 1);
        let hi = hi & !(PAGE_SIZE - 1);
        if lo >= hi || len > hi - lo {
            return None;
        }
        // Now lo + len <= hi, so nothing below can overflow.
        if hint != 0 && is_page_aligned(hint) && hint >= lo && hint <= hi - len {
            let hint_end = hint + len;
            if self.is_free(hint, hint_end) {
                return Some(hint);
            }
        }
        self.tree.find_free_top_down(len, lo, hi, align)
    }

    /// Checks the parts of a VMA that do not depend on the rest of the set.
    fn validate(vma: &Vma) -> Result<(), Errno> {
        if vma.start >= vma.end || !is_page_aligned(vma.start) || !is_page_aligned(vma.end) {
            return Err(Errno::EINVAL);
        }
        if let VmaKind::Device { phys, .. } = vma.kind {
            let aligned = phys % PAGE_SIZE as u64 == 0;
            if !aligned || phys.checked_add(vma.size() as u64).is_none() {
                return Err(Errno::EINVAL);
            }
        }
        if !vma.allows(vma.prot) {
            return Err(Errno::EACCES);
        }
        Ok(())
    }

    /// Adds `vma`, merging it with compatible neighbours.
    ///
    /// Errors, with the set unchanged: `EINVAL` for an empty or unaligned
    /// range or a malformed device range; `EACCES` if the kind may not
    /// carry the rights (W+X, executable or non-`may_write` writable
    /// device); `EEXIST` if it overlaps a mapping (callers clear the range
    /// first); `ENOMEM` if the set would exceed `max_count`.
    pub fn insert(&mut self, vma: Vma) -> Result<(), Errno> {
        Self::validate(&vma)?;
        // Fast path: a lone VMA, added in one descent (or nothing done).
        if self.count() < self.max_count
            && self.tree.ensure_room(1).is_ok()
            && self.tree.insert_lone(&vma)
        {
            return Ok(());
        }
        let next = self.tree.first_ending_after(vma.start);
        let next_vma = (next != NIL).then(|| self.tree.vma(next));
        if next_vma.is_some_and(|n| n.start < vma.end) {
            return Err(Errno::EEXIST);
        }
        let prev = self.tree.before(next);
        let prev_vma = (prev != NIL).then(|| self.tree.vma(prev));
        let merge_prev = prev_vma.filter(|p| p.can_merge(&vma));
        let merge_next = next_vma.filter(|n| vma.can_merge(n));

        let run = usize::from(merge_prev.is_some()) + usize::from(merge_next.is_some());
        if self.count() + 1 - run > self.max_count {
            return Err(Errno::ENOMEM);
        }

        let mut merged = vma;
        if let Some(p) = merge_prev {
            merged.start = p.start;
            merged.kind = p.kind;
        }
        if let Some(n) = merge_next {
            merged.end = n.end;
        }
        let before = if merge_prev.is_some() {
            self.tree.before(prev)
        } else {
            prev
        };
        self.tree.replace_run(before, run, &[merged])
    }

    /// Unmaps `[start, end)`: VMAs inside are dropped, VMAs partly inside
    /// are cut (a device's physical address follows its new start).
    ///
    /// Returns what was removed, clipped to the range, in address order;
    /// holes are fine (Linux's `munmap` of an unmapped range succeeds).
    /// Errors, with the set unchanged: `EINVAL` for an unaligned or
    /// inverted range; `ENOMEM` if cutting a hole in the middle of one VMA
    /// would exceed `max_count` (as Linux's `do_vmi_align_munmap`).
    pub fn remove(&mut self, start: usize, end: usize) -> Result<Vec<Vma>, Errno> {
        if start > end || !is_page_aligned(start) || !is_page_aligned(end) {
            return Err(Errno::EINVAL);
        }
        let mut removed = Vec::new();
        // Fast path: exactly one whole VMA, removed in one descent (or
        // nothing done).
        if start < end && self.count() <= self.max_count && removed.try_reserve_exact(1).is_ok() {
            if let Some(v) = self.tree.remove_exact(start, end) {
                removed.push(v);
                return Ok(removed);
            }
        }
        let hits = self.hits(start, end);
        removed
            .try_reserve_exact(hits.k)
            .map_err(|_| Errno::ENOMEM)?;
        removed.extend(
            self.tree
                .iter_from_node(hits.first)
                .take(hits.k)
                .map(|v| v.clip(v.start.max(start), v.end.min(end))),
        );
        self.cut_hits(start, end, &hits)?;
        Ok(removed)
    }

    /// [`VmaSet::remove`] without the list of what was removed: with room
    /// [reserved](VmaSet::reserve) first, it allocates nothing.
    pub fn cut(&mut self, start: usize, end: usize) -> Result<(), Errno> {
        if start > end || !is_page_aligned(start) || !is_page_aligned(end) {
            return Err(Errno::EINVAL);
        }
        let hits = self.hits(start, end);
        self.cut_hits(start, end, &hits)
    }

    /// Cuts `[start, end)` out of the VMAs that meet it, `hits`.
    fn cut_hits(&mut self, start: usize, end: usize, hits: &Hits) -> Result<(), Errno> {
        let k = hits.k;
        if k == 0 {
            return Ok(());
        }
        let first = self.tree.vma(hits.first);
        let last = self.tree.vma(hits.last);
        let mut keep: [Option<Vma>; 2] = [None, None];
        if first.start < start {
            keep[0] = Some(first.clip(first.start, start));
        }
        if last.end > end {
            keep[1] = Some(last.clip(end, last.end));
        }
        let kept = keep.iter().flatten().count();
        let new_count = self.count() - k + kept;
        if new_count > self.max_count {
            return Err(Errno::ENOMEM);
        }
        let before = hits.before;
        match keep {
            [Some(left), Some(right)] => self.tree.replace_run(before, k, &[left, right]),
            [Some(one), None] | [None, Some(one)] => self.tree.replace_run(before, k, &[one]),
            [None, None] => self.tree.replace_run(before, k, &[]),
        }
    }

    /// Room for `extra` more VMAs, so the next operations that add at
    /// most that many cannot fail for lack of memory.
    pub fn reserve(&mut self, extra: usize) -> Result<(), Errno> {
        self.tree.ensure_room(extra)
    }

    /// How far Linux's `mprotect(start, end, prot)` gets: it changes VMAs
    /// in address order and stops at the first hole (`ENOMEM`) or the
    /// first VMA that may not carry `prot` (`EACCES`), keeping what it
    /// changed before (`do_mprotect_pkey`). Returns the end of the part to
    /// change (`start` if nothing) and the error to report after changing
    /// it. The range must be page-aligned and not inverted.
    pub fn protect_extent(&self, start: usize, end: usize, prot: Prot) -> (usize, Option<Errno>) {
        let mut covered = start;
        for v in self.iter_from(start) {
            if covered >= end || v.start >= end {
                break;
            }
            if v.start > covered {
                return (covered, Some(Errno::ENOMEM));
            }
            if !v.allows(prot) {
                return (covered, Some(Errno::EACCES));
            }
            covered = v.end;
        }
        if covered < end {
            (covered, Some(Errno::ENOMEM))
        } else {
            (end, None)
        }
    }

    /// Sets the rights of everything in `[start, end)` to `prot`, like
    /// `mprotect`: partly covered VMAs are split at the range's edges and
    /// the result is re-merged with its neighbours.
    ///
    /// Returns the pieces whose rights actually changed, clipped to the
    /// range and carrying the NEW `prot`, in address order, so the caller
    /// can rewrite exactly those page-table entries.
    ///
    /// Errors, with the set unchanged, in the order Linux meets them
    /// walking up from `start`: `ENOMEM` for a hole (unmapped page) in the
    /// range, `EACCES` for a VMA that may not carry `prot` (W+X anywhere; a
    /// device executable, or writable without `may_write`). Also `EINVAL`
    /// for an unaligned or inverted range and `ENOMEM` if splitting would
    /// exceed `max_count`.
    pub fn protect(&mut self, start: usize, end: usize, prot: Prot) -> Result<Vec<Vma>, Errno> {
        if start > end || !is_page_aligned(start) || !is_page_aligned(end) {
            return Err(Errno::EINVAL);
        }
        if start == end {
            return Ok(Vec::new());
        }
        let Hits {
            before,
            first,
            last,
            k,
        } = self.hits(start, end);
        let hit = || self.tree.iter_from_node(first).take(k);

        // Validate: contiguous coverage and permitted rights, in order.
        let mut covered = start;
        for v in hit() {
            if v.start > covered {
                return Err(Errno::ENOMEM);
            }
            if !v.allows(prot) {
                return Err(Errno::EACCES);
            }
            covered = v.end;
        }
        if covered < end {
            return Err(Errno::ENOMEM);
        }

        // Rebuild hit plus one neighbour on each side, merging as we go.
        let left = (before != NIL).then(|| self.tree.vma(before));
        let after = if last == NIL {
            NIL
        } else {
            self.tree.after(last)
        };
        let right = (after != NIL).then(|| self.tree.vma(after));
        let window_len = k + usize::from(left.is_some()) + usize::from(right.is_some());
        let mut out = Vec::new();
        out.try_reserve(window_len + 2).map_err(|_| Errno::ENOMEM)?;
        let mut changed = Vec::new();
        changed.try_reserve(k).map_err(|_| Errno::ENOMEM)?;
        if let Some(v) = left {
            push_merged(&mut out, *v);
        }
        for v in hit() {
            if v.start < start {
                push_merged(&mut out, v.clip(v.start, start));
            }
            let mut mid = v.clip(v.start.max(start), v.end.min(end));
            mid.prot = prot;
            if v.prot != prot {
                changed.push(mid);
            }
            push_merged(&mut out, mid);
            if v.end > end {
                push_merged(&mut out, v.clip(end, v.end));
            }
        }
        if let Some(v) = right {
            push_merged(&mut out, *v);
        }

        let new_count = self.count() - window_len + out.len();
        if new_count > self.max_count {
            return Err(Errno::ENOMEM);
        }
        let window_before = if left.is_some() {
            self.tree.before(before)
        } else {
            before
        };
        self.tree.replace_run(window_before, window_len, &out)?;
        Ok(changed)
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod store_tests;
