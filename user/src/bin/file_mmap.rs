//! Files and file-backed mmap, every rule checked against Linux 6.1 (its output:
//! user/oracle/file_mmap.*.txt). Runs as /init: it works under `/tmp/fm` (made with
//! mkdir; Linux's initramfs root is a writable tmpfs) and mounts /proc when
//! /proc/self/maps is missing (Linux), like proc_maps.
//!
//! * file I/O: `openat(O_CREAT|O_EXCL|O_RDWR, 0644)`, `write`, `fstat` size and mode,
//!   O_EXCL on an existing file -> EEXIST, a second `open` sees the same bytes,
//!   `ftruncate` up (zero-filled) and down, `lseek` SEEK_SET/CUR/END (negative -> EINVAL),
//!   ARM `_llseek` to 4 GiB, `pread64`/`pwrite64` leave the offset alone, `readv`/`writev`,
//!   O_APPEND writes at the end whatever the offset, O_TRUNC empties the file
//! * MAP_SHARED: a store is seen by `read` at once and by a forked child's own mapping and
//!   `read`; the child's store is seen by the parent; a `write()` is seen through the
//!   mapping at once; the mapping outlives `close`
//! * MAP_PRIVATE: a `write()` to the file is seen through a private mapping until the page
//!   is stored to (the page is the page cache's until copy-on-write), then not; the private
//!   store is seen neither by `read` nor by a shared mapping; other pages stay coherent
//! * the tail of the last page past EOF reads 0 (shared and private); a store there does
//!   not grow the file
//! * SIGBUS (BUS_ADRERR, si_addr the address touched) for a page wholly past EOF (read and
//!   write, shared and private), and for a page that was valid before `ftruncate` shrank
//!   the file; a child per case (the handler records siginfo in a shared page and exits
//!   42; without a handler the child dies of signal 7)
//! * a truncation by one process removes the pages past the new end from another
//!   process's mappings (Linux's `truncate_pagecache` -> `unmap_mapping_range(.., 1)`,
//!   private copies included): a forked child reads (or writes) pages 0 and 2 of a 3-page
//!   file through its own MAP_SHARED mapping, the inherited one, its own MAP_PRIVATE
//!   mapping with its own copies of pages 0 and 2, or an inherited MAP_PRIVATE mapping
//!   whose page 2 the parent had written before the fork; it tells the parent (a pipe),
//!   which `ftruncate`s to 4096 and then stores to page 0 through its shared mapping; told
//!   (a pipe), the child reads page 0 (the parent's store, or its private copy) and
//!   touches page 2 again: SIGBUS (BUS_ADRERR at that address)
//! * EACCES: MAP_SHARED|PROT_WRITE of an O_RDONLY fd, `mprotect(PROT_WRITE)` of a shared
//!   read-only mapping of an O_RDONLY fd, any mapping of an O_WRONLY fd; MAP_PRIVATE|
//!   PROT_WRITE of an O_RDONLY fd is allowed (and does not change the file); ENODEV for a
//!   directory, EBADF for a closed fd
//! * offsets: a mapping at offset 4096 / 8192 shows those pages; AArch64 `mmap` with an
//!   unaligned byte offset -> EINVAL. ARM's `mmap2` takes the offset in 4096-byte units, so
//!   an unaligned offset cannot be expressed at all; the only byte-offset mmap of ARM, the
//!   OABI `old_mmap` (90), is absent from an EABI kernel: ENOSYS (that is what is checked)
//! * `msync`: MS_SYNC, MS_ASYNC, MS_INVALIDATE, MS_SYNC|MS_INVALIDATE -> 0;
//!   MS_SYNC|MS_ASYNC, an unknown bit, an unaligned address -> EINVAL; a range with an
//!   unmapped page -> ENOMEM; length 0 -> 0
//! * `madvise(MADV_DONTNEED)`: shared anonymous and shared file data kept; a private file
//!   mapping's store dropped, the file's data back
//! * `mincore`: untouched private anonymous 0, written 1; a file mapping reports the page
//!   cache (a file just written is resident without any touch; a page past EOF is not);
//!   unaligned -> EINVAL, unmapped -> ENOMEM, length 0 -> 0; `mlock`/`munlock` -> 0;
//!   MAP_LOCKED populates (mincore all 1)
//! * /proc/self/maps: a file mapping's line has the perms, the offset, st_dev's
//!   major:minor, st_ino and the path (printed with address, device and inode masked)
//! * unlink of a mapped file: the mapping still works, its maps line ends in " (deleted)",
//!   st_nlink 0, open -> ENOENT
//! * directories: mkdir (EEXIST again), rename, unlink, getdents64 (names sorted before
//!   printing: the order depends on the file system), rmdir of a non-empty directory ->
//!   ENOTEMPTY, unlink of a directory -> EISDIR, open(dir, O_RDWR) -> EISDIR
#![no_std]
#![no_main]

use armmu_user::errno::*;
use armmu_user::file::*;
use armmu_user::sys::*;
use armmu_user::*;
use core::ffi::{c_void, CStr};
use core::fmt::{self, Display, Write};
use core::sync::atomic::{AtomicUsize, Ordering::SeqCst};

entry!(main);

const RW: u32 = PROT_READ | PROT_WRITE;
const ENOTEMPTY: i32 = 39;

/// A page-sized scratch buffer (no allocator).
static mut BUF: [u8; 4 * PAGE] = [0; 4 * PAGE];
/// /proc/self/maps.
static mut MAPS: [u8; 32768] = [0; 32768];

fn buf() -> &'static mut [u8; 4 * PAGE] {
    // SAFETY: single-threaded; callers never hold two references at once.
    unsafe { &mut *(&raw mut BUF) }
}

/// `ok - name: want` if `got == want`, else `not ok - name: got G, want W`.
fn same<T: PartialEq + Display>(name: &str, got: T, want: T) -> bool {
    if got == want {
        check(&Fmt(format_args!("{name}: {want}")).s(), true)
    } else {
        check_detail(
            &Fmt(format_args!("{name}: {want}")).s(),
            false,
            format_args!("got {got}"),
        )
    }
}

/// A number shown in octal.
#[derive(PartialEq)]
struct Oct(u32);
impl Display for Oct {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:o}", self.0)
    }
}

/// A result shown as a number or an errno name.
struct R(Result<usize, i32>);
impl Display for R {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Ok(v) => write!(f, "{v}"),
            Err(ENOTEMPTY) => write!(f, "ENOTEMPTY"),
            Err(e) => write!(f, "{}", name(e)),
        }
    }
}
impl PartialEq for R {
    fn eq(&self, o: &R) -> bool {
        self.0 == o.0
    }
}

fn res(name: &str, got: Result<usize, i32>, want: Result<usize, i32>) -> bool {
    same(name, R(got), R(want))
}

/// Formats into a fixed buffer (check names, lines).
struct Fmt<'a>(fmt::Arguments<'a>);
struct Line {
    b: [u8; 200],
    n: usize,
}
impl Write for Line {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &c in s.as_bytes() {
            if self.n < self.b.len() {
                self.b[self.n] = c;
                self.n += 1;
            }
        }
        Ok(())
    }
}
impl Line {
    fn as_str(&self) -> &str {
        core::str::from_utf8(&self.b[..self.n]).unwrap_or("?")
    }
}
impl Fmt<'_> {
    fn s(self) -> LineStr {
        let mut l = Line { b: [0; 200], n: 0 };
        let _ = l.write_fmt(self.0);
        LineStr(l)
    }
}
struct LineStr(Line);
impl core::ops::Deref for LineStr {
    type Target = str;
    fn deref(&self) -> &str {
        self.0.as_str()
    }
}

