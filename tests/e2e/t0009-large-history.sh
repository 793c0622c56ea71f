#!/usr/bin/env bash
# A clean history of 10,000 events verifies, through the real CLI; so does
# its export. (Timing is the benchmark's job: tests/bench/audit_verify.sh.)
. "$(dirname "$0")/lib.sh"
GEN=${EVAULT_GEN:-$(dirname "$EVAULT_BIN")/evault-gen-history}
export EVAULT_REPO=$T/vault
printf 'passphrase of alice\n' >"$T/alice.pass"
as alice init --admin alice >/dev/null 2>&1
# 10,000 events; 3,000 under the sanitizers (they check memory, the
# release build checks the scale)
n=10000
[ -n "${EVAULT_E2E_SANITIZED:-}" ] && n=3000
"$GEN" "$T/vault" "$T/alice.id" "$T/alice.pass" "$n" 50 2>"$T/gen.err"
check "$n events generated" test $? -eq 0
expect 0 "$((n + 50)) events verify" "$EVAULT_BIN" audit verify
check "all counted" grep -q "seq $((n + 50)), $((n + 51)) events" "$T/out"
expect 0 "the generated files are real: a member lists them" as alice ls M-GEN-0007/work
check "listing shows generated files" grep -q '^generated/$' "$T/out"
expect 0 "export of a long history" "$EVAULT_BIN" audit export --out "$T/exp"
expect 0 "the export verifies" "$EVAULT_BIN" audit verify "$T/exp"
finish
