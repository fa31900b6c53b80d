/*
 * libsamplerate on the signal benches/resample.rs uses, measured the same
 * way, for a side-by-side comparison (run by compare-libsamplerate.sh):
 *
 *   a 1 kHz sine, peak 0.5, stereo (right channel a quarter period ahead),
 *   SECONDS s at 44.1 kHz -> 48 kHz, fed in CHUNK-frame calls; time is the
 *   best of RUNS runs of the whole conversion on one thread, reported as
 *   audio seconds per wall second ("x real time");
 *   SNR: least-squares fit of a*sin(wn) + b*cos(wn) (w = 2*pi*1000/48000) to
 *   each channel of the output after the first SKIP frames; SNR = fitted
 *   sine energy / residual energy, the worse channel.
 *
 * usage: libsamplerate_bench [fastest|medium|best|all] [seconds] [runs]
 * build: gcc -O2 -o libsamplerate_bench libsamplerate_bench.c -lsamplerate -lm
 */
#include <math.h>
#include <samplerate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IN_RATE 44100
#define OUT_RATE 48000
#define CHANNELS 2
#define FREQ 1000.0
#define AMPLITUDE 0.5
#ifndef CHUNK
#define CHUNK 1024 /* input frames per src_process call; -DCHUNK=n to change */
#endif
#define SKIP 4800

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Converts all of `in`; returns the output frames. */
static long convert(int type, const float *in, long in_frames, float *out, long out_cap) {
    int err = 0;
    SRC_STATE *st = src_new(type, CHANNELS, &err);
    if (!st) {
        fprintf(stderr, "src_new: %s\n", src_strerror(err));
        exit(1);
    }
    long at = 0, produced = 0;
    while (at < in_frames) {
        long n = in_frames - at < CHUNK ? in_frames - at : CHUNK;
        SRC_DATA d;
        memset(&d, 0, sizeof d);
        d.data_in = in + at * CHANNELS;
        d.input_frames = n;
        d.data_out = out + produced * CHANNELS;
        d.output_frames = out_cap - produced;
        d.src_ratio = (double)OUT_RATE / IN_RATE;
        d.end_of_input = 0;
        if ((err = src_process(st, &d)) != 0) {
            fprintf(stderr, "src_process: %s\n", src_strerror(err));
            exit(1);
        }
        at += d.input_frames_used;
        produced += d.output_frames_gen;
    }
    src_delete(st);
    return produced;
}

/* SNR in dB of channel c of `out` (frames SKIP..frames) against a fitted sine. */
static double snr_db(const float *out, long frames, int c, double *amplitude) {
    double w = 2.0 * M_PI * FREQ / OUT_RATE;
    double ss = 0, sc = 0, cc = 0, ys = 0, yc = 0;
    for (long n = SKIP; n < frames; n++) {
        double i = (double)(n - SKIP), s = sin(w * i), k = cos(w * i), y = out[n * CHANNELS + c];
        ss += s * s; sc += s * k; cc += k * k; ys += y * s; yc += y * k;
    }
    double det = ss * cc - sc * sc;
    double a = (ys * cc - yc * sc) / det, b = (yc * ss - ys * sc) / det;
    double sig = 0, noise = 0;
    for (long n = SKIP; n < frames; n++) {
        double i = (double)(n - SKIP), fit = a * sin(w * i) + b * cos(w * i), y = out[n * CHANNELS + c];
        sig += fit * fit;
        noise += (y - fit) * (y - fit);
    }
    *amplitude = hypot(a, b);
    return 10.0 * log10(sig / noise);
}

static void bench(const char *name, int type, int seconds, int runs) {
    long in_frames = (long)IN_RATE * seconds;
    long out_cap = (long)OUT_RATE * seconds + 4 * CHUNK;
    float *in = malloc(sizeof(float) * in_frames * CHANNELS);
    float *out = malloc(sizeof(float) * out_cap * CHANNELS);
    double w = 2.0 * M_PI * FREQ / IN_RATE;
    for (long n = 0; n < in_frames; n++)
        for (int c = 0; c < CHANNELS; c++)
            in[n * CHANNELS + c] = (float)(AMPLITUDE * sin(w * (double)n + c * M_PI / 2.0));
    double best = INFINITY;
    long frames = 0;
    for (int r = 0; r < runs; r++) {
        double t0 = now();
        frames = convert(type, in, in_frames, out, out_cap);
        double t = now() - t0;
        if (t < best)
            best = t;
    }
    double worst = INFINITY, amp = 0, a;
    for (int c = 0; c < CHANNELS; c++) {
        double s = snr_db(out, frames, c, &a);
        if (s < worst) {
            worst = s;
            amp = a;
        }
    }
    printf("libsamplerate %-16s 44.1 -> 48 kHz stereo: %7.1fx real time (best of %d, %d s in %d-frame calls), "
           "SNR %.1f dB (level %+.4f dB)\n",
           name, seconds / best, runs, seconds, CHUNK, worst, 20.0 * log10(amp / AMPLITUDE));
    free(in);
    free(out);
}

int main(int argc, char **argv) {
    const char *which = argc > 1 ? argv[1] : "fastest";
    int seconds = argc > 2 ? atoi(argv[2]) : 10;
    int runs = argc > 3 ? atoi(argv[3]) : 7;
    int all = strcmp(which, "all") == 0;
    if (seconds < 1 || runs < 1) {
        fprintf(stderr, "usage: %s [fastest|medium|best|all] [seconds] [runs]\n", argv[0]);
        return 2;
    }
    printf("libsamplerate %s\n", src_get_version());
    if (all || strcmp(which, "fastest") == 0)
        bench("SINC_FASTEST", SRC_SINC_FASTEST, seconds, runs);
    if (all || strcmp(which, "medium") == 0)
        bench("SINC_MEDIUM", SRC_SINC_MEDIUM_QUALITY, seconds, runs);
    if (all || strcmp(which, "best") == 0)
        bench("SINC_BEST", SRC_SINC_BEST_QUALITY, seconds, runs);
    return 0;
}
