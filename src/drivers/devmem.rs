//! `/dev/mem` (drivers/char/mem.c `mmap_mem`) as a [`CharDev`]: physical
//! device registers mapped into a process.
//!
//! Its `mmap` rules (the generic file checks run before, in
//! `syscall::mm_args`):
//!
//! * Policy: a private writable mapping is `EACCES` (it would need
//!   copy-on-write of device memory, which this kernel does not do; Linux
//!   would copy the page);
//! * `[offset, offset+len)` must lie inside the pages of ONE device
//!   region of the device tree (`bootinfo::devices`: an enabled node's
//!   translated `reg`, never touching RAM; the board file's windows
//!   without a device tree), else `EPERM` (Linux's `STRICT_DEVMEM`
//!   `range_is_allowed`, stricter): this is what keeps RAM, page tables
//!   and the kernel out of reach;
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

/// Which physical ranges `/dev/mem` maps.
enum Windows {
    /// A fixed list of `[start, end)` windows (tests).
    Fixed(&'static [(u64, u64)]),
    /// The device regions found at boot.
    Devices(&'static spin::Mutex<crate::bootinfo::devices::DeviceTable>),
}

/// `/dev/mem` over a set of physical windows.
pub struct DevMem {
    windows: Windows,
}

impl DevMem {
    pub const fn new(windows: &'static [(u64, u64)]) -> DevMem {
        DevMem {
            windows: Windows::Fixed(windows),
        }
    }

    /// Over the device regions of `table` (the pages of one region).
    pub const fn over(
        table: &'static spin::Mutex<crate::bootinfo::devices::DeviceTable>,
    ) -> DevMem {
        DevMem {
            windows: Windows::Devices(table),
        }
    }

    fn allows(&self, offset: u64, end: u64) -> bool {
        match self.windows {
            Windows::Fixed(w) => w
                .iter()
                .any(|&(start, stop)| start <= offset && end <= stop),
            Windows::Devices(t) => t.lock().allows(offset, end - offset),
        }
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
        if !self.allows(a.offset, end) {
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

/// The kernel's `/dev/mem`, over the device regions found at boot.
pub static DEV_MEM: DevMem = DevMem::over(&crate::bootinfo::devices::DEVICES);
