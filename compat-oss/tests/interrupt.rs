//! A signal to a client blocked in write, read or SNDCTL_DSP_SYNC (the CUSE
//! server sets the request's interrupt on FUSE_INTERRUPT): the call ends at
//! once, with EINTR when nothing moved, or the count that did; the node goes
//! on serving.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use outboard_cuse::{Handler, Interrupt, Request};
use outboard_mixer::devices::{MemoryDevice, Pacing};
use outboard_mixer::engine::Engine;
use outboard_mixer::format::SampleFormat;
use outboard_mixer::pcm::{PcmConfig, PcmStream};
use outboard_oss::dsp::{Dsp, DSP_DEFAULTS};
use outboard_oss::soundcard::*;

const CFG: PcmConfig =
    PcmConfig { format: SampleFormat::S16Le, rate: 48_000, channels: 2, period_frames: 256, periods: 4 };
const WRONLY: u32 = libc::O_WRONLY as u32;
const NONBLOCK: u32 = WRONLY | libc::O_NONBLOCK as u32;

fn req() -> Request {
    Request { interrupt: Interrupt::new(), ..Request::new(8, 77, 0, 0) }
}

fn playing() -> (Arc<Dsp>, Arc<Mutex<Vec<u8>>>) {
    let (dev, played) = MemoryDevice::recording(CFG, Pacing::RealTime);
    (Arc::new(Dsp::new(Arc::new(Engine::start(Box::new(dev)).unwrap()), "/dev/dsp", DSP_DEFAULTS)), played)
}

/// S16 stereo 48 kHz, `frags` fragments of 2^`shift` bytes.
fn open(dsp: &Dsp, flags: u32, frags: i32, shift: i32) -> u64 {
    let r = Request::new(1, 77, 0, 0);
    let fh = dsp.open(&r, flags).unwrap();
    for (cmd, v) in [
        (SNDCTL_DSP_SETFRAGMENT, (frags << 16) | shift),
        (SNDCTL_DSP_SETFMT, AFMT_S16_LE as i32),
        (SNDCTL_DSP_CHANNELS, 2),
        (SNDCTL_DSP_SPEED, 48_000),
    ] {
        dsp.ioctl(&r, fh, cmd, &v.to_le_bytes()).unwrap();
    }
    fh
}

/// Run `call` on a thread, interrupt it after `after`; its result and how
/// long it took to end once interrupted.
fn interrupt_after<T: Send + 'static>(
    after: Duration,
    call: impl FnOnce(Request) -> T + Send + 'static,
) -> (T, Duration) {
    let r = req();
    let token = r.interrupt.clone();
    let t = std::thread::spawn(move || call(r));
    std::thread::sleep(after);
    assert!(!t.is_finished(), "the call was blocked");
    let at = Instant::now();
    token.set();
    let out = t.join().unwrap();
    (out, at.elapsed())
}

#[test]
fn a_write_that_cannot_progress_ends_with_eintr_and_the_node_plays_on() {
    let (dsp, played) = playing();
    let fh = open(&dsp, WRONLY, 4, 12);
    let r = Request::new(2, 77, 0, 0);
    // Fill, pause output, top up: nothing leaves the buffer any more.
    while dsp.write(&r, fh, &[0; 4096], NONBLOCK).is_ok() {}
    dsp.ioctl(&r, fh, SNDCTL_DSP_SETTRIGGER, &0i32.to_le_bytes()).unwrap();
    while dsp.write(&r, fh, &[0; 4096], NONBLOCK).is_ok() {}

    let d = dsp.clone();
    let (res, took) = interrupt_after(Duration::from_millis(150), move |r| d.write(&r, fh, &[1; 8192], WRONLY));
    assert_eq!(res, Err(libc::EINTR));
    assert!(took < Duration::from_millis(200), "ended {took:?} after the interrupt");

    // The same open plays on: resume, write a marked signal, drain.
    dsp.ioctl(&r, fh, SNDCTL_DSP_SETTRIGGER, &(PCM_ENABLE_OUTPUT as i32).to_le_bytes()).unwrap();
    let tone: Vec<u8> = (0..4800u32).flat_map(|i| ((i % 50) as i16 * 300 + 7).to_le_bytes().repeat(2)).collect();
    assert_eq!(dsp.write(&r, fh, &tone, WRONLY), Ok(tone.len() as u32));
    dsp.ioctl(&r, fh, SNDCTL_DSP_SYNC, &[]).unwrap();
    std::thread::sleep(Duration::from_millis(100)); // through the device's own buffer
    let played = played.lock().unwrap();
    let start = played.chunks_exact(4).position(|f| f != [0; 4]).expect("sound reached the device") * 4;
    assert_eq!(&played[start..start + tone.len()], &tone[..], "bit-exact after the interrupted write");
}

