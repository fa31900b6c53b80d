//! An HDA device ready to stream: the controller brought up, every codec
//! read and planned ([`crate::codec::paths`]), outputs and inputs routed, and
//! PCM streams ([`HdaPcm`]) that implement [`outboard_hal::pcm::PcmStream`].

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use outboard_hal::irq::IrqEvent;
use outboard_hal::pci::PciDevice;
use outboard_hal::pcm::{Direction, PcmConfig, PcmState, PcmStream, SampleFormat};

use crate::codec::controls::{self, AmpControl};
use crate::codec::jacks::{self, Jack};
use crate::codec::paths::{Display, InputPath, OutputRole, Plan, Sink};
use crate::codec::{read_codec, setup, Codec};
use crate::controller::Controller;
use crate::regs::sd;
use crate::stream::{Stream, StreamConfig};
use crate::verb::{Verb, SET_CHANNEL_STREAMID, SET_CONVERTER_FORMAT};
use crate::{Error, Result};

/// A codec and the paths chosen for it.
#[derive(Clone, Debug)]
pub struct CodecPlan {
    pub codec: Codec,
    pub plan: Plan,
}

/// Where a stream's position is read from (Linux's `position_fix`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PositionSource {
    /// The stream descriptor's link position register (SDnLPIB).
    #[default]
    Lpib,
    /// The DMA position buffer the controller writes (DPLBASE).
    PositionBuffer,
}

/// Choices a user makes when opening a device.
#[derive(Clone, Debug, Default)]
pub struct HdaOptions {
    /// Pin configuration overrides for boards whose BIOS lies.
    pub pin_overrides: Vec<crate::codec::pin::PinOverride>,
    pub position: PositionSource,
    /// Codec hints laid over each codec's defaults.
    pub hints: crate::codec::hints::HintSettings,
}

/// A brought-up HDA controller and its codecs.
pub struct HdaDevice {
    ctrl: Arc<Mutex<Controller>>,
    codecs: Vec<CodecPlan>,
    irq: Option<IrqEvent>,
    name: String,
    position: PositionSource,
    /// The output levels with several output volumes (Linux's per-output
    /// controls under a virtual Master); `None` with one.
    levels: Mutex<Option<Levels>>,
    /// Speaker auto-mute on headphone insertion ("Auto-Mute Mode").
    automute: std::sync::atomic::AtomicBool,
}

/// The levels set on a device with several output volume amplifiers, per
/// side in dB (`None`: muted): each amplifier plays at its own level plus
/// the master's offset from the top of its range, as Linux's vmaster.
#[derive(Clone, Debug, PartialEq)]
struct Levels {
    master: [Option<f64>; 2],
    /// The top of the master's range (the primary output's amplifier).
    master_top: f64,
    /// Per [`HdaDevice::output_ports`] entry.
    ports: Vec<[Option<f64>; 2]>,
}

/// An output with a volume amplifier of its own, named as Linux's
/// generic HDA parser names per-output controls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputPort {
    pub label: String,
    /// Which of the outputs with the same label.
    pub index: u32,
    /// Its volume amplifier.
    pub volume: AmpControl,
    /// Whether it can mute (its volume amplifier, or another on its path).
    pub can_mute: bool,
}

/// Linux's names for per-output volume controls (hda_generic's
/// `get_line_out_pfx` and its headphone and speaker controls), one per
/// volume amplifier, from the roles of the paths each amplifier carries.
fn port_labels(amps: &[Vec<OutputRole>]) -> Vec<(String, u32)> {
    const CHANNELS: [&str; 4] = ["Front", "Surround", "CLFE", "Side"];
    let line_amps = amps.iter().filter(|r| r.contains(&OutputRole::LineOut)).count();
    let mut line_ch = 0;
    let mut out: Vec<(String, u32)> = Vec::new();
    for roles in amps {
        let has = |r: OutputRole| roles.contains(&r);
        let label = if has(OutputRole::LineOut) {
            let ch = line_ch;
            line_ch += 1;
            match (ch, has(OutputRole::Headphone), has(OutputRole::Speaker)) {
                (0, true, false) => "Headphone+LO",
                (0, false, true) => "Speaker+LO",
                _ if line_amps == 1 => "Line Out",
                _ => CHANNELS[ch.min(CHANNELS.len() - 1)],
            }
        } else if has(OutputRole::Speaker) {
            "Speaker"
        } else if has(OutputRole::Headphone) {
            "Headphone"
        } else {
            "Mono"
        };
        let index = out.iter().filter(|(l, _)| l == label).count() as u32;
        out.push((label.into(), index));
    }
    out
}

