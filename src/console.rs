//! The kernel console: one UART behind a spin lock, `kprintln!`, and the
//! terminal user space sees on it (`/dev/console`, `/dev/tty`,
//! `/dev/ttyAMA0`): the line discipline of [`crate::drivers::tty`], fed
//! by the UART's receive interrupt (or by polling without one).
//!
//! Locks: [`TTY`] (line discipline, foreground group, window size) is
//! taken before the UART's. Kernel code runs with IRQs masked, so on
//! this one CPU a lock found held can only belong to the code a fault
//! or panic interrupted: waiting for it would never end (issue 11,
//! "console-lock deadlock on fault"). Kernel messages therefore try the
//! lock a bounded number of times and then write to the UART without
//! it; the receive path never waits for either lock.
//!
//! Which UART this is comes from the device tree, so nothing can be
//! printed before the tree is read and the UART mapped: until [`init`],
//! kernel messages go to a fixed buffer ([`EARLY_LEN`] bytes), written out
//! first thing once the console is up (what does not fit is counted and
//! reported as lost). No address is ever written on a guess.

use crate::drivers::tty::{Ldisc, Sink, Winsize};
use crate::drivers::uart::{ConsoleUart, Uart, UartKind};
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use spin::Mutex;

static CONSOLE: Mutex<Option<Uart>> = Mutex::new(None);
/// The UART's base address and kind, for writing without the lock.
static UART_BASE: AtomicUsize = AtomicUsize::new(0);
static UART_KIND: AtomicU32 = AtomicU32::new(0);
/// Whether [`init`] installed a UART (else messages are buffered).
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Kernel messages kept until the console is known.
pub const EARLY_LEN: usize = 16 * 1024;

struct Early {
    buf: [u8; EARLY_LEN],
    len: usize,
    /// Bytes that did not fit.
    lost: usize,
}

static EARLY: Mutex<Early> = Mutex::new(Early {
    buf: [0; EARLY_LEN],
    len: 0,
    lost: 0,
});

impl core::fmt::Write for Early {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let room = EARLY_LEN - self.len;
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        self.lost += s.len() - n;
        Ok(())
    }
}
/// The UART's receive INTID once it is routed through the GIC.
static RX_IRQ: AtomicU32 = AtomicU32::new(NO_IRQ);
const NO_IRQ: u32 = u32::MAX;
/// Tries of a lock before going without it (see the module comment).
const LOCK_TRIES: u32 = 10_000;

/// The terminal's state.
pub struct Tty {
    pub ld: Ldisc,
    /// The foreground process group (`TIOCGPGRP`/`TIOCSPGRP`); signal
    /// characters go to it. Init's group until a shell sets another.
    pub fg_pgrp: u32,
    pub winsize: Winsize,
}

pub static TTY: Mutex<Tty> = Mutex::new(Tty {
    ld: Ldisc::new(),
    fg_pgrp: 1,
    winsize: Winsize {
        row: 0,
        col: 0,
        xpixel: 0,
        ypixel: 0,
    },
});

/// Install the console UART (`kind` at virtual address `va`), then write
/// out what was logged before it was known.
///
/// # Safety
/// `va` maps the registers of a UART of that kind as Device memory for
/// the rest of the kernel's life, and nothing else drives it.
pub unsafe fn init(kind: UartKind, va: usize) {
    // SAFETY: the caller's contract.
    let uart = unsafe { Uart::new(kind, va) };
    let mut g = lock_console();
    UART_BASE.store(uart.base(), Ordering::Relaxed);
    UART_KIND.store(kind.code(), Ordering::Relaxed);
    *g = Some(uart);
    drop(g);
    INSTALLED.store(true, Ordering::Release);
    replay_early();
}

/// Whether a UART is installed (before: messages are buffered).
pub fn is_up() -> bool {
    INSTALLED.load(Ordering::Acquire)
}

/// Write the early buffer to the UART and empty it.
fn replay_early() {
    let Some(mut e) = EARLY.try_lock() else {
        return;
    };
    let (len, lost) = (e.len, e.lost);
    with_uart(|u| {
        let mut w = KernelWriter(u);
        for chunk in e.buf[..len].utf8_chunks() {
            let _ = w.write_str(chunk.valid());
        }
        if lost > 0 {
            let _ = writeln!(w, "console: {lost} bytes of earlier messages lost (the early buffer holds {EARLY_LEN})");
        }
    });
    e.len = 0;
    e.lost = 0;
}

