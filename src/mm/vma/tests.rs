//! Expected behaviour from munmap(2)/mprotect(2) and Linux's VMA rules,
//! plus a randomized comparison against a page-by-page model.
use super::*;
use alloc::vec;

const P: usize = PAGE_SIZE;
const MB: usize = 1 << 20;

fn prot(bits: u32) -> Prot {
    Prot::from_bits(bits).unwrap()
}
const R: u32 = 1;
const RW: u32 = 3;
const RX: u32 = 5;

fn anon(start: usize, end: usize, bits: u32) -> Vma {
    Vma {
        start,
        end,
        prot: prot(bits),
        kind: VmaKind::Anonymous {
            shared: false,
            may_write: true,
        },
    }
}

fn dev(start: usize, end: usize, phys: u64) -> Vma {
    Vma {
        start,
        end,
        prot: prot(RW),
        kind: VmaKind::Device {
            phys,
            mem: MemoryType::DeviceShareable,
            may_write: true,
        },
    }
}

fn ranges(s: &VmaSet) -> Vec<(usize, usize)> {
    s.iter().map(|v| (v.start, v.end)).collect()
}

fn set(max: usize, vmas: &[Vma]) -> VmaSet {
    let mut s = VmaSet::new(max);
    for v in vmas {
        s.insert(*v).unwrap();
    }
    s
}

#[test]
fn insert_find_and_merge() {
    let mut s = VmaSet::new(100);
    s.insert(anon(10 * P, 12 * P, RW)).unwrap();
    assert_eq!(s.find(10 * P).map(|v| v.end), Some(12 * P));
    assert_eq!(s.find(12 * P - 1).map(|v| v.start), Some(10 * P));
    assert!(s.find(12 * P).is_none());
    assert!(s.find(10 * P - 1).is_none());
    // Adjacent on the right, same prot and kind: one VMA.
    s.insert(anon(12 * P, 13 * P, RW)).unwrap();
    assert_eq!(ranges(&s), vec![(10 * P, 13 * P)]);
    // Adjacent on the left.
    s.insert(anon(8 * P, 10 * P, RW)).unwrap();
    assert_eq!(ranges(&s), vec![(8 * P, 13 * P)]);
    // Filling a gap merges three into one.
    s.insert(anon(15 * P, 16 * P, RW)).unwrap();
    assert_eq!(s.count(), 2);
    s.insert(anon(13 * P, 15 * P, RW)).unwrap();
    assert_eq!(ranges(&s), vec![(8 * P, 16 * P)]);
    assert_eq!(s.mapped_bytes(), 8 * P);
    // Different prot, sharedness or kind: no merge.
    s.insert(anon(16 * P, 17 * P, R)).unwrap();
    let mut shared = anon(17 * P, 18 * P, R);
    shared.kind = VmaKind::Anonymous {
        shared: true,
        may_write: true,
    };
    s.insert(shared).unwrap();
    let mut heap = anon(18 * P, 19 * P, R);
    heap.kind = VmaKind::Heap;
    s.insert(heap).unwrap();
    let mut image = anon(19 * P, 20 * P, R);
    image.kind = VmaKind::Image(ImageData::ZERO);
    s.insert(image).unwrap();
    let mut stack = anon(20 * P, 21 * P, R);
    stack.kind = VmaKind::Stack;
    s.insert(stack).unwrap();
    assert_eq!(s.count(), 6);
    // Same named kinds merge.
    let mut heap2 = heap;
    heap2.start = 21 * P;
    heap2.end = 22 * P;
    s.insert(heap2).unwrap(); // after the stack: no merge
    assert_eq!(s.count(), 7);
    let mut stack2 = stack;
    stack2.start = 22 * P;
    stack2.end = 23 * P;
    s.insert(stack2).unwrap(); // after heap2: no merge
    assert_eq!(s.count(), 8);
    let mut heap3 = heap;
    heap3.start = 23 * P;
    heap3.end = 24 * P;
    heap3.prot = prot(R);
    let mut s2 = set(10, &[heap, heap3]);
    assert_eq!(s2.count(), 2);
    heap3.start = 19 * P;
    heap3.end = 23 * P;
    s2.insert(heap3).unwrap();
    assert_eq!(ranges(&s2), vec![(18 * P, 24 * P)]);
}

#[test]
fn insert_rejects_bad_vmas() {
    let mut s = set(10, &[anon(10 * P, 20 * P, RW)]);
    // Overlaps: EEXIST.
    assert_eq!(s.insert(anon(15 * P, 25 * P, RW)), Err(Errno::EEXIST));
    assert_eq!(s.insert(anon(5 * P, 11 * P, RW)), Err(Errno::EEXIST));
    assert_eq!(s.insert(anon(12 * P, 13 * P, RW)), Err(Errno::EEXIST));
    assert_eq!(s.insert(anon(0, 30 * P, RW)), Err(Errno::EEXIST));
    // Empty, inverted, unaligned: EINVAL.
    assert_eq!(s.insert(anon(30 * P, 30 * P, RW)), Err(Errno::EINVAL));
    assert_eq!(s.insert(anon(31 * P, 30 * P, RW)), Err(Errno::EINVAL));
    assert_eq!(s.insert(anon(30 * P + 1, 31 * P, RW)), Err(Errno::EINVAL));
    assert_eq!(s.insert(anon(30 * P, 31 * P - 1, RW)), Err(Errno::EINVAL));
    assert_eq!(s.insert(dev(30 * P, 31 * P, 0x123)), Err(Errno::EINVAL));
    assert_eq!(s.insert(dev(30 * P, 32 * P, !0xfffu64)), Err(Errno::EINVAL));
    // W+X and executable devices: EACCES.
    assert_eq!(s.insert(anon(30 * P, 31 * P, 7)), Err(Errno::EACCES));
    let mut d = dev(30 * P, 31 * P, 0x1000);
    d.prot = prot(RX);
    assert_eq!(s.insert(d), Err(Errno::EACCES));
    d.prot = prot(RW);
    d.kind = VmaKind::Device {
        phys: 0x1000,
        mem: MemoryType::DeviceShareable,
        may_write: false,
    };
    assert_eq!(s.insert(d), Err(Errno::EACCES));
    d.prot = prot(R);
    assert_eq!(s.insert(d), Ok(()));
    assert_eq!(s.count(), 2);
}

