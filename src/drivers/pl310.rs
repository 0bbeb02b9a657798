//! The ARM CoreLink L2C-310 (PL310) Level 2 cache controller: the outer
//! cache of the Cortex-A9 boards (i.MX6Q SABRE Lite at 0x00a02000,
//! Versatile Express A9 at 0x1e00a000: the `arm,pl310-cache` node).
//!
//! Register offsets and fields: ARM CoreLink Level 2 Cache Controller
//! L2C-310 Technical Reference Manual r3p3 (DDI 0246H), chapter 3
//! "Programmers Model", 3.2 "Register summary" and the register
//! descriptions of 3.3. Linux's `arch/arm/mm/cache-l2x0.c` was
//! read for which device-tree properties matter and in which order the
//! controller is brought up (TRM 3.1.1 "Initialization sequence", 3.3.4
//! and 3.3.5: configuration only while disabled, invalidate by way, then
//! enable).
//!
//! At boot ([`init`]): a disabled controller gets the device tree's RAM
//! latencies and `arm,shared-override` (writable only while disabled: an
//! Auxiliary/Latency Control write with the cache on is a SLVERR, TRM
//! 3.3.4), its lockdown cleared, every way invalidated (Invalidate by Way
//! with the way mask of Aux Control's associativity, polled to 0), a
//! Cache Sync, then Control.Enable. A controller the bootloader already
//! enabled is kept as it is (configured by the firmware, and its lines may
//! be dirty: invalidating them would lose data). Either way one line says
//! what was found.
//!
//! Maintenance ([`clean`], [`invalidate`], [`clean_invalidate`]) is by
//! physical address, one 32-byte line at a time (the L2C-310 line is
//! always 32 bytes, TRM 3.3.2), ordered with the inner (L1) maintenance by
//! VA as the ARM ARM and the TRM require for an outer cache beyond the
//! inner ones; `arch::armv7a::cache` runs these wherever it already
//! maintained L1 to the point of coherency.
//!
//! Everything decoding register values and ordering the steps is plain
//! code over [`Maintenance`], tested on the host against a recording fake.

use tock_registers::registers::{ReadOnly, ReadWrite};
use tock_registers::{register_bitfields, register_structs, LocalRegisterCopy};

register_bitfields! [u32,
    /// Cache ID Register, 0x000 (TRM 3.3.1).
    pub CACHE_ID [
        /// 0x41: ARM.
        IMPLEMENTER OFFSET(24) NUMBITS(8) [],
        /// Set by the CACHEID input pins.
        CACHE_ID OFFSET(10) NUMBITS(6) [],
        /// 0b0011: L2C-310.
        PART_NUMBER OFFSET(6) NUMBITS(4) [],
        /// 0x0 r0p0, 0x2 r1p0, 0x4 r2p0, 0x5 r3p0, 0x6 r3p1, 0x8 r3p2,
        /// 0x9 r3p3.
        RTL_RELEASE OFFSET(0) NUMBITS(6) []
    ],
    /// Control Register, 0x100 (TRM 3.3.3).
    pub CONTROL [
        L2_ENABLE OFFSET(0) NUMBITS(1) []
    ],
    /// Auxiliary Control Register, 0x104 (TRM 3.3.4).
    pub AUX_CONTROL [
        EARLY_BRESP OFFSET(30) NUMBITS(1) [],
        INSTRUCTION_PREFETCH OFFSET(29) NUMBITS(1) [],
        DATA_PREFETCH OFFSET(28) NUMBITS(1) [],
        NS_INTERRUPT_ACCESS OFFSET(27) NUMBITS(1) [],
        NS_LOCKDOWN OFFSET(26) NUMBITS(1) [],
        /// 0 pseudo-random, 1 round-robin.
        REPLACEMENT_POLICY OFFSET(25) NUMBITS(1) [],
        FORCE_WRITE_ALLOCATE OFFSET(23) NUMBITS(2) [],
        SHARED_ATTRIBUTE_OVERRIDE OFFSET(22) NUMBITS(1) [],
        PARITY OFFSET(21) NUMBITS(1) [],
        EVENT_MONITOR_BUS OFFSET(20) NUMBITS(1) [],
        /// 0b001 16 KiB .. 0b110 512 KiB; 0b000 reserved (16 KiB),
        /// 0b111 reserved (512 KiB).
        WAY_SIZE OFFSET(17) NUMBITS(3) [],
        /// 0: 8-way, 1: 16-way.
        ASSOCIATIVITY OFFSET(16) NUMBITS(1) [],
        SHARED_ATTRIBUTE_INVALIDATE OFFSET(13) NUMBITS(1) [],
        EXCLUSIVE_CACHE OFFSET(12) NUMBITS(1) [],
        STORE_BUFFER_DEVICE_LIMITATION OFFSET(11) NUMBITS(1) [],
        HIGH_PRIORITY_SO_DEV_READS OFFSET(10) NUMBITS(1) [],
        FULL_LINE_OF_ZERO OFFSET(0) NUMBITS(1) []
    ],
    /// Tag and Data RAM Latency Control Registers, 0x108 / 0x10C (TRM
    /// 3.3.5): each field is the latency in cycles - 1.
    pub LATENCY [
        WRITE OFFSET(8) NUMBITS(3) [],
        READ OFFSET(4) NUMBITS(3) [],
        SETUP OFFSET(0) NUMBITS(3) []
    ],
    /// Cache Sync, 0x730 (TRM 3.3.10): C = 1 while a sync is in progress.
    pub CACHE_SYNC [
        C OFFSET(0) NUMBITS(1) []
    ]
];

