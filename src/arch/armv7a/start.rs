//! First Rust code: build the kernel translation tables from the DTB's
//! facts, switch to them, and hand over to the architecture-neutral kernel.

use super::boot::{BOOT_L2, BOOT_WINDOW_L2_TABLES};
use super::cp15;
use super::desc::L2_TABLE_SIZE;
use super::format::{ShortDescriptor, Table};
use super::l2alloc::L2Alloc;
use super::mmu::{self, HwEnv, Layout, Mm, IMAGE_VA, KERNEL_SPLIT, LINEAR_BASE, LINEAR_MAX};
use crate::bootinfo::BootInfo;
use crate::mm::layout::image_regions;
use crate::mm::memtype::MapAttrs;
use crate::{console, kprintln};
use aarch32_cpu::asm::{dsb, isb};

extern "C" {
    static __image_start: u8;
    static __text_end: u8;
    static __rodata_end: u8;
    static __image_end: u8;
}

fn sym(s: &u8) -> u32 {
    s as *const u8 as u32
}

/// Room for a 16 KiB-aligned (by physical address) L1 table wherever the
/// image was loaded.
#[repr(C, align(16384))]
struct KernelL1([u32; 8192]);
static mut KERNEL_L1: KernelL1 = KernelL1([0; 8192]);

/// Static L2 tables for the kernel half, usable before the linear map.
const POOL_TABLES: usize = 32;
#[repr(C, align(4096))]
struct L2Pool([u8; POOL_TABLES * 1024]);
static mut L2_POOL: L2Pool = L2Pool([0; POOL_TABLES * 1024]);

/// TTBCR: N = 1 (TTBR0 below 2 GiB), PD0 = 1 until a task installs TTBR0.
const TTBCR_N1: u32 = 1;
const TTBCR_PD0: u32 = 1 << 4;

/// Called by the boot asm with the MMU on (boot tables), on the boot stack.
#[no_mangle]
pub extern "C" fn armv7a_entry(dtb_pa: u32, image_pa: u32) -> ! {
    // No console yet: it comes from the device tree. Until it is mapped,
    // messages wait in the console's early buffer.
    kprintln!();
    kprintln!("armmu: ARMv7-A kernel, image loaded at {image_pa:#010x}, DTB at {dtb_pa:#010x}");
    super::boot::log_entry_mode();

    let info = read_dtb(dtb_pa);
    // SAFETY: linker symbols, only their addresses are used.
    let (start, text_end, ro_end, end) = unsafe {
        (
            sym(&__image_start),
            sym(&__text_end),
            sym(&__rodata_end),
            sym(&__image_end),
        )
    };
    let image_size = end - start;
    mmu::set_layout(Layout {
        image_pa: image_pa as u64,
        image_size: image_size as u64,
        image_va: IMAGE_VA as u64,
        ram_base: info.ram_base,
        ram_size: info.ram_size.min(LINEAR_MAX as u64),
        linear_base: LINEAR_BASE as u64,
    });
    crate::mm::heap::init();

    let pool_pa = mmu::virt_to_phys(core::ptr::addr_of!(L2_POOL) as usize).unwrap();
    let l1_area = mmu::virt_to_phys(core::ptr::addr_of!(KERNEL_L1) as usize).unwrap();
    let l1_pa = (l1_area + 0x3fff) & !0x3fff;
    let frames = info.boot_frames(
        LINEAR_MAX as u64,
        dtb_pa as u64,
        image_pa as u64 + image_size as u64,
    );
    *mmu::MM.lock() = Some(Mm {
        frames,
        l2: L2Alloc::new(pool_pa, POOL_TABLES as u32),
    });

    if !super::format::pxn_implemented() {
        // The Cortex-A9: sections and L1 page-table entries carry no PXN
        // (see `format::ShortDescriptor`).
        kprintln!(
            "mmu: no PXN in the short-descriptor format (ID_MMFR0 {:#010x}, VMSA {:#06b}): user pages are not PXN; the kernel never branches to a user address, and its data is XN",
            super::cp15::IdMmfr0::read(),
            super::cp15::IdMmfr0::read() & 0xf
        );
        crate::mm::audit::set_no_pxn();
    }
    let table = Table {
        root_pa: l1_pa as u64,
        va_lo: KERNEL_SPLIT as u64,
        va_hi: u32::MAX as u64,
        asid: None,
        format: ShortDescriptor::this_cpu(0),
    };
    mmu::KERNEL_TABLE.call_once(|| table);
    build_kernel_map(&table, image_pa, [start, text_end, ro_end, end]);
    let console_va = map_console(&info);
    switch_to_kernel_tables(l1_pa);

    if let (Some(c), Some(va)) = (info.console, console_va) {
        // SAFETY: `map_console` mapped the UART's registers at `va`
        // (Device, kernel RW) in the table now live; the mapping stays.
        unsafe { console::init(c.kind, va as usize) };
    }
    // The linear map is live: the heap may now grow from frames.
    crate::mm::kmem::enable_heap_growth::<mmu::Mem>();
    crate::kernel::main(&info, image_pa as u64)
}

