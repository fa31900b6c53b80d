# shellcheck shell=bash
# Helpers for scenarios that plug an emulated USB device into the guest through
# vhci-hcd with outboard-usb-emu (source "$BENCH_DIR/lib/usb-emu.sh").

# start_emu NAME ARGS...: `outboard-usb-emu ARGS` in the background, output in
# $RESULTS/NAME.out and NAME.err; waits (90 s at most: TCG is slow) for its
# "attached usb BUSID" line. Sets EMU_PID and EMU_BUSID.
start_emu() {
  local name="$1" line
  shift
  EMU_NAME="$name"
  OUTBOARD_LOG="${OUTBOARD_LOG:-info}" "$OUTBOARD_BIN_DIR/outboard-usb-emu" "$@" >"$RESULTS/$name.out" 2>"$RESULTS/$name.err" &
  EMU_PID=$!
  # Attached, or gone: either ends the wait.
  _emu_attached_or_gone() { grep -q '^attached usb ' "$RESULTS/$EMU_NAME.out" || ! kill -0 "$EMU_PID" 2>/dev/null; }
  if ! wait_until 90 "$name: the emulated device to be attached" _emu_attached_or_gone; then
    cat "$RESULTS/$name.err"
    kill -TERM "$EMU_PID" 2>/dev/null || true
    return 1
  fi
  line="$(grep -m1 '^attached usb ' "$RESULTS/$name.out" || true)"
  if [[ -z "$line" ]]; then
    echo "$name: outboard-usb-emu exited before the device was attached"
    cat "$RESULTS/$name.out" "$RESULTS/$name.err"
    return 1
  fi
  EMU_BUSID="$(cut -d' ' -f3 <<<"$line")"
  echo "$name: $line"
}

# emu_card: the ALSA card number the kernel's snd-usb-audio made of the
# emulated device (waits 30 s at most for it and its PCM nodes). Prints it.
emu_card() {
  _emu_card_ready() {
    local c n
    for c in /sys/bus/usb/devices/"$EMU_BUSID":*/sound/card*; do
      [[ -e "$c" ]] || continue
      n="${c##*/card}"
      if [[ -c /dev/snd/pcmC${n}D0p && -c /dev/snd/pcmC${n}D0c ]]; then EMU_CARD="$n"; return 0; fi
    done
    return 1
  }
  if ! wait_until 30 "a sound card with both PCM nodes for usb $EMU_BUSID" _emu_card_ready >&2; then
    ls -l /sys/bus/usb/devices/"$EMU_BUSID":* >&2 || true
    return 1
  fi
  echo "$EMU_CARD"
}

# stop_emu: SIGTERM the emulator (it unplugs the device and prints its
# counters) and check it ended cleanly; 30 s at most.
stop_emu() {
  kill -TERM "$EMU_PID" 2>/dev/null || true
  if ! wait_until 30 "$EMU_NAME: outboard-usb-emu to exit after SIGTERM" process_gone "$EMU_PID"; then
    kill -KILL "$EMU_PID" 2>/dev/null || true
    return 1
  fi
  if ! wait "$EMU_PID"; then
    echo "$EMU_NAME: outboard-usb-emu failed"
    cat "$RESULTS/$EMU_NAME.out" "$RESULTS/$EMU_NAME.err"
    return 1
  fi
}

# emu_diagnose: after a failure, what the emulator counted (it is stopped) and
# what the kernel said about USB and sound (dmesg.txt in full).
emu_diagnose() {
  kill -TERM "$EMU_PID" 2>/dev/null || true
  wait "$EMU_PID" 2>/dev/null || true
  echo "--- $EMU_NAME: the emulator's counters"
  cat "$RESULTS/$EMU_NAME.out" "$RESULTS/$EMU_NAME.err"
  dmesg >"$RESULTS/dmesg.txt"
  echo "--- the kernel (dmesg.txt, usb/sound lines, repeats left out)"
  grep -iE 'usb|snd|vhci|urb|audio' "$RESULTS/dmesg.txt" \
    | grep -vE 'Not yet implemented|callbacks suppressed|already given back|unlink->seqnum' | tail -n 40
}
