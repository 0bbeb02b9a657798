//! The engine on both formats, against one recording fake.
//!
//! The fake checks break-before-make on every descriptor write, in every
//! test, whatever the operation: a valid entry is never overwritten by
//! another valid one; an entry broken (valid -> invalid) is not made valid
//! again, and a table whose link was broken is not freed, before a DSB, a
//! TLB invalidation covering the entry's VA (or the whole ASID) with the
//! table's ASID, and a DSB + ISB; a table is never freed while still
//! linked. The tests add exact expectations on top.

use super::*;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::rc::Rc;
use std::vec;
use std::vec::Vec;

mod aarch64;
mod armv7a;
mod both;
mod fork;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Ev {
    Write(u64, u64),
    Publish,
    Tlbi(u64, Option<u16>),
    TlbiAll(Option<u16>),
    Sync,
    /// (va, pa, size)
    Clean(u64, u64, u64),
    Free(u64),
}

/// Where a broken entry is in its break-before-make sequence.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Step {
    Broken,
    Published,
    Invalidated,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    /// VA span of the entry, modulo the root table's span.
    va: u64,
    size: u64,
    step: Step,
    /// The table the entry linked, if it was a table descriptor.
    link: Option<u64>,
}

pub(crate) struct Fake<F> {
    pub mem: BTreeMap<u64, u64>,
    next_table: u64,
    free: Vec<u64>,
    pub table_limit: usize,
    pub live_tables: usize,
    pub log: Rc<RefCell<Vec<Ev>>>,
    root: u64,
    /// The ASID every TLB invalidation must carry; learned from the first
    /// one unless set.
    asid: Option<Option<u16>>,
    pending: BTreeMap<u64, Pending>,
    /// The level each live table was allocated for.
    levels: BTreeMap<u64, u8>,
    _f: PhantomData<F>,
}

pub(super) const ROOT: u64 = 0x4000;

/// What `mm::space::user_attrs` gives an RW anonymous page.
pub(crate) fn user_rw() -> MapAttrs {
    MapAttrs {
        mem: crate::mm::memtype::MemoryType::NormalWriteBackWriteAlloc,
        access: crate::mm::memtype::Access::UserRw,
        execute_never: true,
        privileged_execute_never: true,
        not_global: true,
        shareable: true,
    }
}

impl<F: Format> Fake<F> {
    pub fn new() -> Self {
        Fake {
            mem: BTreeMap::new(),
            next_table: 0x80_0000,
            free: Vec::new(),
            table_limit: 1000,
            live_tables: 0,
            log: Rc::new(RefCell::new(Vec::new())),
            root: ROOT,
            asid: None,
            pending: BTreeMap::new(),
            levels: BTreeMap::new(),
            _f: PhantomData,
        }
    }

    /// A fake for `t`: its root, and its ASID on every invalidation.
    pub fn for_table(t: &Table<F>) -> Self {
        let mut f = Self::new();
        f.root = t.root_pa;
        f.asid = Some(t.asid);
        f
    }

    pub fn log(&self) -> Vec<Ev> {
        self.log.borrow().clone()
    }

    pub fn clear_log(&self) {
        self.log.borrow_mut().clear();
    }

    fn push(&self, e: Ev) {
        self.log.borrow_mut().push(e);
    }

    fn root_span() -> u128 {
        F::entry_size(F::ROOT_LEVEL) as u128 * F::entries(F::ROOT_LEVEL) as u128
    }

    /// The VA span (modulo the root's span) of the entry at `target`, if a
    /// walk from the root reaches it.
    fn span_of(&self, target: u64) -> Option<(u64, u64)> {
        self.find(self.root, F::ROOT_LEVEL, 0, target)
    }

    fn find(&self, t: u64, level: u8, base: u64, target: u64) -> Option<(u64, u64)> {
        let esz = F::entry_size(level);
        if (t..t + F::table_bytes(level)).contains(&target) {
            let i = (target - t) / F::ENTRY_BYTES;
            return Some((base + i * esz, esz));
        }
        if level == F::LEAF_LEVEL {
            return None;
        }
        (0..F::entries(level)).find_map(|i| {
            let raw = *self.mem.get(&(t + i * F::ENTRY_BYTES)).unwrap_or(&0);
            match F::decode(raw, level) {
                Entry::Table { next_pa } => self.find(next_pa, level + 1, base + i * esz, target),
                _ => None,
            }
        })
    }