fn lock(ctrl: &Mutex<Controller>) -> MutexGuard<'_, Controller> {
    ctrl.lock().unwrap_or_else(|e| e.into_inner())
}

impl HdaDevice {
    /// Bring up the controller, read and plan every codec, route outputs and
    /// inputs, and arm jack detection. Interrupts: MSI, else INTx, else none
    /// (streams then poll their position).
    pub fn open(pci: Arc<dyn PciDevice>) -> Result<HdaDevice> {
        Self::open_with(pci, &HdaOptions::default())
    }

    /// [`HdaDevice::open`] with options.
    pub fn open_with(pci: Arc<dyn PciDevice>, options: &HdaOptions) -> Result<HdaDevice> {
        let mut ctrl = Controller::open(pci)?;
        let name = ctrl.name().to_string();
        ctrl.reset()?;
        if ctrl.codec_mask() == 0 {
            return Err(Error::Hardware { device: name, what: "no codec answered after reset (STATESTS is 0)".into() });
        }
        ctrl.init_command_rings()?;
        let mut codecs = Vec::new();
        let mask = ctrl.codec_mask();
        let mut automute_on = true;
        for address in (0..15u8).filter(|a| mask & (1 << a) != 0) {
            let mut codec = match read_codec(&mut ctrl, address) {
                Ok(c) => c,
                Err(e) => {
                    log::warn!("{name}: codec {address} could not be read, skipping it: {e}");
                    continue;
                }
            };
            if crate::codec::pin::apply_overrides(&mut codec, &options.pin_overrides) > 0 {
                log::info!("{name}: codec {address}: pin configuration overridden");
            }
            let hints = options.hints.apply(crate::codec::hints::Hints::for_codec(&codec));
            automute_on &= hints.auto_mute;
            let mut plan = crate::codec::paths::plan_with(&codec, &hints);
            // HDMI/DisplayPort pins are outputs only with a display on them.
            for o in plan.outputs.iter().filter(|o| setup::is_display_pin(&codec, o.pin)) {
                let sink = setup::read_display(&mut ctrl, &codec, o.pin)?;
                match &sink {
                    Sink::None => log::info!("{name}: codec {address}: no display on pin {:#04x}", o.pin),
                    Sink::Eld(e) => log::info!(
                        "{name}: codec {address}: pin {:#04x}: {:?} display \"{}\", speakers {}, LPCM up to {} channels",
                        o.pin,
                        e.connection,
                        e.monitor_name,
                        e.speakers().join(" "),
                        e.max_lpcm_channels()
                    ),
                    Sink::Malformed(why) => {
                        log::warn!("{name}: codec {address}: pin {:#04x}: display ignored, its ELD is malformed: {why}", o.pin)
                    }
                }
                plan.displays.push(Display { pin: o.pin, path: o.clone(), sink });
            }
            let shown: Vec<u8> =
                plan.displays.iter().filter(|d| !matches!(d.sink, Sink::Eld(_))).map(|d| d.pin).collect();
            plan.outputs.retain(|o| !shown.contains(&o.pin));
            setup::power_up(&mut ctrl, &codec)?;
            for o in &plan.outputs {
                setup::enable_output(&mut ctrl, &codec, o)?;
            }
            for i in &plan.inputs {
                setup::enable_input(&mut ctrl, &codec, i)?;
            }
            setup::enable_jack_events(&mut ctrl, &codec, &plan)?;
            setup::update_automute(&mut ctrl, &codec, &plan, hints.auto_mute)?;
            automic_codec(&mut ctrl, &codec, &plan)?;
            codecs.push(CodecPlan { codec, plan });
        }
        if codecs.is_empty() {
            return Err(Error::Hardware { device: name, what: "no codec could be read".into() });
        }
        let irq = match ctrl.enable_interrupts() {
            Ok(irq) => Some(irq),
            Err(e) => {
                log::warn!("{name}: no interrupts ({e}); streams will poll");
                None
            }
        };
        if options.position == PositionSource::PositionBuffer {
            ctrl.enable_position_buffer()?;
        }
        let dev = HdaDevice {
            ctrl: Arc::new(Mutex::new(ctrl)),
            codecs,
            irq,
            name,
            position: options.position,
            levels: Mutex::new(None),
            automute: std::sync::atomic::AtomicBool::new(automute_on),
        };
        dev.read_levels()?;
        Ok(dev)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// RIRB overruns the controller reported (codec responses lost).
    pub fn rirb_overruns(&self) -> u64 {
        lock(&self.ctrl).rirb_overruns()
    }

    /// Codecs with their plans.
    pub fn codecs(&self) -> &[CodecPlan] {
        &self.codecs
    }

    /// Handle jack events: re-check headphone presence and auto-mute the
    /// speakers. Returns whether headphones are plugged in on any codec.
    pub fn poll_jacks(&self) -> Result<bool> {
        let mut ctrl = lock(&self.ctrl);
        if self.take_jack_events(&mut ctrl)? {
            self.automic(&mut ctrl)?;
        }
        self.automute(&mut ctrl)
    }

    /// Service jack events (unsolicited responses): when any arrived, the
    /// speakers are auto-muted or unmuted again. Returns whether any
    /// arrived (the jacks' states may have changed). Cheap when none did:
    /// one register read.
    pub fn service_jacks(&self) -> Result<bool> {
        let mut ctrl = lock(&self.ctrl);
        if !self.take_jack_events(&mut ctrl)? {
            return Ok(false);
        }
        self.automic(&mut ctrl)?;
        self.automute(&mut ctrl)?;
        Ok(true)
    }

    /// Auto-mic: record from the last of a codec's auto-mic pins that has
    /// something plugged in, else from the first (the internal mic).
    fn automic(&self, ctrl: &mut Controller) -> Result<()> {
        for cp in &self.codecs {
            automic_codec(ctrl, &cp.codec, &cp.plan)?;
        }
        Ok(())
    }

    fn take_jack_events(&self, ctrl: &mut Controller) -> Result<bool> {
        let events = ctrl.poll_unsolicited()?;
        if !events.is_empty() {
            log::info!(
                "{}: jack event from codec(s) {:?}",
                self.name,
                events.iter().map(|e| e.codec).collect::<Vec<_>>()
            );
        }
        Ok(!events.is_empty())
    }

    fn automute(&self, ctrl: &mut Controller) -> Result<bool> {
        let enabled = self.automute.load(std::sync::atomic::Ordering::Relaxed);
        let mut any = false;
        for cp in &self.codecs {
            any |= setup::update_automute(ctrl, &cp.codec, &cp.plan, enabled)?;
        }
        Ok(any)
    }

    /// Whether any codec can auto-mute its speaker (a sensing headphone
    /// jack and a speaker): Linux's "Auto-Mute Mode" control exists then.
    pub fn can_automute(&self) -> bool {
        self.codecs.iter().any(|cp| setup::can_automute(&cp.plan))
    }

    /// Whether headphones plugged in silence the speaker (on by default).
    pub fn automute_enabled(&self) -> bool {
        self.automute.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Turn speaker auto-mute on or off, applied to the jacks' state now.
    pub fn set_automute(&self, enabled: bool) -> Result<()> {
        self.automute.store(enabled, std::sync::atomic::Ordering::Relaxed);
        self.automute(&mut lock(&self.ctrl)).map(|_| ())
    }

    /// Every codec's jacks, as Linux labels them ([`jacks::jacks`]), the
    /// index counted across codecs.
    pub fn jacks(&self) -> Vec<Jack> {
        let mut out: Vec<Jack> = Vec::new();
        for cp in &self.codecs {
            for mut j in jacks::jacks(&cp.codec, &cp.plan) {
                j.index = out.iter().filter(|k| k.label == j.label).count() as u32;
                out.push(j);
            }
        }
        out
    }

    /// Whether something is plugged into each of [`HdaDevice::jacks`]
    /// (phantom jacks always are), read from the pins now.
    pub fn jacks_present(&self) -> Result<Vec<bool>> {
        let mut ctrl = lock(&self.ctrl);
        let mut out = Vec::new();
        for cp in &self.codecs {
            for j in jacks::jacks(&cp.codec, &cp.plan) {
                out.push(j.phantom || setup::jack_present(&mut ctrl, &cp.codec, j.pin)?);
            }
        }
        Ok(out)
    }

    /// Open a stream in `direction` with `config`, on the first codec that
    /// has a path that way. The converter must support the rate and size.
    pub fn open_pcm(&self, direction: Direction, config: PcmConfig) -> Result<HdaPcm> {
        let bits = match config.format {
            SampleFormat::S16Le => 16,
            SampleFormat::S32Le => 32,
            SampleFormat::S24Le => 24,
            SampleFormat::U8 => 8,
            other => {
                return Err(Error::Invalid(format!(
                    "{}: HDA streams carry S16_LE, S24_LE (in 32), S32_LE or U8, not {other:?}",
                    self.name
                )))
            }
        };
        let mut ctrl = lock(&self.ctrl);
        let (cp, converters): (&CodecPlan, Vec<u8>) = match direction {
            Direction::Playback => match self.codecs.iter().find(|c| c.plan.primary_output().is_some()) {
                Some(cp) => {
                    let mut dacs: Vec<u8> = cp
                        .plan
                        .outputs
                        .iter()
                        .filter(|o| o.role != crate::codec::paths::OutputRole::Digital)
                        .map(|o| o.dac)
                        .collect();
                    dacs.dedup();
                    (cp, dacs)
                }
                // No analog output (an HDMI controller): the first display
                // connected now (read again: displays come and go).
                None => {
                    let mut found = None;
                    'codecs: for c in &self.codecs {
                        for d in &c.plan.displays {
                            if let Sink::Eld(e) = setup::read_display(&mut ctrl, &c.codec, d.pin)? {
                                found = Some((c, d, e));
                                break 'codecs;
                            }
                        }
                    }
                    let (cp, display, eld) = found.ok_or_else(|| {
                        Error::Invalid(format!("{}: no output path on any codec, and no display connected", self.name))
                    })?;
                    let out = &display.path;
                    let bits_ok = [16u8, 20, 24, 32].contains(&(bits as u8));
                    if config.channels > u16::from(eld.max_lpcm_channels())
                        || !eld.takes_lpcm(config.channels as u8, config.rate, bits as u8)
                        || !bits_ok
                    {
                        return Err(Error::Invalid(format!(
                            "{}: the display \"{}\" on pin {:#04x} does not take {} channels of LPCM at {} Hz, {bits} bits ({})",
                            self.name,
                            eld.monitor_name,
                            out.pin,
                            config.channels,
                            config.rate,
                            lpcm_caps(&eld)
                        )));
                    }
                    if !cp.plan.outputs.iter().any(|o| o.pin == out.pin) {
                        setup::enable_output(&mut ctrl, &cp.codec, out)?;
                    }
                    setup::setup_display_stream(&mut ctrl, &cp.codec, out.dac, out.pin, &eld, config.channels as u8)?;
                    (cp, vec![out.dac])
                }
            },
            Direction::Capture => {
                let cp = self
                    .codecs
                    .iter()
                    .find(|c| !c.plan.inputs.is_empty())
                    .ok_or_else(|| Error::Invalid(format!("{}: no input path on any codec", self.name)))?;
                (cp, vec![cp.plan.inputs[0].adc])
            }
        };
        let conv = converters[0];
        let pcm = cp.codec.node(conv).and_then(|n| n.pcm).unwrap_or(cp.codec.default_pcm);
        if !pcm.rates().contains(&config.rate) || !pcm.bits().contains(&bits) {
            return Err(Error::Invalid(format!(
                "{}: converter {conv:#04x} does not do {} Hz at {bits} bits (rates {:?}, bits {:?})",
                self.name,
                config.rate,
                pcm.rates(),
                pcm.bits()
            )));
        }
        let max_channels = cp.codec.node(conv).map(|n| n.channels()).unwrap_or(2);
        if u32::from(config.channels) > max_channels || config.channels == 0 {
            return Err(Error::Invalid(format!(
                "{}: converter {conv:#04x} carries 1 to {max_channels} channels, not {}",
                self.name, config.channels
            )));
        }
        let caps = ctrl.caps();
        let (index, tag) = match direction {
            Direction::Playback => (caps.output_descriptor(0), 1),
            Direction::Capture => (caps.input_descriptor(0), 2),
        };
        let index =
            index.ok_or_else(|| Error::Invalid(format!("{}: no {direction:?} stream descriptor", self.name)))?;
        let period_bytes = config.period_frames * config.frame_bytes();
        let scfg =
            StreamConfig { rate: config.rate, bits, channels: config.channels, period_bytes, periods: config.periods };
        let stream = Stream::setup(&ctrl, index, tag, scfg)?;
        let fmt = stream.format()?;
        for &c in &converters {
            ctrl.send(Verb::long(cp.codec.address, c, SET_CONVERTER_FORMAT, fmt))?;
            ctrl.send(Verb::new(cp.codec.address, c, SET_CHANNEL_STREAMID, tag << 4))?;
        }
        Ok(HdaPcm {
            ctrl: self.ctrl.clone(),
            stream,
            direction,
            config,
            codec: cp.codec.address,
            converters,
            irq: self.irq.clone(),
            pci: ctrl.pci().clone(),
            position_buffer: match self.position {
                PositionSource::PositionBuffer => ctrl.position_buffer(),
                PositionSource::Lpib => None,
            },
            state: PcmState::Prepared,
            xruns: 0,
        })
    }
}

/// [`HdaDevice::automic`] for one codec.
fn automic_codec(ctrl: &mut Controller, codec: &Codec, plan: &Plan) -> Result<()> {
    let Some(&first) = plan.auto_mic.first() else { return Ok(()) };
    let mut pick = first;
    for &pin in plan.auto_mic.iter().skip(1).rev() {
        if setup::jack_present(ctrl, codec, pin)? {
            pick = pin;
            break;
        }
    }
    match plan.inputs.iter().find(|i| i.pin == pick) {
        Some(path) => crate::codec::controls::select_input(ctrl, codec, plan, path),
        None => Ok(()),
    }
}

/// What a display takes, for messages: "LPCM 8 ch, 32000-192000 Hz, 16/20/24 bits".
fn lpcm_caps(eld: &crate::codec::eld::Eld) -> String {
    let lpcm: Vec<String> = eld
        .sads
        .iter()
        .filter(|s| s.coding == 1)
        .map(|s| {
            let bits: Vec<String> = s.bits.iter().map(u8::to_string).collect();
            format!("LPCM {} ch at {:?} Hz, {} bits", s.channels, s.rates, bits.join("/"))
        })
        .collect();
    if lpcm.is_empty() {
        "it lists no LPCM".into()
    } else {
        format!("it takes {}", lpcm.join("; "))
    }
}

/// Mixer controls: output volume, capture gain and capture source, on the
/// codecs and paths that [`HdaDevice::open_pcm`] streams through (see
/// [`crate::codec::controls`] for where each control sits).
impl HdaDevice {
    /// The codec playback streams go to.
    fn playback_codec(&self) -> Option<&CodecPlan> {
        self.codecs.iter().find(|c| c.plan.primary_output().is_some())
    }

