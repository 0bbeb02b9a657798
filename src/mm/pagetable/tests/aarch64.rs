//! The engine on the VMSAv8-64 format (4 KiB granule, 3 levels).

use super::*;
use crate::arch::aarch64::desc::{self, Kind};
use crate::arch::aarch64::format::Vmsa64;
use crate::mm::memtype::{Access, MemoryType};

type Table = super::Table<Vmsa64>;
type Fake = super::Fake<Vmsa64>;

pub(super) const KIB4: u64 = 1 << 12;
pub(super) const MIB2: u64 = 2 << 20;
pub(super) const GIB: u64 = 1 << 30;
pub(super) const TTBR1_BASE: u64 = 0xFFFF_FF80_0000_0000;

pub(super) fn user_table() -> Table {
    Table {
        root_pa: ROOT,
        va_lo: 0,
        va_hi: 0x7F_FFFF_FFFF,
        asid: Some(5),
        format: Vmsa64,
    }
}

pub(super) fn kernel_table() -> Table {
    Table {
        root_pa: ROOT,
        va_lo: TTBR1_BASE,
        va_hi: u64::MAX,
        asid: None,
        format: Vmsa64,
    }
}

pub(super) fn rw() -> MapAttrs {
    MapAttrs::kernel_data()
}

#[test]
fn blocks_where_aligned_pages_elsewhere() {
    let t = user_table();
    let mut env = Fake::for_table(&t);
    // Two pages, a 2 MiB block, a 1 GiB block, a 2 MiB block, a page.
    let va = GIB - MIB2 - 2 * KIB4;
    let pa = 0x1_0000_0000 - MIB2 - 2 * KIB4;
    let size = 2 * KIB4 + MIB2 + GIB + MIB2 + KIB4;
    t.map(&mut env, va, pa, size, rw()).unwrap();
    let want = [
        (va, 3),
        (va + KIB4, 3),
        (GIB - MIB2, 2),
        (GIB, 1),
        (2 * GIB, 2),
        (2 * GIB + MIB2, 3),
    ];
    for (v, level) in want {
        let p = t.lookup(&env, v).unwrap();
        let size = desc::level_size(level);
        assert_eq!((p.va, p.level, p.size), (v, level, size), "{v:#x}");
        assert_eq!(p.pa, v + (pa - va));
        let raw = match level {
            3 => desc::page(p.pa, rw()).unwrap(),
            l => desc::block(l, p.pa, rw()).unwrap(),
        };
        assert_eq!(p.raw, raw);
    }
    // Inside blocks, lookups return the block.
    let p = t.lookup(&env, GIB + 0x1234_5000).unwrap();
    assert_eq!((p.va, p.pa, p.size), (GIB, 0x1_0000_0000, GIB));
    assert!(t.lookup(&env, 2 * GIB + MIB2 + KIB4).is_none());
    assert!(t.lookup(&env, va - KIB4).is_none());
    // Tables: L2 for GiB 0 and GiB 2, L3 for two 2 MiB regions.
    assert_eq!(env.live_tables, 4);
    // The L1 block sits at index 1 of the root.
    assert_eq!(
        env.read(ROOT + 8),
        desc::block(1, 0x1_0000_0000, rw()).unwrap()
    );
}

#[test]
fn pa_alignment_matters_as_much_as_va() {
    let t = user_table();
    let mut env = Fake::for_table(&t);
    t.map(&mut env, GIB, 0x4000_1000, MIB2, rw()).unwrap();
    for v in (GIB..GIB + MIB2).step_by(4096) {
        assert_eq!(t.lookup(&env, v).unwrap().size, KIB4);
    }
}

