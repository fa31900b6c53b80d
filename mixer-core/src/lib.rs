//! # outboard-mixer: formats, resampling, mixing and the real-time engine
//!
//! Will mix any number of client streams (each with its own format, rate and
//! channel count) onto a hardware stream that implements
//! [`outboard_hal::pcm::PcmStream`], and fan capture out to every reader.
//! Filled by the mixer-core issue; today it only names its job.
//!
//! Depends on `outboard-hal` only (for the PCM-stream trait): never on a driver.

pub use outboard_hal::pcm;
