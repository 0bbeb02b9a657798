//! User-task scenarios shared by both architectures: the same user
//! programs, the same expectations; only the names of the unprivileged
//! mode, the default CPU and the decoded kill reports differ.

use super::*;

/// What differs between the architectures.
pub struct Arch {
    /// How the log names the unprivileged level ("USR mode", "EL0").
    pub user_mode: &'static str,
    /// The CPU the single-CPU scenarios run on.
    pub cpu: &'static str,
    /// (program, extra command line, expected report after "killed: ", status).
    pub kills: &'static [(&'static str, &'static str, &'static str, i32)],
}

pub fn demo_init_maps_the_uart_and_ram(a: &Arch) {
    for cpu in cpus() {
        // No -initrd: the kernel's built-in initramfs.
        let b = boot(&cpu, None, "", 30);
        b.expect("(built-in)");
        b.expect(&format!("running /init (pid 1) in {}", a.user_mode));
        b.expect("init: hello from a static Linux program (write(1))");
        b.expect("init: hello through the PL011 mapped from user space!");
        b.expect("zeroed true pattern true");
        b.expect("task 1 (/init) exited with status 0");
        expect_no_leak(&b);
        b.expect_status(0);
    }
}

pub fn initrd_from_the_bootloader_gzip_and_plain(a: &Arch) {
    for img in ["initramfs.cpio.gz", "initramfs.cpio"] {
        let b = boot(a.cpu, Some(img), "rdinit=/bin/mmap_anon", 60);
        b.expect("(bootloader initrd)");
        b.expect(&format!(
            "running /bin/mmap_anon (pid 1) in {}",
            a.user_mode
        ));
        expect_all_passed(&b, 30);
        expect_no_leak(&b);
        b.expect_status(0);
    }
}

pub fn mmap_semantics_programs(a: &Arch) {
    for (prog, min) in [
        ("mmap_anon", 30),
        ("mmap_split", 20),
        ("mmap_errno", 15),
        ("policy", 8),
        // Checked against Debian's Linux 6.1 (armmp, arm64) under QEMU.
        ("linux_semantics", 46),
    ] {
        let b = boot(a.cpu, None, &format!("rdinit=/bin/{prog}"), 60);
        if prog == "mmap_errno" {
            // The probes sit on armmu's real user limit (ARMv7-A TASK_SIZE
            // 0x8000_0000, AArch64 2^39): beyond it ENOMEM, the last page
            // below it mappable.
            b.expect("ok - mmap MAP_FIXED beyond user space -> ENOMEM");
            b.expect("ok - mmap MAP_FIXED across the end of user space -> ENOMEM");
            b.expect("ok - mmap MAP_FIXED_NOREPLACE of the last user page -> that page");
            // The console is a tty, as on Linux booted with console=ttyAMA0.
            b.expect("# ioctl(1, TCGETS) = Ok(0x0) (stdout is a tty)");
            b.expect("ok - ioctl(stdout, TCGETS) -> 0 (the console is a tty)");
            b.expect("ok - TCGETS c_lflag of the console -> 0x8a3b");
        }
        expect_all_passed(&b, min);
        expect_no_leak(&b);
        b.expect_status(0);
    }
}

pub fn unknown_syscall_is_enosys_and_logged_once(a: &Arch) {
    let b = boot(a.cpu, None, "rdinit=/bin/mmap_errno", 60);
    let n = b.log.matches("syscall 999 not implemented: ENOSYS").count();
    assert_eq!(n, 1, "{}", b.log);
}

pub fn ten_thousand_mmap_cycles_leave_frames_unchanged(a: &Arch) {
    let b = boot(a.cpu, None, "rdinit=/bin/cycles", 120);
    b.expect("10000 of 10000 cycles completed");
    b.expect("1000 of 1000 cycles completed");
    expect_no_leak(&b);
    b.expect_status(0);
}

