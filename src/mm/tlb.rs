//! TLB invalidations gathered during one table operation, flushed in the
//! order break-before-make needs. Shared by both architectures' table code.

use core::mem::MaybeUninit;

/// Above this many invalidations in one operation, invalidating the whole
/// ASID (or the whole TLB for global entries) is cheaper.
pub const TLBI_BATCH_LIMIT: usize = 64;

/// How many broken entries a table operation holds before it flushes the
/// TLB and acts on them (frees frames, writes the new entries). Bounded,
/// so unmapping or protecting gigabytes needs no memory proportional to
/// the range: the work is done in rounds of at most this many blocks.
/// Above [`TLBI_BATCH_LIMIT`], so a full round of small pages costs one
/// whole-ASID invalidation; small enough for a 32 KiB kernel stack.
pub const ROUND: usize = 128;

/// The maintenance one flush performs, for one table (ASID already bound).
pub trait TlbMaint<A> {
    /// DSB: the invalid entries are visible to the table walker.
    fn publish(&mut self);
    fn invalidate(&mut self, va: A);
    fn invalidate_all(&mut self);
    /// DSB, then ISB.
    fn sync(&mut self);
}

/// A fixed-capacity list on the stack: table operations must not allocate
/// in proportion to the range they change (a failed allocation there
/// would leave the table half changed).
pub struct Bounded<T: Copy + Default, const N: usize> {
    /// The first `len` are initialised. Left uninitialised otherwise: a
    /// round buffer is made on every unmap/protect, and filling kilobytes
    /// of stack with defaults would cost more than the small operations it
    /// serves.
    items: [MaybeUninit<T>; N],
    len: usize,
}

impl<T: Copy + Default, const N: usize> Bounded<T, N> {
    pub fn new() -> Self {
        Bounded {
            items: [const { MaybeUninit::uninit() }; N],
            len: 0,
        }
    }

    /// Append; `false` (and nothing stored) when full.
    pub fn push(&mut self, v: T) -> bool {
        match self.items.get_mut(self.len) {
            Some(slot) => {
                slot.write(v);
                self.len += 1;
                true
            }
            None => false,
        }
    }

    pub fn is_full(&self) -> bool {
        self.len == N
    }

    pub fn as_slice(&self) -> &[T] {
        let init = &self.items[..self.len.min(N)];
        // SAFETY: `push` initialised every item below `len` (and `len`
        // never exceeds N); MaybeUninit<T> has T's layout.
        unsafe { core::slice::from_raw_parts(init.as_ptr().cast::<T>(), init.len()) }
    }

    pub fn clear(&mut self) {
        self.len = 0;
    }
}

impl<T: Copy + Default, const N: usize> Default for Bounded<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

pub struct TlbBatch<A: Copy + Default> {
    vas: Bounded<A, TLBI_BATCH_LIMIT>,
    overflow: bool,
}

impl<A: Copy + Default> TlbBatch<A> {
    pub fn new() -> Self {
        TlbBatch {
            vas: Bounded::new(),
            overflow: false,
        }
    }

    pub fn push(&mut self, va: A) {
        if !self.vas.push(va) {
            self.overflow = true;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.vas.as_slice().is_empty() && !self.overflow
    }

    /// Break-before-make steps 2 and 3 (ARM ARM B3.10.1 / D8.14.1): DSB so
    /// the walker sees the invalid entries, TLBI, then DSB + ISB before any
    /// new entry is written. Nothing queued: nothing done.
    pub fn flush(&mut self, m: &mut impl TlbMaint<A>) {
        if self.is_empty() {
            return;
        }
        m.publish();
        if self.overflow {
            m.invalidate_all();
        } else {
            for &va in self.vas.as_slice() {
                m.invalidate(va);
            }
        }
        m.sync();
        self.vas.clear();
        self.overflow = false;
    }
}

impl<A: Copy + Default> Default for TlbBatch<A> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[derive(Default)]
    struct Log(Vec<&'static str>, Vec<u32>);

    impl TlbMaint<u32> for Log {
        fn publish(&mut self) {
            self.0.push("dsb");
        }
        fn invalidate(&mut self, va: u32) {
            self.0.push("tlbi");
            self.1.push(va);
        }
        fn invalidate_all(&mut self) {
            self.0.push("tlbi-all");
        }
        fn sync(&mut self) {
            self.0.push("dsb+isb");
        }
    }

    #[test]
    fn order_and_overflow() {
        let mut b = TlbBatch::new();
        let mut l = Log::default();
        b.flush(&mut l);
        assert!(l.0.is_empty(), "nothing queued, nothing done");
        b.push(0x1000);
        b.push(0x2000);
        b.flush(&mut l);
        assert_eq!(l.0, ["dsb", "tlbi", "tlbi", "dsb+isb"]);
        assert_eq!(l.1, [0x1000, 0x2000]);
        let mut l = Log::default();
        for i in 0..=TLBI_BATCH_LIMIT as u32 {
            b.push(i << 12);
        }
        b.flush(&mut l);
        assert_eq!(l.0, ["dsb", "tlbi-all", "dsb+isb"]);
        assert!(b.is_empty());
    }

    #[test]
    fn bounded_holds_exactly_n_then_refuses() {
        let mut b: Bounded<u32, 3> = Bounded::new();
        assert!(!b.is_full() && b.as_slice().is_empty());
        assert!(b.push(1) && b.push(2));
        assert!(!b.is_full(), "2 of 3");
        assert!(b.push(3));
        assert!(b.is_full());
        assert!(!b.push(4), "full: refused");
        assert_eq!(b.as_slice(), [1, 2, 3], "nothing stored past N");
        b.clear();
        assert!(!b.is_full() && b.as_slice().is_empty());
        assert!(b.push(5));
        assert_eq!(b.as_slice(), [5]);
    }
}
