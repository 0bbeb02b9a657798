//! The two whole-table operations of a process's life that touch every
//! present entry of a range: `fork`'s copy of the parent's table into the
//! child's ([`Table::fork_into`]) and the release of a table nobody will
//! walk again ([`Table::clear_dead`]).
//!
//! Both walk the tree itself: each table is visited once, its empty
//! entries skipped with [`TableEnv::first_valid`] (a scan through one
//! pointer), instead of walking from the root for each page and going
//! through the general `map`/`protect`/`unmap` (plan, validate, allocate,
//! break-before-make per call).

use super::{align_down, Entry, Format, MapError, Table, TableEnv, TlbBatch};
use crate::mm::memtype::MapAttrs;
use crate::mm::tlb::{Bounded, ROUND};

/// A parent entry write-protected by [`Table::fork_into`], waiting for its
/// break to be flushed: (first descriptor PA, new descriptor, copies).
type Remake = (u64, u64, u64);

/// What [`Table::fork_into`] carries down the tree.
struct ForkWalk<'a, E> {
    /// The child is a user table: its table links deny privileged
    /// execution (as `map` links them).
    child_pxn: bool,
    va: u64,
    end: u64,
    attrs: MapAttrs,
    cow: bool,
    share: &'a mut dyn FnMut(&mut E, u64, u64) -> bool,
    batch: TlbBatch,
    remake: Bounded<Remake, ROUND>,
}

impl<F: Format> Table<F> {
    /// `fork`: give `child` (a table that no CPU walks yet: a new address
    /// space) every present block of this live table in `[va, end)` (one
    /// VMA), with `attrs`. `share(env, pa, size)` takes the child's
    /// references to a block's frames, all or none (false: refused).
    ///
    /// With `cow`, the parent's blocks get `attrs` too (they are the
    /// read-only copy-on-write attributes): each changed entry is broken,
    /// the breaks flushed together (one DSB, a TLBI per page or one for the
    /// whole ASID past `TLBI_BATCH_LIMIT`, DSB, ISB: ARM ARM B3.10.1 /
    /// D8.14.1 require the parent's old writable translations to leave the
    /// TLB before the fork returns, so its next write faults), then remade.
    /// A permission-only change would not need the break (ARMv7-A B3.10.1
    /// and VMSAv8-64 D8.14.1 list only output address, size, memory type
    /// and, on v8, nG/contiguous changes); it costs one extra descriptor
    /// write per page and keeps every live change of this engine in one
    /// pattern, which the host tests' recorder checks.
    ///
    /// The child's descriptors need no TLB maintenance (no TLB holds an
    /// entry of a table that was never installed), only the DSB that
    /// makes them visible to the walker before it is installed (the
    /// final flush, or `publish`). Missing child tables are allocated
    /// and linked as `map` links them (PXN in the link for a user
    /// table).
    ///
    /// Blocks never straddle `va` or `end` (VMA edges; `OutOfRange`
    /// otherwise). On an error (`NoMemory`: a child table or a reference
    /// refused) the child holds exactly the blocks whose references were
    /// taken, its tables stay linked (the child's teardown frees both),
    /// and every parent entry already changed is flushed and remade.
    #[allow(clippy::too_many_arguments)]
    pub fn fork_into<E: TableEnv<F>>(
        &self,
        env: &mut E,
        child: &Table<F>,
        va: u64,
        end: u64,
        attrs: MapAttrs,
        cow: bool,
        share: &mut dyn FnMut(&mut E, u64, u64) -> bool,
    ) -> Result<(), MapError> {
        if va >= end || !self.covers(va, end - va) || !child.covers(va, end - va) {
            return Err(MapError::OutOfRange);
        }
        let mut w = ForkWalk {
            child_pxn: child.asid.is_some(),
            va,
            end,
            attrs,
            cow,
            share,
            batch: TlbBatch::new(),
            remake: Bounded::new(),
        };
        let root_span = F::entry_size(F::ROOT_LEVEL) as u128 * F::entries(F::ROOT_LEVEL) as u128;
        let base = (va as u128 & !(root_span - 1)) as u64;
        let r = self.fork_level(
            env,
            &mut w,
            self.root_pa,
            child.root_pa,
            F::ROOT_LEVEL,
            base,
        );
        // Also on failure: the entries broken so far are remade.
        self.remake(env, &mut w);
        // The child's descriptors reach the walker before it is installed.
        env.publish();
        r
    }

