//! Physical frame allocator: one bit per 4 KiB frame of one contiguous RAM
//! range.
//!
//! A set bit means "in use" (allocated or reserved). Single frames come from
//! a next-fit scan that starts at the word where the previous allocation
//! succeeded, so a run of allocations is O(1) amortised; contiguous runs
//! (16 KiB-aligned L1 tables, 1 MiB sections) use a first-fit scan.
//! Nothing here panics on bad input: misuse is reported as an error.

use alloc::vec;
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
}

impl FrameError {
    pub const fn errno(self) -> Errno {
        match self {
            FrameError::Unaligned | FrameError::NotAllocated => Errno::EINVAL,
            FrameError::OutOfRange => Errno::EFAULT,
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
    free: usize,
    /// Word index where the next single-frame search starts.
    hint: usize,
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
    pub fn new(base: u64, size: u64) -> Self {
        let start = align_up(base, FRAME_SIZE);
        let end = base.saturating_add(size) & !(FRAME_SIZE - 1);
        let frames = if end > start {
            ((end - start) >> FRAME_SHIFT) as usize
        } else {
            0
        };
        let words = frames.div_ceil(64);
        let mut bitmap = vec![0u64; words];
        let tail = frames % 64;
        if tail != 0 {
            bitmap[words - 1] = !0u64 << tail;
        }
        FrameAllocator {
            base: start,
            frames,
            bitmap,
            free: frames,
            hint: 0,
        }
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

    fn set(&mut self, i: usize) {
        self.bitmap[i / 64] |= 1 << (i % 64);
    }

    fn clear(&mut self, i: usize) {
        self.bitmap[i / 64] &= !(1 << (i % 64));
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
        for step in 0..words {
            let w = (self.hint + step) % words;
            let word = self.bitmap[w];
            if word != !0 {
                let i = w * 64 + word.trailing_ones() as usize;
                self.set(i);
                self.free -= 1;
                self.hint = w;
                return Ok(self.addr(i));
            }
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
        let mut i = match self.index(first_pa) {
            Some(i) => i,
            None => return Err(Errno::ENOMEM),
        };
        let step = align_frames.max(1);
        while i.checked_add(count).is_some_and(|e| e <= self.frames) {
            match (i..i + count).rev().find(|&j| self.test(j)) {
                None => {
                    for j in i..i + count {
                        self.set(j);
                    }
                    self.free -= count;
                    return Ok(self.addr(i));
                }
                // Skip past the used frame to the next aligned candidate.
                Some(used) => {
                    let skip = ((used - i) / step + 1).saturating_mul(step);
                    i = i.saturating_add(skip);
                }
            }
        }
        Err(Errno::ENOMEM)
    }

    /// Give back one frame.
    pub fn free(&mut self, pa: u64) -> Result<(), FrameError> {
        self.free_contiguous(pa, 1)
    }

    /// Give back `count` frames starting at `pa`. Everything is checked
    /// before anything is freed: on error nothing changes.
    pub fn free_contiguous(&mut self, pa: u64, count: usize) -> Result<(), FrameError> {
        if !pa.is_multiple_of(FRAME_SIZE) {
            return Err(FrameError::Unaligned);
        }
        let first = self.index(pa).ok_or(FrameError::OutOfRange)?;
        let last = first.checked_add(count).ok_or(FrameError::OutOfRange)?;
        if last > self.frames {
            return Err(FrameError::OutOfRange);
        }
        if (first..last).any(|i| !self.test(i)) {
            return Err(FrameError::NotAllocated);
        }
        for i in first..last {
            self.clear(i);
        }
        self.free += count;
        Ok(())
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
}

#[cfg(test)]
mod tests;
