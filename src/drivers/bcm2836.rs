//! The Raspberry Pi 2/3 interrupt controllers (BCM2836/BCM2837): no GIC.
//!
//! * The **ARM local interrupt controller** (`brcm,bcm2836-l1-intc`, at
//!   PA 0x4000_0000), described in Broadcom's "BCM2836 ARM-local
//!   peripherals" (QA7_rev3.4). Per core it has a timer interrupt control
//!   register (0x40 + 4 * core: bits 0..3 route the generic timer's
//!   nCNTPSIRQ, nCNTPNSIRQ, nCNTHPIRQ, nCNTVIRQ to the core's IRQ) and an
//!   IRQ source register (0x60 + 4 * core: bit 0..3 those timers, 4..7
//!   the mailboxes, 8 the GPU interrupt, 9 the PMU, 10 AXI, 11 the local
//!   timer). Linux (`drivers/irqchip/irq-bcm2836.c`) names the same bits
//!   LOCAL_IRQ_CNTPSIRQ .. LOCAL_IRQ_PMU_FAST and the device tree's
//!   `arm,armv7-timer` node refers to them (2 cells: number, flags).
//! * The **ARMCTRL** controller of the VideoCore peripherals
//!   (`brcm,bcm2836-armctrl-ic`, bus address 0x7e00_b200), described in
//!   "BCM2835 ARM Peripherals" chapter 7: three banks (basic, GPU 0..31,
//!   GPU 32..63), with pending registers at 0x00/0x04/0x08 and
//!   write-1-to-set enables (0x18 basic, 0x10, 0x14) and disables (0x24,
//!   0x1c, 0x20). Its output is the GPU interrupt, bit 8 of the local
//!   IRQ source register of the core it is routed to.
//!
//! The kernel's interrupt numbers on these boards: a local source is its
//! bit number (0..=11: 3 = the virtual timer); an ARMCTRL interrupt of
//! bank `b`, bit `n` is `32 + 32 * b + n` (so GPU IRQ `k` is `64 + k`:
//! the PL011's GPU IRQ 57 is 121).
//!
//! Both controllers are level-sensitive with no "active" state: an
//! interrupt is pending while its source asserts it, so end of interrupt
//! is nothing; the handler quiets the source (a new timer deadline, the
//! UART's receive FIFO drained).

use core::sync::atomic::{AtomicU32, Ordering};
use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::registers::{ReadOnly, ReadWrite, WriteOnly};
use tock_registers::{register_bitfields, register_structs};

/// The local controller's `compatible`.
pub const L1_COMPATIBLE: &str = "brcm,bcm2836-l1-intc";
/// The ARMCTRL controller's `compatible` on BCM2836/7 (chained to the
/// local controller; the BCM2835's own is the root controller there).
pub const ARMCTRL_COMPATIBLE: &str = "brcm,bcm2836-armctrl-ic";

/// Local IRQ source bits (QA7_rev3.4 section 4.10, "Core interrupt
/// sources"; Linux's `LOCAL_IRQ_*`).
pub const LOCAL_CNTPSIRQ: u32 = 0;
pub const LOCAL_CNTPNSIRQ: u32 = 1;
pub const LOCAL_CNTHPIRQ: u32 = 2;
pub const LOCAL_CNTVIRQ: u32 = 3;
pub const LOCAL_MAILBOX0: u32 = 4;
pub const LOCAL_GPU: u32 = 8;
pub const LOCAL_PMU: u32 = 9;
/// Local interrupt numbers above this are reserved (bit 11 is the local
/// timer; bits 12..31 are unused).
pub const LOCAL_LAST: u32 = 11;

/// The kernel number of ARMCTRL bank 0 bit 0.
pub const ARMCTRL_BASE: u32 = 32;
/// Interrupts per ARMCTRL bank (bank 0 has only 8 of its own).
pub const BANK_IRQS: [u32; 3] = [8, 32, 32];

/// Bits of the basic pending register (BCM2835 ARM Peripherals, 7.5,
/// "Basic pending register"): 8 = something in pending 1, 9 = something
/// in pending 2, 10..20 = "shortcuts" for eleven GPU interrupts.
pub const BASIC_BANK1: u32 = 1 << 8;
pub const BASIC_BANK2: u32 = 1 << 9;
pub const BASIC_OWN: u32 = 0xff;
/// The GPU interrupts of the basic pending register's bits 10..=20, in
/// order: GPU IRQ 7, 9, 10, 18, 19 (bank 1) and 53, 54, 55, 56, 57, 62
/// (bank 2).
pub const SHORTCUTS: [u32; 11] = [7, 9, 10, 18, 19, 53, 54, 55, 56, 57, 62];
pub const SHORTCUT_SHIFT: u32 = 10;

