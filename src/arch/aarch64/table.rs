//! VMSAv8-64 translation tables, 4 KiB granule, 39-bit VAs (T0SZ = T1SZ =
//! 25): map, unmap, protect, split.
//!
//! Three levels, 512 entries of 8 bytes in every 4 KiB table: L1 indexed by
//! VA[38:30] (1 GiB blocks), L2 by VA[29:21] (2 MiB blocks), L3 by
//! VA[20:12] (4 KiB pages). A TTBR1 table holds the top 512 GiB
//! (0xFFFF_FF80_0000_0000..); its VAs index the same bits, the upper ones
//! being all ones.
//!
//! As in `armv7a::table`, the code never touches memory or system
//! registers itself; everything goes through [`TableEnv`], so the same code
//! runs on the target and in host tests against a recording fake that
//! checks break-before-make ordering.
//!
//! Live changes follow ARM ARM D8.14 ("TLB maintenance") and the
//! break-before-make sequence of D8.14.1 for changing a valid entry's
//! output address, size or attributes: write the invalid entry, DSB,
//! TLBI by VA (VAE1IS for ASID-tagged entries, VAAE1IS for global ones;
//! both also drop cached walk entries for that VA), DSB, ISB, then write
//! the new entry. Invalid -> valid needs no TLB maintenance: TLBs never
//! hold entries that generate translation faults.

use super::desc::{self, Kind, ENTRIES, L1_BLOCK_SIZE, L2_BLOCK_SIZE, PAGE_SIZE};
use crate::errno::Errno;
use crate::mm::memtype::MapAttrs;
use crate::mm::planner::{self, PlanError};
use alloc::vec::Vec;

/// Block sizes a mapping may use, largest first: 1 GiB, 2 MiB, 4 KiB.
pub const GRANULES: [u64; 3] = [L1_BLOCK_SIZE, L2_BLOCK_SIZE, PAGE_SIZE];
/// Above this many TLB invalidations in one operation, invalidating the
/// whole ASID (or the whole TLB for global entries) is cheaper.
pub use crate::mm::tlb::TLBI_BATCH_LIMIT;
use crate::mm::tlb::{Bounded, TlbMaint, ROUND};

/// What the table code needs from the machine.
pub trait TableEnv {
    /// Read the descriptor at physical address `pa`.
    fn read(&self, pa: u64) -> u64;
    /// Write one descriptor (single-copy atomic 64-bit store).
    fn write(&mut self, pa: u64, val: u64);
    /// A zeroed, 4 KiB-aligned table.
    fn alloc_table(&mut self) -> Result<u64, Errno>;
    fn free_table(&mut self, pa: u64);
    /// DSB ISHST: descriptor writes become visible to the table walker.
    fn publish(&mut self);
    /// TLBI VAE1IS (`asid << 48 | va >> 12`) for `Some(asid)`, TLBI VAAE1IS
    /// (every ASID, global entries) for `None`.
    fn tlb_invalidate(&mut self, va: u64, asid: Option<u16>);
    /// TLBI ASIDE1IS for `Some(asid)`, VMALLE1IS for `None`.
    fn tlb_invalidate_all(&mut self, asid: Option<u16>);
    /// DSB ISH then ISB: invalidations complete and later fetches see them.
    fn tlb_sync(&mut self);
    /// Clean and invalidate data-cache lines of a VA range that is still
    /// mapped cacheable, before it becomes non-cacheable.
    fn clean_invalidate_dcache(&mut self, va: u64, size: u64);
    /// Whether the 512-entry table at `pa` holds no valid entry.
    fn table_is_empty(&self, pa: u64) -> bool {
        (0..ENTRIES as u64).all(|i| self.read(pa + i * 8) & 1 == 0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    Plan(PlanError),
    /// Something is already mapped at this address.
    Overlap {
        va: u64,
    },
    /// The range is not covered by this table (e.g. kernel half in a TTBR0
    /// table).
    OutOfRange,
    NoMemory,
    /// The attributes have no AArch64 encoding (EL1 RW + EL0 RO).
    Unsupported,
}

impl From<MapError> for Errno {
    fn from(e: MapError) -> Errno {
        match e {
            MapError::Plan(_) => Errno::EINVAL,
            MapError::Overlap { .. } => Errno::EEXIST,
            MapError::OutOfRange => Errno::EFAULT,
            MapError::NoMemory => Errno::ENOMEM,
            MapError::Unsupported => Errno::EINVAL,
        }
    }
}

fn encode_err(e: desc::EncodeError) -> MapError {
    match e {
        desc::EncodeError::Unsupported => MapError::Unsupported,
        _ => MapError::Plan(PlanError::Misaligned),
    }
}

/// A present translation found by [`Table::lookup`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Present {
    /// First VA of the block or page.
    pub va: u64,
    pub pa: u64,
    /// 1 GiB, 2 MiB or 4 KiB.
    pub size: u64,
    /// The descriptor.
    pub raw: u64,
    /// 1 or 2 for blocks, 3 for pages.
    pub level: u8,
}

/// One L1 (root) table and the tables below it.
#[derive(Clone, Copy, Debug)]
pub struct Table {
    /// Physical address of the L1 table (TTBRn_EL1.BADDR).
    pub root_pa: u64,
    /// VA range this table translates, inclusive: at most
    /// `0..=0x7F_FFFF_FFFF` for TTBR0 or
    /// `0xFFFF_FF80_0000_0000..=u64::MAX` for TTBR1.
    pub va_lo: u64,
    pub va_hi: u64,
    /// ASID for TLB maintenance of non-global entries (user tables).
    pub asid: Option<u16>,
}

/// Index of `va` in its table at `level` (1, 2 or 3).
fn index(va: u64, level: u8) -> u64 {
    let shift = match level {
        1 => 30,
        2 => 21,
        _ => 12,
    };
    (va >> shift) & (ENTRIES as u64 - 1)
}

fn entry_pa(table_pa: u64, va: u64, level: u8) -> u64 {
    table_pa + index(va, level) * 8
}

fn level_of(size: u64) -> u8 {
    match size {
        L1_BLOCK_SIZE => 1,
        L2_BLOCK_SIZE => 2,
        _ => 3,
    }
}

fn align_down(va: u64, size: u64) -> u64 {
    va & !(size - 1)
}

/// The deepest entry a walk of `va` reaches: a block, a page or an
/// invalid entry, at `level`.
#[derive(Clone, Copy, Debug)]
struct Slot {
    level: u8,
    entry_pa: u64,
    raw: u64,
}

/// Binds one table's ASID to the environment for a batch flush.
struct Maint<'e, E> {
    env: &'e mut E,
    asid: Option<u16>,
}

