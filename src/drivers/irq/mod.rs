//! The interrupt controller, whichever the device tree gives: a GIC
//! (v2/v3, [`super::gic`]) or the Raspberry Pi 2/3's BCM2836 local
//! controller with the ARMCTRL controller behind it ([`super::bcm2836`]).
//! The scheduler's tick and the console reach it only through this module:
//! [`ack`] (the next pending interrupt), [`eoi`], [`enable`].
//!
//! Interrupt numbers are the controller's: GIC INTIDs; on the BCM2836 the
//! local source bit (3 = the virtual timer) or 32 + 32 * bank + bit for
//! an ARMCTRL interrupt. [`interrupt_of`] turns a node's `interrupts`
//! entry into that number through its `interrupt-parent`.
//!
//! The kernel keeps IRQs masked in kernel mode; see [`super::gic`] for how
//! interrupts are taken from user mode and by the idle loop.

#[cfg(target_os = "none")]
pub mod boot;
#[cfg(target_os = "none")]
pub use boot::boot;

use super::bcm2836::{self, Bcm2836};
use super::gic::{self, Gic, GicDesc, GicInfo};
use crate::dtb::{Fdt, Node};

/// What every interrupt controller driver offers the kernel.
pub trait IrqChip {
    /// The highest-priority pending interrupt, now being handled (GIC:
    /// active), or `None` when nothing is pending.
    fn ack(&self) -> Option<u32>;
    /// The end of an interrupt [`ack`](Self::ack) gave. For a
    /// level-sensitive source, quiet the device first.
    fn eoi(&self, irq: u32);
    /// Let `irq` through to this CPU.
    fn enable(&self, irq: u32) -> Result<(), &'static str>;
}

impl IrqChip for Gic {
    fn ack(&self) -> Option<u32> {
        self.acknowledge()
    }
    fn eoi(&self, irq: u32) {
        self.end_of_interrupt(irq)
    }
    fn enable(&self, irq: u32) -> Result<(), &'static str> {
        Gic::enable(self, irq)
    }
}

impl IrqChip for Bcm2836 {
    fn ack(&self) -> Option<u32> {
        self.pending()
    }
    /// Nothing: neither controller has an active state (the source stays
    /// pending while it asserts its line).
    fn eoi(&self, _irq: u32) {}
    fn enable(&self, irq: u32) -> Result<(), &'static str> {
        Bcm2836::enable(self, irq)
    }
}

/// The controller brought up.
pub enum Chip {
    Gic(Gic),
    Bcm2836(Bcm2836),
}

impl IrqChip for Chip {
    fn ack(&self) -> Option<u32> {
        match self {
            Chip::Gic(g) => g.ack(),
            Chip::Bcm2836(b) => b.ack(),
        }
    }
    fn eoi(&self, irq: u32) {
        match self {
            Chip::Gic(g) => IrqChip::eoi(g, irq),
            Chip::Bcm2836(b) => IrqChip::eoi(b, irq),
        }
    }
    fn enable(&self, irq: u32) -> Result<(), &'static str> {
        match self {
            Chip::Gic(g) => IrqChip::enable(g, irq),
            Chip::Bcm2836(b) => IrqChip::enable(b, irq),
        }
    }
}

/// What the device tree describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Desc {
    Gic(GicDesc),
    Bcm2836(bcm2836::Desc),
}

/// What was brought up, for the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChipInfo {
    Gic(GicInfo),
    Bcm2836(bcm2836::Info),
}

/// The controller and the timer interrupt [`init`] enabled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IrqInfo {
    pub chip: ChipInfo,
    /// The virtual timer's interrupt number.
    pub timer_irq: u32,
    /// Whether the device tree gave [`timer_irq`](Self::timer_irq).
    pub timer_irq_from_dtb: bool,
}

impl core::fmt::Display for IrqInfo {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match &self.chip {
            ChipInfo::Gic(g) => write!(f, "{g}"),
            ChipInfo::Bcm2836(b) => write!(f, "{b}"),
        }
    }
}

/// The virtual timer's local interrupt when the device tree does not
/// say: CNTVIRQ, bit 3.
pub const BCM_TIMER_DEFAULT: u32 = bcm2836::LOCAL_CNTVIRQ;

