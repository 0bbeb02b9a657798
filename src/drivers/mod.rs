//! Device drivers (MMIO through `tock-registers`).
pub mod gic;
pub mod pl011;
