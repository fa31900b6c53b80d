//! The device model a UAC driver works from: the AudioControl entity graph
//! (terminals, units, clocks) and every AudioStreaming alternate setting with
//! its format, channels, rates and endpoints. Built by [`crate::parse`] from
//! descriptors; plain data, no I/O.

use outboard_hal::pcm::{Direction, SampleFormat};
use outboard_hal::usb::{Speed, UsbId};

/// Audio Device Class release the control interface speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UacVersion {
    V1,
    V2,
}

/// A terminal type (wTerminalType), with a name for the common ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TerminalType(pub u16);

impl TerminalType {
    pub const USB_STREAMING: TerminalType = TerminalType(0x0101);

    /// Whether this terminal is the host's end of a streaming interface.
    pub fn is_usb(self) -> bool {
        self.0 & 0xff00 == 0x0100
    }

    /// A short name ("speaker", "microphone", ...), as lsusb prints them.
    pub fn name(self) -> &'static str {
        match self.0 {
            0x0100 => "USB undefined",
            0x0101 => "USB streaming",
            0x01ff => "USB vendor specific",
            0x0200 => "input undefined",
            0x0201 => "microphone",
            0x0202 => "desktop microphone",
            0x0203 => "personal microphone",
            0x0204 => "omni-directional microphone",
            0x0205 => "microphone array",
            0x0300 => "output undefined",
            0x0301 => "speaker",
            0x0302 => "headphones",
            0x0303 => "head mounted display audio",
            0x0304 => "desktop speaker",
            0x0305 => "room speaker",
            0x0306 => "communication speaker",
            0x0307 => "low frequency effects speaker",
            0x0400..=0x04ff => "bi-directional",
            0x0500..=0x05ff => "telephony",
            0x0601 => "analog connector",
            0x0602 => "digital audio interface",
            0x0603 => "line connector",
            0x0605 => "S/PDIF interface",
            0x0600..=0x06ff => "external",
            _ => "embedded",
        }
    }
}

/// Feature unit controls (bit positions are the UAC1 bmaControls bits; UAC2
/// uses two bits per control in the same order).
pub mod feature {
    pub const MUTE: u8 = 0;
    pub const VOLUME: u8 = 1;
    pub const BASS: u8 = 2;
    pub const MID: u8 = 3;
    pub const TREBLE: u8 = 4;
    pub const EQUALIZER: u8 = 5;
    pub const AGC: u8 = 6;
    pub const DELAY: u8 = 7;
    pub const BASS_BOOST: u8 = 8;
    pub const LOUDNESS: u8 = 9;

    /// The control selector (CS) for a control index: index + 1 in both versions.
    pub const fn selector(control: u8) -> u8 {
        control + 1
    }

    pub fn name(control: u8) -> &'static str {
        match control {
            MUTE => "mute",
            VOLUME => "volume",
            BASS => "bass",
            MID => "mid",
            TREBLE => "treble",
            EQUALIZER => "equalizer",
            AGC => "agc",
            DELAY => "delay",
            BASS_BOOST => "bass boost",
            LOUDNESS => "loudness",
            _ => "other",
        }
    }
}

/// One AudioControl entity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntityKind {
    InputTerminal {
        terminal_type: TerminalType,
        channels: u8,
        /// UAC2: the clock entity this terminal runs on.
        clock: Option<u8>,
    },
    OutputTerminal {
        terminal_type: TerminalType,
        source: u8,
        clock: Option<u8>,
    },
    MixerUnit {
        sources: Vec<u8>,
        channels: u8,
    },
    SelectorUnit {
        sources: Vec<u8>,
    },
    FeatureUnit {
        source: u8,
        /// Controls present, per channel (index 0 = master), as bit masks of
        /// [`feature`] indexes. UAC2's "host programmable" bit pairs are folded
        /// to one bit: present and writable.
        controls: Vec<u32>,
        /// UAC2 only: per channel, the controls that are readable but not writable.
        read_only: Vec<u32>,
    },
    /// A processing, effect, extension or converter unit: passed through by
    /// the path logic, not controlled.
    OtherUnit {
        subtype: u8,
        sources: Vec<u8>,
    },
    ClockSource {
        /// bmAttributes bits 1:0: 0 external, 1 internal fixed, 2 internal variable, 3 internal programmable.
        attributes: u8,
        /// SAM_FREQ control writable (bmControls bits 1:0 == 3).
        frequency_writable: bool,
        /// CLOCK_VALID control readable.
        validity_readable: bool,
    },
    ClockSelector {
        sources: Vec<u8>,
        writable: bool,
    },
    ClockMultiplier {
        source: u8,
    },
}

