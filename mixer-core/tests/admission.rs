//! A client the engine refuses commits no memory: the place is taken
//! before the client's ring is allocated, so a full engine cannot be made to
//! allocate rings by asking again and again. (Its own test binary: the
//! counting allocator sees every thread.)

use outboard_mixer::devices::{MemoryDevice, Pacing};
use outboard_mixer::engine::{Engine, MAX_CLIENTS};
use outboard_mixer::format::SampleFormat;
use outboard_mixer::pcm::PcmConfig;
use outboard_mixer::stream::{StreamError, StreamParams};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

#[test]
fn a_refused_client_allocates_no_ring_and_a_freed_place_is_taken_again() {
    let cfg = PcmConfig { format: SampleFormat::S16Le, rate: 48_000, channels: 2, period_frames: 256, periods: 4 };
    let engine = Engine::start(Box::new(MemoryDevice::null(cfg, Pacing::RealTime))).unwrap();
    let small = StreamParams::new(SampleFormat::S16Le, 48_000, 2, 256);
    let mut clients: Vec<_> = (0..MAX_CLIENTS).map(|_| engine.playback(small).unwrap()).collect();
    // The largest ring a client may ask for: 4M frames of S16 stereo, 16 MiB.
    let huge = StreamParams { buffer_frames: 1 << 22, ..small };
    for _ in 0..8 {
        let before = counting_alloc::bytes();
        let refused = engine.playback(huge).err();
        let took = counting_alloc::bytes() - before;
        assert!(
            matches!(&refused, Some(StreamError::Invalid(m)) if m.contains("full")),
            "the 65th client: {refused:?}"
        );
        assert!(took < 64 << 10, "a refused client allocated {took} bytes");
    }
    // A capture client on a device with no capture is refused before that.
    assert!(engine.capture(small).is_err());
    // Give one place back: the next client gets it, and only one does.
    drop(clients.pop());
    let again = std::time::Instant::now();
    let back = loop {
        match engine.playback(small) {
            Ok(c) => break c,
            Err(_) if again.elapsed() < std::time::Duration::from_secs(2) => {
                std::thread::sleep(std::time::Duration::from_millis(5))
            }
            Err(e) => panic!("the freed place was not given again: {e}"),
        }
    };
    assert!(engine.playback(small).is_err(), "only one place was freed");
    drop(back);
    drop(clients);
}
