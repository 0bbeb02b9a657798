//! Independent decoder for ARMv7-A short-descriptor translation tables.
//!
//! Written straight from the ARM Architecture Reference Manual ARMv7-A/R
//! (DDI 0406C), *not* from `desc.rs` (the encoder), so that a self-test
//! that encodes with one and decodes with the other checks both against
//! the manual. Assumes TTBCR.EAE = 0, SCTLR.TRE = 0 (no TEX remap) and
//! SCTLR.AFE = 0 (AP[0] is a permission bit, not an Access flag).
//!
//! * B3.5.1, first-level descriptor formats (bits[1:0]):
//!   `00` fault; `01` page table; `1x` section (bit18 = 0) or supersection
//!   (bit18 = 1), where bit0 is PXN when the PXN extension is implemented
//!   (always with LPAE, e.g. Cortex-A7/A15). Without PXN, `11` is reserved.
//! * B3.5.1, second-level formats: `00` fault, `01` large page (64 KiB),
//!   `1x` small page (4 KiB) with bit0 = XN.
//! * B3.8.2 table B3-10 (TEX[2:0], C, B → memory type) and table B3-11
//!   (AA/BB cache policy when TEX[2] = 1).
//! * B3.7.1 table B3-8 (AP[2:0] → access permissions).
//!
//! ```text
//! L1 page table  |     base[31:10]      |IMP| domain[8:5] |SBZ|NS |PXN| 0 1 |
//! L1 section     |base[31:20]|NS|0|nG|S|AP2|TEX[14:12]|AP[11:10]|IMP|domain|XN|C|B|1|PXN|
//! L1 supersect.  |base[31:24]|PA[35:32] 23:20|NS|1|nG|S|AP2|TEX|AP|IMP|PA[39:36] 8:5|XN|C|B|1|PXN|
//! L2 large page  |base[31:16]|XN 15|TEX[14:12]|nG|S|AP2|SBZ[8:6]|AP[5:4]|C|B| 0 1 |
//! L2 small page  |base[31:12]|nG 11|S 10|AP2 9|TEX[8:6]|AP[5:4]|C|B| 1 |XN|
//! ```

use crate::mm::fault::{AccessKind, FaultKind};
use crate::mm::memtype::{Access, CachePolicy, MemoryClass};

/// Memory type from TEX/C/B, including the encodings table B3-10 does not
/// give a type to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryClassOrReserved {
    Class(MemoryClass),
    /// "Reserved" rows of table B3-10 (TEX=001 CB=01, TEX=010 CB≠00,
    /// TEX=011).
    Reserved,
    /// TEX=001 C=1 B=0: IMPLEMENTATION DEFINED.
    ImplementationDefined,
}

/// The attribute bits of a section, supersection, large or small page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodedAttrs {
    pub class: MemoryClassOrReserved,
    /// `None` for the reserved AP[2:0] = 100.
    pub access: Option<Access>,
    pub xn: bool,
    /// Privileged execute-never. From the L1 descriptor only: `false` in
    /// what [`decode_l2`] returns; [`walk`] fills in the PXN bit of the L1
    /// page-table descriptor, which is what governs the page.
    pub pxn: bool,
    pub not_global: bool,
    /// The S bit as written. It only matters for Normal memory; SO is always
    /// shareable and the two Device encodings fix their own shareability.
    pub shareable_bit: bool,
    pub tex: u8,
    pub c: bool,
    pub b: bool,
    /// Non-secure bit (L1 section/supersection only; `false` for L2).
    pub ns: bool,
}

impl DecodedAttrs {
    /// The memory class, if TEX/C/B name one.
    pub const fn memory_class(&self) -> Option<MemoryClass> {
        match self.class {
            MemoryClassOrReserved::Class(c) => Some(c),
            _ => None,
        }
    }

    /// Whether the region is Shareable: always for Strongly-ordered, fixed
    /// by the encoding for Device, the S bit for Normal memory.
    pub const fn is_shareable(&self) -> bool {
        match self.class {
            MemoryClassOrReserved::Class(MemoryClass::StronglyOrdered) => true,
            MemoryClassOrReserved::Class(MemoryClass::Device { shareable }) => shareable,
            MemoryClassOrReserved::Class(MemoryClass::Normal { .. }) => self.shareable_bit,
            _ => false,
        }
    }
}

/// A first-level descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum L1Entry {
    Fault,
    PageTable {
        /// Physical address of the 1 KiB second-level table, bits [31:10].
        l2_base: u32,
        domain: u8,
        pxn: bool,
        ns: bool,
    },
    Section {
        /// Bits [31:20].
        base: u32,
        domain: u8,
        attrs: DecodedAttrs,
    },
    Supersection {
        /// PA[39:24]: bits [31:24], PA[35:32] from bits [23:20], PA[39:36]
        /// from bits [8:5]. Supersections are always in domain 0.
        base: u64,
        attrs: DecodedAttrs,
    },
    /// bits[1:0] = 11 on an implementation without PXN.
    Reserved,
}

/// A second-level descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum L2Entry {
    Fault,
    LargePage {
        /// Bits [31:16].
        base: u32,
        attrs: DecodedAttrs,
    },
    SmallPage {
        /// Bits [31:12].
        base: u32,
        attrs: DecodedAttrs,
    },
}