    fn check_asid(&mut self, asid: Option<u16>) {
        match self.asid {
            Some(want) => assert_eq!(asid, want, "TLB maintenance with the wrong ASID"),
            None => self.asid = Some(asid),
        }
    }
}

impl<F: Format> TableEnv<F> for Fake<F> {
    fn read(&self, pa: u64) -> u64 {
        assert_eq!(pa % F::ENTRY_BYTES, 0);
        *self.mem.get(&pa).unwrap_or(&0)
    }
    fn write(&mut self, pa: u64, val: u64) {
        assert_eq!(pa % F::ENTRY_BYTES, 0);
        let old = *self.mem.get(&pa).unwrap_or(&0);
        match (F::is_valid(old), F::is_valid(val)) {
            (true, true) => {
                panic!("entry {pa:#x} changed {old:#x} -> {val:#x} without a break")
            }
            (true, false) => {
                if let Some((va, size)) = self.span_of(pa) {
                    // The level only matters for telling tables apart.
                    let link = (F::ROOT_LEVEL..F::LEAF_LEVEL).find_map(|l| {
                        match (F::decode(old, l), F::entry_size(l) == size) {
                            (Entry::Table { next_pa }, true) => Some(next_pa),
                            _ => None,
                        }
                    });
                    self.pending.insert(
                        pa,
                        Pending {
                            va,
                            size,
                            step: Step::Broken,
                            link,
                        },
                    );
                }
            }
            (false, true) => {
                if let Some(p) = self.pending.get(&pa) {
                    panic!("entry {pa:#x} remade as {val:#x} before its break was flushed: {p:?}");
                }
            }
            (false, false) => {}
        }
        self.mem.insert(pa, val);
        self.push(Ev::Write(pa, val));
    }
    fn alloc_table(&mut self, level: u8) -> Result<u64, Errno> {
        if self.live_tables >= self.table_limit {
            return Err(Errno::ENOMEM);
        }
        let bytes = F::table_bytes(level);
        self.live_tables += 1;
        // Packed at their own size, as the ARMv7-A pool packs 1 KiB L2
        // tables: a scan past a table's end meets its neighbour.
        let t = self.free.pop().unwrap_or_else(|| {
            let t = self.next_table;
            self.next_table += bytes;
            t
        });
        self.levels.insert(t, level);
        for i in 0..bytes / F::ENTRY_BYTES {
            self.mem.insert(t + i * F::ENTRY_BYTES, 0);
        }
        Ok(t)
    }
    fn free_table(&mut self, pa: u64, level: u8) {
        assert!(!self.free.contains(&pa), "double free of {pa:#x}");
        assert!(
            self.span_of(pa).is_none() || pa == self.root,
            "table {pa:#x} freed while reachable"
        );
        if let Some(p) = self.pending.values().find(|p| p.link == Some(pa)) {
            panic!("table {pa:#x} (level {level}) freed before its unlink was flushed: {p:?}");
        }
        assert_eq!(
            self.levels.remove(&pa),
            Some(level),
            "table {pa:#x} freed as level {level}"
        );
        self.live_tables -= 1;
        self.free.push(pa);
        self.push(Ev::Free(pa));
    }
    fn publish(&mut self) {
        for p in self.pending.values_mut() {
            if p.step == Step::Broken {
                p.step = Step::Published;
            }
        }
        self.push(Ev::Publish);
    }
    fn tlb_invalidate(&mut self, va: u64, asid: Option<u16>) {
        self.check_asid(asid);
        let v = (va as u128 % Self::root_span()) as u64;
        for p in self.pending.values_mut() {
            if p.step == Step::Published && (p.va..=p.va + (p.size - 1)).contains(&v) {
                p.step = Step::Invalidated;
            }
        }
        self.push(Ev::Tlbi(va, asid));
    }
    fn tlb_invalidate_all(&mut self, asid: Option<u16>) {
        self.check_asid(asid);
        for p in self.pending.values_mut() {
            if p.step == Step::Published {
                p.step = Step::Invalidated;
            }
        }
        self.push(Ev::TlbiAll(asid));
    }
    fn tlb_sync(&mut self) {
        self.pending.retain(|_, p| p.step != Step::Invalidated);
        self.push(Ev::Sync);
    }
    fn clean_invalidate_dcache(&mut self, va: u64, pa: u64, size: u64) {
        self.push(Ev::Clean(va, pa, size));
    }
}

