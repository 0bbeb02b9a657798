//! Expected values come from mmap(2), munmap(2), mprotect(2) and the
//! Linux sources they describe, not from this implementation.
use super::*;
use crate::drivers::chardev::{MappedTypes, PrivateData};
use crate::drivers::devmem::DevMem;

const TASK: usize = 0xC000_0000; // 3 GiB user space, ARMv7 VMSPLIT_3G.
const UART: (u64, u64) = (0x0900_0000, 0x0900_1000);
const GIC: (u64, u64) = (0x0800_0000, 0x0802_0000);
const GIC2: (u64, u64) = (0x0802_0000, 0x0804_0000); // adjacent to GIC
const WINDOWS: [(u64, u64); 3] = [UART, GIC, GIC2];
const RAM: u64 = 0x4000_0000;

const FD_MEM_RW: i32 = 3;
const FD_MEM_RO: i32 = 4;
const FD_MEM_WO: i32 = 5;
const FD_MEM_SYNC: i32 = 6;
const FD_ZERO: i32 = 7;
const FD_FILE: i32 = 8;
const FD_FILE_WO: i32 = 9;
const FD_CONSOLE: i32 = 1;
const FD_CLOSED: i32 = 10;
const FD_MEM_DSYNC: i32 = 11;
const FD_ZERO_RO: i32 = 12;
const FD_ZERO_WO: i32 = 13;
const FD_ZERO_RW_SYNC: i32 = 14;
const FD_REG_RO: i32 = 15;
const FD_REG_WO: i32 = 16;
const FD_REG_RW: i32 = 17;
/// Opened with O_ACCMODE (3): Linux gives such an fd neither FMODE_READ
/// nor FMODE_WRITE (`OPEN_FMODE`).
const FD_REG_NONE: i32 = 18;
const REG_ID: crate::mm::shm::ShmId = 77;

/// `/dev/mem` over the test's windows, as the VFS hands it to `mmap`.
static DEV_MEM: DevMem = DevMem::new(&WINDOWS);
/// `/dev/mem` on a board without device windows.
static DEV_MEM_NONE: DevMem = DevMem::new(&[]);
static WORD: PrivateData = PrivateData::new(0);

fn dev_mem(flags: u32) -> Option<FdKind<'static>> {
    Some(FdKind::Driver {
        dev: &DEV_MEM,
        flags,
        private: &WORD,
        mapped: MappedTypes::NONE,
    })
}

fn fds(fd: i32) -> Option<FdKind<'static>> {
    match fd {
        FD_MEM_RW => dev_mem(O_RDWR),
        FD_MEM_RO => dev_mem(O_RDONLY),
        FD_MEM_WO => dev_mem(O_WRONLY),
        FD_MEM_SYNC => dev_mem(O_RDWR | O_SYNC),
        FD_MEM_DSYNC => dev_mem(O_RDWR | O_DSYNC),
        FD_ZERO => Some(FdKind::DevZero { flags: O_RDWR }),
        FD_ZERO_RO => Some(FdKind::DevZero { flags: O_RDONLY }),
        FD_ZERO_WO => Some(FdKind::DevZero { flags: O_WRONLY }),
        FD_ZERO_RW_SYNC => Some(FdKind::DevZero {
            flags: O_RDWR | O_SYNC,
        }),
        FD_FILE => Some(FdKind::File { readable: true }),
        FD_FILE_WO => Some(FdKind::File { readable: false }),
        FD_REG_RO | FD_REG_WO | FD_REG_RW | FD_REG_NONE => Some(FdKind::Regular {
            id: REG_ID,
            flags: match fd {
                FD_REG_RO => O_RDONLY,
                FD_REG_WO => O_WRONLY,
                FD_REG_RW => O_RDWR | O_SYNC,
                _ => O_ACCMODE,
            },
            ino: 42,
            dev: (0, 21),
        }),
        FD_CONSOLE => Some(FdKind::Console),
        FD_CLOSED => Some(FdKind::Closed),
        _ => None,
    }
}

fn mmap(
    addr: usize,
    len: usize,
    prot: u32,
    flags: u32,
    fd: i32,
    off: u64,
) -> Result<MmapRequest, Errno> {
    let ctx = MmContext {
        task_size: TASK,
        fd: &fds,
    };
    decode_mmap(addr, len, prot, flags, fd, off, &ctx)
}

const RW: u32 = PROT_READ | PROT_WRITE;
const ANON: u32 = MAP_PRIVATE | MAP_ANONYMOUS;

fn rw() -> Prot {
    Prot {
        read: true,
        write: true,
        exec: false,
    }
}

#[test]
fn constants_match_linux_uapi() {
    assert_eq!((PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC), (0, 1, 2, 4));
    assert_eq!((PROT_GROWSDOWN, PROT_GROWSUP), (0x0100_0000, 0x0200_0000));
    assert_eq!(
        (MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE, MAP_TYPE),
        (1, 2, 3, 0xf)
    );
    assert_eq!(
        (MAP_FIXED, MAP_ANONYMOUS, MAP_GROWSDOWN),
        (0x10, 0x20, 0x100)
    );
    assert_eq!(
        (MAP_DENYWRITE, MAP_EXECUTABLE, MAP_LOCKED),
        (0x800, 0x1000, 0x2000)
    );
    assert_eq!(
        (MAP_NORESERVE, MAP_POPULATE, MAP_NONBLOCK),
        (0x4000, 0x8000, 0x10000)
    );
    assert_eq!(
        (MAP_STACK, MAP_HUGETLB, MAP_SYNC),
        (0x20000, 0x40000, 0x80000)
    );
    assert_eq!(
        (MAP_FIXED_NOREPLACE, MAP_UNINITIALIZED),
        (0x100000, 0x4000000)
    );
    assert_eq!((O_ACCMODE, O_RDONLY, O_WRONLY, O_RDWR), (3, 0, 1, 2));
    assert_eq!((O_SYNC, O_DSYNC), (0o4010000, 0o10000));
    assert_eq!(PAGE_SIZE, 4096);
}

