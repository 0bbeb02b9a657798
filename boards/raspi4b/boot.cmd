# armmu: U-Boot script for Raspberry Pi 4 Model B (mkimage -T script -> boot.scr).
# U-Boot's distro boot finds /boot.scr on the card's first partition and
# sets devtype/devnum/distro_bootpart to it. Addresses: this U-Boot build's
# defaults, rpi_4: kernel 0x00080000, DTB 0x02600000, initramfs 0x02700000 (RAM from 0).
echo "armmu boot.scr on Raspberry Pi 4 Model B: ${devtype} ${devnum}:${distro_bootpart}"
load ${devtype} ${devnum}:${distro_bootpart} ${kernel_addr_r} Image
# Debian's tree, whose memory node is empty: booti writes U-Boot's RAM
# banks (learnt from the firmware) into it before starting the kernel.
load ${devtype} ${devnum}:${distro_bootpart} ${fdt_addr_r} bcm2711-rpi-4-b.dtb
# Last, so that ${filesize} is the initramfs's size.
load ${devtype} ${devnum}:${distro_bootpart} ${ramdisk_addr_r} initramfs.cpio.gz
# The kernel takes its console from the DTB's /chosen/stdout-path.
setenv bootargs ""
booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdt_addr_r}
