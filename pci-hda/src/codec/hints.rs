//! Codec hints: the knobs of Linux's generic parser that users set through
//! `hints` (sound/pci/hda/hda_generic.c `parse_user_hints`), and the
//! per-codec default the codec drivers set (the analog loopback mixer).

/// How the parser treats one codec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hints {
    /// The analog loopback ("aamix") mixer that output paths avoid, so that
    /// the record/loopback mix is not in the playback path (Linux's
    /// `mixer_nid`). `None`: the codec has none.
    pub mixer_nid: Option<u8>,
    /// With no line out and no more speakers than headphones, the headphone
    /// is the primary output (Linux's `primary_hp`, default on).
    pub primary_hp: bool,
    /// Input jacks may become surround outputs, so they count when DACs are
    /// handed out (Linux's `multi_io`, default on).
    pub multi_io: bool,
    /// The headphone should get a DAC of its own, playable independently
    /// (Linux's `indep_hp`, default off).
    pub indep_hp: bool,
    /// Plugging a headphone mutes the speakers (Linux's `auto_mute`), from
    /// the start ("Auto-Mute Mode" can change it while serving).
    pub auto_mute: bool,
    /// Plugging a mic records from it (Linux's `auto_mic`).
    pub auto_mic: bool,
    /// DACs the codec's driver pairs with pins, (pin, DAC) (Linux's
    /// `preferred_dacs`).
    pub preferred_dacs: Vec<(u8, u8)>,
}

impl Default for Hints {
    fn default() -> Hints {
        Hints {
            mixer_nid: None,
            primary_hp: true,
            multi_io: true,
            indep_hp: false,
            auto_mute: true,
            auto_mic: true,
            preferred_dacs: Vec::new(),
        }
    }
}

/// The loopback mixer Linux's codec driver names for a codec (the
/// `mixer_nid` its patch_*.c sets), when that node is a mixer.
pub fn default_mixer_nid(codec: &super::Codec) -> Option<u8> {
    let id = codec.vendor_id;
    let candidate = match id >> 16 {
        // Realtek: 0x0b on most; ALC260 0x07; ALC861 0x15; ALC267/268/680
        // have none (patch_realtek.c `alc_alloc_spec` callers).
        0x10ec => match id & 0xffff {
            0x0260 => Some(0x07),
            0x0861 => Some(0x15),
            0x0267 | 0x0268 | 0x0680 => None,
            _ => Some(0x0b),
        },
        // IDT/SigmaTel (patch_sigmatel.c): 92HD73xx 0x1d, 92HD71Bxx 0x17,
        // 92HD83xxx and the 92HD8x/9x family 0x1b.
        0x111d | 0x8384 => match id & 0xfff0 {
            0x7670 | 0x7680 => Some(0x1d),
            0x76b0 => Some(0x17),
            _ => Some(0x1b),
        },
        // VIA (patch_via.c): VT1708 0x17, VT1709 0x18, VT1708B/S and VT1716S
        // 0x16, VT1702 0x1a, the newer ones 0x21.
        0x1106 => match id & 0xffff {
            0x1708..=0x170b => Some(0x17),
            0xe710..=0xe717 => Some(0x18),
            0xe720..=0xe727 | 0x0433 | 0xa721 => Some(0x16),
            d if d & 0xfff == 0x397 => Some(0x16),
            d if d & 0xfff == 0x398 => Some(0x1a),
            _ => Some(0x21),
        },
        // Analog Devices (patch_analog.c): AD1981/AD1983 0x0e, AD1986A 0x07,
        // AD1882/AD1884/AD1984/AD1988 0x20.
        0x11d4 => match id & 0xffff {
            0x1981 | 0x1983 => Some(0x0e),
            0x1986 => Some(0x07),
            _ => Some(0x20),
        },
        // Conexant CX20549 (5045) 0x17; the others have none.
        0x14f1 if id & 0xffff == 0x5045 => Some(0x17),
        _ => None,
    };
    candidate.filter(|&nid| codec.node(nid).is_some_and(|n| n.kind() == super::WidgetKind::Mixer))
}

impl Hints {
    /// Linux's defaults for `codec`.
    pub fn for_codec(codec: &super::Codec) -> Hints {
        // AD1986A cannot share a stream between pins: patch_analog.c gives
        // it fixed pin/DAC pairs.
        let preferred_dacs = if codec.vendor_id == 0x11d4_1986 {
            vec![(0x1a, 0x03), (0x1b, 0x03), (0x1c, 0x04), (0x1d, 0x05), (0x1e, 0x03)]
        } else {
            Vec::new()
        };
        Hints { mixer_nid: default_mixer_nid(codec), preferred_dacs, ..Hints::default() }
    }
}

/// Hints a user sets (the config file's `hints` table; Linux's `hints`
/// sysfs file / patch `[hint]` section): each one given replaces the
/// codec's default.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HintSettings {
    /// The loopback mixer's node; 0 for none.
    pub mixer_nid: Option<u8>,
    pub primary_hp: Option<bool>,
    pub multi_io: Option<bool>,
    pub indep_hp: Option<bool>,
    pub auto_mute: Option<bool>,
    pub auto_mic: Option<bool>,
}

impl HintSettings {
    /// `hints` with these settings laid over.
    pub fn apply(&self, mut hints: Hints) -> Hints {
        if let Some(nid) = self.mixer_nid {
            hints.mixer_nid = Some(nid).filter(|&n| n != 0);
        }
        let set = |v: Option<bool>, field: &mut bool| {
            if let Some(v) = v {
                *field = v;
            }
        };
        set(self.primary_hp, &mut hints.primary_hp);
        set(self.multi_io, &mut hints.multi_io);
        set(self.indep_hp, &mut hints.indep_hp);
        set(self.auto_mute, &mut hints.auto_mute);
        set(self.auto_mic, &mut hints.auto_mic);
        hints
    }
    /// The settings given, as config-file lines (`key = value`).
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(n) = self.mixer_nid {
            out.push(format!("mixer_nid = {n:#04x}"));
        }
        for (key, v) in [
            ("primary_hp", self.primary_hp),
            ("multi_io", self.multi_io),
            ("indep_hp", self.indep_hp),
            ("auto_mute", self.auto_mute),
            ("auto_mic", self.auto_mic),
        ] {
            if let Some(v) = v {
                out.push(format!("{key} = {v}"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_replace_only_what_they_give() {
        let defaults = Hints { mixer_nid: Some(0x0b), ..Hints::default() };
        let none = HintSettings::default();
        assert_eq!(none.apply(defaults.clone()), defaults);
        let s = HintSettings { mixer_nid: Some(0), indep_hp: Some(true), auto_mute: Some(false), ..none };
        let h = s.apply(defaults);
        assert_eq!((h.mixer_nid, h.indep_hp, h.auto_mute, h.primary_hp), (None, true, false, true));
        assert_eq!(s.lines(), vec!["mixer_nid = 0x00", "indep_hp = true", "auto_mute = false"]);
    }
}
