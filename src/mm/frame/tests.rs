use super::*;
use std::collections::BTreeSet;

const MIB: u64 = 1 << 20;

#[test]
fn geometry() {
    let a = FrameAllocator::new(0x4000_0000, 128 * MIB);
    assert_eq!(a.total(), 32768);
    assert_eq!(a.free_count(), 32768);
    assert_eq!(a.base(), 0x4000_0000);
    assert_eq!(a.end(), 0x4800_0000);
    // Unaligned base/size: only whole frames.
    let a = FrameAllocator::new(0x4000_0800, 3 * FRAME_SIZE);
    assert_eq!(a.base(), 0x4000_1000);
    assert_eq!(a.total(), 2);
    let a = FrameAllocator::new(0x1000, 0);
    assert_eq!(a.total(), 0);
    let a = FrameAllocator::new(0x1800, 0x1000);
    assert_eq!(a.total(), 0);
}

#[test]
fn allocate_everything_all_distinct_then_enomem() {
    // 70 frames: a partial last bitmap word.
    let mut a = FrameAllocator::new(0x8000_0000, 70 * FRAME_SIZE);
    let mut seen = BTreeSet::new();
    for _ in 0..70 {
        let pa = a.alloc().unwrap();
        assert_eq!(pa % FRAME_SIZE, 0);
        assert!((0x8000_0000..0x8000_0000 + 70 * FRAME_SIZE).contains(&pa));
        assert!(a.is_allocated(pa));
        assert!(seen.insert(pa), "{pa:#x} handed out twice");
    }
    assert_eq!(a.free_count(), 0);
    assert_eq!(a.alloc(), Err(Errno::ENOMEM));
    assert_eq!(a.alloc(), Err(Errno::ENOMEM));
    assert_eq!(a.alloc_contiguous(1, 1), Err(Errno::ENOMEM));
    // Empty allocator.
    let mut e = FrameAllocator::new(0, 0);
    assert_eq!(e.alloc(), Err(Errno::ENOMEM));
    assert_eq!(e.alloc_contiguous(1, 1), Err(Errno::ENOMEM));
    assert_eq!(e.free(0), Err(FrameError::OutOfRange));
}

#[test]
fn free_returns_frames() {
    let mut a = FrameAllocator::new(0x4000_0000, 8 * FRAME_SIZE);
    let v: Vec<u64> = (0..8).map(|_| a.alloc().unwrap()).collect();
    assert_eq!(a.alloc(), Err(Errno::ENOMEM));
    a.free(v[5]).unwrap();
    assert!(!a.is_allocated(v[5]));
    assert_eq!(a.free_count(), 1);
    assert_eq!(a.alloc(), Ok(v[5]));
    for pa in v {
        a.free(pa).unwrap();
    }
    assert_eq!(a.free_count(), 8);
}

#[test]
fn bad_frees_are_errors() {
    let mut a = FrameAllocator::new(0x4000_0000, 16 * FRAME_SIZE);
    let pa = a.alloc().unwrap();
    assert_eq!(a.free(pa + 4), Err(FrameError::Unaligned));
    assert_eq!(a.free(0x3fff_f000), Err(FrameError::OutOfRange));
    assert_eq!(a.free(0x4001_0000), Err(FrameError::OutOfRange));
    assert_eq!(a.free(!0xfff), Err(FrameError::OutOfRange));
    assert_eq!(a.free(pa), Ok(()));
    assert_eq!(a.free(pa), Err(FrameError::NotAllocated));
    assert_eq!(a.free_count(), 16);
    // free_contiguous is all-or-nothing.
    let run = a.alloc_contiguous(4, 4).unwrap();
    assert_eq!(a.free_contiguous(run, 5), Err(FrameError::NotAllocated));
    assert_eq!(a.free_count(), 12);
    assert_eq!(
        a.free_contiguous(run + 12 * FRAME_SIZE, 8),
        Err(FrameError::OutOfRange)
    );
    assert_eq!(
        a.free_contiguous(run, usize::MAX),
        Err(FrameError::OutOfRange)
    );
    assert_eq!(a.free_contiguous(run, 4), Ok(()));
    assert_eq!(a.free_contiguous(run, 4), Err(FrameError::NotAllocated));
    assert_eq!(FrameError::NotAllocated.errno(), Errno::EINVAL);
}

