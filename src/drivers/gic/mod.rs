//! The Generic Interrupt Controller, found from the device tree: GICv2
//! (distributor + memory-mapped CPU interface) or GICv3 (distributor +
//! redistributor, CPU interface through the ICC_* system registers, on
//! AArch64 only).
//!
//! The kernel runs with IRQs masked (CPSR.I / PSTATE.I) in kernel mode;
//! nothing here needs them unmasked. An interrupt is either taken from
//! user mode (the IRQ vector from USR/EL0), or the idle loop waits with
//! `arch::current::timer::idle_wait()` (WFI wakes on a pending interrupt
//! even while masked) and then polls [`Gic::acknowledge`].
//!
//! Usage: through [`crate::drivers::irq`], which calls [`init`] once
//! after the MMU is up (the GIC's registers mapped on demand by
//! `ioremap`, Device memory) and keeps the [`Gic`]: [`Gic::enable`],
//! [`Gic::acknowledge`], [`Gic::end_of_interrupt`]. [`init`] already
//! enables the virtual timer's PPI ([`GicInfo::timer_irq`]).

pub mod v2;
pub mod v3;

use crate::dtb::{Fdt, Node};

/// Priority of every interrupt (Linux's GICD_INT_DEF_PRI).
pub const DEFAULT_PRIORITY: u8 = 0xa0;
/// The CPU interface's priority mask: interrupts of a higher priority
/// (lower value) than this are signalled (Linux's DEFAULT_PMR_VALUE).
pub const PRIORITY_MASK: u8 = 0xf0;
/// Polls of a "write pending" or "asleep" bit before giving up.
pub(crate) const SPIN_LIMIT: u32 = 1_000_000;
/// The virtual timer's PPI when the device tree does not say: INTID 27,
/// as the ARM Base System Architecture recommends and QEMU `virt` wires.
pub const VIRT_TIMER_PPI_DEFAULT: u32 = 27;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    V2,
    V3,
}

impl core::fmt::Display for Version {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Version::V2 => "GICv2",
            Version::V3 => "GICv3",
        })
    }
}

/// `compatible` strings this driver takes (Linux's bindings,
/// Documentation/devicetree/bindings/interrupt-controller/arm,gic*.yaml).
pub const COMPATIBLES: [(&str, Version); 4] = [
    ("arm,gic-v3", Version::V3),
    ("arm,cortex-a15-gic", Version::V2),
    ("arm,gic-400", Version::V2),
    ("arm,cortex-a9-gic", Version::V2),
];

/// The GIC version a node is compatible with (and the string matched).
pub fn version_of(node: &Node) -> Option<(&'static str, Version)> {
    COMPATIBLES
        .iter()
        .copied()
        .find(|(c, _)| node.is_compatible(c))
}

/// What the device tree says about the GIC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GicDesc {
    pub version: Version,
    pub compatible: &'static str,
    /// Distributor (PA, size).
    pub dist: (u64, u64),
    /// GICv2: the CPU interface; GICv3: the first redistributor region.
    pub cpu: (u64, u64),
    /// The virtual timer's INTID from the timer node, if it gives one.
    pub timer_irq: Option<u32>,
}

/// Find the GIC in a device tree. Errors say what is missing; nothing
/// panics on a malformed tree.
pub fn probe(dtb: &[u8]) -> Result<GicDesc, &'static str> {
    let fdt = Fdt::new(dtb).ok_or("device tree blocks out of range")?;
    let node = fdt
        .find(|n| n.prop("interrupt-controller").is_some() && version_of(n).is_some())
        .ok_or("no GIC (arm,gic-v3, arm,cortex-a15-gic, arm,gic-400, arm,cortex-a9-gic) in the device tree")?;
    let (compatible, version) = version_of(&node).ok_or("no GIC")?;
    // reg through every parent bus's ranges (a GIC below /soc: H3,
    // i.MX6); a bus without ranges or an address outside them is an error.
    let sized = |i: usize| match fdt.translate_reg(&node, i) {
        Ok((a, Some(s))) if s > 0 => Some((a, s)),
        _ => None,
    };
    let dist =
        sized(0).ok_or("GIC reg: no distributor (address, size) translatable to a CPU address")?;
    let cpu = sized(1).ok_or(match version {
        Version::V2 => "GIC reg: no CPU interface (address, size) translatable to a CPU address",
        Version::V3 => {
            "GIC reg: no redistributor region (address, size) translatable to a CPU address"
        }
    })?;
    Ok(GicDesc {
        version,
        compatible,
        dist,
        cpu,
        timer_irq: timer_irq(&fdt),
    })
}

