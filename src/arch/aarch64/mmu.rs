//! The kernel's view of memory on AArch64 (39-bit VAs, 4 KiB granule) and
//! the hardware [`TableEnv`] with real barriers and TLB maintenance.
//!
//! | VA                                        | what                         |
//! |-------------------------------------------|------------------------------|
//! | 0x0000_0000_0000..0x007F_FFFF_FFFF        | user (TTBR0, per-task ASID)  |
//! | 0xFFFF_FF80_0000_0000..                   | linear map of RAM (TTBR1)    |
//! | 0xFFFF_FFC0_0000_0000..+16 MiB            | kernel image + BSS           |
//! | 0xFFFF_FFD0_0000_0000..                   | self-test window             |
//! | 0xFFFF_FFE0_0000_0000..+64 GiB            | device registers, on demand  |

use super::format::Table;
use crate::mm::frame::FrameAllocator;

pub const KERNEL_SPLIT: u64 = 0xFFFF_FF80_0000_0000;
pub const LINEAR_BASE: u64 = 0xFFFF_FF80_0000_0000;
pub const LINEAR_MAX: u64 = 64 << 30;
pub const IMAGE_VA: u64 = 0xFFFF_FFC0_0000_0000;
pub const TEST_VA: u64 = 0xFFFF_FFD0_0000_0000;
/// Device registers the kernel drives (console, GIC, ...), mapped on
/// demand ([`ioremap`]): `IO_SIZE` bytes from here.
pub const IO_VA: u64 = 0xFFFF_FFE0_0000_0000;
pub const IO_SIZE: u64 = 0x0000_0010_0000_0000;
pub const USER_TOP: u64 = 0x0000_0080_0000_0000;

pub use crate::mm::layout::KernelLayout as Layout;

static LAYOUT: spin::Once<Layout> = spin::Once::new();

pub fn set_layout(l: Layout) {
    LAYOUT.call_once(|| l);
}

pub fn layout() -> &'static Layout {
    LAYOUT.get().expect("layout set at boot")
}

pub fn phys_to_virt(pa: u64) -> u64 {
    layout().phys_to_virt(pa)
}

pub fn virt_to_phys(va: u64) -> Option<u64> {
    layout().virt_to_phys(va)
}

pub fn is_ram(pa: u64) -> bool {
    layout().is_ram(pa)
}

pub struct Mm {
    pub frames: FrameAllocator,
}

pub static MM: spin::Mutex<Option<Mm>> = spin::Mutex::new(None);

pub fn with_mm<R>(f: impl FnOnce(&mut Mm) -> R) -> R {
    let mut g = MM.lock();
    f(g.as_mut().expect("mm initialised"))
}

/// This architecture's memory manager for the neutral code
/// ([`crate::mm::kmem`]).
pub struct Mem;

impl crate::mm::kmem::KernelMemory for Mem {
    fn with_frames<R>(f: impl FnOnce(&mut FrameAllocator) -> R) -> R {
        with_mm(|mm| f(&mut mm.frames))
    }
    fn try_with_frames<R>(f: impl FnOnce(&mut FrameAllocator) -> R) -> Option<R> {
        let mut g = MM.try_lock()?;
        Some(f(&mut g.as_mut()?.frames))
    }
    fn phys_to_virt(pa: u64) -> usize {
        layout().phys_to_virt(pa) as usize
    }
    fn virt_to_phys(va: usize) -> Option<u64> {
        layout().virt_to_phys(va as u64)
    }
    fn is_ram(pa: u64) -> bool {
        is_ram(pa)
    }
}

pub static KERNEL_TABLE: spin::Once<Table> = spin::Once::new();

pub fn kernel_table() -> Table {
    *KERNEL_TABLE.get().expect("kernel table built")
}

/// Early table pages (before the linear map is live) come from here.
pub const POOL_PAGES: usize = 16;
#[repr(C, align(4096))]
pub struct Pool(pub [[u64; 512]; POOL_PAGES]);
pub static mut POOL: Pool = Pool([[0; 512]; POOL_PAGES]);
static POOL_USED: spin::Mutex<u32> = spin::Mutex::new(0);

pub struct HwEnv<'a> {
    pub mm: &'a mut Mm,
}

#[cfg(target_arch = "aarch64")]
mod hw {
    use super::*;
    use crate::arch::aarch64::format::Vmsa64;
    use crate::errno::Errno;
    use crate::mm::pagetable::TableEnv;
    use aarch64_cpu::asm::barrier;

    impl TableEnv<Vmsa64> for HwEnv<'_> {
        fn read(&self, pa: u64) -> u64 {
            // SAFETY: table memory is mapped (image window or linear map).
            unsafe { core::ptr::read_volatile(phys_to_virt(pa) as *const u64) }
        }

        fn write(&mut self, pa: u64, val: u64) {
            // SAFETY: as in `read`; the MM lock serialises table writers.
            // Table walks are coherent with the data cache on ARMv8-A.
            unsafe { core::ptr::write_volatile(phys_to_virt(pa) as *mut u64, val) };
        }

