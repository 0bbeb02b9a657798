//! The seed example of the processes issue: the parent maps MAP_SHARED|MAP_ANONYMOUS
//! memory holding a futex-based semaphore and 16 ints, forks; the child writes 2*i into
//! slot i and posts the semaphore after each; the parent waits on it (FUTEX_WAIT, no
//! spinning) and reads the slots. Both print the values (the child before it exits, the
//! parent after it reaped the child, so the order is fixed); exit 0 if the parent read
//! 0, 2, 4, ..., 30. Linux 6.1's output: user/oracle/shm_ipc.*.txt.
#![no_std]
#![no_main]

use armmu_user::sys::*;
use armmu_user::*;
use core::fmt::Write;
use core::sync::atomic::AtomicU32;
use core::sync::atomic::Ordering::SeqCst;

entry!(main);

const N: usize = 16;

/// A counting semaphore in shared memory (shared, not private, futex operations).
struct Sem<'a> {
    count: &'a AtomicU32,
}

impl Sem<'_> {
    fn post(&self) {
        self.count.fetch_add(1, SeqCst);
        let _ = futex_wake(self.count, 1, false);
    }

    /// Returns how many FUTEX_WAITs actually slept (returned 0).
    fn wait(&self) -> u32 {
        let mut slept = 0;
        loop {
            let c = self.count.load(SeqCst);
            if c > 0 {
                if self
                    .count
                    .compare_exchange(c, c - 1, SeqCst, SeqCst)
                    .is_ok()
                {
                    return slept;
                }
                continue;
            }
            if futex_wait(self.count, 0, false, None) == Ok(0) {
                slept += 1;
            }
        }
    }
}

fn values_line(who: &str, verb: &str, v: &[u32; N]) {
    let mut w = FdWriter::new(1);
    let _ = write!(w, "shm_ipc {who}: {verb}");
    for x in v {
        let _ = write!(w, " {x}");
    }
    let _ = writeln!(w);
}

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
    // SAFETY: word 0 of the shared page (never unmapped): the semaphore; words 1..=16:
    // the data.
    let sem = Sem {
        count: unsafe { shared_word(shm) },
    };
    // SAFETY: as above.
    let slot = |i: usize| unsafe { shared_word(shm + 4 * (1 + i)) };

    let pid = match fork() {
        Err(e) => {
            check_detail("fork", false, format_args!("{}", errno::name(e)));
            return finish();
        }
        Ok(0) => {
            // Give the parent time to block in FUTEX_WAIT first.
            let _ = nanosleep_ns(20_000_000);
            let mut wrote = [0u32; N];
            for (i, w) in wrote.iter_mut().enumerate() {
                *w = 2 * i as u32;
                slot(i).store(*w, SeqCst);
                sem.post();
            }
            values_line("child", "wrote", &wrote);
            exit(0);
        }
        Ok(pid) => pid,
    };

    let mut read = [0u32; N];
    let mut slept = 0;
    for (i, r) in read.iter_mut().enumerate() {
        slept += sem.wait();
        *r = slot(i).load(SeqCst);
    }
    let mut st = -1;
    let reaped = wait4(pid as isize, &mut st, 0);
    values_line("parent", "read", &read);
    let want: [u32; N] = core::array::from_fn(|i| 2 * i as u32);
    check("parent read 0, 2, 4, ..., 30", read == want);
    check(
        "the parent slept in FUTEX_WAIT at least once (no spinning)",
        slept > 0,
    );
    check("the semaphore is back to 0", sem.count.load(SeqCst) == 0);
    check_detail(
        "wait4: the child exited 0",
        reaped == Ok(pid) && wifexited(st) && wexitstatus(st) == 0,
        format_args!("{} {}", Res(reaped), WaitStatus(st)),
    );
    finish()
}
