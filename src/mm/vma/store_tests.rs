//! Model-based tests of the VMA store: random operation sequences (seeded
//! xorshift) on a [`VmaSet`] and on [`RefSet`], the sorted-`Vec`
//! implementation `VmaSet` had before the tree (its algorithms verbatim),
//! comparing every result and the full contents after every step, plus
//! the tree's own invariants (order, AVL balance, subtree summaries,
//! links) and allocation failure injected through the arena's test-only
//! slot limit: an operation that needs more nodes than it may have fails
//! with `ENOMEM` and changes nothing; one that needs no more than it may
//! have (net, as `reserve` promises) succeeds.
use super::*;

const P: usize = PAGE_SIZE;

/// The old store: a sorted `Vec`, linear searches from the top.
#[derive(Clone, Debug)]
struct RefSet {
    vmas: Vec<Vma>,
    max_count: usize,
}

impl RefSet {
    fn new(max_count: usize) -> Self {
        RefSet {
            vmas: Vec::new(),
            max_count,
        }
    }

    fn first_ending_after(&self, addr: usize) -> usize {
        self.vmas.partition_point(|v| v.end <= addr)
    }

    fn first_starting_at_or_after(&self, addr: usize) -> usize {
        self.vmas.partition_point(|v| v.start < addr)
    }

    fn iter_from(&self, addr: usize) -> impl Iterator<Item = &Vma> {
        self.vmas.iter().skip(self.first_ending_after(addr))
    }

    fn find(&self, addr: usize) -> Option<&Vma> {
        let i = self.first_ending_after(addr);
        self.vmas.get(i).filter(|v| v.start <= addr)
    }

    fn is_free(&self, start: usize, end: usize) -> bool {
        if start >= end {
            return start == end;
        }
        let i = self.first_ending_after(start);
        self.vmas.get(i).is_none_or(|v| v.start >= end)
    }

    fn find_free(
        &self,
        len: usize,
        hint: usize,
        lo: usize,
        hi: usize,
        align: usize,
    ) -> Option<usize> {
        if len == 0 || !is_page_aligned(len) {
            return None;
        }
        let align = if align <= PAGE_SIZE {
            PAGE_SIZE
        } else if align.is_power_of_two() {
            align
        } else {
            return None;
        };
        let lo = lo.checked_add(PAGE_SIZE - 1)? & !(PAGE_SIZE - 1);
        let hi = hi & !(PAGE_SIZE - 1);
        if lo >= hi || len > hi - lo {
            return None;
        }
        if hint != 0 && is_page_aligned(hint) && hint >= lo && hint <= hi - len {
            let hint_end = hint + len;
            if self.is_free(hint, hint_end) {
                return Some(hint);
            }
        }
        let fit = |gap_start: usize, gap_end: usize| -> Option<usize> {
            let cand = gap_end.checked_sub(len)? & !(align - 1);
            (cand >= gap_start).then_some(cand)
        };
        let mut gap_end = hi;
        for v in self.vmas.iter().rev() {
            if v.start >= gap_end {
                continue;
            }
            if v.end > lo {
                if let Some(a) = fit(v.end.max(lo), gap_end) {
                    return Some(a);
                }
            } else {
                break;
            }
            gap_end = v.start;
            if gap_end <= lo {
                return None;
            }
        }
        fit(lo, gap_end)
    }

    fn replace_range(&mut self, lo: usize, hi: usize, new: &[Vma]) -> Result<(), Errno> {
        self.vmas.splice(lo..hi, new.iter().copied());
        Ok(())
    }

    fn insert(&mut self, vma: Vma) -> Result<(), Errno> {
        VmaSet::validate(&vma)?;
        let i = self.first_ending_after(vma.start);
        if self.vmas.get(i).is_some_and(|next| next.start < vma.end) {
            return Err(Errno::EEXIST);
        }
        let prev = i.checked_sub(1).and_then(|p| self.vmas.get(p));
        let merge_prev = prev.is_some_and(|p| p.can_merge(&vma));
        let merge_next = self.vmas.get(i).is_some_and(|n| vma.can_merge(n));
        let new_count = (self.vmas.len() + 1) - usize::from(merge_prev) - usize::from(merge_next);
        if new_count > self.max_count {
            return Err(Errno::ENOMEM);
        }
        let mut merged = vma;
        let mut lo = i;
        let mut hi = i;
        if merge_prev {
            if let Some(p) = prev {
                merged.start = p.start;
                merged.kind = p.kind;
                lo = i - 1;
            }
        }
        if merge_next {
            if let Some(n) = self.vmas.get(i) {
                merged.end = n.end;
                hi = i + 1;
            }
        }
        self.replace_range(lo, hi, &[merged])
    }

