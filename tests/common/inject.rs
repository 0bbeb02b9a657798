//! Fault injection, the invariant auditor and the PXN check, shared by both
//! architectures (`inject_tests!` in tests/qemu.rs and tests/qemu_aarch64.rs).
//!
//! `user/src/bin/faultinject.rs` walks every syscall path over every frame (or
//! heap) allocation it makes; the kernel's auditor (`armmu.audit=1`) checks the
//! VMAs against the page table after every syscall and resolved fault.

use super::*;

/// The paths the lead's unmap/protect rewrite must fix first (the VMAs change
/// before the table split that can fail: see `split_paths_stay_consistent`).
const KNOWN_BAD_FRAME_PATHS: &str = "-munmap_split -mprotect_split";

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
        &format!("rdinit=/bin/faultinject armmu.faultinject=1 armmu.audit=1 {KNOWN_BAD_FRAME_PATHS}"),
        120,
    );
    b.expect("fault injection: enabled");
    // 11 paths + pressure + 2 whole-run checks.
    expect_all_passed(&b, 14);
    // Each walk really injected failures (not a vacuous pass).
    b.expect("inject: failing Frame allocation");
    // At least one frame per page (plus table frames on AArch64).
    expect_walked(&b, "ok - frame: mmap anonymous 64 KiB MAP_POPULATE: ", 16);
    expect_walked(&b, "ok - frame: read /dev/zero into fresh anonymous memory (fault path): ", 3);
    expect_walked(&b, "ok - frame: mmap MAP_FIXED over touched pages: ", 4);
    expect_audit_clean(&b);
    expect_no_leak(&b);
    b.expect_status(0);
}

/// munmap/mprotect of part of a section/block: the VMAs are changed before the
/// table split (which allocates a second-level table and can fail), so an
/// injected failure leaves a page mapped outside any VMA (munmap; its frame
/// leaks until the range is unmapped again) or writable in a read-only VMA
/// (mprotect). Both are caught by the auditor.
pub fn split_paths_stay_consistent(cpu: &str) {
    let b = boot(
        cpu,
        None,
        "rdinit=/bin/faultinject armmu.faultinject=1 armmu.audit=1 munmap_split mprotect_split",
        120,
    );
    b.expect("inject: failing Frame allocation");
    expect_all_passed(&b, 5);
    expect_audit_clean(&b);
    expect_no_leak(&b);
    b.expect_status(0);
}

/// Heap failures on paths without an infallible heap allocation.
pub fn heap_failures_on_fallible_paths_are_clean(cpu: &str) {
    let b = boot(
        cpu,
        None,
        "rdinit=/bin/faultinject armmu.faultinject=1 armmu.audit=1 heap getpid brk",
        60,
    );
    expect_all_passed(&b, 5);
    b.expect("ok - heap: getpid (no allocation): 0 allocations");
    b.expect("ok - heap: brk grow 64 KiB then shrink");
    assert!(!b.has("KERNEL PANIC"), "{}", b.log);
    expect_audit_clean(&b);
    b.expect_status(0);
}

/// Every path: a failed kernel-heap allocation must be ENOMEM, never a panic.
pub fn heap_failures_on_every_path_are_not_a_panic(cpu: &str) {
    for id in [
        "mmap_populate",
        "mmap_populate_big",
        "mmap_fixed",
        "read_fault",
        "devmem",
        "munmap_split",
        "mprotect_split",
        "madvise_split",
        "munmap_pages",
        "open_read_close",
        "write",
    ] {
        let b = boot(
            cpu,
            None,
            &format!("rdinit=/bin/faultinject armmu.faultinject=1 heap {id}"),
            60,
        );
        assert!(!b.has("KERNEL PANIC"), "heap {id}:\n{}", b.log);
        expect_all_passed(&b, 4);
        b.expect_status(0);
    }
}

/// A frame allocation failing inside a page fault: the task is killed, the
/// kernel goes on, nothing leaks.
pub fn failed_frame_in_a_fault_kills_the_task_cleanly(cpu: &str) {
    let b = boot(
        cpu,
        None,
        "rdinit=/bin/faultinject armmu.faultinject=1 armmu.audit=1 touch getpid",
        60,
    );
    b.expect("inject: failing Frame allocation");
    b.expect("task 1 (/bin/faultinject) killed: ");
    assert!(!b.has("KERNEL PANIC"), "{}", b.log);
    expect_audit_clean(&b);
    expect_no_leak(&b);
    assert!(matches!(b.status, Some(s) if s > 128), "{}", b.log);
}

/// Linux kills a task whose page fault finds no memory with SIGKILL after an
/// OOM report (status 128 + 9); issue 7 asks for the same.
pub fn failed_frame_in_a_fault_is_an_oom_kill(cpu: &str) {
    let b = boot(
        cpu,
        None,
        "rdinit=/bin/faultinject armmu.faultinject=1 touch getpid",
        60,
    );
    b.expect("inject: failing Frame allocation");
    assert!(b.log.to_lowercase().contains("out of memory"), "{}", b.log);
    b.expect_status(137);
}

/// A heap allocation failing inside a page fault (the fault maps a page in a
/// MiB without a second-level table: the table code's bookkeeping `Vec`s).
pub fn failed_heap_in_a_fault_is_not_a_panic(cpu: &str) {
    let b = boot(
        cpu,
        None,
        "rdinit=/bin/faultinject armmu.faultinject=1 heap touch getpid",
        60,
    );
    b.expect("inject: failing Heap allocation");
    assert!(!b.has("KERNEL PANIC"), "{}", b.log);
    b.expect("task 1 (/bin/faultinject) killed: ");
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
        #[ignore = "kernel bug: munmap/mprotect change the VMAs before a table split that can fail (issue 7 report)"]
        fn fault_injection_frames_split_paths() {
            common::inject::split_paths_stay_consistent($cpu)
        }
        #[test]
        fn fault_injection_heap_fallible_paths() {
            common::inject::heap_failures_on_fallible_paths_are_clean($cpu)
        }
        #[test]
        #[ignore = "kernel bug: infallible heap allocations on syscall paths panic (issue 7 report)"]
        fn fault_injection_heap_every_path() {
            common::inject::heap_failures_on_every_path_are_not_a_panic($cpu)
        }
        #[test]
        fn fault_injection_in_a_page_fault_kills_cleanly() {
            common::inject::failed_frame_in_a_fault_kills_the_task_cleanly($cpu)
        }
        #[test]
        #[ignore = "kernel bug: out of frames in a fault is reported as SIGSEGV translation fault, not an OOM kill (issue 7)"]
        fn fault_injection_in_a_page_fault_is_an_oom_kill() {
            common::inject::failed_frame_in_a_fault_is_an_oom_kill($cpu)
        }
        #[test]
        #[ignore = "kernel bug: a failed heap allocation in a page fault panics (Table::map bookkeeping Vecs)"]
        fn fault_injection_heap_in_a_page_fault() {
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
