//! A card as ALSA programs see it: its number, names, and the engine whose
//! playback and capture its PCM device 0 serves.

use std::sync::Arc;

use outboard_mixer::engine::Engine;
use outboard_mixer::hw::HwControls;

/// The driver name CARD_INFO reports. alsa-lib loads
/// `cards/<driver>.conf` for a card and, for the drivers it knows
/// (HDA-Intel, USB-Audio...), routes `default` through dmix, which needs
/// mmap; a name it does not know sends `default` to plug -> hw, which works
/// over read/write.
pub const DRIVER: &str = "Outboard";

/// One card.
#[derive(Clone)]
pub struct Card {
    /// N of /dev/snd/controlCN (0-31).
    pub number: u32,
    /// `hw:ID` names it too (alsa-lib's card id: letters and digits).
    pub id: String,
    /// What the device is ("0000:00:1b.0", "usb 1-1 46f4:0002").
    pub name: String,
    pub engine: Arc<Engine>,
    /// The device's own controls, for the mixer elements.
    pub hw: Option<Arc<dyn HwControls>>,
}

impl Card {
    pub fn has_playback(&self) -> bool {
        self.engine.playback_config().is_some()
    }
    pub fn has_capture(&self) -> bool {
        self.engine.capture_config().is_some()
    }
    pub fn long_name(&self) -> String {
        format!("Outboard {} at {}", self.id, self.name)
    }
}

/// An alsa-lib card id from a device's name: letters and digits only, at
/// most 15, starting with a letter ("Outboard" when nothing is left).
pub fn card_id(hint: &str) -> String {
    let mut id: String = hint.chars().filter(|c| c.is_ascii_alphanumeric()).take(15).collect();
    if !id.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
        id = format!("Ob{id}");
        id.truncate(15);
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_ids_are_what_alsa_lib_accepts() {
        assert_eq!(card_id("Onboard HDA"), "OnboardHDA");
        assert_eq!(card_id("0000:00:1b.0"), "Ob0000001b0");
        assert_eq!(card_id("a very long name that goes on"), "averylongnameth");
        assert_eq!(card_id(""), "Ob");
    }
}
