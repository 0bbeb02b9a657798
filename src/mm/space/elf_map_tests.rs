//! ELF segments mapped from the executable's page cache
//! ([`AddressSpace::map_elf_segment`]), against the fork tests' machine:
//! real page contents, a real frame allocator with reference counts.
//!
//! Expected values come from Linux 6.1's fs/binfmt_elf.c (`elf_map` maps
//! `[p_vaddr & PAGE_MASK, PAGE_ALIGN(p_vaddr + p_filesz))` of the file
//! MAP_PRIVATE from `p_offset - ELF_PAGEOFFSET(p_vaddr)`; `set_brk` /
//! `vm_brk_flags` maps the rest of `p_memsz` anonymous; `padzero` clears
//! the last file page after `p_filesz`), from mmap(2) for private file
//! mappings, and from proc(5) for the maps lines, never from this
//! implementation.

use super::fork_tests::{check_refcounts, read, space, write, Machine, MemMmu, P, RAM_FRAMES};
use super::*;
use crate::mm::shm::{self, ShmId};
use std::boxed::Box;
use std::cell::RefCell;
use std::rc::Rc;
use std::string::String;
use std::vec::Vec;

type Mach = Rc<RefCell<Machine>>;

/// File bytes, none zero (a zero read back is never file data).
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 253) as u8 + 1).collect()
}

/// A file as the VFS holds it: one user (the inode).
fn file(bytes: &[u8]) -> ShmId {
    shm::create_file(Box::leak(bytes.to_vec().into_boxed_slice())).unwrap()
}

fn close(mach: &Mach, id: ShmId) {
    shm::remove_user(id, &mut |pa| mach.borrow_mut().drop_ref(pa));
}

fn all_free(mach: &Mach) {
    assert_eq!(
        mach.borrow().frames.free_count(),
        RAM_FRAMES,
        "a frame leaked"
    );
}

fn rx() -> Prot {
    Prot {
        read: true,
        write: false,
        exec: true,
    }
}

fn rw() -> Prot {
    Prot {
        read: true,
        write: true,
        exec: false,
    }
}

fn ro() -> Prot {
    Prot {
        read: true,
        write: false,
        exec: false,
    }
}

fn seg(vaddr: usize, memsz: usize, file_offset: u64, filesz: usize, prot: Prot) -> FileSegment {
    FileSegment {
        vaddr,
        memsz,
        file_offset,
        filesz,
        prot,
    }
}

/// A static program's layout: text at file 0 / 0x10000 (0x1800 bytes),
/// data at file 0x2100 / 0x12100 (0x300 bytes of file, 0x2000 in memory:
/// `.bss` from 0x12400 to 0x14100).
const TEXT: usize = 0x10000;
const DATA: usize = 0x12100;

fn load(mach: &Mach, data: &[u8]) -> (ShmId, AddressSpace, MemMmu) {
    let id = file(data);
    let (mut s, mut m) = (space(), MemMmu::new(mach));
    s.map_elf_segment(&mut m, id, &seg(TEXT, 0x1800, 0, 0x1800, rx()))
        .unwrap();
    s.map_elf_segment(&mut m, id, &seg(DATA, 0x2000, 0x2100, 0x300, rw()))
        .unwrap();
    (id, s, m)
}

