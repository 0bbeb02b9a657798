//! `/dev/dmabuf0`: an 8 KiB physically contiguous buffer a process maps
//! with the memory type it asks for, as a DMA driver's
//! `dma_mmap_coherent`/`remap_pfn_range` would hand it out.
//!
//! # Attributes
//!
//! A mapping's memory type comes from the open file:
//!
//! | how | `MemoryType` | Linux | ARMv7-A TEX/C/B | AArch64 MAIR |
//! |---|---|---|---|---|
//! | default | `NormalWriteBackWriteAlloc` | `PAGE_SHARED` | 001/1/1 | `0xFF` |
//! | `ioctl(DMABUF_SET_CACHE, WC)` | `NormalNonCacheable` | `pgprot_writecombine` ("bufferable") | 001/0/0 | `0x44` |
//! | `ioctl(DMABUF_SET_CACHE, WT)` | `NormalWriteThrough` | `L_PTE_MT_WRITETHROUGH` | 000/1/0 | `0xAA`/`0xBB` |
//! | fd opened `O_SYNC` (or `O_DSYNC`) | `StronglyOrdered` | `pgprot_noncached` | 000/0/0 | `0x00` (nGnRnE) |
//!
//! `O_SYNC` wins over the ioctl, as in Linux's drivers that test
//! `file->f_flags & O_SYNC` when building `vm_page_prot`. The ioctl only
//! changes what the NEXT `mmap` of that open file gets; existing mappings
//! keep theirs.
//!
//! # `mmap` errors (in this order)
//!
//! * `MAP_PRIVATE`: `EINVAL`. A private mapping is copy-on-write
//!   (`is_cow_mapping`), which makes no sense for a buffer shared with a
//!   device; Linux drivers that refuse it return `EINVAL`
//!   (`drm_gem_shmem_mmap`, `dma_buf_mmap_internal`'s exporters).
//! * `[offset, offset+len)` not inside the 8 KiB: `ENXIO`, as the
//!   kernel's own DMA buffer mmap (`dma_direct_mmap`, arm's
//!   `__arm_dma_mmap`: `vm_pgoff >= count || user_count > count -
//!   vm_pgoff` gives `-ENXIO`). An unaligned offset never reaches the
//!   driver: `mmap` itself refuses it with `EINVAL`.
//! * a mapping of the buffer with ANOTHER memory type exists now, in any
//!   process: `EBUSY` (below).
//!
//! # Mismatched attributes
//!
//! The ARM ARM ("Mismatched memory attributes"; ARMv7-A DDI 0406C
//! A3.5.7, ARMv8-A DDI 0487 B2.8 in the numbering) makes
//! accesses through aliases with different cacheability lose coherency
//! (a write through a non-cacheable alias can be hidden by a dirty line
//! of a cacheable one). So every mapping of the buffer, user and kernel,
//! has one type at a time:
//!
//! * **user mappings**: a new mapping whose type differs from one that
//!   exists is refused with `EBUSY` ([`check_mmap`]). No per-VMA
//!   bookkeeping: the kernel scans every process's `Device` VMAs over the
//!   buffer's physical range before calling the driver
//!   ([`super::chardev::MappedTypes`]). `fork` copies VMAs with their
//!   type (no conflict: same type); `munmap`/`exit` remove them, so once
//!   the last one is gone any type is allowed again.
//! * **the kernel's own alias**: the linear map shows all RAM as Normal
//!   write-back. This driver follows Linux's arm `__dma_remap`: the
//!   kernel's linear-map entries of the 2 pages are changed to the type
//!   the user mappings get, whenever that type changes (clean+invalidate
//!   by VA to PoC through the old mapping, break-before-make with TLB
//!   invalidation in `Table::protect`, clean+invalidate again). The
//!   linear map is split down to 4 KiB pages around the buffer ONCE, at
//!   boot ([`init`]): that split unmaps a whole section/block for a
//!   moment (break-before-make), which is only safe while the kernel runs
//!   on the boot stack in the image window and touches nothing in the
//!   linear map; later changes only break the buffer's own two page
//!   entries, which nothing touches meanwhile (one CPU, interrupts
//!   masked in the kernel). The driver itself reads and writes the buffer
//!   only through that alias, byte by byte with volatile accesses (a
//!   Strongly-ordered alias faults on unaligned or `DC ZVA` accesses).
//!
//! Invariant: the alias's type equals the type of every user mapping
//! that exists (all user mappings agree, and the alias is switched to a
//! new type only when a mapping of it is granted, which needs all
//! existing ones to have it already).
//!
//! # ioctls (magic `'b'`, asm-generic `_IOC` encoding, as ARM and arm64)
//!
//! * `DMABUF_SET_CACHE = _IOW('b', 1, __u32)`: 0 write-back (default),
//!   1 write-combine, 2 write-through; else `EINVAL`.
//! * `DMABUF_GET_INFO = _IOR('b', 2, struct dmabuf_info)` (24 bytes:
//!   `__u64 phys; __u32 size; __u32 cache; __u32 kernel_cache; __u32 pad`):
//!   `cache` what this fd's next mapping gets (0..2, 3 = uncached by
//!   `O_SYNC`), `kernel_cache` the alias's type now.
//! * `DMABUF_READ_KERNEL = _IOR('b', 3, struct dmabuf_peek)` (40 bytes:
//!   `__u32 fnv1a; __u32 size; __u8 head[16]; __u8 page1[16]`): what the
//!   driver reads through its own kernel mapping (FNV-1a of all 8 KiB,
//!   the first 16 bytes of each page); also printed as a kernel line.
//!
//! `read`/`write` move bytes between the file position and the buffer
//! through the kernel alias too (`ENXIO`-free: past the end reads 0
//! bytes, writes `ENOSPC`, as a fixed-size memory device).

