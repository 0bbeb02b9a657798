//! `#!` scripts, as Linux's `fs/binfmt_script.c` (6.1) reads them.
//!
//! Only the first `BINPRM_BUF_SIZE` (256) bytes of the file are looked at.
//! The line runs to the first `\n` (or NUL) in them; without a newline,
//! the interpreter name must be followed by a space, tab or NUL inside
//! those bytes (a truncated interpreter path is `ENOEXEC`; a truncated
//! argument is fine). The interpreter follows `#!` after optional spaces
//! and tabs; everything after the next space/tab, leading blanks skipped,
//! up to the line's end without trailing blanks, is ONE argument. The new
//! argv is `interp [arg] script-path argv[1..]`.

use crate::errno::Errno;

/// Linux's `BINPRM_BUF_SIZE`.
pub const BINPRM_BUF_SIZE: usize = 256;

/// Interpreter levels followed by one execve (Linux's `exec_binprm`:
/// `depth > 5` is `ELOOP`).
pub const MAX_INTERP_DEPTH: usize = 5;

/// The interpreter and its optional argument of a `#!` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shebang<'a> {
    pub interp: &'a [u8],
    pub arg: Option<&'a [u8]>,
}

fn spacetab(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// `None` if `file` does not start with `#!` (not a script: the next
/// format is tried); `Some(Err(ENOEXEC))` for a script line Linux refuses.
pub fn parse(file: &[u8]) -> Option<Result<Shebang<'_>, Errno>> {
    if !file.starts_with(b"#!") {
        return None;
    }
    Some(parse_line(file))
}

fn parse_line(file: &[u8]) -> Result<Shebang<'_>, Errno> {
    // bprm->buf: the first 256 bytes, NUL padded; the last byte is never
    // part of the line (buf_end = buf + sizeof(buf) - 1).
    let buf = &file[..file.len().min(BINPRM_BUF_SIZE)];
    let at = |i: usize| -> u8 { buf.get(i).copied().unwrap_or(0) };
    let buf_end = BINPRM_BUF_SIZE - 1;
    // strnchr(buf, 256, '\n'): stops at a NUL.
    let newline = (0..BINPRM_BUF_SIZE)
        .take_while(|&i| at(i) != 0)
        .find(|&i| at(i) == b'\n');
    let mut end = match newline {
        Some(i) => i,
        None => {
            let first = (2..=buf_end)
                .find(|&i| !spacetab(at(i)))
                .ok_or(Errno::ENOEXEC)?;
            // No space/tab/NUL after the name: it may be truncated.
            if !(first..=buf_end).any(|i| spacetab(at(i)) || at(i) == 0) {
                return Err(Errno::ENOEXEC);
            }
            buf_end
        }
    };
    while end > 2 && spacetab(at(end - 1)) {
        end -= 1;
    }
    let name = (2..end).find(|&i| !spacetab(at(i))).ok_or(Errno::ENOEXEC)?;
    // The name runs to the first space, tab or NUL.
    let sep = (name..end).find(|&i| spacetab(at(i)) || at(i) == 0);
    let name_end = sep.unwrap_or(end);
    let arg = match sep {
        Some(s) if at(s) != 0 => (s..end)
            .find(|&i| !spacetab(at(i)))
            .map(|a| &buf[a..end.min(buf.len())]),
        _ => None,
    };
    // A NUL inside the name ends it there (the kernel string stops).
    // It may be empty ("#!" then NUL): Linux then fails to open "",
    // ENOENT, which the caller's lookup gives.
    let interp = &buf[name.min(buf.len())..name_end.min(buf.len())];
    // The argument is a C string too: it stops at a NUL.
    let arg = arg.map(|a| a.split(|&c| c == 0).next().unwrap_or(a));
    Ok(Shebang { interp, arg })
}

