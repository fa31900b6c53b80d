//! The card's mixer elements, named as Linux's drivers name them and acting
//! on the device's own controls ([`HwControls`]: HDA amplifiers, USB
//! feature and selector units) and on the mixer's master gain:
//!
//! | element | type | acts on |
//! |---|---|---|
//! | Master Playback Volume | integer per side, the control's steps, dB scale | the device's output volume |
//! | Master Playback Switch | boolean per side | its mute (when it has one) |
//! | Headphone / Speaker / Line Out ... Playback Volume and Switch | as Master | each output's own amplifier, under Master (Linux's vmaster: an output plays at its level plus Master's offset from its top); only with several outputs |
//! | PCM Playback Volume | integer 0-255, -63.75 to 0 dB, 0 mutes | the mixer's master gain |
//! | Capture Volume / Capture Switch | as Master | the capture gain |
//! | Input Source | enumerated | the capture source selector |
//! | Auto-Mute Mode | enumerated: Disabled, Enabled | whether plugged-in headphones silence the speaker (with a sensing headphone jack and a speaker) |
//! | Playback Channel Map, Capture Channel Map | integers (8), read-only, PCM interface, with the maps (TLV) | the positions the mixer gives each channel count |
//! | Headphone Jack, Mic Jack, Line Out Phantom Jack, ... | boolean, read-only, card interface | the device's jack sensing |
//!
//! A change through /dev/mixer shows here and the other way round: both
//! read the hardware; and through the daemon's shared, watched controls
//! (`outboard_mixer::hw::Watched`) a change made there is an event here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use outboard_mixer::chmap::{layout, Position};
use outboard_mixer::engine::Engine;
use outboard_mixer::hw::{Change, Gain, GainRange, HwControls, Side};

/// SNDRV_CTL_ELEM_TYPE_*.
pub const TYPE_BOOLEAN: i32 = 1;
pub const TYPE_INTEGER: i32 = 2;
pub const TYPE_ENUMERATED: i32 = 3;
/// SNDRV_CTL_ELEM_IFACE_CARD and _MIXER.
pub const IFACE_CARD: i32 = 0;
pub const IFACE_MIXER: i32 = 2;
pub const IFACE_PCM: i32 = 3;
/// SNDRV_CTL_ELEM_ACCESS_READ, READ | WRITE, and TLV_READ.
pub const ACCESS_READ: u32 = 0x1;
pub const ACCESS_RW: u32 = 0x3;
/// SNDRV_CTL_ELEM_ACCESS_VOLATILE and TLV_CALLBACK (the channel maps').
const ACCESS_VOLATILE: u32 = 0x4;
const ACCESS_TLV_CALLBACK: u32 = 1 << 28;
pub const ACCESS_TLV_READ: u32 = 0x10;
/// SNDRV_CTL_TLVT_DB_SCALE and its mute flag.
const TLVT_DB_SCALE: u32 = 1;
/// SNDRV_CTL_TLVT_CONTAINER and SNDRV_CTL_TLVT_CHMAP_FIXED.
const TLVT_CONTAINER: u32 = 0;
const TLVT_CHMAP_FIXED: u32 = 0x101;
/// The channel map elements' values: channels 1-8, positions up to
/// SNDRV_CHMAP_LAST.
const CHMAP_CHANNELS: u32 = 8;
const CHMAP_LAST: i64 = 36;
const DB_SCALE_MUTE: u32 = 0x1_0000;

/// The PCM volume's grid: 256 steps of 0.25 dB, the top at 0 dB.
const PCM_STEPS: i64 = 255;
const PCM_STEP_DB: f64 = 0.25;

/// What an element is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum What {
    Volume(Gain),
    Switch(Gain),
    Pcm,
    Source,
    /// The device's jack of this index (in `HwControls::jacks` order).
    Jack(usize),
    /// The channel maps of PCM device 0's playback (true) or capture.
    Chmap(bool),
    /// "Auto-Mute Mode": Disabled, Enabled.
    AutoMute,
}

