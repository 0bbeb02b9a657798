//! armmu-only policies (NOT Linux behaviour: Linux allows W+X and, with CAP_SYS_RAWIO and
//! without STRICT_DEVMEM, /dev/mem of RAM):
//! * W^X: PROT_WRITE|PROT_EXEC is refused with EACCES by mmap and mprotect;
//! * /dev/mem maps only device memory: RAM (`RAM_PHYS`, default 0x4000_0000) gives EPERM;
//! * /dev/mem opened O_RDONLY cannot be mapped PROT_WRITE MAP_SHARED: EACCES (this one is
//!   also what Linux does for any file opened read-only).
//!
//! `UART_PHYS=0x...` overrides the device page used (default 0x0900_0000, the PL011).
#![no_std]
#![no_main]

use armmu_user::errno::*;
use armmu_user::sys::*;
use armmu_user::{entry, expect_err, expect_ok, finish, mmap, mprotect, munmap, println, PAGE};

entry!(main);

const ANON: u32 = MAP_PRIVATE | MAP_ANONYMOUS;

fn main(args: armmu_user::Args) -> i32 {
    // --- W^X ---
    for (name, prot) in [
        (
            "mmap PROT_WRITE|PROT_EXEC -> EACCES",
            PROT_WRITE | PROT_EXEC,
        ),
        (
            "mmap PROT_READ|PROT_WRITE|PROT_EXEC -> EACCES",
            PROT_READ | PROT_WRITE | PROT_EXEC,
        ),
    ] {
        let r = mmap(0, PAGE, prot, ANON, -1, 0);
        expect_err(name, r, EACCES);
        if let Ok(va) = r {
            munmap(va, PAGE).ok();
        }
    }
    if let Some(a) = expect_ok(
        "mmap PROT_READ|PROT_EXEC is allowed",
        mmap(0, PAGE, PROT_READ | PROT_EXEC, ANON, -1, 0),
    ) {
        expect_err(
            "mprotect R|X -> R|W|X -> EACCES",
            mprotect(a, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC),
            EACCES,
        );
        expect_ok(
            "mprotect R|X -> R|W is allowed",
            mprotect(a, PAGE, PROT_READ | PROT_WRITE),
        );
        expect_err(
            "mprotect R|W -> W|X -> EACCES",
            mprotect(a, PAGE, PROT_WRITE | PROT_EXEC),
            EACCES,
        );
        expect_ok(
            "mprotect R|W -> R|X is allowed",
            mprotect(a, PAGE, PROT_READ | PROT_EXEC),
        );
        expect_ok("munmap", munmap(a, PAGE));
    }

    // --- /dev/mem ---
    let uart = args.env_usize("UART_PHYS").unwrap_or(0x0900_0000) as u64;
    let ram = args.env_usize("RAM_PHYS").unwrap_or(0x4000_0000) as u64;
    if let Some(fd) = expect_ok(
        "open /dev/mem O_RDWR|O_SYNC",
        armmu_user::open(c"/dev/mem", O_RDWR | O_SYNC, 0).map(|fd| fd as usize),
    ) {
        let fd = fd as i32;
        let r = mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, ram);
        expect_err("mmap /dev/mem of RAM -> EPERM", r, EPERM);
        let r = mmap(0, PAGE, PROT_READ, MAP_SHARED, fd, ram);
        expect_err("mmap /dev/mem of RAM read-only -> EPERM", r, EPERM);
        if let Some(va) = expect_ok(
            "mmap /dev/mem of the UART (RW)",
            mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, uart),
        ) {
            expect_err(
                "mprotect device mapping to W|X -> EACCES",
                mprotect(va, PAGE, PROT_WRITE | PROT_EXEC),
                EACCES,
            );
            expect_ok("munmap UART", munmap(va, PAGE));
        }
        armmu_user::close(fd).ok();
    }
    if let Some(fd) = expect_ok(
        "open /dev/mem O_RDONLY",
        armmu_user::open(c"/dev/mem", O_RDONLY, 0).map(|fd| fd as usize),
    ) {
        let fd = fd as i32;
        let r = mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, uart);
        expect_err(
            "mmap O_RDONLY /dev/mem PROT_WRITE MAP_SHARED -> EACCES",
            r,
            EACCES,
        );
        if let Some(va) = expect_ok(
            "mmap O_RDONLY /dev/mem PROT_READ MAP_SHARED",
            mmap(0, PAGE, PROT_READ, MAP_SHARED, fd, uart),
        ) {
            expect_err(
                "mprotect it to PROT_WRITE -> EACCES",
                mprotect(va, PAGE, PROT_READ | PROT_WRITE),
                EACCES,
            );
            expect_ok("munmap", munmap(va, PAGE));
        }
        armmu_user::close(fd).ok();
    }
    println!("# policy checks are armmu policy, not Linux behaviour");
    finish()
}
