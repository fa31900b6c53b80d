DESCRIPTION="temporary profiling"
guest() {
  t() { local a=$EPOCHREALTIME; "$@" >/dev/null; local b=$EPOCHREALTIME; echo "$(( (${b/./} - ${a/./}) / 1000 )) ms: $*"; }
  loop() { local i; for ((i=0;i<$1;i++)); do "${@:2}"; done; }
  grep 9p /proc/mounts
  t loop 20 /bin/true
  t loop 20 basename x
  t loop 20 /bin/busybox true
  t python3 -c pass
  t python3 -c pass
  t aplay --version
  t loop 20 bash -c :
}
check() { cat "$RESULTS/guest.log"; }