/// The virtual timer's INTID from the architected timer node
/// (`arm,armv8-timer` / `arm,armv7-timer`): its `interrupts` lists the
/// secure physical, non-secure physical, virtual and hypervisor timers,
/// three GIC cells each (type, number, flags), type 1 = PPI, INTID =
/// 16 + number. `None` if the node or the entry is missing or not a PPI.
pub fn timer_irq(fdt: &Fdt) -> Option<u32> {
    let t =
        fdt.find(|n| n.is_compatible("arm,armv8-timer") || n.is_compatible("arm,armv7-timer"))?;
    const VIRT: usize = 2;
    let kind = t.cell("interrupts", VIRT * 3)?;
    let num = t.cell("interrupts", VIRT * 3 + 1)?;
    (kind == 1 && num < 16).then_some(16 + num)
}

/// The INTID in an IAR value, `None` for the special INTIDs 1020..1023
/// (1023: spurious, nothing pending). GICv2 GICC_IAR: InterruptID [9:0],
/// CPUID [12:10] (IHI 0048B 4.4.4); GICv3 ICC_IAR1_EL1: INTID [23:0]
/// (IHI 0069, ICC_IAR1_EL1).
pub const fn decode_iar(iar: u32, version: Version) -> Option<u32> {
    let id = match version {
        Version::V2 => iar & 0x3ff,
        Version::V3 => iar & 0x00ff_ffff,
    };
    if id >= 1020 && id <= 1023 {
        None
    } else {
        Some(id)
    }
}

/// A fixed window (tests): `size` bytes of device PAs from `pa`,
/// mapped as Device memory at `va`.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub pa: u64,
    pub size: u64,
    pub va: u64,
}

/// How the driver reaches its registers: a kernel VA for a physical range.
pub trait IoMap {
    fn va_of(&self, pa: u64, len: u64) -> Result<usize, &'static str>;
}

/// The kernel's on-demand device mappings (`api::ioremap`).
#[cfg(target_os = "none")]
struct Ioremap;

#[cfg(target_os = "none")]
impl IoMap for Ioremap {
    fn va_of(&self, pa: u64, len: u64) -> Result<usize, &'static str> {
        let va = crate::arch::current::api::ioremap(pa, len)
            .ok_or("GIC registers cannot be mapped (RAM, or no room)")?;
        usize::try_from(va).map_err(|_| "GIC VA does not fit")
    }
}

impl IoMap for Window {
    /// The kernel VA of [pa, pa + len), which must lie in the window.
    fn va_of(&self, pa: u64, len: u64) -> Result<usize, &'static str> {
        let off = pa
            .checked_sub(self.pa)
            .ok_or("GIC registers below the kernel's device window")?;
        let end = off.checked_add(len).ok_or("GIC register range overflows")?;
        if end > self.size {
            return Err("GIC registers beyond the kernel's device window");
        }
        usize::try_from(self.va + off).map_err(|_| "GIC VA does not fit")
    }
}

/// What [`init`] brought up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GicInfo {
    pub version: Version,
    /// PIDR2.ArchRev of the distributor.
    pub arch_rev: u32,
    pub dist_pa: u64,
    /// GICv2: the CPU interface; GICv3: this CPU's redistributor.
    pub cpu_pa: u64,
    /// Interrupt IDs the distributor supports (GICD_TYPER).
    pub lines: u32,
    /// The virtual timer's INTID (enabled by [`init`]).
    pub timer_irq: u32,
    /// Whether the device tree gave [`timer_irq`](Self::timer_irq).
    pub timer_irq_from_dtb: bool,
}

