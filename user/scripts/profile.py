#!/usr/bin/env python3
"""Where a benchmark's instructions go, per kernel function.

    user/scripts/profile.py [--board qemu-virt|qemu-virt-aarch64] [--categories] BENCH [TOP]

Boots out/<board>/Image with `rdinit=/bin/bench BENCH_ONLY=BENCH` under
`-icount shift=0` and QEMU's `-d in_asm,exec,nochain` log: `in_asm` gives
each translation block's instructions when it is translated, `exec` (with
chaining off) one line per block executed. Between the two `yield` marks
bench.rs puts around the timed loop, every executed block's instruction
count is added to the kernel function holding its first instruction
(symbols from out/<board>/armmu.elf); user code is one line. The total
divided by the benchmark's operation count is its instructions per
operation (16 instructions = 1 CNTVCT tick), so the table is a breakdown
of the figure `./qemu-run.sh bench` prints. A block that straddles two
functions is counted in the first (inlining makes that rare and small).
"""
import argparse
import bisect
import collections
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

BOARDS = {
    "qemu-virt": ("qemu-system-arm", "cortex-a15", "yield"),
    "qemu-virt-aarch64": ("qemu-system-aarch64", "cortex-a53", "yield"),
}


# Where instructions go, by kind of work (first matching pattern wins).
CATEGORIES = [
    ("user code", [r"^\(user\)$"]),
    ("exception entry/exit", [r"^armmu_(exception|vec|vectors|a64_)", r"::user::user_trap",
                              r"fault::decode", r"fault::class", r"user_fault", r"::user::sys_of",
                              r"return_to_user"]),
    ("zeroing/copying pages", [r"pageops", r"copy_frame", r"alloc_zeroed", r"memclr", r"memset"]),
    ("other memcpy (struct moves)", [r"memcpy", r"memmove"]),
    ("TLB and cache maintenance", [r"mm::tlb", r"tlb\.\.", r"sync_icache", r"dcache",
                                   r"arch::\w+::cache::"]),
    ("page-table walk and update", [r"mm::pagetable", r"\.\.pagetable\.\.",
                                    r"arch::\w+::(mmu|format|desc|l2alloc|walk)::",
                                    r"arch\.\.\w+\.\.(mmu|format|desc)\.\.", r"mm::planner",
                                    r"planner\.\.", r"phys_to_virt", r"mm::memtype",
                                    r"memtype\.\.", r"is_unmapped"]),
    ("frame allocation", [r"mm::frame", r"frame\.\.Frame"]),
    ("heap allocation", [r"mm::heap", r"heap\.\.", r"linked_list_allocator", r"raw_vec",
                         r"^alloc::", r"__rust_"]),
    ("VMA bookkeeping", [r"mm::vma", r"vma\.\."]),
    ("address-space logic (mmap/munmap/fault)", [r"mm::space", r"mm::shm", r"devio",
                                                 r"task::memory", r"space\.\."]),
    ("syscall decode, dispatch, locks", [r"task::", r"syscall::", r"spin::", r"inject",
                                         r"kmem", r"try_map", r"audit", r"task\.\."]),
]


def category(name):
    for cat, pats in CATEGORIES:
        if any(re.search(p, name) for p in pats):
            return cat
    return "other"


def symbols(elf):
    nm = subprocess.run(["llvm-nm", "-n", "--demangle", elf], capture_output=True,
                        text=True, check=True).stdout
    addrs, names = [], []
    for line in nm.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[0] and parts[1] in "tTwW":
            addrs.append(int(parts[0], 16))
            # Strip the hash suffix and generic noise for a short name.
            names.append(re.sub(r"::h[0-9a-f]{16}$", "", parts[2]))
    return addrs, names


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--board", default="qemu-virt", choices=sorted(BOARDS))
    ap.add_argument("--categories", action="store_true",
                    help="sum the functions into kinds of work (exception, table, zeroing...)")
    ap.add_argument("bench")
    ap.add_argument("top", nargs="?", type=int, default=30)
    opts = ap.parse_args()
    board, bench, top = opts.board, opts.bench, opts.top
    qemu, cpu, marker = BOARDS[board]
    out = os.path.join(ROOT, "out", board)
    addrs, names = symbols(os.path.join(out, "armmu.elf"))
    kernel_base = min(a for a in addrs if a >= 0x8000_0000) if addrs else 0

    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "qemu.log")
        cmd = [qemu, "-M", "virt", "-cpu", cpu, "-m", "512M", "-nographic", "-nic", "none",
               "-semihosting-config", "enable=on,target=native",
               "-kernel", os.path.join(out, "Image"),
               "-append", f"rdinit=/bin/bench BENCH_ONLY={bench}",
               "-icount", "shift=0", "-d", "in_asm,exec,nochain", "-D", log]
        serial = subprocess.run(cmd, capture_output=True, text=True, timeout=600).stdout
        size = {}        # block start pc -> instructions (latest translation)
        marks = set()    # user blocks holding the marker
        per = collections.Counter()
        counting = False
        cur, cur_n, cur_mark = None, 0, False
        total = 0
        with open(log, errors="replace") as f:
            for line in f:
                if line.startswith("IN:"):
                    cur, cur_n, cur_mark = None, 0, False
                    continue
                m = re.match(r"0x([0-9a-f]+):\s+\S+\s+(\S+)", line)
                if m:
                    pc = int(m.group(1), 16)
                    if cur is None:
                        cur = pc
                    cur_n += 1
                    cur_mark |= m.group(2) == marker and pc < kernel_base
                    size[cur] = cur_n
                    if cur_mark:
                        marks.add(cur)
                    else:
                        marks.discard(cur)
                    continue
                m = re.match(r"Trace \d+: \S+ \[[0-9a-f]+/([0-9a-f]+)/", line)
                if m:
                    pc = int(m.group(1), 16)
                    if pc in marks:
                        counting = not counting
                        continue
                    if not counting:
                        continue
                    n = size.get(pc, 1)
                    total += n
                    if pc < kernel_base:
                        per["(user)"] += n
                    else:
                        i = bisect.bisect_right(addrs, pc) - 1
                        per[names[i] if i >= 0 else hex(pc)] += n
    # The benchmark's own line says how many operations it timed.
    m = re.search(rf"^bench {re.escape(bench)}: \d+ ticks/op \((\d+) ops\)", serial, re.M)
    if not m:
        sys.exit("benchmark did not run:\n" + serial[-2000:])
    print(m.group(0))
    ops = int(m.group(1))
    print(f"# {board}: {total} instructions in the timed loop, {ops} ops: "
          f"{total / ops:.0f} instructions = {total / ops / 16:.1f} ticks per op")
    if opts.categories:
        cats = collections.Counter()
        for name, n in per.items():
            cats[category(name)] += n
        for name, n in cats.most_common():
            print(f"{n / ops:9.1f}  {100 * n / max(total, 1):5.1f}%  {name}")
        return
    for name, n in per.most_common(top):
        print(f"{n / ops:9.1f}  {100 * n / max(total, 1):5.1f}%  {name}")


if __name__ == "__main__":
    main()
