//! Independent decoder for VMSAv8-64 stage 1 translation tables, 4 KiB
//! granule (the EL1&0 regime this kernel uses: T0SZ = T1SZ = 25, 39-bit
//! VAs, walks starting at level 1).
//!
//! Written straight from the Arm Architecture Reference Manual for
//! A-profile (DDI 0487), *not* from `desc.rs` (the encoder), so that a
//! self-test that encodes with one and decodes with the other checks both
//! against the manual:
//!
//! * D8.3 "Translation table descriptor formats" (4 KiB granule, 48-bit
//!   OA, no FEAT_LPA2): bits[1:0] `x0` invalid; `01` block at levels 1 and
//!   2 (reserved at level 3, and at level 0 without FEAT_LPA2); `11` table
//!   at levels 0..2, page at level 3.
//! * D8.4.1 "Memory access control", stage 1 AP[2:1] (direct permissions),
//!   PXN/UXN, and D8.4.2 "Hierarchical permissions" (APTable, PXNTable,
//!   UXNTable).
//! * D8.5 / MAIR_EL1 (D17.2.97) "Attr<n>" encodings.
//! * PAR_EL1 (D17.2.113), both formats.
//!
//! ```text
//! table   |NST 63|APTable 62:61|UXNT 60|PXNT 59|ign 58:52|RES0 51:48|next-level table 47:12|ign 11:2|1 1|
//! block   |ign 63:55|UXN 54|PXN 53|Cont 52|DBM 51|RES0 50:48|OA 47:n|RES0 n-1:16|nT|RES0|nG 11|AF 10|SH 9:8|AP 7:6|NS 5|AttrIndx 4:2|0 1|
//!           (n = 30 at level 1, 21 at level 2)
//! page    |ign 63:55|UXN 54|PXN 53|Cont 52|DBM 51|RES0 50:48|OA 47:12|nG 11|AF 10|SH 9:8|AP 7:6|NS 5|AttrIndx 4:2|1 1|
//! ```
//!
//! Not modelled: TCR_EL1.TBI (callers strip tags), TCR_EL1.IPS (output
//! address bits above 47 are RES0 and ignored, so no address size faults),
//! TCR_EL1.HA/HD (no hardware AF/dirty update: AF = 0 is an Access flag
//! fault in [`check_access`]), SCTLR_EL1.WXN and PSTATE.PAN.

use crate::arch::aarch64::fault::{decode_fsc, FscMeaning};
use crate::mm::fault::{AccessKind, FaultKind};
use crate::mm::memtype::{Access, CachePolicy, MemoryClass};

/// Output address bits [47:12] of a table or page descriptor.
pub const OA_MASK: u64 = 0x0000_ffff_ffff_f000;

pub const SIZE_4K: u64 = 1 << 12;
pub const SIZE_2M: u64 = 1 << 21;
pub const SIZE_1G: u64 = 1 << 30;
pub const SIZE_512G: u64 = 1 << 39;

/// The stage 1 attributes of a block or page descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Attrs {
    /// AttrIndx[2:0], bits [4:2]: which MAIR_EL1 byte gives the memory type.
    pub attr_index: u8,
    /// AP[2:1], bits [7:6] (see [`access_of`]).
    pub ap: u8,
    /// SH[1:0], bits [9:8]: 00 non-shareable, 10 outer, 11 inner
    /// (01 reserved).
    pub sh: u8,
    /// Access flag, bit 10.
    pub af: bool,
    /// Not global, bit 11.
    pub ng: bool,
    /// Privileged execute-never, bit 53.
    pub pxn: bool,
    /// Unprivileged execute-never (XN), bit 54.
    pub uxn: bool,
    /// Contiguous hint, bit 52. A hint only: the translation size stays
    /// the descriptor's own.
    pub contiguous: bool,
}

impl Attrs {
    /// The attribute fields of a block or page descriptor (lower attributes
    /// [11:2], upper attributes [54:52]).
    pub const fn from_descriptor(raw: u64) -> Self {
        Attrs {
            attr_index: ((raw >> 2) & 0b111) as u8,
            ap: ((raw >> 6) & 0b11) as u8,
            sh: ((raw >> 8) & 0b11) as u8,
            af: (raw >> 10) & 1 != 0,
            ng: (raw >> 11) & 1 != 0,
            contiguous: (raw >> 52) & 1 != 0,
            pxn: (raw >> 53) & 1 != 0,
            uxn: (raw >> 54) & 1 != 0,
        }
    }
}

