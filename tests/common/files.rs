//! Files: a tmpfs root with a page cache, file-backed mmap, msync, SIGBUS, each checked
//! against what real Linux printed for the very same static program or shell script.
//!
//! Where the expectations come from (as in processes.rs): `user/oracle/<name>.<arch>.txt`,
//! recorded on Debian's Linux 6.1 (`linux-image-6.1.0-50-armmp` 6.1.176-1 on
//! `qemu-system-arm -M virt -cpu cortex-a15 -m 512M`; `linux-image-6.1.0-50-arm64-unsigned`
//! on `qemu-system-aarch64 -M virt -cpu cortex-a53 -m 512M`; QEMU 7.2):
//!
//! | test | recorded with | Linux 6.1 armmp | Linux 6.1 arm64 |
//! |---|---|---|---|
//! | file_mmap | `user/scripts/oracle-record.sh file_mmap` | 183 passed (+4 in a child) | 184 passed (+4) |
//! | read_vs_mmap | `user/scripts/oracle-record.sh read_vs_mmap` | 7 passed, `same file: yes` | the same |
//! | busybox files | `BB_RDINIT=/files.sh user/scripts/busybox-initramfs.sh --linux ARCH` | exit 5 | exit 5 |
//! | busybox exec | `BB_RDINIT=/exec.sh user/scripts/busybox-initramfs.sh --linux ARCH` | exit 6 | exit 6 |
//!
//! file_mmap differs between the architectures only where the ABI does: ARM checks
//! `_llseek` and that the byte-offset `old_mmap` (90) is absent (ENOSYS: mmap2 cannot
//! express an unaligned offset), AArch64 `lseek` and `mmap` with an unaligned byte offset
//! (EINVAL).
//!
//! What is compared: as in processes.rs, every line of the program's own output in
//! order (the `#` comments aside, `# passed N failed 0` included) and the exit status;
//! for read_vs_mmap the `ticks ...` lines are left out (timings): the test prints armmu's
//! figures (from a run under `-icount shift=0`, so they are instruction counts / 16 and
//! repeatable) next to Linux's under the same `-icount shift=0`, which are written below
//! ([`LINUX_TICKS`]). The busybox scripts compare their `fs: ` (`ex: `) lines and `exit 5`
//! (`exit 6`).
//!
//! Hooked into tests/qemu.rs and tests/qemu_aarch64.rs (`file_scenarios!`).

use super::processes::{expect_in_order, expected_lines, expected_status};
use super::scenarios::Arch;
use super::*;

macro_rules! file_oracles {
    ($($p:literal),* $(,)?) => {
        /// The recorded Linux output of `prog` on `arch` ("arm" or "aarch64").
        pub fn oracle_text(prog: &str, arch: &str) -> &'static str {
            match (prog, arch) {
                $(
                    ($p, "arm") => include_str!(concat!("../../user/oracle/", $p, ".arm.txt")),
                    ($p, "aarch64") => include_str!(concat!("../../user/oracle/", $p, ".aarch64.txt")),
                )*
                _ => panic!("no oracle output for {prog} on {arch}"),
            }
        }
    };
}

file_oracles!("file_mmap", "read_vs_mmap", "busybox-files", "busybox-exec");

/// Linux 6.1's figures for read_vs_mmap under `-icount shift=0` (`LINUX_ORACLE_QEMU_ARGS=
/// "-icount shift=0" user/scripts/linux-oracle.sh ARCH read_vs_mmap`, the same in two
/// runs to within a tick): (arch, ticks of the read/write pass, ticks of the mmap pass).
pub const LINUX_TICKS: [(&str, u64, u64); 2] = [("arm", 21_947, 6_312), ("aarch64", 23_746, 6_071)];

/// Boot `/bin/<prog>` and compare with Linux's output for `arch`, leaving out the lines
/// `skip` selects.
fn matches_linux(a: &Arch, arch: &str, prog: &str, secs: u64, skip: fn(&str) -> bool) -> Boot {
    let text = oracle_text(prog, arch);
    let b = boot(a.cpu, None, &format!("rdinit=/bin/{prog}"), secs);
    assert!(!b.has("not ok - "), "{}", b.log);
    let want: Vec<&str> = expected_lines(text)
        .into_iter()
        .filter(|l| !skip(l))
        .collect();
    expect_in_order(&b, &want);
    expect_no_leak(&b);
    b.expect_status(expected_status(text));
    b
}

/// Every file and file-mmap rule of `user/src/bin/file_mmap.rs`.
pub fn file_mmap(a: &Arch, arch: &str) {
    matches_linux(a, arch, "file_mmap", 120, |_| false);
}

fn is_ticks(l: &str) -> bool {
    l.starts_with("ticks ")
}

/// The same boot as [`boot`], with `-icount shift=0` (one instruction per ns; CNTVCT
/// at 62.5 MHz counts 16 instructions per tick).
pub fn boot_icount(cpu: &str, append: &str, secs: u64) -> Boot {
    let out = out_dir();
    let image = out.join("Image");
    assert!(
        image.exists(),
        "{} missing: run ./qemu-run.sh test",
        image.display()
    );
    let qemu = std::env::var("ARMMU_QEMU").unwrap_or_else(|_| "qemu-system-arm".into());
    let mut cmd = Command::new(qemu);
    cmd.args([
        "-M",
        &std::env::var("ARMMU_MACHINE").unwrap_or_else(|_| "virt".into()),
    ])
    .args(["-cpu", cpu])
    .args([
        "-m",
        &std::env::var("ARMMU_MEM").unwrap_or_else(|_| "512M".into()),
    ])
    .args(["-nographic", "-nic", "none", "-monitor", "none"])
    .args(["-semihosting-config", "enable=on,target=native"])
    .args(["-icount", "shift=0"])
    .arg("-kernel")
    .arg(&image)
    .args(["-append", append]);
    run(cmd, secs)
}

