//! The file-system calls on the root tmpfs (`crate::fs`): how a task's
//! paths resolve (from the root, the working directory or a directory
//! fd), and the calls that change names (mkdir, unlink, rmdir, rename,
//! link, symlink) or file sizes (truncate), plus positioned and vectored
//! I/O on regular files. Errors as Linux's man pages give them.

use super::files::{File, Open, AT_FDCWD, O_APPEND};
use super::{fsctx, Task};
use crate::errno::Errno;
use crate::fs::{self, data, tmpfs};
use crate::mm::shm::ShmId;
use alloc::string::String;
use alloc::vec::Vec;
use tmpfs::Ino;

const AT_REMOVEDIR: u32 = 0x200;
const AT_SYMLINK_FOLLOW: u32 = 0x400;
const AT_EMPTY_PATH: u32 = 0x1000;
const RENAME_NOREPLACE: u32 = 1;
const RENAME_EXCHANGE: u32 = 2;
const RENAME_WHITEOUT: u32 = 4;

/// Where a path leads.
pub enum Found {
    Inode(Ino),
    /// Into procfs: the path as procfs sees it ("/proc/...").
    Proc(String),
}

/// The time stamp for a change now (seconds since boot: there is no RTC).
pub fn now() -> tmpfs::Time {
    #[cfg(target_os = "none")]
    {
        use crate::arch::current::timer;
        let (t, f) = (timer::now(), timer::frequency().max(1));
        ((t / f) as i64, ((t % f) * 1_000_000_000 / f) as u32)
    }
    #[cfg(not(target_os = "none"))]
    {
        (0, 0)
    }
}

/// The file's data changed now: its modification and change times.
fn touch(ino: Ino) {
    let t = now();
    let _ = fs::with(|f| {
        if let Some(n) = f.get_mut(ino) {
            n.mtime = t;
            n.ctime = t;
        }
    });
}

/// Give the page cache object of a dead inode back.
pub fn release(obj: ShmId) {
    #[cfg(target_os = "none")]
    fs::release(obj, &mut fs::KernelPool);
    #[cfg(not(target_os = "none"))]
    let _ = obj;
}

/// Run `f` with the page cache's frame pool.
pub fn with_pool<R>(f: impl FnOnce(&mut dyn data::Pool) -> R) -> R {
    #[cfg(target_os = "none")]
    {
        f(&mut fs::KernelPool)
    }
    #[cfg(not(target_os = "none"))]
    {
        f(&mut NoPool)
    }
}

/// Host builds have no frames: every allocation fails.
#[cfg(not(target_os = "none"))]
struct NoPool;

#[cfg(not(target_os = "none"))]
impl data::Pool for NoPool {
    fn alloc_zeroed(&mut self) -> Result<u64, Errno> {
        Err(Errno::ENOMEM)
    }
    fn release(&mut self, _pa: u64) {}
    fn bytes(&mut self, _pa: u64) -> &mut [u8] {
        &mut []
    }
}

/// The path as procfs names it, when `path` from `start` enters /proc.
fn proc_path(fsys: &tmpfs::Tmpfs, start: Ino, path: &[u8]) -> Result<Option<String>, Errno> {
    let Some((tmpfs::Mount::Proc, rest)) = fsys.mount_split(start, path) else {
        return Ok(None);
    };
    let rest = core::str::from_utf8(rest).map_err(|_| Errno::ENOENT)?;
    let mut s = String::new();
    s.try_reserve_exact(rest.len() + 6)
        .map_err(|_| Errno::ENOMEM)?;
    s.push_str("/proc");
    if !rest.starts_with('/') && !rest.is_empty() {
        s.push('/');
    }
    s.push_str(rest);
    Ok(Some(s))
}

impl Task {
    /// The ABI's word size in bytes.
    pub(super) fn word(&self) -> usize {
        match self.layout.word {
            crate::loader::stack::WordSize::W32 => 4,
            crate::loader::stack::WordSize::W64 => 8,
        }
    }

    /// A 64-bit offset argument from argument `i` on: one register on
    /// AArch64, an aligned (even, odd) register pair on the ARM EABI
    /// (pread64's offset is in r4/r5, after a padding r3).
    pub(super) fn off64(&self, a: [usize; 6], i: usize) -> i64 {
        match self.layout.word {
            crate::loader::stack::WordSize::W64 => a[i] as i64,
            crate::loader::stack::WordSize::W32 => {
                let j = (i + 1) & !1;
                (a[j] as u32 as u64 | (a[j + 1] as u32 as u64) << 32) as i64
            }
        }
    }

