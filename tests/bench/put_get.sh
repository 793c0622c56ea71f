#!/usr/bin/env bash
# Benchmark (not a test): put and get throughput of evault on a 1 GiB
# incompressible file, next to the in-process ceilings of the crypto
# pipeline (evault-bench-pipeline, over the same bytes, all cores, no I/O:
# for put HMAC-SHA-256 nonce + XChaCha20-Poly1305 + SHA-256 name, for get
# SHA-256 name + XChaCha20-Poly1305 open) and the raw write speed of the
# filesystem (dd with fsync). Target: put and get >= 80% of their ceilings.
# A binary of an earlier build prints one ceiling only (put's).
# TMPDIR chooses the filesystem (e.g. TMPDIR=/dev/shm to leave the disk out).
#
# EVAULT_BIN and EVAULT_BENCH_PIPELINE choose other binaries (default
# build/evault and build/evault-bench-pipeline), e.g. to compare two builds.
#
# usage: tests/bench/put_get.sh [SIZE_MIB] [RUNS]   (defaults 1024, 5)
set -euo pipefail
cd "$(dirname "$0")/../.."
size_mib=${1:-1024}
runs=${2:-5}
[ -n "${EVAULT_BIN:-}" ] || [ -x build/evault ] || scripts/build.sh build >/dev/null
ev=${EVAULT_BIN:-$PWD/build/evault}
pipe=${EVAULT_BENCH_PIPELINE:-$PWD/build/evault-bench-pipeline}
dir=$(mktemp -d "${TMPDIR:-/tmp}/evault-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
export EVAULT_REPO=$dir/vault EVAULT_IDENTITY=$dir/id EVAULT_PASSPHRASE_FILE=$dir/pass
echo "bench passphrase" >"$dir/pass"
"$ev" init --admin bench >/dev/null 2>&1
head -c $((size_mib * 1024 * 1024)) /dev/urandom >"$dir/data"
bytes=$((size_mib * 1024 * 1024))

now() { date +%s.%N; }
mbps() { awk -v b="$bytes" -v s="$1" 'BEGIN { printf "%.1f", b / 1e6 / s }'; }
best() { sort -g | tail -1; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

disk=$(for i in $(seq "$runs"); do
	dd if="$dir/data" of="$dir/dd.out" bs=1M conv=fsync 2>&1 | tail -1 | awk '{ v = $(NF-1); u = $NF; if (u == "GB/s") v *= 1000; print v }'
	rm -f "$dir/dd.out"
done | best)
ceilings=$(for i in $(seq "$runs"); do "$pipe" "$dir/data"; done)
ceil=$(echo "$ceilings" | sed -E 's/^ceiling_mb_s=([0-9.]+).*/\1/' | best)
gceil=$(echo "$ceilings" | sed -nE 's/.*get_ceiling_mb_s=([0-9.]+).*/\1/p' | best)
puts=()
gets=()
for i in $(seq "$runs"); do
	# a new mission per run: new class keys, so no object is a dedup no-op,
	# and nothing is deleted between runs
	"$ev" mission create "M-BENCH-$i" >/dev/null
	sync
	cat "$dir/data" >/dev/null # the source in memory, as for the ceiling
	t0=$(now); "$ev" put "$dir/data" "M-BENCH-$i/dossier/data.bin" >/dev/null; t1=$(now)
	puts+=("$(mbps "$(echo "$t1 - $t0" | bc -l)")")
	# get as a user meets it: objects not in the page cache (when we may drop it)
	sync
	[ -w /proc/sys/vm/drop_caches ] && echo 3 >/proc/sys/vm/drop_caches
	t0=$(now); "$ev" get "M-BENCH-$i/dossier/data.bin" >/dev/null; t1=$(now)
	gets+=("$(mbps "$(echo "$t1 - $t0" | bc -l)")")
done
put_best=$(printf '%s\n' "${puts[@]}" | best)
put_median=$(printf '%s\n' "${puts[@]}" | median)
get_best=$(printf '%s\n' "${gets[@]}" | best)
echo "machine:      $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
echo "file:         ${size_mib} MiB incompressible, chunk 1 MiB, $runs runs"
echo "ceiling:      put $ceil MB/s, get ${gceil:-?} MB/s   (in-process crypto, all cores)"
echo "disk:         $disk MB/s   (dd of the same bytes to the same filesystem, fsync)"
echo "put:          $put_best MB/s best, $put_median median   runs: ${puts[*]}"
cache=warm; [ -w /proc/sys/vm/drop_caches ] && cache=cold
echo "get:          $get_best MB/s   runs: ${gets[*]}   ($cache page cache)"
awk -v p="$put_best" -v m="$put_median" -v c="$ceil" 'BEGIN { printf "put/ceiling:  %.0f%% best, %.0f%% median   (target: 80%% or more)\n", 100 * p / c, 100 * m / c }'
[ -z "$gceil" ] || awk -v g="$get_best" -v c="$gceil" 'BEGIN { printf "get/ceiling:  %.0f%% best   (target: 80%% or more)\n", 100 * g / c }'
