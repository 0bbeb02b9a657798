//! VMSAv8-64 stage-1 descriptor encoder, 4 KiB granule (EL1&0 regime).
//!
//! Layouts from the ARM ARM (DDI 0487) D8.3 "Translation table descriptor
//! formats" and D8.4/D8.5 (permissions, memory attributes). The fields are
//! `tock-registers` bitfields so no shift is written twice; the tests below
//! spell every expected value out with explicit shifts instead.
//!
//! # Memory types: MAIR_EL1 plan
//!
//! A descriptor names its memory type by AttrIndx (bits [4:2]), an index
//! into the eight attribute bytes of MAIR_EL1 (D17.2.97). The kernel keeps
//! slots 0-6 fixed and uses slot 7 as a *custom* slot:
//!
//! | index | MAIR byte | meaning | `MemoryType` |
//! |---|---|---|---|
//! | 0 | `0x00` | Device-nGnRnE | `StronglyOrdered` |
//! | 1 | `0x04` | Device-nGnRE | `DeviceShareable`, `DeviceNonShareable` |
//! | 2 | `0x44` | Normal, inner+outer Non-cacheable | `NormalNonCacheable` |
//! | 3 | `0xAA` | Normal, inner+outer WT non-transient, RA, no WA | `NormalWriteThrough` |
//! | 4 | `0xEE` | Normal, inner+outer WB non-transient, RA, no WA | `NormalWriteBackNoWriteAlloc` |
//! | 5 | `0xFF` | Normal, inner+outer WB non-transient, RA + WA | `NormalWriteBackWriteAlloc` |
//! | 6 | `0x0C` | Device-GRE (write-combining device) | none ([`DEVICE_GRE`]) |
//! | 7 | custom | `NormalInnerOuter` pairs that match none of the above | |
//!
//! `NormalInnerOuter { inner, outer }` with `inner == outer` uses the fixed
//! slot of that policy. Every other pair needs slot 7 to hold
//! [`mair_byte`]`(inner, outer)`; [`attr_index`] says which byte. Only one
//! custom pair can be live at a time: the kernel reprograms slot 7 (MAIR
//! write, ISB, TLB invalidate, because TLBs may cache attributes derived
//! from MAIR) and must not keep mappings of a different custom pair alive
//! across the change. [`MAIR_VALUE_BASE`] holds 0xFF (= slot 5) in slot 7.
//!
//! AArch64 has no non-shareable Device memory: Device accesses are always
//! treated as Outer Shareable (D8.5.2), so `DeviceNonShareable` maps to the
//! same Device-nGnRE slot as `DeviceShareable`.
//!
//! # Shareability
//!
//! Normal memory with `shareable` gets SH = 0b11 (Inner Shareable), as
//! Linux arm64 does for every normal mapping (`PTE_SHARED`); without it
//! SH = 0b00 (Non-shareable). SH is ignored for Device memory and written
//! as 0b00. (Normal Non-cacheable is treated as Outer Shareable by the CPU
//! whatever SH says.)
//!
//! # Permissions and execute-never
//!
//! AP[2:1] (bits [7:6], D8.4.1): `KernelRw` 00, `UserRw` 01, `KernelRo` 10,
//! `UserRo` 11. `NoAccess` has no encoding of its own: it is AP = 00 with
//! PXN and UXN, so EL0 cannot touch it and nothing executes from it, but
//! EL1 *can* still read and write it; the kernel only touches user memory
//! through VMA-checked paths, so no kernel code reaches such a page by
//! accident. `KernelRwUserRo` (EL1 RW, EL0 RO) does not exist in AArch64
//! and is refused with [`EncodeError::Unsupported`].
//!
//! XN rule, with `user` = the access is EL0-accessible (`UserRw`, `UserRo`):
//!
//! - UXN (bit 54) = `execute_never || !user`. EL0 execute permission does
//!   not depend on AP, so a kernel-only mapping left without UXN would be
//!   executable by EL0 (Linux keeps `PTE_UXN` in `PAGE_KERNEL_EXEC`).
//! - PXN (bit 53) = `execute_never || privileged_execute_never`. For a user
//!   mapping the kernel sets `privileged_execute_never` and `execute_never =
//!   !exec`; for a kernel mapping `execute_never` means nobody executes it.
//!
//! AF (bit 10) is always set, so there are no access-flag faults; nG (bit
//! 11) is `not_global`; NS (bit 5) is 0.