    /// The directory a path starts from: the root for an absolute path,
    /// the working directory for `AT_FDCWD`, else the directory `dirfd`
    /// is open on (`ENOTDIR` if it is not one, `EBADF` if no fd).
    pub(super) fn start_dir(&self, dirfd: i32, path: &[u8]) -> Result<Ino, Errno> {
        if path.first() == Some(&b'/') {
            return Ok(tmpfs::ROOT);
        }
        if dirfd == AT_FDCWD {
            let cwd = fsctx::cwd(self.pid)?;
            return fs::with(|f| f.walk(tmpfs::ROOT, cwd.as_bytes(), true))?;
        }
        match self.fd(dirfd)?.open() {
            Open::Inode { ino, obj: None } => Ok(*ino),
            _ => Err(Errno::ENOTDIR),
        }
    }

    /// Resolve `path` from `dirfd`.
    pub(super) fn lookup_path(
        &self,
        dirfd: i32,
        path: &[u8],
        follow: bool,
    ) -> Result<Found, Errno> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        let start = self.start_dir(dirfd, path)?;
        fs::with(|f| {
            if let Some(p) = proc_path(f, start, path)? {
                return Ok(Found::Proc(p));
            }
            f.walk(start, path, follow).map(Found::Inode)
        })?
    }

    /// The directory that will hold the last component of `path` and
    /// that name (copied).
    pub(super) fn lookup_parent(&self, dirfd: i32, path: &[u8]) -> Result<(Ino, Vec<u8>), Errno> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        let start = self.start_dir(dirfd, path)?;
        fs::with(|f| {
            let (dir, name) = f.walk_parent(start, path)?;
            if f.mount_of(dir).is_some() {
                // Nothing is created or removed in procfs.
                return Err(Errno::EACCES);
            }
            let mut n = Vec::new();
            n.try_reserve_exact(name.len()).map_err(|_| Errno::ENOMEM)?;
            n.extend_from_slice(name);
            Ok((dir, n))
        })?
    }

    /// mkdir / mkdirat: permissions `mode & ~umask`.
    pub(super) fn mkdirat(
        &mut self,
        dirfd: i32,
        path_va: usize,
        mode: u32,
    ) -> Result<usize, Errno> {
        let path = self.read_cstr(path_va)?;
        let (dir, name) = self.lookup_parent(dirfd, path.as_bytes())?;
        let perm = mode & 0o7777 & !fsctx::umask(self.pid);
        fs::with(|f| f.create(dir, &name, perm, tmpfs::New::Dir, (0, 0), now()))??;
        Ok(0)
    }

    /// unlink / rmdir / unlinkat (`AT_REMOVEDIR`: rmdir).
    pub(super) fn unlinkat(
        &mut self,
        dirfd: i32,
        path_va: usize,
        flags: u32,
    ) -> Result<usize, Errno> {
        if flags & !AT_REMOVEDIR != 0 {
            return Err(Errno::EINVAL);
        }
        let path = self.read_cstr(path_va)?;
        let (dir, name) = self.lookup_parent(dirfd, path.as_bytes())?;
        let rmdir = flags & AT_REMOVEDIR != 0;
        if !rmdir && path.ends_with('/') {
            // unlink("file/"): the trailing slash asks for a directory.
            let is_dir = fs::with(|f| {
                f.lookup(dir, &name)
                    .map(|i| f.get(i).is_some_and(|n| n.is_dir()))
            })??;
            return Err(if is_dir {
                Errno::EISDIR
            } else {
                Errno::ENOTDIR
            });
        }
        if let Some(obj) = fs::with(|f| f.remove(dir, &name, rmdir, now()))?? {
            release(obj);
        }
        Ok(0)
    }

    /// rename / renameat / renameat2 (`RENAME_NOREPLACE`; exchange and
    /// whiteout are not supported here: `EINVAL`, as for a file system
    /// without them).
    pub(super) fn renameat2(
        &mut self,
        olddir: i32,
        old_va: usize,
        newdir: i32,
        new_va: usize,
        flags: u32,
    ) -> Result<usize, Errno> {
        if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) != 0
            || flags & (RENAME_NOREPLACE | RENAME_EXCHANGE) == RENAME_NOREPLACE | RENAME_EXCHANGE
            || flags & (RENAME_EXCHANGE | RENAME_WHITEOUT) != 0
        {
            return Err(Errno::EINVAL);
        }
        let old = self.read_cstr(old_va)?;
        let new = self.read_cstr(new_va)?;
        let (od, on) = self.lookup_parent(olddir, old.as_bytes())?;
        let (nd, nn) = self.lookup_parent(newdir, new.as_bytes())?;
        let dead = fs::with(|f| {
            if flags & RENAME_NOREPLACE != 0 && f.lookup(nd, &nn).is_ok() {
                return Err(Errno::EEXIST);
            }
            f.rename(od, &on, nd, &nn, now())
        })??;
        if let Some(obj) = dead {
            release(obj);
        }
        Ok(0)
    }

    /// link / linkat (`AT_SYMLINK_FOLLOW`, `AT_EMPTY_PATH`).
    pub(super) fn linkat(
        &mut self,
        olddir: i32,
        old_va: usize,
        newdir: i32,
        new_va: usize,
        flags: u32,
    ) -> Result<usize, Errno> {
        if flags & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0 {
            return Err(Errno::EINVAL);
        }
        let old = self.read_cstr(old_va)?;
        let new = self.read_cstr(new_va)?;
        let ino = if old.is_empty() && flags & AT_EMPTY_PATH != 0 {
            match self.fd(olddir)?.open() {
                Open::Inode { ino, .. } => *ino,
                _ => return Err(Errno::ENOENT),
            }
        } else {
            match self.lookup_path(olddir, old.as_bytes(), flags & AT_SYMLINK_FOLLOW != 0)? {
                Found::Inode(i) => i,
                Found::Proc(_) => return Err(Errno::EXDEV),
            }
        };
        let (nd, nn) = self.lookup_parent(newdir, new.as_bytes())?;
        fs::with(|f| f.link(ino, nd, &nn, now()))??;
        Ok(0)
    }

    /// symlink / symlinkat.
    pub(super) fn symlinkat(
        &mut self,
        target_va: usize,
        dirfd: i32,
        path_va: usize,
    ) -> Result<usize, Errno> {
        let target = self.read_cstr(target_va)?;
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        let path = self.read_cstr(path_va)?;
        let (dir, name) = self.lookup_parent(dirfd, path.as_bytes())?;
        let mut t = Vec::new();
        t.try_reserve_exact(target.len())
            .map_err(|_| Errno::ENOMEM)?;
        t.extend_from_slice(target.as_bytes());
        fs::with(|f| f.create(dir, &name, 0o777, tmpfs::New::Symlink(t), (0, 0), now()))??;
        Ok(0)
    }

    /// The page cache object of a regular file's inode.
    fn obj_of(ino: Ino) -> Result<ShmId, Errno> {
        fs::with(|f| match f.get(ino).map(|n| &n.node) {
            Some(tmpfs::Node::Reg { obj }) => Ok(*obj),
            Some(tmpfs::Node::Dir { .. }) => Err(Errno::EISDIR),
            Some(_) => Err(Errno::EINVAL),
            None => Err(Errno::ENOENT),
        })?
    }

    /// Set a regular file's size: the page cache, then every mapping of
    /// the pages past the new end in every process (Linux's
    /// `truncate_pagecache`), then the times.
    pub(super) fn set_size(&mut self, ino: Ino, obj: ShmId, size: u64) -> Result<(), Errno> {
        let old = crate::mm::shm::file_size(obj).unwrap_or(0);
        with_pool(|p| data::truncate(obj, size, p))?;
        if size < old {
            let first_gone = size.div_ceil(crate::syscall::mm_args::PAGE_SIZE as u64);
            super::truncate_hook(self, obj, first_gone as usize);
        }
        touch(ino);
        Ok(())
    }

    /// truncate / truncate64: by path (a regular file; `EISDIR` for a
    /// directory, `EINVAL` for a negative length).
    pub(super) fn truncate_path(&mut self, path_va: usize, len: i64) -> Result<usize, Errno> {
        if len < 0 {
            return Err(Errno::EINVAL);
        }
        let path = self.read_cstr(path_va)?;
        let Found::Inode(ino) = self.lookup_path(AT_FDCWD, path.as_bytes(), true)? else {
            return Err(Errno::EACCES);
        };
        let obj = Self::obj_of(ino)?;
        self.set_size(ino, obj, len as u64)?;
        Ok(0)
    }

    /// ftruncate / ftruncate64: the fd must be a regular file open for
    /// writing (`EINVAL` otherwise, `EBADF` if not open for writing... as
    /// Linux: `EINVAL` for a non-writable fd too).
    pub(super) fn ftruncate(&mut self, fd: i32, len: i64) -> Result<usize, Errno> {
        let f = self.fd(fd)?.clone();
        if len < 0 {
            return Err(Errno::EINVAL);
        }
        let Open::Inode {
            ino,
            obj: Some(obj),
        } = *f.open()
        else {
            return Err(Errno::EINVAL);
        };
        if f.flags() & crate::syscall::mm_args::O_ACCMODE == crate::syscall::mm_args::O_RDONLY {
            return Err(Errno::EINVAL);
        }
        self.set_size(ino, obj, len as u64)?;
        Ok(0)
    }

    /// Read from a regular file at `pos` into user memory at `buf`,
    /// straight from the cache frames (or the source) to the user pages.
    pub(super) fn file_read(
        &mut self,
        obj: ShmId,
        pos: u64,
        buf: usize,
        len: usize,
    ) -> Result<usize, Errno> {
        let mut done = 0;
        let r = with_pool(|p| {
            data::read_with(obj, pos, len, p, &mut |src, n| {
                // SAFETY: `src` is valid for `n` bytes (read_with's
                // contract) and nothing holds a `&mut` to it.
                let got = unsafe { self.copy_out_raw(buf + done, src, n) };
                done += got;
                got
            })
        });
        // Nothing copied although the file had bytes there: the user
        // buffer's first page could not be written.
        match r {
            Ok(0) if len > 0 && pos < crate::mm::shm::file_size(obj).unwrap_or(0) => {
                Err(Errno::EFAULT)
            }
            other => other,
        }
    }

    /// Write user memory at `buf` to a regular file at `pos`, straight from
    /// the user pages into the cache frames.
    pub(super) fn file_write(
        &mut self,
        ino: Ino,
        obj: ShmId,
        pos: u64,
        buf: usize,
        len: usize,
    ) -> Result<usize, Errno> {
        let mut done = 0;
        let r = with_pool(|p| {
            data::write_with(obj, pos, len, p, &mut |dst, n| {
                // SAFETY: `dst` is valid for `n` bytes of a cache frame
                // (write_with's contract) and no reference covers it.
                let got = unsafe { self.copy_in_raw(buf + done, dst, n) };
                done += got;
                got
            })
        });
        touch(ino);
        match r {
            Ok(0) if len > 0 => Err(Errno::EFAULT),
            other => other,
        }
    }

    /// `read`/`write` of an open regular file at its position (`O_APPEND`
    /// writes at the end), moving the position.
    pub(super) fn file_rw(
        &mut self,
        f: &File,
        write: bool,
        buf: usize,
        len: usize,
    ) -> Result<usize, Errno> {
        let Open::Inode {
            ino,
            obj: Some(obj),
        } = *f.open()
        else {
            return Err(Errno::EISDIR);
        };
        let mut pos = f.pos64();
        let n = if write {
            if f.flags() & O_APPEND != 0 {
                pos = crate::mm::shm::file_size(obj).unwrap_or(0);
            }
            self.file_write(ino, obj, pos, buf, len)?
        } else {
            self.file_read(obj, pos, buf, len)?
        };
        f.set_pos64(pos + n as u64);
        Ok(n)
    }

    /// pread64 / pwrite64: at `off`, the position unchanged; `ESPIPE` on
    /// pipes and ttys, `EINVAL` for a negative offset.
    pub(super) fn pread_pwrite(
        &mut self,
        write: bool,
        fd: i32,
        buf: usize,
        len: usize,
        off: i64,
    ) -> Result<usize, Errno> {
        let f = self.fd(fd)?.clone();
        let acc = f.flags() & crate::syscall::mm_args::O_ACCMODE;
        let ok = if write {
            acc != crate::syscall::mm_args::O_RDONLY
        } else {
            acc != crate::syscall::mm_args::O_WRONLY
        };
        if !ok {
            return Err(Errno::EBADF);
        }
        let (ino, obj) = match *f.open() {
            Open::Pipe(_) | Open::Console => return Err(Errno::ESPIPE),
            Open::Inode { obj: None, .. } => return Err(Errno::EISDIR),
            Open::Inode {
                ino,
                obj: Some(obj),
            } => (ino, obj),
            _ => return Err(Errno::EINVAL),
        };
        if off < 0 {
            return Err(Errno::EINVAL);
        }
        self.access_ok(buf, len)?;
        if write {
            self.file_write(ino, obj, off as u64, buf, len)
        } else {
            self.file_read(obj, off as u64, buf, len)
        }
    }
}
