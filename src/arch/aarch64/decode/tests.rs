use super::*;
use alloc::vec::Vec;
use CachePolicy::*;

const NC: CachePolicy = NonCacheable;
const WBWA: CachePolicy = WriteBackWriteAlloc;
const WT: CachePolicy = WriteThroughNoWriteAlloc;
const WB: CachePolicy = WriteBackNoWriteAlloc;

/// A block/page descriptor from its fields, each with its own shift
/// (D8.3): type bits[1:0], AttrIndx [4:2], AP [7:6], SH [9:8], AF 10,
/// nG 11, Contiguous 52, PXN 53, UXN 54.
#[allow(clippy::too_many_arguments)]
fn leaf(
    oa: u64,
    page: bool,
    idx: u64,
    ap: u64,
    sh: u64,
    af: bool,
    ng: bool,
    pxn: bool,
    uxn: bool,
) -> u64 {
    oa | (if page { 0b11 } else { 0b01 })
        | idx << 2
        | ap << 6
        | sh << 8
        | (af as u64) << 10
        | (ng as u64) << 11
        | (pxn as u64) << 53
        | (uxn as u64) << 54
}

/// Plain RW kernel data: AttrIndx 0, AP 00, inner shareable, AF.
fn data(oa: u64, page: bool) -> u64 {
    leaf(oa, page, 0, 0b00, 0b11, true, false, true, true)
}

/// A table descriptor: next [47:12], PXNTable 59, UXNTable 60,
/// APTable [62:61].
fn table(next: u64, pxnt: bool, uxnt: bool, apt: u64) -> u64 {
    next | 0b11 | (pxnt as u64) << 59 | (uxnt as u64) << 60 | apt << 61
}

#[test]
fn every_level_and_type() {
    for level in 0u8..=3 {
        assert_eq!(decode(0, level), Entry::Invalid);
        assert_eq!(decode(0b10, level), Entry::Invalid);
        // Everything else set, bit 0 clear: still invalid.
        assert_eq!(decode(!1, level), Entry::Invalid);
    }
    // 11 at levels 0..2: table.
    for level in 0u8..=2 {
        assert_eq!(
            decode(table(0x8_1234_5000, false, false, 0), level),
            Entry::Table {
                next: 0x8_1234_5000,
                pxn_table: false,
                uxn_table: false,
                ap_table: 0
            }
        );
    }
    // 01 at level 1: 1 GiB block; OA is [47:30].
    let raw = data(0x40_4000_0000, false);
    let Entry::Block { oa, attrs } = decode(raw, 1) else {
        panic!("{:?}", decode(raw, 1))
    };
    assert_eq!(oa, 0x40_4000_0000);
    assert!(attrs.af && attrs.pxn && attrs.uxn && !attrs.ng);
    // 01 at level 2: 2 MiB block; OA is [47:21].
    let Entry::Block { oa, .. } = decode(data(0x4020_0000, false), 2) else {
        panic!()
    };
    assert_eq!(oa, 0x4020_0000);
    // 11 at level 3: page; OA is [47:12].
    let Entry::Page { oa, attrs } = decode(data(0xffff_ffff_f000, true), 3) else {
        panic!()
    };
    assert_eq!(oa, 0xffff_ffff_f000);
    assert_eq!(attrs.ap, 0);
    // 01 at level 3 and at level 0: reserved. Levels > 3: reserved.
    assert_eq!(decode(data(0x1000, false), 3), Entry::Reserved);
    assert_eq!(decode(data(0x1000, false), 0), Entry::Reserved);
    assert_eq!(decode(data(0x1000, true), 4), Entry::Reserved);
    assert_eq!(decode(0, 7), Entry::Reserved);
}

