//! Write to a PROT_READ anonymous mapping.
//! Expected outcome: the kernel kills the process (SIGSEGV/SIGILL on Linux).
//! It prints one line first; if it survives it prints "UNEXPECTED: survived" and exits 1.
#![no_std]
#![no_main]

use armmu_user::{entry, println};

entry!(main);

#[allow(unused_variables)]
fn main(args: armmu_user::Args) -> i32 {
    use armmu_user::sys::*;
    let va = match armmu_user::mmap_anon(armmu_user::PAGE, PROT_READ) {
        Ok(va) => va,
        Err(e) => {
            println!(
                "fault_rowrite: mmap(PROT_READ) failed: {}={e}",
                armmu_user::errno::name(e)
            );
            return 1;
        }
    };
    // SAFETY: `va` is a readable mapping.
    let before = unsafe { armmu_user::peek32(va) };
    println!("fault_rowrite: read {before:#x} from the PROT_READ page at {va:#x}; writing it, expecting to be killed");
    armmu_user::fault::write(va, 0x1234_5678);
    println!("UNEXPECTED: survived");
    1
}
