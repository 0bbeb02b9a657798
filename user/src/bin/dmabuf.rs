//! `/dev/dmabuf0` (armmu's example DMA-buffer driver; no Linux counterpart, so no oracle
//! file): the 8 KiB buffer mapped with each memory type the driver offers, what the
//! application writes read back by the driver through its own kernel mapping, the
//! mismatched-attributes rule (a second mapping with another type is EBUSY while the
//! first exists, in this process or another; allowed once it is unmapped), and the
//! argument errors (MAP_PRIVATE EINVAL, outside the buffer ENXIO, bad ioctls).
//!
//! The ioctl numbers are written out with Linux's `_IOC` formula (asm-generic/ioctl.h:
//! dir << 30 | size << 16 | type << 8 | nr), magic 'b'.
#![no_std]
#![no_main]

use armmu_user::errno::*;
use armmu_user::sys::*;
use armmu_user::{
    check, check_detail, close, entry, expect_err, expect_ok, fill, finish, mmap, munmap, open,
    peek, println, read, verify, PAGE,
};

entry!(main);

const ENXIO: i32 = 6;
const SIZE: usize = 2 * PAGE;
const RW: u32 = PROT_READ | PROT_WRITE;

const fn ioc(dir: u32, ty: u8, nr: u8, size: u32) -> u32 {
    (dir << 30) | (size << 16) | ((ty as u32) << 8) | nr as u32
}
const DMABUF_SET_CACHE: u32 = ioc(1, b'b', 1, 4);
const DMABUF_GET_INFO: u32 = ioc(2, b'b', 2, 24);
const DMABUF_READ_KERNEL: u32 = ioc(2, b'b', 3, 40);

const WB: u32 = 0;
const WC: u32 = 1;
const WT: u32 = 2;
const UNCACHED: u32 = 3;

fn name(c: u32) -> &'static str {
    ["WB", "WC", "WT", "UC"][c as usize & 3]
}

fn open_buf(flags: u32) -> Option<i32> {
    expect_ok(
        "open /dev/dmabuf0",
        open(c"/dev/dmabuf0", flags, 0).map(|fd| fd as usize),
    )
    .map(|fd| fd as i32)
}

fn set_cache(fd: i32, mode: u32) -> Result<usize, i32> {
    let v = mode;
    // SAFETY: the argument points at a live u32 the driver only reads.
    unsafe { armmu_user::ioctl(fd, DMABUF_SET_CACHE, &v as *const u32 as usize) }
}

/// (phys, size, cache of this fd's next mapping, kernel alias's cache).
fn info(fd: i32) -> Option<(u64, u32, u32, u32)> {
    let mut b = [0u8; 24];
    // SAFETY: the driver writes exactly 24 bytes into `b`.
    let r = unsafe { armmu_user::ioctl(fd, DMABUF_GET_INFO, b.as_mut_ptr() as usize) };
    r.ok()?;
    let w = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    Some((w(0) as u64 | (w(4) as u64) << 32, w(8), w(12), w(16)))
}

/// What the driver reads through its kernel mapping: (fnv1a, head[16], page1[16]).
fn kernel_view(fd: i32) -> Option<(u32, [u8; 16], [u8; 16])> {
    let mut b = [0u8; 40];
    // SAFETY: the driver writes exactly 40 bytes into `b`.
    let r = unsafe { armmu_user::ioctl(fd, DMABUF_READ_KERNEL, b.as_mut_ptr() as usize) };
    r.ok()?;
    let mut head = [0u8; 16];
    let mut page1 = [0u8; 16];
    head.copy_from_slice(&b[8..24]);
    page1.copy_from_slice(&b[24..40]);
    Some((u32::from_le_bytes([b[0], b[1], b[2], b[3]]), head, page1))
}

