//! gzip (RFC 1952) decompression for the initramfs.
//!
//! The member header is parsed by hand (FTEXT, FHCRC, FEXTRA, FNAME,
//! FCOMMENT); the deflate body is inflated with `miniz_oxide`'s core
//! decompressor, which also tells us how many input bytes the deflate stream
//! used, so the 8-byte trailer (CRC32, ISIZE) is found exactly and checked.
//! Several members may follow each other (with zero padding between them, as
//! in a concatenated initramfs); their outputs are concatenated.
//!
//! The output goes into a caller-given fixed buffer (the kernel's is made of
//! frames): nothing grows, and a "gzip bomb" ends in [`GzipError::TooLarge`]
//! when the buffer is full instead of exhausting memory.

use alloc::boxed::Box;
#[cfg(test)]
use alloc::{vec, vec::Vec};
use core::fmt;

use miniz_oxide::inflate::core::{decompress as inflate, inflate_flags, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;

/// The two magic bytes of a gzip member.
pub const MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Compression method "deflate", the only one defined.
pub const CM_DEFLATE: u8 = 8;

pub const FTEXT: u8 = 0x01;
pub const FHCRC: u8 = 0x02;
pub const FEXTRA: u8 = 0x04;
pub const FNAME: u8 = 0x08;
pub const FCOMMENT: u8 = 0x10;
const FRESERVED: u8 = 0xe0;

/// Why a gzip stream could not be decompressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GzipError {
    /// The header (or one of its optional fields) runs past the input.
    TruncatedHeader,
    /// The input does not start with 1f 8b.
    BadMagic,
    /// CM is not 8 (deflate).
    UnsupportedMethod(u8),
    /// One of the reserved FLG bits is set.
    ReservedFlags(u8),
    /// The FHCRC header checksum does not match.
    HeaderCrcMismatch { stored: u16, computed: u16 },
    /// The deflate data is invalid.
    Corrupt,
    /// The deflate data ends before the end-of-stream block.
    TruncatedBody,
    /// Fewer than 8 bytes of trailer after the deflate data.
    TruncatedTrailer,
    /// The output would exceed the caller's limit.
    TooLarge { limit: usize },
    /// The trailer's CRC32 does not match the output.
    CrcMismatch { stored: u32, computed: u32 },
    /// The trailer's ISIZE does not match the output length (mod 2^32).
    SizeMismatch { stored: u32, actual: u32 },
    /// Something other than zero padding or another gzip member follows.
    TrailingGarbage { offset: usize },
}

impl fmt::Display for GzipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            GzipError::TruncatedHeader => write!(f, "gzip: truncated header"),
            GzipError::BadMagic => write!(f, "gzip: bad magic (expected 1f 8b)"),
            GzipError::UnsupportedMethod(m) => {
                write!(
                    f,
                    "gzip: unsupported compression method {m} (only 8, deflate)"
                )
            }
            GzipError::ReservedFlags(fl) => write!(f, "gzip: reserved flag bits set in {fl:#04x}"),
            GzipError::HeaderCrcMismatch { stored, computed } => write!(
                f,
                "gzip: header CRC16 mismatch (stored {stored:#06x}, computed {computed:#06x})"
            ),
            GzipError::Corrupt => write!(f, "gzip: invalid deflate data"),
            GzipError::TruncatedBody => write!(f, "gzip: deflate data truncated"),
            GzipError::TruncatedTrailer => write!(f, "gzip: truncated trailer"),
            GzipError::TooLarge { limit } => {
                write!(f, "gzip: output exceeds the limit of {limit} bytes")
            }
            GzipError::CrcMismatch { stored, computed } => write!(
                f,
                "gzip: CRC32 mismatch (stored {stored:#010x}, computed {computed:#010x})"
            ),
            GzipError::SizeMismatch { stored, actual } => write!(
                f,
                "gzip: size mismatch (ISIZE {stored}, decompressed {actual} mod 2^32)"
            ),
            GzipError::TrailingGarbage { offset } => {
                write!(f, "gzip: trailing garbage at offset {offset:#x}")
            }
        }
    }
}

const fn make_crc_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
}

