//! Physical frame allocator: one bit per 4 KiB frame of one contiguous RAM
//! range, and one reference count per frame.
//!
//! A set bit means "in use" (allocated or reserved). A frame in use has a
//! reference count of at least 1: the allocation (or reservation) is the
//! first reference, [`FrameAllocator::share`] adds one (a frame mapped by
//! two address spaces after `fork`, or held by a shared memory object and
//! mapped), and [`FrameAllocator::free`] drops one: the frame is free
//! again when the last goes. So every path that "frees" a frame it maps
//! (an unmap with `free_frames`, a teardown, `MADV_DONTNEED`) is right
//! whether or not the frame is shared. Single frames come from
//! a next-fit scan that starts at the word where the previous allocation
//! succeeded, so a run of allocations is O(1) amortised; contiguous runs
//! (16 KiB-aligned L1 tables, 1 MiB sections) use a first-fit scan.
//! Nothing here panics on bad input: misuse is reported as an error.

use alloc::vec::Vec;

use crate::errno::Errno;

pub const FRAME_SHIFT: u32 = 12;
pub const FRAME_SIZE: u64 = 1 << FRAME_SHIFT;

/// Why a free was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The address is not 4 KiB aligned.
    Unaligned,
    /// The address (or part of the run) lies outside the managed RAM.
    OutOfRange,
    /// The frame is already free: a double free.
    NotAllocated,
    /// [`FrameAllocator::share`]: the frame already has the most
    /// references a count holds.
    TooManyRefs,
}

impl FrameError {
    pub const fn errno(self) -> Errno {
        match self {
            FrameError::Unaligned | FrameError::NotAllocated => Errno::EINVAL,
            FrameError::OutOfRange => Errno::EFAULT,
            FrameError::TooManyRefs => Errno::ENOMEM,
        }
    }
}

impl From<FrameError> for Errno {
    fn from(e: FrameError) -> Errno {
        e.errno()
    }
}

pub struct FrameAllocator {
    /// Physical address of frame 0 (4 KiB aligned).
    base: u64,
    /// Number of frames managed.
    frames: usize,
    /// One bit per frame, 1 = used. Bits past `frames` in the last word are
    /// kept set so the scans never return them.
    bitmap: Vec<u64>,
    /// References per frame: 0 exactly when the frame's bit is clear.
    refs: Vec<u16>,
    free: usize,
    /// Word index where the next single-frame search starts.
    hint: usize,
    /// The run of frames `free_contiguous` released last, whole (first
    /// index, count): the next request for as many frames takes it back
    /// without a first-fit scan from the bottom of RAM, which crosses
    /// every partly used bitmap word on the way (a fork's 8 KiB ARMv7-A
    /// root table is the one the last reaped child gave back: about
    /// 4 400 instructions of scanning per fork).
    run_hint: Option<(usize, usize)>,
}

const fn align_up(x: u64, a: u64) -> u64 {
    match x.checked_add(a - 1) {
        Some(v) => v & !(a - 1),
        None => !(a - 1),
    }
}

impl FrameAllocator {
    /// Manage RAM `[base, base + size)`, all of it free. A base that is not
    /// frame aligned is rounded up and the end rounded down: only whole
    /// frames are managed.
    ///
    /// The bitmap and the reference counts (2 bytes per frame) come from
    /// the heap, fallibly: if they cannot be had for all of the RAM, the
    /// allocator manages the largest leading part (halving) whose
    /// bookkeeping fits, rather than failing the boot; [`Self::total`]
    /// tells how much that is.
    pub fn new(base: u64, size: u64) -> Self {
        let start = align_up(base, FRAME_SIZE);
        let end = base.saturating_add(size) & !(FRAME_SIZE - 1);
        let mut frames = if end > start {
            usize::try_from((end - start) >> FRAME_SHIFT).unwrap_or(usize::MAX)
        } else {
            0
        };
        loop {
            if let Ok(a) = Self::try_new(start, frames) {
                return a;
            }
            frames /= 2;
        }
    }

