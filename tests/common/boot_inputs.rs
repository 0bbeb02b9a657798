//! Boot inputs from the bootloader, shared by both architectures: a large
//! gzip initramfs, a gzip bomb, a device tree larger than 64 KiB (and one
//! over the documented 2 MiB limit), broken cpio archives, `/init` as a
//! symlink, a non-executable `/init`. Every input is generated here, at
//! test time, from the format specifications (newc, RFC 1951/1952, the
//! devicetree specification); expectations come from those and from Linux.

use super::cpio::{self, Newc};
use super::*;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// A scratch directory per architecture (the out/ directory's name).
fn scratch() -> PathBuf {
    let board = out_dir()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("boot_inputs-{board}"));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(name: &str, bytes: &[u8]) -> String {
    let p = scratch().join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_string_lossy().into_owned()
}

/// The normal programs' archive (uncompressed), as `./qemu-run.sh build`
/// made it.
fn programs() -> Vec<u8> {
    std::fs::read(out_dir().join("initramfs.cpio")).expect("out/initramfs.cpio")
}

fn qemu_bin() -> String {
    std::env::var("ARMMU_QEMU").unwrap_or_else(|_| "qemu-system-arm".into())
}

fn machine() -> String {
    std::env::var("ARMMU_MACHINE").unwrap_or_else(|_| "virt".into())
}

fn mem() -> String {
    std::env::var("ARMMU_MEM").unwrap_or_else(|_| "512M".into())
}

/// Boot with extra QEMU arguments (`-dtb`), like [`boot`] otherwise.
fn boot_args(cpu: &str, args: &[OsString], secs: u64) -> Boot {
    use std::io::Read;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let mut cmd = Command::new(qemu_bin());
    cmd.args(["-M", &machine(), "-cpu", cpu, "-m", &mem()])
        .args(["-nographic", "-nic", "none", "-monitor", "none"])
        .args(["-semihosting-config", "enable=on,target=native"])
        .arg("-kernel")
        .arg(out_dir().join("Image"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start qemu");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stdout.read_to_end(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st.code();
        }
        if start.elapsed() > Duration::from_secs(secs) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let log = String::from_utf8_lossy(&reader.join().unwrap()).replace('\r', "");
    Boot { status, log }
}

/// No kernel panic and no hang: the kernel said it shut down.
#[track_caller]
fn expect_clean_shutdown(b: &Boot) {
    assert!(!b.has("panic"), "panic in the log\n{}", b.log);
    b.expect("armmu: shutting down, status");
}

fn free_at_boot(b: &Boot) -> u64 {
    // "frames: N free of T (4 KiB)"
    let l = b.line(" free of ");
    l.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn free_before_init(b: &Boot) -> u64 {
    // "frames: N free before /path"
    let l = b.line(" free before ");
    l.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// xorshift64: incompressible-ish bytes, deterministic.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        v.extend_from_slice(&seed.to_le_bytes());
    }
    v.truncate(len);
    v
}

// ---- CRC-32 (ISO 3309, as RFC 1952 uses it), with zlib's combine -------

fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 { (c >> 1) ^ 0xedb8_8320 } else { c >> 1 };
        }
    }
    !c
}

fn gf2_times(mat: &[u32; 32], mut vec: u32) -> u32 {
    let mut sum = 0;
    let mut i = 0;
    while vec != 0 {
        if vec & 1 != 0 {
            sum ^= mat[i];
        }
        vec >>= 1;
        i += 1;
    }
    sum
}

fn gf2_square(sq: &mut [u32; 32], mat: &[u32; 32]) {
    for n in 0..32 {
        sq[n] = gf2_times(mat, mat[n]);
    }
}

/// CRC of A||B from crc(A), crc(B) and len(B) (zlib's crc32_combine).
fn crc32_combine(mut crc1: u32, crc2: u32, mut len2: u64) -> u32 {
    if len2 == 0 {
        return crc1;
    }
    let mut odd = [0u32; 32];
    let mut even = [0u32; 32];
    odd[0] = 0xedb8_8320;
    let mut row = 1;
    for o in odd.iter_mut().skip(1) {
        *o = row;
        row <<= 1;
    }
    gf2_square(&mut even, &odd);
    gf2_square(&mut odd, &even);
    loop {
        gf2_square(&mut even, &odd);
        if len2 & 1 != 0 {
            crc1 = gf2_times(&even, crc1);
        }
        len2 >>= 1;
        if len2 == 0 {
            break;
        }
        gf2_square(&mut odd, &even);
        if len2 & 1 != 0 {
            crc1 = gf2_times(&odd, crc1);
        }
        len2 >>= 1;
        if len2 == 0 {
            break;
        }
    }
    crc1 ^ crc2
}

