//! The program loader: pure, host-testable code that turns an initramfs and
//! an executable into something the kernel can map.
//!
//! * [`gzip`]: RFC 1952 decompression (for a compressed initramfs);
//! * [`cpio`]: zero-copy newc archive parser (the initramfs format);
//! * [`elf`]: static ELF executable → validated [`elf::LoadPlan`];
//! * [`stack`]: the Linux initial stack (argc, argv, envp, auxv).
//!
//! Nothing here touches hardware or page tables; every malformed input is
//! an error value, never a panic.

use alloc::borrow::Cow;
use alloc::vec::Vec;
use core::fmt;

use crate::errno::Errno;

pub mod cpio;
pub mod elf;
pub mod gzip;
pub mod stack;

pub use cpio::CpioError;
pub use elf::ElfError;
pub use gzip::GzipError;
pub use stack::StackError;

/// Largest initramfs we are willing to decompress (bytes).
pub const MAX_INITRAMFS: usize = 256 << 20;

/// Any loader failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadError {
    Cpio(CpioError),
    Gzip(GzipError),
    Elf(ElfError),
    Stack(StackError),
    /// The path is not in the initramfs.
    NotFound,
    /// The path exists but is not a regular file (a directory, device...).
    NotRegularFile,
    /// Data in the initramfs that is neither zero padding, a cpio archive
    /// nor a gzip member.
    UnknownFormat {
        offset: usize,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Cpio(e) => e.fmt(f),
            LoadError::Gzip(e) => e.fmt(f),
            LoadError::Elf(e) => e.fmt(f),
            LoadError::Stack(e) => e.fmt(f),
            LoadError::NotFound => write!(f, "loader: no such file"),
            LoadError::NotRegularFile => write!(f, "loader: not a regular file"),
            LoadError::UnknownFormat { offset } => write!(
                f,
                "initramfs: unknown data at offset {offset:#x} (not cpio newc or gzip)"
            ),
        }
    }
}

impl From<CpioError> for LoadError {
    fn from(e: CpioError) -> Self {
        LoadError::Cpio(e)
    }
}
impl From<GzipError> for LoadError {
    fn from(e: GzipError) -> Self {
        LoadError::Gzip(e)
    }
}
impl From<ElfError> for LoadError {
    fn from(e: ElfError) -> Self {
        LoadError::Elf(e)
    }
}
impl From<StackError> for LoadError {
    fn from(e: StackError) -> Self {
        LoadError::Stack(e)
    }
}

/// What `execve` would return, as Linux does: a file that is not a
/// loadable executable is ENOEXEC; a missing one ENOENT; a directory EACCES;
/// arguments too large E2BIG; a stack that cannot be placed or a
/// decompression over its limit ENOMEM; a corrupt initramfs EIO.
impl From<LoadError> for Errno {
    fn from(e: LoadError) -> Self {
        match e {
            LoadError::Elf(_) => Errno::ENOEXEC,
            LoadError::NotFound => Errno::ENOENT,
            LoadError::NotRegularFile => Errno::EACCES,
            LoadError::Stack(StackError::TooBig { .. } | StackError::ArgTooLong { .. }) => {
                Errno::E2BIG
            }
            LoadError::Stack(StackError::NulInString) => Errno::EINVAL,
            LoadError::Stack(StackError::BadAddress { .. } | StackError::ValueTooWide { .. }) => {
                Errno::ENOMEM
            }
            LoadError::Gzip(GzipError::TooLarge { .. }) => Errno::ENOMEM,
            LoadError::Gzip(_) | LoadError::Cpio(_) | LoadError::UnknownFormat { .. } => Errno::EIO,
        }
    }
}

fn is_gzip(b: &[u8]) -> bool {
    b.starts_with(&gzip::MAGIC)
}

/// Turn the initramfs blob from the boot loader into one uncompressed cpio
/// buffer for [`cpio::Archive`].
///
/// Without the gzip magic (1f 8b) at the start, the bytes are returned as
/// they are (borrowed). Otherwise, like Linux's `unpack_to_rootfs`, the blob
/// is a sequence of gzip members and uncompressed newc archives, separated by
/// zero padding; every piece is decompressed (at most [`MAX_INITRAMFS`]
/// bytes in all) and the pieces are concatenated, each padded to a 4-byte
/// boundary so that later cpio headers stay aligned.
pub fn unpack_initramfs(bytes: &[u8]) -> Result<Cow<'_, [u8]>, LoadError> {
    unpack_initramfs_with_limit(bytes, MAX_INITRAMFS)
}

/// [`unpack_initramfs`] with an explicit output limit.
pub fn unpack_initramfs_with_limit(bytes: &[u8], limit: usize) -> Result<Cow<'_, [u8]>, LoadError> {
    if !is_gzip(bytes) {
        return Ok(Cow::Borrowed(bytes));
    }
    let mut out: Vec<u8> = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let rest = &bytes[pos..];
        if rest[0] == 0 {
            pos += 1;
            continue;
        }
        let (piece_len, data): (usize, Cow<'_, [u8]>) = if is_gzip(rest) {
            let (data, used) = gzip::decompress_member(rest, limit - out.len())?;
            (used, Cow::Owned(data))
        } else if rest.starts_with(b"07070") {
            let len = cpio::archive_len(rest)?;
            (len, Cow::Borrowed(&rest[..len]))
        } else {
            return Err(LoadError::UnknownFormat { offset: pos });
        };
        let padded = data.len().checked_add(3).map(|n| n & !3);
        match padded {
            Some(n) if n <= limit - out.len() => {}
            _ => return Err(GzipError::TooLarge { limit }.into()),
        }
        out.extend_from_slice(&data);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
        pos += piece_len;
    }
    Ok(Cow::Owned(out))
}