fn lock_console() -> spin::MutexGuard<'static, Option<Uart>> {
    CONSOLE.lock()
}

/// The UART, locked if the lock can be had within [`LOCK_TRIES`],
/// else the UART without the lock (its holder is suspended below us).
fn with_uart(f: impl FnOnce(&Uart)) {
    for _ in 0..LOCK_TRIES {
        if let Some(g) = CONSOLE.try_lock() {
            if let Some(u) = g.as_ref() {
                f(u);
            }
            return;
        }
        core::hint::spin_loop();
    }
    let base = UART_BASE.load(Ordering::Relaxed);
    let kind = UartKind::from_code(UART_KIND.load(Ordering::Relaxed));
    if let (true, Some(kind)) = (base != 0, kind) {
        // SAFETY: `base` is the console UART of this kind `init`
        // installed, mapped for the kernel's lifetime. The lock's holder
        // is the code this fault or panic interrupted on this one CPU and
        // does not run while we do: its bytes and ours interleave, nothing
        // worse.
        let u = unsafe { Uart::new(kind, base) };
        f(&u);
    }
}

struct UartSink<'a>(&'a Uart);

impl Sink for UartSink<'_> {
    fn put(&mut self, b: u8) {
        self.0.putc(b);
    }
}

#[doc(hidden)]
pub fn _print(args: core::fmt::Arguments) {
    if !is_up() {
        // Before the console is known: keep it (a holder of the buffer's
        // lock is code we interrupted; then the message is dropped).
        for _ in 0..LOCK_TRIES {
            if let Some(mut e) = EARLY.try_lock() {
                let _ = e.write_fmt(args);
                return;
            }
            core::hint::spin_loop();
        }
        // Its holder is the code a fault interrupted on this one CPU
        // (kernel code runs with IRQs masked, and no task runs before
        // the console is up): it does not run again before the panic
        // this fault ends in. Append after what it had committed.
        // SAFETY: as just said, nobody else uses the buffer meanwhile.
        unsafe { EARLY.force_unlock() };
        if let Some(mut e) = EARLY.try_lock() {
            let _ = e.write_fmt(args);
        }
        return;
    }
    with_uart(|u| {
        let mut w = KernelWriter(u);
        let _ = w.write_fmt(args);
    });
}

/// Kernel messages: '\n' as "\r\n" whatever the terminal's settings.
struct KernelWriter<'a>(&'a Uart);

impl core::fmt::Write for KernelWriter<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for b in s.bytes() {
            if b == b'\n' {
                self.0.putc(b'\r');
            }
            self.0.putc(b);
        }
        Ok(())
    }
}

/// Write user bytes (`write(1, ...)`) through the terminal's output
/// processing (OPOST/ONLCR: '\n' as "\r\n" by default).
pub fn write_bytes(bytes: &[u8]) {
    match TTY.try_lock() {
        Some(mut t) => with_uart(|u| t.ld.write(bytes, &mut UartSink(u))),
        None => with_uart(|u| {
            for &b in bytes {
                if b == b'\n' {
                    u.putc(b'\r');
                }
                u.putc(b);
            }
        }),
    }
}

pub fn flush() {
    with_uart(|u| u.flush());
}

/// What new input asks of the scheduler.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Input {
    /// Signals (bit `sig - 1`) for the foreground group `fg_pgrp`.
    pub signals: u64,
    pub fg_pgrp: u32,
    /// Readers and pollers of the terminal may go on.
    pub wake: bool,
}

