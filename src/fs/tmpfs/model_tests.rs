//! The tree against a model: random mkdir, create, unlink, rmdir, link
//! and rename on a few names, each answered by a plain map of paths
//! written from the man pages' rules and Linux's order of checks
//! (`do_mkdirat`, `do_unlinkat`, `do_rmdir`, `do_linkat`,
//! `do_renameat2` + `vfs_rename`), then every name, kind, link count and
//! inode identity compared.

use super::*;
use alloc::collections::BTreeMap;
use alloc::vec;

type Path = Vec<&'static [u8]>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Dir,
    File,
}

/// Paths to (kind, model inode id); the root is the empty path.
struct Model {
    names: BTreeMap<Path, (Kind, u32)>,
    next: u32,
}

#[derive(Clone, Debug)]
enum Op {
    Mkdir(Path),
    Create(Path),
    Unlink(Path),
    Rmdir(Path),
    Link(Path, Path),
    Rename(Path, Path),
}

impl Model {
    fn new() -> Model {
        let mut names = BTreeMap::new();
        names.insert(vec![], (Kind::Dir, 0));
        Model { names, next: 1 }
    }

    /// The path walk to the parent of `p`: the first missing component
    /// is `ENOENT`, the first file used as a directory `ENOTDIR`.
    fn parent_ok(&self, p: &Path) -> Result<(), Errno> {
        for i in 1..p.len() {
            match self.names.get(&p[..i]) {
                None => return Err(Errno::ENOENT),
                Some((Kind::File, _)) => return Err(Errno::ENOTDIR),
                Some((Kind::Dir, _)) => {}
            }
        }
        Ok(())
    }

    fn children(&self, p: &Path) -> usize {
        self.names
            .keys()
            .filter(|k| k.len() == p.len() + 1 && k.starts_with(p))
            .count()
    }

    fn apply(&mut self, op: &Op) -> Result<(), Errno> {
        match op {
            Op::Mkdir(p) | Op::Create(p) => {
                self.parent_ok(p)?;
                if self.names.contains_key(p) {
                    return Err(Errno::EEXIST);
                }
                let kind = if matches!(op, Op::Mkdir(_)) {
                    Kind::Dir
                } else {
                    Kind::File
                };
                self.names.insert(p.clone(), (kind, self.next));
                self.next += 1;
                Ok(())
            }
            Op::Unlink(p) => {
                self.parent_ok(p)?;
                match self.names.get(p) {
                    None => Err(Errno::ENOENT),
                    Some((Kind::Dir, _)) => Err(Errno::EISDIR),
                    Some(_) => {
                        self.names.remove(p);
                        Ok(())
                    }
                }
            }
            Op::Rmdir(p) => {
                self.parent_ok(p)?;
                match self.names.get(p) {
                    None => Err(Errno::ENOENT),
                    Some((Kind::File, _)) => Err(Errno::ENOTDIR),
                    Some(_) if self.children(p) > 0 => Err(Errno::ENOTEMPTY),
                    Some(_) => {
                        self.names.remove(p);
                        Ok(())
                    }
                }
            }
            Op::Link(a, b) => {
                self.parent_ok(a)?;
                let src = *self.names.get(a).ok_or(Errno::ENOENT)?;
                self.parent_ok(b)?;
                if self.names.contains_key(b) {
                    return Err(Errno::EEXIST);
                }
                if src.0 == Kind::Dir {
                    return Err(Errno::EPERM);
                }
                self.names.insert(b.clone(), src);
                Ok(())
            }
            Op::Rename(a, b) => {
                self.parent_ok(a)?;
                self.parent_ok(b)?;
                let src = *self.names.get(a).ok_or(Errno::ENOENT)?;
                // The source may not be an ancestor of the target.
                if src.0 == Kind::Dir && b.len() > a.len() && b.starts_with(a) {
                    return Err(Errno::EINVAL);
                }
                if let Some(&dst) = self.names.get(b) {
                    if dst.1 == src.1 {
                        return Ok(());
                    }
                    // Nor the target an ancestor of the source.
                    if a.len() > b.len() && a.starts_with(b) {
                        return Err(Errno::ENOTEMPTY);
                    }
                    match (src.0, dst.0) {
                        (Kind::Dir, Kind::File) => return Err(Errno::ENOTDIR),
                        (Kind::File, Kind::Dir) => return Err(Errno::EISDIR),
                        (Kind::Dir, Kind::Dir) if self.children(b) > 0 => {
                            return Err(Errno::ENOTEMPTY)
                        }
                        _ => {}
                    }
                    self.names.remove(b);
                }
                let moved: Vec<(Path, (Kind, u32))> = self
                    .names
                    .iter()
                    .filter(|(k, _)| k.starts_with(a))
                    .map(|(k, v)| (k.clone(), *v))
                    .collect();
                for (k, v) in moved {
                    self.names.remove(&k);
                    let mut n = b.clone();
                    n.extend_from_slice(&k[a.len()..]);
                    self.names.insert(n, v);
                }
                Ok(())
            }
        }
    }
}

fn bytes(p: &Path) -> Vec<u8> {
    let mut v = Vec::new();
    for c in p {
        v.push(b'/');
        v.extend_from_slice(c);
    }
    v
}

