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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShortDescriptor {
    pub domain: u8,
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
        attrs: MapAttrs,
    ) -> Result<u64, MapError> {
        match size as u32 {
            SUPERSECTION_SIZE => desc::supersection(pa, attrs),
            SECTION_SIZE => desc::section(pa as u32, attrs, self.domain),
            LARGE_PAGE_SIZE => desc::large_page(pa as u32, attrs),
            _ => desc::small_page(pa as u32, attrs),
        }
        .map(u64::from)
        .map_err(|_| MapError::NoMemory)
    }

    fn encode_table(&self, next_pa: u64, _level: u8, pxn: bool) -> Result<u64, MapError> {
        desc::page_table(next_pa as u32, self.domain, pxn)
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
