# QEMU facts for the qemu-virt board, sourced by qemu-run.sh.
QEMU_SYSTEM=qemu-system-arm
QEMU_DEB_PACKAGE=qemu-system-arm
QEMU_MACHINE=virt
QEMU_CPU=cortex-a15
QEMU_CPUS_TESTED="cortex-a15 cortex-a7"
QEMU_MEM=512M
RUST_TARGET=armv7a-none-eabi
# Raw image with a Linux zImage header: QEMU takes its Linux boot path
# (loads at RAM base + 0x10000, DTB pointer in r2, -initrd honoured).
QEMU_TEST=qemu
EXTERNAL_PROGRAM=devmem_demo.armhf
