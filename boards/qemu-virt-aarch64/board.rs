//! QEMU `virt` (hw/arm/virt.c), AArch64: the same machine memory map as the
//! 32-bit board, so the facts are shared.
include!("../qemu-virt/board.rs");
