//! File descriptors: what an fd refers to, `open`, the I/O calls, and
//! the fd table's own calls (dup, dup2, dup3, fcntl, pipe2, lseek).

use super::pipe::{self, End, ReadStep, WriteStep};
use super::shared::Shared;
use super::uaccess::CHUNK;
use super::vfs::Found;
use super::Task;
use crate::errno::Errno;
use crate::syscall::mm_args::{self, FdKind};
use alloc::vec::Vec;

/// Size of the fd table (Linux's default `RLIMIT_NOFILE` soft limit is
/// 1024; this kernel's table is smaller and reports its size as the
/// limit, so user space sees one consistent bound).
pub(super) const MAX_FDS: usize = 64;
pub(super) const AT_FDCWD: i32 = -100;
/// ARM and AArch64 value (`asm-generic` and arch/arm): 0o200000 is
/// `O_DIRECT` there, x86's `O_DIRECTORY`.
const O_DIRECTORY: u32 = 0o40000;
/// ARM and AArch64 value of `O_DIRECT`.
const O_DIRECT: u32 = 0o200000;
pub(super) const O_CREAT: u32 = 0o100;
pub(super) const O_EXCL: u32 = 0o200;
const O_NOCTTY: u32 = 0o400;
const O_TRUNC: u32 = 0o1000;
pub(super) const O_APPEND: u32 = 0o2000;
pub(super) const O_NONBLOCK: u32 = 0o4000;
const FASYNC: u32 = 0o20000;
/// ARM and AArch64 value (arch/arm64/include/uapi/asm/fcntl.h).
const O_LARGEFILE: u32 = 0o400000;
const O_NOATIME: u32 = 0o1000000;
/// ARM and AArch64 value (0o400000 on x86).
const O_NOFOLLOW: u32 = 0o100000;
pub(super) const O_CLOEXEC: u32 = 0o2000000;
/// The flags F_SETFL may change (Linux's `SETFL_MASK`).
const SETFL_MASK: u32 = O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME | FASYNC;
/// Linux's `MAX_RW_COUNT` (`INT_MAX & PAGE_MASK`): longer reads and
/// writes are cut to this.
const MAX_RW_COUNT: usize = 0x7FFF_F000;

use super::procfs::ProcFile;

/// An open file (Linux's open file description, by kind).
pub enum Open {
    Console,
    /// A character device with a driver (`drivers::chardev`: `/dev/mem`,
    /// `/dev/dmabuf0`), and the driver's per-open word
    /// (`file->private_data`); I/O goes to the driver (`task::devio`).
    Driver {
        node: crate::drivers::chardev::Node,
        private: crate::drivers::chardev::PrivateData,
    },
    DevZero,
    DevNull,
    /// A regular file (`obj`: its page cache) or a directory (`obj`
    /// None) of the root file system; the inode is kept alive while open.
    Inode {
        ino: crate::fs::tmpfs::Ino,
        obj: Option<crate::mm::shm::ShmId>,
    },
    /// A generated `/proc` file (`/proc/meminfo`, `/proc/iomem`, a
    /// property under `/proc/device-tree`): made at each read.
    Generated(ProcFile),
    /// `/proc/<pid>/maps`: generated at each read from that process's
    /// address space (as Linux's seq_file does), read from the position.
    ProcMaps {
        pid: u32,
    },
    /// One end of a pipe.
    Pipe(End),
}

/// An open file description (Linux's `struct file`): what is open, its
/// position and status flags, shared by every fd dup'ed or inherited
/// from the same open (dup(2): "they refer to the same open file
/// description and thus share file offset and file status flags").
pub struct Desc {
    pub open: Open,
    /// (position, `open`'s flags without the creation ones). 64 bits:
    /// a file may be larger than 4 GiB on a 32-bit machine.
    state: spin::Mutex<(u64, u32)>,
}

impl Drop for Desc {
    /// The last fd of an open file description closed: the inode may die.
    fn drop(&mut self) {
        if let Open::Inode { ino, .. } = self.open {
            if let Ok(Some(obj)) = crate::fs::with(|f| f.closed(ino)) {
                super::vfs::release(obj);
            }
        }
    }
}

/// An fd: the open file description and the fd's own close-on-exec flag.
#[derive(Clone)]
pub struct File {
    desc: Shared<Desc>,
    pub cloexec: bool,
}

impl File {
    /// A new open file description (`ENOMEM` if it cannot be had).
    pub fn new(open: Open, flags: u32) -> Result<File, Errno> {
        Ok(File {
            desc: Shared::try_new(Desc {
                open,
                state: spin::Mutex::new((
                    0,
                    flags & !(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC),
                )),
            })?,
            cloexec: flags & O_CLOEXEC != 0,
        })
    }