    fn remove(&mut self, start: usize, end: usize) -> Result<Vec<Vma>, Errno> {
        if start > end || !is_page_aligned(start) || !is_page_aligned(end) {
            return Err(Errno::EINVAL);
        }
        let lo = self.first_ending_after(start);
        let hi = self.first_starting_at_or_after(end).max(lo);
        let removed = self.vmas[lo..hi]
            .iter()
            .map(|v| v.clip(v.start.max(start), v.end.min(end)))
            .collect();
        self.cut(start, end)?;
        Ok(removed)
    }

    fn cut(&mut self, start: usize, end: usize) -> Result<(), Errno> {
        if start > end || !is_page_aligned(start) || !is_page_aligned(end) {
            return Err(Errno::EINVAL);
        }
        let lo = self.first_ending_after(start);
        let hi = self.first_starting_at_or_after(end).max(lo);
        let Some(hit) = self.vmas.get(lo..hi).filter(|s| !s.is_empty()) else {
            return Ok(());
        };
        let mut keep: [Option<Vma>; 2] = [None, None];
        if let Some(first) = hit.first().filter(|v| v.start < start) {
            keep[0] = Some(first.clip(first.start, start));
        }
        if let Some(last) = hit.last().filter(|v| v.end > end) {
            keep[1] = Some(last.clip(end, last.end));
        }
        let kept = keep.iter().flatten().count();
        if self.vmas.len() - hit.len() + kept > self.max_count {
            return Err(Errno::ENOMEM);
        }
        let keep: Vec<Vma> = keep.iter().flatten().copied().collect();
        self.replace_range(lo, hi, &keep)
    }

    fn protect_extent(&self, start: usize, end: usize, prot: Prot) -> (usize, Option<Errno>) {
        let mut covered = start;
        for v in self.vmas.iter().skip(self.first_ending_after(start)) {
            if covered >= end || v.start >= end {
                break;
            }
            if v.start > covered {
                return (covered, Some(Errno::ENOMEM));
            }
            if !v.allows(prot) {
                return (covered, Some(Errno::EACCES));
            }
            covered = v.end;
        }
        if covered < end {
            (covered, Some(Errno::ENOMEM))
        } else {
            (end, None)
        }
    }

    fn protect(&mut self, start: usize, end: usize, prot: Prot) -> Result<Vec<Vma>, Errno> {
        if start > end || !is_page_aligned(start) || !is_page_aligned(end) {
            return Err(Errno::EINVAL);
        }
        if start == end {
            return Ok(Vec::new());
        }
        let lo = self.first_ending_after(start);
        let hi = self.first_starting_at_or_after(end).max(lo);
        let hit = self.vmas.get(lo..hi).unwrap_or(&[]);
        let mut covered = start;
        for v in hit {
            if v.start > covered {
                return Err(Errno::ENOMEM);
            }
            if !v.allows(prot) {
                return Err(Errno::EACCES);
            }
            covered = v.end;
        }
        if covered < end {
            return Err(Errno::ENOMEM);
        }
        let a = lo.saturating_sub(1);
        let b = hi.saturating_add(1).min(self.vmas.len());
        let window = self.vmas.get(a..b).unwrap_or(&[]);
        let mut out = Vec::new();
        let mut changed = Vec::new();
        for (idx, v) in window.iter().enumerate() {
            let i = a + idx;
            if i < lo || i >= hi {
                push_merged(&mut out, *v);
                continue;
            }
            if v.start < start {
                push_merged(&mut out, v.clip(v.start, start));
            }
            let mut mid = v.clip(v.start.max(start), v.end.min(end));
            mid.prot = prot;
            if v.prot != prot {
                changed.push(mid);
            }
            push_merged(&mut out, mid);
            if v.end > end {
                push_merged(&mut out, v.clip(end, v.end));
            }
        }
        if self.vmas.len() - window.len() + out.len() > self.max_count {
            return Err(Errno::ENOMEM);
        }
        self.replace_range(a, b, &out)?;
        Ok(changed)
    }
}

/// What an operation returned (the removed or changed pieces).
type Outcome = Result<Vec<Vma>, Errno>;

/// xorshift64*.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn percent(&mut self, p: usize) -> bool {
        self.below(100) < p
    }
}

