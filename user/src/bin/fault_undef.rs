//! Execute a permanently undefined instruction (`udf #0`).
//! Expected outcome: the kernel kills the process (SIGSEGV/SIGILL on Linux).
//! It prints one line first; if it survives it prints "UNEXPECTED: survived" and exits 1.
#![no_std]
#![no_main]

use armmu_user::{entry, println};

entry!(main);

#[allow(unused_variables)]
fn main(args: armmu_user::Args) -> i32 {
    println!("fault_undef: executing udf #0, expecting to be killed");
    armmu_user::fault::undef();
    println!("UNEXPECTED: survived");
    1
}