use crate::mm::memtype::{Access, CachePolicy, MapAttrs, MemoryType};
use tock_registers::fields::{Field, FieldValue};
use tock_registers::{register_bitfields, LocalRegisterCopy, RegisterLongName};

register_bitfields! [u64,
    /// Table descriptor at L0-L2 (D8.3.1): points at the next-level table.
    pub TABLE [
        /// 0b11 = table at L0-L2 (0bx0 invalid).
        TYPE OFFSET(0) NUMBITS(2) [ Table = 0b11 ],
        /// Next-level table address, PA[47:12].
        NEXT OFFSET(12) NUMBITS(36) [],
        /// Hierarchical PXN for everything below.
        PXN_TABLE OFFSET(59) NUMBITS(1) [],
        /// Hierarchical UXN (XNTable) for everything below.
        UXN_TABLE OFFSET(60) NUMBITS(1) [],
        /// Hierarchical AP limit for everything below.
        AP_TABLE OFFSET(61) NUMBITS(2) [],
        NS_TABLE OFFSET(63) NUMBITS(1) []
    ],
    /// Block (L1: 1 GiB, L2: 2 MiB) or page (L3: 4 KiB) descriptor (D8.3.2).
    pub BLOCK_PAGE [
        /// 0b01 block at L1/L2, 0b11 page at L3.
        TYPE OFFSET(0) NUMBITS(2) [ Block = 0b01, Page = 0b11 ],
        /// Index into MAIR_EL1.
        ATTR_INDX OFFSET(2) NUMBITS(3) [],
        NS OFFSET(5) NUMBITS(1) [],
        /// AP[2:1]: 00 EL1 RW, 01 EL1+EL0 RW, 10 EL1 RO, 11 EL1+EL0 RO.
        AP OFFSET(6) NUMBITS(2) [],
        /// 00 Non-shareable, 10 Outer, 11 Inner Shareable.
        SH OFFSET(8) NUMBITS(2) [],
        AF OFFSET(10) NUMBITS(1) [],
        NG OFFSET(11) NUMBITS(1) [],
        /// Output address of a page, PA[47:12].
        OA_PAGE OFFSET(12) NUMBITS(36) [],
        /// Output address of an L2 block, PA[47:21].
        OA_L2 OFFSET(21) NUMBITS(27) [],
        /// Output address of an L1 block, PA[47:30].
        OA_L1 OFFSET(30) NUMBITS(18) [],
        DBM OFFSET(51) NUMBITS(1) [],
        CONTIGUOUS OFFSET(52) NUMBITS(1) [],
        PXN OFFSET(53) NUMBITS(1) [],
        UXN OFFSET(54) NUMBITS(1) [],
        /// Reserved for software use, bits [58:55].
        SW OFFSET(55) NUMBITS(4) []
    ]
];

pub const PAGE_SIZE: u64 = 1 << 12;
pub const L2_BLOCK_SIZE: u64 = 1 << 21;
pub const L1_BLOCK_SIZE: u64 = 1 << 30;
/// Entries in every 4 KiB table, at every level.
pub const ENTRIES: usize = 512;
pub const TABLE_SIZE: u64 = 4096;
/// Output addresses are at most 48 bits (no FEAT_LPA).
pub const PA_BITS: u32 = 48;

/// AttrIndx of each MAIR_EL1 slot.
pub const DEVICE_NGNRNE: u8 = 0;
pub const DEVICE_NGNRE: u8 = 1;
pub const NORMAL_NC: u8 = 2;
pub const NORMAL_WT: u8 = 3;
pub const NORMAL_WB_NO_WA: u8 = 4;
pub const NORMAL_WB_WA: u8 = 5;
/// Device-GRE: gathering, reordering, early acknowledgement, for
/// write-combining device mappings. No `MemoryType` maps here.
pub const DEVICE_GRE: u8 = 6;
/// The custom slot, reprogrammed for `NormalInnerOuter` pairs.
pub const CUSTOM: u8 = 7;

