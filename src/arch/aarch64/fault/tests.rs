use super::*;
use crate::mm::fault::{signal_for, Signal};
use alloc::format;

/// ESR with explicit shifts: EC [31:26], IL [25], ISS [24:0].
fn esr(ec: u8, iss: u64) -> u64 {
    (ec as u64) << 26 | 1 << 25 | iss
}

/// The DFSC table of ESR_EL1 "ISS encoding for an exception from a Data
/// Abort", written out code by code: (DFSC, kind, level, data only).
/// The first 33 rows are the listed codes.
const DFSC_TABLE: [(u8, FaultKind, Option<u8>, bool); 35] = [
    (0b000000, FaultKind::Unknown, Some(0), false), // address size L0
    (0b000001, FaultKind::Unknown, Some(1), false),
    (0b000010, FaultKind::Unknown, Some(2), false),
    (0b000011, FaultKind::Unknown, Some(3), false),
    (0b000100, FaultKind::Translation, Some(0), false),
    (0b000101, FaultKind::Translation, Some(1), false),
    (0b000110, FaultKind::Translation, Some(2), false),
    (0b000111, FaultKind::Translation, Some(3), false),
    (0b001000, FaultKind::AccessFlag, Some(0), false), // FEAT_LPA2
    (0b001001, FaultKind::AccessFlag, Some(1), false),
    (0b001010, FaultKind::AccessFlag, Some(2), false),
    (0b001011, FaultKind::AccessFlag, Some(3), false),
    (0b001100, FaultKind::Permission, Some(0), false), // FEAT_LPA2
    (0b001101, FaultKind::Permission, Some(1), false),
    (0b001110, FaultKind::Permission, Some(2), false),
    (0b001111, FaultKind::Permission, Some(3), false),
    (0b010000, FaultKind::SyncExternal, None, false),
    (0b010100, FaultKind::SyncExternalOnWalk, Some(0), false),
    (0b010101, FaultKind::SyncExternalOnWalk, Some(1), false),
    (0b010110, FaultKind::SyncExternalOnWalk, Some(2), false),
    (0b010111, FaultKind::SyncExternalOnWalk, Some(3), false),
    (0b011000, FaultKind::SyncParity, None, false),
    (0b011100, FaultKind::SyncParityOnWalk, Some(0), false),
    (0b011101, FaultKind::SyncParityOnWalk, Some(1), false),
    (0b011110, FaultKind::SyncParityOnWalk, Some(2), false),
    (0b011111, FaultKind::SyncParityOnWalk, Some(3), false),
    (0b100001, FaultKind::Alignment, None, true),
    (0b110000, FaultKind::TlbConflict, None, false),
    (0b110001, FaultKind::Unknown, None, false), // unsupported atomic HW update
    (0b110100, FaultKind::Lockdown, None, false),
    (0b110101, FaultKind::Unknown, None, true), // unsupported exclusive
    (0b111101, FaultKind::Domain, Some(1), false),
    (0b111110, FaultKind::Domain, Some(2), false),
    // Two unlisted codes, for contrast: MTE tag check, reserved 0b111111.
    (0b010001, FaultKind::Unknown, None, false),
    (0b111111, FaultKind::Unknown, None, false),
];

/// Linux arch/arm64/mm/fault.c `fault_info[]` signal per listed code,
/// 9 (SIGKILL) where Linux kills: (DFSC, Linux signal).
const LINUX_SIGNAL: [(u8, i32); 33] = [
    (0b000000, 9),
    (0b000001, 9),
    (0b000010, 9),
    (0b000011, 9),
    (0b000100, 11),
    (0b000101, 11),
    (0b000110, 11),
    (0b000111, 11),
    (0b001000, 9), // "unknown 8" (FEAT_LPA2 code)
    (0b001001, 11),
    (0b001010, 11),
    (0b001011, 11),
    (0b001100, 9), // "unknown 12" (FEAT_LPA2 code)
    (0b001101, 11),
    (0b001110, 11),
    (0b001111, 11),
    (0b010000, 7),
    (0b010100, 9),
    (0b010101, 9),
    (0b010110, 9),
    (0b010111, 9),
    (0b011000, 7),
    (0b011100, 9),
    (0b011101, 9),
    (0b011110, 9),
    (0b011111, 9),
    (0b100001, 7),
    (0b110000, 9),
    (0b110001, 9),
    (0b110100, 9),
    (0b110101, 7),
    (0b111101, 9),
    (0b111110, 9),
];

#[test]
fn field_extraction() {
    assert_eq!(ec(0x9200_0006), 0x24);
    assert_eq!(ec(0x5600_0000), 0x15); // SVC #0 from AArch64
    assert_eq!(ec(0xffff_ffff_ffff_ffff), 0x3f);
    assert_eq!(ec(0xffff_ffff_03ff_ffff), 0); // ISS2/RES0 do not leak in
    assert_eq!(iss(0x9200_004e), 0x4e);
    assert_eq!(iss(0xffff_ffff_ffff_ffff), 0x1ff_ffff);
    assert_eq!(fsc(0x9200_004e), 0x0e);
    assert!(far_valid(0x9200_0010));
    assert!(!far_valid(0x9200_0410));
    for e in 0u8..64 {
        assert_eq!(ec(esr(e, 0x1ff_ffff) | 0xff << 56 | 0xab_cdef << 32), e);
    }
}

