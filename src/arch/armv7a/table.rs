//! Short-descriptor translation tables: map, unmap, protect, split.
//!
//! The table code never touches memory or CP15 itself; everything goes
//! through [`TableEnv`], so the same code runs on the target (with real
//! DSB/TLBI) and in host tests (with a recording fake that checks
//! break-before-make ordering).
//!
//! Live-entry changes follow ARM ARM B3.10.1 ("General TLB maintenance
//! requirements") and the break-before-make rule for changing a valid
//! entry's output address, size or attributes: write the invalid entry,
//! DSB, invalidate the TLB by MVA, DSB, ISB, then write the new entry.

use super::desc::{self, L1Kind, L2_ENTRIES, SECTION_SIZE, SMALL_PAGE_SIZE};
use crate::errno::Errno;
use crate::mm::memtype::MapAttrs;
use crate::mm::planner::{self, PlanError};
use alloc::vec::Vec;

const LARGE: u32 = desc::LARGE_PAGE_SIZE;
const SUPER: u32 = desc::SUPERSECTION_SIZE;
#[cfg(test)]
use crate::mm::tlb::TLBI_BATCH_LIMIT;
/// Above this many TLB invalidations in one operation, invalidating the
/// whole ASID (or the whole TLB for global entries) is cheaper.
use crate::mm::tlb::{Bounded, TlbMaint, ROUND};

/// What the table code needs from the machine.
pub trait TableEnv {
    /// Read the descriptor at physical address `pa`.
    fn read(&self, pa: u32) -> u32;
    /// Write one descriptor. On CPUs whose table walks are not coherent
    /// with the data cache, the implementation also cleans the line to PoU.
    fn write(&mut self, pa: u32, val: u32);
    /// A zeroed, 1 KiB-aligned L2 table.
    fn alloc_l2(&mut self) -> Result<u32, Errno>;
    fn free_l2(&mut self, pa: u32);
    /// DSB: descriptor writes become visible to the table walker.
    fn publish(&mut self);
    /// Invalidate TLB entries (and walk caches) for `va`: for `asid` only,
    /// or for every ASID when `None` (global entries).
    fn tlb_invalidate(&mut self, va: u32, asid: Option<u8>);
    /// Invalidate every TLB entry of `asid` (or the whole TLB).
    fn tlb_invalidate_all(&mut self, asid: Option<u8>);
    /// DSB then ISB: invalidations complete and later fetches see them.
    fn tlb_sync(&mut self);
    /// Clean and invalidate data-cache lines of a VA range that is still
    /// mapped cacheable, before it becomes non-cacheable.
    fn clean_invalidate_dcache(&mut self, va: u32, size: u32);
    /// Whether the 256-entry L2 table at `pa` holds no valid entry.
    fn l2_is_empty(&self, pa: u32) -> bool {
        (0..L2_ENTRIES as u32).all(|i| self.read(pa + i * 4) & 0b11 == 0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    Plan(PlanError),
    /// Something is already mapped at this address.
    Overlap {
        va: u32,
    },
    /// The address is not covered by this table (e.g. kernel half in a
    /// TTBR0 table).
    OutOfRange,
    NoMemory,
}

impl From<MapError> for Errno {
    fn from(e: MapError) -> Errno {
        match e {
            MapError::Plan(_) => Errno::EINVAL,
            MapError::Overlap { .. } => Errno::EEXIST,
            MapError::OutOfRange => Errno::EFAULT,
            MapError::NoMemory => Errno::ENOMEM,
        }
    }
}

/// A present translation found by [`Table::lookup`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Present {
    pub va: u32,
    pub pa: u32,
    pub size: u32,
    pub raw: u32,
}

/// One first-level table and the L2 tables below it.
#[derive(Clone, Copy, Debug)]
pub struct Table {
    /// Physical address of the L1 table (16 KiB, or 8 KiB for a TTBR0
    /// table with TTBCR.N = 1).
    pub l1_pa: u32,
    /// VA range this table translates: [va_lo, va_hi]. A TTBR1 table
    /// with N = 1 holds only 0x8000_0000..=0xFFFF_FFFF.
    pub va_lo: u32,
    pub va_hi: u32,
    /// ASID for TLB maintenance of non-global entries (user tables).
    pub asid: Option<u8>,
    /// Domain written into section and page-table entries.
    pub domain: u8,
}

fn l1_index(va: u32) -> u32 {
    va >> 20
}

fn l2_index(va: u32) -> u32 {
    (va >> 12) & 0xff
}

/// Binds one table's ASID to the environment for a batch flush.
struct Maint<'e, E> {
    env: &'e mut E,
    asid: Option<u8>,
}

impl<E: TableEnv> TlbMaint<u32> for Maint<'_, E> {
    fn publish(&mut self) {
        self.env.publish();
    }
    fn invalidate(&mut self, va: u32) {
        self.env.tlb_invalidate(va, self.asid);
    }
    fn invalidate_all(&mut self) {
        self.env.tlb_invalidate_all(self.asid);
    }
    fn sync(&mut self) {
        self.env.tlb_sync();
    }
}

type TlbBatch = crate::mm::tlb::TlbBatch<u32>;

fn flush<E: TableEnv>(batch: &mut TlbBatch, env: &mut E, asid: Option<u8>) {
    batch.flush(&mut Maint { env, asid });
}

impl Table {
    fn l1_pa_of(&self, va: u32) -> u32 {
        self.l1_pa + l1_index(va) * 4
    }

    fn covers(&self, va: u32, size: u32) -> bool {
        size != 0
            && va >= self.va_lo
            && va
                .checked_add(size - 1)
                .is_some_and(|last| last <= self.va_hi)
    }

