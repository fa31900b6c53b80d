//! Playing and recording at once on a device's own streams: what every
//! measurement does. No mixer and no sound server in between: the
//! playback stream's ring is fed and the capture stream's ring drained
//! directly, period by period, as the streams' driver walks them.

use std::time::{Duration, Instant};

use outboard_hal::pcm::{PcmConfig, PcmStream};
use outboard_mixer::format::{decode, encode};

/// What went wrong while playing and recording.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("{what}: {source}")]
    Device {
        what: &'static str,
        #[source]
        source: outboard_hal::Error,
    },
    #[error("the streams do not match: playback runs at {play} Hz, capture at {rec} Hz")]
    Rates { play: u32, rec: u32 },
    #[error("the measurement fell behind the device: {0} (a whole ring went by unseen; try a longer --period)")]
    Behind(String),
    #[error("the device stopped moving: no period in {0:?}")]
    Stalled(Duration),
}

/// A recording made while a signal played.
#[derive(Clone, Debug, PartialEq)]
pub struct Recording {
    /// One vector a capture channel, `frames` long.
    pub inputs: Vec<Vec<f64>>,
    /// Playback frames that had already gone out when the capture stream
    /// started: capture frame `n` is contemporary with playback frame
    /// `n + offset`.
    pub offset: usize,
}

/// Follows a stream's position through the ring's wraps.
struct Walk {
    last: usize,
    total: u64,
    buffer: usize,
    looked: Instant,
    /// The ring's length in time, for streams whose position runs freely.
    ring_time: Option<Duration>,
}

impl Walk {
    /// Follow `stream` from its position `from`.
    fn new(stream: &dyn PcmStream, from: usize) -> Walk {
        let cfg = stream.config();
        Walk {
            last: from,
            total: 0,
            buffer: cfg.buffer_frames(),
            looked: Instant::now(),
            ring_time: stream.free_running().then(|| ring_time(&cfg)),
        }
    }

    fn update(&mut self, stream: &mut dyn PcmStream, what: &'static str) -> Result<u64, SessionError> {
        let pos = stream.position().map_err(|source| SessionError::Device { what, source })?;
        let now = Instant::now();
        if let Some(ring) = self.ring_time {
            if now - self.looked >= ring {
                return Err(SessionError::Behind(format!("{what}: {:?} between looks", now - self.looked)));
            }
        }
        self.looked = now;
        self.total += ((pos + self.buffer - self.last) % self.buffer) as u64;
        self.last = pos;
        Ok(self.total)
    }
}

fn ring_time(cfg: &PcmConfig) -> Duration {
    Duration::from_secs_f64(cfg.buffer_frames() as f64 / f64::from(cfg.rate.max(1)))
}

/// Play `outputs` (one vector a playback channel; missing channels play
/// silence, and silence follows the signal) and record `frames` frames.
/// Both streams are started here and stopped before it returns.
pub fn play_and_record(
    play: &mut dyn PcmStream,
    rec: &mut dyn PcmStream,
    outputs: &[Vec<f64>],
    frames: usize,
) -> Result<Recording, SessionError> {
    let pc = play.config();
    let rc = rec.config();
    if pc.rate != rc.rate {
        return Err(SessionError::Rates { play: pc.rate, rec: rc.rate });
    }
    let result = run(play, rec, outputs, frames);
    let stopped_play = play.stop();
    let stopped_rec = rec.stop();
    let recording = result?;
    stopped_play.map_err(|source| SessionError::Device { what: "stopping playback", source })?;
    stopped_rec.map_err(|source| SessionError::Device { what: "stopping capture", source })?;
    Ok(recording)
}

