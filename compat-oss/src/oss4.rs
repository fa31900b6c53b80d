//! OSS 4's structs (`soundcard.h` of OSS 4.1: `oss_sysinfo`,
//! `oss_audioinfo`, `oss_card_info`, `oss_mixerinfo`, `oss_count_t`,
//! `audio_errinfo`) and OSS 3's `mixer_info`, defined once here with their
//! layouts pinned by tests against the header as gcc lays it out for x86_64
//! (`-m64`) and i386 (`-m32`).
//!
//! Of the structs the OSS ioctls move, only two differ between 64- and
//! 32-bit callers: `oss_count_t` (a `long long`, aligned to 8 on x86_64 and
//! x32, to 4 on i386: 144 or 140 bytes) and `audio_errinfo` in the headers
//! that declare its two `errorparm` fields `long` (FreeBSD's, some OSS 4.x:
//! 112 bytes on x86_64, 104 on 32-bit; OSS 4.1 has `int`s: 104 everywhere).
//! `buffmem_desc` (a pointer) belongs to MAPINBUF/MAPOUTBUF, which need mmap
//! and are not served. Everything else is `int`s and `char` arrays: the same
//! for every caller.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `OSS_LONGNAME_SIZE`, `OSS_LABEL_SIZE`, `OSS_DEVNODE_SIZE`,
/// `OSS_DEVNAME_SIZE`, `OSS_CMD_SIZE`, `OSS_ID_SIZE`, `OSS_HANDLE_SIZE`.
pub const LONGNAME_SIZE: usize = 64;
pub const LABEL_SIZE: usize = 16;
pub const DEVNODE_SIZE: usize = 32;
pub const DEVNAME_SIZE: usize = 64;
pub const CMD_SIZE: usize = 64;
pub const ID_SIZE: usize = 16;
pub const HANDLE_SIZE: usize = 32;
/// `OSS_MAX_SAMPLE_RATES`.
pub const MAX_SAMPLE_RATES: usize = 20;

/// `oss_sysinfo`: SNDCTL_SYSINFO's answer.
#[doc(alias = "oss_sysinfo")]
#[repr(C)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct OssSysinfo {
    pub product: [u8; 32],
    pub version: [u8; 32],
    pub versionnum: i32,
    pub options: [u8; 128],
    pub numaudios: i32,
    /// Bit mask of the audio devices that are open.
    pub openedaudio: [i32; 8],
    pub numsynths: i32,
    pub nummidis: i32,
    pub numtimers: i32,
    pub nummixers: i32,
    pub openedmidi: [i32; 8],
    pub numcards: i32,
    pub numaudioengines: i32,
    pub license: [u8; 16],
    pub revision_info: [u8; 256],
    pub filler: [i32; 172],
}

/// `oss_audioinfo`: SNDCTL_AUDIOINFO, SNDCTL_AUDIOINFO_EX and
/// SNDCTL_ENGINEINFO's argument and answer.
#[doc(alias = "oss_audioinfo")]
#[repr(C)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct OssAudioinfo {
    /// The device asked for (-1: the device of this file descriptor).
    pub dev: i32,
    pub name: [u8; DEVNAME_SIZE],
    /// 0, OSS_OPEN_READ, OSS_OPEN_WRITE or both.
    pub busy: i32,
    pub pid: i32,
    /// PCM_CAP_*.
    pub caps: i32,
    pub iformats: i32,
    pub oformats: i32,
    pub magic: i32,
    /// The program using the device.
    pub cmd: [u8; CMD_SIZE],
    pub card_number: i32,
    pub port_number: i32,
    pub mixer_dev: i32,
    pub legacy_device: i32,
    pub enabled: i32,
    pub flags: i32,
    pub min_rate: i32,
    pub max_rate: i32,
    pub min_channels: i32,
    pub max_channels: i32,
    pub binding: i32,
    pub rate_source: i32,
    pub handle: [u8; HANDLE_SIZE],
    /// 0: any rate from min_rate to max_rate.
    pub nrates: u32,
    pub rates: [u32; MAX_SAMPLE_RATES],
    pub song_name: [u8; LONGNAME_SIZE],
    pub label: [u8; LABEL_SIZE],
    /// Microseconds, -1 when unknown.
    pub latency: i32,
    pub devnode: [u8; DEVNODE_SIZE],
    pub next_play_engine: i32,
    pub next_rec_engine: i32,
    pub filler: [i32; 184],
}

/// `oss_card_info`: SNDCTL_CARDINFO's argument and answer.
#[doc(alias = "oss_card_info")]
#[repr(C)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct OssCardInfo {
    pub card: i32,
    pub shortname: [u8; 16],
    pub longname: [u8; 128],
    pub flags: i32,
    pub hw_info: [u8; 400],
    pub intr_count: i32,
    pub ack_count: i32,
    pub filler: [i32; 154],
}