/// The same operation on the tree, through the calls the syscalls use.
fn apply(fs: &mut Tmpfs, op: &Op) -> Result<(), Errno> {
    const T: Time = (1, 0);
    let parent = |fs: &Tmpfs, p: &Path| -> Result<(Ino, Vec<u8>), Errno> {
        let path = bytes(p);
        fs.walk_parent(ROOT, &path).map(|(d, n)| (d, n.to_vec()))
    };
    match op {
        Op::Mkdir(p) => {
            let (d, n) = parent(fs, p)?;
            fs.create(d, &n, 0o755, New::Dir, (0, 0), T).map(|_| ())
        }
        Op::Create(p) => {
            let (d, n) = parent(fs, p)?;
            fs.create(d, &n, 0o644, New::Reg(0), (0, 0), T).map(|_| ())
        }
        Op::Unlink(p) => {
            let (d, n) = parent(fs, p)?;
            fs.remove(d, &n, false, T).map(|_| ())
        }
        Op::Rmdir(p) => {
            let (d, n) = parent(fs, p)?;
            fs.remove(d, &n, true, T).map(|_| ())
        }
        Op::Link(a, b) => {
            let ino = fs.walk(ROOT, &bytes(a), false)?;
            let (d, n) = parent(fs, b)?;
            fs.link(ino, d, &n, T)
        }
        Op::Rename(a, b) => {
            let (od, on) = parent(fs, a)?;
            let (nd, nn) = parent(fs, b)?;
            fs.rename(od, &on, nd, &nn, T).map(|_| ())
        }
    }
}

/// Every name of the model is in the tree with its kind, one model inode
/// is one tree inode, link counts agree, and the tree has nothing more.
fn compare(m: &Model, fs: &Tmpfs, step: usize, op: &Op) {
    let mut ids: BTreeMap<u32, Ino> = BTreeMap::new();
    for (p, &(kind, id)) in &m.names {
        let path = if p.is_empty() {
            b"/".to_vec()
        } else {
            bytes(p)
        };
        let ino = fs
            .walk(ROOT, &path, false)
            .unwrap_or_else(|e| panic!("step {step} {op:?}: {path:?} missing: {e:?}"));
        let n = fs.get(ino).unwrap();
        assert_eq!(
            n.is_dir(),
            kind == Kind::Dir,
            "step {step} {op:?}: kind of {path:?}"
        );
        let known = *ids.entry(id).or_insert(ino);
        assert_eq!(known, ino, "step {step} {op:?}: one inode per model id");
        let want = match kind {
            Kind::Dir => {
                2 + m
                    .names
                    .iter()
                    .filter(|(k, v)| k.len() == p.len() + 1 && k.starts_with(p) && v.0 == Kind::Dir)
                    .count() as u32
            }
            Kind::File => m.names.values().filter(|v| v.1 == id).count() as u32,
        };
        assert_eq!(n.nlink, want, "step {step} {op:?}: nlink of {path:?}");
        if kind == Kind::Dir {
            let listed = (2..).map_while(|i| fs.dir_entry(ino, i).unwrap()).count();
            assert_eq!(
                listed,
                m.children(p),
                "step {step} {op:?}: entries of {path:?}"
            );
        }
    }
    // Nothing else lives (no open files here: an unnamed inode is gone).
    assert_eq!(fs.count(), ids.len(), "step {step} {op:?}: live inodes");
}

#[test]
fn the_tree_follows_the_model() {
    const NAMES: [&[u8]; 3] = [b"a", b"b", b"c"];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut rnd = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut checked = [0usize; 6];
    let mut errors = 0;
    for round in 0..100 {
        let mut m = Model::new();
        let mut fs = Tmpfs::new((0, 2), (0, 0)).unwrap();
        for step in 0..150 {
            let path = |rnd: &mut dyn FnMut(u64) -> u64| -> Path {
                let depth = 1 + rnd(3) as usize;
                (0..depth).map(|_| NAMES[rnd(3) as usize]).collect()
            };
            let op = match rnd(6) {
                0 => Op::Mkdir(path(&mut rnd)),
                1 => Op::Create(path(&mut rnd)),
                2 => Op::Unlink(path(&mut rnd)),
                3 => Op::Rmdir(path(&mut rnd)),
                4 => Op::Link(path(&mut rnd), path(&mut rnd)),
                _ => Op::Rename(path(&mut rnd), path(&mut rnd)),
            };
            let want = m.apply(&op);
            let got = apply(&mut fs, &op);
            assert_eq!(got, want, "round {round} step {step}: {op:?}");
            checked[match op {
                Op::Mkdir(_) => 0,
                Op::Create(_) => 1,
                Op::Unlink(_) => 2,
                Op::Rmdir(_) => 3,
                Op::Link(..) => 4,
                Op::Rename(..) => 5,
            }] += usize::from(want.is_ok());
            errors += usize::from(want.is_err());
            compare(&m, &fs, step, &op);
        }
    }
    // Not a vacuous run: every kind of call succeeded many times, and
    // errors were exercised too.
    assert!(checked.iter().all(|&n| n > 25), "{checked:?}");
    assert!(errors > 1000, "{errors}");
}