impl<E: TableEnv> TlbMaint<u64> for Maint<'_, E> {
    fn publish(&mut self) {
        self.env.publish();
    }
    fn invalidate(&mut self, va: u64) {
        self.env.tlb_invalidate(va, self.asid);
    }
    fn invalidate_all(&mut self) {
        self.env.tlb_invalidate_all(self.asid);
    }
    fn sync(&mut self) {
        self.env.tlb_sync();
    }
}

type TlbBatch = crate::mm::tlb::TlbBatch<u64>;

fn flush<E: TableEnv>(batch: &mut TlbBatch, env: &mut E, asid: Option<u16>) {
    batch.flush(&mut Maint { env, asid });
}

/// A table [`Table::map`] must create: the table for `level` covering `va`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Missing {
    level: u8,
    va: u64,
}

impl Table {
    fn covers(&self, va: u64, size: u64) -> bool {
        size != 0
            && va >= self.va_lo
            && va
                .checked_add(size - 1)
                .is_some_and(|last| last <= self.va_hi)
    }

    fn slot<E: TableEnv>(&self, env: &E, va: u64) -> Slot {
        let mut t = self.root_pa;
        let mut level = 1;
        loop {
            let e = entry_pa(t, va, level);
            let raw = env.read(e);
            match desc::kind(raw, level) {
                Kind::Table { next_pa } if level < 3 => {
                    t = next_pa;
                    level += 1;
                }
                _ => {
                    return Slot {
                        level,
                        entry_pa: e,
                        raw,
                    }
                }
            }
        }
    }

    /// The table at `level` (2 or 3) that translates `va`, if linked.
    fn table_of<E: TableEnv>(&self, env: &E, va: u64, level: u8) -> Option<u64> {
        let mut t = self.root_pa;
        for l in 1..level {
            match desc::kind(env.read(entry_pa(t, va, l)), l) {
                Kind::Table { next_pa } => t = next_pa,
                _ => return None,
            }
        }
        Some(t)
    }

    /// First present leaf at or after `va` below the table `t` at `level`
    /// (whose region starts at or before `va`), within `[va, end)`.
    fn first_present_below<E: TableEnv>(
        &self,
        env: &E,
        t: u64,
        level: u8,
        va: u64,
        end: u128,
    ) -> Option<u64> {
        let size = desc::level_size(level);
        let mut cur = va as u128;
        while cur < end {
            let v = cur as u64;
            let raw = env.read(entry_pa(t, v, level));
            match desc::kind(raw, level) {
                Kind::Invalid => {}
                Kind::Table { next_pa } => {
                    if let Some(f) = self.first_present_below(env, next_pa, level + 1, v, end) {
                        return Some(f);
                    }
                }
                Kind::Block | Kind::Page => return Some(v),
            }
            cur = align_down(v, size) as u128 + size as u128;
            // Stay inside this table's region.
            if index(cur as u64, level) == 0 {
                break;
            }
        }
        None
    }

    /// Map `[va, va + size)` to `[pa, pa + size)`, choosing 1 GiB and
    /// 2 MiB blocks wherever va, pa and the remaining size allow, 4 KiB
    /// pages elsewhere. Refuses (and changes nothing) if any part is
    /// already mapped, or if a needed table cannot be allocated.
    pub fn map<E: TableEnv>(
        &self,
        env: &mut E,
        va: u64,
        pa: u64,
        size: u64,
        attrs: MapAttrs,
    ) -> Result<(), MapError> {
        if !self.covers(va, size) {
            return Err(MapError::OutOfRange);
        }
        let chunks = planner::plan(va, pa, size, &GRANULES).map_err(MapError::Plan)?;
        // Every chunk's descriptor must be encodable before anything changes.
        desc::page(0, attrs).map_err(encode_err)?;
        if (pa + (size - 1)) >> desc::PA_BITS != 0 {
            return Err(MapError::Plan(PlanError::Overflow));
        }

        // Validate: nothing mapped in the range; collect missing tables.
        // An existing table where a block goes is an overlap if anything
        // below it is mapped, else it is replaced (`stale`). Chunks come in
        // ascending VA order, so a table already listed as missing is the
        // last one listed at its level.
        let mut missing: Vec<Missing> = Vec::new();
        let mut last_missing: [Option<Missing>; 4] = [None; 4];
        let mut stale: Vec<(u64, u64, u8, u64)> = Vec::new();
        for c in chunks.clone() {
            let want = level_of(c.size);
            let mut t = self.root_pa;
            for level in 1..=want {
                let e = entry_pa(t, c.va, level);
                let raw = env.read(e);
                match desc::kind(raw, level) {
                    Kind::Invalid => {
                        for l in level + 1..=want {
                            let m = Missing {
                                level: l,
                                va: align_down(c.va, desc::level_size(l - 1)),
                            };
                            if last_missing[l as usize] != Some(m) {
                                last_missing[l as usize] = Some(m);
                                missing.try_reserve(1).map_err(|_| MapError::NoMemory)?;
                                missing.push(m);
                            }
                        }
                        break;
                    }
                    Kind::Table { next_pa } if level < want => t = next_pa,
                    Kind::Table { next_pa } => {
                        let end = c.va as u128 + c.size as u128;
                        if let Some(v) =
                            self.first_present_below(env, next_pa, level + 1, c.va, end)
                        {
                            return Err(MapError::Overlap { va: v });
                        }
                        stale.try_reserve(1).map_err(|_| MapError::NoMemory)?;
                        stale.push((c.va, e, level, next_pa));
                        break;
                    }
                    Kind::Block | Kind::Page => {
                        let bva = align_down(c.va, desc::level_size(level));
                        return Err(MapError::Overlap { va: bva.max(c.va) });
                    }
                }
            }
        }

        // Allocate every missing table before writing anything, so the
        // operation either completes or changes nothing.
        let mut tables: Vec<(Missing, u64)> = Vec::new();
        tables
            .try_reserve_exact(missing.len())
            .map_err(|_| MapError::NoMemory)?;
        for &m in &missing {
            match env.alloc_table() {
                Ok(t) => tables.push((m, t)),
                Err(_) => {
                    for &(_, t) in &tables {
                        env.free_table(t);
                    }
                    return Err(MapError::NoMemory);
                }
            }
        }

        // Empty tables where blocks go: unlink with break-before-make
        // (walk caches may hold them), free after the TLB sync.
        let mut batch = TlbBatch::new();
        for &(v, e, _, _) in &stale {
            env.write(e, 0);
            batch.push(v);
        }
        flush(&mut batch, env, self.asid);
        for &(_, _, level, next_pa) in &stale {
            self.free_tree(env, next_pa, level + 1);
        }

        // Link new tables, parents (L2 tables) before children (L3).
        tables.sort_by_key(|(m, _)| m.level);
        for &(m, t) in &tables {
            let parent = self
                .table_of(env, m.va, m.level - 1)
                .ok_or(MapError::NoMemory)?;
            let e = desc::table(t).map_err(|_| MapError::NoMemory)?;
            env.write(entry_pa(parent, m.va, m.level - 1), e);
        }

        for c in chunks {
            let level = level_of(c.size);
            let t = self.table_of(env, c.va, level).ok_or(MapError::NoMemory)?;
            let e = match level {
                3 => desc::page(c.pa, attrs),
                l => desc::block(l, c.pa, attrs),
            }
            .map_err(encode_err)?;
            env.write(entry_pa(t, c.va, level), e);
        }
        // Invalid -> valid: only visibility is needed, DSB + ISB.
        env.publish();
        env.tlb_sync();
        Ok(())
    }

