# measure-usb: `outboard measure` through the UAC driver (usbfs, in the guest)
# on the UAC2 emulator in loopback mode (its IN endpoint sends back what its
# OUT endpoint got 4800 frames earlier on the bus's time): latency, channel
# map, response, THD, noise and glitches of a 16-bit digital cable, held to a
# limits file, with a JSON and an HTML report. Host: the figures a digital
# loopback must give, and the report rendered by headless Chromium with its
# plots on the page. (The latency also counts the frames the driver has
# queued in URBs, as a program on the driver sees it.)
DESCRIPTION="measure: outboard measure on the UAC2 emulator's loopback (limits, JSON, HTML report seen in Chromium)"
usb_emu_scenario

guest() {
  local bin="$OUTBOARD_BIN_DIR"
  start_emu loop uac2 --loopback 4800 --wire --stats "$RESULTS/loop.stats"
  "$bin/outboard" measure "usb:$EMU_BUSID" --bits 16 --period 2048 --periods 16 \
    --tests latency,channels,response,thd,noise,glitch --repeats 3 --sweep-seconds 2 --glitch-seconds 5 \
    --limits "$REPO/bench/lib/measure-usb-limits.toml" --json "$RESULTS/measure.json" --report "$RESULTS/report" \
    >"$RESULTS/measure.txt" 2>"$RESULTS/measure.err" || { cat "$RESULTS/measure.txt" "$RESULTS/measure.err"; emu_diagnose; return 1; }
  cat "$RESULTS/measure.txt"
  # A limit that cannot hold fails the run (exit status 1) and says which.
  printf '["latency.frames"]\nmax = 10\n' >"$RESULTS/tight.toml"
  if "$bin/outboard" measure "usb:$EMU_BUSID" --bits 16 --tests latency --repeats 1 \
      --limits "$RESULTS/tight.toml" >"$RESULTS/tight.txt" 2>"$RESULTS/tight.err"; then
    echo "a limit of 10 frames passed"; cat "$RESULTS/tight.txt"; return 1
  fi
  cat "$RESULTS/tight.err"
  stop_emu
  cat "$RESULTS/loop.out"
}

check() {
  expect '^all 7 limits hold' "$RESULTS/measure.txt"
  expect 'latency.frames .*FAIL' "$RESULTS/tight.txt"
  expect '1 of 1 limits failed: latency.frames' "$RESULTS/tight.err"
  python3 - "$RESULTS/measure.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
fig = {f["name"]: f["value"] for f in doc["figures"]}
assert doc["passed"], doc["limits"]
# Each output on its own input, upright; a digital cable crosses nothing.
paths = doc["report"]["channels"]
assert [(p["output"], p["input"], p["inverted"]) for p in paths] == [(0, 0, False), (1, 1, False)], paths
# Bit-exact 16-bit: the response flat, the noise of silence nothing at all.
assert abs(fig["response.deviation_db"]) < 0.01, fig
assert fig["noise.unweighted_dbfs"] < -200, fig
print("latency runs:", doc["report"]["latency"]["runs"], "thd+n:", round(fig["thd.thd_n_db"], 2), "dB")
PY
  # The report, as a browser shows it: the page and its plots drawn.
  local shot="$RESULTS/report.png" profile
  profile="$(mktemp -d)"
  timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --user-data-dir="$profile" \
    --hide-scrollbars --window-size=1000,3400 --screenshot="$shot" "file://$RESULTS/report/index.html" \
    >"$RESULTS/chromium.log" 2>&1 || { tail -n 20 "$RESULTS/chromium.log"; return 1; }
  rm -rf "$profile"
  # The plots' first series colour (plotters' blue), in several plots' worth of lines.
  local blue
  blue="$(python3 "$BENCH_DIR/lib/png-colour.py" "$shot" 1f77b4)"
  echo "report.png: $blue pixels of the plots' blue"
  (( blue > 2000 )) || { echo "the report's plots did not show in Chromium ($blue blue pixels)"; return 1; }
  [[ "$(sed -n 's/^loopback_underruns=//p' "$RESULTS/loop.stats")" == 0 ]] || { cat "$RESULTS/loop.stats"; return 1; }
}
