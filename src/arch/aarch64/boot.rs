//! Entry from the bootloader (Linux arm64 boot protocol) to Rust.
//!
//! The image starts with the arm64 `Image` header, so QEMU (`-kernel
//! Image`) and U-Boot (`booti`) load it as a Linux kernel: MMU off, x0 = DTB
//! physical address, EL2 or EL1. The boot code drops EL2 to EL1, finds its
//! own physical address, zeroes BSS, builds boot tables (TTBR0: 1 GiB
//! identity blocks for its code and the DTB; TTBR1: the 16 MiB
//! kernel window at its link address in 4 KiB pages, so any page-aligned
//! load address works), turns the MMU on and jumps to the linked address.

/// Boot descriptor templates (VMSAv8-64, 4 KiB granule). The asm cannot call
/// the encoder; `tests::boot_descriptors_match_the_encoder` checks each
/// against `desc`.
pub mod templates {
    /// L1 1 GiB block, Normal WBWA (AttrIndx 5), inner shareable, AF,
    /// EL1 RW, EL1-executable (UXN set).
    pub const BLOCK_CODE: u64 = 0x0040_0000_0000_0715;
    /// The same, never executable (PXN + UXN).
    pub const BLOCK_DATA: u64 = 0x0060_0000_0000_0715;
    /// L1 1 GiB block, Device-nGnRnE (AttrIndx 0), AF, EL1 RW, PXN + UXN.
    pub const BLOCK_DEVICE: u64 = 0x0060_0000_0000_0401;
    /// L3 page, Normal WBWA, inner shareable, AF, EL1 RW, EL1-executable.
    pub const PAGE_CODE: u64 = 0x0040_0000_0000_0717;
    /// TCR_EL1 without IPS: T0SZ = T1SZ = 25 (39-bit VAs), 4 KiB granules,
    /// walks Inner/Outer WBWA, inner shareable.
    pub const TCR_BOOT: u64 = 0xB519_3519;
    /// SCTLR_EL1: M, C, SA, SA0, I, DZE, UCT, nTWI, nTWE, UCI + RES1 bits.
    pub const SCTLR: u64 = 0x34D5_D81D;
}

pub const BOOT_WINDOW_L3_TABLES: usize = 8;

#[repr(C, align(4096))]
pub struct Table(pub [u64; 512]);

pub static mut BOOT_TTBR0_L1: Table = Table([0; 512]);
pub static mut BOOT_TTBR1_L1: Table = Table([0; 512]);
pub static mut BOOT_TTBR1_L2: Table = Table([0; 512]);
#[repr(C, align(4096))]
pub struct L3Tables(pub [[u64; 512]; BOOT_WINDOW_L3_TABLES]);
pub static mut BOOT_L3: L3Tables = L3Tables([[0; 512]; BOOT_WINDOW_L3_TABLES]);

#[repr(C, align(16))]
pub struct Stack(pub [u8; 64 * 1024]);
pub static mut BOOT_STACK: Stack = Stack([0; 64 * 1024]);

