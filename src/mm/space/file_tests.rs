//! File-backed mmap over the page cache (a file's `shm` object), against
//! the fork tests' machine: real page contents, a real frame allocator
//! with reference counts, several address spaces.
//!
//! Expected values come from mmap(2), msync(2), mincore(2), mlock(2),
//! madvise(2), proc(5) and the Linux 6.1 sources they describe (named at
//! each test), never from this implementation.

use super::fork_tests::{
    check_refcounts, check_refcounts_with, prot, read, space, write, Machine, MemMmu, P, RAM_FRAMES,
};
use super::*;
use crate::mm::shm::{self, ShmId};
use crate::syscall::mm_args::Placement;
use std::boxed::Box;
use std::cell::RefCell;
use std::format;
use std::rc::Rc;
use std::string::String;
use std::vec;
use std::vec::Vec;

type Mach = Rc<RefCell<Machine>>;

/// `n` bytes of file content, none zero (a zero byte read back is a
/// hole, never data).
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8 + 1).collect()
}

/// A file as the VFS holds it: its page cache object (one user, the
/// inode) starting from `bytes`.
fn file(bytes: &[u8]) -> ShmId {
    shm::create_file(Box::leak(bytes.to_vec().into_boxed_slice())).unwrap()
}

/// The VFS's last reference goes (unlink + close).
fn close(mach: &Mach, id: ShmId) {
    shm::remove_user(id, &mut |pa| mach.borrow_mut().drop_ref(pa));
}

/// The page-cache frame of file page `index`, read in as the VFS would.
fn cache_page(mach: &Mach, id: ShmId, index: usize) -> u64 {
    let mut vm = MemMmu::new(mach);
    let (pa, _) = shm::page_or_insert(id, index, &mut |src| {
        let pa = vm.alloc_zeroed(P)?;
        // SAFETY: `pa` was just allocated (a test frame).
        unsafe { vm.fill_frame(pa, 0, src) };
        Ok(pa)
    })
    .unwrap();
    pa
}

/// write(2) of one byte at `off`: into the page cache.
fn vfs_write(mach: &Mach, id: ShmId, off: usize, val: u8) {
    let pa = cache_page(mach, id, off / P);
    mach.borrow_mut()
        .mem
        .entry(pa)
        .or_insert_with(|| vec![0; P])[off % P] = val;
}

/// read(2) of one byte at `off`: from the page cache.
fn vfs_read(mach: &Mach, id: ShmId, off: usize) -> u8 {
    let pa = cache_page(mach, id, off / P);
    mach.borrow().mem.get(&pa).map_or(0, |p| p[off % P])
}

fn rw() -> Prot {
    prot(true, true)
}

fn ro() -> Prot {
    prot(true, false)
}

/// A decoded file mmap at a fixed place (`may_write` as for an `O_RDWR`
/// fd).
fn fmap(addr: usize, pages: usize, p: Prot, shared: bool, id: ShmId, pgoff: usize) -> MmapRequest {
    MmapRequest {
        addr,
        len: pages * P,
        prot: p,
        shared,
        placement: Placement::Fixed,
        backing: Backing::File { id, pgoff },
        populate: false,
        may_write: true,
        noreserve: false,
    }
}

fn r(start: usize, end: usize) -> RangeRequest {
    RangeRequest { start, end }
}

fn all_free(mach: &Mach) {
    assert_eq!(
        mach.borrow().frames.free_count(),
        RAM_FRAMES,
        "a frame leaked"
    );
}

#[test]
fn a_shared_file_mapping_is_the_page_cache_for_everyone() {
    let mach = Machine::new();
    let data = pattern(2 * P);
    let id = file(&data);
    let (mut a, mut am) = (space(), MemMmu::new(&mach));
    let (mut b, mut bm) = (space(), MemMmu::new(&mach));
    let (x, y) = (0x1000_0000, 0x2000_0000);
    a.mmap(&mut am, &fmap(x, 2, rw(), true, id, 0)).unwrap();
    b.mmap(&mut bm, &fmap(y, 1, rw(), true, id, 1)).unwrap();
    assert_eq!(shm::users(id), 3, "the inode and two address spaces");
    assert!(am.map.is_empty(), "nothing before the first touch");
    // Pages come in from the file on first touch.
    assert_eq!(read(&mut a, &mut am, x + 5), Ok(data[5]));
    assert_eq!(read(&mut b, &mut bm, y + 7), Ok(data[P + 7]));
    // A store through one mapping: the other and read(2) see it at once.
    write(&mut a, &mut am, x + P + 7, 0xAB).unwrap();
    assert_eq!(read(&mut b, &mut bm, y + 7), Ok(0xAB));
    assert_eq!(vfs_read(&mach, id, P + 7), 0xAB);
    // write(2): every mapping sees it.
    vfs_write(&mach, id, P + 8, 0xCD);
    assert_eq!(read(&mut a, &mut am, x + P + 8), Ok(0xCD));
    assert_eq!(read(&mut b, &mut bm, y + 8), Ok(0xCD));
    // The same frames: the cache's.
    assert_eq!(am.lookup(x + P), shm::page(id, 1));
    assert_eq!(bm.lookup(y), shm::page(id, 1));
    check_refcounts(&[(&a, &am), (&b, &bm)]);
    // Another VMA on the file in the same space: still one user per space.
    a.mmap(&mut am, &fmap(x + 0x10_0000, 1, ro(), true, id, 0))
        .unwrap();
    assert_eq!(read(&mut a, &mut am, x + 0x10_0000 + 5), Ok(data[5]));
    assert_eq!(shm::users(id), 3);
    // MAP_FIXED over part of a mapping of the same file: the space stays
    // a user (the replaced VMA was not its last on the file).
    a.mmap(&mut am, &fmap(x, 1, rw(), true, id, 1)).unwrap();
    assert_eq!(shm::users(id), 3);
    assert_eq!(read(&mut a, &mut am, x + 7), Ok(0xAB), "now page 1");
    // ... and replacing every VMA on it by another on it, too.
    b.mmap(&mut bm, &fmap(y, 1, rw(), true, id, 0)).unwrap();
    assert_eq!(shm::users(id), 3);
    assert_eq!(read(&mut b, &mut bm, y + 5), Ok(data[5]));
    check_refcounts(&[(&a, &am), (&b, &bm)]);
    a.teardown(&mut am);
    assert_eq!(shm::users(id), 2);
    b.munmap(&mut bm, r(y, y + P)).unwrap();
    assert_eq!(shm::users(id), 1, "b left with its last VMA");
    // The file keeps what was written through the mappings.
    assert_eq!(vfs_read(&mach, id, P + 7), 0xAB);
    close(&mach, id);
    assert_eq!(shm::users(id), 0);
    all_free(&mach);
}

