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
//! **Files.** The page cache of a regular file of the in-memory file
//! system (`crate::fs`) is such an object too ([`create_file`]): the
//! inode is one user, every address space mapping the file another, so
//! `read`/`write` and every `MAP_SHARED` mapping see the same frames (a
//! write through one is visible through the others at once), and a file
//! unlinked while mapped lives until its last mapping goes. A file
//! object has a size (for `SIGBUS` past the end) and may have a *source*:
//! bytes (the unpacked initramfs) that pages not yet in the cache are
//! filled from on first use, as Linux reads a page in from its backing
//! store.
//!
//! [`VmaKind::Shm`]: crate::mm::vma::VmaKind::Shm

use alloc::vec::Vec;

use crate::errno::Errno;

/// An object's name; never 0.
pub type ShmId = u32;

/// What a file's object has beyond the pages.
struct FileInfo {
    /// The file's length in bytes.
    size: u64,
    /// Bytes that page `i` starts with while it is not in the cache
    /// (`source[i * 4096..]`), zero past them.
    source: &'static [u8],
}

struct Object {
    pages: Vec<u64>,
    users: usize,
    file: Option<FileInfo>,
}

const PAGE: usize = crate::syscall::mm_args::PAGE_SIZE;

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
    insert(Object {
        pages: Vec::new(),
        users: 1,
        file: None,
    })
}

/// The page cache of a new file of `source.len()` bytes whose pages come
/// from `source` until they are first written or mapped; one user (the
/// inode).
pub fn create_file(source: &'static [u8]) -> Result<ShmId, Errno> {
    insert(Object {
        pages: Vec::new(),
        users: 1,
        file: Some(FileInfo {
            size: source.len() as u64,
            source,
        }),
    })
}

fn insert(obj: Object) -> Result<ShmId, Errno> {
    let mut r = REGISTRY.lock();
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
/// object keeps the reference `alloc` returns). `alloc` gets the bytes
/// the new page must start with (a file's source; empty: all zero).
/// Returns the frame and whether it is new. The lookup and the
/// insertion are one step under the registry's lock, so two address
/// spaces faulting the same page find the same frame.
pub fn page_or_insert(
    id: ShmId,
    index: usize,
    alloc: &mut dyn FnMut(&[u8]) -> Result<u64, Errno>,
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
    let src = o.file.as_ref().map_or(&[][..], |f| {
        let lo = index.saturating_mul(PAGE).min(f.source.len());
        &f.source[lo..f.source.len().min(lo.saturating_add(PAGE))]
    });
    let pa = alloc(src)?;
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

/// Punch page `index` out of the object (`MADV_REMOVE`, a hole): the
/// page it held, whose reference the caller drops. Anonymous memory
/// simply loses the page (it comes back zero). A file's page that its
/// source has bytes for would come back from the source, so it is
/// replaced by a zeroed page from `zeroed` instead (`ENOMEM` from it:
/// nothing changed). Nothing past a file's end is added.
pub fn punch_page(
    id: ShmId,
    index: usize,
    zeroed: &mut dyn FnMut() -> Result<u64, Errno>,
) -> Result<Option<u64>, Errno> {
    let mut r = REGISTRY.lock();
    let Some(o) = slot(&mut r, id) else {
        return Ok(None);
    };
    let from_source = o.file.as_ref().is_some_and(|f| {
        let lo = index.saturating_mul(PAGE) as u64;
        lo < f.size && lo < f.source.len() as u64
    });
    if !from_source {
        let pa = o.pages.get_mut(index).map_or(0, core::mem::take);
        return Ok((pa != 0).then_some(pa));
    }
    let len = index.checked_add(1).ok_or(Errno::ENOMEM)?;
    if o.pages.len() < len {
        o.pages
            .try_reserve(len - o.pages.len())
            .map_err(|_| Errno::ENOMEM)?;
    }
    let new = zeroed()?;
    if o.pages.len() < len {
        o.pages.resize(len, 0);
    }
    let old = core::mem::replace(&mut o.pages[index], new);
    Ok((old != 0).then_some(old))
}

/// Page `index` if it is in the object (no allocation).
pub fn page(id: ShmId, index: usize) -> Option<u64> {
    let mut r = REGISTRY.lock();
    slot(&mut r, id)?
        .pages
        .get(index)
        .copied()
        .filter(|&pa| pa != 0)
}

/// The source bytes page `index` of a file starts with (empty past the
/// source or for anonymous memory).
pub fn source_page(id: ShmId, index: usize) -> &'static [u8] {
    let mut r = REGISTRY.lock();
    slot(&mut r, id)
        .and_then(|o| o.file.as_ref())
        .map_or(&[], |f| {
            let lo = index.saturating_mul(PAGE).min(f.source.len());
            &f.source[lo..f.source.len().min(lo.saturating_add(PAGE))]
        })
}

/// The size of a file's object (`None`: anonymous memory, no size).
pub fn file_size(id: ShmId) -> Option<u64> {
    slot(&mut REGISTRY.lock(), id)?
        .file
        .as_ref()
        .map(|f| f.size)
}

/// Set a file's size. Growing needs nothing (new pages read as zero);
/// shrinking takes the pages wholly past the new end out of the object,
/// handing each to `drop_ref` (under the registry's lock: it must not
/// call back here), and cuts the source. The caller zeroes the tail of a
/// partial last page and removes the mappings of the pages past the end
/// (Linux's `truncate_pagecache`). `EINVAL` if `id` is not a file.
pub fn set_file_size(id: ShmId, size: u64, drop_ref: &mut dyn FnMut(u64)) -> Result<(), Errno> {
    let mut r = REGISTRY.lock();
    let o = slot(&mut r, id).ok_or(Errno::EINVAL)?;
    let f = o.file.as_mut().ok_or(Errno::EINVAL)?;
    if size < f.size {
        let keep = usize::try_from(size).unwrap_or(usize::MAX);
        f.source = &f.source[..f.source.len().min(keep)];
        let first_gone = keep.div_ceil(PAGE);
        for pa in o.pages.iter_mut().skip(first_gone) {
            if *pa != 0 {
                drop_ref(core::mem::take(pa));
            }
        }
        o.pages.truncate(first_gone);
    }
    f.size = size;
    Ok(())
}

/// Frames the object holds.
pub fn cached_pages(id: ShmId) -> usize {
    slot(&mut REGISTRY.lock(), id).map_or(0, |o| o.pages.iter().filter(|&&pa| pa != 0).count())
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

#[cfg(test)]
mod tests;
