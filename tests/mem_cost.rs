//! Kernel memory cost per mapped MiB and per VMA (issue 12;
//! docs/bench-host.md): the table engine's allocations, measured on the
//! host through its public API, against what the architecture says they
//! must be.
//!
//! The environment here is a fake physical memory (a 4 KiB-frame arena
//! at a PA below 4 GiB, so ARMv7-A descriptors can point into it) that
//! allocates tables as the kernels' `HwEnv`s do: a 4 KiB frame per
//! AArch64 table; on ARMv7-A a 1 KiB L2 table packed four to a frame by
//! the kernel's own `arch::armv7a::l2alloc::L2Alloc` (without its static
//! image pool, so every table is counted against a frame). It counts
//! tables per level and frames taken. TLB and cache maintenance are
//! no-ops.
//!
//! Expected values are derived from the architecture (ARM ARM B3.5 for
//! the short-descriptor format, D8.2/D8.3 for VMSAv8-64 with the 4 KiB
//! granule), written out below, not copied from a run.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use armmu::arch::aarch64::format::Vmsa64;
use armmu::arch::armv7a::format::ShortDescriptor;
use armmu::arch::armv7a::l2alloc::L2Alloc;
use armmu::errno::Errno;
use armmu::mm::frame::FrameAllocator;
use armmu::mm::memtype::{Access, MapAttrs, MemoryType};
use armmu::mm::pagetable::{Format, Table, TableEnv};
use armmu::mm::vma::{Vma, VmaKind, VmaSet};
use armmu::syscall::mm_args::Prot;

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;
const FRAME: u64 = 4 * KIB;

// ---------------------------------------------------------------------------
// Heap accounting for this thread (tests run on several threads).

struct Counting;

thread_local! {
    static HEAP_LIVE: Cell<isize> = const { Cell::new(0) };
}

fn heap_add(n: isize) {
    // `try_with`: the allocator may run while this thread's TLS is torn down.
    let _ = HEAP_LIVE.try_with(|h| h.set(h.get() + n));
}

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        heap_add(l.size() as isize);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        heap_add(-(l.size() as isize));
        // SAFETY: as above.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        heap_add(l.size() as isize);
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        heap_add(new as isize - l.size() as isize);
        // SAFETY: as above.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Heap bytes this thread holds now.
fn heap_live() -> isize {
    HEAP_LIVE.with(|h| h.get())
}

// ---------------------------------------------------------------------------
// Fake physical memory with the kernels' table allocation.

/// Where the arena starts (1 MiB aligned, below 4 GiB).
const ARENA_PA: u64 = 0x4000_0000;
const ARENA_FRAMES: u64 = 1024;

struct Env<F> {
    mem: Vec<u8>,
    next_frame: u64,
    free_frames: Vec<u64>,
    /// Frames taken for tables now (roots not included).
    frames_in_use: usize,
    /// Tables live now, by level.
    tables: [usize; 4],
    /// ARMv7-A: the kernel's packing of 1 KiB L2 tables into frames.
    l2: L2Alloc,
    _f: std::marker::PhantomData<F>,
}

impl<F: Format> Env<F> {
    fn new() -> Self {
        Env {
            mem: vec![0; (ARENA_FRAMES * FRAME) as usize],
            next_frame: ARENA_PA,
            free_frames: Vec::new(),
            frames_in_use: 0,
            tables: [0; 4],
            l2: L2Alloc::new(0, 0),
            _f: std::marker::PhantomData,
        }
    }

    fn frame(&mut self) -> Result<u64, Errno> {
        if let Some(f) = self.free_frames.pop() {
            return Ok(f);
        }
        if self.next_frame >= ARENA_PA + ARENA_FRAMES * FRAME {
            return Err(Errno::ENOMEM);
        }
        let f = self.next_frame;
        self.next_frame += FRAME;
        Ok(f)
    }

    /// `n` contiguous zeroed frames aligned to `n` frames (a root table),
    /// not counted as table frames.
    fn root(&mut self, n: u64) -> u64 {
        let pa = (self.next_frame + n * FRAME - 1) & !(n * FRAME - 1);
        self.next_frame = pa + n * FRAME;
        pa
    }

    fn off(&self, pa: u64) -> usize {
        (pa - ARENA_PA) as usize
    }

