pub mod abi;
pub mod mm_args;