#[test]
fn every_exception_class() {
    let listed = [
        (0x00, Class::Undefined),
        (0x07, Class::FpAccess),
        (0x0e, Class::Undefined),
        (0x15, Class::Svc),
        (0x18, Class::SysRegTrap),
        (0x20, Class::InstructionAbort { lower: true }),
        (0x21, Class::InstructionAbort { lower: false }),
        (0x22, Class::PcAlignment),
        (0x24, Class::DataAbort { lower: true }),
        (0x25, Class::DataAbort { lower: false }),
        (0x26, Class::SpAlignment),
        (0x3c, Class::Brk),
    ];
    for e in 0u8..64 {
        let want = listed
            .iter()
            .find(|(c, _)| *c == e)
            .map_or(Class::Other(e), |(_, k)| *k);
        assert_eq!(class(esr(e, 0)), want, "EC {e:#x}");
        assert_eq!(class(esr(e, 0x1ff_ffff)), want, "EC {e:#x}");
    }
    // AArch32 SVC (0x11), SError (0x2f): Other.
    assert_eq!(class(esr(0x11, 0)), Class::Other(0x11));
    assert_eq!(class(0xbe00_0000), Class::Other(0x2f));
}

#[test]
fn every_dfsc() {
    for (code, kind, level, data_only) in DFSC_TABLE {
        let m = decode_fsc(code);
        assert_eq!((m.kind, m.level, m.data_only), (kind, level, data_only));
        for wnr in [false, true] {
            for ec in [0x24, 0x25] {
                let raw = esr(ec, (wnr as u64) << 6 | code as u64);
                let f = decode_abort(raw, 0xdead_b000, 0x40_1000);
                assert_eq!((f.kind, f.level), (kind, level), "dfsc={code:06b}");
                let acc = if wnr {
                    AccessKind::Write
                } else {
                    AccessKind::Read
                };
                assert_eq!(f.access, acc);
                assert_eq!((f.addr, f.pc), (0xdead_b000, 0x40_1000));
                assert_eq!(f.raw_status, raw as u32);
                assert_eq!(f.domain, None);
            }
        }
    }
}

#[test]
fn every_ifsc() {
    for (code, kind, level, data_only) in DFSC_TABLE {
        for ec in [0x20, 0x21] {
            // Bit 6 is RES0 for instruction aborts: must not matter.
            let raw = esr(ec, 1 << 6 | code as u64);
            let f = decode_abort(raw, 0x40_2000, 0x40_2000);
            if data_only {
                assert_eq!((f.kind, f.level), (FaultKind::Unknown, None));
            } else {
                assert_eq!((f.kind, f.level), (kind, level), "ifsc={code:06b}");
            }
            assert_eq!(f.access, AccessKind::Execute);
            assert_eq!(f.addr, 0x40_2000);
        }
    }
}

#[test]
fn unlisted_codes_are_unknown() {
    let listed: alloc::vec::Vec<u8> = DFSC_TABLE[..33].iter().map(|r| r.0).collect();
    let mut n = 0;
    for code in 0u8..64 {
        let m = decode_fsc(code);
        if listed.contains(&code) {
            assert_ne!(m.name, "reserved");
        } else {
            n += 1;
            assert_eq!((m.kind, m.level), (FaultKind::Unknown, None), "{code:06b}");
            assert_eq!(m.name, "reserved");
        }
    }
    assert_eq!(n, 64 - 33);
}

#[test]
fn signals_versus_linux() {
    for (code, linux) in LINUX_SIGNAL {
        let sig = signal_for(decode_fsc(code).kind).number();
        if linux == 9 {
            // SIGKILL: no such neutral signal; SIGBUS, except the two
            // AArch32 domain codes (kept as `Domain`) and the FEAT_LPA2
            // level-0 codes Linux does not know.
            let exempt = [0b111101, 0b111110, 0b001000, 0b001100];
            assert!(exempt.contains(&code) || sig == 7, "dfsc={code:06b}");
        } else {
            assert_eq!(sig, linux, "dfsc={code:06b}");
        }
    }
    // An address size fault is neither SIGSEGV nor a translation fault
    // (the task layer only demand-pages those).
    for ll in 0..4 {
        let m = decode_fsc(ll);
        assert_ne!(m.kind, FaultKind::Translation);
        assert!(!m.kind.is_mmu_fault());
        assert_eq!(signal_for(m.kind), Signal::SIGBUS);
    }
}

