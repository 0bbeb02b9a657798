//! A large, page-fragmented anonymous mapping is unmapped, and torn down at exit.
//!
//! Map 400 MiB anonymous RW; make the first page of every MiB read-only (so faults in that
//! MiB take 4 KiB pages, not 1 MiB sections or 2 MiB blocks); write 100 000 pages; make the
//! whole range RW again (one VMA); munmap it: 0. Then the same again, but the program exits
//! with the mapping alive, so the kernel tears it down at exit. All of it is Linux
//! behaviour (on a 512 MiB board: 400 MiB is below Linux's overcommit heuristic).
//! `MIBS=<n>` changes the size (default 400), `TOUCH=<n>` the number of pages written.
#![no_std]
#![no_main]

use armmu_user::sys::*;
use armmu_user::{
    check, check_detail, entry, expect_ok, finish, mmap, mprotect, munmap, println, PAGE,
};

entry!(main);

const MIB: usize = 1 << 20;
const RW: u32 = PROT_READ | PROT_WRITE;

fn main(args: armmu_user::Args) -> i32 {
    let mibs = args.env_usize("MIBS").unwrap_or(400);
    let touch = args.env_usize("TOUCH").unwrap_or(100_000);
    println!("# big_munmap: {mibs} MiB, {touch} pages written");
    if let Some(a) = fragmented(mibs, touch, 1) {
        expect_ok("munmap of the whole range -> 0", munmap(a, mibs * MIB));
        // The range is gone: a fresh MAP_FIXED_NOREPLACE there succeeds.
        let r = mmap(
            a,
            PAGE,
            RW,
            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
            -1,
            0,
        );
        check_detail(
            "the range is free again (MAP_FIXED_NOREPLACE at its start)",
            r == Ok(a),
            format_args!("got {}", armmu_user::Res(r)),
        );
        if r.is_ok() {
            expect_ok("munmap the probe page", munmap(a, PAGE));
        }
    }
    // Again, and leave it mapped: exit_group tears it down.
    if fragmented(mibs, touch, 2).is_some() {
        println!("# exiting with the second mapping alive");
    }
    finish()
}

/// The fragmented mapping, written and made RW again; its address.
fn fragmented(mibs: usize, touch: usize, round: u32) -> Option<usize> {
    let len = mibs * MIB;
    let a = expect_ok(
        if round == 1 {
            "mmap 400 MiB anonymous RW"
        } else {
            "mmap 400 MiB anonymous RW again"
        },
        mmap(0, len, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
    )?;
    let mut bad = 0;
    for m in 0..mibs {
        if mprotect(a + m * MIB, PAGE, PROT_READ).is_err() {
            bad += 1;
        }
    }
    check_detail(
        "mprotect the first page of every MiB read-only",
        bad == 0,
        format_args!("{bad} of {mibs} failed"),
    );
    // Write the pages (word 0 = page index ^ round), skipping the read-only first pages.
    let pages = len / PAGE;
    let mut written = 0;
    let mut p = 0;
    while written < touch && p < pages {
        if p % (MIB / PAGE) != 0 {
            // SAFETY: page p of our RW mapping (not a read-only first page of a MiB).
            unsafe { armmu_user::poke32(a + p * PAGE, p as u32 ^ round) };
            written += 1;
        }
        p += 1;
    }
    check_detail(
        "all pages written",
        written == touch,
        format_args!("{written} of {touch}: the mapping is too small"),
    );
    expect_ok("mprotect the whole range back to RW", mprotect(a, len, RW));
    // The data survived the protection changes; the formerly read-only pages are writable.
    let mut wrong = 0;
    let mut q = 1;
    while q < p {
        if q % (MIB / PAGE) != 0 {
            // SAFETY: a page written above, RW now.
            if unsafe { armmu_user::peek32(a + q * PAGE) } != q as u32 ^ round {
                wrong += 1;
            }
        }
        q += 997;
    }
    check_detail(
        "written pages keep their data",
        wrong == 0,
        format_args!("{wrong} pages differ"),
    );
    // SAFETY: the first page of the first and last MiB: RW again, zero until now.
    unsafe {
        armmu_user::poke32(a, 7);
        armmu_user::poke32(a + len - MIB, 7);
        check(
            "formerly read-only pages are writable",
            armmu_user::peek32(a) == 7,
        );
    }
    Some(a)
}
