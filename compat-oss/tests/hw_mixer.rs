//! /dev/mixer on a device's own controls: what an OSS 3 mixer program sets
//! and reads back (levels, masks, the recording source), against a device
//! that keeps its controls on their grid of steps as hardware does. The
//! drivers' own controls are tested in the root crate (tests/hw_mixer.rs).

use std::sync::{Arc, Mutex};

use outboard_cuse::{Handler, Request};
use outboard_mixer::devices::{MemoryDevice, Pacing};
use outboard_mixer::engine::Engine;
use outboard_mixer::format::SampleFormat;
use outboard_mixer::pcm::{PcmConfig, PcmStream};
use outboard_oss::hw::{Gain, GainRange, HwControls, Side, Source, SourceKind};
use outboard_oss::info::OssSystem;
use outboard_oss::mixer::*;
use outboard_oss::soundcard::*;

const REQ: Request = Request::new(1, 4321, 0, 0);
const CFG: PcmConfig =
    PcmConfig { format: SampleFormat::S16Le, rate: 48_000, channels: 2, period_frames: 256, periods: 4 };

/// A device whose controls hold what was set, on their grid.
struct FakeHw {
    output: Option<GainRange>,
    capture: Option<GainRange>,
    sources: Vec<Source>,
    state: Mutex<FakeState>,
}

#[derive(Default)]
struct FakeState {
    output: [Side; 2],
    /// Capture gain per source (it sits on the source's own path, as on HDA).
    capture: Vec<[Side; 2]>,
    selected: usize,
    fail: bool,
    calls: Vec<String>,
}

fn on_grid(r: &GainRange, s: Side) -> Side {
    s.map(|db| r.db(r.step_of(db)))
}

impl HwControls for FakeHw {
    fn gain_range(&self, gain: Gain) -> Option<GainRange> {
        match gain {
            Gain::Output => self.output,
            Gain::Capture => self.capture,
            Gain::Port(_) => None,
        }
    }
    fn gain(&self, gain: Gain) -> Result<[Side; 2], String> {
        let st = self.state.lock().unwrap();
        if st.fail {
            return Err("the device is gone".into());
        }
        Ok(match gain {
            Gain::Output => st.output,
            Gain::Capture => st.capture[st.selected],
            Gain::Port(_) => return Err("no per-output volumes".into()),
        })
    }
    fn set_gain(&self, gain: Gain, sides: [Side; 2]) -> Result<(), String> {
        let mut st = self.state.lock().unwrap();
        if st.fail {
            return Err("the device is gone".into());
        }
        st.calls.push(format!("{gain:?} {sides:?}"));
        let r = self.gain_range(gain).ok_or("no such gain")?;
        let mut v = [on_grid(&r, sides[0]), on_grid(&r, sides[1])];
        if !r.stereo {
            v[1] = v[0];
        }
        match gain {
            Gain::Output => st.output = v,
            Gain::Capture => {
                let s = st.selected;
                st.capture[s] = v;
            }
            Gain::Port(_) => return Err("no per-output volumes".into()),
        }
        Ok(())
    }
    fn sources(&self) -> Vec<Source> {
        self.sources.clone()
    }
    fn selected_source(&self) -> Result<Option<usize>, String> {
        Ok(Some(self.state.lock().unwrap().selected))
    }
    fn select_source(&self, index: usize) -> Result<(), String> {
        let mut st = self.state.lock().unwrap();
        st.calls.push(format!("select {index}"));
        st.selected = index;
        Ok(())
    }
}

/// QEMU hda-duplex's DAC amp: 74 steps of 1 dB, 0 dB at the top, with mute.
const AMP74: GainRange = GainRange { min_db: -74.0, step_db: 1.0, steps: 74, stereo: true, can_mute: true };
/// An ADC amp of 31 steps of 1.5 dB from -16.5 dB (+30 dB at the top).
const ADC31: GainRange = GainRange { min_db: -16.5, step_db: 1.5, steps: 31, stereo: true, can_mute: true };

fn source(kind: SourceKind, name: &str) -> Source {
    Source { kind, name: name.into() }
}

fn fake(output: Option<GainRange>, capture: Option<GainRange>, sources: Vec<Source>) -> Arc<FakeHw> {
    let n = sources.len().max(1);
    let state =
        FakeState { output: [Some(0.0), Some(0.0)], capture: vec![[Some(0.0), Some(0.0)]; n], ..FakeState::default() };
    Arc::new(FakeHw { output, capture, sources, state: Mutex::new(state) })
}

fn engine() -> Arc<Engine> {
    let play: Box<dyn PcmStream> = Box::new(MemoryDevice::null(CFG, Pacing::RealTime));
    Arc::new(Engine::start_with(Some(play), None).unwrap())
}

fn mixer(hw: Arc<FakeHw>) -> (Mixer, Arc<Engine>) {
    let e = engine();
    let system = Arc::new(OssSystem::single("HDA 0000:00:1b.0", e.clone(), &["/dev/dsp"], Some("/dev/mixer")));
    (Mixer::on(system, 0).unwrap().with_hw(hw), e)
}

