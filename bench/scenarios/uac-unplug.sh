# uac-unplug: the USB device goes away in the middle of a stream.
# 1. The emulated UAC2 device is detached from vhci-hcd (a hot-unplug) 2 s
#    into a 20 s `outboard play`: the driver must end within 10 s with an
#    error naming the device as gone, and the process exits (freeing its
#    URBs and interfaces: nothing is left on the bus).
# 2. The same during `outboard record`.
# 3. QEMU's usb-audio (UAC1, full speed) is removed through sysfs 2 s into a
#    stream: the same clear error.
# Whole run: no kernel BUG/WARNING/Oops and no URB left behind in the guest's log.
DESCRIPTION="UAC driver: hot-unplug mid-stream (UAC2 over USB/IP, UAC1 on xHCI): clear error, no hang, nothing left"
HDA=none
USB=audio
TIMEOUT=420

source "$BENCH_DIR/lib/usb-emu.sh"

# run_until_gone NAME CMD...: run CMD in the background; it must exit with an
# error soon after the unplug (which the caller arranges 2 s in): 20 s at most.
run_until_gone() {
  local name="$1" pid
  shift
  "$@" >"$RESULTS/$name.txt" 2>"$RESULTS/$name.err" &
  pid=$!
  wait_until 20 "$name to exit after the unplug" process_gone "$pid" || { kill -9 "$pid"; return 1; }
  if wait "$pid"; then echo "$name: streaming to an unplugged device succeeded"; return 1; fi
  echo "$name: $(tail -n1 "$RESULTS/$name.err")"
}

guest() {
  local bin="$OUTBOARD_BIN_DIR" port=""
  "$bin/outboard-bench-tool" signal "$RESULTS/long.wav" --seconds 20 --seed 61

  start_emu play-emu uac2 --unplug-after 2 --stats "$RESULTS/play-emu.stats"
  run_until_gone play "$bin/outboard" play "usb:$EMU_BUSID" "$RESULTS/long.wav" || return 1
  wait_until 10 "usb $EMU_BUSID to leave the bus" not test -e "/sys/bus/usb/devices/$EMU_BUSID" || return 1
  stop_emu

  start_emu record-emu uac2 --unplug-after 2 --stats "$RESULTS/record-emu.stats"
  run_until_gone record "$bin/outboard" record "usb:$EMU_BUSID" "$RESULTS/never.wav" --seconds 20 || return 1
  stop_emu

  wait_usb 46f4:0002 1 || return 1
  port="/sys/bus/usb/devices/${USB_PORTS[0]}"
  ( sleep 2; echo 1 >"$port/remove" ) &
  run_until_gone uac1 "$bin/outboard" play 46f4:0002 "$RESULTS/long.wav" || return 1
  dmesg >"$RESULTS/dmesg.txt"
}

check() {
  expect 'usb .*1d6b:0101 is gone \(unplugged or removed\)' "$RESULTS/play.err"
  expect 'usb .*1d6b:0101 is gone \(unplugged or removed\)' "$RESULTS/record.err"
  expect 'usb .*46f4:0002 is gone \(unplugged or removed\)' "$RESULTS/uac1.err"
  grep -q '^unplugged after' "$RESULTS/play-emu.out" || { echo "the emulator did not unplug"; return 1; }
  if grep -nE 'BUG:|WARNING:|Oops|still [0-9]+ active urbs|cannot find a urb' "$RESULTS/dmesg.txt"; then
    echo "the guest kernel complained (dmesg.txt)"; return 1
  fi
  if grep -q panicked "$RESULTS"/*.err; then echo "a panic"; return 1; fi
}