    /// The codec capture streams come from, and its capture ADC.
    fn capture_codec(&self) -> Option<(&CodecPlan, u8)> {
        let cp = self.codecs.iter().find(|c| !c.plan.inputs.is_empty())?;
        Some((cp, cp.plan.inputs.first()?.adc))
    }

    /// Each analog output path's volume amplifier, and its mute where that
    /// amplifier has none: one entry per volume amplifier (shared ones
    /// once), the primary output's first.
    fn output_controls(&self) -> Vec<(AmpControl, Option<AmpControl>)> {
        self.output_amps().into_iter().map(|(v, m, _)| (v, m)).collect()
    }

    /// [`Self::output_controls`] with the roles of the paths each carries.
    fn output_amps(&self) -> Vec<(AmpControl, Option<AmpControl>, Vec<OutputRole>)> {
        let Some(cp) = self.playback_codec() else { return Vec::new() };
        let mut out: Vec<(AmpControl, Option<AmpControl>, Vec<OutputRole>)> = Vec::new();
        for o in cp.plan.outputs.iter().filter(|o| o.role != OutputRole::Digital) {
            let Some(vol) = controls::output_volume(&cp.codec, o) else { continue };
            let key = (vol.nid, vol.output, vol.index);
            if let Some((_, _, roles)) = out.iter_mut().find(|(v, _, _)| (v.nid, v.output, v.index) == key) {
                roles.push(o.role);
                continue;
            }
            let mute = if vol.can_mute() { None } else { controls::output_mute(&cp.codec, o) };
            out.push((vol, mute, vec![o.role]));
        }
        out
    }