/// Find the interrupt controller: a GIC if there is one, else the
/// BCM2836 local controller. Nothing panics on a malformed tree.
pub fn probe(dtb: &[u8]) -> Result<Desc, &'static str> {
    let fdt = Fdt::new(dtb).ok_or("device tree blocks out of range")?;
    let is_ic = |n: &Node, c: &str| n.prop("interrupt-controller").is_some() && n.is_compatible(c);
    let Some(l1) = fdt.find(|n| is_ic(n, bcm2836::L1_COMPATIBLE)) else {
        return gic::probe(dtb).map(Desc::Gic);
    };
    if fdt
        .find(|n| n.prop("interrupt-controller").is_some() && gic::version_of(n).is_some())
        .is_some()
    {
        // A GIC and the local controller (BCM2711): the GIC is the root.
        return gic::probe(dtb).map(Desc::Gic);
    }
    let sized = |n: &Node| match fdt.translate_reg(n, 0) {
        Ok((a, Some(s))) if s > 0 => Some((a, s)),
        _ => None,
    };
    let local =
        sized(&l1).ok_or("l1-intc reg: no (address, size) translatable to a CPU address")?;
    if local.1 < 0x80 {
        return Err("l1-intc reg smaller than its 0x80 bytes of registers");
    }
    let armctrl = fdt
        .find(|n| is_ic(n, bcm2836::ARMCTRL_COMPATIBLE))
        .and_then(|n| sized(&n))
        .filter(|&(_, s)| s >= 0x28);
    let timer_irq = timer_node(&fdt)
        .and_then(|t| interrupt_of(&fdt, &t, 2))
        .filter(|&i| i <= bcm2836::LOCAL_CNTVIRQ);
    Ok(Desc::Bcm2836(bcm2836::Desc {
        local,
        armctrl,
        timer_irq,
    }))
}

/// The architected timer's node (`arm,armv8-timer` / `arm,armv7-timer`).
pub fn timer_node<'a>(fdt: &Fdt<'a>) -> Option<Node<'a>> {
    fdt.find(|n| n.is_compatible("arm,armv8-timer") || n.is_compatible("arm,armv7-timer"))
}

/// The controller `node`'s interrupts go to: its own `interrupt-parent`,
/// else the nearest ancestor's (devicetree specification v0.4 §2.4.1),
/// looked up by `phandle` (or the older `linux,phandle`).
pub fn interrupt_parent<'a>(fdt: &Fdt<'a>, node: &Node<'a>) -> Option<Node<'a>> {
    let l = fdt.lineage(node)?;
    let ph = (0..l.len())
        .rev()
        .filter_map(|d| l.at(d))
        .find_map(|n| n.cell("interrupt-parent", 0))?;
    fdt.find(|n| n.cell("phandle", 0) == Some(ph) || n.cell("linux,phandle", 0) == Some(ph))
}

/// The kernel's number for entry `i` of `node`'s `interrupts`, decoded
/// by its interrupt parent's binding: a GIC (3 cells: type 0 = SPI,
/// INTID 32 + n; 1 = PPI, 16 + n), the BCM2836 local controller (2
/// cells: source bit, flags; Linux's `irq_domain_xlate_onetwocell`) or
/// the ARMCTRL controller (2 cells: bank, bit). `None` for anything else.
pub fn interrupt_of(fdt: &Fdt, node: &Node, i: usize) -> Option<u32> {
    let parent = interrupt_parent(fdt, node)?;
    let cells = parent.cell("#interrupt-cells", 0)? as usize;
    let cell = |k: usize| node.cell("interrupts", i.checked_mul(cells)?.checked_add(k)?);
    if gic::version_of(&parent).is_some() {
        if cells < 3 {
            return None;
        }
        return match (cell(0)?, cell(1)?) {
            (0, n) if n < 988 => Some(32 + n),
            (1, n) if n < 16 => Some(16 + n),
            _ => None,
        };
    }
    if parent.is_compatible(bcm2836::L1_COMPATIBLE) {
        if cells < 1 {
            return None;
        }
        return cell(0).filter(|&n| n <= bcm2836::LOCAL_LAST);
    }
    if parent.is_compatible(bcm2836::ARMCTRL_COMPATIBLE) {
        if cells < 2 {
            return None;
        }
        return bcm2836::armctrl_irq(cell(0)?, cell(1)?);
    }
    None
}

