//! The errno cases of mmap(2), munmap(2), mprotect(2) and a few others, as Linux returns
//! them (validated under qemu-arm / qemu-aarch64 where qemu-user models Linux faithfully).
//!
//! `USER_TOP=0x...` overrides the first address above user space used by the
//! "MAP_FIXED beyond user space" check (default: armmu's limit, [`armmu_user::USER_TOP`]:
//! 0x8000_0000 on ARMv7-A, 0x80_0000_0000 on AArch64; Linux ARM armmp: 0xbf000000, Linux
//! arm64 with 48-bit VAs: 0x1000000000000). With the default, the last page below the
//! limit must also be mappable (armmu's layout leaves it free), so the probe sits exactly
//! on the limit.
//!
//! `ioctl(1, TCGETS)`: on Linux booted with `console=ttyAMA0`, and on armmu, fd 1 of
//! `/init` is the console, a tty, so the answer is 0 and a termios whose c_lflag is the
//! console's default 0x8a3b (ISIG ICANON ECHO ECHOE ECHOK ECHOCTL ECHOKE IEXTEN).
//! `TTY=0` expects `ENOTTY` instead, for a stdout that is no terminal (qemu-user with
//! its output in a pipe).
#![no_std]
#![no_main]

use armmu_user::errno::*;
use armmu_user::sys::*;
use armmu_user::{
    check_detail, entry, expect_err, expect_ok, finish, mmap, mprotect, munmap, println, Res, PAGE,
};

entry!(main);

const RW: u32 = PROT_READ | PROT_WRITE;
const ANON: u32 = MAP_PRIVATE | MAP_ANONYMOUS;

