//! A small newc cpio writer and reader for the boot-input tests, written
//! from the format description (Linux's
//! `Documentation/driver-api/early-userspace/buffer-format.rst`): a
//! 110-byte ASCII header ("070701" + thirteen 8-digit hex fields: ino,
//! mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor,
//! rdevminor, namesize, check), the NUL-terminated name, padding to 4, the
//! data, padding to 4; an entry named `TRAILER!!!` ends the archive.

pub const S_IFREG: u32 = 0o100_000;
pub const S_IFDIR: u32 = 0o040_000;
pub const S_IFLNK: u32 = 0o120_000;

#[derive(Default)]
pub struct Newc {
    pub bytes: Vec<u8>,
    ino: u32,
}

impl Newc {
    pub fn new() -> Self {
        Self::default()
    }

    /// One entry; `data` is the file contents or, for a symlink, the target.
    pub fn entry(&mut self, name: &str, mode: u32, data: &[u8]) -> &mut Self {
        self.ino += 1;
        let fields = [
            self.ino,
            mode,
            0,
            0,
            1,
            0,
            data.len() as u32,
            0,
            0,
            0,
            0,
            name.len() as u32 + 1,
            0,
        ];
        self.bytes.extend_from_slice(b"070701");
        for f in fields {
            self.bytes.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.bytes.extend_from_slice(name.as_bytes());
        self.bytes.push(0);
        self.pad();
        self.bytes.extend_from_slice(data);
        self.pad();
        self
    }

    pub fn file(&mut self, name: &str, perm: u32, data: &[u8]) -> &mut Self {
        self.entry(name, S_IFREG | perm, data)
    }

    pub fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.entry(name, S_IFLNK | 0o777, target.as_bytes())
    }

    /// The trailer; returns the finished archive.
    pub fn finish(&mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, b"");
        std::mem::take(&mut self.bytes)
    }

    fn pad(&mut self) {
        while !self.bytes.len().is_multiple_of(4) {
            self.bytes.push(0);
        }
    }
}

/// The data of the (last) entry named `name` ("bin/x", no leading "/") in
/// a well-formed newc archive, possibly several concatenated ones.
pub fn find<'a>(archive: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let hex = |b: &[u8]| u32::from_str_radix(std::str::from_utf8(b).ok()?, 16).ok();
    let mut pos = 0;
    let mut found = None;
    while pos + 110 <= archive.len() {
        if archive[pos] == 0 {
            pos += 4;
            continue;
        }
        let h = &archive[pos..pos + 110];
        assert!(h.starts_with(b"07070"), "not newc at {pos:#x}");
        let field = |i: usize| hex(&h[6 + 8 * i..14 + 8 * i]).unwrap() as usize;
        let (size, namesize) = (field(6), field(11));
        let n = &archive[pos + 110..pos + 110 + namesize - 1];
        let data_at = (pos + 110 + namesize + 3) & !3;
        let data = &archive[data_at..data_at + size];
        let n = n.strip_prefix(b"./").unwrap_or(n);
        if n == name.as_bytes() {
            found = Some(data);
        }
        pos = (data_at + size + 3) & !3;
    }
    found
}

/// gzip (RFC 1952) through the system's `gzip`, an implementation
/// independent of the kernel's inflater.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("gzip")
        .args(["-6", "-n", "-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run gzip");
    let mut stdin = child.stdin.take().unwrap();
    let input = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("gzip output");
    writer.join().unwrap().expect("write to gzip");
    assert!(out.status.success());
    out.stdout
}
