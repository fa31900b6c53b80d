//! A single-producer single-consumer ring of bytes between a client and the
//! engine: lock-free, allocation-free after creation, with monotonic 64-bit
//! positions (ALSA's appl_ptr / hw_ptr without wrap-around arithmetic).
//!
//! The two ends are separate types ([`Producer`], [`Consumer`]), neither
//! clonable, so there is exactly one of each.

use crate::sync::{Arc, AtomicU64, Ordering, UnsafeCell};

struct Shared {
    /// Invariant: the producer writes only bytes in `[write, read + len)`
    /// (mod len) and the consumer reads only bytes in `[read, write)`; the
    /// positions move forward with Release stores after the bytes are
    /// written or read, and are loaded with Acquire before use.
    buf: Box<[UnsafeCell<u8>]>,
    write: AtomicU64,
    read: AtomicU64,
}

// SAFETY: the byte regions the two ends touch never overlap (the invariant on
// `buf`), and ownership of a region passes between them through the
// Release/Acquire pairs on `write` and `read`.
unsafe impl Sync for Shared {}
// SAFETY: as for Sync; the UnsafeCells hold plain bytes.
unsafe impl Send for Shared {}

impl Shared {
    fn len(&self) -> u64 {
        self.buf.len() as u64
    }

    fn cell(&self, pos: u64) -> &UnsafeCell<u8> {
        &self.buf[(pos % self.len()) as usize]
    }
}

/// The writing end.
pub struct Producer {
    shared: Arc<Shared>,
}

/// The reading end.
pub struct Consumer {
    shared: Arc<Shared>,
}

/// A ring of `capacity` bytes (at least 1).
pub fn ring(capacity: usize) -> (Producer, Consumer) {
    let buf: Box<[UnsafeCell<u8>]> = (0..capacity.max(1)).map(|_| UnsafeCell::new(0)).collect();
    let shared = Arc::new(Shared { buf, write: AtomicU64::new(0), read: AtomicU64::new(0) });
    (Producer { shared: shared.clone() }, Consumer { shared })
}

impl Producer {
    pub fn capacity(&self) -> usize {
        self.shared.buf.len()
    }
    /// Total bytes ever written (appl_ptr for playback).
    pub fn position(&self) -> u64 {
        self.shared.write.load(Ordering::Relaxed)
    }
    /// Bytes that can be written now.
    pub fn free(&self) -> usize {
        let read = self.shared.read.load(Ordering::Acquire);
        (self.shared.len() - (self.position() - read)) as usize
    }
    /// Copy as much of `data` as fits; returns bytes written.
    pub fn write(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.free());
        let start = self.position();
        for (i, &b) in data[..n].iter().enumerate() {
            // SAFETY: position start+i lies in the free region [write, read+len),
            // which only the producer touches (the Shared invariant).
            self.shared.cell(start + i as u64).with_mut(|p| unsafe { *p = b });
        }
        self.shared.write.store(start + n as u64, Ordering::Release);
        n
    }
}

impl Consumer {
    pub fn capacity(&self) -> usize {
        self.shared.buf.len()
    }
    /// Total bytes ever read (hw_ptr for playback).
    pub fn position(&self) -> u64 {
        self.shared.read.load(Ordering::Relaxed)
    }
    /// Bytes ready to read.
    pub fn available(&self) -> usize {
        (self.shared.write.load(Ordering::Acquire) - self.position()) as usize
    }
    /// Copy up to `out.len()` bytes out; returns bytes read.
    pub fn read(&mut self, out: &mut [u8]) -> usize {
        let n = out.len().min(self.available());
        let start = self.position();
        for (i, o) in out[..n].iter_mut().enumerate() {
            // SAFETY: position start+i lies in the filled region [read, write),
            // which only the consumer touches (the Shared invariant).
            *o = self.shared.cell(start + i as u64).with(|p| unsafe { *p });
        }
        self.shared.read.store(start + n as u64, Ordering::Release);
        n
    }
    /// Drop up to `n` ready bytes unread (a reset or a skip); returns how many.
    pub fn discard(&mut self, n: usize) -> usize {
        let n = n.min(self.available());
        self.shared.read.store(self.position() + n as u64, Ordering::Release);
        n
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn wraps_and_keeps_order() {
        let (mut p, mut c) = ring(8);
        assert_eq!(p.write(&[1, 2, 3, 4, 5, 6]), 6);
        let mut out = [0u8; 4];
        assert_eq!(c.read(&mut out), 4);
        assert_eq!(out, [1, 2, 3, 4]);
        assert_eq!(p.write(&[7, 8, 9, 10, 11, 12, 13]), 6, "only the free room");
        let mut rest = [0u8; 16];
        assert_eq!(c.read(&mut rest), 8);
        assert_eq!(rest[..8], [5, 6, 7, 8, 9, 10, 11, 12]);
        assert_eq!((p.position(), c.position()), (12, 12));
        assert_eq!(c.read(&mut rest), 0);
    }

    #[test]
    fn two_threads_move_every_byte_in_order() {
        let (mut p, mut c) = ring(61);
        let total = 200_000usize;
        let t = std::thread::spawn(move || {
            let mut sent = 0;
            while sent < total {
                let chunk: Vec<u8> = (sent..(sent + 37).min(total)).map(|i| (i % 251) as u8).collect();
                sent += p.write(&chunk);
            }
        });
        let mut got = 0;
        let mut buf = [0u8; 29];
        while got < total {
            let n = c.read(&mut buf);
            for (k, &b) in buf[..n].iter().enumerate() {
                assert_eq!(b, ((got + k) % 251) as u8, "byte {}", got + k);
            }
            got += n;
        }
        t.join().unwrap();
        assert_eq!(c.discard(10), 0);
    }
}
