# uac2-duplex: one `outboard record --play` process plays to and records from
# the emulated UAC2 device at once (two interfaces, two clocks, the playback
# side following the feedback endpoint at 47950 Hz while capture runs from
# the same device clock). Host: the device received the played signal sample
# for sample, and the recording is a stretch of the capture source.
DESCRIPTION="UAC driver: full duplex on the UAC2 emulator (async playback at 47.95 kHz + capture), both bit-exact"
usb_emu_scenario

guest() {
  local bin="$OUTBOARD_BIN_DIR"
  "$bin/outboard-bench-tool" signal "$RESULTS/play.wav" --seconds 3 --seed 51
  "$bin/outboard-bench-tool" signal "$RESULTS/play.raw" --seconds 3 --seed 51
  "$bin/outboard-bench-tool" signal "$RESULTS/source.raw" --seconds 10 --seed 52
  start_emu duplex uac2 --feedback-hz 47950 --capture "$RESULTS/source.raw" --record "$RESULTS/received.raw" \
    --stats "$RESULTS/duplex.stats"
  "$bin/outboard" record "usb:$EMU_BUSID" "$RESULTS/captured.wav" --seconds 4 --rate 48000 --bits 16 \
    --play "$RESULTS/play.wav" >"$RESULTS/duplex.txt" 2>"$RESULTS/duplex.err" || { cat "$RESULTS/duplex.txt" "$RESULTS/duplex.err"; return 1; }
  cat "$RESULTS/duplex.txt"
  stop_emu
  cat "$RESULTS/duplex.out"
}

emu_stat() { sed -n "s/^$2=//p" "$RESULTS/$1"; }

check() {
  local tool="$OUTBOARD_BIN_DIR/outboard-bench-tool"
  expect '^usb playback: .*failed_packets=0 .*feedback_values=[1-9][0-9]* .*rate_hz=479(4[89]|5[01])\.' "$RESULTS/duplex.txt"
  expect '^usb: .*failed_packets=0 partial_packets=0' "$RESULTS/duplex.txt"
  expect '^recorded 192000 frames' "$RESULTS/duplex.txt"
  [[ "$(emu_stat duplex.stats bad_out_packets)" == 0 ]] || { cat "$RESULTS/duplex.stats"; return 1; }
  echo "--- playback"
  "$tool" compare "$RESULTS/received.raw" "$RESULTS/play.raw" || return 1
  echo "--- capture"
  "$tool" compare-capture "$RESULTS/source.raw" "$RESULTS/captured.wav"
  if grep -q panicked "$RESULTS"/*.err; then echo "a panic"; return 1; fi
}
