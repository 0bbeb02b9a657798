//! Architecture-neutral memory management.
pub mod memtype;
