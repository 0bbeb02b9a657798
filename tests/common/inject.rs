//! Fault injection, the invariant auditor and the PXN check, shared by both
//! architectures (`inject_tests!` in tests/qemu.rs and tests/qemu_aarch64.rs).
//!
//! `user/src/bin/faultinject.rs` walks every syscall path over every frame (or
//! heap) allocation it makes; the kernel's auditor (`armmu.audit=1`) checks the
//! VMAs against the page table after every syscall and resolved fault.

use super::*;

/// `audit: N checks, 0 violations` with N > 0.
#[track_caller]
pub fn expect_audit_clean(b: &Boot) {
    let line = b.line("audit: ").to_string();
    let line = b
        .log
        .lines()
        .rev()
        .find(|l| l.starts_with("audit: ") && l.ends_with(" violations"))
        .unwrap_or(&line);
    let mut w = line.split_whitespace();
    let checks: u64 = w.nth(1).and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(
        checks > 0 && line.ends_with(", 0 violations"),
        "{line}\n{}",
        b.log
    );
    assert!(!b.has("audit: VIOLATION"), "{}", b.log);
}

/// The walk of one path passed and covered at least `min` allocations.
#[track_caller]
fn expect_walked(b: &Boot, prefix: &str, min: u32) {
    let line = b.line(prefix);
    let n: u32 = line[prefix.len()..]
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(n >= min, "{line}: fewer than {min} allocations walked");
}

pub fn frame_failures_on_every_syscall_path_are_clean(cpu: &str) {
    let b = boot(
        cpu,
        None,
        "rdinit=/bin/faultinject armmu.faultinject=1 armmu.audit=1",
        120,
    );
    b.expect("fault injection: enabled");
    // 16 paths + pressure + 2 whole-run checks.
    expect_all_passed(&b, 19);
    // Each walk really injected failures (not a vacuous pass).
    b.expect("inject: failing Frame allocation");
    // ARMv7-A: at least one frame per page. AArch64 maps an aligned
    // 64 KiB of anonymous memory in one fault (its fault-around chunk):
    // one contiguous run, then a table; a failed run falls back to pages.
    let min = if b.has("in EL0") { 2 } else { 16 };
    expect_walked(&b, "ok - frame: mmap anonymous 64 KiB MAP_POPULATE: ", min);
    expect_walked(
        &b,
        "ok - frame: read /dev/zero into fresh anonymous memory (fault path): ",
        3,
    );
    expect_walked(&b, "ok - frame: mmap MAP_FIXED over touched pages: ", 4);
    // A section split needs a second-level table: one frame at least.
    expect_walked(&b, "ok - frame: munmap one page of each section/block: ", 1);
    expect_walked(
        &b,
        "ok - frame: mprotect one page of each section/block: ",
        1,
    );
    expect_walked(&b, "ok - frame: madvise POPULATE_WRITE of fresh pages: ", 8);
    // A fork needs a root table for the child at least (ARMv7-A: 8 KiB, two
    // frames; AArch64: one), and the copy-on-write split of the sections.
    expect_walked(
        &b,
        "ok - frame: fork (private, shared and section memory) + exit + wait4: ",
        1,
    );
    expect_audit_clean(&b);
    expect_no_leak(&b);
    b.expect_status(0);
}

/// The same walk over kernel-heap allocations: a failed heap allocation on a
/// syscall path is ENOMEM (or the documented errno), never a panic. (Before
/// main's cf0f290/bd73b3b, `Vec` pushes and `vec!` on nearly every path
/// panicked: `memory allocation of 80 bytes failed` in mmap, ...)
pub fn heap_failures_on_every_syscall_path_are_clean(cpu: &str) {
    let b = boot(
        cpu,
        None,
        "rdinit=/bin/faultinject armmu.faultinject=1 armmu.audit=1 heap",
        120,
    );
    assert!(!b.has("KERNEL PANIC"), "{}", b.log);
    expect_all_passed(&b, 19);
    b.expect("inject: failing Heap allocation");
    expect_walked(
        &b,
        "ok - heap: mprotect one page of each section/block: ",
        1,
    );

    expect_audit_clean(&b);
    expect_no_leak(&b);
    b.expect_status(0);
}

/// A frame allocation failing inside a real page fault (first touch): no errno
/// is possible, so the task is killed as Linux does after an OOM report
/// (SIGKILL, status 128 + 9), the kernel goes on, nothing leaks.
pub fn failed_frame_in_a_fault_is_an_oom_kill(cpu: &str) {
    let b = boot(
        cpu,
        None,
        "rdinit=/bin/faultinject armmu.faultinject=1 armmu.audit=1 touch getpid",
        60,
    );
    b.expect("inject: failing Frame allocation");
    b.expect("task 1 (/bin/faultinject) killed: out of memory (SIGKILL)");
    assert!(!b.has("KERNEL PANIC"), "{}", b.log);
    expect_audit_clean(&b);
    expect_no_leak(&b);
    b.expect_status(137);
}