#[test]
fn device_merges_only_when_physically_contiguous() {
    let mut s = set(10, &[dev(10 * P, 12 * P, 0x900_0000)]);
    // Virtually adjacent, physically not contiguous.
    s.insert(dev(12 * P, 13 * P, 0x900_0000)).unwrap();
    assert_eq!(s.count(), 2);
    // Physically contiguous: merges.
    s.insert(dev(8 * P, 10 * P, 0x900_0000 - 2 * P as u64))
        .unwrap();
    assert_eq!(ranges(&s), vec![(8 * P, 12 * P), (12 * P, 13 * P)]);
    assert_eq!(
        s.find(8 * P).map(|v| v.kind),
        Some(VmaKind::Device {
            phys: 0x900_0000 - 2 * P as u64,
            mem: MemoryType::DeviceShareable,
            may_write: true
        })
    );
    // Different memory type: no merge.
    let mut so = dev(13 * P, 14 * P, 0x900_0000 + P as u64);
    so.kind = VmaKind::Device {
        phys: 0x900_0000 + P as u64,
        mem: MemoryType::StronglyOrdered,
        may_write: true,
    };
    s.insert(so).unwrap();
    assert_eq!(s.count(), 3);
    // Device next to anonymous memory: no merge.
    s.insert(anon(14 * P, 15 * P, RW)).unwrap();
    assert_eq!(s.count(), 4);
}

#[test]
fn remove_middle_splits_in_two() {
    let mut s = set(10, &[anon(10 * P, 20 * P, RW)]);
    let gone = s.remove(12 * P, 15 * P).unwrap();
    assert_eq!(gone, vec![anon(12 * P, 15 * P, RW)]);
    assert_eq!(ranges(&s), vec![(10 * P, 12 * P), (15 * P, 20 * P)]);
    assert_eq!(s.mapped_bytes(), 7 * P);
}

#[test]
fn remove_exactly() {
    let mut s = set(10, &[anon(10 * P, 20 * P, RW), anon(30 * P, 40 * P, R)]);
    let gone = s.remove(10 * P, 20 * P).unwrap();
    assert_eq!(gone, vec![anon(10 * P, 20 * P, RW)]);
    assert_eq!(ranges(&s), vec![(30 * P, 40 * P)]);
    // Edges.
    assert_eq!(
        s.remove(30 * P, 31 * P).unwrap(),
        vec![anon(30 * P, 31 * P, R)]
    );
    assert_eq!(
        s.remove(39 * P, 40 * P).unwrap(),
        vec![anon(39 * P, 40 * P, R)]
    );
    assert_eq!(ranges(&s), vec![(31 * P, 39 * P)]);
}

#[test]
fn remove_spanning_several_vmas_and_holes() {
    let mut s = set(
        10,
        &[
            anon(10 * P, 20 * P, RW),
            anon(25 * P, 30 * P, R),
            dev(30 * P, 32 * P, 0x800_0000),
            anon(40 * P, 50 * P, RW),
        ],
    );
    let gone = s.remove(15 * P, 45 * P).unwrap();
    assert_eq!(
        gone,
        vec![
            anon(15 * P, 20 * P, RW),
            anon(25 * P, 30 * P, R),
            dev(30 * P, 32 * P, 0x800_0000),
            anon(40 * P, 45 * P, RW),
        ]
    );
    assert_eq!(ranges(&s), vec![(10 * P, 15 * P), (45 * P, 50 * P)]);
    // munmap(2): "It is not an error if the indicated range does not
    // contain any mapped pages."
    assert_eq!(s.remove(20 * P, 40 * P), Ok(vec![]));
    assert_eq!(s.remove(0, 0), Ok(vec![]));
    assert_eq!(s.count(), 2);
    assert_eq!(s.remove(0, usize::MAX & !(P - 1)).unwrap().len(), 2);
    assert_eq!(s.count(), 0);
    assert_eq!(s.remove(P + 1, 2 * P), Err(Errno::EINVAL));
}

#[test]
fn device_phys_follows_splits() {
    let base = 0x0900_0000u64;
    let mut s = set(10, &[dev(10 * P, 20 * P, base)]);
    let gone = s.remove(12 * P, 14 * P).unwrap();
    assert_eq!(gone, vec![dev(12 * P, 14 * P, base + 2 * P as u64)]);
    assert_eq!(
        s.iter().copied().collect::<Vec<_>>(),
        vec![
            dev(10 * P, 12 * P, base),
            dev(14 * P, 20 * P, base + 4 * P as u64)
        ]
    );
    // Protect splits too.
    let changed = s.protect(16 * P, 17 * P, prot(R)).unwrap();
    let mut expect = dev(16 * P, 17 * P, base + 6 * P as u64);
    expect.prot = prot(R);
    assert_eq!(changed, vec![expect]);
    let mut ro = dev(16 * P, 17 * P, base + 6 * P as u64);
    ro.prot = prot(R);
    assert_eq!(
        s.iter().copied().collect::<Vec<_>>(),
        vec![
            dev(10 * P, 12 * P, base),
            dev(14 * P, 16 * P, base + 4 * P as u64),
            ro,
            dev(17 * P, 20 * P, base + 7 * P as u64),
        ]
    );
    // Putting it back re-merges into one contiguous device VMA.
    s.protect(16 * P, 17 * P, prot(RW)).unwrap();
    assert_eq!(
        s.iter().copied().collect::<Vec<_>>(),
        vec![
            dev(10 * P, 12 * P, base),
            dev(14 * P, 20 * P, base + 4 * P as u64)
        ]
    );
}

#[test]
fn protect_middle() {
    let mut s = set(10, &[anon(10 * P, 20 * P, RW)]);
    let changed = s.protect(12 * P, 14 * P, prot(R)).unwrap();
    assert_eq!(changed, vec![anon(12 * P, 14 * P, R)]);
    assert_eq!(
        s.iter().copied().collect::<Vec<_>>(),
        vec![
            anon(10 * P, 12 * P, RW),
            anon(12 * P, 14 * P, R),
            anon(14 * P, 20 * P, RW)
        ]
    );
    // Undo: merges back into one.
    let changed = s.protect(12 * P, 14 * P, prot(RW)).unwrap();
    assert_eq!(changed, vec![anon(12 * P, 14 * P, RW)]);
    assert_eq!(ranges(&s), vec![(10 * P, 20 * P)]);
    // Same prot: nothing changes, nothing reported.
    assert_eq!(s.protect(10 * P, 20 * P, prot(RW)), Ok(vec![]));
    assert_eq!(s.count(), 1);
}

