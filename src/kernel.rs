//! The architecture-neutral kernel flow after the MMU is up: report what
//! was found, run the self-tests and the boot scenario, shut down with a
//! status the test harness reads.

use crate::bootinfo::BootInfo;
use crate::kprintln;

static INFO: spin::Once<BootInfo> = spin::Once::new();

pub fn info() -> &'static BootInfo {
    INFO.get().expect("boot info")
}

#[cfg(target_arch = "arm")]
pub fn main(boot: &BootInfo, image_pa: u32) -> ! {
    use crate::arch::armv7a::{mmu, power, selftest};
    let info = INFO.call_once(|| boot.clone());
    let l = mmu::layout();
    kprintln!(
        "board: {} (from {})",
        info.model(),
        if info.from_dtb {
            "device tree"
        } else {
            "board file"
        }
    );
    kprintln!("cmdline: \"{}\"", info.cmdline());
    kprintln!("memory map:");
    kprintln!(
        "  RAM      {:#010x}..{:#010x} ({} MiB)",
        info.ram_base,
        info.ram_base + info.ram_size,
        info.ram_size >> 20
    );
    kprintln!(
        "  kernel   {:#010x}..{:#010x} (image + BSS, linked at {:#010x})",
        image_pa,
        image_pa + l.image_size,
        mmu::IMAGE_VA
    );
    kprintln!("  UART     {:#010x} (PL011)", info.uart_base);
    if let Some((s, e)) = info.initrd {
        kprintln!("  initrd   {:#010x}..{:#010x} ({} bytes)", s, e, e - s);
    }
    kprintln!(
        "  devices  {:#010x}..{:#010x} -> VA {:#010x}",
        l.device_pa,
        l.device_pa + l.device_size,
        mmu::DEVICE_VA
    );
    let (free, total) = mmu::with_mm(|mm| (mm.frames.free_count(), mm.frames.total()));
    kprintln!("frames: {free} free of {total} (4 KiB)");
    crate::arch::armv7a::table_dump::print_kernel_table();

    let mut failed = 0;
    let t = selftest::memory_types();
    failed += t.failed;
    let t = selftest::accesses();
    failed += t.failed;
    let (used, hfree) = crate::mm::heap::usage();
    kprintln!("heap: {used} bytes used, {hfree} free");
    let code = if failed == 0 { 0 } else { 1 };
    kprintln!("armmu: shutting down, status {code}");
    power::exit(code, info.psci)
}

pub fn try_info() -> Option<&'static BootInfo> {
    INFO.get()
}
