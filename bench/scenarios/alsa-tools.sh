# alsa-tools: more unmodified ALSA programs on Outboard's nodes. sox plays a
# 440 Hz tone through alsa-lib (`sox -t alsa hw:0`); then speaker-test runs
# its sine test (-t sine, 1 kHz, both channels in turn) on `default` and its
# WAV test (-t wav: alsa-utils' "Front Left"/"Front Right" voices). Host:
# the sox tone at its pitch and level with nothing else; the speaker-test
# sine at 1 kHz and its level on the left channel alone; both speaker-test
# runs ended cleanly and the voices came out.
DESCRIPTION="ALSA: sox -t alsa plays at pitch and level; speaker-test -t sine and -t wav run on default"
hda_scenario

guest() {
  start_serve --period 1024 --periods 4 || return 1
  wait_nodes 10 /dev/snd/pcmC0D0p || return 1
  sox -V2 -n -b 16 -r 48000 -c 2 -t alsa hw:0 synth 3 sine 440 vol 0.25 2>"$RESULTS/sox.err" \
    || { cat "$RESULTS/sox.err"; return 1; }
  sleep 1
  speaker-test -D default -c 2 -r 48000 -t sine -f 1000 -l 1 >"$RESULTS/sine.txt" 2>&1 \
    || { cat "$RESULTS/sine.txt"; return 1; }
  sleep 1
  speaker-test -D default -c 2 -t wav -l 1 >"$RESULTS/wav.txt" 2>&1 || { cat "$RESULTS/wav.txt"; return 1; }
  cat "$RESULTS/sine.txt" "$RESULTS/wav.txt"
  stop_serve
}

check() {
  expect 'Front Left' "$RESULTS/sine.txt"
  expect 'Front Right' "$RESULTS/wav.txt"
  # Three stretches of sound with silence between: the sox tone, the sine
  # test, the voices.
  sox "$HDA_OUT_WAV" "$RESULTS/part.wav" silence 1 0.01 0.5% 1 0.4 0.5% : newfile : restart 2>/dev/null || true
  sox "$RESULTS/part001.wav" "$RESULTS/sox-middle.wav" trim 0.5 2
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" tones "$RESULTS/sox-middle.wav" --freqs 440 --levels -12.04
  # speaker-test's sine: 1 kHz at 0.8 of full scale (-1.94 dBFS), the left
  # channel alone, then the right alone (each for one of its long periods).
  local tool="$OUTBOARD_BIN_DIR/outboard-bench-tool"
  sox "$RESULTS/part002.wav" "$RESULTS/left.wav" remix 1 trim 0.5 2
  "$tool" tones "$RESULTS/left.wav" --freqs 1000 --levels -1.94 --channels 1
  sox "$RESULTS/part002.wav" "$RESULTS/left-right.wav" remix 2 trim 0.5 2
  sox "$RESULTS/left-right.wav" -n stat 2>&1 | awk '/RMS     amplitude/ { if ($3 > 0.0001) exit 1 }' \
    || { echo "the right channel sounds while the sine test plays the left"; return 1; }
  [[ -f "$RESULTS/part003.wav" ]] || { echo "nothing of the WAV test came out"; return 1; }
}
