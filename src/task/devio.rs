//! The VFS side of driver device files (`drivers::chardev`): open by
//! path, `read`/`write`/`ioctl` routed to the driver with the open
//! file's word, and what `mmap` must tell a driver about existing
//! mappings. Kept apart from `files.rs` so the device glue is one place
//! (a devfs can replace [`node`] without touching the rest).

use super::files::{File, Open};
use super::stat::Meta;
use super::uaccess::CHUNK;
use super::Task;
use crate::drivers::chardev::{self, MappedTypes, Node, PrivateData, UserCopy};
use crate::drivers::devmem;
use crate::errno::Errno;
use crate::mm::vma::{Vma, VmaKind};
use crate::syscall::mm_args::{self, FdKind};

/// `/dev/mem`'s node, also when the registry was not filled (host tests).
const DEV_MEM: Node = Node {
    name: "mem",
    rdev: devmem::RDEV,
    mode: devmem::MODE,
    dev: &devmem::DEV_MEM,
};

/// The driver answering device number `rdev`, if any.
pub(super) fn driver_of(rdev: (u32, u32)) -> Option<Node> {
    chardev::by_rdev(rdev).or_else(|| (rdev == devmem::RDEV).then_some(DEV_MEM))
}

/// Open the driver whose device number is `rdev` (a node of the root).
pub(super) fn open_rdev(rdev: (u32, u32), flags: u32) -> Result<Open, Errno> {
    let node = driver_of(rdev).ok_or(Errno::ENXIO)?;
    let private = PrivateData::new(0);
    node.dev.open(flags, &private)?;
    Ok(Open::Driver { node, private })
}

/// `fstat` of a driver's fd: a devtmpfs character device.
pub(super) fn node_meta(node: &Node) -> Meta {
    // Inode numbers past devtmpfs's fixed files (paths.rs uses 10..16).
    let ino = 100 + u64::from(node.rdev.0) * 256 + u64::from(node.rdev.1);
    // devtmpfs: an anonymous device, 0:5 on the reference kernels.
    Meta::simple(
        (0, 5),
        ino,
        crate::fs::tmpfs::S_IFCHR | node.mode,
        node.rdev,
        1,
    )
}

/// The memory types the `Device` VMAs in `vmas` map over `[lo, hi)`.
pub fn mapped_over<'a>(vmas: impl Iterator<Item = &'a Vma>, lo: u64, hi: u64) -> MappedTypes {
    let mut m = MappedTypes::NONE;
    for v in vmas {
        if let VmaKind::Device { phys, mem, .. } = v.kind {
            let end = phys.saturating_add(v.size() as u64);
            if phys < hi && lo < end {
                m.add(mem);
            }
        }
    }
    m
}

/// The calling task's memory for a driver's ioctl.
struct TaskUser<'a>(&'a mut Task);

impl UserCopy for TaskUser<'_> {
    fn copy_from_user(&mut self, va: usize, dst: &mut [u8]) -> Result<(), Errno> {
        self.0.access_ok(va, dst.len())?;
        if self.0.copy_in(va, dst) == dst.len() {
            Ok(())
        } else {
            Err(Errno::EFAULT)
        }
    }
    fn copy_to_user(&mut self, va: usize, src: &[u8]) -> Result<(), Errno> {
        self.0.access_ok(va, src.len())?;
        if self.0.copy_out(va, src) == src.len() {
            Ok(())
        } else {
            Err(Errno::EFAULT)
        }
    }
}

