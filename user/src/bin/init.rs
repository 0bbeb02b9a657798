//! The demo init: greet over write(1), map the PL011 through /dev/mem and print a line
//! through it, then map anonymous RAM, fill and verify it, unmap, exit 0.
//!
//! `UART_PHYS=0x...` in the environment overrides the UART's physical address
//! (default 0x0900_0000, the PL011 of QEMU `virt`); `MEM_DEV=<path>` replaces `/dev/mem`
//! (under qemu-user a sparse file stands in for it, so the whole path runs on Linux).
#![no_std]
#![no_main]

use core::ffi::CStr;

use armmu_user::sys::*;
use armmu_user::{entry, errno, println, PAGE};

entry!(main);

const UART_PHYS_DEFAULT: usize = 0x0900_0000;
const UART_DR: usize = 0x00;
const UART_FR: usize = 0x18;
const FR_TXFF: u32 = 1 << 5;

fn uart_puts(base: usize, s: &str) {
    for &b in s.as_bytes() {
        if b == b'\n' {
            uart_putc(base, b'\r');
        }
        uart_putc(base, b);
    }
}

fn uart_putc(base: usize, b: u8) {
    // SAFETY: `base` is a live MAP_SHARED mapping of the PL011's 4 KiB register page;
    // FR and DR are 32-bit registers accessed with volatile word accesses.
    unsafe {
        while core::ptr::read_volatile((base + UART_FR) as *const u32) & FR_TXFF != 0 {
            core::hint::spin_loop();
        }
        core::ptr::write_volatile((base + UART_DR) as *mut u32, b as u32);
    }
}

fn mem_dev_path<'a>(args: &armmu_user::Args, buf: &'a mut [u8; 128]) -> &'a CStr {
    match args.env("MEM_DEV") {
        Some(p) if !p.is_empty() && p.len() < buf.len() => {
            buf[..p.len()].copy_from_slice(p);
            buf[p.len()] = 0;
            CStr::from_bytes_until_nul(&buf[..]).unwrap_or(c"/dev/mem")
        }
        _ => c"/dev/mem",
    }
}

fn main(args: armmu_user::Args) -> i32 {
    armmu_user::write_all(1, b"init: hello from a static Linux program (write(1))\n").ok();
    println!("init: arch {}, argc {}", armmu_user::ARCH, args.argc);
    println!("init: pid {}", armmu_user::getpid());
    let aux = |k| args.auxv(k).unwrap_or(0);
    println!(
        "init: auxv AT_PAGESZ {:#x} AT_PHDR {:#x} AT_ENTRY {:#x} AT_HWCAP {:#x}",
        aux(AT_PAGESZ),
        aux(AT_PHDR),
        aux(AT_ENTRY),
        aux(AT_HWCAP)
    );

    let uart_phys = args.env_usize("UART_PHYS").unwrap_or(UART_PHYS_DEFAULT);
    // MEM_DEV=<path> replaces /dev/mem (e.g. a sparse file, to exercise this path on Linux).
    let mut path_buf = [0u8; 128];
    let path = mem_dev_path(&args, &mut path_buf);
    let fd = match armmu_user::open(path, O_RDWR | O_SYNC, 0) {
        Ok(fd) => fd,
        Err(e) => {
            println!("init: open({path:?}) failed: {}={e}", errno::name(e));
            return 1;
        }
    };
    println!("init: {path:?} is fd {fd}, mapping the PL011 at phys {uart_phys:#x}");
    let uart = match armmu_user::mmap(
        0,
        PAGE,
        PROT_READ | PROT_WRITE,
        MAP_SHARED,
        fd,
        uart_phys as u64,
    ) {
        Ok(va) => va,
        Err(e) => {
            println!(
                "init: mmap(/dev/mem @ {uart_phys:#x}) failed: {}={e}",
                errno::name(e)
            );
            return 1;
        }
    };
    let _ = armmu_user::close(fd);
    println!("init: PL011 mapped at va {uart:#x}");
    uart_puts(
        uart,
        "init: hello through the PL011 mapped from user space!\n",
    );
    if let Err(e) = armmu_user::munmap(uart, PAGE) {
        println!("init: munmap(uart) failed: {}={e}", errno::name(e));
        return 1;
    }

    const LEN: usize = 16 * PAGE;
    let ram = match armmu_user::mmap_anon(LEN, PROT_READ | PROT_WRITE) {
        Ok(va) => va,
        Err(e) => {
            println!("init: mmap(anon) failed: {}={e}", errno::name(e));
            return 1;
        }
    };
    // SAFETY: `ram` is a fresh RW private anonymous mapping of LEN bytes that no Rust object uses.
    let zero = unsafe { armmu_user::all_zero(ram, LEN) };
    // SAFETY: as above.
    let ok = unsafe {
        armmu_user::fill(ram, LEN, 0x1234_5678);
        armmu_user::verify(ram, LEN, 0x1234_5678)
    };
    println!(
        "init: anon RAM at {ram:#x}: zeroed {} pattern {}",
        zero.is_ok(),
        ok.is_ok()
    );
    if zero.is_err() || ok.is_err() {
        return 1;
    }
    if let Err(e) = armmu_user::munmap(ram, LEN) {
        println!("init: munmap(ram) failed: {}={e}", errno::name(e));
        return 1;
    }
    println!("init: done, exiting 0");
    0
}