#[test]
fn a_mapping_outlives_its_fd_and_the_unlinked_file() {
    let mach = Machine::new();
    let data = pattern(P);
    let id = file(&data);
    let (mut a, mut am) = (space(), MemMmu::new(&mach));
    let x = 0x1000_0000;
    a.mmap(&mut am, &fmap(x, 1, rw(), true, id, 0)).unwrap();
    write(&mut a, &mut am, x, 9).unwrap();
    // close(fd) + unlink: the inode's user goes; the mapping's stays.
    close(&mach, id);
    assert_eq!(shm::users(id), 1);
    assert_eq!(read(&mut a, &mut am, x), Ok(9));
    assert_eq!(read(&mut a, &mut am, x + 1), Ok(data[1]));
    check_refcounts(&[(&a, &am)]);
    a.teardown(&mut am);
    assert_eq!(shm::users(id), 0);
    all_free(&mach);
}

#[test]
fn a_private_file_mapping_is_copy_on_write_over_the_cache() {
    let mach = Machine::new();
    let data = pattern(3 * P);
    let id = file(&data);
    let (mut a, mut am) = (space(), MemMmu::new(&mach));
    let (mut b, mut bm) = (space(), MemMmu::new(&mach));
    let (x, y) = (0x1000_0000, 0x2000_0000);
    a.mmap(&mut am, &fmap(x, 3, rw(), false, id, 0)).unwrap();
    b.mmap(&mut bm, &fmap(y, 3, rw(), true, id, 0)).unwrap();
    // A read maps the cache's frame, read-only.
    assert_eq!(read(&mut a, &mut am, x + 1), Ok(data[1]));
    assert_eq!(am.lookup(x), shm::page(id, 0));
    assert_eq!(am.translate(x).unwrap().1.access, Access::UserRo);
    // write(2) before the mapping's first store: seen through it (mmap(2):
    // "It is unspecified whether changes made to the file after the mmap()
    // call are visible"; Linux shows them until the page is copied).
    vfs_write(&mach, id, 0, 0x11);
    assert_eq!(read(&mut a, &mut am, x), Ok(0x11));
    // The first store copies the page; the file does not change.
    write(&mut a, &mut am, x + 2, 0x22).unwrap();
    assert_ne!(am.lookup(x), shm::page(id, 0));
    assert_eq!(vfs_read(&mach, id, 2), data[2]);
    assert_eq!(read(&mut b, &mut bm, y + 2), Ok(data[2]), "not shared");
    assert_eq!(read(&mut a, &mut am, x), Ok(0x11), "copied with the change");
    // Later changes to the file no longer show on that page ...
    vfs_write(&mach, id, 0, 0x33);
    write(&mut b, &mut bm, y + 1, 0x34).unwrap();
    assert_eq!(read(&mut a, &mut am, x), Ok(0x11));
    assert_eq!(read(&mut a, &mut am, x + 1), Ok(data[1]));
    // ... but do on the pages it never wrote.
    vfs_write(&mach, id, P, 0x44);
    assert_eq!(read(&mut a, &mut am, x + P), Ok(0x44));
    // A store to a page never touched: a copy of the file's page.
    write(&mut a, &mut am, x + 2 * P + 1, 0x55).unwrap();
    assert_eq!(read(&mut a, &mut am, x + 2 * P), Ok(data[2 * P]));
    assert_eq!(read(&mut a, &mut am, x + 2 * P + 1), Ok(0x55));
    assert_eq!(vfs_read(&mach, id, 2 * P + 1), data[2 * P + 1]);
    assert_ne!(am.lookup(x + 2 * P), shm::page(id, 2));
    assert_eq!(shm::users(id), 3);
    check_refcounts(&[(&a, &am), (&b, &bm)]);
    a.teardown(&mut am);
    b.teardown(&mut bm);
    close(&mach, id);
    all_free(&mach);
}

#[test]
fn mprotect_keeps_a_private_file_mapping_copy_on_write() {
    let mach = Machine::new();
    let data = pattern(P);
    let id = file(&data);
    let (mut a, mut am) = (space(), MemMmu::new(&mach));
    let x = 0x1000_0000;
    // A read-only private mapping may become writable (VM_MAYWRITE).
    a.mmap(&mut am, &fmap(x, 1, ro(), false, id, 0)).unwrap();
    assert_eq!(read(&mut a, &mut am, x), Ok(data[0]));
    a.mprotect(&mut am, r(x, x + P), rw()).unwrap();
    // The cache's frame stays read-only in the table: a store copies.
    assert_eq!(am.translate(x).unwrap().1.access, Access::UserRo);
    write(&mut a, &mut am, x, 0x99).unwrap();
    assert_eq!(vfs_read(&mach, id, 0), data[0], "the file is untouched");
    assert_eq!(read(&mut a, &mut am, x), Ok(0x99));
    check_refcounts(&[(&a, &am)]);
    a.teardown(&mut am);
    close(&mach, id);
    all_free(&mach);
}

