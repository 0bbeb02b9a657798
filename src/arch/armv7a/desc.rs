//! ARMv7-A short-descriptor encoder (TEX remap off, SCTLR.TRE = 0; AFE = 0).
//!
//! Field layouts from ARM ARM B3.5.1 (figures B3-4 and B3-5). The fields
//! are `tock-registers` bitfields so no shift is written twice; the
//! independent decoder in `decode.rs` (written separately from the manual)
//! is what the self-test compares these encodings against.

use crate::mm::memtype::{Access, CachePolicy, MapAttrs, MemoryType};
use tock_registers::fields::FieldValue;
use tock_registers::register_bitfields;

register_bitfields! [u32,
    /// First-level descriptor pointing at a second-level (coarse) table.
    pub L1_TABLE [
        TYPE OFFSET(0) NUMBITS(2) [ PageTable = 0b01 ],
        PXN OFFSET(2) NUMBITS(1) [],
        NS OFFSET(3) NUMBITS(1) [],
        DOMAIN OFFSET(5) NUMBITS(4) [],
        /// Bits [31:10] of the 1 KiB-aligned L2 table's physical address.
        BASE OFFSET(10) NUMBITS(22) []
    ],
    /// First-level 1 MiB section (bit 18 = 0) or 16 MiB supersection (bit 18 = 1).
    pub L1_SECTION [
        PXN OFFSET(0) NUMBITS(1) [],
        TYPE OFFSET(1) NUMBITS(1) [ Section = 1 ],
        B OFFSET(2) NUMBITS(1) [],
        C OFFSET(3) NUMBITS(1) [],
        XN OFFSET(4) NUMBITS(1) [],
        /// Domain for sections; PA[39:36] for supersections.
        DOMAIN OFFSET(5) NUMBITS(4) [],
        AP OFFSET(10) NUMBITS(2) [],
        TEX OFFSET(12) NUMBITS(3) [],
        AP2 OFFSET(15) NUMBITS(1) [],
        S OFFSET(16) NUMBITS(1) [],
        NG OFFSET(17) NUMBITS(1) [],
        SUPER OFFSET(18) NUMBITS(1) [],
        NS OFFSET(19) NUMBITS(1) [],
        /// Supersection PA[35:32].
        SUPER_EXT OFFSET(20) NUMBITS(4) [],
        /// Section base, PA[31:20].
        BASE OFFSET(20) NUMBITS(12) [],
        /// Supersection base, PA[31:24].
        SUPER_BASE OFFSET(24) NUMBITS(8) []
    ],
    /// Second-level 4 KiB small page.
    pub L2_SMALL [
        XN OFFSET(0) NUMBITS(1) [],
        TYPE OFFSET(1) NUMBITS(1) [ Small = 1 ],
        B OFFSET(2) NUMBITS(1) [],
        C OFFSET(3) NUMBITS(1) [],
        AP OFFSET(4) NUMBITS(2) [],
        TEX OFFSET(6) NUMBITS(3) [],
        AP2 OFFSET(9) NUMBITS(1) [],
        S OFFSET(10) NUMBITS(1) [],
        NG OFFSET(11) NUMBITS(1) [],
        BASE OFFSET(12) NUMBITS(20) []
    ],
    /// Second-level 64 KiB large page (replicated in 16 consecutive entries).
    pub L2_LARGE [
        TYPE OFFSET(0) NUMBITS(2) [ Large = 0b01 ],
        B OFFSET(2) NUMBITS(1) [],
        C OFFSET(3) NUMBITS(1) [],
        AP OFFSET(4) NUMBITS(2) [],
        AP2 OFFSET(9) NUMBITS(1) [],
        S OFFSET(10) NUMBITS(1) [],
        NG OFFSET(11) NUMBITS(1) [],
        TEX OFFSET(12) NUMBITS(3) [],
        XN OFFSET(15) NUMBITS(1) [],
        BASE OFFSET(16) NUMBITS(16) []
    ]
];