/// One decoded descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// bits[0] = 0.
    Invalid,
    /// Next-level table (levels 0..2).
    Table {
        /// Physical address of the next-level table, bits [47:12].
        next: u64,
        /// PXNTable, bit 59.
        pxn_table: bool,
        /// UXNTable (XNTable), bit 60.
        uxn_table: bool,
        /// APTable[1:0], bits [62:61].
        ap_table: u8,
    },
    /// 1 GiB (level 1) or 2 MiB (level 2) block.
    Block { oa: u64, attrs: Attrs },
    /// 4 KiB page (level 3).
    Page { oa: u64, attrs: Attrs },
    /// bits[1:0] = 01 at level 3 or level 0, or a level above 3: treated
    /// by the MMU as invalid (a Translation fault).
    Reserved,
}

/// Decode one descriptor read at `level` (0..=3).
pub const fn decode(raw: u64, level: u8) -> Entry {
    if level > 3 {
        return Entry::Reserved;
    }
    match (raw & 0b11, level) {
        (0b00 | 0b10, _) => Entry::Invalid,
        (0b11, 0..=2) => Entry::Table {
            next: raw & OA_MASK,
            pxn_table: (raw >> 59) & 1 != 0,
            uxn_table: (raw >> 60) & 1 != 0,
            ap_table: ((raw >> 61) & 0b11) as u8,
        },
        (0b11, _) => Entry::Page {
            oa: raw & OA_MASK,
            attrs: Attrs::from_descriptor(raw),
        },
        (_, 1 | 2) => Entry::Block {
            oa: raw & OA_MASK & !(level_size(level) - 1),
            attrs: Attrs::from_descriptor(raw),
        },
        _ => Entry::Reserved,
    }
}

/// Bytes mapped by one entry at `level` (4 KiB granule): 512 GiB, 1 GiB,
/// 2 MiB, 4 KiB for levels 0..3.
pub const fn level_size(level: u8) -> u64 {
    1 << (12 + 9 * (3 - (level & 3) as u32))
}

/// Stage 1 AP[2:1] → permissions (D8.4.1, direct permissions):
/// `00` EL1 RW / EL0 none, `01` RW / RW, `10` EL1 RO / EL0 none,
/// `11` RO / RO. Only the low two bits of `ap` are used.
pub const fn access_of(ap: u8) -> Access {
    match ap & 0b11 {
        0b00 => Access::KernelRw,
        0b01 => Access::UserRw,
        0b10 => Access::KernelRo,
        _ => Access::UserRo,
    }
}

/// One MAIR cache-policy nibble (outer [7:4] or inner [3:0]) of Normal
/// memory; `None` for 0000 (not Normal: Device or UNPREDICTABLE).
///
/// `0100` Non-cacheable; `00RW` (RW ≠ 00) Write-Through transient; `01RW`
/// (RW ≠ 00) Write-Back transient; `10RW` Write-Through non-transient;
/// `11RW` Write-Back non-transient. R/W are the read/write-allocate hints.
///
/// Mapping to the neutral [`CachePolicy`]: the transient hint and the
/// read-allocate hint are dropped; Write-Back keeps W (`WriteBackWriteAlloc`
/// / `WriteBackNoWriteAlloc`); **every Write-Through is
/// `WriteThroughNoWriteAlloc`**, W = 1 included, because the neutral
/// vocabulary has a single write-through policy (ARMv7's, which has no
/// write-allocate) and so an encoder may pick either W for it.
pub const fn cache_policy_of_nibble(n: u8) -> Option<CachePolicy> {
    let n = n & 0xf;
    if n == 0b0000 {
        None
    } else if n == 0b0100 {
        Some(CachePolicy::NonCacheable)
    } else if n & 0b0100 == 0 {
        // 00RW (RW != 00) and 10RW: Write-Through.
        Some(CachePolicy::WriteThroughNoWriteAlloc)
    } else if n & 0b0001 != 0 {
        // 01RW (RW != 00) and 11RW with W = 1: Write-Back, write-allocate.
        Some(CachePolicy::WriteBackWriteAlloc)
    } else {
        Some(CachePolicy::WriteBackNoWriteAlloc)
    }
}

/// One MAIR_ELx attribute byte → memory class.
///
/// * `0000dd00`: Device; `dd` = 00 nGnRnE → [`MemoryClass::StronglyOrdered`];
///   01 nGnRE, 10 nGRE, 11 GRE → `Device { shareable: true }` (Device
///   memory is always Outer Shareable in VMSAv8-64).
/// * `0000ddxx` with xx ≠ 00: UNPREDICTABLE → `None`.
/// * `oooo iiii` with both nibbles ≠ 0000: Normal, outer and inner policy
///   from [`cache_policy_of_nibble`].
/// * `oooo 0000` with oooo ≠ 0000: UNPREDICTABLE in the base architecture
///   → `None`. (FEAT_XS gives 0x40 and 0xA0 meanings, FEAT_MTE2 gives 0xF0
///   "Tagged Normal"; this kernel uses none of them.)
pub const fn class_of_mair_byte(b: u8) -> Option<MemoryClass> {
    let outer = b >> 4;
    let inner = b & 0xf;
    if outer == 0 {
        return match b {
            0x00 => Some(MemoryClass::StronglyOrdered),
            0x04 | 0x08 | 0x0c => Some(MemoryClass::Device { shareable: true }),
            _ => None,
        };
    }
    match (cache_policy_of_nibble(outer), cache_policy_of_nibble(inner)) {
        (Some(outer), Some(inner)) => Some(MemoryClass::Normal { inner, outer }),
        _ => None,
    }
}

