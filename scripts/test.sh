#!/usr/bin/env bash
# The whole test suite: installs dependencies, builds with warnings as
# errors, runs the unit tests (cmocka, via ctest) and the end-to-end tests
# (the real evault binary), builds the Debian package and tests it
# installed (tests/package.sh), then does the unit and end-to-end tests
# again under ASan+UBSan, then runs every fuzz target for a bounded time (EVAULT_FUZZ_SECONDS, default 6).
# Ends with one line "suite: N passed, M failed"; exits non-zero on failure.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh || exit 1
total_pass=0
total_fail=0

count_ctest() { # log -> adds to totals
	local line p f t
	line=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$1" | tail -1)
	t=$(echo "$line" | sed -E 's/.*out of ([0-9]+).*/\1/')
	f=$(echo "$line" | sed -E 's/.*passed, ([0-9]+) tests failed.*/\1/')
	[ -n "$t" ] || { t=1; f=1; }
	p=$((t - f))
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
}
count_e2e() {
	local line p f
	line=$(grep -E '^e2e: [0-9]+ passed, [0-9]+ failed$' "$1" | tail -1)
	p=$(echo "$line" | sed -E 's/e2e: ([0-9]+) passed.*/\1/')
	f=$(echo "$line" | sed -E 's/.*passed, ([0-9]+) failed/\1/')
	[ -n "$p" ] || { p=0; f=1; }
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
}

say() { echo "=== $* ($(date -u +%H:%M:%S))"; }

# The next build runs in the background, at the lowest priority, while the
# tests of the one before run: they wait on ssh, fsync and the mount as
# much as they compute, and the build takes that idle time.
bg_pid=
bg_start() { # log command...
	local log=$1
	shift
	nice -n 19 "$@" >"$log" 2>&1 &
	bg_pid=$!
}
bg_wait() { # what: 0 when the background build succeeded
	local rc=0
	[ -n "$bg_pid" ] && { wait "$bg_pid" || rc=$?; }
	bg_pid=
	return "$rc"
}

run_set() { # name builddir built(0 or the build's log) cmake-args...
	local name=$1 dir=$2 built=$3
	shift 3
	say "$name: build"
	if [ "$built" != 0 ]; then
		if ! bg_wait; then
			cat "$built"
			total_fail=$((total_fail + 1))
			return
		fi
		tail -1 "$built"
	elif ! scripts/build.sh "$dir" "$@"; then
		total_fail=$((total_fail + 1))
		return
	fi
	"${next_build[@]}"
	say "$name: unit tests"
	(cd "$dir" && ctest --output-on-failure) 2>&1 | tee "$dir/unit.log"
	count_ctest "$dir/unit.log"
	say "$name: end-to-end tests"
	EVAULT_BIN=$PWD/$dir/evault tests/e2e/run.sh 2>&1 | tee "$dir/e2e.log"
	count_e2e "$dir/e2e.log"
}

# An evault built without the rados backend (as where librados-dev is
# absent): t0029 checks that it refuses a vault in a pool, exit 11. Only
# the command, unoptimised: it is not what the tests measure.
say "a build without the rados backend"
if cmake -S . -B build-norados -DEVAULT_WERROR=ON -DEVAULT_RADOS=OFF -DCMAKE_BUILD_TYPE=Debug \
	>build-norados.log 2>&1 &&
	cmake --build build-norados -j"$(nproc)" --target evault-cli -- --no-print-directory \
		>>build-norados.log 2>&1; then
	export EVAULT_E2E_NORADOS_BIN=$PWD/build-norados/evault
	echo "built build-norados/evault"
else
	tail -20 build-norados.log
	total_fail=$((total_fail + 1))
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p build-asan build-fuzz
asan_args=(-DEVAULT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug)
next_build=(bg_start build-asan/build.log scripts/build.sh build-asan "${asan_args[@]}")
run_set release build 0
# The Debian package built from the tree, installed, its demo run as root
# and as an ordinary user, removed (once: it installs into /usr).
say "package: build, install, demo, remove"
EVAULT_BIN=$PWD/build/evault tests/package.sh 2>&1 | tee build/package.log
line=$(grep -E '^package: [0-9]+ passed, [0-9]+ failed$' build/package.log | tail -1)
if [ -n "$line" ]; then
	total_pass=$((total_pass + $(echo "$line" | sed -E 's/package: ([0-9]+) passed.*/\1/')))
	total_fail=$((total_fail + $(echo "$line" | sed -E 's/.*passed, ([0-9]+) failed/\1/')))
else
	total_fail=$((total_fail + 1))
fi
export EVAULT_E2E_RSS_LIMIT_KIB=500000
export EVAULT_E2E_SANITIZED=1 EVAULT_E2E_RELEASE_BIN=$PWD/build/evault
next_build=(bg_start build-fuzz/build-bg.log tests/fuzz/run.sh --build-only)
run_set asan+ubsan build-asan build-asan/build.log "${asan_args[@]}"
bg_wait # the fuzz targets' build; run.sh says what failed, if it did
say "fuzz: every decoder of hostile bytes, ${EVAULT_FUZZ_SECONDS:-6} s each"
tests/fuzz/run.sh "${EVAULT_FUZZ_SECONDS:-6}" 2>&1 | tee build-fuzz/suite.log
line=$(grep -E '^fuzz: [0-9]+ passed, [0-9]+ failed$' build-fuzz/suite.log | tail -1)
if [ -n "$line" ]; then
	total_pass=$((total_pass + $(echo "$line" | sed -E 's/fuzz: ([0-9]+) passed.*/\1/')))
	total_fail=$((total_fail + $(echo "$line" | sed -E 's/.*passed, ([0-9]+) failed/\1/')))
else
	total_fail=$((total_fail + 1))
fi
echo "suite: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
