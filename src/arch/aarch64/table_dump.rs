//! Human-readable layout of a live VMSAv8-64 table (3 levels, 4 KiB
//! granule), decoded with the independent decoder: which VA ranges are
//! 1 GiB blocks, 2 MiB blocks or 4 KiB pages, with type and permissions.

use super::decode::{self, Attrs, Entry};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    pub va: u64,
    pub pa: u64,
    pub block: u64,
    pub count: u64,
    pub attrs: Attrs,
}

struct Runs<'a> {
    cur: Option<Run>,
    out: &'a mut dyn FnMut(Run),
}

impl Runs<'_> {
    fn push(&mut self, va: u64, pa: u64, block: u64, attrs: Attrs) {
        if let Some(r) = self.cur.as_mut() {
            let len = r.block * r.count;
            if r.block == block && r.attrs == attrs && r.va + len == va && r.pa + len == pa {
                r.count += 1;
                return;
            }
            (self.out)(*r);
        }
        self.cur = Some(Run {
            va,
            pa,
            block,
            count: 1,
            attrs,
        });
    }

    fn gap(&mut self) {
        if let Some(r) = self.cur.take() {
            (self.out)(r);
        }
    }
}

/// Walk a level-1 root whose first entry translates `va_base`.
pub fn runs(va_base: u64, read: &dyn Fn(u64, usize) -> u64, root: u64, out: &mut dyn FnMut(Run)) {
    let mut r = Runs { cur: None, out };
    walk(&mut r, read, root, 1, va_base);
    r.gap();
}

fn walk(r: &mut Runs, read: &dyn Fn(u64, usize) -> u64, table: u64, level: u8, va: u64) {
    let size = decode::level_size(level);
    for i in 0..512u64 {
        let v = va.wrapping_add(i * size);
        match decode::decode(read(table, i as usize), level) {
            Entry::Table { next, .. } => walk(r, read, next, level + 1, v),
            Entry::Block { oa, attrs } | Entry::Page { oa, attrs } => r.push(v, oa, size, attrs),
            _ => r.gap(),
        }
    }
}

#[cfg(target_arch = "aarch64")]
pub fn print_kernel_table() {
    use super::mmu::{kernel_table, phys_to_virt, KERNEL_SPLIT};
    use crate::kprintln;
    use aarch64_cpu::registers::{Readable, MAIR_EL1};
    let t = kernel_table();
    let mair = MAIR_EL1.get();
    kprintln!("kernel translation table (TTBR1_EL1, root at PA {:#x}; 39-bit VAs, 4 KiB granule; users via TTBR0_EL1):", t.root_pa);
    let read = |table: u64, i: usize| -> u64 {
        // SAFETY: descriptor memory is mapped in the kernel half.
        unsafe { (phys_to_virt(table + 8 * i as u64) as *const u64).read_volatile() }
    };
    runs(KERNEL_SPLIT, &read, t.root_pa, &mut |r| {
        let byte = (mair >> (8 * r.attrs.attr_index as u64)) as u8;
        let class = decode::class_of_mair_byte(byte);
        let kind = match r.block {
            decode::SIZE_1G => "1 GiB block",
            decode::SIZE_2M => "2 MiB block",
            _ => "4 KiB page",
        };
        kprintln!(
            "  VA {:#x}..{:#x} -> PA {:#010x}  {:>4} x {:<11}  MAIR {:#04x} {:?}  {}  {}{}",
            r.va,
            r.va + r.block * r.count - 1,
            r.pa,
            r.count,
            kind,
            byte,
            class,
            decode::access_of(r.attrs.ap).name(),
            if r.attrs.uxn { "UXN" } else { "" },
            if r.attrs.pxn { " PXN" } else { "" },
        );
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn blocks_and_pages_coalesce() {
        // Root at 0x1000: entry 0 -> L2 at 0x2000; L2[0..2] 2 MiB blocks
        // (contiguous PAs), L2[2] -> L3 at 0x3000 with 3 pages.
        let blk = |pa: u64| pa | (5 << 2) | (3 << 8) | (1 << 10) | 0b01;
        let page = |pa: u64| pa | (5 << 2) | (3 << 8) | (1 << 10) | 0b11;
        let read = |t: u64, i: usize| -> u64 {
            match (t, i) {
                (0x1000, 0) => 0x2000 | 0b11,
                (0x2000, 0) => blk(0x4000_0000),
                (0x2000, 1) => blk(0x4020_0000),
                (0x2000, 2) => 0x3000 | 0b11,
                (0x3000, 0..=2) => page(0x5000_0000 + 0x1000 * i as u64),
                _ => 0,
            }
        };
        let mut v = Vec::new();
        runs(0xFFFF_FF80_0000_0000, &read, 0x1000, &mut |r| v.push(r));
        assert_eq!(v.len(), 2);
        assert_eq!(
            (v[0].va, v[0].pa, v[0].block, v[0].count),
            (0xFFFF_FF80_0000_0000, 0x4000_0000, 2 << 20, 2)
        );
        assert_eq!(
            (v[1].va, v[1].block, v[1].count),
            (0xFFFF_FF80_0040_0000, 4096, 3)
        );
    }
}
