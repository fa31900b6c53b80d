# oss-mix: two programs play at once through /dev/dsp (a 440 Hz tone and a
# 1 kHz tone, each from its own Python process with ossaudiodev); the mixer
# sums them onto the emulated HDA. Host: the recording is exactly those two
# tones at their levels, with nothing else (no click, gap or stray tone).
DESCRIPTION="OSS: two programs at once on /dev/dsp, the output is their sum and nothing else"
hda_scenario

guest() {
  start_serve --period 4096 --periods 8
  # Both start together: each computes its tone and sets up /dev/dsp, then
  # waits for the go (one may start seconds after the other under TCG, and
  # the check measures the middle of the sound, where both must play).
  local go="$RESULTS/go"
  OSS_TONE_GO="$go" python3 "$BENCH_DIR/lib/oss-tone.py" 440 0.25 3 &
  local a=$!
  OSS_TONE_GO="$go" python3 "$BENCH_DIR/lib/oss-tone.py" 1000 0.125 3 &
  local b=$!
  wait_until 60 "both players to be ready" test -e "$go.ready.440" -a -e "$go.ready.1000" || return 1
  touch "$go"
  wait "$a" && wait "$b" || { echo "a client failed"; return 1; }
  stop_serve
}

check() {
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" tones "$HDA_OUT_WAV" --freqs 440,1000 --levels -12.04,-18.06
}