/// CRC-32 of `n` zero bytes, by doubling.
fn crc32_zeros(n: u64) -> u32 {
    let mut acc: Option<(u32, u64)> = None; // crc, length so far
    let mut pow = (crc32(&[0]), 1u64); // crc of 2^k zeros
    let mut m = n;
    while m != 0 {
        if m & 1 != 0 {
            acc = Some(match acc {
                None => pow,
                Some((c, l)) => (crc32_combine(c, pow.0, pow.1), l + pow.1),
            });
        }
        pow = (crc32_combine(pow.0, pow.0, pow.1), pow.1 * 2);
        m >>= 1;
    }
    acc.map_or(0, |a| a.0)
}

/// A one-member gzip of `n` zero bytes, encoded by hand (RFC 1951 3.2.6,
/// one fixed-Huffman block: a literal 0, then (length 258, distance 1)
/// matches, literals for the rest). 1 GiB takes about 6.5 MB.
fn gzip_zeros(n: u64) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u64,
        nbits: u32,
    }
    impl Bits {
        fn put(&mut self, v: u64, n: u32) {
            self.acc |= v << self.nbits;
            self.nbits += n;
            while self.nbits >= 8 {
                self.out.push(self.acc as u8);
                self.acc >>= 8;
                self.nbits -= 8;
            }
        }
        /// A Huffman code: most significant bit first.
        fn code(&mut self, c: u32, len: u32) {
            self.put(u64::from(c.reverse_bits() >> (32 - len)), len);
        }
    }
    let mut b = Bits {
        out: vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3],
        acc: 0,
        nbits: 0,
    };
    b.put(1, 1); // BFINAL
    b.put(1, 2); // BTYPE = 01, fixed Huffman
    let lit0 = (0x30, 8); // literals 0..143: 00110000 + value, 8 bits
    let mut left = n;
    if left > 0 {
        b.code(lit0.0, lit0.1);
        left -= 1;
    }
    // Symbol 285 (length 258, no extra bits): 11000000 + (285 - 280), 8
    // bits; distance code 0 (distance 1): 00000, 5 bits.
    let m285 = u64::from(0xC5u32.reverse_bits() >> 24);
    while left >= 258 {
        b.put(m285, 8 + 5);
        left -= 258;
    }
    for _ in 0..left {
        b.code(lit0.0, lit0.1);
    }
    b.code(0, 7); // end of block (256): 0000000
    if b.nbits > 0 {
        b.put(0, 8 - b.nbits);
    }
    let mut out = b.out;
    out.extend_from_slice(&crc32_zeros(n).to_le_bytes());
    out.extend_from_slice(&(n as u32).to_le_bytes()); // ISIZE: mod 2^32
    out
}

// ---- device tree (devicetree specification v0.4, chapter 5) ------------

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}

/// QEMU's own device tree for this machine (`-machine dumpdtb=`).
fn qemu_dtb(cpu: &str) -> Vec<u8> {
    let path = scratch().join(format!("qemu-{cpu}.dtb"));
    let st = std::process::Command::new(qemu_bin())
        .args(["-M", &format!("{},dumpdtb={}", machine(), path.display())])
        .args(["-cpu", cpu, "-m", &mem(), "-nographic", "-nic", "none"])
        .args(["-monitor", "none"])
        .output()
        .expect("qemu dumpdtb");
    assert!(path.exists(), "dumpdtb failed: {st:?}");
    std::fs::read(&path).unwrap()
}

