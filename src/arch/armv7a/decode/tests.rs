use super::*;
use CachePolicy::*;

const NC: CachePolicy = NonCacheable;
const WBWA: CachePolicy = WriteBackWriteAlloc;
const WT: CachePolicy = WriteThroughNoWriteAlloc;
const WB: CachePolicy = WriteBackNoWriteAlloc;

fn normal(inner: CachePolicy, outer: CachePolicy) -> MemoryClassOrReserved {
    MemoryClassOrReserved::Class(MemoryClass::Normal { inner, outer })
}

/// Table B3-10 rows with TEX[2] = 0, written out: (TEX, C, B, meaning).
fn table_b3_10_low() -> [(u8, u8, u8, MemoryClassOrReserved); 16] {
    use MemoryClassOrReserved::*;
    [
        (0b000, 0, 0, Class(MemoryClass::StronglyOrdered)),
        (0b000, 0, 1, Class(MemoryClass::Device { shareable: true })),
        (0b000, 1, 0, normal(WT, WT)),
        (0b000, 1, 1, normal(WB, WB)),
        (0b001, 0, 0, normal(NC, NC)),
        (0b001, 0, 1, Reserved),
        (0b001, 1, 0, ImplementationDefined),
        (0b001, 1, 1, normal(WBWA, WBWA)),
        (0b010, 0, 0, Class(MemoryClass::Device { shareable: false })),
        (0b010, 0, 1, Reserved),
        (0b010, 1, 0, Reserved),
        (0b010, 1, 1, Reserved),
        (0b011, 0, 0, Reserved),
        (0b011, 0, 1, Reserved),
        (0b011, 1, 0, Reserved),
        (0b011, 1, 1, Reserved),
    ]
}

/// Table B3-11, written out: encoding → policy.
const TABLE_B3_11: [(u8, CachePolicy); 4] = [(0b00, NC), (0b01, WBWA), (0b10, WT), (0b11, WB)];

/// All 32 TEX/C/B combinations with their table meaning.
fn all_texcb() -> alloc::vec::Vec<(u8, u8, u8, MemoryClassOrReserved)> {
    let mut v: alloc::vec::Vec<_> = table_b3_10_low().into_iter().collect();
    for (bb, outer) in TABLE_B3_11 {
        for (aa, inner) in TABLE_B3_11 {
            v.push((0b100 | bb, aa >> 1, aa & 1, normal(inner, outer)));
        }
    }
    assert_eq!(v.len(), 32);
    v
}

/// Table B3-8, written out: AP[2:0] → access.
const TABLE_B3_8: [(u8, Option<Access>); 8] = [
    (0b000, Some(Access::NoAccess)),
    (0b001, Some(Access::KernelRw)),
    (0b010, Some(Access::KernelRwUserRo)),
    (0b011, Some(Access::UserRw)),
    (0b100, None),
    (0b101, Some(Access::KernelRo)),
    (0b110, Some(Access::UserRo)),
    (0b111, Some(Access::UserRo)),
];

// Descriptor builders with explicit shifts, from the B3.5.1 figures.
#[allow(clippy::too_many_arguments)]
fn section(base: u32, tex: u8, c: u8, b: u8, ap: u8, xn: u8, domain: u32, pxn: u8) -> u32 {
    (base & 0xfff0_0000)
        | (tex as u32) << 12
        | ((ap as u32 >> 2) & 1) << 15
        | (ap as u32 & 3) << 10
        | domain << 5
        | (xn as u32) << 4
        | (c as u32) << 3
        | (b as u32) << 2
        | 1 << 1
        | pxn as u32
}

fn small(base: u32, tex: u8, c: u8, b: u8, ap: u8, xn: u8) -> u32 {
    (base & 0xffff_f000)
        | ((ap as u32 >> 2) & 1) << 9
        | (tex as u32) << 6
        | (ap as u32 & 3) << 4
        | (c as u32) << 3
        | (b as u32) << 2
        | 1 << 1
        | xn as u32
}

fn large(base: u32, tex: u8, c: u8, b: u8, ap: u8, xn: u8) -> u32 {
    (base & 0xffff_0000)
        | (xn as u32) << 15
        | (tex as u32) << 12
        | ((ap as u32 >> 2) & 1) << 9
        | (ap as u32 & 3) << 4
        | (c as u32) << 3
        | (b as u32) << 2
        | 1
}

