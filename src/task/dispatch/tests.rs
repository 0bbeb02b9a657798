use super::super::{File, UserLayout};
use super::*;
use crate::loader::elf;
use crate::mm::audit::Mapping;
use crate::mm::memtype::MapAttrs;
use crate::mm::space::{AddressSpace, Mmu};
use alloc::boxed::Box;
use alloc::string::String;
use std::collections::BTreeMap;

/// A table as a map va -> pa of 4 KiB pages; frames from a counter.
#[derive(Default)]
struct PageMap {
    pages: BTreeMap<usize, u64>,
    next: u64,
}

impl Mmu for PageMap {
    fn map(&mut self, va: usize, pa: u64, size: usize, _: MapAttrs) -> Result<(), Errno> {
        for off in (0..size).step_by(4096) {
            self.pages.insert(va + off, pa + off as u64);
        }
        Ok(())
    }
    fn split(&mut self, _: usize) -> Result<(), Errno> {
        Ok(())
    }
    fn unmap(&mut self, va: usize, size: usize, _: bool) -> Result<(), Errno> {
        self.pages.retain(|&v, _| v < va || v >= va + size);
        Ok(())
    }
    fn protect(&mut self, _: usize, _: usize, _: MapAttrs) -> Result<(), Errno> {
        Ok(())
    }
    fn lookup(&self, va: usize) -> Option<u64> {
        self.pages.get(&(va & !4095)).copied()
    }
    fn alloc_zeroed(&mut self, size: usize) -> Result<u64, Errno> {
        self.next += size as u64;
        Ok(self.next)
    }
    fn free_frame(&mut self, _: u64) {}
    unsafe fn fill_frame(&mut self, _: u64, _: usize, _: &[u8]) {}
    unsafe fn copy_frame(&mut self, _: u64, _: u64, _: bool) {}
    fn section_size(&self) -> usize {
        1 << 20
    }
    fn walk(&self, _: &mut dyn FnMut(&Mapping)) {}
    fn total_frames(&self) -> usize {
        (512 << 20) / 4096
    }
}

const TASK_SIZE: usize = 0x8000_0000;

fn task() -> Task {
    let layout = UserLayout {
        task_size: TASK_SIZE,
        stack_top: 0x7F00_0000,
        stack_size: 8 << 20,
        mmap_lo: 0x1_0000,
        mmap_hi: 0x7E00_0000,
        machine: elf::Machine::Arm,
        word: stack::WordSize::W32,
        platform: b"v7l",
        hwcap: 0,
        hwcap2: None,
        pie_bias: 0x10000,
    };
    Task::new(
        7,
        String::from("/t"),
        AddressSpace::new(TASK_SIZE, 0x1_0000, 0x7E00_0000),
        Box::new(PageMap::default()),
        alloc::vec![
            Some(File::console().unwrap()),
            Some(File::console().unwrap()),
            Some(File::console().unwrap())
        ],
        layout,
    )
}

fn ret(o: Outcome) -> isize {
    match o {
        Outcome::Return(r) => r,
        Outcome::Exit(c) => panic!("exited with {c}"),
    }
}

fn errno(e: Errno) -> isize {
    e.as_return()
}

#[test]
fn identity_exit_and_unknown_calls() {
    let mut t = task();
    assert_eq!(ret(t.syscall(Sys::GetPid, [0; 6])), 7);
    assert_eq!(
        ret(t.syscall(Sys::SetTidAddress, [0x1000, 0, 0, 0, 0, 0])),
        7
    );
    assert!(matches!(
        t.syscall(Sys::ExitGroup, [3, 0, 0, 0, 0, 0]),
        Outcome::Exit(3)
    ));
    assert_eq!(
        ret(t.syscall(Sys::Unknown(999), [0; 6])),
        errno(Errno::ENOSYS)
    );
    // A fuzzer's random numbers: ENOSYS every time, at most 16 remembered.
    for n in 0..1000 {
        assert_eq!(
            ret(t.syscall(Sys::Unknown(5000 + n), [0; 6])),
            errno(Errno::ENOSYS)
        );
    }
    assert_eq!(t.reported_count, 16);
}

