//! Processes: fork, copy-on-write, wait4, execve, signals, futexes, preemption, /proc,
//! and a busybox shell, each checked against what real Linux printed for the very same
//! static program.
//!
//! Where the expectations come from: `user/oracle/<program>.<arch>.txt`, recorded by
//! `user/scripts/oracle-record.sh`, which runs the program as `/init` on Debian's Linux
//! 6.1 (`linux-image-6.1.0-50-armmp` 6.1.176-1 on `qemu-system-arm -M virt -cpu
//! cortex-a15 -m 512M`; `linux-image-6.1.0-50-arm64-unsigned` 6.1.176-1 on
//! `qemu-system-aarch64 -M virt -cpu cortex-a53 -m 512M`; QEMU 7.2, one CPU) with the
//! cpio of `user/scripts/linux-oracle.sh` (`/init`, `/dev/{null,zero,console,mem}`) and
//! the command line `console=ttyAMA0 quiet panic=-1` plus:
//!
//! | program | extra Linux words | Linux 6.1 armmp | Linux 6.1 arm64 |
//! |---|---|---|---|
//! | fork_cow | `iomem=relaxed` (lets /dev/mem map the PL011 its driver holds) | 19 passed (+14 child) | the same |
//! | shm_ipc | | 5 passed | the same |
//! | futex_ipc | | 15 passed | the same |
//! | fork_many | | 5 passed | the same |
//! | child_fault | | 11 passed | the same |
//! | preempt | | 8 passed | the same |
//! | signals | | 58 passed (ARM has one more check: syscall 27 -> ENOSYS) | 57 passed |
//! | proc_maps | `norandmaps` (same maps every run) | 16 passed | the same |
//! | exec_test | | 7 passed (+10 in the exec'd child) | the same |
//! | uname_ids | | 16 passed | the same |
//! | busybox (`user/scripts/busybox-initramfs.sh --linux`) | `norandmaps iomem=relaxed` | exit 7 | exit 7 |
//!
//! What is compared: every line of the program's own output in the oracle file except
//! the `#` comments (which may differ: `# getpgid(0) = ...`, `# uname: ...`) and the
//! indented `/proc/self/maps` dump, in the same order, plus the `# passed N failed 0`
//! line; the exit status Linux reported (`Attempted to kill init! exitcode=0x...`: the
//! wait status, 0x100 * code); no leak. On armmu the programs run as `/bin/<program>`
//! (argv[0] differs from Linux's `/init`: no expected line depends on it).
//!
//! Hooked into tests/qemu.rs and tests/qemu_aarch64.rs (`process_scenarios!`).

use super::scenarios::Arch;
use super::*;

macro_rules! oracle_files {
    ($($p:literal),* $(,)?) => {
        /// The recorded Linux output of `prog` on `arch` ("arm" or "aarch64").
        pub fn oracle_text(prog: &str, arch: &str) -> &'static str {
            match (prog, arch) {
                $(
                    ($p, "arm") => include_str!(concat!("../../user/oracle/", $p, ".arm.txt")),
                    ($p, "aarch64") => include_str!(concat!("../../user/oracle/", $p, ".aarch64.txt")),
                )*
                _ => panic!("no oracle output for {prog} on {arch}"),
            }
        }
    };
}

oracle_files!(
    "fork_cow",
    "shm_ipc",
    "futex_ipc",
    "fork_many",
    "child_fault",
    "preempt",
    "signals",
    "proc_maps",
    "exec_test",
    "uname_ids",
    "busybox",
);

/// The lines of an oracle file armmu must print too, in order.
pub fn expected_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| {
            !l.is_empty()
                && !l.starts_with("  ")
                && !l.starts_with("Attempted to kill init")
                && (!l.starts_with('#') || l.starts_with("# passed "))
        })
        .collect()
}

/// The exit status Linux reported for init (`exitcode=0x...` is a wait status).
pub fn expected_status(text: &str) -> i32 {
    let l = text
        .lines()
        .find(|l| l.starts_with("Attempted to kill init! exitcode=0x"))
        .expect("the oracle file records init's exit");
    let hex = l.rsplit("0x").next().unwrap();
    let st = i32::from_str_radix(hex, 16).unwrap();
    if st & 0x7f == 0 {
        (st >> 8) & 0xff
    } else {
        128 + (st & 0x7f)
    }
}

/// `want` appears as lines of `log`, in this order (other lines may come between).
#[track_caller]
pub fn expect_in_order(b: &Boot, want: &[&str]) {
    let mut lines = b.log.lines().map(str::trim_end);
    for w in want {
        let w = w.trim_end();
        assert!(
            lines.any(|l| l == w),
            "missing (or out of order): {w:?}\n---- log ----\n{}",
            b.log
        );
    }
}

/// Boot `/bin/<prog>` and compare with Linux's output for `arch`.
pub fn program_matches_linux(a: &Arch, arch: &str, prog: &str, secs: u64) {
    let text = oracle_text(prog, arch);
    let b = boot(a.cpu, None, &format!("rdinit=/bin/{prog}"), secs);
    assert!(!b.has("not ok - "), "{}", b.log);
    expect_in_order(&b, &expected_lines(text));
    expect_no_leak(&b);
    b.expect_status(expected_status(text));
}

