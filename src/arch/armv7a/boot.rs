//! Entry from the bootloader (Linux ARM boot protocol) to Rust.
//!
//! The image starts with a zImage header, so QEMU (`-kernel Image`), U-Boot
//! (`bootz`) and the Raspberry Pi firmware load it as a Linux kernel: MMU
//! and D-cache off, r0 = 0, r1 = machine type, r2 = DTB physical address.
//! Like Linux's head.S, the boot code finds its own physical load address
//! (PC-relative `adr`), zeroes BSS, builds a boot translation table that maps
//! the 16 MiB kernel window at its link address to wherever the image was
//! loaded (4 KiB pages, so any page-aligned load address works), identity
//! maps its own code and the DTB, turns the MMU on and jumps to the linked
//! virtual address.

#[cfg(target_arch = "arm")]
use crate::kprintln;
#[cfg(target_arch = "arm")]
use core::sync::atomic::{AtomicU32, Ordering};

/// Boot descriptor templates. The asm cannot call the encoder, so these are
/// written out; `tests::boot_descriptors_match_the_encoder` proves each equals
/// what `desc` produces for the named attributes.
pub mod templates {
    /// Section, Normal WBWA, kernel RW, executable, shareable, domain 0.
    pub const SECT_CODE: u32 = 0x0001_140E;
    /// Section, Normal WBWA, kernel RW, XN, shareable, domain 0.
    pub const SECT_DATA: u32 = 0x0001_141E;
    /// Section, shareable Device, kernel RW, XN, domain 0.
    pub const SECT_DEVICE: u32 = 0x0000_0416;
    /// Small page, Normal WBWA, kernel RW, executable, shareable.
    pub const PAGE_CODE: u32 = 0x0000_045E;
    /// TTBR walk attributes: Inner WBWA (IRGN = 01), Outer WBWA (RGN = 01),
    /// shareable. ARM ARM B4.1.154. Outer cacheable on purpose: on the
    /// Cortex-A9 boards the walker's reads then go through the L2C-310
    /// outer cache like the kernel's table writes, so an enabled L2 needs
    /// no maintenance of table memory (with RGN = 00 every table write
    /// would need a clean by PA through the L2, `drivers::pl310`).
    pub const TTBR_WALK_WBWA_S: u32 = 0x4A;
}

/// Size of the window the boot tables map for image + BSS (see linker.ld).
pub const BOOT_WINDOW_L2_TABLES: usize = 16;

/// Twice the size of an L1 table: the image may be loaded at any 4 KiB
/// boundary, so the 16 KiB-aligned table is found inside by physical
/// address at run time.
#[repr(C, align(16384))]
pub struct L1Storage(pub [u32; 8192]);

#[repr(C, align(1024))]
pub struct L2Storage(pub [[u32; 256]; BOOT_WINDOW_L2_TABLES]);

/// The boot translation table (TTBR0, TTBCR.N = 0), used until the kernel
/// tables are built.
pub static mut BOOT_L1: L1Storage = L1Storage([0; 8192]);
pub static mut BOOT_L2: L2Storage = L2Storage([[0; 256]; BOOT_WINDOW_L2_TABLES]);

/// The CPSR the bootloader entered the kernel with (the boot asm stores
/// it once the MMU is on): its mode says whether the kernel was entered in
/// Hyp mode and dropped to SVC, or entered in SVC.
#[cfg(target_arch = "arm")]
pub static ENTRY_CPSR: AtomicU32 = AtomicU32::new(0);

/// CPSR.M[4:0] (ARM ARM B1.3.1, table B1-1).
#[cfg(target_arch = "arm")]
const MODE_SVC: u32 = 0b10011;
#[cfg(target_arch = "arm")]
const MODE_HYP: u32 = 0b11010;

/// The log line about the mode the kernel was entered in, printed once the
/// console is up: the CPSR at entry and the CPSR now (SVC either way).
#[cfg(target_arch = "arm")]
pub fn log_entry_mode() {
    let entry = ENTRY_CPSR.load(Ordering::Relaxed);
    let now: u32;
    // SAFETY: reading the CPSR has no side effect.
    unsafe {
        core::arch::asm!("mrs {r}, cpsr", r = out(reg) now, options(nomem, nostack, preserves_flags));
    }
    match entry & 0x1f {
        MODE_HYP => kprintln!(
            "armmu: entered in Hyp mode (CPSR {entry:#010x}), dropped to SVC by ERET (CPSR {now:#010x})"
        ),
        MODE_SVC => kprintln!("armmu: entered in SVC mode (CPSR {entry:#010x})"),
        m => kprintln!("armmu: entered in mode {m:#07b} (CPSR {entry:#010x}), now CPSR {now:#010x}"),
    }
}

#[repr(C, align(16))]
pub struct Stack(pub [u8; 64 * 1024]);