#[test]
fn fd_calls() {
    let mut t = task();
    // ioctl(2): the console is a terminal: TCGETS into NULL is EFAULT,
    // a request it does not have (TIOCSTI) ENOTTY; EBADF for a closed fd.
    assert_eq!(
        ret(t.syscall(Sys::Ioctl, [1, 0x5401, 0, 0, 0, 0])),
        errno(Errno::EFAULT)
    );
    assert_eq!(
        ret(t.syscall(Sys::Ioctl, [1, 0x5412, 0, 0, 0, 0])),
        errno(Errno::ENOTTY)
    );
    assert_eq!(ret(t.syscall(Sys::Close, [1, 0, 0, 0, 0, 0])), 0);
    assert_eq!(
        ret(t.syscall(Sys::Close, [1, 0, 0, 0, 0, 0])),
        errno(Errno::EBADF)
    );
    assert_eq!(
        ret(t.syscall(Sys::Ioctl, [1, 0x5401, 0, 0, 0, 0])),
        errno(Errno::EBADF)
    );
    assert_eq!(
        ret(t.syscall(Sys::Write, [1, 0x1000, 1, 0, 0, 0])),
        errno(Errno::EBADF)
    );
    assert_eq!(
        ret(t.syscall(Sys::Close, [usize::MAX, 0, 0, 0, 0, 0])),
        errno(Errno::EBADF)
    );
    // openat(2): EBADF for a dirfd that is neither AT_FDCWD nor open.
    assert_eq!(
        ret(t.syscall(Sys::OpenAt, [40, 0x1000, 0, 0, 0, 0])),
        errno(Errno::EBADF)
    );
}

#[test]
fn write_and_read_check_the_range_before_anything() {
    let mut t = task();
    t.fds
        .push(Some(File::new(super::super::Open::DevNull, 2).unwrap()));
    // /dev/null never reads the buffer (Linux's write_null): an
    // unmapped one is fine, a range past user space is not.
    assert_eq!(ret(t.syscall(Sys::Write, [3, 0x1000, 10, 0, 0, 0])), 10);
    assert_eq!(
        ret(t.syscall(Sys::Write, [3, TASK_SIZE - 8, 16, 0, 0, 0])),
        errno(Errno::EFAULT)
    );
    assert_eq!(
        ret(t.syscall(Sys::Write, [3, 0x1000, usize::MAX, 0, 0, 0])),
        errno(Errno::EFAULT)
    );
    // read(/dev/null) is end of file once the range is valid.
    assert_eq!(ret(t.syscall(Sys::Read, [3, 0x1000, 10, 0, 0, 0])), 0);
    assert_eq!(
        ret(t.syscall(Sys::Read, [3, TASK_SIZE, 1, 0, 0, 0])),
        errno(Errno::EFAULT)
    );
}

#[test]
fn memory_calls_decode_then_perform() {
    let mut t = task();
    const RW: usize = 3;
    const PRIVATE_ANON: usize = 0x22;
    // mmap2's offset is in pages, mmap's in bytes: an unaligned byte
    // offset is EINVAL, any page offset is aligned.
    let a = ret(t.syscall(Sys::Mmap2, [0, 8192, RW, PRIVATE_ANON, usize::MAX, 1]));
    assert!(a > 0 && a as usize % 4096 == 0, "{a}");
    assert_eq!(
        ret(t.syscall(Sys::Mmap, [0, 8192, RW, 0x01, 0, 100])),
        errno(Errno::EINVAL)
    );
    assert_eq!(t.space.vmas.count(), 1);
    // mprotect of length 0 is a no-op; munmap of length 0 is EINVAL.
    assert_eq!(
        ret(t.syscall(Sys::Mprotect, [a as usize, 0, 1, 0, 0, 0])),
        0
    );
    assert_eq!(
        ret(t.syscall(Sys::Munmap, [a as usize, 0, 0, 0, 0, 0])),
        errno(Errno::EINVAL)
    );
    assert_eq!(
        ret(t.syscall(Sys::Mprotect, [a as usize, 4096, 1, 0, 0, 0])),
        0
    );
    assert!(!t.space.vmas.find(a as usize).unwrap().prot.write);
    // mremap grows it (nothing after it), madvise over it and past it.
    assert_eq!(
        ret(t.syscall(Sys::Mremap, [a as usize + 4096, 4096, 8192, 0, 0, 0])),
        a + 4096
    );
    assert_eq!(
        ret(t.syscall(Sys::Madvise, [a as usize, 12288, 4, 0, 0, 0])),
        0
    );
    assert_eq!(
        ret(t.syscall(Sys::Madvise, [a as usize, 16384, 4, 0, 0, 0])),
        errno(Errno::ENOMEM)
    );
    assert_eq!(
        ret(t.syscall(Sys::Madvise, [a as usize, 4096, 77, 0, 0, 0])),
        errno(Errno::EINVAL)
    );
    assert_eq!(
        ret(t.syscall(Sys::Munmap, [a as usize, 12288, 0, 0, 0, 0])),
        0
    );
    assert_eq!(t.space.vmas.count(), 0);
}

