//! The AArch64 table engine (`armmu::mm::pagetable` with the VMSAv8-64
//! format) against google's `aarch64-paging` on the same work (issue 12):
//! map 1 GiB of 4 KiB pages and 1 GiB of 2 MiB blocks into an empty
//! table, then unmap it; time and page-table memory of both.
//!
//! What is the same for both (checked in `verify` before anything is
//! timed, or the bench panics):
//!
//! * the table: a TTBR0_EL1 (lower VA range) table of the EL1&0 regime,
//!   4 KiB granule, root at level 1 (39-bit VAs: T0SZ = 25), ASID 5;
//! * the range: VA 0x4000_0000..0x8000_0000 (1 GiB, 1 GiB aligned);
//! * the physical addresses: the 4 KiB case maps it to PA 0x1_0000_1000
//!   (4 KiB aligned only, so neither crate can use a 2 MiB or 1 GiB
//!   block), the 2 MiB case to PA 0x1_0020_0000 (2 MiB but not 1 GiB
//!   aligned, so neither can use one 1 GiB block); both crates pick their
//!   block sizes themselves and end up with the same descriptors;
//! * the attributes: Normal write-back write-allocate (AttrIndx 5 in
//!   armmu's MAIR plan), Inner Shareable, AF, EL0+EL1 read/write, UXN,
//!   PXN, nG: armmu's `MapAttrs` for an anonymous user page, and the same
//!   bits as `El1Attributes` for aarch64-paging. Every leaf descriptor of
//!   the 1 GiB is compared bit for bit after the map;
//! * table memory: both get their tables from one pool of 4 KiB-aligned
//!   host pages, zeroed on every allocation (as armmu's AArch64 kernel
//!   zeroes a table frame), and count what they take: `TableEnv::
//!   alloc_table`/`free_table` for armmu, `Translation::allocate_table`/
//!   `deallocate_table` for aarch64-paging;
//! * no TLB: armmu's environment makes `publish`, `tlb_*` and cache
//!   maintenance no-ops (its break-before-make sequencing and TLB batch
//!   bookkeeping still run: they are in the engine); aarch64-paging
//!   compiles its DSB/TLBI out on a non-AArch64 host.
//!
//! aarch64-paging is timed twice: as an inactive table (`Mapping` never
//! activated: no break-before-make checks, no TLB walks, the mode for a
//! table built before it is loaded) and as a live one (`mark_active`:
//! its break-before-make check before a map, its per-entry TLB
//! invalidation walk on unmap, with the TLBI instructions themselves
//! compiled out). armmu has only one mode, always live.
//!
//! Unmap is aarch64-paging's `map_range` with flags lacking VALID
//! (its documented way to unmap), then `compact_subtables`, so that both
//! end with the root table alone, as armmu's `unmap` does.

use std::alloc::{alloc, Layout};
use std::cell::{Cell, RefCell};
use std::hint::black_box;
use std::ptr::NonNull;
use std::rc::Rc;
use std::time::{Duration, Instant};

use aarch64_paging::descriptor::{El1Attributes, PhysicalAddress};
use aarch64_paging::paging::{Constraints, El1And0, MemoryRegion, PageTable, Translation, VaRange};
use aarch64_paging::Mapping;
use armmu::arch::aarch64::format::Vmsa64;
use armmu::errno::Errno;
use armmu::mm::memtype::{Access, MapAttrs, MemoryType};
use armmu::mm::pagetable::{Table, TableEnv};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};

const KIB4: u64 = 4 << 10;
const MIB2: u64 = 2 << 20;
const GIB: u64 = 1 << 30;
/// The mapped range.
const VA: u64 = GIB;
const SIZE: u64 = GIB;
/// Its physical address in each case (see the module comment).
const PA_4K: u64 = 0x1_0000_1000;
const PA_2M: u64 = 0x1_0020_0000;
const ASID: u16 = 5;
/// Top of a TTBR0 table with a level-1 root: 2^39.
const USER_TOP: u64 = 1 << 39;

// ---------------------------------------------------------------------------
// Table pages: one pool for both crates.

thread_local! {
    static POOL: RefCell<Vec<NonNull<u8>>> = const { RefCell::new(Vec::new()) };
}

fn page_layout() -> Layout {
    Layout::from_size_align(4096, 4096).unwrap()
}

