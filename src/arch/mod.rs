//! Architecture layers. Encoding logic compiles (and is tested) on every
//! host; only register access and `asm!` are gated on the target arch.
pub mod armv7a;

/// Stop the machine with `code` as the exit status where the platform can
/// report one (QEMU semihosting), else power off.
#[cfg(target_arch = "arm")]
pub fn shutdown(code: u32) -> ! {
    let psci = crate::kernel::try_info().and_then(|i| i.psci);
    armv7a::power::exit(code, psci)
}

/// The virtual counter (CNTVCT), for timing and seeding.
pub fn counter() -> u64 {
    #[cfg(target_arch = "arm")]
    {
        armv7a::cp15::cntvct()
    }
    #[cfg(not(target_arch = "arm"))]
    {
        0
    }
}