fn sys(t: &mut Task, s: Sys, a: &[usize]) -> isize {
    let mut args = [0usize; 6];
    args[..a.len()].copy_from_slice(a);
    ret(t.syscall(s, args))
}

#[test]
fn msync_mincore_and_mlock_calls_reach_their_checks() {
    let mut t = task();
    const RW: usize = 3;
    const PRIVATE_ANON: usize = 0x22;
    let a = sys(
        &mut t,
        Sys::Mmap,
        &[0, 8192, RW, PRIVATE_ANON, usize::MAX, 0],
    ) as usize;
    // msync(2): MS_ASYNC|MS_SYNC is EINVAL, a mapped range is fine, one
    // running past the mapping ENOMEM; the flags are an int (the upper
    // half of the register is not looked at).
    assert_eq!(sys(&mut t, Sys::Msync, &[a, 8192, 5]), errno(Errno::EINVAL));
    assert_eq!(sys(&mut t, Sys::Msync, &[a, 8192, 4]), 0);
    assert_eq!(
        sys(&mut t, Sys::Msync, &[a, 3 * 4096, 4]),
        errno(Errno::ENOMEM)
    );
    if usize::BITS == 64 {
        assert_eq!(sys(&mut t, Sys::Msync, &[a, 8192, 1 << 32 | 4]), 0);
    }
    // mincore(2): EINVAL unaligned, ENOMEM outside user space, EFAULT
    // for a vector outside it (all before any vector byte is written).
    assert_eq!(
        sys(&mut t, Sys::Mincore, &[a + 1, 4096, 0x1000]),
        errno(Errno::EINVAL)
    );
    assert_eq!(
        sys(&mut t, Sys::Mincore, &[TASK_SIZE - 4096, 8192, 0x1000]),
        errno(Errno::ENOMEM)
    );
    assert_eq!(
        sys(&mut t, Sys::Mincore, &[a, 8192, TASK_SIZE - 1]),
        errno(Errno::EFAULT)
    );
    // Unmapped start: ENOMEM from the walk, before the vector is used.
    assert_eq!(
        sys(&mut t, Sys::Mincore, &[0x1000, 4096, 0x1000]),
        errno(Errno::ENOMEM)
    );
    assert_eq!(sys(&mut t, Sys::Mincore, &[a, 0, 0]), 0);
    // mlock/mlock2/munlock/mlockall/munlockall.
    assert_eq!(sys(&mut t, Sys::Mlock, &[a + 5, 4096]), 0);
    assert!(t.mmu.lookup(a).is_some() && t.mmu.lookup(a + 4096).is_some());
    assert_eq!(
        sys(&mut t, Sys::Mlock, &[a, 3 * 4096]),
        errno(Errno::ENOMEM)
    );
    assert_eq!(
        sys(&mut t, Sys::Mlock2, &[a, 4096, 2]),
        errno(Errno::EINVAL)
    );
    assert_eq!(sys(&mut t, Sys::Mlock2, &[a, 4096, 1]), 0);
    assert_eq!(
        sys(&mut t, Sys::Munlock, &[a, 3 * 4096]),
        errno(Errno::ENOMEM)
    );
    assert_eq!(sys(&mut t, Sys::Munlock, &[a, 8192]), 0);
    assert_eq!(sys(&mut t, Sys::Mlockall, &[4]), errno(Errno::EINVAL));
    assert_eq!(sys(&mut t, Sys::Mlockall, &[2]), 0);
    assert!(t.space.lock_future);
    assert_eq!(sys(&mut t, Sys::Munlockall, &[]), 0);
    assert!(!t.space.lock_future);
}

