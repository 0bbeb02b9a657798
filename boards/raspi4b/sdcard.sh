# SD-card image facts for the Raspberry Pi 4 Model B (BCM2711, 4x Cortex-A72,
# GIC-400) in 64-bit mode, sourced by user/scripts/sdcard.sh. The kernel is
# the AArch64 build. The Pi 4's first boot stage is in its SPI EEPROM; it
# loads the GPU firmware (start4.elf, fixup4.dat: non-free, not on the card)
# from the FAT partition, which reads config.txt (arm_64bit=1), loads
# bcm2711-rpi-4-b.dtb (filling in its memory node) and starts kernel8.img =
# Debian's U-Boot rpi_4 at 0x80000; U-Boot prints on the mini UART (the
# DTB's stdout-path serial1) and runs boot.scr.
# No QEMU 7.2 machine models the BCM2711: the card is built and checked
# (tests/common/sdcard.rs, check_image), never booted here.
SD_KERNEL_BOARD=qemu-virt-aarch64
SD_KERNEL_NAME=Image
SD_MKIMAGE_ARCH=arm64
SD_DEB_ARCH=arm64
SD_DTB=broadcom/bcm2711-rpi-4-b.dtb   # in Debian's linux-image-<abi>-arm64
SD_UBOOT_PKG=u-boot-rpi:arm64
# Debian builds three 64-bit Pi U-Boots (usr/lib/u-boot/): rpi_3, rpi_4
# (rpi_4_defconfig: TARGET_RPI_4, BCM2711_64B) and rpi_arm64 (the generic
# Pi 3/4 one). rpi_4 is the Pi 4's own; both Pi 4-capable builds take the
# firmware's device tree (OF_BOARD) and load at 0x80000 (TEXT_BASE).
SD_UBOOT_FILE=rpi_4/u-boot.bin
SD_UBOOT_PLACE=kernel8.img
SD_CONFIG_TXT=config.txt
# The GPU firmware files the user adds (README.txt on the card).
SD_PI_FIRMWARE="start4.elf fixup4.dat"
SD_QEMU_FIRMWARE=""            # no QEMU machine for the Pi 4
