//! Architecture-neutral fault vocabulary and the signal policy.
//!
//! Each architecture decodes its own fault syndrome (`arch::armv7a::fault`
//! for the ARMv7 short-descriptor DFSR/IFSR) into a [`FaultInfo`]; the
//! generic code only ever looks at this file's types.
//!
//! The signal policy copies Linux (arch/arm/mm/fsr-2level.c, `fsr_info[]`
//! and `ifsr_info[]`): MMU faults (translation, access flag, domain,
//! permission) are `SIGSEGV`, everything the memory system reports as an
//! error (alignment, external aborts, parity/ECC errors, TLB conflicts and
//! the IMPLEMENTATION DEFINED aborts) is `SIGBUS`, an undefined instruction
//! is `SIGILL` (arch/arm/kernel/traps.c `do_undefinstr`). Debug events are
//! `SIGTRAP`: fsr-2level.c only has a placeholder for them, which
//! arch/arm/kernel/hw_breakpoint.c replaces at boot with
//! `hook_fault_code(FAULT_CODE_DEBUG, ..., SIGTRAP, TRAP_HWBKPT, ...)`.

use core::fmt;

/// What went wrong, independent of the architecture's encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// No valid translation (the descriptor was a fault entry).
    Translation,
    /// The Access flag of the descriptor was clear (only with AFE = 1).
    AccessFlag,
    /// The domain's DACR field said "no access".
    Domain,
    /// The descriptor's AP/XN/PXN forbid this access.
    Permission,
    /// Unaligned access with alignment checking on (or a strict-alignment
    /// instruction).
    Alignment,
    /// Synchronous external abort on the access itself.
    SyncExternal,
    /// Synchronous external abort while reading a translation table.
    SyncExternalOnWalk,
    /// Synchronous parity/ECC error on the access itself.
    SyncParity,
    /// Synchronous parity/ECC error while reading a translation table.
    SyncParityOnWalk,
    /// Asynchronous (imprecise) external abort.
    AsyncExternal,
    /// Asynchronous parity/ECC error.
    AsyncParity,
    /// Breakpoint, watchpoint or other debug event.
    Debug,
    /// Fault on an instruction cache maintenance operation.
    IcacheMaintenance,
    /// TLB conflict abort (more than one TLB entry matched).
    TlbConflict,
    /// IMPLEMENTATION DEFINED lockdown abort.
    Lockdown,
    /// IMPLEMENTATION DEFINED coprocessor abort.
    Coprocessor,
    /// Undefined instruction.
    Undefined,
    /// A syndrome this kernel cannot decode (reserved encoding).
    Unknown,
    /// Not a syndrome: an access to a page of a file mapping wholly past
    /// the end of the file (the address space's fault says so, after the
    /// hardware reported a translation fault). Linux: `VM_FAULT_SIGBUS`
    /// from the file system's fault handler, `SIGBUS` with `BUS_ADRERR`.
    PastEndOfFile,
}

impl FaultKind {
    /// Every kind once, for exhaustive tests.
    pub const ALL: [FaultKind; 19] = [
        FaultKind::Translation,
        FaultKind::AccessFlag,
        FaultKind::Domain,
        FaultKind::Permission,
        FaultKind::Alignment,
        FaultKind::SyncExternal,
        FaultKind::SyncExternalOnWalk,
        FaultKind::SyncParity,
        FaultKind::SyncParityOnWalk,
        FaultKind::AsyncExternal,
        FaultKind::AsyncParity,
        FaultKind::Debug,
        FaultKind::IcacheMaintenance,
        FaultKind::TlbConflict,
        FaultKind::Lockdown,
        FaultKind::Coprocessor,
        FaultKind::Undefined,
        FaultKind::Unknown,
        FaultKind::PastEndOfFile,
    ];