use super::chardev::{CharDev, DevMap, MappedTypes, MmapArgs, PrivateData, UserCopy};
use crate::errno::Errno;
use crate::mm::memtype::MemoryType;
use crate::syscall::mm_args::{O_ACCMODE, O_DSYNC, O_RDWR, O_WRONLY, PAGE_SIZE};

/// The buffer: two pages.
pub const SIZE: usize = 2 * PAGE_SIZE;

/// devices.txt: char majors 240-254 are "LOCAL/EXPERIMENTAL USE".
pub const RDEV: (u32, u32) = (240, 0);
pub const MODE: u32 = 0o666;

// include/uapi/asm-generic/ioctl.h (ARM and arm64 use the generic one).
const IOC_NRBITS: u32 = 8;
const IOC_TYPEBITS: u32 = 8;
const IOC_SIZEBITS: u32 = 14;
const IOC_NRSHIFT: u32 = 0;
const IOC_TYPESHIFT: u32 = IOC_NRSHIFT + IOC_NRBITS;
const IOC_SIZESHIFT: u32 = IOC_TYPESHIFT + IOC_TYPEBITS;
const IOC_DIRSHIFT: u32 = IOC_SIZESHIFT + IOC_SIZEBITS;
pub const IOC_NONE: u32 = 0;
pub const IOC_WRITE: u32 = 1;
pub const IOC_READ: u32 = 2;

/// `_IOC(dir, type, nr, size)`.
pub const fn ioc(dir: u32, ty: u8, nr: u8, size: usize) -> u32 {
    (dir << IOC_DIRSHIFT)
        | ((ty as u32) << IOC_TYPESHIFT)
        | ((nr as u32) << IOC_NRSHIFT)
        | ((size as u32) << IOC_SIZESHIFT)
}
/// `_IOW(type, nr, size)`: user space writes `size` bytes to the driver.
pub const fn iow(ty: u8, nr: u8, size: usize) -> u32 {
    ioc(IOC_WRITE, ty, nr, size)
}
/// `_IOR(type, nr, size)`: user space reads `size` bytes from the driver.
pub const fn ior(ty: u8, nr: u8, size: usize) -> u32 {
    ioc(IOC_READ, ty, nr, size)
}

/// The ioctl magic (type) letter of this driver.
pub const MAGIC: u8 = b'b';
pub const INFO_SIZE: usize = 24;
pub const PEEK_SIZE: usize = 40;
pub const DMABUF_SET_CACHE: u32 = iow(MAGIC, 1, 4);
pub const DMABUF_GET_INFO: u32 = ior(MAGIC, 2, INFO_SIZE);
pub const DMABUF_READ_KERNEL: u32 = ior(MAGIC, 3, PEEK_SIZE);

/// The cache modes `DMABUF_SET_CACHE` selects (and `GET_INFO` reports;
/// `Uncached` only comes from `O_SYNC`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Cache {
    WriteBack = 0,
    WriteCombine = 1,
    WriteThrough = 2,
    Uncached = 3,
}

