#!/usr/bin/env bash
# A flashable SD-card image for a board: out/<board>/sdcard.img.
#
#   user/scripts/sdcard.sh BOARD      (run by `./qemu-run.sh sdcard --board BOARD`,
#                                      which builds the kernel first)
#
# The board's facts are in boards/BOARD/sdcard.sh (which kernel build, which
# Debian U-Boot build and where it goes, which Debian DTB), its U-Boot script
# in boards/BOARD/boot.cmd, and on the Raspberry Pis the firmware's
# boards/BOARD/config.txt.
#
# The image: an MBR with one FAT32 partition (type 0x0c, bootable) from 1 MiB
# to the end, 64 MiB in all (a power of two: QEMU's SD card model wants one).
# The partition holds
#   zImage / Image       the kernel (out/<kernel board>/Image: the same file for
#                        every ARMv7-A board, and for every AArch64 board)
#   initramfs.cpio.gz    the initramfs (also built into the kernel; U-Boot hands
#                        this one on, so it can be replaced without a rebuild)
#   <board>.dtb          the board's device tree from Debian's linux-image package
#                        (none on QEMU virt: QEMU makes the machine's tree)
#   boot.cmd, boot.scr   the U-Boot script (mkimage -T script), found by U-Boot's
#                        distro boot in the first partition
#   kernel7.img/kernel8.img, config.txt   (Raspberry Pi) U-Boot, loaded by the Pi
#                        firmware, which is not included (non-free: README;
#                        README.txt on the card names the files to add)
# and on Allwinner boards U-Boot's SPL + U-Boot sit before the partition, at
# 8 KiB, where the boot ROM reads them.
#
# Nothing needs root except installing missing tools and fetching Debian
# packages: sfdisk (fdisk), mkfs.vfat --offset (dosfstools), mtools, mkimage
# (u-boot-tools) build the image in a plain file. Debian packages are fetched
# with `apt-get download` once into $ARMMU_DEB_CACHE (default out/debian/),
# after `dpkg --add-architecture armhf arm64` and `apt-get update` when the
# architecture is missing.
#
# Besides the image, out/<board>/ gets what QEMU needs to run that card's
# U-Boot (tests/common/sdcard.rs): qemu-firmware.bin, the U-Boot QEMU is given
# with -bios (virt) or -kernel (raspi2b: the card's kernel7.img wrapped as a
# legacy uImage, which is how QEMU's loader starts it; raspi3b: the card's
# kernel8.img as it is), and sdcard.dtb (the card's DTB, for QEMU's -dtb on the
# Raspberry Pis, standing in for the firmware). The Raspberry Pi 4's card
# (boards/raspi4b) has no QEMU machine: no qemu-firmware.bin for it.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BOARD=${1:?usage: user/scripts/sdcard.sh BOARD}
[ -f "boards/$BOARD/sdcard.sh" ] || {
    echo "no boards/$BOARD/sdcard.sh: boards with an SD-card image:" \
        "$(cd boards && ls -d */sdcard.sh | sed 's,/sdcard.sh,,' | tr '\n' ' ')" >&2
    exit 2
}
SD_DTB=""
SD_UBOOT_FILE=""
SD_CONFIG_TXT=""
SD_QEMU_FIRMWARE=""
# The Raspberry Pi GPU firmware the user adds (boards/raspi4b: start4.elf
# and fixup4.dat; its first stage is in the board's EEPROM).
SD_PI_FIRMWARE="bootcode.bin start.elf fixup.dat"
# shellcheck source=boards/raspi2b/sdcard.sh
. "boards/$BOARD/sdcard.sh"
OUT="$ROOT/out/$BOARD"
KOUT="$ROOT/out/$SD_KERNEL_BOARD"
CACHE=${ARMMU_DEB_CACHE:-$ROOT/out/debian}
IMG_MIB=64
PART_START=2048 # sectors: 1 MiB
mkdir -p "$OUT" "$CACHE"

[ -s "$KOUT/Image" ] || { echo "no $KOUT/Image: build it first (./qemu-run.sh build --board $SD_KERNEL_BOARD)" >&2; exit 1; }

