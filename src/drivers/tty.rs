//! The console's terminal: `struct termios` as Linux's ARM and AArch64
//! ABIs lay it out (asm-generic/termbits.h), the defaults of a Linux
//! serial console, and a small line discipline after Linux's `n_tty`:
//! canonical input with echo, erase, word erase, kill, EOF and the
//! signal characters, non-canonical (raw) input with VMIN/VTIME, and
//! output processing (OPOST, ONLCR...).
//!
//! Pure logic on fixed-size buffers (no allocation: [`Ldisc::receive`]
//! runs in the UART's interrupt), host-tested; the kernel's glue is in
//! `console.rs` (the global instance, the UART) and `task/tty.rs` (read,
//! poll, ioctl).
//!
//! Left out of n_tty: output flow control (IXON's ^S/^Q are consumed but
//! do not stop output), ECHOPRT, XCASE/IUCLC/OLCUC, IUTF8 erase of
//! multi-byte characters, PARMRK/break handling, the VMIN/VTIME
//! inter-byte timer (VTIME is only honoured with VMIN = 0), and
//! ^O (VDISCARD).

/// `NCCS` of the kernel's `struct termios` (asm-generic/termbits.h).
pub const NCCS: usize = 19;

// c_cc indices (asm-generic/termbits.h).
pub const VINTR: usize = 0;
pub const VQUIT: usize = 1;
pub const VERASE: usize = 2;
pub const VKILL: usize = 3;
pub const VEOF: usize = 4;
pub const VTIME: usize = 5;
pub const VMIN: usize = 6;
pub const VSWTC: usize = 7;
pub const VSTART: usize = 8;
pub const VSTOP: usize = 9;
pub const VSUSP: usize = 10;
pub const VEOL: usize = 11;
pub const VREPRINT: usize = 12;
pub const VDISCARD: usize = 13;
pub const VWERASE: usize = 14;
pub const VLNEXT: usize = 15;
pub const VEOL2: usize = 16;

// c_iflag bits (octal, asm-generic/termbits.h).
pub const IGNBRK: u32 = 0o1;
pub const BRKINT: u32 = 0o2;
pub const ISTRIP: u32 = 0o40;
pub const INLCR: u32 = 0o100;
pub const IGNCR: u32 = 0o200;
pub const ICRNL: u32 = 0o400;
pub const IXON: u32 = 0o2000;
pub const IXANY: u32 = 0o4000;
pub const IXOFF: u32 = 0o10000;
pub const IMAXBEL: u32 = 0o20000;
pub const IUTF8: u32 = 0o40000;

// c_oflag bits.
pub const OPOST: u32 = 0o1;
pub const ONLCR: u32 = 0o4;
pub const OCRNL: u32 = 0o10;
pub const ONOCR: u32 = 0o20;
pub const ONLRET: u32 = 0o40;
pub const TABDLY: u32 = 0o14000;
pub const XTABS: u32 = 0o14000;

// c_cflag bits.
pub const B9600: u32 = 0o15;
pub const B38400: u32 = 0o17;
pub const CS8: u32 = 0o60;
pub const CREAD: u32 = 0o200;
pub const HUPCL: u32 = 0o2000;
pub const CLOCAL: u32 = 0o4000;

// c_lflag bits.
pub const ISIG: u32 = 0o1;
pub const ICANON: u32 = 0o2;
pub const ECHO: u32 = 0o10;
pub const ECHOE: u32 = 0o20;
pub const ECHOK: u32 = 0o40;
pub const ECHONL: u32 = 0o100;
pub const NOFLSH: u32 = 0o200;
pub const TOSTOP: u32 = 0o400;
pub const ECHOCTL: u32 = 0o1000;
pub const ECHOPRT: u32 = 0o2000;
pub const ECHOKE: u32 = 0o4000;
pub const IEXTEN: u32 = 0o100000;

// Signals the signal characters send (the same numbers on ARM and AArch64).
pub const SIGINT: u32 = 2;
pub const SIGQUIT: u32 = 3;
pub const SIGTSTP: u32 = 20;

