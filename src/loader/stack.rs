//! The initial user stack, laid out exactly as Linux's `create_elf_tables`
//! (fs/binfmt_elf.c) and `copy_strings` (fs/exec.c) do.
//!
//! From high to low addresses:
//! ```text
//! stack_top ->  [one NULL word]                    end marker
//!               execfn string (AT_EXECFN)          bprm->filename
//!               envp strings, envp[m-1] highest
//!               argv strings, argv[0] lowest
//!               (pad down to 16 bytes)
//!               platform string (AT_PLATFORM), if any
//!               16 random bytes (AT_RANDOM)
//!               (pad so that sp is 16-byte aligned)
//!               auxv pairs ..., AT_NULL, 0
//!               NULL, envp[m-1] ... envp[0]
//!               NULL, argv[n-1] ... argv[0]
//! sp ->         argc
//! ```
//! All words are little-endian, 4 bytes (ARM) or 8 bytes (AArch64).

use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use super::elf::{LoadPlan, Machine};

pub const AT_NULL: u64 = 0;
pub const AT_IGNORE: u64 = 1;
pub const AT_EXECFD: u64 = 2;
pub const AT_PHDR: u64 = 3;
pub const AT_PHENT: u64 = 4;
pub const AT_PHNUM: u64 = 5;
pub const AT_PAGESZ: u64 = 6;
pub const AT_BASE: u64 = 7;
pub const AT_FLAGS: u64 = 8;
pub const AT_ENTRY: u64 = 9;
pub const AT_NOTELF: u64 = 10;
pub const AT_UID: u64 = 11;
pub const AT_EUID: u64 = 12;
pub const AT_GID: u64 = 13;
pub const AT_EGID: u64 = 14;
pub const AT_PLATFORM: u64 = 15;
pub const AT_HWCAP: u64 = 16;
pub const AT_CLKTCK: u64 = 17;
pub const AT_SECURE: u64 = 23;
pub const AT_BASE_PLATFORM: u64 = 24;
pub const AT_RANDOM: u64 = 25;
pub const AT_HWCAP2: u64 = 26;
pub const AT_EXECFN: u64 = 31;

/// Linux's `ELF_PLATFORM` for ARMv7 little-endian.
pub const PLATFORM_V7L: &[u8] = b"v7l";
/// Linux's `ELF_PLATFORM` for AArch64 little-endian.
pub const PLATFORM_AARCH64: &[u8] = b"aarch64";

/// Longest single argument or environment string, NUL included
/// (Linux's `MAX_ARG_STRLEN`, 32 pages).
pub const MAX_ARG_STRLEN: usize = 32 * 4096;

/// User word size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WordSize {
    /// 4-byte words (ARM).
    W32,
    /// 8-byte words (AArch64).
    W64,
}

impl WordSize {
    pub const fn bytes(self) -> u64 {
        match self {
            WordSize::W32 => 4,
            WordSize::W64 => 8,
        }
    }
    const fn max(self) -> u64 {
        match self {
            WordSize::W32 => u32::MAX as u64,
            WordSize::W64 => u64::MAX,
        }
    }
}

impl From<Machine> for WordSize {
    fn from(m: Machine) -> Self {
        match m {
            Machine::Arm => WordSize::W32,
            Machine::AArch64 => WordSize::W64,
        }
    }
}

/// Why the initial stack cannot be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StackError {
    /// The image would need `needed` bytes, more than `max` (E2BIG).
    TooBig { needed: u64, max: u64 },
    /// One string (NUL included) is longer than [`MAX_ARG_STRLEN`] (E2BIG).
    ArgTooLong { len: usize },
    /// A string contains a NUL byte.
    NulInString,
    /// The image does not fit below `stack_top`, or `stack_top` is not a
    /// valid user address for the word size.
    BadAddress { stack_top: u64 },
    /// An auxv value does not fit in a user word.
    ValueTooWide { key: u64, value: u64 },
}

impl fmt::Display for StackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            StackError::TooBig { needed, max } => write!(
                f,
                "stack: arguments need {needed} bytes, more than the {max} allowed"
            ),
            StackError::ArgTooLong { len } => {
                write!(f, "stack: a {len}-byte argument exceeds MAX_ARG_STRLEN")
            }
            StackError::NulInString => write!(f, "stack: argument or environment contains NUL"),
            StackError::BadAddress { stack_top } => {
                write!(f, "stack: image does not fit below {stack_top:#x}")
            }
            StackError::ValueTooWide { key, value } => {
                write!(
                    f,
                    "stack: auxv {key} value {value:#x} does not fit a user word"
                )
            }
        }
    }
}

