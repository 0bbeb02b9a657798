//! The engine on the ARMv7-A short-descriptor format (supersections,
//! sections, large and small pages).

use super::*;
use crate::arch::armv7a::desc;
use crate::arch::armv7a::format::ShortDescriptor;
use crate::mm::memtype::Access;

type Table = super::Table<ShortDescriptor>;
type Fake = super::Fake<ShortDescriptor>;

pub(super) const MIB: u64 = 1 << 20;
pub(super) const LARGE: u64 = 64 << 10;
pub(super) const SUPER: u64 = 16 << 20;

pub(super) fn kernel_table() -> Table {
    Table {
        root_pa: ROOT,
        va_lo: 0,
        va_hi: u32::MAX as u64,
        asid: None,
        format: ShortDescriptor {
            domain: 0,
            pxn: true,
        },
    }
}

pub(super) fn user_table() -> Table {
    Table {
        va_hi: 0x7FFF_FFFF,
        asid: Some(7),
        ..kernel_table()
    }
}

pub(super) fn rw() -> MapAttrs {
    MapAttrs::kernel_data()
}

pub(super) use super::user_rw;

pub(super) fn small(pa: u64, a: MapAttrs) -> u64 {
    desc::small_page(pa as u32, a).unwrap() as u64
}

fn large(pa: u64, a: MapAttrs) -> u64 {
    desc::large_page(pa as u32, a).unwrap() as u64
}

fn section(pa: u64, a: MapAttrs, domain: u8) -> u64 {
    desc::section(pa as u32, a, domain).unwrap() as u64
}

fn l1(t: &Table, va: u64) -> u64 {
    t.root_pa + (va >> 20) * 4
}

#[test]
fn sections_where_aligned_pages_elsewhere() {
    let t = Table {
        format: ShortDescriptor {
            domain: 1,
            pxn: true,
        },
        ..kernel_table()
    };
    let mut env = Fake::for_table(&t);
    t.map(
        &mut env,
        0x8000_0000 - 0x2000,
        0x4000_0000 - 0x2000,
        MIB + 0x3000,
        rw(),
    )
    .unwrap();
    let p = t.lookup(&env, 0x8000_0000).unwrap();
    assert_eq!((p.size, p.pa), (MIB, 0x4000_0000));
    assert_eq!(p.raw, section(0x4000_0000, rw(), 1));
    let p = t.lookup(&env, 0x7FFF_F000).unwrap();
    assert_eq!((p.size, p.pa), (4096, 0x3FFF_F000));
    let p = t.lookup(&env, 0x8010_0000).unwrap();
    assert_eq!((p.size, p.pa), (4096, 0x4010_0000));
    assert!(t.lookup(&env, 0x8010_1000).is_none());
    // The L1 page-table entries carry the domain; a kernel table's leave
    // PXN clear (kernel text lives in pages).
    let pt = env.read(l1(&t, 0x7FF0_0000));
    assert_eq!(pt & 0b11, 0b01);
    assert_eq!((pt >> 5) & 0xf, 1);
    assert_eq!(pt & 0b100, 0);
}

#[test]
fn no_supersections_outside_domain_zero() {
    let t = Table {
        format: ShortDescriptor {
            domain: 2,
            pxn: true,
        },
        ..kernel_table()
    };
    let mut env = Fake::for_table(&t);
    t.map(&mut env, 0x0100_0000, 0x4100_0000, 16 * MIB, rw())
        .unwrap();
    for m in 0..16 {
        let p = t.lookup(&env, 0x0100_0000 + m * MIB).unwrap();
        assert_eq!(p.size, MIB);
        assert_eq!(p.raw, section(0x4100_0000 + m * MIB, rw(), 2));
    }
}