    /// The outputs with volume amplifiers of their own, when there are
    /// several (with one, the output volume is that amplifier and this is
    /// empty), in [`Self::set_port_volume_db`] order.
    pub fn output_ports(&self) -> Vec<OutputPort> {
        let amps = self.output_amps();
        if amps.len() < 2 {
            return Vec::new();
        }
        let labels = port_labels(&amps.iter().map(|(_, _, r)| r.clone()).collect::<Vec<_>>());
        amps.into_iter()
            .zip(labels)
            .map(|((volume, mute, _), (label, index))| OutputPort {
                label,
                index,
                can_mute: volume.can_mute() || mute.is_some(),
                volume,
            })
            .collect()
    }

    /// With several output amplifiers, take their levels as the codec has
    /// them, the master at the top of its range.
    fn read_levels(&self) -> Result<()> {
        let (Some(cp), amps) = (self.playback_codec(), self.output_controls()) else { return Ok(()) };
        if amps.len() < 2 {
            return Ok(());
        }
        let mut ports = Vec::new();
        let mut ctrl = lock(&self.ctrl);
        for (vol, mute) in &amps {
            let v = controls::read_amp(&mut ctrl, cp.codec.address, vol)?;
            let m = match mute {
                Some(m) => controls::read_amp(&mut ctrl, cp.codec.address, m)?.map(|x| x.muted),
                None => [false; 2],
            };
            ports.push([vol.db(v[0]).filter(|_| !m[0]), vol.db(v[1]).filter(|_| !m[1])]);
        }
        drop(ctrl);
        let top = amps[0].0.caps.db(amps[0].0.steps());
        *self.levels.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(Levels { master: [Some(top); 2], master_top: top, ports });
        Ok(())
    }

