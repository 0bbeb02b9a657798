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

/// The kernel's documented AP[2:1] for each `Access` (README "AArch64",
/// Permissions): `KernelRw` 00, `UserRw` 01, `KernelRo` 10, `UserRo` 11;
/// `NoAccess` has no AP value of its own and is AP = 00 (kernel-only) with
/// PXN and UXN. `KernelRwUserRo` cannot be expressed and is refused.
const ACCESS_AP: [(&str, u64); 5] = [
    ("NoAccess", 0b00),
    ("KernelRw", 0b00),
    ("UserRw", 0b01),
    ("KernelRo", 0b10),
    ("UserRo", 0b11),
];

/// ARM ARM (ARMv8-A, D8.4.1, table "Data access permissions for stage 1
/// translations", EL1&0 regime, PAN off): AP[2:1] -> [EL1 read, EL1 write,
/// EL0 read, EL0 write], the order of AT S1E1R, S1E1W, S1E0R, S1E0W.
fn ap_allows(ap: u64) -> [bool; 4] {
    match ap {
        0b00 => [true, true, false, false],  // EL1 RW, EL0 none
        0b01 => [true, true, true, true],    // EL1 RW, EL0 RW
        0b10 => [true, false, false, false], // EL1 RO, EL0 none
        0b11 => [true, false, true, false],  // EL1 RO, EL0 RO
        _ => unreachable!(),
    }
}

fn field<'a>(line: &'a str, key: &str) -> &'a str {
    let pre = format!("{key}=");
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(pre.as_str()))
        .unwrap_or_else(|| panic!("no {key}= in {line:?}"))
}

fn hex(s: &str) -> u64 {
    u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap_or_else(|_| panic!("hex {s:?}"))
}

fn bits(v: u64, hi: u32, lo: u32) -> u64 {
    (v >> lo) & ((1 << (hi - lo + 1)) - 1)
}

/// PAR_EL1 after an AT instruction (ARM ARM D17.2.113). F (bit 0) = 1:
/// FST in bits [6:1], a DFSC: permission fault at level L = 0b0011LL. F =
/// 0: PA in bits [47:12], SH in bits [8:7], ATTR (a MAIR byte) in bits
/// [63:56]. `sh` lists the SH values the ARM ARM permits for this type.
#[track_caller]
fn check_par(par: u64, allowed: bool, pa: u64, level: u64, attr: u8, sh: &[u64], what: &str) {
    if !allowed {
        assert_eq!(par & 1, 1, "{what}: no fault, PAR {par:#x}");
        assert_eq!(
            bits(par, 6, 1),
            0b001100 | level,
            "{what}: FST, PAR {par:#x}"
        );
        return;
    }
    assert_eq!(par & 1, 0, "{what}: fault, PAR {par:#x}");
    assert_eq!(
        bits(par, 47, 12) << 12,
        pa & !0xfff,
        "{what}: PA, PAR {par:#x}"
    );
    assert_eq!(bits(par, 63, 56) as u8, attr, "{what}: ATTR, PAR {par:#x}");
    assert!(sh.contains(&bits(par, 8, 7)), "{what}: SH, PAR {par:#x}");
}

/// A block (level 2) or page (level 3) descriptor, decoded here (ARM ARM
/// D8.3): `|UXN 54|PXN 53|Contiguous 52|OA 47:12 (47:21 for a 2 MiB
/// block)|nG 11|AF 10|SH 9:8|AP[2:1] 7:6|NS 5|AttrIndx 4:2|type 1:0|`,
/// type 0b01 for a block, 0b11 for a level-3 page.
struct Leaf {
    attr_index: u64,
    ap: u64,
    sh: u64,
    af: u64,
    ng: u64,
    pxn: u64,
    uxn: u64,
    oa: u64,
}

fn decode_leaf(d: u64, level: u64) -> Leaf {
    let (ty, oa) = match level {
        2 => (0b01, bits(d, 47, 21) << 21),
        3 => (0b11, bits(d, 47, 12) << 12),
        l => panic!("leaf at level {l}: {d:#x}"),
    };
    assert_eq!(bits(d, 1, 0), ty, "descriptor type: {d:#x}");
    assert_eq!(bits(d, 5, 5), 0, "NS: {d:#x}");
    Leaf {
        attr_index: bits(d, 4, 2),
        ap: bits(d, 7, 6),
        sh: bits(d, 9, 8),
        af: bits(d, 10, 10),
        ng: bits(d, 11, 11),
        pxn: bits(d, 53, 53),
        uxn: bits(d, 54, 54),
        oa,
    }
}

