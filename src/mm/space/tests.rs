use super::*;
use crate::syscall::mm_args::{Backing, MmapRequest, Placement};
use std::collections::BTreeMap;
use std::vec::Vec;

/// A page table as a map va -> (pa, size, attrs) and a frame pool that
/// counts what is outstanding.
#[derive(Default)]
struct FakeMmu {
    map: BTreeMap<usize, (u64, usize, MapAttrs)>,
    next: u64,
    live: BTreeMap<u64, ()>,
    /// References beyond the first, per live frame.
    extra: BTreeMap<u64, usize>,
    fail_alloc: bool,
    fail_split: bool,
    /// Maps of this size fail with ENOMEM (a table that cannot be
    /// allocated); 0: never.
    fail_map_size: usize,
    /// fill_frame calls: (frame, offset, bytes).
    fills: Vec<(u64, usize, Vec<u8>)>,
}

impl Mmu for FakeMmu {
    fn map(&mut self, va: usize, pa: u64, size: usize, attrs: MapAttrs) -> Result<(), Errno> {
        if size == self.fail_map_size {
            return Err(Errno::ENOMEM);
        }
        assert!(self.is_unmapped(va, size), "map over a mapping");
        self.map.insert(va, (pa, size, attrs));
        Ok(())
    }
    fn split(&mut self, va: usize) -> Result<(), Errno> {
        if self.fail_split {
            return Err(Errno::ENOMEM);
        }
        let hit = self
            .map
            .range(..va)
            .next_back()
            .filter(|(k, v)| va < **k + v.1)
            .map(|(k, v)| (*k, *v));
        if let Some((k, (pa, s, a))) = hit {
            self.map.remove(&k);
            for off in (0..s).step_by(PAGE_SIZE) {
                self.map.insert(k + off, (pa + off as u64, PAGE_SIZE, a));
            }
        }
        Ok(())
    }
    fn unmap(&mut self, va: usize, size: usize, free: bool) -> Result<(), Errno> {
        let keys: Vec<usize> = self
            .map
            .range(..va + size)
            .filter(|(k, v)| **k + v.1 > va)
            .map(|(k, _)| *k)
            .collect();
        for k in keys {
            let (pa, s, _) = self.map.remove(&k).unwrap();
            // Like the real tables: the caller split the edges first.
            assert!(k >= va && k + s <= va + size, "unmap across a block edge");
            if free {
                for off in (0..s).step_by(PAGE_SIZE) {
                    self.free_frame(pa + off as u64);
                }
            }
        }
        Ok(())
    }
    fn protect(&mut self, va: usize, size: usize, attrs: MapAttrs) -> Result<(), Errno> {
        for (k, v) in self.map.range_mut(va..va + size) {
            assert!(*k + v.1 <= va + size);
            v.2 = attrs;
        }
        Ok(())
    }
    fn lookup(&self, va: usize) -> Option<u64> {
        self.map
            .range(..=va)
            .next_back()
            .filter(|(k, v)| va < **k + v.1)
            .map(|(k, v)| v.0 + (va - k) as u64)
    }
    // is_unmapped: the trait's default (lookup of every page).
    fn alloc_zeroed(&mut self, size: usize) -> Result<u64, Errno> {
        if self.fail_alloc {
            return Err(Errno::ENOMEM);
        }
        let pa = (self.next + size as u64 - 1) & !(size as u64 - 1);
        self.next = pa + size as u64;
        for off in (0..size).step_by(PAGE_SIZE) {
            self.live.insert(pa + off as u64, ());
        }
        Ok(pa)
    }
    fn free_frame(&mut self, pa: u64) {
        if let Some(n) = self.extra.get_mut(&pa) {
            *n -= 1;
            if *n == 0 {
                self.extra.remove(&pa);
            }
            return;
        }
        assert!(self.live.remove(&pa).is_some(), "double free of {pa:#x}");
    }
    fn share_frame(&mut self, pa: u64) -> Result<(), Errno> {
        assert!(self.live.contains_key(&pa), "share of a free frame");
        *self.extra.entry(pa).or_default() += 1;
        Ok(())
    }
    fn frame_refs(&self, pa: u64) -> usize {
        usize::from(self.live.contains_key(&pa)) + self.extra.get(&pa).copied().unwrap_or(0)
    }
    unsafe fn fill_frame(&mut self, pa: u64, off: usize, data: &[u8]) {
        self.fills.push((pa, off, data.to_vec()));
    }
    unsafe fn copy_frame(&mut self, _: u64, _: u64, _: bool) {}
    fn section_size(&self) -> usize {
        1 << 20
    }
    fn walk(&self, visit: &mut dyn FnMut(&crate::mm::audit::Mapping)) {
        for (&va, &(pa, size, a)) in &self.map {
            visit(&crate::mm::audit::Mapping {
                va,
                pa,
                size,
                class: Some(a.mem.class()),
                access: Some(a.access),
                xn: a.execute_never,
                pxn: a.privileged_execute_never,
                ng: a.not_global,
            });
        }
    }
    fn total_frames(&self) -> usize {
        // A 512 MiB machine.
        (512 << 20) / PAGE_SIZE
    }
}

fn anon(addr: usize, len: usize, placement: Placement) -> MmapRequest {
    MmapRequest {
        addr,
        len,
        prot: Prot {
            read: true,
            write: true,
            exec: false,
        },
        shared: false,
        placement,
        backing: Backing::Anonymous,
        populate: false,
        may_write: true,
        noreserve: false,
    }
}

fn space() -> AddressSpace {
    AddressSpace::new(0x8000_0000, 0x1_0000, 0x7E00_0000)
}

#[test]
fn lazy_pages_and_frames_come_back() {
    let (mut s, mut m) = (space(), FakeMmu::default());
    let a = s
        .mmap(&mut m, &anon(0, 3 * PAGE_SIZE, Placement::Hint))
        .unwrap();
    assert!(m.map.is_empty(), "nothing allocated before the first touch");
    for i in 0..3 {
        s.fault(&mut m, a + i * PAGE_SIZE + 8, Access2::Write)
            .unwrap();
    }
    assert_eq!(m.live.len(), 3);
    s.munmap(
        &mut m,
        RangeRequest {
            start: a + PAGE_SIZE,
            end: a + 2 * PAGE_SIZE,
        },
    )
    .unwrap();
    assert_eq!(m.live.len(), 2);
    assert_eq!(
        s.fault(&mut m, a + PAGE_SIZE, Access2::Read),
        Err(Errno::EFAULT),
        "hole"
    );
    s.teardown(&mut m);
    assert!(m.live.is_empty() && m.map.is_empty());
}

#[test]
fn aligned_megabyte_gets_a_section_on_first_touch() {
    let (mut s, mut m) = (space(), FakeMmu::default());
    let a = s.mmap(&mut m, &anon(0, 4 << 20, Placement::Hint)).unwrap();
    assert_eq!(a % (1 << 20), 0, "MiB multiples are placed MiB-aligned");
    s.fault(&mut m, a + 0x12345, Access2::Write).unwrap();
    assert_eq!(m.map.get(&a).map(|e| e.1), Some(1 << 20));
    assert_eq!(m.live.len(), 256);
    // Unmapping one page of the section splits it and frees one frame.
    s.munmap(
        &mut m,
        RangeRequest {
            start: a + 0x5000,
            end: a + 0x6000,
        },
    )
    .unwrap();
    assert_eq!(m.live.len(), 255);
    s.teardown(&mut m);
    assert!(m.live.is_empty());
}

#[test]
fn fixed_replaces_and_frees_and_noreplace_refuses() {
    let (mut s, mut m) = (space(), FakeMmu::default());
    let a = s
        .mmap(&mut m, &anon(0x2000_0000, 2 * PAGE_SIZE, Placement::Hint))
        .unwrap();
    assert_eq!(a, 0x2000_0000, "a free hint is honoured");
    s.fault(&mut m, a, Access2::Write).unwrap();
    assert_eq!(m.live.len(), 1);
    assert_eq!(
        s.mmap(&mut m, &anon(a, PAGE_SIZE, Placement::FixedNoReplace)),
        Err(Errno::EEXIST)
    );
    assert_eq!(s.mmap(&mut m, &anon(a, PAGE_SIZE, Placement::Fixed)), Ok(a));
    assert!(m.live.is_empty(), "the replaced page's frame is freed");
    assert!(m.lookup(a).is_none(), "and the new mapping starts empty");
}

