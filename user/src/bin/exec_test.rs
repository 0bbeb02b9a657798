//! execve(2): a missing path -> ENOENT, a directory and /dev/null -> EACCES, the process
//! goes on; a forked child execs this same program (argv[0]) with argv (an empty string
//! among them) and envp, and the new image checks them, that its pid did not change,
//! that its memory is fresh (initialised data back to the ELF value, a MAP_FIXED mapping
//! of the old image gone), that a handled signal is reset to SIG_DFL while SIG_IGN and
//! the blocked mask are kept, then exits 23, which the parent's wait4 sees; vfork +
//! execve (exit 24); at the end pid 1 itself execs a "final" image that carries the
//! counts and prints `# passed`. Linux 6.1's output: user/oracle/exec_test.*.txt.
#![no_std]
#![no_main]

use armmu_user::errno::*;
use armmu_user::sys::*;
use armmu_user::*;
use core::ffi::CStr;

entry!(main);

const FIXED: usize = 0x3000_0000;

/// Initialised data: the parent's child changes it before execve.
static mut INIT: u32 = 0x1234_5678;

extern "C" fn nop(_sig: i32) {}

/// A decimal number as a NUL-terminated string in `buf`.
fn num(buf: &mut [u8; 24], mut v: usize) -> *const u8 {
    let mut i = buf.len() - 1;
    buf[i] = 0;
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf[i..].as_ptr()
}

fn main(args: Args) -> i32 {
    match args.arg(1) {
        Some(b"child") => exec_child(args),
        Some(b"vchild") => exit(if args.argc == 2 { 24 } else { 1 }),
        Some(b"final") => final_image(args),
        _ => parent(args),
    }
}

fn parent(args: Args) -> i32 {
    // SAFETY: argv[0] is a NUL-terminated string for the process's lifetime.
    let self_path = unsafe { CStr::from_ptr(*args.argv as *const core::ffi::c_char) };
    let argv0 = self_path.as_ptr() as *const u8;
    let no_env: [*const u8; 1] = [core::ptr::null()];
    let argv_min: [*const u8; 2] = [argv0, core::ptr::null()];

    // SAFETY: valid argument arrays; on failure execve returns.
    unsafe {
        let e = execve(c"/nonexistent/prog", argv_min.as_ptr(), no_env.as_ptr());
        check_detail(
            "execve(missing path) -> ENOENT, the process continues",
            e == ENOENT,
            format_args!("{}", name(e)),
        );
        let e = execve(c"/", argv_min.as_ptr(), no_env.as_ptr());
        check_detail(
            "execve(\"/\") -> EACCES",
            e == EACCES,
            format_args!("{}", name(e)),
        );
        let e = execve(c"/dev/null", argv_min.as_ptr(), no_env.as_ptr());
        check_detail(
            "execve(/dev/null) -> EACCES",
            e == EACCES,
            format_args!("{}", name(e)),
        );
    }

    match fork() {
        Ok(0) => {
            // Prepare what the new image must (not) inherit.
            // SAFETY: our own static.
            unsafe { core::ptr::write_volatile(&raw mut INIT, 99) };
            let _ = mmap(
                FIXED,
                PAGE,
                PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                -1,
                0,
            );
            let _ = signal(SIGUSR1, nop, 0);
            let _ = sigaction(SIGUSR2, SIG_IGN, 0, 0);
            let _ = rt_sigprocmask(SIG_BLOCK, Some(sigbit(SIGTERM)));
            let mut pidbuf = [0u8; 24];
            let mut env_pid = [0u8; 40];
            env_pid[..11].copy_from_slice(b"PID_BEFORE=");
            let p = num(&mut pidbuf, getpid());
            // SAFETY: `p` is a NUL-terminated string inside pidbuf.
            let digits = unsafe { CStr::from_ptr(p as *const core::ffi::c_char) }.to_bytes();
            env_pid[11..11 + digits.len()].copy_from_slice(digits);
            let argv: [*const u8; 5] = [
                argv0,
                c"child".as_ptr() as *const u8,
                c"arg two".as_ptr() as *const u8,
                c"".as_ptr() as *const u8,
                core::ptr::null(),
            ];
            let envp: [*const u8; 4] = [
                c"EXEC_TEST=1".as_ptr() as *const u8,
                c"FOO=bar baz".as_ptr() as *const u8,
                env_pid.as_ptr(),
                core::ptr::null(),
            ];
            // SAFETY: valid NULL-terminated arrays of strings.
            let e = unsafe { execve(self_path, argv.as_ptr(), envp.as_ptr()) };
            println!("exec_test: execve of itself failed: {}", name(e));
            exit(1);
        }
        Ok(pid) => {
            let r = waitpid(pid as isize);
            check_detail(
                "fork + execve(self, argv, envp): the new image exits 23, seen by wait4",
                r.map(|(p, s)| p == pid && wifexited(s) && wexitstatus(s) == 23) == Ok(true),
                format_args!("{:?}", r.map(|(p, s)| (p, s))),
            );
        }
        Err(e) => {
            check_detail("fork", false, format_args!("{}", name(e)));
        }
    }

    let vargv: [*const u8; 3] = [argv0, c"vchild".as_ptr() as *const u8, core::ptr::null()];
    // SAFETY: valid arrays that outlive the call.
    let r = unsafe { vfork_exec(self_path, vargv.as_ptr(), no_env.as_ptr()) };
    match r {
        Ok(pid) => {
            let w = waitpid(pid as isize);
            check_detail(
                "vfork + execve: the new image exits 24",
                w.map(|(p, s)| p == pid && wifexited(s) && wexitstatus(s) == 24) == Ok(true),
                format_args!("{:?}", w),
            );
        }
        Err(e) => {
            check_detail("vfork", false, format_args!("{}", name(e)));
        }
    }

    // The initial process replaces itself; the final image prints `# passed`.
    let mut pb = [0u8; 24];
    let mut fb = [0u8; 24];
    let mut ib = [0u8; 24];
    let pass = num(&mut pb, passes() as usize);
    let fail = num(&mut fb, failures() as usize);
    let pid = num(&mut ib, getpid());
    let fargv: [*const u8; 6] = [
        argv0,
        c"final".as_ptr() as *const u8,
        pass,
        fail,
        pid,
        core::ptr::null(),
    ];
    // SAFETY: valid arrays.
    let e = unsafe { execve(self_path, fargv.as_ptr(), no_env.as_ptr()) };
    check_detail(
        "the initial process execs its final image",
        false,
        format_args!("{}", name(e)),
    );
    finish()
}

