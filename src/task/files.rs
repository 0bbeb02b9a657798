//! File descriptors: what an fd refers to, `open`, and the I/O calls.

use super::uaccess::CHUNK;
use super::{initramfs, Task};
use crate::errno::Errno;
use crate::loader;
use crate::syscall::mm_args::{self, FdKind};
use alloc::vec::Vec;

pub(super) const MAX_FDS: usize = 64;
pub(super) const AT_FDCWD: i32 = -100;
/// ARM and AArch64 value (`asm-generic` and arch/arm): 0o200000 is
/// `O_DIRECT` there, x86's `O_DIRECTORY`.
const O_DIRECTORY: u32 = 0o40000;
/// ARM and AArch64 value of `O_DIRECT`.
const O_DIRECT: u32 = 0o200000;
/// Linux's `MAX_RW_COUNT` (`INT_MAX & PAGE_MASK`): longer reads and
/// writes are cut to this.
const MAX_RW_COUNT: usize = 0x7FFF_F000;

/// An open file.
#[derive(Clone)]
pub enum File {
    Console,
    DevMem {
        flags: u32,
    },
    DevZero {
        flags: u32,
    },
    DevNull,
    /// A regular file of the initramfs (read-only).
    Ram {
        data: &'static [u8],
        pos: usize,
    },
    /// `/proc/<pid>/maps`: generated at each read from that process's
    /// address space (as Linux's seq_file does), read from `pos`.
    ProcMaps {
        pid: u32,
        pos: usize,
    },
}

impl File {
    pub(super) fn kind(&self) -> FdKind {
        match self {
            File::Console => FdKind::Console,
            File::DevMem { flags } => FdKind::DevMem { flags: *flags },
            File::DevZero { flags } => FdKind::DevZero { flags: *flags },
            File::DevNull => FdKind::Console,
            File::Ram { .. } | File::ProcMaps { .. } => FdKind::File { readable: true },
        }
    }
}

impl Task {
    pub(super) fn open(&mut self, path_va: usize, flags: u32) -> Result<usize, Errno> {
        let path = self.read_cstr(path_va)?;
        let acc = flags & mm_args::O_ACCMODE;
        let file = match path.as_str() {
            "/dev/mem" => File::DevMem { flags },
            "/dev/zero" => File::DevZero { flags },
            "/dev/null" => File::DevNull,
            "/dev/console" | "/dev/tty" | "/dev/ttyAMA0" => File::Console,
            p if p.starts_with("/proc/") => {
                let pid = proc_maps_pid(p, self.pid).ok_or(Errno::ENOENT)?;
                if acc != mm_args::O_RDONLY {
                    return Err(Errno::EACCES);
                }
                File::ProcMaps { pid, pos: 0 }
            }
            p => {
                let a = initramfs().ok_or(Errno::ENOENT)?;
                // Linux's path walk errors: ENOENT, ELOOP, ENOTDIR,
                // ENAMETOOLONG, ENOMEM (and EIO for a broken archive).
                let e = a
                    .lookup(p)
                    .map_err(|e| Errno::from(loader::LoadError::from(e)))?;
                if e.is_dir() {
                    if acc != mm_args::O_RDONLY {
                        return Err(Errno::EISDIR);
                    }
                    return Err(Errno::EACCES);
                }
                if flags & O_DIRECTORY != 0 {
                    return Err(Errno::ENOTDIR);
                }
                if acc != mm_args::O_RDONLY {
                    return Err(Errno::EROFS);
                }
                // The initramfs (Linux's ramfs/tmpfs root) has no direct
                // I/O: do_dentry_open refuses O_DIRECT with EINVAL.
                if flags & O_DIRECT != 0 {
                    return Err(Errno::EINVAL);
                }
                File::Ram {
                    data: e.data,
                    pos: 0,
                }
            }
        };
        let slot = match self.fds.iter().position(|f| f.is_none()) {
            Some(i) => i,
            None if self.fds.len() < MAX_FDS => {
                self.fds.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                self.fds.push(None);
                self.fds.len() - 1
            }
            None => return Err(Errno::EMFILE),
        };
        self.fds[slot] = Some(file);
        Ok(slot)
    }

