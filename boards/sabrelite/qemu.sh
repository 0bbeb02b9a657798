# QEMU facts for the i.MX6Q SABRE Lite, sourced by qemu-run.sh (`./qemu-
# run.sh run --board sabrelite`) and read by tests/common/boards.rs. QEMU
# boots the kernel directly (-kernel, its Linux loader; -dtb the board's
# Debian device tree): Debian's U-Boot for this board hangs in QEMU 7.2
# before printing anything (BOARD-FACTS.md), so there is no card. The
# console is UART2 (the DTB's stdout-path), QEMU's second serial port.
QEMU_KERNEL_BOARD=qemu-virt   # the kernel build it boots: out/qemu-virt/Image
QEMU_SYSTEM=qemu-system-arm
QEMU_MACHINE=sabrelite
QEMU_CPU=cortex-a9
QEMU_MEM=1G
QEMU_DTB=imx6q-sabrelite.dtb   # tests/data/dtb/
QEMU_CONSOLE_SERIAL=1   # the console UART is QEMU's serial port 1 (0: the first)