/// The shape of one random run.
#[derive(Clone, Copy)]
struct Shape {
    /// Pages of address space used (from page 16 on).
    pages: usize,
    /// Longest VMA inserted, in pages.
    max_len: usize,
    /// Percent of steps that insert (the rest are spread over the others).
    insert_pct: usize,
    max_count: usize,
    steps: usize,
    /// Per mille of ranges that span a random part of the whole space.
    huge_per_mille: usize,
}

fn random_prot(r: &mut Rng) -> Prot {
    // Mostly the three that merge often; sometimes exec, sometimes W+X
    // (refused).
    let bits = [1, 3, 0, 1, 3, 5, 7, 4][r.below(8)];
    Prot::from_bits(bits).unwrap()
}

fn random_vma(r: &mut Rng, s: &Shape) -> Vma {
    let start = (16 + r.below(s.pages)) * P;
    let len = (1 + r.below(s.max_len)) * P;
    let kind = match r.below(10) {
        0..=4 => VmaKind::Anonymous {
            shared: false,
            may_write: true,
        },
        5 => VmaKind::Anonymous {
            shared: r.percent(50),
            may_write: r.percent(70),
        },
        6 => VmaKind::Device {
            // Mostly contiguous with the address (mergeable), sometimes not.
            phys: if r.percent(70) {
                0x4000_0000 + start as u64
            } else {
                (r.below(1 << 20) * P) as u64
            },
            mem: if r.percent(80) {
                MemoryType::DeviceShareable
            } else {
                MemoryType::StronglyOrdered
            },
            may_write: r.percent(70),
        },
        7 => VmaKind::Shm {
            id: 1 + r.below(2) as u32,
            pgoff: if r.percent(70) {
                start / P
            } else {
                r.below(64)
            },
            may_write: r.percent(70),
        },
        8 => VmaKind::Heap,
        _ => VmaKind::Stack,
    };
    Vma {
        start,
        end: start + len,
        prot: random_prot(r),
        kind,
    }
}

/// A random range `[start, end)` over the used address space: mostly
/// page-aligned and ordered, sometimes not (`EINVAL`), sometimes empty.
fn random_range(r: &mut Rng, s: &Shape) -> (usize, usize) {
    let a = (16 + r.below(s.pages)) * P;
    let len = match r.below(1000) {
        0..=99 => 0,
        x if x < 100 + s.huge_per_mille => r.below(s.pages) * P,
        _ => (1 + r.below(3 * s.max_len)) * P,
    };
    let (mut start, mut end) = (a, a + len);
    match r.below(40) {
        0 => start += 1,
        1 => end += P / 2,
        2 => core::mem::swap(&mut start, &mut end),
        _ => {}
    }
    (start, end)
}

fn contents(s: &VmaSet) -> Vec<Vma> {
    s.iter().copied().collect()
}

fn assert_same(set: &VmaSet, model: &RefSet, what: &str) {
    set.tree.check();
    assert_eq!(set.count(), model.vmas.len(), "count after {what}");
    assert!(
        set.iter().eq(model.vmas.iter()),
        "contents after {what}:\n set {:?}\n ref {:?}",
        contents(set),
        model.vmas
    );
}

/// Read-only queries at random places, compared with the model.
fn compare_queries(r: &mut Rng, set: &VmaSet, model: &RefSet, s: &Shape) {
    for _ in 0..4 {
        let addr = r.below((s.pages + 32) * P);
        assert_eq!(set.find(addr), model.find(addr), "find {addr:#x}");
        let n = r.below(4);
        assert!(
            set.iter_from(addr)
                .take(n)
                .eq(model.iter_from(addr).take(n)),
            "iter_from {addr:#x}"
        );
        let (a, b) = random_range(r, s);
        assert_eq!(
            set.is_free(a, b),
            model.is_free(a, b),
            "is_free {a:#x}..{b:#x}"
        );
        let p = random_prot(r);
        let (a, b) = (a & !(P - 1), b & !(P - 1));
        if a <= b {
            assert_eq!(
                set.protect_extent(a, b, p),
                model.protect_extent(a, b, p),
                "protect_extent {a:#x}..{b:#x}"
            );
        }
    }
    for _ in 0..6 {
        let len = match r.below(10) {
            0 => 0,
            1 => P + 1,
            2..=4 => (1 + r.below(4)) * P,
            5 | 6 => (1 + r.below(2 * s.max_len)) * P,
            _ => (1 + r.below(s.pages / 4 + 1)) * P,
        };
        let align = match r.below(8) {
            0 => 0,
            1 => 3 * P,
            2 => 4 * P,
            3 => 16 * P,
            4 => 256 * P,
            _ => P,
        };
        let top = (s.pages + 48) * P;
        let (mut lo, mut hi) = (r.below(top), r.below(top));
        if lo > hi {
            core::mem::swap(&mut lo, &mut hi);
        }
        match r.below(6) {
            0 => lo = 0,
            1 => hi = top,
            2 => (lo, hi) = (0, usize::MAX),
            _ => {}
        }
        let hint = match r.below(4) {
            0 => r.below(top) & !(P - 1),
            1 => r.below(top),
            _ => 0,
        };
        assert_eq!(
            set.find_free(len, hint, lo, hi, align),
            model.find_free(len, hint, lo, hi, align),
            "find_free len {len:#x} hint {hint:#x} [{lo:#x}, {hi:#x}) align {align:#x}"
        );
    }
    // The full iteration, backwards through the model.
    assert!(set.iter().eq(model.vmas.iter()));
}

