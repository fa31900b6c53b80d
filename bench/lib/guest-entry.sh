#!/bin/bash
# Runs inside the guest, under `chroot /host`, started by the initramfs /init.
# $1 = the scenario's guest.env (written by the host-side run script).
# Sources the scenario file and calls its `guest` function with set -euo pipefail.
# Output goes to the serial console and to $RESULTS/guest.log.
set -euo pipefail
set -a
# shellcheck disable=SC1090
source "$1"
set +a
export BENCH_MODPROBE=/tmp/.bench-bin/bench-modprobe
cd "$RESULTS"

# Waiting with deadlines (wait_until, wait_nodes, wait_usb), for every scenario,
# and what scenario files start with (hda_scenario...).
# shellcheck disable=SC1091
source "$BENCH_DIR/lib/wait.sh"
# shellcheck disable=SC1091
source "$BENCH_DIR/lib/scenario.sh"
# shellcheck disable=SC1090
source "$SCENARIO_FILE"
if ! declare -F guest >/dev/null; then
  echo "bench: $SCENARIO_FILE defines no guest function" >&2
  exit 2
fi

set +e
( set -euo pipefail; guest ) 2>&1 | tee "$RESULTS/guest.log"
rc=${PIPESTATUS[0]}
sync
exit "$rc"