register_structs! {
    /// The L2C-310 register block (TRM 3.2), 4 KiB.
    pub Registers {
        (0x000 => pub cache_id: ReadOnly<u32, CACHE_ID::Register>),
        (0x004 => pub cache_type: ReadOnly<u32>),
        (0x008 => _reserved0),
        (0x100 => pub control: ReadWrite<u32, CONTROL::Register>),
        (0x104 => pub aux_control: ReadWrite<u32, AUX_CONTROL::Register>),
        (0x108 => pub tag_ram_latency: ReadWrite<u32, LATENCY::Register>),
        (0x10c => pub data_ram_latency: ReadWrite<u32, LATENCY::Register>),
        (0x110 => _reserved1),
        (0x200 => pub event_counter_control: ReadWrite<u32>),
        (0x204 => pub event_counter1_cfg: ReadWrite<u32>),
        (0x208 => pub event_counter0_cfg: ReadWrite<u32>),
        (0x20c => pub event_counter1: ReadWrite<u32>),
        (0x210 => pub event_counter0: ReadWrite<u32>),
        (0x214 => pub interrupt_mask: ReadWrite<u32>),
        (0x218 => pub masked_interrupt_status: ReadOnly<u32>),
        (0x21c => pub raw_interrupt_status: ReadOnly<u32>),
        (0x220 => pub interrupt_clear: ReadWrite<u32>),
        (0x224 => _reserved2),
        (0x730 => pub cache_sync: ReadWrite<u32, CACHE_SYNC::Register>),
        (0x734 => _reserved3),
        (0x770 => pub invalidate_line_pa: ReadWrite<u32>),
        (0x774 => _reserved4),
        (0x77c => pub invalidate_way: ReadWrite<u32>),
        (0x780 => _reserved5),
        (0x7b0 => pub clean_line_pa: ReadWrite<u32>),
        (0x7b4 => _reserved6),
        (0x7b8 => pub clean_line_index: ReadWrite<u32>),
        (0x7bc => pub clean_way: ReadWrite<u32>),
        (0x7c0 => _reserved7),
        (0x7f0 => pub clean_invalidate_line_pa: ReadWrite<u32>),
        (0x7f4 => _reserved8),
        (0x7f8 => pub clean_invalidate_line_index: ReadWrite<u32>),
        (0x7fc => pub clean_invalidate_way: ReadWrite<u32>),
        (0x800 => _reserved9),
        /// Data and Instruction Lockdown by way, master 0..7 (0x900 + 8n,
        /// 0x904 + 8n; TRM 3.3.11).
        (0x900 => pub lockdown: [ReadWrite<u32>; 16]),
        (0x940 => _reserved10),
        (0x950 => pub lock_line_enable: ReadWrite<u32>),
        (0x954 => pub unlock_way: ReadWrite<u32>),
        (0x958 => _reserved11),
        (0xc00 => pub address_filtering_start: ReadWrite<u32>),
        (0xc04 => pub address_filtering_end: ReadWrite<u32>),
        (0xc08 => _reserved12),
        (0xf40 => pub debug_control: ReadWrite<u32>),
        (0xf44 => _reserved13),
        (0xf60 => pub prefetch_control: ReadWrite<u32>),
        (0xf64 => _reserved14),
        (0xf80 => pub power_control: ReadWrite<u32>),
        (0xf84 => _reserved15),
        (0x1000 => @END),
    }
}

