//! The device's own mixer controls (`outboard_mixer::hw`, shared with the
//! ALSA nodes); the OSS level mapping (0-100 onto their steps) lives in
//! [`crate::mixer`].

pub use outboard_mixer::hw::*;