fn exec_child(args: Args) -> i32 {
    check("exec child: argc == 4", args.argc == 4);
    check(
        "exec child: argv[1..] == \"child\", \"arg two\", \"\"",
        args.arg(1) == Some(b"child")
            && args.arg(2) == Some(b"arg two")
            && args.arg(3) == Some(b""),
    );
    let n = args.envs().count();
    check(
        "exec child: exactly the 3 environment strings given",
        n == 3,
    );
    check(
        "exec child: EXEC_TEST=1 and FOO=bar baz",
        args.env("EXEC_TEST") == Some(b"1") && args.env("FOO") == Some(b"bar baz"),
    );
    check(
        "exec child: the pid did not change across execve",
        args.env_usize("PID_BEFORE") == Some(getpid()),
    );
    check(
        "exec child: initialised data has its ELF value again",
        // SAFETY: our own static.
        unsafe { core::ptr::read_volatile(&raw const INIT) } == 0x1234_5678,
    );
    let m = mmap(
        FIXED,
        PAGE,
        PROT_READ,
        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
        -1,
        0,
    );
    check(
        "exec child: the old image's mapping at 0x30000000 is gone",
        m == Ok(FIXED),
    );
    let mut a = KSigAction::default();
    let _ = rt_sigaction(SIGUSR1, None, Some(&mut a));
    check(
        "exec child: a handled signal is reset to SIG_DFL",
        a.handler == SIG_DFL,
    );
    let _ = rt_sigaction(SIGUSR2, None, Some(&mut a));
    check("exec child: SIG_IGN is kept", a.handler == SIG_IGN);
    check(
        "exec child: the blocked mask is kept (SIGTERM)",
        rt_sigprocmask(SIG_BLOCK, None).map(|m| m & sigbit(SIGTERM)) == Ok(sigbit(SIGTERM)),
    );
    if failures() == 0 {
        23
    } else {
        1
    }
}

fn final_image(args: Args) -> i32 {
    let n = |i: usize| args.arg(i).and_then(parse_usize);
    add_counts(n(2).unwrap_or(0) as u32, n(3).unwrap_or(1) as u32);
    check(
        "final image: execve by the initial process kept its pid",
        n(4) == Some(getpid()),
    );
    check("final image: no environment", args.envs().count() == 0);
    finish()
}
