//! Passes the kernel linker script when building for bare metal; host
//! builds (cargo test) link normally.
fn main() {
    println!("cargo:rerun-if-changed=linker.ld");
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if os == "none" {
        let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
        // The kernel's virtual base: TTBR1 half on ARMv7-A (TTBCR.N = 1).
        let vma = match arch.as_str() {
            "arm" => "0xC0000000",
            "aarch64" => "0xFFFFFF8000000000",
            other => panic!("unsupported architecture {other}"),
        };
        println!("cargo:rustc-link-arg-bins=--defsym=__kernel_vma={vma}");
        println!("cargo:rustc-link-arg-bins=-T{dir}/linker.ld");
    }
}
