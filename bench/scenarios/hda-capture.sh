# hda-capture: a known signal is fed to hda-duplex's line-in (QEMU's ALSA
# audiodev reading a file); `outboard record` captures it through the HDA
# driver (pin 0x05 -> ADC 0x04, an input stream descriptor).
# Host: the capture is a stretch of the fed signal, bit for bit.
DESCRIPTION="HDA driver: a signal fed to line-in is captured bit-exact"
hda_scenario

prepare() { feed_line_in 8 6; }

guest() {
  local addr
  addr="$(hda_address)" || return 1
  "$OUTBOARD_BIN_DIR/outboard" record --bind "$addr" "$RESULTS/captured.wav" --seconds 2 --period 4096 | tee "$RESULTS/record.txt"
}

check() {
  grep -q '^recorded 96000 frames (48000 Hz, 16 bits, 2 channels)' "$RESULTS/record.txt" || { cat "$RESULTS/record.txt"; return 1; }
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" compare-capture "$RESULTS/in.raw" "$RESULTS/captured.wav"
}