    /// Flush the parent's breaks queued in `w`, then write their new
    /// descriptors.
    fn remake<E: TableEnv<F>>(&self, env: &mut E, w: &mut ForkWalk<'_, E>) {
        self.flush(&mut w.batch, env);
        for &(first, e, copies) in w.remake.as_slice() {
            for k in 0..copies {
                env.write(first + k * F::ENTRY_BYTES, e);
            }
        }
        if !w.remake.as_slice().is_empty() {
            // Invalid -> valid: visibility only.
            env.publish();
            env.tlb_sync();
        }
        w.remake.clear();
    }

    /// The entries of the parent table `pt` at `level` (covering from
    /// `base`) that meet the walk's range, into the child's table `ct`.
    fn fork_level<E: TableEnv<F>>(
        &self,
        env: &mut E,
        w: &mut ForkWalk<'_, E>,
        pt: u64,
        ct: u64,
        level: u8,
        base: u64,
    ) -> Result<(), MapError> {
        let esz = F::entry_size(level);
        let shift = esz.trailing_zeros();
        // 64-bit arithmetic: a user table's range ends well below 2^64.
        let span_end = base.saturating_add(F::entries(level) << shift);
        let from = (w.va.max(base) - base) >> shift;
        let stop = w.end.min(span_end);
        // Shifts, not divisions (a library call for u64 on 32-bit ARM).
        let to = (stop - base + esz - 1) >> shift;
        let mut i = from;
        while i < to {
            let Some(j) = env.first_valid(pt, i, to) else {
                break;
            };
            let raw = env.read(pt + j * F::ENTRY_BYTES);
            let eva = base + (j << shift);
            match F::decode(raw, level) {
                Entry::Invalid => i = j + 1,
                Entry::Table { next_pa } if level < F::LEAF_LEVEL => {
                    let ce = ct + j * F::ENTRY_BYTES;
                    let cnext = match F::decode(env.read(ce), level) {
                        Entry::Invalid => {
                            let t = env.alloc_table(level + 1).map_err(|_| MapError::NoMemory)?;
                            let link = match self.format.encode_table(t, level, w.child_pxn) {
                                Ok(l) => l,
                                Err(e) => {
                                    env.free_table(t, level + 1);
                                    return Err(e);
                                }
                            };
                            env.write(ce, link);
                            t
                        }
                        Entry::Table { next_pa } => next_pa,
                        Entry::Block { .. } => return Err(MapError::Overlap { va: eva }),
                    };
                    self.fork_level(env, w, next_pa, cnext, level + 1, eva)?;
                    i = j + 1;
                }
                Entry::Table { .. } => i = j + 1,
                Entry::Block { pa, size } => {
                    let bva = align_down(eva, size);
                    if bva < w.va || bva.checked_add(size).is_none_or(|e| e > w.end) {
                        return Err(MapError::OutOfRange);
                    }
                    let copies = size / esz;
                    let first = (bva - base) >> shift;
                    let cfirst = ct + first * F::ENTRY_BYTES;
                    if (0..copies).any(|k| F::is_valid(env.read(cfirst + k * F::ENTRY_BYTES))) {
                        return Err(MapError::Overlap { va: bva });
                    }
                    // Encoded before anything of this block changes (not
                    // checked for every block size up front: that is four
                    // encodings per VMA, and a failure here leaves the
                    // same state as a refused reference).
                    let e = self.format.encode_block(level, size, pa, w.attrs)?;
                    if !(w.share)(env, pa, size) {
                        return Err(MapError::NoMemory);
                    }
                    for k in 0..copies {
                        env.write(cfirst + k * F::ENTRY_BYTES, e);
                    }
                    if w.cow && e != raw {
                        if w.remake.is_full() {
                            self.remake(env, w);
                        }
                        let pfirst = pt + first * F::ENTRY_BYTES;
                        for k in 0..copies {
                            env.write(pfirst + k * F::ENTRY_BYTES, 0);
                            w.batch.push(bva + k * esz);
                        }
                        w.remake.push((pfirst, e, copies));
                    }
                    i = first + copies;
                }
            }
        }
        Ok(())
    }

