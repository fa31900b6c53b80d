#!/usr/bin/env python3
"""OSS client for the oss-info bench scenario: what a program sees through
/dev/dsp and /dev/mixer. One mode per run; each prints `key value` lines for
the scenario's check.

  oss-info.py info        OSS 4 device discovery (SYSINFO, AUDIOINFO,
                          ENGINEINFO, CARDINFO, MIXERINFO) and its errors
  oss-info.py interrupt   blocked write / SYNC interrupted by SIGALRM

The struct layouts are OSS 4.1 soundcard.h's (the numbers in
compat-oss/src/oss4.rs)."""
import ctypes
import errno
import fcntl
import os
import signal
import struct
import sys
import time


def ioc(d, t, nr, size):
    return (d << 30) | (size << 16) | (ord(t) << 8) | nr


R, W = 2, 1
SNDCTL_SYSINFO = ioc(R, "X", 1, 1248)
SNDCTL_AUDIOINFO = ioc(R | W, "X", 7, 1180)
SNDCTL_MIXERINFO = ioc(R | W, "X", 10, 1136)
SNDCTL_CARDINFO = ioc(R | W, "X", 11, 1176)
SNDCTL_ENGINEINFO = ioc(R | W, "X", 12, 1180)
SNDCTL_AUDIOINFO_EX = ioc(R | W, "X", 13, 1180)
SNDCTL_MIX_NRMIX = ioc(R, "X", 2, 4)
SNDCTL_DSP_GETCAPS = ioc(R, "P", 15, 4)
SNDCTL_DSP_SETFMT = ioc(R | W, "P", 5, 4)
SNDCTL_DSP_CHANNELS = ioc(R | W, "P", 6, 4)
SNDCTL_DSP_SPEED = ioc(R | W, "P", 2, 4)
SNDCTL_DSP_SETFRAGMENT = ioc(R | W, "P", 10, 4)
SNDCTL_DSP_SETTRIGGER = ioc(W, "P", 16, 4)
SNDCTL_DSP_GETOSPACE = ioc(R, "P", 12, 16)
SNDCTL_DSP_SYNC = ioc(0, "P", 1, 0)
SNDCTL_DSP_RESET = ioc(0, "P", 0, 0)
AFMT_S16_LE = 0x10
PCM_ENABLE_OUTPUT = 2


def cstr(b):
    return b.split(b"\0", 1)[0].decode(errors="replace")


def ask(fd, cmd, size, dev):
    """An _IOWR info ioctl with `dev` in the struct's first int."""
    buf = bytearray(size)
    struct.pack_into("<i", buf, 0, dev)
    fcntl.ioctl(fd, cmd, buf, True)
    return bytes(buf)


def err(fn):
    try:
        fn()
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def audioinfo(b):
    i = lambda off: struct.unpack_from("<i", b, off)[0]
    return {
        "dev": i(0), "name": cstr(b[4:68]), "busy": i(68), "pid": i(72), "caps": i(76) & 0xFFFFFFFF,
        "iformats": i(80), "oformats": i(84), "card": i(156), "mixer_dev": i(164), "enabled": i(172),
        "min_rate": i(180), "max_rate": i(184), "min_channels": i(188), "max_channels": i(192),
        "latency": i(400), "devnode": cstr(b[404:436]),
    }


def show(label, d):
    print(label, " ".join(f"{k}={v}" for k, v in d.items()))


def info():
    mixer = os.open("/dev/mixer", os.O_RDWR)
    s = ask(mixer, SNDCTL_SYSINFO, 1248, 0)
    sysinfo = {
        "product": cstr(s[0:32]), "version": cstr(s[32:64]), "versionnum": hex(struct.unpack_from("<i", s, 64)[0]),
        "numaudios": struct.unpack_from("<i", s, 196)[0], "nummixers": struct.unpack_from("<i", s, 244)[0],
        "numcards": struct.unpack_from("<i", s, 280)[0], "openedaudio": struct.unpack_from("<i", s, 200)[0],
    }
    show("sysinfo", sysinfo)
    print("nrmix", struct.unpack("<i", fcntl.ioctl(mixer, SNDCTL_MIX_NRMIX, b"\0" * 4))[0])
    # Enumerate the way mumble and openal do: every dev from the mixer.
    for dev in range(sysinfo["numaudios"]):
        show(f"audioinfo{dev}", audioinfo(ask(mixer, SNDCTL_AUDIOINFO, 1180, dev)))
    print("audioinfo_out_of_range", err(lambda: ask(mixer, SNDCTL_AUDIOINFO, 1180, sysinfo["numaudios"])))
    print("audioinfo_minus1_on_mixer", err(lambda: ask(mixer, SNDCTL_AUDIOINFO, 1180, -1)))
    c = ask(mixer, SNDCTL_CARDINFO, 1176, 0)
    print("cardinfo shortname=%s longname=%s" % (cstr(c[4:20]), cstr(c[20:148])))
    for line in cstr(c[152:552]).splitlines():
        print("cardinfo hw", line)
    print("cardinfo intr_count", struct.unpack_from("<i", c, 552)[0])
    print("cardinfo_out_of_range", err(lambda: ask(mixer, SNDCTL_CARDINFO, 1176, 1)))
    m = ask(mixer, SNDCTL_MIXERINFO, 1136, -1)
    print("mixerinfo dev=%d name=%s devnode=%s" % (struct.unpack_from("<i", m, 0)[0], cstr(m[20:52]), cstr(m[120:152])))
    print("mixerinfo_out_of_range", err(lambda: ask(mixer, SNDCTL_MIXERINFO, 1136, 5)))

    # On /dev/dsp, -1 is this fd's device; it shows us as its user.
    dsp = os.open("/dev/dsp", os.O_WRONLY)
    own = audioinfo(ask(dsp, SNDCTL_AUDIOINFO, 1180, -1))
    show("own", own)
    print("own_is_me", own["pid"] == os.getpid())
    print("getcaps_matches", struct.unpack("<I", fcntl.ioctl(dsp, SNDCTL_DSP_GETCAPS, b"\0" * 4))[0] == own["caps"])
    ex = audioinfo(ask(dsp, SNDCTL_AUDIOINFO_EX, 1180, 1))
    print("audioinfo_ex1 devnode=%s" % ex["devnode"])
    m = ask(dsp, SNDCTL_MIXERINFO, 1136, -1)
    print("dsp_mixerinfo devnode=%s" % cstr(m[120:152]))
    s = ask(dsp, SNDCTL_SYSINFO, 1248, 0)
    print("opened_while_playing", struct.unpack_from("<i", s, 200)[0])
    audio = os.open("/dev/audio", os.O_WRONLY)
    print("engineinfo_on_audio dev=%d" % audioinfo(ask(audio, SNDCTL_ENGINEINFO, 1180, -1))["dev"])
    os.close(audio)
    os.close(dsp)
    print("busy_after_close", audioinfo(ask(mixer, SNDCTL_AUDIOINFO, 1180, 0))["busy"])
    os.close(mixer)


