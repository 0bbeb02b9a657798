//! ASID width on ARMv7-A: the short-descriptor format's CONTEXTIDR.ASID is
//! 8 bits (ARM ARM DDI 0406C B4.1.36), 255 usable with 0 kept for the
//! kernel (`mm::asid::AsidAllocator::new(asid_bits())`).

pub const fn asid_bits() -> u32 {
    8
}