/// Map the console UART's registers (on demand, [`mmu::ioremap`]). Their
/// VA (None: no console, or it cannot be mapped, and the kernel stays
/// silent).
fn map_console(info: &BootInfo) -> Option<u64> {
    let c = info.console?;
    let (s, e) = c.map_range();
    let va = mmu::ioremap(s, e.checked_sub(s)?)?;
    va.checked_add(c.pa.checked_sub(s)?)
}

fn read_dtb(dtb_pa: u32) -> BootInfo {
    // SAFETY: the boot tables identity-map bootinfo::DTB_MAX bytes from the
    // DTB (Normal memory); nothing writes the DTB during boot.
    unsafe { crate::bootinfo::read_dtb(dtb_pa as usize) }
}

fn build_kernel_map(table: &Table, image_pa: u32, [start, text_end, ro_end, end]: [u32; 4]) {
    let l = mmu::layout();
    mmu::with_mm(|mm| {
        let mut env = HwEnv { mm };
        let regions = image_regions(start as u64, text_end as u64, ro_end as u64, end as u64);
        let image_pa = image_pa as u64;
        for (s, e, a) in regions {
            if e > s {
                table
                    .map(&mut env, s, image_pa + (s - IMAGE_VA as u64), e - s, a)
                    .expect("map kernel image");
            }
        }
        table
            .map(
                &mut env,
                LINEAR_BASE as u64,
                l.ram_base,
                l.ram_size,
                MapAttrs::kernel_data(),
            )
            .expect("map linear RAM");
    });
}

/// Move from the boot table (TTBR0, N = 0) to the kernel table (TTBR1,
/// N = 1). The kernel window translates to the same physical pages with the
/// same memory type in both, so the instruction stream is unaffected.
fn switch_to_kernel_tables(l1_pa: u32) {
    // SAFETY: the new table maps the running code, stack and data at the
    // same addresses with the same memory type; barriers per ARM ARM B3.10.
    unsafe {
        // Table writes visible to the walker before it can use TTBR1.
        dsb();
        cp15::Ttbr1::write(l1_pa | super::boot::templates::TTBR_WALK_WBWA_S);
        isb();
        cp15::Ttbcr::write(TTBCR_N1 | TTBCR_PD0);
        isb();
        // Entries cached from the boot table (identity map) must go.
        cp15::Tlbiallis::write(0);
        cp15::Bpiallis::write(0);
        dsb();
        isb();
    }
    // The boot L2 tables are no longer referenced by any live table.
    let _ = (
        core::ptr::addr_of!(BOOT_L2),
        BOOT_WINDOW_L2_TABLES,
        L2_TABLE_SIZE,
    );
}