#[test]
fn bad_requests_refused() {
    let t = user_table();
    let mut env = Fake::for_table(&t);
    let e = t.map(&mut env, 0x7F_FFFF_F000, 0x4000_0000, 0x2000, rw());
    assert_eq!(e, Err(MapError::OutOfRange));
    let e = t.map(&mut env, TTBR1_BASE, 0x4000_0000, 0x1000, rw());
    assert_eq!(e, Err(MapError::OutOfRange));
    let k = kernel_table();
    let e = k.map(&mut env, 0x4000_0000, 0x4000_0000, 0x1000, rw());
    assert_eq!(e, Err(MapError::OutOfRange));
    let e = t.map(&mut env, 0x1000, 0x4000_0800, 0x1000, rw());
    assert_eq!(e, Err(MapError::Plan(PlanError::Misaligned)));
    let e = t.map(&mut env, 0x1000, 1 << 48, 0x1000, rw());
    assert_eq!(e, Err(MapError::Plan(PlanError::Overflow)));
    let bad = rw().with_access(Access::KernelRwUserRo);
    let e = t.map(&mut env, 0x1000, 0x4000_0000, 0x1000, bad);
    assert_eq!(e, Err(MapError::Unsupported));
    assert_eq!(Errno::from(MapError::Unsupported), Errno::EINVAL);
    assert_eq!(Errno::from(MapError::Overlap { va: 0 }), Errno::EEXIST);
    assert_eq!(Errno::from(MapError::NoMemory), Errno::ENOMEM);
    assert_eq!(Errno::from(MapError::OutOfRange), Errno::EFAULT);
    assert!(env.mem.is_empty() && env.log().is_empty());
    // protect refuses unsupported attributes before touching anything.
    t.map(&mut env, 0x1000, 0x4000_0000, 0x1000, rw()).unwrap();
    let before = env.mem.clone();
    assert_eq!(
        t.protect(&mut env, 0x1000, 0x1000, bad),
        Err(MapError::Unsupported)
    );
    assert_eq!(env.mem, before);
    assert_eq!(
        t.split_at(&mut env, 0x1800),
        Err(MapError::Plan(PlanError::Misaligned))
    );
}

#[test]
fn splitting_1g_to_2m_to_4k_keeps_translation_and_uses_bbm() {
    let t = user_table();
    let mut env = Fake::for_table(&t);
    let a = MapAttrs {
        not_global: true,
        ..rw().with_mem(MemoryType::NormalWriteThrough)
    };
    t.map(&mut env, 2 * GIB, 0x1_4000_0000, GIB, a).unwrap();
    assert_eq!(env.live_tables, 0);
    env.clear_log();
    let target = 2 * GIB + 0x1234_5000;
    let ro = a.with_access(Access::KernelRo);
    t.protect(&mut env, target, 0x1000, ro).unwrap();
    assert_eq!(env.live_tables, 2);
    let log = env.log();
    assert_break_before_make(&log, ROOT + 2 * 8, 2 * GIB, t.asid);
    let l2e = entry_of(&env, &t, target, 2);
    assert_break_before_make(&log, l2e, align_down(target, MIB2), t.asid);
    assert_break_before_make(&log, entry_of(&env, &t, target, 3), target, t.asid);
    // Every 2 MiB of the GiB: blocks with the old attributes, except the
    // one holding `target`, which is pages.
    for m in (2 * GIB..3 * GIB).step_by(MIB2 as usize) {
        let pa = 0x1_4000_0000 + (m - 2 * GIB);
        let p = t.lookup(&env, m + 0x1000).unwrap();
        if m == align_down(target, MIB2) {
            assert_eq!(p.level, 3);
            for v in (m..m + MIB2).step_by(4096) {
                let p = t.lookup(&env, v).unwrap();
                let want = if v == target { ro } else { a };
                let ppa = pa + (v - m);
                assert_eq!((p.va, p.pa, p.size), (v, ppa, KIB4));
                assert_eq!(p.raw, desc::page(ppa, want).unwrap());
            }
        } else {
            assert_eq!((p.va, p.pa, p.level), (m, pa, 2));
            assert_eq!(p.raw, desc::block(2, pa, a).unwrap());
        }
    }
    // The invalidations were tagged with the table's ASID.
    assert!(log
        .iter()
        .all(|e| !matches!(e, Ev::Tlbi(_, a) if *a != Some(5))));
}

#[test]
fn split_at_boundaries_and_holes_is_a_no_op() {
    let t = user_table();
    let mut env = Fake::for_table(&t);
    t.map(&mut env, GIB, 0x4000_0000, GIB, rw()).unwrap();
    env.clear_log();
    t.split_at(&mut env, GIB).unwrap();
    t.split_at(&mut env, 2 * GIB).unwrap();
    t.split_at(&mut env, 0x1000).unwrap();
    assert!(env.log().is_empty());
    t.split_at(&mut env, GIB + MIB2).unwrap();
    let p = t.lookup(&env, GIB + MIB2).unwrap();
    assert_eq!((p.va, p.level), (GIB + MIB2, 2));
    assert_eq!(env.live_tables, 1);
}