#[test]
fn protect_edges() {
    let mut s = set(10, &[anon(10 * P, 20 * P, RW)]);
    s.protect(10 * P, 11 * P, prot(R)).unwrap();
    s.protect(19 * P, 20 * P, prot(R)).unwrap();
    assert_eq!(
        s.iter().copied().collect::<Vec<_>>(),
        vec![
            anon(10 * P, 11 * P, R),
            anon(11 * P, 19 * P, RW),
            anon(19 * P, 20 * P, R)
        ]
    );
    // Extending the left piece merges with it.
    s.protect(11 * P, 12 * P, prot(R)).unwrap();
    assert_eq!(
        ranges(&s),
        vec![(10 * P, 12 * P), (12 * P, 19 * P), (19 * P, 20 * P)]
    );
}

#[test]
fn protect_spanning() {
    let mut s = set(
        10,
        &[
            anon(10 * P, 20 * P, RW),
            anon(20 * P, 30 * P, R),
            anon(30 * P, 40 * P, RW),
        ],
    );
    let changed = s.protect(15 * P, 35 * P, prot(R)).unwrap();
    // Only the pieces that were RW changed.
    assert_eq!(
        changed,
        vec![anon(15 * P, 20 * P, R), anon(30 * P, 35 * P, R)]
    );
    assert_eq!(
        s.iter().copied().collect::<Vec<_>>(),
        vec![
            anon(10 * P, 15 * P, RW),
            anon(15 * P, 35 * P, R),
            anon(35 * P, 40 * P, RW)
        ]
    );
    let changed = s.protect(10 * P, 40 * P, prot(RX)).unwrap();
    assert_eq!(changed.len(), 3);
    assert_eq!(ranges(&s), vec![(10 * P, 40 * P)]);
}

#[test]
fn protect_over_hole_is_enomem_and_changes_nothing() {
    // mprotect(2): "ENOMEM Addresses in the range [addr, addr+len-1] are
    // invalid for the address space of the process, or specify one or
    // more pages that are not mapped."
    let mut s = set(10, &[anon(10 * P, 20 * P, RW), anon(25 * P, 30 * P, RW)]);
    let before: Vec<Vma> = s.iter().copied().collect();
    assert_eq!(s.protect(15 * P, 28 * P, prot(R)), Err(Errno::ENOMEM));
    assert_eq!(s.protect(5 * P, 12 * P, prot(R)), Err(Errno::ENOMEM));
    assert_eq!(s.protect(28 * P, 31 * P, prot(R)), Err(Errno::ENOMEM));
    assert_eq!(s.protect(21 * P, 22 * P, prot(R)), Err(Errno::ENOMEM));
    assert_eq!(s.protect(50 * P, 52 * P, prot(R)), Err(Errno::ENOMEM));
    assert_eq!(s.iter().copied().collect::<Vec<_>>(), before);
}

#[test]
fn protect_refuses_rights_a_vma_may_not_have() {
    let mut ro_dev = dev(30 * P, 31 * P, 0x900_0000);
    ro_dev.prot = prot(R);
    ro_dev.kind = VmaKind::Device {
        phys: 0x900_0000,
        mem: MemoryType::DeviceShareable,
        may_write: false,
    };
    let mut s = set(
        10,
        &[
            anon(10 * P, 20 * P, RW),
            dev(20 * P, 21 * P, 0x800_0000),
            ro_dev,
        ],
    );
    let before: Vec<Vma> = s.iter().copied().collect();
    // mprotect(2) EACCES: "The memory cannot be given the specified
    // access", e.g. PROT_WRITE on a read-only shared file mapping.
    assert_eq!(s.protect(30 * P, 31 * P, prot(RW)), Err(Errno::EACCES));
    // Devices are never executable.
    assert_eq!(s.protect(20 * P, 21 * P, prot(RX)), Err(Errno::EACCES));
    assert_eq!(s.protect(10 * P, 21 * P, prot(RX)), Err(Errno::EACCES));
    // W+X never, whatever the kind.
    assert_eq!(s.protect(10 * P, 11 * P, prot(7)), Err(Errno::EACCES));
    assert_eq!(s.iter().copied().collect::<Vec<_>>(), before);
    // Linux's order: the hole after the first VMA is met before the
    // device's EACCES.
    assert_eq!(s.protect(20 * P, 31 * P, prot(RW)), Err(Errno::ENOMEM));
    // The first VMA's EACCES is met before the later hole.
    assert_eq!(s.protect(30 * P, 32 * P, prot(RW)), Err(Errno::EACCES));
    // Read-only and PROT_NONE are fine.
    assert!(s.protect(30 * P, 31 * P, Prot::NONE).is_ok());
}

#[test]
fn max_count_exceeded_is_enomem_with_no_change() {
    let mut s = set(2, &[anon(10 * P, 20 * P, RW), anon(30 * P, 40 * P, RW)]);
    let before: Vec<Vma> = s.iter().copied().collect();
    // A third separate VMA.
    assert_eq!(s.insert(anon(50 * P, 51 * P, RW)), Err(Errno::ENOMEM));
    // Splitting the middle of one.
    assert_eq!(s.remove(12 * P, 13 * P), Err(Errno::ENOMEM));
    assert_eq!(s.protect(12 * P, 13 * P, prot(R)), Err(Errno::ENOMEM));
    assert_eq!(s.protect(10 * P, 13 * P, prot(R)), Err(Errno::ENOMEM));
    assert_eq!(s.iter().copied().collect::<Vec<_>>(), before);
    // Operations that do not add VMAs still work at the limit.
    s.insert(anon(20 * P, 21 * P, RW)).unwrap(); // merges
    s.remove(10 * P, 11 * P).unwrap(); // trims
    s.protect(30 * P, 40 * P, prot(R)).unwrap(); // whole VMA
    s.insert(anon(21 * P, 30 * P, RW)).unwrap(); // merges with left only
    assert_eq!(s.count(), 2);
    // Filling the gap with a compatible VMA even reduces the count.
    s.protect(30 * P, 40 * P, prot(RW)).unwrap();
    assert_eq!(ranges(&s), vec![(11 * P, 40 * P)]);
    let mut z = VmaSet::new(0);
    assert_eq!(z.insert(anon(0, P, R)), Err(Errno::ENOMEM));
    assert_eq!(z.count(), 0);
}

