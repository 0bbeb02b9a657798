//! The in-memory file system the root is (Linux's tmpfs/ramfs rootfs):
//! a table of inodes, directories as name lists, and, for a regular file,
//! its page cache: a shm file object ([`crate::mm::shm`]), so `read`,
//! `write` and every mapping of the file share the same frames.
//!
//! Pure bookkeeping, host-tested: names, links, the path walk with
//! Linux's errors, rename's rules, when an inode dies. File *data* goes
//! through [`super::data`]. Every allocation can fail (`ENOMEM`) and is
//! made before anything changes.
//!
//! Lifetime: an inode lives while it has a name (`nlink > 0`) or an open
//! file description (`opens > 0`, Linux's `i_count`); when both are gone
//! it is freed and its page cache object loses the inode's user (the
//! object itself lives on while an address space maps it).

use crate::errno::Errno;
use crate::mm::shm::ShmId;
use alloc::vec::Vec;

pub type Ino = u64;

/// Linux's `NAME_MAX`.
pub const NAME_MAX: usize = 255;
/// Linux's `MAXSYMLINKS`: symlinks followed in one path walk.
pub const MAX_SYMLINKS: u32 = 40;

pub const S_IFMT: u32 = 0o170000;
pub const S_IFIFO: u32 = 0o010000;
pub const S_IFCHR: u32 = 0o020000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFLNK: u32 = 0o120000;

/// A time stamp (seconds, nanoseconds since the epoch).
pub type Time = (i64, u32);

/// A special directory another file system answers under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mount {
    Proc,
}

/// A directory's names, in creation order.
pub type Entries = Vec<(Vec<u8>, Ino)>;
/// One getdents entry: name, inode, mode.
pub type DirEntry<'a> = (&'a [u8], Ino, u32);

pub enum Node {
    Dir {
        entries: Vec<(Vec<u8>, Ino)>,
        parent: Ino,
        mount: Option<Mount>,
    },
    Reg {
        obj: ShmId,
    },
    Symlink {
        target: Vec<u8>,
    },
    /// A character device: (major, minor).
    Chr {
        rdev: (u32, u32),
    },
    Fifo,
}

pub struct Inode {
    pub ino: Ino,
    /// File type and permission bits.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    pub opens: u32,
    pub atime: Time,
    pub mtime: Time,
    pub ctime: Time,
    pub node: Node,
    /// The path it had when its last name went (`/proc/<pid>/maps` shows
    /// it with ` (deleted)`, as Linux's `d_path` does).
    pub gone_path: Option<alloc::string::String>,
}

impl Inode {
    pub fn is_dir(&self) -> bool {
        matches!(self.node, Node::Dir { .. })
    }
}

/// What a new inode is, as the creating call gives it.
pub enum New {
    Dir,
    /// A regular file whose page cache object exists already (the caller
    /// created it: the object's creation is the fallible step it owns).
    Reg(ShmId),
    Symlink(Vec<u8>),
    Chr((u32, u32)),
    Fifo,
}

pub struct Tmpfs {
    nodes: Vec<Option<Inode>>,
    /// (major, minor) of this file system (`st_dev`).
    pub dev: (u32, u32),
}

/// The inode number of the root.
pub const ROOT: Ino = 1;

/// Linux's path walk components: "." and ".." are not names.
fn check_name(name: &[u8]) -> Result<(), Errno> {
    if name.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(())
}

fn try_vec(bytes: &[u8]) -> Result<Vec<u8>, Errno> {
    let mut v = Vec::new();
    v.try_reserve_exact(bytes.len())
        .map_err(|_| Errno::ENOMEM)?;
    v.extend_from_slice(bytes);
    Ok(v)
}

/// The last component of `path` (trailing slashes ignored) and whether
/// the path had a trailing slash.
pub fn split_last(path: &[u8]) -> (&[u8], &[u8], bool) {
    let trimmed_len = path.len() - path.iter().rev().take_while(|&&c| c == b'/').count();
    let slash = trimmed_len < path.len();
    let t = &path[..trimmed_len];
    match t.iter().rposition(|&c| c == b'/') {
        Some(i) => (&path[..i + 1], &t[i + 1..], slash),
        None => (b"", t, slash),
    }
}

