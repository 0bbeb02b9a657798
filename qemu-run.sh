#!/usr/bin/env bash
# armmu: build and boot the kernel under QEMU, or run every test.
#
#   ./qemu-run.sh                 build, boot on QEMU virt (cortex-a15), show the serial log
#   ./qemu-run.sh test            host unit tests + every QEMU boot test (exit != 0 on failure)
#   ./qemu-run.sh build           only build out/ (kernel image, user programs, initramfs)
#   ./qemu-run.sh bench           run user/src/bin/bench.rs under -icount shift=0 (deterministic)
#   ./qemu-run.sh mutants FILE    cargo mutants on FILE with the host tests (docs/mutants.md)
#   ./qemu-run.sh sdcard --board NAME   build, then write out/NAME/sdcard.img, a flashable
#                                 SD-card image with the board's U-Boot (user/scripts/sdcard.sh;
#                                 boards with a boards/NAME/sdcard.sh: qemu-virt,
#                                 qemu-virt-aarch64, raspi2b, raspi3b, raspi4b,
#                                 orangepi-pc)
#
# Options for a boot:
#   --cpu NAME        QEMU CPU (default from boards/<board>/qemu.sh)
#   --initrd FILE     newc cpio (optionally gzipped) to hand to the kernel as initramfs
#   --append "ARGS"   kernel command line (e.g. "rdinit=/mmap_anon"); "rdinit=/bin/sh" boots
#                     the busybox initramfs (out/<board>/busybox.cpio) into an interactive
#                     shell on the serial console (QEMU: Ctrl-A X quits)
#   --timeout SECS    stop a boot after SECS seconds (default 60, none for the interactive
#                     shell; long fuzz runs need more)
#   --board NAME      board directory under boards/: qemu-virt (ARMv7-A, default),
#                     qemu-virt-aarch64 (AArch64), or a real board QEMU models
#                     (raspi2b, raspi3b, orangepi-pc, sabrelite, vexpress-a9,
#                     vexpress-a15): booted directly with -kernel and its Debian
#                     DTB from tests/data/dtb/ (boards/NAME/qemu.sh)
#
# Everything missing is installed: Rust targets/components come from
# rust-toolchain.toml (rustup), QEMU from Debian's packages (apt-get).
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)

BOARD=qemu-virt
# Boards the test command covers, each with its QEMU test file.
TEST_BOARDS="qemu-virt qemu-virt-aarch64"
CPU=""
INITRD=""
APPEND=""
TIMEOUT=""
CMD=run
while [ $# -gt 0 ]; do
    case "$1" in
        run|test|build|bench|sdcard) CMD=$1 ;;
        mutants) CMD=mutants; MUTANTS_FILE=${2:-}; [ $# -gt 1 ] && shift ;;
        --cpu) CPU=$2; shift ;;
        --initrd) INITRD=$2; shift ;;
        --append) APPEND=$2; shift ;;
        --timeout) TIMEOUT=$2; shift ;;
        --board) BOARD=$2; shift ;;
        -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done

