#!/usr/bin/env bash
# Run a program as /init on Debian's Linux 6.1 on both QEMU boards (scripts/linux-oracle.sh)
# and record its output in oracle/<program>.<arch>.txt: the program's own lines (the
# kernel's timestamped lines dropped) and, last, Linux's report of init's exit
# ("Attempted to kill init! exitcode=0x...": the wait status, 0x100 * exit code).
#
#   user/scripts/oracle-record.sh PROGRAM ["KERNEL COMMAND LINE WORDS"] [arm|aarch64 ...]
#   LINUX_ORACLE_DIR=/tmp/lo user/scripts/oracle-record.sh fork_cow "iomem=relaxed"
set -euo pipefail
cd "$(dirname "$0")/.."
PROG=${1:?program}
WORDS=${2:-}
shift $(( $# >= 2 ? 2 : 1 ))
ARCHES=${*:-arm aarch64}
mkdir -p oracle
for arch in $ARCHES; do
    case "$arch" in arm) tgt=armv7a-none-eabi ;; *) tgt=aarch64-unknown-none ;; esac
    cargo build --quiet --release --target "$tgt" >&2
    # QEMU's output only (stdout); the build's messages stay on stderr.
    log=$(scripts/linux-oracle.sh "$arch" "$PROG" "$WORDS" 2>/dev/null | tr -d '\r')
    out=oracle/$PROG.$arch.txt
    {
        echo "# Linux 6.1 ($arch), user/scripts/linux-oracle.sh $arch $PROG \"$WORDS\""
        echo "$log" | grep -v -E '^\[ *[0-9]+\.[0-9]+\]|^$|^(Booting Linux|Linux version|CPU:|Hardware name|Machine model|Kernel panic|---\[ end)' || true
        echo "$log" | grep -o 'Attempted to kill init! exitcode=0x[0-9a-f]*' | head -n1 || true
    } > "$out"
    echo "==> $out: $(grep -c '^ok - ' "$out" || true) ok, $(grep -c '^not ok - ' "$out" || true) not ok, $(grep -o 'exitcode=0x[0-9a-f]*' "$out" || echo 'no exit')"
done
