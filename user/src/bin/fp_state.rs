//! User FP/SIMD state (AArch64: v0-v31, FPCR, FPSR) is the process's own: it survives
//! (a) syscalls (the fast path and the general one), (b) page faults (first touch of
//! anonymous memory, a copy-on-write fault), (c) context switches to another process
//! holding different values, both voluntary (blocked in `read` on a pipe) and forced
//! (a timer interrupt preempting a busy loop), (d) a signal handler that clobbers every
//! FP/SIMD register and FPCR/FPSR (rt_sigreturn puts them back), and it is exactly
//! what the signal frame's `fpsimd_context` shows the handler; values a handler writes
//! there are the ones rt_sigreturn installs; (e) fork gives the child the parent's state.
//!
//! Each check loads a pattern into all 32 registers and FPCR/FPSR in one `asm!` block,
//! runs a list of operations (syscalls, memory touches, spins on shared memory) without
//! leaving the block (no compiler-generated code can touch the registers in between),
//! stores the registers and compares them with the pattern it loaded. The expected
//! values are simply the values set (FPCR/FPSR: as read back right after setting, since
//! a CPU may not implement every bit). Self-checking, no Linux oracle: Linux 6.1 keeps
//! all of this too (arch/arm64/kernel/fpsimd.c, signal.c).
//!
//! On ARMv7-A the program only says it is AArch64-specific.
#![no_std]
#![no_main]

use armmu_user::*;

entry!(main);

#[cfg(not(target_arch = "aarch64"))]
fn main(_args: Args) -> i32 {
    println!("# fp_state: AArch64 only");
    finish()
}

#[cfg(target_arch = "aarch64")]
fn main(_args: Args) -> i32 {
    a64::main()
}

#[cfg(target_arch = "aarch64")]
mod a64 {
    use armmu_user::process::*;
    use armmu_user::sys::*;
    use armmu_user::*;
    use core::ffi::c_void;
    use core::sync::atomic::Ordering::SeqCst;
    use core::sync::atomic::{AtomicU32, AtomicUsize};

    /// One operation run inside the asm block: a syscall (`nr`, x0-x2 = `a`; x3, x4 = 0),
    /// or one of the special kinds below. `ret` is x0 afterwards.
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Op {
        nr: u64,
        a: [u64; 3],
        ret: u64,
    }
    /// Load and store back the word at a[0] (a page fault on a fresh or COW page).
    const TOUCH: u64 = u64::MAX;
    /// Spin until the word at a[0] is non-zero (no syscall: only preemption ends it).
    const SPIN: u64 = u64::MAX - 1;
    /// Store a[1] to the word at a[0].
    const STORE: u64 = u64::MAX - 2;

    fn sys(nr: usize, a: [u64; 3]) -> Op {
        Op {
            nr: nr as u64,
            a,
            ret: 0,
        }
    }

    /// The asm block's data; offsets fixed (checked below).
    #[repr(C, align(16))]
    struct Run {
        q: [u128; 32],   // 0
        fpcr: u64,       // 512
        fpsr: u64,       // 520
        ops: *mut Op,    // 528
        n: usize,        // 536
        out: [u128; 32], // 544
        out_fpcr: u64,   // 1056
        out_fpsr: u64,   // 1064
        set_fpcr: u64,   // 1072: FPCR/FPSR as read back right after setting them
        set_fpsr: u64,   // 1080
    }
    const _: () = {
        assert!(core::mem::offset_of!(Run, fpcr) == 512);
        assert!(core::mem::offset_of!(Run, ops) == 528);
        assert!(core::mem::offset_of!(Run, out) == 544);
        assert!(core::mem::offset_of!(Run, out_fpcr) == 1056);
        assert!(core::mem::offset_of!(Run, set_fpcr) == 1072);
    };

