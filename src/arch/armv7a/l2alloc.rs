//! Allocator for 1 KiB second-level tables.
//!
//! A coarse L2 table is a quarter of a 4 KiB frame. Tables come first from
//! a small static pool inside the kernel image (usable before the linear
//! map exists), then from frames split four ways; a frame goes back to the
//! frame allocator as soon as its four tables are free, so mapping and
//! unmapping leave the free-frame count where it was.

use crate::errno::Errno;
use alloc::vec::Vec;

pub const L2_SIZE: u32 = 1024;

pub struct L2Alloc {
    pool_base: u32,
    pool_count: u32,
    /// Bit i set: pool table i in use (pool_count <= 64).
    pool_used: u64,
    /// (frame PA, bitmask of the four quarter-tables in use). A `Vec`
    /// grown with `try_reserve` before the frame is taken, so a full
    /// kernel heap is `ENOMEM`, not a panic (a `BTreeMap::insert` here
    /// could only abort).
    frames: Vec<(u32, u8)>,
}

impl L2Alloc {
    /// `pool_base` (1 KiB aligned) holds `pool_count` tables (at most 64).
    pub fn new(pool_base: u32, pool_count: u32) -> Self {
        L2Alloc {
            pool_base,
            pool_count: pool_count.min(64),
            pool_used: 0,
            frames: Vec::new(),
        }
    }

    /// A free table's PA; `new_frame` supplies a 4 KiB frame when needed.
    /// The caller zeroes the table.
    pub fn alloc(&mut self, new_frame: impl FnOnce() -> Result<u32, Errno>) -> Result<u32, Errno> {
        if let Some(i) = (0..self.pool_count).find(|i| self.pool_used & (1 << i) == 0) {
            self.pool_used |= 1 << i;
            return Ok(self.pool_base + i * L2_SIZE);
        }
        if let Some((frame, mask)) = self.frames.iter_mut().find(|(_, m)| *m != 0xf) {
            let q = (0..4).find(|q| *mask & (1 << q) == 0).unwrap_or(0);
            *mask |= 1 << q;
            return Ok(*frame + q as u32 * L2_SIZE);
        }
        self.frames.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        let frame = new_frame()?;
        self.frames.push((frame, 1));
        Ok(frame)
    }

    /// Free a table; returns a frame that is now entirely free and should
    /// go back to the frame allocator. Unknown addresses are ignored.
    pub fn free(&mut self, pa: u32) -> Option<u32> {
        if pa >= self.pool_base && pa < self.pool_base + self.pool_count * L2_SIZE {
            self.pool_used &= !(1 << ((pa - self.pool_base) / L2_SIZE));
            return None;
        }
        let frame = pa & !0xfff;
        let q = (pa & 0xfff) / L2_SIZE;
        let i = self.frames.iter().position(|&(f, _)| f == frame)?;
        let mask = &mut self.frames[i].1;
        *mask &= !(1 << q);
        if *mask == 0 {
            self.frames.swap_remove(i);
            Some(frame)
        } else {
            None
        }
    }

    pub fn in_use(&self) -> usize {
        self.pool_used.count_ones() as usize
            + self
                .frames
                .iter()
                .map(|(_, m)| m.count_ones() as usize)
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn pool_first_then_frames_four_ways() {
        let mut a = L2Alloc::new(0x1000, 2);
        let mut next = 0x10_0000u32;
        let mut frame = || {
            let f = next;
            next += 0x1000;
            Ok(f)
        };
        assert_eq!(a.alloc(&mut frame).unwrap(), 0x1000);
        assert_eq!(a.alloc(&mut frame).unwrap(), 0x1400);
        let t: Vec<u32> = (0..5).map(|_| a.alloc(&mut frame).unwrap()).collect();
        assert_eq!(t, [0x10_0000, 0x10_0400, 0x10_0800, 0x10_0C00, 0x10_1000]);
        assert_eq!(a.in_use(), 7);
        // A frame returns only when all four quarters are free.
        assert_eq!(a.free(0x10_0400), None);
        assert_eq!(a.free(0x10_0000), None);
        assert_eq!(a.free(0x10_0800), None);
        assert_eq!(a.free(0x10_0C00), Some(0x10_0000));
        assert_eq!(a.free(0x1000), None);
        assert_eq!(a.in_use(), 2);
        // Freed pool tables are reused first.
        assert_eq!(a.alloc(&mut frame).unwrap(), 0x1000);
    }

    #[test]
    fn frame_exhaustion_is_an_error() {
        let mut a = L2Alloc::new(0, 0);
        assert_eq!(a.alloc(|| Err(Errno::ENOMEM)), Err(Errno::ENOMEM));
        assert_eq!(a.free(0x5000), None, "unknown table ignored");
    }
}