#[test]
fn supersections_and_large_pages_in_domain_zero() {
    let t = kernel_table();
    let mut env = Fake::for_table(&t);
    t.map(&mut env, 0x0100_0000, 0x4100_0000, 16 * MIB + 0x10000, rw())
        .unwrap();
    let p = t.lookup(&env, 0x01FF_F000).unwrap();
    assert_eq!((p.va, p.pa, p.size), (0x0100_0000, 0x4100_0000, 16 * MIB));
    let sup = desc::supersection(0x4100_0000, rw()).unwrap() as u64;
    for m in 0..16 {
        assert_eq!(env.read(l1(&t, 0x0100_0000 + m * MIB)), sup);
    }
    let p = t.lookup(&env, 0x0200_F000).unwrap();
    assert_eq!((p.va, p.pa, p.size), (0x0200_0000, 0x4200_0000, 0x10000));
    let l2 = t.table_of(&env, 0x0200_0000, 2).unwrap();
    for i in 0..16 {
        assert_eq!(env.read(l2 + i * 4), large(0x4200_0000, rw()));
    }
    assert_eq!(env.read(l2 + 16 * 4), 0);
}

#[test]
fn out_of_range_refused() {
    let t = user_table();
    let mut env = Fake::for_table(&t);
    assert_eq!(
        t.map(&mut env, 0x7FFF_F000, 0x4000_0000, 0x2000, rw())
            .unwrap_err(),
        MapError::OutOfRange
    );
    assert_eq!(
        t.map(&mut env, 0x1000, 0x1_0000_0000, 0x1000, rw()),
        Err(MapError::Plan(PlanError::Overflow))
    );
}

#[test]
fn splitting_a_section_keeps_translation_and_uses_bbm() {
    let t = user_table();
    let mut env = Fake::for_table(&t);
    let a = user_rw();
    t.map(&mut env, 0x300_0000, 0x5000_0000, MIB, a).unwrap();
    env.clear_log();
    let ro = a.with_access(Access::UserRo);
    t.protect(&mut env, 0x304_0000, 0x1000, ro).unwrap();
    let log = env.log();
    assert_break_before_make(&log, l1(&t, 0x300_0000), 0x300_0000, t.asid);
    // The new L1 page-table entry keeps the section's PXN.
    let pt = env.read(l1(&t, 0x300_0000));
    assert_eq!(pt & 0b111, 0b101);
    for off in (0..MIB).step_by(4096) {
        let p = t.lookup(&env, 0x300_0000 + off).unwrap();
        assert_eq!((p.pa, p.size), (0x5000_0000 + off, 4096));
        let want = if off == 0x4_0000 { ro } else { a };
        assert_eq!(p.raw, small(0x5000_0000 + off, want));
    }
}

#[test]
fn splitting_supersections_and_large_pages() {
    let t = user_table();
    let mut env = Fake::for_table(&t);
    let a = user_rw();
    t.map(&mut env, 0x0100_0000, 0x4100_0000, 16 * MIB, a)
        .unwrap();
    t.map(&mut env, 0x0300_0000, 0x4300_0000, 0x10000, a)
        .unwrap();
    assert_eq!(t.lookup(&env, 0x0300_0000).unwrap().size, 0x10000);
    let l2 = t.table_of(&env, 0x0300_0000, 2).unwrap();
    env.clear_log();
    let mut got = Vec::new();
    t.unmap(&mut env, 0x0150_3000, 0x1000, &mut |_, v, p, s| {
        got.push((v, p, s))
    })
    .unwrap();
    let log = env.log();
    // Every one of the 16 supersection entries was broken and flushed by
    // its own VA with the table's ASID before becoming a section.
    for m in 0..16 {
        let va = 0x0100_0000 + m * MIB;
        assert_break_before_make(&log, l1(&t, va), va, t.asid);
    }
    env.clear_log();
    t.unmap(&mut env, 0x0300_5000, 0x1000, &mut |_, v, p, s| {
        got.push((v, p, s))
    })
    .unwrap();
    let log = env.log();
    // Every one of the 16 large-page entries likewise, except the one
    // unmapped (broken, and left invalid).
    for i in 0..16 {
        let va = 0x0300_0000 + i * 0x1000;
        if va != 0x0300_5000 {
            assert_break_before_make(&log, l2 + i * 4, va, t.asid);
        }
    }
    assert_eq!(
        got,
        vec![
            (0x0150_3000, 0x4150_3000, 0x1000),
            (0x0300_5000, 0x4300_5000, 0x1000)
        ]
    );
    for va in (0x0100_0000u64..0x0200_0000).step_by(0x1000) {
        let p = t.lookup(&env, va);
        if va == 0x0150_3000 {
            assert!(p.is_none());
        } else {
            let p = p.unwrap();
            assert_eq!(p.pa + (va - p.va), va + 0x4000_0000);
            if (0x0150_0000..0x0160_0000).contains(&va) {
                assert_eq!(p.raw, small(va + 0x4000_0000, a));
            } else {
                assert_eq!(p.raw, section(p.pa, a, 0));
            }
        }
    }
    for va in (0x0300_0000u64..0x0301_0000).step_by(0x1000) {
        if va == 0x0300_5000 {
            assert!(t.lookup(&env, va).is_none());
        } else {
            assert_eq!(t.lookup(&env, va).unwrap().raw, small(va + 0x4000_0000, a));
        }
    }
}

