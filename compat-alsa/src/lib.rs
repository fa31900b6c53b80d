//! # outboard-alsa: ALSA kernel-ABI device nodes on mixer streams
//!
//! Will serve `/dev/snd/controlC*` and `/dev/snd/pcmC*D*[pc]` with the ioctls of
//! `include/uapi/sound/asound.h`, so alsa-lib works unmodified on top of
//! [`outboard_mixer`] client streams, through [`outboard_cuse`]. Not yet
//! assigned to an issue; today it only names its job.
//!
//! Depends on `outboard-mixer` and `outboard-cuse`: never on a driver or registers.

pub use outboard_cuse as cuse;
pub use outboard_mixer as mixer;