    /// Put output amplifier `k` at its level plus the master's offset.
    fn apply_level(&self, ctrl: &mut Controller, levels: &Levels, k: usize) -> Result<()> {
        let (Some(cp), Some((vol, mute))) = (self.playback_codec(), self.output_controls().get(k).copied()) else {
            return Ok(());
        };
        let side = |i: usize| match (levels.ports.get(k).and_then(|p| p[i]), levels.master[i]) {
            (Some(p), Some(m)) => Some(p + m - levels.master_top),
            _ => None,
        };
        let db = [side(0), side(1)];
        controls::set_amp_db(ctrl, cp.codec.address, &vol, db)?;
        if let Some(m) = mute {
            controls::set_amp_mute(ctrl, cp.codec.address, &m, [db[0].is_none(), db[1].is_none()])?;
        }
        Ok(())
    }

    /// Set output `port`'s own volume ([`Self::output_ports`]), each side
    /// in dB (`None` muted); it plays at that plus the master's offset.
    pub fn set_port_volume_db(&self, port: usize, db: [Option<f64>; 2]) -> Result<()> {
        let mut guard = self.levels.lock().unwrap_or_else(|e| e.into_inner());
        let Some(levels) = guard.as_mut() else {
            return Err(Error::Invalid(format!("{}: one output volume, no per-output ones", self.name)));
        };
        let Some(slot) = levels.ports.get_mut(port) else {
            return Err(Error::Invalid(format!("{}: no output {port}", self.name)));
        };
        *slot = db;
        let levels = levels.clone();
        drop(guard);
        self.apply_level(&mut lock(&self.ctrl), &levels, port)
    }