    fn zero(&mut self, pa: u64, len: u64) {
        let o = self.off(pa);
        self.mem[o..o + len as usize].fill(0);
    }
}

impl<F: Format> TableEnv<F> for Env<F> {
    fn read(&self, pa: u64) -> u64 {
        let o = self.off(pa);
        let mut b = [0u8; 8];
        b[..F::ENTRY_BYTES as usize].copy_from_slice(&self.mem[o..o + F::ENTRY_BYTES as usize]);
        u64::from_le_bytes(b)
    }
    fn write(&mut self, pa: u64, val: u64) {
        let o = self.off(pa);
        let n = F::ENTRY_BYTES as usize;
        self.mem[o..o + n].copy_from_slice(&val.to_le_bytes()[..n]);
    }
    fn alloc_table(&mut self, level: u8) -> Result<u64, Errno> {
        let bytes = F::table_bytes(level);
        let pa = if bytes < FRAME {
            // As `arch::armv7a::mmu::HwEnv::alloc_table`.
            let mut taken = false;
            let mut l2 = std::mem::replace(&mut self.l2, L2Alloc::new(0, 0));
            let r = l2.alloc(|| {
                taken = true;
                self.frame().map(|f| f as u32)
            });
            self.l2 = l2;
            if taken && r.is_ok() {
                self.frames_in_use += 1;
            }
            r? as u64
        } else {
            assert_eq!(bytes, FRAME, "a table is one frame");
            self.frames_in_use += 1;
            self.frame()?
        };
        self.zero(pa, bytes);
        self.tables[level as usize] += 1;
        Ok(pa)
    }
    fn free_table(&mut self, pa: u64, level: u8) {
        self.tables[level as usize] -= 1;
        if F::table_bytes(level) < FRAME {
            if let Some(f) = self.l2.free(pa as u32) {
                self.free_frames.push(f as u64);
                self.frames_in_use -= 1;
            }
        } else {
            self.free_frames.push(pa);
            self.frames_in_use -= 1;
        }
    }
    fn publish(&mut self) {}
    fn tlb_invalidate(&mut self, _va: u64, _asid: Option<u16>) {}
    fn tlb_invalidate_all(&mut self, _asid: Option<u16>) {}
    fn tlb_sync(&mut self) {}
    fn clean_invalidate_dcache(&mut self, _va: u64, _pa: u64, _size: u64) {}
}

/// An anonymous read/write user page's attributes (`mm::space`).
fn user_rw() -> MapAttrs {
    MapAttrs {
        mem: MemoryType::NormalWriteBackWriteAlloc,
        access: Access::UserRw,
        execute_never: true,
        privileged_execute_never: true,
        not_global: true,
        shareable: true,
    }
}

/// An AArch64 user table as `arch::aarch64::user::new_user_mmu` makes
/// one: a 4 KiB level-1 root, TTBR0 (VA below 2^39 = `mmu::USER_TOP`).
fn aarch64_user() -> (Table<Vmsa64>, Env<Vmsa64>) {
    let mut env = Env::new();
    let root = env.root(1);
    let t = Table {
        root_pa: root,
        va_lo: 0,
        va_hi: (1 << 39) - 1,
        asid: Some(1),
        format: Vmsa64,
    };
    (t, env)
}

/// An ARMv7-A user table as `arch::armv7a::user::new_user_mmu` makes
/// one: TTBCR.N = 1, so the TTBR0 L1 table covers 0..2 GiB with 2048
/// entries (8 KiB, two frames, 8 KiB aligned).
fn armv7_user() -> (Table<ShortDescriptor>, Env<ShortDescriptor>) {
    let mut env = Env::new();
    let root = env.root(2);
    let t = Table {
        root_pa: root,
        va_lo: 0,
        va_hi: armmu::arch::armv7a::mmu::KERNEL_SPLIT as u64 - 1,
        asid: Some(1),
        format: ShortDescriptor {
            domain: 0,
            pxn: true,
        },
    };
    (t, env)
}

// ---------------------------------------------------------------------------
// VMSAv8-64, 4 KiB granule, level-1 root (D8.2): 512 eight-byte entries
// per 4 KiB table at every level; an L1 entry spans 1 GiB, an L2 entry
// 2 MiB, an L3 entry 4 KiB. So 4 KiB pages need one L3 table (4 KiB) per
// 2 MiB of VA and one L2 table per 1 GiB; 2 MiB blocks only the L2 table.

