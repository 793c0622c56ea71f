#!/usr/bin/env bash
# Crashes and a full disk in the middle of put: the repository stays
# consistent, nothing half-written is visible, and the next command works.
. "$(dirname "$0")/lib.sh"
standard_vault
G="git -C $T/vault/audit.git"
head -c $((400 * 1024 * 1024)) /dev/urandom >"$T/big"
echo small >"$T/small"
as bob put "$T/small" M-1/work/ >/dev/null

for delay in 0.05 0.3 0.8; do
	before=$($G rev-parse main)
	# the binary itself, not the 'as' function: kill must hit evault
	"$EVAULT_BIN" --identity "$T/bob.id" --passphrase-file "$T/bob.pass" \
		put "$T/big" M-1/dossier/big.bin >/dev/null 2>&1 &
	pid=$!
	sleep "$delay"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	after=$($G rev-parse main)
	if [ "$after" = "$before" ]; then
		expect_error 3 "after kill -9 at ${delay}s: the file is not half there" as bob get M-1/dossier/big.bin
	else
		# the put finished before the kill: then it must be whole
		as bob get M-1/dossier/big.bin "$T/big.out" && cmp -s "$T/big" "$T/big.out"
		check "after kill -9 at ${delay}s: the put completed whole" test $? -eq 0
		as bob rm M-1/dossier/big.bin
	fi
	check "after kill -9 at ${delay}s: every object hashes to its name" objects_intact "$T/vault"
	check "after kill -9 at ${delay}s: no stale temporary file in tmp/" test -z "$(ls -A "$T/vault/tmp")"
	expect 0 "after kill -9 at ${delay}s: the next command works" as bob get M-1/work/small
done
expect 0 "put after the crashes" as bob put "$T/big" M-1/dossier/big.bin
expect 0 "get after the crashes" as bob get M-1/dossier/big.bin "$T/big.out"
check "whole and correct" cmp -s "$T/big" "$T/big.out"
rm -f "$T/big.out"
check "history verifies with git after the crashes" git_verify_all "$T/vault"

# A full disk: a 40 MiB filesystem, a 60 MiB file. The repository's own
# disk, objects included: in the run against a Ceph pool (t0028), where
# objects are not on that disk, this part belongs to the main run.
mkdir "$T/small-fs"
if [ -n "${EVAULT_TEST_OBJECTS:-}" ]; then
	echo "  --   the full disk is the local directory's test (the main run of t0006)"
elif mount -t tmpfs -o size=40m tmpfs "$T/small-fs"; then
	MOUNTS+=("$T/small-fs")
	export EVAULT_REPO=$T/small-fs/vault
	as alice init --admin alice "${INIT_STORE[@]}" >/dev/null 2>&1
	as alice mission create M-F --member bob >/dev/null 2>&1 || as alice user add bob --role technician --pubkey "$(as bob identity show)" >/dev/null
	as alice mission create M-F --member bob >/dev/null 2>&1
	as bob put "$T/small" M-F/work/ >/dev/null
	head -c $((60 * 1024 * 1024)) /dev/urandom >"$T/too-big"
	fullhead=$(git -C "$EVAULT_REPO/audit.git" rev-parse main)
	expect_error 10 "put on a full disk says so" as bob put "$T/too-big" M-F/work/
	check "the history did not move" test "$(git -C "$EVAULT_REPO/audit.git" rev-parse main)" = "$fullhead"
	check "no temporary object left in tmp/" test "$(ls -A "$EVAULT_REPO/tmp" | wc -l)" -eq 0
	check "every object hashes to its name" objects_intact "$EVAULT_REPO"
	expect 0 "the vault still reads" as bob get M-F/work/small
	rm -rf "$EVAULT_REPO/objects"/*/  # free space the way gc will (issue 4): all are orphans but small's
	as bob put -f "$T/small" M-F/work/small >/dev/null 2>&1
	expect 0 "and writes again once space is back" as bob get M-F/work/small
	check "history verifies with git" git_verify_all "$EVAULT_REPO"
else
	ko "cannot mount a small tmpfs to fill (needs root)"
fi

# a writer killed while it moved main leaves git's main.lock behind: the
# next writer removes it (no move of main takes seconds) instead of
# refusing every change as "the history moved" for ever
V=$T/vault
touch -d '1 minute ago' "$V/audit.git/refs/heads/main.lock"
head_before=$(git -C "$V/audit.git" rev-parse main)
expect 0 "a put after a writer died holding main's lock" bash -c "printf 'after\n' | '$EVAULT_BIN' --identity '$T/bob.id' --passphrase-file '$T/bob.pass' -R '$V' put - M-1/work/after-crash.txt"
check "... the stale lock is gone, main moved on from where it was" \
	bash -c "[ ! -e '$V/audit.git/refs/heads/main.lock' ] && [ \"\$(git -C '$V/audit.git' rev-parse main~1)\" = '$head_before' ]"
touch "$V/audit.git/refs/heads/main.lock"
expect_error 9 "a fresh one (a writer at work) is left alone" bash -c "printf 'x\n' | '$EVAULT_BIN' --identity '$T/bob.id' --passphrase-file '$T/bob.pass' -R '$V' put - M-1/work/during.txt"
rm -f "$V/audit.git/refs/heads/main.lock"
expect 0 "the history verifies" "$EVAULT_BIN" -R "$V" audit verify
finish
