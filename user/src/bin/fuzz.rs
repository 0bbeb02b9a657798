//! A syscall fuzzer with a page-by-page model of anonymous memory.
//!
//! `rdinit=/bin/fuzz seed=1234 count=100000 [mode=all|sys|mm] [maxmis=N] [wx=linux]`
//! (Linux hands `key=value` words of the kernel command line to init as its environment).
//! Without `seed=` the seed comes from the counter; it is printed first, so a run can be
//! replayed. `count` is the number of syscalls the fuzzer issues in total (probes included).
//!
//! Part 1 (`sys`, about 40 % of the count): random syscall numbers with edge-case arguments
//! (0, -1, unaligned, kernel addresses, the last page, huge lengths, every flag bit). The
//! kernel may answer anything in Linux's errno range or succeed; calls whose answer Linux
//! fixes (a kernel pointer passed to `read`/`write`/`open` → `EFAULT`, ...) are checked.
//! Destructive memory calls only ever name the fuzzer's arena or addresses where they must
//! fail, so the fuzzer's own text, stack and model survive whatever the kernel does.
//!
//! Part 2 (`mm`): random `mmap`/`munmap`/`mprotect`/`madvise`/`mremap`/`brk` inside a 64 MiB
//! arena, each result checked against a model that knows per page whether it is mapped, its
//! protection, whether it is shared and what it holds. Pages are probed without faulting:
//! `open(page + 4095)` reads one byte of user memory (every content the model writes keeps
//! byte 4095 zero, so a readable page gives `ENOENT` for the empty path and an unreadable
//! one `EFAULT`); `read(/dev/zero, page, n)` writes (`EFAULT` if the first page is not
//! writable, else the bytes up to the first non-writable page). Real loads and stores only
//! where the model allows them. The expectations are Linux 6.1's (man pages, mm/*.c);
//! `PROT_WRITE|PROT_EXEC` → `EACCES` is armmu's W^X policy (`wx=linux` expects Linux).
//!
//! Ends with `fuzz: seed S, N syscalls, M model checks, 0 mismatches` and status 0; the
//! first mismatch prints `fuzz: MISMATCH at step K: ...` and exits 1 (`maxmis=N` goes on
//! to N mismatches).
#![no_std]
#![no_main]

use armmu_user::errno::*;
use armmu_user::sys::*;
use armmu_user::{decode, entry, println, syscall6, Args, Res, KERNEL_ADDR, PAGE};
use core::fmt;

entry!(main);

const MIB: usize = 1 << 20;
/// The arena: 64 MiB of user space the fuzzer owns (nothing else lives there).
const ARENA_PAGES: usize = 16384;
const ARENA_LEN: usize = ARENA_PAGES * PAGE;
/// How far the model lets `brk` move above its start.
const BRK_PAGES: usize = 2048;

/// First address above user space (armmu's TASK_SIZE; Linux's is higher on both, so only
/// addresses at or above [`KERNEL_ADDR`] get Linux-derived "must fail" expectations).
/// `user_top=0x...` overrides it (Linux ARM: 0xbf000000).
#[cfg(target_arch = "arm")]
const USER_TOP_DEFAULT: usize = 0x8000_0000;
#[cfg(target_arch = "aarch64")]
const USER_TOP_DEFAULT: usize = 0x0000_0080_0000_0000;

static USER_TOP_CELL: core::sync::atomic::AtomicUsize =
    core::sync::atomic::AtomicUsize::new(USER_TOP_DEFAULT);

fn user_top() -> usize {
    USER_TOP_CELL.load(core::sync::atomic::Ordering::Relaxed)
}

/// Addresses in kernel space (or beyond any user space), for Linux as for armmu.
#[cfg(target_arch = "arm")]
const KADDRS: &[usize] = &[
    KERNEL_ADDR,
    0xC000_0001,
    0xC000_8000,
    0xE000_0000,
    0xFFFF_0000,
    0xFFFF_F000,
    0xFFFF_FFFF,
];
#[cfg(target_arch = "aarch64")]
const KADDRS: &[usize] = &[
    KERNEL_ADDR,
    0xFFFF_FF80_0000_0000,
    0xFFFF_FFC0_0000_0000,
    0xFFFF_FFC0_0000_0001,
    0xFFFF_FFE0_0000_0000,
    0xFFFF_FFFF_FFFF_F000,
    0xFFFF_FFFF_FFFF_FFFF,
    // Not 0x8000_0000_0000_0000: with bit 55 clear it is a tagged *user* address (TBI),
    // and Linux untags the address of munmap/mprotect/madvise/mremap/brk: munmap of it is
    // munmap(0, ..) = 0 there.
];

/// Syscall numbers that are called through their own generators (their arguments must be
/// kept away from the fuzzer's memory) or never (they end, block, replace or signal the
/// process on Linux, or change state the fuzzer relies on). Unimplemented on armmu today,
/// but the fuzzer must stay valid as the kernel grows.
#[cfg(target_arch = "arm")]
mod nr {
    pub const MREMAP: usize = 163;
    pub const DENY: &[usize] = &[
        1, 2, 3, 11, 21, 26, 29, 36, 37, 38, 52, 61, 63, 67, 72, 75, 87, 88, 103, 104, 114, 115,
        119, 120, 128, 129, 136, 142, 145, 154, 156, 162, 163, 168, 172, 173, 174, 177, 178, 179,
        180, 187, 190, 238, 239, 240, 248, 250, 251, 252, 253, 257, 258, 265, 268, 277, 280, 285,
        291, 292, 297, 298, 301, 305, 312, 335, 336, 340, 342, 343, 346, 347, 358, 361, 363, 365,
        366, 369, 377, 378, 379, 380, 383, 384, 387, 391, 392, 394, 398, 407, 413, 414, 417, 420,
        422, 424, 435, 436, 441,
        // sends that block on a full socket/queue, msgrcv, mq_timedsend, userfaultfd,
        // mlockall (every later mapping populated)
        152, 276, 289, 290, 296, 302, 370, 388,
    ];
    /// ARM private calls that return (0xf0000 "branch through zero", 0xf0001 breakpoint,
    /// usr26/usr32 and anything above 0xf07ff are signals on Linux).
    pub const PRIVATE_OK: &[usize] = &[0xf0002, 0xf0005, 0xf0006, 0xf0007, 0xf07ff];
    pub const MAX: usize = 460;
}
#[cfg(target_arch = "aarch64")]
mod nr {
    pub const MREMAP: usize = 216;
    pub const DENY: &[usize] = &[
        22, 23, 24, 32, 39, 40, 51, 63, 65, 67, 69, 71, 72, 73, 75, 76, 77, 89, 92, 93, 94, 95, 98,
        101, 103, 104, 105, 106, 107, 110, 115, 116, 117, 118, 119, 129, 130, 131, 133, 134, 137,
        138, 139, 142, 164, 167, 188, 192, 193, 196, 202, 207, 212, 216, 220, 221, 224, 225, 234,
        240, 242, 243, 260, 261, 270, 271, 273, 274, 277, 278, 281, 285, 286, 288, 293, 294, 422,
        424, 435, 436, 441,
        // sends that block on a full socket/queue, msgsnd, mq_timedsend/receive, userfaultfd,
        // mlockall
        182, 183, 189, 206, 211, 230, 269, 282,
    ];
    pub const PRIVATE_OK: &[usize] = &[];
    pub const MAX: usize = 460;
}

const MREMAP_MAYMOVE: usize = 1;
const MREMAP_FIXED: usize = 2;
const MREMAP_DONTUNMAP: usize = 4;

const MADV_WILLNEED: usize = 3;
const MADV_DONTNEED_: usize = 4;

// ---------------------------------------------------------------------------------------
// PRNG
// ---------------------------------------------------------------------------------------

/// xorshift64* (Vigna): small, fast, good enough to pick test cases.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        // splitmix64 of the seed, so seeds 0, 1, 2... give unrelated streams (never 0).
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn word(&mut self) -> usize {
        self.next() as usize
    }
    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        ((self.next() >> 11) % n as u64) as usize
    }
    /// True with probability `pct` %.
    fn pct(&mut self, pct: usize) -> bool {
        self.below(100) < pct
    }
    fn pick<T: Copy>(&mut self, s: &[T]) -> T {
        s[self.below(s.len())]
    }
}

// ---------------------------------------------------------------------------------------
// Page contents
// ---------------------------------------------------------------------------------------

/// Word `i` of a page filled with content `seed` (seed 0 = zero page). The last word's top
/// byte, page byte 4095, is always zero: the `open` probe reads exactly that byte.
fn content_word(seed: u32, i: usize) -> u32 {
    if seed == 0 {
        return 0;
    }
    let mut x = seed ^ (i as u32).wrapping_mul(0x9E37_79B9);
    x ^= x >> 16;
    x = x.wrapping_mul(0x7FEB_352D);
    x ^= x >> 15;
    if i == PAGE / 4 - 1 {
        x &= 0x00FF_FFFF;
    }
    x
}

/// Fill a page with content `seed`.
///
/// # Safety
/// `page` is a mapped, writable page that aliases no Rust object.
unsafe fn fill_page(page: usize, seed: u32) {
    for i in 0..PAGE / 4 {
        // SAFETY: inside the page the caller vouched for.
        unsafe { core::ptr::write_volatile((page + 4 * i) as *mut u32, content_word(seed, i)) };
    }
}

