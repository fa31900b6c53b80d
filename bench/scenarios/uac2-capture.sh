# uac2-capture: `outboard record` reads the emulated high-speed UAC2 device's
# capture endpoint (iso IN, asynchronous, packets of 5 or 6 frames at 44.1 kHz,
# 6 at 48 kHz) with the UAC driver alone, at both rates: the clock source is
# set through its SAM_FREQ control. The emulator feeds a known signal.
# Host: what was recorded is a stretch of the capture source, sample for
# sample (leading silence allowed), at each rate.
DESCRIPTION="UAC driver: capture from the UAC2 emulator at 48 and 44.1 kHz, bit-exact"
usb_emu_scenario

guest() {
  local bin="$OUTBOARD_BIN_DIR" rate
  "$bin/outboard-bench-tool" signal "$RESULTS/source.raw" --seconds 10 --seed 41
  for rate in 48000 44100; do
    start_emu "cap$rate" uac2 --capture "$RESULTS/source.raw" --stats "$RESULTS/cap$rate.stats"
    "$bin/outboard" record "usb:$EMU_BUSID" "$RESULTS/captured$rate.wav" --seconds 3 --rate "$rate" --bits 16 \
      >"$RESULTS/record$rate.txt" 2>"$RESULTS/record$rate.err" || { cat "$RESULTS/record$rate.txt" "$RESULTS/record$rate.err"; return 1; }
    cat "$RESULTS/record$rate.txt"
    stop_emu
    cat "$RESULTS/cap$rate.out"
  done
  # A rate the clock does not offer is refused before anything streams.
  start_emu badrate-emu uac2
  if "$bin/outboard" record "usb:$EMU_BUSID" "$RESULTS/bad.wav" --seconds 1 --rate 32000 2>"$RESULTS/badrate.err"; then
    echo "32000 Hz was accepted"; return 1
  fi
  stop_emu
  cat "$RESULTS/badrate.err"
}

emu_stat() { sed -n "s/^$2=//p" "$RESULTS/$1"; }

check() {
  local tool="$OUTBOARD_BIN_DIR/outboard-bench-tool" rate
  for rate in 48000 44100; do
    expect "^recorded $((rate * 3)) frames \\($rate Hz, S16Le, 2 channels\\)" "$RESULTS/record$rate.txt"
    expect 'failed_packets=0 partial_packets=0' "$RESULTS/record$rate.txt"
    [[ "$(emu_stat "cap$rate.stats" capture_rate)" == "$rate" ]] || { cat "$RESULTS/cap$rate.stats"; echo "the clock was not set to $rate"; return 1; }
    echo "--- $rate Hz"
    "$tool" compare-capture "$RESULTS/source.raw" "$RESULTS/captured$rate.wav" || return 1
  done
  expect 'no capture alt setting for 32000 Hz.*44100/48000/96000 Hz' "$RESULTS/badrate.err"
  if grep -q panicked "$RESULTS"/*.err; then echo "a panic"; return 1; fi
}
