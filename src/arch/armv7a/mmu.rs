//! The kernel's view of memory on ARMv7-A: the virtual layout, physical
//! memory access, and the hardware [`TableEnv`] with real barriers and TLB
//! maintenance.
//!
//! Virtual layout (TTBCR.N = 1: TTBR0 translates 0..2 GiB for the current
//! task, TTBR1 the kernel half):
//!
//! | VA                        | what                                   |
//! |---------------------------|----------------------------------------|
//! | 0x0000_0000..0x7FFF_FFFF  | user (per-task table, nG entries)     |
//! | 0x8000_0000..0xBFFF_FFFF  | linear map of RAM (up to 1 GiB), XN   |
//! | 0xC000_0000..0xC07F_FFFF  | kernel image + BSS (8 MiB window)     |
//! | 0xE000_0000..0xEFFF_FFFF  | self-test and alias window            |
//! | 0xF000_0000..0xFEFF_FFFF  | device registers mapped on demand     |

use super::format::Table;
use super::l2alloc::L2Alloc;
use crate::mm::frame::FrameAllocator;

pub const LINEAR_BASE: u32 = 0x8000_0000;
pub const LINEAR_MAX: u32 = 0x4000_0000;
pub const IMAGE_VA: u32 = 0xC000_0000;
pub const TEST_VA: u32 = 0xE000_0000;
pub const TEST_VA_END: u32 = 0xF000_0000;
/// Device registers the kernel drives (console, GIC, ...), mapped on
/// demand ([`ioremap`]): `IO_SIZE` bytes from here.
pub const IO_VA: u32 = 0xF000_0000;
pub const IO_SIZE: u32 = 0x0F00_0000;
/// First address of the kernel half (TTBCR.N = 1).
pub const KERNEL_SPLIT: u32 = 0x8000_0000;

pub use crate::mm::layout::KernelLayout as Layout;

static LAYOUT: spin::Once<Layout> = spin::Once::new();

pub fn set_layout(l: Layout) {
    LAYOUT.call_once(|| l);
}

pub fn layout() -> &'static Layout {
    LAYOUT.get().expect("layout set at boot")
}

/// Kernel virtual address of a physical address (see [`Layout::phys_to_virt`]).
pub fn phys_to_virt(pa: u32) -> usize {
    layout().phys_to_virt(pa as u64) as usize
}

/// Physical address of a kernel image or linear-map address.
pub fn virt_to_phys(va: usize) -> Option<u32> {
    layout().virt_to_phys(va as u64).map(|p| p as u32)
}

pub fn is_ram(pa: u64) -> bool {
    layout().is_ram(pa)
}

/// Physical memory bookkeeping shared by every address space.
pub struct Mm {
    pub frames: FrameAllocator,
    pub l2: L2Alloc,
}

pub static MM: spin::Mutex<Option<Mm>> = spin::Mutex::new(None);

/// Run `f` with the memory manager.
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

/// The kernel's TTBR1 table.
pub static KERNEL_TABLE: spin::Once<Table> = spin::Once::new();

pub fn kernel_table() -> Table {
    *KERNEL_TABLE.get().expect("kernel table built")
}

/// Zero a 4 KiB frame through the linear map.
///
/// # Safety
/// `pa` is a RAM frame the caller owns (just allocated): anything else
/// there would be overwritten.
pub unsafe fn zero_frame(pa: u32) {
    let va = phys_to_virt(pa) as *mut u8;
    // SAFETY: the caller's contract; the linear map covers all RAM
    // read-write as Normal memory; frames are page-aligned.
    unsafe { crate::mm::pageops::zero_page(va as usize) };
}

/// The hardware environment for the table code.
pub struct HwEnv<'a> {
    pub mm: &'a mut Mm,
}

#[cfg(target_arch = "arm")]
mod hw {
    use super::*;
    use crate::arch::armv7a::cp15;
    use crate::arch::armv7a::format::ShortDescriptor;
    use crate::errno::Errno;
    use crate::mm::pagetable::TableEnv;
    use aarch32_cpu::asm::{dsb, isb};

    /// Whether table walks snoop the data cache (ID_MMFR3.CohWalk, [23:20]).
    /// If not, every descriptor write is cleaned to PoU (ARM ARM B3.3.1).
    fn coherent_walk() -> bool {
        static COHERENT: spin::Once<bool> = spin::Once::new();
        *COHERENT.call_once(|| (cp15::IdMmfr3::read() >> 20) & 0xf != 0)
    }

    /// Smallest data cache line (CTR.DminLine, log2 words).
    pub fn dcache_line() -> u32 {
        4 << ((cp15::Ctr::read() >> 16) & 0xf)
    }

    impl TableEnv<ShortDescriptor> for HwEnv<'_> {
        fn read(&self, pa: u64) -> u64 {
            // SAFETY: table memory is mapped (image window or linear map)
            // and 4-byte aligned; the table code only passes descriptor PAs.
            unsafe { core::ptr::read_volatile(phys_to_virt(pa as u32) as *const u32) as u64 }
        }

        fn write(&mut self, pa: u64, val: u64) {
            let va = phys_to_virt(pa as u32);
            // SAFETY: as in `read`; the MM lock serialises table writers.
            unsafe { core::ptr::write_volatile(va as *mut u32, val as u32) };
            if !coherent_walk() {
                // SAFETY: cache maintenance by MVA on a mapped address.
                unsafe { cp15::Dccmvau::write(va as u32 & !31) };
            }
        }

