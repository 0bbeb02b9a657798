//! Expected values are written out from the ARM ARM bit tables here,
//! with explicit shifts, never computed by the encoder under test.
use super::*;
use crate::mm::memtype::CachePolicy::*;

const TEX_CB_TABLE: [(MemoryType, u32, u32, u32); 7] = [
    // type, TEX, C, B (ARM ARM B3-10)
    (MemoryType::StronglyOrdered, 0b000, 0, 0),
    (MemoryType::DeviceShareable, 0b000, 0, 1),
    (MemoryType::NormalWriteThrough, 0b000, 1, 0),
    (MemoryType::NormalWriteBackNoWriteAlloc, 0b000, 1, 1),
    (MemoryType::NormalNonCacheable, 0b001, 0, 0),
    (MemoryType::NormalWriteBackWriteAlloc, 0b001, 1, 1),
    (MemoryType::DeviceNonShareable, 0b010, 0, 0),
];

// AP[2], AP[1:0] (ARM ARM B3-8)
const AP_TABLE: [(Access, u32, u32); 6] = [
    (Access::NoAccess, 0, 0b00),
    (Access::KernelRw, 0, 0b01),
    (Access::KernelRwUserRo, 0, 0b10),
    (Access::UserRw, 0, 0b11),
    (Access::KernelRo, 1, 0b01),
    (Access::UserRo, 1, 0b11),
];

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

fn inner_outer_table() -> std::vec::Vec<(MemoryType, u32, u32, u32)> {
    // TEX = 1BB (outer), C:B = AA (inner); 00 NC, 01 WBWA, 10 WT, 11 WB.
    let code = [
        (NonCacheable, 0b00),
        (WriteBackWriteAlloc, 0b01),
        (WriteThroughNoWriteAlloc, 0b10),
        (WriteBackNoWriteAlloc, 0b11),
    ];
    let mut v = std::vec::Vec::new();
    for (outer, bb) in code {
        for (inner, aa) in code {
            v.push((
                MemoryType::NormalInnerOuter { inner, outer },
                0b100 | bb,
                aa >> 1,
                aa & 1,
            ));
        }
    }
    v
}

fn every_type() -> std::vec::Vec<(MemoryType, u32, u32, u32)> {
    let mut v = TEX_CB_TABLE.to_vec();
    v.extend(inner_outer_table());
    v
}

#[test]
fn section_every_type_and_permission() {
    for (mem, tex, c, b) in every_type() {
        for (access, ap2, ap) in AP_TABLE {
            let pa = 0x4560_0000u32;
            let got = section(pa, attrs(mem, access), 3).unwrap();
            let want = 0b10
                | (b << 2)
                | (c << 3)
                | (3 << 5)
                | (ap << 10)
                | (tex << 12)
                | (ap2 << 15)
                | 0x4560_0000;
            assert_eq!(got, want, "{mem:?} {access:?}");
        }
    }
}

#[test]
fn small_page_every_type_and_permission() {
    for (mem, tex, c, b) in every_type() {
        for (access, ap2, ap) in AP_TABLE {
            let got = small_page(0x1234_5000, attrs(mem, access)).unwrap();
            let want =
                0b10 | (b << 2) | (c << 3) | (ap << 4) | (tex << 6) | (ap2 << 9) | 0x1234_5000;
            assert_eq!(got, want, "{mem:?} {access:?}");
        }
    }
}

#[test]
fn large_page_every_type_and_permission() {
    for (mem, tex, c, b) in every_type() {
        for (access, ap2, ap) in AP_TABLE {
            let got = large_page(0x1234_0000, attrs(mem, access)).unwrap();
            let want =
                0b01 | (b << 2) | (c << 3) | (ap << 4) | (ap2 << 9) | (tex << 12) | 0x1234_0000;
            assert_eq!(got, want, "{mem:?} {access:?}");
        }
    }
}

#[test]
fn flag_bits_land_where_the_manual_says() {
    let a = MapAttrs {
        execute_never: true,
        privileged_execute_never: true,
        not_global: true,
        shareable: true,
        ..attrs(MemoryType::StronglyOrdered, Access::NoAccess)
    };
    // Section: PXN bit 0, XN bit 4, S bit 16, nG bit 17.
    assert_eq!(
        section(0, a, 0).unwrap(),
        0b10 | 1 | (1 << 4) | (1 << 16) | (1 << 17)
    );
    // Small page: XN bit 0, S bit 10, nG bit 11 (no PXN in L2).
    assert_eq!(small_page(0, a).unwrap(), 0b10 | 1 | (1 << 10) | (1 << 11));
    // Large page: XN bit 15, S bit 10, nG bit 11.
    assert_eq!(
        large_page(0, a).unwrap(),
        0b01 | (1 << 15) | (1 << 10) | (1 << 11)
    );
    // Page-table entry: PXN bit 2, domain [8:5], base [31:10].
    assert_eq!(
        page_table(0x8000_0400, 15, true).unwrap(),
        0b01 | (1 << 2) | (15 << 5) | 0x8000_0400
    );
}

