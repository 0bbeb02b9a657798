use super::*;
use crate::mm::memtype::CachePolicy;
use crate::syscall::mm_args::Prot;
use std::vec;

const RAM: u64 = 0x4000_0000;
const RAM_SIZE: u64 = 16 << 20;
const PAGE: usize = 4096;

fn is_ram(pa: u64) -> bool {
    (RAM..RAM + RAM_SIZE).contains(&pa)
}

fn rw() -> Prot {
    Prot {
        read: true,
        write: true,
        exec: false,
    }
}

fn normal() -> Option<MemoryClass> {
    Some(MemoryClass::Normal {
        inner: CachePolicy::WriteBackWriteAlloc,
        outer: CachePolicy::WriteBackWriteAlloc,
    })
}

/// A correct user RW data page.
fn good(va: usize, pa: u64) -> Mapping {
    Mapping {
        va,
        pa,
        size: PAGE,
        class: normal(),
        access: Some(Access::UserRw),
        xn: true,
        pxn: true,
        ng: true,
    }
}

/// A fake address space: VMAs, a "page table" (list of mappings) and a
/// frame allocator in which the mapped frames are allocated.
struct Fake {
    vmas: VmaSet,
    table: Vec<Mapping>,
    frames: FrameAllocator,
}

impl Fake {
    fn new() -> Self {
        let mut vmas = VmaSet::new(100);
        vmas.insert(Vma {
            start: 0x10_0000,
            end: 0x10_4000,
            prot: rw(),
            kind: VmaKind::Anonymous {
                shared: false,
                may_write: true,
            },
        })
        .unwrap();
        vmas.insert(Vma {
            start: 0x20_0000,
            end: 0x20_2000,
            prot: Prot {
                read: true,
                write: false,
                exec: true,
            },
            kind: VmaKind::Image(crate::mm::vma::ImageData::ZERO),
        })
        .unwrap();
        vmas.insert(Vma {
            start: 0x30_0000,
            end: 0x30_1000,
            prot: rw(),
            kind: VmaKind::Device {
                phys: 0x0900_0000,
                mem: crate::mm::memtype::MemoryType::StronglyOrdered,
                may_write: true,
            },
        })
        .unwrap();
        let mut frames = FrameAllocator::new(RAM, RAM_SIZE);
        let a = frames.alloc().unwrap();
        let b = frames.alloc().unwrap();
        let text = frames.alloc().unwrap();
        let table = vec![
            good(0x10_0000, a),
            good(0x10_1000, b),
            Mapping {
                access: Some(Access::UserRo),
                xn: false,
                ..good(0x20_0000, text)
            },
            Mapping {
                class: Some(MemoryClass::StronglyOrdered),
                ..good(0x30_0000, 0x0900_0000)
            },
        ];
        Fake {
            vmas,
            table,
            frames,
        }
    }

    fn audit(&self) -> Vec<Violation> {
        let ram = is_ram;
        let mut a = Auditor::new(&self.vmas, &ram);
        for m in &self.table {
            a.entry(m);
        }
        a.finish(&self.frames);
        assert!(a.checks > 0);
        a.violations
    }

    /// Apply `f` to entry `i` and return the violations.
    fn with(mut self, i: usize, f: impl FnOnce(&mut Mapping)) -> Vec<Violation> {
        f(&mut self.table[i]);
        self.audit()
    }
}

#[test]
fn a_consistent_space_has_no_violation() {
    assert_eq!(Fake::new().audit(), vec![]);
}

#[test]
fn entry_outside_any_vma() {
    let mut f = Fake::new();
    let pa = f.frames.alloc().unwrap();
    f.table.push(good(0x10_4000, pa));
    assert_eq!(f.audit(), vec![Violation::OutsideVma { va: 0x10_4000 }]);
}

