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
    // (O_SYNC) -> WC -> WT, then the conflict scenario's WC, WB, SO; each with the raw
    // linear-map entries of both pages after the change, decoded here.
    let lines: Vec<&str> = b
        .log
        .lines()
        .filter(|l| l.starts_with("dmabuf0: kernel alias ") && l.contains(" -> "))
        .map(|l| l.trim_start_matches("dmabuf0: kernel alias "))
        .collect();
    let changes: Vec<&str> = lines
        .iter()
        .map(|l| l.split(" entries=").next().unwrap())
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
    for l in &lines {
        let to = l.split(" -> ").nth(1).unwrap().split(' ').next().unwrap();
        let field = |name: &str| l.split(name).nth(1).unwrap().split(' ').next().unwrap();
        let mair = u64::from_str_radix(field(" mair=").trim_start_matches("0x"), 16).unwrap();
        for e in field(" entries=").split(',') {
            let raw = u64::from_str_radix(e.trim_start_matches("0x"), 16).unwrap();
            assert!(
                kernel_entry_is(a.user_mode == "EL0", raw, mair, to),
                "kernel alias entry {raw:#x} (mair {mair:#x}) is not {to}: {l}\n{}",
                b.log
            );
        }
    }

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

/// Whether a kernel linear-map PAGE descriptor has memory type `ty`, decoded from the
/// ARM ARM (the alias is split to 4 KiB pages, so a page is required):
///
/// * ARMv7-A short-descriptor small page (DDI 0406C B3.5.1): bit 1 set; B = bit 2,
///   C = bit 3, TEX = bits [8:6]; table B3-10 for the TEX/C/B values.
/// * AArch64 level-3 page (DDI 0487 D8.3): bits [1:0] = 0b11; AttrIndx = bits [4:2]
///   selects byte AttrIndx of MAIR_EL1; Attr<n>: 0x00 Device-nGnRnE, 0x44 Normal
///   Non-cacheable, nibbles 0b10RW Write-Through non-transient, 0b11RW with W = 1
///   Write-Back write-allocate non-transient (outer [7:4], inner [3:0]).
fn kernel_entry_is(aarch64: bool, raw: u64, mair: u64, ty: &str) -> bool {
    if aarch64 {
        if raw & 0b11 != 0b11 {
            return false;
        }
        let idx = (raw >> 2) & 0b111;
        let attr = ((mair >> (8 * idx)) & 0xff) as u8;
        let both = |f: fn(u8) -> bool| f(attr >> 4) && f(attr & 0xf);
        match ty {
            "StronglyOrdered" => attr == 0x00,
            "NormalNonCacheable" => attr == 0x44,
            "NormalWriteThrough" => both(|n| n & 0b1100 == 0b1000),
            "NormalWriteBackWriteAlloc" => both(|n| n & 0b1101 == 0b1101),
            _ => false,
        }
    } else {
        if raw & 0b10 == 0 {
            return false;
        }
        let tex_c_b = ((raw >> 6) & 0b111, (raw >> 3) & 1, (raw >> 2) & 1);
        tex_c_b
            == match ty {
                "StronglyOrdered" => (0b000, 0, 0),
                "NormalNonCacheable" => (0b001, 0, 0),
                "NormalWriteThrough" => (0b000, 1, 0),
                "NormalWriteBackWriteAlloc" => (0b001, 1, 1),
                _ => return false,
            }
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