#[test]
fn contiguous_alignment() {
    // RAM starts 4 KiB past a 16 KiB boundary.
    let mut a = FrameAllocator::new(0x4000_1000, 4 * MIB);
    let l1 = a.alloc_contiguous(4, 4).unwrap();
    assert_eq!(l1 % (16 << 10), 0);
    assert_eq!(l1, 0x4000_4000);
    for k in 0..4 {
        assert!(a.is_allocated(l1 + k * FRAME_SIZE));
    }
    assert!(!a.is_allocated(0x4000_1000));
    // 1 MiB section, 1 MiB aligned.
    let s = a.alloc_contiguous(256, 256).unwrap();
    assert_eq!(s % MIB, 0);
    assert_eq!(s, 0x4010_0000);
    // A single frame goes below them.
    assert_eq!(a.alloc(), Ok(0x4000_1000));
    // Only 0x4020_0000 and 0x4030_0000 remain as aligned 1 MiB slots
    // (0x4040_0000 is past the end at 0x4040_1000 minus a frame).
    assert_eq!(a.alloc_contiguous(256, 256), Ok(0x4020_0000));
    assert_eq!(a.alloc_contiguous(256, 256), Ok(0x4030_0000));
    assert_eq!(a.alloc_contiguous(256, 256), Err(Errno::ENOMEM));
    // A used frame in the middle of a candidate run is skipped over.
    let mut b = FrameAllocator::new(0, 64 * FRAME_SIZE);
    b.reserve(5 * FRAME_SIZE, 6 * FRAME_SIZE);
    assert_eq!(b.alloc_contiguous(8, 4), Ok(8 * FRAME_SIZE));
    assert_eq!(b.alloc_contiguous(3, 1), Ok(0));
    assert_eq!(b.alloc_contiguous(2, 0), Ok(3 * FRAME_SIZE)); // align 0 = 1
    assert_eq!(b.alloc_contiguous(0, 1), Err(Errno::EINVAL));
    assert_eq!(b.alloc_contiguous(usize::MAX, 1), Err(Errno::ENOMEM));
    assert_eq!(b.alloc_contiguous(1, usize::MAX), Err(Errno::ENOMEM));
    // Non-power-of-two alignment: multiples of 3 frames.
    assert_eq!(b.alloc_contiguous(1, 3), Ok(6 * FRAME_SIZE));
}

#[test]
fn reserve_rounds_outwards_and_clips() {
    let mut a = FrameAllocator::new(0x4000_0000, 16 * FRAME_SIZE);
    // [0x4000_1800, 0x4000_3001) touches frames 1, 2 and 3.
    a.reserve(0x4000_1800, 0x4000_3001);
    assert!(!a.is_allocated(0x4000_0000));
    assert!(a.is_allocated(0x4000_1000));
    assert!(a.is_allocated(0x4000_2fff));
    assert!(a.is_allocated(0x4000_3000));
    assert!(!a.is_allocated(0x4000_4000));
    assert_eq!(a.free_count(), 13);
    // Overlapping reservations do not double count.
    a.reserve(0x4000_0000, 0x4000_2000);
    assert_eq!(a.free_count(), 12);
    // Outside RAM: ignored; straddling: clipped.
    a.reserve(0, 0x1000_0000);
    a.reserve(0x5000_0000, 0x6000_0000);
    a.reserve(0x4000_3000, 0x4000_3000); // empty
    a.reserve(0x4000_8000, 0x4000_4000); // inverted
    assert_eq!(a.free_count(), 12);
    a.reserve(0x4000_f800, u64::MAX);
    assert_eq!(a.free_count(), 11);
    a.reserve(0, 0x4000_0001);
    assert_eq!(a.free_count(), 11); // frame 0 already reserved
                                    // Reserved frames are never handed out, and can be released.
    let got: BTreeSet<u64> = (0..11).map(|_| a.alloc().unwrap()).collect();
    assert!(!got.contains(&0x4000_1000));
    assert!(!got.contains(&0x4000_f000));
    assert_eq!(a.alloc(), Err(Errno::ENOMEM));
    assert_eq!(a.free(0x4000_f000), Ok(()));
    assert_eq!(a.alloc(), Ok(0x4000_f000));
}