    /// The console as init gets it on fds 0-2 (opened read-write).
    pub fn console() -> Result<File, Errno> {
        File::new(Open::Console, mm_args::O_RDWR)
    }

    pub fn open(&self) -> &Open {
        &self.desc.open
    }

    /// The status flags (`F_GETFL`).
    pub fn flags(&self) -> u32 {
        self.desc.state.lock().1
    }

    pub(super) fn set_flags(&self, flags: u32) {
        self.desc.state.lock().1 = flags;
    }

    /// The position, for the kinds whose positions are indexes
    /// (directories, generated text): saturated to `usize`.
    pub fn pos(&self) -> usize {
        usize::try_from(self.pos64()).unwrap_or(usize::MAX)
    }

    pub(super) fn set_pos(&self, pos: usize) {
        self.set_pos64(pos as u64);
    }

    pub fn pos64(&self) -> u64 {
        self.desc.state.lock().0
    }

    pub(super) fn set_pos64(&self, pos: u64) {
        self.desc.state.lock().0 = pos;
    }

    /// Whether two fds share one open file description.
    pub fn same_desc(&self, other: &File) -> bool {
        Shared::ptr_eq(&self.desc, &other.desc)
    }

    pub(super) fn kind(&self) -> FdKind<'_> {
        match self.open() {
            Open::Console => FdKind::Console,
            // What is mapped over the driver's range: filled in by mmap.
            Open::Driver { node, private } => FdKind::Driver {
                dev: node.dev,
                flags: self.flags(),
                private,
                mapped: crate::drivers::chardev::MappedTypes::NONE,
            },
            Open::DevZero => FdKind::DevZero {
                flags: self.flags(),
            },
            Open::DevNull => FdKind::Console,
            Open::Inode { ino, obj: Some(id) } => FdKind::Regular {
                id: *id,
                flags: self.flags(),
                ino: *ino,
                dev: crate::fs::ROOT_DEV,
            },
            Open::Inode { obj: None, .. } | Open::ProcMaps { .. } | Open::Generated(_) => {
                FdKind::File { readable: true }
            }
            Open::Pipe(end) => FdKind::File {
                readable: !end.write,
            },
        }
    }

    /// Whether this fd is the console (a terminal).
    pub fn is_console(&self) -> bool {
        matches!(self.open(), Open::Console)
    }

    /// The pipe this fd is an end of, if it is.
    pub fn pipe_end(&self) -> Option<&End> {
        match self.open() {
            Open::Pipe(e) => Some(e),
            _ => None,
        }
    }
}

/// One step of a read or write on a pipe (the scheduler sleeps between
/// steps: `sched::pipe_rw`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PipeStep {
    /// Done: the syscall returns this.
    Done(usize),
    /// This many bytes moved; more to write.
    Moved(usize),
    /// Nothing can move now: sleep on this key (`Wait::Pipe`).
    Block(usize),
    /// Write with no reader: `EPIPE` and `SIGPIPE`.
    Broken,
}

// poll(2) events (asm-generic/poll.h).
pub const POLLIN: u16 = 0x1;
pub const POLLOUT: u16 = 0x4;
pub const POLLERR: u16 = 0x8;
pub const POLLHUP: u16 = 0x10;
pub const POLLNVAL: u16 = 0x20;
pub const POLLRDNORM: u16 = 0x40;
pub const POLLWRNORM: u16 = 0x100;

/// What `poll` sees on an open file (Linux's `f_op->poll` masks): plain
/// files and the memory devices are always ready (`DEFAULT_POLLMASK`); a
/// pipe's read end is readable with data, hung up with no writer left;
/// its write end writable with room, in error with no reader left.
pub fn poll_mask(open: &Open, console_in: bool) -> u16 {
    const DEFAULT: u16 = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;
    match open {
        Open::Console => {
            let rd = if console_in { POLLIN | POLLRDNORM } else { 0 };
            rd | POLLOUT | POLLWRNORM
        }
        Open::Driver { .. }
        | Open::DevZero
        | Open::DevNull
        | Open::Inode { .. }
        | Open::ProcMaps { .. }
        | Open::Generated(_) => DEFAULT,
        Open::Pipe(end) => {
            let p = end.pipe.lock();
            if end.write {
                let mut m = 0;
                if p.len() < pipe::CAPACITY {
                    m |= POLLOUT | POLLWRNORM;
                }
                if p.readers == 0 {
                    m |= POLLERR;
                }
                m
            } else {
                let mut m = 0;
                if !p.is_empty() {
                    m |= POLLIN | POLLRDNORM;
                }
                if p.writers == 0 {
                    m |= POLLHUP;
                }
                m
            }
        }
    }
}