#[test]
fn output_address_bits() {
    // Bits outside [47:12] never reach the address: [63:48] hold
    // attributes, [11:0] the type and lower attributes.
    let all = !0u64;
    let Entry::Table { next, .. } = decode(all, 1) else {
        panic!()
    };
    assert_eq!(next, 0x0000_ffff_ffff_f000);
    let Entry::Page { oa, .. } = decode(all, 3) else {
        panic!()
    };
    assert_eq!(oa, 0x0000_ffff_ffff_f000);
    // Block bits below the block size (RES0 / nT) are not address.
    let Entry::Block { oa, .. } = decode(all & !0b10, 1) else {
        panic!()
    };
    assert_eq!(oa, 0x0000_ffff_c000_0000);
    let Entry::Block { oa, .. } = decode(all & !0b10, 2) else {
        panic!()
    };
    assert_eq!(oa, 0x0000_ffff_ffe0_0000);
    // Table descriptor bits [58:52] and [11:2] are ignored.
    let Entry::Table {
        next,
        pxn_table,
        uxn_table,
        ap_table,
    } = decode(0x7f << 52 | 0x3ff << 2 | 0x1000 | 0b11, 2)
    else {
        panic!()
    };
    assert_eq!(
        (next, pxn_table, uxn_table, ap_table),
        (0x1000, false, false, 0)
    );
}

#[test]
fn each_attribute_bit() {
    let only = |n: u32| match decode(0b11 | 1 << n, 3) {
        Entry::Page { attrs, oa } => (attrs, oa),
        e => panic!("bit {n}: {e:?}"),
    };
    let zero = Attrs {
        attr_index: 0,
        ap: 0,
        sh: 0,
        af: false,
        ng: false,
        pxn: false,
        uxn: false,
        contiguous: false,
    };
    assert_eq!(only(1).0, zero); // bit 1 is the type
    assert_eq!(only(2).0.attr_index, 1);
    assert_eq!(only(3).0.attr_index, 2);
    assert_eq!(only(4).0.attr_index, 4);
    assert_eq!(only(5).0, zero); // NS: not reported
    assert_eq!(only(6).0.ap, 0b01); // AP[1]
    assert_eq!(only(7).0.ap, 0b10); // AP[2]
    assert_eq!(only(8).0.sh, 0b01);
    assert_eq!(only(9).0.sh, 0b10);
    assert!(only(10).0.af);
    assert!(only(11).0.ng);
    assert_eq!(only(51).0, zero); // DBM
    assert!(only(52).0.contiguous);
    assert!(only(53).0.pxn && !only(53).0.uxn);
    assert!(only(54).0.uxn && !only(54).0.pxn);
    for n in 55..64 {
        assert_eq!(only(n), (zero, 0), "bit {n} (software/PBHA)");
    }
    assert_eq!(only(12).1, 0x1000);
    assert_eq!(only(47).1, 1 << 47);
    assert_eq!(only(48).1, 0);
    for sh in 0..4u64 {
        let Entry::Block { attrs, .. } =
            decode(leaf(0, false, 0, 0, sh, true, true, false, false), 2)
        else {
            panic!()
        };
        assert_eq!(attrs.sh as u64, sh);
        assert!(attrs.ng && attrs.af);
    }
    for idx in 0..8u64 {
        let Entry::Page { attrs, .. } =
            decode(leaf(0, true, idx, 0, 0, false, false, false, false), 3)
        else {
            panic!()
        };
        assert_eq!(attrs.attr_index as u64, idx);
    }
}

#[test]
fn table_descriptor_controls() {
    for apt in 0..4u64 {
        for (p, u) in [(false, false), (true, false), (false, true), (true, true)] {
            let Entry::Table {
                pxn_table,
                uxn_table,
                ap_table,
                ..
            } = decode(table(0x2000, p, u, apt), 1)
            else {
                panic!()
            };
            assert_eq!((pxn_table, uxn_table, ap_table as u64), (p, u, apt));
        }
    }
    // NSTable (bit 63) is not a control we report.
    assert_eq!(
        decode(table(0x2000, false, false, 0) | 1 << 63, 1),
        decode(table(0x2000, false, false, 0), 1)
    );
}

#[test]
fn every_ap() {
    // D8.4.1 stage 1 AP[2:1] table: (AP, EL1 R, EL1 W, EL0 R, EL0 W).
    let table = [
        (0b00u64, true, true, false, false),
        (0b01, true, true, true, true),
        (0b10, true, false, false, false),
        (0b11, true, false, true, false),
    ];
    for (ap, kr, kw, ur, uw) in table {
        let Entry::Page { attrs, .. } =
            decode(leaf(0, true, 0, ap, 0, true, false, false, false), 3)
        else {
            panic!()
        };
        let acc = access_of(attrs.ap);
        let a = acc.allows();
        assert_eq!(
            (a.kernel_read, a.kernel_write, a.user_read, a.user_write),
            (kr, kw, ur, uw),
            "AP={ap:02b}"
        );
    }
    assert_eq!(access_of(0b00), Access::KernelRw);
    assert_eq!(access_of(0b01), Access::UserRw);
    assert_eq!(access_of(0b10), Access::KernelRo);
    assert_eq!(access_of(0b11), Access::UserRo);
    assert_eq!(access_of(0b111), Access::UserRo); // only [1:0] used
}

