//! Architecture-neutral memory types and access permissions.
//!
//! Every mapping the kernel makes names one [`MemoryType`] and one
//! [`Access`]; each architecture converts them losslessly into its own
//! descriptor bits (`arch::armv7a::desc` for TEX/C/B + AP[2:0]).

/// Cache policy of one cache level (inner or outer) of Normal memory.
///
/// The ARMv7 names, ARM ARM B3.8.2 "Short-descriptor format memory region
/// attributes, without TEX remap", table B3-11 (the `BB`/`AA` encoding used
/// when TEX[2] = 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CachePolicy {
    NonCacheable,
    WriteBackWriteAlloc,
    WriteThroughNoWriteAlloc,
    WriteBackNoWriteAlloc,
}

impl CachePolicy {
    pub const ALL: [CachePolicy; 4] = [
        CachePolicy::NonCacheable,
        CachePolicy::WriteBackWriteAlloc,
        CachePolicy::WriteThroughNoWriteAlloc,
        CachePolicy::WriteBackNoWriteAlloc,
    ];

    pub const fn short_name(self) -> &'static str {
        match self {
            CachePolicy::NonCacheable => "NC",
            CachePolicy::WriteBackWriteAlloc => "WBWA",
            CachePolicy::WriteThroughNoWriteAlloc => "WT",
            CachePolicy::WriteBackNoWriteAlloc => "WB",
        }
    }
}

/// The memory types a mapping can have.
///
/// The first seven are the fixed ARMv7 TEX/C/B encodings (TEX[2] = 0); the
/// last is the TEX[2] = 1 form with separate inner and outer policies. Linux
/// equivalents (arch/arm/include/asm/pgtable-2level.h `L_PTE_MT_*`):
/// `StronglyOrdered` = `pgprot_noncached`/`L_PTE_MT_UNCACHED`,
/// `DeviceShareable` = `L_PTE_MT_DEV_SHARED` (ioremap),
/// `NormalNonCacheable` = `pgprot_writecombine`/`L_PTE_MT_BUFFERABLE`,
/// `NormalWriteThrough` = `L_PTE_MT_WRITETHROUGH`,
/// `NormalWriteBackNoWriteAlloc` = `L_PTE_MT_WRITEBACK`,
/// `NormalWriteBackWriteAlloc` = `L_PTE_MT_WRITEALLOC` (normal RAM),
/// `DeviceNonShareable` = `L_PTE_MT_DEV_NONSHARED`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemoryType {
    /// Every access happens in program order, exactly once, unbuffered.
    StronglyOrdered,
    /// Device memory, shareable: buffered writes, no speculation.
    DeviceShareable,
    /// Device memory private to one processor (ARMv7 TEX=010 encoding).
    DeviceNonShareable,
    /// Normal memory, not cached but bufferable: write-combining.
    NormalNonCacheable,
    /// Normal memory, inner and outer write-through, no write-allocate.
    NormalWriteThrough,
    /// Normal memory, inner and outer write-back, no write-allocate.
    NormalWriteBackNoWriteAlloc,
    /// Normal memory, inner and outer write-back, write-allocate: plain RAM.
    NormalWriteBackWriteAlloc,
    /// Normal memory with distinct inner and outer cache policies.
    NormalInnerOuter {
        inner: CachePolicy,
        outer: CachePolicy,
    },
}

/// What a memory type means architecturally, independent of any encoding.
/// The independent descriptor decoders produce this, so a self-test can
/// compare "what the table says" with "what was asked for".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryClass {
    StronglyOrdered,
    Device {
        shareable: bool,
    },
    Normal {
        inner: CachePolicy,
        outer: CachePolicy,
    },
}

impl MemoryType {
    /// Every distinct type with a fixed encoding, then all 16 inner/outer
    /// combinations. Used by the self-tests to cover the whole space.
    pub const FIXED: [MemoryType; 7] = [
        MemoryType::StronglyOrdered,
        MemoryType::DeviceShareable,
        MemoryType::NormalWriteThrough,
        MemoryType::NormalWriteBackNoWriteAlloc,
        MemoryType::NormalNonCacheable,
        MemoryType::NormalWriteBackWriteAlloc,
        MemoryType::DeviceNonShareable,
    ];

    /// All fixed types followed by every inner/outer pair (7 + 16 entries).
    pub fn all() -> impl Iterator<Item = MemoryType> {
        let pairs = CachePolicy::ALL.into_iter().flat_map(|outer| {
            CachePolicy::ALL
                .into_iter()
                .map(move |inner| MemoryType::NormalInnerOuter { inner, outer })
        });
        Self::FIXED.into_iter().chain(pairs)
    }