#[test]
fn is_free() {
    let s = set(10, &[anon(10 * P, 20 * P, RW)]);
    assert!(s.is_free(0, 10 * P));
    assert!(s.is_free(20 * P, 30 * P));
    assert!(!s.is_free(9 * P, 11 * P));
    assert!(!s.is_free(19 * P, 21 * P));
    assert!(!s.is_free(0, usize::MAX));
    assert!(s.is_free(15 * P, 15 * P));
    assert!(!s.is_free(16 * P, 15 * P));
}

#[test]
fn find_free_hint() {
    let s = set(10, &[anon(100 * P, 200 * P, RW)]);
    let (lo, hi) = (P, 1000 * P);
    // Free hint: taken.
    assert_eq!(s.find_free(4 * P, 50 * P, lo, hi, P), Some(50 * P));
    assert_eq!(s.find_free(4 * P, 96 * P, lo, hi, P), Some(96 * P));
    assert_eq!(s.find_free(4 * P, 200 * P, lo, hi, P), Some(200 * P));
    // A hint is taken even when not aligned to a large `align`.
    assert_eq!(s.find_free(4 * P, 50 * P, lo, hi, MB), Some(50 * P));
    // Taken (overlapping), unaligned, out of range, or 0: top-down search.
    assert_eq!(s.find_free(4 * P, 97 * P, lo, hi, P), Some(996 * P));
    assert_eq!(s.find_free(4 * P, 150 * P, lo, hi, P), Some(996 * P));
    assert_eq!(s.find_free(4 * P, 50 * P + 1, lo, hi, P), Some(996 * P));
    assert_eq!(s.find_free(4 * P, 998 * P, lo, hi, P), Some(996 * P));
    assert_eq!(s.find_free(4 * P, 2000 * P, lo, hi, P), Some(996 * P));
    assert_eq!(s.find_free(4 * P, 0, lo, hi, P), Some(996 * P));
}

#[test]
fn find_free_top_down() {
    let mut s = set(
        10,
        &[anon(900 * P, 1000 * P, RW), anon(500 * P, 890 * P, RW)],
    );
    let (lo, hi) = (P, 1000 * P);
    // The highest gap that fits: [890, 900) has room for 10 pages.
    assert_eq!(s.find_free(10 * P, 0, lo, hi, P), Some(890 * P));
    // 11 pages do not fit there: next gap down, at its top.
    assert_eq!(s.find_free(11 * P, 0, lo, hi, P), Some(489 * P));
    // Successive allocations go downwards.
    s.insert(anon(489 * P, 500 * P, R)).unwrap();
    assert_eq!(s.find_free(11 * P, 0, lo, hi, P), Some(478 * P));
    // The lower limit is respected.
    assert_eq!(s.find_free(11 * P, 0, 470 * P, hi, P), Some(478 * P));
    assert_eq!(s.find_free(11 * P, 0, 480 * P, hi, P), None);
    assert_eq!(s.find_free(8 * P, 0, 470 * P, hi, P), Some(892 * P));
    // A VMA straddling hi shrinks the first gap.
    assert_eq!(s.find_free(P, 0, lo, 950 * P, P), Some(899 * P));
    // Unaligned limits are rounded inwards.
    assert_eq!(s.find_free(P, 0, lo, 900 * P + 5, P), Some(899 * P));
    assert_eq!(s.find_free(P, 0, 899 * P + 1, 900 * P, P), None);
}

#[test]
fn find_free_alignment() {
    let s = set(10, &[anon(3 * MB + P, 4 * MB, RW)]);
    let hi = 4 * MB;
    // 1 MiB alignment skips the partly used top megabyte.
    assert_eq!(s.find_free(MB, 0, P, hi, MB), Some(2 * MB));
    assert_eq!(s.find_free(P, 0, P, hi, MB), Some(3 * MB));
    // Page alignment uses the space just below the VMA.
    assert_eq!(s.find_free(MB, 0, P, hi, P), Some(2 * MB + P));
    // No aligned spot at all.
    assert_eq!(s.find_free(MB, 0, MB + P, 3 * MB, MB), Some(2 * MB));
    assert_eq!(s.find_free(MB, 0, MB + P, 3 * MB - P, MB), None);
    // Bad alignment or length.
    assert_eq!(s.find_free(MB, 0, P, hi, 3 * P), None);
    assert_eq!(s.find_free(0, 0, P, hi, P), None);
    assert_eq!(s.find_free(P + 1, 0, P, hi, P), None);
    // align 0 means pages.
    assert_eq!(s.find_free(P, 0, P, hi, 0), Some(3 * MB));
}

#[test]
fn find_free_full_space() {
    let s = set(10, &[anon(P, 100 * P, RW)]);
    assert_eq!(s.find_free(P, 0, P, 100 * P, P), None);
    assert_eq!(s.find_free(P, 50 * P, P, 100 * P, P), None);
    assert_eq!(s.find_free(200 * P, 0, P, 100 * P, P), None);
    assert_eq!(s.find_free(P, 0, 100 * P, 100 * P, P), None);
    assert_eq!(s.find_free(P, 0, 100 * P, 101 * P, P), Some(100 * P));
    let e = VmaSet::new(10);
    assert_eq!(
        e.find_free(P, 0, 0, usize::MAX, P),
        Some(usize::MAX - 2 * P + 1)
    );
    assert_eq!(e.find_free(P, 0, usize::MAX - P + 2, usize::MAX, P), None);
}

// ---- Randomized model test -------------------------------------------

/// Marsaglia's xorshift64: deterministic, dependency-free.
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
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// What the model knows about one page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PageKind {
    Anon(bool),
    /// Physical page number, memory type index, may_write.
    Dev(u64, u8, bool),
    Image,
    Stack,
    Heap,
    /// Object id, object page.
    Shm(u32, usize),
    /// Object id, object page.
    FilePrivate(u32, usize),
}

const MEMS: [MemoryType; 2] = [MemoryType::DeviceShareable, MemoryType::StronglyOrdered];

fn page_kind_of(v: &Vma, addr: usize) -> PageKind {
    match v.kind {
        VmaKind::Anonymous { shared, .. } => PageKind::Anon(shared),
        VmaKind::Device {
            phys,
            mem,
            may_write,
        } => {
            let p = phys + (addr - v.start) as u64;
            let m = MEMS.iter().position(|&x| x == mem).unwrap() as u8;
            PageKind::Dev(p / P as u64, m, may_write)
        }
        VmaKind::Image(_) => PageKind::Image,
        VmaKind::Stack => PageKind::Stack,
        VmaKind::Heap => PageKind::Heap,
        VmaKind::Shm { id, pgoff, .. } => PageKind::Shm(id, pgoff + (addr - v.start) / P),
        VmaKind::FilePrivate { id, pgoff } => {
            PageKind::FilePrivate(id, pgoff + (addr - v.start) / P)
        }
    }
}