fn main(args: armmu_user::Args) -> i32 {
    // A scratch mapping for the cases that need a valid one.
    let Some(a) = expect_ok("scratch mmap", armmu_user::mmap_anon(2 * PAGE, RW)) else {
        return finish();
    };

    // --- mmap ---
    expect_err("mmap len 0 -> EINVAL", mmap(0, 0, RW, ANON, -1, 0), EINVAL);
    expect_err(
        "mmap MAP_FIXED unaligned addr -> EINVAL",
        mmap(a + 1, PAGE, RW, ANON | MAP_FIXED, -1, 0),
        EINVAL,
    );
    expect_err(
        "mmap map type 0 -> EINVAL",
        mmap(0, PAGE, RW, MAP_ANONYMOUS, -1, 0),
        EINVAL,
    );
    expect_err(
        "mmap map type 0xf -> EINVAL",
        mmap(0, PAGE, RW, MAP_ANONYMOUS | 0xf, -1, 0),
        EINVAL,
    );
    expect_err(
        "mmap bad fd 99 -> EBADF",
        mmap(0, PAGE, RW, MAP_SHARED, 99, 0),
        EBADF,
    );
    expect_err(
        "mmap fd -1 without MAP_ANONYMOUS -> EBADF",
        mmap(0, PAGE, RW, MAP_PRIVATE, -1, 0),
        EBADF,
    );
    let absurd = usize::MAX & !0xffff; // 0xFFFF0000 on 32-bit
    expect_err(
        "mmap absurd length -> ENOMEM",
        mmap(0, absurd, RW, ANON, -1, 0),
        ENOMEM,
    );
    let top = usize::MAX & !(PAGE - 1);
    expect_err(
        "mmap MAP_FIXED wrapping the address space -> ENOMEM",
        mmap(top, 2 * PAGE, RW, ANON | MAP_FIXED, -1, 0),
        ENOMEM,
    );
    let given = args.env_usize("USER_TOP");
    let user_top = given.unwrap_or(armmu_user::USER_TOP);
    let r = mmap(user_top, PAGE, RW, ANON | MAP_FIXED, -1, 0);
    check_detail(
        "mmap MAP_FIXED beyond user space -> ENOMEM",
        r == Err(ENOMEM),
        format_args!("at {user_top:#x} got {}, expected ENOMEM=12", Res(r)),
    );
    let r = mmap(user_top - PAGE, 2 * PAGE, RW, ANON | MAP_FIXED, -1, 0);
    check_detail(
        "mmap MAP_FIXED across the end of user space -> ENOMEM",
        r == Err(ENOMEM),
        format_args!(
            "at {:#x} got {}, expected ENOMEM=12",
            user_top - PAGE,
            Res(r)
        ),
    );
    if given.is_none() {
        // armmu's own limit: the page just below it is user space and free.
        let last = user_top - PAGE;
        let r = mmap(last, PAGE, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0);
        check_detail(
            "mmap MAP_FIXED_NOREPLACE of the last user page -> that page",
            r == Ok(last),
            format_args!("at {last:#x} got {}", Res(r)),
        );
        if r == Ok(last) {
            expect_ok("munmap the last user page", munmap(last, PAGE));
        }
    }
    #[cfg(target_arch = "aarch64")]
    expect_err(
        "mmap offset not page aligned -> EINVAL",
        mmap(0, PAGE, RW, ANON, -1, 1),
        EINVAL,
    );

    // --- munmap ---
    expect_err("munmap unaligned -> EINVAL", munmap(a + 1, PAGE), EINVAL);
    expect_err("munmap len 0 -> EINVAL", munmap(a, 0), EINVAL);
    expect_err(
        "munmap beyond the address space -> EINVAL",
        munmap(top, 2 * PAGE),
        EINVAL,
    );

    // --- mprotect ---
    expect_err(
        "mprotect unaligned -> EINVAL",
        mprotect(a + 1, PAGE, PROT_READ),
        EINVAL,
    );
    expect_ok("mprotect len 0 -> 0", mprotect(a, 0, PROT_READ));
    expect_err(
        "mprotect unknown prot bits -> EINVAL",
        mprotect(a, PAGE, RW | 0x1000),
        EINVAL,
    );
    expect_ok("munmap scratch", munmap(a, 2 * PAGE));
    expect_err(
        "mprotect unmapped range -> ENOMEM",
        mprotect(a, PAGE, PROT_READ),
        ENOMEM,
    );

    // --- other syscalls ---
    // SAFETY: an unknown syscall number has no effect.
    let r = armmu_user::decode(unsafe { armmu_user::syscall0(999) });
    expect_err("unknown syscall 999 -> ENOSYS", r, ENOSYS);
    #[cfg(target_arch = "arm")]
    {
        // SAFETY: unassigned ARM private syscall (0xf0000..0xf07ff give ENOSYS, not SIGILL).
        let r = armmu_user::decode(unsafe { armmu_user::syscall0(0xf07ff) });
        expect_err("unknown ARM private syscall 0xf07ff -> ENOSYS", r, ENOSYS);
    }
    let mut termios = [0u8; 64];
    // SAFETY: TCGETS writes at most sizeof(struct termios) (36..60 bytes) into the buffer.
    let r = unsafe { armmu_user::ioctl(1, TCGETS, termios.as_mut_ptr() as usize) };
    println!(
        "# ioctl(1, TCGETS) = {} ({})",
        Res(r),
        if r.is_ok() {
            "stdout is a tty"
        } else {
            "not a tty"
        }
    );
    if args.env("TTY") == Some(b"0".as_slice()) {
        expect_err("ioctl(stdout, TCGETS) -> ENOTTY (not a tty)", r, ENOTTY);
    } else {
        // The console tty (armmu, and Linux with console=ttyAMA0).
        check_detail(
            "ioctl(stdout, TCGETS) -> 0 (the console is a tty)",
            r == Ok(0),
            format_args!("got {}", Res(r)),
        );
        let lflag = u32::from_le_bytes([termios[12], termios[13], termios[14], termios[15]]);
        check_detail(
            "TCGETS c_lflag of the console -> 0x8a3b",
            lflag == 0x8a3b,
            format_args!("got {lflag:#x}"),
        );
    }
    expect_err("ioctl on a bad fd -> EBADF", unsafe_ioctl(99), EBADF);
    expect_err("close a bad fd -> EBADF", armmu_user::close(99), EBADF);

    finish()
}

fn unsafe_ioctl(fd: i32) -> Result<usize, i32> {
    let mut termios = [0u8; 64];
    // SAFETY: as above; the fd is not open so nothing is written.
    unsafe { armmu_user::ioctl(fd, TCGETS, termios.as_mut_ptr() as usize) }
}
