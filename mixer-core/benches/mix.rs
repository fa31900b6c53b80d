//! Mixing cost against memcpy, measured in the same run (issue target: mixing
//! 8 S16 stereo 48 kHz clients into an S32 device stream costs at most 1.5x a
//! memcpy of the same input bytes).
//!
//! `cargo bench -p outboard-mixer --bench mix`

use std::hint::black_box;
use std::time::{Duration, Instant};

use outboard_mixer::chmap::ChannelMatrix;
use outboard_mixer::format::{decode, SampleFormat};
use outboard_mixer::mix::{mix_s16le_into_s32le, sum_s16le, write_s32le_from_s16_sums, MixBuffer};

const CLIENTS: usize = 8;
const FRAMES: usize = 1024; // one engine period's worth of work, repeated
const CHANNELS: usize = 2;

/// Best time of `runs` runs of `reps` calls to `f`.
fn best(runs: usize, reps: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                f();
            }
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn main() {
    let inputs: Vec<Vec<u8>> =
        (0..CLIENTS).map(|c| (0..FRAMES * CHANNELS * 2).map(|i| (i * 31 + c * 7) as u8).collect()).collect();
    let input_bytes = CLIENTS * FRAMES * CHANNELS * 2;
    let mut copy_dst = vec![0u8; input_bytes];
    let mut out = vec![0u8; FRAMES * CHANNELS * 4];
    let (runs, reps) = (15, 2000);

    let memcpy = best(runs, reps, || {
        for (c, input) in inputs.iter().enumerate() {
            let at = c * input.len();
            copy_dst[at..at + input.len()].copy_from_slice(black_box(input));
        }
        black_box(&copy_dst);
    });

    let mut acc = vec![0i32; FRAMES * CHANNELS];
    let integer = best(runs, reps, || {
        acc.fill(0);
        for input in &inputs {
            sum_s16le(&mut acc, black_box(input));
        }
        write_s32le_from_s16_sums(&acc, &mut out);
        black_box(&out);
    });

    let refs: Vec<&[u8]> = inputs.iter().map(|i| i.as_slice()).collect();
    let one_pass = best(runs, reps, || {
        mix_s16le_into_s32le(black_box(&refs), &mut out);
        black_box(&out);
    });

    let mut mix = MixBuffer::new(FRAMES, CHANNELS);
    let mut decoded = vec![0.0f32; FRAMES * CHANNELS];
    let mut mapped = vec![0.0f32; FRAMES * CHANNELS];
    let matrix = ChannelMatrix::new(CHANNELS, CHANNELS).unwrap();
    let float = best(runs, reps, || {
        mix.clear();
        for input in &inputs {
            decode(SampleFormat::S16Le, black_box(input), &mut decoded);
            matrix.apply(&decoded, &mut mapped);
            mix.add(&mapped, 0.7);
        }
        mix.write(SampleFormat::S32Le, 1.0, &mut out);
        black_box(&out);
    });

    let per = |d: Duration| d.as_secs_f64() * 1e9 / reps as f64;
    let rt = |d: Duration| (FRAMES as f64 / 48_000.0) / (d.as_secs_f64() / reps as f64);
    println!("mixing {CLIENTS} S16 stereo clients x {FRAMES} frames into S32 stereo ({input_bytes} input bytes), best of {runs} x {reps}:");
    println!("  memcpy of the input bytes:        {:9.0} ns", per(memcpy));
    println!(
        "  one-pass integer kernel:          {:9.0} ns  = {:.2}x memcpy, {:.0}x real time",
        per(one_pass),
        one_pass.as_secs_f64() / memcpy.as_secs_f64(),
        rt(one_pass)
    );
    println!(
        "  integer, client by client:        {:9.0} ns  = {:.2}x memcpy, {:.0}x real time",
        per(integer),
        integer.as_secs_f64() / memcpy.as_secs_f64(),
        rt(integer)
    );
    println!(
        "  float path (gain, any format):    {:9.0} ns  = {:.2}x memcpy, {:.0}x real time",
        per(float),
        float.as_secs_f64() / memcpy.as_secs_f64(),
        rt(float)
    );
}
