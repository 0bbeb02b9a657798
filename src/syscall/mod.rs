pub mod mm_args;
