//! The invariant auditor: walks an address space's VMAs and its page table
//! together and checks that they agree.
//!
//! The architecture provides the walk ([`crate::mm::space::Mmu::walk`]):
//! every present block or page of the user table, decoded by the
//! *independent* decoders (`arch/*/decode.rs`, written from the ARM ARM,
//! not from the encoders) into a [`Mapping`]. This module is plain logic,
//! host-tested against fake tables that break each invariant:
//!
//! 1. no entry outside a VMA ([`Violation::OutsideVma`]);
//! 2. no entry with more rights than its VMA: user read only if the VMA has
//!    any access, user write only if it is writable (and a device VMA may
//!    write), user execute (XN/UXN clear) only if it is executable
//!    ([`Violation::MoreRights`]);
//! 3. never writable and executable, at any privilege ([`Violation::WriteExec`]);
//! 4. every user entry nG ([`Violation::Global`]);
//! 5. never executable by the kernel: PXN set (on ARMv7-A pages, the PXN
//!    bit of the L1 page-table descriptor) ([`Violation::KernelExecutable`]);
//! 6. device pages only in Device VMAs, at the VMA's physical address, with
//!    a Device or Strongly-ordered type; RAM in a Device VMA only as a
//!    driver's buffer (a Normal type, or a registered driver's RAM) with
//!    exactly the VMA's type, its frames allocated; Normal
//!    memory on RAM in every other VMA ([`Violation::Memory`]);
//! 7. every mapped RAM frame allocated in the frame allocator and mapped
//!    once (twice only if both mappings are shared) ([`Violation::FrameFree`],
//!    [`Violation::DoubleMapped`]);
//! 8. free + used = total in the frame allocator, and no more frames mapped
//!    than are in use ([`Violation::FrameCount`]).
//!
//! In the kernel, `armmu.audit=1` on the command line runs the auditor
//! after every syscall and every resolved fault of the current task, prints
//! `audit: VIOLATION ...` lines, and `audit: N checks, M violations` at
//! task end.

use crate::mm::frame::{FrameAllocator, FRAME_SIZE};
use crate::mm::memtype::{Access, MemoryClass};
use crate::mm::vma::{Vma, VmaKind, VmaSet};
use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// One present block or page as the hardware sees it (decoded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping {
    pub va: usize,
    pub pa: u64,
    pub size: usize,
    /// `None`: a reserved or IMPLEMENTATION DEFINED memory type encoding.
    pub class: Option<MemoryClass>,
    /// `None`: a reserved AP encoding.
    pub access: Option<Access>,
    /// Execute-never for the user (ARMv7 XN, AArch64 UXN, hierarchical
    /// controls folded in).
    pub xn: bool,
    /// Privileged execute-never (for ARMv7-A pages: the L1 page-table
    /// descriptor's PXN; AArch64: PXN | PXNTable).
    pub pxn: bool,
    pub ng: bool,
}