fn rd(a: usize) -> u8 {
    // SAFETY: every address passed is inside a live readable mapping.
    unsafe { peek(a) }
}
fn wr(a: usize, v: u8) {
    // SAFETY: every address passed is inside a live writable mapping no Rust object uses.
    unsafe { poke(a, v) }
}

/// Create `path` (O_CREAT|O_TRUNC|O_RDWR, 0644) holding `len` bytes of `f(offset)`.
fn make_file(path: &CStr, len: usize, f: impl Fn(usize) -> u8) -> i32 {
    let fd = match openat(AT_FDCWD, path, O_CREAT | O_TRUNC | O_RDWR, 0o644) {
        Ok(fd) => fd,
        Err(e) => {
            check_detail("create a test file", false, format_args!("{}", name(e)));
            exit(finish());
        }
    };
    let b = buf();
    let mut off = 0;
    while off < len {
        let n = (len - off).min(b.len());
        for (i, c) in b[..n].iter_mut().enumerate() {
            *c = f(off + i);
        }
        if write_all(fd, &b[..n]).is_err() {
            check("write a test file", false);
            exit(finish());
        }
        off += n;
    }
    fd
}

fn pread_byte(fd: i32, off: u64) -> Option<u8> {
    let mut b = [0u8; 1];
    match pread(fd, &mut b, off) {
        Ok(1) => Some(b[0]),
        _ => None,
    }
}

fn hex_opt(v: Option<u8>) -> OptB {
    OptB(v)
}
#[derive(PartialEq)]
struct OptB(Option<u8>);
impl Display for OptB {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(v) => write!(f, "{v:#04x}"),
            None => write!(f, "(no byte)"),
        }
    }
}

fn map(len: usize, prot: u32, flags: u32, fd: i32, off: u64) -> usize {
    match mmap(0, len, prot, flags, fd, off) {
        Ok(a) => a,
        Err(e) => {
            check_detail("mmap of a test file", false, format_args!("{}", name(e)));
            exit(finish());
        }
    }
}

fn main(_args: Args) -> i32 {
    let _ = mkdir(c"/tmp", 0o1777);
    res("mkdir /tmp/fm", mkdir(c"/tmp/fm", 0o755), Ok(0));
    file_io();
    shared_coherence();
    private_mapping();
    zero_tail();
    sigbus();
    truncate_other();
    access();
    offsets();
    msync_rules();
    dontneed();
    mincore_rules();
    maps_and_unlink();
    directories();
    finish()
}

// ---------------------------------------------------------------------------------------

fn file_io() {
    let p = c"/tmp/fm/a";
    let Ok(fd) = openat(AT_FDCWD, p, O_CREAT | O_EXCL | O_RDWR, 0o644) else {
        check("openat(O_CREAT|O_EXCL|O_RDWR, 0644)", false);
        exit(finish());
    };
    check("openat(O_CREAT|O_EXCL|O_RDWR, 0644) a new file", true);
    let st = fstat(fd).unwrap_or_default();
    same("fstat of the new file: size", st.size, 0);
    same("fstat: st_mode (octal)", Oct(st.mode), Oct(0o100644));
    same("fstat: st_nlink", st.nlink, 1);
    res("write 13 bytes", write(fd, b"hello, world\n"), Ok(13));
    res(
        "lseek(0, SEEK_CUR) after the write",
        lseek(fd, 0, SEEK_CUR).map(|v| v as usize),
        Ok(13),
    );
    same(
        "fstat size after the write",
        fstat(fd).map(|s| s.size).unwrap_or(-1),
        13,
    );
    res(
        "openat(O_CREAT|O_EXCL) of the existing file",
        openat(AT_FDCWD, p, O_CREAT | O_EXCL | O_RDWR, 0o644).map(|f| f as usize),
        Err(EEXIST),
    );
    let fd2 = open(p, O_RDONLY, 0).unwrap_or(-1);
    let mut b = [0u8; 32];
    let n = read(fd2, &mut b).unwrap_or(0);
    same(
        "a second open reads the same bytes",
        core::str::from_utf8(&b[..n]).unwrap_or("?").trim_end(),
        "hello, world",
    );
    res("read at EOF -> 0", read(fd2, &mut b), Ok(0));
    let _ = close(fd2);

    res("ftruncate(5000)", ftruncate(fd, 5000), Ok(0));
    same(
        "fstat size after ftruncate",
        fstat(fd).map(|s| s.size).unwrap_or(-1),
        5000,
    );
    let mut z = [0xffu8; 100];
    let got = pread(fd, &mut z, 4000);
    same(
        "pread(100 bytes at 4000) of the grown part: all zero",
        got == Ok(100) && z.iter().all(|&c| c == 0),
        true,
    );
    let l = |off: i64, wh: u32| R(lseek(fd, off, wh).map(|v| v as usize));
    same("lseek(0, SEEK_END)", l(0, SEEK_END), R(Ok(5000)));
    same("lseek(-10, SEEK_END)", l(-10, SEEK_END), R(Ok(4990)));
    same("lseek(5, SEEK_CUR)", l(5, SEEK_CUR), R(Ok(4995)));
    same("lseek(-1, SEEK_SET)", l(-1, SEEK_SET), R(Err(EINVAL)));
    same("lseek(0, 7) (bad whence)", l(0, 7), R(Err(EINVAL)));
    same(
        "the offset is unchanged by failed lseeks",
        l(0, SEEK_CUR),
        R(Ok(4995)),
    );
    #[cfg(target_arch = "arm")]
    {
        same(
            "ARM _llseek(4 GiB, SEEK_SET) (64-bit result)",
            llseek(fd, 1 << 32, SEEK_SET).unwrap_or(0),
            1 << 32,
        );
        same(
            "ARM _llseek(0, SEEK_END)",
            llseek(fd, 0, SEEK_END).unwrap_or(0),
            5000,
        );
    }
    #[cfg(target_arch = "aarch64")]
    {
        same(
            "lseek(4 GiB, SEEK_SET) (64-bit offset)",
            llseek(fd, 1 << 32, SEEK_SET).unwrap_or(0),
            1 << 32,
        );
        same(
            "lseek(0, SEEK_END) again",
            llseek(fd, 0, SEEK_END).unwrap_or(0),
            5000,
        );
    }
    let _ = lseek(fd, 1000, SEEK_SET);
    let mut w = [0u8; 5];
    res("pread(5 bytes at 7)", pread(fd, &mut w, 7), Ok(5));
    same(
        "pread got \"world\"",
        core::str::from_utf8(&w).unwrap_or("?"),
        "world",
    );
    res("pwrite(\"HELLO\" at 0)", pwrite(fd, b"HELLO", 0), Ok(5));
    res(
        "pread/pwrite left the offset at 1000",
        lseek(fd, 0, SEEK_CUR).map(|v| v as usize),
        Ok(1000),
    );
    let mut h = [0u8; 12];
    let _ = pread(fd, &mut h, 0);
    same(
        "the file starts \"HELLO, world\"",
        core::str::from_utf8(&h).unwrap_or("?"),
        "HELLO, world",
    );
    let _ = lseek(fd, 100, SEEK_SET);
    res(
        "writev([\"abc\", \"defg\"]) at 100",
        writev(fd, &[b"abc", b"defg"]),
        Ok(7),
    );
    res(
        "offset after writev",
        lseek(fd, 0, SEEK_CUR).map(|v| v as usize),
        Ok(107),
    );
    let _ = lseek(fd, 100, SEEK_SET);
    let (mut x, mut y) = ([0u8; 2], [0u8; 5]);
    res(
        "readv([2, 5]) at 100",
        readv(fd, &mut [&mut x, &mut y]),
        Ok(7),
    );
    same(
        "readv split \"ab\" + \"cdefg\"",
        &x == b"ab" && &y == b"cdefg",
        true,
    );
    let _ = close(fd);

    let Ok(fa) = open(p, O_WRONLY | O_APPEND, 0) else {
        check("open(O_WRONLY|O_APPEND)", false);
        return;
    };
    res("O_APPEND write", write(fa, b"tail"), Ok(4));
    res(
        "O_APPEND: offset after it",
        lseek(fa, 0, SEEK_CUR).map(|v| v as usize),
        Ok(5004),
    );
    let _ = lseek(fa, 0, SEEK_SET);
    res("O_APPEND write after lseek(0)", write(fa, b"TAIL"), Ok(4));
    same(
        "O_APPEND: size 5008",
        fstat(fa).map(|s| s.size).unwrap_or(-1),
        5008,
    );
    let fr = open(p, O_RDONLY, 0).unwrap_or(-1);
    let mut t = [0u8; 8];
    let _ = pread(fr, &mut t, 5000);
    same(
        "O_APPEND: the last 8 bytes",
        core::str::from_utf8(&t).unwrap_or("?"),
        "tailTAIL",
    );
    let mut h2 = [0u8; 5];
    let _ = pread(fr, &mut h2, 0);
    same(
        "O_APPEND: the start is untouched",
        core::str::from_utf8(&h2).unwrap_or("?"),
        "HELLO",
    );
    let _ = close(fa);
    res("write to an O_RDONLY fd", write(fr, b"x"), Err(EBADF));
    let _ = close(fr);
    let Ok(ft) = open(p, O_RDWR | O_TRUNC, 0) else {
        check("open(O_RDWR|O_TRUNC)", false);
        return;
    };
    same(
        "O_TRUNC: size 0",
        fstat(ft).map(|s| s.size).unwrap_or(-1),
        0,
    );
    res("ftruncate(-1)", ftruncate(ft, u64::MAX), Err(EINVAL));
    let _ = close(ft);
}

