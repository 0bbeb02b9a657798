//! The namespace rules, each against what Linux (man 2 open, mkdir,
//! unlink, rmdir, rename, link, symlink, path_resolution(7)) says.

use super::*;

const T0: Time = (100, 0);

fn fs() -> Tmpfs {
    Tmpfs::new((0, 2), T0).unwrap()
}

fn mkdir(fs: &mut Tmpfs, path: &[u8]) -> Ino {
    let (d, n) = fs.walk_parent(ROOT, path).unwrap();
    fs.create(d, n, 0o755, New::Dir, (0, 0), T0).unwrap()
}

fn touch(fs: &mut Tmpfs, path: &[u8]) -> Ino {
    let (d, n) = fs.walk_parent(ROOT, path).unwrap();
    // The object id is only carried here: 0 names no object.
    fs.create(d, n, 0o644, New::Reg(0), (0, 0), T0).unwrap()
}

fn symlink(fs: &mut Tmpfs, path: &[u8], target: &[u8]) -> Ino {
    let (d, n) = fs.walk_parent(ROOT, path).unwrap();
    fs.create(d, n, 0, New::Symlink(target.to_vec()), (0, 0), T0)
        .unwrap()
}

#[test]
fn walk_finds_names_and_reports_linux_errors() {
    let mut f = fs();
    let bin = mkdir(&mut f, b"/bin");
    let bb = touch(&mut f, b"/bin/busybox");
    assert_eq!(f.walk(ROOT, b"/bin/busybox", true), Ok(bb));
    assert_eq!(f.walk(bin, b"busybox", true), Ok(bb));
    assert_eq!(f.walk(bin, b"../bin/./busybox", true), Ok(bb));
    assert_eq!(f.walk(ROOT, b"/..", true), Ok(ROOT), "/.. is /");
    assert_eq!(f.walk(ROOT, b"//bin//", true), Ok(bin));
    assert_eq!(f.walk(ROOT, b"", true), Err(Errno::ENOENT));
    assert_eq!(f.walk(ROOT, b"/nope", true), Err(Errno::ENOENT));
    assert_eq!(f.walk(ROOT, b"/bin/busybox/x", true), Err(Errno::ENOTDIR));
    assert_eq!(f.walk(ROOT, b"/bin/busybox/", true), Err(Errno::ENOTDIR));
    let long = [b'a'; 256];
    assert_eq!(f.walk(ROOT, &long, true), Err(Errno::ENAMETOOLONG));
    assert_eq!(f.walk(ROOT, &long[..255], true), Err(Errno::ENOENT));
}

#[test]
fn symlinks_are_followed_relative_to_their_directory() {
    let mut f = fs();
    mkdir(&mut f, b"/bin");
    let bb = touch(&mut f, b"/bin/busybox");
    let sh = symlink(&mut f, b"/bin/sh", b"busybox");
    symlink(&mut f, b"/abs", b"/bin/sh");
    assert_eq!(f.walk(ROOT, b"/bin/sh", true), Ok(bb));
    assert_eq!(f.walk(ROOT, b"/bin/sh", false), Ok(sh), "lstat");
    assert_eq!(f.walk(ROOT, b"/abs", true), Ok(bb), "a chain");
    // A symlink to a directory in the middle of a path.
    symlink(&mut f, b"/b", b"bin");
    assert_eq!(f.walk(ROOT, b"/b/busybox", false), Ok(bb));
    // A trailing slash follows the last symlink (path_resolution(7)).
    let bin = f.walk(ROOT, b"/bin", true).unwrap();
    assert_eq!(f.walk(ROOT, b"/b/", false), Ok(bin));
    // A dangling one.
    symlink(&mut f, b"/dangling", b"/nowhere");
    assert_eq!(f.walk(ROOT, b"/dangling", true), Err(Errno::ENOENT));
}

#[test]
fn a_symlink_loop_is_eloop_after_40_links() {
    let mut f = fs();
    symlink(&mut f, b"/a", b"b");
    symlink(&mut f, b"/b", b"a");
    assert_eq!(f.walk(ROOT, b"/a", true), Err(Errno::ELOOP));
    // A chain of exactly 40 resolves, 41 does not.
    let mut g = fs();
    touch(&mut g, b"/end");
    let name = |i: usize| alloc::format!("/l{i}").into_bytes();
    symlink(&mut g, &name(0), b"/end");
    for i in 1..=40 {
        symlink(&mut g, &name(i), &name(i - 1));
    }
    assert!(g.walk(ROOT, &name(39), true).is_ok(), "40 links");
    assert_eq!(g.walk(ROOT, &name(40), true), Err(Errno::ELOOP), "41 links");
}

