//! Device drivers (MMIO through `tock-registers`).
pub mod gic;
pub mod pl011;
#[cfg(target_os = "none")]
pub mod tick;
pub mod tty;
