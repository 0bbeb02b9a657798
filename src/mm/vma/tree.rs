//! The store behind [`super::VmaSet`]: an AVL tree of VMAs, ordered by
//! start address, in an arena of nodes.
//!
//! * Nodes live in one `Vec` and refer to each other by `u32` index; freed
//!   nodes go to a free list and are reused. The arena only grows through
//!   [`Tree::ensure_room`] (`try_reserve`), which every operation that adds
//!   nodes calls before it changes anything, so an operation either fails
//!   with `ENOMEM` untouched or cannot fail at all.
//! * Every node also sits in a doubly linked list in address order, so
//!   iteration and neighbours are O(1) (rotations do not change the order,
//!   so they never touch the list).
//! * Every node carries a summary of its subtree: lowest start, highest end
//!   and the largest hole between two neighbouring VMAs inside it. The
//!   summary is a function of the node and its two children only, so
//!   rotations and path updates keep it exact, and the top-down free-area
//!   search skips every subtree without a hole large enough: O(log n), like
//!   Linux's gap-tracking maple tree.
//! * Every node knows its parent, so mmap's lone insertion and munmap's
//!   exact removal fix the tree from the changed node upwards and stop at
//!   the first node whose height and summary come out unchanged (AVL
//!   rebalancing needs at most one rotation on insertion, and the summaries
//!   above a small change usually stay as they were).
//! * Two hints make the common mmap/munmap cycle O(1) outside the insert's
//!   descent: the last node a lookup found or an insertion made (checked
//!   in O(1) before a lookup or an exact removal descends), and the answer
//!   of the last free-area query, kept while only the insertion of exactly
//!   that range and its removal happened since ([`FreeCache`]). Both are
//!   checked or invalidated so that every answer is the one the full
//!   search gives.
//!
//! AVL heights are bounded (about 1.44 log2 n: 24 for 65 536 VMAs, under 46
//! for anything a `u32` index can address), so the recursion depth of every
//! operation is bounded too, whatever order the user creates VMAs in.

use alloc::vec::Vec;
use core::cell::Cell;

use super::Vma;
use crate::errno::Errno;

/// No node.
pub(super) const NIL: u32 = u32::MAX;

#[derive(Clone, Copy, Debug)]
struct Node {
    vma: Vma,
    /// Lowest start and highest end in the subtree.
    lo: usize,
    hi: usize,
    /// Largest hole between two neighbouring VMAs of the subtree (0 if
    /// none).
    gap: usize,
    left: u32,
    right: u32,
    /// Neighbours in address order; `next` also links the free list.
    prev: u32,
    next: u32,
    /// AVL height (a leaf is 1).
    height: u32,
    /// The parent node (`NIL` for the root): the way up from a node, so
    /// that [`Tree::insert_lone`] and [`Tree::remove_exact`] fix only the
    /// part of the path that changed, without recording it.
    up: u32,
}

/// The top-down free-area query: `len` bytes at an address that is a
/// multiple of the alignment (`mask` clears the low bits), not below `lo`.
struct Query {
    len: usize,
    lo: usize,
    mask: usize,
}

impl Query {
    /// The highest aligned start for `len` bytes in the hole
    /// `[start, end)`, if any (`start` already raised to `lo`).
    fn fit(&self, start: usize, end: usize) -> Option<usize> {
        let cand = end.checked_sub(self.len)? & self.mask;
        (cand >= start).then_some(cand)
    }
}

/// What [`Tree::fix`] did to a node.
enum Fixed {
    /// Nothing: its height and summary were exact.
    Same,
    /// Only its largest hole grew, to this.
    GapGrew(usize),
    /// Its height, bounds or largest hole changed otherwise.
    Changed,
    /// It was rotated: this is the subtree's new root.
    Rotated(u32),
}

/// The answer to the last top-down free-area query, kept while the set of
/// mapped ranges is the one it was computed on (Linux once kept a
/// `free_area_cache` for the same reason): an mmap that takes the answer
/// and the munmap that gives exactly that range back leave the ranges as
/// they were, so the next identical query needs no search. Any other
/// change drops it. The answer is a function of the ranges only, so it
/// stays exact.
#[derive(Clone, Copy)]
struct FreeCache {
    len: usize,
    lo: usize,
    hi: usize,
    align: usize,
    addr: Option<usize>,
    /// `[addr, addr + len)` is mapped now, as one VMA inserted alone: the
    /// answer holds again once exactly that VMA is removed.
    taken: bool,
}