#[test]
fn create_refuses_taken_names_and_counts_directory_links() {
    let mut f = fs();
    let d = mkdir(&mut f, b"/d");
    assert_eq!(f.get(ROOT).unwrap().nlink, 3, "root: ., .. and d's ..");
    assert_eq!(f.get(d).unwrap().nlink, 2);
    touch(&mut f, b"/d/x");
    let (dir, n) = f.walk_parent(ROOT, b"/d/x").unwrap();
    assert_eq!(
        f.create(dir, n, 0o644, New::Dir, (0, 0), T0),
        Err(Errno::EEXIST)
    );
    // A dangling symlink's name is taken too (O_CREAT|O_EXCL, mkdir).
    symlink(&mut f, b"/d/s", b"/nowhere");
    assert_eq!(
        f.create(dir, b"s", 0o644, New::Dir, (0, 0), T0),
        Err(Errno::EEXIST)
    );
    assert_eq!(
        f.create(dir, b"..", 0o644, New::Dir, (0, 0), T0),
        Err(Errno::EEXIST)
    );
    // The parent must exist and be a directory.
    assert_eq!(f.walk_parent(ROOT, b"/nope/x"), Err(Errno::ENOENT));
    assert_eq!(f.walk_parent(ROOT, b"/d/x/y"), Err(Errno::ENOTDIR));
    // Permission bits kept, type from the kind; symlinks are 0777.
    let x = f.walk(ROOT, b"/d/x", true).unwrap();
    assert_eq!(f.get(x).unwrap().mode, S_IFREG | 0o644);
    let s = f.walk(ROOT, b"/d/s", false).unwrap();
    assert_eq!(f.get(s).unwrap().mode, S_IFLNK | 0o777);
}

#[test]
fn unlink_and_rmdir_follow_the_man_pages() {
    let mut f = fs();
    let d = mkdir(&mut f, b"/d");
    touch(&mut f, b"/d/x");
    assert_eq!(
        f.remove(ROOT, b"d", false, T0),
        Err(Errno::EISDIR),
        "unlink a dir"
    );
    assert_eq!(f.remove(ROOT, b"d", true, T0), Err(Errno::ENOTEMPTY));
    assert_eq!(
        f.remove(d, b"x", true, T0),
        Err(Errno::ENOTDIR),
        "rmdir a file"
    );
    assert_eq!(f.remove(d, b".", true, T0), Err(Errno::EINVAL), "rmdir .");
    assert_eq!(
        f.remove(d, b"..", true, T0),
        Err(Errno::ENOTEMPTY),
        "rmdir .."
    );
    assert_eq!(f.remove(d, b"nope", false, T0), Err(Errno::ENOENT));
    f.remove(d, b"x", false, T0).unwrap();
    f.remove(ROOT, b"d", true, T0).unwrap();
    assert_eq!(f.get(ROOT).unwrap().nlink, 2);
    assert!(f.get(d).is_none(), "freed");
    assert_eq!(f.count(), 1);
}

#[test]
fn an_open_unlinked_file_lives_until_closed_and_then_gives_its_object_back() {
    let mut f = fs();
    let (d, n) = f.walk_parent(ROOT, b"/f").unwrap();
    let ino = f.create(d, n, 0o644, New::Reg(7), (0, 0), T0).unwrap();
    f.opened(ino).unwrap();
    assert_eq!(f.remove(ROOT, b"f", false, T0), Ok(None), "still open");
    assert_eq!(f.get(ino).unwrap().nlink, 0);
    assert_eq!(f.walk(ROOT, b"/f", true), Err(Errno::ENOENT));
    assert_eq!(f.path_of(ino), Ok(None), "no name: (deleted)");
    assert_eq!(f.closed(ino), Some(7));
    assert!(f.get(ino).is_none());
    // A second hard link keeps it alive.
    let (d, n) = f.walk_parent(ROOT, b"/g").unwrap();
    let ino = f.create(d, n, 0o644, New::Reg(8), (0, 0), T0).unwrap();
    f.link(ino, ROOT, b"h", T0).unwrap();
    assert_eq!(f.get(ino).unwrap().nlink, 2);
    assert_eq!(f.remove(ROOT, b"g", false, T0), Ok(None));
    assert_eq!(f.walk(ROOT, b"/h", true), Ok(ino));
    assert_eq!(f.remove(ROOT, b"h", false, T0), Ok(Some(8)));
}

