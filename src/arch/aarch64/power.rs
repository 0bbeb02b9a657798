//! Leaving the machine: semihosting exit with a status (QEMU under
//! `-semihosting-config enable=on`), else PSCI SYSTEM_OFF, else WFE.

use crate::bootinfo::PsciConduit;

/// `hlt #0xf000`, the A64 semihosting trap.
pub const SEMIHOSTING_HLT: u32 = 0xD45E_0000;

fn semihosting_exit(code: u32) {
    // A64 semihosting: SYS_EXIT_EXTENDED takes a block of two 64-bit words.
    let block = [0x20026u64, code as u64];
    // SAFETY: semihosting call; without semihosting the HLT is an undefined
    // instruction, which the trap handler skips.
    unsafe {
        core::arch::asm!("hlt #0xf000", inout("x0") 0x20u64 => _, in("x1") block.as_ptr(), options(nostack));
    }
}

const PSCI_SYSTEM_OFF: u64 = 0x8400_0008;

pub fn exit(code: u32, psci: Option<PsciConduit>) -> ! {
    crate::console::flush();
    semihosting_exit(code);
    // SAFETY: PSCI SYSTEM_OFF does not return where the firmware has it.
    unsafe {
        match psci {
            Some(PsciConduit::Hvc) => {
                core::arch::asm!("hvc #0", inout("x0") PSCI_SYSTEM_OFF => _, options(nostack))
            }
            Some(PsciConduit::Smc) => {
                core::arch::asm!("smc #0", inout("x0") PSCI_SYSTEM_OFF => _, options(nostack))
            }
            None => {}
        }
    }
    loop {
        aarch64_cpu::asm::wfe();
    }
}
