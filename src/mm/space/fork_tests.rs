//! fork, copy-on-write, shared memory objects, futex keys, /proc maps:
//! against a fake machine that holds real page contents and a real frame
//! allocator (with reference counts) shared by every address space.

use super::*;
use crate::mm::audit::{Auditor, Mapping};
use crate::mm::frame::FrameAllocator;
use crate::syscall::mm_args::{Backing, MmapRequest, Placement};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::string::String;
use std::vec;
use std::vec::Vec;

pub(super) const P: usize = PAGE_SIZE;
const MIB: usize = 1 << 20;
pub(super) const RAM: u64 = 0x4000_0000;
pub(super) const RAM_FRAMES: usize = 8192; // 32 MiB

/// Physical memory: the frame allocator and the contents of every frame
/// written (absent = zero), with failure injection.
pub(super) struct Machine {
    pub(super) frames: FrameAllocator,
    pub(super) mem: BTreeMap<u64, Vec<u8>>,
    /// Fail the n-th next alloc (0 = the next one).
    pub(super) fail_alloc_in: Option<usize>,
    fail_share_in: Option<usize>,
}

impl Machine {
    pub(super) fn new() -> Rc<RefCell<Machine>> {
        Rc::new(RefCell::new(Machine {
            frames: FrameAllocator::new(RAM, (RAM_FRAMES * P) as u64),
            mem: BTreeMap::new(),
            fail_alloc_in: None,
            fail_share_in: None,
        }))
    }
    pub(super) fn drop_ref(&mut self, pa: u64) {
        self.frames.free(pa).expect("free of a free frame");
        if !self.frames.is_allocated(pa) {
            self.mem.remove(&pa);
        }
    }
}

fn countdown(c: &mut Option<usize>) -> bool {
    match c {
        Some(0) => {
            *c = None;
            true
        }
        Some(n) => {
            *n -= 1;
            false
        }
        None => false,
    }
}

/// One address space's table: va -> (pa, size, attrs).
pub(super) struct MemMmu {
    pub(super) m: Rc<RefCell<Machine>>,
    pub(super) map: BTreeMap<usize, (u64, usize, MapAttrs)>,
    fail_map_in: Option<usize>,
}

impl MemMmu {
    pub(super) fn new(m: &Rc<RefCell<Machine>>) -> Self {
        MemMmu {
            m: m.clone(),
            map: BTreeMap::new(),
            fail_map_in: None,
        }
    }
    fn entry(&self, va: usize) -> Option<(usize, (u64, usize, MapAttrs))> {
        self.map
            .range(..=va)
            .next_back()
            .filter(|(k, v)| va < **k + v.1)
            .map(|(k, v)| (*k, *v))
    }
    /// What the CPU would do: (pa, attrs) of `va`.
    pub(super) fn translate(&self, va: usize) -> Option<(u64, MapAttrs)> {
        self.entry(va)
            .map(|(k, (pa, _, a))| (pa + (va - k) as u64, a))
    }
}