/// The boot CPU's SVC stack (also the kernel stack of exception entries
/// taken from kernel mode before tasks exist).
pub static mut BOOT_STACK: Stack = Stack([0; 64 * 1024]);

#[cfg(target_arch = "arm")]
core::arch::global_asm!(
    r#"
    .section .text.head, "ax"
    .arm
    .arch_extension virt
    .global _start
_start:
    @ zImage header: 8 no-ops + branch, magic at offset 0x24 (Linux
    @ arch/arm/boot/compressed/head.S layout).
    .rept 8
    mov r0, r0
    .endr
    b 1f
    .word 0x016F2818            @ zImage magic
    .word 0                     @ start address: 0 = position independent
    .word __image_file_size     @ image size (end address when start = 0)
    .word 0x04030201            @ little-endian flag
1:
    @ Only the boot CPU goes on. A loader may start every core at this
    @ entry (QEMU's generic loader with cpu-num, some U-Boot and ELF
    @ loads): a secondary must not run the boot code (it would zero BSS
    @ and rebuild the tables under the boot CPU's feet). Before any memory
    @ write and without a stack: MPIDR (ARM ARM B4.1.106) bit 31 = 1 is
    @ the Multiprocessing Extensions format, then U (bit 30) = 1 means a
    @ uniprocessor system and Aff0 [7:0] is the core within its cluster.
    @ Core 0 of its cluster is the boot CPU (only Aff0: the BCM2836's
    @ four cores all have Aff1 = 0xf); any other core parks. Without the
    @ MP format (no Multiprocessing Extensions) there is one core.
    mrc p15, 0, r0, c0, c0, 5   @ MPIDR
    tst r0, #(1 << 31)          @ MP format?
    beq 13f                     @ no: a single core, boot
    tst r0, #(1 << 30)          @ U = 1: uniprocessor, boot
    bne 13f
    tst r0, #0xff               @ Aff0 != 0: a secondary core
    bne armmu_park_secondary
13:
    @ (A global label: the SMP test checks secondaries never get here.)
    .global armmu_boot_cpu
armmu_boot_cpu:
    mrs r11, cpsr               @ r11 = CPSR at entry, kept for ENTRY_CPSR
    and r0, r11, #0x1f
    cmp r0, #0x1a               @ M[4:0] = 0b11010: Hyp (ARM ARM B1.3.1)
    bne 2f
    @ Entered in Hyp mode (QEMU -M virt,virtualization=on and orangepi-pc;
    @ U-Boot on Allwinner boards). The kernel runs in Non-secure PL1, so
    @ first open PL1 up the way Linux's hyp-stub does (ARM ARM B1.7 "The
    @ Virtualization Extensions" and "Traps to the hypervisor"):
    mov r0, #0
    mcr p15, 4, r0, c1, c1, 0   @ HCR = 0: no stage 2, no IRQ/FIQ/abort
                                @ routing to Hyp, no TGE, no traps
    mcr p15, 4, r0, c1, c1, 3   @ HSTR = 0: no CP15 cN trap
    mrc p15, 4, r0, c1, c1, 2   @ HCPTR: clear TCPAC (31),
    bic r0, r0, #(1 << 31)      @ TTA (20), TASE (15), TCP11, TCP10, so
    bic r0, r0, #(1 << 20)      @ PL1/PL0 reach CPACR, VFP and Advanced
    bic r0, r0, #(1 << 15)      @ SIMD (FPEXC is written by
    bic r0, r0, #(3 << 10)      @ user::init_cpu_for_users); other bits kept
    mcr p15, 4, r0, c1, c1, 2
    mrc p15, 4, r0, c1, c1, 1   @ HDCR: keep HPMN [4:0], clear
    and r0, r0, #0x1f           @ TPM/TPMCR (PMU) and the debug traps
    mcr p15, 4, r0, c1, c1, 1
    mrc p15, 0, r0, c0, c0, 0   @ MIDR -> VPIDR and MPIDR -> VMPIDR:
    mcr p15, 4, r0, c0, c0, 0   @ Non-secure PL1 reads of MIDR/MPIDR
    mrc p15, 0, r0, c0, c0, 5   @ return these, so they must hold the
    mcr p15, 4, r0, c0, c0, 5   @ CPU's own values
    mrc p15, 0, r0, c0, c1, 1   @ ID_PFR1.GenTimer [19:16]: Generic Timer?
    tst r0, #(0xf << 16)
    beq 11f
    mrc p15, 4, r0, c14, c1, 0  @ CNTHCTL: PL1PCTEN (0) and
    orr r0, r0, #3              @ PL1PCEN (1) give PL1 CNTPCT and the
    mcr p15, 4, r0, c14, c1, 0  @ physical timer
    mov r0, #0
    mcrr p15, 4, r0, r0, c14    @ CNTVOFF = 0: CNTVCT = CNTPCT (B8)
11:
    @ Leave Hyp with an exception return. A CPSR.M write (MSR/CPS) may not
    @ change mode out of Hyp (UNPREDICTABLE in ARMv7, ARM ARM B9.1 and the
    @ CPSR.M update restrictions; illegal in ARMv8), and the banked form
    @ `msr spsr_hyp` is UNPREDICTABLE from Hyp mode itself: the pseudocode
    @ SPSRaccessValid() of MSR (Banked register) (B9.3) admits SPSR_hyp
    @ only from Monitor mode (QEMU 7.2 makes it UNDEFINED, taken to a zero
    @ HVBAR). In Hyp mode the plain `msr spsr_<fields>` writes the current
    @ mode's SPSR, SPSR_hyp; ELR_hyp is reachable from Hyp through the
    @ banked form (BankedRegisterAccessValid()). ERET in Hyp mode then
    @ restores CPSR from SPSR_hyp and branches to ELR_hyp (B9.3 ERET), which
    @ is also a context synchronization event: the Hyp register writes above
    @ take effect before the first SVC instruction, no ISB needed.
    and r0, r11, #(1 << 9)      @ keep E (endianness); T, J, IT = 0: ARM
    orr r0, r0, #0x1c0          @ A, I, F masked
    orr r0, r0, #0x13           @ M = SVC
    msr spsr_cxsf, r0           @ SPSR_hyp, by the current-mode form
    adr r0, 2f
    msr elr_hyp, r0
    eret
2:
    cpsid aif
    mov r10, r2                 @ r10 = DTB physical address
    adr r4, _start              @ r4 = physical address of the image
    ldr r5, =__image_start      @ r5 = linked virtual address
    sub r6, r5, r4              @ r6 = VA - PA
    tst r4, #0xff0
    tsteq r4, #0xf
    bne 9f                      @ image must be page-aligned

    @ Zero BSS through physical addresses (MMU off).
    ldr r0, =__bss_start
    ldr r1, =__bss_end
    sub r0, r0, r6
    sub r1, r1, r6
    mov r2, #0
3:  cmp r0, r1
    strlo r2, [r0], #4
    blo 3b

    ldr r7, ={boot_l1}
    sub r7, r7, r6              @ PA of the BOOT_L1 area (32 KiB)
    add r7, r7, #0x4000         @ round up to 16 KiB: TTBR0 needs a
    sub r7, r7, #1              @ 16 KiB-aligned *physical* table, and the
    lsr r7, r7, #14             @ load address is only page-aligned
    lsl r7, r7, #14             @ r7 = PA of the boot L1 table
    ldr r8, ={boot_l2}
    sub r8, r8, r6              @ r8 = PA of BOOT_L2

    @ Identity: the DTB (every MiB the largest accepted blob, DTB_MAX from
    @ its start, can touch; Normal, XN), then the code's own 2 MiB (Normal,
    @ executable) so the MMU-on instruction stream keeps translating.
    @ Written in this order so code wins on overlap. No UART: which one is
    @ the console is known only from the DTB (Rust maps it later).
    cmp r10, #0
    beq 4f
    ldr r1, ={sect_data}
    mov r0, r10, lsr #20        @ first MiB
    ldr r3, ={dtb_span}
    adds r3, r10, r3            @ last byte of a DTB_MAX blob
    mvncs r3, #0                @ (clamped at 4 GiB)
    mov r3, r3, lsr #20         @ last MiB
10: orr r2, r1, r0, lsl #20
    str r2, [r7, r0, lsl #2]
    add r0, r0, #1
    cmp r0, r3
    bls 10b
4:  ldr r1, ={sect_code}
    mov r0, r4, lsr #20
    orr r2, r1, r0, lsl #20
    str r2, [r7, r0, lsl #2]
    add r0, r0, #1
    add r2, r2, #0x100000
    str r2, [r7, r0, lsl #2]

    @ Kernel window: L1 entries for [__image_start, +8 MiB) point at the
    @ BOOT_L2 tables; their small pages map the image where it was loaded.
    mov r0, r5, lsr #20
    add r0, r7, r0, lsl #2
    mov r1, #0
5:  add r2, r8, r1, lsl #10
    orr r2, r2, #1              @ page-table descriptor, domain 0
    str r2, [r0, r1, lsl #2]
    add r1, r1, #1
    cmp r1, #{nl2}
    blo 5b
    ldr r1, ={page_code}
    orr r1, r1, r4
    mov r0, #0
6:  str r1, [r8, r0, lsl #2]
    add r1, r1, #0x1000
    add r0, r0, #1
    cmp r0, #({nl2} * 256)
    blo 6b

    @ MMU on. TLBs, I-cache and branch predictor may hold garbage at
    @ reset: invalidate them first (ARM ARM B3.10.1, B2.2.7). DSB makes the
    @ table writes visible to the walker, ISB before the SCTLR write.
    mov r0, #0
    mcr p15, 0, r0, c8, c7, 0   @ TLBIALL
    mcr p15, 0, r0, c7, c5, 0   @ ICIALLU
    mcr p15, 0, r0, c7, c5, 6   @ BPIALL
    dsb
    isb
    ldr r0, =0x55555555
    mcr p15, 0, r0, c3, c0, 0   @ DACR: all 16 domains client
    mov r0, #0
    mcr p15, 0, r0, c2, c0, 2   @ TTBCR = 0: short descriptors, N = 0
    mcr p15, 0, r0, c13, c0, 1  @ CONTEXTIDR = 0 (ASID 0)
    orr r0, r7, #{ttbr_walk}
    mcr p15, 0, r0, c2, c0, 0   @ TTBR0 = boot table
    isb
    mrc p15, 0, r0, c1, c0, 0   @ SCTLR
    bic r0, r0, #(1 << 28)      @ TRE off: TEX/C/B are used directly
    bic r0, r0, #(1 << 29)      @ AFE off: AP[0] is a permission bit
    bic r0, r0, #(1 << 13)      @ V = 0: vectors at VBAR
    bic r0, r0, #(1 << 1)       @ A = 0
    bic r0, r0, #(1 << 30)      @ TE = 0: exceptions taken in ARM state
                                @ (the vectors are ARM code; B4.1.130)
    bic r0, r0, #(1 << 25)      @ EE = 0: little-endian exception entry
    bic r0, r0, #(3 << 19)      @ WXN, UWXN = 0 (Virtualization Extensions):
                                @ the boot window's RW code stays executable
    orr r0, r0, #(1 << 0)       @ M
    orr r0, r0, #(1 << 2)       @ C
    orr r0, r0, #(1 << 11)      @ Z
    orr r0, r0, #(1 << 12)      @ I
    dsb
    mcr p15, 0, r0, c1, c0, 0
    isb
    ldr pc, =7f                 @ continue at the linked virtual address
    .ltorg
7:
    ldr sp, =({boot_stack} + {stack_size})
    ldr r0, ={entry_cpsr}
    str r11, [r0]               @ ENTRY_CPSR (BSS, zeroed above)
    ldr r0, =armmu_vectors
    mcr p15, 0, r0, c12, c0, 0  @ VBAR
    isb
    mov r0, r10
    mov r1, r4
    bl {entry}
9:  wfi
    b 9b
    .ltorg

    @ A secondary core that entered at _start: interrupts and aborts
    @ masked (its vectors are whatever the loader left), then WFE forever.
    @ It touches no memory and no stack. SEV or an interrupt only make it
    @ loop back into WFE; bringing it up would need its own entry.
    .global armmu_park_secondary
armmu_park_secondary:
    cpsid aif
14: wfe
    b 14b
"#,
    boot_l1 = sym BOOT_L1,
    boot_l2 = sym BOOT_L2,
    sect_data = const templates::SECT_DATA,
    dtb_span = const crate::bootinfo::DTB_MAX as u32 - 1,
    sect_code = const templates::SECT_CODE,
    page_code = const templates::PAGE_CODE,
    ttbr_walk = const templates::TTBR_WALK_WBWA_S,
    nl2 = const BOOT_WINDOW_L2_TABLES,
    boot_stack = sym BOOT_STACK,
    stack_size = const core::mem::size_of::<Stack>(),
    entry = sym super::start::armv7a_entry,
    entry_cpsr = sym ENTRY_CPSR,
);

#[cfg(test)]
mod tests {
    use super::templates::*;
    use crate::arch::armv7a::desc;
    use crate::mm::memtype::{Access, MapAttrs, MemoryType};

    #[test]
    fn boot_descriptors_match_the_encoder() {
        let normal = MapAttrs {
            mem: MemoryType::NormalWriteBackWriteAlloc,
            access: Access::KernelRw,
            execute_never: false,
            privileged_execute_never: false,
            not_global: false,
            shareable: true,
        };
        assert_eq!(desc::section(0, normal, 0).unwrap(), SECT_CODE);
        let data = MapAttrs {
            execute_never: true,
            ..normal
        };
        assert_eq!(desc::section(0, data, 0).unwrap(), SECT_DATA);
        let dev = MapAttrs {
            mem: MemoryType::DeviceShareable,
            shareable: false,
            ..data
        };
        assert_eq!(desc::section(0, dev, 0).unwrap(), SECT_DEVICE);
        assert_eq!(desc::small_page(0, normal).unwrap(), PAGE_CODE);
    }
}