/// A zeroed, 4 KiB-aligned host page (reused from the pool when possible).
fn page_alloc() -> NonNull<u8> {
    let p = POOL.with(|p| p.borrow_mut().pop()).unwrap_or_else(|| {
        // SAFETY: non-zero size.
        NonNull::new(unsafe { alloc(page_layout()) }).expect("host out of memory")
    });
    // SAFETY: a 4 KiB page owned by the caller from now on.
    unsafe { p.as_ptr().write_bytes(0, 4096) };
    p
}

fn page_free(p: NonNull<u8>) {
    POOL.with(|pool| pool.borrow_mut().push(p));
}

/// Table pages a table took and gave back.
#[derive(Default)]
struct Count {
    allocs: Cell<usize>,
    frees: Cell<usize>,
    peak: Cell<usize>,
}

impl Count {
    fn alloc(&self) {
        self.allocs.set(self.allocs.get() + 1);
        self.peak.set(self.peak.get().max(self.live()));
    }
    fn free(&self) {
        self.frees.set(self.frees.get() + 1);
    }
    fn live(&self) -> usize {
        self.allocs.get() - self.frees.get()
    }
}

// ---------------------------------------------------------------------------
// armmu: the engine with an environment that is host memory and nothing else.

struct HostEnv {
    count: Rc<Count>,
    /// Maintenance the engine asked for (what it would issue on the
    /// target): DSBs (`publish`), TLBI by VA, TLBI by ASID, DSB+ISB.
    maint: [usize; 4],
}

impl TableEnv<Vmsa64> for HostEnv {
    fn read(&self, pa: u64) -> u64 {
        // SAFETY: every table PA is a pool page's host address.
        unsafe { core::ptr::read_volatile(pa as *const u64) }
    }
    fn write(&mut self, pa: u64, val: u64) {
        // SAFETY: as in `read`.
        unsafe { core::ptr::write_volatile(pa as *mut u64, val) }
    }
    fn alloc_table(&mut self, _level: u8) -> Result<u64, Errno> {
        self.count.alloc();
        Ok(page_alloc().as_ptr() as u64)
    }
    fn free_table(&mut self, pa: u64, _level: u8) {
        self.count.free();
        page_free(NonNull::new(pa as *mut u8).unwrap());
    }
    fn publish(&mut self) {
        self.maint[0] += 1;
    }
    fn tlb_invalidate(&mut self, _va: u64, _asid: Option<u16>) {
        self.maint[1] += 1;
    }
    fn tlb_invalidate_all(&mut self, _asid: Option<u16>) {
        self.maint[2] += 1;
    }
    fn tlb_sync(&mut self) {
        self.maint[3] += 1;
    }
    fn clean_invalidate_dcache(&mut self, _va: u64, _pa: u64, _size: u64) {}
}

/// An armmu user table (as `arch::aarch64::user::new_user_mmu` makes one)
/// and its environment.
struct Ours {
    table: Table<Vmsa64>,
    env: HostEnv,
}

/// What an anonymous read/write user page gets (`mm::space`).
fn ours_attrs() -> MapAttrs {
    MapAttrs {
        mem: MemoryType::NormalWriteBackWriteAlloc,
        access: Access::UserRw,
        execute_never: true,
        privileged_execute_never: true,
        not_global: true,
        shareable: true,
    }
}

impl Ours {
    fn new() -> Self {
        let count = Rc::new(Count::default());
        let mut env = HostEnv {
            count,
            maint: [0; 4],
        };
        let root = env.alloc_table(1).unwrap();
        Ours {
            table: Table {
                root_pa: root,
                va_lo: 0,
                va_hi: USER_TOP - 1,
                asid: Some(ASID),
                format: Vmsa64,
            },
            env,
        }
    }
    fn map(&mut self, pa: u64) {
        self.table
            .map(&mut self.env, VA, pa, SIZE, ours_attrs())
            .unwrap();
    }
    fn unmap(&mut self) {
        self.table
            .unmap(&mut self.env, VA, SIZE, &mut |_, _, _, _| {})
            .unwrap();
    }
    /// The same GiB one 4 KiB page per call, as page faults map.
    fn map_per_page(&mut self, pa: u64) {
        for i in 0..SIZE / KIB4 {
            self.table
                .map(
                    &mut self.env,
                    VA + i * KIB4,
                    pa + i * KIB4,
                    KIB4,
                    ours_attrs(),
                )
                .unwrap();
        }
    }
    fn table_pages(&self) -> usize {
        self.env.count.live()
    }
}

