//! GICv3: distributor and redistributor MMIO; the CPU interface is the
//! ICC_* system registers (`arch::aarch64::gicv3_cpuif`). Offsets from the
//! GICv3/v4 Architecture Specification (ARM IHI 0069), chapter 12: the
//! distributor map (GICD_*, shared with GICv2 up to 0xD00, plus
//! GICD_IROUTER<n> at 0x6000 + 8n and GICD_PIDR2 at 0xFFE8), the
//! redistributor's RD_base frame (GICR_CTLR, GICR_TYPER, GICR_WAKER) and
//! its SGI_base frame 64 KiB above (the banked SGI/PPI registers).

use super::v2::{Distributor, GICD_TYPER};
use super::{DEFAULT_PRIORITY, SPIN_LIMIT};
use tock_registers::interfaces::{ReadWriteable, Readable, Writeable};
use tock_registers::registers::{ReadOnly, ReadWrite};
use tock_registers::{register_bitfields, register_structs};

register_bitfields! [u32,
    /// GICD_CTLR (IHI 0069), Non-secure view / GICD_CTLR.DS = 1
    /// view: bit 0 EnableGrp1 (NS) or EnableGrp0, bit 1 EnableGrp1A or
    /// EnableGrp1, bit 4 ARE_NS or ARE. Linux writes all three
    /// (`GICD_CTLR_ARE_NS | GICD_CTLR_ENABLE_G1A | GICD_CTLR_ENABLE_G1`),
    /// which is right in both views.
    pub GICD_CTLR [
        ENABLE_G1 OFFSET(0) NUMBITS(1) [],
        ENABLE_G1A OFFSET(1) NUMBITS(1) [],
        ARE_NS OFFSET(4) NUMBITS(1) [],
        DS OFFSET(6) NUMBITS(1) [],
        /// Register Write Pending.
        RWP OFFSET(31) NUMBITS(1) []
    ],
    /// GICR_CTLR.
    pub GICR_CTLR [
        RWP OFFSET(3) NUMBITS(1) []
    ],
    /// GICR_TYPER, low word.
    pub GICR_TYPER_LO [
        PLPIS OFFSET(0) NUMBITS(1) [],
        /// Virtual LPIs: the redistributor has two more 64 KiB frames.
        VLPIS OFFSET(1) NUMBITS(1) [],
        /// The last redistributor of its region.
        LAST OFFSET(4) NUMBITS(1) [],
        PROCESSOR_NUMBER OFFSET(8) NUMBITS(16) []
    ],
    /// GICR_WAKER.
    pub GICR_WAKER [
        PROCESSOR_SLEEP OFFSET(1) NUMBITS(1) [],
        CHILDREN_ASLEEP OFFSET(2) NUMBITS(1) []
    ]
];

register_structs! {
    /// The GICv3-only distributor registers (the rest: [`Distributor`]).
    pub DistributorV3 {
        (0x0000 => _reserved0),
        (0x6100 => pub irouter: [ReadWrite<u64>; 988]),
        (0x7fe0 => _reserved1),
        (0xffe8 => pub pidr2: ReadOnly<u32>),
        (0xffec => _reserved2),
        (0x10000 => @END),
    }
}

register_structs! {
    /// RD_base: the redistributor's control frame. GICR_TYPER is read
    /// as two 32-bit halves (32-bit accesses to it are allowed), so the same code runs on
    /// a 32-bit CPU.
    pub RdFrame {
        (0x0000 => pub ctlr: ReadWrite<u32, GICR_CTLR::Register>),
        (0x0004 => pub iidr: ReadOnly<u32>),
        (0x0008 => pub typer_lo: ReadOnly<u32, GICR_TYPER_LO::Register>),
        /// GICR_TYPER[63:32]: Affinity_Value, Aff3.Aff2.Aff1.Aff0.
        (0x000c => pub typer_hi: ReadOnly<u32>),
        (0x0010 => pub statusr: ReadWrite<u32>),
        (0x0014 => pub waker: ReadWrite<u32, GICR_WAKER::Register>),
        (0x0018 => _reserved0),
        (0xffe8 => pub pidr2: ReadOnly<u32>),
        (0xffec => _reserved1),
        (0x10000 => @END),
    }
}

