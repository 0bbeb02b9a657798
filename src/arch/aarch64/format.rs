//! The VMSAv8-64 format (4 KiB granule, 39-bit VAs) for the neutral table
//! engine ([`crate::mm::pagetable`]): three levels of 512-entry, 4 KiB
//! tables, indexed by VA[38:30] (1 GiB blocks), VA[29:21] (2 MiB blocks)
//! and VA[20:12] (4 KiB pages). A TTBR1 table holds the top 512 GiB; its
//! VAs index the same bits, the upper ones being all ones. Encoders live
//! in [`super::desc`].

use super::desc::{self, Kind, ENTRIES, L1_BLOCK_SIZE, L2_BLOCK_SIZE, PAGE_SIZE};
use crate::mm::memtype::MapAttrs;
use crate::mm::pagetable::{self, Entry, Format, MapError};
use crate::mm::planner::PlanError;

/// The VMSAv8-64 descriptor format. Table descriptors carry no attribute
/// bits here (APTable/XNTable unused).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Vmsa64;

/// A VMSAv8-64 translation table (TTBR0_EL1 or TTBR1_EL1).
pub type Table = pagetable::Table<Vmsa64>;

/// Block sizes a mapping may use, largest first: 1 GiB, 2 MiB, 4 KiB.
pub const GRANULES: [u64; 3] = [L1_BLOCK_SIZE, L2_BLOCK_SIZE, PAGE_SIZE];

fn encode_err(e: desc::EncodeError) -> MapError {
    match e {
        desc::EncodeError::Unsupported => MapError::Unsupported,
        _ => MapError::Plan(PlanError::Misaligned),
    }
}

impl Format for Vmsa64 {
    const ENTRY_BYTES: u64 = 8;
    const ROOT_LEVEL: u8 = 1;
    const LEAF_LEVEL: u8 = 3;
    const PA_BITS: u32 = desc::PA_BITS;

    fn entry_shift(level: u8) -> u32 {
        match level {
            1 => 30,
            2 => 21,
            _ => 12,
        }
    }

    fn entries(_level: u8) -> u64 {
        ENTRIES as u64
    }

    fn is_valid(raw: u64) -> bool {
        raw & 1 != 0
    }

    fn decode(raw: u64, level: u8) -> Entry {
        match desc::kind(raw, level) {
            Kind::Invalid => Entry::Invalid,
            Kind::Table { next_pa } => Entry::Table { next_pa },
            Kind::Block | Kind::Page => Entry::Block {
                pa: desc::output_address(raw, level),
                size: desc::level_size(level),
            },
        }
    }

    fn block_pxn(_raw: u64, _level: u8) -> bool {
        false
    }

    fn block_sizes(&self) -> &'static [u64] {
        &GRANULES
    }

    fn encode_block(
        &self,
        level: u8,
        _size: u64,
        pa: u64,
        attrs: MapAttrs,
    ) -> Result<u64, MapError> {
        match level {
            3 => desc::page(pa, attrs),
            l => desc::block(l, pa, attrs),
        }
        .map_err(encode_err)
    }

    fn encode_table(&self, next_pa: u64, _level: u8, _pxn: bool) -> Result<u64, MapError> {
        desc::table(next_pa).map_err(|_| MapError::NoMemory)
    }

    fn split_block(&self, raw: u64, level: u8, _size: u64, offset: u64) -> u64 {
        desc::block_to_smaller(raw, level, offset)
    }

    /// The output address is bits [47:n] of a page or block descriptor,
    /// the address itself (D8.3.1; 48-bit PAs: no bits elsewhere).
    fn with_output_address(&self, template: u64, _level: u8, _size: u64, pa: u64) -> Option<u64> {
        (pa >> 48 == 0).then_some(template | pa)
    }
}
