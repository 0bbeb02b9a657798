//! First Rust code on AArch64: build the kernel tables (TTBR1) from the
//! DTB's facts, switch to them, hand over to the neutral kernel.

use super::format::{Table, Vmsa64};
use super::mmu::{self, HwEnv, Layout, Mm, IMAGE_VA, KERNEL_SPLIT, LINEAR_BASE, LINEAR_MAX};
use crate::bootinfo::BootInfo;
use crate::mm::memtype::MapAttrs;
use crate::{console, kprintln};
use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::*;

extern "C" {
    static __image_start: u8;
    static __text_end: u8;
    static __rodata_end: u8;
    static __image_end: u8;
}

fn sym(s: &u8) -> u64 {
    s as *const u8 as u64
}

#[repr(C, align(4096))]
struct Root([u64; 512]);
static mut KERNEL_ROOT: Root = Root([0; 512]);

#[no_mangle]
pub extern "C" fn aarch64_entry(dtb_pa: u64, image_pa: u64) -> ! {
    // No console yet: it comes from the device tree. Until it is mapped,
    // messages wait in the console's early buffer.
    kprintln!();
    kprintln!("armmu: AArch64 kernel, image loaded at {image_pa:#010x}, DTB at {dtb_pa:#010x}");
    let info = read_dtb(dtb_pa);
    // SAFETY: linker symbols; only their addresses are used.
    let (start, text_end, ro_end, end) = unsafe {
        (
            sym(&__image_start),
            sym(&__text_end),
            sym(&__rodata_end),
            sym(&__image_end),
        )
    };
    mmu::set_layout(Layout {
        image_pa,
        image_size: end - start,
        image_va: IMAGE_VA,
        ram_base: info.ram_base,
        ram_size: info.ram_size.min(LINEAR_MAX),
        linear_base: LINEAR_BASE,
    });
    crate::mm::heap::init();
    let frames = info.boot_frames(LINEAR_MAX, dtb_pa, image_pa + (end - start));
    *mmu::MM.lock() = Some(Mm { frames });
    let root = mmu::virt_to_phys(core::ptr::addr_of!(KERNEL_ROOT) as u64).unwrap();
    let table = Table {
        root_pa: root,
        va_lo: KERNEL_SPLIT,
        va_hi: u64::MAX,
        asid: None,
        format: Vmsa64,
    };
    mmu::KERNEL_TABLE.call_once(|| table);
    let l = *mmu::layout();
    mmu::with_mm(|mm| {
        let mut env = HwEnv { mm };
        for (s, e, a) in crate::mm::layout::image_regions(start, text_end, ro_end, end) {
            if e > s {
                table
                    .map(&mut env, s, image_pa + (s - IMAGE_VA), e - s, a)
                    .expect("map kernel image");
            }
        }
        table
            .map(
                &mut env,
                LINEAR_BASE,
                l.ram_base,
                l.ram_size,
                MapAttrs::kernel_data(),
            )
            .expect("map linear RAM");
    });
    let console_va = map_console(&info);
    // Switch TTBR1 to the kernel table: it maps the running image to the
    // same pages with the same type, so the switch is seamless; TTBR0 walks
    // are disabled (EPD0) until a task runs. TCR/MAIR through aarch64-cpu.
    barrier::dsb(barrier::ISHST);
    TTBR1_EL1.set_baddr(root);
    TCR_EL1.modify(TCR_EL1::EPD0::DisableTTBR0Walks);
    // 16-bit ASIDs where the CPU has them (TCR_EL1.AS is RES0 otherwise):
    // no non-global entry exists yet, and the TLBI below follows.
    if super::asid_hw::hw_asid_bits() == 16 {
        TCR_EL1.modify(TCR_EL1::AS::ASID16Bits);
    }
    barrier::isb(barrier::SY);
    // SAFETY: TLB maintenance only; drops the boot identity map.
    unsafe { core::arch::asm!("tlbi vmalle1is") };
    barrier::dsb(barrier::ISH);
    barrier::isb(barrier::SY);
    if let (Some(c), Some(va)) = (info.console, console_va) {
        // SAFETY: `map_console` mapped the UART's registers at `va`
        // (Device, kernel RW) in the table now live; the mapping stays.
        unsafe { console::init(c.kind, va as usize) };
    }
    // The linear map is live: the heap may now grow from frames.
    crate::mm::kmem::enable_heap_growth::<mmu::Mem>();
    crate::kernel::main(&info, image_pa)
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

fn read_dtb(dtb_pa: u64) -> BootInfo {
    // SAFETY: the boot tables identity-map bootinfo::DTB_MAX bytes from the
    // DTB (Normal memory); nothing writes the DTB during boot.
    unsafe { crate::bootinfo::read_dtb(dtb_pa as usize) }
}