// ---------------------------------------------------------------------------------------

fn pattern(i: usize) -> u8 {
    (i % 251) as u8
}

fn shared_coherence() {
    let fd = make_file(c"/tmp/fm/shared", 2 * PAGE, pattern);
    let m = map(2 * PAGE, RW, MAP_SHARED, fd, 0);
    same(
        "MAP_SHARED: the mapping shows the file",
        rd(m + 4097),
        pattern(4097),
    );
    wr(m + 100, 0xab);
    same(
        "MAP_SHARED: a store is seen by pread at once",
        hex_opt(pread_byte(fd, 100)),
        hex_opt(Some(0xab)),
    );
    let _ = pwrite(fd, &[0xcd], 4200);
    same(
        "MAP_SHARED: a pwrite is seen through the mapping at once",
        rd(m + 4200),
        0xcd,
    );
    match fork() {
        Ok(0) => {
            reset_counts();
            let c = mmap(0, 2 * PAGE, RW, MAP_SHARED, fd, 0).unwrap_or(m);
            check(
                "child: its own MAP_SHARED mapping of the inherited fd",
                c != m,
            );
            same(
                "child: its mapping shows the parent's store",
                rd(c + 100),
                0xab,
            );
            same(
                "child: read shows the parent's store",
                hex_opt(pread_byte(fd, 100)),
                hex_opt(Some(0xab)),
            );
            same(
                "child: the inherited mapping shows it too",
                rd(m + 100),
                0xab,
            );
            wr(c + 200, 0x5a);
            child_exit();
        }
        Ok(pid) => {
            let r = waitpid(pid as isize);
            same(
                "the child's checks passed",
                r.map(|(_, s)| WaitStatus(s).to_string_fixed())
                    .unwrap_or_default(),
                WaitStatus(0).to_string_fixed(),
            );
        }
        Err(e) => {
            check_detail("fork", false, format_args!("{}", name(e)));
        }
    }
    same(
        "the child's store is seen through the parent's mapping",
        rd(m + 200),
        0x5a,
    );
    same(
        "and by the parent's pread",
        hex_opt(pread_byte(fd, 200)),
        hex_opt(Some(0x5a)),
    );
    res("close(fd) of a mapped file", close(fd), Ok(0));
    same("the mapping survives close: reads", rd(m + 100), 0xab);
    wr(m + 300, 0x77);
    let fd2 = open(c"/tmp/fm/shared", O_RDONLY, 0).unwrap_or(-1);
    same(
        "a store after close reaches the file",
        hex_opt(pread_byte(fd2, 300)),
        hex_opt(Some(0x77)),
    );
    let _ = close(fd2);
    let _ = munmap(m, 2 * PAGE);
}

trait FixedString {
    fn to_string_fixed(&self) -> StrBuf;
}
#[derive(PartialEq)]
struct StrBuf([u8; 96], usize);
impl Default for StrBuf {
    fn default() -> Self {
        StrBuf([0; 96], 0)
    }
}
impl Display for StrBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(core::str::from_utf8(&self.0[..self.1]).unwrap_or("?"))
    }
}
impl Write for StrBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &c in s.as_bytes() {
            if self.1 < self.0.len() {
                self.0[self.1] = c;
                self.1 += 1;
            }
        }
        Ok(())
    }
}
impl<T: Display> FixedString for T {
    fn to_string_fixed(&self) -> StrBuf {
        let mut s = StrBuf::default();
        let _ = write!(s, "{self}");
        s
    }
}

// ---------------------------------------------------------------------------------------

fn private_mapping() {
    let fd = make_file(c"/tmp/fm/priv", 2 * PAGE, pattern);
    let p = map(2 * PAGE, RW, MAP_PRIVATE, fd, 0);
    let s = map(2 * PAGE, RW, MAP_SHARED, fd, 0);
    same(
        "MAP_PRIVATE: the mapping shows the file",
        rd(p + 10),
        pattern(10),
    );
    let _ = pwrite(fd, &[0x11], 10);
    same(
        "MAP_PRIVATE: a pwrite before any private store is seen through it (same page)",
        rd(p + 10),
        0x11,
    );
    wr(p + 20, 0x22);
    same(
        "MAP_PRIVATE: the private store reads back",
        rd(p + 20),
        0x22,
    );
    same(
        "MAP_PRIVATE: read does not see the private store",
        hex_opt(pread_byte(fd, 20)),
        hex_opt(Some(pattern(20))),
    );
    same(
        "MAP_PRIVATE: a shared mapping does not see it",
        rd(s + 20),
        pattern(20),
    );
    let _ = pwrite(fd, &[0x33], 30);
    same(
        "MAP_PRIVATE: after the private store a pwrite to that page is not seen",
        rd(p + 30),
        pattern(30),
    );
    same(
        "MAP_PRIVATE: the copy kept the earlier pwrite",
        rd(p + 10),
        0x11,
    );
    let _ = pwrite(fd, &[0x44], 4100);
    same(
        "MAP_PRIVATE: the other page (never stored to) still sees a pwrite",
        rd(p + 4100),
        0x44,
    );
    wr(s + 4200, 0x55);
    same(
        "MAP_PRIVATE: ... and a store through a shared mapping",
        rd(p + 4200),
        0x55,
    );
    let _ = munmap(p, 2 * PAGE);
    let _ = munmap(s, 2 * PAGE);
    let _ = close(fd);
}

// ---------------------------------------------------------------------------------------

