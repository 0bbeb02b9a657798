//! The demo init: greet over write(1), find the console UART the way a Linux program can
//! (`/proc/device-tree/chosen/stdout-path`, its alias, the node's `compatible` and
//! `reg-shift`/`reg-io-width`; the physical address from `/proc/iomem`'s line for that
//! node), map it through /dev/mem and print a line through it, then map anonymous RAM,
//! fill and verify it, unmap, exit 0.
//!
//! UART types written: PL011 (DR at +0, FR.TXFF), 16550 (`ns16550a`, `snps,dw-apb-uart`:
//! THR at +0, LSR.THRE at 5 << reg-shift, 8- or 32-bit access by reg-io-width), the
//! BCM2835 mini UART (`brcm,bcm2835-aux-uart`: a 16550 with shift 2 and 32-bit access whose
//! node `reg` is already aux base + 0x40), i.MX (`fsl,imx21-uart`: UTXD at +0x40,
//! UTS.TXFULL at +0xb4). Any other UART, or no device tree, is reported as skipped.
//!
//! `UART_PHYS=0x...` in the environment names a PL011 directly (no lookup); `MEM_DEV=<path>`
//! replaces `/dev/mem` (under qemu-user a sparse file stands in for it, so the whole path
//! runs on Linux; then the PL011 at `UART_PHYS`, default 0x0900_0000, is used).
#![no_std]
#![no_main]

use core::ffi::CStr;

use armmu_user::sys::*;
use armmu_user::{entry, errno, println, PAGE};

entry!(main);

const UART_PHYS_DEFAULT: usize = 0x0900_0000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pl011,
    /// 16550: register shift, 32-bit access.
    Ns16550 {
        shift: u32,
        wide: bool,
    },
    BcmAux,
    Imx,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Pl011 => "PL011",
            Kind::Ns16550 { .. } => "16550",
            Kind::BcmAux => "BCM2835 mini UART",
            Kind::Imx => "i.MX UART",
        }
    }

    /// From a `compatible` value (NUL-separated, most specific first).
    fn from_compatible(c: &[u8], shift: u32, wide: bool) -> Option<Kind> {
        c.split(|&b| b == 0).find_map(|s| match s {
            b"arm,pl011" => Some(Kind::Pl011),
            b"brcm,bcm2835-aux-uart" => Some(Kind::BcmAux),
            b"snps,dw-apb-uart" | b"ns16550a" | b"ns16550" => Some(Kind::Ns16550 { shift, wide }),
            b"fsl,imx6q-uart" | b"fsl,imx21-uart" => Some(Kind::Imx),
            _ => None,
        })
    }
}

/// Volatile 32-bit read/write of a register of the live mapping at `base`.
fn rd(base: usize, off: usize) -> u32 {
    // SAFETY: `base` is a live MAP_SHARED mapping of the UART's register page and `off`
    // one of its registers' offsets (word-aligned), read with a volatile word access.
    unsafe { core::ptr::read_volatile((base + off) as *const u32) }
}

fn uart_putc(base: usize, kind: Kind, b: u8) {
    let mut spins = 0u32;
    // Bounded wait (a UART that never drains must not hang init).
    let mut wait = |busy: &dyn Fn() -> bool| {
        while busy() && spins < 10_000_000 {
            spins += 1;
            core::hint::spin_loop();
        }
    };
    match kind {
        Kind::Pl011 => {
            wait(&|| rd(base, 0x18) & (1 << 5) != 0); // FR.TXFF
                                                      // SAFETY: DR (+0) of the mapped PL011, a 32-bit register.
            unsafe { core::ptr::write_volatile(base as *mut u32, b as u32) };
        }
        Kind::Ns16550 { shift, wide } => {
            let lsr = 5usize << shift;
            if wide {
                wait(&|| rd(base, lsr) & 0x20 == 0); // LSR.THRE
                                                     // SAFETY: THR (+0) of the mapped 16550, 32-bit access (reg-io-width 4).
                unsafe { core::ptr::write_volatile(base as *mut u32, b as u32) };
            } else {
                // SAFETY: LSR of the mapped 16550, byte access (reg-io-width 1).
                let lsr8 = || unsafe { core::ptr::read_volatile((base + lsr) as *const u8) };
                wait(&|| lsr8() & 0x20 == 0);
                // SAFETY: THR (+0) of the mapped 16550, byte access.
                unsafe { core::ptr::write_volatile(base as *mut u8, b) };
            }
        }
        Kind::BcmAux => {
            wait(&|| rd(base, 0x14) & 0x20 == 0); // AUX_MU_LSR.TX empty
                                                  // SAFETY: AUX_MU_IO (+0 of the node's reg = aux base + 0x40), 32-bit.
            unsafe { core::ptr::write_volatile(base as *mut u32, b as u32) };
        }
        Kind::Imx => {
            wait(&|| rd(base, 0xb4) & (1 << 4) != 0); // UTS.TXFULL
                                                      // SAFETY: UTXD (+0x40) of the mapped i.MX UART, 32-bit.
            unsafe { core::ptr::write_volatile((base + 0x40) as *mut u32, b as u32) };
        }
    }
}

