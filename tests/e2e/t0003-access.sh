#!/usr/bin/env bash
# Compartments: a non-member gets no trace of a mission; roles are enforced;
# grant and revoke move key copies.
. "$(dirname "$0")/lib.sh"
standard_vault
echo "secret report" >"$T/r.txt"
as bob put "$T/r.txt" M-1/dossier/ >/dev/null

# carol (technician, not a member) and a mission that does not exist answer alike.
for cmd in "ls M-1" "ls M-1/dossier" "get M-1/dossier/r.txt" "mission show M-1"; do
	as carol $cmd >"$T/o1" 2>"$T/e1"; rc1=$?
	as carol ${cmd//M-1/M-404} >"$T/o2" 2>"$T/e2"; rc2=$?
	check "carol: '$cmd' exits 3 like a missing mission" test "$rc1" -eq 3 -a "$rc2" -eq 3
	check "carol: '$cmd' says the same as for a missing mission" test "$(sed 's/M-1/M-X/' "$T/e1")" = "$(sed 's/M-404/M-X/' "$T/e2")"
done
expect 0 "carol's ls shows no mission" as carol ls
check "carol's listing is empty" test ! -s "$T/out"
expect 0 "carol's log shows no M-1 event" as carol log
check "no M-1 in carol's log" test "$(grep -c 'M-1' "$T/out")" -eq 0
expect_error 3 "carol cannot put into M-1" as carol put "$T/r.txt" M-1/work/x.txt

# Roles.
expect_error 6 "a technician cannot create missions" as bob mission create M-2
expect_error 6 "a technician cannot add users" as bob user add eve --role admin --pubkey "$(as alice identity show)"
expect_error 6 "a technician cannot grant" as bob mission grant M-1 carol

# The auditor: dossier only, after a grant, read-only.
expect_error 3 "auditor sees nothing before a grant" as dave get M-1/dossier/r.txt
expect 0 "admin grants the auditor" as alice mission grant M-1 dave
expect 0 "auditor reads the dossier" as dave get M-1/dossier/r.txt
check "auditor gets the bytes" cmp -s "$T/out" "$T/r.txt"
expect_error 3 "auditor cannot read work" as dave ls M-1/work
expect_error 8 "auditor cannot write" as dave put "$T/r.txt" M-1/dossier/forged.txt
check "auditor holds only a dossier key copy" test "$(find "$T/vault/keys" -name dave.sealed | wc -l)" -eq 1

# Grant and revoke a technician.
expect 0 "grant carol" as alice mission grant M-1 carol
expect 0 "carol now reads" as carol get M-1/dossier/r.txt
expect_error 7 "grant twice" as alice mission grant M-1 carol
expect 0 "revoke carol" as alice mission revoke M-1 carol
check "carol's key copies are destroyed" test "$(find "$T/vault/keys" -name carol.sealed | wc -l)" -eq 0
expect_error 3 "carol no longer sees M-1" as carol get M-1/dossier/r.txt
expect 0 "mission show lists members" as alice mission show M-1
check "members after revoke" grep -q '^members *bob$' "$T/out"
check "auditors after grant" grep -q '^auditors *dave$' "$T/out"
expect_error 3 "revoke someone without access" as alice mission revoke M-1 carol
expect_error 3 "grant an unknown user" as alice mission grant M-1 nobody

# Client data never in clear on disk or in history.
check "client name not in clear anywhere in the repository" test "$(grep -rl 'Client One SA' "$T/vault" | wc -l)" -eq 0
check "file name not in clear anywhere in the repository" test "$(grep -rl 'r.txt' "$T/vault" | wc -l)" -eq 0
check "content not in clear anywhere in the repository" test "$(grep -rl 'secret report' "$T/vault" | wc -l)" -eq 0
finish
