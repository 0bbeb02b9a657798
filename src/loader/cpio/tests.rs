use super::testutil::push_entry;
use super::*;
use std::format;
use std::vec::Vec;

fn file(out: &mut Vec<u8>, name: &str, data: &[u8]) {
    push_entry(
        out,
        "070701",
        name,
        0o100755,
        100 + out.len() as u32,
        1,
        data,
    );
}

fn trailer(out: &mut Vec<u8>) {
    push_entry(out, "070701", "TRAILER!!!", 0, 0, 1, b"");
}

fn sample() -> Vec<u8> {
    let mut a = Vec::new();
    push_entry(&mut a, "070701", ".", 0o040755, 1, 2, b"");
    push_entry(&mut a, "070701", "bin", 0o040755, 2, 2, b"");
    file(&mut a, "init", b"#!/bin/sh\necho hi\n");
    file(&mut a, "bin/a", b"x");
    push_entry(&mut a, "070701", "bin/sh", 0o120777, 9, 1, b"busybox");
    file(&mut a, "empty", b"");
    trailer(&mut a);
    a
}

#[test]
fn parses_entries_and_lookup() {
    let a = sample();
    let ar = Archive::new(&a).unwrap();
    let names: Vec<&[u8]> = ar.entries().map(|e| e.unwrap().name).collect();
    assert_eq!(
        names,
        [&b""[..], b"bin", b"init", b"bin/a", b"bin/sh", b"empty"]
    );
    for p in ["/init", "init", "./init", "//init"] {
        let e = ar.find(p).unwrap();
        assert_eq!(e.data, b"#!/bin/sh\necho hi\n");
        assert!(e.is_file() && !e.is_dir() && !e.is_symlink());
        assert_eq!(e.perm(), 0o755);
        assert_eq!(e.filesize, 18);
        assert_eq!(e.mtime, 0x5f00_0000);
    }
    assert!(ar.find("/bin").unwrap().is_dir());
    assert!(ar.find("bin/").unwrap().is_dir());
    let sh = ar.find_nofollow("/bin/sh").unwrap();
    assert!(sh.is_symlink());
    assert_eq!(sh.data, b"busybox");
    // Followed, the link points nowhere (bin/busybox is not there).
    assert_eq!(ar.lookup("/bin/sh"), Err(LookupError::NotFound));
    assert_eq!(ar.find("empty").unwrap().data, b"");
    assert!(ar.find("/nope").is_none());
    assert!(ar.find("TRAILER!!!").is_none());
    assert_eq!(archive_len(&a).unwrap(), a.len());
}

#[test]
fn symlinks_are_followed_like_linux() {
    let link = |out: &mut Vec<u8>, name: &str, target: &str| {
        push_entry(out, "070701", name, 0o120777, 500, 1, target.as_bytes())
    };
    let mut a = Vec::new();
    push_entry(&mut a, "070701", "usr", 0o040755, 2, 2, b"");
    push_entry(&mut a, "070701", "usr/bin", 0o040755, 3, 2, b"");
    file(&mut a, "usr/bin/tool", b"TOOL");
    link(&mut a, "bin", "usr/bin"); // relative, a directory
    link(&mut a, "usr/bin/up", "../bin/tool"); // "..": usr/bin/tool
    link(&mut a, "abs", "/usr/bin/tool");
    link(&mut a, "dot", "./abs");
    link(&mut a, "self", "self");
    link(&mut a, "empty", "");
    file(&mut a, "plain", b"P");
    // A chain of exactly 40 links (Linux's MAXSYMLINKS) resolves; 41
    // do not (ELOOP).
    for i in 0..41 {
        link(&mut a, &format!("c{i}"), &format!("c{}", i + 1));
    }
    file(&mut a, "c41", b"END");
    trailer(&mut a);
    let ar = Archive::new(&a).unwrap();
    let data = |p: &str| ar.lookup(p).map(|e| e.data);
    assert_eq!(data("/bin/tool"), Ok(&b"TOOL"[..]));
    assert_eq!(data("bin/up"), Ok(&b"TOOL"[..]));
    assert_eq!(data("/usr/bin/up"), Ok(&b"TOOL"[..]));
    assert_eq!(data("/abs"), Ok(&b"TOOL"[..]));
    assert_eq!(data("/dot"), Ok(&b"TOOL"[..]));
    assert_eq!(data("/usr/../abs"), Ok(&b"TOOL"[..]));
    assert!(ar.lookup("/bin").unwrap().is_dir());
    assert!(ar.lookup("/bin/").unwrap().is_dir());
    assert_eq!(ar.lookup("/self"), Err(LookupError::Loop));
    assert_eq!(ar.lookup("/self/x"), Err(LookupError::Loop));
    assert_eq!(ar.lookup("/empty"), Err(LookupError::NotFound));
    assert_eq!(ar.lookup("/plain/x"), Err(LookupError::NotDir));
    assert_eq!(ar.lookup("/plain/"), Err(LookupError::NotDir));
    assert!(ar.lookup("/usr/bin/").unwrap().is_dir());
    assert_eq!(ar.lookup("/nope"), Err(LookupError::NotFound));
    assert_eq!(data("/c1"), Ok(&b"END"[..])); // 40 links
    assert_eq!(ar.lookup("/c0"), Err(LookupError::Loop)); // 41 links
    assert!(ar.find_nofollow("/c0").unwrap().is_symlink());
    let long = "a/".repeat(PATH_MAX / 2);
    assert_eq!(ar.lookup(&long), Err(LookupError::NameTooLong));
}

