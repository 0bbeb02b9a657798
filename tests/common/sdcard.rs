//! The flashable SD-card images (`./qemu-run.sh sdcard --board NAME`,
//! user/scripts/sdcard.sh) booted the way the board boots them: QEMU runs
//! the board's real U-Boot from Debian's packages, U-Boot's distro boot
//! finds `boot.scr` on the card, loads the kernel, the initramfs and the
//! DTB from the card and starts the kernel. The test reads the serial log
//! (U-Boot's banner, the script, the kernel's boot lines, the /init demo
//! writing to the board's console UART mapped through /dev/mem) and the
//! exit status the kernel gives QEMU through semihosting: 0 on every board.
//!
//! What stands in for hardware, per board (BOARD-FACTS.md):
//! - `qemu-virt`, `qemu-virt-aarch64`: no card slot; U-Boot `qemu_arm` /
//!   `qemu_arm64` as `-bios`, the card image as a virtio disk, QEMU's own
//!   device tree (U-Boot hands on `$fdtcontroladdr`).
//! - `raspi2b`, `raspi3b`: QEMU has no GPU firmware to read `config.txt`,
//!   so it is given the card's `kernel7.img` / `kernel8.img` (U-Boot) with
//!   `-kernel` (Pi 2: wrapped as a legacy uImage at 0x8000, the only way
//!   QEMU's loader starts it) and the card's DTB with `-dtb`, which is what
//!   the firmware would pass; the card is `-drive if=sd`. The test checks
//!   that the U-Boot given to QEMU is byte for byte the card's.
//! - `orangepi-pc`: nothing stands in: QEMU's boot ROM model loads the SPL
//!   from 8 KiB into the card, as the H3 does.
//!
//! - `raspi4b`: no QEMU 7.2 machine models the BCM2711: the card is not
//!   booted but checked file by file against where each file comes from
//!   (`check_image`).
//!
//! The images are written by `./qemu-run.sh test` before the tests run, in
//! out/<board>/ next to the kernel build's out dir.

use super::*;
use std::path::Path;

/// How QEMU gets the board's U-Boot.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Firmware {
    /// `-bios out/<board>/qemu-firmware.bin` (U-Boot, not on the card).
    Bios,
    /// `-kernel out/<board>/qemu-firmware.bin`, the card's `card_file` (raw
    /// or inside a legacy uImage), plus `-dtb` the card's DTB.
    Pi { card_file: &'static str },
    /// The SPL at 8 KiB on the card, loaded by QEMU's boot ROM model.
    Spl,
}

pub struct SdBoard {
    pub name: &'static str,
    pub qemu: &'static str,
    /// `-M` and any other machine options.
    pub args: &'static [&'static str],
    pub firmware: Firmware,
    /// The virtio disk (virt) or `-drive if=sd`.
    pub virtio: bool,
    /// The console is QEMU's second `-serial` (Pi 3: the mini UART).
    pub second_serial: bool,
    /// boot.cmd's `echo` (boards/<name>/boot.cmd).
    pub script_says: &'static str,
    /// `armmu: <arch> kernel, image loaded at <this>`: where U-Boot's
    /// bootz/booti left it (kernel_addr_r; booti moves an Image to a 2 MiB
    /// boundary + 0x80000).
    pub loaded_at: &'static str,
    /// `board: <this> (from device tree)`.
    pub model: &'static str,
    /// The `UART` line of the memory map: the console from the DT.
    pub uart: &'static str,
    /// The /init demo's line after it wrote to the console UART it mapped
    /// through /dev/mem (user/src/bin/init.rs).
    pub demo: &'static str,
}

pub const QEMU_VIRT: SdBoard = SdBoard {
    name: "qemu-virt",
    qemu: "qemu-system-arm",
    args: &["-M", "virt", "-cpu", "cortex-a15", "-m", "512M"],
    firmware: Firmware::Bios,
    virtio: true,
    second_serial: false,
    script_says: "armmu boot.scr on QEMU virt (ARMv7-A): virtio 0:1",
    loaded_at: "armmu: ARMv7-A kernel, image loaded at 0x40400000",
    model: "board: linux,dummy-virt (from device tree)",
    uart: "UART     0x09000000 (PL011, arm,pl011; from /chosen stdout-path)",
    demo: "init: hello through the PL011 mapped from user space!",
};