/// Compare words of a page with content `seed`: all of them or a sample.
///
/// # Safety
/// `page` is a mapped, readable page.
unsafe fn check_page(
    page: usize,
    seed: u32,
    full: bool,
    rng: &mut Rng,
) -> Result<(), (usize, u32, u32)> {
    let one = |i: usize| {
        // SAFETY: inside the page the caller vouched for.
        let got = unsafe { core::ptr::read_volatile((page + 4 * i) as *const u32) };
        let want = content_word(seed, i);
        if got == want {
            Ok(())
        } else {
            Err((4 * i, got, want))
        }
    };
    if full {
        for i in 0..PAGE / 4 {
            one(i)?;
        }
    } else {
        one(0)?;
        one(PAGE / 4 - 1)?;
        one(rng.below(PAGE / 4))?;
        one(rng.below(PAGE / 4))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------

/// One page of the arena as Linux must see it.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Page {
    mapped: bool,
    shared: bool,
    prot: u8,
    /// Which mapping the page came from: pages of one mapping with the same prot are one
    /// VMA (Linux merges them back after mprotect); different origins may or may not be.
    origin: u32,
    /// Content seed (0: zeros).
    content: u32,
    /// Its VMA was split by an mprotect: Linux may not merge the pieces back (pieces that
    /// got different anon_vmas on their first faults stay separate VMAs), so an mremap
    /// across them may find two VMAs (EFAULT).
    fragile: bool,
}

const UNMAPPED: Page = Page {
    mapped: false,
    shared: false,
    prot: 0,
    origin: 0,
    content: 0,
    fragile: false,
};

impl Page {
    /// Readable through the kernel (and by the CPU): on ARM and arm64 any of R, W, X
    /// makes a page readable; PROT_NONE is the only unreadable protection.
    fn readable(&self) -> bool {
        self.mapped && self.prot & 7 != 0
    }
    fn writable(&self) -> bool {
        self.mapped && self.prot & PROT_WRITE as u8 != 0
    }
    /// Same VMA as `o`, as far as the model can tell.
    fn same_vma(&self, o: &Page) -> bool {
        self.mapped
            && o.mapped
            && self.origin == o.origin
            && self.prot == o.prot
            && self.shared == o.shared
    }
}

struct Fuzz {
    rng: Rng,
    seed: u64,
    count: u64,
    step: u64,
    nsys: u64,
    nchecks: u64,
    mismatches: u64,
    maxmis: u64,
    wx_linux: bool,
    /// `trace=1`: print every syscall of the run (for replaying a mismatch).
    trace: bool,
    devnull: i32,
    devzero: i32,
    /// An fd that is never open (EBADF).
    closed_fd: i32,
    arena: usize,
    model: &'static mut [Page],
    /// brk: where it started (page aligned up), where it is, page contents above the start.
    brk0: usize,
    brk_raw0: usize,
    brk: usize,
    brk_pages: &'static mut [u32],
    next_origin: u32,
    next_seed: u32,
    mremap_enosys: u64,
    /// The break is not where the model has it (after a mismatch): brk steps stop.
    brk_broken: bool,
    /// Part-1 mappings found outside the arena (returned by non-fixed mmap/mremap).
    stray: u64,
}

/// A message formatted on the stack (the model may be borrowed while it is written).
struct Msg {
    buf: [u8; 400],
    len: usize,
}

impl Msg {
    fn format(args: fmt::Arguments) -> Msg {
        let mut m = Msg {
            buf: [0; 400],
            len: 0,
        };
        let _ = fmt::Write::write_fmt(&mut m, args);
        m
    }
    fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("?")
    }
}

impl fmt::Write for Msg {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &b in s.as_bytes() {
            if self.len < self.buf.len() && b.is_ascii() {
                self.buf[self.len] = b;
                self.len += 1;
            }
        }
        Ok(())
    }
}

/// Report a mismatch (formatted before the fuzzer is borrowed mutably).
macro_rules! mismatch {
    ($f:expr, $($arg:tt)*) => {{
        let m = Msg::format(format_args!($($arg)*));
        $f.mismatch(&m);
    }};
}

/// Check a result against the only acceptable one; true if it matched.
macro_rules! expect {
    ($f:expr, $got:expr, $want:expr, $($arg:tt)*) => {{
        let (g, w): (Result<usize, i32>, Result<usize, i32>) = ($got, $want);
        $f.nchecks += 1;
        if g != w {
            mismatch!($f, "{}: got {}, want {}", format_args!($($arg)*), Res(g), Res(w));
            false
        } else {
            true
        }
    }};
}

impl Fuzz {
    fn sc(&mut self, n: usize, a: [usize; 6]) -> isize {
        self.nsys += 1;
        if self.trace {
            println!(
                "  {} sys {n}({:#x}, {:#x}, {:#x}, {:#x}, {:#x}, {:#x})",
                self.step, a[0], a[1], a[2], a[3], a[4], a[5]
            );
        }
        // SAFETY: every caller keeps the arguments of calls that write memory or change
        // mappings inside the arena or at addresses where the call must fail; see the
        // generators. Unknown calls get no pointer to the fuzzer's own memory.
        let r = unsafe { syscall6(n, a[0], a[1], a[2], a[3], a[4], a[5]) };
        if self.trace {
            println!("    = {}", Res(decode(r)));
        }
        r
    }
    fn scr(&mut self, n: usize, a: [usize; 6]) -> Result<usize, i32> {
        decode(self.sc(n, a))
    }

    fn mismatch(&mut self, what: &Msg) {
        self.mismatches += 1;
        println!(
            "fuzz: MISMATCH at step {} (seed {}): {}",
            self.step,
            self.seed,
            what.as_str()
        );
        if self.mismatches >= self.maxmis {
            self.summary();
            armmu_user::exit(1);
        }
    }

    fn summary(&self) {
        println!(
            "fuzz: seed {}, {} syscalls, {} model checks, {} mismatches",
            self.seed, self.nsys, self.nchecks, self.mismatches
        );
    }

    fn new_seed(&mut self) -> u32 {
        self.next_seed = self.next_seed.wrapping_add(0x9E37_79B9) | 1;
        self.next_seed
    }

    fn mmap_raw(
        &mut self,
        addr: usize,
        len: usize,
        prot: usize,
        flags: usize,
        fd: isize,
        off: usize,
    ) -> Result<usize, i32> {
        #[cfg(target_arch = "arm")]
        let n = MMAP2;
        #[cfg(target_arch = "aarch64")]
        let n = MMAP;
        self.scr(n, [addr, len, prot, flags, fd as usize, off])
    }

    // -----------------------------------------------------------------------------------
    // Part 1: random syscalls
    // -----------------------------------------------------------------------------------

    /// An address for calls that only read user memory or must fail.
    fn any_addr(&mut self) -> usize {
        let r = &mut self.rng;
        match r.below(12) {
            0 => 0,
            1 => r.pick(KADDRS),
            2 => r.pick(KADDRS) + r.below(PAGE),
            3 => user_top() - r.pick(&[1, 4, PAGE, PAGE + 1]),
            4 => usize::MAX - r.below(2 * PAGE),
            5 => r.word(),
            6 => 1 + r.below(0xffff),
            // Arena addresses at least 1 MiB below its end: a call that writes up to
            // 1 MiB (armmu caps read/write there) stays in the arena.
            _ => {
                (self.arena + self.rng.below(ARENA_LEN - MIB))
                    & !self.rng.pick(&[0, 0, 3, PAGE - 1])
            }
        }
    }

    /// An address where memory may be written or mappings changed: the arena (leaving `len`
    /// room when `len` is given) or addresses where the call must fail.
    fn scratch_addr(&mut self, room: usize) -> usize {
        if self.rng.pct(25) {
            return self.bad_addr();
        }
        let room = room.min(ARENA_LEN);
        let span = (ARENA_LEN - room).max(1);
        let a = self.arena + self.rng.below(span);
        if self.rng.pct(80) {
            a & !(PAGE - 1)
        } else {
            a
        }
    }

    /// An address no user call may touch (kernel space, the last page, beyond user space).
    fn bad_addr(&mut self) -> usize {
        let r = &mut self.rng;
        match r.below(4) {
            0 => r.pick(KADDRS),
            1 => r.pick(KADDRS) & !(PAGE - 1),
            2 => usize::MAX & !(PAGE - 1),
            _ => KADDRS[0] + (r.below((usize::MAX - KADDRS[0]) >> 12) << 12),
        }
    }

    fn any_len(&mut self) -> usize {
        let r = &mut self.rng;
        match r.below(10) {
            0 => 0,
            1 => r.pick(&[1, 3, 4095, 4096, 4097, 8191]),
            2 => usize::MAX - r.below(PAGE),
            3 => r.pick(&[
                usize::MAX / 2,
                usize::MAX / 2 + 1,
                0x7FFF_FFFF,
                0x8000_0000,
                1 << 30,
            ]),
            4 => r.word(),
            5 => MIB * (1 + r.below(4)),
            _ => 1 + r.below(4 * PAGE),
        }
    }

    /// A length for a call at `addr` that changes memory: small enough to stay inside the
    /// arena, or so large that the call must fail without doing anything.
    fn safe_len(&mut self, addr: usize) -> usize {
        let in_arena = addr >= self.arena && addr < self.arena + ARENA_LEN;
        if self.rng.pct(15) || !in_arena {
            // Wraps around (or reaches past any user space): refused before any change.
            return usize::MAX - self.rng.below(PAGE) - (addr & (PAGE - 1));
        }
        let room = self.arena + ARENA_LEN - addr;
        match self.rng.below(4) {
            0 => 0,
            1 => 1 + self.rng.below(room.min(16 * PAGE)),
            2 => 1 + self.rng.below(room),
            _ => (1 + self.rng.below(room / PAGE).min(64)) * PAGE,
        }
    }

