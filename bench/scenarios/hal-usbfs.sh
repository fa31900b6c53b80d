# hal-usbfs: the hardware access layer against the kernel's real usbfs.
# Guest: errors for an absent device and an unprivileged user; then
# `outboard probe usbfs` finds 46f4:0002 (QEMU usb-audio) through sysfs, claims
# streaming interface 1, selects alt 1, sets the feature unit's volume to its
# maximum (QEMU's 0 dB scales by 240/255; 0x7fff passes samples unchanged) and
# streams 2 s of a known 16-bit stereo 48 kHz signal as isochronous packets.
# Last, the device is removed (sysfs `remove`: a logical unplug) in the middle
# of a second stream: the probe must end promptly with an error naming it.
# Host: what QEMU wrote to its wav backend holds the sent signal sample for sample.
DESCRIPTION="hal over usbfs: claim, alt 1, 2 s of iso OUT to QEMU usb-audio bit-exact, unplug mid-stream"
usb_audio_scenario

guest() {
  local bin="$OUTBOARD_BIN_DIR/outboard"
  wait_usb 46f4:0002 1 || return 1
  if "$bin" probe usbfs --id 1234:5678 2>"$RESULTS/absent.err"; then echo "an absent device succeeded"; return 1; fi
  if setpriv --reuid=65534 --regid=65534 --clear-groups "$bin" probe usbfs --id 46f4:0002 2>"$RESULTS/unprivileged.err"; then
    echo "an unprivileged user opened the usbfs node"; return 1
  fi
  "$bin" list | tee "$RESULTS/list.txt"
  "$bin" probe usbfs --id 46f4:0002 --interface 1 --alt 1 --volume-unit 2 --seconds 2 \
    --sent "$RESULTS/usb-sent.raw" | tee "$RESULTS/probe.txt"

  # Unplug mid-stream.
  local port="/sys/bus/usb/devices/${USB_PORTS[0]}"
  "$bin" probe usbfs --id 46f4:0002 --seconds 20 >"$RESULTS/unplug.out" 2>"$RESULTS/unplug.err" &
  local pid=$!
  sleep 2
  echo 1 >"$port/remove"
  wait_until 10 "the probe to exit after the unplug" process_gone "$pid" || { kill "$pid"; return 1; }
  if wait "$pid"; then echo "streaming to an unplugged device succeeded"; return 1; fi
  echo "after unplug: $(cat "$RESULTS/unplug.err")"
  cat "$RESULTS"/*.err
}

check() {
  local p="$RESULTS/probe.txt"
  expect '^id=46f4:0002 configurations=1$' "$p"
  expect '^endpoint=0x01 max_packet=192 interval=1 sync=3$' "$p"
  expect '^sent_frames=96000 .*failed_packets=0 short_packets=0' "$p"
  expect 'no USB device with id 1234:5678' "$RESULTS/absent.err"
  expect 'permission denied opening /dev/bus/usb/[0-9]+/[0-9]+ for usb .* 46f4:0002' "$RESULTS/unprivileged.err"
  expect '46f4:0002 +Full speed' "$RESULTS/list.txt"
  expect 'usb .*46f4:0002 is gone \(unplugged or removed\)' "$RESULTS/unplug.err"
  if grep -q panicked "$RESULTS"/*.err; then echo "a panic"; return 1; fi
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" compare "$USB_OUT_WAV" "$RESULTS/usb-sent.raw" --channels 2
}
