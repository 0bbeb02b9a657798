//! ASID allocation with generations, for one core: the scheme of Linux's
//! `arch/arm64/mm/context.c` (also `arch/arm/mm/context.c`) reduced to a
//! uniprocessor.
//!
//! Every address space keeps an [`AsidSlot`]: the ASID it was given and
//! the generation it was given in. Switching to an address space whose
//! slot is of the current generation reuses its ASID, so an ordinary
//! context switch needs no TLB maintenance. Otherwise a free ASID is taken
//! from a bitmap. When none is free the allocator rolls over: the
//! generation goes up (every slot of older generations becomes stale and
//! will be given a fresh ASID on its next switch), the bitmap is emptied,
//! and the caller must invalidate every non-global TLB entry before the
//! new ASID is installed (`flush_all` = true).
//!
//! ASID 0 is never handed out: it is the kernel's / "no task" value
//! (CONTEXTIDR.ASID or TTBR0_EL1.ASID while no user table is live).
//!
//! The ASID installed when the rollover happens stays reserved in the new
//! generation for the address space that holds it. On one core too:
//! until the switch, the old TTBR0 and ASID are live, and the table walker
//! may fill TLB entries from them at any time, speculatively (ARM ARM
//! DDI 0487 chapter D8, TLB maintenance; ARMv7 DDI 0406C
//! B3.10.1 "General TLB maintenance requirements": any translation
//! reachable from the current TTBRs may be cached). Entries filled after
//! the flush are tagged with that ASID; if it were handed to another
//! address space, that one would hit them.
//!
//! What the caller (the scheduler) does with the results:
//! - `activate` gives `(asid, flush_all)`. With `flush_all`, invalidate the
//!   whole TLB (ARMv7-A `TLBIALL`, AArch64 `TLBI VMALLE1`), DSB, ISB, then
//!   install the table with the new ASID (ARMv7-A: ASID via CONTEXTIDR
//!   before TTBR0 as ARM ARM B3.10.4 says; AArch64: TTBR0_EL1 with the
//!   ASID in one write).
//! - `release` of a dead address space gives the ASID freed, if any: its
//!   TLB entries must be invalidated (TLBIASID / `TLBI ASIDE1`) before the
//!   next `activate` can hand it out again. The root release of
//!   `arch/*/user.rs` already invalidates the ASID of the table it frees.

use alloc::vec::Vec;

/// The ASID of one address space and the generation it belongs to.
/// `AsidSlot::default()` (generation 0) has none: the allocator's
/// generations start at 1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AsidSlot {
    generation: u64,
    asid: u16,
}

impl AsidSlot {
    /// An address space that never ran.
    pub const NONE: AsidSlot = AsidSlot {
        generation: 0,
        asid: 0,
    };

    /// The ASID last given, if any (it may be of an old generation).
    pub fn asid(&self) -> Option<u16> {
        (self.generation != 0).then_some(self.asid)
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }
}

/// `new` refused its argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AsidError {
    /// Only 2..=16 ASID bits make sense (ARMv7-A has 8, AArch64 8 or 16).
    BadBits(u32),
}

impl core::fmt::Display for AsidError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AsidError::BadBits(b) => write!(f, "{b} ASID bits: must be 2..=16"),
        }
    }
}

/// Uniprocessor ASID allocator with generations (see the module text).
#[derive(Debug)]
pub struct AsidAllocator {
    bits: u32,
    /// Current generation, from 1.
    generation: u64,
    /// One bit per ASID of the current generation: taken (bit 0 always).
    used: Vec<u64>,
    /// Where the search for a free ASID starts (after the last one given).
    cursor: u32,
    /// The slot (generation, ASID) last activated: installed in hardware.
    active: Option<(u64, u16)>,
    /// The ASID installed at the last rollover, with the old generation
    /// of the slot that holds it: it keeps its number in this generation.
    reserved: Option<(u64, u16)>,
    rollovers: u64,
}

