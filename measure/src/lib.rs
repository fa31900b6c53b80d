//! # outboard-measure: the bench-rig tester's methods
//!
//! What `outboard measure` plays through a device and what it reads in the
//! recording, each method with its reference in the module's docs:
//!
//! - [`response`]: frequency response (magnitude and phase) by exponential
//!   sine sweep and deconvolution.
//! - [`distortion`]: THD and THD+N, noise, dynamic range (AES17), A-weighting.
//! - [`latency`]: round-trip latency to the sample by MLS cross-correlation,
//!   and the channel map, polarity and crosstalk.
//! - [`glitch`]: a tone's exact frequency, clock drift between two devices,
//!   glitches (dropouts, repeats, clicks) with their times.
//! - [`fft`]: the transform and signal helpers they share.
//!
//! Depends on `outboard-signal` (tone fits); nothing here talks to a device.

pub mod distortion;
pub mod fft;
pub mod glitch;
pub mod latency;
pub mod limits;
pub mod report;
pub mod response;
pub mod run;
pub mod session;