/// `struct termios` of the `TCGETS`/`TCSETS*` ioctls: four `tcflag_t`
/// (u32), `c_line`, `c_cc[NCCS]`: 36 bytes, no padding, the same on ARM
/// EABI and AArch64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Termios {
    pub iflag: u32,
    pub oflag: u32,
    pub cflag: u32,
    pub lflag: u32,
    pub line: u8,
    pub cc: [u8; NCCS],
}

impl Termios {
    pub const SIZE: usize = 36;

    /// A Linux serial console as user space finds it: `tty_std_termios`
    /// (drivers/tty/tty_io.c) for the input, output and local modes and
    /// the control characters (`INIT_C_CC`: intr ^C, quit ^\, erase DEL,
    /// kill ^U, eof ^D, vtime 0, vmin 1, start ^Q, stop ^S, susp ^Z,
    /// reprint ^R, discard ^O, werase ^W, lnext ^V), and the control modes
    /// Linux 6.1's ttyAMA0 console shows on QEMU virt (`stty -a`: speed
    /// 38400, cs8 hupcl cread clocal); line discipline 0 (N_TTY).
    pub const LINUX_CONSOLE: Termios = Termios {
        iflag: ICRNL | IXON,
        oflag: OPOST | ONLCR,
        cflag: B38400 | CS8 | CREAD | HUPCL | CLOCAL,
        lflag: ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN,
        line: 0,
        cc: [
            0o3, 0o34, 0o177, 0o25, 0o4, 0, 1, 0, 0o21, 0o23, 0o32, 0, 0o22, 0o17, 0o27, 0o26, 0,
            0, 0,
        ],
    };

    /// The bytes `TCGETS` writes (little-endian).
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0u8; Self::SIZE];
        for (i, w) in [self.iflag, self.oflag, self.cflag, self.lflag]
            .iter()
            .enumerate()
        {
            b[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
        }
        b[16] = self.line;
        b[17..].copy_from_slice(&self.cc);
        b
    }

    /// What `TCSETS*` read.
    pub fn from_bytes(b: &[u8; Self::SIZE]) -> Termios {
        let w = |i: usize| u32::from_le_bytes([b[i * 4], b[i * 4 + 1], b[i * 4 + 2], b[i * 4 + 3]]);
        let mut cc = [0u8; NCCS];
        cc.copy_from_slice(&b[17..]);
        Termios {
            iflag: w(0),
            oflag: w(1),
            cflag: w(2),
            lflag: w(3),
            line: b[16],
            cc,
        }
    }

    fn l(&self, f: u32) -> bool {
        self.lflag & f != 0
    }

    fn i(&self, f: u32) -> bool {
        self.iflag & f != 0
    }

    fn o(&self, f: u32) -> bool {
        self.oflag & f != 0
    }

    /// Whether `c` is the (enabled: non-zero, `_POSIX_VDISABLE` is 0 on
    /// Linux) control character at `idx`.
    fn is(&self, idx: usize, c: u8) -> bool {
        self.cc[idx] != 0 && self.cc[idx] == c
    }
}

/// `struct winsize` (`TIOCGWINSZ`/`TIOCSWINSZ`): rows, columns, x and y
/// pixels, four u16. A serial console starts with all zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Winsize {
    pub row: u16,
    pub col: u16,
    pub xpixel: u16,
    pub ypixel: u16,
}

impl Winsize {
    pub const SIZE: usize = 8;

    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0u8; Self::SIZE];
        for (i, w) in [self.row, self.col, self.xpixel, self.ypixel]
            .iter()
            .enumerate()
        {
            b[i * 2..i * 2 + 2].copy_from_slice(&w.to_le_bytes());
        }
        b
    }

    pub fn from_bytes(b: &[u8; Self::SIZE]) -> Winsize {
        let h = |i: usize| u16::from_le_bytes([b[i * 2], b[i * 2 + 1]]);
        Winsize {
            row: h(0),
            col: h(1),
            xpixel: h(2),
            ypixel: h(3),
        }
    }
}

