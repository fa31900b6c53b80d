//! # outboard-signal: audio files, test signals and measurements
//!
//! - [`wav`]: reading and writing WAV files (what `outboard play/record` take
//!   and give, and what QEMU's audio backends write).
//! - [`signal`]: deterministic test signals and exact comparisons ("sample
//!   for sample").
//! - [`resample`]: samples of one clock seen on another (a ratio near 1).
//! - [`analysis`]: what a listener would measure: a tone's frequency and
//!   level, several tones fitted at once, a tone followed block by block.
//!
//! Depends on nothing of ours: the CLI, the demo and the bench use it alike.

pub mod analysis;
pub mod resample;
pub mod signal;
pub mod wav;
