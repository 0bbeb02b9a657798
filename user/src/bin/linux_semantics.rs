//! Memory and I/O corner cases where the kernel once differed from Linux
//! (issue 7): every expectation here is Linux 6.1's, checked by running
//! this program as /init on Debian's Linux 6.1 under the same QEMU boards
//! (armmp and arm64; see user/README.md).
#![no_std]
#![no_main]

use armmu_user::errno::*;
use armmu_user::sys::*;
use armmu_user::{
    check, check_detail, decode, entry, expect_err, expect_ok, fill, finish, madvise, mmap,
    mmap_anon, mprotect, munmap, open, verify, PAGE,
};
use core::ffi::CStr;

entry!(main);

const RW: u32 = PROT_READ | PROT_WRITE;
const MIB: usize = 1 << 20;
const O_DIRECTORY: u32 = 0o40000;
const ENOTDIR: i32 = 20;
const MAP_NORESERVE: u32 = 0x4000;
const MADV_REMOVE: u32 = 9;
const MREMAP_MAYMOVE: usize = 1;
#[cfg(target_arch = "arm")]
const SYS_MREMAP: usize = 163;
#[cfg(target_arch = "aarch64")]
const SYS_MREMAP: usize = 216;

/// Initialised data: its page comes from the ELF file.
static mut DATA: [u32; 1024] = [0x1234_5678; 1024];

fn mremap(a: usize, old: usize, new: usize, flags: usize) -> Result<usize, i32> {
    // SAFETY: mremap only changes our own mappings.
    decode(unsafe { armmu_user::syscall4(SYS_MREMAP, a, old, new, flags) })
}

/// `read(/dev/zero, addr, 1)`: 1 if the page is writable, EFAULT if not.
fn zero_into(zero_fd: i32, addr: usize) -> Result<usize, i32> {
    // SAFETY: the kernel checks the buffer; a bad one is EFAULT.
    decode(unsafe { armmu_user::syscall3(READ_NR, zero_fd as usize, addr, 1) })
}

const READ_NR: usize = armmu_user::sys::READ;
const WRITE_NR: usize = armmu_user::sys::WRITE;

fn main(_args: armmu_user::Args) -> i32 {
    let zero = c"/dev/zero";
    let zfd = match open(zero, O_RDWR, 0) {
        Ok(fd) => fd,
        Err(e) => {
            check_detail("open /dev/zero", false, format_args!("{}", name(e)));
            return finish();
        }
    };
    dev_zero_read_only(zero);
    o_directory(c"/init");
    huge_lengths_and_bad_paths();
    mprotect_stops_at_a_hole(zfd);
    madvise_semantics();
    image_pages_come_back_from_the_file();
    overcommit();
    mremap_keeps_data();
    clock_nanosleep_rules();
    finish()
}

/// mmap(2): EACCES for MAP_SHARED + PROT_WRITE on an fd not open for
/// writing; and mprotect(2) cannot add PROT_WRITE to such a mapping later.
fn dev_zero_read_only(zero: &CStr) {
    let Some(fd) = expect_ok(
        "open /dev/zero O_RDONLY",
        open(zero, O_RDONLY, 0).map(|f| f as usize),
    ) else {
        return;
    };
    let fd = fd as i32;
    expect_err(
        "MAP_SHARED PROT_WRITE of a read-only /dev/zero -> EACCES",
        mmap(0, PAGE, RW, MAP_SHARED, fd, 0),
        EACCES,
    );
    if let Some(a) = expect_ok(
        "MAP_SHARED PROT_READ of a read-only /dev/zero",
        mmap(0, PAGE, PROT_READ, MAP_SHARED, fd, 0),
    ) {
        expect_err(
            "then mprotect(PROT_WRITE) -> EACCES",
            mprotect(a, PAGE, RW),
            EACCES,
        );
        let _ = munmap(a, PAGE);
    }
    if let Some(a) = expect_ok(
        "MAP_PRIVATE PROT_WRITE of a read-only /dev/zero",
        mmap(0, PAGE, RW, MAP_PRIVATE, fd, 0),
    ) {
        let _ = munmap(a, PAGE);
    }
    let _ = armmu_user::close(fd);
}