/// Size of the register block (TRM 3.2: 0x000..0xFFF).
pub const SPAN: u64 = 0x1000;

/// The L2C-310 cache line: 32 bytes whatever the configuration (TRM
/// 3.3.2, Cache Type Register: line length 0b00 = 32 bytes); the by-PA
/// operations take the line's address, bits [4:0] ignored (TRM 3.3.10).
pub const LINE: u64 = 32;

/// Cache ID.PART_NUMBER of the L2C-310.
pub const PART_L2C310: u32 = 0b0011;

/// What the Cache ID Register says (TRM 3.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheId {
    pub raw: u32,
    pub implementer: u32,
    pub part: u32,
    pub rtl: u32,
}

impl CacheId {
    pub fn decode(raw: u32) -> Self {
        let r = LocalRegisterCopy::<u32, CACHE_ID::Register>::new(raw);
        CacheId {
            raw,
            implementer: r.read(CACHE_ID::IMPLEMENTER),
            part: r.read(CACHE_ID::PART_NUMBER),
            rtl: r.read(CACHE_ID::RTL_RELEASE),
        }
    }

    /// The revision the RTL release field names (TRM 3.3.1), if known.
    pub fn revision(&self) -> Option<&'static str> {
        Some(match self.rtl {
            0x0 => "r0p0",
            0x2 => "r1p0",
            0x4 => "r2p0",
            0x5 => "r3p0",
            0x6 => "r3p1",
            0x8 => "r3p2",
            0x9 => "r3p3",
            _ => return None,
        })
    }

    /// An ARM L2C-310 (a PL310 whatever its revision).
    pub fn is_l2c310(&self) -> bool {
        self.implementer == 0x41 && self.part == PART_L2C310
    }
}

/// The cache's shape from the Auxiliary Control Register (TRM 3.3.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// 8 or 16.
    pub ways: u32,
    /// Bytes per way: 16 KiB .. 512 KiB.
    pub way_size: u32,
}

impl Geometry {
    pub fn from_aux(aux: u32) -> Self {
        let r = LocalRegisterCopy::<u32, AUX_CONTROL::Register>::new(aux);
        let ways = if r.is_set(AUX_CONTROL::ASSOCIATIVITY) {
            16
        } else {
            8
        };
        // 0b000 is "reserved" and behaves as 16 KiB, 0b111 as 512 KiB
        // (TRM 3.3.4): clamp to 0b001..0b110, then 16 KiB << (n - 1).
        let code = r.read(AUX_CONTROL::WAY_SIZE).clamp(1, 6);
        Geometry {
            ways,
            way_size: (16 * 1024) << (code - 1),
        }
    }