/// The self-test's raw observations (`seen` lines, printed with
/// `armmu.selftest_only=1`) graded against the ARM ARM tables above and
/// the MAIR encodings of `expected_rows`, never against the kernel's own
/// verdict: every memory type x every permission x {2 MiB block, page}.
fn check_observed_matrix(b: &Boot) {
    let seen: Vec<&str> = b
        .log
        .lines()
        .filter(|l| l.starts_with("  seen block ") || l.starts_with("  seen page "))
        .collect();
    let rows = expected_rows();
    // The dimensions are this file's: 23 types x 5 permissions x 2 sizes.
    assert_eq!(seen.len(), rows.len() * ACCESS_AP.len() * 2, "{}", b.log);
    for (name, idx, byte) in &rows {
        let device = byte >> 4 == 0; // MAIR 0b0000dd00: Device memory
        let normal_nc = *byte == 0x44;
        for (access, ap) in ACCESS_AP {
            for (kind, level) in [("block", 2u64), ("page", 3)] {
                let line = one_seen_line(&seen, kind, access, name);
                let pa = hex(field(line, "pa"));
                let va = hex(field(line, "va"));
                assert_eq!(field(line, "level"), level.to_string(), "{line}");
                let leaf = decode_leaf(hex(field(line, "desc")), level);
                let span = if level == 2 { 0x1f_ffff } else { 0xfff };
                assert_eq!(leaf.oa, pa & !span, "output address: {line}");
                assert_eq!(va & span, pa & span, "{line}");
                assert_eq!(leaf.attr_index, *idx as u64, "AttrIndx: {line}");
                assert_eq!(leaf.ap, ap, "AP[2:1]: {line}");
                assert_eq!(leaf.af, 1, "AF: {line}");
                assert_eq!(leaf.ng, 0, "nG: {line}");
                // PXN: the self-test maps everything privileged-execute-
                // never. UXN on Device memory and whenever EL0 has no data
                // access: EL0 execute permission does not depend on AP
                // (ARM ARM D8.4.2), so an EL1-only page without UXN would be
                // executable at EL0.
                assert_eq!(leaf.pxn, 1, "PXN: {line}");
                let el0 = ap & 0b01 != 0;
                assert_eq!(leaf.uxn, (device || !el0) as u64, "UXN: {line}");
                // SH: Inner Shareable for Normal memory (README); ignored
                // for Device. PAR_EL1.SH reports the descriptor's value, or
                // Outer Shareable (0b10) for Device and Normal inner+outer
                // Non-cacheable memory (ARM ARM D17.2.113).
                let sh: Vec<u64> = if device {
                    vec![leaf.sh, 0b10]
                } else {
                    assert_eq!(leaf.sh, 0b11, "SH: {line}");
                    if normal_nc {
                        vec![0b11, 0b10]
                    } else {
                        vec![0b11]
                    }
                };
                let pars: Vec<u64> = field(line, "par").split(',').map(hex).collect();
                assert_eq!(pars.len(), 4, "{line}");
                let ops = ["AT S1E1R", "AT S1E1W", "AT S1E0R", "AT S1E0W"];
                for (op, allowed) in ap_allows(ap).into_iter().enumerate() {
                    let what = format!("{} {line}", ops[op]);
                    check_par(pars[op], allowed, pa, level, *byte, &sh, &what);
                }
            }
        }
    }
    b.expect("  KernelRwUserRo (EL1 RW, EL0 RO, no AP[2:1] value): map refused");
}

/// The live change: a 2 MiB block of kernel data (Normal WBWA, AttrIndx 5,
/// EL1 RW) split into pages and one page made EL1 read-only.
fn check_live_change(b: &Boot) {
    for (off, ap) in [(0x3000u64, 0b10), (0x4000, 0b00)] {
        let va = 0xffff_ffd0_c000_0000u64 + off;
        let line = b.line(&format!("  seen live-ro va={va:#x} "));
        assert_eq!(field(line, "level"), "3", "split into pages: {line}");
        let leaf = decode_leaf(hex(field(line, "desc")), 3);
        let pa = hex(field(line, "pa"));
        assert_eq!(leaf.oa, pa, "{line}");
        assert_eq!((leaf.attr_index, leaf.ap), (5, ap), "{line}");
        let pars: Vec<u64> = field(line, "par").split(',').map(hex).collect();
        let allowed = ap_allows(ap);
        check_par(pars[0], allowed[0], pa, 3, 0xff, &[0b11], line);
        check_par(pars[1], allowed[1], pa, 3, 0xff, &[0b11], line);
    }
    b.expect("live change: 2 MiB block split into pages, one page made RO (AT S1E1W faults there, not on the next page): ok");
}

