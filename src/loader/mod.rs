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
    /// The initramfs unpacks to more than `limit` bytes.
    InitramfsTooLarge {
        limit: usize,
    },
    /// More than [`cpio::MAX_SYMLINKS`] symlinks while resolving the path.
    SymlinkLoop,
    /// A component of the path (not the last) is not a directory.
    NotDirectory,
    /// The path or a symlink target is too long.
    NameTooLong,
    /// No memory to resolve the path.
    NoMemory,
    /// A regular file without any execute permission bit.
    PermissionDenied {
        mode: u32,
    },
}

impl From<cpio::LookupError> for LoadError {
    fn from(e: cpio::LookupError) -> Self {
        match e {
            cpio::LookupError::NotFound => LoadError::NotFound,
            cpio::LookupError::Loop => LoadError::SymlinkLoop,
            cpio::LookupError::NotDir => LoadError::NotDirectory,
            cpio::LookupError::NameTooLong => LoadError::NameTooLong,
            cpio::LookupError::NoMemory => LoadError::NoMemory,
            cpio::LookupError::Corrupt(e) => LoadError::Cpio(e),
        }
    }
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
            LoadError::InitramfsTooLarge { limit } => {
                write!(f, "initramfs: unpacks to more than {limit} bytes")
            }
            LoadError::SymlinkLoop => write!(
                f,
                "too many levels of symbolic links (more than {})",
                cpio::MAX_SYMLINKS
            ),
            LoadError::NotDirectory => write!(f, "a path component is not a directory"),
            LoadError::NameTooLong => write!(f, "file name too long"),
            LoadError::NoMemory => write!(f, "out of memory resolving the path"),
            LoadError::PermissionDenied { mode } => write!(
                f,
                "permission denied (mode {mode:04o}: no execute permission bit)"
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
/// decompression over its limit ENOMEM; a corrupt initramfs EIO; a symlink
/// loop ELOOP; a file without an execute bit EACCES.
impl From<LoadError> for Errno {
    fn from(e: LoadError) -> Self {
        match e {
            LoadError::Elf(ElfError::NoMemory) => Errno::ENOMEM,
            LoadError::Elf(ElfError::Read(e)) => e,
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
            LoadError::Gzip(GzipError::TooLarge { .. })
            | LoadError::InitramfsTooLarge { .. }
            | LoadError::NoMemory => Errno::ENOMEM,
            LoadError::SymlinkLoop => Errno::ELOOP,
            LoadError::NotDirectory => Errno::ENOTDIR,
            LoadError::NameTooLong => Errno::ENAMETOOLONG,
            LoadError::PermissionDenied { .. } => Errno::EACCES,
            LoadError::Gzip(_) | LoadError::Cpio(_) | LoadError::UnknownFormat { .. } => Errno::EIO,
        }
    }
}

fn is_gzip(b: &[u8]) -> bool {
    b.starts_with(&gzip::MAGIC)
}

/// Whether [`unpack_initramfs_into`] needs a buffer for `bytes`: only a blob
/// that starts with the gzip magic is unpacked; anything else is used in
/// place as an uncompressed cpio archive.
pub fn initramfs_is_compressed(bytes: &[u8]) -> bool {
    is_gzip(bytes)
}

/// Unpack the initramfs blob from the boot loader into `out`, a fixed
/// buffer (the kernel's is made of frames): nothing grows, and the output
/// limit is `out.len()` ([`LoadError::InitramfsTooLarge`] past it, so a gzip
/// bomb costs at most the buffer). Returns the number of bytes of `out`
/// that hold the uncompressed cpio data.
///
/// Like Linux's `unpack_to_rootfs`, the blob is a sequence of gzip members
/// and uncompressed newc archives, separated by zero padding; every piece
/// is decompressed (or copied) and the pieces are concatenated, each padded
/// to a 4-byte boundary so that later cpio headers stay aligned.
/// A blob without the gzip magic at its start should be used in place (see
/// [`initramfs_is_compressed`]); given here, it is copied.
pub fn unpack_initramfs_into(bytes: &[u8], out: &mut [u8]) -> Result<usize, LoadError> {
    let limit = out.len();
    let too_large = LoadError::InitramfsTooLarge { limit };
    let mut len = 0usize;
    let mut pos = 0;
    while let Some(rest) = bytes.get(pos..).filter(|r| !r.is_empty()) {
        if rest[0] == 0 {
            pos += 1;
            continue;
        }
        let free = out.get_mut(len..).ok_or(too_large)?;
        let (piece_len, written) = if is_gzip(rest) {
            let (written, used) =
                gzip::decompress_member_into(rest, free).map_err(|e| match e {
                    GzipError::TooLarge { .. } => too_large,
                    e => LoadError::Gzip(e),
                })?;
            (used, written)
        } else if rest.starts_with(b"07070") {
            let n = cpio::archive_len(rest)?;
            let dst = free.get_mut(..n).ok_or(too_large)?;
            dst.copy_from_slice(&rest[..n]);
            (n, n)
        } else {
            return Err(LoadError::UnknownFormat { offset: pos });
        };
        len += written;
        while !len.is_multiple_of(4) {
            *out.get_mut(len).ok_or(too_large)? = 0;
            len += 1;
        }
        pos += piece_len;
    }
    Ok(len)
}

/// The contents of the executable file at `path`, as `execve` sees it:
/// symlinks are followed (Linux's path walk, at most
/// [`cpio::MAX_SYMLINKS`] links), the result must be a regular file with at
/// least one execute permission bit (Linux refuses any other with
/// `EACCES`, even for root).
pub fn find_file<'a>(archive: &cpio::Archive<'a>, path: &str) -> Result<&'a [u8], LoadError> {
    let entry = archive.lookup(path).map_err(LoadError::from)?;
    if !entry.is_file() {
        return Err(LoadError::NotRegularFile);
    }
    if entry.mode & 0o111 == 0 {
        return Err(LoadError::PermissionDenied { mode: entry.perm() });
    }
    Ok(entry.data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;
    use std::vec::Vec;

    use crate::loader::cpio::testutil::newc;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut g = std::vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
        g.extend_from_slice(&miniz_oxide::deflate::compress_to_vec(data, 9));
        g.extend_from_slice(&gzip::crc32(data).to_le_bytes());
        g.extend_from_slice(&(data.len() as u32).to_le_bytes());
        g
    }

