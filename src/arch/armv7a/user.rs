//! User mode on ARMv7-A: per-task TTBR0 tables with an ASID, entering USR
//! mode and coming back, the Linux ARM EABI syscall convention, and
//! turning user aborts into lazy allocation or a decoded kill.

use super::cp15;
use super::exceptions::{Frame, Vector};
use super::fault::{decode_dfsr, decode_ifsr};
use super::format::{ShortDescriptor, Table};
use super::mmu::{self, HwEnv, KERNEL_SPLIT};
use crate::errno::Errno;
use crate::loader::{elf, stack};
use crate::mm::fault::FaultInfo;
use crate::mm::pagetable::task::{TableHost, TaskTable};
use crate::mm::pagetable::TableEnv;
use crate::mm::space::Access2;
use crate::task::{self, sched, Ended, Sys, UserLayout};
use aarch32_cpu::asm::{dsb, isb};
use aarch32_cpu::register::{Dfar, Dfsr, Ifar, Ifsr};

/// TTBCR.N = 1: TTBR0 covers 0..2 GiB, an 8 KiB L1 table.
pub const TASK_SIZE: usize = KERNEL_SPLIT as usize;

/// Linux `HWCAP_*` (arch/arm/include/uapi/asm/hwcap.h) this CPU and kernel give.
const HWCAP_HALF: u64 = 1 << 1;
const HWCAP_THUMB: u64 = 1 << 2;
const HWCAP_FAST_MULT: u64 = 1 << 4;
const HWCAP_VFP: u64 = 1 << 6;
const HWCAP_EDSP: u64 = 1 << 7;
const HWCAP_NEON: u64 = 1 << 12;
const HWCAP_VFPV3: u64 = 1 << 13;
const HWCAP_TLS: u64 = 1 << 15;
const HWCAP_VFPV4: u64 = 1 << 16;
const HWCAP_IDIVA: u64 = 1 << 17;
const HWCAP_IDIVT: u64 = 1 << 18;
const HWCAP_VFPD32: u64 = 1 << 19;
const HWCAP_LPAE: u64 = 1 << 20;

static VFP: spin::Once<bool> = spin::Once::new();

/// Give PL0 the virtual counter (CNTKCTL.PL0VCTEN, as Linux does) and the
/// VFP/Advanced SIMD unit (CPACR cp10/cp11 full access, FPEXC.EN). The
/// kernel itself is soft-float and never touches VFP registers, and one task
/// runs at a time, so no VFP state is switched.
pub fn init_cpu_for_users() {
    // SAFETY: CNTKCTL only gates PL0 counter access; CPACR/FPEXC enable the
    // FP unit, which the (soft-float) kernel does not use.
    let vfp = unsafe {
        // No CNTKCTL without the generic timer (Cortex-A9): a user read
        // of CNTVCT is then UNDEFINED (SIGILL); clock_gettime works.
        if super::timer::has_generic_timer() {
            cp15::Cntkctl::write(cp15::Cntkctl::read() | (1 << 1));
        }
        let cpacr: u32;
        core::arch::asm!("mrc p15, 0, {r}, c1, c0, 2", r = out(reg) cpacr);
        core::arch::asm!("mcr p15, 0, {r}, c1, c0, 2", r = in(reg) cpacr | (0xf << 20));
        isb();
        let back: u32;
        core::arch::asm!("mrc p15, 0, {r}, c1, c0, 2", r = out(reg) back);
        let present = (back >> 20) & 0xf == 0xf;
        if present {
            // vmsr fpexc, r0 (EN = bit 30), encoded: the kernel target has no VFP.
            core::arch::asm!(".inst 0xeee80a10", in("r0") 1u32 << 30);
            isb();
        }
        present
    };
    VFP.call_once(|| vfp);
}