/// read/write vs mmap + msync on a 10 000-int file: the same file (`same file: yes`),
/// Linux's lines apart from the timings; armmu's ticks are printed (run the test with
/// `--nocapture` to see them) next to Linux's.
pub fn read_vs_mmap(a: &Arch, arch: &str) {
    let b = matches_linux(a, arch, "read_vs_mmap", 60, is_ticks);
    b.expect("same file: yes");
    let ticks = |b: &Boot, what: &str| -> u64 {
        b.line(&format!("ticks {what}: "))
            .rsplit(' ')
            .next()
            .unwrap()
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("ticks {what}\n{}", b.log))
    };
    // Deterministic figures: the same program under -icount shift=0.
    let bi = boot_icount(a.cpu, "rdinit=/bin/read_vs_mmap", 120);
    bi.expect("same file: yes");
    bi.expect_status(0);
    let (rw, mm) = (ticks(&bi, "read/write"), ticks(&bi, "mmap"));
    let (_, lrw, lmm) = LINUX_TICKS.iter().find(|t| t.0 == arch).unwrap();
    eprintln!(
        "read_vs_mmap ({arch}, -icount shift=0): armmu read/write {rw} ticks, mmap {mm} ticks; \
         Linux 6.1 read/write {lrw}, mmap {lmm}"
    );
    eprintln!(
        "read_vs_mmap ({arch}, no icount): armmu read/write {} ticks, mmap {} ticks",
        ticks(&b, "read/write"),
        ticks(&b, "mmap")
    );
}

/// `user/scripts/files.sh` (in the busybox cpio as /files.sh) run by Debian's
/// busybox-static: `ls -l /`, cat, `>`/`>>`, hexdump, wc, cp, cmp, mv, rm, mkdir, rmdir,
/// seq + md5sum, dd, sort | uniq, the [heap] line of a child's maps. The cpio as for
/// processes::busybox_shell (`ARMMU_BUSYBOX_CPIO_<ARCH>` or `$ARMMU_OUT/busybox.cpio`;
/// skipped without either). Expected: Linux's `fs: ` lines and `exit 5`.
pub fn busybox_files(a: &Arch, arch: &str) {
    let var = format!("ARMMU_BUSYBOX_CPIO_{}", arch.to_uppercase());
    let from_out = Some(out_dir().join("busybox.cpio"))
        .filter(|p| p.is_file())
        .map(|p| p.display().to_string());
    let Some(cpio) = std::env::var(&var).ok().or(from_out) else {
        eprintln!("busybox_files: {var} not set and no busybox.cpio in the out directory, skipped");
        return;
    };
    let text = oracle_text("busybox-files", arch);
    let b = boot(a.cpu, Some(&cpio), "rdinit=/files.sh", 120);
    assert!(
        b.has("fs: start"),
        "{cpio} has no /files.sh? (rebuild it: user/scripts/busybox-initramfs.sh)\n{}",
        b.log
    );
    let want: Vec<&str> = text.lines().filter(|l| l.starts_with("fs: ")).collect();
    expect_in_order(&b, &want);
    expect_no_leak(&b);
    b.expect_status(expected_status(text));
}

/// `user/scripts/exec.sh` (in the busybox cpio as /exec.sh): programs written at run time
/// are executed through the page cache: copies of busybox made by cp and by `cat >`, one
/// that unlinks itself while it runs, a `#!` script written at run time (its interpreter
/// a copy); the copy's own /proc/self/maps names it for each segment; a copy without an
/// execute bit and a directory are refused (126). The cpio as for [`busybox_files`].
/// Expected: Linux's `ex: ` lines and `exit 6`.
pub fn busybox_exec(a: &Arch, arch: &str) {
    let var = format!("ARMMU_BUSYBOX_CPIO_{}", arch.to_uppercase());
    let from_out = Some(out_dir().join("busybox.cpio"))
        .filter(|p| p.is_file())
        .map(|p| p.display().to_string());
    let Some(cpio) = std::env::var(&var).ok().or(from_out) else {
        eprintln!("busybox_exec: {var} not set and no busybox.cpio in the out directory, skipped");
        return;
    };
    let text = oracle_text("busybox-exec", arch);
    let b = boot(a.cpu, Some(&cpio), "rdinit=/exec.sh", 120);
    assert!(
        b.has("ex: start"),
        "{cpio} has no /exec.sh? (rebuild it: user/scripts/busybox-initramfs.sh)\n{}",
        b.log
    );
    let want: Vec<&str> = text.lines().filter(|l| l.starts_with("ex: ")).collect();
    expect_in_order(&b, &want);
    expect_no_leak(&b);
    b.expect_status(expected_status(text));
}

/// One `#[test]` per program, for a test file that has `mod common;`.
#[macro_export]
macro_rules! file_scenarios {
    ($arch:expr, $name:literal) => {
        #[test]
        fn files_file_mmap() {
            common::files::file_mmap(&$arch, $name)
        }
        #[test]
        fn files_read_vs_mmap() {
            common::files::read_vs_mmap(&$arch, $name)
        }
        #[test]
        fn files_busybox() {
            common::files::busybox_files(&$arch, $name)
        }
        #[test]
        fn files_busybox_exec() {
            common::files::busybox_exec(&$arch, $name)
        }
    };
}