fn run(
    play: &mut dyn PcmStream,
    rec: &mut dyn PcmStream,
    outputs: &[Vec<f64>],
    frames: usize,
) -> Result<Recording, SessionError> {
    let pc = play.config();
    let rc = rec.config();
    let (pch, rch) = (usize::from(pc.channels), usize::from(rc.channels));
    let pbuf = pc.buffer_frames();
    let rbuf = rc.buffer_frames();
    // A stream picks up where it stopped (an HDA stream's DMA pauses, a USB
    // stream's pump keeps its count): the signal starts at each ring's
    // position now, not at its start.
    let p0 = play.position().map_err(|source| SessionError::Device { what: "playback position", source })?;
    let c0 = rec.position().map_err(|source| SessionError::Device { what: "capture position", source })?;
    let mut written: u64 = 0;
    let mut block = Vec::new();
    let mut feed = |play: &mut dyn PcmStream, upto: u64, written: &mut u64| -> Result<(), SessionError> {
        while *written < upto {
            let at = ((*written + p0 as u64) % pbuf as u64) as usize;
            let n = ((upto - *written) as usize).min(pbuf - at);
            let samples: Vec<f32> = (0..n * pch)
                .map(|i| {
                    let frame = *written as usize + i / pch;
                    outputs.get(i % pch).and_then(|ch| ch.get(frame)).copied().unwrap_or(0.0) as f32
                })
                .collect();
            block.resize(n * pc.frame_bytes(), 0);
            encode(pc.format, &samples, &mut block);
            play.write_frames(at, &block)
                .map_err(|source| SessionError::Device { what: "writing playback", source })?;
            *written += n as u64;
        }
        Ok(())
    };
    feed(play, pbuf as u64, &mut written)?;
    play.start().map_err(|source| SessionError::Device { what: "starting playback", source })?;
    rec.start().map_err(|source| SessionError::Device { what: "starting capture", source })?;
    let mut pwalk = Walk::new(play, p0);
    let mut rwalk = Walk::new(rec, c0);
    let offset = pwalk.update(play, "playback position")? as usize;
    let mut inputs = vec![Vec::with_capacity(frames); rch];
    let mut read: u64 = 0;
    let mut raw = Vec::new();
    let mut samples = Vec::new();
    let timeout = rc.period_time() * 4 + Duration::from_millis(200);
    while (read as usize) < frames {
        let waited = Instant::now();
        rec.wait_period(timeout).map_err(|source| SessionError::Device { what: "waiting for capture", source })?;
        let captured = rwalk.update(rec, "capture position")?;
        let played = pwalk.update(play, "playback position")?;
        if captured == read && waited.elapsed() >= timeout {
            return Err(SessionError::Stalled(timeout));
        }
        if played > written {
            return Err(SessionError::Behind(format!(
                "playback ran dry: the device took {} frames not yet written",
                played - written
            )));
        }
        feed(play, played + pbuf as u64, &mut written)?;
        if captured - read > rbuf as u64 {
            return Err(SessionError::Behind(format!(
                "{} capture frames waiting in a {rbuf}-frame ring",
                captured - read
            )));
        }
        while read < captured && (read as usize) < frames {
            let at = ((read + c0 as u64) % rbuf as u64) as usize;
            let n = ((captured - read) as usize).min(rbuf - at).min(frames - read as usize);
            raw.resize(n * rc.frame_bytes(), 0);
            rec.read_frames(at, &mut raw).map_err(|source| SessionError::Device { what: "reading capture", source })?;
            samples.resize(n * rch, 0.0);
            decode(rc.format, &raw, &mut samples);
            for (i, v) in samples.iter().enumerate() {
                inputs[i % rch].push(f64::from(*v));
            }
            read += n as u64;
        }
    }
    Ok(Recording { inputs, offset })
}

#[cfg(test)]
mod tests {
    use super::*;
    use outboard_emu::loopback::Loopback;
    use outboard_hal::pcm::{Direction, SampleFormat};

    #[test]
    fn what_plays_comes_back_delayed_on_the_loopback() {
        let card = Loopback::new("delay=77".parse().unwrap(), 48_000, 2);
        let cfg = PcmConfig { format: SampleFormat::S32Le, rate: 48_000, channels: 2, period_frames: 480, periods: 4 };
        let mut play = card.open(Direction::Playback, cfg).unwrap();
        let mut rec = card.open(Direction::Capture, cfg).unwrap();
        let left: Vec<f64> = (0..10_000).map(|i| ((i % 100) as f64 - 50.0) / 128.0).collect();
        let right: Vec<f64> = left.iter().map(|v| -v / 2.0).collect();
        let r = play_and_record(&mut play, &mut rec, &[left.clone(), right.clone()], 12_000).unwrap();
        assert_eq!(r.offset, 0);
        assert_eq!(r.inputs.len(), 2);
        assert_eq!(r.inputs[0].len(), 12_000);
        assert!(r.inputs[0][..77].iter().all(|&v| v == 0.0));
        assert!(
            r.inputs[0][77..10_077] == left[..] && r.inputs[1][77..10_077] == right[..],
            "the signal came back changed"
        );
        assert!(r.inputs[0][10_077..].iter().all(|&v| v == 0.0));
        // Again on the same streams: a second run starts afresh.
        // Again on the same streams: they pick up where they stopped (not
        // at the ring's start), and the signal still comes back whole.
        assert_ne!(play.position().unwrap(), 0);
        let r2 = play_and_record(&mut play, &mut rec, std::slice::from_ref(&left), 10_100).unwrap();
        assert!(r2.inputs[0][..77].iter().all(|&v| v == 0.0), "the first run's tail");
        assert!(r2.inputs[0][77..10_077] == left[..], "the second run's signal came back changed");
    }
}