/// protect of whole sections and supersections rewrites them as sections
/// and supersections (all 16 copies) with the new attributes.
#[test]
fn protect_whole_sections_and_supersections_keeps_their_size() {
    let t = kernel_table();
    let mut env = Fake::for_table(&t);
    t.map(&mut env, 0x0100_0000, 0x4100_0000, 17 * MIB, rw())
        .unwrap();
    let ro = rw().with_access(Access::KernelRo);
    t.protect(&mut env, 0x0100_0000, 16 * MIB, ro).unwrap();
    t.protect(&mut env, 0x0200_0000, MIB, ro).unwrap();
    let sup = desc::supersection(0x4100_0000, ro).unwrap() as u64;
    for m in 0..16 {
        assert_eq!(env.read(l1(&t, 0x0100_0000 + m * MIB)), sup, "copy {m}");
    }
    assert_eq!(t.lookup(&env, 0x01FF_F000).unwrap().size, 16 * MIB);
    assert_eq!(env.read(l1(&t, 0x0200_0000)), section(0x4200_0000, ro, 0));
    assert_eq!(env.live_tables, 0);
}

/// protect over large pages: all 16 copies of each rewritten once with the
/// new attributes, after their break and a flush inside the large page.
#[test]
fn protect_of_large_pages_rewrites_all_16_copies_with_bbm() {
    let t = kernel_table();
    let mut env = Fake::for_table(&t);
    t.map(&mut env, 0x0200_0000, 0x4201_0000, 2 * LARGE, rw())
        .unwrap();
    let l2 = t.table_of(&env, 0x0200_0000, 2).unwrap();
    env.clear_log();
    let ro = rw().with_access(Access::KernelRo);
    t.protect(&mut env, 0x0200_0000, 2 * LARGE, ro).unwrap();
    let log = env.log();
    for k in 0..2u64 {
        let new = large(0x4201_0000 + k * LARGE, ro);
        for c in 0..16 {
            let e = l2 + (k * 16 + c) * 4;
            assert_eq!(env.read(e), new, "large page {k} copy {c}");
            let brk = first(&log, &Ev::Write(e, 0));
            let mk = first(&log, &Ev::Write(e, new));
            assert!(brk < mk);
            let block = (0x0200_0000 + k * LARGE, LARGE);
            assert_flushed_within(&log, (brk, mk), block, None, "large");
        }
    }
    assert_eq!(log[log.len() - 2..], [Ev::Publish, Ev::Sync]);
}