/// Names of the four timer interrupts (ARM ARM: the generic timer's
/// outputs; the local controller's bits 0..3).
pub const TIMER_NAMES: [&str; 4] = ["CNTPSIRQ", "CNTPNSIRQ", "CNTHPIRQ", "CNTVIRQ"];

register_bitfields! [u32,
    /// GPU interrupt routing (QA7_rev3.4 4.5): the core that gets the
    /// GPU IRQ, and the one that gets the GPU FIQ.
    pub GPU_ROUTING [
        IRQ_CORE OFFSET(0) NUMBITS(2) [],
        FIQ_CORE OFFSET(2) NUMBITS(2) []
    ]
];

register_structs! {
    /// The ARM local peripherals (QA7_rev3.4 section 3, address map).
    pub LocalRegs {
        (0x00 => pub control: ReadWrite<u32>),
        (0x04 => _reserved0),
        (0x08 => pub prescaler: ReadWrite<u32>),
        (0x0c => pub gpu_routing: ReadWrite<u32, GPU_ROUTING::Register>),
        (0x10 => pub pmu_routing_set: WriteOnly<u32>),
        (0x14 => pub pmu_routing_clr: WriteOnly<u32>),
        (0x18 => _reserved1),
        (0x40 => pub timer_int_control: [ReadWrite<u32>; 4]),
        (0x50 => pub mailbox_int_control: [ReadWrite<u32>; 4]),
        (0x60 => pub irq_source: [ReadOnly<u32>; 4]),
        (0x70 => pub fiq_source: [ReadOnly<u32>; 4]),
        (0x80 => _reserved2),
        (0x100 => @END),
    }
}

register_structs! {
    /// The ARMCTRL interrupt registers (BCM2835 ARM Peripherals 7.5,
    /// from 0x7e00_b200). Linux: `reg_pending`, `reg_enable`,
    /// `reg_disable` in irq-bcm2835.c.
    pub ArmCtrlRegs {
        (0x00 => pub basic_pending: ReadOnly<u32>),
        (0x04 => pub pending1: ReadOnly<u32>),
        (0x08 => pub pending2: ReadOnly<u32>),
        (0x0c => pub fiq_control: ReadWrite<u32>),
        (0x10 => pub enable1: WriteOnly<u32>),
        (0x14 => pub enable2: WriteOnly<u32>),
        (0x18 => pub enable_basic: WriteOnly<u32>),
        (0x1c => pub disable1: WriteOnly<u32>),
        (0x20 => pub disable2: WriteOnly<u32>),
        (0x24 => pub disable_basic: WriteOnly<u32>),
        (0x28 => @END),
    }
}

/// The kernel number of ARMCTRL (`bank`, `bit`), as the device tree's
/// two cells give it; `None` outside the banks (Linux's armctrl_xlate
/// refuses the same).
pub const fn armctrl_irq(bank: u32, bit: u32) -> Option<u32> {
    if bank >= 3 || bit >= BANK_IRQS[bank as usize] {
        return None;
    }
    Some(ARMCTRL_BASE + 32 * bank + bit)
}

/// The inverse of [`armctrl_irq`].
pub const fn armctrl_bank_bit(irq: u32) -> Option<(usize, u32)> {
    if irq < ARMCTRL_BASE {
        return None;
    }
    let (bank, bit) = ((irq - ARMCTRL_BASE) / 32, (irq - ARMCTRL_BASE) % 32);
    if bank >= 3 || bit >= BANK_IRQS[bank as usize] {
        return None;
    }
    Some((bank as usize, bit))
}

/// What the local IRQ source register says first (lowest bit first, as
/// Linux's `ffs`): a local interrupt number, or the GPU interrupt (look
/// at the ARMCTRL controller).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalPending {
    Irq(u32),
    Gpu,
}

/// Decode a local IRQ source value (already limited to enabled sources).
pub const fn decode_local(source: u32) -> Option<LocalPending> {
    if source == 0 {
        return None;
    }
    let bit = source.trailing_zeros();
    if bit == LOCAL_GPU {
        Some(LocalPending::Gpu)
    } else {
        Some(LocalPending::Irq(bit))
    }
}