#[test]
fn block_reaching_past_its_vma() {
    // A 64 KiB block whose first 16 KiB are the VMA.
    let mut f = Fake::new();
    f.table.truncate(0);
    let pa = f.frames.alloc_contiguous(16, 16).unwrap();
    f.table.push(Mapping {
        size: 0x1_0000,
        ..good(0x10_0000, pa)
    });
    let v = f.audit();
    assert!(
        v.contains(&Violation::OutsideVma { va: 0x10_4000 }),
        "{v:?}"
    );
}

#[test]
fn write_right_beyond_the_vma() {
    let v = Fake::new().with(2, |m| m.access = Some(Access::UserRw));
    assert!(v.contains(&Violation::MoreRights {
        va: 0x20_0000,
        right: Right::Write
    }));
}

#[test]
fn execute_right_beyond_the_vma() {
    let v = Fake::new().with(0, |m| {
        m.xn = false;
        m.access = Some(Access::UserRo)
    });
    assert_eq!(
        v,
        vec![Violation::MoreRights {
            va: 0x10_0000,
            right: Right::Execute
        }]
    );
}

#[test]
fn read_right_in_a_prot_none_vma() {
    let mut f = Fake::new();
    f.vmas
        .protect(
            0x10_0000,
            0x10_1000,
            Prot {
                read: false,
                write: false,
                exec: false,
            },
        )
        .unwrap();
    f.table[0].access = Some(Access::UserRo);
    assert_eq!(
        f.audit(),
        vec![Violation::MoreRights {
            va: 0x10_0000,
            right: Right::Read
        }]
    );
}

#[test]
fn device_vma_read_only_never_writable() {
    let mut f = Fake::new();
    f.vmas.remove(0x30_0000, 0x30_1000).unwrap();
    f.vmas
        .insert(Vma {
            start: 0x30_0000,
            end: 0x30_1000,
            prot: Prot {
                read: true,
                write: false,
                exec: false,
            },
            kind: VmaKind::Device {
                phys: 0x0900_0000,
                mem: crate::mm::memtype::MemoryType::StronglyOrdered,
                may_write: false,
            },
        })
        .unwrap();
    assert_eq!(
        f.audit(),
        vec![Violation::MoreRights {
            va: 0x30_0000,
            right: Right::Write
        }]
    );
}

#[test]
fn writable_and_executable() {
    // The text page made writable while staying executable.
    let v = Fake::new().with(2, |m| m.access = Some(Access::UserRw));
    assert!(v.contains(&Violation::WriteExec { va: 0x20_0000 }), "{v:?}");
    // Kernel-writable (user read-only) and user-executable counts too.
    let v = Fake::new().with(2, |m| m.access = Some(Access::KernelRwUserRo));
    assert_eq!(v, vec![Violation::WriteExec { va: 0x20_0000 }]);
}

#[test]
fn global_user_entry() {
    let v = Fake::new().with(1, |m| m.ng = false);
    assert_eq!(v, vec![Violation::Global { va: 0x10_1000 }]);
}

#[test]
fn kernel_executable_user_page() {
    // What an ARMv7-A L1 page-table descriptor without PXN gives every
    // page below it.
    let v = Fake::new().with(2, |m| m.pxn = false);
    assert_eq!(v, vec![Violation::KernelExecutable { va: 0x20_0000 }]);
}

#[test]
fn kernel_executable_and_writable_is_also_wx() {
    let v = Fake::new().with(0, |m| m.pxn = false);
    assert_eq!(
        v,
        vec![
            Violation::KernelExecutable { va: 0x10_0000 },
            Violation::WriteExec { va: 0x10_0000 }
        ]
    );
}

#[test]
fn device_type_in_a_ram_vma() {
    let v = Fake::new().with(0, |m| {
        m.class = Some(MemoryClass::Device { shareable: true })
    });
    assert!(
        matches!(v[..], [Violation::Memory { va: 0x10_0000, .. }]),
        "{v:?}"
    );
}

#[test]
fn device_address_in_a_ram_vma() {
    let mut f = Fake::new();
    let freed = f.table[0].pa;
    f.frames.free(freed).unwrap();
    f.table[0].pa = 0x0900_0000;
    let v = f.audit();
    assert!(
        matches!(v[..], [Violation::Memory { va: 0x10_0000, .. }]),
        "{v:?}"
    );
}

