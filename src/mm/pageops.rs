//! Zeroing and copying whole 4 KiB pages: the work that dominates a first
//! touch (a zeroed frame), a copy-on-write fault (a copied frame) and a
//! new table. The compiler's `memset`/`memcpy` (compiler_builtins) cost
//! about 3 000 and 4 400 instructions per page on ARMv7-A (word stores with
//! a byte-count loop); these routines use the widest stores the kernel may
//! use without the FP/SIMD unit:
//!
//! - ARMv7-A: `stm`/`ldm` of eight registers, 32 bytes per instruction,
//!   four per loop: 192 instructions to zero a page, 384 to copy one.
//! - AArch64: `DC ZVA` (zeroes a whole block, 64 bytes on Cortex-A53/A72,
//!   size from DCZID_EL0), falling back to `stp xzr` where DCZID_EL0.DZP
//!   prohibits it; copies with `ldp`/`stp` pairs, 128 bytes per loop.
//!
//! On the host (unit tests) they are plain `write_bytes`/`copy`.

/// The page size these routines handle.
pub const PAGE: usize = 4096;

/// Zero the 4 KiB page at kernel address `va`.
///
/// # Safety
/// `va` is 4 KiB-aligned, mapped writable as Normal memory (DC ZVA on
/// Device memory faults) and owned by the caller.
#[inline]
pub unsafe fn zero_page(va: usize) {
    debug_assert_eq!(va % PAGE, 0);
    #[cfg(target_arch = "arm")]
    // SAFETY: the caller's contract: 4 KiB writable at `va`; the loop stores
    // exactly 4096 bytes (128 stores of 32 bytes) and clobbers only the
    // registers named.
    unsafe {
        core::arch::asm!(
            "add {end}, {p}, #4096",
            "2:",
            "stmia {p}!, {{r2-r5, r8, r10, r12, lr}}",
            "stmia {p}!, {{r2-r5, r8, r10, r12, lr}}",
            "stmia {p}!, {{r2-r5, r8, r10, r12, lr}}",
            "stmia {p}!, {{r2-r5, r8, r10, r12, lr}}",
            "cmp {p}, {end}",
            "bne 2b",
            p = inout(reg) va => _,
            end = out(reg) _,
            in("r2") 0, in("r3") 0, in("r4") 0, in("r5") 0,
            in("r8") 0, in("r10") 0, in("r12") 0, in("lr") 0,
            options(nostack),
        );
    }
    #[cfg(target_arch = "aarch64")]
    {
        let dczid: u64;
        // SAFETY: DCZID_EL0 is readable at every EL; no side effects.
        unsafe { core::arch::asm!("mrs {}, dczid_el0", out(reg) dczid, options(nomem, nostack)) };
        if dczid & (1 << 4) == 0 {
            // BS = log2 of the block size in 4-byte words.
            let block = 4usize << (dczid & 0xf);
            // SAFETY: the caller's contract: `va` is a 4 KiB-aligned
            // writable Normal page; `block` divides 4096 (BS <= 9: at most
            // 2 KiB, ARM ARM D23.2.34), so the loop zeroes exactly the page.
            unsafe {
                core::arch::asm!(
                    "add {end}, {p}, #4096",
                    "2:",
                    "dc zva, {p}",
                    "add {p}, {p}, {b}",
                    "cmp {p}, {end}",
                    "b.ne 2b",
                    p = inout(reg) va => _,
                    end = out(reg) _,
                    b = in(reg) block,
                    options(nostack),
                );
            }
        } else {
            // SAFETY: as above; 64 bytes per loop, 64 loops.
            unsafe {
                core::arch::asm!(
                    "add {end}, {p}, #4096",
                    "2:",
                    "stp xzr, xzr, [{p}]",
                    "stp xzr, xzr, [{p}, #16]",
                    "stp xzr, xzr, [{p}, #32]",
                    "stp xzr, xzr, [{p}, #48]",
                    "add {p}, {p}, #64",
                    "cmp {p}, {end}",
                    "b.ne 2b",
                    p = inout(reg) va => _,
                    end = out(reg) _,
                    options(nostack),
                );
            }
        }
    }
    #[cfg(not(any(target_arch = "arm", target_arch = "aarch64")))]
    // SAFETY: the caller's contract.
    unsafe {
        core::ptr::write_bytes(va as *mut u8, 0, PAGE)
    };
}

