//! # outboard-oss: OSS device nodes on mixer streams
//!
//! Gives `/dev/dsp` and `/dev/audio` their OSS semantics (formats, rate,
//! channels, fragments, GETOSPACE/GETISPACE, GETODELAY, SYNC, RESET, blocking
//! and non-blocking I/O, O_RDONLY/O_WRONLY/O_RDWR, play out at close) on top
//! of [`outboard_mixer`] client streams, `/dev/mixer` its volume, pcm, igain
//! and recording source controls (on the device's own controls, [`hw`], and
//! the mixer's master gain), and `/dev/sndstat`, served through [`outboard_cuse`]. Both
//! /dev/dsp and /dev/mixer answer OSS 4's device-discovery ioctls
//! (SYSINFO, AUDIOINFO, CARDINFO, MIXERINFO: [`info`]) from one description
//! of the daemon's devices ([`info::OssSystem`]).
//!
//! Depends on `outboard-mixer` and `outboard-cuse`: never on a driver or registers.

pub mod blocking;
pub mod dsp;
pub mod hw;
pub mod info;
pub mod mixer;
pub mod oss4;
pub mod sndstat;
pub mod soundcard;