impl Cache {
    /// `DMABUF_SET_CACHE`'s argument: 0..=2, else `EINVAL`.
    pub const fn from_user(v: u32) -> Result<Cache, Errno> {
        match v {
            0 => Ok(Cache::WriteBack),
            1 => Ok(Cache::WriteCombine),
            2 => Ok(Cache::WriteThrough),
            _ => Err(Errno::EINVAL),
        }
    }

    pub const fn mem(self) -> MemoryType {
        match self {
            Cache::WriteBack => MemoryType::NormalWriteBackWriteAlloc,
            Cache::WriteCombine => MemoryType::NormalNonCacheable,
            Cache::WriteThrough => MemoryType::NormalWriteThrough,
            Cache::Uncached => MemoryType::StronglyOrdered,
        }
    }

    /// The mode a memory type came from (`Uncached` for anything else).
    pub fn of_mem(mem: MemoryType) -> Cache {
        [Cache::WriteBack, Cache::WriteCombine, Cache::WriteThrough]
            .into_iter()
            .find(|c| c.mem() == mem)
            .unwrap_or(Cache::Uncached)
    }
}

/// The per-open word: bits [1:0] hold the `DMABUF_SET_CACHE` mode.
const WORD_CACHE_MASK: u64 = 0b11;
/// Bit 2: the file was opened `O_SYNC`/`O_DSYNC` (set by `open`, so the
/// ioctls, which do not see the open flags, can report it).
const WORD_SYNC: u64 = 0b100;

/// What a mapping through a file with these open flags and driver word
/// gets: `O_SYNC`/`O_DSYNC` Strongly-ordered, else the ioctl's mode.
pub fn select_cache(open_flags: u32, word: u64) -> Cache {
    if open_flags & O_DSYNC != 0 {
        return Cache::Uncached;
    }
    Cache::from_user((word & WORD_CACHE_MASK) as u32).unwrap_or(Cache::WriteBack)
}

/// The range rule of `__arm_dma_mmap`/`dma_direct_mmap`: the mapping's
/// pages must lie inside the buffer's, else `ENXIO`.
pub fn check_range(offset: u64, len: usize) -> Result<(), Errno> {
    let count = (SIZE / PAGE_SIZE) as u64;
    let pgoff = offset / PAGE_SIZE as u64;
    let user_count = (len as u64).div_ceil(PAGE_SIZE as u64);
    if pgoff >= count || user_count > count - pgoff {
        return Err(Errno::ENXIO);
    }
    Ok(())
}

/// The whole `mmap` decision, pure: private `EINVAL`, range `ENXIO`, a
/// conflicting type mapped now `EBUSY`; else the memory type to map.
pub fn check_mmap(a: &MmapArgs, word: u64, mapped: &MappedTypes) -> Result<MemoryType, Errno> {
    if !a.shared {
        return Err(Errno::EINVAL);
    }
    check_range(a.offset, a.len)?;
    let mem = select_cache(a.open_flags, word).mem();
    if !mapped.all_are(mem) {
        return Err(Errno::EBUSY);
    }
    Ok(mem)
}

/// 32-bit FNV-1a (offset basis 0x811c9dc5, prime 0x01000193).
pub fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u32 {
    bytes.into_iter().fold(0x811c_9dc5u32, |h, b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    })
}

/// What the driver needs from the machine (the kernel's alias of the
/// buffer); a fake in the host tests.
pub trait BufferHw: Sync {
    /// Read byte `i` of the buffer through the kernel alias.
    fn read(&self, i: usize) -> u8;
    /// Write byte `i` through the kernel alias.
    fn write(&self, i: usize, v: u8);
    /// Change the kernel alias from `from` to `to` (cache maintenance
    /// and break-before-make included).
    fn set_alias(&self, from: MemoryType, to: MemoryType) -> Result<(), Errno>;
}

/// The driver: the buffer's physical address, its alias's type, and how
/// to reach it.
pub struct DmaBuf {
    phys: u64,
    alias: spin::Mutex<MemoryType>,
    hw: &'static dyn BufferHw,
}

impl DmaBuf {
    /// A driver over a buffer at `phys` whose kernel alias is write-back.
    pub const fn new(phys: u64, hw: &'static dyn BufferHw) -> DmaBuf {
        DmaBuf {
            phys,
            alias: spin::Mutex::new(MemoryType::NormalWriteBackWriteAlloc),
            hw,
        }
    }