pub const QEMU_VIRT_AARCH64: SdBoard = SdBoard {
    name: "qemu-virt-aarch64",
    qemu: "qemu-system-aarch64",
    args: &["-M", "virt", "-cpu", "cortex-a53", "-m", "512M"],
    firmware: Firmware::Bios,
    virtio: true,
    second_serial: false,
    script_says: "armmu boot.scr on QEMU virt (AArch64): virtio 0:1",
    loaded_at: "armmu: AArch64 kernel, image loaded at 0x40480000",
    model: "board: linux,dummy-virt (from device tree)",
    uart: "UART     0x09000000 (PL011, arm,pl011; from /chosen stdout-path)",
    demo: "init: hello through the PL011 mapped from user space!",
};

pub const RASPI2B: SdBoard = SdBoard {
    name: "raspi2b",
    qemu: "qemu-system-arm",
    args: &["-M", "raspi2b"],
    firmware: Firmware::Pi {
        card_file: "kernel7.img",
    },
    virtio: false,
    second_serial: false,
    script_says: "armmu boot.scr on Raspberry Pi 2 Model B: mmc 0:1",
    loaded_at: "armmu: ARMv7-A kernel, image loaded at 0x00080000",
    model: "board: Raspberry Pi 2 Model B (from device tree)",
    uart: "UART     0x3f201000 (PL011, arm,pl011; from /chosen stdout-path)",
    demo: "init: hello through the PL011 mapped from user space!",
};

pub const RASPI3B: SdBoard = SdBoard {
    name: "raspi3b",
    qemu: "qemu-system-aarch64",
    args: &["-M", "raspi3b"],
    firmware: Firmware::Pi {
        card_file: "kernel8.img",
    },
    virtio: false,
    second_serial: true,
    script_says: "armmu boot.scr on Raspberry Pi 3 Model B: mmc 0:1",
    loaded_at: "armmu: AArch64 kernel, image loaded at 0x00080000",
    model: "board: Raspberry Pi 3 Model B (from device tree)",
    uart:
        "UART     0x3f215040 (BCM2835 mini UART, brcm,bcm2835-aux-uart; from /chosen stdout-path)",
    demo: "init: hello through the BCM2835 mini UART mapped from user space!",
};

pub const ORANGEPI_PC: SdBoard = SdBoard {
    name: "orangepi-pc",
    qemu: "qemu-system-arm",
    args: &["-M", "orangepi-pc"],
    firmware: Firmware::Spl,
    virtio: false,
    second_serial: false,
    script_says: "armmu boot.scr on Orange Pi PC: mmc 0:1",
    loaded_at: "armmu: ARMv7-A kernel, image loaded at 0x42000000",
    model: "board: Xunlong Orange Pi PC (from device tree)",
    uart: "UART     0x01c28000 (16550, snps,dw-apb-uart; from /chosen stdout-path)",
    demo: "init: hello through the 16550 mapped from user space!",
};

/// out/<board>/ (a sibling of the kernel build's out dir).
pub fn board_out(b: &SdBoard) -> PathBuf {
    out_dir().parent().unwrap().join(b.name)
}

