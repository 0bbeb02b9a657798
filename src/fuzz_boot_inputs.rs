//! Deterministic mutation fuzzing of the parsers that take bootloader input
//! (stable Rust has no `cargo fuzz`): ELF (`loader::elf::plan`), cpio
//! (`loader::cpio`, the symlink-following lookup, `loader::find_file`), the
//! gzip wrapper and the initramfs unpacker, and the device tree
//! (`bootinfo::parse_dtb`, `dtb::Fdt`).
//!
//! Each target starts from valid inputs built here from the format
//! specifications and applies seeded mutations: bit flips, interesting
//! byte values, truncations, corrupted length fields (binary little- and
//! big-endian words, and cpio's ASCII hex), splices of two valid inputs,
//! insertions and deletions. The checks: nothing panics, and whatever is
//! accepted is consistent (sizes within the buffer, segments inside the
//! user range, no W+X, ...). Errors must be error values.
//!
//! The default run is short (a few seconds for all targets inside
//! `cargo test --lib`). A longer campaign:
//!
//! ```sh
//! ARMMU_FUZZ_ITERS=1000000 ARMMU_FUZZ_SEED=12345 cargo test --release --lib fuzz_boot_inputs -- --nocapture
//! ```
//!
//! `ARMMU_FUZZ_ITERS` is the number of mutated inputs per target,
//! `ARMMU_FUZZ_SEED` the starting seed (printed by every target, so a
//! failure can be replayed with the same seed).

use std::format;
use std::string::String;
use std::vec;
use std::vec::Vec;

use crate::bootinfo::{self, DTB_MAX};
use crate::dtb::Fdt;
use crate::loader::{self, cpio, elf, gzip};

