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

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Ev {
    Write(u64, u64),
    Publish,
    Tlbi(u64, Option<u16>),
    TlbiAll(Option<u16>),
    Sync,
    Clean(u64, u64),
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

pub(super) struct Fake<F> {
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
    _f: PhantomData<F>,
}

pub(super) const ROOT: u64 = 0x4000;

impl<F: Format> Fake<F> {
    pub fn new() -> Self {
        Fake {
            mem: BTreeMap::new(),
            next_table: 0x10_0000,
            free: Vec::new(),
            table_limit: 1000,
            live_tables: 0,
            log: Rc::new(RefCell::new(Vec::new())),
            root: ROOT,
            asid: None,
            pending: BTreeMap::new(),
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
        let t = self.free.pop().unwrap_or_else(|| {
            let t = self.next_table;
            self.next_table += 4096;
            t
        });
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
    fn clean_invalidate_dcache(&mut self, va: u64, size: u64) {
        self.push(Ev::Clean(va, size));
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
