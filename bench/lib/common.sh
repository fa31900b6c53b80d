# shellcheck shell=bash
# Shared definitions for the Outboard emulated-hardware bench.
# Sourced by run, setup and lib/mkinitramfs (bash, set -euo pipefail already on).

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
REPO="$(cd "$BENCH_DIR/.." && pwd -P)"
BENCH_CACHE="${OUTBOARD_BENCH_CACHE:-/var/cache/outboard-bench}"
export DEBIAN_FRONTEND=noninteractive

# Debian's qemu-system-x86 in bookworm-backports is 10.x; stock bookworm's 7.2 is not used.
QEMU_MIN_MAJOR=10
BENCH_QEMU=/usr/bin/qemu-system-x86_64
BENCH_BUSYBOX=/bin/busybox

# Packages from Debian's registry. Stable (the machine's own suites) and backports.
BENCH_PKGS_STABLE=(busybox-static xz-utils zstd alsa-utils sox libsox-fmt-oss libsox-fmt-alsa usbip gcc-multilib udev systemd tmux
  ffmpeg mpg123 gstreamer1.0-tools gstreamer1.0-alsa gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good pipewire pipewire-bin wireplumber pipewire-pulse pipewire-jack pulseaudio-utils jackd2
  chromium)
BENCH_PKGS_BACKPORTS=(qemu-system-x86)
# Packages named with their architecture (Debian multiarch; setup adds i386): 32-bit
# alsa-lib for the 32-bit ALSA client (and the 64-bit one, with which it must share a version).
BENCH_PKGS_MULTIARCH=(libasound2-dev:i386 libasound2-dev:amd64)

log()  { printf 'bench: %s\n' "$*" >&2; }
die()  { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

# Private apt configuration: the machine's Debian source (copied verbatim) plus a
# bookworm-backports source with the same URI, and private lists/cache directories,
# so the system's own apt state is left untouched.
BENCH_APT_DIR="$BENCH_CACHE/apt"
bench_apt_opts() {
  APT_OPTS=(
    -o "Dir::Etc::SourceList=$BENCH_APT_DIR/sources.list"
    -o "Dir::Etc::SourceParts=$BENCH_APT_DIR/sources.list.d"
    -o "Dir::State::Lists=$BENCH_APT_DIR/lists"
    -o "Dir::Cache=$BENCH_APT_DIR/cache"
    -o "Acquire::Languages=none"
    -o "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false"
    -o "Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false"
    -o "APT::Install-Recommends=false"
    -o "APT::Get::Upgrade-By-Source-Package=false"
    -o "Dpkg::Use-Pty=false"
    -o "Dpkg::Options::=--force-confdef"
    -o "Dpkg::Options::=--force-confold"
  )
}

# Exclusive lock on the cache (setup, initramfs builds). Runs "$@" under it.
bench_locked() {
  mkdir -p "$BENCH_CACHE"
  (
    flock -w 900 9 || die "could not lock $BENCH_CACHE/.lock within 900 s"
    "$@"
  ) 9>"$BENCH_CACHE/.lock"
}

# Kernel and modules in use: --kernel/--modules (or OUTBOARD_BENCH_KERNEL/_MODULES),
# else the Debian kernel that setup unpacked into the cache.
bench_resolve_kernel() {
  local k="${OUTBOARD_BENCH_KERNEL:-}" m="${OUTBOARD_BENCH_MODULES:-}"
  if [[ -z "$k" || -z "$m" ]]; then
    local cur="$BENCH_CACHE/kernel/current"
    if [[ -z "$k" ]]; then
      [[ -f "$cur/vmlinuz" ]] || die "no default kernel in $cur (run bench/setup)"
      k="$cur/vmlinuz"
    fi
    if [[ -z "$m" ]]; then
      [[ -d "$cur/modules" ]] || die "no default modules in $cur (run bench/setup)"
      m="$cur/modules"
    fi
  fi
  [[ -f "$k" ]] || die "kernel image not found: $k"
  [[ -d "$m" ]] || die "modules directory not found: $m (want a lib/modules/<version> directory)"
  BENCH_KERNEL="$(readlink -f "$k")"
  BENCH_MODULES="$(readlink -f "$m")"
  BENCH_KVER="$(basename "$BENCH_MODULES")"
  [[ -f "$BENCH_MODULES/modules.dep" ]] || die "$BENCH_MODULES has no modules.dep (run depmod, e.g. 'busybox depmod -b <root> $BENCH_KVER')"
}

# Quote a value for a POSIX shell (busybox ash reads the files this writes).
shq() { local s=${1//\'/\'\\\'\'}; printf "'%s'" "$s"; }