/// xorshift64: no crates.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn randomized_against_a_model() {
    for seed in 1..=8u64 {
        let frames = 200 + seed as usize * 37; // not a multiple of 64
        let base = 0x8000_0000u64;
        let mut a = FrameAllocator::new(base, frames as u64 * FRAME_SIZE);
        let mut used = vec![false; frames];
        // Runs handed out, to free them whole: (first index, count).
        let mut runs: Vec<(usize, usize)> = Vec::new();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ seed);
        let r0 = rng.below(frames as u64) as usize;
        let r1 = (r0 + 1 + rng.below(20) as usize).min(frames);
        a.reserve(
            base + (r0 as u64) * FRAME_SIZE,
            base + (r1 as u64) * FRAME_SIZE,
        );
        for u in &mut used[r0..r1] {
            *u = true;
        }
        for _ in 0..20_000 {
            match rng.below(10) {
                0..=3 => match a.alloc() {
                    Ok(pa) => {
                        let i = ((pa - base) / FRAME_SIZE) as usize;
                        assert!(pa % FRAME_SIZE == 0 && i < frames);
                        assert!(!used[i], "double allocation of {pa:#x}");
                        used[i] = true;
                        runs.push((i, 1));
                    }
                    Err(e) => {
                        assert_eq!(e, Errno::ENOMEM);
                        assert!(used.iter().all(|&u| u));
                    }
                },
                4 => {
                    let count = 1 + rng.below(8) as usize;
                    let align = 1usize << rng.below(4);
                    match a.alloc_contiguous(count, align) {
                        Ok(pa) => {
                            let i = ((pa - base) / FRAME_SIZE) as usize;
                            assert_eq!(pa % (align as u64 * FRAME_SIZE), 0);
                            for u in &mut used[i..i + count] {
                                assert!(!*u, "double allocation in run at {pa:#x}");
                                *u = true;
                            }
                            runs.push((i, count));
                        }
                        Err(e) => {
                            assert_eq!(e, Errno::ENOMEM);
                            // No aligned free run exists in the model.
                            let a_pa = align as u64 * FRAME_SIZE;
                            let exists = (0..frames).any(|i| {
                                (base + i as u64 * FRAME_SIZE).is_multiple_of(a_pa)
                                    && i + count <= frames
                                    && used[i..i + count].iter().all(|&u| !u)
                            });
                            assert!(!exists, "missed a run of {count} aligned {align}");
                        }
                    }
                }
                5..=8 if !runs.is_empty() => {
                    let k = rng.below(runs.len() as u64) as usize;
                    let (i, count) = runs.swap_remove(k);
                    let pa = base + i as u64 * FRAME_SIZE;
                    if count == 1 {
                        a.free(pa).unwrap();
                    } else {
                        a.free_contiguous(pa, count).unwrap();
                    }
                    for u in &mut used[i..i + count] {
                        *u = false;
                    }
                    // Freeing it again is a detected double free.
                    assert_eq!(a.free(pa), Err(FrameError::NotAllocated));
                }
                _ => {
                    // A bogus free must be refused without side effects.
                    let i = rng.below(frames as u64) as usize;
                    let pa = base + i as u64 * FRAME_SIZE;
                    if !used[i] {
                        assert_eq!(a.free(pa), Err(FrameError::NotAllocated));
                    }
                    assert_eq!(a.free(pa + 8), Err(FrameError::Unaligned));
                }
            }
            let model_free = used.iter().filter(|&&u| !u).count();
            assert_eq!(a.free_count(), model_free);
        }
        for (i, &u) in used.iter().enumerate() {
            assert_eq!(a.is_allocated(base + i as u64 * FRAME_SIZE), u);
        }
    }
}