    /// The way mask for the by-way operations: one bit per way (TRM
    /// 3.3.10, Invalidate/Clean by Way: "bits [7:0] (8-way) or [15:0]
    /// (16-way), one per way").
    pub fn way_mask(&self) -> u32 {
        (1u32 << self.ways) - 1
    }

    pub fn size(&self) -> u64 {
        self.ways as u64 * self.way_size as u64
    }
}

/// A Tag/Data RAM Latency Control value from a device-tree
/// `arm,tag-latency` / `arm,data-latency` triple `<read write setup>` in
/// cycles (Documentation/devicetree/bindings/arm/l2c2x0.yaml; each field
/// holds cycles - 1, 1..=8 cycles: TRM 3.3.5). `None` if a value is out of
/// range (Linux ignores a triple with a 0 in it).
pub fn latency(cycles: [u32; 3]) -> Option<u32> {
    if cycles.iter().any(|&c| !(1..=8).contains(&c)) {
        return None;
    }
    let mut r = LocalRegisterCopy::<u32, LATENCY::Register>::new(0);
    r.modify(
        LATENCY::READ.val(cycles[0] - 1)
            + LATENCY::WRITE.val(cycles[1] - 1)
            + LATENCY::SETUP.val(cycles[2] - 1),
    );
    Some(r.get())
}

/// The 32-byte line addresses covering `[pa, pa + len)`: from `pa` rounded
/// down to a line to the last line holding a byte of the range. Empty for
/// `len == 0`; stops at the top of the 32-bit physical space.
pub fn lines(pa: u64, len: u64) -> impl Iterator<Item = u32> {
    let start = pa & !(LINE - 1);
    let end = pa.saturating_add(len).min(1 << 32);
    let n = if len == 0 || end <= start {
        0
    } else {
        (end - start).div_ceil(LINE)
    };
    (0..n).map(move |i| (start + i * LINE) as u32)
}

/// Inner (L1) data-cache maintenance by VA to the point of coherency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inner {
    /// DCCMVAC.
    Clean,
    /// DCIMVAC.
    Invalidate,
    /// DCCIMVAC.
    CleanInvalidate,
}

/// Outer (L2C-310) maintenance of one line by PA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outer {
    /// Clean Line by PA, 0x7B0.
    Clean,
    /// Invalidate Line by PA, 0x770.
    Invalidate,
    /// Clean and Invalidate Line by PA, 0x7F0.
    CleanInvalidate,
}

/// What the maintenance sequences drive: the CPU's inner cache and
/// barriers, and the controller. The hardware implementation is in
/// `arch::armv7a::cache`; the host tests record the calls.
pub trait Maintenance {
    /// `op` on every inner line of `[va, va + len)`, without a barrier.
    fn inner(&mut self, op: Inner, va: usize, len: usize);
    /// DSB.
    fn dsb(&mut self);
    /// `op` on the outer line at `pa` (32-byte aligned).
    fn outer(&mut self, op: Outer, pa: u32);
    /// Cache Sync: write 0x730, wait until its C bit reads 0.
    fn sync(&mut self);
}

fn outer_lines(m: &mut impl Maintenance, op: Outer, pa: u64, len: usize) {
    for line in lines(pa, len as u64) {
        m.outer(op, line);
    }
}

/// Clean `[va, va + len)` (physically `[pa, pa + len)`, contiguous) to
/// memory: inner first, then outer. L1 clean by VA, DSB: the dirty lines
/// have reached the L2C-310 (the DSB completes the maintenance, ARM ARM
/// B2.2.9) before the L2 cleans their PA, else the L2 clean could find
/// the line clean and the data land in L2 only afterwards (ARM ARM
/// B2.2.7 "system caches": maintain from the inner level outward for a
/// clean). Then Clean Line by PA per line and Cache Sync: the L2C-310
/// guarantees the operations, its store and eviction buffers have drained
/// to memory only once a Cache Sync completes (TRM 3.3.10).
pub fn clean(m: &mut impl Maintenance, va: usize, pa: u64, len: usize) {
    m.inner(Inner::Clean, va, len);
    m.dsb();
    outer_lines(m, Outer::Clean, pa, len);
    m.sync();
}

