# armmu: U-Boot script for Orange Pi PC (mkimage -T script -> boot.scr).
# U-Boot's distro boot finds /boot.scr on the card's first partition and
# sets devtype/devnum/distro_bootpart to it. Addresses: this U-Boot build's
# defaults, nanopi_neo: kernel 0x42000000, DTB 0x43000000, initramfs 0x43400000 (RAM from 0x40000000).
echo "armmu boot.scr on Orange Pi PC: ${devtype} ${devnum}:${distro_bootpart}"
load ${devtype} ${devnum}:${distro_bootpart} ${kernel_addr_r} zImage
load ${devtype} ${devnum}:${distro_bootpart} ${fdt_addr_r} sun8i-h3-orangepi-pc.dtb
# Last, so that ${filesize} is the initramfs's size.
load ${devtype} ${devnum}:${distro_bootpart} ${ramdisk_addr_r} initramfs.cpio.gz
# The kernel takes its console from the DTB's /chosen/stdout-path.
setenv bootargs ""
bootz ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdt_addr_r}
