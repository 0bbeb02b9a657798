//! Architecture layers. Encoding logic compiles (and is tested) on every
//! host; only register access and `asm!` are gated on the target arch.
pub mod armv7a;
