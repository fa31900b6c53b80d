//! Per-device behaviour flags, kept as data: a table of (vendor, product)
//! -> flags, plus overrides a user gives as text (`vvvv:pppp:FLAGS`, the
//! same idea as snd-usb-audio's `quirk_flags` module parameter).
//!
//! The flag bits and names are Linux's `QUIRK_FLAG_*` (sound/usb/usbaudio.h),
//! so a quirk found for Linux can be carried over by number. The driver acts
//! on the flags that apply to it (see [`Quirks::APPLIED`]); the others are
//! accepted and reported but change nothing (there is no DSD path, no media
//! controller and no autosuspend in this driver).

use std::fmt;

use outboard_hal::usb::UsbId;

use crate::{Error, Result};

/// A set of quirk flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Quirks(pub u32);

macro_rules! flags {
    ($($(#[$doc:meta])* $name:ident = $bit:expr, $text:literal;)*) => {
        impl Quirks {
            $($(#[$doc])* pub const $name: Quirks = Quirks(1 << $bit);)*
            /// Every flag with its name (lower case, as overrides spell it).
            pub const NAMES: &'static [(&'static str, Quirks)] = &[$(($text, Quirks::$name)),*];
        }
    };
}

flags! {
    /// Do not read the sample rate back after setting it.
    GET_SAMPLE_RATE = 0, "get_sample_rate";
    SHARE_MEDIA_DEVICE = 1, "share_media_device";
    ALIGN_TRANSFER = 2, "align_transfer";
    TX_LENGTH = 3, "tx_length";
    /// Start playback before capture even with implicit feedback.
    PLAYBACK_FIRST = 4, "playback_first";
    /// Do not program clock selectors.
    SKIP_CLOCK_SELECTOR = 5, "skip_clock_selector";
    /// Do not trust the clock source's validity report.
    IGNORE_CLOCK_SOURCE = 6, "ignore_clock_source";
    ITF_USB_DSD_DAC = 7, "itf_usb_dsd_dac";
    /// Wait 20 ms after every control request.
    CTL_MSG_DELAY = 8, "ctl_msg_delay";
    /// Wait 1 ms after every control request.
    CTL_MSG_DELAY_1M = 9, "ctl_msg_delay_1m";
    /// Wait 5 ms after every control request.
    CTL_MSG_DELAY_5M = 10, "ctl_msg_delay_5m";
    /// Wait 50 ms after selecting an interface.
    IFACE_DELAY = 11, "iface_delay";
    VALIDATE_RATES = 12, "validate_rates";
    DISABLE_AUTOSUSPEND = 13, "disable_autosuspend";
    /// A failing control request is logged, not fatal.
    IGNORE_CTL_ERROR = 14, "ignore_ctl_error";
    DSD_RAW = 15, "dsd_raw";
    /// UAC2: select the alt setting before setting the rate (as UAC1 does).
    SET_IFACE_FIRST = 16, "set_iface_first";
    GENERIC_IMPLICIT_FB = 17, "generic_implicit_fb";
    SKIP_IMPLICIT_FB = 18, "skip_implicit_fb";
    IFACE_SKIP_CLOSE = 19, "iface_skip_close";
    /// Go through alt 0 whenever a stream restarts.
    FORCE_IFACE_RESET = 20, "force_iface_reset";
    /// Do not set the rate when the alt setting offers only one.
    FIXED_RATE = 21, "fixed_rate";
}

impl Quirks {
    /// The flags this driver acts on.
    pub const APPLIED: Quirks = Quirks(
        Quirks::GET_SAMPLE_RATE.0
            | Quirks::SKIP_CLOCK_SELECTOR.0
            | Quirks::IGNORE_CLOCK_SOURCE.0
            | Quirks::CTL_MSG_DELAY.0
            | Quirks::CTL_MSG_DELAY_1M.0
            | Quirks::CTL_MSG_DELAY_5M.0
            | Quirks::IFACE_DELAY.0
            | Quirks::IGNORE_CTL_ERROR.0
            | Quirks::SET_IFACE_FIRST.0
            | Quirks::FORCE_IFACE_RESET.0
            | Quirks::FIXED_RATE.0
            | Quirks::GENERIC_IMPLICIT_FB.0
            | Quirks::SKIP_IMPLICIT_FB.0,
    );

    pub const fn contains(self, other: Quirks) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }
    pub const fn union(self, other: Quirks) -> Quirks {
        Quirks(self.0 | other.0)
    }

    /// The delay after a control request the flags ask for.
    pub fn control_delay(self) -> std::time::Duration {
        let ms = if self.contains(Quirks::CTL_MSG_DELAY) {
            20
        } else if self.contains(Quirks::CTL_MSG_DELAY_5M) {
            5
        } else if self.contains(Quirks::CTL_MSG_DELAY_1M) {
            1
        } else {
            0
        };
        std::time::Duration::from_millis(ms)
    }
}

impl fmt::Display for Quirks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Quirks::NAMES.iter().filter(|(_, q)| self.contains(*q)).map(|(n, _)| *n).collect();
        let known = Quirks::NAMES.iter().fold(0, |acc, (_, q)| acc | q.0);
        if names.is_empty() && self.0 & !known == 0 {
            return f.write_str("none");
        }
        f.write_str(&names.join("+"))?;
        if self.0 & !known != 0 {
            write!(f, "{}{:#x}", if names.is_empty() { "" } else { "+" }, self.0 & !known)?;
        }
        Ok(())
    }
}

/// One entry of the table: a vendor, optionally one product.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuirkEntry {
    pub vendor: u16,
    /// `None` matches every product of the vendor.
    pub product: Option<u16>,
    pub flags: Quirks,
    /// The device, and the symptom the flags work around.
    pub note: &'static str,
}

