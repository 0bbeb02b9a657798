//! ASID width on AArch64: ID_AA64MMFR0_EL1.ASIDBits says whether the CPU
//! has 16-bit ASIDs (0b0010) or only 8 (0b0000) (DDI 0487, ID_AA64MMFR0_EL1), and
//! TCR_EL1.AS selects 16 bits (RES0 on an 8-bit CPU). The boot
//! code (`start.rs`) sets AS where the CPU has 16-bit ASIDs, while no
//! non-global TLB entry exists yet; [`asid_bits`] reports what is in use.

/// Bits for an ID_AA64MMFR0_EL1.ASIDBits value: 0b0010 is 16, anything
/// else (0b0000, reserved values) 8.
pub const fn bits_of_field(asid_bits_field: u64) -> u32 {
    if asid_bits_field == 0b0010 {
        16
    } else {
        8
    }
}

/// What the CPU supports (ID_AA64MMFR0_EL1.ASIDBits).
#[cfg(target_arch = "aarch64")]
pub fn hw_asid_bits() -> u32 {
    use aarch64_cpu::registers::{Readable, ID_AA64MMFR0_EL1};
    bits_of_field(ID_AA64MMFR0_EL1.read(ID_AA64MMFR0_EL1::ASIDBits))
}

/// The ASID width in use: 16 when the CPU has 16-bit ASIDs and TCR_EL1.AS
/// is set, else 8. For `mm::asid::AsidAllocator::new`.
#[cfg(target_arch = "aarch64")]
pub fn asid_bits() -> u32 {
    use aarch64_cpu::registers::{Readable, TCR_EL1};
    if hw_asid_bits() == 16 && TCR_EL1.is_set(TCR_EL1::AS) {
        16
    } else {
        8
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn asid_bits_field() {
        // DDI 0487 ID_AA64MMFR0_EL1.ASIDBits: 0b0000 8 bits, 0b0010 16 bits.
        assert_eq!(super::bits_of_field(0), 8);
        assert_eq!(super::bits_of_field(2), 16);
        assert_eq!(super::bits_of_field(1), 8);
        assert_eq!(super::bits_of_field(0xf), 8);
    }
}