/// Copy the 4 KiB page at `src` to `dst`.
///
/// # Safety
/// Both 4 KiB-aligned and mapped (`dst` writable, owned by the caller);
/// the pages are distinct (they never partly overlap: both are aligned).
#[inline]
pub unsafe fn copy_page(dst: usize, src: usize) {
    debug_assert_eq!(dst % PAGE, 0);
    debug_assert_eq!(src % PAGE, 0);
    #[cfg(target_arch = "arm")]
    // SAFETY: the caller's contract: 4 KiB readable at `src`, writable at
    // `dst`; 64 bytes per loop, 64 loops; only the named registers change.
    unsafe {
        core::arch::asm!(
            "add {end}, {s}, #4096",
            "2:",
            "ldmia {s}!, {{r2-r5, r8, r10, r12, lr}}",
            "stmia {d}!, {{r2-r5, r8, r10, r12, lr}}",
            "ldmia {s}!, {{r2-r5, r8, r10, r12, lr}}",
            "stmia {d}!, {{r2-r5, r8, r10, r12, lr}}",
            "cmp {s}, {end}",
            "bne 2b",
            d = inout(reg) dst => _,
            s = inout(reg) src => _,
            end = out(reg) _,
            out("r2") _, out("r3") _, out("r4") _, out("r5") _,
            out("r8") _, out("r10") _, out("r12") _, out("lr") _,
            options(nostack),
        );
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: as above; 128 bytes per loop, 32 loops; general registers
    // only (the kernel does not touch the FP/SIMD registers).
    unsafe {
        core::arch::asm!(
            "add {end}, {s}, #4096",
            "2:",
            "ldp x2, x3, [{s}]",
            "ldp x4, x5, [{s}, #16]",
            "ldp x6, x7, [{s}, #32]",
            "ldp x8, x9, [{s}, #48]",
            "stp x2, x3, [{d}]",
            "stp x4, x5, [{d}, #16]",
            "stp x6, x7, [{d}, #32]",
            "stp x8, x9, [{d}, #48]",
            "ldp x2, x3, [{s}, #64]",
            "ldp x4, x5, [{s}, #80]",
            "ldp x6, x7, [{s}, #96]",
            "ldp x8, x9, [{s}, #112]",
            "add {s}, {s}, #128",
            "stp x2, x3, [{d}, #64]",
            "stp x4, x5, [{d}, #80]",
            "stp x6, x7, [{d}, #96]",
            "stp x8, x9, [{d}, #112]",
            "add {d}, {d}, #128",
            "cmp {s}, {end}",
            "b.ne 2b",
            d = inout(reg) dst => _,
            s = inout(reg) src => _,
            end = out(reg) _,
            out("x2") _, out("x3") _, out("x4") _, out("x5") _,
            out("x6") _, out("x7") _, out("x8") _, out("x9") _,
            options(nostack),
        );
    }
    #[cfg(not(any(target_arch = "arm", target_arch = "aarch64")))]
    // SAFETY: the caller's contract.
    unsafe {
        core::ptr::copy_nonoverlapping(src as *const u8, dst as *mut u8, PAGE)
    };
}

/// Zero `len` bytes (a multiple of 4 KiB) from the page-aligned `va`.
///
/// # Safety
/// As [`zero_page`] for every page of the range.
pub unsafe fn zero_pages(va: usize, len: usize) {
    debug_assert_eq!(len % PAGE, 0);
    let mut p = va;
    while p < va + len {
        // SAFETY: the caller's contract, page by page.
        unsafe { zero_page(p) };
        p += PAGE;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[repr(C, align(4096))]
    struct Page([u8; PAGE]);

    #[test]
    fn zero_and_copy_cover_exactly_one_page() {
        let mut pages = alloc::vec![Page([0xa5; PAGE]), Page([0; PAGE]), Page([0x5a; PAGE])];
        let base = pages.as_mut_ptr() as usize;
        // SAFETY: the three pages are ours and aligned.
        unsafe { zero_page(base + PAGE) };
        assert!(pages[1].0.iter().all(|&b| b == 0));
        assert!(pages[0].0.iter().all(|&b| b == 0xa5));
        assert!(pages[2].0.iter().all(|&b| b == 0x5a));
        for (i, b) in pages[0].0.iter_mut().enumerate() {
            *b = i as u8 ^ (i >> 8) as u8;
        }
        // SAFETY: distinct aligned pages of ours.
        unsafe { copy_page(base + PAGE, base) };
        assert_eq!(pages[1].0, pages[0].0);
        assert!(pages[2].0.iter().all(|&b| b == 0x5a));
    }
}
