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
    #[cfg(target_arch = "aarch64")]
    {
        let dczid: u64;
        // SAFETY: DCZID_EL0 is readable at every EL; no side effects.
        unsafe { core::arch::asm!("mrs {}, dczid_el0", out(reg) dczid, options(nomem, nostack)) };
        if dczid & (1 << 4) == 0 {
            // BS = log2 of the block size in 4-byte words.
            let block = 4usize << (dczid & 0xf);
            if block <= 1024 {
                // SAFETY: the caller's contract: `va` is a 4 KiB-aligned
                // writable Normal page; four blocks per loop, and 4 *
                // `block` (a power of two <= 4 KiB) divides 4096, so the
                // loop zeroes exactly the page.
                unsafe {
                    core::arch::asm!(
                        "add {end}, {p}, #4096",
                        "2:",
                        "dc zva, {p}",
                        "add {p}, {p}, {b}",
                        "dc zva, {p}",
                        "add {p}, {p}, {b}",
                        "dc zva, {p}",
                        "add {p}, {p}, {b}",
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
                return;
            }
            if block <= 4096 {
                // SAFETY: as above, one block per loop (2 or 4 KiB blocks:
                // BS <= 9 in the ARM ARM's DCZID_EL0, at most 2 KiB).
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
                return;
            }
        }
    }
    // SAFETY: the caller's contract.
    unsafe { zero_bytes(va, PAGE) };
}

/// Zero `len` bytes at `va`, `len` a multiple of 128 and `va` 8-byte
/// aligned (page tables: an ARMv7-A L2 table is 1 KiB).
///
/// # Safety
/// The range is mapped writable and owned by the caller.
#[inline]
pub unsafe fn zero_bytes(va: usize, len: usize) {
    debug_assert!(len % 128 == 0 && va % 8 == 0);
    if len == 0 {
        return;
    }
    #[cfg(target_arch = "arm")]
    // SAFETY: the caller's contract: `len` (a non-zero multiple of 128)
    // writable bytes at `va`; 128 bytes per loop; only the named registers
    // change.
    unsafe {
        core::arch::asm!(
            "add {end}, {p}, {len}",
            "2:",
            "stmia {p}!, {{r2-r5, r8, r10, r12, lr}}",
            "stmia {p}!, {{r2-r5, r8, r10, r12, lr}}",
            "stmia {p}!, {{r2-r5, r8, r10, r12, lr}}",
            "stmia {p}!, {{r2-r5, r8, r10, r12, lr}}",
            "cmp {p}, {end}",
            "bne 2b",
            p = inout(reg) va => _,
            len = in(reg) len,
            end = out(reg) _,
            in("r2") 0, in("r3") 0, in("r4") 0, in("r5") 0,
            in("r8") 0, in("r10") 0, in("r12") 0, in("lr") 0,
            options(nostack),
        );
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: as above; 64 bytes per loop.
    unsafe {
        core::arch::asm!(
            "add {end}, {p}, {len}",
            "2:",
            "stp xzr, xzr, [{p}]",
            "stp xzr, xzr, [{p}, #16]",
            "stp xzr, xzr, [{p}, #32]",
            "stp xzr, xzr, [{p}, #48]",
            "add {p}, {p}, #64",
            "cmp {p}, {end}",
            "b.ne 2b",
            p = inout(reg) va => _,
            len = in(reg) len,
            end = out(reg) _,
            options(nostack),
        );
    }
    #[cfg(not(any(target_arch = "arm", target_arch = "aarch64")))]
    // SAFETY: the caller's contract.
    unsafe {
        core::ptr::write_bytes(va as *mut u8, 0, len)
    };
}

/// Whether any of the `len` bytes at `va` (a multiple of 64, 8-byte
/// aligned) has a bit of `mask` set in its 32-bit (ARMv7-A) or 64-bit
/// (AArch64) word: "is this table empty" is `!any_bits(table, size, valid
/// bits)`. Eight words are ORed per test: about 1.5 instructions per
/// entry where an entry-by-entry loop costs 6.
///
/// # Safety
/// The range is mapped readable.
#[inline]
pub unsafe fn any_bits(va: usize, len: usize, mask: usize) -> bool {
    debug_assert!(len % 64 == 0 && va % 8 == 0);
    if len == 0 {
        return false;
    }
    #[cfg(target_arch = "arm")]
    {
        let found: usize;
        // SAFETY: the caller's contract: `len` readable bytes at `va`;
        // only the named registers change.
        unsafe {
            core::arch::asm!(
                "add {end}, {p}, {len}",
                "2:",
                "ldmia {p}!, {{r2-r5, r8, r10, r12, lr}}",
                "orr r2, r2, r3",
                "orr r4, r4, r5",
                "orr r8, r8, r10",
                "orr r12, r12, lr",
                "orr r2, r2, r4",
                "orr r8, r8, r12",
                "orr r2, r2, r8",
                "ands r2, r2, {mask}",
                "bne 3f",
                "cmp {p}, {end}",
                "bne 2b",
                "3:",
                "mov {found}, r2",
                p = inout(reg) va => _,
                len = in(reg) len,
                mask = in(reg) mask,
                end = out(reg) _,
                found = lateout(reg) found,
                out("r2") _, out("r3") _, out("r4") _, out("r5") _,
                out("r8") _, out("r10") _, out("r12") _, out("lr") _,
                options(nostack, readonly),
            );
        }
        found != 0
    }
    #[cfg(target_arch = "aarch64")]
    {
        let found: usize;
        // SAFETY: as above; 64 bytes per loop.
        unsafe {
            core::arch::asm!(
                "add {end}, {p}, {len}",
                "2:",
                "ldp x2, x3, [{p}]",
                "ldp x4, x5, [{p}, #16]",
                "ldp x6, x7, [{p}, #32]",
                "ldp x8, x9, [{p}, #48]",
                "add {p}, {p}, #64",
                "orr x2, x2, x3",
                "orr x4, x4, x5",
                "orr x6, x6, x7",
                "orr x8, x8, x9",
                "orr x2, x2, x4",
                "orr x6, x6, x8",
                "orr x2, x2, x6",
                "ands x2, x2, {mask}",
                "b.ne 3f",
                "cmp {p}, {end}",
                "b.ne 2b",
                "3:",
                "mov {found}, x2",
                p = inout(reg) va => _,
                len = in(reg) len,
                mask = in(reg) mask,
                end = out(reg) _,
                found = lateout(reg) found,
                out("x2") _, out("x3") _, out("x4") _, out("x5") _,
                out("x6") _, out("x7") _, out("x8") _, out("x9") _,
                options(nostack, readonly),
            );
        }
        found != 0
    }
    #[cfg(not(any(target_arch = "arm", target_arch = "aarch64")))]
    {
        // SAFETY: the caller's contract.
        let b = unsafe {
            core::slice::from_raw_parts(va as *const usize, len / core::mem::size_of::<usize>())
        };
        b.iter().any(|&w| w & mask != 0)
    }
}

/// The first index at or after `from` of `t` whose word has a bit of
/// `mask` set: a table's first valid entry. Eight words are ORed and
/// tested once where they are all clear (about 1.5 instructions a word
/// instead of 6), one by one elsewhere. (The alignment prologue and the
/// eight-word test only save time: the final scan alone gives the same
/// answer, so mutating them changes no result, only the cost.)
pub fn first_with_bits<W>(t: &[W], from: usize, mask: W) -> Option<usize>
where
    W: Copy + PartialEq + Default + core::ops::BitOr<Output = W> + core::ops::BitAnd<Output = W>,
{
    let zero = W::default();
    let set = |i: usize| t[i] & mask != zero;
    let mut i = from;
    while i < t.len() && i % 8 != 0 {
        if set(i) {
            return Some(i);
        }
        i += 1;
    }
    while let Some(c) = t.get(i..i + 8) {
        // Written out: the compiler keeps a loop of eight otherwise.
        let any = c[0] | c[1] | c[2] | c[3] | c[4] | c[5] | c[6] | c[7];
        if any & mask != zero {
            break;
        }
        i += 8;
    }
    (i..t.len()).find(|&i| set(i))
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

    #[test]
    fn first_with_bits_finds_the_first_set_word_from_any_start() {
        for len in [0usize, 1, 7, 8, 9, 64, 256, 512] {
            // Every position within the first chunks (each word of an
            // eight-word test), and some far ones.
            for at in (0usize..24).chain([63, 255, 511]) {
                let mut t = alloc::vec![0b100u32; len]; // bits outside the mask
                if at < len {
                    t[at] = 0b10;
                }
                for from in [0usize, 1, 8, 9, 200] {
                    // The oracle: a plain scan.
                    let want = (from..len).find(|&i| t[i] & 0b11 != 0);
                    assert_eq!(
                        first_with_bits(&t, from, 0b11),
                        want,
                        "len {len} at {at} from {from}"
                    );
                }
            }
        }
    }

    #[test]
    fn any_bits_finds_a_masked_bit_anywhere_and_zero_bytes_clears() {
        let mut t = Page([0; PAGE]);
        let va = t.0.as_mut_ptr() as usize;
        let words = 1024 / core::mem::size_of::<usize>();
        // SAFETY: `va` is our page, 1 KiB of it read.
        let has = |va: usize| unsafe { any_bits(va, 1024, 0b11) };
        let word = |t: &mut Page, i: usize, v: usize| {
            let w = core::mem::size_of::<usize>();
            t.0[i * w..(i + 1) * w].copy_from_slice(&v.to_ne_bytes());
        };
        assert!(!has(va));
        for i in [0, 1, 7, 8, words - 1] {
            word(&mut t, i, 0b100); // a bit outside the mask
            assert!(!has(va));
            word(&mut t, i, 0b10);
            assert!(has(va));
            word(&mut t, i, 0);
        }
        word(&mut t, words, 1); // just past the range
        assert!(!has(va));
        t.0.fill(0xff);
        // SAFETY: as above.
        unsafe { zero_bytes(va + 128, 1024) };
        assert!(t.0[..128].iter().all(|&b| b == 0xff));
        assert!(t.0[128..1152].iter().all(|&b| b == 0));
        assert!(t.0[1152..].iter().all(|&b| b == 0xff));
    }
}
