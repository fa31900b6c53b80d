/* A non-blocking, poll-driven ALSA program: opens a PCM with
 * SND_PCM_NONBLOCK, writes a raw S16_LE stereo 48 kHz file until the PCM
 * answers EAGAIN, then waits in poll() on its descriptors for room, as
 * event-loop programs (sound servers, players) do. Prints how often it was
 * told EAGAIN and woken, and what it wrote. */
#include <alsa/asoundlib.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: alsa-poll PCM FILE.raw\n"); return 2; }
    FILE *f = fopen(argv[2], "rb");
    if (!f) { perror(argv[2]); return 1; }
    static short data[48000 * 2 * 10];
    size_t frames = fread(data, 4, 48000 * 10, f);
    snd_pcm_t *pcm;
    int err = snd_pcm_open(&pcm, argv[1], SND_PCM_STREAM_PLAYBACK, SND_PCM_NONBLOCK);
    if (err < 0) { fprintf(stderr, "open: %s\n", snd_strerror(err)); return 1; }
    err = snd_pcm_set_params(pcm, SND_PCM_FORMAT_S16_LE, SND_PCM_ACCESS_RW_INTERLEAVED, 2, 48000, 0, 100000);
    if (err < 0) { fprintf(stderr, "set_params: %s\n", snd_strerror(err)); return 1; }
    int nfds = snd_pcm_poll_descriptors_count(pcm);
    struct pollfd fds[8];
    if (nfds < 1 || nfds > 8 || snd_pcm_poll_descriptors(pcm, fds, nfds) != nfds) { fprintf(stderr, "poll descriptors\n"); return 1; }
    size_t done = 0;
    int eagain = 0, wakeups = 0;
    while (done < frames) {
        snd_pcm_sframes_t w = snd_pcm_writei(pcm, data + done * 2, frames - done);
        if (w == -EAGAIN) {
            eagain++;
            int r = poll(fds, nfds, 3000);
            if (r <= 0) { fprintf(stderr, "poll: %s\n", r == 0 ? "no wakeup in 3 s" : "error"); return 1; }
            unsigned short revents = 0;
            snd_pcm_poll_descriptors_revents(pcm, fds, nfds, &revents);
            if (revents & POLLERR) { fprintf(stderr, "POLLERR\n"); return 1; }
            if (revents & POLLOUT) wakeups++;
            continue;
        }
        if (w < 0) { fprintf(stderr, "writei: %s\n", snd_strerror(w)); return 1; }
        done += w;
    }
    snd_pcm_nonblock(pcm, 0);
    snd_pcm_drain(pcm);
    snd_pcm_close(pcm);
    printf("eagain %d wakeups %d wrote %zu frames\n", eagain, wakeups, done);
    return 0;
}
