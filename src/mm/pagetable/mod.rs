//! The translation-table engine, one for every architecture: map, lookup,
//! split, unmap and protect, with break-before-make for every live change.
//!
//! The engine knows nothing of any descriptor format. What is
//! architectural comes from a small [`Format`] (as google's
//! `aarch64-paging` separates its paging logic from the descriptor
//! format): levels and their entry counts, the block sizes a table may
//! map with, descriptor encode/decode, how a block splits into the next
//! size down, and the table-descriptor bits. Memory, table allocation,
//! barriers and TLB maintenance come from a [`TableEnv`], so the same code
//! runs on the target (real DSB/TLBI, `arch/*/mmu.rs`) and in host tests
//! (a recording fake that checks break-before-make, `tests.rs`).
//!
//! A block spans `size / entry_size(level)` identical copies of its
//! descriptor: ARMv7-A supersections (16 L1 entries) and large pages (16
//! L2 entries); every other block is one entry. A block splits in place
//! into its copies when it has several (supersection -> 16 sections, large
//! page -> 16 small pages), else into a new table one level down (ARMv7-A
//! section -> 256 small pages, AArch64 1 GiB -> 512 x 2 MiB -> 512 x 4 KiB).
//!
//! Live changes follow the break-before-make sequence of ARM ARM B3.10.1
//! (ARMv7-A) and D8.14.1 (VMSAv8-64) for changing a valid entry's output
//! address, size or attributes, and for unlinking a table: write the
//! invalid entry, DSB, TLB invalidate by VA (with the ASID of non-global
//! entries; the whole ASID past [`TLBI_BATCH_LIMIT`]), DSB, ISB, then the
//! new entry (or free the table). Invalid -> valid needs only visibility
//! (DSB, ISB): TLBs never hold entries that generate translation faults.

use crate::errno::Errno;
use crate::mm::memtype::MapAttrs;
use crate::mm::planner::{self, PlanError};
pub use crate::mm::tlb::TLBI_BATCH_LIMIT;
use crate::mm::tlb::{Bounded, TlbMaint, ROUND};
use alloc::vec::Vec;

mod fork;
pub mod task;
#[cfg(test)]
pub(crate) mod tests;

/// A descriptor as the engine sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// Translation fault.
    Invalid,
    /// Points at the next-level table.
    Table { next_pa: u64 },
    /// Maps `size` bytes at `pa` (one copy of it, for replicated blocks).
    Block { pa: u64, size: u64 },
}

/// One architecture's translation-table format. The associated functions
/// are the fixed shape of the tables; the methods may depend on the
/// table's own settings (the ARMv7-A domain).
pub trait Format: Copy {
    /// Bytes per descriptor: 4 or 8.
    const ENTRY_BYTES: u64;
    /// The root table's level and the last level (pages).
    const ROOT_LEVEL: u8;
    const LEAF_LEVEL: u8;
    /// Output addresses must fit in this many bits.
    const PA_BITS: u32;

    /// log2 of the VA span of one entry at `level`.
    fn entry_shift(level: u8) -> u32;
    /// Entries in a table at `level`.
    fn entries(level: u8) -> u64;
    /// Whether a raw descriptor is valid (anything but a translation fault).
    fn is_valid(raw: u64) -> bool;
    /// Decode a raw descriptor found at `level`.
    fn decode(raw: u64, level: u8) -> Entry;
    /// Whether privileged execution is denied by the block `raw` at `level`
    /// (inherited by the table that replaces it when it is split).
    fn block_pxn(raw: u64, level: u8) -> bool;

    /// The block sizes this table may map with, largest first, the page
    /// size last (the planner's granules).
    fn block_sizes(&self) -> &'static [u64];
    /// The descriptor of a block of `size` at `level` mapping `pa`.
    fn encode_block(&self, level: u8, size: u64, pa: u64, attrs: MapAttrs)
        -> Result<u64, MapError>;
    /// The descriptor at `level` pointing at the table `next_pa` one level
    /// down; `pxn` denies privileged execution of everything below it.
    fn encode_table(&self, next_pa: u64, level: u8, pxn: bool) -> Result<u64, MapError>;
    /// The descriptor of the piece at `offset` inside the block `raw` of
    /// `size` at `level`, with the same attributes: one copy-sized entry at
    /// the same level if the block has several copies, else one entry of
    /// the table one level down.
    fn split_block(&self, raw: u64, level: u8, size: u64, offset: u64) -> u64;

