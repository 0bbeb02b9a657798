//! Each architecture's Linux syscall numbers, as one table per ABI, and
//! the meaning ([`Sys`]) the neutral kernel dispatches on. The numbers come
//! from Linux's tables (`arch/arm/tools/syscall.tbl` for the ARM EABI,
//! `include/uapi/asm-generic/unistd.h` for AArch64).

/// The Linux syscalls this kernel implements, by meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sys {
    Exit,
    ExitGroup,
    Read,
    Write,
    Writev,
    Open,
    OpenAt,
    Close,
    GetPid,
    Ioctl,
    Brk,
    Munmap,
    Mprotect,
    /// mmap2: offset in 4096-byte units (ARM EABI).
    Mmap2,
    /// mmap: offset in bytes (AArch64).
    Mmap,
    Madvise,
    Mremap,
    SetTidAddress,
    /// Handled by the architecture (thread pointer register).
    SetTls,
    Unknown(usize),
}

/// Linux ARM EABI numbers (`svc #0`, number in r7).
pub const ARM_EABI: &[(usize, Sys)] = &[
    (1, Sys::Exit),
    (3, Sys::Read),
    (4, Sys::Write),
    (5, Sys::Open),
    (6, Sys::Close),
    (20, Sys::GetPid),
    (45, Sys::Brk),
    (54, Sys::Ioctl),
    (91, Sys::Munmap),
    (125, Sys::Mprotect),
    (146, Sys::Writev),
    (163, Sys::Mremap),
    (192, Sys::Mmap2),
    (220, Sys::Madvise),
    (248, Sys::ExitGroup),
    (256, Sys::SetTidAddress),
    (322, Sys::OpenAt),
    // ARM-private (__ARM_NR_set_tls = __ARM_NR_BASE 0x0f0000 + 5).
    (0x0f_0005, Sys::SetTls),
];

/// Linux AArch64 numbers (`svc #0`, number in x8; asm-generic).
pub const AARCH64: &[(usize, Sys)] = &[
    (29, Sys::Ioctl),
    (56, Sys::OpenAt),
    (57, Sys::Close),
    (63, Sys::Read),
    (64, Sys::Write),
    (66, Sys::Writev),
    (93, Sys::Exit),
    (94, Sys::ExitGroup),
    (96, Sys::SetTidAddress),
    (172, Sys::GetPid),
    (214, Sys::Brk),
    (215, Sys::Munmap),
    (216, Sys::Mremap),
    (222, Sys::Mmap),
    (226, Sys::Mprotect),
    (233, Sys::Madvise),
];

/// The meaning of syscall `nr` in `table` (sorted by number: a binary
/// search on every syscall); `Unknown(nr)` if it has none.
pub fn lookup(table: &[(usize, Sys)], nr: usize) -> Sys {
    match table.binary_search_by_key(&nr, |&(n, _)| n) {
        Ok(i) => table[i].1,
        Err(_) => Sys::Unknown(nr),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn numbers_from_the_linux_tables() {
        // arch/arm/tools/syscall.tbl (EABI) and asm-generic/unistd.h,
        // written out here, not taken from the tables above.
        let arm = [
            ("exit", 1, Sys::Exit),
            ("read", 3, Sys::Read),
            ("write", 4, Sys::Write),
            ("open", 5, Sys::Open),
            ("close", 6, Sys::Close),
            ("getpid", 20, Sys::GetPid),
            ("brk", 45, Sys::Brk),
            ("ioctl", 54, Sys::Ioctl),
            ("munmap", 91, Sys::Munmap),
            ("mprotect", 125, Sys::Mprotect),
            ("writev", 146, Sys::Writev),
            ("mremap", 163, Sys::Mremap),
            ("mmap2", 192, Sys::Mmap2),
            ("madvise", 220, Sys::Madvise),
            ("exit_group", 248, Sys::ExitGroup),
            ("set_tid_address", 256, Sys::SetTidAddress),
            ("openat", 322, Sys::OpenAt),
            ("set_tls", 0xf0005, Sys::SetTls),
        ];
        for (name, nr, sys) in arm {
            assert_eq!(lookup(ARM_EABI, nr), sys, "ARM {name}");
        }
        let a64 = [
            ("ioctl", 29, Sys::Ioctl),
            ("openat", 56, Sys::OpenAt),
            ("close", 57, Sys::Close),
            ("read", 63, Sys::Read),
            ("write", 64, Sys::Write),
            ("writev", 66, Sys::Writev),
            ("exit", 93, Sys::Exit),
            ("exit_group", 94, Sys::ExitGroup),
            ("set_tid_address", 96, Sys::SetTidAddress),
            ("getpid", 172, Sys::GetPid),
            ("brk", 214, Sys::Brk),
            ("munmap", 215, Sys::Munmap),
            ("mremap", 216, Sys::Mremap),
            ("mmap", 222, Sys::Mmap),
            ("mprotect", 226, Sys::Mprotect),
            ("madvise", 233, Sys::Madvise),
        ];
        for (name, nr, sys) in a64 {
            assert_eq!(lookup(AARCH64, nr), sys, "AArch64 {name}");
        }
        assert_eq!(ARM_EABI.len(), arm.len(), "no number beyond those");
        assert_eq!(AARCH64.len(), a64.len(), "no number beyond those");
    }

    #[test]
    fn unknown_numbers_stay_unknown_and_tables_are_unambiguous() {
        for t in [ARM_EABI, AARCH64] {
            let nrs: BTreeSet<usize> = t.iter().map(|e| e.0).collect();
            assert_eq!(nrs.len(), t.len(), "a number listed twice");
            assert!(t.windows(2).all(|w| w[0].0 < w[1].0), "sorted, for lookup");
        }
        // The calls only one ABI has.
        assert_eq!(lookup(AARCH64, 5), Sys::Unknown(5), "no open on AArch64");
        assert_eq!(lookup(AARCH64, 192), Sys::Unknown(192));
        assert_eq!(
            lookup(ARM_EABI, 222),
            Sys::Unknown(222),
            "no mmap (old_mmap) here"
        );
        assert_eq!(lookup(ARM_EABI, 999), Sys::Unknown(999));
        assert_eq!(lookup(ARM_EABI, usize::MAX), Sys::Unknown(usize::MAX));
    }
}
