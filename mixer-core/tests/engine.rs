//! The engine as the OSS and ALSA layers will use it: clients in different
//! formats and layouts mixed onto a device, what came out checked sample by
//! sample.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use outboard_mixer::devices::{MemoryDevice, Pacing};
use outboard_mixer::engine::Engine;
use outboard_mixer::format::SampleFormat;
use outboard_mixer::pcm::{Direction, PcmConfig, PcmState, PcmStream};
use outboard_mixer::stream::{StreamError, StreamParams, StreamState};

const PERIOD: usize = 256;

fn device(format: SampleFormat) -> (Engine, Arc<Mutex<Vec<u8>>>) {
    let cfg = PcmConfig { format, rate: 48_000, channels: 2, period_frames: PERIOD, periods: 4 };
    let (dev, played) = MemoryDevice::recording(cfg, Pacing::RealTime);
    (Engine::start(Box::new(dev)).unwrap(), played)
}

/// An engine on a 48 kHz S16 stereo capture device that hears `heard`
/// (its bytes), paced in real time.
fn capture_device(heard: Vec<u8>) -> Engine {
    let cfg = PcmConfig { format: SampleFormat::S16Le, rate: 48_000, channels: 2, period_frames: PERIOD, periods: 4 };
    Engine::start_with(None, Some(Box::new(MemoryDevice::capture(cfg, heard, Pacing::RealTime)))).unwrap()
}

fn s16(v: impl IntoIterator<Item = i16>) -> Vec<u8> {
    v.into_iter().flat_map(|s| s.to_le_bytes()).collect()
}

fn samples16(b: &[u8]) -> Vec<i16> {
    b.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect()
}

/// The device output with the leading silence (the ring's prefill) cut.
fn after_silence(played: &Mutex<Vec<u8>>) -> Vec<i16> {
    let s = samples16(&played.lock().unwrap());
    let start = s.iter().position(|&v| v != 0).unwrap_or(s.len()) / 2 * 2;
    s[start..].to_vec()
}

#[test]
fn a_matching_client_passes_bit_exact() {
    let (engine, played) = device(SampleFormat::S16Le);
    // A ring big enough for the whole signal: the test judges the mixer, not
    // how promptly a loaded test machine schedules the writer.
    let mut p = engine
        .playback(StreamParams { buffer_frames: 32_768, ..StreamParams::new(SampleFormat::S16Le, 48_000, 2, PERIOD) })
        .unwrap();
    let data: Vec<i16> = (0..48_000).map(|i| ((i * 7919) % 60_000 - 30_000) as i16 | 1).collect();
    p.write_all(&s16(data.clone()), Duration::from_secs(5)).unwrap();
    p.drain(Duration::from_secs(5)).unwrap();
    assert_eq!(p.state(), StreamState::Prepared);
    drop(engine);
    let out = after_silence(&played);
    assert!(out.len() >= data.len(), "{} of {} samples played", out.len(), data.len());
    let first_difference = out.iter().zip(&data).position(|(a, b)| a != b);
    assert_eq!(first_difference, None, "passthrough is bit-exact; underruns: {}", p.xruns());
}

#[test]
fn integer_clients_sum_exactly_with_saturation_and_layouts_convert() {
    let (engine, played) = device(SampleFormat::S16Le);
    // A stereo S16 client and a mono S32 client at the same time.
    let mut a = engine
        .playback(StreamParams {
            start_threshold: PERIOD * 2,
            ..StreamParams::new(SampleFormat::S16Le, 48_000, 2, PERIOD)
        })
        .unwrap();
    let mut b = engine
        .playback(StreamParams {
            start_threshold: PERIOD * 2,
            ..StreamParams::new(SampleFormat::S32Le, 48_000, 1, PERIOD)
        })
        .unwrap();
    let frames = PERIOD * 2;
    let left: Vec<i16> = (0..frames).map(|i| 1000 + i as i16).collect();
    let right: Vec<i16> = (0..frames).map(|_| 30_000).collect();
    let stereo: Vec<i16> = left.iter().zip(&right).flat_map(|(l, r)| [*l, *r]).collect();
    let mono: Vec<u8> = (0..frames).flat_map(|_| (5_000i32 << 16).to_le_bytes()).collect();
    a.write_all(&s16(stereo), Duration::from_secs(5)).unwrap();
    b.write_all(&mono, Duration::from_secs(5)).unwrap();
    a.drain(Duration::from_secs(5)).unwrap();
    b.drain(Duration::from_secs(5)).unwrap();
    drop(engine);
    let out = after_silence(&played);
    assert!(out.len() >= frames * 2);
    for f in 0..frames {
        assert_eq!(out[2 * f], left[f] + 5_000, "left frame {f}: the mono client on both sides");
        assert_eq!(out[2 * f + 1], i16::MAX, "right frame {f}: 35000 saturates");
    }
}

