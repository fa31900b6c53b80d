//! 32-bit callers (the CUSE request says FUSE_IOCTL_32BIT): every answer in
//! the caller's layout. Most OSS structs are ints only and come out the same;
//! oss_count_t (CURRENT_OPTR / CURRENT_IPTR) is 140 bytes for i386 and 144
//! for 64-bit callers, and audio_errinfo with longs 104 / 112.

use std::sync::Arc;

use outboard_cuse::{CallerAbi, Handler, Interrupt, Request};
use outboard_mixer::devices::{MemoryDevice, Pacing};
use outboard_mixer::engine::Engine;
use outboard_mixer::format::SampleFormat;
use outboard_mixer::pcm::PcmConfig;
use outboard_oss::dsp::{Dsp, DSP_DEFAULTS};
use outboard_oss::soundcard::*;

const CFG: PcmConfig =
    PcmConfig { format: SampleFormat::S16Le, rate: 48_000, channels: 2, period_frames: 256, periods: 4 };
const NATIVE: Request = Request::new(1, 9, 0, 0);
const I386: Request = Request { unique: 2, pid: 9, uid: 0, gid: 0, interrupt: Interrupt::NONE, abi: CallerAbi::Ilp32 };
const X32: Request = Request { unique: 3, pid: 9, uid: 0, gid: 0, interrupt: Interrupt::NONE, abi: CallerAbi::X32 };

/// The i386 numbers (gcc -m32 with OSS 4.1's soundcard.h).
const CURRENT_OPTR_I386: u32 = 0x808c_5024;
const CURRENT_IPTR_I386: u32 = 0x808c_5023;
/// FreeBSD's audio_errinfo (long errorparm) from a 64-bit program.
const GETERROR_LONGS_LP64: u32 = 0x8070_5019;

fn dsp() -> Dsp {
    let dev = MemoryDevice::null(CFG, Pacing::RealTime);
    Dsp::new(Arc::new(Engine::start(Box::new(dev)).unwrap()), "/dev/dsp", DSP_DEFAULTS)
}

#[test]
fn an_i386_caller_gets_its_140_byte_oss_count_t() {
    let dsp = dsp();
    let fh = dsp.open(&I386, libc::O_WRONLY as u32).unwrap();
    for (cmd, v) in [(SNDCTL_DSP_SETFMT, AFMT_S16_LE as i32), (SNDCTL_DSP_CHANNELS, 2), (SNDCTL_DSP_SPEED, 48_000)] {
        assert_eq!(dsp.ioctl(&I386, fh, cmd, &v.to_le_bytes()).unwrap().1, v.to_le_bytes());
    }
    assert_eq!(dsp.write(&I386, fh, &[1; 48_000], libc::O_WRONLY as u32), Ok(48_000));
    dsp.ioctl(&I386, fh, SNDCTL_DSP_SYNC, &[]).unwrap();

    let (_, ours) = dsp.ioctl(&NATIVE, fh, SNDCTL_DSP_CURRENT_OPTR, &[]).unwrap();
    let (_, theirs) = dsp.ioctl(&I386, fh, CURRENT_OPTR_I386, &[]).unwrap();
    assert_eq!((ours.len(), theirs.len()), (144, 140));
    // samples (long long at 0) and fifo_samples (int at 8) where each expects them.
    assert_eq!(i64::from_le_bytes(theirs[..8].try_into().unwrap()), 12_000, "frames played");
    assert_eq!(&theirs[..12], &ours[..12]);
    assert_eq!(dsp.ioctl(&I386, fh, CURRENT_IPTR_I386, &[]).unwrap().1.len(), 140);
    // x32 aligns long long to 8: the 64-bit layout.
    assert_eq!(dsp.ioctl(&X32, fh, SNDCTL_DSP_CURRENT_OPTR, &[]).unwrap().1, ours);
    // A size that no header gives the caller's ABI is refused, not guessed.
    assert_eq!(dsp.ioctl(&NATIVE, fh, CURRENT_OPTR_I386, &[]), Err(libc::EINVAL));
    assert_eq!(dsp.ioctl(&I386, fh, SNDCTL_DSP_CURRENT_OPTR, &[]), Err(libc::EINVAL));
}

#[test]
fn geterror_answers_both_headers() {
    let dsp = dsp();
    let fh = dsp.open(&NATIVE, libc::O_WRONLY as u32).unwrap();
    for (cmd, v) in [(SNDCTL_DSP_SETFMT, AFMT_S16_LE as i32), (SNDCTL_DSP_CHANNELS, 2), (SNDCTL_DSP_SPEED, 48_000)] {
        dsp.ioctl(&NATIVE, fh, cmd, &v.to_le_bytes()).unwrap();
    }
    // 20 ms of sound, then nothing.
    dsp.write(&NATIVE, fh, &[1; 4000], libc::O_WRONLY as u32).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(100)); // then an underrun
    let ints = dsp.ioctl(&NATIVE, fh, SNDCTL_DSP_GETERROR, &[]).unwrap().1;
    let longs = dsp.ioctl(&NATIVE, fh, GETERROR_LONGS_LP64, &[]).unwrap().1;
    let i386 = dsp.ioctl(&I386, fh, SNDCTL_DSP_GETERROR, &[]).unwrap().1;
    assert_eq!((ints.len(), longs.len(), i386.len()), (104, 112, 104));
    let underruns = i32::from_le_bytes(ints[..4].try_into().unwrap());
    assert!(underruns > 0);
    assert_eq!(&longs[..8], &ints[..8], "underruns and overruns at the same place");
    assert!(longs[8..].iter().all(|&b| b == 0));
    assert_eq!(dsp.ioctl(&I386, fh, GETERROR_LONGS_LP64, &[]), Err(libc::EINVAL), "a long is 4 bytes on i386");
}

#[test]
fn everything_else_is_the_same_for_32_bit_callers() {
    let dsp = dsp();
    let fh = dsp.open(&NATIVE, libc::O_WRONLY as u32).unwrap();
    for cmd in [SNDCTL_DSP_GETOSPACE, SNDCTL_DSP_GETOPTR, SNDCTL_DSP_GETFMTS, SNDCTL_DSP_GETCAPS, SNDCTL_DSP_GETBLKSIZE]
    {
        let native = dsp.ioctl(&NATIVE, fh, cmd, &[0; 4]).unwrap();
        assert_eq!(dsp.ioctl(&I386, fh, cmd, &[0; 4]).unwrap(), native, "{cmd:#x}");
    }
    let mut arg = vec![0u8; 1180];
    arg[..4].copy_from_slice(&(-1i32).to_le_bytes());
    let native = dsp.ioctl(&NATIVE, fh, SNDCTL_AUDIOINFO, &arg).unwrap();
    assert_eq!(native.1.len(), 1180);
    assert_eq!(dsp.ioctl(&I386, fh, SNDCTL_AUDIOINFO, &arg).unwrap(), native);
}