impl<F> Drop for Fake<F> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            assert!(
                self.pending.is_empty(),
                "entries broken and never flushed: {:?}",
                self.pending
            );
        }
    }
}

/// The address of the descriptor for `va` at `level`.
pub(super) fn entry_of<F: Format>(env: &Fake<F>, t: &Table<F>, va: u64, level: u8) -> u64 {
    entry_pa::<F>(t.table_of(env, va, level).unwrap(), va, level)
}

/// Every valid->valid change of the descriptor at `entry` must be preceded
/// by: write 0 to it, DSB, TLBI covering `va` (or the whole ASID) with
/// `asid`, DSB+ISB. And it must have happened at least once.
pub(super) fn assert_break_before_make(log: &[Ev], entry: u64, va: u64, asid: Option<u16>) {
    let writes: Vec<usize> = log
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e, Ev::Write(p, _) if *p == entry))
        .map(|(i, _)| i)
        .collect();
    let mut broke = false;
    for w in writes.windows(2) {
        let (a, b) = (w[0], w[1]);
        let (Ev::Write(_, old), Ev::Write(_, new)) = (log[a], log[b]) else {
            unreachable!()
        };
        if old != 0 && new != 0 {
            panic!("entry {entry:#x} changed {old:#x} -> {new:#x} without a break");
        }
        if old == 0 && new != 0 {
            let between = &log[a + 1..b];
            let p = between.iter().position(|e| *e == Ev::Publish);
            let t = between
                .iter()
                .position(|e| *e == Ev::Tlbi(va, asid) || *e == Ev::TlbiAll(asid));
            let s = between.iter().rposition(|e| *e == Ev::Sync);
            assert!(
                p.is_some() && t.is_some() && s.is_some(),
                "missing BBM step for {entry:#x}: {between:?}"
            );
            assert!(
                p < t && t < s,
                "BBM steps out of order for {entry:#x}: {between:?}"
            );
            broke = true;
        }
    }
    assert!(broke, "entry {entry:#x} was never broken and remade");
}

#[test]
fn fake_catches_a_missing_break() {
    use crate::arch::aarch64::format::Vmsa64;
    let r = std::panic::catch_unwind(|| {
        let mut env = Fake::<Vmsa64>::new();
        env.write(ROOT, 0x4000_0001);
        env.write(ROOT, 0x8000_0001);
    });
    assert!(r.is_err(), "valid -> valid");
    let r = std::panic::catch_unwind(|| {
        let mut env = Fake::<Vmsa64>::new();
        env.write(ROOT, 0x4000_0001);
        env.write(ROOT, 0);
        env.publish();
        env.tlb_sync();
        env.write(ROOT, 0x8000_0001);
    });
    assert!(r.is_err(), "no TLBI");
    let r = std::panic::catch_unwind(|| {
        let mut env = Fake::<Vmsa64>::new();
        env.write(ROOT + 8, 0x4000_0001);
        env.write(ROOT + 8, 0);
        env.publish();
        env.tlb_invalidate(0, None);
        env.tlb_sync();
        env.write(ROOT + 8, 0x8000_0001);
    });
    assert!(r.is_err(), "TLBI of another VA");
    let mut env = Fake::<Vmsa64>::new();
    env.write(ROOT + 8, 0x4000_0001);
    env.write(ROOT + 8, 0);
    env.publish();
    env.tlb_invalidate(1 << 30, None);
    env.tlb_sync();
    env.write(ROOT + 8, 0x8000_0001);
}

/// Position of the first event at or after `from` matching `f`.
pub(super) fn pos_from(log: &[Ev], from: usize, f: impl Fn(&Ev) -> bool) -> Option<usize> {
    log[from..].iter().position(f).map(|i| i + from)
}

