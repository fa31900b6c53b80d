# server-pipewire: Debian's PipeWire, WirePlumber and pipewire-pulse on
# Outboard's ALSA nodes, with the shipped drop-in
# (packaging/pipewire/outboard.conf: a sink and a source on hw:Outboard) and
# nothing else configured. In turn: `pw-play` of a 1 kHz tone; `paplay`
# (through pipewire-pulse) of a 440 Hz tone; `wpctl set-volume` of the sink
# to 0.5 and `pw-play` of the 1 kHz tone again; `pw-play` and `paplay` at
# once (two desktop streams, mixed by PipeWire); jack2's jack_simple_client
# through PipeWire's JACK face (`pw-jack`: 240 Hz left, 720 Hz right, 0.2 of
# full scale), connected by itself to the Outboard sink's ports; an OSS
# program (bench/lib/oss-tone.py through Python's ossaudiodev, a 500 Hz
# tone at a quarter of full scale) with padsp's libpulsedsp
# preloaded, into pipewire-pulse and never onto Outboard's own /dev/dsp.
# Host: each tone at its pitch and level with nothing else, the quieter one
# down by what wpctl's 0.5 means, and the pair both there. No line-in is fed: QEMU's file-fed
# line-in makes its HDA run unpaced (about 1.3x real time, output too), and a
# timer-driven server like PipeWire, on the system clock, then falls behind
# (on the kernel's driver as on Outboard's).
DESCRIPTION="servers: PipeWire (pw-play, paplay via pipewire-pulse, wpctl volume, two streams mixed, a JACK client via pipewire-jack, padsp) on Outboard's ALSA nodes"
hda_scenario --timeout 420
# shellcheck disable=SC1091
source "$BENCH_DIR/lib/pipewire.sh"

prepare() {
  local tool="$OUTBOARD_BIN_DIR/outboard-bench-tool"
  "$tool" tone "$RESULTS/tone1k.wav" --freq 1000 --level -12.04 --seconds 3
  "$tool" tone "$RESULTS/tone440.wav" --freq 440 --level -12.04 --seconds 3
}

guest() {
  # A 16-period device ring (341 ms): on the emulated CPUs the whole guest
  # now and then stalls for longer than 4 periods (serve.log once counted an
  # engine wakeup 185 ms late, with PipeWire's xrun-free graph around it),
  # and the device then replays a stale ring.
  start_serve --period 1024 --periods 16 || return 1
  wait_nodes 10 /dev/snd/pcmC0D0p /dev/snd/pcmC0D0c || return 1
  pw_start "$BENCH_DIR/../packaging/pipewire/outboard.conf" || return 1
  wpctl status | tee "$RESULTS/wpctl-status.txt"
  pw-play "$RESULTS/tone1k.wav" || return 1
  sleep 1
  paplay "$RESULTS/tone440.wav" || return 1
  sleep 1
  wpctl set-volume @DEFAULT_AUDIO_SINK@ 0.5 || return 1
  wpctl get-volume @DEFAULT_AUDIO_SINK@ | tee "$RESULTS/volume.txt"
  pw-play "$RESULTS/tone1k.wav" || return 1
  wpctl set-volume @DEFAULT_AUDIO_SINK@ 1.0 || return 1
  sleep 1
  pw-play "$RESULTS/tone1k.wav" & local a=$!
  paplay "$RESULTS/tone440.wav" & local b=$!
  wait "$a" && wait "$b" || return 1
  sleep 1
  # A JACK client through PipeWire's JACK face: it connects itself to the
  # physical playback ports, which are the Outboard sink's.
  # A 2048-frame JACK period: on the emulated CPUs (TCG) the client missed
  # an occasional 1024-frame cycle (a short gap in its sines).
  pw-jack -p 2048 jack_simple_client >"$RESULTS/jack-client.log" 2>&1 &
  local jc=$!
  sleep 1
  pw-jack jack_lsp -c >"$RESULTS/jack-ports.txt" 2>&1
  sleep 4
  kill "$jc"; wait "$jc" 2>/dev/null
  cat "$RESULTS/jack-client.log" "$RESULTS/jack-ports.txt"
  sleep 1
  # An OSS program into pipewire-pulse through padsp's library (libpulsedsp
  # takes the program's /dev/dsp before the kernel sees the open). Debian
  # 12's padsp script itself preloads "/usr/\<its pid>LIB/..." (its `\\$$LIB`
  # quoting expands $$), so the bench preloads the library as padsp means to.
  # The program asks for 4 fragments of 64 KiB, as OSS games do: libpulsedsp
  # passes the program's data on one fragment at a time through a socket one
  # fragment deep, and its default fragment (1/24 s) made a round through the
  # program, its thread and pipewire-pulse every 42 ms, which the emulated
  # CPUs (QEMU TCG) did not keep up with: the tone came out stretched by a
  # quarter, with 64 ms gaps (sox's `-t oss`, which sets no fragments, had
  # them on every code; PULSE_LATENCY_MSEC does not reach libpulsedsp's
  # buffer). Here a round carries 340 ms.
  LD_PRELOAD="/usr/lib/x86_64-linux-gnu/pulseaudio/libpulsedsp.so" PADSP_DEBUG=1 OSS_TONE_FRAGMENT=0x00040010 \
    python3 "$BENCH_DIR/lib/oss-tone.py" 500 0.25 3 >"$RESULTS/padsp.log" 2>&1 || { cat "$RESULTS/padsp.log"; return 1; }
  pw_stop
  cat "$RESULTS/pipewire.log" "$RESULTS/wireplumber.log" "$RESULTS/pipewire-pulse.log"
  stop_serve
}

