//! `fork`'s table copy ([`Table::fork_into`]) and the release of a dead
//! table ([`Table::clear_dead`]), on both formats. Expected descriptors
//! come from the architectures' own encoders (`arch/*/desc.rs`), expected
//! references and removals from fork(2)'s copy-on-write semantics: the
//! child maps every present page of the range at the same physical
//! address, with the copy-on-write (read-only) attributes, and so does
//! the parent afterwards; nothing outside the range is touched.

use super::aarch64 as a64;
use super::armv7a as v7;
use super::*;
use crate::mm::memtype::Access;

/// The child's root: away from the parent's (`ROOT`) and from the fake's
/// table allocations (from 0x80_0000).
const CHILD_ROOT: u64 = 0x40_0000;

fn child_of<F: Format>(t: &Table<F>) -> Table<F> {
    Table {
        root_pa: CHILD_ROOT,
        ..*t
    }
}

/// The parent's present blocks: three pages (two in one leaf table, one
/// in the next leaf table's span), one block of `block` bytes, and one
/// page outside the forked range. Returns the fake, the forked range,
/// the (va, pa, size) blocks inside it and the page outside.
#[allow(clippy::type_complexity)]
fn parent<F: Format>(
    t: &Table<F>,
    block: u64,
    attrs: MapAttrs,
) -> (Fake<F>, (u64, u64), Vec<(u64, u64, u64)>, (u64, u64)) {
    let pg = page::<F>();
    let mut env = Fake::for_table(t);
    let lo = block; // a block-aligned start
    let blocks = vec![
        (lo, 0x4000_0000, pg),
        (lo + pg, 0x4000_7000 & !(pg - 1), pg),
        (lo + block + 3 * pg, 0x4100_0000, pg),
        (lo + 2 * block, 0x4200_0000, block),
    ];
    for &(va, pa, size) in &blocks {
        t.map(&mut env, va, pa, size, attrs).unwrap();
    }
    let hi = lo + 3 * block;
    let outside = (hi + pg, 0x4300_0000);
    t.map(&mut env, outside.0, outside.1, pg, attrs).unwrap();
    (env, (lo, hi), blocks, outside)
}

fn fork_copies_present_blocks_and_write_protects_the_parent<F: Format>(
    t: Table<F>,
    block: u64,
    rw: MapAttrs,
    want: impl Fn(u64, u64, MapAttrs) -> u64,
) {
    let ro = rw.with_access(Access::UserRo);
    let (mut env, (lo, hi), blocks, outside) = parent(&t, block, rw);
    let c = child_of(&t);
    let outside_raw = t.lookup(&env, outside.0).unwrap().raw;
    let tables = env.live_tables;
    env.clear_log();
    let mut shared = Vec::new();
    t.fork_into(&mut env, &c, lo, hi, ro, true, &mut |_, pa, size| {
        shared.push((pa, size));
        true
    })
    .unwrap();
    // One reference per block, in VA order.
    let want_shared: Vec<(u64, u64)> = blocks.iter().map(|&(_, pa, s)| (pa, s)).collect();
    assert_eq!(shared, want_shared);
    for &(va, pa, size) in &blocks {
        let cp = c.lookup(&env, va).expect("mapped in the child");
        assert_eq!((cp.va, cp.pa, cp.size), (va, pa, size));
        assert_eq!(cp.raw, want(pa, size, ro), "child {va:#x}");
        let pp = t.lookup(&env, va).unwrap();
        assert_eq!((pp.pa, pp.raw), (pa, want(pa, size, ro)), "parent {va:#x}");
    }
    // Outside the range: the parent keeps its page, the child has none.
    assert_eq!(t.lookup(&env, outside.0).unwrap().raw, outside_raw);
    assert!(c.lookup(&env, outside.0).is_none());
    // The child's leaf tables: one per leaf-table span holding pages.
    assert_eq!(env.live_tables - tables, tables - 1);
    // The parent's changed entries went through break-before-make with
    // its ASID (the fake also checks every write).
    let log = env.log();
    let e = entry_of(&env, &t, lo, F::LEAF_LEVEL);
    assert_break_before_make(&log, e, lo, t.asid);
    // Nothing of the outside page was written.
    let out = entry_of(&env, &t, outside.0, F::LEAF_LEVEL);
    assert!(!log
        .iter()
        .any(|ev| matches!(ev, Ev::Write(p, _) if *p == out)));
    // The child's descriptors are published before the call returns.
    assert_eq!(log.last(), Some(&Ev::Publish));
}

