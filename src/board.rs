//! Board selection: the facts of the board this kernel is built for.
#[cfg(feature = "board-qemu-virt")]
#[path = "../boards/qemu-virt/board.rs"]
mod imp;

pub use imp::*;

#[cfg(all(feature = "board-qemu-virt-aarch64", not(feature = "board-qemu-virt")))]
#[path = "../boards/qemu-virt-aarch64/board.rs"]
mod imp;