    /// `encode_block(level, size, pa, attrs)` from `template`, the same
    /// block's descriptor at PA 0, where the format places the address
    /// by itself (an OR): attributes are encoded once per map, not once
    /// per page. `None` where it cannot (the engine then encodes).
    fn with_output_address(&self, _template: u64, _level: u8, _size: u64, _pa: u64) -> Option<u64> {
        None
    }

    /// VA span of one entry at `level`.
    fn entry_size(level: u8) -> u64 {
        1 << Self::entry_shift(level)
    }
    /// Bytes of a table at `level`.
    fn table_bytes(level: u8) -> u64 {
        Self::entries(level) * Self::ENTRY_BYTES
    }
    /// The level a block of `size` lives at: the first whose entries are
    /// no larger than it.
    fn level_of(size: u64) -> u8 {
        let mut level = Self::ROOT_LEVEL;
        while level < Self::LEAF_LEVEL && Self::entry_size(level) > size {
            level += 1;
        }
        level
    }
}

/// What the table code needs from the machine.
pub trait TableEnv<F: Format> {
    /// Read the descriptor at physical address `pa`.
    fn read(&self, pa: u64) -> u64;
    /// Write one descriptor (single-copy atomic). On CPUs whose table walks
    /// are not coherent with the data cache, the implementation also
    /// cleans the line to PoU.
    fn write(&mut self, pa: u64, val: u64);
    /// A zeroed table for `level` (`F::table_bytes(level)`, aligned to its size).
    fn alloc_table(&mut self, level: u8) -> Result<u64, Errno>;
    fn free_table(&mut self, pa: u64, level: u8);
    /// DSB: descriptor writes become visible to the table walker.
    fn publish(&mut self);
    /// Invalidate TLB entries (and walk caches) for `va`: for `asid` only,
    /// or for every ASID when `None` (global entries).
    fn tlb_invalidate(&mut self, va: u64, asid: Option<u16>);
    /// Invalidate every TLB entry of `asid` (or the whole TLB).
    fn tlb_invalidate_all(&mut self, asid: Option<u16>);
    /// DSB then ISB: invalidations complete and later fetches see them.
    fn tlb_sync(&mut self);
    /// Clean and invalidate data-cache lines of a VA range that is still
    /// mapped cacheable, before it becomes non-cacheable. `pa` is where
    /// the range maps (one block: physically contiguous), for caches
    /// maintained by physical address (an outer L2C-310).
    fn clean_invalidate_dcache(&mut self, va: u64, pa: u64, size: u64);
    /// Whether the table at `pa` (at `level`) holds no valid entry.
    fn table_is_empty(&self, pa: u64, level: u8) -> bool {
        (0..F::entries(level)).all(|i| !F::is_valid(self.read(pa + i * F::ENTRY_BYTES)))
    }
    /// The first index in `[from, to)` (within the table) of the table at
    /// `pa` whose entry is valid. The hardware environments scan the
    /// table through one pointer instead of translating every entry's
    /// address (fork and teardown cross thousands of empty entries).
    fn first_valid(&self, pa: u64, from: u64, to: u64) -> Option<u64> {
        (from..to).find(|&i| F::is_valid(self.read(pa + i * F::ENTRY_BYTES)))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    Plan(PlanError),
    /// Something is already mapped at this address.
    Overlap {
        va: u64,
    },
    /// The range is not covered by this table (e.g. kernel half in a
    /// user table).
    OutOfRange,
    NoMemory,
    /// The attributes have no encoding in this format (AArch64: EL1 RW +
    /// EL0 RO).
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

/// A present translation found by [`Table::lookup`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Present {
    /// First VA of the block or page.
    pub va: u64,
    pub pa: u64,
    pub size: u64,
    /// The descriptor (the first copy of a replicated block).
    pub raw: u64,
    /// The level it was found at.
    pub level: u8,
}

/// One root table and the tables below it.
#[derive(Clone, Copy, Debug)]
pub struct Table<F> {
    /// Physical address of the root table (TTBRn).
    pub root_pa: u64,
    /// VA range this table translates, inclusive (a TTBR0 table holds the
    /// user half only).
    pub va_lo: u64,
    pub va_hi: u64,
    /// ASID for TLB maintenance of non-global entries (user tables).
    pub asid: Option<u16>,
    /// The descriptor format, with this table's settings.
    pub format: F,
}

fn align_down(va: u64, size: u64) -> u64 {
    va & !(size - 1)
}

fn index<F: Format>(va: u64, level: u8) -> u64 {
    (va >> F::entry_shift(level)) & (F::entries(level) - 1)
}

fn entry_pa<F: Format>(table_pa: u64, va: u64, level: u8) -> u64 {
    table_pa + index::<F>(va, level) * F::ENTRY_BYTES
}

/// The deepest entry a walk of `va` reaches: a block or an invalid entry
/// at `level`, in the table at `table`.
#[derive(Clone, Copy, Debug)]
struct Slot {
    level: u8,
    table: u64,
    raw: u64,
}

/// A table [`Table::map`] must create: the table for `level` covering `va`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Missing {
    level: u8,
    va: u64,
}