const fn device(vendor: u16, product: u16, flags: Quirks, note: &'static str) -> QuirkEntry {
    QuirkEntry { vendor, product: Some(product), flags, note }
}

/// Devices known to need flags. Entries from Linux's quirk_flags_table name
/// it; the others say what was seen.
pub const TABLE: &[QuirkEntry] = &[
    device(
        0x46f4,
        0x0002,
        Quirks::FIXED_RATE,
        "QEMU usb-audio: one rate and no sampling-frequency control; SET_CUR of the rate STALLs (seen on the bench)",
    ),
    device(
        0x0644,
        0x805f,
        Quirks::FORCE_IFACE_RESET,
        "TEAC Model 12 (Linux: stops after an xrun restart without a reset)",
    ),
    device(
        0x06f8,
        0xb000,
        Quirks::IGNORE_CTL_ERROR,
        "Hercules DJ Console, Windows edition (Linux: failing mixer controls)",
    ),
    device(0x2b53, 0x0031, Quirks::GENERIC_IMPLICIT_FB, "Fiero SC-01 firmware 1.1.0 (Linux: implicit feedback)"),
    device(
        0x0525,
        0xa4ad,
        Quirks::IFACE_SKIP_CLOSE,
        "Hamedal C20 USB camera (Linux: do not close the interface on rate change)",
    ),
    QuirkEntry {
        vendor: 0x045e,
        product: None,
        flags: Quirks::GET_SAMPLE_RATE,
        note: "Microsoft LifeCam cameras (Linux: reading the rate back fails)",
    },
];

/// A user's override: flags for a device, replacing the table's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuirkOverride {
    pub id: UsbId,
    pub flags: Quirks,
}

/// Parse overrides: comma-separated `vvvv:pppp:FLAGS`, FLAGS a number (hex
/// with 0x) or names joined by `+` (`46f4:0002:fixed_rate+get_sample_rate`).
pub fn parse_overrides(text: &str) -> Result<Vec<QuirkOverride>> {
    let mut out = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let bad = |why: &str| Error::Invalid(format!("USB quirk `{item}`: {why} (expected vvvv:pppp:FLAGS)"));
        let mut parts = item.splitn(3, ':');
        let (Some(v), Some(p), Some(f)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("missing fields"));
        };
        let id: UsbId = format!("{v}:{p}").parse().map_err(|_| bad("not a vendor:product id"))?;
        let flags = if let Some(hex) = f.strip_prefix("0x") {
            Quirks(u32::from_str_radix(hex, 16).map_err(|_| bad("bad hex number"))?)
        } else if f.chars().all(|c| c.is_ascii_digit()) {
            Quirks(f.parse().map_err(|_| bad("bad number"))?)
        } else {
            let mut q = Quirks::default();
            for name in f.split('+') {
                let name = name.trim().to_ascii_lowercase();
                let found = Quirks::NAMES
                    .iter()
                    .find(|(n, _)| *n == name)
                    .ok_or_else(|| bad(&format!("unknown flag `{name}`")))?;
                q = q.union(found.1);
            }
            q
        };
        out.push(QuirkOverride { id, flags });
    }
    Ok(out)
}

/// The flags for a device: an override if one names it, else the table's
/// product entry, else its vendor entry.
pub fn lookup(id: UsbId, overrides: &[QuirkOverride]) -> Quirks {
    if let Some(o) = overrides.iter().find(|o| o.id == id) {
        return o.flags;
    }
    let exact = TABLE.iter().find(|e| e.vendor == id.vendor && e.product == Some(id.product));
    let vendor = TABLE.iter().find(|e| e.vendor == id.vendor && e.product.is_none());
    exact.or(vendor).map(|e| e.flags).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_numbers_are_linuxs() {
        // sound/usb/usbaudio.h: QUIRK_FLAG_GET_SAMPLE_RATE (1U << 0) ... QUIRK_FLAG_FIXED_RATE (1U << 21).
        assert_eq!(Quirks::GET_SAMPLE_RATE.0, 1);
        assert_eq!(Quirks::IGNORE_CTL_ERROR.0, 1 << 14);
        assert_eq!(Quirks::FIXED_RATE.0, 1 << 21);
        assert_eq!(Quirks::NAMES.len(), 22);
    }

    #[test]
    fn table_and_overrides() {
        let qemu = UsbId { vendor: 0x46f4, product: 2 };
        assert_eq!(lookup(qemu, &[]), Quirks::FIXED_RATE);
        assert_eq!(lookup(UsbId { vendor: 0x045e, product: 0x0772 }, &[]), Quirks::GET_SAMPLE_RATE);
        assert_eq!(lookup(UsbId { vendor: 0x1234, product: 1 }, &[]), Quirks::default());
        let o = parse_overrides("46f4:0002:get_sample_rate+ctl_msg_delay, 1234:0001:0x4000").unwrap();
        assert_eq!(lookup(qemu, &o), Quirks(Quirks::GET_SAMPLE_RATE.0 | Quirks::CTL_MSG_DELAY.0));
        assert_eq!(lookup(UsbId { vendor: 0x1234, product: 1 }, &o), Quirks::IGNORE_CTL_ERROR);
        assert_eq!(Quirks(Quirks::FIXED_RATE.0 | 1 << 30).to_string(), "fixed_rate+0x40000000");
        for bad in ["46f4:0002", "46f4:2:fixed_rate", "46f4:0002:nonsense", "46f4:0002:0xzz"] {
            let e = parse_overrides(bad).unwrap_err().to_string();
            assert!(e.contains(bad), "{e}");
        }
    }
}
