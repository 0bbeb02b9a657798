//! The terminal requests against ioctl_tty(2) and Linux's tty_ioctl /
//! n_tty_ioctl (request numbers from asm-generic/ioctls.h, errors from
//! the man page and drivers/tty/tty_jobctrl.c).

use super::*;
use crate::drivers::tty::{Ldisc, Sink, ECHO, ICANON};

fn tty() -> Tty {
    Tty {
        ld: Ldisc::new(),
        fg_pgrp: 1,
        winsize: Winsize::default(),
    }
}

struct Nowhere;
impl Sink for Nowhere {
    fn put(&mut self, _: u8) {}
}

fn run(t: &mut Tty, cmd: u32, input: &[u8]) -> (Result<(), Errno>, [u8; 36]) {
    let mut out = [0u8; 36];
    let r = apply(t, cmd, input, &mut out, |g| g == 1 || g == 42, || {});
    (r, out)
}

#[test]
fn request_numbers_and_argument_sizes() {
    // asm-generic/ioctls.h.
    assert_eq!(
        [
            TCGETS, TCSETS, TCSETSW, TCSETSF, TIOCGPGRP, TIOCSPGRP, TIOCGWINSZ, TIOCSWINSZ,
            FIONREAD
        ],
        [0x5401, 0x5402, 0x5403, 0x5404, 0x540F, 0x5410, 0x5413, 0x5414, 0x541B]
    );
    assert_eq!(arg_of(TCGETS), Some(Arg::Out(36)));
    assert_eq!(arg_of(TCSETSF), Some(Arg::In(36)));
    assert_eq!(arg_of(TIOCGWINSZ), Some(Arg::Out(8)));
    assert_eq!(arg_of(TIOCSPGRP), Some(Arg::In(4)));
    assert_eq!(arg_of(FIONREAD), Some(Arg::Out(4)));
    // TCGETA (termio), TIOCSCTTY, TIOCGSID, FIONBIO: not here.
    for cmd in [0x5405, 0x540E, 0x5429, 0x5421, 0] {
        assert_eq!(arg_of(cmd), None);
        assert_eq!(run(&mut tty(), cmd, &[]).0, Err(Errno::ENOTTY));
    }
}

#[test]
fn tcgets_tcsets() {
    let mut t = tty();
    let (r, out) = run(&mut t, TCGETS, &[]);
    assert_eq!(r, Ok(()));
    // c_lflag of a fresh Linux serial console: 0x8a3b (`stty -g`,
    // tests/data/tty-linux-arm.txt).
    assert_eq!(&out[12..16], &[0x3b, 0x8a, 0, 0]);
    // busybox's line editing: ICANON and ECHO off, VMIN 1.
    let mut raw = Termios::from_bytes(&out);
    raw.lflag &= !(ICANON | ECHO);
    assert_eq!(run(&mut t, TCSETS, &raw.to_bytes()).0, Ok(()));
    assert_eq!(t.ld.termios, raw);
    let (_, out) = run(&mut t, TCGETS, &[]);
    assert_eq!(Termios::from_bytes(&out), raw);
}

#[test]
fn tcsetsf_flushes_input_tcsetsw_does_not() {
    let mut t = tty();
    for &b in b"typed\r" {
        t.ld.receive(b, &mut Nowhere);
    }
    let cur = t.ld.termios.to_bytes();
    let mut drained = false;
    let mut out = [0u8; 36];
    apply(&mut t, TCSETSW, &cur, &mut out, |_| true, || drained = true).unwrap();
    assert!(drained);
    assert!(t.ld.readable());
    apply(&mut t, TCSETSF, &cur, &mut out, |_| true, || {}).unwrap();
    assert!(!t.ld.readable());
}

#[test]
fn window_size() {
    let mut t = tty();
    // A serial console starts at 0 x 0.
    assert_eq!(run(&mut t, TIOCGWINSZ, &[]).1[..8], [0; 8]);
    assert_eq!(
        run(&mut t, TIOCSWINSZ, &[24, 0, 80, 0, 0, 0, 0, 0]).0,
        Ok(())
    );
    assert_eq!(
        run(&mut t, TIOCGWINSZ, &[]).1[..8],
        [24, 0, 80, 0, 0, 0, 0, 0]
    );
}

#[test]
fn foreground_group() {
    let mut t = tty();
    assert_eq!(run(&mut t, TIOCGPGRP, &[]).1[..4], 1i32.to_le_bytes());
    assert_eq!(run(&mut t, TIOCSPGRP, &42i32.to_le_bytes()).0, Ok(()));
    assert_eq!(run(&mut t, TIOCGPGRP, &[]).1[..4], 42i32.to_le_bytes());
    // tiocspgrp: a negative group is EINVAL, a group with nobody in it
    // ESRCH; the foreground group stays.
    assert_eq!(
        run(&mut t, TIOCSPGRP, &(-1i32).to_le_bytes()).0,
        Err(Errno::EINVAL)
    );
    assert_eq!(
        run(&mut t, TIOCSPGRP, &7i32.to_le_bytes()).0,
        Err(Errno::ESRCH)
    );
    assert_eq!(t.fg_pgrp, 42);
}

#[test]
fn fionread_counts_complete_lines_in_canonical_mode() {
    let mut t = tty();
    for &b in b"ab\rcd" {
        t.ld.receive(b, &mut Nowhere);
    }
    assert_eq!(run(&mut t, FIONREAD, &[]).1[..4], 3i32.to_le_bytes());
    let mut raw = t.ld.termios;
    raw.lflag &= !ICANON;
    t.ld.set_termios(raw);
    assert_eq!(run(&mut t, FIONREAD, &[]).1[..4], 5i32.to_le_bytes());
}
