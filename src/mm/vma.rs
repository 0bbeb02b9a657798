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
//! Storage is a sorted `Vec`: address spaces have few VMAs, lookups are
//! binary searches and updates move at most a few elements plus one
//! `memmove` of the tail.

use alloc::vec::Vec;

use crate::errno::Errno;
use crate::mm::memtype::MemoryType;
use crate::syscall::mm_args::{Prot, PAGE_SIZE};

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
}

/// The file bytes behind an ELF segment: `bytes` appear at user address
/// `va` (the segment's `p_vaddr`); the rest of the VMA reads as zero.
#[derive(Clone, Copy)]
pub struct ImageData {
    pub bytes: &'static [u8],
    pub va: usize,
}

impl ImageData {
    /// No file bytes: all zero (tests, and segments with `p_filesz` 0).
    pub const ZERO: ImageData = ImageData { bytes: &[], va: 0 };

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
            VmaKind::Anonymous { may_write, .. } => may_write || !prot.write,
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

/// A user address space's regions: sorted, non-overlapping, page-aligned,
/// maximally merged.
#[derive(Clone, Debug)]
pub struct VmaSet {
    vmas: Vec<Vma>,
    /// Like Linux's `vm.max_map_count`: operations that would leave more
    /// VMAs than this fail with `ENOMEM`.
    max_count: usize,
}

impl VmaSet {
    /// An empty address space allowing at most `max_count` VMAs.
    pub fn new(max_count: usize) -> Self {
        VmaSet {
            vmas: Vec::new(),
            max_count,
        }
    }

    /// All VMAs in address order.
    pub fn iter(&self) -> impl Iterator<Item = &Vma> {
        self.vmas.iter()
    }

    /// The VMAs that end after `addr`, in address order (the one holding
    /// `addr`, if any, first).
    pub fn iter_from(&self, addr: usize) -> impl Iterator<Item = &Vma> {
        self.vmas.iter().skip(self.first_ending_after(addr))
    }

    /// The VMA containing `addr`, if any.
    pub fn find(&self, addr: usize) -> Option<&Vma> {
        let i = self.first_ending_after(addr);
        self.vmas.get(i).filter(|v| v.start <= addr)
    }

    /// Whether nothing is mapped in `[start, end)`. An empty range is free;
    /// an inverted one is not.
    pub fn is_free(&self, start: usize, end: usize) -> bool {
        if start >= end {
            return start == end;
        }
        let i = self.first_ending_after(start);
        self.vmas.get(i).is_none_or(|v| v.start >= end)
    }

    /// Number of VMAs.
    pub fn count(&self) -> usize {
        self.vmas.len()
    }

    /// The VMA limit this set was created with.
    pub fn max_count(&self) -> usize {
        self.max_count
    }

    /// Total bytes mapped.
    pub fn mapped_bytes(&self) -> usize {
        self.vmas
            .iter()
            .fold(0usize, |acc, v| acc.saturating_add(v.size()))
    }

    /// Index of the first VMA with `end > addr` (the first that could
    /// contain or follow `addr`).
    fn first_ending_after(&self, addr: usize) -> usize {
        self.vmas.partition_point(|v| v.end <= addr)
    }

