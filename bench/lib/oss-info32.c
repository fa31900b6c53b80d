/*
 * A 32-bit OSS program for the oss-info bench scenario (built with
 * gcc -m32 -static on the host, run in the guest): sets up /dev/dsp, asks
 * GETOSPACE, SYSINFO and AUDIOINFO, plays a raw S16LE stereo 48 kHz file,
 * then reads back CURRENT_OPTR (oss_count_t: 140 bytes for i386, 144 for
 * x86_64), GETOPTR and GETERROR. Prints `key value` lines for the check.
 *
 * Linux's <linux/soundcard.h> is OSS 3 and lacks the OSS 4 structs, so they
 * are declared here after OSS 4.1's soundcard.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

typedef struct { int fragments, fragstotal, fragsize, bytes; } audio_buf_info;
typedef struct { unsigned int bytes; int blocks, ptr; } count_info;
typedef struct { long long samples; int fifo_samples; int filler[32]; } oss_count_t;
typedef struct {
    int play_underruns, rec_overruns;
    unsigned int play_ptradjust, rec_ptradjust;
    int play_errorcount, rec_errorcount, play_lasterror, rec_lasterror, play_errorparm, rec_errorparm;
    int filler[16];
} audio_errinfo;
typedef struct {
    char product[32], version[32];
    int versionnum;
    char options[128];
    int numaudios, openedaudio[8], numsynths, nummidis, numtimers, nummixers, openedmidi[8], numcards,
        numaudioengines;
    char license[16], revision_info[256];
    int filler[172];
} oss_sysinfo;
typedef struct {
    int dev;
    char name[64];
    int busy, pid, caps, iformats, oformats, magic;
    char cmd[64];
    int card_number, port_number, mixer_dev, legacy_device, enabled, flags, min_rate, max_rate, min_channels,
        max_channels, binding, rate_source;
    char handle[32];
    unsigned int nrates, rates[20];
    char song_name[64], label[16];
    int latency;
    char devnode[32];
    int next_play_engine, next_rec_engine, filler[184];
} oss_audioinfo;

#define SNDCTL_DSP_SPEED _IOWR('P', 2, int)
#define SNDCTL_DSP_SETFMT _IOWR('P', 5, int)
#define SNDCTL_DSP_CHANNELS _IOWR('P', 6, int)
#define SNDCTL_DSP_SYNC _IO('P', 1)
#define SNDCTL_DSP_GETOSPACE _IOR('P', 12, audio_buf_info)
#define SNDCTL_DSP_GETOPTR _IOR('P', 18, count_info)
#define SNDCTL_DSP_GETERROR _IOR('P', 25, audio_errinfo)
#define SNDCTL_DSP_CURRENT_OPTR _IOR('P', 36, oss_count_t)
#define SNDCTL_SYSINFO _IOR('X', 1, oss_sysinfo)
#define SNDCTL_AUDIOINFO _IOWR('X', 7, oss_audioinfo)
#define AFMT_S16_LE 0x10

static int fd;

static void must(int rc, const char *what) {
    if (rc < 0) {
        printf("error %s: %s\n", what, strerror(errno));
        exit(1);
    }
}

static int set(unsigned long cmd, int v, const char *what) {
    must(ioctl(fd, cmd, &v), what);
    return v;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s SIGNAL.raw\n", argv[0]);
        return 2;
    }
    printf("abi long=%zu ptr=%zu oss_count_t=%zu current_optr=%#lx\n", sizeof(long), sizeof(void *),
           sizeof(oss_count_t), (unsigned long)SNDCTL_DSP_CURRENT_OPTR);
    fd = open("/dev/dsp", O_WRONLY);
    must(fd, "open /dev/dsp");
    printf("setfmt %d\n", set(SNDCTL_DSP_SETFMT, AFMT_S16_LE, "SETFMT"));
    printf("channels %d\n", set(SNDCTL_DSP_CHANNELS, 2, "CHANNELS"));
    printf("speed %d\n", set(SNDCTL_DSP_SPEED, 48000, "SPEED"));

    audio_buf_info space;
    must(ioctl(fd, SNDCTL_DSP_GETOSPACE, &space), "GETOSPACE");
    printf("ospace fragments=%d fragstotal=%d fragsize=%d bytes=%d\n", space.fragments, space.fragstotal,
           space.fragsize, space.bytes);
    oss_sysinfo si;
    memset(&si, 0, sizeof si);
    must(ioctl(fd, SNDCTL_SYSINFO, &si), "SYSINFO");
    printf("sysinfo product=%s numaudios=%d numcards=%d\n", si.product, si.numaudios, si.numcards);
    oss_audioinfo ai;
    memset(&ai, 0, sizeof ai);
    ai.dev = -1;
    must(ioctl(fd, SNDCTL_AUDIOINFO, &ai), "AUDIOINFO");
    printf("audioinfo dev=%d name=%s devnode=%s min_rate=%d max_rate=%d max_channels=%d pid_is_me=%d\n", ai.dev,
           ai.name, ai.devnode, ai.min_rate, ai.max_rate, ai.max_channels, ai.pid == getpid());

    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        printf("error %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    static char buf[1 << 16];
    size_t n, total = 0;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        for (size_t off = 0; off < n;) {
            ssize_t w = write(fd, buf + off, n - off);
            must(w < 0 ? -1 : 0, "write");
            off += (size_t)w;
            total += (size_t)w;
        }
    }
    fclose(f);
    printf("wrote %zu\n", total);
    must(ioctl(fd, SNDCTL_DSP_SYNC, 0), "SYNC");

    oss_count_t cnt;
    memset(&cnt, 0xff, sizeof cnt);
    must(ioctl(fd, SNDCTL_DSP_CURRENT_OPTR, &cnt), "CURRENT_OPTR");
    printf("current_optr samples=%lld fifo_samples=%d\n", cnt.samples, cnt.fifo_samples);
    count_info ci;
    must(ioctl(fd, SNDCTL_DSP_GETOPTR, &ci), "GETOPTR");
    printf("optr bytes=%u\n", ci.bytes);
    audio_errinfo ei;
    memset(&ei, 0xff, sizeof ei);
    must(ioctl(fd, SNDCTL_DSP_GETERROR, &ei), "GETERROR");
    printf("errinfo size=%zu rec_overruns=%d filler0=%d\n", sizeof ei, ei.rec_overruns, ei.filler[0]);
    must(close(fd), "close");
    printf("ok\n");
    return 0;
}
