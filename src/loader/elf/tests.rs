use super::*;
use std::format;
use std::string::ToString;
use std::vec;
use std::vec::Vec;

const PAGE: u64 = 4096;
const LIMIT: u64 = 0x8000_0000;

#[derive(Clone, Copy)]
struct Ph {
    p_type: u32,
    flags: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
    align: u64,
}

fn load(flags: u32, offset: u64, vaddr: u64, filesz: u64, memsz: u64) -> Ph {
    Ph {
        p_type: 1,
        flags,
        offset,
        vaddr,
        filesz,
        memsz,
        align: 0x1000,
    }
}

const R: u32 = 4;
const W: u32 = 2;
const X: u32 = 1;

/// ELF header + program headers written by hand from the gABI
/// (ELF32: 52-byte header, 32-byte phdrs; ELF64: 64-byte, 56-byte).
struct Builder {
    is64: bool,
    e_type: u16,
    machine: u16,
    entry: u64,
    phdrs: Vec<Ph>,
    file_len: usize,
}

impl Builder {
    fn arm() -> Self {
        Builder {
            is64: false,
            e_type: 2,
            machine: 40,
            entry: 0x10000 + 0x54 + 2 * 32,
            phdrs: vec![
                load(R | X, 0, 0x10000, 0x300, 0x300),
                load(R | W, 0x1300, 0x11300, 0x40, 0x1000),
            ],
            file_len: 0x1340,
        }
    }
    fn a64() -> Self {
        Builder {
            is64: true,
            e_type: 2,
            machine: 183,
            entry: 0x40_0000 + 0x100,
            phdrs: vec![
                load(R | X, 0, 0x40_0000, 0x400, 0x400),
                load(R | W, 0x1400, 0x40_1400, 0x40, 0x2000),
            ],
            file_len: 0x1440,
        }
    }
    fn build(&self) -> Vec<u8> {
        let mut b = Vec::new();
        let ehsize: u16 = if self.is64 { 64 } else { 52 };
        let phentsize: u16 = if self.is64 { 56 } else { 32 };
        b.extend_from_slice(&[
            0x7f,
            b'E',
            b'L',
            b'F',
            if self.is64 { 2 } else { 1 },
            1,
            1,
            0,
        ]);
        b.extend_from_slice(&[0; 8]);
        b.extend_from_slice(&self.e_type.to_le_bytes());
        b.extend_from_slice(&self.machine.to_le_bytes());
        b.extend_from_slice(&1u32.to_le_bytes()); // e_version
        let word = |b: &mut Vec<u8>, v: u64| {
            if self.is64 {
                b.extend_from_slice(&v.to_le_bytes())
            } else {
                b.extend_from_slice(&(v as u32).to_le_bytes())
            }
        };
        word(&mut b, self.entry);
        word(&mut b, u64::from(ehsize)); // e_phoff
        word(&mut b, 0); // e_shoff
        let flags: u32 = if self.is64 { 0 } else { 0x0500_0400 };
        b.extend_from_slice(&flags.to_le_bytes());
        b.extend_from_slice(&ehsize.to_le_bytes());
        b.extend_from_slice(&phentsize.to_le_bytes());
        b.extend_from_slice(&(self.phdrs.len() as u16).to_le_bytes());
        b.extend_from_slice(&[0; 6]); // shentsize, shnum, shstrndx
        assert_eq!(b.len(), ehsize as usize);
        for p in &self.phdrs {
            b.extend_from_slice(&p.p_type.to_le_bytes());
            if self.is64 {
                b.extend_from_slice(&p.flags.to_le_bytes());
                for v in [p.offset, p.vaddr, p.vaddr, p.filesz, p.memsz, p.align] {
                    b.extend_from_slice(&v.to_le_bytes());
                }
            } else {
                for v in [p.offset, p.vaddr, p.vaddr, p.filesz, p.memsz] {
                    b.extend_from_slice(&(v as u32).to_le_bytes());
                }
                b.extend_from_slice(&p.flags.to_le_bytes());
                b.extend_from_slice(&(p.align as u32).to_le_bytes());
            }
        }
        if b.len() < self.file_len {
            b.resize(self.file_len, 0xcc);
        }
        b
    }
    fn plan(&self) -> Result<LoadPlan, ElfError> {
        let m = if self.is64 {
            Machine::AArch64
        } else {
            Machine::Arm
        };
        plan(&self.build(), m, LIMIT, PAGE, 0x10000)
    }
}

