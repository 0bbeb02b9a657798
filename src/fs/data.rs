//! File data through the page cache: `read`, `write` and truncation of a
//! regular file, on the frames of its shm file object, so that they and
//! every mapping of the file see the same bytes at once.
//!
//! Invariant kept here: the bytes of a cached page past the end of the
//! file are zero (a write past the end zero-fills the gap, a shrink
//! zeroes the tail of the last page), so the tail of a mapping's last
//! page reads as zero, as Linux guarantees.

use crate::errno::Errno;
use crate::mm::shm::{self, ShmId};
use crate::syscall::mm_args::PAGE_SIZE;

/// Kernel access to RAM frames for the page cache: the architecture's
/// frame allocator and linear map on the target, a fake in host tests.
pub trait Pool {
    /// A zeroed frame with one reference (the object's).
    fn alloc_zeroed(&mut self) -> Result<u64, Errno>;
    /// Drop one reference to `pa`.
    fn release(&mut self, pa: u64);
    /// The 4 KiB of frame `pa`, a frame the page cache holds.
    fn bytes(&mut self, pa: u64) -> &mut [u8];
}

/// Linux's `MAX_LFS_FILESIZE` on 32-bit (`ULONG_MAX << PAGE_SHIFT`, as
/// the page index must fit an unsigned long) and what this page cache can
/// index (`usize` pages) on 64-bit; past it, `EFBIG`.
pub const MAX_FILE_SIZE: u64 = if usize::BITS == 32 {
    (u32::MAX as u64) << 12
} else {
    i64::MAX as u64
};

/// The cache frame of page `index` of `id`, read in (from the source) if
/// it is not there.
fn page(id: ShmId, index: usize, pool: &mut dyn Pool) -> Result<u64, Errno> {
    let (pa, _) = shm::page_or_insert(id, index, &mut |src| {
        let pa = pool.alloc_zeroed()?;
        pool.bytes(pa)[..src.len()].copy_from_slice(src);
        Ok(pa)
    })?;
    Ok(pa)
}

/// Read up to `len` bytes at `pos`, handing each piece (at most a page)
/// to `sink` as a pointer and a length; `sink` returns how many bytes it
/// took, and a short count stops the read (a user page that could not be
/// written). Stops at the end of the file (0 at or past it). Returns the
/// bytes taken. Nothing is allocated: a page never cached is read from
/// its source (or as zeros), so a file that is only read spends no frame.
///
/// `sink` gets raw pointers, not slices: the destination may be a
/// mapping of the very cache page (a `read` into a `MAP_SHARED` mapping
/// of the same file), so no Rust reference may cover the source while it
/// copies.
pub fn read_with(
    id: ShmId,
    pos: u64,
    len: usize,
    pool: &mut dyn Pool,
    sink: &mut dyn FnMut(*const u8, usize) -> usize,
) -> Result<usize, Errno> {
    static ZEROS: [u8; PAGE_SIZE] = [0; PAGE_SIZE];
    let size = shm::file_size(id).ok_or(Errno::EINVAL)?;
    if pos >= size {
        return Ok(0);
    }
    let want = (len as u64).min(size - pos) as usize;
    let mut done = 0;
    while done < want {
        let at = pos + done as u64;
        let index = (at / PAGE_SIZE as u64) as usize;
        let off = (at % PAGE_SIZE as u64) as usize;
        let n = (PAGE_SIZE - off).min(want - done);
        let took = match shm::page(id, index) {
            // A frame the cache holds, 4 KiB long: `off + n` stays in it.
            Some(pa) => sink(pool.bytes(pa)[off..].as_ptr(), n),
            None => {
                let src = shm::source_page(id, index);
                let have = src.len().saturating_sub(off).min(n);
                let mut t = if have > 0 {
                    sink(src[off..].as_ptr(), have)
                } else {
                    0
                };
                if t == have && have < n {
                    t += sink(ZEROS.as_ptr(), n - have);
                }
                t
            }
        };
        done += took;
        if took < n {
            break;
        }
    }
    Ok(done)
}

/// Read up to `out.len()` bytes at `pos` ([`read_with`]).
pub fn read(id: ShmId, pos: u64, out: &mut [u8], pool: &mut dyn Pool) -> Result<usize, Errno> {
    let mut at = 0;
    read_with(id, pos, out.len(), pool, &mut |src, n| {
        // SAFETY: `src` is valid for `n` bytes (read_with's contract) and
        // `out` is a kernel buffer no mapping shows.
        unsafe { core::ptr::copy_nonoverlapping(src, out[at..at + n].as_mut_ptr(), n) };
        at += n;
        n
    })
}

