#!/usr/bin/env bash
# Benchmark (not a test): a vault's objects in a Ceph RADOS pool against the
# local objects directory, on the same machine and in the same run. A
# single-node cluster (tests/e2e/ceph.sh: one monitor, one manager, one
# BlueStore OSD on a sparse file of the same file system) is started here
# and stopped at the end.
#
#   workload                                             target
#   put of SIZE MiB incompressible (one file)            pool >= 0.9 x local
#   get of it, cold page cache                           pool >= 0.9 x local
#   the mount: sequential write (1 MiB writes, sync)     (figures)
#   the mount: sequential read, cold page cache          (figures)
#   fsck --full and gc over OBJECTS/10 and OBJECTS       memory flat in the
#   objects in the pool                                  object count
#
# Beside them, `rados bench` (Ceph's own client, 32 writes of 1 MiB in
# flight, then sequential reads) gives the cluster's own ceiling here: one
# OSD on a file of the machine's disk, so evault's rates against the pool
# are bounded by it, not by the local directory's.
#
# Each put/get run uses a new mission (new keys: no object is a dedup) and
# alternates the order of the two vaults. Figures are the median of RUNS.
#
# usage: tests/bench/ceph.sh [SIZE_MIB] [OBJECTS]   (defaults 1024, 100000)
#        RUNS=n (default 3); EVAULT_BIN=path to measure another build
set -eEuo pipefail
trap 'echo "FAIL: line $LINENO: $BASH_COMMAND" >&2' ERR
cd "$(dirname "$0")/../.."
size_mib=${1:-1024}
nobj=${2:-100000}
runs=${RUNS:-3}
[ -n "${EVAULT_BIN:-}" ] || [ -x build/evault ] || scripts/build.sh build >/dev/null
ev=${EVAULT_BIN:-$PWD/build/evault}
T=$(mktemp -d "${TMPDIR:-/var/tmp}/evault-bench-ceph.XXXXXX")
MNT=
cleanup_test() {
	[ -z "$MNT" ] || ! mountpoint -q "$MNT" || fusermount3 -u -z "$MNT"
	rm -rf "$T"
}
trap cleanup_test EXIT
. tests/e2e/ceph.sh
ceph_start bench >/dev/null || { echo "the Ceph cluster did not start" >&2; exit 1; }
echo "bench passphrase" >"$T/pass"
export EVAULT_IDENTITY=$T/id EVAULT_PASSPHRASE_FILE=$T/pass
cold() { sync; echo 3 >/proc/sys/vm/drop_caches; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
bytes=$((size_mib << 20))
mbps() { awk -v b="$bytes" -v s="$1" 'BEGIN { printf "%.1f", b / 1e6 / s }'; }
# timed COMMAND...: runs it, prints "SECONDS PEAK_KIB"
timed() { /usr/bin/time -f '%e %M' -o "$T/time" "$@" >/dev/null; cat "$T/time"; }

"$ev" -R "$T/local" init --admin bench >/dev/null 2>&1
"$ev" -R "$T/pool" init --admin bench --objects "rados:$CEPH_POOL" \
	--rados-conf "$CEPH_CONF" >/dev/null 2>&1
head -c "$bytes" /dev/urandom >"$T/data"

# Ceph's own ceiling on this machine
rb=$(timeout 300 rados --conf "$CEPH_CONF" -p "$CEPH_POOL" bench 20 write -b 1M -t 32 --no-cleanup \
	--run-name bench 2>/dev/null | sed -n 's/^Bandwidth (MB\/sec): *//p')
rr=$(timeout 300 rados --conf "$CEPH_CONF" -p "$CEPH_POOL" bench 20 seq -t 32 --run-name bench \
	2>/dev/null | sed -n 's/^Bandwidth (MB\/sec): *//p')
timeout 300 rados --conf "$CEPH_CONF" -p "$CEPH_POOL" cleanup --run-name bench >/dev/null 2>&1
# rados bench's MB are MiB
rb=$(awk -v v="$rb" 'BEGIN { printf "%.0f", v * 1.048576 }')
rr=$(awk -v v="$rr" 'BEGIN { printf "%.0f", v * 1.048576 }')

declare -A put get putmem getmem
for i in $(seq "$runs"); do
	order="local pool"
	[ $((i % 2)) -eq 1 ] || order="pool local"
	for v in $order; do
		"$ev" -R "$T/$v" mission create "M-B-$i" >/dev/null
		cold
		read -r s k < <(timed "$ev" -R "$T/$v" put "$T/data" "M-B-$i/dossier/data.bin")
		put[$v]+="$(mbps "$s") "
		putmem[$v]=$k
		cold
		read -r s k < <(timed "$ev" -R "$T/$v" get "M-B-$i/dossier/data.bin")
		get[$v]+="$(mbps "$s") "
		getmem[$v]=$k
	done
done

declare -A mw mr mmem
for v in local pool; do
	MNT=$T/mnt-$v
	mkdir -p "$MNT"
	"$ev" -R "$T/$v" mission create "M-MNT" >/dev/null
	"$ev" -R "$T/$v" mount "$MNT"
	pid=$(sed -n 's/^pid *//p' "$MNT/.evault/status")
	cold
	s=$(date +%s.%N)
	dd if="$T/data" of="$MNT/M-MNT/work/seq.bin" bs=1M status=none
	sync "$MNT/M-MNT/work/seq.bin"
	e=$(date +%s.%N)
	mw[$v]=$(mbps "$(echo "$e - $s" | bc -l)")
	cold
	s=$(date +%s.%N)
	dd if="$MNT/M-MNT/work/seq.bin" of=/dev/null bs=1M status=none
	e=$(date +%s.%N)
	mr[$v]=$(mbps "$(echo "$e - $s" | bc -l)")
	mmem[$v]=$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status")
	cmp -s "$T/data" "$MNT/M-MNT/work/seq.bin" || { echo "the mount read back other bytes ($v)" >&2; exit 1; }
	"$ev" -R "$T/$v" umount "$MNT"
	MNT=
done

echo "machine:   $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); $runs runs, medians"
echo "ceph:      rados bench 1 MiB x 32 in flight: write $rb MB/s, read $rr MB/s (the cluster's ceiling here)"
printf '%-28s %12s %12s %7s\n' "" "local" "pool" "pool/local"
row() { # label local pool
	awk -v l="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%-28s %8.1f MB/s %7.1f MB/s %6.2fx\n", l, a, b, b / a }'
}
for w in put get; do
	declare -n r=$w
	row "$w ${size_mib} MiB" "$(echo "${r[local]}" | tr ' ' '\n' | grep . | median)" \
		"$(echo "${r[pool]}" | tr ' ' '\n' | grep . | median)"
	unset -n r
