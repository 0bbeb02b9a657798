//! Architecture-neutral memory management.
pub mod audit;
pub mod fault;
pub mod frame;
pub mod heap;
pub mod inject;
pub mod kmem;
pub mod layout;
pub mod memtype;
pub mod pagetable;
pub mod planner;
pub mod space;
pub mod tlb;
pub mod vma;
