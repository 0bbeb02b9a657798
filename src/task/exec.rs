//! `exec`: a program file of the root becomes a task: its headers read
//! through the page cache, its segments private file mappings of it
//! (`AddressSpace::map_elf_segment`), the stack VMA with Linux's initial
//! stack written in.

use super::{random_bytes, File, Task, UserLayout};
use crate::errno::Errno;
use crate::loader::{elf, stack};
use crate::mm::space::{Access2, AddressSpace, FileSegment, Mmu};
use crate::mm::vma::{ImageData, Vma, VmaKind};
use crate::syscall::mm_args::{Prot, PAGE_SIZE};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

static ARM_TRAMPOLINE: [u8; 24] = super::signal::arm::TRAMPOLINE;
static A64_TRAMPOLINE: [u8; 8] = super::signal::aarch64::TRAMPOLINE;

/// Why `exec` failed: the errno `execve` returns and a message for the log.
#[derive(Debug)]
pub struct ExecError {
    pub errno: Errno,
    pub msg: String,
}

impl ExecError {
    fn new(errno: Errno, msg: String) -> ExecError {
        ExecError { errno, msg }
    }
}

impl Task {
    /// Load the program file `path` as a new task, Linux-style initial
    /// stack included. Returns the task, its entry point and stack pointer.
    ///
    /// As Linux's `bprm_execve`: the file is opened (a user of its page
    /// cache held meanwhile), its first `BINPRM_BUF_SIZE` bytes read for a
    /// `#!` line, then the ELF header and program headers read
    /// ([`elf::plan_from`]), all through the page cache, so any regular
    /// file with an execute bit runs, whether unpacked from the initramfs
    /// or written since.
    pub fn exec(
        pid: u32,
        path: &str,
        argv: &[&[u8]],
        envp: &[&[u8]],
        layout: UserLayout,
        mut mmu: Box<dyn Mmu + Send>,
    ) -> Result<(Task, u64, u64), ExecError> {
        use alloc::format;
        // Relative to the process's working directory; `#!` scripts hand
        // over to their interpreter (binfmt_script), up to 5 levels.
        let mut shown: &[u8] = path.as_bytes();
        let mut load = super::fsctx::resolve(pid, path)
            .map_err(|e| ExecError::new(e, format!("{path}: {}", e.name())))?;
        let mut args: Vec<&[u8]> = Vec::new();
        args.try_reserve_exact(argv.len())
            .map_err(|_| ExecError::new(Errno::ENOMEM, format!("{path}: argv")))?;
        args.extend_from_slice(argv);
        let mut depth = 0;
        // One buffer per level of `#!` (the argv of a script borrows the
        // interpreter's name and argument from its line).
        let mut heads =
            [[0u8; super::shebang::BINPRM_BUF_SIZE]; super::shebang::MAX_INTERP_DEPTH + 1];
        let mut free_heads: &mut [[u8; super::shebang::BINPRM_BUF_SIZE]] = &mut heads;
        let obj = loop {
            let obj = crate::fs::exec_file(&load).map_err(|e| {
                let why = match (e, crate::fs::UNPACK_ERROR.get()) {
                    (_, Some(broken)) => format!("{} (initramfs: {broken})", e.name()),
                    (Errno::ELOOP, None) => format!(
                        "too many levels of symbolic links (more than {})",
                        crate::fs::tmpfs::MAX_SYMLINKS
                    ),
                    (Errno::EACCES, None) => {
                        String::from("permission denied (not a regular file with an execute bit)")
                    }
                    _ => String::from(e.name()),
                };
                ExecError::new(e, format!("{load}: {why}"))
            })?;
            let Some((head, rest)) = core::mem::take(&mut free_heads).split_first_mut() else {
                super::vfs::release(obj);
                return Err(ExecError::new(Errno::ELOOP, format!("{path}: #! depth")));
            };
            free_heads = rest;
            let got = super::vfs::with_pool(|p| crate::fs::data::read(obj, 0, &mut head[..], p));
            let head: &[u8] = match got {
                Ok(n) => &head[..n],
                Err(e) => {
                    super::vfs::release(obj);
                    return Err(ExecError::new(e, format!("{load}: read: {}", e.name())));
                }
            };
            let sb = match super::shebang::parse(head) {
                None => break obj,
                Some(Ok(sb)) => sb,
                Some(Err(e)) => {
                    super::vfs::release(obj);
                    return Err(ExecError::new(e, format!("{load}: bad #! line")));
                }
            };
            // A script: its file is not needed any more.
            super::vfs::release(obj);
            depth += 1;
            if depth > super::shebang::MAX_INTERP_DEPTH {
                return Err(ExecError::new(
                    Errno::ELOOP,
                    format!("{path}: more than 5 levels of #! interpreters"),
                ));
            }
            // argv: interpreter, its argument, the script's name as given,
            // then the old argv without argv[0].
            args = super::shebang::script_argv(&sb, shown, &args)
                .map_err(|e| ExecError::new(e, format!("{path}: argv")))?;
            shown = sb.interp;
            let interp = core::str::from_utf8(sb.interp)
                .ok()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| ExecError::new(Errno::ENOENT, format!("{load}: no interpreter")))?;
            load = super::fsctx::resolve(pid, interp)
                .map_err(|e| ExecError::new(e, format!("{interp}: {}", e.name())))?;
        };
        // From here on `obj` holds exec's user of the file, given back
        // whatever the outcome (the address space takes its own).
        let r = Self::load_elf(pid, obj, path, &args, envp, layout, &mut mmu);
        super::vfs::release(obj);
        let (space, entry, sp) = r?;
        // fds 0-2: the console, one open file description (Linux's init
        // opens /dev/console once and dups it).
        let mut fds: Vec<Option<File>> = Vec::new();
        let console = File::console().and_then(|c| {
            // Room for fd 3 too (a first open then needs no reallocation).
            fds.try_reserve(4).map_err(|_| Errno::ENOMEM)?;
            Ok(c)
        });
        let mut space = space;
        let console = match console {
            Ok(c) => c,
            Err(e) => {
                space.teardown(mmu.as_mut());
                return Err(ExecError::new(e, format!("{path}: fds")));
            }
        };
        for _ in 0..3 {
            fds.push(Some(console.clone()));
        }
        let name = String::from(core::str::from_utf8(shown).unwrap_or(path));
        let task = Task::new(pid, name, space, mmu, fds, layout);
        Ok((task, entry, sp))
    }

    /// The ELF program in the file `obj` (exec holds a user of it) as a
    /// new address space with its initial stack: the address space, the
    /// entry point and the stack pointer.
    #[allow(clippy::too_many_arguments)]
    fn load_elf(
        pid: u32,
        obj: crate::mm::shm::ShmId,
        path: &str,
        argv: &[&[u8]],
        envp: &[&[u8]],
        layout: UserLayout,
        mmu: &mut Box<dyn Mmu + Send>,
    ) -> Result<(AddressSpace, u64, u64), ExecError> {
        use alloc::format;
        let plan = super::vfs::with_pool(|pool| {
            elf::plan_from(
                &mut crate::fs::data::Reader { id: obj, pool },
                layout.machine,
                layout.task_size as u64,
                PAGE_SIZE as u64,
                layout.pie_bias,
            )
        })
        .map_err(|e| {
            // Linux: a file that is not a loadable ELF for this machine is
            // ENOEXEC; one that cannot fit is ENOMEM; a read error is its
            // own.
            let errno = match e {
                elf::ElfError::NoMemory => Errno::ENOMEM,
                elf::ElfError::Read(e) => e,
                _ => Errno::ENOEXEC,
            };
            ExecError::new(errno, format!("{path}: {e}"))
        })?;
        let mut space = AddressSpace::new(layout.task_size, layout.mmap_lo, layout.mmap_hi);
        let fail = |space: &mut AddressSpace, mmu: &mut Box<dyn Mmu + Send>, msg: String| {
            space.teardown(mmu.as_mut());
            ExecError::new(Errno::ENOMEM, msg)
        };
        for seg in &plan.segments {
            let start = (seg.vaddr as usize) & !(PAGE_SIZE - 1);
            let end = ((seg.vaddr + seg.memsz) as usize + PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
            let prot = Prot {
                read: seg.perms.read,
                write: seg.perms.write,
                exec: seg.perms.exec,
            };
            // A writable segment is private writable memory: Linux's
            // loader accounts it (elf_map / vm_brk_flags) and refuses one
            // larger than RAM.
            if prot.write && AddressSpace::enough_memory(mmu.as_ref(), end - start).is_err() {
                let msg = format!(
                    "{path}: segment at {start:#x}: {} MiB is more than the RAM ({} MiB): out of memory (ENOMEM)",
                    (end - start) >> 20,
                    (mmu.total_frames() * PAGE_SIZE) >> 20
                );
                return Err(fail(&mut space, mmu, msg));
            }
            // Pages come in on first touch, from the file's page cache
            // (zero for .bss), as Linux maps segments.
            let fseg = FileSegment {
                vaddr: seg.vaddr as usize,
                memsz: seg.memsz as usize,
                file_offset: seg.file_offset,
                filesz: seg.filesz as usize,
                prot,
            };
            if let Err(e) = space.map_elf_segment(mmu.as_mut(), obj, &fseg) {
                let mut err = fail(
                    &mut space,
                    mmu,
                    format!("{path}: segment at {start:#x}: {}", e.name()),
                );
                err.errno = e;
                return Err(err);
            }
        }
        // The address space's executable (`/proc/<pid>/exe`).
        if let Err(e) = space.set_exe(mmu.as_mut(), obj) {
            let mut err = fail(&mut space, mmu, format!("{path}: {}", e.name()));
            err.errno = e;
            return Err(err);
        }
        let brk = (plan.highest as usize + PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
        space.brk_start = brk;
        space.brk = brk;

        // The stack: a lazily filled VMA; the initial image is written now.
        let top = layout.stack_top;
        let rw = Prot {
            read: true,
            write: true,
            exec: false,
        };
        if space
            .vmas
            .insert(Vma {
                start: top - layout.stack_size,
                end: top,
                prot: rw,
                kind: VmaKind::Stack,
            })
            .is_err()
        {
            return Err(fail(
                &mut space,
                mmu,
                format!("{path}: stack overlaps the image"),
            ));
        }
        // The signal trampoline page (Linux's ARM [sigpage], the AArch64
        // vDSO's sigreturn): returns from handlers installed without
        // SA_RESTORER. Read-only and executable, right above the stack.
        let tramp: &'static [u8] = match layout.machine {
            elf::Machine::Arm => &ARM_TRAMPOLINE,
            _ => &A64_TRAMPOLINE,
        };
        if space
            .vmas
            .insert(Vma {
                start: top,
                end: top + PAGE_SIZE,
                prot: Prot {
                    read: true,
                    write: false,
                    exec: true,
                },
                kind: VmaKind::Image(ImageData {
                    bytes: tramp,
                    va: top,
                    file_offset: 0,
                }),
            })
            .is_err()
        {
            return Err(fail(
                &mut space,
                mmu,
                format!("{path}: no room for the signal trampoline"),
            ));
        }
        let auxv = stack::linux_auxv(&plan, PAGE_SIZE as u64, layout.hwcap, layout.hwcap2);
        let spec = stack::StackSpec {
            stack_top: top as u64,
            word: layout.word,
            argv,
            envp,
            execfn: path.as_bytes(),
            auxv: &auxv,
            random: random_bytes(pid),
            platform: Some(layout.platform),
            max_size: (layout.stack_size / 4) as u64,
        };
        let st = match stack::build(&spec) {
            Ok(s) => s,
            Err(e) => {
                let mut err = fail(&mut space, mmu, format!("{path}: stack: {e:?}"));
                // Arguments that do not fit the stack limit: E2BIG.
                err.errno = Errno::E2BIG;
                return Err(err);
            }
        };
        let mut off = 0usize;
        let base = st.sp as usize;
        while off < st.image.len() {
            let va = base + off;
            let page = va & !(PAGE_SIZE - 1);
            if space.fault(mmu.as_mut(), va, Access2::Write).is_err() {
                return Err(fail(&mut space, mmu, format!("{path}: stack page")));
            }
            // Present: the fault above just mapped it (a missing page here
            // used to be written at physical address 0).
            let Some(pa) = mmu.lookup(page) else {
                return Err(fail(&mut space, mmu, format!("{path}: stack page")));
            };
            let n = (page + PAGE_SIZE - va).min(st.image.len() - off);
            // SAFETY: `pa` is the stack frame this address space just
            // allocated for `page` and owns.
            unsafe { mmu.fill_frame(pa, va - page, &st.image[off..off + n]) };
            off += n;
        }
        Ok((space, plan.entry, st.sp))
    }
}
