"""oss-tone.py FREQ AMPLITUDE SECONDS [NODE]: an unmodified program's way of
playing a sine (Python's ossaudiodev): S16_LE stereo 48 kHz, FREQ Hz at
AMPLITUDE (of full scale) for SECONDS, to NODE (default /dev/dsp); prints
"played FREQ" when the node took it all."""
import math
import ossaudiodev
import struct
import sys

freq, amp, seconds = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
node = sys.argv[4] if len(sys.argv) > 4 else "/dev/dsp"
rate = 48000
frames = int(rate * seconds)


def samples(n):
    return b"".join(
        struct.pack("<hh", v, v)
        for v in (round(amp * 32767 * math.sin(2 * math.pi * freq * i / rate)) for i in range(n))
    )


if (rate / freq).is_integer():
    # Whole cycles: one is computed, then repeated (long tones, slow guests).
    cycle = int(rate / freq)
    data = samples(cycle) * (frames // cycle)
else:
    data = samples(frames)
dsp = ossaudiodev.open(node, "w")
dsp.setfmt(ossaudiodev.AFMT_S16_LE)
dsp.channels(2)
dsp.speed(rate)
dsp.writeall(data)
dsp.close()
print("played", sys.argv[1])
