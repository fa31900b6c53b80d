# hal-vfio: the hardware access layer against the kernel's real VFIO.
# Guest: errors for a missing device, an unbound device and an unprivileged
# user name the device; then `outboard probe vfio --bind` binds QEMU's ICH9 HDA
# to vfio-pci through hal, reads GCAP/VMAJ, resets the controller, runs CORB/RIRB
# round trips that read the hda-duplex codec's vendor id, and counts MSI
# interrupts from a running output stream.
# Host: the probe's key=value lines say all of that happened.
DESCRIPTION="hal over VFIO: bind, GCAP/VMAJ, reset, CORB/RIRB vendor id 0x1af40022, MSI from a stream"
hda_scenario --mixer on

guest() {
  local bin="$OUTBOARD_BIN_DIR/outboard" addr
  addr="$(hda_address)" || return 1

  # Bad input: each must fail with a message naming the device, not a panic.
  if "$bin" probe vfio 0000:00:1f.7 2>"$RESULTS/missing.err"; then echo "a missing device succeeded"; return 1; fi
  if "$bin" probe vfio "$addr" 2>"$RESULTS/unbound.err"; then echo "an unbound device succeeded"; return 1; fi
  "$bin" list >"$RESULTS/list-before.txt"

  "$bin" probe vfio --bind "$addr" | tee "$RESULTS/probe.txt"

  if setpriv --reuid=65534 --regid=65534 --clear-groups "$bin" probe vfio "$addr" 2>"$RESULTS/unprivileged.err"; then
    echo "an unprivileged user opened the VFIO group"; return 1
  fi
  "$bin" list >"$RESULTS/list-after.txt"
  cat "$RESULTS"/*.err
}

check() {
  local p="$RESULTS/probe.txt" addr
  addr="$(sed -n 's/^device=\([^ ]*\) .*/\1/p' "$p")"
  expect "^device=$addr id=8086:293e$" "$p"
  expect '^gcap=0x4401 vmaj=1 vmin=0$' "$p"
  expect '^streams out=4 in=4 bidir=0' "$p"
  expect '^codecs=0x0001$' "$p"
  expect '^codec0.vendor=0x1af40022 ' "$p"
  expect '^codec0.node0x02=AudioOutput$' "$p"
  expect '^command_interface=corb-rirb$' "$p"
  expect '^irq=Msi$' "$p"
  expect '^interrupts=([3-9]|[1-9][0-9]+) ' "$p"
  expect '^shutdown=ok$' "$p"
  expect "no PCI device 0000:00:1f.7" "$RESULTS/missing.err"
  expect "PCI device $addr is not bound to vfio-pci \\(no driver bound\\)" "$RESULTS/unbound.err"
  expect "permission denied opening /dev/vfio/[0-9]+ for $addr" "$RESULTS/unprivileged.err"
  expect "$addr .*bound to vfio-pci: ready" "$RESULTS/list-after.txt"
  if grep -q "panicked" "$RESULTS"/*.err "$p"; then echo "a panic"; return 1; fi
  echo "hal-vfio: bound, reset, codec 0x1af40022 answered through CORB/RIRB, $(sed -n 's/^interrupts=\([0-9]*\).*/\1/p' "$p") MSI interrupts"
}