    /// `frames` frames from the aligned `start`; `ENOMEM` if the
    /// bookkeeping cannot be allocated.
    fn try_new(start: u64, frames: usize) -> Result<Self, Errno> {
        let words = frames.div_ceil(64);
        let mut bitmap = Vec::new();
        bitmap.try_reserve_exact(words).map_err(|_| Errno::ENOMEM)?;
        bitmap.resize(words, 0u64);
        let mut refs = Vec::new();
        refs.try_reserve_exact(frames).map_err(|_| Errno::ENOMEM)?;
        refs.resize(frames, 0u16);
        let tail = frames % 64;
        if tail != 0 {
            bitmap[words - 1] = !0u64 << tail;
        }
        Ok(FrameAllocator {
            base: start,
            frames,
            bitmap,
            refs,
            free: frames,
            hint: 0,
            run_hint: None,
        })
    }

    /// First managed physical address.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// One past the last managed physical address.
    pub fn end(&self) -> u64 {
        self.base + ((self.frames as u64) << FRAME_SHIFT)
    }

    /// Number of frames managed.
    pub fn total(&self) -> usize {
        self.frames
    }

    /// Number of frames neither allocated nor reserved.
    pub fn free_count(&self) -> usize {
        self.free
    }

    fn index(&self, pa: u64) -> Option<usize> {
        if pa < self.base || pa >= self.end() {
            None
        } else {
            Some(((pa - self.base) >> FRAME_SHIFT) as usize)
        }
    }

    fn addr(&self, index: usize) -> u64 {
        self.base + ((index as u64) << FRAME_SHIFT)
    }

    fn test(&self, i: usize) -> bool {
        self.bitmap[i / 64] & (1 << (i % 64)) != 0
    }

    /// Mark frame `i` used with one reference.
    fn set(&mut self, i: usize) {
        self.bitmap[i / 64] |= 1 << (i % 64);
        self.refs[i] = 1;
    }

    fn clear(&mut self, i: usize) {
        self.bitmap[i / 64] &= !(1 << (i % 64));
        self.refs[i] = 0;
    }

    /// The bits of `[first, last)` that fall in bitmap word `w`.
    fn word_mask(w: usize, first: usize, last: usize) -> u64 {
        let lo = first.max(w * 64) - w * 64;
        let hi = last.min(w * 64 + 64) - w * 64;
        let upto = |n: usize| if n == 64 { !0 } else { (1u64 << n) - 1 };
        upto(hi) & !upto(lo)
    }

    /// The highest used frame of `[first, last)` (non-empty, in range),
    /// a word (64 frames) at a time.
    fn last_used(&self, first: usize, last: usize) -> Option<usize> {
        (first / 64..=(last - 1) / 64).rev().find_map(|w| {
            let used = self.bitmap[w] & Self::word_mask(w, first, last);
            (used != 0).then(|| w * 64 + 63 - used.leading_zeros() as usize)
        })
    }

    /// Whether every frame of `[first, last)` (non-empty) is used.
    fn all_used(&self, first: usize, last: usize) -> bool {
        (first / 64..=(last - 1) / 64).all(|w| {
            let m = Self::word_mask(w, first, last);
            self.bitmap[w] & m == m
        })
    }

    /// Mark `[first, last)` (non-empty) used with one reference each.
    fn set_run(&mut self, first: usize, last: usize) {
        for w in first / 64..=(last - 1) / 64 {
            self.bitmap[w] |= Self::word_mask(w, first, last);
        }
        self.refs[first..last].fill(1);
    }

    /// Mark `[first, last)` (non-empty) free.
    fn clear_run(&mut self, first: usize, last: usize) {
        for w in first / 64..=(last - 1) / 64 {
            self.bitmap[w] &= !Self::word_mask(w, first, last);
        }
        self.refs[first..last].fill(0);
    }

