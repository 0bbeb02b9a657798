//! ESR_EL1 decoding (ARM ARM DDI 0487, D17.2.37; ISS for Data and
//! Instruction Aborts, DFSC/IFSC table) into the neutral fault vocabulary.

use crate::mm::fault::{AccessKind, FaultInfo, FaultKind};

/// Exception class, ESR_EL1[31:26].
pub const fn ec(esr: u64) -> u8 {
    ((esr >> 26) & 0x3f) as u8
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Svc,
    DataAbort { lower: bool },
    InstructionAbort { lower: bool },
    PcAlignment,
    SpAlignment,
    Undefined,
    FpAccess,
    SysRegTrap,
    Brk,
    Other(u8),
}

pub const fn class(esr: u64) -> Class {
    match ec(esr) {
        0x00 | 0x0E => Class::Undefined,
        0x07 => Class::FpAccess,
        0x15 => Class::Svc,
        0x18 => Class::SysRegTrap,
        0x20 => Class::InstructionAbort { lower: true },
        0x21 => Class::InstructionAbort { lower: false },
        0x22 => Class::PcAlignment,
        0x24 => Class::DataAbort { lower: true },
        0x25 => Class::DataAbort { lower: false },
        0x26 => Class::SpAlignment,
        0x3C => Class::Brk,
        other => Class::Other(other),
    }
}

/// (kind, level) of a DFSC/IFSC value, ISS[5:0].
pub const fn fsc(code: u8) -> (FaultKind, Option<u8>) {
    let level = Some(code & 3);
    match code {
        // Address size fault: Linux arm64 (fault.c) sends SIGSEGV, as for a
        // translation fault, which is the closest neutral kind.
        0x00..=0x03 => (FaultKind::Translation, level),
        0x04..=0x07 => (FaultKind::Translation, level),
        0x08..=0x0B => (FaultKind::AccessFlag, level),
        0x0C..=0x0F => (FaultKind::Permission, level),
        0x10 => (FaultKind::SyncExternal, None),
        0x14..=0x17 => (FaultKind::SyncExternalOnWalk, level),
        0x18 => (FaultKind::SyncParity, None),
        0x1C..=0x1F => (FaultKind::SyncParityOnWalk, level),
        0x21 => (FaultKind::Alignment, None),
        0x30 => (FaultKind::TlbConflict, None),
        0x34 => (FaultKind::Lockdown, None),
        0x3D => (FaultKind::Domain, Some(1)),
        0x3E => (FaultKind::Domain, Some(2)),
        _ => (FaultKind::Unknown, None),
    }
}

/// What a fault status code means (for PAR_EL1.FST as well as ESR).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FscMeaning {
    pub kind: FaultKind,
    pub level: Option<u8>,
}

pub const fn decode_fsc(code: u8) -> FscMeaning {
    let (kind, level) = fsc(code);
    FscMeaning { kind, level }
}

/// A Data or Instruction Abort: ESR_EL1, FAR_EL1, ELR_EL1.
pub fn decode_abort(esr: u64, far: u64, pc: u64) -> FaultInfo {
    let (kind, level) = fsc((esr & 0x3f) as u8);
    let access = match class(esr) {
        Class::InstructionAbort { .. } => AccessKind::Execute,
        // WnR, ISS[6]; cache maintenance (CM, ISS[8]) reports a write.
        _ if esr & (1 << 6) != 0 => AccessKind::Write,
        _ => AccessKind::Read,
    };
    FaultInfo {
        kind,
        level,
        access,
        addr: far,
        pc,
        raw_status: esr as u32,
        domain: None,
    }
}

pub fn undefined(pc: u64) -> FaultInfo {
    FaultInfo::undefined_instruction(pc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_qemu_reports() {
        // EL0 load from unmapped memory: EC 0x24, DFSC 0b000110 (L2 translation).
        let f = decode_abort(0x9200_0006, 0x1000, 0x400000);
        assert_eq!(class(0x9200_0006), Class::DataAbort { lower: true });
        assert_eq!(
            (f.kind, f.level, f.access),
            (FaultKind::Translation, Some(2), AccessKind::Read)
        );
        // EL0 load of an EL1-only page: DFSC 0b001110 (L2 permission).
        let f = decode_abort(0x9200_000e, 0, 0);
        assert_eq!(
            (f.kind, f.level, f.access),
            (FaultKind::Permission, Some(2), AccessKind::Read)
        );
        // EL0 store to read-only: WnR (bit 6) set.
        let f = decode_abort(0x9200_004e, 0, 0);
        assert_eq!(
            (f.kind, f.access),
            (FaultKind::Permission, AccessKind::Write)
        );
        // EL1 instruction abort, L3 permission (IFSC 0b001111).
        let esr = (0x21u64 << 26) | (1 << 25) | 0x0f;
        let f = decode_abort(esr, 0x1234, 0x1234);
        assert_eq!(
            (f.kind, f.level, f.access),
            (FaultKind::Permission, Some(3), AccessKind::Execute)
        );
    }

    #[test]
    fn every_fault_status_code() {
        // DFSC table, written out: (code, kind, level).
        let table: [(u8, FaultKind, Option<u8>); 12] = [
            (0b000100, FaultKind::Translation, Some(0)),
            (0b000111, FaultKind::Translation, Some(3)),
            (0b001001, FaultKind::AccessFlag, Some(1)),
            (0b001101, FaultKind::Permission, Some(1)),
            (0b010000, FaultKind::SyncExternal, None),
            (0b010101, FaultKind::SyncExternalOnWalk, Some(1)),
            (0b011000, FaultKind::SyncParity, None),
            (0b011111, FaultKind::SyncParityOnWalk, Some(3)),
            (0b100001, FaultKind::Alignment, None),
            (0b110000, FaultKind::TlbConflict, None),
            (0b110100, FaultKind::Lockdown, None),
            (0b111111, FaultKind::Unknown, None),
        ];
        for (code, kind, level) in table {
            assert_eq!(fsc(code), (kind, level), "{code:#08b}");
        }
        assert_eq!(class(0x15 << 26), Class::Svc);
        assert_eq!(class(0), Class::Undefined);
        assert_eq!(class(0x22 << 26), Class::PcAlignment);
    }
}