/// A file of the card's FAT partition (mtools, installed by
/// user/scripts/sdcard.sh).
pub fn card_file(img: &Path, name: &str) -> Vec<u8> {
    let out = Command::new("mtype")
        .arg("-i")
        .arg(format!("{}@@1M", img.display()))
        .arg(format!("::{name}"))
        .output()
        .expect("mtype (mtools): run ./qemu-run.sh test, which installs it");
    assert!(out.status.success(), "mtype ::{name}: {:?}", out);
    out.stdout
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// The layout a board's boot ROM/firmware and QEMU need: a power-of-two
/// size (QEMU's SD model), an MBR with one bootable FAT32 (LBA, 0x0c)
/// partition at 1 MiB to the end, a FAT32 boot sector there, and on
/// Allwinner the SPL's eGON header at 8 KiB.
#[track_caller]
pub fn check_layout(b: &SdBoard, img: &[u8]) {
    check_partitions(img);
    if b.firmware == Firmware::Spl {
        // The H3 boot ROM's header: a branch, then "eGON.BT0".
        assert_eq!(&img[8192 + 4..8192 + 12], b"eGON.BT0", "SPL at 8 KiB");
    }
}

/// The partition table and FAT32 boot sector every card has.
#[track_caller]
pub fn check_partitions(img: &[u8]) {
    let len = img.len();
    assert!(len.is_power_of_two(), "{} bytes", len);
    assert_eq!(&img[510..512], &[0x55, 0xaa], "MBR signature");
    let p = &img[446..462];
    assert_eq!(p[0], 0x80, "partition 1 bootable");
    assert_eq!(p[4], 0x0c, "partition 1 type FAT32 LBA");
    assert_eq!(le32(p, 8), 2048, "partition 1 starts at 1 MiB");
    assert_eq!(le32(p, 12) as usize, len / 512 - 2048, "to the end");
    assert!(img[462..510].iter().all(|&x| x == 0), "one partition");
    let fat = &img[1 << 20..];
    assert_eq!(&fat[82..90], b"FAT32   ", "FAT32 boot sector");
    assert_eq!(&fat[510..512], &[0x55, 0xaa]);
}

/// Boot the card through the board's U-Boot, at most `secs` seconds.
pub fn boot_card(b: &SdBoard, secs: u64) -> Boot {
    let dir = board_out(b);
    let img = dir.join("sdcard.img");
    assert!(
        img.exists(),
        "{} missing: ./qemu-run.sh sdcard --board {} (./qemu-run.sh test writes it)",
        img.display(),
        b.name
    );
    let mut cmd = Command::new(b.qemu);
    cmd.args(b.args)
        .args(["-display", "none", "-monitor", "none", "-nic", "none"])
        .args(["-semihosting-config", "enable=on,target=native"]);
    if b.second_serial {
        cmd.args(["-serial", "null"]);
    }
    cmd.args(["-serial", "stdio"]);
    match b.firmware {
        Firmware::Bios => {
            cmd.arg("-bios").arg(dir.join("qemu-firmware.bin"));
        }
        Firmware::Pi { .. } => {
            cmd.arg("-kernel")
                .arg(dir.join("qemu-firmware.bin"))
                .arg("-dtb")
                .arg(dir.join("sdcard.dtb"));
        }
        Firmware::Spl => {}
    }
    // snapshot=on: writes go to a temporary overlay, so the card file is
    // only read (and only read-locked: the chainload test boots the same
    // card at the same time).
    if b.virtio {
        cmd.arg("-drive")
            .arg(format!(
                "if=none,file={},format=raw,id=card,snapshot=on",
                img.display()
            ))
            .args(["-device", "virtio-blk-device,drive=card"]);
    } else {
        cmd.arg("-drive").arg(format!(
            "if=sd,file={},format=raw,snapshot=on",
            img.display()
        ));
    }
    run(cmd, secs)
}

/// The whole check for one board: layout, U-Boot given to QEMU = the
/// card's, then the boot: U-Boot's banner and script, the kernel's boot
/// lines (load address, model, console, the bootloader's initramfs = the
/// card's, the MMU self-test), /init, and the exit status.
pub fn check_board(b: &SdBoard) {
    let dir = board_out(b);
    let img_path = dir.join("sdcard.img");
    let img = std::fs::read(&img_path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (./qemu-run.sh sdcard --board {})",
            img_path.display(),
            b.name
        )
    });
    check_layout(b, &img);
    drop(img);
    if let Firmware::Pi { card_file: f } = b.firmware {
        let on_card = card_file(&img_path, f);
        let given = std::fs::read(dir.join("qemu-firmware.bin")).unwrap();
        // A legacy uImage: 64-byte header (magic 0x27051956), then the payload.
        let payload = if given[..4] == [0x27, 0x05, 0x19, 0x56] {
            &given[64..]
        } else {
            &given[..]
        };
        assert!(
            payload == on_card.as_slice(),
            "QEMU's U-Boot is not the card's {f}"
        );
        let config = String::from_utf8(card_file(&img_path, "config.txt")).unwrap();
        assert!(
            config.contains(&format!("kernel={f}")),
            "config.txt: {config}"
        );
    }
    let initramfs = card_file(&img_path, "initramfs.cpio.gz");

    let boot = boot_card(b, 90);
    let log = &boot;
    if b.firmware == Firmware::Spl {
        log.expect("U-Boot SPL 20");
    }
    log.expect("\nU-Boot 20");
    log.expect("Found U-Boot script /boot.scr");
    log.expect(b.script_says);
    log.expect("Starting kernel ...");
    // The kernel's own lines, after U-Boot's.
    let kernel = &log.log[log.log.find("Starting kernel ...").unwrap()..];
    assert!(
        kernel.contains(b.loaded_at),
        "no {:?}\n{}",
        b.loaded_at,
        log.log
    );
    log.expect(b.model);
    log.expect(b.uart);
    log.expect(&format!(
        "initramfs: {} bytes (bootloader initrd)",
        initramfs.len()
    ));
    let selftest = log
        .log
        .lines()
        .find(|l| l.starts_with("MMU self-test: ") && l.contains("checks passed"))
        .unwrap_or_else(|| panic!("no MMU self-test verdict\n{}", log.log));
    assert!(selftest.ends_with(" 0 failed"), "{selftest}\n{}", log.log);
    log.expect("running /init (pid 1)");
    // The exit status QEMU reports is the one the kernel says it gives.
    let said: i32 = log
        .line("armmu: shutting down, status ")
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(boot.status, Some(said), "QEMU's exit status\n{}", log.log);
    log.expect(b.demo);
    log.expect("task 1 (/init) exited with status 0");
    boot.expect_status(0);
    expect_no_leak(&boot);
}