/// The Auto-Mute Mode items, as Linux's generic HDA parser has them for a
/// codec that mutes its speaker only.
const AUTOMUTE_ITEMS: [&str; 2] = ["Disabled", "Enabled"];

/// SNDRV_CHMAP_* of a mixer channel position; mono is MONO (the mixer
/// spreads it to both fronts).
fn chmap_position(p: Position, channels: usize) -> u32 {
    if channels == 1 {
        return 2; // MONO
    }
    match p {
        Position::FrontLeft => 3,
        Position::FrontRight => 4,
        Position::RearLeft => 5,
        Position::RearRight => 6,
        Position::FrontCenter => 7,
        Position::Lfe => 8,
        Position::SideLeft => 9,
        Position::SideRight => 10,
    }
}

/// One element.
#[derive(Clone, Debug)]
pub struct Element {
    /// 1-based.
    pub numid: u32,
    /// SNDRV_CTL_ELEM_IFACE_*.
    pub iface: i32,
    pub name: String,
    /// Which of the elements with this interface and name.
    pub index: u32,
    what: What,
    /// Values per channel.
    pub count: u32,
    range: Option<GainRange>,
}

/// An element's type and limits, as ELEM_INFO gives them.
#[derive(Clone, Debug, PartialEq)]
pub enum Info {
    Boolean { count: u32 },
    Integer { count: u32, min: i64, max: i64, step: i64 },
    Enumerated { items: Vec<String> },
}

/// The elements of one card.
pub struct Elements {
    list: Vec<Element>,
    hw: Option<Arc<dyn HwControls>>,
    engine: Arc<Engine>,
    /// The volume steps last set or seen per gain, kept while a side is
    /// muted (the hardware answers "muted", not the level under it).
    kept: Mutex<HashMap<Gain, [i64; 2]>>,
}

impl Elements {
    /// The elements a change of the device's controls acts on.
    pub fn touched_by(&self, change: Change) -> impl Iterator<Item = &Element> {
        self.list.iter().filter(move |e| match (e.what, change) {
            (What::Volume(g) | What::Switch(g), Change::Gain(c)) => g == c,
            (What::Source, Change::Source) => true,
            (What::Jack(_), Change::Jacks) => true,
            (What::AutoMute, Change::AutoMute) => true,
            _ => false,
        })
    }

    pub fn new(engine: Arc<Engine>, hw: Option<Arc<dyn HwControls>>) -> Elements {
        let mut list = Vec::new();
        let mut add = |name: &str, index: u32, what: What, count: u32, range: Option<GainRange>| {
            let numid = list.len() as u32 + 1;
            list.push(Element { numid, iface: IFACE_MIXER, name: name.to_string(), index, what, count, range });
        };
        if let Some(hw) = &hw {
            // Master, then each output's own volume under it (Linux's
            // vmaster followers: "Headphone", "Speaker"...), then Capture.
            let mut gains = vec![(Gain::Output, "Master Playback".to_string(), 0)];
            for (k, port) in hw.output_ports().into_iter().enumerate() {
                gains.push((Gain::Port(k as u8), format!("{} Playback", port.label), port.index));
            }
            gains.push((Gain::Capture, "Capture".to_string(), 0));
            for (gain, prefix, index) in gains {
                if let Some(r) = hw.gain_range(gain) {
                    let count = if r.stereo { 2 } else { 1 };
                    let vol = if gain == Gain::Capture { "Capture Volume".into() } else { format!("{prefix} Volume") };
                    add(&vol, index, What::Volume(gain), count, Some(r));
                    if r.can_mute {
                        add(&format!("{prefix} Switch"), index, What::Switch(gain), count, Some(r));
                    }
                }
            }
        }
        add("PCM Playback Volume", 0, What::Pcm, 1, None);
        if hw.as_ref().is_some_and(|h| h.sources().len() > 1) {
            add("Input Source", 0, What::Source, 1, None);
        }
        if hw.as_ref().is_some_and(|h| h.can_automute()) {
            add("Auto-Mute Mode", 0, What::AutoMute, 1, None);
        }
        // The channel maps, as the kernel's PCM layer adds them.
        for (playback, name) in [(true, "Playback Channel Map"), (false, "Capture Channel Map")] {
            let has = if playback { engine.playback_config().is_some() } else { engine.capture_config().is_some() };
            if has {
                let numid = list.len() as u32 + 1;
                let what = What::Chmap(playback);
                let (iface, count) = (IFACE_PCM, CHMAP_CHANNELS);
                list.push(Element { numid, iface, name: name.into(), index: 0, what, count, range: None });
            }
        }
        // Jacks, as the kernel's jack controls: "<label> Jack", card
        // interface, read-only booleans.
        for (i, jack) in hw.as_ref().map(|h| h.jacks()).unwrap_or_default().into_iter().enumerate() {
            let numid = list.len() as u32 + 1;
            let name = format!("{} Jack", jack.label);
            list.push(Element {
                numid,
                iface: IFACE_CARD,
                name,
                index: jack.index,
                what: What::Jack(i),
                count: 1,
                range: None,
            });
        }
        let kept = Mutex::new(HashMap::new());
        Elements { list, hw, engine, kept }
    }