/// MAIR_EL1 attribute bytes (D17.2.97): Device `0b0000_dd00`, Normal outer
/// policy in [7:4] and inner in [3:0].
pub const MAIR_DEVICE_NGNRNE: u8 = 0x00;
pub const MAIR_DEVICE_NGNRE: u8 = 0x04;
pub const MAIR_NORMAL_NC: u8 = 0x44;
pub const MAIR_NORMAL_WT: u8 = 0xAA;
pub const MAIR_NORMAL_WB_NO_WA: u8 = 0xEE;
pub const MAIR_NORMAL_WB_WA: u8 = 0xFF;
pub const MAIR_DEVICE_GRE: u8 = 0x0C;
/// What slot 7 holds while no custom pair is in use.
pub const MAIR_CUSTOM_DEFAULT: u8 = 0xFF;

/// MAIR_EL1 with slots 0-6 as planned and slot 7 = [`MAIR_CUSTOM_DEFAULT`].
pub const MAIR_VALUE_BASE: u64 = (MAIR_DEVICE_NGNRNE as u64)
    | (MAIR_DEVICE_NGNRE as u64) << 8
    | (MAIR_NORMAL_NC as u64) << 16
    | (MAIR_NORMAL_WT as u64) << 24
    | (MAIR_NORMAL_WB_NO_WA as u64) << 32
    | (MAIR_NORMAL_WB_WA as u64) << 40
    | (MAIR_DEVICE_GRE as u64) << 48
    | (MAIR_CUSTOM_DEFAULT as u64) << 56;

/// MAIR_EL1 with slot 7 holding `custom`.
pub const fn mair_value(custom: u8) -> u64 {
    (MAIR_VALUE_BASE & !(0xFF << 56)) | (custom as u64) << 56
}

/// The 4-bit MAIR code of one cache level (non-transient, read-allocate
/// for every cacheable policy).
const fn policy_nibble(p: CachePolicy) -> u8 {
    match p {
        CachePolicy::NonCacheable => 0b0100,
        CachePolicy::WriteThroughNoWriteAlloc => 0b1010,
        CachePolicy::WriteBackNoWriteAlloc => 0b1110,
        CachePolicy::WriteBackWriteAlloc => 0b1111,
    }
}

/// MAIR attribute byte of Normal memory: outer in [7:4], inner in [3:0].
pub const fn mair_byte(inner: CachePolicy, outer: CachePolicy) -> u8 {
    policy_nibble(outer) << 4 | policy_nibble(inner)
}

/// The fixed slot of a Normal policy used for both inner and outer.
const fn fixed_normal_slot(p: CachePolicy) -> u8 {
    match p {
        CachePolicy::NonCacheable => NORMAL_NC,
        CachePolicy::WriteThroughNoWriteAlloc => NORMAL_WT,
        CachePolicy::WriteBackNoWriteAlloc => NORMAL_WB_NO_WA,
        CachePolicy::WriteBackWriteAlloc => NORMAL_WB_WA,
    }
}

/// AttrIndx of a memory type, and the byte the custom slot 7 must hold
/// when the type needs it (`None` for the fixed slots 0-5).
pub const fn attr_index(mem: MemoryType) -> (u8, Option<u8>) {
    match mem {
        MemoryType::StronglyOrdered => (DEVICE_NGNRNE, None),
        // AArch64 Device memory is always Outer Shareable (D8.5.2).
        MemoryType::DeviceShareable | MemoryType::DeviceNonShareable => (DEVICE_NGNRE, None),
        MemoryType::NormalNonCacheable => (NORMAL_NC, None),
        MemoryType::NormalWriteThrough => (NORMAL_WT, None),
        MemoryType::NormalWriteBackNoWriteAlloc => (NORMAL_WB_NO_WA, None),
        MemoryType::NormalWriteBackWriteAlloc => (NORMAL_WB_WA, None),
        MemoryType::NormalInnerOuter { inner, outer } => {
            if policy_nibble(inner) == policy_nibble(outer) {
                (fixed_normal_slot(inner), None)
            } else {
                (CUSTOM, Some(mair_byte(inner, outer)))
            }
        }
    }
}

/// AP[2:1] of an access permission (D8.4.1, table D8-43 "Data access
/// permissions"). `NoAccess` is AP = 00 plus PXN/UXN (see module docs).
pub const fn ap_bits(a: Access) -> Result<u8, EncodeError> {
    match a {
        Access::NoAccess | Access::KernelRw => Ok(0b00),
        Access::UserRw => Ok(0b01),
        Access::KernelRo => Ok(0b10),
        Access::UserRo => Ok(0b11),
        Access::KernelRwUserRo => Err(EncodeError::Unsupported),
    }
}