/// One random run; returns how many operations the slot limit failed.
fn run(seed: u64, s: Shape) -> usize {
    let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut set = VmaSet::new(s.max_count);
    let mut model = RefSet::new(s.max_count);
    let mut injected = 0;
    for step in 0..s.steps {
        // Sometimes: no arena growth for this step (only free nodes and
        // part of the spare capacity may be used).
        let limited = r.percent(15);
        if limited {
            set.tree.slot_limit = set.tree.slots() + r.below(2);
        }
        let room = set.tree.room();
        let before = model.clone();
        let op = r.below(100);
        let (got, want, what): (Outcome, Outcome, _) = if op < 12 {
            // mmap's sequence: a free-area query, an insert where it says,
            // often the munmap of exactly that, and the same query again
            // (the store's cached answer must equal the model's search).
            let len = (1 + r.below(s.max_len)) * P;
            let top = (s.pages + 48) * P;
            let lo = if r.percent(50) { 0 } else { r.below(top / 2) };
            let align = if r.percent(80) { P } else { 4 * P };
            let mut v = random_vma(&mut r, &s);
            let want_at = model.find_free(len, 0, lo, top, align);
            assert_eq!(set.find_free(len, 0, lo, top, align), want_at, "mmap query");
            match want_at {
                Some(a) => {
                    v.start = a;
                    v.end = a + len;
                    if let VmaKind::Device { phys, .. } = &mut v.kind {
                        *phys = 0x4000_0000 + a as u64;
                    }
                    let got = set.insert(v);
                    let want = model.insert(v);
                    if got.is_ok() && want.is_ok() && r.percent(70) {
                        assert_eq!(
                            set.find_free(len, 0, lo, top, align),
                            model.find_free(len, 0, lo, top, align),
                            "query while mapped"
                        );
                        assert_eq!(set.remove(a, a + len), model.remove(a, a + len));
                        set.tree.check();
                        assert_eq!(
                            set.find_free(len, 0, lo, top, align),
                            want_at,
                            "query after munmap"
                        );
                    }
                    (got.map(|()| Vec::new()), want.map(|()| Vec::new()), "mmap")
                }
                None => (Ok(Vec::new()), Ok(Vec::new()), "mmap (no room)"),
            }
        } else if op < s.insert_pct {
            let v = random_vma(&mut r, &s);
            (
                set.insert(v).map(|()| Vec::new()),
                model.insert(v).map(|()| Vec::new()),
                "insert",
            )
        } else {
            let (a, b) = random_range(&mut r, &s);
            match r.below(5) {
                0 | 1 => (set.remove(a, b), model.remove(a, b), "remove"),
                2 => (
                    set.cut(a, b).map(|()| Vec::new()),
                    model.cut(a, b).map(|()| Vec::new()),
                    "cut",
                ),
                _ => {
                    let p = random_prot(&mut r);
                    (set.protect(a, b, p), model.protect(a, b, p), "protect")
                }
            }
        };
        let what = alloc::format!("{what} (seed {seed}, step {step})");
        let net = model.vmas.len() as isize - before.vmas.len() as isize;
        if limited && want.is_ok() && net > room as isize {
            // More nodes than it may have: ENOMEM, nothing changed.
            assert_eq!(got, Err(Errno::ENOMEM), "{what}: injected failure");
            assert_same(&set, &before, &what);
            model = before;
            injected += 1;
        } else {
            // Including every limited step that needs no more than the
            // room there is (what `reserve` promises).
            assert_eq!(got, want, "{what}");
            assert_same(&set, &model, &what);
        }
        set.tree.slot_limit = usize::MAX;
        compare_queries(&mut r, &set, &model, &s);
        if step % 512 == 511 {
            // Clones are equal and independent.
            let c = set.try_clone().unwrap();
            c.tree.check();
            assert!(c.iter().eq(set.iter()));
        }
    }
    injected
}

