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

/// Read up to `out.len()` bytes at `pos`: stops at the end of the file
/// (0 at or past it). `ENOMEM` only if nothing could be read.
pub fn read(id: ShmId, pos: u64, out: &mut [u8], pool: &mut dyn Pool) -> Result<usize, Errno> {
    let size = shm::file_size(id).ok_or(Errno::EINVAL)?;
    if pos >= size {
        return Ok(0);
    }
    let want = (out.len() as u64).min(size - pos) as usize;
    let mut done = 0;
    while done < want {
        let at = pos + done as u64;
        let index = (at / PAGE_SIZE as u64) as usize;
        let off = (at % PAGE_SIZE as u64) as usize;
        let n = (PAGE_SIZE - off).min(want - done);
        // A page never cached reads as its source without being cached
        // (no frame spent on a file only read); one that is cached is
        // read from its frame.
        match shm::page(id, index) {
            Some(pa) => out[done..done + n].copy_from_slice(&pool.bytes(pa)[off..off + n]),
            None => {
                let src = shm::source_page(id, index);
                let dst = &mut out[done..done + n];
                let have = src.len().saturating_sub(off).min(n);
                dst[..have].copy_from_slice(&src[off..off + have]);
                dst[have..].fill(0);
            }
        }
        done += n;
    }
    Ok(done)
}

/// Write `data` at `pos`, growing the file if it ends past the end (a
/// gap reads as zero). Returns what was written: short only when a frame
/// could not be had after some progress (`ENOMEM` if before any);
/// `EFBIG` at or past [`MAX_FILE_SIZE`].
pub fn write(id: ShmId, pos: u64, data: &[u8], pool: &mut dyn Pool) -> Result<usize, Errno> {
    if data.is_empty() {
        return Ok(0);
    }
    if pos >= MAX_FILE_SIZE {
        return Err(Errno::EFBIG);
    }
    let data = &data[..(data.len() as u64).min(MAX_FILE_SIZE - pos) as usize];
    shm::mark_modified(id);
    let mut done = 0;
    while done < data.len() {
        let at = pos + done as u64;
        let index = (at / PAGE_SIZE as u64) as usize;
        let off = (at % PAGE_SIZE as u64) as usize;
        let n = (PAGE_SIZE - off).min(data.len() - done);
        let pa = match page(id, index, pool) {
            Ok(pa) => pa,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        pool.bytes(pa)[off..off + n].copy_from_slice(&data[done..done + n]);
        done += n;
        let end = pos + done as u64;
        if end > shm::file_size(id).unwrap_or(0) {
            shm::set_file_size(id, end, &mut |_| {})?;
        }
    }
    Ok(done)
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
    shm::mark_modified(id);
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

#[cfg(test)]
pub(crate) mod tests;
