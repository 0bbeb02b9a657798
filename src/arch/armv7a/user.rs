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
use crate::mm::space::{Access2, Mmu};
use crate::task::{self, Ended, Outcome, Sys, Task, UserLayout, CURRENT};
use aarch32_cpu::asm::{dsb, isb};
use aarch32_cpu::register::{Dfar, Dfsr, Ifar, Ifsr};
use alloc::boxed::Box;

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
        cp15::Cntkctl::write(cp15::Cntkctl::read() | (1 << 1));
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
        format: ShortDescriptor { domain: 0 },
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
}

/// Kernel context saved while a task runs (sp after pushing r4-r11, lr).
#[repr(C)]
struct KernelCtx {
    sp: u32,
}

static mut KCTX: KernelCtx = KernelCtx { sp: 0 };

/// The kernel stack exceptions from user mode run on.
#[repr(C, align(16))]
struct TaskStack([u8; 32 * 1024]);
static mut TASK_STACK: TaskStack = TaskStack([0; 32 * 1024]);

core::arch::global_asm!(
    r#"
    .section .text
    .arm
    .global armmu_enter_user
    @ r0 = frame to restore (on the task kernel stack), r1 = &KCTX.
    @ Returns (in r0) the value passed to armmu_leave_user.
armmu_enter_user:
    push {{r4-r11, lr}}
    str sp, [r1]
    mov sp, r0
    ldmia sp, {{sp, lr}}^
    add sp, sp, #8
    pop {{r0-r12, lr}}
    rfeia sp!

    .global armmu_leave_user
    @ r0 = &KCTX, r1 = value for armmu_enter_user to return.
armmu_leave_user:
    ldr sp, [r0]
    mov r0, r1
    pop {{r4-r11, pc}}
"#
);

extern "C" {
    fn armmu_enter_user(frame: *mut Frame, ctx: *mut KernelCtx) -> i32;
    fn armmu_leave_user(ctx: *const KernelCtx, value: i32) -> !;
}

