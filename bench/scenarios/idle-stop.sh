# idle-stop: with no client the daemon stops the device (as the kernel
# driver does with no PCM open, and PipeWire suspends an idle node): after
# `--idle-stop 1`, the HDA stream's DMA is stopped and the engine thread
# sleeps with no wakeup at all (its context switches in /proc over 5 s);
# then `aplay -D hw:0` restarts it and plays bit-exact at the emulated HDA,
# and so does a second aplay after another idle stop.
DESCRIPTION="idle stop: no client, the device stops and the engine makes 0 wakeups; the next aplay restarts it bit-exact"
hda_scenario

# Each serve thread's context switches (voluntary + involuntary), one line a thread.
switches() {
  local t
  for t in /proc/"$SERVE_PID"/task/*; do
    printf '%s %s %s\n' "${t##*/}" "$(tr ' ' _ <"$t/comm")" \
      "$(awk '/ctxt_switches/ { n += $2 } END { print n }' "$t/status" 2>/dev/null)"
  done
}

guest() {
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" signal "$RESULTS/sent.raw" --seconds 2 --seed 111
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" signal "$RESULTS/sent2.raw" --seconds 1 --seed 112
  RUST_LOG=outboard_mixer=debug start_serve --period 1024 --periods 4 --idle-stop 1 || return 1
  wait_nodes 10 /dev/snd/pcmC0D0p || return 1
  wait_until 10 "the engine to stop the idle device" grep -q 'devices stopped' "$RESULTS/serve.log" || return 1
  switches >"$RESULTS/before.txt"
  sleep 5
  switches >"$RESULTS/after.txt"
  join "$RESULTS/before.txt" "$RESULTS/after.txt" | awk '{ printf "thread %s wakeups %d\n", $2, $5 - $3 }' \
    | tee "$RESULTS/wakeups.txt"
  aplay -D hw:0 -f S16_LE -c 2 -r 48000 -t raw "$RESULTS/sent.raw" || { cat "$RESULTS/serve.log"; return 1; }
  wait_until 10 "the second idle stop" eval '[[ $(grep -c "devices stopped" "$RESULTS/serve.log") -ge 2 ]]' || return 1
  aplay -D hw:0 -f S16_LE -c 2 -r 48000 -t raw "$RESULTS/sent2.raw" || { cat "$RESULTS/serve.log"; return 1; }
  grep -E 'devices (stopped|restarted)' "$RESULTS/serve.log" | tee "$RESULTS/idle.txt"
  stop_serve
}

check() {
  expect '^thread outboard-engine wakeups 0$' "$RESULTS/wakeups.txt"
  if grep -v ' wakeups 0$' "$RESULTS/wakeups.txt"; then echo "FAIL: a thread woke while idle"; return 1; fi
  [[ $(grep -c 'devices restarted' "$RESULTS/idle.txt") -ge 2 ]] || { echo "FAIL: two restarts expected"; return 1; }
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" compare "$HDA_OUT_WAV" "$RESULTS/sent.raw" || return 1
  echo "--- after the second idle stop"
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" compare "$HDA_OUT_WAV" "$RESULTS/sent2.raw"
}