fn fork_without_cow_leaves_the_parent_alone<F: Format>(t: Table<F>, block: u64, ro: MapAttrs) {
    let (mut env, (lo, hi), blocks, _) = parent(&t, block, ro);
    let c = child_of(&t);
    let before: Vec<u64> = blocks
        .iter()
        .map(|b| t.lookup(&env, b.0).unwrap().raw)
        .collect();
    env.clear_log();
    let mut n = 0;
    t.fork_into(&mut env, &c, lo, hi, ro, false, &mut |_, _, _| {
        n += 1;
        true
    })
    .unwrap();
    assert_eq!(n, blocks.len());
    let after: Vec<u64> = blocks
        .iter()
        .map(|b| t.lookup(&env, b.0).unwrap().raw)
        .collect();
    assert_eq!(before, after);
    for (b, raw) in blocks.iter().zip(&before) {
        assert_eq!(c.lookup(&env, b.0).unwrap().raw, *raw, "same rights");
    }
    assert!(
        !env.log()
            .iter()
            .any(|e| matches!(e, Ev::Tlbi(..) | Ev::TlbiAll(_))),
        "a read-only share needs no TLB maintenance"
    );
}

fn fork_failures<F: Format>(t: Table<F>, block: u64, rw: MapAttrs) {
    let ro = rw.with_access(Access::UserRo);
    // No table for the child: refused before any reference, the parent
    // unchanged.
    let (mut env, (lo, hi), blocks, _) = parent(&t, block, rw);
    let c = child_of(&t);
    let before: Vec<u64> = blocks
        .iter()
        .map(|b| t.lookup(&env, b.0).unwrap().raw)
        .collect();
    env.table_limit = env.live_tables;
    let mut n = 0;
    let r = t.fork_into(&mut env, &c, lo, hi, ro, true, &mut |_, _, _| {
        n += 1;
        true
    });
    assert_eq!(r, Err(MapError::NoMemory));
    assert_eq!(n, 0);
    let after: Vec<u64> = blocks
        .iter()
        .map(|b| t.lookup(&env, b.0).unwrap().raw)
        .collect();
    assert_eq!(before, after);
    // A reference refused for the second page: the child holds the first
    // only; the parent's first page is write-protected, the rest not.
    env.table_limit = 1000;
    let mut calls = 0;
    let r = t.fork_into(&mut env, &c, lo, hi, ro, true, &mut |_, _, _| {
        calls += 1;
        calls == 1
    });
    assert_eq!(r, Err(MapError::NoMemory));
    assert!(c.lookup(&env, lo).is_some());
    assert!(c.lookup(&env, blocks[1].0).is_none());
    assert_eq!(t.lookup(&env, lo).unwrap().raw, {
        let p = t.lookup(&env, lo).unwrap();
        t.format.encode_block(p.level, p.size, p.pa, ro).unwrap()
    });
    assert_eq!(t.lookup(&env, blocks[1].0).unwrap().raw, before[1]);
    // A range starting inside a block: refused, nothing taken.
    let (mut env, _, blocks, _) = parent(&t, block, rw);
    let b = blocks[3];
    let pg = page::<F>();
    let mut n = 0;
    let r = t.fork_into(
        &mut env,
        &c,
        b.0 + pg,
        b.0 + b.2,
        ro,
        true,
        &mut |_, _, _| {
            n += 1;
            true
        },
    );
    assert_eq!(r, Err(MapError::OutOfRange));
    assert_eq!(n, 0);
    assert!(c.lookup(&env, b.0).is_none());
}

