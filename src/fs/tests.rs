//! Unpacking an archive into the root, as Linux's initramfs does.

use super::data::tests::FakePool;
use super::*;
use crate::loader::cpio::testutil::newc;

#[test]
fn unpack_makes_files_dirs_symlinks_devices_and_proc() {
    let arc = newc(&[
        (".", 0o040755, b"" as &[u8]),
        ("bin", 0o040755, b""),
        ("bin/busybox", 0o100755, b"\x7fELF..."),
        ("bin/sh", 0o120777, b"busybox"),
        ("etc/motd", 0o100644, b"hi\n"),
        ("dev/console", 0o020600, b""),
    ]);
    let arc: &'static [u8] = alloc::boxed::Box::leak(arc.into_boxed_slice());
    let archive = cpio::Archive::new(arc).unwrap();
    let mut fs = Tmpfs::new(ROOT_DEV, (0, 0)).unwrap();
    let mut pool = FakePool::default();
    assert_eq!(unpack(&mut fs, &archive, &mut pool, (5, 0)), Ok(5));
    let bb = fs.walk(ROOT_INO, b"/bin/sh", true).unwrap();
    let tmpfs::Node::Reg { obj } = fs.get(bb).unwrap().node else {
        panic!("busybox is a file")
    };
    assert_eq!(shm::source_page(obj, 0), &b"\x7fELF..."[..]);
    assert_eq!(fs.get(bb).unwrap().mode, tmpfs::S_IFREG | 0o755);
    // etc/ was made for etc/motd.
    let etc = fs.walk(ROOT_INO, b"/etc", true).unwrap();
    assert_eq!(fs.get(etc).unwrap().mode, tmpfs::S_IFDIR | 0o755);
    // The archive's console kept (this writer's rdev is 0:0); the others
    // made with Linux's numbers.
    let dev = fs.walk(ROOT_INO, b"/dev", true).unwrap();
    let c = fs.lookup(dev, b"console").unwrap();
    assert!(matches!(
        fs.get(c).unwrap().node,
        tmpfs::Node::Chr { rdev: (0, 0) }
    ));
    for (name, rdev, _) in DEVICES.iter().filter(|d| d.0 != "console") {
        let i = fs.lookup(dev, name.as_bytes()).unwrap();
        assert!(
            matches!(fs.get(i).unwrap().node, tmpfs::Node::Chr { rdev: r } if r == *rdev),
            "{name}"
        );
    }
    let proc = fs.walk(ROOT_INO, b"/proc", true).unwrap();
    assert_eq!(fs.mount_of(proc), Some(Mount::Proc));
    assert!(pool.frames.is_empty(), "nothing read in yet");
}

/// Unpack `entries` (newc, through the independent test writer) into a
/// fresh root.
fn unpacked(entries: &[(&str, u32, &[u8])], pool: &mut FakePool) -> (Tmpfs, Result<usize, Errno>) {
    let arc: &'static [u8] = alloc::boxed::Box::leak(newc(entries).into_boxed_slice());
    let archive = cpio::Archive::new(arc).unwrap();
    let mut fs = Tmpfs::new(ROOT_DEV, (0, 0)).unwrap();
    let r = unpack(&mut fs, &archive, pool, (5, 0));
    (fs, r)
}

#[test]
fn a_later_member_replaces_an_earlier_one_as_linux_initramfs_does() {
    // init/initramfs.c, do_name(): a directory member is init_mkdir()
    // (EEXIST for one already there, contents kept) then init_chmod()
    // with the member's mode; clean_path() first removes an existing
    // name whose file type differs ((st.mode ^ fmode) & S_IFMT: rmdir for
    // a directory, unlink otherwise). "." is a directory member too.
    // A FIFO member is init_mknod()ed (S_ISFIFO).
    let mut pool = FakePool::default();
    let (fs, r) = unpacked(
        &[
            (".", 0o041777, b"" as &[u8]),
            ("d", 0o040755, b""),
            ("d/f", 0o100644, b"kept"),
            ("d", 0o040700, b""),
            ("x", 0o040755, b""),
            ("x", 0o100644, b"now a file"),
            ("run/fifo", 0o010620, b""),
        ],
        &mut pool,
    );
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(
        fs.get(ROOT_INO).unwrap().mode,
        tmpfs::S_IFDIR | 0o1777,
        "chmod(\".\", 041777)"
    );
    let d = fs.walk(ROOT_INO, b"/d", true).unwrap();
    assert_eq!(fs.get(d).unwrap().mode, tmpfs::S_IFDIR | 0o700);
    assert!(fs.lookup(d, b"f").is_ok(), "the directory kept its file");
    let x = fs.walk(ROOT_INO, b"/x", true).unwrap();
    assert_eq!(fs.get(x).unwrap().mode, tmpfs::S_IFREG | 0o644);
    assert!(matches!(fs.get(x).unwrap().node, tmpfs::Node::Reg { .. }));
    let p = fs.walk(ROOT_INO, b"/run/fifo", true).unwrap();
    assert!(matches!(fs.get(p).unwrap().node, tmpfs::Node::Fifo));
    assert_eq!(fs.get(p).unwrap().mode, tmpfs::S_IFIFO | 0o620);
}