#[test]
fn a_removed_directory_takes_no_new_names() {
    let mut f = fs();
    let d = mkdir(&mut f, b"/d");
    f.opened(d).unwrap();
    f.remove(ROOT, b"d", true, T0).unwrap();
    assert_eq!(
        f.create(d, b"x", 0o644, New::Dir, (0, 0), T0),
        Err(Errno::ENOENT)
    );
    assert_eq!(f.closed(d), None);
    assert!(f.get(d).is_none());
}

#[test]
fn rename_follows_linux_rules() {
    let mut f = fs();
    let a = mkdir(&mut f, b"/a");
    let b = mkdir(&mut f, b"/b");
    let x = touch(&mut f, b"/a/x");
    touch(&mut f, b"/b/y");
    // A file moves between directories, replacing a file.
    assert_eq!(f.rename(a, b"x", b, b"y", T0), Ok(Some(0)), "y's object");
    assert_eq!(f.walk(ROOT, b"/b/y", true), Ok(x));
    assert_eq!(f.walk(ROOT, b"/a/x", true), Err(Errno::ENOENT));
    // Onto a directory, from a directory onto a file.
    mkdir(&mut f, b"/b/sub");
    assert_eq!(f.rename(b, b"y", b, b"sub", T0), Err(Errno::EISDIR));
    assert_eq!(f.rename(b, b"sub", b, b"y", T0), Err(Errno::ENOTDIR));
    // Into itself.
    assert_eq!(f.rename(ROOT, b"b", b, b"z", T0), Err(Errno::EINVAL));
    let sub = f.walk(ROOT, b"/b/sub", true).unwrap();
    assert_eq!(f.rename(ROOT, b"b", sub, b"z", T0), Err(Errno::EINVAL));
    // Onto a non-empty directory.
    mkdir(&mut f, b"/c");
    touch(&mut f, b"/c/f");
    assert_eq!(f.rename(ROOT, b"a", ROOT, b"c", T0), Err(Errno::ENOTEMPTY));
    // "." and "..".
    assert_eq!(f.rename(b, b".", ROOT, b"q", T0), Err(Errno::EBUSY));
    assert_eq!(f.rename(ROOT, b"a", b, b"..", T0), Err(Errno::EBUSY));
    // A directory moves: link counts and its ".." follow.
    assert_eq!(f.rename(b, b"sub", a, b"moved", T0), Ok(None));
    assert_eq!(f.get(a).unwrap().nlink, 3);
    assert_eq!(f.get(b).unwrap().nlink, 2);
    assert_eq!(f.walk(ROOT, b"/a/moved/..", true), Ok(a));
    // Onto an empty directory: replaced.
    mkdir(&mut f, b"/e");
    assert_eq!(f.rename(a, b"moved", ROOT, b"e", T0), Ok(None));
    assert_eq!(f.walk(ROOT, b"/e", true), Ok(sub));
    // Two names of one inode: nothing happens.
    f.link(x, ROOT, b"x2", T0).unwrap();
    assert_eq!(f.rename(b, b"y", ROOT, b"x2", T0), Ok(None));
    assert!(f.walk(ROOT, b"/b/y", true).is_ok());
    assert_eq!(f.rename(ROOT, b"nope", ROOT, b"n2", T0), Err(Errno::ENOENT));
}

#[test]
fn directory_listing_and_paths() {
    let mut f = fs();
    let d = mkdir(&mut f, b"/d");
    let x = touch(&mut f, b"/d/x");
    symlink(&mut f, b"/d/s", b"x");
    let names: Vec<(Vec<u8>, Ino, u32)> = (0..)
        .map_while(|i| f.dir_entry(d, i).unwrap())
        .map(|(n, i, m)| (n.to_vec(), i, m & S_IFMT))
        .collect();
    assert_eq!(names.len(), 4);
    assert_eq!(names[0], (b".".to_vec(), d, S_IFDIR));
    assert_eq!(names[1], (b"..".to_vec(), ROOT, S_IFDIR));
    assert_eq!(names[2], (b"x".to_vec(), x, S_IFREG));
    assert_eq!(names[3].2, S_IFLNK);
    assert_eq!(f.dir_entry(x, 0), Err(Errno::ENOTDIR));
    assert_eq!(f.path_of(x).unwrap().as_deref(), Some("/d/x"));
    assert_eq!(f.path_of(d).unwrap().as_deref(), Some("/d"));
    assert_eq!(f.path_of(ROOT).unwrap().as_deref(), Some("/"));
}