/// An entity with its id (bTerminalID/bUnitID/bClockID).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entity {
    pub id: u8,
    pub kind: EntityKind,
}

impl Entity {
    /// Entities this one takes its audio from (not its clock).
    pub fn sources(&self) -> Vec<u8> {
        match &self.kind {
            EntityKind::OutputTerminal { source, .. } | EntityKind::FeatureUnit { source, .. } => vec![*source],
            EntityKind::MixerUnit { sources, .. }
            | EntityKind::SelectorUnit { sources }
            | EntityKind::OtherUnit { sources, .. } => sources.clone(),
            _ => Vec::new(),
        }
    }

    /// A one-word name of the kind.
    pub fn kind_name(&self) -> &'static str {
        match &self.kind {
            EntityKind::InputTerminal { .. } => "input terminal",
            EntityKind::OutputTerminal { .. } => "output terminal",
            EntityKind::MixerUnit { .. } => "mixer unit",
            EntityKind::SelectorUnit { .. } => "selector unit",
            EntityKind::FeatureUnit { .. } => "feature unit",
            EntityKind::OtherUnit { .. } => "processing unit",
            EntityKind::ClockSource { .. } => "clock source",
            EntityKind::ClockSelector { .. } => "clock selector",
            EntityKind::ClockMultiplier { .. } => "clock multiplier",
        }
    }
}

/// Rates an alternate setting runs at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rates {
    /// A list of discrete rates (UAC1 tSamFreq[], or a UAC2 clock's RANGE of points).
    Discrete(Vec<u32>),
    /// Anything in [min, max] (UAC1 continuous; UAC2 a RANGE with a resolution).
    Continuous { min: u32, max: u32 },
    /// UAC2, before the clock source was asked (the rates live in the device).
    FromClock,
}

impl Rates {
    pub fn contains(&self, rate: u32) -> bool {
        match self {
            Rates::Discrete(v) => v.contains(&rate),
            Rates::Continuous { min, max } => (*min..=*max).contains(&rate),
            Rates::FromClock => false,
        }
    }
}

/// Endpoint synchronisation (bmAttributes bits 3:2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncType {
    None,
    Async,
    Adaptive,
    Sync,
}

impl SyncType {
    pub fn from_bits(attributes: u8) -> SyncType {
        match (attributes >> 2) & 3 {
            1 => SyncType::Async,
            2 => SyncType::Adaptive,
            3 => SyncType::Sync,
            _ => SyncType::None,
        }
    }
}

/// An isochronous endpoint of an alternate setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IsoEndpoint {
    #[doc(alias = "bEndpointAddress")]
    pub address: u8,
    pub sync: SyncType,
    /// Usage: 0 data, 1 feedback, 2 implicit feedback data.
    pub usage: u8,
    /// Bytes per service interval (size times high-bandwidth multiplier).
    pub max_bytes: u32,
    /// bInterval as the descriptor gives it.
    #[doc(alias = "bInterval")]
    pub interval: u8,
    /// UAC1 sync endpoints: bRefresh (feedback every 2^bRefresh ms).
    #[doc(alias = "bRefresh")]
    pub refresh: u8,
    /// UAC1: bSynchAddress of the data endpoint (0 = none).
    #[doc(alias = "bSynchAddress")]
    pub synch_address: u8,
}

/// The capture side an implicit-feedback playback endpoint follows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImplicitSource {
    pub interface: u8,
    pub alt: u8,
    pub endpoint: IsoEndpoint,
    /// Bytes per frame on the capture endpoint.
    pub frame_bytes: usize,
}

/// One streaming alternate setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AltSetting {
    pub interface: u8,
    pub alt: u8,
    /// bTerminalLink: the USB-streaming terminal this interface connects to.
    pub terminal: u8,
    pub format: SampleFormat,
    /// bSubframeSize/bSubslotSize.
    pub subslot_bytes: u8,
    /// bBitResolution.
    pub bits: u8,
    pub channels: u16,
    pub rates: Rates,
    /// Format type (1 = PCM-like type I, 3 = IEC61937 type III).
    pub format_type: u8,
    /// The data endpoint.
    pub endpoint: IsoEndpoint,
    /// An explicit feedback (sync) endpoint in the same alt setting.
    pub feedback: Option<IsoEndpoint>,
    /// Playback only: the capture endpoint whose packet sizes pace this
    /// asynchronous endpoint (implicit feedback), when it has no feedback
    /// endpoint of its own.
    pub implicit: Option<ImplicitSource>,
    /// UAC1 class endpoint: sampling frequency control present.
    pub rate_control: bool,
    /// UAC2 AS bmControls, UAC1 class endpoint bmAttributes (raw).
    pub controls: u8,
}

