#!/usr/bin/env bash
# Benchmark (not a test): `evault report indicators` on a generated
# history of N events (default 100,000: a busy year), packed by gc as a
# vault's history is. Measures the report on the repository (its head
# already verified, as after any earlier command) and on an export, which
# is verified in full first. Target: the year's report in seconds.
# Measured (2 cores): 2.1-2.3 s on the repository, 24 s on the export
# (its verification).
#
# usage: tests/bench/indicators.sh [EVENTS] [REPEAT]
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-100000}
repeat=${2:-3}
[ -x build/evault-gen-history ] || scripts/build.sh build >/dev/null
ev=$PWD/build/evault
gen=$PWD/build/evault-gen-history
dir=$(mktemp -d "${TMPDIR:-/tmp}/evault-bench-ind.XXXXXX")
trap 'rm -rf "$dir"' EXIT
echo "bench passphrase" >"$dir/pass"
export EVAULT_REPO=$dir/v EVAULT_IDENTITY=$dir/id EVAULT_PASSPHRASE_FILE=$dir/pass
"$ev" init --admin admin >/dev/null 2>&1
"$gen" "$EVAULT_REPO" "$EVAULT_IDENTITY" "$dir/pass" "$n" 100 2>/dev/null
"$ev" gc >/dev/null
"$ev" audit verify >/dev/null # the identity's trusted head: the state of any later command
"$ev" audit export --out "$dir/export" >/dev/null
year=$(date -u +%Y)
total=$((n + 101))
for ((i = 0; i < repeat; i++)); do
	/usr/bin/time -f '%e %M' -o "$dir/t" "$ev" report indicators --year "$year" --json >"$dir/out"
	read -r secs kib <"$dir/t"
	printf '%-34s %8d events %6.2f s  peak %6.1f MiB\n' "report, repository" "$total" "$secs" "$(echo "$kib / 1024" | bc -l)"
	/usr/bin/time -f '%e %M' -o "$dir/t" "$ev" report indicators --year "$year" --json "$dir/export" >"$dir/out2"
	read -r secs kib <"$dir/t"
	printf '%-34s %8d events %6.2f s  peak %6.1f MiB\n' "report, export (verified in full)" "$total" "$secs" "$(echo "$kib / 1024" | bc -l)"
	cmp -s "$dir/out" "$dir/out2" || { echo "the export's report differs from the repository's"; exit 1; }
done
