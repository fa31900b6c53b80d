//! Playing and recording through any [`PcmStream`] without the mixer: the
//! driver's ring is filled (or drained) one period at a time as the hardware
//! position moves, woken by the stream's period interrupt.

use std::time::{Duration, Instant};

use outboard_hal::pcm::PcmStream;

/// What a run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub periods: u64,
    /// Xruns the hardware reported.
    pub xruns: u64,
    /// Wakeups so late that the ring may have run dry (or over) unseen.
    pub late_wakeups: u64,
}

/// Wait for the next period. Returns whether the wait (or the work since the
/// last one) took so long that the hardware may have gone round the whole
/// ring: an xrun the position register alone cannot show.
fn wait(pcm: &mut dyn PcmStream, last_wake: &mut Instant) -> Result<bool, String> {
    let cfg = pcm.config();
    let timeout = cfg.period_time() * 4 + Duration::from_millis(500);
    pcm.wait_period(timeout).map_err(|e| format!("{e} (the stream does not run)"))?;
    let now = Instant::now();
    let late = now.duration_since(*last_wake) >= cfg.period_time() * (cfg.periods.max(2) as u32 - 1);
    *last_wake = now;
    Ok(late)
}

/// Play `data` (whole frames in the stream's format), then a ring of
/// silence so the hardware plays out what it holds, then stop.
/// `each_period` runs after every period (jack detection, for one).
pub fn play(pcm: &mut dyn PcmStream, data: &[u8], each_period: &mut dyn FnMut()) -> Result<Stats, String> {
    let cfg = pcm.config();
    let fb = cfg.frame_bytes();
    let period = cfg.period_frames * fb;
    let size = cfg.buffer_frames() * fb;
    let chunk = |at: usize| -> Vec<u8> {
        let mut c = vec![0u8; period];
        if at < data.len() {
            let n = (data.len() - at).min(period);
            c[..n].copy_from_slice(&data[at..at + n]);
        }
        c
    };
    let mut written = 0;
    while written < size {
        pcm.write_frames(written / fb, &chunk(written)).map_err(|e| e.to_string())?;
        written += period;
    }
    pcm.start().map_err(|e| e.to_string())?;
    let (mut consumed, mut last, mut stats) = (0usize, 0usize, Stats::default());
    let mut last_wake = Instant::now();
    let result = (|| -> Result<(), String> {
        while consumed < data.len() + size {
            if wait(pcm, &mut last_wake)? {
                stats.late_wakeups += 1;
            }
            stats.periods += 1;
            each_period();
            let pos = pcm.position().map_err(|e| e.to_string())? * fb;
            consumed += (pos + size - last) % size;
            last = pos;
            while written + period <= consumed + size {
                pcm.write_frames((written % size) / fb, &chunk(written)).map_err(|e| e.to_string())?;
                written += period;
            }
        }
        Ok(())
    })();
    stats.xruns = pcm.xruns();
    pcm.stop().map_err(|e| e.to_string())?;
    result.map(|()| stats)
}

/// Record `frames` frames, then stop.
pub fn record(pcm: &mut dyn PcmStream, frames: usize) -> Result<(Vec<u8>, Stats), String> {
    let cfg = pcm.config();
    let fb = cfg.frame_bytes();
    let period = cfg.period_frames * fb;
    let size = cfg.buffer_frames() * fb;
    let want = frames * fb;
    let mut out = Vec::with_capacity(want + period);
    pcm.start().map_err(|e| e.to_string())?;
    let (mut produced, mut last, mut stats) = (0usize, 0usize, Stats::default());
    let mut last_wake = Instant::now();
    let result = (|| -> Result<(), String> {
        while out.len() < want {
            if wait(pcm, &mut last_wake)? {
                stats.late_wakeups += 1;
            }
            stats.periods += 1;
            let pos = pcm.position().map_err(|e| e.to_string())? * fb;
            produced += (pos + size - last) % size;
            last = pos;
            while out.len() + period <= produced {
                let mut buf = vec![0u8; period];
                pcm.read_frames((out.len() % size) / fb, &mut buf).map_err(|e| e.to_string())?;
                out.extend_from_slice(&buf);
            }
        }
        Ok(())
    })();
    stats.xruns = pcm.xruns();
    pcm.stop().map_err(|e| e.to_string())?;
    result?;
    out.truncate(want);
    Ok((out, stats))
}
