//! Static ELF executables → a validated load plan.
//!
//! The file is read through a [`Source`] (the page cache in the kernel, a
//! byte slice in tests), as Linux's `load_elf_binary` reads it with
//! `kernel_read`: only the ELF header (the first 64 bytes at most) and the
//! program header table (at most 64 KiB, in a fallibly allocated buffer)
//! are read; segment contents never are (the caller maps them from the
//! file), and section headers are ignored, as Linux ignores them.
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
use elf::file::{Class, FileHeader};
use elf::parse::ParseError;
use elf::segment::SegmentTable;

use crate::errno::Errno;

/// Random access to the bytes of an executable file.
pub trait Source {
    /// The file's size in bytes.
    fn size(&self) -> u64;
    /// Read up to `buf.len()` bytes at `pos` into `buf`: how many were
    /// read, fewer only at the end of the file (0 at or past it).
    fn read_at(&mut self, pos: u64, buf: &mut [u8]) -> Result<usize, Errno>;
}

/// A whole file in memory (tests, fuzzing).
impl Source for &[u8] {
    fn size(&self) -> u64 {
        self.len() as u64
    }
    fn read_at(&mut self, pos: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let Ok(pos) = usize::try_from(pos) else {
            return Ok(0);
        };
        let have = self.get(pos..).unwrap_or(&[]);
        let n = have.len().min(buf.len());
        buf[..n].copy_from_slice(&have[..n]);
        Ok(n)
    }
}

/// Read `buf.len()` bytes at `pos`, looping over short reads: how many
/// (fewer only at the end of the file).
fn read_full(src: &mut dyn Source, pos: u64, buf: &mut [u8]) -> Result<usize, ElfError> {
    let mut done = 0;
    while done < buf.len() {
        let at = pos.checked_add(done as u64).ok_or(ElfError::Truncated)?;
        let n = src.read_at(at, &mut buf[done..]).map_err(ElfError::Read)?;
        if n == 0 {
            break;
        }
        done += n.min(buf.len() - done);
    }
    Ok(done)
}

/// Linux's bound on the program header table (`elf_read_phdrs`: 64 KiB),
/// which also bounds what a hostile file can make the kernel allocate.
pub const MAX_PHDR_TABLE: usize = 65536;

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
    /// No memory for the program header table or the plan.
    NoMemory,
    /// Reading the file failed with this errno.
    Read(Errno),
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
            NoMemory => write!(f, "ELF: out of memory for the program headers"),
            Read(e) => write!(f, "ELF: reading the file: {}", e.name()),
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

/// Validate a static executable held in memory and compute how to load
/// it ([`plan_from`] with the bytes as the file).
pub fn plan(
    bytes: &[u8],
    machine: Machine,
    user_limit: u64,
    page_size: u64,
    pie_bias: u64,
) -> Result<LoadPlan, ElfError> {
    plan_from(&mut { bytes }, machine, user_limit, page_size, pie_bias)
}

/// Validate a static executable and compute how to load it, reading the
/// ELF header and the program header table from `src`.
///
/// * `machine`: the only architecture accepted.
/// * `user_limit`: first address not available to user space.
/// * `page_size`: a power of two (4096 in practice).
/// * `pie_bias`: where to load an `ET_DYN` (static-pie) image, page-aligned
///   (e.g. 0x10000 on ARM); ignored for `ET_EXEC`.
pub fn plan_from(
    src: &mut dyn Source,
    machine: Machine,
    user_limit: u64,
    page_size: u64,
    pie_bias: u64,
) -> Result<LoadPlan, ElfError> {
    if page_size < 16 || !page_size.is_power_of_two() {
        return Err(ElfError::BadPageSize(page_size));
    }
    // The ELF header: 52 bytes (ELF32) or 64 (ELF64).
    let mut head = [0u8; 64];
    let got = read_full(src, 0, &mut head)?;
    let bytes = &head[..got];
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

    let parsed_ident = elf::file::parse_ident::<AnyEndian>(ident).map_err(map_parse_error)?;
    let tail_len = match parsed_ident.1 {
        Class::ELF32 => elf::file::ELF32_EHDR_TAILSIZE,
        Class::ELF64 => elf::file::ELF64_EHDR_TAILSIZE,
    };
    let tail = bytes
        .get(abi::EI_NIDENT..abi::EI_NIDENT + tail_len)
        .ok_or(ElfError::Truncated)?;
    let eh = FileHeader::parse_tail(parsed_ident, tail).map_err(map_parse_error)?;
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
    let file_len = src.size();
    // The program header table: e_phnum entries at e_phoff (Linux's
    // elf_read_phdrs takes e_phnum as it is; no PN_XNUM extension).
    if eh.e_phoff == 0 {
        return Err(ElfError::NoLoadSegment);
    }
    let phnum = usize::from(eh.e_phnum);
    if phnum == 0 {
        return Err(if eh.e_phentsize == expected_phentsize {
            ElfError::NoLoadSegment
        } else {
            ElfError::Malformed("bad table entry size")
        });
    }
    let table_len = phnum * usize::from(expected_phentsize);
    match eh.e_phoff.checked_add(table_len as u64) {
        Some(end) if end <= file_len => {}
        _ => return Err(ElfError::Truncated),
    }
    if table_len > MAX_PHDR_TABLE {
        return Err(ElfError::Malformed(
            "program header table larger than 64 KiB",
        ));
    }
    let mut table = Vec::new();
    table
        .try_reserve_exact(table_len)
        .map_err(|_| ElfError::NoMemory)?;
    table.resize(table_len, 0);
    if read_full(src, eh.e_phoff, &mut table)? != table_len {
        // The file shrank under us.
        return Err(ElfError::Truncated);
    }
    let phdrs = SegmentTable::new(eh.endianness, eh.class, &table);

    // PT_INTERP first: a dynamic program gets the clearest error whatever
    // else is wrong with its segments.
    let mut headers = Vec::new();
    headers
        .try_reserve_exact(phnum)
        .map_err(|_| ElfError::NoMemory)?;
    for i in 0..phnum {
        let ph = phdrs.get(i).map_err(map_parse_error)?;
        if ph.p_type == abi::PT_INTERP {
            return Err(ElfError::Dynamic);
        }
        headers.push(ph);
    }

    let mut segments = Vec::new();
    let mut indices = Vec::new();
    segments
        .try_reserve_exact(phnum)
        .map_err(|_| ElfError::NoMemory)?;
    indices
        .try_reserve_exact(phnum)
        .map_err(|_| ElfError::NoMemory)?;
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
    let mut order: Vec<usize> = Vec::new();
    order
        .try_reserve_exact(segments.len())
        .map_err(|_| ElfError::NoMemory)?;
    order.extend(0..segments.len());
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
mod tests;