type Page = Option<(Prot, PageKind)>;

/// Whether page `b` may continue page `a` within one VMA.
fn pages_join(a: &Page, b: &Page) -> bool {
    match (a, b) {
        (Some((pa, ka)), Some((pb, kb))) => {
            pa == pb
                && match (ka, kb) {
                    (PageKind::Dev(x, ma, wa), PageKind::Dev(y, mb, wb)) => {
                        x + 1 == *y && ma == mb && wa == wb
                    }
                    // Consecutive pages of the same object.
                    (PageKind::FilePrivate(i, x), PageKind::FilePrivate(j, y))
                    | (PageKind::Shm(i, x), PageKind::Shm(j, y)) => i == j && x + 1 == *y,
                    _ => ka == kb,
                }
        }
        _ => false,
    }
}

/// Number of maximal mergeable runs: what `count()` must be.
fn canonical_count(model: &[Page]) -> usize {
    let mut n = 0;
    for (i, p) in model.iter().enumerate() {
        if p.is_some() && (i == 0 || !pages_join(&model[i - 1], p)) {
            n += 1;
        }
    }
    n
}

fn check(s: &VmaSet, model: &[Page], base: usize) {
    let v: Vec<Vma> = s.iter().copied().collect();
    for w in v.windows(2) {
        assert!(w[0].end <= w[1].start, "sorted, non-overlapping: {:?}", w);
        assert!(!w[0].can_merge(&w[1]), "mergeable neighbours left: {:?}", w);
    }
    for x in &v {
        assert!(x.start < x.end && x.start % P == 0 && x.end % P == 0);
        assert!(x.allows(x.prot));
    }
    for (i, want) in model.iter().enumerate() {
        let addr = base + i * P;
        let got = s.find(addr).map(|vma| (vma.prot, page_kind_of(vma, addr)));
        assert_eq!(got, *want, "page {}", i);
        assert_eq!(
            s.find(addr + P - 1).map(|x| x.start),
            s.find(addr).map(|x| x.start)
        );
    }
    assert_eq!(s.count(), canonical_count(model));
    let mapped = model.iter().filter(|p| p.is_some()).count();
    assert_eq!(s.mapped_bytes(), mapped * P);
}

fn random_prot(rng: &mut Rng) -> Prot {
    // Never W+X: all of 0..=7 except 6 and 7.
    prot([0, 1, 2, 3, 4, 5][rng.below(6)])
}

fn random_vma(rng: &mut Rng, start: usize, end: usize) -> Vma {
    let prot = random_prot(rng);
    let kind = match rng.below(7) {
        0 => VmaKind::Anonymous {
            shared: false,
            may_write: true,
        },
        1 => VmaKind::Anonymous {
            shared: true,
            may_write: true,
        },
        2 => VmaKind::Image(ImageData::ZERO),
        3 => VmaKind::Stack,
        4 => VmaKind::Heap,
        // Two files, and page offsets that make neighbours continue each
        // other now and then (mergeable) and not at other times.
        5 => VmaKind::FilePrivate {
            id: 1 + rng.below(2) as u32,
            pgoff: start / P + rng.below(2),
        },
        _ => VmaKind::Device {
            // Few distinct bases so contiguous neighbours happen.
            phys: (0x1000 + rng.below(8) as u64 * 4) * P as u64 + (start / P % 4) as u64 * P as u64,
            mem: MEMS[rng.below(2)],
            may_write: rng.below(2) == 0,
        },
    };
    let mut v = Vma {
        start,
        end,
        prot,
        kind,
    };
    // Keep devices within their rights most of the time so they get in.
    if let VmaKind::Device { may_write, .. } = kind {
        if rng.below(8) != 0 {
            v.prot.exec = false;
            if !may_write {
                v.prot.write = false;
            }
        }
    }
    v
}

fn model_allows(page: &Page, prot: Prot) -> bool {
    match page {
        Some((_, PageKind::Dev(_, _, may_write))) => {
            !prot.exec && !prot.is_write_exec() && (*may_write || !prot.write)
        }
        Some(_) => !prot.is_write_exec(),
        None => false,
    }
}

