# oss-mix: two programs play at once through /dev/dsp (a 440 Hz tone and a
# 1 kHz tone, each from its own Python process with ossaudiodev); the mixer
# sums them onto the emulated HDA. Host: the recording is exactly those two
# tones at their levels, with nothing else (no click, gap or stray tone).
DESCRIPTION="OSS: two programs at once on /dev/dsp, the output is their sum and nothing else"
HDA=duplex
HDA_MIXER=off
USB=none
TIMEOUT=240

source "$BENCH_DIR/lib/outboard.sh"

guest() {
  local bin="$OUTBOARD_BIN_DIR"
  start_serve --period 4096 --periods 8
  cat >"$RESULTS/tone.py" <<'PY'
import math, ossaudiodev, struct, sys
freq, amp = float(sys.argv[1]), float(sys.argv[2])
frames = 48000 * 3
data = b"".join(struct.pack("<hh", v, v) for v in (round(amp * 32767 * math.sin(2 * math.pi * freq * n / 48000)) for n in range(frames)))
dsp = ossaudiodev.open("/dev/dsp", "w")
dsp.setfmt(ossaudiodev.AFMT_S16_LE); dsp.channels(2); dsp.speed(48000)
dsp.writeall(data)
dsp.close()
print("played", freq)
PY
  python3 "$RESULTS/tone.py" 440 0.25 &
  local a=$!
  python3 "$RESULTS/tone.py" 1000 0.125 &
  local b=$!
  wait "$a" && wait "$b" || { echo "a client failed"; return 1; }
  stop_serve
}

check() {
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" tones "$HDA_OUT_WAV" --freqs 440,1000 --levels -12.04,-18.06
}
