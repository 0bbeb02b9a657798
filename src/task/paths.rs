//! The path and process-environment calls: the stat family, access,
//! getcwd/chdir/fchdir, readlink, getdents64, umask and the resource
//! limits. Files are the root tmpfs's (`crate::fs`), `/proc` procfs's.

use super::files::{Open, AT_FDCWD, MAX_FDS};
use super::stat::{self, Meta, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG};
use super::vfs::Found;
use super::{fsctx, Task};
use crate::errno::Errno;
use crate::fs::{self, tmpfs};
use crate::loader::stack::WordSize;
use alloc::string::String;
use alloc::vec::Vec;

const AT_SYMLINK_NOFOLLOW: u32 = 0x100;
const AT_EACCESS: u32 = 0x200;
const AT_NO_AUTOMOUNT: u32 = 0x800;
const AT_EMPTY_PATH: u32 = 0x1000;
const AT_STATX_SYNC_TYPE: u32 = 0x6000;
const STATX_RESERVED: u32 = 0x8000_0000;

/// `/proc` names (procfs): the directory, `self`, `<pid>` and its `maps`.
fn proc_meta(path: &str, own: u32, follow: bool) -> Option<Meta> {
    let rest = path.strip_prefix("/proc")?;
    let rest = rest.trim_matches('/');
    let dir = |ino: u64| Meta::simple(stat::PROC_DEV, ino, S_IFDIR | 0o555, (0, 0), 2);
    if rest.is_empty() {
        return Some(dir(1));
    }
    if let Some(m) = super::procfs::meta(path) {
        return Some(m);
    }
    let (first, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let pid = if first == "self" {
        if tail.is_empty() && !follow {
            let mut m = Meta::simple(stat::PROC_DEV, 2, S_IFLNK | 0o777, (0, 0), 1);
            m.size = 0;
            return Some(m);
        }
        own
    } else if !first.is_empty() && first.bytes().all(|b| b.is_ascii_digit()) {
        first.parse().ok()?
    } else {
        return None;
    };
    match tail.trim_matches('/') {
        "" => Some(dir(0x1000 + pid as u64)),
        "maps" => Some(Meta::simple(
            stat::PROC_DEV,
            0x10_0000 + pid as u64,
            S_IFREG | 0o444,
            (0, 0),
            1,
        )),
        _ => None,
    }
}

/// `n` in decimal, in `buf`.
fn decimal(mut n: u32, buf: &mut [u8; 10]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

/// One directory entry for getdents64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirEnt<'a> {
    pub name: &'a [u8],
    pub ino: u64,
    /// `DT_*` (dirent.h): the file type bits of the mode, >> 12.
    pub dtype: u8,
}

/// `struct linux_dirent64`'s length: 19 bytes of header, the name and
/// its NUL, rounded up to 8.
pub fn dirent_len(name_len: usize) -> usize {
    (19 + name_len + 1).div_ceil(8) * 8
}

/// Append one `struct linux_dirent64` (d_ino, d_off, d_reclen, d_type,
/// d_name).
pub fn put_dirent(out: &mut alloc::vec::Vec<u8>, e: &DirEnt<'_>, next: u64) {
    let len = dirent_len(e.name.len());
    let start = out.len();
    out.extend_from_slice(&e.ino.to_le_bytes());
    out.extend_from_slice(&next.to_le_bytes());
    out.extend_from_slice(&(len as u16).to_le_bytes());
    out.push(e.dtype);
    out.extend_from_slice(e.name);
    out.resize(start + len, 0);
}

/// `struct rlimit` values (soft, hard); `u64::MAX` is `RLIM_INFINITY`.
pub fn rlimit(resource: u32, stack_size: usize) -> Option<(u64, u64)> {
    const INF: u64 = u64::MAX;
    let procs = super::process::MAX_PROCS as u64;
    Some(match resource {
        0 | 1 | 2 | 5 | 9 | 10 | 15 => (INF, INF), // CPU FSIZE DATA RSS AS LOCKS RTTIME
        3 => (stack_size as u64, INF),             // STACK: the stack VMA
        4 => (0, INF),                             // CORE
        6 | 11 => (procs, procs),                  // NPROC, SIGPENDING
        7 => (MAX_FDS as u64, MAX_FDS as u64),     // NOFILE: the fd table
        8 => (8 << 20, 8 << 20),                   // MEMLOCK (6.1: 8 MiB)
        12 => (819_200, 819_200),                  // MSGQUEUE
        13 | 14 => (0, 0),                         // NICE, RTPRIO
        _ => return None,
    })
}

/// A `struct rlimit` of 32-bit words: infinity (and anything larger)
/// is `~0UL` (ugetrlimit's clamp).
fn rlimit_words(v: (u64, u64), word: WordSize) -> ([u8; 16], usize) {
    let mut b = [0u8; 16];
    match word {
        WordSize::W32 => {
            b[..4].copy_from_slice(&(v.0.min(u32::MAX as u64) as u32).to_le_bytes());
            b[4..8].copy_from_slice(&(v.1.min(u32::MAX as u64) as u32).to_le_bytes());
            (b, 8)
        }
        WordSize::W64 => {
            b[..8].copy_from_slice(&v.0.to_le_bytes());
            b[8..].copy_from_slice(&v.1.to_le_bytes());
            (b, 16)
        }
    }
}

/// access(2)'s verdict for root on `m` (`mode`: R_OK 4, W_OK 2, X_OK 1):
/// root may read and write anything; executing needs an x bit unless it
/// is a directory.
pub fn access_check(m: &Meta, mode: u32) -> Result<(), Errno> {
    let t = m.mode & S_IFMT;
    if mode & 1 != 0 && t != S_IFDIR && m.mode & 0o111 == 0 {
        return Err(Errno::EACCES);
    }
    Ok(())
}

impl Task {
    /// What stat says about where a path led.
    fn found_meta(&self, found: &Found, follow: bool) -> Result<Meta, Errno> {
        match found {
            Found::Inode(ino) => fs::with(|f| Meta::of_inode(f, *ino))?,
            Found::Proc(p) => proc_meta(p, self.pid, follow).ok_or(Errno::ENOENT),
        }
    }

    /// What fstat says about `fd`.
    fn fd_meta(&self, fd: i32) -> Result<Meta, Errno> {
        let dev_node = |rdev: (u32, u32)| -> Result<Meta, Errno> {
            let name = match rdev {
                (1, 1) => "mem",
                (1, 3) => "null",
                (1, 5) => "zero",
                _ => "console",
            };
            // The node in /dev (made at boot).
            let found =
                self.lookup_path(AT_FDCWD, alloc::format!("/dev/{name}").as_bytes(), true)?;
            self.found_meta(&found, true)
        };
        match self.fd(fd)?.open() {
            Open::Console => dev_node((5, 1)),
            Open::DevNull => dev_node((1, 3)),
            Open::DevZero => dev_node((1, 5)),
            Open::Driver { node, .. } => {
                let path = alloc::format!("/dev/{}", node.name);
                match self.lookup_path(AT_FDCWD, path.as_bytes(), true) {
                    Ok(found) => self.found_meta(&found, true),
                    Err(_) => Ok(super::devio::node_meta(node)),
                }
            }
            Open::Inode { ino, .. } => fs::with(|f| Meta::of_inode(f, *ino))?,
            Open::ProcMaps { pid, .. } => {
                proc_meta("/proc/self/maps", *pid, true).ok_or(Errno::ENOENT)
            }
            Open::Generated(g) => proc_meta(&g.path()?, self.pid, true).ok_or(Errno::ENOENT),
            Open::Pipe(end) => {
                let ino = end.pipe.lock().ino;
                Ok(Meta::simple(
                    stat::PIPEFS_DEV,
                    ino,
                    S_IFIFO | 0o600,
                    (0, 0),
                    1,
                ))
            }
        }
    }

    /// The `*at` path rules: `path` from `dirfd`; an empty path is the
    /// fd itself with `AT_EMPTY_PATH`, else `ENOENT`.
    fn meta_at(&mut self, dirfd: i32, path_va: usize, flags: u32) -> Result<Meta, Errno> {
        let path = self.read_cstr(path_va)?;
        if path.is_empty() {
            if flags & AT_EMPTY_PATH == 0 {
                return Err(Errno::ENOENT);
            }
            if dirfd != AT_FDCWD {
                return self.fd_meta(dirfd);
            }
            let found = self.lookup_path(AT_FDCWD, b".", true)?;
            return self.found_meta(&found, true);
        }
        let follow = flags & AT_SYMLINK_NOFOLLOW == 0;
        let found = self.lookup_path(dirfd, path.as_bytes(), follow)?;
        self.found_meta(&found, follow)
    }

    /// Write `m` in the ABI's stat layout (ARM: `struct stat64`; AArch64:
    /// `struct stat`).
    fn put_stat(&mut self, buf: usize, m: &Meta) -> Result<usize, Errno> {
        match self.layout.word {
            WordSize::W32 => self.write_user(buf, &stat::stat64_arm(m))?,
            WordSize::W64 => self.write_user(buf, &stat::stat_generic(m))?,
        }
        Ok(0)
    }

    /// stat64 / lstat64 (ARM).
    pub(super) fn stat_path(
        &mut self,
        path_va: usize,
        buf: usize,
        follow: bool,
    ) -> Result<usize, Errno> {
        let flags = if follow { 0 } else { AT_SYMLINK_NOFOLLOW };
        let m = self.meta_at(AT_FDCWD, path_va, flags)?;
        self.put_stat(buf, &m)
    }

    /// fstat64 (ARM) / fstat (AArch64).
    pub(super) fn fstat(&mut self, fd: i32, buf: usize) -> Result<usize, Errno> {
        let m = self.fd_meta(fd)?;
        self.put_stat(buf, &m)
    }

    /// fstatat64 (ARM) / newfstatat (AArch64).
    pub(super) fn fstatat(
        &mut self,
        dirfd: i32,
        path_va: usize,
        buf: usize,
        flags: u32,
    ) -> Result<usize, Errno> {
        if flags & !(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH) != 0 {
            return Err(Errno::EINVAL);
        }
        let m = self.meta_at(dirfd, path_va, flags)?;
        self.put_stat(buf, &m)
    }

    /// statx(dirfd, path, flags, mask, buf).
    pub(super) fn statx(&mut self, a: [usize; 6]) -> Result<usize, Errno> {
        let (dirfd, path_va, flags, mask, buf) =
            (a[0] as i32, a[1], a[2] as u32, a[3] as u32, a[4]);
        if flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE
            || mask & STATX_RESERVED != 0
            || flags & !(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE)
                != 0
        {
            return Err(Errno::EINVAL);
        }
        let m = self.meta_at(dirfd, path_va, flags)?;
        self.write_user(buf, &stat::statx(&m))?;
        Ok(0)
    }

    /// access / faccessat (`flags` 0) / faccessat2: every caller is root.
    pub(super) fn faccessat(
        &mut self,
        dirfd: i32,
        path_va: usize,
        mode: u32,
        flags: u32,
    ) -> Result<usize, Errno> {
        if mode & !7 != 0 {
            return Err(Errno::EINVAL);
        }
        if flags & !(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
            return Err(Errno::EINVAL);
        }
        let m = self.meta_at(dirfd, path_va, flags)?;
        access_check(&m, mode).map(|_| 0)
    }

    /// getcwd(buf, size): the length with the NUL; `ERANGE` if it does
    /// not fit.
    pub(super) fn getcwd(&mut self, buf: usize, size: usize) -> Result<usize, Errno> {
        let cwd = fsctx::cwd(self.pid)?;
        let n = cwd.len() + 1;
        if size < n {
            return Err(Errno::ERANGE);
        }
        let mut b = [0u8; super::uaccess::CHUNK];
        if n <= b.len() {
            b[..cwd.len()].copy_from_slice(cwd.as_bytes());
            self.write_user(buf, &b[..n])?;
        } else {
            self.write_user(buf, cwd.as_bytes())?;
            self.write_user(buf + cwd.len(), &[0])?;
        }
        Ok(n)
    }

    /// chdir(path): a directory (`ENOTDIR` otherwise); the new working
    /// directory is its path by name (symlinks and ".." gone).
    pub(super) fn chdir(&mut self, path_va: usize) -> Result<usize, Errno> {
        let path = self.read_cstr(path_va)?;
        let found = self.lookup_path(AT_FDCWD, path.as_bytes(), true)?;
        self.set_cwd_to(&found)
    }

    fn set_cwd_to(&mut self, found: &Found) -> Result<usize, Errno> {
        let cwd = match found {
            Found::Inode(ino) => fs::with(|f| {
                if !f.get(*ino).is_some_and(|n| n.is_dir()) {
                    return Err(Errno::ENOTDIR);
                }
                f.path_of(*ino)?.ok_or(Errno::ENOENT)
            })??,
            Found::Proc(p) => {
                let m = proc_meta(p, self.pid, true).ok_or(Errno::ENOENT)?;
                if !m.is_dir() {
                    return Err(Errno::ENOTDIR);
                }
                let mut s = String::new();
                s.try_reserve_exact(p.len()).map_err(|_| Errno::ENOMEM)?;
                s.push_str(p.trim_end_matches('/'));
                s
            }
        };
        fsctx::set_cwd(self.pid, cwd)?;
        Ok(0)
    }

    /// readlink / readlinkat: a symlink's target, cut to `size`, no NUL
    /// (`EINVAL` for anything else or `size` <= 0). `/proc/self/exe`
    /// (and `/proc/<own pid>/exe`) names the running program's file.
    pub(super) fn readlinkat(
        &mut self,
        dirfd: i32,
        path_va: usize,
        buf: usize,
        size: usize,
    ) -> Result<usize, Errno> {
        let size = size as u32 as i32;
        if size <= 0 {
            return Err(Errno::EINVAL);
        }
        let path = self.read_cstr(path_va)?;
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        let found = self.lookup_path(dirfd, path.as_bytes(), false)?;
        let mut digits = [0u8; 10];
        let pid = decimal(self.pid, &mut digits);
        let text: Vec<u8> = match &found {
            Found::Proc(p) => {
                let rest = p.trim_start_matches("/proc/");
                let own_exe = rest
                    .strip_suffix("/exe")
                    .is_some_and(|q| q == "self" || q.as_bytes() == pid);
                if own_exe {
                    // The executable's file, by its path now (Linux's
                    // d_path of mm->exe_file, " (deleted)" once
                    // unlinked); the name it was run by if the file is
                    // gone from the root.
                    let mut v: Vec<u8> = Vec::new();
                    let mut named: Option<Result<(), Errno>> = None;
                    if let Some(id) = self.space.exe {
                        super::files::mapped_file(id, &mut |f| {
                            let suffix: &[u8] = if f.deleted { b" (deleted)" } else { b"" };
                            named = Some(
                                v.try_reserve_exact(f.path.len() + suffix.len())
                                    .map_err(|_| Errno::ENOMEM)
                                    .map(|()| {
                                        v.extend_from_slice(f.path.as_bytes());
                                        v.extend_from_slice(suffix);
                                    }),
                            );
                        });
                    }
                    match named {
                        Some(r) => r?,
                        None => {
                            v.try_reserve_exact(self.name.len())
                                .map_err(|_| Errno::ENOMEM)?;
                            v.extend_from_slice(self.name.as_bytes());
                        }
                    }
                    v
                } else if rest.trim_end_matches('/') == "self" {
                    let mut v = Vec::new();
                    v.try_reserve_exact(pid.len()).map_err(|_| Errno::ENOMEM)?;
                    v.extend_from_slice(pid);
                    v
                } else {
                    return Err(if proc_meta(p, self.pid, false).is_some() {
                        Errno::EINVAL
                    } else {
                        Errno::ENOENT
                    });
                }
            }
            Found::Inode(ino) => fs::with(|f| match f.get(*ino).map(|n| &n.node) {
                Some(tmpfs::Node::Symlink { target }) => {
                    let mut v = Vec::new();
                    v.try_reserve_exact(target.len())
                        .map_err(|_| Errno::ENOMEM)?;
                    v.extend_from_slice(target);
                    Ok(v)
                }
                _ => Err(Errno::EINVAL),
            })??,
        };
        let target = &text[..];
        let n = target.len().min(size as usize);
        self.write_user(buf, &target[..n])?;
        Ok(n)
    }

    /// fchdir(fd): the directory `fd` is open on.
    pub(super) fn fchdir(&mut self, fd: i32) -> Result<usize, Errno> {
        let Open::Inode { ino, obj: None } = *self.fd(fd)?.open() else {
            return Err(Errno::ENOTDIR);
        };
        self.set_cwd_to(&Found::Inode(ino))
    }

    /// getdents64(fd, buf, count): `struct linux_dirent64` records from
    /// the directory's position on ("." and ".." first); `EINVAL` if not
    /// even one fits, 0 at the end.
    pub(super) fn getdents64(&mut self, fd: i32, buf: usize, count: usize) -> Result<usize, Errno> {
        let f = self.fd(fd)?.clone();
        if let Open::Generated(g) = f.open() {
            let entries = g.dir_entries()?;
            self.access_ok(buf, count)?;
            return self.put_entries(&f, buf, count, |pos| {
                entries.get(pos).map(|e| DirEnt {
                    name: e.name,
                    ino: e.ino,
                    dtype: e.dtype,
                })
            });
        }
        let Open::Inode { ino, obj: None } = *f.open() else {
            return Err(Errno::ENOTDIR);
        };
        self.access_ok(buf, count)?;
        let mut out: Vec<u8> = Vec::new();
        out.try_reserve_exact(count.min(8192))
            .map_err(|_| Errno::ENOMEM)?;
        let mut pos = f.pos();
        let mut more = false;
        fs::with(|fsys| -> Result<(), Errno> {
            while let Some((name, i, mode)) = fsys.dir_entry(ino, pos)? {
                let reclen = dirent_len(name.len());
                if out.len() + reclen > count.min(8192) {
                    more = true;
                    break;
                }
                let e = DirEnt {
                    name,
                    ino: i,
                    dtype: ((mode & S_IFMT) >> 12) as u8,
                };
                put_dirent(&mut out, &e, pos as u64 + 1);
                pos += 1;
            }
            Ok(())
        })??;
        if out.is_empty() && more {
            return Err(Errno::EINVAL);
        }
        self.write_user(buf, &out)?;
        f.set_pos(pos);
        Ok(out.len())
    }

    /// getdents64's records from `entry(pos)` on (None: the end), as
    /// [`Self::getdents64`] writes them.
    fn put_entries<'e>(
        &mut self,
        f: &super::files::File,
        buf: usize,
        count: usize,
        entry: impl Fn(usize) -> Option<DirEnt<'e>>,
    ) -> Result<usize, Errno> {
        let mut out: Vec<u8> = Vec::new();
        out.try_reserve_exact(count.min(8192))
            .map_err(|_| Errno::ENOMEM)?;
        let mut pos = f.pos();
        let mut more = false;
        while let Some(e) = entry(pos) {
            if out.len() + dirent_len(e.name.len()) > count.min(8192) {
                more = true;
                break;
            }
            put_dirent(&mut out, &e, pos as u64 + 1);
            pos += 1;
        }
        if out.is_empty() && more {
            return Err(Errno::EINVAL);
        }
        self.write_user(buf, &out)?;
        f.set_pos(pos);
        Ok(out.len())
    }

    pub(super) fn umask(&mut self, mask: usize) -> Result<usize, Errno> {
        fsctx::set_umask(self.pid, mask as u32).map(|old| old as usize)
    }

    /// getrlimit / ugetrlimit (the ABI's `struct rlimit`).
    pub(super) fn getrlimit(&mut self, resource: usize, buf: usize) -> Result<usize, Errno> {
        let v = rlimit(resource as u32, self.layout.stack_size).ok_or(Errno::EINVAL)?;
        let (b, n) = rlimit_words(v, self.layout.word);
        self.write_user(buf, &b[..n])?;
        Ok(0)
    }

    /// setrlimit: the limits here are the kernel's own sizes; setting a
    /// limit to what it is succeeds, any change is `EPERM`.
    pub(super) fn setrlimit(&mut self, resource: usize, buf: usize) -> Result<usize, Errno> {
        let cur = rlimit(resource as u32, self.layout.stack_size).ok_or(Errno::EINVAL)?;
        let (_, n) = rlimit_words(cur, self.layout.word);
        let b = self.read_user(buf, n)?;
        let word = |i: usize| -> u64 {
            if n == 8 {
                let v = u32::from_le_bytes([b[i * 4], b[i * 4 + 1], b[i * 4 + 2], b[i * 4 + 3]]);
                if v == u32::MAX {
                    u64::MAX
                } else {
                    v as u64
                }
            } else {
                u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]))
            }
        };
        self.set_limit(cur, (word(0), word(1)))
    }

    fn set_limit(&self, cur: (u64, u64), new: (u64, u64)) -> Result<usize, Errno> {
        if new.0 > new.1 {
            return Err(Errno::EINVAL);
        }
        if new != cur {
            return Err(Errno::EPERM);
        }
        Ok(0)
    }

    /// prlimit64(pid, resource, new, old): 64-bit `struct rlimit64`; the
    /// caller's own limits only (another pid: `ESRCH`).
    pub(super) fn prlimit64(&mut self, a: [usize; 6]) -> Result<usize, Errno> {
        let (pid, resource, new, old) = (a[0] as i32, a[1] as u32, a[2], a[3]);
        let cur = rlimit(resource, self.layout.stack_size).ok_or(Errno::EINVAL)?;
        if pid != 0 && pid as u32 != self.pid {
            return Err(Errno::ESRCH);
        }
        if new != 0 {
            let b = self.read_user(new, 16)?;
            let s = u64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8]));
            let h = u64::from_le_bytes(b[8..].try_into().unwrap_or([0; 8]));
            self.set_limit(cur, (s, h))?;
        }
        if old != 0 {
            let (b, n) = rlimit_words(cur, WordSize::W64);
            self.write_user(old, &b[..n])?;
        }
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirent_layout() {
        // linux_dirent64: d_ino 0, d_off 8, d_reclen 16, d_type 18,
        // d_name 19; the record padded to 8 bytes.
        assert_eq!(dirent_len(1), 24);
        assert_eq!(dirent_len(4), 24);
        assert_eq!(dirent_len(5), 32);
        let mut out = Vec::new();
        put_dirent(
            &mut out,
            &DirEnt {
                name: b"sh",
                ino: 9,
                dtype: 10,
            },
            3,
        );
        assert_eq!(out.len(), 24);
        assert_eq!(u64::from_le_bytes(out[0..8].try_into().unwrap()), 9);
        assert_eq!(u64::from_le_bytes(out[8..16].try_into().unwrap()), 3);
        assert_eq!(u16::from_le_bytes([out[16], out[17]]), 24);
        assert_eq!(out[18], 10);
        assert_eq!(&out[19..22], b"sh\0");
    }

    #[test]
    fn decimal_pids() {
        let mut b = [0u8; 10];
        assert_eq!(decimal(0, &mut b), b"0");
        assert_eq!(decimal(32767, &mut b), b"32767");
        assert_eq!(decimal(u32::MAX, &mut b), b"4294967295");
    }

    #[test]
    fn limits_as_linux_reports_them() {
        // RLIMIT_NOFILE is the table (7), RLIMIT_STACK the stack VMA (3).
        assert_eq!(rlimit(7, 8 << 20), Some((64, 64)));
        assert_eq!(rlimit(3, 8 << 20), Some((8 << 20, u64::MAX)));
        assert_eq!(rlimit(4, 0), Some((0, u64::MAX)));
        assert_eq!(rlimit(16, 0), None, "RLIM_NLIMITS is 16: EINVAL");
        // ugetrlimit's 32-bit words: infinity is 0xffffffff.
        let (b, n) = rlimit_words((8 << 20, u64::MAX), WordSize::W32);
        assert_eq!(n, 8);
        assert_eq!(&b[..8], &[0, 0, 0x80, 0, 0xff, 0xff, 0xff, 0xff]);
        let (b, n) = rlimit_words((1, u64::MAX), WordSize::W64);
        assert_eq!(n, 16);
        assert_eq!(u64::from_le_bytes(b[8..16].try_into().unwrap()), u64::MAX);
    }

    #[test]
    fn access_rules_for_root() {
        let f = |mode| Meta::simple((0, 2), 5, mode, (0, 0), 1);
        let exe = f(S_IFREG | 0o755);
        let data = f(S_IFREG | 0o644);
        let dir = f(S_IFDIR | 0o700);
        // F_OK and R_OK: always, for root.
        assert_eq!(access_check(&data, 0), Ok(()));
        assert_eq!(access_check(&data, 4), Ok(()));
        // X_OK needs an x bit somewhere (a directory is searchable).
        assert_eq!(access_check(&exe, 1), Ok(()));
        assert_eq!(access_check(&data, 1), Err(Errno::EACCES));
        assert_eq!(access_check(&dir, 1), Ok(()));
        // W_OK: the root is writable now.
        assert_eq!(access_check(&data, 2), Ok(()));
        assert_eq!(access_check(&exe, 2), Ok(()));
    }

    #[test]
    fn proc_names() {
        let m = proc_meta("/proc/self/maps", 7, true).unwrap();
        assert_eq!(m.mode, S_IFREG | 0o444);
        assert_eq!(proc_meta("/proc/7/maps", 1, true), Some(m));
        assert!(proc_meta("/proc", 1, true).unwrap().is_dir());
        assert_eq!(
            proc_meta("/proc/self", 1, false).unwrap().mode & S_IFMT,
            S_IFLNK
        );
        assert!(proc_meta("/proc/self", 1, true).unwrap().is_dir());
        assert_eq!(proc_meta("/proc/x", 1, true), None);
        assert_eq!(proc_meta("/procx", 1, true), None);
        assert_eq!(proc_meta("/proc/1/status", 1, true), None);
    }
}
