//! Children that die: a NULL load -> wait4 sees WIFSIGNALED, WTERMSIG 11 (SIGSEGV); a
//! store to a read-only page -> 11; a load from a kernel address -> 11; `udf` -> 4
//! (SIGILL); SIGKILL from the parent (child asleep in nanosleep, then a child spinning)
//! -> 9; SIGTERM, default action -> 15. The status is exactly the signal number (no core
//! dump: Linux's RLIMIT_CORE for init is 0). Linux 6.1's output:
//! user/oracle/child_fault.*.txt.
#![no_std]
#![no_main]

use armmu_user::sys::*;
use armmu_user::*;

entry!(main);

fn spawn(f: fn()) -> Option<usize> {
    match fork() {
        Ok(0) => {
            f();
            // Survived: must not happen.
            println!("child_fault: UNEXPECTED: the child survived");
            exit(100)
        }
        Ok(pid) => Some(pid),
        Err(e) => {
            check_detail("fork", false, format_args!("{}", errno::name(e)));
            None
        }
    }
}

fn expect_signal(name: &str, pid: Option<usize>, sig: i32) {
    let Some(pid) = pid else { return };
    let mut st = -1;
    let r = wait4(pid as isize, &mut st, 0);
    check_detail(
        name,
        r == Ok(pid) && wifsignaled(st) && wtermsig(st) == sig && st == sig,
        format_args!("wait4 {} {}", Res(r), WaitStatus(st)),
    );
}

fn null_load() {
    fault::read(0);
}

fn ro_store() {
    if let Ok(a) = mmap_anon(PAGE, PROT_READ) {
        fault::write(a, 1);
    }
}

fn kernel_load() {
    fault::read(KERNEL_ADDR);
}

fn undef() {
    fault::undef();
}

fn sleep_forever() {
    loop {
        let _ = nanosleep_ns(1_000_000_000);
    }
}

fn spin_forever() {
    let mut x = 0u32;
    loop {
        x = core::hint::black_box(x.wrapping_add(1));
    }
}

fn main(_args: Args) -> i32 {
    expect_signal(
        "child loads from NULL -> WIFSIGNALED, WTERMSIG 11 (SIGSEGV)",
        spawn(null_load),
        SIGSEGV,
    );
    expect_signal(
        "child stores to a read-only page -> SIGSEGV",
        spawn(ro_store),
        SIGSEGV,
    );
    expect_signal(
        "child loads from a kernel address -> SIGSEGV",
        spawn(kernel_load),
        SIGSEGV,
    );
    expect_signal(
        "child executes udf -> WTERMSIG 4 (SIGILL)",
        spawn(undef),
        SIGILL,
    );

    let pid = spawn(sleep_forever);
    if let Some(p) = pid {
        let _ = nanosleep_ns(20_000_000);
        let r = kill(p as isize, SIGKILL);
        check("kill(child, SIGKILL) -> 0", r == Ok(0));
    }
    expect_signal(
        "sleeping child killed by SIGKILL -> WTERMSIG 9",
        pid,
        SIGKILL,
    );

    let pid = spawn(spin_forever);
    if let Some(p) = pid {
        let _ = nanosleep_ns(20_000_000);
        let _ = kill(p as isize, SIGKILL);
    }
    expect_signal(
        "spinning child killed by SIGKILL -> WTERMSIG 9",
        pid,
        SIGKILL,
    );

    let pid = spawn(sleep_forever);
    if let Some(p) = pid {
        let _ = nanosleep_ns(20_000_000);
        let _ = kill(p as isize, SIGTERM);
    }
    expect_signal(
        "child killed by SIGTERM (default action) -> WTERMSIG 15",
        pid,
        SIGTERM,
    );

    // A SIGTERM sent before the child ever ran still kills it.
    let pid = spawn(sleep_forever);
    if let Some(p) = pid {
        let _ = kill(p as isize, SIGTERM);
    }
    expect_signal("SIGTERM sent right after fork -> WTERMSIG 15", pid, SIGTERM);

    // The reaped pid is gone: kill -> ESRCH.
    if let Some(p) = pid {
        expect_err(
            "kill(reaped pid, 0) -> ESRCH",
            kill(p as isize, 0),
            errno::ESRCH,
        );
    }
    check("kill(own pid, 0) -> 0", kill(getpid() as isize, 0) == Ok(0));
    finish()
}