fn normal(inner: CachePolicy, outer: CachePolicy) -> Option<MemoryClass> {
    Some(MemoryClass::Normal { inner, outer })
}

#[test]
fn mair_device_bytes() {
    // 0b0000_dd00.
    assert_eq!(class_of_mair_byte(0x00), Some(MemoryClass::StronglyOrdered));
    for dd in 1..4u8 {
        assert_eq!(
            class_of_mair_byte(dd << 2),
            Some(MemoryClass::Device { shareable: true }),
            "dd={dd:02b}"
        );
    }
    // 0b0000_ddxx with xx != 00: UNPREDICTABLE.
    for dd in 0..4u8 {
        for xx in 1..4u8 {
            assert_eq!(class_of_mair_byte(dd << 2 | xx), None);
        }
    }
}

#[test]
fn mair_normal_bytes() {
    // Nibbles written out from the MAIR table: (nibble, policy).
    let nibbles: [(u8, Option<CachePolicy>); 16] = [
        (0b0000, None),       // not Normal
        (0b0001, Some(WT)),   // WT transient, W
        (0b0010, Some(WT)),   // WT transient, R
        (0b0011, Some(WT)),   // WT transient, RW
        (0b0100, Some(NC)),   // Non-cacheable
        (0b0101, Some(WBWA)), // WB transient, W
        (0b0110, Some(WB)),   // WB transient, R
        (0b0111, Some(WBWA)), // WB transient, RW
        (0b1000, Some(WT)),   // WT non-transient, no alloc
        (0b1001, Some(WT)),   // WT non-transient, W (documented: WT)
        (0b1010, Some(WT)),   // WT non-transient, R
        (0b1011, Some(WT)),   // WT non-transient, RW
        (0b1100, Some(WB)),   // WB non-transient, no alloc
        (0b1101, Some(WBWA)), // WB non-transient, W
        (0b1110, Some(WB)),   // WB non-transient, R
        (0b1111, Some(WBWA)), // WB non-transient, RW
    ];
    for (n, p) in nibbles {
        assert_eq!(cache_policy_of_nibble(n), p, "{n:04b}");
    }
    for (o, outer) in nibbles {
        for (i, inner) in nibbles {
            let b = o << 4 | i;
            if o == 0 {
                continue; // Device space, tested above
            }
            let want = match (outer, inner) {
                (Some(outer), Some(inner)) => normal(inner, outer),
                _ => None, // inner 0000 with outer != 0000
            };
            assert_eq!(class_of_mair_byte(b), want, "{b:#04x}");
        }
    }
    // The usual bytes (Linux MAIR_EL1 values and friends).
    assert_eq!(class_of_mair_byte(0xff), normal(WBWA, WBWA)); // MT_NORMAL
    assert_eq!(class_of_mair_byte(0x44), normal(NC, NC)); // MT_NORMAL_NC
    assert_eq!(class_of_mair_byte(0xbb), normal(WT, WT)); // MT_NORMAL_WT
    assert_eq!(class_of_mair_byte(0x88), normal(WT, WT));
    assert_eq!(class_of_mair_byte(0xee), normal(WB, WB));
    assert_eq!(class_of_mair_byte(0xcc), normal(WB, WB));
    assert_eq!(class_of_mair_byte(0x4f), normal(WBWA, NC));
    assert_eq!(class_of_mair_byte(0xf4), normal(NC, WBWA));
    assert_eq!(class_of_mair_byte(0x8e), normal(WB, WT));
    // FEAT_XS / FEAT_MTE2 special bytes: not decoded.
    assert_eq!(class_of_mair_byte(0x40), None);
    assert_eq!(class_of_mair_byte(0xa0), None);
    assert_eq!(class_of_mair_byte(0xf0), None);
}

