//! Static ELF executables → a validated load plan.
//!
//! Parsing uses the `elf` crate (no_std, zero-alloc); this module adds the
//! checks a kernel must make before mapping anything. Accepted: ELF32
//! little-endian `EM_ARM` and ELF64 little-endian `EM_AARCH64` (the caller
//! says which), `ET_EXEC`, and `ET_DYN` without `PT_INTERP` (static-pie),
//! loaded at a caller-chosen page-aligned bias. Anything with `PT_INTERP`
//! (a dynamically linked program) is refused.
//!
//! Rules for `PT_LOAD` segments (each violation is its own [`ElfError`]):
//! * `p_filesz <= p_memsz`, and the file bytes lie inside the file;
//! * `p_vaddr % page_size == p_offset % page_size` (so it can be mapped);
//! * the page-rounded range `[vaddr & !(page-1), align_up(vaddr+memsz))`
//!   starts at or above `page_size` (page 0 is never mapped) and ends at or
//!   below `user_limit`; no address arithmetic may overflow;
//! * never both writable and executable (this kernel never maps W+X);
//! * **no two segments' page-rounded ranges overlap at all**, whatever their
//!   permissions. Linux tolerates two segments sharing a page; we refuse it,
//!   which keeps the mapping code simple (every page belongs to exactly one
//!   segment and has exactly one set of permissions). GNU ld and lld put
//!   each segment on fresh pages for 4 KiB pages with their default
//!   max-page-size, so real static binaries pass.
//!
//! Segments with `p_memsz == 0` are validated but left out of the plan.
//! The entry point (after the bias; for ARM with the Thumb bit 0 masked) must
//! lie inside an executable segment, and be 4-byte aligned unless it is a
//! Thumb entry (bit 0 set, ARM only), as Linux's `elf_check_arch` requires.

use alloc::vec::Vec;
use core::fmt;

use elf::abi;
use elf::endian::AnyEndian;
use elf::parse::ParseError;
use elf::ElfBytes;

/// The architecture the caller can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Machine {
    /// 32-bit ARM (ELFCLASS32, EM_ARM = 40).
    Arm,
    /// AArch64 (ELFCLASS64, EM_AARCH64 = 183).
    AArch64,
}

impl Machine {
    /// The `e_machine` value.
    pub const fn em(self) -> u16 {
        match self {
            Machine::Arm => abi::EM_ARM,
            Machine::AArch64 => abi::EM_AARCH64,
        }
    }
    /// The `EI_CLASS` value.
    pub const fn class(self) -> u8 {
        match self {
            Machine::Arm => abi::ELFCLASS32,
            Machine::AArch64 => abi::ELFCLASS64,
        }
    }
    /// Size of a user pointer in bytes.
    pub const fn word_size(self) -> usize {
        match self {
            Machine::Arm => 4,
            Machine::AArch64 => 8,
        }
    }
    pub const fn name(self) -> &'static str {
        match self {
            Machine::Arm => "ARM",
            Machine::AArch64 => "AArch64",
        }
    }
}

/// Permissions of a segment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SegPerms {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
}

impl SegPerms {
    /// From ELF `p_flags` (PF_R = 4, PF_W = 2, PF_X = 1).
    pub const fn from_flags(p_flags: u32) -> Self {
        SegPerms {
            read: p_flags & abi::PF_R != 0,
            write: p_flags & abi::PF_W != 0,
            exec: p_flags & abi::PF_X != 0,
        }
    }
}

impl fmt::Display for SegPerms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = |b: bool, ch: char| if b { ch } else { '-' };
        write!(
            f,
            "{}{}{}",
            c(self.read, 'r'),
            c(self.write, 'w'),
            c(self.exec, 'x')
        )
    }
}

/// One `PT_LOAD` segment, with the bias already applied to `vaddr`.
/// Map `[vaddr, vaddr+memsz)`; copy `filesz` bytes from `file_offset`;
/// zero the rest (including the part of the first page before `vaddr` and
/// the part of the last page after `vaddr+filesz`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u64,
    pub memsz: u64,
    pub file_offset: u64,
    pub filesz: u64,
    pub perms: SegPerms,
}

/// The `PT_TLS` template (bias applied).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tls {
    pub vaddr: u64,
    pub filesz: u64,
    pub memsz: u64,
    pub align: u64,
}

/// Everything needed to map a program and build its auxv.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadPlan {
    /// Entry point, bias applied. For ARM, bit 0 set means "start in Thumb
    /// state": the caller sets CPSR.T and clears the bit in the PC.
    pub entry: u64,
    /// `PT_LOAD` segments with `memsz > 0`, in program header order.
    pub segments: Vec<Segment>,
    /// User address of the program headers (for AT_PHDR): `PT_PHDR`, else
    /// derived from the `PT_LOAD` whose file bytes contain `e_phoff`. `None`
    /// when the table is not inside any loaded file bytes.
    pub phdr_vaddr: Option<u64>,
    /// `e_phentsize` (AT_PHENT).
    pub phent: u64,
    /// `e_phnum` (AT_PHNUM).
    pub phnum: u64,
    /// Load bias (0 for ET_EXEC).
    pub bias: u64,
    /// `PT_GNU_STACK` asks for an executable stack. This kernel never maps
    /// W+X memory, so the caller should refuse or ignore it (Linux default
    /// without `PT_GNU_STACK` is also reported as `false` here).
    pub stack_exec: bool,
    pub tls: Option<Tls>,
    /// `e_flags` (for ARM: EABI version and float ABI bits).
    pub elf_flags: u32,
    /// Lowest page-aligned address used by any segment.
    pub lowest: u64,
    /// End of the highest segment, page-aligned: a natural start for brk.
    pub highest: u64,
}