        /// Only L2 tables are ever allocated: 1 KiB, from the pool.
        fn alloc_table(&mut self, _level: u8) -> Result<u64, Errno> {
            let Mm { frames, l2 } = &mut *self.mm;
            let t = l2.alloc(|| frames.alloc().map(|f| f as u32))?;
            let va = phys_to_virt(t);
            // SAFETY: a free 1 KiB table, mapped, owned by the MM lock
            // holder, 1 KiB-aligned.
            unsafe { crate::mm::pageops::zero_bytes(va, 1024) };
            if !coherent_walk() {
                for line in (0..1024).step_by(dcache_line() as usize) {
                    // SAFETY: cache maintenance by MVA on a mapped address.
                    unsafe { cp15::Dccmvau::write((va + line) as u32) };
                }
            }
            Ok(t as u64)
        }

        fn free_table(&mut self, pa: u64, _level: u8) {
            if let Some(frame) = self.mm.l2.free(pa as u32) {
                crate::mm::must(self.mm.frames.free(frame as u64), "free an L2 pool frame");
            }
        }

        fn publish(&mut self) {
            // Descriptor writes complete before the walker may read them.
            dsb();
        }

        fn tlb_invalidate(&mut self, va: u64, asid: Option<u16>) {
            let va = va as u32;
            // ASIDs are 8 bits on ARMv7-A (CONTEXTIDR.ASID).
            // SAFETY: TLB invalidation has no memory-safety effect.
            unsafe {
                match asid {
                    Some(a) => cp15::Tlbimvais::write((va & !0xfff) | (a as u8) as u32),
                    None => cp15::Tlbimvaais::write(va & !0xfff),
                }
            }
        }

        fn tlb_invalidate_all(&mut self, asid: Option<u16>) {
            // SAFETY: as above.
            unsafe {
                match asid {
                    Some(a) => cp15::Tlbiasidis::write((a as u8) as u32),
                    None => cp15::Tlbiallis::write(0),
                }
            }
        }

        fn tlb_sync(&mut self) {
            // ARM ARM B2.2.6: branch predictors are maintained when a
            // translation changes; DSB completes the TLBIs, ISB makes the
            // instruction stream see them (B3.10.1).
            // SAFETY: predictor invalidation has no memory-safety effect.
            unsafe { cp15::Bpiallis::write(0) };
            dsb();
            isb();
        }

        fn table_is_empty(&self, pa: u64, _level: u8) -> bool {
            // SAFETY: a live 1 KiB L2 table (only L2 tables are ever
            // emptied and freed), mapped and 4-byte aligned.
            // Bits [1:0] = 0b00 is a fault entry (B3.5.1).
            !unsafe { crate::mm::pageops::any_bits(phys_to_virt(pa as u32), 1024, 0b11) }
        }

        fn first_valid(&self, pa: u64, from: u64, to: u64) -> Option<u64> {
            // SAFETY: a live table (the L1's 2048 or 4096 entries, or a
            // 1 KiB L2), mapped and 4-byte aligned; `to` is within it
            // (the engine's contract).
            let t = unsafe {
                core::slice::from_raw_parts(phys_to_virt(pa as u32) as *const u32, to as usize)
            };
            // Valid is bits [1:0] != 0b00 at both levels (B3.5.1).
            crate::mm::pageops::first_with_bits(t, from as usize, 0b11).map(|i| i as u64)
        }

        fn clean_invalidate_dcache(&mut self, va: u64, pa: u64, size: u64) {
            // `va..va+size` is mapped (the caller cleans a live mapping
            // before changing its type) to `pa..pa+size`: DCCIMVAC by VA,
            // and with an enabled L2C-310 its by-PA clean+invalidate in
            // the order `drivers::pl310::clean_invalidate` gives.
            crate::arch::armv7a::cache::clean_invalidate_to_poc_pa(va as usize, pa, size as usize);
        }
    }

    /// Unmapped user frames go back while the MM lock is held.
    impl crate::mm::pagetable::task::WithFrames for HwEnv<'_> {
        fn frames(&mut self) -> &mut FrameAllocator {
            &mut self.mm.frames
        }
    }
}

#[cfg(target_arch = "arm")]
pub use hw::dcache_line;

/// The kernel's device-register area.
pub static IO: spin::Mutex<crate::mm::layout::IoSpace> = spin::Mutex::new(
    crate::mm::layout::IoSpace::new(IO_VA as u64, IO_SIZE as u64),
);

/// Map device registers `[pa, pa + len)` for the kernel (Device, RW, XN)
/// and return their VA (Linux's `ioremap`). Never RAM: `None` if the
/// pages touch a RAM bank or reserved range (`bootinfo::devices`) or the
/// linear map, if the area is full, or before the kernel table exists.
#[cfg(target_arch = "arm")]
pub fn ioremap(pa: u64, len: u64) -> Option<u64> {
    crate::bootinfo::devices::DEVICES
        .lock()
        .io_pages(pa, len, |p| layout().is_ram(p))?;
    let table = KERNEL_TABLE.get()?;
    with_mm(|mm| crate::mm::layout::map_io(table, &mut HwEnv { mm }, &mut IO.lock(), pa, len))
}
