//! 1000 fork + exit + wait4 cycles, the children exiting with `i & 0xff` (checked), then
//! 20 children alive at once reaped with wait4(-1). More processes over the program's
//! life than ARMv7-A has ASIDs (256): each child also reads a value the parent set just
//! before the fork and writes its own copy (stale translations from a reused ASID would
//! show as a wrong value: the child then exits with `(i & 0xff) ^ 0x80`).
//! Linux 6.1's output: user/oracle/fork_many.*.txt.
#![no_std]
#![no_main]

use armmu_user::*;

entry!(main);

const CYCLES: u32 = 1000;
const AT_ONCE: usize = 20;

static mut VALUE: u32 = 0;

fn rd() -> u32 {
    // SAFETY: our own static, volatile so every access happens.
    unsafe { core::ptr::read_volatile(&raw const VALUE) }
}
fn wr(v: u32) {
    // SAFETY: as above.
    unsafe { core::ptr::write_volatile(&raw mut VALUE, v) }
}

fn main(_args: Args) -> i32 {
    let me = getpid();
    let mut done = 0;
    let mut first_bad: Option<(u32, Result<usize, i32>, i32)> = None;
    let mut last_pid = 0;
    for i in 0..CYCLES {
        wr(i);
        match fork() {
            Ok(0) => {
                let code = (i & 0xff) as i32;
                let ok = rd() == i && getppid() == me;
                wr(!i);
                let ok = ok && rd() == !i;
                exit(if ok { code } else { code ^ 0x80 });
            }
            Ok(pid) => {
                let mut st = -1;
                let r = wait4(pid as isize, &mut st, 0);
                if r == Ok(pid) && wifexited(st) && wexitstatus(st) == (i & 0xff) as i32 {
                    done += 1;
                } else if first_bad.is_none() {
                    first_bad = Some((i, r, st));
                }
                last_pid = pid;
                if rd() != i {
                    first_bad.get_or_insert((i, Err(0), -2));
                }
            }
            Err(e) => {
                first_bad.get_or_insert((i, Err(e), -1));
                break;
            }
        }
    }
    println!("fork_many: {done} of {CYCLES} fork+exit+wait4 cycles completed");
    match first_bad {
        None => check("1000 cycles: every child exited with i & 0xff", true),
        Some((i, r, st)) => check_detail(
            "1000 cycles: every child exited with i & 0xff",
            false,
            format_args!("cycle {i}: wait4 {} {}", Res(r), WaitStatus(st)),
        ),
    };
    check("the last child's pid differs from ours", last_pid != me);

    // Many children alive at once.
    let mut pids = [0usize; AT_ONCE];
    let mut forked = 0;
    for (k, p) in pids.iter_mut().enumerate() {
        match fork() {
            Ok(0) => {
                // Stay alive a little so they overlap.
                let _ = nanosleep_ns(10_000_000);
                exit(100 + k as i32);
            }
            Ok(pid) => {
                *p = pid;
                forked += 1;
            }
            Err(_) => break,
        }
    }
    let mut seen = [false; AT_ONCE];
    let mut reaped = 0;
    for _ in 0..forked {
        let mut st = -1;
        if let Ok(pid) = wait4(-1, &mut st, 0) {
            if let Some(k) = pids.iter().position(|&p| p == pid) {
                if wifexited(st) && wexitstatus(st) == 100 + k as i32 && !seen[k] {
                    seen[k] = true;
                    reaped += 1;
                }
            }
        }
    }
    check_detail(
        "20 children alive at once, reaped by wait4(-1) with their own exit codes",
        forked == AT_ONCE && reaped == AT_ONCE,
        format_args!("forked {forked}, reaped {reaped}"),
    );
    let distinct = (0..AT_ONCE).all(|a| (0..a).all(|b| pids[a] != pids[b]));
    check("their pids are distinct", distinct);
    let mut st = 0;
    expect_err(
        "then wait4(-1) -> ECHILD",
        wait4(-1, &mut st, 0),
        errno::ECHILD,
    );
    finish()
}