#[test]
fn a_shared_mapping_of_a_read_only_fd_never_becomes_writable() {
    let mach = Machine::new();
    let id = file(&pattern(P));
    let (mut a, mut am) = (space(), MemMmu::new(&mach));
    let x = 0x1000_0000;
    // O_RDONLY fd, MAP_SHARED, PROT_READ: no VM_MAYWRITE (decode).
    let q = MmapRequest {
        may_write: false,
        ..fmap(x, 1, ro(), true, id, 0)
    };
    a.mmap(&mut am, &q).unwrap();
    // mprotect(2): EACCES "PROT_WRITE on a MAP_SHARED mapping of a file
    // not opened for writing".
    assert_eq!(a.mprotect(&mut am, r(x, x + P), rw()), Err(Errno::EACCES));
    assert_eq!(a.fault(&mut am, x, Access2::Write), Err(Errno::EACCES));
    assert!(a.mprotect(&mut am, r(x, x + P), prot(false, false)).is_ok());
    a.teardown(&mut am);
    close(&mach, id);
    all_free(&mach);
}

#[test]
fn the_tail_of_the_last_page_is_zero_and_past_it_is_sigbus() {
    let mach = Machine::new();
    let data = pattern(P + 100);
    let id = file(&data);
    let (mut a, mut am) = (space(), MemMmu::new(&mach));
    let (x, y) = (0x1000_0000, 0x2000_0000);
    a.mmap(&mut am, &fmap(x, 3, rw(), true, id, 0)).unwrap();
    a.mmap(&mut am, &fmap(y, 3, rw(), false, id, 0)).unwrap();
    for base in [x, y] {
        assert_eq!(read(&mut a, &mut am, base + P + 99), Ok(data[P + 99]));
        // mmap(2): "the remaining bytes in the partial page at the end of
        // the mapping are zeroed".
        assert_eq!(read(&mut a, &mut am, base + P + 100), Ok(0));
        assert_eq!(read(&mut a, &mut am, base + 2 * P - 1), Ok(0));
        // SIGBUS: "Attempted access to a page of the buffer that lies
        // beyond the end of the mapped file" (the fault's EIO).
        assert_eq!(read(&mut a, &mut am, base + 2 * P), Err(Errno::EIO));
        assert_eq!(write(&mut a, &mut am, base + 2 * P + 5, 1), Err(Errno::EIO));
        assert_eq!(
            a.fault(&mut am, base + 2 * P, Access2::Execute),
            Err(Errno::EACCES)
        );
        assert_eq!(am.lookup(base + 2 * P), None);
    }
    // An access the VMA refuses is SIGSEGV first, even past the end.
    a.mprotect(&mut am, r(x + 2 * P, x + 3 * P), prot(false, false))
        .unwrap();
    assert_eq!(
        a.fault(&mut am, x + 2 * P, Access2::Read),
        Err(Errno::EACCES)
    );
    // The file grows: the page is there, zero.
    shm::set_file_size(id, 3 * P as u64, &mut |_| unreachable!()).unwrap();
    assert_eq!(read(&mut a, &mut am, y + 2 * P + 5), Ok(0));
    check_refcounts(&[(&a, &am)]);
    a.teardown(&mut am);
    close(&mach, id);
    all_free(&mach);
}

#[test]
fn populate_and_lock_stop_at_the_end_of_the_file() {
    let mach = Machine::new();
    let id = file(&pattern(P + 1));
    let (mut a, mut am) = (space(), MemMmu::new(&mach));
    let x = 0x1000_0000;
    // MAP_POPULATE is best effort: the mapping succeeds, the pages
    // inside the file are present, the one past it is not.
    let q = MmapRequest {
        populate: true,
        ..fmap(x, 3, rw(), true, id, 0)
    };
    assert_eq!(a.mmap(&mut am, &q), Ok(x));
    assert!(am.lookup(x).is_some() && am.lookup(x + P).is_some());
    assert_eq!(am.lookup(x + 2 * P), None);
    // A private writable mapping is populated with write faults: copies
    // (populate_vma_page_range: FOLL_WRITE for VM_WRITE without VM_SHARED).
    let y = 0x2000_0000;
    let q = MmapRequest {
        populate: true,
        ..fmap(y, 1, rw(), false, id, 0)
    };
    a.mmap(&mut am, &q).unwrap();
    assert_eq!(am.translate(y).unwrap().1.access, Access::UserRw);
    assert_ne!(am.lookup(y), shm::page(id, 0));
    // MADV_POPULATE_READ: a SIGBUS page is EFAULT (madvise_populate).
    assert_eq!(
        a.madvise(&mut am, r(x, x + 3 * P), Advice::PopulateRead),
        Err(Errno::EFAULT)
    );
    // mlock: __mm_populate's EFAULT becomes ENOMEM
    // (__mlock_posix_error_return).
    assert_eq!(a.mlock(&mut am, r(x, x + 3 * P), false), Err(Errno::ENOMEM));
    assert_eq!(a.mlock(&mut am, r(x, x + 2 * P), false), Ok(()));
    // mlockall(MCL_CURRENT) ignores what cannot be populated.
    assert_eq!(a.mlockall(&mut am, MCL_CURRENT), Ok(()));
    check_refcounts(&[(&a, &am)]);
    a.teardown(&mut am);
    close(&mach, id);
    all_free(&mach);
}

