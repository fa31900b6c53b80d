//! Opening a USB audio device: its model, quirks, the interfaces it claims,
//! choosing an alt setting, setting the rate and starting a stream.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use outboard_hal::pcm::{Direction, PcmConfig, SampleFormat};
use outboard_hal::usb::UsbDevice;

use crate::controls::{self, VolumeRange};
use crate::demux::Demux;
use crate::model::{feature, AltSetting, DeviceModel, EntityKind, Rates, TerminalType, UacVersion};
use crate::quirks::{self, QuirkOverride, Quirks};
use crate::stream::{ImplicitSync, UacStream, UrbPlan};
use crate::{Error, Result};

/// What a caller wants of a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamRequest {
    pub rate: u32,
    /// `None`: stereo if offered, else the most channels.
    pub channels: Option<u16>,
    /// `None`: the deepest format offered.
    pub format: Option<SampleFormat>,
    pub period_frames: usize,
    pub periods: usize,
}

/// A feature unit's controls on one stream's path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeatureControl {
    pub unit: u8,
    /// Channels (0 = master) with a volume control.
    pub volume_channels: Vec<u8>,
    /// Channels with a mute control.
    pub mute_channels: Vec<u8>,
    /// The master's (or first channel's) volume range, if the device told it.
    pub range: Option<VolumeRange>,
}

/// A selector unit on a stream's path and what each of its inputs carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectorControl {
    pub unit: u8,
    /// The unit's inputs in pin order (pin 1 first).
    pub inputs: Vec<SelectorInput>,
}

/// One input of a selector unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectorInput {
    /// 1-based, as SET_CUR takes it.
    pub pin: u8,
    /// The entity connected to the pin (baSourceID).
    pub source: u8,
    /// The input terminal the audio comes from (following first sources
    /// upstream), with its type; `None` if the path ends elsewhere (a mixer
    /// unit's sum, a loop).
    pub terminal: Option<(u8, TerminalType)>,
}

/// An opened USB audio function.
pub struct UacDevice {
    dev: Arc<dyn UsbDevice>,
    /// Implicit-feedback sync points, by capture endpoint.
    implicit: Mutex<HashMap<u8, Arc<ImplicitSync>>>,
    /// Completions by endpoint, shared by this device's streams.
    demux: Arc<Demux>,
    model: DeviceModel,
    quirks: Quirks,
    claimed: Mutex<Vec<u8>>,
}

impl std::fmt::Debug for UacDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UacDevice").field("device", &self.dev.name()).field("id", &self.model.id).finish()
    }
}

fn depth(format: SampleFormat) -> u32 {
    format.bits() * 8 + format.bytes() as u32
}

impl UacDevice {
    /// Parse the device's descriptors, look up its quirks, claim its control
    /// interface and (UAC2) ask its clocks which rates they offer.
    pub fn open(dev: Arc<dyn UsbDevice>, overrides: &[QuirkOverride]) -> Result<UacDevice> {
        // The model is built here, once: parsed, its implicit-feedback links
        // set as the quirks say, then (UAC2) each alt's rates asked of its clock.
        let (mut model, quirks) = crate::parse::parse_device_with(dev.descriptors(), dev.speed(), dev.name(), |id| {
            quirks::lookup(id, overrides)
        })?;
        if quirks != Quirks::default() {
            log::info!("{}: quirks {quirks}", dev.name());
        }
        dev.claim_interface(model.control_interface)?;
        if model.version == UacVersion::V2 {
            let rates: Vec<Vec<Rates>> = model
                .streams
                .iter()
                .map(|s| s.alts.iter().map(|alt| clock_rates_for(dev.as_ref(), &model, alt)).collect())
                .collect();
            for (s, rates) in model.streams.iter_mut().zip(rates) {
                for (alt, r) in s.alts.iter_mut().zip(rates) {
                    alt.rates = r;
                }
            }
        }
        let demux = Demux::new(Arc::clone(&dev));
        let control_interface = model.control_interface;
        Ok(UacDevice {
            dev,
            demux,
            implicit: Mutex::new(HashMap::new()),
            model,
            quirks,
            claimed: Mutex::new(vec![control_interface]),
        })
    }

    pub fn model(&self) -> &DeviceModel {
        &self.model
    }
    pub fn quirks(&self) -> Quirks {
        self.quirks
    }
    pub fn usb(&self) -> &Arc<dyn UsbDevice> {
        &self.dev
    }
    pub fn name(&self) -> &str {
        self.dev.name()
    }

