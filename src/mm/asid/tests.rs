use super::*;
use std::collections::{HashMap, HashSet};

#[test]
fn bits_are_validated() {
    for bad in [0, 1, 17, 32] {
        assert_eq!(
            AsidAllocator::new(bad).unwrap_err(),
            AsidError::BadBits(bad)
        );
    }
    for (bits, count) in [(2, 4), (8, 256), (16, 65536)] {
        let a = AsidAllocator::new(bits).unwrap();
        assert_eq!(a.count(), count);
        assert_eq!(a.free_count(), count - 1, "ASID 0 is never free");
    }
}

#[test]
fn ordinary_switches_keep_the_asid_and_never_flush() {
    let mut a = AsidAllocator::new(8).unwrap();
    let (mut x, mut y) = (AsidSlot::NONE, AsidSlot::NONE);
    assert_eq!(x.asid(), None);
    let (ax, fx) = a.activate(&mut x);
    let (ay, fy) = a.activate(&mut y);
    assert!(!fx && !fy);
    assert!(ax != 0 && ay != 0 && ax != ay);
    for _ in 0..1000 {
        assert_eq!(a.activate(&mut x), (ax, false));
        assert_eq!(a.activate(&mut y), (ay, false));
    }
    assert_eq!(x.asid(), Some(ax));
    assert_eq!(a.rollovers(), 0);
}

#[test]
fn every_8bit_asid_is_used_before_the_first_rollover() {
    let mut a = AsidAllocator::new(8).unwrap();
    let mut slots = vec![AsidSlot::NONE; 256];
    let mut seen = HashSet::new();
    for s in slots.iter_mut().take(255) {
        let (asid, flush) = a.activate(s);
        assert!(!flush);
        assert!(asid != 0 && seen.insert(asid));
    }
    assert_eq!(seen.len(), 255);
    assert_eq!(a.free_count(), 0);
    // The 256th address space: none free, rollover, flush.
    let installed = slots[254].asid().unwrap();
    let (asid, flush) = a.activate(&mut slots[255]);
    assert!(flush);
    assert_eq!(a.rollovers(), 1);
    assert_ne!(asid, installed, "the installed ASID stays its owner's");
    assert!(a.is_current(&slots[255]));
    assert!(!a.is_current(&slots[0]));
    // The owner of the installed ASID gets it back, without a flush.
    assert_eq!(a.activate(&mut slots[254]), (installed, false));
    // A stale one gets a fresh ASID (free ones remain: no flush).
    let (fresh, flush) = a.activate(&mut slots[0]);
    assert!(!flush && fresh != asid && fresh != installed);
}

/// 1000 address spaces, each run once and never released (as Linux, which
/// reclaims ASIDs only at rollover). Counted from the rules: generation 1
/// gives 255 ASIDs; each later generation 254 (one stays reserved for the
/// installed one). New spaces 256, 510 and 764 roll over: 3 flushes.
#[test]
fn thousand_address_spaces_with_8bit_asids_roll_over_three_times() {
    let mut a = AsidAllocator::new(8).unwrap();
    let mut flushes_at = Vec::new();
    for i in 1..=1000u32 {
        let mut s = AsidSlot::NONE;
        let (asid, flush) = a.activate(&mut s);
        assert!(asid != 0);
        if flush {
            flushes_at.push(i);
        }
    }
    assert_eq!(flushes_at, [256, 510, 764]);
    assert_eq!(a.rollovers(), 3);
    assert_eq!(a.generation(), 4);
}

#[test]
fn release_frees_only_current_and_not_installed_asids() {
    let mut a = AsidAllocator::new(2).unwrap(); // ASIDs 1..=3
    let (mut x, mut y, mut z) = (AsidSlot::NONE, AsidSlot::NONE, AsidSlot::NONE);
    let ax = a.activate(&mut x).0;
    let ay = a.activate(&mut y).0;
    // y is installed: kept until the next rollover.
    let mut y2 = y;
    assert_eq!(a.release(&mut y2), None);
    assert_eq!(y2, AsidSlot::NONE);
    // x is not: freed, and the caller must invalidate it.
    assert_eq!(a.release(&mut x), Some(ax));
    assert_eq!(a.release(&mut x), None, "twice is harmless");
    let az = a.activate(&mut z).0;
    assert!(az != ay);
    let mut never = AsidSlot::NONE;
    assert_eq!(a.release(&mut never), None);
}

#[test]
fn a_stale_generation_is_not_released_into_the_current_one() {
    let mut a = AsidAllocator::new(2).unwrap();
    let mut old = AsidSlot::NONE;
    let ao = a.activate(&mut old).0;
    let mut others = [AsidSlot::NONE; 4];
    for s in &mut others {
        a.activate(s);
    }
    assert_eq!(a.rollovers(), 1);
    assert!(!a.is_current(&old));
    let free = a.free_count();
    assert_eq!(
        a.release(&mut old),
        None,
        "ASID {ao} may belong to another now"
    );
    assert_eq!(a.free_count(), free);
}