/// Invalidate `[va, va + len)` (for data a non-coherent observer wrote to
/// memory): outer first, then inner. If L1 went first, a speculative
/// line fill could bring the stale L2 copy back into L1 before the L2 is
/// invalidated (ARM ARM B2.2.7: invalidate from the outer level inward).
/// Invalidate Line by PA per line, Cache Sync (complete, TRM 3.3.10),
/// DSB (the sync's read completes before the L1 operations start), L1
/// invalidate by VA, DSB (complete, B2.2.9).
pub fn invalidate(m: &mut impl Maintenance, va: usize, pa: u64, len: usize) {
    outer_lines(m, Outer::Invalidate, pa, len);
    m.sync();
    m.dsb();
    m.inner(Inner::Invalidate, va, len);
    m.dsb();
}

/// Clean and invalidate `[va, va + len)` in both levels (before memory
/// changes to a non-cacheable type, or a buffer passes to a non-coherent
/// observer), as Linux's DMA mapping and `__dma_clear_buffer` do on an
/// outer cache: L1 clean by VA + DSB (dirty data into L2 first, as in
/// [`clean`]); L2 Clean and Invalidate Line by PA + Cache Sync (memory up
/// to date, no L2 copy left); DSB; then L1 clean+invalidate by VA + DSB,
/// which drops every L1 copy, including one refilled from the L2 by a
/// speculative access before the L2 lines were invalidated. Clean and
/// invalidate rather than invalidate alone: the ranges need not be whole
/// lines (a partial line shared with other data must not be discarded),
/// and on a line nobody wrote since the first step it is an invalidate.
pub fn clean_invalidate(m: &mut impl Maintenance, va: usize, pa: u64, len: usize) {
    m.inner(Inner::Clean, va, len);
    m.dsb();
    outer_lines(m, Outer::CleanInvalidate, pa, len);
    m.sync();
    m.dsb();
    m.inner(Inner::CleanInvalidate, va, len);
    m.dsb();
}

/// The `arm,pl310-cache` node, as the device tree gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Node {
    pub pa: u64,
    /// Tag RAM latency register value (`arm,tag-latency`), if valid.
    pub tag_latency: Option<u32>,
    /// Data RAM latency register value (`arm,data-latency`), if valid.
    pub data_latency: Option<u32>,
    /// `arm,shared-override`: Aux Control bit 22.
    pub shared_override: bool,
}

/// Find the L2C-310 in `dtb` (the first enabled `arm,pl310-cache` node).
/// `Ok(None)`: no such node. `Err`: a node the kernel cannot use, with
/// why. Problems that do not stop the driver (a missing `cache-unified`
/// or `cache-level`, a malformed latency: Linux logs those and goes on)
/// are passed to `warn`. Never panics on a malformed tree.
pub fn probe(dtb: &[u8], mut warn: impl FnMut(&str)) -> Result<Option<Node>, &'static str> {
    let fdt = crate::dtb::Fdt::new(dtb).ok_or("device tree blocks out of range")?;
    let Some(n) = fdt.find(|n| n.is_compatible("arm,pl310-cache") && n.is_enabled()) else {
        return Ok(None);
    };
    let pa = match fdt.translate_reg(&n, 0) {
        Ok((a, Some(s))) if s >= SPAN => a,
        Ok((_, Some(_))) => return Err("reg smaller than the 4 KiB register block"),
        Ok((_, None)) => return Err("reg without a size"),
        Err(_) => return Err("reg not translatable to a CPU address"),
    };
    if pa & (SPAN - 1) != 0 || pa.checked_add(SPAN).is_none_or(|e| e > 1 << 32) {
        return Err("reg not a 4 KiB-aligned 32-bit address");
    }
    if n.prop("cache-unified").is_none() {
        warn("no cache-unified property (every L2C-310 is unified)");
    }
    match n.cell("cache-level", 0) {
        None => warn("no cache-level property"),
        Some(2) => {}
        Some(_) => warn("cache-level is not 2"),
    }
    let mut lat = |name: &str| {
        let p = n.prop(name)?;
        let c = |i| n.cell(name, i);
        match (p.len(), c(0), c(1), c(2)) {
            (12, Some(r), Some(w), Some(s)) => {
                let v = latency([r, w, s]);
                if v.is_none() {
                    warn("a RAM latency outside 1..8 cycles: ignored");
                }
                v
            }
            _ => {
                warn("a RAM latency property is not <read write setup>: ignored");
                None
            }
        }
    };
    let tag_latency = lat("arm,tag-latency");
    let data_latency = lat("arm,data-latency");
    Ok(Some(Node {
        pa,
        tag_latency,
        data_latency,
        shared_override: n.prop("arm,shared-override").is_some(),
    }))
}