#[test]
fn access_checks_and_protect() {
    let (mut s, mut m) = (space(), FakeMmu::default());
    let mut r = anon(0, PAGE_SIZE, Placement::Hint);
    r.prot = Prot {
        read: true,
        write: false,
        exec: false,
    };
    let a = s.mmap(&mut m, &r).unwrap();
    assert_eq!(s.fault(&mut m, a, Access2::Write), Err(Errno::EACCES));
    assert_eq!(s.fault(&mut m, a, Access2::Execute), Err(Errno::EACCES));
    s.fault(&mut m, a, Access2::Read).unwrap();
    s.mprotect(
        &mut m,
        RangeRequest {
            start: a,
            end: a + PAGE_SIZE,
        },
        Prot {
            read: true,
            write: true,
            exec: false,
        },
    )
    .unwrap();
    assert_eq!(m.map[&a].2.access, Access::UserRw);
    assert!(
        m.map[&a].2.execute_never && m.map[&a].2.privileged_execute_never && m.map[&a].2.not_global
    );
}

#[test]
fn out_of_frames_is_enomem_not_a_panic() {
    let (mut s, mut m) = (space(), FakeMmu::default());
    let a = s
        .mmap(&mut m, &anon(0, PAGE_SIZE, Placement::Hint))
        .unwrap();
    m.fail_alloc = true;
    assert_eq!(s.fault(&mut m, a, Access2::Read), Err(Errno::ENOMEM));
}

#[test]
fn brk_grows_shrinks_and_refuses_collisions() {
    let (mut s, mut m) = (space(), FakeMmu::default());
    s.brk_start = 0x10_0000;
    s.brk = 0x10_0000;
    assert_eq!(s.brk(&mut m, 0), 0x10_0000, "query");
    assert_eq!(s.brk(&mut m, 0x10_3000), 0x10_3000);
    s.fault(&mut m, 0x10_2000, Access2::Write).unwrap();
    assert_eq!(s.brk(&mut m, 0x10_1000), 0x10_1000);
    assert!(m.live.is_empty(), "shrinking frees the page");
    s.mmap(&mut m, &anon(0x10_4000, PAGE_SIZE, Placement::Fixed))
        .unwrap();
    assert_eq!(
        s.brk(&mut m, 0x10_8000),
        0x10_1000,
        "cannot grow into a mapping"
    );
}

fn ro() -> Prot {
    Prot {
        read: true,
        write: false,
        exec: false,
    }
}

fn r(start: usize, end: usize) -> RangeRequest {
    RangeRequest { start, end }
}

const P: usize = PAGE_SIZE;

#[test]
fn mprotect_changes_what_lies_before_a_hole_then_enomem() {
    // mprotect(2): "ENOMEM: Addresses in the range [addr, addr+len-1]
    // are invalid for the address space of the process, or specify one
    // or more pages that are not mapped." Linux changes the VMAs it
    // met before the hole (do_mprotect_pkey walks them in order).
    let (mut s, mut m) = (space(), FakeMmu::default());
    let a = 0x2000_0000;
    s.mmap(&mut m, &anon(a, 2 * P, Placement::Fixed)).unwrap();
    s.mmap(&mut m, &anon(a + 3 * P, P, Placement::Fixed))
        .unwrap();
    s.fault(&mut m, a, Access2::Write).unwrap();
    assert_eq!(
        s.mprotect(&mut m, r(a, a + 4 * P), ro()),
        Err(Errno::ENOMEM)
    );
    assert_eq!(
        s.vmas.find(a).unwrap().prot,
        ro(),
        "before the hole: changed"
    );
    assert_eq!(s.vmas.find(a + P).unwrap().prot, ro());
    assert!(s.vmas.find(a + 3 * P).unwrap().prot.write, "after it: not");
    assert_eq!(m.map[&a].2.access, Access::UserRo, "and the live entry too");
    // Starting in a hole: nothing changes.
    assert_eq!(
        s.mprotect(&mut m, r(a + 2 * P, a + 4 * P), Prot::default()),
        Err(Errno::ENOMEM)
    );
    assert!(s.vmas.find(a + 3 * P).unwrap().prot.write);
}

#[test]
fn dontneed_drops_private_keeps_shared_and_reports_holes() {
    let (mut s, mut m) = (space(), FakeMmu::default());
    let a = 0x2000_0000;
    s.mmap(&mut m, &anon(a, 2 * P, Placement::Fixed)).unwrap();
    let mut sh = anon(a + 3 * P, P, Placement::Fixed);
    sh.shared = true;
    s.mmap(&mut m, &sh).unwrap();
    for v in [a, a + P, a + 3 * P] {
        s.fault(&mut m, v, Access2::Write).unwrap();
    }
    let shared_pa = m.lookup(a + 3 * P).unwrap();
    // The hole at a + 2P: ENOMEM, but the mapped parts were done.
    assert_eq!(
        s.madvise(&mut m, r(a, a + 4 * P), Advice::DontNeed),
        Err(Errno::ENOMEM)
    );
    assert!(
        m.lookup(a).is_none() && m.lookup(a + P).is_none(),
        "private: dropped"
    );
    assert_eq!(m.live.len(), 1, "their frames freed");
    assert_eq!(
        m.lookup(a + 3 * P),
        Some(shared_pa),
        "shared: kept, data and all"
    );
    // Fully mapped: 0; harmless advice over a hole: ENOMEM as well.
    assert_eq!(s.madvise(&mut m, r(a, a + 2 * P), Advice::DontNeed), Ok(()));
    assert_eq!(
        s.madvise(&mut m, r(a, a + 4 * P), Advice::Hint),
        Err(Errno::ENOMEM)
    );
    assert_eq!(s.madvise(&mut m, r(a, a + 2 * P), Advice::Hint), Ok(()));
    // MADV_FREE only on private anonymous memory, REMOVE only shared.
    assert_eq!(
        s.madvise(&mut m, r(a + 3 * P, a + 4 * P), Advice::Free),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        s.madvise(&mut m, r(a, a + P), Advice::Remove),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        s.madvise(&mut m, r(a + 3 * P, a + 4 * P), Advice::Remove),
        Ok(())
    );
    assert!(
        m.lookup(a + 3 * P).is_none(),
        "REMOVE punches shared data out"
    );
}

#[test]
fn dontneed_on_a_device_mapping_is_einval() {
    let (mut s, mut m) = (space(), FakeMmu::default());
    let mut d = anon(0x3000_0000, P, Placement::Fixed);
    d.shared = true;
    d.backing = Backing::Device {
        phys: 0x0900_0000,
        mem: crate::mm::memtype::MemoryType::StronglyOrdered,
        may_write: true,
    };
    s.mmap(&mut m, &d).unwrap();
    assert_eq!(
        s.madvise(&mut m, r(0x3000_0000, 0x3000_0000 + P), Advice::DontNeed),
        Err(Errno::EINVAL)
    );
    assert_eq!(m.lookup(0x3000_0000), Some(0x0900_0000), "still mapped");
    // Teardown unmaps the registers without "freeing" them (the fake
    // panics on a free of a frame it never handed out).
    s.teardown(&mut m);
    assert!(m.map.is_empty());
}