/// Why an executable cannot be loaded. `index` is a program header index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfError {
    /// Shorter than the ELF header, or a table runs past the end.
    Truncated,
    /// Not `\x7fELF`.
    BadMagic,
    WrongClass {
        expected: u8,
        found: u8,
    },
    /// Not little-endian.
    WrongEndian(u8),
    /// `EI_VERSION` / `e_version` is not 1.
    BadVersion,
    WrongMachine {
        expected: Machine,
        found: u16,
    },
    /// Neither `ET_EXEC` nor `ET_DYN` (e.g. a relocatable object or core).
    NotExecutable(u16),
    /// Has `PT_INTERP`: needs a dynamic linker, which this kernel lacks.
    Dynamic,
    /// `e_phentsize` is not the size of a program header for this class.
    BadPhentsize(u16),
    /// Any other malformation the parser found.
    Malformed(&'static str),
    /// No `PT_LOAD` with `p_memsz > 0`.
    NoLoadSegment,
    FileszExceedsMemsz {
        index: usize,
        filesz: u64,
        memsz: u64,
    },
    DataBeyondFile {
        index: usize,
        offset: u64,
        filesz: u64,
        file_len: u64,
    },
    /// `vaddr + bias + memsz` (page-rounded) overflows.
    AddressOverflow {
        index: usize,
    },
    /// The segment touches page 0.
    BelowFirstPage {
        index: usize,
        start: u64,
        end: u64,
    },
    /// The segment reaches `user_limit`.
    ReachesKernel {
        index: usize,
        start: u64,
        end: u64,
        limit: u64,
    },
    /// `p_vaddr % page_size != p_offset % page_size`.
    Misaligned {
        index: usize,
        vaddr: u64,
        offset: u64,
    },
    WritableAndExecutable {
        index: usize,
        start: u64,
        end: u64,
    },
    /// Two segments share at least one page.
    Overlap {
        first: usize,
        second: usize,
    },
    /// The entry point is not inside an executable segment.
    EntryNotExecutable {
        entry: u64,
    },
    /// The entry point is not 4-byte aligned (and not a Thumb entry).
    EntryMisaligned {
        entry: u64,
    },
    /// `PT_TLS` with `filesz > memsz` or an overflowing range.
    BadTls,
    /// `page_size` is not a power of two ≥ 16.
    BadPageSize(u64),
    /// The static-pie bias is not page-aligned.
    BadBias(u64),
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ElfError::*;
        match *self {
            Truncated => write!(f, "ELF: file is truncated"),
            BadMagic => write!(f, "ELF: bad magic (not an ELF file)"),
            WrongClass { expected, found } => write!(
                f,
                "ELF: wrong class {found} (expected {expected}: {})",
                if expected == abi::ELFCLASS32 { "ELF32" } else { "ELF64" }
            ),
            WrongEndian(d) => write!(f, "ELF: data encoding {d} is not little-endian"),
            BadVersion => write!(f, "ELF: unsupported ELF version"),
            WrongMachine { expected, found } => write!(
                f,
                "ELF: machine {found} is not {} ({})",
                expected.name(),
                expected.em()
            ),
            NotExecutable(t) => write!(f, "ELF: type {t} is not an executable (ET_EXEC/ET_DYN)"),
            Dynamic => write!(
                f,
                "ELF: dynamically linked (PT_INTERP); only static executables are supported"
            ),
            BadPhentsize(s) => write!(f, "ELF: bad program header entry size {s}"),
            Malformed(what) => write!(f, "ELF: malformed: {what}"),
            NoLoadSegment => write!(f, "ELF: no loadable segment"),
            FileszExceedsMemsz { index, filesz, memsz } => write!(
                f,
                "ELF: segment {index} filesz {filesz:#x} exceeds memsz {memsz:#x}"
            ),
            DataBeyondFile { index, offset, filesz, file_len } => write!(
                f,
                "ELF: segment {index} data [{offset:#x}..+{filesz:#x}) is beyond the end of the file ({file_len:#x} bytes)"
            ),
            AddressOverflow { index } => {
                write!(f, "ELF: segment {index} address range overflows")
            }
            BelowFirstPage { index, start, end } => write!(
                f,
                "ELF: segment {index} [{start:#x}..{end:#x}) touches page 0, which is never mapped"
            ),
            ReachesKernel { index, start, end, limit } => write!(
                f,
                "ELF: segment {index} [{start:#x}..{end:#x}) reaches kernel space (user limit {limit:#x})"
            ),
            Misaligned { index, vaddr, offset } => write!(
                f,
                "ELF: segment {index} vaddr {vaddr:#x} and file offset {offset:#x} differ modulo the page size"
            ),
            WritableAndExecutable { index, start, end } => write!(
                f,
                "ELF: segment {index} [{start:#x}..{end:#x}) is both writable and executable; W+X is never mapped"
            ),
            Overlap { first, second } => write!(
                f,
                "ELF: segments {first} and {second} share a page"
            ),
            EntryNotExecutable { entry } => write!(
                f,
                "ELF: entry point {entry:#x} is not inside an executable segment"
            ),
            EntryMisaligned { entry } => write!(f, "ELF: entry point {entry:#x} is misaligned"),
            BadTls => write!(f, "ELF: invalid PT_TLS segment"),
            BadPageSize(p) => write!(f, "ELF: page size {p:#x} is not a power of two"),
            BadBias(b) => write!(f, "ELF: load bias {b:#x} is not page-aligned"),
        }
    }
}

