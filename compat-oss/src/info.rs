//! What OSS 4's device-discovery ioctls report (SNDCTL_SYSINFO,
//! SNDCTL_AUDIOINFO / _EX, SNDCTL_ENGINEINFO, SNDCTL_CARDINFO,
//! SNDCTL_MIXERINFO, SNDCTL_MIX_NRMIX / NREXT, and OSS 3's SOUND_MIXER_INFO):
//! the daemon's devices ("cards"), the audio nodes and mixers on them. The
//! daemon describes them once ([`OssSystem`]); every node's handler shares
//! that description and answers the ioctls from it, on /dev/dsp and
//! /dev/mixer alike.
//!
//! Numbering and errors follow OSS 4 (`oss_mixer_core.c`): audio devices and
//! engines are the same numbers; an audio device out of range gets EINVAL, a
//! mixer or card out of range ENXIO. `dev = -1` asks for the node's own
//! device: on /dev/dsp for AUDIOINFO, AUDIOINFO_EX and ENGINEINFO (OSS 4
//! itself takes -1 only for ENGINEINFO; FreeBSD takes it for all three) and
//! MIXERINFO (the mixer of the dsp's card, as FreeBSD); on /dev/mixer for
//! MIXERINFO and MIX_NREXT, while an audio device of -1 there is EINVAL.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};

use outboard_cuse::abi::bytes;
use outboard_cuse::Errno;
use outboard_mixer::engine::Engine;
use outboard_mixer::pcm::PcmConfig;
use zerocopy::{Immutable, IntoBytes};

use crate::oss4::*;
use crate::soundcard::*;

/// The lowest and highest rates SNDCTL_DSP_SPEED accepts (others are clamped).
pub const MIN_RATE: u32 = 8_000;
pub const MAX_RATE: u32 = 192_000;
/// The channel counts SNDCTL_DSP_CHANNELS accepts.
pub const MIN_CHANNELS: u16 = 1;
pub const MAX_CHANNELS: u16 = 8;

/// The formats SNDCTL_DSP_GETFMTS reports.
pub const SUPPORTED_FORMATS: u32 = AFMT_U8
    | AFMT_S8
    | AFMT_S16_LE
    | AFMT_S16_BE
    | AFMT_S32_LE
    | AFMT_S32_BE
    | AFMT_S24_LE
    | AFMT_S24_BE
    | AFMT_S24_PACKED
    | AFMT_FLOAT
    | AFMT_MU_LAW
    | AFMT_A_LAW;

/// One device the daemon drives.
pub struct Card {
    /// What the device calls itself ("HDA 0000:00:1b.0", a USB product name).
    pub name: String,
    /// The engine running on its streams: their format, rate, channels and
    /// period come from there.
    pub engine: Arc<Engine>,
}

/// An audio node (/dev/dsp, /dev/audio) on a card.
pub struct AudioNode {
    pub card: usize,
    /// Its absolute path ("/dev/dsp").
    pub devnode: String,
    /// What AUDIOINFO calls it.
    pub name: String,
}

/// A mixer node (/dev/mixer) on a card.
pub struct MixerNode {
    pub card: usize,
    pub devnode: String,
}

/// Who holds an audio node open (for `busy`, `pid`, `cmd`, `openedaudio`).
struct Holder {
    fh: u64,
    pid: u32,
    uid: u32,
    busy: u32,
}

/// The node an info ioctl was made on: what `dev = -1` means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Asker {
    Audio(usize),
    Mixer(usize),
}

/// Every device and node the daemon serves.
pub struct OssSystem {
    cards: Vec<Card>,
    audio: Vec<AudioNode>,
    mixers: Vec<MixerNode>,
    holders: Vec<Mutex<Vec<Holder>>>,
    modified: Vec<AtomicI32>,
}

fn int_arg(input: &[u8]) -> Result<i32, Errno> {
    input.get(..4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]])).ok_or(libc::EINVAL)
}

fn describe(cfg: Option<PcmConfig>) -> String {
    match cfg {
        Some(c) => format!(
            "{:?} {} Hz {} ch, {} periods of {} frames",
            c.format, c.rate, c.channels, c.periods, c.period_frames
        ),
        None => "none".into(),
    }
}

