//! Zero-copy parser for the Linux initramfs cpio **newc** format.
//!
//! Format (see the kernel's `Documentation/driver-api/early-userspace/buffer-format.rst`):
//! every entry is a 110-byte ASCII header (`"070701"` magic, then thirteen
//! 8-digit hex fields), the NUL-terminated path name, zero padding to a
//! 4-byte boundary, the file data, and zero padding to a 4-byte boundary.
//! The entry named `TRAILER!!!` ends an archive. Like Linux, we accept
//! several archives one after another: after a trailer, zero bytes are
//! skipped and parsing continues if another header follows (it must start on
//! a 4-byte boundary). The `"070702"` variant (with a checksum field) is
//! accepted; the checksum is not verified (Linux does not either).
//!
//! Alignment is counted from the start of the buffer handed to
//! [`Archive::new`], which must therefore start at an archive boundary.
//!
//! Every malformed input yields a [`CpioError`]: the parser never panics and
//! never slices out of bounds (all arithmetic is checked).

use alloc::vec::Vec;
use core::fmt;

/// Magic of a newc header.
pub const NEWC_MAGIC: &[u8; 6] = b"070701";
/// Magic of a newc header with checksum ("crc" format).
pub const CRC_MAGIC: &[u8; 6] = b"070702";
/// Size of a newc header.
pub const HEADER_LEN: usize = 110;
/// Name of the entry that ends an archive.
pub const TRAILER: &[u8] = b"TRAILER!!!";

/// File type mask of `mode`.
pub const S_IFMT: u32 = 0o170_000;
/// Regular file.
pub const S_IFREG: u32 = 0o100_000;
/// Directory.
pub const S_IFDIR: u32 = 0o040_000;
/// Symbolic link.
pub const S_IFLNK: u32 = 0o120_000;
/// Character device.
pub const S_IFCHR: u32 = 0o020_000;
/// Block device.
pub const S_IFBLK: u32 = 0o060_000;
/// FIFO.
pub const S_IFIFO: u32 = 0o010_000;
/// Socket.
pub const S_IFSOCK: u32 = 0o140_000;

/// Why a cpio archive could not be parsed. `offset` is the byte offset of the
/// header of the entry at fault, from the start of the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpioError {
    /// Fewer than 110 bytes left for a header.
    TruncatedHeader { offset: usize },
    /// The header does not start with "070701" or "070702".
    BadMagic { offset: usize },
    /// A header field holds something other than 8 hex digits.
    BadHexField { offset: usize, field: &'static str },
    /// `namesize` is 0: there is not even room for the terminating NUL.
    EmptyName { offset: usize },
    /// The name's last byte is not NUL, or a NUL occurs inside the name.
    NameNotTerminated { offset: usize },
    /// The name (or its padding) extends past the end of the buffer.
    TruncatedName { offset: usize },
    /// The file data (or its padding) extends past the end of the buffer.
    TruncatedData { offset: usize, size: u32 },
    /// An offset computation overflowed `usize`.
    Overflow { offset: usize },
    /// A non-zero byte after a trailer that is not an aligned header.
    JunkAfterTrailer { offset: usize },
    /// The buffer ended after some entries without a `TRAILER!!!` entry.
    MissingTrailer,
}

impl fmt::Display for CpioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            CpioError::TruncatedHeader { offset } => {
                write!(f, "cpio: truncated header at offset {offset:#x}")
            }
            CpioError::BadMagic { offset } => write!(
                f,
                "cpio: bad magic at offset {offset:#x} (only newc 070701/070702 is supported)"
            ),
            CpioError::BadHexField { offset, field } => {
                write!(
                    f,
                    "cpio: header at {offset:#x}: field {field} is not 8 hex digits"
                )
            }
            CpioError::EmptyName { offset } => {
                write!(f, "cpio: header at {offset:#x}: namesize is 0")
            }
            CpioError::NameNotTerminated { offset } => write!(
                f,
                "cpio: header at {offset:#x}: name is not a single NUL-terminated string"
            ),
            CpioError::TruncatedName { offset } => {
                write!(
                    f,
                    "cpio: header at {offset:#x}: name runs past the end of the archive"
                )
            }
            CpioError::TruncatedData { offset, size } => write!(
                f,
                "cpio: header at {offset:#x}: {size} bytes of data run past the end of the archive"
            ),
            CpioError::Overflow { offset } => {
                write!(f, "cpio: header at {offset:#x}: size arithmetic overflows")
            }
            CpioError::JunkAfterTrailer { offset } => {
                write!(f, "cpio: junk after trailer at offset {offset:#x}")
            }
            CpioError::MissingTrailer => write!(f, "cpio: archive ends without TRAILER!!!"),
        }
    }
}