    /// A pattern no two registers, halves or seeds share.
    fn pattern(seed: u64) -> [u128; 32] {
        let mut q = [0u128; 32];
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        for v in q.iter_mut() {
            let mut half = || {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x
            };
            *v = (half() as u128) << 64 | half() as u128;
        }
        q
    }

    /// FPCR values: AHP | DN | FZ | RMode (differs per seed); FPSR: QC and cumulative
    /// flags (differs per seed).
    fn fpcr_of(seed: u64) -> u64 {
        (0b111 << 24) | ((seed & 3) << 22)
    }
    fn fpsr_of(seed: u64) -> u64 {
        (1 << 27) | (0x9f & !(seed & 0x7))
    }

    /// Load the pattern of `seed`, run `ops`, store what the registers hold.
    fn run(seed: u64, ops: &mut [Op]) -> Run {
        let mut r = Run {
            q: pattern(seed),
            fpcr: fpcr_of(seed),
            fpsr: fpsr_of(seed),
            ops: ops.as_mut_ptr(),
            n: ops.len(),
            out: [0; 32],
            out_fpcr: 0,
            out_fpsr: 0,
            set_fpcr: 0,
            set_fpsr: 0,
        };
        // SAFETY: `r` and `ops` are live and laid out as the offsets say; the block
        // restores the caller's FPCR and FPSR before it ends and declares every other
        // register it changes. The operations are syscalls and accesses the caller chose.
        unsafe {
            core::arch::asm!(
                "mrs x21, fpcr",
                "mrs x22, fpsr",
                "ldp q0, q1, [x20, #0]",
                "ldp q2, q3, [x20, #32]",
                "ldp q4, q5, [x20, #64]",
                "ldp q6, q7, [x20, #96]",
                "ldp q8, q9, [x20, #128]",
                "ldp q10, q11, [x20, #160]",
                "ldp q12, q13, [x20, #192]",
                "ldp q14, q15, [x20, #224]",
                "ldp q16, q17, [x20, #256]",
                "ldp q18, q19, [x20, #288]",
                "ldp q20, q21, [x20, #320]",
                "ldp q22, q23, [x20, #352]",
                "ldp q24, q25, [x20, #384]",
                "ldp q26, q27, [x20, #416]",
                "ldp q28, q29, [x20, #448]",
                "ldp q30, q31, [x20, #480]",
                "ldr x9, [x20, #512]",
                "ldr x10, [x20, #520]",
                "msr fpcr, x9",
                "msr fpsr, x10",
                "mrs x9, fpcr",
                "mrs x10, fpsr",
                "str x9, [x20, #1072]",
                "str x10, [x20, #1080]",
                "ldr x23, [x20, #528]",
                "ldr x24, [x20, #536]",
                "2:",
                "cbz x24, 9f",
                "ldp x8, x0, [x23]",
                "ldp x1, x2, [x23, #16]",
                "mov x3, xzr",
                "mov x4, xzr",
                "cmn x8, #1",
                "b.eq 3f",
                "cmn x8, #2",
                "b.eq 4f",
                "cmn x8, #3",
                "b.eq 5f",
                "svc #0",
                "b 8f",
                "3:",
                "ldr x9, [x0]",
                "str x9, [x0]",
                "b 8f",
                "4:",
                "ldr x9, [x0]",
                "cbz x9, 4b",
                "b 8f",
                "5:",
                "str x1, [x0]",
                "8:",
                "str x0, [x23, #32]",
                "add x23, x23, #40",
                "sub x24, x24, #1",
                "b 2b",
                "9:",
                "add x11, x20, #544",
                "stp q0, q1, [x11, #0]",
                "stp q2, q3, [x11, #32]",
                "stp q4, q5, [x11, #64]",
                "stp q6, q7, [x11, #96]",
                "stp q8, q9, [x11, #128]",
                "stp q10, q11, [x11, #160]",
                "stp q12, q13, [x11, #192]",
                "stp q14, q15, [x11, #224]",
                "stp q16, q17, [x11, #256]",
                "stp q18, q19, [x11, #288]",
                "stp q20, q21, [x11, #320]",
                "stp q22, q23, [x11, #352]",
                "stp q24, q25, [x11, #384]",
                "stp q26, q27, [x11, #416]",
                "stp q28, q29, [x11, #448]",
                "stp q30, q31, [x11, #480]",
                "mrs x9, fpcr",
                "mrs x10, fpsr",
                "str x9, [x20, #1056]",
                "str x10, [x20, #1064]",
                "msr fpcr, x21",
                "msr fpsr, x22",
                inout("x20") &mut r as *mut Run => _,
                out("x21") _, out("x22") _, out("x23") _, out("x24") _,
                out("x0") _, out("x1") _, out("x2") _, out("x3") _, out("x4") _,
                out("x8") _, out("x9") _, out("x10") _, out("x11") _,
                out("v0") _, out("v1") _, out("v2") _, out("v3") _,
                out("v4") _, out("v5") _, out("v6") _, out("v7") _,
                out("v8") _, out("v9") _, out("v10") _, out("v11") _,
                out("v12") _, out("v13") _, out("v14") _, out("v15") _,
                out("v16") _, out("v17") _, out("v18") _, out("v19") _,
                out("v20") _, out("v21") _, out("v22") _, out("v23") _,
                out("v24") _, out("v25") _, out("v26") _, out("v27") _,
                out("v28") _, out("v29") _, out("v30") _, out("v31") _,
            );
        }
        r
    }

