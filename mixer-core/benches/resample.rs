//! Resampler throughput and SNR, plain `std::time` (no bench framework).
//!
//! `cargo bench -p outboard-mixer --bench resample [-- SECONDS RUNS]`
//!
//! The signal and the measurement match `libsamplerate_bench.c` (run both
//! with `compare-libsamplerate.sh`): a 1 kHz sine, peak 0.5, stereo, SECONDS
//! (default 10) seconds of input fed in 1024-frame calls; the time is the
//! best of RUNS (default 7) runs of the whole conversion on this thread,
//! reported as audio seconds per wall second ("x real time"); the SNR is the
//! worse channel's, from a least-squares sine fit of the output after its
//! first 4800 frames (`outboard_mixer::resample::measure`).
//!
//! A counting allocator checks that `process` allocates nothing.

use std::time::Instant;

use outboard_mixer::resample::measure::{fit_sine, sine};
use outboard_mixer::resample::Resampler;

#[path = "../tests/support/counting_alloc.rs"]
mod counting_alloc;

const FREQ: f64 = 1000.0;
const AMPLITUDE: f64 = 0.5;
const CHUNK: usize = 1024;
const SKIP: usize = 4800;

/// Converts all of `input` in CHUNK-frame calls into `out`; returns the
/// output frames.
fn convert(r: &mut Resampler, input: &[f32], out: &mut [f32]) -> usize {
    let ch = r.channels();
    let mut produced = 0;
    for mut chunk in input.chunks(CHUNK * ch) {
        while !chunk.is_empty() {
            let (c, p) = r.process(chunk, &mut out[produced * ch..]);
            chunk = &chunk[c * ch..];
            produced += p;
        }
    }
    produced
}

struct Case {
    name: &'static str,
    in_rate: u32,
    out_rate: u32,
    ppm: f64,
}

fn bench(case: &Case, seconds: usize, runs: usize) {
    let ch = 2;
    let input = sine(FREQ, case.in_rate.into(), AMPLITUDE, case.in_rate as usize * seconds, ch);
    let mut out = vec![0.0f32; (case.out_rate as usize * seconds + 4 * CHUNK) * ch];
    let mut r = Resampler::new(case.in_rate, case.out_rate, ch).expect("valid rates");
    let (mut best, mut frames) = (f64::INFINITY, 0);
    for _ in 0..runs {
        r.reset();
        r.set_ratio_adjust(case.ppm).expect("valid adjustment");
        let allocations = counting_alloc::allocations();
        let t0 = Instant::now();
        frames = convert(&mut r, &input, &mut out);
        best = best.min(t0.elapsed().as_secs_f64());
        assert_eq!(counting_alloc::allocations(), allocations, "process allocated");
    }
    let out_freq = FREQ / (f64::from(case.out_rate) * (1.0 + case.ppm * 1e-6));
    let fits: Vec<_> = (0..ch).map(|c| fit_sine(&out[SKIP * ch..frames * ch], ch, c, out_freq)).collect();
    let worst = fits.iter().min_by(|a, b| a.snr_db.total_cmp(&b.snr_db)).expect("two channels");
    println!(
        "outboard      {:<16} {}: {:7.1}x real time (best of {runs}, {seconds} s in {CHUNK}-frame calls), \
         SNR {:.1} dB (level {:+.4} dB)",
        case.name,
        rates(case),
        seconds as f64 / best,
        worst.snr_db,
        20.0 * (worst.amplitude / AMPLITUDE).log10(),
    );
}

fn rates(case: &Case) -> String {
    let khz = |r: u32| format!("{}", f64::from(r) / 1000.0);
    let mut s = format!("{} -> {} kHz stereo", khz(case.in_rate), khz(case.out_rate));
    if case.ppm != 0.0 {
        s += &format!(" {:+} ppm", case.ppm);
    }
    s
}

fn main() {
    // `cargo bench` passes `--bench`; take the first two numbers given.
    let mut nums = std::env::args().skip(1).filter_map(|a| a.parse::<usize>().ok());
    let seconds = nums.next().unwrap_or(10).max(1);
    let runs = nums.next().unwrap_or(7).max(1);
    let cases = [
        Case { name: "exact rows", in_rate: 44_100, out_rate: 48_000, ppm: 0.0 },
        Case { name: "interpolated", in_rate: 44_100, out_rate: 48_000, ppm: 100.0 },
        Case { name: "exact rows", in_rate: 48_000, out_rate: 44_100, ppm: 0.0 },
        Case { name: "exact rows", in_rate: 48_000, out_rate: 8_000, ppm: 0.0 },
        Case { name: "interpolated", in_rate: 48_000, out_rate: 48_000, ppm: 500.0 },
        Case { name: "passthrough", in_rate: 48_000, out_rate: 48_000, ppm: 0.0 },
    ];
    for case in &cases {
        bench(case, seconds, runs);
    }
}