impl core::fmt::Display for GicInfo {
    /// "GICv2 at 0x08000000 (dist) 0x08010000 (cpu)".
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let cpu = match self.version {
            Version::V2 => "cpu",
            Version::V3 => "redist",
        };
        write!(
            f,
            "{} at {:#010x} (dist) {:#010x} ({cpu})",
            self.version, self.dist_pa, self.cpu_pa
        )
    }
}

/// A GIC brought up.
pub enum Gic {
    V2(v2::Gicv2),
    V3(v3::Gicv3),
}

impl Gic {
    /// Map `desc` through `window`, check it is the GIC it claims to be,
    /// initialise it and enable the virtual timer's PPI.
    ///
    /// # Safety
    /// `window` gives live mappings of device PAs as Device memory, kept
    /// for the kernel's lifetime, and nothing else drives this GIC.
    pub unsafe fn bring_up(
        desc: &GicDesc,
        window: &dyn IoMap,
        mpidr: u64,
    ) -> Result<(Gic, GicInfo), &'static str> {
        let timer_irq = desc.timer_irq.unwrap_or(VIRT_TIMER_PPI_DEFAULT);
        let (gic, arch_rev, cpu_pa) = match desc.version {
            Version::V2 => {
                // The Cortex-A9 GIC (a GICv1) has a 0x100-byte CPU
                // interface (Cortex-A9 MPCore TRM, Table 1-3: 0x0100-0x01FF)
                // and no GICC_DIR at 0x1000, which this driver never
                // writes (EOImode 0).
                let cpu_min = if desc.compatible == "arm,cortex-a9-gic" {
                    0x100
                } else {
                    0x2000
                };
                if desc.dist.1 < 0x1000 || desc.cpu.1 < cpu_min {
                    return Err("GICv2 register blocks smaller than 4 KiB (dist) / 8 KiB (cpu; 256 bytes on the Cortex-A9)");
                }
                let d = window.va_of(desc.dist.0, 0x1000)?;
                let c = window.va_of(desc.cpu.0, cpu_min)?;
                // SAFETY: both lie in the caller's Device mapping (the
                // A9's CPU interface: the registers below 0x100 only; DIR
                // is never accessed).
                let g = unsafe { v2::Gicv2::new(d, c) };
                let rev = g.arch_rev();
                if rev != 1 && rev != 2 {
                    return Err("GICD_ICPIDR2.ArchRev is not 1 or 2: not a GICv1/v2 distributor");
                }
                g.init();
                (Gic::V2(g), rev, desc.cpu.0)
            }
            Version::V3 => {
                let _ = mpidr;
                #[cfg(not(target_arch = "aarch64"))]
                return Err("GICv3 needs the AArch64 system-register CPU interface (not supported on ARMv7-A)");
                #[cfg(target_arch = "aarch64")]
                {
                    use crate::arch::aarch64::gicv3_cpuif as cpuif;
                    if desc.dist.1 < 0x1_0000 {
                        return Err("GICv3 distributor smaller than 64 KiB");
                    }
                    let d = window.va_of(desc.dist.0, 0x1_0000)?;
                    let (rpa, rlen) = desc.cpu;
                    let rva = window.va_of(rpa, rlen)?;
                    let aff = v3::affinity_of_mpidr(mpidr);
                    let off = v3::find_redistributor(rlen, aff, |o| {
                        // SAFETY: `o` + 16 lies in the region (checked by
                        // find_redistributor), which the window maps.
                        let f = unsafe { &*((rva + o as usize) as *const v3::RdFrame) };
                        use tock_registers::interfaces::Readable;
                        (f.typer_lo.get(), f.typer_hi.get())
                    })?;
                    // SAFETY: distributor and this CPU's redistributor
                    // frames lie in the caller's Device mapping.
                    let g = unsafe { v3::Gicv3::new(d, rva + off as usize, mpidr) };
                    let rev = g.arch_rev();
                    if rev != 3 && rev != 4 {
                        return Err("GICD_PIDR2.ArchRev is not 3 or 4: not a GICv3 distributor");
                    }
                    if !cpuif::enable_sre() {
                        return Err("ICC_SRE_EL1.SRE stays 0: system-register interface disabled");
                    }
                    g.init()?;
                    cpuif::init(PRIORITY_MASK);
                    (Gic::V3(g), rev, rpa + off)
                }
            }
        };
        let lines = match &gic {
            Gic::V2(g) => g.lines(),
            Gic::V3(g) => g.lines(),
        };
        gic.enable(timer_irq)?;
        Ok((
            gic,
            GicInfo {
                version: desc.version,
                arch_rev,
                dist_pa: desc.dist.0,
                cpu_pa,
                lines,
                timer_irq,
                timer_irq_from_dtb: desc.timer_irq.is_some(),
            },
        ))
    }

    pub fn version(&self) -> Version {
        match self {
            Gic::V2(_) => Version::V2,
            Gic::V3(_) => Version::V3,
        }
    }

    /// Enable `irq` (level-sensitive, to this CPU, default priority).
    pub fn enable(&self, irq: u32) -> Result<(), &'static str> {
        match self {
            Gic::V2(g) => g.enable(irq),
            Gic::V3(g) => g.enable(irq),
        }
    }

    /// Acknowledge the highest-priority pending interrupt: its INTID
    /// (now active), or `None` when nothing is pending.
    pub fn acknowledge(&self) -> Option<u32> {
        match self {
            Gic::V2(g) => decode_iar(g.read_iar(), Version::V2),
            #[cfg(target_arch = "aarch64")]
            Gic::V3(_) => decode_iar(crate::arch::aarch64::gicv3_cpuif::read_iar1(), Version::V3),
            #[cfg(not(target_arch = "aarch64"))]
            Gic::V3(_) => None,
        }
    }

    /// End `irq` (priority drop and deactivation). For a level-sensitive
    /// interrupt, quiet the device first (e.g. `timer::stop()` or a new
    /// deadline), else it is pending again at once. SGIs: this
    /// uniprocessor kernel's only source is CPU 0 (GICv2 EOIR.CPUID 0).
    pub fn end_of_interrupt(&self, irq: u32) {
        match self {
            Gic::V2(g) => g.write_eoir(irq),
            #[cfg(target_arch = "aarch64")]
            Gic::V3(_) => crate::arch::aarch64::gicv3_cpuif::write_eoir1(irq),
            #[cfg(not(target_arch = "aarch64"))]
            Gic::V3(_) => {}
        }
    }
}