    /// Whether the registers came back as loaded; on failure, the first difference.
    fn same(name: &str, r: &Run) -> bool {
        let bad = (0..32).find(|&i| r.out[i] != r.q[i]);
        let ok = bad.is_none() && r.out_fpcr == r.set_fpcr && r.out_fpsr == r.set_fpsr;
        let i = bad.unwrap_or(0);
        check_detail(
            name,
            ok,
            format_args!(
                "first differing v{} = {:#034x}, set {:#034x}; fpcr {:#x}, set {:#x}; fpsr {:#x}, set {:#x}",
                bad.map_or(-1, |i| i as i32),
                r.out[i],
                r.q[i],
                r.out_fpcr,
                r.set_fpcr,
                r.out_fpsr,
                r.set_fpsr
            ),
        )
    }

    // A handler that clobbers every FP/SIMD register, FPCR and FPSR and returns to the
    // restorer (rt_sigreturn) without restoring anything.
    core::arch::global_asm!(
        ".global fp_state_clobber",
        "fp_state_clobber:",
        "movi v0.16b, #0xa5",
        "movi v1.16b, #0xa5",
        "movi v2.16b, #0xa5",
        "movi v3.16b, #0xa5",
        "movi v4.16b, #0xa5",
        "movi v5.16b, #0xa5",
        "movi v6.16b, #0xa5",
        "movi v7.16b, #0xa5",
        "movi v8.16b, #0xa5",
        "movi v9.16b, #0xa5",
        "movi v10.16b, #0xa5",
        "movi v11.16b, #0xa5",
        "movi v12.16b, #0xa5",
        "movi v13.16b, #0xa5",
        "movi v14.16b, #0xa5",
        "movi v15.16b, #0xa5",
        "movi v16.16b, #0xa5",
        "movi v17.16b, #0xa5",
        "movi v18.16b, #0xa5",
        "movi v19.16b, #0xa5",
        "movi v20.16b, #0xa5",
        "movi v21.16b, #0xa5",
        "movi v22.16b, #0xa5",
        "movi v23.16b, #0xa5",
        "movi v24.16b, #0xa5",
        "movi v25.16b, #0xa5",
        "movi v26.16b, #0xa5",
        "movi v27.16b, #0xa5",
        "movi v28.16b, #0xa5",
        "movi v29.16b, #0xa5",
        "movi v30.16b, #0xa5",
        "movi v31.16b, #0xa5",
        "mov x9, #0x00400000",
        "msr fpcr, x9",
        "mov x9, #0x1f",
        "msr fpsr, x9",
        "adrp x9, {calls}",
        "add x9, x9, :lo12:{calls}",
        "ldr w10, [x9]",
        "add w10, w10, #1",
        "str w10, [x9]",
        "ret",
        calls = sym CLOBBER_CALLS,
    );
    extern "C" {
        fn fp_state_clobber(sig: i32);
    }
    static CLOBBER_CALLS: AtomicU32 = AtomicU32::new(0);

