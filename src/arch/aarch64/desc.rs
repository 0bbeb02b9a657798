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
mod tests {
    //! Expected values are written out from the ARM ARM bit tables with
    //! explicit shifts, never computed by the encoder under test.
    use super::*;
    use crate::mm::memtype::CachePolicy::*;
    use crate::mm::memtype::MemoryClass;
    use std::vec::Vec;

    /// (type, AttrIndx) from the MAIR plan in the module documentation.
    const FIXED_INDEX: [(MemoryType, u64); 7] = [
        (MemoryType::StronglyOrdered, 0),
        (MemoryType::DeviceShareable, 1),
        (MemoryType::NormalWriteThrough, 3),
        (MemoryType::NormalWriteBackNoWriteAlloc, 4),
        (MemoryType::NormalNonCacheable, 2),
        (MemoryType::NormalWriteBackWriteAlloc, 5),
        (MemoryType::DeviceNonShareable, 1),
    ];

    /// (access, AP[2:1]) from D8.4.1.
    const AP_TABLE: [(Access, u64); 5] = [
        (Access::NoAccess, 0b00),
        (Access::KernelRw, 0b00),
        (Access::UserRw, 0b01),
        (Access::KernelRo, 0b10),
        (Access::UserRo, 0b11),
    ];

    /// MAIR nibble per policy: NC 0100, WT RA 1010, WB RA 1110, WB RA WA 1111.
    fn nibble(p: CachePolicy) -> u8 {
        match p {
            NonCacheable => 0x4,
            WriteThroughNoWriteAlloc => 0xA,
            WriteBackNoWriteAlloc => 0xE,
            WriteBackWriteAlloc => 0xF,
        }
    }

    /// (type, AttrIndx, custom byte) for all 23 types.
    fn every_type() -> Vec<(MemoryType, u64, Option<u8>)> {
        let mut v: Vec<_> = FIXED_INDEX.iter().map(|&(m, i)| (m, i, None)).collect();
        for outer in CachePolicy::ALL {
            for inner in CachePolicy::ALL {
                let mem = MemoryType::NormalInnerOuter { inner, outer };
                let (i, c) = if inner == outer {
                    let i = match inner {
                        NonCacheable => 2,
                        WriteThroughNoWriteAlloc => 3,
                        WriteBackNoWriteAlloc => 4,
                        WriteBackWriteAlloc => 5,
                    };
                    (i, None)
                } else {
                    (7, Some(nibble(outer) << 4 | nibble(inner)))
                };
                v.push((mem, i, c));
            }
        }
        v
    }

    fn attrs(mem: MemoryType, access: Access) -> MapAttrs {
        MapAttrs {
            mem,
            access,
            execute_never: false,
            privileged_execute_never: false,
            not_global: false,
            shareable: false,
        }
    }

    const AF: u64 = 1 << 10;
    const PXN: u64 = 1 << 53;
    const UXN: u64 = 1 << 54;

    #[test]
    fn mair_plan_bytes() {
        assert_eq!(MAIR_VALUE_BASE, 0xFF0C_FFEE_AA44_0400);
        assert_eq!(mair_value(0x4F), 0x4F0C_FFEE_AA44_0400);
        assert_eq!(mair_byte(NonCacheable, NonCacheable), 0x44);
        assert_eq!(
            mair_byte(WriteThroughNoWriteAlloc, WriteThroughNoWriteAlloc),
            0xAA
        );
        assert_eq!(
            mair_byte(WriteBackNoWriteAlloc, WriteBackNoWriteAlloc),
            0xEE
        );
        assert_eq!(mair_byte(WriteBackWriteAlloc, WriteBackWriteAlloc), 0xFF);
        // Outer in [7:4], inner in [3:0].
        assert_eq!(mair_byte(WriteBackWriteAlloc, NonCacheable), 0x4F);
        assert_eq!(mair_byte(NonCacheable, WriteThroughNoWriteAlloc), 0xA4);
        // The fixed slots agree with their bytes in MAIR_VALUE_BASE.
        for (mem, index, _) in every_type() {
            if let MemoryClass::Normal { inner, outer } = mem.class() {
                let slot = (MAIR_VALUE_BASE >> (8 * index)) as u8;
                if index != 7 {
                    assert_eq!(slot, nibble(outer) << 4 | nibble(inner), "{mem:?}");
                }
            }
        }
        assert_eq!((MAIR_VALUE_BASE >> (8 * DEVICE_GRE as u64)) as u8, 0x0C);
    }

