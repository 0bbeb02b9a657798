//! The memory syscalls' glue: decode the arguments (`syscall::mm_args`),
//! then perform them on the address space (`mm::space`).

use super::Task;
use crate::errno::Errno;
use crate::mm::space::{Advice, MLOCK_ONFAULT};
use crate::syscall::mm_args::{self, PAGE_SIZE};

impl Task {
    pub(super) fn mmap(&mut self, a: [usize; 6], offset: u64) -> Result<usize, Errno> {
        // Drivers' files need what is mapped of them: `devio`.
        self.mmap_seen(a, offset, None)
    }

    /// `madvise`, with do_madvise's argument checks in Linux's order.
    pub(super) fn madvise(
        &mut self,
        addr: usize,
        len: usize,
        advice: usize,
    ) -> Result<usize, Errno> {
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

    /// `munmap`.
    pub(super) fn munmap(&mut self, addr: usize, len: usize) -> Result<usize, Errno> {
        match mm_args::decode_munmap(addr, len, self.layout.task_size)? {
            Some(r) => self.space.munmap(self.mmu.as_mut(), r).map(|_| 0),
            None => Ok(0),
        }
    }

    /// `mprotect`.
    pub(super) fn mprotect(&mut self, addr: usize, len: usize, prot: u32) -> Result<usize, Errno> {
        match mm_args::decode_mprotect(addr, len, prot, self.layout.task_size)? {
            Some((r, prot)) => self.space.mprotect(self.mmu.as_mut(), r, prot).map(|_| 0),
            None => Ok(0),
        }
    }

    /// `msync`: validated and walked as Linux does; nothing to write
    /// back (`AddressSpace::msync`).
    pub(super) fn msync(&mut self, addr: usize, len: usize, flags: usize) -> Result<usize, Errno> {
        // The flags are an `int`.
        self.space.msync(addr, len, flags as u32).map(|_| 0)
    }

    /// `mincore`: Linux's `sys_mincore`, a chunk of the vector at a time
    /// (a chunk written before a later hole or bad vector page stays
    /// written, as on Linux).
    pub(super) fn mincore(&mut self, start: usize, len: usize, vec: usize) -> Result<usize, Errno> {
        let (mut start, mut pages) =
            mm_args::decode_mincore(start, len, vec, self.layout.task_size)?;
        let mut vec = vec;
        let mut buf = [0u8; super::uaccess::CHUNK];
        while pages > 0 {
            let want = pages.min(buf.len());
            let n = self
                .space
                .mincore_step(self.mmu.as_ref(), start, &mut buf[..want])?;
            self.write_user(vec, &buf[..n])?;
            pages -= n;
            vec += n;
            start += n * PAGE_SIZE;
        }
        Ok(0)
    }

    /// `mlock` (`on_fault` false) and `mlock2` (its flags: only
    /// `MLOCK_ONFAULT`, else `EINVAL`, checked first as Linux does).
    pub(super) fn mlock(&mut self, start: usize, len: usize, flags: usize) -> Result<usize, Errno> {
        // The flags are an `int`.
        let flags = flags as u32;
        if flags & !MLOCK_ONFAULT != 0 {
            return Err(Errno::EINVAL);
        }
        match mm_args::decode_lock_range(start, len)? {
            Some(r) => self
                .space
                .mlock(self.mmu.as_mut(), r, flags != 0)
                .map(|_| 0),
            None => Ok(0),
        }
    }

    /// `munlock`.
    pub(super) fn munlock(&mut self, start: usize, len: usize) -> Result<usize, Errno> {
        match mm_args::decode_lock_range(start, len)? {
            Some(r) => self.space.munlock(r).map(|_| 0),
            None => Ok(0),
        }
    }

    /// `mlockall` (the flags are an `int`).
    pub(super) fn mlockall(&mut self, flags: usize) -> Result<usize, Errno> {
        self.space
            .mlockall(self.mmu.as_mut(), flags as u32)
            .map(|_| 0)
    }

    /// `munlockall`.
    pub(super) fn munlockall(&mut self) -> Result<usize, Errno> {
        self.space.munlockall();
        Ok(0)
    }

    /// `mremap`.
    pub(super) fn mremap(&mut self, a: [usize; 6]) -> Result<usize, Errno> {
        let r = mm_args::decode_mremap(a[0], a[1], a[2], a[3] as u32, a[4])?;
        self.space.mremap(self.mmu.as_mut(), r)
    }
}