    // Offsets in the AArch64 rt_sigframe's ucontext (Linux's uapi sigcontext.h).
    const UC_MCONTEXT: usize = 176;
    const FPSIMD: usize = UC_MCONTEXT + 288;

    /// What the SA_SIGINFO handler found in the frame's fpsimd_context: 1 = as loaded,
    /// 2 = something else; and the seed whose pattern it writes there instead.
    static FRAME_SEEN: AtomicU32 = AtomicU32::new(0);
    static FRAME_SEED: AtomicUsize = AtomicUsize::new(0);
    static FRAME_REWRITE: AtomicUsize = AtomicUsize::new(0);

    /// Compare the frame's fpsimd_context with the pattern of FRAME_SEED, then (when
    /// FRAME_REWRITE is non-zero) write the pattern of that seed there for rt_sigreturn.
    /// Its own code may use the FP/SIMD registers freely.
    extern "C" fn on_frame(_sig: i32, _info: *mut SigInfo, uc: *mut c_void) {
        let fp = uc as usize + FPSIMD;
        let seed = FRAME_SEED.load(SeqCst) as u64;
        let want = pattern(seed);
        // SAFETY: the kernel passed its ucontext; fpsimd_context is the first record.
        let ok = unsafe {
            let magic = (fp as *const u32).read_volatile();
            let size = ((fp + 4) as *const u32).read_volatile();
            let fpsr = ((fp + 8) as *const u32).read_volatile() as u64;
            let fpcr = ((fp + 12) as *const u32).read_volatile() as u64;
            let regs_ok =
                (0..32).all(|i| ((fp + 16 + 16 * i) as *const u128).read_unaligned() == want[i]);
            magic == 0x4650_8001
                && size == 528
                && fpcr == fpcr_of(seed) & FPCR_KEPT.load(SeqCst) as u64
                && fpsr == fpsr_of(seed) & FPSR_KEPT.load(SeqCst) as u64
                && regs_ok
        };
        FRAME_SEEN.store(if ok { 1 } else { 2 }, SeqCst);
        let new = FRAME_REWRITE.load(SeqCst) as u64;
        if new != 0 {
            let q = pattern(new);
            // SAFETY: as above: the frame's writable fpsimd_context.
            unsafe {
                ((fp + 8) as *mut u32).write_volatile(fpsr_of(new) as u32);
                ((fp + 12) as *mut u32).write_volatile(fpcr_of(new) as u32);
                for (i, v) in q.iter().enumerate() {
                    ((fp + 16 + 16 * i) as *mut u128).write_unaligned(*v);
                }
            }
        }
    }
    /// The FPCR/FPSR bits this CPU keeps (from a first run).
    static FPCR_KEPT: AtomicUsize = AtomicUsize::new(!0);
    static FPSR_KEPT: AtomicUsize = AtomicUsize::new(!0);

    fn mmap_page(flags: u32) -> usize {
        mmap(
            0,
            PAGE,
            PROT_READ | PROT_WRITE,
            flags | MAP_ANONYMOUS,
            -1,
            0,
        )
        .unwrap_or(0)
    }