#[test]
fn image_pages_come_from_the_file_on_first_touch_and_after_dontneed() {
    static FILE: [u8; 6000] = [0xA5; 6000];
    let (mut s, mut m) = (space(), FakeMmu::default());
    // p_vaddr 0x10100: the file bytes cover 0x10100..0x11870, .bss
    // runs on to 0x13000.
    let data = crate::mm::vma::ImageData {
        bytes: &FILE,
        va: 0x10100,
        file_offset: 0,
    };
    s.vmas
        .insert(Vma {
            start: 0x10000,
            end: 0x13000,
            prot: Prot {
                read: true,
                write: true,
                exec: false,
            },
            kind: VmaKind::Image(data),
        })
        .unwrap();
    assert!(m.map.is_empty(), "nothing allocated at exec");
    s.fault(&mut m, 0x10010, Access2::Read).unwrap();
    let pa = m.lookup(0x10000).unwrap();
    assert_eq!(m.fills, vec![(pa, 0x100, vec![0xA5; P - 0x100])]);
    s.fault(&mut m, 0x11000, Access2::Read).unwrap();
    assert_eq!(m.fills[1].1, 0);
    assert_eq!(m.fills[1].2.len(), 0x10100 + 6000 - 0x11000);
    s.fault(&mut m, 0x12000, Access2::Write).unwrap();
    assert_eq!(m.fills.len(), 2, ".bss page: zero-filled only");
    // DONTNEED, then the page comes back from the file.
    s.madvise(&mut m, r(0x10000, 0x11000), Advice::DontNeed)
        .unwrap();
    assert!(m.lookup(0x10000).is_none());
    s.fault(&mut m, 0x10000, Access2::Read).unwrap();
    assert_eq!(m.fills.len(), 3);
    assert_eq!(m.fills[2].1, 0x100);
    s.teardown(&mut m);
    assert!(m.live.is_empty());
}

#[test]
fn overcommit_heuristic_refuses_more_than_ram_in_one_request() {
    // Linux mode 0 (__vm_enough_memory): pages > totalram -> ENOMEM,
    // for accounted mappings only: private writable, shared anonymous.
    let (mut s, mut m) = (space(), FakeMmu::default());
    let big = (512 << 20) + P;
    assert_eq!(
        s.mmap(&mut m, &anon(0, big, Placement::Hint)),
        Err(Errno::ENOMEM)
    );
    let mut nr = anon(0, big, Placement::Hint);
    nr.noreserve = true;
    assert!(s.mmap(&mut m, &nr).is_ok(), "MAP_NORESERVE is exempt");
    let mut rdonly = anon(0, big, Placement::Hint);
    rdonly.prot = ro();
    assert!(
        s.mmap(&mut m, &rdonly).is_ok(),
        "read-only private: not accounted"
    );
    let mut shared_ro = rdonly;
    shared_ro.shared = true;
    assert_eq!(s.mmap(&mut m, &shared_ro), Err(Errno::ENOMEM), "shmem is");
    assert!(
        s.mmap(&mut m, &anon(0, 512 << 20, Placement::Hint)).is_ok(),
        "= RAM: ok"
    );
    // brk: the growth is accounted the same way.
    s.brk_start = 0x10_0000;
    s.brk = 0x10_0000;
    assert_eq!(s.brk(&mut m, 0x10_0000 + big), 0x10_0000);
}

#[test]
fn a_failed_split_leaves_munmap_and_mprotect_without_effect() {
    let (mut s, mut m) = (space(), FakeMmu::default());
    let a = s.mmap(&mut m, &anon(0, 4 << 20, Placement::Hint)).unwrap();
    s.fault(&mut m, a, Access2::Write).unwrap();
    assert_eq!(m.map[&a].1, 1 << 20, "a section");
    m.fail_split = true;
    let before: Vec<Vma> = s.vmas.iter().copied().collect();
    assert_eq!(s.munmap(&mut m, r(a + P, a + 2 * P)), Err(Errno::ENOMEM));
    assert_eq!(
        s.mprotect(&mut m, r(a + P, a + 2 * P), ro()),
        Err(Errno::ENOMEM)
    );
    assert_eq!(s.vmas.iter().copied().collect::<Vec<_>>(), before);
    assert_eq!(m.live.len(), 256, "nothing freed");
    m.fail_split = false;
    s.munmap(&mut m, r(a + P, a + 2 * P)).unwrap();
    assert_eq!(m.live.len(), 255);
    s.teardown(&mut m);
    assert!(m.live.is_empty() && m.map.is_empty());
}

#[test]
fn shared_read_only_zero_mapping_never_becomes_writable() {
    let (mut s, mut m) = (space(), FakeMmu::default());
    let mut z = anon(0x2000_0000, P, Placement::Fixed);
    z.prot = ro();
    z.shared = true;
    z.may_write = false;
    s.mmap(&mut m, &z).unwrap();
    let rw = Prot {
        read: true,
        write: true,
        exec: false,
    };
    assert_eq!(
        s.mprotect(&mut m, r(0x2000_0000, 0x2000_0000 + P), rw),
        Err(Errno::EACCES)
    );
    assert!(!s.vmas.find(0x2000_0000).unwrap().prot.write);
}

fn remap(
    addr: usize,
    old_len: usize,
    new_len: usize,
    flags: u32,
    new_addr: usize,
) -> MremapRequest {
    crate::syscall::mm_args::decode_mremap(addr, old_len, new_len, flags, new_addr).unwrap()
}

const MAYMOVE: u32 = crate::syscall::mm_args::MREMAP_MAYMOVE;
const FIXED: u32 = crate::syscall::mm_args::MREMAP_FIXED;
const DONTUNMAP: u32 = crate::syscall::mm_args::MREMAP_DONTUNMAP;

#[test]
fn mremap_shrinks_grows_in_place_and_moves_with_the_frames() {
    let (mut s, mut m) = (space(), FakeMmu::default());
    let a = 0x2000_0000;
    s.mmap(&mut m, &anon(a, 4 * P, Placement::Fixed)).unwrap();
    for i in 0..4 {
        s.fault(&mut m, a + i * P, Access2::Write).unwrap();
    }
    let pas: Vec<u64> = (0..4).map(|i| m.lookup(a + i * P).unwrap()).collect();
    // Shrink: the tail is unmapped and freed, the address stays.
    assert_eq!(s.mremap(&mut m, remap(a, 4 * P, 2 * P, 0, 0)), Ok(a));
    assert_eq!(m.live.len(), 2);
    assert!(s.vmas.find(a + 2 * P).is_none());
    // Grow in place: the range after it is free.
    assert_eq!(s.mremap(&mut m, remap(a, 2 * P, 3 * P, 0, 0)), Ok(a));
    assert_eq!(s.vmas.find(a).unwrap().end, a + 3 * P);
    assert_eq!(s.vmas.count(), 1, "merged");
    // Blocked after: without MAYMOVE, ENOMEM; with it, a move that
    // takes the frames along (no copy) and frees the old range.
    s.mmap(&mut m, &anon(a + 3 * P, P, Placement::Fixed))
        .unwrap();
    assert_eq!(
        s.mremap(&mut m, remap(a, 3 * P, 8 * P, 0, 0)),
        Err(Errno::ENOMEM)
    );
    let b = s
        .mremap(&mut m, remap(a, 3 * P, 8 * P, MAYMOVE, 0))
        .unwrap();
    assert_ne!(b, a);
    assert_eq!(m.lookup(b), Some(pas[0]));
    assert_eq!(m.lookup(b + P), Some(pas[1]));
    assert!(m.lookup(a).is_none() && s.vmas.find(a).is_none());
    assert_eq!(s.vmas.find(b).unwrap().end, b + 8 * P);
    assert_eq!(m.live.len(), 2, "frames moved, none leaked or copied");
    s.teardown(&mut m);
    assert!(m.live.is_empty());
}

#[test]
fn mremap_errors_as_linux() {
    let (mut s, mut m) = (space(), FakeMmu::default());
    let a = 0x2000_0000;
    s.mmap(&mut m, &anon(a, 2 * P, Placement::Fixed)).unwrap();
    // mremap(2): EFAULT "some address in the range old_address to
    // old_address+old_size is an invalid virtual memory address".
    assert_eq!(
        s.mremap(&mut m, remap(a + 4 * P, P, 2 * P, MAYMOVE, 0)),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        s.mremap(&mut m, remap(a, 3 * P, 4 * P, MAYMOVE, 0)),
        Err(Errno::EFAULT)
    );
    // EINVAL: old_size 0 on a private mapping; overlapping FIXED.
    assert_eq!(
        s.mremap(&mut m, remap(a, 0, P, MAYMOVE, 0)),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        s.mremap(&mut m, remap(a, 2 * P, 2 * P, MAYMOVE | FIXED, a + P)),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        s.mremap(&mut m, remap(a, 2 * P, 2 * P, MAYMOVE | FIXED, a + 0x800)),
        Err(Errno::EINVAL),
        "unaligned new_address"
    );
    // A device mapping cannot grow (VM_PFNMAP): EFAULT.
    let mut d = anon(0x3000_0000, P, Placement::Fixed);
    d.shared = true;
    d.backing = Backing::Device {
        phys: 0x0900_0000,
        mem: crate::mm::memtype::MemoryType::StronglyOrdered,
        may_write: true,
    };
    s.mmap(&mut m, &d).unwrap();
    assert_eq!(
        s.mremap(&mut m, remap(0x3000_0000, P, 2 * P, MAYMOVE, 0)),
        Err(Errno::EFAULT)
    );
    // Overcommit applies to the growth of accounted memory.
    assert_eq!(
        s.mremap(&mut m, remap(a, 2 * P, (600 << 20) & !(P - 1), MAYMOVE, 0)),
        Err(Errno::ENOMEM)
    );
}