/// Large pages and supersections repeat their descriptor 16 times (ARM
/// ARM B3.5.1, B3.5.2): breaking one must invalidate all 16 copies, and
/// one unmap of more than ROUND of them reports each once.
#[test]
fn unmap_of_large_pages_and_supersections_clears_all_16_copies() {
    let t = kernel_table();
    let mut env = Fake::for_table(&t);
    // 130 large pages: 8 MiB + 128 KiB, 64 KiB-aligned va and pa, no
    // whole 1 MiB co-aligned (pa is 64 KiB off a MiB).
    let (lva, lpa, ln) = (0x0100_0000u64, 0x4001_0000u64, 130u64);
    t.map(&mut env, lva, lpa, ln * LARGE, rw()).unwrap();
    for i in 0..ln {
        assert_eq!(t.lookup(&env, lva + i * LARGE).unwrap().size, LARGE);
    }
    // 130 supersections from 0x1000_0000 (2080 MiB).
    let (sva, spa, sn) = (0x1000_0000u64, 0u64, 130u64);
    t.map(&mut env, sva, spa, sn * SUPER, rw()).unwrap();
    assert_eq!(t.lookup(&env, sva).unwrap().size, SUPER);
    let mut got = Vec::new();
    t.unmap(&mut env, lva, ln * LARGE, &mut |_, v, p, s| {
        got.push((v, p, s))
    })
    .unwrap();
    let want: Vec<(u64, u64, u64)> = (0..ln)
        .map(|i| (lva + i * LARGE, lpa + i * LARGE, LARGE))
        .collect();
    assert_eq!(got, want);
    got.clear();
    t.unmap(&mut env, sva, sn * SUPER, &mut |_, v, p, s| {
        got.push((v, p, s))
    })
    .unwrap();
    let want: Vec<(u64, u64, u64)> = (0..sn)
        .map(|i| (sva + i * SUPER, spa + i * SUPER, SUPER))
        .collect();
    assert_eq!(got, want);
    for v in (lva..lva + ln * LARGE).step_by(4096) {
        assert!(t.lookup(&env, v).is_none(), "{v:#x}");
    }
    for mb in (sva..sva + sn * SUPER).step_by(MIB as usize) {
        assert_eq!(env.read(l1(&t, mb)), 0, "{mb:#x}");
    }
    assert_eq!(env.live_tables, 0);
}

/// One large page and one supersection broken alone (no overflow to a
/// whole-TLB invalidation): the TLB is invalidated inside each, and the
/// copies are all written invalid before the flush.
#[test]
fn unmap_of_one_large_page_and_one_supersection_invalidates_inside_each() {
    let t = user_table();
    let mut env = Fake::for_table(&t);
    t.map(&mut env, 0x0300_0000, 0x4300_0000, LARGE, rw())
        .unwrap();
    t.map(&mut env, 0x0400_0000, 0x4400_0000, SUPER, rw())
        .unwrap();
    env.clear_log();
    t.unmap(&mut env, 0x0300_0000, LARGE, &mut |_, _, _, _| {})
        .unwrap();
    t.unmap(&mut env, 0x0400_0000, SUPER, &mut |_, _, _, _| {})
        .unwrap();
    let log = env.log();
    assert!(!log.iter().any(|e| matches!(e, Ev::TlbiAll(_))));
    assert!(
        t.table_of(&env, 0x0300_0000, 2).is_none(),
        "the emptied L2 table was unlinked"
    );
    for (base, size) in [(0x0300_0000u64, LARGE), (0x0400_0000, SUPER)] {
        assert!(
            log.iter().any(
                |e| matches!(e, Ev::Tlbi(v, Some(7)) if (base..base + (size - 1)).contains(v))
            ),
            "no TLBI inside the block at {base:#x}"
        );
    }
    for mb in 0..16 {
        assert_eq!(env.read(l1(&t, 0x0400_0000 + mb * MIB)), 0);
    }
}