/// The lowest free slot from `min` in `fds` (grown fallibly up to
/// `MAX_FDS`); `EMFILE` if none.
pub(super) fn free_slot(fds: &mut Vec<Option<File>>, min: usize) -> Result<usize, Errno> {
    if let Some(i) = fds.iter().skip(min).position(|f| f.is_none()) {
        return Ok(min + i);
    }
    let want = fds.len().max(min) + 1;
    if want > MAX_FDS {
        return Err(Errno::EMFILE);
    }
    fds.try_reserve(want - fds.len())
        .map_err(|_| Errno::ENOMEM)?;
    fds.resize(want, None);
    Ok(want - 1)
}

/// Put `f` at slot `i` (growing the table), returning what was there.
pub(super) fn install(
    fds: &mut Vec<Option<File>>,
    i: usize,
    f: File,
) -> Result<Option<File>, Errno> {
    if i >= MAX_FDS {
        return Err(Errno::EBADF);
    }
    if i >= fds.len() {
        fds.try_reserve(i + 1 - fds.len())
            .map_err(|_| Errno::ENOMEM)?;
        fds.resize(i + 1, None);
    }
    Ok(fds[i].replace(f))
}

// fcntl commands (asm-generic/fcntl.h, linux/fcntl.h).
const F_DUPFD: usize = 0;
const F_GETFD: usize = 1;
const F_SETFD: usize = 2;
const F_GETFL: usize = 3;
const F_SETFL: usize = 4;
const F_DUPFD_CLOEXEC: usize = 1030;
const FD_CLOEXEC: usize = 1;

/// The fd-table rules of dup2/dup3 (old valid; new in range; dup3 refuses
/// old == new and flags other than O_CLOEXEC), pure for host tests.
pub(super) fn dup3_check(
    fds: &[Option<File>],
    old: i32,
    new: i32,
    flags: Option<u32>,
) -> Result<(), Errno> {
    if let Some(f) = flags {
        if f & !O_CLOEXEC != 0 {
            return Err(Errno::EINVAL);
        }
        if old == new {
            return Err(Errno::EINVAL);
        }
    }
    if new < 0 || new as usize >= MAX_FDS {
        return Err(Errno::EBADF);
    }
    match usize::try_from(old).ok().and_then(|i| fds.get(i)) {
        Some(Some(_)) => Ok(()),
        _ => Err(Errno::EBADF),
    }
}