#[test]
fn unmap_part_of_blocks_splits_them() {
    let t = user_table();
    let mut env = Fake::for_table(&t);
    t.map(&mut env, GIB, 0x1_0000_0000, GIB, rw()).unwrap();
    let mut got = Vec::new();
    // [GIB + 2 MiB - 4 KiB, GIB + 4 MiB + 4 KiB): the last page of the
    // first 2 MiB block, the second block whole, the first page of the
    // third: the 1 GiB block and two 2 MiB blocks are split.
    t.unmap(
        &mut env,
        GIB + MIB2 - KIB4,
        MIB2 + 2 * KIB4,
        &mut |_, v, p, s| got.push((v, p, s)),
    )
    .unwrap();
    assert_eq!(
        got,
        vec![
            (GIB + MIB2 - KIB4, 0x1_0000_0000 + MIB2 - KIB4, KIB4),
            (GIB + MIB2, 0x1_0000_0000 + MIB2, MIB2),
            (GIB + 2 * MIB2, 0x1_0000_0000 + 2 * MIB2, KIB4),
        ]
    );
    assert!(t.lookup(&env, GIB + MIB2 - 2 * KIB4).is_some());
    assert!(t.lookup(&env, GIB + 2 * MIB2 + KIB4).is_some());
    assert_eq!(t.lookup(&env, GIB + 4 * MIB2).unwrap().size, MIB2);
    // Unmap the rest: everything freed.
    t.unmap(&mut env, GIB, GIB, &mut |_, _, _, _| {}).unwrap();
    assert_eq!(env.live_tables, 0);
    assert!(env
        .mem
        .iter()
        .filter(|(&a, _)| (ROOT..ROOT + 4096).contains(&a))
        .all(|(_, &v)| v == 0));
}

#[test]
fn empty_table_under_a_block_is_replaced() {
    let t = user_table();
    let mut env = Fake::for_table(&t);
    // An L2 table linked at GiB 1 with an empty L3 table below it (as
    // boot code might leave).
    let l2 = env.alloc_table(2).unwrap();
    let l3 = env.alloc_table(3).unwrap();
    env.write(l2 + 5 * 8, desc::table(l3).unwrap());
    env.write(ROOT + 8, desc::table(l2).unwrap());
    env.clear_log();
    t.map(&mut env, GIB, 0x4000_0000, GIB, rw()).unwrap();
    assert_eq!(env.live_tables, 0);
    let log = env.log();
    assert_break_before_make(&log, ROOT + 8, GIB, t.asid);
    let sync = log.iter().position(|e| *e == Ev::Sync).unwrap();
    assert!(log.iter().position(|e| *e == Ev::Free(l3)).unwrap() > sync);
    assert_eq!(t.lookup(&env, GIB).unwrap().size, GIB);
}