#[test]
fn mremap_fixed_replaces_the_target_and_dontunmap_keeps_the_source() {
    let (mut s, mut m) = (space(), FakeMmu::default());
    let (a, t) = (0x2000_0000, 0x2800_0000);
    s.mmap(&mut m, &anon(a, 2 * P, Placement::Fixed)).unwrap();
    s.mmap(&mut m, &anon(t, 4 * P, Placement::Fixed)).unwrap();
    s.fault(&mut m, a, Access2::Write).unwrap();
    s.fault(&mut m, t + P, Access2::Write).unwrap();
    let pa = m.lookup(a).unwrap();
    assert_eq!(
        s.mremap(&mut m, remap(a, 2 * P, 2 * P, MAYMOVE | FIXED, t)),
        Ok(t)
    );
    assert_eq!(m.lookup(t), Some(pa));
    assert!(
        m.lookup(t + P).is_none(),
        "the target's old page was unmapped"
    );
    assert_eq!(m.live.len(), 1, "and its frame freed");
    assert_eq!(
        s.vmas.find(t + 3 * P).map(|v| v.end),
        Some(t + 4 * P),
        "rest kept"
    );
    assert!(s.vmas.find(a).is_none());
    // DONTUNMAP: pages move, the old range stays mapped and empty.
    let b = s
        .mremap(&mut m, remap(t, 2 * P, 2 * P, MAYMOVE | DONTUNMAP, 0))
        .unwrap();
    assert_eq!(m.lookup(b), Some(pa));
    assert!(s.vmas.find(t).is_some() && m.lookup(t).is_none());
    s.fault(&mut m, t, Access2::Read).unwrap();
    assert_ne!(m.lookup(t), Some(pa), "refaults to a fresh zero page");
    s.teardown(&mut m);
    assert!(m.live.is_empty());
}

fn prot(read: bool, write: bool, exec: bool) -> Prot {
    Prot { read, write, exec }
}

const ANON: VmaKind = VmaKind::Anonymous {
    shared: false,
    may_write: true,
};

/// Linux's ARM protection map (arch/arm/mm/mmu.c `protection_map`,
/// `__P001`..`__S111`): write implies read, exec implies read
/// (`PAGE_READONLY_EXEC`), PROT_NONE is no user access; XN unless
/// PROT_EXEC. Device memory keeps its type and is never executable.
#[test]
fn user_attrs_follow_linux_protection_map() {
    let cases = [
        (prot(false, false, false), Access::NoAccess, true),
        (prot(true, false, false), Access::UserRo, true),
        (prot(false, false, true), Access::UserRo, false),
        (prot(true, false, true), Access::UserRo, false),
        (prot(false, true, false), Access::UserRw, true),
        (prot(true, true, false), Access::UserRw, true),
    ];
    for (p, access, xn) in cases {
        let a = user_attrs(p, ANON);
        assert_eq!(a.access, access, "{p:?}");
        assert_eq!(a.execute_never, xn, "{p:?}");
        assert_eq!(a.mem, MemoryType::NormalWriteBackWriteAlloc);
        assert!(a.privileged_execute_never && a.not_global && a.shareable);
    }
    for mem in [MemoryType::StronglyOrdered, MemoryType::DeviceShareable] {
        let dev = VmaKind::Device {
            phys: 0x0900_0000,
            mem,
            may_write: true,
        };
        let a = user_attrs(prot(true, true, false), dev);
        assert_eq!((a.mem, a.access), (mem, Access::UserRw));
        assert!(a.execute_never);
        assert!(user_attrs(prot(true, false, true), dev).execute_never);
        assert!(!owns_frames(dev));
    }
    assert!(owns_frames(ANON) && owns_frames(VmaKind::Heap) && owns_frames(VmaKind::Stack));
}

/// include/uapi/asm-generic/mman-common.h numbers, accepted or not as
/// Linux 6.1's `madvise_behavior_valid` (KSM, THP configured).
#[test]
fn advice_numbers_as_linux() {
    use Advice::*;
    for n in 0..=3 {
        assert_eq!(Advice::from_linux(n), Some(Hint), "{n}");
    }
    assert_eq!(Advice::from_linux(4), Some(DontNeed));
    for n in 5..=7 {
        assert_eq!(Advice::from_linux(n), None, "{n}: no such advice");
    }
    assert_eq!(Advice::from_linux(8), Some(Free));
    assert_eq!(Advice::from_linux(9), Some(Remove));
    for n in 10..=21 {
        assert_eq!(Advice::from_linux(n), Some(Hint), "{n}");
    }
    assert_eq!(Advice::from_linux(22), Some(PopulateRead));
    assert_eq!(Advice::from_linux(23), Some(PopulateWrite));
    assert_eq!(Advice::from_linux(24), Some(DontNeed), "DONTNEED_LOCKED");
    assert_eq!(Advice::from_linux(26), None);
    assert_eq!(Advice::from_linux(usize::MAX), None);
}

/// A fault's access check (Linux `access_error` with ARM's protection
/// map): anything mapped at all is readable (write and exec imply
/// read), writes need PROT_WRITE, execution PROT_EXEC.
#[test]
fn fault_access_rules() {
    let (mut s, mut m) = (space(), FakeMmu::default());
    let a = 0x2000_0000;
    for (i, p) in [
        prot(false, true, false),
        prot(false, false, true),
        prot(false, false, false),
    ]
    .into_iter()
    .enumerate()
    {
        let mut r = anon(a + 2 * i * P, P, Placement::Fixed);
        r.prot = p;
        s.mmap(&mut m, &r).unwrap();
    }
    assert_eq!(s.fault(&mut m, a, Access2::Read), Ok(()), "write-only");
    assert_eq!(s.fault(&mut m, a, Access2::Write), Ok(()));
    assert_eq!(s.fault(&mut m, a, Access2::Execute), Err(Errno::EACCES));
    assert_eq!(
        s.fault(&mut m, a + 2 * P, Access2::Read),
        Ok(()),
        "exec-only"
    );
    assert_eq!(s.fault(&mut m, a + 2 * P, Access2::Execute), Ok(()));
    assert_eq!(
        s.fault(&mut m, a + 2 * P, Access2::Write),
        Err(Errno::EACCES)
    );
    for acc in [Access2::Read, Access2::Write, Access2::Execute] {
        assert_eq!(
            s.fault(&mut m, a + 4 * P, acc),
            Err(Errno::EACCES),
            "PROT_NONE"
        );
    }
    assert_eq!(s.fault(&mut m, a + P, Access2::Read), Err(Errno::EFAULT));
    assert_eq!(m.live.len(), 2, "one frame per resolved page");
    // A present page: nothing more allocated.
    s.fault(&mut m, a + 8, Access2::Write).unwrap();
    assert_eq!(m.live.len(), 2);
}

