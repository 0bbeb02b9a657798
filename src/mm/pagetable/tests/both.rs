//! The scenarios both formats share, each run on ARMv7-A
//! (`ShortDescriptor`) and AArch64 (`Vmsa64`) tables.

use super::aarch64 as a64;
use super::armv7a as v7;
use crate::arch::aarch64::desc;
use crate::mm::memtype::{Access, MapAttrs};

fn a64_page(pa: u64, a: MapAttrs) -> u64 {
    desc::page(pa, a).unwrap()
}

#[test]
fn protect_uses_break_before_make() {
    let ro = v7::rw().with_access(Access::KernelRo);
    let at = (0x20_0000, 0x4020_0000);
    super::protect_uses_break_before_make(v7::kernel_table(), at, (v7::rw(), ro), v7::small);
    let user = super::user_rw();
    let ro = user.with_access(Access::UserRo);
    super::protect_uses_break_before_make(a64::user_table(), at, (user, ro), a64_page);
}

#[test]
fn protect_to_non_cacheable_cleans_first() {
    super::protect_to_non_cacheable_cleans_first(v7::kernel_table(), 0x20_0000, 0x4020_0000);
    let va = a64::TTBR1_BASE + 0x20_0000;
    super::protect_to_non_cacheable_cleans_first(a64::kernel_table(), va, 0x4020_0000);
}

#[test]
fn unmap_middle_reports_and_frees_empty_tables() {
    super::unmap_middle_reports_and_frees_empty_tables(v7::kernel_table(), 0x40_0000);
    super::unmap_middle_reports_and_frees_empty_tables(a64::user_table(), 0x40_0000);
}

#[test]
fn removal_reported_only_after_tlb_sync() {
    super::removal_reported_only_after_tlb_sync(v7::user_table(), 0x40_0000);
    super::removal_reported_only_after_tlb_sync(a64::user_table(), 0x40_0000);
}

#[test]
fn large_unmaps_use_one_full_invalidation() {
    super::large_unmaps_use_one_full_invalidation(v7::user_table(), 0x40_0000, 0x4040_0000);
    super::large_unmaps_use_one_full_invalidation(a64::user_table(), 0x40_0000, 0x4040_0000);
}

/// The lazy-fault path: into an existing ARMv7-A L2 table and AArch64 L3
/// table.
#[test]
fn map_into_an_existing_table() {
    let a = v7::user_rw();
    super::map_into_an_existing_table(v7::user_table(), 0x10_0000, a, |pa| v7::small(pa, a));
    let a = a64::rw();
    super::map_into_an_existing_table(a64::user_table(), 0x40_0000, a, |pa| a64_page(pa, a));
}

#[test]
fn out_of_tables_changes_nothing() {
    // ARMv7-A: pages in two different MiBs, two L2 tables. AArch64: pages
    // either side of a 2 MiB boundary, an L2 and two L3 tables.
    super::out_of_tables_changes_nothing(v7::kernel_table(), 0x0FF000, 2);
    super::out_of_tables_changes_nothing(a64::user_table(), 0x1F_F000, 3);
}

#[test]
fn overlap_refused_and_nothing_changed() {
    use v7::{LARGE, MIB, SUPER};
    let existing = [
        (0x10_0000, 0x4000_0000, 0x1000),
        (0x300_0000, 0x5000_0000, MIB),
        (0x400_0000, 0x6000_0000, SUPER),
    ];
    let attempts = [
        // Range whose second page overlaps.
        (0x0FF000, 0x5000_0000, 0x2000, 0x10_0000),
        // A section over a page table holding a page.
        (0x10_0000, 0x5000_0000, MIB, 0x10_0000),
        // Pages over a section.
        (0x301_0000, 0x6000_0000, 0x1000, 0x301_0000),
        // A large page over a section; a section inside a supersection.
        (0x302_0000, 0x6000_0000, LARGE, 0x302_0000),
        (0x480_0000, 0x7000_0000, MIB, 0x480_0000),
        // A supersection over a page table holding a page.
        (0, 0x7000_0000, SUPER, 0x10_0000),
    ];
    super::overlaps_refused(v7::kernel_table(), &existing, &attempts);

    use a64::{GIB, KIB4, MIB2};
    let existing = [
        (0x20_0000, 0x4000_0000, KIB4),
        (0x4000_0000, 0x8000_0000, GIB),
        (0x8060_0000, 0x4060_0000, MIB2),
    ];
    let attempts = [
        // Range whose second page overlaps.
        (0x1F_F000, 0x5000_0000, 2 * KIB4, 0x20_0000),
        // A 2 MiB block over an L3 table holding a page.
        (0x20_0000, 0x5000_0000, MIB2, 0x20_0000),
        // A 1 GiB block over an L2 table with something in it.
        (0, 0x1_0000_0000, GIB, 0x20_0000),
        // Pages inside a 1 GiB block, and a 2 MiB block inside it.
        (0x4123_4000, 0x5000_0000, KIB4, 0x4123_4000),
        (0x4020_0000, 0x5000_0000, MIB2, 0x4020_0000),
        // Pages inside a 2 MiB block, starting before it (new tables would
        // be needed for the first page: still nothing allocated).
        (0x805F_F000, 0x5000_0000, 2 * KIB4, 0x8060_0000),
    ];
    super::overlaps_refused(a64::user_table(), &existing, &attempts);
}

