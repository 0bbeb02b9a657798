//! ELF segments mapped from the executable's page cache, as Linux's
//! `load_elf_binary` maps them (fs/binfmt_elf.c, 6.1: `elf_map`,
//! `set_brk`/`vm_brk_flags`, `padzero`).
//!
//! **Design.** The file-backed part of a `PT_LOAD` segment is a private
//! file mapping ([`VmaKind::FilePrivate`]) of the executable's page cache
//! object, exactly what Linux's `elf_map` makes with `vm_mmap(MAP_PRIVATE)`;
//! the rest (`.bss` past the last file page) is private anonymous memory
//! (Linux's `vm_brk_flags`), and the bytes of the last file page past
//! `p_filesz` are zeroed through a private copy of that page (Linux's
//! `padzero`). Chosen over copying the file into each page on first touch
//! (an `Image` segment over a byte slice) because:
//! - it works for every file, whatever its history: the page cache *is*
//!   the file (a file written or created at run time has no other copy);
//! - read-only pages (text, rodata) are the cache's frames, shared by
//!   every process running the program and with the cache itself, instead
//!   of one private copy per process: less memory;
//! - everything private file mappings already do right applies to the
//!   segments unchanged: copy-on-write of written pages, `fork`,
//!   `MADV_DONTNEED` bringing the file's bytes back, `mincore` reporting
//!   the cache, `SIGBUS` past a truncated end, and `/proc/<pid>/maps`
//!   naming the file (its device, inode, path, ` (deleted)` once
//!   unlinked) as Linux does;
//! - the address space is a user of the object while a VMA shows it
//!   ([`crate::mm::shm`]), so a running program's file data outlives an
//!   unlink of the program, as on Linux.
//!
//! As on Linux, the first page of a segment shows the file's bytes before
//! `p_vaddr` (the ELF header, for the text), and the last page of a
//! segment without `.bss` the file's bytes after `p_filesz`.

use super::*;
use crate::mm::shm::{self, ShmId};

/// One `PT_LOAD` segment (load bias applied) to map from a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileSegment {
    /// `p_vaddr`: where file byte `file_offset` appears.
    pub vaddr: usize,
    /// `p_memsz`: the segment's length in memory.
    pub memsz: usize,
    /// `p_offset`; `file_offset % PAGE_SIZE == vaddr % PAGE_SIZE` (the
    /// ELF plan refuses anything else).
    pub file_offset: u64,
    /// `p_filesz` (at most `memsz`).
    pub filesz: usize,
    pub prot: Prot,
}

impl AddressSpace {
    /// Map `seg` of the executable whose page cache is the object `id`:
    /// `[vaddr & !4095, align_up(vaddr + filesz))` as a private file
    /// mapping of the file from page `file_offset / 4096`, the rest of
    /// `[.., align_up(vaddr + memsz))` as private anonymous memory, and,
    /// when the segment has `.bss` (`memsz > filesz`) starting inside a
    /// page, that page's bytes from `vaddr + filesz` on zeroed in a
    /// private copy (whatever the segment's rights: the loader writes
    /// it, as Linux's `padzero` does for the writable data segment; a
    /// read-only segment with `.bss` gets the same zeroes). Pages come in
    /// on first touch.
    ///
    /// The address space becomes a user of `id` with its first VMA on it
    /// (one user however many segments). `EINVAL` for a segment that
    /// does not fit these rules (misaligned offset, `filesz > memsz`,
    /// overflow), `EEXIST` if it overlaps a mapping, `ENOMEM`, `EIO` if
    /// the file no longer holds the bytes; on an error after a VMA went
    /// in, the caller tears the address space down.
    pub fn map_elf_segment(
        &mut self,
        mmu: &mut dyn Mmu,
        id: ShmId,
        seg: &FileSegment,
    ) -> Result<(), Errno> {
        let mask = PAGE_SIZE - 1;
        if seg.filesz > seg.memsz || seg.file_offset % PAGE_SIZE as u64 != (seg.vaddr & mask) as u64
        {
            return Err(Errno::EINVAL);
        }
        let start = seg.vaddr & !mask;
        let up = |x: usize| x.checked_add(mask).map(|x| x & !mask).ok_or(Errno::EINVAL);
        let file_end = seg.vaddr.checked_add(seg.filesz).ok_or(Errno::EINVAL)?;
        let mem_end = seg.vaddr.checked_add(seg.memsz).ok_or(Errno::EINVAL)?;
        let (fend, end) = (up(file_end)?, up(mem_end)?);
        if seg.filesz > 0 {
            let size = shm::file_size(id).ok_or(Errno::EINVAL)?;
            if seg.file_offset.saturating_add(seg.filesz as u64) > size {
                return Err(Errno::EIO);
            }
            let pgoff =
                usize::try_from(seg.file_offset / PAGE_SIZE as u64).map_err(|_| Errno::EINVAL)?;
            let joined = !self.maps_object(id);
            if joined {
                shm::add_user(id)?;
            }
            let file = Vma {
                start,
                end: fend,
                prot: seg.prot,
                kind: VmaKind::FilePrivate { id, pgoff },
            };
            if let Err(e) = self.vmas.insert(file) {
                if joined {
                    shm::remove_user(id, &mut |pa| mmu.free_frame(pa));
                }
                return Err(e);
            }
        }
        let anon_start = if seg.filesz > 0 { fend } else { start };
        if end > anon_start {
            self.vmas.insert(Vma {
                start: anon_start,
                end,
                prot: seg.prot,
                kind: VmaKind::Anonymous {
                    shared: false,
                    may_write: true,
                },
            })?;
        }
        if seg.filesz > 0 && seg.memsz > seg.filesz && file_end & mask != 0 {
            self.zero_file_tail(mmu, file_end)?;
        }
        Ok(())
    }

    /// Linux's `padzero`: the bytes from `from` to the end of its page,
    /// a page of a private file mapping, become zero in a private copy of
    /// the page (mapped with the VMA's rights; a page already present is
    /// replaced by the copy).
    fn zero_file_tail(&mut self, mmu: &mut dyn Mmu, from: usize) -> Result<(), Errno> {
        let page = from & !(PAGE_SIZE - 1);
        let vma = *self.vmas.find(page).ok_or(Errno::EFAULT)?;
        let VmaKind::FilePrivate { id, pgoff } = vma.kind else {
            return Err(Errno::EFAULT);
        };
        let index = pgoff.saturating_add((page - vma.start) / PAGE_SIZE);
        if mmu.lookup(page).is_some() {
            // Object mappings use 4 KiB pages only: nothing to split.
            mmu.unmap(page, PAGE_SIZE, true)?;
        }
        Self::fault_file_private(mmu, &vma, id, index, page, Access2::Write)?;
        let pa = mmu.lookup(page).ok_or(Errno::EFAULT)?;
        let zeros = [0u8; 256];
        let mut off = from - page;
        while off < PAGE_SIZE {
            let n = (PAGE_SIZE - off).min(zeros.len());
            // SAFETY: `pa` is the private frame `fault_file_private` just
            // allocated for this address space (a write fault maps a copy
            // of its own, never the cache's frame).
            unsafe { mmu.fill_frame(pa, off, &zeros[..n]) };
            off += n;
        }
        Ok(())
    }
}