#[test]
fn sections_only_for_whole_aligned_anonymous_or_heap_blocks() {
    let (mut s, mut m) = (space(), FakeMmu::default());
    let mib = 1 << 20;
    // [3 MiB - P, 5 MiB + P) at 0x2030_0000 - P: the MiB at 0x2030_0000
    // and 0x2040_0000 are whole, the edges are not.
    let a = 0x2030_0000 - P;
    s.mmap(&mut m, &anon(a, 2 * mib + 2 * P, Placement::Fixed))
        .unwrap();
    s.fault(&mut m, a, Access2::Write).unwrap();
    assert_eq!(m.map[&a].1, P, "first page: its MiB is not whole");
    s.fault(&mut m, 0x2030_0000 + 5 * P, Access2::Write)
        .unwrap();
    assert_eq!(m.map[&0x2030_0000].1, mib, "a whole MiB: a section");
    s.fault(&mut m, 0x2050_0000, Access2::Write).unwrap();
    assert_eq!(m.map[&0x2050_0000].1, P, "last page: not whole");
    // A MiB that already has a page in it gets pages.
    let b = 0x2100_0000;
    s.mmap(&mut m, &anon(b, mib, Placement::Fixed)).unwrap();
    s.fault(&mut m, b + 7 * P, Access2::Write).unwrap();
    assert_eq!(m.map[&b].1, mib);
    s.madvise(&mut m, r(b, b + P), Advice::DontNeed).unwrap();
    // The dropped page comes back alone: the rest of its MiB is
    // still mapped page by page.
    s.fault(&mut m, b, Access2::Write).unwrap();
    assert_eq!(m.map[&b].1, P, "no section over present pages");
    assert_eq!(m.map[&(b + 9 * P)].1, P);
    // a page, a section, a page; b: a section less one page, plus one.
    assert_eq!(m.live.len(), 1 + 256 + 1 + 256);
    // ELF segments and stacks are not anonymous: pages.
    let d = 0x2300_0000;
    s.vmas
        .insert(Vma {
            start: d,
            end: d + mib,
            prot: prot(true, true, false),
            kind: VmaKind::Stack,
        })
        .unwrap();
    s.fault(&mut m, d + P, Access2::Write).unwrap();
    assert_eq!(m.map[&(d + P)].1, P);
    s.teardown(&mut m);
    assert!(m.live.is_empty() && m.map.is_empty());
    assert_eq!(s.vmas.count(), 0, "teardown empties the VMA set");
}

#[test]
fn brk_limits_and_page_rounding() {
    let (mut s, mut m) = (space(), FakeMmu::default());
    s.brk_start = 0x10_0800;
    s.brk = 0x10_0800;
    // Below the start or at/above the top of user space: unchanged.
    assert_eq!(s.brk(&mut m, 0x10_0000), 0x10_0800);
    assert_eq!(s.brk(&mut m, 0x8000_0000), 0x10_0800);
    // Growth inside the break's own page needs no new VMA.
    assert_eq!(s.brk(&mut m, 0x10_0900), 0x10_0900);
    assert_eq!(s.vmas.count(), 0);
    // Growth to 0x10_2001: pages [0x10_1000, 0x10_3000) become heap.
    assert_eq!(s.brk(&mut m, 0x10_2001), 0x10_2001);
    let v = *s.vmas.find(0x10_1000).unwrap();
    assert_eq!(
        (v.start, v.end, v.kind),
        (0x10_1000, 0x10_3000, VmaKind::Heap)
    );
    assert_eq!(v.prot, prot(true, true, false));
    s.fault(&mut m, 0x10_2fff, Access2::Write).unwrap();
    assert_eq!(
        s.fault(&mut m, 0x10_3000, Access2::Read),
        Err(Errno::EFAULT)
    );
    // Shrinking within the last page keeps it; below it, frees it.
    assert_eq!(s.brk(&mut m, 0x10_2800), 0x10_2800);
    assert!(m.lookup(0x10_2000).is_some());
    assert_eq!(s.brk(&mut m, 0x10_1800), 0x10_1800);
    assert!(m.lookup(0x10_2000).is_none() && m.live.is_empty());
    assert_eq!(s.vmas.find(0x10_1000).unwrap().end, 0x10_2000);
    // Shrinking when the unmap cannot split: the break stays.
    s.mmap(&mut m, &anon(0x20_0000, P, Placement::Fixed))
        .unwrap();
    assert_eq!(s.brk(&mut m, 0x1F_F000), 0x1F_F000);
    assert_eq!(
        s.vmas.find(0x1F_E000).unwrap().end,
        0x1F_F000,
        "PAGE_ALIGN(brk)"
    );
    assert!(s.vmas.find(0x1F_F000).is_none());
    s.fault(&mut m, 0x1F_E000, Access2::Write).unwrap();
    m.fail_split = true;
    assert_eq!(s.brk(&mut m, 0x10_1000), 0x1F_F000);
}

#[test]
fn mmap_placement_and_populate() {
    let (mut s, mut m) = (space(), FakeMmu::default());
    // FIXED_NOREPLACE over free space: placed there.
    assert_eq!(
        s.mmap(&mut m, &anon(0x3000_0000, P, Placement::FixedNoReplace)),
        Ok(0x3000_0000)
    );
    // FIXED_NOREPLACE overlapping only at its last page: EEXIST.
    assert_eq!(
        s.mmap(
            &mut m,
            &anon(0x3000_0000 - P, 2 * P, Placement::FixedNoReplace)
        ),
        Err(Errno::EEXIST)
    );
    // FIXED_NOREPLACE well below an existing mapping: placed.
    assert_eq!(
        s.mmap(&mut m, &anon(0x1000_0000, P, Placement::FixedNoReplace)),
        Ok(0x1000_0000)
    );
    // Beyond user space: ENOMEM.
    assert_eq!(
        s.mmap(&mut m, &anon(0x8000_0000 - P, 2 * P, Placement::Fixed)),
        Err(Errno::ENOMEM)
    );
    assert_eq!(
        s.mmap(&mut m, &anon(0x8000_0000 - 2 * P, 2 * P, Placement::Fixed)),
        Ok(0x8000_0000 - 2 * P),
        "up to the very top"
    );
    // A hint below mmap_min_addr (0x10000 here) is not honoured; the
    // kernel picks the highest free range (top-down).
    let low = s.mmap(&mut m, &anon(0x1000, P, Placement::Hint)).unwrap();
    assert_eq!(low, 0x7E00_0000 - P);
    let at = s.mmap(&mut m, &anon(0x10000, P, Placement::Hint)).unwrap();
    assert_eq!(at, 0x10000, "a hint at mmap_min_addr is honoured");
    // A MiB multiple goes to the highest free MiB-aligned place, below
    // the page just placed at the top.
    let big = s.mmap(&mut m, &anon(0, 1 << 20, Placement::Hint)).unwrap();
    assert_eq!(big, 0x7DE0_0000);
    // MAP_POPULATE right below another mapping: its own pages only.
    s.mmap(&mut m, &anon(0x4000_3000, P, Placement::Fixed))
        .unwrap();
    // MAP_POPULATE: every page present at once.
    let mut pop = anon(0x4000_0000, 3 * P, Placement::Fixed);
    pop.populate = true;
    s.mmap(&mut m, &pop).unwrap();
    for i in 0..3 {
        assert!(m.lookup(0x4000_0000 + i * P).is_some(), "page {i}");
    }
    assert_eq!(m.live.len(), 3);
    assert!(
        m.lookup(0x4000_3000).is_none(),
        "the next mapping: untouched"
    );
    // Device memory is mapped at mmap time, with its type.
    let mut d = anon(0x5000_0000, 2 * P, Placement::Fixed);
    d.shared = true;
    d.backing = Backing::Device {
        phys: 0x0900_0000,
        mem: crate::mm::memtype::MemoryType::DeviceShareable,
        may_write: true,
    };
    s.mmap(&mut m, &d).unwrap();
    assert_eq!(m.lookup(0x5000_1000), Some(0x0900_1000));
    assert_eq!(m.map[&0x5000_0000].2.mem, MemoryType::DeviceShareable);
    s.teardown(&mut m);
    assert!(m.live.is_empty());
}