#[test]
fn underruns_are_counted_and_alsa_style_streams_stop_until_reset() {
    let (engine, _played) = device(SampleFormat::S16Le);
    let mut oss = engine.playback(StreamParams::new(SampleFormat::S16Le, 48_000, 2, PERIOD)).unwrap();
    let mut alsa = engine
        .playback(StreamParams { stop_on_xrun: true, ..StreamParams::new(SampleFormat::S16Le, 48_000, 2, PERIOD) })
        .unwrap();
    let chunk = s16(vec![100i16; PERIOD * 2]);
    oss.write(&chunk).unwrap();
    alsa.write(&chunk).unwrap();
    std::thread::sleep(Duration::from_millis(100)); // the engine runs dry
    assert!(oss.xruns() > 0 && alsa.xruns() > 0);
    assert_eq!(oss.state(), StreamState::Running, "OSS plays on through silence");
    assert_eq!(alsa.state(), StreamState::Xrun);
    assert_eq!(alsa.write(&chunk), Err(StreamError::Xrun));
    alsa.reset(Duration::from_secs(1)).unwrap();
    assert_eq!(alsa.state(), StreamState::Prepared);
    assert_eq!(alsa.write(&chunk).unwrap(), PERIOD, "recovered");
    assert_eq!(oss.write(&chunk).unwrap(), PERIOD);
}

#[test]
fn a_monitor_hears_what_is_played_and_pointers_move() {
    let (engine, _played) = device(SampleFormat::S16Le);
    let mut mon = engine
        .monitor(StreamParams {
            buffer_frames: PERIOD * 64,
            ..StreamParams::new(SampleFormat::S16Le, 48_000, 1, PERIOD)
        })
        .unwrap();
    mon.start();
    let mut p = engine
        .playback(StreamParams {
            buffer_frames: PERIOD * 16,
            ..StreamParams::new(SampleFormat::S16Le, 48_000, 2, PERIOD)
        })
        .unwrap();
    let frames = PERIOD * 8;
    let data = s16((0..frames).flat_map(|i| [i as i16 * 2, i as i16 * 2]));
    p.write_all(&data, Duration::from_secs(5)).unwrap();
    assert_eq!(p.appl_ptr(), frames as u64);
    p.drain(Duration::from_secs(5)).unwrap();
    assert_eq!(p.hw_ptr(), frames as u64);
    let mut got = vec![0u8; mon.avail() * 2];
    mon.read(&mut got).unwrap();
    let heard = samples16(&got);
    let start = heard.iter().position(|&v| v != 0).unwrap() - 1; // frame 0 is silence too
    let want: Vec<i16> = (0..frames).map(|i| i as i16 * 2).collect();
    assert_eq!(&heard[start..start + frames], &want[..], "mono monitor of an identical stereo pair");
}

#[test]
fn bad_requests_get_errors() {
    let (engine, _played) = device(SampleFormat::S16Le);
    assert!(matches!(
        engine.playback(StreamParams::new(SampleFormat::S16Le, 4_000, 2, PERIOD)),
        Err(StreamError::Invalid(_))
    ));
    assert!(engine.playback(StreamParams::new(SampleFormat::S16Le, 400_000, 2, PERIOD)).is_err());
    assert!(matches!(
        engine.playback(StreamParams::new(SampleFormat::S16Le, 48_000, 9, PERIOD)),
        Err(StreamError::Invalid(_))
    ));
    assert!(matches!(
        engine.playback(StreamParams::new(SampleFormat::S16Le, 48_000, 2, 0)),
        Err(StreamError::Invalid(_))
    ));
    let mut p = engine.playback(StreamParams::new(SampleFormat::S16Le, 48_000, 2, PERIOD)).unwrap();
    assert_eq!(p.write(&[1, 2, 3]).unwrap(), 0, "less than a frame writes nothing");
}

