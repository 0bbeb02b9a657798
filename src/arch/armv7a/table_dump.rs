//! Human-readable layout of a live translation table, decoded with the
//! independent decoder: which ranges are supersections, sections, large or
//! small pages, and with which attributes.

use super::decode::{self, DecodedAttrs, MemoryClassOrReserved};
use crate::mm::memtype::MemoryClass;
use core::fmt::Write;

/// A run of same-sized, same-attribute blocks with contiguous PAs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    pub va: u32,
    pub pa: u64,
    pub block: u32,
    pub count: u32,
    pub attrs: DecodedAttrs,
}

impl Run {
    fn extends(&self, va: u32, pa: u64, block: u32, attrs: &DecodedAttrs) -> bool {
        let len = self.block as u64 * self.count as u64;
        self.block == block
            && self.attrs == *attrs
            && self.va as u64 + len == va as u64
            && self.pa + len == pa
    }
}

/// Walk `[va_lo, va_hi]` of an L1 table and report runs. `read_l1(i)` reads
/// L1 entry i, `read_l2(base, i)` entry i of the L2 table at `base`.
pub fn runs(
    va_lo: u32,
    va_hi: u32,
    read_l1: &dyn Fn(usize) -> u32,
    read_l2: &dyn Fn(u32, usize) -> u32,
    out: &mut dyn FnMut(Run),
) {
    let mut cur: Option<Run> = None;
    let push = |va: u32,
                pa: u64,
                block: u32,
                attrs: DecodedAttrs,
                cur: &mut Option<Run>,
                out: &mut dyn FnMut(Run)| {
        if let Some(r) = cur.as_mut() {
            if r.extends(va, pa, block, &attrs) {
                r.count += 1;
                return;
            }
            out(*r);
        }
        *cur = Some(Run {
            va,
            pa,
            block,
            count: 1,
            attrs,
        });
    };
    let mut i = (va_lo >> 20) as usize;
    let last = (va_hi >> 20) as usize;
    while i <= last {
        let va = (i as u32) << 20;
        match decode::decode_l1(read_l1(i)) {
            decode::L1Entry::Section { base, attrs, .. } => {
                push(va, base as u64, 1 << 20, attrs, &mut cur, out)
            }
            decode::L1Entry::Supersection { base, attrs } => {
                if i % 16 == 0 {
                    push(va, base, 16 << 20, attrs, &mut cur, out);
                }
            }
            decode::L1Entry::PageTable { l2_base, pxn, .. } => {
                let mut j = 0;
                while j < 256 {
                    let pva = va + ((j as u32) << 12);
                    match decode::decode_l2(read_l2(l2_base, j)) {
                        decode::L2Entry::SmallPage { base, mut attrs } => {
                            attrs.pxn = pxn;
                            push(pva, base as u64, 4096, attrs, &mut cur, out);
                            j += 1;
                        }
                        decode::L2Entry::LargePage { base, mut attrs } => {
                            attrs.pxn = pxn;
                            push(pva, base as u64, 64 << 10, attrs, &mut cur, out);
                            j += 16;
                        }
                        decode::L2Entry::Fault => {
                            if let Some(r) = cur.take() {
                                out(r);
                            }
                            j += 1;
                        }
                    }
                }
            }
            _ => {
                if let Some(r) = cur.take() {
                    out(r);
                }
            }
        }
        i += 1;
    }
    if let Some(r) = cur {
        out(r);
    }
}

pub fn describe_attrs(a: &DecodedAttrs, w: &mut dyn Write) -> core::fmt::Result {
    match a.class {
        MemoryClassOrReserved::Class(MemoryClass::StronglyOrdered) => {
            w.write_str("Strongly-ordered")?
        }
        MemoryClassOrReserved::Class(MemoryClass::Device { shareable }) => write!(
            w,
            "Device{}",
            if shareable {
                " (shareable)"
            } else {
                " (non-shareable)"
            }
        )?,
        MemoryClassOrReserved::Class(MemoryClass::Normal { inner, outer }) => write!(
            w,
            "Normal {}/{}{}",
            inner.short_name(),
            outer.short_name(),
            if a.shareable_bit { " S" } else { "" }
        )?,
        MemoryClassOrReserved::Reserved => w.write_str("RESERVED")?,
        MemoryClassOrReserved::ImplementationDefined => w.write_str("IMPDEF")?,
    }
    let access = a.access.map(|x| x.name()).unwrap_or("AP reserved");
    write!(
        w,
        "  {}  {}{}",
        access,
        if a.xn { "XN" } else { "X" },
        if a.pxn { " PXN" } else { "" }
    )?;
    if a.not_global {
        w.write_str(" nG")?;
    }
    Ok(())
}

#[cfg(target_arch = "arm")]
fn block_name(size: u32) -> &'static str {
    match size {
        0x100_0000 => "supersection",
        0x10_0000 => "section",
        0x1_0000 => "large page",
        _ => "small page",
    }
}

#[cfg(target_arch = "arm")]
pub fn print_kernel_table() {
    use super::mmu::{kernel_table, phys_to_virt};
    use crate::kprintln;
    let t = kernel_table();
    let l1_pa = t.root_pa as u32;
    let rd = |pa: u32| -> u32 {
        // SAFETY: descriptor memory is mapped in the kernel half.
        unsafe { (phys_to_virt(pa) as *const u32).read_volatile() }
    };
    kprintln!(
        "kernel translation table (TTBR1, L1 at PA {:#010x}; user half via TTBR0, TTBCR.N=1):",
        l1_pa
    );
    runs(
        t.va_lo as u32,
        t.va_hi as u32,
        &|i| rd(l1_pa + 4 * i as u32),
        &|b, i| rd(b + 4 * i as u32),
        &mut |r| {
            let mut s = alloc::string::String::new();
            let _ = describe_attrs(&r.attrs, &mut s);
            let end = r.va as u64 + r.block as u64 * r.count as u64 - 1;
            kprintln!(
                "  VA {:#010x}..{:#010x} -> PA {:#010x}  {:>4} x {:<12}  {}",
                r.va,
                end,
                r.pa,
                r.count,
                block_name(r.block),
                s
            );
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn coalesces_contiguous_sections_and_splits_on_change() {
        // Three WBWA sections VA 0x8000_0000.. -> 0x4000_0000.., then one
        // with different attributes, then a gap.
        let sect = |pa: u32, ap: u32| pa | (ap << 10) | (0b001 << 12) | 0b1110;
        let l1 = move |i: usize| -> u32 {
            match i {
                0x800 => sect(0x4000_0000, 1),
                0x801 => sect(0x4010_0000, 1),
                0x802 => sect(0x4020_0000, 1),
                0x803 => sect(0x4030_0000, 3),
                _ => 0,
            }
        };
        let mut v = Vec::new();
        runs(0x8000_0000, 0x80FF_FFFF, &l1, &|_, _| 0, &mut |r| v.push(r));
        assert_eq!(v.len(), 2);
        assert_eq!(
            (v[0].va, v[0].pa, v[0].count, v[0].block),
            (0x8000_0000, 0x4000_0000, 3, 1 << 20)
        );
        assert_eq!((v[1].va, v[1].count), (0x8030_0000, 1));
    }
}