const fn bit(raw: u32, n: u32) -> bool {
    (raw >> n) & 1 != 0
}

const fn field(raw: u32, lo: u32, width: u32) -> u32 {
    (raw >> lo) & ((1 << width) - 1)
}

/// Table B3-11: the AA (inner) / BB (outer) encodings used with TEX[2] = 1.
pub const fn cache_policy(bits: u8) -> CachePolicy {
    match bits & 3 {
        0b00 => CachePolicy::NonCacheable,
        0b01 => CachePolicy::WriteBackWriteAlloc,
        0b10 => CachePolicy::WriteThroughNoWriteAlloc,
        _ => CachePolicy::WriteBackNoWriteAlloc,
    }
}

/// Table B3-10, TEX remap disabled.
pub const fn memory_class(tex: u8, c: bool, b: bool) -> MemoryClassOrReserved {
    use CachePolicy::*;
    use MemoryClassOrReserved::*;
    const fn normal(inner: CachePolicy, outer: CachePolicy) -> MemoryClassOrReserved {
        Class(MemoryClass::Normal { inner, outer })
    }
    if tex & 0b100 != 0 {
        // TEX = 1BB, C:B = AA: cacheable, outer policy BB, inner AA.
        let outer = cache_policy(tex & 0b11);
        let inner = cache_policy(((c as u8) << 1) | b as u8);
        return normal(inner, outer);
    }
    match (tex & 0b111, c, b) {
        (0b000, false, false) => Class(MemoryClass::StronglyOrdered),
        (0b000, false, true) => Class(MemoryClass::Device { shareable: true }),
        (0b000, true, false) => normal(WriteThroughNoWriteAlloc, WriteThroughNoWriteAlloc),
        (0b000, true, true) => normal(WriteBackNoWriteAlloc, WriteBackNoWriteAlloc),
        (0b001, false, false) => normal(NonCacheable, NonCacheable),
        (0b001, false, true) => Reserved,
        (0b001, true, false) => ImplementationDefined,
        (0b001, true, true) => normal(WriteBackWriteAlloc, WriteBackWriteAlloc),
        (0b010, false, false) => Class(MemoryClass::Device { shareable: false }),
        // TEX = 010 with C:B != 00, and TEX = 011.
        _ => Reserved,
    }
}

/// Table B3-8, SCTLR.AFE = 0. `ap` = AP[2:0].
pub const fn access_from_ap(ap: u8) -> Option<Access> {
    match ap & 0b111 {
        0b000 => Some(Access::NoAccess),
        0b001 => Some(Access::KernelRw),
        0b010 => Some(Access::KernelRwUserRo),
        0b011 => Some(Access::UserRw),
        0b100 => None, // reserved
        0b101 => Some(Access::KernelRo),
        // 110 is the deprecated encoding of "read-only at PL1 and PL0".
        _ => Some(Access::UserRo),
    }
}

/// Section/supersection attributes (common to both L1 formats).
fn l1_attrs(raw: u32, pxn: bool) -> DecodedAttrs {
    let tex = field(raw, 12, 3) as u8;
    let c = bit(raw, 3);
    let b = bit(raw, 2);
    let ap = ((bit(raw, 15) as u8) << 2) | field(raw, 10, 2) as u8;
    DecodedAttrs {
        class: memory_class(tex, c, b),
        access: access_from_ap(ap),
        xn: bit(raw, 4),
        pxn,
        not_global: bit(raw, 17),
        shareable_bit: bit(raw, 16),
        tex,
        c,
        b,
        ns: bit(raw, 19),
    }
}

/// Decode a first-level descriptor on an implementation with the PXN
/// extension (all LPAE-capable cores, e.g. Cortex-A7/A15, and QEMU's
/// `cortex-a15`/`max`).
pub fn decode_l1(raw: u32) -> L1Entry {
    decode_l1_with(raw, true)
}

/// Decode a first-level descriptor; `pxn_implemented` selects whether
/// bit0 of a section is PXN (and bits[1:0] = 11 valid) or bits[1:0] = 11
/// is reserved, and whether bit2 of a page-table descriptor is PXN.
pub fn decode_l1_with(raw: u32, pxn_implemented: bool) -> L1Entry {
    match raw & 0b11 {
        0b00 => L1Entry::Fault,
        0b01 => L1Entry::PageTable {
            l2_base: raw & 0xffff_fc00,
            domain: field(raw, 5, 4) as u8,
            pxn: pxn_implemented && bit(raw, 2),
            ns: bit(raw, 3),
        },
        0b11 if !pxn_implemented => L1Entry::Reserved,
        _ => {
            let pxn = pxn_implemented && bit(raw, 0);
            let attrs = l1_attrs(raw, pxn);
            if bit(raw, 18) {
                let base = (raw & 0xff00_0000) as u64
                    | (field(raw, 20, 4) as u64) << 32
                    | (field(raw, 5, 4) as u64) << 36;
                L1Entry::Supersection { base, attrs }
            } else {
                L1Entry::Section {
                    base: raw & 0xfff0_0000,
                    domain: field(raw, 5, 4) as u8,
                    attrs,
                }
            }
        }
    }
}