/// The boot line's description of a controller: "cache id 0x410000c8
/// (L2C-310 r3p2), 8-way, 16 KiB way, 128 KiB".
pub struct Describe {
    pub id: u32,
    pub aux: u32,
}

impl core::fmt::Display for Describe {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let id = CacheId::decode(self.id);
        let g = Geometry::from_aux(self.aux);
        write!(f, "cache id {:#010x} (", self.id)?;
        match (id.is_l2c310(), id.revision()) {
            (true, Some(r)) => write!(f, "L2C-310 {r}")?,
            (true, None) => write!(f, "L2C-310, RTL release {:#x}", id.rtl)?,
            (false, _) => write!(
                f,
                "implementer {:#04x} part {:#x}: not an L2C-310",
                id.implementer, id.part
            )?,
        }
        write!(
            f,
            "), aux {:#010x}: {}-way, {} KiB way, {} KiB",
            self.aux,
            g.ways,
            g.way_size / 1024,
            g.size() / 1024
        )
    }
}

/// The controller's kernel VA once it is enabled (0: no outer cache to
/// maintain).
static ACTIVE: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

/// The enabled controller's registers, if the kernel maintains one.
pub fn active() -> Option<&'static Registers> {
    let va = ACTIVE.load(core::sync::atomic::Ordering::Acquire);
    // SAFETY: only `init` stores a nonzero value: the VA of the
    // controller's 4 KiB register block, mapped Device for good.
    (va != 0).then(|| unsafe { &*(va as *const Registers) })
}

/// Bound on polls of a by-way operation or a Cache Sync (each poll is an
/// uncached device read; the TRM gives no time bound).
pub const SPIN_LIMIT: u32 = 10_000_000;