# A board's QEMU facts (boards/NAME/qemu.sh). A real board's file names
# the kernel build it boots (QEMU_KERNEL_BOARD: qemu-virt or
# qemu-virt-aarch64, whose facts it takes first: Rust target, test file),
# its Debian DTB (QEMU_DTB, in tests/data/dtb/) and which of QEMU's serial
# ports is its console (QEMU_CONSOLE_SERIAL, 0 or 1). BOARD and OUT are
# then the kernel build's.
load_board() {
    if [ ! -f "$ROOT/boards/$1/qemu.sh" ]; then
        local known="" f
        for f in "$ROOT"/boards/*/qemu.sh; do
            known="$known $(basename "$(dirname "$f")")"
        done
        echo "no boards/$1/qemu.sh: boards QEMU boots:$known" >&2
        exit 2
    fi
    QEMU_KERNEL_BOARD=""
    KERNEL_TARGET=""
    # shellcheck source=boards/qemu-virt/qemu.sh
    . "$ROOT/boards/$1/qemu.sh"
    BOARD=${QEMU_KERNEL_BOARD:-$1}
    QEMU_DTB=""
    QEMU_CONSOLE_SERIAL=0
    if [ "$BOARD" != "$1" ]; then
        # The kernel build's facts, then the machine's own over them.
        # shellcheck source=boards/qemu-virt/qemu.sh
        . "$ROOT/boards/$BOARD/qemu.sh"
        # shellcheck source=boards/vexpress-a9/qemu.sh
        . "$ROOT/boards/$1/qemu.sh"
    fi
    # The kernel's Rust target (KERNEL_TARGET) where it differs from the
    # user programs' (RUST_TARGET): on AArch64 the kernel is built for
    # aarch64-unknown-none-softfloat (no FP/SIMD code), the programs for
    # aarch64-unknown-none.
    KERNEL_TARGET=${KERNEL_TARGET:-$RUST_TARGET}
    OUT="$ROOT/out/$BOARD"
}
# `sdcard` builds the kernel the card carries: boards/NAME/sdcard.sh names it
# (raspi4b has no QEMU machine, hence no qemu.sh).
if [ "$CMD" = sdcard ]; then
    SD_BOARD=$BOARD
    [ -f "$ROOT/boards/$SD_BOARD/sdcard.sh" ] || { echo "no boards/$SD_BOARD/sdcard.sh" >&2; exit 2; }
    BOARD=$(. "$ROOT/boards/$SD_BOARD/sdcard.sh" && echo "$SD_KERNEL_BOARD")
fi
load_board "$BOARD"
CPU=${CPU:-$QEMU_CPU}

need_root_apt() {
    local pkg=$1
    echo "==> installing $pkg (apt-get)" >&2
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$pkg" >/dev/null
}

ensure_tools() {
    command -v cargo >/dev/null || { echo "cargo not found: install Rust with rustup" >&2; exit 1; }
    # rustup installs the toolchain, targets and components named in
    # rust-toolchain.toml on first use; make it explicit for old rustups.
    if command -v rustup >/dev/null; then
        rustup show active-toolchain >/dev/null 2>&1 || rustup toolchain install
        rustup target add armv7a-none-eabi aarch64-unknown-none aarch64-unknown-none-softfloat >/dev/null 2>&1 || true
        rustup component add llvm-tools >/dev/null 2>&1 || true
    fi
    command -v qemu-system-arm >/dev/null && command -v qemu-system-aarch64 >/dev/null || need_root_apt qemu-system-arm
    command -v cpio >/dev/null || need_root_apt cpio
    # fdtget: the device-tree oracle of tests/common/devtree.rs.
    command -v fdtget >/dev/null || need_root_apt device-tree-compiler
}

objcopy_bin() {
    local sysroot
    sysroot=$(rustc --print sysroot)
    local oc
    oc=$(find "$sysroot/lib/rustlib" -name llvm-objcopy -type f | head -n1)
    [ -n "$oc" ] || { echo "llvm-objcopy not found: rustup component add llvm-tools" >&2; exit 1; }
    echo "$oc"
}

build() {
    mkdir -p "$OUT"
    echo "==> building user programs ($RUST_TARGET)" >&2
    cargo build --quiet --release --target "$RUST_TARGET" --manifest-path "$ROOT/user/Cargo.toml"
    local ubin="$ROOT/user/target/$RUST_TARGET/release"
    rm -rf "$OUT/rootfs"
    mkdir -p "$OUT/rootfs/bin"
    for f in "$ubin"/*; do
        [ -f "$f" ] && [ -x "$f" ] || continue
        case "$f" in *.d) continue ;; esac
        "$(objcopy_bin)" --strip-all "$f" "$OUT/rootfs/bin/$(basename "$f")"
    done
    cp "$OUT/rootfs/bin/init" "$OUT/rootfs/init"
    (cd "$OUT/rootfs" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet) > "$OUT/initramfs.cpio"
    gzip -9 -n -c "$OUT/initramfs.cpio" > "$OUT/initramfs.cpio.gz"
    # A static glibc program built outside this repo, as /init (tests/external).
    if [ -n "${EXTERNAL_PROGRAM:-}" ]; then
        rm -rf "$OUT/external" && mkdir -p "$OUT/external"
        cp "$ROOT/tests/external/$EXTERNAL_PROGRAM" "$OUT/external/init"
        (cd "$OUT/external" && echo init | cpio -o -H newc --quiet) > "$OUT/external.cpio"
    fi

    echo "==> building kernel ($KERNEL_TARGET, board $BOARD)" >&2
    ARMMU_INITRAMFS="$OUT/initramfs.cpio.gz" \
        cargo build --quiet --release --bin armmu --target "$KERNEL_TARGET" --no-default-features --features "board-$BOARD"
    local elf="$ROOT/target/$KERNEL_TARGET/release/armmu"
    cp "$elf" "$OUT/armmu.elf"
    "$(objcopy_bin)" -O binary "$elf" "$OUT/Image"
    echo "==> ${OUT#"$ROOT"/}/Image ($(stat -c %s "$OUT/Image") bytes, initramfs built in)" >&2
}

# Debian's busybox-static running the shell script of
# user/scripts/busybox-initramfs.sh (tests/common/processes.rs:
# busybox_shell; tests/common/tty.rs; `--append rdinit=/bin/sh`), in
# out/<board>/busybox.cpio. Built once per architecture, again when the
# scripts (which hold /init and the files script) are newer; sets bb_arch.
busybox_cpio() {
    case "$RUST_TARGET" in
        armv7a-*) bb_arch=arm ;;
        *) bb_arch=aarch64 ;;
    esac
    if [ ! -s "$OUT/busybox.cpio" ] \
        || [ "$ROOT/user/scripts/busybox-initramfs.sh" -nt "$OUT/busybox.cpio" ] \
        || [ "$ROOT/user/scripts/files.sh" -nt "$OUT/busybox.cpio" ] \
        || [ "$ROOT/user/scripts/exec.sh" -nt "$OUT/busybox.cpio" ]; then
        echo "==> busybox initramfs ($bb_arch): out/$BOARD/busybox.cpio" >&2
        "$ROOT/user/scripts/busybox-initramfs.sh" "$bb_arch" "$OUT/busybox.cpio.tmp" \
            && mv "$OUT/busybox.cpio.tmp" "$OUT/busybox.cpio" || {
            rm -f "$OUT/busybox.cpio.tmp"
            echo "FAILED: could not build out/$BOARD/busybox.cpio (Debian's busybox-static, see above)" >&2
            return 1
        }
    fi
}

qemu_cmd() {
    # $1 = cpu, $2 = initrd, $3 = append
    local cmd=("$QEMU_SYSTEM" -M "$QEMU_MACHINE" -cpu "$1" -m "$QEMU_MEM" -nographic -nic none
        -semihosting-config enable=on,target=native
        -kernel "$OUT/Image")
    # A real board: its Debian DTB, and its console on QEMU's second
    # serial port where it is there (the first one then goes nowhere).
    [ -n "$QEMU_DTB" ] && cmd+=(-dtb "$ROOT/tests/data/dtb/$QEMU_DTB")
    [ "$QEMU_CONSOLE_SERIAL" = 1 ] && cmd+=(-serial null -serial mon:stdio)
    [ -n "$2" ] && cmd+=(-initrd "$2")
    [ -n "$3" ] && cmd+=(-append "$3")
    printf '%q ' "${cmd[@]}"
}

case "$CMD" in
    build)
        ensure_tools
        build
        ;;
    run)
        ensure_tools
        build
        initrd=$INITRD   # empty: the kernel's built-in initramfs
        timeout_opts=()
        # An interactive shell on the serial console (rdinit=/bin/sh or
        # /bin/ash): the busybox initramfs, no time limit unless --timeout.
        case " $APPEND " in
            *" rdinit=/bin/sh "*|*" rdinit=/bin/ash "*)
                if [ -z "$initrd" ]; then
                    busybox_cpio
                    initrd=$OUT/busybox.cpio
                fi
                TIMEOUT=${TIMEOUT:-0}
                ;;
        esac
        TIMEOUT=${TIMEOUT:-60}
        # At a terminal, QEMU must stay in its foreground process group to
        # read the keyboard (timeout otherwise moves it to its own group).
        [ -t 0 ] && timeout_opts+=(--foreground)
        echo "==> $(qemu_cmd "$CPU" "$initrd" "$APPEND")" >&2
        eval "timeout ${timeout_opts[*]} $TIMEOUT $(qemu_cmd "$CPU" "$initrd" "$APPEND")"
        ;;
    bench)
        ensure_tools
        build
        # -icount shift=0: one instruction per ns of virtual time, so CNTVCT
        # (62.5 MHz) counts 16 instructions per tick, run to run identical.
        # Beside each figure: Linux 6.1's on the same board, the ratio and
        # the target (tests/data/bench.txt).
        col=2
        case "$QEMU_SYSTEM" in *aarch64*) col=5 ;; esac
        eval "timeout 300 $(qemu_cmd "$CPU" "" "rdinit=/bin/bench") -icount shift=0" \
            | sed -n '/running/,$p' | tee "$OUT/bench.log"
        echo
        echo "$BOARD ($CPU), -icount shift=0, CNTVCT ticks per operation (1 tick = 16 instructions):"
        awk -v col="$col" '
            FNR == NR { if ($0 !~ /^#/ && NF >= 7) { linux[$1] = $col; target[$1] = $(col + 1) } next }
            /^bench [a-z0-9_]+: [0-9]+ ticks\/op/ {
                name = $2; sub(/:$/, "", name); t = $3; got[name] = t
                if (!(name in linux)) next
                ratio = t > 0 ? sprintf("%.1fx", linux[name] / t) : "-"
                goal = target[name]
                if (name ~ /_60000_vmas$/ && ("mmap_munmap_4k" in got)) {
                    goal = "<= 2x few VMAs"
                    ok = (t <= 2 * got["mmap_munmap_4k"]) ? "yes" : "no"
                    goal = goal sprintf(" (%.2fx)", t / got["mmap_munmap_4k"])
                } else if (goal == "-") { ok = "-" } else { ok = (t <= goal) ? "yes" : "no" }
                printf "| %-26s | %6d | %6d | %7s | %-22s | %-3s |\n", name, t, linux[name], ratio, goal, ok
            }
            FNR == 1 && NR > 1 { printf "| %-26s | %6s | %6s | %7s | %-22s | %-3s |\n", "operation", "armmu", "Linux", "Linux/armmu", "target", "met"
                                 print "|---|---|---|---|---|---|" }
        ' "$ROOT/tests/data/bench.txt" "$OUT/bench.log"
        ;;
    sdcard)
        ensure_tools
        build
        "$ROOT/user/scripts/sdcard.sh" "$SD_BOARD"
        ;;
    mutants)
        command -v cargo-mutants >/dev/null || { echo "install it: cargo install --locked cargo-mutants" >&2; exit 1; }
        [ -n "${MUTANTS_FILE:-}" ] || { echo "usage: ./qemu-run.sh mutants src/mm/space.rs" >&2; exit 2; }
        # Host library tests only (the boot-input fuzzing is skipped: it is
        # slow and tests the loaders, not the mutated code).
        cargo mutants --file "$MUTANTS_FILE" -j 2 --timeout 60 -- --lib -- --skip fuzz_boot_inputs
        ;;
    test)
        ensure_tools
        echo "==> host unit tests" >&2
        cargo test --quiet --lib
        echo "==> kernel memory cost per mapped MiB and per VMA (tests/mem_cost.rs)" >&2
        cargo test --quiet --test mem_cost
        # The DFSR comparison against the real aarch32-cpu crate: its Dfsr
        # only exists when the crate is compiled for ARMv7-A (it reads the
        # arm_architecture cfg its build script sets on ARM targets).
        echo "==> aarch32-cpu DFSR decode vs. the ARM ARM (host, cfg v7-a)" >&2
        dfsr=$(CARGO_TARGET_DIR="$ROOT/target/host-v7cfg" \
            RUSTFLAGS='--cfg arm_architecture="v7-a" --cfg armv5te_or_higher' \
            cargo test --quiet --lib real_aarch32_cpu 2>&1) || { echo "$dfsr"; exit 1; }
        echo "$dfsr" | grep "test result"
        # Zero tests run would also "pass": insist that it ran.
        echo "$dfsr" | grep -q "1 passed" || { echo "the aarch32-cpu comparison did not run" >&2; exit 1; }
        # clippy enforces the crate's deny(undocumented_unsafe_blocks) and
        # the rest of the lint set, on the host and on both kernel targets.
        echo "==> rustfmt --check, clippy (host)" >&2
        cargo fmt --check
        cargo fmt --check --manifest-path "$ROOT/user/Cargo.toml"
        cargo clippy --quiet --lib --tests -- -D warnings
        for b in $TEST_BOARDS; do
            load_board "$b"
            build
            # Debian's busybox-static running the shell script of
            # user/scripts/busybox-initramfs.sh (tests/common/processes.rs:
            # busybox_shell). Built once per architecture; without it (no
            # network for apt-get download) the test run fails: the busybox
            # test is required, not optional.
            busybox_cpio || exit 1
            bb_var=ARMMU_BUSYBOX_CPIO_$(echo "$bb_arch" | tr a-z A-Z)
            export "$bb_var=$OUT/busybox.cpio"
            # The flashable SD-card images carrying this kernel build
            # (boards/*/sdcard.sh naming it), booted through each board's
            # Debian U-Boot by tests/common/sdcard.rs. Debian's packages are
            # fetched once into out/debian/ (user/scripts/sdcard.sh).
            sd_boards=""
            for sd in "$ROOT"/boards/*/sdcard.sh; do
                [ "$(. "$sd" && echo "$SD_KERNEL_BOARD")" = "$b" ] || continue
                sd_boards="$sd_boards $(basename "$(dirname "$sd")")"
                "$ROOT/user/scripts/sdcard.sh" "$(basename "$(dirname "$sd")")" || exit 1
            done
            echo "==> clippy ($KERNEL_TARGET)" >&2
            ARMMU_INITRAMFS="$OUT/initramfs.cpio.gz" cargo clippy --quiet --release --bin armmu \
                --target "$KERNEL_TARGET" --no-default-features --features "board-$b" -- -D warnings
            echo "==> QEMU boot tests: $b ($QEMU_CPUS_TESTED)" >&2
            ARMMU_OUT="$OUT" ARMMU_QEMU="$QEMU_SYSTEM" ARMMU_MACHINE="$QEMU_MACHINE" \
                ARMMU_CPUS="$QEMU_CPUS_TESTED" ARMMU_MEM="$QEMU_MEM" \
                cargo test --quiet --test "$QEMU_TEST" -- --test-threads 2 --skip sdcard_
            # The SD cards through U-Boot on their own: the Raspberry Pi and
            # H3 machines run 4 vCPUs, which would starve the timing-sensitive
            # interactive tests (tests/common/tty.rs) running beside them.
            echo "==> SD-card images booted through U-Boot:$sd_boards" >&2
            ARMMU_OUT="$OUT" cargo test --quiet --test "$QEMU_TEST" sdcard_ -- --test-threads 2
        done
        echo "==> all tests passed" >&2
        ;;
esac