    /// `write`: as Linux's `vfs_write`, the buffer range is checked whole
    /// (`access_ok`, `EFAULT`) and the length cut to `MAX_RW_COUNT`; a
    /// device that stops at an unreadable page returns what it wrote.
    pub(super) fn write(&mut self, fd: i32, buf: usize, len: usize) -> Result<usize, Errno> {
        let is_console = match self.fd(fd)? {
            File::Console => true,
            File::DevNull | File::DevZero { .. } => false,
            File::DevMem { .. } => return Err(Errno::EINVAL),
            File::Ram { .. } | File::ProcMaps { .. } => return Err(Errno::EBADF),
        };
        self.access_ok(buf, len)?;
        let len = len.min(MAX_RW_COUNT);
        if !is_console {
            // /dev/null and /dev/zero take everything unread.
            return Ok(len);
        }
        let mut tmp = [0u8; CHUNK];
        let mut done = 0;
        while done < len {
            let want = CHUNK.min(len - done);
            let got = self.copy_in(buf + done, &mut tmp[..want]);
            crate::console::write_bytes(&tmp[..got]);
            done += got;
            if got < want {
                return if done > 0 {
                    Ok(done)
                } else {
                    Err(Errno::EFAULT)
                };
            }
        }
        Ok(done)
    }

    /// `read` of generated text (`/proc`): from the fd's position on.
    pub fn read_generated(
        &mut self,
        fd: i32,
        text: &[u8],
        buf: usize,
        len: usize,
    ) -> Result<usize, Errno> {
        let pos = match self.fd(fd)? {
            File::ProcMaps { pos, .. } => *pos,
            _ => return Err(Errno::EBADF),
        };
        self.access_ok(buf, len)?;
        let data = text.get(pos..).unwrap_or(&[]);
        let n = len.min(MAX_RW_COUNT).min(data.len());
        let done = self.copy_out(buf, &data[..n]);
        if let Some(Some(File::ProcMaps { pos, .. })) =
            usize::try_from(fd).ok().and_then(|i| self.fds.get_mut(i))
        {
            *pos += done;
        }
        if done == 0 && n > 0 {
            return Err(Errno::EFAULT);
        }
        Ok(done)
    }

    /// The pid of a `/proc/<pid>/maps` fd of another process.
    pub fn other_proc_maps(&self, fd: i32) -> Option<u32> {
        match self.fd(fd) {
            Ok(File::ProcMaps { pid, .. }) if *pid != self.pid => Some(*pid),
            _ => None,
        }
    }

