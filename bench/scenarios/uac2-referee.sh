# uac2-referee: the emulated UAC2 device (outboard-emu usb::uac2, f_uac2's
# descriptors) proves itself against Linux's own snd-usb-audio before it
# judges our driver. outboard-usb-emu plugs it into the guest through
# vhci-hcd (USB/IP over a socketpair, served in the guest); snd-usb-audio
# binds it, and unmodified aplay/arecord drive the card it makes.
# 1. Full duplex at the nominal clock: aplay sends a known 48 kHz S16 stereo
#    signal while arecord reads the device's capture source.
#    Host: what the emulator received holds what aplay sent, sample for
#    sample; what arecord got is a stretch of the capture source, sample for
#    sample (leading silence allowed).
# 2. Feedback: the device clock at 47900 Hz, then 48100 Hz (the feedback
#    endpoint says so). Host: the OUT frames per second Linux sent (counted
#    against the emulated bus clock, steady state) are within 0.05% of it
#    (and of 48000 in run 1).
# 3. aplay interrupted mid-stream (snd-usb-audio unlinks its URBs: the
#    server's USBIP_CMD_UNLINK path), then a second aplay on the same device.
#    Host: URBs were unlinked, the second stream arrived bit-exact.
# 4. Hot-unplug while aplay plays (vhci detach): aplay fails, the card goes.
# 5. Full speed (10.14 feedback, 1 ms frames): full duplex with the device
#    clock at 47900 Hz. Host: both directions bit-exact, the OUT rate within
#    0.05% of 47900.
# Whole run: no kernel BUG/WARNING/Oops, no "still N active urbs" (a URB the
# server never gave back) in the guest's log.
DESCRIPTION="UAC2 emulator vs Linux snd-usb-audio over USB/IP: duplex bit-exact (high and full speed), OUT rate follows feedback, unlink, unplug"
usb_emu_scenario --timeout 600

# Seconds aplay plays in the feedback runs (the rate is measured over it).
FB_SECONDS=6
# Extra emulator options for every run (e.g. OUTBOARD_UAC2_EMU_ARGS="--speed full").
read -r -a EMU_ARGS <<<"${OUTBOARD_UAC2_EMU_ARGS:-}"

guest() {
  local tool="$OUTBOARD_BIN_DIR/outboard-bench-tool" card rec hz
  "$tool" signal "$RESULTS/play.raw" --seconds 4 --seed 21
  "$tool" signal "$RESULTS/fb-play.raw" --seconds "$FB_SECONDS" --seed 23
  "$tool" signal "$RESULTS/capture-src.raw" --seconds 12 --seed 22
  "$BENCH_MODPROBE" snd_usb_audio

  # 1. full duplex at the nominal clock
  start_emu duplex uac2 "${EMU_ARGS[@]}" --capture "$RESULTS/capture-src.raw" --record "$RESULTS/received.raw" \
    --stats "$RESULTS/duplex.stats"
  card="$(emu_card)"
  cat /proc/asound/cards
  arecord -D "hw:$card,0" -f S16_LE -c 2 -r 48000 -t raw -d 6 "$RESULTS/captured.raw" 2>"$RESULTS/arecord.err" &
  rec=$!
  sleep 0.5
  aplay -D "hw:$card,0" -f S16_LE -c 2 -r 48000 -t raw "$RESULTS/play.raw" 2>"$RESULTS/aplay.err" \
    || { cat "$RESULTS/aplay.err"; emu_diagnose; return 1; }
  wait "$rec" || { cat "$RESULTS/arecord.err"; emu_diagnose; return 1; }
  echo "the guest's busiest processes:"; ps -eo pid,time,comm --sort=-time | head -n 6
  stop_emu
  cat "$RESULTS/duplex.out" "$RESULTS/aplay.err" "$RESULTS/arecord.err"

  # 2. the host follows the device clock through the feedback endpoint
  for hz in 47900 48100; do
    start_emu "fb$hz" uac2 "${EMU_ARGS[@]}" --feedback-hz "$hz" --stats "$RESULTS/fb$hz.stats"
    card="$(emu_card)"
    aplay -D "hw:$card,0" -f S16_LE -c 2 -r 48000 -t raw "$RESULTS/fb-play.raw" 2>"$RESULTS/fb$hz-aplay.err" \
      || { cat "$RESULTS/fb$hz-aplay.err"; emu_diagnose; return 1; }
    stop_emu
    cat "$RESULTS/fb$hz.out"
  done

  # 3. a stream cut short, then another on the same device
  start_emu cut uac2 "${EMU_ARGS[@]}" --record "$RESULTS/cut-received.raw" --stats "$RESULTS/cut.stats"
  card="$(emu_card)"
  aplay -D "hw:$card,0" -f S16_LE -c 2 -r 48000 -t raw "$RESULTS/fb-play.raw" 2>"$RESULTS/cut-aplay1.err" &
  rec=$!
  sleep 2
  kill -INT "$rec"
  wait "$rec" || true
  aplay -D "hw:$card,0" -f S16_LE -c 2 -r 48000 -t raw "$RESULTS/play.raw" 2>"$RESULTS/cut-aplay2.err" \
    || { cat "$RESULTS/cut-aplay2.err"; emu_diagnose; return 1; }
  stop_emu
  cat "$RESULTS/cut.out"

  # 4. unplugged while playing
  start_emu unplug uac2 "${EMU_ARGS[@]}" --unplug-after 3 --stats "$RESULTS/unplug.stats"
  card="$(emu_card)"
  if aplay -D "hw:$card,0" -f S16_LE -c 2 -r 48000 -t raw "$RESULTS/fb-play.raw" 2>"$RESULTS/unplug-aplay.err"; then
    echo "aplay to a device unplugged under it succeeded"; return 1
  fi
  echo "aplay after the unplug: $(tail -n1 "$RESULTS/unplug-aplay.err")"
  wait_until 10 "usb $EMU_BUSID to leave the bus after the unplug" not test -e "/sys/bus/usb/devices/$EMU_BUSID" || return 1
  stop_emu
  cat "$RESULTS/unplug.out"

  # 5. full speed: duplex with the device clock off nominal
  start_emu fs uac2 "${EMU_ARGS[@]}" --speed full --feedback-hz 47900 --capture "$RESULTS/capture-src.raw" \
    --record "$RESULTS/fs-received.raw" --stats "$RESULTS/fs.stats"
  card="$(emu_card)"
  arecord -D "hw:$card,0" -f S16_LE -c 2 -r 48000 -t raw -d 6 "$RESULTS/fs-captured.raw" 2>"$RESULTS/fs-arecord.err" &
  rec=$!
  sleep 0.5
  aplay -D "hw:$card,0" -f S16_LE -c 2 -r 48000 -t raw "$RESULTS/fb-play.raw" 2>"$RESULTS/fs-aplay.err" \
    || { cat "$RESULTS/fs-aplay.err"; emu_diagnose; return 1; }
  wait "$rec" || { cat "$RESULTS/fs-arecord.err"; emu_diagnose; return 1; }
  stop_emu
  cat "$RESULTS/fs.out"
  dmesg >"$RESULTS/dmesg.txt"
}