fn zero_tail() {
    let fd = make_file(c"/tmp/fm/tail", 5000, |_| 0xee);
    let s = map(2 * PAGE, RW, MAP_SHARED, fd, 0);
    let p = map(2 * PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
    let all = |a: usize, from: usize, to: usize, v: u8| (from..to).all(|i| rd(a + i) == v);
    same(
        "5000-byte file, 2 pages mapped shared: 0..5000 is the data",
        all(s, 0, 5000, 0xee),
        true,
    );
    same(
        "shared: 5000..8192 reads 0",
        all(s, 5000, 2 * PAGE, 0),
        true,
    );
    same(
        "private: 5000..8192 reads 0",
        all(p, 5000, 2 * PAGE, 0),
        true,
    );
    wr(s + 6000, 0x99);
    same(
        "a store past EOF in the last page reads back",
        rd(s + 6000),
        0x99,
    );
    same(
        "... but does not grow the file: size",
        fstat(fd).map(|s| s.size).unwrap_or(-1),
        5000,
    );
    let mut b = [0u8; 16];
    res(
        "pread at 5000 (EOF) -> 0 bytes",
        pread(fd, &mut b, 5000),
        Ok(0),
    );
    let _ = munmap(s, 2 * PAGE);
    let _ = munmap(p, 2 * PAGE);
    let _ = close(fd);
}

// ---------------------------------------------------------------------------------------

/// Where a child's SIGBUS handler reports: signo, code, addr, and a marker.
static REPORT: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_bus(_sig: i32, info: *mut SigInfo, _uc: *mut c_void) {
    // SAFETY: the kernel passes a valid siginfo; REPORT is a live shared page.
    unsafe {
        let info = &*info;
        let r = REPORT.load(SeqCst) as *mut usize;
        r.write_volatile(info.signo as usize);
        r.add(1).write_volatile(info.code as usize);
        r.add(2).write_volatile(info.addr());
    }
    // Returning would re-run the faulting access.
    exit_now(42);
}

#[derive(Clone, Copy)]
enum Touch {
    Read,
    Write,
}

/// A child touches `addr`, with the SIGBUS handler or without; the parent describes what
/// happened: `signo 7, si_code 2 (BUS_ADRERR), addr ok, exit 42` or `killed by signal 7`.
fn bus_case(what: &str, addr: usize, how: Touch, handler: bool) {
    let report = REPORT.load(SeqCst);
    for i in 0..3 {
        // SAFETY: the report page.
        unsafe { (report as *mut usize).add(i).write_volatile(0) };
    }
    let pid = match fork() {
        Ok(0) => {
            if handler {
                let _ = signal_info(SIGBUS, on_bus, 0);
            }
            match how {
                Touch::Read => {
                    let _ = fault::read(addr);
                }
                Touch::Write => fault::write(addr, 1),
            }
            exit(1)
        }
        Ok(pid) => pid,
        Err(e) => {
            check_detail("fork", false, format_args!("{}", name(e)));
            return;
        }
    };
    let st = waitpid(pid as isize).map(|(_, s)| s).unwrap_or(-1);
    // SAFETY: the report page.
    let r = |i: usize| unsafe { (report as *const usize).add(i).read_volatile() };
    let mut got = StrBuf::default();
    if handler {
        let _ = write!(
            got,
            "signo {}, si_code {}, addr {}, {}",
            r(0),
            r(1),
            if r(2) == addr { "ok" } else { "WRONG" },
            WaitStatus(st)
        );
        let want = "signo 7, si_code 2, addr ok, exit 42 (status 0x2a00)";
        same(what, got.to_string_fixed(), want.to_string_fixed());
    } else {
        let _ = write!(got, "{}", WaitStatus(st));
        same(
            what,
            got.to_string_fixed(),
            "signal 7 (status 0x7)".to_string_fixed(),
        );
    }
}

fn sigbus() {
    let Ok(report) = mmap(0, PAGE, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0) else {
        check("mmap a report page", false);
        return;
    };
    REPORT.store(report, SeqCst);
    let fd = make_file(c"/tmp/fm/bus", 5000, |_| 0x3c);
    let s = map(3 * PAGE, RW, MAP_SHARED, fd, 0);
    let p = map(3 * PAGE, RW, MAP_PRIVATE, fd, 0);
    same(
        "5000-byte file mapped 3 pages: page 1 (partly past EOF) reads",
        rd(s + 4100),
        0x3c,
    );
    bus_case(
        "SIGBUS reading page 2 (wholly past EOF), shared, handler",
        s + 2 * PAGE + 16,
        Touch::Read,
        true,
    );
    bus_case(
        "SIGBUS writing page 2, shared, handler",
        s + 2 * PAGE + 100,
        Touch::Write,
        true,
    );
    bus_case(
        "SIGBUS reading page 2, private, handler",
        p + 2 * PAGE + 8,
        Touch::Read,
        true,
    );
    bus_case(
        "SIGBUS writing page 2, private, no handler",
        p + 2 * PAGE,
        Touch::Write,
        false,
    );
    bus_case(
        "SIGBUS reading page 2, shared, no handler",
        s + 2 * PAGE,
        Touch::Read,
        false,
    );
    let _ = munmap(s, 3 * PAGE);
    let _ = munmap(p, 3 * PAGE);
    let _ = close(fd);

    let fd = make_file(c"/tmp/fm/shrink", 3 * PAGE, |i| (i / PAGE) as u8 + 1);
    let s = map(3 * PAGE, RW, MAP_SHARED, fd, 0);
    same(
        "12288-byte file mapped shared: pages read 1 2 3",
        (rd(s), rd(s + PAGE), rd(s + 2 * PAGE)) == (1, 2, 3),
        true,
    );
    res(
        "ftruncate(4096) of the mapped file",
        ftruncate(fd, PAGE as u64),
        Ok(0),
    );
    same("after the shrink page 0 still reads", rd(s + 8), 1);
    bus_case(
        "SIGBUS reading page 1 after ftruncate shrank the file, handler",
        s + PAGE + 4,
        Touch::Read,
        true,
    );
    bus_case(
        "SIGBUS writing page 2 after the shrink, no handler",
        s + 2 * PAGE + 4,
        Touch::Write,
        false,
    );
    res(
        "ftruncate(12288) grows it again",
        ftruncate(fd, 3 * PAGE as u64),
        Ok(0),
    );
    same(
        "page 1 reads zero now (the old data is gone)",
        rd(s + PAGE + 4),
        0,
    );
    let _ = munmap(s, 3 * PAGE);
    let _ = close(fd);
}

// ---------------------------------------------------------------------------------------

#[cfg(target_arch = "arm")]
const PIPE2: usize = 359;
#[cfg(target_arch = "aarch64")]
const PIPE2: usize = 59;

/// `pipe2(fds, 0)`: (read end, write end).
fn pipe() -> Result<(i32, i32), i32> {
    let mut fds = [0i32; 2];
    // SAFETY: the kernel writes two ints to `fds`.
    decode(unsafe { syscall2(PIPE2, fds.as_mut_ptr() as usize, 0) })?;
    Ok((fds[0], fds[1]))
}

/// The mapping the child of [`trunc_case`] touches.
#[derive(Clone, Copy, PartialEq)]
enum TruncMap {
    /// Its own MAP_SHARED mapping, made after the fork.
    SharedOwn,
    /// The parent's MAP_SHARED mapping, inherited.
    SharedInherited,
    /// Its own MAP_PRIVATE mapping; it writes pages 0 and 2 (private copies).
    PrivateOwnWritten,
    /// A MAP_PRIVATE mapping the parent wrote page 2 of before the fork, inherited (the
    /// copy is shared by both until one of them writes it again).
    PrivateInheritedWritten,
}

/// Report slots (after `on_bus`'s signo, code, addr).
const R_P0_BEFORE: usize = 3;
const R_P2_BEFORE: usize = 4;
const R_P0_AFTER: usize = 5;
const R_SURVIVED: usize = 6;
const R_ADDR: usize = 7;

/// A 3-page file (pages read 1 2 3) mapped MAP_SHARED by the parent; a child maps it as
/// `how` says, reads pages 0 and 2, tells the parent through a pipe; the parent
/// `ftruncate`s the file to 4096, stores 0xa5 to page 0 through its shared mapping and
/// tells the child, which reads page 0 and touches page 2 again (a load): SIGBUS.
fn trunc_case(what: &str, how: TruncMap) {
    let report = REPORT.load(SeqCst);
    // SAFETY: the report page.
    let slot = |i: usize| unsafe { (report as *mut usize).add(i) };
    for i in 0..8 {
        // SAFETY: the report page.
        unsafe { slot(i).write_volatile(0) };
    }
    let path = c"/tmp/fm/trunc";
    let fd = make_file(path, 3 * PAGE, |i| (i / PAGE) as u8 + 1);
    let m = map(3 * PAGE, RW, MAP_SHARED, fd, 0);
    let _ = (rd(m), rd(m + PAGE), rd(m + 2 * PAGE));
    let pm = if how == TruncMap::PrivateInheritedWritten {
        let pm = map(3 * PAGE, RW, MAP_PRIVATE, fd, 0);
        wr(pm + 2 * PAGE + 8, 0x77);
        pm
    } else {
        0
    };
    let (Ok((c2p_r, c2p_w)), Ok((p2c_r, p2c_w))) = (pipe(), pipe()) else {
        check("pipe2", false);
        return;
    };
    let pid = match fork() {
        Ok(0) => {
            let _ = signal_info(SIGBUS, on_bus, 0);
            let _ = (close(c2p_r), close(p2c_w));
            let a = match how {
                TruncMap::SharedOwn => mmap(0, 3 * PAGE, RW, MAP_SHARED, fd, 0).unwrap_or(0),
                TruncMap::SharedInherited => m,
                TruncMap::PrivateOwnWritten => {
                    let a = mmap(0, 3 * PAGE, RW, MAP_PRIVATE, fd, 0).unwrap_or(0);
                    if a != 0 {
                        wr(a + 8, 0x66);
                        wr(a + 2 * PAGE + 8, 0x77);
                    }
                    a
                }
                TruncMap::PrivateInheritedWritten => pm,
            };
            if a == 0 {
                exit(2);
            }
            // SAFETY: the report page.
            unsafe {
                slot(R_ADDR).write_volatile(a + 2 * PAGE + 8);
                slot(R_P0_BEFORE).write_volatile(rd(a + 8) as usize);
                slot(R_P2_BEFORE).write_volatile(rd(a + 2 * PAGE + 8) as usize);
            }
            let _ = write(c2p_w, b"t");
            let mut b = [0u8; 1];
            if read(p2c_r, &mut b) != Ok(1) {
                exit(3);
            }
            // SAFETY: the report page.
            unsafe { slot(R_P0_AFTER).write_volatile(rd(a + 8) as usize) };
            let v = fault::read(a + 2 * PAGE + 8);
            // SAFETY: the report page.
            unsafe { slot(R_SURVIVED).write_volatile(0x100 | (v & 0xff)) };
            exit(1)
        }
        Ok(pid) => pid,
        Err(e) => {
            check_detail("fork", false, format_args!("{}", name(e)));
            return;
        }
    };
    let _ = (close(c2p_w), close(p2c_r));
    let mut b = [0u8; 1];
    let told = read(c2p_r, &mut b);
    res(
        &Fmt(format_args!("{what}: ftruncate(4096) by the parent")).s(),
        ftruncate(fd, PAGE as u64),
        Ok(0),
    );
    wr(m + 8, 0xa5);
    let _ = write(p2c_w, b"g");
    let st = waitpid(pid as isize).map(|(_, s)| s).unwrap_or(-1);
    let _ = (close(c2p_r), close(p2c_w));
    // SAFETY: the report page.
    let r = |i: usize| unsafe { slot(i).read_volatile() };
    let private_copy0 = how == TruncMap::PrivateOwnWritten;
    let p2 = if matches!(how, TruncMap::SharedOwn | TruncMap::SharedInherited) {
        3
    } else {
        0x77
    };
    let (mut got, mut want) = (StrBuf::default(), StrBuf::default());
    let _ = write!(
        got,
        "{:#x} {:#x} (pipe read {})",
        r(R_P0_BEFORE),
        r(R_P2_BEFORE),
        R(told)
    );
    let _ = write!(
        want,
        "{:#x} {:#x} (pipe read 1)",
        if private_copy0 { 0x66 } else { 1 },
        p2
    );
    same(
        &Fmt(format_args!(
            "{what}: the child read pages 0 and 2 before it"
        ))
        .s(),
        got,
        want,
    );
    same(
        &Fmt(format_args!(
            "{what}: page 0 in the child after it ({})",
            if private_copy0 {
                "its private copy"
            } else {
                "the parent's later store"
            }
        ))
        .s(),
        r(R_P0_AFTER),
        if private_copy0 { 0x66 } else { 0xa5 },
    );
    let mut got = StrBuf::default();
    let _ = write!(
        got,
        "signo {}, si_code {}, addr {}, {}",
        r(0),
        r(1),
        if r(2) == r(R_ADDR) { "ok" } else { "WRONG" },
        WaitStatus(st)
    );
    if r(R_SURVIVED) != 0 {
        let _ = write!(got, ", survived reading {:#x}", r(R_SURVIVED) & 0xff);
    }
    same(
        &Fmt(format_args!("{what}: the child touching page 2 after it")).s(),
        got,
        "signo 7, si_code 2, addr ok, exit 42 (status 0x2a00)".to_string_fixed(),
    );
    if pm != 0 {
        let _ = munmap(pm, 3 * PAGE);
    }
    let _ = munmap(m, 3 * PAGE);
    let _ = close(fd);
    let _ = unlink(path);
}

fn truncate_other() {
    trunc_case(
        "truncate in another process, child's own MAP_SHARED",
        TruncMap::SharedOwn,
    );
    trunc_case(
        "truncate in another process, inherited MAP_SHARED",
        TruncMap::SharedInherited,
    );
    trunc_case(
        "truncate in another process, child's own MAP_PRIVATE, pages 0 and 2 written by it",
        TruncMap::PrivateOwnWritten,
    );
    trunc_case(
        "truncate in another process, inherited MAP_PRIVATE, page 2 written before fork",
        TruncMap::PrivateInheritedWritten,
    );
}

// ---------------------------------------------------------------------------------------

fn access() {
    let fd = make_file(c"/tmp/fm/acc", PAGE, |_| 0x61);
    let _ = close(fd);
    let ro = open(c"/tmp/fm/acc", O_RDONLY, 0).unwrap_or(-1);
    res(
        "MAP_SHARED|PROT_WRITE of an O_RDONLY fd",
        mmap(0, PAGE, RW, MAP_SHARED, ro, 0),
        Err(EACCES),
    );
    match mmap(0, PAGE, PROT_READ, MAP_SHARED, ro, 0) {
        Ok(m) => {
            check("MAP_SHARED|PROT_READ of an O_RDONLY fd", true);
            res(
                "then mprotect(PROT_READ|PROT_WRITE)",
                mprotect(m, PAGE, RW),
                Err(EACCES),
            );
            res(
                "mprotect(PROT_READ) is fine",
                mprotect(m, PAGE, PROT_READ),
                Ok(0),
            );
            let _ = munmap(m, PAGE);
        }
        Err(e) => {
            check_detail(
                "MAP_SHARED|PROT_READ of an O_RDONLY fd",
                false,
                format_args!("{}", name(e)),
            );
        }
    }
    match mmap(0, PAGE, RW, MAP_PRIVATE, ro, 0) {
        Ok(m) => {
            check("MAP_PRIVATE|PROT_WRITE of an O_RDONLY fd is allowed", true);
            wr(m, 0x62);
            same("its store reads back", rd(m), 0x62);
            same(
                "and the file is unchanged",
                hex_opt(pread_byte(ro, 0)),
                hex_opt(Some(0x61)),
            );
            let _ = munmap(m, PAGE);
        }
        Err(e) => {
            check_detail(
                "MAP_PRIVATE|PROT_WRITE of an O_RDONLY fd",
                false,
                format_args!("{}", name(e)),
            );
        }
    }
    let _ = close(ro);
    let wo = open(c"/tmp/fm/acc", O_WRONLY, 0).unwrap_or(-1);
    res(
        "MAP_SHARED|PROT_WRITE of an O_WRONLY fd",
        mmap(0, PAGE, PROT_WRITE, MAP_SHARED, wo, 0),
        Err(EACCES),
    );
    res(
        "MAP_SHARED|PROT_READ of an O_WRONLY fd",
        mmap(0, PAGE, PROT_READ, MAP_SHARED, wo, 0),
        Err(EACCES),
    );
    res(
        "MAP_PRIVATE|PROT_READ of an O_WRONLY fd",
        mmap(0, PAGE, PROT_READ, MAP_PRIVATE, wo, 0),
        Err(EACCES),
    );
    let _ = close(wo);
    res(
        "mmap of a closed fd",
        mmap(0, PAGE, PROT_READ, MAP_SHARED, wo, 0),
        Err(EBADF),
    );
    let d = open(c"/tmp/fm", O_RDONLY | O_DIRECTORY, 0).unwrap_or(-1);
    res(
        "mmap of a directory",
        mmap(0, PAGE, PROT_READ, MAP_PRIVATE, d, 0),
        Err(ENODEV),
    );
    let _ = close(d);
}

// ---------------------------------------------------------------------------------------

fn offsets() {
    let fd = make_file(c"/tmp/fm/off", 3 * PAGE, |i| 0x10 + (i / PAGE) as u8);
    let a = map(PAGE, PROT_READ, MAP_SHARED, fd, PAGE as u64);
    same(
        "mapping at offset 4096 shows page 1",
        rd(a) == 0x11 && rd(a + 4095) == 0x11,
        true,
    );
    let b = map(2 * PAGE, PROT_READ, MAP_PRIVATE, fd, PAGE as u64);
    same(
        "2 pages at offset 4096: 0x11 then 0x12",
        Pair(rd(b), rd(b + PAGE)),
        Pair(0x11, 0x12),
    );
    let c = map(PAGE, PROT_READ, MAP_SHARED, fd, 2 * PAGE as u64);
    same("mapping at offset 8192 shows page 2", rd(c + 7), 0x12);
    res(
        "mapping at offset 5 pages of a 3-page file (past EOF) succeeds",
        mmap(0, PAGE, PROT_READ, MAP_SHARED, fd, 5 * PAGE as u64).map(|a| {
            let _ = munmap(a, PAGE);
            0
        }),
        Ok(0),
    );
    #[cfg(target_arch = "aarch64")]
    {
        res(
            "mmap with byte offset 100 (not page aligned)",
            mmap(0, PAGE, PROT_READ, MAP_SHARED, fd, 100),
            Err(EINVAL),
        );
        res(
            "mmap with byte offset 4095",
            mmap(0, PAGE, PROT_READ, MAP_PRIVATE, fd, 4095),
            Err(EINVAL),
        );
    }
    #[cfg(target_arch = "arm")]
    {
        // mmap2's offset is in 4096-byte units: an unaligned offset cannot be expressed.
        // The byte-offset old_mmap (90) is OABI-only, not in an EABI kernel.
        let args = [
            0usize,
            PAGE,
            PROT_READ as usize,
            MAP_SHARED as usize,
            fd as usize,
            100,
        ];
        // SAFETY: old_mmap reads its six arguments from `args`; it is expected to be absent.
        let r = decode(unsafe { syscall1(nr::OABI_OLD_MMAP, args.as_ptr() as usize) });
        res(
            "ARM: old_mmap (90, byte offset 100) is OABI-only",
            r,
            Err(ENOSYS),
        );
    }
    let _ = munmap(a, PAGE);
    let _ = munmap(b, 2 * PAGE);
    let _ = munmap(c, PAGE);
    let _ = close(fd);
}

#[derive(PartialEq)]
struct Pair(u8, u8);
impl Display for Pair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#04x} {:#04x}", self.0, self.1)
    }
}
// ---------------------------------------------------------------------------------------

