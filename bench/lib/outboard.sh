# Helpers for scenarios that run the project's binaries in the guest
# (source "$BENCH_DIR/lib/outboard.sh" from a scenario file).

# The emulated HDA controller's PCI address (class 0403), waiting 10 s at most.
hda_address() {
  _hda_found() {
    local d
    for d in /sys/bus/pci/devices/*; do
      if [[ "$(cat "$d/class" 2>/dev/null)" == 0x0403* ]]; then HDA_ADDRESS="${d##*/}"; return 0; fi
    done
    return 1
  }
  wait_until 10 "an HDA controller (PCI class 0403)" _hda_found >&2 || return 1
  echo "$HDA_ADDRESS"
}

# start_serve [ARGS...]: `outboard serve --bind <the HDA> ARGS` in the
# background, logging to $RESULTS/serve.log; waits 10 s at most for /dev/dsp
# and /dev/mixer. Sets SERVE_PID.
start_serve() {
  local addr
  addr="$(hda_address)" || return 1
  start_serve_device --bind "$addr" "$@"
}

# start_serve_device DEVICE-ARGS...: the same on any device (`usb`, a PCI address...).
start_serve_device() {
  "$OUTBOARD_BIN_DIR/outboard" serve "$@" >"$RESULTS/serve.log" 2>&1 &
  SERVE_PID=$!
  wait_nodes 10 /dev/dsp /dev/mixer || { cat "$RESULTS/serve.log"; return 1; }
}

# stop_serve: SIGTERM the daemon and check it stopped cleanly.
stop_serve() {
  kill -TERM "$SERVE_PID"
  wait "$SERVE_PID" || { echo "outboard serve failed"; cat "$RESULTS/serve.log"; return 1; }
  cat "$RESULTS/serve.log"
  # A clean stop logs no error or warning (a VFIO group still busy at exit
  # means something kept the device's mappings past shutdown).
  if grep -E "^outboard: (error|warn)" "$RESULTS/serve.log"; then
    echo "the daemon logged errors"; return 1
  fi
}

# oss_write NODE RAW: an unmodified program (Python's ossaudiodev) plays RAW
# (S16_LE stereo 48 kHz) to NODE, printing what the node answered:
# "setfmt N", "channels N", "speed N", then "wrote BYTES".
oss_write() {
  python3 - "$1" "$2" <<'PY'
import ossaudiodev, sys
data = open(sys.argv[2], "rb").read()
dsp = ossaudiodev.open(sys.argv[1], "w")
print("setfmt", dsp.setfmt(ossaudiodev.AFMT_S16_LE))
print("channels", dsp.channels(2))
print("speed", dsp.speed(48000))
dsp.writeall(data)
dsp.close()
print("wrote", len(data))
PY
}
