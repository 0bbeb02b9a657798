//! /proc/self/maps in Linux's exact format: the program maps a private anonymous RW
//! region at 0x3000_0000 (2 pages, the second then made read-only: two lines) and a
//! MAP_SHARED anonymous page at 0x3010_0000 (`rw-s ... /dev/zero (deleted)`), grows the
//! heap, reads and prints the file (indented by two spaces), and checks those lines
//! (an unnamed line ends with the inode and ONE space: `30000000-30001000 rw-p 00000000
//! 00:00 0 `, as Linux 6.1 prints it),
//! `[stack]`, `[heap]`, its own executable (argv[0]) for text, rodata and data, the
//! format of every line (sorted, not overlapping) and the padding of the names (column
//! 49 on ARM, 73 on arm64: seq_pad after `25 + 6 * sizeof(void *) - 1` characters); after
//! munmap the lines are gone. On Linux /proc must be mounted first (the program does it:
//! mkdir + mount when the open fails with ENOENT). Linux 6.1's output (booted with
//! `norandmaps`, so it is the same every run): user/oracle/proc_maps.*.txt.
#![no_std]
#![no_main]

use armmu_user::sys::*;
use armmu_user::*;

entry!(main);

const PRIV: usize = 0x3000_0000;
const SHARED: usize = 0x3010_0000;
/// Where the path starts when the prefix is shorter (Linux: seq_setwidth + seq_pad).
const NAME_COL: usize = 25 + 6 * core::mem::size_of::<usize>();

static mut BUF: [u8; 32768] = [0; 32768];
/// Initialised data, so the RW segment comes from the file.
static mut DATA: [u32; 4] = [1, 2, 3, 4];