impl Drop for Ours {
    fn drop(&mut self) {
        // Frees every table below the root; then the root.
        let _ = self
            .table
            .unmap(&mut self.env, 0, USER_TOP, &mut |_, _, _, _| {});
        self.env.free_table(self.table.root_pa, 1);
    }
}

// ---------------------------------------------------------------------------
// aarch64-paging: a Translation over the same pool.

struct Counted {
    count: Rc<Count>,
}

impl Translation<El1Attributes> for Counted {
    fn allocate_table(&mut self) -> (NonNull<PageTable<El1Attributes>>, PhysicalAddress) {
        self.count.alloc();
        let p = page_alloc();
        (p.cast(), PhysicalAddress(p.as_ptr() as usize))
    }
    unsafe fn deallocate_table(&mut self, page_table: NonNull<PageTable<El1Attributes>>) {
        self.count.free();
        page_free(page_table.cast());
    }
    fn physical_to_virtual(&self, pa: PhysicalAddress) -> NonNull<PageTable<El1Attributes>> {
        NonNull::new(pa.0 as *mut PageTable<El1Attributes>).unwrap()
    }
}

/// The same bits as [`ours_attrs`] (armmu's `arch::aarch64::desc`):
/// AttrIndx 5, SH = 0b11, AP = 0b01, AF, nG, PXN, UXN.
fn their_attrs() -> El1Attributes {
    El1Attributes::VALID
        | El1Attributes::ATTRIBUTE_INDEX_5
        | El1Attributes::INNER_SHAREABLE
        | El1Attributes::USER
        | El1Attributes::ACCESSED
        | El1Attributes::NON_GLOBAL
        | El1Attributes::PXN
        | El1Attributes::UXN
}

struct Theirs {
    map: Mapping<Counted, El1And0>,
    count: Rc<Count>,
    live: bool,
}

impl Theirs {
    fn new(live: bool) -> Self {
        let count = Rc::new(Count::default());
        let map = Mapping::with_asid_and_va_range(
            Counted {
                count: count.clone(),
            },
            ASID as usize,
            1,
            El1And0,
            VaRange::Lower,
        );
        if live {
            map.mark_active();
        }
        Theirs { map, count, live }
    }
    fn range() -> MemoryRegion {
        MemoryRegion::new(VA as usize, (VA + SIZE) as usize)
    }
    fn map(&mut self, pa: u64) {
        self.map
            .map_range(
                &Self::range(),
                PhysicalAddress(pa as usize),
                their_attrs(),
                Constraints::empty(),
            )
            .unwrap();
    }
    fn unmap(&mut self) {
        self.map
            .map_range(
                &Self::range(),
                PhysicalAddress(0),
                El1Attributes::empty(),
                Constraints::empty(),
            )
            .unwrap();
        self.map.compact_subtables();
    }
    fn map_per_page(&mut self, pa: u64) {
        for i in 0..(SIZE / KIB4) as usize {
            let va = VA as usize + i * KIB4 as usize;
            self.map
                .map_range(
                    &MemoryRegion::new(va, va + KIB4 as usize),
                    PhysicalAddress(pa as usize + i * KIB4 as usize),
                    their_attrs(),
                    Constraints::empty(),
                )
                .unwrap();
        }
    }
    fn table_pages(&self) -> usize {
        self.count.live()
    }
}

impl Drop for Theirs {
    fn drop(&mut self) {
        // A Mapping panics if dropped while marked active.
        if self.live {
            self.map.mark_inactive();
        }
    }
}

// ---------------------------------------------------------------------------
// Checks before timing: the same descriptors, the architecture's table count.

/// Every leaf descriptor of aarch64-paging's table in the range, with its VA.
fn their_leaves(t: &Theirs) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    t.map
        .walk_range(&Theirs::range(), &mut |mr, d, _level| {
            if d.is_valid() {
                let raw = d.output_address().0 as u64 | d.flags().bits() as u64;
                out.push((mr.start().0 as u64, raw));
            }
            Ok(())
        })
        .unwrap();
    out
}