impl AsidAllocator {
    /// An allocator for `bits`-bit ASIDs (1 << bits values, 0 reserved).
    pub fn new(bits: u32) -> Result<Self, AsidError> {
        if !(2..=16).contains(&bits) {
            return Err(AsidError::BadBits(bits));
        }
        let words = (1usize << bits).div_ceil(64);
        let mut used = alloc::vec![0u64; words];
        used[0] = 1; // ASID 0: the kernel's
        Ok(AsidAllocator {
            bits,
            generation: 1,
            used,
            cursor: 1,
            active: None,
            reserved: None,
            rollovers: 0,
        })
    }

    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// Number of ASID values (0 included).
    pub fn count(&self) -> u32 {
        1 << self.bits
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// How many rollovers (whole-TLB flushes) there were.
    pub fn rollovers(&self) -> u64 {
        self.rollovers
    }

    /// Whether `slot`'s ASID is valid in the current generation.
    pub fn is_current(&self, slot: &AsidSlot) -> bool {
        slot.generation == self.generation
    }

    fn set_used(&mut self, asid: u32, on: bool) {
        let w = &mut self.used[(asid / 64) as usize];
        if on {
            *w |= 1 << (asid % 64);
        } else {
            *w &= !(1 << (asid % 64));
        }
    }

    /// A free ASID of the current generation, the first at or after the
    /// cursor (wrapping), marked used.
    fn take_free(&mut self) -> Option<u16> {
        let n = self.count() as usize;
        let words = self.used.len();
        let start = (self.cursor as usize).clamp(1, n - 1);
        // The start's word twice: its bits from `start` on first, the
        // bits below `start` last, after going round.
        for i in 0..=words {
            let wi = (start / 64 + i) % words;
            let mut free = !self.used[wi];
            if i == 0 {
                free &= !0u64 << (start % 64);
            }
            if i == words {
                free &= !(!0u64 << (start % 64));
            }
            if n < 64 {
                free &= (1u64 << n) - 1;
            }
            if free != 0 {
                let a = wi * 64 + free.trailing_zeros() as usize;
                self.set_used(a as u32, true);
                self.cursor = if a + 1 == n { 1 } else { a as u32 + 1 };
                return Some(a as u16);
            }
        }
        None
    }

    /// New generation: every older slot is stale, the bitmap is empty but
    /// for ASID 0 and the installed ASID, which its owner keeps.
    fn rollover(&mut self) {
        self.generation += 1;
        self.rollovers += 1;
        self.used.iter_mut().for_each(|w| *w = 0);
        self.used[0] = 1;
        // Only what is installed now can be refilled speculatively after
        // the flush; an earlier reservation no longer is installed.
        self.reserved = self.active;
        if let Some((_, a)) = self.reserved {
            self.set_used(a as u32, true);
        }
        self.cursor = 1;
    }

    /// The ASID to install for `slot` (which is updated), and whether the
    /// whole non-global TLB must be invalidated first (a rollover).
    pub fn activate(&mut self, slot: &mut AsidSlot) -> (u16, bool) {
        if slot.generation == self.generation && slot.generation != 0 {
            self.active = Some((slot.generation, slot.asid));
            return (slot.asid, false);
        }
        if slot.generation != 0 && self.reserved == Some((slot.generation, slot.asid)) {
            // It kept its ASID across the rollover (already marked used).
            self.reserved = None;
            *slot = AsidSlot {
                generation: self.generation,
                asid: slot.asid,
            };
            self.active = Some((self.generation, slot.asid));
            return (slot.asid, false);
        }
        let (asid, flush) = match self.take_free() {
            Some(a) => (a, false),
            None => {
                self.rollover();
                // At least one is free: 2 bits give 3 usable, at most one
                // reserved.
                let a = self.take_free().unwrap_or(1);
                (a, true)
            }
        };
        *slot = AsidSlot {
            generation: self.generation,
            asid,
        };
        self.active = Some((self.generation, asid));
        (asid, flush)
    }

    /// `slot`'s address space is gone. Returns the ASID made free, whose
    /// TLB entries the caller must invalidate (by ASID) before the next
    /// [`activate`](Self::activate). `None`: nothing to do (never ran, a
    /// stale generation, or still installed: then it is kept until the
    /// next rollover, because the walker may still fill entries with it).
    pub fn release(&mut self, slot: &mut AsidSlot) -> Option<u16> {
        let s = *slot;
        *slot = AsidSlot::NONE;
        if s.generation == 0 {
            return None;
        }
        if self.active == Some((s.generation, s.asid)) {
            return None;
        }
        if s.generation == self.generation {
            self.set_used(s.asid as u32, false);
            return Some(s.asid);
        }
        if self.reserved == Some((s.generation, s.asid)) {
            self.reserved = None;
            self.set_used(s.asid as u32, false);
            return Some(s.asid);
        }
        None
    }

    /// Free ASIDs in the current generation (for tests and the log).
    pub fn free_count(&self) -> u32 {
        self.count() - self.used.iter().map(|w| w.count_ones()).sum::<u32>()
    }
}

#[cfg(test)]
mod tests;