pub const SECTION_SIZE: u32 = 1 << 20;
pub const SUPERSECTION_SIZE: u32 = 1 << 24;
pub const LARGE_PAGE_SIZE: u32 = 1 << 16;
pub const SMALL_PAGE_SIZE: u32 = 1 << 12;
/// Entries in a full first-level table (16 KiB) and a coarse L2 table (1 KiB).
pub const L1_ENTRIES: usize = 4096;
pub const L2_ENTRIES: usize = 256;
pub const L2_TABLE_SIZE: u32 = 1024;

/// The TEX[2:0], C and B bits of one memory type (ARM ARM table B3-10).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TexCb {
    pub tex: u8,
    pub c: bool,
    pub b: bool,
}

/// Inner/outer policy code used when TEX[2] = 1 (ARM ARM table B3-11).
const fn policy_bits(p: CachePolicy) -> u8 {
    match p {
        CachePolicy::NonCacheable => 0b00,
        CachePolicy::WriteBackWriteAlloc => 0b01,
        CachePolicy::WriteThroughNoWriteAlloc => 0b10,
        CachePolicy::WriteBackNoWriteAlloc => 0b11,
    }
}

impl From<MemoryType> for TexCb {
    fn from(mem: MemoryType) -> Self {
        let (tex, c, b) = match mem {
            MemoryType::StronglyOrdered => (0b000, false, false),
            MemoryType::DeviceShareable => (0b000, false, true),
            MemoryType::NormalWriteThrough => (0b000, true, false),
            MemoryType::NormalWriteBackNoWriteAlloc => (0b000, true, true),
            MemoryType::NormalNonCacheable => (0b001, false, false),
            MemoryType::NormalWriteBackWriteAlloc => (0b001, true, true),
            MemoryType::DeviceNonShareable => (0b010, false, false),
            MemoryType::NormalInnerOuter { inner, outer } => {
                let aa = policy_bits(inner);
                (0b100 | policy_bits(outer), aa & 0b10 != 0, aa & 0b01 != 0)
            }
        };
        TexCb { tex, c, b }
    }
}

/// AP[2] and AP[1:0] of an access permission (ARM ARM table B3-8, AFE = 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApBits {
    pub ap2: bool,
    pub ap10: u8,
}

impl From<Access> for ApBits {
    fn from(a: Access) -> Self {
        let (ap2, ap10) = match a {
            Access::NoAccess => (false, 0b00),
            Access::KernelRw => (false, 0b01),
            Access::KernelRwUserRo => (false, 0b10),
            Access::UserRw => (false, 0b11),
            Access::KernelRo => (true, 0b01),
            Access::UserRo => (true, 0b11),
        };
        ApBits { ap2, ap10 }
    }
}

/// Descriptor encoding errors: a misaligned address can't be expressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodeError {
    Misaligned,
    /// Supersections carry no domain: they always use domain 0.
    DomainNotZero,
}

fn bit<R: tock_registers::RegisterLongName>(
    f: tock_registers::fields::Field<u32, R>,
    on: bool,
) -> FieldValue<u32, R> {
    f.val(on as u32)
}

/// A 1 MiB section mapping `pa`.
pub fn section(pa: u32, attrs: MapAttrs, domain: u8) -> Result<u32, EncodeError> {
    if pa % SECTION_SIZE != 0 {
        return Err(EncodeError::Misaligned);
    }
    let t = TexCb::from(attrs.mem);
    let ap = ApBits::from(attrs.access);
    let v = L1_SECTION::TYPE::Section
        + bit(L1_SECTION::PXN, attrs.privileged_execute_never)
        + bit(L1_SECTION::B, t.b)
        + bit(L1_SECTION::C, t.c)
        + bit(L1_SECTION::XN, attrs.execute_never)
        + L1_SECTION::DOMAIN.val(domain as u32)
        + L1_SECTION::AP.val(ap.ap10 as u32)
        + L1_SECTION::TEX.val(t.tex as u32)
        + bit(L1_SECTION::AP2, ap.ap2)
        + bit(L1_SECTION::S, attrs.shareable)
        + bit(L1_SECTION::NG, attrs.not_global)
        + L1_SECTION::BASE.val(pa >> 20);
    Ok(v.value)
}