/// The same tree with a property of `pad` bytes added to the root node,
/// rebuilt compactly: header, memory reservation block, structure block,
/// strings block.
fn enlarge_dtb(dtb: &[u8], pad: usize) -> Vec<u8> {
    assert_eq!(be32(dtb, 0), 0xd00d_feed);
    let (off_struct, off_strings, off_rsv) = (be32(dtb, 8), be32(dtb, 12), be32(dtb, 16));
    let (size_strings, size_struct) = (be32(dtb, 32), be32(dtb, 36));
    let mut rsv_end = off_rsv as usize;
    loop {
        let e = &dtb[rsv_end..rsv_end + 16];
        rsv_end += 16;
        if e.iter().all(|&c| c == 0) {
            break;
        }
    }
    let rsv = &dtb[off_rsv as usize..rsv_end];
    let st = &dtb[off_struct as usize..(off_struct + size_struct) as usize];
    let mut strings = dtb[off_strings as usize..(off_strings + size_strings) as usize].to_vec();
    // FDT_BEGIN_NODE (1), the root's empty name padded to 4 bytes.
    assert_eq!(be32(st, 0), 1);
    assert_eq!(st[4], 0);
    let nameoff = strings.len() as u32;
    strings.extend_from_slice(b"armmu,test-padding\0");
    let mut prop = Vec::new();
    prop.extend_from_slice(&3u32.to_be_bytes()); // FDT_PROP
    prop.extend_from_slice(&(pad as u32).to_be_bytes());
    prop.extend_from_slice(&nameoff.to_be_bytes());
    prop.extend((0..pad).map(|i| (i * 7) as u8));
    while !prop.len().is_multiple_of(4) {
        prop.push(0);
    }
    let mut new_struct = st[..8].to_vec();
    new_struct.extend_from_slice(&prop);
    new_struct.extend_from_slice(&st[8..]);
    let off_rsv = 40u32;
    let off_struct = off_rsv + rsv.len() as u32;
    let off_strings = off_struct + new_struct.len() as u32;
    let total = off_strings + strings.len() as u32;
    let mut out = Vec::new();
    for w in [
        0xd00d_feed,
        total,
        off_struct,
        off_strings,
        off_rsv,
        17,
        16,
        be32(dtb, 28), // boot_cpuid_phys
        strings.len() as u32,
        new_struct.len() as u32,
    ] {
        out.extend_from_slice(&w.to_be_bytes());
    }
    out.extend_from_slice(rsv);
    out.extend_from_slice(&new_struct);
    out.extend_from_slice(&strings);
    assert_eq!(out.len(), total as usize);
    out
}

// ---- the scenarios ------------------------------------------------------

/// A gzip initramfs of more than 10 MiB (the programs plus 12 MiB of
/// noise) boots; the unpacked size is exactly the concatenated archives;
/// only the frames the unpacked data needs stay in use.
pub fn large_gzip_initramfs_boots(a: &scenarios::Arch) {
    let noise_len = 12 << 20;
    let mut cpio_bytes = programs();
    let extra = Newc::new()
        .file("big.bin", 0o644, &noise(noise_len, 0x9e37_79b9_7f4a_7c15))
        .finish();
    cpio_bytes.extend_from_slice(&extra);
    let gz = cpio::gzip(&cpio_bytes);
    assert!(gz.len() > 10 << 20, "{} bytes compressed", gz.len());
    let img = write("large.cpio.gz", &gz);
    let b = boot(a.cpu, Some(&img), "rdinit=/bin/mmap_anon", 120);
    let unpacked = (cpio_bytes.len() + 3) & !3;
    b.expect(&format!(
        "initramfs: {} bytes (bootloader initrd), {unpacked} unpacked",
        gz.len()
    ));
    b.expect(&format!("running /bin/mmap_anon (pid 1) in {}", a.user_mode));
    expect_all_passed(&b, 30);
    expect_no_leak(&b);
    b.expect_status(0);
    // The unused part of the unpack buffer (half of RAM) was given back,
    // and, as Linux does ("Freeing initrd memory: NK"), the pages of the
    // compressed initrd: what is held is the unpacked data, a little slack.
    let initrd_pages = gz.len() as u64 / 4096; // whole pages (-1 if unaligned)
    let freed = b.line("Freeing initrd memory: ");
    let freed_k: u64 = freed
        .trim_start_matches("Freeing initrd memory: ")
        .trim_end_matches('K')
        .parse()
        .unwrap();
    assert!(
        freed_k == initrd_pages * 4 || freed_k + 4 == initrd_pages * 4,
        "{freed} for a {}-byte initrd",
        gz.len()
    );
    let held = free_at_boot(&b) as i64 - free_before_init(&b) as i64;
    let needed = (unpacked as u64).div_ceil(4096) as i64 - (freed_k / 4) as i64;
    assert!(
        held >= needed && held <= needed + 64,
        "{held} frames held; {needed} expected (unpacked minus freed initrd)"
    );
}

