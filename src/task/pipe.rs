//! Pipes (pipe(7)): a byte buffer of Linux's default capacity (16 pages,
//! 64 KiB) shared by the read end and the write end; each end is shared
//! by every fd that refers to it (dup, fork), so the buffer knows when the
//! last reader or writer is gone. The buffer grows with what it holds
//! (fallibly) and is given back when emptied.
//!
//! The rules, from pipe(7) and `fs/pipe.c`: a read returns what is there
//! (at most what was asked), 0 at end of file (no writer left), or would
//! block; a write of at most `PIPE_BUF` bytes is atomic (it waits for
//! room for all of it), a longer one is done piece by piece; writing with
//! no reader left is `EPIPE` with `SIGPIPE`.

use super::shared::Shared;
use crate::errno::Errno;
use alloc::collections::VecDeque;
use core::sync::atomic::{AtomicU64, Ordering};

/// Linux's pipe capacity (`PIPE_DEF_BUFFERS` pages).
pub const CAPACITY: usize = 65536;
/// Writes up to this size are atomic (`PIPE_BUF`, limits.h).
pub const PIPE_BUF: usize = 4096;
/// SIGPIPE.
pub const SIGPIPE: u32 = 13;

/// What a read finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadStep {
    /// This many bytes can be taken now.
    Data(usize),
    /// Empty and no writer left: end of file (read returns 0).
    Eof,
    /// Empty, a writer may still write: block (or `EAGAIN`).
    Empty,
}

/// What a write may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteStep {
    /// This many bytes fit now.
    Room(usize),
    /// Not enough room: block (or `EAGAIN`).
    Full,
    /// No reader left: `EPIPE` and `SIGPIPE`.
    Broken,
}

pub struct PipeBuf {
    data: VecDeque<u8>,
    pub readers: u32,
    pub writers: u32,
    /// An inode number for fstat.
    pub ino: u64,
}

static NEXT_INO: AtomicU64 = AtomicU64::new(1);

impl PipeBuf {
    pub fn new() -> PipeBuf {
        PipeBuf {
            data: VecDeque::new(),
            readers: 1,
            writers: 1,
            ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
        }
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// A read of up to `want` bytes.
    pub fn read_step(&self, want: usize) -> ReadStep {
        if want == 0 {
            return ReadStep::Data(0);
        }
        if !self.data.is_empty() {
            ReadStep::Data(want.min(self.data.len()))
        } else if self.writers == 0 {
            ReadStep::Eof
        } else {
            ReadStep::Empty
        }
    }

    /// A write of `left` more bytes of a write of `total` (atomic when
    /// `total <= PIPE_BUF`: all or nothing).
    pub fn write_step(&self, left: usize, total: usize) -> WriteStep {
        if self.readers == 0 {
            return WriteStep::Broken;
        }
        let room = CAPACITY - self.data.len();
        if left == 0 {
            return WriteStep::Room(0);
        }
        if (total <= PIPE_BUF && room < left) || room == 0 {
            return WriteStep::Full;
        }
        WriteStep::Room(room.min(left))
    }

    /// Copy the first `out.len()` buffered bytes (not consumed).
    pub fn peek(&self, out: &mut [u8]) -> usize {
        let n = out.len().min(self.data.len());
        let (a, b) = self.data.as_slices();
        let na = n.min(a.len());
        out[..na].copy_from_slice(&a[..na]);
        out[na..n].copy_from_slice(&b[..n - na]);
        n
    }

    /// Drop the first `n` bytes (read).
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.data.len());
        self.data.drain(..n);
        if self.data.is_empty() && self.data.capacity() > PIPE_BUF {
            // Give the memory back (Linux frees emptied pages too).
            self.data = VecDeque::new();
        }
    }

    /// Append `src` (within the capacity); `false` if no memory.
    pub fn push(&mut self, src: &[u8]) -> bool {
        if src.len() > CAPACITY - self.data.len() {
            return false;
        }
        if self.data.try_reserve(src.len()).is_err() {
            return false;
        }
        self.data.extend(src.iter().copied());
        true
    }
}

impl Default for PipeBuf {
    fn default() -> Self {
        Self::new()
    }
}

