//! File data through the page cache, with a fake frame pool.

use super::*;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

/// Frames as boxes, with reference counts.
#[derive(Default)]
pub struct FakePool {
    pub frames: BTreeMap<u64, (Box<[u8; 4096]>, usize)>,
    next: u64,
    /// Allocations left before `ENOMEM` (None: unlimited).
    pub budget: Option<usize>,
}

impl Pool for FakePool {
    fn alloc_zeroed(&mut self) -> Result<u64, Errno> {
        if let Some(b) = &mut self.budget {
            if *b == 0 {
                return Err(Errno::ENOMEM);
            }
            *b -= 1;
        }
        self.next += 1;
        let pa = 0x4000_0000 + self.next * 4096;
        self.frames.insert(pa, (Box::new([0; 4096]), 1));
        Ok(pa)
    }
    fn release(&mut self, pa: u64) {
        let e = self
            .frames
            .get_mut(&pa)
            .expect("release of an unknown frame");
        e.1 -= 1;
        if e.1 == 0 {
            self.frames.remove(&pa);
        }
    }
    fn bytes(&mut self, pa: u64) -> &mut [u8] {
        &mut self.frames.get_mut(&pa).expect("unknown frame").0[..]
    }
}

fn content(id: ShmId, pool: &mut FakePool) -> Vec<u8> {
    let size = shm::file_size(id).unwrap() as usize;
    let mut v = vec![0xEE; size + 10];
    let n = read(id, 0, &mut v, pool).unwrap();
    v.truncate(n);
    v
}

static SRC: &[u8] = b"hello, page cache";

#[test]
fn reads_come_from_the_source_then_writes_change_them() {
    let mut pool = FakePool::default();
    let id = shm::create_file(SRC).unwrap();
    assert_eq!(content(id, &mut pool), SRC);
    let mut b = [0u8; 5];
    assert_eq!(read(id, 7, &mut b, &mut pool), Ok(5));
    assert_eq!(&b, b"page ");
    assert_eq!(read(id, 100, &mut b, &mut pool), Ok(0), "past the end");
    assert_eq!(write(id, 0, b"HELLO", &mut pool), Ok(5));
    assert_eq!(content(id, &mut pool), b"HELLO, page cache");
    shm::remove_user(id, &mut |pa| pool.release(pa));
    assert!(pool.frames.is_empty(), "every frame given back");
}

#[test]
fn a_write_past_the_end_grows_the_file_with_a_zero_gap() {
    let mut pool = FakePool::default();
    let id = shm::create_file(b"").unwrap();
    assert_eq!(write(id, 10_000, b"xyz", &mut pool), Ok(3));
    assert_eq!(shm::file_size(id), Some(10_003));
    let c = content(id, &mut pool);
    assert_eq!(c.len(), 10_003);
    assert!(c[..10_000].iter().all(|&b| b == 0));
    assert_eq!(&c[10_000..], b"xyz");
    // A write across a page boundary.
    let data: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
    assert_eq!(write(id, 4000, &data, &mut pool), Ok(5000));
    let c = content(id, &mut pool);
    assert_eq!(&c[4000..9000], &data[..]);
    shm::remove_user(id, &mut |pa| pool.release(pa));
    assert!(pool.frames.is_empty());
}

#[test]
fn shrinking_zeroes_the_tail_and_growing_again_shows_zeros() {
    let mut pool = FakePool::default();
    let id = shm::create_file(b"").unwrap();
    let data = [0xAB_u8; 9000];
    write(id, 0, &data, &mut pool).unwrap();
    assert_eq!(pool.frames.len(), 3);
    truncate(id, 100, &mut pool).unwrap();
    assert_eq!(pool.frames.len(), 1, "pages past the end left the cache");
    assert_eq!(shm::file_size(id), Some(100));
    let pa = shm::page(id, 0).unwrap();
    assert!(pool.bytes(pa)[100..].iter().all(|&b| b == 0), "tail zeroed");
    truncate(id, 6000, &mut pool).unwrap();
    let c = content(id, &mut pool);
    assert_eq!(c.len(), 6000);
    assert!(c[..100].iter().all(|&b| b == 0xAB));
    assert!(c[100..].iter().all(|&b| b == 0), "no stale byte comes back");
    shm::remove_user(id, &mut |pa| pool.release(pa));
    assert!(pool.frames.is_empty());
}