    /// Remove every present block of `[va, end)` from a table that no CPU
    /// walks any more and of which no TLB holds an entry (a dead address
    /// space whose architecture has retired it: TTBR0 walks off or another
    /// table installed, then its ASID invalidated): nothing needs a break,
    /// a TLB invalidation or a barrier, so each block is reported through
    /// `removed(env, pa, size)` at once, each table wholly inside the range
    /// is freed after its entries, and a table the range only meets is
    /// freed if it is left empty. The root stays (zeroed where the range
    /// was). `OutOfRange` if a block straddles `va` or `end` (found when
    /// the walk reaches it, with what came before already cleared): the
    /// caller finishes with the general `unmap`, which splits it.
    pub fn clear_dead<E: TableEnv<F>>(
        &self,
        env: &mut E,
        va: u64,
        end: u64,
        removed: &mut dyn FnMut(&mut E, u64, u64),
    ) -> Result<(), MapError> {
        if va >= end || !self.covers(va, end - va) {
            return Err(MapError::OutOfRange);
        }
        let root_span = F::entry_size(F::ROOT_LEVEL) as u128 * F::entries(F::ROOT_LEVEL) as u128;
        let base = (va as u128 & !(root_span - 1)) as u64;
        self.clear_level(env, self.root_pa, F::ROOT_LEVEL, base, va, end, removed)
    }

    #[allow(clippy::too_many_arguments)]
    fn clear_level<E: TableEnv<F>>(
        &self,
        env: &mut E,
        t: u64,
        level: u8,
        base: u64,
        va: u64,
        end: u64,
        removed: &mut dyn FnMut(&mut E, u64, u64),
    ) -> Result<(), MapError> {
        let esz = F::entry_size(level);
        let shift = esz.trailing_zeros();
        let span_end = base.saturating_add(F::entries(level) << shift);
        let from = (va.max(base) - base) >> shift;
        let stop = end.min(span_end);
        // Shifts, not divisions (a library call for u64 on 32-bit ARM).
        let to = (stop - base + esz - 1) >> shift;
        let mut i = from;
        while i < to {
            let Some(j) = env.first_valid(t, i, to) else {
                break;
            };
            let e = t + j * F::ENTRY_BYTES;
            let eva = base + (j << shift);
            match F::decode(env.read(e), level) {
                Entry::Invalid => i = j + 1,
                Entry::Table { next_pa } if level < F::LEAF_LEVEL => {
                    let whole = eva >= va && eva.saturating_add(esz) <= end;
                    self.clear_level(env, next_pa, level + 1, eva, va, end, removed)?;
                    // Everything of the range below is gone: the table is
                    // empty unless something lies outside the range, or
                    // in a table at its edge that the range only met.
                    // Only those parts are scanned.
                    let empty = whole || {
                        let sub_shift = F::entry_shift(level + 1);
                        let sub_n = F::entries(level + 1);
                        let sub_from = (va.max(eva) - eva) >> sub_shift;
                        let sub_stop = end.min(eva.saturating_add(esz));
                        let sub_to = (sub_stop - eva + (1 << sub_shift) - 1) >> sub_shift;
                        env.first_valid(next_pa, 0, sub_from + 1).is_none()
                            && env.first_valid(next_pa, sub_to - 1, sub_n).is_none()
                    };
                    if empty {
                        env.write(e, 0);
                        env.free_table(next_pa, level + 1);
                    }
                    i = j + 1;
                }
                Entry::Table { .. } => i = j + 1,
                Entry::Block { pa, size } => {
                    let bva = align_down(eva, size);
                    if bva < va || bva.checked_add(size).is_none_or(|e| e > end) {
                        return Err(MapError::OutOfRange);
                    }
                    let first = (bva - base) >> shift;
                    let copies = size / esz;
                    for k in 0..copies {
                        env.write(t + (first + k) * F::ENTRY_BYTES, 0);
                    }
                    removed(env, pa, size);
                    i = first + copies;
                }
            }
        }
        Ok(())
    }
}
