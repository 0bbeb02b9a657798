//! Real development boards as QEMU emulates them, booted directly
//! (`-kernel Image -dtb <Debian DTB>`, QEMU's Linux loader). Expected
//! values come from `../shared/BOARD-FACTS.md` (console UART type and
//! physical address, interrupt controller), not from the kernel: the
//! memory-type self-test, the /init demo finding the console through
//! /proc/device-tree and /proc/iomem and writing a line through it from
//! user space, and exit status 0 (semihosting). A machine the installed
//! QEMU lacks is skipped with a message.

use super::*;

pub struct Board {
    pub machine: &'static str,
    /// Extra QEMU arguments (CPU, memory, serial wiring).
    pub args: &'static [&'static str],
    pub dtb: &'static str,
    /// The console node's path, the demo's name for its type, its PA.
    pub console: (&'static str, &'static str, u64),
    /// Whether the board has a GIC the kernel drives (else: no tick).
    pub gic: bool,
}

pub const RASPI2B: Board = Board {
    machine: "raspi2b",
    args: &["-cpu", "cortex-a7", "-m", "1G"],
    dtb: "bcm2836-rpi-2-b.dtb",
    console: ("/soc/serial@7e201000", "PL011", 0x3f20_1000),
    gic: false,
};

pub const VEXPRESS_A15: Board = Board {
    machine: "vexpress-a15",
    args: &[],
    dtb: "vexpress-v2p-ca15-tc1.dtb",
    console: (
        "/bus@8000000/motherboard-bus@8000000/iofpga-bus@300000000/serial@90000",
        "PL011",
        0x1c09_0000,
    ),
    gic: true,
};

pub const ORANGEPI_PC: Board = Board {
    machine: "orangepi-pc",
    args: &[],
    dtb: "sun8i-h3-orangepi-pc.dtb",
    console: ("/soc/serial@1c28000", "16550", 0x01c2_8000),
    gic: true,
};

/// The Debian DTB's stdout-path is serial1, the mini UART: QEMU's
/// second `-serial`.
pub const RASPI3B: Board = Board {
    machine: "raspi3b",
    args: &["-m", "1G", "-serial", "null", "-serial", "stdio"],
    dtb: "bcm2837-rpi-3-b.dtb",
    console: ("/soc/serial@7e215040", "BCM2835 mini UART", 0x3f21_5040),
    gic: false,
};

fn has_machine(qemu: &str, machine: &str) -> bool {
    Command::new(qemu)
        .args(["-machine", "help"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.split_whitespace().next() == Some(machine))
        })
        .unwrap_or(false)
}

/// Boot `b` with `qemu` and check it end to end.
pub fn boots(qemu: &str, b: &Board) {
    if !has_machine(qemu, b.machine) {
        eprintln!("{qemu} has no machine {}: skipped", b.machine);
        return;
    }
    let image = out_dir().join("Image");
    assert!(
        image.exists(),
        "{} missing: run ./qemu-run.sh build",
        image.display()
    );
    let dtb = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/dtb")
        .join(b.dtb);
    let mut cmd = Command::new(qemu);
    cmd.args(["-M", b.machine])
        .args(b.args)
        .args(["-nographic", "-nic", "none", "-monitor", "none"])
        .args(["-semihosting-config", "enable=on,target=native"])
        .arg("-kernel")
        .arg(&image)
        .arg("-dtb")
        .arg(&dtb);
    let r = run(cmd, 60);
    let (node, kind, pa) = b.console;
    r.expect("(from device tree)");
    assert!(
        r.log
            .lines()
            .any(|l| l.starts_with("MMU self-test:") && l.ends_with("checks passed, 0 failed")),
        "memory-type self-test\n{}",
        r.log
    );
    // Every board's timer interrupt reaches the kernel: through a GIC,
    // or on the Raspberry Pis the BCM2836 local controller.
    if b.gic {
        r.expect("irq: GICv2 at");
    } else {
        r.expect("irq: BCM2836 l1-intc at 0x40000000");
    }
    assert!(!r.log.contains("running without interrupts"), "{}", r.log);
    r.expect(&format!(
        "init: console {node} ({kind}) at phys {pa:#x} (stdout-path via /proc/device-tree, address from /proc/iomem)"
    ));
    r.expect(&format!(
        "init: hello through the {kind} mapped from user space!"
    ));
    r.expect("zeroed true pattern true");
    r.expect("task 1 (/init) exited with status 0");
    r.expect_status(0);
}
