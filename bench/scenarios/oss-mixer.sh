# oss-mixer: a program sets /dev/mixer's pcm level (the mixer's master
# gain) to 50 (of 100) and plays a -12 dBFS 1 kHz tone through /dev/dsp.
# Host: the tone arrives 6.02 dB lower (level 50 is half the amplitude),
# with nothing else. (VOLUME sets the codec's amp, which QEMU ignores with
# its mixer off: oss-hwmixer measures that one.)
DESCRIPTION="OSS: a /dev/mixer pcm change moves the output level by the expected dB"
hda_scenario

guest() {
  start_serve --period 4096 --periods 8
  python3 - <<'PY' | tee "$RESULTS/client.txt"
import math, ossaudiodev, struct
mixer = ossaudiodev.openmixer("/dev/mixer")
print("controls", mixer.controls() & (1 << ossaudiodev.SOUND_MIXER_PCM) != 0)
print("before", mixer.get(ossaudiodev.SOUND_MIXER_PCM))
mixer.set(ossaudiodev.SOUND_MIXER_PCM, (50, 50))
print("after", mixer.get(ossaudiodev.SOUND_MIXER_PCM))
one = b"".join(struct.pack("<hh", v, v) for v in (round(0.25 * 32767 * math.sin(2 * math.pi * n / 48)) for n in range(48)))
dsp = ossaudiodev.open("/dev/dsp", "w")
dsp.setfmt(ossaudiodev.AFMT_S16_LE); dsp.channels(2); dsp.speed(48000)
dsp.writeall(one * 3000)
dsp.close()
mixer.close()
PY
  stop_serve
}

check() {
  grep -q '^controls True$' "$RESULTS/client.txt" || { cat "$RESULTS/client.txt"; return 1; }
  grep -q '^before (100, 100)$' "$RESULTS/client.txt" || { cat "$RESULTS/client.txt"; return 1; }
  grep -q '^after (50, 50)$' "$RESULTS/client.txt" || { cat "$RESULTS/client.txt"; return 1; }
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" tones "$HDA_OUT_WAV" --freqs 1000 --levels -18.06
}
