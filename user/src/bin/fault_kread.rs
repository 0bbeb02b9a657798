//! Read from a kernel address (`ADDR=0x...` overrides armmu_user::KERNEL_ADDR).
//! Expected outcome: the kernel kills the process (SIGSEGV/SIGILL on Linux).
//! It prints one line first; if it survives it prints "UNEXPECTED: survived" and exits 1.
#![no_std]
#![no_main]

use armmu_user::{entry, println};

entry!(main);

#[allow(unused_variables)]
fn main(args: armmu_user::Args) -> i32 {
    let addr = args.env_usize("ADDR").unwrap_or(armmu_user::KERNEL_ADDR);
    println!("fault_kread: reading kernel address {addr:#x}, expecting to be killed");
    let v = armmu_user::fault::read(addr);
    println!("fault_kread: read {v:#x}");
    println!("UNEXPECTED: survived");
    1
}
