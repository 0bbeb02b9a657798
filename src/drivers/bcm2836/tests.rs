//! Oracles written out by hand from Broadcom's "BCM2836 ARM-local
//! peripherals" (QA7_rev3.4), "BCM2835 ARM Peripherals" chapter 7, and
//! Linux's include/linux/irqchip/irq-bcm2836.h / irq-bcm2835.c constants
//! (not from this driver's own tables).

use super::*;
use core::mem::offset_of;

/// QA7_rev3.4 section 3 address map: control 0x00, core timer prescaler
/// 0x08, GPU interrupts routing 0x0C, PMU routing set/clear 0x10/0x14,
/// core 0..3 timers interrupt control 0x40..0x4C, mailboxes interrupt
/// control 0x50..0x5C, core 0..3 IRQ source 0x60..0x6C, FIQ source
/// 0x70..0x7C. (Linux: LOCAL_CONTROL 0x000, LOCAL_PRESCALER 0x008,
/// LOCAL_GPU_ROUTING 0x00c, LOCAL_PM_ROUTING_SET 0x010,
/// LOCAL_TIMER_INT_CONTROL0 0x040, LOCAL_MAILBOX_INT_CONTROL0 0x050,
/// LOCAL_IRQ_PENDING0 0x060, LOCAL_FIQ_PENDING0 0x070.)
#[test]
fn local_offsets_follow_the_document() {
    assert_eq!(offset_of!(LocalRegs, control), 0x00);
    assert_eq!(offset_of!(LocalRegs, prescaler), 0x08);
    assert_eq!(offset_of!(LocalRegs, gpu_routing), 0x0c);
    assert_eq!(offset_of!(LocalRegs, pmu_routing_set), 0x10);
    assert_eq!(offset_of!(LocalRegs, pmu_routing_clr), 0x14);
    assert_eq!(offset_of!(LocalRegs, timer_int_control), 0x40);
    assert_eq!(offset_of!(LocalRegs, mailbox_int_control), 0x50);
    assert_eq!(offset_of!(LocalRegs, irq_source), 0x60);
    assert_eq!(offset_of!(LocalRegs, fiq_source), 0x70);
    assert_eq!(core::mem::size_of::<LocalRegs>(), 0x100);
}

/// BCM2835 ARM Peripherals 7.5, from 0x7E00B200: IRQ basic pending 0x00,
/// IRQ pending 1 0x04, IRQ pending 2 0x08, FIQ control 0x0C, enable IRQs
/// 1 0x10, enable IRQs 2 0x14, enable basic IRQs 0x18, disable IRQs 1
/// 0x1C, disable IRQs 2 0x20, disable basic IRQs 0x24.
#[test]
fn armctrl_offsets_follow_the_document() {
    assert_eq!(offset_of!(ArmCtrlRegs, basic_pending), 0x00);
    assert_eq!(offset_of!(ArmCtrlRegs, pending1), 0x04);
    assert_eq!(offset_of!(ArmCtrlRegs, pending2), 0x08);
    assert_eq!(offset_of!(ArmCtrlRegs, fiq_control), 0x0c);
    assert_eq!(offset_of!(ArmCtrlRegs, enable1), 0x10);
    assert_eq!(offset_of!(ArmCtrlRegs, enable2), 0x14);
    assert_eq!(offset_of!(ArmCtrlRegs, enable_basic), 0x18);
    assert_eq!(offset_of!(ArmCtrlRegs, disable1), 0x1c);
    assert_eq!(offset_of!(ArmCtrlRegs, disable2), 0x20);
    assert_eq!(offset_of!(ArmCtrlRegs, disable_basic), 0x24);
}

/// QA7_rev3.4 4.10 "Core interrupt sources": bit 0 CNTPSIRQ, 1 CNTPNSIRQ,
/// 2 CNTHPIRQ, 3 CNTVIRQ, 4..7 mailbox 0..3, 8 GPU interrupt, 9 PMU
/// interrupt, 10 AXI-outstanding, 11 local timer. Lowest bit first (as
/// Linux's ffs).
#[test]
fn local_source_decode() {
    assert_eq!(decode_local(0), None);
    assert_eq!(decode_local(0b1000), Some(LocalPending::Irq(3)));
    assert_eq!(decode_local(0b0010), Some(LocalPending::Irq(1)));
    assert_eq!(decode_local(0b1010), Some(LocalPending::Irq(1)));
    assert_eq!(decode_local(0x100), Some(LocalPending::Gpu));
    assert_eq!(decode_local(0x108), Some(LocalPending::Irq(3)));
    assert_eq!(decode_local(0x200), Some(LocalPending::Irq(9)));
    assert_eq!(decode_local(0x800), Some(LocalPending::Irq(11)));
    assert_eq!(decode_local(0x10), Some(LocalPending::Irq(4)));
    // Linux's LOCAL_IRQ_* numbers.
    assert_eq!(
        (
            LOCAL_CNTPSIRQ,
            LOCAL_CNTPNSIRQ,
            LOCAL_CNTHPIRQ,
            LOCAL_CNTVIRQ
        ),
        (0, 1, 2, 3)
    );
    assert_eq!((LOCAL_MAILBOX0, LOCAL_GPU, LOCAL_PMU), (4, 8, 9));
}

