#!/usr/bin/env python3
"""Check, on the host's own Linux kernel, the architecture-independent mm semantics that
qemu-user 7.2 (Debian bookworm) models wrongly for the armmu test programs.

qemu-arm/qemu-aarch64 are the oracle for the ARM ABI, but 7.2 predates QEMU's mmap rework:
it treats MAP_FIXED_NOREPLACE as a plain hint, returns ENOMEM for mprotect(len=0), and on a
32-bit guest (whose whole 4 GiB is one host reservation) never reports ENOMEM for mprotect
of unmapped pages. This script shows what Linux itself does for those cases.
Prints TAP lines and '# passed N failed M'; exits non-zero on a failure.
"""
import ctypes
import sys

libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]

PAGE = 4096
RW = 3
ANON = 0x02 | 0x20
FIXED_NOREPLACE = 0x100000
EEXIST, ENOMEM = 17, 12
MAP_FAILED = ctypes.c_void_p(-1).value

passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok - {name}")
    else:
        failed += 1
        print(f"not ok - {name}: {detail}")


def call(fn, *args):
    ctypes.set_errno(0)
    r = fn(*args)
    return r, ctypes.get_errno()


def mmap(addr, length, prot, flags):
    r, e = call(libc.mmap, addr, length, prot, flags, -1, 0)
    return (None, e) if r == MAP_FAILED else (r, 0)


a, _ = mmap(None, 3 * PAGE, RW, ANON)
r, e = mmap(a, PAGE, RW, ANON | FIXED_NOREPLACE)
check("MAP_FIXED_NOREPLACE over a mapping -> EEXIST", r is None and e == EEXIST, f"got {r} errno {e}")
r, e = call(libc.mprotect, a, 0, RW)
check("mprotect len 0 -> 0", r == 0, f"got {r} errno {e}")
libc.munmap(a + PAGE, PAGE)
r, e = call(libc.mprotect, a, 3 * PAGE, RW)
check("mprotect over a hole -> ENOMEM", r == -1 and e == ENOMEM, f"got {r} errno {e}")
r, e = call(libc.mprotect, a + PAGE, PAGE, RW)
check("mprotect of the hole alone -> ENOMEM", r == -1 and e == ENOMEM, f"got {r} errno {e}")
r, e = call(libc.munmap, a + PAGE, PAGE)
check("munmap of an unmapped range -> 0", r == 0, f"got {r} errno {e}")
libc.munmap(a, 3 * PAGE)
r, e = call(libc.mprotect, a, PAGE, RW)
check("mprotect unmapped range -> ENOMEM", r == -1 and e == ENOMEM, f"got {r} errno {e}")
print(f"# passed {passed} failed {failed}")
sys.exit(1 if failed else 0)
