//! User mode on AArch64: per-task TTBR0 tables with an ASID, EL0 entry and
//! return, the Linux AArch64 syscall convention (`svc #0`, number in x8,
//! arguments x0-x5, result x0).

use super::exceptions::Frame;
use super::fault;
use super::format::{Table, Vmsa64};
use super::mmu::{self, phys_to_virt, HwEnv, USER_TOP};
use crate::errno::Errno;
use crate::loader::{elf, stack};
use crate::mm::fault::AccessKind;
use crate::mm::pagetable::task::{TableHost, TaskTable};
use crate::mm::pagetable::TableEnv;
use crate::mm::space::Access2;
use crate::task::{self, sched, Ended, Sys, UserLayout};
use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::*;

/// Linux arm64 HWCAP_FP | HWCAP_ASIMD (arch/arm64/include/uapi/asm/hwcap.h).
const HWCAP_FP: u64 = 1 << 0;
const HWCAP_ASIMD: u64 = 1 << 1;

/// EL0 may read CNTVCT_EL0 (CNTKCTL_EL1.EL0VCTEN), as on Linux.
pub fn init_cpu_for_users() {
    CNTKCTL_EL1.modify(CNTKCTL_EL1::EL0VCTEN::SET);
    barrier::isb(barrier::SY);
}

pub fn layout() -> UserLayout {
    UserLayout {
        task_size: USER_TOP as usize,
        stack_top: 0x0000_007F_FF00_0000,
        stack_size: 8 << 20,
        mmap_lo: 0x0001_0000,
        mmap_hi: 0x0000_007F_F000_0000,
        machine: elf::Machine::AArch64,
        word: stack::WordSize::W64,
        platform: stack::PLATFORM_AARCH64,
        hwcap: HWCAP_FP | HWCAP_ASIMD,
        hwcap2: Some(0),
        pie_bias: 0x40_0000,
    }
}

/// A task's TTBR0_EL1 table tagged with its ASID.
pub type UserMmu = TaskTable<Vmsa64, mmu::Mem>;

/// A task table with a fresh, zeroed root table.
pub fn new_user_mmu(asid: u16) -> Result<UserMmu, Errno> {
    let root = mmu::with_mm(|mm| mm.frames.alloc())?;
    // SAFETY: a fresh 4 KiB-aligned frame, mapped writable as Normal
    // memory by the linear map. `zero_page` (DC ZVA): a plain memset of
    // the root cost about 1 550 instructions per fork.
    unsafe { crate::mm::pageops::zero_page(phys_to_virt(root) as usize) };
    Ok(UserMmu::new(Table {
        root_pa: root,
        va_lo: 0,
        va_hi: USER_TOP - 1,
        asid: Some(asid),
        format: Vmsa64,
    }))
}

impl TableHost<Vmsa64> for mmu::Mem {
    type Env<'a> = HwEnv<'a>;