    /// The architectural meaning of this type.
    pub const fn class(self) -> MemoryClass {
        use CachePolicy::*;
        match self {
            MemoryType::StronglyOrdered => MemoryClass::StronglyOrdered,
            MemoryType::DeviceShareable => MemoryClass::Device { shareable: true },
            MemoryType::DeviceNonShareable => MemoryClass::Device { shareable: false },
            MemoryType::NormalNonCacheable => MemoryClass::Normal {
                inner: NonCacheable,
                outer: NonCacheable,
            },
            MemoryType::NormalWriteThrough => MemoryClass::Normal {
                inner: WriteThroughNoWriteAlloc,
                outer: WriteThroughNoWriteAlloc,
            },
            MemoryType::NormalWriteBackNoWriteAlloc => MemoryClass::Normal {
                inner: WriteBackNoWriteAlloc,
                outer: WriteBackNoWriteAlloc,
            },
            MemoryType::NormalWriteBackWriteAlloc => MemoryClass::Normal {
                inner: WriteBackWriteAlloc,
                outer: WriteBackWriteAlloc,
            },
            MemoryType::NormalInnerOuter { inner, outer } => MemoryClass::Normal { inner, outer },
        }
    }

    /// Device and Strongly-ordered memory must never be executable: a
    /// speculative instruction fetch could touch a register with side effects
    /// (ARM ARM B3.7.2: "the XN attribute ... should be set for Device and
    /// Strongly-ordered regions").
    pub const fn is_device(self) -> bool {
        !matches!(self.class(), MemoryClass::Normal { .. })
    }

    /// Whether the CPU may hold lines of this memory in a data cache.
    pub const fn is_cacheable(self) -> bool {
        match self.class() {
            MemoryClass::Normal { inner, outer } => {
                !matches!(inner, CachePolicy::NonCacheable)
                    || !matches!(outer, CachePolicy::NonCacheable)
            }
            _ => false,
        }
    }

    /// A short human name for logs and the README table.
    pub fn describe(self, out: &mut dyn core::fmt::Write) -> core::fmt::Result {
        match self {
            MemoryType::StronglyOrdered => out.write_str("Strongly-ordered"),
            MemoryType::DeviceShareable => out.write_str("Device (shareable)"),
            MemoryType::DeviceNonShareable => out.write_str("Device (non-shareable)"),
            MemoryType::NormalNonCacheable => out.write_str("Normal non-cacheable"),
            MemoryType::NormalWriteThrough => out.write_str("Normal WT no-WA"),
            MemoryType::NormalWriteBackNoWriteAlloc => out.write_str("Normal WB no-WA"),
            MemoryType::NormalWriteBackWriteAlloc => out.write_str("Normal WB WA"),
            MemoryType::NormalInnerOuter { inner, outer } => write!(
                out,
                "Normal in={} out={}",
                inner.short_name(),
                outer.short_name()
            ),
        }
    }
}

/// Who may read and write a mapping. ARMv7 AP[2:0] without AFE
/// (ARM ARM B3.7.1, table B3-8); AArch64 AP[2:1] covers all but
/// `KernelRwUserRo`'s asymmetric forms the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// No access at any privilege (valid entry, every access faults).
    NoAccess,
    /// PL1 read/write, PL0 none.
    KernelRw,
    /// PL1 read/write, PL0 read-only.
    KernelRwUserRo,
    /// PL1 and PL0 read/write.
    UserRw,
    /// PL1 read-only, PL0 none.
    KernelRo,
    /// PL1 and PL0 read-only.
    UserRo,
}

impl Access {
    pub const ALL: [Access; 6] = [
        Access::NoAccess,
        Access::KernelRw,
        Access::KernelRwUserRo,
        Access::UserRw,
        Access::KernelRo,
        Access::UserRo,
    ];

    /// (kernel read, kernel write, user read, user write) allowed.
    pub const fn allows(self) -> Allowed {
        let (kr, kw, ur, uw) = match self {
            Access::NoAccess => (false, false, false, false),
            Access::KernelRw => (true, true, false, false),
            Access::KernelRwUserRo => (true, true, true, false),
            Access::UserRw => (true, true, true, true),
            Access::KernelRo => (true, false, false, false),
            Access::UserRo => (true, false, true, false),
        };
        Allowed {
            kernel_read: kr,
            kernel_write: kw,
            user_read: ur,
            user_write: uw,
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            Access::NoAccess => "none",
            Access::KernelRw => "K:RW U:--",
            Access::KernelRwUserRo => "K:RW U:R-",
            Access::UserRw => "K:RW U:RW",
            Access::KernelRo => "K:R- U:--",
            Access::UserRo => "K:R- U:R-",
        }
    }
}

