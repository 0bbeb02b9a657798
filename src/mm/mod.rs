//! Architecture-neutral memory management.
pub mod memtype;
pub mod planner;