class Alarm(Exception):
    pass


def setup(fd, frags):
    for cmd, v in ((SNDCTL_DSP_SETFRAGMENT, frags), (SNDCTL_DSP_SETFMT, AFMT_S16_LE), (SNDCTL_DSP_CHANNELS, 2),
                   (SNDCTL_DSP_SPEED, 48000)):
        fcntl.ioctl(fd, cmd, struct.pack("<i", v))


def fill_paused(fd):
    """Queue until full, then pause output: a blocking write can make no
    progress after this."""
    fl = fcntl.fcntl(fd, fcntl.F_GETFL)
    fcntl.fcntl(fd, fcntl.F_SETFL, fl | os.O_NONBLOCK)
    chunk = b"\0\0\0\0" * 4096
    for _ in range(2):
        while True:
            try:
                os.write(fd, chunk)
            except BlockingIOError:
                break
        # Paused (once running): nothing leaves the buffer any more.
        fcntl.ioctl(fd, SNDCTL_DSP_SETTRIGGER, struct.pack("<i", 0))
    fcntl.fcntl(fd, fcntl.F_SETFL, fl)
    free = struct.unpack("<4i", fcntl.ioctl(fd, SNDCTL_DSP_GETOSPACE, b"\0" * 16))[3]
    print("free_after_fill", free)


def interrupt():
    libc = ctypes.CDLL(None, use_errno=True)
    fired = []
    signal.signal(signal.SIGALRM, lambda *_: fired.append(time.monotonic()))

    # 1. A write that cannot progress, through libc (no retry): -1 EINTR.
    fd = os.open("/dev/dsp", os.O_WRONLY)
    setup(fd, (16 << 16) | 13)
    fill_paused(fd)
    buf = ctypes.create_string_buffer(65536)
    t = time.monotonic()
    signal.alarm(1)
    n = libc.write(fd, buf, 65536)
    e = ctypes.get_errno()
    print("c_write returned %d errno %s after %.2f s" % (n, errno.errorcode.get(e, e) if n < 0 else "-", time.monotonic() - t))

    # 2. The same through os.write with a handler that raises: Python sees
    # the exception at once instead of staying blocked.
    def raise_alarm(*_):
        raise Alarm()

    signal.signal(signal.SIGALRM, raise_alarm)
    t = time.monotonic()
    signal.alarm(1)
    try:
        os.write(fd, b"\0" * 65536)
        print("py_write completed")
    except Alarm:
        print("py_write interrupted after %.2f s" % (time.monotonic() - t))
    except InterruptedError:
        print("py_write InterruptedError after %.2f s" % (time.monotonic() - t))
    signal.alarm(0)
    os.close(fd)

    # 3. SNDCTL_DSP_SYNC on 20 s of queued sound: interrupted after 1 s.
    signal.signal(signal.SIGALRM, lambda *_: fired.append(time.monotonic()))
    fd = os.open("/dev/dsp", os.O_WRONLY)
    setup(fd, (64 << 16) | 16)  # 64 fragments of 64 KiB: 21.8 s
    fl = fcntl.fcntl(fd, fcntl.F_GETFL)
    fcntl.fcntl(fd, fcntl.F_SETFL, fl | os.O_NONBLOCK)
    queued = 0
    try:
        while queued < 20 * 192000:
            queued += os.write(fd, b"\0" * 65536)
    except BlockingIOError:
        pass
    fcntl.fcntl(fd, fcntl.F_SETFL, fl)
    print("sync_queued %.1f s" % (queued / 192000))
    t = time.monotonic()
    signal.alarm(1)
    rc = libc.ioctl(fd, SNDCTL_DSP_SYNC, 0)
    e = ctypes.get_errno()
    print("c_sync returned %d errno %s after %.2f s" % (rc, errno.errorcode.get(e, e) if rc < 0 else "-", time.monotonic() - t))
    fcntl.ioctl(fd, SNDCTL_DSP_RESET)
    os.close(fd)


if __name__ == "__main__":
    {"info": info, "interrupt": interrupt}[sys.argv[1]]()
