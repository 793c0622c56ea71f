#!/usr/bin/env bash
# Benchmark (not a test): `evault audit verify` on generated histories of
# N/10 and N events (default N = 100000), loose and after a repack. Prints
# events per second and peak memory; the two sizes show whether memory
# grows with history length. Target: 20,000 events/s on one core, memory
# flat.
#
# usage: tests/bench/audit_verify.sh [EVENTS]
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-100000}
[ -x build/evault-gen-history ] || scripts/build.sh build >/dev/null
ev=$PWD/build/evault
gen=$PWD/build/evault-gen-history
dir=$(mktemp -d "${TMPDIR:-/tmp}/evault-bench-audit.XXXXXX")
trap 'rm -rf "$dir"' EXIT
echo "bench" >"$dir/pass"

measure() { # label repo events
	rm -f "$2/audit-verified"
	/usr/bin/time -f '%e %M' -o "$dir/t" taskset -c 0 "$ev" -R "$2" audit verify >/dev/null
	read -r secs kib <"$dir/t"
	awk -v l="$1" -v n="$3" -v s="$secs" -v k="$kib" \
		'BEGIN { printf "%-28s %8d events %7.2f s %8.0f events/s  peak %6.1f MiB\n", l, n, s, n / s, k / 1024 }'
}

for size in $((n / 10)) "$n"; do
	repo=$dir/v$size
	EVAULT_REPO=$repo EVAULT_IDENTITY=$dir/id$size EVAULT_PASSPHRASE_FILE=$dir/pass \
		"$ev" init --admin admin >/dev/null 2>&1
	"$gen" "$repo" "$dir/id$size" "$dir/pass" "$size" 100 2>/dev/null
	total=$((size + 101))
	measure "loose objects, 1 core" "$repo" "$total"
	git -C "$repo/audit.git" repack -a -d -q
	git -C "$repo/audit.git" prune
	measure "packed, 1 core" "$repo" "$total"
done
