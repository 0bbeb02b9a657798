//! The neutral memory code over a fake architecture: 16 frames of RAM at
//! a made-up physical base, "linearly mapped" onto a host buffer. Expected
//! values follow from the frame arithmetic (4 KiB frames), not from the
//! code under test.
use super::*;
use core::cell::RefCell;
use std::vec;

const BASE: u64 = 0x4000_0000;
const FRAMES: usize = 16;
const RAM: u64 = (FRAMES as u64) * FRAME_SIZE;

struct State {
    frames: FrameAllocator,
    /// Host address of physical BASE.
    host: usize,
}

std::thread_local! {
    static STATE: RefCell<State> = RefCell::new(State {
        frames: FrameAllocator::new(BASE, RAM),
        host: vec![0u8; FRAMES * FRAME].leak().as_mut_ptr() as usize,
    });
}

struct Fake;

impl KernelMemory for Fake {
    fn with_frames<R>(f: impl FnOnce(&mut FrameAllocator) -> R) -> R {
        STATE.with(|s| f(&mut s.borrow_mut().frames))
    }
    fn try_with_frames<R>(f: impl FnOnce(&mut FrameAllocator) -> R) -> Option<R> {
        STATE.with(|s| s.try_borrow_mut().ok().map(|mut s| f(&mut s.frames)))
    }
    fn phys_to_virt(pa: u64) -> usize {
        STATE.with(|s| s.borrow().host + (pa - BASE) as usize)
    }
    fn virt_to_phys(va: usize) -> Option<u64> {
        let host = STATE.with(|s| s.borrow().host);
        let off = va.checked_sub(host)?;
        (off < FRAMES * FRAME).then_some(BASE + off as u64)
    }
    fn is_ram(pa: u64) -> bool {
        (BASE..BASE + RAM).contains(&pa)
    }
}

fn free() -> usize {
    frames::<Fake>().0
}

fn host() -> usize {
    STATE.with(|s| s.borrow().host)
}

#[test]
fn frames_are_free_and_total() {
    assert_eq!(frames::<Fake>(), (16, 16));
    Fake::with_frames(|f| f.reserve(BASE, BASE + 3 * FRAME_SIZE));
    assert_eq!(frames::<Fake>(), (13, 16));
}

#[test]
fn initrd_slice_only_inside_ram() {
    // The bytes come through the linear map.
    let p = Fake::phys_to_virt(BASE + 0x1000) as *mut u8;
    // SAFETY: inside the fake RAM buffer.
    unsafe { p.write(0xAB) };
    let s = initrd_slice::<Fake>(BASE + 0x1000, BASE + 0x1003).unwrap();
    assert_eq!(s.len(), 3);
    assert_eq!(s[0], 0xAB);
    assert_eq!(s.as_ptr() as usize, host() + 0x1000);
    // All of RAM, up to its last byte.
    assert_eq!(
        initrd_slice::<Fake>(BASE, BASE + RAM).map(|s| s.len()),
        Some(RAM as usize)
    );
    // Empty or inverted; starting or ending outside RAM.
    assert!(initrd_slice::<Fake>(BASE + 8, BASE + 8).is_none());
    assert!(initrd_slice::<Fake>(BASE + 9, BASE + 8).is_none());
    assert!(initrd_slice::<Fake>(BASE - 1, BASE + 8).is_none());
    assert!(initrd_slice::<Fake>(BASE, BASE + RAM + 1).is_none());
}

#[test]
fn frames_buffer_comes_from_the_allocator() {
    let buf = alloc_frames_buffer::<Fake>(3).unwrap();
    assert_eq!(buf.len(), 3 * 4096);
    assert_eq!(free(), 13);
    let pa = Fake::virt_to_phys(buf.as_ptr() as usize).unwrap();
    for i in 0..3 {
        assert!(Fake::with_frames(|f| f.is_allocated(pa + i * FRAME_SIZE)));
    }
    // More than is left; a byte count that overflows.
    assert!(alloc_frames_buffer::<Fake>(14).is_none());
    assert!(alloc_frames_buffer::<Fake>(usize::MAX / 2).is_none());
    assert_eq!(free(), 13);
}

