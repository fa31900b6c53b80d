# alsa-capture: a known signal is fed to the emulated codec's line-in;
# `arecord -D hw:0` reads 1 s of it (S16 stereo 48 kHz) through alsa-lib,
# Outboard's ALSA capture node (READI in CUSE rounds), the mixer's capture
# and the HDA driver; then `arecord -I` reads another second into one file a
# channel (non-interleaved access, READN). Host: what each read, the channels
# put together again, is a stretch of what was fed, bit for bit. An 8-period device ring (170 ms): QEMU's unpaced line-in can run
# ahead of real time in bursts on a busy host, and a burst past the whole ring
# is an overrun (the engine reports it; arecord prints "overrun!!!").
DESCRIPTION="ALSA: arecord -D hw:0 captures the line-in signal bit-exact"
hda_scenario

prepare() { feed_line_in 20 102; }

guest() {
  start_serve --period 1024 --periods 8 || return 1
  wait_nodes 10 /dev/snd/pcmC0D0c || return 1
  arecord -v -D hw:0 -f S16_LE -c 2 -r 48000 -t raw -d 1 "$RESULTS/captured.raw" >"$RESULTS/arecord.txt" 2>&1 \
    || { cat "$RESULTS/arecord.txt"; return 1; }
  cat "$RESULTS/arecord.txt"
  arecord -v -I -D hw:0 -f S16_LE -c 2 -r 48000 -t raw -d 1 "$RESULTS/cap" >"$RESULTS/arecord-I.txt" 2>&1 \
    || { cat "$RESULTS/arecord-I.txt"; return 1; }
  cat "$RESULTS/arecord-I.txt"
  local raw=(-t raw -r 48000 -e signed -b 16 -c 1)
  sox -M "${raw[@]}" "$RESULTS/cap.0" "${raw[@]}" "$RESULTS/cap.1" -t raw "$RESULTS/captured-I.raw"
  stop_serve
}

check() {
  expect 'Recording raw data .* Signed 16 bit Little Endian, Rate 48000 Hz, Stereo' "$RESULTS/arecord.txt"
  [[ "$(stat -c %s "$RESULTS/captured.raw")" == 192000 ]] || { echo "arecord wrote $(stat -c %s "$RESULTS/captured.raw") bytes, not 192000"; return 1; }
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" compare-capture "$RESULTS/in.raw" "$RESULTS/captured.raw" || return 1
  echo "--- arecord -I: a file a channel"
  expect 'access *: RW_NONINTERLEAVED' "$RESULTS/arecord-I.txt"
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" compare-capture "$RESULTS/in.raw" "$RESULTS/captured-I.raw"
}