impl Mmu for MemMmu {
    fn map(&mut self, va: usize, pa: u64, size: usize, attrs: MapAttrs) -> Result<(), Errno> {
        if countdown(&mut self.fail_map_in) {
            return Err(Errno::ENOMEM);
        }
        assert!(self.is_unmapped(va, size), "map over a mapping");
        self.map.insert(va, (pa, size, attrs));
        Ok(())
    }
    fn split(&mut self, va: usize) -> Result<(), Errno> {
        if let Some((k, (pa, s, a))) = self.entry(va).filter(|(k, _)| *k != va) {
            self.map.remove(&k);
            for off in (0..s).step_by(P) {
                self.map.insert(k + off, (pa + off as u64, P, a));
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
            assert!(k >= va && k + s <= va + size, "unmap across a block edge");
            if free {
                for off in (0..s).step_by(P) {
                    self.m.borrow_mut().drop_ref(pa + off as u64);
                }
            }
        }
        Ok(())
    }
    fn protect(&mut self, va: usize, size: usize, attrs: MapAttrs) -> Result<(), Errno> {
        self.split(va)?;
        self.split(va + size)?;
        for (_, v) in self.map.range_mut(va..va + size) {
            v.2 = attrs;
        }
        Ok(())
    }
    fn lookup(&self, va: usize) -> Option<u64> {
        self.translate(va).map(|e| e.0)
    }
    fn next_leaf(&self, va: usize, end: usize) -> Option<Leaf> {
        if va >= end {
            return None;
        }
        if let Some((k, (pa, size, _))) = self.entry(va) {
            return Some(Leaf { va: k, pa, size });
        }
        self.map.range(va..end).next().map(|(k, v)| Leaf {
            va: *k,
            pa: v.0,
            size: v.1,
        })
    }
    fn replace(&mut self, va: usize, pa: u64, attrs: MapAttrs) -> Result<(), Errno> {
        match self.map.get_mut(&va) {
            Some(e) if e.1 == P => {
                *e = (pa, P, attrs);
                Ok(())
            }
            _ => Err(Errno::EFAULT),
        }
    }
    fn alloc_zeroed(&mut self, size: usize) -> Result<u64, Errno> {
        let mut m = self.m.borrow_mut();
        if countdown(&mut m.fail_alloc_in) {
            return Err(Errno::ENOMEM);
        }
        let n = size / P;
        if n == 1 {
            m.frames.alloc()
        } else {
            m.frames.alloc_contiguous(n, n)
        }
    }
    fn free_frame(&mut self, pa: u64) {
        self.m.borrow_mut().drop_ref(pa);
    }
    fn share_frame(&mut self, pa: u64) -> Result<(), Errno> {
        let mut m = self.m.borrow_mut();
        if countdown(&mut m.fail_share_in) {
            return Err(Errno::ENOMEM);
        }
        m.frames.share(pa).map_err(Errno::from)
    }
    fn frame_refs(&self, pa: u64) -> usize {
        self.m.borrow().frames.refcount(pa)
    }
    unsafe fn fill_frame(&mut self, pa: u64, off: usize, data: &[u8]) {
        let mut m = self.m.borrow_mut();
        let page = m.mem.entry(pa).or_insert_with(|| vec![0; P]);
        let n = data.len().min(P - off);
        page[off..off + n].copy_from_slice(&data[..n]);
    }
    unsafe fn copy_frame(&mut self, dst: u64, src: u64, _exec: bool) {
        let mut m = self.m.borrow_mut();
        let bytes = m.mem.get(&src).cloned().unwrap_or_else(|| vec![0; P]);
        m.mem.insert(dst, bytes);
    }
    fn section_size(&self) -> usize {
        MIB
    }
    fn walk(&self, visit: &mut dyn FnMut(&Mapping)) {
        for (&va, &(pa, size, a)) in &self.map {
            visit(&Mapping {
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
        RAM_FRAMES
    }
}

/// The CPU reading a byte: fault and retry as the exception handler
/// would; a fault that resolves without the access becoming possible
/// is an infinite loop (a test failure).
pub(super) fn read(s: &mut AddressSpace, m: &mut MemMmu, va: usize) -> Result<u8, Errno> {
    for _ in 0..3 {
        if let Some((pa, a)) = m.translate(va) {
            if matches!(a.access, Access::UserRo | Access::UserRw) {
                let frame = pa & !(P as u64 - 1);
                let mm = m.m.borrow();
                return Ok(mm.mem.get(&frame).map_or(0, |p| p[(pa - frame) as usize]));
            }
        }
        s.fault(m, va, Access2::Read)?;
    }
    panic!("read fault loop at {va:#x}");
}

pub(super) fn write(s: &mut AddressSpace, m: &mut MemMmu, va: usize, val: u8) -> Result<(), Errno> {
    for _ in 0..3 {
        if let Some((pa, a)) = m.translate(va) {
            if a.access == Access::UserRw {
                let frame = pa & !(P as u64 - 1);
                let mut mm = m.m.borrow_mut();
                mm.mem.entry(frame).or_insert_with(|| vec![0; P])[(pa - frame) as usize] = val;
                return Ok(());
            }
        }
        s.fault(m, va, Access2::Write)?;
    }
    panic!("write fault loop at {va:#x}");
}

pub(super) fn prot(read: bool, write: bool) -> Prot {
    Prot {
        read,
        write,
        exec: false,
    }
}

fn req(addr: usize, len: usize, p: Prot, shared: bool) -> MmapRequest {
    MmapRequest {
        addr,
        len,
        prot: p,
        shared,
        placement: Placement::Fixed,
        backing: Backing::Anonymous,
        populate: false,
        may_write: true,
        noreserve: false,
    }
}

pub(super) fn space() -> AddressSpace {
    AddressSpace::new(0x8000_0000, 0x1_0000, 0x7E00_0000)
}

/// Every frame's count equals its mappings in the live tables plus the
/// shared memory objects holding it; the audit passes in each space.
pub(super) fn check_refcounts(spaces: &[(&AddressSpace, &MemMmu)]) {
    check_refcounts_with(spaces, &[])
}

/// [`check_refcounts`] with more objects that hold frames (a file's page
/// cache that no space maps).
pub(super) fn check_refcounts_with(
    spaces: &[(&AddressSpace, &MemMmu)],
    more: &[crate::mm::shm::ShmId],
) {
    let mut want: BTreeMap<u64, usize> = BTreeMap::new();
    let mut objects = more.to_vec();
    for (s, m) in spaces {
        for v in s.vmas.iter() {
            if let Some((id, _)) = v.kind.object() {
                if !objects.contains(&id) {
                    objects.push(id);
                }
            }
            if !owns_frames(v.kind) {
                continue;
            }
            for (&va, &(pa, size, _)) in m.map.range(v.start..v.end) {
                assert!(va + size <= v.end);
                for off in (0..size).step_by(P) {
                    *want.entry(pa + off as u64).or_default() += 1;
                }
            }
        }
    }
    for id in objects {
        for pa in crate::mm::shm::frames(id) {
            *want.entry(pa).or_default() += 1;
        }
    }
    let mach = spaces[0].1.m.borrow();
    for (&pa, &n) in &want {
        assert_eq!(mach.frames.refcount(pa), n, "references of {pa:#x}");
    }
    let used: usize = RAM_FRAMES - mach.frames.free_count();
    assert_eq!(used, want.len(), "frames in use that nothing maps or holds");
    let is_ram = |pa: u64| (RAM..RAM + (RAM_FRAMES * P) as u64).contains(&pa);
    for (s, m) in spaces {
        let mut a = Auditor::new(&s.vmas, &is_ram);
        m.walk(&mut |x| a.entry(x));
        a.finish(&mach.frames);
        assert!(a.violations.is_empty(), "{:?}", a.violations);
    }
}

#[test]
fn private_pages_are_copied_on_write_both_ways() {
    let mach = Machine::new();
    let (mut p, mut pm) = (space(), MemMmu::new(&mach));
    let a = 0x1000_0000;
    p.mmap(&mut pm, &req(a, 4 * P, prot(true, true), false))
        .unwrap();
    write(&mut p, &mut pm, a, 1).unwrap();
    write(&mut p, &mut pm, a + P, 2).unwrap();
    let mut cm = MemMmu::new(&mach);
    let mut c = p.fork(&mut pm, &mut cm).unwrap();
    let f0 = pm.lookup(a).unwrap();
    assert_eq!(cm.lookup(a), Some(f0), "the same frame");
    assert_eq!(mach.borrow().frames.refcount(f0), 2);
    assert_eq!(pm.translate(a).unwrap().1.access, Access::UserRo);
    assert_eq!(cm.translate(a).unwrap().1.access, Access::UserRo);
    check_refcounts(&[(&p, &pm), (&c, &cm)]);
    // Child writes: it gets a copy; the parent keeps its byte.
    write(&mut c, &mut cm, a, 10).unwrap();
    assert_ne!(cm.lookup(a), Some(f0));
    assert_eq!(read(&mut p, &mut pm, a), Ok(1));
    assert_eq!(read(&mut c, &mut cm, a), Ok(10));
    assert_eq!(read(&mut c, &mut cm, a + 1), Ok(0), "copied whole");
    assert_eq!(mach.borrow().frames.refcount(f0), 1);
    // Parent writes the now exclusive frame: made writable, not copied.
    write(&mut p, &mut pm, a, 3).unwrap();
    assert_eq!(pm.lookup(a), Some(f0));
    // Parent writes a still shared page: copied; the child keeps 2.
    write(&mut p, &mut pm, a + P, 4).unwrap();
    assert_eq!(read(&mut c, &mut cm, a + P), Ok(2));
    // Untouched at fork: private to each afterwards.
    write(&mut c, &mut cm, a + 2 * P, 7).unwrap();
    assert_eq!(read(&mut p, &mut pm, a + 2 * P), Ok(0));
    check_refcounts(&[(&p, &pm), (&c, &cm)]);
    c.teardown(&mut cm);
    p.teardown(&mut pm);
    assert_eq!(mach.borrow().frames.free_count(), RAM_FRAMES);
}

#[test]
fn shared_anonymous_memory_stays_shared_including_pages_touched_after_fork() {
    let mach = Machine::new();
    let (mut p, mut pm) = (space(), MemMmu::new(&mach));
    let a = 0x1000_0000;
    p.mmap(&mut pm, &req(a, 4 * P, prot(true, true), true))
        .unwrap();
    write(&mut p, &mut pm, a, 1).unwrap();
    let mut cm = MemMmu::new(&mach);
    let mut c = p.fork(&mut pm, &mut cm).unwrap();
    assert_eq!(pm.translate(a).unwrap().1.access, Access::UserRw, "not COW");
    write(&mut c, &mut cm, a, 5).unwrap();
    assert_eq!(read(&mut p, &mut pm, a), Ok(5));
    // First touched by the child after the fork: the parent sees it.
    write(&mut c, &mut cm, a + 3 * P, 9).unwrap();
    assert_eq!(read(&mut p, &mut pm, a + 3 * P), Ok(9));
    check_refcounts(&[(&p, &pm), (&c, &cm)]);
    let VmaKind::Shm { id, .. } = p.vmas.find(a).unwrap().kind else {
        panic!("not an object")
    };
    assert_eq!(crate::mm::shm::users(id), 2);
    // The parent unmaps part; the child still sees everything.
    p.munmap(
        &mut pm,
        RangeRequest {
            start: a,
            end: a + 2 * P,
        },
    )
    .unwrap();
    assert_eq!(crate::mm::shm::users(id), 2);
    write(&mut p, &mut pm, a + 2 * P, 6).unwrap();
    assert_eq!(read(&mut c, &mut cm, a + 2 * P), Ok(6));
    assert_eq!(read(&mut c, &mut cm, a), Ok(5));
    check_refcounts(&[(&p, &pm), (&c, &cm)]);
    p.teardown(&mut pm);
    assert_eq!(crate::mm::shm::users(id), 1);
    assert_eq!(read(&mut c, &mut cm, a + 3 * P), Ok(9));
    c.teardown(&mut cm);
    assert_eq!(crate::mm::shm::users(id), 0);
    assert_eq!(mach.borrow().frames.free_count(), RAM_FRAMES);
}

#[test]
fn read_only_pages_and_devices_are_shared_as_they_are() {
    let mach = Machine::new();
    let (mut p, mut pm) = (space(), MemMmu::new(&mach));
    let a = 0x1000_0000;
    p.mmap(&mut pm, &req(a, 2 * P, prot(true, true), false))
        .unwrap();
    write(&mut p, &mut pm, a, 1).unwrap();
    p.mprotect(
        &mut pm,
        RangeRequest {
            start: a,
            end: a + 2 * P,
        },
        prot(true, false),
    )
    .unwrap();
    let dev = MmapRequest {
        backing: Backing::Device {
            phys: 0x0900_0000,
            mem: crate::mm::memtype::MemoryType::DeviceShareable,
            may_write: true,
        },
        ..req(0x2000_0000, P, prot(true, true), true)
    };
    p.mmap(&mut pm, &dev).unwrap();
    let mut cm = MemMmu::new(&mach);
    let mut c = p.fork(&mut pm, &mut cm).unwrap();
    assert_eq!(cm.translate(0x2000_0000), pm.translate(0x2000_0000));
    assert_eq!(cm.translate(a), pm.translate(a));
    assert_eq!(write(&mut c, &mut cm, a, 2), Err(Errno::EACCES), "a signal");
    // Made writable in the child: the shared frame stays COW there.
    c.mprotect(
        &mut cm,
        RangeRequest {
            start: a,
            end: a + 2 * P,
        },
        prot(true, true),
    )
    .unwrap();
    assert_eq!(cm.translate(a).unwrap().1.access, Access::UserRo);
    write(&mut c, &mut cm, a, 2).unwrap();
    assert_eq!(read(&mut p, &mut pm, a), Ok(1));
    check_refcounts(&[(&p, &pm), (&c, &cm)]);
    c.teardown(&mut cm);
    p.teardown(&mut pm);
    assert_eq!(mach.borrow().frames.free_count(), RAM_FRAMES);
}

#[test]
fn a_cow_section_is_split_and_one_page_copied_an_exclusive_one_made_writable() {
    let mach = Machine::new();
    let (mut p, mut pm) = (space(), MemMmu::new(&mach));
    let a = 0x1000_0000;
    p.mmap(&mut pm, &req(a, 2 * MIB, prot(true, true), false))
        .unwrap();
    write(&mut p, &mut pm, a + 5, 1).unwrap();
    write(&mut p, &mut pm, a + MIB + 5, 2).unwrap();
    assert_eq!(pm.map[&a].1, MIB, "a section");
    let mut cm = MemMmu::new(&mach);
    let mut c = p.fork(&mut pm, &mut cm).unwrap();
    assert_eq!(cm.map[&a].1, MIB, "a section in the child too");
    check_refcounts(&[(&p, &pm), (&c, &cm)]);
    let used = RAM_FRAMES - mach.borrow().frames.free_count();
    write(&mut c, &mut cm, a + 0x3000, 9).unwrap();
    assert_eq!(cm.map[&a].1, P, "split");
    assert_eq!(
        RAM_FRAMES - mach.borrow().frames.free_count(),
        used + 1,
        "one page copied"
    );
    assert_eq!(read(&mut p, &mut pm, a + 0x3000), Ok(0));
    assert_eq!(read(&mut c, &mut cm, a + 5), Ok(1));
    // The child drops its second section: the parent's is exclusive and
    // becomes writable whole, without a copy.
    c.munmap(
        &mut cm,
        RangeRequest {
            start: a + MIB,
            end: a + 2 * MIB,
        },
    )
    .unwrap();
    write(&mut p, &mut pm, a + MIB + 7, 3).unwrap();
    assert_eq!(pm.map[&(a + MIB)].1, MIB);
    assert_eq!(pm.map[&(a + MIB)].2.access, Access::UserRw);
    assert_eq!(read(&mut p, &mut pm, a + MIB + 5), Ok(2));
    check_refcounts(&[(&p, &pm), (&c, &cm)]);
    c.teardown(&mut cm);
    p.teardown(&mut pm);
    assert_eq!(mach.borrow().frames.free_count(), RAM_FRAMES);
}

#[test]
fn written_elf_data_pages_are_copied_on_write() {
    static FILE: [u8; 100] = [0x5A; 100];
    let mach = Machine::new();
    let (mut p, mut pm) = (space(), MemMmu::new(&mach));
    let data = crate::mm::vma::ImageData {
        bytes: &FILE,
        va: 0x20000,
        file_offset: 0x1000,
    };
    p.vmas
        .insert(Vma {
            start: 0x20000,
            end: 0x22000,
            prot: prot(true, true),
            kind: VmaKind::Image(data),
        })
        .unwrap();
    write(&mut p, &mut pm, 0x20001, 7).unwrap();
    let mut cm = MemMmu::new(&mach);
    let mut c = p.fork(&mut pm, &mut cm).unwrap();
    write(&mut c, &mut cm, 0x20002, 8).unwrap();
    assert_eq!(
        read(&mut c, &mut cm, 0x20000),
        Ok(0x5A),
        "file bytes copied"
    );
    assert_eq!(read(&mut c, &mut cm, 0x20001), Ok(7));
    assert_eq!(read(&mut p, &mut pm, 0x20002), Ok(0x5A));
    check_refcounts(&[(&p, &pm), (&c, &cm)]);
    c.teardown(&mut cm);
    p.teardown(&mut pm);
    assert_eq!(mach.borrow().frames.free_count(), RAM_FRAMES);
}

/// A parent with private, read-only, shared and section memory touched.
fn busy_parent(mach: &Rc<RefCell<Machine>>) -> (AddressSpace, MemMmu) {
    let (mut p, mut pm) = (space(), MemMmu::new(mach));
    p.mmap(&mut pm, &req(0x1000_0000, 4 * P, prot(true, true), false))
        .unwrap();
    p.mmap(&mut pm, &req(0x1100_0000, 4 * P, prot(true, true), true))
        .unwrap();
    p.mmap(&mut pm, &req(0x1200_0000, 2 * MIB, prot(true, true), false))
        .unwrap();
    for va in [
        0x1000_0000,
        0x1000_2000,
        0x1100_1000,
        0x1200_0000,
        0x1210_0000,
    ] {
        write(&mut p, &mut pm, va, 0x11).unwrap();
    }
    p.mprotect(
        &mut pm,
        RangeRequest {
            start: 0x1000_2000,
            end: 0x1000_3000,
        },
        prot(true, false),
    )
    .unwrap();
    (p, pm)
}

#[test]
fn enomem_during_fork_tears_the_child_down_and_leaves_exact_counts() {
    for inject in 0..12 {
        for share in [false, true] {
            let mach = Machine::new();
            let (mut p, mut pm) = busy_parent(&mach);
            let before = mach.borrow().frames.free_count();
            let mut cm = MemMmu::new(&mach);
            if share {
                mach.borrow_mut().fail_share_in = Some(inject * 40);
            } else {
                cm.fail_map_in = Some(inject);
            }
            match p.fork(&mut pm, &mut cm) {
                Ok(mut c) => {
                    check_refcounts(&[(&p, &pm), (&c, &cm)]);
                    c.teardown(&mut cm);
                }
                Err(e) => {
                    assert_eq!(e, Errno::ENOMEM);
                    assert!(cm.map.is_empty(), "child torn down");
                }
            }
            mach.borrow_mut().fail_share_in = None;
            assert_eq!(mach.borrow().frames.free_count(), before);
            check_refcounts(&[(&p, &pm)]);
            for va in [
                0x1000_0000,
                0x1000_2000,
                0x1100_1000,
                0x1200_0000,
                0x1210_0000,
            ] {
                assert_eq!(read(&mut p, &mut pm, va), Ok(0x11));
            }
            write(&mut p, &mut pm, 0x1200_0000, 1).unwrap();
            let VmaKind::Shm { id, .. } = p.vmas.find(0x1100_0000).unwrap().kind else {
                panic!()
            };
            assert_eq!(crate::mm::shm::users(id), 1);
            p.teardown(&mut pm);
            assert_eq!(mach.borrow().frames.free_count(), RAM_FRAMES);
        }
    }
}

#[test]
fn out_of_frames_in_a_cow_break_is_enomem_and_changes_nothing() {
    let mach = Machine::new();
    let (mut p, mut pm) = busy_parent(&mach);
    let mut cm = MemMmu::new(&mach);
    let mut c = p.fork(&mut pm, &mut cm).unwrap();
    mach.borrow_mut().fail_alloc_in = Some(0);
    assert_eq!(write(&mut c, &mut cm, 0x1000_0000, 5), Err(Errno::ENOMEM));
    check_refcounts(&[(&p, &pm), (&c, &cm)]);
    write(&mut c, &mut cm, 0x1000_0000, 5).unwrap();
    assert_eq!(read(&mut p, &mut pm, 0x1000_0000), Ok(0x11));
    c.teardown(&mut cm);
    p.teardown(&mut pm);
    assert_eq!(mach.borrow().frames.free_count(), RAM_FRAMES);
}

#[test]
fn fork_charges_private_writable_memory_like_linux() {
    let mach = Machine::new();
    let (mut p, mut pm) = (space(), MemMmu::new(&mach));
    // Over RAM, allowed by MAP_NORESERVE: fork charges it again (dup_mmap
    // accounts every VM_ACCOUNT VMA) and fails.
    let big = MmapRequest {
        noreserve: true,
        ..req(0x1000_0000, (RAM_FRAMES + 1) * P, prot(true, true), false)
    };
    p.mmap(&mut pm, &big).unwrap();
    let mut cm = MemMmu::new(&mach);
    assert_eq!(p.fork(&mut pm, &mut cm).err(), Some(Errno::ENOMEM));
    p.teardown(&mut pm);
}

#[test]
fn futex_keys() {
    let mach = Machine::new();
    let (mut p, mut pm) = busy_parent(&mach);
    assert_eq!(
        p.translate_for_futex(&mut pm, 0x1000_0002, false),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        p.translate_for_futex(&mut pm, 0x3000_0000, false),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        p.translate_for_futex(&mut pm, 0x1000_1004, false),
        Ok(FutexKey::Private { va: 0x1000_1004 })
    );
    let mut cm = MemMmu::new(&mach);
    let mut c = p.fork(&mut pm, &mut cm).unwrap();
    // An untouched shared page: faulted in, the same key in both.
    let kp = p.translate_for_futex(&mut pm, 0x1100_2008, false).unwrap();
    let kc = c.translate_for_futex(&mut cm, 0x1100_2008, true).unwrap();
    assert_eq!(kp, kc);
    assert_eq!(
        kp,
        FutexKey::Shared {
            pa: pm.lookup(0x1100_2008).unwrap()
        }
    );
    let mut none = req(0x1300_0000, P, prot(false, false), true);
    none.prot = prot(false, false);
    p.mmap(&mut pm, &none).unwrap();
    assert_eq!(
        p.translate_for_futex(&mut pm, 0x1300_0000, false),
        Err(Errno::EFAULT)
    );
    c.teardown(&mut cm);
    p.teardown(&mut pm);
    assert_eq!(mach.borrow().frames.free_count(), RAM_FRAMES);
}

#[test]
fn a_permission_fault_on_a_page_that_is_not_cow_is_not_resolved() {
    let mach = Machine::new();
    let (mut p, mut pm) = busy_parent(&mach);
    // Read-only VMA: a write is a signal, every time.
    for _ in 0..2 {
        assert_eq!(
            p.fault(&mut pm, 0x1000_2000, Access2::Write),
            Err(Errno::EACCES)
        );
    }
    assert_eq!(
        p.fault(&mut pm, 0x1000_2000, Access2::Execute),
        Err(Errno::EACCES)
    );
    p.teardown(&mut pm);
}

// ---- the model-based property test ----

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The model of one page.
#[derive(Clone)]
enum Cell {
    Private(u8),
    Shared(Rc<RefCell<u8>>),
}

#[derive(Clone)]
struct PageModel {
    cell: Cell,
    read: bool,
    write: bool,
}

/// Two arenas: 32 pages of small mappings, and 2 MiB where first touches
/// get sections.
const ARENAS: [(usize, usize); 2] = [(0x1000_0000, 32), (0x1200_0000, 512)];
const OFF: usize = 0x123;

struct Proc {
    s: AddressSpace,
    m: MemMmu,
    model: BTreeMap<usize, PageModel>,
}

fn pick_range(rng: &mut Rng) -> (usize, usize) {
    let (base, pages) = ARENAS[rng.below(2)];
    let first = rng.below(pages);
    let n = 1 + rng.below((pages - first).min(if pages > 64 { 300 } else { 8 }));
    (base + first * P, base + (first + n) * P)
}

fn check_proc(pr: &mut Proc) {
    let pages: Vec<usize> = ARENAS
        .iter()
        .flat_map(|&(b, n)| (0..n).map(move |i| b + i * P))
        .collect();
    for va in pages {
        let got = read(&mut pr.s, &mut pr.m, va + OFF);
        match pr.model.get(&va) {
            None => assert_eq!(got, Err(Errno::EFAULT), "{va:#x}"),
            Some(pg) if !(pg.read || pg.write) => assert_eq!(got, Err(Errno::EACCES), "{va:#x}"),
            Some(pg) => {
                let want = match &pg.cell {
                    Cell::Private(v) => *v,
                    Cell::Shared(c) => *c.borrow(),
                };
                assert_eq!(got, Ok(want), "{va:#x}");
            }
        }
    }
}

fn run_model(seed: u64, steps: usize) {
    let mach = Machine::new();
    let mut rng = Rng(seed | 1);
    let mut procs = vec![Proc {
        s: space(),
        m: MemMmu::new(&mach),
        model: BTreeMap::new(),
    }];
    for step in 0..steps {
        let i = rng.below(procs.len());
        match rng.below(10) {
            0 | 1 => {
                let (a, b) = pick_range(&mut rng);
                let shared = rng.below(3) == 0;
                let p = match rng.below(3) {
                    0 => prot(true, false),
                    _ => prot(true, true),
                };
                let pr = &mut procs[i];
                pr.s.mmap(&mut pr.m, &req(a, b - a, p, shared)).unwrap();
                for va in (a..b).step_by(P) {
                    let cell = if shared {
                        Cell::Shared(Rc::new(RefCell::new(0)))
                    } else {
                        Cell::Private(0)
                    };
                    pr.model.insert(
                        va,
                        PageModel {
                            cell,
                            read: p.read,
                            write: p.write,
                        },
                    );
                }
            }
            2 => {
                let (a, b) = pick_range(&mut rng);
                let pr = &mut procs[i];
                pr.s.munmap(&mut pr.m, RangeRequest { start: a, end: b })
                    .unwrap();
                for va in (a..b).step_by(P) {
                    pr.model.remove(&va);
                }
            }
            3 => {
                let (a, b) = pick_range(&mut rng);
                let p = match rng.below(3) {
                    0 => prot(true, false),
                    1 => prot(false, false),
                    _ => prot(true, true),
                };
                let pr = &mut procs[i];
                let r =
                    pr.s.mprotect(&mut pr.m, RangeRequest { start: a, end: b }, p);
                let mut va = a;
                while va < b {
                    let Some(pg) = pr.model.get_mut(&va) else {
                        break;
                    };
                    pg.read = p.read;
                    pg.write = p.write;
                    va += P;
                }
                assert_eq!(r.is_ok(), va >= b, "mprotect {a:#x}..{b:#x}: {r:?}");
            }
            4..=7 => {
                let (a, b) = pick_range(&mut rng);
                let va = a + rng.below((b - a) / P) * P;
                let val = (rng.next() % 255 + 1) as u8;
                let pr = &mut procs[i];
                let r = write(&mut pr.s, &mut pr.m, va + OFF, val);
                match pr.model.get_mut(&va) {
                    None => assert_eq!(r, Err(Errno::EFAULT)),
                    Some(pg) if !pg.write => assert_eq!(r, Err(Errno::EACCES)),
                    Some(pg) => {
                        assert_eq!(r, Ok(()));
                        match &mut pg.cell {
                            Cell::Private(v) => *v = val,
                            Cell::Shared(c) => *c.borrow_mut() = val,
                        }
                    }
                }
            }
            8 if procs.len() < 4 => {
                let mut cm = MemMmu::new(&mach);
                let pr = &mut procs[i];
                let c = pr.s.fork(&mut pr.m, &mut cm).unwrap();
                let model = pr.model.clone(); // Private cells copy; Shared share.
                procs.push(Proc { s: c, m: cm, model });
            }
            _ if procs.len() > 1 => {
                let mut pr = procs.remove(i);
                pr.s.teardown(&mut pr.m);
                assert!(pr.m.map.is_empty());
            }
            _ => {}
        }
        for pr in procs.iter_mut() {
            check_proc(pr);
        }
        let view: Vec<(&AddressSpace, &MemMmu)> = procs.iter().map(|p| (&p.s, &p.m)).collect();
        check_refcounts(&view);
        let _ = step;
    }
    for mut pr in procs {
        pr.s.teardown(&mut pr.m);
    }
    assert_eq!(mach.borrow().frames.free_count(), RAM_FRAMES, "seed {seed}");
}

#[test]
fn model_based_fork_cow_and_shared_memory() {
    for seed in 1..=40u64 {
        run_model(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15), 60);
    }
}

// ---- /proc/<pid>/maps ----

pub(super) fn maps(s: &AddressSpace, exe: &MapsFile, width: usize) -> String {
    let mut out = String::new();
    s.write_maps_width(&mut out, exe, &|_, _| {}, width)
        .unwrap();
    out
}

#[test]
fn proc_maps_lines_as_linux_prints_them() {
    let mach = Machine::new();
    let (mut s, mut m) = (
        AddressSpace::new(0xC000_0000, 0x1_0000, 0xBE00_0000),
        MemMmu::new(&mach),
    );
    let text = crate::mm::vma::ImageData {
        bytes: &[],
        va: 0x10000,
        file_offset: 0,
    };
    let data = crate::mm::vma::ImageData {
        bytes: &[],
        va: 0x21f08,
        file_offset: 0x1f08,
    };
    let rx = Prot {
        read: true,
        write: false,
        exec: true,
    };
    s.vmas
        .insert(Vma {
            start: 0x10000,
            end: 0x11000,
            prot: rx,
            kind: VmaKind::Image(text),
        })
        .unwrap();
    s.vmas
        .insert(Vma {
            start: 0x21000,
            end: 0x22000,
            prot: prot(true, true),
            kind: VmaKind::Image(data),
        })
        .unwrap();
    s.brk_start = 0x22000;
    s.brk = 0x22000;
    s.brk(&mut m, 0x43000);
    s.mmap(&mut m, &req(0xb6f4_e000, 2 * P, prot(true, true), false))
        .unwrap();
    s.mmap(&mut m, &req(0xb6f5_0000, 4 * P, prot(true, true), true))
        .unwrap();
    let dev = MmapRequest {
        backing: Backing::Device {
            phys: 0x0900_0000,
            mem: crate::mm::memtype::MemoryType::DeviceShareable,
            may_write: true,
        },
        ..req(0xb6f6_0000, P, prot(true, true), true)
    };
    s.mmap(&mut m, &dev).unwrap();
    s.vmas
        .insert(Vma {
            start: 0xbefd_f000,
            end: 0xbf00_0000,
            prot: prot(true, true),
            kind: VmaKind::Stack,
        })
        .unwrap();
    let VmaKind::Shm { id, .. } = s.vmas.find(0xb6f5_0000).unwrap().kind else {
        panic!()
    };
    let exe = MapsFile {
        path: "/home/pi/a.out",
        dev: (0xb3, 2),
        ino: 262_340,
        sigpage: None,
    };
    // 32-bit ARM Linux (sizeof(void *) = 4: names at column 49).
    let want = [
        "00010000-00011000 r-xp 00000000 b3:02 262340     /home/pi/a.out".into(),
        "00021000-00022000 rw-p 00001000 b3:02 262340     /home/pi/a.out".into(),
        "00022000-00043000 rw-p 00000000 00:00 0          [heap]".into(),
        "b6f4e000-b6f50000 rw-p 00000000 00:00 0 ".into(),
        format!("b6f50000-b6f54000 rw-s 00000000 00:01 {id:<10} /dev/zero (deleted)"),
        "b6f60000-b6f61000 rw-s 09000000 00:05 6          /dev/mem".into(),
        "befdf000-bf000000 rw-p 00000000 00:00 0          [stack]".into(),
    ];
    let got = maps(&s, &exe, 48);
    let got: Vec<&str> = got.lines().collect();
    assert_eq!(got, want.iter().map(String::as_str).collect::<Vec<_>>());
    // A shared mapping cut at the front shows its object offset.
    s.munmap(
        &mut m,
        RangeRequest {
            start: 0xb6f5_0000,
            end: 0xb6f5_1000,
        },
    )
    .unwrap();
    let got = maps(&s, &exe, 48);
    assert!(
        got.contains("b6f51000-b6f54000 rw-s 00001000 00:01 "),
        "{got}"
    );
    s.teardown(&mut m);
}

#[test]
fn proc_maps_on_64_bit_pads_to_column_73() {
    let mach = Machine::new();
    let (mut s, mut m) = (space(), MemMmu::new(&mach));
    s.vmas
        .insert(Vma {
            start: 0x7ffc_8a5e_1000usize & 0x7fff_ffff,
            end: 0x7ffc_8a60_2000usize & 0x7fff_ffff,
            prot: prot(true, true),
            kind: VmaKind::Stack,
        })
        .unwrap();
    let exe = MapsFile {
        path: "/bin/cat",
        dev: (8, 1),
        ino: 1_234_567,
        sigpage: None,
    };
    let got = maps(&s, &exe, 72);
    // x86-64/AArch64 Linux: "%08lx" gives 8 digits here; the name column
    // is 25 + 6 * 8 - 1 = 72, plus the one space.
    assert_eq!(
        got,
        format!(
            "{:<72} [stack]\n",
            "0a5e1000-0a602000 rw-p 00000000 00:00 0 "
        )
    );
    let mut out = String::new();
    s.write_maps(&mut out, "/init").unwrap();
    assert_eq!(out, got, "host pointers are 64-bit");
    s.teardown(&mut m);
}