/// Look up `path` in an (uncompressed) initramfs and return the contents of
/// the regular file there. Symlinks are not followed.
pub fn find_file<'a>(archive: &cpio::Archive<'a>, path: &str) -> Result<&'a [u8], LoadError> {
    let entry = archive.find(path).ok_or(LoadError::NotFound)?;
    if !entry.is_file() {
        return Err(LoadError::NotRegularFile);
    }
    Ok(entry.data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;
    use std::vec::Vec;

    fn newc(files: &[(&str, u32, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut push = |name: &str, mode: u32, data: &[u8]| {
            let h = format!(
                "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
                1, mode, 0, 0, 1, 0, data.len(), 0, 0, 0, 0, name.len() + 1, 0
            );
            out.extend_from_slice(h.as_bytes());
            out.extend_from_slice(name.as_bytes());
            out.push(0);
            while !out.len().is_multiple_of(4) {
                out.push(0);
            }
            out.extend_from_slice(data);
            while !out.len().is_multiple_of(4) {
                out.push(0);
            }
        };
        for &(n, m, d) in files {
            push(n, m, d);
        }
        push("TRAILER!!!", 0, b"");
        out
    }

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut g = std::vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
        g.extend_from_slice(&miniz_oxide::deflate::compress_to_vec(data, 9));
        g.extend_from_slice(&gzip::crc32(data).to_le_bytes());
        g.extend_from_slice(&(data.len() as u32).to_le_bytes());
        g
    }

    #[test]
    fn raw_initramfs_is_borrowed() {
        let a = newc(&[("init", 0o100755, b"ELF")]);
        let u = unpack_initramfs(&a).unwrap();
        assert!(matches!(u, Cow::Borrowed(_)));
        let ar = cpio::Archive::new(&u).unwrap();
        assert_eq!(find_file(&ar, "/init").unwrap(), b"ELF");
    }

    #[test]
    fn gzipped_and_mixed_initramfs() {
        let a = newc(&[("init", 0o100755, b"first"), ("dir", 0o040755, b"")]);
        let b = newc(&[("init", 0o100755, b"second!"), ("x", 0o100644, b"x")]);
        let c = newc(&[("late", 0o100644, b"raw")]);
        let mut blob = gz(&a);
        blob.extend_from_slice(&[0; 3]);
        blob.extend_from_slice(&gz(&b));
        blob.extend_from_slice(&[0; 9]);
        blob.extend_from_slice(&c);
        blob.extend_from_slice(&[0; 100]);
        let u = unpack_initramfs(&blob).unwrap();
        let ar = cpio::Archive::new(&u).unwrap();
        assert_eq!(find_file(&ar, "init").unwrap(), b"second!");
        assert_eq!(find_file(&ar, "x").unwrap(), b"x");
        assert_eq!(find_file(&ar, "/late").unwrap(), b"raw");
        assert_eq!(find_file(&ar, "/nope"), Err(LoadError::NotFound));
        assert_eq!(find_file(&ar, "/dir"), Err(LoadError::NotRegularFile));
        // Junk between pieces, and a limit that is too small.
        let mut bad = gz(&a);
        bad.extend_from_slice(b"\0\0xyz");
        assert_eq!(
            unpack_initramfs(&bad),
            Err(LoadError::UnknownFormat {
                offset: bad.len() - 3
            })
        );
        assert!(matches!(
            unpack_initramfs_with_limit(&blob, a.len() + b.len()),
            Err(LoadError::Gzip(GzipError::TooLarge { .. }))
        ));
        let mut broken = gz(&a);
        let n = broken.len();
        broken[n - 6] ^= 0xff; // CRC32
        assert!(matches!(
            unpack_initramfs(&broken),
            Err(LoadError::Gzip(GzipError::CrcMismatch { .. }))
        ));
        for len in 2..blob.len() - 100 - c.len() {
            // Truncated gzip pieces are errors (cut after a whole member is
            // a valid, shorter initramfs). Below 2 bytes there is no gzip
            // magic and the bytes are returned as they are.
            if let Ok(u) = unpack_initramfs(&blob[..len]) {
                cpio::Archive::new(&u).unwrap();
            }
        }
    }

    #[test]
    fn errno_mapping() {
        assert_eq!(
            Errno::from(LoadError::Elf(ElfError::Dynamic)),
            Errno::ENOEXEC
        );
        assert_eq!(
            Errno::from(LoadError::Elf(ElfError::BadMagic)),
            Errno::ENOEXEC
        );
        assert_eq!(Errno::from(LoadError::NotFound), Errno::ENOENT);
        assert_eq!(Errno::from(LoadError::NotRegularFile), Errno::EACCES);
        assert_eq!(
            Errno::from(LoadError::Stack(StackError::TooBig { needed: 1, max: 0 })),
            Errno::E2BIG
        );
        assert_eq!(
            Errno::from(LoadError::Stack(StackError::ArgTooLong { len: 1 })),
            Errno::E2BIG
        );
        assert_eq!(
            Errno::from(LoadError::Gzip(GzipError::TooLarge { limit: 1 })),
            Errno::ENOMEM
        );
        assert_eq!(Errno::from(LoadError::Gzip(GzipError::Corrupt)), Errno::EIO);
        assert_eq!(
            Errno::from(LoadError::Cpio(CpioError::MissingTrailer)),
            Errno::EIO
        );
        let msg = format!("{}", LoadError::Elf(ElfError::Dynamic));
        assert!(msg.starts_with("ELF:"));
    }
}