#[test]
fn prot_from_bits() {
    assert_eq!(Prot::from_bits(PROT_NONE), Some(Prot::NONE));
    assert_eq!(Prot::from_bits(RW), Some(rw()));
    assert_eq!(
        Prot::from_bits(PROT_READ | PROT_SEM).map(Prot::bits),
        Some(1)
    );
    assert_eq!(Prot::from_bits(0x10), None);
    assert_eq!(Prot::from_bits(PROT_GROWSDOWN), None);
    assert_eq!(Prot::from_bits(7).map(Prot::bits), Some(7));
}

#[test]
fn anonymous_private_ok() {
    let r = mmap(0, 5000, RW, ANON, -1, 0).unwrap();
    assert_eq!(
        r,
        MmapRequest {
            addr: 0,
            len: 8192,
            prot: rw(),
            shared: false,
            placement: Placement::Hint,
            backing: Backing::Anonymous,
            populate: false,
            may_write: true,
            noreserve: false,
        }
    );
    // "fd should be -1" for MAP_ANONYMOUS, but any value is ignored.
    assert!(mmap(0, 4096, RW, ANON, 1234, 0).is_ok());
    let s = mmap(0, 4096, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0).unwrap();
    assert!(s.shared);
    assert_eq!(s.backing, Backing::Anonymous);
}

#[test]
fn len_zero_is_einval() {
    // mmap(2): "EINVAL (since Linux 2.6.12) length was 0."
    assert_eq!(mmap(0, 0, RW, ANON, -1, 0), Err(Errno::EINVAL));
}

#[test]
fn len_that_cannot_be_page_aligned_is_enomem() {
    assert_eq!(mmap(0, usize::MAX, RW, ANON, -1, 0), Err(Errno::ENOMEM));
    assert_eq!(
        mmap(0, usize::MAX - PAGE_SIZE + 2, RW, ANON, -1, 0),
        Err(Errno::ENOMEM)
    );
}

#[test]
fn len_larger_than_address_space_is_enomem() {
    // mmap(2) ENOMEM: "the process's maximum number of mappings would
    // have been exceeded / no memory": Linux's get_unmapped_area.
    assert_eq!(
        mmap(0, TASK + PAGE_SIZE, RW, ANON, -1, 0),
        Err(Errno::ENOMEM)
    );
    assert!(mmap(0, TASK, RW, ANON, -1, 0).is_ok());
}

