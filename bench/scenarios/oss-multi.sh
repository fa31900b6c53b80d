# oss-multi: `outboard serve` with no device named finds both devices itself
# (the HDA controller bound to vfio-pci, QEMU's USB audio device) and serves
# each: /dev/dsp0 + /dev/mixer0 on the HDA, /dev/dsp1 + /dev/mixer1 on the USB
# device, /dev/dsp (the first) and one /dev/sndstat listing both. Two
# programs play different signals to /dev/dsp0 and /dev/dsp1 at once.
# Host: each device's output holds its own signal bit for bit.
DESCRIPTION="OSS: serve finds the HDA and the USB device; /dev/dsp0 and /dev/dsp1 play at once, each bit-exact"
hda_scenario --timeout 300
USB=audio

guest() {
  local bin="$OUTBOARD_BIN_DIR" addr p0 p1
  addr="$(hda_address)" || return 1
  "$bin/outboard" info --bind "$addr" >/dev/null || return 1
  "$bin/outboard-bench-tool" signal "$RESULTS/sent0.raw" --seconds 2 --seed 81
  "$bin/outboard-bench-tool" signal "$RESULTS/sent1.raw" --seconds 2 --seed 82
  wait_usb 46f4:0002 1 || return 1
  start_serve_device --hw-volume max --period 4096 --periods 8 || return 1
  wait_nodes 10 /dev/dsp0 /dev/dsp1 /dev/mixer0 /dev/mixer1 /dev/audio1 /dev/sndstat || return 1
  local n
  cat /dev/sndstat | tee "$RESULTS/sndstat.txt"
  oss_write /dev/dsp0 "$RESULTS/sent0.raw" >"$RESULTS/client0.txt" &
  p0=$!
  oss_write /dev/dsp1 "$RESULTS/sent1.raw" >"$RESULTS/client1.txt" &
  p1=$!
  wait "$p0" || return 1
  wait "$p1" || return 1
  cat "$RESULTS"/client*.txt
  grep -q '^wrote 384000$' "$RESULTS/client0.txt" && grep -q '^wrote 384000$' "$RESULTS/client1.txt" \
    || { echo "a client did not write everything"; return 1; }
  stop_serve
  for n in /dev/dsp /dev/dsp0 /dev/dsp1; do [[ ! -e "$n" ]] || { echo "$n is still there after SIGTERM"; return 1; }; done
}

check() {
  expect '^0: Outboard [0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7] ' "$RESULTS/sndstat.txt"
  expect '^1: Outboard usb .*46f4:0002' "$RESULTS/sndstat.txt"
  expect '^serving /dev/dsp0 and /dev/audio0 and /dev/mixer0 on [0-9a-f]{4}:' "$RESULTS/serve.log"
  expect '^serving /dev/dsp1 and /dev/audio1 and /dev/mixer1 on usb .*46f4:0002' "$RESULTS/serve.log"
  expect '^stopped: .*/dev/dsp1.* removed' "$RESULTS/serve.log"
  local tool="$OUTBOARD_BIN_DIR/outboard-bench-tool"
  echo "--- HDA (/dev/dsp0)"
  "$tool" compare "$HDA_OUT_WAV" "$RESULTS/sent0.raw" || return 1
  echo "--- USB (/dev/dsp1)"
  "$tool" compare "$USB_OUT_WAV" "$RESULTS/sent1.raw"
}
