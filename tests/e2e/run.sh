#!/usr/bin/env bash
# Runs every end-to-end test (tests/e2e/tNNNN-*.sh) against the evault
# binary in EVAULT_BIN (default build/evault) and sums up their counts.
set -u
here=$(cd "$(dirname "$0")" && pwd)
total_pass=0
total_fail=0
failed_scripts=()
for t in "$here"/t[0-9][0-9][0-9][0-9]-*.sh; do
	echo "== $(basename "$t")"
	t0=$SECONDS
	out=$(bash "$t" 2>&1)
	rc=$?
	echo "$out"
	echo "   ($((SECONDS - t0)) s)"
	line=$(echo "$out" | grep -E '^t[0-9]{4}-.*: [0-9]+ passed, [0-9]+ failed$' | tail -1)
	p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
	f=$(echo "$line" | sed -E 's/.*passed, ([0-9]+) failed/\1/')
	[ -n "$p" ] || { p=0; f=1; }
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	[ "$rc" -eq 0 ] || failed_scripts+=("$(basename "$t")")
done
[ ${#failed_scripts[@]} -eq 0 ] || echo "failing scripts: ${failed_scripts[*]}"
echo "e2e: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
