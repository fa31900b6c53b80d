# hda-duplex: playback and capture at once through one HDA controller: an
# output stream to line-out and an input stream from line-in, in one process.
# Host: both directions bit-exact.
DESCRIPTION="HDA driver: full duplex, playback and capture at once, both bit-exact"
hda_scenario

prepare() { feed_line_in 8 7; }

guest() {
  local bin="$OUTBOARD_BIN_DIR" addr
  addr="$(hda_address)" || return 1
  "$bin/outboard-bench-tool" signal "$RESULTS/sent.wav" --seconds 2 --seed 8
  "$bin/outboard-bench-tool" signal "$RESULTS/sent.raw" --seconds 2 --seed 8
  "$bin/outboard" record --bind "$addr" "$RESULTS/captured.wav" --seconds 2 --period 4096 --play "$RESULTS/sent.wav" | tee "$RESULTS/duplex.txt"
}

check() {
  grep -q '^played .* while recording' "$RESULTS/duplex.txt" || { cat "$RESULTS/duplex.txt"; return 1; }
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" compare-capture "$RESULTS/in.raw" "$RESULTS/captured.wav"
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" compare "$HDA_OUT_RAW" "$RESULTS/sent.raw"
}
