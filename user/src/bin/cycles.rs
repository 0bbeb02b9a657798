//! Stress: 10 000 mmap(4 KiB anon)/touch/munmap cycles, then 1 000 cycles of 1 MiB
//! mappings (touching the first and last page). Every step must succeed; a leak in the
//! kernel's page or table accounting shows up as a late ENOMEM.
#![no_std]
#![no_main]

use armmu_user::sys::*;
use armmu_user::{check_detail, entry, finish, mmap_anon, munmap, println, Res, PAGE};

entry!(main);

const RW: u32 = PROT_READ | PROT_WRITE;

/// The first failing step: (cycle, step name, its result).
type Failure = (u32, &'static str, Result<usize, i32>);

/// Runs `n` cycles of map/touch/unmap of `len` bytes; returns (completed, first failure).
fn run(n: u32, len: usize) -> (u32, Option<Failure>) {
    for i in 0..n {
        let a = match mmap_anon(len, RW) {
            Ok(a) => a,
            Err(e) => return (i, Some((i, "mmap", Err(e)))),
        };
        // SAFETY: [a, a+len) is a fresh RW anonymous mapping owned by this loop iteration.
        let ok = unsafe {
            let first = armmu_user::peek32(a) == 0 && armmu_user::peek32(a + len - 4) == 0;
            armmu_user::poke32(a, i);
            armmu_user::poke32(a + len - 4, !i);
            first && armmu_user::peek32(a) == i && armmu_user::peek32(a + len - 4) == !i
        };
        if !ok {
            return (i, Some((i, "touch", Ok(a))));
        }
        if let Err(e) = munmap(a, len) {
            return (i, Some((i, "munmap", Err(e))));
        }
    }
    (n, None)
}

fn report(name: &str, n: u32, (done, fail): (u32, Option<Failure>)) {
    println!("# {name}: {done} of {n} cycles completed");
    match fail {
        None => check_detail(name, done == n, format_args!("")),
        Some((i, what, r)) => {
            check_detail(name, false, format_args!("cycle {i}: {what} {}", Res(r)))
        }
    };
}

fn main(_args: armmu_user::Args) -> i32 {
    const N_SMALL: u32 = 10_000;
    const N_BIG: u32 = 1_000;
    report(
        "10000 x mmap/touch/munmap 4 KiB",
        N_SMALL,
        run(N_SMALL, PAGE),
    );
    report("1000 x mmap/touch/munmap 1 MiB", N_BIG, run(N_BIG, 1 << 20));
    finish()
}