pub(super) fn first(log: &[Ev], e: &Ev) -> usize {
    log.iter()
        .position(|x| x == e)
        .unwrap_or_else(|| panic!("{e:?} not in the log"))
}

/// Between the break at `brk` and the event at `after`: DSB, a TLBI with
/// `asid` somewhere in `[va, va + span)` (by VA, or the whole ASID), then
/// DSB + ISB, in this order (ARM ARM B3.10.1, D8.14.1).
pub(super) fn assert_flushed_within(
    log: &[Ev],
    (brk, after): (usize, usize),
    (va, span): (u64, u64),
    asid: Option<u16>,
    what: &str,
) {
    let p = pos_from(log, brk, |e| *e == Ev::Publish)
        .filter(|&i| i < after)
        .unwrap_or_else(|| panic!("{what}: no DSB after the break"));
    let t = pos_from(log, p, |e| match *e {
        Ev::Tlbi(v, a) => a == asid && (va..=va + (span - 1)).contains(&v),
        Ev::TlbiAll(a) => a == asid,
        _ => false,
    })
    .filter(|&i| i < after)
    .unwrap_or_else(|| panic!("{what}: no TLBI for {va:#x} after the DSB"));
    pos_from(log, t, |e| *e == Ev::Sync)
        .filter(|&i| i < after)
        .unwrap_or_else(|| panic!("{what}: no DSB+ISB after the TLBI"));
}

pub(super) fn assert_flushed_between(
    log: &[Ev],
    brk: usize,
    after: usize,
    va: u64,
    asid: Option<u16>,
    what: &str,
) {
    assert_flushed_within(log, (brk, after), (va, 1), asid, what)
}

fn page<F: Format>() -> u64 {
    F::entry_size(F::LEAF_LEVEL)
}

/// A fake with `n` pages mapped at `va` -> `pa`, and their descriptors.
fn pages_mapped<F: Format>(t: &Table<F>, va: u64, pa: u64, n: u64) -> (Fake<F>, Vec<u64>) {
    let pg = page::<F>();
    let mut env = Fake::for_table(t);
    t.map(&mut env, va, pa, n * pg, MapAttrs::kernel_data())
        .unwrap();
    let entries = (0..n)
        .map(|i| entry_of(&env, t, va + i * pg, F::LEAF_LEVEL))
        .collect();
    (env, entries)
}

/// README "When memory runs out": unmap works in rounds of `ROUND` (128)
/// blocks: break, TLB flush, then report. `n` pages mapped at `va` -> `pa`
/// (never co-aligned for anything larger) and unmapped in one call: each
/// reported once, after its own break and flush, before the next round's
/// first break; every table emptied is unlinked and freed.
pub(super) fn unmap_of_more_than_a_round<F: Format>(t: Table<F>, va: u64, pa: u64, n: u64) {
    let pg = page::<F>();
    let (mut env, entries) = pages_mapped(&t, va, pa, n);
    env.clear_log();
    let mut got = Vec::new();
    t.unmap(&mut env, va, n * pg, &mut |e, v, p, s| {
        got.push((v, p, s, e.log.borrow().len()))
    })
    .unwrap();
    let want: Vec<(u64, u64, u64)> = (0..n).map(|i| (va + i * pg, pa + i * pg, pg)).collect();
    assert_eq!(
        got.iter().map(|g| (g.0, g.1, g.2)).collect::<Vec<_>>(),
        want,
        "every page reported once, in order"
    );
    let log = env.log();
    for (i, &(v, _, _, at)) in got.iter().enumerate() {
        let brk = first(&log, &Ev::Write(entries[i], 0));
        assert!(brk < at, "page {i} reported before its break");
        assert_flushed_between(&log, brk, at, v, t.asid, &format!("page {i}"));
        if let Some(&e) = entries.get((i / ROUND + 1) * ROUND) {
            assert!(
                at <= first(&log, &Ev::Write(e, 0)),
                "page {i}: reported after the next round began"
            );
        }
    }
    // The first report comes after exactly one round of breaks.
    let breaks_before_first = log[..got[0].3]
        .iter()
        .filter(|e| matches!(e, Ev::Write(p, 0) if entries.contains(p)))
        .count();
    assert_eq!(breaks_before_first, ROUND);
    assert_eq!(env.live_tables, 0, "every emptied table freed");
    assert!(env.mem.values().all(|&v| v == 0));
}