fn page_table(l2: u32, domain: u32, pxn: u8) -> u32 {
    (l2 & 0xffff_fc00) | domain << 5 | (pxn as u32) << 2 | 1
}

#[test]
fn example_from_the_brief() {
    // TEX=001 C=1 B=1 AP=011 XN=1: Normal WBWA/WBWA, full access.
    let raw = 0x4010_0000 | 0b001 << 12 | 1 << 3 | 1 << 2 | 0b11 << 10 | 1 << 4 | 0b10;
    let L1Entry::Section {
        base,
        domain,
        attrs,
    } = decode_l1(raw)
    else {
        panic!("not a section: {:?}", decode_l1(raw));
    };
    assert_eq!(base, 0x4010_0000);
    assert_eq!(domain, 0);
    assert_eq!(
        attrs.memory_class(),
        Some(MemoryClass::Normal {
            inner: WBWA,
            outer: WBWA
        })
    );
    assert_eq!(attrs.access, Some(Access::UserRw));
    assert!(attrs.xn && !attrs.pxn && !attrs.not_global && !attrs.ns);
}

#[test]
fn table_b3_10_every_row_in_every_format() {
    for (tex, c, b, want) in all_texcb() {
        let s = section(0x8000_0000, tex, c, b, 0b001, 0, 0, 0);
        match decode_l1(s) {
            L1Entry::Section { attrs, .. } => {
                assert_eq!(attrs.class, want, "section tex={tex:03b} c={c} b={b}");
                assert_eq!((attrs.tex, attrs.c, attrs.b), (tex, c == 1, b == 1));
            }
            e => panic!("{e:?}"),
        }
        match decode_l2(small(0x8000_1000, tex, c, b, 0b001, 0)) {
            L2Entry::SmallPage { attrs, .. } => {
                assert_eq!(attrs.class, want, "small tex={tex:03b} c={c} b={b}");
                assert_eq!((attrs.tex, attrs.c, attrs.b), (tex, c == 1, b == 1));
            }
            e => panic!("{e:?}"),
        }
        match decode_l2(large(0x8001_0000, tex, c, b, 0b001, 0)) {
            L2Entry::LargePage { attrs, .. } => {
                assert_eq!(attrs.class, want, "large tex={tex:03b} c={c} b={b}");
                assert_eq!((attrs.tex, attrs.c, attrs.b), (tex, c == 1, b == 1));
            }
            e => panic!("{e:?}"),
        }
        assert_eq!(memory_class(tex, c == 1, b == 1), want);
    }
}

#[test]
fn table_b3_11_inner_and_outer_are_not_swapped() {
    // TEX = 1BB with BB = 01 (outer WBWA), C:B = AA = 00 (inner NC).
    assert_eq!(memory_class(0b101, false, false), normal(NC, WBWA));
    // TEX = 100 (outer NC), AA = 01 (inner WBWA).
    assert_eq!(memory_class(0b100, false, true), normal(WBWA, NC));
    // TEX = 110 (outer WT), AA = 11 (inner WB no-WA).
    assert_eq!(memory_class(0b110, true, true), normal(WB, WT));
    for (enc, p) in TABLE_B3_11 {
        assert_eq!(cache_policy(enc), p);
    }
}

#[test]
fn table_b3_8_every_ap_in_every_format() {
    for (ap, want) in TABLE_B3_8 {
        assert_eq!(access_from_ap(ap), want);
        let L1Entry::Section { attrs, .. } = decode_l1(section(0, 0b001, 1, 1, ap, 0, 0, 0)) else {
            panic!()
        };
        assert_eq!(attrs.access, want, "section ap={ap:03b}");
        let L2Entry::SmallPage { attrs, .. } = decode_l2(small(0, 0b001, 1, 1, ap, 0)) else {
            panic!()
        };
        assert_eq!(attrs.access, want, "small ap={ap:03b}");
        let L2Entry::LargePage { attrs, .. } = decode_l2(large(0, 0b001, 1, 1, ap, 0)) else {
            panic!()
        };
        assert_eq!(attrs.access, want, "large ap={ap:03b}");
        let L1Entry::Supersection { attrs, .. } =
            decode_l1(section(0, 0b001, 1, 1, ap, 0, 0, 0) | 1 << 18)
        else {
            panic!()
        };
        assert_eq!(attrs.access, want, "supersection ap={ap:03b}");
    }
}