/// Descriptor encoding errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// The address is not a multiple of the block, page or table size.
    Misaligned,
    /// The address needs more than 48 bits.
    AddressTooWide,
    /// The attributes have no AArch64 encoding (`KernelRwUserRo`).
    Unsupported,
    /// Blocks exist at L1 and L2 only (4 KiB granule).
    BadLevel,
}

fn bit<R: RegisterLongName>(f: Field<u64, R>, on: bool) -> FieldValue<u64, R> {
    f.val(on as u64)
}

/// Size mapped by one block or page descriptor at `level` (1, 2 or 3).
pub const fn level_size(level: u8) -> u64 {
    match level {
        1 => L1_BLOCK_SIZE,
        2 => L2_BLOCK_SIZE,
        _ => PAGE_SIZE,
    }
}

fn check_pa(pa: u64, align: u64) -> Result<(), EncodeError> {
    if !pa.is_multiple_of(align) {
        return Err(EncodeError::Misaligned);
    }
    if pa >> PA_BITS != 0 {
        return Err(EncodeError::AddressTooWide);
    }
    Ok(())
}

/// Every attribute field of a block or page, without type and address.
fn leaf_attrs(attrs: MapAttrs) -> Result<FieldValue<u64, BLOCK_PAGE::Register>, EncodeError> {
    let ap = ap_bits(attrs.access)?;
    let (index, _) = attr_index(attrs.mem);
    let user = matches!(attrs.access, Access::UserRw | Access::UserRo);
    let no_access = matches!(attrs.access, Access::NoAccess);
    let sh = if attrs.mem.is_device() || !attrs.shareable {
        0b00
    } else {
        0b11
    };
    let uxn = attrs.execute_never || !user || no_access;
    let pxn = attrs.execute_never || attrs.privileged_execute_never || no_access;
    Ok(BLOCK_PAGE::ATTR_INDX.val(index as u64)
        + BLOCK_PAGE::AP.val(ap as u64)
        + BLOCK_PAGE::SH.val(sh)
        + BLOCK_PAGE::AF::SET
        + bit(BLOCK_PAGE::NG, attrs.not_global)
        + bit(BLOCK_PAGE::PXN, pxn)
        + bit(BLOCK_PAGE::UXN, uxn))
}

/// An L3 descriptor mapping the 4 KiB page at `pa`.
pub fn page(pa: u64, attrs: MapAttrs) -> Result<u64, EncodeError> {
    check_pa(pa, PAGE_SIZE)?;
    let v = BLOCK_PAGE::TYPE::Page + leaf_attrs(attrs)? + BLOCK_PAGE::OA_PAGE.val(pa >> 12);
    Ok(v.value)
}

/// A block descriptor: 1 GiB at `level` 1, 2 MiB at `level` 2.
pub fn block(level: u8, pa: u64, attrs: MapAttrs) -> Result<u64, EncodeError> {
    let oa = match level {
        1 => {
            check_pa(pa, L1_BLOCK_SIZE)?;
            BLOCK_PAGE::OA_L1.val(pa >> 30)
        }
        2 => {
            check_pa(pa, L2_BLOCK_SIZE)?;
            BLOCK_PAGE::OA_L2.val(pa >> 21)
        }
        _ => return Err(EncodeError::BadLevel),
    };
    let v = BLOCK_PAGE::TYPE::Block + leaf_attrs(attrs)? + oa;
    Ok(v.value)
}

/// A table descriptor (L0-L2) pointing at the 4 KiB table at `next_pa`,
/// with no hierarchical restrictions (PXNTable, XNTable, APTable all 0).
pub fn table(next_pa: u64) -> Result<u64, EncodeError> {
    check_pa(next_pa, TABLE_SIZE)?;
    Ok((TABLE::TYPE::Table + TABLE::NEXT.val(next_pa >> 12)).value)
}

/// What a raw descriptor is at a given level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Invalid,
    Table { next_pa: u64 },
    Block,
    Page,
}