#[test]
fn map_type_must_be_shared_private_or_validate() {
    // mmap(2): "EINVAL flags contained none of MAP_PRIVATE, MAP_SHARED,
    // or MAP_SHARED_VALIDATE."
    assert_eq!(mmap(0, 4096, RW, MAP_ANONYMOUS, -1, 0), Err(Errno::EINVAL));
    assert_eq!(
        mmap(0, 4096, RW, MAP_ANONYMOUS | 0xf, -1, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        mmap(0, 4096, RW, MAP_ANONYMOUS | 4, -1, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        mmap(0, 4096, PROT_READ, 0, FD_MEM_RW, GIC.0),
        Err(Errno::EINVAL)
    );
}

#[test]
fn shared_validate_rejects_unknown_flags() {
    // mmap(2) MAP_SHARED_VALIDATE: "fails the mapping with the error
    // EOPNOTSUPP for unknown flags". LTP mmap20 uses 1 << 10.
    const UNKNOWN: u32 = 1 << 10;
    let off = GIC.0;
    assert_eq!(
        mmap(0, 4096, RW, MAP_SHARED_VALIDATE | UNKNOWN, FD_MEM_RW, off),
        Err(EOPNOTSUPP)
    );
    // MAP_SYNC is only for DAX files; /dev/mem is not one.
    assert_eq!(
        mmap(0, 4096, RW, MAP_SHARED_VALIDATE | MAP_SYNC, FD_MEM_RW, off),
        Err(EOPNOTSUPP)
    );
    // MAP_FIXED_NOREPLACE is not a legacy flag: Linux refuses it too.
    assert_eq!(
        mmap(
            0x1000_0000,
            4096,
            RW,
            MAP_SHARED_VALIDATE | MAP_FIXED_NOREPLACE,
            FD_MEM_RW,
            off
        ),
        Err(EOPNOTSUPP)
    );
    assert_eq!(
        mmap(
            0,
            4096,
            RW,
            MAP_SHARED_VALIDATE | MAP_ANONYMOUS | UNKNOWN,
            -1,
            0
        ),
        Err(EOPNOTSUPP)
    );
    // "MAP_SHARED mappings ignore unknown flags"; so does MAP_PRIVATE.
    let r = mmap(0, 4096, RW, MAP_SHARED | UNKNOWN | MAP_SYNC, FD_MEM_RW, off).unwrap();
    assert!(r.shared);
    assert!(mmap(0, 4096, RW, ANON | UNKNOWN, -1, 0).is_ok());
    // Only legacy flags: a validated MAP_SHARED.
    let r = mmap(
        0,
        4096,
        RW,
        MAP_SHARED_VALIDATE | MAP_POPULATE | MAP_LOCKED | MAP_NORESERVE,
        FD_MEM_RW,
        off,
    )
    .unwrap();
    assert!(r.shared);
    let r = mmap(0, 4096, RW, MAP_SHARED_VALIDATE | MAP_ANONYMOUS, -1, 0).unwrap();
    assert!(r.shared);
}

#[test]
fn unknown_prot_bits_are_einval() {
    assert_eq!(mmap(0, 4096, 0x40, ANON, -1, 0), Err(Errno::EINVAL));
    assert_eq!(
        mmap(0, 4096, PROT_READ | 0x10, ANON, -1, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        mmap(0, 4096, PROT_READ | PROT_GROWSDOWN, ANON, -1, 0),
        Err(Errno::EINVAL)
    );
    // PROT_SEM is a known (ignored) bit.
    assert_eq!(
        mmap(0, 4096, PROT_READ | PROT_SEM, ANON, -1, 0)
            .unwrap()
            .prot
            .bits(),
        PROT_READ
    );
    // PROT_NONE is fine.
    assert_eq!(
        mmap(0, 4096, PROT_NONE, ANON, -1, 0).unwrap().prot,
        Prot::NONE
    );
}

#[test]
fn fixed_address_checks() {
    // mmap(2) EINVAL: "We don't like addr ... (e.g. ... not aligned on a
    // page boundary)" for MAP_FIXED.
    let f = ANON | MAP_FIXED;
    let n = ANON | MAP_FIXED_NOREPLACE;
    assert_eq!(mmap(0x1000_0800, 4096, RW, f, -1, 0), Err(Errno::EINVAL));
    assert_eq!(mmap(0x1000_0800, 4096, RW, n, -1, 0), Err(Errno::EINVAL));
    // Beyond the task size: ENOMEM ("no memory is available").
    assert_eq!(mmap(TASK, 4096, RW, f, -1, 0), Err(Errno::ENOMEM));
    assert_eq!(mmap(TASK - 4096, 8192, RW, f, -1, 0), Err(Errno::ENOMEM));
    assert_eq!(
        mmap(usize::MAX & !0xfff, 4096, RW, n, -1, 0),
        Err(Errno::ENOMEM)
    );
    // Ending exactly at task_size is fine.
    let r = mmap(TASK - 8192, 8000, RW, f, -1, 0).unwrap();
    assert_eq!(
        (r.addr, r.len, r.placement),
        (TASK - 8192, 8192, Placement::Fixed)
    );
    let r = mmap(0x1000_0000, 4096, RW, n, -1, 0).unwrap();
    assert_eq!(r.placement, Placement::FixedNoReplace);
    let r = mmap(0x1000_0000, 4096, RW, f | MAP_FIXED_NOREPLACE, -1, 0).unwrap();
    assert_eq!(r.placement, Placement::FixedNoReplace);
}

#[test]
fn hint_is_rounded_down_and_never_an_error() {
    // Linux 6.1 (armmp, under QEMU) places mmap(0x12345678, ...) at
    // 0x12345000: round_hint_to_min masks the hint down.
    let r = mmap(0x1234_5678, 4096, RW, ANON, -1, 0).unwrap();
    assert_eq!((r.addr, r.placement), (0x1234_5000, Placement::Hint));
    let r = mmap(0x1234_5000, 4096, RW, ANON, -1, 0).unwrap();
    assert_eq!(r.addr, 0x1234_5000, "an aligned hint stays");
    // A hint outside user space is only a hint.
    let r = mmap(usize::MAX, 4096, RW, ANON, -1, 0).unwrap();
    assert_eq!(r.placement, Placement::Hint);
}

#[test]
fn dev_zero_follows_the_file_mode_rules() {
    // mmap(2): EACCES "a file mapping was requested, but fd is not open
    // for reading. Or MAP_SHARED was requested and PROT_WRITE is set,
    // but fd is not open in read/write (O_RDWR) mode."
    assert_eq!(
        mmap(0, 4096, RW, MAP_SHARED, FD_ZERO_RO, 0),
        Err(Errno::EACCES)
    );
    assert_eq!(
        mmap(0, 4096, PROT_READ, MAP_PRIVATE, FD_ZERO_WO, 0),
        Err(Errno::EACCES)
    );
    // Read-only shared: mapped, but never writable later (VM_MAYWRITE
    // cleared); private keeps it (copy-on-write).
    let r = mmap(0, 4096, PROT_READ, MAP_SHARED, FD_ZERO_RO, 0).unwrap();
    assert!(!r.may_write);
    let r = mmap(0, 4096, RW, MAP_PRIVATE, FD_ZERO_RO, 0).unwrap();
    assert!(r.may_write);
    let r = mmap(0, 4096, PROT_READ, MAP_SHARED, FD_ZERO, 0).unwrap();
    assert!(r.may_write);
    assert!(
        mmap(0, 4096, RW, ANON | MAP_NORESERVE, -1, 0)
            .unwrap()
            .noreserve
    );
    assert!(!mmap(0, 4096, RW, ANON, -1, 0).unwrap().noreserve);
}

#[test]
fn bad_fd_is_ebadf() {
    // mmap(2): "EBADF fd is not a valid file descriptor (and MAP_ANONYMOUS
    // was not set)."
    assert_eq!(
        mmap(0, 4096, PROT_READ, MAP_SHARED, -1, 0),
        Err(Errno::EBADF)
    );
    assert_eq!(
        mmap(0, 4096, PROT_READ, MAP_SHARED, 99, 0),
        Err(Errno::EBADF)
    );
    assert_eq!(
        mmap(0, 4096, PROT_READ, MAP_SHARED, FD_CLOSED, 0),
        Err(Errno::EBADF)
    );
    // Linux looks the fd up before it looks at len.
    assert_eq!(mmap(0, 0, PROT_READ, MAP_SHARED, 99, 0), Err(Errno::EBADF));
}

#[test]
fn unaligned_offset_is_einval() {
    // mmap(2): "offset must be a multiple of the page size".
    assert_eq!(
        mmap(0, 4096, PROT_READ, MAP_SHARED, FD_MEM_RW, GIC.0 + 1),
        Err(Errno::EINVAL)
    );
    assert_eq!(mmap(0, 4096, RW, ANON, -1, 0x800), Err(Errno::EINVAL));
    // arm64 sys_mmap checks it first of all, even before the fd.
    assert_eq!(
        mmap(0, 4096, PROT_READ, MAP_SHARED, 99, 0x800),
        Err(Errno::EINVAL)
    );
}

#[test]
fn offset_overflow_is_eoverflow() {
    // mmap(2): "EOVERFLOW ... the number of pages used for length plus
    // number of pages used for offset would overflow".
    let off = !0xfffu64;
    assert_eq!(
        mmap(0, 4096, PROT_READ, MAP_SHARED, FD_MEM_RW, off),
        Err(Errno::EOVERFLOW)
    );
    assert_eq!(
        mmap(0, 8192, RW, ANON, -1, off - 4096),
        Err(Errno::EOVERFLOW)
    );
    assert!(mmap(0, 4096, RW, ANON, -1, off - 4096).is_ok());
}

#[test]
fn write_and_exec_together_is_eacces() {
    let wx = PROT_WRITE | PROT_EXEC;
    assert_eq!(mmap(0, 4096, wx, ANON, -1, 0), Err(Errno::EACCES));
    assert_eq!(
        mmap(0, 4096, wx | PROT_READ, ANON, -1, 0),
        Err(Errno::EACCES)
    );
    let rx = mmap(0, 4096, PROT_READ | PROT_EXEC, ANON, -1, 0).unwrap();
    assert_eq!(
        rx.prot,
        Prot {
            read: true,
            write: false,
            exec: true
        }
    );
    assert!(mmap(0, 4096, PROT_EXEC, ANON, -1, 0).is_ok());
}

#[test]
fn hugetlb_is_einval() {
    assert_eq!(
        mmap(0, 4096, RW, ANON | MAP_HUGETLB, -1, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        mmap(
            0,
            4096,
            PROT_READ,
            MAP_SHARED | MAP_HUGETLB,
            FD_MEM_RW,
            GIC.0
        ),
        Err(Errno::EINVAL)
    );
}

#[test]
fn growsdown() {
    let r = mmap(0, 4096, RW, ANON | MAP_GROWSDOWN, -1, 0).unwrap();
    assert_eq!(r.backing, Backing::Anonymous);
    assert_eq!(
        mmap(
            0,
            4096,
            RW,
            MAP_SHARED | MAP_ANONYMOUS | MAP_GROWSDOWN,
            -1,
            0
        ),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        mmap(0, 4096, RW, MAP_SHARED | MAP_GROWSDOWN, FD_MEM_RW, GIC.0),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        mmap(0, 4096, RW, MAP_PRIVATE | MAP_GROWSDOWN, FD_ZERO, 0),
        Err(Errno::EINVAL)
    );
}

#[test]
fn populate() {
    assert!(
        mmap(0, 4096, RW, ANON | MAP_POPULATE, -1, 0)
            .unwrap()
            .populate
    );
    assert!(
        !mmap(0, 4096, RW, ANON | MAP_POPULATE | MAP_NONBLOCK, -1, 0)
            .unwrap()
            .populate
    );
    assert!(
        mmap(0, 4096, RW, ANON | MAP_LOCKED, -1, 0)
            .unwrap()
            .populate
    );
    // Accepted and ignored.
    let ignored = MAP_STACK | MAP_NORESERVE | MAP_DENYWRITE | MAP_EXECUTABLE | MAP_UNINITIALIZED;
    assert!(!mmap(0, 4096, RW, ANON | ignored, -1, 0).unwrap().populate);
}

#[test]
fn dev_zero_is_anonymous() {
    let p = mmap(0, 4096, RW, MAP_PRIVATE, FD_ZERO, 0).unwrap();
    assert_eq!((p.backing, p.shared), (Backing::Anonymous, false));
    let s = mmap(0, 4096, RW, MAP_SHARED, FD_ZERO, 0).unwrap();
    assert_eq!((s.backing, s.shared), (Backing::Anonymous, true));
}

#[test]
fn dev_mem_inside_one_window() {
    let r = mmap(0, 4096, RW, MAP_SHARED, FD_MEM_RW, UART.0).unwrap();
    assert_eq!(
        r.backing,
        Backing::Device {
            phys: UART.0,
            mem: MemoryType::DeviceShareable,
            may_write: true
        }
    );
    assert!(r.shared);
    // The whole window, ending exactly at its end.
    assert!(mmap(0, 0x20000, RW, MAP_SHARED, FD_MEM_RW, GIC.0).is_ok());
    assert!(mmap(0, 4096, RW, MAP_SHARED, FD_MEM_RW, GIC.1 - 4096).is_ok());
}

#[test]
fn dev_mem_outside_windows_is_eperm() {
    // RAM, i.e. page tables and the kernel itself.
    assert_eq!(
        mmap(0, 4096, PROT_READ, MAP_SHARED, FD_MEM_RW, RAM),
        Err(Errno::EPERM)
    );
    assert_eq!(
        mmap(0, 4096, PROT_READ, MAP_SHARED, FD_MEM_RW, 0),
        Err(Errno::EPERM)
    );
    // Straddling the end of a window.
    assert_eq!(
        mmap(0, 8192, PROT_READ, MAP_SHARED, FD_MEM_RW, UART.0),
        Err(Errno::EPERM)
    );
    // Straddling two adjacent windows: each part is allowed but the
    // range must lie within ONE window.
    assert_eq!(
        mmap(0, 8192, PROT_READ, MAP_SHARED, FD_MEM_RW, GIC.1 - 4096),
        Err(Errno::EPERM)
    );
    // Starting just below a window.
    assert_eq!(
        mmap(0, 8192, PROT_READ, MAP_SHARED, FD_MEM_RW, UART.0 - 4096),
        Err(Errno::EPERM)
    );
    // No windows at all.
    let no_windows = |fd: i32| match fd {
        FD_MEM_RW => Some(FdKind::Driver {
            dev: &DEV_MEM_NONE,
            flags: O_RDWR,
            private: &WORD,
            mapped: MappedTypes::NONE,
        }),
        _ => fds(fd),
    };
    let ctx = MmContext {
        task_size: TASK,
        fd: &no_windows,
    };
    assert_eq!(
        decode_mmap(0, 4096, PROT_READ, MAP_SHARED, FD_MEM_RW, UART.0, &ctx),
        Err(Errno::EPERM)
    );
}

#[test]
fn dev_mem_access_modes() {
    // mmap(2) EACCES: "MAP_SHARED was requested and PROT_WRITE is set,
    // but fd is not open in read/write (O_RDWR) mode."
    assert_eq!(
        mmap(0, 4096, RW, MAP_SHARED, FD_MEM_RO, UART.0),
        Err(Errno::EACCES)
    );
    // Read-only shared mapping of an O_RDONLY fd is fine, but can never
    // become writable.
    let r = mmap(0, 4096, PROT_READ, MAP_SHARED, FD_MEM_RO, UART.0).unwrap();
    assert_eq!(
        r.backing,
        Backing::Device {
            phys: UART.0,
            mem: MemoryType::DeviceShareable,
            may_write: false
        }
    );
    // mmap(2) EACCES: "a file descriptor refers to a non-regular file. Or
    // a file mapping was requested, but fd is not open for reading."
    assert_eq!(
        mmap(0, 4096, PROT_READ, MAP_SHARED, FD_MEM_WO, UART.0),
        Err(Errno::EACCES)
    );
    assert_eq!(
        mmap(0, 4096, PROT_NONE, MAP_SHARED, FD_MEM_WO, UART.0),
        Err(Errno::EACCES)
    );
    assert_eq!(
        mmap(0, 4096, RW, MAP_SHARED, FD_MEM_WO, UART.0),
        Err(Errno::EACCES)
    );
    // Access checks come before the window check.
    assert_eq!(
        mmap(0, 4096, RW, MAP_SHARED, FD_MEM_RO, RAM),
        Err(Errno::EACCES)
    );
}

#[test]
fn dev_mem_is_never_executable() {
    let rx = PROT_READ | PROT_EXEC;
    assert_eq!(
        mmap(0, 4096, rx, MAP_SHARED, FD_MEM_RW, UART.0),
        Err(Errno::EACCES)
    );
    assert_eq!(
        mmap(0, 4096, PROT_EXEC, MAP_SHARED, FD_MEM_RO, UART.0),
        Err(Errno::EACCES)
    );
    assert_eq!(
        mmap(0, 4096, rx, MAP_PRIVATE, FD_MEM_RW, UART.0),
        Err(Errno::EACCES)
    );
}

#[test]
fn dev_mem_private() {
    // Read-only private is a plain view; writable private would need
    // copy-on-write of device memory.
    let r = mmap(0, 4096, PROT_READ, MAP_PRIVATE, FD_MEM_RW, UART.0).unwrap();
    assert!(!r.shared);
    assert_eq!(
        r.backing,
        Backing::Device {
            phys: UART.0,
            mem: MemoryType::DeviceShareable,
            may_write: false
        }
    );
    assert_eq!(
        mmap(0, 4096, RW, MAP_PRIVATE, FD_MEM_RW, UART.0),
        Err(Errno::EACCES)
    );
}

#[test]
fn dev_mem_sync_flag() {
    let sync_of = |fd| match mmap(0, 4096, RW, MAP_SHARED, fd, UART.0).unwrap().backing {
        // Linux's uncached_access(): O_DSYNC (in O_SYNC) maps uncached.
        Backing::Device { mem, .. } => mem == MemoryType::StronglyOrdered,
        _ => panic!("not devmem"),
    };
    assert!(sync_of(FD_MEM_SYNC));
    assert!(sync_of(FD_MEM_DSYNC));
    assert!(!sync_of(FD_MEM_RW));
}

#[test]
fn files_and_console_are_enodev() {
    // mmap(2): "ENODEV The underlying filesystem of the specified file
    // does not support memory mapping."
    assert_eq!(
        mmap(0, 4096, PROT_READ, MAP_PRIVATE, FD_FILE, 0),
        Err(Errno::ENODEV)
    );
    assert_eq!(
        mmap(0, 4096, PROT_READ, MAP_SHARED, FD_CONSOLE, 0),
        Err(Errno::ENODEV)
    );
    // Not open for reading: EACCES first.
    assert_eq!(
        mmap(0, 4096, PROT_READ, MAP_PRIVATE, FD_FILE_WO, 0),
        Err(Errno::EACCES)
    );
}

#[test]
fn check_order_follows_linux() {
    // len == 0 is checked before the map type.
    assert_eq!(mmap(0, 0, RW, MAP_ANONYMOUS, -1, 0), Err(Errno::EINVAL));
    // Huge len (ENOMEM) before a missing map type (EINVAL).
    assert_eq!(
        mmap(0, usize::MAX, RW, MAP_ANONYMOUS, -1, 0),
        Err(Errno::ENOMEM)
    );
    // Fixed range beyond task size (ENOMEM) before misalignment (EINVAL).
    assert_eq!(
        mmap(TASK + 1, 4096, RW, ANON | MAP_FIXED, -1, 0),
        Err(Errno::ENOMEM)
    );
    // Hugetlb before len.
    assert_eq!(
        mmap(0, 0, RW, ANON | MAP_HUGETLB, -1, 0),
        Err(Errno::EINVAL)
    );
}

#[test]
fn munmap_checks() {
    // munmap(2): "EINVAL We don't like addr, length ... (e.g., they are
    // too large, or not aligned on a page boundary)"; "EINVAL (since
    // Linux 2.6.12) length was 0."
    assert_eq!(decode_munmap(0x1000_0800, 4096, TASK), Err(Errno::EINVAL));
    assert_eq!(decode_munmap(0x1000_0000, 0, TASK), Err(Errno::EINVAL));
    assert_eq!(decode_munmap(TASK + 4096, 4096, TASK), Err(Errno::EINVAL));
    assert_eq!(decode_munmap(TASK - 4096, 8192, TASK), Err(Errno::EINVAL));
    assert_eq!(decode_munmap(0x1000, usize::MAX, TASK), Err(Errno::EINVAL));
    // "The address addr must be a multiple of the page size (but length
    // need not be). All pages containing a part of the indicated range
    // are unmapped."
    assert_eq!(
        decode_munmap(0x1000_0000, 1, TASK),
        Ok(Some(RangeRequest {
            start: 0x1000_0000,
            end: 0x1000_1000
        }))
    );
    assert_eq!(
        decode_munmap(TASK - 4096, 4096, TASK),
        Ok(Some(RangeRequest {
            start: TASK - 4096,
            end: TASK
        }))
    );
    // start == task_size with len 0 is still the len-0 EINVAL.
    assert_eq!(decode_munmap(TASK, 0, TASK), Err(Errno::EINVAL));
}

#[test]
fn mprotect_checks() {
    let a = 0x1000_0000;
    // mprotect(2): "EINVAL addr is not a valid pointer, or not a multiple
    // of the system page size."
    assert_eq!(
        decode_mprotect(a + 1, 4096, PROT_READ, TASK),
        Err(Errno::EINVAL)
    );
    // "EINVAL prot specified both PROT_GROWSUP and PROT_GROWSDOWN."
    assert_eq!(
        decode_mprotect(a, 4096, PROT_READ | PROT_GROWSDOWN | PROT_GROWSUP, TASK),
        Err(Errno::EINVAL)
    );
    // "EINVAL Invalid flags specified in prot."
    assert_eq!(decode_mprotect(a, 4096, 0x40, TASK), Err(Errno::EINVAL));
    // Length 0 is a successful no-op, checked before prot.
    assert_eq!(decode_mprotect(a, 0, PROT_READ, TASK), Ok(None));
    assert_eq!(decode_mprotect(a, 0, 0x40, TASK), Ok(None));
    // But an unaligned address is refused even then.
    assert_eq!(
        decode_mprotect(a + 1, 0, PROT_READ, TASK),
        Err(Errno::EINVAL)
    );
    // End overflows: ENOMEM.
    assert_eq!(
        decode_mprotect(a, usize::MAX, PROT_READ, TASK),
        Err(Errno::ENOMEM)
    );
    assert_eq!(
        decode_mprotect(usize::MAX & !0xfff, 4096, PROT_READ, TASK),
        Err(Errno::ENOMEM)
    );
    // Overflow is found before bad prot bits.
    assert_eq!(
        decode_mprotect(a, usize::MAX, 0x40, TASK),
        Err(Errno::ENOMEM)
    );
    // "ENOMEM Addresses in the range [addr, addr+len-1] are invalid for
    // the address space of the process".
    assert_eq!(
        decode_mprotect(TASK - 4096, 8192, PROT_READ, TASK),
        Err(Errno::ENOMEM)
    );
    assert_eq!(
        decode_mprotect(TASK, 4096, PROT_READ, TASK),
        Err(Errno::ENOMEM)
    );
    // Policy: never writable and executable.
    assert_eq!(
        decode_mprotect(a, 4096, PROT_WRITE | PROT_EXEC, TASK),
        Err(Errno::EACCES)
    );
    // No grows-down VMAs exist here.
    assert_eq!(
        decode_mprotect(a, 4096, PROT_READ | PROT_GROWSDOWN, TASK),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        decode_mprotect(a, 5000, RW, TASK),
        Ok(Some((
            RangeRequest {
                start: a,
                end: a + 8192
            },
            rw()
        )))
    );
    assert_eq!(
        decode_mprotect(TASK - 4096, 4096, PROT_NONE, TASK),
        Ok(Some((
            RangeRequest {
                start: TASK - 4096,
                end: TASK
            },
            Prot::NONE
        )))
    );
}

#[test]
fn mremap_argument_checks_in_linux_order() {
    // mremap(2): EINVAL "flags has an invalid bit set; new_size was
    // zero; MREMAP_FIXED or MREMAP_DONTUNMAP without MREMAP_MAYMOVE;
    // MREMAP_DONTUNMAP with old_size != new_size; old_address not
    // page aligned".
    assert_eq!(decode_mremap(0x1000, 4096, 4096, 8, 0), Err(Errno::EINVAL));
    assert_eq!(
        decode_mremap(0x1000, 4096, 4096, MREMAP_FIXED, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        decode_mremap(0x1000, 4096, 4096, MREMAP_DONTUNMAP, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        decode_mremap(0x1000, 4096, 8192, MREMAP_DONTUNMAP | MREMAP_MAYMOVE, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(decode_mremap(0x1001, 4096, 4096, 0, 0), Err(Errno::EINVAL));
    assert_eq!(decode_mremap(0x1000, 4096, 0, 0, 0), Err(Errno::EINVAL));
    assert_eq!(
        decode_mremap(0x1000, 4096, usize::MAX, 0, 0),
        Err(Errno::EINVAL)
    );
    let r = decode_mremap(0x1000, 10, 5000, MREMAP_MAYMOVE | MREMAP_FIXED, 0x9000).unwrap();
    assert_eq!(
        r,
        MremapRequest {
            addr: 0x1000,
            old_len: 4096,
            new_len: 8192,
            may_move: true,
            fixed: Some(0x9000),
            dont_unmap: false,
        }
    );
}

#[test]
fn dev_zero_modes_and_may_write_for_every_access_mode() {
    // do_mmap: MAP_SHARED + PROT_WRITE needs FMODE_WRITE; any mapping
    // needs FMODE_READ; a shared mapping of a file not open for
    // writing loses VM_MAYWRITE.
    assert_eq!(
        mmap(0, 4096, RW, MAP_SHARED, FD_ZERO_WO, 0),
        Err(Errno::EACCES),
        "write-only fd: not readable"
    );
    assert_eq!(
        mmap(0, 4096, PROT_READ, MAP_SHARED, FD_ZERO_WO, 0),
        Err(Errno::EACCES)
    );
    let r = mmap(0, 4096, RW, MAP_SHARED, FD_ZERO, 0).unwrap();
    assert!(r.shared && r.may_write && r.prot.write);
    assert_eq!(r.backing, Backing::Anonymous);
    let r = mmap(0, 4096, PROT_READ, MAP_PRIVATE, FD_ZERO_RO, 0).unwrap();
    assert!(!r.shared && r.may_write, "private: copy-on-write");
    assert_eq!(
        mmap(
            0,
            4096,
            PROT_READ,
            MAP_SHARED | MAP_GROWSDOWN,
            FD_ZERO_RO,
            0
        ),
        Err(Errno::EINVAL)
    );
    // Anonymous memory always keeps VM_MAYWRITE.
    for f in [MAP_SHARED, MAP_PRIVATE] {
        assert!(
            mmap(0, 4096, PROT_READ, f | MAP_ANONYMOUS, -1, 0)
                .unwrap()
                .may_write
        );
    }
    // /dev/mem: may_write only for a shared mapping of a writable fd.
    let r = mmap(0, 4096, PROT_READ, MAP_SHARED, FD_MEM_RO, UART.0).unwrap();
    assert!(!r.may_write);
    let r = mmap(0, 4096, PROT_READ, MAP_SHARED, FD_MEM_RW, UART.0).unwrap();
    assert!(r.may_write);
    let r = mmap(0, 4096, PROT_READ, MAP_PRIVATE, FD_MEM_RW, UART.0).unwrap();
    assert!(!r.may_write, "private device mapping: never writable");
    assert!(
        mmap(0, 4096, PROT_READ, MAP_SHARED | MAP_NORESERVE, FD_ZERO, 0)
            .unwrap()
            .noreserve
    );
}

#[test]
fn mremap_flags_decode() {
    let r = decode_mremap(0x1000, 4096, 4096, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0).unwrap();
    assert!(r.may_move && r.dont_unmap && r.fixed.is_none());
    let r = decode_mremap(0x1000, 4096, 8192, 0, 0x5000).unwrap();
    assert!(!r.may_move && !r.dont_unmap);
    assert_eq!(r.fixed, None, "new_address ignored without MREMAP_FIXED");
    let r = decode_mremap(0x1000, 4096, 4096, MREMAP_MAYMOVE, 0).unwrap();
    assert!(r.may_move && !r.dont_unmap);
    let r = decode_mremap(
        0x1000,
        4096,
        4096,
        MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP,
        0x9000,
    )
    .unwrap();
    assert!(r.may_move && r.dont_unmap);
    assert_eq!(r.fixed, Some(0x9000));
    // old_size is PAGE_ALIGNed and may wrap to 0 (the duplicate case,
    // refused later); 0 stays 0.
    assert_eq!(
        decode_mremap(0x1000, usize::MAX, 4096, 0, 0)
            .unwrap()
            .old_len,
        0
    );
    assert_eq!(decode_mremap(0x1000, 0, 4096, 0, 0).unwrap().old_len, 0);
    assert_eq!(decode_mremap(0x1000, 4097, 1, 0, 0).unwrap().new_len, 4096);
}

#[test]
fn access_mode_is_only_the_accmode_bits() {
    // O_ACCMODE alone decides FMODE_READ/FMODE_WRITE: an O_RDWR|O_SYNC
    // /dev/zero fd maps shared writable and keeps VM_MAYWRITE.
    let r = mmap(0, 4096, PROT_READ, MAP_SHARED, FD_ZERO_RW_SYNC, 0).unwrap();
    assert!(r.may_write);
    assert!(mmap(0, 4096, RW, MAP_SHARED, FD_ZERO_RW_SYNC, 0).is_ok());
}

#[test]
fn a_length_near_the_top_of_the_address_space_is_enomem() {
    // do_mmap: PAGE_ALIGN(len) is not 0, pgoff + (len >> PAGE_SHIFT)
    // does not wrap, then get_unmapped_area: len > TASK_SIZE: ENOMEM.
    assert_eq!(
        mmap(0, usize::MAX - 8191, RW, ANON, -1, 0),
        Err(Errno::ENOMEM)
    );
    // PAGE_ALIGN wraps to 0: ENOMEM as well.
    assert_eq!(mmap(0, usize::MAX, RW, ANON, -1, 0), Err(Errno::ENOMEM));
}

#[test]
fn shared_validate_accepts_every_legacy_flag() {
    // include/linux/mman.h LEGACY_MAP_MASK, values from the asm-generic
    // uapi headers (ARM and arm64 use them): MAP_SHARED_VALIDATE takes
    // each of these without EOPNOTSUPP. (MAP_32BIT is x86-only and the
    // hugetlb size bits need MAP_HUGETLB, which is EINVAL here anyway.)
    let legacy: [(u32, &str); 12] = [
        (0x10, "MAP_FIXED"),
        (0x20, "MAP_ANONYMOUS"),
        (0x0100, "MAP_GROWSDOWN"),
        (0x0800, "MAP_DENYWRITE"),
        (0x1000, "MAP_EXECUTABLE"),
        (0x2000, "MAP_LOCKED"),
        (0x4000, "MAP_NORESERVE"),
        (0x8000, "MAP_POPULATE"),
        (0x1_0000, "MAP_NONBLOCK"),
        (0x2_0000, "MAP_STACK"),
        (0x4_0000, "MAP_HUGETLB"),
        (0x400_0000, "MAP_UNINITIALIZED"),
    ];
    for (flag, name) in legacy {
        // Once as a /dev/zero file mapping, once as an anonymous one.
        for (fd, base) in [(FD_ZERO, 0), (-1, MAP_ANONYMOUS)] {
            let r = mmap(
                0x1000_0000,
                4096,
                RW,
                MAP_SHARED_VALIDATE | base | flag,
                fd,
                0,
            );
            assert_ne!(r, Err(EOPNOTSUPP), "{name} with fd {fd}");
        }
    }
    // The same call with a flag that is not legacy does fail.
    assert_eq!(
        mmap(
            0,
            4096,
            RW,
            MAP_SHARED_VALIDATE | MAP_ANONYMOUS | MAP_SYNC,
            -1,
            0
        ),
        Err(EOPNOTSUPP)
    );
}

// ---- regular files (do_mmap's file checks, mm/mmap.c, Linux 6.1) ----

fn file_backing(r: &MmapRequest) -> (crate::mm::shm::ShmId, usize) {
    match r.backing {
        Backing::File { id, pgoff } => (id, pgoff),
        other => panic!("not a file mapping: {other:?}"),
    }
}

#[test]
fn regular_file_mappings_follow_the_file_mode() {
    const SHARED: u32 = MAP_SHARED;
    const PRIVATE: u32 = MAP_PRIVATE;
    let r = PROT_READ;
    // (fd, prot, flags) -> errno or may_write. mmap(2): EACCES "a file
    // descriptor refers to a non-regular file ... or MAP_SHARED was
    // requested and PROT_WRITE is set, but fd is not open in read/write
    // (O_RDWR) mode"; any mapping needs the fd open for reading.
    let cases: [(i32, u32, u32, Result<bool, Errno>); 14] = [
        (FD_REG_RO, r, SHARED, Ok(false)),
        (FD_REG_RO, RW, SHARED, Err(Errno::EACCES)),
        (FD_REG_RO, r, PRIVATE, Ok(true)),
        (FD_REG_RO, RW, PRIVATE, Ok(true)),
        (FD_REG_RO, RW, MAP_SHARED_VALIDATE, Err(Errno::EACCES)),
        (FD_REG_RW, RW, SHARED, Ok(true)),
        (FD_REG_RW, r, SHARED, Ok(true)),
        (FD_REG_RW, RW, PRIVATE, Ok(true)),
        (FD_REG_WO, r, SHARED, Err(Errno::EACCES)),
        (FD_REG_WO, RW, SHARED, Err(Errno::EACCES)),
        (FD_REG_WO, r, PRIVATE, Err(Errno::EACCES)),
        (FD_REG_WO, PROT_NONE, PRIVATE, Err(Errno::EACCES)),
        (FD_REG_NONE, r, PRIVATE, Err(Errno::EACCES)),
        (FD_REG_RO, PROT_READ | PROT_EXEC, PRIVATE, Ok(true)),
    ];
    for (fd, prot, flags, want) in cases {
        let got = mmap(0, 8192, prot, flags, fd, 0).map(|q| {
            assert_eq!(file_backing(&q), (REG_ID, 0));
            assert_eq!(q.shared, flags & MAP_TYPE != MAP_PRIVATE);
            q.may_write
        });
        assert_eq!(got, want, "fd {fd} prot {prot} flags {flags:#x}");
    }
}

#[test]
fn regular_file_offset_is_the_page_offset() {
    // AArch64 mmap: bytes, page-aligned or EINVAL; ARM mmap2 passes
    // pgoff * 4096, which is always aligned.
    let q = mmap(0, 4096, PROT_READ, MAP_SHARED, FD_REG_RO, 3 * 4096).unwrap();
    assert_eq!(file_backing(&q), (REG_ID, 3));
    assert_eq!(
        mmap(0, 4096, PROT_READ, MAP_SHARED, FD_REG_RO, 4096 + 1),
        Err(Errno::EINVAL)
    );
    // Length rounded up; populate as for any mapping.
    let q = mmap(0, 5000, PROT_READ, MAP_PRIVATE | MAP_POPULATE, FD_REG_RO, 0).unwrap();
    assert_eq!((q.len, q.populate), (8192, true));
    let q = mmap(0, 5000, PROT_READ, MAP_PRIVATE | MAP_LOCKED, FD_REG_RO, 0).unwrap();
    assert!(q.populate);
}

#[test]
fn regular_file_flag_rules() {
    // Every file mapping refuses MAP_GROWSDOWN (do_mmap: VM_GROWSDOWN on
    // a file is EINVAL).
    assert_eq!(
        mmap(
            0,
            4096,
            PROT_READ,
            MAP_PRIVATE | MAP_GROWSDOWN,
            FD_REG_RO,
            0
        ),
        Err(Errno::EINVAL)
    );
    // MAP_SHARED_VALIDATE: shmem has no mmap_supported_flags.
    assert_eq!(
        mmap(
            0,
            4096,
            PROT_READ,
            MAP_SHARED_VALIDATE | MAP_SYNC,
            FD_REG_RW,
            0
        ),
        Err(Errno::EOPNOTSUPP)
    );
    assert!(mmap(0, 4096, PROT_READ, MAP_SHARED_VALIDATE, FD_REG_RW, 0).is_ok());
    // MAP_ANONYMOUS ignores the fd.
    let q = mmap(0, 4096, RW, MAP_SHARED | MAP_ANONYMOUS, FD_REG_RO, 0).unwrap();
    assert_eq!(q.backing, Backing::Anonymous);
}

#[test]
fn regular_file_size_limit_is_eoverflow() {
    // file_mmap_ok with MAX_LFS_FILESIZE: 64-bit longs: LLONG_MAX.
    let top = i64::MAX as u64 + 1; // 2^63, page-aligned
                                   // (LLONG_MAX - len) >> 12 rounds down: the last one-page mapping
                                   // starts at page 2^51 - 2, not 2^51 - 1.
    assert!(!file_mmap_ok(top >> 12, 4096, 64));
    assert!(!file_mmap_ok((top >> 12) - 1, 4096, 64));
    assert!(file_mmap_ok((top >> 12) - 2, 4096, 64));
    assert!(!file_mmap_ok((top >> 12) - 2, 8192, 64));
    assert!(file_mmap_ok((top >> 12) - 3, 8192, 64));
    // 32-bit longs: ULONG_MAX << PAGE_SHIFT, so the last page index is
    // 2^32 - 2 for a one-page mapping.
    assert!(file_mmap_ok(0xFFFF_FFFE, 4096, 32));
    assert!(!file_mmap_ok(0xFFFF_FFFF, 4096, 32));
    assert!(!file_mmap_ok(0, (u32::MAX as u64) << 13, 32));
    if usize::BITS == 64 {
        assert_eq!(
            mmap(0, 4096, PROT_READ, MAP_SHARED, FD_REG_RO, top),
            Err(Errno::EOVERFLOW)
        );
        // It comes before the file-mode checks (do_mmap order).
        assert_eq!(
            mmap(0, 4096, PROT_READ, MAP_SHARED, FD_REG_WO, top),
            Err(Errno::EOVERFLOW)
        );
        // Not a regular file: no such limit (/dev/zero's f_op).
        assert!(mmap(0, 4096, PROT_READ, MAP_PRIVATE, FD_ZERO, top).is_ok());
    }
}

#[test]
fn mincore_arguments_as_sys_mincore() {
    // start unaligned: EINVAL; range outside user space: ENOMEM; vector
    // outside: EFAULT (mincore(2)).
    assert_eq!(
        decode_mincore(0x1001, 4096, 0x2000, TASK),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        decode_mincore(TASK - 4096, 8192, 0x2000, TASK),
        Err(Errno::ENOMEM)
    );
    assert_eq!(
        decode_mincore(0x1000, usize::MAX, 0x2000, TASK),
        Err(Errno::ENOMEM)
    );
    assert_eq!(
        decode_mincore(0x1000, 8192, TASK - 1, TASK),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        decode_mincore(0x1000, 8192, TASK - 2, TASK),
        Ok((0x1000, 2))
    );
    assert_eq!(decode_mincore(0x1000, 4097, 0x2000, TASK), Ok((0x1000, 2)));
    assert_eq!(decode_mincore(0x1000, 0, 0x2000, TASK), Ok((0x1000, 0)));
    // EINVAL comes first even with a bad vector.
    assert_eq!(
        decode_mincore(0x1001, 4096, usize::MAX, TASK),
        Err(Errno::EINVAL)
    );
}

#[test]
fn lock_ranges_as_do_mlock() {
    // len = PAGE_ALIGN(len + offset_in_page(start)); start &= PAGE_MASK.
    assert_eq!(
        decode_lock_range(0x1234, 1),
        Ok(Some(RangeRequest {
            start: 0x1000,
            end: 0x2000
        }))
    );
    assert_eq!(
        decode_lock_range(0x1fff, 2),
        Ok(Some(RangeRequest {
            start: 0x1000,
            end: 0x3000
        }))
    );
    assert_eq!(decode_lock_range(0x1000, 0), Ok(None));
    // A length that wraps the address space: end < start, EINVAL.
    assert_eq!(
        decode_lock_range(0x2000, usize::MAX - 0x1fff),
        Err(Errno::EINVAL)
    );
    // PAGE_ALIGN wrapping to 0: nothing to do (as Linux's arithmetic).
    assert_eq!(decode_lock_range(0x1000, usize::MAX), Ok(None));
}