#[test]
fn normal_type_in_a_device_vma() {
    let v = Fake::new().with(3, |m| m.class = normal());
    assert!(
        matches!(v[..], [Violation::Memory { va: 0x30_0000, .. }]),
        "{v:?}"
    );
}

#[test]
fn ram_in_a_device_vma() {
    let mut f = Fake::new();
    let pa = f.frames.alloc().unwrap();
    f.table[3].pa = pa;
    let v = f.audit();
    let whys: Vec<&str> = v
        .iter()
        .filter_map(|x| match x {
            Violation::Memory { why, .. } => Some(*why),
            _ => None,
        })
        .collect();
    assert!(whys.contains(&"RAM in a Device VMA"), "{v:?}");
}

#[test]
fn reserved_encodings() {
    let v = Fake::new().with(1, |m| m.access = None);
    assert_eq!(v, vec![Violation::Undecodable { va: 0x10_1000 }]);
}

#[test]
fn frame_mapped_twice() {
    let mut f = Fake::new();
    let pa = f.table[0].pa;
    f.table[1].pa = pa;
    assert_eq!(f.audit(), vec![Violation::DoubleMapped { pa }]);
}

#[test]
fn frame_mapped_twice_is_fine_in_shared_mappings() {
    let mut f = Fake::new();
    f.vmas.remove(0x10_0000, 0x10_4000).unwrap();
    f.vmas
        .insert(Vma {
            start: 0x10_0000,
            end: 0x10_4000,
            prot: rw(),
            kind: VmaKind::Anonymous {
                shared: true,
                may_write: true,
            },
        })
        .unwrap();
    let pa = f.table[0].pa;
    f.table[1].pa = pa;
    assert_eq!(f.audit(), vec![]);
}

#[test]
fn mapped_frame_that_is_free() {
    let mut f = Fake::new();
    let pa = f.table[1].pa;
    f.frames.free(pa).unwrap();
    let v = f.audit();
    assert_eq!(v[0], Violation::FrameFree { pa });
    // 3 RAM frames mapped, 2 in use.
    assert!(matches!(
        v[1..],
        [Violation::FrameCount {
            used: 2,
            mapped: 3,
            ..
        }]
    ));
}

#[test]
fn more_frames_mapped_than_in_use() {
    // Every frame freed but still mapped: FrameFree for each, and the
    // count check (3 mapped RAM frames, 0 used).
    let mut f = Fake::new();
    for i in 0..3 {
        let pa = f.table[i].pa;
        f.frames.free(pa).unwrap();
    }
    let v = f.audit();
    assert!(
        v.iter().any(|x| matches!(
            x,
            Violation::FrameCount {
                used: 0,
                mapped: 3,
                ..
            }
        )),
        "{v:?}"
    );
}

#[test]
fn free_plus_used_must_be_total() {
    let mut f = Fake::new();
    let free = f.frames.free_count();
    f.frames.corrupt_free_count(free + 1);
    let v = f.audit();
    assert!(matches!(v[..], [Violation::FrameCount { .. }]), "{v:?}");
}

#[test]
fn used_count_counts_bits_not_the_counter() {
    // 70 frames: a partial last word whose padding bits are set.
    let mut a = FrameAllocator::new(RAM, 70 * FRAME_SIZE);
    assert_eq!(a.used_count(), 0);
    a.alloc().unwrap();
    a.alloc_contiguous(4, 4).unwrap();
    assert_eq!(a.used_count(), 5);
    assert_eq!(a.used_count() + a.free_count(), 70);
}

// ---- the auditor over the real AddressSpace, with a page-table fake
// whose next table operation can be made to fail (as a table split does
// when no frame or heap is left) ----

use crate::errno::Errno;
use crate::mm::memtype::MapAttrs;
use crate::mm::space::{Access2, AddressSpace, Mmu};
use crate::syscall::mm_args::{Backing, MmapRequest, Placement, RangeRequest};
use std::collections::BTreeMap;

