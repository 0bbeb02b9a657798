//! File metadata and the three layouts user space reads it in: ARM's
//! `struct stat64` (arch/arm/include/uapi/asm/stat.h), the generic
//! `struct stat` AArch64 uses (include/uapi/asm-generic/stat.h) and
//! `struct statx` (include/uapi/linux/stat.h). Device numbers are stored
//! in `st_dev`/`st_rdev` as Linux's `new_encode_dev` writes them.

/// The file type bits, defined once with the file system's inodes.
pub use crate::fs::tmpfs::{S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG};

/// `STATX_BASIC_STATS`: type, mode, nlink, uid, gid, atime, mtime, ctime,
/// ino, size, blocks.
pub const STATX_BASIC_STATS: u32 = 0x7ff;

/// What stat reports about a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meta {
    /// (major, minor) of the filesystem.
    pub dev: (u32, u32),
    pub ino: u64,
    pub mode: u32,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    /// (major, minor) of a device file.
    pub rdev: (u32, u32),
    pub size: u64,
    pub blksize: u32,
    /// 512-byte units.
    pub blocks: u64,
    /// Seconds (atime, mtime and ctime alike: nothing is ever written).
    pub time: i64,
}

/// pipefs (an anonymous device number, as every pseudo filesystem's).
pub const PIPEFS_DEV: (u32, u32) = (0, 12);
/// procfs.
pub const PROC_DEV: (u32, u32) = (0, 20);

impl Meta {
    /// An inode of the root file system.
    pub fn of_inode(fs: &crate::fs::tmpfs::Tmpfs, ino: u64) -> Result<Meta, crate::errno::Errno> {
        use crate::fs::tmpfs::Node;
        let n = fs.get(ino).ok_or(crate::errno::Errno::ENOENT)?;
        let (size, rdev) = match &n.node {
            Node::Reg { obj } => (crate::mm::shm::file_size(*obj).unwrap_or(0), (0, 0)),
            Node::Symlink { target } => (target.len() as u64, (0, 0)),
            // tmpfs: BOGO_DIRENT_SIZE (20) per entry, "." and ".." included.
            Node::Dir { entries, .. } => ((entries.len() as u64 + 2) * 20, (0, 0)),
            Node::Chr { rdev } => (0, *rdev),
            Node::Fifo => (0, (0, 0)),
        };
        let blocks = if matches!(n.node, Node::Reg { .. }) {
            size.div_ceil(4096) * 8
        } else {
            0
        };
        Ok(Meta {
            dev: fs.dev,
            ino,
            mode: n.mode,
            nlink: n.nlink,
            uid: n.uid,
            gid: n.gid,
            rdev,
            size,
            blksize: 4096,
            blocks,
            time: n.mtime.0,
        })
    }

    /// A file of a pseudo filesystem: owned by root, no size, time 0.
    pub fn simple(dev: (u32, u32), ino: u64, mode: u32, rdev: (u32, u32), nlink: u32) -> Meta {
        Meta {
            dev,
            ino,
            mode,
            nlink,
            uid: 0,
            gid: 0,
            rdev,
            size: 0,
            blksize: 4096,
            blocks: 0,
            time: 0,
        }
    }

    pub fn is_dir(&self) -> bool {
        self.mode & S_IFMT == S_IFDIR
    }
}

/// Linux's `new_encode_dev` (kdev_t.h): minor's low byte, the major, then
/// the rest of the minor from bit 20.
pub fn new_encode_dev(major: u32, minor: u32) -> u64 {
    ((minor & 0xff) | (major << 8) | ((minor & !0xff) << 12)) as u64
}

fn put<const N: usize>(b: &mut [u8], off: usize, v: [u8; N]) {
    b[off..off + N].copy_from_slice(&v);
}

/// ARM's `struct stat64` (104 bytes, EABI alignment: 64-bit fields on
/// 8-byte boundaries).
pub fn stat64_arm(m: &Meta) -> [u8; 104] {
    let mut b = [0u8; 104];
    put(&mut b, 0, new_encode_dev(m.dev.0, m.dev.1).to_le_bytes()); // st_dev
    put(&mut b, 12, (m.ino as u32).to_le_bytes()); // __st_ino
    put(&mut b, 16, m.mode.to_le_bytes());
    put(&mut b, 20, m.nlink.to_le_bytes());
    put(&mut b, 24, m.uid.to_le_bytes());
    put(&mut b, 28, m.gid.to_le_bytes());
    put(&mut b, 32, new_encode_dev(m.rdev.0, m.rdev.1).to_le_bytes()); // st_rdev
    put(&mut b, 48, m.size.to_le_bytes()); // st_size
    put(&mut b, 56, m.blksize.to_le_bytes());
    put(&mut b, 64, m.blocks.to_le_bytes());
    for off in [72, 80, 88] {
        // st_atime, st_mtime, st_ctime (and their _nsec: 0).
        put(&mut b, off, (m.time as u32).to_le_bytes());
    }
    put(&mut b, 96, m.ino.to_le_bytes()); // st_ino
    b
}