#[test]
fn buffer_tail_goes_back_rounded_up_to_a_frame() {
    let buf = alloc_frames_buffer::<Fake>(4).unwrap();
    let pa = Fake::virt_to_phys(buf.as_ptr() as usize).unwrap();
    assert_eq!(free(), 12);
    // 4097 bytes to keep: two frames stay, two go back.
    let kept = free_frames_buffer_tail::<Fake>(buf, 4097);
    assert_eq!(kept.len(), 2 * 4096);
    assert_eq!(kept.as_ptr() as usize, Fake::phys_to_virt(pa));
    assert_eq!(free(), 14);
    assert!(Fake::with_frames(|f| f.is_allocated(pa + FRAME_SIZE)));
    assert!(!Fake::with_frames(|f| f.is_allocated(pa + 2 * FRAME_SIZE)));
    // Keeping everything (or more) frees nothing.
    let kept = free_frames_buffer_tail::<Fake>(kept, 1 << 20);
    assert_eq!(kept.len(), 2 * 4096);
    assert_eq!(free(), 14);
    // Keeping nothing frees it all.
    let kept = free_frames_buffer_tail::<Fake>(kept, 0);
    assert!(kept.is_empty());
    assert_eq!(free(), 16);
}

#[test]
fn free_phys_range_counts_what_it_freed() {
    Fake::with_frames(|f| f.reserve(BASE, BASE + 5 * FRAME_SIZE));
    assert_eq!(free(), 11);
    assert_eq!(
        free_phys_range::<Fake>(BASE + FRAME_SIZE, BASE + 3 * FRAME_SIZE),
        2
    );
    assert_eq!(free(), 13);
    // Empty or inverted: nothing.
    assert_eq!(free_phys_range::<Fake>(BASE, BASE), 0);
    assert_eq!(free_phys_range::<Fake>(BASE + FRAME_SIZE, BASE), 0);
    // Partly free already: refused, nothing changes.
    assert_eq!(free_phys_range::<Fake>(BASE, BASE + 2 * FRAME_SIZE), 0);
    assert_eq!(free(), 13);
    assert!(Fake::with_frames(|f| f.is_allocated(BASE)));
}

#[test]
fn heap_frames_round_up_and_never_wait() {
    let va = heap_frames::<Fake>(4097).unwrap();
    assert_eq!(free(), 14);
    let pa = Fake::virt_to_phys(va).unwrap();
    assert!(Fake::with_frames(
        |f| f.is_allocated(pa) && f.is_allocated(pa + FRAME_SIZE)
    ));
    // Asked while the frame allocator is held: nothing, at once.
    let inner = Fake::with_frames(|_| heap_frames::<Fake>(4096));
    assert_eq!(inner, None);
    assert_eq!(free(), 14);
    // More than there is.
    assert_eq!(heap_frames::<Fake>(15 * 4096), None);
}

#[test]
fn private_syscalls_are_answered_and_others_are_not() {
    use crate::errno::Errno;
    use crate::mm::inject::{SYS_INJECT, SYS_MEMSTAT};
    // Not one of the kernel-private numbers: not ours.
    assert_eq!(private_syscall::<Fake>(5, [0; 6]), None);
    assert_eq!(private_syscall::<Fake>(SYS_INJECT - 1, [0; 6]), None);
    // An unknown memstat index: ENOSYS while fault injection is off,
    // EINVAL once the inject tests have turned it on; an error either way.
    let r = private_syscall::<Fake>(SYS_MEMSTAT, [99, 0, 0, 0, 0, 0]);
    assert!(
        r == Some(Errno::ENOSYS.as_return()) || r == Some(Errno::EINVAL.as_return()),
        "{r:?}"
    );
}