fn uart_puts(base: usize, kind: Kind, s: &str) {
    for &b in s.as_bytes() {
        if b == b'\n' {
            uart_putc(base, kind, b'\r');
        }
        uart_putc(base, kind, b);
    }
}

/// The whole file `path` (cut at `buf`'s size); its length.
fn read_file(path: &[u8], buf: &mut [u8]) -> Option<usize> {
    let mut p = [0u8; 256];
    if path.len() >= p.len() {
        return None;
    }
    p[..path.len()].copy_from_slice(path);
    let c = CStr::from_bytes_until_nul(&p).ok()?;
    let fd = armmu_user::open(c, O_RDONLY, 0).ok()?;
    let mut n = 0;
    while n < buf.len() {
        match armmu_user::read(fd, &mut buf[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    let _ = armmu_user::close(fd);
    Some(n)
}

/// `a` then `b` in `out` (None if it does not fit).
fn join<'a>(out: &'a mut [u8], parts: &[&[u8]]) -> Option<&'a [u8]> {
    let mut n = 0;
    for p in parts {
        out.get_mut(n..n + p.len())?.copy_from_slice(p);
        n += p.len();
    }
    Some(&out[..n])
}

/// The bytes before the first NUL.
fn cstr(b: &[u8]) -> &[u8] {
    b.split(|&c| c == 0).next().unwrap_or(b)
}

fn be32(b: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(..4)?.try_into().ok()?))
}

/// The console UART as a Linux program finds it: (node path, kind, physical address).
/// Err: why it could not be found.
fn find_console(node: &mut [u8; 128]) -> Result<(usize, Kind, u64), &'static str> {
    const DT: &[u8] = b"/proc/device-tree";
    let mut buf = [0u8; 128];
    let mut path = [0u8; 200];
    // stdout-path ("serial0:115200n8" or a full path), options dropped.
    let n = read_file(
        join(&mut path, &[DT, b"/chosen/stdout-path"]).ok_or("path")?,
        &mut buf,
    )
    .or_else(|| {
        read_file(
            join(&mut path, &[DT, b"/chosen/linux,stdout-path"])?,
            &mut buf,
        )
    });
    let mut name_len = 0;
    match n {
        Some(n) => {
            let v = cstr(&buf[..n]);
            let v = v.split(|&c| c == b':').next().unwrap_or(v);
            if v.first() == Some(&b'/') {
                node[..v.len().min(128)].copy_from_slice(&v[..v.len().min(128)]);
                name_len = v.len().min(128);
            } else {
                let mut alias = [0u8; 64];
                let a = join(&mut alias, &[v]).ok_or("alias too long")?;
                let m = read_file(join(&mut path, &[DT, b"/aliases/", a]).ok_or("path")?, node)
                    .ok_or("stdout-path names an alias /proc/device-tree/aliases lacks")?;
                name_len = cstr(&node[..m]).len();
            }
        }
        None => {
            // No stdout-path: serial0, as Linux's of_console falls back to.
            if let Some(m) = read_file(
                join(&mut path, &[DT, b"/aliases/serial0"]).ok_or("path")?,
                node,
            ) {
                name_len = cstr(&node[..m]).len();
            }
        }
    }
    if name_len == 0 {
        return Err("no /proc/device-tree/chosen/stdout-path or serial0 alias");
    }
    let nodep = &node[..name_len];
    let mut comp = [0u8; 128];
    let clen = read_file(
        join(&mut path, &[DT, nodep, b"/compatible"]).ok_or("path")?,
        &mut comp,
    )
    .ok_or("the console node has no compatible")?;
    let mut cell = [0u8; 8];
    let shift = read_file(
        join(&mut path, &[DT, nodep, b"/reg-shift"]).ok_or("path")?,
        &mut cell,
    )
    .and_then(|k| be32(&cell[..k]))
    .unwrap_or(0);
    let wide = read_file(
        join(&mut path, &[DT, nodep, b"/reg-io-width"]).ok_or("path")?,
        &mut cell,
    )
    .and_then(|k| be32(&cell[..k]))
        == Some(4);
    let kind = Kind::from_compatible(&comp[..clen], shift, wide)
        .ok_or("a UART type this demo does not drive")?;
    // The physical address: /proc/iomem's line named like the node.
    let leaf = nodep.rsplit(|&c| c == b'/').next().unwrap_or(nodep);
    let mut iomem = [0u8; 8192];
    let n = read_file(b"/proc/iomem", &mut iomem).ok_or("no /proc/iomem")?;
    let phys = iomem[..n]
        .split(|&c| c == b'\n')
        .find_map(|line| {
            let (range, name) = split_once(line, b" : ")?;
            if name != leaf {
                return None;
            }
            let start = split_once(trim_start(range), b"-")?.0;
            parse_hex(start)
        })
        .ok_or("the console node is not in /proc/iomem")?;
    Ok((name_len, kind, phys))
}

