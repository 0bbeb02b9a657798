//! Passes the kernel linker script when building for bare metal; host
//! builds (cargo test) link normally.
fn main() {
    println!("cargo:rerun-if-changed=linker.ld");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=ARMMU_INITRAMFS");
    // The built-in initramfs: a newc cpio (optionally gzipped) named by
    // ARMMU_INITRAMFS, used when the bootloader passes none.
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("initramfs.bin");
    match std::env::var("ARMMU_INITRAMFS") {
        Ok(path) if !path.is_empty() => {
            println!("cargo:rerun-if-changed={path}");
            std::fs::copy(&path, &out).unwrap_or_else(|e| panic!("ARMMU_INITRAMFS={path}: {e}"));
        }
        _ => std::fs::write(&out, b"").unwrap(),
    }
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if os == "none" {
        let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
        // The kernel's virtual base: TTBR1 half on ARMv7-A (TTBCR.N = 1).
        let vma = match arch.as_str() {
            "arm" => "0xC0000000",
            "aarch64" => "0xFFFFFFC000000000",
            other => panic!("unsupported architecture {other}"),
        };
        println!("cargo:rustc-link-arg-bins=--defsym=__kernel_vma={vma}");
        println!("cargo:rustc-link-arg-bins=-T{dir}/linker.ld");
    }
}