/// Classify `raw` found at `level` (0-3) of a 4 KiB-granule walk. Bits
/// [1:0] = 01 is a block at L1/L2 and reserved (treated as invalid, it
/// faults) at L0 and L3; 11 is a table at L0-L2 and a page at L3.
pub fn kind(raw: u64, level: u8) -> Kind {
    match (raw & 0b11, level) {
        (0b11, 3) => Kind::Page,
        (0b11, 0..=2) => Kind::Table {
            next_pa: output_address(raw, 3),
        },
        (0b01, 1 | 2) => Kind::Block,
        _ => Kind::Invalid,
    }
}

/// Output address of a block or page at `level` (for a table descriptor
/// pass level 3: next-level addresses are PA[47:12] too).
pub fn output_address(raw: u64, level: u8) -> u64 {
    let r = LocalRegisterCopy::<u64, BLOCK_PAGE::Register>::new(raw);
    match level {
        1 => r.read(BLOCK_PAGE::OA_L1) << 30,
        2 => r.read(BLOCK_PAGE::OA_L2) << 21,
        _ => r.read(BLOCK_PAGE::OA_PAGE) << 12,
    }
}

/// The attribute fields of an existing block or page (everything but
/// type, address and the Contiguous hint).
fn copied_attrs(raw: u64) -> FieldValue<u64, BLOCK_PAGE::Register> {
    let r = LocalRegisterCopy::<u64, BLOCK_PAGE::Register>::new(raw);
    BLOCK_PAGE::ATTR_INDX.val(r.read(BLOCK_PAGE::ATTR_INDX))
        + BLOCK_PAGE::NS.val(r.read(BLOCK_PAGE::NS))
        + BLOCK_PAGE::AP.val(r.read(BLOCK_PAGE::AP))
        + BLOCK_PAGE::SH.val(r.read(BLOCK_PAGE::SH))
        + BLOCK_PAGE::AF.val(r.read(BLOCK_PAGE::AF))
        + BLOCK_PAGE::NG.val(r.read(BLOCK_PAGE::NG))
        + BLOCK_PAGE::DBM.val(r.read(BLOCK_PAGE::DBM))
        + BLOCK_PAGE::PXN.val(r.read(BLOCK_PAGE::PXN))
        + BLOCK_PAGE::UXN.val(r.read(BLOCK_PAGE::UXN))
        + BLOCK_PAGE::SW.val(r.read(BLOCK_PAGE::SW))
}

/// Splitting a block: the descriptor of the next-level entry at `offset`
/// inside the block `raw` found at `level` (1 or 2), same attributes. A
/// 1 GiB block yields 2 MiB blocks, a 2 MiB block yields 4 KiB pages.
/// The Contiguous hint is dropped (this kernel never sets it).
pub fn block_to_smaller(raw: u64, level: u8, offset: u64) -> u64 {
    debug_assert!(level == 1 || level == 2);
    debug_assert!(offset < level_size(level) && offset.is_multiple_of(level_size(level + 1)));
    let pa = output_address(raw, level) + offset;
    let v = if level == 1 {
        BLOCK_PAGE::TYPE::Block + copied_attrs(raw) + BLOCK_PAGE::OA_L2.val(pa >> 21)
    } else {
        BLOCK_PAGE::TYPE::Page + copied_attrs(raw) + BLOCK_PAGE::OA_PAGE.val(pa >> 12)
    };
    v.value
}

/// The L3 page descriptor for the 4 KiB at `offset` inside the block `raw`
/// found at `level` (1 or 2), same attributes.
pub fn block_to_page(raw: u64, level: u8, offset: u64) -> u64 {
    debug_assert!(level == 1 || level == 2);
    debug_assert!(offset < level_size(level) && offset.is_multiple_of(PAGE_SIZE));
    let pa = output_address(raw, level) + offset;
    (BLOCK_PAGE::TYPE::Page + copied_attrs(raw) + BLOCK_PAGE::OA_PAGE.val(pa >> 12)).value
}

/// The same mapping with new attributes: block or page `raw` at `level`
/// re-encoded with `attrs`, keeping its output address.
pub fn with_attrs(raw: u64, level: u8, attrs: MapAttrs) -> Result<u64, EncodeError> {
    let pa = output_address(raw, level);
    match level {
        3 => page(pa, attrs),
        _ => block(level, pa, attrs),
    }
}

#[cfg(test)]
mod tests;