pub fn fork_cow(a: &Arch, arch: &str) {
    program_matches_linux(a, arch, "fork_cow", 60);
}
pub fn shm_ipc(a: &Arch, arch: &str) {
    program_matches_linux(a, arch, "shm_ipc", 60);
}
pub fn futex_ipc(a: &Arch, arch: &str) {
    program_matches_linux(a, arch, "futex_ipc", 60);
}
pub fn fork_many(a: &Arch, arch: &str) {
    program_matches_linux(a, arch, "fork_many", 180);
}
/// More address spaces over time than ASIDs: fork_many's 1000 children
/// and init with 8-bit ASIDs (the ARMv7-A width; AArch64's 16 are capped
/// by `armmu.asid_bits=8`). 2^8 - 1 = 255 usable (ASID 0 is reserved),
/// so 1001 address spaces need at least 1001 / 255 = 3 rollovers; the
/// program's checks (every child's exit status, COW isolation) must hold
/// across them and nothing may leak.
pub fn asid_rollover(a: &Arch, arch: &str) {
    let text = oracle_text("fork_many", arch);
    let b = boot(a.cpu, None, "rdinit=/bin/fork_many armmu.asid_bits=8", 180);
    assert!(!b.has("not ok - "), "{}", b.log);
    expect_in_order(&b, &expected_lines(text));
    let rollovers = b
        .log
        .lines()
        .filter(|l| l.starts_with("asid: rollover "))
        .count();
    assert!(rollovers >= 3, "{rollovers} ASID rollovers\n{}", b.log);
    expect_no_leak(&b);
    b.expect_status(expected_status(text));
}
pub fn child_fault(a: &Arch, arch: &str) {
    program_matches_linux(a, arch, "child_fault", 60);
}
/// Hangs on a kernel without preemption: the timeout fails it.
pub fn preempt(a: &Arch, arch: &str) {
    program_matches_linux(a, arch, "preempt", 60);
}
pub fn signals(a: &Arch, arch: &str) {
    program_matches_linux(a, arch, "signals", 60);
}
pub fn proc_maps(a: &Arch, arch: &str) {
    program_matches_linux(a, arch, "proc_maps", 60);
}
pub fn exec_test(a: &Arch, arch: &str) {
    program_matches_linux(a, arch, "exec_test", 60);
}
pub fn uname_ids(a: &Arch, arch: &str) {
    program_matches_linux(a, arch, "uname_ids", 60);
}

/// User FP/SIMD state (`user/src/bin/fp_state.rs`, AArch64): v0-v31, FPCR
/// and FPSR survive syscalls, page faults, context switches (blocked in
/// `read`, preempted by the timer), a handler that clobbers them
/// (rt_sigreturn), and fork; the signal frame's `fpsimd_context` holds them
/// and what a handler writes there is installed. Self-checking: the
/// expected values are the ones the program loaded. On every CPU of the
/// run (`ARMMU_CPUS`).
pub fn fp_state() {
    for cpu in cpus() {
        let b = boot(&cpu, None, "rdinit=/bin/fp_state", 60);
        assert!(!b.has("not ok - "), "{cpu}:\n{}", b.log);
        assert!(b.has("# passed 18 failed 0"), "{cpu}:\n{}", b.log);
        expect_no_leak(&b);
        b.expect_status(0);
    }
}

/// The busybox shell of `user/scripts/busybox-initramfs.sh ARCH FILE`, given as
/// `ARMMU_BUSYBOX_CPIO_<ARCH>=FILE` (arm / aarch64), else `$ARMMU_OUT/busybox.cpio`.
/// `./qemu-run.sh test` builds it into `out/<board>/busybox.cpio` (Debian's
/// busybox-static, with apt-get) and fails if it cannot; run directly without
/// either, the test is skipped. Expected: Linux's `bb:` lines, except those about
/// mounting /proc (armmu has no mount(2): it provides /proc itself), and `exit 7`.
pub fn busybox_shell(a: &Arch, arch: &str) {
    let var = format!("ARMMU_BUSYBOX_CPIO_{}", arch.to_uppercase());
    let from_out = Some(out_dir().join("busybox.cpio"))
        .filter(|p| p.is_file())
        .map(|p| p.display().to_string());
    let Some(cpio) = std::env::var(&var).ok().or(from_out) else {
        eprintln!("busybox_shell: {var} not set and no busybox.cpio in the out directory, skipped");
        return;
    };
    let text = oracle_text("busybox", arch);
    let b = boot(a.cpu, Some(&cpio), "rdinit=/init", 120);
    let want: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.starts_with("bb: ")
                && !l.contains("/proc not mounted")
                && !l.contains("mounted /proc")
        })
        .collect();
    expect_in_order(&b, &want);
    expect_no_leak(&b);
    b.expect_status(expected_status(text));
}

/// One `#[test]` per program, for a test file that has `mod common;`.
#[macro_export]
macro_rules! process_scenarios {
    ($arch:expr, $name:literal) => {
        #[test]
        fn process_fork_cow() {
            common::processes::fork_cow(&$arch, $name)
        }
        #[test]
        fn process_shm_ipc() {
            common::processes::shm_ipc(&$arch, $name)
        }
        #[test]
        fn process_futex_ipc() {
            common::processes::futex_ipc(&$arch, $name)
        }
        #[test]
        fn process_fork_many() {
            common::processes::fork_many(&$arch, $name)
        }
        #[test]
        fn process_asid_rollover() {
            common::processes::asid_rollover(&$arch, $name)
        }
        #[test]
        fn process_child_fault() {
            common::processes::child_fault(&$arch, $name)
        }
        #[test]
        fn process_preempt() {
            common::processes::preempt(&$arch, $name)
        }
        #[test]
        fn process_signals() {
            common::processes::signals(&$arch, $name)
        }
        #[test]
        fn process_proc_maps() {
            common::processes::proc_maps(&$arch, $name)
        }
        #[test]
        fn process_exec_test() {
            common::processes::exec_test(&$arch, $name)
        }
        #[test]
        fn process_uname_ids() {
            common::processes::uname_ids(&$arch, $name)
        }
        #[test]
        fn process_busybox_shell() {
            common::processes::busybox_shell(&$arch, $name)
        }
    };
}