fn ioctl(m: &Mixer, cmd: u32, arg: u32) -> Result<u32, i32> {
    m.ioctl(&REQ, 1, cmd, &arg.to_le_bytes()).map(|(_, out)| u32::from_le_bytes(out[..4].try_into().unwrap()))
}

fn lr(l: u32, r: u32) -> u32 {
    l | (r << 8)
}

#[test]
fn volume_sets_the_device_s_output_linear_in_db_and_pcm_the_master_gain() {
    let hw = fake(Some(AMP74), None, Vec::new());
    let (m, e) = mixer(hw.clone());
    // The amp is at 0 dB, its top: 100.
    assert_eq!(ioctl(&m, SOUND_MIXER_READ_VOLUME, 0), Ok(lr(100, 100)));
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_VOLUME, lr(50, 50)), Ok(lr(50, 50)));
    // 50 of 74 steps: step 37, -37 dB.
    assert_eq!(hw.state.lock().unwrap().output, [Some(-37.0), Some(-37.0)]);
    assert_eq!(e.master_gain(), 1.0, "VOLUME no longer touches the master gain");
    // Left and right apart; 0 mutes that side.
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_VOLUME, lr(75, 0)), Ok(lr(75, 0)));
    assert_eq!(hw.state.lock().unwrap().output, [Some(-18.0), None]);
    // PCM is the master gain, linear in amplitude.
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_PCM, lr(50, 50)), Ok(lr(50, 50)));
    assert_eq!(e.master_gain(), 0.5);
    assert_eq!(hw.state.lock().unwrap().output, [Some(-18.0), None], "PCM leaves the amp alone");
    assert_eq!(ioctl(&m, SOUND_MIXER_READ_DEVMASK, 0), Ok(mask(SOUND_MIXER_VOLUME) | mask(SOUND_MIXER_PCM)));
}

#[test]
fn levels_read_back_as_oss_rounds_them() {
    // 31 steps: 33 and 32 both land on step 10.
    let hw = fake(Some(GainRange { steps: 31, step_db: 1.5, min_db: -46.5, ..AMP74 }), None, Vec::new());
    let (m, _e) = mixer(hw.clone());
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_VOLUME, lr(33, 32)), Ok(lr(33, 32)));
    assert_eq!(hw.state.lock().unwrap().output, [Some(-31.5), Some(-31.5)]);
    assert_eq!(ioctl(&m, SOUND_MIXER_READ_VOLUME, 0), Ok(lr(33, 32)));
    // Someone else moves the amp: the step's own level comes back.
    hw.state.lock().unwrap().output = [Some(-16.5), Some(0.0)];
    assert_eq!(ioctl(&m, SOUND_MIXER_READ_VOLUME, 0), Ok(lr(65, 100)));
    // Over 100 is 100.
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_VOLUME, lr(180, 255)), Ok(lr(100, 100)));
    assert_eq!(hw.state.lock().unwrap().output, [Some(0.0), Some(0.0)]);
}

#[test]
fn a_mono_control_takes_the_left_level_and_no_mute_means_the_lowest_step() {
    let mono = GainRange { stereo: false, can_mute: false, ..AMP74 };
    let hw = fake(Some(mono), None, Vec::new());
    let (m, _e) = mixer(hw.clone());
    assert_eq!(ioctl(&m, SOUND_MIXER_READ_STEREODEVS, 0), Ok(mask(SOUND_MIXER_PCM)));
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_VOLUME, lr(20, 90)), Ok(lr(20, 20)));
    assert_eq!(hw.state.lock().unwrap().output, [Some(-59.0), Some(-59.0)]);
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_VOLUME, 0), Ok(0));
    assert_eq!(hw.state.lock().unwrap().output, [Some(-74.0), Some(-74.0)], "no mute: the lowest step");
}

#[test]
fn without_an_output_control_volume_is_the_master_gain() {
    let hw = fake(None, None, Vec::new());
    let (m, e) = mixer(hw.clone());
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_VOLUME, lr(50, 50)), Ok(lr(50, 50)));
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_PCM, lr(50, 50)), Ok(lr(50, 50)));
    assert_eq!(e.master_gain(), 0.25);
    assert!(hw.state.lock().unwrap().calls.is_empty());
    assert_eq!(ioctl(&m, SOUND_MIXER_READ_IGAIN, 0), Err(libc::EINVAL), "no capture gain: no IGAIN");
    assert_eq!(ioctl(&m, SOUND_MIXER_READ_CAPS, 0), Ok(0));
    assert_eq!(ioctl(&m, SOUND_MIXER_READ_RECMASK, 0), Ok(0));
}

