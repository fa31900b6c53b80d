# alsa-media: media players on Outboard's ALSA nodes, unmodified, one after
# the other with a second of silence between: `ffmpeg -f alsa hw:0` plays a
# WAV of the test signal; GStreamer's `audiotestsrc ! alsasink device=hw:0`
# plays a 1 kHz sine at a quarter of full scale; `mpg123 -o alsa -a hw:0`
# plays an MP3 of a 440 Hz tone. Host: the test signal bit for bit; each tone
# at its pitch and level with nothing else (no gaps, no clicks).
# alsasink writes 20 ms at a time here (latency-time=20000), not its default
# 10 ms: each write costs alsa-lib about ten CUSE round trips (SYNC_PTR before
# and after, the wait's poll, WRITEI's three rounds, the clock's delay
# queries), and on the bench's emulated CPUs (QEMU TCG) ten round trips take
# about 10 ms, so 10 ms writes fell behind real time and underran every second
# or so (docs/alsa.md, "Round trips").
# ffmpeg reads the WAV in 64 KiB packets (the wav demuxer's max_size; its
# default is 4 KiB, 1024 frames): ffmpeg sets no start threshold, so alsa-lib
# starts the stream at its first write, and with 1024-frame writes a stall of
# one period between the first and the second under TCG underran (CI saw it
# once); a 16384-frame first write fills the buffer before it starts.
DESCRIPTION="ALSA: ffmpeg -f alsa (bit-exact), gst-launch alsasink and mpg123 -o alsa (pitch and level) play on hw:0"
hda_scenario

prepare() {
  local tool="$OUTBOARD_BIN_DIR/outboard-bench-tool"
  "$tool" signal "$RESULTS/sent.wav" --seconds 2 --seed 103
  "$tool" tone "$RESULTS/tone440.wav" --freq 440 --level -12.04 --seconds 3
  ffmpeg -hide_banner -loglevel error -nostdin -y -i "$RESULTS/tone440.wav" -codec:a libmp3lame -b:a 320k \
    "$RESULTS/tone440.mp3"
}

guest() {
  start_serve --period 1024 --periods 4 || return 1
  wait_nodes 10 /dev/snd/pcmC0D0p || return 1
  ffmpeg -hide_banner -nostdin -max_size 65536 -i "$RESULTS/sent.wav" -f alsa hw:0 >"$RESULTS/ffmpeg.txt" 2>&1 \
    || { cat "$RESULTS/ffmpeg.txt"; return 1; }
  sleep 1
  gst-launch-1.0 -q audiotestsrc freq=1000 volume=0.25 num-buffers=300 \
    ! audio/x-raw,rate=48000,channels=2,format=S16LE ! alsasink device=hw:0 latency-time=20000 >"$RESULTS/gst.txt" 2>&1 \
    || { cat "$RESULTS/gst.txt"; return 1; }
  sleep 1
  mpg123 -o alsa -a hw:0 "$RESULTS/tone440.mp3" >"$RESULTS/mpg123.txt" 2>&1 || { cat "$RESULTS/mpg123.txt"; return 1; }
  stop_serve
}

check() {
  local tool="$OUTBOARD_BIN_DIR/outboard-bench-tool"
  echo "--- ffmpeg -f alsa"
  "$tool" compare "$HDA_OUT_WAV" "$RESULTS/sent.wav" || return 1
  sox "$HDA_OUT_WAV" "$RESULTS/part.wav" silence 1 0.01 0.5% 1 0.4 0.5% : newfile : restart 2>/dev/null || true
  echo "--- gst-launch-1.0 ... ! alsasink"
  sox "$RESULTS/part002.wav" "$RESULTS/gst-middle.wav" trim 0.5 2
  "$tool" tones "$RESULTS/gst-middle.wav" --freqs 1000 --levels -12.04 || return 1
  echo "--- mpg123 -o alsa"
  sox "$RESULTS/part003.wav" "$RESULTS/mpg123-middle.wav" trim 0.5 2
  "$tool" tones "$RESULTS/mpg123-middle.wav" --freqs 440 --levels -12.04
}