    pub fn main() -> i32 {
        // Which FPCR/FPSR bits the CPU keeps (the rest read as zero).
        let r = run(1, &mut []);
        same("fp/simd registers as loaded, no operation", &r);
        FPCR_KEPT.store((r.set_fpcr | !fpcr_of(1)) as usize & 0xffff_ffff, SeqCst);
        FPSR_KEPT.store((r.set_fpsr | !fpsr_of(1)) as usize & 0xffff_ffff, SeqCst);

        // (a) syscalls: getpid (the fast path), close(-1) (the general path: EBADF),
        // sched_yield with nothing else runnable.
        let mut ops = [
            sys(GETPID, [0; 3]),
            sys(CLOSE, [u64::MAX, 0, 0]),
            sys(SCHED_YIELD, [0; 3]),
            sys(GETPID, [0; 3]),
        ];
        let r = run(2, &mut ops);
        same("fp/simd registers survive syscalls", &r);
        check_detail(
            "the syscalls inside ran (close(-1) = EBADF)",
            ops[0].ret == ops[3].ret && ops[1].ret as i64 == -9,
            format_args!("getpid {} close {}", ops[0].ret, ops[1].ret as i64),
        );

        // (b) page faults: first touches of two fresh anonymous pages.
        let p1 = mmap_page(MAP_PRIVATE);
        let p2 = mmap_page(MAP_PRIVATE);
        let mut ops = [
            Op {
                nr: TOUCH,
                a: [p1 as u64, 0, 0],
                ret: 0,
            },
            Op {
                nr: TOUCH,
                a: [p2 as u64 + 8, 0, 0],
                ret: 0,
            },
        ];
        same("fp/simd registers survive page faults", &run(3, &mut ops));

        // (d) a handler that clobbers them all, run on the return from kill(getpid()).
        let me = getpid() as u64;
        let _ = sigaction(SIGUSR1, fp_state_clobber as *const () as usize, 0, 0);
        let mut ops = [sys(KILL, [me, SIGUSR1 as u64, 0]), sys(GETPID, [0; 3])];
        let r = run(4, &mut ops);
        check_detail(
            "the clobbering handler ran",
            CLOBBER_CALLS.load(SeqCst) == 1,
            format_args!("{} calls", CLOBBER_CALLS.load(SeqCst)),
        );
        same(
            "fp/simd registers restored by rt_sigreturn after a clobbering handler",
            &r,
        );

        // The frame's fpsimd_context holds exactly the interrupted registers; values the
        // handler writes there are the ones rt_sigreturn installs.
        let _ = sigaction(SIGUSR2, on_frame as *const () as usize, SA_SIGINFO, 0);
        FRAME_SEED.store(5, SeqCst);
        let mut ops = [sys(KILL, [me, SIGUSR2 as u64, 0])];
        let r = run(5, &mut ops);
        check_detail(
            "the signal frame's fpsimd_context holds the interrupted fp/simd registers",
            FRAME_SEEN.load(SeqCst) == 1,
            format_args!("handler saw {}", FRAME_SEEN.load(SeqCst)),
        );
        same(
            "fp/simd registers restored by rt_sigreturn (SA_SIGINFO handler)",
            &r,
        );
        FRAME_SEED.store(6, SeqCst);
        FRAME_REWRITE.store(7, SeqCst);
        FRAME_SEEN.store(0, SeqCst);
        let mut ops = [sys(KILL, [me, SIGUSR2 as u64, 0])];
        let mut r = run(6, &mut ops);
        FRAME_REWRITE.store(0, SeqCst);
        check(
            "the handler saw the second frame",
            FRAME_SEEN.load(SeqCst) == 1,
        );
        // Expected now: the pattern the handler wrote.
        r.q = pattern(7);
        r.set_fpcr = fpcr_of(7) & FPCR_KEPT.load(SeqCst) as u64;
        r.set_fpsr = fpsr_of(7) & FPSR_KEPT.load(SeqCst) as u64;
        same(
            "rt_sigreturn installs the fp/simd values the handler wrote in the frame",
            &r,
        );

        // (e) fork: the child starts with the parent's registers (fork inside the block;
        // the child then takes a copy-on-write fault on a page the parent wrote).
        let cow = mmap_page(MAP_PRIVATE);
        // SAFETY: a fresh private page.
        unsafe { poke(cow, 1) };
        let mut ops = [
            sys(CLONE, [SIGCHLD as u64, 0, 0]),
            Op {
                nr: TOUCH,
                a: [cow as u64, 0, 0],
                ret: 0,
            },
        ];
        let r = run(8, &mut ops);
        if ops[0].ret == 0 {
            reset_counts();
            same(
                "child: fp/simd registers inherited at fork, kept over a COW fault",
                &r,
            );
            child_exit();
        }
        same("parent: fp/simd registers survive fork", &r);
        wait_child("fork child");

        // (c) context switches. Voluntary: the parent blocks in read() until the
        // child (running with its own values) writes, and the child blocks until the
        // parent writes again.
        let mut p = [0i32; 4];
        // SAFETY: pipe2 writes two ints.
        let ok1 = unsafe { syscall2(PIPE2, p.as_mut_ptr() as usize, 0) } == 0;
        // SAFETY: as above.
        let ok2 = unsafe { syscall2(PIPE2, p[2..].as_mut_ptr() as usize, 0) } == 0;
        check("two pipes", ok1 && ok2);
        let (to_child_r, to_child_w, to_parent_r, to_parent_w) =
            (p[0] as u64, p[1] as u64, p[2] as u64, p[3] as u64);
        let mut byte = [0u8; 1];
        let b = byte.as_mut_ptr() as u64;
        match fork() {
            Ok(0) => {
                reset_counts();
                let _ = read(to_child_r as i32, &mut byte);
                let mut ops = [
                    sys(WRITE, [to_parent_w, b, 1]),
                    sys(READ, [to_child_r, b, 1]),
                ];
                let r = run(10, &mut ops);
                same(
                    "child: fp/simd registers survive blocking in read (switches)",
                    &r,
                );
                child_exit();
            }
            Ok(_) => {
                let mut ops = [
                    sys(WRITE, [to_child_w, b, 1]),
                    sys(READ, [to_parent_r, b, 1]),
                    sys(WRITE, [to_child_w, b, 1]),
                ];
                let r = run(9, &mut ops);
                same(
                    "parent: fp/simd registers survive blocking in read (switches)",
                    &r,
                );
                check("parent: the child answered", ops[1].ret == 1);
                wait_child("pipe child");
            }
            Err(e) => {
                check_detail("fork", false, format_args!("{e}"));
            }
        }

        // Forced: both spin on shared memory without a syscall; only the timer
        // interrupt's preemption lets the other run.
        let shm = mmap_page(MAP_SHARED);
        let (w0, w1) = (shm as u64, shm as u64 + 8);
        match fork() {
            Ok(0) => {
                reset_counts();
                let mut ops = [
                    Op {
                        nr: STORE,
                        a: [w0, 1, 0],
                        ret: 0,
                    },
                    Op {
                        nr: SPIN,
                        a: [w1, 0, 0],
                        ret: 0,
                    },
                ];
                let r = run(12, &mut ops);
                same("child: fp/simd registers survive preemption", &r);
                child_exit();
            }
            Ok(_) => {
                let mut ops = [
                    Op {
                        nr: SPIN,
                        a: [w0, 0, 0],
                        ret: 0,
                    },
                    Op {
                        nr: STORE,
                        a: [w1, 1, 0],
                        ret: 0,
                    },
                ];
                let r = run(11, &mut ops);
                same("parent: fp/simd registers survive preemption", &r);
                wait_child("spinning child");
            }
            Err(e) => {
                check_detail("fork", false, format_args!("{e}"));
            }
        }
        finish()
    }

    fn wait_child(what: &str) {
        let mut status = -1;
        let r = wait4(-1, &mut status, 0);
        check_detail(
            what,
            r.is_ok() && status == 0,
            format_args!("wait4 {} status {status:#x}", Res(r)),
        );
    }

    const PIPE2: usize = 59;
}
