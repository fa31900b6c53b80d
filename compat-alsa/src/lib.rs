//! # outboard-alsa: ALSA kernel-ABI device nodes on mixer streams
//!
//! Serves (as it grows) `/dev/snd/controlC*` and `/dev/snd/pcmC*D*[pc]` with
//! the ioctls of `include/uapi/sound/asound.h`, so alsa-lib works unmodified
//! on top of [`outboard_mixer`] client streams, through [`outboard_cuse`].
//!
//! - [`abi`]: the structs and ioctl numbers, layouts pinned against the header.
//! - [`hw_params`]: HW_REFINE / HW_PARAMS, the kernel's refinement rules.
//!
//! Depends on `outboard-mixer` and `outboard-cuse`: never on a driver or registers.

pub mod abi;
pub mod hw_params;

pub use outboard_cuse as cuse;
pub use outboard_mixer as mixer;