#[test]
fn truncation_unmaps_cache_pages_and_private_copies_then_sigbus() {
    let mach = Machine::new();
    let data = pattern(3 * P);
    let id = file(&data);
    let (mut a, mut am) = (space(), MemMmu::new(&mach));
    let (mut b, mut bm) = (space(), MemMmu::new(&mach));
    let (x, y) = (0x1000_0000, 0x2000_0000);
    a.mmap(&mut am, &fmap(x, 3, rw(), true, id, 0)).unwrap();
    // b maps from file page 1: its pages 0 and 1 are file pages 1 and 2.
    b.mmap(&mut bm, &fmap(y, 2, rw(), false, id, 1)).unwrap();
    for i in 0..3 {
        read(&mut a, &mut am, x + i * P).unwrap();
    }
    assert_eq!(read(&mut b, &mut bm, y), Ok(data[P]));
    write(&mut b, &mut bm, y + P, 0x77).unwrap(); // a private copy of page 2
    check_refcounts(&[(&a, &am), (&b, &bm)]);
    let used = RAM_FRAMES - mach.borrow().frames.free_count();
    // ftruncate(fd, P + 10), as the VFS does it: the cache shrinks, then
    // every address space drops its mappings of the pages past the end.
    shm::set_file_size(id, (P + 10) as u64, &mut |pa| {
        mach.borrow_mut().drop_ref(pa)
    })
    .unwrap();
    truncate_mappings(&mut a, &mut am, id, 2);
    truncate_mappings(&mut b, &mut bm, id, 2);
    assert_eq!(am.lookup(x + 2 * P), None);
    assert_eq!(bm.lookup(y + P), None, "the private copy too (even_cows)");
    // Gone: the cache's page 2 and b's copy of it.
    assert_eq!(RAM_FRAMES - mach.borrow().frames.free_count(), used - 2);
    assert_eq!(read(&mut a, &mut am, x + 2 * P), Err(Errno::EIO));
    assert_eq!(read(&mut b, &mut bm, y + P), Err(Errno::EIO));
    assert_eq!(write(&mut b, &mut bm, y + P, 1), Err(Errno::EIO));
    // The pages before the cut stay.
    assert!(am.lookup(x + P).is_some() && bm.lookup(y).is_some());
    assert_eq!(read(&mut a, &mut am, x + P + 9), Ok(data[P + 9]));
    check_refcounts(&[(&a, &am), (&b, &bm)]);
    // Truncate to nothing: every access is SIGBUS.
    shm::set_file_size(id, 0, &mut |pa| mach.borrow_mut().drop_ref(pa)).unwrap();
    truncate_mappings(&mut a, &mut am, id, 0);
    truncate_mappings(&mut b, &mut bm, id, 0);
    assert!(am.map.is_empty() && bm.map.is_empty());
    assert_eq!(read(&mut a, &mut am, x), Err(Errno::EIO));
    assert_eq!(read(&mut b, &mut bm, y), Err(Errno::EIO));
    // Growing again: zero pages (not the old bytes).
    shm::set_file_size(id, (3 * P) as u64, &mut |_| unreachable!()).unwrap();
    assert_eq!(read(&mut a, &mut am, x + 2 * P + 3), Ok(0));
    assert_eq!(read(&mut b, &mut bm, y + P + 3), Ok(0));
    check_refcounts(&[(&a, &am), (&b, &bm)]);
    a.teardown(&mut am);
    b.teardown(&mut bm);
    close(&mach, id);
    all_free(&mach);
}

#[test]
fn fork_keeps_private_file_pages_copy_on_write_and_shared_ones_shared() {
    let mach = Machine::new();
    let data = pattern(2 * P);
    let id = file(&data);
    let (mut p, mut pm) = (space(), MemMmu::new(&mach));
    let (x, y) = (0x1000_0000, 0x2000_0000);
    p.mmap(&mut pm, &fmap(x, 2, rw(), false, id, 0)).unwrap();
    p.mmap(&mut pm, &fmap(y, 1, rw(), true, id, 1)).unwrap();
    read(&mut p, &mut pm, x).unwrap(); // page 0: the cache's frame
    write(&mut p, &mut pm, x + P, 0x10).unwrap(); // page 1: a copy
    let mut cm = MemMmu::new(&mach);
    let mut c = p.fork(&mut pm, &mut cm).unwrap();
    assert_eq!(shm::users(id), 3, "the inode, the parent, the child");
    check_refcounts(&[(&p, &pm), (&c, &cm)]);
    // Both see the same; every private page is read-only in both.
    assert_eq!(read(&mut c, &mut cm, x), Ok(data[0]));
    assert_eq!(read(&mut c, &mut cm, x + P), Ok(0x10));
    assert_eq!(cm.translate(x + P).unwrap().1.access, Access::UserRo);
    assert_eq!(pm.translate(x + P).unwrap().1.access, Access::UserRo);
    // The child's stores are its own.
    write(&mut c, &mut cm, x, 0x20).unwrap();
    write(&mut c, &mut cm, x + P, 0x21).unwrap();
    assert_eq!(read(&mut p, &mut pm, x), Ok(data[0]));
    assert_eq!(read(&mut p, &mut pm, x + P), Ok(0x10));
    assert_eq!(vfs_read(&mach, id, 0), data[0]);
    // The parent still sees write(2) on page 0 (never stored to); the
    // child, which copied it, does not.
    vfs_write(&mach, id, 1, 0x30);
    assert_eq!(read(&mut p, &mut pm, x + 1), Ok(0x30));
    assert_eq!(read(&mut c, &mut cm, x + 1), Ok(data[1]));
    // The parent's store to its copy: exclusive now, made writable.
    let f = pm.lookup(x + P);
    write(&mut p, &mut pm, x + P, 0x11).unwrap();
    assert_eq!(pm.lookup(x + P), f);
    // The shared mapping stays shared.
    write(&mut c, &mut cm, y, 0x40).unwrap();
    assert_eq!(read(&mut p, &mut pm, y), Ok(0x40));
    assert_eq!(vfs_read(&mach, id, P), 0x40);
    check_refcounts(&[(&p, &pm), (&c, &cm)]);
    c.teardown(&mut cm);
    assert_eq!(shm::users(id), 2);
    p.teardown(&mut pm);
    assert_eq!(shm::users(id), 1);
    close(&mach, id);
    all_free(&mach);
}

