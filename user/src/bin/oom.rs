//! Run the machine out of memory through lazily backed mappings.
//!
//! Three anonymous RW mappings of 200 MiB each pass Linux's overcommit
//! heuristic one at a time (each is below RAM on a 512 MiB board), but
//! touching all of them needs more frames than exist. Expected outcome
//! (Linux: the OOM killer): the task is killed with SIGKILL (status 137)
//! and the kernel goes on; every frame comes back. If it survives it
//! prints "UNEXPECTED: survived" and exits 1.
#![no_std]
#![no_main]

use armmu_user::{entry, println};

entry!(main);

const MIB: usize = 1 << 20;

fn main(_args: armmu_user::Args) -> i32 {
    use armmu_user::sys::*;
    let mut maps = [0usize; 3];
    for m in maps.iter_mut() {
        match armmu_user::mmap_anon(200 * MIB, PROT_READ | PROT_WRITE) {
            Ok(va) => *m = va,
            Err(e) => {
                println!("oom: mmap(200 MiB) failed: {}", armmu_user::errno::name(e));
                return 1;
            }
        }
    }
    println!("oom: 600 MiB mapped in three mappings; touching every page");
    for &va in &maps {
        let mut off = 0;
        while off < 200 * MIB {
            // SAFETY: inside a fresh RW mapping.
            unsafe { armmu_user::poke(va + off, 1) };
            off += armmu_user::PAGE;
        }
    }
    println!("UNEXPECTED: survived");
    1
}
