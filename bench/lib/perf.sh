# CPU accounting in the guest for the benchmarks in bench/perf/. Each
# measurement goes to $RESULTS/cpu.txt as one line of name=value fields.

# busy_jiffies: the guest's busy time so far, in USER_HZ ticks (all CPUs).
busy_jiffies() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
# proc_jiffies PID: that process's user + system ticks (all its threads).
proc_jiffies() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# measure NAME PID CMD...: run CMD (in this shell: it may `wait`), then
# note in cpu.txt the guest's busy ticks over it, the wall time, and PID's
# own ticks (PID 0: none).
measure() {
  local name="$1" pid="$2"; shift 2
  local b0 p0=0 t0 b1 p1=0 t1
  b0="$(busy_jiffies)"; (( pid )) && p0="$(proc_jiffies "$pid")"; t0="$(date +%s.%N)"
  "$@" || return 1
  b1="$(busy_jiffies)"; (( pid )) && p1="$(proc_jiffies "$pid")"; t1="$(date +%s.%N)"
  echo "$name busy_ticks=$((b1 - b0)) daemon_ticks=$((p1 - p0)) wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')" \
    | tee -a "$RESULTS/cpu.txt"
}

# threads PID NAME: each of PID's threads' ticks so far, by thread name, and
# its run time in ms from the scheduler's own count (schedstat, exact where
# the tick sampling is coarse).
threads() {
  local t
  for t in /proc/"$1"/task/*; do
    echo "$2 thread $(cat "$t/comm") $(awk '{ print $14 + $15 }' "$t/stat") run_ms=$(awk '{ printf "%d", $1 / 1e6 }' "$t/schedstat" 2>/dev/null)"
  done | sort -k3 | tee -a "$RESULTS/cpu.txt"
}
