# SD-card image facts for the Raspberry Pi 2 Model B (BCM2836, 4x Cortex-A7),
# sourced by user/scripts/sdcard.sh. The kernel is the ARMv7-A build (the
# console, RAM and devices come from the device tree).
# The Pi's GPU firmware (bootcode.bin, start.elf, fixup.dat: non-free, not
# on the card) reads config.txt and starts kernel7.img = Debian's U-Boot
# rpi_2 at 0x8000; U-Boot runs boot.scr from the FAT partition.
SD_KERNEL_BOARD=qemu-virt
SD_KERNEL_NAME=zImage
SD_MKIMAGE_ARCH=arm
SD_DEB_ARCH=armhf
SD_DTB=bcm2836-rpi-2-b.dtb    # in Debian's linux-image-<abi>-armmp
SD_UBOOT_PKG=u-boot-rpi:armhf
SD_UBOOT_FILE=rpi_2/u-boot.bin
SD_UBOOT_PLACE=kernel7.img
SD_CONFIG_TXT=config.txt
# QEMU has no GPU firmware: its Linux loader starts U-Boot when it is
# wrapped as a legacy uImage loading at 0x8000 (BOARD-FACTS.md, raspi2b).
SD_QEMU_FIRMWARE=uimage-0x8000