# emu_stat FILE KEY: the value of KEY= in an emulator's counters.
emu_stat() { sed -n "s/^$2=//p" "$RESULTS/$1"; }

check() {
  local tool="$OUTBOARD_BIN_DIR/outboard-bench-tool" f hz fps run
  if grep -nE 'BUG:|WARNING:|Oops|still [0-9]+ active urbs|cannot find a urb' "$RESULTS/dmesg.txt"; then
    echo "the guest kernel complained (dmesg.txt)"; return 1
  fi
  if grep -H 'completed none' "$RESULTS"/*.err; then echo "the emulator held URBs it never completed"; return 1; fi
  for f in duplex fb47900 fb48100 cut fs; do
    grep -q '^attached usb ' "$RESULTS/$f.out" || { echo "$f: the device was never attached"; return 1; }
    [[ "$(emu_stat "$f.stats" bad_out_packets)" == 0 ]] || { cat "$RESULTS/$f.stats"; echo "$f: bad OUT packets"; return 1; }
    [[ -n "$(emu_stat "$f.stats" out_fps)" ]] || { cat "$RESULTS/$f.stats"; echo "$f: no OUT stream measured"; return 1; }
  done
  [[ "$(emu_stat duplex.stats rate)" == 48000 ]] || { echo "the clock is not at 48000 Hz: $(emu_stat duplex.stats rate)"; return 1; }
  echo "--- playback: what the emulator received vs what aplay sent"
  "$tool" compare "$RESULTS/received.raw" "$RESULTS/play.raw"
  echo "--- a stream cut short (URBs unlinked: $(emu_stat cut.stats usbip_unlinked)), then another"
  (( $(emu_stat cut.stats usbip_unlinked) > 0 )) || { echo "aplay was interrupted but no URB was unlinked"; return 1; }
  "$tool" compare "$RESULTS/cut-received.raw" "$RESULTS/play.raw"
  grep -q '^unplugged after' "$RESULTS/unplug.out" || { echo "the emulator did not unplug"; return 1; }
  echo "--- capture: what arecord got vs the capture source"
  "$tool" compare-capture "$RESULTS/capture-src.raw" "$RESULTS/captured.raw"
  echo "--- full speed, device clock 47900 Hz: playback, capture"
  grep -q '^attached usb .*Full speed' "$RESULTS/fs.out" || { head -n1 "$RESULTS/fs.out"; echo "fs: not full speed"; return 1; }
  "$tool" compare "$RESULTS/fs-received.raw" "$RESULTS/fb-play.raw"
  "$tool" compare-capture "$RESULTS/capture-src.raw" "$RESULTS/fs-captured.raw"
  echo "--- OUT frames per second (bus clock, steady state; wall clock in brackets)"
  for run in duplex:48000 fb47900:47900 fb48100:48100 fs:47900; do
    f="${run%%:*}" hz="${run##*:}"
    fps="$(emu_stat "$f.stats" out_fps)"
    echo "$f, feedback $hz: $fps ($(emu_stat "$f.stats" out_fps_wall)) over $(emu_stat "$f.stats" streaming_seconds) s," \
      "$(awk -v f="$fps" -v h="$hz" 'BEGIN { printf "%+.4f%%", (f - h) / h * 100 }')"
    awk -v f="$fps" -v h="$hz" 'BEGIN { d = (f - h) / h; exit !(d <= 0.0005 && d >= -0.0005) }' \
      || { echo "$f: Linux sent $fps frames/s for a feedback of $hz, not within 0.05%"; return 1; }
  done
}
