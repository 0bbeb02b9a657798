#!/usr/bin/env bash
# Run one user program as /init on Debian's real Linux 6.1 under the same QEMU board, the
# reference for what armmu must do (../shared/PLATFORM-FACTS.md).
#
#   user/scripts/linux-oracle.sh arm|aarch64 PROGRAM ["KERNEL COMMAND LINE WORDS"]
#   user/scripts/linux-oracle.sh arm fuzz "seed=1 count=100000 mode=mm wx=linux user_top=0xbf000000"
#   user/scripts/linux-oracle.sh aarch64 fuzz "seed=1 count=100000 mode=mm wx=linux user_top=0x1000000000000"
#   user/scripts/linux-oracle.sh arm big_munmap
#
# PROGRAM is a binary of user/target/<target>/release/ (built here) or a path to any
# static ELF. The cpio holds /init and the device nodes /dev/null, /dev/zero, /dev/console,
# /dev/mem (mknod: run as root). The kernel package is fetched once with `apt-get download` into
# $LINUX_ORACLE_DIR (default /tmp/linux-oracle); it needs `dpkg --add-architecture armhf`
# (or arm64) and `apt-get update`. Linux ends with "Attempted to kill init!" when /init
# exits: that line is the end of the run, its exitcode the program's status.
#
# Optional environment: LINUX_ORACLE_QEMU_ARGS, extra QEMU arguments (e.g. "-icount
# shift=0" for deterministic CNTVCT figures, as in ../shared/PLATFORM-FACTS.md);
# LINUX_ORACLE_EXTRA_DIR, a directory whose contents are copied into the cpio's root
# next to /init (e.g. a busybox tree: bin/busybox, bin/sh, a script).
set -euo pipefail
cd "$(dirname "$0")/.."
ARCH=${1:?arm or aarch64}
PROG=${2:?program}
WORDS=${3:-}
DIR=${LINUX_ORACLE_DIR:-/tmp/linux-oracle}
case "$ARCH" in
    arm) TGT=armv7a-none-eabi DEBARCH=armhf FLAVOUR=armmp QEMU=qemu-system-arm CPU=cortex-a15 ;;
    aarch64) TGT=aarch64-unknown-none DEBARCH=arm64 FLAVOUR=arm64-unsigned QEMU=qemu-system-aarch64 CPU=cortex-a53 ;;
    *) echo "arm or aarch64" >&2; exit 2 ;;
esac
mkdir -p "$DIR"
vmlinuz=$(find "$DIR/$ARCH" -name 'vmlinuz-*' 2>/dev/null | head -n1 || true)
if [ -z "$vmlinuz" ]; then
    pkg=$(apt-cache search "^linux-image-6\.1\.[0-9.-]*-$FLAVOUR\$" | awk '{print $1}' | sort -V | tail -n1)
    [ -n "$pkg" ] || { echo "no linux-image-*-$FLAVOUR: dpkg --add-architecture $DEBARCH && apt-get update" >&2; exit 1; }
    (cd "$DIR" && apt-get download "$pkg:$DEBARCH")
    dpkg-deb -x "$(ls "$DIR"/"$pkg"_*.deb | head -n1)" "$DIR/$ARCH"
    vmlinuz=$(find "$DIR/$ARCH" -name 'vmlinuz-*' | head -n1)
fi
if [ -f "$PROG" ]; then
    bin=$PROG
else
    cargo build --quiet --release --target "$TGT"
    bin=target/$TGT/release/$PROG
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/dev"
cp "$bin" "$root/init"
if [ -n "${LINUX_ORACLE_EXTRA_DIR:-}" ]; then
    cp -a "$LINUX_ORACLE_EXTRA_DIR"/. "$root"/
fi
mknod "$root/dev/null" c 1 3
mknod "$root/dev/zero" c 1 5
mknod "$root/dev/console" c 5 1
# /dev/mem for the programs that map the PL011 (Linux needs "iomem=relaxed" on the command
# line to let user space map a region a driver holds: CONFIG_IO_STRICT_DEVMEM).
mknod "$root/dev/mem" c 1 1
(cd "$root" && find . | cpio -o -H newc -R 0:0 --quiet) | gzip > "$root.cpio.gz"
# shellcheck disable=SC2086 # word splitting of the extra arguments is intended
timeout 600 "$QEMU" -M virt -cpu "$CPU" -m 512M -nographic -net none -no-reboot \
    ${LINUX_ORACLE_QEMU_ARGS:-} -kernel "$vmlinuz" -initrd "$root.cpio.gz" \
    -append "console=ttyAMA0 quiet panic=-1 $WORDS"
rm -f "$root.cpio.gz"
