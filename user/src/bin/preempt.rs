//! Preemption: the parent forks a child that busy-loops forever without a syscall
//! (counting in shared memory); the parent yields, sleeps 10 ms five times, busy-waits
//! 100 ms on clock_gettime, and sees the child's counter move both while it slept and
//! while it spun itself (the kernel preempted one process for the other); then SIGKILL,
//! wait4 reports 9. On a kernel without preemption this hangs (the harness's timeout
//! catches it). Linux 6.1's output: user/oracle/preempt.*.txt.
#![no_std]
#![no_main]

use armmu_user::sys::*;
use armmu_user::*;
use core::sync::atomic::Ordering::Relaxed;

entry!(main);

const MS: u64 = 1_000_000;

fn main(_args: Args) -> i32 {
    let Some(shm) = expect_ok(
        "mmap MAP_SHARED|MAP_ANONYMOUS",
        mmap(
            0,
            PAGE,
            PROT_READ | PROT_WRITE,
            MAP_SHARED | MAP_ANONYMOUS,
            -1,
            0,
        ),
    ) else {
        return finish();
    };
    // SAFETY: a word of the shared page, never unmapped.
    let counter = unsafe { shared_word(shm) };
    let pid = match fork() {
        Ok(0) => loop {
            // No syscall, ever.
            counter.store(counter.load(Relaxed).wrapping_add(1), Relaxed);
        },
        Ok(pid) => pid,
        Err(e) => {
            check_detail("fork", false, format_args!("{}", errno::name(e)));
            return finish();
        }
    };
    let mut yields_ok = true;
    for _ in 0..10 {
        yields_ok &= sched_yield() == Ok(0);
    }
    let c0 = counter.load(Relaxed);
    let mut sleeps_ok = true;
    for _ in 0..5 {
        sleeps_ok &= nanosleep_ns(10 * MS) == Ok(0);
    }
    let c1 = counter.load(Relaxed);
    let t0 = now_ns();
    let mut spins = 0u64;
    // Bounded by a count too, so a failing clock_gettime cannot hang the program.
    while now_ns().saturating_sub(t0) < 100 * MS && spins < 10_000_000 {
        spins += 1;
    }
    let spun_ns = now_ns().saturating_sub(t0);
    let c2 = counter.load(Relaxed);
    let k = kill(pid as isize, SIGKILL);
    let mut st = -1;
    let r = wait4(pid as isize, &mut st, 0);

    check("sched_yield x10 -> 0", yields_ok);
    check("nanosleep 10 ms x5 -> 0", sleeps_ok);
    check("the child ran while the parent slept", c1 != c0 || c0 != 0);
    check_detail(
        "the child ran while the parent busy-waited 100 ms (the parent was preempted)",
        c2 != c1,
        format_args!("counter {c1} -> {c2}"),
    );
    check_detail(
        "the parent's clock_gettime loop ran for >= 100 ms",
        spins > 0 && spun_ns >= 100 * MS,
        format_args!("{spins} calls, {spun_ns} ns"),
    );
    check("kill(child, SIGKILL) -> 0", k == Ok(0));
    check_detail(
        "wait4: the spinning child was killed by SIGKILL",
        r == Ok(pid) && wifsignaled(st) && wtermsig(st) == SIGKILL,
        format_args!("{} {}", Res(r), WaitStatus(st)),
    );
    finish()
}
