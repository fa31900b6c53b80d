# uac1-multichannel: QEMU's usb-audio with multi=on offers 2-, 6- and 8-channel
# alt settings on interface 1. Two such devices: `outboard play` sends a
# 6-channel signal to the first (alt 2) and an 8-channel one to the second
# (alt 3). QEMU's mixing engine and wav backend are stereo only, so the bench
# runs these devices through an ALSA file PCM without the mixing engine: each
# writes usb-out<N>-<C>ch.raw with the channel count the driver chose. Host:
# both hold their signal sample for sample, every channel in its place.
DESCRIPTION="UAC driver: the 6- and 8-channel alt settings of QEMU usb-audio multi=on, bit-exact"
HDA=none
USB=audio-multi
USB_COUNT=2
TIMEOUT=300

guest() {
  local bin="$OUTBOARD_BIN_DIR" ports=()
  # The second device enumerates a moment after the first: wait for both.
  # QEMU numbers the ports in -device order: the first device writes usb-out.wav.
  wait_usb 46f4:0002 2 || return 1
  ports=("${USB_PORTS[@]}")
  "$bin/outboard" info "usb:${ports[0]}" | tee "$RESULTS/info.txt"
  for ch in 6 8; do
    "$bin/outboard-bench-tool" signal "$RESULTS/sent$ch.wav" --seconds 1 --seed "$ch" --channels "$ch"
    "$bin/outboard-bench-tool" signal "$RESULTS/sent$ch.raw" --seconds 1 --seed "$ch" --channels "$ch"
  done
  "$bin/outboard" play "usb:${ports[0]}" "$RESULTS/sent6.wav" --volume max | tee "$RESULTS/play6.txt"
  "$bin/outboard" play "usb:${ports[1]}" "$RESULTS/sent8.wav" --volume max | tee "$RESULTS/play8.txt"
}

check() {
  expect 'alt 2: S16Le, 6 ch, 16 of 16 bits, 48000 Hz' "$RESULTS/info.txt"
  expect 'alt 3: S16Le, 8 ch, 16 of 16 bits, 48000 Hz' "$RESULTS/info.txt"
  expect 'interface 1 alt 2 \(S16Le, 6 ch, 48000 Hz\)' "$RESULTS/play6.txt"
  expect 'interface 1 alt 3 \(S16Le, 8 ch, 48000 Hz\)' "$RESULTS/play8.txt"
  expect 'failed_packets=0 ' "$RESULTS/play6.txt"
  expect 'failed_packets=0 ' "$RESULTS/play8.txt"
  local tool="$OUTBOARD_BIN_DIR/outboard-bench-tool"
  "$tool" compare "$RESULTS/usb-out1-6ch.raw" "$RESULTS/sent6.raw" --channels 6 || return 1
  "$tool" compare "$RESULTS/usb-out2-8ch.raw" "$RESULTS/sent8.raw" --channels 8
}