#[test]
fn normalize_paths() {
    assert_eq!(normalize(b"/init"), b"init");
    assert_eq!(normalize(b"./init"), b"init");
    assert_eq!(normalize(b"././/a/b/"), b"a/b");
    assert_eq!(normalize(b"."), b"");
    assert_eq!(normalize(b"/"), b"");
    assert_eq!(normalize(b".hidden"), b".hidden");
    assert_eq!(normalize(b"../x"), b"../x");
}

#[test]
fn crc_variant_and_uppercase_hex() {
    let mut a = Vec::new();
    push_entry(&mut a, "070702", "x", 0o100644, 1, 1, b"abc");
    trailer(&mut a);
    // Upper-case hex digits are valid too.
    let s = std::string::String::from_utf8(a[..110].to_vec()).unwrap();
    a[..110].copy_from_slice(s.to_uppercase().as_bytes());
    let ar = Archive::new(&a).unwrap();
    assert_eq!(ar.find("x").unwrap().data, b"abc");
}

#[test]
fn concatenated_archives_with_padding() {
    let mut a = Vec::new();
    file(&mut a, "init", b"old");
    file(&mut a, "one", b"1");
    trailer(&mut a);
    a.resize(512, 0); // block padding, as cpio(1) writes
    file(&mut a, "init", b"new!");
    file(&mut a, "two", b"22");
    trailer(&mut a);
    a.extend_from_slice(&[0; 7]);
    let ar = Archive::new(&a).unwrap();
    assert_eq!(ar.entries().count(), 4);
    assert_eq!(ar.find("init").unwrap().data, b"new!"); // last wins
    assert_eq!(ar.find("one").unwrap().data, b"1");
    assert_eq!(ar.find("two").unwrap().data, b"22");
    // Directly adjacent archives (no padding) work too.
    let mut b = Vec::new();
    file(&mut b, "p", b"P");
    trailer(&mut b);
    file(&mut b, "q", b"Q");
    trailer(&mut b);
    let ar = Archive::new(&b).unwrap();
    assert_eq!(ar.find("q").unwrap().data, b"Q");
}

#[test]
fn hardlink_data_is_shared() {
    let mut a = Vec::new();
    push_entry(&mut a, "070701", "a", 0o100644, 77, 2, b"");
    push_entry(&mut a, "070701", "b", 0o100644, 77, 2, b"shared");
    trailer(&mut a);
    let ar = Archive::new(&a).unwrap();
    assert_eq!(ar.find("a").unwrap().data, b"shared");
    assert_eq!(ar.find("b").unwrap().data, b"shared");
}

#[test]
fn empty_buffer_is_empty_archive() {
    let ar = Archive::new(&[]).unwrap();
    assert_eq!(ar.entries().count(), 0);
    assert!(ar.find("init").is_none());
    assert_eq!(archive_len(&[]), Err(CpioError::MissingTrailer));
}