#[test]
fn capture_fans_out_to_every_reader_in_its_own_format() {
    let frames = PERIOD * 16;
    let heard: Vec<i16> = (0..frames * 2).map(|i| (i as i16).wrapping_mul(97)).collect();
    let engine = capture_device(s16(heard.clone()));
    let big = |format, channels| StreamParams {
        buffer_frames: frames * 2,
        ..StreamParams::new(format, 48_000, channels, PERIOD)
    };
    let mut a = engine.capture(big(SampleFormat::S16Le, 2)).unwrap();
    let mut b = engine.capture(big(SampleFormat::S32Be, 2)).unwrap();
    a.start();
    b.start();
    let mut got_a = vec![0u8; frames * 4];
    let mut got_b = vec![0u8; frames * 8];
    a.read_exact(&mut got_a, Duration::from_secs(5)).unwrap();
    b.read_exact(&mut got_b, Duration::from_secs(5)).unwrap();
    let a16 = samples16(&got_a);
    let b16: Vec<i16> =
        got_b.chunks_exact(4).map(|c| (i32::from_be_bytes([c[0], c[1], c[2], c[3]]) >> 16) as i16).collect();
    // Both readers start where they joined; each has an unbroken stretch of what the device heard.
    let find =
        |x: &[i16]| heard.windows(64).position(|w| w == &x[..64]).expect("the capture is a stretch of what was heard");
    let (oa, ob) = (find(&a16), find(&b16));
    assert_eq!(&a16[..], &heard[oa..oa + a16.len()]);
    assert_eq!(&b16[..], &heard[ob..ob + b16.len()], "S32BE reader, bit for bit");
    assert!(
        engine.playback(StreamParams::new(SampleFormat::S16Le, 48_000, 2, PERIOD)).is_err(),
        "no playback stream on this engine"
    );
}

