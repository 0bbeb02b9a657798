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
    let mut code = if failed == 0 { 0 } else { 1 };
    if info.arg("armmu.selftest_only").is_none() && failed == 0 {
        code = run_init(info);
    }
    kprintln!("armmu: shutting down, status {code}");
    power::exit(code, info.psci)
}

pub fn try_info() -> Option<&'static BootInfo> {
    INFO.get()
}

/// The initramfs linked into the kernel (`ARMMU_INITRAMFS` at build time;
/// empty if none was given).
static BUILTIN_INITRAMFS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/initramfs.bin"));

/// Unpack the initramfs (bootloader's, else built-in) and run /init (or
/// `rdinit=`/`init=` from the command line). Returns the exit status for
/// the machine: init's exit code, or 128 + signal if it was killed.
#[cfg(target_arch = "arm")]
fn run_init(info: &BootInfo) -> u32 {
    use crate::arch::armv7a::{mmu, user};
    use alloc::vec::Vec;
    let raw: &'static [u8] = match info.initrd {
        Some((s, e)) if mmu::is_ram(s) && mmu::is_ram(e - 1) => {
            // SAFETY: the initrd frames are reserved and covered by the
            // linear map; nothing writes them.
            unsafe {
                core::slice::from_raw_parts(
                    mmu::phys_to_virt(s as u32) as *const u8,
                    (e - s) as usize,
                )
            }
        }
        _ => BUILTIN_INITRAMFS,
    };
    let source = if info.initrd.is_some() {
        "bootloader initrd"
    } else {
        "built-in"
    };
    if raw.is_empty() {
        kprintln!("initramfs: none (no -initrd and none built in): nothing to run");
        return 0;
    }
    let unpacked: &'static [u8] = match crate::loader::unpack_initramfs(raw) {
        Ok(alloc::borrow::Cow::Borrowed(b)) => b,
        Ok(alloc::borrow::Cow::Owned(v)) => alloc::boxed::Box::leak(v.into_boxed_slice()),
        Err(e) => {
            kprintln!("initramfs: {e}");
            return 1;
        }
    };
    kprintln!(
        "initramfs: {} bytes ({source}), {} unpacked",
        raw.len(),
        unpacked.len()
    );
    crate::task::set_initramfs(unpacked);
    user::init_cpu_for_users();

    let path = info.arg("rdinit").or(info.arg("init")).unwrap_or("/init");
    // Linux hands unrecognised `key=value` words of the command line to
    // init as environment, the rest as arguments.
    let mut envp: Vec<&[u8]> = alloc::vec![b"HOME=/".as_slice(), b"TERM=linux".as_slice()];
    let mut argv: Vec<&[u8]> = alloc::vec![path.as_bytes()];
    for w in info.cmdline().split_ascii_whitespace() {
        match w.split_once('=') {
            Some((k, _)) if k == "rdinit" || k == "init" || k.contains('.') => {}
            Some(_) => envp.push(w.as_bytes()),
            None => argv.push(w.as_bytes()),
        }
    }
    let before = mmu::with_mm(|mm| mm.frames.free_count());
    kprintln!("frames: {before} free before {path}");
    kprintln!("running {path} (pid 1) in USR mode");
    let status = match user::run(1, path, &argv, &envp) {
        Ok(user::Ended::Exited(c)) => {
            kprintln!("task 1 ({path}) exited with status {c}");
            c as u32
        }
        Ok(user::Ended::Killed(sig)) => 128 + sig as u32,
        Err(e) => {
            kprintln!("exec {path} failed: {e}");
            127
        }
    };
    let after = mmu::with_mm(|mm| mm.frames.free_count());
    kprintln!(
        "frames: {after} free after {path} (before: {before}, {})",
        if after == before { "no leak" } else { "LEAK" }
    );
    status
}
