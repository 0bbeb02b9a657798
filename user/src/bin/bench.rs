//! Deterministic micro-benchmarks in CNTVCT ticks per operation (fixed iteration counts,
//! same operations every run). Output: `bench <name>: <ticks> ticks/op`.
//!
//! `BENCH_ONLY=<name>` runs only the benchmark `<name>`, and brackets
//! its timed loop with `yield` hints (a no-op) that `user/scripts/profile.py` uses to count,
//! per kernel function, the instructions executed inside it.
//!
//! `BENCH_CLOCK=monotonic` times with clock_gettime(CLOCK_MONOTONIC) instead and prints
//! `ns/op`: qemu-arm (user mode) does not implement the AArch32 CP15 counter registers, so
//! CNTVCT raises SIGILL there (real Linux on ARMv7 lets PL0 read CNTVCT).
#![no_std]
#![no_main]

use armmu_user::sys::*;
use core::sync::atomic::{AtomicBool, Ordering};

use armmu_user::{entry, finish, mmap_anon, mprotect, munmap, println, PAGE};

entry!(main);

const RW: u32 = PROT_READ | PROT_WRITE;
const N: u64 = 1000;
const N_1M: u64 = 20;

static MONOTONIC: AtomicBool = AtomicBool::new(false);

/// The `BENCH_ONLY` name (empty: every benchmark).
static mut ONLY: &[u8] = b"";

/// Whether benchmark `name` runs.
fn selected(name: &str) -> bool {
    // SAFETY: written once in `main` before any benchmark runs; one thread.
    let only = unsafe { ONLY };
    only.is_empty() || name.as_bytes() == only
}

/// A marker for the profiler around a timed loop: `yield`, a hint that
/// does nothing on one CPU and that neither the kernel's nor this
/// program's compiled code otherwise contains at user addresses.
#[inline(always)]
fn mark() {
    // SAFETY: a hint instruction; no memory, registers or flags change.
    unsafe { core::arch::asm!("yield", options(nomem, nostack, preserves_flags)) };
}

/// The time source: CNTVCT ticks, or nanoseconds with BENCH_CLOCK=monotonic.
fn now() -> u64 {
    if MONOTONIC.load(Ordering::Relaxed) {
        armmu_user::clock_gettime_ns(CLOCK_MONOTONIC).unwrap_or(0)
    } else {
        armmu_user::cntvct()
    }
}

fn report(name: &str, ticks: u64, ops: u64) {
    let unit = if MONOTONIC.load(Ordering::Relaxed) {
        "ns"
    } else {
        "ticks"
    };
    // The operation count closes the line: profile.py divides by it.
    println!("bench {name}: {} {unit}/op ({ops} ops)", ticks / ops.max(1));
}

/// Times `ops` operations done by `body` between two profiler marks, and
/// reports them; `false` if `body` saw a failure.
fn timed(name: &str, ops: u64, body: impl FnOnce() -> bool) -> bool {
    if !selected(name) {
        return true;
    }
    mark();
    let t0 = now();
    let ok = body();
    let t = now() - t0;
    mark();
    report(name, t, ops);
    ok
}

fn main(args: armmu_user::Args) -> i32 {
    if let Some(only) = args.env("BENCH_ONLY") {
        // SAFETY: single-threaded; nothing reads ONLY yet.
        unsafe { ONLY = only };
    }
    if args.env("BENCH_CLOCK") == Some(b"monotonic") {
        MONOTONIC.store(true, Ordering::Relaxed);
        println!("# clock CLOCK_MONOTONIC (ns), N = {N}");
    } else {
        println!(
            "# clock CNTVCT, cntfrq {} Hz, N = {N}",
            armmu_user::cntfrq()
        );
    }
    let mut ok = true;

    // mmap + munmap of 4 KiB anonymous memory, never touched.
    ok &= timed("mmap_munmap_4k", N, mmap_munmap_loop);

    // mmap + first touch (page fault + zeroed page) + munmap.
    ok &= timed("mmap_touch_munmap_4k", N, || {
        let mut ok = true;
        for i in 0..N {
            match mmap_anon(PAGE, RW) {
                Ok(a) => {
                    // SAFETY: `a` is a fresh RW page.
                    unsafe { armmu_user::poke32(a, i as u32) };
                    ok &= munmap(a, PAGE).is_ok();
                }
                Err(_) => ok = false,
            }
        }
        ok
    });

    // mprotect toggling one page RO <-> RW (ticks per mprotect call).
    if selected("mprotect_4k_toggle") {
        match mmap_anon(PAGE, RW) {
            Ok(a) => {
                // SAFETY: `a` is a RW page; populate it so the toggles change a live PTE.
                unsafe { armmu_user::poke32(a, 1) };
                ok &= timed("mprotect_4k_toggle", 2 * N, || {
                    let mut ok = true;
                    for _ in 0..N {
                        ok &= mprotect(a, PAGE, PROT_READ).is_ok();
                        ok &= mprotect(a, PAGE, RW).is_ok();
                    }
                    ok
                });
                ok &= munmap(a, PAGE).is_ok();
            }
            Err(_) => ok = false,
        }
    }

    // mmap 1 MiB + touch all 256 pages + munmap.
    ok &= timed("mmap_touch256_munmap_1m", N_1M, || {
        let len = 1 << 20;
        let mut ok = true;
        for _ in 0..N_1M {
            match mmap_anon(len, RW) {
                Ok(a) => {
                    let mut off = 0;
                    while off < len {
                        // SAFETY: inside the fresh 1 MiB RW mapping.
                        unsafe { armmu_user::poke32(a + off, off as u32) };
                        off += PAGE;
                    }
                    ok &= munmap(a, len).is_ok();
                }
                Err(_) => ok = false,
            }
        }
        ok
    });

    // The cheapest syscall: round trip into the kernel.
    ok &= timed("getpid", N, || {
        let mut pid = 0;
        for _ in 0..N {
            pid ^= armmu_user::getpid();
        }
        core::hint::black_box(pid);
        true
    });

    ok &= bench_fork();
    ok &= bench_cow();
    ok &= bench_vma_counts();

    armmu_user::check("every benchmarked syscall succeeded", ok);
    finish()
}

