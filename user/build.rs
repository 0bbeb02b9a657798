//! Link the user programs as static Linux executables with our own linker script.
use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=link.ld");
    println!("cargo:rerun-if-changed=link-aarch64.ld");
    println!("cargo:rerun-if-env-changed=CARGO_CFG_TARGET_OS");

    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os != "none" {
        // Only the bare-metal targets produce the static Linux binaries.
        return;
    }
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let script = match arch.as_str() {
        "aarch64" => dir.join("link-aarch64.ld"),
        _ => dir.join("link.ld"),
    };
    println!("cargo:rustc-link-arg-bins=-T{}", script.display());
    println!("cargo:rustc-link-arg-bins=-static");
    println!("cargo:rustc-link-arg-bins=--no-dynamic-linker");
    // 4 KiB pages on both architectures (lld's AArch64 default would be 64 KiB).
    println!("cargo:rustc-link-arg-bins=-zmax-page-size=4096");
    println!("cargo:rustc-link-arg-bins=-zcommon-page-size=4096");
    println!("cargo:rustc-link-arg-bins=--build-id=none");
}