#[test]
fn dup_family_and_fcntl_follow_the_fd_rules() {
    use super::super::files::O_CLOEXEC;
    let mut t = task();
    // dup: the lowest free fd, close-on-exec clear (dup(2)).
    assert_eq!(sys(&mut t, Sys::Fcntl, &[0, 2, 1]), 0, "F_SETFD FD_CLOEXEC");
    assert_eq!(sys(&mut t, Sys::Fcntl, &[0, 1]), 1, "F_GETFD");
    assert_eq!(sys(&mut t, Sys::Dup, &[0]), 3);
    assert_eq!(sys(&mut t, Sys::Fcntl, &[3, 1]), 0, "dup clears FD_CLOEXEC");
    assert_eq!(sys(&mut t, Sys::Dup, &[40]), errno(Errno::EBADF));
    // dup2: onto itself only checks; onto an open fd closes it silently;
    // out of the table's range: EBADF.
    assert_eq!(sys(&mut t, Sys::Dup2, &[1, 1]), 1);
    assert_eq!(sys(&mut t, Sys::Dup2, &[9, 9]), errno(Errno::EBADF));
    assert_eq!(sys(&mut t, Sys::Dup2, &[0, 2]), 2);
    assert_eq!(sys(&mut t, Sys::Fcntl, &[2, 1]), 0);
    assert_eq!(sys(&mut t, Sys::Dup2, &[0, 10]), 10, "the table grows");
    assert_eq!(t.fds.len(), 11);
    assert_eq!(sys(&mut t, Sys::Dup2, &[0, 64]), errno(Errno::EBADF));
    assert_eq!(
        sys(&mut t, Sys::Dup2, &[0, usize::MAX]),
        errno(Errno::EBADF)
    );
    // dup3: old == new and unknown flags are EINVAL; O_CLOEXEC sets it.
    assert_eq!(sys(&mut t, Sys::Dup3, &[1, 1, 0]), errno(Errno::EINVAL));
    assert_eq!(sys(&mut t, Sys::Dup3, &[1, 5, 1]), errno(Errno::EINVAL));
    assert_eq!(sys(&mut t, Sys::Dup3, &[1, 5, O_CLOEXEC as usize]), 5);
    assert_eq!(sys(&mut t, Sys::Fcntl, &[5, 1]), 1);
    // F_DUPFD(_CLOEXEC): the lowest free fd >= arg; arg past the table
    // is EINVAL.
    assert_eq!(sys(&mut t, Sys::Fcntl, &[1, 0, 10]), 11);
    assert_eq!(sys(&mut t, Sys::Fcntl, &[1, 1030, 4]), 4);
    assert_eq!(sys(&mut t, Sys::Fcntl, &[4, 1]), 1);
    assert_eq!(sys(&mut t, Sys::Fcntl, &[1, 0, 64]), errno(Errno::EINVAL));
    // F_GETFL / F_SETFL: the access mode stays, only SETFL_MASK changes.
    assert_eq!(sys(&mut t, Sys::Fcntl, &[1, 3]), 2, "O_RDWR");
    assert_eq!(sys(&mut t, Sys::Fcntl, &[1, 4, 0o4000 | 1]), 0);
    assert_eq!(
        sys(&mut t, Sys::Fcntl, &[1, 3]),
        0o4002,
        "O_NONBLOCK, still O_RDWR"
    );
    // Unknown commands, closed fds.
    assert_eq!(sys(&mut t, Sys::Fcntl, &[1, 999]), errno(Errno::EINVAL));
    assert_eq!(sys(&mut t, Sys::Fcntl, &[40, 1]), errno(Errno::EBADF));
    // execve closes exactly the close-on-exec fds (0, 4, 5 here).
    t.close_on_exec();
    let open: Vec<usize> = (0..t.fds.len()).filter(|&i| t.fds[i].is_some()).collect();
    assert_eq!(open, [1, 2, 3, 10, 11]);
    // dup then fills the lowest hole.
    assert_eq!(sys(&mut t, Sys::Dup, &[1]), 0);
}

