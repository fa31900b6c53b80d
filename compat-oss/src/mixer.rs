//! `/dev/mixer`: the OSS 3 mixer device, on the device's own controls
//! ([`crate::hw::HwControls`]) and the mixer engine's master gain.
//!
//! | channel | acts on |
//! |---|---|
//! | VOLUME | the device's output volume (HDA: the output paths' amplifiers; USB: the playback path's feature unit); without one, the master gain |
//! | PCM | the mixer engine's master gain |
//! | IGAIN | the capture path's gain (HDA: the selected input's capture amplifier; USB: the capture feature unit) |
//! | RECSRC / RECMASK | the capture source (HDA: the ADC's inputs; USB: a selector unit on the capture path), one at a time (SOUND_CAP_EXCL_INPUT) |
//!
//! Levels are 0-100 per channel, left | right << 8, as OSS has them.
//!
//! **Hardware levels** map as Linux's OSS emulation (`sound/core/oss/mixer_oss.c`)
//! maps them onto a control: linearly onto the control's own steps, which
//! are steps of dB on both HDA amplifiers and USB feature units, so the
//! mapping is linear in dB from the control's minimum (level 1 and up) to its
//! maximum (100). Level `L` is step `(L × steps + 50) / 100`, at
//! `min_dB + step × step_dB`; level 0 is muted (or the lowest step where the
//! control has no mute). Read back, a step gives the level last written if
//! that level still maps to it, else `(step × 100 + steps / 2) / steps`.
//! A mono control takes the left level and answers it for both sides.
//!
//! **The master gain** (PCM, and VOLUME without a hardware control) is
//! linear in amplitude: level / 100 (50 is -6.02 dB, 0 is silence); with
//! both on it, their product. One gain for both sides: their mean.
//!
//! **Recording sources** get the OSS channel of their kind (mic: MIC, line:
//! LINE, CD: CD, aux: LINE1-3, digital: DIGITAL1-3, ...); a second source of
//! a kind whose channel is taken gets the next free of LINE1-LINE3.
//! SOUND_MIXER_WRITE_RECSRC selects one: of the bits set, those not set
//! before win, then the lowest, as Linux's OSS emulation picks for an
//! exclusive input; 0 leaves the selection as it is; a bit outside RECMASK
//! is EINVAL. It answers the sources now selected.
//!
//! It also answers OSS 4's device-discovery ioctls ([`crate::info`]).

use std::sync::{Arc, Mutex};

use outboard_cuse::{Errno, Handler, Request};
use outboard_mixer::engine::Engine;

use crate::hw::{Gain, GainRange, HwControls, Side, SourceKind};
use crate::info::{Asker, OssSystem};
use crate::soundcard::*;

/// Level `level` (0-100) as a step of a control with `steps` steps (Linux's
/// `snd_mixer_oss_conv2`: rounded to the nearest).
pub fn level_to_step(level: u32, steps: u32) -> u32 {
    (level.min(100) * steps + 50) / 100
}

/// Step `step` as a level, keeping `old` (the level last written) if it maps
/// to that step (Linux's `snd_mixer_oss_conv1`).
pub fn step_to_level(step: u32, steps: u32, old: u32) -> u32 {
    if steps == 0 {
        return old.min(100);
    }
    let step = step.min(steps);
    if level_to_step(old, steps) == step {
        old.min(100)
    } else {
        (step * 100 + steps / 2) / steps
    }
}

/// A channel level clamped as OSS does: each side at most 100.
fn level(v: u32) -> u32 {
    let l = (v & 0xff).min(100);
    let r = ((v >> 8) & 0xff).min(100);
    l | (r << 8)
}

fn sides(v: u32) -> (u32, u32) {
    (v & 0xff, (v >> 8) & 0xff)
}

/// The master gain a level means: their mean / 100, in amplitude.
fn gain(v: u32) -> f32 {
    let (l, r) = sides(v);
    (l + r) as f32 / 2.0 / 100.0
}