static CRC_TABLE: [u32; 256] = make_crc_table();

/// Continue a CRC-32 (ISO 3309 / ITU-T V.42, as used by gzip) over `data`.
/// Start with `crc = 0`.
pub fn crc32_update(crc: u32, data: &[u8]) -> u32 {
    let mut c = !crc;
    for &b in data {
        c = CRC_TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

/// CRC-32 of `data`.
pub fn crc32(data: &[u8]) -> u32 {
    crc32_update(0, data)
}

/// A parsed member header. Slices borrow from the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header<'a> {
    pub flags: u8,
    pub mtime: u32,
    pub xfl: u8,
    pub os: u8,
    /// FEXTRA payload.
    pub extra: Option<&'a [u8]>,
    /// FNAME, without the NUL.
    pub name: Option<&'a [u8]>,
    /// FCOMMENT, without the NUL.
    pub comment: Option<&'a [u8]>,
    /// Offset of the deflate data.
    pub body_offset: usize,
}

fn take<'a>(b: &'a [u8], pos: &mut usize, n: usize) -> Result<&'a [u8], GzipError> {
    let end = pos.checked_add(n).ok_or(GzipError::TruncatedHeader)?;
    let s = b.get(*pos..end).ok_or(GzipError::TruncatedHeader)?;
    *pos = end;
    Ok(s)
}

fn take_cstr<'a>(b: &'a [u8], pos: &mut usize) -> Result<&'a [u8], GzipError> {
    let rest = b.get(*pos..).ok_or(GzipError::TruncatedHeader)?;
    let len = rest
        .iter()
        .position(|&c| c == 0)
        .ok_or(GzipError::TruncatedHeader)?;
    *pos += len + 1;
    Ok(&rest[..len])
}

/// Parse the header of the gzip member at the start of `bytes`.
pub fn parse_header(bytes: &[u8]) -> Result<Header<'_>, GzipError> {
    let mut pos = 0;
    let fixed = match bytes.get(..10) {
        Some(f) => f,
        None if bytes.len() >= 2 && bytes[..2] != MAGIC => return Err(GzipError::BadMagic),
        None => return Err(GzipError::TruncatedHeader),
    };
    pos += 10;
    if fixed[..2] != MAGIC {
        return Err(GzipError::BadMagic);
    }
    if fixed[2] != CM_DEFLATE {
        return Err(GzipError::UnsupportedMethod(fixed[2]));
    }
    let flags = fixed[3];
    if flags & FRESERVED != 0 {
        return Err(GzipError::ReservedFlags(flags));
    }
    let mtime = u32::from_le_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
    let extra = if flags & FEXTRA != 0 {
        let xlen = take(bytes, &mut pos, 2)?;
        let xlen = usize::from(u16::from_le_bytes([xlen[0], xlen[1]]));
        Some(take(bytes, &mut pos, xlen)?)
    } else {
        None
    };
    let name = if flags & FNAME != 0 {
        Some(take_cstr(bytes, &mut pos)?)
    } else {
        None
    };
    let comment = if flags & FCOMMENT != 0 {
        Some(take_cstr(bytes, &mut pos)?)
    } else {
        None
    };
    if flags & FHCRC != 0 {
        let computed = crc32(&bytes[..pos]) as u16;
        let s = take(bytes, &mut pos, 2)?;
        let stored = u16::from_le_bytes([s[0], s[1]]);
        if stored != computed {
            return Err(GzipError::HeaderCrcMismatch { stored, computed });
        }
    }
    Ok(Header {
        flags,
        mtime,
        xfl: fixed[8],
        os: fixed[9],
        extra,
        name,
        comment,
        body_offset: pos,
    })
}

