# uac2-play-async: `outboard play` drives the emulated high-speed UAC2 device
# (f_uac2's descriptors; outboard-emu usb::uac2 served over USB/IP through
# vhci-hcd, as in uac2-referee, which proves the emulator against Linux's own
# driver) with the UAC driver alone, snd-usb-audio not loaded. The device's
# clock runs at 47900, 48000 and 48100 Hz and says so through its feedback
# endpoint. Host: for each, what the device received is the sent signal
# sample for sample (no frame lost or repeated), and the OUT frames per second
# (counted against the emulated bus clock) are within 0.05% of the device clock.
DESCRIPTION="UAC driver: async playback to the UAC2 emulator follows 47.9/48.0/48.1 kHz feedback, bit-exact"
usb_emu_scenario --timeout 600

guest() {
  local bin="$OUTBOARD_BIN_DIR" hz
  "$bin/outboard-bench-tool" signal "$RESULTS/sent.wav" --seconds 6 --seed 31
  "$bin/outboard-bench-tool" signal "$RESULTS/sent.raw" --seconds 6 --seed 31
  for hz in 47900 48000 48100; do
    start_emu "fb$hz" uac2 --feedback-hz "$hz" --record "$RESULTS/received$hz.raw" --stats "$RESULTS/fb$hz.stats"
    [[ "$hz" == 48000 ]] && "$bin/outboard" info "usb:$EMU_BUSID" | tee "$RESULTS/info.txt"
    "$bin/outboard" play "usb:$EMU_BUSID" "$RESULTS/sent.wav" --period 1024 >"$RESULTS/play$hz.txt" 2>"$RESULTS/play$hz.err" \
      || { cat "$RESULTS/play$hz.txt" "$RESULTS/play$hz.err"; return 1; }
    cat "$RESULTS/play$hz.txt"
    stop_emu
    cat "$RESULTS/fb$hz.out"
  done
}

emu_stat() { sed -n "s/^$2=//p" "$RESULTS/$1"; }

check() {
  local tool="$OUTBOARD_BIN_DIR/outboard-bench-tool" hz fps
  expect '^USB audio function 1d6b:0101 \(High speed, UAC2\)' "$RESULTS/info.txt"
  expect 'alt 1: S16Le, 2 ch, 16 of 16 bits, 44100/48000/96000 Hz, terminal 1, endpoint 0x01 iso OUT asynchronous' "$RESULTS/info.txt"
  expect '^driver playback: interface 1 alt 1 at 48000 Hz, S16Le 2 ch, asynchronous sync, following the feedback endpoint' "$RESULTS/info.txt"
  for hz in 47900 48000 48100; do
    expect '^played 288000 frames' "$RESULTS/play$hz.txt"
    expect 'failed_packets=0 .*feedback_values=[1-9]' "$RESULTS/play$hz.txt"
    [[ "$(emu_stat "fb$hz.stats" bad_out_packets)" == 0 ]] || { cat "$RESULTS/fb$hz.stats"; return 1; }
    echo "--- device clock $hz Hz"
    "$tool" compare "$RESULTS/received$hz.raw" "$RESULTS/sent.raw" || return 1
    fps="$(emu_stat "fb$hz.stats" out_fps)"
    echo "OUT frames per second: $fps over $(emu_stat "fb$hz.stats" streaming_seconds) s," \
      "$(awk -v f="$fps" -v h="$hz" 'BEGIN { printf "%+.4f%%", (f - h) / h * 100 }')"
    awk -v f="$fps" -v h="$hz" 'BEGIN { d = (f - h) / h; exit !(d <= 0.0005 && d >= -0.0005) }' \
      || { echo "device clock $hz: the driver sent $fps frames/s, not within 0.05%"; return 1; }
  done
  if grep -q panicked "$RESULTS"/*.err; then echo "a panic"; return 1; fi
}