#[test]
fn arm_static_exec() {
    let b = Builder::arm();
    let p = b.plan().unwrap();
    assert_eq!(p.entry, b.entry);
    assert_eq!(p.bias, 0);
    assert_eq!(p.phnum, 2);
    assert_eq!(p.phent, 32);
    // e_phoff = 52 lies in segment 0 (file offset 0 → vaddr 0x10000).
    assert_eq!(p.phdr_vaddr, Some(0x10000 + 52));
    assert_eq!(p.segments.len(), 2);
    assert_eq!(
        p.segments[0],
        Segment {
            vaddr: 0x10000,
            memsz: 0x300,
            file_offset: 0,
            filesz: 0x300,
            perms: SegPerms {
                read: true,
                write: false,
                exec: true
            }
        }
    );
    assert_eq!(p.segments[1].perms.to_string(), "rw-");
    assert_eq!(p.segments[1].vaddr, 0x11300);
    assert!(!p.stack_exec);
    assert_eq!(p.tls, None);
    assert_eq!(p.elf_flags, 0x0500_0400);
    assert_eq!(p.lowest, 0x10000);
    assert_eq!(p.highest, 0x13000);
}

#[test]
fn aarch64_static_exec_with_pt_phdr_tls_and_stack() {
    let mut b = Builder::a64();
    b.phdrs.insert(
        0,
        Ph {
            p_type: 6,
            flags: R,
            offset: 64,
            vaddr: 0x40_0040,
            filesz: 56 * 5,
            memsz: 56 * 5,
            align: 8,
        },
    );
    b.phdrs.push(Ph {
        p_type: 7,
        flags: R,
        offset: 0x1400,
        vaddr: 0x40_1400,
        filesz: 0x10,
        memsz: 0x20,
        align: 16,
    });
    b.phdrs.push(Ph {
        p_type: 0x6474_e551,
        flags: R | W,
        offset: 0,
        vaddr: 0,
        filesz: 0,
        memsz: 0,
        align: 16,
    });
    let p = b.plan().unwrap();
    assert_eq!(p.phdr_vaddr, Some(0x40_0040));
    assert_eq!(p.phnum, 5);
    assert_eq!(p.phent, 56);
    assert_eq!(
        p.tls,
        Some(Tls {
            vaddr: 0x40_1400,
            filesz: 0x10,
            memsz: 0x20,
            align: 16
        })
    );
    assert!(!p.stack_exec);
    assert_eq!(p.segments.len(), 2);
    // Executable-stack request is reported.
    let n = b.phdrs.len();
    b.phdrs[n - 1].flags = R | W | X;
    assert!(b.plan().unwrap().stack_exec);
    // PT_PHDR pointing outside the loaded bytes → no AT_PHDR.
    b.phdrs[0].vaddr = 0x50_0000;
    assert_eq!(b.plan().unwrap().phdr_vaddr, None);
}

#[test]
fn static_pie_gets_bias() {
    let mut b = Builder::arm();
    b.e_type = 3;
    b.entry = 0x54 + 64;
    b.phdrs[0].vaddr = 0;
    b.phdrs[1].vaddr = 0x1300;
    let data = b.build();
    let p = plan(&data, Machine::Arm, LIMIT, PAGE, 0x10000).unwrap();
    assert_eq!(p.bias, 0x10000);
    assert_eq!(p.entry, 0x10000 + 0x54 + 64);
    assert_eq!(p.segments[0].vaddr, 0x10000);
    assert_eq!(p.segments[1].vaddr, 0x11300);
    assert_eq!(p.phdr_vaddr, Some(0x10000 + 52));
    // Without a bias the image would sit in page 0.
    assert!(matches!(
        plan(&data, Machine::Arm, LIMIT, PAGE, 0),
        Err(ElfError::BelowFirstPage { index: 0, .. })
    ));
    assert_eq!(
        plan(&data, Machine::Arm, LIMIT, PAGE, 0x10010),
        Err(ElfError::BadBias(0x10010))
    );
    // With PT_INTERP it is a dynamic program.
    b.phdrs.push(Ph {
        p_type: 3,
        flags: R,
        offset: 0x200,
        vaddr: 0x200,
        filesz: 0x10,
        memsz: 0x10,
        align: 1,
    });
    assert_eq!(b.plan(), Err(ElfError::Dynamic));
}