/// A card for a board no QEMU machine models (the Raspberry Pi 4: QEMU
/// 7.2 has no BCM2711), checked file by file against where each file
/// comes from instead of booted.
pub struct UnbootableCard {
    pub name: &'static str,
    /// The kernel build the card carries (out/<this>/Image).
    pub kernel_board: &'static str,
    /// The kernel's name on the card and the magic that identifies it:
    /// (offset, bytes) (arm64 Image: "ARM\x64" at 0x38).
    pub kernel: (&'static str, usize, &'static [u8]),
    /// mkimage's name of the script's architecture (`mkimage -l`).
    pub script_type: &'static str,
    /// Debian's U-Boot: the cached package directory (out/debian/<this>),
    /// the file inside the package, and its name on the card.
    pub uboot: (&'static str, &'static str, &'static str),
    /// The DTB: its path in Debian's linux-image package (under
    /// usr/lib/linux-image-*/), the tree's root `model` and `compatible`.
    pub dtb: (&'static str, &'static str, &'static str),
    /// Lines config.txt must have.
    pub config: &'static [&'static str],
    /// Firmware files README.txt must name (the user adds them).
    pub firmware: &'static [&'static str],
}

/// Raspberry Pi 4 B: values from boards/raspi4b's purpose, not its files:
/// Debian's `u-boot-rpi:arm64` build for the Pi 4 (`rpi_4`) as
/// kernel8.img, Debian's `broadcom/bcm2711-rpi-4-b.dtb`, the firmware's
/// `arm_64bit=1` (AArch64 state) and `enable_uart=1`, and the Pi 4's GPU
/// firmware names (start4.elf, fixup4.dat: Raspberry Pi documentation,
/// "Boot folder contents").
pub const RASPI4B: UnbootableCard = UnbootableCard {
    name: "raspi4b",
    kernel_board: "qemu-virt-aarch64",
    kernel: ("Image", 0x38, b"ARM\x64"),
    script_type: "AArch64 Linux Script (uncompressed)",
    uboot: (
        "u-boot-rpi.arm64",
        "usr/lib/u-boot/rpi_4/u-boot.bin",
        "kernel8.img",
    ),
    dtb: (
        "broadcom/bcm2711-rpi-4-b.dtb",
        "Raspberry Pi 4 Model B",
        "raspberrypi,4-model-b",
    ),
    config: &["arm_64bit=1", "kernel=kernel8.img", "enable_uart=1"],
    firmware: &["start4.elf", "fixup4.dat"],
};