        fn alloc_table(&mut self, _level: u8) -> Result<u64, Errno> {
            let pool_pa = virt_to_phys(core::ptr::addr_of!(POOL) as u64).unwrap_or(0);
            let pa = {
                let mut used = POOL_USED.lock();
                match (0..POOL_PAGES as u32).find(|i| *used & (1 << i) == 0) {
                    Some(i) => {
                        *used |= 1 << i;
                        pool_pa + i as u64 * 4096
                    }
                    None => self.mm.frames.alloc()?,
                }
            };
            // SAFETY: a free table page, mapped as Normal memory, owned by
            // the MM lock holder.
            unsafe { crate::mm::pageops::zero_page(phys_to_virt(pa) as usize) };
            Ok(pa)
        }

        fn free_table(&mut self, pa: u64, _level: u8) {
            let pool_pa = virt_to_phys(core::ptr::addr_of!(POOL) as u64).unwrap_or(0);
            if pa >= pool_pa && pa < pool_pa + (POOL_PAGES as u64) * 4096 {
                *POOL_USED.lock() &= !(1 << ((pa - pool_pa) / 4096));
            } else {
                crate::mm::must(self.mm.frames.free(pa), "free a table");
            }
        }

        fn publish(&mut self) {
            // Descriptor writes visible to the walker (ARM ARM D8.2.6).
            barrier::dsb(barrier::ISHST);
        }

        fn tlb_invalidate(&mut self, va: u64, asid: Option<u16>) {
            let page = (va >> 12) & ((1 << 44) - 1);
            // SAFETY: TLB maintenance only.
            unsafe {
                match asid {
                    Some(a) => {
                        core::arch::asm!("tlbi vae1is, {x}", x = in(reg) page | ((a as u64) << 48))
                    }
                    None => core::arch::asm!("tlbi vaae1is, {x}", x = in(reg) page),
                }
            }
        }

        fn tlb_invalidate_all(&mut self, asid: Option<u16>) {
            // SAFETY: TLB maintenance only.
            unsafe {
                match asid {
                    Some(a) => core::arch::asm!("tlbi aside1is, {x}", x = in(reg) (a as u64) << 48),
                    None => core::arch::asm!("tlbi vmalle1is"),
                }
            }
        }

        fn tlb_sync(&mut self) {
            // DSB completes the invalidations, ISB resynchronises.
            barrier::dsb(barrier::ISH);
            barrier::isb(barrier::SY);
        }

        fn table_is_empty(&self, pa: u64, _level: u8) -> bool {
            // SAFETY: a live table page, mapped and 8-byte aligned.
            // Bit 0 clear is an invalid entry (D8.3.1).
            !unsafe { crate::mm::pageops::any_bits(phys_to_virt(pa) as usize, 4096, 1) }
        }

        fn first_valid(&self, pa: u64, from: u64, to: u64) -> Option<u64> {
            // SAFETY: a live table page (512 entries), mapped and 8-byte
            // aligned; `to` <= 512 (the engine's contract).
            let t =
                unsafe { core::slice::from_raw_parts(phys_to_virt(pa) as *const u64, to as usize) };
            // Valid is bit 0 (D8.3.1).
            crate::mm::pageops::first_with_bits(t, from as usize, 1).map(|i| i as u64)
        }

        fn clean_invalidate_dcache(&mut self, va: u64, _pa: u64, size: u64) {
            // No outer cache outside the architected ones on these boards:
            // DC CIVAC by VA reaches the PoC.
            let mut a = va & !63;
            while a < va + size {
                // SAFETY: cache maintenance on a live mapping.
                unsafe { core::arch::asm!("dc civac, {x}", x = in(reg) a) };
                a += 64;
            }
            barrier::dsb(barrier::ISH);
        }
    }

    /// Unmapped user frames go back while the MM lock is held.
    impl crate::mm::pagetable::task::WithFrames for HwEnv<'_> {
        fn frames(&mut self) -> &mut FrameAllocator {
            &mut self.mm.frames
        }
    }
}

/// The kernel's device-register area.
pub static IO: spin::Mutex<crate::mm::layout::IoSpace> =
    spin::Mutex::new(crate::mm::layout::IoSpace::new(IO_VA, IO_SIZE));

/// Map device registers `[pa, pa + len)` for the kernel (Device, RW, XN)
/// and return their VA (Linux's `ioremap`). Never RAM: `None` if the
/// pages touch a RAM bank or reserved range (`bootinfo::devices`) or the
/// linear map, if the area is full, or before the kernel table exists.
#[cfg(target_arch = "aarch64")]
pub fn ioremap(pa: u64, len: u64) -> Option<u64> {
    crate::bootinfo::devices::DEVICES
        .lock()
        .io_pages(pa, len, |p| layout().is_ram(p))?;
    let table = KERNEL_TABLE.get()?;
    with_mm(|mm| crate::mm::layout::map_io(table, &mut HwEnv { mm }, &mut IO.lock(), pa, len))
}