#[test]
fn ttbr1_half_indexes_va_bits_38_to_12() {
    let t = kernel_table();
    let mut env = Fake::for_table(&t);
    // First GiB of the half: L1 index 0.
    t.map(&mut env, TTBR1_BASE, 0x4000_0000, GIB, rw()).unwrap();
    assert_eq!(env.read(ROOT), desc::block(1, 0x4000_0000, rw()).unwrap());
    // Top 2 MiB: L1 511, L2 511. Page below it: L2 510, L3 511.
    let top = u64::MAX - MIB2 + 1;
    t.map(&mut env, top, 0x8000_0000, MIB2, rw()).unwrap();
    t.map(&mut env, top - KIB4, 0x9000_0000, KIB4, rw())
        .unwrap();
    let l2 = match desc::kind(env.read(ROOT + 511 * 8), 1) {
        Kind::Table { next_pa } => next_pa,
        k => panic!("{k:?}"),
    };
    assert_eq!(
        env.read(l2 + 511 * 8),
        desc::block(2, 0x8000_0000, rw()).unwrap()
    );
    let l3 = match desc::kind(env.read(l2 + 510 * 8), 2) {
        Kind::Table { next_pa } => next_pa,
        k => panic!("{k:?}"),
    };
    assert_eq!(
        env.read(l3 + 511 * 8),
        desc::page(0x9000_0000, rw()).unwrap()
    );
    let p = t.lookup(&env, u64::MAX).unwrap();
    assert_eq!((p.va, p.pa, p.size), (top, 0x8000_0000, MIB2));
    // Protect and unmap ranges that end at the top of the space.
    let ro = rw().with_access(Access::KernelRo);
    t.protect(&mut env, top - KIB4, MIB2 + KIB4, ro).unwrap();
    assert_eq!(
        t.lookup(&env, u64::MAX).unwrap().raw,
        desc::block(2, 0x8000_0000, ro).unwrap()
    );
    assert_eq!(
        t.lookup(&env, top - KIB4).unwrap().raw,
        desc::page(0x9000_0000, ro).unwrap()
    );
    let mut got = Vec::new();
    t.unmap(
        &mut env,
        top - 0x10_0000,
        0x10_0000 + MIB2,
        &mut |_, v, p, s| got.push((v, p, s)),
    )
    .unwrap();
    assert_eq!(
        got,
        vec![(top - KIB4, 0x9000_0000, KIB4), (top, 0x8000_0000, MIB2)]
    );
    assert_eq!(env.read(ROOT + 511 * 8), 0);
    assert_eq!(env.live_tables, 0);
    // Global entries: invalidation for every ASID.
    assert!(env.log().contains(&Ev::Tlbi(top, None)));
    assert!(t.lookup(&env, TTBR1_BASE + 0x1234_5678).is_some());
    assert!(t.lookup(&env, 0x1234_5678).is_none());
}

/// `map` over empty tables where blocks go (`stale`): a 1 GiB block over
/// an L2 table holding several empty L3 tables, and a 2 MiB block over an
/// empty L3 table, in one call. Every table of the replaced subtrees is
/// freed exactly once, after the break of the entry that linked it has
/// been flushed.
#[test]
fn map_over_empty_subtrees_frees_every_table_once_after_the_flush() {
    let t = user_table();
    let mut env = Fake::for_table(&t);
    // GiB 1: an L2 table with empty L3 tables at indices 0, 5 and 511.
    let l2 = env.alloc_table(2).unwrap();
    let l3s: Vec<u64> = [0u64, 5, 511]
        .iter()
        .map(|&i| {
            let l3 = env.alloc_table(3).unwrap();
            env.write(l2 + i * 8, desc::table(l3).unwrap());
            l3
        })
        .collect();
    env.write(ROOT + 8, desc::table(l2).unwrap());
    // GiB 2: an L2 table whose first entry links an empty L3 table; a page
    // at 2 GiB + 4 MiB keeps that L2 table alive.
    let l2b = env.alloc_table(2).unwrap();
    let l3b = env.alloc_table(3).unwrap();
    env.write(l2b, desc::table(l3b).unwrap());
    env.write(ROOT + 2 * 8, desc::table(l2b).unwrap());
    t.map(&mut env, 2 * GIB + 2 * MIB2, 0x7000_0000, KIB4, rw())
        .unwrap();
    let live = env.live_tables;
    assert_eq!(live, 7);
    env.clear_log();
    // [1 GiB, 2 GiB + 2 MiB): a 1 GiB block and a 2 MiB block.
    t.map(&mut env, GIB, 0x4000_0000, GIB + MIB2, rw()).unwrap();
    assert_eq!(t.lookup(&env, GIB).unwrap().size, GIB);
    let p = t.lookup(&env, 2 * GIB).unwrap();
    assert_eq!((p.size, p.pa), (MIB2, 0x8000_0000));
    assert!(t.lookup(&env, 2 * GIB + 2 * MIB2).is_some(), "untouched");
    assert_eq!(env.live_tables, live - 5, "l2, three L3s and l3b freed");
    let log = env.log();
    let mut frees: Vec<u64> = log
        .iter()
        .filter_map(|e| match e {
            Ev::Free(t) => Some(*t),
            _ => None,
        })
        .collect();
    let mut want = l3s.clone();
    want.push(l2);
    want.push(l3b);
    frees.sort();
    want.sort();
    assert_eq!(frees, want, "each table of both subtrees, once");
    let brk1 = first(&log, &Ev::Write(ROOT + 8, 0));
    let brk2 = first(&log, &Ev::Write(l2b, 0));
    for &tbl in &want {
        let fr = first(&log, &Ev::Free(tbl));
        assert_flushed_between(&log, brk1, fr, GIB, t.asid, "1 GiB block");
        assert_flushed_between(&log, brk2, fr, 2 * GIB, t.asid, "2 MiB block");
    }
    assert_break_before_make(&log, ROOT + 8, GIB, t.asid);
    assert_break_before_make(&log, l2b, 2 * GIB, t.asid);
}