/// Where output and echo go (the UART; a buffer in tests).
pub trait Sink {
    fn put(&mut self, b: u8);
}

/// n_tty's `N_TTY_BUF_SIZE`: the input buffer. At most `BUF_SIZE - 1`
/// bytes are held, so a canonical line is at most 4095 bytes with its
/// terminator (4094 characters and the newline).
pub const BUF_SIZE: usize = 4096;

/// Per-byte flags of the input buffer.
const LINE_END: u8 = 1;
/// An EOF character's place: ends the line, never copied to the reader.
const EOF_MARK: u8 = 2;

/// What a received byte asks of the kernel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Received {
    /// A signal for the foreground process group (ISIG characters).
    pub signal: Option<u32>,
    /// Readers or pollers may now find input.
    pub wake: bool,
}

/// What a read finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadStep {
    /// `n` bytes were copied (0: end of file, `^D` at a line start, or a
    /// non-blocking raw read with VMIN = VTIME = 0 and nothing there).
    Done(usize),
    /// Nothing to return yet: sleep until input comes, at most this many
    /// tenths of a second if given (VTIME with VMIN = 0), then return 0.
    Wait(Option<u8>),
}

/// The line discipline's state: the termios and the input buffer.
pub struct Ldisc {
    pub termios: Termios,
    buf: [u8; BUF_SIZE],
    flags: [u8; BUF_SIZE],
    /// Free-running positions (index modulo `BUF_SIZE`): the reader's,
    /// the end of the last complete line, the end of all input.
    tail: usize,
    canon_head: usize,
    head: usize,
    /// Where the line being read started (n_tty's `line_start`): a
    /// partial read of a line ended by `^D` then reads the rest, not EOF.
    line_start: usize,
    /// The output column (tabs and erase of a tab need it), and where
    /// the line being typed started (n_tty's `canon_column`).
    column: usize,
    canon_column: usize,
    /// The previous character was VLNEXT: take this one literally.
    lnext: bool,
}

fn is_cntrl(c: u8) -> bool {
    c < 0x20 || c == 0x7f
}

impl Ldisc {
    pub const fn new() -> Ldisc {
        Ldisc {
            termios: Termios::LINUX_CONSOLE,
            buf: [0; BUF_SIZE],
            flags: [0; BUF_SIZE],
            tail: 0,
            canon_head: 0,
            head: 0,
            line_start: 0,
            column: 0,
            canon_column: 0,
            lnext: false,
        }
    }

    fn canonical(&self) -> bool {
        self.termios.l(ICANON)
    }

    /// Bytes held (complete lines and the line being typed).
    pub fn held(&self) -> usize {
        self.head.wrapping_sub(self.tail)
    }

    /// Throw away all input (TCSETSF, TCFLSH, a signal character
    /// without NOFLSH).
    pub fn flush_input(&mut self) {
        self.tail = self.head;
        self.canon_head = self.head;
        self.line_start = self.head;
        self.lnext = false;
    }

    /// New settings (`TCSETS*`, after any drain or flush). As n_tty's
    /// `n_tty_set_termios`: leaving canonical mode makes everything
    /// typed readable; entering it with input held pushes that input
    /// as a line.
    pub fn set_termios(&mut self, t: Termios) {
        let was = self.canonical();
        self.termios = t;
        let now = self.canonical();
        if was != now {
            if now && self.head != self.tail {
                let last = self.head.wrapping_sub(1) % BUF_SIZE;
                self.flags[last] |= LINE_END;
            }
            self.canon_head = self.head;
            self.line_start = self.tail;
            self.lnext = false;
        }
    }

    fn put(&mut self, c: u8, flags: u8) {
        let i = self.head % BUF_SIZE;
        self.buf[i] = c;
        self.flags[i] = flags;
        self.head = self.head.wrapping_add(1);
    }

