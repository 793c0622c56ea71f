#!/usr/bin/env bash
# Benchmark (not a test): the same workloads on an evault mount, a gocryptfs
# mount and a plain directory, side by side in one run:
#   1. sequential write, then read (cold cache), of 4 x 256 MiB incompressible files
#   2. 500 photo-sized files (4 MiB) copied in with cp -r
#   3. 5,000 files of 20 KiB written (cp -r), then listed with ls -lR
# Each write is followed by sync so that every contender has its data on
# disk (evault commits at close anyway). Prints MB/s or files/s, the ratio
# evault/gocryptfs, and the mount process's peak memory.
# Targets: every ratio >= 1.0; evault mount peak RSS < 100 MiB.
#
# usage: tests/bench/fuse.sh [SCALE]   (SCALE 1 = the sizes above; 0.25 for a quick look)
#        EVAULT_BIN=path/to/evault to measure another build (default build/evault)
set -euo pipefail
cd "$(dirname "$0")/../.."
scale=${1:-1}
command -v gocryptfs >/dev/null || { echo "installing gocryptfs"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gocryptfs >/dev/null; }
ev=${EVAULT_BIN:-$PWD/build/evault}
[ -x "$ev" ] || { scripts/build.sh build >/dev/null; ev=$PWD/build/evault; }
media=$PWD/tests/e2e/fixtures/media.py
w=$(mktemp -d "${TMPDIR:-/var/tmp}/evault-bench-fuse.XXXXXX")
cleanup() {
	for m in "$w/mnt-evault" "$w/mnt-gocryptfs"; do mountpoint -q "$m" && fusermount3 -u -z "$m"; done
	rm -rf "$w"
}
trap cleanup EXIT
n() { awk -v a="$1" -v s="$scale" 'BEGIN { v = int(a * s); print v < 1 ? 1 : v }'; }
nbig=4 big_mib=$(n 256) nphoto=$(n 500) nsmall=$(n 5000)

echo "preparing sources in $w/src (random data; photos carry a JPEG signature)"
mkdir -p "$w/src/big" "$w/src/photos" "$w/src/small"
for i in $(seq 1 $nbig); do head -c $((big_mib << 20)) /dev/urandom >"$w/src/big/f$i.bin"; done
python3 - "$w/src" "$nphoto" "$nsmall" <<'PY'
import os, sys
root, nphoto, nsmall = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
head = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
for i in range(nphoto):
    with open(os.path.join(root, "photos", "IMG_%04d.JPG" % i), "wb") as f:
        f.write(head + os.urandom(4 * 1048576 - len(head)))
line = b"Compte rendu: armoire B verifiee, detecteurs testes, RAS.\n"
for i in range(nsmall):
    d = os.path.join(root, "small", "d%02d" % (i % 50))
    os.makedirs(d, exist_ok=True)
    body = (line * (20480 // len(line) + 1))[:20480 - 16] + os.urandom(8).hex().encode()
    with open(os.path.join(d, "note-%05d.txt" % i), "wb") as f:
        f.write(body)
PY

# the three contenders
mkdir -p "$w/plain" "$w/gc-cipher" "$w/mnt-gocryptfs" "$w/mnt-evault"
echo bench >"$w/pass"
gocryptfs -q -init -passfile "$w/pass" "$w/gc-cipher" >/dev/null 2>&1
gocryptfs -q -passfile "$w/pass" "$w/gc-cipher" "$w/mnt-gocryptfs" >/dev/null 2>&1
export EVAULT_REPO=$w/vault EVAULT_IDENTITY=$w/id EVAULT_PASSPHRASE_FILE=$w/pass
"$ev" init --admin admin >/dev/null 2>&1
"$ev" mission create B-1 >/dev/null
"$ev" mission authorize-photos B-1 --by "bench" --ref "bench" --scope "bench" >/dev/null
"$ev" mount "$w/mnt-evault"
epid=$(sed -n 's/^pid *//p' "$w/mnt-evault/.evault/status")
declare -A dir=([plain]="$w/plain" [gocryptfs]="$w/mnt-gocryptfs/x" [evault]="$w/mnt-evault/B-1/work")
mkdir -p "$w/mnt-gocryptfs/x"

t() { local s e; s=$(date +%s.%N); "$@"; e=$(date +%s.%N); awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f", e - s }'; }
cold() { sync; echo 3 >/proc/sys/vm/drop_caches; }
declare -A R
for c in plain gocryptfs evault; do
	d=${dir[$c]}
	[ "$c" = evault ] && d=$w/mnt-evault/B-1/work
	mkdir -p "$d/big" "$d/small"
	cold
	s=$(t bash -c "for f in '$w'/src/big/*; do cp \"\$f\" '$d/big/'; done; sync")
	R[$c,write]=$(awk -v s="$s" -v m=$((nbig * big_mib)) 'BEGIN { printf "%.0f", m * 1.048576 / s }')
	cold
	s=$(t bash -c "cat '$d'/big/* >/dev/null")
	R[$c,read]=$(awk -v s="$s" -v m=$((nbig * big_mib)) 'BEGIN { printf "%.0f", m * 1.048576 / s }')
	cold
	pd=$d
	[ "$c" = evault ] && pd=$w/mnt-evault/B-1/dossier
	s=$(t bash -c "cp -r '$w/src/photos' '$pd/'; sync")
	R[$c,photos]=$(awk -v s="$s" -v n="$nphoto" 'BEGIN { printf "%.1f", n / s }')
	cold
	s=$(t bash -c "cp -r '$w/src/small' '$d/small/'; sync")
	R[$c,small]=$(awk -v s="$s" -v n="$nsmall" 'BEGIN { printf "%.1f", n / s }')
	sleep 1.1 # past the mount's attribute cache: ls -lR asks the file system
	s=$(t bash -c "ls -lR '$d/small' >/dev/null")
	R[$c,ls]=$(awk -v s="$s" -v n="$nsmall" 'BEGIN { printf "%.0f", n / s }')
done
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$epid/status")
printf '\n%-44s %10s %10s %10s %9s\n' "workload (scale $scale)" plain gocryptfs evault "ev/gc"
row() { printf '%-44s %10s %10s %10s %9s\n' "$1" "${R[plain,$2]}" "${R[gocryptfs,$2]}" "${R[evault,$2]}" \
	"$(awk -v a="${R[evault,$2]}" -v b="${R[gocryptfs,$2]}" 'BEGIN { printf "%.2f", a / b }')"; }
row "seq write ${nbig} x ${big_mib} MiB (MB/s)" write
row "seq read, cold cache (MB/s)" read
row "cp -r ${nphoto} photos of 4 MiB (files/s)" photos
row "cp -r ${nsmall} files of 20 KiB (files/s)" small
row "ls -lR of them (entries/s)" ls
printf 'evault mount peak RSS: %.1f MiB (target < 100)\n' "$(awk -v k="$hwm" 'BEGIN { print k / 1024 }')"
"$ev" umount "$w/mnt-evault"
