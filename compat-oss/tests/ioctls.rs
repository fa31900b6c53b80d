//! OSS ioctls a program uses to follow playback, on /dev/dsp's handler.

use std::sync::Arc;
use std::time::Duration;

use outboard_cuse::{Handler, Request};
use outboard_mixer::devices::{MemoryDevice, Pacing};
use outboard_mixer::engine::Engine;
use outboard_mixer::format::SampleFormat;
use outboard_mixer::pcm::PcmConfig;
use outboard_oss::dsp::{Dsp, DSP_DEFAULTS};
use outboard_oss::soundcard::*;

const REQ: Request = Request::new(1, 7, 0, 0);
const WRONLY: u32 = libc::O_WRONLY as u32;

fn ints(b: &[u8]) -> Vec<i32> {
    b.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

#[test]
fn pointers_delay_volume_and_errors_follow_playback() {
    let cfg = PcmConfig { format: SampleFormat::S16Le, rate: 48_000, channels: 2, period_frames: 256, periods: 4 };
    let dsp = Dsp::new(
        Arc::new(Engine::start(Box::new(MemoryDevice::null(cfg, Pacing::RealTime))).unwrap()),
        "/dev/dsp",
        DSP_DEFAULTS,
    );
    let fh = dsp.open(&REQ, WRONLY).unwrap();
    for (cmd, v) in [(SNDCTL_DSP_SETFMT, AFMT_S16_LE as i32), (SNDCTL_DSP_CHANNELS, 2), (SNDCTL_DSP_SPEED, 48_000)] {
        dsp.ioctl(&REQ, fh, cmd, &v.to_le_bytes()).unwrap();
    }
    let (_, vol) = dsp.ioctl(&REQ, fh, SNDCTL_DSP_SETPLAYVOL, &(50i32 | (50 << 8)).to_le_bytes()).unwrap();
    assert_eq!(ints(&vol), vec![50 | (50 << 8)]);
    assert_eq!(ints(&dsp.ioctl(&REQ, fh, SNDCTL_DSP_GETPLAYVOL, &[]).unwrap().1), vec![50 | (50 << 8)]);

    assert_eq!(dsp.write(&REQ, fh, &vec![1u8; 48_000], WRONLY).unwrap(), 48_000);
    let delay = ints(&dsp.ioctl(&REQ, fh, SNDCTL_DSP_GETODELAY, &[]).unwrap().1)[0];
    // What is queued plus the device ring the engine keeps filled ahead
    // while the stream plays (3 of its 4 periods of 256 frames, 3072 bytes).
    let space = ints(&dsp.ioctl(&REQ, fh, SNDCTL_DSP_GETOSPACE, &[]).unwrap().1);
    let queued_after = space[1] * space[2] - space[3];
    assert!(delay <= 48_000 + 3072, "{delay}");
    assert!(delay >= 3072 + queued_after, "{delay} with {queued_after} bytes still queued after it");
    dsp.ioctl(&REQ, fh, SNDCTL_DSP_SYNC, &[]).unwrap();
    let optr = ints(&dsp.ioctl(&REQ, fh, SNDCTL_DSP_GETOPTR, &[]).unwrap().1);
    assert_eq!(optr[0], 48_000, "every byte written has been played");
    let current = dsp.ioctl(&REQ, fh, SNDCTL_DSP_CURRENT_OPTR, &[]).unwrap().1;
    assert_eq!(current.len(), 144);
    assert_eq!(i64::from_le_bytes(current[..8].try_into().unwrap()), 12_000, "frames");
    assert_eq!(ints(&dsp.ioctl(&REQ, fh, SNDCTL_DSP_GETODELAY, &[]).unwrap().1)[0], 0);

    // Then an underrun: GETERROR counts it.
    dsp.write(&REQ, fh, &[1u8; 4096], WRONLY).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let err = dsp.ioctl(&REQ, fh, SNDCTL_DSP_GETERROR, &[]).unwrap().1;
    assert_eq!(err.len(), 104, "OSS 4.1's audio_errinfo");
    assert!(ints(&err[..4])[0] > 0, "an underrun was counted");
    let trig = ints(&dsp.ioctl(&REQ, fh, SNDCTL_DSP_GETTRIGGER, &[]).unwrap().1)[0] as u32;
    assert_eq!(trig & PCM_ENABLE_OUTPUT, PCM_ENABLE_OUTPUT);
    dsp.release(&REQ, fh);
}