#[test]
fn out_of_frames_is_enomem_or_a_short_write() {
    let mut pool = FakePool {
        budget: Some(1),
        ..FakePool::default()
    };
    let id = shm::create_file(b"").unwrap();
    let data = [1u8; 6000];
    assert_eq!(write(id, 0, &data, &mut pool), Ok(4096), "short");
    assert_eq!(shm::file_size(id), Some(4096));
    assert_eq!(write(id, 8192, &data, &mut pool), Err(Errno::ENOMEM));
    assert_eq!(shm::file_size(id), Some(4096), "unchanged by the failure");
    shm::remove_user(id, &mut |pa| pool.release(pa));
}

#[test]
fn file_size_limits_are_efbig() {
    let mut pool = FakePool::default();
    let id = shm::create_file(b"").unwrap();
    assert_eq!(write(id, MAX_FILE_SIZE, b"x", &mut pool), Err(Errno::EFBIG));
    assert_eq!(
        truncate(id, MAX_FILE_SIZE + 1, &mut pool),
        Err(Errno::EFBIG)
    );
    shm::remove_user(id, &mut |pa| pool.release(pa));
}

#[test]
fn a_write_that_copies_nothing_leaves_the_size_alone() {
    // write(2): EFAULT and no change when the buffer is unreadable; the
    // file must not have grown to the position.
    let mut pool = FakePool::default();
    let id = shm::create_file(b"abc").unwrap();
    assert_eq!(write_with(id, 10_000, 5, &mut pool, &mut |_, _| 0), Ok(0));
    assert_eq!(shm::file_size(id), Some(3));
    // A short copy grows it to what was copied.
    assert_eq!(
        write_with(id, 3, 100, &mut pool, &mut |_, n| n.min(7)),
        Ok(7)
    );
    assert_eq!(shm::file_size(id), Some(10));
    shm::remove_user(id, &mut |pa| pool.release(pa));
}

#[test]
fn read_with_stops_at_a_short_sink() {
    let mut pool = FakePool::default();
    let id = shm::create_file(SRC).unwrap();
    let mut calls = 0;
    assert_eq!(
        read_with(id, 0, 100, &mut pool, &mut |_, n| {
            calls += 1;
            n / 2
        }),
        Ok(SRC.len() / 2)
    );
    assert_eq!(calls, 1);
    shm::remove_user(id, &mut |pa| pool.release(pa));
}

static LONG: [u8; 5000] = {
    let mut a = [0u8; 5000];
    let mut i = 0;
    while i < 5000 {
        a[i] = (i % 251) as u8 + 1;
        i += 1;
    }
    a
};

#[test]
fn a_read_is_short_at_the_end_of_the_file() {
    // read(2): fewer bytes than requested "because we were close to
    // end-of-file"; the count returned is what is left after `pos`.
    let mut pool = FakePool::default();
    let id = shm::create_file(SRC).unwrap();
    let mut b = [0xEE_u8; 100];
    assert_eq!(read(id, 10, &mut b, &mut pool), Ok(SRC.len() - 10));
    assert_eq!(&b[..SRC.len() - 10], &SRC[10..]);
    assert!(b[SRC.len() - 10..].iter().all(|&c| c == 0xEE), "untouched");
    shm::remove_user(id, &mut |pa| pool.release(pa));
}