    #[test]
    fn attr_index_of_every_type() {
        let v = every_type();
        assert_eq!(v.len(), 23);
        assert_eq!(v.iter().filter(|t| t.1 == 7).count(), 12);
        for (mem, index, custom) in v {
            assert_eq!(attr_index(mem), (index as u8, custom), "{mem:?}");
        }
    }

    #[test]
    fn page_every_type_and_permission() {
        for (mem, index, _) in every_type() {
            for (access, ap) in AP_TABLE {
                let got = page(0x12_3456_7000, attrs(mem, access)).unwrap();
                // Kernel-only and NoAccess mappings always carry UXN;
                // NoAccess carries PXN too.
                let user = matches!(access, Access::UserRw | Access::UserRo);
                let none = access == Access::NoAccess;
                let want = 0b11
                    | (index << 2)
                    | (ap << 6)
                    | AF
                    | 0x12_3456_7000
                    | if user { 0 } else { UXN }
                    | if none { PXN } else { 0 };
                assert_eq!(got, want, "{mem:?} {access:?}");
            }
        }
    }

    #[test]
    fn blocks_every_type_and_permission() {
        for (mem, index, _) in every_type() {
            for (access, ap) in AP_TABLE {
                let a = MapAttrs {
                    execute_never: true,
                    ..attrs(mem, access)
                };
                let common = (index << 2) | (ap << 6) | AF | PXN | UXN;
                let got = block(2, 0x8_4020_0000, a).unwrap();
                assert_eq!(got, 0b01 | common | 0x8_4020_0000, "{mem:?} {access:?}");
                let got = block(1, 0x80_C000_0000, a).unwrap();
                assert_eq!(got, 0b01 | common | 0x80_C000_0000, "{mem:?} {access:?}");
            }
        }
    }

    #[test]
    fn kernel_rw_user_ro_is_unsupported() {
        let a = attrs(
            MemoryType::NormalWriteBackWriteAlloc,
            Access::KernelRwUserRo,
        );
        assert_eq!(page(0, a), Err(EncodeError::Unsupported));
        assert_eq!(block(2, 0, a), Err(EncodeError::Unsupported));
        assert_eq!(block(1, 0, a), Err(EncodeError::Unsupported));
    }

    #[test]
    fn execute_never_rule() {
        let base = attrs(MemoryType::NormalWriteBackWriteAlloc, Access::UserRo);
        let xbits = |a: MapAttrs| page(0, a).unwrap() & (PXN | UXN);
        // User code: EL0 executes, EL1 never does.
        let user_code = MapAttrs {
            privileged_execute_never: true,
            ..base
        };
        assert_eq!(xbits(user_code), PXN);
        // User data: nobody executes.
        let user_data = MapAttrs {
            execute_never: true,
            ..user_code
        };
        assert_eq!(xbits(user_data), PXN | UXN);
        // Kernel code: EL1 executes, EL0 never (UXN from "not user").
        let kcode = base.with_access(Access::KernelRo);
        assert_eq!(xbits(kcode), UXN);
        // Kernel data: nobody.
        assert_eq!(xbits(MapAttrs::kernel_data()), PXN | UXN);
        // execute_never alone implies PXN as well.
        let odd = MapAttrs {
            execute_never: true,
            privileged_execute_never: false,
            ..base
        };
        assert_eq!(xbits(odd), PXN | UXN);
        // privileged_execute_never alone on a kernel mapping.
        let kxn = MapAttrs {
            privileged_execute_never: true,
            ..kcode
        };
        assert_eq!(xbits(kxn), PXN | UXN);
        // NoAccess: never executable, even when asked.
        assert_eq!(xbits(base.with_access(Access::NoAccess)), PXN | UXN);
    }

