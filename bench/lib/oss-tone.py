"""oss-tone.py FREQ AMPLITUDE SECONDS [NODE]: an unmodified program's way of
playing a sine (Python's ossaudiodev): S16_LE stereo 48 kHz, FREQ Hz at
AMPLITUDE (of full scale) for SECONDS, to NODE (default /dev/dsp); prints
"played FREQ" when the node took it all.

With OSS_TONE_GO=PATH in the environment, the program computes its samples
and opens and sets up the node, then writes PATH.ready.FREQ and waits (60 s
at most) for PATH to exist before its first write: several programs started
together then begin to play together, however long each took to start.

With OSS_TONE_FRAGMENT=0xMMMMSSSS the program asks for MMMM fragments of
2^SSSS bytes (SNDCTL_DSP_SETFRAGMENT) before it sets the format, as many
OSS programs do."""
import fcntl
import math
import os
import ossaudiodev
import struct
import sys
import time

freq, amp, seconds = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
node = sys.argv[4] if len(sys.argv) > 4 else "/dev/dsp"
rate = 48000
frames = int(rate * seconds)


def samples(n):
    return b"".join(
        struct.pack("<hh", v, v)
        for v in (round(amp * 32767 * math.sin(2 * math.pi * freq * i / rate)) for i in range(n))
    )


if freq.is_integer():
    # The sine repeats exactly every rate / gcd(rate, freq) frames (1200 for
    # 440 Hz): that block is computed once, then repeated (slow guests).
    block = rate // math.gcd(rate, int(freq))
    data = samples(block) * (frames // block) + samples(frames % block)
else:
    data = samples(frames)
dsp = ossaudiodev.open(node, "w")
fragment = os.environ.get("OSS_TONE_FRAGMENT")
if fragment:
    SNDCTL_DSP_SETFRAGMENT = 0xC004500A
    fcntl.ioctl(dsp.fileno(), SNDCTL_DSP_SETFRAGMENT, struct.pack("<i", int(fragment, 0)))
dsp.setfmt(ossaudiodev.AFMT_S16_LE)
dsp.channels(2)
dsp.speed(rate)
go = os.environ.get("OSS_TONE_GO")
if go:
    with open(f"{go}.ready.{sys.argv[1]}", "w"):
        pass
    deadline = time.monotonic() + 60
    while not os.path.exists(go):
        if time.monotonic() > deadline:
            sys.exit(f"oss-tone: {go} did not appear within 60 s")
        time.sleep(0.01)
dsp.writeall(data)
dsp.close()
print("played", sys.argv[1])