fn map_parse_error(e: ParseError) -> ElfError {
    match e {
        ParseError::BadMagic(_) => ElfError::BadMagic,
        ParseError::UnsupportedElfClass(c) => ElfError::WrongClass {
            expected: 0,
            found: c,
        },
        ParseError::UnsupportedElfEndianness(d) => ElfError::WrongEndian(d),
        ParseError::UnsupportedVersion(_) => ElfError::BadVersion,
        ParseError::SliceReadError(_) | ParseError::BadOffset(_) => ElfError::Truncated,
        ParseError::BadEntsize(_) => ElfError::Malformed("bad table entry size"),
        ParseError::IntegerOverflow => ElfError::Malformed("table offset/size overflows"),
        ParseError::TryFromIntError(_) => {
            ElfError::Malformed("value does not fit the address size")
        }
        _ => ElfError::Malformed("header tables"),
    }
}

fn align_down(x: u64, page: u64) -> u64 {
    x & !(page - 1)
}

fn align_up(x: u64, page: u64) -> Option<u64> {
    Some(x.checked_add(page - 1)? & !(page - 1))
}

/// Validate a static executable and compute how to load it.
///
/// * `machine`: the only architecture accepted.
/// * `user_limit`: first address not available to user space.
/// * `page_size`: a power of two (4096 in practice).
/// * `pie_bias`: where to load an `ET_DYN` (static-pie) image, page-aligned
///   (e.g. 0x10000 on ARM); ignored for `ET_EXEC`.
pub fn plan(
    bytes: &[u8],
    machine: Machine,
    user_limit: u64,
    page_size: u64,
    pie_bias: u64,
) -> Result<LoadPlan, ElfError> {
    if page_size < 16 || !page_size.is_power_of_two() {
        return Err(ElfError::BadPageSize(page_size));
    }
    // Identification bytes first, by hand, for precise errors.
    if bytes.len() < 4 {
        return Err(if abi::ELFMAGIC.starts_with(bytes) {
            ElfError::Truncated
        } else {
            ElfError::BadMagic
        });
    }
    if bytes[..4] != abi::ELFMAGIC {
        return Err(ElfError::BadMagic);
    }
    let ident = bytes.get(..abi::EI_NIDENT).ok_or(ElfError::Truncated)?;
    if ident[abi::EI_CLASS] != machine.class() {
        return Err(ElfError::WrongClass {
            expected: machine.class(),
            found: ident[abi::EI_CLASS],
        });
    }
    if ident[abi::EI_DATA] != abi::ELFDATA2LSB {
        return Err(ElfError::WrongEndian(ident[abi::EI_DATA]));
    }
    if ident[abi::EI_VERSION] != abi::EV_CURRENT {
        return Err(ElfError::BadVersion);
    }

    // e_phentsize by hand too (the parser would only say "bad entsize").
    let (phentsize_at, expected_phentsize) = match machine {
        Machine::Arm => (42, 32),
        Machine::AArch64 => (54, 56),
    };
    let field = |at: usize| {
        bytes
            .get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .ok_or(ElfError::Truncated)
    };
    let (phentsize, phnum_field) = (field(phentsize_at)?, field(phentsize_at + 2)?);
    if phnum_field != 0 && phentsize != expected_phentsize {
        return Err(ElfError::BadPhentsize(phentsize));
    }

    let file = ElfBytes::<AnyEndian>::minimal_parse(bytes).map_err(map_parse_error)?;
    let eh = &file.ehdr;
    if eh.version != 1 {
        return Err(ElfError::BadVersion);
    }
    if eh.e_machine != machine.em() {
        return Err(ElfError::WrongMachine {
            expected: machine,
            found: eh.e_machine,
        });
    }
    let bias = match eh.e_type {
        abi::ET_EXEC => 0,
        abi::ET_DYN => {
            if !pie_bias.is_multiple_of(page_size) {
                return Err(ElfError::BadBias(pie_bias));
            }
            pie_bias
        }
        t => return Err(ElfError::NotExecutable(t)),
    };
    let phdrs = file.segments().ok_or(ElfError::NoLoadSegment)?;
    let phnum = phdrs.len();
    // Linux's elf_read_phdrs refuses tables over 64 KiB; so do we, which
    // also bounds the memory a hostile file can make us allocate.
    if phnum * usize::from(expected_phentsize) > 65536 {
        return Err(ElfError::Malformed(
            "program header table larger than 64 KiB",
        ));
    }
    let file_len = bytes.len() as u64;

    // PT_INTERP first: a dynamic program gets the clearest error whatever
    // else is wrong with its segments.
    let mut headers = Vec::with_capacity(phnum);
    for i in 0..phnum {
        let ph = phdrs.get(i).map_err(map_parse_error)?;
        if ph.p_type == abi::PT_INTERP {
            return Err(ElfError::Dynamic);
        }
        headers.push(ph);
    }

    let mut segments = Vec::new();
    let mut indices = Vec::new();
    let mut phdr_from_pt_phdr = None;
    let mut stack_exec = false;
    let mut tls = None;
    for (index, ph) in headers.iter().enumerate() {
        match ph.p_type {
            abi::PT_LOAD => {}
            abi::PT_PHDR => {
                phdr_from_pt_phdr = Some(
                    ph.p_vaddr
                        .checked_add(bias)
                        .ok_or(ElfError::AddressOverflow { index })?,
                );
                continue;
            }
            abi::PT_GNU_STACK => {
                stack_exec = ph.p_flags & abi::PF_X != 0;
                continue;
            }
            abi::PT_TLS => {
                let vaddr = ph.p_vaddr.checked_add(bias).ok_or(ElfError::BadTls)?;
                if ph.p_filesz > ph.p_memsz || vaddr.checked_add(ph.p_memsz).is_none() {
                    return Err(ElfError::BadTls);
                }
                tls = Some(Tls {
                    vaddr,
                    filesz: ph.p_filesz,
                    memsz: ph.p_memsz,
                    align: ph.p_align,
                });
                continue;
            }
            _ => continue,
        }
        if ph.p_filesz > ph.p_memsz {
            return Err(ElfError::FileszExceedsMemsz {
                index,
                filesz: ph.p_filesz,
                memsz: ph.p_memsz,
            });
        }
        let beyond = ElfError::DataBeyondFile {
            index,
            offset: ph.p_offset,
            filesz: ph.p_filesz,
            file_len,
        };
        match ph.p_offset.checked_add(ph.p_filesz) {
            Some(end) if end <= file_len => {}
            _ => return Err(beyond),
        }
        if ph.p_memsz == 0 {
            continue;
        }
        if ph.p_vaddr % page_size != ph.p_offset % page_size {
            return Err(ElfError::Misaligned {
                index,
                vaddr: ph.p_vaddr,
                offset: ph.p_offset,
            });
        }
        let overflow = ElfError::AddressOverflow { index };
        let start = ph.p_vaddr.checked_add(bias).ok_or(overflow)?;
        let end = start.checked_add(ph.p_memsz).ok_or(overflow)?;
        let end_page = align_up(end, page_size).ok_or(overflow)?;
        if start < page_size {
            return Err(ElfError::BelowFirstPage { index, start, end });
        }
        if end_page > user_limit {
            return Err(ElfError::ReachesKernel {
                index,
                start,
                end,
                limit: user_limit,
            });
        }
        let perms = SegPerms::from_flags(ph.p_flags);
        if perms.write && perms.exec {
            return Err(ElfError::WritableAndExecutable { index, start, end });
        }
        segments.push(Segment {
            vaddr: start,
            memsz: ph.p_memsz,
            file_offset: ph.p_offset,
            filesz: ph.p_filesz,
            perms,
        });
        indices.push(index);
    }
    if segments.is_empty() {
        return Err(ElfError::NoLoadSegment);
    }

    // Overlap at page granularity: sort page ranges by start and compare
    // each with the furthest end seen so far. All ends were checked above.
    let page_range = |s: &Segment| {
        (
            align_down(s.vaddr, page_size),
            align_up(s.vaddr + s.memsz, page_size).unwrap_or(u64::MAX),
        )
    };
    let mut order: Vec<usize> = (0..segments.len()).collect();
    order.sort_unstable_by_key(|&i| page_range(&segments[i]).0);
    let mut furthest: Option<(u64, usize)> = None;
    for &i in &order {
        let (lo, hi) = page_range(&segments[i]);
        if let Some((end, j)) = furthest {
            if lo < end {
                let (a, b) = (indices[j].min(indices[i]), indices[j].max(indices[i]));
                return Err(ElfError::Overlap {
                    first: a,
                    second: b,
                });
            }
        }
        if furthest.is_none_or(|(end, _)| hi > end) {
            furthest = Some((hi, i));
        }
    }

    // Entry point.
    let entry = eh
        .e_entry
        .checked_add(bias)
        .ok_or(ElfError::EntryNotExecutable { entry: eh.e_entry })?;
    let thumb = machine == Machine::Arm && entry & 1 != 0;
    if !thumb && entry & 3 != 0 {
        return Err(ElfError::EntryMisaligned { entry });
    }
    let pc = entry & !1;
    if !segments
        .iter()
        .any(|s| s.perms.exec && pc >= s.vaddr && pc - s.vaddr < s.memsz)
    {
        return Err(ElfError::EntryNotExecutable { entry });
    }

    // AT_PHDR: must point at bytes that really get loaded from the file.
    let table_size = u64::from(eh.e_phentsize) * phnum as u64;
    let loaded_from = |vaddr: u64| {
        segments.iter().any(|s| {
            vaddr >= s.vaddr
                && vaddr
                    .checked_add(table_size)
                    .is_some_and(|e| e <= s.vaddr + s.filesz)
        })
    };
    let phdr_vaddr = match phdr_from_pt_phdr {
        Some(v) => Some(v).filter(|&v| loaded_from(v)),
        None => segments
            .iter()
            .find(|s| {
                eh.e_phoff >= s.file_offset
                    && eh
                        .e_phoff
                        .checked_add(table_size)
                        .is_some_and(|e| e <= s.file_offset + s.filesz)
            })
            .map(|s| s.vaddr + (eh.e_phoff - s.file_offset)),
    };

    let lowest = segments
        .iter()
        .map(|s| align_down(s.vaddr, page_size))
        .min()
        .unwrap_or(0);
    let highest = segments.iter().map(|s| page_range(s).1).max().unwrap_or(0);

    Ok(LoadPlan {
        entry,
        segments,
        phdr_vaddr,
        phent: u64::from(eh.e_phentsize),
        phnum: phnum as u64,
        bias,
        stack_exec,
        tls,
        elf_flags: eh.e_flags,
        lowest,
        highest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;
    use std::string::ToString;
    use std::vec;
    use std::vec::Vec;

    const PAGE: u64 = 4096;
    const LIMIT: u64 = 0x8000_0000;

    #[derive(Clone, Copy)]
    struct Ph {
        p_type: u32,
        flags: u32,
        offset: u64,
        vaddr: u64,
        filesz: u64,
        memsz: u64,
        align: u64,
    }

    fn load(flags: u32, offset: u64, vaddr: u64, filesz: u64, memsz: u64) -> Ph {
        Ph {
            p_type: 1,
            flags,
            offset,
            vaddr,
            filesz,
            memsz,
            align: 0x1000,
        }
    }

    const R: u32 = 4;
    const W: u32 = 2;
    const X: u32 = 1;

    /// ELF header + program headers written by hand from the gABI
    /// (ELF32: 52-byte header, 32-byte phdrs; ELF64: 64-byte, 56-byte).
    struct Builder {
        is64: bool,
        e_type: u16,
        machine: u16,
        entry: u64,
        phdrs: Vec<Ph>,
        file_len: usize,
    }

    impl Builder {
        fn arm() -> Self {
            Builder {
                is64: false,
                e_type: 2,
                machine: 40,
                entry: 0x10000 + 0x54 + 2 * 32,
                phdrs: vec![
                    load(R | X, 0, 0x10000, 0x300, 0x300),
                    load(R | W, 0x1300, 0x11300, 0x40, 0x1000),
                ],
                file_len: 0x1340,
            }
        }
        fn a64() -> Self {
            Builder {
                is64: true,
                e_type: 2,
                machine: 183,
                entry: 0x40_0000 + 0x100,
                phdrs: vec![
                    load(R | X, 0, 0x40_0000, 0x400, 0x400),
                    load(R | W, 0x1400, 0x40_1400, 0x40, 0x2000),
                ],
                file_len: 0x1440,
            }
        }
        fn build(&self) -> Vec<u8> {
            let mut b = Vec::new();
            let ehsize: u16 = if self.is64 { 64 } else { 52 };
            let phentsize: u16 = if self.is64 { 56 } else { 32 };
            b.extend_from_slice(&[
                0x7f,
                b'E',
                b'L',
                b'F',
                if self.is64 { 2 } else { 1 },
                1,
                1,
                0,
            ]);
            b.extend_from_slice(&[0; 8]);
            b.extend_from_slice(&self.e_type.to_le_bytes());
            b.extend_from_slice(&self.machine.to_le_bytes());
            b.extend_from_slice(&1u32.to_le_bytes()); // e_version
            let word = |b: &mut Vec<u8>, v: u64| {
                if self.is64 {
                    b.extend_from_slice(&v.to_le_bytes())
                } else {
                    b.extend_from_slice(&(v as u32).to_le_bytes())
                }
            };
            word(&mut b, self.entry);
            word(&mut b, u64::from(ehsize)); // e_phoff
            word(&mut b, 0); // e_shoff
            let flags: u32 = if self.is64 { 0 } else { 0x0500_0400 };
            b.extend_from_slice(&flags.to_le_bytes());
            b.extend_from_slice(&ehsize.to_le_bytes());
            b.extend_from_slice(&phentsize.to_le_bytes());
            b.extend_from_slice(&(self.phdrs.len() as u16).to_le_bytes());
            b.extend_from_slice(&[0; 6]); // shentsize, shnum, shstrndx
            assert_eq!(b.len(), ehsize as usize);
            for p in &self.phdrs {
                b.extend_from_slice(&p.p_type.to_le_bytes());
                if self.is64 {
                    b.extend_from_slice(&p.flags.to_le_bytes());
                    for v in [p.offset, p.vaddr, p.vaddr, p.filesz, p.memsz, p.align] {
                        b.extend_from_slice(&v.to_le_bytes());
                    }
                } else {
                    for v in [p.offset, p.vaddr, p.vaddr, p.filesz, p.memsz] {
                        b.extend_from_slice(&(v as u32).to_le_bytes());
                    }
                    b.extend_from_slice(&p.flags.to_le_bytes());
                    b.extend_from_slice(&(p.align as u32).to_le_bytes());
                }
            }
            if b.len() < self.file_len {
                b.resize(self.file_len, 0xcc);
            }
            b
        }
        fn plan(&self) -> Result<LoadPlan, ElfError> {
            let m = if self.is64 {
                Machine::AArch64
            } else {
                Machine::Arm
            };
            plan(&self.build(), m, LIMIT, PAGE, 0x10000)
        }
    }

    #[test]
    fn arm_static_exec() {
        let b = Builder::arm();
        let p = b.plan().unwrap();
        assert_eq!(p.entry, b.entry);
        assert_eq!(p.bias, 0);
        assert_eq!(p.phnum, 2);
        assert_eq!(p.phent, 32);
        // e_phoff = 52 lies in segment 0 (file offset 0 → vaddr 0x10000).
        assert_eq!(p.phdr_vaddr, Some(0x10000 + 52));
        assert_eq!(p.segments.len(), 2);
        assert_eq!(
            p.segments[0],
            Segment {
                vaddr: 0x10000,
                memsz: 0x300,
                file_offset: 0,
                filesz: 0x300,
                perms: SegPerms {
                    read: true,
                    write: false,
                    exec: true
                }
            }
        );
        assert_eq!(p.segments[1].perms.to_string(), "rw-");
        assert_eq!(p.segments[1].vaddr, 0x11300);
        assert!(!p.stack_exec);
        assert_eq!(p.tls, None);
        assert_eq!(p.elf_flags, 0x0500_0400);
        assert_eq!(p.lowest, 0x10000);
        assert_eq!(p.highest, 0x13000);
    }

    #[test]
    fn aarch64_static_exec_with_pt_phdr_tls_and_stack() {
        let mut b = Builder::a64();
        b.phdrs.insert(
            0,
            Ph {
                p_type: 6,
                flags: R,
                offset: 64,
                vaddr: 0x40_0040,
                filesz: 56 * 5,
                memsz: 56 * 5,
                align: 8,
            },
        );
        b.phdrs.push(Ph {
            p_type: 7,
            flags: R,
            offset: 0x1400,
            vaddr: 0x40_1400,
            filesz: 0x10,
            memsz: 0x20,
            align: 16,
        });
        b.phdrs.push(Ph {
            p_type: 0x6474_e551,
            flags: R | W,
            offset: 0,
            vaddr: 0,
            filesz: 0,
            memsz: 0,
            align: 16,
        });
        let p = b.plan().unwrap();
        assert_eq!(p.phdr_vaddr, Some(0x40_0040));
        assert_eq!(p.phnum, 5);
        assert_eq!(p.phent, 56);
        assert_eq!(
            p.tls,
            Some(Tls {
                vaddr: 0x40_1400,
                filesz: 0x10,
                memsz: 0x20,
                align: 16
            })
        );
        assert!(!p.stack_exec);
        assert_eq!(p.segments.len(), 2);
        // Executable-stack request is reported.
        let n = b.phdrs.len();
        b.phdrs[n - 1].flags = R | W | X;
        assert!(b.plan().unwrap().stack_exec);
        // PT_PHDR pointing outside the loaded bytes → no AT_PHDR.
        b.phdrs[0].vaddr = 0x50_0000;
        assert_eq!(b.plan().unwrap().phdr_vaddr, None);
    }

    #[test]
    fn static_pie_gets_bias() {
        let mut b = Builder::arm();
        b.e_type = 3;
        b.entry = 0x54 + 64;
        b.phdrs[0].vaddr = 0;
        b.phdrs[1].vaddr = 0x1300;
        let data = b.build();
        let p = plan(&data, Machine::Arm, LIMIT, PAGE, 0x10000).unwrap();
        assert_eq!(p.bias, 0x10000);
        assert_eq!(p.entry, 0x10000 + 0x54 + 64);
        assert_eq!(p.segments[0].vaddr, 0x10000);
        assert_eq!(p.segments[1].vaddr, 0x11300);
        assert_eq!(p.phdr_vaddr, Some(0x10000 + 52));
        // Without a bias the image would sit in page 0.
        assert!(matches!(
            plan(&data, Machine::Arm, LIMIT, PAGE, 0),
            Err(ElfError::BelowFirstPage { index: 0, .. })
        ));
        assert_eq!(
            plan(&data, Machine::Arm, LIMIT, PAGE, 0x10010),
            Err(ElfError::BadBias(0x10010))
        );
        // With PT_INTERP it is a dynamic program.
        b.phdrs.push(Ph {
            p_type: 3,
            flags: R,
            offset: 0x200,
            vaddr: 0x200,
            filesz: 0x10,
            memsz: 0x10,
            align: 1,
        });
        assert_eq!(b.plan(), Err(ElfError::Dynamic));
    }

    #[test]
    fn thumb_entry() {
        let mut b = Builder::arm();
        b.entry = 0x10101;
        assert_eq!(b.plan().unwrap().entry, 0x10101);
        b.entry = 0x10102;
        assert_eq!(b.plan(), Err(ElfError::EntryMisaligned { entry: 0x10102 }));
        // No Thumb on AArch64.
        let mut b = Builder::a64();
        b.entry = 0x40_0101;
        assert_eq!(
            b.plan(),
            Err(ElfError::EntryMisaligned { entry: 0x40_0101 })
        );
    }

    #[test]
    fn header_errors() {
        let good = Builder::arm().build();
        let run = |b: &[u8]| plan(b, Machine::Arm, LIMIT, PAGE, 0x10000);
        let mut b = good.clone();
        b[1] = b'X';
        assert_eq!(run(&b), Err(ElfError::BadMagic));
        assert_eq!(run(b"MZ"), Err(ElfError::BadMagic));
        assert_eq!(run(b"\x7fEL"), Err(ElfError::Truncated));
        assert_eq!(run(&good[..20]), Err(ElfError::Truncated));
        // Wrong class: an ELF64 file offered as ARM, and vice versa.
        assert_eq!(
            run(&Builder::a64().build()),
            Err(ElfError::WrongClass {
                expected: 1,
                found: 2
            })
        );
        assert_eq!(
            plan(&good, Machine::AArch64, LIMIT, PAGE, 0),
            Err(ElfError::WrongClass {
                expected: 2,
                found: 1
            })
        );
        let mut b = good.clone();
        b[5] = 2;
        assert_eq!(run(&b), Err(ElfError::WrongEndian(2)));
        let mut b = good.clone();
        b[6] = 0;
        assert_eq!(run(&b), Err(ElfError::BadVersion));
        let mut bb = Builder::arm();
        bb.machine = 3; // EM_386
        assert_eq!(
            bb.plan(),
            Err(ElfError::WrongMachine {
                expected: Machine::Arm,
                found: 3
            })
        );
        let mut bb = Builder::a64();
        bb.machine = 62; // EM_X86_64
        assert_eq!(
            bb.plan(),
            Err(ElfError::WrongMachine {
                expected: Machine::AArch64,
                found: 62
            })
        );
        for t in [0u16, 1, 4] {
            let mut bb = Builder::arm();
            bb.e_type = t;
            assert_eq!(bb.plan(), Err(ElfError::NotExecutable(t)));
        }
        // Bad e_phentsize.
        let mut b = good.clone();
        b[42] = 33;
        assert_eq!(run(&b), Err(ElfError::BadPhentsize(33)));
        let mut b = Builder::a64().build();
        b[54] = 32;
        assert_eq!(
            plan(&b, Machine::AArch64, LIMIT, PAGE, 0),
            Err(ElfError::BadPhentsize(32))
        );
        // Bad section header entry size (the parser checks it).
        let mut b = good.clone();
        b[32] = 0x40; // e_shoff = 0x40
        b[46] = 7; // e_shentsize
        assert!(matches!(run(&b), Err(ElfError::Malformed(_))));
        // A program header table over 64 KiB.
        let mut bb = Builder::arm();
        let extra = Ph {
            p_type: 4,
            flags: R,
            offset: 0,
            vaddr: 0,
            filesz: 0,
            memsz: 0,
            align: 4,
        };
        bb.phdrs.extend(std::iter::repeat_n(extra, 2046));
        assert_eq!(bb.plan().unwrap().phnum, 2048);
        bb.phdrs.push(extra);
        assert!(matches!(bb.plan(), Err(ElfError::Malformed(_))));
        // e_phnum too large for the file.
        let mut b = good.clone();
        b[44] = 0xf0;
        assert_eq!(run(&b), Err(ElfError::Truncated));
        // No program headers at all.
        let mut bb = Builder::arm();
        bb.phdrs.clear();
        assert_eq!(bb.plan(), Err(ElfError::NoLoadSegment));
        // Only a non-load segment.
        let mut bb = Builder::arm();
        bb.phdrs = vec![Ph {
            p_type: 4,
            ..bb.phdrs[0]
        }];
        assert_eq!(bb.plan(), Err(ElfError::NoLoadSegment));
        assert_eq!(
            plan(&good, Machine::Arm, LIMIT, 3000, 0),
            Err(ElfError::BadPageSize(3000))
        );
        // PT_INTERP is refused even on ET_EXEC.
        let mut bb = Builder::arm();
        bb.phdrs.insert(
            0,
            Ph {
                p_type: 3,
                flags: R,
                offset: 0x200,
                vaddr: 0x10200,
                filesz: 0x10,
                memsz: 0x10,
                align: 1,
            },
        );
        assert_eq!(bb.plan(), Err(ElfError::Dynamic));
        assert!(ElfError::Dynamic.to_string().contains("PT_INTERP"));
    }

    #[test]
    fn segment_errors() {
        let with = |f: &dyn Fn(&mut Builder)| {
            let mut b = Builder::arm();
            f(&mut b);
            b.plan()
        };
        assert_eq!(
            with(&|b| b.phdrs[1].filesz = 0x2000),
            Err(ElfError::FileszExceedsMemsz {
                index: 1,
                filesz: 0x2000,
                memsz: 0x1000
            })
        );
        assert!(matches!(
            with(&|b| b.phdrs[1].filesz = 0x41),
            Err(ElfError::DataBeyondFile { index: 1, .. })
        ));
        assert!(matches!(
            with(&|b| b.phdrs[1].offset = u64::from(u32::MAX)),
            Err(ElfError::DataBeyondFile { index: 1, .. })
        ));
        assert_eq!(
            with(&|b| b.phdrs[1].vaddr = 0x11200),
            Err(ElfError::Misaligned {
                index: 1,
                vaddr: 0x11200,
                offset: 0x1300
            })
        );
        // Reaching kernel space (ends exactly at the limit is fine).
        let e = with(&|b| {
            b.phdrs[1].offset = 0x1000;
            b.phdrs[1].vaddr = 0x8000_0000;
            b.phdrs[1].memsz = 0x1000;
        });
        assert_eq!(
            e,
            Err(ElfError::ReachesKernel {
                index: 1,
                start: 0x8000_0000,
                end: 0x8000_1000,
                limit: LIMIT
            })
        );
        assert_eq!(
            e.unwrap_err().to_string(),
            "ELF: segment 1 [0x80000000..0x80001000) reaches kernel space (user limit 0x80000000)"
        );
        assert!(with(&|b| {
            b.phdrs[1].offset = 0x1000;
            b.phdrs[1].vaddr = 0x7fff_f000;
            b.phdrs[1].memsz = 0x1000;
            b.phdrs[1].filesz = 0x40;
        })
        .is_ok());
        assert!(matches!(
            with(&|b| {
                b.phdrs[1].vaddr = 0x7fff_f300;
                b.phdrs[1].memsz = 0xd01;
            }),
            Err(ElfError::ReachesKernel { .. })
        ));
        // Page 0.
        assert!(matches!(
            with(&|b| {
                b.phdrs[1].vaddr = 0x300;
                b.phdrs[1].offset = 0x300;
            }),
            Err(ElfError::BelowFirstPage { index: 1, .. })
        ));
        // 32-bit file, but a 64-bit plan: address overflow must be caught on
        // ELF64 where fields are 64-bit.
        let mut b = Builder::a64();
        b.phdrs[1].vaddr = u64::MAX - 0xfff + 0x400;
        b.phdrs[1].offset = 0x1400;
        assert_eq!(
            plan(&b.build(), Machine::AArch64, u64::MAX, PAGE, 0),
            Err(ElfError::AddressOverflow { index: 1 })
        );
        // The end fits, but rounding it up to a page does not.
        b.phdrs[1].vaddr = u64::MAX - 0x1fff + 0x400;
        b.phdrs[1].memsz = 0x1000;
        assert_eq!(
            plan(&b.build(), Machine::AArch64, u64::MAX, PAGE, 0),
            Err(ElfError::AddressOverflow { index: 1 })
        );
        // W+X.
        let e = with(&|b| b.phdrs[1].flags = R | W | X).unwrap_err();
        assert_eq!(
            e,
            ElfError::WritableAndExecutable {
                index: 1,
                start: 0x11300,
                end: 0x12300
            }
        );
        assert!(e.to_string().contains("writable and executable"));
        // Overlap: sharing a page, fully inside, and in reverse order.
        assert_eq!(
            with(&|b| {
                b.phdrs[1].vaddr = 0x10300;
                b.phdrs[1].offset = 0x300;
            }),
            Err(ElfError::Overlap {
                first: 0,
                second: 1
            })
        );
        assert_eq!(
            with(&|b| {
                b.phdrs.swap(0, 1);
                b.phdrs[0].vaddr = 0x10300;
                b.phdrs[0].offset = 0x300;
            }),
            Err(ElfError::Overlap {
                first: 0,
                second: 1
            })
        );
        assert_eq!(
            with(&|b| {
                b.phdrs.push(load(R, 0x100, 0x18100, 0x10, 0x10));
                b.phdrs[1].memsz = 0x10000;
            }),
            Err(ElfError::Overlap {
                first: 1,
                second: 2
            })
        );
        // Same permissions sharing a page are refused too (documented rule).
        assert!(matches!(
            with(&|b| {
                b.phdrs[1].vaddr = 0x10300;
                b.phdrs[1].offset = 0x300;
                b.phdrs[1].flags = R | X;
            }),
            Err(ElfError::Overlap { .. })
        ));
        // Adjacent pages are fine.
        assert!(with(&|b| {
            b.phdrs[1].vaddr = 0x11000;
            b.phdrs[1].offset = 0x1000;
        })
        .is_ok());
        // Entry point outside any executable segment.
        assert_eq!(
            with(&|b| b.entry = 0x11300),
            Err(ElfError::EntryNotExecutable { entry: 0x11300 })
        );
        assert_eq!(
            with(&|b| b.entry = 0x10300),
            Err(ElfError::EntryNotExecutable { entry: 0x10300 })
        );
        assert!(with(&|b| b.entry = 0x102fc).is_ok());
        // Zero-sized PT_LOAD is ignored, not mapped.
        let p = with(&|b| b.phdrs.push(load(R, 0, 0, 0, 0))).unwrap();
        assert_eq!(p.segments.len(), 2);
        // TLS with filesz > memsz.
        assert_eq!(
            with(&|b| b.phdrs.push(Ph {
                p_type: 7,
                flags: R,
                offset: 0x1300,
                vaddr: 0x11300,
                filesz: 8,
                memsz: 4,
                align: 4
            })),
            Err(ElfError::BadTls)
        );
    }

    #[test]
    fn every_truncation_is_an_error() {
        for b in [Builder::arm(), Builder::a64()] {
            let data = b.build();
            let m = if b.is64 {
                Machine::AArch64
            } else {
                Machine::Arm
            };
            for len in 0..data.len() {
                let r = plan(&data[..len], m, LIMIT, PAGE, 0x10000);
                assert!(r.is_err(), "len {len} accepted");
                let _ = format!("{}", r.unwrap_err());
            }
            assert!(plan(&data, m, LIMIT, PAGE, 0x10000).is_ok());
        }
    }

    #[test]
    fn byte_flips_never_panic() {
        for b in [Builder::arm(), Builder::a64()] {
            let data = b.build();
            let m = if b.is64 {
                Machine::AArch64
            } else {
                Machine::Arm
            };
            let hdr = if b.is64 { 64 + 56 * 2 } else { 52 + 32 * 2 };
            for i in 0..hdr {
                for v in [0u8, 1, 0x7f, 0x80, 0xff] {
                    let mut d = data.clone();
                    d[i] = v;
                    if let Ok(p) = plan(&d, m, LIMIT, PAGE, 0x10000) {
                        // Whatever is accepted obeys the invariants.
                        for s in &p.segments {
                            assert!(s.vaddr >= PAGE && s.vaddr + s.memsz <= LIMIT);
                            assert!(!(s.perms.write && s.perms.exec));
                            assert!(s.file_offset + s.filesz <= d.len() as u64);
                        }
                    }
                }
            }
        }
    }
}