/// One page in each of `n` consecutive regions of a last-level table, from
/// `va`: one unmap empties more than a round of tables. Every table (of
/// every level) is unlinked with break-before-make and freed exactly once,
/// after the flush that follows its unlink.
pub(super) fn unmap_emptying_more_than_a_round_of_tables<F: Format>(t: Table<F>, va: u64, n: u64) {
    let pg = page::<F>();
    let stride = F::entry_size(F::LEAF_LEVEL - 1);
    let mut env = Fake::for_table(&t);
    for i in 0..n {
        let a = MapAttrs::kernel_data();
        t.map(&mut env, va + i * stride, 0x4000_0000 + i * pg, pg, a)
            .unwrap();
    }
    // (table, its parent entry, the VA the parent entry covers)
    let mut tables: Vec<(u64, u64, u64)> = Vec::new();
    for i in 0..n {
        let v = va + i * stride;
        for level in F::ROOT_LEVEL + 1..=F::LEAF_LEVEL {
            let tbl = t.table_of(&env, v, level).unwrap();
            if !tables.iter().any(|x| x.0 == tbl) {
                let parent = entry_of(&env, &t, v, level - 1);
                tables.push((tbl, parent, align_down(v, F::entry_size(level - 1))));
            }
        }
    }
    assert_eq!(env.live_tables, tables.len());
    assert!(tables.len() as u64 > ROUND as u64);
    env.clear_log();
    let mut got = Vec::new();
    t.unmap(&mut env, va, n * stride, &mut |_, v, p, s| {
        got.push((v, p, s))
    })
    .unwrap();
    let want: Vec<(u64, u64, u64)> = (0..n)
        .map(|i| (va + i * stride, 0x4000_0000 + i * pg, pg))
        .collect();
    assert_eq!(got, want);
    assert_eq!(env.live_tables, 0);
    let log = env.log();
    let frees = log.iter().filter(|e| matches!(e, Ev::Free(_))).count();
    assert_eq!(frees, tables.len(), "each table freed once");
    for &(tbl, parent, v) in &tables {
        assert_eq!(env.read(parent), 0);
        let brk = first(&log, &Ev::Write(parent, 0));
        let fr = first(&log, &Ev::Free(tbl));
        assert!(brk < fr);
        assert_flushed_between(&log, brk, fr, v, t.asid, &format!("table {tbl:#x}"));
    }
}

/// protect over more than `ROUND` pages: every entry rewritten once with
/// the new attributes (`want(pa)` is the page descriptor written out by
/// the encoder), each after its own break and flush, and a round's
/// rewrites come before the next round's breaks.
pub(super) fn protect_of_more_than_a_round<F: Format>(
    t: Table<F>,
    (va, pa, n): (u64, u64, u64),
    ro: MapAttrs,
    want: impl Fn(u64) -> u64,
) {
    let pg = page::<F>();
    let (mut env, entries) = pages_mapped(&t, va, pa, n);
    let live = env.live_tables;
    env.clear_log();
    t.protect(&mut env, va, n * pg, ro).unwrap();
    let log = env.log();
    for (i, &e) in entries.iter().enumerate() {
        let new = want(pa + i as u64 * pg);
        assert_eq!(env.read(e), new, "page {i}");
        let writes: Vec<usize> = log
            .iter()
            .enumerate()
            .filter(|(_, x)| matches!(x, Ev::Write(p, _) if *p == e))
            .map(|(j, _)| j)
            .collect();
        assert_eq!(writes.len(), 2, "page {i}: one break, one rewrite");
        assert_eq!(log[writes[0]], Ev::Write(e, 0));
        assert_eq!(log[writes[1]], Ev::Write(e, new));
        let v = va + i as u64 * pg;
        assert_flushed_between(&log, writes[0], writes[1], v, t.asid, "protect");
        if let Some(&ne) = entries.get((i / ROUND + 1) * ROUND) {
            assert!(
                writes[1] < first(&log, &Ev::Write(ne, 0)),
                "page {i}: rewritten after the next round began"
            );
        }
    }
    // Each round's rewrites are made visible (DSB, ISB) at its end.
    assert_eq!(log[log.len() - 2..], [Ev::Publish, Ev::Sync]);
    assert_eq!(env.live_tables, live, "no table added or freed");
}