impl Task {
    /// `read` of a driver fd, from the file position, in stack-sized steps.
    pub(super) fn driver_read(&mut self, f: &File, buf: usize, len: usize) -> Result<usize, Errno> {
        let Open::Driver { node, private } = f.open() else {
            return Err(Errno::EBADF);
        };
        self.access_ok(buf, len)?;
        let mut done = 0;
        while done < len {
            let mut tmp = [0u8; CHUNK];
            let want = CHUNK.min(len - done);
            let n = match node
                .dev
                .read((f.pos() + done) as u64, &mut tmp[..want], private)
            {
                Ok(n) => n,
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            };
            let copied = self.copy_out(buf + done, &tmp[..n]);
            done += copied;
            if copied < n || n < want {
                if done == 0 && n > 0 {
                    return Err(Errno::EFAULT);
                }
                break;
            }
        }
        f.set_pos(f.pos() + done);
        Ok(done)
    }

    /// `write` of a driver fd at the file position.
    pub(super) fn driver_write(
        &mut self,
        f: &File,
        buf: usize,
        len: usize,
    ) -> Result<usize, Errno> {
        let Open::Driver { node, private } = f.open() else {
            return Err(Errno::EBADF);
        };
        self.access_ok(buf, len)?;
        let mut done = 0;
        while done < len {
            let mut tmp = [0u8; CHUNK];
            let want = CHUNK.min(len - done);
            let got = self.copy_in(buf + done, &mut tmp[..want]);
            if got == 0 {
                if done == 0 {
                    return Err(Errno::EFAULT);
                }
                break;
            }
            let n = match node
                .dev
                .write((f.pos() + done) as u64, &tmp[..got], private)
            {
                Ok(n) => n,
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            };
            done += n;
            if n < want {
                break;
            }
        }
        f.set_pos(f.pos() + done);
        Ok(done)
    }

    /// `ioctl`: a driver's fd goes to its driver; any other open fd has
    /// no ioctls (`ENOTTY`), a closed one is `EBADF`.
    pub(super) fn ioctl(&mut self, fd: i32, cmd: u32, arg: usize) -> Result<usize, Errno> {
        let f = self.fd(fd)?.clone();
        let Open::Driver { node, private } = f.open() else {
            return Err(Errno::ENOTTY);
        };
        node.dev.ioctl(cmd, arg, &mut TaskUser(self), private)
    }

    /// The driver range of `fd` whose mappings must agree in type, if
    /// `fd` is a driver's with one.
    pub fn driver_exclusive_range(&self, fd: i32) -> Option<(u64, u64)> {
        match self.fd(fd).ok()?.open() {
            Open::Driver { node, .. } => node.dev.exclusive_range(),
            _ => None,
        }
    }

    /// `mmap`, with what every process maps over the fd's driver range
    /// (`seen`, collected by the scheduler, which reaches all
    /// processes); `None`: this process's own mappings only (host tests,
    /// which run one task).
    pub(super) fn mmap_seen(
        &mut self,
        a: [usize; 6],
        offset: u64,
        seen: Option<MappedTypes>,
    ) -> Result<usize, Errno> {
        let own = match self.driver_exclusive_range(a[4] as i32) {
            Some((lo, hi)) => mapped_over(self.space.vmas.iter(), lo, hi),
            None => MappedTypes::NONE,
        };
        let mapped = seen.unwrap_or(own);
        let fds = &self.fds;
        let lookup = |fd: i32| {
            let f = usize::try_from(fd)
                .ok()
                .and_then(|i| fds.get(i))?
                .as_ref()?;
            Some(match f.kind() {
                FdKind::Driver {
                    dev,
                    flags,
                    private,
                    ..
                } => FdKind::Driver {
                    dev,
                    flags,
                    private,
                    mapped,
                },
                k => k,
            })
        };
        let ctx = mm_args::MmContext {
            task_size: self.layout.task_size,
            fd: &lookup,
        };
        let req = mm_args::decode_mmap(
            a[0],
            a[1],
            a[2] as u32,
            a[3] as u32,
            a[4] as i32,
            offset,
            &ctx,
        )?;
        let va = self.space.mmap(self.mmu.as_mut(), &req)?;
        if let mm_args::Backing::Device { phys, mem, .. } = req.backing {
            if self.driver_exclusive_range(a[4] as i32).is_some() {
                self.log_device_mapping(va, phys, req.len, mem);
            }
        }
        Ok(va)
    }