/// `N` times mmap + munmap of one untouched 4 KiB anonymous page.
fn mmap_munmap_loop() -> bool {
    let mut ok = true;
    for _ in 0..N {
        match mmap_anon(PAGE, RW) {
            Ok(a) => ok &= munmap(a, PAGE).is_ok(),
            Err(_) => ok = false,
        }
    }
    ok
}

const N_FORK: u64 = 200;

/// fork + the child's immediate exit + wait4 in the parent.
fn bench_fork() -> bool {
    timed("fork_exit_wait4", N_FORK, || {
        let mut ok = true;
        for _ in 0..N_FORK {
            match armmu_user::fork() {
                Ok(0) => armmu_user::exit(0),
                Ok(pid) => {
                    let mut status = 0;
                    ok &= armmu_user::wait4(pid as isize, &mut status, 0) == Ok(pid) && status == 0;
                }
                Err(_) => ok = false,
            }
        }
        ok
    })
}

const COW_PAGES: usize = 64;

/// Copy-on-write: the parent fills 64 pages and forks; the child writes
/// one word in each (every write a COW fault: the frame is shared with the
/// parent, which still maps it) and reports the ticks per fault itself.
fn bench_cow() -> bool {
    if !selected("cow_fault_4k") {
        return true;
    }
    let len = COW_PAGES * PAGE;
    let Ok(a) = mmap_anon(len, RW) else {
        return false;
    };
    for p in 0..COW_PAGES {
        // SAFETY: inside the fresh RW mapping.
        unsafe { armmu_user::poke32(a + p * PAGE, p as u32) };
    }
    let ok = match armmu_user::fork() {
        Ok(0) => {
            timed("cow_fault_4k", COW_PAGES as u64, || {
                for p in 0..COW_PAGES {
                    // SAFETY: inside the inherited RW mapping.
                    unsafe { armmu_user::poke32(a + p * PAGE + 8, 1) };
                }
                true
            });
            armmu_user::exit(0)
        }
        Ok(pid) => {
            let mut status = 0;
            armmu_user::wait4(pid as isize, &mut status, 0) == Ok(pid) && status == 0
        }
        Err(_) => false,
    };
    ok & munmap(a, len).is_ok()
}

/// mmap + munmap of 4 KiB with about `n` VMAs present: one PROT_READ
/// region of 2n pages, every other page made PROT_NONE (n - 1 VMAs made
/// by the splits), never touched.
fn bench_vma_counts() -> bool {
    let mut ok = true;
    for (n, name) in [
        (2000usize, "mmap_munmap_4k_2000_vmas"),
        (60000, "mmap_munmap_4k_60000_vmas"),
    ] {
        if !selected(name) {
            continue;
        }
        let len = n * PAGE;
        let Ok(r) = armmu_user::mmap(0, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) else {
            return false;
        };
        // Pages 1, 3, 5, ... PROT_NONE: n - 1 VMAs in the region.
        for i in 0..n / 2 {
            ok &= mprotect(r + (2 * i + 1) * PAGE, PAGE, PROT_NONE).is_ok();
        }
        ok &= timed(name, N, mmap_munmap_loop);
        ok &= munmap(r, len).is_ok();
    }
    ok
}