/// protect of a range whose ends lie in two different blocks of the size
/// one entry above the pages maps (ARMv7-A sections, AArch64 2 MiB): both
/// are split, and only the range changes (`want(pa, attrs)`: the page
/// descriptor written out by the encoder).
pub(super) fn protect_across_two_blocks<F: Format>(
    t: Table<F>,
    (va, pa): (u64, u64),
    want: impl Fn(u64, MapAttrs) -> u64,
) {
    let pg = page::<F>();
    let block = F::entry_size(F::LEAF_LEVEL - 1);
    let mut env = Fake::for_table(&t);
    let rw = MapAttrs::kernel_data();
    t.map(&mut env, va, pa, 2 * block, rw).unwrap();
    assert_eq!(t.lookup(&env, va).unwrap().size, block);
    let ro = rw.with_access(crate::mm::memtype::Access::KernelRo);
    t.protect(&mut env, va + block - pg, 2 * pg, ro).unwrap();
    for (v, attrs) in [
        (va + block - 2 * pg, rw),
        (va + block - pg, ro),
        (va + block, ro),
        (va + block + pg, rw),
    ] {
        let p = t.lookup(&env, v).unwrap();
        assert_eq!(p.size, pg, "{v:#x}");
        assert_eq!(p.raw, want(p.pa, attrs), "{v:#x}");
    }
}

/// protect of one page among three: the exact break-before-make sequence
/// for that entry and nothing else (`want(pa, attrs)`: the page descriptor
/// written out by the encoder).
pub(super) fn protect_uses_break_before_make<F: Format>(
    t: Table<F>,
    (va, pa): (u64, u64),
    (rw, ro): (MapAttrs, MapAttrs),
    want: impl Fn(u64, MapAttrs) -> u64,
) {
    let pg = page::<F>();
    let mut env = Fake::for_table(&t);
    t.map(&mut env, va, pa, 3 * pg, rw).unwrap();
    let entry = entry_of(&env, &t, va + pg, F::LEAF_LEVEL);
    env.clear_log();
    t.protect(&mut env, va + pg, pg, ro).unwrap();
    let new = want(pa + pg, ro);
    assert_eq!(env.read(entry), new);
    assert_eq!(env.read(entry - F::ENTRY_BYTES), want(pa, rw));
    assert_eq!(env.read(entry + F::ENTRY_BYTES), want(pa + 2 * pg, rw));
    assert_eq!(
        env.log(),
        vec![
            Ev::Write(entry, 0),
            Ev::Publish,
            Ev::Tlbi(va + pg, t.asid),
            Ev::Sync,
            Ev::Write(entry, new),
            Ev::Publish,
            Ev::Sync
        ]
    );
}

/// A change to a non-cacheable type cleans and invalidates every block
/// first, while the old mapping is live, naming each block's physical
/// address (for an outer cache maintained by PA); a cacheable one does not.
pub(super) fn protect_to_non_cacheable_cleans_first<F: Format>(t: Table<F>, va: u64, pa: u64) {
    let pg = page::<F>();
    let rw = MapAttrs::kernel_data();
    let mut env = Fake::for_table(&t);
    t.map(&mut env, va, pa, 2 * pg, rw).unwrap();
    env.clear_log();
    let nc = rw.with_mem(crate::mm::memtype::MemoryType::NormalNonCacheable);
    t.protect(&mut env, va, 2 * pg, nc).unwrap();
    let log = env.log();
    assert_eq!(
        log[..2],
        [Ev::Clean(va, pa, pg), Ev::Clean(va + pg, pa + pg, pg)]
    );
    assert!(!log[2..].iter().any(|e| matches!(e, Ev::Clean(..))));
    env.clear_log();
    t.protect(&mut env, va, 2 * pg, rw).unwrap();
    assert!(!env.log().iter().any(|e| matches!(e, Ev::Clean(..))));
}