/// The OSS channels a kind of source may take, in order of preference.
fn channels_for(kind: SourceKind) -> &'static [u32] {
    const LINES: [u32; 3] = [SOUND_MIXER_LINE1, SOUND_MIXER_LINE2, SOUND_MIXER_LINE3];
    match kind {
        SourceKind::Mic => &[SOUND_MIXER_MIC, LINES[0], LINES[1], LINES[2]],
        SourceKind::Line => &[SOUND_MIXER_LINE, LINES[0], LINES[1], LINES[2]],
        SourceKind::Cd => &[SOUND_MIXER_CD, LINES[0], LINES[1], LINES[2]],
        SourceKind::Aux | SourceKind::Other => &LINES,
        SourceKind::Digital => &[SOUND_MIXER_DIGITAL1, SOUND_MIXER_DIGITAL2, SOUND_MIXER_DIGITAL3],
        SourceKind::Video => &[SOUND_MIXER_VIDEO],
        SourceKind::Radio => &[SOUND_MIXER_RADIO],
        SourceKind::Phone => &[SOUND_MIXER_PHONEIN],
    }
}

/// The OSS channel of each source (`None`: no channel left for it). Every
/// source first gets its kind's own channel if free, then the others take
/// what is left of theirs.
pub fn assign_channels(kinds: &[SourceKind]) -> Vec<Option<u32>> {
    let mut taken = 0u32;
    let mut out: Vec<Option<u32>> = vec![None; kinds.len()];
    for (i, k) in kinds.iter().enumerate() {
        let first = channels_for(*k)[0];
        if taken & mask(first) == 0 {
            taken |= mask(first);
            out[i] = Some(first);
        }
    }
    for (i, k) in kinds.iter().enumerate() {
        if out[i].is_none() {
            out[i] = channels_for(*k).iter().copied().find(|c| taken & mask(*c) == 0);
            if let Some(c) = out[i] {
                taken |= mask(c);
            }
        }
    }
    out
}

/// What the handler remembers between calls.
struct State {
    /// Master-gain levels of VOLUME (without a hardware control) and PCM.
    volume: u32,
    pcm: u32,
    /// The levels last written to the hardware's controls, for read-back
    /// rounding; `None` until one is written.
    hw_volume: Option<u32>,
    hw_igain: Option<u32>,
}

/// The handler behind /dev/mixer.
pub struct Mixer {
    engine: Arc<Engine>,
    system: Arc<OssSystem>,
    /// This mixer's number in `system`.
    dev: usize,
    hw: Option<Arc<dyn HwControls>>,
    /// The hardware's ranges (`None`: no such control), read once.
    output: Option<GainRange>,
    capture: Option<GainRange>,
    /// (OSS channel, index in `hw.sources()`) of each selectable source.
    sources: Vec<(u32, usize)>,
    state: Mutex<State>,
}

const FULL: u32 = 100 | (100 << 8);

fn int_arg(input: &[u8]) -> Result<u32, Errno> {
    input.get(..4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).ok_or(libc::EINVAL)
}

fn reply(v: u32) -> Result<(i32, Vec<u8>), Errno> {
    Ok((0, v.to_le_bytes().to_vec()))
}

fn hw_error(what: &str) -> impl Fn(String) -> Errno + '_ {
    move |e| {
        log::warn!("/dev/mixer: {what}: {e}");
        libc::EIO
    }
}

impl Mixer {
    /// A mixer alone on its card (named "Outboard", at /dev/mixer).
    pub fn new(engine: Arc<Engine>) -> Mixer {
        let system = Arc::new(OssSystem::single("Outboard", engine.clone(), &[], Some("/dev/mixer")));
        Self::build(engine, system, 0)
    }

    /// Mixer `dev` of `system`, acting on its card's engine.
    pub fn on(system: Arc<OssSystem>, dev: usize) -> Result<Mixer, String> {
        let node = system.mixer_nodes().get(dev).ok_or_else(|| format!("no mixer {dev}"))?;
        let engine = system.cards().get(node.card).ok_or_else(|| format!("no card {}", node.card))?.engine.clone();
        Ok(Self::build(engine, system, dev))
    }

    fn build(engine: Arc<Engine>, system: Arc<OssSystem>, dev: usize) -> Mixer {
        let state = State { volume: FULL, pcm: FULL, hw_volume: None, hw_igain: None };
        Mixer {
            engine,
            system,
            dev,
            hw: None,
            output: None,
            capture: None,
            sources: Vec::new(),
            state: Mutex::new(state),
        }
    }

