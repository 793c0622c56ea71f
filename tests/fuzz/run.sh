#!/usr/bin/env bash
# Builds the fuzz targets with clang into build-fuzz/ and runs each one:
# first over its seed corpus (corpus/<target>/, every input once), then
# for SECONDS of fuzzing. Any crash, leak, undefined behaviour, timeout or
# broken invariant fails the run, naming the target and the input that
# did it (kept under build-fuzz/fuzz-crashes/<target>/).
#   tests/fuzz/run.sh [SECONDS_PER_TARGET]      default 20
#   tests/fuzz/run.sh --build-only [BUILD_DIR]  (gen-corpus.sh uses it)
# FUZZ_TARGETS="manifest object" runs only those. Ends with the line
# "fuzz: N passed, M failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$root/build-fuzz
all="manifest object config policy identity user mission close sshkey sshsig trailer objs signers checkpoint packscan bundle content mark serve clone device refusal handover package"

configure() {
	mkdir -p "$build"
	if ! command -v clang >/dev/null; then
		echo "fuzz: clang is missing (scripts/deps.sh installs it)" >&2
		return 1
	fi
	cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DEVAULT_FUZZ=ON -DEVAULT_TESTS=OFF \
		-DEVAULT_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build/build.log" 2>&1 &&
		cmake --build "$build" -j"$(nproc)" --target evault-fuzz evault-cli \
			-- --no-print-directory >>"$build/build.log" 2>&1 ||
		{ tail -30 "$build/build.log" >&2; echo "fuzz: build failed (log: $build/build.log)" >&2; return 1; }
}

if [ "${1:-}" = "--build-only" ]; then
	build=${2:-$build}
	configure
	exit
fi
secs=${1:-20}
configure || exit 1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
# scratch files and the bundle targets' temporary repositories: in memory
[ -d /dev/shm ] && [ -w /dev/shm ] && export TMPDIR=/dev/shm

passed=0
failed=0
for t in ${FUZZ_TARGETS:-$all}; do
	bin=$build/tests/fuzz/fuzz_$t
	seeds=$here/corpus/$t
	work=$build/fuzz-corpus/$t
	crashes=$build/fuzz-crashes/$t
	log=$build/fuzz-$t.log
	mkdir -p "$seeds" "$work" "$crashes"
	# every seed once, then fuzzing that adds what it finds to work/
	if "$bin" -runs=0 -timeout=30 -artifact_prefix="$crashes/" "$seeds" >"$log" 2>&1 &&
		"$bin" -max_total_time="$secs" -timeout=30 -print_final_stats=1 \
			-artifact_prefix="$crashes/" "$work" "$seeds" >>"$log" 2>&1; then
		stats=$(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -1 |
			sed -E 's/.*(cov: [0-9]+ ft: [0-9]+ corp: [0-9]+\/[0-9]+[a-zA-Z]*).*/\1/')
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
		rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
		printf 'fuzz %-10s ok    %s runs, %s/s, %s\n' "$t" "${execs:-?}" "${rate:-?}" "$stats"
		passed=$((passed + 1))
	else
		input=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
		why=$(grep -m1 -E '^(==[0-9]+==ERROR|SUMMARY|fuzz: invariant|.*runtime error)' "$log")
		printf 'fuzz %-10s FAIL  %s\n' "$t" "${why:-see $log}"
		printf '     input: %s\n     again: %s %s\n     log:   %s\n' "${input:-none}" \
			"$bin" "${input:-}" "$log"
		failed=$((failed + 1))
	fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