    /// (The scheduler, target-only, is the caller.)
    #[cfg_attr(not(target_os = "none"), allow(dead_code))]
    /// `mmap`/`mmap2` (the byte offset as `Task::syscall` computes it)
    /// with what every process maps over the fd's driver range.
    pub(super) fn mmap_syscall_seen(
        &mut self,
        sys: super::Sys,
        a: [usize; 6],
        seen: MappedTypes,
    ) -> super::Outcome {
        let offset = match sys {
            super::Sys::Mmap2 => (a[5] as u64) << 12,
            _ => a[5] as u64,
        };
        super::Outcome::Return(match self.mmap_seen(a, offset, Some(seen)) {
            Ok(v) => v as isize,
            Err(e) => e.as_return(),
        })
    }

    /// One kernel line per driver mapping with a memory type of its own:
    /// the VMA and what the independent descriptor decoder
    /// (`arch::*::decode`, through `Mmu::walk`) reads back from the user
    /// table entry, for the QEMU tests to check against the ARM ARM.
    fn log_device_mapping(
        &self,
        va: usize,
        phys: u64,
        len: usize,
        mem: crate::mm::memtype::MemoryType,
    ) {
        let mut class = None;
        self.mmu.walk(&mut |m| {
            if m.va <= va && va < m.va + m.size {
                class = Some(m.class);
            }
        });
        crate::kprintln!(
            "chardev: task {} mmap va={va:#x} pa={phys:#x} len={len:#x} type={mem:?} decoded={:?}",
            self.pid,
            class.flatten()
        );
    }
}

/// What every process maps now over the exclusive range of the current
/// task's `fd` (for a driver's `mmap`); `None` if `fd` has no such range.
#[cfg_attr(not(target_os = "none"), allow(dead_code))]
pub fn mapped_everywhere(procs: &super::process::Procs, fd: i32) -> Option<MappedTypes> {
    let (lo, hi) = procs.current()?.driver_exclusive_range(fd)?;
    let mut all = MappedTypes::NONE;
    for t in procs.iter() {
        for mem in mapped_over(t.space.vmas.iter(), lo, hi).iter() {
            all.add(mem);
        }
    }
    Some(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::memtype::MemoryType;
    use crate::syscall::mm_args::Prot;

    fn dev(start: usize, end: usize, phys: u64, mem: MemoryType) -> Vma {
        Vma {
            start,
            end,
            prot: Prot::NONE,
            kind: VmaKind::Device {
                phys,
                mem,
                may_write: true,
            },
        }
    }

    #[test]
    fn mapped_over_takes_device_vmas_that_overlap_the_range() {
        let wc = MemoryType::NormalNonCacheable;
        let so = MemoryType::StronglyOrdered;
        let vmas = [
            // Ends exactly where the range starts: no overlap.
            dev(0x1000, 0x2000, 0x4000_0000, so),
            // Its second page is the range's first.
            dev(0x3000, 0x5000, 0x4000_1000, wc),
            // Another device entirely.
            dev(0x8000, 0x9000, 0x0900_0000, MemoryType::DeviceShareable),
            Vma {
                start: 0xa000,
                end: 0xb000,
                prot: Prot::NONE,
                kind: VmaKind::Anonymous {
                    shared: true,
                    may_write: true,
                },
            },
        ];
        let m = mapped_over(vmas.iter(), 0x4000_2000, 0x4000_4000);
        assert_eq!(m.iter().collect::<Vec<_>>(), vec![wc]);
        let m = mapped_over(vmas.iter(), 0x4000_4000, 0x4000_6000);
        assert!(m.is_empty());
        let m = mapped_over(vmas.iter(), 0x4000_0000, 0x4000_6000);
        assert_eq!(m.iter().count(), 2);
    }
}
