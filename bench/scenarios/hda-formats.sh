# hda-formats: every rate hda-duplex advertises (16-bit stereo, 16 to 96 kHz)
# round-trips through the HDA driver. QEMU's ALSA audiodev follows the
# converters' format (no resampling), writing each rate's output to its own
# file and feeding line-in raw. Per rate the guest plays a signal and records.
# Host: each output is the signal bit for bit, each capture a stretch of what
# was fed.
DESCRIPTION="HDA driver: every format the emulated codec advertises plays and records bit-exact"
hda_scenario --timeout 300

RATES="16000 22050 32000 44100 48000 88200 96000"

prepare() {
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" signal "$RESULTS/in.raw" --seconds 30 --seed 9
  HDA_INPUT="$RESULTS/in.raw"
  HDA_ANY_FORMAT=on
  HDA_OUT_FILE="$RESULTS/hda-out-%r.raw"
}

guest() {
  local bin="$OUTBOARD_BIN_DIR" addr rate
  addr="$(hda_address)" || return 1
  "$bin/outboard" info --bind "$addr" | tee "$RESULTS/info.txt"
  for rate in $RATES; do
    "$bin/outboard-bench-tool" signal "$RESULTS/sent-$rate.wav" --seconds 0.5 --seed "$rate" --rate "$rate"
    "$bin/outboard-bench-tool" signal "$RESULTS/sent-$rate.raw" --seconds 0.5 --seed "$rate"
    "$bin/outboard" play "$addr" "$RESULTS/sent-$rate.wav" --period 4096
    "$bin/outboard" record "$addr" "$RESULTS/cap-$rate.wav" --rate "$rate" --seconds 0.5 --period 4096
  done
}

check() {
  local rate advertised
  advertised="$(sed -n 's/.*node 0x02 Audio Output *rates \[\([0-9, ]*\)\] bits \[16\].*/\1/p' "$RESULTS/info.txt" | tr -d ,)"
  [[ "$advertised" == "$RATES" ]] || { echo "the DAC advertises [$advertised], the scenario tests [$RATES]"; return 1; }
  for rate in $RATES; do
    echo "== $rate Hz"
    "$OUTBOARD_BIN_DIR/outboard-bench-tool" compare "$RESULTS/hda-out-$rate.raw" "$RESULTS/sent-$rate.raw"
    "$OUTBOARD_BIN_DIR/outboard-bench-tool" compare-capture "$RESULTS/in.raw" "$RESULTS/cap-$rate.wav"
  done
}