    fn any_flags(&mut self) -> usize {
        let r = &mut self.rng;
        match r.below(6) {
            0 => 0,
            1 => 1 << r.below(usize::BITS as usize),
            2 => usize::MAX,
            3 => r.word(),
            4 => r.word() & 0xff,
            _ => r.word() & 0x1f_ffff,
        }
    }

    fn any_fd(&mut self) -> usize {
        let c = self.closed_fd as usize;
        let (n, z) = (self.devnull as usize, self.devzero as usize);
        let r = &mut self.rng;
        match r.below(8) {
            0 => usize::MAX,
            1 => c,
            2 => n,
            3 => z,
            4 => 1000 + r.below(1 << 20),
            5 => r.word(),
            6 => (-100isize) as usize,
            _ => 3 + r.below(8),
        }
    }

    fn any_arg(&mut self) -> usize {
        match self.rng.below(5) {
            0 => self.any_addr(),
            1 => self.any_len(),
            2 => self.any_flags(),
            3 => self.any_fd(),
            _ => self.rng.pick(&[
                0,
                1,
                2,
                usize::MAX,
                usize::MAX - 1,
                0x7FFF_FFFF,
                0x8000_0000,
                (-4096isize) as usize,
                (-4095isize) as usize,
            ]),
        }
    }

    fn sys_step(&mut self) {
        match self.rng.below(20) {
            0..=8 => self.sys_unknown(),
            9 | 10 => self.sys_write(),
            11 => self.sys_read(),
            12 => self.sys_open(),
            13 => self.sys_mmap(),
            14 => self.sys_munmap_mprotect_madvise(),
            15 => self.sys_mremap(),
            16 => self.sys_brk(),
            17 => self.sys_close_ioctl(),
            18 => self.sys_kernel_pointers(),
            _ => {
                // getpid, set_tid_address (never written through by a single thread)
                let me = self.scr(GETPID, [0; 6]);
                let a = self.any_addr();
                let t = self.scr(SET_TID_ADDRESS, [a, 0, 0, 0, 0, 0]);
                expect!(self, t, me, "set_tid_address({a:#x}) = getpid");
            }
        }
    }

    fn sys_unknown(&mut self) {
        let n = loop {
            let n = match self.rng.below(10) {
                0 if !nr::PRIVATE_OK.is_empty() => self.rng.pick(nr::PRIVATE_OK),
                1 => nr::MAX + self.rng.below(2000),
                2 if cfg!(target_arch = "aarch64") => self.rng.word() | (1 << 20),
                _ => self.rng.below(nr::MAX),
            };
            if !nr::DENY.contains(&n) && !implemented(n) {
                break n;
            }
        };
        let a = [
            self.any_arg(),
            self.any_arg(),
            self.any_arg(),
            self.any_arg(),
            self.any_arg(),
            self.any_arg(),
        ];
        let r = self.sc(n, a);
        self.nchecks += 1;
        // Linux: -4095..-1 is an errno; anything else is a success value. The only
        // structural check for unknown calls: the kernel came back and the fuzzer lives.
        let _ = decode(r);
    }

    /// A descriptor `read`/`write` cannot block on: /dev/null, /dev/zero, never open,
    /// invalid (descriptors random calls may have created, pipes or sockets on Linux, are
    /// left out).
    fn rw_fd(&mut self) -> usize {
        let c = self.closed_fd as usize;
        let (n, z) = (self.devnull as usize, self.devzero as usize);
        let r = &mut self.rng;
        r.pick(&[c, n, z, n, z, usize::MAX, (-100isize) as usize, 1 << 20])
    }

    fn sys_write(&mut self) {
        let fd = match self.rng.below(4) {
            0 => 1,
            1 => 2,
            _ => self.rw_fd(),
        };
        if fd <= 2 {
            // The console: only where Linux must fail before writing anything.
            let a = self.bad_addr();
            let len = 1 + self.rng.below(64);
            let r = self.scr(WRITE, [fd, a, len, 0, 0, 0]);
            expect!(self, r, Err(EFAULT), "write({fd}, {a:#x}, {len})");
            return;
        }
        let a = self.any_addr();
        let len = self.any_len();
        if self.rng.pct(70) {
            let r = self.scr(WRITE, [fd, a, len, 0, 0, 0]);
            if fd == self.devnull as usize && len != 0 && len <= 1 << 20 {
                // /dev/null never reads the buffer: the count comes back (Linux `write_null`);
                // unless the range is not even a user range (`access_ok` in vfs_write).
                if a.checked_add(len).is_some_and(|e| e <= user_top()) {
                    expect!(self, r, Ok(len), "write(/dev/null, {a:#x}, {len:#x})");
                }
            }
            if fd == self.closed_fd as usize {
                expect!(self, r, Err(EBADF), "write(closed fd)");
            }
        } else {
            let cnt = self.rng.pick(&[0, 1, 2, 1024, 1025, usize::MAX]);
            let _ = self.scr(WRITEV, [fd, a, cnt, 0, 0, 0]);
        }
    }

    fn sys_read(&mut self) {
        // Never the console (it blocks). /dev/zero writes: the buffer is scratch.
        let fd = self.rw_fd();
        let a = self.scratch_addr(MIB);
        // Inside the arena: a length that stays inside it or cannot be valid at all.
        let len = if a < KADDRS[0] {
            self.safe_len(a)
        } else {
            self.any_len()
        };
        let r = self.scr(READ, [fd, a, len, 0, 0, 0]);
        if fd == self.devzero as usize && len != 0 && KADDRS[0] <= a {
            expect!(self, r, Err(EFAULT), "read(/dev/zero, {a:#x}, {len:#x})");
        }
        if fd == self.devzero as usize
            && a.checked_add(len).is_none_or(|e| e > user_top())
            && a >= self.arena
            && len != 0
        {
            // vfs_read: `access_ok(buf, count)` fails for a range beyond user space.
            expect!(
                self,
                r,
                Err(EFAULT),
                "read(/dev/zero, {a:#x}, {len:#x}) beyond user space"
            );
        }
        if fd == self.devnull as usize && len != 0 {
            // /dev/null reads nothing: 0 (or EFAULT from access_ok for a non-user range).
            let ok = r == Ok(0) || r == Err(EFAULT);
            self.nchecks += 1;
            if !ok {
                mismatch!(self, "read(/dev/null, {a:#x}, {len:#x}): got {}", Res(r));
            }
        }
    }

    fn sys_open(&mut self) {
        let a = self.any_addr();
        let flags = self.any_flags();
        #[cfg(target_arch = "arm")]
        let r = self.scr(OPEN, [a, flags, 0o644, 0, 0, 0]);
        #[cfg(target_arch = "aarch64")]
        let r = {
            let dfd = if self.rng.pct(70) {
                AT_FDCWD as isize as usize
            } else {
                self.any_fd()
            };
            self.scr(OPENAT, [dfd, a, flags, 0o644, 0, 0])
        };
        if let Ok(fd) = r {
            let _ = self.scr(CLOSE, [fd, 0, 0, 0, 0, 0]);
        }
    }