    /// Index one past the last VMA with `start < addr`.
    fn first_starting_at_or_after(&self, addr: usize) -> usize {
        self.vmas.partition_point(|v| v.start < addr)
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

        // The highest `align`ed start in [gap_start, gap_end) that fits.
        let fit = |gap_start: usize, gap_end: usize| -> Option<usize> {
            let cand = gap_end.checked_sub(len)? & !(align - 1);
            (cand >= gap_start).then_some(cand)
        };
        let mut gap_end = hi;
        for v in self.vmas.iter().rev() {
            if v.start >= gap_end {
                continue; // wholly above the search window
            }
            if v.end > lo {
                if let Some(a) = fit(v.end.max(lo), gap_end) {
                    return Some(a);
                }
            } else {
                break; // this and every lower VMA is below the window
            }
            gap_end = v.start;
            if gap_end <= lo {
                return None;
            }
        }
        fit(lo, gap_end)
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

    /// Replaces `vmas[lo..hi]` with `new`. Fails (with nothing changed)
    /// only if growing the vector cannot allocate.
    fn replace_range(&mut self, lo: usize, hi: usize, new: &[Vma]) -> Result<(), Errno> {
        if lo > hi || hi > self.vmas.len() {
            return Err(Errno::EINVAL);
        }
        let old = hi - lo;
        if new.len() > old {
            self.vmas
                .try_reserve(new.len() - old)
                .map_err(|_| Errno::ENOMEM)?;
        }
        // From here on nothing can fail or allocate.
        let common = old.min(new.len());
        for (slot, v) in self.vmas.iter_mut().skip(lo).take(common).zip(new) {
            *slot = *v;
        }
        if old > new.len() {
            self.vmas.drain(lo + common..hi);
        } else {
            for (i, v) in new.iter().enumerate().skip(common) {
                self.vmas.insert(lo + i, *v);
            }
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
        let i = self.first_ending_after(vma.start);
        if self.vmas.get(i).is_some_and(|next| next.start < vma.end) {
            return Err(Errno::EEXIST);
        }
        let prev = i.checked_sub(1).and_then(|p| self.vmas.get(p));
        let merge_prev = prev.is_some_and(|p| p.can_merge(&vma));
        let merge_next = self.vmas.get(i).is_some_and(|n| vma.can_merge(n));

        let new_count = (self.count() + 1) - usize::from(merge_prev) - usize::from(merge_next);
        if new_count > self.max_count {
            return Err(Errno::ENOMEM);
        }

        let mut merged = vma;
        let mut lo = i;
        let mut hi = i;
        if merge_prev {
            if let Some(p) = prev {
                merged.start = p.start;
                merged.kind = p.kind;
                lo = i - 1;
            }
        }
        if merge_next {
            if let Some(n) = self.vmas.get(i) {
                merged.end = n.end;
                hi = i + 1;
            }
        }
        self.replace_range(lo, hi, &[merged])
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
        let lo = self.first_ending_after(start);
        let hi = self.first_starting_at_or_after(end).max(lo);
        let hit = self.vmas.get(lo..hi).unwrap_or(&[]);
        let mut removed = Vec::new();
        removed
            .try_reserve_exact(hit.len())
            .map_err(|_| Errno::ENOMEM)?;
        removed.extend(
            hit.iter()
                .map(|v| v.clip(v.start.max(start), v.end.min(end))),
        );
        self.cut(start, end)?;
        Ok(removed)
    }

    /// [`VmaSet::remove`] without the list of what was removed: with room
    /// [reserved](VmaSet::reserve) first, it allocates nothing.
    pub fn cut(&mut self, start: usize, end: usize) -> Result<(), Errno> {
        if start > end || !is_page_aligned(start) || !is_page_aligned(end) {
            return Err(Errno::EINVAL);
        }
        let lo = self.first_ending_after(start);
        let hi = self.first_starting_at_or_after(end).max(lo);
        let Some(hit) = self.vmas.get(lo..hi).filter(|s| !s.is_empty()) else {
            return Ok(());
        };

        let mut keep: [Option<Vma>; 2] = [None, None];
        if let Some(first) = hit.first().filter(|v| v.start < start) {
            keep[0] = Some(first.clip(first.start, start));
        }
        if let Some(last) = hit.last().filter(|v| v.end > end) {
            keep[1] = Some(last.clip(end, last.end));
        }
        let kept = keep.iter().flatten().count();
        let new_count = self.count() - hit.len() + kept;
        if new_count > self.max_count {
            return Err(Errno::ENOMEM);
        }
        match keep {
            [Some(left), Some(right)] => self.replace_range(lo, hi, &[left, right]),
            [Some(one), None] | [None, Some(one)] => self.replace_range(lo, hi, &[one]),
            [None, None] => self.replace_range(lo, hi, &[]),
        }
    }

    /// Room for `extra` more VMAs, so the next operations that add at
    /// most that many cannot fail for lack of memory.
    pub fn reserve(&mut self, extra: usize) -> Result<(), Errno> {
        self.vmas.try_reserve(extra).map_err(|_| Errno::ENOMEM)
    }

    /// How far Linux's `mprotect(start, end, prot)` gets: it changes VMAs
    /// in address order and stops at the first hole (`ENOMEM`) or the
    /// first VMA that may not carry `prot` (`EACCES`), keeping what it
    /// changed before (`do_mprotect_pkey`). Returns the end of the part to
    /// change (`start` if nothing) and the error to report after changing
    /// it. The range must be page-aligned and not inverted.
    pub fn protect_extent(&self, start: usize, end: usize, prot: Prot) -> (usize, Option<Errno>) {
        let mut covered = start;
        for v in self.vmas.iter().skip(self.first_ending_after(start)) {
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
        let lo = self.first_ending_after(start);
        let hi = self.first_starting_at_or_after(end).max(lo);
        let hit = self.vmas.get(lo..hi).unwrap_or(&[]);

        // Validate: contiguous coverage and permitted rights, in order.
        let mut covered = start;
        for v in hit {
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
        let a = lo.saturating_sub(1);
        let b = hi.saturating_add(1).min(self.vmas.len());
        let window = self.vmas.get(a..b).unwrap_or(&[]);
        let mut out = Vec::new();
        out.try_reserve(window.len() + 2)
            .map_err(|_| Errno::ENOMEM)?;
        let mut changed = Vec::new();
        changed.try_reserve(hit.len()).map_err(|_| Errno::ENOMEM)?;
        for (idx, v) in window.iter().enumerate() {
            let i = a + idx;
            if i < lo || i >= hi {
                push_merged(&mut out, *v);
                continue;
            }
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

        let new_count = self.count() - window.len() + out.len();
        if new_count > self.max_count {
            return Err(Errno::ENOMEM);
        }
        self.replace_range(a, b, &out)?;
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    //! Expected behaviour from munmap(2)/mprotect(2) and Linux's VMA rules,
    //! plus a randomized comparison against a page-by-page model.
    use super::*;
    use alloc::vec;

    const P: usize = PAGE_SIZE;
    const MB: usize = 1 << 20;

    fn prot(bits: u32) -> Prot {
        Prot::from_bits(bits).unwrap()
    }
    const R: u32 = 1;
    const RW: u32 = 3;
    const RX: u32 = 5;

    fn anon(start: usize, end: usize, bits: u32) -> Vma {
        Vma {
            start,
            end,
            prot: prot(bits),
            kind: VmaKind::Anonymous {
                shared: false,
                may_write: true,
            },
        }
    }

    fn dev(start: usize, end: usize, phys: u64) -> Vma {
        Vma {
            start,
            end,
            prot: prot(RW),
            kind: VmaKind::Device {
                phys,
                mem: MemoryType::DeviceShareable,
                may_write: true,
            },
        }
    }

    fn ranges(s: &VmaSet) -> Vec<(usize, usize)> {
        s.iter().map(|v| (v.start, v.end)).collect()
    }

    fn set(max: usize, vmas: &[Vma]) -> VmaSet {
        let mut s = VmaSet::new(max);
        for v in vmas {
            s.insert(*v).unwrap();
        }
        s
    }

    #[test]
    fn insert_find_and_merge() {
        let mut s = VmaSet::new(100);
        s.insert(anon(10 * P, 12 * P, RW)).unwrap();
        assert_eq!(s.find(10 * P).map(|v| v.end), Some(12 * P));
        assert_eq!(s.find(12 * P - 1).map(|v| v.start), Some(10 * P));
        assert!(s.find(12 * P).is_none());
        assert!(s.find(10 * P - 1).is_none());
        // Adjacent on the right, same prot and kind: one VMA.
        s.insert(anon(12 * P, 13 * P, RW)).unwrap();
        assert_eq!(ranges(&s), vec![(10 * P, 13 * P)]);
        // Adjacent on the left.
        s.insert(anon(8 * P, 10 * P, RW)).unwrap();
        assert_eq!(ranges(&s), vec![(8 * P, 13 * P)]);
        // Filling a gap merges three into one.
        s.insert(anon(15 * P, 16 * P, RW)).unwrap();
        assert_eq!(s.count(), 2);
        s.insert(anon(13 * P, 15 * P, RW)).unwrap();
        assert_eq!(ranges(&s), vec![(8 * P, 16 * P)]);
        assert_eq!(s.mapped_bytes(), 8 * P);
        // Different prot, sharedness or kind: no merge.
        s.insert(anon(16 * P, 17 * P, R)).unwrap();
        let mut shared = anon(17 * P, 18 * P, R);
        shared.kind = VmaKind::Anonymous {
            shared: true,
            may_write: true,
        };
        s.insert(shared).unwrap();
        let mut heap = anon(18 * P, 19 * P, R);
        heap.kind = VmaKind::Heap;
        s.insert(heap).unwrap();
        let mut image = anon(19 * P, 20 * P, R);
        image.kind = VmaKind::Image(ImageData::ZERO);
        s.insert(image).unwrap();
        let mut stack = anon(20 * P, 21 * P, R);
        stack.kind = VmaKind::Stack;
        s.insert(stack).unwrap();
        assert_eq!(s.count(), 6);
        // Same named kinds merge.
        let mut heap2 = heap;
        heap2.start = 21 * P;
        heap2.end = 22 * P;
        s.insert(heap2).unwrap(); // after the stack: no merge
        assert_eq!(s.count(), 7);
        let mut stack2 = stack;
        stack2.start = 22 * P;
        stack2.end = 23 * P;
        s.insert(stack2).unwrap(); // after heap2: no merge
        assert_eq!(s.count(), 8);
        let mut heap3 = heap;
        heap3.start = 23 * P;
        heap3.end = 24 * P;
        heap3.prot = prot(R);
        let mut s2 = set(10, &[heap, heap3]);
        assert_eq!(s2.count(), 2);
        heap3.start = 19 * P;
        heap3.end = 23 * P;
        s2.insert(heap3).unwrap();
        assert_eq!(ranges(&s2), vec![(18 * P, 24 * P)]);
    }

    #[test]
    fn insert_rejects_bad_vmas() {
        let mut s = set(10, &[anon(10 * P, 20 * P, RW)]);
        // Overlaps: EEXIST.
        assert_eq!(s.insert(anon(15 * P, 25 * P, RW)), Err(Errno::EEXIST));
        assert_eq!(s.insert(anon(5 * P, 11 * P, RW)), Err(Errno::EEXIST));
        assert_eq!(s.insert(anon(12 * P, 13 * P, RW)), Err(Errno::EEXIST));
        assert_eq!(s.insert(anon(0, 30 * P, RW)), Err(Errno::EEXIST));
        // Empty, inverted, unaligned: EINVAL.
        assert_eq!(s.insert(anon(30 * P, 30 * P, RW)), Err(Errno::EINVAL));
        assert_eq!(s.insert(anon(31 * P, 30 * P, RW)), Err(Errno::EINVAL));
        assert_eq!(s.insert(anon(30 * P + 1, 31 * P, RW)), Err(Errno::EINVAL));
        assert_eq!(s.insert(anon(30 * P, 31 * P - 1, RW)), Err(Errno::EINVAL));
        assert_eq!(s.insert(dev(30 * P, 31 * P, 0x123)), Err(Errno::EINVAL));
        assert_eq!(s.insert(dev(30 * P, 32 * P, !0xfffu64)), Err(Errno::EINVAL));
        // W+X and executable devices: EACCES.
        assert_eq!(s.insert(anon(30 * P, 31 * P, 7)), Err(Errno::EACCES));
        let mut d = dev(30 * P, 31 * P, 0x1000);
        d.prot = prot(RX);
        assert_eq!(s.insert(d), Err(Errno::EACCES));
        d.prot = prot(RW);
        d.kind = VmaKind::Device {
            phys: 0x1000,
            mem: MemoryType::DeviceShareable,
            may_write: false,
        };
        assert_eq!(s.insert(d), Err(Errno::EACCES));
        d.prot = prot(R);
        assert_eq!(s.insert(d), Ok(()));
        assert_eq!(s.count(), 2);
    }

    #[test]
    fn device_merges_only_when_physically_contiguous() {
        let mut s = set(10, &[dev(10 * P, 12 * P, 0x900_0000)]);
        // Virtually adjacent, physically not contiguous.
        s.insert(dev(12 * P, 13 * P, 0x900_0000)).unwrap();
        assert_eq!(s.count(), 2);
        // Physically contiguous: merges.
        s.insert(dev(8 * P, 10 * P, 0x900_0000 - 2 * P as u64))
            .unwrap();
        assert_eq!(ranges(&s), vec![(8 * P, 12 * P), (12 * P, 13 * P)]);
        assert_eq!(
            s.find(8 * P).map(|v| v.kind),
            Some(VmaKind::Device {
                phys: 0x900_0000 - 2 * P as u64,
                mem: MemoryType::DeviceShareable,
                may_write: true
            })
        );
        // Different memory type: no merge.
        let mut so = dev(13 * P, 14 * P, 0x900_0000 + P as u64);
        so.kind = VmaKind::Device {
            phys: 0x900_0000 + P as u64,
            mem: MemoryType::StronglyOrdered,
            may_write: true,
        };
        s.insert(so).unwrap();
        assert_eq!(s.count(), 3);
        // Device next to anonymous memory: no merge.
        s.insert(anon(14 * P, 15 * P, RW)).unwrap();
        assert_eq!(s.count(), 4);
    }

    #[test]
    fn remove_middle_splits_in_two() {
        let mut s = set(10, &[anon(10 * P, 20 * P, RW)]);
        let gone = s.remove(12 * P, 15 * P).unwrap();
        assert_eq!(gone, vec![anon(12 * P, 15 * P, RW)]);
        assert_eq!(ranges(&s), vec![(10 * P, 12 * P), (15 * P, 20 * P)]);
        assert_eq!(s.mapped_bytes(), 7 * P);
    }

    #[test]
    fn remove_exactly() {
        let mut s = set(10, &[anon(10 * P, 20 * P, RW), anon(30 * P, 40 * P, R)]);
        let gone = s.remove(10 * P, 20 * P).unwrap();
        assert_eq!(gone, vec![anon(10 * P, 20 * P, RW)]);
        assert_eq!(ranges(&s), vec![(30 * P, 40 * P)]);
        // Edges.
        assert_eq!(
            s.remove(30 * P, 31 * P).unwrap(),
            vec![anon(30 * P, 31 * P, R)]
        );
        assert_eq!(
            s.remove(39 * P, 40 * P).unwrap(),
            vec![anon(39 * P, 40 * P, R)]
        );
        assert_eq!(ranges(&s), vec![(31 * P, 39 * P)]);
    }

    #[test]
    fn remove_spanning_several_vmas_and_holes() {
        let mut s = set(
            10,
            &[
                anon(10 * P, 20 * P, RW),
                anon(25 * P, 30 * P, R),
                dev(30 * P, 32 * P, 0x800_0000),
                anon(40 * P, 50 * P, RW),
            ],
        );
        let gone = s.remove(15 * P, 45 * P).unwrap();
        assert_eq!(
            gone,
            vec![
                anon(15 * P, 20 * P, RW),
                anon(25 * P, 30 * P, R),
                dev(30 * P, 32 * P, 0x800_0000),
                anon(40 * P, 45 * P, RW),
            ]
        );
        assert_eq!(ranges(&s), vec![(10 * P, 15 * P), (45 * P, 50 * P)]);
        // munmap(2): "It is not an error if the indicated range does not
        // contain any mapped pages."
        assert_eq!(s.remove(20 * P, 40 * P), Ok(vec![]));
        assert_eq!(s.remove(0, 0), Ok(vec![]));
        assert_eq!(s.count(), 2);
        assert_eq!(s.remove(0, usize::MAX & !(P - 1)).unwrap().len(), 2);
        assert_eq!(s.count(), 0);
        assert_eq!(s.remove(P + 1, 2 * P), Err(Errno::EINVAL));
    }

    #[test]
    fn device_phys_follows_splits() {
        let base = 0x0900_0000u64;
        let mut s = set(10, &[dev(10 * P, 20 * P, base)]);
        let gone = s.remove(12 * P, 14 * P).unwrap();
        assert_eq!(gone, vec![dev(12 * P, 14 * P, base + 2 * P as u64)]);
        assert_eq!(
            s.iter().copied().collect::<Vec<_>>(),
            vec![
                dev(10 * P, 12 * P, base),
                dev(14 * P, 20 * P, base + 4 * P as u64)
            ]
        );
        // Protect splits too.
        let changed = s.protect(16 * P, 17 * P, prot(R)).unwrap();
        let mut expect = dev(16 * P, 17 * P, base + 6 * P as u64);
        expect.prot = prot(R);
        assert_eq!(changed, vec![expect]);
        let mut ro = dev(16 * P, 17 * P, base + 6 * P as u64);
        ro.prot = prot(R);
        assert_eq!(
            s.iter().copied().collect::<Vec<_>>(),
            vec![
                dev(10 * P, 12 * P, base),
                dev(14 * P, 16 * P, base + 4 * P as u64),
                ro,
                dev(17 * P, 20 * P, base + 7 * P as u64),
            ]
        );
        // Putting it back re-merges into one contiguous device VMA.
        s.protect(16 * P, 17 * P, prot(RW)).unwrap();
        assert_eq!(
            s.iter().copied().collect::<Vec<_>>(),
            vec![
                dev(10 * P, 12 * P, base),
                dev(14 * P, 20 * P, base + 4 * P as u64)
            ]
        );
    }

    #[test]
    fn protect_middle() {
        let mut s = set(10, &[anon(10 * P, 20 * P, RW)]);
        let changed = s.protect(12 * P, 14 * P, prot(R)).unwrap();
        assert_eq!(changed, vec![anon(12 * P, 14 * P, R)]);
        assert_eq!(
            s.iter().copied().collect::<Vec<_>>(),
            vec![
                anon(10 * P, 12 * P, RW),
                anon(12 * P, 14 * P, R),
                anon(14 * P, 20 * P, RW)
            ]
        );
        // Undo: merges back into one.
        let changed = s.protect(12 * P, 14 * P, prot(RW)).unwrap();
        assert_eq!(changed, vec![anon(12 * P, 14 * P, RW)]);
        assert_eq!(ranges(&s), vec![(10 * P, 20 * P)]);
        // Same prot: nothing changes, nothing reported.
        assert_eq!(s.protect(10 * P, 20 * P, prot(RW)), Ok(vec![]));
        assert_eq!(s.count(), 1);
    }

    #[test]
    fn protect_edges() {
        let mut s = set(10, &[anon(10 * P, 20 * P, RW)]);
        s.protect(10 * P, 11 * P, prot(R)).unwrap();
        s.protect(19 * P, 20 * P, prot(R)).unwrap();
        assert_eq!(
            s.iter().copied().collect::<Vec<_>>(),
            vec![
                anon(10 * P, 11 * P, R),
                anon(11 * P, 19 * P, RW),
                anon(19 * P, 20 * P, R)
            ]
        );
        // Extending the left piece merges with it.
        s.protect(11 * P, 12 * P, prot(R)).unwrap();
        assert_eq!(
            ranges(&s),
            vec![(10 * P, 12 * P), (12 * P, 19 * P), (19 * P, 20 * P)]
        );
    }

    #[test]
    fn protect_spanning() {
        let mut s = set(
            10,
            &[
                anon(10 * P, 20 * P, RW),
                anon(20 * P, 30 * P, R),
                anon(30 * P, 40 * P, RW),
            ],
        );
        let changed = s.protect(15 * P, 35 * P, prot(R)).unwrap();
        // Only the pieces that were RW changed.
        assert_eq!(
            changed,
            vec![anon(15 * P, 20 * P, R), anon(30 * P, 35 * P, R)]
        );
        assert_eq!(
            s.iter().copied().collect::<Vec<_>>(),
            vec![
                anon(10 * P, 15 * P, RW),
                anon(15 * P, 35 * P, R),
                anon(35 * P, 40 * P, RW)
            ]
        );
        let changed = s.protect(10 * P, 40 * P, prot(RX)).unwrap();
        assert_eq!(changed.len(), 3);
        assert_eq!(ranges(&s), vec![(10 * P, 40 * P)]);
    }

    #[test]
    fn protect_over_hole_is_enomem_and_changes_nothing() {
        // mprotect(2): "ENOMEM Addresses in the range [addr, addr+len-1] are
        // invalid for the address space of the process, or specify one or
        // more pages that are not mapped."
        let mut s = set(10, &[anon(10 * P, 20 * P, RW), anon(25 * P, 30 * P, RW)]);
        let before: Vec<Vma> = s.iter().copied().collect();
        assert_eq!(s.protect(15 * P, 28 * P, prot(R)), Err(Errno::ENOMEM));
        assert_eq!(s.protect(5 * P, 12 * P, prot(R)), Err(Errno::ENOMEM));
        assert_eq!(s.protect(28 * P, 31 * P, prot(R)), Err(Errno::ENOMEM));
        assert_eq!(s.protect(21 * P, 22 * P, prot(R)), Err(Errno::ENOMEM));
        assert_eq!(s.protect(50 * P, 52 * P, prot(R)), Err(Errno::ENOMEM));
        assert_eq!(s.iter().copied().collect::<Vec<_>>(), before);
    }

    #[test]
    fn protect_refuses_rights_a_vma_may_not_have() {
        let mut ro_dev = dev(30 * P, 31 * P, 0x900_0000);
        ro_dev.prot = prot(R);
        ro_dev.kind = VmaKind::Device {
            phys: 0x900_0000,
            mem: MemoryType::DeviceShareable,
            may_write: false,
        };
        let mut s = set(
            10,
            &[
                anon(10 * P, 20 * P, RW),
                dev(20 * P, 21 * P, 0x800_0000),
                ro_dev,
            ],
        );
        let before: Vec<Vma> = s.iter().copied().collect();
        // mprotect(2) EACCES: "The memory cannot be given the specified
        // access", e.g. PROT_WRITE on a read-only shared file mapping.
        assert_eq!(s.protect(30 * P, 31 * P, prot(RW)), Err(Errno::EACCES));
        // Devices are never executable.
        assert_eq!(s.protect(20 * P, 21 * P, prot(RX)), Err(Errno::EACCES));
        assert_eq!(s.protect(10 * P, 21 * P, prot(RX)), Err(Errno::EACCES));
        // W+X never, whatever the kind.
        assert_eq!(s.protect(10 * P, 11 * P, prot(7)), Err(Errno::EACCES));
        assert_eq!(s.iter().copied().collect::<Vec<_>>(), before);
        // Linux's order: the hole after the first VMA is met before the
        // device's EACCES.
        assert_eq!(s.protect(20 * P, 31 * P, prot(RW)), Err(Errno::ENOMEM));
        // The first VMA's EACCES is met before the later hole.
        assert_eq!(s.protect(30 * P, 32 * P, prot(RW)), Err(Errno::EACCES));
        // Read-only and PROT_NONE are fine.
        assert!(s.protect(30 * P, 31 * P, Prot::NONE).is_ok());
    }

    #[test]
    fn max_count_exceeded_is_enomem_with_no_change() {
        let mut s = set(2, &[anon(10 * P, 20 * P, RW), anon(30 * P, 40 * P, RW)]);
        let before: Vec<Vma> = s.iter().copied().collect();
        // A third separate VMA.
        assert_eq!(s.insert(anon(50 * P, 51 * P, RW)), Err(Errno::ENOMEM));
        // Splitting the middle of one.
        assert_eq!(s.remove(12 * P, 13 * P), Err(Errno::ENOMEM));
        assert_eq!(s.protect(12 * P, 13 * P, prot(R)), Err(Errno::ENOMEM));
        assert_eq!(s.protect(10 * P, 13 * P, prot(R)), Err(Errno::ENOMEM));
        assert_eq!(s.iter().copied().collect::<Vec<_>>(), before);
        // Operations that do not add VMAs still work at the limit.
        s.insert(anon(20 * P, 21 * P, RW)).unwrap(); // merges
        s.remove(10 * P, 11 * P).unwrap(); // trims
        s.protect(30 * P, 40 * P, prot(R)).unwrap(); // whole VMA
        s.insert(anon(21 * P, 30 * P, RW)).unwrap(); // merges with left only
        assert_eq!(s.count(), 2);
        // Filling the gap with a compatible VMA even reduces the count.
        s.protect(30 * P, 40 * P, prot(RW)).unwrap();
        assert_eq!(ranges(&s), vec![(11 * P, 40 * P)]);
        let mut z = VmaSet::new(0);
        assert_eq!(z.insert(anon(0, P, R)), Err(Errno::ENOMEM));
        assert_eq!(z.count(), 0);
    }

    #[test]
    fn is_free() {
        let s = set(10, &[anon(10 * P, 20 * P, RW)]);
        assert!(s.is_free(0, 10 * P));
        assert!(s.is_free(20 * P, 30 * P));
        assert!(!s.is_free(9 * P, 11 * P));
        assert!(!s.is_free(19 * P, 21 * P));
        assert!(!s.is_free(0, usize::MAX));
        assert!(s.is_free(15 * P, 15 * P));
        assert!(!s.is_free(16 * P, 15 * P));
    }

    #[test]
    fn find_free_hint() {
        let s = set(10, &[anon(100 * P, 200 * P, RW)]);
        let (lo, hi) = (P, 1000 * P);
        // Free hint: taken.
        assert_eq!(s.find_free(4 * P, 50 * P, lo, hi, P), Some(50 * P));
        assert_eq!(s.find_free(4 * P, 96 * P, lo, hi, P), Some(96 * P));
        assert_eq!(s.find_free(4 * P, 200 * P, lo, hi, P), Some(200 * P));
        // A hint is taken even when not aligned to a large `align`.
        assert_eq!(s.find_free(4 * P, 50 * P, lo, hi, MB), Some(50 * P));
        // Taken (overlapping), unaligned, out of range, or 0: top-down search.
        assert_eq!(s.find_free(4 * P, 97 * P, lo, hi, P), Some(996 * P));
        assert_eq!(s.find_free(4 * P, 150 * P, lo, hi, P), Some(996 * P));
        assert_eq!(s.find_free(4 * P, 50 * P + 1, lo, hi, P), Some(996 * P));
        assert_eq!(s.find_free(4 * P, 998 * P, lo, hi, P), Some(996 * P));
        assert_eq!(s.find_free(4 * P, 2000 * P, lo, hi, P), Some(996 * P));
        assert_eq!(s.find_free(4 * P, 0, lo, hi, P), Some(996 * P));
    }

    #[test]
    fn find_free_top_down() {
        let mut s = set(
            10,
            &[anon(900 * P, 1000 * P, RW), anon(500 * P, 890 * P, RW)],
        );
        let (lo, hi) = (P, 1000 * P);
        // The highest gap that fits: [890, 900) has room for 10 pages.
        assert_eq!(s.find_free(10 * P, 0, lo, hi, P), Some(890 * P));
        // 11 pages do not fit there: next gap down, at its top.
        assert_eq!(s.find_free(11 * P, 0, lo, hi, P), Some(489 * P));
        // Successive allocations go downwards.
        s.insert(anon(489 * P, 500 * P, R)).unwrap();
        assert_eq!(s.find_free(11 * P, 0, lo, hi, P), Some(478 * P));
        // The lower limit is respected.
        assert_eq!(s.find_free(11 * P, 0, 470 * P, hi, P), Some(478 * P));
        assert_eq!(s.find_free(11 * P, 0, 480 * P, hi, P), None);
        assert_eq!(s.find_free(8 * P, 0, 470 * P, hi, P), Some(892 * P));
        // A VMA straddling hi shrinks the first gap.
        assert_eq!(s.find_free(P, 0, lo, 950 * P, P), Some(899 * P));
        // Unaligned limits are rounded inwards.
        assert_eq!(s.find_free(P, 0, lo, 900 * P + 5, P), Some(899 * P));
        assert_eq!(s.find_free(P, 0, 899 * P + 1, 900 * P, P), None);
    }

    #[test]
    fn find_free_alignment() {
        let s = set(10, &[anon(3 * MB + P, 4 * MB, RW)]);
        let hi = 4 * MB;
        // 1 MiB alignment skips the partly used top megabyte.
        assert_eq!(s.find_free(MB, 0, P, hi, MB), Some(2 * MB));
        assert_eq!(s.find_free(P, 0, P, hi, MB), Some(3 * MB));
        // Page alignment uses the space just below the VMA.
        assert_eq!(s.find_free(MB, 0, P, hi, P), Some(2 * MB + P));
        // No aligned spot at all.
        assert_eq!(s.find_free(MB, 0, MB + P, 3 * MB, MB), Some(2 * MB));
        assert_eq!(s.find_free(MB, 0, MB + P, 3 * MB - P, MB), None);
        // Bad alignment or length.
        assert_eq!(s.find_free(MB, 0, P, hi, 3 * P), None);
        assert_eq!(s.find_free(0, 0, P, hi, P), None);
        assert_eq!(s.find_free(P + 1, 0, P, hi, P), None);
        // align 0 means pages.
        assert_eq!(s.find_free(P, 0, P, hi, 0), Some(3 * MB));
    }

    #[test]
    fn find_free_full_space() {
        let s = set(10, &[anon(P, 100 * P, RW)]);
        assert_eq!(s.find_free(P, 0, P, 100 * P, P), None);
        assert_eq!(s.find_free(P, 50 * P, P, 100 * P, P), None);
        assert_eq!(s.find_free(200 * P, 0, P, 100 * P, P), None);
        assert_eq!(s.find_free(P, 0, 100 * P, 100 * P, P), None);
        assert_eq!(s.find_free(P, 0, 100 * P, 101 * P, P), Some(100 * P));
        let e = VmaSet::new(10);
        assert_eq!(
            e.find_free(P, 0, 0, usize::MAX, P),
            Some(usize::MAX - 2 * P + 1)
        );
        assert_eq!(e.find_free(P, 0, usize::MAX - P + 2, usize::MAX, P), None);
    }

    // ---- Randomized model test -------------------------------------------

    /// Marsaglia's xorshift64: deterministic, dependency-free.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// What the model knows about one page.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum PageKind {
        Anon(bool),
        /// Physical page number, memory type index, may_write.
        Dev(u64, u8, bool),
        Image,
        Stack,
        Heap,
    }

    const MEMS: [MemoryType; 2] = [MemoryType::DeviceShareable, MemoryType::StronglyOrdered];

    fn page_kind_of(v: &Vma, addr: usize) -> PageKind {
        match v.kind {
            VmaKind::Anonymous { shared, .. } => PageKind::Anon(shared),
            VmaKind::Device {
                phys,
                mem,
                may_write,
            } => {
                let p = phys + (addr - v.start) as u64;
                let m = MEMS.iter().position(|&x| x == mem).unwrap() as u8;
                PageKind::Dev(p / P as u64, m, may_write)
            }
            VmaKind::Image(_) => PageKind::Image,
            VmaKind::Stack => PageKind::Stack,
            VmaKind::Heap => PageKind::Heap,
        }
    }

    type Page = Option<(Prot, PageKind)>;

    /// Whether page `b` may continue page `a` within one VMA.
    fn pages_join(a: &Page, b: &Page) -> bool {
        match (a, b) {
            (Some((pa, ka)), Some((pb, kb))) => {
                pa == pb
                    && match (ka, kb) {
                        (PageKind::Dev(x, ma, wa), PageKind::Dev(y, mb, wb)) => {
                            x + 1 == *y && ma == mb && wa == wb
                        }
                        _ => ka == kb,
                    }
            }
            _ => false,
        }
    }

    /// Number of maximal mergeable runs: what `count()` must be.
    fn canonical_count(model: &[Page]) -> usize {
        let mut n = 0;
        for (i, p) in model.iter().enumerate() {
            if p.is_some() && (i == 0 || !pages_join(&model[i - 1], p)) {
                n += 1;
            }
        }
        n
    }

    fn check(s: &VmaSet, model: &[Page], base: usize) {
        let v: Vec<Vma> = s.iter().copied().collect();
        for w in v.windows(2) {
            assert!(w[0].end <= w[1].start, "sorted, non-overlapping: {:?}", w);
            assert!(!w[0].can_merge(&w[1]), "mergeable neighbours left: {:?}", w);
        }
        for x in &v {
            assert!(x.start < x.end && x.start % P == 0 && x.end % P == 0);
            assert!(x.allows(x.prot));
        }
        for (i, want) in model.iter().enumerate() {
            let addr = base + i * P;
            let got = s.find(addr).map(|vma| (vma.prot, page_kind_of(vma, addr)));
            assert_eq!(got, *want, "page {}", i);
            assert_eq!(
                s.find(addr + P - 1).map(|x| x.start),
                s.find(addr).map(|x| x.start)
            );
        }
        assert_eq!(s.count(), canonical_count(model));
        let mapped = model.iter().filter(|p| p.is_some()).count();
        assert_eq!(s.mapped_bytes(), mapped * P);
    }

    fn random_prot(rng: &mut Rng) -> Prot {
        // Never W+X: all of 0..=7 except 6 and 7.
        prot([0, 1, 2, 3, 4, 5][rng.below(6)])
    }

    fn random_vma(rng: &mut Rng, start: usize, end: usize) -> Vma {
        let prot = random_prot(rng);
        let kind = match rng.below(6) {
            0 => VmaKind::Anonymous {
                shared: false,
                may_write: true,
            },
            1 => VmaKind::Anonymous {
                shared: true,
                may_write: true,
            },
            2 => VmaKind::Image(ImageData::ZERO),
            3 => VmaKind::Stack,
            4 => VmaKind::Heap,
            _ => VmaKind::Device {
                // Few distinct bases so contiguous neighbours happen.
                phys: (0x1000 + rng.below(8) as u64 * 4) * P as u64
                    + (start / P % 4) as u64 * P as u64,
                mem: MEMS[rng.below(2)],
                may_write: rng.below(2) == 0,
            },
        };
        let mut v = Vma {
            start,
            end,
            prot,
            kind,
        };
        // Keep devices within their rights most of the time so they get in.
        if let VmaKind::Device { may_write, .. } = kind {
            if rng.below(8) != 0 {
                v.prot.exec = false;
                if !may_write {
                    v.prot.write = false;
                }
            }
        }
        v
    }

    fn model_allows(page: &Page, prot: Prot) -> bool {
        match page {
            Some((_, PageKind::Dev(_, _, may_write))) => {
                !prot.exec && !prot.is_write_exec() && (*may_write || !prot.write)
            }
            Some(_) => !prot.is_write_exec(),
            None => false,
        }
    }

    #[test]
    fn randomized_against_page_model() {
        const PAGES: usize = 64;
        let base = 0x1000_0000;
        // How often each outcome happened, so the test proves it exercised
        // them: insert ok/EEXIST/ENOMEM/EACCES, remove ok/ENOMEM, protect
        // ok/hole/EACCES/ENOMEM.
        let mut seen = [0usize; 10];
        for seed in 1..=8u64 {
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ seed);
            let max = [3, 6, 12, 1000][seed as usize % 4];
            let mut s = VmaSet::new(max);
            let mut model: Vec<Page> = vec![None; PAGES];
            for _ in 0..1500 {
                let a = rng.below(PAGES);
                let b = a + 1 + rng.below((PAGES - a).min(20));
                let (start, end) = (base + a * P, base + b * P);
                let before: Vec<Vma> = s.iter().copied().collect();
                let model_before = model.clone();
                match rng.below(3) {
                    0 => {
                        let v = random_vma(&mut rng, start, end);
                        let mut next = model.clone();
                        let want = if !v.allows(v.prot) {
                            Err(Errno::EACCES)
                        } else if model[a..b].iter().any(|p| p.is_some()) {
                            Err(Errno::EEXIST)
                        } else {
                            for (i, p) in next.iter_mut().enumerate().take(b).skip(a) {
                                *p = Some((v.prot, page_kind_of(&v, base + i * P)));
                            }
                            if canonical_count(&next) > max {
                                Err(Errno::ENOMEM)
                            } else {
                                Ok(())
                            }
                        };
                        assert_eq!(s.insert(v), want, "insert {:?}", v);
                        seen[match want {
                            Ok(()) => 0,
                            Err(Errno::EEXIST) => 1,
                            Err(Errno::ENOMEM) => 2,
                            Err(_) => 3,
                        }] += 1;
                        if want.is_ok() {
                            model = next;
                        }
                    }
                    1 => {
                        let mut next = model.clone();
                        for p in &mut next[a..b] {
                            *p = None;
                        }
                        let res = s.remove(start, end);
                        if canonical_count(&next) > max {
                            assert_eq!(res, Err(Errno::ENOMEM));
                            seen[5] += 1;
                        } else {
                            let gone = res.unwrap();
                            // The removed pieces describe exactly the
                            // mapped pages of the range, in order.
                            let mut pages: Vec<(usize, Page)> = Vec::new();
                            for g in &gone {
                                assert!(g.start >= start && g.end <= end);
                                let mut addr = g.start;
                                while addr < g.end {
                                    pages.push((addr, Some((g.prot, page_kind_of(g, addr)))));
                                    addr += P;
                                }
                            }
                            let want: Vec<(usize, Page)> = (a..b)
                                .filter(|&i| model[i].is_some())
                                .map(|i| (base + i * P, model[i]))
                                .collect();
                            assert_eq!(pages, want);
                            seen[4] += usize::from(!gone.is_empty());
                            model = next;
                        }
                    }
                    _ => {
                        let pr = random_prot(&mut rng);
                        let pr = if rng.below(10) == 0 { prot(7) } else { pr };
                        // Linux's order: walk up, first hole or refusal wins.
                        let mut want_err = None;
                        for p in &model[a..b] {
                            if p.is_none() {
                                want_err = Some(Errno::ENOMEM);
                                break;
                            }
                            if !model_allows(p, pr) {
                                want_err = Some(Errno::EACCES);
                                break;
                            }
                        }
                        let mut next = model.clone();
                        for p in next[a..b].iter_mut().flatten() {
                            p.0 = pr;
                        }
                        if want_err.is_none() && canonical_count(&next) > max {
                            want_err = Some(Errno::ENOMEM);
                        }
                        let res = s.protect(start, end, pr);
                        match want_err {
                            Some(e) => {
                                assert_eq!(res, Err(e), "protect {a}..{b}");
                                let split_limit = model[a..b]
                                    .iter()
                                    .all(|p| p.is_some() && model_allows(p, pr));
                                seen[match (e, split_limit) {
                                    (Errno::EACCES, _) => 8,
                                    (_, true) => 9,
                                    _ => 7,
                                }] += 1;
                            }
                            None => {
                                let changed = res.unwrap();
                                let mut pages = Vec::new();
                                for c in &changed {
                                    assert_eq!(c.prot, pr);
                                    let mut addr = c.start;
                                    while addr < c.end {
                                        pages.push(addr);
                                        addr += P;
                                    }
                                }
                                let want: Vec<usize> = (a..b)
                                    .filter(|&i| model[i].map(|p| p.0) != Some(pr))
                                    .map(|i| base + i * P)
                                    .collect();
                                assert_eq!(pages, want);
                                seen[6] += usize::from(!changed.is_empty());
                                model = next;
                            }
                        }
                    }
                }
                if model == model_before {
                    // Failed operations (and no-op successes) change nothing.
                    assert_eq!(s.iter().copied().collect::<Vec<_>>(), before);
                }
                check(&s, &model, base);

                // find_free against a brute-force top-down scan.
                let len = (1 + rng.below(6)) * P;
                let align = [P, 4 * P][rng.below(2)];
                let lo = base + rng.below(PAGES / 2) * P;
                let hi = base + (PAGES / 2 + rng.below(PAGES / 2 + 1)) * P;
                let free = |x: usize| {
                    (x..x + len)
                        .step_by(P)
                        .all(|q| model[(q - base) / P].is_none())
                };
                let want = (lo..=hi.saturating_sub(len))
                    .rev()
                    .step_by(P)
                    .find(|&x| x % align == 0 && x + len <= hi && free(x));
                assert_eq!(s.find_free(len, 0, lo, hi, align), want);
                let hint = base + rng.below(PAGES) * P;
                let got = s.find_free(len, hint, lo, hi, align);
                if hint >= lo && hint + len <= hi && free(hint) {
                    assert_eq!(got, Some(hint));
                } else {
                    assert_eq!(got, want);
                }
            }
        }
        assert!(
            seen.iter().all(|&n| n > 0),
            "outcomes not all exercised: {seen:?}"
        );
    }

    fn anon_k(start: usize, end: usize, bits: u32, shared: bool, may_write: bool) -> Vma {
        Vma {
            start,
            end,
            prot: prot(bits),
            kind: VmaKind::Anonymous { shared, may_write },
        }
    }

    /// mprotect(2) as `do_mprotect_pkey` walks it: VMAs in order, stop at
    /// the first hole (ENOMEM) or the first VMA that may not take the
    /// rights (EACCES), keeping what came before.
    #[test]
    fn protect_extent_stops_where_linux_stops() {
        let ro_zero = anon_k(4 * P, 6 * P, R, true, false); // /dev/zero O_RDONLY
        let s = set(
            100,
            &[
                anon(0, 2 * P, RW),
                anon(2 * P, 3 * P, R),
                ro_zero,
                anon(8 * P, 9 * P, R),
            ],
        );
        assert_eq!(s.count(), 4);
        let rw = prot(RW);
        let r = prot(R);
        // Fully covered, allowed.
        assert_eq!(s.protect_extent(0, 3 * P, r), (3 * P, None));
        assert_eq!(s.protect_extent(P, 2 * P, r), (2 * P, None));
        assert_eq!(s.protect_extent(P, P, r), (P, None), "empty range");
        // A hole after [0, 3P).
        assert_eq!(s.protect_extent(0, 5 * P, r), (3 * P, Some(Errno::ENOMEM)));
        // Starting in a hole: nothing.
        assert_eq!(
            s.protect_extent(3 * P, 5 * P, r),
            (3 * P, Some(Errno::ENOMEM))
        );
        assert_eq!(
            s.protect_extent(6 * P, 8 * P, r),
            (6 * P, Some(Errno::ENOMEM))
        );
        // Past the last VMA.
        assert_eq!(
            s.protect_extent(8 * P, 10 * P, r),
            (9 * P, Some(Errno::ENOMEM))
        );
        // A VMA that may not become writable: EACCES at its start.
        assert_eq!(
            s.protect_extent(4 * P, 6 * P, rw),
            (4 * P, Some(Errno::EACCES))
        );
        assert_eq!(s.protect_extent(4 * P, 6 * P, r), (6 * P, None));
        // W+X anywhere: EACCES at the first VMA.
        assert_eq!(
            s.protect_extent(0, 2 * P, prot(7)),
            (0, Some(Errno::EACCES))
        );
        // A range ending inside a VMA: its end.
        assert_eq!(s.protect_extent(4 * P, 5 * P, r), (5 * P, None));
    }

    /// Linux's VM_MAYWRITE: a shared mapping of a read-only /dev/zero fd
    /// never becomes writable; a private one always may (copy-on-write).
    /// Devices are never executable, and writable only with may_write.
    #[test]
    fn allows_follows_may_write() {
        let w = prot(RW);
        let rx = prot(RX);
        assert!(anon_k(0, P, R, true, true).allows(w));
        assert!(!anon_k(0, P, R, true, false).allows(w));
        assert!(anon_k(0, P, R, true, false).allows(prot(R)));
        assert!(anon_k(0, P, R, true, false).allows(rx));
        assert!(!anon_k(0, P, R, false, true).allows(prot(7)), "W+X");
        let mut d = dev(0, P, 0x0900_0000);
        assert!(d.allows(w) && !d.allows(rx));
        d.kind = VmaKind::Device {
            phys: 0x0900_0000,
            mem: MemoryType::DeviceShareable,
            may_write: false,
        };
        assert!(!d.allows(w) && d.allows(prot(R)) && !d.allows(rx));
        let img = Vma {
            kind: VmaKind::Image(ImageData::ZERO),
            ..anon(0, P, R)
        };
        assert!(img.allows(w) && img.allows(rx) && !img.allows(prot(7)));
    }

    /// Neighbours merge only when one VMA could describe both: anonymous
    /// ones with the same sharing and VM_MAYWRITE, ELF pieces of the same
    /// segment.
    #[test]
    fn anonymous_and_image_kinds_merge_only_when_identical() {
        for (shared, mw) in [(false, true), (true, true), (true, false)] {
            let a = anon_k(0, P, R, shared, mw);
            for (s2, m2) in [(false, true), (true, true), (true, false)] {
                let b = anon_k(P, 2 * P, R, s2, m2);
                assert_eq!(a.can_merge(&b), (shared, mw) == (s2, m2), "{a:?} {b:?}");
            }
        }
        let s = set(
            100,
            &[
                anon_k(0, P, R, true, false),
                anon_k(P, 2 * P, R, true, true),
            ],
        );
        assert_eq!(s.count(), 2);
        static SEG: [u8; 16] = [1; 16];
        static OTHER: [u8; 16] = [1; 16];
        let seg = ImageData {
            bytes: &SEG,
            va: 0x10000,
        };
        let img = |start, end, d| Vma {
            start,
            end,
            prot: prot(R),
            kind: VmaKind::Image(d),
        };
        assert!(img(0, P, seg).can_merge(&img(P, 2 * P, seg)));
        let other = ImageData {
            bytes: &OTHER,
            va: 0x10000,
        };
        assert!(
            !img(0, P, seg).can_merge(&img(P, 2 * P, other)),
            "other bytes"
        );
        let moved = ImageData { va: 0x20000, ..seg };
        assert!(
            !img(0, P, seg).can_merge(&img(P, 2 * P, moved)),
            "other place"
        );
        assert!(
            !img(0, P, seg).can_merge(&img(2 * P, 3 * P, seg)),
            "not touching"
        );
        assert!(!img(0, P, seg).can_merge(&anon(P, 2 * P, R)));
        let s = set(
            100,
            &[img(0, P, seg), img(P, 2 * P, seg), img(2 * P, 3 * P, other)],
        );
        assert_eq!(ranges(&s), vec![(0, 2 * P), (2 * P, 3 * P)]);
    }

    #[test]
    fn in_page_gives_the_file_bytes_of_a_page() {
        static B: [u8; 0x1800] = {
            let mut b = [0u8; 0x1800];
            let mut i = 0;
            while i < b.len() {
                b[i] = i as u8;
                i += 1;
            }
            b
        };
        // Bytes at [0x10100, 0x11900).
        let d = ImageData {
            bytes: &B,
            va: 0x10100,
        };
        let (off, bytes) = d.in_page(0x10000, P).unwrap();
        assert_eq!((off, bytes.len()), (0x100, P - 0x100));
        assert_eq!(bytes[0], 0);
        assert!(core::ptr::eq(bytes.as_ptr(), B.as_ptr()));
        let (off, bytes) = d.in_page(0x11000, P).unwrap();
        assert_eq!((off, bytes.len()), (0, 0x900));
        assert!(core::ptr::eq(bytes.as_ptr(), B[0xF00..].as_ptr()));
        assert_eq!(d.in_page(0x12000, P), None, "after the bytes");
        assert_eq!(d.in_page(0xF000, P), None, "before them");
        assert_eq!(
            d.in_page(0xF000, 0x1101).map(|(o, b)| (o, b.len())),
            Some((0x1100, 1))
        );
        assert_eq!(ImageData::ZERO.in_page(0, P), None);
        // A range that ends exactly where the bytes begin holds none.
        assert_eq!(d.in_page(0xF000, 0x1100), None);
        assert_eq!(
            d.in_page(usize::MAX - P + 1, P),
            None,
            "no overflow at the top"
        );
    }

    #[test]
    fn iter_from_starts_at_the_vma_holding_or_following_addr() {
        let s = set(
            100,
            &[
                anon(2 * P, 4 * P, RW),
                anon(6 * P, 7 * P, RW),
                anon(9 * P, 10 * P, R),
            ],
        );
        let starts = |a: usize| s.iter_from(a).map(|v| v.start).collect::<Vec<_>>();
        assert_eq!(starts(0), vec![2 * P, 6 * P, 9 * P]);
        assert_eq!(starts(3 * P), vec![2 * P, 6 * P, 9 * P], "inside the first");
        assert_eq!(starts(4 * P), vec![6 * P, 9 * P], "end is exclusive");
        assert_eq!(starts(7 * P - 1), vec![6 * P, 9 * P]);
        assert_eq!(starts(8 * P), vec![9 * P]);
        assert!(starts(10 * P).is_empty());
    }

    /// cut = remove without the list: same result, same errors, and the
    /// VMA limit counts the pieces left (a hole in the middle of one VMA
    /// makes two).
    #[test]
    fn cut_matches_munmap_semantics() {
        let base = [
            anon(0, 4 * P, RW),
            dev(6 * P, 10 * P, 0x0900_0000),
            anon(12 * P, 14 * P, R),
        ];
        let mut s = set(3, &base);
        assert_eq!(s.cut(P, 2 * P), Err(Errno::ENOMEM), "would make 4 VMAs");
        assert_eq!(s.count(), 3);
        assert_eq!(s.cut(P, 0), Err(Errno::EINVAL));
        assert_eq!(s.cut(P + 1, 2 * P), Err(Errno::EINVAL));
        assert_eq!(s.cut(P, 2 * P + 8), Err(Errno::EINVAL));
        assert_eq!(s.cut(4 * P, 6 * P), Ok(()), "a hole");
        assert_eq!(s.count(), 3);
        // Cut the first VMA's tail and the device's head in one go.
        s.cut(3 * P, 7 * P).unwrap();
        assert_eq!(
            ranges(&s),
            vec![(0, 3 * P), (7 * P, 10 * P), (12 * P, 14 * P)]
        );
        match s.find(7 * P).unwrap().kind {
            VmaKind::Device { phys, .. } => assert_eq!(phys, 0x0900_1000),
            k => panic!("{k:?}"),
        }
        // A middle cut with room for it.
        let mut s = set(4, &base);
        s.cut(7 * P, 8 * P).unwrap();
        assert_eq!(
            ranges(&s),
            vec![
                (0, 4 * P),
                (6 * P, 7 * P),
                (8 * P, 10 * P),
                (12 * P, 14 * P)
            ]
        );
        match s.find(8 * P).unwrap().kind {
            VmaKind::Device { phys, .. } => assert_eq!(phys, 0x0900_2000),
            k => panic!("{k:?}"),
        }
        // Whole VMAs and everything between.
        s.cut(0, 14 * P).unwrap();
        assert_eq!(s.count(), 0);
        // remove reports what cut removes, clipped.
        let mut s = set(3, &base);
        let got = s.remove(2 * P, 13 * P).unwrap();
        assert_eq!(
            got.iter().map(|v| (v.start, v.end)).collect::<Vec<_>>(),
            vec![(2 * P, 4 * P), (6 * P, 10 * P), (12 * P, 13 * P)]
        );
        assert_eq!(ranges(&s), vec![(0, 2 * P), (13 * P, 14 * P)]);
        assert_eq!(s.remove(P, 2 * P).unwrap(), vec![anon(P, 2 * P, RW)]);
        assert!(s.reserve(4).is_ok());
    }
}