    fn with_env<R>(f: impl FnOnce(&mut HwEnv<'_>) -> R) -> R {
        mmu::with_mm(|mm| f(&mut HwEnv { mm }))
    }

    fn sync_icache(va: usize, len: usize) {
        // Clean to PoU, invalidate the I-cache (ARM ARM D7.5.9).
        let mut a = va & !63;
        while a < va + len {
            // SAFETY: cache maintenance on mapped memory.
            unsafe { core::arch::asm!("dc cvau, {x}", x = in(reg) a) };
            a += 64;
        }
        barrier::dsb(barrier::ISH);
        // SAFETY: instruction cache invalidation only.
        unsafe { core::arch::asm!("ic ialluis") };
        barrier::dsb(barrier::ISH);
        barrier::isb(barrier::SY);
    }

    const SECTION_SIZE: usize = 2 << 20;

    /// 64 KiB: the span of arm64's contiguous-PTE hint (`CONT_PTE_SIZE`),
    /// the anonymous mTHP size Linux uses for it; mapped as 16 ordinary
    /// page entries (no contiguous bit: each page stays separately
    /// protectable, splittable and copy-on-write).
    const FAULT_AROUND: usize = 64 << 10;

    fn walk(t: &Table, visit: &mut dyn FnMut(&crate::mm::audit::Mapping)) {
        // The memory type is MAIR_EL1's byte for AttrIndx, as live now.
        let mair = MAIR_EL1.get();
        Self::with_env(|e| {
            let read = |pa| TableEnv::<Vmsa64>::read(e, pa);
            super::walk::user_mappings(&read, t.root_pa, USER_TOP, mair, visit)
        })
    }

    fn release(t: &Table) {
        // No entry of this ASID may outlive the table (ARM ARM D8.14).
        // SAFETY: TLB maintenance only.
        unsafe {
            core::arch::asm!("tlbi aside1is, {x}", x = in(reg) (t.asid.unwrap_or(0) as u64) << 48)
        };
        barrier::dsb(barrier::ISH);
        barrier::isb(barrier::SY);
        mmu::with_mm(|mm| {
            crate::mm::must(mm.frames.free(t.root_pa), "free a root table");
        });
    }

    fn retire(t: &Table) {
        // Installed (the exiting task's own table: TTBR0_EL1.BADDR, the
        // root is 4 KiB aligned): walks from TTBR0 off first
        // (TCR_EL1.EPD0 = 1), and an ISB so that later walks see it (ARM
        // ARM D8.2 / D23.2: a system register write takes effect after a
        // context synchronization event). Otherwise TTBR0 holds another
        // table and nothing walks this one.
        if TTBR0_EL1.get() & 0x0000_ffff_ffff_f000 == t.root_pa {
            TCR_EL1.modify(TCR_EL1::EPD0::DisableTTBR0Walks);
            barrier::isb(barrier::SY);
        }
        // Entries the walker cached before: TLBI by ASID before the
        // table's memory is reused (ARM ARM D8.14.2), then DSB so it is
        // complete and ISB (D8.14: the sequence after TLB maintenance).
        // SAFETY: TLB maintenance only.
        unsafe {
            core::arch::asm!("tlbi aside1is, {x}", x = in(reg) (t.asid.unwrap_or(0) as u64) << 48)
        };
        barrier::dsb(barrier::ISH);
        barrier::isb(barrier::SY);
    }
}

/// TTBR0 = task table with its ASID (TCR.A1 = 0: the ASID comes from
/// TTBR0, so base and ASID change in one write), then TTBR0 walks on.
pub(super) fn activate(t: &Table) {
    TTBR0_EL1.write(
        TTBR0_EL1::ASID.val(t.asid.unwrap_or(0) as u64) + TTBR0_EL1::BADDR.val(t.root_pa >> 1),
    );
    barrier::isb(barrier::SY);
    TCR_EL1.modify(TCR_EL1::EPD0::EnableTTBR0Walks);
    barrier::isb(barrier::SY);
}

pub(super) fn deactivate() {
    TCR_EL1.modify(TCR_EL1::EPD0::DisableTTBR0Walks);
    barrier::isb(barrier::SY);
}

/// Load `path` from the initramfs as pid 1 and run processes until it
/// ends; its wait status.
pub fn run(path: &str, argv: &[&[u8]], envp: &[&[u8]]) -> Result<Ended, alloc::string::String> {
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

/// This ABI's syscall numbers ([`crate::syscall::abi::AARCH64`]).
fn sys_of(nr: u64) -> Sys {
    use crate::syscall::abi;
    abi::lookup_indexed(&abi::AARCH64_INDEX, abi::AARCH64, nr as usize)
}

/// Every exception from EL0 (AArch64), from the vectors (`exceptions.rs`)
/// with the saved frame and the vector kind (bit 4 set; low bits: 0 sync,
/// 1 IRQ, 2 FIQ, 3 SError). EL0 runs only once `run` started the task
/// layer.
#[no_mangle]
extern "C" fn armmu_a64_user_exception(frame: &mut Frame, kind: u64) {
    user_trap(frame, kind)
}

#[inline(always)]
fn user_trap(frame: &mut Frame, kind: u64) {
    // The identity syscalls first, in a frame this small (see armv7a).
    if kind & 3 == 0 && fault::ec(frame.esr) == fault::ec_code::SVC64 {
        const FAST: sched::FastNumbers = sched::FastNumbers::of(crate::syscall::abi::AARCH64);
        if let Some(r) = sched::fast_syscall(frame.x[8] as usize, FAST) {
            frame.x[0] = r as u64;
            return;
        }
    }
    user_trap_general(frame, kind)
}

#[inline(never)]
fn user_trap_general(frame: &mut Frame, kind: u64) {
    let mut after = sched::After::CHECK;
    if kind & 3 != 0 {
        // IRQ (FIQ and SError are not routed here).
        sched::handle_interrupts();
        sched::return_to_user(frame, sched::After::CHECK);
        return;
    }
    match fault::class(frame.esr) {
        fault::Class::Svc => {
            let r = &frame.x;
            let a = [
                r[0] as usize,
                r[1] as usize,
                r[2] as usize,
                r[3] as usize,
                r[4] as usize,
                r[5] as usize,
            ];
            if let Some(r) = private_syscall(frame.x[8] as usize, a) {
                frame.x[0] = r as u64;
                return;
            }
            let nr = frame.x[8];
            after = sched::syscall(frame, sys_of(nr), a);
            audit(format_args!("syscall {} = {}", nr, frame.x[0] as i64));
        }
        fault::Class::DataAbort { .. } | fault::Class::InstructionAbort { .. } => {
            let info = fault::decode_abort(frame.esr, frame.far, frame.elr);
            let access = match info.access {
                AccessKind::Write => Access2::Write,
                AccessKind::Execute => Access2::Execute,
                AccessKind::Read => Access2::Read,
            };
            let (r, check) = task::current_resolve_fault(&info, access);
            after.check = check;
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
        }
        fault::Class::PcAlignment | fault::Class::SpAlignment => {
            let mut info = fault::decode_abort(frame.esr, frame.far, frame.elr);
            info.kind = crate::mm::fault::FaultKind::Alignment;
            sched::fault_signal(frame, info.signal().number() as u32, &info)
        }
        _ => {
            let info = fault::undefined(frame.elr);
            sched::fault_signal(frame, info.signal().number() as u32, &info)
        }
    }
    sched::return_to_user(frame, after);
}

/// The invariant auditor over the current task (`armmu.audit=1`).
#[inline(always)]
fn audit(when: core::fmt::Arguments) {
    // Checked here so the common case (auditor off) costs one load.
    if crate::mm::audit::enabled() {
        crate::mm::kmem::audit::<mmu::Mem>(when)
    }
}

/// The kernel-private syscalls (`mm::inject`), `None` for any other
/// number. `SYS_KEXEC` (the PXN test) is ARMv7-A only: `ENOSYS` here.
#[inline(always)]
fn private_syscall(nr: usize, a: [usize; 6]) -> Option<isize> {
    // Every private number is at or above SYS_INJECT, far above Linux's.
    if nr < crate::mm::inject::SYS_INJECT {
        return None;
    }
    if nr == crate::mm::inject::SYS_KEXEC {
        return Some(Errno::ENOSYS.as_return());
    }
    crate::mm::kmem::private_syscall::<mmu::Mem>(nr, a)
}