    /// Output one byte of echo or of a write with output processing
    /// (n_tty's `do_output_char`), keeping the column.
    pub fn output(&mut self, c: u8, out: &mut impl Sink) {
        let t = self.termios;
        if !t.o(OPOST) {
            out.put(c);
            return;
        }
        match c {
            b'\n' => {
                if t.o(ONLRET) {
                    self.column = 0;
                }
                if t.o(ONLCR) {
                    self.column = 0;
                    self.canon_column = 0;
                    out.put(b'\r');
                    out.put(b'\n');
                    return;
                }
                self.canon_column = self.column;
            }
            b'\r' => {
                if t.o(ONOCR) && self.column == 0 {
                    return;
                }
                if t.o(OCRNL) {
                    if t.o(ONLRET) {
                        self.column = 0;
                        self.canon_column = 0;
                    }
                    out.put(b'\n');
                    return;
                }
                self.column = 0;
                self.canon_column = 0;
            }
            b'\t' => {
                let spaces = 8 - (self.column & 7);
                self.column += spaces;
                if t.oflag & TABDLY == XTABS {
                    for _ in 0..spaces {
                        out.put(b' ');
                    }
                    return;
                }
            }
            0x08 => self.column = self.column.saturating_sub(1),
            // A printable character takes a column; a UTF-8
            // continuation byte does not.
            c if !is_cntrl(c) && c & 0xc0 != 0x80 => self.column += 1,
            _ => {}
        }
        out.put(c);
    }

    /// Output `bytes` as a `write` to the terminal does.
    pub fn write(&mut self, bytes: &[u8], out: &mut impl Sink) {
        for &b in bytes {
            self.output(b, out);
        }
    }

    /// Echo a character: with ECHOCTL a control character other than TAB
    /// shows as `^X` (DEL as `^?`), as n_tty's `echo_char`.
    fn echo_char(&mut self, c: u8, out: &mut impl Sink) {
        if self.termios.l(ECHOCTL) && is_cntrl(c) && c != b'\t' {
            self.output_raw_pair(b'^', c ^ 0o100, out);
        } else {
            self.output(c, out);
        }
    }

    /// `^X`: two columns, written as they are.
    fn output_raw_pair(&mut self, a: u8, b: u8, out: &mut impl Sink) {
        out.put(a);
        out.put(b);
        self.column += 2;
    }

    fn erase_echo(&mut self, out: &mut impl Sink) {
        self.output(0x08, out);
        self.output(b' ', out);
        self.output(0x08, out);
    }

    /// Erase, word erase or kill (n_tty's `eraser`).
    fn eraser(&mut self, c: u8, out: &mut impl Sink) {
        #[derive(PartialEq)]
        enum Kind {
            Erase,
            Word,
            Kill,
        }
        if self.head == self.canon_head {
            return;
        }
        let t = self.termios;
        let kind = if t.is(VERASE, c) {
            Kind::Erase
        } else if t.is(VWERASE, c) {
            Kind::Word
        } else {
            if !t.l(ECHO) {
                self.head = self.canon_head;
                return;
            }
            if !t.l(ECHOK) || !t.l(ECHOKE) || !t.l(ECHOE) {
                self.head = self.canon_head;
                self.echo_char(c, out);
                if t.l(ECHOK) {
                    self.output(b'\n', out);
                }
                return;
            }
            Kind::Kill
        };
        let mut seen_alnums = 0;
        while self.head != self.canon_head {
            let prev = self.head.wrapping_sub(1);
            let ch = self.buf[prev % BUF_SIZE];
            if kind == Kind::Word {
                if ch.is_ascii_alphanumeric() || ch == b'_' {
                    seen_alnums += 1;
                } else if seen_alnums > 0 {
                    break;
                }
            }
            self.head = prev;
            if t.l(ECHO) {
                if kind == Kind::Erase && !t.l(ECHOE) {
                    self.echo_char(t.cc[VERASE], out);
                } else if ch == b'\t' {
                    // Back to where the tab started: the column after
                    // the rest of the line, from where it began.
                    let mut col = self.canon_column;
                    let mut p = self.canon_head;
                    while p != self.head {
                        let x = self.buf[p % BUF_SIZE];
                        if x == b'\t' {
                            col = (col | 7) + 1;
                        } else if is_cntrl(x) {
                            if t.l(ECHOCTL) {
                                col += 2;
                            }
                        } else if x & 0xc0 != 0x80 {
                            col += 1;
                        }
                        p = p.wrapping_add(1);
                    }
                    while self.column > col {
                        self.output(0x08, out);
                    }
                } else {
                    if is_cntrl(ch) && t.l(ECHOCTL) {
                        self.erase_echo(out);
                    }
                    if !is_cntrl(ch) || t.l(ECHOCTL) {
                        self.erase_echo(out);
                    }
                }
            }
            if kind == Kind::Erase {
                break;
            }
        }
    }