/// Find the GIC in `dtb`, map its registers (`api::ioremap`),
/// initialise it and enable the virtual timer's PPI. Called once, by
/// [`crate::drivers::irq::init`], which keeps the result.
#[cfg(target_os = "none")]
pub fn init(dtb: &[u8]) -> Result<(Gic, GicInfo), &'static str> {
    let desc = probe(dtb)?;
    let mpidr = crate::arch::mpidr();
    // SAFETY: `Ioremap` maps the GIC's registers as Device memory for the
    // kernel's lifetime (never unmapped), and this driver is the only one
    // touching the GIC (irq::init calls this once).
    unsafe { Gic::bring_up(&desc, &Ioremap, mpidr) }
}

/// "62.5 MHz": a frequency in MHz with up to 6 decimals, trailing zeros
/// dropped.
pub struct Mhz(pub u64);

impl core::fmt::Display for Mhz {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let (whole, frac) = (self.0 / 1_000_000, self.0 % 1_000_000);
        if frac == 0 {
            return write!(f, "{whole} MHz");
        }
        let mut digits = 6;
        let mut fr = frac;
        while fr % 10 == 0 {
            fr /= 10;
            digits -= 1;
        }
        write!(f, "{whole}.{fr:0digits$} MHz")
    }
}

#[cfg(test)]
mod tests;
