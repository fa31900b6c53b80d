//! # outboard-oss: OSS device nodes on mixer streams
//!
//! Gives `/dev/dsp` its OSS semantics (formats, rate, channels, fragments,
//! GETOSPACE, GETODELAY, SYNC, RESET, blocking and non-blocking writes, play
//! out at close) on top of [`outboard_mixer`] client streams, served through
//! [`outboard_cuse`]. `/dev/audio`, `/dev/mixer`, `/dev/sndstat`, capture and
//! the OSS 4 ioctls are still to come.
//!
//! Depends on `outboard-mixer` and `outboard-cuse`: never on a driver or registers.

pub mod dsp;
pub mod soundcard;

pub use outboard_cuse as cuse;
pub use outboard_mixer as mixer;