#[test]
fn madvise_free_remove_and_populate_rules() {
    let (mut s, mut m) = (space(), FakeMmu::default());
    let a = 0x2000_0000;
    s.mmap(&mut m, &anon(a, 2 * P, Placement::Fixed)).unwrap();
    s.fault(&mut m, a, Access2::Write).unwrap();
    // MADV_FREE on private anonymous memory: Ok (pages may be kept).
    assert_eq!(s.madvise(&mut m, r(a, a + 2 * P), Advice::Free), Ok(()));
    // MADV_REMOVE on shared read-only memory: EACCES.
    let mut sh = anon(a + 4 * P, 2 * P, Placement::Fixed);
    sh.shared = true;
    sh.prot = ro();
    s.mmap(&mut m, &sh).unwrap();
    assert_eq!(
        s.madvise(&mut m, r(a + 4 * P, a + 6 * P), Advice::Remove),
        Err(Errno::EACCES)
    );
    // POPULATE_WRITE needs PROT_WRITE, POPULATE_READ any access.
    assert_eq!(
        s.madvise(&mut m, r(a + 4 * P, a + 6 * P), Advice::PopulateWrite),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        s.madvise(&mut m, r(a + 4 * P, a + 6 * P), Advice::PopulateRead),
        Ok(())
    );
    assert!(m.lookup(a + 4 * P).is_some() && m.lookup(a + 5 * P).is_some());
    let mut wo = anon(a + 8 * P, 2 * P, Placement::Fixed);
    wo.prot = prot(false, true, false);
    s.mmap(&mut m, &wo).unwrap();
    assert_eq!(
        s.madvise(&mut m, r(a + 8 * P, a + 10 * P), Advice::PopulateRead),
        Ok(()),
        "write implies read"
    );
    let mut none = anon(a + 12 * P, P, Placement::Fixed);
    none.prot = Prot::default();
    s.mmap(&mut m, &none).unwrap();
    assert_eq!(
        s.madvise(&mut m, r(a + 12 * P, a + 13 * P), Advice::PopulateRead),
        Err(Errno::EINVAL)
    );
    // POPULATE_WRITE over [a, a+2P) then a hole: done, then ENOMEM.
    assert_eq!(
        s.madvise(&mut m, r(a, a + 3 * P), Advice::PopulateWrite),
        Err(Errno::ENOMEM)
    );
    assert!(m.lookup(a + P).is_some());
    // Out of frames: ENOMEM.
    let mut w = anon(a + 16 * P, P, Placement::Fixed);
    w.prot = prot(true, true, false);
    s.mmap(&mut m, &w).unwrap();
    m.fail_alloc = true;
    assert_eq!(
        s.madvise(&mut m, r(a + 16 * P, a + 17 * P), Advice::PopulateWrite),
        Err(Errno::ENOMEM)
    );
    m.fail_alloc = false;
    // Devices cannot be populated.
    let mut d = anon(0x3000_0000, P, Placement::Fixed);
    d.shared = true;
    d.backing = Backing::Device {
        phys: 0x0900_0000,
        mem: crate::mm::memtype::MemoryType::StronglyOrdered,
        may_write: true,
    };
    s.mmap(&mut m, &d).unwrap();
    assert_eq!(
        s.madvise(
            &mut m,
            r(0x3000_0000, 0x3000_0000 + P),
            Advice::PopulateRead
        ),
        Err(Errno::EINVAL)
    );
    // A range that starts in a hole: the rest is done, then ENOMEM.
    assert_eq!(
        s.madvise(&mut m, r(a - P, a + P), Advice::DontNeed),
        Err(Errno::ENOMEM)
    );
    assert!(m.lookup(a).is_none(), "the mapped part was done");
    assert!(m.lookup(a + P).is_some(), "outside the range: kept");
    s.teardown(&mut m);
    assert!(m.live.is_empty());
}

#[test]
fn dontneed_inside_a_section_splits_it() {
    let (mut s, mut m) = (space(), FakeMmu::default());
    let a = s.mmap(&mut m, &anon(0, 2 << 20, Placement::Hint)).unwrap();
    s.fault(&mut m, a, Access2::Write).unwrap();
    assert_eq!(m.map[&a].1, 1 << 20);
    s.madvise(&mut m, r(a + P, a + 2 * P), Advice::DontNeed)
        .unwrap();
    assert!(m.lookup(a + P).is_none());
    assert!(m.lookup(a).is_some() && m.lookup(a + 2 * P).is_some());
    assert_eq!(m.live.len(), 255);
    m.fail_split = true;
    assert_eq!(
        s.madvise(&mut m, r(a + 4 * P, a + 5 * P), Advice::DontNeed),
        Err(Errno::ENOMEM)
    );
    assert_eq!(m.live.len(), 255, "nothing dropped");
}

#[test]
fn mremap_in_place_limits() {
    let (mut s, mut m) = (space(), FakeMmu::default());
    let top = 0x8000_0000;
    // Growing in place would pass the top of user space: only a move.
    let a = top - 2 * P;
    s.mmap(&mut m, &anon(a, 2 * P, Placement::Fixed)).unwrap();
    assert_eq!(
        s.mremap(&mut m, remap(a, 2 * P, 3 * P, 0, 0)),
        Err(Errno::ENOMEM)
    );
    let b = s
        .mremap(&mut m, remap(a, 2 * P, 3 * P, MAYMOVE, 0))
        .unwrap();
    assert!(b + 3 * P <= top && b != a);
    // Shrinking a range that runs past the top of user space: munmap's
    // EINVAL.
    let c = top - P;
    s.mmap(&mut m, &anon(c, P, Placement::Fixed)).unwrap();
    assert_eq!(
        s.mremap(&mut m, remap(c, 2 * P, P, 0, 0)),
        Err(Errno::EINVAL)
    );
    // Same size: nothing to do.
    assert_eq!(s.mremap(&mut m, remap(c, P, P, 0, 0)), Ok(c));
    assert_eq!(s.vmas.find(c).unwrap().end, top);
    // Growth of memory Linux does not account (private read-only) is
    // not limited by RAM; the VMA just grows.
    let d = 0x2000_0000;
    let mut rdonly = anon(d, P, Placement::Fixed);
    rdonly.prot = ro();
    s.mmap(&mut m, &rdonly).unwrap();
    assert_eq!(s.mremap(&mut m, remap(d, P, 600 << 20, 0, 0)), Ok(d));
    assert_eq!(s.vmas.find(d).unwrap().end, d + (600 << 20));
    // Accounted growth up to RAM in one step: fine (a request for
    // exactly RAM passes the heuristic).
    let e = 0x5000_0000;
    s.mmap(&mut m, &anon(e, P, Placement::Fixed)).unwrap();
    assert_eq!(s.mremap(&mut m, remap(e, P, P + (512 << 20), 0, 0)), Ok(e));
}

#[test]
fn mremap_old_size_zero_and_devices() {
    let (mut s, mut m) = (space(), FakeMmu::default());
    // old_size 0 on a shared mapping duplicates it on Linux: refused
    // here (EINVAL), and nothing changes.
    let a = 0x2000_0000;
    let mut sh = anon(a, 2 * P, Placement::Fixed);
    sh.shared = true;
    s.mmap(&mut m, &sh).unwrap();
    assert_eq!(
        s.mremap(&mut m, remap(a, 0, P, MAYMOVE, 0)),
        Err(Errno::EINVAL)
    );
    assert_eq!(s.vmas.count(), 1);
    // A device mapping moves at the same size (the registers follow);
    // it cannot grow, and DONTUNMAP is EINVAL (VM_PFNMAP).
    let mut d = anon(0x3000_0000, 2 * P, Placement::Fixed);
    d.shared = true;
    d.backing = Backing::Device {
        phys: 0x0900_0000,
        mem: crate::mm::memtype::MemoryType::StronglyOrdered,
        may_write: true,
    };
    s.mmap(&mut m, &d).unwrap();
    assert_eq!(
        s.mremap(
            &mut m,
            remap(0x3000_0000, 2 * P, 2 * P, MAYMOVE | DONTUNMAP, 0)
        ),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        s.mremap(
            &mut m,
            remap(0x3000_0000, 2 * P, 3 * P, MAYMOVE | FIXED, 0x3800_0000)
        ),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        s.mremap(
            &mut m,
            remap(0x3000_0000, 2 * P, 2 * P, MAYMOVE | FIXED, 0x3800_0000)
        ),
        Ok(0x3800_0000)
    );
    assert_eq!(m.lookup(0x3800_1000), Some(0x0900_1000));
    assert!(m.lookup(0x3000_0000).is_none());
    match s.vmas.find(0x3800_0000).unwrap().kind {
        VmaKind::Device { phys, .. } => assert_eq!(phys, 0x0900_0000),
        k => panic!("{k:?}"),
    }
    s.teardown(&mut m);
    assert!(m.map.is_empty());
}