    pub fn phys(&self) -> u64 {
        self.phys
    }

    /// The kernel alias's type now.
    pub fn alias(&self) -> MemoryType {
        *self.alias.lock()
    }

    fn info(&self, open_cache: Cache) -> [u8; INFO_SIZE] {
        let mut b = [0u8; INFO_SIZE];
        b[0..8].copy_from_slice(&self.phys.to_le_bytes());
        b[8..12].copy_from_slice(&(SIZE as u32).to_le_bytes());
        b[12..16].copy_from_slice(&(open_cache as u32).to_le_bytes());
        b[16..20].copy_from_slice(&(Cache::of_mem(self.alias()) as u32).to_le_bytes());
        b
    }

    /// What the driver sees through its own mapping (`DMABUF_READ_KERNEL`).
    pub fn peek(&self) -> [u8; PEEK_SIZE] {
        let mut b = [0u8; PEEK_SIZE];
        let sum = fnv1a((0..SIZE).map(|i| self.hw.read(i)));
        b[0..4].copy_from_slice(&sum.to_le_bytes());
        b[4..8].copy_from_slice(&(SIZE as u32).to_le_bytes());
        for i in 0..16 {
            b[8 + i] = self.hw.read(i);
            b[24 + i] = self.hw.read(PAGE_SIZE + i);
        }
        b
    }
}

impl CharDev for DmaBuf {
    fn open(&self, flags: u32, private: &PrivateData) -> Result<(), Errno> {
        if flags & O_DSYNC != 0 {
            *private.lock() |= WORD_SYNC;
        }
        Ok(())
    }