impl OssSystem {
    /// Cards, and the nodes on them as (card, absolute path), numbered in
    /// this order. A card's first audio node is named after the card, its
    /// others "NAME (PATH)".
    pub fn new(cards: Vec<Card>, audio: &[(usize, &str)], mixers: &[(usize, &str)]) -> Result<OssSystem, String> {
        if let Some((card, node)) = audio.iter().chain(mixers).find(|(card, _)| *card >= cards.len()) {
            return Err(format!("{node} is on card {card}, and there are {}", cards.len()));
        }
        Ok(Self::build(cards, audio, mixers))
    }

    /// One card with its audio nodes and its mixer, if it has one.
    pub fn single(name: &str, engine: Arc<Engine>, audio_nodes: &[&str], mixer_node: Option<&str>) -> OssSystem {
        let audio: Vec<(usize, &str)> = audio_nodes.iter().map(|n| (0, *n)).collect();
        let mixers: Vec<(usize, &str)> = mixer_node.iter().map(|n| (0, *n)).collect();
        Self::build(vec![Card { name: name.to_string(), engine }], &audio, &mixers)
    }

    /// `audio` and `mixers` name cards that exist.
    fn build(cards: Vec<Card>, audio: &[(usize, &str)], mixers: &[(usize, &str)]) -> OssSystem {
        let audio: Vec<AudioNode> = audio
            .iter()
            .enumerate()
            .map(|(i, &(card, node))| {
                let name = cards.get(card).map(|c| c.name.as_str()).unwrap_or("");
                let first = audio.iter().position(|(c, _)| *c == card) == Some(i);
                AudioNode {
                    card,
                    devnode: node.to_string(),
                    name: if first { name.to_string() } else { format!("{name} ({node})") },
                }
            })
            .collect();
        let mixers: Vec<MixerNode> =
            mixers.iter().map(|&(card, node)| MixerNode { card, devnode: node.to_string() }).collect();
        let holders = audio.iter().map(|_| Mutex::new(Vec::new())).collect();
        let modified = mixers.iter().map(|_| AtomicI32::new(0)).collect();
        OssSystem { cards, audio, mixers, holders, modified }
    }

    pub fn audio_nodes(&self) -> &[AudioNode] {
        &self.audio
    }
    pub fn mixer_nodes(&self) -> &[MixerNode] {
        &self.mixers
    }
    pub fn cards(&self) -> &[Card] {
        &self.cards
    }
    /// The card audio node `dev` is on.
    pub fn card_of(&self, dev: usize) -> Option<&Card> {
        self.cards.get(self.audio.get(dev)?.card)
    }
    /// The first mixer on `card`.
    pub fn mixer_of_card(&self, card: usize) -> Option<usize> {
        self.mixers.iter().position(|m| m.card == card)
    }

    /// An open of audio node `dev` (busy: OSS_OPEN_READ | OSS_OPEN_WRITE).
    pub(crate) fn opened(&self, dev: usize, fh: u64, pid: u32, uid: u32, busy: u32) {
        if let Some(h) = self.holders.get(dev) {
            h.lock().unwrap_or_else(|e| e.into_inner()).push(Holder { fh, pid, uid, busy });
        }
    }
    pub(crate) fn closed(&self, dev: usize, fh: u64) {
        if let Some(h) = self.holders.get(dev) {
            h.lock().unwrap_or_else(|e| e.into_inner()).retain(|h| h.fh != fh);
        }
    }
    /// A mixer control changed (oss_mixerinfo.modify_counter).
    pub(crate) fn mixer_changed(&self, mixer: usize) {
        if let Some(m) = self.modified.get(mixer) {
            m.fetch_add(1, Ordering::Relaxed);
        }
    }
    fn modify_counter(&self, mixer: usize) -> i32 {
        self.modified.get(mixer).map(|m| m.load(Ordering::Relaxed)).unwrap_or(0)
    }