#[test]
fn l1_fault_and_page_table() {
    assert_eq!(decode_l1(0), L1Entry::Fault);
    // Bits other than [1:0] do not matter for a fault entry.
    assert_eq!(decode_l1(0xffff_fffc), L1Entry::Fault);
    let raw = page_table(0x8123_4c00, 0xb, 1) | 1 << 3;
    assert_eq!(
        decode_l1(raw),
        L1Entry::PageTable {
            l2_base: 0x8123_4c00,
            domain: 0xb,
            pxn: true,
            ns: true
        }
    );
    // Without the PXN extension bit2 is SBZ and not reported.
    assert_eq!(
        decode_l1_with(page_table(0x400, 0, 1), false),
        L1Entry::PageTable {
            l2_base: 0x400,
            domain: 0,
            pxn: false,
            ns: false
        }
    );
    // bit9 (IMPLEMENTATION DEFINED) and bit4 are not part of the base.
    let L1Entry::PageTable { l2_base, .. } = decode_l1(0x8000_0000 | 1 << 9 | 1 << 4 | 1) else {
        panic!()
    };
    assert_eq!(l2_base, 0x8000_0000);
}

#[test]
fn l1_section_fields() {
    let raw = section(0xfff0_0000, 0b000, 0, 1, 0b101, 1, 0xf, 1) | 1 << 16 | 1 << 17 | 1 << 19;
    let L1Entry::Section {
        base,
        domain,
        attrs,
    } = decode_l1(raw)
    else {
        panic!()
    };
    assert_eq!(base, 0xfff0_0000);
    assert_eq!(domain, 0xf);
    assert_eq!(
        attrs.class,
        MemoryClassOrReserved::Class(MemoryClass::Device { shareable: true })
    );
    assert_eq!(attrs.access, Some(Access::KernelRo));
    assert!(attrs.xn && attrs.pxn && attrs.shareable_bit && attrs.not_global && attrs.ns);
    // bits[1:0] = 10: PXN clear; 11: PXN set.
    let L1Entry::Section { attrs, .. } = decode_l1(0b10) else {
        panic!()
    };
    assert!(!attrs.pxn && !attrs.xn && !attrs.ns && !attrs.shareable_bit && !attrs.not_global);
    assert_eq!(attrs.access, Some(Access::NoAccess));
    assert_eq!(
        attrs.class,
        MemoryClassOrReserved::Class(MemoryClass::StronglyOrdered)
    );
    let L1Entry::Section { attrs, .. } = decode_l1(0b11) else {
        panic!()
    };
    assert!(attrs.pxn);
    // Without PXN, 11 is reserved and 10 never has PXN.
    assert_eq!(decode_l1_with(0b11, false), L1Entry::Reserved);
    let L1Entry::Section { attrs, .. } = decode_l1_with(0b10, false) else {
        panic!()
    };
    assert!(!attrs.pxn);
    // Each single attribute bit lands in exactly one field.
    let only = |n: u32| match decode_l1(0b10 | 1 << n) {
        L1Entry::Section {
            attrs,
            domain,
            base,
        } => (attrs, domain, base),
        e => panic!("bit {n}: {e:?}"),
    };
    assert!(only(4).0.xn);
    assert!(only(16).0.shareable_bit);
    assert!(only(17).0.not_global);
    assert!(only(19).0.ns);
    assert_eq!(only(15).0.access, None); // AP = 100
    assert_eq!(only(10).0.access, Some(Access::KernelRw));
    assert_eq!(only(11).0.access, Some(Access::KernelRwUserRo));
    assert_eq!(only(12).0.tex, 1);
    assert_eq!(only(14).0.tex, 4);
    assert!(only(3).0.c && !only(3).0.b);
    assert!(only(2).0.b && !only(2).0.c);
    assert_eq!(only(5).1, 1);
    assert_eq!(only(8).1, 8);
    assert_eq!(only(20).2, 0x0010_0000);
    assert_eq!(only(31).2, 0x8000_0000);
    assert_eq!(only(9), only(1)); // bit9 IMPLEMENTATION DEFINED: ignored
}