    /// Room for one more byte: `BUF_SIZE - 1` at most, and in canonical
    /// mode the last place only for a line's end.
    fn room(&self, ends_line: bool) -> bool {
        let limit = if self.canonical() && !ends_line {
            BUF_SIZE - 2
        } else {
            BUF_SIZE - 1
        };
        self.held() < limit
    }

    /// One byte from the UART (n_tty's `n_tty_receive_char*`): echoed to
    /// `out`, queued, or acted on.
    pub fn receive(&mut self, c: u8, out: &mut impl Sink) -> Received {
        let t = self.termios;
        let mut c = if t.i(ISTRIP) { c & 0x7f } else { c };
        let mut r = Received::default();
        if self.lnext {
            // The character after ^V: taken as it is.
            self.lnext = false;
            if self.room(false) {
                if t.l(ECHO) {
                    self.echo_char(c, out);
                }
                self.put(c, 0);
                r.wake = !self.canonical();
            }
            return r;
        }
        if c == b'\r' {
            if t.i(IGNCR) {
                return r;
            }
            if t.i(ICRNL) {
                c = b'\n';
            }
        } else if c == b'\n' && t.i(INLCR) {
            c = b'\r';
        }
        if t.l(ISIG) {
            let sig = if t.is(VINTR, c) {
                Some(SIGINT)
            } else if t.is(VQUIT, c) {
                Some(SIGQUIT)
            } else if t.is(VSUSP, c) {
                Some(SIGTSTP)
            } else {
                None
            };
            if let Some(sig) = sig {
                if !t.l(NOFLSH) {
                    self.flush_input();
                }
                if t.l(ECHO) {
                    self.echo_char(c, out);
                }
                r.signal = Some(sig);
                r.wake = true;
                return r;
            }
        }
        if t.i(IXON) && (t.is(VSTART, c) || t.is(VSTOP, c)) {
            return r;
        }
        if self.canonical() {
            if t.l(IEXTEN) && t.is(VLNEXT, c) {
                self.lnext = true;
                if t.l(ECHO) && t.l(ECHOCTL) {
                    // "^" and back over it: the next character's echo
                    // replaces it.
                    out.put(b'^');
                    out.put(0x08);
                }
                return r;
            }
            if t.is(VERASE, c) || t.is(VKILL, c) || (t.l(IEXTEN) && t.is(VWERASE, c)) {
                self.eraser(c, out);
                return r;
            }
            if t.l(IEXTEN) && t.is(VREPRINT, c) {
                if t.l(ECHO) {
                    self.echo_char(c, out);
                    self.output(b'\n', out);
                    let mut p = self.canon_head;
                    while p != self.head {
                        let x = self.buf[p % BUF_SIZE];
                        self.echo_char(x, out);
                        p = p.wrapping_add(1);
                    }
                }
                return r;
            }
            let eof = t.is(VEOF, c);
            let ends = c == b'\n' || eof || t.is(VEOL, c) || t.is(VEOL2, c);
            if !self.room(ends) {
                return r;
            }
            if ends {
                if eof {
                    self.put(c, LINE_END | EOF_MARK);
                } else {
                    if t.l(ECHO) || (c == b'\n' && t.l(ECHONL)) {
                        if c == b'\n' {
                            self.output(b'\n', out);
                        } else {
                            self.echo_char(c, out);
                        }
                    }
                    self.put(c, LINE_END);
                }
                self.canon_head = self.head;
                r.wake = true;
                return r;
            }
            if t.l(ECHO) {
                if self.head == self.canon_head {
                    self.canon_column = self.column;
                }
                self.echo_char(c, out);
            }
            self.put(c, 0);
            return r;
        }
        if !self.room(false) {
            return r;
        }
        if t.l(ECHO) {
            if c == b'\n' {
                self.output(b'\n', out);
            } else {
                self.echo_char(c, out);
            }
        } else if c == b'\n' && t.l(ECHONL) {
            self.output(b'\n', out);
        }
        self.put(c, 0);
        r.wake = true;
        r
    }

