//! Splitting mappings: munmap / mprotect of parts of a mapping, holes, ranges spanning
//! several mappings. All of it is Linux behaviour (validated under qemu-arm / qemu-aarch64).
#![no_std]
#![no_main]

use armmu_user::errno::*;
use armmu_user::sys::*;
use armmu_user::{
    check, entry, expect_err, expect_ok, fill, finish, mmap, mprotect, munmap, verify, PAGE,
};

entry!(main);

const RW: u32 = PROT_READ | PROT_WRITE;

fn main(_args: armmu_user::Args) -> i32 {
    hole_in_the_middle();
    mprotect_middle();
    munmap_spanning();
    finish()
}

/// munmap the middle page of three; outer pages keep their data; mprotect sees the hole.
fn hole_in_the_middle() {
    let Some(a) = expect_ok("mmap 3 pages", armmu_user::mmap_anon(3 * PAGE, RW)) else {
        return;
    };
    // SAFETY: [a, a+3 pages) is our RW mapping.
    unsafe {
        fill(a, PAGE, 1);
        fill(a + PAGE, PAGE, 2);
        fill(a + 2 * PAGE, PAGE, 3);
    }
    expect_ok("munmap the middle page", munmap(a + PAGE, PAGE));
    // SAFETY: the first and last pages are still mapped RW.
    unsafe {
        check("first page keeps its data", verify(a, PAGE, 1).is_ok());
        check(
            "last page keeps its data",
            verify(a + 2 * PAGE, PAGE, 3).is_ok(),
        );
    }
    expect_err(
        "mprotect over the hole -> ENOMEM",
        mprotect(a, 3 * PAGE, RW),
        ENOMEM,
    );
    expect_err(
        "mprotect of the hole alone -> ENOMEM",
        mprotect(a + PAGE, PAGE, RW),
        ENOMEM,
    );
    expect_ok("mprotect first page", mprotect(a, PAGE, RW));
    expect_ok("mprotect last page", mprotect(a + 2 * PAGE, PAGE, RW));
    expect_ok(
        "munmap of an already unmapped range -> 0",
        munmap(a + PAGE, PAGE),
    );
    // SAFETY: still mapped RW after the mprotects.
    unsafe {
        check(
            "first page still keeps its data",
            verify(a, PAGE, 1).is_ok(),
        );
        check(
            "last page still keeps its data",
            verify(a + 2 * PAGE, PAGE, 3).is_ok(),
        );
    }
    expect_ok(
        "munmap the whole range (with its hole)",
        munmap(a, 3 * PAGE),
    );
    expect_err(
        "range is gone afterwards (mprotect -> ENOMEM)",
        mprotect(a, 3 * PAGE, PROT_READ),
        ENOMEM,
    );
}

/// mprotect the middle of a RW mapping to PROT_READ and back: data is kept.
fn mprotect_middle() {
    let len = 5 * PAGE;
    let Some(a) = expect_ok("mmap 5 pages", armmu_user::mmap_anon(len, RW)) else {
        return;
    };
    // SAFETY: our RW mapping.
    unsafe { fill(a, len, 0x77) };
    expect_ok(
        "mprotect middle 3 pages PROT_READ",
        mprotect(a + PAGE, 3 * PAGE, PROT_READ),
    );
    // SAFETY: every page is still readable.
    unsafe {
        check(
            "data readable while read-only",
            verify(a, len, 0x77).is_ok(),
        )
    };
    expect_ok(
        "mprotect middle page back to RW",
        mprotect(a + 2 * PAGE, PAGE, RW),
    );
    expect_ok("mprotect the rest back to RW", mprotect(a, len, RW));
    // SAFETY: all RW again.
    unsafe {
        check(
            "data kept after RO/RW round trip",
            verify(a, len, 0x77).is_ok(),
        );
        fill(a, len, 0x88);
        check(
            "writable again after round trip",
            verify(a, len, 0x88).is_ok(),
        );
    }
    expect_ok("munmap 5 pages", munmap(a, len));
}

/// munmap over [part of mapping A][hole][all of mapping B] in one call.
fn munmap_spanning() {
    let len = 5 * PAGE;
    // Reserve 5 pages, then build A = pages 0-1 (RW), hole = page 2, B = pages 3-4 (R).
    let Some(a) = expect_ok(
        "reserve 5 pages",
        mmap(0, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
    ) else {
        return;
    };
    let fixed = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
    let ra = mmap(a, 2 * PAGE, RW, fixed, -1, 0);
    check("mapping A (pages 0-1, RW)", ra == Ok(a));
    let rb = mmap(
        a + 3 * PAGE,
        2 * PAGE,
        PROT_READ,
        MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED,
        -1,
        0,
    );
    check("mapping B (pages 3-4, R, shared)", rb == Ok(a + 3 * PAGE));
    expect_ok("hole at page 2", munmap(a + 2 * PAGE, PAGE));
    if ra.is_err() || rb.is_err() {
        return;
    }
    // SAFETY: pages 0-1 are RW.
    unsafe { fill(a, 2 * PAGE, 0x99) };
    expect_ok(
        "munmap pages 1-4 (A's tail, hole, all of B)",
        munmap(a + PAGE, 4 * PAGE),
    );
    // SAFETY: page 0 is still mapped RW.
    unsafe { check("page 0 keeps its data", verify(a, PAGE, 0x99).is_ok()) };
    expect_err(
        "pages 1-4 are unmapped (mprotect -> ENOMEM)",
        mprotect(a + PAGE, PAGE, RW),
        ENOMEM,
    );
    expect_err(
        "B is unmapped (mprotect -> ENOMEM)",
        mprotect(a + 4 * PAGE, PAGE, PROT_READ),
        ENOMEM,
    );
    expect_ok("munmap page 0", munmap(a, PAGE));
}