/// FNV-1a 32 of the mapping's bytes, read with volatile byte loads.
fn fnv_of(va: usize, len: usize) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for i in 0..len {
        // SAFETY: [va, va+len) is the live mapping of the buffer.
        h ^= unsafe { peek(va + i) } as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

fn bytes_at(va: usize) -> [u8; 16] {
    let mut b = [0u8; 16];
    for (i, x) in b.iter_mut().enumerate() {
        // SAFETY: within the live mapping.
        *x = unsafe { peek(va + i) };
    }
    b
}

/// One attribute: open (with `flags`, then the ioctl if any), map, write a pattern, have
/// the driver read it back, read(2) it back, unmap.
fn round_trip(open_flags: u32, ioctl_mode: Option<u32>, want: u32, seed: u32) {
    let n = name(want);
    let Some(fd) = open_buf(O_RDWR | open_flags) else {
        return;
    };
    if let Some(m) = ioctl_mode {
        expect_ok("DMABUF_SET_CACHE", set_cache(fd, m));
    }
    if let Some((phys, size, cache, _)) = info(fd) {
        check_detail(
            "DMABUF_GET_INFO: size 8192, the fd's cache mode",
            size == 8192 && cache == want,
            format_args!("size {size} cache {cache}"),
        );
        println!("dmabuf: {n} buffer at pa={phys:#x}");
    }
    let Some(va) = expect_ok(
        "mmap 8 KiB MAP_SHARED",
        mmap(0, SIZE, RW, MAP_SHARED, fd, 0),
    ) else {
        close(fd).ok();
        return;
    };
    println!("dmabuf: {n} mapped at va={va:#x}");
    // SAFETY: the mapping is 8 KiB, writable, word aligned, and no Rust object.
    unsafe { fill(va, SIZE, seed) };
    // SAFETY: as above.
    let back = unsafe { verify(va, SIZE, seed) };
    check_detail(
        "the pattern reads back through the mapping",
        back.is_ok(),
        format_args!("first bad offset {back:?}"),
    );
    let user_sum = fnv_of(va, SIZE);
    match kernel_view(fd) {
        Some((sum, head, page1)) => {
            let same = sum == user_sum && head == bytes_at(va) && page1 == bytes_at(va + PAGE);
            check_detail(
                "the driver's kernel mapping sees what the application wrote",
                same,
                format_args!("kernel fnv {sum:#010x}, user fnv {user_sum:#010x}"),
            );
            println!("dmabuf: {n} round trip fnv1a={user_sum:#010x} kernel={sum:#010x}");
        }
        None => {
            check("DMABUF_READ_KERNEL", false);
        }
    }
    if let Some((_, _, _, alias)) = info(fd) {
        check_detail(
            "the kernel alias has the mapping's type",
            alias == want,
            format_args!("alias {}", name(alias)),
        );
    }
    let mut b = [0u8; 16];
    let r = read(fd, &mut b);
    check_detail(
        "read(2) returns the buffer's first bytes",
        r == Ok(16) && b == bytes_at(va),
        format_args!("{r:?}"),
    );
    expect_ok("munmap", munmap(va, SIZE));
    close(fd).ok();
}

fn conflicts() {
    let (Some(wc), Some(wb), Some(so)) = (
        open_buf(O_RDWR),
        open_buf(O_RDWR),
        open_buf(O_RDWR | O_SYNC),
    ) else {
        return;
    };
    expect_ok("DMABUF_SET_CACHE WC", set_cache(wc, WC));
    let Some(a) = expect_ok("first mapping (WC)", mmap(0, SIZE, RW, MAP_SHARED, wc, 0)) else {
        return;
    };
    // SAFETY: 8 KiB mapping, writable, word aligned.
    unsafe { fill(a, SIZE, 0x5eed) };
    expect_err(
        "a WB mapping while the WC one exists -> EBUSY",
        mmap(0, SIZE, RW, MAP_SHARED, wb, 0),
        EBUSY,
    );
    expect_err(
        "an O_SYNC (uncached) mapping while the WC one exists -> EBUSY",
        mmap(0, PAGE, PROT_READ, MAP_SHARED, so, PAGE as u64),
        EBUSY,
    );
    if let Some(b) = expect_ok(
        "a second WC mapping (same type) is allowed",
        mmap(0, PAGE, RW, MAP_SHARED, wc, PAGE as u64),
    ) {
        check(
            "it shows the same second page",
            bytes_at(b) == bytes_at(a + PAGE),
        );
        expect_ok("munmap it", munmap(b, PAGE));
    }
    // Another process: the parent's WC mapping still counts there.
    match armmu_user::fork() {
        Ok(0) => {
            armmu_user::reset_counts();
            expect_err(
                "child: a WB mapping while the parent's WC one exists -> EBUSY",
                mmap(0, SIZE, RW, MAP_SHARED, wb, 0),
                EBUSY,
            );
            // SAFETY: the inherited mapping is readable and aligned.
            let seen = unsafe { verify(a, SIZE, 0x5eed) };
            check(
                "child: the inherited WC mapping shows the parent's data",
                seen.is_ok(),
            );
            armmu_user::child_exit();
        }
        Ok(pid) => {
            let r = armmu_user::waitpid(pid as isize);
            check_detail(
                "child passed its checks",
                matches!(r, Ok((_, 0))),
                format_args!("{r:?}"),
            );
        }
        Err(e) => {
            check_detail("fork", false, format_args!("{e}"));
        }
    }
    expect_ok("munmap the WC mapping", munmap(a, SIZE));
    if let Some(c) = expect_ok(
        "after the last WC mapping is gone, WB is allowed",
        mmap(0, SIZE, RW, MAP_SHARED, wb, 0),
    ) {
        // The buffer kept its contents across the type change (cleaned to PoC).
        // SAFETY: 8 KiB mapping, aligned.
        let kept = unsafe { verify(c, SIZE, 0x5eed) };
        check_detail(
            "the data written through WC reads back through WB",
            kept.is_ok(),
            format_args!("{kept:?}"),
        );
        expect_ok("munmap", munmap(c, SIZE));
    }
    if let Some(d) = expect_ok(
        "and then O_SYNC (uncached) too",
        mmap(0, PAGE, PROT_READ, MAP_SHARED, so, 0),
    ) {
        expect_ok("munmap", munmap(d, PAGE));
    }
    for fd in [wc, wb, so] {
        close(fd).ok();
    }
}

fn errors() {
    let Some(fd) = open_buf(O_RDWR) else {
        return;
    };
    expect_err(
        "MAP_PRIVATE -> EINVAL",
        mmap(0, PAGE, PROT_READ, MAP_PRIVATE, fd, 0),
        EINVAL,
    );
    expect_err(
        "offset 8192 (past the buffer) -> ENXIO",
        mmap(0, PAGE, RW, MAP_SHARED, fd, SIZE as u64),
        ENXIO,
    );
    expect_err(
        "offset 4096 + 8192 bytes -> ENXIO",
        mmap(0, SIZE, RW, MAP_SHARED, fd, PAGE as u64),
        ENXIO,
    );
    expect_err(
        "12 KiB from offset 0 -> ENXIO",
        mmap(0, 3 * PAGE, RW, MAP_SHARED, fd, 0),
        ENXIO,
    );
    expect_err(
        "unaligned offset -> EINVAL",
        mmap(0, PAGE, RW, MAP_SHARED, fd, 100),
        EINVAL,
    );
    expect_err(
        "PROT_EXEC -> EACCES (driver memory is never executable)",
        mmap(0, PAGE, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0),
        EACCES,
    );
    expect_err("DMABUF_SET_CACHE 7 -> EINVAL", set_cache(fd, 7), EINVAL);
    expect_err(
        "DMABUF_SET_CACHE from a bad pointer -> EFAULT",
        // SAFETY: the kernel checks the pointer; nothing here is touched.
        unsafe { armmu_user::ioctl(fd, DMABUF_SET_CACHE, 16) },
        EFAULT,
    );
    expect_err(
        "an unknown ioctl -> ENOTTY",
        // SAFETY: as above.
        unsafe { armmu_user::ioctl(fd, 0x5401, 0) },
        ENOTTY,
    );
    close(fd).ok();
    if let Some(ro) = open_buf(O_RDONLY) {
        expect_err(
            "O_RDONLY fd, PROT_WRITE MAP_SHARED -> EACCES",
            mmap(0, PAGE, RW, MAP_SHARED, ro, 0),
            EACCES,
        );
        close(ro).ok();
    }
}

fn main(_args: armmu_user::Args) -> i32 {
    round_trip(0, None, WB, 0x1111);
    round_trip(O_SYNC, None, UNCACHED, 0x2222);
    round_trip(0, Some(WC), WC, 0x3333);
    round_trip(0, Some(WT), WT, 0x4444);
    conflicts();
    errors();
    finish()
}