    fn after_control(&self) {
        let d = self.quirks.control_delay();
        if !d.is_zero() {
            std::thread::sleep(d);
        }
    }

    /// The alt setting that best fits a request.
    pub fn choose_alt(
        &self,
        direction: Direction,
        rate: u32,
        channels: Option<u16>,
        format: Option<SampleFormat>,
    ) -> Result<AltSetting> {
        let all: Vec<&AltSetting> = self.model.streams(direction).flat_map(|s| s.alts.iter()).collect();
        let fits = |a: &&&AltSetting| {
            a.rates.contains(rate)
                && channels.is_none_or(|c| a.channels == c)
                && format.is_none_or(|f| a.format == f)
                && a.format_type == 1
        };
        let mut candidates: Vec<&AltSetting> = all.iter().filter(fits).copied().collect();
        candidates.sort_by_key(|a| {
            let stereo = u32::from(a.channels != 2);
            (
                if channels.is_none() { stereo } else { 0 },
                std::cmp::Reverse(depth(a.format)),
                std::cmp::Reverse(a.channels),
            )
        });
        candidates.first().map(|a| (*a).clone()).ok_or_else(|| Error::NoMatch {
            device: self.dev.name().into(),
            direction: if direction == Direction::Playback { "playback" } else { "capture" },
            wanted: format!(
                "{rate} Hz{}{}",
                channels.map(|c| format!(", {c} channels")).unwrap_or_default(),
                format.map(|f| format!(", {f:?}")).unwrap_or_default()
            ),
            offers: if all.is_empty() {
                "nothing".into()
            } else {
                all.iter()
                    .map(|a| format!("alt {}: {:?} {} ch {}", a.alt, a.format, a.channels, rates_text(&a.rates)))
                    .collect::<Vec<_>>()
                    .join("; ")
            },
        })
    }

    fn control_result(&self, r: Result<()>) -> Result<()> {
        match r {
            Err(e) if self.quirks.contains(Quirks::IGNORE_CTL_ERROR) => {
                log::info!("{}: control error ignored (quirk): {e}", self.dev.name());
                Ok(())
            }
            other => other,
        }
    }

    /// Set the rate an alt setting streams at: UAC1 through its endpoint,
    /// UAC2 through its clock source. A device that STALLs the request while
    /// offering only that rate is fine (QEMU's usb-audio does).
    pub fn set_rate(&self, alt: &AltSetting, rate: u32) -> Result<()> {
        let r = match self.model.version {
            UacVersion::V1 => self.set_rate_v1(alt, rate),
            UacVersion::V2 => self.set_rate_v2(alt, rate),
        };
        self.control_result(r)
    }

    fn set_rate_v1(&self, alt: &AltSetting, rate: u32) -> Result<()> {
        let only = matches!(&alt.rates, Rates::Discrete(v) if v.len() == 1 && v[0] == rate);
        if only && self.quirks.contains(Quirks::FIXED_RATE) {
            return Ok(());
        }
        let ep = alt.endpoint.address;
        let set = controls::set_endpoint_rate_v1(self.dev.as_ref(), ep, rate);
        self.after_control();
        match set {
            Ok(()) => {}
            Err(Error::Hal(outboard_hal::Error::Stall { .. })) if only || !alt.rate_control => {
                log::info!(
                    "{}: endpoint {ep:#04x} refused the rate request; it runs at {rate} Hz anyway",
                    self.dev.name()
                );
                return Ok(());
            }
            Err(e) => return Err(e),
        }
        if self.quirks.contains(Quirks::GET_SAMPLE_RATE) || !alt.rate_control {
            return Ok(());
        }
        match controls::get_endpoint_rate_v1(self.dev.as_ref(), ep) {
            Ok(got) if got != rate => {
                log::info!("{}: endpoint {ep:#04x} reports {got} Hz after being set to {rate} Hz", self.dev.name());
            }
            Ok(_) => {}
            Err(e) => log::info!("{}: reading the rate back failed: {e}", self.dev.name()),
        }
        self.after_control();
        Ok(())
    }

