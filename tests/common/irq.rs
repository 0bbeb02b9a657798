//! The interrupt path's boot self-test, checked on each QEMU machine: the
//! GIC the device tree gives (`-M virt`: GICv2; `-M virt,gic-version=3`:
//! GICv3), the virtual timer's PPI taken through it with IRQs masked.
//!
//! Expected values come from QEMU's `virt` board (hw/arm/virt.c,
//! `base_memmap`): VIRT_GIC_DIST 0x0800_0000, VIRT_GIC_CPU 0x0801_0000,
//! VIRT_GIC_REDIST 0x080A_0000 (the first CPU's redistributor is the
//! first frame); the virtual timer is PPI 11 (ARCH_TIMER_VIRT_IRQ), INTID
//! 16 + 11 = 27 (GIC spec: PPIs are INTIDs 16..31); and from QEMU's
//! generic timer, which counts at 62.5 MHz (1 tick = 16 ns,
//! GTIMER_SCALE), so the kernel's 1 ms deadline is 62 500 ticks.

use super::{run, Boot};
use std::process::Command;

pub const GICD: u64 = 0x0800_0000;
pub const GICC: u64 = 0x0801_0000;
pub const GICR: u64 = 0x080a_0000;
pub const VIRT_TIMER_INTID: u32 = 16 + 11;
pub const TICKS_PER_MS: u64 = 62_500_000 / 1000;

/// Boot with `-M <ARMMU_MACHINE><extra>` (e.g. ",gic-version=3"); the
/// rest as `common::boot`.
pub fn boot_machine(extra: &str, cpu: &str, append: &str, secs: u64) -> Boot {
    let out = super::out_dir();
    let image = out.join("Image");
    assert!(
        image.exists(),
        "{} missing: run ./qemu-run.sh build",
        image.display()
    );
    let qemu = std::env::var("ARMMU_QEMU").unwrap_or_else(|_| "qemu-system-arm".into());
    let machine = std::env::var("ARMMU_MACHINE").unwrap_or_else(|_| "virt".into());
    let mut cmd = Command::new(qemu);
    cmd.args(["-M", &format!("{machine}{extra}")])
        .args(["-cpu", cpu])
        .args([
            "-m",
            &std::env::var("ARMMU_MEM").unwrap_or_else(|_| "512M".into()),
        ])
        .args(["-nographic", "-nic", "none", "-monitor", "none"])
        .args(["-semihosting-config", "enable=on,target=native"])
        .arg("-kernel")
        .arg(&image);
    if !append.is_empty() {
        cmd.args(["-append", append]);
    }
    run(cmd, secs)
}

/// The self-test line for a GIC whose second block ("cpu" for GICv2,
/// "redist" for GICv3) is at `second`: addresses, the INTID, a 1 ms
/// deadline at 62.5 MHz, and the interrupt taken no earlier than it.
#[track_caller]
pub fn check_timer_line(b: &Boot, version: &str, second: (u64, &str)) {
    assert!(!b.has("irq: FAILED"), "{}", b.log);
    let line = b.line("irq: GIC");
    let head = format!(
        "irq: {version} at {GICD:#010x} (dist) {:#010x} ({}); timer PPI {VIRT_TIMER_INTID} fired after ",
        second.0, second.1
    );
    let rest = line
        .strip_prefix(&head)
        .unwrap_or_else(|| panic!("{line:?} does not start with {head:?}"));
    let (ticks, tail) = rest.split_once(' ').unwrap();
    let ticks: u64 = ticks
        .parse()
        .unwrap_or_else(|_| panic!("ticks in {line:?}"));
    let want = format!("ticks (deadline {TICKS_PER_MS} at 62.5 MHz), ");
    let wfis = tail
        .strip_prefix(&want)
        .and_then(|t| t.strip_suffix(" wfi with IRQs masked"))
        .unwrap_or_else(|| panic!("{line:?}: expected {want:?}N wfi with IRQs masked"));
    let wfis: u32 = wfis
        .parse()
        .unwrap_or_else(|_| panic!("wfi count in {line:?}"));
    assert!(wfis >= 1, "{line}");
    assert!(ticks >= TICKS_PER_MS, "fired before the deadline: {line}");
    // Well before the kernel's own give-up point (1000 deadlines).
    assert!(ticks < 500 * TICKS_PER_MS, "{line}");
    b.expect("timer INTID from the device tree");
    b.expect_status(0);
}

/// Checks on ARMv7-A: GICv2 on each CPU; with `gic-version=3` the kernel
/// says it runs without interrupts (no ICC_* interface on ARMv7-A) and
/// boots on.
pub fn armv7a(cpus: &[String]) {
    for cpu in cpus {
        let b = boot_machine("", cpu, "armmu.selftest_only=1", 30);
        check_timer_line(&b, "GICv2", (GICC, "cpu"));
        b.expect("irq: 288 interrupt IDs, ArchRev 2");
    }
    let b = boot_machine(",gic-version=3", &cpus[0], "armmu.selftest_only=1", 30);
    b.expect("irq: no interrupt controller (GICv3 needs the AArch64 system-register CPU interface");
    b.expect("running without interrupts");
    b.expect_status(0);
}

/// Checks on AArch64: GICv2 and GICv3 on each CPU; TCR_EL1.AS (bit 36)
/// set, since Cortex-A53 and A72 have 16-bit ASIDs (their TRMs:
/// ID_AA64MMFR0_EL1.ASIDBits = 0b0010).
pub fn aarch64(cpus: &[String]) {
    for cpu in cpus {
        let b = boot_machine("", cpu, "armmu.selftest_only=1", 30);
        check_timer_line(&b, "GICv2", (GICC, "cpu"));
        let regs = b.line("  seen registers ");
        let tcr = regs
            .split_whitespace()
            .find_map(|w| w.strip_prefix("TCR_EL1="))
            .unwrap();
        let tcr = u64::from_str_radix(tcr.trim_start_matches("0x"), 16).unwrap();
        assert_eq!((tcr >> 36) & 1, 1, "TCR_EL1.AS: {regs}");
        let b = boot_machine(",gic-version=3", cpu, "armmu.selftest_only=1", 30);
        check_timer_line(&b, "GICv3", (GICR, "redist"));
        b.expect("ArchRev 3");
    }
}
