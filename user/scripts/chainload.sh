#!/usr/bin/env bash
# Send a new kernel to a board's U-Boot over the serial line and boot it: no
# re-flashing of the SD card between builds (like the Raspberry Pi UART
# chainloaders, with the U-Boot the card already carries).
#
#   user/scripts/chainload.sh --board NAME --port /dev/ttyUSB0 [options]
#
#   --board NAME     a board with boards/NAME/sdcard.sh (raspi2b, raspi3b,
#                    orangepi-pc, qemu-virt, qemu-virt-aarch64): which kernel
#                    build (out/<kernel board>/Image), bootz or booti, which DTB
#   --port DEV       the serial device (a USB-serial adapter, or a pty)
#   --baud N         line speed, default 115200 (U-Boot's on every board here)
#   --kernel FILE    the kernel to send (default out/<kernel board>/Image)
#   --initrd FILE    also send an initramfs (default: none, the kernel's
#                    built-in one is used)
#   --append "ARGS"  the kernel command line (U-Boot's bootargs), default empty
#   --follow SECS    after booting, copy the serial output to stdout for SECS
#                    seconds (default 0: leave the line to your terminal program)
#
# What it does, on the U-Boot console: interrupts autoboot (sends CR until the
# `=> ` prompt), then for each file `loady <addr>` and a YMODEM transfer with
# `sx --ymodem` (lrzsz; installed from Debian with apt-get if missing) to
# ${kernel_addr_r}, ${fdt_addr_r} (the board's Debian DTB from
# out/NAME/sdcard/, as the card holds it; QEMU virt: none, U-Boot's own tree
# ${fdtcontroladdr} is passed on as in boards/qemu-virt/boot.cmd) and
# ${ramdisk_addr_r}; then `setenv bootargs` and `bootz` (ARMv7-A) or `booti`
# (AArch64) with those addresses: the same addresses boards/NAME/boot.cmd uses.
# At 115200 baud the ~700 KB kernel takes about a minute.
set -euo pipefail
# Byte-wise reads of the line: no multibyte decoding.
export LC_ALL=C
cd "$(dirname "$0")/../.."
ROOT=$(pwd)

BOARD="" PORT="" BAUD=115200 KERNEL="" INITRD="" APPEND="" FOLLOW=0
while [ $# -gt 0 ]; do
    case "$1" in
        --board) BOARD=$2; shift ;;
        --port) PORT=$2; shift ;;
        --baud) BAUD=$2; shift ;;
        --kernel) KERNEL=$2; shift ;;
        --initrd) INITRD=$2; shift ;;
        --append) APPEND=$2; shift ;;
        --follow) FOLLOW=$2; shift ;;
        -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
[ -n "$BOARD" ] && [ -n "$PORT" ] || { echo "usage: $0 --board NAME --port DEV (--help)" >&2; exit 2; }
[ -f "boards/$BOARD/sdcard.sh" ] || { echo "no boards/$BOARD/sdcard.sh" >&2; exit 2; }
SD_DTB=""
# shellcheck source=boards/raspi2b/sdcard.sh
. "boards/$BOARD/sdcard.sh"
KERNEL=${KERNEL:-$ROOT/out/$SD_KERNEL_BOARD/Image}
[ -s "$KERNEL" ] || { echo "$KERNEL missing: ./qemu-run.sh build --board $SD_KERNEL_BOARD" >&2; exit 1; }
DTB=""
if [ -n "$SD_DTB" ]; then
    DTB=$ROOT/out/$BOARD/sdcard/$(basename "$SD_DTB")
    [ -s "$DTB" ] || { echo "$DTB missing: ./qemu-run.sh sdcard --board $BOARD" >&2; exit 1; }
fi
case "$SD_MKIMAGE_ARCH" in
    arm) BOOTCMD=bootz ;;
    arm64) BOOTCMD=booti ;;
    *) echo "unknown SD_MKIMAGE_ARCH $SD_MKIMAGE_ARCH" >&2; exit 2 ;;
esac

if ! command -v sx >/dev/null; then
    echo "==> installing lrzsz (sx) with apt-get" >&2
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq lrzsz >/dev/null
fi

[ -c "$PORT" ] || { echo "$PORT is not a character device" >&2; exit 1; }
stty -F "$PORT" "$BAUD" raw -echo -ixon -ixoff -crtscts cs8 -cstopb -parenb clocal
exec 3<>"$PORT"

# Read the line until its output contains $1 (or $2 seconds pass); what is
# read goes to stderr so the user sees U-Boot talk.
SEEN=""
wait_for() {
    local pat=$1 secs=$2 c end=$((SECONDS + $2))
    while [ "$SECONDS" -lt "$end" ]; do
        if IFS= read -r -N 1 -t 1 c <&3; then
            printf '%s' "$c" >&2
            SEEN="$SEEN$c"
            [ "${#SEEN}" -le 4000 ] || SEEN=${SEEN: -2000}
            [[ $SEEN == *"$pat"* ]] && return 0
        fi
    done
    echo >&2
    echo "chainload: no \"$pat\" from U-Boot within ${secs}s" >&2
    return 1
}
send() { printf '%s\r' "$1" >&3; }

echo "==> waiting for U-Boot's prompt on $PORT (reset or power the board now)" >&2
SEEN=""
prompt=0
for _ in $(seq 1 240); do
    printf '\r' >&3
    if wait_for "=> " 1 2>/dev/null; then prompt=1; break; fi
done
[ "$prompt" = 1 ] || { echo "chainload: no U-Boot prompt on $PORT" >&2; exit 1; }
# Whatever else was queued: let it arrive, then start from a fresh prompt.
sleep 1
while IFS= read -r -N 1 -t 0.3 _ <&3; do :; done
send ""
wait_for "=> " 5

# loady ADDR_VAR FILE: YMODEM FILE to ${ADDR_VAR}.
loady() {
    local var=$1 file=$2
    echo "==> loady \${$var} $file ($(stat -c %s "$file") bytes)" >&2
    SEEN=""
    send "loady \${$var} $BAUD"
    wait_for "Ready for binary (ymodem)" 10
    # U-Boot may ask to change the speed first: it is the same here.
    sx --ymodem -k -q "$file" <&3 >&3
    SEEN=""
    wait_for "Total Size" 30
    wait_for "=> " 10
}
loady kernel_addr_r "$KERNEL"
fdt='${fdtcontroladdr}'
if [ -n "$DTB" ]; then
    loady fdt_addr_r "$DTB"
    fdt='${fdt_addr_r}'
fi
rd=-
if [ -n "$INITRD" ]; then
    loady ramdisk_addr_r "$INITRD"
    rd='${ramdisk_addr_r}:${filesize}'
fi
SEEN=""
send "setenv bootargs \"$APPEND\""
wait_for "=> " 5
echo "==> $BOOTCMD \${kernel_addr_r} $rd $fdt" >&2
send "$BOOTCMD \${kernel_addr_r} $rd $fdt"
if [ "$FOLLOW" != 0 ]; then
    # Until SECS pass or the line ends (the board or QEMU went away).
    timeout "$FOLLOW" cat <&3 || true
fi
exec 3>&-