#[test]
fn thumb_entry() {
    let mut b = Builder::arm();
    b.entry = 0x10101;
    assert_eq!(b.plan().unwrap().entry, 0x10101);
    b.entry = 0x10102;
    assert_eq!(b.plan(), Err(ElfError::EntryMisaligned { entry: 0x10102 }));
    // No Thumb on AArch64.
    let mut b = Builder::a64();
    b.entry = 0x40_0101;
    assert_eq!(
        b.plan(),
        Err(ElfError::EntryMisaligned { entry: 0x40_0101 })
    );
}

#[test]
fn header_errors() {
    let good = Builder::arm().build();
    let run = |b: &[u8]| plan(b, Machine::Arm, LIMIT, PAGE, 0x10000);
    let mut b = good.clone();
    b[1] = b'X';
    assert_eq!(run(&b), Err(ElfError::BadMagic));
    assert_eq!(run(b"MZ"), Err(ElfError::BadMagic));
    assert_eq!(run(b"\x7fEL"), Err(ElfError::Truncated));
    assert_eq!(run(&good[..20]), Err(ElfError::Truncated));
    // Wrong class: an ELF64 file offered as ARM, and vice versa.
    assert_eq!(
        run(&Builder::a64().build()),
        Err(ElfError::WrongClass {
            expected: 1,
            found: 2
        })
    );
    assert_eq!(
        plan(&good, Machine::AArch64, LIMIT, PAGE, 0),
        Err(ElfError::WrongClass {
            expected: 2,
            found: 1
        })
    );
    let mut b = good.clone();
    b[5] = 2;
    assert_eq!(run(&b), Err(ElfError::WrongEndian(2)));
    let mut b = good.clone();
    b[6] = 0;
    assert_eq!(run(&b), Err(ElfError::BadVersion));
    let mut bb = Builder::arm();
    bb.machine = 3; // EM_386
    assert_eq!(
        bb.plan(),
        Err(ElfError::WrongMachine {
            expected: Machine::Arm,
            found: 3
        })
    );
    let mut bb = Builder::a64();
    bb.machine = 62; // EM_X86_64
    assert_eq!(
        bb.plan(),
        Err(ElfError::WrongMachine {
            expected: Machine::AArch64,
            found: 62
        })
    );
    for t in [0u16, 1, 4] {
        let mut bb = Builder::arm();
        bb.e_type = t;
        assert_eq!(bb.plan(), Err(ElfError::NotExecutable(t)));
    }
    // Bad e_phentsize.
    let mut b = good.clone();
    b[42] = 33;
    assert_eq!(run(&b), Err(ElfError::BadPhentsize(33)));
    let mut b = Builder::a64().build();
    b[54] = 32;
    assert_eq!(
        plan(&b, Machine::AArch64, LIMIT, PAGE, 0),
        Err(ElfError::BadPhentsize(32))
    );
    // A bad section header entry size, or a section header table past
    // the end: Linux's load_elf_binary never reads section headers
    // (fs/binfmt_elf.c reads the ELF header and e_phoff's table only), so
    // the program still loads.
    let mut b = good.clone();
    b[32] = 0x40; // e_shoff = 0x40
    b[46] = 7; // e_shentsize
    assert!(run(&b).is_ok());
    let mut b = good.clone();
    b[32..36].copy_from_slice(&0x7fff_0000u32.to_le_bytes()); // e_shoff
    b[48] = 5; // e_shnum
    assert!(run(&b).is_ok());
    // A program header table over 64 KiB.
    let mut bb = Builder::arm();
    let extra = Ph {
        p_type: 4,
        flags: R,
        offset: 0,
        vaddr: 0,
        filesz: 0,
        memsz: 0,
        align: 4,
    };
    bb.phdrs.extend(std::iter::repeat_n(extra, 2046));
    assert_eq!(bb.plan().unwrap().phnum, 2048);
    bb.phdrs.push(extra);
    assert!(matches!(bb.plan(), Err(ElfError::Malformed(_))));
    // e_phnum too large for the file.
    let mut b = good.clone();
    b[44] = 0xf0;
    assert_eq!(run(&b), Err(ElfError::Truncated));
    // No program headers at all.
    let mut bb = Builder::arm();
    bb.phdrs.clear();
    assert_eq!(bb.plan(), Err(ElfError::NoLoadSegment));
    // Only a non-load segment.
    let mut bb = Builder::arm();
    bb.phdrs = vec![Ph {
        p_type: 4,
        ..bb.phdrs[0]
    }];
    assert_eq!(bb.plan(), Err(ElfError::NoLoadSegment));
    assert_eq!(
        plan(&good, Machine::Arm, LIMIT, 3000, 0),
        Err(ElfError::BadPageSize(3000))
    );
    // PT_INTERP is refused even on ET_EXEC.
    let mut bb = Builder::arm();
    bb.phdrs.insert(
        0,
        Ph {
            p_type: 3,
            flags: R,
            offset: 0x200,
            vaddr: 0x10200,
            filesz: 0x10,
            memsz: 0x10,
            align: 1,
        },
    );
    assert_eq!(bb.plan(), Err(ElfError::Dynamic));
    assert!(ElfError::Dynamic.to_string().contains("PT_INTERP"));
}

