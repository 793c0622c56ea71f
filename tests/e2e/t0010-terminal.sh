#!/usr/bin/env bash
# Passphrases typed at a terminal (a real pseudo-terminal from script(1)):
# asked without echo, twice for a new identity; no terminal and no file is
# a clear usage error.
. "$(dirname "$0")/lib.sh"
unset EVAULT_PASSPHRASE_FILE
export EVAULT_REPO=$T/vault
# typed: runs evault on a terminal, typing the given lines one by one
typed() {
	local cmd=$1; shift
	{ for l in "$@"; do sleep 0.4; printf '%s\n' "$l"; done; } |
		script -qec "$cmd" /dev/null >"$T/out" 2>&1
}
ev="$EVAULT_BIN --identity $T/alice.id"

typed "$ev init --admin alice" "typed secret" "typed secret"
check "init with a passphrase typed twice" test $? -eq 0 -a -f "$T/alice.id"
check "both prompts shown" test "$(grep -c 'passphrase' "$T/out")" -ge 2
check "the passphrase is not echoed" test "$(grep -c 'typed secret' "$T/out")" -eq 0
typed "$ev mission create M-1" "typed secret"
check "the typed passphrase unlocks" test $? -eq 0
printf 'typed secret\n' >"$T/pass"
expect 0 "the same passphrase from a file" "$EVAULT_BIN" --identity "$T/alice.id" --passphrase-file "$T/pass" mission list
check "and sees the mission" grep -q '^M-1' "$T/out"
typed "$ev mission create M-2" "not the secret"
check "a wrong typed passphrase exits 4" test $? -eq 4
typed "$EVAULT_BIN --identity $T/bob.id identity new --name bob" "one" "two"
check "differing passphrases exit 2" test $? -eq 2
check "and leave no identity file" test ! -e "$T/bob.id"
expect_error 2 "no terminal and no passphrase file" setsid -w "$EVAULT_BIN" --identity "$T/alice.id" log --names
check "says how to give one" grep -q 'EVAULT_PASSPHRASE_FILE' "$T/err"
expect 0 "mission list needs no passphrase (the identity's key copies say which)" \
	setsid -w "$EVAULT_BIN" --identity "$T/alice.id" mission list
finish