/// Table pages the architecture needs for `SIZE` bytes at `VA` mapped
/// with blocks of `block` (VMSAv8-64, 4 KiB granule, level-1 root): the
/// root, one level-2 table per 1 GiB touched, and below 2 MiB blocks one
/// level-3 table per 2 MiB.
fn architecture_tables(block: u64) -> usize {
    let root = 1;
    let l2 = (SIZE / GIB) as usize;
    let l3 = if block < MIB2 {
        (SIZE / MIB2) as usize
    } else {
        0
    };
    root + l2 + l3
}

/// One row of the memory table: (pages after map, after unmap, peak).
type MemRow = (usize, usize, usize);

fn verify(pa: u64, block: u64) -> (MemRow, MemRow, MemRow) {
    let mut ours = Ours::new();
    ours.map(pa);
    let mut rows = Vec::new();
    for live in [false, true] {
        let mut theirs = Theirs::new(live);
        theirs.map(pa);
        let leaves = their_leaves(&theirs);
        assert_eq!(
            leaves.len() as u64,
            SIZE / block,
            "aarch64-paging's block size"
        );
        for &(va, raw) in &leaves {
            let p = ours.table.lookup(&ours.env, va).expect("armmu maps it");
            assert_eq!(p.size, block, "armmu's block size at {va:#x}");
            assert_eq!(
                p.raw, raw,
                "descriptor at {va:#x}: armmu {:#x}, aarch64-paging {raw:#x}",
                p.raw
            );
        }
        assert_eq!(theirs.table_pages(), architecture_tables(block));
        let mapped = theirs.table_pages();
        theirs.unmap();
        assert!(their_leaves(&theirs).is_empty());
        rows.push((mapped, theirs.table_pages(), theirs.count.peak.get()));
    }
    if block == KIB4 {
        // Page by page, both crates build the same table.
        let mut o = Ours::new();
        o.map_per_page(pa);
        let mut t = Theirs::new(true);
        t.map_per_page(pa);
        let leaves = their_leaves(&t);
        assert_eq!(leaves.len() as u64, SIZE / KIB4);
        for &(va, raw) in &leaves {
            assert_eq!(o.table.lookup(&o.env, va).map(|p| p.raw), Some(raw));
        }
        assert_eq!(o.table_pages(), architecture_tables(KIB4));
        assert_eq!(t.table_pages(), architecture_tables(KIB4));
    }
    assert_eq!(ours.table_pages(), architecture_tables(block));
    let mapped = ours.table_pages();
    let m = ours.env.maint;
    ours.env.maint = [0; 4];
    ours.unmap();
    let u = ours.env.maint;
    println!(
        "  armmu maintenance requests (DSB / TLBI VA / TLBI ASID / DSB+ISB): map {m:?}, unmap {u:?}"
    );
    assert!(ours.table.next_present(&ours.env, 0, USER_TOP).is_none());
    let our_row = (mapped, ours.table_pages(), ours.env.count.peak.get());
    (our_row, rows[0], rows[1])
}

