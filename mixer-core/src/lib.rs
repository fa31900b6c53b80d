//! # outboard-mixer: formats, resampling, mixing and the real-time engine
//!
//! Mixes client streams (each with its own format, rate and channel count)
//! onto a hardware stream that implements [`outboard_hal::pcm::PcmStream`].
//! The building blocks are here:
//!
//! - [`format`](mod@format): every sample format to and from f32, G.711 included.
//! - [`chmap`]: channel layouts mono to 7.1 and up/down-mix matrices.
//! - [`mix`]: the period accumulator, saturation, the integer fast path.
//! - [`ring`]: the lock-free single-producer single-consumer client ring.
//! - [`stream`]: client streams with OSS and ALSA semantics.
//! - [`engine`]: the real-time thread that mixes clients onto a device.
//! - [`devices`]: emulated devices (null, real-time paced, recording).
//! - [`resample`]: band-limited resampling, with drift adjustment.
//! - [`drift`]: the controller that follows the drift between two clocks.
//! - [`bridge`]: one engine's capture to another's playback, across their clocks.
//!
//! Depends on `outboard-hal` only (for the PCM-stream trait): never on a driver.

pub mod blocking;
pub mod bridge;
pub mod chmap;
pub mod devices;
pub mod drift;
pub mod engine;
pub mod format;
pub mod hw;
pub mod limits;
pub mod mailbox;
pub mod mix;
pub mod resample;
pub mod ring;
pub mod stream;
mod sync;

pub use outboard_hal::pcm;