#[test]
fn a_write_interrupted_midway_returns_what_was_taken() {
    let (dsp, played) = playing();
    let fh = open(&dsp, WRONLY, 2, 12); // 8 KiB: 43 ms
                                        // 2 s of a counting signal: the write is still going at 300 ms.
    let data: Vec<u8> = (0..96_000u32).flat_map(|i| ((i % 30_000) as i16 + 1).to_le_bytes().repeat(2)).collect();
    let d = dsp.clone();
    let data2 = data.clone();
    let (res, took) = interrupt_after(Duration::from_millis(300), move |r| d.write(&r, fh, &data2, WRONLY));
    let n = res.expect("a short count, not an error") as usize;
    assert!(n > 0 && n < data.len() && n % 4 == 0, "{n} of {}", data.len());
    assert!(took < Duration::from_millis(100), "ended {took:?} after the interrupt");
    // Exactly those bytes play: nothing lost, nothing more.
    let r = Request::new(3, 77, 0, 0);
    dsp.ioctl(&r, fh, SNDCTL_DSP_SYNC, &[]).unwrap();
    std::thread::sleep(Duration::from_millis(100)); // through the device's own buffer
    let played = played.lock().unwrap();
    let sound: Vec<u8> = played.chunks_exact(4).filter(|f| *f != [0; 4]).flatten().copied().collect();
    assert_eq!(sound.len(), n);
    assert_eq!(&sound[..], &data[..n]);
}

#[test]
fn a_sync_on_seconds_of_sound_ends_with_eintr() {
    let (dsp, _) = playing();
    let fh = open(&dsp, WRONLY, 64, 15); // 2 MiB: 10.9 s
    let r = Request::new(4, 77, 0, 0);
    let mut queued = 0;
    while let Ok(n) = dsp.write(&r, fh, &[1; 65_536], NONBLOCK) {
        queued += n as usize;
    }
    assert!(queued > 48_000 * 4 * 5, "{queued} bytes queued");
    let d = dsp.clone();
    let (res, took) = interrupt_after(Duration::from_millis(200), move |r| d.ioctl(&r, fh, SNDCTL_DSP_SYNC, &[]));
    assert_eq!(res, Err(libc::EINTR));
    assert!(took < Duration::from_millis(100), "ended {took:?} after the interrupt");
    // Still there to reset and use.
    dsp.ioctl(&r, fh, SNDCTL_DSP_RESET, &[]).unwrap();
    let odelay = dsp.ioctl(&r, fh, SNDCTL_DSP_GETODELAY, &[]).unwrap().1;
    assert_eq!(odelay, 0i32.to_le_bytes());
    dsp.release(&r, fh);
}

#[test]
fn a_read_interrupted_returns_what_was_captured_or_eintr() {
    let cap: Box<dyn PcmStream> = Box::new(MemoryDevice::capture(CFG, vec![9; 48_000 * 4 * 10], Pacing::RealTime));
    let engine = Arc::new(Engine::start_with(None, Some(cap)).unwrap());
    let dsp = Arc::new(Dsp::new(engine, "/dev/dsp", DSP_DEFAULTS));
    let fh = open(&dsp, libc::O_RDONLY as u32, 4, 12);
    // 5 s asked, interrupted after 300 ms: what came so far, whole frames.
    let d = dsp.clone();
    let (res, took) =
        interrupt_after(Duration::from_millis(300), move |r| d.read(&r, fh, 48_000 * 4 * 5, libc::O_RDONLY as u32));
    let data = res.expect("a short read");
    assert!(!data.is_empty() && data.len() < 48_000 * 4 * 5 && data.len() % 4 == 0, "{}", data.len());
    assert!(data.iter().all(|&b| b == 9), "what the device heard");
    assert!(took < Duration::from_millis(100), "ended {took:?} after the interrupt");

    // Capture paused: nothing comes, so EINTR.
    let r = Request::new(5, 77, 0, 0);
    dsp.ioctl(&r, fh, SNDCTL_DSP_SETTRIGGER, &0i32.to_le_bytes()).unwrap();
    let _ = dsp.read(&r, fh, 1 << 20, (libc::O_RDONLY | libc::O_NONBLOCK) as u32); // empty what was there
    let d = dsp.clone();
    let (res, _) = interrupt_after(Duration::from_millis(100), move |r| d.read(&r, fh, 4096, libc::O_RDONLY as u32));
    assert_eq!(res, Err(libc::EINTR));
}

#[test]
fn a_signal_ends_a_close_that_waits_for_the_queue_to_play() {
    // 5 s queued (the last close plays it out, as Linux's OSS emulation
    // does); the closing process gets a signal (FUSE_INTERRUPT on the
    // release): the wait ends at once and the node goes on serving.
    let (dsp, _) = playing();
    let fh = open(&dsp, NONBLOCK, 128, 16);
    let r = Request::new(4, 77, 0, 0);
    let mut queued = 0;
    while let Ok(n) = dsp.write(&r, fh, &[1; 65_536], NONBLOCK) {
        queued += n as usize;
    }
    assert!(queued > 48_000 * 4 * 4, "{queued} bytes queued");
    let d = dsp.clone();
    let ((), took) = interrupt_after(Duration::from_millis(200), move |r| d.release(&r, fh));
    assert!(took < Duration::from_millis(200), "ended {took:?} after the signal");
    // A new open plays as before.
    let fh = open(&dsp, WRONLY, 4, 12);
    assert_eq!(dsp.write(&r, fh, &[0; 4096], WRONLY), Ok(4096));
    dsp.release(&Request::new(5, 77, 0, 0), fh);
}
