//! AArch64 ESR_EL1 decoding: exception class, and the Data Abort /
//! Instruction Abort syndromes (DFSC/IFSC) turned into the neutral
//! [`FaultInfo`].
//!
//! Written from the Arm Architecture Reference Manual for A-profile (DDI
//! 0487), D17.2.37 "ESR_EL1" and its "ISS encoding for an exception from a
//! Data Abort" / "... from an Instruction Abort" sections.
//!
//! ```text
//!  63    56 55    32 31  26  25  24                                      0
//! |  RES0  |  ISS2  |  EC  | IL |                 ISS                     |
//!
//! Data Abort ISS:
//!  24  23:22 21  20:16 15  14   13    12:11  10   9   8    7     6   5:0
//! |ISV| SAS |SSE| SRT |SF| AR |VNCR| SET  |FnV| EA| CM |S1PTW| WnR| DFSC |
//! Instruction Abort ISS: bits [24:13], [8] and [6] RES0.
//! ```
//!
//! * WnR (bit 6): the access was a write. Cache maintenance and address
//!   translation instructions (CM = 1, bit 8) report WnR = 1, so like the
//!   ARMv7 decoder they show as writes.
//! * FnV (bit 10): FAR not valid. Architecturally only set for a
//!   synchronous External abort not on a table walk (RES0 otherwise);
//!   [`decode_abort`] honours it whatever the code and then reports
//!   `addr = 0`, as Linux does for `si_addr` (arch/arm64/mm/fault.c).
//! * `FaultInfo::raw_status` is ESR bits [31:0] (EC, IL, ISS); ISS2
//!   (bits [55:32], FEAT_LS64/GCS/S1POE extras) does not fit and is dropped.
//!
//! ## Status codes and the signal policy
//!
//! [`decode_fsc`] maps each DFSC/IFSC to a neutral [`FaultKind`]; the
//! signal then comes from the neutral `signal_for`. Linux's `fault_info[]`
//! (arch/arm64/mm/fault.c) was checked code by code:
//!
//! | code | meaning | kind (our signal) | Linux |
//! |---|---|---|---|
//! | `0000LL` | address size fault, level LL | `Unknown` (SIGBUS) | SIGKILL (SIGBUS in early arm64) |
//! | `0001LL` | translation fault | `Translation` (SIGSEGV) | SIGSEGV MAPERR |
//! | `0010LL` | access flag fault | `AccessFlag` (SIGSEGV) | SIGSEGV ACCERR |
//! | `0011LL` | permission fault | `Permission` (SIGSEGV) | SIGSEGV ACCERR |
//! | `010000` | sync external abort | `SyncExternal` (SIGBUS) | SIGBUS OBJERR |
//! | `0101LL` | sync external abort on walk | `SyncExternalOnWalk` (SIGBUS) | SIGKILL |
//! | `011000` | sync parity/ECC | `SyncParity` (SIGBUS) | SIGBUS OBJERR |
//! | `0111LL` | parity/ECC on walk | `SyncParityOnWalk` (SIGBUS) | SIGKILL |
//! | `100001` | alignment (data only) | `Alignment` (SIGBUS ADRALN) | SIGBUS ADRALN |
//! | `110000` | TLB conflict | `TlbConflict` (SIGBUS) | SIGKILL |
//! | `110001` | unsupported atomic hardware update | `Unknown` (SIGBUS) | SIGKILL |
//! | `110100` | IMPDEF lockdown | `Lockdown` (SIGBUS) | SIGKILL |
//! | `110101` | IMPDEF unsupported exclusive (data only) | `Unknown` (SIGBUS) | SIGBUS OBJERR |
//! | `111101` | section domain fault (AArch32 only) | `Domain`, L1 (SIGSEGV) | SIGKILL |
//! | `111110` | page domain fault (AArch32 only) | `Domain`, L2 (SIGSEGV) | SIGKILL |
//!
//! Linux does **not** send SIGSEGV for an address size fault: current
//! kernels `do_bad` with SIGKILL, the first arm64 kernels SIGBUS. The
//! neutral vocabulary has no SIGKILL, so the kind is `Unknown` → SIGBUS:
//! Linux's old signal, and like SIGKILL never resolvable (mapping it to
//! `Translation` would give SIGSEGV *and* make the task layer try to
//! demand-page it). Elsewhere where Linux kills, the exact kind is kept
//! (all SIGBUS, except the two domain codes, which keep `Domain`: they
//! can only be reported for an AArch32 short-descriptor stage 1, never for
//! this kernel's AArch64 EL1&0 regime).
//!
//! Level-0 access flag (`001000`) and permission (`001100`) faults only
//! exist with FEAT_LPA2 (Linux: "unknown 8"/"unknown 12"); they decode with
//! level 0. Codes not in the table (level −1 codes of FEAT_LPA2, MTE tag
//! check `010001`, granule protection faults, reserved values) decode as
//! `Unknown` without a level.