fn clear_dead_reports_every_block_and_frees_the_tables<F: Format>(
    t: Table<F>,
    block: u64,
    rw: MapAttrs,
) {
    let (mut env, (lo, hi), blocks, _) = parent(&t, block, rw);
    let c = child_of(&t);
    let tables = env.live_tables;
    t.fork_into(&mut env, &c, lo, hi, rw, false, &mut |_, _, _| true)
        .unwrap();
    let pg = page::<F>();
    // Part of the range: the first page only; its table stays (the
    // second page is in it).
    let mut removed = Vec::new();
    c.clear_dead(&mut env, lo, lo + pg, &mut |_, pa, size| {
        removed.push((pa, size))
    })
    .unwrap();
    assert_eq!(removed, vec![(blocks[0].1, pg)]);
    assert!(c.lookup(&env, lo).is_none());
    assert!(c.lookup(&env, blocks[1].0).is_some());
    // An edge inside a block: refused when the walk reaches the block,
    // nothing of it removed.
    let b = blocks[3];
    removed.clear();
    let r = c.clear_dead(&mut env, b.0 + pg, b.0 + b.2, &mut |_, pa, size| {
        removed.push((pa, size))
    });
    assert_eq!(r, Err(MapError::OutOfRange));
    assert!(removed.is_empty());
    assert_eq!(c.lookup(&env, b.0).unwrap().pa, b.1);
    // The whole range: the rest, in VA order; every child table freed,
    // the child's root all invalid again.
    c.clear_dead(&mut env, lo, hi, &mut |_, pa, size| {
        removed.push((pa, size))
    })
    .unwrap();
    let want: Vec<(u64, u64)> = blocks[1..].iter().map(|&(_, pa, s)| (pa, s)).collect();
    assert_eq!(removed, want);
    assert_eq!(env.live_tables, tables);
    let root_bytes = F::table_bytes(F::ROOT_LEVEL);
    assert!((0..root_bytes / F::ENTRY_BYTES)
        .all(|i| !F::is_valid(env.read(CHILD_ROOT + i * F::ENTRY_BYTES))));
    // The parent is untouched.
    for &(va, pa, _) in &blocks {
        assert_eq!(t.lookup(&env, va).unwrap().pa, pa);
    }
}

fn v7_want(pa: u64, size: u64, a: MapAttrs) -> u64 {
    if size == v7::MIB {
        crate::arch::armv7a::desc::section(pa as u32, a, 0).unwrap() as u64
    } else {
        v7::small(pa, a)
    }
}

fn a64_want(pa: u64, size: u64, a: MapAttrs) -> u64 {
    if size == a64::MIB2 {
        crate::arch::aarch64::desc::block(2, pa, a).unwrap()
    } else {
        crate::arch::aarch64::desc::page(pa, a).unwrap()
    }
}

#[test]
fn fork_copies_present_blocks_and_write_protects_the_parent_both() {
    fork_copies_present_blocks_and_write_protects_the_parent(
        v7::user_table(),
        v7::MIB,
        user_rw(),
        v7_want,
    );
    fork_copies_present_blocks_and_write_protects_the_parent(
        a64::user_table(),
        a64::MIB2,
        user_rw(),
        a64_want,
    );
}

#[test]
fn fork_without_cow_leaves_the_parent_alone_both() {
    let ro = user_rw().with_access(Access::UserRo);
    fork_without_cow_leaves_the_parent_alone(v7::user_table(), v7::MIB, ro);
    fork_without_cow_leaves_the_parent_alone(a64::user_table(), a64::MIB2, ro);
}

#[test]
fn fork_failures_both() {
    fork_failures(v7::user_table(), v7::MIB, user_rw());
    fork_failures(a64::user_table(), a64::MIB2, user_rw());
}

#[test]
fn clear_dead_reports_every_block_and_frees_the_tables_both() {
    clear_dead_reports_every_block_and_frees_the_tables(v7::user_table(), v7::MIB, user_rw());
    clear_dead_reports_every_block_and_frees_the_tables(a64::user_table(), a64::MIB2, user_rw());
}