/// O_DIRECTORY is 0o40000 on ARM and AArch64: a regular file is ENOTDIR.
fn o_directory(file: &CStr) {
    expect_err(
        "open(regular file, O_DIRECTORY) -> ENOTDIR",
        open(file, O_RDONLY | O_DIRECTORY, 0).map(|f| f as usize),
        ENOTDIR,
    );
    // 0o200000 is O_DIRECT here, not O_DIRECTORY: not ENOTDIR, but the
    // initramfs (ramfs) has no direct I/O, so Linux says EINVAL.
    expect_err(
        "open(regular file, 0o200000 = O_DIRECT) -> EINVAL, not ENOTDIR",
        open(file, O_RDONLY | 0o200000, 0).map(|f| f as usize),
        EINVAL,
    );
}

/// vfs_read/vfs_write check the whole buffer range (access_ok): a range
/// past user space is EFAULT, however valid its first bytes are; a path
/// pointer at the very top of the address space is EFAULT too.
fn huge_lengths_and_bad_paths() {
    let buf = [b'x'; 16];
    #[cfg(target_arch = "arm")]
    let huge = 0xF000_0000usize;
    #[cfg(target_arch = "aarch64")]
    let huge = 1usize << 62;
    // SAFETY: the kernel must refuse before reading anything.
    let r = decode(unsafe { armmu_user::syscall3(WRITE_NR, 1, buf.as_ptr() as usize, huge) });
    expect_err("write(1, valid buffer, huge length) -> EFAULT", r, EFAULT);
    let mut rbuf = [0u8; 16];
    let zfd = open(c"/dev/zero", O_RDONLY, 0).unwrap_or(-1);
    // SAFETY: as above.
    let r = decode(unsafe {
        armmu_user::syscall3(READ_NR, zfd as usize, rbuf.as_mut_ptr() as usize, huge)
    });
    expect_err(
        "read(/dev/zero, valid buffer, huge length) -> EFAULT",
        r,
        EFAULT,
    );
    let _ = armmu_user::close(zfd);
    #[cfg(target_arch = "arm")]
    // SAFETY: the kernel checks the path pointer.
    let r = decode(unsafe { armmu_user::syscall3(armmu_user::sys::OPEN, usize::MAX - 2, 0, 0) });
    #[cfg(target_arch = "aarch64")]
    // SAFETY: as above.
    let r = decode(unsafe {
        armmu_user::syscall4(
            armmu_user::sys::OPENAT,
            AT_FDCWD as isize as usize,
            usize::MAX - 2,
            0,
            0,
        )
    });
    expect_err(
        "open(path in the last page of the address space) -> EFAULT",
        r,
        EFAULT,
    );
}

/// mprotect over [page, hole, page]: ENOMEM, but the page before the hole
/// was changed (Linux's do_mprotect_pkey), the one after it not.
fn mprotect_stops_at_a_hole(zfd: i32) {
    let Some(a) = expect_ok("mmap 3 pages", mmap_anon(3 * PAGE, RW)) else {
        return;
    };
    expect_ok("munmap the middle one", munmap(a + PAGE, PAGE));
    expect_err(
        "mprotect(PROT_READ) over the hole -> ENOMEM",
        mprotect(a, 3 * PAGE, PROT_READ),
        ENOMEM,
    );
    expect_err(
        "the page before the hole became read-only (read into it: EFAULT)",
        zero_into(zfd, a),
        EFAULT,
    );
    check(
        "the page after the hole is still writable",
        zero_into(zfd, a + 2 * PAGE) == Ok(1),
    );
    let _ = munmap(a, 3 * PAGE);
}