#[test]
fn mmu_selftest_every_cpu_with_par_attributes() {
    for cpu in cpus() {
        let b = boot(&cpu, None, "armmu.selftest_only=1", 30);
        b.expect("armmu: AArch64 kernel");
        b.expect("board: linux,dummy-virt (from device tree)");
        b.expect("PAR_EL1 reports attributes: checking ATTR and SH for every type");
        for (name, idx, byte) in expected_rows() {
            // The row as the encoder wrote it; the grading is done on the
            // `seen` lines, not on the kernel's verdict.
            b.expect(&format!("  {name:<26} {idx:<5} {byte:#04x}  "));
        }
        // The regime (ARM ARM D17.2): SCTLR_EL1.M (bit 0) on; TCR_EL1
        // T0SZ [5:0] = T1SZ [21:16] = 25 (39-bit VAs), TG0 [15:14] = 0b00
        // and TG1 [31:30] = 0b10 (4 KiB granules), A1 (bit 22) = 0 (the
        // ASID comes from TTBR0); MAIR_EL1 slots 0..6 as README's table
        // (slot 7 is the per-use custom pair).
        let regs = b.line("  seen registers ");
        assert_eq!(hex(field(regs, "SCTLR_EL1")) & 1, 1, "{regs}");
        let tcr = hex(field(regs, "TCR_EL1"));
        assert_eq!(
            (
                bits(tcr, 5, 0),
                bits(tcr, 21, 16),
                bits(tcr, 15, 14),
                bits(tcr, 31, 30),
                bits(tcr, 22, 22)
            ),
            (25, 25, 0b00, 0b10, 0),
            "{regs}"
        );
        let mair = hex(field(regs, "MAIR_EL1"));
        let slots: Vec<u8> = (0..7).map(|i| (mair >> (8 * i)) as u8).collect();
        assert_eq!(slots, [0x00, 0x04, 0x44, 0xaa, 0xee, 0xff, 0x0c], "{regs}");
        check_observed_matrix(&b);
        let summary = b
            .log
            .lines()
            .find(|l| l.starts_with("MMU self-test:") && l.contains("checks passed"))
            .unwrap();
        assert!(summary.ends_with(" 0 failed"), "{summary}");
        // ESR_EL1 (ARM ARM D17.2.40): EC 0x25 (data abort, same EL) << 26 |
        // IL (bit 25) | WnR (bit 6) | DFSC 0b001111 (permission fault,
        // level 3) = 0x9600004f; EC 0x21 (instruction abort, same EL) |
        // IL | IFSC 0b001111 = 0x8600000f.
        b.expect("kernel RO write: data abort SIGSEGV permission fault (L3, write) at 0xffffffd080001040 pc=0x");
        b.expect(" ESR=0x9600004f");
        b.expect("kernel exec of XN page: instruction abort SIGSEGV permission fault (L3, execute) at 0xffffffd080002000 pc=0xffffffd080002000 ESR=0x8600000f");
        b.expect("uart alias: this line went through VA 0xffffffd080000000 -> PA 0x09000000 (4 KiB page, Device)");
        check_live_change(&b);
        let access = b.line("access tests: ");
        assert!(access.ends_with(" checks passed, 0 failed"), "{access}");
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
            // The first non-fixed one-page mmap, top-down below
            // 0x7F_F000_0000 (README "AArch64", Layout).
            "SIGSEGV permission fault (L3, write) at 0x7feffff000 pc=0x",
            139,
        ),
        // Address 0: the program is linked at 0x400000 (user/link-aarch64.ld),
        // so the level-1 entry for 0..1 GiB points to a table and the
        // level-2 entry for 0..2 MiB is invalid: translation fault, level 2
        // (DFSC 0b000110), a read.
        (
            "fault_null",
            "",
            "SIGSEGV translation fault (L2, read) at 0x00000000 pc=0x",
            139,
        ),
        (
            "fault_undef",
            "",
            "SIGILL undefined instruction fault (execute) at 0x",
            132,
        ),
    ],
};

user_scenarios!(AARCH64);
inject_tests!("cortex-a53");
boot_input_scenarios!(AARCH64);
fuzz_scenarios!(AARCH64);
process_scenarios!(AARCH64, "aarch64");

/// User FP/SIMD registers survive exceptions, switches and signals (the
/// kernel, built without FP/SIMD, switches them with the process).
#[test]
fn process_fp_state() {
    common::processes::fp_state()
}
file_scenarios!(AARCH64, "aarch64");
dmabuf_scenarios!(AARCH64);

#[test]
fn finds_its_own_load_address_without_a_dtb() {
    // Raw image at an odd page address with QEMU's generic loader: no DTB
    // (x0 = 0), the board file supplies RAM and UART.
    let b = boot_with("cortex-a53", None, "", 30, Some(0x4020_3000));
    b.expect("image loaded at 0x40203000, DTB at 0x00000000");
    b.expect("board: qemu-virt (from board file)");
    // No command line here, so no `seen` lines: the self-test's own
    // summary (its grading is checked by the test above).
    let summary = b
        .log
        .lines()
        .find(|l| l.starts_with("MMU self-test:") && l.contains("checks passed"))
        .unwrap_or("");
    assert!(summary.ends_with(" checks passed, 0 failed"), "{summary}");
    b.expect_status(0);
}