    /// Which block sizes a mapping may use. Supersections carry no domain,
    /// so they are used only in domain 0 tables.
    fn granules(&self) -> &'static [u64] {
        if self.domain == 0 {
            &planner::ARMV7_GRANULES
        } else {
            &[1 << 20, 64 << 10, 4 << 10]
        }
    }

    /// Map `[va, va + size)` to `[pa, pa + size)`, choosing supersections,
    /// sections, large pages or small pages wherever alignment allows.
    /// Refuses (and changes nothing) if any part is already mapped.
    pub fn map<E: TableEnv>(
        &self,
        env: &mut E,
        va: u32,
        pa: u32,
        size: u32,
        attrs: MapAttrs,
    ) -> Result<(), MapError> {
        if !self.covers(va, size) {
            return Err(MapError::OutOfRange);
        }
        let chunks = planner::plan(va as u64, pa as u64, size as u64, self.granules())
            .map_err(MapError::Plan)?;

        // Validate: nothing mapped in the range; count missing L2 tables.
        let mut need_l2: Vec<u32> = Vec::new();
        for c in chunks.clone() {
            let (cva, csize) = (c.va as u32, c.size as u32);
            // A supersection chunk spans 16 L1 entries, a section one, and
            // smaller chunks share the L1 entry of their MiB.
            let entries = (csize / SECTION_SIZE).max(1);
            for i in 0..entries {
                let mb = (cva & !(SECTION_SIZE - 1)) + i * SECTION_SIZE;
                let l1 = env.read(self.l1_pa_of(mb));
                match desc::l1_kind(l1) {
                    L1Kind::Fault => {
                        if csize < SECTION_SIZE && need_l2.last() != Some(&mb) {
                            // Chunks come in address order: a MiB needing
                            // a table is listed once, when first met.
                            need_l2.try_reserve(1).map_err(|_| MapError::NoMemory)?;
                            need_l2.push(mb);
                        }
                    }
                    L1Kind::PageTable { l2_pa } if csize < SECTION_SIZE => {
                        for i in 0..csize / SMALL_PAGE_SIZE {
                            let pva = cva + i * SMALL_PAGE_SIZE;
                            if env.read(l2_pa + l2_index(pva) * 4) & 0b11 != 0 {
                                return Err(MapError::Overlap { va: pva });
                            }
                        }
                    }
                    _ => return Err(MapError::Overlap { va: mb.max(cva) }),
                }
            }
        }

        // Allocate every missing L2 table before writing anything, so the
        // operation either completes or changes nothing.
        let mut tables: Vec<(u32, u32)> = Vec::new();
        tables
            .try_reserve_exact(need_l2.len())
            .map_err(|_| MapError::NoMemory)?;
        for &mb in &need_l2 {
            match env.alloc_l2() {
                Ok(t) => tables.push((mb, t)),
                Err(_) => {
                    for &(_, t) in &tables {
                        env.free_l2(t);
                    }
                    return Err(MapError::NoMemory);
                }
            }
        }
        for &(mb, t) in &tables {
            // Small and large pages have no PXN bit: the L1 page-table
            // descriptor's PXN (bit 2) governs every page below it (ARM ARM
            // B3.5.1). A user table (one with an ASID) holds only user pages,
            // which the kernel must never execute; kernel tables keep PXN
            // clear so kernel text in pages stays executable.
            let pxn = self.asid.is_some();
            let e = desc::page_table(t, self.domain, pxn).map_err(|_| MapError::NoMemory)?;
            env.write(self.l1_pa_of(mb), e);
        }

        for c in chunks {
            let (cva, cpa, csize) = (c.va as u32, c.pa as u32, c.size as u32);
            match csize {
                SUPER => {
                    let e =
                        desc::supersection(cpa as u64, attrs).map_err(|_| MapError::NoMemory)?;
                    for i in 0..16 {
                        env.write(self.l1_pa_of(cva + i * SECTION_SIZE), e);
                    }
                }
                SECTION_SIZE => {
                    let e =
                        desc::section(cpa, attrs, self.domain).map_err(|_| MapError::NoMemory)?;
                    env.write(self.l1_pa_of(cva), e);
                }
                LARGE => {
                    let l2 = self.l2_of(env, cva).ok_or(MapError::NoMemory)?;
                    let e = desc::large_page(cpa, attrs).map_err(|_| MapError::NoMemory)?;
                    for i in 0..16 {
                        env.write(l2 + (l2_index(cva) + i) * 4, e);
                    }
                }
                _ => {
                    let l2 = self.l2_of(env, cva).ok_or(MapError::NoMemory)?;
                    let e = desc::small_page(cpa, attrs).map_err(|_| MapError::NoMemory)?;
                    env.write(l2 + l2_index(cva) * 4, e);
                }
            }
        }
        // Fault -> valid needs no TLB maintenance (ARMv7 TLBs never hold
        // translation faults, ARM ARM B3.10.2), only visibility: DSB + ISB.
        env.publish();
        env.tlb_sync();
        Ok(())
    }

    fn l2_of<E: TableEnv>(&self, env: &E, va: u32) -> Option<u32> {
        match desc::l1_kind(env.read(self.l1_pa_of(va))) {
            L1Kind::PageTable { l2_pa } => Some(l2_pa),
            _ => None,
        }
    }

    /// The present translation covering `va`, if any.
    pub fn lookup<E: TableEnv>(&self, env: &E, va: u32) -> Option<Present> {
        if !self.covers(va, 1) {
            return None;
        }
        let l1 = env.read(self.l1_pa_of(va));
        match desc::l1_kind(l1) {
            L1Kind::Fault => None,
            L1Kind::Section => Some(Present {
                va: va & !(SECTION_SIZE - 1),
                pa: desc::section_pa(l1),
                size: SECTION_SIZE,
                raw: l1,
            }),
            L1Kind::Supersection => Some(Present {
                va: va & !(SUPER - 1),
                pa: l1 & !(SUPER - 1),
                size: SUPER,
                raw: l1,
            }),
            L1Kind::PageTable { l2_pa } => {
                let l2 = env.read(l2_pa + l2_index(va) * 4);
                match l2 & 0b11 {
                    0b00 => None,
                    0b01 => Some(Present {
                        va: va & !(LARGE - 1),
                        pa: l2 & !(LARGE - 1),
                        size: LARGE,
                        raw: l2,
                    }),
                    _ => Some(Present {
                        va: va & !(SMALL_PAGE_SIZE - 1),
                        pa: desc::small_page_pa(l2),
                        size: SMALL_PAGE_SIZE,
                        raw: l2,
                    }),
                }
            }
        }
    }

    /// Make `va` a block boundary: a supersection is split into sections,
    /// a section into an L2 table of small pages, a large page into small
    /// pages, each with break-before-make. No-op if `va` already is one.
    pub fn split_at<E: TableEnv>(&self, env: &mut E, va: u32) -> Result<(), MapError> {
        if va % SMALL_PAGE_SIZE != 0 {
            return Err(MapError::Plan(PlanError::Misaligned));
        }
        let Some(p) = self.lookup(env, va) else {
            return Ok(());
        };
        if p.va == va {
            return Ok(());
        }
        let mut batch = TlbBatch::new();
        match p.size {
            SUPER => {
                // 16 L1 entries -> 16 sections with the same attributes.
                // A supersection's attribute bits [4:0], [17:9] and NS
                // (bit 19) sit where a section's do; bits [8:5] (PA[39:36])
                // become the domain and bit 18 is cleared.
                let attrs_bits = p.raw & 0x000B_FE1F;
                for i in 0..16 {
                    env.write(self.l1_pa_of(p.va + i * SECTION_SIZE), 0);
                    batch.push(p.va + i * SECTION_SIZE);
                }
                flush(&mut batch, env, self.asid);
                for i in 0..16 {
                    let sec = (p.pa + i * SECTION_SIZE) | attrs_bits | ((self.domain as u32) << 5);
                    env.write(self.l1_pa_of(p.va + i * SECTION_SIZE), sec);
                }
                env.publish();
                env.tlb_sync();
                // The section holding `va` may itself need splitting.
                self.split_at(env, va)
            }
            SECTION_SIZE => {
                let t = env.alloc_l2().map_err(|_| MapError::NoMemory)?;
                for i in 0..L2_ENTRIES as u32 {
                    env.write(
                        t + i * 4,
                        desc::section_to_small(p.raw, i * SMALL_PAGE_SIZE),
                    );
                }
                let l1pa = self.l1_pa_of(p.va);
                env.write(l1pa, 0);
                batch.push(p.va);
                flush(&mut batch, env, self.asid);
                let pxn = p.raw & 1 != 0;
                let e = desc::page_table(t, self.domain, pxn).map_err(|_| MapError::NoMemory)?;
                env.write(l1pa, e);
                env.publish();
                env.tlb_sync();
                Ok(())
            }
            LARGE => {
                let l2 = self.l2_of(env, va).ok_or(MapError::NoMemory)?;
                let first = l2 + l2_index(p.va) * 4;
                for i in 0..16 {
                    env.write(first + i * 4, 0);
                    batch.push(p.va + i * SMALL_PAGE_SIZE);
                }
                flush(&mut batch, env, self.asid);
                for i in 0..16 {
                    env.write(first + i * 4, large_to_small(p.raw, i * SMALL_PAGE_SIZE));
                }
                env.publish();
                env.tlb_sync();
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Unmap everything present in `[va, va + size)`. Holes are fine.
    /// Each removed block is reported as (va, pa, size) through `removed`
    /// only after its TLB entries are gone, so the caller may free frames.
    ///
    /// The work is done in rounds of at most [`ROUND`] blocks (break, flush,
    /// report), so no memory proportional to the range is needed and the
    /// operation cannot fail halfway for lack of memory.
    pub fn unmap<E: TableEnv>(
        &self,
        env: &mut E,
        va: u32,
        size: u32,
        removed: &mut dyn FnMut(&mut E, u32, u32, u32),
    ) -> Result<(), MapError> {
        self.split_edges(env, va, size)?;
        let end = va as u64 + size as u64;
        let mut cur = va as u64;
        while cur < end {
            let mut batch = TlbBatch::new();
            let mut gone: Bounded<(u32, Present), ROUND> = Bounded::new();
            cur = self.break_present(env, cur, end, &mut batch, &mut gone);
            flush(&mut batch, env, self.asid);
            for &(_, p) in gone.as_slice() {
                removed(env, p.va, p.pa, p.size);
            }
        }
        // L2 tables left empty are unlinked too (their VA is then a
        // translation fault at L1, and the table memory can be reused),
        // freed only after the walk caches cannot hold them (B3.10.1).
        let mut mb = va as u64 & !(SECTION_SIZE as u64 - 1);
        while mb < end {
            let mut batch = TlbBatch::new();
            let mut tables: Bounded<u32, ROUND> = Bounded::new();
            while mb < end && !tables.is_full() {
                if let Some(l2) = self.l2_of(env, mb as u32) {
                    if env.l2_is_empty(l2) {
                        env.write(self.l1_pa_of(mb as u32), 0);
                        batch.push(mb as u32);
                        tables.push(l2);
                    }
                }
                mb += SECTION_SIZE as u64;
            }
            flush(&mut batch, env, self.asid);
            for &t in tables.as_slice() {
                env.free_l2(t);
            }
        }
        Ok(())
    }

    /// Give every present entry in `[va, va + size)` the new attributes,
    /// keeping its physical address, with break-before-make, in rounds of
    /// at most [`ROUND`] blocks. Every descriptor is encodable (checked
    /// first), so once entries change, the operation completes.
    pub fn protect<E: TableEnv>(
        &self,
        env: &mut E,
        va: u32,
        size: u32,
        attrs: MapAttrs,
    ) -> Result<(), MapError> {
        // Page-aligned PAs encode iff PA 0 does; supersections need a
        // 16 MiB-aligned PA, which a present supersection has.
        desc::small_page(0, attrs).map_err(|_| MapError::NoMemory)?;
        desc::large_page(0, attrs).map_err(|_| MapError::NoMemory)?;
        desc::section(0, attrs, self.domain).map_err(|_| MapError::NoMemory)?;
        desc::supersection(0, attrs).map_err(|_| MapError::NoMemory)?;
        self.split_edges(env, va, size)?;
        let end = va as u64 + size as u64;
        // Lines cached through the old attributes must not survive into a
        // non-cacheable mapping (ARM ARM B2.2.9, mismatched attributes):
        // clean+invalidate while the old mapping is still live.
        if !attrs.mem.is_cacheable() {
            self.for_each_present(env, va as u64, end, usize::MAX, |env, p, _| {
                env.clean_invalidate_dcache(p.va, p.size)
            });
        }
        let mut cur = va as u64;
        while cur < end {
            let mut batch = TlbBatch::new();
            let mut rewrite: Bounded<(u32, Present), ROUND> = Bounded::new();
            cur = self.break_present(env, cur, end, &mut batch, &mut rewrite);
            flush(&mut batch, env, self.asid);
            for &(entry_pa, p) in rewrite.as_slice() {
                let (e, n) = match p.size {
                    SUPER => (desc::supersection(p.pa as u64, attrs), 16),
                    SECTION_SIZE => (desc::section(p.pa, attrs, self.domain), 1),
                    LARGE => (desc::large_page(p.pa, attrs), 16),
                    _ => (desc::small_page(p.pa, attrs), 1),
                };
                // Encodable: checked above, and present PAs are aligned.
                if let Ok(e) = e {
                    for i in 0..n {
                        env.write(entry_pa + i * 4, e);
                    }
                }
            }
            env.publish();
            env.tlb_sync();
        }
        Ok(())
    }

    /// Check the range and make both of its ends block boundaries.
    fn split_edges<E: TableEnv>(&self, env: &mut E, va: u32, size: u32) -> Result<(), MapError> {
        self.check_range(va, size)?;
        self.split_at(env, va)?;
        let end = va.wrapping_add(size);
        if end != 0 {
            self.split_at(env, end)?;
        }
        Ok(())
    }

    /// Break-before-make, first half, for one round: from `cur`, write up
    /// to `out`'s capacity of present descriptors invalid (all 16 copies
    /// of a large page or supersection), queue their TLB invalidations and
    /// record (first descriptor PA, block). Returns where the next round
    /// starts (`end` when done).
    fn break_present<E: TableEnv, const N: usize>(
        &self,
        env: &mut E,
        cur: u64,
        end: u64,
        batch: &mut TlbBatch,
        out: &mut Bounded<(u32, Present), N>,
    ) -> u64 {
        self.for_each_present(env, cur, end, N, |env, p, entry_pa| {
            let n = if p.size == SUPER || p.size == LARGE {
                16
            } else {
                1
            };
            let stride = if p.size == SUPER {
                SECTION_SIZE
            } else {
                SMALL_PAGE_SIZE
            };
            for i in 0..n {
                env.write(entry_pa + i * 4, 0);
                batch.push(p.va + i * stride);
            }
            out.push((entry_pa, p));
        })
    }

    fn check_range(&self, va: u32, size: u32) -> Result<(), MapError> {
        if va % SMALL_PAGE_SIZE != 0 || size % SMALL_PAGE_SIZE != 0 || size == 0 {
            return Err(MapError::Plan(PlanError::Misaligned));
        }
        if !self.covers(va, size) {
            return Err(MapError::OutOfRange);
        }
        Ok(())
    }

    /// Visit up to `limit` present blocks inside `[cur, end)` (blocks
    /// straddling the edges must have been split first); `entry_pa` is the
    /// address of the block's first descriptor. Returns where the visit
    /// stopped: `end`, or the address after the `limit`-th block.
    fn for_each_present<E: TableEnv>(
        &self,
        env: &mut E,
        mut cur: u64,
        end: u64,
        limit: usize,
        mut f: impl FnMut(&mut E, Present, u32),
    ) -> u64 {
        let mut seen = 0usize;
        while cur < end && seen < limit {
            let v = cur as u32;
            let l1 = env.read(self.l1_pa_of(v));
            let found = match desc::l1_kind(l1) {
                L1Kind::Fault => None,
                L1Kind::Section | L1Kind::Supersection => {
                    self.lookup(env, v).map(|p| (p, self.l1_pa_of(p.va)))
                }
                L1Kind::PageTable { l2_pa } => {
                    self.lookup(env, v).map(|p| (p, l2_pa + l2_index(p.va) * 4))
                }
            };
            match found {
                Some((p, entry_pa)) => {
                    f(env, p, entry_pa);
                    seen += 1;
                    cur = p.va as u64 + p.size as u64;
                }
                None if matches!(desc::l1_kind(l1), L1Kind::Fault) => {
                    cur = (cur | (SECTION_SIZE as u64 - 1)) + 1
                }
                None => cur += SMALL_PAGE_SIZE as u64,
            }
        }
        cur.min(end)
    }
}

/// The small page at `offset` inside a large page, with its attributes
/// (ARM ARM B3.5.1: large and small pages differ in TEX and XN position).
fn large_to_small(large: u32, offset: u32) -> u32 {
    let pa = (large & !(LARGE - 1)) + offset;
    let xn = (large >> 15) & 1;
    let tex = (large >> 12) & 0b111;
    // B, C, AP[1:0], AP[2], S, nG keep their positions (bits 2..5, 9..11).
    let common = large & 0b1110_0011_1100;
    pa | common | (tex << 6) | 0b10 | xn
}

#[cfg(test)]
mod tests {
    use super::desc::L2_TABLE_SIZE;
    use super::*;
    use crate::mm::memtype::{Access, MemoryType};
    use std::collections::BTreeMap;
    use std::vec;

    #[derive(Debug, Clone, PartialEq)]
    enum Ev {
        Write(u32, u32),
        Publish,
        Tlbi(u32),
        TlbiAll,
        Sync,
        Clean(u32, u32),
        Free(u32),
    }

    struct Fake {
        mem: BTreeMap<u32, u32>,
        next_l2: u32,
        free: Vec<u32>,
        l2_limit: usize,
        live_l2: usize,
        log: Vec<Ev>,
    }

    impl Fake {
        fn new() -> Self {
            Fake {
                mem: BTreeMap::new(),
                next_l2: 0x10_0000,
                free: Vec::new(),
                l2_limit: 1000,
                live_l2: 0,
                log: Vec::new(),
            }
        }
    }

    impl TableEnv for Fake {
        fn read(&self, pa: u32) -> u32 {
            *self.mem.get(&pa).unwrap_or(&0)
        }
        fn write(&mut self, pa: u32, val: u32) {
            self.mem.insert(pa, val);
            self.log.push(Ev::Write(pa, val));
        }
        fn alloc_l2(&mut self) -> Result<u32, Errno> {
            if self.live_l2 >= self.l2_limit {
                return Err(Errno::ENOMEM);
            }
            self.live_l2 += 1;
            let t = self.free.pop().unwrap_or_else(|| {
                let t = self.next_l2;
                self.next_l2 += L2_TABLE_SIZE;
                t
            });
            for i in 0..256 {
                self.mem.insert(t + i * 4, 0);
            }
            Ok(t)
        }
        fn free_l2(&mut self, pa: u32) {
            assert!(!self.free.contains(&pa), "double free of {pa:#x}");
            self.live_l2 -= 1;
            self.free.push(pa);
            self.log.push(Ev::Free(pa));
        }
        fn publish(&mut self) {
            self.log.push(Ev::Publish);
        }
        fn tlb_invalidate(&mut self, va: u32, _asid: Option<u8>) {
            self.log.push(Ev::Tlbi(va));
        }
        fn tlb_invalidate_all(&mut self, _asid: Option<u8>) {
            self.log.push(Ev::TlbiAll);
        }
        fn tlb_sync(&mut self) {
            self.log.push(Ev::Sync);
        }
        fn clean_invalidate_dcache(&mut self, va: u32, size: u32) {
            self.log.push(Ev::Clean(va, size));
        }
    }

    fn kernel_table() -> Table {
        Table {
            l1_pa: 0x4000,
            va_lo: 0,
            va_hi: u32::MAX,
            asid: None,
            domain: 0,
        }
    }

    fn rw() -> MapAttrs {
        MapAttrs::kernel_data()
    }

    const MIB: u32 = 1 << 20;

    #[test]
    fn sections_where_aligned_pages_elsewhere() {
        let mut env = Fake::new();
        let t = Table {
            domain: 1,
            ..kernel_table()
        };
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
        let p = t.lookup(&env, 0x7FFF_F000).unwrap();
        assert_eq!((p.size, p.pa), (4096, 0x3FFF_F000));
        let p = t.lookup(&env, 0x8010_0000).unwrap();
        assert_eq!((p.size, p.pa), (4096, 0x4010_0000));
        assert!(t.lookup(&env, 0x8010_1000).is_none());
    }

    #[test]
    fn supersections_and_large_pages_in_domain_zero() {
        let mut env = Fake::new();
        let t = kernel_table();
        t.map(&mut env, 0x0100_0000, 0x4100_0000, 16 * MIB + 0x10000, rw())
            .unwrap();
        assert_eq!(t.lookup(&env, 0x01FF_F000).unwrap().size, 16 * MIB);
        assert_eq!(t.lookup(&env, 0x0200_F000).unwrap().size, 0x10000);
    }

    #[test]
    fn overlap_refused_and_nothing_changed() {
        let mut env = Fake::new();
        let t = kernel_table();
        t.map(&mut env, 0x10_0000, 0x4000_0000, 0x1000, rw())
            .unwrap();
        let before = env.mem.clone();
        // Range whose second page overlaps.
        let e = t
            .map(&mut env, 0x0FF000, 0x5000_0000, 0x2000, rw())
            .unwrap_err();
        assert_eq!(e, MapError::Overlap { va: 0x10_0000 });
        assert_eq!(env.mem, before);
        // A section over a page table.
        let e = t
            .map(&mut env, 0x10_0000, 0x5000_0000, MIB, rw())
            .unwrap_err();
        assert!(matches!(e, MapError::Overlap { .. }));
        // Pages over a section.
        t.map(&mut env, 0x300_0000, 0x5000_0000, MIB, rw()).unwrap();
        let e = t
            .map(&mut env, 0x301_0000, 0x6000_0000, 0x1000, rw())
            .unwrap_err();
        assert_eq!(e, MapError::Overlap { va: 0x301_0000 });
    }

    #[test]
    fn out_of_l2_memory_changes_nothing() {
        let mut env = Fake::new();
        env.l2_limit = 1;
        let t = kernel_table();
        // Needs two L2 tables (pages in two different MiBs).
        let e = t
            .map(&mut env, 0x0FF000, 0x4000_0000, 0x2000, rw())
            .unwrap_err();
        assert_eq!(e, MapError::NoMemory);
        assert!(
            env.log
                .iter()
                .all(|e| matches!(e, Ev::Write(_, 0) | Ev::Free(_))),
            "only table zeroing (and freeing) happened"
        );
        assert_eq!(env.live_l2, 0);
    }

    #[test]
    fn out_of_range_refused() {
        let mut env = Fake::new();
        let t = Table {
            va_lo: 0,
            va_hi: 0x7FFF_FFFF,
            asid: Some(3),
            ..kernel_table()
        };
        assert_eq!(
            t.map(&mut env, 0x7FFF_F000, 0x4000_0000, 0x2000, rw())
                .unwrap_err(),
            MapError::OutOfRange
        );
    }

    /// Every valid->valid change of a descriptor must be preceded by:
    /// write 0 to it, DSB, TLBI covering it, DSB+ISB.
    fn assert_break_before_make(log: &[Ev], entry: u32, va: u32) {
        let writes: Vec<usize> = log
            .iter()
            .enumerate()
            .filter(|(_, e)| matches!(e, Ev::Write(p, _) if *p == entry))
            .map(|(i, _)| i)
            .collect();
        for w in writes.windows(2) {
            let (a, b) = (w[0], w[1]);
            let Ev::Write(_, new) = log[b] else {
                unreachable!()
            };
            let Ev::Write(_, old) = log[a] else {
                unreachable!()
            };
            if old != 0 && new != 0 {
                panic!("entry {entry:#x} changed {old:#x} -> {new:#x} without a break");
            }
            if old == 0 && new != 0 && a > 0 {
                // The preceding break of this entry must be followed by
                // publish, TLBI(va or all), sync before this write.
                let between = &log[a + 1..b];
                let p = between.iter().position(|e| *e == Ev::Publish);
                let t = between
                    .iter()
                    .position(|e| *e == Ev::Tlbi(va) || *e == Ev::TlbiAll);
                let s = between.iter().rposition(|e| *e == Ev::Sync);
                if log[..a]
                    .iter()
                    .any(|e| matches!(e, Ev::Write(p, v) if *p == entry && *v != 0))
                {
                    assert!(
                        p.is_some() && t.is_some() && s.is_some(),
                        "missing BBM step for {entry:#x}: {between:?}"
                    );
                    assert!(
                        p < t && t < s,
                        "BBM steps out of order for {entry:#x}: {between:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn protect_uses_break_before_make() {
        let mut env = Fake::new();
        let t = kernel_table();
        t.map(&mut env, 0x20_0000, 0x4020_0000, 0x3000, rw())
            .unwrap();
        let l2 = t.l2_of(&env, 0x20_0000).unwrap();
        env.log.clear();
        let ro = rw().with_access(Access::KernelRo);
        t.protect(&mut env, 0x20_1000, 0x1000, ro).unwrap();
        let entry = l2 + 4;
        assert_eq!(env.read(entry), desc::small_page(0x4020_1000, ro).unwrap());
        assert_eq!(env.read(l2), desc::small_page(0x4020_0000, rw()).unwrap());
        let log = env.log.clone();
        assert_eq!(log[0], Ev::Write(entry, 0));
        assert_break_before_make(&log, entry, 0x20_1000);
        assert_eq!(
            log,
            vec![
                Ev::Write(entry, 0),
                Ev::Publish,
                Ev::Tlbi(0x20_1000),
                Ev::Sync,
                Ev::Write(entry, desc::small_page(0x4020_1000, ro).unwrap()),
                Ev::Publish,
                Ev::Sync
            ]
        );
    }

    #[test]
    fn protect_to_non_cacheable_cleans_first() {
        let mut env = Fake::new();
        let t = kernel_table();
        t.map(&mut env, 0x20_0000, 0x4020_0000, 0x1000, rw())
            .unwrap();
        env.log.clear();
        let nc = rw().with_mem(MemoryType::NormalNonCacheable);
        t.protect(&mut env, 0x20_0000, 0x1000, nc).unwrap();
        assert_eq!(env.log[0], Ev::Clean(0x20_0000, 0x1000));
    }

    #[test]
    fn splitting_a_section_keeps_translation_and_uses_bbm() {
        let mut env = Fake::new();
        let t = kernel_table();
        t.map(&mut env, 0x300_0000, 0x5000_0000, MIB, rw()).unwrap();
        env.log.clear();
        let ro = rw().with_access(Access::KernelRo);
        t.protect(&mut env, 0x304_0000, 0x1000, ro).unwrap();
        let l1 = t.l1_pa_of(0x300_0000);
        assert_break_before_make(&env.log.clone(), l1, 0x300_0000);
        for off in (0..MIB).step_by(4096) {
            let p = t.lookup(&env, 0x300_0000 + off).unwrap();
            assert_eq!((p.pa, p.size), (0x5000_0000 + off, 4096));
            let want_access = if off == 0x4_0000 { ro } else { rw() };
            assert_eq!(
                p.raw,
                desc::small_page(0x5000_0000 + off, want_access).unwrap()
            );
        }
    }

    #[test]
    fn unmap_middle_reports_and_frees_empty_tables() {
        let mut env = Fake::new();
        let t = kernel_table();
        t.map(&mut env, 0x40_0000, 0x4040_0000, 0x3000, rw())
            .unwrap();
        let mut got = Vec::new();
        t.unmap(&mut env, 0x40_1000, 0x1000, &mut |_, v, p, s| {
            got.push((v, p, s))
        })
        .unwrap();
        assert_eq!(got, vec![(0x40_1000, 0x4040_1000, 0x1000)]);
        assert!(t.lookup(&env, 0x40_1000).is_none());
        assert!(t.lookup(&env, 0x40_0000).is_some());
        assert!(t.lookup(&env, 0x40_2000).is_some());
        assert_eq!(env.live_l2, 1);
        got.clear();
        t.unmap(&mut env, 0x30_0000, 3 * MIB, &mut |_, v, p, s| {
            got.push((v, p, s))
        })
        .unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(env.live_l2, 0, "empty L2 table freed");
        assert_eq!(env.read(t.l1_pa_of(0x40_0000)), 0);
        // Unmapping a hole is fine.
        t.unmap(&mut env, 0x30_0000, MIB, &mut |_, _, _, _| {
            panic!("nothing there")
        })
        .unwrap();
    }

    #[test]
    fn removal_reported_only_after_tlb_sync() {
        let mut env = Fake::new();
        let t = kernel_table();
        t.map(&mut env, 0x40_0000, 0x4040_0000, 0x1000, rw())
            .unwrap();
        env.log.clear();
        let mut log_len_at_report = 0;
        let env_ptr: *const Fake = &env;
        t.unmap(&mut env, 0x40_0000, 0x1000, &mut |_, _, _, _| {
            // SAFETY: the table code holds no borrow of env while reporting
            // (it reports after its last use); read-only peek at the log.
            log_len_at_report = unsafe { (*env_ptr).log.len() };
        })
        .unwrap();
        // The leaf's break-before-make was complete when it was reported.
        let seen = &env.log[..log_len_at_report];
        assert_eq!(seen.last(), Some(&Ev::Sync));
        assert!(seen.contains(&Ev::Tlbi(0x40_0000)));
        assert!(
            seen.iter().any(|e| matches!(e, Ev::Write(_, 0))),
            "the entry was broken"
        );
    }

    #[test]
    fn large_unmaps_use_one_full_invalidation() {
        let mut env = Fake::new();
        let t = kernel_table();
        t.map(
            &mut env,
            0x40_0000,
            0x4040_0000,
            0x10_0000 - 0x1000 + 0x1000,
            rw().with_mem(MemoryType::NormalWriteThrough),
        )
        .unwrap();
        // That was one section; split it and unmap 200 pages.
        env.log.clear();
        t.unmap(&mut env, 0x40_1000, 200 * 4096, &mut |_, _, _, _| {})
            .unwrap();
        let tlbis = env.log.iter().filter(|e| matches!(e, Ev::Tlbi(_))).count();
        assert!(env.log.contains(&Ev::TlbiAll));
        assert!(tlbis <= 1 + TLBI_BATCH_LIMIT);
    }

    #[test]
    fn splitting_supersections_and_large_pages() {
        let mut env = Fake::new();
        let t = kernel_table();
        t.map(&mut env, 0x0100_0000, 0x4100_0000, 16 * MIB, rw())
            .unwrap();
        t.map(&mut env, 0x0300_0000, 0x4300_0000, 0x10000, rw())
            .unwrap();
        assert_eq!(t.lookup(&env, 0x0300_0000).unwrap().size, 0x10000);
        let mut got = Vec::new();
        t.unmap(&mut env, 0x0150_3000, 0x1000, &mut |_, v, p, s| {
            got.push((v, p, s))
        })
        .unwrap();
        t.unmap(&mut env, 0x0300_5000, 0x1000, &mut |_, v, p, s| {
            got.push((v, p, s))
        })
        .unwrap();
        assert_eq!(
            got,
            vec![
                (0x0150_3000, 0x4150_3000, 0x1000),
                (0x0300_5000, 0x4300_5000, 0x1000)
            ]
        );
        for va in (0x0100_0000u32..0x0200_0000).step_by(0x1000) {
            let p = t.lookup(&env, va);
            if va == 0x0150_3000 {
                assert!(p.is_none());
            } else {
                let p = p.unwrap();
                assert_eq!(p.pa + (va - p.va), va + 0x4000_0000);
                if (0x0150_0000..0x0160_0000).contains(&va) {
                    assert_eq!(p.raw, desc::small_page(va + 0x4000_0000, rw()).unwrap());
                } else {
                    assert_eq!(p.raw, desc::section(p.pa, rw(), 0).unwrap());
                }
            }
        }
        for va in (0x0300_0000u32..0x0301_0000).step_by(0x1000) {
            if va == 0x0300_5000 {
                assert!(t.lookup(&env, va).is_none());
            } else {
                assert_eq!(
                    t.lookup(&env, va).unwrap().raw,
                    desc::small_page(va + 0x4000_0000, rw()).unwrap()
                );
            }
        }
    }

    fn pos_from(log: &[Ev], from: usize, f: impl Fn(&Ev) -> bool) -> Option<usize> {
        log[from..].iter().position(f).map(|i| i + from)
    }

    /// Between the break at `brk` and the event at `after`: DSB, a TLBI
    /// covering `va` (by MVA, or all), then DSB + ISB, in this order
    /// (ARM ARM B3.10.1).
    fn assert_flushed_between(log: &[Ev], brk: usize, after: usize, va: u32, what: &str) {
        assert_flushed_within(log, brk, after, va, 1, what)
    }

    /// The same, with the TLBI anywhere in `[va, va + span)` (one block).
    fn assert_flushed_within(log: &[Ev], brk: usize, after: usize, va: u32, span: u32, what: &str) {
        let p = pos_from(log, brk, |e| *e == Ev::Publish)
            .filter(|&i| i < after)
            .unwrap_or_else(|| panic!("{what}: no DSB after the break"));
        let t = pos_from(log, p, |e| {
            matches!(e, Ev::Tlbi(v) if (va..=va + (span - 1)).contains(v)) || *e == Ev::TlbiAll
        })
        .filter(|&i| i < after)
        .unwrap_or_else(|| panic!("{what}: no TLBI for {va:#x} after the DSB"));
        pos_from(log, t, |e| *e == Ev::Sync)
            .filter(|&i| i < after)
            .unwrap_or_else(|| panic!("{what}: no DSB+ISB after the TLBI"));
    }

    fn first(log: &[Ev], e: &Ev) -> usize {
        log.iter()
            .position(|x| x == e)
            .unwrap_or_else(|| panic!("{e:?} not in the log"))
    }

    /// README "When memory runs out": unmap works in rounds of ROUND (128)
    /// blocks. 300 small pages in one call: each reported once, after its
    /// own break and flush, before the next round's first break; the two
    /// L2 tables left empty are unlinked and freed once each.
    #[test]
    fn unmap_of_more_than_a_round_reports_each_page_once_after_its_flush() {
        let mut env = Fake::new();
        let t = Table {
            asid: Some(3),
            ..kernel_table()
        };
        // va and pa never 64 KiB-aligned together: small pages only.
        let (va, pa, n) = (0x40_1000u32, 0x4040_2000u32, 300u32);
        t.map(&mut env, va, pa, n * 4096, rw()).unwrap();
        let entry = |env: &Fake, v: u32| t.l2_of(env, v).unwrap() + l2_index(v) * 4;
        let entries: Vec<u32> = (0..n).map(|i| entry(&env, va + i * 4096)).collect();
        let l2s = [
            t.l2_of(&env, 0x40_0000).unwrap(),
            t.l2_of(&env, 0x50_0000).unwrap(),
        ];
        assert_eq!(env.live_l2, 2);
        env.log.clear();
        let mut got = Vec::new();
        let env_ptr: *const Fake = &env;
        t.unmap(&mut env, va, n * 4096, &mut |_, v, p, s| {
            // SAFETY: as in removal_reported_only_after_tlb_sync: a
            // read-only peek at the log while the table code reports.
            got.push((v, p, s, unsafe { (*env_ptr).log.len() }))
        })
        .unwrap();
        let want: Vec<(u32, u32, u32)> = (0..n)
            .map(|i| (va + i * 4096, pa + i * 4096, 4096))
            .collect();
        assert_eq!(
            got.iter().map(|g| (g.0, g.1, g.2)).collect::<Vec<_>>(),
            want
        );
        let log = env.log.clone();
        for (i, &(v, _, _, at)) in got.iter().enumerate() {
            let brk = first(&log, &Ev::Write(entries[i], 0));
            assert!(brk < at);
            assert_flushed_between(&log, brk, at, v, &format!("page {i}"));
            if let Some(&e) = entries.get((i / ROUND + 1) * ROUND) {
                assert!(
                    at <= first(&log, &Ev::Write(e, 0)),
                    "page {i}: round overrun"
                );
            }
        }
        let breaks_before_first = log[..got[0].3]
            .iter()
            .filter(|e| matches!(e, Ev::Write(p, 0) if entries.contains(p)))
            .count();
        assert_eq!(breaks_before_first, ROUND);
        assert_eq!(env.live_l2, 0);
        for (k, &l2) in l2s.iter().enumerate() {
            let l1e = t.l1_pa_of(0x40_0000 + k as u32 * MIB);
            assert_eq!(env.read(l1e), 0);
            let brk = first(&log, &Ev::Write(l1e, 0));
            let fr = first(&log, &Ev::Free(l2));
            assert_flushed_between(&log, brk, fr, 0x40_0000 + k as u32 * MIB, "L2 table");
        }
    }

    /// More than ROUND L2 tables emptied by one unmap: each unlinked with
    /// break-before-make and freed once, after that flush.
    #[test]
    fn unmap_emptying_more_than_a_round_of_l2_tables_frees_each_once() {
        let mut env = Fake::new();
        let t = kernel_table();
        let n = 300u32;
        let base = 0x1000_0000u32;
        for i in 0..n {
            t.map(&mut env, base + i * MIB, 0x4000_0000 + i * 4096, 4096, rw())
                .unwrap();
        }
        let l2s: Vec<u32> = (0..n)
            .map(|i| t.l2_of(&env, base + i * MIB).unwrap())
            .collect();
        assert_eq!(env.live_l2, n as usize);
        env.log.clear();
        let mut got = Vec::new();
        t.unmap(&mut env, base, n * MIB, &mut |_, v, p, s| {
            got.push((v, p, s))
        })
        .unwrap();
        let want: Vec<(u32, u32, u32)> = (0..n)
            .map(|i| (base + i * MIB, 0x4000_0000 + i * 4096, 4096))
            .collect();
        assert_eq!(got, want);
        assert_eq!(env.live_l2, 0);
        let log = env.log.clone();
        assert_eq!(
            log.iter().filter(|e| matches!(e, Ev::Free(_))).count(),
            n as usize
        );
        for (i, &l2) in l2s.iter().enumerate() {
            let v = base + i as u32 * MIB;
            let l1e = t.l1_pa_of(v);
            assert_eq!(env.read(l1e), 0);
            let brk = first(&log, &Ev::Write(l1e, 0));
            let fr = first(&log, &Ev::Free(l2));
            assert!(brk < fr);
            assert_flushed_between(&log, brk, fr, v, &format!("L2 table {i}"));
        }
    }

    /// Large pages and supersections repeat their descriptor 16 times
    /// (ARM ARM B3.5.1, B3.5.2): breaking one must invalidate all 16
    /// copies, and one unmap of more than ROUND of them reports each once.
    #[test]
    fn unmap_of_large_pages_and_supersections_clears_all_16_copies() {
        let mut env = Fake::new();
        let t = kernel_table();
        // 130 large pages: 8 MiB + 128 KiB, 64 KiB-aligned va and pa, no
        // whole 1 MiB co-aligned (pa is 64 KiB off a MiB).
        let (lva, lpa, ln) = (0x0100_0000u32, 0x4001_0000u32, 130u32);
        t.map(&mut env, lva, lpa, ln * LARGE, rw()).unwrap();
        for i in 0..ln {
            assert_eq!(t.lookup(&env, lva + i * LARGE).unwrap().size, LARGE);
        }
        // 130 supersections from 0x1000_0000 (2080 MiB).
        let (sva, spa, sn) = (0x1000_0000u32, 0x0000_0000u32, 130u32);
        t.map(&mut env, sva, spa, sn * SUPER, rw()).unwrap();
        assert_eq!(t.lookup(&env, sva).unwrap().size, SUPER);
        let mut got = Vec::new();
        t.unmap(&mut env, lva, ln * LARGE, &mut |_, v, p, s| {
            got.push((v, p, s))
        })
        .unwrap();
        let want: Vec<(u32, u32, u32)> = (0..ln)
            .map(|i| (lva + i * LARGE, lpa + i * LARGE, LARGE))
            .collect();
        assert_eq!(got, want);
        got.clear();
        t.unmap(&mut env, sva, sn * SUPER, &mut |_, v, p, s| {
            got.push((v, p, s))
        })
        .unwrap();
        let want: Vec<(u32, u32, u32)> = (0..sn)
            .map(|i| (sva + i * SUPER, spa + i * SUPER, SUPER))
            .collect();
        assert_eq!(got, want);
        for v in (lva..lva + ln * LARGE).step_by(4096) {
            assert!(t.lookup(&env, v).is_none(), "{v:#x}");
        }
        for mb in (sva as u64..sva as u64 + (sn * SUPER) as u64).step_by(MIB as usize) {
            assert_eq!(env.read(t.l1_pa_of(mb as u32)), 0, "{mb:#x}");
        }
        assert_eq!(env.live_l2, 0);
    }

    /// One large page and one supersection broken alone (no overflow to a
    /// whole-TLB invalidation): the TLB is invalidated inside each, and
    /// the copies are all written invalid before the flush.
    #[test]
    fn unmap_of_one_large_page_and_one_supersection_invalidates_inside_each() {
        let mut env = Fake::new();
        let t = kernel_table();
        t.map(&mut env, 0x0300_0000, 0x4300_0000, LARGE, rw())
            .unwrap();
        t.map(&mut env, 0x0400_0000, 0x4400_0000, SUPER, rw())
            .unwrap();
        env.log.clear();
        t.unmap(&mut env, 0x0300_0000, LARGE, &mut |_, _, _, _| {})
            .unwrap();
        t.unmap(&mut env, 0x0400_0000, SUPER, &mut |_, _, _, _| {})
            .unwrap();
        let log = env.log.clone();
        assert!(!log.contains(&Ev::TlbiAll));
        let l2 = t.l2_of(&env, 0x0300_0000);
        assert!(l2.is_none(), "the emptied L2 table was unlinked");
        for (base, size) in [(0x0300_0000u32, LARGE), (0x0400_0000, SUPER)] {
            assert!(
                log.iter()
                    .any(|e| matches!(e, Ev::Tlbi(v) if (base..base + (size - 1)).contains(v))),
                "no TLBI inside the block at {base:#x}"
            );
        }
        for mb in 0..16 {
            assert_eq!(env.read(t.l1_pa_of(0x0400_0000 + mb * MIB)), 0);
        }
    }

    /// protect over more than ROUND pages, and over large pages: every
    /// descriptor (all 16 copies of a large page) rewritten once with the
    /// new attributes after its break and flush; rounds do not overrun.
    #[test]
    fn protect_of_more_than_a_round_rewrites_each_entry_once_with_bbm() {
        let mut env = Fake::new();
        let t = kernel_table();
        let (va, pa, n) = (0x40_1000u32, 0x4040_2000u32, 300u32);
        t.map(&mut env, va, pa, n * 4096, rw()).unwrap();
        let entry = |env: &Fake, v: u32| t.l2_of(env, v).unwrap() + l2_index(v) * 4;
        let entries: Vec<u32> = (0..n).map(|i| entry(&env, va + i * 4096)).collect();
        // Two large pages at 0x0200_0000.
        t.map(&mut env, 0x0200_0000, 0x4201_0000, 2 * LARGE, rw())
            .unwrap();
        let l2 = t.l2_of(&env, 0x0200_0000).unwrap();
        env.log.clear();
        let ro = rw().with_access(Access::KernelRo);
        t.protect(&mut env, va, n * 4096, ro).unwrap();
        t.protect(&mut env, 0x0200_0000, 2 * LARGE, ro).unwrap();
        let log = env.log.clone();
        for (i, &e) in entries.iter().enumerate() {
            let new = desc::small_page(pa + i as u32 * 4096, ro).unwrap();
            assert_eq!(env.read(e), new, "page {i}");
            let writes: Vec<usize> = log
                .iter()
                .enumerate()
                .filter(|(_, x)| matches!(x, Ev::Write(p, _) if *p == e))
                .map(|(j, _)| j)
                .collect();
            assert_eq!(writes.len(), 2, "page {i}: one break, one rewrite");
            assert_eq!(log[writes[0]], Ev::Write(e, 0));
            assert_flushed_between(&log, writes[0], writes[1], va + i as u32 * 4096, "protect");
            if let Some(&ne) = entries.get((i / ROUND + 1) * ROUND) {
                assert!(
                    writes[1] < first(&log, &Ev::Write(ne, 0)),
                    "page {i}: round overrun"
                );
            }
        }
        for k in 0..2u32 {
            let new = desc::large_page(0x4201_0000 + k * LARGE, ro).unwrap();
            for c in 0..16 {
                let e = l2 + (k * 16 + c) * 4;
                assert_eq!(env.read(e), new, "large page {k} copy {c}");
                let brk = first(&log, &Ev::Write(e, 0));
                let mk = first(&log, &Ev::Write(e, new));
                assert!(brk < mk);
                assert_flushed_within(&log, brk, mk, 0x0200_0000 + k * LARGE, LARGE, "large");
            }
        }
        assert_eq!(log[log.len() - 2..], [Ev::Publish, Ev::Sync]);
    }

    /// unmap changes nothing outside `[va, va + size)`: an empty L2 table
    /// in the MiB before the range (as boot code might leave) stays
    /// linked; the range's own emptied table goes.
    #[test]
    fn unmap_leaves_tables_outside_its_range_alone() {
        let mut env = Fake::new();
        let t = kernel_table();
        let before = env.alloc_l2().unwrap();
        env.write(
            t.l1_pa_of(0x20_0000),
            desc::page_table(before, 0, false).unwrap(),
        );
        let after = env.alloc_l2().unwrap();
        env.write(
            t.l1_pa_of(0x40_0000),
            desc::page_table(after, 0, false).unwrap(),
        );
        // MiB 3 (VA bit 20 set), not at its start; the range ends where
        // MiB 4 starts.
        t.map(&mut env, 0x30_1000, 0x4030_1000, 0x2000, rw())
            .unwrap();
        let own = t.l2_of(&env, 0x30_0000).unwrap();
        env.log.clear();
        t.unmap(
            &mut env,
            0x30_1000,
            0x40_0000 - 0x30_1000,
            &mut |_, _, _, _| {},
        )
        .unwrap();
        assert_eq!(t.l2_of(&env, 0x20_0000), Some(before), "outside: kept");
        assert_eq!(t.l2_of(&env, 0x40_0000), Some(after), "outside: kept");
        assert!(!env.log.contains(&Ev::Free(after)));
        assert!(t.l2_of(&env, 0x30_0000).is_none());
        assert!(env.log.contains(&Ev::Free(own)));
        assert!(!env.log.contains(&Ev::Free(before)));
    }

    /// protect of a range whose ends lie in two different sections: both
    /// are split, only the range changes.
    #[test]
    fn protect_across_two_sections_splits_both_ends() {
        let mut env = Fake::new();
        let t = kernel_table();
        t.map(&mut env, 0x300_0000, 0x5000_0000, 2 * MIB, rw())
            .unwrap();
        let ro = rw().with_access(Access::KernelRo);
        t.protect(&mut env, 0x310_0000 - 0x1000, 0x2000, ro)
            .unwrap();
        for (v, want) in [
            (0x310_0000 - 0x2000, rw()),
            (0x310_0000 - 0x1000, ro),
            (0x310_0000, ro),
            (0x310_1000, rw()),
        ] {
            let p = t.lookup(&env, v).unwrap();
            assert_eq!(p.size, 4096, "{v:#x}");
            assert_eq!(p.raw, desc::small_page(p.pa, want).unwrap(), "{v:#x}");
        }
    }

    /// protect of whole sections and supersections rewrites them as
    /// sections and supersections (all 16 copies) with the new attributes.
    #[test]
    fn protect_whole_sections_and_supersections_keeps_their_size() {
        let mut env = Fake::new();
        let t = kernel_table();
        t.map(&mut env, 0x0100_0000, 0x4100_0000, 16 * MIB, rw())
            .unwrap();
        t.map(&mut env, 0x0300_0000, 0x4300_0000, MIB, rw())
            .unwrap();
        let ro = rw().with_access(Access::KernelRo);
        t.protect(&mut env, 0x0100_0000, 16 * MIB, ro).unwrap();
        t.protect(&mut env, 0x0300_0000, MIB, ro).unwrap();
        let sup = desc::supersection(0x4100_0000, ro).unwrap();
        for i in 0..16 {
            assert_eq!(env.read(t.l1_pa_of(0x0100_0000 + i * MIB)), sup, "copy {i}");
        }
        assert_eq!(t.lookup(&env, 0x01FF_F000).unwrap().size, 16 * MIB);
        assert_eq!(
            env.read(t.l1_pa_of(0x0300_0000)),
            desc::section(0x4300_0000, ro, 0).unwrap()
        );
    }

    /// Walks that start inside an unmapped MiB (L1 fault entry) but not
    /// at its start skip to the next MiB: a hole is fine, and what lies
    /// beyond it is found.
    #[test]
    fn unmap_starting_inside_an_unmapped_mib() {
        let mut env = Fake::new();
        let t = kernel_table();
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
        // Nearly 4 GiB of unmapped MiBs, entered one page into the first,
        // with one page inside: the walk skips an unmapped MiB in one step
        // (a crawl through them byte by byte would not finish: unmapping
        // gigabytes must stay cheap, README "When memory runs out").
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
}
