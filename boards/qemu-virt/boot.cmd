# armmu: U-Boot script for QEMU virt (ARMv7-A) (mkimage -T script -> boot.scr).
# U-Boot's distro boot finds /boot.scr on the card's first partition and
# sets devtype/devnum/distro_bootpart to it. Addresses: this U-Boot build's
# defaults, qemu_arm: kernel 0x40400000, initramfs 0x44000000 (RAM from 0x40000000); the DTB is QEMU's, which U-Boot runs on (${fdtcontroladdr}).
echo "armmu boot.scr on QEMU virt (ARMv7-A): ${devtype} ${devnum}:${distro_bootpart}"
load ${devtype} ${devnum}:${distro_bootpart} ${kernel_addr_r} zImage
# Last, so that ${filesize} is the initramfs's size.
load ${devtype} ${devnum}:${distro_bootpart} ${ramdisk_addr_r} initramfs.cpio.gz
# The kernel takes its console from the DTB's /chosen/stdout-path.
setenv bootargs ""
bootz ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdtcontroladdr}
