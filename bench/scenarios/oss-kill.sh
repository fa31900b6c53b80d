# oss-kill: two programs play through /dev/dsp; one is killed (SIGKILL) in
# the middle of a write. The other plays on to its end, the daemon lives,
# and `outboard clients` lists both before and only the survivor after.
DESCRIPTION="OSS: a client killed mid-write; the other plays on, the daemon lives, clients forgets it"
hda_scenario

guest() {
  local bin="$OUTBOARD_BIN_DIR"
  start_serve --period 4096 --periods 8
  python3 "$BENCH_DIR/lib/oss-tone.py" 1000 0.25 6 >"$RESULTS/survivor.txt" &
  local survivor=$!
  python3 "$BENCH_DIR/lib/oss-tone.py" 480 0.25 30 >"$RESULTS/victim.txt" &
  local victim=$!
  listed() { (( $("$bin/outboard" clients | grep -c python3) == $1 )); }
  wait_until 10 "both clients in outboard clients" listed 2 || { "$bin/outboard" clients; return 1; }
  "$bin/outboard" clients | tee "$RESULTS/clients-before.txt"
  kill -KILL "$victim"
  wait "$victim" 2>/dev/null || true
  wait_until 10 "the killed client to leave outboard clients" listed 1 || { "$bin/outboard" clients; return 1; }
  "$bin/outboard" clients | tee "$RESULTS/clients-after.txt"
  echo "victim=$victim survivor=$survivor" >"$RESULTS/pids.txt"
  wait "$survivor" || { echo "the surviving client failed"; return 1; }
  kill -0 "$SERVE_PID" || { echo "the daemon died"; cat "$RESULTS/serve.log"; return 1; }
  stop_serve
}

check() {
  local victim survivor
  victim="$(sed -n 's/victim=\([0-9]*\).*/\1/p' "$RESULTS/pids.txt")"
  survivor="$(sed -n 's/.*survivor=\([0-9]*\)/\1/p' "$RESULTS/pids.txt")"
  grep -q "^/dev/dsp	$victim	python3	w	S16Le 48000 Hz 2 ch	running" "$RESULTS/clients-before.txt" || { echo "the victim was not listed"; cat "$RESULTS/clients-before.txt"; return 1; }
  grep -q "^/dev/dsp	$survivor	python3	w	" "$RESULTS/clients-before.txt" || { echo "the survivor was not listed"; return 1; }
  if grep -q "	$victim	" "$RESULTS/clients-after.txt"; then echo "the killed client is still listed"; cat "$RESULTS/clients-after.txt"; return 1; fi
  grep -q "	$survivor	" "$RESULTS/clients-after.txt" || { echo "the survivor vanished"; return 1; }
  grep -q '^played 1000' "$RESULTS/survivor.txt" || { echo "the survivor did not finish"; return 1; }
  grep -q '^stopped: ' "$RESULTS/serve.log"
}
