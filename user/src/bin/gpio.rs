//! The GPIO demo (Raspberry Pi 2/3), as the classic `bcm2835` user-space programs do it:
//! find the GPIO block from the device tree (the `/proc/device-tree` node whose
//! `compatible` holds `brcm,bcm2835-gpio`; its physical address from `/proc/iomem`'s line
//! named like the node), `open("/dev/mem", O_RDWR|O_SYNC)`, `mmap` 4 KiB of it
//! `MAP_SHARED`, then on one pin (`pin=N` in the environment, default GPIO 17, free on
//! both boards: header pin 11, `gpio-line-names` "GPIO17"):
//!
//! 1. read GPFSELn, print the pin's function;
//! 2. make it an output (FSEL 001), read GPFSELn back;
//! 3. GPSETn <- the pin's bit, read GPLEVn;
//! 4. GPCLRn <- the pin's bit, read GPLEVn;
//! 5. restore the pin's old function, read GPFSELn back.
//!
//! Expected values are the BCM2835 ARM Peripherals datasheet's (§6.1, GPIO registers),
//! not what a model happens to return: GPFSEL0..5 at +0x00..+0x14, 3 bits per pin
//! (pin p in GPFSEL(p / 10) bits 3*(p % 10)..+2; 000 input, 001 output), read/write, bits
//! 30-31 reserved (so only bits 0-29 are compared); GPSET0/1 (+0x1c/+0x20) and GPCLR0/1
//! (+0x28/+0x2c) write-only, a 1 sets/clears the output, a 0 has no effect; GPLEV0/1
//! (+0x34/+0x38) read-only, the actual level of the pin: for an output, what was last
//! set or cleared. The level is only checked while the pin is an output (an input's
//! level is whatever drives the pin).
//!
//! The node is found by walking `/proc/device-tree` with getdents64 (as on Linux); where
//! that directory cannot be listed (armmu before it listed them) by probing the
//! node names `/proc/iomem` gives (`gpio@7e200000`) under the root, `/soc` and the parents
//! of the `serial0..3` aliases' nodes; either way the `compatible` property decides.
//!
//! Exit status: 0 if every register read back what the datasheet says, 1 if not (each
//! mismatch printed), 2 if /dev/mem could not be opened or mapped. Without such a node
//! (QEMU `virt`, or no device tree) it prints `gpio: no BCM2835 GPIO: skipped (why)` and
//! exits 0.
#![no_std]
#![no_main]

use core::ffi::CStr;

use armmu_user::file::{for_each_dirent, getdents64, O_DIRECTORY};
use armmu_user::sys::*;
use armmu_user::{entry, errno, println, PAGE};

entry!(main);

const COMPATIBLE: &[u8] = b"brcm,bcm2835-gpio";
const DEFAULT_PIN: usize = 17;
const PINS: usize = 54;

// Register offsets (BCM2835 ARM Peripherals §6.1, from the block's base 0x7E20_0000).
const GPFSEL0: usize = 0x00;
const GPSET0: usize = 0x1c;
const GPCLR0: usize = 0x28;
const GPLEV0: usize = 0x34;
/// GPFSELn bits 30-31 are reserved; bits 0-29 are the ten FSEL fields.
const FSEL_FIELDS: u32 = 0x3fff_ffff;
const FSEL_OUTPUT: u32 = 0b001;

fn rd(base: usize, off: usize) -> u32 {
    // SAFETY: `base` is a live MAP_SHARED mapping of the GPIO block's page and `off` one
    // of its registers (word-aligned, below 0xb4), read with a volatile word access.
    unsafe { core::ptr::read_volatile((base + off) as *const u32) }
}

fn wr(base: usize, off: usize, v: u32) {
    // SAFETY: as `rd`, a volatile word write to a register of the mapped GPIO block.
    unsafe { core::ptr::write_volatile((base + off) as *mut u32, v) }
}