impl Task {
    /// `open`/`openat`/`creat`: `path_va` relative to `dirfd`, with
    /// Linux's flag rules (`O_CREAT`/`O_EXCL`/`O_TRUNC`/`O_DIRECTORY`/
    /// `O_NOFOLLOW`); new files get `mode & ~umask`.
    pub(super) fn open(
        &mut self,
        dirfd: i32,
        path_va: usize,
        flags: u32,
        mode: u32,
    ) -> Result<usize, Errno> {
        use crate::fs::{self, tmpfs};
        let path = self.read_cstr(path_va)?;
        let acc = flags & mm_args::O_ACCMODE;
        let follow = flags & O_NOFOLLOW == 0;
        let found = if flags & O_CREAT != 0 {
            let (dir, name) = self.lookup_parent(dirfd, path.as_bytes())?;
            if path.ends_with('/') {
                return Err(Errno::EISDIR);
            }
            match fs::with(|f| f.lookup(dir, &name))? {
                Ok(_) if flags & O_EXCL != 0 => return Err(Errno::EEXIST),
                Ok(ino) => {
                    let target = fs::with(|f| match f.get(ino).map(|n| &n.node) {
                        Some(tmpfs::Node::Symlink { .. }) if follow => f.walk(dir, &name, true),
                        _ => Ok(ino),
                    })??;
                    Found::Inode(target)
                }
                Err(Errno::ENOENT) => {
                    let perm = mode & 0o7777 & !super::fsctx::umask(self.pid);
                    let obj = crate::mm::shm::create_file(&[])?;
                    let now = super::vfs::now();
                    let r =
                        fs::with(|f| f.create(dir, &name, perm, tmpfs::New::Reg(obj), (0, 0), now));
                    match r {
                        Ok(Ok(ino)) => Found::Inode(ino),
                        Ok(Err(e)) | Err(e) => {
                            super::vfs::release(obj);
                            return Err(e);
                        }
                    }
                }
                Err(e) => return Err(e),
            }
        } else {
            self.lookup_path(dirfd, path.as_bytes(), follow)?
        };
        let open = match found {
            Found::Proc(p) => {
                if acc != mm_args::O_RDONLY {
                    return Err(Errno::EACCES);
                }
                if let Some(g) = super::procfs::ProcFile::open(&p) {
                    let g = g?;
                    if flags & O_DIRECTORY != 0 && !g.is_dir() {
                        return Err(Errno::ENOTDIR);
                    }
                    Open::Generated(g)
                } else {
                    let pid = proc_maps_pid(&p, self.pid).ok_or(Errno::ENOENT)?;
                    Open::ProcMaps { pid }
                }
            }
            Found::Inode(ino) => {
                enum Kind {
                    Dir,
                    Reg(crate::mm::shm::ShmId),
                    Link,
                    Chr((u32, u32)),
                    Fifo,
                }
                let kind = fs::with(|f| match f.get(ino).map(|n| &n.node) {
                    Some(tmpfs::Node::Dir { .. }) => Ok(Kind::Dir),
                    Some(tmpfs::Node::Reg { obj }) => Ok(Kind::Reg(*obj)),
                    Some(tmpfs::Node::Symlink { .. }) => Ok(Kind::Link),
                    Some(tmpfs::Node::Chr { rdev }) => Ok(Kind::Chr(*rdev)),
                    Some(tmpfs::Node::Fifo) => Ok(Kind::Fifo),
                    None => Err(Errno::ENOENT),
                })??;
                match kind {
                    Kind::Dir => {
                        if acc != mm_args::O_RDONLY || flags & O_CREAT != 0 {
                            return Err(Errno::EISDIR);
                        }
                        return self.open_inode(ino, None, flags);
                    }
                    _ if flags & O_DIRECTORY != 0 => return Err(Errno::ENOTDIR),
                    // O_NOFOLLOW on a symlink (without O_PATH).
                    Kind::Link => return Err(Errno::ELOOP),
                    Kind::Fifo => return Err(Errno::ENXIO),
                    Kind::Chr(rdev) => match rdev {
                        _ if super::devio::driver_of(rdev).is_some() => {
                            super::devio::open_rdev(rdev, flags)?
                        }
                        (1, 3) => Open::DevNull,
                        (1, 5) => Open::DevZero,
                        (5, 0) | (5, 1) | (204, 64) => Open::Console,
                        // A node no driver answers.
                        _ => return Err(Errno::ENXIO),
                    },
                    Kind::Reg(obj) => {
                        // tmpfs has no direct I/O: do_dentry_open refuses
                        // O_DIRECT with EINVAL.
                        if flags & O_DIRECT != 0 {
                            return Err(Errno::EINVAL);
                        }
                        if flags & O_TRUNC != 0 {
                            self.set_size(ino, obj, 0)?;
                        }
                        return self.open_inode(ino, Some(obj), flags);
                    }
                }
            }
        };
        let file = File::new(open, flags)?;
        self.install_new(file)
    }

    /// A new open file description of an inode of the root (its open
    /// count taken; dropping the description gives it back) at a new fd.
    fn open_inode(
        &mut self,
        ino: crate::fs::tmpfs::Ino,
        obj: Option<crate::mm::shm::ShmId>,
        flags: u32,
    ) -> Result<usize, Errno> {
        crate::fs::with(|f| f.opened(ino))??;
        let file = match File::new(Open::Inode { ino, obj }, flags) {
            Ok(f) => f,
            Err(e) => {
                if let Ok(Some(o)) = crate::fs::with(|f| f.closed(ino)) {
                    super::vfs::release(o);
                }
                return Err(e);
            }
        };
        self.install_new(file)
    }

    /// Put a new open file at the lowest free fd (AArch64's open always
    /// sets `O_LARGEFILE`: `force_o_largefile`).
    fn install_new(&mut self, file: File) -> Result<usize, Errno> {
        if let crate::loader::stack::WordSize::W64 = self.layout.word {
            file.set_flags(file.flags() | O_LARGEFILE);
        }
        let slot = free_slot(&mut self.fds, 0)?;
        self.fds[slot] = Some(file);
        Ok(slot)
    }