    /// A channel map element's values for a stream of `channels` (the
    /// mixer's positions for that count, then zeros); `None` for another
    /// element, or a count the mixer does not take.
    pub fn chmap_values(&self, e: &Element, channels: u32) -> Option<Vec<i64>> {
        let What::Chmap(_) = e.what else { return None };
        let n = channels as usize;
        let mut out: Vec<i64> = layout(n)?.iter().map(|p| i64::from(chmap_position(*p, n))).collect();
        out.resize(CHMAP_CHANNELS as usize, 0);
        Some(out)
    }

    /// Which direction a channel map element describes (true: playback).
    pub fn chmap_of(&self, e: &Element) -> Option<bool> {
        match e.what {
            What::Chmap(playback) => Some(playback),
            _ => None,
        }
    }

    /// The element on the mixer's master gain (PCM Playback Volume).
    pub fn master_gain(&self) -> Option<&Element> {
        self.list.iter().find(|e| e.what == What::Pcm)
    }

    pub fn list(&self) -> &[Element] {
        &self.list
    }

    /// By numid, or (numid 0) by interface, name and index.
    pub fn find(&self, numid: u32, iface: i32, name: &str, index: u32) -> Option<&Element> {
        if numid != 0 {
            self.list.iter().find(|e| e.numid == numid)
        } else {
            self.list.iter().find(|e| e.iface == iface && e.name == name && e.index == index)
        }
    }

    /// SNDRV_CTL_ELEM_ACCESS_* of an element.
    pub fn access(&self, e: &Element) -> u32 {
        match e.what {
            What::Jack(_) => ACCESS_READ,
            What::Chmap(_) => ACCESS_READ | ACCESS_VOLATILE | ACCESS_TLV_READ | ACCESS_TLV_CALLBACK,
            _ => ACCESS_RW | if self.tlv(e).is_some() { ACCESS_TLV_READ } else { 0 },
        }
    }

    pub fn info(&self, e: &Element) -> Info {
        match e.what {
            What::Volume(_) => {
                let r = e.range.map_or(0, |r| i64::from(r.steps));
                Info::Integer { count: e.count, min: 0, max: r, step: 1 }
            }
            What::Switch(_) | What::Jack(_) => Info::Boolean { count: e.count },
            What::Pcm => Info::Integer { count: 1, min: 0, max: PCM_STEPS, step: 1 },
            What::Chmap(_) => Info::Integer { count: CHMAP_CHANNELS, min: 0, max: CHMAP_LAST, step: 0 },
            What::Source => Info::Enumerated {
                items: self.hw.as_ref().map(|h| h.sources().into_iter().map(|s| s.name).collect()).unwrap_or_default(),
            },
            What::AutoMute => Info::Enumerated { items: AUTOMUTE_ITEMS.iter().map(|s| s.to_string()).collect() },
        }
    }