    /// Free the unlinked (and flushed) table `t` at `level` and every
    /// table below it: a walk of the tree itself, so nothing is collected.
    fn free_tree<E: TableEnv>(&self, env: &mut E, t: u64, level: u8) {
        if level < 3 {
            for i in 0..ENTRIES as u64 {
                if let Kind::Table { next_pa } = desc::kind(env.read(t + i * 8), level) {
                    self.free_tree(env, next_pa, level + 1);
                }
            }
        }
        env.free_table(t);
    }

    /// The present translation covering `va`, if any.
    pub fn lookup<E: TableEnv>(&self, env: &E, va: u64) -> Option<Present> {
        if !self.covers(va, 1) {
            return None;
        }
        let s = self.slot(env, va);
        match desc::kind(s.raw, s.level) {
            Kind::Block | Kind::Page => {
                let size = desc::level_size(s.level);
                Some(Present {
                    va: align_down(va, size),
                    pa: desc::output_address(s.raw, s.level),
                    size,
                    raw: s.raw,
                    level: s.level,
                })
            }
            _ => None,
        }
    }

    /// Make `va` a block boundary: a 1 GiB block is split into 2 MiB
    /// blocks, a 2 MiB block into 4 KiB pages, each with break-before-make
    /// and the same translation and attributes. No-op if `va` already is a
    /// boundary or nothing is mapped there.
    pub fn split_at<E: TableEnv>(&self, env: &mut E, va: u64) -> Result<(), MapError> {
        if !va.is_multiple_of(PAGE_SIZE) {
            return Err(MapError::Plan(PlanError::Misaligned));
        }
        let Some(p) = self.lookup(env, va) else {
            return Ok(());
        };
        if p.va == va || p.level == 3 {
            return Ok(());
        }
        // Build the next-level table fully before it becomes reachable.
        let t = env.alloc_table().map_err(|_| MapError::NoMemory)?;
        let sub = desc::level_size(p.level + 1);
        for i in 0..ENTRIES as u64 {
            env.write(t + i * 8, desc::block_to_smaller(p.raw, p.level, i * sub));
        }
        let link = desc::table(t).map_err(|_| MapError::NoMemory)?;
        let s = self.slot(env, va);
        let mut batch = TlbBatch::new();
        env.write(s.entry_pa, 0);
        batch.push(p.va);
        flush(&mut batch, env, self.asid);
        env.write(s.entry_pa, link);
        env.publish();
        env.tlb_sync();
        // A 2 MiB block holding `va` may itself need splitting.
        self.split_at(env, va)
    }

    /// Unmap everything present in `[va, va + size)`. Holes are fine.
    /// Each removed block is reported as (va, pa, size) through `removed`
    /// only after its TLB entries are gone, so the caller may free frames.
    /// Tables left empty are unlinked (break-before-make) and freed.
    ///
    /// The work is done in rounds of at most [`ROUND`] entries (break,
    /// flush, report or free), so no memory proportional to the range is
    /// needed and nothing can fail halfway for lack of memory.
    pub fn unmap<E: TableEnv>(
        &self,
        env: &mut E,
        va: u64,
        size: u64,
        removed: &mut dyn FnMut(&mut E, u64, u64, u64),
    ) -> Result<(), MapError> {
        self.check_range(va, size)?;
        let end = va as u128 + size as u128;
        self.split_at(env, va)?;
        if end <= self.va_hi as u128 {
            self.split_at(env, end as u64)?;
        }
        let mut cur = va as u128;
        while cur < end {
            let mut batch = TlbBatch::new();
            let mut gone: Bounded<Present, ROUND> = Bounded::new();
            cur = self.for_each_present(env, cur as u64, end, ROUND, |env, p, entry| {
                env.write(entry, 0);
                batch.push(p.va);
                gone.push(p);
            });
            flush(&mut batch, env, self.asid);
            for p in gone.as_slice() {
                removed(env, p.va, p.pa, p.size);
            }
        }
        // Unlink tables left empty: L3 tables first, then L2 tables that
        // became empty through that; freed only after the TLB sync, since
        // walk caches may hold them (ARM ARM D8.14.1).
        let mut batch = TlbBatch::new();
        let mut empty: Bounded<u64, ROUND> = Bounded::new();
        let mut g = align_down(va, L1_BLOCK_SIZE) as u128;
        while g < end {
            let gva = g as u64;
            let l1e = entry_pa(self.root_pa, gva, 1);
            if let Kind::Table { next_pa: l2 } = desc::kind(env.read(l1e), 1) {
                let mut m = (gva.max(align_down(va, L2_BLOCK_SIZE))) as u128;
                while m < end && m < g + L1_BLOCK_SIZE as u128 {
                    let mva = m as u64;
                    let l2e = entry_pa(l2, mva, 2);
                    if let Kind::Table { next_pa: l3 } = desc::kind(env.read(l2e), 2) {
                        if is_empty(env, l3) {
                            if empty.is_full() {
                                self.free_unlinked(env, &mut batch, &mut empty);
                            }
                            env.write(l2e, 0);
                            batch.push(mva);
                            empty.push(l3);
                        }
                    }
                    m += L2_BLOCK_SIZE as u128;
                }
                if is_empty(env, l2) {
                    if empty.is_full() {
                        self.free_unlinked(env, &mut batch, &mut empty);
                    }
                    env.write(l1e, 0);
                    batch.push(gva);
                    empty.push(l2);
                }
            }
            g += L1_BLOCK_SIZE as u128;
        }
        self.free_unlinked(env, &mut batch, &mut empty);
        Ok(())
    }

