# QEMU facts for the Raspberry Pi 3 Model B (BCM2837), AArch64, sourced by
# qemu-run.sh (`./qemu-run.sh run --board raspi3b`) and read by
# tests/common/boards.rs. QEMU boots the kernel directly (-kernel, its Linux
# loader; -dtb the board's Debian device tree): the card's path (U-Boot) is
# boards/raspi3b/sdcard.sh. The console is the mini UART (the DTB's stdout-
# path serial1), QEMU's second serial port; the first is the PL011.
QEMU_KERNEL_BOARD=qemu-virt-aarch64   # the kernel build it boots: out/qemu-virt-aarch64/Image
QEMU_SYSTEM=qemu-system-aarch64
QEMU_MACHINE=raspi3b
QEMU_CPU=cortex-a53
QEMU_MEM=1G
QEMU_DTB=bcm2837-rpi-3-b.dtb   # tests/data/dtb/
QEMU_CONSOLE_SERIAL=1   # the console UART is QEMU's serial port 1 (0: the first)
