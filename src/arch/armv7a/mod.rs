//! ARMv7-A, short-descriptor VMSA.
pub mod desc;
pub mod table;
