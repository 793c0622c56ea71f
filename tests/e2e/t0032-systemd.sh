#!/usr/bin/env bash
# The systemd units of dist/systemd (docs/admin.md, "The retention timer"):
# both pass `systemd-analyze verify` offline (PID 1 need not be systemd),
# units with a deliberate mistake do not; the service's own command line,
# read from the unit with its environment and a passphrase file standing
# in for the credential, exits 0 on a healthy vault, 1 when an open
# mission is overdue, 2 when it cannot run; with JOURNAL_STREAM naming its
# output, every line starts with an sd-daemon level prefix, and without it
# (or with one naming another file) none does.
. "$(dirname "$0")/lib.sh"
UNITS=$(cd "$(dirname "$0")/../../dist/systemd" && pwd)
SERVICE=$UNITS/evault-retention.service
TIMER=$UNITS/evault-retention.timer
command -v systemd-analyze >/dev/null || { echo "systemd-analyze not found (apt-get install systemd)"; exit 2; }
FAKETIME_LIB=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -1)
[ -n "$FAKETIME_LIB" ] || { echo "libfaketime not found (scripts/deps.sh installs faketime)"; exit 2; }

# ---- the unit files ----
check "both units are in dist/systemd" test -f "$SERVICE" -a -f "$TIMER"
# verify checks that ExecStart's binary exists: the built one stands in.
mkdir -p "$T/units"
sed "s#/usr/bin/evault #$EVAULT_BIN #" "$SERVICE" >"$T/units/evault-retention.service"
cp "$TIMER" "$T/units/"
verify() { systemd-analyze verify --man=no "$@"; }
expect 0 "systemd-analyze verify: the service and the timer" verify "$T/units/evault-retention.service" "$T/units/evault-retention.timer"
# verify only warns about an unknown key or a bad value: it must say nothing
check "... without a single warning" test ! -s "$T/err" -a ! -s "$T/out"
check "... the built binary stood in for /usr/bin/evault" grep -q "^ExecStart=$EVAULT_BIN " "$T/units/evault-retention.service"

mkdir -p "$T/bad"
sed 's#^ExecStart=[^ ]*#ExecStart=/nonexistent/evault#' "$T/units/evault-retention.service" >"$T/bad/evault-retention.service"
expect 1 "negative: an ExecStart whose binary does not exist fails verify" verify "$T/bad/evault-retention.service"
sed 's#^ProtectSystem=#ProtectSytem=#' "$T/units/evault-retention.service" >"$T/bad/evault-retention.service"
verify "$T/bad/evault-retention.service" >"$T/out" 2>"$T/err"
check "negative: a misspelled key is reported" grep -q "Unknown key 'ProtectSytem'" "$T/err"
sed 's#^OnCalendar=.*#OnCalendar=dayly#' "$TIMER" >"$T/bad/evault-retention.timer"
cp "$T/units/evault-retention.service" "$T/bad/evault-retention.service"
expect 1 "negative: a timer with a bad calendar fails verify" verify "$T/bad/evault-retention.timer" "$T/bad/evault-retention.service"

# What the units promise the sysadmin (docs/admin.md).
key() { sed -n "s/^$2=//p" "$1"; } # FILE KEY: its values, one a line
check "oneshot" test "$(key "$SERVICE" Type)" = oneshot
check "no exit status but 0 counts as success" test -z "$(key "$SERVICE" SuccessExitStatus)"
check "runs as the user evault" test "$(key "$SERVICE" User)" = evault
check "NoNewPrivileges, ProtectSystem=strict, PrivateTmp" \
	test "$(key "$SERVICE" NoNewPrivileges)$(key "$SERVICE" ProtectSystem)$(key "$SERVICE" PrivateTmp)" = yesstrictyes
check "the timer: daily, Persistent, RandomizedDelaySec" \
	test "$(key "$TIMER" OnCalendar)" = daily -a "$(key "$TIMER" Persistent)" = true -a -n "$(key "$TIMER" RandomizedDelaySec)"