fn iterations(default: usize) -> usize {
    std::env::var("ARMMU_FUZZ_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn seed(target: &str) -> u64 {
    let base = std::env::var("ARMMU_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_0000_0000_0001u64);
    // A different stream per target, reproducible from the base seed.
    let mut h = base;
    for b in target.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    std::println!("fuzz {target}: seed {base} (ARMMU_FUZZ_SEED), stream {h:#x}");
    h | 1
}

/// xorshift64*.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const INTERESTING_U32: [u32; 10] = [
    0,
    1,
    3,
    0x7f,
    0x1000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_fffe,
    0xffff_ffff,
    0xd00d_feed,
];

/// One mutated copy of `base`; `corpus` supplies splice partners.
fn mutate(rng: &mut Rng, base: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut v = base.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = v.len();
        match rng.below(9) {
            0 if len > 0 => {
                let i = rng.below(len);
                v[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                v[i] = [0, 1, 0x7f, 0x80, 0xff, b'0', b'f', b'/', b'.'][rng.below(9)];
            }
            2 => v.truncate(rng.below(len + 1)),
            3 if len >= 4 => {
                // A binary length/offset field: an aligned word.
                let i = rng.below(len / 4) * 4;
                let mut w = INTERESTING_U32[rng.below(INTERESTING_U32.len())];
                if rng.below(4) == 0 {
                    w = (len as u32)
                        .wrapping_add(rng.below(9) as u32)
                        .wrapping_sub(4);
                }
                let bytes = if rng.below(2) == 0 {
                    w.to_le_bytes()
                } else {
                    w.to_be_bytes()
                };
                v[i..i + 4].copy_from_slice(&bytes);
            }
            4 if len >= 8 => {
                // An ASCII hex field (cpio): 8 digits anywhere.
                let i = rng.below(len - 7);
                let w = INTERESTING_U32[rng.below(INTERESTING_U32.len())];
                v[i..i + 8].copy_from_slice(format!("{w:08X}").as_bytes());
            }
            5 if !corpus.is_empty() => {
                let other = &corpus[rng.below(corpus.len())];
                let cut = rng.below(len + 1);
                let from = rng.below(other.len() + 1);
                v.truncate(cut);
                v.extend_from_slice(&other[from..]);
            }
            6 => {
                let at = rng.below(len + 1);
                let n = 1 + rng.below(16);
                let ins: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                v.splice(at..at, ins);
            }
            7 if len > 0 => {
                let at = rng.below(len);
                let n = 1 + rng.below((len - at).min(64));
                v.drain(at..at + n);
            }
            8 if len > 0 => {
                // Duplicate a chunk (repeated headers, members, nodes).
                let at = rng.below(len);
                let n = 1 + rng.below((len - at).min(256));
                let chunk = v[at..at + n].to_vec();
                let to = rng.below(len + 1);
                v.splice(to..to, chunk);
            }
            _ => {}
        }
    }
    v
}

// ---- valid inputs, from the format descriptions ------------------------

use crate::loader::cpio::testutil::newc;

fn gz(data: &[u8], flags: u8) -> Vec<u8> {
    let mut g = vec![0x1f, 0x8b, 8, flags, 0, 0, 0, 0, 0, 3];
    if flags & gzip::FEXTRA != 0 {
        g.extend_from_slice(&[4, 0, b'a', b'b', 0, 0]);
    }
    if flags & gzip::FNAME != 0 {
        g.extend_from_slice(b"initramfs.cpio\0");
    }
    if flags & gzip::FCOMMENT != 0 {
        g.extend_from_slice(b"comment\0");
    }
    if flags & gzip::FHCRC != 0 {
        let c = gzip::crc32(&g) as u16;
        g.extend_from_slice(&c.to_le_bytes());
    }
    g.extend_from_slice(&miniz_oxide::deflate::compress_to_vec(data, 6));
    g.extend_from_slice(&gzip::crc32(data).to_le_bytes());
    g.extend_from_slice(&(data.len() as u32).to_le_bytes());
    g
}

fn sample_cpio() -> Vec<u8> {
    newc(&[
        (".", 0o040755, b""),
        ("bin", 0o040755, b""),
        ("bin/prog", 0o100755, b"\x7fELF program"),
        ("bin/sh", 0o120777, b"prog"),
        ("init", 0o120777, b"/bin/sh"),
        ("etc/motd", 0o100644, b"hello\n"),
        ("loop", 0o120777, b"loop"),
        ("up", 0o120777, b"../bin/../bin/prog"),
    ])
}

/// A static executable: ELF header, PT_LOAD text (R+X), PT_LOAD data with
/// .bss (R+W), PT_GNU_STACK (System V gABI; ARM/AArch64 psABI).
fn elf_exec(class64: bool) -> Vec<u8> {
    let (machine, ehsize, phentsize): (u16, u16, u16) =
        if class64 { (183, 64, 56) } else { (40, 52, 32) };
    let phnum = 3u16;
    let text = (0u64, 0x10000u64, 0x300u64, 0x300u64, 5u32);
    let data = (0x1000u64, 0x21000u64, 0x80u64, 0x3000u64, 6u32);
    let stack = (0u64, 0u64, 0u64, 0u64, 6u32);
    let mut b = vec![0x7f, b'E', b'L', b'F', if class64 { 2 } else { 1 }, 1, 1];
    b.resize(16, 0);
    let w16 = |b: &mut Vec<u8>, v: u16| b.extend_from_slice(&v.to_le_bytes());
    let w32 = |b: &mut Vec<u8>, v: u32| b.extend_from_slice(&v.to_le_bytes());
    let w64 = |b: &mut Vec<u8>, v: u64| b.extend_from_slice(&v.to_le_bytes());
    w16(&mut b, 2); // ET_EXEC
    w16(&mut b, machine);
    w32(&mut b, 1);
    if class64 {
        w64(&mut b, 0x10080);
        w64(&mut b, 64);
        w64(&mut b, 0);
        w32(&mut b, 0);
    } else {
        w32(&mut b, 0x10080);
        w32(&mut b, 52);
        w32(&mut b, 0);
        w32(&mut b, 0x0500_0000); // EF_ARM_ABI_VER5
    }
    w16(&mut b, ehsize);
    w16(&mut b, phentsize);
    w16(&mut b, phnum);
    w16(&mut b, if class64 { 64 } else { 40 });
    w16(&mut b, 0);
    w16(&mut b, 0);
    for (i, &(off, va, filesz, memsz, flags)) in [text, data, stack].iter().enumerate() {
        let ptype: u32 = if i == 2 { 0x6474_e551 } else { 1 };
        let align = if i == 2 { 16 } else { 0x1000 };
        if class64 {
            w32(&mut b, ptype);
            w32(&mut b, flags);
            for v in [off, va, va, filesz, memsz, align] {
                w64(&mut b, v);
            }
        } else {
            w32(&mut b, ptype);
            for v in [off, va, va, filesz, memsz] {
                w32(&mut b, v as u32);
            }
            w32(&mut b, flags);
            w32(&mut b, align as u32);
        }
    }
    b.resize(0x1080, 0xe1);
    b
}

// ---- targets ------------------------------------------------------------

#[test]
fn fuzz_elf() {
    let user_limit = 0x7f00_0000u64;
    let mut rng = Rng(seed("elf"));
    for class64 in [false, true] {
        let machine = if class64 {
            elf::Machine::AArch64
        } else {
            elf::Machine::Arm
        };
        let base = elf_exec(class64);
        let p = elf::plan(&base, machine, user_limit, 4096, 0x10000);
        assert!(p.is_ok(), "the valid sample must load: {p:?}");
        let corpus = vec![base.clone(), elf_exec(!class64)];
        for _ in 0..iterations(4000) {
            let input = mutate(&mut rng, &base, &corpus);
            let Ok(plan) = elf::plan(&input, machine, user_limit, 4096, 0x10000) else {
                continue;
            };
            for s in &plan.segments {
                let end = s.vaddr.checked_add(s.memsz).expect("segment end overflows");
                assert!(end <= user_limit, "segment above the user range: {s:?}");
                assert!(s.filesz <= s.memsz, "{s:?}");
                let fend = s.file_offset.checked_add(s.filesz).expect("file end");
                assert!(
                    fend <= input.len() as u64,
                    "segment data past the file: {s:?}"
                );
                assert!(!(s.perms.write && s.perms.exec), "W+X accepted: {s:?}");
            }
        }
    }
}

/// Walk an accepted archive the way the kernel does.
fn exercise_archive(bytes: &[u8]) {
    let Ok(ar) = cpio::Archive::new(bytes) else {
        return;
    };
    let names: Vec<String> = ar
        .entries()
        .map(|e| String::from_utf8_lossy(e.expect("validated").name).into_owned())
        .take(32)
        .collect();
    for n in names
        .iter()
        .map(String::as_str)
        .chain(["/init", "/bin/sh", "/up", "/loop"])
    {
        if let Ok(e) = ar.lookup(n) {
            assert!(!e.is_symlink(), "lookup returned a symlink for {n}");
        }
        let _ = ar.find_nofollow(n);
        if let Ok(data) = loader::find_file(&ar, n) {
            // Inside the archive buffer.
            let (lo, hi) = (
                bytes.as_ptr() as usize,
                bytes.as_ptr() as usize + bytes.len(),
            );
            let p = data.as_ptr() as usize;
            assert!(p >= lo && p + data.len() <= hi);
        }
    }
}

#[test]
fn fuzz_cpio() {
    let mut rng = Rng(seed("cpio"));
    let base = sample_cpio();
    let mut two = base.clone();
    two.extend_from_slice(&[0; 12]);
    two.extend_from_slice(&newc(&[("late", 0o100755, b"x")]));
    let corpus = vec![base.clone(), two.clone()];
    exercise_archive(&base);
    for _ in 0..iterations(4000) {
        let pick = rng.below(2);
        let input = mutate(&mut rng, &corpus[pick], &corpus);
        exercise_archive(&input);
        let _ = cpio::archive_len(&input);
    }
}

#[test]
fn fuzz_gzip_and_initramfs() {
    let mut rng = Rng(seed("gzip"));
    let cp = sample_cpio();
    let payload: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut multi = gz(&cp, 0);
    multi.extend_from_slice(&[0; 5]);
    multi.extend_from_slice(&gz(&payload, gzip::FNAME));
    let mut mixed = gz(&cp, gzip::FHCRC | gzip::FEXTRA | gzip::FCOMMENT);
    mixed.extend_from_slice(&[0; 3]);
    mixed.extend_from_slice(&cp);
    let corpus = vec![gz(&cp, 0), gz(&payload, 0x1f), multi, mixed];
    let mut out = vec![0u8; 64 << 10];
    for _ in 0..iterations(3000) {
        let pick = rng.below(corpus.len());
        let input = mutate(&mut rng, &corpus[pick], &corpus);
        let limit = [0, 100, 4096, out.len()][rng.below(4)];
        let buf = &mut out[..limit];
        if let Ok(n) = gzip::decompress_into(&input, buf) {
            assert!(n <= limit);
        }
        if let Ok((n, used)) = gzip::decompress_member_into(&input, buf) {
            assert!(n <= limit && used <= input.len());
        }
        match loader::unpack_initramfs_into(&input, buf) {
            Ok(n) => {
                assert!(n <= limit && n % 4 == 0);
                exercise_archive(&out[..n]);
            }
            Err(loader::LoadError::InitramfsTooLarge { limit: l }) => assert_eq!(l, limit),
            Err(_) => {}
        }
    }
}

#[test]
fn fuzz_device_tree() {
    let mut rng = Rng(seed("dtb"));
    let base = include_bytes!("../tests/data/qemu-virt-a15.dtb").to_vec();
    assert!(bootinfo::parse_dtb(&base).is_ok());
    let corpus = vec![base.clone()];
    for i in 0..iterations(3000) {
        let mut input = mutate(&mut rng, &base, &corpus);
        // Half the time, keep the header valid so the mutations reach the
        // structure and strings blocks.
        if i % 2 == 0 && input.len() >= 40 {
            input[..40].copy_from_slice(&base[..40]);
            let total = (input.len() as u32).to_be_bytes();
            input[4..8].copy_from_slice(&total);
        }
        match bootinfo::parse_dtb(&input) {
            Ok(info) => {
                assert!(info.from_dtb);
                assert!(info.dtb_size <= DTB_MAX && info.dtb_size <= input.len());
                assert!(info.cmdline_len <= bootinfo::CMDLINE_MAX);
                assert!(info.reserved_count <= info.reserved.len());
            }
            Err(e) => {
                let _ = format!("{e}");
            }
        }
        let info = bootinfo::BootInfo::from_dtb(&input);
        let _ = (info.model(), info.cmdline());
        if let Some(f) = Fdt::new(&input) {
            let _ = f.walk(|n| {
                let _ = (n.reg0(), n.prop_str("compatible"), n.props().count());
                true
            });
            let _ = f.find_path("/chosen");
            let _ = f.find_path("/pl011@9000000/x//");
            let _ = f.reservations().take(100).count();
        }
    }
    // Random headers straight into the header check.
    for _ in 0..iterations(3000) {
        let mut h = [0u8; 40];
        h.iter_mut().for_each(|b| *b = rng.next() as u8);
        h[..4].copy_from_slice(&0xd00d_feedu32.to_be_bytes());
        if let Ok(total) = bootinfo::check_dtb_header(&h) {
            assert!((40..=DTB_MAX).contains(&total));
        }
    }
}