impl AltSetting {
    /// Bytes per frame.
    pub fn frame_bytes(&self) -> usize {
        usize::from(self.subslot_bytes) * usize::from(self.channels)
    }
    pub fn direction(&self) -> Direction {
        if self.endpoint.address & 0x80 != 0 {
            Direction::Capture
        } else {
            Direction::Playback
        }
    }
}

/// An AudioStreaming interface and its alternate settings (alt 0, the
/// zero-bandwidth setting, is not listed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamingInterface {
    pub interface: u8,
    pub direction: Direction,
    pub alts: Vec<AltSetting>,
}

/// Everything the driver knows about a USB audio function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceModel {
    pub id: UsbId,
    pub speed: Speed,
    pub version: UacVersion,
    pub configuration: u8,
    pub control_interface: u8,
    pub entities: Vec<Entity>,
    pub streams: Vec<StreamingInterface>,
    /// MIDI streaming and other interfaces of the function that were skipped.
    pub skipped: Vec<String>,
}

impl DeviceModel {
    pub fn entity(&self, id: u8) -> Option<&Entity> {
        self.entities.iter().find(|e| e.id == id)
    }

    /// Streaming interfaces of one direction.
    pub fn streams(&self, direction: Direction) -> impl Iterator<Item = &StreamingInterface> {
        self.streams.iter().filter(move |s| s.direction == direction)
    }

    /// The clock source a UAC2 terminal runs on, following selectors (their
    /// first input unless `selected` says otherwise) and multipliers.
    pub fn clock_source_of(&self, terminal: u8) -> Option<u8> {
        let mut id = match &self.entity(terminal)?.kind {
            EntityKind::InputTerminal { clock, .. } | EntityKind::OutputTerminal { clock, .. } => (*clock)?,
            _ => return None,
        };
        for _ in 0..16 {
            match &self.entity(id)?.kind {
                EntityKind::ClockSource { .. } => return Some(id),
                EntityKind::ClockSelector { sources, .. } => id = *sources.first()?,
                EntityKind::ClockMultiplier { source } => id = *source,
                _ => return None,
            }
        }
        None
    }

    /// The entities audio passes through from a streaming terminal to the
    /// far end: downstream from a playback (input) terminal, upstream from a
    /// capture (output) terminal. Follows the first source at a mixer or
    /// selector; stops at a loop. The first element is `terminal`.
    pub fn path_from(&self, terminal: u8) -> Vec<u8> {
        let mut path = vec![terminal];
        let Some(start) = self.entity(terminal) else { return path };
        let upstream = matches!(start.kind, EntityKind::OutputTerminal { .. });
        let mut at = terminal;
        while path.len() < 32 {
            let next = if upstream {
                self.entity(at).and_then(|e| e.sources().first().copied())
            } else {
                self.entities.iter().find(|e| e.sources().contains(&at)).map(|e| e.id)
            };
            match next {
                Some(n) if !path.contains(&n) => {
                    path.push(n);
                    at = n;
                }
                _ => break,
            }
        }
        path
    }

    /// Give every asynchronous playback alt setting without a feedback
    /// endpoint its implicit-feedback source: a capture endpoint marked as
    /// implicit feedback data (usage 2), or, when `generic` (the
    /// `generic_implicit_fb` quirk), any asynchronous capture endpoint; with
    /// `skip` (the `skip_implicit_fb` quirk), none.
    pub fn link_implicit_feedback(&mut self, generic: bool, skip: bool) {
        let captures: Vec<AltSetting> = self.streams(Direction::Capture).flat_map(|s| s.alts.iter().cloned()).collect();
        let source = captures
            .iter()
            .find(|a| a.endpoint.usage == 2)
            .or_else(|| captures.iter().find(|a| generic && a.endpoint.sync == SyncType::Async))
            .map(|a| ImplicitSource {
                interface: a.interface,
                alt: a.alt,
                endpoint: a.endpoint.clone(),
                frame_bytes: a.frame_bytes(),
            });
        for s in self.streams.iter_mut().filter(|s| s.direction == Direction::Playback) {
            for a in &mut s.alts {
                a.implicit = if !skip && a.endpoint.sync == SyncType::Async && a.feedback.is_none() {
                    source.clone()
                } else {
                    None
                };
            }
        }
    }

    /// Feature units on a streaming terminal's path, nearest first.
    pub fn feature_units_on_path(&self, terminal: u8) -> Vec<u8> {
        self.path_from(terminal)
            .into_iter()
            .filter(|id| matches!(self.entity(*id).map(|e| &e.kind), Some(EntityKind::FeatureUnit { .. })))
            .collect()
    }
}