    /// The same mixer acting on the device's own controls too (see the
    /// module docs for which channel does what).
    pub fn with_hw(mut self, hw: Arc<dyn HwControls>) -> Mixer {
        let usable = |r: Option<GainRange>| r.filter(|r| r.steps > 0 && r.step_db.is_finite() && r.step_db > 0.0);
        self.output = usable(hw.gain_range(Gain::Output));
        self.capture = usable(hw.gain_range(Gain::Capture));
        let kinds: Vec<SourceKind> = hw.sources().iter().map(|s| s.kind).collect();
        let names: Vec<String> = hw.sources().into_iter().map(|s| s.name).collect();
        self.sources = assign_channels(&kinds)
            .into_iter()
            .enumerate()
            .filter_map(|(i, c)| match c {
                Some(c) => Some((c, i)),
                None => {
                    log::info!("/dev/mixer: no OSS channel left for capture source {}", names[i]);
                    None
                }
            })
            .collect();
        self.hw = Some(hw);
        // What VOLUME no longer carries leaves the master gain.
        self.apply_master(&self.state.lock().unwrap_or_else(|e| e.into_inner()));
        self
    }

    fn apply_master(&self, st: &State) {
        let volume = if self.output.is_some() { 1.0 } else { gain(st.volume) };
        self.engine.set_master_gain(volume * gain(st.pcm));
    }

    /// DEVMASK: the channels this mixer has.
    pub fn devmask(&self) -> u32 {
        let igain = if self.capture.is_some() { mask(SOUND_MIXER_IGAIN) } else { 0 };
        mask(SOUND_MIXER_VOLUME) | mask(SOUND_MIXER_PCM) | igain
    }

    /// STEREODEVS: the channels with left and right apart.
    pub fn stereodevs(&self) -> u32 {
        let volume = if self.output.is_none_or(|r| r.stereo) { mask(SOUND_MIXER_VOLUME) } else { 0 };
        let igain = if self.capture.is_some_and(|r| r.stereo) { mask(SOUND_MIXER_IGAIN) } else { 0 };
        volume | mask(SOUND_MIXER_PCM) | igain
    }

    /// RECMASK: the sources that can be selected.
    pub fn recmask(&self) -> u32 {
        self.sources.iter().fold(0, |m, (c, _)| m | mask(*c))
    }

    fn recsrc(&self) -> Result<u32, Errno> {
        let Some(hw) = self.hw.as_ref().filter(|_| !self.sources.is_empty()) else { return Ok(0) };
        let selected = hw.selected_source().map_err(hw_error("reading the capture source"))?;
        Ok(selected.and_then(|s| self.sources.iter().find(|(_, i)| *i == s)).map(|(c, _)| mask(*c)).unwrap_or(0))
    }

    fn set_recsrc(&self, st: &State, wanted: u32) -> Result<u32, Errno> {
        if wanted & !self.recmask() != 0 {
            log::debug!("/dev/mixer: recording source mask {wanted:#x} is not within {:#x}", self.recmask());
            return Err(libc::EINVAL);
        }
        let current = self.recsrc()?;
        let (Some(hw), true) = (&self.hw, wanted != 0) else { return Ok(current) };
        let fresh = wanted & !current;
        let pick = if fresh != 0 { fresh } else { wanted };
        let channel = pick.trailing_zeros();
        let Some(&(_, index)) = self.sources.iter().find(|(c, _)| *c == channel) else { return Err(libc::EINVAL) };
        hw.select_source(index).map_err(hw_error("selecting the capture source"))?;
        // The capture gain may sit on the source's own path: keep its level.
        if let (Some(range), Some(level)) = (self.capture, st.hw_igain) {
            self.write_hw(Gain::Capture, range, level)?;
        }
        self.system.mixer_changed(self.dev);
        self.recsrc()
    }

    fn write_hw(&self, gain: Gain, range: GainRange, v: u32) -> Result<(), Errno> {
        let Some(hw) = &self.hw else { return Err(libc::EINVAL) };
        let (l, r) = sides(v);
        let r = if range.stereo { r } else { l };
        let side = |lev: u32| -> Side {
            if lev == 0 && range.can_mute {
                None
            } else {
                Some(range.db(level_to_step(lev, range.steps)))
            }
        };
        hw.set_gain(gain, [side(l), side(r)]).map_err(hw_error("setting a gain"))
    }