fn read_maps() -> Option<&'static str> {
    let fd = match open(c"/proc/self/maps", O_RDONLY, 0) {
        Ok(fd) => fd,
        Err(errno::ENOENT) => {
            let _ = mkdir(c"/proc", 0o555);
            let _ = mount(c"proc", c"/proc", c"proc", 0);
            open(c"/proc/self/maps", O_RDONLY, 0).ok()?
        }
        Err(_) => return None,
    };
    // SAFETY: the only user of BUF, single-threaded.
    let buf = unsafe { &mut *(&raw mut BUF) };
    let mut n = 0;
    while n < buf.len() {
        match read(fd, &mut buf[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    let _ = close(fd);
    core::str::from_utf8(&buf[..n]).ok()
}

/// `start-end perms offset dev inode [name]`: (start, end, name start column) if the
/// line is well-formed.
fn parse(l: &str) -> Option<(usize, usize, Option<usize>)> {
    let hex = |s: &str| usize::from_str_radix(s, 16).ok();
    let mut it = l.split(' ').filter(|w| !w.is_empty());
    let range = it.next()?;
    let (a, b) = range.split_once('-')?;
    let (a, b) = (hex(a)?, hex(b)?);
    let perms = it.next()?.as_bytes();
    let ok_perms = perms.len() == 4
        && matches!(perms[0], b'r' | b'-')
        && matches!(perms[1], b'w' | b'-')
        && matches!(perms[2], b'x' | b'-')
        && matches!(perms[3], b'p' | b's');
    let off = it.next()?;
    let dev = it.next()?;
    let ino = it.next()?;
    let (maj, min) = dev.split_once(':')?;
    let good = ok_perms
        && a < b
        && off.len() >= 8
        && hex(off).is_some()
        && maj.len() == 2
        && min.len() >= 2
        && hex(maj).is_some()
        && hex(min).is_some()
        && ino.parse::<u64>().is_ok();
    if !good {
        return None;
    }
    let name = it.next().map(|n| l.find(n).unwrap_or(0));
    Some((a, b, name))
}

fn main(args: Args) -> i32 {
    let exe = args
        .arg(0)
        .and_then(|a| core::str::from_utf8(a).ok())
        .unwrap_or("?");
    // SAFETY: our own static.
    unsafe { core::ptr::write_volatile(&raw mut DATA[1], 5) };
    let p = mmap(
        PRIV,
        2 * PAGE,
        PROT_READ | PROT_WRITE,
        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
        -1,
        0,
    );
    check("mmap private anonymous at 0x30000000", p == Ok(PRIV));
    let s = mmap(
        SHARED,
        PAGE,
        PROT_READ | PROT_WRITE,
        MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
        -1,
        0,
    );
    check("mmap shared anonymous at 0x30100000", s == Ok(SHARED));
    check(
        "mprotect its second page read-only",
        mprotect(PRIV + PAGE, PAGE, PROT_READ).is_ok(),
    );
    let b0 = brk(0);
    check("brk grows by a page", brk(b0 + PAGE) == b0 + PAGE);

    let Some(maps) = read_maps() else {
        check("read /proc/self/maps", false);
        return finish();
    };
    check("read /proc/self/maps", !maps.is_empty());
    for l in maps.lines() {
        println!("  {l}");
    }
    let has = |f: &dyn Fn(&str) -> bool| maps.lines().any(f);
    // Linux 6.1 ends the inode field with a space even when no name follows.
    check(
        "\"30000000-30001000 rw-p 00000000 00:00 0 \" (exactly, trailing space included)",
        has(&|l| l == "30000000-30001000 rw-p 00000000 00:00 0 "),
    );
    check(
        "\"30001000-30002000 r--p 00000000 00:00 0 \" (mprotect split the mapping)",
        has(&|l| l == "30001000-30002000 r--p 00000000 00:00 0 "),
    );
    check(
        "30100000-30101000 rw-s 00000000 00:xx INODE /dev/zero (deleted)",
        has(&|l| {
            l.starts_with("30100000-30101000 rw-s 00000000 00:")
                && l.ends_with(" /dev/zero (deleted)")
        }),
    );
    check(
        "a rw-p line named [stack]",
        has(&|l| l.ends_with(" [stack]") && l.contains(" rw-p ")),
    );
    check(
        "a rw-p line named [heap]",
        has(&|l| l.ends_with(" [heap]") && l.contains(" rw-p ")),
    );
    let named = |l: &str, perms: &str| {
        l.contains(perms) && l.rsplit(' ').next() == Some(exe) && l.ends_with(exe)
    };
    check(
        "the executable (argv[0]): r-xp at offset 0",
        has(&|l| named(l, " r-xp 00000000 ")),
    );
    check(
        "the executable: an r--p line (rodata)",
        has(&|l| named(l, " r--p ")),
    );
    check(
        "the executable: an rw-p line (data)",
        has(&|l| named(l, " rw-p ")),
    );
    let mut prev_end = 0;
    let mut bad: Option<&str> = None;
    let mut bad_pad: Option<&str> = None;
    for l in maps.lines() {
        match parse(l) {
            Some((a, b, name)) if a >= prev_end => {
                prev_end = b;
                if let Some(col) = name {
                    let prefix = l[..col].trim_end().len();
                    if prefix < NAME_COL && col != NAME_COL {
                        bad_pad.get_or_insert(l);
                    }
                }
            }
            _ => {
                bad.get_or_insert(l);
            }
        }
    }
    check_detail(
        "every line is `start-end perms offset mj:mn inode [name]`, sorted, no overlap",
        bad.is_none(),
        format_args!("{bad:?}"),
    );
    check_detail(
        "names start at column 49 (ARM) / 73 (arm64) after a shorter prefix",
        bad_pad.is_none(),
        format_args!("{bad_pad:?}"),
    );

    let _ = munmap(PRIV, 2 * PAGE);
    let _ = munmap(SHARED, PAGE);
    match read_maps() {
        Some(m) => check(
            "after munmap the three lines are gone",
            !m.lines().any(|l| {
                l.starts_with("30000000-")
                    || l.starts_with("30001000-")
                    || l.starts_with("30100000-")
            }),
        ),
        None => check("read /proc/self/maps again", false),
    };
    finish()
}