/// The four permission outcomes an address-translation check can observe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Allowed {
    pub kernel_read: bool,
    pub kernel_write: bool,
    pub user_read: bool,
    pub user_write: bool,
}

/// Everything a mapping says besides its addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MapAttrs {
    pub mem: MemoryType,
    pub access: Access,
    /// Execute-never for every privilege level (XN / UXN+PXN).
    pub execute_never: bool,
    /// Privileged execute-never (PXN): the kernel must never run user pages.
    pub privileged_execute_never: bool,
    /// Not global: the entry is tagged with the current ASID.
    pub not_global: bool,
    /// Shareable (S bit) for Normal memory; ignored by Device/SO encodings.
    pub shareable: bool,
}

impl MapAttrs {
    /// Kernel RAM: write-back write-allocate, RW, never executable.
    pub const fn kernel_data() -> Self {
        MapAttrs {
            mem: MemoryType::NormalWriteBackWriteAlloc,
            access: Access::KernelRw,
            execute_never: true,
            privileged_execute_never: true,
            not_global: false,
            shareable: true,
        }
    }

    /// Kernel device registers: shareable Device, RW, never executable.
    pub const fn kernel_device() -> Self {
        MapAttrs {
            mem: MemoryType::DeviceShareable,
            access: Access::KernelRw,
            execute_never: true,
            privileged_execute_never: true,
            not_global: false,
            shareable: true,
        }
    }

    pub const fn with_mem(self, mem: MemoryType) -> Self {
        MapAttrs { mem, ..self }
    }

    pub const fn with_access(self, access: Access) -> Self {
        MapAttrs { access, ..self }
    }