/// The result of a successful walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Translation {
    /// Physical address of `va` itself (the block/page base plus offset).
    pub pa: u64,
    /// Size of the block or page that matched: 1 GiB, 2 MiB or 4 KiB.
    pub size: u64,
    /// Level of the block or page descriptor (1, 2 or 3).
    pub level: u8,
    /// The **effective** attributes: the leaf's bits with the hierarchical
    /// controls of every table descriptor on the way folded in (D8.4.2):
    /// `pxn |= PXNTable`, `uxn |= UXNTable`, APTable[1] (bit 62) forces
    /// AP[2] = 1 (read-only), APTable[0] (bit 61) forces AP[1] = 0 (no EL0
    /// access), each OR-ed over all levels.
    pub attrs: Attrs,
    /// The block/page descriptor's own attributes, before folding.
    pub leaf: Attrs,
}

/// Why a walk or an access check failed: what the MMU would report in the
/// DFSC/IFSC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WalkFault {
    pub level: u8,
    pub kind: FaultKind,
}

/// Which half translates `va` (4 KiB granule, TBI off): VA[55] selects
/// TTBR0 (0) or TTBR1 (1), and VA[63:64-TnSZ] must all equal it, else
/// `None` (a level 0 Translation fault). TnSZ is clamped to 16..=39 (the
/// 4 KiB-granule range without FEAT_LPA2/FEAT_TTST), one of the behaviours
/// the architecture allows for out-of-range values.
pub const fn ttbr_for(va: u64, t0sz: u8, t1sz: u8) -> Option<u8> {
    let upper = (va >> 55) & 1 != 0;
    let tsz = clamp_tsz(if upper { t1sz } else { t0sz });
    let top = va >> (64 - tsz as u32);
    let ones = (1u64 << tsz) - 1;
    match (upper, top) {
        (false, 0) => Some(0),
        (true, t) if t == ones => Some(1),
        _ => None,
    }
}

const fn clamp_tsz(tsz: u8) -> u8 {
    if tsz < 16 {
        16
    } else if tsz > 39 {
        39
    } else {
        tsz
    }
}

/// The level a walk starts at for TnSZ (4 KiB granule): 0 for 40..48-bit
/// inputs, 1 for 31..39 (TnSZ = 25 → 1), 2 for 25..30.
pub const fn start_level(tsz: u8) -> u8 {
    let ia = 64 - clamp_tsz(tsz) as u32;
    (3 - (ia - 13) / 9) as u8
}

/// Walk the tables for `va` as the MMU would, from the start level given
/// by T0SZ/T1SZ (TTBR0 for VA[63:64-T0SZ] all 0, TTBR1 for VA[63:64-T1SZ]
/// all 1, else a level 0 Translation fault).
///
/// `read_ttbr0_root(i)` / `read_ttbr1_root(i)` return entry `i` of the
/// root table, `read_table(pa, i)` entry `i` of the table at `pa`. Invalid
/// and reserved descriptors give a Translation fault at their level.
/// Access flag and permissions are not checked here: see [`check_access`];
/// [`Translation::attrs`] has the hierarchical controls folded in.
pub fn walk(
    va: u64,
    t0sz: u8,
    t1sz: u8,
    read_ttbr0_root: &dyn Fn(usize) -> u64,
    read_ttbr1_root: &dyn Fn(usize) -> u64,
    read_table: &dyn Fn(u64, usize) -> u64,
) -> Result<Translation, WalkFault> {
    let fault = |level| WalkFault {
        level,
        kind: FaultKind::Translation,
    };
    let (half, tsz) = match ttbr_for(va, t0sz, t1sz) {
        Some(0) => (0, clamp_tsz(t0sz)),
        Some(_) => (1, clamp_tsz(t1sz)),
        None => return Err(fault(0)),
    };
    let ia = 64 - tsz as u32;
    let mut level = start_level(tsz);
    let mut table: Option<u64> = None;
    let (mut pxn_t, mut uxn_t, mut ap_t) = (false, false, 0u8);
    loop {
        let shift = 12 + 9 * (3 - level as u32);
        // At the start level the index takes every remaining input bit.
        let bits = if table.is_none() { ia - shift } else { 9 };
        let index = ((va >> shift) & ((1 << bits) - 1)) as usize;
        let raw = match table {
            None if half == 0 => read_ttbr0_root(index),
            None => read_ttbr1_root(index),
            Some(pa) => read_table(pa, index),
        };
        let (oa, leaf) = match decode(raw, level) {
            Entry::Invalid | Entry::Reserved => return Err(fault(level)),
            Entry::Table {
                next,
                pxn_table,
                uxn_table,
                ap_table,
            } => {
                pxn_t |= pxn_table;
                uxn_t |= uxn_table;
                ap_t |= ap_table;
                table = Some(next);
                level += 1;
                continue;
            }
            Entry::Block { oa, attrs } | Entry::Page { oa, attrs } => (oa, attrs),
        };
        let size = level_size(level);
        let mut attrs = leaf;
        attrs.pxn |= pxn_t;
        attrs.uxn |= uxn_t;
        attrs.ap = (attrs.ap | (ap_t & 0b10)) & !(ap_t & 0b01);
        return Ok(Translation {
            pa: oa | (va & (size - 1)),
            size,
            level,
            attrs,
            leaf,
        });
    }
}