    /// Output `port`'s own volume as set, per side in dB (`None`: muted).
    pub fn port_volume_db(&self, port: usize) -> Result<[Option<f64>; 2]> {
        let guard = self.levels.lock().unwrap_or_else(|e| e.into_inner());
        guard
            .as_ref()
            .and_then(|l| l.ports.get(port).copied())
            .ok_or_else(|| Error::Invalid(format!("{}: no output {port}", self.name)))
    }

    /// The amplifiers that carry the output volume: one per analog output
    /// path (shared ones once), the primary output's first.
    pub fn output_volume_controls(&self) -> Vec<AmpControl> {
        self.output_controls().into_iter().map(|(v, _)| v).collect()
    }

    /// Whether the output volume can mute (its amplifier, or another on the
    /// primary output's path).
    pub fn output_can_mute(&self) -> bool {
        self.output_controls().first().is_some_and(|(v, m)| v.can_mute() || m.is_some())
    }

    /// Set the output volume on every analog output: each side in dB (each
    /// amplifier takes its nearest step), `None` muted (with the path's
    /// mute where the volume amplifier has none; its gain then goes to the
    /// lowest step).
    pub fn set_output_volume_db(&self, db: [Option<f64>; 2]) -> Result<()> {
        let Some(cp) = self.playback_codec() else { return Ok(()) };
        let levels = self.levels.lock().unwrap_or_else(|e| e.into_inner()).as_mut().map(|levels| {
            levels.master = db.map(|d| d.map(|d| d.min(levels.master_top)));
            levels.clone()
        });
        if let Some(levels) = levels {
            // A master over several outputs: each plays at its own level
            // plus the master's offset.
            let mut ctrl = lock(&self.ctrl);
            return (0..levels.ports.len()).try_for_each(|k| self.apply_level(&mut ctrl, &levels, k));
        }
        let mut ctrl = lock(&self.ctrl);
        for (vol, mute) in self.output_controls() {
            controls::set_amp_db(&mut ctrl, cp.codec.address, &vol, db)?;
            if let Some(m) = mute {
                controls::set_amp_mute(&mut ctrl, cp.codec.address, &m, [db[0].is_none(), db[1].is_none()])?;
            }
        }
        Ok(())
    }