    #[test]
    fn flag_bits_land_where_the_manual_says() {
        let a = MapAttrs {
            not_global: true,
            shareable: true,
            ..attrs(MemoryType::NormalWriteBackWriteAlloc, Access::UserRw)
        };
        // nG bit 11, SH [9:8] = 11 (inner shareable), AF bit 10.
        assert_eq!(
            page(0x5000, a).unwrap(),
            0b11 | (5 << 2) | (0b01 << 6) | (0b11 << 8) | AF | (1 << 11) | 0x5000
        );
        // Non-shareable Normal: SH = 00.
        let ns = MapAttrs {
            shareable: false,
            ..a
        };
        assert_eq!(page(0x5000, ns).unwrap() & (0b11 << 8), 0);
        // Non-cacheable Normal shareable: still written as inner shareable.
        let nc = a.with_mem(MemoryType::NormalNonCacheable);
        assert_eq!(page(0x5000, nc).unwrap() & (0b11 << 8), 0b11 << 8);
        // Device: SH written as 00 whatever `shareable` says.
        for mem in [
            MemoryType::StronglyOrdered,
            MemoryType::DeviceShareable,
            MemoryType::DeviceNonShareable,
        ] {
            assert_eq!(page(0x5000, a.with_mem(mem)).unwrap() & (0b11 << 8), 0);
        }
        // AF always, NS (bit 5), DBM (51), Contiguous (52) never.
        for (mem, _, _) in every_type() {
            let p = page(0, attrs(mem, Access::KernelRw)).unwrap();
            assert_eq!(p & AF, AF);
            assert_eq!(p & ((1 << 5) | (1 << 51) | (1 << 52)), 0);
        }
    }

    #[test]
    fn matches_boot_templates_and_linux_page_kernel() {
        // The boot code's hand-written templates (boot.rs): Normal WBWA
        // inner shareable kernel code block/page and Device data block.
        let code = MapAttrs {
            execute_never: false,
            privileged_execute_never: false,
            ..MapAttrs::kernel_data()
        };
        assert_eq!(block(1, 0, code).unwrap(), 0x0040_0000_0000_0715);
        assert_eq!(page(0, code).unwrap(), 0x0040_0000_0000_0717);
        assert_eq!(
            block(1, 0, MapAttrs::kernel_data()).unwrap(),
            0x0060_0000_0000_0715
        );
        let dev = MapAttrs {
            mem: MemoryType::StronglyOrdered,
            shareable: false,
            ..MapAttrs::kernel_data()
        };
        assert_eq!(block(1, 0, dev).unwrap(), 0x0060_0000_0000_0401);
        // Linux arm64 PAGE_KERNEL with MT_NORMAL at index 5 here:
        // PTE_TYPE_PAGE | AF | SHARED | PXN | UXN | ATTRINDX.
        assert_eq!(
            page(0x4000_0000, MapAttrs::kernel_data()).unwrap(),
            3 | (5 << 2) | (3 << 8) | (1 << 10) | (1 << 53) | (1 << 54) | 0x4000_0000
        );
    }

    #[test]
    fn table_descriptor() {
        assert_eq!(table(0x8_1234_5000).unwrap(), 0x8_1234_5000 | 0b11);
        assert_eq!(table(0x1800), Err(EncodeError::Misaligned));
        assert_eq!(table(1 << 48), Err(EncodeError::AddressTooWide));
    }

