//! Codec dumps in the `/proc/asound/card*/codec#*` text format (placeholder;
//! being written).

use super::Codec;

/// Parse every codec in `text` (a bare codec dump, or an alsa-info report
/// holding several).
pub fn parse_dumps(_text: &str) -> Vec<Codec> {
    Vec::new()
}