    /// Lower-case words, as printed in `"<SIG> <name> fault (...)"`.
    pub const fn name(self) -> &'static str {
        match self {
            FaultKind::Translation => "translation",
            FaultKind::AccessFlag => "access flag",
            FaultKind::Domain => "domain",
            FaultKind::Permission => "permission",
            FaultKind::Alignment => "alignment",
            FaultKind::SyncExternal => "synchronous external abort",
            FaultKind::SyncExternalOnWalk => "synchronous external abort on table walk",
            FaultKind::SyncParity => "synchronous parity error",
            FaultKind::SyncParityOnWalk => "synchronous parity error on table walk",
            FaultKind::AsyncExternal => "asynchronous external abort",
            FaultKind::AsyncParity => "asynchronous parity error",
            FaultKind::Debug => "debug event",
            FaultKind::IcacheMaintenance => "instruction cache maintenance",
            FaultKind::TlbConflict => "tlb conflict",
            FaultKind::Lockdown => "lockdown",
            FaultKind::Coprocessor => "coprocessor",
            FaultKind::Undefined => "undefined instruction",
            FaultKind::Unknown => "unknown",
            FaultKind::PastEndOfFile => "past end of file",
        }
    }

    /// Translation, access flag, domain and permission faults: the MMU
    /// refused the access (as opposed to the memory system failing it).
    pub const fn is_mmu_fault(self) -> bool {
        matches!(
            self,
            FaultKind::Translation
                | FaultKind::AccessFlag
                | FaultKind::Domain
                | FaultKind::Permission
        )
    }
}

/// The access that faulted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccessKind {
    Read,
    Write,
    Execute,
}

impl AccessKind {
    pub const fn name(self) -> &'static str {
        match self {
            AccessKind::Read => "read",
            AccessKind::Write => "write",
            AccessKind::Execute => "execute",
        }
    }
}

/// One decoded fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultInfo {
    pub kind: FaultKind,
    /// Translation table level the fault is attributed to, when the
    /// syndrome names one (ARMv7 short descriptors: 1 = section/L1,
    /// 2 = page/L2).
    pub level: Option<u8>,
    pub access: AccessKind,
    /// Faulting virtual address (DFAR/IFAR/FAR). For an undefined
    /// instruction, the instruction's address.
    pub addr: u64,
    /// Address of the instruction that faulted.
    pub pc: u64,
    /// The raw syndrome register (DFSR/IFSR/ESR), 0 when there is none.
    pub raw_status: u32,
    /// Memory domain of the access, only where the architecture reports a
    /// valid one (ARMv7 short descriptors only).
    pub domain: Option<u8>,
}

impl FaultInfo {
    /// An undefined-instruction trap at `pc` (no syndrome register).
    pub const fn undefined_instruction(pc: u64) -> Self {
        FaultInfo {
            kind: FaultKind::Undefined,
            level: None,
            access: AccessKind::Execute,
            addr: pc,
            pc,
            raw_status: 0,
            domain: None,
        }
    }

    /// This fault found to lie past the end of a mapped file: the
    /// `SIGBUS` (`BUS_ADRERR`) version of it, without a table level (the
    /// table is not at fault).
    pub const fn past_end_of_file(self) -> Self {
        FaultInfo {
            kind: FaultKind::PastEndOfFile,
            level: None,
            ..self
        }
    }

    /// The signal a user process gets for this fault.
    pub const fn signal(&self) -> Signal {
        signal_for(self.kind)
    }

    /// The `si_code` that goes with [`FaultInfo::signal`].
    pub const fn si_code(&self) -> i32 {
        si_code_for(self.kind)
    }
}

/// `SIGSEGV permission fault (L2, write) at 0x30000000 pc=0x000101a4`.
///
/// Addresses are zero-padded to 8 hex digits (values above 32 bits simply
/// print longer). Without a level the `"L<n>, "` part is left out.
impl fmt::Display for FaultInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} fault (", self.signal().name(), self.kind.name())?;
        if let Some(level) = self.level {
            write!(f, "L{}, ", level)?;
        }
        write!(
            f,
            "{}) at 0x{:08x} pc=0x{:08x}",
            self.access.name(),
            self.addr,
            self.pc
        )
    }
}

/// The signals faults turn into, with their Linux numbers
/// (identical on ARM and AArch64: asm-generic/signal.h values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum Signal {
    SIGILL = 4,
    SIGTRAP = 5,
    SIGBUS = 7,
    SIGSEGV = 11,
}

impl Signal {
    pub const fn number(self) -> i32 {
        self as i32
    }