/// 1 GiB of zeros in one gzip member: refused at the limit (half of RAM),
/// with a message and a clean non-zero shutdown, never a panic.
pub fn gzip_bomb_is_refused(a: &scenarios::Arch) {
    // Check the hand-made encoder's CRC against the plain one first.
    assert_eq!(crc32_zeros(100_000), crc32(&vec![0; 100_000]));
    assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    let gz = gzip_zeros(1 << 30);
    let img = write("bomb.gz", &gz);
    let b = boot(a.cpu, Some(&img), "", 120);
    let half_mib = mem().trim_end_matches('M').parse::<u64>().unwrap() / 2;
    b.expect(&format!(
        "initramfs: unpacks to more than {half_mib} MiB (limit: half of RAM): refused"
    ));
    expect_clean_shutdown(&b);
    assert!(!b.has("running /init"), "{}", b.log);
    assert_ne!(b.status, Some(0), "{}", b.log);
    assert!(b.status.is_some(), "no exit status (hang?)\n{}", b.log);
    // The same encoder below the limit: a valid gzip (CRC32 and ISIZE
    // checked by the kernel) of 1 MiB of zeros, which is then no cpio
    // archive (Linux: "no cpio magic"; zeros are only skipped between
    // archives).
    let small = gzip_zeros(1 << 20);
    let img = write("zeros.gz", &small);
    let b = boot(a.cpu, Some(&img), "", 60);
    b.expect(", 1048576 unpacked");
    b.expect("initramfs: unpacking failed: cpio: bad magic at offset 0x0");
    expect_clean_shutdown(&b);
    b.expect_status(127);
}

/// A device tree of more than 64 KiB given with `-dtb`: QEMU still writes
/// /memory and /chosen (initrd, bootargs) into it; the kernel sees 512 MiB
/// and the `-initrd`. Past the documented 2 MiB limit it says so.
pub fn large_device_tree_is_read(a: &scenarios::Arch) {
    let dtb = enlarge_dtb(&qemu_dtb(a.cpu), 300 << 10);
    assert!(dtb.len() > 300 << 10);
    let path = write("big.dtb", &dtb);
    let initrd = out_dir().join("initramfs.cpio.gz");
    let args: Vec<OsString> = vec![
        "-dtb".into(),
        path.into(),
        "-initrd".into(),
        initrd.clone().into(),
        "-append".into(),
        "rdinit=/bin/mmap_anon".into(),
    ];
    let b = boot_args(a.cpu, &args, 60);
    b.expect("board: linux,dummy-virt (from device tree)");
    let ram_mib = mem().trim_end_matches('M').parse::<u64>().unwrap();
    b.expect(&format!(
        "RAM      0x40000000..{:#010x} ({ram_mib} MiB)",
        0x4000_0000 + (ram_mib << 20)
    ));
    b.expect("(bootloader initrd)");
    b.expect(&format!("running /bin/mmap_anon (pid 1) in {}", a.user_mode));
    expect_all_passed(&b, 30);
    expect_no_leak(&b);
    b.expect_status(0);

    // Over 2 MiB (Linux's arm64 MAX_FDT_SIZE): refused with the reason;
    // the kernel goes on with the board's defaults.
    let huge = enlarge_dtb(&qemu_dtb(a.cpu), 3 << 20);
    let path = write("huge.dtb", &huge);
    let args: Vec<OsString> = vec!["-dtb".into(), path.into()];
    let b = boot_args(a.cpu, &args, 60);
    let l = b.line("refused:");
    assert!(
        l.contains("DTB at") && l.contains("larger than the limit of 2 MiB"),
        "{l}"
    );
    b.expect("using board defaults");
    expect_clean_shutdown(&b);
}