check() {
  local tool="$OUTBOARD_BIN_DIR/outboard-bench-tool"
  expect "Outboard" "$RESULTS/wpctl-status.txt"
  sox "$HDA_OUT_WAV" "$RESULTS/part.wav" silence 1 0.01 0.5% 1 0.4 0.5% : newfile : restart 2>/dev/null || true
  ls "$RESULTS"/part*.wav
  echo "--- pw-play"
  sox "$RESULTS/part001.wav" "$RESULTS/pw-middle.wav" trim 0.5 2
  "$tool" tones "$RESULTS/pw-middle.wav" --freqs 1000 --levels -12.04 || return 1
  echo "--- paplay (pipewire-pulse)"
  sox "$RESULTS/part002.wav" "$RESULTS/pa-middle.wav" trim 0.5 2
  "$tool" tones "$RESULTS/pa-middle.wav" --freqs 440 --levels -12.04 || return 1
  echo "--- pw-play after wpctl set-volume 0.5"
  sox "$RESULTS/part003.wav" "$RESULTS/quiet-middle.wav" trim 0.5 2
  "$tool" tones "$RESULTS/quiet-middle.wav" --freqs 1000 --levels -30.10 || return 1
  echo "--- pw-play and paplay at once"
  sox "$RESULTS/part004.wav" "$RESULTS/both-middle.wav" trim 0.5 2
  "$tool" tones "$RESULTS/both-middle.wav" --freqs 1000,440 --levels -12.04,-12.04 || return 1
  echo "--- pw-jack jack_simple_client (pipewire-jack)"
  expect "jack_simple_client:output1" "$RESULTS/jack-ports.txt" || return 1
  grep -A1 "^jack_simple_client:output1" "$RESULTS/jack-ports.txt" | expect "Outboard:playback_FL" /dev/stdin || return 1
  sox "$RESULTS/part005.wav" "$RESULTS/jack-left.wav" remix 1 trim 2 2
  sox "$RESULTS/part005.wav" "$RESULTS/jack-right.wav" remix 2 trim 2 2
  "$tool" tones "$RESULTS/jack-left.wav" --freqs 240 --levels -13.98 --channels 1 || return 1
  "$tool" tones "$RESULTS/jack-right.wav" --freqs 720 --levels -13.98 --channels 1 || return 1
  echo "--- padsp: oss-tone.py on /dev/dsp (into pipewire-pulse)"
  if grep "/dev/dsp: opened" "$RESULTS/serve.log"; then
    echo "the OSS program reached Outboard's /dev/dsp itself, not through pipewire-pulse"
    return 1
  fi
  expect "dsp_open\(\) succeeded" "$RESULTS/padsp.log" || return 1
  expect "SNDCTL_DSP_SETFRAGMENT: 0x00040010" "$RESULTS/padsp.log" || return 1
  sox "$RESULTS/part006.wav" "$RESULTS/padsp-middle.wav" trim 0.5 2
  "$tool" tones "$RESULTS/padsp-middle.wav" --freqs 500 --levels -12.04
}
