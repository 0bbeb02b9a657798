//! fork(2) and copy-on-write: the child's writes to private memory stay in the child,
//! the parent's writes after fork stay in the parent, MAP_SHARED anonymous memory is seen
//! both ways (also a page the child touches first), a 4 MiB 2 MiB-aligned private
//! mapping (fully touched before fork, so a kernel may map it with sections/blocks)
//! differs at exactly the one page the child wrote, a /dev/mem mapping of the PL011
//! (`UART_PHYS`, default 0x0900_0000) still reads UARTPeriphID0 = 0x11 in the child; fork
//! return values, getpid/getppid, wait4's status. Every expectation is Linux 6.1's
//! (user/oracle/fork_cow.*.txt; Linux needs `iomem=relaxed` for the /dev/mem part).
//!
//! Output order is fixed: between a fork and the wait4 that reaps the child only the
//! child prints; the parent checks what it recorded afterwards.
#![no_std]
#![no_main]

use armmu_user::sys::*;
use armmu_user::*;
use core::sync::atomic::Ordering::SeqCst;

entry!(main);

const RW: u32 = PROT_READ | PROT_WRITE;
const MIB: usize = 1 << 20;
const BIG: usize = 4 * MIB;
/// The page of the big mapping the child writes, and the one the parent writes.
const CHILD_PAGE: usize = 300;
const PARENT_PAGE: usize = 700;

/// Initialised data (a page from the ELF file): the child writes it.
static mut VALUE: u32 = 1;
/// Written by the parent after fork.
static mut VALUE2: u32 = 5;

fn rd(p: *const u32) -> u32 {
    // SAFETY: our statics / mappings; volatile so each access really happens.
    unsafe { core::ptr::read_volatile(p) }
}
fn wr(p: *mut u32, v: u32) {
    // SAFETY: as above.
    unsafe { core::ptr::write_volatile(p, v) }
}

/// Spin (yielding) until the shared word is non-zero.
fn wait_flag(w: &core::sync::atomic::AtomicU32) {
    while w.load(SeqCst) == 0 {
        let _ = sched_yield();
    }
}

/// Check the big mapping: every page holds pattern `seed`, except `(page, seed)` pairs.
fn big_ok(big: usize, exceptions: &[(usize, u32)]) -> Result<(), usize> {
    for p in 0..BIG / PAGE {
        let seed = exceptions.iter().find(|e| e.0 == p).map_or(0xB16, |e| e.1);
        // SAFETY: the big mapping is RW and BIG bytes long.
        if unsafe { verify(big + p * PAGE, PAGE, seed) }.is_err() {
            return Err(p);
        }
    }
    Ok(())
}

