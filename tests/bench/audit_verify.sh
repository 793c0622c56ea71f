#!/usr/bin/env bash
# Benchmark (not a test): `evault audit verify` on generated histories of
# N/10 and N events (default N = 100000), loose and after `evault gc` packed them. Prints
# events per second and peak memory on one core (EVAULT_THREADS=1, pinned
# to CPU 0) and on every core (default thread count, not pinned); the two
# sizes show whether memory grows with history length. Target: 15,000
# events/s at 100,000 events on 2 cores, memory flat.
#
# usage: tests/bench/audit_verify.sh [EVENTS] [REPEAT]
#   REPEAT (default 1): measure each case that many times (timings on a
#   shared machine vary: report the range)
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-100000}
repeat=${2:-1}
cores=$(nproc)
[ -x build/evault-gen-history ] || scripts/build.sh build >/dev/null
ev=$PWD/build/evault
gen=$PWD/build/evault-gen-history
dir=$(mktemp -d "${TMPDIR:-/tmp}/evault-bench-audit.XXXXXX")
trap 'rm -rf "$dir"' EXIT
echo "bench passphrase" >"$dir/pass"

measure() { # label repo events
	local one
	for ((i = 0; i < repeat; i++)); do
		for one in 1 0; do
			rm -f "$2/audit-verified"
			if [ "$one" = 1 ]; then
				EVAULT_THREADS=1 /usr/bin/time -f '%e %M' -o "$dir/t" taskset -c 0 \
					"$ev" -R "$2" audit verify >/dev/null
			else
				/usr/bin/time -f '%e %M' -o "$dir/t" "$ev" -R "$2" audit verify >/dev/null
			fi
			read -r secs kib <"$dir/t"
			awk -v l="$1, $([ "$one" = 1 ] && echo 1 || echo "$cores") core(s)" -v n="$3" \
				-v s="$secs" -v k="$kib" \
				'BEGIN { printf "%-32s %8d events %7.2f s %8.0f events/s  peak %6.1f MiB\n", l, n, s, n / s, k / 1024 }'
		done
	done
}

for size in $((n / 10)) "$n"; do
	repo=$dir/v$size
	EVAULT_REPO=$repo EVAULT_IDENTITY=$dir/id$size EVAULT_PASSPHRASE_FILE=$dir/pass \
		"$ev" init --admin admin >/dev/null 2>&1
	"$gen" "$repo" "$dir/id$size" "$dir/pass" "$size" 100 2>/dev/null
	total=$((size + 101))
	measure "loose objects" "$repo" "$total"
	/usr/bin/time -f '%e %M' -o "$dir/t" "$ev" -R "$repo" gc >/dev/null
	read -r secs kib <"$dir/t"
	printf '%-32s %8d events %7.2f s, peak %6.1f MiB\n' "evault gc packs the history" "$total" "$secs" "$(echo "$kib / 1024" | bc -l)"
	measure "packed" "$repo" "$total"
done
