# alsa-mix: two aplay processes play on hw:0 at once (a 440 Hz and a 1 kHz
# tone): each open of the PCM node is its own mixer client, so they are
# mixed (the dmix role, without dmix), and `outboard clients` lists both;
# then a third is SIGKILLed mid-stream while the daemon goes on. Host: the recording's middle is exactly the two
# tones at their levels, with nothing else.
DESCRIPTION="ALSA: two aplay -D hw:0 at once are mixed; a SIGKILLed aplay leaves the daemon serving"
hda_scenario

guest() {
  local tool="$OUTBOARD_BIN_DIR/outboard-bench-tool" a b victim
  "$tool" tone "$RESULTS/a.wav" --freq 440 --level -12.04 --seconds 4
  "$tool" tone "$RESULTS/b.wav" --freq 1000 --level -18.06 --seconds 4
  start_serve --period 1024 --periods 4 || return 1
  wait_nodes 10 /dev/snd/pcmC0D0p || return 1
  aplay -D hw:0 "$RESULTS/a.wav" 2>"$RESULTS/a.err" &
  a=$!
  aplay -D hw:0 "$RESULTS/b.wav" 2>"$RESULTS/b.err" &
  b=$!
  # outboard clients lists both (fuser finds them on the node too).
  listed() { (( $("$OUTBOARD_BIN_DIR/outboard" clients | grep -c $'^/dev/snd/pcmC0D0p\t[0-9]*\taplay\tw\tS16Le 48000 Hz 2 ch\trunning') == 2 )); }
  wait_until 10 "both aplays in outboard clients" listed || { "$OUTBOARD_BIN_DIR/outboard" clients; return 1; }
  "$OUTBOARD_BIN_DIR/outboard" clients | tee "$RESULTS/clients.txt"
  wait "$a" || { cat "$RESULTS/a.err"; return 1; }
  wait "$b" || { cat "$RESULTS/b.err"; return 1; }
  # A client killed in the middle of a write: the daemon serves on.
  aplay -D hw:0 "$RESULTS/a.wav" 2>/dev/null &
  victim=$!
  sleep 1
  kill -KILL "$victim"
  wait "$victim" 2>/dev/null || true
  kill -0 "$SERVE_PID" || { echo "the daemon died"; cat "$RESULTS/serve.log"; return 1; }
  aplay -D hw:0 -d 1 "$RESULTS/b.wav" 2>"$RESULTS/after.err" || { echo "no play after the kill"; cat "$RESULTS/after.err"; return 1; }
  echo "played after the kill"
  stop_serve
}

check() {
  expect '^played after the kill$' "$RESULTS/guest.log"
  [[ "$(grep -c $'^/dev/snd/pcmC0D0p\t[0-9]*\taplay\tw\t' "$RESULTS/clients.txt")" == 2 ]] \
    || { echo "outboard clients did not list both aplays"; cat "$RESULTS/clients.txt"; return 1; }
  # From where sound starts, the first 4 s hold both tones: judge their middle.
  sox "$HDA_OUT_WAV" "$RESULTS/both.wav" silence 1 0.01 0.5% trim 0.7 2
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" tones "$RESULTS/both.wav" --freqs 440,1000 --levels -12.04,-18.06
}
