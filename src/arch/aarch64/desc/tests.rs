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

#[test]
fn with_attrs_rewrites_an_l3_page_as_a_page() {
    // D8.3.2: an L3 page keeps bits [1:0] = 0b11 and its OA[47:12]; the
    // attributes are the new ones: AttrIndx 5 (WB RA WA, MAIR plan),
    // AP[2:1] = 11 (EL1+EL0 RO), SH = 11, AF, nG, PXN; UXN clear (EL0 may
    // execute).
    let old = page(0x8_1234_5000, MapAttrs::kernel_data()).unwrap();
    let new = MapAttrs {
        access: Access::UserRo,
        execute_never: false,
        privileged_execute_never: true,
        not_global: true,
        ..MapAttrs::kernel_data()
    };
    let want = 0x8_1234_5000 | 0b11 | (5 << 2) | (0b11 << 6) | (0b11 << 8) | AF | (1 << 11) | PXN;
    assert_eq!(with_attrs(old, 3, new), Ok(want));
}