    /// The dB scale (TLV) of an element that has one: DB_SCALE, min and step
    /// in 0.01 dB, with the mute flag when the lowest step is silence.
    pub fn tlv(&self, e: &Element) -> Option<Vec<u8>> {
        let words = |words: &[u32]| words.iter().flat_map(|w| w.to_le_bytes()).collect::<Vec<u8>>();
        if let What::Chmap(_) = e.what {
            // A container of one fixed map per channel count the node takes.
            let mut maps = Vec::new();
            for n in 1..=CHMAP_CHANNELS as usize {
                let positions: Vec<u32> = layout(n)?.iter().map(|p| chmap_position(*p, n)).collect();
                maps.extend(words(&[TLVT_CHMAP_FIXED, 4 * n as u32]));
                maps.extend(words(&positions));
            }
            let mut out = words(&[TLVT_CONTAINER, maps.len() as u32]);
            out.extend(maps);
            return Some(out);
        }
        let (min_db, step_db, mute) = match e.what {
            What::Volume(_) => {
                let r = e.range?;
                (r.min_db, r.step_db, !r.can_mute)
            }
            What::Pcm => (-(PCM_STEPS as f64) * PCM_STEP_DB, PCM_STEP_DB, true),
            _ => return None,
        };
        let min = (min_db * 100.0).round() as i32;
        let step = ((step_db * 100.0).round() as u32).min(0xffff) | if mute { DB_SCALE_MUTE } else { 0 };
        let mut out = Vec::with_capacity(16);
        for w in [TLVT_DB_SCALE, 8, min as u32, step] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        Some(out)
    }

    fn sides(&self, g: Gain) -> Result<[Side; 2], String> {
        self.hw.as_ref().ok_or("no hardware controls")?.gain(g)
    }

    /// The element's values (integers, booleans as 0/1, the item index).
    pub fn read(&self, e: &Element) -> Result<Vec<i64>, String> {
        match e.what {
            What::Volume(g) => {
                let r = e.range.ok_or("no range")?;
                let sides = self.sides(g)?;
                let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
                let kept = kept.entry(g).or_insert([i64::MAX; 2]);
                let mut out = Vec::new();
                for (i, side) in sides.iter().enumerate().take(e.count as usize) {
                    let step = match side {
                        Some(db) => i64::from(r.step_of(*db)),
                        None if kept[i] != i64::MAX => kept[i],
                        None => i64::from(r.steps),
                    };
                    kept[i] = step;
                    out.push(step);
                }
                Ok(out)
            }
            What::Switch(g) => {
                Ok(self.sides(g)?.iter().take(e.count as usize).map(|s| i64::from(s.is_some())).collect())
            }
            What::Pcm => {
                let gain = f64::from(self.engine.master_gain());
                let step = if gain <= 0.0 {
                    0
                } else {
                    (PCM_STEPS as f64 + (20.0 * gain.log10()) / PCM_STEP_DB).round().clamp(0.0, PCM_STEPS as f64) as i64
                };
                Ok(vec![step])
            }
            What::Source => {
                let sel = self.hw.as_ref().ok_or("no hardware controls")?.selected_source()?;
                Ok(vec![sel.unwrap_or(0) as i64])
            }
            What::AutoMute => Ok(vec![i64::from(self.hw.as_ref().ok_or("no hardware controls")?.automute()?)]),
            // No stream: the kernel's "no channels set" (the control node
            // answers a process with a stream of its own with that one's:
            // `chmap_values`).
            What::Chmap(_) => Ok(vec![0; CHMAP_CHANNELS as usize]),
            What::Jack(i) => {
                let present = self.hw.as_ref().ok_or("no hardware controls")?.jacks_present()?;
                Ok(vec![i64::from(present.get(i).copied().ok_or("the device no longer reports this jack")?)])
            }
        }
    }