#[test]
fn segments_are_private_file_mappings_and_anonymous_bss() {
    let mach = Machine::new();
    // The file goes on past the data segment's bytes (section headers...).
    let data = pattern(0x2800);
    let (id, mut s, mut m) = load(&mach, &data);
    // One user more for the address space, however many segments.
    assert_eq!(shm::users(id), 2);
    let v: Vec<Vma> = s.vmas.iter().copied().collect();
    let kinds: Vec<(usize, usize, VmaKind)> = v.iter().map(|v| (v.start, v.end, v.kind)).collect();
    let anon = VmaKind::Anonymous {
        shared: false,
        may_write: true,
    };
    assert_eq!(
        kinds,
        [
            (0x10000, 0x12000, VmaKind::FilePrivate { id, pgoff: 0 }),
            (0x12000, 0x13000, VmaKind::FilePrivate { id, pgoff: 2 }),
            (0x13000, 0x15000, anon),
        ]
    );
    // The text: file bytes at their offsets, the whole of the last page
    // (file bytes past p_filesz show, as the page is the file's).
    assert_eq!(read(&mut s, &mut m, TEXT), Ok(data[0]));
    assert_eq!(read(&mut s, &mut m, TEXT + 0x1805), Ok(data[0x1805]));
    // Read-only pages are the page cache's own frames.
    assert_eq!(m.lookup(TEXT), shm::page(id, 0));
    assert_eq!(m.lookup(TEXT + P), shm::page(id, 1));
    // The data page: file bytes before p_vaddr and up to p_filesz, then
    // zero (padzero), in a private copy made at load time.
    assert!(m.lookup(0x12000).is_some(), "padzero touched the page");
    assert_ne!(m.lookup(0x12000), shm::page(id, 2));
    assert_eq!(read(&mut s, &mut m, 0x12000), Ok(data[0x2000]));
    assert_eq!(read(&mut s, &mut m, DATA), Ok(data[0x2100]));
    assert_eq!(read(&mut s, &mut m, DATA + 0x2ff), Ok(data[0x23ff]));
    assert_eq!(read(&mut s, &mut m, DATA + 0x300), Ok(0));
    assert_eq!(read(&mut s, &mut m, 0x12fff), Ok(0));
    // .bss: zero, writable.
    assert_eq!(read(&mut s, &mut m, 0x13000), Ok(0));
    write(&mut s, &mut m, 0x14000, 7).unwrap();
    assert_eq!(read(&mut s, &mut m, 0x14000), Ok(7));
    // A write to data does not reach the file.
    write(&mut s, &mut m, DATA, 0xEE).unwrap();
    assert_eq!(read(&mut s, &mut m, DATA), Ok(0xEE));
    // (nor did padzero's zeroes: the cache page still holds the file's
    // bytes past p_filesz)
    let cache = shm::page(id, 2).unwrap();
    let byte = |off: usize| mach.borrow().mem.get(&cache).map_or(0, |p| p[off]);
    assert_eq!(byte(0x100), data[0x2100]);
    assert_eq!(byte(0x400), data[0x2400]);
    // Text is not writable.
    assert_eq!(s.fault(&mut m, TEXT, Access2::Write), Err(Errno::EACCES));
    check_refcounts(&[(&s, &m)]);
    s.teardown(&mut m);
    assert_eq!(shm::users(id), 1, "the inode's user stays");
    close(&mach, id);
    all_free(&mach);
}

#[test]
fn the_program_outlives_the_unlink_of_its_file() {
    let mach = Machine::new();
    let data = pattern(0x2400);
    let (id, mut s, mut m) = load(&mach, &data);
    assert_eq!(read(&mut s, &mut m, TEXT), Ok(data[0]));
    // unlink + last close: the inode's user goes, the address space's
    // stays, and pages not touched yet still come from the file.
    close(&mach, id);
    assert_eq!(shm::users(id), 1);
    assert_eq!(read(&mut s, &mut m, TEXT + P + 3), Ok(data[P + 3]));
    assert_eq!(read(&mut s, &mut m, DATA + 1), Ok(data[0x2101]));
    check_refcounts(&[(&s, &m)]);
    // fork: the child is one more user; both exit.
    let mut cm = MemMmu::new(&mach);
    let mut c = s.fork(&mut m, &mut cm).unwrap();
    assert_eq!(shm::users(id), 2);
    assert_eq!(read(&mut c, &mut cm, TEXT + 7), Ok(data[7]));
    check_refcounts(&[(&s, &m), (&c, &cm)]);
    s.teardown(&mut m);
    assert_eq!(read(&mut c, &mut cm, TEXT + P), Ok(data[P]));
    c.teardown(&mut cm);
    assert_eq!(shm::users(id), 0, "the last user freed the file's data");
    all_free(&mach);
}

#[test]
fn a_segment_without_file_bytes_is_anonymous_and_holds_no_user() {
    let mach = Machine::new();
    let id = file(&pattern(P));
    let (mut s, mut m) = (space(), MemMmu::new(&mach));
    s.map_elf_segment(&mut m, id, &seg(0x20010, 0x1000, 0x10, 0, rw()))
        .unwrap();
    assert_eq!(shm::users(id), 1);
    let v: Vec<Vma> = s.vmas.iter().copied().collect();
    assert_eq!(v.len(), 1);
    assert_eq!((v[0].start, v[0].end), (0x20000, 0x22000));
    assert!(matches!(
        v[0].kind,
        VmaKind::Anonymous { shared: false, .. }
    ));
    assert_eq!(read(&mut s, &mut m, 0x20010), Ok(0));
    s.teardown(&mut m);
    close(&mach, id);
    all_free(&mach);
}

