//! A kernel fault while printing still produces a report (issue 11):
//! `armmu.test_fault=early` faults before the console is known with the
//! early buffer's lock held, `armmu.test_fault=console` with the console
//! UART's lock held (src/testfault.rs). Both read VA 0xdead0000, which
//! nothing maps: by the ARM ARM a translation fault on a read, at that
//! address, at a pc inside the provoking code (checked against the ELF's
//! symbol table, not the kernel's word). The boot must end with the
//! panic's status 255 within the time limit, not hang on a lock.
//!
//! Before the console is known the only way out is the debugger's
//! console (semihosting), so QEMU's semihosting console is put on the
//! same chardev as the serial port: one log, as a user sees it.

use super::*;
use std::process::Command;

/// `[start, end)` of every function symbol of out/armmu.elf whose name
/// contains `part` (llvm-nm from rustup's llvm-tools).
fn symbol_ranges(part: &str) -> Vec<(u64, u64)> {
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .expect("rustc --print sysroot");
    let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_string();
    let nm = walk(std::path::Path::new(&sysroot).join("lib/rustlib").as_path())
        .expect("llvm-nm in rustup's llvm-tools (rustup component add llvm-tools)");
    let out = Command::new(nm)
        .args(["--print-size", "--defined-only"])
        .arg(out_dir().join("armmu.elf"))
        .output()
        .expect("llvm-nm");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(part))
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let a = u64::from_str_radix(f.next()?, 16).ok()?;
            let s = u64::from_str_radix(f.next()?, 16).ok()?;
            Some((a, a + s))
        })
        .collect()
}

fn walk(dir: &std::path::Path) -> Option<std::path::PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(f) = walk(&p) {
                return Some(f);
            }
        } else if p.file_name().is_some_and(|n| n == "llvm-nm") {
            return Some(p);
        }
    }
    None
}

/// Boot `-append armmu.test_fault=<when>` with the semihosting console on
/// the serial chardev.
fn boot_fault(cpu: &str, when: &str) -> Boot {
    let qemu = std::env::var("ARMMU_QEMU").unwrap_or_else(|_| "qemu-system-arm".into());
    let machine = std::env::var("ARMMU_MACHINE").unwrap_or_else(|_| "virt".into());
    let mut cmd = Command::new(qemu);
    cmd.args(["-M", &machine, "-cpu", cpu, "-m", "512M"])
        .args(["-display", "none", "-nic", "none", "-monitor", "none"])
        .args(["-chardev", "stdio,mux=on,id=con", "-serial", "chardev:con"])
        .args(["-semihosting-config", "enable=on,target=native,chardev=con"])
        .arg("-kernel")
        .arg(out_dir().join("Image"))
        .args(["-append", &format!("armmu.test_fault={when}")]);
    run(cmd, 30)
}

/// The decoded report: `KERNEL <what>: SIGSEGV translation fault (...,
/// read) at 0xdead0000 pc=0x...`, the pc in the provoking code.
#[track_caller]
fn expect_report(b: &Boot) {
    assert_eq!(b.status, Some(255), "no panic status (hang?):\n{}", b.log);
    let line = b.line("SIGSEGV translation fault");
    assert!(line.contains("KERNEL "), "{line}");
    assert!(line.contains("read) at 0xdead0000 pc=0x"), "{line}");
    let pc = line.split("pc=0x").nth(1).unwrap();
    let pc = u64::from_str_radix(pc.split_whitespace().next().unwrap(), 16).unwrap();
    let mut ranges = symbol_ranges("testfault");
    ranges.extend(symbol_ranges("while_locked"));
    assert!(!ranges.is_empty(), "no testfault symbols in armmu.elf");
    assert!(
        ranges.iter().any(|&(s, e)| (s..e).contains(&pc)),
        "pc {pc:#x} not in the provoking code {ranges:x?}"
    );
    b.expect("KERNEL PANIC");
    b.expect("unrecoverable kernel fault");
}

/// Before the console is known: the early messages (the banner before
/// the fault, the half-written message, the report) come out through
/// the panic path, in order.
pub fn early(cpu: &str) {
    let b = boot_fault(cpu, "early");
    expect_report(&b);
    let banner = b.log.find(" kernel, image loaded at ").expect(&b.log);
    let half = b.log.find("half a message: KERNEL ").expect(&b.log);
    let panic = b.log.find("KERNEL PANIC").unwrap();
    assert!(banner < half && half < panic, "{}", b.log);
    // The console was never installed: nothing from kernel::main.
    assert!(!b.has("board: "), "{}", b.log);
}

/// With the console UART's lock held: the report is written past it.
pub fn console_locked(cpu: &str) {
    let b = boot_fault(cpu, "console");
    expect_report(&b);
    b.expect("cmdline: \"armmu.test_fault=console\"");
    assert!(!b.has("no console known yet"), "{}", b.log);
}