use crate::mm::fault::{AccessKind, FaultInfo, FaultKind};

/// ESR_ELx.EC, bits [31:26].
pub const ESR_EC_SHIFT: u32 = 26;
pub const ESR_EC_MASK: u64 = 0x3f << ESR_EC_SHIFT;
/// ESR_ELx.IL: 32-bit instruction (always 1 for aborts).
pub const ESR_IL: u64 = 1 << 25;
/// ESR_ELx.ISS, bits [24:0].
pub const ESR_ISS_MASK: u64 = 0x1ff_ffff;
/// ISS: Data/Instruction Fault Status Code, bits [5:0].
pub const ISS_FSC_MASK: u64 = 0x3f;
/// ISS (Data Abort): Write-not-Read.
pub const ISS_WNR: u64 = 1 << 6;
/// ISS: fault on the stage 2 walk of a stage 1 table (EL2 only).
pub const ISS_S1PTW: u64 = 1 << 7;
/// ISS (Data Abort): fault on a cache maintenance / AT instruction.
pub const ISS_CM: u64 = 1 << 8;
/// ISS: External abort type (IMPLEMENTATION DEFINED classification).
pub const ISS_EA: u64 = 1 << 9;
/// ISS: FAR not valid.
pub const ISS_FNV: u64 = 1 << 10;
/// ISS (Data Abort): instruction syndrome (ISS[23:14]) valid.
pub const ISS_ISV: u64 = 1 << 24;

/// Exception classes, by name (ESR_ELx.EC).
pub mod ec_code {
    pub const UNKNOWN: u8 = 0x00;
    pub const FP_ASIMD: u8 = 0x07;
    pub const ILLEGAL_STATE: u8 = 0x0e;
    pub const SVC64: u8 = 0x15;
    pub const SYS64: u8 = 0x18;
    pub const IABT_LOWER: u8 = 0x20;
    pub const IABT_SAME: u8 = 0x21;
    pub const PC_ALIGN: u8 = 0x22;
    pub const DABT_LOWER: u8 = 0x24;
    pub const DABT_SAME: u8 = 0x25;
    pub const SP_ALIGN: u8 = 0x26;
    pub const BRK64: u8 = 0x3c;
}

/// DFSC/IFSC encodings, by name. `*_L0`..`*_L3` are `base | level`.
pub mod fsc_code {
    pub const ADDRESS_SIZE_L0: u8 = 0b000000;
    pub const ADDRESS_SIZE_L3: u8 = 0b000011;
    pub const TRANSLATION_L0: u8 = 0b000100;
    pub const TRANSLATION_L3: u8 = 0b000111;
    pub const ACCESS_FLAG_L0: u8 = 0b001000;
    pub const ACCESS_FLAG_L3: u8 = 0b001011;
    pub const PERMISSION_L0: u8 = 0b001100;
    pub const PERMISSION_L3: u8 = 0b001111;
    pub const SYNC_EXTERNAL: u8 = 0b010000;
    pub const SYNC_EXTERNAL_WALK_L0: u8 = 0b010100;
    pub const SYNC_EXTERNAL_WALK_L3: u8 = 0b010111;
    pub const SYNC_PARITY: u8 = 0b011000;
    pub const SYNC_PARITY_WALK_L0: u8 = 0b011100;
    pub const SYNC_PARITY_WALK_L3: u8 = 0b011111;
    pub const ALIGNMENT: u8 = 0b100001;
    pub const TLB_CONFLICT: u8 = 0b110000;
    pub const UNSUPPORTED_ATOMIC_UPDATE: u8 = 0b110001;
    pub const LOCKDOWN: u8 = 0b110100;
    pub const UNSUPPORTED_EXCLUSIVE: u8 = 0b110101;
    pub const SECTION_DOMAIN: u8 = 0b111101;
    pub const PAGE_DOMAIN: u8 = 0b111110;
}

