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

/// A Raspberry Pi model in QEMU, booted directly (`-kernel`) with its
/// Debian device tree.
pub struct Pi {
    pub machine: &'static str,
    /// `-cpu`, if the machine's default is not the one wanted.
    pub cpu: Option<&'static str>,
    /// Under tests/data/dtb/.
    pub dtb: &'static str,
    /// The device tree's console is QEMU's second `-serial` (the Pi 3's
    /// mini UART), not the first (the PL011).
    pub second_serial: bool,
    /// The console UART's receive interrupt as the kernel numbers
    /// ARMCTRL interrupts (32 + 32 * bank + bit): the PL011 is `<2 25>`
    /// in the tree (GPU IRQ 57, BCM2835 ARM Peripherals 7.5), 121; the
    /// mini UART `<1 29>` (GPU IRQ 29, "aux_int"), 93.
    pub rx_irq: u32,
    /// "arm" or "aarch64": which Linux oracle of the user program.
    pub arch: &'static str,
}

/// The ARM local peripherals of BCM2836/7 (QA7_rev3.4: base 0x4000_0000)
/// and the ARMCTRL registers (BCM2835 ARM Peripherals 7.5: bus
/// 0x7E00_B200, at CPU 0x3F00_B200 on BCM2836/7 through /soc's ranges).
pub const BCM_LOCAL: u64 = 0x4000_0000;
pub const BCM_ARMCTRL: u64 = 0x3f00_b200;
/// The virtual timer's bit in the local IRQ source register (QA7 4.10:
/// bit 3 CNTVIRQ; Linux's LOCAL_IRQ_CNTVIRQ).
pub const BCM_CNTVIRQ: u32 = 3;

/// The QEMU command line booting `pi` with `append` (`-m 1G`, as the
/// boards have).
pub fn pi_command(pi: &Pi, append: &str) -> Command {
    let out = super::out_dir();
    let image = out.join("Image");
    assert!(
        image.exists(),
        "{} missing: run ./qemu-run.sh build",
        image.display()
    );
    let dtb = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/dtb")
        .join(pi.dtb);
    let qemu = std::env::var("ARMMU_QEMU").unwrap_or_else(|_| "qemu-system-arm".into());
    let mut cmd = Command::new(qemu);
    cmd.args(["-M", pi.machine, "-m", "1G"]);
    if let Some(c) = pi.cpu {
        cmd.args(["-cpu", c]);
    }
    cmd.args(["-display", "none", "-monitor", "none"])
        .args(["-semihosting-config", "enable=on,target=native"]);
    if pi.second_serial {
        cmd.args(["-serial", "null", "-serial", "stdio"]);
    } else {
        cmd.args(["-serial", "stdio"]);
    }
    cmd.arg("-kernel").arg(&image).arg("-dtb").arg(&dtb);
    if !append.is_empty() {
        cmd.args(["-append", append]);
    }
    cmd
}

/// On a Raspberry Pi (no GIC): the virtual timer's interrupt taken
/// through the BCM2836 local controller with IRQs masked (the boot
/// self-test line, checked like the GIC's: a 1 ms deadline at QEMU's
/// 62.5 MHz, taken no earlier), the console's receive interrupt routed
/// through the ARMCTRL controller, and `/bin/preempt`, which hangs
/// unless the timer interrupt preempts a process that never makes a
/// system call, printing what Linux printed.
///
/// Under `-icount shift=0` (guest time follows executed instructions):
/// the raspi machines always have four vCPUs, and the three secondaries
/// spin in QEMU's boot stub (a `wfe` loop on their mailboxes) as host
/// threads of their own; on a loaded host the boot CPU's thread is
/// starved and, with guest time following the host clock, a 100 ms
/// window of the program can pass with no instruction run in it (seen:
/// "0 calls, 235910256 ns" at load average 4 on 2 cores).
pub fn raspberry_pi(pi: &Pi) {
    let mut cmd = pi_command(pi, "rdinit=/bin/preempt");
    cmd.args(["-icount", "shift=0"]);
    let b = run(cmd, 90);
    assert!(!b.has("irq: FAILED"), "{}", b.log);
    assert!(!b.has("running without interrupts"), "{}", b.log);
    let line = b.line("irq: BCM2836");
    let head = format!(
        "irq: BCM2836 l1-intc at {BCM_LOCAL:#010x} (core 0), armctrl-ic at {BCM_ARMCTRL:#010x}; timer PPI {BCM_CNTVIRQ} fired after "
    );
    let rest = line
        .strip_prefix(&head)
        .unwrap_or_else(|| panic!("{line:?} does not start with {head:?}\n{}", b.log));
    let (ticks, tail) = rest.split_once(' ').unwrap();
    let ticks: u64 = ticks.parse().unwrap();
    let want = format!("ticks (deadline {TICKS_PER_MS} at 62.5 MHz), ");
    assert!(tail.starts_with(&want), "{line}");
    assert!(tail.ends_with(" wfi with IRQs masked"), "{line}");
    assert!(ticks >= TICKS_PER_MS, "fired before the deadline: {line}");
    assert!(ticks < 500 * TICKS_PER_MS, "{line}");
    b.expect("irq: timer CNTVIRQ (l1-intc source 3) from the device tree");
    b.expect(&format!(
        "console: UART receive interrupt INTID {}",
        pi.rx_irq
    ));
    let text = super::processes::oracle_text("preempt", pi.arch);
    let want = super::processes::expected_lines(text);
    super::processes::expect_in_order(&b, &want);
    super::expect_no_leak(&b);
    b.expect_status(super::processes::expected_status(text));
}

/// Console input on a Raspberry Pi by the UART's receive interrupt
/// through the ARMCTRL controller: busybox sh (as tests/common/tty.rs
/// boots it) reads a typed command line and runs it; `exit 3` is QEMU's
/// status. Skipped without the busybox initramfs.
pub fn raspberry_pi_console_input(pi: &Pi) {
    let Some(cpio) = super::tty::busybox_cpio(pi.arch) else {
        return;
    };
    let mut cmd = pi_command(pi, "rdinit=/bin/sh");
    cmd.arg("-initrd").arg(cpio);
    let mut s = super::tty::Session::spawn(cmd);
    s.expect(b"/ # ", 60);
    let log = s.log();
    assert!(
        log.contains(&format!(
            "console: UART receive interrupt INTID {}",
            pi.rx_irq
        )),
        "{log}"
    );
    s.send(b"echo rx $((40+2))\r");
    s.expect(b"\r\nrx 42\r\n", 30);
    s.expect(b"/ # ", 30);
    s.send(b"exit 3\r");
    let (status, log) = s.finish(30);
    assert_eq!(status, Some(3), "{log}");
}
