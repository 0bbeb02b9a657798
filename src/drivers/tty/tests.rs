//! The line discipline against what Linux's n_tty does with the same
//! input on a serial console at its defaults (`stty -g` of a fresh
//! ttyAMA0, termios(3), the n_tty behaviour described in each test).

use super::*;
use std::vec::Vec;

struct Out(Vec<u8>);

impl Sink for Out {
    fn put(&mut self, b: u8) {
        self.0.push(b);
    }
}

/// Feed `input`, returning the echo and the last `Received`.
fn feed(ld: &mut Ldisc, input: &[u8]) -> (Vec<u8>, Vec<Received>) {
    let mut out = Out(Vec::new());
    let r = input.iter().map(|&b| ld.receive(b, &mut out)).collect();
    (out.0, r)
}

fn read(ld: &mut Ldisc, len: usize) -> Result<Vec<u8>, ReadStep> {
    let mut buf = std::vec![0u8; len];
    match ld.read(&mut buf) {
        ReadStep::Done(n) => Ok(buf[..n].to_vec()),
        w => Err(w),
    }
}

fn raw(ld: &mut Ldisc, vmin: u8, vtime: u8) {
    let mut t = ld.termios;
    t.lflag &= !(ICANON | ECHO);
    t.cc[VMIN] = vmin;
    t.cc[VTIME] = vtime;
    ld.set_termios(t);
}

#[test]
fn defaults_are_a_linux_serial_console() {
    // `busybox stty -g` on Linux 6.1's ttyAMA0 (QEMU virt, rdinit=/bin/sh;
    // tests/data/tty-linux-arm.txt): iflag:oflag:cflag:lflag: then the
    // control characters in c_cc order, hex.
    let t = Termios::LINUX_CONSOLE;
    let mut s = format!("{:x}:{:x}:{:x}:{:x}", t.iflag, t.oflag, t.cflag, t.lflag);
    for c in &t.cc[..17] {
        s += &format!(":{c:x}");
    }
    assert_eq!(
        s,
        "500:5:cbf:8a3b:3:1c:7f:15:4:0:1:0:11:13:1a:0:12:f:17:16:0"
    );
    // The ioctl layout: four u32 at 0, 4, 8, 12; c_line at 16; c_cc at 17.
    let b = t.to_bytes();
    assert_eq!(b.len(), 36);
    assert_eq!(&b[0..4], &0x500u32.to_le_bytes());
    assert_eq!(&b[12..16], &0x8a3bu32.to_le_bytes());
    assert_eq!(b[16], 0);
    assert_eq!(b[17], 3); // VINTR
    assert_eq!(b[17 + 2], 0x7f); // VERASE
    assert_eq!(b[17 + 6], 1); // VMIN
    assert_eq!(Termios::from_bytes(&b), t);
}

#[test]
fn winsize_layout() {
    let w = Winsize {
        row: 24,
        col: 80,
        xpixel: 1,
        ypixel: 2,
    };
    assert_eq!(w.to_bytes(), [24, 0, 80, 0, 1, 0, 2, 0]);
    assert_eq!(Winsize::from_bytes(&w.to_bytes()), w);
    assert_eq!(Winsize::default().to_bytes(), [0; 8]);
}

#[test]
fn canonical_line_with_echo_and_icrnl() {
    let mut ld = Ldisc::new();
    let (echo, _) = feed(&mut ld, b"hi");
    assert_eq!(echo, b"hi");
    assert!(!ld.readable());
    assert_eq!(read(&mut ld, 10), Err(ReadStep::Wait(None)));
    // Enter sends CR: ICRNL makes it NL, echoed as CR NL (ONLCR).
    let (echo, r) = feed(&mut ld, b"\r");
    assert_eq!(echo, b"\r\n");
    assert!(r[0].wake);
    assert!(ld.readable());
    assert_eq!(ld.inq(), 3);
    assert_eq!(read(&mut ld, 10).unwrap(), b"hi\n");
    assert!(!ld.readable());
}

#[test]
fn one_line_per_read_and_partial_reads() {
    let mut ld = Ldisc::new();
    feed(&mut ld, b"one\rtwo\r");
    assert_eq!(read(&mut ld, 100).unwrap(), b"one\n");
    assert_eq!(read(&mut ld, 2).unwrap(), b"tw");
    assert_eq!(read(&mut ld, 100).unwrap(), b"o\n");
    assert_eq!(read(&mut ld, 100), Err(ReadStep::Wait(None)));
}