/// Decode a second-level descriptor.
pub fn decode_l2(raw: u32) -> L2Entry {
    let c = bit(raw, 3);
    let b = bit(raw, 2);
    let ap = ((bit(raw, 9) as u8) << 2) | field(raw, 4, 2) as u8;
    let common = |tex: u8, xn: bool| DecodedAttrs {
        class: memory_class(tex, c, b),
        access: access_from_ap(ap),
        xn,
        pxn: false,
        not_global: bit(raw, 11),
        shareable_bit: bit(raw, 10),
        tex,
        c,
        b,
        ns: false,
    };
    match raw & 0b11 {
        0b00 => L2Entry::Fault,
        0b01 => L2Entry::LargePage {
            base: raw & 0xffff_0000,
            attrs: common(field(raw, 12, 3) as u8, bit(raw, 15)),
        },
        _ => L2Entry::SmallPage {
            base: raw & 0xffff_f000,
            attrs: common(field(raw, 6, 3) as u8, bit(raw, 0)),
        },
    }
}

/// The result of a successful walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Translation {
    pub pa: u64,
    /// Size of the mapping that matched: 16 MiB, 1 MiB, 64 KiB or 4 KiB.
    pub size: u32,
    /// 1 for sections/supersections, 2 for pages.
    pub level: u8,
    /// For pages, `pxn` is the PXN bit of the L1 page-table descriptor.
    pub attrs: DecodedAttrs,
    /// 0 for supersections.
    pub domain: u8,
}

/// Why a walk or an access check failed: what the MMU would put in the FSR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WalkFault {
    pub level: u8,
    pub kind: FaultKind,
}

pub const SIZE_16M: u32 = 16 << 20;
pub const SIZE_1M: u32 = 1 << 20;
pub const SIZE_64K: u32 = 64 << 10;
pub const SIZE_4K: u32 = 4 << 10;

/// Which TTBR translates `va` with TTBCR.N = `ttbcr_n` (B3.5.4): TTBR0 when
/// VA[31:32-N] are all zero (always when N = 0), else TTBR1. Returns 0 or 1.
pub const fn ttbr_for(va: u32, ttbcr_n: u8) -> u8 {
    let n = (ttbcr_n & 7) as u32;
    if n == 0 || va >> (32 - n) == 0 {
        0
    } else {
        1
    }
}

/// Walk the tables for `va` as the MMU would (PXN implemented).
///
/// TTBR0's first-level table has 4096 >> N entries, TTBR1's always 4096; both
/// are indexed by VA[31:20] (for TTBR0 the top N bits of that are zero).
/// The L2 index is VA[19:12]. Large pages and supersections are found
/// through any of their 16 replicated entries. Fault and reserved
/// descriptors give a translation fault at their level. Domains and
/// permissions are not checked here; see [`check_access`].
pub fn walk(
    va: u32,
    ttbcr_n: u8,
    read_ttbr0_l1: &dyn Fn(usize) -> u32,
    read_ttbr1_l1: &dyn Fn(usize) -> u32,
    read_l2: &dyn Fn(u32, usize) -> u32,
) -> Result<Translation, WalkFault> {
    let l1_index = (va >> 20) as usize;
    let l1 = if ttbr_for(va, ttbcr_n) == 0 {
        read_ttbr0_l1(l1_index)
    } else {
        read_ttbr1_l1(l1_index)
    };
    let translation_fault = |level| WalkFault {
        level,
        kind: FaultKind::Translation,
    };
    match decode_l1(l1) {
        L1Entry::Fault | L1Entry::Reserved => Err(translation_fault(1)),
        L1Entry::Section {
            base,
            domain,
            attrs,
        } => Ok(Translation {
            pa: (base | (va & (SIZE_1M - 1))) as u64,
            size: SIZE_1M,
            level: 1,
            attrs,
            domain,
        }),
        L1Entry::Supersection { base, attrs } => Ok(Translation {
            pa: base | (va & (SIZE_16M - 1)) as u64,
            size: SIZE_16M,
            level: 1,
            attrs,
            domain: 0,
        }),
        L1Entry::PageTable {
            l2_base,
            domain,
            pxn,
            ..
        } => {
            let l2_index = ((va >> 12) & 0xff) as usize;
            let (pa, size, mut attrs) = match decode_l2(read_l2(l2_base, l2_index)) {
                L2Entry::Fault => return Err(translation_fault(2)),
                L2Entry::LargePage { base, attrs } => {
                    (base | (va & (SIZE_64K - 1)), SIZE_64K, attrs)
                }
                L2Entry::SmallPage { base, attrs } => (base | (va & (SIZE_4K - 1)), SIZE_4K, attrs),
            };
            attrs.pxn = pxn;
            Ok(Translation {
                pa: pa as u64,
                size,
                level: 2,
                attrs,
                domain,
            })
        }
    }
}