/// The checks that follow a successful walk, in the architecture's
/// priority order: Access flag (AF = 0 → Access flag fault, no hardware
/// AF update), then permissions (D8.4.1): reads and writes from
/// [`access_of`]; an EL0 fetch needs UXN = 0 only (execute-only memory
/// exists: AP = 00 with UXN = 0); an EL1 fetch needs PXN = 0 and the page
/// not writable at EL0 (AP = 01 implies PXN for EL1&0 stage 1).
pub fn check_access(
    t: &Translation,
    access: AccessKind,
    privileged: bool,
) -> Result<(), WalkFault> {
    let fault = |kind| {
        Err(WalkFault {
            level: t.level,
            kind,
        })
    };
    if !t.attrs.af {
        return fault(FaultKind::AccessFlag);
    }
    let a = access_of(t.attrs.ap).allows();
    let ok = match (access, privileged) {
        (AccessKind::Read, true) => a.kernel_read,
        (AccessKind::Read, false) => a.user_read,
        (AccessKind::Write, true) => a.kernel_write,
        (AccessKind::Write, false) => a.user_write,
        (AccessKind::Execute, true) => !t.attrs.pxn && !a.user_write,
        (AccessKind::Execute, false) => !t.attrs.uxn,
    };
    if ok {
        Ok(())
    } else {
        fault(FaultKind::Permission)
    }
}

/// PAR_EL1 after an `AT` instruction, both formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Par {
    /// F, bit 0: the translation failed.
    pub fault: bool,
    /// F = 1: FST, bits [6:1] (a DFSC value, see [`Par::fault_meaning`]);
    /// 0 otherwise.
    pub fst: u8,
    /// F = 0: PA bits [51:12] (bits [51:48] are RES0 without FEAT_LPA);
    /// 0 on a fault.
    pub pa: u64,
    /// F = 0: ATTR, bits [63:56], a MAIR-format byte (see
    /// [`class_of_mair_byte`]); 0 on a fault (IMPLEMENTATION DEFINED there).
    pub attr: u8,
    /// F = 0: SH, bits [8:7]; 0 on a fault.
    pub sh: u8,
    /// F = 0: NS, bit 9. F = 1: S, bit 9 (fault was at stage 2).
    pub ns_or_s2: bool,
    /// F = 1: PTW, bit 8 (stage 2 fault on a stage 1 walk); false otherwise.
    pub ptw: bool,
}

impl Par {
    /// What FST says (F = 1); for a successful translation, FST is 0,
    /// which decodes as an address size fault: check `fault` first.
    pub const fn fault_meaning(&self) -> FscMeaning {
        decode_fsc(self.fst)
    }
}

/// Decode PAR_EL1 (D17.2.113).
///
/// ```text
/// F = 0: |ATTR 63:56|IMPDEF 55:52|PA 51:12|RES1 11|IMPDEF/NSE 10|NS 9|SH 8:7|RES0 6:1|0|
/// F = 1: |IMPDEF 63:48         |RES0 47:12|RES1 11|IMPDEF 10|S 9|PTW 8|RES0 7|FST 6:1|1|
/// ```
pub const fn par_el1(par: u64) -> Par {
    if par & 1 != 0 {
        Par {
            fault: true,
            fst: ((par >> 1) & 0x3f) as u8,
            pa: 0,
            attr: 0,
            sh: 0,
            ns_or_s2: (par >> 9) & 1 != 0,
            ptw: (par >> 8) & 1 != 0,
        }
    } else {
        Par {
            fault: false,
            fst: 0,
            pa: par & 0x000f_ffff_ffff_f000,
            attr: (par >> 56) as u8,
            sh: ((par >> 7) & 0b11) as u8,
            ns_or_s2: (par >> 9) & 1 != 0,
            ptw: false,
        }
    }
}

#[cfg(test)]
mod tests;
