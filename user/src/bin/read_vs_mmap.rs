//! The mmap articles' comparison: a file of 10 000 native-endian i32 (0..9999) gets one
//! added to every element twice, once with `read`/`write` (4 KiB chunks: read, lseek
//! back, write) and once through `mmap(MAP_SHARED)` (increment in place, `msync(MS_SYNC)`,
//! munmap). Read back with `read`, every element must be i + 2: `same file: yes`.
//! Each pass is timed with the virtual counter (CNTVCT); those lines start with `ticks `
//! and are not part of the comparison with Linux (tests/common/files.rs skips them).
//! Runs as /init (the file is /tmp/rvm.dat; /tmp is made when missing).
#![no_std]
#![no_main]

use armmu_user::file::*;
use armmu_user::sys::*;
use armmu_user::*;

entry!(main);

const N: usize = 10_000;
const BYTES: usize = N * 4;
const CHUNK: usize = 4096;

static mut BUF: [u8; CHUNK] = [0; CHUNK];

fn buf() -> &'static mut [u8; CHUNK] {
    // SAFETY: single-threaded; one user at a time.
    unsafe { &mut *(&raw mut BUF) }
}

fn word(b: &[u8], i: usize) -> i32 {
    i32::from_ne_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]])
}

/// Read the whole file from offset 0: how many elements equal i + `add`.
fn count_equal(fd: i32, add: i32) -> usize {
    let _ = lseek(fd, 0, SEEK_SET);
    let b = buf();
    let mut good = 0;
    let mut idx = 0;
    loop {
        let n = match read(fd, b) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        // The chunks are multiples of 4 bytes (4096 and the 3136-byte tail).
        for k in 0..n / 4 {
            if word(b, k) == (idx + k) as i32 + add {
                good += 1;
            }
        }
        idx += n / 4;
    }
    good
}

fn main(_args: Args) -> i32 {
    let _ = mkdir(c"/tmp", 0o1777);
    let Some(fd) = expect_ok(
        "create /tmp/rvm.dat",
        openat(AT_FDCWD, c"/tmp/rvm.dat", O_CREAT | O_TRUNC | O_RDWR, 0o644).map(|f| f as usize),
    )
    .map(|f| f as i32) else {
        return finish();
    };
    // 0..9999 in 4 KiB chunks.
    let b = buf();
    let mut i = 0;
    while i < N {
        let k = (N - i).min(CHUNK / 4);
        for j in 0..k {
            b[4 * j..4 * j + 4].copy_from_slice(&((i + j) as i32).to_ne_bytes());
        }
        if write_all(fd, &b[..4 * k]).is_err() {
            check("write the file", false);
            return finish();
        }
        i += k;
    }
    check(
        "the file holds 10 000 i32: 0..9999 (40 000 bytes)",
        fstat(fd).map(|s| s.size) == Ok(BYTES as i64) && count_equal(fd, 0) == N,
    );

    // Pass 1: read / add one / lseek back / write.
    let _ = lseek(fd, 0, SEEK_SET);
    let t0 = cntvct();
    let mut ok = true;
    loop {
        let n = match read(fd, b) {
            Ok(0) => break,
            Ok(n) => n,
            Err(_) => {
                ok = false;
                break;
            }
        };
        for k in 0..n / 4 {
            let v = word(b, k) + 1;
            b[4 * k..4 * k + 4].copy_from_slice(&v.to_ne_bytes());
        }
        if lseek(fd, -(n as i64), SEEK_CUR).is_err() || write_all(fd, &b[..n]).is_err() {
            ok = false;
            break;
        }
    }
    let t_rw = cntvct() - t0;
    check("read/write pass: every read, lseek and write succeeded", ok);
    check(
        "after the read/write pass every element is i + 1",
        count_equal(fd, 1) == N,
    );

    // Pass 2: mmap(MAP_SHARED), add one in place, msync(MS_SYNC), munmap.
    let t0 = cntvct();
    let m = mmap(0, BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    let mut synced = Err(0);
    if let Ok(a) = m {
        for k in 0..N {
            let p = (a + 4 * k) as *mut i32;
            // SAFETY: inside the fresh 40 000-byte shared mapping of the file.
            unsafe { p.write_volatile(p.read_volatile() + 1) };
        }
        synced = msync(a, BYTES, MS_SYNC);
        let _ = munmap(a, BYTES);
    }
    let t_mm = cntvct() - t0;
    check("mmap(MAP_SHARED) of the file", m.is_ok());
    check("msync(MS_SYNC)", synced == Ok(0));

    let good = count_equal(fd, 2);
    check("read back: every element is i + 2", good == N);
    println!("same file: {}", if good == N { "yes" } else { "no" });
    println!("ticks read/write: {t_rw}");
    println!("ticks mmap: {t_mm}");
    println!("ticks frequency: {} Hz", cntfrq());
    let _ = close(fd);
    let _ = unlink(c"/tmp/rvm.dat");
    finish()
}