/// Faulting tasks are killed with the decoded fault and the signal Linux
/// would send; the kernel then shuts down cleanly with 128 + signal.
pub fn faulting_tasks_are_killed_and_the_kernel_survives(a: &Arch) {
    for &(prog, extra, report, status) in a.kills {
        let b = boot(a.cpu, None, &format!("rdinit=/bin/{prog} {extra}"), 30);
        b.expect(&format!("task 1 (/bin/{prog}) killed: {report}"));
        // An instruction fetch fault or an undefined instruction is reported
        // at the PC itself (IFAR / ELR = FAR): the address must equal pc.
        let line = b.line(&format!("task 1 (/bin/{prog}) killed: "));
        if line.contains("execute)") {
            let at = line.split(" at ").nth(1).and_then(|r| r.split(' ').next());
            let pc = line.split(" pc=").nth(1);
            assert!(at.is_some() && at == pc, "fault address != pc: {line}");
        }
        assert!(!b.has("UNEXPECTED"), "{}", b.log);
        b.expect(&format!("armmu: shutting down, status {status}"));
        expect_no_leak(&b);
        b.expect_status(status);
    }
}

/// Memory promised lazily runs out: Linux's OOM killer sends SIGKILL
/// (128 + 9 = 137); the kernel reports it as out of memory, not as a bad
/// pointer, and takes every frame back.
pub fn out_of_memory_is_a_sigkill_and_the_kernel_goes_on(a: &Arch) {
    let b = boot(a.cpu, None, "rdinit=/bin/oom", 60);
    b.expect("oom: 600 MiB mapped in three mappings");
    b.expect("task 1 (/bin/oom) killed: out of memory (SIGKILL): no free frame for a write at 0x");
    assert!(!b.has("UNEXPECTED") && !b.has("KERNEL PANIC"), "{}", b.log);
    b.expect("armmu: shutting down, status 137");
    expect_no_leak(&b);
    b.expect_status(137);
}

pub fn missing_or_bad_init_is_reported_not_a_crash(a: &Arch) {
    let b = boot(a.cpu, None, "rdinit=/no/such/file", 30);
    b.expect("exec /no/such/file failed");
    b.expect_status(127);
    // A directory is refused by the loader.
    let b = boot(a.cpu, None, "rdinit=/bin", 30);
    b.expect("exec /bin failed");
    b.expect_status(127);
}

pub fn glibc_static_program_runs_unchanged(a: &Arch) {
    let b = boot(a.cpu, Some("external.cpio"), "", 30);
    b.expect("devmem_demo: written to the PL011 data register by a glibc program");
    b.expect("devmem_demo: all good (0 failures)");
    b.expect("task 1 (/init) exited with status 0");
    expect_no_leak(&b);
    b.expect_status(0);
}

/// One `#[test]` per shared scenario.
#[macro_export]
macro_rules! user_scenarios {
    ($arch:expr) => {
        #[test]
        fn demo_init_maps_the_uart_and_ram() {
            common::scenarios::demo_init_maps_the_uart_and_ram(&$arch)
        }
        #[test]
        fn initrd_from_the_bootloader_gzip_and_plain() {
            common::scenarios::initrd_from_the_bootloader_gzip_and_plain(&$arch)
        }
        #[test]
        fn mmap_semantics_programs() {
            common::scenarios::mmap_semantics_programs(&$arch)
        }
        #[test]
        fn unknown_syscall_is_enosys_and_logged_once() {
            common::scenarios::unknown_syscall_is_enosys_and_logged_once(&$arch)
        }
        #[test]
        fn ten_thousand_mmap_cycles_leave_frames_unchanged() {
            common::scenarios::ten_thousand_mmap_cycles_leave_frames_unchanged(&$arch)
        }
        #[test]
        fn faulting_tasks_are_killed_and_the_kernel_survives() {
            common::scenarios::faulting_tasks_are_killed_and_the_kernel_survives(&$arch)
        }
        #[test]
        fn out_of_memory_is_a_sigkill_and_the_kernel_goes_on() {
            common::scenarios::out_of_memory_is_a_sigkill_and_the_kernel_goes_on(&$arch)
        }
        #[test]
        fn missing_or_bad_init_is_reported_not_a_crash() {
            common::scenarios::missing_or_bad_init_is_reported_not_a_crash(&$arch)
        }
        #[test]
        fn glibc_static_program_runs_unchanged() {
            common::scenarios::glibc_static_program_runs_unchanged(&$arch)
        }
    };
}
