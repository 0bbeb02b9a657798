//! QEMU boot tests for AArch64 (qemu-system-aarch64 -M virt, cortex-a53 and
//! cortex-a72): the same scenarios as the ARMv7-A tests, from the same user
//! programs, with the expectations of VMSAv8-64 (MAIR attributes reported by
//! PAR_EL1, level-3 pages, ESR-decoded faults).

mod common;
use common::*;

/// (name in the log, AttrIndx, MAIR byte) per ARM ARM D17.2.97: Device-
/// nGnRnE 0x00, Device-nGnRE 0x04, Normal NC 0x44, WT RA 0xAA, WB RA 0xEE,
/// WB RA WA 0xFF; custom inner/outer pairs in slot 7 = outer << 4 | inner
/// with NC 0x4, WBWA 0xF, WT 0xA, WB (no WA) 0xE.
fn expected_rows() -> Vec<(String, u8, u8)> {
    let mut v: Vec<(String, u8, u8)> = vec![
        ("Strongly-ordered".into(), 0, 0x00),
        ("Device (shareable)".into(), 1, 0x04),
        ("Normal WT no-WA".into(), 3, 0xaa),
        ("Normal WB no-WA".into(), 4, 0xee),
        ("Normal non-cacheable".into(), 2, 0x44),
        ("Normal WB WA".into(), 5, 0xff),
        ("Device (non-shareable)".into(), 1, 0x04),
    ];
    let pol = [
        ("NC", 0x4u8, 2u8),
        ("WBWA", 0xf, 5),
        ("WT", 0xa, 3),
        ("WB", 0xe, 4),
    ];
    for (on, ob, oi) in pol {
        for (inn, ib, _) in pol {
            // Equal inner and outer policies use the fixed slot.
            let (idx, byte) = if on == inn {
                (oi, ob << 4 | ob)
            } else {
                (7, ob << 4 | ib)
            };
            v.push((format!("Normal in={inn} out={on}"), idx, byte));
        }
    }
    v
}

#[test]
fn mmu_selftest_every_cpu_with_par_attributes() {
    for cpu in cpus() {
        let b = boot(&cpu, None, "armmu.selftest_only=1", 30);
        b.expect("armmu: AArch64 kernel");
        b.expect("board: linux,dummy-virt (from device tree)");
        b.expect("PAR_EL1 reports attributes: checking ATTR and SH for every type");
        for (name, idx, byte) in expected_rows() {
            b.expect(&format!(
                "  {name:<26} {idx:<5} {byte:#04x}  ok       ok       4/4 as promised"
            ));
        }
        let summary = b
            .log
            .lines()
            .find(|l| l.starts_with("MMU self-test:") && l.contains("checks passed"))
            .unwrap();
        assert!(summary.ends_with(" 0 failed"), "{summary}");
        // ESR DFSC 0b001111: permission fault, level 3; WnR set.
        b.expect("kernel RO write: data abort SIGSEGV permission fault (L3, write) at 0xffffffd080001040");
        b.expect("kernel exec of XN page: instruction abort SIGSEGV permission fault (L3, execute) at 0xffffffd080002000");
        b.expect("uart alias: this line went through VA 0xffffffd080000000 -> PA 0x09000000");
        b.expect("live change: 2 MiB block split into pages and one page made RO with break-before-make: ok");
        b.expect("access tests: ");
        b.expect_status(0);
    }
}

/// Expected reports from the ARM ARM (ESR DFSC/IFSC) and Linux arm64's
/// fault_info[] signals. The kernel image is at 0xffffffc000000000 (TTBR1,
/// EL1-only pages); 0xffff000000000000 is outside both TTBR ranges.
const AARCH64: common::scenarios::Arch = common::scenarios::Arch {
    user_mode: "EL0",
    cpu: "cortex-a53",
    kills: &[
        (
            "fault_kread",
            "ADDR=0xffffffc000000000",
            "SIGSEGV permission fault (L3, read) at 0xffffffc000000000",
            139,
        ),
        (
            "fault_kwrite",
            "ADDR=0xffffffc000000000",
            "SIGSEGV permission fault (L3, write) at 0xffffffc000000000",
            139,
        ),
        (
            "fault_kexec",
            "ADDR=0xffffffc000000000",
            "SIGSEGV permission fault (L3, execute) at 0xffffffc000000000",
            139,
        ),
        (
            "fault_kread",
            "",
            "SIGSEGV translation fault (L0, read) at 0xffff000000000000",
            139,
        ),
        (
            "fault_rowrite",
            "",
            "SIGSEGV permission fault (L3, write) at 0x",
            139,
        ),
        ("fault_null", "", "SIGSEGV translation fault", 139),
        ("fault_undef", "", "SIGILL undefined instruction", 132),
    ],
};

user_scenarios!(AARCH64);
inject_tests!("cortex-a53");
boot_input_scenarios!(AARCH64);
fuzz_scenarios!(AARCH64);

#[test]
fn finds_its_own_load_address_without_a_dtb() {
    // Raw image at an odd page address with QEMU's generic loader: no DTB
    // (x0 = 0), the board file supplies RAM and UART.
    let b = boot_with("cortex-a53", None, "", 30, Some(0x4020_3000));
    b.expect("image loaded at 0x40203000, DTB at 0x00000000");
    b.expect("board: qemu-virt (from board file)");
    b.expect("MMU self-test: 1518 checks passed, 0 failed");
    b.expect_status(0);
}