/// 4 KiB entries only; `fail_next` makes the next unmap/protect fail
/// with nothing changed (all-or-nothing, like a split that cannot get
/// its table).
struct PageMmu {
    pages: BTreeMap<usize, (u64, MapAttrs)>,
    frames: FrameAllocator,
    fail_next: bool,
}

impl Mmu for PageMmu {
    fn map(&mut self, va: usize, pa: u64, size: usize, a: MapAttrs) -> Result<(), Errno> {
        for off in (0..size).step_by(PAGE) {
            self.pages.insert(va + off, (pa + off as u64, a));
        }
        Ok(())
    }
    fn split(&mut self, _va: usize) -> Result<(), Errno> {
        // Pages only: nothing to split, but the split is where a real
        // table needs memory, so that is where the failure comes.
        if std::mem::take(&mut self.fail_next) {
            return Err(Errno::ENOMEM);
        }
        Ok(())
    }
    fn unmap(&mut self, va: usize, size: usize, free: bool) -> Result<(), Errno> {
        let keys: Vec<usize> = self.pages.range(va..va + size).map(|(k, _)| *k).collect();
        for k in keys {
            let (pa, _) = self.pages.remove(&k).unwrap();
            if free {
                self.frames.free(pa).unwrap();
            }
        }
        Ok(())
    }
    fn protect(&mut self, va: usize, size: usize, a: MapAttrs) -> Result<(), Errno> {
        for (_, e) in self.pages.range_mut(va..va + size) {
            e.1 = a;
        }
        Ok(())
    }
    fn lookup(&self, va: usize) -> Option<u64> {
        self.pages.get(&(va & !(PAGE - 1))).map(|e| e.0)
    }
    fn alloc_zeroed(&mut self, size: usize) -> Result<u64, Errno> {
        if size != PAGE {
            return Err(Errno::ENOMEM); // pages only
        }
        self.frames.alloc()
    }
    fn free_frame(&mut self, pa: u64) {
        self.frames.free(pa).unwrap();
    }
    unsafe fn fill_frame(&mut self, _: u64, _: usize, _: &[u8]) {}
    unsafe fn copy_frame(&mut self, _: u64, _: u64, _: bool) {}
    fn section_size(&self) -> usize {
        1 << 20
    }
    fn total_frames(&self) -> usize {
        self.frames.total()
    }
    fn walk(&self, visit: &mut dyn FnMut(&Mapping)) {
        for (&va, &(pa, a)) in &self.pages {
            visit(&Mapping {
                va,
                pa,
                size: PAGE,
                class: Some(a.mem.class()),
                access: Some(a.access),
                xn: a.execute_never,
                pxn: a.privileged_execute_never,
                ng: a.not_global,
            });
        }
    }
}

fn page_mmu() -> PageMmu {
    PageMmu {
        pages: BTreeMap::new(),
        frames: FrameAllocator::new(RAM, RAM_SIZE),
        fail_next: false,
    }
}

fn audit_space(s: &AddressSpace, m: &PageMmu) -> Vec<Violation> {
    let ram = is_ram;
    let mut a = Auditor::new(&s.vmas, &ram);
    m.walk(&mut |x| a.entry(x));
    a.finish(&m.frames);
    a.violations
}

/// 8 touched RW pages at 0x100000.
fn populated() -> (AddressSpace, PageMmu, usize) {
    let mut s = AddressSpace::new(0x8000_0000, 0x1_0000, 0x7E00_0000);
    let mut m = page_mmu();
    let req = MmapRequest {
        addr: 0x10_0000,
        len: 8 * PAGE,
        prot: rw(),
        shared: false,
        placement: Placement::Fixed,
        backing: Backing::Anonymous,
        populate: false,
        may_write: true,
        noreserve: false,
    };
    let a = s.mmap(&mut m, &req).unwrap();
    for i in 0..8 {
        s.fault(&mut m, a + i * PAGE, Access2::Write).unwrap();
    }
    (s, m, a)
}