    /// PCM_CAP_* of audio node `dev` (also SNDCTL_DSP_GETCAPS's answer):
    /// the directions its device has, full duplex when both, any number of
    /// opens, SETTRIGGER, any rate in range. No mmap: CUSE cannot.
    pub fn caps(&self, dev: usize) -> u32 {
        let Some(card) = self.card_of(dev) else { return 0 };
        let out = card.engine.playback_config().is_some();
        let inp = card.engine.capture_config().is_some();
        let mut caps = PCM_CAP_TRIGGER | PCM_CAP_MULTI | PCM_CAP_FREERATE | PCM_CAP_REALTIME;
        if out {
            caps |= PCM_CAP_OUTPUT;
        }
        if inp {
            caps |= PCM_CAP_INPUT;
        }
        if out && inp {
            caps |= PCM_CAP_DUPLEX;
        }
        if dev == 0 {
            caps |= PCM_CAP_DEFAULT;
        }
        caps
    }

    pub fn sysinfo(&self) -> OssSysinfo {
        let mut s = OssSysinfo::default();
        put_str(&mut s.product, "Outboard");
        put_str(&mut s.version, env!("CARGO_PKG_VERSION"));
        put_str(&mut s.license, "MIT/Apache-2.0");
        s.versionnum = SOUND_VERSION;
        s.numaudios = self.audio.len() as i32;
        s.numaudioengines = self.audio.len() as i32;
        s.nummixers = self.mixers.len() as i32;
        s.numcards = self.cards.len() as i32;
        for (dev, h) in self.holders.iter().enumerate().take(8 * 32) {
            if !h.lock().unwrap_or_else(|e| e.into_inner()).is_empty() {
                s.openedaudio[dev / 32] |= 1 << (dev % 32);
            }
        }
        s
    }

    /// Audio node `dev` (in range), as user `caller` may see it: the pid
    /// and program of the latest opener only for root and that opener's own
    /// user (the daemon reads them as root, past /proc's hidepid).
    pub fn audioinfo(&self, dev: usize, caller: u32) -> OssAudioinfo {
        let mut a = OssAudioinfo::default();
        let (Some(node), Some(card)) = (self.audio.get(dev), self.card_of(dev)) else { return a };
        a.dev = dev as i32;
        put_str(&mut a.name, &node.name);
        put_str(&mut a.devnode, &node.devnode);
        put_str(&mut a.handle, &format!("outboard{}-{dev}", node.card));
        let holders = self.holders[dev].lock().unwrap_or_else(|e| e.into_inner());
        a.busy = holders.iter().fold(0, |b, h| b | h.busy) as i32;
        // The latest opener still holding it.
        let shown = holders.last().filter(|h| caller == 0 || caller == h.uid);
        a.pid = shown.map(|h| h.pid as i32).unwrap_or(-1);
        if let Some(h) = shown {
            let comm = std::fs::read_to_string(format!("/proc/{}/comm", h.pid)).unwrap_or_default();
            put_str(&mut a.cmd, comm.trim());
        }
        drop(holders);
        a.caps = self.caps(dev) as i32;
        let (play, cap) = (card.engine.playback_config(), card.engine.capture_config());
        // Every format SETFMT takes, converted to the device's own.
        a.oformats = if play.is_some() { SUPPORTED_FORMATS as i32 } else { 0 };
        a.iformats = if cap.is_some() { SUPPORTED_FORMATS as i32 } else { 0 };
        a.card_number = node.card as i32;
        a.mixer_dev = self.mixer_of_card(node.card).map(|m| m as i32).unwrap_or(-1);
        a.legacy_device = dev as i32;
        a.enabled = 1;
        a.min_rate = MIN_RATE as i32;
        a.max_rate = MAX_RATE as i32;
        a.min_channels = i32::from(MIN_CHANNELS);
        a.max_channels = i32::from(MAX_CHANNELS);
        a.rate_source = dev as i32;
        // Any rate from min to max (the mixer resamples to the device's).
        a.nrates = 0;
        // The device's own buffer.
        a.latency = play
            .or(cap)
            .map(|c| (c.period_frames as u64 * c.periods as u64 * 1_000_000 / u64::from(c.rate.max(1))) as i32)
            .unwrap_or(-1);
        a
    }

    /// Card `card` (in range): its name and its hardware's stream settings.
    pub fn cardinfo(&self, card: usize) -> OssCardInfo {
        let mut c = OssCardInfo::default();
        let Some(k) = self.cards.get(card) else { return c };
        c.card = card as i32;
        put_str(&mut c.shortname, k.name.split_whitespace().next().unwrap_or("Outboard"));
        put_str(&mut c.longname, &format!("Outboard: {}", k.name));
        put_str(
            &mut c.hw_info,
            &format!(
                "playback: {}\ncapture: {}\n",
                describe(k.engine.playback_config()),
                describe(k.engine.capture_config())
            ),
        );
        // The engine runs once per device period.
        c.intr_count = k.engine.stats().periods.load(Ordering::Relaxed) as i32;
        c.ack_count = c.intr_count;
        c
    }

