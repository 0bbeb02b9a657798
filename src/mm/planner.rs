//! Mapping planner: cut (va, pa, size) into the largest blocks the
//! architecture can map in one descriptor.
//!
//! ARMv7-A short descriptors offer 16 MiB supersections, 1 MiB sections,
//! 64 KiB large pages and 4 KiB small pages; VMSAv8-64 with a 4 KiB granule
//! offers 1 GiB and 2 MiB blocks and 4 KiB pages. A block is usable where
//! the virtual address, the physical address and the remaining size are all
//! multiples of its size. Greedy largest-first is optimal here because every
//! block size divides the next larger one.

/// One block of a plan: map `size` bytes at `va` to `pa` with one (possibly
/// replicated) descriptor of that size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunk {
    pub va: u64,
    pub pa: u64,
    pub size: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanError {
    /// Size zero.
    Empty,
    /// va, pa or size not a multiple of the smallest granule.
    Misaligned,
    /// va + size or pa + size wraps around.
    Overflow,
}

/// Iterator over the chunks of a mapping. `granules` lists the block sizes
/// the caller may use, largest first; the last one is the page size.
#[derive(Clone, Debug)]
pub struct Plan<'g> {
    va: u64,
    pa: u64,
    left: u64,
    granules: &'g [u64],
}

pub fn plan(va: u64, pa: u64, size: u64, granules: &[u64]) -> Result<Plan<'_>, PlanError> {
    let page = *granules.last().ok_or(PlanError::Misaligned)?;
    debug_assert!(granules.windows(2).all(|w| w[0] > w[1] && w[0] % w[1] == 0));
    // Powers of two (every VMSA block size is): alignment is a mask, not
    // a 64-bit division (a libcall on ARMv7-A).
    if !granules.iter().all(|g| g.is_power_of_two()) {
        return Err(PlanError::Misaligned);
    }
    if size == 0 {
        return Err(PlanError::Empty);
    }
    if (va | pa | size) & (page - 1) != 0 {
        return Err(PlanError::Misaligned);
    }
    // The end may be exactly 2^64 (or 2^32 for a 32-bit space): va + size - 1
    // must not wrap.
    if va.checked_add(size - 1).is_none() || pa.checked_add(size - 1).is_none() {
        return Err(PlanError::Overflow);
    }
    Ok(Plan {
        va,
        pa,
        left: size,
        granules,
    })
}

impl Iterator for Plan<'_> {
    type Item = Chunk;

    fn next(&mut self) -> Option<Chunk> {
        if self.left == 0 {
            return None;
        }
        let size = *self
            .granules
            .iter()
            .find(|&&g| (self.va | self.pa) & (g - 1) == 0 && self.left >= g)?;
        let c = Chunk {
            va: self.va,
            pa: self.pa,
            size,
        };
        self.left -= size;
        // Wrapping: the last chunk may end exactly at the top of the space.
        self.va = self.va.wrapping_add(size);
        self.pa = self.pa.wrapping_add(size);
        Some(c)
    }
}

