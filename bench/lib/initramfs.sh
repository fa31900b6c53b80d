# shellcheck shell=bash
# Builds (or reuses) the bench initramfs. Sourced by run after lib/common.sh.
#
# bench_initramfs BASE_MODULES EXTRA_MODULES
#   BASE_MODULES: loaded by /init before anything else (space separated)
#   EXTRA_MODULES: shipped (with their dependencies) but not loaded by /init itself
# Needs BENCH_MODULES / BENCH_KVER (bench_resolve_kernel). Sets BENCH_INITRAMFS.
# The image is cached under $BENCH_CACHE/initramfs/<key>.cpio; the key covers the modules
# directory (path + modules.dep), the module lists, /init, this file and busybox.

bench_initramfs() {
  local base="$1" extra="$2" key
  local want
  want="$(printf '%s\n' $base $extra | tr - _ | sort -u | tr '\n' ' ')"
  key="$( {
      echo "v1 $BENCH_MODULES $BENCH_KVER"
      stat -c '%s %Y' "$BENCH_MODULES/modules.dep"
      echo "base: $base"
      echo "want: $want"
      cat "$BENCH_DIR/lib/init" "$BENCH_DIR/lib/initramfs.sh"
      stat -c '%s %Y' "$BENCH_BUSYBOX"
    } | sha256sum | cut -c1-16)"
  BENCH_INITRAMFS="$BENCH_CACHE/initramfs/$key.cpio"
  [[ -s "$BENCH_INITRAMFS" ]] && return 0
  bench_locked _bench_initramfs_build "$base" "$want"
}

_bench_initramfs_build() {
  local base="$1" want="$2"
  [[ -s "$BENCH_INITRAMFS" ]] && return 0    # built by a concurrent run meanwhile
  local t0=$SECONDS tmp root moddir rel out n
  tmp="$(mktemp -d "$BENCH_CACHE/initramfs.XXXXXX")"
  _BENCH_INITRAMFS_TMP="$tmp"
  trap 'rm -rf "$_BENCH_INITRAMFS_TMP"' EXIT     # runs in bench_locked's subshell
  root="$tmp/root"
  moddir="$root/lib/modules/$BENCH_KVER"
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,host,results,etc/bench} "$moddir"
  cp "$BENCH_BUSYBOX" "$root/bin/busybox"
  cp "$BENCH_DIR/lib/init" "$root/init"
  chmod 755 "$root/init" "$root/bin/busybox"
  echo "$BENCH_KVER" >"$root/etc/bench/kver"
  echo "$base" >"$root/etc/bench/base-modules"

  # Transitive closure of the wanted modules over modules.dep. Names compare with - and _
  # folded to _. Built-in modules (modules.builtin) are skipped; unknown ones are an error.
  local closure
  closure="$(awk -v want="$want" '
    function norm(p,   b) { b=p; sub(/.*\//, "", b); sub(/\.ko(\.(xz|zst|gz))?$/, "", b); gsub(/-/, "_", b); return b }
    FILENAME ~ /modules\.builtin$/ { builtin[norm($1)]=1; next }
    { f=$1; sub(/:$/, "", f); n=norm(f); file[n]=f; deps[n]=""
      for (i=2; i<=NF; i++) deps[n]=deps[n] " " norm($i) }
    function visit(n,   k, a, i) {
      if (n in seen) return; seen[n]=1
      if (!(n in file)) { if (n in builtin) return; print "MISSING " n; bad=1; return }
      k=split(deps[n], a, " "); for (i=1; i<=k; i++) visit(a[i])
      print file[n]
    }
    END { k=split(want, w, " "); for (i=1; i<=k; i++) visit(w[i]); exit bad }
  ' "$BENCH_MODULES/modules.builtin" "$BENCH_MODULES/modules.dep" 2>/dev/null)" \
    || die "kernel modules not found in $BENCH_MODULES: $(grep '^MISSING' <<<"$closure" | cut -d' ' -f2 | paste -sd' ')"

  while read -r rel; do
    [[ -n "$rel" ]] || continue
    out="$moddir/${rel%.*}"
    mkdir -p "$(dirname "$out")"
    case "$rel" in
      *.ko)     cp "$BENCH_MODULES/$rel" "$moddir/$rel" ;;
      *.ko.xz)  xz -dc "$BENCH_MODULES/$rel" >"$out" ;;
      *.ko.zst) zstd -q -dc "$BENCH_MODULES/$rel" >"$out" ;;
      *.ko.gz)  gzip -dc "$BENCH_MODULES/$rel" >"$out" ;;
      *) die "unexpected module file $rel" ;;
    esac
  done <<<"$closure"

  # modules.dep (and alias/symbols, for modules the kernel requests by alias) restricted to
  # the shipped modules, with the compression suffixes removed.
  local names
  names="$(awk '{ b=$0; sub(/.*\//, "", b); sub(/\.ko(\.(xz|zst|gz))?$/, "", b); gsub(/-/, "_", b); print b }' <<<"$closure")"
  awk -v names="$names" '
    BEGIN { k=split(names, a, "\n"); for (i=1; i<=k; i++) keep[a[i]]=1 }
    { f=$1; sub(/:$/, "", f); b=f; sub(/.*\//, "", b); sub(/\.ko(\.(xz|zst|gz))?$/, "", b); gsub(/-/, "_", b)
      if (b in keep) { gsub(/\.ko\.(xz|zst|gz)/, ".ko"); print } }
  ' "$BENCH_MODULES/modules.dep" >"$moddir/modules.dep"
  for n in modules.alias modules.symbols; do
    [[ -f "$BENCH_MODULES/$n" ]] || continue
    awk -v names="$names" '
      BEGIN { k=split(names, a, "\n"); for (i=1; i<=k; i++) keep[a[i]]=1 }
      { m=$NF; gsub(/-/, "_", m); if (m in keep) print }' "$BENCH_MODULES/$n" >"$moddir/$n"
  done
  for n in modules.builtin modules.builtin.modinfo modules.order; do
    [[ -f "$BENCH_MODULES/$n" ]] && cp "$BENCH_MODULES/$n" "$moddir/$n"
  done

  mkdir -p "$(dirname "$BENCH_INITRAMFS")"
  ( cd "$root" && find . -mindepth 1 | LC_ALL=C sort | "$BENCH_BUSYBOX" cpio -o -H newc 2>/dev/null ) \
    >"$tmp/initramfs.cpio" || die "cpio failed"
  mv "$tmp/initramfs.cpio" "$BENCH_INITRAMFS"
  # keep the 8 newest images
  ls -1t "$BENCH_CACHE"/initramfs/*.cpio 2>/dev/null | tail -n +9 | xargs -r rm -f
  log "built initramfs $(basename "$BENCH_INITRAMFS") ($(du -h "$BENCH_INITRAMFS" | cut -f1), $(wc -l <<<"$closure") modules) in $((SECONDS - t0)) s"
}
