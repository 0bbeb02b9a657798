//! GICv2 (and GICv1): distributor and memory-mapped CPU interface.
//! Offsets from the GIC Architecture Specification v1.0/v2.0 (ARM IHI
//! 0048B), 4.1.2 table 4-1 (distributor) and 4.1.3 table 4-2 (CPU
//! interface).

use super::{DEFAULT_PRIORITY, PRIORITY_MASK};
use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::registers::{ReadOnly, ReadWrite, WriteOnly};
use tock_registers::{register_bitfields, register_structs};

register_bitfields! [u32,
    /// GICD_CTLR (IHI 0048B 4.3.1). Without the Security Extensions, or
    /// in the Non-secure view, bit 0 enables the interrupts this kernel
    /// uses (Group 0 resp. Non-secure Group 1).
    pub GICD_CTLR [
        ENABLE OFFSET(0) NUMBITS(1) [],
        ENABLE_GRP1 OFFSET(1) NUMBITS(1) []
    ],
    /// GICD_TYPER (4.3.2): ITLinesNumber, the distributor supports
    /// 32 * (N + 1) interrupt IDs.
    pub GICD_TYPER [
        IT_LINES_NUMBER OFFSET(0) NUMBITS(5) [],
        CPU_NUMBER OFFSET(5) NUMBITS(3) []
    ],
    /// GICC_CTLR (4.4.1), Non-secure / no-Security-Extensions view.
    pub GICC_CTLR [
        ENABLE OFFSET(0) NUMBITS(1) [],
        /// FIQBypDisGrp1, IRQBypDisGrp1 (and the Group 0 ones): kept as
        /// found, as Linux does (GICC_DIS_BYPASS_MASK 0x1e0).
        BYPASS_DISABLE OFFSET(5) NUMBITS(4) [],
        EOI_MODE_NS OFFSET(9) NUMBITS(1) []
    ],
    /// GICC_IAR (4.4.4).
    pub GICC_IAR [
        INTERRUPT_ID OFFSET(0) NUMBITS(10) [],
        CPUID OFFSET(10) NUMBITS(3) []
    ]
];

register_structs! {
    /// The distributor's registers this driver uses (IHI 0048B table 4-1).
    /// GICv3 keeps this layout up to 0xD00 (IHI 0069, the GICD register map), which its
    /// driver shares.
    pub Distributor {
        (0x000 => pub ctlr: ReadWrite<u32, GICD_CTLR::Register>),
        (0x004 => pub typer: ReadOnly<u32, GICD_TYPER::Register>),
        (0x008 => pub iidr: ReadOnly<u32>),
        (0x00c => _reserved0),
        (0x080 => pub igroupr: [ReadWrite<u32>; 32]),
        (0x100 => pub isenabler: [ReadWrite<u32>; 32]),
        (0x180 => pub icenabler: [ReadWrite<u32>; 32]),
        (0x200 => pub ispendr: [ReadWrite<u32>; 32]),
        (0x280 => pub icpendr: [ReadWrite<u32>; 32]),
        (0x300 => pub isactiver: [ReadWrite<u32>; 32]),
        (0x380 => pub icactiver: [ReadWrite<u32>; 32]),
        (0x400 => pub ipriorityr: [ReadWrite<u8>; 1020]),
        (0x7fc => _reserved1),
        (0x800 => pub itargetsr: [ReadWrite<u8>; 1020]),
        (0xbfc => _reserved2),
        (0xc00 => pub icfgr: [ReadWrite<u32>; 64]),
        (0xd00 => _reserved3),
        (0xf00 => pub sgir: WriteOnly<u32>),
        (0xf04 => _reserved4),
        (0xfe8 => pub icpidr2: ReadOnly<u32>),
        (0xfec => _reserved5),
        (0x1000 => @END),
    }
}

register_structs! {
    /// The CPU interface (IHI 0048B table 4-2).
    pub CpuInterface {
        (0x000 => pub ctlr: ReadWrite<u32, GICC_CTLR::Register>),
        (0x004 => pub pmr: ReadWrite<u32>),
        (0x008 => pub bpr: ReadWrite<u32>),
        (0x00c => pub iar: ReadOnly<u32, GICC_IAR::Register>),
        (0x010 => pub eoir: WriteOnly<u32>),
        (0x014 => pub rpr: ReadOnly<u32>),
        (0x018 => pub hppir: ReadOnly<u32>),
        (0x01c => _reserved0),
        (0x0fc => pub iidr: ReadOnly<u32>),
        (0x100 => _reserved1),
        (0x1000 => pub dir: WriteOnly<u32>),
        (0x1004 => @END),
    }
}

/// Interrupts 0..15 are SGIs, 16..31 PPIs (banked per CPU), 32.. SPIs.
pub const FIRST_SPI: u32 = 32;