#[test]
fn a_read_across_a_page_boundary_from_the_middle_of_a_page() {
    // From the source (nothing cached), then from the cache: the same
    // bytes, in order (read(2) returns the file's bytes from `pos`).
    let mut pool = FakePool::default();
    let id = shm::create_file(&LONG).unwrap();
    let mut b = vec![0u8; 5000];
    assert_eq!(read(id, 100, &mut b, &mut pool), Ok(4900));
    assert_eq!(&b[..4900], &LONG[100..]);
    // Page 0 into the cache (a one-byte write of the byte it has).
    assert_eq!(write(id, 0, &LONG[..1], &mut pool), Ok(1));
    assert_eq!(write(id, 4096, &LONG[4096..4097], &mut pool), Ok(1));
    let mut b = vec![0u8; 5000];
    assert_eq!(read(id, 100, &mut b, &mut pool), Ok(4900));
    assert_eq!(&b[..4900], &LONG[100..]);
    shm::remove_user(id, &mut |pa| pool.release(pa));
}

#[test]
#[cfg(target_pointer_width = "64")]
fn the_64_bit_limit_is_linux_max_lfs_filesize() {
    // 64-bit Linux: MAX_LFS_FILESIZE = LLONG_MAX (include/linux/fs.h),
    // tmpfs's s_maxbytes; truncate(2) refuses only a length "larger than
    // the maximum file size" (EFBIG). 16 TiB (past the 32-bit limit,
    // ULONG_MAX << PAGE_SHIFT) is a valid size on a 64-bit kernel.
    let mut pool = FakePool::default();
    let id = shm::create_file(b"").unwrap();
    assert_eq!(truncate(id, 1 << 44, &mut pool), Ok(()));
    assert_eq!(shm::file_size(id), Some(1 << 44));
    assert_eq!(truncate(id, i64::MAX as u64, &mut pool), Ok(()));
    assert_eq!(shm::file_size(id), Some(i64::MAX as u64));
    assert_eq!(truncate(id, 0, &mut pool), Ok(()));
    shm::remove_user(id, &mut |pa| pool.release(pa));
}

#[test]
fn a_truncation_drops_every_page_past_the_end() {
    // truncate(2): "the extra data is lost": every page of a 40-page file
    // leaves the cache on a truncation to 0 (more than fit the stack list).
    let mut pool = FakePool::default();
    let id = shm::create_file(b"").unwrap();
    let data = vec![0x5A_u8; 40 * 4096];
    assert_eq!(write(id, 0, &data, &mut pool), Ok(data.len()));
    assert_eq!(pool.frames.len(), 40);
    truncate(id, 0, &mut pool).unwrap();
    assert!(pool.frames.is_empty());
    assert_eq!(shm::file_size(id), Some(0));
    shm::remove_user(id, &mut |pa| pool.release(pa));
}

#[test]
fn a_truncation_to_the_same_size_zeroes_the_tail_of_the_last_page() {
    // mmap(2): bytes a shared mapping stores past the end of the file in
    // its last page are not part of the file. Linux's tmpfs truncates the
    // page cache for a new size <= the old one (mm/shmem.c shmem_setattr:
    // `if (newsize <= oldsize)` -> shmem_truncate_range(inode, newsize,
    // -1), which zeroes the partial page past newsize), so after
    // ftruncate(fd, st_size) they read as zero when the file grows again.
    let mut pool = FakePool::default();
    let id = shm::create_file(b"").unwrap();
    assert_eq!(write(id, 0, &[1; 100], &mut pool), Ok(100));
    let pa = shm::page(id, 0).unwrap();
    pool.bytes(pa)[200] = 0xAA; // a store through a MAP_SHARED mapping
    truncate(id, 100, &mut pool).unwrap();
    assert_eq!(pool.bytes(pa)[200], 0);
    truncate(id, 300, &mut pool).unwrap();
    let c = content(id, &mut pool);
    assert!(
        c[100..].iter().all(|&b| b == 0),
        "the extended part reads as null bytes"
    );
    shm::remove_user(id, &mut |pa| pool.release(pa));
}
