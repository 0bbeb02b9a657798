//! Device drivers (MMIO through `tock-registers`).
pub mod gic;
pub mod pl011;
pub mod tty;
#[cfg(target_os = "none")]
pub mod tick;