    fn set_rate_v2(&self, alt: &AltSetting, rate: u32) -> Result<()> {
        let name = self.dev.name();
        let clock = self.model.clock_source_of(alt.terminal).ok_or_else(|| Error::Control {
            device: name.into(),
            what: format!("terminal {} has no clock source", alt.terminal),
        })?;
        let (writable, validity) = match self.model.entity(clock).map(|e| &e.kind) {
            Some(EntityKind::ClockSource { frequency_writable, validity_readable, .. }) => {
                (*frequency_writable, *validity_readable)
            }
            _ => (false, false),
        };
        if writable {
            controls::set_clock_rate(self.dev.as_ref(), &self.model, clock, rate)?;
            self.after_control();
        }
        if !self.quirks.contains(Quirks::GET_SAMPLE_RATE) {
            let got = controls::clock_rate(self.dev.as_ref(), &self.model, clock)?;
            self.after_control();
            if got != rate {
                return Err(Error::Control {
                    device: name.into(),
                    what: format!(
                        "clock {clock} runs at {got} Hz, not the {rate} Hz asked for{}",
                        if writable { "" } else { " (its rate is not programmable)" }
                    ),
                });
            }
        }
        if validity && !self.quirks.contains(Quirks::IGNORE_CLOCK_SOURCE) {
            let valid = controls::clock_valid(self.dev.as_ref(), &self.model, clock)?;
            self.after_control();
            if !valid {
                return Err(Error::Control {
                    device: name.into(),
                    what: format!("clock {clock} reports it is not valid at {rate} Hz"),
                });
            }
        }
        Ok(())
    }

    fn claim(&self, interface: u8) -> Result<()> {
        let mut claimed = self.claimed.lock().unwrap_or_else(|e| e.into_inner());
        if !claimed.contains(&interface) {
            self.dev.claim_interface(interface)?;
            claimed.push(interface);
        }
        Ok(())
    }