impl Mapping {
    fn user_read(&self) -> bool {
        matches!(
            self.access,
            Some(Access::UserRo | Access::UserRw | Access::KernelRwUserRo)
        )
    }
    fn user_write(&self) -> bool {
        matches!(self.access, Some(Access::UserRw))
    }
    fn any_write(&self) -> bool {
        matches!(
            self.access,
            Some(Access::UserRw | Access::KernelRw | Access::KernelRwUserRo)
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Right {
    Read,
    Write,
    Execute,
}

/// One broken invariant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Violation {
    OutsideVma {
        va: usize,
    },
    MoreRights {
        va: usize,
        right: Right,
    },
    WriteExec {
        va: usize,
    },
    Global {
        va: usize,
    },
    KernelExecutable {
        va: usize,
    },
    /// Wrong memory type or physical address for the VMA's kind.
    Memory {
        va: usize,
        pa: u64,
        why: &'static str,
    },
    Undecodable {
        va: usize,
    },
    FrameFree {
        pa: u64,
    },
    DoubleMapped {
        pa: u64,
    },
    FrameCount {
        free: usize,
        used: usize,
        total: usize,
        mapped: usize,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Violation::OutsideVma { va } => write!(f, "entry at {va:#x} outside any VMA"),
            Violation::MoreRights { va, right } => {
                write!(f, "entry at {va:#x} grants {right:?} its VMA does not")
            }
            Violation::WriteExec { va } => write!(f, "entry at {va:#x} is writable and executable"),
            Violation::Global { va } => write!(f, "user entry at {va:#x} is global (nG clear)"),
            Violation::KernelExecutable { va } => {
                write!(f, "user entry at {va:#x} is executable by the kernel (PXN clear)")
            }
            Violation::Memory { va, pa, why } => write!(f, "entry at {va:#x} -> {pa:#x}: {why}"),
            Violation::Undecodable { va } => {
                write!(f, "entry at {va:#x} has a reserved type or AP encoding")
            }
            Violation::FrameFree { pa } => write!(f, "mapped frame {pa:#x} is free in the allocator"),
            Violation::DoubleMapped { pa } => write!(f, "frame {pa:#x} mapped twice"),
            Violation::FrameCount {
                free,
                used,
                total,
                mapped,
            } => write!(
                f,
                "frame counts: free {free} + used {used} != total {total}, or mapped {mapped} > used"
            ),
        }
    }
}

/// Checks one address space, entry by entry, then the frames.
pub struct Auditor<'a> {
    vmas: &'a VmaSet,
    is_ram: &'a dyn Fn(u64) -> bool,
    /// (frame PA, from a shared mapping) of every RAM page mapped in a
    /// frame-owning VMA.
    frames: Vec<(u64, bool)>,
    /// The frame list could not be grown (heap full): skip checks 7/8.
    frames_incomplete: bool,
    pub checks: usize,
    pub violations: Vec<Violation>,
    /// Violations beyond what `violations` could hold.
    pub dropped: usize,
}

impl<'a> Auditor<'a> {
    pub fn new(vmas: &'a VmaSet, is_ram: &'a dyn Fn(u64) -> bool) -> Self {
        Auditor {
            vmas,
            is_ram,
            frames: Vec::new(),
            frames_incomplete: false,
            checks: 0,
            violations: Vec::new(),
            dropped: 0,
        }
    }

    fn report(&mut self, v: Violation) {
        if self.violations.len() < 64 && self.violations.try_reserve(1).is_ok() {
            self.violations.push(v);
        } else {
            self.dropped += 1;
        }
    }

    fn check(&mut self, ok: bool, v: Violation) {
        self.checks += 1;
        if !ok {
            self.report(v);
        }
    }

    /// One present entry from the walk.
    pub fn entry(&mut self, m: &Mapping) {
        let va = m.va;
        self.check(m.ng, Violation::Global { va });
        // Without the PXN extension (ARMv7-A Cortex-A9) no entry can be
        // PXN: rule 5 is then kept by the kernel never branching to a
        // user address, which the auditor cannot see ([`set_no_pxn`]).
        let pxn = m.pxn || NO_PXN.load(Ordering::Relaxed);
        self.check(pxn, Violation::KernelExecutable { va });
        self.check(
            !(m.any_write() && !(m.xn && pxn)),
            Violation::WriteExec { va },
        );
        self.check(
            m.class.is_some() && m.access.is_some(),
            Violation::Undecodable { va },
        );
        let end = va.saturating_add(m.size);
        let mut cur = va;
        while cur < end {
            let Some(v) = self.vmas.find(cur).copied() else {
                self.check(false, Violation::OutsideVma { va: cur });
                break;
            };
            self.checks += 1;
            let lo = cur.max(v.start);
            let hi = end.min(v.end);
            self.against_vma(m, &v, lo, hi);
            cur = v.end;
        }
    }