    /// `write`: as Linux's `vfs_write`, the buffer range is checked whole
    /// (`access_ok`, `EFAULT`) and the length cut to `MAX_RW_COUNT`; a
    /// device that stops at an unreadable page returns what it wrote.
    pub(super) fn write(&mut self, fd: i32, buf: usize, len: usize) -> Result<usize, Errno> {
        let f = self.fd(fd)?;
        if f.flags() & mm_args::O_ACCMODE == mm_args::O_RDONLY && !matches!(f.open(), Open::Console)
        {
            return Err(Errno::EBADF);
        }
        let is_console = match f.open() {
            Open::Console => true,
            Open::DevNull | Open::DevZero => false,
            Open::Driver { .. } => {
                let f = f.clone();
                return self.driver_write(&f, buf, len);
            }
            Open::ProcMaps { .. } | Open::Generated(_) => return Err(Errno::EBADF),
            Open::Inode { .. } => {
                self.access_ok(buf, len)?;
                let f = f.clone();
                return self.file_rw(&f, true, buf, len.min(MAX_RW_COUNT));
            }
            Open::Pipe(_) => {
                // Without the scheduler (writev): one step, never a sleep.
                return match self.pipe_step(true, fd, buf, len, len)? {
                    PipeStep::Done(n) | PipeStep::Moved(n) => Ok(n),
                    PipeStep::Block(_) => Err(Errno::EAGAIN),
                    PipeStep::Broken => {
                        let sig = pipe::SIGPIPE;
                        let _ = self.signals.send(sig, super::signal::SigInfo::kernel(sig));
                        Err(Errno::EPIPE)
                    }
                };
            }
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

    /// One step of `read`/`write` on the pipe end `fd`: move what can
    /// move now, `left` bytes at `buf` of a write of `total`. Reads end
    /// after any data; `O_NONBLOCK` turns a block into `EAGAIN`.
    pub fn pipe_step(
        &mut self,
        write: bool,
        fd: i32,
        buf: usize,
        left: usize,
        total: usize,
    ) -> Result<PipeStep, Errno> {
        // A handle of our own: the fd table is borrowed again below.
        let f = self.fd(fd)?.clone();
        let end = f.pipe_end().ok_or(Errno::EBADF)?;
        let nonblock = f.flags() & O_NONBLOCK != 0;
        if end.write != write {
            return Err(Errno::EBADF);
        }
        self.access_ok(buf, left)?;
        let left = left.min(MAX_RW_COUNT);
        let key = end.key();
        // Nothing (more) can move: sleep, or with O_NONBLOCK return what
        // moved (EAGAIN if nothing did).
        let would_block = |moved: usize| match (nonblock, moved) {
            (false, _) => Ok(PipeStep::Block(key)),
            (true, 0) => Err(Errno::EAGAIN),
            (true, n) => Ok(PipeStep::Done(n)),
        };
        let mut p = end.pipe.lock();
        if !write {
            return match p.read_step(left) {
                ReadStep::Eof => Ok(PipeStep::Done(0)),
                ReadStep::Empty => would_block(0),
                ReadStep::Data(0) => Ok(PipeStep::Done(0)),
                ReadStep::Data(n) => {
                    let mut done = 0;
                    let mut tmp = [0u8; CHUNK];
                    while done < n {
                        let k = p.peek(&mut tmp[..CHUNK.min(n - done)]);
                        let got = self.copy_out(buf + done, &tmp[..k]);
                        p.consume(got);
                        done += got;
                        if got < k {
                            break;
                        }
                    }
                    if done == 0 {
                        return Err(Errno::EFAULT);
                    }
                    Ok(PipeStep::Done(done))
                }
            };
        }
        match p.write_step(left, total) {
            WriteStep::Broken => Ok(PipeStep::Broken),
            WriteStep::Full => would_block(total - left),
            WriteStep::Room(n) => {
                let mut done = 0;
                let mut tmp = [0u8; CHUNK];
                while done < n {
                    let want = CHUNK.min(n - done);
                    let got = self.copy_in(buf + done, &mut tmp[..want]);
                    if !p.push(&tmp[..got]) {
                        // Linux: -ENOMEM when no page could be had.
                        return if done > 0 {
                            Ok(PipeStep::Moved(done))
                        } else {
                            Err(Errno::ENOMEM)
                        };
                    }
                    done += got;
                    if got < want {
                        return if done > 0 {
                            Ok(PipeStep::Done(total - left + done))
                        } else {
                            Err(Errno::EFAULT)
                        };
                    }
                }
                if done == left {
                    Ok(PipeStep::Done(total))
                } else {
                    Ok(PipeStep::Moved(done))
                }
            }
        }
    }

    /// `read` of generated text (`/proc`): from the fd's position on.
    pub fn read_generated(
        &mut self,
        fd: i32,
        text: &[u8],
        buf: usize,
        len: usize,
    ) -> Result<usize, Errno> {
        let f = self.fd(fd)?.clone();
        if !matches!(f.open(), Open::ProcMaps { .. } | Open::Generated(_)) {
            return Err(Errno::EBADF);
        }
        let pos = f.pos();
        self.access_ok(buf, len)?;
        let data = text.get(pos..).unwrap_or(&[]);
        let n = len.min(MAX_RW_COUNT).min(data.len());
        let done = self.copy_out(buf, &data[..n]);
        f.set_pos(pos + done);
        if done == 0 && n > 0 {
            return Err(Errno::EFAULT);
        }
        Ok(done)
    }

    /// The pid of a `/proc/<pid>/maps` fd of another process.
    pub fn other_proc_maps(&self, fd: i32) -> Option<u32> {
        match self.fd(fd).map(|f| f.open()) {
            Ok(Open::ProcMaps { pid, .. }) if *pid != self.pid => Some(*pid),
            _ => None,
        }
    }

    /// `read`, with `write`'s range rules.
    pub(super) fn read(&mut self, fd: i32, buf: usize, len: usize) -> Result<usize, Errno> {
        enum Src {
            Nothing,
            Zeros,
        }
        // The fd and its kind first (EBADF, EINVAL), then the range.
        let f = self.fd(fd)?.clone();
        if f.flags() & mm_args::O_ACCMODE == mm_args::O_WRONLY && !matches!(f.open(), Open::Console)
        {
            return Err(Errno::EBADF);
        }
        let src = match f.open() {
            Open::Driver { .. } => return self.driver_read(&f, buf, len),
            Open::Inode { obj: None, .. } => return Err(Errno::EISDIR),
            Open::Inode { .. } => {
                self.access_ok(buf, len)?;
                return self.file_rw(&f, false, buf, len.min(MAX_RW_COUNT));
            }
            Open::Generated(g) => {
                let text = g.text()?;
                return self.read_generated(fd, &text, buf, len);
            }
            Open::DevNull => Src::Nothing,
            // Blocking reads sleep in the scheduler (sched::console_read);
            // here one step, never a sleep.
            Open::Console => {
                return match self.console_read_step(fd, buf, len)? {
                    super::tty::ConsoleRead::Done(n) => Ok(n),
                    super::tty::ConsoleRead::Block(_) => Err(Errno::EAGAIN),
                };
            }
            Open::DevZero => Src::Zeros,
            Open::ProcMaps { pid, .. } => {
                let pid = *pid;
                if pid != self.pid {
                    // Another process's map: the process layer reads it.
                    return Err(Errno::ESRCH);
                }
                let text = maps_text(self)?;
                return self.read_generated(fd, &text, buf, len);
            }
            Open::Pipe(_) => {
                return match self.pipe_step(false, fd, buf, len, len)? {
                    PipeStep::Done(n) | PipeStep::Moved(n) => Ok(n),
                    _ => Err(Errno::EAGAIN),
                };
            }
        };
        self.access_ok(buf, len)?;
        let len = len.min(MAX_RW_COUNT);
        let (want, done) = match src {
            Src::Nothing => (0, 0),
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
        };
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
        self.iov_rw(true, fd, iov, cnt, word)
    }

    /// readv: each segment in turn through `read`, stopping at a short one.
    pub(super) fn readv(
        &mut self,
        fd: i32,
        iov: usize,
        cnt: usize,
        word: usize,
    ) -> Result<usize, Errno> {
        self.iov_rw(false, fd, iov, cnt, word)
    }

    /// readv/writev: the `struct iovec` array checked whole first
    /// (`rw_copy_check_uvector`), then each segment through `read` or
    /// `write`, stopping at a short one.
    fn iov_rw(
        &mut self,
        write: bool,
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
            let r = if write {
                self.write(fd, base, len)
            } else {
                self.read(fd, base, len)
            };
            match r {
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

    /// `dup`: the lowest free fd, close-on-exec clear.
    pub(super) fn dup(&mut self, fd: i32) -> Result<usize, Errno> {
        let mut f = self.fd(fd)?.clone();
        f.cloexec = false;
        let slot = free_slot(&mut self.fds, 0)?;
        self.fds[slot] = Some(f);
        Ok(slot)
    }

    /// `dup2` (`flags` None) and `dup3`: `new` closed silently first;
    /// dup2 of an fd onto itself only checks it.
    pub(super) fn dup3(&mut self, old: i32, new: i32, flags: Option<u32>) -> Result<usize, Errno> {
        dup3_check(&self.fds, old, new, flags)?;
        if old == new {
            return Ok(new as usize);
        }
        let mut f = self.fd(old)?.clone();
        f.cloexec = flags.unwrap_or(0) & O_CLOEXEC != 0;
        let gone = install(&mut self.fds, new as usize, f)?;
        drop(gone);
        Ok(new as usize)
    }

    /// `fcntl`/`fcntl64`: F_DUPFD(_CLOEXEC), F_GETFD/F_SETFD, F_GETFL/
    /// F_SETFL; other commands (locks, leases, owners...) are `EINVAL`.
    pub(super) fn fcntl(&mut self, fd: i32, cmd: usize, arg: usize) -> Result<usize, Errno> {
        let f = self.fd(fd)?;
        match cmd {
            F_DUPFD | F_DUPFD_CLOEXEC => {
                // Linux: arg >= RLIMIT_NOFILE is EINVAL (an int argument).
                let min = arg as u32 as usize;
                if min >= MAX_FDS {
                    return Err(Errno::EINVAL);
                }
                let mut f = f.clone();
                f.cloexec = cmd == F_DUPFD_CLOEXEC;
                let slot = free_slot(&mut self.fds, min)?;
                self.fds[slot] = Some(f);
                Ok(slot)
            }
            F_GETFD => Ok(if f.cloexec { FD_CLOEXEC } else { 0 }),
            F_SETFD => {
                let c = arg & FD_CLOEXEC != 0;
                if let Some(Some(f)) = usize::try_from(fd).ok().and_then(|i| self.fds.get_mut(i)) {
                    f.cloexec = c;
                }
                Ok(0)
            }
            F_GETFL => Ok(f.flags() as usize),
            F_SETFL => {
                let arg = arg as u32;
                // O_DIRECT needs direct I/O, which no file here has.
                if arg & O_DIRECT != 0 && matches!(f.open(), Open::Inode { .. }) {
                    return Err(Errno::EINVAL);
                }
                f.set_flags((f.flags() & !SETFL_MASK) | (arg & SETFL_MASK));
                Ok(0)
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// `pipe2(fds, flags)` (`pipe` is flags 0): two fds, written as two
    /// ints; nothing is installed if they cannot be written (`EFAULT`).
    pub(super) fn pipe2(&mut self, va: usize, flags: u32) -> Result<usize, Errno> {
        if flags & !(O_CLOEXEC | O_NONBLOCK | O_DIRECT) != 0 {
            return Err(Errno::EINVAL);
        }
        self.access_ok(va, 8)?;
        let r = free_slot(&mut self.fds, 0)?;
        // Reserve r while looking for the second.
        let (re, we) = pipe::new_pipe()?;
        let keep = flags & (O_CLOEXEC | O_NONBLOCK | O_DIRECT);
        let rf = File::new(Open::Pipe(re), mm_args::O_RDONLY | keep)?;
        let wf = File::new(Open::Pipe(we), mm_args::O_WRONLY | keep)?;
        self.fds[r] = Some(rf);
        let w = match free_slot(&mut self.fds, 0) {
            Ok(w) => w,
            Err(e) => {
                self.fds[r] = None;
                return Err(e);
            }
        };
        self.fds[w] = Some(wf);
        let mut b = [0u8; 8];
        b[..4].copy_from_slice(&(r as i32).to_le_bytes());
        b[4..].copy_from_slice(&(w as i32).to_le_bytes());
        if let Err(e) = self.write_user(va, &b) {
            self.fds[r] = None;
            self.fds[w] = None;
            return Err(e);
        }
        Ok(0)
    }

    /// `lseek`: regular files and /proc text move; pipes and the console
    /// (a tty) cannot seek (`ESPIPE`); /dev/null and /dev/zero stay at 0.
    pub(super) fn lseek(&mut self, fd: i32, off: i64, whence: u32) -> Result<u64, Errno> {
        const SEEK_SET: u32 = 0;
        const SEEK_CUR: u32 = 1;
        const SEEK_END: u32 = 2;
        let f = self.fd(fd)?;
        let pos = f.pos64() as i64;
        let size = match f.open() {
            Open::Pipe(_) | Open::Console => return Err(Errno::ESPIPE),
            Open::DevNull | Open::DevZero => {
                if whence > SEEK_END {
                    return Err(Errno::EINVAL);
                }
                return Ok(0);
            }
            Open::Inode { obj: Some(obj), .. } => {
                Some(crate::mm::shm::file_size(*obj).unwrap_or(0) as i64)
            }
            // seq_file, directories and drivers (mem.c's memory_lseek):
            // SEEK_SET and SEEK_CUR only.
            Open::ProcMaps { .. }
            | Open::Inode { obj: None, .. }
            | Open::Generated(_)
            | Open::Driver { .. } => None,
        };
        let new = match (whence, size) {
            (SEEK_SET, _) => Some(off),
            (SEEK_CUR, _) => pos.checked_add(off),
            (SEEK_END, Some(s)) => s.checked_add(off),
            _ => return Err(Errno::EINVAL),
        };
        let new = new.filter(|&n| n >= 0).ok_or(Errno::EINVAL)?;
        f.set_pos64(new as u64);
        Ok(new as u64)
    }

    /// One pass of poll(2) over `nfds` `struct pollfd` (8 bytes: fd,
    /// events, revents) at `va`: every `revents` written back. Returns how
    /// many are ready and whether one waits for console input (which
    /// nothing wakes: the caller polls it again at each tick).
    pub fn poll_scan(&mut self, va: usize, nfds: usize) -> Result<(usize, bool), Errno> {
        // Linux: nfds past RLIMIT_NOFILE is EINVAL.
        if nfds > MAX_FDS {
            return Err(Errno::EINVAL);
        }
        let mut raw = [0u8; MAX_FDS * 8];
        let raw = &mut raw[..nfds * 8];
        if nfds > 0 {
            let got = self.read_user(va, nfds * 8)?;
            raw.copy_from_slice(&got);
        }
        let mut ready = 0;
        let mut console_wait = false;
        for pfd in raw.chunks_mut(8) {
            let fd = i32::from_le_bytes([pfd[0], pfd[1], pfd[2], pfd[3]]);
            let events = u16::from_le_bytes([pfd[4], pfd[5]]);
            let revents = if fd < 0 {
                0
            } else {
                match self.fd(fd) {
                    Err(_) => POLLNVAL,
                    Ok(f) => {
                        let wants_in = events & (POLLIN | POLLRDNORM) != 0;
                        let console = matches!(f.open(), Open::Console);
                        let ready_in = console && wants_in && super::tty::console_readable();
                        console_wait |= console && wants_in && !ready_in;
                        poll_mask(f.open(), ready_in) & (events | POLLERR | POLLHUP)
                    }
                }
            };
            pfd[6..8].copy_from_slice(&revents.to_le_bytes());
            if revents != 0 {
                ready += 1;
            }
        }
        if nfds > 0 {
            self.write_user(va, raw)?;
        }
        Ok((ready, console_wait))
    }

    /// execve: the fds marked close-on-exec go. Returns whether a pipe
    /// end was among them (its sleepers must be woken).
    pub fn close_on_exec(&mut self) -> bool {
        let mut pipe = false;
        for slot in self.fds.iter_mut() {
            if slot.as_ref().is_some_and(|f| f.cloexec) {
                pipe |= slot.as_ref().is_some_and(|f| f.pipe_end().is_some());
                *slot = None;
            }
        }
        pipe
    }
}

/// `/proc/meminfo` as Linux's `meminfo_proc_show` starts it: each
/// field `%-16s%8lu kB` ("MemTotal:" padded), from the frame allocator.
/// MemAvailable is the free memory (nothing here is reclaimable).
pub fn meminfo_text() -> Result<Vec<u8>, Errno> {
    use core::fmt::Write as _;
    #[cfg(target_os = "none")]
    let (free, total) = crate::arch::current::api::frames();
    #[cfg(not(target_os = "none"))]
    let (free, total) = (0usize, 0usize);
    let mut v = Vec::new();
    v.try_reserve_exact(256).map_err(|_| Errno::ENOMEM)?;
    let mut out = Bounded(v);
    for (name, frames) in [
        ("MemTotal:", total),
        ("MemFree:", free),
        ("MemAvailable:", free),
    ] {
        writeln!(out, "{:<16}{:>8} kB", name, frames * 4).map_err(|_| Errno::ENOMEM)?;
    }
    Ok(out.0)
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

/// A `fmt::Write` into a buffer that grows fallibly (`try_reserve`): no
/// allocation sized by the number of mappings or the paths may abort the
/// kernel; one that fails ends the text with an error.
pub(super) struct Bounded(pub(super) Vec<u8>);

impl core::fmt::Write for Bounded {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0.try_reserve(s.len()).map_err(|_| core::fmt::Error)?;
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// The file whose page cache is the object `id`, as `/proc` names it
/// (Linux's `d_path`): `found` is called once with its path (the path it
/// had when unlinked, flagged deleted), device and inode, or not at all
/// if no inode of the root holds the object any more.
pub fn mapped_file(
    id: crate::mm::shm::ShmId,
    found: &mut dyn FnMut(&crate::mm::space::MappedFile),
) {
    let _ = crate::fs::with(|f| {
        let Some(ino) = f.find_obj(id) else { return };
        let path = f.path_of(ino).ok().flatten();
        let deleted = path.is_none();
        let gone = f.get(ino).and_then(|n| n.gone_path.as_deref());
        found(&crate::mm::space::MappedFile {
            path: path.as_deref().or(gone).unwrap_or(""),
            dev: f.dev,
            ino,
            deleted,
        });
    });
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
    let files = |id: crate::mm::shm::ShmId,
                 found: &mut dyn FnMut(&crate::mm::space::MappedFile)| {
        mapped_file(id, found)
    };
    t.space
        .write_maps_files(&mut out, &exe, &files)
        .map_err(|_| Errno::ENOMEM)?;
    Ok(out.0)
}
