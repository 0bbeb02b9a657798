//! Real development boards as QEMU emulates them, booted directly
//! (`-kernel Image -dtb <Debian DTB>`, QEMU's Linux loader) with the QEMU
//! line of `boards/<machine>/qemu.sh`, the one `./qemu-run.sh run --board
//! <machine>` uses (read here, not copied). Expected
//! values come from `../shared/BOARD-FACTS.md` (console UART type and
//! physical address, interrupt controller), not from the kernel, and each
//! board's `boards/<machine>/README.md` must state the same: the
//! memory-type self-test, the /init demo finding the console through
//! /proc/device-tree and /proc/iomem and writing a line through it from
//! user space, and exit status 0 (semihosting). A machine the installed
//! QEMU lacks is skipped with a message.

use super::*;

pub struct Board {
    /// The QEMU machine, also the board's directory under boards/ (its
    /// qemu.sh gives the CPU, memory, DTB and console serial port).
    pub machine: &'static str,
    /// The console node's path, the demo's name for its type, its PA.
    pub console: (&'static str, &'static str, u64),
    /// Whether the board has a GIC the kernel drives (else: no tick).
    pub gic: bool,
    /// Cortex-A9 boards: the global timer's PA, PERIPHBASE + 0x200
    /// (Cortex-A9 MPCore TRM Table 1-3; PERIPHBASE = the GIC distributor
    /// in BOARD-FACTS - 0x1000). The A9 has no generic timer and no PXN.
    pub cortex_a9: Option<u64>,
    /// The `arm,pl310-cache` node's address (the Debian DTB's `reg`) and
    /// whether QEMU models an L2C-310 there (`info mtree`: vexpress-a9's
    /// `l2x0_cc` at 0x1e00a000; sabrelite has nothing at 0x00a02000, and
    /// its reads there return 0). None: no such node, no `l2:` line.
    pub pl310: Option<(u64, bool)>,
}

pub const RASPI2B: Board = Board {
    machine: "raspi2b",
    console: ("/soc/serial@7e201000", "PL011", 0x3f20_1000),
    gic: false,
    cortex_a9: None,
    pl310: None,
};

pub const VEXPRESS_A15: Board = Board {
    machine: "vexpress-a15",
    console: (
        "/bus@8000000/motherboard-bus@8000000/iofpga-bus@300000000/serial@90000",
        "PL011",
        0x1c09_0000,
    ),
    gic: true,
    cortex_a9: None,
    pl310: None,
};

pub const ORANGEPI_PC: Board = Board {
    machine: "orangepi-pc",
    console: ("/soc/serial@1c28000", "16550", 0x01c2_8000),
    gic: true,
    cortex_a9: None,
    pl310: None,
};

/// The Debian DTB's stdout-path is serial1, the mini UART: QEMU's
/// second `-serial` (qemu.sh: QEMU_CONSOLE_SERIAL=1).
pub const RASPI3B: Board = Board {
    machine: "raspi3b",
    console: ("/soc/serial@7e215040", "BCM2835 mini UART", 0x3f21_5040),
    gic: false,
    cortex_a9: None,
    pl310: None,
};

/// Versatile Express A9: PL011 0x10009000 (BOARD-FACTS; the DTB's
/// `/chosen` is empty, so the `serial0` alias), A9 GIC dist 0x1e001000.
pub const VEXPRESS_A9: Board = Board {
    machine: "vexpress-a9",
    console: (
        "/bus@40000000/motherboard-bus@40000000/iofpga@7,00000000/uart@9000",
        "PL011",
        0x1000_9000,
    ),
    gic: true,
    cortex_a9: Some(0x1e00_0200),
    pl310: Some((0x1e00_a000, true)),
};

/// i.MX6Q SABRE Lite: the console is UART2 (0x021e8000, `stdout-path`),
/// QEMU's second `-serial`; A9 GIC dist 0x00a01000 (BOARD-FACTS).
pub const SABRELITE: Board = Board {
    machine: "sabrelite",
    console: ("/soc/bus@2100000/serial@21e8000", "i.MX UART", 0x021e_8000),
    gic: true,
    cortex_a9: Some(0x00a0_0200),
    pl310: Some((0x00a0_2000, false)),
};

/// Every board the direct-boot tests cover.
pub const ALL: &[&Board] = &[
    &RASPI2B,
    &RASPI3B,
    &ORANGEPI_PC,
    &SABRELITE,
    &VEXPRESS_A9,
    &VEXPRESS_A15,
];