#[test]
fn supersection_extended_base() {
    // PA[31:24] = 0xAB, PA[35:32] = 0x5 (bits 23:20), PA[39:36] = 0xC
    // (bits 8:5).
    let raw = 0xab00_0000
        | 0x5 << 20
        | 1 << 18
        | 0xc << 5
        | 0b001 << 12
        | 1 << 3
        | 1 << 2
        | 0b11 << 10
        | 0b10;
    let L1Entry::Supersection { base, attrs } = decode_l1(raw) else {
        panic!("{:?}", decode_l1(raw))
    };
    assert_eq!(base, 0xc5_ab00_0000);
    assert_eq!(
        attrs.memory_class(),
        Some(MemoryClass::Normal {
            inner: WBWA,
            outer: WBWA
        })
    );
    assert_eq!(attrs.access, Some(Access::UserRw));
    // A plain 32-bit supersection.
    let L1Entry::Supersection { base, .. } = decode_l1(0xff00_0000 | 1 << 18 | 0b10) else {
        panic!()
    };
    assert_eq!(base, 0xff00_0000);
    // The extended bits alone.
    let L1Entry::Supersection { base, .. } = decode_l1(0xf << 20 | 1 << 18 | 0b10) else {
        panic!()
    };
    assert_eq!(base, 0xf_0000_0000);
    let L1Entry::Supersection { base, .. } = decode_l1(0xf << 5 | 1 << 18 | 0b10) else {
        panic!()
    };
    assert_eq!(base, 0xf0_0000_0000);
}

#[test]
fn l2_formats() {
    assert_eq!(decode_l2(0), L2Entry::Fault);
    assert_eq!(decode_l2(0xffff_fffc), L2Entry::Fault);
    // Small page, XN, nG, S, AP=111 (UserRo), TEX=101 C=0 B=1.
    let raw = small(0x1234_5000, 0b101, 0, 1, 0b111, 1) | 1 << 10 | 1 << 11;
    let L2Entry::SmallPage { base, attrs } = decode_l2(raw) else {
        panic!()
    };
    assert_eq!(base, 0x1234_5000);
    assert!(attrs.xn && attrs.not_global && attrs.shareable_bit && !attrs.pxn && !attrs.ns);
    assert_eq!(attrs.access, Some(Access::UserRo));
    assert_eq!(attrs.class, normal(WBWA, WBWA));
    // Small page with bit0 = 0 (bits[1:0] = 10): not XN.
    let L2Entry::SmallPage { attrs, .. } = decode_l2(0b10) else {
        panic!()
    };
    assert!(!attrs.xn);
    // Large page: XN is bit15, TEX is [14:12], bits [8:6] are SBZ.
    let raw = large(0xabcd_0000, 0b010, 0, 0, 0b011, 1) | 1 << 10 | 1 << 11;
    let L2Entry::LargePage { base, attrs } = decode_l2(raw) else {
        panic!()
    };
    assert_eq!(base, 0xabcd_0000);
    assert!(attrs.xn && attrs.not_global && attrs.shareable_bit);
    assert_eq!(attrs.tex, 0b010);
    assert_eq!(
        attrs.class,
        MemoryClassOrReserved::Class(MemoryClass::Device { shareable: false })
    );
    assert_eq!(attrs.access, Some(Access::UserRw));
    // bits[1:0] = 01 must not read as XN: XN clear here.
    let L2Entry::LargePage { attrs, .. } = decode_l2(large(0xabcd_0000, 0b001, 1, 1, 0b011, 0))
    else {
        panic!()
    };
    assert!(!attrs.xn);
    // Large page base excludes bits [15:12].
    let L2Entry::LargePage { base, attrs } = decode_l2(0xffff_f001) else {
        panic!()
    };
    assert_eq!(base, 0xffff_0000);
    assert!(attrs.xn);
    assert_eq!(attrs.tex, 0b111);
    // Small-page TEX bits [8:6] are not TEX for a large page.
    let L2Entry::LargePage { attrs, .. } = decode_l2(0b111 << 6 | 1) else {
        panic!()
    };
    assert_eq!(attrs.tex, 0);
}

/// A tiny memory model: two L1 tables and a few L2 tables.
struct Tables {
    ttbr0: alloc::vec::Vec<u32>,
    ttbr1: alloc::vec::Vec<u32>,
    l2: alloc::vec::Vec<(u32, [u32; 256])>,
}