/// The kernel's numbering of ARMCTRL interrupts: 32 + 32 * bank + bit,
/// so GPU IRQ k (banks 1 and 2) is 64 + k. The device tree's cells:
/// the PL011 is `<2 25>` (GPU IRQ 57, BCM2835 ARM Peripherals 7.5 table
/// "ARM peripherals interrupts": 57 uart_int), the mini UART `<1 29>`
/// (GPU IRQ 29, aux_int), the ARM timer `<0 0>`.
#[test]
fn armctrl_numbering() {
    assert_eq!(armctrl_irq(2, 25), Some(64 + 57));
    assert_eq!(armctrl_irq(1, 29), Some(64 + 29));
    assert_eq!(armctrl_irq(0, 0), Some(32));
    assert_eq!(armctrl_irq(0, 7), Some(39));
    // Linux's armctrl_xlate refuses bank >= 3, bit >= 32, bank 0 bit >= 8.
    assert_eq!(armctrl_irq(0, 8), None);
    assert_eq!(armctrl_irq(3, 0), None);
    assert_eq!(armctrl_irq(1, 32), None);
    for (b, n) in [(0, 0), (0, 7), (1, 0), (1, 31), (2, 0), (2, 31)] {
        let i = armctrl_irq(b, n).unwrap();
        assert_eq!(armctrl_bank_bit(i), Some((b as usize, n)));
    }
    assert_eq!(armctrl_bank_bit(3), None);
    assert_eq!(armctrl_bank_bit(40), None); // bank 0 bit 8
    assert_eq!(armctrl_bank_bit(128), None);
}

/// BCM2835 ARM Peripherals 7.5 "Basic pending register": bits 0..7 ARM
/// timer, mailbox, doorbell 0/1, GPU0/1 halted, illegal access 1/0; bit
/// 8 "one or more bits set in pending register 1", bit 9 "... 2"; bits
/// 10..20 GPU IRQ 7, 9, 10, 18, 19, 53, 54, 55, 56, 57, 62.
#[test]
fn armctrl_decode() {
    let none = |_b: usize| -> u32 { panic!("no bank read expected") };
    assert_eq!(decode_armctrl(0, none), None);
    // The ARM timer (basic bit 0) and the illegal access 0 (bit 7).
    assert_eq!(decode_armctrl(1, none), Some(32));
    assert_eq!(decode_armctrl(0x80, none), Some(39));
    // Shortcuts, read from the basic register alone.
    let sc = [7u32, 9, 10, 18, 19, 53, 54, 55, 56, 57, 62];
    for (i, gpu) in sc.iter().enumerate() {
        assert_eq!(
            decode_armctrl(1 << (10 + i), none),
            Some(64 + gpu),
            "bit {}",
            10 + i
        );
    }
    // UART (GPU 57): basic bit 19.
    assert_eq!(decode_armctrl(1 << 19, none), Some(121));
    // Bank 1 via bit 8: the lowest pending bit of pending 1.
    let banks = |p1: u32, p2: u32| move |b: usize| if b == 1 { p1 } else { p2 };
    assert_eq!(decode_armctrl(1 << 8, banks(1 << 29, 0)), Some(64 + 29));
    assert_eq!(decode_armctrl(1 << 8, banks(0b110, 0)), Some(65));
    // Bank 2 via bit 9: GPU IRQ 32 + n.
    assert_eq!(decode_armctrl(1 << 9, banks(0, 1 << 31)), Some(64 + 63));
    // Both: bank 1 first (Linux's order).
    assert_eq!(decode_armctrl(3 << 8, banks(1, 1)), Some(64));
    // A summary bit whose register reads 0 (it cleared meanwhile).
    assert_eq!(decode_armctrl(1 << 8, banks(0, 0)), None);
    assert_eq!(decode_armctrl(3 << 8, banks(0, 4)), Some(64 + 34));
    // The basic bank's own bits before anything else.
    assert_eq!(decode_armctrl(0x301 | (1 << 19), none), Some(32));
}

