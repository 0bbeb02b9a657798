//! Device drivers (MMIO through `tock-registers`).
pub mod pl011;