/// The GIC and the virtual timer's interrupt, with IRQs masked
/// (tests/common/irq.rs).
#[test]
fn interrupts_gic_and_timer() {
    common::irq::aarch64(&cpus());
}

/// An interactive busybox sh on the serial console (tests/common/tty.rs),
/// with the UART's interrupt through GICv2 and through GICv3.
#[test]
fn tty_interactive_shell() {
    common::tty::shell_session("", &cpus()[0], "aarch64");
}

#[test]
fn tty_interactive_shell_gicv3() {
    common::tty::shell_session(",gic-version=3", &cpus()[0], "aarch64");
}

/// The flashable SD-card image (`./qemu-run.sh sdcard --board NAME`) booted
/// through the board's real U-Boot (tests/common/sdcard.rs).
#[test]
fn sdcard_qemu_virt_aarch64() {
    sdcard::check_board(&sdcard::QEMU_VIRT_AARCH64);
}

/// The Raspberry Pi 4 card: no QEMU machine models the BCM2711, so the
/// image is checked file by file, not booted (tests/common/sdcard.rs).
#[test]
fn sdcard_raspi4b() {
    sdcard::check_image(&sdcard::RASPI4B);
}

#[test]
fn sdcard_raspi3b() {
    sdcard::check_board(&sdcard::RASPI3B);
}

/// Secondary cores started at the kernel's entry with the boot CPU
/// (QEMU's generic loader, raspi3b's 4 Cortex-A53): they park in WFE
/// without running the boot code; status 0 (tests/common/smp.rs).
#[test]
fn smp_secondaries_park_raspi3b() {
    smp::secondaries_park(&smp::RASPI3B);
}

#[test]
fn board_raspi3b() {
    boards::boots("qemu-system-aarch64", &boards::RASPI3B);
}

/// The GPIO demo on the Raspberry Pi 3: GPIO 17 through /dev/mem
/// (tests/common/boards.rs).
#[test]
fn gpio_raspi3b() {
    boards::gpio("qemu-system-aarch64", &boards::RASPI3B);
}

/// The GPIO demo on QEMU virt: no BCM2835 GPIO, skipped.
#[test]
fn gpio_skipped_on_virt() {
    boards::gpio_skipped(&cpus()[0]);
}
/// Raspberry Pi 3 B (`-M raspi3b`, Cortex-A53, Debian's
/// bcm2837-rpi-3-b.dtb, console on the mini UART = QEMU's second serial
/// port): no GIC; the scheduler's tick through the BCM2836 local
/// interrupt controller, preemption (tests/common/irq.rs).
#[test]
fn interrupts_raspberry_pi_3() {
    common::irq::raspberry_pi(&PI_3);
}

/// Typed input by the console UART's interrupt through the ARMCTRL
/// controller on the Raspberry Pi 3 (tests/common/irq.rs).
#[test]
fn tty_raspberry_pi_3() {
    common::irq::raspberry_pi_console_input(&PI_3);
}

const PI_3: common::irq::Pi = common::irq::Pi {
    machine: "raspi3b",
    cpu: None,
    dtb: "bcm2837-rpi-3-b.dtb",
    second_serial: true,
    rx_irq: 64 + 29,
    arch: "aarch64",
};

/// A kernel fault before the console is known (early buffer locked)
/// still reaches the serial log, decoded, and the boot ends with the
/// panic's status (tests/common/early_fault.rs).
#[test]
fn fault_before_console_is_reported() {
    early_fault::early(&cpus()[0]);
}

/// A kernel fault with the console UART's lock held is reported past
/// the lock (tests/common/early_fault.rs).
#[test]
fn fault_with_console_locked_is_reported() {
    early_fault::console_locked(&cpus()[0]);
}

/// busybox `ls -la /proc/device-tree/chosen` lists and stats what QEMU's
/// tree holds there (tests/common/devtree.rs).
#[test]
fn proc_device_tree_lists() {
    devtree::ls_chosen(&cpus()[0], "aarch64");
}

/// user/scripts/chainload.sh sends the kernel to Debian's U-Boot over the
/// serial line (a pty) and boots it (tests/common/chainload.rs). Named
/// sdcard_ so it runs with the SD-card tests, after the card is built.
#[test]
fn sdcard_chainload_over_serial() {
    chainload::chainload("qemu-system-aarch64", "qemu-virt-aarch64", "cortex-a53");
}

/// Every benchmark figure within its budget (tests/data/bench.txt), on
/// the CPU the README's table is measured on (tests/common/bench.rs).
#[test]
fn bench_budget() {
    bench::within_budget("cortex-a53", 5);
}