#[test]
fn mremap_fixed_bounds_and_shrinking_move() {
    let (mut s, mut m) = (space(), FakeMmu::default());
    let a = 0x2000_0000;
    s.mmap(&mut m, &anon(a, 4 * P, Placement::Fixed)).unwrap();
    for i in 0..4 {
        s.fault(&mut m, a + i * P, Access2::Write).unwrap();
    }
    let pa0 = m.lookup(a).unwrap();
    // The new range must lie in user space.
    assert_eq!(
        s.mremap(
            &mut m,
            remap(a, 4 * P, 2 * P, MAYMOVE | FIXED, 0x8000_0000 - P)
        ),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        s.mremap(&mut m, remap(a, 4 * P, 0x8000_0000 + P, MAYMOVE | FIXED, 0)),
        Err(Errno::EINVAL)
    );
    assert_eq!(m.live.len(), 4, "nothing changed");
    // Just below: adjacent, not overlapping.
    assert_eq!(
        s.mremap(&mut m, remap(a, 2 * P, 2 * P, MAYMOVE | FIXED, a - 2 * P)),
        Ok(a - 2 * P)
    );
    assert_eq!(m.lookup(a - 2 * P), Some(pa0));
    // Shrinking while moving: the tail is unmapped (frames freed), the
    // head moves to the fixed place.
    let t = 0x2800_0000;
    let pa2 = m.lookup(a + 2 * P).unwrap();
    // A mapping above both ranges, which must not be touched.
    s.mmap(&mut m, &anon(0x3000_0000, P, Placement::Fixed))
        .unwrap();
    assert_eq!(
        s.mremap(&mut m, remap(a + 2 * P, 2 * P, P, MAYMOVE | FIXED, t)),
        Ok(t)
    );
    assert_eq!(m.lookup(t), Some(pa2));
    assert!(s.vmas.find(a + 3 * P).is_none() && m.lookup(a + 3 * P).is_none());
    assert!(s.vmas.find(0x3000_0000).is_some(), "above: untouched");
    assert_eq!(m.live.len(), 3);
    // Adjacent above the old range.
    assert_eq!(
        s.mremap(&mut m, remap(t, P, P, MAYMOVE | FIXED, t + P)),
        Ok(t + P)
    );
    s.teardown(&mut m);
    assert!(m.live.is_empty());
}

#[test]
fn moving_a_big_accounted_mapping_charges_only_the_growth() {
    // move_vma charges new_len - old_len (nothing for a same-size
    // move): moving 300 MiB on a 512 MiB machine is fine.
    let (mut s, mut m) = (space(), FakeMmu::default());
    let a = 0x2000_0000;
    let len = 300 << 20;
    s.mmap(&mut m, &anon(a, len, Placement::Fixed)).unwrap();
    assert_eq!(
        s.mremap(&mut m, remap(a, len, len, MAYMOVE | FIXED, 0x4000_0000)),
        Ok(0x4000_0000)
    );
    assert!(s.vmas.find(a).is_none());
    assert_eq!(s.vmas.find(0x4000_0000).unwrap().end, 0x4000_0000 + len);
    // DONTUNMAP keeps the old range: the whole new one is charged.
    // 300 MiB still fits.
    let b = s
        .mremap(&mut m, remap(0x4000_0000, len, len, MAYMOVE | DONTUNMAP, 0))
        .unwrap();
    assert!(s.vmas.find(0x4000_0000).is_some() && s.vmas.find(b).is_some());
}

#[test]
fn a_moved_elf_segment_keeps_its_file_bytes() {
    static FILE: [u8; 6000] = [0x5A; 6000];
    let (mut s, mut m) = (space(), FakeMmu::default());
    let data = crate::mm::vma::ImageData {
        bytes: &FILE,
        va: 0x10100,
        file_offset: 0,
    };
    s.vmas
        .insert(Vma {
            start: 0x10000,
            end: 0x13000,
            prot: prot(true, true, false),
            kind: VmaKind::Image(data),
        })
        .unwrap();
    s.fault(&mut m, 0x10000, Access2::Write).unwrap();
    let pa = m.lookup(0x10000).unwrap();
    s.mmap(&mut m, &anon(0x13000, P, Placement::Fixed)).unwrap();
    let b = s
        .mremap(&mut m, remap(0x10000, 3 * P, 4 * P, MAYMOVE, 0))
        .unwrap();
    assert_eq!(m.lookup(b), Some(pa), "the touched page moved");
    // The untouched second page still comes from the file: its bytes
    // are file[0xF00..] at offset 0.
    s.fault(&mut m, b + P, Access2::Read).unwrap();
    let last = m.fills.last().unwrap();
    assert_eq!(last.0, m.lookup(b + P).unwrap());
    assert_eq!((last.1, last.2.len()), (0, 0x10100 + 6000 - 0x11000));
    // The grown tail is zero (no fill).
    let fills = m.fills.len();
    s.fault(&mut m, b + 3 * P, Access2::Read).unwrap();
    assert_eq!(m.fills.len(), fills);
    s.teardown(&mut m);
    assert!(m.live.is_empty());
}

/// A range whose two ends lie in different sections: both sections
/// are split (the fake splits only the block holding the address, and
/// refuses an unmap or protect across a block edge, as the real tables
/// do), and only the range's pages go.
#[test]
fn ranges_across_two_sections_split_both_ends() {
    let mib = 1 << 20;
    for op in 0..3 {
        let (mut s, mut m) = (space(), FakeMmu::default());
        let a = s.mmap(&mut m, &anon(0, 2 * mib, Placement::Hint)).unwrap();
        s.fault(&mut m, a, Access2::Write).unwrap();
        s.fault(&mut m, a + mib, Access2::Write).unwrap();
        assert_eq!((m.map[&a].1, m.map[&(a + mib)].1), (mib, mib));
        let rr = r(a + mib - P, a + mib + P);
        match op {
            0 => s.munmap(&mut m, rr).unwrap(),
            1 => s.madvise(&mut m, rr, Advice::DontNeed).unwrap(),
            _ => s.mprotect(&mut m, rr, ro()).unwrap(),
        }
        if op < 2 {
            assert!(m.lookup(a + mib - P).is_none() && m.lookup(a + mib).is_none());
            assert_eq!(m.live.len(), 510);
        } else {
            assert_eq!(m.map[&(a + mib - P)].2.access, Access::UserRo);
            assert_eq!(m.map[&(a + mib)].2.access, Access::UserRo);
            assert_eq!(m.map[&(a + mib + P)].2.access, Access::UserRw);
            assert_eq!(m.map[&(a + mib - 2 * P)].2.access, Access::UserRw);
        }
        assert!(m.lookup(a + mib - 2 * P).is_some() && m.lookup(a + mib + P).is_some());
    }
}

/// mprotect checks VM_MAYWRITE before it splits anything: a page in
/// the middle of a section of a read-only shared /dev/zero mapping is
/// EACCES even when a split would find no memory.
#[test]
fn mprotect_refusal_comes_before_any_split() {
    let (mut s, mut m) = (space(), FakeMmu::default());
    let a = 0x2000_0000;
    let mut z = anon(a, 2 << 20, Placement::Fixed);
    z.prot = ro();
    // Private (shared memory is mapped in pages: its object's frames
    // need not be contiguous), from a read-only fd.
    z.may_write = false;
    s.mmap(&mut m, &z).unwrap();
    s.fault(&mut m, a, Access2::Read).unwrap();
    assert_eq!(m.map[&a].1, 1 << 20);
    m.fail_split = true;
    assert_eq!(
        s.mprotect(&mut m, r(a + P, a + 2 * P), prot(true, true, false)),
        Err(Errno::EACCES)
    );
    assert_eq!(m.map[&a].1, 1 << 20, "not split");
}