pub fn layout() -> UserLayout {
    let vfp = *VFP.get().unwrap_or(&false);
    let mut hwcap = HWCAP_HALF
        | HWCAP_THUMB
        | HWCAP_FAST_MULT
        | HWCAP_EDSP
        | HWCAP_TLS
        | HWCAP_IDIVA
        | HWCAP_IDIVT
        | HWCAP_LPAE;
    if vfp {
        hwcap |= HWCAP_VFP | HWCAP_VFPV3 | HWCAP_VFPV4 | HWCAP_NEON | HWCAP_VFPD32;
    }
    UserLayout {
        task_size: TASK_SIZE,
        stack_top: 0x7F00_0000,
        stack_size: 8 << 20,
        mmap_lo: 0x0001_0000,
        mmap_hi: 0x7E00_0000,
        machine: elf::Machine::Arm,
        word: stack::WordSize::W32,
        platform: stack::PLATFORM_V7L,
        hwcap,
        hwcap2: Some(0),
        pie_bias: 0x10000,
    }
}

/// A task's TTBR0 table (8 KiB L1, N = 1) tagged with its ASID.
pub type UserMmu = TaskTable<ShortDescriptor, mmu::Mem>;

/// A task table with a fresh, zeroed 8 KiB L1 table.
pub fn new_user_mmu(asid: u8) -> Result<UserMmu, Errno> {
    let l1 = mmu::with_mm(|mm| mm.frames.alloc_contiguous(2, 2))? as u32;
    // SAFETY: the two frames were just allocated for this table.
    unsafe {
        mmu::zero_frame(l1);
        mmu::zero_frame(l1 + 4096);
    }
    Ok(UserMmu::new(Table {
        root_pa: l1 as u64,
        va_lo: 0,
        va_hi: KERNEL_SPLIT as u64 - 1,
        asid: Some(asid as u16),
        format: ShortDescriptor::this_cpu(0),
    }))
}

impl TableHost<ShortDescriptor> for mmu::Mem {
    type Env<'a> = HwEnv<'a>;