    fn read_hw(&self, gain: Gain, range: GainRange, old: Option<u32>) -> Result<u32, Errno> {
        let Some(hw) = &self.hw else { return Err(libc::EINVAL) };
        let [l, r] = hw.gain(gain).map_err(hw_error("reading a gain"))?;
        let as_level = |s: Side, old: Option<u32>| match s {
            None => 0,
            Some(db) => {
                let step = range.step_of(db);
                match old {
                    Some(old) => step_to_level(step, range.steps, old),
                    // Nothing written yet: the step's own level.
                    None => (step * 100 + range.steps / 2) / range.steps,
                }
            }
        };
        let l = as_level(l, old.map(|o| o & 0xff));
        let r = if range.stereo { as_level(r, old.map(|o| (o >> 8) & 0xff)) } else { l };
        Ok(l | (r << 8))
    }

    /// A channel's level as MIXER_READ answers it.
    fn read_channel(&self, st: &State, channel: u32) -> Result<u32, Errno> {
        match (channel, self.output, self.capture) {
            (SOUND_MIXER_VOLUME, Some(range), _) => self.read_hw(Gain::Output, range, st.hw_volume),
            (SOUND_MIXER_VOLUME, None, _) => Ok(st.volume),
            (SOUND_MIXER_PCM, _, _) => Ok(st.pcm),
            (SOUND_MIXER_IGAIN, _, Some(range)) => self.read_hw(Gain::Capture, range, st.hw_igain),
            _ => Err(libc::EINVAL),
        }
    }

    /// MIXER_WRITE: set a channel, answer its level as read back.
    fn write_channel(&self, st: &mut State, channel: u32, v: u32) -> Result<u32, Errno> {
        let v = level(v);
        match (channel, self.output, self.capture) {
            (SOUND_MIXER_VOLUME, Some(range), _) => {
                let v = if range.stereo { v } else { (v & 0xff) * 0x101 };
                self.write_hw(Gain::Output, range, v)?;
                st.hw_volume = Some(v);
            }
            (SOUND_MIXER_VOLUME, None, _) => st.volume = v,
            (SOUND_MIXER_PCM, _, _) => st.pcm = v,
            (SOUND_MIXER_IGAIN, _, Some(range)) => {
                let v = if range.stereo { v } else { (v & 0xff) * 0x101 };
                self.write_hw(Gain::Capture, range, v)?;
                st.hw_igain = Some(v);
            }
            _ => return Err(libc::EINVAL),
        }
        self.apply_master(st);
        self.system.mixer_changed(self.dev);
        self.read_channel(st, channel)
    }
}

