# SD-card image facts for QEMU virt (ARMv7-A), sourced by user/scripts/sdcard.sh.
# No card slot on virt: QEMU gets the same image as a virtio disk and runs
# Debian's U-Boot qemu_arm with -bios; QEMU generates the device tree and
# U-Boot hands it on ($fdtcontroladdr), so the card holds no DTB.
SD_KERNEL_BOARD=qemu-virt     # out/qemu-virt/Image: the ARMv7-A kernel
SD_KERNEL_NAME=zImage         # bootz (the Image has a zImage header)
SD_MKIMAGE_ARCH=arm
SD_DEB_ARCH=armhf
SD_DTB=""
SD_UBOOT_PKG=u-boot-qemu:all
SD_UBOOT_FILE=qemu_arm/u-boot.bin
SD_UBOOT_PLACE=none           # not on the card: QEMU's -bios
SD_QEMU_FIRMWARE=bios