/// One archive member. All slices borrow from the archive buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Normalized path: leading "/" and "./" removed ("." becomes "").
    pub name: &'a [u8],
    /// The name exactly as stored (without the NUL).
    pub raw_name: &'a [u8],
    pub ino: u32,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    pub mtime: u32,
    pub filesize: u32,
    pub devmajor: u32,
    pub devminor: u32,
    pub rdevmajor: u32,
    pub rdevminor: u32,
    /// Checksum field (only meaningful for "070702"; not verified).
    pub check: u32,
    /// File contents; for a symlink, the link target.
    pub data: &'a [u8],
    /// Offset of this entry's header in the buffer.
    pub offset: usize,
}

impl<'a> Entry<'a> {
    /// `mode & S_IFMT`.
    pub fn file_type(&self) -> u32 {
        self.mode & S_IFMT
    }
    pub fn is_file(&self) -> bool {
        self.file_type() == S_IFREG
    }
    pub fn is_dir(&self) -> bool {
        self.file_type() == S_IFDIR
    }
    pub fn is_symlink(&self) -> bool {
        self.file_type() == S_IFLNK
    }
    /// Permission bits (`mode & 0o7777`).
    pub fn perm(&self) -> u32 {
        self.mode & 0o7777
    }
    /// The normalized name as UTF-8, if it is.
    pub fn name_str(&self) -> Option<&'a str> {
        core::str::from_utf8(self.name).ok()
    }
}

/// Strip leading "/" and "./" components and trailing "/" from a path;
/// "." and "/" become "".
pub fn normalize(mut path: &[u8]) -> &[u8] {
    loop {
        if let Some(rest) = path.strip_prefix(b"/") {
            path = rest;
        } else if let Some(rest) = path.strip_prefix(b"./") {
            path = rest;
        } else if path == b"." {
            path = b"";
        } else {
            break;
        }
    }
    while let Some(rest) = path.strip_suffix(b"/") {
        path = rest;
    }
    path
}

/// A validated newc archive (possibly several concatenated archives).
#[derive(Clone, Copy, Debug)]
pub struct Archive<'a> {
    bytes: &'a [u8],
}

impl<'a> Archive<'a> {
    /// Validate the whole buffer. An empty buffer is a valid, empty archive.
    pub fn new(bytes: &'a [u8]) -> Result<Self, CpioError> {
        let archive = Archive { bytes };
        for entry in archive.entries() {
            entry?;
        }
        Ok(archive)
    }

