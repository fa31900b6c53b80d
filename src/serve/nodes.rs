//! Which OSS nodes each served device gets.
//!
//! The first device is the default: /dev/dsp, /dev/audio, /dev/mixer (and
//! /dev/sndstat lists every device). With several devices, or a device whose
//! number the config pins, each also gets /dev/dspN, /dev/audioN and
//! /dev/mixerN: N is the pinned number, else the lowest one no other device
//! has pinned, in the order the devices were given; a device whose config
//! names its nodes (`node = "usb"`) gets /dev/usb, /dev/audio-usb,
//! /dev/mixer-usb instead. Another base name than `dsp` (`--name x`) gives
//! /dev/x, /dev/audio-x, /dev/mixer-x and no sndstat.

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

/// What the config asks of one device's nodes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Wish {
    /// Pinned N of /dev/dspN...
    pub number: Option<u32>,
    /// Its own base name instead of a number.
    pub node: Option<String>,
}

/// The audio and mixer nodes beside base name `name`.
fn companions(name: &str) -> (String, String) {
    if name == "dsp" {
        ("audio".to_string(), "mixer".to_string())
    } else {
        (format!("audio-{name}"), format!("mixer-{name}"))
    }
}

/// The nodes of the devices `wishes` (one entry per device served, in
/// order), under base name `name`.
pub fn plan(name: &str, wishes: &[Wish]) -> Plan {
    let (audio, mixer) = companions(name);
    let numbered = wishes.len() > 1 || wishes.iter().any(|w| w.number.is_some());
    let pinned: Vec<u32> = wishes.iter().filter_map(|w| w.number).collect();
    let mut free = (0u32..).filter(|n| !pinned.contains(n));
    let mut sets = Vec::new();
    for (card, wish) in wishes.iter().enumerate() {
        if card == 0 {
            sets.push(NodeSet {
                card,
                dsp: name.to_string(),
                audio: audio.clone(),
                mixer: mixer.clone(),
                default: true,
            });
        }
        if let Some(own) = &wish.node {
            let (a, m) = companions(own);
            sets.push(NodeSet { card, dsp: own.clone(), audio: a, mixer: m, default: false });
        } else if numbered {
            let n = wish.number.unwrap_or_else(|| free.next().unwrap_or(0));
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

    fn pins(numbers: &[Option<u32>]) -> Vec<Wish> {
        numbers.iter().map(|n| Wish { number: *n, node: None }).collect()
    }

    #[test]
    fn one_device_gets_the_plain_nodes() {
        let p = plan("dsp", &pins(&[None]));
        assert_eq!(dsps(&p), [(0, "dsp")]);
        assert_eq!((p.sets[0].audio.as_str(), p.sets[0].mixer.as_str(), p.sndstat), ("audio", "mixer", true));
        assert_eq!(p.audio_paths(), [(0, "/dev/dsp".to_string()), (0, "/dev/audio".to_string())]);
    }

    #[test]
    fn several_devices_are_numbered_around_the_pinned_numbers() {
        assert_eq!(dsps(&plan("dsp", &pins(&[None, None]))), [(0, "dsp"), (0, "dsp0"), (1, "dsp1")]);
        assert_eq!(
            dsps(&plan("dsp", &pins(&[None, Some(0), None]))),
            [(0, "dsp"), (0, "dsp1"), (1, "dsp0"), (2, "dsp2")]
        );
        assert_eq!(dsps(&plan("dsp", &pins(&[Some(5)]))), [(0, "dsp"), (0, "dsp5")]);
    }

    #[test]
    fn a_named_device_gets_its_own_names() {
        let wishes = [Wish::default(), Wish { number: None, node: Some("usb".into()) }];
        let p = plan("dsp", &wishes);
        assert_eq!(dsps(&p), [(0, "dsp"), (0, "dsp0"), (1, "usb")]);
        assert_eq!((p.sets[2].audio.as_str(), p.sets[2].mixer.as_str()), ("audio-usb", "mixer-usb"));
    }

    #[test]
    fn another_base_name_has_no_sndstat() {
        let p = plan("x", &pins(&[None]));
        assert_eq!((p.sets[0].audio.as_str(), p.sets[0].mixer.as_str(), p.sndstat), ("audio-x", "mixer-x", false));
    }
}
