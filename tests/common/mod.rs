//! The QEMU harness shared by the per-architecture boot tests: boot the
//! image built by `./qemu-run.sh build`, collect the serial log and the
//! exit status (semihosting), with a timeout so a hang fails fast.
#![allow(dead_code)]

pub mod bench;
pub mod boards;
pub mod boot_inputs;
pub mod chainload;
pub mod cpio;
pub mod devtree;
pub mod dmabuf;
pub mod early_fault;
pub mod files;
pub mod fuzz;
pub mod inject;
pub mod irq;
pub mod processes;
pub mod scenarios;
pub mod sdcard;
pub mod smp;
pub mod tty;

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub fn out_dir() -> PathBuf {
    std::env::var_os("ARMMU_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("out/qemu-virt"))
}

pub fn cpus() -> Vec<String> {
    std::env::var("ARMMU_CPUS")
        .unwrap_or_else(|_| "cortex-a15 cortex-a7".into())
        .split_whitespace()
        .map(String::from)
        .collect()
}

pub struct Boot {
    pub status: Option<i32>,
    pub log: String,
}

impl Boot {
    pub fn has(&self, needle: &str) -> bool {
        self.log.contains(needle)
    }

    #[track_caller]
    pub fn expect(&self, needle: &str) {
        assert!(
            self.has(needle),
            "log lacks {needle:?}\n---- log ----\n{}",
            self.log
        );
    }

    #[track_caller]
    pub fn expect_status(&self, code: i32) {
        assert_eq!(
            self.status,
            Some(code),
            "exit status\n---- log ----\n{}",
            self.log
        );
    }

    /// The line containing `needle`.
    pub fn line(&self, needle: &str) -> &str {
        self.log
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?}\n---- log ----\n{}", self.log))
    }
}

/// Boot once; kill QEMU after `secs` so a hang fails fast.
pub fn boot(cpu: &str, initrd: Option<&str>, append: &str, secs: u64) -> Boot {
    boot_with(cpu, initrd, append, secs, None)
}

/// `load_at`: instead of QEMU's Linux loader, put the raw image at this
/// address with QEMU's generic loader and start the CPU there (no DTB, r2 = 0).
pub fn boot_with(
    cpu: &str,
    initrd: Option<&str>,
    append: &str,
    secs: u64,
    load_at: Option<u32>,
) -> Boot {
    boot_on("", cpu, initrd, append, secs, load_at)
}

/// Boot on `-M <ARMMU_MACHINE><extra>` (e.g. `",virtualization=on"`), the
/// rest as [`boot_with`].
pub fn boot_on(
    extra: &str,
    cpu: &str,
    initrd: Option<&str>,
    append: &str,
    secs: u64,
    load_at: Option<u32>,
) -> Boot {
    let out = out_dir();
    let image = out.join("Image");
    assert!(
        image.exists(),
        "{} missing: run ./qemu-run.sh test",
        image.display()
    );
    let qemu = std::env::var("ARMMU_QEMU").unwrap_or_else(|_| "qemu-system-arm".into());
    let mut cmd = Command::new(qemu);
    let machine = std::env::var("ARMMU_MACHINE").unwrap_or_else(|_| "virt".into());
    cmd.args(["-M", &format!("{machine}{extra}")])
        .args(["-cpu", cpu])
        .args([
            "-m",
            &std::env::var("ARMMU_MEM").unwrap_or_else(|_| "512M".into()),
        ])
        .args(["-nographic", "-nic", "none", "-monitor", "none"])
        .args(["-semihosting-config", "enable=on,target=native"]);
    match load_at {
        None => {
            cmd.arg("-kernel").arg(&image);
        }
        Some(a) => {
            cmd.arg("-device")
                .arg(format!(
                    "loader,file={},addr={a:#x},force-raw=on",
                    image.display()
                ))
                .arg("-device")
                .arg(format!("loader,addr={a:#x},cpu-num=0"));
        }
    }
    if let Some(i) = initrd {
        cmd.arg("-initrd").arg(out.join(i));
    }
    if !append.is_empty() {
        cmd.args(["-append", append]);
    }
    run(cmd, secs)
}

/// Run a prepared QEMU command line to its end (or `secs`, then kill it):
/// the serial log and the exit status.
pub fn run(mut cmd: Command, secs: u64) -> Boot {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start qemu");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stdout.read_to_end(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st.code();
        }
        if start.elapsed() > Duration::from_secs(secs) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let log = String::from_utf8_lossy(&reader.join().unwrap()).replace('\r', "");
    Boot { status, log }
}

/// The one self-test `seen` line for this block kind, permission and
/// memory type (`  seen <kind> <access> ... | <name>`).
#[track_caller]
pub fn one_seen_line<'a>(seen: &[&'a str], kind: &str, access: &str, name: &str) -> &'a str {
    let head = format!("  seen {kind} {access} ");
    let tail = format!(" | {name}");
    let lines: Vec<&str> = seen
        .iter()
        .copied()
        .filter(|l| l.starts_with(&head) && l.ends_with(&tail))
        .collect();
    assert_eq!(lines.len(), 1, "{kind} {access} {name}: {lines:?}");
    lines[0]
}

/// Every user-task boot must end with the frame count where it started.
#[track_caller]
pub fn expect_no_leak(b: &Boot) {
    // A result the kernel could not drop silently failed (mm::must).
    assert!(!b.has("armmu BUG"), "{}", b.log);
    let line = b.line("free after");
    assert!(line.ends_with("no leak)"), "{line}");
}

/// The `# passed N failed 0` line of the user-side test framework.
#[track_caller]
pub fn expect_all_passed(b: &Boot, at_least: u32) {
    let line = b.line("# passed ");
    let mut w = line.split_whitespace();
    let passed: u32 = w.nth(2).unwrap().parse().unwrap();
    assert!(line.ends_with("failed 0"), "{line}\n{}", b.log);
    assert!(passed >= at_least, "only {passed} checks ran: {line}");
}