#[test]
fn dontneed_drops_private_copies_and_keeps_shared_data() {
    let mach = Machine::new();
    let data = pattern(2 * P);
    let id = file(&data);
    let (mut a, mut am) = (space(), MemMmu::new(&mach));
    let (x, y, z) = (0x1000_0000, 0x2000_0000, 0x3000_0000);
    a.mmap(&mut am, &fmap(x, 2, rw(), false, id, 0)).unwrap();
    a.mmap(&mut am, &fmap(y, 2, rw(), true, id, 0)).unwrap();
    let anon_shared = MmapRequest {
        backing: Backing::Anonymous,
        ..fmap(z, 1, rw(), true, id, 0)
    };
    a.mmap(&mut am, &anon_shared).unwrap();
    write(&mut a, &mut am, x, 0x66).unwrap();
    write(&mut a, &mut am, y + P, 0x67).unwrap();
    write(&mut a, &mut am, z, 0x68).unwrap();
    // madvise(2) MADV_DONTNEED: private mappings read the file again;
    // shared ones (file or shmem) keep their data.
    a.madvise(&mut am, r(x, x + 2 * P), Advice::DontNeed)
        .unwrap();
    a.madvise(&mut am, r(y, y + 2 * P), Advice::DontNeed)
        .unwrap();
    a.madvise(&mut am, r(z, z + P), Advice::DontNeed).unwrap();
    assert_eq!(read(&mut a, &mut am, x), Ok(data[0]));
    assert_eq!(am.lookup(x), shm::page(id, 0));
    assert_eq!(read(&mut a, &mut am, y + P), Ok(0x67));
    assert_eq!(read(&mut a, &mut am, z), Ok(0x68));
    // MADV_REMOVE: a private file mapping is EACCES (madvise_remove: not
    // VM_SHARED|VM_WRITE); on a shared writable one it punches a hole
    // that reads as zero, through every mapping and read(2).
    assert_eq!(
        a.madvise(&mut am, r(x, x + P), Advice::Remove),
        Err(Errno::EACCES)
    );
    a.madvise(&mut am, r(y + P, y + 2 * P), Advice::Remove)
        .unwrap();
    assert_eq!(read(&mut a, &mut am, y + P), Ok(0));
    assert_eq!(read(&mut a, &mut am, y + P + 1), Ok(0));
    assert_eq!(vfs_read(&mach, id, P + 1), 0);
    check_refcounts(&[(&a, &am)]);
    a.teardown(&mut am);
    close(&mach, id);
    all_free(&mach);
}

#[test]
fn splitting_and_moving_keep_the_file_offset() {
    let mach = Machine::new();
    let data = pattern(8 * P);
    let id = file(&data);
    let (mut a, mut am) = (space(), MemMmu::new(&mach));
    let x = 0x1000_0000;
    a.mmap(&mut am, &fmap(x, 2, rw(), true, id, 3)).unwrap();
    // mremap growing in place: the new part shows the following pages.
    let grow = MremapRequest {
        addr: x,
        old_len: 2 * P,
        new_len: 4 * P,
        may_move: false,
        fixed: None,
        dont_unmap: false,
    };
    assert_eq!(a.mremap(&mut am, grow), Ok(x));
    assert_eq!(a.vmas.count(), 1, "one VMA: the growth continues it");
    assert_eq!(read(&mut a, &mut am, x + 3 * P), Ok(data[6 * P]));
    // mprotect of the middle: three VMAs with their own offsets.
    a.mprotect(&mut am, r(x + P, x + 2 * P), ro()).unwrap();
    let offs: Vec<_> = a.vmas.iter().map(|v| v.kind.object()).collect();
    assert_eq!(offs, [Some((id, 3)), Some((id, 4)), Some((id, 5))]);
    assert_eq!(read(&mut a, &mut am, x + P), Ok(data[4 * P]));
    // A private mapping cut at the front, then moved.
    let y = 0x2000_0000;
    a.mmap(&mut am, &fmap(y, 3, rw(), false, id, 1)).unwrap();
    a.munmap(&mut am, r(y, y + P)).unwrap();
    assert_eq!(a.vmas.find(y + P).unwrap().kind.object(), Some((id, 2)));
    write(&mut a, &mut am, y + 2 * P, 0x5A).unwrap();
    let to = 0x3000_0000;
    let mv = MremapRequest {
        addr: y + P,
        old_len: 2 * P,
        new_len: 3 * P,
        may_move: true,
        fixed: Some(to),
        dont_unmap: false,
    };
    assert_eq!(a.mremap(&mut am, mv), Ok(to));
    assert_eq!(read(&mut a, &mut am, to), Ok(data[2 * P]));
    assert_eq!(read(&mut a, &mut am, to + P), Ok(0x5A), "the copy moved");
    assert_eq!(read(&mut a, &mut am, to + 2 * P), Ok(data[4 * P]));
    check_refcounts(&[(&a, &am)]);
    a.teardown(&mut am);
    close(&mach, id);
    all_free(&mach);
}

#[test]
fn shared_file_mappings_are_not_charged_private_writable_ones_are() {
    let mach = Machine::new();
    let id = file(&[]);
    let (mut a, mut am) = (space(), MemMmu::new(&mach));
    let big = 2 * RAM_FRAMES; // pages: twice the machine's RAM
                              // accountable_mapping: VM_WRITE without VM_SHARED only.
    let shared = MmapRequest {
        placement: Placement::Hint,
        ..fmap(0, big, rw(), true, id, 0)
    };
    assert!(a.mmap(&mut am, &shared).is_ok());
    let private_ro = MmapRequest {
        placement: Placement::Hint,
        ..fmap(0, big, ro(), false, id, 0)
    };
    assert!(a.mmap(&mut am, &private_ro).is_ok());
    let private_rw = MmapRequest {
        placement: Placement::Hint,
        ..fmap(0, big, rw(), false, id, 0)
    };
    assert_eq!(a.mmap(&mut am, &private_rw), Err(Errno::ENOMEM));
    assert_eq!(shm::users(id), 2);
    a.teardown(&mut am);
    close(&mach, id);
    all_free(&mach);
}