/// A heap allocation failing inside a page fault (a page in a MiB without a
/// second-level table yet): a kill, never a panic.
pub fn failed_heap_in_a_fault_is_not_a_panic(cpu: &str) {
    let b = boot(
        cpu,
        None,
        "rdinit=/bin/faultinject armmu.faultinject=1 heap touch getpid",
        60,
    );
    assert!(!b.has("KERNEL PANIC"), "{}", b.log);
    b.expect("task 1 (/bin/faultinject) killed: ");
    expect_no_leak(&b);
}

/// Without `armmu.faultinject=1` the private syscalls are ENOSYS.
pub fn fault_injection_is_off_by_default(cpu: &str) {
    let b = boot(cpu, None, "rdinit=/bin/faultinject", 30);
    b.expect("# fault injection is off");
    b.expect("not ok - fault injection enabled");
    assert!(!b.has("inject: failing"), "{}", b.log);
    b.expect_status(1);
}

/// The auditor over the user-program scenarios: no violation.
pub fn auditor_finds_no_violation_in_the_scenarios(cpu: &str) {
    for (prog, min) in [
        ("mmap_anon", 30),
        ("mmap_split", 20),
        ("mmap_errno", 15),
        ("policy", 8),
    ] {
        let b = boot(cpu, None, &format!("rdinit=/bin/{prog} armmu.audit=1"), 120);
        b.expect("audit: enabled");
        expect_all_passed(&b, min);
        expect_audit_clean(&b);
        expect_no_leak(&b);
        b.expect_status(0);
    }
}

/// ARMv7-A: the kernel branches to a user page and to a user section
/// (kernel-private `kexec`). PXN must make each a prefetch abort, permission
/// fault. IFSR values from the ARM ARM (DDI 0406C, B4.1.96 and table B3-23,
/// short-descriptor format): FS[4] is bit 10, FS[3:0] bits [3:0];
/// 0b01111 = permission fault, second level (page) → 0x00f;
/// 0b01101 = permission fault, first level (section) → 0x00d.
pub fn kernel_never_executes_user_memory(cpu: &str) {
    let b = boot(
        cpu,
        None,
        "rdinit=/bin/faultinject armmu.faultinject=1 armmu.audit=1 pxn getpid",
        60,
    );
    let page = b.line("kexec: ");
    assert!(
        page.contains("prefetch abort SIGSEGV permission fault (L2, execute)")
            && page.ends_with("IFSR=0x00f"),
        "{page}"
    );
    let section = b
        .log
        .lines()
        .filter(|l| l.starts_with("kexec: "))
        .nth(1)
        .unwrap_or("");
    assert!(
        section.contains("prefetch abort SIGSEGV permission fault (L1, execute)")
            && section.ends_with("IFSR=0x00d"),
        "{section}\n{}",
        b.log
    );
    assert!(!b.has("EXECUTED user page"), "{}", b.log);
    b.expect("ok - pxn: kernel branch to a user page: prefetch abort, IFSR 0x00f");
    b.expect("ok - pxn: kernel branch to a user section: prefetch abort, IFSR 0x00d");
    expect_all_passed(&b, 5);
    expect_audit_clean(&b);
    b.expect_status(0);
}

/// One `#[test]` per case; `, pxn` adds the kernel-exec check (ARMv7-A).
#[macro_export]
macro_rules! inject_tests {
    ($cpu:expr, pxn) => {
        inject_tests!($cpu);
        #[test]
        fn kernel_never_executes_user_memory() {
            common::inject::kernel_never_executes_user_memory($cpu)
        }
    };
    ($cpu:expr) => {
        #[test]
        fn fault_injection_frames_every_syscall_path() {
            common::inject::frame_failures_on_every_syscall_path_are_clean($cpu)
        }
        #[test]
        fn fault_injection_heap_every_syscall_path() {
            common::inject::heap_failures_on_every_syscall_path_are_clean($cpu)
        }
        #[test]
        fn fault_injection_frame_in_a_page_fault_is_an_oom_kill() {
            common::inject::failed_frame_in_a_fault_is_an_oom_kill($cpu)
        }
        #[test]
        fn fault_injection_heap_in_a_page_fault_is_not_a_panic() {
            common::inject::failed_heap_in_a_fault_is_not_a_panic($cpu)
        }
        #[test]
        fn fault_injection_off_by_default() {
            common::inject::fault_injection_is_off_by_default($cpu)
        }
        #[test]
        fn auditor_over_the_scenarios() {
            common::inject::auditor_finds_no_violation_in_the_scenarios($cpu)
        }
    };
}