/// madvise(2): ENOMEM for unmapped pages in the range (the mapped ones are
/// still advised); MADV_DONTNEED zero-fills private anonymous memory but
/// keeps MAP_SHARED anonymous data (shmem); MADV_REMOVE punches it out.
fn madvise_semantics() {
    let Some(a) = expect_ok("mmap 3 private pages", mmap_anon(3 * PAGE, RW)) else {
        return;
    };
    // SAFETY: our RW mapping.
    unsafe { fill(a, 3 * PAGE, 7) };
    expect_ok("munmap the middle one", munmap(a + PAGE, PAGE));
    expect_err(
        "madvise(DONTNEED) over a hole -> ENOMEM",
        madvise(a, 3 * PAGE, MADV_DONTNEED),
        ENOMEM,
    );
    // SAFETY: still mapped RW.
    unsafe {
        check("the pages around it were dropped anyway (read zero)", {
            armmu_user::all_zero(a, PAGE).is_ok()
                && armmu_user::all_zero(a + 2 * PAGE, PAGE).is_ok()
        });
    }
    expect_err(
        "madvise(NORMAL) over a hole -> ENOMEM",
        madvise(a, 3 * PAGE, MADV_NORMAL),
        ENOMEM,
    );
    let _ = munmap(a, 3 * PAGE);

    let Some(s) = expect_ok(
        "mmap shared anonymous",
        mmap(0, 2 * PAGE, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0),
    ) else {
        return;
    };
    // SAFETY: our RW mapping.
    unsafe {
        fill(s, PAGE, 9);
        fill(s + PAGE, PAGE, 10);
    }
    expect_ok(
        "madvise(DONTNEED) on it",
        madvise(s, 2 * PAGE, MADV_DONTNEED),
    );
    // SAFETY: still mapped.
    unsafe {
        check(
            "MAP_SHARED anonymous data survives MADV_DONTNEED",
            verify(s, PAGE, 9).is_ok() && verify(s + PAGE, PAGE, 10).is_ok(),
        );
    }
    expect_ok("madvise(REMOVE) on it", madvise(s, PAGE, MADV_REMOVE));
    // SAFETY: still mapped.
    unsafe {
        check(
            "MADV_REMOVE punched the first page out (reads zero)",
            armmu_user::all_zero(s, PAGE).is_ok(),
        );
        check(
            "the second page kept its data",
            verify(s + PAGE, PAGE, 10).is_ok(),
        );
    }
    let _ = munmap(s, 2 * PAGE);
}

/// MADV_DONTNEED on the program's own .data and text: Linux drops the
/// private copies and faults the file contents back in, so initialised
/// data reads its ELF value again and the code keeps running.
fn image_pages_come_back_from_the_file() {
    let data = core::ptr::addr_of_mut!(DATA) as usize;
    let page = data & !(PAGE - 1);
    // SAFETY: our own static; volatile so the compiler keeps the accesses.
    unsafe { core::ptr::write_volatile((data + 2048) as *mut u32, 0xdead_beef) };
    expect_ok(
        "madvise(DONTNEED) on the page of .data",
        madvise(page, PAGE, MADV_DONTNEED),
    );
    // SAFETY: as above.
    let v = unsafe { core::ptr::read_volatile((data + 2048) as *const u32) };
    check_detail(
        "initialised data reads its ELF value again",
        v == 0x1234_5678,
        format_args!("read {v:#x}"),
    );
    let text = image_pages_come_back_from_the_file as fn() as usize & !(PAGE - 1);
    expect_ok(
        "madvise(DONTNEED) on a page of our own code",
        madvise(text, PAGE, MADV_DONTNEED),
    );
    check("the code still runs after it", core::hint::black_box(true));
}

