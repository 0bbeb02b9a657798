//! The kernel console: one UART behind a spin lock, and `kprintln!`.

use crate::drivers::pl011::Pl011;
use core::fmt::Write;
use spin::Mutex;

static CONSOLE: Mutex<Option<Pl011>> = Mutex::new(None);

/// Install the console UART.
pub fn init(uart: Pl011) {
    *CONSOLE.lock() = Some(uart);
}

#[doc(hidden)]
pub fn _print(args: core::fmt::Arguments) {
    if let Some(u) = CONSOLE.lock().as_mut() {
        let _ = u.write_fmt(args);
    }
}

/// Write raw bytes (user `write(1, ...)`), translating '\n' to "\r\n".
pub fn write_bytes(bytes: &[u8]) {
    if let Some(u) = CONSOLE.lock().as_mut() {
        for &b in bytes {
            if b == b'\n' {
                u.putc(b'\r');
            }
            u.putc(b);
        }
    }
}

pub fn read_byte() -> Option<u8> {
    CONSOLE.lock().as_ref().and_then(|u| u.getc())
}

pub fn flush() {
    if let Some(u) = CONSOLE.lock().as_ref() {
        u.flush();
    }
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
