use super::*;
use miniz_oxide::deflate::compress_to_vec;
use std::vec::Vec;

/// Independent bitwise CRC-32 for cross-checking.
fn crc_bitwise(data: &[u8]) -> u32 {
    let mut c = 0xffff_ffffu32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            let mask = (c & 1).wrapping_neg();
            c = (c >> 1) ^ (0xedb8_8320 & mask);
        }
    }
    !c
}

/// Build a gzip member by hand (RFC 1952 section 2.3).
fn gzip_with(data: &[u8], flags: u8, name: &[u8], comment: &[u8], extra: &[u8]) -> Vec<u8> {
    let mut g = std::vec![0x1f, 0x8b, 8, flags, 0x78, 0x56, 0x34, 0x12, 0, 3];
    if flags & FEXTRA != 0 {
        g.extend_from_slice(&(extra.len() as u16).to_le_bytes());
        g.extend_from_slice(extra);
    }
    if flags & FNAME != 0 {
        g.extend_from_slice(name);
        g.push(0);
    }
    if flags & FCOMMENT != 0 {
        g.extend_from_slice(comment);
        g.push(0);
    }
    if flags & FHCRC != 0 {
        let c = crc_bitwise(&g) as u16;
        g.extend_from_slice(&c.to_le_bytes());
    }
    g.extend_from_slice(&compress_to_vec(data, 6));
    g.extend_from_slice(&crc_bitwise(data).to_le_bytes());
    g.extend_from_slice(&(data.len() as u32).to_le_bytes());
    g
}

fn gzip(data: &[u8]) -> Vec<u8> {
    gzip_with(data, 0, b"", b"", b"")
}

fn payload() -> Vec<u8> {
    (0..20_000u32)
        .flat_map(|i| (i % 251).to_le_bytes())
        .collect()
}

#[test]
fn crc32_known_values() {
    assert_eq!(crc32(b""), 0);
    assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    assert_eq!(
        crc32(b"The quick brown fox jumps over the lazy dog"),
        0x414f_a339
    );
    let p = payload();
    assert_eq!(crc32(&p), crc_bitwise(&p));
    assert_eq!(crc32_update(crc32(&p[..1000]), &p[1000..]), crc32(&p));
}

#[test]
fn round_trip_plain_and_all_flags() {
    let p = payload();
    assert_eq!(decompress(&gzip(&p), 1 << 20).unwrap(), p);
    let all = FTEXT | FHCRC | FEXTRA | FNAME | FCOMMENT;
    let g = gzip_with(&p, all, b"initramfs.cpio", b"a comment", b"AB\x02\x00xy");
    let h = parse_header(&g).unwrap();
    assert_eq!(h.name, Some(&b"initramfs.cpio"[..]));
    assert_eq!(h.comment, Some(&b"a comment"[..]));
    assert_eq!(h.extra, Some(&b"AB\x02\x00xy"[..]));
    assert_eq!(h.mtime, 0x1234_5678);
    assert_eq!(h.os, 3);
    assert_eq!(decompress(&g, 1 << 20).unwrap(), p);
    // Empty payload.
    assert_eq!(decompress(&gzip(b""), 0).unwrap(), b"");
    // Member length is reported exactly.
    let g = gzip(b"hello");
    assert_eq!(
        decompress_member(&g, 100).unwrap(),
        (b"hello".to_vec(), g.len())
    );
}

#[test]
fn concatenated_members_and_padding() {
    let mut g = gzip(b"first ");
    g.extend_from_slice(&[0; 5]);
    g.extend_from_slice(&gzip(b"second"));
    g.extend_from_slice(&[0; 512]);
    assert_eq!(decompress(&g, 100).unwrap(), b"first second");
    g.extend_from_slice(b"junk");
    assert!(matches!(
        decompress(&g, 100),
        Err(GzipError::TrailingGarbage { .. })
    ));
}

#[test]
fn header_errors() {
    let g = gzip(b"abc");
    let mut b = g.clone();
    b[1] = 0x8c;
    assert_eq!(decompress(&b, 100), Err(GzipError::BadMagic));
    let mut b = g.clone();
    b[2] = 7;
    assert_eq!(decompress(&b, 100), Err(GzipError::UnsupportedMethod(7)));
    let mut b = g.clone();
    b[3] = 0x20;
    assert_eq!(decompress(&b, 100), Err(GzipError::ReservedFlags(0x20)));
    let mut b = gzip_with(b"abc", FHCRC | FNAME, b"n", b"", b"");
    b[10] = b'm'; // change the name, keep the stored CRC16
    assert!(matches!(
        decompress(&b, 100),
        Err(GzipError::HeaderCrcMismatch { .. })
    ));
    // FNAME without NUL.
    let b = [0x1f, 0x8b, 8, FNAME, 0, 0, 0, 0, 0, 3, b'a', b'b'];
    assert_eq!(decompress(&b, 100), Err(GzipError::TruncatedHeader));
    // FEXTRA longer than the input.
    let b = [0x1f, 0x8b, 8, FEXTRA, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 1];
    assert_eq!(decompress(&b, 100), Err(GzipError::TruncatedHeader));
}

#[test]
fn corrupt_crc_size_and_body() {
    let p = payload();
    let g = gzip(&p);
    let n = g.len();
    let mut b = g.clone();
    b[n - 8] ^= 1;
    assert!(matches!(
        decompress(&b, 1 << 20),
        Err(GzipError::CrcMismatch { .. })
    ));
    let mut b = g.clone();
    b[n - 1] ^= 1;
    assert!(matches!(
        decompress(&b, 1 << 20),
        Err(GzipError::SizeMismatch { .. })
    ));
    // Garbage deflate: a block type of 3 is invalid.
    let mut b = std::vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    b.extend_from_slice(&[0x07, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(decompress(&b, 100), Err(GzipError::Corrupt));
    // A flipped byte in the body is always an error, never a panic.
    for i in 10..n - 8 {
        let mut b = g.clone();
        b[i] ^= 0x55;
        assert!(decompress(&b, 1 << 20).is_err(), "flip at {i} accepted");
    }
}

#[test]
fn every_truncation_is_an_error() {
    let g = gzip_with(
        &payload()[..3000],
        FHCRC | FNAME | FEXTRA | FCOMMENT,
        b"x",
        b"c",
        b"e",
    );
    for len in 0..g.len() {
        assert!(
            decompress(&g[..len], 1 << 20).is_err(),
            "len {len} accepted"
        );
    }
    assert!(decompress(&g, 1 << 20).is_ok());
}

#[test]
fn gzip_bomb_hits_the_limit() {
    let zeros = std::vec![0u8; 4 << 20];
    let g = gzip(&zeros);
    assert!(g.len() < 10_000);
    assert_eq!(
        decompress(&g, 1 << 20),
        Err(GzipError::TooLarge { limit: 1 << 20 })
    );
    assert_eq!(
        decompress(&g, (4 << 20) - 1),
        Err(GzipError::TooLarge {
            limit: (4 << 20) - 1
        })
    );
    assert_eq!(decompress(&g, 4 << 20).unwrap().len(), 4 << 20);
    // The limit applies to the total over several members.
    let mut two = gzip(&zeros[..1000]);
    two.extend_from_slice(&gzip(&zeros[..1000]));
    assert!(decompress(&two, 1999).is_err());
    assert_eq!(decompress(&two, 2000).unwrap().len(), 2000);
}