#[test]
fn a_failed_mmap_of_a_file_leaves_no_user_behind() {
    let mach = Machine::new();
    let id = file(&pattern(P));
    let mut a = AddressSpace::new(0x8000_0000, 0x1_0000, 0x7E00_0000);
    a.vmas = crate::mm::vma::VmaSet::new(1);
    let mut am = MemMmu::new(&mach);
    a.mmap(&mut am, &fmap(0x1000_0000, 1, rw(), false, id, 0))
        .unwrap();
    // The VMA limit is reached: ENOMEM, and no second user.
    assert_eq!(
        a.mmap(&mut am, &fmap(0x2000_0000, 1, ro(), true, id, 0)),
        Err(Errno::ENOMEM)
    );
    assert_eq!(shm::users(id), 2);
    let other = file(&pattern(P));
    assert_eq!(
        a.mmap(&mut am, &fmap(0x2000_0000, 1, ro(), true, other, 0)),
        Err(Errno::ENOMEM)
    );
    assert_eq!(shm::users(other), 1, "joined, then left again");
    a.teardown(&mut am);
    close(&mach, id);
    close(&mach, other);
    all_free(&mach);
}

// ---- msync ----

#[test]
fn msync_validates_and_walks_as_linux() {
    let mach = Machine::new();
    let (mut a, mut am) = (space(), MemMmu::new(&mach));
    let x = 0x1000_0000;
    let id = file(&pattern(4 * P));
    a.mmap(&mut am, &fmap(x, 2, rw(), true, id, 0)).unwrap();
    a.mmap(&mut am, &fmap(x + 3 * P, 1, rw(), false, id, 3))
        .unwrap(); // a hole at x + 2P
    let (asy, inv, syn) = (MS_ASYNC, MS_INVALIDATE, MS_SYNC);
    assert_eq!((asy, inv, syn), (1, 2, 4), "asm-generic/mman-common.h");
    // msync(2) EINVAL: "addr is not a multiple of PAGESIZE; or any bit
    // other than MS_ASYNC | MS_INVALIDATE | MS_SYNC is set in flags; or
    // both MS_SYNC and MS_ASYNC are set".
    assert_eq!(a.msync(x, P, 8), Err(Errno::EINVAL));
    assert_eq!(a.msync(x + 1, P, syn), Err(Errno::EINVAL));
    assert_eq!(a.msync(x, P, asy | syn), Err(Errno::EINVAL));
    // Flags before alignment: both EINVAL anyway; an unaligned start is
    // EINVAL even with len 0.
    assert_eq!(a.msync(x + 1, 0, 0), Err(Errno::EINVAL));
    // len 0: nothing to do, wherever.
    assert_eq!(a.msync(0x5000_0000, 0, syn), Ok(()));
    // start + len wraps: ENOMEM (sys_msync: end < start).
    assert_eq!(a.msync(x, usize::MAX - x, syn), Err(Errno::ENOMEM));
    // PAGE_ALIGN of usize::MAX wraps to 0: an empty range.
    assert_eq!(a.msync(x, usize::MAX, syn), Ok(()));
    // Mapped: fine with any valid flags (len rounded up).
    for f in [0, asy, syn, inv, asy | inv, syn | inv] {
        assert_eq!(a.msync(x, 2 * P - 5, f), Ok(()), "flags {f}");
    }
    // ENOMEM "The indicated memory (or part of it) was not mapped": a
    // hole inside, after the walk, whatever the flags.
    for f in [0, asy, syn, inv] {
        assert_eq!(a.msync(x, 4 * P, f), Err(Errno::ENOMEM), "flags {f}");
    }
    // Starting in the hole; running past the last VMA; nothing mapped.
    assert_eq!(a.msync(x + 2 * P, 2 * P, syn), Err(Errno::ENOMEM));
    assert_eq!(a.msync(x + 2 * P, 2 * P, asy), Err(Errno::ENOMEM));
    assert_eq!(a.msync(x + 3 * P, 2 * P, syn), Err(Errno::ENOMEM));
    assert_eq!(a.msync(0x5000_0000, P, syn), Err(Errno::ENOMEM));
    assert_eq!(a.msync(x + 3 * P, P, syn), Ok(()));
    a.teardown(&mut am);
    close(&mach, id);
    all_free(&mach);
}

// ---- mincore ----

/// The syscall's loop over `mincore_step` (task/memory.rs): the bytes
/// written before an error, and the result.
fn mincore(
    s: &AddressSpace,
    m: &MemMmu,
    start: usize,
    pages: usize,
) -> (Vec<u8>, Result<(), Errno>) {
    let mut out = Vec::new();
    let (mut at, mut left) = (start, pages);
    let mut buf = [0u8; 3]; // small chunks, to cross them
    while left > 0 {
        let want = left.min(buf.len());
        match s.mincore_step(m, at, &mut buf[..want]) {
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                left -= n;
                at += n * P;
            }
            Err(e) => return (out, Err(e)),
        }
    }
    (out, Ok(()))
}

