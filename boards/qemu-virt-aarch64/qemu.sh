# QEMU facts for qemu-virt on AArch64, sourced by qemu-run.sh.
QEMU_SYSTEM=qemu-system-aarch64
QEMU_DEB_PACKAGE=qemu-system-arm
QEMU_MACHINE=virt
QEMU_CPU=cortex-a53
QEMU_CPUS_TESTED="cortex-a53 cortex-a72"
QEMU_MEM=512M
# User programs: hard-float (they use the FP/SIMD registers).
RUST_TARGET=aarch64-unknown-none
# The kernel: no FP/SIMD code generation, so an exception saves only the
# general registers and user FP state is switched with the process.
KERNEL_TARGET=aarch64-unknown-none-softfloat
# Raw image with the Linux arm64 Image header ("ARM\x64" at 0x38): QEMU
# takes its Linux boot path (DTB pointer in x0, -initrd honoured).
QEMU_TEST=qemu_aarch64
EXTERNAL_PROGRAM=devmem_demo.arm64
