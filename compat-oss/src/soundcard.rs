//! OSS's `soundcard.h` numbers (OSS 3 and the OSS 4 additions programs use),
//! written once here.

use std::mem::size_of;

use outboard_cuse::{CallerAbi, Errno};

use crate::oss4::{
    AudioErrinfo, AudioErrinfoLong, MixerInfo, OssAudioinfo, OssCardInfo, OssCount, OssCount32, OssMixerinfo,
    OssSysinfo,
};

/// `_IOC` encoding, as Linux's asm-generic/ioctl.h lays it out.
const fn ioc_t(dir: u32, ty: u8, nr: u32, size: usize) -> u32 {
    (dir << 30) | ((size as u32) << 16) | ((ty as u32) << 8) | nr
}
/// The DSP ioctls ('P').
const fn ioc(dir: u32, nr: u32, size: u32) -> u32 {
    ioc_t(dir, b'P', nr, size as usize)
}
const NONE: u32 = 0;
const WRITE: u32 = 1;
const READ: u32 = 2;

/// An ioctl number without its size field: the same request from callers
/// whose struct has another size (32-bit callers, other headers).
pub const fn without_size(cmd: u32) -> u32 {
    cmd & !(0x3fff << 16)
}
/// The argument size an ioctl number encodes (`_IOC_SIZE`).
pub const fn arg_size(cmd: u32) -> usize {
    ((cmd >> 16) & 0x3fff) as usize
}

pub const SNDCTL_DSP_RESET: u32 = ioc(NONE, 0, 0);
pub const SNDCTL_DSP_SYNC: u32 = ioc(NONE, 1, 0);
pub const SNDCTL_DSP_SPEED: u32 = ioc(READ | WRITE, 2, 4);
pub const SNDCTL_DSP_STEREO: u32 = ioc(READ | WRITE, 3, 4);
pub const SNDCTL_DSP_GETBLKSIZE: u32 = ioc(READ | WRITE, 4, 4);
pub const SNDCTL_DSP_SETFMT: u32 = ioc(READ | WRITE, 5, 4);
pub const SNDCTL_DSP_CHANNELS: u32 = ioc(READ | WRITE, 6, 4);
pub const SNDCTL_DSP_POST: u32 = ioc(NONE, 8, 0);
pub const SNDCTL_DSP_SETFRAGMENT: u32 = ioc(READ | WRITE, 10, 4);
pub const SNDCTL_DSP_GETFMTS: u32 = ioc(READ, 11, 4);
pub const SNDCTL_DSP_GETOSPACE: u32 = ioc(READ, 12, 16);
pub const SNDCTL_DSP_GETISPACE: u32 = ioc(READ, 13, 16);
pub const SNDCTL_DSP_NONBLOCK: u32 = ioc(NONE, 14, 0);
pub const SNDCTL_DSP_GETCAPS: u32 = ioc(READ, 15, 4);
pub const SNDCTL_DSP_GETODELAY: u32 = ioc(READ, 23, 4);
pub const SNDCTL_DSP_GETTRIGGER: u32 = ioc(READ, 16, 4);
pub const SNDCTL_DSP_SETTRIGGER: u32 = ioc(WRITE, 16, 4);
/// count_info: bytes, blocks, ptr (3 ints).
pub const SNDCTL_DSP_GETIPTR: u32 = ioc(READ, 17, 12);
pub const SNDCTL_DSP_GETOPTR: u32 = ioc(READ, 18, 12);
pub const SNDCTL_DSP_GETPLAYVOL: u32 = ioc(READ, 24, 4);
pub const SNDCTL_DSP_SETPLAYVOL: u32 = ioc(READ | WRITE, 24, 4);
pub const SNDCTL_DSP_GETRECVOL: u32 = ioc(READ, 41, 4);
pub const SNDCTL_DSP_SETRECVOL: u32 = ioc(READ | WRITE, 41, 4);
/// audio_errinfo as OSS 4.1 declares it (104 bytes; see [`caller_layout`]
/// for the variant with longs).
pub const SNDCTL_DSP_GETERROR: u32 = ioc(READ, 25, size_of::<AudioErrinfo>() as u32);
pub const SNDCTL_DSP_COOKEDMODE: u32 = ioc(WRITE, 30, 4);
pub const SNDCTL_DSP_SILENCE: u32 = ioc(NONE, 31, 0);
pub const SNDCTL_DSP_SKIP: u32 = ioc(NONE, 32, 0);
/// oss_count_t as a 64-bit caller has it (see [`caller_layout`] for i386).
pub const SNDCTL_DSP_CURRENT_IPTR: u32 = ioc(READ, 35, size_of::<OssCount>() as u32);
pub const SNDCTL_DSP_CURRENT_OPTR: u32 = ioc(READ, 36, size_of::<OssCount>() as u32);
/// An ioctl as a caller of ABI `abi` numbers it: the number as this crate
/// names it, and the size of the caller's struct. Where the struct's layout
/// depends on the ABI (oss_count_t, audio_errinfo with longs: [`crate::oss4`])
/// the caller's number carries its own size, and a size that no header gives
/// for that ABI is EINVAL. Every other number passes unchanged.
pub fn caller_layout(cmd: u32, abi: CallerAbi) -> Result<(u32, usize), Errno> {
    let size = arg_size(cmd);
    let one_of = |canonical: u32, sizes: &[usize]| {
        if sizes.contains(&size) {
            Ok((canonical, size))
        } else {
            log::debug!("ioctl {cmd:#x}: no {abi:?} header has a {size}-byte struct for it");
            Err(libc::EINVAL)
        }
    };
    let count = match abi {
        CallerAbi::Ilp32 => size_of::<OssCount32>(),
        CallerAbi::Native | CallerAbi::X32 => size_of::<OssCount>(),
    };
    let errinfo: &[usize] = match abi {
        CallerAbi::Native => &[size_of::<AudioErrinfo>(), size_of::<AudioErrinfoLong>()],
        // A long is an int: both headers' layouts are the same.
        CallerAbi::Ilp32 | CallerAbi::X32 => &[size_of::<AudioErrinfo>()],
    };
    match without_size(cmd) {
        b if b == without_size(SNDCTL_DSP_CURRENT_OPTR) => one_of(SNDCTL_DSP_CURRENT_OPTR, &[count]),
        b if b == without_size(SNDCTL_DSP_CURRENT_IPTR) => one_of(SNDCTL_DSP_CURRENT_IPTR, &[count]),
        b if b == without_size(SNDCTL_DSP_GETERROR) => one_of(SNDCTL_DSP_GETERROR, errinfo),
        _ => Ok((cmd, size)),
    }
}