    /// Whether a read would find something (poll's POLLIN): a complete
    /// line in canonical mode, a byte otherwise.
    pub fn readable(&self) -> bool {
        if self.canonical() {
            self.canon_head != self.tail
        } else {
            self.head != self.tail
        }
    }

    /// `FIONREAD`/`TIOCINQ`: the bytes of complete lines (EOF marks not
    /// counted) in canonical mode, every byte held otherwise.
    pub fn inq(&self) -> usize {
        let end = if self.canonical() {
            self.canon_head
        } else {
            self.head
        };
        let mut n = 0;
        let mut p = self.tail;
        while p != end {
            if self.flags[p % BUF_SIZE] & EOF_MARK == 0 {
                n += 1;
            }
            p = p.wrapping_add(1);
        }
        n
    }

    /// A read of up to `dst.len()` bytes (n_tty's `n_tty_read` without
    /// the sleep): canonical mode returns at most one line.
    pub fn read(&mut self, dst: &mut [u8]) -> ReadStep {
        if self.canonical() {
            return self.read_canon(dst);
        }
        let (vmin, vtime) = (self.termios.cc[VMIN], self.termios.cc[VTIME]);
        let avail = self.held();
        let need = (vmin as usize).min(dst.len());
        if avail == 0 || avail < need {
            return match (vmin, vtime) {
                (0, 0) => ReadStep::Done(0),
                (0, t) => ReadStep::Wait(Some(t)),
                _ => ReadStep::Wait(None),
            };
        }
        let mut n = 0;
        while n < dst.len() && self.tail != self.head {
            let i = self.tail % BUF_SIZE;
            self.tail = self.tail.wrapping_add(1);
            if self.flags[i] & EOF_MARK != 0 {
                continue;
            }
            dst[n] = self.buf[i];
            n += 1;
        }
        self.canon_head = self.tail;
        self.line_start = self.tail;
        ReadStep::Done(n)
    }

    fn read_canon(&mut self, dst: &mut [u8]) -> ReadStep {
        loop {
            if self.canon_head == self.tail {
                return ReadStep::Wait(None);
            }
            let mut n = 0;
            while n < dst.len() && self.tail != self.canon_head {
                let i = self.tail % BUF_SIZE;
                let f = self.flags[i];
                if f & EOF_MARK != 0 {
                    // The end of the line: consumed, not copied. A line
                    // that was partly read before ends here (n_tty's
                    // eof_push): that is not an end of file.
                    let partial = self.tail != self.line_start;
                    self.tail = self.tail.wrapping_add(1);
                    self.line_start = self.tail;
                    if n == 0 && partial {
                        break;
                    }
                    return ReadStep::Done(n);
                }
                dst[n] = self.buf[i];
                n += 1;
                self.tail = self.tail.wrapping_add(1);
                if f & LINE_END != 0 {
                    self.line_start = self.tail;
                    return ReadStep::Done(n);
                }
            }
            if n > 0 || dst.is_empty() {
                return ReadStep::Done(n);
            }
        }
    }
}

#[cfg(test)]
mod tests;