    /// Unpack into a fresh buffer of `limit` bytes (the kernel's is frames).
    fn unpack_initramfs_with_limit(blob: &[u8], limit: usize) -> Result<Vec<u8>, LoadError> {
        let mut out = std::vec![0xa5u8; limit];
        let n = unpack_initramfs_into(blob, &mut out)?;
        out.truncate(n);
        Ok(out)
    }

    fn unpack_initramfs(blob: &[u8]) -> Result<Vec<u8>, LoadError> {
        unpack_initramfs_with_limit(blob, 1 << 20)
    }

    #[test]
    fn raw_initramfs_is_used_in_place() {
        let a = newc(&[("init", 0o100755, b"ELF")]);
        assert!(!initramfs_is_compressed(&a));
        assert!(initramfs_is_compressed(&gz(&a)));
        let ar = cpio::Archive::new(&a).unwrap();
        assert_eq!(find_file(&ar, "/init").unwrap(), b"ELF");
        // Given to the unpacker anyway, it is copied as it is.
        assert_eq!(unpack_initramfs(&a).unwrap(), a);
    }

    #[test]
    fn output_limit_is_the_buffer() {
        // 64 KiB of data in one member: 64 KiB + the cpio overhead.
        let data = std::vec![7u8; 64 << 10];
        let a = newc(&[("big", 0o100644, &data)]);
        let g = gz(&a);
        assert_eq!(unpack_initramfs_with_limit(&g, a.len()).unwrap(), a);
        assert_eq!(
            unpack_initramfs_with_limit(&g, a.len() - 1),
            Err(LoadError::InitramfsTooLarge { limit: a.len() - 1 })
        );
        assert_eq!(
            unpack_initramfs_with_limit(&g, 0),
            Err(LoadError::InitramfsTooLarge { limit: 0 })
        );
        // Raw pieces count too.
        assert_eq!(
            unpack_initramfs_with_limit(&a, a.len() - 4),
            Err(LoadError::InitramfsTooLarge { limit: a.len() - 4 })
        );
        let msg = format!("{}", LoadError::InitramfsTooLarge { limit: 1 << 20 });
        assert_eq!(msg, "initramfs: unpacks to more than 1048576 bytes");
    }

    #[test]
    fn exec_lookup_follows_symlinks_and_needs_an_execute_bit() {
        let a = newc(&[
            ("bin", 0o040755, b""),
            ("bin/prog", 0o100755, b"PROG"),
            ("bin/rel", 0o120777, b"prog"),
            ("init", 0o120777, b"bin/rel"),
            ("abs", 0o120777, b"/bin/prog"),
            ("loop1", 0o120777, b"loop2"),
            ("loop2", 0o120777, b"/loop1"),
            ("noexec", 0o100644, b"DATA"),
            ("grp", 0o100010, b"G"),
            ("dir", 0o120777, b"bin"),
        ]);
        let ar = cpio::Archive::new(&a).unwrap();
        assert_eq!(find_file(&ar, "/init").unwrap(), b"PROG");
        assert_eq!(find_file(&ar, "/abs").unwrap(), b"PROG");
        assert_eq!(find_file(&ar, "/dir/prog").unwrap(), b"PROG");
        assert_eq!(find_file(&ar, "/grp").unwrap(), b"G");
        assert_eq!(find_file(&ar, "/loop1"), Err(LoadError::SymlinkLoop));
        assert_eq!(Errno::from(LoadError::SymlinkLoop), Errno::ELOOP);
        let e = find_file(&ar, "/noexec").unwrap_err();
        assert_eq!(e, LoadError::PermissionDenied { mode: 0o644 });
        assert_eq!(Errno::from(e), Errno::EACCES);
        assert!(format!("{e}").contains("permission denied"));
        assert_eq!(find_file(&ar, "/noexec/x"), Err(LoadError::NotDirectory));
        assert_eq!(find_file(&ar, "/dir"), Err(LoadError::NotRegularFile));
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
        assert_eq!(u.len() % 4, 0);
        let ar = cpio::Archive::new(&u).unwrap();
        assert_eq!(find_file(&ar, "init").unwrap(), b"second!");
        assert_eq!(ar.find("x").unwrap().data, b"x");
        assert_eq!(ar.find("/late").unwrap().data, b"raw");
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
        assert_eq!(
            unpack_initramfs_with_limit(&blob, a.len() + b.len()),
            Err(LoadError::InitramfsTooLarge {
                limit: a.len() + b.len()
            })
        );
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