#[test]
fn mincore_reports_the_table_for_anonymous_memory_and_the_cache_for_files() {
    let mach = Machine::new();
    let id = file(&pattern(4 * P));
    let (mut a, mut am) = (space(), MemMmu::new(&mach));
    let (mut b, mut bm) = (space(), MemMmu::new(&mach));
    let (x, y, z) = (0x1000_0000, 0x2000_0000, 0x3000_0000);
    let anon = MmapRequest {
        backing: Backing::Anonymous,
        ..fmap(x, 3, rw(), false, id, 0)
    };
    a.mmap(&mut am, &anon).unwrap();
    write(&mut a, &mut am, x + P, 1).unwrap();
    a.mmap(&mut am, &fmap(y, 4, ro(), false, id, 0)).unwrap();
    b.mmap(&mut bm, &fmap(z, 4, rw(), true, id, 0)).unwrap();
    // Another process brings pages 1 and 3 into the cache.
    read(&mut b, &mut bm, z + P).unwrap();
    read(&mut b, &mut bm, z + 3 * P).unwrap();
    // Anonymous: what is present. (The fault of one page maps only it.)
    assert_eq!(mincore(&a, &am, x, 3), (vec![0, 1, 0], Ok(())));
    // A file: the page cache, though this space maps none of it.
    assert_eq!(mincore(&a, &am, y, 4), (vec![0, 1, 0, 1], Ok(())));
    // A hole: ENOMEM, after the bytes before it were written.
    assert_eq!(mincore(&a, &am, x + P, 6), (vec![1, 0], Err(Errno::ENOMEM)));
    assert_eq!(
        mincore(&a, &am, 0x5000_0000, 1),
        (vec![], Err(Errno::ENOMEM))
    );
    // A step never goes past its VMA.
    let mut buf = [9u8; 8];
    assert_eq!(a.mincore_step(&am, y + 2 * P, &mut buf), Ok(2));
    assert_eq!(buf[..3], [0, 1, 9]);
    check_refcounts(&[(&a, &am), (&b, &bm)]);
    a.teardown(&mut am);
    b.teardown(&mut bm);
    close(&mach, id);
    all_free(&mach);
}

// ---- mlock ----

#[test]
fn mlock_populates_and_refuses_holes() {
    let mach = Machine::new();
    let (mut a, mut am) = (space(), MemMmu::new(&mach));
    let x = 0x1000_0000;
    let id = file(&pattern(P));
    let anon = |addr, pages, p| MmapRequest {
        backing: Backing::Anonymous,
        ..fmap(addr, pages, p, false, id, 0)
    };
    a.mmap(&mut am, &anon(x, 3, rw())).unwrap();
    a.mmap(&mut am, &anon(x + 4 * P, 1, rw())).unwrap(); // hole at x + 3P
                                                         // mlock(2) ENOMEM: "Some of the specified address range does not
                                                         // correspond to mapped pages": nothing is populated then.
    assert_eq!(a.mlock(&mut am, r(x, x + 5 * P), false), Err(Errno::ENOMEM));
    assert!(am.map.is_empty());
    assert_eq!(a.munlock(r(x, x + 5 * P)), Err(Errno::ENOMEM));
    assert_eq!(a.munlock(r(x, x + 3 * P)), Ok(()));
    // MLOCK_ONFAULT: locked as faulted, nothing now.
    assert_eq!(a.mlock(&mut am, r(x, x + 3 * P), true), Ok(()));
    assert!(am.map.is_empty());
    // mlock: every page resident afterwards.
    assert_eq!(a.mlock(&mut am, r(x, x + 3 * P), false), Ok(()));
    for i in 0..3 {
        assert!(am.lookup(x + i * P).is_some(), "page {i}");
    }
    assert_eq!(am.lookup(x + 4 * P), None);
    // PROT_NONE cannot be faulted in: get_user_pages' EFAULT, ENOMEM.
    let n = 0x2000_0000;
    a.mmap(&mut am, &anon(n, 1, prot(false, false))).unwrap();
    assert_eq!(a.mlock(&mut am, r(n, n + P), false), Err(Errno::ENOMEM));
    // Out of frames: ENOMEM from populate is EAGAIN
    // (__mlock_posix_error_return).
    mach.borrow_mut().fail_alloc_in = Some(0);
    assert_eq!(
        a.mlock(&mut am, r(x + 4 * P, x + 5 * P), false),
        Err(Errno::EAGAIN)
    );
    mach.borrow_mut().fail_alloc_in = None;
    check_refcounts(&[(&a, &am)]);
    a.teardown(&mut am);
    close(&mach, id);
    all_free(&mach);
}

#[test]
fn mlockall_flags_and_future_mappings() {
    let mach = Machine::new();
    let (mut a, mut am) = (space(), MemMmu::new(&mach));
    let id = file(&pattern(P));
    let anon = |addr, pages| MmapRequest {
        backing: Backing::Anonymous,
        ..fmap(addr, pages, rw(), false, id, 0)
    };
    assert_eq!((MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT), (1, 2, 4));
    // mlockall(2) EINVAL: "Unknown flags were specified or MCL_ONFAULT
    // was specified without either MCL_FUTURE or MCL_CURRENT"; 0 too.
    for f in [0, 8, MCL_ONFAULT, MCL_CURRENT | 16] {
        assert_eq!(a.mlockall(&mut am, f), Err(Errno::EINVAL), "flags {f}");
    }
    let x = 0x1000_0000;
    a.mmap(&mut am, &anon(x, 2)).unwrap();
    a.mmap(&mut am, &fmap(x + 0x10_0000, 1, ro(), false, id, 0))
        .unwrap();
    // MCL_CURRENT|MCL_ONFAULT: nothing now.
    assert_eq!(a.mlockall(&mut am, MCL_CURRENT | MCL_ONFAULT), Ok(()));
    assert!(am.map.is_empty());
    assert_eq!(a.mlockall(&mut am, MCL_CURRENT), Ok(()));
    assert!(am.lookup(x).is_some() && am.lookup(x + P).is_some());
    assert!(am.lookup(x + 0x10_0000).is_some());
    // MCL_FUTURE: later mappings and heap growth come in at once.
    assert_eq!(a.mlockall(&mut am, MCL_FUTURE), Ok(()));
    let y = 0x2000_0000;
    a.mmap(&mut am, &anon(y, 2)).unwrap();
    assert!(am.lookup(y + P).is_some());
    a.brk_start = 0x0100_0000;
    a.brk = a.brk_start;
    assert_eq!(a.brk(&mut am, a.brk_start + 2 * P), a.brk_start + 2 * P);
    assert!(am.lookup(a.brk_start + P).is_some());
    // A fork does not inherit it (mlockall(2): "not inherited by a child
    // created via fork(2)").
    let mut cm = MemMmu::new(&mach);
    let mut c = a.fork(&mut am, &mut cm).unwrap();
    assert!(!c.lock_future);
    c.teardown(&mut cm);
    // munlockall: later mappings are lazy again.
    a.munlockall();
    let z = 0x3000_0000;
    a.mmap(&mut am, &anon(z, 1)).unwrap();
    assert_eq!(am.lookup(z), None);
    // MCL_FUTURE|MCL_ONFAULT: lazy too.
    a.mlockall(&mut am, MCL_FUTURE | MCL_ONFAULT).unwrap();
    a.mmap(&mut am, &anon(z + P, 1)).unwrap();
    assert_eq!(am.lookup(z + P), None);
    check_refcounts(&[(&a, &am)]);
    a.teardown(&mut am);
    close(&mach, id);
    all_free(&mach);
}

