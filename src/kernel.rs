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
    #[cfg(target_os = "none")]
    crate::testfault::maybe(info.cmdline(), crate::testfault::When::Console);
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
    if let Some(c) = info.console {
        kprintln!(
            "  UART     {:#010x} ({}, {}; from {})",
            c.pa,
            c.kind.name(),
            c.compatible,
            info.console_source
        );
    }
    for &(base, size) in info.ram_banks().iter().skip(1) {
        kprintln!(
            "  RAM bank {:#010x}..{:#010x} ({} MiB, not used)",
            base,
            base.saturating_add(size),
            size >> 20
        );
    }
    if let Some((s, e)) = info.initrd {
        kprintln!("  initrd   {:#010x}..{:#010x} ({} bytes)", s, e, e - s);
    }
    {
        let d = crate::bootinfo::devices::DEVICES.lock();
        kprintln!(
            "  devices  {} regions (from the {}), /dev/mem and /proc/iomem; kernel maps on demand at VA {:#x}",
            d.devices().count(),
            if d.from_dtb { "device tree" } else { "board file" },
            k.io_va
        );
    }
    let (free, total) = a::api::frames();
    kprintln!("frames: {free} free of {total} (4 KiB)");
    a::api::print_kernel_table();

    // The Cortex-A9 boards' outer cache (L2C-310): enabled before the
    // self-tests, so their memory-type changes maintain it too.
    #[cfg(target_arch = "arm")]
    if let Some(dtb) = info
        .dtb_pa
        .and_then(|pa| a::api::initrd_slice(pa, pa + info.dtb_size as u64))
    {
        crate::drivers::pl310::init(dtb);
    }
    // The GIC and the timer interrupt, proved with IRQs masked.
    let failed = a::api::selftests() + crate::drivers::irq::boot(info);
    // Console input by interrupt (polled without a GIC or an INTID).
    crate::console::start_rx_interrupt(crate::drivers::irq::boot::console_irq(info));
    let (used, hfree) = crate::mm::heap::usage();
    kprintln!("heap: {used} bytes used, {hfree} free");
    let mut code = if failed == 0 { 0 } else { 1 };
    if info.arg("armmu.selftest_only").is_none() && failed == 0 {
        // Character devices (/dev/mem, /dev/dmabuf0): on the boot stack,
        // before any process (dmabuf splits the linear map here).
        crate::drivers::register_chardevs();
        code = run_init(info, image_pa + k.image_size);
    }
    kprintln!("armmu: shutting down, status {code}");
    a::api::exit(code, info.psci)
}

/// The initramfs linked into the kernel (`ARMMU_INITRAMFS` at build time;
/// empty if none was given).
#[cfg(target_os = "none")]
static BUILTIN_INITRAMFS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/initramfs.bin"));

/// Unpack a compressed initramfs into physically contiguous frames (never
/// the heap). The limit follows Linux, whose initramfs root is a tmpfs
/// with the default size of half of RAM: the buffer is half of RAM, or the
/// largest contiguous free run if that is smaller. Unused frames are given
/// back. `None` (after a message) when it cannot be unpacked.
#[cfg(target_os = "none")]
fn unpack_into_frames(info: &BootInfo, raw: &[u8]) -> Option<&'static [u8]> {
    use crate::arch::current::api;
    use crate::mm::frame::FRAME_SIZE;
    let half = (info.ram_size / 2 / FRAME_SIZE) as usize;
    let (buf, why) = match api::alloc_frames_buffer(half) {
        Some(b) => (b, "half of RAM"),
        None => {
            // The largest run the allocator can give: binary search.
            let (mut fits, mut fails) = (0usize, half);
            while fails - fits > 1 {
                let mid = fits + (fails - fits) / 2;
                match api::alloc_frames_buffer(mid) {
                    Some(b) => {
                        api::free_frames_buffer_tail(b, 0);
                        fits = mid;
                    }
                    None => fails = mid,
                }
            }
            let b = if fits > 0 {
                api::alloc_frames_buffer(fits)
            } else {
                None
            };
            match b {
                Some(b) => (b, "the largest contiguous free run, less than half of RAM"),
                None => {
                    kprintln!("initramfs: no free frames to unpack into: refused");
                    return None;
                }
            }
        }
    };
    let limit = buf.len();
    kprintln!(
        "initramfs: unpacking into {} KiB of frames (limit: {why})",
        limit >> 10
    );
    match crate::loader::unpack_initramfs_into(raw, buf) {
        Ok(n) => {
            let kept = api::free_frames_buffer_tail(buf, n);
            Some(&kept[..n])
        }
        Err(e) => {
            api::free_frames_buffer_tail(buf, 0);
            match e {
                crate::loader::LoadError::InitramfsTooLarge { .. } => kprintln!(
                    "initramfs: unpacks to more than {} MiB (limit: {why}): refused",
                    limit >> 20
                ),
                e => kprintln!("initramfs: {e}"),
            }
            None
        }
    }
}