#[test]
fn erase_with_echoe() {
    let mut ld = Ldisc::new();
    // DEL (VERASE) removes one character, echoed "\b \b".
    let (echo, _) = feed(&mut ld, b"abcx\x7fd\r");
    assert_eq!(echo, b"abcx\x08 \x08d\r\n");
    assert_eq!(read(&mut ld, 100).unwrap(), b"abcd\n");
    // ^H is not the erase character by default: it is input, echoed ^H.
    let (echo, _) = feed(&mut ld, b"a\x08\r");
    assert_eq!(echo, b"a^H\r\n");
    assert_eq!(read(&mut ld, 100).unwrap(), b"a\x08\n");
    // Erase at the start of a line does nothing.
    let (echo, _) = feed(&mut ld, b"\x7f\x7fz\r");
    assert_eq!(echo, b"z\r\n");
    assert_eq!(read(&mut ld, 100).unwrap(), b"z\n");
}

#[test]
fn erase_without_echoe_echoes_the_erase_character() {
    let mut ld = Ldisc::new();
    let mut t = ld.termios;
    t.lflag &= !ECHOE;
    ld.set_termios(t);
    let (echo, _) = feed(&mut ld, b"ab\x7f\r");
    assert_eq!(echo, b"ab^?\r\n");
    assert_eq!(read(&mut ld, 100).unwrap(), b"a\n");
}

#[test]
fn erase_of_a_control_character_takes_two_columns() {
    let mut ld = Ldisc::new();
    let (echo, _) = feed(&mut ld, b"\x01\x7f\r");
    assert_eq!(echo, b"^A\x08 \x08\x08 \x08\r\n");
    assert_eq!(read(&mut ld, 100).unwrap(), b"\n");
}

#[test]
fn erase_of_a_tab_goes_back_to_its_start() {
    let mut ld = Ldisc::new();
    let (echo, _) = feed(&mut ld, b"ab\t\x7f");
    // The tab took columns 2..8: six backspaces.
    assert_eq!(echo, b"ab\t\x08\x08\x08\x08\x08\x08");
    // After a prompt of 3 columns the line starts at column 3.
    let mut ld = Ldisc::new();
    let mut out = Out(Vec::new());
    ld.write(b"$$ ", &mut out);
    let (echo, _) = feed(&mut ld, b"a\t\x7f");
    assert_eq!(echo, b"a\t\x08\x08\x08\x08");
}

#[test]
fn kill_line() {
    let mut ld = Ldisc::new();
    // ECHOK + ECHOKE + ECHOE: every character erased visually.
    let (echo, _) = feed(&mut ld, b"zzz\x15");
    assert_eq!(echo, b"zzz\x08 \x08\x08 \x08\x08 \x08");
    let (echo, _) = feed(&mut ld, b"abc\r");
    assert_eq!(echo, b"abc\r\n");
    assert_eq!(read(&mut ld, 100).unwrap(), b"abc\n");
    // Without ECHOKE: the kill character and a newline (ECHOK).
    let mut t = ld.termios;
    t.lflag &= !ECHOKE;
    ld.set_termios(t);
    let (echo, _) = feed(&mut ld, b"zz\x15q\r");
    assert_eq!(echo, b"zz^U\r\nq\r\n");
    assert_eq!(read(&mut ld, 100).unwrap(), b"q\n");
}

#[test]
fn word_erase() {
    let mut ld = Ldisc::new();
    let (echo, _) = feed(&mut ld, b"foo bar\x17");
    assert_eq!(echo, b"foo bar\x08 \x08\x08 \x08\x08 \x08");
    // Then the space before it stays; another ^W takes it and "foo".
    feed(&mut ld, b"\x17x\r");
    assert_eq!(read(&mut ld, 100).unwrap(), b"x\n");
    feed(&mut ld, b"a_1 b!!\x17\r");
    assert_eq!(read(&mut ld, 100).unwrap(), b"a_1 \n");
}

#[test]
fn eof_at_line_start_and_after_text() {
    let mut ld = Ldisc::new();
    // ^D alone: read returns 0 (end of file); it is not echoed.
    let (echo, r) = feed(&mut ld, b"\x04");
    assert!(echo.is_empty());
    assert!(r[0].wake);
    assert_eq!(ld.inq(), 0);
    assert!(ld.readable());
    assert_eq!(read(&mut ld, 100).unwrap(), b"");
    assert_eq!(read(&mut ld, 100), Err(ReadStep::Wait(None)));
    // ^D after text pushes the line without a newline.
    let (echo, _) = feed(&mut ld, b"abc\x04");
    assert_eq!(echo, b"abc");
    assert_eq!(ld.inq(), 3);
    assert_eq!(read(&mut ld, 100).unwrap(), b"abc");
    assert_eq!(read(&mut ld, 100), Err(ReadStep::Wait(None)));
    // Read in pieces: the EOF mark after a partly read line is no EOF.
    feed(&mut ld, b"abc\x04");
    assert_eq!(read(&mut ld, 3).unwrap(), b"abc");
    assert_eq!(read(&mut ld, 100), Err(ReadStep::Wait(None)));
    feed(&mut ld, b"\x04");
    assert_eq!(read(&mut ld, 100).unwrap(), b"");
}