impl Tmpfs {
    /// An empty file system: a root directory owned by root, 0755.
    pub fn new(dev: (u32, u32), now: Time) -> Result<Tmpfs, Errno> {
        let mut nodes = Vec::new();
        nodes.try_reserve(64).map_err(|_| Errno::ENOMEM)?;
        nodes.push(Some(Inode {
            ino: ROOT,
            mode: S_IFDIR | 0o755,
            uid: 0,
            gid: 0,
            nlink: 2,
            opens: 0,
            atime: now,
            mtime: now,
            ctime: now,
            node: Node::Dir {
                entries: Vec::new(),
                parent: ROOT,
                mount: None,
            },
            gone_path: None,
        }));
        Ok(Tmpfs { nodes, dev })
    }

    pub fn get(&self, ino: Ino) -> Option<&Inode> {
        self.nodes
            .get(usize::try_from(ino).ok()?.checked_sub(1)?)?
            .as_ref()
    }

    pub fn get_mut(&mut self, ino: Ino) -> Option<&mut Inode> {
        self.nodes
            .get_mut(usize::try_from(ino).ok()?.checked_sub(1)?)?
            .as_mut()
    }

    /// Number of inode slots (live or free): inode numbers are 1..=slots.
    pub fn slots(&self) -> usize {
        self.nodes.len()
    }

    /// Number of live inodes.
    pub fn count(&self) -> usize {
        self.nodes.iter().filter(|n| n.is_some()).count()
    }

    fn dir(&self, ino: Ino) -> Result<(&Entries, Ino), Errno> {
        match self.get(ino).map(|i| &i.node) {
            Some(Node::Dir {
                entries, parent, ..
            }) => Ok((entries, *parent)),
            Some(_) => Err(Errno::ENOTDIR),
            None => Err(Errno::ENOENT),
        }
    }

    /// The inode `name` names in directory `dir`.
    pub fn lookup(&self, dir: Ino, name: &[u8]) -> Result<Ino, Errno> {
        let (entries, parent) = self.dir(dir)?;
        match name {
            b"." => Ok(dir),
            b".." => Ok(parent),
            _ => {
                check_name(name)?;
                entries
                    .iter()
                    .find(|e| e.0 == name)
                    .map(|e| e.1)
                    .ok_or(Errno::ENOENT)
            }
        }
    }

    /// Resolve `path` from directory `start` (absolute paths from the
    /// root), following symlinks on the way and, with `follow_last`, at
    /// the end; `links` counts the symlinks followed so far (`ELOOP` past
    /// [`MAX_SYMLINKS`]). Linux's errors: `ENOENT` (also for ""),
    /// `ENOTDIR`, `ENAMETOOLONG`, `ELOOP`. A mount point is returned as
    /// itself; the caller hands the rest to its file system
    /// ([`Tmpfs::mount_split`]).
    pub fn walk(&self, start: Ino, path: &[u8], follow_last: bool) -> Result<Ino, Errno> {
        let mut links = 0;
        self.walk_from(start, path, follow_last, &mut links)
    }