/// Unpack the initramfs (bootloader's, else built-in) and run /init (or
/// `rdinit=`/`init=` from the command line). Returns the exit status for
/// the machine: init's exit code, or 128 + signal if it was killed.
#[cfg(target_os = "none")]
fn run_init(info: &BootInfo, image_end_pa: u64) -> u32 {
    use crate::arch::current::api;
    use crate::task::Ended;
    use alloc::vec::Vec;
    let initrd = info.initrd.and_then(|(s, e)| api::initrd_slice(s, e));
    if let (Some((s, e)), None) = (info.initrd, initrd) {
        kprintln!("initrd {s:#x}..{e:#x} is not in RAM: ignored");
    }
    let raw: &'static [u8] = initrd.unwrap_or(BUILTIN_INITRAMFS);
    let source = if initrd.is_some() {
        "bootloader initrd"
    } else {
        "built-in"
    };
    if raw.is_empty() {
        kprintln!("initramfs: none (no -initrd and none built in): nothing to run");
        return 0;
    }
    let raw_len = raw.len();
    let unpacked: &'static [u8] = if crate::loader::initramfs_is_compressed(raw) {
        let Some(u) = unpack_into_frames(info, raw) else {
            return 1;
        };
        // The compressed blob is no longer needed (nothing reads `raw`
        // from here on): like Linux, give its pages back.
        let freeable = initrd.and_then(|_| info.initrd_frames_to_free(image_end_pa));
        if let Some((s, e)) = freeable {
            let n = api::free_phys_range(s, e);
            kprintln!("Freeing initrd memory: {}K", n * 4);
        }
        u
    } else {
        raw
    };
    kprintln!(
        "initramfs: {raw_len} bytes ({source}), {} unpacked",
        unpacked.len()
    );
    // Like Linux ("Initramfs unpacking failed: ..."), say what is wrong and
    // go on: the exec of /init then fails with the same reason.
    // The root: an empty tmpfs the archive is unpacked into.
    match crate::fs::tmpfs::Tmpfs::new(crate::fs::ROOT_DEV, (0, 0)) {
        Ok(mut root) => {
            let r = crate::loader::cpio::Archive::new(unpacked)
                .map_err(|e| {
                    crate::fs::UNPACK_ERROR.call_once(|| alloc::format!("{e}"));
                })
                .and_then(|a| {
                    crate::fs::unpack(&mut root, &a, &mut crate::fs::KernelPool, (0, 0)).map_err(
                        |e| {
                            crate::fs::UNPACK_ERROR
                                .call_once(|| alloc::string::String::from(e.name()));
                        },
                    )
                });
            match r {
                Ok(n) => kprintln!("rootfs: tmpfs, {n} files from the initramfs"),
                Err(()) => kprintln!(
                    "initramfs: unpacking failed: {}",
                    crate::fs::UNPACK_ERROR.get().map_or("?", |s| s.as_str())
                ),
            }
            *crate::fs::ROOT.lock() = Some(root);
        }
        Err(e) => kprintln!("rootfs: {}", e.name()),
    }
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
    if let Some(bits) = info
        .arg("armmu.asid_bits")
        .and_then(|b| b.parse::<u32>().ok())
    {
        crate::task::sched::ASID_BITS_CAP.store(bits, core::sync::atomic::Ordering::Relaxed);
        kprintln!("asid: at most {bits} bits (armmu.asid_bits)");
    }
    if info.arg("armmu.audit") == Some("1") {
        crate::mm::audit::enable();
        kprintln!("audit: enabled (after every syscall and resolved fault)");
    }
    let before = api::frames().0;
    let heap_before = crate::mm::heap::grown() / 4096;
    let cache_before = crate::fs::cache_frames();
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
    // So are the page cache frames of the files left in the root (a file
    // a program wrote stays, as on Linux); only they, not frames of
    // objects no file holds.
    let cache_after = crate::fs::cache_frames();
    if cache_after > cache_before {
        kprintln!(
            "page cache: {} frames held by files in the root",
            cache_after - cache_before
        );
    }
    let after =
        (api::frames().0 + (heap_after - heap_before) + cache_after).saturating_sub(cache_before);
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
