//! An interactive `busybox sh` on the serial console (issue 10): QEMU
//! boots the busybox initramfs with `rdinit=/bin/sh`, the test types
//! into QEMU's serial input (its stdin, a pipe) and reads the serial
//! log, step by step like a person at a terminal.
//!
//! Expected bytes are what Linux 6.1 put on the wire for the same input
//! (tests/data/tty-linux-arm.txt, recorded with the same busybox under
//! the same QEMU board; the ^C case from termios(3), since Linux gives
//! `/dev/console` no controlling terminal and ^C reaches nobody there):
//! the
//! kernel echoes typed characters in canonical mode, Enter (CR) is read
//! as NL (ICRNL) and echoed "\r\n", output NL is written "\r\n" (ONLCR),
//! DEL erases with "\b \b" (ECHOE), ^U erases the line character by
//! character (ECHOKE), ^C echoes "^C" (ECHOCTL) and sends SIGINT to the
//! foreground process group, ^D after text ends a line without a newline
//! and at a line start makes read return 0. busybox's own line editing
//! (at the prompt) puts the terminal in raw mode and echoes by itself;
//! the canonical-mode checks therefore use the `read` builtin and
//! `busybox cat`, which read with the kernel's line discipline.

use super::out_dir;
use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running QEMU with its serial input and output.
pub struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    out: Arc<Mutex<Vec<u8>>>,
    reader: Option<std::thread::JoinHandle<()>>,
    /// Output before this offset was there before the last `send`.
    mark: usize,
}

impl Session {
    /// Boot `-M virt<extra>` on `cpu` with the busybox initramfs.
    pub fn start(extra: &str, cpu: &str, cpio: &str, append: &str) -> Session {
        let out = out_dir();
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
            .arg(out.join("Image"))
            .arg("-initrd")
            .arg(cpio)
            .args(["-append", append]);
        Session::spawn(cmd)
    }

