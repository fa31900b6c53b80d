# uac1-play: `outboard play` drives QEMU's usb-audio (UAC1, full speed) through
# usbfs with the UAC driver alone: descriptors parsed into the device model,
# interface 1 alt 1 selected, the feature unit's volume set to its maximum
# (QEMU scales samples by 240/255 at 0 dB; at its maximum it passes them
# unchanged), and a 48 kHz S16 stereo stream of isochronous packets. The
# quirk table is overridden to none so the driver sends the sample-rate
# request QEMU STALLs: the stream must go on. Host: QEMU's wav holds the
# signal sample for sample.
DESCRIPTION="UAC driver: 48 kHz S16 stereo to QEMU usb-audio bit-exact; a STALLed rate request is survived"
usb_audio_scenario

guest() {
  local bin="$OUTBOARD_BIN_DIR"
  wait_usb 46f4:0002 1 || return 1
  "$bin/outboard-bench-tool" signal "$RESULTS/sent.wav" --seconds 2 --seed 11
  "$bin/outboard-bench-tool" signal "$RESULTS/sent.raw" --seconds 2 --seed 11
  "$bin/outboard-bench-tool" signal "$RESULTS/cd.wav" --seconds 0.1 --seed 1 --rate 44100
  "$bin/outboard" list | tee "$RESULTS/list.txt"
  "$bin/outboard" info usb:46f4:0002 | tee "$RESULTS/info.txt"
  OUTBOARD_USB_QUIRKS=46f4:0002:0 OUTBOARD_LOG=info \
    "$bin/outboard" play usb "$RESULTS/sent.wav" --volume max 2>"$RESULTS/play.err" | tee "$RESULTS/play.txt"
  cat "$RESULTS/play.err"
  # A rate the device does not offer is refused, naming what it offers.
  if "$bin/outboard" play 46f4:0002 "$RESULTS/cd.wav" 2>"$RESULTS/badrate.err"; then echo "44.1 kHz was accepted"; return 1; fi
  cat "$RESULTS/badrate.err"
}

check() {
  expect '46f4:0002 +Full speed' "$RESULTS/list.txt"
  expect '^USB audio function 46f4:0002 \(Full speed, UAC1\)' "$RESULTS/info.txt"
  expect 'feature unit 2: <- 1: master mute; ch1 volume; ch2 volume' "$RESULTS/info.txt"
  expect 'alt 1: S16Le, 2 ch, 16 of 16 bits, 48000 Hz, terminal 1, endpoint 0x01 iso OUT synchronous, 192 bytes every 1000 us' "$RESULTS/info.txt"
  expect '^quirks: fixed_rate' "$RESULTS/info.txt"
  expect '^driver playback: interface 1 alt 1 at 48000 Hz' "$RESULTS/info.txt"
  expect 'refused the rate request; it runs at 48000 Hz anyway' "$RESULTS/play.err"
  expect '^played 96000 frames' "$RESULTS/play.txt"
  expect 'failed_packets=0 ' "$RESULTS/play.txt"
  expect 'no playback alt setting for 44100 Hz.*alt 1: S16Le 2 ch 48000 Hz' "$RESULTS/badrate.err"
  if grep -q panicked "$RESULTS"/*.err; then echo "a panic"; return 1; fi
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" compare "$USB_OUT_WAV" "$RESULTS/sent.raw" --channels 2
}
