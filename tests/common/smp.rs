//! Secondary cores that enter the kernel's entry point with the boot CPU
//! (issue 11: "never running kernel code they were not meant to").
//!
//! QEMU's `-kernel` path never does that (virt and sabrelite keep the
//! secondaries powered off for PSCI/SRC; vexpress and the Raspberry Pis
//! run QEMU's own holding pen), so the test makes it happen with QEMU's
//! generic loader (docs/system/generic-loader.rst: `-device
//! loader,addr=<addr>,cpu-num=<n>` sets CPU n's PC to addr at reset; it
//! runs after the board's own CPU reset, so it overrides the pen). Every
//! secondary then starts at the Image's first instruction at the same time
//! as the boot CPU, MMU off, registers zero (no DTB in r2/x0).
//!
//! What is checked, from QEMU's own execution trace (`-d exec` filtered
//! to the Image's first page) and the kernel ELF's symbols, not from the
//! kernel's log: each secondary executed the entry, then only blocks
//! starting before `armmu_boot_cpu` (the MPIDR check) or in the parking
//! loop `armmu_park_secondary`, and its last traced block is the parking
//! loop; the boot CPU ran blocks past `armmu_boot_cpu`; and the kernel
//! booted to `/init`'s status 0 as usual. (QEMU traces a block where it
//! starts, at a branch target; the boot code's loops all start past the
//! check.) Without the parking code this fails: a secondary runs the BSS
//! loop and the tables' loops, and the boot dies before the console.

use super::*;
use std::collections::BTreeMap;

/// A machine whose secondaries are made to enter at the Image's entry.
pub struct Smp {
    pub qemu: &'static str,
    pub machine: &'static str,
    pub cpus: u32,
    pub args: &'static [&'static str],
    pub dtb: &'static str,
    /// Where QEMU's Linux loader puts the Image (hw/arm/boot.c: RAM base
    /// plus KERNEL_LOAD_ADDR 0x10000 for a 32-bit zImage; RAM base plus
    /// the header's text_offset, 0x80000, for an arm64 Image).
    pub entry: u64,
}

/// vexpress-a9, 4 Cortex-A9 (MPIDR 0x80000000..0x80000003), RAM at
/// 0x60000000.
pub const VEXPRESS_A9: Smp = Smp {
    qemu: "qemu-system-arm",
    machine: "vexpress-a9",
    cpus: 4,
    args: &["-m", "1G"],
    dtb: "vexpress-v2p-ca9.dtb",
    entry: 0x6001_0000,
};

/// raspi3b, 4 Cortex-A53 (MPIDR Aff0 0..3), RAM at 0; the console is the
/// mini UART (QEMU's second serial).
pub const RASPI3B: Smp = Smp {
    qemu: "qemu-system-aarch64",
    machine: "raspi3b",
    cpus: 4,
    args: &["-m", "1G", "-serial", "null", "-serial", "stdio"],
    dtb: "bcm2837-rpi-3-b.dtb",
    entry: 0x8_0000,
};

/// A global symbol's offset from `_start` in the kernel ELF.
fn symbol_offsets(names: &[&str]) -> Vec<u64> {
    use elf::endian::AnyEndian;
    let path = out_dir().join("armmu.elf");
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let file = elf::ElfBytes::<AnyEndian>::minimal_parse(&data).expect("kernel ELF");
    let (syms, strs) = file
        .symbol_table()
        .expect("symbol table")
        .expect("kernel ELF has symbols");
    let value = |want: &str| {
        syms.iter()
            .find(|s| strs.get(s.st_name as usize).ok() == Some(want))
            .map(|s| s.st_value)
            .unwrap_or_else(|| panic!("no symbol {want} in {}", path.display()))
    };
    let start = value("_start");
    names.iter().map(|n| value(n) - start).collect()
}

