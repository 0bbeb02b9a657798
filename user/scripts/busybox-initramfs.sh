#!/usr/bin/env bash
# A busybox initramfs that exercises processes from a shell, for armmu and for Linux.
#
#   user/scripts/busybox-initramfs.sh arm|aarch64 OUT.cpio       build the newc cpio
#   user/scripts/busybox-initramfs.sh --linux arm|aarch64         build it and boot it on
#        Debian's Linux 6.1 under the same QEMU board (the reference output,
#        user/oracle/busybox.<arch>.txt), kernel from $LINUX_ORACLE_DIR/<arch>/ like
#        scripts/linux-oracle.sh
#
# Debian's busybox-static (armhf / arm64) is fetched once with `apt-get download` into
# $BUSYBOX_DIR (default /tmp/busybox-static); `dpkg --add-architecture` and
# `apt-get update` are done when the architecture is missing (root, or sudo).
# The cpio (newc, owner 0:0): /init (a `#!/bin/sh` script, below), /bin/busybox,
# /bin/sh -> busybox (symlink), /dev/console, /dev/null, /dev/zero, /dev/mem (character
# devices 5:1, 1:3, 1:5, 1:1), /proc (empty directory, mounted by the script when
# `mount` works). Every command the script runs as `busybox APPLET` or `/bin/busybox
# ...` is a child process: fork (or vfork) + execve + wait4. It ends with `exit 7`: on
# Linux init's exit panics the kernel with "Attempted to kill init! exitcode=0x00000700".
# The cpio also holds /files.sh (scripts/files.sh: files from the shell, run with
# rdinit=/files.sh; tests/common/files.rs) and /exec.sh (scripts/exec.sh: programs
# written at run time executed, rdinit=/exec.sh; tests/common/files.rs).
# BB_RDINIT=/files.sh (or /exec.sh) with --linux boots that script instead of /init and
# records oracle/busybox-files.<arch>.txt (oracle/busybox-exec.<arch>.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
RUN_LINUX=0
if [ "${1:-}" = --linux ]; then RUN_LINUX=1; shift; fi
# OUT is taken relative to where the script was called from.
case "${2:-}" in
    ""|/*) ;;
    *) set -- "$1" "$OLDPWD/$2" ;;
esac
ARCH=${1:?arm or aarch64}
OUT=${2:-}
case "$ARCH" in
    arm) DEBARCH=armhf QEMU=qemu-system-arm CPU=cortex-a15 ;;
    aarch64) DEBARCH=arm64 QEMU=qemu-system-aarch64 CPU=cortex-a53 ;;
    *) echo "arm or aarch64" >&2; exit 2 ;;
esac
DIR=${BUSYBOX_DIR:-/tmp/busybox-static}
mkdir -p "$DIR/$DEBARCH"
bb="$DIR/$DEBARCH/bin/busybox"
if [ ! -x "$bb" ]; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    fail() {
        echo "busybox-initramfs.sh: cannot get Debian's busybox-static:$DEBARCH: $1" >&2
        echo "  (it needs apt: network access to a Debian mirror, root or sudo)" >&2
        exit 1
    }
    command -v apt-get >/dev/null && command -v dpkg >/dev/null || fail "no apt-get/dpkg on this machine"
    if ! dpkg --print-foreign-architectures | grep -qx "$DEBARCH" \
        && [ "$(dpkg --print-architecture)" != "$DEBARCH" ]; then
        $sudo dpkg --add-architecture "$DEBARCH" || fail "dpkg --add-architecture $DEBARCH failed"
        $sudo apt-get update -qq || fail "apt-get update failed"
    fi
    if ! apt-cache show "busybox-static:$DEBARCH" >/dev/null 2>&1; then
        $sudo apt-get update -qq || fail "apt-get update failed"
    fi
    (cd "$DIR" && rm -f busybox-static_*_"$DEBARCH".deb && apt-get download -q "busybox-static:$DEBARCH") \
        || fail "apt-get download busybox-static:$DEBARCH failed"
    deb=$(ls "$DIR"/busybox-static_*_"$DEBARCH".deb 2>/dev/null | head -n1)
    [ -n "$deb" ] || fail "no .deb after apt-get download"
    dpkg-deb -x "$deb" "$DIR/$DEBARCH" || fail "dpkg-deb -x $deb failed"
    [ -x "$bb" ] || fail "$deb has no bin/busybox"
fi

root=$(mktemp -d)
cleanup() { rm -rf "$root" "$root.cpio"; }
trap cleanup EXIT
mkdir -p "$root/bin" "$root/dev" "$root/proc"
cp "$bb" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
# Device nodes need root (mknod); without it the cpio has none and the kernel must
# provide /dev itself.
if [ "$(id -u)" = 0 ]; then
    mknod "$root/dev/console" c 5 1
    mknod "$root/dev/null" c 1 3
    mknod "$root/dev/zero" c 1 5
    mknod "$root/dev/mem" c 1 1
fi
cat > "$root/init" <<'SCRIPT'
#!/bin/sh
# armmu processes test: each `busybox X` is a child process (fork + execve + wait4).
export PATH=/bin
echo "bb: start, pid $$"
busybox mount -t proc proc /proc 2>/dev/null && echo "bb: mounted /proc" || echo "bb: /proc not mounted (the kernel provides it, or not)"
busybox echo "bb: busybox echo from a child process"
busybox true; echo "bb: busybox true -> $?"
busybox false; echo "bb: busybox false -> $?"
/bin/busybox sh -c 'exit 3'; echo "bb: /bin/busybox sh -c 'exit 3' -> $?"
for i in 1 2 3; do busybox echo "bb: for loop, child $i"; done
n=0; while [ $n -lt 20 ]; do busybox true || break; n=$((n + 1)); done; echo "bb: 20 children in a while loop -> $n"
echo "bb: uname -m -> $(busybox uname -m)"
echo "bb: id -u -> $(busybox id -u)"
busybox sleep 0.05; echo "bb: sleep 0.05 -> $?"
busybox sh -c 'kill -TERM $$'; echo "bb: a child killed by SIGTERM -> $?"
busybox sleep 5 & bg=$!; kill $bg; wait $bg; echo "bb: background sleep killed by the shell -> $?"
busybox sleep 0.05 & wait $!; echo "bb: background sleep waited for -> $?"
trap 'echo "bb: trap: SIGUSR1 handled by the shell"' USR1; kill -USR1 $$
echo "bb: pipe -> $(busybox echo through a pipe | busybox tr a-z A-Z)"
echo "bb: devmem 0x09000fe0 32 (PL011 UARTPeriphID0) -> $(busybox devmem 0x09000fe0 32)"
echo "bb: /proc/self/maps of a child (busybox cat):"
busybox cat /proc/self/maps
echo "bb: cat /proc/self/maps -> $?"
echo "bb: done, exit 7"
exit 7
SCRIPT
chmod 755 "$root/init"
cp scripts/files.sh "$root/files.sh"
chmod 755 "$root/files.sh"
cp scripts/exec.sh "$root/exec.sh"
chmod 755 "$root/exec.sh"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) > "$root.cpio"
if [ -n "$OUT" ]; then
    cp "$root.cpio" "$OUT"
    echo "==> $OUT ($(stat -c %s "$OUT") bytes): /init, /files.sh, /exec.sh, /bin/busybox, /bin/sh, /dev, /proc" >&2
fi
if [ "$RUN_LINUX" = 1 ]; then
    LDIR=${LINUX_ORACLE_DIR:-/tmp/linux-oracle}
    vmlinuz=$(find "$LDIR/$ARCH" -name 'vmlinuz-*' 2>/dev/null | head -n1 || true)
    [ -n "$vmlinuz" ] || { echo "no kernel in $LDIR/$ARCH: run scripts/linux-oracle.sh $ARCH init once" >&2; exit 1; }
    # norandmaps: the maps are the same every run; iomem=relaxed: /dev/mem may map the
    # PL011 its driver holds (CONFIG_IO_STRICT_DEVMEM).
    log=$(timeout 300 "$QEMU" -M virt -cpu "$CPU" -m 512M -nographic -net none -no-reboot \
        -kernel "$vmlinuz" -initrd "$root.cpio" \
        -append "console=ttyAMA0 quiet panic=-1 norandmaps iomem=relaxed${BB_RDINIT:+ rdinit=$BB_RDINIT}" | tr -d '\r')
    echo "$log"
    # The reference: the script's output without the kernel's timestamped lines.
    mkdir -p oracle
    name=busybox
    [ -z "${BB_RDINIT:-}" ] || name=busybox-$(basename "$BB_RDINIT" .sh)
    {
        echo "# Linux 6.1 ($ARCH), ${BB_RDINIT:+BB_RDINIT=$BB_RDINIT }user/scripts/busybox-initramfs.sh --linux $ARCH (busybox-static $(basename "$(ls "$DIR"/busybox-static_*_"$DEBARCH".deb | head -n1)" .deb))"
        echo "$log" | grep -v -E '^\[ *[0-9]+\.[0-9]+\]|^$|^(Booting Linux|Linux version|CPU:|Hardware name|Machine model|Kernel panic|---\[ end)' || true
        echo "$log" | grep -o 'Attempted to kill init! exitcode=0x[0-9a-f]*' | head -n1 || true
    } > "oracle/$name.$ARCH.txt"
    echo "==> oracle/$name.$ARCH.txt" >&2
fi