    pub const fn executable(self) -> Self {
        MapAttrs {
            execute_never: false,
            privileged_execute_never: false,
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_type_once() {
        let v: std::vec::Vec<_> = MemoryType::all().collect();
        assert_eq!(v.len(), 7 + 16);
        for (i, a) in v.iter().enumerate() {
            for b in &v[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn device_types_are_device() {
        assert!(MemoryType::StronglyOrdered.is_device());
        assert!(MemoryType::DeviceShareable.is_device());
        assert!(MemoryType::DeviceNonShareable.is_device());
        assert!(!MemoryType::NormalNonCacheable.is_device());
        assert!(!MemoryType::NormalNonCacheable.is_cacheable());
        assert!(MemoryType::NormalWriteThrough.is_cacheable());
        let inner_only = MemoryType::NormalInnerOuter {
            inner: CachePolicy::WriteBackWriteAlloc,
            outer: CachePolicy::NonCacheable,
        };
        assert!(inner_only.is_cacheable());
    }

    #[test]
    fn access_rights_follow_the_ap_table() {
        // ARM ARM B3.7.1 table B3-8 (AFE = 0), as (PL1 read, PL1 write,
        // PL0 read, PL0 write): AP 000 none; 001 PL1 RW; 010 PL1 RW, PL0
        // RO; 011 full; 101 PL1 RO; 111 PL1 and PL0 RO.
        let table = [
            (Access::NoAccess, (false, false, false, false), "none"),
            (Access::KernelRw, (true, true, false, false), "K:RW U:--"),
            (
                Access::KernelRwUserRo,
                (true, true, true, false),
                "K:RW U:R-",
            ),
            (Access::UserRw, (true, true, true, true), "K:RW U:RW"),
            (Access::KernelRo, (true, false, false, false), "K:R- U:--"),
            (Access::UserRo, (true, false, true, false), "K:R- U:R-"),
        ];
        assert_eq!(table.len(), Access::ALL.len());
        for (i, (a, (kr, kw, ur, uw), name)) in table.into_iter().enumerate() {
            assert_eq!(Access::ALL[i], a);
            let got = a.allows();
            assert_eq!(
                (
                    got.kernel_read,
                    got.kernel_write,
                    got.user_read,
                    got.user_write
                ),
                (kr, kw, ur, uw),
                "{a:?}"
            );
            // The name spells the same rights out.
            assert_eq!(a.name(), name);
        }
    }

    #[test]
    fn classes_of_the_fixed_types() {
        use CachePolicy::*;
        // The Linux L_PTE_MT_* meanings listed on `MemoryType`.
        let normal = |p| MemoryClass::Normal { inner: p, outer: p };
        let table = [
            (MemoryType::StronglyOrdered, MemoryClass::StronglyOrdered),
            (
                MemoryType::DeviceShareable,
                MemoryClass::Device { shareable: true },
            ),
            (
                MemoryType::NormalWriteThrough,
                normal(WriteThroughNoWriteAlloc),
            ),
            (
                MemoryType::NormalWriteBackNoWriteAlloc,
                normal(WriteBackNoWriteAlloc),
            ),
            (MemoryType::NormalNonCacheable, normal(NonCacheable)),
            (
                MemoryType::NormalWriteBackWriteAlloc,
                normal(WriteBackWriteAlloc),
            ),
            (
                MemoryType::DeviceNonShareable,
                MemoryClass::Device { shareable: false },
            ),
        ];
        for (i, (t, class)) in table.into_iter().enumerate() {
            assert_eq!(MemoryType::FIXED[i], t);
            assert_eq!(t.class(), class, "{t:?}");
        }
        let io = MemoryType::NormalInnerOuter {
            inner: WriteThroughNoWriteAlloc,
            outer: WriteBackNoWriteAlloc,
        };
        assert_eq!(
            io.class(),
            MemoryClass::Normal {
                inner: WriteThroughNoWriteAlloc,
                outer: WriteBackNoWriteAlloc
            }
        );
    }

    #[test]
    fn cacheable_if_either_level_caches() {
        use CachePolicy::*;
        for inner in CachePolicy::ALL {
            for outer in CachePolicy::ALL {
                let t = MemoryType::NormalInnerOuter { inner, outer };
                assert_eq!(
                    t.is_cacheable(),
                    inner != NonCacheable || outer != NonCacheable,
                    "{t:?}"
                );
                assert!(!t.is_device());
            }
        }
        let outer_only = MemoryType::NormalInnerOuter {
            inner: NonCacheable,
            outer: WriteThroughNoWriteAlloc,
        };
        assert!(outer_only.is_cacheable());
        for t in [
            MemoryType::StronglyOrdered,
            MemoryType::DeviceShareable,
            MemoryType::DeviceNonShareable,
        ] {
            assert!(!t.is_cacheable(), "{t:?}");
        }
        assert!(MemoryType::NormalWriteBackWriteAlloc.is_cacheable());
        assert!(MemoryType::NormalWriteBackNoWriteAlloc.is_cacheable());
    }

    #[test]
    fn names_for_logs() {
        use CachePolicy::*;
        let name = |t: MemoryType| {
            let mut s = std::string::String::new();
            t.describe(&mut s).unwrap();
            s
        };
        assert_eq!(name(MemoryType::StronglyOrdered), "Strongly-ordered");
        assert_eq!(name(MemoryType::DeviceShareable), "Device (shareable)");
        assert_eq!(
            name(MemoryType::DeviceNonShareable),
            "Device (non-shareable)"
        );
        assert_eq!(name(MemoryType::NormalNonCacheable), "Normal non-cacheable");
        assert_eq!(name(MemoryType::NormalWriteThrough), "Normal WT no-WA");
        assert_eq!(
            name(MemoryType::NormalWriteBackNoWriteAlloc),
            "Normal WB no-WA"
        );
        assert_eq!(name(MemoryType::NormalWriteBackWriteAlloc), "Normal WB WA");
        let pairs = [
            (NonCacheable, "NC"),
            (WriteBackWriteAlloc, "WBWA"),
            (WriteThroughNoWriteAlloc, "WT"),
            (WriteBackNoWriteAlloc, "WB"),
        ];
        for (p, short) in pairs {
            assert_eq!(p.short_name(), short);
        }
        assert_eq!(
            name(MemoryType::NormalInnerOuter {
                inner: WriteThroughNoWriteAlloc,
                outer: NonCacheable
            }),
            "Normal in=WT out=NC"
        );
    }

    #[test]
    fn attribute_presets() {
        // Kernel RAM and device registers: RW for the kernel only, never
        // executable, shareable, global.
        let d = MapAttrs::kernel_data();
        assert_eq!(d.mem, MemoryType::NormalWriteBackWriteAlloc);
        let r = MapAttrs::kernel_device();
        assert_eq!(r.mem, MemoryType::DeviceShareable);
        for a in [d, r] {
            assert_eq!(a.access, Access::KernelRw);
            assert!(a.execute_never && a.privileged_execute_never);
            assert!(a.shareable && !a.not_global);
        }
        let x = r
            .with_mem(MemoryType::NormalNonCacheable)
            .with_access(Access::KernelRo)
            .executable();
        assert_eq!(
            x,
            MapAttrs {
                mem: MemoryType::NormalNonCacheable,
                access: Access::KernelRo,
                execute_never: false,
                privileged_execute_never: false,
                not_global: false,
                shareable: true,
            }
        );
    }
}
