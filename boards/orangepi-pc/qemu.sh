# QEMU facts for the Xunlong Orange Pi PC (Allwinner H3), sourced by qemu-
# run.sh (`./qemu-run.sh run --board orangepi-pc`) and read by
# tests/common/boards.rs. QEMU boots the kernel directly (-kernel, its Linux
# loader; -dtb the board's Debian device tree): QEMU enters it in HYP mode,
# as U-Boot does; the card's path (SPL + U-Boot) is boards/orangepi-
# pc/sdcard.sh.
QEMU_KERNEL_BOARD=qemu-virt   # the kernel build it boots: out/qemu-virt/Image
QEMU_SYSTEM=qemu-system-arm
QEMU_MACHINE=orangepi-pc
QEMU_CPU=cortex-a7
QEMU_MEM=1G
QEMU_DTB=sun8i-h3-orangepi-pc.dtb   # tests/data/dtb/
QEMU_CONSOLE_SERIAL=0   # the console UART is QEMU's serial port 0 (0: the first)