#[test]
fn segment_errors() {
    let with = |f: &dyn Fn(&mut Builder)| {
        let mut b = Builder::arm();
        f(&mut b);
        b.plan()
    };
    assert_eq!(
        with(&|b| b.phdrs[1].filesz = 0x2000),
        Err(ElfError::FileszExceedsMemsz {
            index: 1,
            filesz: 0x2000,
            memsz: 0x1000
        })
    );
    assert!(matches!(
        with(&|b| b.phdrs[1].filesz = 0x41),
        Err(ElfError::DataBeyondFile { index: 1, .. })
    ));
    assert!(matches!(
        with(&|b| b.phdrs[1].offset = u64::from(u32::MAX)),
        Err(ElfError::DataBeyondFile { index: 1, .. })
    ));
    assert_eq!(
        with(&|b| b.phdrs[1].vaddr = 0x11200),
        Err(ElfError::Misaligned {
            index: 1,
            vaddr: 0x11200,
            offset: 0x1300
        })
    );
    // Reaching kernel space (ends exactly at the limit is fine).
    let e = with(&|b| {
        b.phdrs[1].offset = 0x1000;
        b.phdrs[1].vaddr = 0x8000_0000;
        b.phdrs[1].memsz = 0x1000;
    });
    assert_eq!(
        e,
        Err(ElfError::ReachesKernel {
            index: 1,
            start: 0x8000_0000,
            end: 0x8000_1000,
            limit: LIMIT
        })
    );
    assert_eq!(
        e.unwrap_err().to_string(),
        "ELF: segment 1 [0x80000000..0x80001000) reaches kernel space (user limit 0x80000000)"
    );
    assert!(with(&|b| {
        b.phdrs[1].offset = 0x1000;
        b.phdrs[1].vaddr = 0x7fff_f000;
        b.phdrs[1].memsz = 0x1000;
        b.phdrs[1].filesz = 0x40;
    })
    .is_ok());
    assert!(matches!(
        with(&|b| {
            b.phdrs[1].vaddr = 0x7fff_f300;
            b.phdrs[1].memsz = 0xd01;
        }),
        Err(ElfError::ReachesKernel { .. })
    ));
    // Page 0.
    assert!(matches!(
        with(&|b| {
            b.phdrs[1].vaddr = 0x300;
            b.phdrs[1].offset = 0x300;
        }),
        Err(ElfError::BelowFirstPage { index: 1, .. })
    ));
    // 32-bit file, but a 64-bit plan: address overflow must be caught on
    // ELF64 where fields are 64-bit.
    let mut b = Builder::a64();
    b.phdrs[1].vaddr = u64::MAX - 0xfff + 0x400;
    b.phdrs[1].offset = 0x1400;
    assert_eq!(
        plan(&b.build(), Machine::AArch64, u64::MAX, PAGE, 0),
        Err(ElfError::AddressOverflow { index: 1 })
    );
    // The end fits, but rounding it up to a page does not.
    b.phdrs[1].vaddr = u64::MAX - 0x1fff + 0x400;
    b.phdrs[1].memsz = 0x1000;
    assert_eq!(
        plan(&b.build(), Machine::AArch64, u64::MAX, PAGE, 0),
        Err(ElfError::AddressOverflow { index: 1 })
    );
    // W+X.
    let e = with(&|b| b.phdrs[1].flags = R | W | X).unwrap_err();
    assert_eq!(
        e,
        ElfError::WritableAndExecutable {
            index: 1,
            start: 0x11300,
            end: 0x12300
        }
    );
    assert!(e.to_string().contains("writable and executable"));
    // Overlap: sharing a page, fully inside, and in reverse order.
    assert_eq!(
        with(&|b| {
            b.phdrs[1].vaddr = 0x10300;
            b.phdrs[1].offset = 0x300;
        }),
        Err(ElfError::Overlap {
            first: 0,
            second: 1
        })
    );
    assert_eq!(
        with(&|b| {
            b.phdrs.swap(0, 1);
            b.phdrs[0].vaddr = 0x10300;
            b.phdrs[0].offset = 0x300;
        }),
        Err(ElfError::Overlap {
            first: 0,
            second: 1
        })
    );
    assert_eq!(
        with(&|b| {
            b.phdrs.push(load(R, 0x100, 0x18100, 0x10, 0x10));
            b.phdrs[1].memsz = 0x10000;
        }),
        Err(ElfError::Overlap {
            first: 1,
            second: 2
        })
    );
    // Same permissions sharing a page are refused too (documented rule).
    assert!(matches!(
        with(&|b| {
            b.phdrs[1].vaddr = 0x10300;
            b.phdrs[1].offset = 0x300;
            b.phdrs[1].flags = R | X;
        }),
        Err(ElfError::Overlap { .. })
    ));
    // Adjacent pages are fine.
    assert!(with(&|b| {
        b.phdrs[1].vaddr = 0x11000;
        b.phdrs[1].offset = 0x1000;
    })
    .is_ok());
    // Entry point outside any executable segment.
    assert_eq!(
        with(&|b| b.entry = 0x11300),
        Err(ElfError::EntryNotExecutable { entry: 0x11300 })
    );
    assert_eq!(
        with(&|b| b.entry = 0x10300),
        Err(ElfError::EntryNotExecutable { entry: 0x10300 })
    );
    assert!(with(&|b| b.entry = 0x102fc).is_ok());
    // Zero-sized PT_LOAD is ignored, not mapped.
    let p = with(&|b| b.phdrs.push(load(R, 0, 0, 0, 0))).unwrap();
    assert_eq!(p.segments.len(), 2);
    // TLS with filesz > memsz.
    assert_eq!(
        with(&|b| b.phdrs.push(Ph {
            p_type: 7,
            flags: R,
            offset: 0x1300,
            vaddr: 0x11300,
            filesz: 8,
            memsz: 4,
            align: 4
        })),
        Err(ElfError::BadTls)
    );
}