    pub const fn name(self) -> &'static str {
        match self {
            Signal::SIGILL => "SIGILL",
            Signal::SIGTRAP => "SIGTRAP",
            Signal::SIGBUS => "SIGBUS",
            Signal::SIGSEGV => "SIGSEGV",
        }
    }
}

/// Linux `si_code` values used below (include/uapi/asm-generic/siginfo.h).
pub mod si_code {
    pub const ILL_ILLOPC: i32 = 1;
    pub const TRAP_HWBKPT: i32 = 4;
    pub const BUS_ADRALN: i32 = 1;
    pub const BUS_ADRERR: i32 = 2;
    pub const BUS_OBJERR: i32 = 3;
    pub const SEGV_MAPERR: i32 = 1;
    pub const SEGV_ACCERR: i32 = 2;
}

/// The signal for a fault kind, following Linux fsr-2level.c (see the
/// module documentation for the three deliberate readings of it).
pub const fn signal_for(kind: FaultKind) -> Signal {
    match kind {
        // fsr_info[5,7] "translation fault", [9,11] "domain fault",
        // [13,15] "permission fault"; ifsr_info[3,6] "access flag fault".
        FaultKind::Translation
        | FaultKind::AccessFlag
        | FaultKind::Domain
        | FaultKind::Permission => Signal::SIGSEGV,
        // hw_breakpoint.c hooks FS = 0b00010 with SIGTRAP.
        FaultKind::Debug => Signal::SIGTRAP,
        FaultKind::Undefined => Signal::SIGILL,
        // fsr_info[1] alignment, [4] linefetch (icache maintenance),
        // [8] non-linefetch (sync external), [12,14] external abort on
        // translation, [16..31] "unknown"/"lock abort"/"imprecise external
        // abort"/"parity error": all SIGBUS, as is anything unknown.
        FaultKind::Alignment
        | FaultKind::SyncExternal
        | FaultKind::SyncExternalOnWalk
        | FaultKind::SyncParity
        | FaultKind::SyncParityOnWalk
        | FaultKind::AsyncExternal
        | FaultKind::AsyncParity
        | FaultKind::IcacheMaintenance
        | FaultKind::TlbConflict
        | FaultKind::Lockdown
        | FaultKind::Coprocessor
        | FaultKind::Unknown
        | FaultKind::PastEndOfFile => Signal::SIGBUS,
    }
}

