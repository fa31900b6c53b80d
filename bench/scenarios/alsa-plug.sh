# alsa-plug: ALSA programs that need conversion or mmap go through alsa-lib's
# plug plugin on Outboard's nodes: `aplay -D plughw:0` plays a 44.1 kHz S16
# stereo 1 kHz tone (the node takes 44.1 kHz and the mixer resamples), then
# `aplay -D default` (plug -> hw on a card whose driver alsa-lib does not
# know, no dmix) plays an 8-bit mono 22.05 kHz 440 Hz tone. Host: each tone
# at its true pitch and level, unbroken.
DESCRIPTION="ALSA: plughw:0 (44.1 kHz) and default (8-bit mono 22.05 kHz) play at the right pitch and level"
hda_scenario

guest() {
  local tool="$OUTBOARD_BIN_DIR/outboard-bench-tool"
  "$tool" tone "$RESULTS/tone441.wav" --freq 1000 --level -12.04 --seconds 3 --rate 44100
  "$tool" tone "$RESULTS/tone22.wav" --freq 440 --level -12.04 --seconds 3 --rate 22050 --channels 1
  sox "$RESULTS/tone22.wav" -b 8 -e unsigned-integer "$RESULTS/tone8.wav"
  start_serve --period 1024 --periods 4 || return 1
  wait_nodes 10 /dev/snd/controlC0 /dev/snd/pcmC0D0p || return 1
  aplay -v -D plughw:0 "$RESULTS/tone441.wav" >"$RESULTS/plughw.txt" 2>&1 || { cat "$RESULTS/plughw.txt"; return 1; }
  # Silence between the two, so each is measured alone.
  sleep 1
  aplay -v -D default "$RESULTS/tone8.wav" >"$RESULTS/default.txt" 2>&1 || { cat "$RESULTS/default.txt"; return 1; }
  cat "$RESULTS/plughw.txt" "$RESULTS/default.txt"
  stop_serve
}

check() {
  expect 'Rate 44100 Hz, Stereo' "$RESULTS/plughw.txt"
  expect 'Unsigned 8 bit, Rate 22050 Hz, Mono' "$RESULTS/default.txt"
  local tool="$OUTBOARD_BIN_DIR/outboard-bench-tool"
  # The recording holds the 1 kHz tone, a second of silence, then the 440 Hz
  # one: cut them apart where the silence is, and follow each.
  sox "$HDA_OUT_WAV" "$RESULTS/first.wav" silence 1 0.01 0.5% 1 0.3 0.5%
  sox "$HDA_OUT_WAV" "$RESULTS/second.wav" silence 1 0.01 0.5% 1 0.3 0.5% : newfile : restart 2>/dev/null || true
  "$tool" tone-track "$RESULTS/first.wav" --freq 1000 --level -12.04 --ppm 100 --residual -60
  "$tool" tone-track "$RESULTS/second002.wav" --freq 440 --level -12.04 --ppm 100 --residual -40
}