#[test]
fn every_truncation_is_an_error() {
    for b in [Builder::arm(), Builder::a64()] {
        let data = b.build();
        let m = if b.is64 {
            Machine::AArch64
        } else {
            Machine::Arm
        };
        for len in 0..data.len() {
            let r = plan(&data[..len], m, LIMIT, PAGE, 0x10000);
            assert!(r.is_err(), "len {len} accepted");
            let _ = format!("{}", r.unwrap_err());
        }
        assert!(plan(&data, m, LIMIT, PAGE, 0x10000).is_ok());
    }
}

#[test]
fn byte_flips_never_panic() {
    for b in [Builder::arm(), Builder::a64()] {
        let data = b.build();
        let m = if b.is64 {
            Machine::AArch64
        } else {
            Machine::Arm
        };
        let hdr = if b.is64 { 64 + 56 * 2 } else { 52 + 32 * 2 };
        for i in 0..hdr {
            for v in [0u8, 1, 0x7f, 0x80, 0xff] {
                let mut d = data.clone();
                d[i] = v;
                if let Ok(p) = plan(&d, m, LIMIT, PAGE, 0x10000) {
                    // Whatever is accepted obeys the invariants.
                    for s in &p.segments {
                        assert!(s.vaddr >= PAGE && s.vaddr + s.memsz <= LIMIT);
                        assert!(!(s.perms.write && s.perms.exec));
                        assert!(s.file_offset + s.filesz <= d.len() as u64);
                    }
                }
            }
        }
    }
}