#[test]
fn the_reserved_asid_is_freed_if_its_owner_dies_before_running() {
    let mut a = AsidAllocator::new(2).unwrap();
    let mut s = [AsidSlot::NONE; 4];
    for x in &mut s[..3] {
        a.activate(x);
    }
    let installed = s[2];
    assert!(a.activate(&mut s[3]).1, "rollover");
    let free = a.free_count();
    let mut dead = installed;
    assert_eq!(a.release(&mut dead), installed.asid());
    assert_eq!(a.free_count(), free + 1);
}

/// xorshift64*, deterministic.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A model of the hardware the allocator serves, written without its
/// internals: a TLB holding (ASID -> address spaces it has entries of).
/// The installed address space may fill entries at any time (speculative
/// walks), so it does so right after a flush too, before the switch.
/// Checks, at every step:
/// - an ASID given is never 0 and fits the width;
/// - no two live address spaces of the current generation share an ASID;
/// - the TLB never holds entries of another address space under the ASID
///   just given (what a stale hit would be);
/// - a flush is asked for exactly when no ASID was free.
fn model_run(bits: u32, steps: usize, max_live: usize, seed: u64, release: bool) -> u64 {
    let mut a = AsidAllocator::new(bits).unwrap();
    let mut rng = Rng(seed);
    let mut live: Vec<(u32, AsidSlot)> = Vec::new();
    let mut next_id = 0u32;
    let mut created = 0usize;
    let mut tlb: HashMap<u16, HashSet<u32>> = HashMap::new();
    let mut installed: Option<(u32, u16)> = None;
    let mut flushes = 0u64;
    for _ in 0..steps {
        let op = rng.below(10);
        if op < 3 && live.len() < max_live {
            live.push((next_id, AsidSlot::NONE));
            next_id += 1;
            created += 1;
        } else if op < 4 && !live.is_empty() {
            let i = rng.below(live.len());
            let (id, mut slot) = live.swap_remove(i);
            if installed.map(|(o, _)| o) == Some(id) {
                // The scheduler switches away first: to another address
                // space if there is one, else it stays installed.
                if !live.is_empty() && release {
                    let j = rng.below(live.len());
                    switch(&mut a, &mut live[j], &mut tlb, &mut installed, &mut flushes);
                }
            }
            if release {
                if let Some(freed) = a.release(&mut slot) {
                    // The caller's TLBI by ASID.
                    tlb.remove(&freed);
                }
            }
        } else if !live.is_empty() {
            let j = rng.below(live.len());
            switch(&mut a, &mut live[j], &mut tlb, &mut installed, &mut flushes);
        }
        // Unique ASIDs among live address spaces of this generation.
        let mut seen = HashSet::new();
        for (_, s) in &live {
            if a.is_current(s) {
                assert!(seen.insert(s.asid().unwrap()), "ASID shared");
            }
        }
    }
    assert_eq!(flushes, a.rollovers());
    assert!(created > 100);
    flushes
}

fn switch(
    a: &mut AsidAllocator,
    (id, slot): &mut (u32, AsidSlot),
    tlb: &mut HashMap<u16, HashSet<u32>>,
    installed: &mut Option<(u32, u16)>,
    flushes: &mut u64,
) {
    let free_before = a.free_count();
    let needs_new = !a.is_current(slot);
    let old = slot.asid();
    let (asid, flush) = a.activate(slot);
    assert!(asid != 0 && (asid as u32) < a.count());
    if flush {
        *flushes += 1;
        assert!(needs_new && free_before == 0, "flush only when none free");
        tlb.clear();
        // Speculative fill from the still-installed table before the switch.
        if let Some((o, oa)) = *installed {
            tlb.entry(oa).or_default().insert(o);
        }
    } else if needs_new {
        // A new ASID without a flush: one was free, or this address space
        // kept its own across the rollover.
        assert!(free_before > 0 || Some(asid) == old, "no ASID was free");
    }
    if let Some(owners) = tlb.get(&asid) {
        assert!(
            owners.iter().all(|o| o == id),
            "ASID {asid} given to {id} still has TLB entries of {owners:?}"
        );
    }
    tlb.entry(asid).or_default().insert(*id);
    *installed = Some((*id, asid));
}

#[test]
fn model_8bit_thousand_spaces_with_release() {
    model_run(8, 20_000, 64, 0x1234_5678, true);
}

#[test]
fn model_8bit_without_release_rolls_over() {
    let flushes = model_run(8, 20_000, 64, 0xdead_beef, false);
    assert!(flushes > 5, "{flushes}");
}

#[test]
fn model_tiny_widths_stress_rollover() {
    for bits in [2, 3, 4] {
        for seed in 1..20 {
            model_run(bits, 3000, 12, seed, seed % 2 == 0);
        }
    }
}

#[test]
fn model_16bit() {
    let mut a = AsidAllocator::new(16).unwrap();
    let mut got = HashSet::new();
    for _ in 0..65535 {
        let mut s = AsidSlot::NONE;
        let (asid, flush) = a.activate(&mut s);
        assert!(!flush && asid != 0 && got.insert(asid));
    }
    let mut s = AsidSlot::NONE;
    assert!(a.activate(&mut s).1);
}