fn msync_rules() {
    let fd = make_file(c"/tmp/fm/sync", 3 * PAGE, pattern);
    let m = map(3 * PAGE, RW, MAP_SHARED, fd, 0);
    wr(m + 5, 0x5e);
    res("msync(MS_SYNC)", msync(m, 3 * PAGE, MS_SYNC), Ok(0));
    same(
        "after MS_SYNC read sees the store",
        hex_opt(pread_byte(fd, 5)),
        hex_opt(Some(0x5e)),
    );
    res("msync(MS_ASYNC)", msync(m, 3 * PAGE, MS_ASYNC), Ok(0));
    res(
        "msync(MS_INVALIDATE)",
        msync(m, 3 * PAGE, MS_INVALIDATE),
        Ok(0),
    );
    res(
        "msync(MS_SYNC|MS_INVALIDATE)",
        msync(m, 3 * PAGE, MS_SYNC | MS_INVALIDATE),
        Ok(0),
    );
    same(
        "the data is still there after MS_INVALIDATE",
        rd(m + 5),
        0x5e,
    );
    res(
        "msync(MS_SYNC|MS_ASYNC)",
        msync(m, PAGE, MS_SYNC | MS_ASYNC),
        Err(EINVAL),
    );
    res("msync(flag 8, unknown)", msync(m, PAGE, 8), Err(EINVAL));
    res(
        "msync(MS_SYNC) of an unaligned address",
        msync(m + 1, PAGE, MS_SYNC),
        Err(EINVAL),
    );
    res("msync(length 0)", msync(m, 0, MS_SYNC), Ok(0));
    res(
        "msync(length 100, rounded up)",
        msync(m, 100, MS_SYNC),
        Ok(0),
    );
    res("msync(flags 0)", msync(m, PAGE, 0), Ok(0));
    let _ = munmap(m + 2 * PAGE, PAGE);
    res(
        "msync over 3 pages, the last one unmapped",
        msync(m, 3 * PAGE, MS_SYNC),
        Err(ENOMEM),
    );
    res(
        "msync of an unmapped page",
        msync(m + 2 * PAGE, PAGE, MS_ASYNC),
        Err(ENOMEM),
    );
    let an = mmap_anon(PAGE, RW).unwrap_or(0);
    res(
        "msync(MS_SYNC) of private anonymous memory",
        msync(an, PAGE, MS_SYNC),
        Ok(0),
    );
    let _ = munmap(an, PAGE);
    let _ = munmap(m, 2 * PAGE);
    let _ = close(fd);
}