#[test]
fn mount_points_split_the_walk() {
    let mut f = fs();
    let p = mkdir(&mut f, b"/proc");
    f.set_mount(p, Mount::Proc).unwrap();
    symlink(&mut f, b"/p", b"proc");
    assert_eq!(
        f.mount_split(ROOT, b"/proc/self/maps"),
        Some((Mount::Proc, &b"/self/maps"[..]))
    );
    assert_eq!(f.mount_split(p, b"self"), Some((Mount::Proc, &b"self"[..])));
    assert_eq!(f.mount_split(ROOT, b"/d/x"), None);
    assert_eq!(f.remove(ROOT, b"proc", true, T0), Err(Errno::EBUSY));
}

#[test]
fn split_last_keeps_the_directory_part_and_notes_a_trailing_slash() {
    // path_resolution(7): trailing slashes name the same file (mkdir(2)
    // "mkdir a/" makes a); the directory part keeps its slash, so "/x"
    // stays absolute.
    assert_eq!(split_last(b"a/b"), (&b"a/"[..], &b"b"[..], false));
    assert_eq!(split_last(b"a/b//"), (&b"a/"[..], &b"b"[..], true));
    assert_eq!(split_last(b"/x"), (&b"/"[..], &b"x"[..], false));
    assert_eq!(split_last(b"x/"), (&b""[..], &b"x"[..], true));
    let mut f = fs();
    let d = mkdir(&mut f, b"/d");
    assert_eq!(f.walk_parent(d, b"/x"), Ok((ROOT, &b"x"[..])), "absolute");
    assert_eq!(f.walk_parent(ROOT, b"/d/new/"), Ok((d, &b"new"[..])));
}

#[test]
fn dot_dotdot_and_the_root_itself_are_taken_names() {
    // mkdir(2) EEXIST "pathname already exists": ".", ".." and "/" (whose
    // last component is empty) always exist.
    let mut f = fs();
    let d = mkdir(&mut f, b"/d");
    for name in [&b"."[..], b"..", b""] {
        assert_eq!(
            f.create(d, name, 0o755, New::Dir, (0, 0), T0),
            Err(Errno::EEXIST),
            "{name:?}"
        );
    }
    let (r, n) = f.walk_parent(ROOT, b"/").unwrap();
    assert_eq!(
        f.create(r, n, 0o755, New::Dir, (0, 0), T0),
        Err(Errno::EEXIST)
    );
    // Live inodes: the root, d.
    assert_eq!(f.count(), 2);
    touch(&mut f, b"/d/x");
    assert_eq!(f.count(), 3);
    assert_eq!(f.slots(), 3);
}

#[test]
fn rmdir_and_unlink_of_the_root_itself() {
    // rmdir(2) EBUSY: "pathname ... is the root directory of the calling
    // process" (fs/namei.c do_rmdir: LAST_ROOT -> -EBUSY); unlink(2) of
    // "/": EISDIR (do_unlinkat: a last component that is not a plain name
    // -> -EISDIR). "/" reaches here as the empty last component.
    let mut f = fs();
    let (r, n) = f.walk_parent(ROOT, b"/").unwrap();
    assert_eq!(n, b"");
    assert_eq!(f.remove(r, n, true, T0), Err(Errno::EBUSY));
    assert_eq!(f.remove(r, n, false, T0), Err(Errno::EISDIR));
    let d = mkdir(&mut f, b"/d");
    assert_eq!(f.remove(d, b"..", false, T0), Err(Errno::EISDIR));
    assert_eq!(f.remove(d, b".", false, T0), Err(Errno::EISDIR));
    assert_eq!(f.count(), 2, "nothing removed");
}