#[test]
fn fnv_and_cache_maintenance() {
    // Synchronous external abort with FnV: FAR not valid → addr 0.
    let f = decode_abort(esr(0x24, 1 << 10 | 0b010000), 0x1234_5678, 0x40_0000);
    assert_eq!((f.kind, f.addr), (FaultKind::SyncExternal, 0));
    // Same without FnV: FAR reported.
    let f = decode_abort(esr(0x24, 0b010000), 0x1234_5678, 0x40_0000);
    assert_eq!(f.addr, 0x1234_5678);
    // DC CIVAC on an unmapped page: CM = 1, WnR = 1, translation L3.
    let f = decode_abort(esr(0x25, 1 << 8 | 1 << 6 | 0b000111), 0x8000, 0x9000);
    assert_eq!(
        (f.kind, f.level, f.access),
        (FaultKind::Translation, Some(3), AccessKind::Write)
    );
    // ISS2 bits change nothing and are not in raw_status.
    let f = decode_abort(esr(0x24, 0b000110) | 0x3f << 32, 0x10, 0x20);
    assert_eq!((f.kind, f.level), (FaultKind::Translation, Some(2)));
    assert_eq!(f.raw_status, 0x9200_0006);
}

#[test]
fn alignment_and_other_classes() {
    let f = decode_abort(esr(0x22, 0), 0x40_0002, 0x40_0002);
    assert_eq!(
        (f.kind, f.level, f.access, f.addr),
        (FaultKind::Alignment, None, AccessKind::Execute, 0x40_0002)
    );
    assert_eq!(f.signal(), Signal::SIGBUS);
    let f = decode_abort(esr(0x26, 0), 0x7fff_fff8, 0x40_0010);
    assert_eq!((f.kind, f.access), (FaultKind::Alignment, AccessKind::Read));
    // An SVC is no abort, whatever its ISS.
    let f = decode_abort(esr(0x15, 0b000111), 0, 0x40_0000);
    assert_eq!((f.kind, f.level), (FaultKind::Unknown, None));
    let u = undefined(0x40_1234);
    assert_eq!(u.kind, FaultKind::Undefined);
    assert_eq!(u.signal(), Signal::SIGILL);
    assert_eq!(
        format!("{u}"),
        "SIGILL undefined instruction fault (execute) at 0x00401234 pc=0x00401234"
    );
}

#[test]
fn observed_qemu_values() {
    // EL0 load from an unmapped address: translation fault, level 2.
    assert_eq!(class(0x9200_0006), Class::DataAbort { lower: true });
    let f = decode_abort(0x9200_0006, 0x3000_0000, 0x40_0100);
    assert_eq!(
        format!("{f}"),
        "SIGSEGV translation fault (L2, read) at 0x30000000 pc=0x00400100"
    );
    assert_eq!(f.si_code(), 1); // SEGV_MAPERR

    // EL0 load from an EL1-only page: 0x0e = permission fault, level 2.
    let f = decode_abort(0x9200_000e, 0xffff_ff80_4000_0000, 0x40_0104);
    assert_eq!(
        format!("{f}"),
        "SIGSEGV permission fault (L2, read) at 0xffffff8040000000 pc=0x00400104"
    );
    assert_eq!(f.si_code(), 2); // SEGV_ACCERR

    // EL0 store to a read-only page: WnR.
    let f = decode_abort(0x9200_004e, 0x3000_0000, 0x40_0108);
    assert_eq!(
        (f.kind, f.level, f.access),
        (FaultKind::Permission, Some(2), AccessKind::Write)
    );
    assert_eq!(f.raw_status, 0x9200_004e);
    // Kernel (same-EL) store to a read-only page, level 3: 0x9600004f.
    assert_eq!(class(0x9600_004f), Class::DataAbort { lower: false });
    let f = decode_abort(0x9600_004f, 0xffff_ff80_0010_0000, 0xffff_ff80_0008_0000);
    assert_eq!((f.kind, f.level), (FaultKind::Permission, Some(3)));
    // Instruction abort from EL0, translation level 3: 0x82000007.
    assert_eq!(class(0x8200_0007), Class::InstructionAbort { lower: true });
    let f = decode_abort(0x8200_0007, 0x50_0000, 0x50_0000);
    assert_eq!(
        format!("{f}"),
        "SIGSEGV translation fault (L3, execute) at 0x00500000 pc=0x00500000"
    );
    // Kernel jump into a PXN page: same-EL permission fault L3: 0x8600000f.
    let f = decode_abort(0x8600_000f, 0x1000, 0x1000);
    assert_eq!(
        (f.kind, f.level, f.access),
        (FaultKind::Permission, Some(3), AccessKind::Execute)
    );
    // SVC #0: 0x56000000; BRK #0: 0xf2000000; UDF #0: 0x02000000.
    assert_eq!(class(0x5600_0000), Class::Svc);
    assert_eq!(class(0xf200_0000), Class::Brk);
    assert_eq!(class(0x0200_0000), Class::Undefined);
}