    fn with_env<R>(f: impl FnOnce(&mut HwEnv<'_>) -> R) -> R {
        mmu::with_mm(|mm| f(&mut HwEnv { mm }))
    }

    fn sync_icache(va: usize, len: usize) {
        // Clean D to PoU, invalidate I (ARM ARM B2.2.7).
        let line = mmu::dcache_line() as usize;
        let mut a = va & !(line - 1);
        while a < va + len {
            // SAFETY: cache maintenance by MVA on mapped memory.
            unsafe { cp15::Dccmvau::write(a as u32) };
            a += line;
        }
        dsb();
        // SAFETY: instruction cache invalidation has no memory effects.
        unsafe { cp15::Icialluis::write(0) };
        dsb();
        isb();
    }

    const SECTION_SIZE: usize = 1 << 20;

    fn walk(t: &Table, visit: &mut dyn FnMut(&crate::mm::audit::Mapping)) {
        Self::with_env(|e| {
            // TTBCR.N = 1: 2048 first-level entries, one per MiB.
            let read = |pa: u32| TableEnv::<ShortDescriptor>::read(e, pa as u64) as u32;
            super::walk::user_mappings(&read, t.root_pa as u32, TASK_SIZE as u32 >> 20, visit)
        })
    }

    fn release(t: &Table) {
        // Nothing of this ASID may survive in the TLB once the table is
        // reused (ARM ARM B3.10.1).
        // SAFETY: TLB maintenance only.
        unsafe { cp15::Tlbiasidis::write(t.asid.unwrap_or(0) as u8 as u32) };
        dsb();
        isb();
        mmu::with_mm(|mm| {
            crate::mm::must(mm.frames.free_contiguous(t.root_pa, 2), "free a root table");
        });
    }

    fn retire(t: &Table) {
        // SAFETY: reading TTBR0 has no side effect; PD0 only stops
        // walks of the user half, which nothing uses once a table is
        // retired (the dying task never returns to user mode); the TLB
        // and predictor maintenance have no memory-safety effect.
        unsafe {
            // Installed (the exiting task's own table; TTBCR.N = 1: the
            // base is bits [31:13]): walks from TTBR0
            // off first (TTBCR.PD0 = 1), and an ISB so that later walks
            // see it (ARM ARM B3.15: a CP15 write takes effect after a
            // context synchronization). Otherwise TTBR0 points elsewhere
            // and nothing walks this table.
            if cp15::Ttbr0Raw::read() & !0x1fff == t.root_pa as u32 {
                cp15::Ttbcr::write(cp15::Ttbcr::read() | (1 << 4));
                isb();
            }
            // Entries the walker cached before: invalidate the ASID (ARM
            // ARM B3.10.1: TLB maintenance before the table's memory is
            // reused), predictors too (B2.2.6), then DSB so the
            // invalidation is complete and ISB (B3.10.1, the required
            // sequence after TLB maintenance).
            cp15::Tlbiasidis::write(t.asid.unwrap_or(0) as u8 as u32);
            cp15::Bpiallis::write(0);
        }
        dsb();
        isb();
    }
}

/// Switch TTBR0/ASID to this table: walks from TTBR0 are disabled
/// (TTBCR.PD0) while CONTEXTIDR and TTBR0 change, so no walk can pair the
/// new ASID with the old table (ARM ARM B3.10.4).
pub(super) fn activate(t: &Table) {
    // SAFETY: the sequence keeps kernel translations (TTBR1) untouched.
    unsafe {
        let ttbcr = cp15::Ttbcr::read();
        cp15::Ttbcr::write(ttbcr | (1 << 4));
        isb();
        aarch32_cpu::register::Contextidr::write(aarch32_cpu::register::Contextidr(
            t.asid.unwrap_or(0) as u32,
        ));
        isb();
        cp15::Ttbr0Raw::write(t.root_pa as u32 | super::boot::templates::TTBR_WALK_WBWA_S);
        isb();
        cp15::Ttbcr::write(ttbcr & !(1 << 4));
        isb();
    }
}

pub(super) fn deactivate() {
    // SAFETY: disabling TTBR0 walks only removes user translations.
    unsafe {
        cp15::Ttbcr::write(cp15::Ttbcr::read() | (1 << 4));
        isb();
    }
}

/// Load `path` from the initramfs as pid 1 and run processes until it
/// ends; its wait status.
pub fn run(path: &str, argv: &[&[u8]], envp: &[&[u8]]) -> Result<Ended, alloc::string::String> {
    super::trap::set_user_trap(user_trap);
    let status = crate::task::sched::run_init(path, argv, envp)?;
    deactivate();
    crate::mm::inject::reset();
    crate::mm::audit::report_totals();
    Ok(if status & 0x7f == 0 {
        Ended::Exited((status >> 8) & 0xff)
    } else {
        Ended::Killed(status & 0x7f)
    })
}

/// Whether user space has the VFP/Advanced SIMD unit.
pub(super) fn has_vfp() -> bool {
    *VFP.get().unwrap_or(&false)
}

/// This ABI's syscall numbers ([`crate::syscall::abi::ARM_EABI`]).
fn sys_of(nr: u32) -> Sys {
    use crate::syscall::abi;
    abi::lookup_indexed(&abi::ARM_EABI_INDEX, abi::ARM_EABI, nr as usize)
}

fn user_trap(frame: &mut Frame, v: Vector) {
    // The identity syscalls first, in a frame this small (the general
    // path's stack frame and saves cost a third of a null syscall).
    if v == Vector::Svc {
        const FAST: sched::FastNumbers = sched::FastNumbers::of(crate::syscall::abi::ARM_EABI);
        if let Some(r) = sched::fast_syscall(frame.r[7] as usize, FAST) {
            frame.r[0] = r as u32;
            return;
        }
    }
    user_trap_general(frame, v)
}

#[inline(never)]
fn user_trap_general(frame: &mut Frame, v: Vector) {
    let mut after = sched::After::CHECK;
    match v {
        Vector::Svc => {
            let sys = sys_of(frame.r[7]);
            if sys == Sys::SetTls {
                // SAFETY: TPIDRURO is the user read-only thread register.
                unsafe { core::arch::asm!("mcr p15, 0, {r}, c13, c0, 3", r = in(reg) frame.r[0]) };
                frame.r[0] = 0;
                return;
            }
            let r = &frame.r;
            let a = [
                r[0] as usize,
                r[1] as usize,
                r[2] as usize,
                r[3] as usize,
                r[4] as usize,
                r[5] as usize,
            ];
            if let Some(r) = private_syscall(frame.r[7] as usize, a) {
                frame.r[0] = r as u32;
                return;
            }
            let nr = frame.r[7];
            after = sched::syscall(frame, sys, a);
            audit(format_args!("syscall {} = {}", nr, frame.r[0] as i32));
        }
        Vector::DataAbort => {
            let info = decode_dfsr(Dfsr::read().raw_value(), Dfar::read().0, frame.pc);
            let access = if info.access == crate::mm::fault::AccessKind::Write {
                Access2::Write
            } else {
                Access2::Read
            };
            after.check = user_fault(frame, info, access);
        }
        Vector::PrefetchAbort => {
            let info = decode_ifsr(Ifsr::read().raw_value(), Ifar::read().0, frame.pc);
            after.check = user_fault(frame, info, Access2::Execute);
        }
        Vector::Undefined => {
            let info = FaultInfo::undefined_instruction(frame.pc as u64);
            sched::fault_signal(frame, info.signal().number() as u32, &info)
        }
        Vector::Irq | Vector::Fiq => sched::handle_interrupts(),
    }
    sched::return_to_user(frame, after);
}

/// A user abort; returns whether the return to user mode must check for
/// a switch or signals.
fn user_fault(frame: &mut Frame, info: FaultInfo, access: Access2) -> bool {
    let (r, check) = task::current_resolve_fault(&info, access);
    match r {
        task::Resolution::Resolved => {}
        task::Resolution::Signal => {
            sched::fault_signal(frame, info.signal().number() as u32, &info)
        }
        task::Resolution::OutOfMemory => sched::oom_kill(&info),
        task::Resolution::PastEndOfFile => {
            let info = info.past_end_of_file();
            sched::fault_signal(frame, info.signal().number() as u32, &info)
        }
    }
    audit(format_args!("fault at {:#x}", info.addr));
    check
}

/// The invariant auditor over the current task (`armmu.audit=1`).
#[inline(always)]
fn audit(when: core::fmt::Arguments) {
    // Checked here so the common case (auditor off) costs one load.
    if crate::mm::audit::enabled() {
        crate::mm::kmem::audit::<mmu::Mem>(when)
    }
}

/// The kernel-private syscalls (`mm::inject`), `None` for any other number.
#[inline(always)]
fn private_syscall(nr: usize, a: [usize; 6]) -> Option<isize> {
    // Every private number is at or above SYS_INJECT, far above Linux's.
    if nr < crate::mm::inject::SYS_INJECT {
        return None;
    }
    if nr == crate::mm::inject::SYS_KEXEC {
        return Some(kexec(a[0]));
    }
    crate::mm::kmem::private_syscall::<mmu::Mem>(nr, a)
}

/// Debug syscall (fault injection enabled): the kernel branches to user
/// address `va` with the abort probe armed. On a CPU with PXN (ID_MMFR0
/// VMSA >= 4) user pages are PXN (the L1 page-table descriptor's bit 2,
/// or a section's bit 0), so this must be a prefetch abort, permission
/// fault; its IFSR is returned. 0 means the kernel executed user memory
/// (the code there is expected to be `bx lr`): what a CPU without PXN
/// (Cortex-A9) does, where nothing but the kernel's own code keeps it out.
fn kexec(va: usize) -> isize {
    if !crate::mm::inject::enabled() {
        return Errno::ENOSYS.as_return();
    }
    if va >= TASK_SIZE || va % 4 != 0 {
        return Errno::EINVAL.as_return();
    }
    let fault = super::trap::probe(|| {
        // SAFETY: a kernel branch into user memory, on purpose: PXN makes
        // it a prefetch abort, which the probe catches and returns to the
        // link address; if PXN were missing, the user's `bx lr` returns.
        unsafe { core::arch::asm!("blx {a}", a = in(reg) va, out("lr") _, options(nostack)) }
    });
    match fault {
        Some(f) => {
            crate::kprintln!(
                "kexec: kernel branch to user page {va:#010x}: prefetch abort {f} IFSR={:#05x}",
                f.raw_status
            );
            f.raw_status as isize
        }
        None => {
            crate::kprintln!("kexec: kernel EXECUTED user page {va:#010x} (no PXN)");
            0
        }
    }
}