#[test]
fn address_space_operations_leave_no_violation() {
    let (mut s, mut m, a) = populated();
    assert_eq!(audit_space(&s, &m), vec![]);
    let ro = Prot {
        read: true,
        write: false,
        exec: false,
    };
    let r = |lo: usize, hi: usize| RangeRequest {
        start: a + lo * PAGE,
        end: a + hi * PAGE,
    };
    s.mprotect(&mut m, r(2, 4), ro).unwrap();
    assert_eq!(audit_space(&s, &m), vec![]);
    s.munmap(&mut m, r(5, 6)).unwrap();
    assert_eq!(audit_space(&s, &m), vec![]);
    s.madvise(&mut m, r(0, 1), crate::mm::space::Advice::DontNeed)
        .unwrap();
    assert_eq!(audit_space(&s, &m), vec![]);
    s.teardown(&mut m);
    assert_eq!(audit_space(&s, &m), vec![]);
    assert_eq!(m.frames.free_count(), m.frames.total());
}

#[test]
fn a_failing_table_operation_leaves_vmas_and_table_in_agreement() {
    // munmap: ENOMEM must leave the page mapped *and* in its VMA (Linux:
    // a failed split changes nothing). Before main's cf0f290 the VMA was
    // gone and the page stayed mapped outside any VMA (its frame leaked).
    let (mut s, mut m, a) = populated();
    m.fail_next = true;
    let one = RangeRequest {
        start: a + PAGE,
        end: a + 2 * PAGE,
    };
    assert_eq!(s.munmap(&mut m, one), Err(Errno::ENOMEM));
    assert_eq!(audit_space(&s, &m), vec![], "after a failed munmap");
    // mprotect: before cf0f290 the VMA became read-only while the entry
    // stayed RW.
    let (mut s, mut m, _) = populated();
    m.fail_next = true;
    let ro = Prot {
        read: true,
        write: false,
        exec: false,
    };
    assert_eq!(s.mprotect(&mut m, one, ro), Err(Errno::ENOMEM));
    assert_eq!(audit_space(&s, &m), vec![], "after a failed mprotect");
}

#[test]
fn violations_beyond_64_are_counted_not_kept() {
    let vmas = VmaSet::new(1);
    let ram = is_ram;
    let mut a = Auditor::new(&vmas, &ram);
    for va in 0..70 {
        a.check(false, Violation::OutsideVma { va });
    }
    a.check(true, Violation::OutsideVma { va: 99 });
    assert_eq!(a.checks, 71);
    assert_eq!(a.violations.len(), 64);
    assert_eq!(a.violations[63], Violation::OutsideVma { va: 63 });
    assert_eq!(a.dropped, 6);
    assert_eq!(a.violation_count(), 70);
}

#[test]
fn record_adds_to_the_totals() {
    // The only host test that records: the totals move by exactly this
    // audit's numbers.
    let vmas = VmaSet::new(1);
    let ram = is_ram;
    let mut a = Auditor::new(&vmas, &ram);
    for va in 0..66 {
        a.check(va % 2 == 0, Violation::Global { va });
    }
    let (c0, v0) = totals();
    record(&a, &"test");
    assert_eq!(totals(), (c0 + 66, v0 + 33));
}

#[test]
fn violation_messages() {
    let cases: [(Violation, &str); 10] = [
        (
            Violation::OutsideVma { va: 0x1000 },
            "entry at 0x1000 outside any VMA",
        ),
        (
            Violation::MoreRights {
                va: 0x2000,
                right: Right::Write,
            },
            "entry at 0x2000 grants Write its VMA does not",
        ),
        (
            Violation::WriteExec { va: 0x3000 },
            "entry at 0x3000 is writable and executable",
        ),
        (
            Violation::Global { va: 0x4000 },
            "user entry at 0x4000 is global (nG clear)",
        ),
        (
            Violation::KernelExecutable { va: 0x5000 },
            "user entry at 0x5000 is executable by the kernel (PXN clear)",
        ),
        (
            Violation::Memory {
                va: 0x6000,
                pa: 0x4000_0000,
                why: "why",
            },
            "entry at 0x6000 -> 0x40000000: why",
        ),
        (
            Violation::Undecodable { va: 0x7000 },
            "entry at 0x7000 has a reserved type or AP encoding",
        ),
        (
            Violation::FrameFree { pa: 0x4000_1000 },
            "mapped frame 0x40001000 is free in the allocator",
        ),
        (
            Violation::DoubleMapped { pa: 0x4000_2000 },
            "frame 0x40002000 mapped twice",
        ),
        (
            Violation::FrameCount {
                free: 1,
                used: 2,
                total: 4,
                mapped: 3,
            },
            "frame counts: free 1 + used 2 != total 4, or mapped 3 > used",
        ),
    ];
    for (v, want) in cases {
        assert_eq!(std::format!("{v}"), want);
    }
}

