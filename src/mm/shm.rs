//! Shared memory objects: what backs shared anonymous memory
//! (`MAP_SHARED|MAP_ANONYMOUS`, shared mappings of `/dev/zero`), Linux's
//! shmem file behind such a mapping.
//!
//! An object is a page array (physical address of page `i`, 0 while
//! never touched) that grows on demand, fallibly. It has *users*: the
//! address spaces with at least one VMA on it ([`VmaKind::Shm`] holds the
//! object's id and the page offset of its start), so munmap of a part,
//! mremap and mprotect keep working on VMAs alone. `fork` adds a user;
//! an address space whose last VMA on the object goes removes itself;
//! the last user's departure frees the pages.
//!
//! Reference counts: the object holds one reference to each of its
//! frames, and every page-table mapping of a frame holds another, so an
//! unmap (with `free_frames`) drops exactly the mapping's reference. A
//! page first touched after a `fork` goes into the object, so both sides
//! see it.
//!
//! [`VmaKind::Shm`]: crate::mm::vma::VmaKind::Shm

use alloc::vec::Vec;

use crate::errno::Errno;

/// An object's name; never 0.
pub type ShmId = u32;

struct Object {
    pages: Vec<u64>,
    users: usize,
}

struct Registry {
    slots: Vec<Option<Object>>,
}

static REGISTRY: spin::Mutex<Registry> = spin::Mutex::new(Registry { slots: Vec::new() });

fn slot(r: &mut Registry, id: ShmId) -> Option<&mut Object> {
    let i = (id as usize).checked_sub(1)?;
    r.slots.get_mut(i)?.as_mut()
}

/// A new, empty object with one user.
pub fn create() -> Result<ShmId, Errno> {
    let mut r = REGISTRY.lock();
    let obj = Object {
        pages: Vec::new(),
        users: 1,
    };
    let i = match r.slots.iter().position(Option::is_none) {
        Some(i) => i,
        None => {
            r.slots.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
            r.slots.push(None);
            r.slots.len() - 1
        }
    };
    let id = ShmId::try_from(i + 1).map_err(|_| Errno::ENOMEM)?;
    r.slots[i] = Some(obj);
    Ok(id)
}

/// One more user (a `fork`). `EINVAL` for an object that is gone; `ENOMEM`
/// if the count is full.
pub fn add_user(id: ShmId) -> Result<(), Errno> {
    let mut r = REGISTRY.lock();
    let o = slot(&mut r, id).ok_or(Errno::EINVAL)?;
    o.users = o.users.checked_add(1).ok_or(Errno::ENOMEM)?;
    Ok(())
}

/// One user fewer; the last one's departure frees the object: each page
/// it holds is given to `drop_ref` (outside the registry's lock), to drop
/// the object's reference.
pub fn remove_user(id: ShmId, drop_ref: &mut dyn FnMut(u64)) {
    let gone = {
        let mut r = REGISTRY.lock();
        let Some(o) = slot(&mut r, id) else {
            crate::mm::must(Err::<(), _>(id), "shm: remove a user of no object");
            return;
        };
        o.users -= 1;
        if o.users > 0 {
            return;
        }
        r.slots[id as usize - 1].take()
    };
    for pa in gone.into_iter().flat_map(|o| o.pages) {
        if pa != 0 {
            drop_ref(pa);
        }
    }
}

/// Page `index` of the object, or a new one from `alloc` put there (the
/// object keeps the reference `alloc` returns). Returns the frame and
/// whether it is new. The lookup and the insertion are one step under
/// the registry's lock, so two address spaces faulting the same page
/// find the same frame.
pub fn page_or_insert(
    id: ShmId,
    index: usize,
    alloc: &mut dyn FnMut() -> Result<u64, Errno>,
) -> Result<(u64, bool), Errno> {
    let mut r = REGISTRY.lock();
    let o = slot(&mut r, id).ok_or(Errno::EFAULT)?;
    if let Some(&pa) = o.pages.get(index).filter(|&&pa| pa != 0) {
        return Ok((pa, false));
    }
    let len = index.checked_add(1).ok_or(Errno::ENOMEM)?;
    if o.pages.len() < len {
        o.pages
            .try_reserve(len - o.pages.len())
            .map_err(|_| Errno::ENOMEM)?;
    }
    let pa = alloc()?;
    if o.pages.len() < len {
        o.pages.resize(len, 0);
    }
    o.pages[index] = pa;
    Ok((pa, true))
}

/// Take page `index` out of the object (`MADV_REMOVE`): the caller drops
/// the object's reference.
pub fn take_page(id: ShmId, index: usize) -> Option<u64> {
    let mut r = REGISTRY.lock();
    let p = slot(&mut r, id)?.pages.get_mut(index)?;
    let pa = core::mem::take(p);
    (pa != 0).then_some(pa)
}

/// Users of an object (0 when it is gone).
pub fn users(id: ShmId) -> usize {
    slot(&mut REGISTRY.lock(), id).map_or(0, |o| o.users)
}

/// The frames an object holds, in page order (tests).
#[cfg(test)]
pub fn frames(id: ShmId) -> Vec<u64> {
    slot(&mut REGISTRY.lock(), id).map_or(Vec::new(), |o| {
        o.pages.iter().copied().filter(|&pa| pa != 0).collect()
    })
}
