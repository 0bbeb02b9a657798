# QEMU facts for the Versatile Express V2P-CA9 (Cortex-A9), sourced by qemu-
# run.sh (`./qemu-run.sh run --board vexpress-a9`) and read by
# tests/common/boards.rs. QEMU boots the kernel directly (-kernel, its Linux
# loader; -dtb the board's Debian device tree): Debian ships no U-Boot for
# it, so there is no card.
QEMU_KERNEL_BOARD=qemu-virt   # the kernel build it boots: out/qemu-virt/Image
QEMU_SYSTEM=qemu-system-arm
QEMU_MACHINE=vexpress-a9
QEMU_CPU=cortex-a9
QEMU_MEM=1G
QEMU_DTB=vexpress-v2p-ca9.dtb   # tests/data/dtb/
QEMU_CONSOLE_SERIAL=0   # the console UART is QEMU's serial port 0 (0: the first)