#[test]
fn signal_characters() {
    let mut ld = Ldisc::new();
    let (echo, r) = feed(&mut ld, b"abc\x03");
    assert_eq!(echo, b"abc^C");
    assert_eq!(r[3].signal, Some(SIGINT));
    // Without NOFLSH the typed line is gone.
    feed(&mut ld, b"x\r");
    assert_eq!(read(&mut ld, 100).unwrap(), b"x\n");
    let (echo, r) = feed(&mut ld, b"\x1c\x1a");
    assert_eq!(echo, b"^\\^Z");
    assert_eq!(r[0].signal, Some(SIGQUIT));
    assert_eq!(r[1].signal, Some(SIGTSTP));
    // NOFLSH keeps it.
    let mut t = ld.termios;
    t.lflag |= NOFLSH;
    ld.set_termios(t);
    feed(&mut ld, b"keep\x03\r");
    assert_eq!(read(&mut ld, 100).unwrap(), b"keep\n");
    // ISIG off: ^C is a character like any other.
    let mut t = ld.termios;
    t.lflag &= !ISIG;
    ld.set_termios(t);
    let (echo, r) = feed(&mut ld, b"\x03\r");
    assert_eq!(r[0].signal, None);
    assert_eq!(echo, b"^C\r\n");
    assert_eq!(read(&mut ld, 100).unwrap(), b"\x03\n");
}

#[test]
fn literal_next() {
    let mut ld = Ldisc::new();
    let (echo, r) = feed(&mut ld, b"\x16\x03\r");
    assert_eq!(r[1].signal, None);
    assert_eq!(echo, b"^\x08^C\r\n");
    assert_eq!(read(&mut ld, 100).unwrap(), b"\x03\n");
    // A literal erase character is input too.
    feed(&mut ld, b"a\x16\x7f\r");
    assert_eq!(read(&mut ld, 100).unwrap(), b"a\x7f\n");
}

#[test]
fn reprint() {
    let mut ld = Ldisc::new();
    let (echo, _) = feed(&mut ld, b"ab\x12");
    assert_eq!(echo, b"ab^R\r\nab");
}

#[test]
fn start_and_stop_are_consumed_with_ixon() {
    let mut ld = Ldisc::new();
    let (echo, _) = feed(&mut ld, b"a\x13\x11b\r");
    assert_eq!(echo, b"ab\r\n");
    assert_eq!(read(&mut ld, 100).unwrap(), b"ab\n");
    let mut t = ld.termios;
    t.iflag &= !IXON;
    ld.set_termios(t);
    feed(&mut ld, b"\x13\r");
    assert_eq!(read(&mut ld, 100).unwrap(), b"\x13\n");
}

#[test]
fn input_cr_nl_flags() {
    let mut ld = Ldisc::new();
    let mut t = ld.termios;
    t.iflag = IGNCR;
    ld.set_termios(t);
    feed(&mut ld, b"a\r\n");
    assert_eq!(read(&mut ld, 100).unwrap(), b"a\n");
    t.iflag = 0;
    ld.set_termios(t);
    // No ICRNL: CR is a plain character (echoed ^M) and no line end.
    let (echo, _) = feed(&mut ld, b"a\r");
    assert_eq!(echo, b"a^M");
    assert!(!ld.readable());
    feed(&mut ld, b"\n");
    assert_eq!(read(&mut ld, 100).unwrap(), b"a\r\n");
}

#[test]
fn echonl_without_echo() {
    let mut ld = Ldisc::new();
    let mut t = ld.termios;
    t.lflag = (t.lflag & !ECHO) | ECHONL;
    ld.set_termios(t);
    let (echo, _) = feed(&mut ld, b"secret\r");
    assert_eq!(echo, b"\r\n");
    assert_eq!(read(&mut ld, 100).unwrap(), b"secret\n");
}

#[test]
fn line_length_limit() {
    let mut ld = Ldisc::new();
    let mut long = std::vec![b'a'; 5000];
    long.push(b'\r');
    let (echo, _) = feed(&mut ld, &long);
    // 4094 characters are kept (and echoed); the newline still ends it.
    assert_eq!(echo.len(), 4094 + 2);
    let line = read(&mut ld, 10000).unwrap();
    assert_eq!(line.len(), 4095);
    assert_eq!(line[4094], b'\n');
    assert!(line[..4094].iter().all(|&b| b == b'a'));
    // The buffer is free again.
    feed(&mut ld, b"ok\r");
    assert_eq!(read(&mut ld, 100).unwrap(), b"ok\n");
}