#[test]
fn recording_sources_are_named_by_kind_and_selected_one_at_a_time() {
    let sources = vec![
        source(SourceKind::Mic, "Mic at 0x12"),
        source(SourceKind::Line, "Line at 0x14"),
        source(SourceKind::Cd, "CD at 0x16"),
        source(SourceKind::Mic, "Mic at 0x13"),
    ];
    let hw = fake(Some(AMP74), Some(ADC31), sources);
    let (m, _e) = mixer(hw.clone());
    let all = mask(SOUND_MIXER_MIC) | mask(SOUND_MIXER_LINE) | mask(SOUND_MIXER_CD) | mask(SOUND_MIXER_LINE1);
    assert_eq!(ioctl(&m, SOUND_MIXER_READ_RECMASK, 0), Ok(all));
    assert_eq!(ioctl(&m, SOUND_MIXER_READ_CAPS, 0), Ok(SOUND_CAP_EXCL_INPUT));
    assert_eq!(ioctl(&m, SOUND_MIXER_READ_RECSRC, 0), Ok(mask(SOUND_MIXER_MIC)));
    assert_eq!(
        ioctl(&m, SOUND_MIXER_READ_DEVMASK, 0),
        Ok(mask(SOUND_MIXER_VOLUME) | mask(SOUND_MIXER_PCM) | mask(SOUND_MIXER_IGAIN))
    );

    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_RECSRC, mask(SOUND_MIXER_CD)), Ok(mask(SOUND_MIXER_CD)));
    assert_eq!(hw.state.lock().unwrap().selected, 2);
    // The second mic is LINE1.
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_RECSRC, mask(SOUND_MIXER_LINE1)), Ok(mask(SOUND_MIXER_LINE1)));
    assert_eq!(hw.state.lock().unwrap().selected, 3);
    // Several bits: the new one wins (a program that ORs in a source).
    let r = ioctl(&m, SOUND_MIXER_WRITE_RECSRC, mask(SOUND_MIXER_LINE1) | mask(SOUND_MIXER_LINE));
    assert_eq!(r, Ok(mask(SOUND_MIXER_LINE)));
    // Several new ones: the lowest.
    let r = ioctl(&m, SOUND_MIXER_WRITE_RECSRC, mask(SOUND_MIXER_MIC) | mask(SOUND_MIXER_CD));
    assert_eq!(r, Ok(mask(SOUND_MIXER_MIC)));
    // 0 leaves it; an unknown source is EINVAL and changes nothing.
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_RECSRC, 0), Ok(mask(SOUND_MIXER_MIC)));
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_RECSRC, mask(SOUND_MIXER_RADIO)), Err(libc::EINVAL));
    assert_eq!(
        ioctl(&m, SOUND_MIXER_WRITE_RECSRC, mask(SOUND_MIXER_LINE) | mask(SOUND_MIXER_VIDEO)),
        Err(libc::EINVAL)
    );
    assert_eq!(ioctl(&m, SOUND_MIXER_READ_RECSRC, 0), Ok(mask(SOUND_MIXER_MIC)));
    assert_eq!(hw.state.lock().unwrap().selected, 0);
}

#[test]
fn igain_is_the_capture_gain_and_follows_the_source() {
    let sources = vec![source(SourceKind::Mic, "mic"), source(SourceKind::Line, "line")];
    let hw = fake(None, Some(ADC31), sources);
    let (m, _e) = mixer(hw.clone());
    // 0 dB is step 11 of 31: level 35.
    assert_eq!(ioctl(&m, SOUND_MIXER_READ_IGAIN, 0), Ok(lr(35, 35)));
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_IGAIN, lr(100, 50)), Ok(lr(100, 50)));
    assert_eq!(hw.state.lock().unwrap().capture[0], [Some(30.0), Some(7.5)]);
    // The line's path had its own gain: selecting it carries IGAIN over.
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_RECSRC, mask(SOUND_MIXER_LINE)), Ok(mask(SOUND_MIXER_LINE)));
    assert_eq!(hw.state.lock().unwrap().capture[1], [Some(30.0), Some(7.5)]);
    assert_eq!(ioctl(&m, SOUND_MIXER_READ_IGAIN, 0), Ok(lr(100, 50)));
}

#[test]
fn a_failing_device_is_eio_and_the_mixer_lives() {
    let hw = fake(Some(AMP74), None, Vec::new());
    let (m, _e) = mixer(hw.clone());
    hw.state.lock().unwrap().fail = true;
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_VOLUME, lr(50, 50)), Err(libc::EIO));
    assert_eq!(ioctl(&m, SOUND_MIXER_READ_VOLUME, 0), Err(libc::EIO));
    hw.state.lock().unwrap().fail = false;
    assert_eq!(ioctl(&m, SOUND_MIXER_WRITE_VOLUME, lr(50, 50)), Ok(lr(50, 50)));
    // A short argument is EINVAL, a channel this mixer lacks too.
    assert_eq!(m.ioctl(&REQ, 1, SOUND_MIXER_WRITE_VOLUME, &[1, 2]).unwrap_err(), libc::EINVAL);
    assert_eq!(ioctl(&m, mixer_write(SOUND_MIXER_MIC), lr(50, 50)), Err(libc::EINVAL));
}
