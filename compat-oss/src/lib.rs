//! # outboard-oss: OSS device nodes on mixer streams
//!
//! Will give `/dev/dsp`, `/dev/audio`, `/dev/mixer` and `/dev/sndstat` their OSS
//! semantics (formats, fragments, GETOSPACE, SYNC, the v4 ioctls) on top of
//! [`outboard_mixer`] client streams, served through [`outboard_cuse`].
//! Filled by the cuse/compat-oss issue; today it only names its job.
//!
//! Depends on `outboard-mixer` and `outboard-cuse`: never on a driver or registers.

pub use outboard_cuse as cuse;
pub use outboard_mixer as mixer;