/// Everything the builder needs.
#[derive(Clone, Copy, Debug)]
pub struct StackSpec<'a> {
    /// Exclusive top of the user stack (user VA).
    pub stack_top: u64,
    pub word: WordSize,
    /// Argument strings, without NULs.
    pub argv: &'a [&'a [u8]],
    /// Environment strings ("KEY=value"), without NULs.
    pub envp: &'a [&'a [u8]],
    /// The path that was executed (AT_EXECFN).
    pub execfn: &'a [u8],
    /// Auxiliary vector, e.g. from [`linux_auxv`]. A trailing AT_NULL is
    /// optional (everything from the first AT_NULL on is ignored). The values
    /// of AT_RANDOM, AT_EXECFN and AT_PLATFORM are replaced by the addresses
    /// the builder chose; AT_RANDOM and AT_EXECFN are added if missing,
    /// AT_PLATFORM is added if `platform` is given and removed if not.
    pub auxv: &'a [(u64, u64)],
    /// The 16 bytes AT_RANDOM points at (stack canary / pointer guard seed).
    pub random: [u8; 16],
    /// AT_PLATFORM string, e.g. [`PLATFORM_V7L`].
    pub platform: Option<&'a [u8]>,
    /// Largest acceptable image (Linux: a quarter of the stack rlimit).
    pub max_size: u64,
}

/// The built stack: copy `image` to `[sp, stack_top)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackImage {
    pub image: Vec<u8>,
    /// Initial stack pointer, 16-byte aligned; `argc` is stored here.
    pub sp: u64,
    /// Address of `argv[0]`'s pointer (`sp + word`).
    pub argv: u64,
    /// Address of `envp[0]`'s pointer.
    pub envp: u64,
    /// Address of the first auxv pair.
    pub auxv: u64,
    pub random: u64,
    pub execfn: u64,
    pub platform: Option<u64>,
}

fn check_str(s: &[u8]) -> Result<u64, StackError> {
    if s.contains(&0) {
        return Err(StackError::NulInString);
    }
    let len = s.len() + 1;
    if len > MAX_ARG_STRLEN {
        return Err(StackError::ArgTooLong { len });
    }
    Ok(len as u64)
}

