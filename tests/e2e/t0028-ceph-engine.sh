#!/usr/bin/env bash
# The engine's and the mount's end-to-end tests that touch objects, run a
# second time with the vault's objects in a real Ceph pool: a single-node
# cluster (tests/e2e/ceph.sh) started here and stopped at the end. Each
# test inits its vaults with --objects rados:POOL (lib.sh's INIT_STORE)
# and looks at objects through lib.sh's store_* helpers, which read the
# pool with Ceph's own Python binding. Their counts add up here.
# Under sanitizers (EVAULT_E2E_SANITIZED) only t0002 (put/get of large
# files, many objects in flight) and t0014 (the mount's threads on the
# pool) run again: t0029 runs the rest of the backend under them, and the
# release pass runs all five. EVAULT_E2E_CEPH_ONLY="t0002 t0014" chooses.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/ceph.sh"
if ! ceph_start; then
	ko "a single-node Ceph starts"
	finish
	exit 1
fi
ok "a single-node Ceph started (pool $CEPH_POOL)"
export EVAULT_TEST_OBJECTS=rados:$CEPH_POOL CEPH_CONF
# Sanitized builds: librados frees a message's buffers as fast as the data
# flows, and AddressSanitizer keeps freed blocks in a quarantine of 256 MiB
# by default, which then counts as the process's memory. A smaller one
# still catches a use after free; the tests' memory bounds are evault's,
# checked exactly in the release run.
[ -z "${EVAULT_E2E_SANITIZED:-}" ] ||
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=32
tests="t0002 t0006 t0011 t0012 t0014"
[ -z "${EVAULT_E2E_SANITIZED:-}" ] || tests="t0002 t0014"
for t in ${EVAULT_E2E_CEPH_ONLY:-$tests}; do
	script=$(echo "$E2E_DIR/$t"-*.sh)
	s=$SECONDS
	bash "$script" >"$T/$t.log" 2>&1
	rc=$?
	echo "== $(basename "$script") against rados:$CEPH_POOL ($((SECONDS - s)) s)"
	sed 's/^/  /' "$T/$t.log"
	line=$(grep -E '^t[0-9]{4}-.*: [0-9]+ passed, [0-9]+ failed$' "$T/$t.log" | tail -1)
	p=$(echo "$line" | sed -nE 's/.*: ([0-9]+) passed.*/\1/p')
	f=$(echo "$line" | sed -nE 's/.*passed, ([0-9]+) failed/\1/p')
	[ -n "$p" ] || { p=0; f=1; }
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	PASSED=$((PASSED + p))
	FAILED=$((FAILED + f))
done
check "the cluster is still healthy at the end" timeout 30 rados -p "$CEPH_POOL" ls
ceph_stop
finish
