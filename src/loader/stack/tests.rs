use super::*;
use crate::loader::elf::{SegPerms, Segment};
use std::vec::Vec;

fn word(img: &[u8], sp: u64, addr: u64, w: WordSize) -> u64 {
    let i = (addr - sp) as usize;
    match w {
        WordSize::W32 => u64::from(u32::from_le_bytes(img[i..i + 4].try_into().unwrap())),
        WordSize::W64 => u64::from_le_bytes(img[i..i + 8].try_into().unwrap()),
    }
}

fn cstr(img: &[u8], sp: u64, addr: u64) -> &[u8] {
    let i = (addr - sp) as usize;
    let n = img[i..].iter().position(|&c| c == 0).expect("NUL");
    &img[i..i + n]
}

fn plan() -> LoadPlan {
    LoadPlan {
        entry: 0x10101,
        segments: std::vec![Segment {
            vaddr: 0x10000,
            memsz: 0x1000,
            file_offset: 0,
            filesz: 0x1000,
            perms: SegPerms {
                read: true,
                write: false,
                exec: true
            },
        }],
        phdr_vaddr: Some(0x10034),
        phent: 32,
        phnum: 7,
        bias: 0,
        stack_exec: false,
        tls: None,
        elf_flags: 0,
        lowest: 0x10000,
        highest: 0x11000,
    }
}

/// Walk the image as a libc `_start` would and check every word.
fn check_layout(w: WordSize, top: u64, platform: Option<&[u8]>) {
    let argv: [&[u8]; 3] = [b"/init", b"-x", b""];
    let envp: [&[u8]; 2] = [b"HOME=/", b"TERM=linux"];
    let random: [u8; 16] = core::array::from_fn(|i| 0xa0 + i as u8);
    let auxv = linux_auxv(&plan(), 4096, 0x1234, Some(0x5));
    let spec = StackSpec {
        stack_top: top,
        word: w,
        argv: &argv,
        envp: &envp,
        execfn: b"/sbin/init",
        auxv: &auxv,
        random,
        platform,
        max_size: 1 << 20,
    };
    let st = build(&spec).unwrap();
    let (img, sp) = (&st.image, st.sp);
    let ws = w.bytes();
    assert_eq!(sp % 16, 0);
    assert_eq!(sp + img.len() as u64, top);
    // argc, argv[], NULL, envp[], NULL.
    assert_eq!(word(img, sp, sp, w), 3);
    let mut a = sp + ws;
    assert_eq!(st.argv, a);
    let mut prev_end = 0;
    for s in argv {
        let p = word(img, sp, a, w);
        assert!(p > sp && p < top);
        assert_eq!(cstr(img, sp, p), s);
        if prev_end != 0 {
            assert_eq!(p, prev_end, "argv strings are contiguous, ascending");
        }
        prev_end = p + s.len() as u64 + 1;
        a += ws;
    }
    assert_eq!(word(img, sp, a, w), 0);
    a += ws;
    assert_eq!(st.envp, a);
    for s in envp {
        let p = word(img, sp, a, w);
        assert_eq!(p, prev_end, "env strings follow argv strings");
        assert_eq!(cstr(img, sp, p), s);
        prev_end = p + s.len() as u64 + 1;
        a += ws;
    }
    assert_eq!(word(img, sp, a, w), 0);
    a += ws;
    // execfn right after the env strings, then the NULL end marker.
    assert_eq!(st.execfn, prev_end);
    assert_eq!(cstr(img, sp, st.execfn), b"/sbin/init");
    assert_eq!(st.execfn + 11, top - ws);
    assert_eq!(word(img, sp, top - ws, w), 0);
    // auxv.
    assert_eq!(st.auxv, a);
    let mut seen = std::collections::BTreeMap::new();
    let mut order = Vec::new();
    loop {
        let k = word(img, sp, a, w);
        let v = word(img, sp, a + ws, w);
        a += 2 * ws;
        if k == AT_NULL {
            assert_eq!(v, 0);
            break;
        }
        assert!(seen.insert(k, v).is_none(), "duplicate auxv {k}");
        order.push(k);
    }
    assert!(a <= st.random);
    assert_eq!(seen[&AT_PHDR], 0x10034);
    assert_eq!(seen[&AT_PHENT], 32);
    assert_eq!(seen[&AT_PHNUM], 7);
    assert_eq!(seen[&AT_PAGESZ], 4096);
    assert_eq!(seen[&AT_ENTRY], 0x10101);
    assert_eq!(seen[&AT_BASE], 0);
    assert_eq!(seen[&AT_HWCAP], 0x1234);
    assert_eq!(seen[&AT_HWCAP2], 5);
    assert_eq!(seen[&AT_CLKTCK], 100);
    for k in [AT_UID, AT_EUID, AT_GID, AT_EGID, AT_SECURE, AT_FLAGS] {
        assert_eq!(seen[&k], 0);
    }
    assert_eq!(seen[&AT_EXECFN], st.execfn);
    // AT_RANDOM points at the 16 bytes, inside the image, above auxv.
    let r = seen[&AT_RANDOM];
    assert_eq!(r, st.random);
    let i = (r - sp) as usize;
    assert_eq!(img[i..i + 16], random);
    // Linux's order: HWCAP first, EXECFN (then PLATFORM) last.
    assert_eq!(order[0], AT_HWCAP);
    match platform {
        Some(pl) => {
            assert_eq!(order[order.len() - 1], AT_PLATFORM);
            let pa = seen[&AT_PLATFORM];
            assert_eq!(Some(pa), st.platform);
            assert_eq!(cstr(img, sp, pa), pl);
            assert_eq!(pa, r + 16, "platform right above the random bytes");
            assert!(pa + (pl.len() as u64) < st.argv_string_floor());
        }
        None => {
            assert!(!seen.contains_key(&AT_PLATFORM));
            assert_eq!(order[order.len() - 1], AT_EXECFN);
        }
    }
}

