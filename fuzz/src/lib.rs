//! Fuzz harnesses (issue #14): each public function takes arbitrary bytes
//! and drives one of Outboard's parsers or request handlers the way the
//! daemon does. A panic, a hang or a runaway allocation is a finding; the
//! handlers' own answers (errors included) are not.
//!
//! - [`hda_dump`]: a codec dump (the text `/proc/asound/card*/codec#*` and
//!   `outboard hda --dump` write), then what the driver makes of a codec:
//!   the output and input paths, the controls on them, the Linux route of
//!   each pin.
//! - [`hda_live`]: a live codec answering every GET verb with bytes from the
//!   input, then the same.
//! - [`hda_pins`] and [`uac_quirks`]: the pin-config and quirk override
//!   strings of the config file and the command line; [`config_file`]: the
//!   config file itself, whose accepted settings must print as TOML that
//!   reads back the same.
//! - [`uac_descriptors`]: a USB device's descriptor blob, and what the
//!   driver does with the model; [`uac_answers`]: a clock's RANGE answer and
//!   feedback packets; [`uac_controls`]: a device opened and asked through
//!   its control requests (clock rates, volume ranges, mutes, selectors).
//! - [`cuse_messages`]: a stream of messages from /dev/cuse, CUSE_INIT
//!   first, to the request loop.
//! - [`alsa_ioctls`] and [`oss_ioctls`]: a client's conversation with a
//!   card's nodes (ioctls in their CUSE rounds against the caller's memory,
//!   reads, writes, polls, reopens; 64-bit, i386 and x32 callers).
//!
//! The libFuzzer targets in `fuzz/libfuzzer/` call these;
//! `tests/corpus.rs` replays every file of `corpus/<target>/` through them
//! under `cargo test`, so CI runs what the fuzzer found.

use std::sync::{Arc, Mutex};

mod config;
mod cuse;
mod hda;
mod nodes;
pub mod seeds;
mod uac;

pub use config::config_file;
pub use cuse::cuse_messages;
pub use hda::{hda_dump, hda_live, hda_pins};
pub use nodes::{alsa_ioctls, oss_ioctls};
pub use uac::{uac_answers, uac_controls, uac_descriptors, uac_quirks};

/// A harness: bytes in; a panic is a finding.
pub type Harness = fn(&[u8]);

/// Every target, by the name of its corpus folder and libFuzzer target.
pub const TARGETS: &[(&str, Harness)] = &[
    ("hda_dump", hda_dump),
    ("hda_live", hda_live),
    ("hda_pins", hda_pins),
    ("uac_descriptors", uac_descriptors),
    ("uac_answers", uac_answers),
    ("uac_controls", uac_controls),
    ("uac_quirks", uac_quirks),
    ("config_file", config_file),
    ("cuse_messages", cuse_messages),
    ("oss_ioctls", oss_ioctls),
    ("alsa_ioctls", alsa_ioctls),
];

/// A cursor over the input: each read takes what is left (zeros past the
/// end), so every input is a valid script.
pub(crate) struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Input<'a> {
        Input { data }
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    pub(crate) fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, tail) = self.data.split_at(n.min(self.data.len()));
        self.data = tail;
        head
    }
    pub(crate) fn u8(&mut self) -> u8 {
        self.bytes(1).first().copied().unwrap_or(0)
    }
    pub(crate) fn u16(&mut self) -> u16 {
        let mut b = [0u8; 2];
        let got = self.bytes(2);
        b[..got.len()].copy_from_slice(got);
        u16::from_le_bytes(b)
    }
    pub(crate) fn u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        let got = self.bytes(4);
        b[..got.len()].copy_from_slice(got);
        u32::from_le_bytes(b)
    }
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        self.bytes(self.data.len())
    }
}

/// Lock a mutex even if a panic poisoned it (a finding is reported by the
/// panic itself, not by the next lock).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A shared value the fuzz doubles keep.
pub(crate) type Shared<T> = Arc<Mutex<T>>;