/// Tables in a map from PA to 512 entries, plus two roots.
struct Mem {
    root0: Vec<u64>,
    root1: Vec<u64>,
    tables: Vec<(u64, Vec<u64>)>,
}

impl Mem {
    fn new() -> Self {
        Mem {
            root0: alloc::vec![0; 512],
            root1: alloc::vec![0; 512],
            tables: Vec::new(),
        }
    }
    fn table(&mut self, pa: u64) -> &mut Vec<u64> {
        if !self.tables.iter().any(|(p, _)| *p == pa) {
            self.tables.push((pa, alloc::vec![0; 512]));
        }
        &mut self.tables.iter_mut().find(|(p, _)| *p == pa).unwrap().1
    }
    fn walk(&self, va: u64) -> Result<Translation, WalkFault> {
        self.walk_sz(va, 25, 25)
    }
    fn walk_sz(&self, va: u64, t0: u8, t1: u8) -> Result<Translation, WalkFault> {
        walk(
            va,
            t0,
            t1,
            &|i| self.root0[i],
            &|i| self.root1[i],
            &|pa, i| {
                self.tables
                    .iter()
                    .find(|(p, _)| *p == pa)
                    .map(|(_, t)| t[i])
                    .expect("table")
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

const K: u64 = 0xffff_ff80_0000_0000; // first TTBR1 VA with T1SZ = 25

#[test]
fn ttbr_selection_and_start_level() {
    assert_eq!(ttbr_for(0, 25, 25), Some(0));
    assert_eq!(ttbr_for(0x7f_ffff_ffff, 25, 25), Some(0));
    assert_eq!(ttbr_for(0x80_0000_0000, 25, 25), None); // bit 39 set
    assert_eq!(ttbr_for(K, 25, 25), Some(1));
    assert_eq!(ttbr_for(!0, 25, 25), Some(1));
    assert_eq!(ttbr_for(K - 1, 25, 25), None);
    assert_eq!(ttbr_for(1 << 63, 25, 25), None);
    assert_eq!(ttbr_for(0x0001_0000_0000_0000, 16, 16), None);
    assert_eq!(ttbr_for(0x0000_8000_0000_0000, 16, 16), Some(0));
    assert_eq!(ttbr_for(0x0000_7fff_ffff_ffff, 16, 16), Some(0));
    assert_eq!(ttbr_for(0xffff_8000_0000_0000, 16, 16), Some(1));
    // Clamping: T0SZ 0 behaves as 16, T0SZ 63 as 39.
    assert_eq!(ttbr_for(0x0000_7fff_ffff_ffff, 0, 16), Some(0));
    assert_eq!(ttbr_for(0x0000_0000_0200_0000, 63, 16), None);
    assert_eq!(ttbr_for(0x0000_0000_01ff_ffff, 63, 16), Some(0));
    assert_eq!(start_level(25), 1);
    assert_eq!(start_level(16), 0);
    assert_eq!(start_level(24), 0);
    assert_eq!(start_level(33), 1);
    assert_eq!(start_level(34), 2);
    assert_eq!(start_level(39), 2);
    assert_eq!(
        [0u8, 1, 2, 3].map(level_size),
        [SIZE_512G, SIZE_1G, SIZE_2M, SIZE_4K]
    );
}

fn build() -> Mem {
    let mut m = Mem::new();
    // TTBR0: L1[1] = 1 GiB block at 0x4000_0000 (user RW, nG).
    m.root0[1] = leaf(0x4000_0000, false, 1, 0b01, 0b11, true, true, true, false);
    // TTBR0: L1[0] → L2 at 0x10_0000.
    m.root0[0] = table(0x10_0000, false, false, 0);
    // L2[2] (VA 0x40_0000): 2 MiB block at 0x8000_0000, user RO.
    m.table(0x10_0000)[2] = leaf(0x8000_0000, false, 2, 0b11, 0b10, true, true, true, false);
    // L2[0] → L3 at 0x11_0000.
    m.table(0x10_0000)[0] = table(0x11_0000, false, false, 0);
    // L3[0x10] (VA 0x1_0000): user RX page.
    m.table(0x11_0000)[0x10] = leaf(0x4123_4000, true, 0, 0b11, 0b11, true, true, true, false);
    // L3[0x11]: reserved 01 at level 3.
    m.table(0x11_0000)[0x11] = leaf(0x4123_5000, false, 0, 0b11, 0b11, true, true, true, false);
    // The last TTBR0 entry: L1[511] block (VA 0x7f_c000_0000).
    m.root0[511] = data(0x1_0000_0000, false);
    // TTBR1: L1[0] (VA K) → L2 at 0x20_0000 with PXNTable.
    m.root1[0] = table(0x20_0000, true, false, 0);
    // 2 MiB block, PXN clear in the leaf, UXN set.
    m.table(0x20_0000)[0] = leaf(0x4000_0000, false, 0, 0b00, 0b11, true, false, false, true);
    m.table(0x20_0000)[1] = table(0x21_0000, false, true, 0b10);
    m.table(0x21_0000)[3] = leaf(0x4200_0000, true, 0, 0b00, 0b11, true, false, false, false);
    m.table(0x21_0000)[4] = leaf(0x4200_1000, true, 0, 0b00, 0b11, false, false, false, false);
    // TTBR1: L1[511] (top GiB) → L2 at 0x30_0000 with APTable 01.
    m.root1[511] = table(0x30_0000, false, false, 0b01);
    m.table(0x30_0000)[511] = table(0x31_0000, false, false, 0b10);
    m.table(0x31_0000)[511] = leaf(0x4300_0000, true, 0, 0b01, 0b11, true, false, false, false);
    m
}

#[test]
fn walk_lower_half() {
    let m = build();
    let r = m.walk(0x4abc_def0).unwrap();
    assert_eq!((r.pa, r.size, r.level), (0x4abc_def0, SIZE_1G, 1));
    assert_eq!(r.attrs, r.leaf);
    assert_eq!((r.attrs.attr_index, r.attrs.ap), (1, 0b01));
    assert!(r.attrs.ng && r.attrs.pxn && !r.attrs.uxn);
    let r = m.walk(0x5f_ffff).unwrap();
    assert_eq!((r.pa, r.size, r.level), (0x801f_ffff, SIZE_2M, 2));
    assert_eq!(access_of(r.attrs.ap), Access::UserRo);
    assert_eq!(r.attrs.sh, 0b10);
    let r = m.walk(0x1_0abc).unwrap();
    assert_eq!((r.pa, r.size, r.level), (0x4123_4abc, SIZE_4K, 3));
    let r = m.walk(0x7f_c000_1234).unwrap();
    assert_eq!((r.pa, r.level), (0x1_0000_1234, 1));
    // Faults at each level.
    assert_eq!(m.walk(0x8000_0000), tf(1)); // L1[2] invalid
    assert_eq!(m.walk(0x20_0000), tf(2)); // L2[1] invalid
    assert_eq!(m.walk(0x1_2000), tf(3)); // L3[0x12] invalid
    assert_eq!(m.walk(0x1_1000), tf(3)); // L3[0x11] reserved 01
    assert_eq!(m.walk(0x80_0000_0000), tf(0)); // outside both halves
    assert_eq!(m.walk(0x0001_0000_0000_0000), tf(0));
    assert_eq!(m.walk(0x8000_0000_0000_0000), tf(0));
}

#[test]
fn walk_upper_half_with_hierarchical_controls() {
    let m = build();
    // L2 block under a PXNTable table: leaf PXN clear, effective set.
    let r = m.walk(K + 0x1_2345).unwrap();
    assert_eq!((r.pa, r.size, r.level), (0x4001_2345, SIZE_2M, 2));
    assert!(!r.leaf.pxn && r.attrs.pxn);
    assert!(r.leaf.uxn && r.attrs.uxn);

    // Page under PXNTable (L1) + UXNTable and APTable 10 (L2).
    let va = K + SIZE_2M + 3 * SIZE_4K + 0x10;
    let r = m.walk(va).unwrap();
    assert_eq!((r.pa, r.size, r.level), (0x4200_0010, SIZE_4K, 3));
    assert!(!r.leaf.pxn && !r.leaf.uxn && r.leaf.ap == 0b00);
    assert!(r.attrs.pxn && r.attrs.uxn);
    assert_eq!(r.attrs.ap, 0b10); // APTable[1]: read-only
    assert_eq!(access_of(r.attrs.ap), Access::KernelRo);
    // Top page: APTable 01 (L1) then 10 (L2) on a user RW leaf.
    let r = m.walk(!0).unwrap();
    assert_eq!(r.pa, 0x4300_0fff);
    assert_eq!(r.leaf.ap, 0b01);
    assert_eq!(r.attrs.ap, 0b10); // no EL0 access, read-only

    // Faults at each level in TTBR1.
    assert_eq!(m.walk(K + SIZE_1G), tf(1));
    assert_eq!(m.walk(K + 2 * SIZE_2M), tf(2));
    assert_eq!(m.walk(K + SIZE_2M), tf(3));
    // With T1SZ = 25 the TTBR0 root is never consulted for K.
    let r = m.walk_sz(K, 25, 25).unwrap();
    assert_eq!(r.pa, 0x4000_0000);
}

#[test]
fn ap_table_folding_all_combinations() {
    // Each APTable value over each leaf AP, D8.4.2: APTable[0] removes
    // EL0 access, APTable[1] removes write access.
    for apt in 0..4u64 {
        for ap in 0..4u64 {
            let mut m = Mem::new();
            m.root0[0] = table(0x10_0000, false, false, apt);
            m.table(0x10_0000)[0] = leaf(0, false, 0, ap, 0, true, false, false, false);
            let r = m.walk(0x1000).unwrap();
            let want = (ap | (apt & 0b10)) & !(apt & 0b01);
            assert_eq!(r.attrs.ap as u64, want, "apt={apt:02b} ap={ap:02b}");
            let a = access_of(r.attrs.ap).allows();
            let l = access_of(ap as u8).allows();
            assert_eq!(a.user_read, l.user_read && apt & 1 == 0);
            assert_eq!(a.user_write, l.user_write && apt == 0);
            assert_eq!(a.kernel_write, l.kernel_write && apt & 2 == 0);
            assert!(a.kernel_read);
        }
    }
}

#[test]
fn walk_other_tsz() {
    // T0SZ = 16: 48-bit VAs, start at level 0.
    let mut m = Mem::new();
    m.root0[0x1ff] = table(0x50_0000, false, false, 0);
    m.table(0x50_0000)[0x1ff] = data(0x1_c000_0000, false);
    let r = m.walk_sz(0x0000_ffff_c000_0042, 16, 16).unwrap();
    assert_eq!((r.pa, r.level), (0x1_c000_0042, 1));
    // A level-0 block is reserved.
    m.root0[1] = data(0, false);
    assert_eq!(m.walk_sz(0x0000_0080_0000_0000, 16, 16), tf(0));
    // T0SZ = 34: 30-bit VAs, start at level 2 with 9 index bits.
    let mut m = Mem::new();
    m.root0[0x1ff] = data(0x4000_0000, false);
    let r = m.walk_sz(0x3fe0_0010, 34, 25).unwrap();
    assert_eq!((r.pa, r.level, r.size), (0x4000_0010, 2, SIZE_2M));
    assert_eq!(m.walk_sz(0x4000_0000, 34, 25), tf(0));
    // T0SZ = 33: 31-bit VAs, start at level 1 with a 2-entry root.
    let mut m = Mem::new();
    m.root0[1] = data(0x8000_0000, false);
    let r = m.walk_sz(0x4000_0001, 33, 25).unwrap();
    assert_eq!((r.pa, r.level), (0x8000_0001, 1));
}

#[test]
fn access_checks() {
    let m = build();
    let user_rw = m.walk(0x4000_0000).unwrap(); // AP 01, PXN, UXN clear
    let user_ro = m.walk(0x40_0000).unwrap(); // AP 11
    let kro = m.walk(K + SIZE_2M + 3 * SIZE_4K).unwrap(); // KernelRo, XN
    let no_af = m.walk(K + SIZE_2M + 4 * SIZE_4K).unwrap();
    let perm = |level| {
        Err(WalkFault {
            level,
            kind: FaultKind::Permission,
        })
    };
    use AccessKind::*;
    assert_eq!(check_access(&user_rw, Write, false), Ok(()));
    assert_eq!(check_access(&user_rw, Execute, false), Ok(()));
    assert_eq!(check_access(&user_rw, Execute, true), perm(1));
    assert_eq!(check_access(&user_ro, Write, false), perm(2));
    assert_eq!(check_access(&user_ro, Write, true), perm(2));
    assert_eq!(check_access(&user_ro, Read, false), Ok(()));
    assert_eq!(check_access(&kro, Read, false), perm(3));
    assert_eq!(check_access(&kro, Read, true), Ok(()));
    assert_eq!(check_access(&kro, Execute, true), perm(3));
    assert_eq!(
        check_access(&no_af, Read, true),
        Err(WalkFault {
            level: 3,
            kind: FaultKind::AccessFlag
        })
    );
    // EL0-writable implies PXN even with PXN clear.
    let mut m = Mem::new();
    m.root0[0] = leaf(0, false, 0, 0b01, 0, true, true, false, false);
    m.root0[1] = leaf(SIZE_1G, false, 0, 0b00, 0, true, true, false, false);
    let t = m.walk(0x10).unwrap();
    assert_eq!(check_access(&t, Execute, true), perm(1));
    // Execute-only at EL0: AP 00, UXN clear.
    let t = m.walk(SIZE_1G).unwrap();
    assert_eq!(check_access(&t, Execute, false), Ok(()));
    assert_eq!(check_access(&t, Read, false), perm(1));
    assert_eq!(check_access(&t, Execute, true), Ok(()));
}

#[test]
fn par_success_form() {
    // ATTR 0xff, PA 0x4123_4000, NS, SH = 11, F = 0, RES1 bit 11.
    let par = 0xffu64 << 56 | 0x4123_4000 | 1 << 11 | 1 << 9 | 0b11 << 7;
    let p = par_el1(par);
    assert!(!p.fault);
    assert_eq!((p.pa, p.attr, p.sh, p.fst), (0x4123_4000, 0xff, 0b11, 0));
    assert!(p.ns_or_s2 && !p.ptw);
    assert_eq!(class_of_mair_byte(p.attr), normal(WBWA, WBWA));
    // Device-nGnRE, outer shareable, 48-bit PA.
    let par = 0x04u64 << 56 | 0xffff_ffff_f000 | 0b10 << 7 | 1 << 11;
    let p = par_el1(par);
    assert_eq!((p.pa, p.attr, p.sh), (0xffff_ffff_f000, 0x04, 0b10));
    assert!(!p.ns_or_s2);
    assert_eq!(
        class_of_mair_byte(p.attr),
        Some(MemoryClass::Device { shareable: true })
    );
    // IMPDEF [55:52] and bits [6:1] are not address.
    let p = par_el1(0xf << 52 | 0x3f << 1);
    assert_eq!((p.pa, p.fst, p.fault), (0, 0, false));
    // PA [51:48] with FEAT_LPA.
    assert_eq!(par_el1(0xf << 48).pa, 0xf_0000_0000_0000);
}

#[test]
fn par_fault_form() {
    // Translation fault level 3 (FST 0b000111), F = 1, RES1 bit 11.
    let par = 0b000111u64 << 1 | 1 | 1 << 11;
    let p = par_el1(par);
    assert!(p.fault && !p.ptw && !p.ns_or_s2);
    assert_eq!((p.fst, p.pa, p.attr, p.sh), (0b000111, 0, 0, 0));
    let m = p.fault_meaning();
    assert_eq!((m.kind, m.level), (FaultKind::Translation, Some(3)));
    // Permission fault level 2, stage 2 during a stage 1 walk (S, PTW),
    // IMPDEF top bits set.
    let par = 0xffffu64 << 48 | 1 << 9 | 1 << 8 | 0b001110 << 1 | 1;
    let p = par_el1(par);
    assert!(p.fault && p.ptw && p.ns_or_s2);
    assert_eq!((p.fst, p.pa, p.attr), (0b001110, 0, 0));
    let m = p.fault_meaning();
    assert_eq!((m.kind, m.level), (FaultKind::Permission, Some(2)));
    // Access flag fault level 1.
    let m = par_el1(0b001001 << 1 | 1).fault_meaning();
    assert_eq!((m.kind, m.level), (FaultKind::AccessFlag, Some(1)));
    // Every FST survives the round trip.
    for fst in 0..64u64 {
        assert_eq!(par_el1(fst << 1 | 1).fst as u64, fst);
    }
}