register_structs! {
    /// SGI_base: the banked SGI and PPI registers (INTIDs 0..31).
    pub SgiFrame {
        (0x0000 => _reserved0),
        (0x0080 => pub igroupr0: ReadWrite<u32>),
        (0x0084 => _reserved1),
        (0x0100 => pub isenabler0: ReadWrite<u32>),
        (0x0104 => _reserved2),
        (0x0180 => pub icenabler0: ReadWrite<u32>),
        (0x0184 => _reserved3),
        (0x0200 => pub ispendr0: ReadWrite<u32>),
        (0x0204 => _reserved4),
        (0x0280 => pub icpendr0: ReadWrite<u32>),
        (0x0284 => _reserved5),
        (0x0300 => pub isactiver0: ReadWrite<u32>),
        (0x0304 => _reserved6),
        (0x0380 => pub icactiver0: ReadWrite<u32>),
        (0x0384 => _reserved7),
        (0x0400 => pub ipriorityr: [ReadWrite<u8>; 32]),
        (0x0420 => _reserved8),
        (0x0c00 => pub icfgr0: ReadWrite<u32>),
        (0x0c04 => pub icfgr1: ReadWrite<u32>),
        (0x0c08 => _reserved9),
        (0x0d00 => pub igrpmodr0: ReadWrite<u32>),
        (0x0d04 => _reserved10),
        (0x10000 => @END),
    }
}

/// One redistributor: RD_base + SGI_base (GICv3), plus VLPI_base and a
/// reserved frame with GICR_TYPER.VLPIS (GICv4).
pub const RD_FRAMES_V3: u64 = 0x2_0000;
pub const RD_FRAMES_V4: u64 = 0x4_0000;

/// The packed affinity GICR_TYPER[63:32] holds, from MPIDR
/// (Aff0 [7:0], Aff1 [15:8], Aff2 [23:16], Aff3 [39:32]).
pub const fn affinity_of_mpidr(mpidr: u64) -> u32 {
    (mpidr & 0x00ff_ffff) as u32 | (((mpidr >> 32) & 0xff) as u32) << 24
}

/// The offset of the redistributor of `affinity` in a region of `len`
/// bytes, given a reader of each frame's GICR_TYPER (offset -> (low,
/// high)). Frames follow each other until one says Last; none may lie
/// beyond the region.
pub fn find_redistributor(
    len: u64,
    affinity: u32,
    mut typer_at: impl FnMut(u64) -> (u32, u32),
) -> Result<u64, &'static str> {
    let mut off = 0u64;
    while off.checked_add(RD_FRAMES_V3).is_some_and(|e| e <= len) {
        let (lo, hi) = typer_at(off);
        let stride = if lo & (1 << 1) != 0 {
            RD_FRAMES_V4
        } else {
            RD_FRAMES_V3
        };
        if hi == affinity {
            if off + stride > len {
                return Err("redistributor frames run past the region");
            }
            return Ok(off);
        }
        if lo & (1 << 4) != 0 {
            break;
        }
        off += stride;
    }
    Err("no redistributor for this CPU's affinity")
}

/// A GICv3 at kernel virtual addresses.
pub struct Gicv3 {
    dist: &'static Distributor,
    dist3: &'static DistributorV3,
    rd: &'static RdFrame,
    sgi: &'static SgiFrame,
    lines: u32,
    /// GICD_IROUTER value routing an SPI to this CPU.
    route: u64,
}

// SAFETY: the registers are MMIO owned by the one GIC value; the kernel
// runs on one core with IRQs masked, and every access is a single
// volatile load or store.
unsafe impl Sync for Gicv3 {}
// SAFETY: as above; the value only holds addresses.
unsafe impl Send for Gicv3 {}

impl Gicv3 {
    /// # Safety
    /// `dist` is the kernel VA of a GICv3 distributor (64 KiB) and `rd`
    /// of this CPU's redistributor (RD_base and SGI_base, 128 KiB), mapped
    /// as Device memory for the kernel's lifetime, driven by nothing else.
    pub unsafe fn new(dist: usize, rd: usize, mpidr: u64) -> Self {
        // SAFETY: the caller's contract.
        let (d, d3, r, s) = unsafe {
            (
                &*(dist as *const Distributor),
                &*(dist as *const DistributorV3),
                &*(rd as *const RdFrame),
                &*((rd + 0x1_0000) as *const SgiFrame),
            )
        };
        let lines = super::v2::lines(d.typer.read(GICD_TYPER::IT_LINES_NUMBER));
        // Aff3 at [39:32], Aff2..Aff0 at [23:0]; Interrupt_Routing_Mode 0.
        let route = mpidr & 0xff_00ff_ffff;
        Gicv3 {
            dist: d,
            dist3: d3,
            rd: r,
            sgi: s,
            lines,
            route,
        }
    }