    #[test]
    fn misaligned_and_bad_addresses_are_errors() {
        let a = attrs(MemoryType::StronglyOrdered, Access::KernelRw);
        assert_eq!(page(0x10, a), Err(EncodeError::Misaligned));
        assert_eq!(block(2, 0x1000, a), Err(EncodeError::Misaligned));
        assert_eq!(block(2, 0x10_0000, a), Err(EncodeError::Misaligned));
        assert_eq!(block(1, 0x20_0000, a), Err(EncodeError::Misaligned));
        assert_eq!(block(1, 0x4000_0000, a).map(|_| ()), Ok(()));
        assert_eq!(page(1 << 48, a), Err(EncodeError::AddressTooWide));
        assert_eq!(block(1, 1 << 48, a), Err(EncodeError::AddressTooWide));
        assert_eq!(block(3, 0, a), Err(EncodeError::BadLevel));
        assert_eq!(block(0, 0, a), Err(EncodeError::BadLevel));
    }

    #[test]
    fn kinds_and_output_addresses() {
        let t = 0x8_1234_5000 | 0b11;
        assert_eq!(
            kind(t, 0),
            Kind::Table {
                next_pa: 0x8_1234_5000
            }
        );
        assert_eq!(
            kind(t, 1),
            Kind::Table {
                next_pa: 0x8_1234_5000
            }
        );
        assert_eq!(
            kind(t, 2),
            Kind::Table {
                next_pa: 0x8_1234_5000
            }
        );
        assert_eq!(kind(t, 3), Kind::Page);
        // Upper attributes do not leak into the table address.
        assert_eq!(
            kind(t | (0xF << 59), 1),
            Kind::Table {
                next_pa: 0x8_1234_5000
            }
        );
        assert_eq!(kind(0x4000_0401, 1), Kind::Block);
        assert_eq!(kind(0x4000_0401, 2), Kind::Block);
        assert_eq!(kind(0x4000_0401, 3), Kind::Invalid, "reserved at L3");
        assert_eq!(kind(0x4000_0401, 0), Kind::Invalid, "no L0 blocks");
        assert_eq!(kind(0x4000_0400, 2), Kind::Invalid);
        assert_eq!(kind(0x4000_0402, 3), Kind::Invalid);
        assert_eq!(kind(0, 1), Kind::Invalid);
        let raw = 0x0060_FFFF_FFFF_F000 | 0x715;
        assert_eq!(output_address(raw, 3), 0xFFFF_FFFF_F000);
        assert_eq!(output_address(raw, 2), 0xFFFF_FFE0_0000);
        assert_eq!(output_address(raw, 1), 0xFFFF_C000_0000);
    }

    #[test]
    fn splitting_keeps_every_attribute() {
        for (mem, _, _) in every_type() {
            for (access, _) in AP_TABLE {
                for flags in 0..16u32 {
                    let a = MapAttrs {
                        execute_never: flags & 1 != 0,
                        privileged_execute_never: flags & 2 != 0,
                        not_global: flags & 4 != 0,
                        shareable: flags & 8 != 0,
                        ..attrs(mem, access)
                    };
                    let g = block(1, 0x1_4000_0000, a).unwrap();
                    assert_eq!(
                        block_to_smaller(g, 1, 0x3FE0_0000),
                        block(2, 0x1_7FE0_0000, a).unwrap()
                    );
                    assert_eq!(
                        block_to_page(g, 1, 0x1234_5000),
                        page(0x1_5234_5000, a).unwrap()
                    );
                    let m = block(2, 0x1_4060_0000, a).unwrap();
                    assert_eq!(
                        block_to_smaller(m, 2, 0x1F_F000),
                        page(0x1_407F_F000, a).unwrap()
                    );
                    assert_eq!(block_to_page(m, 2, 0), page(0x1_4060_0000, a).unwrap());
                    assert_eq!(
                        with_attrs(m, 2, a.with_access(Access::KernelRo)).unwrap(),
                        block(2, 0x1_4060_0000, a.with_access(Access::KernelRo)).unwrap()
                    );
                }
            }
        }
        // Software bits survive a split; the Contiguous hint does not.
        let b = block(2, 0x20_0000, MapAttrs::kernel_data()).unwrap();
        let tagged = b | (0b1010 << 55) | (1 << 52);
        let p = block_to_smaller(tagged, 2, 0x1000);
        assert_eq!(
            p,
            page(0x20_1000, MapAttrs::kernel_data()).unwrap() | (0b1010 << 55)
        );
    }
}