    /// Flush the unlinks queued in `batch`, then free the tables.
    fn free_unlinked<E: TableEnv>(
        &self,
        env: &mut E,
        batch: &mut TlbBatch,
        tables: &mut Bounded<u64, ROUND>,
    ) {
        flush(batch, env, self.asid);
        for &t in tables.as_slice() {
            env.free_table(t);
        }
        tables.clear();
    }

    /// Give every present entry in `[va, va + size)` the new attributes,
    /// keeping its physical address, with break-before-make, in rounds of
    /// at most [`ROUND`] entries.
    pub fn protect<E: TableEnv>(
        &self,
        env: &mut E,
        va: u64,
        size: u64,
        attrs: MapAttrs,
    ) -> Result<(), MapError> {
        self.check_range(va, size)?;
        desc::page(0, attrs).map_err(encode_err)?;
        let end = va as u128 + size as u128;
        self.split_at(env, va)?;
        if end <= self.va_hi as u128 {
            self.split_at(env, end as u64)?;
        }
        // Lines cached through the old attributes must not survive into a
        // non-cacheable mapping (mismatched attributes, ARM ARM B2.8):
        // clean+invalidate while the old mapping is still live.
        if !attrs.mem.is_cacheable() {
            self.for_each_present(env, va, end, usize::MAX, |env, p, _| {
                env.clean_invalidate_dcache(p.va, p.size)
            });
        }
        let mut cur = va as u128;
        while cur < end {
            let mut batch = TlbBatch::new();
            let mut rewrite: Bounded<(u64, Present), ROUND> = Bounded::new();
            cur = self.for_each_present(env, cur as u64, end, ROUND, |env, p, entry| {
                env.write(entry, 0);
                batch.push(p.va);
                rewrite.push((entry, p));
            });
            flush(&mut batch, env, self.asid);
            for &(entry, p) in rewrite.as_slice() {
                // Encodability was checked above; the old PA is aligned.
                if let Ok(e) = desc::with_attrs(p.raw, p.level, attrs) {
                    env.write(entry, e);
                }
            }
            env.publish();
            env.tlb_sync();
        }
        Ok(())
    }

    fn check_range(&self, va: u64, size: u64) -> Result<(), MapError> {
        if !va.is_multiple_of(PAGE_SIZE) || !size.is_multiple_of(PAGE_SIZE) || size == 0 {
            return Err(MapError::Plan(PlanError::Misaligned));
        }
        if !self.covers(va, size) {
            return Err(MapError::OutOfRange);
        }
        Ok(())
    }

    /// Visit up to `limit` present blocks or pages starting inside
    /// `[va, end)` (blocks straddling the edges must have been split
    /// first), with the address of each descriptor. Invalid L1/L2 entries
    /// are skipped whole. Returns where the visit stopped: `end`, or the
    /// address after the `limit`-th block.
    fn for_each_present<E: TableEnv>(
        &self,
        env: &mut E,
        va: u64,
        end: u128,
        limit: usize,
        mut f: impl FnMut(&mut E, Present, u64),
    ) -> u128 {
        let mut cur = va as u128;
        let mut seen = 0usize;
        while cur < end && seen < limit {
            let v = cur as u64;
            let s = self.slot(env, v);
            let size = desc::level_size(s.level);
            let base = align_down(v, size);
            if matches!(desc::kind(s.raw, s.level), Kind::Block | Kind::Page) {
                let p = Present {
                    va: base,
                    pa: desc::output_address(s.raw, s.level),
                    size,
                    raw: s.raw,
                    level: s.level,
                };
                f(env, p, s.entry_pa);
                seen += 1;
            }
            cur = base as u128 + size as u128;
        }
        cur.min(end)
    }
}