/// The last page below 2^48 (the largest output address with the 4 KiB
/// granule and 48-bit OA, ARM ARM D8.3) maps; one page higher does not.
#[test]
fn highest_output_address_maps() {
    let t = user_table();
    let mut env = Fake::for_table(&t);
    let pa = (1u64 << 48) - KIB4;
    t.map(&mut env, 0x1000, pa, KIB4, rw()).unwrap();
    assert_eq!(t.lookup(&env, 0x1000).unwrap().pa, pa);
    assert_eq!(
        t.map(&mut env, 0x2000, pa, 2 * KIB4, rw()),
        Err(MapError::Plan(PlanError::Overflow))
    );
}

/// unmap changes nothing outside `[va, va + size)`: empty tables that lie
/// outside it (as boot code might leave) stay linked, whether they sit
/// right at the range's end, further on in the same GiB, at the start of a
/// GiB the range runs past, or in the GiB starting at the range's end.
#[test]
fn unmap_leaves_tables_outside_its_range_alone() {
    let t = user_table();
    let mut env = Fake::for_table(&t);
    let linked = |env: &Fake, entry: u64, table: u64| matches!(desc::kind(env.read(entry), 2), Kind::Table { next_pa } if next_pa == table);
    // GiB 1: a page at GiB + 4 MiB (L2 index 2), empty L3 tables at L2
    // indices 0 and 5. GiB 2: an empty L2 table.
    t.map(&mut env, GIB + 2 * MIB2, 0x4000_0000, KIB4, rw())
        .unwrap();
    let l2a = t.table_of(&env, GIB, 2).unwrap();
    let e0 = env.alloc_table(3).unwrap();
    let e5 = env.alloc_table(3).unwrap();
    env.write(l2a, desc::table(e0).unwrap());
    env.write(l2a + 5 * 8, desc::table(e5).unwrap());
    let l2b = env.alloc_table(2).unwrap();
    env.write(ROOT + 2 * 8, desc::table(l2b).unwrap());
    // [GiB + 4 MiB, GiB + 10 MiB): ends at L2 index 5.
    t.unmap(&mut env, GIB + 2 * MIB2, 3 * MIB2, &mut |_, _, _, _| {})
        .unwrap();
    assert!(t.lookup(&env, GIB + 2 * MIB2).is_none());
    assert_eq!(env.read(l2a + 2 * 8), 0, "its own emptied table: unlinked");
    assert!(linked(&env, l2a, e0) && linked(&env, l2a + 5 * 8, e5));
    assert!(linked(&env, ROOT + 8, l2a) && linked(&env, ROOT + 2 * 8, l2b));
    // [GiB + 12 MiB, 2 GiB): ends where GiB 2 starts.
    env.clear_log();
    t.unmap(
        &mut env,
        GIB + 6 * MIB2,
        GIB - 6 * MIB2,
        &mut |_, _, _, _| {},
    )
    .unwrap();
    assert!(!env.log().iter().any(|e| matches!(e, Ev::Free(_))));
    assert!(linked(&env, ROOT + 2 * 8, l2b), "GiB 2 is outside");
    // [GiB + 12 MiB, 2 GiB + 2 MiB): runs into GiB 2, whose empty L2 table
    // it may free; GiB 1's index 0 lies before the range.
    t.unmap(
        &mut env,
        GIB + 6 * MIB2,
        GIB - 5 * MIB2,
        &mut |_, _, _, _| {},
    )
    .unwrap();
    assert!(linked(&env, l2a, e0), "before the range: kept");
    assert!(linked(&env, l2a + 5 * 8, e5));
    assert!(linked(&env, ROOT + 8, l2a));
}