/// Unmapping the middle of three pages reports it and keeps the others;
/// unmapping everything around them frees the emptied tables (unlinked
/// before the last sync, freed after it); a hole does nothing.
pub(super) fn unmap_middle_reports_and_frees_empty_tables<F: Format>(t: Table<F>, va: u64) {
    let pg = page::<F>();
    let pa = 0x4040_0000;
    let mut env = Fake::for_table(&t);
    t.map(&mut env, va, pa, 3 * pg, MapAttrs::kernel_data())
        .unwrap();
    let live = env.live_tables;
    let mut got = Vec::new();
    t.unmap(&mut env, va + pg, pg, &mut |_, v, p, s| got.push((v, p, s)))
        .unwrap();
    assert_eq!(got, vec![(va + pg, pa + pg, pg)]);
    assert!(t.lookup(&env, va + pg).is_none());
    assert!(t.lookup(&env, va).is_some());
    assert!(t.lookup(&env, va + 2 * pg).is_some());
    assert_eq!(env.live_tables, live);
    got.clear();
    let links: Vec<(u64, u64)> = (F::ROOT_LEVEL + 1..=F::LEAF_LEVEL)
        .map(|l| {
            let tbl = t.table_of(&env, va, l).unwrap();
            (entry_of(&env, &t, va, l - 1), tbl)
        })
        .collect();
    env.clear_log();
    let stride = F::entry_size(F::LEAF_LEVEL - 1);
    t.unmap(&mut env, va - stride, 3 * stride, &mut |_, v, p, s| {
        got.push((v, p, s))
    })
    .unwrap();
    assert_eq!(got, vec![(va, pa, pg), (va + 2 * pg, pa + 2 * pg, pg)]);
    assert_eq!(env.live_tables, 0, "empty tables freed");
    let log = env.log();
    let sync = log.iter().rposition(|e| *e == Ev::Sync).unwrap();
    for (link, tbl) in links {
        assert_eq!(env.read(link), 0);
        assert!(first(&log, &Ev::Write(link, 0)) < sync);
        assert!(first(&log, &Ev::Free(tbl)) > sync);
    }
    assert!(log.contains(&Ev::Tlbi(va, t.asid)));
    // Unmapping a hole is fine and does nothing.
    env.clear_log();
    t.unmap(&mut env, va - stride, 3 * stride, &mut |_, _, _, _| {
        panic!("nothing there")
    })
    .unwrap();
    assert!(env.log().is_empty());
}

/// A removal is reported right after the sync that completes its
/// break-before-make, and emptied tables are freed after the report.
pub(super) fn removal_reported_only_after_tlb_sync<F: Format>(t: Table<F>, va: u64) {
    let pg = page::<F>();
    let mut env = Fake::for_table(&t);
    t.map(&mut env, va, 0x4040_0000, pg, MapAttrs::kernel_data())
        .unwrap();
    env.clear_log();
    let mut seen = Vec::new();
    t.unmap(&mut env, va, pg, &mut |e, _, _, _| seen = e.log())
        .unwrap();
    let last_sync = seen.iter().rposition(|e| *e == Ev::Sync).unwrap();
    let last_write = seen
        .iter()
        .rposition(|e| matches!(e, Ev::Write(..)))
        .unwrap();
    assert!(last_write < last_sync);
    assert!(seen.contains(&Ev::Tlbi(va, t.asid)));
    assert_eq!(
        seen.last(),
        Some(&Ev::Sync),
        "reported right after the sync"
    );
    assert!(env.log()[seen.len()..]
        .iter()
        .any(|e| matches!(e, Ev::Free(_))));
}