/// The interpreter's argv (binfmt_script): `interp`, the `#!` argument
/// if any, the script's name as execve was given it, then the old argv
/// without argv[0] (an empty argv loses nothing).
pub fn script_argv<'a>(
    sb: &Shebang<'a>,
    script: &'a [u8],
    argv: &[&'a [u8]],
) -> Result<alloc::vec::Vec<&'a [u8]>, Errno> {
    let rest = argv.get(1..).unwrap_or(&[]);
    let mut next = alloc::vec::Vec::new();
    next.try_reserve_exact(rest.len() + 3)
        .map_err(|_| Errno::ENOMEM)?;
    next.push(sb.interp);
    if let Some(a) = sb.arg {
        next.push(a);
    }
    next.push(script);
    next.extend_from_slice(rest);
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(f: &[u8]) -> (&[u8], Option<&[u8]>) {
        let s = parse(f).expect("a script").expect("accepted");
        (s.interp, s.arg)
    }

    #[test]
    fn argv_of_the_interpreter() {
        // execve("./s", ["s", "a", "b"]) of "#!/bin/sh -e": Linux runs
        // /bin/sh with ["/bin/sh", "-e", "./s", "a", "b"].
        let sb = parse(b"#!/bin/sh -e\n").unwrap().unwrap();
        let v = script_argv(&sb, b"./s", &[b"s", b"a", b"b"]).unwrap();
        assert_eq!(v, [&b"/bin/sh"[..], b"-e", b"./s", b"a", b"b"]);
        // No argument; argv[0] is replaced by the path, not kept.
        let sb = parse(b"#!/bin/sh\n").unwrap().unwrap();
        let v = script_argv(&sb, b"/init", &[b"init"]).unwrap();
        assert_eq!(v, [&b"/bin/sh"[..], b"/init"]);
        // An empty argv (Linux 6.1 then uses "" as argv[0]).
        let v = script_argv(&sb, b"/init", &[]).unwrap();
        assert_eq!(v, [&b"/bin/sh"[..], b"/init"]);
    }

    #[test]
    fn not_a_script() {
        assert_eq!(parse(b"\x7fELF"), None);
        assert_eq!(parse(b"#"), None);
        assert_eq!(parse(b""), None);
        assert_eq!(parse(b" #!/bin/sh"), None);
    }

    #[test]
    fn interpreter_and_one_argument() {
        assert_eq!(ok(b"#!/bin/sh\necho"), (&b"/bin/sh"[..], None));
        assert_eq!(ok(b"#! /bin/sh\n"), (&b"/bin/sh"[..], None));
        assert_eq!(ok(b"#!\t/bin/sh \t\n"), (&b"/bin/sh"[..], None));
        assert_eq!(ok(b"#!/bin/sh -e\n"), (&b"/bin/sh"[..], Some(&b"-e"[..])));
        // Everything after the name is one argument (binfmt_script.c).
        assert_eq!(
            ok(b"#!/usr/bin/env  python3 -u \n"),
            (&b"/usr/bin/env"[..], Some(&b"python3 -u"[..]))
        );
        // No newline but the file ends: NUL padding terminates the name.
        assert_eq!(ok(b"#!/bin/sh"), (&b"/bin/sh"[..], None));
        assert_eq!(ok(b"#!/bin/sh -x"), (&b"/bin/sh"[..], Some(&b"-x"[..])));
        // CR is not a separator: it stays in the argument (or the name).
        assert_eq!(ok(b"#!/bin/sh\r\n"), (&b"/bin/sh\r"[..], None));
    }

    #[test]
    fn refused_lines() {
        // No interpreter.
        assert_eq!(parse(b"#!\n"), Some(Err(Errno::ENOEXEC)));
        assert_eq!(parse(b"#!   \n"), Some(Err(Errno::ENOEXEC)));
        // "#!" and then the end of the file: the name is the empty
        // string (Linux's open_exec("") then fails with ENOENT).
        assert_eq!(ok(b"#!"), (&b""[..], None));
        // A name filling the 256-byte buffer without a terminator: it may
        // be truncated.
        let mut long = b"#!/".to_vec();
        long.resize(300, b'a');
        assert_eq!(parse(&long), Some(Err(Errno::ENOEXEC)));
        // 256 blanks: "Entire buf is spaces/tabs".
        let mut blank = b"#!".to_vec();
        blank.resize(300, b' ');
        assert_eq!(parse(&blank), Some(Err(Errno::ENOEXEC)));
    }

    #[test]
    fn truncated_argument_is_accepted() {
        // The name ends inside the buffer: the argument is cut at byte 255.
        let mut f = b"#!/bin/sh ".to_vec();
        f.resize(400, b'x');
        let (i, a) = ok(&f);
        assert_eq!(i, b"/bin/sh");
        assert_eq!(a.unwrap().len(), 255 - 10);
    }
}
