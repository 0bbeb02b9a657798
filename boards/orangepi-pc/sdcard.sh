# SD-card image facts for the Xunlong Orange Pi PC (Allwinner H3, 4x
# Cortex-A7), sourced by user/scripts/sdcard.sh. The kernel is the ARMv7-A
# build. The H3 boot ROM loads U-Boot's SPL from 8 KiB into the card; Debian
# has no orangepi_pc build, nanopi_neo (same H3 SoC, same DDR3 type) is used:
# it boots QEMU's orangepi-pc cleanly (BOARD-FACTS.md; orangepi_plus also
# boots but warns about its HDMI and regulator). U-Boot runs boot.scr, which
# loads the Orange Pi PC's own DTB, and enters the kernel in HYP mode.
SD_KERNEL_BOARD=qemu-virt
SD_KERNEL_NAME=zImage
SD_MKIMAGE_ARCH=arm
SD_DEB_ARCH=armhf
SD_DTB=sun8i-h3-orangepi-pc.dtb
SD_UBOOT_PKG=u-boot-sunxi:armhf
SD_UBOOT_FILE=nanopi_neo/u-boot-sunxi-with-spl.bin
SD_UBOOT_PLACE=8K
SD_QEMU_FIRMWARE=""            # QEMU's orangepi-pc boots the SPL from the card itself