    /// Set the element's values; returns whether anything changed. A value
    /// out of the element's range is EINVAL (as the kernel's checks).
    pub fn write(&self, e: &Element, values: &[i64]) -> Result<bool, WriteError> {
        if self.access(e) & ACCESS_RW != ACCESS_RW {
            return Err(WriteError::ReadOnly);
        }
        let before = self.read(e).map_err(WriteError::Device)?;
        let values = &values[..(e.count as usize).min(values.len())];
        let in_range = match (e.what, self.info(e)) {
            (What::Volume(_) | What::Pcm, Info::Integer { max, .. }) => values.iter().all(|v| (0..=max).contains(v)),
            (What::Switch(_), _) => values.iter().all(|v| (0..=1).contains(v)),
            (What::Source | What::AutoMute, Info::Enumerated { items }) => {
                values.first().is_none_or(|v| (0..items.len() as i64).contains(v))
            }
            _ => true,
        };
        if !in_range {
            return Err(WriteError::Range);
        }
        if values == &before[..values.len()] {
            return Ok(false);
        }
        let dev = |r: Result<(), String>| r.map_err(WriteError::Device);
        match e.what {
            What::Volume(g) => {
                let r = e.range.ok_or(WriteError::Range)?;
                let sides = self.sides(g).map_err(WriteError::Device)?;
                let mut guard = self.kept.lock().unwrap_or_else(|p| p.into_inner());
                let kept = guard.entry(g).or_insert([i64::MAX; 2]);
                let mut new: [Side; 2] = sides;
                for i in 0..2 {
                    let v = values.get(i).or(values.first()).copied().unwrap_or(0);
                    kept[i] = v;
                    // A muted side stays muted; its level is kept for the unmute.
                    if sides[i].is_some() {
                        new[i] = Some(r.db(v as u32));
                    }
                }
                drop(guard);
                dev(self.hw.as_ref().ok_or(WriteError::Range)?.set_gain(g, new))?;
            }
            What::Switch(g) => {
                let vol = self.list.iter().find(|x| x.what == What::Volume(g)).ok_or(WriteError::Range)?;
                let steps = self.read(vol).map_err(WriteError::Device)?;
                let r = vol.range.ok_or(WriteError::Range)?;
                let mut new: [Side; 2] = [None, None];
                for (i, slot) in new.iter_mut().enumerate() {
                    let on = values.get(i).or(values.first()).copied().unwrap_or(0) != 0;
                    let step = steps.get(i).or(steps.first()).copied().unwrap_or(0);
                    *slot = on.then(|| r.db(step as u32));
                }
                dev(self.hw.as_ref().ok_or(WriteError::Range)?.set_gain(g, new))?;
            }
            What::Pcm => {
                let v = values.first().copied().unwrap_or(PCM_STEPS);
                let gain = if v == 0 { 0.0 } else { 10f64.powf((v - PCM_STEPS) as f64 * PCM_STEP_DB / 20.0) };
                self.engine.set_master_gain(gain as f32);
            }
            What::Source => {
                let v = values.first().copied().unwrap_or(0);
                dev(self.hw.as_ref().ok_or(WriteError::Range)?.select_source(v as usize))?;
            }
            What::AutoMute => {
                let on = values.first().copied().unwrap_or(0) != 0;
                dev(self.hw.as_ref().ok_or(WriteError::Range)?.set_automute(on))?;
            }
            What::Jack(_) | What::Chmap(_) => return Err(WriteError::ReadOnly),
        }
        Ok(true)
    }
}

/// Why a write was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteError {
    /// A value outside the element's range (EINVAL).
    Range,
    /// The element cannot be written (EPERM, as the kernel answers).
    ReadOnly,
    /// The device refused (EIO); the message is for the log.
    Device(String),
}
