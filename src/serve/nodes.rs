//! Which OSS nodes each served device gets.
//!
//! The first device is the default: /dev/dsp, /dev/audio, /dev/mixer (and
//! /dev/sndstat lists every device). With several devices, or a device whose
//! number the config pins, each also gets /dev/dspN, /dev/audioN and
//! /dev/mixerN: N is the pinned number, else the lowest one no other device
//! has pinned, in the order the devices were given. Another base name than
//! `dsp` (`--name x`) gives /dev/x, /dev/audio-x, /dev/mixer-x and no sndstat.

/// One device's nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeSet {
    /// Index of the device served.
    pub card: usize,
    pub dsp: String,
    pub audio: String,
    pub mixer: String,
    /// The unnumbered default set.
    pub default: bool,
}

/// Every node set, in the order the OSS info ioctls number them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub sets: Vec<NodeSet>,
    pub sndstat: bool,
}

impl Plan {
    /// (card, path) of every audio node: each set's dsp then its audio node.
    pub fn audio_paths(&self) -> Vec<(usize, String)> {
        self.sets
            .iter()
            .flat_map(|s| [(s.card, format!("/dev/{}", s.dsp)), (s.card, format!("/dev/{}", s.audio))])
            .collect()
    }
    /// (card, path) of every mixer node.
    pub fn mixer_paths(&self) -> Vec<(usize, String)> {
        self.sets.iter().map(|s| (s.card, format!("/dev/{}", s.mixer))).collect()
    }
}

/// The nodes of devices whose pinned numbers are `numbers` (one entry per
/// device), under base name `name`.
pub fn plan(name: &str, numbers: &[Option<u32>]) -> Plan {
    let audio = if name == "dsp" { "audio".to_string() } else { format!("audio-{name}") };
    let mixer = if name == "dsp" { "mixer".to_string() } else { format!("mixer-{name}") };
    let numbered = numbers.len() > 1 || numbers.iter().any(Option::is_some);
    let pinned: Vec<u32> = numbers.iter().flatten().copied().collect();
    let mut free = (0u32..).filter(|n| !pinned.contains(n));
    let mut sets = Vec::new();
    for (card, pin) in numbers.iter().enumerate() {
        if card == 0 {
            sets.push(NodeSet {
                card,
                dsp: name.to_string(),
                audio: audio.clone(),
                mixer: mixer.clone(),
                default: true,
            });
        }
        if numbered {
            let n = pin.unwrap_or_else(|| free.next().unwrap_or(0));
            sets.push(NodeSet {
                card,
                dsp: format!("{name}{n}"),
                audio: format!("{audio}{n}"),
                mixer: format!("{mixer}{n}"),
                default: false,
            });
        }
    }
    Plan { sets, sndstat: name == "dsp" }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dsps(p: &Plan) -> Vec<(usize, &str)> {
        p.sets.iter().map(|s| (s.card, s.dsp.as_str())).collect()
    }

    #[test]
    fn one_device_gets_the_plain_nodes() {
        let p = plan("dsp", &[None]);
        assert_eq!(dsps(&p), [(0, "dsp")]);
        assert_eq!((p.sets[0].audio.as_str(), p.sets[0].mixer.as_str(), p.sndstat), ("audio", "mixer", true));
        assert_eq!(p.audio_paths(), [(0, "/dev/dsp".to_string()), (0, "/dev/audio".to_string())]);
    }

    #[test]
    fn several_devices_are_numbered_around_the_pinned_numbers() {
        assert_eq!(dsps(&plan("dsp", &[None, None])), [(0, "dsp"), (0, "dsp0"), (1, "dsp1")]);
        assert_eq!(dsps(&plan("dsp", &[None, Some(0), None])), [(0, "dsp"), (0, "dsp1"), (1, "dsp0"), (2, "dsp2")]);
        assert_eq!(dsps(&plan("dsp", &[Some(5)])), [(0, "dsp"), (0, "dsp5")]);
    }

    #[test]
    fn another_base_name_has_no_sndstat() {
        let p = plan("x", &[None]);
        assert_eq!((p.sets[0].audio.as_str(), p.sets[0].mixer.as_str(), p.sndstat), ("audio-x", "mixer-x", false));
    }
}
