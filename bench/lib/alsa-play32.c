/* An i386 ALSA program: plays a raw S16_LE stereo 48 kHz file on a PCM with
 * alsa-lib's read/write API, reporting what it set up. */
#include <alsa/asoundlib.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: play32 PCM FILE.raw\n"); return 2; }
    FILE *f = fopen(argv[2], "rb");
    if (!f) { perror(argv[2]); return 1; }
    snd_pcm_t *pcm;
    int err = snd_pcm_open(&pcm, argv[1], SND_PCM_STREAM_PLAYBACK, 0);
    if (err < 0) { fprintf(stderr, "open: %s\n", snd_strerror(err)); return 1; }
    err = snd_pcm_set_params(pcm, SND_PCM_FORMAT_S16_LE, SND_PCM_ACCESS_RW_INTERLEAVED, 2, 48000, 0, 200000);
    if (err < 0) { fprintf(stderr, "set_params: %s\n", snd_strerror(err)); return 1; }
    printf("abi long=%zu ptr=%zu time_t=%zu\n", sizeof(long), sizeof(void *), sizeof(time_t));
    static short buf[4096 * 2];
    size_t n, total = 0;
    while ((n = fread(buf, 4, 4096, f)) > 0) {
        snd_pcm_sframes_t w = snd_pcm_writei(pcm, buf, n);
        if (w < 0) { w = snd_pcm_recover(pcm, w, 0); if (w < 0) { fprintf(stderr, "writei: %s\n", snd_strerror(w)); return 1; } }
        total += w;
    }
    snd_pcm_sframes_t delay = 0;
    snd_pcm_delay(pcm, &delay);
    snd_pcm_drain(pcm);
    snd_pcm_close(pcm);
    printf("wrote %zu frames\n", total);
    return 0;
}