// ---------------------------------------------------------------------------------------

fn dontneed() {
    let sa = mmap(0, PAGE, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0).unwrap_or(0);
    wr(sa + 1, 0x42);
    res(
        "madvise(DONTNEED) shared anonymous",
        madvise(sa, PAGE, MADV_DONTNEED),
        Ok(0),
    );
    same("shared anonymous data kept", rd(sa + 1), 0x42);
    let _ = munmap(sa, PAGE);

    let fd = make_file(c"/tmp/fm/dn", 2 * PAGE, pattern);
    let s = map(2 * PAGE, RW, MAP_SHARED, fd, 0);
    wr(s + 50, 0x43);
    res(
        "madvise(DONTNEED) shared file",
        madvise(s, 2 * PAGE, MADV_DONTNEED),
        Ok(0),
    );
    same("shared file data kept (mapping)", rd(s + 50), 0x43);
    same(
        "shared file data kept (pread)",
        hex_opt(pread_byte(fd, 50)),
        hex_opt(Some(0x43)),
    );
    let p = map(2 * PAGE, RW, MAP_PRIVATE, fd, 0);
    wr(p + 60, 0x44);
    same(
        "private file mapping: the store reads back",
        rd(p + 60),
        0x44,
    );
    res(
        "madvise(DONTNEED) private file",
        madvise(p, 2 * PAGE, MADV_DONTNEED),
        Ok(0),
    );
    same(
        "private file mapping: the store is dropped, the file's byte is back",
        rd(p + 60),
        pattern(60),
    );
    same(
        "private file mapping: the shared store shows",
        rd(p + 50),
        0x43,
    );
    let _ = munmap(s, 2 * PAGE);
    let _ = munmap(p, 2 * PAGE);
    let _ = close(fd);
}