/// Write up to `len` bytes at `pos`, letting `fill` store each piece (at
/// most a page) into the cache page through a pointer; `fill` returns
/// how many bytes it stored, a short count stops the write (a user page
/// that could not be read). The file grows to what was written past its
/// end (a gap reads as zero). Returns the bytes written: short also when
/// a frame could not be had after some progress (`ENOMEM` if before
/// any); `EFBIG` at or past [`MAX_FILE_SIZE`].
pub fn write_with(
    id: ShmId,
    pos: u64,
    len: usize,
    pool: &mut dyn Pool,
    fill: &mut dyn FnMut(*mut u8, usize) -> usize,
) -> Result<usize, Errno> {
    if len == 0 {
        return Ok(0);
    }
    if pos >= MAX_FILE_SIZE {
        return Err(Errno::EFBIG);
    }
    let len = (len as u64).min(MAX_FILE_SIZE - pos) as usize;
    let mut done = 0;
    while done < len {
        let at = pos + done as u64;
        let index = (at / PAGE_SIZE as u64) as usize;
        let off = (at % PAGE_SIZE as u64) as usize;
        let n = (PAGE_SIZE - off).min(len - done);
        let pa = match page(id, index, pool) {
            Ok(pa) => pa,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        let took = fill(pool.bytes(pa)[off..].as_mut_ptr(), n);
        done += took;
        let end = pos + done as u64;
        // Only bytes written grow the file (a write that copied nothing
        // past the end leaves the size alone).
        if took > 0 && end > shm::file_size(id).unwrap_or(0) {
            shm::set_file_size(id, end, &mut |_| {})?;
        }
        if took < n {
            break;
        }
    }
    Ok(done)
}

/// Write `data` at `pos` ([`write_with`]).
pub fn write(id: ShmId, pos: u64, data: &[u8], pool: &mut dyn Pool) -> Result<usize, Errno> {
    let mut at = 0;
    write_with(id, pos, data.len(), pool, &mut |dst, n| {
        // SAFETY: `dst` is valid for `n` bytes of a cache frame
        // (write_with's contract); `data` is a kernel buffer.
        unsafe { core::ptr::copy_nonoverlapping(data[at..at + n].as_ptr(), dst, n) };
        at += n;
        n
    })
}

/// Set the file's size (`ftruncate`, `O_TRUNC`): pages wholly past the
/// new end leave the cache (the caller unmaps them from every address
/// space: Linux's `truncate_pagecache`), the tail of a partial last page
/// is zeroed (also for the same size). `EFBIG` past [`MAX_FILE_SIZE`].
pub fn truncate(id: ShmId, size: u64, pool: &mut dyn Pool) -> Result<(), Errno> {
    if size > MAX_FILE_SIZE {
        return Err(Errno::EFBIG);
    }
    let old = shm::file_size(id).ok_or(Errno::EINVAL)?;
    // `<=`: a truncation to the same size still zeroes the tail of the
    // last page (what a shared mapping stored past the end), as Linux's
    // shmem_setattr does for `newsize <= oldsize`.
    if size <= old {
        let mut gone = [0u64; 32];
        let mut n = 0;
        let mut more = alloc::vec::Vec::new();
        shm::set_file_size(id, size, &mut |pa| {
            if n < gone.len() {
                gone[n] = pa;
                n += 1;
            } else if more.try_reserve(1).is_ok() {
                more.push(pa);
            }
            // Else the reference leaks (no memory to remember it): the
            // frame stays used, never wrongly freed.
        })?;
        for &pa in gone[..n].iter().chain(more.iter()) {
            pool.release(pa);
        }
        let off = (size % PAGE_SIZE as u64) as usize;
        if off != 0 {
            if let Some(pa) = shm::page(id, (size / PAGE_SIZE as u64) as usize) {
                pool.bytes(pa)[off..].fill(0);
            }
        }
    } else {
        shm::set_file_size(id, size, &mut |_| {})?;
    }
    Ok(())
}

/// A file read through its page cache, as `execve` reads an executable's
/// headers (Linux's `kernel_read` of `bprm->buf` and of the program
/// headers): what [`read`] gives, so a file written since boot reads as
/// written.
pub struct Reader<'a> {
    pub id: ShmId,
    pub pool: &'a mut dyn Pool,
}

impl crate::loader::elf::Source for Reader<'_> {
    fn size(&self) -> u64 {
        shm::file_size(self.id).unwrap_or(0)
    }
    fn read_at(&mut self, pos: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        read(self.id, pos, buf, self.pool)
    }
}

#[cfg(test)]
pub(crate) mod tests;
