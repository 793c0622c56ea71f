# Shared helpers for evault's end-to-end tests. Each tNNNN-*.sh sources
# this, drives the real `evault` binary on a fresh temporary repository,
# and ends with `finish`, which prints "N passed, M failed".
set -u

EVAULT_BIN=${EVAULT_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/build/evault}
[ -x "$EVAULT_BIN" ] || { echo "evault binary not found: $EVAULT_BIN" >&2; exit 2; }
T=$(mktemp -d /tmp/evault-e2e.XXXXXX)
trap "cleanup_test" EXIT
# Commands run without --identity (keyless upkeep, audit) keep what they
# verified next to the default identity: in the test's own home.
export HOME=$T/home
mkdir -p "$HOME"
# Identities made here derive their key with argon2id's minimum instead of
# the interactive level's 64 MiB: thousands of commands unlock one, and
# that alone was half the suite's time (docs/cli.md). t0001 checks real ones.
export EVAULT_TESTONLY_WEAK_KDF=1
PASSED=0
FAILED=0
TEST_NAME=$(basename "$0" .sh)

cleanup_test() {
	for m in "${MOUNTS[@]:-}"; do [ -n "$m" ] && umount -l "$m" 2>/dev/null; done
	rm -rf "$T"
}
MOUNTS=()

ok() { PASSED=$((PASSED + 1)); printf '  ok   %s\n' "$*"; }
ko() { FAILED=$((FAILED + 1)); printf '  FAIL %s\n' "$*"; }

finish() {
	printf '%s: %d passed, %d failed\n' "$TEST_NAME" "$PASSED" "$FAILED"
	[ "$FAILED" -eq 0 ]
}

# evault as a given user: as alice|bob|... ARGS. What was closed in the
# test's mounts is recorded first (settle_mounts), as a user who closed a
# file and then uses the CLI expects within the mount's commit window.
as() {
	local who=$1; shift
	settle_mounts
	"$EVAULT_BIN" --identity "$T/$who.id" --passphrase-file "$T/$who.pass" "$@"
}

# Runs a command, expects exit code CODE; on failure prints what happened.
# Stdout goes to $T/out, stderr to $T/err.
expect() {
	local code=$1 what=$2; shift 2
	"$@" >"$T/out" 2>"$T/err"
	local rc=$?
	if [ "$rc" -eq "$code" ]; then ok "$what"; return 0; fi
	ko "$what (exit $rc, wanted $code): $(head -c 300 "$T/err")"
	return 1
}

# Like expect, and the error must be exactly one line starting "evault: ".
expect_error() {
	local code=$1 what=$2; shift 2
	expect "$code" "$what" "$@" || return 1
	local lines
	lines=$(wc -l <"$T/err")
	if [ "$lines" -ne 1 ] || ! grep -q '^evault: ' "$T/err"; then
		ko "$what: error is not one 'evault: ' line: $(cat "$T/err")"
		return 1
	fi
}

# Until COMMAND succeeds (SECONDS at most, polled every 0.1 s): for what
# happens in the background, such as a mount's refresh, without betting
# on how busy the machine is. Returns COMMAND's last status.
eventually() { # SECONDS COMMAND...
	local end=$((SECONDS + $1)); shift
	until "$@"; do
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.1
	done
}

check() { # check "what" test-expression...
	local what=$1; shift
	if "$@"; then ok "$what"; else ko "$what"; fi
}

# The object store of a vault seen from outside evault: its local
# directory, or its namespace of a Ceph pool when evault.conf says
# "objects rados:POOL/NS" (tests/e2e/ceph.sh; the tests that touch objects
# run a second time that way: t0028-ceph-engine.sh, which sets
# EVAULT_TEST_OBJECTS, so that INIT_STORE goes on every init line).
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
INIT_STORE=()
[ -n "${EVAULT_TEST_OBJECTS:-}" ] && INIT_STORE=(--objects "$EVAULT_TEST_OBJECTS")
store_loc() { # REPO
	local l
	l=$(sed -n 's/^objects //p' "$1/evault.conf" 2>/dev/null)
	echo "${l:-local}"
}
_rados_store() { # REPO COMMAND ARGS...
	local loc
	loc=$(store_loc "$1")
	loc=${loc#rados:}
	shift
	/usr/bin/python3 "$E2E_DIR/tools/rados_store.py" "${loc%%/*}" "${loc#*/}" "$@"
}
_local() { [ "$(store_loc "$1")" = local ]; }
store_count() { # REPO: how many objects
	if _local "$1"; then find "$1/objects" -type f | wc -l; else _rados_store "$1" count; fi
}
store_bytes() { # REPO: their bytes
	if _local "$1"; then find "$1/objects" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}'
	else _rados_store "$1" bytes; fi
}
store_list() { # REPO: their names
	if _local "$1"; then find "$1/objects" -type f -printf '%f\n'; else _rados_store "$1" list; fi
}
store_has() { # REPO ID
	if _local "$1"; then [ -e "$1/objects/${2:0:2}/$2" ]; else _rados_store "$1" has "$2"; fi
}
store_get() { # REPO ID FILE
	if _local "$1"; then cp "$1/objects/${2:0:2}/$2" "$3"; else _rados_store "$1" get "$2" "$3"; fi
}
store_put() { # REPO ID FILE: replaces the object's bytes
	if _local "$1"; then
		rm -f "$1/objects/${2:0:2}/$2" && cp "$3" "$1/objects/${2:0:2}/$2"
	else _rados_store "$1" put "$2" "$3"; fi
}
store_rm() { # REPO ID
	if _local "$1"; then rm "$1/objects/${2:0:2}/$2"; else _rados_store "$1" rm "$2"; fi
}
store_flip() { # REPO ID OFFSET: one byte changed in place
	if _local "$1"; then
		local f=$1/objects/${2:0:2}/$2
		chmod u+w "$f" && printf '\x01' | dd of="$f" bs=1 seek="$3" conv=notrunc 2>/dev/null
	else _rados_store "$1" flip "$2" "$3"; fi
}
# A copy of a vault that shares nothing with it: in a pool, its objects
# copied to a namespace of its own, which its evault.conf names.
copy_vault() { # SRC DST
	cp -a "$1" "$2" || return 1
	_local "$1" && return 0
	local loc ns
	loc=$(store_loc "$1")
	ns=copy-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
	_rados_store "$1" copy "$ns" || return 1
	sed -i "s|^objects .*|objects ${loc%/*}/$ns|" "$2/evault.conf"
}