/// A 16 MiB supersection mapping the 40-bit `pa` (written to 16 entries).
pub fn supersection(pa: u64, attrs: MapAttrs) -> Result<u32, EncodeError> {
    if pa % SUPERSECTION_SIZE as u64 != 0 || pa >> 40 != 0 {
        return Err(EncodeError::Misaligned);
    }
    let t = TexCb::from(attrs.mem);
    let ap = ApBits::from(attrs.access);
    let v = L1_SECTION::TYPE::Section
        + L1_SECTION::SUPER.val(1)
        + bit(L1_SECTION::PXN, attrs.privileged_execute_never)
        + bit(L1_SECTION::B, t.b)
        + bit(L1_SECTION::C, t.c)
        + bit(L1_SECTION::XN, attrs.execute_never)
        + L1_SECTION::DOMAIN.val(((pa >> 36) & 0xf) as u32)
        + L1_SECTION::AP.val(ap.ap10 as u32)
        + L1_SECTION::TEX.val(t.tex as u32)
        + bit(L1_SECTION::AP2, ap.ap2)
        + bit(L1_SECTION::S, attrs.shareable)
        + bit(L1_SECTION::NG, attrs.not_global)
        + L1_SECTION::SUPER_EXT.val(((pa >> 32) & 0xf) as u32)
        + L1_SECTION::SUPER_BASE.val(((pa >> 24) & 0xff) as u32);
    Ok(v.value)
}

/// A first-level entry pointing at the 1 KiB L2 table at `l2_pa`.
/// `pxn` applies to everything the table maps (ARM ARM B3.5.1).
pub fn page_table(l2_pa: u32, domain: u8, pxn: bool) -> Result<u32, EncodeError> {
    if l2_pa % L2_TABLE_SIZE != 0 {
        return Err(EncodeError::Misaligned);
    }
    let v = L1_TABLE::TYPE::PageTable
        + bit(L1_TABLE::PXN, pxn)
        + L1_TABLE::DOMAIN.val(domain as u32)
        + L1_TABLE::BASE.val(l2_pa >> 10);
    Ok(v.value)
}

/// A 4 KiB small page. Small pages have no PXN bit: privileged execution
/// is controlled by the PXN of the L1 table entry (or XN).
pub fn small_page(pa: u32, attrs: MapAttrs) -> Result<u32, EncodeError> {
    if pa % SMALL_PAGE_SIZE != 0 {
        return Err(EncodeError::Misaligned);
    }
    let t = TexCb::from(attrs.mem);
    let ap = ApBits::from(attrs.access);
    let v = L2_SMALL::TYPE::Small
        + bit(L2_SMALL::XN, attrs.execute_never)
        + bit(L2_SMALL::B, t.b)
        + bit(L2_SMALL::C, t.c)
        + L2_SMALL::AP.val(ap.ap10 as u32)
        + L2_SMALL::TEX.val(t.tex as u32)
        + bit(L2_SMALL::AP2, ap.ap2)
        + bit(L2_SMALL::S, attrs.shareable)
        + bit(L2_SMALL::NG, attrs.not_global)
        + L2_SMALL::BASE.val(pa >> 12);
    Ok(v.value)
}