    fn walk_from(
        &self,
        start: Ino,
        path: &[u8],
        follow_last: bool,
        links: &mut u32,
    ) -> Result<Ino, Errno> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        let mut cur = if path[0] == b'/' { ROOT } else { start };
        let trailing = path.last() == Some(&b'/');
        let mut it = path
            .split(|&c| c == b'/')
            .filter(|c| !c.is_empty())
            .peekable();
        while let Some(comp) = it.next() {
            let last = it.peek().is_none();
            let next = self.lookup(cur, comp)?;
            let node = self.get(next).ok_or(Errno::ENOENT)?;
            if let Node::Symlink { target } = &node.node {
                if !last || follow_last || trailing {
                    *links += 1;
                    if *links > MAX_SYMLINKS {
                        return Err(Errno::ELOOP);
                    }
                    cur = self.walk_from(cur, target, true, links)?;
                    continue;
                }
            }
            cur = next;
        }
        if trailing && !self.get(cur).is_some_and(Inode::is_dir) {
            return Err(Errno::ENOTDIR);
        }
        Ok(cur)
    }

    /// The directory that will hold the last component of `path` and
    /// that component (not followed; "." or ".." as they are, "" for the
    /// root itself), for the calls that create or remove a name.
    pub fn walk_parent<'p>(&self, start: Ino, path: &'p [u8]) -> Result<(Ino, &'p [u8]), Errno> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        let (dir_part, name, _) = split_last(path);
        check_name(name)?;
        let dir = if dir_part.is_empty() {
            start
        } else {
            self.walk(start, dir_part, true)?
        };
        self.dir(dir)?;
        Ok((dir, name))
    }

    /// A new inode named `name` in `dir`: `EEXIST` if the name is taken
    /// (symlinks are not followed), `ENOENT` if `dir` was removed.
    pub fn create(
        &mut self,
        dir: Ino,
        name: &[u8],
        perm: u32,
        what: New,
        owner: (u32, u32),
        now: Time,
    ) -> Result<Ino, Errno> {
        check_name(name)?;
        if name.is_empty() || name == b"." || name == b".." {
            return Err(Errno::EEXIST);
        }
        match self.lookup(dir, name) {
            Ok(_) => return Err(Errno::EEXIST),
            Err(Errno::ENOENT) => {}
            Err(e) => return Err(e),
        }
        if self.get(dir).is_some_and(|d| d.nlink == 0) {
            // A removed directory takes no new names.
            return Err(Errno::ENOENT);
        }
        let name = try_vec(name)?;
        let (ftype, node, nlink) = match what {
            New::Dir => (
                S_IFDIR,
                Node::Dir {
                    entries: Vec::new(),
                    parent: dir,
                    mount: None,
                },
                2,
            ),
            New::Reg(obj) => (S_IFREG, Node::Reg { obj }, 1),
            New::Symlink(target) => (S_IFLNK, Node::Symlink { target }, 1),
            New::Chr(rdev) => (S_IFCHR, Node::Chr { rdev }, 1),
            New::Fifo => (S_IFIFO, Node::Fifo, 1),
        };
        let is_dir = ftype == S_IFDIR;
        // Room first: a slot and the directory entry.
        let slot = match self.nodes.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                self.nodes.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                self.nodes.push(None);
                self.nodes.len() - 1
            }
        };
        match self.get_mut(dir).map(|d| &mut d.node) {
            Some(Node::Dir { entries, .. }) => entries.try_reserve(1).map_err(|_| Errno::ENOMEM)?,
            _ => return Err(Errno::ENOTDIR),
        }
        let ino = slot as Ino + 1;
        let perm = if ftype == S_IFLNK {
            0o777
        } else {
            perm & 0o7777
        };
        self.nodes[slot] = Some(Inode {
            ino,
            mode: ftype | perm,
            uid: owner.0,
            gid: owner.1,
            nlink,
            opens: 0,
            atime: now,
            mtime: now,
            ctime: now,
            node,
            gone_path: None,
        });
        let d = self.get_mut(dir).expect("checked above");
        if let Node::Dir { entries, .. } = &mut d.node {
            entries.push((name, ino));
        }
        d.mtime = now;
        d.ctime = now;
        if is_dir {
            d.nlink += 1;
        }
        Ok(ino)
    }

    /// Mark `dir` (a directory) as where another file system answers.
    pub fn set_mount(&mut self, dir: Ino, m: Mount) -> Result<(), Errno> {
        match self.get_mut(dir).map(|d| &mut d.node) {
            Some(Node::Dir { mount, .. }) => {
                *mount = Some(m);
                Ok(())
            }
            _ => Err(Errno::ENOTDIR),
        }
    }

    /// The mount on `ino`, if it is a mount point.
    pub fn mount_of(&self, ino: Ino) -> Option<Mount> {
        match self.get(ino).map(|i| &i.node) {
            Some(Node::Dir { mount, .. }) => *mount,
            _ => None,
        }
    }

    /// If the walk of `path` from `start` passes through a mount point,
    /// the mount and the rest of the path after it.
    pub fn mount_split<'p>(&self, start: Ino, path: &'p [u8]) -> Option<(Mount, &'p [u8])> {
        let mut cur = if path.first() == Some(&b'/') {
            ROOT
        } else {
            start
        };
        let mut rest = path;
        loop {
            if let Some(m) = self.mount_of(cur) {
                return Some((m, rest));
            }
            let r = rest.iter().position(|&c| c != b'/').map(|i| &rest[i..])?;
            let (comp, tail) = match r.iter().position(|&c| c == b'/') {
                Some(i) => (&r[..i], &r[i..]),
                None => (r, &b""[..]),
            };
            let next = self.lookup(cur, comp).ok()?;
            let node = self.get(next)?;
            if !node.is_dir() {
                return None;
            }
            cur = next;
            rest = tail;
        }
    }

    /// Remove the name `name` from `dir`. `dir_wanted`: rmdir (the name
    /// must be an empty directory: `ENOTDIR`, `ENOTEMPTY`; "." `EINVAL`,
    /// ".." `ENOTEMPTY`, "" (the root) `EBUSY`) or unlink (it must not be
    /// a directory: `EISDIR`). Returns the page cache object
    /// to release if the inode died.
    pub fn remove(
        &mut self,
        dir: Ino,
        name: &[u8],
        dir_wanted: bool,
        now: Time,
    ) -> Result<Option<ShmId>, Errno> {
        if dir_wanted {
            match name {
                b"." => return Err(Errno::EINVAL),
                b".." => return Err(Errno::ENOTEMPTY),
                // The root itself (Linux's do_rmdir: LAST_ROOT).
                b"" => return Err(Errno::EBUSY),
                _ => {}
            }
        } else if name == b"." || name == b".." || name.is_empty() {
            return Err(Errno::EISDIR);
        }
        let ino = self.lookup(dir, name)?;
        let node = self.get(ino).ok_or(Errno::ENOENT)?;
        match (&node.node, dir_wanted) {
            (Node::Dir { entries, mount, .. }, true) => {
                if mount.is_some() {
                    return Err(Errno::EBUSY);
                }
                if !entries.is_empty() {
                    return Err(Errno::ENOTEMPTY);
                }
            }
            (Node::Dir { .. }, false) => return Err(Errno::EISDIR),
            (_, true) => return Err(Errno::ENOTDIR),
            (_, false) => {}
        }
        let last = !dir_wanted && node.nlink == 1;
        // Best effort: without memory for it the path is just not shown.
        let gone = if last {
            self.path_of(ino).ok().flatten()
        } else {
            None
        };
        self.unlink_entry(dir, name, now);
        let n = self.get_mut(ino).expect("looked up");
        n.ctime = now;
        if gone.is_some() {
            n.gone_path = gone;
        }
        if dir_wanted {
            n.nlink = 0;
            if let Some(d) = self.get_mut(dir) {
                d.nlink -= 1;
            }
        } else {
            n.nlink -= 1;
        }
        Ok(self.reap(ino))
    }

    fn unlink_entry(&mut self, dir: Ino, name: &[u8], now: Time) {
        if let Some(d) = self.get_mut(dir) {
            if let Node::Dir { entries, .. } = &mut d.node {
                if let Some(i) = entries.iter().position(|e| e.0 == name) {
                    entries.remove(i);
                }
            }
            d.mtime = now;
            d.ctime = now;
        }
    }

    /// Free `ino` if nothing holds it; the object it had, to release.
    fn reap(&mut self, ino: Ino) -> Option<ShmId> {
        let n = self.get(ino)?;
        if n.nlink > 0 || n.opens > 0 {
            return None;
        }
        let slot = (ino - 1) as usize;
        match self.nodes[slot].take().map(|n| n.node) {
            Some(Node::Reg { obj }) => Some(obj),
            _ => None,
        }
    }

    /// An open file description now refers to `ino`.
    pub fn opened(&mut self, ino: Ino) -> Result<(), Errno> {
        let n = self.get_mut(ino).ok_or(Errno::ENOENT)?;
        n.opens = n.opens.checked_add(1).ok_or(Errno::ENFILE)?;
        Ok(())
    }

    /// One fewer open file description of `ino`; the object to release
    /// if the inode died with it.
    pub fn closed(&mut self, ino: Ino) -> Option<ShmId> {
        let n = self.get_mut(ino)?;
        n.opens = n.opens.saturating_sub(1);
        self.reap(ino)
    }

    /// `link`: a new name for the non-directory `ino`.
    pub fn link(&mut self, ino: Ino, dir: Ino, name: &[u8], now: Time) -> Result<(), Errno> {
        // do_linkat's order: the new name first (`EEXIST`), then
        // vfs_link's checks (`EPERM` for a directory).
        check_name(name)?;
        match self.lookup(dir, name) {
            Ok(_) => return Err(Errno::EEXIST),
            Err(Errno::ENOENT) => {}
            Err(e) => return Err(e),
        }
        if name.is_empty() || name == b"." || name == b".." {
            return Err(Errno::EEXIST);
        }
        let n = self.get(ino).ok_or(Errno::ENOENT)?;
        if n.is_dir() {
            return Err(Errno::EPERM);
        }
        if n.nlink == 0 {
            return Err(Errno::ENOENT);
        }
        let name = try_vec(name)?;
        match self.get_mut(dir).map(|d| &mut d.node) {
            Some(Node::Dir { entries, .. }) => {
                entries.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                entries.push((name, ino));
            }
            _ => return Err(Errno::ENOTDIR),
        }
        let n = self.get_mut(ino).expect("looked up");
        n.nlink = n.nlink.checked_add(1).ok_or(Errno::EMLINK)?;
        n.ctime = now;
        Ok(())
    }

    /// Whether `a` is `b` or one of its ancestors.
    fn is_ancestor(&self, a: Ino, mut b: Ino) -> bool {
        loop {
            if a == b {
                return true;
            }
            match self.dir(b) {
                Ok((_, p)) if p != b => b = p,
                _ => return false,
            }
        }
    }

    /// `rename` with Linux's rules (`vfs_rename`, `do_renameat2`): "." and
    /// ".." as either name `EBUSY`; a directory onto a non-directory
    /// `ENOTDIR`, the reverse `EISDIR`, onto a non-empty directory
    /// `ENOTEMPTY`, into itself `EINVAL`; two names of one inode: nothing
    /// happens. Returns the object of a replaced inode that died.
    pub fn rename(
        &mut self,
        odir: Ino,
        oname: &[u8],
        ndir: Ino,
        nname: &[u8],
        now: Time,
    ) -> Result<Option<ShmId>, Errno> {
        for n in [oname, nname] {
            if n.is_empty() || n == b"." || n == b".." {
                return Err(Errno::EBUSY);
            }
        }
        let src = self.lookup(odir, oname)?;
        let src_dir = self.get(src).ok_or(Errno::ENOENT)?.is_dir();
        self.dir(ndir)?;
        let dst = match self.lookup(ndir, nname) {
            Ok(d) => Some(d),
            Err(Errno::ENOENT) => None,
            Err(e) => return Err(e),
        };
        if dst == Some(src) {
            return Ok(None);
        }
        if src_dir && self.is_ancestor(src, ndir) {
            return Err(Errno::EINVAL);
        }
        if let Some(d) = dst {
            // do_renameat2's trap: the target may not be an ancestor of
            // the source (checked before vfs_rename's type checks).
            if self.is_ancestor(d, odir) {
                return Err(Errno::ENOTEMPTY);
            }
            let dn = self.get(d).ok_or(Errno::ENOENT)?;
            // Linux's order (vfs_rename): the file types (may_delete),
            // then a mount point, then the fs's emptiness check.
            match (&dn.node, src_dir) {
                (Node::Dir { .. }, false) => return Err(Errno::EISDIR),
                (_, true) if !dn.is_dir() => return Err(Errno::ENOTDIR),
                (Node::Dir { mount: Some(_), .. }, _) => return Err(Errno::EBUSY),
                (Node::Dir { entries, .. }, true) if !entries.is_empty() => {
                    return Err(Errno::ENOTEMPTY)
                }
                _ => {}
            }
        } else if self.get(ndir).is_some_and(|d| d.nlink == 0) {
            return Err(Errno::ENOENT);
        }
        // Fallible steps first: the new name and room for it.
        let new_name = try_vec(nname)?;
        if dst.is_none() {
            match self.get_mut(ndir).map(|d| &mut d.node) {
                Some(Node::Dir { entries, .. }) => {
                    entries.try_reserve(1).map_err(|_| Errno::ENOMEM)?
                }
                _ => return Err(Errno::ENOTDIR),
            }
        }
        // Now nothing can fail.
        let mut dead = None;
        if let Some(d) = dst {
            self.unlink_entry(ndir, nname, now);
            let dn = self.get_mut(d).expect("looked up");
            dn.ctime = now;
            if src_dir {
                dn.nlink = 0;
                if let Some(p) = self.get_mut(ndir) {
                    p.nlink -= 1;
                }
            } else {
                dn.nlink -= 1;
            }
            dead = self.reap(d);
        }
        self.unlink_entry(odir, oname, now);
        let nd = self.get_mut(ndir).expect("checked");
        if let Node::Dir { entries, .. } = &mut nd.node {
            entries.push((new_name, src));
        }
        nd.mtime = now;
        nd.ctime = now;
        if src_dir && odir != ndir {
            nd.nlink += 1;
            if let Some(o) = self.get_mut(odir) {
                o.nlink -= 1;
            }
            if let Some(Node::Dir { parent, .. }) = self.get_mut(src).map(|s| &mut s.node) {
                *parent = ndir;
            }
        }
        if let Some(s) = self.get_mut(src) {
            s.ctime = now;
        }
        Ok(dead)
    }

    /// Entry `index` of directory `dir` as getdents lists it: "." and
    /// ".." first, then the names in creation order. `None` past the end.
    pub fn dir_entry(&self, dir: Ino, index: usize) -> Result<Option<DirEntry<'_>>, Errno> {
        let (entries, parent) = self.dir(dir)?;
        let mode_of = |i: Ino| self.get(i).map_or(0, |n| n.mode);
        Ok(match index {
            0 => Some((b".", dir, S_IFDIR)),
            1 => Some((b"..", parent, S_IFDIR)),
            i => entries
                .get(i - 2)
                .map(|(n, ino)| (n.as_slice(), *ino, mode_of(*ino))),
        })
    }

    /// The absolute path of `ino` by its names (the first name of each
    /// inode on the way up; a directory has one), `None` if it has no
    /// name any more.
    pub fn path_of(&self, ino: Ino) -> Result<Option<alloc::string::String>, Errno> {
        let mut parts: Vec<&[u8]> = Vec::new();
        let mut cur = ino;
        let mut len = 0usize;
        while cur != ROOT {
            let n = self.get(cur).ok_or(Errno::ENOENT)?;
            if n.nlink == 0 {
                return Ok(None);
            }
            // A non-directory's parent: the first directory naming it.
            let parent = match &n.node {
                Node::Dir { parent, .. } => *parent,
                _ => match self.find_parent(cur) {
                    Some(p) => p,
                    None => return Ok(None),
                },
            };
            let (entries, _) = self.dir(parent)?;
            let name = match entries.iter().find(|e| e.1 == cur) {
                Some(e) => e.0.as_slice(),
                None => return Ok(None),
            };
            parts.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
            parts.push(name);
            len += name.len() + 1;
            if parts.len() > 4096 {
                return Err(Errno::ENAMETOOLONG);
            }
            cur = parent;
        }
        let mut s = alloc::string::String::new();
        s.try_reserve_exact(len.max(1)).map_err(|_| Errno::ENOMEM)?;
        if parts.is_empty() {
            s.push('/');
        }
        for p in parts.iter().rev() {
            s.push('/');
            s.push_str(&alloc::string::String::from_utf8_lossy(p));
        }
        Ok(Some(s))
    }

    /// The inode whose page cache is `obj` (a linear search: for
    /// `/proc/<pid>/maps`).
    pub fn find_obj(&self, obj: ShmId) -> Option<Ino> {
        self.nodes.iter().flatten().find_map(|n| match n.node {
            Node::Reg { obj: o } if o == obj => Some(n.ino),
            _ => None,
        })
    }

    /// The directory holding a name of `ino` (a linear search: only for
    /// names of regular files, `/proc/<pid>/maps` and `fchdir` paths).
    fn find_parent(&self, ino: Ino) -> Option<Ino> {
        self.nodes.iter().flatten().find_map(|n| match &n.node {
            Node::Dir { entries, .. } if entries.iter().any(|e| e.1 == ino) => Some(n.ino),
            _ => None,
        })
    }
}

#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod tests;