/// A file read a few bytes at a time (as a page cache read across pages
/// may return less than asked), or failing at some offset.
struct Dribble<'a> {
    data: &'a [u8],
    step: usize,
    /// Reads at or past this offset fail with EIO.
    fail_at: u64,
    reads: Vec<(u64, usize)>,
}

impl Source for Dribble<'_> {
    fn size(&self) -> u64 {
        self.data.len() as u64
    }
    fn read_at(&mut self, pos: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        self.reads.push((pos, buf.len()));
        if pos >= self.fail_at {
            return Err(Errno::EIO);
        }
        let from = (pos as usize).min(self.data.len());
        let n = buf.len().min(self.step).min(self.data.len() - from);
        buf[..n].copy_from_slice(&self.data[from..from + n]);
        Ok(n)
    }
}

#[test]
fn a_source_read_in_small_pieces_gives_the_same_plan() {
    for b in [Builder::arm(), Builder::a64()] {
        let data = b.build();
        let m = if b.is64 {
            Machine::AArch64
        } else {
            Machine::Arm
        };
        let whole = plan(&data, m, LIMIT, PAGE, 0x10000).unwrap();
        let mut src = Dribble {
            data: &data,
            step: 3,
            fail_at: u64::MAX,
            reads: Vec::new(),
        };
        assert_eq!(plan_from(&mut src, m, LIMIT, PAGE, 0x10000), Ok(whole));
        // Only the ELF header and the program headers are read: nothing
        // past the end of the table (segment bytes are mapped, not read).
        let phend = if b.is64 {
            64 + 56 * b.phdrs.len() as u64
        } else {
            52 + 32 * b.phdrs.len() as u64
        };
        for &(pos, len) in &src.reads {
            assert!(
                pos < phend.max(64),
                "read at {pos:#x} (+{len}) is past the headers"
            );
        }
    }
}

#[test]
fn a_read_error_is_the_sources_errno() {
    let data = Builder::arm().build();
    // The header reads fine, the program header table does not.
    let mut src = Dribble {
        data: &data,
        step: 4096,
        fail_at: 52,
        reads: Vec::new(),
    };
    assert_eq!(
        plan_from(&mut src, Machine::Arm, LIMIT, PAGE, 0),
        Err(ElfError::Read(Errno::EIO))
    );
    let mut src = Dribble {
        data: &data,
        step: 4096,
        fail_at: 0,
        reads: Vec::new(),
    };
    assert_eq!(
        plan_from(&mut src, Machine::Arm, LIMIT, PAGE, 0),
        Err(ElfError::Read(Errno::EIO))
    );
}

#[test]
fn a_file_written_at_run_time_plans_through_its_page_cache() {
    use crate::fs::data::{self, tests::FakePool, Pool, Reader};
    use crate::mm::shm;
    for b in [Builder::arm(), Builder::a64()] {
        let bytes = b.build();
        let m = if b.is64 {
            Machine::AArch64
        } else {
            Machine::Arm
        };
        let want = plan(&bytes, m, LIMIT, PAGE, 0x10000).unwrap();
        let mut pool = FakePool::default();
        // Created empty (no source: nothing unpacked), then written:
        // every byte lives in cache frames only.
        let id = shm::create_file(&[]).unwrap();
        assert_eq!(data::write(id, 0, &bytes, &mut pool), Ok(bytes.len()));
        let got = plan_from(
            &mut Reader {
                id,
                pool: &mut pool,
            },
            m,
            LIMIT,
            PAGE,
            0x10000,
        );
        assert_eq!(got, Ok(want.clone()));
        // A change written over the header is what the next exec sees.
        assert_eq!(data::write(id, 18, &[0x03, 0x00], &mut pool), Ok(2));
        let got = plan_from(
            &mut Reader {
                id,
                pool: &mut pool,
            },
            m,
            LIMIT,
            PAGE,
            0x10000,
        );
        assert_eq!(
            got,
            Err(ElfError::WrongMachine {
                expected: m,
                found: 3
            })
        );
        // Truncated below the program headers: as a short file.
        assert_eq!(data::truncate(id, 40, &mut pool), Ok(()));
        let got = plan_from(
            &mut Reader {
                id,
                pool: &mut pool,
            },
            m,
            LIMIT,
            PAGE,
            0x10000,
        );
        assert_eq!(got, Err(ElfError::Truncated));
        shm::remove_user(id, &mut |pa| pool.release(pa));
        assert!(pool.frames.is_empty());
    }
}