#[cfg(target_arch = "aarch64")]
core::arch::global_asm!(
    r#"
    .section .text.head, "ax"
    .global _start
_start:
    b 1f                        // code0
    .word 0                     // code1
    .quad 0x80000               // text_offset
    .quad __image_size          // image size including BSS
    .quad 0xA                   // flags: LE, 4 KiB pages, anywhere in RAM
    .quad 0, 0, 0
    .ascii "ARM\x64"            // magic at 0x38
    .word 0
1:
    // Only the boot CPU goes on. A loader may start every core at this
    // entry (QEMU's generic loader with cpu-num, an ELF kernel on QEMU's
    // raspi3b): a secondary must not run the boot code (it would zero BSS
    // and rebuild the tables under the boot CPU's feet). Before any
    // memory write and without a stack: MPIDR_EL1 (ARM ARM D17.2.101)
    // Aff2 [23:16], Aff1 [15:8], Aff0 [7:0] all 0 is the boot CPU (the
    // Raspberry Pi 3's cores are 0..3 in Aff0; QEMU virt's 0..n); any
    // other core parks. x0 (the DTB) is kept: x9 is scratch.
    mrs x9, mpidr_el1
    tst x9, #0xffffff
    b.ne armmu_park_secondary
    // (A global label: the SMP test checks secondaries never get here.)
    .global armmu_boot_cpu
armmu_boot_cpu:
    mov x19, x0                 // x19 = DTB physical address
    mrs x0, CurrentEL
    lsr x0, x0, #2
    cmp x0, #2
    b.ne 2f
    // EL2: EL1 is AArch64, gets the counters, then eret to EL1h, masked.
    mov x0, #(1 << 31)
    msr hcr_el2, x0
    mov x0, #3
    msr cnthctl_el2, x0
    msr cntvoff_el2, xzr
    mov x0, #0x3c5
    msr spsr_el2, x0
    adr x0, 2f
    msr elr_el2, x0
    eret
2:
    msr daifset, #0xf
    adr x20, _start             // x20 = physical address of the image
    ldr x21, =__image_start     // linked virtual address
    sub x22, x21, x20           // x22 = VA - PA
    tst x20, #0xfff
    b.ne 9f

    // CPACR_EL1.FPEN = 0b11: FP/SIMD does not trap at EL0 (user programs
    // use it) nor at EL1 (the kernel's only FP/SIMD instructions save and
    // restore the user state at a context switch; the compiled kernel has
    // none). ISB: a direct write to a System register such as CPACR_EL1
    // (ARM ARM D17.2.30) is guaranteed to affect later instructions only
    // after a context synchronization event ("Synchronization
    // requirements for AArch64 System registers").
    mov x0, #(3 << 20)
    msr cpacr_el1, x0
    isb

    ldr x0, =__bss_start
    ldr x1, =__bss_end
    sub x0, x0, x22
    sub x1, x1, x22
3:  cmp x0, x1
    b.hs 4f
    str xzr, [x0], #8
    b 3b
4:
    ldr x23, ={l1_0}
    sub x23, x23, x22           // x23 = PA of the TTBR0 L1
    ldr x24, ={l1_1}
    sub x24, x24, x22           // x24 = PA of the TTBR1 L1
    ldr x25, ={l2_1}
    sub x25, x25, x22
    ldr x26, ={l3}
    sub x26, x26, x22

    // Identity 1 GiB blocks: DTB (Normal, XN), code (Normal, executable),
    // in that order so code wins on overlap. No UART: the console is
    // known only from the DTB (Rust maps it later).
    // The DTB: the block of its start and the block of the last byte the
    // largest accepted blob (DTB_MAX) can reach.
    cbz x19, 5f
    lsr x0, x19, #30
    ldr x1, ={blk_data}
    orr x2, x1, x0, lsl #30
    str x2, [x23, x0, lsl #3]
    ldr x3, ={dtb_span}
    add x3, x19, x3
    lsr x0, x3, #30
    orr x2, x1, x0, lsl #30
    str x2, [x23, x0, lsl #3]
5:  lsr x0, x20, #30
    ldr x1, ={blk_code}
    orr x2, x1, x0, lsl #30
    str x2, [x23, x0, lsl #3]

    // TTBR1: L1[VA[38:30]] -> L2; L2[VA[29:21] + i] -> L3 tables.
    ubfx x0, x21, #30, #9
    orr x2, x25, #3
    str x2, [x24, x0, lsl #3]
    ubfx x0, x21, #21, #9
    add x0, x25, x0, lsl #3
    mov x1, #0
6:  add x2, x26, x1, lsl #12
    orr x2, x2, #3
    str x2, [x0, x1, lsl #3]
    add x1, x1, #1
    cmp x1, #{nl3}
    b.lo 6b
    ldr x1, ={page_code}
    orr x1, x1, x20
    mov x0, #0
7:  str x1, [x26, x0, lsl #3]
    add x1, x1, #0x1000
    add x0, x0, #1
    cmp x0, #({nl3} * 512)
    b.lo 7b

    // MMU on: invalidate stale TLB and I-cache contents first (ARM ARM
    // D8.14), DSB so the walker sees the tables, ISB before SCTLR.
    tlbi vmalle1
    ic iallu
    dsb nsh
    isb
    ldr x0, ={mair}
    msr mair_el1, x0
    ldr x0, ={tcr}
    mrs x1, id_aa64mmfr0_el1
    and x1, x1, #7
    bfi x0, x1, #32, #3         // IPS = PARange
    msr tcr_el1, x0
    msr ttbr0_el1, x23
    msr ttbr1_el1, x24
    isb
    ldr x0, ={sctlr}
    msr sctlr_el1, x0
    isb
    ldr x0, =8f
    br x0
    .ltorg
8:
    ldr x0, =({stack} + {stack_size})
    mov sp, x0
    ldr x0, =armmu_a64_vectors
    msr vbar_el1, x0
    isb
    mov x0, x19
    mov x1, x20
    bl {entry}
9:  wfe
    b 9b
    .ltorg

    // A secondary core that entered at _start: every exception masked,
    // then WFE forever. It touches no memory and no stack; SEV or an
    // interrupt only make it loop back into WFE.
    .global armmu_park_secondary
armmu_park_secondary:
    msr daifset, #0xf
10: wfe
    b 10b
"#,
    l1_0 = sym BOOT_TTBR0_L1,
    l1_1 = sym BOOT_TTBR1_L1,
    l2_1 = sym BOOT_TTBR1_L2,
    l3 = sym BOOT_L3,
    blk_data = const templates::BLOCK_DATA,
    dtb_span = const crate::bootinfo::DTB_MAX as u64 - 1,
    blk_code = const templates::BLOCK_CODE,
    page_code = const templates::PAGE_CODE,
    nl3 = const BOOT_WINDOW_L3_TABLES,
    mair = const super::desc::MAIR_VALUE_BASE,
    tcr = const templates::TCR_BOOT,
    sctlr = const templates::SCTLR,
    stack = sym BOOT_STACK,
    stack_size = const core::mem::size_of::<Stack>(),
    entry = sym super::start::aarch64_entry,
);

#[cfg(test)]
mod tests {
    use super::templates::*;
    use crate::arch::aarch64::desc;
    use crate::mm::memtype::{Access, MapAttrs, MemoryType};

    #[test]
    fn boot_descriptors_match_the_encoder() {
        let code = MapAttrs {
            mem: MemoryType::NormalWriteBackWriteAlloc,
            access: Access::KernelRw,
            execute_never: false,
            privileged_execute_never: false,
            not_global: false,
            shareable: true,
        };
        // Kernel code: EL0 never executes it. The encoder sets UXN for
        // every mapping that is not user-accessible.
        assert_eq!(desc::block(1, 0, code).unwrap(), BLOCK_CODE);
        assert_eq!(desc::page(0, code).unwrap(), PAGE_CODE);
        let data = MapAttrs {
            execute_never: true,
            privileged_execute_never: true,
            ..code
        };
        assert_eq!(desc::block(1, 0, data).unwrap(), BLOCK_DATA);
        let dev = MapAttrs {
            mem: MemoryType::StronglyOrdered,
            shareable: false,
            ..data
        };
        assert_eq!(desc::block(1, 0, dev).unwrap(), BLOCK_DEVICE);
    }

    #[test]
    fn tcr_and_sctlr_fields() {
        // TCR_EL1 (D17.2.131): T0SZ [5:0], IRGN0 [9:8], ORGN0 [11:10],
        // SH0 [13:12], TG0 [15:14] = 00 (4K), T1SZ [21:16], IRGN1 [25:24],
        // ORGN1 [27:26], SH1 [29:28], TG1 [31:30] = 10 (4K).
        let want =
            25 | 1 << 8 | 1 << 10 | 3 << 12 | 25 << 16 | 1 << 24 | 1 << 26 | 3 << 28 | 2 << 30;
        assert_eq!(TCR_BOOT, want);
        // SCTLR_EL1: M0 C2 SA3 SA0_4 I12 DZE14 UCT15 nTWI16 nTWE18 UCI26,
        // RES1 11 20 22 23 28 29 (ARMv8.0).
        let bits = [0, 2, 3, 4, 12, 14, 15, 16, 18, 26, 11, 20, 22, 23, 28, 29];
        assert_eq!(SCTLR, bits.iter().fold(0u64, |a, b| a | 1 << b));
    }
}
