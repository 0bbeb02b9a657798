//! The architecture-neutral kernel flow after the MMU is up: report what
//! was found, run the self-tests and the boot scenario, shut down with a
//! status the test harness reads.

use crate::bootinfo::BootInfo;
#[cfg(target_os = "none")]
use crate::kprintln;

static INFO: spin::Once<BootInfo> = spin::Once::new();

/// Passed/failed counts of a self-test.
#[derive(Default, Clone, Copy, Debug)]
pub struct Tally {
    pub passed: u32,
    pub failed: u32,
}

impl Tally {
    /// Count one check; returns `ok` so it can guard follow-up checks.
    pub fn check(&mut self, ok: bool) -> bool {
        if ok {
            self.passed += 1
        } else {
            self.failed += 1
        }
        ok
    }
}

pub fn info() -> &'static BootInfo {
    INFO.get().expect("boot info")
}

pub fn try_info() -> Option<&'static BootInfo> {
    INFO.get()
}

/// Entered by the architecture's start code once the kernel tables are
/// live and the console works.
#[cfg(target_os = "none")]
pub fn main(boot: &BootInfo, image_pa: u64) -> ! {
    use crate::arch::current as a;
    let info = INFO.call_once(|| boot.clone());
    let k = a::api::summary();
    let src = if info.from_dtb {
        "device tree"
    } else {
        "board file"
    };
    kprintln!("board: {} (from {src})", info.model());
    kprintln!("cmdline: \"{}\"", info.cmdline());
    kprintln!("memory map:");
    kprintln!(
        "  RAM      {:#010x}..{:#010x} ({} MiB)",
        info.ram_base,
        info.ram_base + info.ram_size,
        info.ram_size >> 20
    );
    kprintln!(
        "  kernel   {:#010x}..{:#010x} (image + BSS, linked at {:#x})",
        image_pa,
        image_pa + k.image_size,
        k.image_va
    );
    kprintln!("  UART     {:#010x} (PL011)", info.uart_base);
    if let Some((s, e)) = info.initrd {
        kprintln!("  initrd   {:#010x}..{:#010x} ({} bytes)", s, e, e - s);
    }
    kprintln!(
        "  devices  {:#010x}..{:#010x} -> VA {:#x}",
        k.device_pa,
        k.device_pa + k.device_size,
        k.device_va
    );
    let (free, total) = a::api::frames();
    kprintln!("frames: {free} free of {total} (4 KiB)");
    a::api::print_kernel_table();

    let failed = a::api::selftests();
    let (used, hfree) = crate::mm::heap::usage();
    kprintln!("heap: {used} bytes used, {hfree} free");
    let mut code = if failed == 0 { 0 } else { 1 };
    if info.arg("armmu.selftest_only").is_none() && failed == 0 {
        code = run_init(info);
    }
    kprintln!("armmu: shutting down, status {code}");
    a::api::exit(code, info.psci)
}

/// The initramfs linked into the kernel (`ARMMU_INITRAMFS` at build time;
/// empty if none was given).
#[cfg(target_os = "none")]
static BUILTIN_INITRAMFS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/initramfs.bin"));

/// Unpack the initramfs (bootloader's, else built-in) and run /init (or
/// `rdinit=`/`init=` from the command line). Returns the exit status for
/// the machine: init's exit code, or 128 + signal if it was killed.
#[cfg(target_os = "none")]
fn run_init(info: &BootInfo) -> u32 {
    use crate::arch::current::api;
    use crate::task::Ended;
    use alloc::vec::Vec;
    let raw: &'static [u8] = info
        .initrd
        .and_then(|(s, e)| api::initrd_slice(s, e))
        .unwrap_or(BUILTIN_INITRAMFS);
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
    api::init_cpu_for_users();

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
    if info.arg("armmu.faultinject") == Some("1") {
        crate::mm::inject::enable();
        kprintln!("fault injection: enabled (kernel-private syscalls 0xa20000..0xa20002)");
    }
    if info.arg("armmu.audit") == Some("1") {
        crate::mm::audit::enable();
        kprintln!("audit: enabled (after every syscall and resolved fault)");
    }
    let before = api::frames().0;
    let heap_before = crate::mm::heap::grown() / 4096;
    kprintln!("frames: {before} free before {path}");
    kprintln!("running {path} (pid 1) in {}", api::USER_MODE);
    let status = match api::run_task(1, path, &argv, &envp) {
        Ok(Ended::Exited(c)) => {
            kprintln!("task 1 ({path}) exited with status {c}");
            c as u32
        }
        Ok(Ended::Killed(sig)) => 128 + sig as u32,
        Err(e) => {
            kprintln!("exec {path} failed: {e}");
            127
        }
    };
    // Frames the kernel heap took meanwhile are the kernel's, not the
    // task's: they are counted apart (the heap keeps its regions).
    let heap_after = crate::mm::heap::grown() / 4096;
    let after = api::frames().0 + (heap_after - heap_before);
    kprintln!(
        "frames: {after} free after {path} (before: {before}, {})",
        if after == before { "no leak" } else { "LEAK" }
    );
    if heap_after > heap_before {
        kprintln!(
            "heap: grew by {} frames during {path}",
            heap_after - heap_before
        );
    }
    status
}