// ---------------------------------------------------------------------------------------

fn vec_str(v: &[u8]) -> StrBuf {
    let mut s = StrBuf::default();
    for (i, b) in v.iter().enumerate() {
        let _ = write!(s, "{}{}", if i > 0 { " " } else { "" }, b & 1);
    }
    s
}

fn mincore_rules() {
    let mut v = [0xffu8; 4];
    let an = mmap_anon(2 * PAGE, RW).unwrap_or(0);
    res(
        "mincore(private anonymous, 2 pages)",
        mincore(an, 2 * PAGE, &mut v),
        Ok(0),
    );
    same("untouched", vec_str(&v[..2]), "0 0".to_string_fixed());
    wr(an + PAGE + 1, 1);
    let _ = mincore(an, 2 * PAGE, &mut v);
    same(
        "after writing page 1",
        vec_str(&v[..2]),
        "0 1".to_string_fixed(),
    );
    res(
        "mincore(unaligned address)",
        mincore(an + 1, PAGE, &mut v),
        Err(EINVAL),
    );
    res("mincore(length 0)", mincore(an, 0, &mut v), Ok(0));
    let _ = munmap(an, 2 * PAGE);
    res(
        "mincore(unmapped range)",
        mincore(an, PAGE, &mut v),
        Err(ENOMEM),
    );

    let fd = make_file(c"/tmp/fm/core", 5000, pattern);
    let s = map(3 * PAGE, PROT_READ, MAP_SHARED, fd, 0);
    v = [0xff; 4];
    res(
        "mincore(shared file mapping, 3 pages of a 5000-byte file)",
        mincore(s, 3 * PAGE, &mut v),
        Ok(0),
    );
    same(
        "untouched: the page cache of the file just written (past EOF: not)",
        vec_str(&v[..3]),
        "1 1 0".to_string_fixed(),
    );
    let p = map(3 * PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
    v = [0xff; 4];
    let _ = mincore(p, 3 * PAGE, &mut v);
    same(
        "private file mapping, untouched",
        vec_str(&v[..3]),
        "1 1 0".to_string_fixed(),
    );
    res(
        "mlock(the shared file mapping, 2 pages)",
        mlock(s, 2 * PAGE),
        Ok(0),
    );
    res("munlock", munlock(s, 2 * PAGE), Ok(0));
    let _ = munmap(s, 3 * PAGE);
    let _ = munmap(p, 3 * PAGE);

    match mmap(
        0,
        2 * PAGE,
        RW,
        MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED,
        -1,
        0,
    ) {
        Ok(l) => {
            check("mmap(MAP_LOCKED) anonymous, 2 pages", true);
            v = [0xff; 4];
            let _ = mincore(l, 2 * PAGE, &mut v);
            same(
                "MAP_LOCKED: populated, untouched",
                vec_str(&v[..2]),
                "1 1".to_string_fixed(),
            );
            res("munlock of it", munlock(l, 2 * PAGE), Ok(0));
            let _ = munmap(l, 2 * PAGE);
        }
        Err(e) => {
            check_detail(
                "mmap(MAP_LOCKED) anonymous, 2 pages",
                false,
                format_args!("{}", name(e)),
            );
        }
    }
    match mmap(0, 2 * PAGE, PROT_READ, MAP_SHARED | MAP_LOCKED, fd, 0) {
        Ok(l) => {
            check("mmap(MAP_LOCKED) of the file", true);
            same("it reads the file", rd(l + 4000), pattern(4000));
            let _ = munmap(l, 2 * PAGE);
        }
        Err(e) => {
            check_detail(
                "mmap(MAP_LOCKED) of the file",
                false,
                format_args!("{}", name(e)),
            );
        }
    }
    let _ = close(fd);
}

// ---------------------------------------------------------------------------------------

fn read_maps() -> Option<&'static str> {
    let fd = match open(c"/proc/self/maps", O_RDONLY, 0) {
        Ok(fd) => fd,
        Err(ENOENT) => {
            let _ = mkdir(c"/proc", 0o555);
            let _ = mount(c"proc", c"/proc", c"proc", 0);
            open(c"/proc/self/maps", O_RDONLY, 0).ok()?
        }
        Err(_) => return None,
    };
    // SAFETY: the only user of MAPS, single-threaded; the previous result is dead.
    let b = unsafe { &mut *(&raw mut MAPS) };
    let mut n = 0;
    while n < b.len() {
        match read(fd, &mut b[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    let _ = close(fd);
    core::str::from_utf8(&b[..n]).ok()
}

/// The maps line starting at `addr`, split: (perms, offset, "MJ:MN", inode, name).
fn maps_line(maps: &'static str, addr: usize) -> Option<[&'static str; 5]> {
    let l = maps.lines().find(|l| {
        l.split_once('-')
            .and_then(|(a, _)| usize::from_str_radix(a, 16).ok())
            == Some(addr)
    })?;
    let mut it = l.split(' ').filter(|w| !w.is_empty());
    let _range = it.next()?;
    let perms = it.next()?;
    let off = it.next()?;
    let dev = it.next()?;
    let ino = it.next()?;
    // The name is the rest of the line after the inode (it may hold a space).
    let name_start = l.find(ino).map(|i| i + ino.len())?;
    Some([perms, off, dev, ino, l[name_start..].trim_start()])
}

fn maps_checks(
    what: &str,
    addr: usize,
    st: &Stat,
    want_perms: &str,
    want_off: &str,
    want_name: &str,
) {
    let Some(maps) = read_maps() else {
        check("read /proc/self/maps", false);
        return;
    };
    let Some([perms, off, dev, ino, name]) = maps_line(maps, addr) else {
        check_detail(what, false, format_args!("no maps line at the mapping"));
        return;
    };
    println!("maps: XXXXXXXX-XXXXXXXX {perms} {off} MJ:MN INODE {name}");
    let mut w = StrBuf::default();
    let _ = write!(w, "{perms} {off} {name}");
    let mut e = StrBuf::default();
    let _ = write!(e, "{want_perms} {want_off} {want_name}");
    same(what, w, e);
    let mut d = StrBuf::default();
    let _ = write!(d, "{:02x}:{:02x}", st.dev_major(), st.dev_minor());
    check_detail(
        "maps dev ok (st_dev's major:minor)",
        dev == d.as_str(),
        format_args!("{dev} vs fstat {d}"),
    );
    check_detail(
        "maps ino ok (st_ino)",
        ino.parse::<u64>() == Ok(st.ino),
        format_args!("{ino} vs fstat {}", st.ino),
    );
}

impl StrBuf {
    fn as_str(&self) -> &str {
        core::str::from_utf8(&self.0[..self.1]).unwrap_or("?")
    }
}

fn maps_and_unlink() {
    let fd = make_file(c"/tmp/fm/mapped", 3 * PAGE, pattern);
    let st = fstat(fd).unwrap_or_default();
    let s = map(2 * PAGE, RW, MAP_SHARED, fd, PAGE as u64);
    let p = map(PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
    maps_checks(
        "maps line of MAP_SHARED RW at offset 4096",
        s,
        &st,
        "rw-s",
        "00001000",
        "/tmp/fm/mapped",
    );
    maps_checks(
        "maps line of MAP_PRIVATE PROT_READ at offset 0",
        p,
        &st,
        "r--p",
        "00000000",
        "/tmp/fm/mapped",
    );
    res(
        "unlink of the mapped file",
        unlink(c"/tmp/fm/mapped"),
        Ok(0),
    );
    res(
        "open after unlink",
        open(c"/tmp/fm/mapped", O_RDONLY, 0).map(|f| f as usize),
        Err(ENOENT),
    );
    same(
        "fstat after unlink: st_nlink",
        fstat(fd).map(|s| s.nlink).unwrap_or(99),
        0,
    );
    same(
        "the mapping still reads the file",
        rd(s + 10),
        pattern(PAGE + 10),
    );
    wr(s + 20, 0x6d);
    same(
        "a store through it still reaches the (unlinked) file",
        hex_opt(pread_byte(fd, (PAGE + 20) as u64)),
        hex_opt(Some(0x6d)),
    );
    maps_checks(
        "maps line after unlink",
        s,
        &st,
        "rw-s",
        "00001000",
        "/tmp/fm/mapped (deleted)",
    );
    let _ = close(fd);
    same("after close too, the mapping reads", rd(s + 20), 0x6d);
    let _ = munmap(s, 2 * PAGE);
    let _ = munmap(p, PAGE);
}

// ---------------------------------------------------------------------------------------

fn list_dir(path: &CStr) -> StrBuf {
    let mut out = StrBuf::default();
    let Ok(fd) = open(path, O_RDONLY | O_DIRECTORY, 0) else {
        let _ = write!(out, "(open failed)");
        return out;
    };
    // Names collected, then sorted (the order is the file system's).
    let mut names: [[u8; 16]; 16] = [[0; 16]; 16];
    let mut lens = [0usize; 16];
    let mut count = 0;
    let mut b = [0u8; 1024];
    loop {
        match getdents64(fd, &mut b) {
            Ok(0) => break,
            Ok(n) => for_each_dirent(&b[..n], |name, _ty| {
                if count < names.len() && name.len() <= 16 {
                    names[count][..name.len()].copy_from_slice(name);
                    lens[count] = name.len();
                }
                count += 1;
            }),
            Err(e) => {
                let _ = write!(out, "({}) ", name(e));
                break;
            }
        }
    }
    let _ = close(fd);
    let k = count.min(names.len());
    let mut idx: [usize; 16] = core::array::from_fn(|i| i);
    idx[..k].sort_unstable_by(|&a, &b| names[a][..lens[a]].cmp(&names[b][..lens[b]]));
    for (j, &i) in idx[..k].iter().enumerate() {
        let _ = write!(
            out,
            "{}{}",
            if j > 0 { " " } else { "" },
            core::str::from_utf8(&names[i][..lens[i]]).unwrap_or("?")
        );
    }
    if count > k {
        let _ = write!(out, " (+{})", count - k);
    }
    out
}

fn directories() {
    res("mkdir /tmp/fm/d", mkdir(c"/tmp/fm/d", 0o755), Ok(0));
    res("mkdir it again", mkdir(c"/tmp/fm/d", 0o755), Err(EEXIST));
    for (p, text) in [
        (c"/tmp/fm/d/one", &b"1"[..]),
        (c"/tmp/fm/d/two", &b"second"[..]),
        (c"/tmp/fm/d/three", &b"3"[..]),
    ] {
        let fd = openat(AT_FDCWD, p, O_CREAT | O_EXCL | O_WRONLY, 0o644).unwrap_or(-1);
        let _ = write(fd, text);
        let _ = close(fd);
    }
    same(
        "getdents64 of d (sorted)",
        list_dir(c"/tmp/fm/d"),
        ". .. one three two".to_string_fixed(),
    );
    res(
        "rename d/two -> d/zwei",
        rename(c"/tmp/fm/d/two", c"/tmp/fm/d/zwei"),
        Ok(0),
    );
    res(
        "open d/two after the rename",
        open(c"/tmp/fm/d/two", O_RDONLY, 0).map(|f| f as usize),
        Err(ENOENT),
    );
    let fd = open(c"/tmp/fm/d/zwei", O_RDONLY, 0).unwrap_or(-1);
    let mut b = [0u8; 16];
    let n = read(fd, &mut b).unwrap_or(0);
    let _ = close(fd);
    same(
        "d/zwei holds two's bytes",
        core::str::from_utf8(&b[..n]).unwrap_or("?"),
        "second",
    );
    res(
        "rename d/one over d/zwei (replaces it)",
        rename(c"/tmp/fm/d/one", c"/tmp/fm/d/zwei"),
        Ok(0),
    );
    let fd = open(c"/tmp/fm/d/zwei", O_RDONLY, 0).unwrap_or(-1);
    let n = read(fd, &mut b).unwrap_or(0);
    let _ = close(fd);
    same(
        "d/zwei now holds one's byte",
        core::str::from_utf8(&b[..n]).unwrap_or("?"),
        "1",
    );
    res("unlink d/three", unlink(c"/tmp/fm/d/three"), Ok(0));
    res(
        "unlink d/three again",
        unlink(c"/tmp/fm/d/three"),
        Err(ENOENT),
    );
    same(
        "getdents64 of d after rename and unlink (sorted)",
        list_dir(c"/tmp/fm/d"),
        ". .. zwei".to_string_fixed(),
    );
    res(
        "rmdir of the non-empty d",
        rmdir(c"/tmp/fm/d"),
        Err(ENOTEMPTY),
    );
    res("unlink of a directory", unlink(c"/tmp/fm/d"), Err(EISDIR));
    res(
        "open(d, O_RDWR)",
        open(c"/tmp/fm/d", O_RDWR, 0).map(|f| f as usize),
        Err(EISDIR),
    );
    res(
        "open(d/zwei/x): a file as a directory",
        open(c"/tmp/fm/d/zwei/x", O_RDONLY, 0).map(|f| f as usize),
        Err(ENOTDIR),
    );
    res("unlink d/zwei", unlink(c"/tmp/fm/d/zwei"), Ok(0));
    res("rmdir d, now empty", rmdir(c"/tmp/fm/d"), Ok(0));
    same(
        "getdents64 of /tmp/fm (sorted)",
        list_dir(c"/tmp/fm"),
        ". .. a acc bus core dn off priv shared shrink sync tail".to_string_fixed(),
    );
}
