//! Expected values come from Linux's headers and sources (asm-generic
//! ioctl.h's `_IOC` layout written out by hand below, `__arm_dma_mmap`'s
//! range rule, `O_SYNC`'s uapi value), not from the driver.
use super::*;
use crate::syscall::mm_args::{Prot, O_RDONLY, O_SYNC};
use std::sync::Mutex;

/// `_IOC(dir,type,nr,size)` = dir << 30 | size << 16 | type << 8 | nr
/// (asm-generic/ioctl.h: 8 bits nr, 8 bits type, 14 bits size, 2 bits
/// dir; _IOC_WRITE = 1, _IOC_READ = 2).
fn linux_ioc(dir: u32, ty: u32, nr: u32, size: u32) -> u32 {
    (dir << 30) | (size << 16) | (ty << 8) | nr
}

#[test]
fn ioctl_numbers_follow_linux_ioc_encoding() {
    // 'b' is 0x62.
    assert_eq!(DMABUF_SET_CACHE, linux_ioc(1, 0x62, 1, 4));
    assert_eq!(DMABUF_SET_CACHE, 0x4004_6201);
    assert_eq!(DMABUF_GET_INFO, linux_ioc(2, 0x62, 2, 24));
    assert_eq!(DMABUF_GET_INFO, 0x8018_6202);
    assert_eq!(DMABUF_READ_KERNEL, linux_ioc(2, 0x62, 3, 40));
    assert_eq!(DMABUF_READ_KERNEL, 0x8028_6203);
    // Known Linux numbers through the same helpers: FS_IOC_GETFLAGS on a
    // 32-bit ABI is _IOR('f', 1, long) = 0x80046601; RTC_RD_TIME is
    // _IOR('p', 0x09, struct rtc_time (36 bytes)) = 0x80247009.
    assert_eq!(ior(b'f', 1, 4), 0x8004_6601);
    assert_eq!(ior(b'p', 0x09, 36), 0x8024_7009);
}

fn args(offset: u64, len: usize, shared: bool, flags: u32) -> MmapArgs {
    MmapArgs {
        offset,
        len,
        shared,
        prot: Prot {
            read: true,
            write: true,
            exec: false,
        },
        open_flags: flags,
    }
}

#[test]
fn attribute_from_open_flags_and_ioctl() {
    // O_SYNC is 0o4010000 and O_DSYNC 0o10000 on ARM and arm64.
    assert_eq!(O_SYNC, 0o4010000);
    let wb = MemoryType::NormalWriteBackWriteAlloc;
    assert_eq!(select_cache(O_RDWR, 0).mem(), wb);
    assert_eq!(
        select_cache(O_RDWR, 1).mem(),
        MemoryType::NormalNonCacheable
    );
    assert_eq!(
        select_cache(O_RDWR, 2).mem(),
        MemoryType::NormalWriteThrough
    );
    // O_SYNC (or O_DSYNC alone) is pgprot_noncached, whatever the ioctl.
    for w in 0..3 {
        assert_eq!(
            select_cache(O_RDWR | O_SYNC, w).mem(),
            MemoryType::StronglyOrdered
        );
        assert_eq!(select_cache(O_RDWR | 0o10000, w), Cache::Uncached);
    }
    assert_eq!(Cache::from_user(3), Err(Errno::EINVAL));
    assert_eq!(Cache::from_user(u32::MAX), Err(Errno::EINVAL));
}

#[test]
fn range_rule_is_dma_mmaps() {
    // 2 pages: pgoff 0 len 1..2 pages, pgoff 1 len 1 page are inside.
    assert_eq!(check_range(0, 4096), Ok(()));
    assert_eq!(check_range(0, 8192), Ok(()));
    assert_eq!(check_range(4096, 4096), Ok(()));
    // Past the end: ENXIO.
    assert_eq!(check_range(0, 12288), Err(Errno::ENXIO));
    assert_eq!(check_range(4096, 8192), Err(Errno::ENXIO));
    assert_eq!(check_range(8192, 4096), Err(Errno::ENXIO));
    assert_eq!(check_range(!4095, 4096), Err(Errno::ENXIO));
}

