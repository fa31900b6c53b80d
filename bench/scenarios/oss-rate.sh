# oss-rate: a program plays a 1 kHz tone at 44.1 kHz to /dev/dsp; the mixer
# resamples it onto the 48 kHz device. Host: the emulated codec got a 1 kHz
# tone at the right level and nothing else.
DESCRIPTION="OSS: a 44.1 kHz client on the 48 kHz device, right frequency and level, no glitch"
hda_scenario

guest() {
  start_serve --period 4096 --periods 8
  python3 - <<'PY' | tee "$RESULTS/client.txt"
import math, ossaudiodev, struct
frames = 44100 * 3
data = b"".join(struct.pack("<hh", v, v) for v in (round(0.25 * 32767 * math.sin(2 * math.pi * 1000 * n / 44100)) for n in range(frames)))
dsp = ossaudiodev.open("/dev/dsp", "w")
dsp.setfmt(ossaudiodev.AFMT_S16_LE); dsp.channels(2)
print("speed", dsp.speed(44100))
dsp.writeall(data)
dsp.close()
PY
  stop_serve
}

check() {
  grep -q '^speed 44100$' "$RESULTS/client.txt" || { cat "$RESULTS/client.txt"; return 1; }
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" tones "$HDA_OUT_WAV" --freqs 1000 --levels -12.04
}
