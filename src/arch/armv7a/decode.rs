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
mod tests;