#[test]
fn malformed_inputs() {
    let good = sample();
    // Bad magic (old binary / odc formats).
    let mut b = good.clone();
    b[..6].copy_from_slice(b"070707");
    assert_eq!(
        Archive::new(&b).unwrap_err(),
        CpioError::BadMagic { offset: 0 }
    );
    // Non-hex digit in the filesize field.
    let mut b = good.clone();
    b[6 + 8 * 6 + 3] = b'g';
    assert_eq!(
        Archive::new(&b).unwrap_err(),
        CpioError::BadHexField {
            offset: 0,
            field: "filesize"
        }
    );
    // '+' / ' ' / '-' are not hex either.
    for c in [b'+', b' ', b'-', b'x'] {
        let mut b = good.clone();
        b[6] = c;
        assert!(matches!(
            Archive::new(&b),
            Err(CpioError::BadHexField { field: "ino", .. })
        ));
    }
    // Name without NUL.
    let mut b = Vec::new();
    file(&mut b, "abcd", b"");
    b[110 + 4] = b'e';
    trailer(&mut b);
    assert_eq!(
        Archive::new(&b).unwrap_err(),
        CpioError::NameNotTerminated { offset: 0 }
    );
    // Interior NUL.
    let mut b = Vec::new();
    file(&mut b, "ab", b"");
    b[111] = 0;
    trailer(&mut b);
    assert_eq!(
        Archive::new(&b).unwrap_err(),
        CpioError::NameNotTerminated { offset: 0 }
    );
    // namesize 0.
    let mut b = good.clone();
    b[6 + 8 * 11..6 + 8 * 12].copy_from_slice(b"00000000");
    assert_eq!(
        Archive::new(&b).unwrap_err(),
        CpioError::EmptyName { offset: 0 }
    );
    // Huge namesize / filesize: no overflow, no out-of-bounds.
    for field in [6usize, 11] {
        let mut b = good.clone();
        b[6 + 8 * field..6 + 8 * (field + 1)].copy_from_slice(b"FFFFFFFF");
        let e = Archive::new(&b).unwrap_err();
        assert!(
            matches!(
                e,
                CpioError::TruncatedName { .. }
                    | CpioError::TruncatedData { .. }
                    | CpioError::Overflow { .. }
            ),
            "{e:?}"
        );
    }
    // Size beyond the buffer.
    let mut b = Vec::new();
    file(&mut b, "f", b"abcd");
    b[6 + 8 * 6..6 + 8 * 7].copy_from_slice(b"00001000");
    assert_eq!(
        Archive::new(&b).unwrap_err(),
        CpioError::TruncatedData {
            offset: 0,
            size: 0x1000
        }
    );
    // Missing trailer.
    let mut b = Vec::new();
    file(&mut b, "f", b"abcd");
    assert_eq!(Archive::new(&b).unwrap_err(), CpioError::MissingTrailer);
    // Junk after the trailer, and a misaligned second archive.
    let mut b = good.clone();
    b.extend_from_slice(b"\0\0\0\0junk");
    assert_eq!(
        Archive::new(&b).unwrap_err(),
        CpioError::JunkAfterTrailer {
            offset: good.len() + 4
        }
    );
    let mut b = good.clone();
    b.push(0);
    file(&mut b, "x", b"");
    assert!(matches!(
        Archive::new(&b),
        Err(CpioError::JunkAfterTrailer { .. })
    ));
    // Errors carry a message.
    assert!(format!("{}", CpioError::MissingTrailer).contains("TRAILER"));
    // find() on an unvalidated broken archive returns None, no panic.
    let broken = Archive { bytes: &b };
    assert!(broken.find("zzz").is_none());
}

#[test]
fn every_truncation_is_an_error() {
    let mut a = sample();
    // Two archives to also cover the concatenation path.
    let second = {
        let mut s = Vec::new();
        file(&mut s, "later", b"0123456789");
        trailer(&mut s);
        s
    };
    a.extend_from_slice(&second);
    let first_len = archive_len(&a).unwrap();
    for len in 1..a.len() {
        let r = Archive::new(&a[..len]);
        if len == first_len {
            // Exactly one complete archive: valid.
            assert!(r.is_ok());
        } else {
            assert!(r.is_err(), "len {len} accepted");
        }
        let _ = archive_len(&a[..len]);
    }
    assert!(Archive::new(&a).is_ok());
}

#[test]
fn byte_flips_never_panic() {
    let a = sample();
    for i in 0..a.len() {
        for v in [0u8, b'0', b'f', 0xff, b'7'] {
            let mut b = a.clone();
            b[i] = v;
            if let Ok(ar) = Archive::new(&b) {
                let _ = ar.find("init");
                let _ = ar.entries().count();
            }
            let _ = archive_len(&b);
        }
    }
}
