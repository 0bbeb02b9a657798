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
