# QEMU facts for the Versatile Express V2P-CA15 (Cortex-A15), sourced by
# qemu-run.sh (`./qemu-run.sh run --board vexpress-a15`) and read by
# tests/common/boards.rs. QEMU boots the kernel directly (-kernel, its Linux
# loader; -dtb the board's Debian device tree): Debian ships no U-Boot for
# it, so there is no card.
QEMU_KERNEL_BOARD=qemu-virt   # the kernel build it boots: out/qemu-virt/Image
QEMU_SYSTEM=qemu-system-arm
QEMU_MACHINE=vexpress-a15
QEMU_CPU=cortex-a15
QEMU_MEM=1G
QEMU_DTB=vexpress-v2p-ca15-tc1.dtb   # tests/data/dtb/
QEMU_CONSOLE_SERIAL=0   # the console UART is QEMU's serial port 0 (0: the first)