#[test]
fn aarch64_4k_pages_one_mib() {
    let (t, mut env) = aarch64_user();
    // 1 MiB at a 2 MiB-aligned VA: the L2 table for its GiB and the L3
    // table for its 2 MiB, both new.
    t.map(&mut env, GIB, 0x8000_0000, MIB, user_rw()).unwrap();
    assert_eq!(env.tables, [0, 0, 1, 1]);
    assert_eq!(env.frames_in_use, 2);
    // The other half of the 2 MiB costs nothing more: 256 entries of the
    // same L3 table.
    t.map(&mut env, GIB + MIB, 0x8010_0000, MIB, user_rw())
        .unwrap();
    assert_eq!(env.frames_in_use, 2);
    // 4 KiB at a time (as page faults map) needs the same tables.
    let (t2, mut env2) = aarch64_user();
    for i in 0..256 {
        t2.map(
            &mut env2,
            GIB + i * FRAME,
            0x8000_0000 + i * FRAME,
            FRAME,
            user_rw(),
        )
        .unwrap();
    }
    assert_eq!(env2.tables, [0, 0, 1, 1]);
    // Unmapped, every table below the root is freed.
    t.unmap(&mut env, GIB, 2 * MIB, &mut |_, _, _, _| {})
        .unwrap();
    assert_eq!(env.frames_in_use, 0);
}

#[test]
fn aarch64_4k_pages_per_mib_over_a_gib() {
    let (t, mut env) = aarch64_user();
    // PA 4 KiB past a 2 MiB boundary: no block can be used.
    t.map(&mut env, GIB, 0x1000_1000, GIB, user_rw()).unwrap();
    let l3 = (GIB / (2 * MIB)) as usize; // 512
    assert_eq!(env.tables, [0, 0, 1, l3]);
    assert_eq!(env.frames_in_use, 1 + l3);
    // 513 frames for 1024 MiB: 2052 bytes per MiB, of which 2048 are the
    // 256 eight-byte L3 entries of each MiB.
    assert_eq!(env.frames_in_use as u64 * FRAME / (GIB / MIB), 2052);
    t.unmap(&mut env, GIB, GIB, &mut |_, _, _, _| {}).unwrap();
    assert_eq!(env.frames_in_use, 0);
}

#[test]
fn aarch64_2m_blocks() {
    let (t, mut env) = aarch64_user();
    // One 2 MiB block: only the L2 table for its GiB.
    t.map(&mut env, GIB, 0x8000_0000, 2 * MIB, user_rw())
        .unwrap();
    assert_eq!(env.tables, [0, 0, 1, 0]);
    // A whole GiB of 2 MiB blocks (PA 2 MiB but not 1 GiB aligned): still
    // one L2 table, 512 entries: 4 KiB per GiB, 4 bytes per MiB.
    let (t, mut env) = aarch64_user();
    t.map(&mut env, GIB, 0x4020_0000, GIB, user_rw()).unwrap();
    assert_eq!(env.tables, [0, 0, 1, 0]);
    assert_eq!(env.frames_in_use, 1);
    // A 1 GiB block (VA and PA 1 GiB aligned) lives in the root: nothing.
    let (t, mut env) = aarch64_user();
    t.map(&mut env, GIB, 0x4000_0000, GIB, user_rw()).unwrap();
    assert_eq!(env.tables, [0, 0, 0, 0]);
}

// ---------------------------------------------------------------------------
// Short-descriptor format (B3.5): a 4096-entry L1 table of 4-byte entries,
// each 1 MiB (TTBR0 with TTBCR.N = 1: the first 2048, 8 KiB); a 1 MiB
// section is one L1 entry, a 16 MiB supersection 16 identical ones; 4 KiB
// (and 64 KiB large) pages need a 256-entry, 1 KiB L2 table per MiB.