#[test]
fn random_small_sets_match_the_vec_store() {
    let mut injected = 0;
    for seed in 0..200 {
        let shape = Shape {
            pages: 64 + (seed as usize % 5) * 64,
            max_len: 1 + seed as usize % 8,
            insert_pct: 40 + seed as usize % 30,
            max_count: if seed % 4 == 0 { 12 } else { 1000 },
            steps: 400,
            huge_per_mille: 100,
        };
        injected += run(seed, shape);
    }
    assert!(injected > 100, "allocation failures injected: {injected}");
}

#[test]
fn random_large_sets_match_the_vec_store() {
    // Thousands of VMAs: the insert-heavy phase of each run builds them up,
    // the removals and protects then cut them in bulk and one by one.
    let mut injected = 0;
    for seed in 1000..1005 {
        let shape = Shape {
            pages: 20_000,
            max_len: 3,
            insert_pct: 80,
            max_count: 65_530,
            steps: 6_000,
            huge_per_mille: 2,
        };
        injected += run(seed, shape);
    }
    assert!(injected > 0);
}

#[test]
fn reserve_promises_room() {
    let mut s = VmaSet::new(100);
    let anon = |a: usize, b: usize, bits| Vma {
        start: a * P,
        end: b * P,
        prot: Prot::from_bits(bits).unwrap(),
        kind: VmaKind::Anonymous {
            shared: false,
            may_write: true,
        },
    };
    for i in 0..8 {
        s.insert(anon(10 * i, 10 * i + 5, 3)).unwrap();
    }
    s.reserve(4).unwrap();
    // No growth from here on: the reserved room must do.
    s.tree.slot_limit = s.tree.capacity();
    s.cut(12 * P, 13 * P).unwrap(); // +1
    s.insert(anon(100, 101, 1)).unwrap(); // +1
    s.protect(32 * P, 33 * P, Prot::from_bits(1).unwrap())
        .unwrap(); // +2
    assert_eq!(s.count(), 12);
    // Past the arena's end: the next node needs memory, which "fails".
    s.tree.slot_limit = s.tree.slots();
    assert_eq!(s.insert(anon(200, 201, 1)), Err(Errno::ENOMEM));
    assert_eq!(s.count(), 12);
    s.tree.check();
}

#[test]
fn bulk_cut_and_rebuild() {
    // Alternating rights: nothing merges. Cutting most of it takes the
    // rebuild path, a few at a time the per-node path.
    let mut set = VmaSet::new(100_000);
    let mut model = RefSet::new(100_000);
    for i in 0..5000 {
        let v = Vma {
            start: (16 + i) * P,
            end: (17 + i) * P,
            prot: Prot::from_bits(if i % 2 == 0 { 1 } else { 3 }).unwrap(),
            kind: VmaKind::Anonymous {
                shared: false,
                may_write: true,
            },
        };
        set.insert(v).unwrap();
        model.insert(v).unwrap();
    }
    assert_same(&set, &model, "build");
    for (a, b) in [(100, 4000), (20, 30), (4100, 4101), (0, 5100)] {
        assert_eq!(set.remove(a * P, b * P), model.remove(a * P, b * P));
        assert_same(&set, &model, "bulk cut");
    }
    assert_eq!(set.count(), 0);
    // Merging a long run into one VMA: mprotect over all of it.
    for i in 0..3000 {
        let v = Vma {
            start: (16 + i) * P,
            end: (17 + i) * P,
            prot: Prot::from_bits(if i % 2 == 0 { 1 } else { 3 }).unwrap(),
            kind: VmaKind::Anonymous {
                shared: false,
                may_write: true,
            },
        };
        set.insert(v).unwrap();
        model.insert(v).unwrap();
    }
    let p = Prot::from_bits(1).unwrap();
    assert_eq!(
        set.protect(16 * P, 3016 * P, p),
        model.protect(16 * P, 3016 * P, p)
    );
    assert_same(&set, &model, "protect all");
    assert_eq!(set.count(), 1);
}