    /// Mark `[start, end)` as used (kernel image, DTB, initrd, boot page
    /// tables...). Partial frames are rounded outwards; the parts outside
    /// the managed RAM are ignored; already-used frames stay used.
    /// Reserved frames may later be given back with [`Self::free`].
    pub fn reserve(&mut self, start: u64, end: u64) {
        let start = (start & !(FRAME_SIZE - 1)).max(self.base);
        let end = align_up(end, FRAME_SIZE).min(self.end());
        if start >= end {
            return;
        }
        let first = ((start - self.base) >> FRAME_SHIFT) as usize;
        let last = ((end - self.base) >> FRAME_SHIFT) as usize;
        for i in first..last {
            if !self.test(i) {
                self.set(i);
                self.free -= 1;
            }
        }
    }

    /// One free frame, next-fit. `ENOMEM` when none is left.
    pub fn alloc(&mut self) -> Result<u64, Errno> {
        if crate::mm::inject::fail(crate::mm::inject::Kind::Frame, FRAME_SIZE as usize) {
            return Err(Errno::ENOMEM);
        }
        let words = self.bitmap.len();
        if self.free == 0 || words == 0 {
            return Err(Errno::ENOMEM);
        }
        let mut w = self.hint.min(words - 1);
        for _ in 0..words {
            let word = self.bitmap[w];
            if word != !0 {
                let i = w * 64 + word.trailing_ones() as usize;
                self.set(i);
                self.free -= 1;
                self.hint = w;
                return Ok(self.addr(i));
            }
            // Next word, wrapping (no division: this is the hot path).
            w = if w + 1 == words { 0 } else { w + 1 };
        }
        // `free` said there was one; the bitmap disagrees. Report, don't panic.
        Err(Errno::ENOMEM)
    }

    /// `count` physically contiguous free frames whose first physical address
    /// is a multiple of `align_frames` frames (0 is taken as 1). First fit.
    /// `EINVAL` for `count == 0`, `ENOMEM` when no such run exists.
    pub fn alloc_contiguous(&mut self, count: usize, align_frames: usize) -> Result<u64, Errno> {
        if crate::mm::inject::fail(crate::mm::inject::Kind::Frame, count << FRAME_SHIFT) {
            return Err(Errno::ENOMEM);
        }
        if count == 0 {
            return Err(Errno::EINVAL);
        }
        if count > self.free {
            return Err(Errno::ENOMEM);
        }
        let align = (align_frames.max(1) as u64)
            .checked_mul(FRAME_SIZE)
            .ok_or(Errno::ENOMEM)?;
        // First candidate: the first aligned address at or above `base`.
        let first_pa = if align.is_power_of_two() {
            align_up(self.base, align)
        } else {
            self.base.div_ceil(align).saturating_mul(align)
        };
        if let Some((h, n)) = self.run_hint.take() {
            if n == count
                && self.addr(h).is_multiple_of(align)
                && h + n <= self.frames
                && self.last_used(h, h + n).is_none()
            {
                self.set_run(h, h + n);
                self.free -= n;
                return Ok(self.addr(h));
            }
        }
        let mut i = match self.index(first_pa) {
            Some(i) => i,
            None => return Err(Errno::ENOMEM),
        };
        let step = align_frames.max(1);
        // The next candidate at or above frame `n` (>= the first one,
        // `i0`): `i0` plus a multiple of `step`, the physical alignment
        // (a mask when it is a power of two, as every caller's is).
        let i0 = i;
        let next = |n: usize| {
            let d = n - i0;
            let d = if step.is_power_of_two() {
                d.checked_add(step - 1).map(|d| d & !(step - 1))
            } else {
                d.div_ceil(step).checked_mul(step)
            };
            d.and_then(|d| i0.checked_add(d))
        };
        while i.checked_add(count).is_some_and(|e| e <= self.frames) {
            // A wholly used word: skip its 64 frames at once.
            if self.bitmap[i / 64] == !0 {
                match next((i / 64 + 1) * 64).filter(|&n| n > i) {
                    Some(n) => i = n,
                    None => break,
                }
                continue;
            }
            match self.last_used(i, i + count) {
                None => {
                    self.set_run(i, i + count);
                    self.free -= count;
                    return Ok(self.addr(i));
                }
                // Skip past the used frame to the next aligned candidate.
                Some(used) => match next(used + 1) {
                    Some(n) => i = n,
                    None => break,
                },
            }
        }
        Err(Errno::ENOMEM)
    }

