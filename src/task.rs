//! User tasks: exec from the initramfs, file descriptors, and the Linux
//! syscalls, independent of the architecture. The architecture layer maps
//! its syscall numbers onto [`Sys`], moves registers in and out, and
//! provides the [`Mmu`] of each address space.

use crate::errno::Errno;
use crate::kprintln;
use crate::loader::{self, cpio, elf, stack};
use crate::mm::space::{Access2, AddressSpace, Advice, Mmu};
use crate::mm::vma::{ImageData, Vma, VmaKind};
use crate::syscall::mm_args::{self, FdKind, MmContext, Prot, PAGE_SIZE};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

/// Where the architecture puts things in a user address space.
#[derive(Clone, Copy, Debug)]
pub struct UserLayout {
    pub task_size: usize,
    pub stack_top: usize,
    pub stack_size: usize,
    pub mmap_lo: usize,
    pub mmap_hi: usize,
    pub machine: elf::Machine,
    pub word: stack::WordSize,
    pub platform: &'static [u8],
    pub hwcap: u64,
    pub hwcap2: Option<u64>,
    pub pie_bias: u64,
}

/// An open file.
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
}

impl File {
    fn kind(&self) -> FdKind {
        match self {
            File::Console => FdKind::Console,
            File::DevMem { flags } => FdKind::DevMem { flags: *flags },
            File::DevZero { flags } => FdKind::DevZero { flags: *flags },
            File::DevNull => FdKind::Console,
            File::Ram { .. } => FdKind::File { readable: true },
        }
    }
}

/// The Linux syscalls this kernel implements, by meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sys {
    Exit,
    ExitGroup,
    Read,
    Write,
    Writev,
    Open,
    OpenAt,
    Close,
    GetPid,
    Ioctl,
    Brk,
    Munmap,
    Mprotect,
    /// mmap2: offset in 4096-byte units (ARM EABI).
    Mmap2,
    /// mmap: offset in bytes (AArch64).
    Mmap,
    Madvise,
    Mremap,
    SetTidAddress,
    /// Handled by the architecture (thread pointer register).
    SetTls,
    Unknown(usize),
}

/// How a task ended.
pub enum Ended {
    Exited(i32),
    /// Killed by this signal number.
    Killed(i32),
}

pub enum Outcome {
    Return(isize),
    Exit(i32),
}

pub struct Task {
    pub pid: u32,
    pub name: String,
    pub space: AddressSpace,
    pub mmu: Box<dyn Mmu + Send>,
    pub fds: Vec<Option<File>>,
    pub layout: UserLayout,
    /// Syscall numbers already reported as unsupported (the first few:
    /// a fuzzer's random numbers must not grow kernel memory).
    reported: [usize; 16],
    reported_count: usize,
}

const MAX_FDS: usize = 64;
const AT_FDCWD: i32 = -100;
/// ARM and AArch64 value (`asm-generic` and arch/arm): 0o200000 is
/// `O_DIRECT` there, x86's `O_DIRECTORY`.
const O_DIRECTORY: u32 = 0o40000;
/// Linux's `PATH_MAX`, the terminating NUL included.
const PATH_MAX: usize = 4096;
/// Linux's `MAX_RW_COUNT` (`INT_MAX & PAGE_MASK`): longer reads and
/// writes are cut to this.
const MAX_RW_COUNT: usize = 0x7FFF_F000;
/// Bytes moved per step between user memory and a device: a stack
/// buffer, so no kernel allocation depends on a user-chosen length.
const CHUNK: usize = 256;

/// The initramfs everyone opens files from (unpacked once at boot).
static INITRAMFS: spin::Once<&'static [u8]> = spin::Once::new();

pub fn set_initramfs(bytes: &'static [u8]) {
    INITRAMFS.call_once(|| bytes);
}

fn initramfs() -> Option<cpio::Archive<'static>> {
    cpio::Archive::new(INITRAMFS.get()?).ok()
}

