//! # outboard-alsa: ALSA kernel-ABI device nodes on mixer streams
//!
//! Serves `/dev/snd/controlCN` and `/dev/snd/pcmCND0p`/`pcmCND0c` with the
//! ioctls of `include/uapi/sound/asound.h`, so alsa-lib works unmodified on
//! top of [`outboard_mixer`] client streams, through [`outboard_cuse`].
//!
//! - [`abi`]: the structs and ioctl numbers, layouts pinned against the header.
//! - [`hw_params`]: HW_REFINE / HW_PARAMS, the kernel's refinement rules.
//! - [`card`]: a card's number, names and engine.
//! - [`control`]: the control node (discovery: CARD_INFO, PCM_INFO...; the
//!   mixer elements and their events).
//! - [`elements`]: Master, PCM, Capture, Input Source on the device's controls.
//! - [`pcm`]: the PCM nodes, one mixer client per open.
//! - [`compat32`]: i386 callers' layouts, converted.
//!
//! Depends on `outboard-mixer` and `outboard-cuse`: never on a driver or registers.

pub mod abi;
pub mod card;
pub mod compat32;
pub mod control;
pub mod elements;
pub mod hw_params;
pub mod pcm;

pub use outboard_cuse as cuse;
pub use outboard_mixer as mixer;