    fn sys_mmap(&mut self) {
        let flags = self.any_flags() as u32 as usize;
        let fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) as usize != 0;
        let addr = if fixed {
            self.scratch_addr(0)
        } else {
            self.any_addr()
        };
        let len = if fixed {
            self.safe_len(addr)
        } else {
            self.any_len()
        };
        let prot = if self.rng.pct(70) {
            self.rng.below(8)
        } else {
            self.any_flags()
        };
        let fd = match self.rng.below(3) {
            0 => usize::MAX,
            1 => self.devzero as usize,
            _ => self.any_fd(),
        };
        let off = if self.rng.pct(70) { 0 } else { self.any_len() };
        // A large MAP_POPULATE|MAP_NORESERVE (or MAP_LOCKED) mapping is allowed on Linux
        // and then exhausts RAM: the OOM killer cannot kill init (panic). Not from here.
        let flags = if len > 16 * MIB {
            flags & !((MAP_POPULATE | 0x2000) as usize)
        } else {
            flags
        };
        let r = self.mmap_raw(addr, len, prot, flags, fd as isize, off);
        if let Ok(got) = r {
            self.stray_cleanup(got, len, addr, fixed);
        }
        if fixed && addr >= KADDRS[0] && r.is_ok() {
            self.nchecks += 1;
            mismatch!(
                self,
                "mmap({addr:#x}, {len:#x}, {prot:#x}, {flags:#x}) at a kernel address succeeded"
            );
        }
    }

    /// A mapping the kernel placed (or moved) somewhere: inside the arena it is scratch;
    /// outside, it must not overlap the fuzzer (it cannot, if the kernel is right), so it is
    /// unmapped again at once.
    fn stray_cleanup(&mut self, got: usize, len: usize, asked: usize, fixed: bool) {
        let len = (len.wrapping_add(PAGE - 1) & !(PAGE - 1)).max(PAGE);
        self.nchecks += 1;
        if !got.is_multiple_of(PAGE) || got.checked_add(len).is_none_or(|e| e > user_top()) {
            mismatch!(
                self,
                "mapping result {got:#x} (len {len:#x}, asked {asked:#x}) is not a user range"
            );
            return;
        }
        if fixed && got != asked {
            mismatch!(self, "fixed mapping at {asked:#x} came back at {got:#x}");
        }
        let inside = got >= self.arena && got + len <= self.arena + ARENA_LEN;
        if !inside {
            self.stray += 1;
            let _ = self.scr(MUNMAP, [got, len, 0, 0, 0, 0]);
        }
    }

    fn sys_munmap_mprotect_madvise(&mut self) {
        let addr = self.scratch_addr(0);
        let len = self.safe_len(addr);
        let in_arena = addr >= self.arena && addr < self.arena + ARENA_LEN;
        match self.rng.below(3) {
            0 => {
                let r = self.scr(MUNMAP, [addr, len, 0, 0, 0, 0]);
                if !in_arena {
                    // do_vmi_munmap: start or end beyond TASK_SIZE: EINVAL.
                    expect!(self, r, Err(EINVAL), "munmap({addr:#x}, {len:#x})");
                }
            }
            1 => {
                let prot = if self.rng.pct(60) {
                    self.rng.below(8)
                } else {
                    self.any_flags()
                };
                let r = self.scr(MPROTECT, [addr, len, prot, 0, 0, 0]);
                if !in_arena && len != 0 && r.is_ok() {
                    self.nchecks += 1;
                    mismatch!(
                        self,
                        "mprotect({addr:#x}, {len:#x}, {prot:#x}) outside user space succeeded"
                    );
                }
            }
            _ => {
                let adv = if self.rng.pct(70) {
                    self.rng.below(25)
                } else {
                    self.any_flags()
                };
                let r = self.scr(MADVISE, [addr, len, adv, 0, 0, 0]);
                if !in_arena && len != 0 && r.is_ok() {
                    self.nchecks += 1;
                    mismatch!(
                        self,
                        "madvise({addr:#x}, {len:#x}, {adv}) outside user space succeeded"
                    );
                }
            }
        }
    }

    fn sys_mremap(&mut self) {
        let old = self.scratch_addr(0);
        let old_len = self.safe_len(old);
        let flags = match self.rng.below(5) {
            0 => self.any_flags(),
            1 => MREMAP_MAYMOVE,
            2 => MREMAP_MAYMOVE | MREMAP_FIXED,
            3 => MREMAP_MAYMOVE | MREMAP_DONTUNMAP,
            _ => 0,
        };
        let new_addr = self.scratch_addr(0);
        let new_len = if flags & MREMAP_FIXED != 0 {
            self.safe_len(new_addr)
        } else {
            self.safe_len(old)
        };
        let r = self.scr(nr::MREMAP, [old, old_len, new_len, flags, new_addr, 0]);
        if let Ok(got) = r {
            self.stray_cleanup(got, new_len, new_addr, flags & MREMAP_FIXED != 0);
        }
    }

    fn sys_brk(&mut self) {
        let a = match self.rng.below(4) {
            0 => self.any_arg(),
            1 => self.brk0 + self.rng.below(64 * MIB),
            2 => self.bad_addr(),
            _ => 0,
        };
        let r = self.sc(BRK, [a, 0, 0, 0, 0, 0]) as usize;
        // Back to where the model has it.
        let back = self.sc(BRK, [self.brk, 0, 0, 0, 0, 0]) as usize;
        expect!(
            self,
            Ok(back),
            Ok(self.brk),
            "brk back to {:#x} (after brk({a:#x}) = {r:#x})",
            self.brk
        );
    }

    fn sys_close_ioctl(&mut self) {
        let fd = self.rng.pick(&[
            self.closed_fd as usize,
            usize::MAX,
            1 << 20,
            4096,
            (-100isize) as usize,
        ]);
        let r = self.scr(CLOSE, [fd, 0, 0, 0, 0, 0]);
        expect!(self, r, Err(EBADF), "close({fd:#x})");
        let fd = self.any_fd();
        let req = self.any_flags();
        let arg = self.scratch_addr(PAGE);
        let r = self.scr(IOCTL, [fd, req, arg, 0, 0, 0]);
        if fd == self.closed_fd as usize {
            expect!(self, r, Err(EBADF), "ioctl(closed fd {fd}, {req:#x})");
        }
    }

    /// Kernel pointers and wrapping ranges given to the implemented calls: Linux's answers
    /// are fixed (`access_ok` fails before any access).
    fn sys_kernel_pointers(&mut self) {
        let k = self.rng.pick(KADDRS);
        let n = 1 + self.rng.below(PAGE);
        let r = self.scr(WRITE, [self.devzero as usize, k, n, 0, 0, 0]);
        // /dev/zero's write ignores the buffer, but vfs_write's access_ok does not.
        expect!(self, r, Err(EFAULT), "write(/dev/zero, {k:#x}, {n})");
        let r = self.scr(READ, [self.devzero as usize, k, n, 0, 0, 0]);
        expect!(self, r, Err(EFAULT), "read(/dev/zero, {k:#x}, {n})");
        let r = self.scr(WRITE, [1, k, n, 0, 0, 0]);
        expect!(self, r, Err(EFAULT), "write(1, {k:#x}, {n})");
        #[cfg(target_arch = "arm")]
        let r = self.scr(OPEN, [k, 0, 0, 0, 0, 0]);
        #[cfg(target_arch = "aarch64")]
        let r = self.scr(OPENAT, [AT_FDCWD as isize as usize, k, 0, 0, 0, 0]);
        expect!(self, r, Err(EFAULT), "open({k:#x})");
        let r = self.scr(WRITEV, [self.devnull as usize, k, 1, 0, 0, 0]);
        expect!(self, r, Err(EFAULT), "writev(/dev/null, {k:#x}, 1)");
        // A valid arena buffer with a length reaching past user space: EFAULT from
        // access_ok, before anything is read or written.
        // (At least 1 MiB below the arena's end: armmu used to cap the length at 1 MiB.)
        let a = self.arena + self.rng.below(ARENA_PAGES - 256) * PAGE;
        let len = usize::MAX - a + 1 + self.rng.below(PAGE);
        let len = if self.rng.pct(50) {
            len
        } else {
            user_top().wrapping_sub(a) + PAGE * (1 + self.rng.below(4))
        };
        let r = self.scr(READ, [self.devzero as usize, a, len, 0, 0, 0]);
        expect!(self, r, Err(EFAULT), "read(/dev/zero, {a:#x}, {len:#x})");
        // Mapping calls at kernel addresses.
        let ka = k & !(PAGE - 1);
        let r = self.scr(MUNMAP, [ka, PAGE, 0, 0, 0, 0]);
        expect!(self, r, Err(EINVAL), "munmap({ka:#x}, 4096)");
        let r = self.scr(MPROTECT, [ka, PAGE, PROT_READ as usize, 0, 0, 0]);
        expect!(self, r, Err(ENOMEM), "mprotect({ka:#x}, 4096, R)");
        let r = self.mmap_raw(
            ka,
            PAGE,
            3,
            (MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS) as usize,
            -1,
            0,
        );
        expect!(self, r, Err(ENOMEM), "mmap({ka:#x}, 4096, RW, FIXED)");
        let r = self.scr(MADVISE, [ka, PAGE, MADV_DONTNEED_, 0, 0, 0]);
        // do_madvise: an end that wraps around is EINVAL; else no VMA there: ENOMEM.
        let want = if ka.checked_add(PAGE).is_none() {
            Err(EINVAL)
        } else {
            Err(ENOMEM)
        };
        expect!(self, r, want, "madvise({ka:#x}, 4096, DONTNEED)");
    }

    // -----------------------------------------------------------------------------------
    // Part 2: mm sequences against the model
    // -----------------------------------------------------------------------------------

    fn page_addr(&self, i: usize) -> usize {
        self.arena + i * PAGE
    }

    fn prot_allowed(&self, prot: u32) -> bool {
        self.wx_linux || prot & (PROT_WRITE | PROT_EXEC) != (PROT_WRITE | PROT_EXEC)
    }

    fn rand_prot(&mut self) -> u32 {
        let r = &mut self.rng;
        match r.below(16) {
            0 => PROT_NONE,
            1 => PROT_READ,
            2 => PROT_WRITE,
            3 => PROT_EXEC,
            4 => PROT_READ | PROT_EXEC,
            5 => PROT_WRITE | PROT_EXEC,
            6 => PROT_READ | PROT_WRITE | PROT_EXEC,
            _ => PROT_READ | PROT_WRITE,
        }
    }

    /// A page count for an operation: mostly small, sometimes whole MiBs.
    fn rand_pages(&mut self) -> usize {
        let r = &mut self.rng;
        match r.below(10) {
            0..=4 => 1 + r.below(8),
            5 | 6 => 1 + r.below(64),
            7 => 256 * (1 + r.below(4)),
            8 => 1 + r.below(1024),
            _ => 512 * (1 + r.below(4)),
        }
    }

    /// A start page so that `[start, start + n)` lies in the arena; MiB-aligned sometimes.
    fn rand_start(&mut self, n: usize) -> usize {
        let n = n.min(ARENA_PAGES);
        let mut s = self.rng.below(ARENA_PAGES - n + 1);
        if self.rng.pct(30) {
            s &= !255;
        }
        s
    }

    fn set_range(&mut self, s: usize, n: usize, p: Page) {
        for pg in &mut self.model[s..s + n] {
            *pg = p;
        }
    }

    fn all_unmapped(&self, s: usize, n: usize) -> bool {
        self.model[s..s + n].iter().all(|p| !p.mapped)
    }

    fn mm_step(&mut self) {
        match self.rng.below(100) {
            0..=17 => self.mm_mmap(),
            18..=27 => self.mm_munmap(),
            28..=39 => self.mm_mprotect(),
            40..=47 => self.mm_madvise(),
            48..=53 => self.mm_mremap(),
            54..=58 => self.mm_brk(),
            59..=66 => self.mm_zero_probe(),
            _ => self.mm_touch(),
        }
    }

    fn mm_mmap(&mut self) {
        let shared = self.rng.pct(30);
        let prot = self.rand_prot();
        let n = self.rand_pages();
        let populate = if self.rng.pct(15) { MAP_POPULATE } else { 0 };
        let kind = if shared { MAP_SHARED } else { MAP_PRIVATE };
        let base = kind | MAP_ANONYMOUS | populate;
        let len = n * PAGE
            - if self.rng.pct(20) {
                self.rng.below(PAGE)
            } else {
                0
            };
        let place = self.rng.below(100);
        let s = self.rand_start(n);
        let addr = self.page_addr(s);
        let wx_refused = !self.prot_allowed(prot);
        if place < 40 || (place < 45 && !wx_refused) {
            // MAP_FIXED, sometimes unaligned (EINVAL).
            let unaligned = place >= 40;
            let a = if unaligned {
                addr + 1 + self.rng.below(PAGE - 1)
            } else {
                addr
            };
            let r = self.mmap_raw(a, len, prot as usize, (base | MAP_FIXED) as usize, -1, 0);
            let want = if unaligned {
                Err(EINVAL)
            } else if wx_refused {
                Err(EACCES)
            } else {
                Ok(a)
            };
            if expect!(
                self,
                r,
                want,
                "mmap({a:#x}, {len:#x}, prot {prot}, {} FIXED)",
                kname(shared)
            ) {
                if r.is_ok() {
                    self.map_new(s, n, prot, shared);
                }
            } else if let Ok(got) = r {
                self.resync_after_unexpected_map(got, len);
            } else if want.is_ok() {
                self.forget(s, n);
            }
        } else if place < 60 {
            let r = self.mmap_raw(
                addr,
                len,
                prot as usize,
                (base | MAP_FIXED_NOREPLACE) as usize,
                -1,
                0,
            );
            let want = if wx_refused {
                Err(EACCES)
            } else if !self.all_unmapped(s, n) {
                Err(EEXIST)
            } else {
                Ok(addr)
            };
            if expect!(
                self,
                r,
                want,
                "mmap({addr:#x}, {len:#x}, prot {prot}, {} FIXED_NOREPLACE)",
                kname(shared)
            ) {
                if r.is_ok() {
                    self.map_new(s, n, prot, shared);
                }
            } else if let Ok(got) = r {
                // Mapped over (or beside) what the model has: drop the range.
                self.resync_after_unexpected_map(got, len);
                if got == addr {
                    self.forget(s, n);
                }
            }
        } else {
            // A hint (page aligned or not: Linux rounds it down), or none at all.
            let hint = if place < 85 {
                if self.rng.pct(25) {
                    addr + 1 + self.rng.below(PAGE - 1)
                } else {
                    addr
                }
            } else {
                0
            };
            let r = self.mmap_raw(hint, len, prot as usize, base as usize, -1, 0);
            if wx_refused {
                expect!(
                    self,
                    r,
                    Err(EACCES),
                    "mmap(hint {hint:#x}, {len:#x}, prot {prot})"
                );
                if let Ok(a) = r {
                    self.resync_after_unexpected_map(a, len);
                }
                return;
            }
            let Ok(got) = r else {
                expect!(
                    self,
                    r,
                    Ok(0),
                    "mmap(hint {hint:#x}, {len:#x}, prot {prot}, {})",
                    kname(shared)
                );
                return;
            };
            self.nchecks += 1;
            // do_mmap: `round_hint_to_min` masks the hint down to its page (checked
            // against Linux 6.1: an unaligned free hint comes back rounded down).
            let rounded = hint & !(PAGE - 1);
            let hs = (rounded.wrapping_sub(self.arena)) / PAGE;
            if hint != 0 && hs + n <= ARENA_PAGES && self.all_unmapped(hs, n) && got != rounded {
                mismatch!(self, "mmap(hint {hint:#x}, {len:#x}, prot {prot}, {}): got {got:#x}, want the free hint rounded down, {rounded:#x}", kname(shared));
            }
            self.place_anywhere(got, n, prot, shared, "mmap");
        }
    }

    /// The kernel chose where a new `n`-page mapping went: it must be page aligned and
    /// free; inside the arena it joins the model, outside it is checked and unmapped.
    fn place_anywhere(
        &mut self,
        got: usize,
        n: usize,
        prot: u32,
        shared: bool,
        what: &str,
    ) -> Option<usize> {
        let len = n * PAGE;
        if !got.is_multiple_of(PAGE) || got.checked_add(len).is_none_or(|e| e > user_top()) {
            mismatch!(
                self,
                "{what}: result {got:#x} is not a user range of {len:#x} bytes"
            );
            return None;
        }
        let (lo, hi) = (self.arena, self.arena + ARENA_LEN);
        if got >= lo && got + len <= hi {
            let s = (got - lo) / PAGE;
            if !self.all_unmapped(s, n) {
                mismatch!(
                    self,
                    "{what}: new mapping at {got:#x} (+{len:#x}) overlaps mapped arena pages"
                );
            }
            self.map_new(s, n, prot, shared);
            Some(s)
        } else if got < hi && got + len > lo {
            // Across an edge of the arena: the part inside must have been free; the whole
            // mapping is given back at once.
            let (s, e) = ((got.max(lo) - lo) / PAGE, ((got + len).min(hi) - lo) / PAGE);
            if !self.all_unmapped(s, e - s) {
                mismatch!(
                    self,
                    "{what}: new mapping at {got:#x} (+{len:#x}) overlaps mapped arena pages"
                );
            }
            let r = self.scr(MUNMAP, [got, len, 0, 0, 0, 0]);
            expect!(
                self,
                r,
                Ok(0),
                "munmap of the {what} result across the arena edge {got:#x}"
            );
            self.set_range(s, e - s, UNMAPPED);
            None
        } else {
            // Outside: first and last page readable as the model says, then gone.
            let p = Page {
                mapped: true,
                shared,
                prot: prot as u8,
                origin: 0,
                content: 0,
                fragile: false,
            };
            self.probe_read(got, &p);
            self.probe_read(got + len - PAGE, &p);
            let r = self.scr(MUNMAP, [got, len, 0, 0, 0, 0]);
            expect!(
                self,
                r,
                Ok(0),
                "munmap of the {what} result outside the arena {got:#x}"
            );
            None
        }
    }

    /// A mapping call succeeded where the model said it must not: drop what was mapped
    /// inside the arena so the model stays right (outside: unmap).
    fn resync_after_unexpected_map(&mut self, got: usize, len: usize) {
        let n = len.div_ceil(PAGE);
        let (lo, hi) = (self.arena, self.arena + ARENA_LEN);
        if got >= lo && got + n * PAGE <= hi {
            let _ = self.scr(MUNMAP, [got, n * PAGE, 0, 0, 0, 0]);
            let s = (got - lo) / PAGE;
            self.set_range(s, n, UNMAPPED);
        } else if got
            .checked_add(n * PAGE)
            .is_some_and(|e| e <= lo || got >= hi)
        {
            let _ = self.scr(MUNMAP, [got, n * PAGE, 0, 0, 0, 0]);
        }
    }

    fn map_new(&mut self, s: usize, n: usize, prot: u32, shared: bool) {
        self.next_origin += 1;
        let p = Page {
            mapped: true,
            shared,
            prot: prot as u8,
            origin: self.next_origin,
            content: 0,
            fragile: false,
        };
        self.set_range(s, n, p);
        // Spot checks of the fresh mapping: zero (or the right fault) at both ends.
        let (a, b) = (self.page_addr(s), self.page_addr(s + n - 1));
        self.probe_page(a, s);
        if n > 1 {
            self.probe_page(b, s + n - 1);
        }
    }

    fn mm_munmap(&mut self) {
        let n = self.rand_pages();
        let s = self.rand_start(n);
        let a = self.page_addr(s);
        match self.rng.below(20) {
            0 => {
                let u = a + 1 + self.rng.below(PAGE - 1);
                let r = self.scr(MUNMAP, [u, n * PAGE, 0, 0, 0, 0]);
                expect!(self, r, Err(EINVAL), "munmap(unaligned {:#x})", a);
            }
            1 => {
                let r = self.scr(MUNMAP, [a, 0, 0, 0, 0, 0]);
                expect!(self, r, Err(EINVAL), "munmap({a:#x}, 0)");
            }
            _ => {
                let len = n * PAGE
                    - if self.rng.pct(20) {
                        self.rng.below(PAGE)
                    } else {
                        0
                    };
                let r = self.scr(MUNMAP, [a, len, 0, 0, 0, 0]);
                // Linux: 0, whether or not anything was mapped there.
                expect!(self, r, Ok(0), "munmap({a:#x}, {len:#x})");
                self.set_range(s, n, UNMAPPED);
                self.probe_page(a, s);
            }
        }
    }

    fn mm_mprotect(&mut self) {
        let n = self.rand_pages();
        let s = self.rand_start(n);
        let a = self.page_addr(s);
        let mut prot = self.rand_prot();
        let kind = self.rng.below(25);
        if kind == 0 {
            let r = self.scr(MPROTECT, [a + 8, n * PAGE, PROT_READ as usize, 0, 0, 0]);
            expect!(self, r, Err(EINVAL), "mprotect(unaligned {a:#x}+8)");
            return;
        }
        if kind == 1 {
            let r = self.scr(MPROTECT, [a, n * PAGE, 0x10, 0, 0, 0]);
            expect!(self, r, Err(EINVAL), "mprotect({a:#x}, prot 0x10)");
            return;
        }
        if kind == 2 {
            // len 0: nothing to do, success, even over a hole.
            let r = self.scr(MPROTECT, [a, 0, prot as usize, 0, 0, 0]);
            expect!(self, r, Ok(0), "mprotect({a:#x}, 0)");
            return;
        }
        if kind < 12 {
            // Aim at mapped memory most of the time: the range of a mapped page's VMA.
            if let Some((vs, vn)) = self.random_vma() {
                let sub = self.rng.below(vn);
                let s2 = vs + sub;
                let n2 = 1 + self.rng.below(vn - sub);
                return self.do_mprotect(s2, n2, prot);
            }
        }
        if kind == 3 {
            prot = PROT_READ | PROT_WRITE;
        }
        self.do_mprotect(s, n, prot);
    }

    fn do_mprotect(&mut self, s: usize, n: usize, prot: u32) {
        let a = self.page_addr(s);
        let len = n * PAGE
            - if self.rng.pct(20) {
                self.rng.below(PAGE)
            } else {
                0
            };
        let r = self.scr(MPROTECT, [a, len, prot as usize, 0, 0, 0]);
        self.nchecks += 1;
        let first_hole = (s..s + n).find(|&i| !self.model[i].mapped);
        if !self.prot_allowed(prot) {
            // armmu policy: refused as a whole (over a leading hole ENOMEM is as right).
            let ok = r == Err(EACCES) || (first_hole == Some(s) && r == Err(ENOMEM));
            if !ok {
                mismatch!(
                    self,
                    "mprotect({a:#x}, {len:#x}, W+X {prot}): got {}, want EACCES",
                    Res(r)
                );
                self.forget(s, n);
            }
            return;
        }
        // Linux: a hole at the start changes nothing; otherwise every page up to the first
        // hole gets the new protection, and a hole anywhere in the range gives ENOMEM.
        let upto = first_hole.unwrap_or(s + n);
        let want = if first_hole.is_some() {
            Err(ENOMEM)
        } else {
            Ok(0)
        };
        if r != want {
            mismatch!(
                self,
                "mprotect({a:#x}, {len:#x}, {prot}) over {} (first hole {:?}): got {}, want {}",
                self.describe(s, n),
                first_hole.map(|h| self.page_addr(h)),
                Res(r),
                Res(want)
            );
            // What the kernel did to the range is unknown now: drop it from both sides.
            return self.forget(s, n);
        }
        for i in s..upto {
            self.model[i].prot = prot as u8;
            self.model[i].fragile = true;
        }
        // The rest of each VMA that was cut is fragile too.
        for edge in [s, upto] {
            let Some(o) = self
                .model
                .get(edge.wrapping_sub(if edge == s { 1 } else { 0 }))
                .map(|p| p.origin)
            else {
                continue;
            };
            let mut i = if edge == s { s.wrapping_sub(1) } else { upto };
            while i < ARENA_PAGES && self.model[i].mapped && self.model[i].origin == o {
                self.model[i].fragile = true;
                i = if edge == s { i.wrapping_sub(1) } else { i + 1 };
            }
        }
        // Probe the first, the last changed and the first unchanged pages.
        self.probe_page(a, s);
        if upto > s + 1 {
            self.probe_page(self.page_addr(upto - 1), upto - 1);
        }
        if upto < s + n {
            self.probe_page(self.page_addr(upto), upto);
        }
    }

    /// A short description of the model over `[s, s + n)`: runs of (state, prot).
    fn describe(&self, s: usize, n: usize) -> Runs<'_> {
        Runs {
            m: &self.model[s..s + n],
            base: self.page_addr(s),
        }
    }

    /// The page range of the VMA (as the model sees it) around a random mapped page.
    fn random_vma(&mut self) -> Option<(usize, usize)> {
        for _ in 0..8 {
            let i = self.rng.below(ARENA_PAGES);
            if self.model[i].mapped {
                let p = self.model[i];
                let mut s = i;
                while s > 0 && self.model[s - 1].same_vma(&p) {
                    s -= 1;
                }
                let mut e = i + 1;
                while e < ARENA_PAGES && self.model[e].same_vma(&p) {
                    e += 1;
                }
                return Some((s, e - s));
            }
        }
        None
    }

    fn mm_madvise(&mut self) {
        let (s, n) = match self.random_vma() {
            Some((vs, vn)) if self.rng.pct(60) => {
                let sub = self.rng.below(vn);
                (vs + sub, 1 + self.rng.below(vn - sub))
            }
            _ => {
                let n = self.rand_pages();
                (self.rand_start(n), n)
            }
        };
        let a = self.page_addr(s);
        let advice = match self.rng.below(10) {
            0..=5 => MADV_DONTNEED_,
            6 => MADV_WILLNEED,
            7 => 0,
            8 => self.rng.pick(&[5, 6, 7, 999]),
            _ => {
                let r = self.scr(MADVISE, [a + 16, PAGE, MADV_DONTNEED_, 0, 0, 0]);
                expect!(self, r, Err(EINVAL), "madvise(unaligned {a:#x}+16)");
                return;
            }
        };
        let len = n * PAGE
            - if self.rng.pct(20) {
                self.rng.below(PAGE)
            } else {
                0
            };
        let r = self.scr(MADVISE, [a, len, advice, 0, 0, 0]);
        let valid = matches!(advice, 0..=4);
        let hole = (s..s + n).any(|i| !self.model[i].mapped);
        let want = if !valid {
            Err(EINVAL)
        } else if hole {
            Err(ENOMEM)
        } else {
            Ok(0)
        };
        if !expect!(
            self,
            r,
            want,
            "madvise({a:#x}, {len:#x}, {advice}) over {}",
            self.describe(s, n)
        ) {
            // Nothing reliable to learn from the page contents after a wrong answer;
            // re-read what the kernel did to private pages is not possible: stop modelling
            // the range (unmap it).
            let _ = self.scr(MUNMAP, [a, n * PAGE, 0, 0, 0, 0]);
            self.set_range(s, n, UNMAPPED);
            return;
        }
        if valid && advice == MADV_DONTNEED_ {
            // Private anonymous pages are dropped (read back zero); shared anonymous pages
            // live in their shmem object and keep their data.
            for i in s..s + n {
                if self.model[i].mapped && !self.model[i].shared {
                    self.model[i].content = 0;
                }
            }
        }
        let k = s + self.rng.below(n);
        self.probe_page(self.page_addr(k), k);
    }

    fn mm_mremap(&mut self) {
        // Private anonymous ranges inside one VMA only (shared anonymous growth would
        // reach past the shmem object: SIGBUS pages the model does not hold).
        let Some((vs, vn)) = self.random_vma() else {
            return;
        };
        if self.model[vs].shared {
            return;
        }
        let sub = self.rng.below(vn);
        let (os, on) = (vs + sub, 1 + self.rng.below(vn - sub));
        let old = self.page_addr(os);
        let variant = self.rng.below(4);
        let nn = match variant {
            0 => 1 + self.rng.below(on), // shrink or same
            _ => on + 1 + self.rng.below(16),
        };
        let flags = match variant {
            0 | 1 => 0,
            2 => MREMAP_MAYMOVE,
            _ => MREMAP_MAYMOVE | MREMAP_FIXED,
        };
        let mut new_s = 0;
        if flags & MREMAP_FIXED != 0 {
            new_s = self.rand_start(nn);
            if new_s < os + on && os < new_s + nn {
                // Overlapping old and new ranges: EINVAL, nothing changes.
                let r = self.scr(
                    nr::MREMAP,
                    [old, on * PAGE, nn * PAGE, flags, self.page_addr(new_s), 0],
                );
                if r == Err(ENOSYS) {
                    self.mremap_enosys += 1;
                    return;
                }
                expect!(
                    self,
                    r,
                    Err(EINVAL),
                    "mremap({old:#x}, {:#x}, {:#x}, FIXED to overlapping {:#x})",
                    on * PAGE,
                    nn * PAGE,
                    self.page_addr(new_s)
                );
                return;
            }
        }
        let new_addr = self.page_addr(new_s);
        let r = self.scr(nr::MREMAP, [old, on * PAGE, nn * PAGE, flags, new_addr, 0]);
        if r == Err(ENOSYS) {
            // Not implemented (yet): nothing may have changed.
            self.mremap_enosys += 1;
            self.probe_page(old, os);
            return;
        }
        let p = self.model[os];
        if r == Err(EFAULT) && nn > on && (os..os + on).any(|i| self.model[i].fragile) {
            // The model's VMA may be two on Linux (see Page::fragile): EFAULT from
            // vma_to_resize, after MREMAP_FIXED has unmapped the new range.
            self.nchecks += 1;
            if flags & MREMAP_FIXED != 0 {
                self.set_range(new_s, nn, UNMAPPED);
            }
            return;
        }
        if flags & MREMAP_FIXED != 0 {
            expect!(
                self,
                r,
                Ok(new_addr),
                "mremap({old:#x}, {} pages, {nn} pages, MAYMOVE|FIXED, {new_addr:#x})",
                on
            );
            if r != Ok(new_addr) {
                return self.forget(os, on);
            }
            let keep = on.min(nn);
            self.move_pages(os, on, new_s, nn, keep, p);
            return;
        }
        if nn <= on {
            expect!(
                self,
                r,
                Ok(old),
                "mremap({old:#x}, {on} pages, {nn} pages) shrink"
            );
            self.set_range(os + nn, on - nn, UNMAPPED);
            return;
        }
        // Growth: in place when the old range ends the VMA and the pages after it are free
        // (and in the arena: otherwise the op is not generated).
        let vma_end = vs + vn;
        if os + on != vma_end || vma_end + (nn - on) > ARENA_PAGES {
            if os + on == vma_end && flags == 0 {
                // At the arena's end: what lies beyond is unknown; skip the check.
                return self.forget_after(r, os);
            }
            if flags == 0 {
                expect!(
                    self,
                    r,
                    Err(ENOMEM),
                    "mremap({old:#x}, {on}, {nn} pages) grow without room"
                );
                return;
            }
        } else if self.all_unmapped(vma_end, nn - on) {
            expect!(
                self,
                r,
                Ok(old),
                "mremap({old:#x}, {on}, {nn} pages) grow in place"
            );
            if r == Ok(old) {
                let q = Page { content: 0, ..p };
                self.set_range(vma_end, nn - on, q);
                self.probe_page(self.page_addr(vma_end), vma_end);
            }
            return;
        } else if flags == 0 {
            expect!(
                self,
                r,
                Err(ENOMEM),
                "mremap({old:#x}, {on}, {nn} pages) grow into a mapping"
            );
            return;
        }
        // MAYMOVE: anywhere free.
        let Ok(got) = r else {
            expect!(
                self,
                r,
                Ok(0),
                "mremap({old:#x}, {on}, {nn} pages, MAYMOVE)"
            );
            return;
        };
        if got >= self.arena && got + nn * PAGE <= self.arena + ARENA_LEN {
            let ns = (got - self.arena) / PAGE;
            // The new range was free before, or it is the old range itself grown in place.
            self.move_pages(os, on, ns, nn, on, p);
        } else {
            // Moved outside the arena: check the first page's content, unmap it.
            let first = Page { ..self.model[os] };
            self.set_range(os, on, UNMAPPED);
            if self.probe_read(got, &first) && first.prot & PROT_READ as u8 != 0 {
                let mut rng = Rng::new(self.rng.next());
                // SAFETY: the kernel says the moved mapping is there, readable.
                if let Err((off, g, w)) = unsafe { check_page(got, first.content, false, &mut rng) }
                {
                    mismatch!(
                        self,
                        "mremap moved to {got:#x}: +{off:#x} holds {g:#x}, want {w:#x}"
                    );
                }
            }
            let _ = self.scr(MUNMAP, [got, nn * PAGE, 0, 0, 0, 0]);
        }
    }

    /// Move `keep` pages of content from `[os, os + on)` to `[ns, ns + nn)` (the model side
    /// of a successful mremap): the new range replaces whatever was there, the old range
    /// is gone, pages past `keep` are fresh zero pages.
    fn move_pages(&mut self, os: usize, on: usize, ns: usize, nn: usize, keep: usize, p: Page) {
        // Save contents (the ranges do not overlap for FIXED; for MAYMOVE the kernel chose a
        // free range, or the old one: copy through a small window either way).
        self.next_origin += 1;
        let origin = self.next_origin;
        if ns + nn <= os || os + on <= ns {
            for k in 0..nn {
                let content = if k < keep {
                    self.model[os + k].content
                } else {
                    0
                };
                self.model[ns + k] = Page {
                    mapped: true,
                    shared: false,
                    prot: p.prot,
                    origin,
                    content,
                    fragile: false,
                };
            }
            self.set_range(os, on, UNMAPPED);
        } else if ns == os {
            for k in 0..nn {
                let content = if k < keep {
                    self.model[os + k].content
                } else {
                    0
                };
                self.model[ns + k] = Page {
                    mapped: true,
                    shared: false,
                    prot: p.prot,
                    origin,
                    content,
                    fragile: false,
                };
            }
        } else {
            mismatch!(
                self,
                "mremap: new range {:#x} overlaps the old {:#x}",
                self.page_addr(ns),
                self.page_addr(os)
            );
            self.forget(os, on);
            return;
        }
        self.probe_page(self.page_addr(ns), ns);
        self.probe_page(self.page_addr(ns + nn - 1), ns + nn - 1);
    }

    fn forget(&mut self, s: usize, n: usize) {
        let _ = self.scr(MUNMAP, [self.page_addr(s), n * PAGE, 0, 0, 0, 0]);
        self.set_range(s, n, UNMAPPED);
    }

    fn forget_after(&mut self, r: Result<usize, i32>, os: usize) {
        if r.is_ok() {
            // Grew past the arena: drop it all.
            let _ = self.scr(
                MUNMAP,
                [self.page_addr(os), ARENA_LEN - os * PAGE, 0, 0, 0, 0],
            );
            self.set_range(os, ARENA_PAGES - os, UNMAPPED);
        }
    }

    fn mm_brk(&mut self) {
        if self.brk_broken {
            return;
        }
        let target = match self.rng.below(8) {
            0 => 0,
            1 => self.rng.pick(&[1, 0x1000]),
            2 => self.brk0,
            // (within the BRK_PAGES the model keeps)
            3 => (self.brk + self.rng.below(PAGE)).min(self.brk0 + BRK_PAGES * PAGE - 1),
            _ => self.brk0 + self.rng.below(BRK_PAGES * PAGE),
        };
        let r = self.sc(BRK, [target, 0, 0, 0, 0, 0]) as usize;
        let want = if target == 0 || target < self.brk_raw0 {
            self.brk
        } else {
            target
        };
        expect!(
            self,
            Ok(r),
            Ok(want),
            "brk({target:#x}) from {:#x}",
            self.brk
        );
        if r != want {
            // Follow the kernel, so that the following checks are meaningful.
            let back = self.sc(BRK, [self.brk, 0, 0, 0, 0, 0]) as usize;
            if back != self.brk {
                mismatch!(
                    self,
                    "brk could not be moved back to {:#x} (got {back:#x})",
                    self.brk
                );
                // The model cannot follow a break it does not know: no more brk steps.
                self.brk_broken = true;
            }
            return;
        }
        let old_top = self.brk.div_ceil(PAGE);
        let new_top = want.div_ceil(PAGE);
        let base = self.brk0 / PAGE;
        // Pages above the new top are unmapped: grown again later they read zero.
        for i in new_top.max(base)..old_top.max(base) {
            self.brk_pages[i - base] = 0;
        }
        self.brk = want;
        // Touch a few brk pages: check, write.
        if new_top > base {
            for _ in 0..2 {
                let i = base + self.rng.below(new_top - base);
                let a = i * PAGE;
                let c = self.brk_pages[i - base];
                let mut rng = Rng::new(self.rng.next());
                self.nchecks += 1;
                // SAFETY: [brk0, PAGE_ALIGN(brk)) is mapped RW (the model and Linux agree,
                // or the brk checks above have already stopped the run).
                if let Err((off, g, w)) = unsafe { check_page(a, c, false, &mut rng) } {
                    mismatch!(self, "brk page {a:#x} +{off:#x} holds {g:#x}, want {w:#x}");
                }
                let seed = self.new_seed();
                // SAFETY: as above; the heap area holds no Rust object (no allocator).
                unsafe { fill_page(a, seed) };
                self.brk_pages[i - base] = seed;
            }
        }
        // The page above the break's page is not mapped.
        let above = new_top.max(base) * PAGE;
        self.probe_read(above, &UNMAPPED);
    }

    /// `read(/dev/zero)` over 1..16 pages: Linux clears page by page and stops at the first
    /// page it cannot write (a partial count), `EFAULT` if that is the first one.
    fn mm_zero_probe(&mut self) {
        let n = 1 + self.rng.below(16);
        let s = self.rand_start(n);
        let a = self.page_addr(s);
        let r = self.scr(READ, [self.devzero as usize, a, n * PAGE, 0, 0, 0]);
        let w = (s..s + n).take_while(|&i| self.model[i].writable()).count();
        let want = if w == 0 { Err(EFAULT) } else { Ok(w * PAGE) };
        if expect!(
            self,
            r,
            want,
            "read(/dev/zero, {a:#x}, {} pages) over {}",
            n,
            self.describe(s, n)
        ) {
            for i in s..s + w {
                self.model[i].content = 0;
            }
        } else {
            // Whatever the kernel wrote is unknown now.
            self.forget(s, n);
        }
    }

    fn mm_touch(&mut self) {
        let i = match self.random_vma() {
            Some((vs, vn)) if self.rng.pct(85) => vs + self.rng.below(vn),
            _ => self.rng.below(ARENA_PAGES),
        };
        let a = self.page_addr(i);
        self.probe_page(a, i);
        // (After the probe: a disagreement there drops the page from the model.)
        let p = self.model[i];
        if p.mapped && p.prot & PROT_READ as u8 != 0 {
            let full = self.rng.pct(10);
            let mut rng = Rng::new(self.rng.next());
            self.nchecks += 1;
            // SAFETY: the model says the page is mapped readable, and the open probe just
            // agreed (a disagreement would have been reported).
            if let Err((off, g, w)) = unsafe { check_page(a, p.content, full, &mut rng) } {
                mismatch!(
                    self,
                    "page {a:#x} ({}, prot {}, content {:#x}) +{off:#x} holds {g:#x}, want {w:#x}",
                    kname(p.shared),
                    p.prot,
                    p.content,
                );
                return self.forget(i, 1);
            }
        }
        if p.writable() && self.rng.pct(60) {
            // Writable for the kernel too (a page the model gets wrong would kill the
            // fuzzer on the store): /dev/zero fills it first.
            let r = self.scr(READ, [self.devzero as usize, a, PAGE, 0, 0, 0]);
            if !expect!(
                self,
                r,
                Ok(PAGE),
                "read(/dev/zero, {a:#x}, 4096) before a store ({}, prot {})",
                kname(p.shared),
                p.prot
            ) {
                return self.forget(i, 1);
            }
            let seed = self.new_seed();
            // SAFETY: the model says the page is mapped writable; the arena holds no Rust
            // object.
            unsafe { fill_page(a, seed) };
            self.model[i].content = seed;
        }
    }

    /// Probe arena page `i` through syscalls: readable or not (the `open` probe).
    fn probe_page(&mut self, a: usize, i: usize) {
        let p = self.model[i];
        if !self.probe_read(a, &p) {
            self.forget(i, 1);
        }
    }

    fn probe_read(&mut self, a: usize, p: &Page) -> bool {
        #[cfg(target_arch = "arm")]
        let r = self.scr(OPEN, [a + PAGE - 1, 0, 0, 0, 0, 0]);
        #[cfg(target_arch = "aarch64")]
        let r = self.scr(
            OPENAT,
            [AT_FDCWD as isize as usize, a + PAGE - 1, 0, 0, 0, 0],
        );
        if let Ok(fd) = r {
            let _ = self.scr(CLOSE, [fd, 0, 0, 0, 0, 0]);
        }
        let want = if p.readable() {
            Err(ENOENT)
        } else {
            Err(EFAULT)
        };
        expect!(
            self,
            r,
            want,
            "open probe of {a:#x}+4095 ({}, prot {})",
            if p.mapped {
                kname(p.shared)
            } else {
                "unmapped"
            },
            p.prot
        )
    }

    // -----------------------------------------------------------------------------------

    fn cleanup(&mut self) {
        let r = self.scr(MUNMAP, [self.arena, ARENA_LEN, 0, 0, 0, 0]);
        expect!(self, r, Ok(0), "munmap of the whole arena");
        for i in 0..ARENA_PAGES {
            self.model[i] = UNMAPPED;
        }
        let a = self.arena;
        self.probe_read(a, &UNMAPPED);
        self.probe_read(a + ARENA_LEN - PAGE, &UNMAPPED);
    }
}

