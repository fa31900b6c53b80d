# shellcheck shell=bash
# smoke: proves the guest environment the driver scenarios rely on.
# Guest: the HDA (8086:293e) binds to vfio-pci and its /dev/vfio/<group> appears; /dev/cuse
# exists; the USB audio device (46f4:0002) enumerates on xHCI with a /dev/bus/usb node;
# vhci_hcd is there; the referee sound drivers are not loaded; bench-modprobe works.
# Host: the summary says so, and QEMU wrote the HDA and USB wav files.
DESCRIPTION="guest environment: HDA on vfio-pci, /dev/cuse, usb-audio on usbfs, vhci_hcd"
HDA=duplex
USB=audio
TIMEOUT=180

guest() {
  local summary="$RESULTS/smoke-summary.txt"
  : >"$summary"
  note() { echo "$*" | tee -a "$summary"; }

  note "kernel=$(uname -r)"

  # --- Intel HDA -> vfio-pci
  local d hda=""
  for d in /sys/bus/pci/devices/*; do
    if [[ "$(<"$d/vendor")" == 0x8086 && "$(<"$d/device")" == 0x293e ]]; then hda="$d"; fi
  done
  [[ -n "$hda" ]] || { note "error: no 8086:293e PCI device"; return 1; }
  note "hda_bdf=$(basename "$hda")"
  note "hda_class=$(<"$hda/class")"
  if [[ -e "$hda/driver" ]]; then
    note "hda_driver_before=$(basename "$(readlink "$hda/driver")")"
  else
    note "hda_driver_before=none"
  fi
  [[ -e "$hda/iommu_group" ]] || { note "error: HDA has no IOMMU group (is intel-iommu on?)"; return 1; }
  local group
  group="$(basename "$(readlink "$hda/iommu_group")")"
  note "hda_iommu_group_devices=$(ls "$hda/iommu_group/devices" | wc -l)"
  echo "8086 293e" >/sys/bus/pci/drivers/vfio-pci/new_id
  wait_until 5 "the HDA to bind" test -e "$hda/driver" || { note "error: HDA did not bind to vfio-pci"; return 1; }
  note "hda_driver=$(basename "$(readlink "$hda/driver")")"
  wait_until 5 "/dev/vfio/$group" test -c "/dev/vfio/$group" || { note "error: /dev/vfio/$group missing"; return 1; }
  note "vfio_group=$group"
  [[ -c /dev/vfio/vfio ]] && note "vfio_container=/dev/vfio/vfio"

  # --- CUSE
  [[ -c /dev/cuse ]] || { note "error: /dev/cuse missing"; return 1; }
  note "cuse=$(stat -c '%t:%T' /dev/cuse)"

  # --- USB audio on xHCI, its usbfs node
  local usb
  wait_usb 46f4:0002 1 || { note "error: USB device 46f4:0002 not found"; return 1; }
  usb="/sys/bus/usb/devices/${USB_PORTS[0]}"
  local node
  node="$(printf '/dev/bus/usb/%03d/%03d' "$(<"$usb/busnum")" "$(<"$usb/devnum")")"
  note "usb_device=$(basename "$usb")"
  note "usb_speed=$(<"$usb/speed")"
  wait_until 5 "$node" test -c "$node" || { note "error: $node missing"; return 1; }
  note "usb_node=$node"
  python3 - "$node" <<'PY' | tee -a "$summary"
import sys
d = open(sys.argv[1], "rb").read(18)          # usbfs: the device descriptor
print("usb_descriptor_vidpid=%02x%02x:%02x%02x" % (d[9], d[8], d[11], d[10]))
PY

  # --- vhci_hcd (USB/IP host side)
  [[ -d /sys/bus/platform/drivers/vhci_hcd ]] || { note "error: vhci_hcd driver missing"; return 1; }
  local attach
  attach="$(ls /sys/devices/platform/vhci_hcd.*/attach 2>/dev/null | head -n1)"
  [[ -n "$attach" ]] || { note "error: no vhci attach file"; return 1; }
  note "vhci_attach=$attach"

  # --- the referee drivers stay unloaded unless asked for
  local m
  for m in snd_hda_intel snd_usb_audio; do
    if grep -q "^$m " /proc/modules; then note "error: $m is loaded"; return 1; fi
  done
  note "referees_unloaded=yes"
  "$BENCH_MODPROBE" snd_dummy
  grep -q Dummy /proc/asound/cards || { note "error: bench-modprobe snd_dummy gave no card"; return 1; }
  note "bench_modprobe=ok"

  # --- host tools and paths
  note "python3=$(python3 -c 'import sys; print(sys.version.split()[0])')"
  note "aplay=$(aplay --version | head -n1)"
  [[ -d "$OUTBOARD_BIN_DIR" ]] && note "bin_dir=present" || note "bin_dir=absent"
  note "result=ok"
}

check() {
  local s="$RESULTS/smoke-summary.txt" k
  [[ -f "$s" ]] || { echo "no smoke-summary.txt"; return 1; }
  for k in hda_driver=vfio-pci cuse=a:cb usb_descriptor_vidpid=46f4:0002 usb_speed=12 \
           referees_unloaded=yes bench_modprobe=ok result=ok; do
    grep -qx "$k" "$s" || { echo "summary lacks '$k'"; return 1; }
  done
  grep -qx 'hda_class=0x040300' "$s" || { echo "HDA class is not 0x0403"; return 1; }
  grep -q '^vfio_group=[0-9]' "$s" || { echo "no vfio group"; return 1; }
  grep -q '^usb_node=/dev/bus/usb/[0-9]\{3\}/[0-9]\{3\}$' "$s" || { echo "no usbfs node"; return 1; }
  local w
  for w in "$HDA_OUT_WAV" "$USB_OUT_WAV"; do
    [[ -f "$w" ]] || { echo "QEMU wrote no $w"; return 1; }
    [[ "$(head -c 4 "$w")" == RIFF && "$(head -c 12 "$w" | tail -c 4)" == WAVE ]] \
      || { echo "$w is not a RIFF/WAVE file"; return 1; }
    echo "$(basename "$w"): $(stat -c %s "$w") bytes"
  done
}
