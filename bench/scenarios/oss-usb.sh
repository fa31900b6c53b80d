# oss-usb: oss-play through the USB device: `outboard serve usb` runs the
# mixer on QEMU's usb-audio (UAC1, full speed, through usbfs) and serves
# /dev/dsp through CUSE; Python's ossaudiodev plays a 48 kHz S16 stereo
# signal. The daemon sets the device's feature unit to its maximum
# (--hw-volume max: QEMU scales samples by 240/255 at 0 dB). SIGTERM stops
# the daemon, removes the nodes and returns the interface to alt 0.
# Host: QEMU's wav holds the signal bit for bit.
DESCRIPTION="OSS /dev/dsp through CUSE on the USB device: ossaudiodev plays 48 kHz S16 stereo, bit-exact at QEMU usb-audio"
usb_audio_scenario

source "$BENCH_DIR/lib/outboard.sh"

guest() {
  local bin="$OUTBOARD_BIN_DIR"
  "$bin/outboard-bench-tool" signal "$RESULTS/sent.raw" --seconds 2 --seed 71
  wait_usb 46f4:0002 1 || return 1
  start_serve_device usb --hw-volume max --period 4096 --periods 8 || return 1
  wait_nodes 10 /dev/audio /dev/sndstat || return 1
  cat /dev/sndstat | tee "$RESULTS/sndstat.txt"
  oss_write /dev/dsp "$RESULTS/sent.raw" | tee "$RESULTS/client.txt"
  stop_serve
  [[ ! -e /dev/dsp ]] || { echo "/dev/dsp is still there after SIGTERM"; return 1; }
}

check() {
  expect '^speed 48000$' "$RESULTS/client.txt"
  expect '^wrote 384000$' "$RESULTS/client.txt"
  expect 'Outboard usb .*46f4:0002' "$RESULTS/sndstat.txt"
  expect '^serving /dev/dsp .* on usb .*46f4:0002 \(48000 Hz' "$RESULTS/serve.log"
  expect '^stopped: /dev/dsp and /dev/audio and /dev/mixer and /dev/sndstat and /dev/snd/controlC0 and /dev/snd/pcmC0D0p removed' "$RESULTS/serve.log"
  "$OUTBOARD_BIN_DIR/outboard-bench-tool" compare "$USB_OUT_WAV" "$RESULTS/sent.raw"
}