/// unmap changes nothing outside `[va, va + size)`: an empty L2 table in
/// the MiB before the range and one in the MiB right after its end (as
/// boot code might leave) stay linked; the range's own emptied table goes.
#[test]
fn unmap_leaves_tables_outside_its_range_alone() {
    let t = kernel_table();
    let mut env = Fake::for_table(&t);
    let link = |l2: u64| desc::page_table(l2 as u32, 0, false).unwrap() as u64;
    let before = TableEnv::<ShortDescriptor>::alloc_table(&mut env, 2).unwrap();
    env.write(l1(&t, 0x20_0000), link(before));
    let after = TableEnv::<ShortDescriptor>::alloc_table(&mut env, 2).unwrap();
    env.write(l1(&t, 0x40_0000), link(after));
    // MiB 3, not at its start; the range ends where MiB 4 starts.
    t.map(&mut env, 0x30_1000, 0x4030_1000, 0x2000, rw())
        .unwrap();
    let own = t.table_of(&env, 0x30_0000, 2).unwrap();
    env.clear_log();
    t.unmap(
        &mut env,
        0x30_1000,
        0x40_0000 - 0x30_1000,
        &mut |_, _, _, _| {},
    )
    .unwrap();
    assert_eq!(t.table_of(&env, 0x20_0000, 2), Some(before), "kept");
    assert_eq!(t.table_of(&env, 0x40_0000, 2), Some(after), "kept");
    assert!(t.table_of(&env, 0x30_0000, 2).is_none());
    let log = env.log();
    assert!(log.contains(&Ev::Free(own)));
    assert!(!log.contains(&Ev::Free(before)) && !log.contains(&Ev::Free(after)));
}

/// Walks that start inside an unmapped MiB (L1 fault entry) but not at its
/// start skip to the next MiB: a hole is fine, and what lies beyond it is
/// found.
#[test]
fn unmap_starting_inside_an_unmapped_mib() {
    let t = kernel_table();
    let mut env = Fake::for_table(&t);
    t.unmap(&mut env, 0x30_1000, 0x2000, &mut |_, _, _, _| {
        panic!("nothing there")
    })
    .unwrap();
    t.map(&mut env, 0x40_0000, 0x4040_0000, 0x1000, rw())
        .unwrap();
    let mut got = Vec::new();
    t.unmap(&mut env, 0x30_1000, 0x10_0000, &mut |_, v, p, s| {
        got.push((v, p, s))
    })
    .unwrap();
    assert_eq!(got, vec![(0x40_0000, 0x4040_0000, 0x1000)]);
    // Nearly 4 GiB of unmapped MiBs, entered one page into the first, with
    // one page inside: the walk skips an unmapped MiB in one step (a crawl
    // through them byte by byte would not finish: unmapping gigabytes must
    // stay cheap, README "When memory runs out").
    t.map(&mut env, 0x1000_0000, 0x4100_0000, 0x1000, rw())
        .unwrap();
    got.clear();
    t.unmap(
        &mut env,
        0x0000_1000,
        0xF000_0000 - 0x1000,
        &mut |_, v, p, s| got.push((v, p, s)),
    )
    .unwrap();
    assert_eq!(got, vec![(0x1000_0000, 0x4100_0000, 0x1000)]);
}

/// A user table's L1 page-table entries deny privileged execution (small
/// and large pages have no PXN bit of their own, B3.5.1).
#[test]
fn user_l1_page_table_entries_deny_privileged_execution() {
    let t = user_table();
    let mut env = Fake::for_table(&t);
    t.map(&mut env, 0x10_0000, 0x4000_0000, 0x1000, user_rw())
        .unwrap();
    assert_eq!(env.read(l1(&t, 0x10_0000)) & 0b111, 0b101);
}

#[test]
fn block_pxn_is_bit_0_of_sections_only() {
    // ARM ARM B3-4/B3-5: bit 0 is PXN in a section or supersection, but
    // XN in a small page and part of the type (0b01) in a large page.
    let ex = rw().executable();
    let pxn = MapAttrs {
        privileged_execute_never: true,
        ..ex
    };
    let xn = MapAttrs {
        execute_never: true,
        ..ex
    };
    assert!(ShortDescriptor::block_pxn(section(MIB, pxn, 0), 1));
    assert!(!ShortDescriptor::block_pxn(section(MIB, ex, 0), 1));
    let s = desc::supersection(SUPER, pxn).unwrap() as u64;
    assert!(ShortDescriptor::block_pxn(s, 1));
    assert!(!ShortDescriptor::block_pxn(small(0x1000, xn), 2));
    assert!(!ShortDescriptor::block_pxn(large(LARGE, ex), 2));
    assert!(!ShortDescriptor::block_pxn(large(LARGE, xn), 2));
}
