//! `/dev/mem` (drivers/char/mem.c `mmap_mem`) as a [`CharDev`]: physical
//! device registers mapped into a process.
//!
//! Its `mmap` rules (the generic file checks run before, in
//! `syscall::mm_args`):
//!
//! * Policy: a private writable mapping is `EACCES` (it would need
//!   copy-on-write of device memory, which this kernel does not do; Linux
//!   would copy the page);
//! * `[offset, offset+len)` must lie inside ONE device window of the
//!   board, else `EPERM` (Linux's `STRICT_DEVMEM` `range_is_allowed`):
//!   this is what keeps RAM, page tables and the kernel out of reach;
//! * the memory type: Strongly-ordered when the fd was opened with
//!   `O_SYNC` or `O_DSYNC` (Linux's `uncached_access()` tests `O_DSYNC`,
//!   which `O_SYNC` includes; then `pgprot_noncached`), else shareable
//!   Device (writes may be buffered, never speculative or merged);
//! * writable later (`VM_MAYWRITE`) only for a shared mapping of an fd
//!   open for writing.
//!
//! `read`/`write` of `/dev/mem` are not supported (`EINVAL`), as before.

use super::chardev::{CharDev, DevMap, MappedTypes, MmapArgs, PrivateData};
use crate::errno::Errno;
use crate::mm::memtype::MemoryType;
use crate::syscall::mm_args::{O_ACCMODE, O_DSYNC, O_RDWR, O_WRONLY};

/// `/dev/mem` over a fixed list of `[start, end)` physical windows.
pub struct DevMem {
    windows: &'static [(u64, u64)],
}

impl DevMem {
    pub const fn new(windows: &'static [(u64, u64)]) -> DevMem {
        DevMem { windows }
    }
}

impl CharDev for DevMem {
    fn mmap(
        &self,
        a: &MmapArgs,
        _private: &PrivateData,
        _mapped: &MappedTypes,
    ) -> Result<DevMap, Errno> {
        if !a.shared && a.prot.write {
            return Err(Errno::EACCES);
        }
        let end = a.offset.checked_add(a.len as u64).ok_or(Errno::EOVERFLOW)?;
        let allowed = self
            .windows
            .iter()
            .any(|&(start, stop)| start <= a.offset && end <= stop);
        if !allowed {
            return Err(Errno::EPERM);
        }
        let acc = a.open_flags & O_ACCMODE;
        let fmode_write = acc == O_WRONLY || acc == O_RDWR;
        Ok(DevMap {
            phys: a.offset,
            mem: if a.open_flags & O_DSYNC != 0 {
                MemoryType::StronglyOrdered
            } else {
                MemoryType::DeviceShareable
            },
            may_write: a.shared && fmode_write,
        })
    }
}

/// Linux's device number of `/dev/mem` (devices.txt: char 1:1).
pub const RDEV: (u32, u32) = (1, 1);
/// Its mode on a Debian system (`crw-r----- root kmem`).
pub const MODE: u32 = 0o640;

const N_WINDOWS: usize = crate::board::DEVICE_WINDOWS.len();

/// The board's device windows as `[start, end)` pairs.
static BOARD_WINDOWS: [(u64, u64); N_WINDOWS] = {
    let w = crate::board::DEVICE_WINDOWS;
    let mut out = [(0u64, 0u64); N_WINDOWS];
    let mut i = 0;
    while i < N_WINDOWS {
        out[i] = (w[i].0, w[i].1);
        i += 1;
    }
    out
};

/// The kernel's `/dev/mem`, over the board's device windows.
pub static DEV_MEM: DevMem = DevMem::new(&BOARD_WINDOWS);
