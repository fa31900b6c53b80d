//! # outboard-oss: OSS device nodes on mixer streams
//!
//! Gives `/dev/dsp` and `/dev/audio` their OSS semantics (formats, rate,
//! channels, fragments, GETOSPACE/GETISPACE, GETODELAY, SYNC, RESET, blocking
//! and non-blocking I/O, O_RDONLY/O_WRONLY/O_RDWR, play out at close) on top
//! of [`outboard_mixer`] client streams, and `/dev/mixer` its volume and pcm
//! controls, served through [`outboard_cuse`]. `/dev/sndstat`, poll
//! notifications and the OSS 4 ioctls are still to come.
//!
//! Depends on `outboard-mixer` and `outboard-cuse`: never on a driver or registers.

pub mod dsp;
pub mod mixer;
pub mod sndstat;
pub mod soundcard;
