//! Model checks of the two lock-free structures between the control side
//! and the real-time engine, with loom: each test body runs under every
//! interleaving of its threads and every outcome the C++11 memory model
//! allows for the orderings the code uses (Relaxed, Acquire, Release), and
//! loom's cells fail the run on any data race on the ring's bytes.
//!
//! Each model is explored with at most 3 preemptions a run (loom's
//! preemption bound; bugs of this kind show within 2 or 3, and without a
//! bound the retry loops make the search run for hours).
//!
//! Built only with the cfg (scripts/test runs it):
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test -p outboard-mixer --test loom --release
//! ```
#![cfg(loom)]

use outboard_mixer::mailbox::mailbox;
use outboard_mixer::ring::ring;

/// loom::model with the preemption bound.
fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(f);
}

/// A producer writes 3 bytes into a 2-byte ring while the consumer reads
/// them (so every byte position is reused across the wrap): the consumer
/// gets exactly 1, 2, 3 in order, and neither side ever sees more room or
/// more data than the ring holds.
#[test]
fn ring_moves_bytes_in_order_across_the_wrap() {
    model(|| {
        let (mut p, mut c) = ring(2);
        let producer = loom::thread::spawn(move || {
            let data = [1u8, 2, 3];
            let mut sent = 0;
            while sent < data.len() {
                assert!(p.free() <= 2, "more room than the ring has");
                let n = p.write(&data[sent..]);
                if n == 0 {
                    loom::thread::yield_now();
                }
                sent += n;
            }
        });
        let mut got = Vec::new();
        while got.len() < 3 {
            assert!(c.available() <= 2, "more data than the ring holds");
            let mut buf = [0u8; 2];
            let n = c.read(&mut buf);
            if n == 0 {
                loom::thread::yield_now();
            }
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, [1, 2, 3]);
        assert_eq!(c.position(), 3);
        producer.join().unwrap();
    });
}

/// A consumer that discards (a reset) while the producer writes: it never
/// discards more than was written, and what it reads after is what the
/// producer wrote after the discarded bytes.
#[test]
fn ring_discard_and_write_race_cleanly() {
    model(|| {
        let (mut p, mut c) = ring(2);
        let producer = loom::thread::spawn(move || {
            let mut sent = 0;
            while sent < 3 {
                let n = p.write(&[10, 11, 12][sent..]);
                if n == 0 {
                    loom::thread::yield_now();
                }
                sent += n;
            }
        });
        let dropped = c.discard(1);
        assert!(dropped <= 1);
        let mut got = Vec::new();
        while dropped + got.len() < 3 {
            let mut buf = [0u8; 1];
            let n = c.read(&mut buf);
            if n == 0 {
                loom::thread::yield_now();
            }
            got.extend_from_slice(&buf[..n]);
        }
        let expected: &[u8] = if dropped == 1 { &[11, 12] } else { &[10, 11, 12] };
        assert_eq!(got, expected);
        producer.join().unwrap();
    });
}

/// (When `recv` swapped the slot without loading it first, loom 0.7 failed
/// this model with (0, 0) overwritten: its known bug of a store squeezed
/// inside a racing swap, tokio-rs/loom#254, a history the memory model
/// forbids. `recv` now loads first, so its swap never races a store.)
///
/// A one-slot mailbox: the sender sends two values (the second refused,
/// and handed back whole, if the slot is still full) while the receiver
/// takes what is there; then the rest is drained. Every value arrives once,
/// whole and in order, or came back to the sender.
#[test]
fn mailbox_hands_values_over_in_order() {
    model(|| {
        let (mut tx, mut rx) = mailbox::<(u32, u32)>(1);
        let sender = loom::thread::spawn(move || {
            tx.send(Box::new((0, 0))).map_err(|_| "the empty slot refused a value").unwrap();
            tx.send(Box::new((1, 7))).err().map(|back| *back)
        });
        let mut got: Vec<(u32, u32)> = rx.recv().map(|v| *v).into_iter().collect();
        let refused = sender.join().unwrap();
        while let Some(v) = rx.recv() {
            got.push(*v);
        }
        match refused {
            Some(back) => {
                assert_eq!(back, (1, 7), "the refused value came back changed");
                assert_eq!(got, [(0, 0)]);
            }
            None => assert_eq!(got, [(0, 0), (1, 7)]),
        }
    });
}

/// The receiving end dropped while a value is being sent: the value is
/// either refused back to the sender or freed with the queue, never lost
/// in between or freed twice (loom checks the Arc and the drop order).
#[test]
fn mailbox_dropped_mid_send_frees_what_it_holds() {
    model(|| {
        let (mut tx, rx) = mailbox::<Vec<u8>>(1);
        let sender = loom::thread::spawn(move || {
            let _ = tx.send(Box::new(vec![1, 2, 3]));
        });
        drop(rx);
        sender.join().unwrap();
    });
}