#[test]
fn many_lines_wrap_the_ring() {
    let mut ld = Ldisc::new();
    for i in 0..3000u32 {
        let s = format!("line {i}\r");
        feed(&mut ld, s.as_bytes());
        assert_eq!(
            read(&mut ld, 100).unwrap(),
            format!("line {i}\n").as_bytes()
        );
    }
}

#[test]
fn raw_mode_returns_bytes_as_they_come() {
    let mut ld = Ldisc::new();
    raw(&mut ld, 1, 0);
    assert_eq!(read(&mut ld, 10), Err(ReadStep::Wait(None)));
    let (echo, r) = feed(&mut ld, b"a");
    assert!(echo.is_empty());
    assert!(r[0].wake);
    assert!(ld.readable());
    assert_eq!(ld.inq(), 1);
    assert_eq!(read(&mut ld, 10).unwrap(), b"a");
    // Erase, kill and EOF are plain bytes; CR still becomes NL (ICRNL
    // is an input flag, not a canonical-mode one).
    feed(&mut ld, b"\x7f\x15\x04\r");
    assert_eq!(read(&mut ld, 10).unwrap(), b"\x7f\x15\x04\n");
    // ^C still signals (ISIG).
    let (_, r) = feed(&mut ld, b"\x03");
    assert_eq!(r[0].signal, Some(SIGINT));
}

#[test]
fn raw_mode_echo() {
    let mut ld = Ldisc::new();
    let mut t = ld.termios;
    t.lflag &= !ICANON;
    ld.set_termios(t);
    let (echo, _) = feed(&mut ld, b"x\x01\r");
    assert_eq!(echo, b"x^A\r\n");
    assert_eq!(read(&mut ld, 10).unwrap(), b"x\x01\n");
}

#[test]
fn vmin_vtime() {
    let mut ld = Ldisc::new();
    raw(&mut ld, 0, 0);
    // Polling read: 0 at once.
    assert_eq!(read(&mut ld, 10).unwrap(), b"");
    raw(&mut ld, 0, 5);
    assert_eq!(read(&mut ld, 10), Err(ReadStep::Wait(Some(5))));
    feed(&mut ld, b"q");
    assert_eq!(read(&mut ld, 10).unwrap(), b"q");
    raw(&mut ld, 3, 0);
    feed(&mut ld, b"12");
    assert_eq!(read(&mut ld, 10), Err(ReadStep::Wait(None)));
    // MIN counts up to the size asked for.
    assert_eq!(read(&mut ld, 2).unwrap(), b"12");
    feed(&mut ld, b"345");
    assert_eq!(read(&mut ld, 10).unwrap(), b"345");
}

#[test]
fn switching_modes() {
    let mut ld = Ldisc::new();
    // Typed in canonical mode, not yet a line: readable once raw.
    feed(&mut ld, b"ab");
    assert!(!ld.readable());
    raw(&mut ld, 1, 0);
    assert!(ld.readable());
    assert_eq!(read(&mut ld, 1).unwrap(), b"a");
    // Back to canonical with a byte held: pushed as a line.
    let t = Termios::LINUX_CONSOLE;
    ld.set_termios(t);
    assert!(ld.readable());
    assert_eq!(read(&mut ld, 10).unwrap(), b"b");
    assert!(!ld.readable());
}

#[test]
fn flush_input_drops_everything() {
    let mut ld = Ldisc::new();
    feed(&mut ld, b"one\rtw");
    ld.flush_input();
    assert!(!ld.readable());
    assert_eq!(ld.inq(), 0);
    feed(&mut ld, b"3\r");
    assert_eq!(read(&mut ld, 10).unwrap(), b"3\n");
}

#[test]
fn output_processing() {
    let mut ld = Ldisc::new();
    let mut out = Out(Vec::new());
    ld.write(b"a\nb\r\n", &mut out);
    assert_eq!(out.0, b"a\r\nb\r\r\n");
    let mut t = ld.termios;
    t.oflag = 0;
    ld.set_termios(t);
    let mut out = Out(Vec::new());
    ld.write(b"a\nb", &mut out);
    assert_eq!(out.0, b"a\nb");
    // OCRNL and ONOCR, XTABS.
    t.oflag = OPOST | OCRNL;
    ld.set_termios(t);
    let mut out = Out(Vec::new());
    ld.write(b"x\r", &mut out);
    assert_eq!(out.0, b"x\n");
    // (OCRNL left the column at 1: without ONLRET a NL is no carriage
    // return.) From column 0:
    let mut ld = Ldisc::new();
    t.oflag = OPOST | ONOCR | XTABS;
    ld.set_termios(t);
    let mut out = Out(Vec::new());
    ld.write(b"\rab\t|\r", &mut out);
    assert_eq!(out.0, b"ab      |\r");
}