/// Build the initial process stack.
pub fn build(spec: &StackSpec<'_>) -> Result<StackImage, StackError> {
    let w = spec.word.bytes();
    let top = spec.stack_top;
    let bad = StackError::BadAddress { stack_top: top };
    if top > spec.word.max().saturating_add(1) || top < w {
        return Err(bad);
    }
    let too_big = |needed: u64| StackError::TooBig {
        needed,
        max: spec.max_size,
    };
    // Sizes, in u64 with saturation: anything huge fails the max_size test.
    let mut strings: u64 = 0;
    for s in spec.argv.iter().chain(spec.envp.iter()) {
        strings = strings.saturating_add(check_str(s)?);
    }
    let execfn_len = check_str(spec.execfn)?;
    let platform_len = match spec.platform {
        Some(p) => Some(check_str(p)?),
        None => None,
    };
    let early = strings
        .saturating_add(execfn_len)
        .saturating_add(w)
        .saturating_add(platform_len.unwrap_or(0))
        .saturating_add(16 + 16);
    if early > spec.max_size {
        return Err(too_big(early));
    }

    // Final auxv.
    let mut aux: Vec<(u64, u64)> = Vec::with_capacity(spec.auxv.len() + 4);
    for &(k, v) in spec.auxv {
        if k == AT_NULL {
            break;
        }
        if k == AT_PLATFORM && spec.platform.is_none() {
            continue;
        }
        aux.push((k, v));
    }
    for (k, wanted) in [
        (AT_RANDOM, true),
        (AT_EXECFN, true),
        (AT_PLATFORM, spec.platform.is_some()),
    ] {
        if wanted && !aux.iter().any(|&(key, _)| key == k) {
            aux.push((k, 0));
        }
    }
    aux.push((AT_NULL, 0));

    // Addresses, top down.
    let mut p = top - w; // NULL end marker
    let execfn = p.checked_sub(execfn_len).ok_or(bad)?;
    p = execfn;
    let strings_start = p.checked_sub(strings).ok_or(bad)?;
    p = strings_start & !15;
    let platform = match platform_len {
        Some(len) => {
            p = p.checked_sub(len).ok_or(bad)?;
            Some(p)
        }
        None => None,
    };
    let random = p.checked_sub(16).ok_or(bad)?;
    let argc = spec.argv.len() as u64;
    let envc = spec.envp.len() as u64;
    let words = (aux.len() as u64)
        .saturating_mul(2)
        .saturating_add(argc)
        .saturating_add(envc)
        .saturating_add(3);
    let table = words.saturating_mul(w);
    let sp = random.checked_sub(table).ok_or(bad)? & !15;
    let size = top - sp;
    if size > spec.max_size {
        return Err(too_big(size));
    }
    let size = usize::try_from(size).map_err(|_| too_big(size))?;

    // Patch auxv values now that addresses are known.
    for (k, v) in aux.iter_mut() {
        match *k {
            AT_RANDOM => *v = random,
            AT_EXECFN => *v = execfn,
            AT_PLATFORM => *v = platform.unwrap_or(0),
            _ => {}
        }
        if *v > spec.word.max() {
            return Err(StackError::ValueTooWide { key: *k, value: *v });
        }
    }

    let mut image = vec![0u8; size];
    // Every address below is within [sp, top), so `addr - sp` is in bounds.
    let idx = |addr: u64| (addr - sp) as usize;
    let put_bytes = |image: &mut Vec<u8>, addr: u64, bytes: &[u8]| {
        let i = idx(addr);
        image[i..i + bytes.len()].copy_from_slice(bytes);
    };
    let put_word = |image: &mut Vec<u8>, addr: u64, v: u64| {
        let i = idx(addr);
        match spec.word {
            WordSize::W32 => image[i..i + 4].copy_from_slice(&(v as u32).to_le_bytes()),
            WordSize::W64 => image[i..i + 8].copy_from_slice(&v.to_le_bytes()),
        }
    };

    // Strings.
    put_bytes(&mut image, execfn, spec.execfn);
    let mut cursor = strings_start;
    let mut string_addrs = Vec::with_capacity(spec.argv.len() + spec.envp.len());
    for s in spec.argv.iter().chain(spec.envp.iter()) {
        put_bytes(&mut image, cursor, s);
        string_addrs.push(cursor);
        cursor += s.len() as u64 + 1; // NUL already zero
    }
    if let (Some(addr), Some(pl)) = (platform, spec.platform) {
        put_bytes(&mut image, addr, pl);
    }
    put_bytes(&mut image, random, &spec.random);

    // Tables.
    let mut a = sp;
    put_word(&mut image, a, argc);
    a += w;
    let argv_addr = a;
    for &s in &string_addrs[..spec.argv.len()] {
        put_word(&mut image, a, s);
        a += w;
    }
    a += w; // NULL
    let envp_addr = a;
    for &s in &string_addrs[spec.argv.len()..] {
        put_word(&mut image, a, s);
        a += w;
    }
    a += w; // NULL
    let auxv_addr = a;
    for &(k, v) in &aux {
        put_word(&mut image, a, k);
        put_word(&mut image, a + w, v);
        a += 2 * w;
    }
    debug_assert!(a <= random);

    Ok(StackImage {
        image,
        sp,
        argv: argv_addr,
        envp: envp_addr,
        auxv: auxv_addr,
        random,
        execfn,
        platform,
    })
}

/// The auxiliary vector Linux gives a static executable (without a vDSO).
/// AT_RANDOM and AT_EXECFN are placeholders that [`build`] fills in; add
/// AT_PLATFORM by passing `platform` to the builder. When the plan has no
/// program-header address, AT_PHDR is 0 and AT_PHNUM 0, so that libc start
/// code (musl's static TLS setup walks AT_PHDR) does not read unmapped
/// memory.
pub fn linux_auxv(
    plan: &LoadPlan,
    page_size: u64,
    hwcap: u64,
    hwcap2: Option<u64>,
) -> Vec<(u64, u64)> {
    let (phdr, phnum) = match plan.phdr_vaddr {
        Some(addr) => (addr, plan.phnum),
        None => (0, 0),
    };
    let mut v = vec![
        (AT_HWCAP, hwcap),
        (AT_PAGESZ, page_size),
        (AT_CLKTCK, 100),
        (AT_PHDR, phdr),
        (AT_PHENT, plan.phent),
        (AT_PHNUM, phnum),
        (AT_BASE, 0),
        (AT_FLAGS, 0),
        (AT_ENTRY, plan.entry),
        (AT_UID, 0),
        (AT_EUID, 0),
        (AT_GID, 0),
        (AT_EGID, 0),
        (AT_SECURE, 0),
        (AT_RANDOM, 0),
    ];
    if let Some(h2) = hwcap2 {
        v.push((AT_HWCAP2, h2));
    }
    v.push((AT_EXECFN, 0));
    v
}

#[cfg(test)]
mod tests;
