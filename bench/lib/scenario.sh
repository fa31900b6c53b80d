# shellcheck shell=bash
# What scenario files start with, written once. `run` (on the host) and
# guest-entry.sh (in the guest) source this before a scenario file, so its
# top level may call these.

# hda_scenario [--mixer on|off] [--timeout SEC]: the common set-up of a
# scenario on the emulated HDA: QEMU's ICH9 + hda-duplex, its mixer off by
# default (samples pass unchanged), no USB device, 240 s, and lib/outboard.sh's
# helpers (hda_address, start_serve, oss_write...). Set anything else after it.
hda_scenario() {
  HDA=duplex
  HDA_MIXER=off
  USB=none
  TIMEOUT=240
  while (( $# )); do
    case "$1" in
      --mixer) HDA_MIXER="$2"; shift ;;
      --timeout) TIMEOUT="$2"; shift ;;
      *) echo "hda_scenario: unknown option $1" >&2; return 2 ;;
    esac
    shift
  done
  # shellcheck disable=SC1091
  source "$BENCH_DIR/lib/outboard.sh"
}

# usb_emu_scenario [--timeout SEC]: a scenario on the emulated UAC2 device
# plugged in over USB/IP (lib/usb-emu.sh): no HDA, no QEMU USB device, 420 s.
usb_emu_scenario() {
  HDA=none
  USB=none
  TIMEOUT=420
  [[ "${1:-}" == --timeout ]] && TIMEOUT="$2"
  # shellcheck disable=SC1091
  source "$BENCH_DIR/lib/usb-emu.sh"
}

# usb_audio_scenario: a scenario on QEMU's usb-audio (UAC1, full speed, on
# xHCI): no HDA, 240 s. The guest part waits for it (wait_usb) before use.
usb_audio_scenario() {
  HDA=none
  USB=audio
  TIMEOUT=240
}

# feed_line_in SECONDS SEED (in `prepare`): the test signal, fed to the HDA
# codec's line-in (HDA_INPUT) from in.raw.
feed_line_in() {
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" signal "$RESULTS/in.raw" --seconds "$1" --seed "$2"
  HDA_INPUT="$RESULTS/in.raw"
}

# expect REGEX FILE (in `check`): FILE has a line matching REGEX (grep -E);
# otherwise says which and shows the file, and fails.
expect() {
  grep -Eq "$1" "$2" || { echo "expected /$1/ in $(basename "$2"):"; cat "$2"; return 1; }
}