/// Drain the UART's receive FIFO into the line discipline (echo
/// included): the receive interrupt's work, also called before a read
/// or poll looks at the input (which makes a console without an
/// interrupt work by polling). Never waits for a lock, never allocates.
pub fn receive() -> Input {
    let mut input = Input::default();
    let Some(mut tty) = TTY.try_lock() else {
        // Not reachable with IRQs masked in kernel mode; if it were, the
        // bytes are dropped rather than leaving the level interrupt up.
        with_uart(|u| {
            u.clear_rx_interrupts();
            while u.getc().is_some() {}
        });
        return input;
    };
    with_uart(|u| {
        // Clear first, then drain: a byte arriving after the last read
        // raises the interrupt again (cleared after the drain, it would
        // sit unseen until some read or poll came by).
        u.clear_rx_interrupts();
        while let Some(b) = u.getc() {
            let r = tty.ld.receive(b, &mut UartSink(u));
            input.wake |= r.wake;
            if let Some(sig) = r.signal {
                input.signals |= 1 << (sig - 1);
            }
        }
    });
    input.fg_pgrp = tty.fg_pgrp;
    input
}

/// Route the UART's receive interrupt (`irq` from the device tree)
/// through the interrupt controller ([`crate::drivers::irq`]). Without a
/// controller or an interrupt number the console stays polled.
#[cfg(target_os = "none")]
pub fn start_rx_interrupt(irq: Option<u32>) {
    let Some(irq) = irq else {
        crate::kprintln!("console: no UART interrupt in the device tree: input is polled");
        return;
    };
    if crate::drivers::irq::info().is_none() {
        return;
    }
    if let Err(e) = crate::drivers::irq::enable(irq) {
        crate::kprintln!("console: UART interrupt {irq} not enabled ({e}): input is polled");
        return;
    }
    if let Some(u) = lock_console().as_ref() {
        u.enable_rx_interrupts();
    }
    RX_IRQ.store(irq, Ordering::Relaxed);
    crate::kprintln!("console: UART receive interrupt INTID {irq}");
}

/// Whether `irq` is the UART's receive interrupt.
pub fn is_rx_irq(irq: u32) -> bool {
    irq != NO_IRQ && RX_IRQ.load(Ordering::Relaxed) == irq
}

/// Whether input wakes its readers by interrupt (else they poll).
pub fn rx_interrupt_routed() -> bool {
    RX_IRQ.load(Ordering::Relaxed) != NO_IRQ
}

/// Run `f` with the early buffer's lock (`early`, a message half
/// written) or the console UART's lock held: `armmu.test_fault`
/// ([`crate::testfault`]) faults inside `f`.
pub fn while_locked(early: bool, f: impl FnOnce()) {
    if early {
        let mut e = EARLY.lock();
        let _ = e.write_str("test_fault: early buffer locked, half a message: ");
        f();
    } else {
        let _g = CONSOLE.lock();
        f();
    }
}

/// The panic path: if no console is installed yet, the early buffer is
/// all there is of the log (the fault report included), so write it out
/// through the debugger's console (semihosting `SYS_WRITE0`: QEMU's
/// `-semihosting-config`; on a board without a debugger the call is a
/// no-op and the messages are lost, as no UART is known to print on).
/// With a console installed there is nothing buffered.
///
/// # Safety
/// Only from the panic handler: the buffer's lock is taken by force.
pub unsafe fn panic_flush() {
    if is_up() {
        return;
    }
    // SAFETY: the caller's contract: we are going down on this one CPU.
    unsafe { EARLY.force_unlock() };
    let Some(mut e) = EARLY.try_lock() else {
        return;
    };
    let (len, lost) = (e.len, e.lost);
    crate::arch::semihosting_write(b"console: no console known yet: the early messages follow\n");
    crate::arch::semihosting_write(&e.buf[..len]);
    if lost > 0 {
        crate::arch::semihosting_write(b"console: earlier messages lost (early buffer full)\n");
    }
    e.len = 0;
    e.lost = 0;
}

/// Used by the panic handler: bypass a lock the panicking code may hold.
///
/// # Safety
/// Only when nothing else will use the console again concurrently.
pub unsafe fn force_unlock() {
    // SAFETY: forwarded to the caller's contract.
    unsafe { CONSOLE.force_unlock() }
}

#[macro_export]
macro_rules! kprint {
    ($($arg:tt)*) => ($crate::console::_print(format_args!($($arg)*)));
}

#[macro_export]
macro_rules! kprintln {
    () => ($crate::kprint!("\n"));
    ($($arg:tt)*) => ($crate::kprint!("{}\n", format_args!($($arg)*)));
}
