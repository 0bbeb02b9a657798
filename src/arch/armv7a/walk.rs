//! The auditor's view of a user table: every present block or page,
//! decoded by the independent decoder (`decode.rs`, from the ARM ARM), as
//! `mm::audit::Mapping`s. Plain logic over a descriptor reader, so it runs
//! (and is tested) on the host; `user::UserMmu::walk` feeds it the live
//! table.

use super::decode::{decode_l1, decode_l2, DecodedAttrs, L1Entry, L2Entry};
use crate::mm::audit::Mapping;

fn mapping(va: u32, pa: u64, size: u32, a: &DecodedAttrs, pxn: bool) -> Mapping {
    Mapping {
        va: va as usize,
        pa,
        size: size as usize,
        class: a.memory_class(),
        access: a.access,
        xn: a.xn,
        pxn,
        ng: a.not_global,
    }
}

/// Walk the first `l1_entries` entries (one per MiB from VA 0; 2048 for a
/// TTBR0 table with TTBCR.N = 1) of the L1 table at `l1_pa`. `read(pa)`
/// returns the descriptor at `pa`. Supersections and large pages are
/// reported once (from their first replicated entry). A page's PXN is the
/// PXN bit (2) of the L1 page-table descriptor above it (B3.5.1): small
/// and large page descriptors have none.
pub fn user_mappings(
    read: &dyn Fn(u32) -> u32,
    l1_pa: u32,
    l1_entries: u32,
    visit: &mut dyn FnMut(&Mapping),
) {
    for i in 0..l1_entries {
        let va = i << 20;
        match decode_l1(read(l1_pa + i * 4)) {
            L1Entry::Fault | L1Entry::Reserved => {}
            L1Entry::Section { base, attrs, .. } => {
                visit(&mapping(va, base as u64, 1 << 20, &attrs, attrs.pxn))
            }
            L1Entry::Supersection { base, attrs } => {
                if va % (16 << 20) == 0 {
                    visit(&mapping(va, base, 16 << 20, &attrs, attrs.pxn))
                }
            }
            L1Entry::PageTable { l2_base, pxn, .. } => {
                for j in 0..256u32 {
                    let pva = va + (j << 12);
                    match decode_l2(read(l2_base + j * 4)) {
                        L2Entry::Fault => {}
                        L2Entry::LargePage { base, attrs } => {
                            if j % 16 == 0 {
                                visit(&mapping(pva, base as u64, 64 << 10, &attrs, pxn))
                            }
                        }
                        L2Entry::SmallPage { base, attrs } => {
                            visit(&mapping(pva, base as u64, 4096, &attrs, pxn))
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::format::{ShortDescriptor, Table};
    use super::*;
    use crate::mm::memtype::{Access, CachePolicy, MapAttrs, MemoryClass};
    use crate::mm::pagetable::TableEnv;
    use std::vec::Vec;

    /// Memory as a map (the engine's recording fake).
    type Mem = crate::mm::pagetable::tests::Fake<ShortDescriptor>;

    fn mem() -> Mem {
        Mem::new()
    }

    fn table(asid: Option<u16>) -> Table {
        Table {
            root_pa: 0x10_0000,
            va_lo: 0,
            va_hi: 0x7FFF_FFFF,
            asid,
            format: ShortDescriptor {
                domain: 0,
                pxn: true,
            },
        }
    }

    use crate::mm::pagetable::tests::user_rw;

    fn walk(e: &Mem, t: &Table) -> Vec<Mapping> {
        let mut out = Vec::new();
        user_mappings(
            &|pa| e.read(pa as u64) as u32,
            t.root_pa as u32,
            2048,
            &mut |m| out.push(*m),
        );
        out
    }

    const WBWA: MemoryClass = MemoryClass::Normal {
        inner: CachePolicy::WriteBackWriteAlloc,
        outer: CachePolicy::WriteBackWriteAlloc,
    };

    #[test]
    fn user_pages_are_pxn_through_the_l1_page_table_descriptor() {
        // The regression: the L1 page-table descriptor of a user table was
        // written with PXN clear, so the kernel could execute every user page.
        let (mut e, t) = (mem(), table(Some(5)));
        t.map(&mut e, 0x1_0000, 0x4000_0000, 4096, user_rw())
            .unwrap();
        // B3.5.1: L1 page-table descriptor, bits[1:0] = 01, PXN = bit 2.
        let l1 = e.read(0x10_0000);
        assert_eq!(l1 & 0b11, 0b01);
        assert_ne!(
            l1 & (1 << 2),
            0,
            "L1 page-table descriptor {l1:#x} lacks PXN"
        );
        assert_eq!(
            walk(&e, &t),
            [Mapping {
                va: 0x1_0000,
                pa: 0x4000_0000,
                size: 4096,
                class: Some(WBWA),
                access: Some(Access::UserRw),
                xn: true,
                pxn: true,
                ng: true,
            }]
        );
    }

    #[test]
    fn kernel_tables_keep_page_table_descriptors_executable() {
        // Kernel text lives in pages under a kernel (ASID-less) table.
        let (mut e, t) = (mem(), table(None));
        let text = MapAttrs::kernel_data().executable();
        t.map(&mut e, 0x1_0000, 0x4000_0000, 4096, text).unwrap();
        assert_eq!(e.read(0x10_0000) & (1 << 2), 0);
        assert!(!walk(&e, &t)[0].pxn);
    }

    #[test]
    fn sections_and_large_pages_are_reported_once() {
        let (mut e, t) = (mem(), table(Some(1)));
        t.map(&mut e, 0x10_0000, 0x4010_0000, 1 << 20, user_rw())
            .unwrap();
        t.map(&mut e, 0x20_0000, 0x4020_0000, 64 << 10, user_rw())
            .unwrap();
        let w = walk(&e, &t);
        let got: Vec<(usize, u64, usize, bool)> =
            w.iter().map(|m| (m.va, m.pa, m.size, m.pxn)).collect();
        assert_eq!(
            got,
            [
                (0x10_0000, 0x4010_0000, 1 << 20, true),
                (0x20_0000, 0x4020_0000, 64 << 10, true)
            ]
        );
    }
}