/// `oss_mixerinfo`: SNDCTL_MIXERINFO's argument and answer.
#[doc(alias = "oss_mixerinfo")]
#[repr(C)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct OssMixerinfo {
    /// The mixer asked for (-1: the mixer of this file descriptor).
    pub dev: i32,
    pub id: [u8; ID_SIZE],
    pub name: [u8; 32],
    pub modify_counter: i32,
    pub card_number: i32,
    pub port_number: i32,
    pub handle: [u8; HANDLE_SIZE],
    pub magic: i32,
    pub enabled: i32,
    pub caps: i32,
    pub flags: i32,
    /// Mixer extension controls (SNDCTL_MIX_EXTINFO).
    pub nrext: i32,
    /// The highest is the default mixer; -2 or less: never the default.
    pub priority: i32,
    pub devnode: [u8; DEVNODE_SIZE],
    pub legacy_device: i32,
    pub filler: [i32; 245],
}

/// `mixer_info`: OSS 3's SOUND_MIXER_INFO.
#[doc(alias = "mixer_info")]
#[repr(C)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct MixerInfo {
    pub id: [u8; 16],
    pub name: [u8; 32],
    pub modify_counter: i32,
    pub fillers: [i32; 10],
}

/// `oss_count_t` as a 64-bit (or x32) caller lays it out:
/// SNDCTL_DSP_CURRENT_OPTR / CURRENT_IPTR.
#[doc(alias = "oss_count_t")]
#[repr(C)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct OssCount {
    /// Frames played (or recorded) so far.
    pub samples: i64,
    /// Frames queued.
    pub fifo_samples: i32,
    pub filler: [i32; 32],
    /// The tail padding to the `long long`'s 8-byte alignment, made explicit.
    pub padding: i32,
}

/// `oss_count_t` as an i386 caller lays it out: its `long long` aligned to
/// 4, so no tail padding.
#[repr(C, packed(4))]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct OssCount32 {
    pub samples: i64,
    pub fifo_samples: i32,
    pub filler: [i32; 32],
}

/// `audio_errinfo` as OSS 4.1 declares it (all `int`s): SNDCTL_DSP_GETERROR.
#[doc(alias = "audio_errinfo")]
#[repr(C)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct AudioErrinfo {
    pub play_underruns: i32,
    pub rec_overruns: i32,
    pub play_ptradjust: u32,
    pub rec_ptradjust: u32,
    pub play_errorcount: i32,
    pub rec_errorcount: i32,
    pub play_lasterror: i32,
    pub rec_lasterror: i32,
    pub play_errorparm: i32,
    pub rec_errorparm: i32,
    pub filler: [i32; 16],
}

/// `audio_errinfo` with `long` errorparm fields (FreeBSD's header, some OSS
/// 4.x ones), as a 64-bit caller lays it out. For 32-bit callers a `long` is
/// an `int`, and the layout is [`AudioErrinfo`]'s.
#[repr(C)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct AudioErrinfoLong {
    pub play_underruns: i32,
    pub rec_overruns: i32,
    pub play_ptradjust: u32,
    pub rec_ptradjust: u32,
    pub play_errorcount: i32,
    pub rec_errorcount: i32,
    pub play_lasterror: i32,
    pub rec_lasterror: i32,
    pub play_errorparm: i64,
    pub rec_errorparm: i64,
    pub filler: [i32; 16],
}

outboard_cuse::zeroed_default!(
    OssSysinfo,
    OssAudioinfo,
    OssCardInfo,
    OssMixerinfo,
    MixerInfo,
    OssCount,
    OssCount32,
    AudioErrinfo,
    AudioErrinfoLong
);