    /// Iterate over the entries (trailers are not yielded). Stops after the
    /// first error, which is yielded as `Some(Err(_))`.
    pub fn entries(&self) -> Entries<'a> {
        Entries {
            bytes: self.bytes,
            pos: 0,
            state: State::Start,
        }
    }

    /// Find the last entry whose normalized name equals `name` (already
    /// normalized), without following symlinks (later entries override
    /// earlier ones, as when Linux unpacks). For a regular file that is a
    /// hard link stored without data (newc stores the data once, with the
    /// last link), the data of the other link with the same inode is
    /// returned.
    fn find_name(&self, want: &[u8]) -> Result<Option<Entry<'a>>, CpioError> {
        let mut found = None;
        for entry in self.entries() {
            let entry = entry?;
            if entry.name == want {
                found = Some(entry);
            }
        }
        let Some(mut entry) = found else {
            return Ok(None);
        };
        if entry.is_file() && entry.nlink > 1 && entry.data.is_empty() {
            for other in self.entries().flatten() {
                if other.is_file()
                    && other.ino == entry.ino
                    && other.devmajor == entry.devmajor
                    && other.devminor == entry.devminor
                    && !other.data.is_empty()
                {
                    entry.data = other.data;
                    entry.filesize = other.filesize;
                }
            }
        }
        Ok(Some(entry))
    }

    /// The entry at `path` itself, without following any symlink (like
    /// `lstat` of a path whose directories are not links).
    pub fn find_nofollow(&self, path: &str) -> Option<Entry<'a>> {
        self.find_name(normalize(path.as_bytes())).ok().flatten()
    }

    /// Resolve `path` as Linux's path walk does, following symlinks in
    /// every component, the last one included (absolute targets restart at
    /// the root, relative ones at the link's directory; `..` goes up), at
    /// most [`MAX_SYMLINKS`] links in all ([`LookupError::Loop`], Linux's
    /// `ELOOP`, past that). A directory that has no entry of its own in the
    /// archive (`bin/a` without `bin`) is taken as an existing directory.
    pub fn lookup(&self, path: &str) -> Result<Entry<'a>, LookupError> {
        self.walk(path, true)?.entry.ok_or(LookupError::NotFound)
    }

    /// The path walk behind [`Self::lookup`], for `stat`, `chdir` and
    /// `lstat`: the last component's symlink is followed only if
    /// `follow_last` (or the path ends in "/", as Linux does), and a
    /// directory that has no entry of its own (the root of an archive
    /// without ".", or `bin` of an archive with only `bin/a`) is found
    /// too, as [`Walked::entry`] `None`. [`Walked::path`] is the resolved
    /// path (normalized, no leading "/"; symlinks in it replaced).
    pub fn walk(&self, path: &str, follow_last: bool) -> Result<Walked<'a>, LookupError> {
        let bytes = path.as_bytes();
        if bytes.len() >= PATH_MAX {
            return Err(LookupError::NameTooLong);
        }
        // What is left to walk: a stack of path pieces, the innermost
        // symlink target on top.
        let trailing_slash = bytes.ends_with(b"/");
        let follow_last = follow_last || trailing_slash;
        let mut pending: [&[u8]; MAX_SYMLINKS + 1] = [b""; MAX_SYMLINKS + 1];
        pending[0] = bytes;
        let mut depth = 1;
        let mut resolved: Vec<u8> = Vec::new();
        resolved
            .try_reserve(PATH_MAX)
            .map_err(|_| LookupError::NoMemory)?;
        let mut links = 0usize;
        loop {
            // Next component: from the top symlink target, else from `path`.
            let comp: &[u8] = loop {
                match next_component(&mut pending[depth - 1]) {
                    Some(c) => break c,
                    None if depth > 1 => depth -= 1,
                    None => break b"",
                }
            };
            if comp.is_empty() {
                // Nothing left: the path named the root (or only "."s).
                return self.directory(resolved);
            }
            let is_last = pending[..depth].iter().all(|p| only_dots(p));
            if comp == b".." {
                let cut = resolved.iter().rposition(|&c| c == b'/').unwrap_or(0);
                resolved.truncate(cut);
                if is_last {
                    return self.directory(resolved);
                }
                continue;
            }
            let dir_len = resolved.len();
            let extra = comp.len() + usize::from(dir_len > 0);
            if dir_len + extra >= PATH_MAX {
                return Err(LookupError::NameTooLong);
            }
            if dir_len > 0 {
                resolved.push(b'/');
            }
            resolved.extend_from_slice(comp);
            let entry = self.find_name(&resolved).map_err(LookupError::Corrupt)?;
            match entry {
                // A directory known only from its members.
                None if is_last && self.has_members(&resolved) => {
                    return Ok(Walked {
                        entry: None,
                        path: resolved,
                    })
                }
                None if is_last => return Err(LookupError::NotFound),
                // An implicit directory.
                None => {}
                Some(e) if e.is_symlink() && (!is_last || follow_last) => {
                    links += 1;
                    if links > MAX_SYMLINKS {
                        return Err(LookupError::Loop);
                    }
                    if e.data.is_empty() {
                        return Err(LookupError::NotFound);
                    }
                    if e.data.len() >= PATH_MAX {
                        return Err(LookupError::NameTooLong);
                    }
                    // The target replaces the link: relative to the link's
                    // directory, or to the root when absolute.
                    resolved.truncate(dir_len);
                    if e.data[0] == b'/' {
                        resolved.clear();
                    }
                    if depth == pending.len() {
                        // Cannot happen: each level is one more link.
                        return Err(LookupError::Loop);
                    }
                    pending[depth] = e.data;
                    depth += 1;
                }
                // "file/" names a directory (Linux: ENOTDIR).
                Some(e) if is_last && trailing_slash && !e.is_dir() => {
                    return Err(LookupError::NotDir)
                }
                Some(e) if is_last => {
                    return Ok(Walked {
                        entry: Some(e),
                        path: resolved,
                    })
                }
                Some(e) if !e.is_dir() => return Err(LookupError::NotDir),
                Some(_) => {}
            }
        }
    }

    /// Whether some entry lies below the directory `dir` (normalized).
    fn has_members(&self, dir: &[u8]) -> bool {
        self.entries().flatten().any(|e| {
            e.name.len() > dir.len() && e.name.starts_with(dir) && e.name[dir.len()] == b'/'
        })
    }

    /// The directory reached by the walk (the root, or where `..` led):
    /// only a directory entry counts (a "." stored as a file or a symlink
    /// cannot replace Linux's root directory); the root exists without
    /// an entry, another directory if it has members.
    fn directory(&self, name: Vec<u8>) -> Result<Walked<'a>, LookupError> {
        match self.find_name(&name).map_err(LookupError::Corrupt)? {
            Some(e) if e.is_dir() => Ok(Walked {
                entry: Some(e),
                path: name,
            }),
            _ if name.is_empty() || self.has_members(&name) => Ok(Walked {
                entry: None,
                path: name,
            }),
            _ => Err(LookupError::NotFound),
        }
    }

    /// [`Self::lookup`] as an `Option`: the entry at `path`, symlinks
    /// followed (what `open` and `execve` see).
    pub fn find(&self, path: &str) -> Option<Entry<'a>> {
        self.lookup(path).ok()
    }
}