// ---- /proc/<pid>/maps ----

#[test]
fn proc_maps_names_file_mappings_as_show_map_vma() {
    let mach = Machine::new();
    let id = file(&pattern(4 * P));
    let other = file(&pattern(P));
    let (mut s, mut m) = (
        AddressSpace::new(0xC000_0000, 0x1_0000, 0xBE00_0000),
        MemMmu::new(&mach),
    );
    s.mmap(&mut m, &fmap(0xb6f0_0000, 2, rw(), true, id, 1))
        .unwrap();
    s.mmap(&mut m, &fmap(0xb6f1_0000, 1, ro(), false, id, 3))
        .unwrap();
    // O_RDONLY shared: VM_MAYSHARE without VM_SHARED still prints 's'.
    let q = MmapRequest {
        may_write: false,
        ..fmap(0xb6f2_0000, 1, ro(), true, other, 0)
    };
    s.mmap(&mut m, &q).unwrap();
    let files = |i: ShmId, found: &mut dyn FnMut(&MappedFile)| {
        if i == id {
            found(&MappedFile {
                path: "/tmp/da\nta",
                dev: (0, 0x15),
                ino: 42,
                deleted: true,
            });
        } else if i == other {
            found(&MappedFile {
                path: "/etc/motd",
                dev: (0xb3, 2),
                ino: 262_341,
                deleted: false,
            });
        }
    };
    let exe = MapsFile {
        path: "/init",
        dev: (0, 0),
        ino: 0,
        sigpage: None,
    };
    let mut out = String::new();
    s.write_maps_width(&mut out, &exe, &files, 48).unwrap();
    // 32-bit ARM: the name at column 49; the offset is vm_pgoff << 12; a
    // newline in the path is "\012" (seq_file_path's escape); an unlinked
    // file's path ends in " (deleted)" (d_path).
    let want = [
        "b6f00000-b6f02000 rw-s 00001000 00:15 42         /tmp/da\\012ta (deleted)",
        "b6f10000-b6f11000 r--p 00003000 00:15 42         /tmp/da\\012ta (deleted)",
        "b6f20000-b6f21000 r--s 00000000 b3:02 262341     /etc/motd",
    ];
    assert_eq!(out.lines().collect::<Vec<_>>(), want);
    // Cut at the front: the offset moves along.
    s.munmap(&mut m, r(0xb6f0_0000, 0xb6f0_1000)).unwrap();
    let mut out = String::new();
    s.write_maps_width(&mut out, &exe, &files, 48).unwrap();
    assert!(
        out.starts_with("b6f01000-b6f02000 rw-s 00002000 00:15 42 "),
        "{out}"
    );
    // 64-bit: the name at column 73 (25 + 6 * 8 - 1 = 72, then a space).
    let mut out = String::new();
    s.write_maps_files(&mut out, &exe, &files).unwrap();
    let line = out.lines().last().unwrap();
    if core::mem::size_of::<usize>() == 8 {
        assert_eq!(line.find("/etc/motd"), Some(73), "{line}");
    }
    // Without the file system's names: the object, unnamed.
    let mut out = String::new();
    s.write_maps_of(&mut out, &exe).unwrap();
    assert!(
        out.lines()
            .last()
            .unwrap()
            .starts_with(&format!("b6f20000-b6f21000 r--s 00000000 00:01 {other} ")),
        "{out}"
    );
    s.teardown(&mut m);
    close(&mach, id);
    close(&mach, other);
    all_free(&mach);
}

/// The frames of a file no address space maps are the cache's alone.
#[test]
fn the_cache_alone_holds_one_reference_per_page() {
    let mach = Machine::new();
    let id = file(&pattern(2 * P));
    let pa = cache_page(&mach, id, 1);
    assert_eq!(mach.borrow().frames.refcount(pa), 1);
    let (mut a, mut am) = (space(), MemMmu::new(&mach));
    a.mmap(&mut am, &fmap(0x1000_0000, 2, ro(), false, id, 0))
        .unwrap();
    read(&mut a, &mut am, 0x1000_0000 + P).unwrap();
    assert_eq!(mach.borrow().frames.refcount(pa), 2);
    a.teardown(&mut am);
    check_refcounts_with(&[(&a, &am)], &[id]);
    assert_eq!(mach.borrow().frames.refcount(pa), 1);
    close(&mach, id);
    all_free(&mach);
}