#[test]
fn pipe_ends_at_the_fd_level() {
    use super::super::files::O_NONBLOCK;
    use super::super::{Open, PipeStep};
    let mut t = task();
    let (r, w) = super::super::pipe::new_pipe().unwrap();
    t.fds.push(Some(File::new(Open::Pipe(r), 0).unwrap()));
    t.fds.push(Some(File::new(Open::Pipe(w), 1).unwrap()));
    // The wrong direction is EBADF (each end is opened one way).
    assert_eq!(sys(&mut t, Sys::Read, &[4, 0x1000, 1]), errno(Errno::EBADF));
    assert_eq!(
        sys(&mut t, Sys::Write, &[3, 0x1000, 1]),
        errno(Errno::EBADF)
    );
    // Empty with a writer: a blocking read sleeps, a nonblocking one is
    // EAGAIN; zero bytes is 0 at once.
    let key = match t.pipe_step(false, 3, 0x1000, 10, 10) {
        Ok(PipeStep::Block(k)) => k,
        other => panic!("{other:?}"),
    };
    assert_eq!(t.pipe_step(false, 3, 0x1000, 0, 0), Ok(PipeStep::Done(0)));
    assert_eq!(sys(&mut t, Sys::Fcntl, &[3, 4, O_NONBLOCK as usize]), 0);
    assert_eq!(
        sys(&mut t, Sys::Read, &[3, 0x1000, 10]),
        errno(Errno::EAGAIN)
    );
    // A dup of the write end keeps the pipe open; closing both is EOF.
    assert_eq!(sys(&mut t, Sys::Dup, &[4]), 5);
    assert_eq!(sys(&mut t, Sys::Close, &[4]), 0);
    assert_eq!(t.pipe_step(true, 5, 0x1000, 0, 0), Ok(PipeStep::Done(0)));
    assert_eq!(sys(&mut t, Sys::Close, &[5]), 0);
    assert_eq!(sys(&mut t, Sys::Read, &[3, 0x1000, 10]), 0, "EOF");
    // The other way: no reader left is EPIPE, with SIGPIPE pending.
    let (r, w) = super::super::pipe::new_pipe().unwrap();
    assert_ne!(r.key(), key);
    drop(r);
    t.fds[4] = Some(File::new(Open::Pipe(w), 1).unwrap());
    assert_eq!(t.pipe_step(true, 4, 0x1000, 1, 1), Ok(PipeStep::Broken));
    assert_eq!(
        sys(&mut t, Sys::Write, &[4, 0x1000, 1]),
        errno(Errno::EPIPE)
    );
    assert!(t.signals.has_deliverable(), "SIGPIPE");
    // lseek on a pipe: ESPIPE.
    assert_eq!(sys(&mut t, Sys::Lseek, &[4, 0, 0]), errno(Errno::ESPIPE));
}

#[test]
fn dup_shares_the_open_file_description() {
    use super::super::Open;
    let mut t = task();
    // A 10-byte file's page cache object (the inode number is not used
    // by lseek).
    let obj = crate::mm::shm::create_file(b"0123456789").unwrap();
    t.fds.push(Some(
        File::new(
            Open::Inode {
                ino: 999,
                obj: Some(obj),
            },
            0,
        )
        .unwrap(),
    ));
    assert_eq!(sys(&mut t, Sys::Dup, &[3]), 4);
    // One position: a seek through one fd moves the other (dup(2)).
    assert_eq!(sys(&mut t, Sys::Lseek, &[3, 4, 0]), 4);
    assert_eq!(
        sys(&mut t, Sys::Lseek, &[4, 0, 1]),
        4,
        "SEEK_CUR on the dup"
    );
    assert_eq!(sys(&mut t, Sys::Lseek, &[4, (-2i32) as u32 as usize, 2]), 8);
    assert_eq!(sys(&mut t, Sys::Lseek, &[3, 0, 1]), 8);
    assert_eq!(
        sys(&mut t, Sys::Lseek, &[3, (-9i32) as u32 as usize, 1]),
        errno(Errno::EINVAL),
        "before the start"
    );
    assert_eq!(sys(&mut t, Sys::Lseek, &[3, 0, 3]), errno(Errno::EINVAL));
    // One set of status flags; close-on-exec stays per fd.
    assert_eq!(sys(&mut t, Sys::Fcntl, &[4, 4, 0o4000]), 0);
    assert_eq!(sys(&mut t, Sys::Fcntl, &[3, 3]), 0o4000);
    assert_eq!(sys(&mut t, Sys::Fcntl, &[4, 2, 1]), 0);
    assert_eq!(sys(&mut t, Sys::Fcntl, &[3, 1]), 0);
    // A fork's copy of the table shares the descriptions too.
    let copy: Vec<Option<File>> = t.fds.clone();
    assert!(copy[3]
        .as_ref()
        .unwrap()
        .same_desc(t.fds[4].as_ref().unwrap()));
    // Writing a read-only file: EBADF (not opened for writing).
    assert_eq!(
        sys(&mut t, Sys::Write, &[3, 0x1000, 1]),
        errno(Errno::EBADF)
    );
    // The console is not seekable (a tty).
    assert_eq!(sys(&mut t, Sys::Lseek, &[0, 0, 0]), errno(Errno::ESPIPE));
}