/// The checks that follow a successful walk (B3.7, B3.12.3 fault priority
/// after translation): domain (DACR field 00 or the reserved 10 → Domain
/// fault; 11 manager → no permission check), then permissions for a
/// client: AP[2:0] (reserved AP = 100 faults), XN for any instruction
/// fetch, PXN for a privileged one. An instruction fetch also needs read
/// permission at that privilege level.
pub fn check_access(
    t: &Translation,
    dacr: u32,
    access: AccessKind,
    privileged: bool,
) -> Result<(), WalkFault> {
    let fault = |kind| WalkFault {
        level: t.level,
        kind,
    };
    match (dacr >> (2 * (t.domain as u32 & 0xf))) & 0b11 {
        0b01 => {}
        0b11 => return Ok(()),
        _ => return Err(fault(FaultKind::Domain)),
    }
    let Some(ap) = t.attrs.access else {
        return Err(fault(FaultKind::Permission));
    };
    let a = ap.allows();
    let (read, write) = if privileged {
        (a.kernel_read, a.kernel_write)
    } else {
        (a.user_read, a.user_write)
    };
    let ok = match access {
        AccessKind::Read => read,
        AccessKind::Write => write,
        AccessKind::Execute => read && !t.attrs.xn && !(privileged && t.attrs.pxn),
    };
    if ok {
        Ok(())
    } else {
        Err(fault(FaultKind::Permission))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CachePolicy::*;

    const NC: CachePolicy = NonCacheable;
    const WBWA: CachePolicy = WriteBackWriteAlloc;
    const WT: CachePolicy = WriteThroughNoWriteAlloc;
    const WB: CachePolicy = WriteBackNoWriteAlloc;

    fn normal(inner: CachePolicy, outer: CachePolicy) -> MemoryClassOrReserved {
        MemoryClassOrReserved::Class(MemoryClass::Normal { inner, outer })
    }

    /// Table B3-10 rows with TEX[2] = 0, written out: (TEX, C, B, meaning).
    fn table_b3_10_low() -> [(u8, u8, u8, MemoryClassOrReserved); 16] {
        use MemoryClassOrReserved::*;
        [
            (0b000, 0, 0, Class(MemoryClass::StronglyOrdered)),
            (0b000, 0, 1, Class(MemoryClass::Device { shareable: true })),
            (0b000, 1, 0, normal(WT, WT)),
            (0b000, 1, 1, normal(WB, WB)),
            (0b001, 0, 0, normal(NC, NC)),
            (0b001, 0, 1, Reserved),
            (0b001, 1, 0, ImplementationDefined),
            (0b001, 1, 1, normal(WBWA, WBWA)),
            (0b010, 0, 0, Class(MemoryClass::Device { shareable: false })),
            (0b010, 0, 1, Reserved),
            (0b010, 1, 0, Reserved),
            (0b010, 1, 1, Reserved),
            (0b011, 0, 0, Reserved),
            (0b011, 0, 1, Reserved),
            (0b011, 1, 0, Reserved),
            (0b011, 1, 1, Reserved),
        ]
    }

    /// Table B3-11, written out: encoding → policy.
    const TABLE_B3_11: [(u8, CachePolicy); 4] = [(0b00, NC), (0b01, WBWA), (0b10, WT), (0b11, WB)];

    /// All 32 TEX/C/B combinations with their table meaning.
    fn all_texcb() -> alloc::vec::Vec<(u8, u8, u8, MemoryClassOrReserved)> {
        let mut v: alloc::vec::Vec<_> = table_b3_10_low().into_iter().collect();
        for (bb, outer) in TABLE_B3_11 {
            for (aa, inner) in TABLE_B3_11 {
                v.push((0b100 | bb, aa >> 1, aa & 1, normal(inner, outer)));
            }
        }
        assert_eq!(v.len(), 32);
        v
    }

    /// Table B3-8, written out: AP[2:0] → access.
    const TABLE_B3_8: [(u8, Option<Access>); 8] = [
        (0b000, Some(Access::NoAccess)),
        (0b001, Some(Access::KernelRw)),
        (0b010, Some(Access::KernelRwUserRo)),
        (0b011, Some(Access::UserRw)),
        (0b100, None),
        (0b101, Some(Access::KernelRo)),
        (0b110, Some(Access::UserRo)),
        (0b111, Some(Access::UserRo)),
    ];

    // Descriptor builders with explicit shifts, from the B3.5.1 figures.
    #[allow(clippy::too_many_arguments)]
    fn section(base: u32, tex: u8, c: u8, b: u8, ap: u8, xn: u8, domain: u32, pxn: u8) -> u32 {
        (base & 0xfff0_0000)
            | (tex as u32) << 12
            | ((ap as u32 >> 2) & 1) << 15
            | (ap as u32 & 3) << 10
            | domain << 5
            | (xn as u32) << 4
            | (c as u32) << 3
            | (b as u32) << 2
            | 1 << 1
            | pxn as u32
    }

    fn small(base: u32, tex: u8, c: u8, b: u8, ap: u8, xn: u8) -> u32 {
        (base & 0xffff_f000)
            | ((ap as u32 >> 2) & 1) << 9
            | (tex as u32) << 6
            | (ap as u32 & 3) << 4
            | (c as u32) << 3
            | (b as u32) << 2
            | 1 << 1
            | xn as u32
    }

    fn large(base: u32, tex: u8, c: u8, b: u8, ap: u8, xn: u8) -> u32 {
        (base & 0xffff_0000)
            | (xn as u32) << 15
            | (tex as u32) << 12
            | ((ap as u32 >> 2) & 1) << 9
            | (ap as u32 & 3) << 4
            | (c as u32) << 3
            | (b as u32) << 2
            | 1
    }

    fn page_table(l2: u32, domain: u32, pxn: u8) -> u32 {
        (l2 & 0xffff_fc00) | domain << 5 | (pxn as u32) << 2 | 1
    }

    #[test]
    fn example_from_the_brief() {
        // TEX=001 C=1 B=1 AP=011 XN=1: Normal WBWA/WBWA, full access.
        let raw = 0x4010_0000 | 0b001 << 12 | 1 << 3 | 1 << 2 | 0b11 << 10 | 1 << 4 | 0b10;
        let L1Entry::Section {
            base,
            domain,
            attrs,
        } = decode_l1(raw)
        else {
            panic!("not a section: {:?}", decode_l1(raw));
        };
        assert_eq!(base, 0x4010_0000);
        assert_eq!(domain, 0);
        assert_eq!(
            attrs.memory_class(),
            Some(MemoryClass::Normal {
                inner: WBWA,
                outer: WBWA
            })
        );
        assert_eq!(attrs.access, Some(Access::UserRw));
        assert!(attrs.xn && !attrs.pxn && !attrs.not_global && !attrs.ns);
    }

    #[test]
    fn table_b3_10_every_row_in_every_format() {
        for (tex, c, b, want) in all_texcb() {
            let s = section(0x8000_0000, tex, c, b, 0b001, 0, 0, 0);
            match decode_l1(s) {
                L1Entry::Section { attrs, .. } => {
                    assert_eq!(attrs.class, want, "section tex={tex:03b} c={c} b={b}");
                    assert_eq!((attrs.tex, attrs.c, attrs.b), (tex, c == 1, b == 1));
                }
                e => panic!("{e:?}"),
            }
            match decode_l2(small(0x8000_1000, tex, c, b, 0b001, 0)) {
                L2Entry::SmallPage { attrs, .. } => {
                    assert_eq!(attrs.class, want, "small tex={tex:03b} c={c} b={b}");
                    assert_eq!((attrs.tex, attrs.c, attrs.b), (tex, c == 1, b == 1));
                }
                e => panic!("{e:?}"),
            }
            match decode_l2(large(0x8001_0000, tex, c, b, 0b001, 0)) {
                L2Entry::LargePage { attrs, .. } => {
                    assert_eq!(attrs.class, want, "large tex={tex:03b} c={c} b={b}");
                    assert_eq!((attrs.tex, attrs.c, attrs.b), (tex, c == 1, b == 1));
                }
                e => panic!("{e:?}"),
            }
            assert_eq!(memory_class(tex, c == 1, b == 1), want);
        }
    }

    #[test]
    fn table_b3_11_inner_and_outer_are_not_swapped() {
        // TEX = 1BB with BB = 01 (outer WBWA), C:B = AA = 00 (inner NC).
        assert_eq!(memory_class(0b101, false, false), normal(NC, WBWA));
        // TEX = 100 (outer NC), AA = 01 (inner WBWA).
        assert_eq!(memory_class(0b100, false, true), normal(WBWA, NC));
        // TEX = 110 (outer WT), AA = 11 (inner WB no-WA).
        assert_eq!(memory_class(0b110, true, true), normal(WB, WT));
        for (enc, p) in TABLE_B3_11 {
            assert_eq!(cache_policy(enc), p);
        }
    }

    #[test]
    fn table_b3_8_every_ap_in_every_format() {
        for (ap, want) in TABLE_B3_8 {
            assert_eq!(access_from_ap(ap), want);
            let L1Entry::Section { attrs, .. } = decode_l1(section(0, 0b001, 1, 1, ap, 0, 0, 0))
            else {
                panic!()
            };
            assert_eq!(attrs.access, want, "section ap={ap:03b}");
            let L2Entry::SmallPage { attrs, .. } = decode_l2(small(0, 0b001, 1, 1, ap, 0)) else {
                panic!()
            };
            assert_eq!(attrs.access, want, "small ap={ap:03b}");
            let L2Entry::LargePage { attrs, .. } = decode_l2(large(0, 0b001, 1, 1, ap, 0)) else {
                panic!()
            };
            assert_eq!(attrs.access, want, "large ap={ap:03b}");
            let L1Entry::Supersection { attrs, .. } =
                decode_l1(section(0, 0b001, 1, 1, ap, 0, 0, 0) | 1 << 18)
            else {
                panic!()
            };
            assert_eq!(attrs.access, want, "supersection ap={ap:03b}");
        }
    }

    #[test]
    fn l1_fault_and_page_table() {
        assert_eq!(decode_l1(0), L1Entry::Fault);
        // Bits other than [1:0] do not matter for a fault entry.
        assert_eq!(decode_l1(0xffff_fffc), L1Entry::Fault);
        let raw = page_table(0x8123_4c00, 0xb, 1) | 1 << 3;
        assert_eq!(
            decode_l1(raw),
            L1Entry::PageTable {
                l2_base: 0x8123_4c00,
                domain: 0xb,
                pxn: true,
                ns: true
            }
        );
        // Without the PXN extension bit2 is SBZ and not reported.
        assert_eq!(
            decode_l1_with(page_table(0x400, 0, 1), false),
            L1Entry::PageTable {
                l2_base: 0x400,
                domain: 0,
                pxn: false,
                ns: false
            }
        );
        // bit9 (IMPLEMENTATION DEFINED) and bit4 are not part of the base.
        let L1Entry::PageTable { l2_base, .. } = decode_l1(0x8000_0000 | 1 << 9 | 1 << 4 | 1)
        else {
            panic!()
        };
        assert_eq!(l2_base, 0x8000_0000);
    }

    #[test]
    fn l1_section_fields() {
        let raw = section(0xfff0_0000, 0b000, 0, 1, 0b101, 1, 0xf, 1) | 1 << 16 | 1 << 17 | 1 << 19;
        let L1Entry::Section {
            base,
            domain,
            attrs,
        } = decode_l1(raw)
        else {
            panic!()
        };
        assert_eq!(base, 0xfff0_0000);
        assert_eq!(domain, 0xf);
        assert_eq!(
            attrs.class,
            MemoryClassOrReserved::Class(MemoryClass::Device { shareable: true })
        );
        assert_eq!(attrs.access, Some(Access::KernelRo));
        assert!(attrs.xn && attrs.pxn && attrs.shareable_bit && attrs.not_global && attrs.ns);
        // bits[1:0] = 10: PXN clear; 11: PXN set.
        let L1Entry::Section { attrs, .. } = decode_l1(0b10) else {
            panic!()
        };
        assert!(!attrs.pxn && !attrs.xn && !attrs.ns && !attrs.shareable_bit && !attrs.not_global);
        assert_eq!(attrs.access, Some(Access::NoAccess));
        assert_eq!(
            attrs.class,
            MemoryClassOrReserved::Class(MemoryClass::StronglyOrdered)
        );
        let L1Entry::Section { attrs, .. } = decode_l1(0b11) else {
            panic!()
        };
        assert!(attrs.pxn);
        // Without PXN, 11 is reserved and 10 never has PXN.
        assert_eq!(decode_l1_with(0b11, false), L1Entry::Reserved);
        let L1Entry::Section { attrs, .. } = decode_l1_with(0b10, false) else {
            panic!()
        };
        assert!(!attrs.pxn);
        // Each single attribute bit lands in exactly one field.
        let only = |n: u32| match decode_l1(0b10 | 1 << n) {
            L1Entry::Section {
                attrs,
                domain,
                base,
            } => (attrs, domain, base),
            e => panic!("bit {n}: {e:?}"),
        };
        assert!(only(4).0.xn);
        assert!(only(16).0.shareable_bit);
        assert!(only(17).0.not_global);
        assert!(only(19).0.ns);
        assert_eq!(only(15).0.access, None); // AP = 100
        assert_eq!(only(10).0.access, Some(Access::KernelRw));
        assert_eq!(only(11).0.access, Some(Access::KernelRwUserRo));
        assert_eq!(only(12).0.tex, 1);
        assert_eq!(only(14).0.tex, 4);
        assert!(only(3).0.c && !only(3).0.b);
        assert!(only(2).0.b && !only(2).0.c);
        assert_eq!(only(5).1, 1);
        assert_eq!(only(8).1, 8);
        assert_eq!(only(20).2, 0x0010_0000);
        assert_eq!(only(31).2, 0x8000_0000);
        assert_eq!(only(9), only(1)); // bit9 IMPLEMENTATION DEFINED: ignored
    }

    #[test]
    fn supersection_extended_base() {
        // PA[31:24] = 0xAB, PA[35:32] = 0x5 (bits 23:20), PA[39:36] = 0xC
        // (bits 8:5).
        let raw = 0xab00_0000
            | 0x5 << 20
            | 1 << 18
            | 0xc << 5
            | 0b001 << 12
            | 1 << 3
            | 1 << 2
            | 0b11 << 10
            | 0b10;
        let L1Entry::Supersection { base, attrs } = decode_l1(raw) else {
            panic!("{:?}", decode_l1(raw))
        };
        assert_eq!(base, 0xc5_ab00_0000);
        assert_eq!(
            attrs.memory_class(),
            Some(MemoryClass::Normal {
                inner: WBWA,
                outer: WBWA
            })
        );
        assert_eq!(attrs.access, Some(Access::UserRw));
        // A plain 32-bit supersection.
        let L1Entry::Supersection { base, .. } = decode_l1(0xff00_0000 | 1 << 18 | 0b10) else {
            panic!()
        };
        assert_eq!(base, 0xff00_0000);
        // The extended bits alone.
        let L1Entry::Supersection { base, .. } = decode_l1(0xf << 20 | 1 << 18 | 0b10) else {
            panic!()
        };
        assert_eq!(base, 0xf_0000_0000);
        let L1Entry::Supersection { base, .. } = decode_l1(0xf << 5 | 1 << 18 | 0b10) else {
            panic!()
        };
        assert_eq!(base, 0xf0_0000_0000);
    }

    #[test]
    fn l2_formats() {
        assert_eq!(decode_l2(0), L2Entry::Fault);
        assert_eq!(decode_l2(0xffff_fffc), L2Entry::Fault);
        // Small page, XN, nG, S, AP=111 (UserRo), TEX=101 C=0 B=1.
        let raw = small(0x1234_5000, 0b101, 0, 1, 0b111, 1) | 1 << 10 | 1 << 11;
        let L2Entry::SmallPage { base, attrs } = decode_l2(raw) else {
            panic!()
        };
        assert_eq!(base, 0x1234_5000);
        assert!(attrs.xn && attrs.not_global && attrs.shareable_bit && !attrs.pxn && !attrs.ns);
        assert_eq!(attrs.access, Some(Access::UserRo));
        assert_eq!(attrs.class, normal(WBWA, WBWA));
        // Small page with bit0 = 0 (bits[1:0] = 10): not XN.
        let L2Entry::SmallPage { attrs, .. } = decode_l2(0b10) else {
            panic!()
        };
        assert!(!attrs.xn);
        // Large page: XN is bit15, TEX is [14:12], bits [8:6] are SBZ.
        let raw = large(0xabcd_0000, 0b010, 0, 0, 0b011, 1) | 1 << 10 | 1 << 11;
        let L2Entry::LargePage { base, attrs } = decode_l2(raw) else {
            panic!()
        };
        assert_eq!(base, 0xabcd_0000);
        assert!(attrs.xn && attrs.not_global && attrs.shareable_bit);
        assert_eq!(attrs.tex, 0b010);
        assert_eq!(
            attrs.class,
            MemoryClassOrReserved::Class(MemoryClass::Device { shareable: false })
        );
        assert_eq!(attrs.access, Some(Access::UserRw));
        // bits[1:0] = 01 must not read as XN: XN clear here.
        let L2Entry::LargePage { attrs, .. } = decode_l2(large(0xabcd_0000, 0b001, 1, 1, 0b011, 0))
        else {
            panic!()
        };
        assert!(!attrs.xn);
        // Large page base excludes bits [15:12].
        let L2Entry::LargePage { base, attrs } = decode_l2(0xffff_f001) else {
            panic!()
        };
        assert_eq!(base, 0xffff_0000);
        assert!(attrs.xn);
        assert_eq!(attrs.tex, 0b111);
        // Small-page TEX bits [8:6] are not TEX for a large page.
        let L2Entry::LargePage { attrs, .. } = decode_l2(0b111 << 6 | 1) else {
            panic!()
        };
        assert_eq!(attrs.tex, 0);
    }

    /// A tiny memory model: two L1 tables and a few L2 tables.
    struct Tables {
        ttbr0: alloc::vec::Vec<u32>,
        ttbr1: alloc::vec::Vec<u32>,
        l2: alloc::vec::Vec<(u32, [u32; 256])>,
    }

    impl Tables {
        fn new(n: u8) -> Self {
            Tables {
                ttbr0: alloc::vec![0; 4096 >> n],
                ttbr1: alloc::vec![0; 4096],
                l2: alloc::vec::Vec::new(),
            }
        }
        fn walk(&self, va: u32, n: u8) -> Result<Translation, WalkFault> {
            walk(
                va,
                n,
                &|i| self.ttbr0[i], // panics if the index exceeds 4096 >> N
                &|i| self.ttbr1[i],
                &|base, i| {
                    self.l2
                        .iter()
                        .find(|(b, _)| *b == base)
                        .map(|(_, t)| t[i])
                        .expect("L2 table")
                },
            )
        }
    }

    fn tf(level: u8) -> Result<Translation, WalkFault> {
        Err(WalkFault {
            level,
            kind: FaultKind::Translation,
        })
    }

    #[test]
    fn ttbr_selection() {
        assert_eq!(ttbr_for(0xffff_ffff, 0), 0);
        assert_eq!(ttbr_for(0x7fff_ffff, 1), 0);
        assert_eq!(ttbr_for(0x8000_0000, 1), 1);
        assert_eq!(ttbr_for(0x3fff_ffff, 2), 0);
        assert_eq!(ttbr_for(0x4000_0000, 2), 1);
        assert_eq!(ttbr_for(0x01ff_ffff, 7), 0);
        assert_eq!(ttbr_for(0x0200_0000, 7), 1);
    }

    #[test]
    fn walk_both_ttbrs_n0_n1_n2() {
        for n in [0u8, 1, 2] {
            let mut t = Tables::new(n);
            let split: u64 = if n == 0 { 1 << 32 } else { 1u64 << (32 - n) };
            // TTBR0: section at VA 0x0010_0000 → PA 0x8000_0000.
            t.ttbr0[0x001] = section(0x8000_0000, 0b001, 1, 1, 0b011, 0, 1, 0);
            // TTBR0: page table at VA 0x0020_0000.
            t.ttbr0[0x002] = page_table(0x9000_0400, 2, 1);
            let mut l2 = [0u32; 256];
            l2[0x05] = small(0x9100_0000, 0b000, 1, 1, 0b010, 1);
            for e in &mut l2[0x10..0x20] {
                *e = large(0x9200_0000, 0b001, 0, 0, 0b001, 0);
            }
            t.l2.push((0x9000_0400, l2));
            // The last TTBR0 entry (VA just below the split).
            let last0 = (split - 1) as u32;
            t.ttbr0[(last0 >> 20) as usize] = section(0x8800_0000, 0, 0, 1, 0b001, 1, 0, 1);
            // TTBR1: section at the top of the address space.
            t.ttbr1[0xfff] = section(0xa000_0000, 0b000, 0, 1, 0b001, 1, 3, 1);
            // TTBR1 supersection at VA 0xc000_0000 (16 replicated entries).
            for i in 0xc00..0xc10 {
                t.ttbr1[i] = 0x1200_0000
                    | 0x3 << 20
                    | 1 << 18
                    | 0b001 << 12
                    | 1 << 3
                    | 1 << 2
                    | 0b01 << 10
                    | 0b10;
            }

            let r = t.walk(0x0012_3456, n).unwrap();
            assert_eq!(
                (r.pa, r.size, r.level, r.domain),
                (0x8002_3456, SIZE_1M, 1, 1)
            );
            assert_eq!(r.attrs.class, normal(WBWA, WBWA));

            let r = t.walk(0x0020_5abc, n).unwrap();
            assert_eq!(
                (r.pa, r.size, r.level, r.domain),
                (0x9100_0abc, SIZE_4K, 2, 2)
            );
            assert!(r.attrs.xn && r.attrs.pxn); // PXN from the L1 page-table entry
            assert_eq!(r.attrs.access, Some(Access::KernelRwUserRo));

            for va in [0x0021_0000u32, 0x0021_7ffc, 0x0021_fff0] {
                let r = t.walk(va, n).unwrap();
                assert_eq!(
                    (r.pa, r.size, r.level),
                    (0x9200_0000 | (va & 0xffff) as u64, SIZE_64K, 2)
                );
                assert_eq!(r.attrs.class, normal(NC, NC));
            }

            let r = t.walk(last0, n).unwrap();
            assert_eq!(r.pa, 0x8800_0000 | (last0 & 0xf_ffff) as u64);

            // Top of memory: TTBR1 unless N = 0, where TTBR0 is used.
            if n == 0 {
                // 0xffff_ffff is `last0` (TTBR0); the TTBR1 entries are unused.
                assert_eq!(t.walk(0xc000_0000, n), tf(1));
                assert_eq!(t.walk(0xfff0_1234, n).unwrap().pa, 0x8800_1234);
            } else {
                let r = t.walk(0xfff0_1234, n).unwrap();
                assert_eq!((r.pa, r.level, r.domain), (0xa000_1234, 1, 3));
                assert!(r.attrs.pxn && r.attrs.xn);
                assert_eq!(
                    r.attrs.class,
                    MemoryClassOrReserved::Class(MemoryClass::Device { shareable: true })
                );
                for va in [0xc000_0000u32, 0xc0ab_cdef, 0xc0ff_ffff] {
                    let r = t.walk(va, n).unwrap();
                    assert_eq!(r.pa, 0x3_1200_0000 | (va & 0xff_ffff) as u64);
                    assert_eq!((r.size, r.level, r.domain), (SIZE_16M, 1, 0));
                    assert_eq!(r.attrs.class, normal(WBWA, WBWA));
                }
                // First VA at the split goes to TTBR1 (empty there).
                assert_eq!(t.walk(split as u32, n), tf(1));
            }

            // Faults: L1 fault entry, L2 fault entry.
            assert_eq!(t.walk(0x0030_0000, n), tf(1));
            assert_eq!(t.walk(0x0020_6000, n), tf(2));
            assert_eq!(t.walk(0x0020_4fff, n), tf(2));
        }
    }

    #[test]
    fn check_access_domains_and_permissions() {
        let mut t = Tables::new(0);
        t.ttbr0[1] = section(0x8000_0000, 0b001, 1, 1, 0b010, 0, 1, 0); // K:RW U:R-
        t.ttbr0[2] = page_table(0x9000_0000, 2, 1);
        let mut l2 = [0u32; 256];
        l2[0] = small(0x9100_0000, 0b001, 1, 1, 0b011, 0); // U:RW, executable, PXN via L1
        l2[1] = small(0x9100_1000, 0b001, 1, 1, 0b100, 0); // reserved AP
        l2[2] = small(0x9100_2000, 0b001, 1, 1, 0b011, 1); // XN
        t.l2.push((0x9000_0000, l2));
        let sec = t.walk(0x0010_0000, 0).unwrap();
        let page = t.walk(0x0020_0000, 0).unwrap();
        let resv = t.walk(0x0020_1000, 0).unwrap();
        let xn = t.walk(0x0020_2000, 0).unwrap();
        let client = 0b01 << 2 | 0b01 << 4; // domains 1 and 2 client
        let perm = |level| {
            Err(WalkFault {
                level,
                kind: FaultKind::Permission,
            })
        };
        let dom = |level| {
            Err(WalkFault {
                level,
                kind: FaultKind::Domain,
            })
        };
        use AccessKind::*;
        assert_eq!(check_access(&sec, client, Read, false), Ok(()));
        assert_eq!(check_access(&sec, client, Write, false), perm(1));
        assert_eq!(check_access(&sec, client, Write, true), Ok(()));
        assert_eq!(check_access(&sec, 0, Read, true), dom(1)); // no access
        assert_eq!(check_access(&sec, 0b10 << 2, Read, true), dom(1)); // reserved
        assert_eq!(check_access(&sec, 0b11 << 2, Write, false), Ok(())); // manager
        assert_eq!(check_access(&page, client, Write, false), Ok(()));
        assert_eq!(check_access(&page, client, Execute, false), Ok(()));
        assert_eq!(check_access(&page, client, Execute, true), perm(2)); // PXN
        assert_eq!(check_access(&page, 0b01 << 2, Read, false), dom(2));
        assert_eq!(check_access(&resv, client, Read, true), perm(2));
        assert_eq!(check_access(&xn, client, Execute, false), perm(2));
        assert_eq!(check_access(&xn, client, Read, false), Ok(()));
    }
}