/// The `si_code` Linux puts next to [`signal_for`]'s signal (0 where
/// fsr-2level.c has 0).
pub const fn si_code_for(kind: FaultKind) -> i32 {
    match kind {
        FaultKind::Translation => si_code::SEGV_MAPERR,
        FaultKind::AccessFlag | FaultKind::Domain | FaultKind::Permission => si_code::SEGV_ACCERR,
        FaultKind::Alignment => si_code::BUS_ADRALN,
        FaultKind::AsyncExternal => si_code::BUS_OBJERR,
        // do_sigbus (arch/arm/mm/fault.c, arch/arm64/mm/fault.c):
        // force_sig_fault(SIGBUS, BUS_ADRERR, addr).
        FaultKind::PastEndOfFile => si_code::BUS_ADRERR,
        FaultKind::Debug => si_code::TRAP_HWBKPT,
        FaultKind::Undefined => si_code::ILL_ILLOPC,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn signal_numbers_are_linux() {
        // asm-generic/signal.h, written out.
        assert_eq!(Signal::SIGILL.number(), 4);
        assert_eq!(Signal::SIGTRAP.number(), 5);
        assert_eq!(Signal::SIGBUS.number(), 7);
        assert_eq!(Signal::SIGSEGV.number(), 11);
        assert_eq!(Signal::SIGSEGV.name(), "SIGSEGV");
        assert_eq!(Signal::SIGBUS.name(), "SIGBUS");
        assert_eq!(Signal::SIGILL.name(), "SIGILL");
        assert_eq!(Signal::SIGTRAP.name(), "SIGTRAP");
    }

    #[test]
    fn signal_policy_follows_fsr_2level() {
        use FaultKind::*;
        // (kind, signal, si_code) as in fsr-2level.c / hw_breakpoint.c /
        // traps.c, written out independently of the match above.
        let table = [
            (Translation, 11, 1),
            (AccessFlag, 11, 2),
            (Domain, 11, 2),
            (Permission, 11, 2),
            (Alignment, 7, 1),
            (SyncExternal, 7, 0),
            (SyncExternalOnWalk, 7, 0),
            (SyncParity, 7, 0),
            (SyncParityOnWalk, 7, 0),
            (AsyncExternal, 7, 3),
            (AsyncParity, 7, 0),
            (Debug, 5, 4),
            (IcacheMaintenance, 7, 0),
            (TlbConflict, 7, 0),
            (Lockdown, 7, 0),
            (Coprocessor, 7, 0),
            (Undefined, 4, 1),
            (Unknown, 7, 0),
            (PastEndOfFile, 7, 2),
        ];
        assert_eq!(table.len(), FaultKind::ALL.len());
        for (i, (kind, sig, code)) in table.into_iter().enumerate() {
            assert_eq!(kind, FaultKind::ALL[i]);
            assert_eq!(signal_for(kind).number(), sig, "{:?}", kind);
            assert_eq!(si_code_for(kind), code, "{:?}", kind);
            assert_eq!(kind.is_mmu_fault(), sig == 11, "{:?}", kind);
        }
    }

    #[test]
    fn names_are_distinct_lowercase() {
        for (i, a) in FaultKind::ALL.iter().enumerate() {
            let n = a.name();
            assert!(!n.is_empty());
            assert_eq!(n, n.to_lowercase());
            for b in &FaultKind::ALL[i + 1..] {
                assert_ne!(n, b.name());
            }
        }
        assert_eq!(FaultKind::AccessFlag.name(), "access flag");
        assert_eq!(FaultKind::SyncExternal.name(), "synchronous external abort");
    }

    #[test]
    fn display_matches_log_format() {
        let f = FaultInfo {
            kind: FaultKind::Permission,
            level: Some(2),
            access: AccessKind::Write,
            addr: 0x3000_0000,
            pc: 0x101a4,
            raw_status: 0x80f,
            domain: Some(0),
        };
        assert_eq!(
            format!("{}", f),
            "SIGSEGV permission fault (L2, write) at 0x30000000 pc=0x000101a4"
        );
        let f = FaultInfo {
            kind: FaultKind::Translation,
            level: Some(1),
            access: AccessKind::Read,
            addr: 0,
            pc: 0x8000,
            raw_status: 0x5,
            domain: None,
        };
        assert_eq!(
            format!("{}", f),
            "SIGSEGV translation fault (L1, read) at 0x00000000 pc=0x00008000"
        );
        let f = FaultInfo {
            kind: FaultKind::Alignment,
            level: None,
            access: AccessKind::Read,
            addr: 0x1_0001,
            pc: 0x1_0000,
            raw_status: 0x1,
            domain: None,
        };
        assert_eq!(
            format!("{}", f),
            "SIGBUS alignment fault (read) at 0x00010001 pc=0x00010000"
        );
        // A translation fault the address space found past a file's end.
        let t = FaultInfo {
            kind: FaultKind::Translation,
            level: Some(2),
            access: AccessKind::Read,
            addr: 0x7000_1000,
            pc: 0x1_0200,
            raw_status: 0x7,
            domain: Some(0),
        }
        .past_end_of_file();
        assert_eq!((t.signal(), t.si_code()), (Signal::SIGBUS, 2));
        assert_eq!((t.addr, t.pc, t.raw_status), (0x7000_1000, 0x1_0200, 0x7));
        assert_eq!(
            format!("{}", t),
            "SIGBUS past end of file fault (read) at 0x70001000 pc=0x00010200"
        );
        let u = FaultInfo::undefined_instruction(0x10230);
        assert_eq!(u.signal(), Signal::SIGILL);
        assert_eq!(
            format!("{}", u),
            "SIGILL undefined instruction fault (execute) at 0x00010230 pc=0x00010230"
        );
        // 64-bit addresses are not truncated.
        let f = FaultInfo {
            addr: 0xffff_0000_dead_b000,
            ..f
        };
        assert!(format!("{}", f).contains("at 0xffff0000deadb000 "));
    }
}