/// One end of a pipe. Every fd referring to it shares it (through its
/// open file description); when the last goes, the end is closed.
pub struct End {
    pub pipe: Shared<spin::Mutex<PipeBuf>>,
    pub write: bool,
}

impl End {
    /// The key sleepers on this pipe wait for (`Wait::Pipe`).
    pub fn key(&self) -> usize {
        Shared::as_ptr(&self.pipe) as usize
    }
}

impl Drop for End {
    fn drop(&mut self) {
        let mut p = self.pipe.lock();
        if self.write {
            p.writers = p.writers.saturating_sub(1);
        } else {
            p.readers = p.readers.saturating_sub(1);
        }
    }
}

/// A new pipe: (read end, write end); `ENOMEM` if it cannot be had.
pub fn new_pipe() -> Result<(End, End), Errno> {
    let pipe = Shared::try_new(spin::Mutex::new(PipeBuf::new()))?;
    let r = End {
        pipe: pipe.clone(),
        write: false,
    };
    let w = End { pipe, write: true };
    Ok((r, w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_takes_what_is_there_then_eof_without_writers() {
        let (r, w) = new_pipe().unwrap();
        let mut p = r.pipe.lock();
        assert_eq!(
            p.read_step(10),
            ReadStep::Empty,
            "empty, writer open: block"
        );
        assert_eq!(p.read_step(0), ReadStep::Data(0), "read(fd, buf, 0) is 0");
        assert!(p.push(b"hello"));
        assert_eq!(p.read_step(3), ReadStep::Data(3));
        assert_eq!(p.read_step(100), ReadStep::Data(5), "no more than there is");
        let mut out = [0u8; 3];
        assert_eq!(p.peek(&mut out), 3);
        assert_eq!(&out, b"hel");
        p.consume(3);
        drop(p);
        drop(w);
        let p = r.pipe.lock();
        assert_eq!(p.writers, 0);
        // Data written before the close is still read, then EOF.
        assert_eq!(p.read_step(10), ReadStep::Data(2));
        drop(p);
        r.pipe.lock().consume(2);
        assert_eq!(r.pipe.lock().read_step(10), ReadStep::Eof);
    }

    #[test]
    fn capacity_atomic_writes_and_broken_pipes() {
        let (r, w) = new_pipe().unwrap();
        let mut p = w.pipe.lock();
        assert_eq!(p.write_step(100, 100), WriteStep::Room(100));
        assert!(p.push(&[1u8; CAPACITY - 100]));
        assert_eq!(p.len(), CAPACITY - 100);
        // 100 bytes of room: a 4096-byte write is atomic, so it waits...
        assert_eq!(p.write_step(PIPE_BUF, PIPE_BUF), WriteStep::Full);
        // ... a longer one writes what fits now.
        assert_eq!(p.write_step(5000, 5000), WriteStep::Room(100));
        assert!(!p.push(&[0u8; 101]), "never past 64 KiB");
        assert!(p.push(&[0u8; 100]));
        assert_eq!(p.write_step(1, 5000), WriteStep::Full, "full");
        p.consume(CAPACITY);
        assert!(p.is_empty());
        drop(p);
        drop(r);
        assert_eq!(w.pipe.lock().readers, 0);
        assert_eq!(w.pipe.lock().write_step(1, 1), WriteStep::Broken);
    }

    #[test]
    fn shared_ends_close_once() {
        let (r, w) = new_pipe().unwrap();
        let w = Shared::try_new(w).unwrap();
        let w2 = w.clone(); // dup or fork: the same end
        drop(w);
        assert_eq!(r.pipe.lock().writers, 1);
        drop(w2);
        assert_eq!(r.pipe.lock().writers, 0);
        assert_eq!(r.key(), Shared::as_ptr(&r.pipe) as usize);
    }

    #[test]
    fn ring_wraps_in_order() {
        let (r, _w) = new_pipe().unwrap();
        let mut p = r.pipe.lock();
        for round in 0..50u8 {
            let chunk = [round; 1000];
            assert!(p.push(&chunk));
            let mut out = [0u8; 1000];
            assert_eq!(p.peek(&mut out), 1000);
            assert_eq!(out, chunk);
            p.consume(1000);
        }
    }
}