#[test]
fn sixteen_bit_clients_on_an_s32_device_take_the_exact_integer_path_and_master_volume_applies() {
    let (engine, played) = device(SampleFormat::S32Le);
    let big = StreamParams {
        buffer_frames: 8192,
        start_threshold: 4096,
        ..StreamParams::new(SampleFormat::S16Le, 48_000, 2, PERIOD)
    };
    let mut a = engine.playback(big).unwrap();
    let mut b = engine.playback(big).unwrap();
    let frames = 4096;
    let xa: Vec<i16> = (0..frames * 2).map(|i| (i as i16).wrapping_mul(13)).collect();
    let xb: Vec<i16> = (0..frames * 2).map(|i| 20_000 - (i as i16 % 1000)).collect();
    a.write(&s16(xa.clone())).unwrap();
    b.write(&s16(xb.clone())).unwrap();
    a.start_drain();
    b.start_drain();
    a.drain(Duration::from_secs(5)).unwrap();
    b.drain(Duration::from_secs(5)).unwrap();
    // Now half volume through the float path.
    engine.set_master_gain(0.5);
    let mut c = engine
        .playback(StreamParams { buffer_frames: 8192, ..StreamParams::new(SampleFormat::S16Le, 48_000, 2, PERIOD) })
        .unwrap();
    c.write(&s16(vec![10_000i16; 512])).unwrap();
    c.drain(Duration::from_secs(5)).unwrap();
    drop(engine);
    let out: Vec<i32> =
        played.lock().unwrap().chunks_exact(4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    let sum = |p: i16, q: i16| {
        let sum = i32::from(p) + i32::from(q);
        if sum > 32_767 {
            i32::MAX
        } else if sum < -32_768 {
            i32::MIN
        } else {
            sum << 16
        }
    };
    // Each client starts at a period boundary when its own write lands, so on
    // a loaded machine b may start a period or two after a: find that shift
    // (whole periods), then every overlapping sample must be the exact sum.
    let a_start = out.iter().position(|&v| v != 0).unwrap() / 2 * 2;
    let shift = (0..4 * PERIOD * 2)
        .step_by(PERIOD * 2)
        .find(|&k| (0..64).all(|i| out[a_start + k + i] == sum(xa[k + i], xb[i])))
        .expect("b's signal starts at a whole period after a's");
    let overlap = xb.len().min(xa.len() - shift);
    for i in 0..overlap {
        assert_eq!(out[a_start + shift + i], sum(xa[shift + i], xb[i]), "sample {i} of the overlap");
    }
    let half = out[a_start + shift + xb.len()..].iter().find(|&&v| v != 0).copied().unwrap();
    assert_eq!(half, 5_000 << 16, "master at 0.5");
}

/// Peak amplitude and leftover (dBFS) of a least-squares fit of one sine.
fn fit(x: &[f32], rate: f64, freq: f64) -> (f64, f64) {
    let w = 2.0 * std::f64::consts::PI * freq / rate;
    let (mut ss, mut cc, mut sc, mut xs, mut xc) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (n, &v) in x.iter().enumerate() {
        let (s, c) = (w * n as f64).sin_cos();
        ss += s * s;
        cc += c * c;
        sc += s * c;
        xs += f64::from(v) * s;
        xc += f64::from(v) * c;
    }
    let det = ss * cc - sc * sc;
    let a = (xs * cc - xc * sc) / det;
    let b = (xc * ss - xs * sc) / det;
    let residual: f64 = x
        .iter()
        .enumerate()
        .map(|(n, &v)| {
            let (s, c) = (w * n as f64).sin_cos();
            (f64::from(v) - a * s - b * c).powi(2)
        })
        .sum::<f64>()
        / x.len() as f64;
    (a.hypot(b), 10.0 * residual.log10())
}

#[test]
fn clients_at_other_rates_are_resampled_onto_the_device_and_back() {
    // Playback: a 44.1 kHz float client on the 48 kHz device.
    let cfg = PcmConfig { format: SampleFormat::F32Le, rate: 48_000, channels: 2, period_frames: PERIOD, periods: 4 };
    let (dev, played) = MemoryDevice::recording(cfg, Pacing::Immediate);
    let engine = Engine::start(Box::new(dev)).unwrap();
    let frames = 44_100;
    let tone: Vec<u8> = (0..frames)
        .flat_map(|n| ((2.0 * std::f64::consts::PI * 1000.0 * n as f64 / 44_100.0).sin() as f32 * 0.5).to_le_bytes())
        .collect();
    let mut p = engine
        .playback(StreamParams { buffer_frames: frames, ..StreamParams::new(SampleFormat::F32Le, 44_100, 1, PERIOD) })
        .unwrap();
    p.write_all(&tone, Duration::from_secs(5)).unwrap();
    p.drain(Duration::from_secs(5)).unwrap();
    assert_eq!(p.xruns(), 0);
    drop(engine);
    let out: Vec<f32> =
        played.lock().unwrap().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    let left: Vec<f32> = out.iter().step_by(2).copied().collect();
    // The mono client is resampled once and then copied to both sides.
    assert!(out.chunks_exact(2).all(|f| f[0] == f[1]), "both channels carry the same samples");
    let start = left.iter().position(|v| v.abs() > 1e-6).unwrap() + 4800;
    let (amp, rest) = fit(&left[start..start + 24_000], 48_000.0, 1000.0);
    assert!((amp - 0.5).abs() < 1e-4, "level {amp}");
    assert!(rest < -110.0, "everything but the tone: {rest:.1} dBFS");

    // Capture: the 48 kHz device heard by a 16 kHz S16 client.
    let heard: Vec<u8> = (0..48_000 * 4)
        .flat_map(|n| {
            let v = (2.0 * std::f64::consts::PI * 440.0 * n as f64 / 48_000.0).sin() * 0.25;
            let s = ((v * 32768.0).round() as i16).to_le_bytes();
            [s, s].concat()
        })
        .collect();
    let engine = capture_device(heard);
    let mut c = engine
        .capture(StreamParams { buffer_frames: 32_000, ..StreamParams::new(SampleFormat::S16Le, 16_000, 1, PERIOD) })
        .unwrap();
    c.start();
    let mut got = vec![0u8; 16_000 * 2];
    c.read_exact(&mut got, Duration::from_secs(5)).unwrap();
    let x: Vec<f32> = got.chunks_exact(2).map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0).collect();
    let (amp, rest) = fit(&x[1600..], 16_000.0, 440.0);
    assert!((amp - 0.25).abs() < 1e-3, "level {amp}");
    assert!(rest < -85.0, "16-bit capture, everything but the tone: {rest:.1} dBFS");
}

#[test]
fn a_recorder_that_stops_reading_overruns_and_then_reads_the_signal_again() {
    // The device hears a ramp that rises by one per frame (as both
    // channels); a 16 kHz mono S16 client keeps a 4000-frame ring.
    let frames = 48_000 * 4;
    let heard: Vec<u8> = (0..frames).flat_map(|n| s16([(n / 8) as i16, (n / 8) as i16])).collect();
    let engine = capture_device(heard);
    let mut c = engine
        .capture(StreamParams { buffer_frames: 4000, ..StreamParams::new(SampleFormat::S16Le, 16_000, 1, PERIOD) })
        .unwrap();
    c.start();
    let mut first = vec![0u8; 1600 * 2];
    c.read_exact(&mut first, Duration::from_secs(5)).unwrap();
    assert_eq!(c.xruns(), 0);
    // Not reading for 0.6 s: the ring (0.25 s) fills and stays full.
    std::thread::sleep(Duration::from_millis(600));
    assert!(c.xruns() > 0, "a full ring is an overrun");
    assert_eq!(c.state(), StreamState::Running, "an OSS-style recorder goes on");
    // What was in the ring, then the signal from where the device is now:
    // the ramp (a step per 8 device frames) rises 3/8 per 16 kHz frame.
    let mut rest = vec![0u8; 4000 * 2 + 8000 * 2];
    c.read_exact(&mut rest, Duration::from_secs(5)).unwrap();
    let v = samples16(&rest);
    let tail = &v[4000 + 1000..];
    let slope = f64::from(tail[tail.len() - 1] - tail[0]) / (tail.len() - 1) as f64;
    assert!((slope - 0.375).abs() < 0.005, "the ramp goes on at 3/8 per frame: {slope}");
}