impl Tables {
    fn new(n: u8) -> Self {
        Tables {
            ttbr0: alloc::vec![0; 4096 >> n],
            ttbr1: alloc::vec![0; 4096],
            l2: alloc::vec::Vec::new(),
        }
    }
    fn walk(&self, va: u32, n: u8) -> Result<Translation, WalkFault> {
        walk(
            va,
            n,
            &|i| self.ttbr0[i], // panics if the index exceeds 4096 >> N
            &|i| self.ttbr1[i],
            &|base, i| {
                self.l2
                    .iter()
                    .find(|(b, _)| *b == base)
                    .map(|(_, t)| t[i])
                    .expect("L2 table")
            },
        )
    }
}

fn tf(level: u8) -> Result<Translation, WalkFault> {
    Err(WalkFault {
        level,
        kind: FaultKind::Translation,
    })
}

#[test]
fn ttbr_selection() {
    assert_eq!(ttbr_for(0xffff_ffff, 0), 0);
    assert_eq!(ttbr_for(0x7fff_ffff, 1), 0);
    assert_eq!(ttbr_for(0x8000_0000, 1), 1);
    assert_eq!(ttbr_for(0x3fff_ffff, 2), 0);
    assert_eq!(ttbr_for(0x4000_0000, 2), 1);
    assert_eq!(ttbr_for(0x01ff_ffff, 7), 0);
    assert_eq!(ttbr_for(0x0200_0000, 7), 1);
}

#[test]
fn walk_both_ttbrs_n0_n1_n2() {
    for n in [0u8, 1, 2] {
        let mut t = Tables::new(n);
        let split: u64 = if n == 0 { 1 << 32 } else { 1u64 << (32 - n) };
        // TTBR0: section at VA 0x0010_0000 → PA 0x8000_0000.
        t.ttbr0[0x001] = section(0x8000_0000, 0b001, 1, 1, 0b011, 0, 1, 0);
        // TTBR0: page table at VA 0x0020_0000.
        t.ttbr0[0x002] = page_table(0x9000_0400, 2, 1);
        let mut l2 = [0u32; 256];
        l2[0x05] = small(0x9100_0000, 0b000, 1, 1, 0b010, 1);
        for e in &mut l2[0x10..0x20] {
            *e = large(0x9200_0000, 0b001, 0, 0, 0b001, 0);
        }
        t.l2.push((0x9000_0400, l2));
        // The last TTBR0 entry (VA just below the split).
        let last0 = (split - 1) as u32;
        t.ttbr0[(last0 >> 20) as usize] = section(0x8800_0000, 0, 0, 1, 0b001, 1, 0, 1);
        // TTBR1: section at the top of the address space.
        t.ttbr1[0xfff] = section(0xa000_0000, 0b000, 0, 1, 0b001, 1, 3, 1);
        // TTBR1 supersection at VA 0xc000_0000 (16 replicated entries).
        for i in 0xc00..0xc10 {
            t.ttbr1[i] = 0x1200_0000
                | 0x3 << 20
                | 1 << 18
                | 0b001 << 12
                | 1 << 3
                | 1 << 2
                | 0b01 << 10
                | 0b10;
        }

        let r = t.walk(0x0012_3456, n).unwrap();
        assert_eq!(
            (r.pa, r.size, r.level, r.domain),
            (0x8002_3456, SIZE_1M, 1, 1)
        );
        assert_eq!(r.attrs.class, normal(WBWA, WBWA));

        let r = t.walk(0x0020_5abc, n).unwrap();
        assert_eq!(
            (r.pa, r.size, r.level, r.domain),
            (0x9100_0abc, SIZE_4K, 2, 2)
        );
        assert!(r.attrs.xn && r.attrs.pxn); // PXN from the L1 page-table entry
        assert_eq!(r.attrs.access, Some(Access::KernelRwUserRo));

        for va in [0x0021_0000u32, 0x0021_7ffc, 0x0021_fff0] {
            let r = t.walk(va, n).unwrap();
            assert_eq!(
                (r.pa, r.size, r.level),
                (0x9200_0000 | (va & 0xffff) as u64, SIZE_64K, 2)
            );
            assert_eq!(r.attrs.class, normal(NC, NC));
        }

        let r = t.walk(last0, n).unwrap();
        assert_eq!(r.pa, 0x8800_0000 | (last0 & 0xf_ffff) as u64);

        // Top of memory: TTBR1 unless N = 0, where TTBR0 is used.
        if n == 0 {
            // 0xffff_ffff is `last0` (TTBR0); the TTBR1 entries are unused.
            assert_eq!(t.walk(0xc000_0000, n), tf(1));
            assert_eq!(t.walk(0xfff0_1234, n).unwrap().pa, 0x8800_1234);
        } else {
            let r = t.walk(0xfff0_1234, n).unwrap();
            assert_eq!((r.pa, r.level, r.domain), (0xa000_1234, 1, 3));
            assert!(r.attrs.pxn && r.attrs.xn);
            assert_eq!(
                r.attrs.class,
                MemoryClassOrReserved::Class(MemoryClass::Device { shareable: true })
            );
            for va in [0xc000_0000u32, 0xc0ab_cdef, 0xc0ff_ffff] {
                let r = t.walk(va, n).unwrap();
                assert_eq!(r.pa, 0x3_1200_0000 | (va & 0xff_ffff) as u64);
                assert_eq!((r.size, r.level, r.domain), (SIZE_16M, 1, 0));
                assert_eq!(r.attrs.class, normal(WBWA, WBWA));
            }
            // First VA at the split goes to TTBR1 (empty there).
            assert_eq!(t.walk(split as u32, n), tf(1));
        }

        // Faults: L1 fault entry, L2 fault entry.
        assert_eq!(t.walk(0x0030_0000, n), tf(1));
        assert_eq!(t.walk(0x0020_6000, n), tf(2));
        assert_eq!(t.walk(0x0020_4fff, n), tf(2));
    }
}