/// Granules of the ARMv7-A short-descriptor format, largest first.
pub const ARMV7_GRANULES: [u64; 4] = [16 << 20, 1 << 20, 64 << 10, 4 << 10];
/// Granules without supersections and large pages: sections and small pages.
pub const ARMV7_SECTIONS_AND_PAGES: [u64; 2] = [1 << 20, 4 << 10];

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    const MIB: u64 = 1 << 20;
    const KIB: u64 = 1 << 10;

    fn sizes(va: u64, pa: u64, size: u64, g: &[u64]) -> Vec<(u64, u64)> {
        plan(va, pa, size, g)
            .unwrap()
            .map(|c| (c.va, c.size))
            .collect()
    }

    #[test]
    fn aligned_megabytes_become_sections() {
        let v = sizes(0x8000_0000, 0x4000_0000, 3 * MIB, &ARMV7_SECTIONS_AND_PAGES);
        assert_eq!(
            v,
            [(0x8000_0000, MIB), (0x8010_0000, MIB), (0x8020_0000, MIB)]
        );
    }

    #[test]
    fn unaligned_head_and_tail_become_pages() {
        // Starts 8 KiB below a MiB boundary, ends 4 KiB past the next one.
        let va = 0x100000 - 8 * KIB;
        let v = sizes(va, va, 8 * KIB + MIB + 4 * KIB, &ARMV7_SECTIONS_AND_PAGES);
        assert_eq!(
            v,
            [
                (va, 4 * KIB),
                (va + 4 * KIB, 4 * KIB),
                (0x100000, MIB),
                (0x200000, 4 * KIB)
            ]
        );
    }

    #[test]
    fn pa_alignment_matters_as_much_as_va() {
        // VA is MiB-aligned but PA is not: no section is possible.
        let v = sizes(0x0010_0000, 0x4000_8000, MIB, &ARMV7_SECTIONS_AND_PAGES);
        assert_eq!(v.len(), 256);
        assert!(v.iter().all(|&(_, s)| s == 4 * KIB));
        // With large pages, 64 KiB-congruent addresses use them.
        let v = sizes(0x0010_0000, 0x4001_0000, MIB, &ARMV7_GRANULES);
        assert_eq!(v.len(), 16);
        assert!(v.iter().all(|&(_, s)| s == 64 * KIB));
    }

    #[test]
    fn supersections_when_sixteen_megabytes_line_up() {
        let v = sizes(0x0100_0000, 0x4100_0000, 17 * MIB, &ARMV7_GRANULES);
        assert_eq!(v, [(0x0100_0000, 16 * MIB), (0x0200_0000, MIB)]);
    }

    #[test]
    fn chunks_cover_the_range_exactly() {
        for (va, pa, size) in [
            (0x1000u64, 0x5000u64, 0x33_3000u64),
            (0xFF0_0000, 0x3FF0_0000, 0x210_0000),
            (0, 0, 0x10000),
        ] {
            let mut next_va = va;
            let mut next_pa = pa;
            for c in plan(va, pa, size, &ARMV7_GRANULES).unwrap() {
                assert_eq!((c.va, c.pa), (next_va, next_pa));
                assert_eq!(c.va % c.size, 0);
                assert_eq!(c.pa % c.size, 0);
                next_va += c.size;
                next_pa += c.size;
            }
            assert_eq!(next_va, va + size);
        }
    }

    #[test]
    fn bad_requests_are_errors() {
        let g = &ARMV7_SECTIONS_AND_PAGES;
        assert_eq!(plan(0, 0, 0, g).unwrap_err(), PlanError::Empty);
        assert_eq!(plan(0x10, 0, 4096, g).unwrap_err(), PlanError::Misaligned);
        assert_eq!(plan(0, 0x10, 4096, g).unwrap_err(), PlanError::Misaligned);
        assert_eq!(plan(0, 0, 100, g).unwrap_err(), PlanError::Misaligned);
        assert_eq!(
            plan(u64::MAX - 4095, 0, 8192, g).unwrap_err(),
            PlanError::Overflow
        );
        // Ending exactly at the top is fine.
        let last: Vec<_> = plan(u64::MAX - 4095, 0, 4096, g).unwrap().collect();
        assert_eq!(last.len(), 1);
    }

    #[test]
    fn physical_range_may_end_exactly_at_the_top() {
        // The same rule for pa: [pa, pa + size) may end at 2^64, not past.
        let g = &ARMV7_SECTIONS_AND_PAGES;
        let top = u64::MAX - 4095;
        let last: Vec<_> = plan(0x1000, top, 4096, g).unwrap().collect();
        assert_eq!(
            last,
            [Chunk {
                va: 0x1000,
                pa: top,
                size: 4096
            }]
        );
        assert_eq!(plan(0x1000, top, 8192, g).unwrap_err(), PlanError::Overflow);
        assert_eq!(plan(0x1000, top - 4096, 8192, g).map(|p| p.count()), Ok(2));
    }
}