pub use outboard_cuse::abi::{get_str, put_str};

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    /// Sizes and offsets of OSS 4.1's soundcard.h as gcc 12 lays it out,
    /// the same with -m64 and -m32 (every field is an int or a char array).
    #[test]
    fn layouts_match_oss4_soundcard_h() {
        assert_eq!(size_of::<OssSysinfo>(), 1248);
        assert_eq!(offset_of!(OssSysinfo, versionnum), 64);
        assert_eq!(offset_of!(OssSysinfo, numaudios), 196);
        assert_eq!(offset_of!(OssSysinfo, nummixers), 244);
        assert_eq!(offset_of!(OssSysinfo, numcards), 280);
        assert_eq!(offset_of!(OssSysinfo, numaudioengines), 284);
        assert_eq!(offset_of!(OssSysinfo, license), 288);
        assert_eq!(offset_of!(OssSysinfo, revision_info), 304);
        assert_eq!(offset_of!(OssSysinfo, filler), 560);

        assert_eq!(size_of::<OssAudioinfo>(), 1180);
        assert_eq!(offset_of!(OssAudioinfo, name), 4);
        assert_eq!(offset_of!(OssAudioinfo, busy), 68);
        assert_eq!(offset_of!(OssAudioinfo, caps), 76);
        assert_eq!(offset_of!(OssAudioinfo, iformats), 80);
        assert_eq!(offset_of!(OssAudioinfo, cmd), 92);
        assert_eq!(offset_of!(OssAudioinfo, card_number), 156);
        assert_eq!(offset_of!(OssAudioinfo, min_rate), 180);
        assert_eq!(offset_of!(OssAudioinfo, max_channels), 192);
        assert_eq!(offset_of!(OssAudioinfo, handle), 204);
        assert_eq!(offset_of!(OssAudioinfo, nrates), 236);
        assert_eq!(offset_of!(OssAudioinfo, song_name), 320);
        assert_eq!(offset_of!(OssAudioinfo, label), 384);
        assert_eq!(offset_of!(OssAudioinfo, latency), 400);
        assert_eq!(offset_of!(OssAudioinfo, devnode), 404);
        assert_eq!(offset_of!(OssAudioinfo, next_play_engine), 436);
        assert_eq!(offset_of!(OssAudioinfo, filler), 444);

        assert_eq!(size_of::<OssCardInfo>(), 1176);
        assert_eq!(offset_of!(OssCardInfo, shortname), 4);
        assert_eq!(offset_of!(OssCardInfo, longname), 20);
        assert_eq!(offset_of!(OssCardInfo, flags), 148);
        assert_eq!(offset_of!(OssCardInfo, hw_info), 152);
        assert_eq!(offset_of!(OssCardInfo, intr_count), 552);
        assert_eq!(offset_of!(OssCardInfo, filler), 560);

        assert_eq!(size_of::<OssMixerinfo>(), 1136);
        assert_eq!(offset_of!(OssMixerinfo, id), 4);
        assert_eq!(offset_of!(OssMixerinfo, name), 20);
        assert_eq!(offset_of!(OssMixerinfo, modify_counter), 52);
        assert_eq!(offset_of!(OssMixerinfo, handle), 64);
        assert_eq!(offset_of!(OssMixerinfo, magic), 96);
        assert_eq!(offset_of!(OssMixerinfo, priority), 116);
        assert_eq!(offset_of!(OssMixerinfo, devnode), 120);
        assert_eq!(offset_of!(OssMixerinfo, legacy_device), 152);
        assert_eq!(offset_of!(OssMixerinfo, filler), 156);

        // Linux's soundcard.h.
        assert_eq!(size_of::<MixerInfo>(), 92);
        assert_eq!(offset_of!(MixerInfo, modify_counter), 48);
    }

    /// The structs whose layout depends on the caller: gcc -m64 and -m32.
    #[test]
    fn abi_dependent_layouts_match_gcc() {
        // oss_count_t: 144 bytes on x86_64 (and x32), 140 on i386.
        assert_eq!(size_of::<OssCount>(), 144);
        assert_eq!(offset_of!(OssCount, fifo_samples), 8);
        assert_eq!(offset_of!(OssCount, filler), 12);
        assert_eq!(size_of::<OssCount32>(), 140);
        assert_eq!(offset_of!(OssCount32, fifo_samples), 8);
        assert_eq!(offset_of!(OssCount32, filler), 12);
        // audio_errinfo: OSS 4.1's ints, 104 bytes for every caller.
        assert_eq!(size_of::<AudioErrinfo>(), 104);
        assert_eq!(offset_of!(AudioErrinfo, play_errorparm), 32);
        assert_eq!(offset_of!(AudioErrinfo, filler), 40);
        // With longs: 112 on x86_64.
        assert_eq!(size_of::<AudioErrinfoLong>(), 112);
        assert_eq!(offset_of!(AudioErrinfoLong, play_errorparm), 32);
        assert_eq!(offset_of!(AudioErrinfoLong, filler), 48);
    }

    #[test]
    fn strings_are_truncated_and_terminated() {
        let mut f = [0xffu8; 8];
        put_str(&mut f, "0123456789");
        assert_eq!(&f, b"0123456\0");
        put_str(&mut f, "ab");
        assert_eq!(&f, b"ab\0\0\0\0\0\0");
        // Never half a character: "é" is two bytes and would straddle the end.
        put_str(&mut f, "abcdefé");
        assert_eq!(get_str(&f), "abcdef");
        assert_eq!(get_str(b"no nul"), "no nul");
    }
}
