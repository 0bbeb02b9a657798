//! Where the kernel sees physical memory: its own image at its link address
//! and all RAM through a linear map. Shared by every architecture; the
//! addresses are the architecture's.

use crate::mm::memtype::{Access, MapAttrs};

/// How the kernel image is mapped, given its linker boundaries: text
/// read-only and executable, rodata read-only, data and BSS read-write;
/// the kernel never executes its data (XN and PXN everywhere but .text).
pub fn image_regions(
    start: u64,
    text_end: u64,
    ro_end: u64,
    end: u64,
) -> [(u64, u64, MapAttrs); 3] {
    let ro = MapAttrs::kernel_data().with_access(Access::KernelRo);
    [
        (start, text_end, ro.executable()),
        (text_end, ro_end, ro),
        (ro_end, end, MapAttrs::kernel_data()),
    ]
}

/// Most separate device mappings the kernel keeps (GIC parts, console,
/// interrupt controllers: a handful on every board).
pub const MAX_IO_MAPS: usize = 32;

/// The kernel's device-register VA area (Linux's `ioremap` space): each
/// device the kernel drives gets its pages mapped on demand (Device,
/// kernel read-write, never executable), packed page by page from the
/// area's base; a range already mapped is reused. Nothing else of the
/// physical map is mapped: which physical ranges may be mapped at all is
/// the caller's rule (never RAM: `bootinfo::devices`).
#[derive(Clone, Copy, Debug)]
pub struct IoSpace {
    base: u64,
    size: u64,
    used: u64,
    /// (pa, len, va) of each mapping made, page-aligned.
    maps: [(u64, u64, u64); MAX_IO_MAPS],
    n: usize,
}

/// Where [`IoSpace::place`] puts a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoPlacement {
    /// Already mapped: the registers are at `va`.
    Mapped { va: u64 },
    /// Map `len` bytes of `map_pa` at `map_va`, then [`IoSpace::record`];
    /// the registers are then at `va`.
    Map {
        va: u64,
        map_va: u64,
        map_pa: u64,
        len: u64,
    },
}

const IO_PAGE: u64 = 4096;

impl IoSpace {
    pub const fn new(base: u64, size: u64) -> IoSpace {
        IoSpace {
            base,
            size,
            used: 0,
            maps: [(0, 0, 0); MAX_IO_MAPS],
            n: 0,
        }
    }

    /// The area `(base, size)`.
    pub fn area(&self) -> (u64, u64) {
        (self.base, self.size)
    }

    /// The mappings made so far: (pa, len, va).
    pub fn maps(&self) -> &[(u64, u64, u64)] {
        &self.maps[..self.n]
    }

    /// Where the registers `[pa, pa + len)` are or would be: inside an
    /// existing mapping, else at the next free pages. `None` for an empty
    /// or wrapping range, or when the area or the table is full.
    pub fn place(&self, pa: u64, len: u64) -> Option<IoPlacement> {
        let end = pa.checked_add(len)?;
        if len == 0 {
            return None;
        }
        if let Some(&(mpa, mlen, mva)) = self
            .maps()
            .iter()
            .find(|&&(mpa, mlen, _)| mpa <= pa && end <= mpa + mlen)
        {
            let _ = mlen;
            return Some(IoPlacement::Mapped {
                va: mva + (pa - mpa),
            });
        }
        let map_pa = pa & !(IO_PAGE - 1);
        let map_end = end.checked_add(IO_PAGE - 1)? & !(IO_PAGE - 1);
        let mlen = map_end - map_pa;
        if self.n == MAX_IO_MAPS || mlen > self.size - self.used {
            return None;
        }
        let map_va = self.base + self.used;
        Some(IoPlacement::Map {
            va: map_va + (pa - map_pa),
            map_va,
            map_pa,
            len: mlen,
        })
    }

    /// Record a mapping [`place`](Self::place) proposed and the caller made.
    pub fn record(&mut self, map_pa: u64, len: u64, map_va: u64) {
        if self.n < MAX_IO_MAPS && map_va == self.base + self.used {
            self.maps[self.n] = (map_pa, len, map_va);
            self.n += 1;
            self.used += len;
        }
    }
}

