#!/bin/sh
# armmu files test, run by Debian's busybox-static as rdinit=/files.sh from the cpio of
# user/scripts/busybox-initramfs.sh (tests/common/files.rs compares every "fs: " line
# with Linux 6.1's, user/oracle/busybox-files.<arch>.txt). Every `busybox X` is a child
# process; the redirections (>, >>, |) are the shell's own open/pipe/dup2. Nothing
# printed depends on time, addresses or the file system's inode numbers; `ls -l` is
# masked to the mode, owner, group, size (regular files only) and name; in `ls -l /`
# the `proc` line (Linux mounts it here; armmu provides its own) and the `root` line
# (Linux's built-in default initramfs adds /root, mode 0700, to every cpio) are left
# out, and so is `total`. The [heap] of a child's maps is printed once (uniq): Linux 6.1
# shows busybox's bss past the file and the brk area as two adjacent [heap] lines, a
# detail of its ELF loader, not of files.
export PATH=/bin
busybox mount -t proc proc /proc 2>/dev/null
show() { while IFS= read -r l; do echo "fs: $l"; done; }
echo "fs: start"
echo "fs: ls -l / (mode owner group name):"
busybox ls -l / | busybox awk '$1 != "total" && $9 != "proc" && $9 != "root" {
    n = $9; for (i = 10; i <= NF; i++) n = n " " $i; print $1, $3, $4, n }' | show
busybox mkdir -p /tmp && cd /tmp && echo "fs: cd /tmp -> $?"
echo hello > f.txt; echo "fs: echo hello > f.txt -> $?"
echo "fs: cat f.txt -> $(busybox cat f.txt)"
echo world >> f.txt; echo "fs: echo world >> f.txt -> $?"
echo "fs: cat f.txt:"; busybox cat f.txt | show
echo "fs: hexdump -C f.txt:"; busybox hexdump -C f.txt | show
echo "fs: wc f.txt -> $(busybox wc f.txt)"
echo "fs: wc -l < f.txt -> $(busybox wc -l < f.txt)"
echo "fs: ls -l f.txt -> $(busybox ls -l f.txt | busybox awk '{print $1, $3, $4, $5, $9}')"
busybox cp f.txt g.txt; echo "fs: cp f.txt g.txt -> $?"
busybox cmp f.txt g.txt; echo "fs: cmp f.txt g.txt -> $?"
echo "fs: cat g.txt:"; busybox cat g.txt | show
echo extra >> g.txt
busybox cmp -s f.txt g.txt; echo "fs: cmp after appending to g.txt -> $?"
busybox mkdir d; echo "fs: mkdir d -> $?"
busybox mkdir d 2>/dev/null; echo "fs: mkdir d again -> $?"
busybox cp f.txt d/; busybox mv g.txt d/h.txt; echo "fs: cp + mv into d -> $?"
echo "fs: ls d ->" $(busybox ls d)
echo "fs: ls /tmp ->" $(busybox ls /tmp)
busybox rm d/f.txt; echo "fs: rm d/f.txt -> $?"
echo "fs: ls d ->" $(busybox ls d)
busybox rm g.txt 2>/dev/null; echo "fs: rm of a missing file -> $?"
busybox rmdir d 2>/dev/null; echo "fs: rmdir of a non-empty d -> $?"
busybox rm -r d; echo "fs: rm -r d -> $?"
busybox ls d >/dev/null 2>&1; echo "fs: ls d after rm -r -> $?"
busybox seq 1 1000 > n.txt
echo "fs: seq 1 1000 > n.txt: wc -l -c -> $(busybox wc -l -c < n.txt)"
echo "fs: tail -n 2 n.txt ->" $(busybox tail -n 2 n.txt)
echo "fs: md5sum n.txt -> $(busybox md5sum n.txt)"
busybox dd if=/dev/zero of=z.bin bs=4096 count=3 2>/dev/null; echo "fs: dd 3 pages of zeros -> $?"
echo "fs: wc -c z.bin -> $(busybox wc -c z.bin)"
echo "fs: hexdump -C z.bin:"; busybox hexdump -C z.bin | show
printf 'b\na\nb\nc\n' | busybox sort | busybox uniq -c | show
echo "fs: the heap line of a child's /proc/self/maps (perms, name) ->" \
    $(busybox cat /proc/self/maps | busybox grep heap | busybox awk '{print $2, $6}' | busybox uniq)
busybox grep -q '\[stack\]$' /proc/self/maps; echo "fs: grep -q [stack] /proc/self/maps -> $?"
busybox rm f.txt n.txt z.bin; echo "fs: rm f.txt n.txt z.bin -> $?"
echo "fs: ls /tmp -> [$(busybox ls /tmp)]"
echo "fs: done, exit 5"
exit 5
