# hda-play: `outboard play` drives QEMU's ICH9 HDA + hda-duplex (mixer off)
# through VFIO with the HDA driver alone: controller bring-up, codec graph,
# the path the pin configuration gives (DAC 0x02 -> line out 0x03), a
# 48 kHz S16 stereo stream. Host: QEMU's wav holds the signal bit for bit.
DESCRIPTION="HDA driver: a 48 kHz S16 stereo signal comes out of the emulated codec bit-exact"
hda_scenario

guest() {
  local bin="$OUTBOARD_BIN_DIR" addr
  addr="$(hda_address)" || return 1
  "$bin/outboard-bench-tool" signal "$RESULTS/sent.wav" --seconds 2 --seed 5
  "$bin/outboard-bench-tool" signal "$RESULTS/sent.raw" --seconds 2 --seed 5
  "$bin/outboard" info --bind "$addr" | tee "$RESULTS/info.txt"
  "$bin/outboard" play "$addr" "$RESULTS/sent.wav" --period 4096 | tee "$RESULTS/play.txt"
  # A format the codec does not offer is refused before anything plays.
  "$bin/outboard" record "$addr" "$RESULTS/bad.wav" --rate 12345 --seconds 0.1 2>"$RESULTS/badrate.err" && return 1
  cat "$RESULTS/badrate.err"
}

check() {
  grep -q 'LineOut pin 0x03: 0x02 -> 0x03' "$RESULTS/info.txt" || { echo "the output path is not DAC 0x02 -> pin 0x03"; return 1; }
  grep -q 'LineIn pin 0x05: 0x05 -> 0x04' "$RESULTS/info.txt" || { echo "the input path is not pin 0x05 -> ADC 0x04"; return 1; }
  grep -q '^played 96000 frames (48000 Hz, 16 bits, 2 channels)' "$RESULTS/play.txt" || { cat "$RESULTS/play.txt"; return 1; }
  grep -q 'HDA streams here take 8, 16 or 32 bits\|does not do 12345 Hz\|12345' "$RESULTS/badrate.err" || { cat "$RESULTS/badrate.err"; return 1; }
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" compare "$HDA_OUT_WAV" "$RESULTS/sent.raw"
}