#[test]
fn unmap_of_more_than_a_round_reports_each_page_once_after_its_flush() {
    // va and pa never co-aligned for anything above a page.
    super::unmap_of_more_than_a_round(v7::user_table(), 0x40_1000, 0x4040_2000, 300);
    super::unmap_of_more_than_a_round(a64::user_table(), 0x4000_1000, 0x8000_1000, 300);
}

#[test]
fn unmap_emptying_more_than_a_round_of_tables_frees_each_once_after_its_flush() {
    // ARMv7-A: 300 L2 tables. AArch64: one page in each of 600 consecutive
    // 2 MiB regions from GiB 1, 600 L3 tables and two L2 tables.
    super::unmap_emptying_more_than_a_round_of_tables(v7::kernel_table(), 0x1000_0000, 300);
    super::unmap_emptying_more_than_a_round_of_tables(a64::user_table(), a64::GIB, 600);
}

#[test]
fn protect_of_more_than_a_round_rewrites_each_page_once_with_bbm() {
    let ro = MapAttrs::kernel_data().with_access(Access::KernelRo);
    let at = (0x40_1000, 0x4040_2000, 300);
    super::protect_of_more_than_a_round(v7::user_table(), at, ro, |pa| v7::small(pa, ro));
    let at = (0x4000_1000, 0x8000_1000, 300);
    super::protect_of_more_than_a_round(a64::user_table(), at, ro, |pa| a64_page(pa, ro));
}

#[test]
fn protect_across_two_blocks_splits_both_ends() {
    // ARMv7-A sections, AArch64 2 MiB blocks.
    super::protect_across_two_blocks(v7::kernel_table(), (0x300_0000, 0x5000_0000), v7::small);
    super::protect_across_two_blocks(a64::user_table(), (a64::GIB, 0x8000_0000), a64_page);
}

/// The table shapes, written out from the ARM ARM: ARMv7-A (B3.5) a
/// 16 KiB L1 table of 4096 entries of 1 MiB and 1 KiB L2 tables of 256
/// entries of 4 KiB; VMSAv8-64 with the 4 KiB granule and 39-bit VAs
/// (D8.2) 4 KiB tables of 512 entries of 1 GiB, 2 MiB and 4 KiB. Blocks
/// live at the level whose entries are no larger than them.
#[test]
fn table_shapes_from_the_arm_arm() {
    use crate::arch::aarch64::format::Vmsa64;
    use crate::arch::armv7a::format::ShortDescriptor as V7;
    use crate::mm::pagetable::Format;
    assert_eq!(
        (V7::entries(1), V7::entry_size(1), V7::table_bytes(1)),
        (4096, 1 << 20, 16 << 10)
    );
    assert_eq!(
        (V7::entries(2), V7::entry_size(2), V7::table_bytes(2)),
        (256, 4 << 10, 1 << 10)
    );
    let sizes = [(16 << 20, 1), (1 << 20, 1), (64 << 10, 2), (4 << 10, 2)];
    for (size, level) in sizes {
        assert_eq!(V7::level_of(size), level, "{size:#x}");
    }
    for (level, size) in [(1, 1 << 30), (2, 2 << 20), (3, 4 << 10)] {
        assert_eq!(Vmsa64::entries(level), 512);
        assert_eq!(Vmsa64::entry_size(level), size);
        assert_eq!(Vmsa64::table_bytes(level), 4096);
        assert_eq!(Vmsa64::level_of(size), level);
    }
}