    fn read(&self, pos: u64, buf: &mut [u8], _private: &PrivateData) -> Result<usize, Errno> {
        let start = usize::try_from(pos).unwrap_or(usize::MAX).min(SIZE);
        let n = buf.len().min(SIZE - start);
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = self.hw.read(start + i);
        }
        Ok(n)
    }

    fn write(&self, pos: u64, buf: &[u8], _private: &PrivateData) -> Result<usize, Errno> {
        let start = usize::try_from(pos).unwrap_or(usize::MAX).min(SIZE);
        let n = buf.len().min(SIZE - start);
        if n == 0 && !buf.is_empty() {
            return Err(Errno::ENOSPC);
        }
        for (i, &b) in buf[..n].iter().enumerate() {
            self.hw.write(start + i, b);
        }
        Ok(n)
    }

    fn ioctl(
        &self,
        cmd: u32,
        arg: usize,
        user: &mut dyn UserCopy,
        private: &PrivateData,
    ) -> Result<usize, Errno> {
        match cmd {
            DMABUF_SET_CACHE => {
                let mut v = [0u8; 4];
                user.copy_from_user(arg, &mut v)?;
                let c = Cache::from_user(u32::from_le_bytes(v))?;
                let mut w = private.lock();
                *w = (*w & !WORD_CACHE_MASK) | c as u64;
                Ok(0)
            }
            DMABUF_GET_INFO => {
                let w = *private.lock();
                let flags = if w & WORD_SYNC != 0 { O_DSYNC } else { 0 };
                let c = select_cache(flags, w);
                user.copy_to_user(arg, &self.info(c))?;
                Ok(0)
            }
            DMABUF_READ_KERNEL => {
                let p = self.peek();
                let sum = u32::from_le_bytes([p[0], p[1], p[2], p[3]]);
                crate::kprintln!(
                    "dmabuf0: kernel alias ({:?}) sees fnv1a={sum:#010x} head={:02x?} page1={:02x?}",
                    self.alias(),
                    &p[8..16],
                    &p[24..32]
                );
                user.copy_to_user(arg, &p)?;
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn mmap(
        &self,
        a: &MmapArgs,
        private: &PrivateData,
        mapped: &MappedTypes,
    ) -> Result<DevMap, Errno> {
        let mem = check_mmap(a, *private.lock(), mapped)?;
        {
            let mut alias = self.alias.lock();
            if *alias != mem {
                self.hw.set_alias(*alias, mem)?;
                *alias = mem;
            }
        }
        let acc = a.open_flags & O_ACCMODE;
        Ok(DevMap {
            phys: self.phys + a.offset,
            mem,
            may_write: acc == O_WRONLY || acc == O_RDWR,
        })
    }

    fn exclusive_range(&self) -> Option<(u64, u64)> {
        Some((self.phys, self.phys + SIZE as u64))
    }

    fn owns_phys(&self, phys: u64) -> bool {
        phys.wrapping_sub(self.phys) < SIZE as u64
    }
}

#[cfg(target_os = "none")]
mod hw {
    use super::*;
    use crate::arch::current::cache;

    /// The buffer through the kernel's linear map.
    pub struct LinearAlias {
        pub va: usize,
        pub phys: u64,
    }

    impl BufferHw for LinearAlias {
        fn read(&self, i: usize) -> u8 {
            // SAFETY: `i < SIZE` (callers index within the buffer); the
            // driver owns the frames and the linear map keeps them mapped
            // (with whatever type the alias has: a byte access is allowed
            // on every type, aligned).
            unsafe { core::ptr::read_volatile((self.va + i % SIZE) as *const u8) }
        }

        fn write(&self, i: usize, v: u8) {
            // SAFETY: as in `read`; the alias is kernel read-write.
            unsafe { core::ptr::write_volatile((self.va + i % SIZE) as *mut u8, v) };
        }

        fn set_alias(&self, from: MemoryType, to: MemoryType) -> Result<(), Errno> {
            // ARM ARM "Mismatched memory attributes": before the type
            // changes, no line of the buffer may stay dirty or valid in
            // a cache: clean+invalidate by VA to the point of coherency
            // through the old (still live) mapping.
            cache::clean_invalidate_to_poc(self.va, SIZE);
            // Break-before-make of the 2 page entries with TLB
            // invalidation (and, to a non-cacheable type, one more
            // clean+invalidate while the old entry is live).
            cache::set_linear_type(self.phys, SIZE, to)?;
            // Lines the CPU may have allocated speculatively through the
            // old cacheable entry before it was broken: gone too (cache
            // maintenance by VA acts on the PA's lines whatever the VA's
            // type).
            cache::clean_invalidate_to_poc(self.va, SIZE);
            // The kernel's own entries now, raw, for the tests to decode
            // (AArch64: with MAIR_EL1 for the AttrIndx).
            let (e0, e1) = (
                cache::linear_entry(self.phys),
                cache::linear_entry(self.phys + PAGE_SIZE as u64),
            );
            #[cfg(target_arch = "aarch64")]
            let mair = cache::mair();
            #[cfg(not(target_arch = "aarch64"))]
            let mair = 0u64;
            crate::kprintln!(
                "dmabuf0: kernel alias {from:?} -> {to:?} entries={e0:#x},{e1:#x} mair={mair:#x}"
            );
            Ok(())
        }
    }
}

/// Start the driver (boot, on the boot stack, before any process): take
/// 2 contiguous zeroed frames and split the linear map to pages around
/// them (see the module doc). `ENOMEM` if there is no such run.
#[cfg(target_os = "none")]
pub fn init() -> Result<&'static dyn CharDev, Errno> {
    use crate::arch::current::{cache, mmu};
    use crate::mm::kmem;
    static HW: spin::Once<hw::LinearAlias> = spin::Once::new();
    static DEV: spin::Once<DmaBuf> = spin::Once::new();
    if let Some(d) = DEV.get() {
        return Ok(d);
    }
    let buf = kmem::alloc_frames_buffer::<mmu::Mem>(SIZE / PAGE_SIZE).ok_or(Errno::ENOMEM)?;
    buf.fill(0);
    let va = buf.as_mut_ptr() as usize;
    let phys = <mmu::Mem as kmem::KernelMemory>::virt_to_phys(va).ok_or(Errno::ENOMEM)?;
    // The one split of the linear map (same type: only the block sizes
    // change). Safe now: see the module doc.
    cache::set_linear_type(phys, SIZE, MemoryType::NormalWriteBackWriteAlloc)?;
    let hw = HW.call_once(|| hw::LinearAlias { va, phys });
    let dev = DEV.call_once(|| DmaBuf::new(phys, hw));
    crate::kprintln!(
        "dmabuf0: {SIZE} bytes at pa={phys:#x} (kernel va={va:#x}), linear map split to pages"
    );
    Ok(dev)
}

/// Host builds have no machine: the driver is tested through
/// [`DmaBuf`] with a fake [`BufferHw`].
#[cfg(not(target_os = "none"))]
pub fn init() -> Result<&'static dyn CharDev, Errno> {
    Err(Errno::ENODEV)
}

#[cfg(test)]
mod tests;