fn kname(shared: bool) -> &'static str {
    if shared {
        "shared"
    } else {
        "private"
    }
}

fn implemented(n: usize) -> bool {
    #[cfg(target_arch = "arm")]
    let list: &[usize] = &[
        READ,
        WRITE,
        OPEN,
        CLOSE,
        GETPID,
        BRK,
        IOCTL,
        MUNMAP,
        MPROTECT,
        WRITEV,
        MMAP2,
        MADVISE,
        SET_TID_ADDRESS,
        OPENAT,
        EXIT,
        EXIT_GROUP,
    ];
    #[cfg(target_arch = "aarch64")]
    let list: &[usize] = &[
        READ,
        WRITE,
        OPENAT,
        CLOSE,
        GETPID,
        BRK,
        IOCTL,
        MUNMAP,
        MPROTECT,
        WRITEV,
        MMAP,
        MADVISE,
        SET_TID_ADDRESS,
        EXIT,
        EXIT_GROUP,
    ];
    list.contains(&n) || n == nr::MREMAP
}

/// Runs of pages for messages: `[addr: private RW x3, unmapped x2]`.
struct Runs<'a> {
    m: &'a [Page],
    base: usize,
}

impl fmt::Display for Runs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{:#x}:", self.base)?;
        let mut i = 0;
        let mut shown = 0;
        while i < self.m.len() {
            let p = self.m[i];
            let mut j = i + 1;
            while j < self.m.len()
                && self.m[j].mapped == p.mapped
                && self.m[j].prot == p.prot
                && self.m[j].shared == p.shared
                && self.m[j].origin == p.origin
            {
                j += 1;
            }
            if shown == 6 {
                write!(f, " ...")?;
                break;
            }
            if p.mapped {
                write!(
                    f,
                    " {}#{} prot {} x{}",
                    kname(p.shared),
                    p.origin,
                    p.prot,
                    j - i
                )?;
            } else {
                write!(f, " hole x{}", j - i)?;
            }
            shown += 1;
            i = j;
        }
        write!(f, "]")
    }
}

