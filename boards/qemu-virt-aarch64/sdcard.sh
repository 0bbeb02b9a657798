# SD-card image facts for QEMU virt (AArch64), sourced by user/scripts/sdcard.sh.
# As qemu-virt: virtio disk, U-Boot qemu_arm64 with -bios, QEMU's own DTB.
SD_KERNEL_BOARD=qemu-virt-aarch64   # out/qemu-virt-aarch64/Image: the AArch64 kernel
SD_KERNEL_NAME=Image                # booti (arm64 Image header)
SD_MKIMAGE_ARCH=arm64
SD_DEB_ARCH=arm64
SD_DTB=""
SD_UBOOT_PKG=u-boot-qemu:all
SD_UBOOT_FILE=qemu_arm64/u-boot.bin
SD_UBOOT_PLACE=none
SD_QEMU_FIRMWARE=bios