/// Find, bring up and log the L2C-310 (ARMv7-A kernel, after the MMU is
/// on and `ioremap` works). A tree without one changes nothing.
#[cfg(all(target_os = "none", target_arch = "arm"))]
pub fn init(dtb: &[u8]) {
    use crate::kprintln;
    let node = match probe(dtb, |w| kprintln!("l2: arm,pl310-cache: {w}")) {
        Ok(Some(n)) => n,
        Ok(None) => return,
        Err(e) => {
            kprintln!("l2: arm,pl310-cache node not usable ({e}): L2 left alone");
            return;
        }
    };
    let Some(va) = crate::arch::current::api::ioremap(node.pa, SPAN) else {
        kprintln!(
            "l2: PL310 at {:#010x} cannot be mapped: L2 left alone",
            node.pa
        );
        return;
    };
    // The first read through the kernel's trap probe: where nothing
    // answers at that address (QEMU's `sabrelite` models no PL310 at
    // 0x00a02000) the read is a synchronous external abort, skipped.
    let mut id: u32 = 0;
    let fault = crate::arch::armv7a::trap::probe(|| {
        // SAFETY: one LDR from the mapped Cache ID register; if it aborts,
        // the probe skips it and `id` keeps its 0.
        unsafe {
            core::arch::asm!("ldr {v}, [{a}]", a = in(reg) va as usize, v = inout(reg) id, options(nostack, readonly));
        }
    });
    if let Some(f) = fault {
        kprintln!(
            "l2: PL310 at {:#010x}: reading its Cache ID faults ({f}): no controller there, L2 left alone",
            node.pa
        );
        return;
    }
    if !CacheId::decode(id).is_l2c310() {
        kprintln!(
            "l2: PL310 at {:#010x}: cache id {id:#010x} is not an L2C-310 (implementer 0x41, part 0b0011): L2 left alone",
            node.pa
        );
        return;
    }
    // SAFETY: ioremap gave a Device mapping of the 4 KiB register block,
    // never unmapped; only this module drives it.
    let mut mmio = unsafe { Mmio::new(va as usize) };
    let d = |aux| Describe { id, aux };
    match bring_up(&mut mmio, &node, SPIN_LIMIT) {
        Outcome::Kept { aux } => {
            ACTIVE.store(va as usize, core::sync::atomic::Ordering::Release);
            kprintln!(
                "l2: PL310 at {:#010x} ({}) enabled by the bootloader: kept as configured",
                node.pa,
                d(aux)
            );
        }
        Outcome::Enabled {
            aux,
            way_mask,
            tag,
            data,
        } => {
            ACTIVE.store(va as usize, core::sync::atomic::Ordering::Release);
            kprintln!(
                "l2: PL310 at {:#010x} ({}) enabled: ways invalidated (mask {way_mask:#x}), tag latency {tag:#x}, data latency {data:#x}{}",
                node.pa,
                d(aux),
                if node.shared_override { ", shared override" } else { "" }
            );
        }
        Outcome::WaysNotInvalidated => kprintln!(
            "l2: PL310 at {:#010x}: Invalidate by Way did not complete: L2 left disabled",
            node.pa
        ),
        Outcome::EnableDidNotStick { aux } => kprintln!(
            "l2: PL310 at {:#010x} ({}): the enable did not stick (Non-secure world?): L2 left disabled",
            node.pa,
            d(aux)
        ),
    }
}

/// Register offsets (TRM 3.2), from the register block itself.
pub mod off {
    use super::Registers;
    use core::mem::offset_of;
    pub const CONTROL: usize = offset_of!(Registers, control);
    pub const AUX_CONTROL: usize = offset_of!(Registers, aux_control);
    pub const TAG_LATENCY: usize = offset_of!(Registers, tag_ram_latency);
    pub const DATA_LATENCY: usize = offset_of!(Registers, data_ram_latency);
    pub const CACHE_SYNC: usize = offset_of!(Registers, cache_sync);
    pub const INVALIDATE_WAY: usize = offset_of!(Registers, invalidate_way);
    pub const LOCKDOWN: usize = offset_of!(Registers, lockdown);
    /// Data and Instruction Lockdown registers of masters 0..7.
    pub const LOCKDOWN_COUNT: usize = 16;
}

/// 32-bit register access by offset, for [`bring_up`] (the hardware:
/// [`Mmio`]; the host tests: a recording model).
pub trait Regs {
    fn read(&mut self, off: usize) -> u32;
    fn write(&mut self, off: usize, v: u32);
}

/// The mapped register block.
pub struct Mmio(usize);

impl Mmio {
    /// # Safety
    /// `va` maps the L2C-310's 4 KiB register block as Device memory for
    /// as long as the value is used, and nothing else drives it.
    pub unsafe fn new(va: usize) -> Self {
        Mmio(va)
    }
}

impl Regs for Mmio {
    fn read(&mut self, off: usize) -> u32 {
        debug_assert!(off < SPAN as usize && off % 4 == 0);
        // SAFETY: `new`'s contract: a mapped register of the block.
        unsafe { ((self.0 + off) as *const u32).read_volatile() }
    }
    fn write(&mut self, off: usize, v: u32) {
        debug_assert!(off < SPAN as usize && off % 4 == 0);
        // SAFETY: as in `read`.
        unsafe { ((self.0 + off) as *mut u32).write_volatile(v) }
    }
}