/// The interrupt of the UART whose registers are at CPU address `pa`
/// (the console), through its interrupt parent; `None` if no enabled
/// node with interrupts has that first `reg`.
pub fn uart_irq(dtb: &[u8], pa: u64) -> Option<u32> {
    let fdt = Fdt::new(dtb)?;
    let node = fdt.find(|n| {
        n.prop("interrupts").is_some()
            && n.is_enabled()
            && fdt.translate_reg(n, 0).is_ok_and(|(a, _)| a == pa)
    })?;
    interrupt_of(&fdt, &node, 0)
}

/// Make `len` bytes of registers at `pa` reachable (`api::ioremap`:
/// Device memory, kernel read-write, never RAM); their VA.
#[cfg(target_os = "none")]
fn map_regs(pa: u64, len: u64) -> Result<usize, &'static str> {
    let va = crate::arch::current::api::ioremap(pa, len)
        .ok_or("interrupt controller registers cannot be mapped (RAM, or no room)")?;
    usize::try_from(va).map_err(|_| "register VA does not fit")
}

/// The BCM2836 controllers brought up from `desc`: mapped, checked and
/// initialised, the virtual timer's interrupt enabled.
#[cfg(target_os = "none")]
fn bring_up_bcm(desc: &bcm2836::Desc) -> Result<(Chip, IrqInfo), &'static str> {
    let local = map_regs(desc.local.0, 0x100.min(desc.local.1))?;
    let armctrl = match desc.armctrl {
        Some((pa, len)) => Some(map_regs(pa, len.min(0x200))?),
        None => None,
    };
    let cpu = (crate::arch::mpidr() & 0xff) as usize;
    if cpu > 3 {
        return Err("MPIDR Aff0 > 3: not one of the BCM2836's four cores");
    }
    // SAFETY: map_regs mapped both blocks as Device memory for the
    // kernel's lifetime; this driver is their only user; cpu < 4.
    let b = unsafe { Bcm2836::new(local, armctrl, cpu) };
    b.init();
    let timer_irq = desc.timer_irq.unwrap_or(BCM_TIMER_DEFAULT);
    b.enable(timer_irq)?;
    let info = IrqInfo {
        chip: ChipInfo::Bcm2836(bcm2836::Info {
            local_pa: desc.local.0,
            armctrl_pa: desc.armctrl.map(|a| a.0),
            cpu,
        }),
        timer_irq,
        timer_irq_from_dtb: desc.timer_irq.is_some(),
    };
    Ok((Chip::Bcm2836(b), info))
}

static CHIP: spin::Once<(Chip, IrqInfo)> = spin::Once::new();

/// Find the interrupt controller in `dtb`, bring it up and enable the
/// virtual timer's interrupt. Once: a second call returns the first
/// one's result if it succeeded.
#[cfg(target_os = "none")]
pub fn init(dtb: &[u8]) -> Result<IrqInfo, &'static str> {
    if let Some((_, i)) = CHIP.get() {
        return Ok(*i);
    }
    let (chip, info) = match probe(dtb)? {
        Desc::Gic(_) => {
            let (g, gi) = gic::init(dtb)?;
            let info = IrqInfo {
                chip: ChipInfo::Gic(gi),
                timer_irq: gi.timer_irq,
                timer_irq_from_dtb: gi.timer_irq_from_dtb,
            };
            (Chip::Gic(g), info)
        }
        Desc::Bcm2836(d) => bring_up_bcm(&d)?,
    };
    Ok(CHIP.call_once(|| (chip, info)).1)
}

/// The controller [`init`] brought up, if any.
pub fn info() -> Option<&'static IrqInfo> {
    CHIP.get().map(|(_, i)| i)
}

/// Enable `irq` to this CPU. Err without a controller or for a number it
/// does not have.
pub fn enable(irq: u32) -> Result<(), &'static str> {
    CHIP.get().ok_or("no interrupt controller")?.0.enable(irq)
}

/// The next pending interrupt (see [`IrqChip::ack`]); `None` without a
/// controller.
pub fn ack() -> Option<u32> {
    CHIP.get()?.0.ack()
}

/// End an interrupt [`ack`] returned.
pub fn eoi(irq: u32) {
    if let Some((c, _)) = CHIP.get() {
        c.eoi(irq)
    }
}

#[cfg(test)]
mod tests;