    /// The part `[lo, hi)` of entry `m` that lies in VMA `v`.
    fn against_vma(&mut self, m: &Mapping, v: &Vma, lo: usize, hi: usize) {
        let any = v.prot.read || v.prot.write || v.prot.exec;
        self.check(
            !m.user_read() || any,
            Violation::MoreRights {
                va: lo,
                right: Right::Read,
            },
        );
        let may_write = match v.kind {
            VmaKind::Device { may_write, .. }
            | VmaKind::Anonymous { may_write, .. }
            | VmaKind::Shm { may_write, .. } => v.prot.write && may_write,
            _ => v.prot.write,
        };
        self.check(
            !m.user_write() || may_write,
            Violation::MoreRights {
                va: lo,
                right: Right::Write,
            },
        );
        self.check(
            m.xn || v.prot.exec,
            Violation::MoreRights {
                va: lo,
                right: Right::Execute,
            },
        );
        let pa_lo = m.pa + (lo - m.va) as u64;
        let pa_hi = m.pa + (hi - m.va) as u64;
        let ram = (self.is_ram)(pa_lo) || (self.is_ram)(pa_hi - 1);
        match v.kind {
            VmaKind::Device { phys, mem, .. }
                if ram
                    && (!mem.is_device() || crate::drivers::chardev::owner_of(pa_lo).is_some()) =>
            {
                // A driver's RAM buffer (`drivers::dmabuf`) with the type
                // the driver chose (a Normal one, or Strongly-ordered for
                // a registered driver's own buffer, never `/dev/mem`'s):
                // exactly that type, all of it RAM
                // the allocator has handed out (to the driver: the VMA
                // owns no frame, so it is not counted as mapped memory).
                let want = phys + (lo - v.start) as u64;
                self.check(
                    m.class == Some(mem.class()),
                    Violation::Memory {
                        va: lo,
                        pa: pa_lo,
                        why: "not the driver's memory type in a Device VMA",
                    },
                );
                self.check(
                    (self.is_ram)(pa_lo) && (self.is_ram)(pa_hi - 1),
                    Violation::Memory {
                        va: lo,
                        pa: pa_lo,
                        why: "a driver's RAM buffer partly outside RAM",
                    },
                );
                // Its frames must be allocated (the driver's): listed as
                // shared, since any number of processes may map them.
                if !self.frames_incomplete {
                    let n = (hi - lo) / FRAME_SIZE as usize;
                    if self.frames.try_reserve(n).is_err() {
                        self.frames_incomplete = true;
                        self.frames = Vec::new();
                    } else {
                        for i in 0..n {
                            self.frames.push((pa_lo + i as u64 * FRAME_SIZE, true));
                        }
                    }
                }
                self.check(
                    pa_lo == want,
                    Violation::Memory {
                        va: lo,
                        pa: pa_lo,
                        why: "not the VMA's physical address",
                    },
                );
            }
            VmaKind::Device { phys, .. } => {
                let want = phys + (lo - v.start) as u64;
                let is_device_type = matches!(
                    m.class,
                    Some(MemoryClass::StronglyOrdered | MemoryClass::Device { .. })
                );
                self.check(
                    is_device_type,
                    Violation::Memory {
                        va: lo,
                        pa: pa_lo,
                        why: "Normal memory type in a Device VMA",
                    },
                );
                // RAM only through a driver that owns it with a Normal
                // type (above): never as device registers.
                self.check(
                    !ram,
                    Violation::Memory {
                        va: lo,
                        pa: pa_lo,
                        why: "RAM in a Device VMA",
                    },
                );
                self.check(
                    pa_lo == want,
                    Violation::Memory {
                        va: lo,
                        pa: pa_lo,
                        why: "not the VMA's physical address",
                    },
                );
            }
            VmaKind::Anonymous { .. }
            | VmaKind::Shm { .. }
            | VmaKind::FilePrivate { .. }
            | VmaKind::Image(_)
            | VmaKind::Stack
            | VmaKind::Heap => {
                // A private file mapping maps the page cache's frames
                // read-only: another mapping of the file may map them too.
                let shared = v.kind.is_shared()
                    || (matches!(v.kind, VmaKind::FilePrivate { .. }) && !m.user_write());
                self.check(
                    matches!(m.class, Some(MemoryClass::Normal { .. })),
                    Violation::Memory {
                        va: lo,
                        pa: pa_lo,
                        why: "device memory type in a RAM VMA",
                    },
                );
                let all_ram = (self.is_ram)(pa_lo) && (self.is_ram)(pa_hi - 1);
                self.check(
                    all_ram,
                    Violation::Memory {
                        va: lo,
                        pa: pa_lo,
                        why: "non-RAM physical address in a RAM VMA",
                    },
                );
                if all_ram && !self.frames_incomplete {
                    let n = (hi - lo) / FRAME_SIZE as usize;
                    if self.frames.try_reserve(n).is_err() {
                        self.frames_incomplete = true;
                        self.frames = Vec::new();
                    } else {
                        for i in 0..n {
                            self.frames.push((pa_lo + i as u64 * FRAME_SIZE, shared));
                        }
                    }
                }
            }
        }
    }

