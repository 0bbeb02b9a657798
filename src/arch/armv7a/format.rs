//! The short-descriptor format for the neutral table engine
//! ([`crate::mm::pagetable`]): two levels, a 4096-entry L1 table of 1 MiB
//! entries (16 MiB supersections are 16 identical entries, 1 MiB sections
//! one) and 256-entry, 1 KiB L2 tables of 4 KiB entries (64 KiB large
//! pages are 16 identical entries). Encoders live in [`super::desc`].

use super::desc::{
    self, L1Kind, LARGE_PAGE_SIZE, SECTION_SIZE, SMALL_PAGE_SIZE, SUPERSECTION_SIZE,
};
use crate::mm::memtype::MapAttrs;
use crate::mm::pagetable::{self, Entry, Format, MapError};
use crate::mm::planner;

/// One table's view of the format: the domain its sections and L1
/// page-table entries carry. Supersections carry no domain, so only
/// domain-0 tables use them.
///
/// `pxn`: whether the CPU implements the PXN attribute in this format
/// (ID_MMFR0.VMSA >= 0b0100, [`pxn_implemented`]). Without it (Cortex-A9,
/// ID_MMFR0.VMSA = 0b0011) bit 0 of a section is not PXN: the first-level
/// encoding bits[1:0] = 0b11 is a section only with the PXN extension and
/// is reserved otherwise (ARM ARM B3.5.1, first-level descriptor formats;
/// QEMU and the A9 give a section translation fault), and bit 2 of a
/// page-table descriptor is SBZ. So
/// the encoders' PXN request is dropped there: privileged execution of a
/// mapping is then controlled by XN alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShortDescriptor {
    pub domain: u8,
    pub pxn: bool,
}

impl ShortDescriptor {
    /// The format of this CPU's tables for `domain`.
    #[cfg(target_arch = "arm")]
    pub fn this_cpu(domain: u8) -> Self {
        ShortDescriptor {
            domain,
            pxn: pxn_implemented(),
        }
    }
}

/// ID_MMFR0 "VMSA support", bits [3:0] (ARM ARM B4.1, ID_MMFR0): 0b0011
/// VMSAv7, 0b0100 VMSAv7 with the PXN bit, 0b0101 also with the
/// Long-descriptor format. The Cortex-A9 (no LPAE) reports 0b0011
/// (its TRM's ID_MMFR0 reset value 0x00100103); Cortex-A7/A15 0b0101.
pub const fn vmsa_has_pxn(id_mmfr0: u32) -> bool {
    id_mmfr0 & 0xf >= 0b0100
}

/// Whether this CPU implements PXN in the short-descriptor format.
#[cfg(target_arch = "arm")]
pub fn pxn_implemented() -> bool {
    static PXN: spin::Once<bool> = spin::Once::new();
    *PXN.call_once(|| vmsa_has_pxn(super::cp15::IdMmfr0::read()))
}

/// A short-descriptor translation table (TTBR0 or TTBR1).
pub type Table = pagetable::Table<ShortDescriptor>;

/// Block sizes of a table in a domain other than 0: no supersections.
const NO_SUPERSECTIONS: [u64; 3] = [SECTION_SIZE as u64, LARGE_PAGE_SIZE as u64, 4 << 10];

impl Format for ShortDescriptor {
    const ENTRY_BYTES: u64 = 4;
    const ROOT_LEVEL: u8 = 1;
    const LEAF_LEVEL: u8 = 2;
    const PA_BITS: u32 = 32;

    fn entry_shift(level: u8) -> u32 {
        if level == 1 {
            20
        } else {
            12
        }
    }

    fn entries(level: u8) -> u64 {
        if level == 1 {
            desc::L1_ENTRIES as u64
        } else {
            desc::L2_ENTRIES as u64
        }
    }

    fn is_valid(raw: u64) -> bool {
        raw & 0b11 != 0
    }

    fn decode(raw: u64, level: u8) -> Entry {
        let r = raw as u32;
        if level == 1 {
            match desc::l1_kind(r) {
                L1Kind::Fault => Entry::Invalid,
                L1Kind::PageTable { l2_pa } => Entry::Table {
                    next_pa: l2_pa as u64,
                },
                L1Kind::Section => Entry::Block {
                    pa: desc::section_pa(r) as u64,
                    size: SECTION_SIZE as u64,
                },
                L1Kind::Supersection => Entry::Block {
                    pa: (r & !(SUPERSECTION_SIZE - 1)) as u64,
                    size: SUPERSECTION_SIZE as u64,
                },
            }
        } else {
            match r & 0b11 {
                0b00 => Entry::Invalid,
                0b01 => Entry::Block {
                    pa: (r & !(LARGE_PAGE_SIZE - 1)) as u64,
                    size: LARGE_PAGE_SIZE as u64,
                },
                _ => Entry::Block {
                    pa: desc::small_page_pa(r) as u64,
                    size: SMALL_PAGE_SIZE as u64,
                },
            }
        }
    }

    fn block_pxn(raw: u64, level: u8) -> bool {
        // Sections and supersections: PXN is bit 0 (B3.5.1).
        level == 1 && raw & 1 != 0
    }

    fn block_sizes(&self) -> &'static [u64] {
        if self.domain == 0 {
            &planner::ARMV7_GRANULES
        } else {
            &NO_SUPERSECTIONS
        }
    }

    fn encode_block(
        &self,
        _level: u8,
        size: u64,
        pa: u64,
        mut attrs: MapAttrs,
    ) -> Result<u64, MapError> {
        // Without the PXN extension, bit 0 of a section would make it a
        // reserved (faulting) descriptor: see [`ShortDescriptor`].
        attrs.privileged_execute_never &= self.pxn;
        match size as u32 {
            SUPERSECTION_SIZE => desc::supersection(pa, attrs),
            SECTION_SIZE => desc::section(pa as u32, attrs, self.domain),
            LARGE_PAGE_SIZE => desc::large_page(pa as u32, attrs),
            _ => desc::small_page(pa as u32, attrs),
        }
        .map(u64::from)
        .map_err(|_| MapError::NoMemory)
    }

    /// Sections (bits [31:20]), large pages ([31:16]) and small pages
    /// ([31:12]) hold the address itself (B3.5.1); a supersection's
    /// extended address bits [39:32] live elsewhere: encoded in full.
    fn with_output_address(&self, template: u64, _level: u8, size: u64, pa: u64) -> Option<u64> {
        (size as u32 != SUPERSECTION_SIZE && pa >> 32 == 0).then_some(template | pa)
    }

    fn encode_table(&self, next_pa: u64, _level: u8, pxn: bool) -> Result<u64, MapError> {
        // Bit 2 is SBZ without the PXN extension (B3.5.1).
        desc::page_table(next_pa as u32, self.domain, pxn && self.pxn)
            .map(u64::from)
            .map_err(|_| MapError::NoMemory)
    }

    fn split_block(&self, raw: u64, _level: u8, size: u64, offset: u64) -> u64 {
        let (r, off) = (raw as u32, offset as u32);
        (match size as u32 {
            SUPERSECTION_SIZE => desc::supersection_to_section(r, off, self.domain),
            LARGE_PAGE_SIZE => desc::large_to_small(r, off),
            _ => desc::section_to_small(r, off),
        }) as u64
    }
}