/// A 64 KiB large page (the same value goes into 16 consecutive entries).
pub fn large_page(pa: u32, attrs: MapAttrs) -> Result<u32, EncodeError> {
    if pa % LARGE_PAGE_SIZE != 0 {
        return Err(EncodeError::Misaligned);
    }
    let t = TexCb::from(attrs.mem);
    let ap = ApBits::from(attrs.access);
    let v = L2_LARGE::TYPE::Large
        + bit(L2_LARGE::B, t.b)
        + bit(L2_LARGE::C, t.c)
        + L2_LARGE::AP.val(ap.ap10 as u32)
        + bit(L2_LARGE::AP2, ap.ap2)
        + bit(L2_LARGE::S, attrs.shareable)
        + bit(L2_LARGE::NG, attrs.not_global)
        + L2_LARGE::TEX.val(t.tex as u32)
        + bit(L2_LARGE::XN, attrs.execute_never)
        + L2_LARGE::BASE.val(pa >> 16);
    Ok(v.value)
}

/// The kind of a raw first-level entry, as far as the table code needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum L1Kind {
    Fault,
    PageTable { l2_pa: u32 },
    Section,
    Supersection,
}

pub fn l1_kind(raw: u32) -> L1Kind {
    match raw & 0b11 {
        0b00 => L1Kind::Fault,
        0b01 => L1Kind::PageTable {
            l2_pa: raw & !(L2_TABLE_SIZE - 1),
        },
        _ if raw & (1 << 18) != 0 => L1Kind::Supersection,
        _ => L1Kind::Section,
    }
}

/// Re-encode an existing small page as its own L2 entries when a section is
/// split: same PA, same attributes. Returns the small-page descriptor for
/// the 4 KiB at `offset` inside the section `raw` (must be a section).
pub fn section_to_small(raw: u32, offset: u32) -> u32 {
    let s = tock_registers::LocalRegisterCopy::<u32, L1_SECTION::Register>::new(raw);
    let pa = (s.read(L1_SECTION::BASE) << 20) + offset;
    let v = L2_SMALL::TYPE::Small
        + L2_SMALL::XN.val(s.read(L1_SECTION::XN))
        + L2_SMALL::B.val(s.read(L1_SECTION::B))
        + L2_SMALL::C.val(s.read(L1_SECTION::C))
        + L2_SMALL::AP.val(s.read(L1_SECTION::AP))
        + L2_SMALL::TEX.val(s.read(L1_SECTION::TEX))
        + L2_SMALL::AP2.val(s.read(L1_SECTION::AP2))
        + L2_SMALL::S.val(s.read(L1_SECTION::S))
        + L2_SMALL::NG.val(s.read(L1_SECTION::NG))
        + L2_SMALL::BASE.val(pa >> 12);
    v.value
}

/// The small page at `offset` inside the large page `large`, with its
/// attributes (ARM ARM B3.5.1: large and small pages differ in TEX and XN
/// position).
pub fn large_to_small(large: u32, offset: u32) -> u32 {
    let pa = (large & !(LARGE_PAGE_SIZE - 1)) + offset;
    let xn = (large >> 15) & 1;
    let tex = (large >> 12) & 0b111;
    // B, C, AP[1:0], AP[2], S, nG keep their positions (bits 2..5, 9..11).
    let common = large & 0b1110_0011_1100;
    pa | common | (tex << 6) | 0b10 | xn
}

/// The section at `offset` inside the supersection `raw`, with the same
/// attributes, in `domain`. A supersection's attribute bits [4:0], [17:9]
/// and NS (bit 19) sit where a section's do; bits [8:5] (PA[39:36])
/// become the domain and bit 18 is cleared.
pub fn supersection_to_section(raw: u32, offset: u32, domain: u8) -> u32 {
    ((raw & !(SUPERSECTION_SIZE - 1)) + offset) | (raw & 0x000B_FE1F) | ((domain as u32) << 5)
}

/// Physical base of a small page or section entry (for unmap bookkeeping).
pub fn small_page_pa(raw: u32) -> u32 {
    raw & !(SMALL_PAGE_SIZE - 1)
}

pub fn section_pa(raw: u32) -> u32 {
    raw & !(SECTION_SIZE - 1)
}

#[cfg(test)]
mod tests;
