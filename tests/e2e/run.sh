#!/usr/bin/env bash
# Runs every end-to-end test (tests/e2e/tNNNN-*.sh) against the evault
# binary in EVAULT_BIN (default build/evault) and sums up their counts.
#
# Tests are independent (each has its own temporary directory, home and
# mounts), so EVAULT_E2E_JOBS of them run at once (default: the number of
# cores). The longest start first so that the jobs end together; each
# test's output is printed whole, in number order, once all have ended.
# EVAULT_E2E_JOBS=1 runs them one after the other, printing as they go.
set -u
here=$(cd "$(dirname "$0")" && pwd)
jobs=${EVAULT_E2E_JOBS:-$(nproc 2>/dev/null || echo 1)}
case $jobs in '' | *[!0-9]* | 0) echo "EVAULT_E2E_JOBS must be a positive number" >&2; exit 2 ;; esac
total_pass=0
total_fail=0
failed_scripts=()
out=$(mktemp -d /tmp/evault-e2e-run.XXXXXX)
trap 'rm -rf "$out"' EXIT

all=("$here"/t[0-9][0-9][0-9][0-9]-*.sh)
# Longest first (seconds measured on two cores); the rest keep their order.
slow="t0028 t0014 t0029 t0017 t0024 t0025 t0027 t0026 t0023 t0009 t0012 t0022 t0016 t0013 t0011 t0021 t0018 t0019 t0006"
order=()
for s in $slow; do
	for t in "${all[@]}"; do [[ $(basename "$t") == "$s"-* ]] && order+=("$t"); done
done
for t in "${all[@]}"; do
	[[ " $slow " == *" $(basename "$t" | cut -c1-5) "* ]] || order+=("$t")
done

run_one() { # script -> $out/NAME.log, $out/NAME.rc, $out/NAME.s
	local t=$1 name t0
	name=$(basename "$t" .sh)
	t0=$SECONDS
	bash "$t" >"$out/$name.log" 2>&1
	echo $? >"$out/$name.rc"
	echo $((SECONDS - t0)) >"$out/$name.s"
	[ "$jobs" -eq 1 ] || echo "-- $name ended ($((SECONDS - t0)) s): $(tail -1 "$out/$name.log")"
}

report() { # script: prints its output and adds its counts
	local t=$1 name line p f rc
	name=$(basename "$t" .sh)
	echo "== $name.sh"
	cat "$out/$name.log"
	echo "   ($(cat "$out/$name.s") s)"
	rc=$(cat "$out/$name.rc")
	line=$(grep -E '^t[0-9]{4}-.*: [0-9]+ passed, [0-9]+ failed$' "$out/$name.log" | tail -1)
	p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
	f=$(echo "$line" | sed -E 's/.*passed, ([0-9]+) failed/\1/')
	[ -n "$p" ] || { p=0; f=1; }
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	[ "$rc" -eq 0 ] || failed_scripts+=("$name.sh")
}

if [ "$jobs" -eq 1 ]; then
	for t in "${all[@]}"; do run_one "$t"; report "$t"; done
else
	running=0
	for t in "${order[@]}"; do
		if [ "$running" -ge "$jobs" ]; then
			wait -n
			running=$((running - 1))
		fi
		run_one "$t" &
		running=$((running + 1))
	done
	wait
	for t in "${all[@]}"; do report "$t"; done
fi
[ ${#failed_scripts[@]} -eq 0 ] || echo "failing scripts: ${failed_scripts[*]}"
echo "e2e: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
