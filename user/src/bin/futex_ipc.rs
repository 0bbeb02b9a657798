//! futex(2): FUTEX_WAIT with a changed value -> EAGAIN, FUTEX_WAIT with a timeout ->
//! ETIMEDOUT after at least that long (clock_gettime), FUTEX_WAKE returns the number
//! woken; waits and wakes between processes on MAP_SHARED memory (shared futexes), and
//! FUTEX_PRIVATE_FLAG: a private wake does not reach another process's shared waiter.
//! Every expectation is Linux 6.1's (user/oracle/futex_ipc.*.txt).
#![no_std]
#![no_main]

use armmu_user::errno::*;
use armmu_user::sys::*;
use armmu_user::*;
use core::sync::atomic::AtomicU32;
use core::sync::atomic::Ordering::SeqCst;

entry!(main);

const CHILDREN: usize = 3;
const MS: u64 = 1_000_000;

static LOCAL: AtomicU32 = AtomicU32::new(7);

fn timed_wait(name: &str, word: &AtomicU32, private: bool) {
    let t0 = now_ns();
    let r = futex_wait(word, word.load(SeqCst), private, Some(50 * MS));
    let dt = now_ns() - t0;
    check_detail(
        name,
        r == Err(ETIMEDOUT) && dt >= 50 * MS,
        format_args!("{} after {} ns", Res(r), dt),
    );
}

fn main(_args: Args) -> i32 {
    // ---- one process ----
    for private in [true, false] {
        let (eagain, wake0, timeout) = if private {
            (
                "FUTEX_WAIT|PRIVATE with a changed value -> EAGAIN",
                "FUTEX_WAKE|PRIVATE with no waiter -> 0",
                "FUTEX_WAIT|PRIVATE 50 ms timeout -> ETIMEDOUT after >= 50 ms",
            )
        } else {
            (
                "FUTEX_WAIT (non-private) with a changed value -> EAGAIN",
                "FUTEX_WAKE (non-private) with no waiter -> 0",
                "FUTEX_WAIT (non-private) 50 ms timeout -> ETIMEDOUT after >= 50 ms",
            )
        };
        expect_err(eagain, futex_wait(&LOCAL, 8, private, None), EAGAIN);
        check(wake0, futex_wake(&LOCAL, 1, private) == Ok(0));
        timed_wait(timeout, &LOCAL, private);
    }
    // SAFETY: deliberately misaligned / NULL futex words: the kernel must refuse them.
    unsafe {
        let a = LOCAL.as_ptr() as usize + 1;
        expect_err(
            "FUTEX_WAIT on a misaligned word -> EINVAL",
            futex(a, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 0, 0, 0, 0),
            EINVAL,
        );
        expect_err(
            "FUTEX_WAIT on NULL -> EFAULT",
            futex(0, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 0, 0, 0, 0),
            EFAULT,
        );
    }

    // ---- between processes, on shared memory ----
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
    // SAFETY: words of the shared page, which is never unmapped.
    let (word, arrived) = unsafe { (shared_word(shm), shared_word(shm + 4)) };
    let mut pids = [0usize; CHILDREN];
    for p in pids.iter_mut() {
        match fork() {
            Ok(0) => {
                arrived.fetch_add(1, SeqCst);
                // Woken: 0. Exit 0 only for a real wake-up (the word never changes).
                let r = futex_wait(word, 0, false, None);
                exit(if r == Ok(0) { 0 } else { 1 });
            }
            Ok(pid) => *p = pid,
            Err(e) => {
                check_detail("fork", false, format_args!("{}", name(e)));
                return finish();
            }
        }
    }
    while arrived.load(SeqCst) < CHILDREN as u32 {
        let _ = sched_yield();
    }
    // Let all three reach FUTEX_WAIT.
    let _ = nanosleep_ns(100 * MS);
    let private_wake = futex_wake(word, 100, true);
    let wake1 = futex_wake(word, 1, false);
    let mut st = -1;
    let first = wait4(-1, &mut st, 0);
    let first_st = st;
    let wake_rest = futex_wake(word, i32::MAX as u32, false);
    let mut rest_ok = true;
    for _ in 1..CHILDREN {
        let r = wait4(-1, &mut st, 0);
        rest_ok &= r.is_ok() && pids.contains(&r.unwrap_or(0)) && st == 0;
    }
    check_detail(
        "FUTEX_WAKE|PRIVATE does not wake other processes' shared waiters -> 0",
        private_wake == Ok(0),
        format_args!("{}", Res(private_wake)),
    );
    check_detail(
        "FUTEX_WAKE(1) with 3 processes waiting -> 1",
        wake1 == Ok(1),
        format_args!("{}", Res(wake1)),
    );
    check_detail(
        "the woken child's FUTEX_WAIT returned 0 and it exited 0",
        first.is_ok() && pids.contains(&first.unwrap_or(0)) && first_st == 0,
        format_args!("{} {}", Res(first), WaitStatus(first_st)),
    );
    check_detail(
        "FUTEX_WAKE(INT_MAX) -> the 2 still waiting",
        wake_rest == Ok(2),
        format_args!("{}", Res(wake_rest)),
    );
    check("the other two children were woken (exit 0)", rest_ok);

    // A child waits with a timeout that the parent's wake beats.
    word.store(0, SeqCst);
    arrived.store(0, SeqCst);
    match fork() {
        Ok(0) => {
            arrived.store(1, SeqCst);
            let r = futex_wait(word, 0, false, Some(5_000 * MS));
            exit(if r == Ok(0) { 0 } else { 1 });
        }
        Ok(pid) => {
            while arrived.load(SeqCst) == 0 {
                let _ = sched_yield();
            }
            let _ = nanosleep_ns(50 * MS);
            let w = futex_wake(word, 1, false);
            let r = wait4(pid as isize, &mut st, 0);
            check_detail(
                "a timed FUTEX_WAIT in a child is woken before its timeout -> 0",
                w == Ok(1) && r == Ok(pid) && st == 0,
                format_args!("wake {} wait4 {} {}", Res(w), Res(r), WaitStatus(st)),
            );
        }
        Err(e) => {
            check_detail("fork", false, format_args!("{}", name(e)));
        }
    }
    finish()
}
