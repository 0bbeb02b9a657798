//! Read address 0 (the NULL page is never mapped).
//! Expected outcome: the kernel kills the process (SIGSEGV/SIGILL on Linux).
//! It prints one line first; if it survives it prints "UNEXPECTED: survived" and exits 1.
#![no_std]
#![no_main]

use armmu_user::{entry, println};

entry!(main);

#[allow(unused_variables)]
fn main(args: armmu_user::Args) -> i32 {
    println!("fault_null: reading address 0, expecting to be killed");
    let v = armmu_user::fault::read(0);
    println!("fault_null: read {v:#x}");
    println!("UNEXPECTED: survived");
    1
}
