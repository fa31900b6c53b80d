# storm: hostile clients beside a well-behaved one (issue #14). Four storm
# processes (bench/lib/storm.py) throw random opens (any mode, O_NONBLOCK or
# not), random ioctls with random arguments (OSS 'P', 'M', 'X', ALSA 'A',
# 'U', 'T' and any number), random-size writes and reads, polls and closes
# at every node for the whole run, while `arecord -D hw:0` records 30 s of
# the signal fed to line-in. Then the storm is told to stop (SIGTERM).
# Host and guest check: the recording is a stretch of what was fed, bit for
# bit (capture fans out, so the storm cannot reach it, but it shares the
# daemon, its request threads and the engine); `outboard clients` answered
# during the storm; every storm process died within 15 s of its SIGTERM
# (none stuck in a call or in close, with audio queued or not); the daemon logged no handler panic and stopped
# cleanly; a client after the storm plays.
DESCRIPTION="hardening: four hostile clients throw random calls at every node while arecord records bit-exact beside them; all exit when told"
hda_scenario --timeout 420

prepare() { feed_line_in 60 106; }

guest() {
  # A 32-period ring of 2048-frame periods (1.37 s), and arecord with a
  # 2 s buffer: under TCG the guest's float arithmetic is emulated, and the
  # storm's streams at 8 kHz (OSS's default) each need a 64-tap resampler;
  # with several playing or recording at once the engine fell up to 630 ms
  # behind (its own count: "longest pass" in serve.log), past a 680 ms ring.
  # Natively the same load (four 8 kHz players, three recorders) costs the
  # engine 0.13 ms per 21 ms period (mixer-core/examples/storm_load.rs).
  start_serve --period 2048 --periods 32 || return 1
  wait_nodes 10 /dev/snd/pcmC0D0p /dev/snd/pcmC0D0c /dev/snd/controlC0 /dev/dsp /dev/audio /dev/mixer || return 1
  local nodes=(/dev/dsp /dev/audio /dev/mixer /dev/sndstat /dev/snd/pcmC0D0p /dev/snd/pcmC0D0c /dev/snd/controlC0)
  local storms=() k
  for k in 1 2 3 4; do
    # At the lowest CPU priority, with 40 ms between calls on average (10 ms
    # until CI run 28, where the 8 kHz streams they held open at once cost
    # the emulated engine passes of 1.3-1.6 s, past the 1.37 s ring; at
    # 40 ms, 0.13-0.54 s): the
    # emulated CPUs are few and slow (TCG), and four processes calling
    # flat out starve the guest itself (the engine's wakeups came up to
    # 100 ms late and device rings went by unseen), on any driver. What is tested is what they do to others through the daemon
    # (its request threads, locks, queues and engine), which niceness does
    # not change: the daemon serves them at its own priority.
    nice -n 19 python3 "$BENCH_DIR/lib/storm.py" 600 "$k" 40 "${nodes[@]}" >"$RESULTS/storm$k.txt" 2>&1 &
    storms+=($!)
  done
  sleep 5
  arecord -v -D hw:0 -f S16_LE -c 2 -r 48000 -t raw --buffer-time=2000000 -d 30 "$RESULTS/captured.raw" \
    >"$RESULTS/arecord.txt" 2>&1 &
  local rec=$!
  sleep 10
  timeout 10 "$OUTBOARD_BIN_DIR/outboard" clients >"$RESULTS/clients.txt" 2>&1 \
    || { echo "outboard clients did not answer during the storm"; cat "$RESULTS/clients.txt"; return 1; }
  wait "$rec" || { cat "$RESULTS/arecord.txt"; return 1; }
  kill -TERM "${storms[@]}"
  gone() { local p; for p in "${storms[@]}"; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }
  if ! wait_until 15 "every storm process to exit" gone; then
    for k in "${storms[@]}"; do
      kill -0 "$k" 2>/dev/null && echo "storm pid $k still there: state $(awk '{ print $3 }' "/proc/$k/stat"), in $(cat "/proc/$k/wchan")"
    done
    return 1
  fi
  wait "${storms[@]}" 2>/dev/null || true
  cat "$RESULTS"/storm*.txt
  # After the storm, a client plays as before.
  python3 "$BENCH_DIR/lib/oss-tone.py" 1000 0.25 1 >"$RESULTS/after.txt" || { cat "$RESULTS/after.txt"; return 1; }
  kill -TERM "$SERVE_PID"
  wait "$SERVE_PID" || { echo "outboard serve failed"; cat "$RESULTS/serve.log"; return 1; }
  if grep -E "panicked|^outboard: error" "$RESULTS/serve.log"; then
    echo "the daemon logged a panic or an error"; return 1
  fi
}

check() {
  local k
  for k in 1 2 3 4; do expect "^storm $k so far:" "$RESULTS/storm$k.txt" || return 1; done
  # Each storm got answers to its ioctls (errors, mostly: random ones).
  for k in 1 2 3 4; do expect "ioctl E[A-Z]+ [0-9]+" "$RESULTS/storm$k.txt" || return 1; done
  expect "^/dev/snd/pcmC0D0c	[0-9]+	arecord	r	S16Le 48000 Hz 2 ch	running" "$RESULTS/clients.txt" || return 1
  expect "^played 1000" "$RESULTS/after.txt" || return 1
  if grep -q "overrun" "$RESULTS/arecord.txt"; then cat "$RESULTS/arecord.txt"; echo "arecord overran beside the storm"; return 1; fi
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" compare-capture "$RESULTS/in.raw" "$RESULTS/captured.raw"
}