#[test]
fn entries_the_user_cannot_touch_fit_a_prot_none_vma() {
    // A PROT_NONE VMA may hold pages (mprotect(PROT_NONE) keeps them) as
    // long as the user can neither read, write nor execute them.
    let mut f = Fake::new();
    f.vmas
        .insert(Vma {
            start: 0x40_0000,
            end: 0x40_3000,
            prot: Prot::NONE,
            kind: VmaKind::Anonymous {
                shared: false,
                may_write: true,
            },
        })
        .unwrap();
    for (i, access) in [Access::NoAccess, Access::KernelRw, Access::KernelRo]
        .into_iter()
        .enumerate()
    {
        let pa = f.frames.alloc().unwrap();
        f.table.push(Mapping {
            access: Some(access),
            ..good(0x40_0000 + i * PAGE, pa)
        });
    }
    assert_eq!(f.audit(), vec![]);
    // A user-readable one does not.
    let last = f.table.pop().unwrap();
    f.table.push(Mapping {
        access: Some(Access::UserRo),
        ..last
    });
    assert_eq!(
        f.audit(),
        vec![Violation::MoreRights {
            va: 0x40_2000,
            right: Right::Read
        }]
    );
}

#[test]
fn write_only_and_exec_only_vmas_may_be_readable() {
    // ARM cannot map a page writable or executable without making it
    // readable, so Linux's PROT_WRITE and PROT_EXEC imply reading: a
    // user-readable entry is no extra right in such a VMA.
    for (prot, access, xn) in [
        (
            Prot {
                read: false,
                write: true,
                exec: false,
            },
            Access::UserRw,
            true,
        ),
        (
            Prot {
                read: false,
                write: false,
                exec: true,
            },
            Access::UserRo,
            false,
        ),
    ] {
        let mut f = Fake::new();
        f.vmas
            .insert(Vma {
                start: 0x40_0000,
                end: 0x40_1000,
                prot,
                kind: VmaKind::Heap,
            })
            .unwrap();
        let pa = f.frames.alloc().unwrap();
        f.table.push(Mapping {
            access: Some(access),
            xn,
            ..good(0x40_0000, pa)
        });
        assert_eq!(f.audit(), vec![], "{prot:?}");
    }
}

#[test]
fn user_write_needs_a_writable_vma_even_if_it_may_become_one() {
    // VM_MAYWRITE only allows a later mprotect(PROT_WRITE); until then a
    // user-writable entry in the read-only VMA is an extra right.
    let mut f = Fake::new();
    f.vmas
        .insert(Vma {
            start: 0x40_0000,
            end: 0x40_1000,
            prot: Prot {
                read: true,
                write: false,
                exec: false,
            },
            kind: VmaKind::Anonymous {
                shared: false,
                may_write: true,
            },
        })
        .unwrap();
    let pa = f.frames.alloc().unwrap();
    f.table.push(good(0x40_0000, pa));
    assert_eq!(
        f.audit(),
        vec![Violation::MoreRights {
            va: 0x40_0000,
            right: Right::Write
        }]
    );
}