/// Make the registers `[pa, pa + len)` reachable in the kernel `table`
/// through `space` (see [`IoSpace`]): their VA, or `None` when they fit
/// nowhere or the mapping fails (no table memory).
pub fn map_io<F: crate::mm::pagetable::Format, E: crate::mm::pagetable::TableEnv<F>>(
    table: &crate::mm::pagetable::Table<F>,
    env: &mut E,
    space: &mut IoSpace,
    pa: u64,
    len: u64,
) -> Option<u64> {
    match space.place(pa, len)? {
        IoPlacement::Mapped { va } => Some(va),
        IoPlacement::Map {
            va,
            map_va,
            map_pa,
            len,
        } => {
            table
                .map(env, map_va, map_pa, len, MapAttrs::kernel_device())
                .ok()?;
            space.record(map_pa, len, map_va);
            Some(va)
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelLayout {
    pub image_pa: u64,
    pub image_size: u64,
    pub image_va: u64,
    pub ram_base: u64,
    /// RAM covered by the linear map (capped at the window size).
    pub ram_size: u64,
    pub linear_base: u64,
}

impl KernelLayout {
    /// Kernel VA of `pa`: the image window for the image (valid from the
    /// first instruction, before the linear map exists), else the linear map.
    pub const fn phys_to_virt(&self, pa: u64) -> u64 {
        if pa.wrapping_sub(self.image_pa) < self.image_size {
            pa - self.image_pa + self.image_va
        } else {
            pa.wrapping_sub(self.ram_base)
                .wrapping_add(self.linear_base)
        }
    }

    /// Physical address of an image or linear-map address.
    pub const fn virt_to_phys(&self, va: u64) -> Option<u64> {
        if va.wrapping_sub(self.image_va) < self.image_size {
            Some(va - self.image_va + self.image_pa)
        } else if va.wrapping_sub(self.linear_base) < self.ram_size {
            Some(va - self.linear_base + self.ram_base)
        } else {
            None
        }
    }

    pub const fn is_ram(&self, pa: u64) -> bool {
        pa >= self.ram_base && pa - self.ram_base < self.ram_size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: KernelLayout = KernelLayout {
        image_pa: 0x4001_0000,
        image_size: 0x30_0000,
        image_va: 0xC000_0000,
        ram_base: 0x4000_0000,
        ram_size: 0x2000_0000,
        linear_base: 0x8000_0000,
    };

    #[test]
    fn io_space_packs_pages_and_reuses_mappings() {
        let mut io = IoSpace::new(0xF000_0000, 0x10_0000);
        // The Pi 3 mini UART: its page mapped at the area's base, the
        // registers 0x40 into it.
        let p = io.place(0x3f21_5040, 0x40).unwrap();
        assert_eq!(
            p,
            IoPlacement::Map {
                va: 0xF000_0040,
                map_va: 0xF000_0000,
                map_pa: 0x3f21_5000,
                len: 0x1000
            }
        );
        io.record(0x3f21_5000, 0x1000, 0xF000_0000);
        // The same page again: no new mapping.
        assert_eq!(
            io.place(0x3f21_5000, 0x20),
            Some(IoPlacement::Mapped { va: 0xF000_0000 })
        );
        // A GICv2 distributor + CPU interface straddling pages: next pages.
        assert_eq!(
            io.place(0x0800_0800, 0x1000),
            Some(IoPlacement::Map {
                va: 0xF000_1800,
                map_va: 0xF000_1000,
                map_pa: 0x0800_0000,
                len: 0x2000
            })
        );
        // A record that does not match the proposal is ignored.
        io.record(0x0800_0000, 0x2000, 0xF000_5000);
        assert_eq!(io.maps().len(), 1);
        // Too large for what is left, empty, wrapping.
        assert_eq!(io.place(0x1000_0000, 0x10_0000), None);
        assert_eq!(io.place(0x1000_0000, 0), None);
        assert_eq!(io.place(u64::MAX - 10, 0x100), None);
        // Full table.
        let mut io = IoSpace::new(0, 1 << 30);
        for i in 0..MAX_IO_MAPS as u64 {
            match io.place(i << 20, 8).unwrap() {
                IoPlacement::Map {
                    map_va,
                    map_pa,
                    len,
                    ..
                } => io.record(map_pa, len, map_va),
                p => panic!("{p:?}"),
            }
        }
        assert_eq!(io.place(0x7000_0000, 8), None);
    }

    #[test]
    fn image_addresses_use_the_image_window() {
        assert_eq!(L.phys_to_virt(0x4001_0000), 0xC000_0000);
        assert_eq!(L.phys_to_virt(0x4030_FFFF), 0xC02F_FFFF);
        assert_eq!(L.virt_to_phys(0xC000_1234), Some(0x4001_1234));
    }

    #[test]
    fn other_ram_uses_the_linear_map() {
        assert_eq!(L.phys_to_virt(0x4000_0000), 0x8000_0000);
        assert_eq!(L.phys_to_virt(0x4031_0000), 0x8031_0000);
        assert_eq!(L.virt_to_phys(0x9FFF_FFFF), Some(0x5FFF_FFFF));
        assert_eq!(L.virt_to_phys(0xA000_0000), None);
        assert!(L.is_ram(0x5FFF_FFFF) && !L.is_ram(0x6000_0000) && !L.is_ram(0x3FFF_FFFF));
    }

    #[test]
    fn image_window_ends_exactly_at_the_image_end() {
        // One byte past the image: the linear map, in both directions.
        assert_eq!(L.phys_to_virt(0x4031_0000), 0x8031_0000);
        assert_eq!(L.phys_to_virt(0x4000_FFFF), 0x8000_FFFF);
        assert_eq!(L.virt_to_phys(0xC02F_FFFF), Some(0x4030_FFFF));
        assert_eq!(L.virt_to_phys(0xC030_0000), None);
        assert_eq!(L.virt_to_phys(0xBFFF_FFFF), None);
        assert_eq!(L.virt_to_phys(0x8000_0000), Some(0x4000_0000));
        assert_eq!(L.virt_to_phys(0x7FFF_FFFF), None);
        assert!(L.is_ram(0x4000_0000));
    }

    #[test]
    fn image_regions_text_rodata_data() {
        // .text: kernel read-only, executable; .rodata: read-only, never
        // executable; .data/.bss: read-write, never executable. All of it
        // Normal write-back RAM, global, shareable.
        let [t, r, d] = image_regions(0x1000, 0x5000, 0x8000, 0xA000);
        assert_eq!(
            (t.0, t.1, r.0, r.1, d.0, d.1),
            (0x1000, 0x5000, 0x5000, 0x8000, 0x8000, 0xA000)
        );
        let want = |access, xn| MapAttrs {
            mem: crate::mm::memtype::MemoryType::NormalWriteBackWriteAlloc,
            access,
            execute_never: xn,
            privileged_execute_never: xn,
            not_global: false,
            shareable: true,
        };
        assert_eq!(t.2, want(Access::KernelRo, false));
        assert_eq!(r.2, want(Access::KernelRo, true));
        assert_eq!(d.2, want(Access::KernelRw, true));
    }
}
