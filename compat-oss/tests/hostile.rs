//! Hostile and careless clients against /dev/dsp's handler (the same calls
//! CUSE makes): random ioctl numbers and sizes, absurd formats, huge writes,
//! opens and closes in a tight loop, a thousand opens. Every call gets an
//! answer or an errno; nothing panics; a well-behaved client next to them
//! keeps playing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use outboard_cuse::{Handler, Request};
use outboard_mixer::devices::{MemoryDevice, Pacing};
use outboard_mixer::engine::Engine;
use outboard_mixer::format::SampleFormat;
use outboard_mixer::pcm::PcmConfig;
use outboard_oss::dsp::{Dsp, DSP_DEFAULTS};
use outboard_oss::soundcard::*;

fn dsp() -> (Dsp, Arc<Mutex<Vec<u8>>>) {
    let cfg = PcmConfig { format: SampleFormat::S16Le, rate: 48_000, channels: 2, period_frames: 256, periods: 4 };
    let (dev, played) = MemoryDevice::recording(cfg, Pacing::RealTime);
    (Dsp::new(Arc::new(Engine::start(Box::new(dev)).unwrap()), "/dev/dsp", DSP_DEFAULTS), played)
}

const REQ: Request = Request::new(1, 4242, 0, 0);
const WRONLY: u32 = libc::O_WRONLY as u32;

fn int(v: i32) -> Vec<u8> {
    v.to_le_bytes().to_vec()
}

#[test]
fn random_ioctls_get_errors_not_panics() {
    let (dsp, _) = dsp();
    let fh = dsp.open(&REQ, WRONLY).unwrap();
    let mut x: u32 = 0x1234_5678;
    let mut answered = 0;
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let len = (x >> 3) as usize % 64;
        let input: Vec<u8> = (0..len).map(|i| (x >> (i % 24)) as u8).collect();
        match dsp.ioctl(&REQ, fh, x, &input) {
            Ok(_) => answered += 1,
            Err(e) => assert!(e == libc::EINVAL || e == libc::ENOTTY, "cmd {x:#x}: errno {e}"),
        }
    }
    // Known ioctls with short arguments are refused, not read past.
    assert_eq!(dsp.ioctl(&REQ, fh, SNDCTL_DSP_SPEED, &[1, 2]), Err(libc::EINVAL));
    assert!(answered < 100, "random numbers are mostly not OSS ioctls ({answered} answered)");
    assert_eq!(dsp.ioctl(&REQ, 999, SNDCTL_DSP_SPEED, &int(48_000)), Err(libc::EBADF), "unknown file handle");
}

#[test]
fn absurd_formats_are_clamped_or_refused() {
    let (dsp, _) = dsp();
    let fh = dsp.open(&REQ, WRONLY).unwrap();
    let speed =
        |v: i32| i32::from_le_bytes(dsp.ioctl(&REQ, fh, SNDCTL_DSP_SPEED, &int(v)).unwrap().1[..4].try_into().unwrap());
    assert_eq!(speed(-5), 8_000);
    assert_eq!(speed(i32::MAX), 192_000);
    assert_eq!(speed(44_100), 44_100);
    let ch =
        i32::from_le_bytes(dsp.ioctl(&REQ, fh, SNDCTL_DSP_CHANNELS, &int(1000)).unwrap().1[..4].try_into().unwrap());
    assert_eq!(ch, 8);
    // An unknown format leaves the current one (what SETFMT returns says so).
    let fmt =
        i32::from_le_bytes(dsp.ioctl(&REQ, fh, SNDCTL_DSP_SETFMT, &int(0x7777)).unwrap().1[..4].try_into().unwrap());
    assert_eq!(fmt as u32, AFMT_U8);
    let frag = dsp.ioctl(&REQ, fh, SNDCTL_DSP_SETFRAGMENT, &int(-1)).unwrap();
    assert_eq!(frag.0, 0);
    // Writes still work after all that: 8 channels of U8 at 44.1 kHz.
    assert_eq!(dsp.write(&REQ, fh, &[0x80; 800], WRONLY).unwrap(), 800);
    dsp.release(&REQ, fh);
}

#[test]
fn huge_and_odd_writes_are_taken_in_whole_frames() {
    let (dsp, _) = dsp();
    let fh = dsp.open(&REQ, WRONLY).unwrap();
    dsp.ioctl(&REQ, fh, SNDCTL_DSP_SETFMT, &int(AFMT_S16_LE as i32)).unwrap();
    dsp.ioctl(&REQ, fh, SNDCTL_DSP_CHANNELS, &int(2)).unwrap();
    dsp.ioctl(&REQ, fh, SNDCTL_DSP_SPEED, &int(48_000)).unwrap();
    // Non-blocking: a write bigger than the buffer takes what fits, then EAGAIN.
    let nonblock = WRONLY | libc::O_NONBLOCK as u32;
    let huge = vec![1u8; 4 << 20];
    let first = dsp.write(&REQ, fh, &huge, nonblock).unwrap();
    assert!(first > 0 && (first as usize) < huge.len() && first % 4 == 0, "{first}");
    assert_eq!(dsp.write(&REQ, fh, &huge, nonblock), Err(libc::EAGAIN));
    // Three bytes are less than a frame: taken (and dropped), never an error.
    assert_eq!(dsp.write(&REQ, fh, &[1, 2, 3], WRONLY).unwrap(), 3);
    dsp.ioctl(&REQ, fh, SNDCTL_DSP_RESET, &[]).unwrap();
    dsp.release(&REQ, fh);
}

#[test]
fn a_thousand_opens_and_a_tight_open_close_loop_leave_others_playing() {
    let (dsp, played) = dsp();
    let good = dsp.open(&REQ, WRONLY).unwrap();
    for cmd in [(SNDCTL_DSP_SETFMT, AFMT_S16_LE as i32), (SNDCTL_DSP_CHANNELS, 2), (SNDCTL_DSP_SPEED, 48_000)] {
        dsp.ioctl(&REQ, good, cmd.0, &int(cmd.1)).unwrap();
    }
    // The good client is already playing when the flood starts.
    assert_eq!(dsp.write(&REQ, good, &[0; 4096], WRONLY).unwrap(), 4096);
    let opens: Vec<u64> = (0..1000).map(|_| dsp.open(&REQ, WRONLY).unwrap()).collect();
    for _ in 0..2000 {
        let fh = dsp.open(&REQ, WRONLY).unwrap();
        dsp.release(&REQ, fh);
    }
    // Some of the thousand write a little (creating mixer clients up to the
    // engine's limit; past it they get an error, not a crash).
    let mut refused = 0;
    for &fh in opens.iter().take(100) {
        if dsp.write(&REQ, fh, &[0x80; 64], WRONLY | libc::O_NONBLOCK as u32).is_err() {
            refused += 1;
        }
    }
    assert!(refused > 0, "the engine's client limit showed up as errors");
    let tone: Vec<u8> = (0..4800)
        .flat_map(|i| {
            let v = (i % 100) as i16 * 100;
            [v.to_le_bytes(), v.to_le_bytes()].concat()
        })
        .collect();
    assert_eq!(dsp.write(&REQ, good, &tone, WRONLY).unwrap() as usize, tone.len(), "the good client plays on");
    for fh in opens {
        dsp.release(&REQ, fh);
    }
    dsp.ioctl(&REQ, good, SNDCTL_DSP_SYNC, &[]).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    assert!(played.lock().unwrap().chunks_exact(2).any(|s| s != [0, 0]), "sound reached the device");
}