    /// Run a prepared QEMU command line with its serial port on stdio.
    pub fn spawn(mut cmd: Command) -> Session {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("start qemu");
        let stdin = child.stdin.take();
        let mut stdout = child.stdout.take().unwrap();
        let out = Arc::new(Mutex::new(Vec::new()));
        let sink = out.clone();
        let reader = std::thread::spawn(move || {
            let mut b = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut b) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&b[..n]);
            }
        });
        Session {
            child,
            stdin,
            out,
            reader: Some(reader),
            mark: 0,
        }
    }

    /// The whole serial log so far (lossy UTF-8, `\r` kept).
    pub fn log(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap()).into_owned()
    }

    /// Type `bytes`; later waits look only at what comes after.
    pub fn send(&mut self, bytes: &[u8]) {
        self.mark = self.out.lock().unwrap().len();
        let s = self.stdin.as_mut().expect("stdin");
        s.write_all(bytes).expect("write to QEMU's serial input");
        s.flush().unwrap();
    }

    /// Wait until `needle` appears after the last `send` (panics with
    /// the log after `secs`).
    #[track_caller]
    pub fn expect(&mut self, needle: &[u8], secs: u64) {
        let start = Instant::now();
        loop {
            {
                let o = self.out.lock().unwrap();
                if o[self.mark.min(o.len())..]
                    .windows(needle.len())
                    .any(|w| w == needle)
                {
                    return;
                }
            }
            if start.elapsed() > Duration::from_secs(secs) {
                let log = self.log();
                let _ = self.child.kill();
                panic!(
                    "no {:?} within {secs} s after the last input\n---- log ----\n{log}",
                    String::from_utf8_lossy(needle)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Let the guest settle (a command starting to read).
    pub fn pause(&self, ms: u64) {
        std::thread::sleep(Duration::from_millis(ms));
    }

    /// Wait for QEMU to exit (killed after `secs`): its status.
    pub fn finish(mut self, secs: u64) -> (Option<i32>, String) {
        drop(self.stdin.take());
        let start = Instant::now();
        let status = loop {
            if let Some(st) = self.child.try_wait().expect("wait") {
                break st.code();
            }
            if start.elapsed() > Duration::from_secs(secs) {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        (status, self.log())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The busybox initramfs (as `processes::busybox_shell` finds it), or
/// `None` to skip.
pub fn busybox_cpio(arch: &str) -> Option<String> {
    let var = format!("ARMMU_BUSYBOX_CPIO_{}", arch.to_uppercase());
    let from_out = Some(out_dir().join("busybox.cpio"))
        .filter(|p| p.is_file())
        .map(|p| p.display().to_string());
    let c = std::env::var(&var).ok().or(from_out);
    if c.is_none() {
        eprintln!("tty: {var} not set and no busybox.cpio in the out directory, skipped");
    }
    c
}

/// The shell's prompt as busybox ash prints it for root in `/`.
const PROMPT: &[u8] = b"/ # ";

/// A whole session: commands at the prompt, canonical-mode erase and
/// kill through `read`, ^D and ^C with `busybox cat` in the foreground,
/// and `exit`, whose status is QEMU's.
pub fn shell_session(extra: &str, cpu: &str, arch: &str) {
    let Some(cpio) = busybox_cpio(arch) else {
        return;
    };
    let mut s = Session::start(extra, cpu, &cpio, "rdinit=/bin/sh");
    s.expect(b"console: UART receive interrupt INTID 33", 60);
    // Interactive: job control on (the console is a terminal with a
    // foreground group), so no "can't access tty" complaint.
    s.expect(PROMPT, 60);
    assert!(!s.log().contains("job control turned off"), "{}", s.log());

    // A command line and its output (ONLCR: "\r\n").
    s.send(b"echo hello; echo $((6*7))\r");
    s.expect(b"\r\nhello\r\n42\r\n", 30);
    s.expect(PROMPT, 30);

    // Canonical mode: the kernel echoes and erases (DEL: "\b \b").
    s.send(b"read -p 'name? ' x; echo \"[$x]\"\r");
    // The prompt `read` prints on the line after the command's echo
    // (which contains "name? " too: matching that would type into the
    // shell's own raw-mode line editor, before it restored the terminal).
    s.expect(b"\r\nname? ", 30);
    s.send(b"abcx\x7fd\r");
    s.expect(b"abcx\x08 \x08d\r\n[abcd]\r\n", 30);
    s.expect(PROMPT, 30);
    // ^U kills the line, erasing each character (ECHOKE).
    s.send(b"read -p 'kill? ' y; echo \"<$y>\"\r");
    s.expect(b"\r\nkill? ", 30);
    s.send(b"zzz\x15abc\r");
    s.expect(b"zzz\x08 \x08\x08 \x08\x08 \x08abc\r\n<abc>\r\n", 30);
    s.expect(PROMPT, 30);

    // ^D: after text it hands cat the line without a newline; at a line
    // start cat reads 0 bytes (end of file) and exits with 0.
    s.send(b"busybox cat; echo \"eof status $?\"\r");
    s.expect(b"eof status $?\"\r\n", 30);
    s.pause(1000);
    s.send(b"one\r");
    // Echo, then cat's copy.
    s.expect(b"one\r\none\r\n", 30);
    s.send(b"two\x04");
    s.expect(b"twotwo", 30);
    s.send(b"\x04");
    s.expect(b"eof status 0\r\n", 30);
    s.expect(PROMPT, 30);

    // ^C: SIGINT to the foreground group (cat's own, set by the shell
    // with TIOCSPGRP), which interrupts cat's blocked read and kills it.
    // The shell, seeing its foreground job die of SIGINT, acts as if it
    // had been interrupted too (ash, like bash): the rest of the command
    // line is dropped and $? is 128 + 2.
    s.send(b"busybox cat; echo not reached\r");
    s.expect(b"echo not reached\r\n", 30);
    s.pause(1000);
    s.send(b"ping\r");
    s.expect(b"ping\r\nping\r\n", 30);
    s.send(b"\x03");
    s.expect(b"^C", 30);
    s.expect(PROMPT, 30);
    s.send(b"echo \"after $?\"\r");
    s.expect(b"\r\nafter 130\r\n", 30);
    assert!(
        !s.log().contains("not reached\r\nnot reached"),
        "{}",
        s.log()
    );
    s.expect(PROMPT, 30);

    // The terminal as the shell sees it: termios (TCGETS) and window
    // size (TIOCSWINSZ, TIOCGWINSZ), as on Linux's ttyAMA0.
    s.send(b"busybox stty -g; busybox stty rows 30 cols 100; busybox stty size\r");
    // (The kernel's "syscall not implemented" notes may come between.)
    s.expect(
        b"\n500:5:cbf:8a3b:3:1c:7f:15:4:0:1:0:11:13:1a:0:12:f:17:16:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0\r\n",
        30,
    );
    s.expect(b"\n30 100\r\n", 30);
    s.expect(PROMPT, 30);

    s.send(b"exit 3\r");
    let (status, log) = s.finish(30);
    assert!(
        log.contains("task 1 (/bin/sh) exited with status 3"),
        "{log}"
    );
    let free = log
        .lines()
        .find(|l| l.contains("free after"))
        .unwrap_or_default();
    assert!(free.trim_end().ends_with("no leak)"), "{log}");
    assert_eq!(status, Some(3), "{log}");
}

/// A short session where console input is polled (no interrupt for the
/// UART, e.g. no GIC the kernel can drive): still a working shell.
pub fn polled_session(extra: &str, cpu: &str, arch: &str) {
    let Some(cpio) = busybox_cpio(arch) else {
        return;
    };
    let mut s = Session::start(extra, cpu, &cpio, "rdinit=/bin/sh");
    s.expect(PROMPT, 60);
    s.send(b"echo polled $((1+2))\r");
    s.expect(b"\r\npolled 3\r\n", 30);
    s.expect(PROMPT, 30);
    s.send(b"exit 4\r");
    let (status, log) = s.finish(30);
    assert_eq!(status, Some(4), "{log}");
}