#[test]
fn rename_onto_a_mount_point() {
    // rename(2) EBUSY: newpath "is in use by the system (for example as a
    // mount point)"; Linux's vfs_rename checks the file types first
    // (may_delete: a non-directory onto a directory is EISDIR), then
    // is_local_mountpoint (EBUSY).
    let mut f = fs();
    let p = mkdir(&mut f, b"/proc");
    f.set_mount(p, Mount::Proc).unwrap();
    mkdir(&mut f, b"/empty");
    touch(&mut f, b"/file");
    assert_eq!(
        f.rename(ROOT, b"empty", ROOT, b"proc", T0),
        Err(Errno::EBUSY)
    );
    assert_eq!(
        f.rename(ROOT, b"file", ROOT, b"proc", T0),
        Err(Errno::EISDIR)
    );
    assert_eq!(f.walk(ROOT, b"/proc", true), Ok(p));
    assert_eq!(f.mount_of(p), Some(Mount::Proc));
}

#[test]
fn the_last_name_of_an_open_file_is_kept_for_proc_maps() {
    // proc(5), /proc/pid/maps: "If the pathname has been unlinked, the
    // pseudo-path is followed by (deleted)": the path it had is kept when
    // its last name goes.
    let mut f = fs();
    mkdir(&mut f, b"/d");
    let x = touch(&mut f, b"/d/x");
    f.opened(x).unwrap();
    f.link(x, ROOT, b"y", T0).unwrap();
    assert_eq!(f.remove(ROOT, b"y", false, T0), Ok(None));
    assert_eq!(
        f.path_of(x).unwrap().as_deref(),
        Some("/d/x"),
        "a name is left"
    );
    let d = f.walk(ROOT, b"/d", true).unwrap();
    assert_eq!(f.remove(d, b"x", false, T0), Ok(None));
    assert_eq!(f.get(x).unwrap().gone_path.as_deref(), Some("/d/x"));
    assert_eq!(f.closed(x), Some(0));
}

#[test]
fn a_directory_replacing_an_empty_one_keeps_the_link_counts() {
    // A directory's link count is 2 + its subdirectories (each one's
    // ".."; mm/shmem.c: inc_nlink(dir) on mkdir, and in shmem_rename2 a
    // replaced directory's ".." leaves new_dir: drop_nlink). /a/sub
    // replacing /e: the root still has two subdirectories, a has none.
    let mut f = fs();
    let a = mkdir(&mut f, b"/a");
    let sub = mkdir(&mut f, b"/a/sub");
    let e = mkdir(&mut f, b"/e");
    assert_eq!(f.get(ROOT).unwrap().nlink, 4);
    assert_eq!(f.get(a).unwrap().nlink, 3);
    assert_eq!(f.rename(a, b"sub", ROOT, b"e", T0), Ok(None));
    assert_eq!(f.get(ROOT).unwrap().nlink, 4);
    assert_eq!(f.get(a).unwrap().nlink, 2);
    assert_eq!(f.get(sub).unwrap().nlink, 2);
    assert!(f.get(e).is_none(), "the replaced directory is gone");
    assert_eq!(f.walk(ROOT, b"/e/..", true), Ok(ROOT));
}

#[test]
fn find_obj_names_the_inode_of_a_page_cache_object() {
    // /proc/<pid>/maps names a mapped file by the inode whose page cache
    // the mapping's object is (Linux: vma->vm_file -> f_inode).
    let mut f = fs();
    let (d, n) = f.walk_parent(ROOT, b"/a").unwrap();
    let a = f.create(d, n, 0o644, New::Reg(41), (0, 0), T0).unwrap();
    let (d, n) = f.walk_parent(ROOT, b"/b").unwrap();
    let b = f.create(d, n, 0o644, New::Reg(42), (0, 0), T0).unwrap();
    assert_eq!(f.find_obj(42), Some(b));
    assert_eq!(f.find_obj(41), Some(a));
    assert_eq!(f.find_obj(43), None);
}

#[test]
fn a_path_deeper_than_path_max_is_enametoolong() {
    // getcwd(3): ENAMETOOLONG when the absolute path exceeds PATH_MAX
    // (4096) bytes; 5000 levels of one-letter names are 10000 bytes.
    let mut f = fs();
    let mut dir = ROOT;
    for _ in 0..5000 {
        dir = f.create(dir, b"a", 0o755, New::Dir, (0, 0), T0).unwrap();
    }
    assert_eq!(f.path_of(dir), Err(Errno::ENAMETOOLONG));
}