#[test]
fn a_block_over_two_vmas_is_checked_piece_by_piece() {
    // One 8 KiB entry over a RW and a read-only anonymous VMA: its second
    // page is the frame right after its first, allocated, mapped once.
    let mut f = Fake::new();
    let ro = Prot {
        read: true,
        write: false,
        exec: false,
    };
    for (start, prot) in [(0x40_0000, rw()), (0x40_1000, ro)] {
        f.vmas
            .insert(Vma {
                start,
                end: start + PAGE,
                prot,
                kind: VmaKind::Anonymous {
                    shared: false,
                    may_write: true,
                },
            })
            .unwrap();
    }
    let pa = f.frames.alloc_contiguous(2, 1).unwrap();
    f.table.push(Mapping {
        size: 2 * PAGE,
        access: Some(Access::UserRo),
        ..good(0x40_0000, pa)
    });
    assert_eq!(f.audit(), vec![]);
    // The second frame free: reported at its own address, and now one
    // more frame is mapped (5: a, b, text and these two) than in use.
    f.frames.free(pa + PAGE as u64).unwrap();
    assert_eq!(
        f.audit(),
        vec![
            Violation::FrameFree {
                pa: pa + PAGE as u64
            },
            Violation::FrameCount {
                free: 4092,
                used: 4,
                total: 4096,
                mapped: 5
            }
        ]
    );
}

fn device_vma(start: usize, pages: usize, phys: u64) -> Vma {
    Vma {
        start,
        end: start + pages * PAGE,
        prot: rw(),
        kind: VmaKind::Device {
            phys,
            mem: crate::mm::memtype::MemoryType::StronglyOrdered,
            may_write: true,
        },
    }
}

fn device(va: usize, pa: u64, size: usize) -> Mapping {
    Mapping {
        class: Some(MemoryClass::StronglyOrdered),
        size,
        ..good(va, pa)
    }
}

#[test]
fn device_pages_at_an_offset_map_the_vma_s_physical_address_plus_it() {
    let mut f = Fake::new();
    f.vmas
        .insert(device_vma(0x50_0000, 2, 0x0A00_0000))
        .unwrap();
    f.table.push(device(0x50_1000, 0x0A00_1000, PAGE));
    assert_eq!(f.audit(), vec![]);
    f.table.pop();
    f.table.push(device(0x50_1000, 0x0A00_0000, PAGE));
    assert_eq!(
        f.audit(),
        vec![Violation::Memory {
            va: 0x50_1000,
            pa: 0x0A00_0000,
            why: "not the VMA's physical address"
        }]
    );
}

#[test]
fn device_ranges_touching_ram_count_as_ram_only_if_they_overlap_it() {
    // Ending exactly where RAM starts: no RAM in it.
    let mut f = Fake::new();
    f.vmas
        .insert(device_vma(0x50_0000, 2, RAM - 0x2000))
        .unwrap();
    f.table.push(device(0x50_0000, RAM - 0x2000, 2 * PAGE));
    assert_eq!(f.audit(), vec![]);
    // Running one page into RAM: RAM in a Device VMA.
    let mut f = Fake::new();
    f.vmas
        .insert(device_vma(0x50_0000, 2, RAM - 0x1000))
        .unwrap();
    f.table.push(device(0x50_0000, RAM - 0x1000, 2 * PAGE));
    assert_eq!(
        f.audit(),
        vec![Violation::Memory {
            va: 0x50_0000,
            pa: RAM - 0x1000,
            why: "RAM in a Device VMA"
        }]
    );
}

#[test]
fn ram_vma_pages_must_lie_wholly_in_ram() {
    let end = RAM + RAM_SIZE;
    // The last RAM frame, allocated: fine.
    let mut f = Fake::new();
    f.frames.reserve(end - 0x1000, end);
    f.vmas
        .insert(Vma {
            start: 0x40_0000,
            end: 0x40_2000,
            prot: rw(),
            kind: VmaKind::Heap,
        })
        .unwrap();
    f.table.push(good(0x40_0000, end - 0x1000));
    assert_eq!(f.audit(), vec![]);
    // Two pages from there: the second one is past RAM.
    f.table.pop();
    f.table.push(Mapping {
        size: 2 * PAGE,
        ..good(0x40_0000, end - 0x1000)
    });
    assert_eq!(
        f.audit(),
        vec![Violation::Memory {
            va: 0x40_0000,
            pa: end - 0x1000,
            why: "non-RAM physical address in a RAM VMA"
        }]
    );
}