fn is_empty<E: TableEnv>(env: &E, t: u64) -> bool {
    env.table_is_empty(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::memtype::{Access, MemoryType};
    use std::cell::RefCell;
    use std::collections::BTreeMap;
    use std::rc::Rc;
    use std::vec;

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Ev {
        Write(u64, u64),
        Publish,
        Tlbi(u64, Option<u16>),
        TlbiAll(Option<u16>),
        Sync,
        Clean(u64, u64),
        Free(u64),
    }

    struct Fake {
        mem: BTreeMap<u64, u64>,
        next_table: u64,
        free: Vec<u64>,
        table_limit: usize,
        live_tables: usize,
        log: Rc<RefCell<Vec<Ev>>>,
    }

    impl Fake {
        fn new() -> Self {
            Fake {
                mem: BTreeMap::new(),
                next_table: 0x10_0000,
                free: Vec::new(),
                table_limit: 1000,
                live_tables: 0,
                log: Rc::new(RefCell::new(Vec::new())),
            }
        }

        fn log(&self) -> Vec<Ev> {
            self.log.borrow().clone()
        }

        fn clear_log(&self) {
            self.log.borrow_mut().clear();
        }

        fn push(&self, e: Ev) {
            self.log.borrow_mut().push(e);
        }
    }

    impl TableEnv for Fake {
        fn read(&self, pa: u64) -> u64 {
            assert_eq!(pa % 8, 0);
            *self.mem.get(&pa).unwrap_or(&0)
        }
        fn write(&mut self, pa: u64, val: u64) {
            assert_eq!(pa % 8, 0);
            self.mem.insert(pa, val);
            self.push(Ev::Write(pa, val));
        }
        fn alloc_table(&mut self) -> Result<u64, Errno> {
            if self.live_tables >= self.table_limit {
                return Err(Errno::ENOMEM);
            }
            self.live_tables += 1;
            let t = self.free.pop().unwrap_or_else(|| {
                let t = self.next_table;
                self.next_table += 4096;
                t
            });
            for i in 0..512 {
                self.mem.insert(t + i * 8, 0);
            }
            Ok(t)
        }
        fn free_table(&mut self, pa: u64) {
            assert!(!self.free.contains(&pa), "double free of {pa:#x}");
            self.live_tables -= 1;
            self.free.push(pa);
            self.push(Ev::Free(pa));
        }
        fn publish(&mut self) {
            self.push(Ev::Publish);
        }
        fn tlb_invalidate(&mut self, va: u64, asid: Option<u16>) {
            self.push(Ev::Tlbi(va, asid));
        }
        fn tlb_invalidate_all(&mut self, asid: Option<u16>) {
            self.push(Ev::TlbiAll(asid));
        }
        fn tlb_sync(&mut self) {
            self.push(Ev::Sync);
        }
        fn clean_invalidate_dcache(&mut self, va: u64, size: u64) {
            self.push(Ev::Clean(va, size));
        }
    }

    const ROOT: u64 = 0x4000;
    const KIB4: u64 = 1 << 12;
    const MIB2: u64 = 2 << 20;
    const GIB: u64 = 1 << 30;
    const TTBR1_BASE: u64 = 0xFFFF_FF80_0000_0000;

    fn user_table() -> Table {
        Table {
            root_pa: ROOT,
            va_lo: 0,
            va_hi: 0x7F_FFFF_FFFF,
            asid: Some(5),
        }
    }

    fn kernel_table() -> Table {
        Table {
            root_pa: ROOT,
            va_lo: TTBR1_BASE,
            va_hi: u64::MAX,
            asid: None,
        }
    }

    fn rw() -> MapAttrs {
        MapAttrs::kernel_data()
    }

    fn entry_of(env: &Fake, t: &Table, va: u64, level: u8) -> u64 {
        entry_pa(t.table_of(env, va, level).unwrap(), va, level)
    }

    #[test]
    fn blocks_where_aligned_pages_elsewhere() {
        let mut env = Fake::new();
        let t = user_table();
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
        let mut env = Fake::new();
        let t = user_table();
        t.map(&mut env, GIB, 0x4000_1000, MIB2, rw()).unwrap();
        for v in (GIB..GIB + MIB2).step_by(4096) {
            assert_eq!(t.lookup(&env, v).unwrap().size, KIB4);
        }
    }

    #[test]
    fn overlap_refused_and_nothing_changed() {
        let mut env = Fake::new();
        let t = user_table();
        t.map(&mut env, 0x20_0000, 0x4000_0000, 0x1000, rw())
            .unwrap();
        t.map(&mut env, 0x4000_0000, 0x8000_0000, GIB, rw())
            .unwrap();
        t.map(&mut env, 0x8060_0000, 0x4060_0000, MIB2, rw())
            .unwrap();
        let before = env.mem.clone();
        let live = env.live_tables;
        env.clear_log();
        // Range whose second page overlaps.
        let e = t.map(&mut env, 0x1F_F000, 0x5000_0000, 0x2000, rw());
        assert_eq!(e, Err(MapError::Overlap { va: 0x20_0000 }));
        // A 2 MiB block over an L3 table holding a page.
        let e = t.map(&mut env, 0x20_0000, 0x5000_0000, MIB2, rw());
        assert_eq!(e, Err(MapError::Overlap { va: 0x20_0000 }));
        // A 1 GiB block over an L2 table with something in it.
        let e = t.map(&mut env, 0, 0x1_0000_0000, GIB, rw());
        assert_eq!(e, Err(MapError::Overlap { va: 0x20_0000 }));
        // Pages inside a 1 GiB block, and a 2 MiB block inside it.
        let e = t.map(&mut env, 0x4123_4000, 0x5000_0000, 0x1000, rw());
        assert_eq!(e, Err(MapError::Overlap { va: 0x4123_4000 }));
        let e = t.map(&mut env, 0x4020_0000, 0x5000_0000, MIB2, rw());
        assert_eq!(e, Err(MapError::Overlap { va: 0x4020_0000 }));
        // Pages inside a 2 MiB block, starting before it (new tables would
        // be needed for the first page: still nothing allocated).
        let e = t.map(&mut env, 0x805F_F000, 0x5000_0000, 0x2000, rw());
        assert_eq!(e, Err(MapError::Overlap { va: 0x8060_0000 }));
        assert_eq!(env.mem, before);
        assert_eq!(env.live_tables, live);
        assert!(env.log().is_empty(), "{:?}", env.log());
    }

    #[test]
    fn out_of_tables_changes_nothing() {
        let mut env = Fake::new();
        env.table_limit = 2;
        let t = user_table();
        // Needs an L2 table and two L3 tables (pages either side of a
        // 2 MiB boundary).
        let e = t.map(&mut env, 0x1F_F000, 0x4000_0000, 0x2000, rw());
        assert_eq!(e, Err(MapError::NoMemory));
        assert!(env.log().iter().all(|e| matches!(e, Ev::Free(_))));
        assert!(env.mem.values().all(|&v| v == 0));
        assert_eq!(env.live_tables, 0);
        env.table_limit = 3;
        t.map(&mut env, 0x1F_F000, 0x4000_0000, 0x2000, rw())
            .unwrap();
        assert_eq!(env.live_tables, 3);
    }

    #[test]
    fn bad_requests_refused() {
        let mut env = Fake::new();
        let t = user_table();
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

    /// Every valid->valid change of a descriptor must be preceded by:
    /// write 0 to it, DSB, TLBI covering it, DSB+ISB.
    fn assert_break_before_make(log: &[Ev], entry: u64, va: u64) {
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
                let t = between.iter().position(|e| {
                    matches!(e, Ev::Tlbi(v, _) if *v == va) || matches!(e, Ev::TlbiAll(_))
                });
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
    fn protect_uses_break_before_make() {
        let mut env = Fake::new();
        let t = user_table();
        let user = MapAttrs {
            mem: MemoryType::NormalWriteBackWriteAlloc,
            access: Access::UserRw,
            execute_never: true,
            privileged_execute_never: true,
            not_global: true,
            shareable: true,
        };
        t.map(&mut env, 0x20_0000, 0x4020_0000, 0x3000, user)
            .unwrap();
        let entry = entry_of(&env, &t, 0x20_1000, 3);
        env.clear_log();
        let ro = user.with_access(Access::UserRo);
        t.protect(&mut env, 0x20_1000, 0x1000, ro).unwrap();
        let new = desc::page(0x4020_1000, ro).unwrap();
        assert_eq!(env.read(entry), new);
        assert_eq!(env.read(entry - 8), desc::page(0x4020_0000, user).unwrap());
        assert_eq!(env.read(entry + 8), desc::page(0x4020_2000, user).unwrap());
        assert_eq!(
            env.log(),
            vec![
                Ev::Write(entry, 0),
                Ev::Publish,
                Ev::Tlbi(0x20_1000, Some(5)),
                Ev::Sync,
                Ev::Write(entry, new),
                Ev::Publish,
                Ev::Sync
            ]
        );
    }

    #[test]
    fn protect_to_non_cacheable_cleans_first() {
        let mut env = Fake::new();
        let t = kernel_table();
        let va = TTBR1_BASE + 0x20_0000;
        t.map(&mut env, va, 0x4020_0000, 0x2000, rw()).unwrap();
        env.clear_log();
        let nc = rw().with_mem(MemoryType::NormalNonCacheable);
        t.protect(&mut env, va, 0x2000, nc).unwrap();
        let log = env.log();
        assert_eq!(log[0], Ev::Clean(va, 0x1000));
        assert_eq!(log[1], Ev::Clean(va + 0x1000, 0x1000));
        // Cacheable -> cacheable needs no clean.
        env.clear_log();
        t.protect(&mut env, va, 0x2000, rw()).unwrap();
        assert!(!env.log().iter().any(|e| matches!(e, Ev::Clean(..))));
    }

    #[test]
    fn splitting_1g_to_2m_to_4k_keeps_translation_and_uses_bbm() {
        let mut env = Fake::new();
        let t = user_table();
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
        assert_break_before_make(&log, ROOT + 2 * 8, 2 * GIB);
        let l2e = entry_of(&env, &t, target, 2);
        assert_break_before_make(&log, l2e, align_down(target, MIB2));
        assert_break_before_make(&log, entry_of(&env, &t, target, 3), target);
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
        let mut env = Fake::new();
        let t = user_table();
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
    fn unmap_middle_reports_and_frees_empty_tables() {
        let mut env = Fake::new();
        let t = user_table();
        t.map(&mut env, 0x40_0000, 0x4040_0000, 0x3000, rw())
            .unwrap();
        assert_eq!(env.live_tables, 2);
        let mut got = Vec::new();
        t.unmap(&mut env, 0x40_1000, 0x1000, &mut |_, v, p, s| {
            got.push((v, p, s))
        })
        .unwrap();
        assert_eq!(got, vec![(0x40_1000, 0x4040_1000, 0x1000)]);
        assert!(t.lookup(&env, 0x40_1000).is_none());
        assert!(t.lookup(&env, 0x40_0000).is_some());
        assert!(t.lookup(&env, 0x40_2000).is_some());
        assert_eq!(env.live_tables, 2);
        got.clear();
        let l2e = entry_of(&env, &t, 0x40_0000, 2);
        let l3 = t.table_of(&env, 0x40_0000, 3).unwrap();
        let l2 = t.table_of(&env, 0x40_0000, 2).unwrap();
        env.clear_log();
        t.unmap(&mut env, 0x30_0000, 3 * MIB2, &mut |_, v, p, s| {
            got.push((v, p, s))
        })
        .unwrap();
        assert_eq!(
            got,
            vec![
                (0x40_0000, 0x4040_0000, 0x1000),
                (0x40_2000, 0x4040_2000, 0x1000)
            ]
        );
        assert_eq!(env.live_tables, 0, "empty tables freed");
        assert_eq!(env.read(ROOT), 0);
        // Unlinks are broken like any valid entry, and freed after sync.
        let log = env.log();
        let pos = |e: Ev| log.iter().position(|x| *x == e).unwrap();
        let sync = log.iter().rposition(|e| *e == Ev::Sync).unwrap();
        assert!(pos(Ev::Write(l2e, 0)) < sync);
        assert!(pos(Ev::Write(ROOT, 0)) < sync);
        assert!(pos(Ev::Free(l3)) > sync);
        assert!(pos(Ev::Free(l2)) > sync);
        assert!(log.contains(&Ev::Tlbi(0x40_0000, Some(5))));
        // Unmapping a hole is fine and does nothing.
        env.clear_log();
        t.unmap(&mut env, 0x30_0000, GIB, &mut |_, _, _, _| {
            panic!("nothing there")
        })
        .unwrap();
        assert!(env.log().is_empty());
    }

    #[test]
    fn unmap_part_of_blocks_splits_them() {
        let mut env = Fake::new();
        let t = user_table();
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
        let mut env = Fake::new();
        let t = user_table();
        // An L2 table linked at GiB 1 with an empty L3 table below it (as
        // boot code might leave).
        let l2 = env.alloc_table().unwrap();
        let l3 = env.alloc_table().unwrap();
        env.write(l2 + 5 * 8, desc::table(l3).unwrap());
        env.write(ROOT + 8, desc::table(l2).unwrap());
        env.clear_log();
        t.map(&mut env, GIB, 0x4000_0000, GIB, rw()).unwrap();
        assert_eq!(env.live_tables, 0);
        let log = env.log();
        assert_break_before_make(&log, ROOT + 8, GIB);
        let sync = log.iter().position(|e| *e == Ev::Sync).unwrap();
        assert!(log.iter().position(|e| *e == Ev::Free(l3)).unwrap() > sync);
        assert_eq!(t.lookup(&env, GIB).unwrap().size, GIB);
    }

    #[test]
    fn ttbr1_half_indexes_va_bits_38_to_12() {
        let mut env = Fake::new();
        let t = kernel_table();
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

    #[test]
    fn removal_reported_only_after_tlb_sync() {
        let mut env = Fake::new();
        let t = user_table();
        t.map(&mut env, 0x40_0000, 0x4040_0000, 0x1000, rw())
            .unwrap();
        env.clear_log();
        let log = env.log.clone();
        let mut seen_at_report = Vec::new();
        t.unmap(&mut env, 0x40_0000, 0x1000, &mut |_, _, _, _| {
            seen_at_report = log.borrow().clone();
        })
        .unwrap();
        let last_sync = seen_at_report.iter().rposition(|e| *e == Ev::Sync).unwrap();
        let last_write = seen_at_report
            .iter()
            .rposition(|e| matches!(e, Ev::Write(..)))
            .unwrap();
        assert!(last_write < last_sync);
        assert!(seen_at_report.contains(&Ev::Tlbi(0x40_0000, Some(5))));
        assert_eq!(
            seen_at_report.last(),
            Some(&Ev::Sync),
            "reported right after the sync"
        );
        // The emptied tables are unlinked and freed after the report.
        assert!(env.log()[seen_at_report.len()..]
            .iter()
            .any(|e| matches!(e, Ev::Free(_))));
    }

    #[test]
    fn large_unmaps_use_one_full_invalidation() {
        let mut env = Fake::new();
        let t = user_table();
        t.map(&mut env, 0x40_0000, 0x4040_0000, MIB2, rw()).unwrap();
        env.clear_log();
        t.unmap(&mut env, 0x40_1000, 200 * 4096, &mut |_, _, _, _| {})
            .unwrap();
        let log = env.log();
        let tlbis = log.iter().filter(|e| matches!(e, Ev::Tlbi(..))).count();
        assert!(log.contains(&Ev::TlbiAll(Some(5))));
        // The split's own invalidation, then the batch that overflowed.
        assert!(tlbis <= 1 + TLBI_BATCH_LIMIT);
        for v in (0x40_1000..0x40_1000 + 200 * 4096).step_by(4096) {
            assert!(t.lookup(&env, v).is_none());
        }
        assert!(t.lookup(&env, 0x40_0000).is_some());
        assert!(t.lookup(&env, 0x40_1000 + 200 * 4096).is_some());
    }

    /// Position of the first event at or after `from` matching `f`.
    fn pos_from(log: &[Ev], from: usize, f: impl Fn(&Ev) -> bool) -> Option<usize> {
        log[from..].iter().position(f).map(|i| i + from)
    }

    /// Between the break `Write(entry, 0)` at `brk` and the event at
    /// `after`: DSB, a TLBI covering `va` (by VA, or the whole ASID), then
    /// DSB + ISB, in this order (ARM ARM D8.14.1).
    fn assert_flushed_between(log: &[Ev], brk: usize, after: usize, va: u64, what: &str) {
        let p = pos_from(log, brk, |e| *e == Ev::Publish).filter(|&i| i < after);
        let p = p.unwrap_or_else(|| panic!("{what}: no DSB after the break"));
        let t = pos_from(log, p, |e| {
            *e == Ev::Tlbi(va, Some(5)) || *e == Ev::TlbiAll(Some(5))
        })
        .filter(|&i| i < after)
        .unwrap_or_else(|| panic!("{what}: no TLBI for {va:#x} after the DSB"));
        pos_from(log, t, |e| *e == Ev::Sync)
            .filter(|&i| i < after)
            .unwrap_or_else(|| panic!("{what}: no DSB+ISB after the TLBI"));
    }

    /// README "When memory runs out": unmapping works in rounds of
    /// `ROUND` (128) blocks: break, TLB flush, then report. 300 pages in
    /// one call: each reported once, after its own break and flush, and
    /// never later than the end of its round (the next round's first
    /// break comes after the report).
    #[test]
    fn unmap_of_more_than_a_round_reports_each_page_once_after_its_flush() {
        let mut env = Fake::new();
        let t = user_table();
        let (va, pa, n) = (0x4000_1000u64, 0x8000_1000u64, 300u64);
        t.map(&mut env, va, pa, n * KIB4, rw()).unwrap();
        let entries: Vec<u64> = (0..n)
            .map(|i| entry_of(&env, &t, va + i * KIB4, 3))
            .collect();
        assert_eq!(env.live_tables, 2);
        env.clear_log();
        let log = env.log.clone();
        let mut got = Vec::new();
        t.unmap(&mut env, va, n * KIB4, &mut |_, v, p, s| {
            got.push((v, p, s, log.borrow().len()))
        })
        .unwrap();
        let want: Vec<(u64, u64, u64)> = (0..n)
            .map(|i| (va + i * KIB4, pa + i * KIB4, KIB4))
            .collect();
        assert_eq!(
            got.iter().map(|g| (g.0, g.1, g.2)).collect::<Vec<_>>(),
            want,
            "every page reported once, in order"
        );
        let log = env.log();
        for (i, &(v, _, _, at)) in got.iter().enumerate() {
            let brk = log
                .iter()
                .position(|e| *e == Ev::Write(entries[i], 0))
                .unwrap_or_else(|| panic!("page {i} never broken"));
            assert!(brk < at, "page {i} reported before its break");
            assert_flushed_between(&log, brk, at, v, &format!("page {i}"));
            // Rounds of ROUND: the page is reported before the first
            // break of the next round.
            let next_round = (i / ROUND + 1) * ROUND;
            if let Some(&e) = entries.get(next_round) {
                let nb = log.iter().position(|x| *x == Ev::Write(e, 0)).unwrap();
                assert!(
                    at <= nb,
                    "page {i} reported after round {} began",
                    next_round / ROUND
                );
            }
        }
        // The first report comes after exactly one round of breaks.
        let breaks_before_first = log[..got[0].3]
            .iter()
            .filter(|e| matches!(e, Ev::Write(p, 0) if entries.contains(p)))
            .count();
        assert_eq!(breaks_before_first, ROUND);
        assert_eq!(env.live_tables, 0, "the L3 and L2 tables freed");
        assert!(env.mem.iter().all(|(_, &v)| v == 0));
    }

    /// More than ROUND tables left empty by one unmap: every one is
    /// unlinked with break-before-make and freed once, after the flush
    /// that follows its unlink.
    #[test]
    fn unmap_emptying_more_than_a_round_of_tables_frees_each_once_after_its_flush() {
        let mut env = Fake::new();
        let t = user_table();
        // One page in each of 600 consecutive 2 MiB regions from GiB 1:
        // 600 L3 tables, two L2 tables (GiB 1 and GiB 2).
        let n = 600u64;
        for i in 0..n {
            t.map(&mut env, GIB + i * MIB2, 0x4000_0000 + i * KIB4, KIB4, rw())
                .unwrap();
        }
        assert_eq!(env.live_tables as u64, n + 2);
        // (table, its parent entry, the VA the parent entry covers)
        let mut tables: Vec<(u64, u64, u64)> = (0..n)
            .map(|i| {
                let v = GIB + i * MIB2;
                (t.table_of(&env, v, 3).unwrap(), entry_of(&env, &t, v, 2), v)
            })
            .collect();
        for g in [GIB, 2 * GIB] {
            tables.push((t.table_of(&env, g, 2).unwrap(), entry_pa(ROOT, g, 1), g));
        }
        env.clear_log();
        let mut got = Vec::new();
        t.unmap(&mut env, GIB, 2 * GIB, &mut |_, v, p, s| {
            got.push((v, p, s))
        })
        .unwrap();
        let want: Vec<(u64, u64, u64)> = (0..n)
            .map(|i| (GIB + i * MIB2, 0x4000_0000 + i * KIB4, KIB4))
            .collect();
        assert_eq!(got, want);
        assert_eq!(env.live_tables, 0);
        let log = env.log();
        let frees: Vec<u64> = log
            .iter()
            .filter_map(|e| match e {
                Ev::Free(t) => Some(*t),
                _ => None,
            })
            .collect();
        assert_eq!(frees.len(), tables.len(), "each table freed once");
        for &(tbl, parent, v) in &tables {
            let brk = log
                .iter()
                .position(|e| *e == Ev::Write(parent, 0))
                .unwrap_or_else(|| panic!("table {tbl:#x} never unlinked"));
            let fr = log.iter().position(|e| *e == Ev::Free(tbl)).unwrap();
            assert!(brk < fr);
            assert_flushed_between(&log, brk, fr, v, &format!("table {tbl:#x}"));
        }
        assert_eq!(env.read(entry_pa(ROOT, GIB, 1)), 0);
        assert_eq!(env.read(entry_pa(ROOT, 2 * GIB, 1)), 0);
    }

    /// protect over more than ROUND pages: every entry rewritten once with
    /// the new attributes, each after its own break and flush, and the
    /// first round's rewrites come before the second round's breaks.
    #[test]
    fn protect_of_more_than_a_round_rewrites_each_page_once_with_bbm() {
        let mut env = Fake::new();
        let t = user_table();
        let (va, pa, n) = (0x4000_1000u64, 0x8000_1000u64, 300u64);
        t.map(&mut env, va, pa, n * KIB4, rw()).unwrap();
        let entries: Vec<u64> = (0..n)
            .map(|i| entry_of(&env, &t, va + i * KIB4, 3))
            .collect();
        env.clear_log();
        let ro = rw().with_access(Access::KernelRo);
        t.protect(&mut env, va, n * KIB4, ro).unwrap();
        let log = env.log();
        for (i, &e) in entries.iter().enumerate() {
            let new = desc::page(pa + i as u64 * KIB4, ro).unwrap();
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
            assert_flushed_between(&log, writes[0], writes[1], va + i as u64 * KIB4, "protect");
            let next_round = (i / ROUND + 1) * ROUND;
            if let Some(&ne) = entries.get(next_round) {
                let nb = log.iter().position(|x| *x == Ev::Write(ne, 0)).unwrap();
                assert!(
                    writes[1] < nb,
                    "page {i} rewritten after the next round began"
                );
            }
        }
        // Each round's rewrites are made visible (DSB, ISB) at its end.
        assert_eq!(log[log.len() - 2..], [Ev::Publish, Ev::Sync]);
        assert_eq!(env.live_tables, 2, "no table added or freed");
    }

    /// `map` over empty tables where blocks go (`stale`): a 1 GiB block
    /// over an L2 table holding several empty L3 tables, and a 2 MiB block
    /// over an empty L3 table, in one call. Every table of the replaced
    /// subtrees is freed exactly once, after the break of the entry that
    /// linked it has been flushed.
    #[test]
    fn map_over_empty_subtrees_frees_every_table_once_after_the_flush() {
        let mut env = Fake::new();
        let t = user_table();
        // GiB 1: an L2 table with empty L3 tables at indices 0, 5 and 511.
        let l2 = env.alloc_table().unwrap();
        let l3s: Vec<u64> = [0u64, 5, 511]
            .iter()
            .map(|&i| {
                let l3 = env.alloc_table().unwrap();
                env.write(l2 + i * 8, desc::table(l3).unwrap());
                l3
            })
            .collect();
        env.write(ROOT + 8, desc::table(l2).unwrap());
        // GiB 2: an L2 table whose first entry links an empty L3 table; a
        // page at 2 GiB + 4 MiB keeps that L2 table alive.
        let l2b = env.alloc_table().unwrap();
        let l3b = env.alloc_table().unwrap();
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
        let frees: Vec<u64> = log
            .iter()
            .filter_map(|e| match e {
                Ev::Free(t) => Some(*t),
                _ => None,
            })
            .collect();
        let mut want = l3s.clone();
        want.push(l2);
        want.push(l3b);
        let mut sorted = frees.clone();
        sorted.sort();
        want.sort();
        assert_eq!(sorted, want, "each table of both subtrees, once");
        let brk1 = log
            .iter()
            .position(|e| *e == Ev::Write(ROOT + 8, 0))
            .unwrap();
        let brk2 = log.iter().position(|e| *e == Ev::Write(l2b, 0)).unwrap();
        for &tbl in &want {
            let fr = log.iter().position(|e| *e == Ev::Free(tbl)).unwrap();
            assert_flushed_between(&log, brk1, fr, GIB, "1 GiB block");
            assert_flushed_between(&log, brk2, fr, 2 * GIB, "2 MiB block");
        }
        assert_break_before_make(&log, ROOT + 8, GIB);
        assert_break_before_make(&log, l2b, 2 * GIB);
    }

    /// The last page below 2^48 (the largest output address with the 4 KiB
    /// granule and 48-bit OA, ARM ARM D8.3) maps; one page higher does not.
    #[test]
    fn highest_output_address_maps() {
        let mut env = Fake::new();
        let t = user_table();
        let pa = (1u64 << 48) - KIB4;
        t.map(&mut env, 0x1000, pa, KIB4, rw()).unwrap();
        assert_eq!(t.lookup(&env, 0x1000).unwrap().pa, pa);
        assert_eq!(
            t.map(&mut env, 0x2000, pa, 2 * KIB4, rw()),
            Err(MapError::Plan(PlanError::Overflow))
        );
    }

    /// unmap changes nothing outside `[va, va + size)`: empty tables that
    /// lie outside it (as boot code might leave) stay linked, whether they
    /// sit right at the range's end, further on in the same GiB, at the
    /// start of a GiB the range runs past, or in the GiB starting at the
    /// range's end.
    #[test]
    fn unmap_leaves_tables_outside_its_range_alone() {
        let mut env = Fake::new();
        let t = user_table();
        let linked = |env: &Fake, entry: u64, table: u64| matches!(desc::kind(env.read(entry), 2), Kind::Table { next_pa } if next_pa == table);
        // GiB 1: a page at GiB + 4 MiB (L2 index 2), empty L3 tables at
        // L2 indices 0 and 5. GiB 2: an empty L2 table.
        t.map(&mut env, GIB + 2 * MIB2, 0x4000_0000, KIB4, rw())
            .unwrap();
        let l2a = t.table_of(&env, GIB, 2).unwrap();
        let e0 = env.alloc_table().unwrap();
        let e5 = env.alloc_table().unwrap();
        env.write(l2a, desc::table(e0).unwrap());
        env.write(l2a + 5 * 8, desc::table(e5).unwrap());
        let l2b = env.alloc_table().unwrap();
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
        // [GiB + 12 MiB, 2 GiB + 2 MiB): runs into GiB 2, whose empty L2
        // table it may free; GiB 1's index 0 lies before the range.
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

    /// protect of a range whose ends lie in two different 2 MiB blocks:
    /// both blocks are split, and only the range changes.
    #[test]
    fn protect_across_two_blocks_splits_both_ends() {
        let mut env = Fake::new();
        let t = user_table();
        t.map(&mut env, GIB, 0x8000_0000, 2 * MIB2, rw()).unwrap();
        assert_eq!(t.lookup(&env, GIB).unwrap().size, MIB2);
        let ro = rw().with_access(Access::KernelRo);
        t.protect(&mut env, GIB + MIB2 - KIB4, 2 * KIB4, ro)
            .unwrap();
        for (v, want) in [
            (GIB + MIB2 - 2 * KIB4, rw()),
            (GIB + MIB2 - KIB4, ro),
            (GIB + MIB2, ro),
            (GIB + MIB2 + KIB4, rw()),
        ] {
            let p = t.lookup(&env, v).unwrap();
            assert_eq!(p.size, KIB4, "{v:#x}");
            assert_eq!(p.raw, desc::page(p.pa, want).unwrap(), "{v:#x}");
        }
    }
}