impl StackImage {
    /// Lowest string address (argv[0]'s string), for the test.
    fn argv_string_floor(&self) -> u64 {
        let w = if self.argv - self.sp == 4 {
            WordSize::W32
        } else {
            WordSize::W64
        };
        word(&self.image, self.sp, self.argv, w)
    }
}

#[test]
fn layout_arm() {
    check_layout(WordSize::W32, 0x7fff_0000, Some(PLATFORM_V7L));
    check_layout(WordSize::W32, 0x7fff_0000, None);
    check_layout(WordSize::W32, 0x1_0000_0000, Some(PLATFORM_V7L));
}

#[test]
fn layout_aarch64() {
    check_layout(WordSize::W64, 0x0000_ffff_ffff_f000, Some(PLATFORM_AARCH64));
    check_layout(WordSize::W64, 0x0000_8000_0000_0000, None);
}

#[test]
fn alignment_for_all_string_lengths() {
    for n in 0..40 {
        let s = std::vec![b'a'; n];
        let argv: [&[u8]; 1] = [&s];
        for w in [WordSize::W32, WordSize::W64] {
            for pl in [None, Some(&b"v7l"[..])] {
                let st = build(&StackSpec {
                    stack_top: 0x7fff_f000,
                    word: w,
                    argv: &argv,
                    envp: &[],
                    execfn: &s,
                    auxv: &[],
                    random: [7; 16],
                    platform: pl,
                    max_size: 1 << 16,
                })
                .unwrap();
                assert_eq!(st.sp % 16, 0);
                assert_eq!(st.sp + st.image.len() as u64, 0x7fff_f000);
                // Minimal auxv: RANDOM, EXECFN, (PLATFORM), NULL.
                let n_aux = if pl.is_some() { 4 } else { 3 };
                let end = st.auxv + 2 * w.bytes() * n_aux;
                assert!(end <= st.random);
                assert!(st.random - end < 16 + 2 * w.bytes());
            }
        }
    }
}