/// Broken archives: the message says what is wrong, at unpack time and
/// when /init is looked up; the machine shuts down with 127 (no init).
pub fn broken_cpio_is_reported(a: &scenarios::Arch) {
    // Bad magic: "070707" is the old portable (odc) format, not newc.
    let mut bad = Newc::new().file("init", 0o755, b"x").finish();
    bad[..6].copy_from_slice(b"070707");
    // Truncated data: the header at offset 0 promises 4096 bytes.
    let mut cut = Newc::new().file("init", 0o755, &[1; 4096]).finish();
    cut.truncate(110 + 8 + 100);
    for (name, blob, want) in [
        ("badmagic.cpio", bad.clone(), "cpio: bad magic at offset 0x0"),
        ("badmagic.cpio.gz", cpio::gzip(&bad), "cpio: bad magic at offset 0x0"),
        (
            "truncated.cpio.gz",
            cpio::gzip(&cut),
            "cpio: header at 0x0: 4096 bytes of data run past the end",
        ),
    ] {
        let img = write(name, &blob);
        let b = boot(a.cpu, Some(&img), "", 60);
        let unpack = b.line("initramfs: unpacking failed:");
        assert!(unpack.contains(want), "{name}: {unpack}");
        let exec = b.line("exec /init failed:");
        assert!(exec.contains(want), "{name}: {exec}");
        expect_clean_shutdown(&b);
        b.expect_status(127);
    }
}

/// `/init` as a symlink is followed (relative and absolute targets), as
/// Linux does; a loop ends in ELOOP ("Too many levels of symbolic links");
/// an `/init` without execute permission is refused (EACCES).
pub fn init_symlink_and_permissions(a: &scenarios::Arch) {
    let progs = programs();
    for (name, target) in [("rel", "bin/mmap_anon"), ("abs", "/bin/mmap_anon")] {
        let mut blob = progs.clone();
        blob.extend_from_slice(&Newc::new().symlink("init", target).finish());
        let img = write(&format!("symlink-{name}.cpio.gz"), &cpio::gzip(&blob));
        let b = boot(a.cpu, Some(&img), "", 60);
        b.expect(&format!("running /init (pid 1) in {}", a.user_mode));
        expect_all_passed(&b, 30);
        expect_no_leak(&b);
        b.expect_status(0);
    }
    let mut blob = progs.clone();
    blob.extend_from_slice(
        &Newc::new()
            .symlink("init", "/sbin/init")
            .symlink("sbin/init", "../init")
            .finish(),
    );
    let img = write("symlink-loop.cpio", &blob);
    let b = boot(a.cpu, Some(&img), "", 60);
    let l = b.line("exec /init failed:");
    assert!(
        l.to_lowercase().contains("too many levels of symbolic links"),
        "{l}"
    );
    expect_clean_shutdown(&b);
    b.expect_status(127);

    // A real executable, mode 0644.
    let elf = cpio::find(&progs, "bin/mmap_anon").expect("bin/mmap_anon in the archive");
    assert!(elf.starts_with(b"\x7fELF"));
    let mut blob = progs.clone();
    blob.extend_from_slice(&Newc::new().file("init", 0o644, elf).finish());
    let img = write("noexec.cpio.gz", &cpio::gzip(&blob));
    let b = boot(a.cpu, Some(&img), "", 60);
    let l = b.line("exec /init failed:");
    assert!(l.to_lowercase().contains("permission denied"), "{l}");
    assert!(!b.has("# passed"), "{}", b.log);
    expect_clean_shutdown(&b);
    b.expect_status(127);
}

#[macro_export]
macro_rules! boot_input_scenarios {
    ($arch:expr) => {
        #[test]
        fn boot_input_large_gzip_initramfs_boots() {
            common::boot_inputs::large_gzip_initramfs_boots(&$arch)
        }
        #[test]
        fn boot_input_gzip_bomb_is_refused() {
            common::boot_inputs::gzip_bomb_is_refused(&$arch)
        }
        #[test]
        fn boot_input_large_device_tree_is_read() {
            common::boot_inputs::large_device_tree_is_read(&$arch)
        }
        #[test]
        fn boot_input_broken_cpio_is_reported() {
            common::boot_inputs::broken_cpio_is_reported(&$arch)
        }
        #[test]
        fn boot_input_init_symlink_and_permissions() {
            common::boot_inputs::init_symlink_and_permissions(&$arch)
        }
    };
}