done
row "mount write ${size_mib} MiB" "${mw[local]}" "${mw[pool]}"
row "mount read ${size_mib} MiB (cold)" "${mr[local]}" "${mr[pool]}"
echo "runs:      put local ${put[local]}| pool ${put[pool]}"
echo "           get local ${get[local]}| pool ${get[pool]}"
echo "peak RSS:  put $((putmem[local] >> 10)) / $((putmem[pool] >> 10)) MiB, get $((getmem[local] >> 10)) / $((getmem[pool] >> 10)) MiB, mount $((mmem[local] >> 10)) / $((mmem[pool] >> 10)) MiB (local / pool)"

# fsck --full and gc over many objects in the pool: a vault with a few
# files, and OBJECTS/10 then OBJECTS objects of 4 KiB written straight into
# its namespace with Ceph's Python binding (each named by the hash of its
# bytes, as evault names them; unreferenced and younger than gc's grace
# period, so that gc lists and checks every one and keeps them all)
repo=$T/many
"$ev" -R "$repo" init --admin bench --objects "rados:$CEPH_POOL" --rados-conf "$CEPH_CONF" >/dev/null 2>&1
"$ev" -R "$repo" mission create M-MANY >/dev/null
"$ev" -R "$repo" put "$T/data" M-MANY/dossier/data.bin >/dev/null
ns=$(sed -n 's/^vault-id //p' "$repo/evault.conf")
store() { /usr/bin/python3 tests/e2e/tools/rados_store.py "$CEPH_POOL" "$ns" "$@"; }
have=$(store count)
for n in $((nobj / 10)) "$nobj"; do
	s=$(date +%s.%N)
	store fill $((n - have)) 4096
	e=$(date +%s.%N)
	have=$(store count)
	printf '%-28s %8d objects in the pool (%.0f s to write them)\n' "made" "$have" "$(echo "$e - $s" | bc -l)"
	read -r s k < <(timed "$ev" -R "$repo" fsck --full)
	awk -v n="$have" -v s="$s" -v k="$k" 'BEGIN { printf "%-28s %8d objects %7.1f s %8.0f objects/s  peak %6.1f MiB\n", "fsck --full", n, s, n / s, k / 1024 }'
	read -r s k < <(timed "$ev" -R "$repo" gc)
	awk -v n="$have" -v s="$s" -v k="$k" 'BEGIN { printf "%-28s %8d objects %7.1f s %8.0f objects/s  peak %6.1f MiB\n", "gc", n, s, n / s, k / 1024 }'
done
trap - ERR
