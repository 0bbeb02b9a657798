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

/// How the kernel reaches a device's registers (see [`place_io`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoPlacement {
    /// Inside the board's device window, which is mapped already.
    Window { va: u64 },
    /// Map `len` bytes of `map_pa` at `map_va` (Device, kernel only); the
    /// registers are then at `va`.
    Map {
        va: u64,
        map_va: u64,
        map_pa: u64,
        len: u64,
    },
}

/// Where a device whose page-aligned physical range is `range` and whose
/// registers start at `pa` is seen by the kernel: through the device
/// window (`window`: pa, size, va) if the range lies inside it, else
/// mapped at `io_va` (a window of `io_size` bytes kept for such devices,
/// e.g. a console UART outside the board's window). `None` if it fits
/// neither.
pub fn place_io(
    window: (u64, u64, u64),
    io_va: u64,
    io_size: u64,
    range: (u64, u64),
    pa: u64,
) -> Option<IoPlacement> {
    let (wpa, wsize, wva) = window;
    let (start, end) = range;
    if end <= start || pa < start || pa >= end {
        return None;
    }
    if start >= wpa && end - wpa <= wsize {
        return Some(IoPlacement::Window {
            va: wva + (pa - wpa),
        });
    }
    (end - start <= io_size).then_some(IoPlacement::Map {
        va: io_va + (pa - start),
        map_va: io_va,
        map_pa: start,
        len: end - start,
    })
}

/// Make a device's registers reachable in the kernel `table`: placed by
/// [`place_io`], mapped (Device, kernel read-write, never executable) when
/// they lie outside the device window. The registers' VA, or `None` when
/// they fit nowhere or the mapping fails (no table memory, overlap).
pub fn map_io<F: crate::mm::pagetable::Format, E: crate::mm::pagetable::TableEnv<F>>(
    table: &crate::mm::pagetable::Table<F>,
    env: &mut E,
    window: (u64, u64, u64),
    io: (u64, u64),
    range: (u64, u64),
    pa: u64,
) -> Option<u64> {
    match place_io(window, io.0, io.1, range, pa)? {
        IoPlacement::Window { va } => Some(va),
        IoPlacement::Map {
            va,
            map_va,
            map_pa,
            len,
        } => table
            .map(env, map_va, map_pa, len, MapAttrs::kernel_device())
            .ok()
            .map(|_| va),
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
    pub device_pa: u64,
    pub device_size: u64,
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
        device_pa: 0x0800_0000,
        device_size: 0x300_0000,
    };

    #[test]
    fn io_inside_the_window_or_mapped_apart() {
        let w = (0x0800_0000, 0x300_0000, 0xF000_0000);
        // QEMU virt's PL011: inside the window, no new mapping.
        assert_eq!(
            place_io(
                w,
                0xFE00_0000,
                1 << 20,
                (0x0900_0000, 0x0900_1000),
                0x0900_0000
            ),
            Some(IoPlacement::Window { va: 0xF100_0000 })
        );
        // The Pi 3 mini UART: its page mapped at the I/O window, the
        // registers 0x40 into it.
        assert_eq!(
            place_io(
                w,
                0xFE00_0000,
                1 << 20,
                (0x3f21_5000, 0x3f21_6000),
                0x3f21_5040
            ),
            Some(IoPlacement::Map {
                va: 0xFE00_0040,
                map_va: 0xFE00_0000,
                map_pa: 0x3f21_5000,
                len: 0x1000
            })
        );
        // Straddling the window's end: mapped apart.
        assert!(matches!(
            place_io(
                w,
                0xFE00_0000,
                1 << 20,
                (0x0AFF_F000, 0x0B00_1000),
                0x0AFF_F000
            ),
            Some(IoPlacement::Map { .. })
        ));
        // Too large for the I/O window, or pa outside its own range.
        assert_eq!(
            place_io(
                w,
                0xFE00_0000,
                0x1000,
                (0x1000_0000, 0x1000_2000),
                0x1000_0000
            ),
            None
        );
        assert_eq!(
            place_io(
                w,
                0xFE00_0000,
                1 << 20,
                (0x1000_0000, 0x1000_1000),
                0x1000_1000
            ),
            None
        );
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
