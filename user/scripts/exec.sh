#!/bin/sh
# armmu exec test, run by Debian's busybox-static as rdinit=/exec.sh from the cpio of
# user/scripts/busybox-initramfs.sh (tests/common/files.rs compares every "ex: " line
# with Linux 6.1's, user/oracle/busybox-exec.<arch>.txt). Programs written at run time
# are executed, as Linux executes any regular file with an execute bit: copies of busybox
# (named busybox.*, so that busybox takes its first argument as the applet) made with cp
# and with cat >, a copy that unlinks itself while it runs (its pages then
# come from the page cache alone), a #! script written at run time; a copy without an
# execute bit and a directory are refused (EACCES: the shell's 126). Every line printed
# is independent of addresses, times and inode numbers.
export PATH=/bin
busybox mount -t proc proc /proc 2>/dev/null
echo "ex: start"
busybox mkdir -p /tmp && cd /tmp && echo "ex: cd /tmp -> $?"
busybox cp /bin/busybox busybox.cp; echo "ex: cp /bin/busybox busybox.cp -> $?"
/tmp/busybox.cp echo "ex: /tmp/busybox.cp echo hi"; echo "ex: /tmp/busybox.cp echo hi -> $?"
./busybox.cp true; echo "ex: ./busybox.cp true -> $?"
./busybox.cp false; echo "ex: ./busybox.cp false -> $?"
./busybox.cp sh -c 'exit 3'; echo "ex: ./busybox.cp sh -c 'exit 3' -> $?"
echo "ex: ./busybox.cp pipeline -> $(./busybox.cp echo through a copy | ./busybox.cp tr a-z A-Z)"
echo "ex: ./busybox.cp md5sum of itself = /bin/busybox's ->" \
    $([ "$(./busybox.cp md5sum < /tmp/busybox.cp)" = "$(busybox md5sum < /bin/busybox)" ] && echo yes || echo no)
echo "ex: the copy's own maps lines naming /tmp/busybox.cp (perms) ->" \
    $(./busybox.cp awk '$6 == "/tmp/busybox.cp" { print $2 }' /proc/self/maps)
# No chmod (armmu has none yet): files get their execute bits from cp (the source's mode)
# and keep them when rewritten with > (O_TRUNC); a file the shell creates is 0644.
busybox cp /bin/busybox busybox.cat; busybox echo garbage > busybox.cat
busybox cat /bin/busybox > busybox.cat; echo "ex: cat /bin/busybox > busybox.cat (0755, rewritten) -> $?"
./busybox.cat echo "ex: ./busybox.cat echo (rewritten by cat)"; echo "ex: ./busybox.cat -> $?"
busybox cp /bin/busybox busybox.rm
./busybox.rm sh -c 'busybox rm /tmp/busybox.rm; echo "ex: busybox.rm removed itself -> $?"
    [ -e /tmp/busybox.rm ]; echo "ex: [ -e /tmp/busybox.rm ] -> $?"
    printf "ex: %s %05d %x\n" "printf, after the unlink:" 42 255
    i=0; while [ $i -lt 5 ]; do i=$((i + 1)); done; echo "ex: a loop in the unlinked shell -> $i"
    exit 4'; echo "ex: ./busybox.rm sh -c ... -> $?"
busybox cp /bin/busybox s.sh
printf '#!/tmp/busybox.cp sh\necho "ex: a script written at run time, run by /tmp/busybox.cp: $0 $1"\nexit 5\n' > s.sh
./s.sh arg; echo "ex: ./s.sh arg -> $?"
busybox cat /bin/busybox > nox
./nox true 2>/dev/null; echo "ex: ./nox (mode 0644) -> $?"
busybox mkdir -p d; /tmp/d 2>/dev/null; echo "ex: /tmp/d (a directory) -> $?"
busybox rm -f busybox.cp busybox.cat nox s.sh; busybox rmdir d; echo "ex: rm -> $?"
echo "ex: done, exit 6"
exit 6