#[test]
fn a_read_only_segment_with_bss_gets_zeroes_and_stays_read_only() {
    let mach = Machine::new();
    let data = pattern(2 * P);
    let id = file(&data);
    let (mut s, mut m) = (space(), MemMmu::new(&mach));
    s.map_elf_segment(&mut m, id, &seg(0x30000, 0x1800, 0, 0x1234, ro()))
        .unwrap();
    assert_eq!(read(&mut s, &mut m, 0x30000 + 0x1233), Ok(data[0x1233]));
    assert_eq!(read(&mut s, &mut m, 0x30000 + 0x1234), Ok(0));
    assert_eq!(read(&mut s, &mut m, 0x30000 + 0x17ff), Ok(0));
    assert_eq!(s.fault(&mut m, 0x31000, Access2::Write), Err(Errno::EACCES));
    check_refcounts(&[(&s, &m)]);
    s.teardown(&mut m);
    close(&mach, id);
    all_free(&mach);
}

#[test]
fn bad_segments_are_refused_without_a_trace() {
    let mach = Machine::new();
    let id = file(&pattern(2 * P));
    let (mut s, mut m) = (space(), MemMmu::new(&mach));
    // p_offset and p_vaddr differ modulo the page size.
    assert_eq!(
        s.map_elf_segment(&mut m, id, &seg(0x10000, 0x100, 0x10, 0x100, rx())),
        Err(Errno::EINVAL)
    );
    // p_filesz > p_memsz.
    assert_eq!(
        s.map_elf_segment(&mut m, id, &seg(0x10000, 0x10, 0, 0x100, rx())),
        Err(Errno::EINVAL)
    );
    // File bytes past the end of the file.
    assert_eq!(
        s.map_elf_segment(&mut m, id, &seg(0x10000, 0x3000, 0, 0x2001, rx())),
        Err(Errno::EIO)
    );
    assert_eq!(s.vmas.iter().count(), 0);
    assert_eq!(shm::users(id), 1);
    // Overlap with a segment already there: EEXIST, no user taken.
    let other = file(&pattern(P));
    s.map_elf_segment(&mut m, id, &seg(0x10000, 0x100, 0, 0x100, rx()))
        .unwrap();
    assert_eq!(
        s.map_elf_segment(&mut m, other, &seg(0x10000, 0x100, 0, 0x100, rx())),
        Err(Errno::EEXIST)
    );
    assert_eq!(shm::users(other), 1);
    s.teardown(&mut m);
    close(&mach, id);
    close(&mach, other);
    all_free(&mach);
}

#[test]
fn proc_maps_names_the_file_and_the_bss_at_the_brk_heap() {
    let mach = Machine::new();
    let data = pattern(0x2400);
    let (id, mut s, mut m) = load(&mach, &data);
    // brk starts where the last segment ends, as exec sets it.
    s.brk_start = 0x15000;
    s.brk = 0x15000;
    let files = |i: ShmId, found: &mut dyn FnMut(&MappedFile)| {
        if i == id {
            found(&MappedFile {
                path: "/tmp/bb",
                dev: (0, 2),
                ino: 9,
                deleted: false,
            });
        }
    };
    let exe = MapsFile {
        path: "/tmp/bb",
        dev: (0, 0),
        ino: 0,
        sigpage: None,
    };
    let mut out = String::new();
    s.write_maps_width(&mut out, &exe, &files, 48).unwrap();
    // As Linux 6.1 armmp shows a static program (user/oracle/proc_maps.arm.txt):
    // each segment's file pages named by the file with their file offset,
    // the .bss past them anonymous and, touching the brk area, [heap].
    let want = [
        "00010000-00012000 r-xp 00000000 00:02 9          /tmp/bb",
        "00012000-00013000 rw-p 00002000 00:02 9          /tmp/bb",
        "00013000-00015000 rw-p 00000000 00:00 0          [heap]",
    ];
    assert_eq!(out.lines().collect::<Vec<_>>(), want);
    s.teardown(&mut m);
    close(&mach, id);
    all_free(&mach);
}