    /// Mixer `mixer` (in range).
    pub fn mixerinfo(&self, mixer: usize) -> OssMixerinfo {
        let mut m = OssMixerinfo::default();
        let Some(node) = self.mixers.get(mixer) else { return m };
        let card = self.cards.get(node.card).map(|c| c.name.as_str()).unwrap_or("");
        m.dev = mixer as i32;
        put_str(&mut m.id, &format!("outboard{}", node.card));
        put_str(&mut m.name, card);
        put_str(&mut m.handle, &format!("outboard{}-mixer{mixer}", node.card));
        put_str(&mut m.devnode, &node.devnode);
        m.modify_counter = self.modify_counter(mixer);
        m.card_number = node.card as i32;
        m.enabled = 1;
        // No mixer extension controls (SNDCTL_MIX_EXTINFO) yet.
        m.nrext = 0;
        m.priority = if mixer == 0 { 1 } else { 0 };
        m.legacy_device = mixer as i32;
        m
    }

    /// OSS 3's SOUND_MIXER_INFO for mixer `mixer`.
    pub fn mixer_info(&self, mixer: usize) -> MixerInfo {
        let o = self.mixerinfo(mixer);
        MixerInfo { id: o.id, name: o.name, modify_counter: o.modify_counter, ..MixerInfo::default() }
    }

    /// Answer an info ioctl made on `asker`'s node by user `caller`; `None`
    /// when `cmd` is not one of them.
    pub fn ioctl(&self, asker: Asker, caller: u32, cmd: u32, input: &[u8]) -> Option<Result<(i32, Vec<u8>), Errno>> {
        fn out<T: IntoBytes + Immutable>(v: T) -> Result<(i32, Vec<u8>), Errno> {
            Ok((0, bytes(&v).to_vec()))
        }
        // The mixer a `-1` means from this node.
        let own_mixer = match asker {
            Asker::Mixer(m) => Some(m),
            Asker::Audio(d) => self.audio.get(d).and_then(|a| self.mixer_of_card(a.card)),
        };
        let mixer_arg = |dev: i32| -> Result<usize, Errno> {
            let m = if dev == -1 {
                own_mixer.ok_or(libc::ENXIO)?
            } else {
                usize::try_from(dev).map_err(|_| libc::ENXIO)?
            };
            if m < self.mixers.len() {
                Ok(m)
            } else {
                Err(libc::ENXIO)
            }
        };
        Some(match cmd {
            SNDCTL_SYSINFO => out(self.sysinfo()),
            SNDCTL_MIX_NRMIX => Ok((0, (self.mixers.len() as i32).to_le_bytes().to_vec())),
            SNDCTL_MIX_NREXT => {
                int_arg(input).and_then(mixer_arg).map(|m| (0, self.mixerinfo(m).nrext.to_le_bytes().to_vec()))
            }
            SNDCTL_AUDIOINFO | SNDCTL_AUDIOINFO_EX | SNDCTL_ENGINEINFO => int_arg(input).and_then(|dev| {
                let dev = match (dev, asker) {
                    (-1, Asker::Audio(own)) => own,
                    (d, _) if d >= 0 && (d as usize) < self.audio.len() => d as usize,
                    _ => return Err(libc::EINVAL),
                };
                out(self.audioinfo(dev, caller))
            }),
            SNDCTL_CARDINFO => int_arg(input).and_then(|card| match usize::try_from(card) {
                Ok(c) if c < self.cards.len() => out(self.cardinfo(c)),
                _ => Err(libc::ENXIO),
            }),
            SNDCTL_MIXERINFO => int_arg(input).and_then(mixer_arg).and_then(|m| out(self.mixerinfo(m))),
            SOUND_MIXER_INFO => match own_mixer {
                Some(m) => out(self.mixer_info(m)),
                None => Err(libc::EINVAL),
            },
            _ => return None,
        })
    }
}