    /// GICD_PIDR2.ArchRev (bits [7:4]): 3 for GICv3, 4 for GICv4.
    pub fn arch_rev(&self) -> u32 {
        (self.dist3.pidr2.get() >> 4) & 0xf
    }

    pub fn lines(&self) -> u32 {
        self.lines
    }

    fn wait_dist(&self) -> Result<(), &'static str> {
        let ctlr = &self.dist.ctlr;
        for _ in 0..SPIN_LIMIT {
            if ctlr.get() & (1 << 31) == 0 {
                return Ok(());
            }
            core::hint::spin_loop();
        }
        Err("GICD_CTLR.RWP stuck")
    }

    fn wait_redist(&self) -> Result<(), &'static str> {
        for _ in 0..SPIN_LIMIT {
            if !self.rd.ctlr.is_set(GICR_CTLR::RWP) {
                return Ok(());
            }
            core::hint::spin_loop();
        }
        Err("GICR_CTLR.RWP stuck")
    }

    /// Distributor (affinity routing, Group 1) and this CPU's
    /// redistributor up, every PPI and SPI disabled, all Group 1 at
    /// [`DEFAULT_PRIORITY`]: the sequence of Linux's `gic_dist_init` and
    /// `gic_cpu_init` (drivers/irqchip/irq-gic-v3.c). The CPU interface
    /// (system registers) is the caller's.
    pub fn init(&self) -> Result<(), &'static str> {
        let d = self.dist;
        d.ctlr.set(0);
        self.wait_dist()?;
        let words = (self.lines / 32) as usize;
        for w in 1..words {
            d.igroupr[w].set(u32::MAX);
            d.icenabler[w].set(u32::MAX);
            d.icpendr[w].set(u32::MAX);
            d.icactiver[w].set(u32::MAX);
        }
        for p in &d.ipriorityr[32..self.lines as usize] {
            p.set(DEFAULT_PRIORITY);
        }
        self.wait_dist()?;
        d.ctlr.set(0x13); // ARE_NS | ENABLE_G1A | ENABLE_G1, see GICD_CTLR
        self.wait_dist()?;

        // Wake the redistributor (IHI 0069, GICR_WAKER): clear ProcessorSleep, wait
        // until ChildrenAsleep reads 0.
        self.rd.waker.modify(GICR_WAKER::PROCESSOR_SLEEP::CLEAR);
        let mut awake = false;
        for _ in 0..SPIN_LIMIT {
            if !self.rd.waker.is_set(GICR_WAKER::CHILDREN_ASLEEP) {
                awake = true;
                break;
            }
            core::hint::spin_loop();
        }
        if !awake {
            return Err("GICR_WAKER.ChildrenAsleep stays 1");
        }
        let s = self.sgi;
        s.icenabler0.set(0xffff_0000);
        s.isenabler0.set(0x0000_ffff);
        s.igroupr0.set(u32::MAX);
        for p in &s.ipriorityr {
            p.set(DEFAULT_PRIORITY);
        }
        self.wait_redist()
    }

    /// Enable `irq` as a level-sensitive Group 1 interrupt to this CPU.
    pub fn enable(&self, irq: u32) -> Result<(), &'static str> {
        if irq >= self.lines {
            return Err("interrupt ID beyond GICD_TYPER.ITLinesNumber");
        }
        let (w, b) = super::v2::icfgr_bit(irq);
        if irq < 32 {
            let s = self.sgi;
            s.ipriorityr[irq as usize].set(DEFAULT_PRIORITY);
            s.igroupr0.set(s.igroupr0.get() | 1 << irq);
            if irq >= 16 {
                s.icfgr1.set(s.icfgr1.get() & !(1 << b));
            }
            s.isenabler0.set(1 << irq);
            self.wait_redist()
        } else {
            let d = self.dist;
            d.ipriorityr[irq as usize].set(DEFAULT_PRIORITY);
            let g = (irq / 32) as usize;
            d.igroupr[g].set(d.igroupr[g].get() | 1 << (irq % 32));
            d.icfgr[w].set(d.icfgr[w].get() & !(1 << b));
            self.dist3.irouter[(irq - 32) as usize].set(self.route);
            d.isenabler[(irq / 32) as usize].set(1 << (irq % 32));
            self.wait_dist()
        }
    }
}