#[test]
fn supersection_carries_extended_address_bits() {
    let a = attrs(MemoryType::NormalWriteBackWriteAlloc, Access::KernelRw);
    // PA 0xA_B700_0000: [31:24]=0xB7, [35:32]=0xA, [39:36]=0.
    let got = supersection(0xA_B700_0000, a).unwrap();
    let want = 0b10
        | (1 << 18)
        | (1 << 2)
        | (1 << 3)
        | (1 << 10)
        | (0b001 << 12)
        | (0xA << 20)
        | 0xB700_0000;
    assert_eq!(got, want);
    let got = supersection(0x31_0000_0000, a).unwrap();
    assert_eq!(got & (0xf << 5), 3 << 5, "PA[39:36] in bits [8:5]");
    assert_eq!(got & (0xf << 20), 1 << 20, "PA[35:32] in bits [23:20]");
}

#[test]
fn misaligned_addresses_are_errors() {
    let a = attrs(MemoryType::StronglyOrdered, Access::KernelRw);
    assert_eq!(section(0x1000, a, 0), Err(EncodeError::Misaligned));
    assert_eq!(small_page(0x10, a), Err(EncodeError::Misaligned));
    assert_eq!(large_page(0x1000, a), Err(EncodeError::Misaligned));
    assert_eq!(supersection(0x10_0000, a), Err(EncodeError::Misaligned));
    assert_eq!(page_table(0x200, 0, false), Err(EncodeError::Misaligned));
}

#[test]
fn section_split_keeps_every_attribute() {
    for (mem, _, _, _) in every_type() {
        for (access, _, _) in AP_TABLE {
            for flags in 0..8u32 {
                let a = MapAttrs {
                    execute_never: flags & 1 != 0,
                    not_global: flags & 2 != 0,
                    shareable: flags & 4 != 0,
                    ..attrs(mem, access)
                };
                let s = section(0x7010_0000, a, 0).unwrap();
                assert_eq!(
                    section_to_small(s, 0x3000),
                    small_page(0x7010_3000, a).unwrap()
                );
            }
        }
    }
}

#[test]
fn kind_of_raw_entries() {
    assert_eq!(l1_kind(0), L1Kind::Fault);
    assert_eq!(
        l1_kind(0x4000_0401),
        L1Kind::PageTable { l2_pa: 0x4000_0400 }
    );
    assert_eq!(l1_kind(0x4000_0002), L1Kind::Section);
    assert_eq!(l1_kind(0x4000_0003), L1Kind::Section); // PXN set
    assert_eq!(l1_kind(0x4004_0002), L1Kind::Supersection);
}

#[test]
fn large_page_split_moves_tex_and_xn_to_small_page_positions() {
    // ARM ARM B3-5: large page TEX [14:12], XN bit 15; small page TEX
    // [8:6], XN bit 0, bit 1 set. B, C, AP[1:0], AP[2], S, nG stay put.
    let large = 0x1234_0000u32
        | (1 << 15)
        | (0b101 << 12)
        | (1 << 11)
        | (1 << 10)
        | (1 << 9)
        | (0b11 << 4)
        | (1 << 3)
        | (1 << 2)
        | 0b01;
    let want = 0x1234_5000u32
        | (1 << 11)
        | (1 << 10)
        | (1 << 9)
        | (0b101 << 6)
        | (0b11 << 4)
        | (1 << 3)
        | (1 << 2)
        | 0b10
        | 1;
    assert_eq!(large_to_small(large, 0x5000), want);
    // Nothing but the type and address: no attribute bit appears.
    assert_eq!(large_to_small(0x8765_0001, 0xF000), 0x8765_F002);
    assert_eq!(large_to_small(0x8765_0001, 0), 0x8765_0002);
}

#[test]
fn supersection_split_gives_sections_in_the_domain() {
    // ARM ARM B3-4: supersection bit 18 set, PA[39:36] in [8:5]; a section
    // has bit 18 clear and its domain in [8:5]. Everything else in
    // [4:0], [17:9] and NS (bit 19) keeps its place.
    let attrs = 1 // PXN
        | (1 << 2)
        | (1 << 3)
        | (1 << 4)
        | (1 << 9)
        | (0b10 << 10)
        | (0b111 << 12)
        | (1 << 15)
        | (1 << 16)
        | (1 << 17)
        | (1 << 19);
    let raw = 0x4500_0000u32 | (1 << 18) | (0b1111 << 5) | attrs | 0b10;
    assert_eq!(
        supersection_to_section(raw, 0x30_0000, 5),
        0x4530_0000 | attrs | 0b10 | (5 << 5)
    );
    // Bare: type bits, the offset and the domain only.
    let bare = 0xFF00_0000u32 | (1 << 18) | 0b10;
    assert_eq!(supersection_to_section(bare, 0xF0_0000, 0), 0xFFF0_0002);
    assert_eq!(
        supersection_to_section(bare, 0, 15),
        0xFF00_0002 | (15 << 5)
    );
}

#[test]
fn physical_bases_of_pages_and_sections() {
    // Small page base PA[31:12], section base PA[31:20] (B3-4, B3-5).
    assert_eq!(small_page_pa(0x1234_5FFF), 0x1234_5000);
    assert_eq!(small_page_pa(0x0000_0FFF), 0);
    assert_eq!(section_pa(0x123F_FFFF), 0x1230_0000);
    assert_eq!(section_pa(0x000F_FFFF), 0);
}

#[test]
fn supersection_addresses_stop_at_40_bits() {
    // Supersections extend the PA to 40 bits (B3.5.1), no further.
    let a = attrs(MemoryType::NormalWriteBackWriteAlloc, Access::KernelRw);
    assert!(supersection(0xFF_FF00_0000, a).is_ok());
    assert_eq!(
        supersection(0x100_0000_0000, a),
        Err(EncodeError::Misaligned)
    );
}
