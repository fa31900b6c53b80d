#!/bin/sh
# Side by side in one run: libsamplerate (SINC_FASTEST, and with `all` its
# medium and best converters too) and outboard's resampler, on the same signal
# measured the same way: a 1 kHz sine, 44.1 -> 48 kHz stereo f32, SECONDS of
# input in 1024-frame calls, best of RUNS runs, x real time and SNR from a
# least-squares sine fit (see libsamplerate_bench.c and resample.rs).
#
# usage: mixer-core/benches/compare-libsamplerate.sh [fastest|medium|best|all] [SECONDS] [RUNS] [ROUNDS]
#
# ROUNDS (default 3) alternates the two programs that many times, so that a
# noisy stretch (other processes, a VM's stolen time) shows up in both and
# as a spread between rounds rather than as one misleading pair.
#
# Installs Debian's libsamplerate0-dev if its header is missing (needs root),
# builds the C program with gcc -O2, builds the Rust bench, then runs both
# pinned to the same CPU (the last one; CPU=n to choose) when taskset exists.
set -eu

which=${1:-fastest}
seconds=${2:-10}
runs=${3:-7}
rounds=${4:-3}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${TMPDIR:-/tmp}/outboard-resample-bench
mkdir -p "$work"

if [ ! -f /usr/include/samplerate.h ]; then
    echo "== installing libsamplerate0-dev"
    if [ "$(id -u)" -ne 0 ]; then
        echo "libsamplerate0-dev is missing: run as root, or apt-get install libsamplerate0-dev" >&2
        exit 1
    fi
    apt-get install -y libsamplerate0-dev || { apt-get update && apt-get install -y libsamplerate0-dev; }
fi

gcc -O2 -Wall -o "$work/libsamplerate_bench" "$here/libsamplerate_bench.c" -lsamplerate -lm
(cd "$root" && cargo bench -p outboard-mixer --bench resample --no-run)

pin=""
if command -v taskset >/dev/null 2>&1; then
    cpu=${CPU:-$(($(nproc) - 1))}
    pin="taskset -c $cpu"
fi

echo "== machine"
echo "nproc: $(nproc)"
grep -m1 'model name' /proc/cpuinfo || true
rustc --version
gcc --version | head -n1
echo "libsamplerate0: $(dpkg-query -W -f='${Version}' libsamplerate0 2>/dev/null || echo '?')"
date -u '+%Y-%m-%d %H:%M:%S UTC'
echo "pinned: ${pin:-no}"

cd "$root"
round=1
while [ "$round" -le "$rounds" ]; do
    echo "== round $round of $rounds: libsamplerate (gcc -O2)"
    $pin "$work/libsamplerate_bench" "$which" "$seconds" "$runs"
    echo "== round $round of $rounds: outboard (cargo bench)"
    $pin cargo bench -q -p outboard-mixer --bench resample -- "$seconds" "$runs"
    round=$((round + 1))
done