check "the timer is installed for timers.target" test "$(key "$TIMER" WantedBy)" = timers.target
EXEC=$(key "$SERVICE" ExecStart)
CRED=$(key "$SERVICE" LoadCredentialEncrypted)
CRED_NAME=${CRED%%:*}
check "the passphrase is an encrypted credential" test -n "$CRED_NAME" -a "${CRED#*:}" = "/etc/credstore.encrypted/$CRED_NAME"
check "... that ExecStart reads from the credentials directory" grep -q -- "--passphrase-file %d/$CRED_NAME " <<<"$EXEC "
check "no secret in the unit: no passphrase in Environment=" test -z "$(key "$SERVICE" Environment | grep -i pass)"
check "the environment file is optional" test "$(key "$SERVICE" EnvironmentFile)" = -/etc/default/evault-retention
# the default vault and the identity's directory (which keeps the verified
# heads beside the identity) are writable under ProtectSystem=strict
RW=" $(key "$SERVICE" ReadWritePaths) "
for v in $(key "$SERVICE" Environment); do
	case $v in
	EVAULT_REPO=*) check "the default vault ${v#*=} is in ReadWritePaths" grep -q " ${v#*=} " <<<"$RW" ;;
	EVAULT_IDENTITY=*) d=${v#*=}; check "the identity's directory ${d%/*} is in ReadWritePaths" grep -q " ${d%/*} " <<<"$RW" ;;
	esac
done

# ---- the service's command line, as systemd would run it ----
standard_vault # alice admin, M-1 open with bob
unset EVAULT_REPO
mkdir -p "$T/creds" "$T/nocreds"
cp "$T/alice.pass" "$T/creds/$CRED_NAME"
# /etc/default/evault-retention of the test: this vault, alice's identity
cat >"$T/default" <<EOF
# evault retention on the test's vault
EVAULT_REPO=$T/vault
EVAULT_IDENTITY="$T/alice.id"
EOF
# unit: Environment= first, then the environment file (which overrides),
# then ExecStart with %d the credentials directory and the built binary.
# Run with: unit CREDDIR [PREFIX-COMMAND...]
unit() {
	local creds=$1 v
	shift
	(
		for v in $(key "$SERVICE" Environment); do export "$v"; done
		set -a
		. "$T/default"
		set +a
		local -a cmd
		read -ra cmd <<<"${EXEC//%d/$creds}"
		[ "${cmd[0]}" = /usr/bin/evault ] || { echo "unexpected ExecStart: $EXEC" >&2; exit 99; }
		cmd[0]=$EVAULT_BIN
		exec "$@" "${cmd[@]}"
	)
}
# the run at a later date (libfaketime), as in t0012; under the sanitizers
# the release build stands in for those runs only (t0012 says why)
later() { # WHEN CREDDIR
	local bin=$EVAULT_BIN
	if [ -n "${EVAULT_E2E_SANITIZED:-}" ] && [ -x "${EVAULT_E2E_RELEASE_BIN:-}" ]; then
		bin=$EVAULT_E2E_RELEASE_BIN
	fi
	EVAULT_BIN=$bin ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" FAKETIME_DONT_FAKE_MONOTONIC=1 \
		LD_PRELOAD="$FAKETIME_LIB" FAKETIME="@$(date -u -d "$1" '+%Y-%m-%d %H:%M:%S')" unit "$2"
}
# as the journal sees it: stdout and stderr one stream, JOURNAL_STREAM its dev:ino
journal() { # FILE COMMAND...
	local f=$1
	shift
	: >"$f"
	JOURNAL_STREAM=$(stat -c '%d:%i' "$f") "$@" >>"$f" 2>&1
}
no_prefix() { ! grep -q '^<[0-9]>' "$1"; }
all_prefixed() { test -s "$1" && ! grep -qv '^<[0-7]>' "$1"; }

expect 0 "a healthy vault: exit 0" unit "$T/creds"
check "... the summary, all good" grep -q '^retention: 1 missions, 0 overdue open, .*: all good$' "$T/out"
check "... no level prefix outside the journal" no_prefix "$T/out"
check "... the run is a signed event of alice's" bash -c "'$EVAULT_BIN' -R '$T/vault' --identity '$T/alice.id' log -n 1 | grep -q 'alice.*retention.run'"
journal "$T/j" unit "$T/creds"
check "under the journal: exit 0" test $? -eq 0
check "... every line has a level prefix" all_prefixed "$T/j"
check "... the summary as information" grep -q '^<6>retention: 1 missions, .*: all good$' "$T/j"
check "... gc and scrub as information" grep -q '^<6>gc: ' "$T/j"
# a JOURNAL_STREAM inherited by a command whose output went elsewhere
: >"$T/other"
JOURNAL_STREAM=$(stat -c '%d:%i' "$T/other") unit "$T/creds" >"$T/j" 2>&1
check "JOURNAL_STREAM naming another file: no prefix" no_prefix "$T/j"
JOURNAL_STREAM=garbage unit "$T/creds" >"$T/j" 2>&1
check "a malformed JOURNAL_STREAM: no prefix" no_prefix "$T/j"

# exit 2: could not run
expect 2 "no credential: exit 2" unit "$T/nocreds"
check "... one error line, no prefix" test "$(cat "$T/err")" = "evault: cannot read passphrase file $T/nocreds/$CRED_NAME: No such file or directory"
journal "$T/j" unit "$T/nocreds"
check "under the journal: exit 2" test $? -eq 2
check "... the error line at level 3" grep -q "^<3>evault: cannot read passphrase file " "$T/j"
check "... and nothing else" test "$(wc -l <"$T/j")" -eq 1
mkdir -p "$T/wrong"
printf 'not the passphrase\n' >"$T/wrong/$CRED_NAME"
expect 2 "a wrong passphrase: exit 2" unit "$T/wrong"
check "... the passphrase is in no line" test "$(grep -c 'not the passphrase' "$T/out" "$T/err" | awk -F: '{s+=$2} END {print s}')" -eq 0
cp "$T/default" "$T/default.good"
printf 'EVAULT_REPO=%s\nEVAULT_IDENTITY=%s\n' "$T/vault" "$T/bob.id" >"$T/default"
cp "$T/bob.pass" "$T/wrong/$CRED_NAME"
expect 2 "a technician's identity: exit 2" unit "$T/wrong"
check "... saying why" grep -q "only an admin can run retention" "$T/err"
cp "$T/default.good" "$T/default"
# every command's error line, under the journal and elsewhere
mkdir -p "$T/empty"
journal "$T/j" "$EVAULT_BIN" -R "$T/empty" fsck
check "fsck of no vault under the journal: one line, level 3" test "$(wc -l <"$T/j")" -eq 1 -a "$(grep -c '^<3>evault: ' "$T/j")" -eq 1
journal "$T/j" "$EVAULT_BIN" -R "$T/empty" audit verify
check "audit verify of no vault under the journal: level 3" grep -q '^<3>evault: ' "$T/j"
journal "$T/j" "$EVAULT_BIN" retention frobnicate
check "a usage error under the journal: level 3" grep -q '^<3>evault: usage: evault retention run' "$T/j"
expect_error 2 "the same usage error elsewhere: no prefix" "$EVAULT_BIN" retention frobnicate

# exit 1: M-1 open past open-days-max (90); from here on every run is later
expect 1 "an overdue open mission: exit 1" later '+100 days' "$T/creds"
check "... named" grep -q '^overdue: M-1 has been open 100 days (open-days-max 90)$' "$T/out"
check "... the summary says so" grep -q ': needs attention$' "$T/out"
check "... no level prefix outside the journal" no_prefix "$T/out"
journal "$T/j" later '+101 days' "$T/creds"
check "under the journal: exit 1" test $? -eq 1
check "... every line has a level prefix" all_prefixed "$T/j"
check "... the overdue mission as a warning" grep -q '^<4>overdue: M-1 has been open 101 days (open-days-max 90)$' "$T/j"
check "... the summary as a warning" grep -q '^<4>retention: 1 missions, 1 overdue open, .*: needs attention$' "$T/j"
check "... gc as information" grep -q '^<6>gc: ' "$T/j"
check "... no client or site name in any line" test -z "$(grep -e 'Client One' -e Lyon "$T/j")"
finish