/// Unmapping 200 pages of a block (split first) ends in one whole-ASID
/// invalidation instead of 200 by VA.
pub(super) fn large_unmaps_use_one_full_invalidation<F: Format>(t: Table<F>, va: u64, pa: u64) {
    let pg = page::<F>();
    let block = F::entry_size(F::LEAF_LEVEL - 1);
    let mut env = Fake::for_table(&t);
    t.map(&mut env, va, pa, block, MapAttrs::kernel_data())
        .unwrap();
    assert_eq!(t.lookup(&env, va).unwrap().size, block);
    env.clear_log();
    t.unmap(&mut env, va + pg, 200 * pg, &mut |_, _, _, _| {})
        .unwrap();
    let log = env.log();
    let tlbis = log.iter().filter(|e| matches!(e, Ev::Tlbi(..))).count();
    assert!(log.contains(&Ev::TlbiAll(t.asid)));
    // The split's own invalidation, then the batch that overflowed.
    assert!(tlbis <= 1 + TLBI_BATCH_LIMIT);
    for v in (va + pg..va + 201 * pg).step_by(pg as usize) {
        assert!(t.lookup(&env, v).is_none());
    }
    assert!(t.lookup(&env, va).is_some());
    assert!(t.lookup(&env, va + 201 * pg).is_some());
}

/// The lazy-fault path: a page mapped next to another in an existing
/// last-level table uses that table, allocates nothing and needs no TLB
/// maintenance (`want(pa)`: the page descriptor written out by the encoder).
pub(super) fn map_into_an_existing_table<F: Format>(
    t: Table<F>,
    va: u64,
    attrs: MapAttrs,
    want: impl Fn(u64) -> u64,
) {
    let pg = page::<F>();
    let mut env = Fake::for_table(&t);
    t.map(&mut env, va, 0x4000_0000, pg, attrs).unwrap();
    let leaf = t.table_of(&env, va, F::LEAF_LEVEL).unwrap();
    let live = env.live_tables;
    env.clear_log();
    t.map(&mut env, va + 5 * pg, 0x4123_4000, pg, attrs)
        .unwrap();
    assert_eq!(env.live_tables, live);
    assert_eq!(
        env.log(),
        vec![
            Ev::Write(leaf + 5 * F::ENTRY_BYTES, want(0x4123_4000)),
            Ev::Publish,
            Ev::Sync
        ]
    );
    assert_eq!(t.lookup(&env, va).unwrap().pa, 0x4000_0000);
}

/// A map that needs `need` tables gets `need - 1`: refused, nothing
/// written, every table it took given back; with `need` it succeeds.
pub(super) fn out_of_tables_changes_nothing<F: Format>(t: Table<F>, va: u64, need: usize) {
    let pg = page::<F>();
    let mut env = Fake::for_table(&t);
    env.table_limit = need - 1;
    let e = t.map(&mut env, va, 0x4000_0000, 2 * pg, MapAttrs::kernel_data());
    assert_eq!(e, Err(MapError::NoMemory));
    assert!(env.log().iter().all(|e| matches!(e, Ev::Free(_))));
    assert!(env.mem.values().all(|&v| v == 0));
    assert_eq!(env.live_tables, 0);
    env.table_limit = need;
    t.map(&mut env, va, 0x4000_0000, 2 * pg, MapAttrs::kernel_data())
        .unwrap();
    assert_eq!(env.live_tables, need);
}

/// With `existing` mapped (va, pa, size), each map of `attempts` (va, pa,
/// size, the overlapping va it must name) is refused, and nothing at all
/// changes: memory, tables, no maintenance.
pub(super) fn overlaps_refused<F: Format>(
    t: Table<F>,
    existing: &[(u64, u64, u64)],
    attempts: &[(u64, u64, u64, u64)],
) {
    let rw = MapAttrs::kernel_data();
    let mut env = Fake::for_table(&t);
    for &(va, pa, size) in existing {
        t.map(&mut env, va, pa, size, rw).unwrap();
    }
    let before = env.mem.clone();
    let live = env.live_tables;
    env.clear_log();
    for &(va, pa, size, at) in attempts {
        let e = t.map(&mut env, va, pa, size, rw);
        assert_eq!(
            e,
            Err(MapError::Overlap { va: at }),
            "map {va:#x}+{size:#x}"
        );
    }
    assert_eq!(env.mem, before);
    assert_eq!(env.live_tables, live);
    assert!(env.log().is_empty(), "{:?}", env.log());
}
