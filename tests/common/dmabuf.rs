//! `/dev/dmabuf0` (`user/src/bin/dmabuf.rs`): each memory type round trip, the
//! mismatched-attributes refusal (EBUSY while a mapping with another type exists, in
//! this process or a forked child; allowed once it is unmapped), the argument errors,
//! and what the user page-table entry says, read back by the kernel's independent
//! descriptor decoder (`arch/*/decode.rs`, the auditor's) and graded here against the
//! ARM ARM:
//!
//! * ARMv7-A without TEX remap (DDI 0406C B3.8.2, table B3-10 "TEX, C, and B encodings
//!   when TRE == 0"): Strongly-ordered TEX=000 C=0 B=0; Normal outer and inner
//!   Write-Through, no Write-Allocate TEX=000 C=1 B=0; Normal outer and inner
//!   Non-cacheable TEX=001 C=0 B=0; Normal outer and inner Write-Back, Write-Allocate
//!   TEX=001 C=1 B=1.
//! * AArch64 (DDI 0487, MAIR_EL1 Attr<n>): 0b0000_0000 Device-nGnRnE (the ARMv7
//!   Strongly-ordered); 0b0100_0100 Normal Non-cacheable; 0b10RW_10RW Normal
//!   Write-Through non-transient; 0b11RW_11RW with W = 1 Normal Write-Back
//!   write-allocate.
//!
//! Both architectures' decoders express those as the same classes, so one table of
//! expected classes serves both. The whole run is under `armmu.audit=1`: the user
//! entries must agree with their VMAs (a driver's RAM buffer with exactly the driver's
//! type) after every syscall.

use super::inject::expect_audit_clean;
use super::scenarios::Arch;
use super::*;

/// The decoded class the ARM ARM gives for each mode's encoding (see the module doc).
const EXPECTED: [(&str, &str); 4] = [
    (
        "NormalWriteBackWriteAlloc",
        "Normal { inner: WriteBackWriteAlloc, outer: WriteBackWriteAlloc }",
    ),
    ("StronglyOrdered", "StronglyOrdered"),
    (
        "NormalNonCacheable",
        "Normal { inner: NonCacheable, outer: NonCacheable }",
    ),
    (
        "NormalWriteThrough",
        "Normal { inner: WriteThroughNoWriteAlloc, outer: WriteThroughNoWriteAlloc }",
    ),
];

pub fn dmabuf(a: &Arch) {
    let b = boot(a.cpu, None, "rdinit=/bin/dmabuf armmu.audit=1", 60);
    assert!(!b.has("not ok - "), "{}", b.log);
    b.expect("# passed 63 failed 0");
    b.expect_status(0);
    expect_no_leak(&b);
    expect_audit_clean(&b);

    // The driver came up and split the linear map around its 8 KiB.
    b.expect("dmabuf0: 8192 bytes at pa=");

    // Each round trip: the user entry decodes to the ARM ARM's class for the type, and
    // the driver's kernel mapping saw the same bytes (FNV-1a of all 8 KiB).
    for (mode, (ty, class)) in ["WB", "UC", "WC", "WT"].iter().zip(EXPECTED) {
        // The kernel's line for this mapping: the first after the program announced
        // the round trip (the same VA comes back in each one).
        let k = b
            .log
            .lines()
            .skip_while(|l| !l.starts_with(&format!("dmabuf: {mode} buffer at pa=")))
            .find(|l| l.starts_with("chardev: task ") && l.contains(" mmap va="))
            .unwrap_or_else(|| panic!("{mode}: no mapping line\n{}", b.log));
        let va = b.line(&format!("dmabuf: {mode} mapped at va="));
        let va = va.rsplit("va=").next().unwrap().trim();
        assert!(
            k.contains(&format!("mmap va={va} "))
                && k.contains(&format!("type={ty} "))
                && k.contains(&format!("decoded=Some({class})")),
            "{mode}: {k}\n{}",
            b.log
        );
        let rt = b.line(&format!("dmabuf: {mode} round trip fnv1a="));
        let mut sums = rt
            .split(['=', ' '])
            .filter(|w| w.starts_with("0x"))
            .map(str::to_string);
        let (user, kernel) = (sums.next().unwrap(), sums.next().unwrap());
        assert_eq!(user, kernel, "{rt}");
    }
    // Every type change of the kernel's own alias was logged, in order: WB -> SO
    // (O_SYNC) -> WC -> WT, then the conflict scenario's WC, WB, SO.
    let changes: Vec<&str> = b
        .log
        .lines()
        .filter(|l| l.starts_with("dmabuf0: kernel alias ") && l.contains(" -> "))
        .map(|l| l.trim_start_matches("dmabuf0: kernel alias "))
        .collect();
    assert_eq!(
        changes,
        [
            "NormalWriteBackWriteAlloc -> StronglyOrdered",
            "StronglyOrdered -> NormalNonCacheable",
            "NormalNonCacheable -> NormalWriteThrough",
            "NormalWriteThrough -> NormalNonCacheable",
            "NormalNonCacheable -> NormalWriteBackWriteAlloc",
            "NormalWriteBackWriteAlloc -> StronglyOrdered",
        ],
        "{}",
        b.log
    );

    // The refusals and errors, as the program printed them.
    for l in [
        "ok - a WB mapping while the WC one exists -> EBUSY",
        "ok - an O_SYNC (uncached) mapping while the WC one exists -> EBUSY",
        "ok - a second WC mapping (same type) is allowed",
        "ok - child: a WB mapping while the parent's WC one exists -> EBUSY",
        "ok - after the last WC mapping is gone, WB is allowed",
        "ok - the data written through WC reads back through WB",
        "ok - MAP_PRIVATE -> EINVAL",
        "ok - offset 8192 (past the buffer) -> ENXIO",
        "ok - offset 4096 + 8192 bytes -> ENXIO",
        "ok - 12 KiB from offset 0 -> ENXIO",
        "ok - DMABUF_SET_CACHE 7 -> EINVAL",
        "ok - an unknown ioctl -> ENOTTY",
    ] {
        b.expect(l);
    }
}

/// One `#[test]`, for a test file that has `mod common;`.
#[macro_export]
macro_rules! dmabuf_scenarios {
    ($arch:expr) => {
        #[test]
        fn dmabuf_memory_types_conflicts_and_errors() {
            common::dmabuf::dmabuf(&$arch)
        }
    };
}