/// The first pending ARMCTRL interrupt, in Linux's order: the basic
/// bank's own 8, then the shortcuts (bank 1's, then bank 2's), then
/// pending 1 (basic bit 8), then pending 2 (basic bit 9). `bank(b)`
/// reads pending register `b` (1 or 2), only when needed.
pub fn decode_armctrl(basic: u32, mut bank: impl FnMut(usize) -> u32) -> Option<u32> {
    if basic & BASIC_OWN != 0 {
        return armctrl_irq(0, (basic & BASIC_OWN).trailing_zeros());
    }
    let shortcuts = (basic >> SHORTCUT_SHIFT) & ((1 << SHORTCUTS.len()) - 1);
    if shortcuts != 0 {
        let gpu = SHORTCUTS[shortcuts.trailing_zeros() as usize];
        return armctrl_irq(1 + gpu / 32, gpu % 32);
    }
    for (b, flag) in [(1, BASIC_BANK1), (2, BASIC_BANK2)] {
        if basic & flag != 0 {
            let p = bank(b);
            if p != 0 {
                return armctrl_irq(b as u32, p.trailing_zeros());
            }
        }
    }
    None
}

/// The basic pending bits that stand for an interrupt enabled in `en`
/// (per bank: which bits this driver enabled): the bank's own bits, the
/// shortcuts whose GPU interrupt is enabled, and the two bank summaries.
pub fn basic_mask(en: &[u32; 3]) -> u32 {
    let mut m = (en[0] & BASIC_OWN) | BASIC_BANK1 | BASIC_BANK2;
    for (i, &gpu) in SHORTCUTS.iter().enumerate() {
        let (b, bit) = (1 + gpu / 32, gpu % 32);
        if en[b as usize] & (1 << bit) != 0 {
            m |= 1 << (SHORTCUT_SHIFT + i as u32);
        }
    }
    m
}

/// What the device tree says about the Pi's controllers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Desc {
    /// The local controller (PA, size).
    pub local: (u64, u64),
    /// The ARMCTRL controller (PA, size), if there is one.
    pub armctrl: Option<(u64, u64)>,
    /// The virtual timer's local interrupt (from the timer node), if the
    /// device tree gives it.
    pub timer_irq: Option<u32>,
}

/// What [`Bcm2836::init`] brought up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info {
    pub local_pa: u64,
    pub armctrl_pa: Option<u64>,
    /// The core whose registers are used (MPIDR Aff0).
    pub cpu: usize,
}

impl core::fmt::Display for Info {
    /// "BCM2836 l1-intc at 0x40000000 (core 0), armctrl-ic at 0x3f00b200".
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "BCM2836 l1-intc at {:#010x} (core {})",
            self.local_pa, self.cpu
        )?;
        match self.armctrl_pa {
            Some(a) => write!(f, ", armctrl-ic at {a:#010x}"),
            None => f.write_str(", no armctrl-ic"),
        }
    }
}

/// The two controllers at kernel virtual addresses.
pub struct Bcm2836 {
    local: &'static LocalRegs,
    armctrl: Option<&'static ArmCtrlRegs>,
    cpu: usize,
    /// Local source bits enabled by this driver.
    local_en: AtomicU32,
    /// ARMCTRL bits enabled by this driver, per bank.
    armctrl_en: [AtomicU32; 3],
}

// SAFETY: the registers are MMIO owned by this one value; the kernel
// runs on one core with IRQs masked, every register access is a single
// volatile load or store, and the enable masks are atomics.
unsafe impl Sync for Bcm2836 {}
// SAFETY: as above; the value only holds addresses and atomics.
unsafe impl Send for Bcm2836 {}

impl Bcm2836 {
    /// # Safety
    /// `local` is the kernel VA of the ARM local peripherals (256 bytes)
    /// and `armctrl`, if given, of the ARMCTRL registers (0x28 bytes),
    /// mapped as Device memory for the kernel's lifetime and driven by
    /// nothing else. `cpu` < 4.
    pub unsafe fn new(local: usize, armctrl: Option<usize>, cpu: usize) -> Self {
        // SAFETY: the caller's contract.
        let local = unsafe { &*(local as *const LocalRegs) };
        // SAFETY: the caller's contract.
        let armctrl = armctrl.map(|a| unsafe { &*(a as *const ArmCtrlRegs) });
        Bcm2836 {
            local,
            armctrl,
            cpu: cpu & 3,
            local_en: AtomicU32::new(0),
            armctrl_en: [AtomicU32::new(0), AtomicU32::new(0), AtomicU32::new(0)],
        }
    }