/// The whole file `path` (cut at `buf`'s size); its length.
fn read_file(path: &[u8], buf: &mut [u8]) -> Option<usize> {
    let mut p = [0u8; 256];
    p.get_mut(..path.len())?.copy_from_slice(path);
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

/// Whether `path/compatible` lists `COMPATIBLE` (NUL-separated strings).
fn is_gpio_node(path: &[u8]) -> bool {
    let mut p = [0u8; 256];
    let tail = b"/compatible";
    let Some(dst) = p.get_mut(..path.len() + tail.len()) else {
        return false;
    };
    dst[..path.len()].copy_from_slice(path);
    dst[path.len()..].copy_from_slice(tail);
    let mut c = [0u8; 128];
    let Some(n) = read_file(&p[..path.len() + tail.len()], &mut c) else {
        return false;
    };
    c[..n].split(|&b| b == 0).any(|s| s == COMPATIBLE)
}

/// Depth-first search under `path[..len]` (a `/proc/device-tree` directory) for the GPIO
/// node; the length of its path in `path`.
fn find_node(path: &mut [u8; 256], len: usize, depth: u32) -> Option<usize> {
    if is_gpio_node(&path[..len]) {
        return Some(len);
    }
    if depth == 0 {
        return None;
    }
    let mut p = [0u8; 256];
    p[..len].copy_from_slice(&path[..len]);
    let c = CStr::from_bytes_until_nul(&p).ok()?;
    let fd = armmu_user::open(c, O_RDONLY | O_DIRECTORY, 0).ok()?;
    let mut found = None;
    let mut buf = [0u8; 1024];
    while found.is_none() {
        let n = match getdents64(fd, &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for_each_dirent(&buf[..n], |name, ty| {
            // DT_DIR (4), or DT_UNKNOWN (0): a property file fails the opens harmlessly.
            if found.is_some() || name == b"." || name == b".." || !(ty == 4 || ty == 0) {
                return;
            }
            let end = len + 1 + name.len();
            if end >= path.len() {
                return;
            }
            path[len] = b'/';
            path[len + 1..end].copy_from_slice(name);
            found = find_node(path, end, depth - 1);
        });
    }
    let _ = armmu_user::close(fd);
    found
}

fn split_once<'a>(s: &'a [u8], sep: &[u8]) -> Option<(&'a [u8], &'a [u8])> {
    let i = s.windows(sep.len()).position(|w| w == sep)?;
    Some((&s[..i], &s[i + sep.len()..]))
}

fn parse_hex(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 16 {
        return None;
    }
    s.iter().try_fold(0u64, |v, &c| {
        Some(v << 4 | (c as char).to_digit(16)? as u64)
    })
}

/// `/proc/iomem`'s lines as (start address, name).
fn iomem_lines(iomem: &[u8]) -> impl Iterator<Item = (u64, &[u8])> {
    iomem.split(|&c| c == b'\n').filter_map(|line| {
        let (range, name) = split_once(line, b" : ")?;
        let range = &range[range.iter().position(|&c| c != b' ')?..];
        Some((parse_hex(split_once(range, b"-")?.0)?, name))
    })
}

/// Without a directory listing of /proc/device-tree (armmu's procfs has none): the nodes
/// `/proc/iomem` names (leaf names such as `gpio@7e200000`), looked for under the root,
/// `/soc` and the parents of the `serial0..3` aliases' nodes (the bus the UARTs sit on).
fn find_by_iomem_names(node: &mut [u8; 256], dt: usize, iomem: &[u8]) -> Option<usize> {
    let mut parents = [[0u8; 128]; 6];
    let mut plen = [0usize; 6];
    plen[1] = 4;
    parents[1][..4].copy_from_slice(b"/soc");
    let mut k = 2;
    for i in 0..4u8 {
        let mut p = [0u8; 64];
        let a = b"/proc/device-tree/aliases/serial";
        p[..a.len()].copy_from_slice(a);
        p[a.len()] = b'0' + i;
        let mut v = [0u8; 128];
        let Some(n) = read_file(&p[..a.len() + 1], &mut v) else {
            continue;
        };
        let v = v[..n].split(|&c| c == 0).next().unwrap_or(&[]);
        if let Some(slash) = v.iter().rposition(|&c| c == b'/') {
            parents[k][..slash].copy_from_slice(&v[..slash]);
            plen[k] = slash;
            k += 1;
        }
    }
    for (_, name) in iomem_lines(iomem) {
        for (par, &pl) in parents[..k].iter().zip(&plen[..k]) {
            let end = dt + pl + 1 + name.len();
            if end >= node.len() {
                continue;
            }
            node[dt..dt + pl].copy_from_slice(&par[..pl]);
            node[dt + pl] = b'/';
            node[dt + pl + 1..end].copy_from_slice(name);
            if is_gpio_node(&node[..end]) {
                return Some(end);
            }
        }
    }
    None
}

/// The GPIO block: (node path length in `node`, physical address). Err: why not found.
fn find_gpio(node: &mut [u8; 256]) -> Result<(usize, u64), &'static str> {
    const DT: &[u8] = b"/proc/device-tree";
    node[..DT.len()].copy_from_slice(DT);
    let mut iomem = [0u8; 8192];
    let n = read_file(b"/proc/iomem", &mut iomem).ok_or("no /proc/iomem")?;
    let iomem = &iomem[..n];
    let len = find_node(node, DT.len(), 4)
        .or_else(|| find_by_iomem_names(node, DT.len(), iomem))
        .ok_or("no /proc/device-tree node compatible with brcm,bcm2835-gpio")?;
    let leaf = node[..len].rsplit(|&c| c == b'/').next().unwrap_or(&[]);
    let phys = iomem_lines(iomem)
        .find_map(|(start, name)| (name == leaf).then_some(start))
        .ok_or("the GPIO node is not in /proc/iomem")?;
    Ok((len, phys))
}

fn fsel_name(f: u32) -> &'static str {
    match f {
        0b000 => "input",
        0b001 => "output",
        0b100 => "alt0",
        0b101 => "alt1",
        0b110 => "alt2",
        0b111 => "alt3",
        0b011 => "alt4",
        _ => "alt5",
    }
}