/// What [`bring_up`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Already enabled (by the bootloader): nothing written.
    Kept { aux: u32 },
    /// Configured, invalidated and enabled by the kernel.
    Enabled {
        aux: u32,
        way_mask: u32,
        tag: u32,
        data: u32,
    },
    /// Invalidate by Way still busy after the poll limit: not enabled.
    WaysNotInvalidated,
    /// Control.Enable reads back 0 after the write (Control takes Secure
    /// writes only, TRM 3.3.3: a Non-secure one gets DECERR and changes
    /// nothing): not enabled.
    EnableDidNotStick { aux: u32 },
}

/// Bring up an L2C-310 whose Cache ID was checked. Enabled already: keep
/// it (its configuration is the firmware's, its lines may be dirty).
/// Disabled: configuration first, allowed only while disabled (TRM 3.3.4:
/// Aux Control with `arm,shared-override` bit 22; 3.3.5: the tree's
/// RAM latencies), no way locked (lockdown registers 0, TRM 3.3.11, as
/// Linux's `l2c_unlock`), Invalidate by Way with every way's bit, polled
/// until it reads 0 (TRM 3.3.10: the by-way operations run in the
/// background; the register reads the ways still being processed), a
/// Cache Sync (polled: the invalidation and the buffers have drained),
/// and only then Control.Enable (TRM 3.1.1: the cache must be invalidated
/// before it is enabled; its RAM contents are random at reset). The
/// registers are Device memory: the writes reach the controller in
/// program order, so no barrier is needed between them.
pub fn bring_up(r: &mut impl Regs, node: &Node, limit: u32) -> Outcome {
    if r.read(off::CONTROL) & 1 != 0 {
        return Outcome::Kept {
            aux: r.read(off::AUX_CONTROL),
        };
    }
    if node.shared_override {
        let aux = r.read(off::AUX_CONTROL);
        r.write(off::AUX_CONTROL, aux | 1 << 22);
    }
    if let Some(v) = node.tag_latency {
        r.write(off::TAG_LATENCY, v);
    }
    if let Some(v) = node.data_latency {
        r.write(off::DATA_LATENCY, v);
    }
    let aux = r.read(off::AUX_CONTROL);
    let mask = Geometry::from_aux(aux).way_mask();
    for i in 0..off::LOCKDOWN_COUNT {
        r.write(off::LOCKDOWN + 4 * i, 0);
    }
    r.write(off::INVALIDATE_WAY, mask);
    let mut n = 0;
    while r.read(off::INVALIDATE_WAY) & mask != 0 {
        n += 1;
        if n >= limit {
            return Outcome::WaysNotInvalidated;
        }
    }
    r.write(off::CACHE_SYNC, 0);
    let mut n = 0;
    while r.read(off::CACHE_SYNC) & 1 != 0 && n < limit {
        n += 1;
    }
    r.write(off::CONTROL, 1);
    if r.read(off::CONTROL) & 1 == 0 {
        return Outcome::EnableDidNotStick { aux };
    }
    Outcome::Enabled {
        aux,
        way_mask: mask,
        tag: r.read(off::TAG_LATENCY),
        data: r.read(off::DATA_LATENCY),
    }
}

/// Cache Sync: write 0, poll C until it reads 0 (TRM 3.3.10: the sync
/// completes once every previous operation, the store buffer and the
/// eviction buffer have drained). Bounded; a controller that never
/// finishes is not waited for forever.
pub fn sync(regs: &Registers) {
    use tock_registers::interfaces::{Readable, Writeable};
    regs.cache_sync.set(0);
    let mut n = 0;
    while regs.cache_sync.is_set(CACHE_SYNC::C) && n < SPIN_LIMIT {
        n += 1;
    }
}

#[cfg(test)]
mod tests;