/// `Trace <cpu>: <host ptr> [<cs_base>/<pc>/<flags>/<cflags>] ...` lines of
/// QEMU's `-d exec` log (accel/tcg/cpu-exec.c), per CPU, in order.
fn traces(log: &str) -> BTreeMap<u32, Vec<u64>> {
    let mut m: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
    for l in log.lines() {
        let Some(rest) = l.strip_prefix("Trace ") else {
            continue;
        };
        let Some((cpu, rest)) = rest.split_once(':') else {
            continue;
        };
        let Some(inner) = rest.split('[').nth(1).and_then(|s| s.split(']').next()) else {
            continue;
        };
        let Some(pc) = inner.split('/').nth(1) else {
            continue;
        };
        if let (Ok(cpu), Ok(pc)) = (cpu.trim().parse(), u64::from_str_radix(pc, 16)) {
            m.entry(cpu).or_default().push(pc);
        }
    }
    m
}

/// Boot `s` with every secondary started at the entry; check they parked.
pub fn secondaries_park(s: &Smp) {
    let has = Command::new(s.qemu)
        .args(["-machine", "help"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.split_whitespace().next() == Some(s.machine))
        })
        .unwrap_or(false);
    if !has {
        eprintln!("{} has no machine {}: skipped", s.qemu, s.machine);
        return;
    }
    let offs = symbol_offsets(&["armmu_boot_cpu", "armmu_park_secondary"]);
    let (boot_cpu, park) = (s.entry + offs[0], s.entry + offs[1]);
    // The parking loop: `cpsid`/`msr daifset`, `wfe`, `b`: 12 bytes.
    let in_park = |pc: u64| (park..park + 12).contains(&pc);
    assert!(
        offs[1] + 12 <= 0x1000,
        "parking loop outside the traced first page"
    );
    let log_path = std::env::temp_dir().join(format!(
        "armmu-smp-{}-{}.log",
        s.machine,
        std::process::id()
    ));
    let _ = std::fs::remove_file(&log_path);
    let dtb = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/dtb")
        .join(s.dtb);
    let mut cmd = Command::new(s.qemu);
    cmd.args(["-M", s.machine, "-smp", &s.cpus.to_string()])
        .args(s.args)
        .args(["-nographic", "-nic", "none", "-monitor", "none"])
        .args(["-semihosting-config", "enable=on,target=native"])
        .arg("-kernel")
        .arg(out_dir().join("Image"))
        .arg("-dtb")
        .arg(&dtb);
    for cpu in 1..s.cpus {
        cmd.args([
            "-device",
            &format!("loader,addr={:#x},cpu-num={cpu}", s.entry),
        ]);
    }
    cmd.args(["-d", "exec", "-dfilter", &format!("{:#x}+0x1000", s.entry)])
        .arg("-D")
        .arg(&log_path);
    let r = run(cmd, 90);
    let trace = std::fs::read_to_string(&log_path).unwrap_or_default();
    let _ = std::fs::remove_file(&log_path);
    let t = traces(&trace);
    // Blocks start at branch targets: the boot CPU's path from
    // `armmu_boot_cpu` on (its BSS loop, table loops...) shows as blocks
    // at or past that address.
    let boot = t.get(&0).expect("no trace of CPU 0");
    assert!(
        boot.iter().any(|&pc| pc >= boot_cpu && !in_park(pc)),
        "CPU 0 never ran the boot code past armmu_boot_cpu: {boot:#x?}"
    );
    for cpu in 1..s.cpus {
        let pcs = t.get(&cpu).unwrap_or_else(|| {
            panic!("CPU {cpu} never ran the entry: the test did not exercise it")
        });
        assert_eq!(pcs[0], s.entry, "CPU {cpu} did not start at the entry");
        for &pc in pcs {
            assert!(
                pc < boot_cpu || in_park(pc),
                "CPU {cpu} ran boot code at {pc:#x} (armmu_boot_cpu {boot_cpu:#x}, park {park:#x}): {pcs:#x?}"
            );
        }
        assert!(
            in_park(*pcs.last().unwrap()),
            "CPU {cpu} did not end in the parking loop: {pcs:#x?}"
        );
    }
    r.expect(&format!("image loaded at {:#010x}", s.entry));
    r.expect("task 1 (/init) exited with status 0");
    r.expect_status(0);
}