#[test]
fn mremap_in_place_blocked_by_a_different_mapping() {
    let (mut s, mut m) = (space(), FakeMmu::default());
    let a = 0x2000_0000;
    s.mmap(&mut m, &anon(a, 2 * P, Placement::Fixed)).unwrap();
    let mut blocker = anon(a + 2 * P, P, Placement::Fixed);
    blocker.prot = ro();
    s.mmap(&mut m, &blocker).unwrap();
    assert_eq!(s.vmas.count(), 2, "different rights: not merged");
    assert_eq!(
        s.mremap(&mut m, remap(a, 2 * P, 3 * P, 0, 0)),
        Err(Errno::ENOMEM)
    );
    assert_eq!(s.vmas.find(a + 2 * P).unwrap().prot, ro(), "blocker intact");
    assert_eq!(s.vmas.find(a).unwrap().end, a + 2 * P);
}

/// Linux's map-count guards (mm/mremap.c): move_vma refuses when
/// `map_count >= max_map_count - 3`, mremap_to when
/// `map_count + 2 >= max_map_count - 3`.
#[test]
fn mremap_map_count_limits() {
    let (mut s, mut m) = (space(), FakeMmu::default());
    let base = 0x1000_0000;
    // VMAs of one page with one-page gaps: none merge.
    let fill = |s: &mut AddressSpace, from: usize, to: usize| {
        for i in from..to {
            s.vmas
                .insert(Vma {
                    start: base + 2 * i * P,
                    end: base + 2 * i * P + P,
                    prot: prot(true, true, false),
                    kind: ANON,
                })
                .unwrap();
        }
    };
    fill(&mut s, 0, MAX_MAP_COUNT - 6);
    assert_eq!(s.vmas.count(), MAX_MAP_COUNT - 6);
    // mremap_to at count = max - 6 (+2 = max - 4 < max - 3): fine.
    assert_eq!(
        s.mremap(&mut m, remap(base, P, P, MAYMOVE | FIXED, 0x6000_0000)),
        Ok(0x6000_0000)
    );
    fill(&mut s, 0, 1);
    assert_eq!(s.vmas.count(), MAX_MAP_COUNT - 5);
    assert_eq!(
        s.mremap(&mut m, remap(base, P, P, MAYMOVE | FIXED, 0x6100_0000)),
        Err(Errno::ENOMEM),
        "count + 2 = max - 3"
    );
    // A growing move (blocked in place by the next VMA) at count =
    // max - 4: fine; at max - 3: ENOMEM.
    fill(&mut s, MAX_MAP_COUNT - 6, MAX_MAP_COUNT - 5);
    assert_eq!(s.vmas.count(), MAX_MAP_COUNT - 4);
    let moved = s.mremap(&mut m, remap(base + 2 * P, P, 3 * P, MAYMOVE, 0));
    assert!(moved.is_ok(), "{moved:?}");
    fill(&mut s, 1, 2);
    assert_eq!(s.vmas.count(), MAX_MAP_COUNT - 3);
    assert_eq!(
        s.mremap(&mut m, remap(base + 4 * P, P, 3 * P, MAYMOVE, 0)),
        Err(Errno::ENOMEM)
    );
}

/// vma_to_resize: a /dev/mem mapping (VM_PFNMAP) asked to grow from
/// old_size 0 is EFAULT (it is shared, so the old_size-0 EINVAL for
/// private mappings does not apply).
#[test]
fn mremap_device_from_old_size_zero_is_efault() {
    let (mut s, mut m) = (space(), FakeMmu::default());
    let mut d = anon(0x3000_0000, P, Placement::Fixed);
    d.shared = true;
    d.backing = Backing::Device {
        phys: 0x0900_0000,
        mem: crate::mm::memtype::MemoryType::StronglyOrdered,
        may_write: true,
    };
    s.mmap(&mut m, &d).unwrap();
    assert_eq!(
        s.mremap(&mut m, remap(0x3000_0000, 0, P, MAYMOVE, 0)),
        Err(Errno::EFAULT)
    );
}

#[test]
fn mremap_fixed_may_end_at_the_top_of_user_space() {
    let (mut s, mut m) = (space(), FakeMmu::default());
    let a = 0x2000_0000;
    s.mmap(&mut m, &anon(a, 2 * P, Placement::Fixed)).unwrap();
    let top = 0x8000_0000 - 2 * P;
    assert_eq!(
        s.mremap(&mut m, remap(a, 2 * P, 2 * P, MAYMOVE | FIXED, top)),
        Ok(top)
    );
    assert_eq!(s.vmas.find(top).unwrap().end, 0x8000_0000);
}

/// Moving the first half MiB of a section: the section is split at
/// the end of the moved range, the moved pages keep their frames, the
/// rest of the section stays where it was.
#[test]
fn moving_part_of_a_section_splits_it_at_the_end_of_the_range() {
    let (mut s, mut m) = (space(), FakeMmu::default());
    let mib = 1 << 20;
    let a = 0x2000_0000;
    s.mmap(&mut m, &anon(a, 2 * mib, Placement::Fixed)).unwrap();
    s.fault(&mut m, a, Access2::Write).unwrap();
    let pa = m.lookup(a).unwrap();
    assert_eq!(m.map[&a].1, mib);
    let t = 0x3000_0000;
    let half = mib / 2;
    assert_eq!(
        s.mremap(&mut m, remap(a, half, half, MAYMOVE | FIXED, t)),
        Ok(t)
    );
    for off in [0, P, half - P] {
        assert_eq!(m.lookup(t + off), Some(pa + off as u64));
        assert!(m.lookup(a + off).is_none());
    }
    assert_eq!(m.lookup(a + half), Some(pa + half as u64), "rest kept");
    assert!(m.lookup(t + half).is_none(), "nothing past the moved range");
    assert_eq!(m.live.len(), 256, "no frame lost or added");
    s.teardown(&mut m);
    assert!(m.live.is_empty());
}

/// brk(2) back to the start of the heap (Linux: `brk < mm->start_brk`
/// is refused, `brk == start_brk` is not): the heap is gone.
#[test]
fn brk_back_to_its_start() {
    let (mut s, mut m) = (space(), FakeMmu::default());
    s.brk_start = 0x10_0000;
    s.brk = 0x10_0000;
    assert_eq!(s.brk(&mut m, 0x10_3000), 0x10_3000);
    s.fault(&mut m, 0x10_0000, Access2::Write).unwrap();
    assert_eq!(s.brk(&mut m, 0x10_0000), 0x10_0000);
    assert_eq!(s.vmas.count(), 0);
    assert!(m.live.is_empty());
}

/// brk growth is one request to the overcommit heuristic: up to RAM
/// (512 MiB here) at once is fine, one page more is refused, into free
/// space as much as into a collision.
#[test]
fn brk_growth_is_limited_by_ram_in_one_step() {
    let (mut s, mut m) = (space(), FakeMmu::default());
    s.brk_start = 0x10_0000;
    s.brk = 0x10_0000;
    let ram = 512 << 20;
    assert_eq!(s.brk(&mut m, 0x10_0000 + ram + P), 0x10_0000);
    assert_eq!(s.vmas.count(), 0);
    assert_eq!(s.brk(&mut m, 0x10_0000 + ram), 0x10_0000 + ram);
    // And again from there: each step is its own request.
    assert_eq!(s.brk(&mut m, 0x10_0000 + 2 * ram), 0x10_0000 + 2 * ram);
}

/// A section whose map fails (no table for it) gives its frames back
/// and the fault falls back to a page; a page whose map fails gives
/// its frame back and the fault is ENOMEM.
#[test]
fn a_failed_map_in_a_fault_returns_its_frames() {
    let (mut s, mut m) = (space(), FakeMmu::default());
    let a = 0x2000_0000;
    s.mmap(&mut m, &anon(a, 1 << 20, Placement::Fixed)).unwrap();
    m.fail_map_size = 1 << 20;
    s.fault(&mut m, a + 3 * P, Access2::Write).unwrap();
    assert_eq!(m.map[&(a + 3 * P)].1, P, "fell back to a page");
    assert_eq!(m.live.len(), 1, "the section's 256 frames went back");
    m.fail_map_size = P;
    assert_eq!(
        s.fault(&mut m, a + 5 * P, Access2::Write),
        Err(Errno::ENOMEM)
    );
    assert_eq!(m.live.len(), 1);
}
