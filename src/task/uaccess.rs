//! Copies between the kernel and the current task's memory, with Linux's
//! rules: `access_ok` on the whole range, pages faulted in as the CPU
//! would, partial copies stopping at the first page the task could not
//! touch.

use super::Task;
use crate::errno::Errno;
use crate::mm::space::Access2;
use crate::syscall::mm_args::PAGE_SIZE;
use alloc::string::String;
use alloc::vec::Vec;

/// Linux's `PATH_MAX`, the terminating NUL included.
pub(super) const PATH_MAX: usize = 4096;
/// Bytes moved per step between user memory and a device: a stack
/// buffer, so no kernel allocation depends on a user-chosen length.
pub(super) const CHUNK: usize = 256;

impl Task {
    /// Make `[va, va+len)` present with `access`, as the CPU would fault it
    /// in; EFAULT where the task itself would get SIGSEGV.
    pub(super) fn prefault(&mut self, va: usize, len: usize, access: Access2) -> Result<(), Errno> {
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
                // PROT_EXEC implies readable: ARMv7 has no execute-only
                // pages and Linux treats such memory as readable too.
                _ => v.prot.read || v.prot.write || v.prot.exec,
            };
            if !ok {
                return Err(Errno::EFAULT);
            }
            // A present page after a fork may be copy-on-write, and a
            // private file mapping maps the page cache read-only: a kernel
            // write (which ARMv7's PL1 could do through a user read-only
            // page) must break it first, as the CPU's fault would.
            let cow_write = access == Access2::Write
                && (self.cow || matches!(v.kind, crate::mm::vma::VmaKind::FilePrivate { .. }))
                && !matches!(v.kind, crate::mm::vma::VmaKind::Device { .. });
            if cow_write || self.mmu.lookup(p).is_none() {
                self.space
                    .fault(self.mmu.as_mut(), p, access)
                    .map_err(|_| Errno::EFAULT)?;
            }
            p += PAGE_SIZE;
        }
        Ok(())
    }

    /// Linux's `access_ok`: the whole range lies in user space.
    pub(super) fn access_ok(&self, va: usize, len: usize) -> Result<(), Errno> {
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
    pub(super) fn copy_in(&mut self, va: usize, dst: &mut [u8]) -> usize {
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

    /// copy_from_user into `len` bytes at `dst`, which may be memory a
    /// user mapping also shows (a page cache frame): a byte copy with
    /// memmove's semantics. Returns how many bytes were copied.
    ///
    /// # Safety
    /// `dst` is valid for writes of `len` bytes and no Rust reference
    /// covers it meanwhile.
    pub(super) unsafe fn copy_in_raw(&mut self, va: usize, dst: *mut u8, len: usize) -> usize {
        let mut done = 0;
        while done < len {
            let p = va + done;
            let n = (PAGE_SIZE - p % PAGE_SIZE).min(len - done);
            if self.prefault(p, n, Access2::Read).is_err() {
                break;
            }
            // SAFETY: [p, p+n) lies in one present, readable user page;
            // `dst + done` is valid for `n` bytes (the caller's contract);
            // the two may be the same memory (ptr::copy allows overlap).
            unsafe { core::ptr::copy(p as *const u8, dst.add(done), n) };
            done += n;
        }
        done
    }

    /// copy_to_user from `len` bytes at `src`, which may be memory a user
    /// mapping also shows (a page cache frame): memmove's semantics.
    ///
    /// # Safety
    /// `src` is valid for reads of `len` bytes and no `&mut` covers it.
    pub(super) unsafe fn copy_out_raw(&mut self, va: usize, src: *const u8, len: usize) -> usize {
        let mut done = 0;
        while done < len {
            let p = va + done;
            let n = (PAGE_SIZE - p % PAGE_SIZE).min(len - done);
            if self.prefault(p, n, Access2::Write).is_err() {
                break;
            }
            // SAFETY: [p, p+n) lies in one present, user-writable page;
            // `src + done` is valid for `n` bytes (the caller's contract);
            // they may overlap (a read into a mapping of the same page).
            unsafe { core::ptr::copy(src.add(done), p as *mut u8, n) };
            done += n;
        }
        done
    }

    /// copy_to_user, stopping at the first page the task could not write:
    /// returns how many bytes were copied.
    pub(super) fn copy_out(&mut self, va: usize, src: &[u8]) -> usize {
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
    pub(super) fn read_cstr(&mut self, va: usize) -> Result<String, Errno> {
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

    /// An execve argv/envp array: NUL-terminated strings up to a NULL
    /// pointer (a NULL array is empty, as Linux allows), each string and
    /// the running `total` bounded by `limit` (`E2BIG`).
    #[cfg_attr(not(target_os = "none"), allow(dead_code))]
    pub(super) fn read_string_array(
        &mut self,
        va: usize,
        total: &mut usize,
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, Errno> {
        let word = match self.layout.word {
            crate::loader::stack::WordSize::W32 => 4,
            crate::loader::stack::WordSize::W64 => 8,
        };
        let mut out: Vec<Vec<u8>> = Vec::new();
        if va == 0 {
            return Ok(out);
        }
        for i in 0.. {
            let p = va.checked_add(i * word).ok_or(Errno::EFAULT)?;
            let b = self.read_user(p, word)?;
            let ptr = if word == 4 {
                u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize
            } else {
                u64::from_le_bytes(b[..8].try_into().map_err(|_| Errno::EFAULT)?) as usize
            };
            if ptr == 0 {
                break;
            }
            let s = self.read_cstr(ptr)?.into_bytes();
            *total = total.saturating_add(s.len() + 1 + word);
            if *total > limit {
                return Err(Errno::E2BIG);
            }
            out.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
            out.push(s);
        }
        Ok(out)
    }

    /// put_user of a u32 into this task's memory while another address
    /// space is live (`CLONE_CHILD_SETTID` for a forked child that has
    /// not run yet): the page is faulted in for writing in this task's
    /// own tables (a copy-on-write page is copied) and the word written
    /// through the frame. `EFAULT` where the task could not write.
    #[cfg_attr(not(target_os = "none"), allow(dead_code))]
    pub fn poke_u32(&mut self, va: usize, val: u32) -> Result<(), Errno> {
        let off = va % PAGE_SIZE;
        if off > PAGE_SIZE - 4 || va.checked_add(4).is_none_or(|e| e > self.layout.task_size) {
            return Err(Errno::EFAULT);
        }
        let v = self.space.vmas.find(va).copied().ok_or(Errno::EFAULT)?;
        if !v.prot.write || matches!(v.kind, crate::mm::vma::VmaKind::Device { .. }) {
            return Err(Errno::EFAULT);
        }
        self.space
            .fault(self.mmu.as_mut(), va, Access2::Write)
            .map_err(|_| Errno::EFAULT)?;
        let pa = self.mmu.lookup(va - off).ok_or(Errno::EFAULT)?;
        // SAFETY: `pa` is the frame this task's own table maps, writable
        // and (just faulted) not shared copy-on-write.
        unsafe { self.mmu.fill_frame(pa, off, &val.to_le_bytes()) };
        Ok(())
    }
}