#[test]
fn randomized_against_page_model() {
    const PAGES: usize = 64;
    let base = 0x1000_0000;
    // How often each outcome happened, so the test proves it exercised
    // them: insert ok/EEXIST/ENOMEM/EACCES, remove ok/ENOMEM, protect
    // ok/hole/EACCES/ENOMEM.
    let mut seen = [0usize; 10];
    for seed in 1..=8u64 {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ seed);
        let max = [3, 6, 12, 1000][seed as usize % 4];
        let mut s = VmaSet::new(max);
        let mut model: Vec<Page> = vec![None; PAGES];
        for _ in 0..1500 {
            let a = rng.below(PAGES);
            let b = a + 1 + rng.below((PAGES - a).min(20));
            let (start, end) = (base + a * P, base + b * P);
            let before: Vec<Vma> = s.iter().copied().collect();
            let model_before = model.clone();
            match rng.below(3) {
                0 => {
                    let v = random_vma(&mut rng, start, end);
                    let mut next = model.clone();
                    let want = if !v.allows(v.prot) {
                        Err(Errno::EACCES)
                    } else if model[a..b].iter().any(|p| p.is_some()) {
                        Err(Errno::EEXIST)
                    } else {
                        for (i, p) in next.iter_mut().enumerate().take(b).skip(a) {
                            *p = Some((v.prot, page_kind_of(&v, base + i * P)));
                        }
                        if canonical_count(&next) > max {
                            Err(Errno::ENOMEM)
                        } else {
                            Ok(())
                        }
                    };
                    assert_eq!(s.insert(v), want, "insert {:?}", v);
                    seen[match want {
                        Ok(()) => 0,
                        Err(Errno::EEXIST) => 1,
                        Err(Errno::ENOMEM) => 2,
                        Err(_) => 3,
                    }] += 1;
                    if want.is_ok() {
                        model = next;
                    }
                }
                1 => {
                    let mut next = model.clone();
                    for p in &mut next[a..b] {
                        *p = None;
                    }
                    let res = s.remove(start, end);
                    if canonical_count(&next) > max {
                        assert_eq!(res, Err(Errno::ENOMEM));
                        seen[5] += 1;
                    } else {
                        let gone = res.unwrap();
                        // The removed pieces describe exactly the
                        // mapped pages of the range, in order.
                        let mut pages: Vec<(usize, Page)> = Vec::new();
                        for g in &gone {
                            assert!(g.start >= start && g.end <= end);
                            let mut addr = g.start;
                            while addr < g.end {
                                pages.push((addr, Some((g.prot, page_kind_of(g, addr)))));
                                addr += P;
                            }
                        }
                        let want: Vec<(usize, Page)> = (a..b)
                            .filter(|&i| model[i].is_some())
                            .map(|i| (base + i * P, model[i]))
                            .collect();
                        assert_eq!(pages, want);
                        seen[4] += usize::from(!gone.is_empty());
                        model = next;
                    }
                }
                _ => {
                    let pr = random_prot(&mut rng);
                    let pr = if rng.below(10) == 0 { prot(7) } else { pr };
                    // Linux's order: walk up, first hole or refusal wins.
                    let mut want_err = None;
                    for p in &model[a..b] {
                        if p.is_none() {
                            want_err = Some(Errno::ENOMEM);
                            break;
                        }
                        if !model_allows(p, pr) {
                            want_err = Some(Errno::EACCES);
                            break;
                        }
                    }
                    let mut next = model.clone();
                    for p in next[a..b].iter_mut().flatten() {
                        p.0 = pr;
                    }
                    if want_err.is_none() && canonical_count(&next) > max {
                        want_err = Some(Errno::ENOMEM);
                    }
                    let res = s.protect(start, end, pr);
                    match want_err {
                        Some(e) => {
                            assert_eq!(res, Err(e), "protect {a}..{b}");
                            let split_limit = model[a..b]
                                .iter()
                                .all(|p| p.is_some() && model_allows(p, pr));
                            seen[match (e, split_limit) {
                                (Errno::EACCES, _) => 8,
                                (_, true) => 9,
                                _ => 7,
                            }] += 1;
                        }
                        None => {
                            let changed = res.unwrap();
                            let mut pages = Vec::new();
                            for c in &changed {
                                assert_eq!(c.prot, pr);
                                let mut addr = c.start;
                                while addr < c.end {
                                    pages.push(addr);
                                    addr += P;
                                }
                            }
                            let want: Vec<usize> = (a..b)
                                .filter(|&i| model[i].map(|p| p.0) != Some(pr))
                                .map(|i| base + i * P)
                                .collect();
                            assert_eq!(pages, want);
                            seen[6] += usize::from(!changed.is_empty());
                            model = next;
                        }
                    }
                }
            }
            if model == model_before {
                // Failed operations (and no-op successes) change nothing.
                assert_eq!(s.iter().copied().collect::<Vec<_>>(), before);
            }
            check(&s, &model, base);

            // find_free against a brute-force top-down scan.
            let len = (1 + rng.below(6)) * P;
            let align = [P, 4 * P][rng.below(2)];
            let lo = base + rng.below(PAGES / 2) * P;
            let hi = base + (PAGES / 2 + rng.below(PAGES / 2 + 1)) * P;
            let free = |x: usize| {
                (x..x + len)
                    .step_by(P)
                    .all(|q| model[(q - base) / P].is_none())
            };
            let want = (lo..=hi.saturating_sub(len))
                .rev()
                .step_by(P)
                .find(|&x| x % align == 0 && x + len <= hi && free(x));
            assert_eq!(s.find_free(len, 0, lo, hi, align), want);
            let hint = base + rng.below(PAGES) * P;
            let got = s.find_free(len, hint, lo, hi, align);
            if hint >= lo && hint + len <= hi && free(hint) {
                assert_eq!(got, Some(hint));
            } else {
                assert_eq!(got, want);
            }
        }
    }
    assert!(
        seen.iter().all(|&n| n > 0),
        "outcomes not all exercised: {seen:?}"
    );
}

fn anon_k(start: usize, end: usize, bits: u32, shared: bool, may_write: bool) -> Vma {
    Vma {
        start,
        end,
        prot: prot(bits),
        kind: VmaKind::Anonymous { shared, may_write },
    }
}

/// mprotect(2) as `do_mprotect_pkey` walks it: VMAs in order, stop at
/// the first hole (ENOMEM) or the first VMA that may not take the
/// rights (EACCES), keeping what came before.
#[test]
fn protect_extent_stops_where_linux_stops() {
    let ro_zero = anon_k(4 * P, 6 * P, R, true, false); // /dev/zero O_RDONLY
    let s = set(
        100,
        &[
            anon(0, 2 * P, RW),
            anon(2 * P, 3 * P, R),
            ro_zero,
            anon(8 * P, 9 * P, R),
        ],
    );
    assert_eq!(s.count(), 4);
    let rw = prot(RW);
    let r = prot(R);
    // Fully covered, allowed.
    assert_eq!(s.protect_extent(0, 3 * P, r), (3 * P, None));
    assert_eq!(s.protect_extent(P, 2 * P, r), (2 * P, None));
    assert_eq!(s.protect_extent(P, P, r), (P, None), "empty range");
    // A hole after [0, 3P).
    assert_eq!(s.protect_extent(0, 5 * P, r), (3 * P, Some(Errno::ENOMEM)));
    // Starting in a hole: nothing.
    assert_eq!(
        s.protect_extent(3 * P, 5 * P, r),
        (3 * P, Some(Errno::ENOMEM))
    );
    assert_eq!(
        s.protect_extent(6 * P, 8 * P, r),
        (6 * P, Some(Errno::ENOMEM))
    );
    // Past the last VMA.
    assert_eq!(
        s.protect_extent(8 * P, 10 * P, r),
        (9 * P, Some(Errno::ENOMEM))
    );
    // A VMA that may not become writable: EACCES at its start.
    assert_eq!(
        s.protect_extent(4 * P, 6 * P, rw),
        (4 * P, Some(Errno::EACCES))
    );
    assert_eq!(s.protect_extent(4 * P, 6 * P, r), (6 * P, None));
    // W+X anywhere: EACCES at the first VMA.
    assert_eq!(
        s.protect_extent(0, 2 * P, prot(7)),
        (0, Some(Errno::EACCES))
    );
    // A range ending inside a VMA: its end.
    assert_eq!(s.protect_extent(4 * P, 5 * P, r), (5 * P, None));
}