/// Only shortcuts of enabled GPU interrupts count.
#[test]
fn basic_mask_follows_the_enables() {
    assert_eq!(basic_mask(&[0, 0, 0]), 0x300);
    // GPU 57 = bank 2 bit 25: shortcut bit 19.
    assert_eq!(basic_mask(&[0, 0, 1 << 25]), 0x300 | 1 << 19);
    // GPU 7 = bank 1 bit 7: shortcut bit 10; GPU 62 = bank 2 bit 30: 20.
    assert_eq!(basic_mask(&[0, 1 << 7, 1 << 30]), 0x300 | 1 << 10 | 1 << 20);
    assert_eq!(basic_mask(&[0x81, 0, 0]), 0x381);
    // GPU 29 (the mini UART) has no shortcut.
    assert_eq!(basic_mask(&[0, 1 << 29, 0]), 0x300);
}

/// Zeroed, page-aligned memory standing for a register block (leaked:
/// the driver holds 'static references).
fn fake(len: usize) -> usize {
    let l = std::alloc::Layout::from_size_align(len, 0x1000).unwrap();
    // SAFETY: non-zero size.
    let p = unsafe { std::alloc::alloc_zeroed(l) };
    assert!(!p.is_null());
    p as usize
}
fn rd(a: usize) -> u32 {
    // SAFETY: inside a fake block.
    unsafe { (a as *const u32).read_volatile() }
}
fn wr(a: usize, v: u32) {
    // SAFETY: inside a fake block.
    unsafe { (a as *mut u32).write_volatile(v) }
}

/// Bring-up and enables on plain memory, by offset; the pending path with
/// values planted where the hardware would show them.
#[test]
fn driver_on_plain_memory() {
    let (l, a) = (fake(0x1000), fake(0x1000));
    for cpu in [0usize, 2] {
        wr(l + 0x0c, 0b1100); // GPU FIQ to core 3, IRQ to core 0
        wr(l + 0x40 + 4 * cpu, 0xff); // firmware left everything on
        wr(l + 0x08, 0x1234);
        // SAFETY: fake blocks of 4 KiB.
        let b = unsafe { Bcm2836::new(l, Some(a), cpu) };
        b.init();
        assert_eq!(rd(l), 0, "control: crystal, +1");
        assert_eq!(rd(l + 0x08), 0x8000_0000, "prescaler 1:1");
        assert_eq!(rd(l + 0x40 + 4 * cpu), 0, "timer IRQ/FIQ enables off");
        assert_eq!(rd(l + 0x0c), 0b1100 | cpu as u32, "GPU IRQ to this core");
        assert_eq!((rd(a + 0x24), rd(a + 0x1c), rd(a + 0x20)), (!0, !0, !0));
        // CNTVIRQ: bit 3 of this core's timer control (QA7 4.6: bit 3
        // "nCNTVIRQ IRQ control"), others kept.
        wr(l + 0x40 + 4 * cpu, 0b10);
        b.enable(3).unwrap();
        assert_eq!(rd(l + 0x40 + 4 * cpu), 0b1010);
        // Nothing pending, then CNTVIRQ (and a mailbox never enabled).
        assert_eq!(b.pending(), None);
        wr(l + 0x60 + 4 * cpu, 0x18);
        assert_eq!(b.pending(), Some(3));
        wr(l + 0x60 + 4 * cpu, 0x10);
        assert_eq!(b.pending(), None, "a source not enabled is ignored");
        // The PL011: GPU 57 = bank 2 bit 25, enable IRQs 2 at 0x14.
        b.enable(121).unwrap();
        assert_eq!(rd(a + 0x14), 1 << 25);
        wr(l + 0x60 + 4 * cpu, 0x100);
        wr(a, 1 << 19);
        wr(a + 0x08, 1 << 25);
        assert_eq!(b.pending(), Some(121));
        // A bank-1 interrupt pending but never enabled: not reported.
        wr(a, 1 << 8);
        wr(a + 0x04, 1 << 29);
        assert_eq!(b.pending(), None);
        b.enable(64 + 29).unwrap();
        assert_eq!(rd(a + 0x10), 1 << 29);
        assert_eq!(b.pending(), Some(93));
        // Basic bank: enable basic at 0x18.
        b.enable(32).unwrap();
        assert_eq!(rd(a + 0x18), 1);
        // Refused: mailboxes, PMU, local timer; numbers beyond the banks.
        for n in [4, 8, 9, 11, 12, 40, 128] {
            assert!(b.enable(n).is_err(), "{n}");
        }
        wr(l + 0x60 + 4 * cpu, 0);
        wr(a, 0);
    }
    // Without an ARMCTRL controller: the timer works, peripherals do not.
    let l = fake(0x1000);
    // SAFETY: a fake block of 4 KiB.
    let b = unsafe { Bcm2836::new(l, None, 0) };
    b.init();
    b.enable(3).unwrap();
    assert!(b.enable(121).is_err());
    wr(l + 0x60, 0x108);
    assert_eq!(b.pending(), Some(3));
}