/// Every directory of boards/ has a README.md; every real board QEMU
/// models (a qemu.sh that names the kernel build it boots) is one of
/// [`ALL`], and each of [`ALL`] has its directory and qemu.sh.
pub fn every_board_dir_documented_and_tested() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("boards");
    let mut real = Vec::new();
    for e in std::fs::read_dir(&root).unwrap() {
        let dir = e.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            dir.join("README.md").exists(),
            "boards/{name}/README.md missing"
        );
        let qemu = dir.join("qemu.sh");
        if qemu.exists()
            && std::fs::read_to_string(&qemu)
                .unwrap()
                .lines()
                .any(|l| l.starts_with("QEMU_KERNEL_BOARD="))
        {
            real.push(name);
        }
    }
    real.sort();
    let mut tested: Vec<String> = ALL.iter().map(|b| b.machine.to_string()).collect();
    tested.sort();
    assert_eq!(
        real, tested,
        "boards with a QEMU line vs. boards the tests boot"
    );
}

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

fn board_dir(b: &Board) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("boards")
        .join(b.machine)
}

/// The `KEY=value` lines of `boards/<machine>/qemu.sh` (what follows a
/// `#` and surrounding quotes dropped): the facts qemu-run.sh sources.
pub fn qemu_facts(b: &Board) -> std::collections::HashMap<String, String> {
    let path = board_dir(b).join("qemu.sh");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter_map(|l| {
            let l = l.split('#').next()?.trim();
            let (k, v) = l.split_once('=')?;
            Some((k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        })
        .collect()
}

/// The QEMU command line booting `b` directly with its Debian DTB, from
/// its qemu.sh; checks that the file is about this machine, this QEMU and
/// the kernel build under test (ARMMU_OUT).
fn command(qemu: &str, b: &Board) -> Command {
    let f = qemu_facts(b);
    let fact = |k: &str| {
        f.get(k)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("boards/{}/qemu.sh has no {k}", b.machine))
    };
    assert_eq!(fact("QEMU_MACHINE"), b.machine);
    assert_eq!(fact("QEMU_SYSTEM"), qemu, "boards/{}/qemu.sh", b.machine);
    let out = out_dir();
    assert_eq!(
        out.file_name().and_then(|n| n.to_str()),
        Some(fact("QEMU_KERNEL_BOARD")),
        "boards/{}/qemu.sh: the kernel build it boots",
        b.machine
    );
    let image = out.join("Image");
    assert!(
        image.exists(),
        "{} missing: run ./qemu-run.sh build",
        image.display()
    );
    let dtb = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/dtb")
        .join(fact("QEMU_DTB"));
    let mut cmd = Command::new(qemu);
    cmd.args(["-M", b.machine])
        .args(["-cpu", fact("QEMU_CPU"), "-m", fact("QEMU_MEM")])
        .args(["-nographic", "-nic", "none", "-monitor", "none"])
        .args(["-semihosting-config", "enable=on,target=native"]);
    match fact("QEMU_CONSOLE_SERIAL") {
        "0" => {}
        "1" => {
            cmd.args(["-serial", "null", "-serial", "stdio"]);
        }
        other => panic!("QEMU_CONSOLE_SERIAL={other}"),
    }
    cmd.arg("-kernel").arg(&image).arg("-dtb").arg(&dtb);
    cmd
}

/// The board's README (boards/<machine>/README.md) states what the test
/// expects: the console node and its physical address, and on the
/// Cortex-A9 boards the global timer's.
#[track_caller]
pub fn readme_agrees(b: &Board) {
    let path = board_dir(b).join("README.md");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (node, kind, pa) = b.console;
    let mut want = vec![node.to_string(), kind.to_string(), format!("{pa:#010x}")];
    if let Some(gt) = b.cortex_a9 {
        want.push(format!("{gt:#010x}"));
    }
    for w in want {
        assert!(text.contains(&w), "{} does not say {w}", path.display());
    }
}

/// Boot `b` with kernel arguments `append`; `None` (with a message) if
/// the installed QEMU lacks the machine.
pub fn boot_with(qemu: &str, b: &Board, append: &str) -> Option<Boot> {
    if !has_machine(qemu, b.machine) {
        eprintln!("{qemu} has no machine {}: skipped", b.machine);
        return None;
    }
    let mut cmd = command(qemu, b);
    if !append.is_empty() {
        cmd.args(["-append", append]);
    }
    Some(run(cmd, 60))
}

/// Boot `b` with `qemu` and check it end to end.
pub fn boots(qemu: &str, b: &Board) {
    readme_agrees(b);
    let Some(r) = boot_with(qemu, b, "") else {
        return;
    };
    match b.cortex_a9 {
        Some(gt) => {
            // Cortex-A9 TRM: ID_MMFR0 = 0x00100103 (VMSA 0b0011, no PXN);
            // ID_PFR1.GenTimer = 0: the global timer, PPI 27 (ID27).
            r.expect(
                "mmu: no PXN in the short-descriptor format (ID_MMFR0 0x00100103, VMSA 0b0011)",
            );
            r.expect(&format!(
                "Cortex-A9 global timer at {gt:#010x} (from arm,cortex-a9-twd-timer reg - 0x400), PPI 27"
            ));
            r.expect("timer PPI 27 fired after");
            assert!(!r.log.contains("KERNEL"), "{}", r.log);
        }
        None => assert!(!r.log.contains("mmu: no PXN"), "{}", r.log),
    }
    match b.pl310 {
        Some((pa, true)) => r.expect(&pl310_enabled_line(pa)),
        // Nothing answers: QEMU's unassigned reads give 0, not an L2C-310
        // Cache ID; the kernel must leave it alone and boot on.
        Some((pa, false)) => r.expect(&format!(
            "l2: PL310 at {pa:#010x}: cache id 0x00000000 is not an L2C-310"
        )),
        None => assert!(!r.log.contains("l2: "), "{}", r.log),
    }
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

/// The boot line of an L2C-310 the kernel enabled, with QEMU's model's
/// values (hw/misc/arm_l2x0.c: Cache ID 0x410000c8 "L2C-310 r3p2", Aux
/// Control reset 0x02020000, Control reset 0) decoded by the L2C-310 TRM
/// r3p3: Cache ID [31:24] 0x41 ARM, [9:6] 0b0011 L2C-310, [5:0] 0b001000
/// r3p2; Aux Control bit 16 = 0: 8 ways (way mask 0xff), [19:17] = 0b001:
/// 16 KiB per way, 128 KiB (Linux on QEMU vexpress-a9: "8 ways, 128 kB",
/// BOARD-FACTS).
pub fn pl310_enabled_line(pa: u64) -> String {
    format!(
        "l2: PL310 at {pa:#010x} (cache id 0x410000c8 (L2C-310 r3p2), aux 0x02020000: 8-way, 16 KiB way, 128 KiB) enabled: ways invalidated (mask 0xff)"
    )
}

/// One access QEMU traced to the L2C-310 model (`-trace
/// memory_region_ops_*`, region `l2x0_cc`): write?, offset, value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct L2Access {
    pub write: bool,
    pub off: u64,
    pub value: u64,
}

/// The L2C-310 accesses of a QEMU trace log, in order.
fn l2_accesses(trace: &str, base: u64) -> Vec<L2Access> {
    let hex = |w: Option<&str>| u64::from_str_radix(w?.trim_start_matches("0x"), 16).ok();
    trace
        .lines()
        .filter(|l| l.contains("name 'l2x0_cc'"))
        .filter_map(|l| {
            // memory_region_ops_write cpu 0 mr 0x... addr 0x1e00a7f0 value 0x60200000 size 4 name 'l2x0_cc'
            let w: Vec<&str> = l.split_whitespace().collect();
            let at = |k: &str| {
                w.iter()
                    .position(|&x| x == k)
                    .map(|i| w.get(i + 1).copied())
            };
            let write = l.contains("memory_region_ops_write");
            let addr = hex(at("addr")?)?;
            let value = hex(at("value")?)?;
            Some(L2Access {
                write,
                off: addr.checked_sub(base)?,
                value,
            })
        })
        .collect()
}

/// The L2C-310 on QEMU's vexpress-a9 as the device sees it: QEMU traces
/// every access to its model while `/bin/dmabuf` runs (which changes its
/// buffer to Strongly-ordered and back, maintaining the caches). Checked
/// against the TRM r3p3, not against the kernel's own log:
/// - bring-up: the DTB's latencies <1 1 1> written as 0 to Tag/Data RAM
///   Latency 0x108/0x10C, then Invalidate by Way 0x77C with the 8-way
///   mask 0xff (Aux Control 0x02020000, bit 16 = 0) and polled, then a
///   Cache Sync 0x730, and only then Control 0x100 <- 1 (TRM 3.3.4, 3.3.5:
///   configuration only while disabled; 3.1.1 invalidate before enabling);
/// - maintenance: Clean+Invalidate Line by PA 0x7F0 in runs of
///   consecutive 32-byte-aligned lines (TRM 3.3.2: 32-byte lines), each run
///   followed by a Cache Sync 0x730 (TRM 3.3.10); the dmabuf buffer's
///   8 KiB at the `pa=` of its `dmabuf0:` line is covered line by line.
pub fn pl310_trace_vexpress_a9(qemu: &str) {
    let b = &VEXPRESS_A9;
    if !has_machine(qemu, b.machine) {
        eprintln!("{qemu} has no machine {}: skipped", b.machine);
        return;
    }
    let trace_path =
        std::env::temp_dir().join(format!("armmu-l2-trace-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&trace_path);
    let mut cmd = command(qemu, b);
    cmd.args(["-append", "rdinit=/bin/dmabuf"])
        .args([
            "-trace",
            "memory_region_ops_read",
            "-trace",
            "memory_region_ops_write",
        ])
        .arg("-D")
        .arg(&trace_path);
    let r = run(cmd, 60);
    let trace = std::fs::read_to_string(&trace_path).unwrap_or_default();
    let _ = std::fs::remove_file(&trace_path);
    r.expect(&pl310_enabled_line(0x1e00_a000));
    r.expect_status(0);
    let acc = l2_accesses(&trace, 0x1e00_a000);
    let wr = |off: u64| move |a: &L2Access| a.write && a.off == off;
    let enable = acc
        .iter()
        .position(|a| a.write && a.off == 0x100 && a.value & 1 == 1)
        .unwrap_or_else(|| panic!("no Control <- 1 in {acc:?}"));
    let before = &acc[..enable];
    for (off, val) in [(0x108, 0), (0x10c, 0), (0x77c, 0xff), (0x730, 0)] {
        assert!(
            before
                .iter()
                .any(|a| a.write && a.off == off && a.value == val),
            "no write {val:#x} to {off:#x} before the enable: {before:?}"
        );
    }
    let inv = before.iter().rposition(wr(0x77c)).unwrap();
    let poll = before[inv..]
        .iter()
        .position(|a| !a.write && a.off == 0x77c)
        .expect("Invalidate by Way polled");
    let sync = before[inv..]
        .iter()
        .rposition(wr(0x730))
        .expect("Cache Sync after the invalidate");
    assert!(poll < sync, "{before:?}");
    // No configuration write once enabled (TRM 3.3.4: SLVERR then).
    let after = &acc[enable + 1..];
    for off in [0x104, 0x108, 0x10c] {
        assert!(!after.iter().any(wr(off)), "{off:#x} written while enabled");
    }
    // Maintenance runs.
    let mut lines = std::collections::BTreeSet::new();
    let mut i = 0;
    let mut runs = 0;
    while i < after.len() {
        if !(after[i].write && after[i].off == 0x7f0) {
            i += 1;
            continue;
        }
        let start = i;
        while i < after.len() && after[i].write && after[i].off == 0x7f0 {
            let v = after[i].value;
            assert_eq!(v % 32, 0, "line address {v:#x} not 32-byte aligned");
            if i > start {
                assert_eq!(v, after[i - 1].value + 32, "lines not consecutive");
            }
            lines.insert(v);
            i += 1;
        }
        runs += 1;
        assert!(
            i < after.len() && after[i].write && after[i].off == 0x730,
            "run of Clean+Invalidate by PA not followed by a Cache Sync: {:?}",
            after.get(i)
        );
    }
    assert!(runs > 0, "no Clean+Invalidate Line by PA: {after:?}");
    let pa = r
        .log
        .lines()
        .find_map(|l| {
            let rest = l.strip_prefix("dmabuf0: 8192 bytes at pa=0x")?;
            u64::from_str_radix(rest.split(' ').next()?, 16).ok()
        })
        .unwrap_or_else(|| panic!("no dmabuf0 line\n{}", r.log));
    for line in (pa..pa + 8192).step_by(32) {
        assert!(
            lines.contains(&line),
            "dmabuf line {line:#x} never cleaned+invalidated in L2"
        );
    }
}

/// The GPIO block of BCM2835/6/7 (BCM2835 ARM Peripherals 6.1): bus
/// address 0x7E20_0000, at CPU 0x3F20_0000 on BCM2836/7 through /soc's
/// `ranges` (0x7e000000 -> 0x3f000000 in both Debian DTBs); node
/// `gpio@7e200000`, `compatible = "brcm,bcm2835-gpio"`.
pub const GPIO_NODE: &str = "/soc/gpio@7e200000";
pub const GPIO_PA: u64 = 0x3f20_0000;

/// The lines `/bin/gpio` must print for pin `pin`, from the datasheet
/// (BCM2835 ARM Peripherals 6.1): GPFSELn = pin / 10 with the pin's 3-bit
/// field at 3 * (pin % 10), 000 input (every field's reset value), 001
/// output; GPSETn/GPCLRn/GPLEVn = pin / 32, bit pin % 32; an output's
/// GPLEV bit is what was last set or cleared.
pub fn gpio_lines(pin: u32) -> Vec<String> {
    let (f, shift) = (pin / 10, 3 * (pin % 10));
    let (n, bit) = (pin / 32, 1u32 << (pin % 32));
    let out = 1u32 << shift;
    let b = pin % 32;
    vec![
        format!(
            "gpio: BCM2835 GPIO {GPIO_NODE} at phys {GPIO_PA:#x} (compatible via /proc/device-tree, address from /proc/iomem)"
        ),
        format!("gpio: /dev/mem page {GPIO_PA:#x} mapped MAP_SHARED at va "),
        format!("gpio: GPFSEL{f} = 0x00000000: GPIO{pin} function 000 (input)"),
        format!(
            "gpio: GPFSEL{f} <- {out:#010x} (GPIO{pin} output): read back {out:#010x}, function 001 (output); datasheet: {out:#010x} in bits 0-29: ok"
        ),
        format!(
            "gpio: GPSET{n} <- {bit:#010x}: GPLEV{n} = {bit:#010x}, GPIO{pin} high; datasheet: bit {b} = 1 (high): ok"
        ),
        format!(
            "gpio: GPCLR{n} <- {bit:#010x}: GPLEV{n} = 0x00000000, GPIO{pin} low; datasheet: bit {b} = 0 (low): ok"
        ),
        format!(
            "gpio: GPFSEL{f} <- 0x00000000 (GPIO{pin} input again): read back 0x00000000; datasheet: 0x00000000 in bits 0-29, as at the start: ok"
        ),
        "gpio: every register read back as the datasheet says, exiting 0".into(),
        "task 1 (/bin/gpio) exited with status 0".into(),
    ]
}

/// The GPIO demo (`user/src/bin/gpio.rs`) as /init on a Raspberry Pi
/// board: GPIO 17 made an output, set, cleared and given back its
/// function through /dev/mem, every step as `gpio_lines` says, in order;
/// status 0. QEMU's GPIO (hw/gpio/bcm2835_gpio.c) resets every GPFSEL
/// to 0 and keeps GPLEV as the last GPSET/GPCLR.
pub fn gpio(qemu: &str, b: &Board) {
    if !has_machine(qemu, b.machine) {
        eprintln!("{qemu} has no machine {}: skipped", b.machine);
        return;
    }
    let mut cmd = command(qemu, b);
    cmd.args(["-append", "rdinit=/bin/gpio"]);
    let r = run(cmd, 60);
    let lines: Vec<&str> = r
        .log
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| l.starts_with("gpio: ") || l.starts_with("task 1 "))
        .collect();
    let want = gpio_lines(17);
    assert_eq!(lines.len(), want.len(), "{}", r.log);
    for (got, want) in lines.iter().zip(&want) {
        // The mapping's virtual address is the kernel's choice.
        let same = if want.ends_with(" at va ") {
            got.starts_with(want.as_str())
        } else {
            got == want
        };
        assert!(same, "expected {want:?}, got {got:?}\n{}", r.log);
    }
    assert!(!r.log.contains("MISMATCH"), "{}", r.log);
    r.expect_status(0);
}

/// `/bin/gpio` on QEMU `virt` (no BCM2835 GPIO node): the skip line,
/// status 0.
pub fn gpio_skipped(cpu: &str) {
    let r = super::boot(cpu, None, "rdinit=/bin/gpio", 30);
    r.expect("gpio: no BCM2835 GPIO: skipped (no /proc/device-tree node compatible with brcm,bcm2835-gpio)");
    assert!(!r.log.contains("/dev/mem page"), "{}", r.log);
    r.expect("task 1 (/bin/gpio) exited with status 0");
    r.expect_status(0);
}