#[test]
fn a_member_that_cannot_be_made_leaves_no_page_cache_object() {
    // A last component longer than NAME_MAX (255) is ENAMETOOLONG
    // (path_resolution(7), open(2)). The object made for the member's
    // bytes must go with the failure.
    let long = "n".repeat(256);
    let data: &[u8] = b"bytes of a member that never gets a name";
    let arc: &'static [u8] =
        alloc::boxed::Box::leak(newc(&[(long.as_str(), 0o100644, data)]).into_boxed_slice());
    let at = arc.windows(data.len()).position(|w| w == data).unwrap();
    let member = arc[at..].as_ptr();
    let archive = cpio::Archive::new(arc).unwrap();
    let mut fs = Tmpfs::new(ROOT_DEV, (0, 0)).unwrap();
    let mut pool = FakePool::default();
    assert_eq!(
        unpack(&mut fs, &archive, &mut pool, (5, 0)),
        Err(Errno::ENAMETOOLONG)
    );
    // No live object has the member's bytes as its source (ids are small:
    // the registry reuses the lowest free slot).
    let leaked = (1..=1 << 16)
        .find(|&id| shm::file_size(id).is_some() && shm::source_page(id, 0).as_ptr() == member);
    assert_eq!(leaked, None);
}

struct NoDriver;
impl crate::drivers::chardev::CharDev for NoDriver {}
static NO_DRIVER: NoDriver = NoDriver;

#[test]
fn every_registered_driver_gets_its_dev_node() {
    // devtmpfs (drivers/base/devtmpfs.c) makes a node for each
    // registered device: S_IFCHR | the driver's mode, its dev_t.
    use crate::drivers::chardev::{register, Node};
    for (name, rdev, mode) in [
        ("fs-test-a", (250, 1), 0o640),
        ("fs-test-b", (250, 2), 0o604),
    ] {
        register(Node {
            name,
            rdev,
            mode,
            dev: &NO_DRIVER,
        })
        .unwrap();
    }
    let mut pool = FakePool::default();
    let (fs, r) = unpacked(&[("bin", 0o040755, b"" as &[u8])], &mut pool);
    assert_eq!(r, Ok(1));
    let dev = fs.walk(ROOT_INO, b"/dev", true).unwrap();
    for (name, rdev, mode) in [
        ("fs-test-a", (250, 1), 0o640),
        ("fs-test-b", (250, 2), 0o604),
    ] {
        let i = fs.lookup(dev, name.as_bytes()).unwrap();
        let n = fs.get(i).unwrap();
        assert!(
            matches!(n.node, tmpfs::Node::Chr { rdev: r } if r == rdev),
            "{name}"
        );
        assert_eq!(n.mode, tmpfs::S_IFCHR | mode, "{name}");
    }
}

#[test]
fn release_gives_the_inodes_page_cache_back() {
    // create_file: the inode is the object's one user; when it goes, the
    // object and its frames go (Linux: evict() -> truncate_inode_pages_final).
    let mut pool = FakePool::default();
    let obj = shm::create_file(b"").unwrap();
    assert_eq!(data::write(obj, 0, &[7; 5000], &mut pool), Ok(5000));
    assert_eq!(pool.frames.len(), 2);
    release(obj, &mut pool);
    assert_eq!(shm::users(obj), 0);
    assert!(pool.frames.is_empty());
}

#[test]
fn the_root_executes_only_executable_regular_files_and_counts_its_cache() {
    // The one host test of the global root (nothing else sets it).
    let mut pool = FakePool::default();
    let (fs, r) = unpacked(
        &[
            ("bin", 0o040755, b"" as &[u8]),
            ("bin/busybox", 0o100755, b"\x7fELF busybox"),
            ("bin/sh", 0o120777, b"busybox"),
            ("etc/motd", 0o100644, b"hi\n"),
        ],
        &mut pool,
    );
    r.unwrap();
    *ROOT.lock() = Some(fs);
    // execve(2): symlinks followed (path_resolution(7)); EACCES "Execute
    // permission is denied for the file" and "the file ... is not a
    // regular file"; ENOENT "The file pathname ... does not exist".
    let sh = exec_file("/bin/sh").unwrap();
    assert_eq!(shm::source_page(sh, 0), &b"\x7fELF busybox"[..]);
    assert_eq!(shm::users(sh), 2, "the inode's and the new program's");
    shm::remove_user(sh, &mut |_| {});
    assert_eq!(exec_file("/etc/motd"), Err(Errno::EACCES));
    assert_eq!(exec_file("/bin"), Err(Errno::EACCES));
    assert_eq!(exec_file("/nope"), Err(Errno::ENOENT));
    // Nothing read in yet; a write of bytes 0..5000 of motd puts its two
    // pages in the cache.
    assert_eq!(cache_frames(), 0);
    let obj = with(|fs| {
        let i = fs.walk(ROOT_INO, b"/etc/motd", true).unwrap();
        match fs.get(i).unwrap().node {
            tmpfs::Node::Reg { obj } => obj,
            _ => panic!("motd is a file"),
        }
    })
    .unwrap();
    assert_eq!(data::write(obj, 0, &[b'x'; 5000], &mut pool), Ok(5000));
    assert_eq!(cache_frames(), 2);
    // Back to no root: ENOENT.
    let fs = ROOT.lock().take().unwrap();
    assert_eq!(with(|_| ()), Err(Errno::ENOENT));
    assert_eq!(cache_frames(), 0);
    for i in 1..=fs.slots() as Ino {
        if let Some(tmpfs::Node::Reg { obj }) = fs.get(i).map(|n| &n.node) {
            release(*obj, &mut pool);
        }
    }
    assert!(pool.frames.is_empty());
}