/// What [`Archive::walk`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Walked<'a> {
    /// The entry; `None` for a directory without an entry of its own.
    pub entry: Option<Entry<'a>>,
    /// The resolved path, normalized (no leading "/").
    pub path: Vec<u8>,
}

impl Walked<'_> {
    pub fn is_dir(&self) -> bool {
        self.entry.is_none_or(|e| e.is_dir())
    }
}

/// Longest symlink chain followed in one lookup (Linux's `MAXSYMLINKS`).
pub const MAX_SYMLINKS: usize = 40;
/// Longest path, NUL included (Linux's `PATH_MAX`).
pub const PATH_MAX: usize = 4096;

/// Why [`Archive::lookup`] found nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LookupError {
    /// No entry at the path (or a symlink to nowhere).
    NotFound,
    /// More than [`MAX_SYMLINKS`] symlinks (Linux: `ELOOP`).
    Loop,
    /// A path component before the last is a file, not a directory.
    NotDir,
    /// The path (or a symlink target) is `PATH_MAX` bytes or longer.
    NameTooLong,
    /// No memory for the resolved path.
    NoMemory,
    /// The archive itself is broken.
    Corrupt(CpioError),
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LookupError::NotFound => write!(f, "no such file or directory"),
            LookupError::Loop => write!(
                f,
                "too many levels of symbolic links (more than {MAX_SYMLINKS})"
            ),
            LookupError::NotDir => write!(f, "a path component is not a directory"),
            LookupError::NameTooLong => write!(f, "file name too long"),
            LookupError::NoMemory => write!(f, "out of memory resolving the path"),
            LookupError::Corrupt(e) => e.fmt(f),
        }
    }
}