#[test]
fn bench_layout_with_30000_vmas() {
    // The bench's layout: 30 000 touching VMAs under the top; a new page
    // lands right below all of them and goes again. The tree stays
    // AVL-balanced (about log2 n high) and every summary exact.
    let mut set = VmaSet::new(65_530);
    let top = 0x8000_0000usize;
    let n = 30_000;
    let base = top - 2 * n * P;
    set.insert(Vma {
        start: base,
        end: top,
        prot: Prot::from_bits(1).unwrap(),
        kind: VmaKind::Anonymous {
            shared: false,
            may_write: true,
        },
    })
    .unwrap();
    for i in 0..n / 2 {
        set.protect(base + (4 * i + 1) * P, base + (4 * i + 2) * P, Prot::NONE)
            .unwrap();
    }
    assert_eq!(set.count(), n + 1);
    assert!(
        set.tree.tree_height() <= 22,
        "height {}",
        set.tree.tree_height()
    );
    set.tree.check();
    for _ in 0..100 {
        let a = set.find_free(P, 0, 0x1000_0000, top, P).unwrap();
        assert_eq!(a, base - P);
        let v = Vma {
            start: a,
            end: a + P,
            prot: Prot::from_bits(3).unwrap(),
            kind: VmaKind::Anonymous {
                shared: false,
                may_write: true,
            },
        };
        set.insert(v).unwrap();
        set.remove(a, a + P).unwrap();
    }
    assert_eq!(set.count(), n + 1);
    set.tree.check();
}

/// For profiling (`cargo test --release --lib bench_like -- --ignored`
/// under `valgrind --tool=callgrind`): the kernel's VmaSet calls for the
/// bench's mmap+munmap of 4 KiB with `BENCH_VMAS` VMAs present.
#[test]
#[ignore]
fn bench_like_mmap_munmap() {
    let n: usize = std::env::var("BENCH_VMAS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30_000);
    let mut set = VmaSet::new(65_530);
    let top = 0x8000_0000usize;
    let base = top - 2 * n * P;
    let ro = Prot::from_bits(1).unwrap();
    let anon = |a: usize, b: usize, prot: Prot| Vma {
        start: a,
        end: b,
        prot,
        kind: VmaKind::Anonymous {
            shared: false,
            may_write: true,
        },
    };
    set.insert(anon(0x1_0000, 0x2_0000, ro)).unwrap();
    set.insert(anon(top + P, top + 2 * P, ro)).unwrap();
    if n > 1 {
        set.insert(anon(base, top, ro)).unwrap();
        for i in 0..n / 2 {
            set.protect(base + (4 * i + 1) * P, base + (4 * i + 2) * P, Prot::NONE)
                .unwrap();
        }
    }
    let rw = Prot::from_bits(3).unwrap();
    let iters: usize = std::env::var("BENCH_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    if std::env::var("BENCH_MODE").is_ok_and(|m| m == "mprotect_ref") {
        let mut model = RefSet::new(65_530);
        for v in set.iter() {
            model.vmas.push(*v);
        }
        let a = model.find_free(P, 0, 0x1000_0000, top, P).unwrap() - P;
        model.insert(anon(a, a + P, rw)).unwrap();
        for _ in 0..iters {
            let _ = model.protect_extent(a, a + P, ro);
            assert_eq!(model.protect(a, a + P, ro).unwrap().len(), 1);
            let _ = model.protect_extent(a, a + P, rw);
            assert_eq!(model.protect(a, a + P, rw).unwrap().len(), 1);
        }
        return;
    }
    if std::env::var("BENCH_MODE").is_ok_and(|m| m == "mprotect") {
        // Not touching the others: no merging.
        let a = set.find_free(P, 0, 0x1000_0000, top, P).unwrap() - P;
        set.insert(anon(a, a + P, rw)).unwrap();
        for _ in 0..iters {
            let _ = set.protect_extent(a, a + P, ro);
            assert_eq!(set.protect(a, a + P, ro).unwrap().len(), 1);
            let _ = set.protect_extent(a, a + P, rw);
            assert_eq!(set.protect(a, a + P, rw).unwrap().len(), 1);
        }
        return;
    }
    let mut sum = 0;
    for _ in 0..iters {
        let a = set.find_free(P, 0, 0x1000_0000, top, P).unwrap();
        set.insert(anon(a, a + P, rw)).unwrap();
        assert!(!set.is_free(a, a + P));
        sum += set.remove(a, a + P).unwrap().len();
    }
    assert_eq!(sum, iters);
}