/// Binds one table's ASID to the environment for a batch flush.
struct Maint<'e, E, F> {
    env: &'e mut E,
    asid: Option<u16>,
    format: core::marker::PhantomData<F>,
}

impl<F: Format, E: TableEnv<F>> TlbMaint<u64> for Maint<'_, E, F> {
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

impl<F: Format> Table<F> {
    fn covers(&self, va: u64, size: u64) -> bool {
        size != 0
            && va >= self.va_lo
            && va
                .checked_add(size - 1)
                .is_some_and(|last| last <= self.va_hi)
    }

    fn page_size() -> u64 {
        F::entry_size(F::LEAF_LEVEL)
    }

    /// Break-before-make steps 2 to 4 for the entries broken into `batch`.
    fn flush<E: TableEnv<F>>(&self, batch: &mut TlbBatch, env: &mut E) {
        batch.flush(&mut Maint {
            env,
            asid: self.asid,
            format: core::marker::PhantomData::<F>,
        });
    }

    fn slot<E: TableEnv<F>>(&self, env: &E, va: u64) -> Slot {
        let mut t = self.root_pa;
        let mut level = F::ROOT_LEVEL;
        loop {
            let e = entry_pa::<F>(t, va, level);
            let raw = env.read(e);
            match F::decode(raw, level) {
                Entry::Table { next_pa } if level < F::LEAF_LEVEL => {
                    t = next_pa;
                    level += 1;
                }
                _ => {
                    return Slot {
                        level,
                        table: t,
                        raw,
                    }
                }
            }
        }
    }

    /// The table at `level` that translates `va`, if linked.
    fn table_of<E: TableEnv<F>>(&self, env: &E, va: u64, level: u8) -> Option<u64> {
        let mut t = self.root_pa;
        for l in F::ROOT_LEVEL..level {
            match F::decode(env.read(entry_pa::<F>(t, va, l)), l) {
                Entry::Table { next_pa } => t = next_pa,
                _ => return None,
            }
        }
        Some(t)
    }

    /// Every block size this table may hold encodes with `attrs` (checked
    /// at PA 0: a present block's PA is aligned, so it encodes too).
    fn check_attrs(&self, attrs: MapAttrs) -> Result<(), MapError> {
        for &size in self.format.block_sizes() {
            self.format
                .encode_block(F::level_of(size), size, 0, attrs)?;
        }
        Ok(())
    }

    /// First present block at or after `va` below the table `t` at `level`
    /// (whose region starts at or before `va`), within `[va, end)`.
    fn first_present_below<E: TableEnv<F>>(
        &self,
        env: &E,
        t: u64,
        level: u8,
        va: u64,
        end: u128,
    ) -> Option<u64> {
        let size = F::entry_size(level);
        let mut cur = va as u128;
        while cur < end {
            let v = cur as u64;
            match F::decode(env.read(entry_pa::<F>(t, v, level)), level) {
                Entry::Invalid => {}
                Entry::Table { next_pa } => {
                    if let Some(f) = self.first_present_below(env, next_pa, level + 1, v, end) {
                        return Some(f);
                    }
                }
                Entry::Block { .. } => return Some(v),
            }
            cur = align_down(v, size) as u128 + size as u128;
            // Stay inside this table's region.
            if index::<F>(cur as u64, level) == 0 {
                break;
            }
        }
        None
    }