# Every object's bytes hash (SHA-256, computed by coreutils or Ceph's
# Python binding, not evault) to its name: a keyless check independent of
# evault.
objects_intact() {
	local f name
	_local "$1" || { _rados_store "$1" intact; return; }
	while IFS= read -r f; do
		name=$(basename "$f")
		[ "$(sha256sum "$f" | cut -c1-64)" = "$name" ] || { echo "bad object $f"; return 1; }
	done < <(find "$1/objects" -type f)
	return 0
}

# A commit made and signed by stock git with an OpenSSH key (forged events in
# a copy of the vault at $T/v): commit_as KEY PARENT TREE MESSAGE-ARGS...
# prints the new commit's id; an empty PARENT makes a root commit.
commit_as() {
	local key=$1 parent=$2 tree=$3; shift 3
	local pflag=(); [ -n "$parent" ] && pflag=(-p "$parent")
	GIT_AUTHOR_NAME=x GIT_AUTHOR_EMAIL=x@x GIT_COMMITTER_NAME=x GIT_COMMITTER_EMAIL=x@x \
		git -C "$T/v/audit.git" -c gpg.format=ssh -c user.signingkey="$key" \
		commit-tree -S "${pflag[@]}" "$tree" "$@"
}

# Every commit of the repository verifies with stock git and the vault's signers.
git_verify_all() {
	local repo=$1 signers=$T/allowed-signers c
	"$EVAULT_BIN" -R "$repo" audit allowed-signers >"$signers" || return 1
	for c in $(git -C "$repo/audit.git" rev-list main); do
		git -C "$repo/audit.git" -c gpg.format=ssh -c gpg.ssh.allowedSignersFile="$signers" \
			verify-commit "$c" 2>/dev/null || { echo "commit $c does not verify"; return 1; }
	done
}

# A new identity for NAME with a passphrase file; prints its public line.
new_identity() {
	printf 'passphrase of %s\n' "$1" >"$T/$1.pass"
	as "$1" identity new --name "$1" 2>/dev/null
}

# A vault at $T/vault with admin alice, technicians bob and carol, auditor dave,
# and mission M-1 with member bob. Sets EVAULT_REPO.
standard_vault() {
	export EVAULT_REPO=$T/vault
	printf 'passphrase of alice\n' >"$T/alice.pass"
	as alice init --admin alice "${INIT_STORE[@]}" "$@" >/dev/null 2>&1 || { echo "init failed"; exit 1; }
	local who role
	for who in bob:technician carol:technician dave:auditor; do
		role=${who#*:}
		who=${who%%:*}
		as alice user add "$who" --role "$role" --pubkey "$(new_identity "$who")" >/dev/null ||
			{ echo "user add $who failed"; exit 1; }
	done
	as alice mission create M-1 --client "Client One SA" --site "Lyon" --member bob >/dev/null ||
		{ echo "mission create failed"; exit 1; }
}

# Mounts the vault as WHO at DIR in the background (unmounted at the end):
# mnt WHO DIR [options]. A mount in the background has no stderr: sanitizer
# reports go to files $T/san.*, which san_clean checks.
mnt() {
	local who=$1 dir=$2; shift 2
	mkdir -p "$dir"
	MOUNTS+=("$dir")
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:log_path=$T/san" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:log_path=$T/san" \
		as "$who" mount "$dir" "$@"
}
# Until the mount at DIR has recorded every change closed in it (10 s at
# most): close(2) queues, the mount records within its commit window, and
# an fsync of a directory there records the queue at once (docs/mount.md),
# which this asks for unless given "window" (then it only waits).
settled() {
	local i
	[ -e "$1/.evault/status" ] || return 0 # not mounted (any more)
	[ "${2:-}" = window ] || timeout -k 1 10 sync "$1" 2>/dev/null
	for i in $(seq 1 100); do
		[ -e "$1/.evault/status" ] || return 0
		grep -q '^queued   0$' "$1/.evault/status" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "the mount at $1 still has changes queued" >&2
	return 1
}
settle_mounts() {
	local m
	for m in "${MOUNTS[@]:-}"; do [ -n "$m" ] && settled "$m"; done
	return 0
}
san_clean() { # no sanitizer report from any mount process
	if ls "$T"/san.* >/dev/null 2>&1; then head -c 3000 "$T"/san.*; return 1; fi
}

# A copy of a vault restored over a path used before is, to the identities
# that used it, a history rolled back: tests that do it on purpose forget
# what those identities verified (as a sysadmin restoring a backup would).
forget_verified() {
	rm -f "$T/"*.verified/* "$HOME/.config/evault/identity.verified/"* 2>/dev/null
	return 0
}