    /// `read`, with `write`'s range rules.
    pub(super) fn read(&mut self, fd: i32, buf: usize, len: usize) -> Result<usize, Errno> {
        enum Src {
            Console,
            Nothing,
            Zeros,
            Bytes(&'static [u8]),
        }
        // The fd and its kind first (EBADF, EINVAL), then the range.
        let src = match self.fd(fd)? {
            File::DevMem { .. } => return Err(Errno::EINVAL),
            File::DevNull => Src::Nothing,
            File::Console => Src::Console,
            File::DevZero { .. } => Src::Zeros,
            File::Ram { data, pos } => Src::Bytes(data.get(*pos..).unwrap_or(&[])),
            File::ProcMaps { pid, .. } => {
                let pid = *pid;
                if pid != self.pid {
                    // Another process's map: the process layer reads it.
                    return Err(Errno::ESRCH);
                }
                let text = maps_text(self)?;
                return self.read_generated(fd, &text, buf, len);
            }
        };
        self.access_ok(buf, len)?;
        let len = len.min(MAX_RW_COUNT);
        let (want, done) = match src {
            Src::Nothing => (0, 0),
            Src::Bytes(data) => {
                let n = len.min(data.len());
                (n, self.copy_out(buf, &data[..n]))
            }
            Src::Zeros => {
                let zeros = [0u8; CHUNK];
                let mut done = 0;
                while done < len {
                    let step = CHUNK.min(len - done);
                    let got = self.copy_out(buf + done, &zeros[..step]);
                    done += got;
                    if got < step {
                        break;
                    }
                }
                (len, done)
            }
            Src::Console => {
                // One line (or what is there), polled.
                let mut tmp = [0u8; CHUNK];
                let want = CHUNK.min(len);
                let mut n = 0;
                while n == 0 && want > 0 {
                    while let Some(b) = crate::console::read_byte() {
                        tmp[n] = if b == b'\r' { b'\n' } else { b };
                        n += 1;
                        if n == want || b == b'\r' || b == b'\n' {
                            break;
                        }
                    }
                    core::hint::spin_loop();
                }
                (n, self.copy_out(buf, &tmp[..n]))
            }
        };
        if let Some(Some(File::Ram { pos, .. })) =
            usize::try_from(fd).ok().and_then(|i| self.fds.get_mut(i))
        {
            *pos += done;
        }
        if done == 0 && want > 0 {
            return Err(Errno::EFAULT);
        }
        Ok(done)
    }

    pub(super) fn writev(
        &mut self,
        fd: i32,
        iov: usize,
        cnt: usize,
        word: usize,
    ) -> Result<usize, Errno> {
        // UIO_MAXIOV.
        if cnt > 1024 {
            return Err(Errno::EINVAL);
        }
        self.fd(fd)?;
        let raw = self.read_user(iov, cnt * 2 * word)?;
        let rd = |i: usize| -> usize {
            let b = &raw[i * word..(i + 1) * word];
            let mut v = 0usize;
            for (k, &x) in b.iter().enumerate() {
                v |= (x as usize) << (8 * k);
            }
            v
        };
        // rw_copy_check_uvector: every segment in user space, the total
        // within ssize_t, before anything is written.
        let mut sum = 0usize;
        for i in 0..cnt {
            let (base, len) = (rd(2 * i), rd(2 * i + 1));
            if len as isize as i64 > isize::MAX as i64 || (len as isize) < 0 {
                return Err(Errno::EINVAL);
            }
            self.access_ok(base, len)?;
            sum = sum
                .checked_add(len)
                .filter(|&s| s as isize >= 0)
                .ok_or(Errno::EINVAL)?;
        }
        let mut total = 0usize;
        for i in 0..cnt {
            let (base, len) = (rd(2 * i), rd(2 * i + 1));
            if len == 0 {
                continue;
            }
            match self.write(fd, base, len) {
                Ok(n) => {
                    total += n;
                    if n < len {
                        break;
                    }
                }
                Err(e) if total == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(total)
    }

    /// `close`.
    pub(super) fn close(&mut self, fd: i32) -> Result<usize, Errno> {
        match usize::try_from(fd).ok().and_then(|i| self.fds.get_mut(i)) {
            Some(slot @ Some(_)) => {
                *slot = None;
                Ok(0)
            }
            _ => Err(Errno::EBADF),
        }
    }
}

/// The pid a `/proc/self/maps` or `/proc/<pid>/maps` path names.
fn proc_maps_pid(path: &str, own: u32) -> Option<u32> {
    let rest = path.strip_prefix("/proc/")?.strip_suffix("/maps")?;
    if rest == "self" {
        return Some(own);
    }
    if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    rest.parse().ok()
}

/// A `fmt::Write` into a buffer reserved up front: it refuses to grow
/// (no allocation sized by the number of mappings may abort the kernel).
struct Bounded(Vec<u8>);

impl core::fmt::Write for Bounded {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        if self.0.len() + s.len() > self.0.capacity() {
            return Err(core::fmt::Error);
        }
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// `/proc/<pid>/maps` of `t`, in Linux's format (`AddressSpace::write_maps`).
pub fn maps_text(t: &Task) -> Result<Vec<u8>, Errno> {
    // A line is at most ~73 columns of fields plus the path.
    let per_line = 96 + t.name.len();
    let cap = t
        .space
        .vmas
        .iter()
        .count()
        .saturating_add(1)
        .saturating_mul(per_line);
    let mut v = Vec::new();
    v.try_reserve_exact(cap).map_err(|_| Errno::ENOMEM)?;
    let mut out = Bounded(v);
    let exe = crate::mm::space::MapsFile {
        path: &t.name,
        dev: (0, 0),
        ino: 0,
        sigpage: Some(t.layout.stack_top),
    };
    t.space
        .write_maps_of(&mut out, &exe)
        .map_err(|_| Errno::ENOMEM)?;
    Ok(out.0)
}
