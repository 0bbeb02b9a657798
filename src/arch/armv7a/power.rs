//! Leaving the machine: semihosting exit with a status (QEMU under
//! `-semihosting-config enable=on`), else PSCI SYSTEM_OFF, else WFI.

use crate::bootinfo::PsciConduit;

/// ARM semihosting SYS_EXIT_EXTENDED with ADP_Stopped_ApplicationExit.
fn semihosting_exit(code: u32) {
    let block = [0x20026u32, code];
    // SAFETY: semihosting call; if semihosting is off, the SVC traps into
    // our own handler, which returns -1 and we fall through.
    unsafe {
        core::arch::asm!(
            "svc 0x123456",
            inout("r0") 0x20u32 => _,
            in("r1") block.as_ptr(),
            out("lr") _,
            options(nostack)
        );
    }
}

const PSCI_SYSTEM_OFF: u32 = 0x8400_0008;

pub fn exit(code: u32, psci: Option<PsciConduit>) -> ! {
    crate::console::flush();
    semihosting_exit(code);
    // SAFETY: PSCI SYSTEM_OFF does not return when the firmware has it.
    unsafe {
        match psci {
            Some(PsciConduit::Hvc) => {
                core::arch::asm!(".arch_extension virt", "hvc #0", inout("r0") PSCI_SYSTEM_OFF => _, options(nostack))
            }
            Some(PsciConduit::Smc) => {
                core::arch::asm!(".arch_extension sec", "smc #0", inout("r0") PSCI_SYSTEM_OFF => _, options(nostack))
            }
            None => {}
        }
    }
    loop {
        aarch32_cpu::asm::wfi();
    }
}
