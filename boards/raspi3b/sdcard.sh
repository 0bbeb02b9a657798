# SD-card image facts for the Raspberry Pi 3 Model B (BCM2837, 4x Cortex-A53)
# in 64-bit mode, sourced by user/scripts/sdcard.sh. The kernel is the
# AArch64 build. The firmware (non-free, not on the card) reads config.txt
# (arm_64bit=1) and starts kernel8.img = Debian's U-Boot rpi_3 at 0x80000,
# which prints on the mini UART (the DTB's stdout-path serial1) and runs boot.scr.
SD_KERNEL_BOARD=qemu-virt-aarch64
SD_KERNEL_NAME=Image
SD_MKIMAGE_ARCH=arm64
SD_DEB_ARCH=arm64
SD_DTB=broadcom/bcm2837-rpi-3-b.dtb   # in Debian's linux-image-<abi>-arm64
SD_UBOOT_PKG=u-boot-rpi:arm64
SD_UBOOT_FILE=rpi_3/u-boot.bin
SD_UBOOT_PLACE=kernel8.img
SD_CONFIG_TXT=config.txt
# QEMU has no GPU firmware: -kernel with the raw U-Boot (loaded at 0x80000,
# secondaries held in QEMU's spin table).
SD_QEMU_FIRMWARE=raw