    fn select_alt(&self, alt: &AltSetting) -> Result<()> {
        if self.quirks.contains(Quirks::FORCE_IFACE_RESET) {
            self.dev.set_alt_setting(alt.interface, 0)?;
        }
        self.dev.set_alt_setting(alt.interface, alt.alt)?;
        if self.quirks.contains(Quirks::IFACE_DELAY) {
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    fn implicit_sync(&self, endpoint: u8) -> Arc<ImplicitSync> {
        let mut map = self.implicit.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(map.entry(endpoint).or_default())
    }

    /// Select an alt setting and set its rate, in the order the device wants.
    fn prepare_alt(&self, alt: &AltSetting, rate: u32) -> Result<()> {
        self.claim(alt.interface)?;
        let iface_first = self.model.version == UacVersion::V1 || self.quirks.contains(Quirks::SET_IFACE_FIRST);
        if iface_first {
            self.select_alt(alt)?;
            self.set_rate(alt, rate)
        } else {
            self.set_rate(alt, rate)?;
            self.select_alt(alt)
        }
    }

    /// A closure that returns an interface to alt 0.
    fn back_to_zero(&self, interface: u8) -> Box<dyn FnOnce() + Send> {
        let dev = Arc::clone(&self.dev);
        Box::new(move || {
            if let Err(e) = dev.set_alt_setting(interface, 0) {
                log::debug!("{}: leaving alt 0 on interface {interface}: {e}", dev.name());
            }
        })
    }

    /// Choose an alt setting, select it, set the rate, and make a stream
    /// (not yet started). Dropping the stream returns the interface to alt 0.
    ///
    /// Implicit feedback: a playback stream whose endpoint is paced by a
    /// capture endpoint takes its packet sizes from the capture stream if one
    /// runs, else runs that endpoint itself (and throws its data away). A
    /// capture stream cannot be opened while playback runs its endpoint.
    pub fn open_stream(&self, direction: Direction, req: StreamRequest, plan: Option<UrbPlan>) -> Result<UacStream> {
        let alt = self.choose_alt(direction, req.rate, req.channels, req.format)?;
        let mut undo: Vec<Box<dyn FnOnce() + Send>> = Vec::new();
        let mut link: Option<(Arc<ImplicitSync>, bool)> = None;
        if let Some(src) = &alt.implicit {
            let sync = self.implicit_sync(src.endpoint.address);
            let drive = !sync.capture_running.load(Ordering::SeqCst);
            if drive {
                let capture = self
                    .model
                    .streams(Direction::Capture)
                    .flat_map(|s| s.alts.iter())
                    .find(|a| a.interface == src.interface && a.alt == src.alt)
                    .cloned()
                    .ok_or_else(|| Error::Invalid(format!("{}: implicit feedback source vanished", self.name())))?;
                self.prepare_alt(&capture, req.rate)?;
                sync.playback_driving.store(true, Ordering::SeqCst);
                undo.push(self.back_to_zero(capture.interface));
                let s2 = Arc::clone(&sync);
                undo.push(Box::new(move || s2.playback_driving.store(false, Ordering::SeqCst)));
            }
            link = Some((sync, drive));
        } else if direction == Direction::Capture {
            let feeds_playback = self
                .model
                .streams(Direction::Playback)
                .flat_map(|s| s.alts.iter())
                .any(|a| a.implicit.as_ref().is_some_and(|i| i.endpoint.address == alt.endpoint.address));
            if feeds_playback {
                let sync = self.implicit_sync(alt.endpoint.address);
                if sync.playback_driving.load(Ordering::SeqCst) {
                    return Err(Error::Invalid(format!(
                        "{}: capture endpoint {:#04x} is running as the playback stream's implicit feedback; open capture before playback",
                        self.name(),
                        alt.endpoint.address
                    )));
                }
                sync.capture_running.store(true, Ordering::SeqCst);
                let s2 = Arc::clone(&sync);
                undo.push(Box::new(move || s2.capture_running.store(false, Ordering::SeqCst)));
                link = Some((sync, false));
            }
        }
        if let Err(e) = self.prepare_alt(&alt, req.rate) {
            undo.into_iter().rev().for_each(|f| f());
            return Err(e);
        }
        let config = PcmConfig {
            format: alt.format,
            rate: req.rate,
            channels: alt.channels,
            period_frames: req.period_frames,
            periods: req.periods,
        };
        undo.insert(0, self.back_to_zero(alt.interface));
        let on_drop: Box<dyn FnOnce() + Send> = Box::new(move || undo.into_iter().for_each(|f| f()));
        let mut stream = UacStream::new(Arc::clone(&self.demux), alt, self.model.speed, config, plan, Some(on_drop))?;
        if let Some((sync, drive)) = link {
            stream.set_implicit(sync, drive);
        }
        Ok(stream)
    }

    /// Feature units on the path of a direction's first streaming interface,
    /// with their volume ranges.
    pub fn feature_controls(&self, direction: Direction) -> Vec<FeatureControl> {
        let Some(terminal) = self.model.streams(direction).flat_map(|s| s.alts.first()).map(|a| a.terminal).next()
        else {
            return Vec::new();
        };
        self.model
            .feature_units_on_path(terminal)
            .into_iter()
            .map(|unit| {
                let volume_channels = controls::channels_with(&self.model, unit, feature::VOLUME);
                let mute_channels = controls::channels_with(&self.model, unit, feature::MUTE);
                let range = volume_channels
                    .first()
                    .and_then(|ch| controls::volume_range(self.dev.as_ref(), &self.model, unit, *ch).ok());
                FeatureControl { unit, volume_channels, mute_channels, range }
            })
            .collect()
    }

    /// Set every volume channel of a feature unit to `db` (clamped to its
    /// range) and clear its mutes.
    pub fn set_unit_volume_db(&self, control: &FeatureControl, db: f64) -> Result<()> {
        for &ch in &control.volume_channels {
            let range = controls::volume_range(self.dev.as_ref(), &self.model, control.unit, ch)?;
            self.control_result(controls::set_volume(
                self.dev.as_ref(),
                &self.model,
                control.unit,
                ch,
                range.raw_for_db(db),
            ))?;
            self.after_control();
        }
        for &ch in &control.mute_channels {
            self.control_result(controls::set_mute(self.dev.as_ref(), &self.model, control.unit, ch, false))?;
            self.after_control();
        }
        Ok(())
    }
}

/// Single controls for a mixer: one channel of a feature unit, a selector
/// unit's input. Each request honours the control quirks (delays,
/// `ignore_ctl_error`) as the stream setup does.
impl UacDevice {
    /// Set one channel's volume (raw, 1/256 dB) on a feature unit.
    pub fn set_channel_volume(&self, unit: u8, channel: u8, raw: i16) -> Result<()> {
        let r = controls::set_volume(self.dev.as_ref(), &self.model, unit, channel, raw);
        self.after_control();
        self.control_result(r)
    }

    /// One channel's volume (raw, 1/256 dB) as the feature unit reports it.
    pub fn channel_volume(&self, unit: u8, channel: u8) -> Result<i16> {
        let r = controls::volume(self.dev.as_ref(), &self.model, unit, channel);
        self.after_control();
        r
    }

    /// Set one channel's mute on a feature unit.
    pub fn set_channel_mute(&self, unit: u8, channel: u8, on: bool) -> Result<()> {
        let r = controls::set_mute(self.dev.as_ref(), &self.model, unit, channel, on);
        self.after_control();
        self.control_result(r)
    }

    /// One channel's mute as the feature unit reports it.
    pub fn channel_mute(&self, unit: u8, channel: u8) -> Result<bool> {
        let r = controls::mute(self.dev.as_ref(), &self.model, unit, channel);
        self.after_control();
        r
    }

    /// The first selector unit on the path of a direction's first streaming
    /// interface (for capture: upstream from the USB streaming terminal, the
    /// capture source selector), with its inputs.
    pub fn selector(&self, direction: Direction) -> Option<SelectorControl> {
        let terminal = self.model.streams(direction).flat_map(|s| s.alts.first()).map(|a| a.terminal).next()?;
        let (unit, sources) =
            self.model.path_from(terminal).into_iter().find_map(|id| match &self.model.entity(id)?.kind {
                EntityKind::SelectorUnit { sources } => Some((id, sources.clone())),
                _ => None,
            })?;
        let inputs = sources
            .iter()
            .enumerate()
            .filter_map(|(i, &source)| {
                Some(SelectorInput { pin: u8::try_from(i + 1).ok()?, source, terminal: self.input_terminal_of(source) })
            })
            .collect();
        Some(SelectorControl { unit, inputs })
    }

    /// The input terminal audio at `entity` comes from, following first
    /// sources upstream (at most 32 entities).
    fn input_terminal_of(&self, mut entity: u8) -> Option<(u8, TerminalType)> {
        for _ in 0..32 {
            let e = self.model.entity(entity)?;
            match &e.kind {
                EntityKind::InputTerminal { terminal_type, .. } => return Some((entity, *terminal_type)),
                EntityKind::MixerUnit { .. } => return None,
                _ => entity = *e.sources().first()?,
            }
        }
        None
    }

    /// The input (1-based pin) a selector unit passes now.
    pub fn selector_input(&self, unit: u8) -> Result<u8> {
        let r = controls::selector_input(self.dev.as_ref(), &self.model, unit);
        self.after_control();
        r
    }

    /// Make a selector unit pass input `pin` (1-based).
    pub fn select_selector_input(&self, unit: u8, pin: u8) -> Result<()> {
        let r = controls::set_selector_input(self.dev.as_ref(), &self.model, unit, pin);
        self.after_control();
        self.control_result(r)
    }
}

impl Drop for UacDevice {
    fn drop(&mut self) {
        for i in self.claimed.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
            let _ = self.dev.release_interface(i);
        }
    }
}

/// The rates a UAC2 alt setting's clock offers (its RANGE, else its current rate).
fn clock_rates_for(dev: &dyn UsbDevice, model: &DeviceModel, alt: &AltSetting) -> Rates {
    let Some(clock) = model.clock_source_of(alt.terminal) else {
        log::warn!("{}: terminal {} has no clock source; its alt setting is unusable", dev.name(), alt.terminal);
        return Rates::Discrete(Vec::new());
    };
    match controls::clock_rates(dev, model, clock) {
        Ok(r) => r,
        Err(e) => {
            log::info!("{}: clock {clock} gave no rate range ({e}); using its current rate", dev.name());
            match controls::clock_rate(dev, model, clock) {
                Ok(r) if r > 0 => Rates::Discrete(vec![r]),
                _ => Rates::Discrete(Vec::new()),
            }
        }
    }
}

/// Rates as text ("48000 Hz", "44100/48000 Hz", "8000-96000 Hz").
pub fn rates_text(r: &Rates) -> String {
    match r {
        Rates::Discrete(v) if v.is_empty() => "no rates".into(),
        Rates::Discrete(v) => format!("{} Hz", v.iter().map(|r| r.to_string()).collect::<Vec<_>>().join("/")),
        Rates::Continuous { min, max } => format!("{min}-{max} Hz"),
        Rates::FromClock => "rates from the clock".into(),
    }
}