impl Task {
    /// Load `path` from the initramfs as a new task, Linux-style initial
    /// stack included. Returns the task, its entry point and stack pointer.
    pub fn exec(
        pid: u32,
        path: &str,
        argv: &[&[u8]],
        envp: &[&[u8]],
        layout: UserLayout,
        mut mmu: Box<dyn Mmu + Send>,
    ) -> Result<(Task, u64, u64), String> {
        use alloc::format;
        let bytes = INITRAMFS.get().ok_or_else(|| String::from("no initramfs"))?;
        let archive = cpio::Archive::new(bytes).map_err(|e| format!("initramfs: {e}"))?;
        let image = loader::find_file(&archive, path).map_err(|e| format!("{path}: {e}"))?;
        let plan = elf::plan(
            image,
            layout.machine,
            layout.task_size as u64,
            PAGE_SIZE as u64,
            layout.pie_bias,
        )
        .map_err(|e| format!("{path}: {e}"))?;
        let mut space = AddressSpace::new(layout.task_size, layout.mmap_lo, layout.mmap_hi);
        let fail = |space: &mut AddressSpace, mmu: &mut Box<dyn Mmu + Send>, msg: String| {
            space.teardown(mmu.as_mut());
            msg
        };
        for seg in &plan.segments {
            let start = (seg.vaddr as usize) & !(PAGE_SIZE - 1);
            let end = ((seg.vaddr + seg.memsz) as usize + PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
            let prot = Prot {
                read: seg.perms.read,
                write: seg.perms.write,
                exec: seg.perms.exec,
            };
            let bytes = &image[seg.file_offset as usize..(seg.file_offset + seg.filesz) as usize];
            // A writable segment is private writable memory: Linux's
            // loader accounts it (elf_map / vm_brk_flags) and refuses one
            // larger than RAM.
            if prot.write && AddressSpace::enough_memory(mmu.as_ref(), end - start).is_err() {
                let msg = format!(
                    "{path}: segment at {start:#x}: {} MiB is more than the RAM ({} MiB): out of memory (ENOMEM)",
                    (end - start) >> 20,
                    (mmu.total_frames() * PAGE_SIZE) >> 20
                );
                return Err(fail(&mut space, &mut mmu, msg));
            }
            // Pages come in on first touch, from the file bytes (zero for
            // .bss), as Linux maps segments.
            let kind = VmaKind::Image(ImageData {
                bytes,
                va: seg.vaddr as usize,
            });
            if let Err(e) = space.vmas.insert(Vma {
                start,
                end,
                prot,
                kind,
            }) {
                return Err(fail(
                    &mut space,
                    &mut mmu,
                    format!("{path}: segment at {start:#x}: {}", e.name()),
                ));
            }
        }
        let brk = (plan.highest as usize + PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
        space.brk_start = brk;
        space.brk = brk;

        // The stack: a lazily filled VMA; the initial image is written now.
        let top = layout.stack_top;
        let rw = Prot {
            read: true,
            write: true,
            exec: false,
        };
        if space
            .vmas
            .insert(Vma {
                start: top - layout.stack_size,
                end: top,
                prot: rw,
                kind: VmaKind::Stack,
            })
            .is_err()
        {
            return Err(fail(
                &mut space,
                &mut mmu,
                format!("{path}: stack overlaps the image"),
            ));
        }
        let auxv = stack::linux_auxv(&plan, PAGE_SIZE as u64, layout.hwcap, layout.hwcap2);
        let spec = stack::StackSpec {
            stack_top: top as u64,
            word: layout.word,
            argv,
            envp,
            execfn: path.as_bytes(),
            auxv: &auxv,
            random: random_bytes(pid),
            platform: Some(layout.platform),
            max_size: (layout.stack_size / 4) as u64,
        };
        let st = match stack::build(&spec) {
            Ok(s) => s,
            Err(e) => return Err(fail(&mut space, &mut mmu, format!("{path}: stack: {e:?}"))),
        };
        let mut off = 0usize;
        let base = st.sp as usize;
        while off < st.image.len() {
            let va = base + off;
            let page = va & !(PAGE_SIZE - 1);
            if space.fault(mmu.as_mut(), va, Access2::Write).is_err() {
                return Err(fail(&mut space, &mut mmu, format!("{path}: stack page")));
            }
            let pa = mmu.lookup(page).unwrap_or(0);
            let n = (page + PAGE_SIZE - va).min(st.image.len() - off);
            mmu.fill_frame(pa, va - page, &st.image[off..off + n]);
            off += n;
        }
        let mut fds: Vec<Option<File>> = Vec::new();
        for _ in 0..3 {
            fds.push(Some(File::Console));
        }
        let task = Task {
            pid,
            name: String::from(path),
            space,
            mmu,
            fds,
            layout,
            reported: [0; 16],
            reported_count: 0,
        };
        Ok((task, plan.entry, st.sp))
    }

    /// Release every frame of the address space.
    pub fn teardown(&mut self) {
        self.space.teardown(self.mmu.as_mut());
    }

    fn fd(&self, fd: i32) -> Result<&File, Errno> {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.fds.get(i))
            .and_then(|f| f.as_ref())
            .ok_or(Errno::EBADF)
    }

    /// Make `[va, va+len)` present with `access`, as the CPU would fault it
    /// in; EFAULT where the task itself would get SIGSEGV.
    fn prefault(&mut self, va: usize, len: usize, access: Access2) -> Result<(), Errno> {
        if len == 0 {
            return Ok(());
        }
        let end = va
            .checked_add(len)
            .filter(|&e| e <= self.layout.task_size)
            .ok_or(Errno::EFAULT)?;
        let mut p = va & !(PAGE_SIZE - 1);
        while p < end {
            let v = self.space.vmas.find(p).copied().ok_or(Errno::EFAULT)?;
            let ok = match access {
                Access2::Write => v.prot.write,
                _ => v.prot.read || v.prot.write,
            };
            if !ok {
                return Err(Errno::EFAULT);
            }
            if self.mmu.lookup(p).is_none() {
                self.space
                    .fault(self.mmu.as_mut(), p, access)
                    .map_err(|_| Errno::EFAULT)?;
            }
            p += PAGE_SIZE;
        }
        Ok(())
    }

    /// Linux's `access_ok`: the whole range lies in user space.
    fn access_ok(&self, va: usize, len: usize) -> Result<(), Errno> {
        va.checked_add(len)
            .filter(|&e| e <= self.layout.task_size)
            .map(|_| ())
            .ok_or(Errno::EFAULT)
    }

    /// copy_from_user into a new buffer (fallible: `ENOMEM` if the heap
    /// cannot hold it; callers bound `len`).
    pub fn read_user(&mut self, va: usize, len: usize) -> Result<Vec<u8>, Errno> {
        self.prefault(va, len, Access2::Read)?;
        let mut v = Vec::new();
        v.try_reserve_exact(len).map_err(|_| Errno::ENOMEM)?;
        v.resize(len, 0);
        // SAFETY: every page of [va, va+len) is a present, readable user
        // mapping of the current task (TTBR0), so PL1 can read it.
        unsafe { core::ptr::copy_nonoverlapping(va as *const u8, v.as_mut_ptr(), len) };
        Ok(v)
    }

    /// copy_to_user.
    pub fn write_user(&mut self, va: usize, data: &[u8]) -> Result<(), Errno> {
        self.prefault(va, data.len(), Access2::Write)?;
        // SAFETY: every page is present and writable by the user, hence by PL1.
        unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), va as *mut u8, data.len()) };
        Ok(())
    }

    /// copy_from_user of at most `dst.len()` bytes, stopping at the first
    /// page the task could not read: returns how many bytes were copied.
    fn copy_in(&mut self, va: usize, dst: &mut [u8]) -> usize {
        let mut done = 0;
        while done < dst.len() {
            let p = va + done;
            let n = (PAGE_SIZE - p % PAGE_SIZE).min(dst.len() - done);
            if self.prefault(p, n, Access2::Read).is_err() {
                break;
            }
            // SAFETY: [p, p+n) lies in one present, readable user page.
            unsafe { core::ptr::copy_nonoverlapping(p as *const u8, dst[done..].as_mut_ptr(), n) };
            done += n;
        }
        done
    }

    /// copy_to_user, stopping at the first page the task could not write:
    /// returns how many bytes were copied.
    fn copy_out(&mut self, va: usize, src: &[u8]) -> usize {
        let mut done = 0;
        while done < src.len() {
            let p = va + done;
            let n = (PAGE_SIZE - p % PAGE_SIZE).min(src.len() - done);
            if self.prefault(p, n, Access2::Write).is_err() {
                break;
            }
            // SAFETY: [p, p+n) lies in one present, user-writable page.
            unsafe { core::ptr::copy_nonoverlapping(src[done..].as_ptr(), p as *mut u8, n) };
            done += n;
        }
        done
    }

    /// strncpy_from_user of a path: `EFAULT` if it runs into memory the
    /// task cannot read (or past user space), `ENAMETOOLONG` if there is
    /// no NUL within `PATH_MAX` bytes.
    fn read_cstr(&mut self, va: usize) -> Result<String, Errno> {
        let mut s = Vec::new();
        s.try_reserve_exact(PATH_MAX).map_err(|_| Errno::ENOMEM)?;
        let mut tmp = [0u8; CHUNK];
        while s.len() < PATH_MAX {
            let p = va.checked_add(s.len()).ok_or(Errno::EFAULT)?;
            let want = CHUNK.min(PATH_MAX - s.len());
            let want = want.min(self.layout.task_size.saturating_sub(p));
            if want == 0 {
                return Err(Errno::EFAULT);
            }
            let got = self.copy_in(p, &mut tmp[..want]);
            if let Some(n) = tmp[..got].iter().position(|&b| b == 0) {
                s.extend_from_slice(&tmp[..n]);
                return String::from_utf8(s).map_err(|_| Errno::ENOENT);
            }
            if got < want {
                return Err(Errno::EFAULT);
            }
            s.extend_from_slice(&tmp[..got]);
        }
        Err(Errno::ENAMETOOLONG)
    }

    fn open(&mut self, path_va: usize, flags: u32) -> Result<usize, Errno> {
        let path = self.read_cstr(path_va)?;
        let acc = flags & mm_args::O_ACCMODE;
        let file = match path.as_str() {
            "/dev/mem" => File::DevMem { flags },
            "/dev/zero" => File::DevZero { flags },
            "/dev/null" => File::DevNull,
            "/dev/console" | "/dev/tty" | "/dev/ttyAMA0" => File::Console,
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
    fn write(&mut self, fd: i32, buf: usize, len: usize) -> Result<usize, Errno> {
        let is_console = match self.fd(fd)? {
            File::Console => true,
            File::DevNull | File::DevZero { .. } => false,
            File::DevMem { .. } => return Err(Errno::EINVAL),
            File::Ram { .. } => return Err(Errno::EBADF),
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

    /// `read`, with `write`'s range rules.
    fn read(&mut self, fd: i32, buf: usize, len: usize) -> Result<usize, Errno> {
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

    fn writev(&mut self, fd: i32, iov: usize, cnt: usize, word: usize) -> Result<usize, Errno> {
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

    fn mmap(&mut self, a: [usize; 6], offset: u64) -> Result<usize, Errno> {
        // Fixed-size copies: no allocation on the mmap path.
        let mut windows = [(0u64, 0u64); 16];
        let nwin = crate::board::DEVICE_WINDOWS.len().min(windows.len());
        for (w, &(s, e, _)) in windows.iter_mut().zip(crate::board::DEVICE_WINDOWS) {
            *w = (s, e);
        }
        let fds = &self.fds;
        let lookup = |fd: i32| {
            usize::try_from(fd)
                .ok()
                .and_then(|i| fds.get(i))
                .and_then(|f| f.as_ref().map(File::kind))
        };
        let ctx = MmContext {
            task_size: self.layout.task_size,
            device_windows: &windows[..nwin],
            fd: &lookup,
        };
        let req = mm_args::decode_mmap(
            a[0],
            a[1],
            a[2] as u32,
            a[3] as u32,
            a[4] as i32,
            offset,
            &ctx,
        )?;
        self.space.mmap(self.mmu.as_mut(), &req)
    }

    /// Perform one syscall.
    pub fn syscall(&mut self, sys: Sys, a: [usize; 6]) -> Outcome {
        let r: Result<usize, Errno> = match sys {
            Sys::Exit | Sys::ExitGroup => return Outcome::Exit(a[0] as i32),
            Sys::Write => self.write(a[0] as i32, a[1], a[2]),
            Sys::Writev => {
                let word = match self.layout.word {
                    stack::WordSize::W32 => 4,
                    stack::WordSize::W64 => 8,
                };
                self.writev(a[0] as i32, a[1], a[2], word)
            }
            Sys::Read => self.read(a[0] as i32, a[1], a[2]),
            Sys::Open => self.open(a[0], a[1] as u32),
            Sys::OpenAt => {
                if a[0] as i32 != AT_FDCWD && self.fd(a[0] as i32).is_err() {
                    Err(Errno::EBADF)
                } else {
                    self.open(a[1], a[2] as u32)
                }
            }
            Sys::Close => match usize::try_from(a[0] as i32)
                .ok()
                .and_then(|i| self.fds.get_mut(i))
            {
                Some(slot @ Some(_)) => {
                    *slot = None;
                    Ok(0)
                }
                _ => Err(Errno::EBADF),
            },
            Sys::GetPid => Ok(self.pid as usize),
            Sys::SetTidAddress => Ok(self.pid as usize),
            Sys::Ioctl => self.fd(a[0] as i32).and(Err(Errno::ENOTTY)),
            Sys::Brk => Ok(self.space.brk(self.mmu.as_mut(), a[0])),
            Sys::Munmap => {
                mm_args::decode_munmap(a[0], a[1], self.layout.task_size).and_then(|r| match r {
                    Some(r) => self.space.munmap(self.mmu.as_mut(), r).map(|_| 0),
                    None => Ok(0),
                })
            }
            Sys::Mprotect => {
                mm_args::decode_mprotect(a[0], a[1], a[2] as u32, self.layout.task_size).and_then(
                    |r| match r {
                        Some((r, prot)) => {
                            self.space.mprotect(self.mmu.as_mut(), r, prot).map(|_| 0)
                        }
                        None => Ok(0),
                    },
                )
            }
            Sys::Mmap2 => self.mmap(a, (a[5] as u64) << 12),
            Sys::Mmap => self.mmap(a, a[5] as u64),
            Sys::Madvise => self.madvise(a[0], a[1], a[2]),
            Sys::Mremap => mm_args::decode_mremap(a[0], a[1], a[2], a[3] as u32, a[4])
                .and_then(|r| self.space.mremap(self.mmu.as_mut(), r)),
            Sys::SetTls => Ok(0),
            Sys::Unknown(n) => {
                let seen = &self.reported[..self.reported_count];
                if !seen.contains(&n) && self.reported_count < self.reported.len() {
                    self.reported[self.reported_count] = n;
                    self.reported_count += 1;
                    kprintln!(
                        "task {} ({}): syscall {n} not implemented: ENOSYS",
                        self.pid,
                        self.name
                    );
                }
                Err(Errno::ENOSYS)
            }
        };
        Outcome::Return(match r {
            Ok(v) => v as isize,
            Err(e) => e.as_return(),
        })
    }

    /// `madvise`, with do_madvise's argument checks in Linux's order.
    fn madvise(&mut self, addr: usize, len: usize, advice: usize) -> Result<usize, Errno> {
        let advice = Advice::from_linux(advice).ok_or(Errno::EINVAL)?;
        if addr % PAGE_SIZE != 0 {
            return Err(Errno::EINVAL);
        }
        let len = len.checked_add(PAGE_SIZE - 1).ok_or(Errno::EINVAL)? & !(PAGE_SIZE - 1);
        let end = addr.checked_add(len).ok_or(Errno::EINVAL)?;
        if end == addr {
            return Ok(0);
        }
        let r = mm_args::RangeRequest { start: addr, end };
        self.space.madvise(self.mmu.as_mut(), r, advice)?;
        Ok(0)
    }
}

/// 16 bytes for AT_RANDOM: from the counter, mixed (not cryptographic;
/// there is no entropy source on this board).
fn random_bytes(seed: u32) -> [u8; 16] {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ seed as u64 ^ crate::arch::counter();
    let mut out = [0u8; 16];
    for chunk in out.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes());
    }
    out
}

/// The running task (one at a time).
pub static CURRENT: spin::Mutex<Option<Task>> = spin::Mutex::new(None);

/// Run a syscall for the current task. The lock is released on return, so
/// the caller may then leave the task for good.
pub fn current_syscall(sys: Sys, a: [usize; 6]) -> Outcome {
    let mut g = CURRENT.lock();
    g.as_mut().expect("current task").syscall(sys, a)
}

/// What became of a user abort.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// A lazy page is now mapped: return to the task.
    Resolved,
    /// A real fault: the task gets the fault's signal.
    Signal,
    /// The access was allowed but no frame is left: an out-of-memory kill
    /// (SIGKILL, as Linux's OOM killer).
    OutOfMemory,
}

/// A user abort: a translation fault inside a mapping that allows the
/// access is resolved (lazy allocation); anything else is a signal.
pub fn current_resolve_fault(info: &crate::mm::fault::FaultInfo, access: Access2) -> Resolution {
    if info.kind != crate::mm::fault::FaultKind::Translation {
        return Resolution::Signal;
    }
    let mut g = CURRENT.lock();
    let Some(task) = g.as_mut() else {
        return Resolution::Signal;
    };
    if info.addr as usize >= task.layout.task_size {
        return Resolution::Signal;
    }
    let Task { space, mmu, .. } = task;
    match space.fault(mmu.as_mut(), info.addr as usize, access) {
        Ok(()) => Resolution::Resolved,
        Err(Errno::ENOMEM) => Resolution::OutOfMemory,
        Err(_) => Resolution::Signal,
    }
}

/// Linux's signal number for SIGKILL.
pub const SIGKILL: i32 = 9;

/// Report an out-of-memory kill of the current task; returns the value
/// that makes `run` report `Ended::Killed(SIGKILL)`.
pub fn current_oom_killed(info: &crate::mm::fault::FaultInfo) -> i32 {
    let g = CURRENT.lock();
    if let Some(t) = g.as_ref() {
        kprintln!(
            "task {} ({}) killed: out of memory (SIGKILL): no free frame for a {} at 0x{:08x} pc=0x{:08x}; {} MiB mapped",
            t.pid,
            t.name,
            info.access.name(),
            info.addr,
            info.pc,
            t.space.vmas.mapped_bytes() >> 20
        );
    }
    -SIGKILL
}

/// Report the kill of the current task; returns the value that makes
/// `run` report `Ended::Killed(signal)`.
pub fn current_killed(info: &crate::mm::fault::FaultInfo) -> i32 {
    let g = CURRENT.lock();
    if let Some(t) = g.as_ref() {
        kprintln!("task {} ({}) killed: {info}", t.pid, t.name);
    }
    -info.signal().number()
}

/// Take the finished task out and release its memory.
pub fn finish_current() {
    let task = CURRENT.lock().take();
    if let Some(mut t) = task {
        t.teardown();
    }
}