export PATH="$PATH:/usr/sbin:/sbin"
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
apt_updated=0
apt_install() {
    echo "==> installing $* (apt-get)" >&2
    [ $apt_updated = 1 ] || { $sudo apt-get update -qq; apt_updated=1; }
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}
need=()
command -v sfdisk >/dev/null || need+=(fdisk)
command -v mkfs.vfat >/dev/null || need+=(dosfstools)
command -v mcopy >/dev/null || need+=(mtools)
command -v mkimage >/dev/null || need+=(u-boot-tools)
[ ${#need[@]} = 0 ] || apt_install "${need[@]}"

# deb_get PKG:ARCH -> prints the directory it is extracted to (cached: fetched
# and unpacked once; the .deb is kept, it names the version).
deb_get() {
    local pkg=$1 name=${1%%:*} arch=${1#*:}
    local dir="$CACHE/$name.$arch"
    if [ ! -f "$dir/.done" ]; then
        if [ "$arch" != all ] && ! dpkg --print-foreign-architectures | grep -qx "$arch" \
            && [ "$(dpkg --print-architecture)" != "$arch" ]; then
            echo "==> dpkg --add-architecture $arch" >&2
            $sudo dpkg --add-architecture "$arch"
            $sudo apt-get update -qq
            apt_updated=1
        fi
        if ! apt-cache show "$pkg" >/dev/null 2>&1; then
            $sudo apt-get update -qq
            apt_updated=1
        fi
        echo "==> apt-get download $pkg (cached in ${CACHE#"$ROOT"/})" >&2
        rm -rf "$dir" && mkdir -p "$dir"
        (cd "$dir" && apt-get download -q "$pkg" 2>&1 | grep -v "^W: Download is performed unsandboxed" >&2 || true)
        local deb
        deb=$(ls "$dir"/*.deb 2>/dev/null | head -n1)
        [ -n "$deb" ] || { echo "apt-get download $pkg failed (a Debian mirror is needed)" >&2; exit 1; }
        dpkg-deb -x "$deb" "$dir/root"
        touch "$dir/.done"
    fi
    echo "$dir/root"
}

# The board's DTB from Debian's current linux-image package: the metapackage
# (linux-image-armmp / linux-image-arm64) names the ABI; only the dtbs are
# kept (the .deb is ~50 MB and is deleted once they are out).
dtb_dir() {
    local arch=$1 meta flavour abi_pkg
    case "$arch" in
        armhf) meta=linux-image-armmp:armhf ;;
        arm64) meta=linux-image-arm64:arm64 ;;
    esac
    local dir="$CACHE/dtbs.$arch"
    if [ ! -f "$dir/.done" ]; then
        if ! apt-cache show "$meta" >/dev/null 2>&1; then
            deb_get "u-boot-rpi:$arch" >/dev/null # adds the architecture, updates
        fi
        abi_pkg=$(apt-cache depends "$meta" | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
        [ -n "$abi_pkg" ] || { echo "cannot resolve $meta to a linux-image package" >&2; exit 1; }
        abi_pkg=${abi_pkg%%:*}
        # arm64's linux-image-<abi>-arm64 is the signed twin of -unsigned; same dtbs.
        echo "==> apt-get download $abi_pkg:$arch (for its device trees)" >&2
        rm -rf "$dir" && mkdir -p "$dir/tmp"
        (cd "$dir/tmp" && apt-get download -q "$abi_pkg:$arch" 2>&1 | grep -v "^W: Download is performed unsandboxed" >&2 || true)
        local deb
        deb=$(ls "$dir"/tmp/*.deb 2>/dev/null | head -n1)
        [ -n "$deb" ] || { echo "apt-get download $abi_pkg:$arch failed" >&2; exit 1; }
        # (tar's wildcards match across /: every .dtb at any depth)
        dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir/tmp" --wildcards './usr/lib/linux-image-*.dtb'
        mv "$dir"/tmp/usr/lib/linux-image-* "$dir/dtbs"
        basename "$deb" > "$dir/package"
        rm -rf "$dir/tmp"
        touch "$dir/.done"
    fi
    echo "$dir"
}

STAGE="$OUT/sdcard"
rm -rf "$STAGE" && mkdir -p "$STAGE"
cp "$KOUT/Image" "$STAGE/$SD_KERNEL_NAME"
cp "$KOUT/initramfs.cpio.gz" "$STAGE/initramfs.cpio.gz"
rm -f "$OUT/sdcard.dtb"
if [ -n "$SD_DTB" ]; then
    d=$(dtb_dir "$SD_DEB_ARCH") || exit 1
    src="$d/dtbs/$SD_DTB"
    [ -f "$src" ] || { echo "$SD_DTB not in $(cat "$d/package")" >&2; exit 1; }
    cp "$src" "$STAGE/$(basename "$SD_DTB")"
    cp "$src" "$OUT/sdcard.dtb"
    # The same tree the host tests read (tests/data/dtb/)? Only a note: a
    # newer Debian kernel may change it, and the card takes Debian's.
    ref="$ROOT/tests/data/dtb/$(basename "$SD_DTB")"
    if [ -f "$ref" ] && ! cmp -s "$src" "$ref"; then
        echo "note: $(basename "$SD_DTB") from $(cat "$d/package") differs from tests/data/dtb/" >&2
    fi
    echo "==> DTB $(basename "$SD_DTB") from $(cat "$d/package")" >&2
fi
cp "boards/$BOARD/boot.cmd" "$STAGE/boot.cmd"
mkimage -A "$SD_MKIMAGE_ARCH" -O linux -T script -C none -n "armmu boot.scr $BOARD" \
    -d "$STAGE/boot.cmd" "$STAGE/boot.scr" >/dev/null
[ -z "$SD_CONFIG_TXT" ] || cp "boards/$BOARD/$SD_CONFIG_TXT" "$STAGE/config.txt"

uboot=""
if [ -n "$SD_UBOOT_FILE" ]; then
    uroot=$(deb_get "$SD_UBOOT_PKG") || exit 1
    uboot="$uroot/usr/lib/u-boot/$SD_UBOOT_FILE"
    [ -f "$uboot" ] || { echo "$SD_UBOOT_FILE not in $SD_UBOOT_PKG" >&2; exit 1; }
    case "$SD_UBOOT_PLACE" in
        kernel7.img|kernel8.img) cp "$uboot" "$STAGE/$SD_UBOOT_PLACE" ;;
        8K|none) ;;
        *) echo "SD_UBOOT_PLACE=$SD_UBOOT_PLACE?" >&2; exit 1 ;;
    esac
    echo "==> U-Boot $SD_UBOOT_FILE from $(basename "$(ls "${uroot%/root}"/*.deb)")" >&2
fi
cat > "$STAGE/README.txt" <<EOF
armmu SD card for $BOARD ($(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)).
Serial console: 115200 8N1. See armmu's README, "Flashing a board".
EOF
if [ -n "$SD_CONFIG_TXT" ]; then
    cat >> "$STAGE/README.txt" <<EOF
The Raspberry Pi firmware is NOT on this card (non-free, not in Debian main):
copy these files from https://github.com/raspberrypi/firmware/tree/master/boot
into this partition before booting: $SD_PI_FIRMWARE.
config.txt makes the firmware start U-Boot ($SD_UBOOT_PLACE), which runs
boot.scr.
EOF
fi

# The image: partition table first, then the file system written at its offset.
img="$OUT/sdcard.img"
rm -f "$img.tmp"
truncate -s "${IMG_MIB}M" "$img.tmp"
echo "label: dos
label-id: 0x61726d6d
start=$PART_START, type=c, bootable" | sfdisk -q "$img.tmp"
part_kib=$(( (IMG_MIB << 10) - PART_START / 2 ))
mkfs.vfat -F 32 -n ARMMU -i 61726d6d --offset "$PART_START" "$img.tmp" "$part_kib" >/dev/null
for f in "$STAGE"/*; do
    mcopy -i "$img.tmp@@$((PART_START * 512))" "$f" ::
done
if [ "$SD_UBOOT_PLACE" = 8K ]; then
    size=$(stat -c %s "$uboot")
    [ $((8192 + size)) -le $((PART_START * 512)) ] || { echo "U-Boot too big for 8 KiB..1 MiB" >&2; exit 1; }
    dd if="$uboot" of="$img.tmp" bs=1024 seek=8 conv=notrunc status=none
fi
mv "$img.tmp" "$img"

# What QEMU runs in place of the board's boot ROM/firmware (tests/common/sdcard.rs).
rm -f "$OUT/qemu-firmware.bin"
case "$SD_QEMU_FIRMWARE" in
    bios|raw) cp "$uboot" "$OUT/qemu-firmware.bin" ;;
    uimage-0x8000)
        mkimage -A arm -O linux -T kernel -C none -a 0x8000 -e 0x8000 -n "u-boot $BOARD" \
            -d "$uboot" "$OUT/qemu-firmware.bin" >/dev/null ;;
    "") ;;
esac
echo "==> ${img#"$ROOT"/} ($IMG_MIB MiB): $(cd "$STAGE" && ls | tr '\n' ' ')$([ "$SD_UBOOT_PLACE" = 8K ] && echo "+ SPL/U-Boot at 8 KiB")" >&2
