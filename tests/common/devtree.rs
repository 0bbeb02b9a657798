//! `/proc/device-tree` directories list (getdents64) and stat like
//! Linux's `/sys/firmware/devicetree/base`: busybox `ls -la` of
//! `/proc/device-tree/chosen` against the tree QEMU hands the kernel
//! (`-machine dumpdtb=`, read by `fdtget` from device-tree-compiler, not
//! by the kernel's parser): `.` and `..` as directories, every property
//! as a regular file of its length, every child node as a directory.

use super::*;
use std::collections::BTreeMap;
use std::process::Command;

fn fdtget(dtb: &std::path::Path, opts: &[&str], args: &[&str]) -> Vec<String> {
    let out = Command::new("fdtget")
        .args(opts)
        .arg(dtb)
        .args(args)
        .output()
        .expect("fdtget (Debian's device-tree-compiler; ./qemu-run.sh test installs it)");
    assert!(out.status.success(), "fdtget {args:?}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines().map(str::to_string).collect()
}

pub fn ls_chosen(cpu: &str, arch: &str) {
    let var = format!("ARMMU_BUSYBOX_CPIO_{}", arch.to_uppercase());
    let from_out = Some(out_dir().join("busybox.cpio"))
        .filter(|p| p.is_file())
        .map(|p| p.display().to_string());
    let Some(cpio) = std::env::var(&var).ok().or(from_out) else {
        eprintln!("ls_chosen: {var} not set and no busybox.cpio in the out directory, skipped");
        return;
    };
    let append = "rdinit=/bin/busybox ls -la /proc/device-tree/chosen";
    // The tree this boot gets (QEMU fills /chosen: bootargs, initrd).
    let dtb = std::env::temp_dir().join(format!("armmu-devtree-{arch}-{}.dtb", std::process::id()));
    let qemu = std::env::var("ARMMU_QEMU").unwrap_or_else(|_| "qemu-system-arm".into());
    let machine = std::env::var("ARMMU_MACHINE").unwrap_or_else(|_| "virt".into());
    let st = Command::new(&qemu)
        .args(["-M", &format!("{machine},dumpdtb={}", dtb.display())])
        .args(["-cpu", cpu, "-m"])
        .arg(std::env::var("ARMMU_MEM").unwrap_or_else(|_| "512M".into()))
        .args(["-nographic", "-nic", "none", "-monitor", "none", "-kernel"])
        .arg(out_dir().join("Image"))
        .arg("-initrd")
        .arg(&cpio)
        .args(["-append", append])
        .output()
        .expect("qemu dumpdtb");
    assert!(dtb.is_file(), "dumpdtb: {st:?}");
    let props = fdtget(&dtb, &["-p"], &["/chosen"]);
    let nodes = fdtget(&dtb, &["-l"], &["/chosen"]);
    let sizes: BTreeMap<String, usize> = props
        .iter()
        .map(|p| {
            let v = fdtget(&dtb, &["-t", "bx"], &["/chosen", p]);
            (p.clone(), v.join(" ").split_whitespace().count())
        })
        .collect();
    let _ = std::fs::remove_file(&dtb);
    assert!(props.iter().any(|p| p == "bootargs"), "{props:?}");

    let b = boot(cpu, Some(&cpio), append, 60);
    b.expect_status(0);
    // `ls -la`: mode, links, uid, gid, size, date (3 fields), name.
    let mut seen: BTreeMap<String, (String, u64)> = BTreeMap::new();
    for l in b.log.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() == 9 && (f[0].starts_with('d') || f[0].starts_with('-')) {
            seen.insert(f[8].to_string(), (f[0].to_string(), f[4].parse().unwrap()));
        }
    }
    let mut want: Vec<&str> = vec![".", ".."];
    want.extend(props.iter().map(String::as_str));
    want.extend(nodes.iter().map(String::as_str));
    let mut got: Vec<&str> = seen.keys().map(String::as_str).collect();
    want.sort();
    got.sort();
    assert_eq!(got, want, "{}", b.log);
    for d in [".", ".."]
        .iter()
        .copied()
        .chain(nodes.iter().map(String::as_str))
    {
        assert_eq!(seen[d].0, "dr-xr-xr-x", "{d}");
    }
    for p in &props {
        assert_eq!(seen[p].0, "-r--r--r--", "{p}");
        assert_eq!(seen[p].1, sizes[p] as u64, "{p} size");
    }
    assert!(!b.has("No such file"), "{}", b.log);
}