/// The OSS 4 device-discovery ioctls ('X'), valid on /dev/dsp and /dev/mixer.
pub const SNDCTL_SYSINFO: u32 = ioc_t(READ, b'X', 1, size_of::<OssSysinfo>());
pub const SNDCTL_MIX_NRMIX: u32 = ioc_t(READ, b'X', 2, 4);
pub const SNDCTL_MIX_NREXT: u32 = ioc_t(READ | WRITE, b'X', 3, 4);
pub const SNDCTL_AUDIOINFO: u32 = ioc_t(READ | WRITE, b'X', 7, size_of::<OssAudioinfo>());
pub const SNDCTL_MIXERINFO: u32 = ioc_t(READ | WRITE, b'X', 10, size_of::<OssMixerinfo>());
pub const SNDCTL_CARDINFO: u32 = ioc_t(READ | WRITE, b'X', 11, size_of::<OssCardInfo>());
pub const SNDCTL_ENGINEINFO: u32 = ioc_t(READ | WRITE, b'X', 12, size_of::<OssAudioinfo>());
pub const SNDCTL_AUDIOINFO_EX: u32 = ioc_t(READ | WRITE, b'X', 13, size_of::<OssAudioinfo>());

/// OSS_OPEN_READ / OSS_OPEN_WRITE (oss_audioinfo.busy).
pub const OSS_OPEN_READ: u32 = 1;
pub const OSS_OPEN_WRITE: u32 = 2;

pub const PCM_ENABLE_INPUT: u32 = 1;
pub const PCM_ENABLE_OUTPUT: u32 = 2;

pub const AFMT_QUERY: u32 = 0x0000_0000;
pub const AFMT_MU_LAW: u32 = 0x0000_0001;
pub const AFMT_A_LAW: u32 = 0x0000_0002;
pub const AFMT_U8: u32 = 0x0000_0008;
pub const AFMT_S16_LE: u32 = 0x0000_0010;
pub const AFMT_S16_BE: u32 = 0x0000_0020;
pub const AFMT_S8: u32 = 0x0000_0040;
pub const AFMT_S32_LE: u32 = 0x0000_1000;
pub const AFMT_S32_BE: u32 = 0x0000_2000;
pub const AFMT_FLOAT: u32 = 0x0000_4000;
pub const AFMT_S24_LE: u32 = 0x0000_8000;
pub const AFMT_S24_BE: u32 = 0x0001_0000;
pub const AFMT_S24_PACKED: u32 = 0x0004_0000;

