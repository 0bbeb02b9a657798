//! TLB invalidations gathered during one table operation, flushed in the
//! order break-before-make needs. Shared by both architectures' table code.

/// Above this many invalidations in one operation, invalidating the whole
/// ASID (or the whole TLB for global entries) is cheaper.
pub const TLBI_BATCH_LIMIT: usize = 64;

/// The maintenance one flush performs, for one table (ASID already bound).
pub trait TlbMaint<A> {
    /// DSB: the invalid entries are visible to the table walker.
    fn publish(&mut self);
    fn invalidate(&mut self, va: A);
    fn invalidate_all(&mut self);
    /// DSB, then ISB.
    fn sync(&mut self);
}

/// Held inline (no heap): queuing an invalidation can never fail, so a
/// table operation cannot die half-way for lack of kernel heap (fault
/// injection found `Vec::push` here panicking on unmap and protect).
pub struct TlbBatch<A> {
    vas: [A; TLBI_BATCH_LIMIT],
    len: usize,
    overflow: bool,
}

impl<A: Copy + Default> TlbBatch<A> {
    pub fn new() -> Self {
        TlbBatch {
            vas: [A::default(); TLBI_BATCH_LIMIT],
            len: 0,
            overflow: false,
        }
    }

    pub fn push(&mut self, va: A) {
        if self.len >= TLBI_BATCH_LIMIT {
            self.overflow = true;
        } else {
            self.vas[self.len] = va;
            self.len += 1;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0 && !self.overflow
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
            for &va in &self.vas[..self.len] {
                m.invalidate(va);
            }
        }
        m.sync();
        self.len = 0;
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
}