    /// Drop one reference to a frame; it is free when the last goes.
    pub fn free(&mut self, pa: u64) -> Result<(), FrameError> {
        self.free_contiguous(pa, 1)
    }

    /// Drop one reference to each of the `count` frames starting at `pa`
    /// (a table, a section); each is free when its last goes. Everything
    /// is checked before anything changes: on error nothing changes.
    pub fn free_contiguous(&mut self, pa: u64, count: usize) -> Result<(), FrameError> {
        let (first, last) = self.run(pa, count)?;
        if first == last {
            return Ok(());
        }
        if !self.all_used(first, last) {
            return Err(FrameError::NotAllocated);
        }
        // The common case (a section's frames, none shared): all at once.
        if self.refs[first..last].iter().all(|&r| r == 1) {
            self.clear_run(first, last);
            self.free += count;
            if count > 1 {
                self.run_hint = Some((first, count));
            }
            return Ok(());
        }
        for i in first..last {
            if self.refs[i] <= 1 {
                self.clear(i);
                self.free += 1;
            } else {
                self.refs[i] -= 1;
            }
        }
        Ok(())
    }

    /// The frame indexes `[first, last)` of `count` frames at `pa`.
    fn run(&self, pa: u64, count: usize) -> Result<(usize, usize), FrameError> {
        if !pa.is_multiple_of(FRAME_SIZE) {
            return Err(FrameError::Unaligned);
        }
        let first = self.index(pa).ok_or(FrameError::OutOfRange)?;
        let last = first.checked_add(count).ok_or(FrameError::OutOfRange)?;
        if last > self.frames {
            return Err(FrameError::OutOfRange);
        }
        Ok((first, last))
    }

    /// One more reference to the frame at `pa` (in use). Errors, with
    /// nothing changed: unaligned or outside the RAM, `NotAllocated` for a
    /// free frame, `TooManyRefs` when its count is full.
    pub fn share(&mut self, pa: u64) -> Result<(), FrameError> {
        let (i, _) = self.run(pa, 1)?;
        if !self.test(i) {
            return Err(FrameError::NotAllocated);
        }
        self.refs[i] = self.refs[i].checked_add(1).ok_or(FrameError::TooManyRefs)?;
        Ok(())
    }

    /// References to the frame containing `pa`: 0 if it is free or
    /// outside the managed RAM.
    pub fn refcount(&self, pa: u64) -> usize {
        self.index(pa).map_or(0, |i| usize::from(self.refs[i]))
    }

    /// Whether the frame containing `pa` is in use (allocated or reserved).
    /// `false` outside the managed RAM.
    pub fn is_allocated(&self, pa: u64) -> bool {
        match self.index(pa) {
            Some(i) => self.test(i),
            None => false,
        }
    }

    /// Frames marked used in the bitmap, counted bit by bit (independent
    /// of the `free` counter, so `free_count() + used_count() == total()`
    /// is a real check: the auditor makes it).
    pub fn used_count(&self) -> usize {
        let ones: usize = self.bitmap.iter().map(|w| w.count_ones() as usize).sum();
        // The padding bits past `frames` in the last word are kept set.
        let padding = (64 - self.frames % 64) % 64;
        ones - padding.min(ones)
    }

    /// Test hook: make the free counter disagree with the bitmap.
    #[cfg(test)]
    pub fn corrupt_free_count(&mut self, free: usize) {
        self.free = free;
    }

    /// Test hook: set a frame's count without the bitmap's knowledge.
    #[cfg(test)]
    pub fn set_refcount(&mut self, pa: u64, refs: u16) {
        if let Some(i) = self.index(pa) {
            self.refs[i] = refs;
        }
    }
}

#[cfg(test)]
mod refcount_tests;
#[cfg(test)]
mod tests;