/// ESR_ELx.EC, bits [31:26].
pub const fn ec(esr: u64) -> u8 {
    ((esr & ESR_EC_MASK) >> ESR_EC_SHIFT) as u8
}

/// ESR_ELx.ISS, bits [24:0].
pub const fn iss(esr: u64) -> u32 {
    (esr & ESR_ISS_MASK) as u32
}

/// DFSC/IFSC, ISS bits [5:0].
pub const fn fsc(esr: u64) -> u8 {
    (esr & ISS_FSC_MASK) as u8
}

/// Whether FAR_EL1 holds the faulting address (FnV clear).
pub const fn far_valid(esr: u64) -> bool {
    esr & ISS_FNV == 0
}

/// What kind of synchronous exception ESR_EL1 describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// `SVC` from AArch64 (EC 0x15).
    Svc,
    /// EC 0x24 (`lower`: from EL0) / 0x25 (from EL1).
    DataAbort { lower: bool },
    /// EC 0x20 (`lower`: from EL0) / 0x21 (from EL1).
    InstructionAbort { lower: bool },
    /// EC 0x22: misaligned PC on an instruction fetch.
    PcAlignment,
    /// EC 0x26: misaligned SP with SCTLR_EL1.SA/SA0 checking.
    SpAlignment,
    /// EC 0x00 (unknown reason: undefined/unallocated instruction) and
    /// EC 0x0E (illegal execution state). Linux ends both in SIGILL
    /// (`el0_undef`, and `el0_inv` → `bad_el0_sync` for EC_ILL).
    Undefined,
    /// EC 0x07: FP/Advanced SIMD access trapped (CPACR_EL1.FPEN).
    FpAccess,
    /// EC 0x18: MSR/MRS/SYS instruction trapped.
    SysRegTrap,
    /// EC 0x3C: `BRK` instruction.
    Brk,
    /// Any other exception class (the raw EC).
    Other(u8),
}

/// The exception class of `esr`.
pub const fn class(esr: u64) -> Class {
    use ec_code::*;
    match ec(esr) {
        UNKNOWN | ILLEGAL_STATE => Class::Undefined,
        FP_ASIMD => Class::FpAccess,
        SVC64 => Class::Svc,
        SYS64 => Class::SysRegTrap,
        IABT_LOWER => Class::InstructionAbort { lower: true },
        IABT_SAME => Class::InstructionAbort { lower: false },
        PC_ALIGN => Class::PcAlignment,
        DABT_LOWER => Class::DataAbort { lower: true },
        DABT_SAME => Class::DataAbort { lower: false },
        SP_ALIGN => Class::SpAlignment,
        BRK64 => Class::Brk,
        other => Class::Other(other),
    }
}

/// What one DFSC/IFSC value means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FscMeaning {
    pub kind: FaultKind,
    /// Translation table level, for the `xxxxLL` codes (0..=3) and the two
    /// AArch32 domain codes (1 = section, 2 = page).
    pub level: Option<u8>,
    /// Only a Data Abort reports this code (reserved in the IFSC).
    pub data_only: bool,
    /// The architecture's name for the code (without the level).
    pub name: &'static str,
}