/// Switch TTBR0/ASID to this table: walks from TTBR0 are disabled
/// (TTBCR.PD0) while CONTEXTIDR and TTBR0 change, so no walk can pair the
/// new ASID with the old table (ARM ARM B3.10.4).
fn activate(t: &Table) {
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

fn deactivate() {
    // SAFETY: disabling TTBR0 walks only removes user translations.
    unsafe {
        cp15::Ttbcr::write(cp15::Ttbcr::read() | (1 << 4));
        isb();
    }
}

/// Load `path` from the initramfs and run it until it exits or is killed.
pub fn run(
    pid: u32,
    path: &str,
    argv: &[&[u8]],
    envp: &[&[u8]],
) -> Result<Ended, alloc::string::String> {
    super::trap::set_user_trap(user_trap);
    let mmu_box: Box<dyn Mmu + Send> =
        Box::new(new_user_mmu(pid as u8).map_err(|e| alloc::string::String::from(e.name()))?);
    let (task, entry, sp) = Task::exec(pid, path, argv, envp, layout(), mmu_box)?;
    let table = {
        // The table of this task, for activation.
        let m: &UserMmu = downcast(&*task.mmu);
        m.table
    };
    *CURRENT.lock() = Some(task);
    activate(&table);

    // The initial user frame at the top of the task kernel stack.
    let top = core::ptr::addr_of_mut!(TASK_STACK) as usize + core::mem::size_of::<TaskStack>();
    let frame_ptr = (top - core::mem::size_of::<Frame>()) as *mut Frame;
    let thumb = entry & 1 != 0;
    let frame = Frame {
        usr_sp: sp as u32,
        pc: (entry & !1) as u32,
        // USR mode, IRQ/FIQ unmasked, ARM or Thumb state.
        cpsr: 0x10 | if thumb { 1 << 5 } else { 0 },
        ..Frame::default()
    };
    // SAFETY: the frame lies inside TASK_STACK, which nothing else uses
    // while no task runs.
    unsafe { frame_ptr.write(frame) };
    // SAFETY: enters USR mode with the task's table active; comes back only
    // through armmu_leave_user from the trap handler.
    let status = unsafe { armmu_enter_user(frame_ptr, core::ptr::addr_of_mut!(KCTX)) };
    deactivate();
    crate::mm::inject::reset();
    crate::mm::audit::report_totals();
    task::finish_current();
    Ok(if status >= 0 {
        Ended::Exited(status)
    } else {
        Ended::Killed(-status)
    })
}

fn downcast(m: &(dyn Mmu + Send)) -> &UserMmu {
    // SAFETY: every task on ARMv7-A is created with a UserMmu (`run`).
    unsafe { &*(m as *const (dyn Mmu + Send) as *const UserMmu) }
}

/// Leave user mode for good: back into `run`. No lock may be held.
fn leave(value: i32) -> ! {
    // SAFETY: KCTX was saved by armmu_enter_user of the current task.
    unsafe { armmu_leave_user(core::ptr::addr_of!(KCTX), value) }
}

/// This ABI's syscall numbers ([`crate::syscall::abi::ARM_EABI`]).
fn sys_of(nr: u32) -> Sys {
    crate::syscall::abi::lookup(crate::syscall::abi::ARM_EABI, nr as usize)
}

fn user_trap(frame: &mut Frame, v: Vector) {
    match v {
        Vector::Svc => {
            let sys = sys_of(frame.r[7]);
            if sys == Sys::SetTls {
                // SAFETY: TPIDRURO is the user read-only thread register.
                unsafe { core::arch::asm!("mcr p15, 0, {r}, c13, c0, 3", r = in(reg) frame.r[0]) };
                frame.r[0] = 0;
                return;
            }
            let a = [0, 1, 2, 3, 4, 5].map(|i| frame.r[i] as usize);
            if let Some(r) = private_syscall(frame.r[7] as usize, a) {
                frame.r[0] = r as u32;
                return;
            }
            let out = task::current_syscall(sys, a);
            match out {
                Outcome::Return(r) => {
                    frame.r[0] = r as u32;
                    audit(format_args!("syscall {} = {}", frame.r[7], r));
                }
                Outcome::Exit(code) => leave(code & 0xff),
            }
        }
        Vector::DataAbort => {
            let info = decode_dfsr(Dfsr::read().raw_value(), Dfar::read().0, frame.pc);
            let access = if info.access == crate::mm::fault::AccessKind::Write {
                Access2::Write
            } else {
                Access2::Read
            };
            user_fault(frame, info, access)
        }
        Vector::PrefetchAbort => {
            let info = decode_ifsr(Ifsr::read().raw_value(), Ifar::read().0, frame.pc);
            user_fault(frame, info, Access2::Execute)
        }
        Vector::Undefined => kill(FaultInfo::undefined_instruction(frame.pc as u64)),
        Vector::Irq | Vector::Fiq => {}
    }
}

fn user_fault(_frame: &mut Frame, info: FaultInfo, access: Access2) {
    match task::current_resolve_fault(&info, access) {
        task::Resolution::Resolved => {}
        task::Resolution::Signal => kill(info),
        task::Resolution::OutOfMemory => leave(task::current_oom_killed(&info)),
    }
    audit(format_args!("fault at {:#x}", info.addr));
}

/// The invariant auditor over the current task (`armmu.audit=1`).
fn audit(when: core::fmt::Arguments) {
    crate::mm::kmem::audit::<mmu::Mem>(when)
}

/// The kernel-private syscalls (`mm::inject`), `None` for any other number.
fn private_syscall(nr: usize, a: [usize; 6]) -> Option<isize> {
    if nr == crate::mm::inject::SYS_KEXEC {
        return Some(kexec(a[0]));
    }
    crate::mm::kmem::private_syscall::<mmu::Mem>(nr, a)
}

/// Debug syscall (fault injection enabled): the kernel branches to user
/// address `va` with the abort probe armed. User pages are PXN (the L1
/// page-table descriptor's bit 2, or a section's bit 0), so this must be
/// a prefetch abort, permission fault; its IFSR is returned. 0 means the
/// kernel executed user memory (the code there is expected to be `bx lr`).
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

fn kill(info: FaultInfo) -> ! {
    let v = task::current_killed(&info);
    leave(v)
}