/// Take the next non-empty, non-"." component off the front of `p`.
fn next_component<'p>(p: &mut &'p [u8]) -> Option<&'p [u8]> {
    loop {
        if p.is_empty() {
            return None;
        }
        let end = p.iter().position(|&c| c == b'/').unwrap_or(p.len());
        let comp = &p[..end];
        *p = p.get(end + 1..).unwrap_or(b"");
        if !comp.is_empty() && comp != b"." {
            return Some(comp);
        }
    }
}

/// Whether `p` has no component left but "." and empty ones.
fn only_dots(p: &[u8]) -> bool {
    p.split(|&c| c == b'/').all(|c| c.is_empty() || c == b".")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Before the first header, or right after an ordinary entry.
    Start,
    /// Inside an archive, after at least one entry.
    InArchive,
    /// After a trailer: zero padding or another archive may follow.
    AfterTrailer,
    /// Finished or failed.
    Done,
}

/// Iterator over the entries of an [`Archive`].
#[derive(Clone, Debug)]
pub struct Entries<'a> {
    bytes: &'a [u8],
    pos: usize,
    state: State,
}

const FIELDS: [&str; 13] = [
    "ino",
    "mode",
    "uid",
    "gid",
    "nlink",
    "mtime",
    "filesize",
    "devmajor",
    "devminor",
    "rdevmajor",
    "rdevminor",
    "namesize",
    "check",
];

fn hex8(field: &[u8]) -> Option<u32> {
    if field.len() != 8 {
        return None;
    }
    let mut v: u32 = 0;
    for &c in field {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => return None,
        };
        v = (v << 4) | u32::from(d);
    }
    Some(v)
}

fn align4(x: usize) -> Option<usize> {
    Some(x.checked_add(3)? & !3)
}

impl<'a> Entries<'a> {
    fn fail(&mut self, e: CpioError) -> Option<Result<Entry<'a>, CpioError>> {
        self.state = State::Done;
        Some(Err(e))
    }

    /// Parse the header at `self.pos`; returns the entry and the offset of
    /// the next header.
    fn parse_at(&self, off: usize) -> Result<(Entry<'a>, usize), CpioError> {
        let b = self.bytes;
        let hdr_end = off
            .checked_add(HEADER_LEN)
            .ok_or(CpioError::Overflow { offset: off })?;
        let hdr = b
            .get(off..hdr_end)
            .ok_or(CpioError::TruncatedHeader { offset: off })?;
        let magic = &hdr[..6];
        if magic != NEWC_MAGIC && magic != CRC_MAGIC {
            return Err(CpioError::BadMagic { offset: off });
        }
        let mut f = [0u32; 13];
        for (i, (slot, name)) in f.iter_mut().zip(FIELDS).enumerate() {
            let start = 6 + 8 * i;
            *slot = hdr
                .get(start..start + 8)
                .and_then(hex8)
                .ok_or(CpioError::BadHexField {
                    offset: off,
                    field: name,
                })?;
        }
        let [ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check] =
            f;
        let overflow = CpioError::Overflow { offset: off };
        let namesize = usize::try_from(namesize).map_err(|_| overflow)?;
        if namesize == 0 {
            return Err(CpioError::EmptyName { offset: off });
        }
        let name_end = hdr_end.checked_add(namesize).ok_or(overflow)?;
        let data_start = align4(name_end).ok_or(overflow)?;
        if data_start > b.len() {
            return Err(CpioError::TruncatedName { offset: off });
        }
        let name_nul = b
            .get(hdr_end..name_end)
            .ok_or(CpioError::TruncatedName { offset: off })?;
        let (raw_name, nul) = name_nul.split_at(namesize - 1);
        if nul != [0] || raw_name.contains(&0) {
            return Err(CpioError::NameNotTerminated { offset: off });
        }
        let size = usize::try_from(filesize).map_err(|_| overflow)?;
        let data_end = data_start.checked_add(size).ok_or(overflow)?;
        let next = align4(data_end).ok_or(overflow)?;
        if next > b.len() {
            return Err(CpioError::TruncatedData {
                offset: off,
                size: filesize,
            });
        }
        let data = b
            .get(data_start..data_end)
            .ok_or(CpioError::TruncatedData {
                offset: off,
                size: filesize,
            })?;
        Ok((
            Entry {
                name: normalize(raw_name),
                raw_name,
                ino,
                mode,
                uid,
                gid,
                nlink,
                mtime,
                filesize,
                devmajor,
                devminor,
                rdevmajor,
                rdevminor,
                check,
                data,
                offset: off,
            },
            next,
        ))
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<Entry<'a>, CpioError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.state {
                State::Done => return None,
                State::AfterTrailer => {
                    // Skip zero padding; another archive may follow.
                    let rest = self.bytes.get(self.pos..).unwrap_or(&[]);
                    match rest.iter().position(|&c| c != 0) {
                        None => {
                            self.state = State::Done;
                            return None;
                        }
                        Some(skip) => {
                            let at = self.pos + skip;
                            let aligned = at.is_multiple_of(4);
                            let is_magic = rest[skip..].starts_with(b"07070");
                            if !aligned || !is_magic {
                                return self.fail(CpioError::JunkAfterTrailer { offset: at });
                            }
                            self.pos = at;
                            self.state = State::Start;
                        }
                    }
                }
                State::Start | State::InArchive => {
                    if self.pos >= self.bytes.len() {
                        if self.state == State::Start && self.pos == 0 {
                            // Empty buffer: an empty archive.
                            self.state = State::Done;
                            return None;
                        }
                        return self.fail(CpioError::MissingTrailer);
                    }
                    let (entry, next) = match self.parse_at(self.pos) {
                        Ok(v) => v,
                        Err(e) => return self.fail(e),
                    };
                    self.pos = next;
                    if entry.raw_name == TRAILER {
                        self.state = State::AfterTrailer;
                        continue;
                    }
                    self.state = State::InArchive;
                    return Some(Ok(entry));
                }
            }
        }
    }
}

