# perf/pipewire-cpu: PipeWire (with WirePlumber and pipewire-pulse) on
# Outboard's ALSA node against the same PipeWire on the kernel's own
# snd-hda-intel driving the same emulated controller in the same guest.
# Each side gets the same drop-in (packaging/pipewire/outboard.conf: a sink
# on the card, S16 stereo 48 kHz); on the kernel's card it points at hw:0 and
# keeps PipeWire's mmap access, as a user of that driver has it. On each:
# 5 s idle with PipeWire running, then `paplay` of a 20 s tone through
# pipewire-pulse (the seconds: SERVER_SECONDS). Reported in
# target/bench/pipewire-cpu/cpu.txt: the guest's busy ticks over each
# (PipeWire, pipewire-pulse, the daemon, the CUSE round trips in the kernel,
# paplay: everything), PipeWire's and pipewire-pulse's own ticks, the
# daemon's own ticks (Outboard side), and the xruns PipeWire logged. No
# latency figure: pipewire-pulse 0.3.65 reports 0 usec for the sink and the
# stream on both drivers (`pactl list sinks`/`sink-inputs`), and pw-top has
# no batch mode yet. A benchmark, not a test: bench/run --perf pipewire-cpu.
DESCRIPTION="perf: PipeWire's CPU on Outboard's ALSA node vs the kernel's snd-hda-intel"
hda_scenario --timeout 600
# shellcheck disable=SC1091
source "$BENCH_DIR/lib/perf.sh"
# shellcheck disable=SC1091
source "$BENCH_DIR/lib/pipewire.sh"
HOST_SECONDS="${SERVER_SECONDS:-20}"

prepare() {
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" tone "$RESULTS/tone.wav" --freq 1000 --level -12.04 --seconds "$HOST_SECONDS"
  printf 'AUDIO_SECONDS=%s\n' "$HOST_SECONDS" >"$RESULTS/perf.env"
}

# side NAME DROPIN DAEMON_PID: PipeWire with DROPIN, idle then playing.
side() {
  local name="$1" dropin="$2" daemon="$3"
  pw_start "$dropin" || return 1
  local pw="${PW_PIDS[0]}" pulse="${PW_PIDS[2]}" p0 p1 q0 q1
  p0="$(proc_jiffies "$pw")"; q0="$(proc_jiffies "$pulse")"
  measure "$name-idle" "$daemon" sleep 5
  p1="$(proc_jiffies "$pw")"; q1="$(proc_jiffies "$pulse")"
  echo "$name-idle pipewire_ticks=$((p1 - p0)) pulse_ticks=$((q1 - q0))" | tee -a "$RESULTS/cpu.txt"
  paplay "$RESULTS/tone.wav" &
  local play=$!
  p0="$(proc_jiffies "$pw")"; q0="$(proc_jiffies "$pulse")"
  measure "$name-play" "$daemon" wait "$play" || return 1
  p1="$(proc_jiffies "$pw")"; q1="$(proc_jiffies "$pulse")"
  echo "$name-play pipewire_ticks=$((p1 - p0)) pulse_ticks=$((q1 - q0))" | tee -a "$RESULTS/cpu.txt"
  pw_stop
  echo "$name xruns_logged=$(grep -ci xrun "$RESULTS/pipewire.log" || true)" | tee -a "$RESULTS/cpu.txt"
  : >"$RESULTS/pipewire.log"
}

guest() {
  . "$RESULTS/perf.env"
  : >"$RESULTS/cpu.txt"
  echo "audio_seconds=$AUDIO_SECONDS nproc=$(nproc) user_hz=$(getconf CLK_TCK)" | tee -a "$RESULTS/cpu.txt"
  # The kernel's driver, with the same drop-in on its card.
  "$BENCH_MODPROBE" snd_hda_codec_generic || return 1
  "$BENCH_MODPROBE" snd_hda_intel || return 1
  wait_until 15 "the kernel's HDA card" test -e /dev/snd/pcmC0D0p || return 1
  mkdir -p "$RESULTS/kernel-conf"
  sed -e 's/hw:Outboard/hw:0/' -e '/disable-mmap/d' "$BENCH_DIR/../packaging/pipewire/outboard.conf" \
    >"$RESULTS/kernel-conf/outboard.conf"
  side kernel "$RESULTS/kernel-conf/outboard.conf" 0 || return 1
  # Outboard, on the same controller (serve --bind unbinds the kernel's driver).
  start_serve --period 1024 --periods 4 || return 1
  wait_until 10 "Outboard's PCM node" eval 'ls /dev/snd/pcmC*D0p >/dev/null 2>&1' || return 1
  side outboard "$BENCH_DIR/../packaging/pipewire/outboard.conf" "$SERVE_PID" || return 1
  stop_serve
}

check() {
  cat "$RESULTS/cpu.txt"
  grep -q '^kernel-play ' "$RESULTS/cpu.txt" && grep -q '^outboard-play ' "$RESULTS/cpu.txt"
}