pub(super) struct Tree {
    nodes: Vec<Node>,
    root: u32,
    first: u32,
    last: u32,
    /// Head of the free list and its length.
    free: u32,
    nfree: usize,
    /// Live nodes (VMAs).
    len: usize,
    /// The last node a lookup found or an insertion made (a hint, checked
    /// before use: any node, live or free, or `NIL`).
    hot: Cell<u32>,
    /// The last top-down free-area query and its answer (see
    /// [`FreeCache`]).
    free_cache: Cell<Option<FreeCache>>,
    /// Tests: the arena may not grow past this many slots (an allocation
    /// that would is treated as failing).
    #[cfg(test)]
    pub(super) slot_limit: usize,
}

impl Clone for Tree {
    fn clone(&self) -> Tree {
        self.with_nodes(self.nodes.clone())
    }
}

/// VMAs in address order, from a node on.
pub(super) struct Iter<'a> {
    tree: &'a Tree,
    cur: u32,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a Vma;

    fn next(&mut self) -> Option<&'a Vma> {
        let n = self.tree.nodes.get(self.cur as usize)?;
        self.cur = n.next;
        Some(&n.vma)
    }
}

/// Whether some VMA of `new` starts at `start`, advancing `j` (an index
/// into the sorted `new`) past the ones that start below it.
fn starts_at(new: &[Vma], j: &mut usize, start: usize) -> bool {
    while new.get(*j).is_some_and(|v| v.start < start) {
        *j += 1;
    }
    new.get(*j).is_some_and(|v| v.start == start)
}

impl Tree {
    pub fn new() -> Self {
        Tree {
            nodes: Vec::new(),
            root: NIL,
            first: NIL,
            last: NIL,
            free: NIL,
            nfree: 0,
            len: 0,
            hot: Cell::new(NIL),
            free_cache: Cell::new(None),
            #[cfg(test)]
            slot_limit: usize::MAX,
        }
    }

    /// A copy, or `ENOMEM`.
    pub fn try_clone(&self) -> Result<Tree, Errno> {
        let mut nodes = Vec::new();
        nodes
            .try_reserve_exact(self.nodes.len())
            .map_err(|_| Errno::ENOMEM)?;
        nodes.extend_from_slice(&self.nodes);
        Ok(self.with_nodes(nodes))
    }