/// Linux's VM_MAYWRITE: a shared mapping of a read-only /dev/zero fd
/// never becomes writable; a private one always may (copy-on-write).
/// Devices are never executable, and writable only with may_write.
#[test]
fn allows_follows_may_write() {
    let w = prot(RW);
    let rx = prot(RX);
    assert!(anon_k(0, P, R, true, true).allows(w));
    assert!(!anon_k(0, P, R, true, false).allows(w));
    assert!(anon_k(0, P, R, true, false).allows(prot(R)));
    assert!(anon_k(0, P, R, true, false).allows(rx));
    assert!(!anon_k(0, P, R, false, true).allows(prot(7)), "W+X");
    let mut d = dev(0, P, 0x0900_0000);
    assert!(d.allows(w) && !d.allows(rx));
    d.kind = VmaKind::Device {
        phys: 0x0900_0000,
        mem: MemoryType::DeviceShareable,
        may_write: false,
    };
    assert!(!d.allows(w) && d.allows(prot(R)) && !d.allows(rx));
    let img = Vma {
        kind: VmaKind::Image(ImageData::ZERO),
        ..anon(0, P, R)
    };
    assert!(img.allows(w) && img.allows(rx) && !img.allows(prot(7)));
}

/// Neighbours merge only when one VMA could describe both: anonymous
/// ones with the same sharing and VM_MAYWRITE, ELF pieces of the same
/// segment.
#[test]
fn anonymous_and_image_kinds_merge_only_when_identical() {
    for (shared, mw) in [(false, true), (true, true), (true, false)] {
        let a = anon_k(0, P, R, shared, mw);
        for (s2, m2) in [(false, true), (true, true), (true, false)] {
            let b = anon_k(P, 2 * P, R, s2, m2);
            assert_eq!(a.can_merge(&b), (shared, mw) == (s2, m2), "{a:?} {b:?}");
        }
    }
    let s = set(
        100,
        &[
            anon_k(0, P, R, true, false),
            anon_k(P, 2 * P, R, true, true),
        ],
    );
    assert_eq!(s.count(), 2);
    static SEG: [u8; 16] = [1; 16];
    static OTHER: [u8; 16] = [1; 16];
    let seg = ImageData {
        bytes: &SEG,
        va: 0x10000,
        file_offset: 0,
    };
    let img = |start, end, d| Vma {
        start,
        end,
        prot: prot(R),
        kind: VmaKind::Image(d),
    };
    assert!(img(0, P, seg).can_merge(&img(P, 2 * P, seg)));
    let other = ImageData {
        bytes: &OTHER,
        va: 0x10000,
        file_offset: 0,
    };
    assert!(
        !img(0, P, seg).can_merge(&img(P, 2 * P, other)),
        "other bytes"
    );
    let moved = ImageData { va: 0x20000, ..seg };
    assert!(
        !img(0, P, seg).can_merge(&img(P, 2 * P, moved)),
        "other place"
    );
    assert!(
        !img(0, P, seg).can_merge(&img(2 * P, 3 * P, seg)),
        "not touching"
    );
    assert!(!img(0, P, seg).can_merge(&anon(P, 2 * P, R)));
    let s = set(
        100,
        &[img(0, P, seg), img(P, 2 * P, seg), img(2 * P, 3 * P, other)],
    );
    assert_eq!(ranges(&s), vec![(0, 2 * P), (2 * P, 3 * P)]);
}

#[test]
fn in_page_gives_the_file_bytes_of_a_page() {
    static B: [u8; 0x1800] = {
        let mut b = [0u8; 0x1800];
        let mut i = 0;
        while i < b.len() {
            b[i] = i as u8;
            i += 1;
        }
        b
    };
    // Bytes at [0x10100, 0x11900).
    let d = ImageData {
        bytes: &B,
        va: 0x10100,
        file_offset: 0,
    };
    let (off, bytes) = d.in_page(0x10000, P).unwrap();
    assert_eq!((off, bytes.len()), (0x100, P - 0x100));
    assert_eq!(bytes[0], 0);
    assert!(core::ptr::eq(bytes.as_ptr(), B.as_ptr()));
    let (off, bytes) = d.in_page(0x11000, P).unwrap();
    assert_eq!((off, bytes.len()), (0, 0x900));
    assert!(core::ptr::eq(bytes.as_ptr(), B[0xF00..].as_ptr()));
    assert_eq!(d.in_page(0x12000, P), None, "after the bytes");
    assert_eq!(d.in_page(0xF000, P), None, "before them");
    assert_eq!(
        d.in_page(0xF000, 0x1101).map(|(o, b)| (o, b.len())),
        Some((0x1100, 1))
    );
    assert_eq!(ImageData::ZERO.in_page(0, P), None);
    // A range that ends exactly where the bytes begin holds none.
    assert_eq!(d.in_page(0xF000, 0x1100), None);
    assert_eq!(
        d.in_page(usize::MAX - P + 1, P),
        None,
        "no overflow at the top"
    );
}

#[test]
fn iter_from_starts_at_the_vma_holding_or_following_addr() {
    let s = set(
        100,
        &[
            anon(2 * P, 4 * P, RW),
            anon(6 * P, 7 * P, RW),
            anon(9 * P, 10 * P, R),
        ],
    );
    let starts = |a: usize| s.iter_from(a).map(|v| v.start).collect::<Vec<_>>();
    assert_eq!(starts(0), vec![2 * P, 6 * P, 9 * P]);
    assert_eq!(starts(3 * P), vec![2 * P, 6 * P, 9 * P], "inside the first");
    assert_eq!(starts(4 * P), vec![6 * P, 9 * P], "end is exclusive");
    assert_eq!(starts(7 * P - 1), vec![6 * P, 9 * P]);
    assert_eq!(starts(8 * P), vec![9 * P]);
    assert!(starts(10 * P).is_empty());
}

