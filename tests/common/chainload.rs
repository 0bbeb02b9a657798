//! `user/scripts/chainload.sh` against a real U-Boot: QEMU runs Debian's
//! U-Boot for the `virt` machine (out/<board>/qemu-firmware.bin, fetched by
//! user/scripts/sdcard.sh) with the SD-card image as its disk and the
//! serial port on a pty; the script interrupts autoboot, sends the kernel
//! with `loady` + YMODEM (`sx`) and boots it with a command line the card's
//! boot.scr does not set. The log must show that command line (so the
//! kernel came over the line, not from the card) and `/init`'s status 0,
//! and QEMU must exit 0 (semihosting).

use super::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub fn chainload(qemu: &str, board: &str, cpu: &str) {
    let out = out_dir();
    let firmware = out.join("qemu-firmware.bin");
    let card = out.join("sdcard.img");
    assert!(
        firmware.is_file() && card.is_file(),
        "{} / {} missing: ./qemu-run.sh sdcard --board {board}",
        firmware.display(),
        card.display()
    );
    let mut q = Command::new(qemu)
        .args(["-M", "virt", "-cpu", cpu, "-m", "512M"])
        .args(["-display", "none", "-monitor", "none", "-nic", "none"])
        .args(["-semihosting-config", "enable=on,target=native"])
        .arg("-bios")
        .arg(&firmware)
        .arg("-drive")
        .arg(format!(
            "if=none,file={},format=raw,id=card,snapshot=on",
            card.display()
        ))
        .args(["-device", "virtio-blk-device,drive=card"])
        .args(["-serial", "pty"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start qemu");
    // "char device redirected to /dev/pts/N (label serial0)", on stdout.
    let mut err = BufReader::new(q.stdout.take().unwrap());
    let mut line = String::new();
    let pty = loop {
        line.clear();
        if err.read_line(&mut line).unwrap_or(0) == 0 {
            let _ = q.kill();
            panic!("qemu printed no pty");
        }
        if let Some(i) = line.find("/dev/pts/") {
            break line[i..].split_whitespace().next().unwrap().to_string();
        }
    };
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("user/scripts/chainload.sh");
    let run = Command::new("timeout")
        .arg("180")
        .arg(script)
        .args(["--board", board, "--port", &pty])
        .args(["--append", "chainload.marker=1 armmu.chainloaded=yes"])
        .args(["--follow", "60"])
        .stdin(Stdio::null())
        .output()
        .expect("chainload.sh");
    let start = Instant::now();
    let status = loop {
        if let Some(st) = q.try_wait().expect("wait") {
            break st.code();
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = q.kill();
            let _ = q.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = String::from_utf8_lossy(&run.stdout).replace('\r', "");
    let talk = String::from_utf8_lossy(&run.stderr).replace('\r', "");
    assert!(
        run.status.success(),
        "chainload.sh: {:?}\n{talk}\n{log}",
        run.status
    );
    // U-Boot's own count of what arrived: the kernel's size.
    let size = std::fs::metadata(out.join("Image")).unwrap().len();
    assert!(
        talk.contains(&format!("## Total Size      = {size:#010x} = {size} Bytes")),
        "{talk}"
    );
    assert!(
        log.contains("cmdline: \"chainload.marker=1 armmu.chainloaded=yes\""),
        "{log}"
    );
    assert!(log.contains("armmu: shutting down, status 0"), "{log}");
    assert_eq!(status, Some(0), "{log}");
}