#[test]
fn every_frame_of_a_block_counts_once() {
    // An 8 KiB entry in a RAM VMA maps two distinct frames, both
    // allocated: nothing is double-mapped or free.
    let mut f = Fake::new();
    let pa = f.frames.alloc_contiguous(2, 1).unwrap();
    f.table.push(Mapping {
        size: 2 * PAGE,
        ..good(0x10_2000, pa)
    });
    assert_eq!(f.audit(), vec![]);
    f.frames.free(pa + PAGE as u64).unwrap();
    assert_eq!(
        f.audit(),
        vec![
            Violation::FrameFree {
                pa: pa + PAGE as u64
            },
            Violation::FrameCount {
                free: 4092,
                used: 4,
                total: 4096,
                mapped: 5
            }
        ]
    );
}

#[test]
fn frame_shared_with_a_private_mapping_is_double_mapped() {
    // Only shared mappings may share a frame: a frame in a shared VMA and
    // also in a private one is one mapping too many, in either order.
    for shared_first in [true, false] {
        let mut f = Fake::new();
        f.vmas.remove(0x10_0000, 0x10_4000).unwrap();
        for (start, shared) in [(0x10_0000, shared_first), (0x10_1000, !shared_first)] {
            f.vmas
                .insert(Vma {
                    start,
                    end: start + PAGE,
                    prot: rw(),
                    kind: VmaKind::Anonymous {
                        shared,
                        may_write: true,
                    },
                })
                .unwrap();
        }
        let pa = f.table[0].pa;
        f.table[1].pa = pa;
        assert_eq!(f.audit(), vec![Violation::DoubleMapped { pa }]);
    }
}

/// A driver's RAM buffer (`/dev/dmabuf0`) in a Device VMA with the Normal
/// type the driver chose.
fn buffer_vma(start: usize, phys: u64, mem: crate::mm::memtype::MemoryType) -> Vma {
    Vma {
        start,
        end: start + PAGE,
        prot: rw(),
        kind: VmaKind::Device {
            phys,
            mem,
            may_write: true,
        },
    }
}

#[test]
fn a_driver_buffer_on_ram_must_have_exactly_the_vma_s_type_and_be_allocated() {
    use crate::mm::memtype::MemoryType;
    let nc = MemoryClass::Normal {
        inner: CachePolicy::NonCacheable,
        outer: CachePolicy::NonCacheable,
    };
    let mut f = Fake::new();
    let pa = f.frames.alloc().unwrap();
    f.vmas
        .insert(buffer_vma(0x50_0000, pa, MemoryType::NormalNonCacheable))
        .unwrap();
    f.table.push(Mapping {
        class: Some(nc),
        ..good(0x50_0000, pa)
    });
    assert_eq!(f.audit(), vec![]);
    // Mapped write-back instead: the mismatch the driver must prevent.
    f.table.pop();
    f.table.push(good(0x50_0000, pa));
    assert_eq!(
        f.audit(),
        vec![Violation::Memory {
            va: 0x50_0000,
            pa,
            why: "not the driver's memory type in a Device VMA"
        }]
    );
    // A free frame behind it.
    let mut f = Fake::new();
    let free = RAM + RAM_SIZE - FRAME_SIZE;
    f.vmas
        .insert(buffer_vma(0x50_0000, free, MemoryType::NormalNonCacheable))
        .unwrap();
    f.table.push(Mapping {
        class: Some(nc),
        ..good(0x50_0000, free)
    });
    let v = f.audit();
    // (and one more frame mapped than the allocator has in use)
    assert_eq!(v[0], Violation::FrameFree { pa: free }, "{v:?}");
    assert!(matches!(v[1..], [Violation::FrameCount { .. }]), "{v:?}");
}