#[test]
fn armv7_4k_pages_one_mib() {
    let (t, mut env) = armv7_user();
    // PA 4 KiB aligned only: small pages. One L2 table (1 KiB), which
    // takes a frame from the frame allocator for itself and the next three.
    t.map(&mut env, 0x1000_0000, 0x6000_1000, MIB, user_rw())
        .unwrap();
    assert_eq!(env.tables, [0, 0, 1, 0]);
    assert_eq!(env.frames_in_use, 1);
    // Four MiB of pages: four L2 tables, still one frame (1 KiB per MiB).
    t.map(&mut env, 0x1010_0000, 0x6010_1000, 3 * MIB, user_rw())
        .unwrap();
    assert_eq!(env.tables, [0, 0, 4, 0]);
    assert_eq!(env.frames_in_use, 1);
    // A fifth MiB: a second frame.
    t.map(&mut env, 0x1040_0000, 0x6040_1000, MIB, user_rw())
        .unwrap();
    assert_eq!(env.tables, [0, 0, 5, 0]);
    assert_eq!(env.frames_in_use, 2);
    t.unmap(&mut env, 0x1000_0000, 5 * MIB, &mut |_, _, _, _| {})
        .unwrap();
    assert_eq!(env.tables, [0, 0, 0, 0]);
    assert_eq!(env.frames_in_use, 0, "the L2 frames go back");
}

#[test]
fn armv7_sections_and_supersections() {
    let (t, mut env) = armv7_user();
    // A 1 MiB section: one 4-byte entry in the L1 table, no table.
    t.map(&mut env, 0x1000_0000, 0x6000_0000, MIB, user_rw())
        .unwrap();
    assert_eq!(env.tables, [0, 0, 0, 0]);
    // 16 MiB, 16 MiB aligned in VA and PA: a supersection (16 L1 entries).
    t.map(&mut env, 0x2000_0000, 0x6100_0000, 16 * MIB, user_rw())
        .unwrap();
    assert_eq!(env.tables, [0, 0, 0, 0]);
    assert_eq!(env.frames_in_use, 0);
    let p = t.lookup(&env, 0x2000_0000).unwrap();
    assert_eq!(p.size, 16 * MIB);
}

// ---------------------------------------------------------------------------
// Bookkeeping.

#[test]
fn frame_metadata_per_frame() {
    // `mm::frame`: one bit (a u64 bitmap word per 64 frames) and one u16
    // reference count per 4 KiB frame of RAM: 2 + 1/8 bytes per frame.
    let frames: u64 = 512 * MIB / FRAME; // a 512 MiB board
    let before = heap_live();
    let a = FrameAllocator::new(0x4000_0000, 512 * MIB);
    let used = heap_live() - before;
    assert_eq!(a.total(), frames as usize);
    assert_eq!(used as u64, frames / 64 * 8 + frames * 2);
    drop(a);
}

fn anon(start: usize, pages: usize, write: bool) -> Vma {
    Vma {
        start,
        end: start + pages * 4096,
        prot: Prot {
            read: true,
            write,
            exec: false,
        },
        kind: VmaKind::Anonymous {
            shared: false,
            may_write: true,
        },
    }
}

/// Heap bytes per VMA of a set of `n` (the AVL arena's share; nothing
/// else is allocated per VMA). Neighbours alternate rights so none merge.
fn vma_heap_per_vma(n: usize) -> f64 {
    let before = heap_live();
    let mut s = VmaSet::new(65_530);
    for i in 0..n {
        s.insert(anon(0x1000_0000 + i * 0x2000, 1, i % 2 == 0))
            .unwrap();
    }
    assert_eq!(s.count(), n);
    let used = heap_live() - before;
    drop(s);
    used as f64 / n as f64
}

#[test]
fn vma_bookkeeping_is_one_arena_node_per_vma() {
    // The node (`mm::vma::tree::Node`, private) is the Vma, three usize
    // (subtree lo, hi, gap) and six u32 (left, right, prev, next,
    // height, up), padded to the usize alignment.
    let usz = std::mem::size_of::<usize>();
    let node = (std::mem::size_of::<Vma>() + 3 * usz + 6 * 4).next_multiple_of(usz);
    // The arena is a Vec grown by doubling: between 1 and 2 nodes' worth
    // of heap per VMA, exactly 1 when the count is a power of two.
    for n in [1024, 65_536 / 2] {
        let per = vma_heap_per_vma(n);
        assert_eq!(per, node as f64, "{n} VMAs: {per} bytes each, node {node}");
    }
    let per = vma_heap_per_vma(1500);
    assert!(per > node as f64 && per < 2.0 * node as f64, "{per}");
    println!(
        "size_of::<Vma>() = {}, node = {node}, heap per VMA at 1500 VMAs = {per:.1}",
        std::mem::size_of::<Vma>()
    );
}