impl Handler for Mixer {
    fn open(&self, _req: &Request, _flags: u32) -> Result<u64, Errno> {
        Ok(1)
    }
    fn release(&self, _req: &Request, _fh: u64) {}
    fn read(&self, _req: &Request, _fh: u64, _size: u32, _flags: u32) -> Result<Vec<u8>, Errno> {
        Err(libc::EINVAL)
    }
    fn write(&self, _req: &Request, _fh: u64, _data: &[u8], _flags: u32) -> Result<u32, Errno> {
        Err(libc::EINVAL)
    }
    fn ioctl(&self, req: &Request, _fh: u64, cmd: u32, input: &[u8]) -> Result<(i32, Vec<u8>), Errno> {
        if let Some(r) = self.system.ioctl(Asker::Mixer(self.dev), req.uid, cmd, input) {
            return r;
        }
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match cmd {
            SOUND_MIXER_READ_DEVMASK => reply(self.devmask()),
            SOUND_MIXER_READ_STEREODEVS => reply(self.stereodevs()),
            SOUND_MIXER_READ_RECMASK => reply(self.recmask()),
            SOUND_MIXER_READ_CAPS => reply(if self.recmask() != 0 { SOUND_CAP_EXCL_INPUT } else { 0 }),
            SOUND_MIXER_READ_RECSRC => reply(self.recsrc()?),
            SOUND_MIXER_WRITE_RECSRC => reply(self.set_recsrc(&st, int_arg(input)?)?),
            OSS_GETVERSION => reply(SOUND_VERSION as u32),
            // MIXER_READ(channel) and MIXER_WRITE(channel).
            c if c == mixer_read(c & 0xff) && c & 0xff < SOUND_MIXER_NRDEVICES => {
                reply(self.read_channel(&st, c & 0xff)?)
            }
            c if c == mixer_write(c & 0xff) && c & 0xff < SOUND_MIXER_NRDEVICES => {
                reply(self.write_channel(&mut st, c & 0xff, int_arg(input)?)?)
            }
            _ => Err(libc::EINVAL),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Numbers as soundcard.h (Linux's and OSS 4.1's) gives them on x86_64.
    #[test]
    fn numbers_match_soundcard_h() {
        assert_eq!(SOUND_MIXER_READ_VOLUME, 0x8004_4d00);
        assert_eq!(SOUND_MIXER_WRITE_VOLUME, 0xc004_4d00);
        assert_eq!(SOUND_MIXER_READ_DEVMASK, 0x8004_4dfe);
        assert_eq!(SOUND_MIXER_READ_IGAIN, 0x8004_4d0c);
        assert_eq!(SOUND_MIXER_WRITE_IGAIN, 0xc004_4d0c);
        assert_eq!(SOUND_MIXER_READ_RECSRC, 0x8004_4dff);
        assert_eq!(SOUND_MIXER_WRITE_RECSRC, 0xc004_4dff);
        assert_eq!(SOUND_MIXER_READ_CAPS, 0x8004_4dfc);
        assert_eq!(SOUND_MIXER_INFO, 0x805c_4d65);
        assert_eq!(mask(SOUND_MIXER_MIC), 0x80);
        assert_eq!(mask(SOUND_MIXER_LINE), 0x40);
        assert_eq!(mask(SOUND_MIXER_CD), 0x100);
        assert_eq!(mask(SOUND_MIXER_LINE1), 0x4000);
        assert_eq!(mask(SOUND_MIXER_DIGITAL1), 0x2_0000);
        assert_eq!(mask(SOUND_MIXER_RADIO), 0x80_0000);
    }

    #[test]
    fn levels_and_master_gain() {
        assert_eq!(level(50 | (200 << 8)), 50 | (100 << 8));
        assert_eq!(gain(50 | (50 << 8)), 0.5);
    }

    /// Linux's snd_mixer_oss_conv1/conv2 on a 74-step control (QEMU's
    /// hda-duplex amps) and a 31-step one.
    #[test]
    fn levels_map_onto_steps_as_linux_does() {
        assert_eq!(level_to_step(50, 74), 37);
        assert_eq!(level_to_step(100, 74), 74);
        assert_eq!(level_to_step(1, 74), 1);
        assert_eq!(level_to_step(0, 74), 0);
        assert_eq!(level_to_step(30, 31), 9);
        // 33 and 34 both land on step 10 of 31: each reads back as written.
        assert_eq!(level_to_step(33, 31), 10);
        assert_eq!(level_to_step(34, 31), 11);
        assert_eq!(level_to_step(32, 31), 10);
        assert_eq!(step_to_level(10, 31, 33), 33);
        assert_eq!(step_to_level(10, 31, 32), 32);
        // Another step than the old level's: the step's own level.
        assert_eq!(step_to_level(10, 31, 50), 32);
        assert_eq!(step_to_level(37, 74, 0), 50);
        assert_eq!(step_to_level(74, 74, 0), 100);
    }

    #[test]
    fn sources_get_their_kind_s_channel_then_aux_ones() {
        use SourceKind::*;
        let got = assign_channels(&[Mic, Mic, Line, Cd, Aux, Digital, Mic, Other]);
        assert_eq!(
            got,
            [
                Some(SOUND_MIXER_MIC),
                Some(SOUND_MIXER_LINE2),
                Some(SOUND_MIXER_LINE),
                Some(SOUND_MIXER_CD),
                Some(SOUND_MIXER_LINE1),
                Some(SOUND_MIXER_DIGITAL1),
                Some(SOUND_MIXER_LINE3),
                None
            ]
        );
    }
}