    /// This tree over `nodes` (a copy of its own).
    fn with_nodes(&self, nodes: Vec<Node>) -> Tree {
        Tree {
            nodes,
            root: self.root,
            first: self.first,
            last: self.last,
            free: self.free,
            nfree: self.nfree,
            len: self.len,
            hot: self.hot.clone(),
            free_cache: self.free_cache.clone(),
            #[cfg(test)]
            slot_limit: self.slot_limit,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    fn n(&self, t: u32) -> &Node {
        &self.nodes[t as usize]
    }

    fn m(&mut self, t: u32) -> &mut Node {
        &mut self.nodes[t as usize]
    }

    fn height(&self, t: u32) -> u32 {
        if t == NIL {
            0
        } else {
            self.n(t).height
        }
    }

    /// The VMA of node `t` (not `NIL`).
    pub fn vma(&self, t: u32) -> &Vma {
        &self.n(t).vma
    }

    /// The node after `t`, or the first one if `t` is `NIL`.
    pub fn after(&self, t: u32) -> u32 {
        if t == NIL {
            self.first
        } else {
            self.n(t).next
        }
    }

    /// The node before `t`, or the last one if `t` is `NIL`.
    pub fn before(&self, t: u32) -> u32 {
        if t == NIL {
            self.last
        } else {
            self.n(t).prev
        }
    }

    /// VMAs in address order from node `t` (none if `NIL`).
    pub fn iter_from_node(&self, t: u32) -> Iter<'_> {
        Iter { tree: self, cur: t }
    }

    /// The first node whose VMA ends after `addr`, or `NIL`.
    ///
    /// The node the last lookup found (or the last lone insertion made)
    /// is tried first, in O(1): it is the answer exactly when it ends
    /// after `addr` and the node before it does not (ends only grow in
    /// address order). A freed node never passes (its end is 0).
    pub fn first_ending_after(&self, addr: usize) -> u32 {
        let h = self.hot.get();
        if let Some(n) = self.nodes.get(h as usize) {
            if n.vma.end > addr && (n.prev == NIL || self.n(n.prev).vma.end <= addr) {
                return h;
            }
        }
        let (mut t, mut found) = (self.root, NIL);
        while t != NIL {
            let n = self.n(t);
            if n.vma.end > addr {
                found = t;
                t = n.left;
            } else {
                t = n.right;
            }
        }
        if found != NIL {
            self.hot.set(found);
        }
        found
    }

    /// Makes sure `need` more nodes can be added without allocating.
    pub fn ensure_room(&mut self, need: usize) -> Result<(), Errno> {
        #[allow(unused_mut)]
        let mut cap = self.nodes.capacity();
        #[cfg(test)]
        {
            cap = cap.min(self.slot_limit.max(self.nodes.len()));
        }
        let spare = cap - self.nodes.len();
        let Some(more) = need.checked_sub(self.nfree).filter(|&m| m > spare) else {
            return Ok(());
        };
        // Indexes are u32 and NIL is taken.
        if self.nodes.len().saturating_add(more) > NIL as usize {
            return Err(Errno::ENOMEM);
        }
        #[cfg(test)]
        if self.nodes.len().saturating_add(more) > self.slot_limit {
            return Err(Errno::ENOMEM);
        }
        self.nodes.try_reserve(more).map_err(|_| Errno::ENOMEM)
    }

    /// Recomputes `t`'s height and summary from its children.
    ///
    /// The holes are `wrapping_sub`: exact whenever the VMAs are in order,
    /// which they are once an operation is done (every node whose subtree
    /// changed is recomputed after the change); a transient overlap inside
    /// an operation can only make a summary too large, which costs the
    /// search some pruning, never a wrong answer.
    fn pull(&mut self, t: u32) {
        let n = self.n(t);
        let (l, r, start, end) = (n.left, n.right, n.vma.start, n.vma.end);
        let (mut lo, mut hi, mut gap, mut h) = (start, end, 0, 0);
        if l != NIL {
            let c = self.n(l);
            lo = c.lo;
            gap = c.gap.max(start.wrapping_sub(c.hi));
            h = c.height;
        }
        if r != NIL {
            let c = self.n(r);
            hi = c.hi;
            gap = gap.max(c.gap).max(c.lo.wrapping_sub(end));
            h = h.max(c.height);
        }
        let n = self.m(t);
        n.lo = lo;
        n.hi = hi;
        n.gap = gap;
        n.height = h + 1;
    }

    /// Sets `c`'s parent (if `c` is a node).
    fn set_up(&mut self, c: u32, p: u32) {
        if c != NIL {
            self.m(c).up = p;
        }
    }

    /// Rotations keep the subtree's place: the new subtree root takes
    /// `t`'s parent.
    fn rotate_right(&mut self, t: u32) -> u32 {
        let l = self.n(t).left;
        let (lr, up) = (self.n(l).right, self.n(t).up);
        self.m(t).left = lr;
        self.set_up(lr, t);
        self.m(l).right = t;
        self.m(t).up = l;
        self.m(l).up = up;
        self.pull(t);
        self.pull(l);
        l
    }

    fn rotate_left(&mut self, t: u32) -> u32 {
        let r = self.n(t).right;
        let (rl, up) = (self.n(r).left, self.n(t).up);
        self.m(t).right = rl;
        self.set_up(rl, t);
        self.m(r).left = t;
        self.m(t).up = r;
        self.m(r).up = up;
        self.pull(t);
        self.pull(r);
        r
    }

    /// Restores the AVL balance at `t` (its subtrees are balanced and
    /// differ in height by at most 2) and its summary; returns the new
    /// subtree root. The balanced case (nearly always) reads each child
    /// once.
    fn balance(&mut self, t: u32) -> u32 {
        let n = self.n(t);
        let (l, r, start, end) = (n.left, n.right, n.vma.start, n.vma.end);
        let (mut lo, mut hi, mut gap, mut hl, mut hr) = (start, end, 0, 0, 0);
        if l != NIL {
            let c = self.n(l);
            lo = c.lo;
            gap = c.gap.max(start.wrapping_sub(c.hi));
            hl = c.height;
        }
        if r != NIL {
            let c = self.n(r);
            hi = c.hi;
            gap = gap.max(c.gap).max(c.lo.wrapping_sub(end));
            hr = c.height;
        }
        if hl.abs_diff(hr) > 1 {
            return self.rotate_at(t);
        }
        let n = self.m(t);
        n.lo = lo;
        n.hi = hi;
        n.gap = gap;
        n.height = hl.max(hr) + 1;
        t
    }

    /// [`Tree::balance`] that also says what changed that an ancestor
    /// reads.
    fn fix(&mut self, t: u32) -> Fixed {
        let n = self.n(t);
        let (l, r, start, end) = (n.left, n.right, n.vma.start, n.vma.end);
        let (mut lo, mut hi, mut gap, mut hl, mut hr) = (start, end, 0, 0, 0);
        if l != NIL {
            let c = self.n(l);
            lo = c.lo;
            gap = c.gap.max(start.wrapping_sub(c.hi));
            hl = c.height;
        }
        if r != NIL {
            let c = self.n(r);
            hi = c.hi;
            gap = gap.max(c.gap).max(c.lo.wrapping_sub(end));
            hr = c.height;
        }
        if hl.abs_diff(hr) > 1 {
            return Fixed::Rotated(self.rotate_at(t));
        }
        let height = hl.max(hr) + 1;
        let n = self.m(t);
        if n.lo == lo && n.hi == hi && n.height == height {
            if n.gap == gap {
                return Fixed::Same;
            }
            let grew = gap > n.gap;
            n.gap = gap;
            return if grew {
                Fixed::GapGrew(gap)
            } else {
                Fixed::Changed
            };
        }
        n.lo = lo;
        n.hi = hi;
        n.gap = gap;
        n.height = height;
        Fixed::Changed
    }

    /// Points whatever pointed to `old` (a child of `parent`, or the root
    /// if `parent` is `NIL`) to `new`.
    fn replace_child(&mut self, parent: u32, old: u32, new: u32) {
        self.set_up(new, parent);
        if parent == NIL {
            self.root = new;
        } else {
            let p = self.m(parent);
            if p.left == old {
                p.left = new;
            } else {
                p.right = new;
            }
        }
    }

    /// Restores balance and summaries from node `t` up to the root, after
    /// `t`'s subtree changed. Stops as soon as a node comes out exactly as
    /// it was (no rotation, same height and summary), except until
    /// `force` is passed: a node that took another's place (its old
    /// values say nothing of what its parent read), or `NIL`.
    fn fix_up(&mut self, mut t: u32, mut force: u32) {
        while t != NIL {
            let parent = match self.fix(t) {
                Fixed::Rotated(r) => {
                    let parent = self.n(r).up;
                    self.replace_child(parent, t, r);
                    parent
                }
                Fixed::Same if force == NIL => return,
                Fixed::GapGrew(gap) if force == NIL => {
                    // Only the largest hole grew: above, each summary is
                    // the larger of its own and this one.
                    self.raise_gap(self.n(t).up, gap);
                    return;
                }
                _ => self.n(t).up,
            };
            if t == force {
                force = NIL;
            }
            t = parent;
        }
    }

    /// Raises the largest-hole summary of `t` and its ancestors to at
    /// least `gap`, stopping at the first that is already that large.
    fn raise_gap(&mut self, mut t: u32, gap: usize) {
        while t != NIL {
            let n = self.m(t);
            if n.gap >= gap {
                return;
            }
            n.gap = gap;
            t = n.up;
        }
    }

    /// The rotations of [`Tree::balance`], out of its hot path.
    #[inline(never)]
    fn rotate_at(&mut self, t: u32) -> u32 {
        let (l, r) = (self.n(t).left, self.n(t).right);
        if self.height(l) > self.height(r) {
            if self.height(self.n(l).left) < self.height(self.n(l).right) {
                let nl = self.rotate_left(l);
                self.m(t).left = nl;
            }
            self.rotate_right(t)
        } else {
            if self.height(self.n(r).right) < self.height(self.n(r).left) {
                let nr = self.rotate_right(r);
                self.m(t).right = nr;
            }
            self.rotate_left(t)
        }
    }

    /// Inserts the leaf `x` (starting at `key`) into the subtree `t`.
    fn insert_at(&mut self, t: u32, x: u32, key: usize) -> u32 {
        if t == NIL {
            return x;
        }
        if key < self.n(t).vma.start {
            let c = self.insert_at(self.n(t).left, x, key);
            self.m(t).left = c;
            self.m(c).up = t;
        } else {
            let c = self.insert_at(self.n(t).right, x, key);
            self.m(t).right = c;
            self.m(c).up = t;
        }
        self.balance(t)
    }

    /// Adds `v` in one descent if it overlaps no VMA and merges with
    /// neither neighbour (mmap's common case); `false`, with nothing
    /// changed, otherwise. Room for one node must be ensured.
    ///
    /// The way back up (by the parent links) stops at the first node whose
    /// height and summary come out unchanged.
    pub fn insert_lone(&mut self, v: &Vma) -> bool {
        let (mut p, mut t, mut pred, mut succ) = (NIL, self.root, NIL, NIL);
        while t != NIL {
            p = t;
            let n = self.n(t);
            if v.start < n.vma.start {
                succ = t;
                t = n.left;
            } else {
                pred = t;
                t = n.right;
            }
        }
        if pred != NIL {
            let pv = &self.n(pred).vma;
            if pv.end > v.start || pv.can_merge(v) {
                return false;
            }
        }
        if succ != NIL {
            let sv = &self.n(succ).vma;
            if sv.start < v.end || v.can_merge(sv) {
                return false;
            }
        }
        self.note_insert(v);
        let x = self.alloc(*v);
        self.link_after(pred, x);
        self.len += 1;
        self.hot.set(x);
        self.m(x).up = p;
        if p == NIL {
            self.root = x;
            return true;
        }
        // The new leaf hangs where the descent ended: under its successor
        // if that was the last node visited, else under its predecessor.
        if p == succ {
            self.m(p).left = x;
        } else {
            self.m(p).right = x;
        }
        self.fix_up(p, NIL);
        true
    }

    /// Deletes the VMA that is exactly `[start, end)` (munmap's common
    /// case) and returns it; `None`, with nothing changed, if there is no
    /// such VMA.
    ///
    /// The node is the last one found or inserted (O(1)) or found in one
    /// descent; it is unhooked where it is (its successor takes its place
    /// if it has two children) and the tree fixed up from there by the
    /// parent links, stopping at the first unchanged node.
    pub fn remove_exact(&mut self, start: usize, end: usize) -> Option<Vma> {
        let h = self.hot.get();
        let x = match self.nodes.get(h as usize) {
            // Live: a freed node's end is 0.
            Some(n) if n.vma.start == start && n.vma.end != 0 => h,
            _ => {
                let mut t = self.root;
                loop {
                    if t == NIL {
                        return None;
                    }
                    let n = self.n(t);
                    if start == n.vma.start {
                        break t;
                    }
                    t = if start < n.vma.start { n.left } else { n.right };
                }
            }
        };
        let n = self.n(x);
        if n.vma.end != end {
            return None;
        }
        let v = n.vma;
        let (l, r, parent) = (n.left, n.right, n.up);
        if l == NIL || r == NIL {
            self.replace_child(parent, x, if l == NIL { r } else { l });
            self.fix_up(parent, NIL);
        } else {
            // The successor s, leftmost of r, takes x's place.
            let mut s = r;
            loop {
                let sl = self.n(s).left;
                if sl == NIL {
                    break;
                }
                s = sl;
            }
            let from = if s == r {
                s
            } else {
                let (sp, sr) = (self.n(s).up, self.n(s).right);
                self.m(sp).left = sr;
                self.set_up(sr, sp);
                self.m(s).right = r;
                self.m(r).up = s;
                sp
            };
            self.m(s).left = l;
            self.m(l).up = s;
            self.replace_child(parent, x, s);
            self.fix_up(from, s);
        }
        self.note_remove(start, end);
        self.unlink(x);
        self.release(x);
        self.len -= 1;
        Some(v)
    }

    /// Detaches the leftmost node of `t`: (new subtree root, that node).
    fn take_min(&mut self, t: u32) -> (u32, u32) {
        let l = self.n(t).left;
        if l == NIL {
            return (self.n(t).right, t);
        }
        let (c, min) = self.take_min(l);
        self.m(t).left = c;
        self.set_up(c, t);
        (self.balance(t), min)
    }

    /// Detaches node `x` (starting at `key`) from the subtree `t`.
    fn delete_at(&mut self, t: u32, x: u32, key: usize) -> u32 {
        if t == NIL {
            return NIL;
        }
        if t == x {
            let (l, r) = (self.n(t).left, self.n(t).right);
            if l == NIL {
                return r;
            }
            if r == NIL {
                return l;
            }
            let (c, succ) = self.take_min(r);
            self.m(succ).left = l;
            self.m(succ).right = c;
            self.m(l).up = succ;
            self.set_up(c, succ);
            return self.balance(succ);
        }
        if key < self.n(t).vma.start {
            let c = self.delete_at(self.n(t).left, x, key);
            self.m(t).left = c;
            self.set_up(c, t);
        } else {
            let c = self.delete_at(self.n(t).right, x, key);
            self.m(t).right = c;
            self.set_up(c, t);
        }
        self.balance(t)
    }

    /// Recomputes the summaries on the path to the node starting at `key`
    /// (after its end changed).
    fn repull(&mut self, t: u32, key: usize) {
        if t == NIL {
            return;
        }
        let start = self.n(t).vma.start;
        if key < start {
            self.repull(self.n(t).left, key);
        } else if key > start {
            self.repull(self.n(t).right, key);
        }
        self.pull(t);
    }

    /// The free-area answer no longer holds: the ranges changed.
    fn forget_free(&self) {
        self.free_cache.set(None);
    }

    /// `v` is being inserted alone: the free-area answer is taken if `v`
    /// is exactly its range, else it no longer holds.
    fn note_insert(&self, v: &Vma) {
        match self.free_cache.get() {
            Some(mut c)
                if !c.taken && c.addr == Some(v.start) && v.end.wrapping_sub(v.start) == c.len =>
            {
                c.taken = true;
                self.free_cache.set(Some(c));
            }
            _ => self.forget_free(),
        }
    }

    /// `[start, end)`, one whole VMA, is being removed: the free-area
    /// answer holds again if that was the range it had taken.
    fn note_remove(&self, start: usize, end: usize) {
        match self.free_cache.get() {
            Some(mut c) if c.taken && c.addr == Some(start) && end.wrapping_sub(start) == c.len => {
                c.taken = false;
                self.free_cache.set(Some(c));
            }
            _ => self.forget_free(),
        }
    }

    /// A perfectly balanced tree of the `count` listed nodes from `*cur`
    /// on; leaves `*cur` after them.
    fn build(&mut self, cur: &mut u32, count: usize) -> u32 {
        if count == 0 {
            return NIL;
        }
        let nl = (count - 1) / 2;
        let l = self.build(cur, nl);
        let t = *cur;
        *cur = self.n(t).next;
        let r = self.build(cur, count - 1 - nl);
        let n = self.m(t);
        n.left = l;
        n.right = r;
        self.set_up(l, t);
        self.set_up(r, t);
        self.pull(t);
        t
    }

    /// A node for `v`, from the free list or the reserved spare capacity.
    fn alloc(&mut self, v: Vma) -> u32 {
        let node = Node {
            vma: v,
            lo: v.start,
            hi: v.end,
            gap: 0,
            left: NIL,
            right: NIL,
            prev: NIL,
            next: NIL,
            height: 1,
            up: NIL,
        };
        if self.free != NIL {
            let t = self.free;
            self.free = self.n(t).next;
            self.nfree -= 1;
            *self.m(t) = node;
            t
        } else {
            // ensure_room made room: this push does not allocate.
            debug_assert!(self.nodes.len() < self.nodes.capacity());
            let t = self.nodes.len() as u32;
            self.nodes.push(node);
            t
        }
    }

    fn release(&mut self, t: u32) {
        // A freed node never passes `first_ending_after`'s check.
        self.m(t).vma.end = 0;
        self.m(t).next = self.free;
        self.free = t;
        self.nfree += 1;
    }

    /// Puts `x` into the list right after `p` (first if `p` is `NIL`).
    fn link_after(&mut self, p: u32, x: u32) {
        let n = self.after(p);
        self.m(x).prev = p;
        self.m(x).next = n;
        if p == NIL {
            self.first = x;
        } else {
            self.m(p).next = x;
        }
        if n == NIL {
            self.last = x;
        } else {
            self.m(n).prev = x;
        }
    }

    fn unlink(&mut self, x: u32) {
        let (p, n) = (self.n(x).prev, self.n(x).next);
        if p == NIL {
            self.first = n;
        } else {
            self.m(p).next = n;
        }
        if n == NIL {
            self.last = p;
        } else {
            self.m(n).prev = p;
        }
    }

    /// Replaces the `k` VMAs after node `before` (from the first if `NIL`)
    /// with `new`: sorted, non-overlapping, and lying between the VMAs
    /// around the run. Fails only with `ENOMEM`, with nothing changed.
    ///
    /// A VMA of the run whose start reappears in `new` keeps its node and
    /// is rewritten in place (a summary update on its path if its end
    /// changes); the others are deleted, first, and the rest of `new` is
    /// inserted. So the operation needs room for at most as many nodes as
    /// it adds in net, as a `Vec` would, and costs O((changes) log n);
    /// deleting a large part of the set rebuilds the tree instead, O(n).
    pub fn replace_run(&mut self, before: u32, k: usize, new: &[Vma]) -> Result<(), Errno> {
        self.forget_free();
        // The common cases of mmap and munmap, without the matching.
        match (k, new) {
            (0, [v]) => {
                self.ensure_room(1)?;
                self.add_after(before, *v);
                return Ok(());
            }
            (1, []) => {
                let o = self.after(before);
                if o != NIL {
                    self.root = self.delete_at(self.root, o, self.n(o).vma.start);
                    self.set_up(self.root, NIL);
                    self.unlink(o);
                    self.release(o);
                    self.len -= 1;
                }
                return Ok(());
            }
            (k, new) if k == new.len() => {
                // Nothing is added, so nothing can fail: rewrite in place
                // while the starts stay (mprotect of whole VMAs); what is
                // left goes through the general path below, where the
                // rewritten VMAs match their pieces again.
                let mut o = self.after(before);
                let mut done = 0;
                for v in new {
                    if o == NIL || self.n(o).vma.start != v.start {
                        break;
                    }
                    let old_end = self.n(o).vma.end;
                    self.m(o).vma = *v;
                    if old_end != v.end {
                        self.repull(self.root, v.start);
                    }
                    o = self.n(o).next;
                    done += 1;
                }
                if done == k {
                    return Ok(());
                }
            }
            _ => {}
        }
        let (mut j, mut o, mut matches, mut run) = (0, self.after(before), 0, 0);
        while run < k && o != NIL {
            matches += usize::from(starts_at(new, &mut j, self.n(o).vma.start));
            o = self.n(o).next;
            run += 1;
        }
        let (adds, dels) = (new.len() - matches, run - matches);
        self.ensure_room(adds.saturating_sub(dels))?;
        // Nothing below can fail.

        if dels > 0 {
            // Many deletions: drop them from the list and rebuild, O(n),
            // rather than O(dels log n).
            let bulk = dels >= 16 && dels.saturating_mul(16) >= self.len;
            let (mut j, mut o) = (0, self.after(before));
            for _ in 0..run {
                let next = self.n(o).next;
                let start = self.n(o).vma.start;
                if !starts_at(new, &mut j, start) {
                    if !bulk {
                        self.root = self.delete_at(self.root, o, start);
                        self.set_up(self.root, NIL);
                    }
                    self.unlink(o);
                    self.release(o);
                    self.len -= 1;
                }
                o = next;
            }
            if bulk {
                let mut cur = self.first;
                self.root = self.build(&mut cur, self.len);
                self.set_up(self.root, NIL);
            }
        }

        let (mut cur, mut o, mut kept) = (before, self.after(before), matches);
        for v in new {
            if kept > 0 && self.n(o).vma.start == v.start {
                let old_end = self.n(o).vma.end;
                self.m(o).vma = *v;
                if old_end != v.end {
                    self.repull(self.root, v.start);
                }
                cur = o;
                o = self.n(o).next;
                kept -= 1;
            } else {
                cur = self.add_after(cur, *v);
            }
        }
        Ok(())
    }

    /// Adds `v` (which belongs right after node `p`) with room ensured.
    fn add_after(&mut self, p: u32, v: Vma) -> u32 {
        let x = self.alloc(v);
        self.link_after(p, x);
        self.root = self.insert_at(self.root, x, v.start);
        self.set_up(self.root, NIL);
        self.len += 1;
        x
    }

    /// The highest start for `len` bytes, a multiple of `align` (a power
    /// of two), in a hole inside `[lo, hi)` (`lo + len <= hi`), or `None`.
    pub fn find_free_top_down(
        &self,
        len: usize,
        lo: usize,
        hi: usize,
        align: usize,
    ) -> Option<usize> {
        if let Some(c) = self.free_cache.get() {
            if !c.taken && c.len == len && c.lo == lo && c.hi == hi && c.align == align {
                return c.addr;
            }
        }
        let addr = self.search_top_down(len, lo, hi, align);
        self.free_cache.set(Some(FreeCache {
            len,
            lo,
            hi,
            align,
            addr,
            taken: false,
        }));
        addr
    }

    /// [`Tree::find_free_top_down`] without the cache.
    fn search_top_down(&self, len: usize, lo: usize, hi: usize, align: usize) -> Option<usize> {
        let q = Query {
            len,
            lo,
            mask: !(align - 1),
        };
        if self.root == NIL {
            return q.fit(lo, hi);
        }
        if let Some(a) = self.search(self.root, hi, &q) {
            return Some(a);
        }
        // The hole below the first VMA.
        q.fit(lo, self.n(self.first).vma.start.min(hi))
    }

    /// Searches, highest first, the holes after each VMA of subtree `t`;
    /// the one after its last VMA ends at `end` (at most the window's top).
    /// Recurses into right subtrees that may hold a fit, loops down the
    /// left ones.
    fn search(&self, mut t: u32, mut end: usize, q: &Query) -> Option<usize> {
        while t != NIL && end > q.lo {
            let n = self.n(t);
            if n.lo >= end {
                return None; // every hole here starts above the window
            }
            if n.hi <= q.lo {
                // Only the hole after the last VMA reaches into the window.
                return q.fit(q.lo, end);
            }
            if n.gap < q.len && end.saturating_sub(n.hi) < q.len {
                return None; // no hole here is long enough
            }
            let next_start = if n.right == NIL {
                end
            } else {
                let r = self.n(n.right);
                // What the call would check first, to spare the call.
                if r.lo < end && (r.hi <= q.lo || r.gap >= q.len || end - r.hi.min(end) >= q.len) {
                    if let Some(a) = self.search(n.right, end, q) {
                        return Some(a);
                    }
                }
                r.lo.min(end)
            };
            if let Some(a) = q.fit(n.vma.end.max(q.lo), next_start) {
                return Some(a);
            }
            end = n.vma.start.min(end);
            t = n.left;
        }
        None
    }

    /// Tests: slots in the arena (used or free).
    #[cfg(test)]
    pub fn slots(&self) -> usize {
        self.nodes.len()
    }

    /// Tests: slots the arena holds without growing.
    #[cfg(test)]
    pub fn capacity(&self) -> usize {
        self.nodes.capacity()
    }

    /// Tests: how many nodes can be added without growing the arena past
    /// `slot_limit`.
    #[cfg(test)]
    pub fn room(&self) -> usize {
        self.nfree + self.slot_limit.saturating_sub(self.nodes.len())
    }

    /// Tests: the tree's height.
    #[cfg(test)]
    pub fn tree_height(&self) -> u32 {
        self.height(self.root)
    }

    /// Tests: checks every structural invariant, panicking on a violation.
    #[cfg(test)]
    pub fn check(&self) {
        fn walk(t: &Tree, x: u32, out: &mut Vec<u32>) -> (u32, usize, usize, usize) {
            let n = t.n(x);
            for c in [n.left, n.right] {
                if c != NIL {
                    assert_eq!(t.n(c).up, x, "parent of node {c}");
                }
            }
            let mut lo = n.vma.start;
            let mut hi = n.vma.end;
            let mut gap = 0;
            let (mut hl, mut hr) = (0, 0);
            if n.left != NIL {
                let (h, l_lo, l_hi, l_gap) = walk(t, n.left, out);
                assert!(l_hi <= n.vma.start, "order");
                hl = h;
                lo = l_lo;
                gap = gap.max(l_gap).max(n.vma.start - l_hi);
            }
            out.push(x);
            if n.right != NIL {
                let (h, r_lo, r_hi, r_gap) = walk(t, n.right, out);
                assert!(r_lo >= n.vma.end, "order");
                hr = h;
                hi = r_hi;
                gap = gap.max(r_gap).max(r_lo - n.vma.end);
            }
            assert!(hl.abs_diff(hr) <= 1, "AVL balance");
            let h = hl.max(hr) + 1;
            assert_eq!(
                (n.height, n.lo, n.hi, n.gap),
                (h, lo, hi, gap),
                "summary of node {x}"
            );
            (h, lo, hi, gap)
        }
        let mut inorder = Vec::new();
        if self.root != NIL {
            assert_eq!(self.n(self.root).up, NIL, "parent of the root");
            walk(self, self.root, &mut inorder);
        }
        assert_eq!(inorder.len(), self.len, "len");
        let mut listed = Vec::new();
        let mut p = NIL;
        let mut x = self.first;
        while x != NIL {
            assert_eq!(self.n(x).prev, p, "prev link");
            listed.push(x);
            p = x;
            x = self.n(x).next;
        }
        assert_eq!(self.last, p, "last");
        assert_eq!(listed, inorder, "list order = tree order");
        let mut nfree = 0;
        let mut f = self.free;
        while f != NIL {
            nfree += 1;
            f = self.n(f).next;
        }
        assert_eq!(nfree, self.nfree, "free list");
        assert_eq!(
            self.nfree + self.len,
            self.nodes.len(),
            "every slot used or free"
        );
    }
}
