//! The auditor's view of a user table (VMSAv8-64, 4 KiB granule, walks
//! from level 1): every block and page, decoded by the independent decoder
//! (`decode.rs`, from the ARM ARM) into `mm::audit::Mapping`s, with the
//! hierarchical controls of the tables above folded in (D8.4.2). Plain
//! logic over a descriptor reader, host-tested; `user::UserMmu::walk`
//! feeds it the live table and MAIR_EL1.

use super::decode::{access_of, class_of_mair_byte, decode, level_size, Entry};
use crate::mm::audit::Mapping;

/// Walk the table at `pa` (level `level`, first entry at VA `base`) up to
/// VA `top`. `read(pa)` returns the descriptor at `pa`; `mair` is MAIR_EL1
/// (byte n = AttrIndx n).
pub fn user_mappings(
    read: &dyn Fn(u64) -> u64,
    root_pa: u64,
    top: u64,
    mair: u64,
    visit: &mut dyn FnMut(&Mapping),
) {
    walk_table(read, root_pa, 1, 0, top, (false, false, 0), mair, visit)
}

#[allow(clippy::too_many_arguments)]
fn walk_table(
    read: &dyn Fn(u64) -> u64,
    pa: u64,
    level: u8,
    base: u64,
    top: u64,
    (pxn_t, uxn_t, ap_t): (bool, bool, u8),
    mair: u64,
    visit: &mut dyn FnMut(&Mapping),
) {
    let size = level_size(level);
    for i in 0..512u64 {
        let va = base + i * size;
        if va >= top {
            break;
        }
        match decode(read(pa + i * 8), level) {
            Entry::Invalid | Entry::Reserved => {}
            Entry::Table {
                next,
                pxn_table,
                uxn_table,
                ap_table,
            } => walk_table(
                read,
                next,
                level + 1,
                va,
                top,
                (pxn_t | pxn_table, uxn_t | uxn_table, ap_t | ap_table),
                mair,
                visit,
            ),
            Entry::Block { oa, attrs } | Entry::Page { oa, attrs } => {
                // APTable[1] forces read-only, APTable[0] removes EL0 access.
                let ap = (attrs.ap | (ap_t & 0b10)) & !(ap_t & 0b01);
                visit(&Mapping {
                    va: va as usize,
                    pa: oa,
                    size: size as usize,
                    class: class_of_mair_byte((mair >> (8 * attrs.attr_index)) as u8),
                    access: Some(access_of(ap)),
                    xn: attrs.uxn || uxn_t,
                    pxn: attrs.pxn || pxn_t,
                    ng: attrs.ng,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::table::{Table, TableEnv};
    use super::*;
    use crate::errno::Errno;
    use crate::mm::memtype::{Access, CachePolicy, MapAttrs, MemoryClass, MemoryType};
    use std::collections::BTreeMap;
    use std::vec::Vec;

    struct Mem {
        m: BTreeMap<u64, u64>,
        next: u64,
    }

    impl TableEnv for Mem {
        fn read(&self, pa: u64) -> u64 {
            *self.m.get(&pa).unwrap_or(&0)
        }
        fn write(&mut self, pa: u64, val: u64) {
            self.m.insert(pa, val);
        }
        fn alloc_table(&mut self) -> Result<u64, Errno> {
            self.next += 4096;
            Ok(self.next)
        }
        fn free_table(&mut self, _: u64) {}
        fn publish(&mut self) {}
        fn tlb_invalidate(&mut self, _: u64, _: Option<u16>) {}
        fn tlb_invalidate_all(&mut self, _: Option<u16>) {}
        fn tlb_sync(&mut self) {}
        fn clean_invalidate_dcache(&mut self, _: u64, _: u64) {}
    }

    /// MAIR_EL1 as the README's table gives it (AttrIndx 0..6): 0x00
    /// Device-nGnRnE, 0x04 Device-nGnRE, 0x44 Normal NC, 0xAA WT, 0xEE WB,
    /// 0xFF WB+WA, 0x0C Device-GRE.
    const MAIR: u64 = 0x0000_000C_FFEE_AA44_0400;

    #[test]
    fn user_page_and_block_decoded() {
        let mut e = Mem {
            m: BTreeMap::new(),
            next: 0x100_0000,
        };
        let t = Table {
            root_pa: 0x10_0000,
            va_lo: 0,
            va_hi: (1 << 39) - 1,
            asid: Some(3),
        };
        let rw = MapAttrs {
            mem: MemoryType::NormalWriteBackWriteAlloc,
            access: Access::UserRw,
            execute_never: true,
            privileged_execute_never: true,
            not_global: true,
            shareable: true,
        };
        t.map(&mut e, 0x40_0000, 0x4000_0000, 4096, rw).unwrap();
        let dev = MapAttrs {
            mem: MemoryType::StronglyOrdered,
            ..rw
        };
        t.map(&mut e, 0x80_0000, 0x0900_0000, 2 << 20, dev).unwrap();
        let mut out = Vec::new();
        user_mappings(&|pa| e.read(pa), t.root_pa, 1 << 39, MAIR, &mut |m| {
            out.push(*m)
        });
        let wbwa = MemoryClass::Normal {
            inner: CachePolicy::WriteBackWriteAlloc,
            outer: CachePolicy::WriteBackWriteAlloc,
        };
        assert_eq!(
            out,
            [
                Mapping {
                    va: 0x40_0000,
                    pa: 0x4000_0000,
                    size: 4096,
                    class: Some(wbwa),
                    access: Some(Access::UserRw),
                    xn: true,
                    pxn: true,
                    ng: true,
                },
                Mapping {
                    va: 0x80_0000,
                    pa: 0x0900_0000,
                    size: 2 << 20,
                    class: Some(MemoryClass::StronglyOrdered),
                    access: Some(Access::UserRw),
                    xn: true,
                    pxn: true,
                    ng: true,
                }
            ]
        );
    }

    #[test]
    fn table_controls_are_folded_in() {
        // A level-1 table descriptor with PXNTable, UXNTable and APTable =
        // 0b11 over a page that grants EL0 RW and is executable: the page is
        // then read-only, EL1-only and never executable (D8.4.2).
        let l1 = 0x10_0000u64;
        let l2 = 0x20_0000u64;
        let l3 = 0x30_0000u64;
        let mut m = BTreeMap::new();
        m.insert(l1, l2 | 0b11 | (1 << 59) | (1 << 60) | (0b11 << 61));
        m.insert(l2, l3 | 0b11);
        // Page: AttrIndx 5, AP = 01 (EL0 RW), AF, nG, UXN = PXN = 0.
        m.insert(l3, 0x4000_0000 | 0b11 | (5 << 2) | (0b01 << 6) | (1 << 10) | (1 << 11));
        let mut out = Vec::new();
        user_mappings(&|pa| *m.get(&pa).unwrap_or(&0), l1, 1 << 39, MAIR, &mut |x| {
            out.push(*x)
        });
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].access, Some(Access::KernelRo));
        assert!(out[0].xn && out[0].pxn && out[0].ng);
    }
}