fn report_memory() {
    println!("page-table memory (4 KiB table pages; live after map / after unmap / peak):");
    for (name, pa, block) in [
        ("1 GiB of 4 KiB pages", PA_4K, KIB4),
        ("1 GiB of 2 MiB blocks", PA_2M, MIB2),
    ] {
        println!(
            "  {name}: architecture {} pages = {} KiB",
            architecture_tables(block),
            architecture_tables(block) * 4
        );
        let (o, ti, tl) = verify(pa, block);
        for (who, r) in [
            ("armmu", o),
            ("aarch64-paging inactive", ti),
            ("aarch64-paging live", tl),
        ] {
            println!(
                "    {who:24} {:4} pages ({:5} KiB) after map, {} after unmap, peak {}",
                r.0,
                r.0 * 4,
                r.1,
                r.2
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Minimum and median of a fixed number of runs, printed before criterion's
// estimates: on a machine shared with other jobs the minimum is the
// figure least disturbed by them.

const QUICK_RUNS: usize = 30;

/// (min, median) in microseconds of `work` on a fresh `setup()`; the
/// result is dropped outside the timed part.
fn min_median<S, R>(mut setup: impl FnMut() -> S, mut work: impl FnMut(&mut S) -> R) -> (f64, f64) {
    let mut t: Vec<f64> = (0..QUICK_RUNS)
        .map(|_| {
            let mut s = setup();
            let start = Instant::now();
            let r = work(&mut s);
            let us = start.elapsed().as_secs_f64() * 1e6;
            drop(black_box(r));
            drop(s);
            us
        })
        .collect();
    t.sort_by(f64::total_cmp);
    (t[0], t[QUICK_RUNS / 2])
}

fn report_quick() {
    println!("time (us), min / median of {QUICK_RUNS} runs:");
    let m = min_median(Ours::new, |t| t.map_per_page(black_box(PA_4K)));
    println!(
        "  1gib_4k_per_page armmu                    map {:10.1} / {:10.1}",
        m.0, m.1
    );
    for (name, live) in [
        ("aarch64-paging inactive", false),
        ("aarch64-paging live", true),
    ] {
        let m = min_median(|| Theirs::new(live), |t| t.map_per_page(black_box(PA_4K)));
        println!(
            "  1gib_4k_per_page {name:24} map {:10.1} / {:10.1}",
            m.0, m.1
        );
    }
    for (group, pa) in [("1gib_4k", PA_4K), ("1gib_2m", PA_2M)] {
        let m = min_median(Ours::new, |t| t.map(black_box(pa)));
        let u = min_median(
            || {
                let mut t = Ours::new();
                t.map(pa);
                t
            },
            |t| t.unmap(),
        );
        println!(
            "  {group} armmu                    map {:10.1} / {:10.1}   unmap {:10.1} / {:10.1}",
            m.0, m.1, u.0, u.1
        );
        for (name, live) in [
            ("aarch64-paging inactive", false),
            ("aarch64-paging live", true),
        ] {
            let m = min_median(|| Theirs::new(live), |t| t.map(black_box(pa)));
            let u = min_median(
                || {
                    let mut t = Theirs::new(live);
                    t.map(pa);
                    t
                },
                |t| t.unmap(),
            );
            println!(
                "  {group} {name:24} map {:10.1} / {:10.1}   unmap {:10.1} / {:10.1}",
                m.0, m.1, u.0, u.1
            );
        }
    }
}

// ---------------------------------------------------------------------------
// The benchmarks.

fn bench_map(c: &mut Criterion, group: &str, pa: u64) {
    let mut g = c.benchmark_group(group);
    g.bench_function("armmu", |b| {
        b.iter_batched(
            Ours::new,
            |mut t| {
                t.map(black_box(pa));
                t
            },
            BatchSize::PerIteration,
        )
    });
    for (name, live) in [
        ("aarch64-paging inactive", false),
        ("aarch64-paging live", true),
    ] {
        g.bench_function(name, |b| {
            b.iter_batched(
                || Theirs::new(live),
                |mut t| {
                    t.map(black_box(pa));
                    t
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

fn bench_map_per_page(c: &mut Criterion) {
    let mut g = c.benchmark_group("map_1gib_4k_one_page_per_call");
    g.bench_function("armmu", |b| {
        b.iter_batched(
            Ours::new,
            |mut t| {
                t.map_per_page(black_box(PA_4K));
                t
            },
            BatchSize::PerIteration,
        )
    });
    for (name, live) in [
        ("aarch64-paging inactive", false),
        ("aarch64-paging live", true),
    ] {
        g.bench_function(name, |b| {
            b.iter_batched(
                || Theirs::new(live),
                |mut t| {
                    t.map_per_page(black_box(PA_4K));
                    t
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

fn bench_unmap(c: &mut Criterion, group: &str, pa: u64) {
    let mut g = c.benchmark_group(group);
    g.bench_function("armmu", |b| {
        b.iter_batched(
            || {
                let mut t = Ours::new();
                t.map(pa);
                t
            },
            |mut t| {
                t.unmap();
                t
            },
            BatchSize::PerIteration,
        )
    });
    for (name, live) in [
        ("aarch64-paging inactive", false),
        ("aarch64-paging live", true),
    ] {
        g.bench_function(name, |b| {
            b.iter_batched(
                || {
                    let mut t = Theirs::new(live);
                    t.map(pa);
                    t
                },
                |mut t| {
                    t.unmap();
                    t
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

fn benches(c: &mut Criterion) {
    report_memory();
    report_quick();
    bench_map(c, "map_1gib_4k", PA_4K);
    bench_map(c, "map_1gib_2m", PA_2M);
    bench_unmap(c, "unmap_1gib_4k", PA_4K);
    bench_unmap(c, "unmap_1gib_2m", PA_2M);
    bench_map_per_page(c);
}

criterion_group! {
    name = table_builder;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(table_builder);
