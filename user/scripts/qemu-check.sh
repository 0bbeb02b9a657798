#!/usr/bin/env bash
# Run the user programs under qemu-user (Linux syscall ABI emulation) as a Linux oracle.
#   user/scripts/qemu-check.sh [arm|aarch64 ...]      (default: both)
# Needs Debian's qemu-user (apt-get install -y qemu-user). Builds the release binaries first.
# Known deviations of qemu-user 7.2 from Linux are listed in KNOWN below and reported as such
# (scripts/host-oracle.py shows the host kernel's answer for them).
set -u
cd "$(dirname "$0")/.."
archs=("$@")
[ ${#archs[@]} -eq 0 ] && archs=(arm aarch64)

# "not ok" lines that are qemu-user 7.2 bugs, not Linux behaviour.
KNOWN='MAP_FIXED_NOREPLACE over a mapping|MAP_FIXED_NOREPLACE overlapping the end|mprotect len 0 -> 0'
# qemu-arm only: the 32-bit guest's 4 GiB is one host reservation, so mprotect never sees a hole.
KNOWN_ARM='mprotect over the hole|mprotect of the hole alone|range is gone afterwards|pages 1-4 are unmapped|B is unmapped|mprotect unmapped range'

status=0
fakemem=$(mktemp)
truncate -s $((0x09001000)) "$fakemem"
for arch in "${archs[@]}"; do
    case $arch in
        arm) target=armv7a-none-eabi; qemu=qemu-arm; known="$KNOWN|$KNOWN_ARM"
             # qemu-arm's guest space reaches 0xfffff000 (Linux: TASK_SIZE 0xbf000000).
             extra_env=(USER_TOP=0xfffff000 BENCH_CLOCK=monotonic TTY=0) ;;
        # mmap_errno's default USER_TOP is armmu's 2^39; Linux arm64 (48-bit VAs) ends at 2^48.
        aarch64) target=aarch64-unknown-none; qemu=qemu-aarch64; known="$KNOWN"
                 extra_env=(USER_TOP=0x1000000000000 TTY=0) ;;
        *) echo "unknown arch $arch"; exit 2 ;;
    esac
    cargo build --release -q -j1 --target "$target" || exit 1
    bin=target/$target/release
    echo "=== $arch ($qemu $($qemu --version | head -1 | awk '{print $3}'))"
    for p in init mmap_anon mmap_split mmap_errno cycles bench policy; do
        out=$(env "${extra_env[@]}" MEM_DEV="$fakemem" "$qemu" "$bin/$p" 2>&1); rc=$?
        summary=$(grep '^# passed' <<<"$out" || echo "rc=$rc")
        bad=$(grep '^not ok' <<<"$out" || true)
        unexplained=$(grep -vE "$known" <<<"$bad" | grep . || true)
        if [ "$p" = policy ]; then
            echo "$p: $summary (armmu policy: failures expected on Linux)"
        elif [ -z "$unexplained" ] && { [ $rc -eq 0 ] || [ -n "$bad" ]; }; then
            n=$(grep -c . <<<"$bad"); [ -z "$bad" ] && n=0
            echo "$p: $summary ($n known qemu-7.2 deviations)"
        else
            echo "$p: FAIL $summary"; echo "$unexplained"; status=1
        fi
    done
    for p in fault_kread fault_kwrite fault_kexec fault_null fault_rowrite fault_undef; do
        out=$("$qemu" "$bin/$p" 2>&1); rc=$?
        if [ $rc -ge 128 ] && ! grep -q UNEXPECTED <<<"$out"; then
            echo "$p: killed by signal $((rc - 128))"
        else
            echo "$p: FAIL rc=$rc"; echo "$out"; status=1
        fi
    done
done
rm -f "$fakemem"
exit $status
