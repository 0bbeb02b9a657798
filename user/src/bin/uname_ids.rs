//! uname (the call succeeds, every field is NUL-terminated; sysname and release are
//! printed, not checked: armmu prints its own; machine is "armv7l" / "aarch64" like
//! Linux on these CPUs), the ids of init (getuid/getgid/geteuid/getegid == 0, gettid ==
//! getpid, getppid == 0 for pid 1), clock_gettime (monotonic increases, realtime works),
//! nanosleep (20 ms takes >= 20 ms; a bad tv_nsec -> EINVAL), sched_yield.
//! Linux 6.1's output: user/oracle/uname_ids.*.txt.
#![no_std]
#![no_main]

use armmu_user::errno::*;
use armmu_user::sys::*;
use armmu_user::*;

entry!(main);

fn main(_args: Args) -> i32 {
    let mut u = Utsname {
        sysname: [0xff; 65],
        nodename: [0xff; 65],
        release: [0xff; 65],
        version: [0xff; 65],
        machine: [0xff; 65],
        domainname: [0xff; 65],
    };
    check("uname -> 0", uname(&mut u) == Ok(0));
    let fields = [
        &u.sysname,
        &u.nodename,
        &u.release,
        &u.version,
        &u.machine,
        &u.domainname,
    ];
    check(
        "every utsname field is NUL-terminated UTF-8",
        fields.iter().all(|f| field_str(&f[..]).is_some()),
    );
    println!(
        "# uname: sysname={:?} release={:?} machine={:?}",
        field_str(&u.sysname).unwrap_or("?"),
        field_str(&u.release).unwrap_or("?"),
        field_str(&u.machine).unwrap_or("?"),
    );
    check(
        "sysname is not empty",
        field_str(&u.sysname).is_some_and(|s| !s.is_empty()),
    );
    #[cfg(target_arch = "arm")]
    let machine = "armv7l";
    #[cfg(target_arch = "aarch64")]
    let machine = "aarch64";
    check_detail(
        "machine is armv7l (ARM) / aarch64 (arm64)",
        field_str(&u.machine) == Some(machine),
        format_args!("{:?}", field_str(&u.machine)),
    );

    check("getuid() == 0", getuid() == Ok(0));
    check("getgid() == 0", getgid() == Ok(0));
    check("geteuid() == 0", geteuid() == Ok(0));
    check("getegid() == 0", getegid() == Ok(0));
    let pid = getpid();
    check("gettid() == getpid()", gettid() == pid);
    if pid == 1 {
        check("init (pid 1): getppid() == 0", getppid() == 0);
    }

    let t1 = clock_gettime_ns(CLOCK_MONOTONIC);
    let mut x = 0u32;
    for i in 0..100_000u32 {
        x = core::hint::black_box(x.wrapping_add(i));
    }
    let t2 = clock_gettime_ns(CLOCK_MONOTONIC);
    check(
        "clock_gettime(CLOCK_MONOTONIC) increases",
        matches!((t1, t2), (Ok(a), Ok(b)) if b > a),
    );
    check(
        "clock_gettime(CLOCK_REALTIME) works",
        clock_gettime_ns(CLOCK_REALTIME).is_ok(),
    );
    let t0 = now_ns();
    let r = nanosleep_ns(20_000_000);
    let dt = now_ns() - t0;
    check_detail(
        "nanosleep 20 ms -> 0 after >= 20 ms",
        r == Ok(0) && dt >= 20_000_000,
        format_args!("{} after {dt} ns", Res(r)),
    );
    let bad = Timespec {
        sec: 0,
        nsec: 1_000_000_000,
    };
    expect_err(
        "nanosleep with tv_nsec = 1e9 -> EINVAL",
        nanosleep(&bad, None),
        EINVAL,
    );
    let mut rem = Timespec { sec: 9, nsec: 9 };
    check(
        "nanosleep 1 ms with rem -> 0",
        nanosleep(&Timespec::from_ns(1_000_000), Some(&mut rem)) == Ok(0),
    );
    check("sched_yield -> 0", sched_yield() == Ok(0));
    finish()
}
