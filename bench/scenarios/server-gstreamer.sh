# server-gstreamer: GStreamer's sinks and sources on Outboard's nodes,
# unmodified (alsasink on hw:0 is in alsa-media). A known signal is fed to
# the emulated codec's line-in; `alsasrc device=hw:0` records 1 s of it
# (S16 stereo 48 kHz) to a raw file; then `audiotestsrc ! osssink` plays a
# 660 Hz sine at a quarter of full scale on /dev/dsp. Host: what alsasrc
# recorded is a stretch of what was fed, bit for bit; the tone at its pitch
# and level with nothing else. An 8-period device ring, as alsa-capture (the
# file-fed line-in runs ahead of real time in bursts). alsasrc asks for a 1 s
# buffer (buffer-time; its default is 200 ms): the pipeline's start can stall
# the reader for longer than 200 ms on the bench's emulated CPUs (QEMU TCG),
# and a reader that late overruns, on the kernel's driver as on Outboard's
# (CI once saw the capture jump 8256 frames after its first 960).
DESCRIPTION="servers: GStreamer alsasrc (bit-exact capture from hw:0) and osssink (pitch and level on /dev/dsp)"
hda_scenario

prepare() { feed_line_in 20 104; }

guest() {
  start_serve --period 1024 --periods 8 || return 1
  wait_nodes 10 /dev/snd/pcmC0D0c /dev/dsp || return 1
  gst-launch-1.0 -q alsasrc device=hw:0 buffer-time=1000000 num-buffers=100 blocksize=1920 \
    ! audio/x-raw,format=S16LE,rate=48000,channels=2 ! filesink location="$RESULTS/captured.raw" \
    >"$RESULTS/alsasrc.txt" 2>&1 || { cat "$RESULTS/alsasrc.txt"; return 1; }
  gst-launch-1.0 -q audiotestsrc freq=660 volume=0.25 num-buffers=300 \
    ! audio/x-raw,rate=48000,channels=2,format=S16LE ! osssink device=/dev/dsp >"$RESULTS/osssink.txt" 2>&1 \
    || { cat "$RESULTS/osssink.txt"; return 1; }
  stop_serve
}

check() {
  local tool="$OUTBOARD_BIN_DIR/outboard-bench-tool"
  echo "--- alsasrc device=hw:0"
  local size
  size="$(stat -c %s "$RESULTS/captured.raw")"
  ((size >= 192000)) || { echo "alsasrc wrote $size bytes, not the 192000 of 1 s"; return 1; }
  "$tool" compare-capture "$RESULTS/in.raw" "$RESULTS/captured.raw" || return 1
  echo "--- audiotestsrc ! osssink"
  sox "$HDA_OUT_WAV" "$RESULTS/sound.wav" silence 1 0.01 0.5% reverse silence 1 0.01 0.5% reverse
  sox "$RESULTS/sound.wav" "$RESULTS/middle.wav" trim 0.5 2
  "$tool" tones "$RESULTS/middle.wav" --freqs 660 --levels -12.04
}