    /// The output volume as the primary output's amplifiers have it, per
    /// side in dB (`None`: muted); `None` without a volume amplifier.
    pub fn output_volume_db(&self) -> Result<Option<[Option<f64>; 2]>> {
        if let Some(levels) = self.levels.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            return Ok(Some(levels.master));
        }
        let (Some(cp), Some((vol, mute))) = (self.playback_codec(), self.output_controls().first().copied()) else {
            return Ok(None);
        };
        let mut ctrl = lock(&self.ctrl);
        let v = controls::read_amp(&mut ctrl, cp.codec.address, &vol)?;
        let m = match mute {
            Some(m) => controls::read_amp(&mut ctrl, cp.codec.address, &m)?.map(|x| x.muted),
            None => [false; 2],
        };
        Ok(Some([vol.db(v[0]).filter(|_| !m[0]), vol.db(v[1]).filter(|_| !m[1])]))
    }

    /// The capture sources: the input paths into the capture ADC, in the
    /// plan's order.
    pub fn capture_sources(&self) -> Vec<InputPath> {
        let Some((cp, adc)) = self.capture_codec() else { return Vec::new() };
        cp.plan.inputs.iter().filter(|i| i.adc == adc).cloned().collect()
    }

    /// The pin of the capture source the codec records now: the first whose
    /// path is live (selected at every selector, unmuted at every mixer).
    pub fn selected_capture_source(&self) -> Result<Option<u8>> {
        let Some((cp, _)) = self.capture_codec() else { return Ok(None) };
        let mut ctrl = lock(&self.ctrl);
        for path in self.capture_sources() {
            if controls::input_active(&mut ctrl, &cp.codec, &path)? {
                return Ok(Some(path.pin));
            }
        }
        Ok(None)
    }

    /// Record from the input at `pin` alone.
    pub fn select_capture_source(&self, pin: u8) -> Result<()> {
        let sources = self.capture_sources();
        let (Some((cp, _)), Some(path)) = (self.capture_codec(), sources.iter().find(|p| p.pin == pin)) else {
            return Err(Error::Invalid(format!(
                "{}: pin {pin:#04x} is not a capture source (sources: {:02x?})",
                self.name,
                sources.iter().map(|p| p.pin).collect::<Vec<_>>()
            )));
        };
        controls::select_input(&mut lock(&self.ctrl), &cp.codec, &cp.plan, path)
    }

    /// The amplifier that carries the capture gain of the selected source
    /// (the first source when none reads as selected).
    pub fn capture_gain_control(&self) -> Result<Option<AmpControl>> {
        let Some((cp, _)) = self.capture_codec() else { return Ok(None) };
        let sources = self.capture_sources();
        let pin = self.selected_capture_source()?;
        let path = sources.iter().find(|p| Some(p.pin) == pin).or(sources.first());
        Ok(path.and_then(|p| controls::capture_volume(&cp.codec, p)))
    }

    /// Set the selected source's capture gain, each side in dB (`None` muted).
    pub fn set_capture_gain_db(&self, db: [Option<f64>; 2]) -> Result<()> {
        let (Some((cp, _)), Some(a)) = (self.capture_codec(), self.capture_gain_control()?) else { return Ok(()) };
        controls::set_amp_db(&mut lock(&self.ctrl), cp.codec.address, &a, db)
    }

    /// The selected source's capture gain per side in dB (`None`: muted);
    /// `None` without a capture amplifier.
    pub fn capture_gain_db(&self) -> Result<Option<[Option<f64>; 2]>> {
        let (Some((cp, _)), Some(a)) = (self.capture_codec(), self.capture_gain_control()?) else {
            return Ok(None);
        };
        let v = controls::read_amp(&mut lock(&self.ctrl), cp.codec.address, &a)?;
        Ok(Some([a.db(v[0]), a.db(v[1])]))
    }
}

impl Drop for HdaDevice {
    fn drop(&mut self) {
        if let Err(e) = lock(&self.ctrl).shutdown() {
            log::warn!("{}: shutdown: {e}", self.name);
        }
    }
}

/// A running or ready HDA stream.
pub struct HdaPcm {
    ctrl: Arc<Mutex<Controller>>,
    stream: Stream,
    direction: Direction,
    config: PcmConfig,
    codec: u8,
    converters: Vec<u8>,
    irq: Option<IrqEvent>,
    /// What the real-time path needs of the controller, held apart from
    /// its lock: a control request's verbs (which wait for the codec) must
    /// never hold up the engine's period (the kernel keeps the codec bus
    /// under its own lock, apart from the stream's registers).
    pci: Arc<dyn PciDevice>,
    /// The DMA position buffer when the position comes from it (else LPIB).
    position_buffer: Option<outboard_hal::dma::DmaBuffer>,
    state: PcmState,
    xruns: u64,
}