/// A range that is not whole pages (or is empty) is refused before
/// anything changes: the block around its start is not split first.
#[test]
fn ragged_ranges_refused_before_any_split() {
    use crate::mm::pagetable::{MapError, TableEnv};
    use crate::mm::planner::PlanError;
    let bad = Err(MapError::Plan(PlanError::Misaligned));
    let ro = MapAttrs::kernel_data().with_access(Access::KernelRo);
    let t = v7::kernel_table();
    let mut env = super::Fake::for_table(&t);
    t.map(
        &mut env,
        0x300_0000,
        0x5000_0000,
        v7::MIB,
        MapAttrs::kernel_data(),
    )
    .unwrap();
    for (va, size) in [(0x300_1000, 0x1800), (0x300_1000, 0)] {
        assert_eq!(t.protect(&mut env, va, size, ro), bad, "{size:#x}");
        assert_eq!(t.unmap(&mut env, va, size, &mut |_, _, _, _| {}), bad);
    }
    assert_eq!(
        t.lookup(&env, 0x300_1000).unwrap().size,
        v7::MIB,
        "not split"
    );
    let t = a64::user_table();
    let mut env = super::Fake::for_table(&t);
    t.map(
        &mut env,
        a64::GIB,
        0x8000_0000,
        a64::MIB2,
        MapAttrs::kernel_data(),
    )
    .unwrap();
    for (va, size) in [(a64::GIB + 0x1000, 0x1800), (a64::GIB + 0x1000, 0)] {
        assert_eq!(t.protect(&mut env, va, size, ro), bad, "{size:#x}");
        assert_eq!(t.unmap(&mut env, va, size, &mut |_, _, _, _| {}), bad);
    }
    assert_eq!(
        t.lookup(&env, a64::GIB).unwrap().size,
        a64::MIB2,
        "not split"
    );
    assert!(TableEnv::read(&env, super::ROOT + 8) != 0);
}

/// ARMv7-A L2 tables are 1 KiB and packed (the pool): emptying one is seen
/// by scanning its 256 entries only, not its neighbour's.
#[test]
fn emptied_l2_table_freed_beside_a_live_neighbour() {
    let t = v7::kernel_table();
    let mut env = super::Fake::for_table(&t);
    let a = MapAttrs::kernel_data();
    t.map(&mut env, 0x10_0000, 0x4000_0000, 0x1000, a).unwrap();
    t.map(&mut env, 0x20_0000, 0x4010_0000, 0x1000, a).unwrap();
    let first = t.table_of(&env, 0x10_0000, 2).unwrap();
    let second = t.table_of(&env, 0x20_0000, 2).unwrap();
    assert_eq!(second, first + 1024, "packed");
    t.unmap(&mut env, 0x10_0000, 0x1000, &mut |_, _, _, _| {})
        .unwrap();
    assert!(t.table_of(&env, 0x10_0000, 2).is_none(), "freed");
    assert_eq!(env.live_tables, 1);
}

/// The attributes are encoded once per map: for every block size, memory
/// type, access and execute bits, the template at PA 0 with the address
/// added is exactly the block's own encoding (or `None`, encoded in full).
#[test]
fn descriptor_templates_match_full_encodings() {
    use crate::mm::memtype::MemoryType;
    use crate::mm::pagetable::Format;
    fn check<F: Format>(f: &F, pas: &[u64]) -> usize {
        let mut compared = 0;
        for &size in f.block_sizes() {
            let level = F::level_of(size);
            for mem in MemoryType::FIXED {
                for access in Access::ALL {
                    for bits in 0..8u8 {
                        let a = MapAttrs {
                            mem,
                            access,
                            execute_never: bits & 1 != 0,
                            privileged_execute_never: bits & 2 != 0,
                            not_global: bits & 4 != 0,
                            shareable: true,
                        };
                        let Ok(t) = f.encode_block(level, size, 0, a) else {
                            continue;
                        };
                        for &pa in pas {
                            let pa = pa & !(size - 1);
                            let full = f.encode_block(level, size, pa, a);
                            if let Some(e) = f.with_output_address(t, level, size, pa) {
                                assert_eq!(Ok(e), full, "size {size:#x} pa {pa:#x} {a:?}");
                                compared += 1;
                            }
                        }
                    }
                }
            }
        }
        compared
    }
    let pas = [
        0,
        0x1000,
        0x4020_0000,
        0xfff0_0000,
        0x8765_4000,
        0x1_0000_0000,
        0xff_ff00_0000,
    ];
    assert!(check(&v7::user_table().format, &pas) > 1000);
    assert!(check(&a64::user_table().format, &pas) > 1000);
}