/// Supported interrupt IDs for GICD_TYPER.ITLinesNumber = `n`
/// (32 * (n + 1), at most 1020: 1020..1023 are special).
pub const fn lines(n: u32) -> u32 {
    let l = 32 * (n + 1);
    if l > 1020 {
        1020
    } else {
        l
    }
}

/// ICFGR: the word and the bit that says "edge" (1) or "level" (0) for
/// `irq` (2 bits per interrupt, the upper one is the trigger).
pub const fn icfgr_bit(irq: u32) -> (usize, u32) {
    ((irq / 16) as usize, 2 * (irq % 16) + 1)
}

/// A GICv2 at kernel virtual addresses.
pub struct Gicv2 {
    dist: &'static Distributor,
    cpu: &'static CpuInterface,
    lines: u32,
}

// SAFETY: the registers are MMIO owned by the one GIC value; the kernel
// runs on one core with IRQs masked, and every access is a single
// volatile load or store.
unsafe impl Sync for Gicv2 {}
// SAFETY: as above; the value only holds addresses.
unsafe impl Send for Gicv2 {}

impl Gicv2 {
    /// # Safety
    /// `dist` and `cpu` are kernel virtual addresses of a GICv2
    /// distributor (4 KiB) and CPU interface (8 KiB), mapped as Device
    /// memory for the kernel's lifetime, that nothing else drives.
    pub unsafe fn new(dist: usize, cpu: usize) -> Self {
        // SAFETY: the caller's contract.
        let (dist, cpu) = unsafe {
            (
                &*(dist as *const Distributor),
                &*(cpu as *const CpuInterface),
            )
        };
        let lines = lines(dist.typer.read(GICD_TYPER::IT_LINES_NUMBER));
        Gicv2 { dist, cpu, lines }
    }

    /// PIDR2.ArchRev (bits [7:4]): 1 for GICv1, 2 for GICv2.
    pub fn arch_rev(&self) -> u32 {
        (self.dist.icpidr2.get() >> 4) & 0xf
    }

    pub fn lines(&self) -> u32 {
        self.lines
    }

    /// Distributor and CPU interface up, every interrupt disabled but
    /// the SGIs, all at [`DEFAULT_PRIORITY`] (the sequence of Linux's
    /// `gic_dist_init` and `gic_cpu_init`).
    pub fn init(&self) {
        let d = self.dist;
        d.ctlr.set(0);
        let words = (self.lines / 32) as usize;
        // SPIs: disabled, not pending, not active.
        for w in 1..words {
            d.icenabler[w].set(u32::MAX);
            d.icpendr[w].set(u32::MAX);
            d.icactiver[w].set(u32::MAX);
        }
        for p in &d.ipriorityr[..self.lines as usize] {
            p.set(DEFAULT_PRIORITY);
        }
        // Banked SGIs and PPIs: PPIs off, SGIs on.
        d.icenabler[0].set(0xffff_0000);
        d.isenabler[0].set(0x0000_ffff);
        d.ctlr.write(GICD_CTLR::ENABLE::SET);

        let c = self.cpu;
        c.pmr.set(PRIORITY_MASK as u32);
        c.bpr.set(0);
        let bypass = c.ctlr.read(GICC_CTLR::BYPASS_DISABLE);
        c.ctlr
            .write(GICC_CTLR::ENABLE::SET + GICC_CTLR::BYPASS_DISABLE.val(bypass));
    }

    /// Enable `irq` as a level-sensitive interrupt to this CPU.
    pub fn enable(&self, irq: u32) -> Result<(), &'static str> {
        if irq >= self.lines {
            return Err("interrupt ID beyond GICD_TYPER.ITLinesNumber");
        }
        let d = self.dist;
        d.ipriorityr[irq as usize].set(DEFAULT_PRIORITY);
        if irq >= 16 {
            let (w, b) = icfgr_bit(irq);
            // Level-sensitive: the trigger bit clear (PPI configuration
            // may be read-only, 4.3.13: then this changes nothing).
            d.icfgr[w].set(d.icfgr[w].get() & !(1 << b));
        }
        if irq >= FIRST_SPI {
            // Any PPI's ITARGETSR reads as this CPU's own mask (4.3.12),
            // as Linux's gic_get_cpumask uses.
            let me = d.itargetsr[16].get();
            d.itargetsr[irq as usize].set(me);
        }
        d.isenabler[(irq / 32) as usize].set(1 << (irq % 32));
        Ok(())
    }

    /// GICC_IAR read: the interrupt is now active.
    pub fn read_iar(&self) -> u32 {
        self.cpu.iar.get()
    }

    /// Priority drop and deactivation (GICC_CTLR.EOImodeNS = 0).
    pub fn write_eoir(&self, iar: u32) {
        self.cpu.eoir.set(iar);
    }
}