pub const PCM_CAP_DUPLEX: u32 = 0x0000_0100;
pub const PCM_CAP_REALTIME: u32 = 0x0000_0200;
pub const PCM_CAP_TRIGGER: u32 = 0x0000_1000;
pub const PCM_CAP_MULTI: u32 = 0x0000_4000;
pub const PCM_CAP_INPUT: u32 = 0x0001_0000;
pub const PCM_CAP_OUTPUT: u32 = 0x0002_0000;
pub const PCM_CAP_VIRTUAL: u32 = 0x0004_0000;
pub const PCM_CAP_FREERATE: u32 = 0x1000_0000;
pub const PCM_CAP_DEFAULT: u32 = 0x4000_0000;
/// The OSS 3 names.
pub const DSP_CAP_REALTIME: u32 = PCM_CAP_REALTIME;
pub const DSP_CAP_TRIGGER: u32 = PCM_CAP_TRIGGER;

// ---- the mixer ('M') ----

/// `_IOC` for the mixer's 'M' ioctls.
const fn ioc_m(dir: u32, nr: u32, size: u32) -> u32 {
    ioc_t(dir, b'M', nr, size as usize)
}

/// Mixer channels (soundcard.h's SOUND_MIXER_*).
pub const SOUND_MIXER_NRDEVICES: u32 = 25;
pub const SOUND_MIXER_VOLUME: u32 = 0;
pub const SOUND_MIXER_PCM: u32 = 4;
pub const SOUND_MIXER_LINE: u32 = 6;
pub const SOUND_MIXER_MIC: u32 = 7;
pub const SOUND_MIXER_CD: u32 = 8;
pub const SOUND_MIXER_IGAIN: u32 = 12;
pub const SOUND_MIXER_LINE1: u32 = 14;
pub const SOUND_MIXER_LINE2: u32 = 15;
pub const SOUND_MIXER_LINE3: u32 = 16;
pub const SOUND_MIXER_DIGITAL1: u32 = 17;
pub const SOUND_MIXER_DIGITAL2: u32 = 18;
pub const SOUND_MIXER_DIGITAL3: u32 = 19;
pub const SOUND_MIXER_PHONEIN: u32 = 20;
pub const SOUND_MIXER_VIDEO: u32 = 22;
pub const SOUND_MIXER_RADIO: u32 = 23;
/// The pseudo-channels that carry masks.
pub const SOUND_MIXER_RECSRC: u32 = 0xff;
pub const SOUND_MIXER_DEVMASK: u32 = 0xfe;
pub const SOUND_MIXER_RECMASK: u32 = 0xfd;
pub const SOUND_MIXER_CAPS: u32 = 0xfc;
pub const SOUND_MIXER_STEREODEVS: u32 = 0xfb;
/// SOUND_MIXER_CAPS: only one recording source at a time.
pub const SOUND_CAP_EXCL_INPUT: u32 = 0x0000_0001;

/// SOUND_MASK_*: a channel's bit.
pub const fn mask(channel: u32) -> u32 {
    1 << channel
}

/// MIXER_READ(channel): `_IOR('M', channel, int)`.
pub const fn mixer_read(channel: u32) -> u32 {
    ioc_m(READ, channel, 4)
}
/// MIXER_WRITE(channel): `_IOWR('M', channel, int)`.
pub const fn mixer_write(channel: u32) -> u32 {
    ioc_m(READ | WRITE, channel, 4)
}

pub const SOUND_MIXER_READ_VOLUME: u32 = mixer_read(SOUND_MIXER_VOLUME);
pub const SOUND_MIXER_WRITE_VOLUME: u32 = mixer_write(SOUND_MIXER_VOLUME);
pub const SOUND_MIXER_READ_PCM: u32 = mixer_read(SOUND_MIXER_PCM);
pub const SOUND_MIXER_WRITE_PCM: u32 = mixer_write(SOUND_MIXER_PCM);
pub const SOUND_MIXER_READ_IGAIN: u32 = mixer_read(SOUND_MIXER_IGAIN);
pub const SOUND_MIXER_WRITE_IGAIN: u32 = mixer_write(SOUND_MIXER_IGAIN);
pub const SOUND_MIXER_READ_RECSRC: u32 = mixer_read(SOUND_MIXER_RECSRC);
pub const SOUND_MIXER_WRITE_RECSRC: u32 = mixer_write(SOUND_MIXER_RECSRC);
pub const SOUND_MIXER_READ_DEVMASK: u32 = mixer_read(SOUND_MIXER_DEVMASK);
pub const SOUND_MIXER_READ_RECMASK: u32 = mixer_read(SOUND_MIXER_RECMASK);
pub const SOUND_MIXER_READ_CAPS: u32 = mixer_read(SOUND_MIXER_CAPS);
pub const SOUND_MIXER_READ_STEREODEVS: u32 = mixer_read(SOUND_MIXER_STEREODEVS);
pub const OSS_GETVERSION: u32 = ioc_m(READ, 118, 4);
/// `_IOR('M', 101, mixer_info)`.
pub const SOUND_MIXER_INFO: u32 = ioc_m(READ, 101, size_of::<MixerInfo>() as u32);
/// OSS 3.9.x, what Linux's OSS emulation reports.
pub const SOUND_VERSION: i32 = 0x030904;