impl core::iter::FusedIterator for Entries<'_> {}

/// Length of the first archive in `bytes`: the offset just past its trailer
/// (including the trailer's padding, not any zero padding after it).
/// Used to split a buffer that mixes raw and compressed archives.
pub fn archive_len(bytes: &[u8]) -> Result<usize, CpioError> {
    let it = Entries {
        bytes,
        pos: 0,
        state: State::Start,
    };
    let mut pos = 0;
    loop {
        if pos >= bytes.len() {
            return Err(CpioError::MissingTrailer);
        }
        let (entry, next) = it.parse_at(pos)?;
        pos = next;
        if entry.raw_name == TRAILER {
            return Ok(pos);
        }
    }
}

/// Test helpers shared by the loader's tests and the boot-input fuzzing:
/// an independent newc writer, straight from the format description.
#[cfg(test)]
pub(crate) mod testutil {
    use std::format;
    use std::vec::Vec;

    /// Independent newc writer, straight from the format description.
    pub(crate) fn push_entry(
        out: &mut Vec<u8>,
        magic: &str,
        name: &str,
        mode: u32,
        ino: u32,
        nlink: u32,
        data: &[u8],
    ) {
        let hdr = format!(
            "{magic}{ino:08x}{mode:08x}{uid:08x}{gid:08x}{nlink:08x}{mtime:08x}{size:08x}{dmaj:08x}{dmin:08x}{rmaj:08x}{rmin:08x}{nsz:08x}{chk:08x}",
            uid = 0, gid = 0, mtime = 0x5f00_0000u32, size = data.len(),
            dmaj = 0, dmin = 1, rmaj = 0, rmin = 0, nsz = name.len() + 1, chk = 0
        );
        assert_eq!(hdr.len(), 110);
        out.extend_from_slice(hdr.as_bytes());
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
        out.extend_from_slice(data);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
    }

    /// A newc archive of `(name, mode, data)` entries (inodes 1, 2, ...,
    /// one link each) and its trailer.
    pub(crate) fn newc(entries: &[(&str, u32, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, &(name, mode, data)) in entries.iter().enumerate() {
            push_entry(&mut out, "070701", name, mode, i as u32 + 1, 1, data);
        }
        push_entry(&mut out, "070701", "TRAILER!!!", 0, 0, 1, b"");
        out
    }
}

#[cfg(test)]
mod tests;