    /// After the walk: the frames against the allocator.
    pub fn finish(&mut self, alloc: &FrameAllocator) {
        if self.frames_incomplete {
            return;
        }
        let mut frames = core::mem::take(&mut self.frames);
        frames.sort_unstable();
        for i in 0..frames.len() {
            let (pa, shared) = frames[i];
            self.check(alloc.is_allocated(pa), Violation::FrameFree { pa });
            if i > 0 && frames[i - 1].0 == pa {
                self.check(shared && frames[i - 1].1, Violation::DoubleMapped { pa });
            }
        }
        // Distinct frames: one may be mapped more than once (a file's
        // page cache frame, in a shared and a private mapping of it).
        let mut distinct = frames.len();
        for i in 1..frames.len() {
            if frames[i - 1].0 == frames[i].0 {
                distinct -= 1;
            }
        }
        let used = alloc.used_count();
        let (free, total) = (alloc.free_count(), alloc.total());
        self.check(
            free + used == total && distinct <= used,
            Violation::FrameCount {
                free,
                used,
                total,
                mapped: distinct,
            },
        );
    }

    pub fn violation_count(&self) -> usize {
        self.violations.len() + self.dropped
    }
}

// ---- the kernel side: enabled by `armmu.audit=1` ----

static ENABLED: AtomicBool = AtomicBool::new(false);
static CHECKS: AtomicUsize = AtomicUsize::new(0);
static VIOLATIONS: AtomicUsize = AtomicUsize::new(0);

pub fn enable() {
    ENABLED.store(true, Ordering::SeqCst);
}

/// The CPU has no PXN attribute (ARMv7-A short descriptors without the
/// PXN extension, e.g. Cortex-A9): rule 5 cannot be expressed in the
/// tables and is not checked.
pub fn set_no_pxn() {
    NO_PXN.store(true, Ordering::Relaxed);
}

static NO_PXN: AtomicBool = AtomicBool::new(false);

pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// (checks, violations) so far.
pub fn totals() -> (usize, usize) {
    (
        CHECKS.load(Ordering::Relaxed),
        VIOLATIONS.load(Ordering::Relaxed),
    )
}

/// Record one audit's result (and print its violations).
pub fn record(a: &Auditor, when: &dyn fmt::Display) {
    CHECKS.fetch_add(a.checks, Ordering::Relaxed);
    VIOLATIONS.fetch_add(a.violation_count(), Ordering::Relaxed);
    for v in &a.violations {
        crate::kprintln!("audit: VIOLATION after {when}: {v}");
    }
    if a.dropped > 0 {
        crate::kprintln!("audit: VIOLATION after {when}: {} more", a.dropped);
    }
}

/// Runs its argument with the frame allocator (under the arch's lock).
pub type WithFrames<'a> = &'a dyn Fn(&mut dyn FnMut(&FrameAllocator));

/// Audit the current task: its VMAs against its table (walked by the
/// architecture), then the mapped frames against the frame allocator.
/// `with_frames` runs its argument with the allocator (under the arch's
/// memory lock, which the walk has released by then). The auditor's own
/// allocations are exempt from fault injection.
pub fn audit_current(
    with_frames: WithFrames,
    is_ram: &dyn Fn(u64) -> bool,
    when: &dyn fmt::Display,
) {
    if !enabled() {
        return;
    }
    let _exempt = crate::mm::inject::Suspend::new();
    crate::task::with_current(|t| {
        let mut a = Auditor::new(&t.space.vmas, is_ram);
        t.mmu.walk(&mut |m| a.entry(m));
        with_frames(&mut |f| a.finish(f));
        record(&a, when);
    });
}

/// Print the totals (task end).
pub fn report_totals() {
    if enabled() {
        let (c, v) = totals();
        crate::kprintln!("audit: {c} checks, {v} violations");
    }
}

#[cfg(test)]
mod tests;
