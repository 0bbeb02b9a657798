//! The kernel binary: entry points, panic handler and global allocator.
//! Everything else lives in the library so host tests can link it.
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("armmu is a bare-metal kernel: build it with ./qemu-run.sh");
}