#[test]
fn auxv_with_terminator_and_missing_phdr() {
    let mut p = plan();
    p.phdr_vaddr = None;
    let aux = linux_auxv(&p, 4096, 0, None);
    assert!(aux.contains(&(AT_PHDR, 0)) && aux.contains(&(AT_PHNUM, 0)));
    assert!(!aux.iter().any(|&(k, _)| k == AT_HWCAP2));
    let mut with_null = aux.clone();
    with_null.push((AT_NULL, 0));
    with_null.push((AT_UID, 99)); // after AT_NULL: ignored
    with_null.push((AT_PLATFORM, 5));
    let spec = |a: &'static [(u64, u64)]| StackSpec {
        stack_top: 0x8000_0000,
        word: WordSize::W32,
        argv: &[],
        envp: &[],
        execfn: b"x",
        auxv: a,
        random: [0; 16],
        platform: None,
        max_size: 4096,
    };
    let leaked: &'static [(u64, u64)] = std::boxed::Box::leak(with_null.into_boxed_slice());
    let st = build(&spec(leaked)).unwrap();
    // argc 0, NULL argv, NULL envp, then exactly aux.len() pairs + AT_NULL.
    assert_eq!(word(&st.image, st.sp, st.sp, WordSize::W32), 0);
    assert_eq!(st.auxv, st.sp + 12);
    let n = aux.len() as u64;
    assert_eq!(
        word(&st.image, st.sp, st.auxv + 8 * n, WordSize::W32),
        AT_NULL
    );
    // An AT_PLATFORM given without a platform string is dropped.
    let only_platform: &'static [(u64, u64)] = &[(AT_PLATFORM, 5)];
    let st = build(&spec(only_platform)).unwrap();
    assert_eq!(word(&st.image, st.sp, st.auxv, WordSize::W32), AT_RANDOM);
}

#[test]
fn errors() {
    let base = StackSpec {
        stack_top: 0x8000_0000,
        word: WordSize::W32,
        argv: &[b"a"],
        envp: &[],
        execfn: b"a",
        auxv: &[],
        random: [0; 16],
        platform: None,
        max_size: 4096,
    };
    assert!(build(&base).is_ok());
    let big = std::vec![b'x'; 5000];
    let argv: [&[u8]; 1] = [&big];
    assert!(matches!(
        build(&StackSpec {
            argv: &argv,
            ..base
        }),
        Err(StackError::TooBig { .. })
    ));
    let huge = std::vec![b'x'; MAX_ARG_STRLEN];
    let argv: [&[u8]; 1] = [&huge];
    assert_eq!(
        build(&StackSpec {
            argv: &argv,
            max_size: 1 << 30,
            ..base
        }),
        Err(StackError::ArgTooLong {
            len: MAX_ARG_STRLEN + 1
        })
    );
    assert_eq!(
        build(&StackSpec {
            argv: &[b"a\0b"],
            ..base
        }),
        Err(StackError::NulInString)
    );
    assert_eq!(
        build(&StackSpec {
            execfn: b"\0",
            ..base
        }),
        Err(StackError::NulInString)
    );
    // Many small strings: the pointer table counts toward the limit too.
    let many: Vec<&[u8]> = (0..1000).map(|_| &b""[..]).collect();
    assert!(matches!(
        build(&StackSpec {
            argv: &many,
            ..base
        }),
        Err(StackError::TooBig { .. })
    ));
    // Top above 4 GiB with 32-bit words, or too low to hold the image.
    assert!(matches!(
        build(&StackSpec {
            stack_top: 0x1_0000_1000,
            ..base
        }),
        Err(StackError::BadAddress { .. })
    ));
    assert!(matches!(
        build(&StackSpec {
            stack_top: 0x40,
            ..base
        }),
        Err(StackError::BadAddress { .. })
    ));
    assert!(matches!(
        build(&StackSpec {
            stack_top: 0,
            ..base
        }),
        Err(StackError::BadAddress { .. })
    ));
    // A 64-bit auxv value on a 32-bit stack.
    assert_eq!(
        build(&StackSpec {
            auxv: &[(AT_HWCAP, 1 << 40)],
            ..base
        }),
        Err(StackError::ValueTooWide {
            key: AT_HWCAP,
            value: 1 << 40
        })
    );
    assert!(build(&StackSpec {
        auxv: &[(AT_HWCAP, 1 << 40)],
        word: WordSize::W64,
        ..base
    })
    .is_ok());
    assert!(std::format!("{}", StackError::NulInString).contains("NUL"));
}