    pub fn has_armctrl(&self) -> bool {
        self.armctrl.is_some()
    }

    /// Every source this driver routes off; the generic timer's counter
    /// scaled 1:1 from the crystal (what Linux's
    /// `bcm2835_init_local_timer_frequency` writes: control 0 = crystal
    /// clock, increment by 1; prescaler 2^31 = 1:1, since the firmware
    /// sets CNTFRQ to the crystal's 19.2 MHz but not the scaler); the GPU
    /// interrupt routed to this core.
    pub fn init(&self) {
        let l = self.local;
        l.control.set(0);
        l.prescaler.set(0x8000_0000);
        // IRQ and FIQ enables of this core's four timer interrupts off.
        l.timer_int_control[self.cpu].set(0);
        if let Some(a) = self.armctrl {
            a.disable_basic.set(u32::MAX);
            a.disable1.set(u32::MAX);
            a.disable2.set(u32::MAX);
            let fiq = l.gpu_routing.read(GPU_ROUTING::FIQ_CORE);
            l.gpu_routing
                .write(GPU_ROUTING::IRQ_CORE.val(self.cpu as u32) + GPU_ROUTING::FIQ_CORE.val(fiq));
        }
    }

    /// Enable `irq`: a generic timer interrupt (0..=3) at this core's
    /// timer interrupt control, or an ARMCTRL interrupt (its bank's
    /// enable register; the GPU interrupt needs no enable at the local
    /// controller, only routing).
    pub fn enable(&self, irq: u32) -> Result<(), &'static str> {
        if irq <= LOCAL_CNTVIRQ {
            // Read-modify-write (Linux's unmask_per_cpu_irq): the other
            // timers' bits stay.
            let r = &self.local.timer_int_control[self.cpu];
            r.set(r.get() | (1 << irq));
            self.local_en.fetch_or(1 << irq, Ordering::Relaxed);
            return Ok(());
        }
        if irq <= LOCAL_LAST {
            return Err("local interrupt not supported (mailboxes, PMU, local timer)");
        }
        let (bank, bit) = armctrl_bank_bit(irq).ok_or("not an interrupt of these controllers")?;
        let a = self.armctrl.ok_or("no armctrl-ic in the device tree")?;
        match bank {
            0 => a.enable_basic.set(1 << bit),
            1 => a.enable1.set(1 << bit),
            _ => a.enable2.set(1 << bit),
        }
        self.armctrl_en[bank].fetch_or(1 << bit, Ordering::Relaxed);
        self.local_en.fetch_or(1 << LOCAL_GPU, Ordering::Relaxed);
        Ok(())
    }

    /// The first pending interrupt this driver enabled, or `None`.
    pub fn pending(&self) -> Option<u32> {
        let src = self.local.irq_source[self.cpu].get() & self.local_en.load(Ordering::Relaxed);
        match decode_local(src)? {
            LocalPending::Irq(n) => Some(n),
            LocalPending::Gpu => {
                let a = self.armctrl?;
                // BCM2835 ARM Peripherals 1.3: the bus does not keep
                // reads from different peripherals in order, so a barrier
                // goes between the last read of one (the local
                // controller) and the first of the next (ARMCTRL).
                device_barrier();
                let en = [0, 1, 2].map(|b| self.armctrl_en[b].load(Ordering::Relaxed));
                let basic = a.basic_pending.get() & basic_mask(&en);
                let irq = decode_armctrl(basic, |b| match b {
                    1 => a.pending1.get() & en[1],
                    _ => a.pending2.get() & en[2],
                });
                // The same rule on the way out: what reads the UART or
                // the local controller next sees them after these.
                device_barrier();
                irq
            }
        }
    }
}

/// DSB: every memory access before it completes before any after it
/// (ARM ARM B2.3.5 / DDI 0487 "Data Synchronization Barrier"), which is
/// what the BCM2835 ARM Peripherals section 1.3 asks for between
/// accesses to two different peripherals.
fn device_barrier() {
    #[cfg(target_arch = "arm")]
    aarch32_cpu::asm::dsb();
    #[cfg(target_arch = "aarch64")]
    aarch64_cpu::asm::barrier::dsb(aarch64_cpu::asm::barrier::SY);
    #[cfg(not(any(target_arch = "arm", target_arch = "aarch64")))]
    core::sync::atomic::fence(Ordering::SeqCst);
}

#[cfg(test)]
mod tests;