#[test]
fn frames_at_the_top_of_the_address_space() {
    // Rounding the base up to a frame would pass 2^64: no whole frame
    // lies in [base, base + size), so nothing is managed.
    for base in [u64::MAX - 10, u64::MAX - 0xFFE] {
        let a = FrameAllocator::new(base, 100);
        assert_eq!(a.total(), 0, "{base:#x}");
        assert_eq!(a.free_count(), 0);
    }
    // One whole frame just below the last one. Reserving up to the very
    // top of the address space rounds outwards, past 2^64, and so covers
    // it.
    let mut a = FrameAllocator::new(u64::MAX - 0x1FFF, 0x1FFF);
    assert_eq!(a.total(), 1);
    assert_eq!(a.base(), u64::MAX - 0x1FFF);
    a.reserve(u64::MAX - 0x1FFF, u64::MAX);
    assert_eq!(a.free_count(), 0);
    assert!(a.is_allocated(u64::MAX - 0x1FFF));
    let mut a = FrameAllocator::new(u64::MAX - 0x1FFF, 0x1FFF);
    a.reserve(0, u64::MAX - 5);
    assert_eq!(a.free_count(), 0);
}

/// A run given back whole is what the next request for as many frames
/// gets (the hint), as long as it is still free and aligned as asked;
/// otherwise first fit as before. Every run handed out is free before
/// and used after, whichever way it was found.
#[test]
fn the_run_freed_last_is_reused_when_it_fits() {
    let mut a = FrameAllocator::new(0x4000_0000, 64 * MIB);
    let low = a.alloc_contiguous(2, 2).unwrap();
    let high = a.alloc_contiguous(2, 2).unwrap();
    assert_eq!((low, high), (0x4000_0000, 0x4000_2000), "first fit");
    // Freeing the higher run: the next 2-frame request takes it back,
    // although first fit would find the same.
    a.free_contiguous(high, 2).unwrap();
    assert_eq!(a.alloc_contiguous(2, 2).unwrap(), high);
    // Freed, then one of its frames taken by a single allocation: not
    // reused; first fit finds a free aligned run elsewhere.
    a.free_contiguous(low, 2).unwrap();
    let single = a.alloc().unwrap();
    assert!(single == low || single == low + FRAME_SIZE || single >= 0x4000_4000);
    let r = a.alloc_contiguous(2, 2).unwrap();
    assert_eq!(r % (2 * FRAME_SIZE), 0);
    assert!(
        r + 2 * FRAME_SIZE <= single || r > single,
        "never overlaps a used frame"
    );
    // A different count ignores the hint.
    a.free_contiguous(high, 2).unwrap();
    let four = a.alloc_contiguous(4, 4).unwrap();
    assert_eq!(four % (4 * FRAME_SIZE), 0);
    assert!(four >= high + 2 * FRAME_SIZE || four + 4 * FRAME_SIZE <= high);
    // An alignment the hint does not meet: not used.
    let run = a.alloc_contiguous(2, 1).unwrap();
    if run % (2 * FRAME_SIZE) != 0 {
        a.free_contiguous(run, 2).unwrap();
        let aligned = a.alloc_contiguous(2, 2).unwrap();
        assert_eq!(aligned % (2 * FRAME_SIZE), 0);
    }
    // The counts stay exact.
    let used = 64 * MIB as usize / FRAME_SIZE as usize - a.free_count();
    assert!(used >= 2);
}