impl HdaPcm {
    /// The stream descriptor behind this PCM.
    pub fn stream(&self) -> &Stream {
        &self.stream
    }

    fn hal(e: Error) -> outboard_hal::Error {
        match e {
            Error::Hal(h) => h,
            other => outboard_hal::Error::Invalid(other.to_string()),
        }
    }
}

impl PcmStream for HdaPcm {
    fn direction(&self) -> Direction {
        self.direction
    }
    fn config(&self) -> PcmConfig {
        self.config
    }
    fn state(&self) -> PcmState {
        self.state
    }
    fn start(&mut self) -> outboard_hal::Result<()> {
        self.stream.start().map_err(Self::hal)?;
        self.state = PcmState::Running;
        Ok(())
    }
    /// Stop the DMA and rewind the stream: a later start plays (or
    /// records) from ring position 0.
    fn stop(&mut self) -> outboard_hal::Result<()> {
        self.stream.rewind().map_err(Self::hal)?;
        if let Some(b) = &self.position_buffer {
            // Reset: position 0 until the controller next writes it.
            b.write_u32(usize::from(self.stream.index()) * 8, 0)?;
        }
        self.state = PcmState::Prepared;
        Ok(())
    }
    fn position(&mut self) -> outboard_hal::Result<usize> {
        let bytes = match &self.position_buffer {
            Some(b) => b.read_u32(usize::from(self.stream.index()) * 8)? as usize,
            None => self.stream.lpib().map_err(Self::hal)?,
        };
        Ok((bytes / self.config.frame_bytes()) % self.config.buffer_frames())
    }
    fn write_frames(&mut self, offset: usize, data: &[u8]) -> outboard_hal::Result<()> {
        self.stream.write(offset * self.config.frame_bytes(), data).map_err(Self::hal)
    }
    fn read_frames(&mut self, offset: usize, out: &mut [u8]) -> outboard_hal::Result<()> {
        let size = self.config.buffer_frames() * self.config.frame_bytes();
        let start = (offset * self.config.frame_bytes()) % size;
        let first = out.len().min(size - start);
        self.stream.buffer().read_bytes(start, &mut out[..first])?;
        if first < out.len() {
            self.stream.buffer().read_bytes(0, &mut out[first..])?;
        }
        Ok(())
    }
    fn wait_period(&mut self, timeout: Duration) -> outboard_hal::Result<()> {
        // Check this stream's own status first and wait on the shared
        // interrupt only in short slices: with several streams on one
        // controller, another stream's waiter may have taken the event.
        // Without an interrupt line the status bit is polled: the controller
        // sets BCIS at every period end whether or not it interrupts.
        let deadline = Instant::now() + timeout;
        let slice = (self.config.period_time() / 2).max(Duration::from_millis(1));
        loop {
            let sts = self.stream.ack().map_err(Self::hal)?;
            if u32::from(sts) & sd::sts::FIFOE.mask() != 0 {
                self.xruns += 1; // FIFO error: the engine under- or overran
            }
            if u32::from(sts) & sd::sts::BCIS.mask() != 0 {
                return Ok(());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(outboard_hal::Error::Timeout {
                    device: self.stream_name(),
                    what: "a period to complete".into(),
                    ms: timeout.as_millis() as u64,
                });
            }
            match &self.irq {
                Some(irq) => {
                    match irq.wait(left.min(slice)) {
                        Ok(_) | Err(outboard_hal::Error::Timeout { .. }) => {}
                        Err(e) => return Err(e),
                    }
                    self.pci.unmask_irq()?;
                }
                None => std::thread::sleep(left.min(self.config.period_time() / 8)),
            }
        }
    }
    fn xruns(&self) -> u64 {
        self.xruns
    }
    /// The stream's DMA engine walks the ring on the link's clock.
    fn free_running(&self) -> bool {
        true
    }
}

impl HdaPcm {
    fn stream_name(&self) -> String {
        format!("{} stream {}", lock(&self.ctrl).name(), self.stream.index())
    }
}

impl Drop for HdaPcm {
    fn drop(&mut self) {
        let _ = self.stream.stop();
        let mut ctrl = lock(&self.ctrl);
        for &c in &self.converters {
            let _ = ctrl.send(Verb::new(self.codec, c, SET_CHANNEL_STREAMID, 0));
        }
    }
}