#[test]
fn check_access_domains_and_permissions() {
    let mut t = Tables::new(0);
    t.ttbr0[1] = section(0x8000_0000, 0b001, 1, 1, 0b010, 0, 1, 0); // K:RW U:R-
    t.ttbr0[2] = page_table(0x9000_0000, 2, 1);
    let mut l2 = [0u32; 256];
    l2[0] = small(0x9100_0000, 0b001, 1, 1, 0b011, 0); // U:RW, executable, PXN via L1
    l2[1] = small(0x9100_1000, 0b001, 1, 1, 0b100, 0); // reserved AP
    l2[2] = small(0x9100_2000, 0b001, 1, 1, 0b011, 1); // XN
    t.l2.push((0x9000_0000, l2));
    let sec = t.walk(0x0010_0000, 0).unwrap();
    let page = t.walk(0x0020_0000, 0).unwrap();
    let resv = t.walk(0x0020_1000, 0).unwrap();
    let xn = t.walk(0x0020_2000, 0).unwrap();
    let client = 0b01 << 2 | 0b01 << 4; // domains 1 and 2 client
    let perm = |level| {
        Err(WalkFault {
            level,
            kind: FaultKind::Permission,
        })
    };
    let dom = |level| {
        Err(WalkFault {
            level,
            kind: FaultKind::Domain,
        })
    };
    use AccessKind::*;
    assert_eq!(check_access(&sec, client, Read, false), Ok(()));
    assert_eq!(check_access(&sec, client, Write, false), perm(1));
    assert_eq!(check_access(&sec, client, Write, true), Ok(()));
    assert_eq!(check_access(&sec, 0, Read, true), dom(1)); // no access
    assert_eq!(check_access(&sec, 0b10 << 2, Read, true), dom(1)); // reserved
    assert_eq!(check_access(&sec, 0b11 << 2, Write, false), Ok(())); // manager
    assert_eq!(check_access(&page, client, Write, false), Ok(()));
    assert_eq!(check_access(&page, client, Execute, false), Ok(()));
    assert_eq!(check_access(&page, client, Execute, true), perm(2)); // PXN
    assert_eq!(check_access(&page, 0b01 << 2, Read, false), dom(2));
    assert_eq!(check_access(&resv, client, Read, true), perm(2));
    assert_eq!(check_access(&xn, client, Execute, false), perm(2));
    assert_eq!(check_access(&xn, client, Read, false), Ok(()));
}