/// Inflate raw deflate data into `out`, a fixed buffer that never grows:
/// the output limit is `out.len()`. Returns the number of bytes written and
/// the number of input bytes the deflate stream occupied. Only the
/// decompressor state (about 11 KiB) is allocated, whatever the input.
fn inflate_into(input: &[u8], out: &mut [u8]) -> Result<(usize, usize), GzipError> {
    let flags = inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
    let mut decomp = Box::<DecompressorOxide>::default();
    // The whole input is given at once (no TINFL_FLAG_HAS_MORE_INPUT) and
    // the output buffer is all there is: one call runs to the end.
    let (status, used, written) = inflate(&mut decomp, input, out, 0, flags);
    match status {
        TINFLStatus::Done => Ok((written, used)),
        // The buffer is full and the stream has more: over the limit.
        TINFLStatus::HasMoreOutput => Err(GzipError::TooLarge { limit: out.len() }),
        TINFLStatus::FailedCannotMakeProgress | TINFLStatus::NeedsMoreInput => {
            Err(GzipError::TruncatedBody)
        }
        _ => Err(GzipError::Corrupt),
    }
}

/// Decompress the single gzip member at the start of `bytes` into `out`
/// (at most `out.len()` bytes: [`GzipError::TooLarge`] past it). Returns
/// the number of bytes written and the member's length in bytes (header +
/// deflate data + trailer). The trailer's CRC32 and ISIZE are checked.
pub fn decompress_member_into(bytes: &[u8], out: &mut [u8]) -> Result<(usize, usize), GzipError> {
    let header = parse_header(bytes)?;
    let body = bytes
        .get(header.body_offset..)
        .ok_or(GzipError::TruncatedHeader)?;
    let (written, used) = inflate_into(body, out)?;
    let trailer_at = header
        .body_offset
        .checked_add(used)
        .ok_or(GzipError::TruncatedTrailer)?;
    let end = trailer_at
        .checked_add(8)
        .ok_or(GzipError::TruncatedTrailer)?;
    let t = bytes
        .get(trailer_at..end)
        .ok_or(GzipError::TruncatedTrailer)?;
    let stored_crc = u32::from_le_bytes([t[0], t[1], t[2], t[3]]);
    let stored_size = u32::from_le_bytes([t[4], t[5], t[6], t[7]]);
    let computed = crc32(out.get(..written).ok_or(GzipError::Corrupt)?);
    if computed != stored_crc {
        return Err(GzipError::CrcMismatch {
            stored: stored_crc,
            computed,
        });
    }
    let actual = written as u32; // ISIZE is the length modulo 2^32
    if actual != stored_size {
        return Err(GzipError::SizeMismatch {
            stored: stored_size,
            actual,
        });
    }
    Ok((written, end))
}

/// Decompress one or more gzip members (zero padding between and after
/// them is skipped) into `out`, at most `out.len()` bytes in total.
/// Returns the number of bytes written.
pub fn decompress_into(bytes: &[u8], out: &mut [u8]) -> Result<usize, GzipError> {
    let limit = out.len();
    let too_large = |e| match e {
        GzipError::TooLarge { .. } => GzipError::TooLarge { limit },
        e => e,
    };
    let (mut len, mut pos) = decompress_member_into(bytes, out).map_err(too_large)?;
    loop {
        while bytes.get(pos) == Some(&0) {
            pos += 1;
        }
        let rest = match bytes.get(pos..) {
            Some(r) if !r.is_empty() => r,
            _ => return Ok(len),
        };
        if !rest.starts_with(&MAGIC) {
            return Err(GzipError::TrailingGarbage { offset: pos });
        }
        let free = out.get_mut(len..).ok_or(GzipError::TooLarge { limit })?;
        let (more, used) = decompress_member_into(rest, free).map_err(too_large)?;
        len += more;
        pos += used;
    }
}

/// [`decompress_into`] into a fresh buffer of `limit` bytes, trimmed to
/// the output (host tests and small inputs; the kernel unpacks the
/// initramfs into frames instead).
#[cfg(test)]
pub fn decompress(bytes: &[u8], limit: usize) -> Result<Vec<u8>, GzipError> {
    let mut out = vec![0u8; limit];
    let n = decompress_into(bytes, &mut out)?;
    out.truncate(n);
    Ok(out)
}

#[cfg(test)]
pub fn decompress_member(bytes: &[u8], limit: usize) -> Result<(Vec<u8>, usize), GzipError> {
    let mut out = vec![0u8; limit];
    let (n, used) = decompress_member_into(bytes, &mut out)?;
    out.truncate(n);
    Ok((out, used))
}

#[cfg(test)]
mod tests;