/// Map `n` bytes of private RW memory for the fuzzer's own use (outside the arena).
fn own_memory(len: usize) -> usize {
    match armmu_user::mmap(
        0,
        len,
        PROT_READ | PROT_WRITE,
        MAP_PRIVATE | MAP_ANONYMOUS,
        -1,
        0,
    ) {
        Ok(a) => a,
        Err(e) => {
            println!(
                "fuzz: cannot map {len} bytes for the model: {}",
                Res(Err(e))
            );
            armmu_user::exit(2)
        }
    }
}

fn main(args: Args) -> i32 {
    let seed = args
        .env_usize("seed")
        .map(|s| s as u64)
        .unwrap_or_else(|| armmu_user::cntvct() % 1_000_000_007);
    let count = args.env_usize("count").unwrap_or(100_000) as u64;
    let maxmis = args.env_usize("maxmis").unwrap_or(1).max(1) as u64;
    let mode = args.env("mode").unwrap_or(b"all");
    let wx_linux = args.env("wx") == Some(b"linux".as_slice());
    if let Some(t) = args.env_usize("user_top") {
        USER_TOP_CELL.store(t, core::sync::atomic::Ordering::Relaxed);
    }
    println!(
        "fuzz: seed {seed} count {count} ({}; replay: rdinit=/bin/fuzz seed={seed} count={count})",
        armmu_user::ARCH
    );

    let devnull = armmu_user::open(c"/dev/null", O_RDWR, 0).unwrap_or(-1);
    let devzero = armmu_user::open(c"/dev/zero", O_RDWR, 0).unwrap_or(-1);
    // A descriptor that is never open: above Linux's default RLIMIT_NOFILE (1024), so no
    // random call can create it either.
    let closed_fd = 4000;
    if devnull < 0 || devzero < 0 {
        println!("fuzz: cannot open /dev/null or /dev/zero");
        return 2;
    }

    // The model lives in memory of its own, mapped before the arena is chosen.
    let model_len = (ARENA_PAGES * core::mem::size_of::<Page>()).next_multiple_of(PAGE);
    let m = own_memory(model_len);
    // SAFETY: a fresh private RW mapping, zero-filled, big enough for ARENA_PAGES pages
    // (Page is plain data; all-zero is UNMAPPED), used only through this slice.
    let model: &'static mut [Page] =
        unsafe { core::slice::from_raw_parts_mut(m as *mut Page, ARENA_PAGES) };
    let b = own_memory(BRK_PAGES * 4);
    // SAFETY: as above, for the brk page contents.
    let brk_pages: &'static mut [u32] =
        unsafe { core::slice::from_raw_parts_mut(b as *mut u32, BRK_PAGES) };

    // The arena: reserve 64 MiB + 2 MiB, keep a 2 MiB-aligned 64 MiB (sections and
    // blocks possible), give it all back: from now on only the fuzzer maps there.
    let res = own_memory(ARENA_LEN + 2 * MIB);
    let arena = (res + 2 * MIB - 1) & !(2 * MIB - 1);
    let _ = armmu_user::munmap(res, ARENA_LEN + 2 * MIB);

    let brk_raw0 = armmu_user::brk(0);
    let brk0 = (brk_raw0 + PAGE - 1) & !(PAGE - 1);
    let mut f = Fuzz {
        rng: Rng::new(seed),
        seed,
        count,
        step: 0,
        nsys: 0,
        nchecks: 0,
        mismatches: 0,
        maxmis,
        wx_linux,
        trace: args.env("trace") == Some(b"1".as_slice()),
        devnull,
        devzero,
        closed_fd,
        arena,
        model,
        brk0,
        brk_raw0,
        brk: brk_raw0,
        brk_pages,
        next_origin: 0,
        next_seed: seed as u32,
        mremap_enosys: 0,
        brk_broken: false,
        stray: 0,
    };
    println!(
        "fuzz: arena {arena:#x}..{:#x}, brk {brk_raw0:#x}",
        arena + ARENA_LEN
    );

    let (sys_share, mm) = match mode {
        b"sys" => (100, false),
        b"mm" => (0, true),
        _ => (40, true),
    };
    let sys_budget = f.count * sys_share / 100;
    while f.nsys < sys_budget {
        f.step += 1;
        f.sys_step();
    }
    let sys_steps = f.step;
    // Part 1 scribbled over the arena: start part 2 from nothing.
    f.cleanup();
    let _ = f.sc(BRK, [f.brk, 0, 0, 0, 0, 0]);
    println!(
        "fuzz: random syscalls done: {} steps, {} syscalls, {} strays unmapped",
        sys_steps, f.nsys, f.stray
    );
    if mm {
        while f.nsys < f.count {
            f.step += 1;
            f.mm_step();
        }
        f.cleanup();
        let b = f.brk_raw0;
        let r = f.sc(BRK, [b, 0, 0, 0, 0, 0]) as usize;
        expect!(f, Ok(r), Ok(b), "brk back to the start");
        println!(
            "fuzz: mm sequences done: {} steps ({} mremap calls ENOSYS)",
            f.step - sys_steps,
            f.mremap_enosys
        );
    }
    let _ = armmu_user::munmap(m, model_len);
    let _ = armmu_user::munmap(b, BRK_PAGES * 4);
    f.summary();
    if f.mismatches == 0 {
        0
    } else {
        1
    }
}