#[test]
fn wav_file_devices_play_into_a_file_and_capture_from_one() {
    let dir = std::env::temp_dir().join(format!("outboard-wav-dev-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("played.wav");
    let cfg = PcmConfig { format: SampleFormat::S16Le, rate: 48_000, channels: 2, period_frames: PERIOD, periods: 4 };
    // Paced in real time: an immediate sink would write silence as fast as
    // it can until the client writes (minutes of it once, on a loaded
    // machine with the engine at real-time priority), all of which the
    // capture half below then reads back in real time.
    let engine = Engine::start(Box::new(MemoryDevice::wav_sink(cfg, &path, Pacing::RealTime).unwrap())).unwrap();
    let data: Vec<i16> = (0..PERIOD * 8 * 2).map(|i| (i as i16).wrapping_mul(31) | 1).collect();
    let mut p = engine
        .playback(StreamParams {
            buffer_frames: PERIOD * 16,
            ..StreamParams::new(SampleFormat::S16Le, 48_000, 2, PERIOD)
        })
        .unwrap();
    p.write_all(&s16(data.clone()), Duration::from_secs(5)).unwrap();
    p.drain(Duration::from_secs(5)).unwrap();
    drop(p);
    drop(engine.stop()); // the device, dropped, completes the file
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..4], b"RIFF");
    let played = samples16(&bytes[44..]);
    let start = played.iter().position(|&v| v != 0).unwrap();
    assert_eq!(&played[start..start + data.len()], &data[..], "the file holds what was played");

    // The file as a capture source: a reader hears it back.
    let engine =
        Engine::start_with(None, Some(Box::new(MemoryDevice::wav_source(cfg, &path, Pacing::RealTime).unwrap())))
            .unwrap();
    let mut c = engine
        .capture(StreamParams { buffer_frames: 48_000, ..StreamParams::new(SampleFormat::S16Le, 48_000, 2, PERIOD) })
        .unwrap();
    c.start();
    let mut got = vec![0u8; (start / 2 + data.len() / 2) * 4];
    // Paced in real time: the silence the immediate sink wrote before the
    // signal (more on a loaded machine) takes its own time to come back.
    let lead = Duration::from_secs_f64((start / 2) as f64 / 48_000.0);
    c.read_exact(&mut got, Duration::from_secs(5) + lead).unwrap();
    let heard = samples16(&got);
    assert!(heard.windows(64).any(|w| w == &data[..64]), "the captured file contains the signal");
    assert!(MemoryDevice::wav_source(cfg, &dir.join("missing.wav"), Pacing::Immediate).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A capture device paced by the clock whose ring holds, at each slot, the
/// number of the last frame written there; its `stall_at`-th wait sleeps
/// `stall` longer (an engine thread that was not scheduled).
struct StallingCapture {
    cfg: PcmConfig,
    started: Option<std::time::Instant>,
    waits: u32,
    stall_at: u32,
    stall: Duration,
}

impl StallingCapture {
    fn frames_now(&self) -> u64 {
        self.started.map_or(0, |t| (t.elapsed().as_secs_f64() * f64::from(self.cfg.rate)) as u64)
    }
}

impl PcmStream for StallingCapture {
    fn direction(&self) -> Direction {
        Direction::Capture
    }
    fn config(&self) -> PcmConfig {
        self.cfg
    }
    fn state(&self) -> PcmState {
        PcmState::Running
    }
    fn start(&mut self) -> outboard_hal::Result<()> {
        self.started = Some(std::time::Instant::now());
        Ok(())
    }
    fn stop(&mut self) -> outboard_hal::Result<()> {
        Ok(())
    }
    fn position(&mut self) -> outboard_hal::Result<usize> {
        Ok((self.frames_now() % self.cfg.buffer_frames() as u64) as usize)
    }
    fn write_frames(&mut self, _: usize, _: &[u8]) -> outboard_hal::Result<()> {
        Ok(())
    }
    fn read_frames(&mut self, offset: usize, out: &mut [u8]) -> outboard_hal::Result<()> {
        let ring = self.cfg.buffer_frames() as u64;
        let written = self.frames_now();
        for (j, b) in out.chunks_exact_mut(2).enumerate() {
            let slot = (offset as u64 + j as u64) % ring;
            // The last frame written at this slot: the largest k < written with k = slot (mod ring).
            let k = (written + ring - 1 - slot) / ring * ring + slot - ring;
            b.copy_from_slice(&(k as u16).to_le_bytes());
        }
        Ok(())
    }
    fn wait_period(&mut self, _: Duration) -> outboard_hal::Result<()> {
        self.waits += 1;
        let period = self.cfg.period_frames as u64;
        let next = (self.frames_now() / period + 1) * period;
        let mut sleep = Duration::from_secs_f64((next - self.frames_now().min(next)) as f64 / f64::from(self.cfg.rate));
        if self.waits == self.stall_at {
            sleep += self.stall;
        }
        std::thread::sleep(sleep);
        Ok(())
    }
    fn xruns(&self) -> u64 {
        0
    }
    fn free_running(&self) -> bool {
        true
    }
}

#[test]
fn a_ring_that_went_by_while_the_engine_slept_is_an_overrun_not_silently_skipped_frames() {
    // 1024-frame ring (21 ms); the engine sleeps 2.5 rings once: the
    // position alone would show only half a ring moved.
    let cfg = PcmConfig { format: SampleFormat::S16Le, rate: 48_000, channels: 1, period_frames: PERIOD, periods: 4 };
    let dev = StallingCapture { cfg, started: None, waits: 0, stall_at: 20, stall: Duration::from_micros(53_333) };
    let engine = Engine::start_with(None, Some(Box::new(dev))).unwrap();
    let params =
        StreamParams { buffer_frames: PERIOD * 64, ..StreamParams::new(SampleFormat::S16Le, 48_000, 1, PERIOD) };
    let mut oss = engine.capture(params).unwrap();
    let alsa = engine.capture(StreamParams { stop_on_xrun: true, ..params }).unwrap();
    oss.start();
    alsa.start();
    let mut got = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while got.len() < PERIOD * 50 && std::time::Instant::now() < deadline {
        let mut buf = vec![0u8; PERIOD * 2 * 8];
        let n = oss.read(&mut buf).unwrap();
        got.extend(samples16(&buf[..n * 2]).into_iter().map(|v| v as u16));
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(got.len() >= PERIOD * 50, "only {} frames captured in 5 s", got.len());
    // Frame numbers run on by one, except once: where the lost frames were.
    let jumps: Vec<(usize, u16)> = got
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[1] != w[0].wrapping_add(1))
        .map(|(i, w)| (i, w[1].wrapping_sub(w[0])))
        .collect();
    assert_eq!(jumps.len(), 1, "one gap in what the client read: {jumps:?}");
    assert!(usize::from(jumps[0].1) > cfg.buffer_frames(), "the gap is more than a ring: {jumps:?}");
    assert_eq!(oss.xruns(), 1, "the lost frames are an overrun for the client");
    assert_eq!(alsa.state(), StreamState::Xrun, "an ALSA-style client stops on it");
    let lost = engine.stats().lost_rings.load(std::sync::atomic::Ordering::Relaxed);
    assert!(lost >= 2, "2.5 rings slept (or more on a busy machine): the position showed half of one, {lost} lost");
    assert!(engine.stats().to_string().contains(&format!("{lost} device rings lost")), "{}", engine.stats());
}

#[test]
fn a_float_client_sending_nan_and_infinity_does_not_silence_the_others() {
    let (engine, played) = device(SampleFormat::S16Le);
    let params = |format| StreamParams { buffer_frames: 32_768, ..StreamParams::new(format, 48_000, 2, PERIOD) };
    let mut good = engine.playback(params(SampleFormat::S16Le)).unwrap();
    let mut bad = engine.playback(params(SampleFormat::F32Le)).unwrap();
    // The bad client: NaN, +Inf and -Inf over and over, for as long as the
    // good one plays, started first.
    let junk: Vec<u8> = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY]
        .iter()
        .cycle()
        .take(2 * 12_000)
        .flat_map(|x| x.to_le_bytes())
        .collect();
    bad.write_all(&junk, Duration::from_secs(5)).unwrap();
    let data: Vec<i16> = (0..2 * 12_000).map(|i| ((i * 7919) % 60_000 - 30_000) as i16 | 1).collect();
    good.write_all(&s16(data.clone()), Duration::from_secs(5)).unwrap();
    good.drain(Duration::from_secs(5)).unwrap();
    bad.drain(Duration::from_secs(5)).unwrap();
    drop(engine);
    let out = after_silence(&played);
    assert!(out.len() >= data.len(), "{} of {} samples played", out.len(), data.len());
    let first_difference = out.iter().zip(&data).position(|(a, b)| a != b);
    assert_eq!(first_difference, None, "the good client alone, bit-exact, whatever the other sent");
}

/// A device gone from under the engine: every wait fails at once.
struct Gone {
    cfg: PcmConfig,
    waits: Arc<std::sync::atomic::AtomicU64>,
}

impl PcmStream for Gone {
    fn direction(&self) -> Direction {
        Direction::Playback
    }
    fn config(&self) -> PcmConfig {
        self.cfg
    }
    fn state(&self) -> PcmState {
        PcmState::Running
    }
    fn start(&mut self) -> outboard_hal::Result<()> {
        Ok(())
    }
    fn stop(&mut self) -> outboard_hal::Result<()> {
        Ok(())
    }
    fn position(&mut self) -> outboard_hal::Result<usize> {
        Err(outboard_hal::Error::Disconnected { device: "gone".into() })
    }
    fn write_frames(&mut self, _offset: usize, _data: &[u8]) -> outboard_hal::Result<()> {
        Ok(())
    }
    fn read_frames(&mut self, _offset: usize, _out: &mut [u8]) -> outboard_hal::Result<()> {
        Ok(())
    }
    fn wait_period(&mut self, _timeout: Duration) -> outboard_hal::Result<()> {
        self.waits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Err(outboard_hal::Error::Disconnected { device: "gone".into() })
    }
    fn xruns(&self) -> u64 {
        0
    }
}

#[test]
fn a_device_that_fails_every_wait_does_not_spin_the_engine() {
    let cfg = PcmConfig { format: SampleFormat::S16Le, rate: 48_000, channels: 2, period_frames: PERIOD, periods: 4 };
    let waits = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let engine = Engine::start(Box::new(Gone { cfg, waits: waits.clone() })).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let n = waits.load(std::sync::atomic::Ordering::Relaxed);
    let errors = engine.stats().device_errors.load(std::sync::atomic::Ordering::Relaxed);
    drop(engine);
    // 300 ms of 5.3 ms periods: about 56 tries, one a period, not a spin.
    assert!(n >= 10, "the engine kept trying: {n}");
    assert!(n <= 120, "{n} waits in 300 ms: the engine spins on a failing device");
    assert!(errors >= n.saturating_sub(1), "each failure counted: {errors} of {n}");
}

#[test]
fn an_idle_engine_stops_its_device_and_the_next_client_restarts_it_bit_exact() {
    let (engine, played) = device(SampleFormat::S16Le);
    engine.suspend_when_idle(Some(Duration::from_millis(30)));
    let stats = engine.stats();
    let play = |seed: i32| {
        let mut p = engine
            .playback(StreamParams {
                buffer_frames: 32_768,
                ..StreamParams::new(SampleFormat::S16Le, 48_000, 2, PERIOD)
            })
            .unwrap();
        let data: Vec<i16> = (0..9_600).map(|i| ((i * seed) % 60_000 - 30_000) as i16 | 1).collect();
        p.write_all(&s16(data.clone()), Duration::from_secs(5)).unwrap();
        p.drain(Duration::from_secs(5)).unwrap();
        data
    };
    let suspended = |want: u64| {
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        while stats.suspends.load(std::sync::atomic::Ordering::Relaxed) < want
            || !stats.suspended.load(std::sync::atomic::Ordering::Relaxed)
        {
            assert!(std::time::Instant::now() < deadline, "the engine did not suspend within 3 s: {stats}");
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    suspended(1); // no client from the start
    let first = play(7919);
    suspended(2);
    // Stopped: the device plays nothing more.
    let before = played.lock().unwrap().len();
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(played.lock().unwrap().len(), before, "a suspended device is stopped");
    let second = play(104_729);
    suspended(3);
    drop(engine);
    let out = samples16(&played.lock().unwrap());
    let find = |data: &[i16]| out.windows(data.len()).position(|w| w == data);
    let (a, b) = (find(&first), find(&second));
    assert!(a.is_some(), "the first client's samples came out bit-exact");
    assert!(b.is_some(), "the client that restarted the device came out bit-exact");
    assert!(b > a);
}

/// A capture device that tells whether it runs (the engine's starts and
/// stops) and, as hardware does, fills its ring on its own clock whether
/// or not anyone waits on it (a memory device moves only when waited on).
struct Watched {
    dev: MemoryDevice,
    running: Arc<std::sync::atomic::AtomicBool>,
    starts: Arc<std::sync::atomic::AtomicU64>,
    started: std::time::Instant,
    periods: u32,
}

impl PcmStream for Watched {
    fn direction(&self) -> Direction {
        self.dev.direction()
    }
    fn config(&self) -> PcmConfig {
        self.dev.config()
    }
    fn state(&self) -> PcmState {
        self.dev.state()
    }
    fn start(&mut self) -> outboard_hal::Result<()> {
        self.running.store(true, std::sync::atomic::Ordering::SeqCst);
        self.starts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        // On from where it stopped.
        self.started = std::time::Instant::now() - self.dev.config().period_time() * self.periods;
        self.dev.start()
    }
    fn stop(&mut self) -> outboard_hal::Result<()> {
        self.running.store(false, std::sync::atomic::Ordering::SeqCst);
        self.dev.stop()
    }
    fn position(&mut self) -> outboard_hal::Result<usize> {
        let period = self.dev.config().period_time();
        while self.running.load(std::sync::atomic::Ordering::SeqCst)
            && self.started + period * (self.periods + 1) <= std::time::Instant::now()
        {
            // An immediate memory device completes one period per wait.
            self.dev.wait_period(Duration::ZERO)?;
            self.periods += 1;
        }
        self.dev.position()
    }
    fn write_frames(&mut self, offset: usize, data: &[u8]) -> outboard_hal::Result<()> {
        self.dev.write_frames(offset, data)
    }
    fn read_frames(&mut self, offset: usize, out: &mut [u8]) -> outboard_hal::Result<()> {
        self.dev.read_frames(offset, out)
    }
    fn wait_period(&mut self, _timeout: Duration) -> outboard_hal::Result<()> {
        unreachable!("beside playback the capture device paces nothing")
    }
    fn xruns(&self) -> u64 {
        self.dev.xruns()
    }
    fn free_running(&self) -> bool {
        self.dev.free_running()
    }
}

#[test]
fn beside_playback_the_capture_device_runs_only_while_someone_records() {
    use std::sync::atomic::Ordering::SeqCst;
    let cfg = PcmConfig { format: SampleFormat::S16Le, rate: 48_000, channels: 2, period_frames: PERIOD, periods: 4 };
    let heard: Vec<i16> = (0..PERIOD * 400 * 2).map(|i| (i as i16).wrapping_mul(31) | 1).collect();
    let running = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let starts = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let cap = Watched {
        dev: MemoryDevice::capture(cfg, s16(heard.clone()), Pacing::Immediate),
        running: running.clone(),
        starts: starts.clone(),
        started: std::time::Instant::now(),
        periods: 0,
    };
    let (play, _played) = MemoryDevice::recording(cfg, Pacing::RealTime);
    let engine = Engine::start_with(Some(Box::new(play)), Some(Box::new(cap))).unwrap();
    let until = |what: &str, f: &dyn Fn() -> bool| {
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        while !f() {
            assert!(std::time::Instant::now() < deadline, "{what} within 3 s");
            std::thread::sleep(Duration::from_millis(2));
        }
    };
    std::thread::sleep(Duration::from_millis(50));
    assert!(!running.load(SeqCst), "nobody records: the capture device is not started");
    assert_eq!(starts.load(SeqCst), 0);
    // A playback client does not start it either.
    let mut p = engine.playback(StreamParams::new(SampleFormat::S16Le, 48_000, 2, PERIOD)).unwrap();
    p.write_all(&s16(vec![5; PERIOD * 8]), Duration::from_secs(5)).unwrap();
    std::thread::sleep(Duration::from_millis(30));
    assert!(!running.load(SeqCst), "a player does not start the capture device");
    for round in 1..=2u64 {
        let frames = PERIOD * 8;
        let mut c = engine
            .capture(StreamParams {
                buffer_frames: frames * 2,
                ..StreamParams::new(SampleFormat::S16Le, 48_000, 2, PERIOD)
            })
            .unwrap();
        c.start();
        let mut got = vec![0u8; frames * 4];
        c.read_exact(&mut got, Duration::from_secs(5)).unwrap();
        assert!(running.load(SeqCst), "a recorder runs the capture device");
        assert_eq!(starts.load(SeqCst), round, "started once per recorder");
        let got = samples16(&got);
        let at = heard.windows(64).position(|w| w == &got[..64]).expect("the capture is a stretch of what was heard");
        assert_eq!(&got[..], &heard[at..at + got.len()], "round {round}: bit for bit, unbroken");
        drop(c);
        until("the last recorder gone, the capture device stops", &|| !running.load(SeqCst));
    }
    drop(p);
    drop(engine);
}
