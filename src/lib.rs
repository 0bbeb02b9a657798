//! armmu: a `no_std` ARM kernel that owns the MMU.
//!
//! The library holds everything that is not an entry point: the
//! architecture-neutral core (`mm`, `loader`, `syscall`, `errno`), the
//! architecture layer (`arch`) and the board facts (`board`). Host
//! `cargo test` builds it for x86 with `std`, so all pure logic is unit
//! tested there; only thin register/asm layers are gated on the target.
#![cfg_attr(not(test), no_std)]
#![deny(clippy::undocumented_unsafe_blocks)]
// `x % n == 0` reads as the ARM ARM writes alignment rules.
#![allow(clippy::manual_is_multiple_of)]
#![allow(clippy::new_without_default)]

extern crate alloc;

pub mod arch;
pub mod board;
pub mod bootinfo;
pub mod console;
pub mod drivers;
pub mod dtb;
pub mod errno;
pub mod fs;
#[cfg(test)]
mod fuzz_boot_inputs;
pub mod kernel;
pub mod loader;
pub mod mm;
pub mod syscall;
pub mod task;
pub mod testfault;