#[test]
fn mmap_checks_in_order() {
    let none = MappedTypes::NONE;
    // Private: EINVAL, even when the range is also bad.
    assert_eq!(
        check_mmap(&args(0, 4096, false, O_RDWR), 0, &none),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        check_mmap(&args(8192, 4096, false, O_RDWR), 0, &none),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        check_mmap(&args(8192, 4096, true, O_RDWR), 0, &none),
        Err(Errno::ENXIO)
    );
    assert_eq!(
        check_mmap(&args(0, 8192, true, O_RDWR), 0, &none),
        Ok(MemoryType::NormalWriteBackWriteAlloc)
    );
}

#[test]
fn conflict_rule() {
    let mut wc = MappedTypes::NONE;
    wc.add(MemoryType::NormalNonCacheable);
    // A second mapping with the same type is fine (fork, another open).
    assert_eq!(
        check_mmap(&args(0, 4096, true, O_RDWR), 1, &wc),
        Ok(MemoryType::NormalNonCacheable)
    );
    // Any other type while the WC one exists: EBUSY.
    for (flags, word) in [(O_RDWR, 0), (O_RDWR, 2), (O_RDWR | O_SYNC, 1)] {
        assert_eq!(
            check_mmap(&args(0, 4096, true, flags), word, &wc),
            Err(Errno::EBUSY)
        );
    }
    // Once nothing is mapped (munmap of the last one), anything goes.
    assert!(check_mmap(&args(0, 4096, true, O_RDWR | O_SYNC), 0, &MappedTypes::NONE).is_ok());
}

/// A buffer in host memory; records the alias changes.
struct Fake {
    mem: Mutex<[u8; SIZE]>,
    changes: Mutex<Vec<(MemoryType, MemoryType)>>,
}

impl BufferHw for Fake {
    fn read(&self, i: usize) -> u8 {
        self.mem.lock().unwrap()[i]
    }
    fn write(&self, i: usize, v: u8) {
        self.mem.lock().unwrap()[i] = v;
    }
    fn set_alias(&self, from: MemoryType, to: MemoryType) -> Result<(), Errno> {
        self.changes.lock().unwrap().push((from, to));
        Ok(())
    }
}

fn fake() -> &'static Fake {
    Box::leak(Box::new(Fake {
        mem: Mutex::new([0; SIZE]),
        changes: Mutex::new(Vec::new()),
    }))
}

/// User memory as a byte array at address 0x1000.
struct User(Vec<u8>);
impl UserCopy for User {
    fn copy_from_user(&mut self, va: usize, dst: &mut [u8]) -> Result<(), Errno> {
        let s = va.checked_sub(0x1000).ok_or(Errno::EFAULT)?;
        let src = self.0.get(s..s + dst.len()).ok_or(Errno::EFAULT)?;
        dst.copy_from_slice(src);
        Ok(())
    }
    fn copy_to_user(&mut self, va: usize, src: &[u8]) -> Result<(), Errno> {
        let s = va.checked_sub(0x1000).ok_or(Errno::EFAULT)?;
        self.0
            .get_mut(s..s + src.len())
            .ok_or(Errno::EFAULT)?
            .copy_from_slice(src);
        Ok(())
    }
}