/// cut = remove without the list: same result, same errors, and the
/// VMA limit counts the pieces left (a hole in the middle of one VMA
/// makes two).
#[test]
fn cut_matches_munmap_semantics() {
    let base = [
        anon(0, 4 * P, RW),
        dev(6 * P, 10 * P, 0x0900_0000),
        anon(12 * P, 14 * P, R),
    ];
    let mut s = set(3, &base);
    assert_eq!(s.cut(P, 2 * P), Err(Errno::ENOMEM), "would make 4 VMAs");
    assert_eq!(s.count(), 3);
    assert_eq!(s.cut(P, 0), Err(Errno::EINVAL));
    assert_eq!(s.cut(P + 1, 2 * P), Err(Errno::EINVAL));
    assert_eq!(s.cut(P, 2 * P + 8), Err(Errno::EINVAL));
    assert_eq!(s.cut(4 * P, 6 * P), Ok(()), "a hole");
    assert_eq!(s.count(), 3);
    // Cut the first VMA's tail and the device's head in one go.
    s.cut(3 * P, 7 * P).unwrap();
    assert_eq!(
        ranges(&s),
        vec![(0, 3 * P), (7 * P, 10 * P), (12 * P, 14 * P)]
    );
    match s.find(7 * P).unwrap().kind {
        VmaKind::Device { phys, .. } => assert_eq!(phys, 0x0900_1000),
        k => panic!("{k:?}"),
    }
    // A middle cut with room for it.
    let mut s = set(4, &base);
    s.cut(7 * P, 8 * P).unwrap();
    assert_eq!(
        ranges(&s),
        vec![
            (0, 4 * P),
            (6 * P, 7 * P),
            (8 * P, 10 * P),
            (12 * P, 14 * P)
        ]
    );
    match s.find(8 * P).unwrap().kind {
        VmaKind::Device { phys, .. } => assert_eq!(phys, 0x0900_2000),
        k => panic!("{k:?}"),
    }
    // Whole VMAs and everything between.
    s.cut(0, 14 * P).unwrap();
    assert_eq!(s.count(), 0);
    // remove reports what cut removes, clipped.
    let mut s = set(3, &base);
    let got = s.remove(2 * P, 13 * P).unwrap();
    assert_eq!(
        got.iter().map(|v| (v.start, v.end)).collect::<Vec<_>>(),
        vec![(2 * P, 4 * P), (6 * P, 10 * P), (12 * P, 13 * P)]
    );
    assert_eq!(ranges(&s), vec![(0, 2 * P), (13 * P, 14 * P)]);
    assert_eq!(s.remove(P, 2 * P).unwrap(), vec![anon(P, 2 * P, RW)]);
    assert!(s.reserve(4).is_ok());
}

// ---- Small accessors, pinned by their documented meaning ----------------

#[test]
fn contains_is_the_half_open_range() {
    // `[start, end)`: the first byte is inside, the byte at `end` is not.
    let v = anon(10 * P, 12 * P, RW);
    assert!(v.contains(10 * P));
    assert!(v.contains(11 * P));
    assert!(v.contains(12 * P - 1));
    assert!(!v.contains(12 * P));
    assert!(!v.contains(10 * P - 1));
    assert!(!v.contains(0));
    assert!(!v.contains(usize::MAX));
}

#[test]
fn max_count_is_the_limit_given() {
    assert_eq!(VmaSet::new(65530).max_count(), 65530);
    assert_eq!(VmaSet::new(7).max_count(), 7);
}

#[test]
fn image_data_debug_names_length_and_address() {
    static BYTES: [u8; 3] = [1, 2, 3];
    let d = ImageData {
        bytes: &BYTES,
        va: 0x1_0000,
        file_offset: 0,
    };
    assert_eq!(format!("{d:?}"), "3 file bytes at 0x10000");
}

#[test]
fn find_free_refuses_an_inverted_or_too_small_window() {
    let s = VmaSet::new(10);
    // lo above hi: nothing fits, whatever the hint.
    assert_eq!(s.find_free(P, 0, 10 * P, 5 * P, P), None);
    assert_eq!(s.find_free(P, 6 * P, 10 * P, 5 * P, P), None);
    // A window of 2 pages cannot hold 8, even with a hint at its bottom.
    assert_eq!(s.find_free(8 * P, 4 * P, 4 * P, 6 * P, P), None);
    assert_eq!(s.find_free(8 * P, 0, 4 * P, 6 * P, P), None);
}

#[test]
fn a_merging_insert_fits_under_a_full_limit() {
    // Linux's vma_merge adds no VMA, so a full map_count does not stop it.
    // Merging with the next VMA:
    let mut s = set(1, &[anon(2 * P, 3 * P, RW)]);
    s.insert(anon(P, 2 * P, RW)).unwrap();
    assert_eq!(ranges(&s), vec![(P, 3 * P)]);
    // With the previous one:
    s.insert(anon(3 * P, 4 * P, RW)).unwrap();
    assert_eq!(ranges(&s), vec![(P, 4 * P)]);
    // Filling the gap between two (three become one) under a limit of 2:
    let mut s = set(2, &[anon(P, 2 * P, RW), anon(3 * P, 4 * P, RW)]);
    s.insert(anon(2 * P, 3 * P, RW)).unwrap();
    assert_eq!(ranges(&s), vec![(P, 4 * P)]);
    // A new, unmergeable VMA does not fit.
    assert_eq!(s.insert(anon(8 * P, 9 * P, R)), Ok(()));
    assert_eq!(s.insert(anon(10 * P, 11 * P, R)), Err(Errno::ENOMEM));
}

#[test]
fn protect_checks_its_range_first() {
    // mprotect(2): EINVAL for an unaligned start; here also for an
    // unaligned end or an inverted range, each on its own, before any
    // hole (ENOMEM) is noticed. An empty range changes nothing.
    let mut s = set(10, &[anon(4 * P, 8 * P, R)]);
    let rw = prot(RW);
    assert_eq!(s.protect(5 * P, 3 * P, rw), Err(Errno::EINVAL));
    assert_eq!(s.protect(P + 1, 3 * P, rw), Err(Errno::EINVAL));
    assert_eq!(s.protect(P, 3 * P + 1, rw), Err(Errno::EINVAL));
    assert_eq!(s.protect(5 * P, 5 * P, rw), Ok(vec![]));
    assert_eq!(ranges(&s), vec![(4 * P, 8 * P)]);
    assert_eq!(s.find(4 * P).map(|v| v.prot), Some(prot(R)));
}

#[test]
fn reserve_makes_room_for_that_many_more() {
    // The promise behind `reserve`: the next `extra` additions need no
    // allocation, i.e. the vector already has the capacity.
    // (No slot is free in a set that only ever grew.)
    let mut s = set(100, &[anon(P, 2 * P, R)]);
    s.reserve(7).unwrap();
    assert!(s.tree.capacity() >= s.tree.slots() + 7);
    let mut e = VmaSet::new(100);
    e.reserve(3).unwrap();
    assert!(e.tree.capacity() >= 3);
}
