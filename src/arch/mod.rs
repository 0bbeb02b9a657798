//! Architecture layers. Encoding logic compiles (and is tested) on every
//! host; only register access and `asm!` are gated on the target arch.
//!
//! Each architecture exposes the same facade, `api`, to the neutral kernel
//! flow (`kernel.rs`); `current` is the one being built.
pub mod aarch64;
pub mod armv7a;

#[cfg(target_arch = "aarch64")]
pub use aarch64 as current;
#[cfg(target_arch = "arm")]
pub use armv7a as current;

/// What an architecture tells the neutral kernel about its kernel mapping.
#[derive(Clone, Copy, Debug)]
pub struct Summary {
    pub image_va: u64,
    pub image_size: u64,
    /// The VA area where device registers are mapped on demand.
    pub io_va: u64,
    pub io_size: u64,
}

/// Stop the machine with `code` as the exit status where the platform can
/// report one (QEMU semihosting), else power off.
#[cfg(target_os = "none")]
pub fn shutdown(code: u32) -> ! {
    let psci = crate::kernel::try_info().and_then(|i| i.psci);
    current::api::exit(code, psci)
}

/// Write `bytes` to the debugger's console (semihosting `SYS_WRITE0`, in
/// NUL-terminated chunks; a NUL in `bytes` is sent as '?'). Without
/// semihosting the trap handlers answer the call with -1: nothing
/// happens. For the panic path before a console is known.
pub fn semihosting_write(bytes: &[u8]) {
    const SYS_WRITE0: usize = 0x04;
    let mut chunk = [0u8; 128];
    for part in bytes.chunks(chunk.len() - 1) {
        for (d, &b) in chunk.iter_mut().zip(part) {
            *d = if b == 0 { b'?' } else { b };
        }
        chunk[part.len()] = 0;
        #[cfg(all(target_os = "none", target_arch = "arm"))]
        // SAFETY: semihosting call reading the NUL-terminated `chunk`;
        // if semihosting is off, the SVC traps into our own handler,
        // which returns -1 (LR_svc is clobbered, declared).
        unsafe {
            core::arch::asm!(
                "svc 0x123456",
                inout("r0") SYS_WRITE0 => _,
                in("r1") chunk.as_ptr(),
                out("lr") _,
                options(nostack)
            );
        }
        #[cfg(all(target_os = "none", target_arch = "aarch64"))]
        // SAFETY: semihosting call reading the NUL-terminated `chunk`;
        // without semihosting the HLT is an undefined instruction, which
        // the trap handler skips.
        unsafe {
            core::arch::asm!(
                "hlt #0xf000",
                inout("x0") SYS_WRITE0 => _,
                in("x1") chunk.as_ptr(),
                options(nostack)
            );
        }
        #[cfg(not(target_os = "none"))]
        let _ = SYS_WRITE0;
    }
}

/// The virtual counter (CNTVCT), for timing and seeding.
pub fn counter() -> u64 {
    #[cfg(target_arch = "arm")]
    {
        // CNTVCT, or the Cortex-A9 global timer (no generic timer there).
        armv7a::timer::now()
    }
    #[cfg(target_arch = "aarch64")]
    {
        use aarch64_cpu::registers::{Readable, CNTVCT_EL0};
        CNTVCT_EL0.get()
    }
    #[cfg(not(any(target_arch = "arm", target_arch = "aarch64")))]
    {
        0
    }
}

/// MPIDR (ARMv7-A) / MPIDR_EL1 (AArch64): this core's affinity (Aff0 in
/// bits [7:0]). 0 on the host.
pub fn mpidr() -> u64 {
    #[cfg(target_arch = "arm")]
    {
        aarch32_cpu::register::Mpidr::read().0 as u64
    }
    #[cfg(target_arch = "aarch64")]
    {
        use aarch64_cpu::registers::{Readable, MPIDR_EL1};
        MPIDR_EL1.get()
    }
    #[cfg(not(any(target_arch = "arm", target_arch = "aarch64")))]
    {
        0
    }
}
