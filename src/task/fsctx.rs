//! Each process's working directory and umask (Linux's `fs_struct`):
//! inherited by fork, kept by execve. Held beside the process table, by
//! pid; a process without an entry has init's: "/" and 0o022.

use crate::errno::Errno;
use alloc::string::String;
use alloc::vec::Vec;

/// Linux's `PATH_MAX`, NUL included.
const PATH_MAX: usize = 4096;
/// init's umask (`init_fs`).
pub const DEFAULT_UMASK: u32 = 0o022;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FsCtx {
    /// Absolute and canonical ("/" or "/a/b": no "." or "..", no symlink).
    pub cwd: String,
    pub umask: u32,
}

static TABLE: spin::Mutex<Vec<(u32, FsCtx)>> = spin::Mutex::new(Vec::new());

fn with_entry<R>(pid: u32, f: impl FnOnce(Option<&FsCtx>) -> R) -> R {
    let t = TABLE.lock();
    f(t.iter().find(|e| e.0 == pid).map(|e| &e.1))
}

/// The working directory of `pid`.
pub fn cwd(pid: u32) -> Result<String, Errno> {
    with_entry(pid, |e| {
        let c = e.map_or("/", |e| e.cwd.as_str());
        let mut s = String::new();
        s.try_reserve_exact(c.len()).map_err(|_| Errno::ENOMEM)?;
        s.push_str(c);
        Ok(s)
    })
}

fn update(pid: u32, f: impl FnOnce(&mut FsCtx)) -> Result<(), Errno> {
    let mut t = TABLE.lock();
    if let Some(e) = t.iter_mut().find(|e| e.0 == pid) {
        f(&mut e.1);
        return Ok(());
    }
    t.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    let mut ctx = FsCtx {
        cwd: String::new(),
        umask: DEFAULT_UMASK,
    };
    ctx.cwd.try_reserve_exact(1).map_err(|_| Errno::ENOMEM)?;
    ctx.cwd.push('/');
    f(&mut ctx);
    t.push((pid, ctx));
    Ok(())
}

/// The umask of `pid`.
pub fn umask(pid: u32) -> u32 {
    with_entry(pid, |e| e.map_or(DEFAULT_UMASK, |e| e.umask))
}

pub fn set_cwd(pid: u32, cwd: String) -> Result<(), Errno> {
    update(pid, |e| e.cwd = cwd)
}

/// umask(2): the new mask (`& 0o777`), the old one returned.
pub fn set_umask(pid: u32, mask: u32) -> Result<u32, Errno> {
    let mut old = DEFAULT_UMASK;
    update(pid, |e| {
        old = e.umask;
        e.umask = mask & 0o777;
    })?;
    Ok(old)
}

#[cfg_attr(not(target_os = "none"), allow(dead_code))]
/// `child` was forked from `parent`: it starts with a copy (entries of
/// pids `live` no longer knows go first: their pids may come back).
pub fn forked(parent: u32, child: u32, live: impl Fn(u32) -> bool) -> Result<(), Errno> {
    let mut t = TABLE.lock();
    t.retain(|e| e.0 != child && live(e.0));
    let Some(p) = t.iter().find(|e| e.0 == parent).map(|e| &e.1) else {
        return Ok(());
    };
    let mut cwd = String::new();
    cwd.try_reserve_exact(p.cwd.len())
        .map_err(|_| Errno::ENOMEM)?;
    cwd.push_str(&p.cwd);
    let ctx = FsCtx {
        cwd,
        umask: p.umask,
    };
    t.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    t.push((child, ctx));
    Ok(())
}

/// `path` as an absolute path: relative ones are taken from `cwd`
/// (`ENAMETOOLONG` from `PATH_MAX` on, as the walk would; `ENOENT` for
/// the empty path, as Linux's `getname`).
pub fn absolute(cwd: &str, path: &str) -> Result<String, Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    let mut s = String::new();
    if path.starts_with('/') {
        s.try_reserve_exact(path.len()).map_err(|_| Errno::ENOMEM)?;
        s.push_str(path);
        return Ok(s);
    }
    let n = cwd.len() + 1 + path.len();
    if n >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    s.try_reserve_exact(n).map_err(|_| Errno::ENOMEM)?;
    s.push_str(cwd);
    if !cwd.ends_with('/') {
        s.push('/');
    }
    s.push_str(path);
    Ok(s)
}

/// `path` of `pid`, made absolute.
pub fn resolve(pid: u32, path: &str) -> Result<String, Errno> {
    if path.starts_with('/') {
        return absolute("/", path);
    }
    absolute(&cwd(pid)?, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_join_the_cwd() {
        assert_eq!(absolute("/", "bin/sh").unwrap(), "/bin/sh");
        assert_eq!(absolute("/bin", "sh").unwrap(), "/bin/sh");
        assert_eq!(absolute("/bin", "../dev").unwrap(), "/bin/../dev");
        assert_eq!(absolute("/bin", "/dev/null").unwrap(), "/dev/null");
        assert_eq!(absolute("/", ""), Err(Errno::ENOENT));
        let long = "a".repeat(4095);
        assert_eq!(absolute("/", &long), Err(Errno::ENAMETOOLONG));
    }

    #[test]
    fn fork_copies_and_umask_masks() {
        // Pids far from any other test's.
        let (p, c) = (40_001, 40_002);
        assert_eq!(cwd(p).unwrap(), "/");
        set_cwd(p, String::from("/bin")).unwrap();
        assert_eq!(set_umask(p, 0o7777).unwrap(), 0o022);
        assert_eq!(set_umask(p, 0o777).unwrap(), 0o777, "masked with 0777");
        forked(p, c, |_| true).unwrap();
        assert_eq!(cwd(c).unwrap(), "/bin");
        assert_eq!(set_umask(c, 0o022).unwrap(), 0o777);
        // The child's own change is its own.
        set_cwd(c, String::from("/")).unwrap();
        assert_eq!(cwd(p).unwrap(), "/bin");
        // A dead pid's entry goes at the next fork.
        forked(p, 40_003, |pid| pid != c).unwrap();
        assert_eq!(cwd(c).unwrap(), "/");
        assert!(TABLE.lock().iter().all(|e| e.0 != c));
    }
}
