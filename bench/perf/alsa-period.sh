# perf/alsa-period: the smallest period at which `aplay` and `arecord` (S16
# stereo 48 kHz, 4 periods a buffer) run SECONDS without an xrun, on
# Outboard's ALSA node against the kernel's own snd-hda-intel driving the same
# emulated controller in the same guest. Each period of the list is tried in
# turn, smallest first, until one runs clean; a run ends at its first
# "underrun!!!" / "overrun!!!". The capture runs record the bench's
# file-fed line-in, which QEMU does not pace (bursts): a capture figure here
# says as much about that as about the driver. Outboard's engine runs at the same period
# (serve --period P --periods 4). Run: bench/run --perf alsa-period
# (ALSA_PERIOD_SECONDS, default 60; ALSA_PERIOD_LIST, default
# "64 128 256 512 1024 2048"). Results in target/bench/alsa-period/periods.txt;
# a benchmark, not a test.
DESCRIPTION="perf: smallest period without xruns for SECONDS, aplay and arecord, ALSA node vs snd-hda-intel"
hda_scenario --timeout 3000
HOST_SECONDS="${ALSA_PERIOD_SECONDS:-60}"
HOST_LIST="${ALSA_PERIOD_LIST:-64 128 256 512 1024 2048}"

prepare() {
  # The line-in signal for the capture runs (QEMU's file-backed line-in is
  # unpaced: it can run ahead in bursts, for both drivers alike).
  feed_line_in 480 106
  printf 'DURATION=%s\nLIST="%s"\n' "$HOST_SECONDS" "$HOST_LIST" >"$RESULTS/perf.env"
}

# run_clean NAME SECONDS CMD...: run CMD until it ends or prints an xrun
# (then it is stopped); note the outcome in periods.txt; succeed when clean.
run_clean() {
  local name="$1" seconds="$2"; shift 2
  local err="$RESULTS/$name.err" t0 pid
  t0="$(date +%s.%N)"
  "$@" 2>"$err" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    if grep -Eq 'underrun|overrun' "$err"; then
      kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
      echo "$name xrun after $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s" \
        | tee -a "$RESULTS/periods.txt"
      return 1
    fi
    sleep 0.5
  done
  if ! wait "$pid"; then
    echo "$name failed after $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s: $(tail -n 2 "$err" | tr '\n' ' ')" \
      | tee -a "$RESULTS/periods.txt"
    return 1
  fi
  echo "$name clean for $seconds s" | tee -a "$RESULTS/periods.txt"
}

# smallest DRIVER DIRECTION DEVICE [SETUP]: try each period in turn; SETUP P
# runs first for each (Outboard: a daemon at that period).
smallest() {
  local driver="$1" dir="$2" device="$3" setup="${4:-}" p
  for p in $LIST; do
    if [[ -n "$setup" ]]; then "$setup" "$p" || return 1; device="$(outboard_device | tail -n 1)"; fi
    local shape=(-D "$device" -f S16_LE -c 2 -r 48000 -t raw -d "$DURATION" --period-size="$p" --buffer-size=$((p * 4)))
    local ok=1
    if [[ "$dir" == play ]]; then
      run_clean "$driver-play-$p" "$DURATION" aplay "${shape[@]}" /dev/zero || ok=0
    else
      run_clean "$driver-capture-$p" "$DURATION" arecord "${shape[@]}" /dev/null || ok=0
    fi
    [[ -n "$setup" ]] && { stop_serve >>"$RESULTS/serve-stops.txt" 2>&1 || return 1; }
    if (( ok )); then
      echo "RESULT $driver $dir smallest_clean_period=$p" | tee -a "$RESULTS/periods.txt"
      return 0
    fi
  done
  echo "RESULT $driver $dir smallest_clean_period=none" | tee -a "$RESULTS/periods.txt"
}

outboard_device() {
  local node
  wait_until 10 "Outboard's PCM node" eval 'node="$(ls /dev/snd/pcmC*D0p 2>/dev/null | head -n1)"; [[ -n "$node" ]]' || return 1
  node="${node#/dev/snd/pcmC}"
  echo "hw:${node%D0p}"
}

outboard_at() {
  start_serve --period "$1" --periods 4
}

guest() {
  . "$RESULTS/perf.env"
  : >"$RESULTS/periods.txt"
  echo "seconds=$DURATION list=$LIST nproc=$(nproc)" | tee -a "$RESULTS/periods.txt"
  "$BENCH_MODPROBE" snd_hda_codec_generic || return 1
  "$BENCH_MODPROBE" snd_hda_intel || return 1
  wait_until 15 "the kernel's HDA card" test -e /dev/snd/pcmC0D0p || return 1
  smallest kernel play hw:0
  smallest kernel capture hw:0
  # Outboard on the same controller (serve --bind unbinds the kernel's driver).
  smallest outboard play "" outboard_at
  smallest outboard capture "" outboard_at
}

check() {
  cat "$RESULTS/periods.txt"
  [[ "$(grep -c '^RESULT ' "$RESULTS/periods.txt")" == 4 ]]
}