#[test]
fn ioctls_and_alias_changes() {
    let f = fake();
    let d = DmaBuf::new(0x4800_0000, f);
    let p = PrivateData::new(0);
    d.open(O_RDWR, &p).unwrap();
    let mut u = User(vec![0; 64]);
    // SET_CACHE WC, then GET_INFO says so, with the buffer's PA and size.
    u.0[..4].copy_from_slice(&1u32.to_le_bytes());
    assert_eq!(d.ioctl(DMABUF_SET_CACHE, 0x1000, &mut u, &p), Ok(0));
    assert_eq!(d.ioctl(DMABUF_GET_INFO, 0x1000, &mut u, &p), Ok(0));
    assert_eq!(&u.0[0..8], &0x4800_0000u64.to_le_bytes());
    assert_eq!(&u.0[8..12], &8192u32.to_le_bytes());
    assert_eq!(&u.0[12..16], &1u32.to_le_bytes());
    assert_eq!(&u.0[16..20], &0u32.to_le_bytes(), "alias still WB");
    // A bad mode: EINVAL, word unchanged; a bad pointer: EFAULT.
    u.0[..4].copy_from_slice(&7u32.to_le_bytes());
    assert_eq!(
        d.ioctl(DMABUF_SET_CACHE, 0x1000, &mut u, &p),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        d.ioctl(DMABUF_SET_CACHE, 0x10, &mut u, &p),
        Err(Errno::EFAULT)
    );
    assert_eq!(d.ioctl(0x5401, 0x1000, &mut u, &p), Err(Errno::ENOTTY));
    // mmap: the alias follows the granted type, once.
    let m = d
        .mmap(&args(4096, 4096, true, O_RDWR), &p, &MappedTypes::NONE)
        .unwrap();
    assert_eq!(
        m,
        DevMap {
            phys: 0x4800_1000,
            mem: MemoryType::NormalNonCacheable,
            may_write: true
        }
    );
    let mut wc = MappedTypes::NONE;
    wc.add(MemoryType::NormalNonCacheable);
    d.mmap(&args(0, 4096, true, O_RDWR), &p, &wc).unwrap();
    assert_eq!(
        *f.changes.lock().unwrap(),
        vec![(
            MemoryType::NormalWriteBackWriteAlloc,
            MemoryType::NormalNonCacheable
        )]
    );
    // A refused mapping changes nothing.
    let q = PrivateData::new(0);
    assert_eq!(
        d.mmap(&args(0, 4096, true, O_RDWR), &q, &wc),
        Err(Errno::EBUSY)
    );
    assert_eq!(f.changes.lock().unwrap().len(), 1);
    assert_eq!(d.alias(), MemoryType::NormalNonCacheable);
    // Read-only fd: never writable later.
    let r = d.mmap(&args(0, 4096, true, O_RDONLY), &p, &wc).unwrap();
    assert!(!r.may_write);
}

#[test]
fn o_sync_open_is_reported_by_get_info() {
    let d = DmaBuf::new(0x4800_0000, fake());
    let p = PrivateData::new(0);
    d.open(O_RDWR | O_SYNC, &p).unwrap();
    let mut u = User(vec![0; 64]);
    d.ioctl(DMABUF_GET_INFO, 0x1000, &mut u, &p).unwrap();
    assert_eq!(&u.0[12..16], &3u32.to_le_bytes());
}

#[test]
fn what_is_written_is_what_the_driver_reads() {
    let f = fake();
    let d = DmaBuf::new(0x4800_0000, f);
    let p = PrivateData::new(0);
    // An "application" writes through its mapping (here: the fake's
    // memory), the driver reads through its alias.
    for i in 0..SIZE {
        f.mem.lock().unwrap()[i] = (i * 7 + 3) as u8;
    }
    let peek = d.peek();
    // FNV-1a 32 by hand for the same bytes.
    let mut h: u32 = 0x811c9dc5;
    for i in 0..SIZE {
        h ^= ((i * 7 + 3) as u8) as u32;
        h = h.wrapping_mul(16777619);
    }
    assert_eq!(&peek[0..4], &h.to_le_bytes());
    assert_eq!(&peek[4..8], &8192u32.to_le_bytes());
    assert_eq!(peek[8], 3);
    assert_eq!(peek[9], 10);
    assert_eq!(peek[24], (4096usize * 7 + 3) as u8);
    // FNV-1a("a") = 0xe40c292c (the published test vector).
    assert_eq!(fnv1a(*b"a"), 0xe40c_292c);
    // read/write at positions, clipped to the buffer.
    let mut b = [0u8; 8];
    assert_eq!(d.read(8190, &mut b, &p), Ok(2));
    assert_eq!(d.read(8192, &mut b, &p), Ok(0));
    assert_eq!(d.write(8191, &[0xAA, 0xBB], &p), Ok(1));
    assert_eq!(f.mem.lock().unwrap()[8191], 0xAA);
    assert_eq!(d.write(8192, &[1], &p), Err(Errno::ENOSPC));
}