/// "ok", or "MISMATCH" (counted in `bad`).
fn verdict(bad: &mut u32, ok: bool) -> &'static str {
    if ok {
        "ok"
    } else {
        *bad += 1;
        "MISMATCH"
    }
}

fn level(l: u32, bit: u32) -> &'static str {
    if l & bit != 0 {
        "high"
    } else {
        "low"
    }
}

fn main(args: armmu_user::Args) -> i32 {
    let pin = args.env_usize("pin").unwrap_or(DEFAULT_PIN);
    if pin >= PINS {
        println!("gpio: pin={pin}: the BCM2835 has GPIO 0..53");
        return 2;
    }
    let mut node = [0u8; 256];
    let (len, phys) = match find_gpio(&mut node) {
        Ok(f) => f,
        Err(why) => {
            println!("gpio: no BCM2835 GPIO: skipped ({why})");
            return 0;
        }
    };
    let path = core::str::from_utf8(&node["/proc/device-tree".len()..len]).unwrap_or("?");
    println!(
        "gpio: BCM2835 GPIO {path} at phys {phys:#x} (compatible via /proc/device-tree, address from /proc/iomem)"
    );
    let fd = match armmu_user::open(c"/dev/mem", O_RDWR | O_SYNC, 0) {
        Ok(fd) => fd,
        Err(e) => {
            println!("gpio: open(/dev/mem) failed: {}={e}", errno::name(e));
            return 2;
        }
    };
    let page = phys & !(PAGE as u64 - 1);
    let map = match armmu_user::mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, page) {
        Ok(va) => va,
        Err(e) => {
            println!(
                "gpio: mmap(/dev/mem @ {page:#x}) failed: {}={e}",
                errno::name(e)
            );
            return 2;
        }
    };
    let _ = armmu_user::close(fd);
    let base = map + (phys - page) as usize;
    println!("gpio: /dev/mem page {page:#x} mapped MAP_SHARED at va {base:#x}");

    let fsel = GPFSEL0 + 4 * (pin / 10);
    let shift = 3 * (pin % 10) as u32;
    let (set, clr, lev) = (
        GPSET0 + 4 * (pin / 32),
        GPCLR0 + 4 * (pin / 32),
        GPLEV0 + 4 * (pin / 32),
    );
    let n = pin / 32;
    let bit = 1u32 << (pin % 32);
    let mut bad = 0;

    // 1. The pin's function now.
    let before = rd(base, fsel);
    let old = (before >> shift) & 7;
    println!(
        "gpio: GPFSEL{} = {before:#010x}: GPIO{pin} function {old:03b} ({})",
        pin / 10,
        fsel_name(old)
    );

    // 2. Output: FSEL 001, the other fields unchanged.
    let out = (before & !(7 << shift)) | FSEL_OUTPUT << shift;
    wr(base, fsel, out);
    let got = rd(base, fsel);
    let ok = verdict(&mut bad, got & FSEL_FIELDS == out & FSEL_FIELDS);
    println!(
        "gpio: GPFSEL{} <- {out:#010x} (GPIO{pin} output): read back {got:#010x}, function {:03b} ({}); datasheet: {:#010x} in bits 0-29: {ok}",
        pin / 10,
        (got >> shift) & 7,
        fsel_name((got >> shift) & 7),
        out & FSEL_FIELDS
    );

    // 3. High.
    wr(base, set, bit);
    let l = rd(base, lev);
    let ok = verdict(&mut bad, l & bit == bit);
    println!(
        "gpio: GPSET{n} <- {bit:#010x}: GPLEV{n} = {l:#010x}, GPIO{pin} {}; datasheet: bit {} = 1 (high): {ok}",
        level(l, bit),
        pin % 32
    );

    // 4. Low.
    wr(base, clr, bit);
    let l = rd(base, lev);
    let ok = verdict(&mut bad, l & bit == 0);
    println!(
        "gpio: GPCLR{n} <- {bit:#010x}: GPLEV{n} = {l:#010x}, GPIO{pin} {}; datasheet: bit {} = 0 (low): {ok}",
        level(l, bit),
        pin % 32
    );

    // 5. The old function back.
    let back = (rd(base, fsel) & !(7 << shift)) | old << shift;
    wr(base, fsel, back);
    let got = rd(base, fsel);
    let ok = verdict(&mut bad, got & FSEL_FIELDS == before & FSEL_FIELDS);
    println!(
        "gpio: GPFSEL{} <- {back:#010x} (GPIO{pin} {} again): read back {got:#010x}; datasheet: {:#010x} in bits 0-29, as at the start: {ok}",
        pin / 10,
        fsel_name(old),
        before & FSEL_FIELDS
    );

    if let Err(e) = armmu_user::munmap(map, PAGE) {
        println!("gpio: munmap failed: {}={e}", errno::name(e));
        return 2;
    }
    if bad == 0 {
        println!("gpio: every register read back as the datasheet says, exiting 0");
        0
    } else {
        println!("gpio: {bad} mismatch(es) with the datasheet, exiting 1");
        1
    }
}