/// The overcommit heuristic (vm.overcommit_memory = 0): one private
/// writable mapping larger than RAM is ENOMEM; MAP_NORESERVE is exempt;
/// a read-only one is not accounted.
fn overcommit() {
    #[cfg(target_arch = "arm")]
    let len = 1792 * MIB;
    #[cfg(target_arch = "aarch64")]
    let len = 3840 * MIB;
    expect_err(
        "mmap RW private larger than RAM -> ENOMEM",
        mmap(0, len, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
        ENOMEM,
    );
    if let Some(a) = expect_ok(
        "the same with MAP_NORESERVE",
        mmap(
            0,
            len,
            RW,
            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
            -1,
            0,
        ),
    ) {
        let _ = munmap(a, len);
    }
    if let Some(a) = expect_ok(
        "the same read-only (not accounted)",
        mmap(0, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
    ) {
        let _ = munmap(a, len);
    }
    expect_err(
        "MAP_SHARED anonymous larger than RAM -> ENOMEM (shmem is accounted)",
        mmap(0, len, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0),
        ENOMEM,
    );
}

/// mremap(2): growing keeps the contents, moving or not.
fn mremap_keeps_data() {
    let Some(a) = expect_ok("mmap 2 pages", mmap_anon(2 * PAGE, RW)) else {
        return;
    };
    // SAFETY: our RW mapping.
    unsafe { fill(a, 2 * PAGE, 3) };
    // Block growth in place.
    let blocker = mmap(
        a + 2 * PAGE,
        PAGE,
        PROT_READ,
        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
        -1,
        0,
    );
    expect_err(
        "mremap grow without MAYMOVE when blocked -> ENOMEM",
        if blocker.is_ok() {
            mremap(a, 2 * PAGE, 4 * PAGE, 0)
        } else {
            Err(ENOMEM)
        },
        ENOMEM,
    );
    if let Some(b) = expect_ok(
        "mremap grow with MAYMOVE",
        mremap(a, 2 * PAGE, 64 * PAGE, MREMAP_MAYMOVE),
    ) {
        // SAFETY: the moved mapping is RW and 64 pages long.
        unsafe {
            check("the data moved along", verify(b, 2 * PAGE, 3).is_ok());
            check(
                "the new part reads zero",
                armmu_user::all_zero(b + 2 * PAGE, 62 * PAGE).is_ok(),
            );
        }
        expect_ok("mremap shrink", mremap(b, 64 * PAGE, PAGE, 0));
        let _ = munmap(b, PAGE);
    }
    if let Ok(x) = blocker {
        let _ = munmap(x, PAGE);
    }
}

/// clock_nanosleep(2): `EOPNOTSUPP` for CLOCK_THREAD_CPUTIME_ID (what
/// Linux 6.1 answers; the man page's `EINVAL` is older), `EINVAL` for an
/// unknown clock or a `tv_nsec` out of range; an absolute deadline already past
/// returns at once; relative and absolute sleeps last at least what was
/// asked (CLOCK_MONOTONIC).
fn clock_nanosleep_rules() {
    use armmu_user::{clock_gettime_ns, clock_nanosleep};
    const MONOTONIC: u32 = 1;
    const THREAD_CPUTIME: u32 = 3;
    const TIMER_ABSTIME: u32 = 1;
    let r = clock_nanosleep(THREAD_CPUTIME, 0, 0, 1000);
    check_detail(
        "clock_nanosleep(CLOCK_THREAD_CPUTIME_ID): EOPNOTSUPP",
        r == Err(EOPNOTSUPP),
        format_args!("{r:?}"),
    );
    check(
        "clock_nanosleep(clock 99): EINVAL",
        clock_nanosleep(99, 0, 0, 1000) == Err(EINVAL),
    );
    check(
        "clock_nanosleep(tv_nsec 1000000000): EINVAL",
        clock_nanosleep(MONOTONIC, 0, 0, 1_000_000_000) == Err(EINVAL),
    );
    check(
        "clock_nanosleep(TIMER_ABSTIME, 0): returns at once with 0",
        clock_nanosleep(MONOTONIC, TIMER_ABSTIME, 0, 0).is_ok(),
    );
    let t0 = clock_gettime_ns(MONOTONIC).unwrap_or(0);
    let r = clock_nanosleep(MONOTONIC, 0, 0, 20_000_000);
    let t1 = clock_gettime_ns(MONOTONIC).unwrap_or(0);
    check(
        "clock_nanosleep 20 ms (relative) lasts at least 20 ms",
        r.is_ok() && t1 >= t0 + 20_000_000,
    );
    let target = t1 + 20_000_000;
    let r = clock_nanosleep(
        MONOTONIC,
        TIMER_ABSTIME,
        (target / 1_000_000_000) as isize,
        (target % 1_000_000_000) as isize,
    );
    let t2 = clock_gettime_ns(MONOTONIC).unwrap_or(0);
    check(
        "clock_nanosleep to now + 20 ms (TIMER_ABSTIME) ends after it",
        r.is_ok() && t2 >= target,
    );
}