fn split_once<'a>(s: &'a [u8], sep: &[u8]) -> Option<(&'a [u8], &'a [u8])> {
    let i = s.windows(sep.len()).position(|w| w == sep)?;
    Some((&s[..i], &s[i + sep.len()..]))
}

fn trim_start(s: &[u8]) -> &[u8] {
    let i = s.iter().position(|&c| c != b' ').unwrap_or(s.len());
    &s[i..]
}

fn parse_hex(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 16 {
        return None;
    }
    s.iter().try_fold(0u64, |v, &c| {
        let d = (c as char).to_digit(16)?;
        Some(v << 4 | d as u64)
    })
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

    // MEM_DEV=<path> replaces /dev/mem (e.g. a sparse file, to exercise this path on Linux).
    let mut path_buf = [0u8; 128];
    let path = mem_dev_path(&args, &mut path_buf);
    let fixed = args
        .env_usize("UART_PHYS")
        .or(args.env("MEM_DEV").map(|_| UART_PHYS_DEFAULT));
    let mut node = [0u8; 128];
    let found = match fixed {
        Some(p) => Ok((0, Kind::Pl011, p as u64)),
        None => find_console(&mut node),
    };
    let (name_len, kind, uart_phys) = match found {
        Ok(f) => f,
        Err(why) => {
            println!("init: console UART through /dev/mem: skipped ({why})");
            return ram_demo();
        }
    };
    if name_len > 0 {
        println!(
            "init: console {} ({}) at phys {uart_phys:#x} (stdout-path via /proc/device-tree, address from /proc/iomem)",
            core::str::from_utf8(&node[..name_len]).unwrap_or("?"),
            kind.name()
        );
    }
    let fd = match armmu_user::open(path, O_RDWR | O_SYNC, 0) {
        Ok(fd) => fd,
        Err(e) => {
            println!("init: open({path:?}) failed: {}={e}", errno::name(e));
            return 1;
        }
    };
    let page = uart_phys & !(PAGE as u64 - 1);
    println!(
        "init: {path:?} is fd {fd}, mapping the {} at phys {uart_phys:#x}",
        kind.name()
    );
    let uart = match armmu_user::mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, page) {
        Ok(va) => va,
        Err(e) => {
            println!(
                "init: mmap(/dev/mem @ {page:#x}) failed: {}={e}",
                errno::name(e)
            );
            return 1;
        }
    };
    let _ = armmu_user::close(fd);
    let regs = uart + (uart_phys - page) as usize;
    println!("init: {} mapped at va {regs:#x}", kind.name());
    let mut line = [0u8; 96];
    let text = join(
        &mut line,
        &[
            b"init: hello through the ",
            kind.name().as_bytes(),
            b" mapped from user space!\n",
        ],
    )
    .and_then(|t| core::str::from_utf8(t).ok())
    .unwrap_or("init: hello!\n");
    uart_puts(regs, kind, text);
    if let Err(e) = armmu_user::munmap(uart, PAGE) {
        println!("init: munmap(uart) failed: {}={e}", errno::name(e));
        return 1;
    }
    ram_demo()
}

/// Map anonymous RAM, fill and verify it, unmap; the exit status.
fn ram_demo() -> i32 {
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
