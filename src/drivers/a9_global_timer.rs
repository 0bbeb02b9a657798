//! The Cortex-A9 MPCore global timer as the kernel's counter and tick
//! where the CPU has no Generic Timer (Cortex-A9: ID_PFR1.GenTimer = 0,
//! so CNTVCT/CNTV_* are UNDEFINED). The registers are driven by
//! [`crate::arch::armv7a::timer`]; this finds them.
//!
//! Where: the `arm,cortex-a9-global-timer` node's `reg`; else (the
//! Versatile Express A9 tree has no such node) from the A9 private memory
//! region's fixed layout (Cortex-A9 MPCore TRM r4p1, Table 1-3: global
//! timer at PERIPHBASE + 0x200, private timer/watchdog at + 0x600), i.e.
//! the `arm,cortex-a9-twd-timer` node's `reg` - 0x400. Its interrupt is
//! PPI 27 (ID27, same TRM, "Interrupt distributor"), the GIC driver's
//! default timer interrupt when no `arm,armv7-timer` node names one.
//!
//! Rate: PERIPHCLK. A `clock-frequency` on the node is used; the Debian
//! trees give none (vexpress: no `clocks`; i.MX6Q: a clock-controller
//! phandle this kernel does not model), so QEMU's rate is assumed and
//! said: QEMU's `a9gtimer` counts every 10 ns at prescaler 0 (100 MHz).
//! On silicon PERIPHCLK is typically the CPU clock / 2 and that assumption
//! is wrong (the log line says so).

use crate::dtb::Fdt;

/// QEMU's global timer rate (hw/timer/a9gtimer.c: 10 ns per tick x
/// (prescaler + 1)).
pub const QEMU_HZ: u32 = 100_000_000;

/// Offset of the private timers from the global timer (TRM Table 1-3).
const TWD_MINUS_GT: u64 = 0x400;

/// Where the global timer is and how fast it counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Desc {
    pub pa: u64,
    /// From the node's `clock-frequency`; `None`: not in the tree.
    pub hz: Option<u32>,
    /// Which node gave the address.
    pub from: &'static str,
}

/// Find the global timer in `dtb`. Never panics on a malformed tree.
pub fn probe(dtb: &[u8]) -> Result<Desc, &'static str> {
    let fdt = Fdt::new(dtb).ok_or("device tree blocks out of range")?;
    let addr = |n: &crate::dtb::Node| match fdt.translate_reg(n, 0) {
        Ok((a, Some(s))) if s >= 0x20 => Some(a),
        _ => None,
    };
    if let Some(n) = fdt.find(|n| n.is_compatible("arm,cortex-a9-global-timer")) {
        let pa = addr(&n).ok_or("arm,cortex-a9-global-timer: reg not translatable")?;
        return Ok(Desc {
            pa,
            hz: n.cell("clock-frequency", 0),
            from: "arm,cortex-a9-global-timer",
        });
    }
    if let Some(n) = fdt.find(|n| n.is_compatible("arm,cortex-a9-twd-timer")) {
        let twd = addr(&n).ok_or("arm,cortex-a9-twd-timer: reg not translatable")?;
        let pa = twd
            .checked_sub(TWD_MINUS_GT)
            .ok_or("arm,cortex-a9-twd-timer: reg below 0x400")?;
        return Ok(Desc {
            pa,
            hz: n.cell("clock-frequency", 0),
            from: "arm,cortex-a9-twd-timer reg - 0x400",
        });
    }
    Err("no arm,cortex-a9-global-timer or arm,cortex-a9-twd-timer node")
}

/// On a CPU without the Generic Timer, find and start the global timer
/// and make it the kernel's counter. Logs what it did.
#[cfg(all(target_os = "none", target_arch = "arm"))]
pub fn init(dtb: &[u8]) {
    use crate::arch::armv7a::timer;
    if timer::has_generic_timer() {
        return;
    }
    let d = match probe(dtb) {
        Ok(d) => d,
        Err(e) => {
            crate::kprintln!(
                "timer: no generic timer and no A9 global timer ({e}): no counter, no tick"
            );
            return;
        }
    };
    let Some(va) = crate::arch::current::api::ioremap(d.pa, 0x20) else {
        crate::kprintln!("timer: A9 global timer at {:#010x} cannot be mapped", d.pa);
        return;
    };
    let hz = d.hz.unwrap_or(QEMU_HZ);
    // SAFETY: ioremap gave a Device mapping of the 0x20 bytes of registers,
    // never unmapped; only arch::armv7a::timer drives them.
    unsafe { timer::use_a9_global_timer(va as usize, hz) };
    crate::kprintln!(
        "timer: no generic timer (ID_PFR1.GenTimer = 0): Cortex-A9 global timer at {:#010x} (from {}), PPI 27, {} Hz{}",
        d.pa,
        d.from,
        hz,
        if d.hz.is_some() {
            " (clock-frequency)"
        } else {
            " assumed (QEMU's a9gtimer rate; not in the device tree, wrong on silicon)"
        }
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dtb(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/tests/data/dtb/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    /// Expected addresses: the DTBs' TWD nodes (vexpress 0x1e000600,
    /// i.MX6Q 0xa00600, BOARD-FACTS) minus 0x400 (Cortex-A9 MPCore TRM
    /// Table 1-3: global timer at PERIPHBASE + 0x200, TWD at + 0x600).
    #[test]
    fn global_timer_from_the_debian_trees() {
        let v = probe(&dtb("vexpress-v2p-ca9.dtb")).unwrap();
        assert_eq!(v.pa, 0x1e00_0200);
        assert_eq!(v.hz, None);
        let s = probe(&dtb("imx6q-sabrelite.dtb")).unwrap();
        assert_eq!(s.pa, 0x00a0_0200);
        assert!(probe(&dtb("vexpress-v2p-ca15-tc1.dtb")).is_err());
        assert!(probe(&[0u8; 16]).is_err());
    }
}
