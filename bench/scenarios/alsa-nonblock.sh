# alsa-nonblock: a non-blocking, poll-driven ALSA program (bench/lib/alsa-poll.c,
# built on the host against alsa-lib) on hw:0: writes until EAGAIN, waits in
# poll() on the PCM's descriptors, is woken when avail_min frames are free,
# and goes on until its 2 s signal is written. Host: it was told EAGAIN and
# woken, and QEMU's wav holds the signal bit for bit.
DESCRIPTION="ALSA: a non-blocking client gets EAGAIN and poll wakeups, and plays bit-exact"
hda_scenario

prepare() {
  gcc -O2 -Wall -o "$RESULTS/alsa-poll" "$BENCH_DIR/lib/alsa-poll.c" -lasound
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" signal "$RESULTS/sent.raw" --seconds 2 --seed 133
}

guest() {
  start_serve --period 1024 --periods 4 || return 1
  wait_nodes 10 /dev/snd/pcmC0D0p || return 1
  "$RESULTS/alsa-poll" hw:0 "$RESULTS/sent.raw" >"$RESULTS/client.txt" 2>&1 || { cat "$RESULTS/client.txt"; return 1; }
  cat "$RESULTS/client.txt"
  stop_serve
}

check() {
  expect '^eagain [1-9][0-9]* wakeups [1-9][0-9]* wrote 96000 frames$' "$RESULTS/client.txt"
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" compare "$HDA_OUT_WAV" "$RESULTS/sent.raw"
}