/// The generic `struct stat` of AArch64 (128 bytes).
pub fn stat_generic(m: &Meta) -> [u8; 128] {
    let mut b = [0u8; 128];
    put(&mut b, 0, new_encode_dev(m.dev.0, m.dev.1).to_le_bytes());
    put(&mut b, 8, m.ino.to_le_bytes());
    put(&mut b, 16, m.mode.to_le_bytes());
    put(&mut b, 20, m.nlink.to_le_bytes());
    put(&mut b, 24, m.uid.to_le_bytes());
    put(&mut b, 28, m.gid.to_le_bytes());
    put(&mut b, 32, new_encode_dev(m.rdev.0, m.rdev.1).to_le_bytes());
    put(&mut b, 48, m.size.to_le_bytes());
    put(&mut b, 56, m.blksize.to_le_bytes());
    put(&mut b, 64, m.blocks.to_le_bytes());
    for off in [72, 88, 104] {
        put(&mut b, off, m.time.to_le_bytes());
    }
    b
}

/// `struct statx` (256 bytes): every basic field is known here, so
/// `stx_mask` is `STATX_BASIC_STATS` whatever was asked (Linux may
/// return more than requested).
pub fn statx(m: &Meta) -> [u8; 256] {
    let mut b = [0u8; 256];
    put(&mut b, 0, STATX_BASIC_STATS.to_le_bytes()); // stx_mask
    put(&mut b, 4, m.blksize.to_le_bytes());
    put(&mut b, 16, m.nlink.to_le_bytes());
    put(&mut b, 20, m.uid.to_le_bytes());
    put(&mut b, 24, m.gid.to_le_bytes());
    put(&mut b, 28, (m.mode as u16).to_le_bytes());
    put(&mut b, 32, m.ino.to_le_bytes());
    put(&mut b, 40, m.size.to_le_bytes());
    put(&mut b, 48, m.blocks.to_le_bytes());
    // stx_atime, stx_btime (not kept by rootfs: left 0, out of the
    // mask), stx_ctime, stx_mtime: struct statx_timestamp, 16 bytes.
    for off in [64, 96, 112] {
        put(&mut b, off, m.time.to_le_bytes());
    }
    put(&mut b, 128, m.rdev.0.to_le_bytes());
    put(&mut b, 132, m.rdev.1.to_le_bytes());
    put(&mut b, 136, m.dev.0.to_le_bytes());
    put(&mut b, 140, m.dev.1.to_le_bytes());
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::tmpfs::S_IFCHR;

    fn u32_at(b: &[u8], o: usize) -> u32 {
        u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
    }
    fn u64_at(b: &[u8], o: usize) -> u64 {
        u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
    }

    fn sample() -> Meta {
        Meta {
            dev: (0, 2),
            ino: 0x1_0000_0007,
            mode: S_IFREG | 0o755,
            nlink: 1,
            uid: 1000,
            gid: 100,
            rdev: (0, 0),
            size: 1_264_004,
            blksize: 4096,
            blocks: 2472,
            time: 1_700_000_000,
        }
    }

    #[test]
    fn dev_encoding_is_new_encode_dev() {
        // kdev_t.h: new_encode_dev(MKDEV(5, 1)) = 0x501 ...
        assert_eq!(new_encode_dev(5, 1), 0x501);
        assert_eq!(new_encode_dev(1, 3), 0x103);
        assert_eq!(new_encode_dev(1, 5), 0x105);
        assert_eq!(new_encode_dev(1, 1), 0x101);
        // ... and minors past 255 go from bit 20 (as glibc's makedev).
        assert_eq!(new_encode_dev(8, 0x123), 0x10_0823);
        assert_eq!(new_encode_dev(0x1ff, 0), 0x1_ff00);
    }

    #[test]
    fn arm_stat64_offsets() {
        // arch/arm/include/uapi/asm/stat.h, EABI: st_dev 0, __st_ino 12,
        // st_mode 16, st_nlink 20, st_uid 24, st_gid 28, st_rdev 32,
        // st_size 48, st_blksize 56, st_blocks 64, st_atime 72,
        // st_mtime 80, st_ctime 88, st_ino 96; sizeof 104.
        let b = stat64_arm(&Meta {
            rdev: (5, 1),
            mode: S_IFCHR | 0o600,
            ..sample()
        });
        assert_eq!(b.len(), 104);
        assert_eq!(u64_at(&b, 0), 2);
        assert_eq!(u32_at(&b, 12), 7, "__st_ino: the low 32 bits");
        assert_eq!(u32_at(&b, 16), 0o20600);
        assert_eq!(u32_at(&b, 20), 1);
        assert_eq!(u32_at(&b, 24), 1000);
        assert_eq!(u32_at(&b, 28), 100);
        assert_eq!(u64_at(&b, 32), 0x501);
        assert_eq!(u64_at(&b, 48), 1_264_004);
        assert_eq!(u32_at(&b, 56), 4096);
        assert_eq!(u64_at(&b, 64), 2472);
        assert_eq!(u32_at(&b, 72), 1_700_000_000);
        assert_eq!(u32_at(&b, 80), 1_700_000_000);
        assert_eq!(u32_at(&b, 88), 1_700_000_000);
        assert_eq!(u32_at(&b, 76), 0, "st_atime_nsec");
        assert_eq!(u64_at(&b, 96), 0x1_0000_0007);
        assert!(
            b[8..12].iter().chain(&b[40..48]).all(|&x| x == 0),
            "padding"
        );
    }

    #[test]
    fn generic_stat_offsets() {
        // asm-generic/stat.h (64-bit longs): st_dev 0, st_ino 8, st_mode
        // 16, st_nlink 20, st_uid 24, st_gid 28, st_rdev 32, st_size 48,
        // st_blksize 56, st_blocks 64, st_atime 72, st_mtime 88,
        // st_ctime 104; sizeof 128.
        let b = stat_generic(&Meta {
            rdev: (1, 3),
            ..sample()
        });
        assert_eq!(b.len(), 128);
        assert_eq!(u64_at(&b, 0), 2);
        assert_eq!(u64_at(&b, 8), 0x1_0000_0007);
        assert_eq!(u32_at(&b, 16), 0o100755);
        assert_eq!(u32_at(&b, 20), 1);
        assert_eq!(u32_at(&b, 24), 1000);
        assert_eq!(u32_at(&b, 28), 100);
        assert_eq!(u64_at(&b, 32), 0x103);
        assert_eq!(u64_at(&b, 48), 1_264_004);
        assert_eq!(u32_at(&b, 56), 4096);
        assert_eq!(u64_at(&b, 64), 2472);
        assert_eq!(u64_at(&b, 72), 1_700_000_000);
        assert_eq!(u64_at(&b, 88), 1_700_000_000);
        assert_eq!(u64_at(&b, 104), 1_700_000_000);
        assert_eq!(u64_at(&b, 80), 0, "st_atime_nsec");
    }

    #[test]
    fn statx_offsets() {
        // linux/stat.h: stx_mask 0, stx_blksize 4, stx_nlink 16, stx_uid
        // 20, stx_gid 24, stx_mode 28 (u16), stx_ino 32, stx_size 40,
        // stx_blocks 48, stx_atime 64, stx_btime 80, stx_ctime 96,
        // stx_mtime 112, stx_rdev_major 128, stx_rdev_minor 132,
        // stx_dev_major 136, stx_dev_minor 140; sizeof 256.
        let b = statx(&Meta {
            rdev: (1, 5),
            mode: S_IFCHR | 0o666,
            ..sample()
        });
        assert_eq!(u32_at(&b, 0), 0x7ff);
        assert_eq!(u32_at(&b, 4), 4096);
        assert_eq!(u32_at(&b, 16), 1);
        assert_eq!(u32_at(&b, 20), 1000);
        assert_eq!(u32_at(&b, 24), 100);
        assert_eq!(u16::from_le_bytes([b[28], b[29]]), 0o20666);
        assert_eq!(u64_at(&b, 32), 0x1_0000_0007);
        assert_eq!(u64_at(&b, 40), 1_264_004);
        assert_eq!(u64_at(&b, 48), 2472);
        assert_eq!(u64_at(&b, 64), 1_700_000_000);
        assert_eq!(u64_at(&b, 80), 0, "no birth time");
        assert_eq!(u64_at(&b, 96), 1_700_000_000);
        assert_eq!(u64_at(&b, 112), 1_700_000_000);
        assert_eq!((u32_at(&b, 128), u32_at(&b, 132)), (1, 5));
        assert_eq!((u32_at(&b, 136), u32_at(&b, 140)), (0, 2));
    }
}