#[cfg(test)]
mod tests {
    use super::*;

    /// Values from soundcard.h as compiled on x86_64 Linux.
    #[test]
    fn ioctl_numbers_match_soundcard_h() {
        assert_eq!(SNDCTL_DSP_RESET, 0x0000_5000);
        assert_eq!(SNDCTL_DSP_SYNC, 0x0000_5001);
        assert_eq!(SNDCTL_DSP_SPEED, 0xc004_5002);
        assert_eq!(SNDCTL_DSP_SETFMT, 0xc004_5005);
        assert_eq!(SNDCTL_DSP_CHANNELS, 0xc004_5006);
        assert_eq!(SNDCTL_DSP_SETFRAGMENT, 0xc004_500a);
        assert_eq!(SNDCTL_DSP_GETFMTS, 0x8004_500b);
        assert_eq!(SNDCTL_DSP_GETOSPACE, 0x8010_500c);
        assert_eq!(SNDCTL_DSP_GETODELAY, 0x8004_5017);
        assert_eq!(SNDCTL_DSP_GETOPTR, 0x800c_5012);
        assert_eq!(SNDCTL_DSP_SETTRIGGER, 0x4004_5010);
        assert_eq!(SNDCTL_DSP_GETERROR, 0x8068_5019);
        assert_eq!(SNDCTL_DSP_CURRENT_OPTR, 0x8090_5024);
        assert_eq!(SNDCTL_DSP_SETPLAYVOL, 0xc004_5018);
    }

    /// OSS 4.1's soundcard.h compiled by gcc (x86_64 and i386 alike).
    #[test]
    fn oss4_info_numbers_match_soundcard_h() {
        assert_eq!(SNDCTL_SYSINFO, 0x84e0_5801);
        assert_eq!(SNDCTL_MIX_NRMIX, 0x8004_5802);
        assert_eq!(SNDCTL_MIX_NREXT, 0xc004_5803);
        assert_eq!(SNDCTL_AUDIOINFO, 0xc49c_5807);
        assert_eq!(SNDCTL_MIXERINFO, 0xc470_580a);
        assert_eq!(SNDCTL_CARDINFO, 0xc498_580b);
        assert_eq!(SNDCTL_ENGINEINFO, 0xc49c_580c);
        assert_eq!(SNDCTL_AUDIOINFO_EX, 0xc49c_580d);
        assert_eq!(arg_size(SNDCTL_DSP_CURRENT_OPTR), 144);
        assert_eq!(without_size(SNDCTL_DSP_CURRENT_OPTR), 0x8000_5024);
    }

    /// The numbers gcc -m32 gives these ioctls with OSS 4.1's soundcard.h
    /// (and FreeBSD's audio_errinfo, longs: 0x80705019 with -m64).
    #[test]
    fn callers_get_their_own_layout() {
        use CallerAbi::*;
        assert_eq!(caller_layout(0x808c_5024, Ilp32), Ok((SNDCTL_DSP_CURRENT_OPTR, 140)));
        assert_eq!(caller_layout(0x808c_5023, Ilp32), Ok((SNDCTL_DSP_CURRENT_IPTR, 140)));
        assert_eq!(caller_layout(0x8090_5024, Native), Ok((SNDCTL_DSP_CURRENT_OPTR, 144)));
        assert_eq!(caller_layout(0x8090_5024, X32), Ok((SNDCTL_DSP_CURRENT_OPTR, 144)));
        assert_eq!(caller_layout(0x808c_5024, Native), Err(libc::EINVAL), "no 64-bit header has 140");
        assert_eq!(caller_layout(0x8090_5024, Ilp32), Err(libc::EINVAL), "no i386 header has 144");
        assert_eq!(caller_layout(0x8068_5019, Native), Ok((SNDCTL_DSP_GETERROR, 104)));
        assert_eq!(caller_layout(0x8070_5019, Native), Ok((SNDCTL_DSP_GETERROR, 112)));
        assert_eq!(caller_layout(0x8068_5019, Ilp32), Ok((SNDCTL_DSP_GETERROR, 104)));
        assert_eq!(caller_layout(0x8070_5019, Ilp32), Err(libc::EINVAL));
        // Everything else is the same for everyone.
        assert_eq!(caller_layout(SNDCTL_DSP_GETOSPACE, Ilp32), Ok((SNDCTL_DSP_GETOSPACE, 16)));
        assert_eq!(caller_layout(SNDCTL_AUDIOINFO, Ilp32), Ok((SNDCTL_AUDIOINFO, 1180)));
    }
}
