//! QEMU boot tests: boot the kernel image built by `./qemu-run.sh build`
//! (in out/), read the serial log and the exit status (semihosting), and
//! check them against expectations written here from the ARM ARM and the
//! Linux ABI, not from the kernel's own output.
//!
//! Run through `./qemu-run.sh test` (which builds out/ first).

mod common;
use common::*;

/// (name in the log, TEX, C, B) from ARM ARM table B3-10 / B3-11.
const MEMORY_TYPES: [(&str, &str); 23] = [
    ("Strongly-ordered", "000 0 0"),
    ("Device (shareable)", "000 0 1"),
    ("Normal WT no-WA", "000 1 0"),
    ("Normal WB no-WA", "000 1 1"),
    ("Normal non-cacheable", "001 0 0"),
    ("Normal WB WA", "001 1 1"),
    ("Device (non-shareable)", "010 0 0"),
    ("Normal in=NC out=NC", "100 0 0"),
    ("Normal in=WBWA out=NC", "100 0 1"),
    ("Normal in=WT out=NC", "100 1 0"),
    ("Normal in=WB out=NC", "100 1 1"),
    ("Normal in=NC out=WBWA", "101 0 0"),
    ("Normal in=WBWA out=WBWA", "101 0 1"),
    ("Normal in=WT out=WBWA", "101 1 0"),
    ("Normal in=WB out=WBWA", "101 1 1"),
    ("Normal in=NC out=WT", "110 0 0"),
    ("Normal in=WBWA out=WT", "110 0 1"),
    ("Normal in=WT out=WT", "110 1 0"),
    ("Normal in=WB out=WT", "110 1 1"),
    ("Normal in=NC out=WB", "111 0 0"),
    ("Normal in=WBWA out=WB", "111 0 1"),
    ("Normal in=WT out=WB", "111 1 0"),
    ("Normal in=WB out=WB", "111 1 1"),
];

fn check_selftest(b: &Boot) {
    b.expect("board: linux,dummy-virt (from device tree)");
    b.expect("RAM      0x40000000..0x60000000 (512 MiB)");
    for (name, texcb) in MEMORY_TYPES {
        let want = format!("  {name:<26} {texcb}  ok       ok       6/6 as promised");
        b.expect(&want);
    }
    let summary = b
        .log
        .lines()
        .rfind(|l| l.starts_with("MMU self-test:"))
        .unwrap_or("");
    assert!(summary.ends_with(" 0 failed"), "{summary}");
    // Kernel-RO write: permission fault on a small page, write.
    // DFSR = WnR (bit 11) | FS 0b01111 = 0x80f, domain 0 (ARM ARM B4.1.52).
    b.expect("kernel RO write: data abort SIGSEGV permission fault (L2, write) at 0xe2001040");
    b.expect("DFSR=0x80f domain=0");
    // Execute from an XN page: IFSR FS 0b01111 (permission, L2).
    b.expect("kernel exec of XN page: prefetch abort SIGSEGV permission fault (L2, execute) at 0xe2002000");
    b.expect("IFSR=0x00f");
    b.expect("uart alias: this line went through VA 0xe2000000 -> PA 0x09000000");
    b.expect(
        "live change: section split into pages and one page made RO with break-before-make: ok",
    );
    b.expect("live change: 1 MiB made non-cacheable (cleaned+invalidated first): ok");
    b.expect("access tests: 13 checks passed, 0 failed");
    // The kernel's own map: linear RAM as supersections, image in pages.
    b.expect("VA 0x80000000..0x9fffffff -> PA 0x40000000    32 x supersection  Normal WBWA/WBWA S  K:RW U:--  XN PXN");
    assert!(b.log.contains("x small page") && b.log.contains("x large page"));
}

#[test]
fn mmu_selftest_every_cpu() {
    for cpu in cpus() {
        let b = boot(&cpu, None, "armmu.selftest_only=1", 30);
        check_selftest(&b);
        b.expect_status(0);
    }
}

#[test]
fn finds_its_own_load_address_without_a_dtb() {
    // Loaded 2 MiB + 12 KiB into RAM, not 64 KiB aligned, no DTB: the boot
    // code maps the image where it is and the board file supplies the rest.
    let b = boot_with("cortex-a15", None, "", 30, Some(0x4020_3000));
    b.expect("image loaded at 0x40203000, DTB at 0x00000000");
    b.expect("board: qemu-virt (from board file)");
    b.expect("MMU self-test: 2208 checks passed, 0 failed");
    b.expect_status(0);
}

#[test]
fn command_line_reaches_the_kernel() {
    let b = boot("cortex-a15", None, "armmu.selftest_only=1 quiet", 30);
    b.expect("image loaded at 0x40010000");
    b.expect("cmdline: \"armmu.selftest_only=1 quiet\"");
    b.expect_status(0);
}

// ---- user tasks: the shared scenarios (tests/common/scenarios.rs) ----

/// Expected reports written from the ARM ARM (short-descriptor FSR) and
/// Linux's fsr-2level.c signal table.
const ARMV7: common::scenarios::Arch = common::scenarios::Arch {
    user_mode: "USR mode",
    cpu: "cortex-a15",
    kills: &[
        (
            "fault_kread",
            "",
            "SIGSEGV permission fault (L2, read) at 0xc0000000",
            139,
        ),
        (
            "fault_kwrite",
            "",
            "SIGSEGV permission fault (L2, write) at 0xc0000000",
            139,
        ),
        (
            "fault_kexec",
            "",
            "SIGSEGV permission fault (L2, execute) at 0xc0000000 pc=0xc0000000",
            139,
        ),
        (
            "fault_rowrite",
            "",
            "SIGSEGV permission fault (L2, write) at 0x",
            139,
        ),
        (
            "fault_null",
            "",
            "SIGSEGV translation fault (L2, read) at 0x00000000",
            139,
        ),
        ("fault_undef", "", "SIGILL undefined instruction", 132),
    ],
};

user_scenarios!(ARMV7);
inject_tests!("cortex-a15", pxn);
boot_input_scenarios!(ARMV7);
fuzz_scenarios!(ARMV7);
