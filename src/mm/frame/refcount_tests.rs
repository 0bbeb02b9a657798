//! Reference counts: share, drop, the last reference frees.

use super::*;

const BASE: u64 = 0x4000_0000;

#[test]
fn a_shared_frame_is_free_only_when_the_last_reference_goes() {
    let mut a = FrameAllocator::new(BASE, 8 * FRAME_SIZE);
    let pa = a.alloc().unwrap();
    assert_eq!(a.refcount(pa), 1);
    a.share(pa).unwrap();
    a.share(pa).unwrap();
    assert_eq!(a.refcount(pa), 3);
    assert_eq!(a.free_count(), 7);
    a.free(pa).unwrap();
    a.free(pa).unwrap();
    assert!(a.is_allocated(pa));
    assert_eq!(a.free_count(), 7);
    assert_eq!(a.refcount(pa), 1);
    a.free(pa).unwrap();
    assert!(!a.is_allocated(pa));
    assert_eq!(a.refcount(pa), 0);
    assert_eq!(a.free_count(), 8);
    assert_eq!(a.free(pa), Err(FrameError::NotAllocated), "double free");
    assert_eq!(a.free_count(), 8);
}

#[test]
fn share_refuses_free_unaligned_outside_and_overflow() {
    let mut a = FrameAllocator::new(BASE, 4 * FRAME_SIZE);
    assert_eq!(a.share(BASE), Err(FrameError::NotAllocated));
    assert_eq!(a.share(BASE + 1), Err(FrameError::Unaligned));
    assert_eq!(a.share(BASE - FRAME_SIZE), Err(FrameError::OutOfRange));
    assert_eq!(a.share(BASE + 4 * FRAME_SIZE), Err(FrameError::OutOfRange));
    assert_eq!(a.refcount(BASE - FRAME_SIZE), 0);
    let pa = a.alloc().unwrap();
    a.set_refcount(pa, u16::MAX - 1);
    a.share(pa).unwrap();
    assert_eq!(a.refcount(pa), u16::MAX as usize);
    assert_eq!(a.share(pa), Err(FrameError::TooManyRefs));
    assert_eq!(a.refcount(pa), u16::MAX as usize, "unchanged on overflow");
    assert_eq!(FrameError::TooManyRefs.errno(), Errno::ENOMEM);
}

#[test]
fn contiguous_free_drops_one_reference_per_frame() {
    let mut a = FrameAllocator::new(BASE, 16 * FRAME_SIZE);
    let run = a.alloc_contiguous(4, 4).unwrap();
    // Two frames of the run are shared (a split section after fork).
    a.share(run + FRAME_SIZE).unwrap();
    a.share(run + 3 * FRAME_SIZE).unwrap();
    a.free_contiguous(run, 4).unwrap();
    assert_eq!(a.free_count(), 14);
    assert!(!a.is_allocated(run));
    assert_eq!(a.refcount(run + FRAME_SIZE), 1);
    assert_eq!(a.refcount(run + 3 * FRAME_SIZE), 1);
    // A run with a free frame in it is refused whole.
    assert_eq!(
        a.free_contiguous(run, 4),
        Err(FrameError::NotAllocated),
        "nothing changes"
    );
    assert_eq!(a.refcount(run + FRAME_SIZE), 1);
    a.free(run + FRAME_SIZE).unwrap();
    a.free(run + 3 * FRAME_SIZE).unwrap();
    assert_eq!(a.free_count(), 16);
    assert_eq!(a.used_count(), 0);
}

#[test]
fn reserved_frames_have_one_reference_and_a_refreed_frame_restarts_at_one() {
    let mut a = FrameAllocator::new(BASE, 8 * FRAME_SIZE);
    a.reserve(BASE, BASE + 2 * FRAME_SIZE);
    assert_eq!(a.refcount(BASE), 1);
    a.reserve(BASE, BASE + FRAME_SIZE);
    assert_eq!(a.refcount(BASE), 1, "reserving again adds nothing");
    a.free(BASE).unwrap();
    assert_eq!(a.refcount(BASE), 0);
    let mut seen = 0;
    while let Ok(pa) = a.alloc() {
        assert_eq!(a.refcount(pa), 1);
        seen += 1;
    }
    assert_eq!(seen, 7);
}