/// Debian's package cache (user/scripts/sdcard.sh: $ARMMU_DEB_CACHE, else
/// out/debian).
fn deb_cache() -> PathBuf {
    std::env::var_os("ARMMU_DEB_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| out_dir().parent().unwrap().join("debian"))
}

/// `file` (a path inside the package) read out of the .deb itself with
/// dpkg-deb and tar: not the copy sdcard.sh extracted.
fn from_deb(deb: &Path, file: &str) -> Vec<u8> {
    let out = Command::new("sh")
        .arg("-c")
        .arg("dpkg-deb --fsys-tarfile \"$1\" | tar -xO \"./$2\"")
        .arg("sh")
        .arg(deb)
        .arg(file)
        .output()
        .expect("dpkg-deb, tar");
    assert!(
        out.status.success() && !out.stdout.is_empty(),
        "{file} from {}: {}",
        deb.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The whole check of a card nothing can boot here: partition table and
/// FAT32 as on every card; the file list (mdir); the kernel = the build's
/// Image, the initramfs = the build's; the U-Boot file = the one in
/// Debian's .deb (read out of the package again); the DTB = Debian's, the
/// board's tree by its model and compatible (fdtget); config.txt's
/// lines; boot.scr a valid U-Boot script image (mkimage -l checks its
/// header and data CRCs) whose payload is boards/<name>/boot.cmd, which
/// loads these very files; README.txt naming the firmware to add.
pub fn check_image(c: &UnbootableCard) {
    let out = out_dir().parent().unwrap().to_path_buf();
    let dir = out.join(c.name);
    let img_path = dir.join("sdcard.img");
    let img = std::fs::read(&img_path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (./qemu-run.sh sdcard --board {})",
            img_path.display(),
            c.name
        )
    });
    check_partitions(&img);
    drop(img);

    let (kernel_name, magic_at, magic) = c.kernel;
    let (uboot_pkg, uboot_file, uboot_name) = c.uboot;
    let (dtb_path, model, compatible) = c.dtb;
    let dtb_name = Path::new(dtb_path).file_name().unwrap().to_str().unwrap();
    let listing = run_ok(
        Command::new("mdir")
            .arg("-b")
            .arg("-i")
            .arg(format!("{}@@1M", img_path.display()))
            .arg("::"),
    );
    let mut files: Vec<&str> = listing
        .lines()
        .map(|l| l.trim().trim_start_matches("::/"))
        .filter(|l| !l.is_empty())
        .collect();
    files.sort_unstable();
    let mut want = vec![
        kernel_name,
        "initramfs.cpio.gz",
        dtb_name,
        "boot.cmd",
        "boot.scr",
        "config.txt",
        uboot_name,
        "README.txt",
    ];
    want.sort_unstable();
    assert_eq!(files, want, "files on the card\n{listing}");

    let kout = out.join(c.kernel_board);
    let kernel = card_file(&img_path, kernel_name);
    assert_eq!(
        &kernel[magic_at..magic_at + magic.len()],
        magic,
        "kernel header"
    );
    assert!(
        kernel == std::fs::read(kout.join("Image")).unwrap(),
        "{kernel_name} is not out/{}/Image",
        c.kernel_board
    );
    assert!(
        card_file(&img_path, "initramfs.cpio.gz")
            == std::fs::read(kout.join("initramfs.cpio.gz")).unwrap(),
        "initramfs.cpio.gz is not the build's"
    );

    // U-Boot: byte for byte the file in Debian's package.
    let pkg_dir = deb_cache().join(uboot_pkg);
    let deb = std::fs::read_dir(&pkg_dir)
        .unwrap_or_else(|e| panic!("{}: {e}", pkg_dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .unwrap_or_else(|| panic!("no .deb in {}", pkg_dir.display()));
    let deb_name = deb.file_name().unwrap().to_string_lossy().into_owned();
    let pkg_name = uboot_pkg.split('.').next().unwrap();
    assert!(deb_name.starts_with(&format!("{pkg_name}_")), "{deb_name}");
    assert!(
        card_file(&img_path, uboot_name) == from_deb(&deb, uboot_file),
        "{uboot_name} is not {uboot_file} of {deb_name}"
    );

    // The DTB: Debian's file (kept by sdcard.sh from the linux-image
    // package it names), and that board's tree.
    let dtbs = deb_cache().join("dtbs.arm64");
    let package = std::fs::read_to_string(dtbs.join("package")).unwrap();
    assert!(package.starts_with("linux-image-"), "{package}");
    let card_dtb = card_file(&img_path, dtb_name);
    assert!(
        card_dtb == std::fs::read(dtbs.join("dtbs").join(dtb_path)).unwrap(),
        "{dtb_name} is not {dtb_path} of {package}"
    );
    let check = dir.join("check");
    std::fs::create_dir_all(&check).unwrap();
    let dtb_file = check.join(dtb_name);
    std::fs::write(&dtb_file, &card_dtb).unwrap();
    let fdtget = |prop: &str| {
        run_ok(
            Command::new("fdtget")
                .args(["-t", "s"])
                .arg(&dtb_file)
                .args(["/", prop]),
        )
    };
    assert_eq!(fdtget("model").trim(), model);
    assert!(
        fdtget("compatible")
            .split_whitespace()
            .any(|w| w == compatible),
        "{dtb_name}: compatible"
    );
    let committed = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/dtb")
        .join(dtb_name);
    if committed.exists() && std::fs::read(&committed).unwrap() != card_dtb {
        eprintln!("note: {dtb_name} of {package} differs from tests/data/dtb/ (Debian updated it)");
    }

    let config = String::from_utf8(card_file(&img_path, "config.txt")).unwrap();
    for line in c.config {
        assert!(
            config.lines().any(|l| l.trim() == *line),
            "config.txt lacks {line}\n{config}"
        );
    }
    assert!(
        config
            .lines()
            .any(|l| l.trim() == format!("kernel={uboot_name}")),
        "config.txt does not start {uboot_name}\n{config}"
    );

    // boot.scr: mkimage's own verdict (it names a legacy image's type only
    // when the header and data CRCs verify; a changed data byte makes it
    // try other formats), then the legacy image by hand
    // (64-byte header, magic 0x27051956, ih_type 6 = script; payload: a
    // table of big-endian lengths ended by 0, then the script).
    let scr = card_file(&img_path, "boot.scr");
    let scr_file = check.join("boot.scr");
    std::fs::write(&scr_file, &scr).unwrap();
    let listed = run_ok(Command::new("mkimage").arg("-l").arg(&scr_file));
    assert!(listed.contains(c.script_type), "mkimage -l: {listed}");
    assert_eq!(&scr[..4], &[0x27, 0x05, 0x19, 0x56], "uImage magic");
    assert_eq!(scr[30], 6, "ih_type: script");
    let body = &scr[64..];
    let len = u32::from_be_bytes(body[..4].try_into().unwrap()) as usize;
    assert_eq!(&body[4..8], &[0, 0, 0, 0], "one script in the image");
    let cmd = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("boards")
            .join(c.name)
            .join("boot.cmd"),
    )
    .unwrap();
    assert!(
        &body[8..8 + len] == cmd.as_slice(),
        "boot.scr is not boards/{}/boot.cmd",
        c.name
    );
    assert!(card_file(&img_path, "boot.cmd") == cmd);
    let script = String::from_utf8(cmd).unwrap();
    for f in [kernel_name, dtb_name, "initramfs.cpio.gz"] {
        assert!(
            script
                .lines()
                .any(|l| l.starts_with("load ") && l.split_whitespace().last() == Some(f)),
            "boot.cmd does not load {f}"
        );
    }
    let readme = String::from_utf8(card_file(&img_path, "README.txt")).unwrap();
    for f in c.firmware {
        assert!(readme.contains(f), "README.txt does not name {f}\n{readme}");
    }
}