/// DFSC/IFSC (also PAR_EL1.FST) → meaning, per the module table.
/// Unlisted codes are `Unknown` with no level.
pub const fn decode_fsc(code: u8) -> FscMeaning {
    use fsc_code::*;
    let level = Some(code & 0b11);
    let (kind, level, data_only, name) = match code & 0x3f {
        ADDRESS_SIZE_L0..=ADDRESS_SIZE_L3 => (FaultKind::Unknown, level, false, "address size"),
        TRANSLATION_L0..=TRANSLATION_L3 => (FaultKind::Translation, level, false, "translation"),
        ACCESS_FLAG_L0..=ACCESS_FLAG_L3 => (FaultKind::AccessFlag, level, false, "access flag"),
        PERMISSION_L0..=PERMISSION_L3 => (FaultKind::Permission, level, false, "permission"),
        SYNC_EXTERNAL => (
            FaultKind::SyncExternal,
            None,
            false,
            "synchronous external abort",
        ),
        SYNC_EXTERNAL_WALK_L0..=SYNC_EXTERNAL_WALK_L3 => (
            FaultKind::SyncExternalOnWalk,
            level,
            false,
            "synchronous external abort on table walk",
        ),
        SYNC_PARITY => (
            FaultKind::SyncParity,
            None,
            false,
            "synchronous parity/ECC error",
        ),
        SYNC_PARITY_WALK_L0..=SYNC_PARITY_WALK_L3 => (
            FaultKind::SyncParityOnWalk,
            level,
            false,
            "synchronous parity/ECC error on table walk",
        ),
        ALIGNMENT => (FaultKind::Alignment, None, true, "alignment"),
        TLB_CONFLICT => (FaultKind::TlbConflict, None, false, "TLB conflict"),
        UNSUPPORTED_ATOMIC_UPDATE => (
            FaultKind::Unknown,
            None,
            false,
            "unsupported atomic hardware update",
        ),
        LOCKDOWN => (FaultKind::Lockdown, None, false, "IMPDEF lockdown"),
        UNSUPPORTED_EXCLUSIVE => (
            FaultKind::Unknown,
            None,
            true,
            "IMPDEF unsupported exclusive or atomic",
        ),
        SECTION_DOMAIN => (FaultKind::Domain, Some(1), false, "section domain"),
        PAGE_DOMAIN => (FaultKind::Domain, Some(2), false, "page domain"),
        _ => (FaultKind::Unknown, None, false, "reserved"),
    };
    FscMeaning {
        kind,
        level,
        data_only,
        name,
    }
}

/// Decode a synchronous abort from ESR_EL1, FAR_EL1 and ELR_EL1.
///
/// * Data Abort (EC 0x24/0x25): DFSC; `Write` when WnR is set, else `Read`.
/// * Instruction Abort (EC 0x20/0x21): IFSC; `Execute`. The data-only
///   codes (alignment, unsupported exclusive) are reserved there and
///   decode as `Unknown`.
/// * PC alignment (EC 0x22): `Alignment`, `Execute`; SP alignment (EC
///   0x26): `Alignment`, `Read` (the ISS is RES0 for both: no WnR, no
///   level). FAR holds the misaligned PC for EC 0x22; for EC 0x26 it is
///   UNKNOWN but reported as given.
/// * Any other class: `Unknown`, `Read`, no level.
///
/// `addr` is `far`, or 0 when FnV says FAR is not valid (abort classes).
pub fn decode_abort(esr: u64, far: u64, pc: u64) -> FaultInfo {
    let (kind, level, access, far_ok) = match class(esr) {
        Class::DataAbort { .. } => {
            let m = decode_fsc(fsc(esr));
            let access = if esr & ISS_WNR != 0 {
                AccessKind::Write
            } else {
                AccessKind::Read
            };
            (m.kind, m.level, access, far_valid(esr))
        }
        Class::InstructionAbort { .. } => {
            let m = decode_fsc(fsc(esr));
            let (kind, level) = if m.data_only {
                (FaultKind::Unknown, None)
            } else {
                (m.kind, m.level)
            };
            (kind, level, AccessKind::Execute, far_valid(esr))
        }
        Class::PcAlignment => (FaultKind::Alignment, None, AccessKind::Execute, true),
        Class::SpAlignment => (FaultKind::Alignment, None, AccessKind::Read, true),
        _ => (FaultKind::Unknown, None, AccessKind::Read, true),
    };
    FaultInfo {
        kind,
        level,
        access,
        addr: if far_ok { far } else { 0 },
        pc,
        raw_status: esr as u32,
        domain: None,
    }
}

/// An undefined instruction (EC 0x00) or illegal execution state (EC 0x0E)
/// at `pc`: SIGILL.
pub const fn undefined(pc: u64) -> FaultInfo {
    FaultInfo::undefined_instruction(pc)
}

#[cfg(test)]
mod tests;