    /// Map `[va, va + size)` to `[pa, pa + size)` with the largest blocks
    /// the planner finds where va, pa and the remaining size line up.
    /// Refuses (and changes nothing) if any part is already mapped, or if
    /// a needed table cannot be allocated: every missing table is
    /// allocated before anything is written. An empty table where a block
    /// goes is unlinked (break-before-make) and freed.
    pub fn map<E: TableEnv<F>>(
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
        let chunks =
            planner::plan(va, pa, size, self.format.block_sizes()).map_err(MapError::Plan)?;
        // Every chunk's descriptor must be encodable before anything changes.
        self.check_attrs(attrs)?;
        if (pa + (size - 1)) >> F::PA_BITS != 0 {
            return Err(MapError::Plan(PlanError::Overflow));
        }

        // Validate: nothing mapped in the range; collect missing tables.
        // An existing table where a block goes is an overlap if anything
        // below it is mapped, else it is replaced (`stale`). Chunks come in
        // ascending VA order, so a table already listed as missing is the
        // last one listed at its level.
        let mut missing: Vec<Missing> = Vec::new();
        let mut last_missing: [Option<Missing>; 8] = [None; 8];
        let mut stale: Vec<(u64, u64, u8, u64)> = Vec::new();
        // The table at the chunk's level for the region last walked (its
        // first VA, its level, the table or `None` if it is missing and
        // listed): consecutive entries of one table need one walk, not
        // one each (a walk is 2-4 reads and decodes per page).
        let mut known: Option<(u64, u8, Option<u64>)> = None;
        for c in chunks.clone() {
            let want = F::level_of(c.size);
            let esz = F::entry_size(want);
            // The span of one table at level `want`.
            let span_mask = if want > F::ROOT_LEVEL {
                !(F::entry_size(want - 1) - 1)
            } else {
                0
            };
            for k in 0..c.size / esz {
                let cva = c.va + k * esz;
                match known {
                    Some((region, level, None)) if level == want && cva & span_mask == region => {
                        continue;
                    }
                    Some((region, level, Some(t)))
                        if level == want && cva & span_mask == region =>
                    {
                        let e = entry_pa::<F>(t, cva, want);
                        let raw = env.read(e);
                        if !F::is_valid(raw) {
                            continue;
                        }
                        // Anything else takes the full walk below.
                    }
                    _ => {}
                }
                known = None;
                let mut t = self.root_pa;
                for level in F::ROOT_LEVEL..=want {
                    let e = entry_pa::<F>(t, cva, level);
                    match F::decode(env.read(e), level) {
                        Entry::Invalid => {
                            known = Some((cva & span_mask, want, (level == want).then_some(t)));
                            for l in level + 1..=want {
                                let m = Missing {
                                    level: l,
                                    va: align_down(cva, F::entry_size(l - 1)),
                                };
                                if last_missing[l as usize] != Some(m) {
                                    last_missing[l as usize] = Some(m);
                                    missing.try_reserve(1).map_err(|_| MapError::NoMemory)?;
                                    missing.push(m);
                                }
                            }
                            break;
                        }
                        Entry::Table { next_pa } if level < want => t = next_pa,
                        Entry::Table { next_pa } => {
                            let end = cva as u128 + esz as u128;
                            if let Some(v) =
                                self.first_present_below(env, next_pa, level + 1, cva, end)
                            {
                                return Err(MapError::Overlap { va: v });
                            }
                            stale.try_reserve(1).map_err(|_| MapError::NoMemory)?;
                            stale.push((cva, e, level, next_pa));
                            break;
                        }
                        Entry::Block { .. } => {
                            let bva = align_down(cva, F::entry_size(level));
                            return Err(MapError::Overlap { va: bva.max(c.va) });
                        }
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
            match env.alloc_table(m.level) {
                Ok(t) => tables.push((m, t)),
                Err(_) => {
                    for &(m, t) in &tables {
                        env.free_table(t, m.level);
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
        self.flush(&mut batch, env);
        for &(_, _, level, next_pa) in &stale {
            self.free_tree(env, next_pa, level + 1);
        }

        // Link new tables, parents before children. A user table (one with
        // an ASID) holds only user memory, which the kernel must never
        // execute: its table descriptors deny privileged execution where
        // the format can say so (ARMv7-A small and large pages have no PXN
        // bit; the L1 page-table descriptor's PXN governs them, B3.5.1).
        tables.sort_by_key(|(m, _)| m.level);
        for &(m, t) in &tables {
            let parent = self
                .table_of(env, m.va, m.level - 1)
                .ok_or(MapError::NoMemory)?;
            let e = self
                .format
                .encode_table(t, m.level - 1, self.asid.is_some())?;
            env.write(entry_pa::<F>(parent, m.va, m.level - 1), e);
        }

        // The table last written into, by the first VA of its span and its
        // level: consecutive chunks in one table need one walk. The
        // descriptor at PA 0 of the last block size (the attributes
        // encoded once).
        let mut last: Option<(u64, u8, u64)> = None;
        let mut template: Option<(u64, u64)> = None;
        for c in chunks {
            let level = F::level_of(c.size);
            let span_mask = if level > F::ROOT_LEVEL {
                !(F::entry_size(level - 1) - 1)
            } else {
                0
            };
            let t = match last {
                Some((region, l, t)) if l == level && c.va & span_mask == region => t,
                _ => {
                    let t = self.table_of(env, c.va, level).ok_or(MapError::NoMemory)?;
                    last = Some((c.va & span_mask, level, t));
                    t
                }
            };
            let t0 = match template {
                Some((size, d)) if size == c.size => d,
                _ => {
                    let d = self.format.encode_block(level, c.size, 0, attrs)?;
                    template = Some((c.size, d));
                    d
                }
            };
            let e = match self.format.with_output_address(t0, level, c.size, c.pa) {
                Some(e) => e,
                None => self.format.encode_block(level, c.size, c.pa, attrs)?,
            };
            let first = entry_pa::<F>(t, c.va, level);
            for k in 0..c.size / F::entry_size(level) {
                env.write(first + k * F::ENTRY_BYTES, e);
            }
        }
        // Invalid -> valid: only visibility is needed, DSB + ISB.
        env.publish();
        env.tlb_sync();
        Ok(())
    }

    /// Free the unlinked (and flushed) table `t` at `level` and every
    /// table below it: a walk of the tree itself, so nothing is collected.
    fn free_tree<E: TableEnv<F>>(&self, env: &mut E, t: u64, level: u8) {
        if level < F::LEAF_LEVEL {
            for i in 0..F::entries(level) {
                let raw = env.read(t + i * F::ENTRY_BYTES);
                if let Entry::Table { next_pa } = F::decode(raw, level) {
                    self.free_tree(env, next_pa, level + 1);
                }
            }
        }
        env.free_table(t, level);
    }

    /// The present translation covering `va`, if any.
    pub fn lookup<E: TableEnv<F>>(&self, env: &E, va: u64) -> Option<Present> {
        if !self.covers(va, 1) {
            return None;
        }
        let s = self.slot(env, va);
        match F::decode(s.raw, s.level) {
            Entry::Block { pa, size } => Some(Present {
                va: align_down(va, size),
                pa,
                size,
                raw: s.raw,
                level: s.level,
            }),
            _ => None,
        }
    }

    /// The first present block meeting `[va, end)` (it may start before
    /// `va`), skipping invalid entries whole.
    pub fn next_present<E: TableEnv<F>>(&self, env: &E, va: u64, end: u64) -> Option<Present> {
        let end = (end as u128).min(self.va_hi as u128 + 1);
        let mut cur = va.max(self.va_lo) as u128;
        while cur < end {
            let v = cur as u64;
            let s = self.slot(env, v);
            match F::decode(s.raw, s.level) {
                Entry::Block { pa, size } => {
                    return Some(Present {
                        va: align_down(v, size),
                        pa,
                        size,
                        raw: s.raw,
                        level: s.level,
                    })
                }
                // Empty entries are skipped in their table (a sparse 8 MiB
                // stack is 2048 of them), not walked from the root each.
                _ => cur = self.skip_empty(env, s, v, end),
            }
        }
        None
    }

    /// Point the present page (a smallest-size block) at `va` to `pa`
    /// with `attrs`, break-before-make: the old frame is unreachable, TLB
    /// entries included, when this returns. Needs no memory: `OutOfRange`
    /// if no such page is there, and nothing changes then or if `attrs`
    /// do not encode.
    pub fn replace_page<E: TableEnv<F>>(
        &self,
        env: &mut E,
        va: u64,
        pa: u64,
        attrs: MapAttrs,
    ) -> Result<(), MapError> {
        let page = Self::page_size();
        let p = self.lookup(env, va).ok_or(MapError::OutOfRange)?;
        if p.va != va || p.size != page {
            return Err(MapError::OutOfRange);
        }
        if !pa.is_multiple_of(page) || pa >> F::PA_BITS != 0 {
            return Err(MapError::Plan(PlanError::Misaligned));
        }
        let e = self.format.encode_block(p.level, p.size, pa, attrs)?;
        let table = self
            .table_of(env, va, p.level)
            .ok_or(MapError::OutOfRange)?;
        let slot = entry_pa::<F>(table, va, p.level);
        let mut batch = TlbBatch::new();
        env.write(slot, 0);
        batch.push(va);
        self.flush(&mut batch, env);
        env.write(slot, e);
        env.publish();
        env.tlb_sync();
        Ok(())
    }

    /// Make `va` a block boundary: a block holding `va` is split into the
    /// next size down (in place into its copies, or into a new table one
    /// level down), with break-before-make and the same translation and
    /// attributes, until `va` is a boundary. No-op if it already is one or
    /// nothing is mapped there.
    pub fn split_at<E: TableEnv<F>>(&self, env: &mut E, va: u64) -> Result<(), MapError> {
        if !va.is_multiple_of(Self::page_size()) {
            return Err(MapError::Plan(PlanError::Misaligned));
        }
        let Some(p) = self.lookup(env, va) else {
            return Ok(());
        };
        if p.va == va {
            return Ok(());
        }
        let esz = F::entry_size(p.level);
        let table = self
            .table_of(env, p.va, p.level)
            .ok_or(MapError::NoMemory)?;
        let first = entry_pa::<F>(table, p.va, p.level);
        let mut batch = TlbBatch::new();
        if p.size > esz {
            // Several copies: each becomes one block of the copy's size.
            let copies = p.size / esz;
            for i in 0..copies {
                env.write(first + i * F::ENTRY_BYTES, 0);
                batch.push(p.va + i * esz);
            }
            self.flush(&mut batch, env);
            for i in 0..copies {
                let piece = self.format.split_block(p.raw, p.level, p.size, i * esz);
                env.write(first + i * F::ENTRY_BYTES, piece);
            }
        } else {
            // One entry: build the next-level table fully before it
            // becomes reachable.
            let sub_level = p.level + 1;
            let t = env.alloc_table(sub_level).map_err(|_| MapError::NoMemory)?;
            let sub = F::entry_size(sub_level);
            for i in 0..F::entries(sub_level) {
                let piece = self.format.split_block(p.raw, p.level, p.size, i * sub);
                env.write(t + i * F::ENTRY_BYTES, piece);
            }
            let pxn = F::block_pxn(p.raw, p.level);
            let link = match self.format.encode_table(t, p.level, pxn) {
                Ok(l) => l,
                Err(e) => {
                    env.free_table(t, sub_level);
                    return Err(e);
                }
            };
            env.write(first, 0);
            batch.push(p.va);
            self.flush(&mut batch, env);
            env.write(first, link);
        }
        env.publish();
        env.tlb_sync();
        // The smaller block holding `va` may itself need splitting.
        self.split_at(env, va)
    }

    /// Check the range and make both of its ends block boundaries.
    fn split_edges<E: TableEnv<F>>(
        &self,
        env: &mut E,
        va: u64,
        size: u64,
    ) -> Result<u128, MapError> {
        let page = Self::page_size();
        if !va.is_multiple_of(page) || !size.is_multiple_of(page) || size == 0 {
            return Err(MapError::Plan(PlanError::Misaligned));
        }
        if !self.covers(va, size) {
            return Err(MapError::OutOfRange);
        }
        let end = va as u128 + size as u128;
        self.split_at(env, va)?;
        if end <= self.va_hi as u128 {
            self.split_at(env, end as u64)?;
        }
        Ok(end)
    }

    /// Unmap everything present in `[va, va + size)`. Holes are fine.
    /// Each removed block is reported as (va, pa, size) through `removed`
    /// only after its TLB entries are gone, so the caller may free frames.
    /// Tables left empty are unlinked (break-before-make) and freed.
    ///
    /// The work is done in rounds of at most [`ROUND`] blocks (break,
    /// flush, report or free), so no memory proportional to the range is
    /// needed and nothing can fail halfway for lack of memory.
    pub fn unmap<E: TableEnv<F>>(
        &self,
        env: &mut E,
        va: u64,
        size: u64,
        removed: &mut dyn FnMut(&mut E, u64, u64, u64),
    ) -> Result<(), MapError> {
        // Nothing mapped in the range (an untouched mapping, a hole): one
        // walk says so, and no edge needs splitting. The arguments are
        // checked as `split_edges` checks them.
        let page = Self::page_size();
        let end = if va.is_multiple_of(page)
            && size.is_multiple_of(page)
            && size != 0
            && self.covers(va, size)
        {
            let Some(first) = self.next_present(env, va, va.saturating_add(size)) else {
                return Ok(());
            };
            // The first block tells which edges may need splitting: none
            // straddles `va` if it starts there or after, none straddles
            // the end if it ends exactly there.
            let end = va as u128 + size as u128;
            if first.va < va {
                self.split_at(env, va)?;
            }
            if first.va as u128 + first.size as u128 != end && end <= self.va_hi as u128 {
                self.split_at(env, end as u64)?;
            }
            end
        } else {
            self.split_edges(env, va, size)?
        };
        let mut cur = va as u128;
        let mut any = false;
        while cur < end {
            let mut batch = TlbBatch::new();
            let mut gone: Bounded<Present, ROUND> = Bounded::new();
            cur = self.break_present(env, cur as u64, end, &mut batch, |p, _| {
                gone.push(p);
            });
            self.flush(&mut batch, env);
            any |= !gone.as_slice().is_empty();
            for p in gone.as_slice() {
                removed(env, p.va, p.pa, p.size);
            }
        }
        // Nothing was mapped there (an untouched mapping): no table can
        // have become empty, so none is scanned.
        if !any {
            return Ok(());
        }
        // Unlink tables left empty, deepest first; freed only after the TLB
        // sync, since walk caches may hold them.
        let mut batch = TlbBatch::new();
        let mut empty: Bounded<(u64, u8), ROUND> = Bounded::new();
        let root_span = F::entry_size(F::ROOT_LEVEL) as u128 * F::entries(F::ROOT_LEVEL) as u128;
        // A power of two: a mask, not a 128-bit division.
        let root_base = va as u128 & !(root_span - 1);
        self.prune(
            env,
            self.root_pa,
            F::ROOT_LEVEL,
            root_base,
            va,
            end,
            &mut batch,
            &mut empty,
        );
        self.free_unlinked(env, &mut batch, &mut empty);
        Ok(())
    }

    /// Unlink every empty table below the table `t` at `level` (whose
    /// region starts at `base`) for the entries meeting `[va, end)`.
    #[allow(clippy::too_many_arguments)]
    fn prune<E: TableEnv<F>>(
        &self,
        env: &mut E,
        t: u64,
        level: u8,
        base: u128,
        va: u64,
        end: u128,
        batch: &mut TlbBatch,
        empty: &mut Bounded<(u64, u8), ROUND>,
    ) {
        let esz = F::entry_size(level) as u128;
        let top = base + esz * F::entries(level) as u128;
        let mut cur = (align_down(va, esz as u64) as u128).max(base);
        while cur < end && cur < top {
            let v = cur as u64;
            let e = entry_pa::<F>(t, v, level);
            if let Entry::Table { next_pa } = F::decode(env.read(e), level) {
                if level + 1 < F::LEAF_LEVEL {
                    self.prune(env, next_pa, level + 1, cur, va, end, batch, empty);
                }
                if env.table_is_empty(next_pa, level + 1) {
                    if empty.is_full() {
                        self.free_unlinked(env, batch, empty);
                    }
                    env.write(e, 0);
                    batch.push(v);
                    empty.push((next_pa, level + 1));
                }
            }
            cur += esz;
        }
    }

    /// Flush the unlinks queued in `batch`, then free the tables.
    fn free_unlinked<E: TableEnv<F>>(
        &self,
        env: &mut E,
        batch: &mut TlbBatch,
        tables: &mut Bounded<(u64, u8), ROUND>,
    ) {
        self.flush(batch, env);
        for &(t, level) in tables.as_slice() {
            env.free_table(t, level);
        }
        tables.clear();
    }

    /// Give every present entry in `[va, va + size)` the new attributes,
    /// keeping its physical address, with break-before-make, in rounds of
    /// at most [`ROUND`] blocks. Every descriptor is encodable (checked
    /// first), so once entries change, the operation completes.
    pub fn protect<E: TableEnv<F>>(
        &self,
        env: &mut E,
        va: u64,
        size: u64,
        attrs: MapAttrs,
    ) -> Result<(), MapError> {
        self.check_attrs(attrs)?;
        let end = self.split_edges(env, va, size)?;
        // Lines cached through the old attributes must not survive into a
        // non-cacheable mapping (mismatched attributes, ARM ARM B2.2.9 /
        // B2.8): clean+invalidate while the old mapping is still live.
        if !attrs.mem.is_cacheable() {
            self.for_each_present(env, va, end, usize::MAX, |env, p, _| {
                env.clean_invalidate_dcache(p.va, p.pa, p.size)
            });
        }
        let mut cur = va as u128;
        while cur < end {
            let mut batch = TlbBatch::new();
            let mut rewrite: Bounded<(u64, Present), ROUND> = Bounded::new();
            cur = self.break_present(env, cur as u64, end, &mut batch, |p, first| {
                rewrite.push((first, p));
            });
            self.flush(&mut batch, env);
            for &(first, p) in rewrite.as_slice() {
                // Encodable: checked above, and present PAs are aligned.
                if let Ok(e) = self.format.encode_block(p.level, p.size, p.pa, attrs) {
                    for k in 0..p.size / F::entry_size(p.level) {
                        env.write(first + k * F::ENTRY_BYTES, e);
                    }
                }
            }
            env.publish();
            env.tlb_sync();
        }
        Ok(())
    }

    /// Break-before-make, first half, for one round: from `cur`, write up
    /// to [`ROUND`] present blocks invalid (every copy), queue their TLB
    /// invalidations and hand each (block, first descriptor PA) to `keep`.
    /// Returns where the next round starts (`end` when done).
    fn break_present<E: TableEnv<F>>(
        &self,
        env: &mut E,
        cur: u64,
        end: u128,
        batch: &mut TlbBatch,
        mut keep: impl FnMut(Present, u64),
    ) -> u128 {
        self.for_each_present(env, cur, end, ROUND, |env, p, first| {
            let esz = F::entry_size(p.level);
            for k in 0..p.size / esz {
                env.write(first + k * F::ENTRY_BYTES, 0);
                batch.push(p.va + k * esz);
            }
            keep(p, first);
        })
    }

    /// Visit up to `limit` present blocks starting inside `[va, end)`
    /// (blocks straddling the edges must have been split first), with the
    /// address of each block's first descriptor. Invalid entries are
    /// skipped whole. Returns where the visit stopped: `end`, or the
    /// address after the `limit`-th block.
    fn for_each_present<E: TableEnv<F>>(
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
            // Then stay in the table the walk reached while the entries
            // are its blocks or holes: one walk per table, not per block.
            let esz = F::entry_size(s.level);
            let span = esz as u128 * F::entries(s.level) as u128;
            let table_end = (align_down(v, esz) as u128 & !(span - 1)) + span;
            let (mut here, mut raw) = (v, s.raw);
            loop {
                match F::decode(raw, s.level) {
                    Entry::Block { pa, size } => {
                        let base = align_down(here, size);
                        let p = Present {
                            va: base,
                            pa,
                            size,
                            raw,
                            level: s.level,
                        };
                        f(env, p, entry_pa::<F>(s.table, base, s.level));
                        seen += 1;
                        cur = base as u128 + size as u128;
                    }
                    Entry::Invalid => {
                        let hole = Slot {
                            level: s.level,
                            table: s.table,
                            raw,
                        };
                        cur = self.skip_empty(env, hole, here, end);
                    }
                    // A table below this entry: walk from the root again.
                    Entry::Table { .. } => break,
                }
                if cur >= end || seen >= limit || cur >= table_end {
                    break;
                }
                here = cur as u64;
                raw = env.read(entry_pa::<F>(s.table, here, s.level));
            }
        }
        cur.min(end)
    }

    /// After the invalid entry `s` (reached for `v`): the first address at
    /// or below `end` whose entry in the same table is valid, or the end
    /// of that table's region. Reads the table directly instead of walking
    /// from the root for each empty entry.
    fn skip_empty<E: TableEnv<F>>(&self, env: &E, s: Slot, v: u64, end: u128) -> u128 {
        let size = F::entry_size(s.level);
        let cur = align_down(v, size) as u128 + size as u128;
        // Entry sizes and counts are powers of two: masks, not a 128-bit
        // division (a library call on 32-bit ARM).
        let span = size as u128 * F::entries(s.level) as u128;
        let table_start = align_down(v, size) as u128 & !(span - 1);
        let stop = end.min(table_start + span);
        if cur >= stop {
            return cur;
        }
        // Indexes within this table: [from, to) covers [cur, stop).
        let shift = size.trailing_zeros();
        let from = ((cur - table_start) >> shift) as u64;
        let to = ((stop - table_start + size as u128 - 1) >> shift) as u64;
        match env.first_valid(s.table, from, to) {
            Some(i) => table_start + ((i as u128) << shift),
            None => stop,
        }
    }
}
