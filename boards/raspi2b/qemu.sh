# QEMU facts for the Raspberry Pi 2 Model B (BCM2836), sourced by qemu-
# run.sh (`./qemu-run.sh run --board raspi2b`) and read by
# tests/common/boards.rs. QEMU boots the kernel directly (-kernel, its Linux
# loader; -dtb the board's Debian device tree): the card's path (U-Boot) is
# boards/raspi2b/sdcard.sh.
QEMU_KERNEL_BOARD=qemu-virt   # the kernel build it boots: out/qemu-virt/Image
QEMU_SYSTEM=qemu-system-arm
QEMU_MACHINE=raspi2b
QEMU_CPU=cortex-a7
QEMU_MEM=1G
QEMU_DTB=bcm2836-rpi-2-b.dtb   # tests/data/dtb/
QEMU_CONSOLE_SERIAL=0   # the console UART is QEMU's serial port 0 (0: the first)