fn main(args: Args) -> i32 {
    let me = getpid();
    check("getpid() > 0", me > 0);

    // Private anonymous page, a shared anonymous mapping of 3 pages (0: control words,
    // 1: data, 2: left untouched until the child writes it), the big mapping.
    let Some(private) = expect_ok("mmap private page", mmap_anon(PAGE, RW)) else {
        return finish();
    };
    // SAFETY: fresh RW mapping.
    unsafe { fill(private, PAGE, 0x111) };
    let Some(shared) = expect_ok(
        "mmap MAP_SHARED|MAP_ANONYMOUS 3 pages",
        mmap(0, 3 * PAGE, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0),
    ) else {
        return finish();
    };
    // SAFETY: fresh RW mapping.
    unsafe { fill(shared + PAGE, PAGE, 0x222) };
    // SAFETY: page 0 of the shared mapping, never unmapped.
    let (child_ready, parent_wrote, parent_shared) = unsafe {
        (
            shared_word(shared),
            shared_word(shared + 4),
            shared_word(shared + 8),
        )
    };

    let Some(raw) = expect_ok("mmap 6 MiB", mmap_anon(6 * MIB, RW)) else {
        return finish();
    };
    let big = (raw + 2 * MIB - 1) & !(2 * MIB - 1);
    if big > raw {
        let _ = munmap(raw, big - raw);
    }
    let _ = munmap(big + BIG, raw + 6 * MIB - (big + BIG));
    for p in 0..BIG / PAGE {
        // SAFETY: [big, big + 4 MiB) is inside the RW mapping.
        unsafe { fill(big + p * PAGE, PAGE, 0xB16) };
    }
    check(
        "4 MiB private mapping, 2 MiB aligned, filled before fork",
        big % (2 * MIB) == 0 && big_ok(big, &[]).is_ok(),
    );

    // The PL011 through /dev/mem.
    let uart_phys = args.env_usize("UART_PHYS").unwrap_or(0x0900_0000);
    let uart = open(c"/dev/mem", O_RDWR | O_SYNC, 0)
        .ok()
        .and_then(|fd| mmap(0, PAGE, RW, MAP_SHARED, fd, uart_phys as u64).ok());
    // SAFETY: the UART's register page, mapped shared; PeriphID0 is read-only.
    let id_before = uart.map(|u| unsafe { peek32(u + 0xFE0) } & 0xff);
    check_detail(
        "/dev/mem: PL011 UARTPeriphID0 = 0x11 before fork",
        id_before == Some(0x11),
        format_args!("read {id_before:x?}"),
    );

    let pid = match fork() {
        Err(e) => {
            check_detail("fork", false, format_args!("{}", errno::name(e)));
            return finish();
        }
        Ok(0) => {
            // ---- child ----
            reset_counts();
            check("child: fork returned 0", true);
            check("child: getppid() is the parent", getppid() == me);
            check("child: getpid() differs from the parent's", getpid() != me);
            check(
                "child: inherited initialised data",
                rd(&raw const VALUE) == 1,
            );
            wr(&raw mut VALUE, 2);
            check(
                "child: reads its own write to .data",
                rd(&raw const VALUE) == 2,
            );
            // SAFETY: inherited RW mapping.
            unsafe {
                check(
                    "child: inherited private page contents",
                    verify(private, PAGE, 0x111).is_ok(),
                );
                fill(private, PAGE, 0x333);
                check(
                    "child: reads its own write to the private page",
                    verify(private, PAGE, 0x333).is_ok(),
                );
                check(
                    "child: inherited the whole 4 MiB mapping",
                    big_ok(big, &[]).is_ok(),
                );
                fill(big + CHILD_PAGE * PAGE, PAGE, 0xC4);
            }
            let r = big_ok(big, &[(CHILD_PAGE, 0xC4)]);
            check_detail(
                "child: in the 4 MiB mapping only the page it wrote changed",
                r.is_ok(),
                format_args!("page {r:?}"),
            );
            // SAFETY: the shared mapping.
            unsafe {
                check(
                    "child: sees shared data written before fork",
                    verify(shared + PAGE, PAGE, 0x222).is_ok(),
                );
                poke32(shared + PAGE, 0xC1C1_C1C1);
                fill(shared + 2 * PAGE, PAGE, 0xC2);
            }
            if let Some(u) = uart {
                // SAFETY: the inherited UART mapping.
                let id = unsafe { peek32(u + 0xFE0) } & 0xff;
                check_detail(
                    "child: /dev/mem PL011 mapping inherited, PeriphID0 = 0x11",
                    id == 0x11,
                    format_args!("read {id:#x}"),
                );
            }
            child_ready.store(1, SeqCst);
            wait_flag(parent_wrote);
            check(
                "child: the parent's write to .data after fork is not visible",
                rd(&raw const VALUE2) == 5,
            );
            // SAFETY: inherited RW mapping.
            unsafe {
                check(
                    "child: the parent's write to the 4 MiB mapping after fork is not visible",
                    verify(big + PARENT_PAGE * PAGE, PAGE, 0xB16).is_ok(),
                );
            }
            check(
                "child: the parent's write to shared memory after fork is visible",
                parent_shared.load(SeqCst) == 0x5A5A_5A5A,
            );
            child_exit();
        }
        Ok(pid) => pid,
    };

    // ---- parent: no output until the child is reaped ----
    wr(&raw mut VALUE2, 6);
    // SAFETY: our RW mapping.
    unsafe { fill(big + PARENT_PAGE * PAGE, PAGE, 0x9A) };
    parent_shared.store(0x5A5A_5A5A, SeqCst);
    parent_wrote.store(1, SeqCst);
    let mut status = -1;
    let reaped = wait4(pid as isize, &mut status, 0);

    check("parent: fork returned a pid != own", pid != me);
    check_detail(
        "parent: wait4 returned the child's pid",
        reaped == Ok(pid),
        format_args!("got {}", Res(reaped)),
    );
    check_detail(
        "parent: the child exited 0 (all its checks passed)",
        wifexited(status) && wexitstatus(status) == 0,
        format_args!("{}", WaitStatus(status)),
    );
    check(
        "parent: child_ready was seen",
        child_ready.load(SeqCst) == 1,
    );
    check(
        "parent: .data unchanged by the child's write",
        rd(&raw const VALUE) == 1,
    );
    check(
        "parent: its own write after fork",
        rd(&raw const VALUE2) == 6,
    );
    // SAFETY: our mappings.
    unsafe {
        check(
            "parent: private page unchanged by the child's write",
            verify(private, PAGE, 0x111).is_ok(),
        );
        let r = big_ok(big, &[(PARENT_PAGE, 0x9A)]);
        check_detail(
            "parent: 4 MiB mapping intact except the page it wrote itself",
            r.is_ok(),
            format_args!("page {r:?}"),
        );
        check(
            "parent: sees the child's write to shared data",
            peek32(shared + PAGE) == 0xC1C1_C1C1,
        );
        check(
            "parent: sees the shared page the child touched first",
            verify(shared + 2 * PAGE, PAGE, 0xC2).is_ok(),
        );
    }
    if let Some(u) = uart {
        // SAFETY: the UART mapping.
        let id = unsafe { peek32(u + 0xFE0) } & 0xff;
        check("parent: PL011 PeriphID0 still 0x11 after fork", id == 0x11);
    }

    // The exit code travels in wait4's status: exit(42) -> WIFEXITED, WEXITSTATUS 42.
    match fork() {
        Ok(0) => exit(42),
        Ok(pid) => {
            let mut st = -1;
            let r = wait4(pid as isize, &mut st, 0);
            check_detail(
                "wait4: child's exit(42) gives WIFEXITED, WEXITSTATUS 42 (status 0x2a00)",
                r == Ok(pid) && wifexited(st) && wexitstatus(st) == 42 && st == 0x2a00,
                format_args!("{} {}", Res(r), WaitStatus(st)),
            );
        }
        Err(e) => {
            check_detail("second fork", false, format_args!("{}", errno::name(e)));
        }
    }
    let mut st = 0;
    expect_err(
        "wait4 with no child left -> ECHILD",
        wait4(-1, &mut st, 0),
        errno::ECHILD,
    );
    finish()
}
