#!/usr/bin/env bash
# Mission close: codes marks, refusals, cryptographic erasure of work and
# codes, the certificate, what survives (and that it cannot decrypt what
# was erased), forged close events, and kill -9 at every step of close.
. "$(dirname "$0")/lib.sh"
standard_vault
G() { git -C "$1/audit.git" "${@:2}"; }
head_of() { G "$1" rev-parse main; }
as alice mission grant M-1 dave >/dev/null
echo "rapport d'intervention" >"$T/report.txt"
head -c 2500000 /dev/urandom >"$T/photo.jpg"
head -c 5000000 /dev/urandom >"$T/notes.bin"
echo "badge 4711" >"$T/badge.txt"
echo "alarme 0000" >"$T/alarm.txt"
as bob put "$T/report.txt" "$T/photo.jpg" M-1/dossier/ >/dev/null
as bob put "$T/notes.bin" M-1/work/ >/dev/null
as bob put "$T/badge.txt" "$T/alarm.txt" M-1/codes/ >/dev/null

# What a close must do: first the plan, and refusals.
before=$(head_of "$T/vault")
expect_error 6 "a technician cannot close" as bob mission close M-1
expect 12 "close is refused while codes are unmarked (dry run)" as alice mission close M-1 --dry-run
check "the plan names each unmarked entry" test "$(grep -c 'refused: codes/.* is neither marked rotated nor reported' "$T/out")" -eq 2
check "the error is one line" test "$(cat "$T/err")" = "evault: close of M-1 refused (2 reasons above)"
expect 12 "... and without --dry-run" as alice mission close M-1
check "a refused close changes nothing" test "$(head_of "$T/vault")" = "$before"
expect_error 2 "mark needs --rotated or --reported-to" as bob codes mark M-1/codes/badge.txt
expect_error 2 "not both" as bob codes mark M-1/codes/badge.txt --rotated --reported-to x
expect_error 2 "only codes entries are marked" as bob codes mark M-1/work/notes.bin --rotated
expect_error 3 "a missing codes entry" as bob codes mark M-1/codes/nope.txt --rotated
expect_error 2 "a contact with control characters" as bob codes mark M-1/codes/badge.txt --reported-to "$(printf 'a\tb')"
expect_error 8 "an auditor cannot mark" as dave codes mark M-1/codes/badge.txt --rotated
expect_error 3 "a non-member cannot mark" as carol codes mark M-1/codes/badge.txt --rotated
expect 0 "a member marks a code rotated" as bob codes mark M-1/codes/badge.txt --rotated
expect 0 "and one reported to the client" as bob codes mark M-1/codes/alarm.txt --reported-to "M. Martin, gardien"
before=$(head_of "$T/vault")
expect 0 "the dry run now passes" as alice mission close M-1 --dry-run
check "it lists the kept files" grep -q '^  dossier/photo.jpg (2500000 bytes)$' "$T/out"
check "it names whose dossier copy goes" grep -q '^  would destroy dossier key copies: bob$' "$T/out"
check "it says auditors and admins keep the dossier" grep -q '^  dossier key kept by (admins, auditors): alice dave$' "$T/out"
check "it shows what is erased" grep -Eq '^would erase work \(key [0-9a-f]{32}\): 1 files, 5 objects, [0-9]+ bytes$' "$T/out"
check "and says nothing changed" grep -q '^dry run: nothing was changed$' "$T/out"
check "a dry run changes nothing" test "$(head_of "$T/vault")" = "$before"

# Keep everything as it is before close, to try it against what survives.
copy_vault "$T/vault" "$T/before"
work_objs=$(G "$T/vault" ls-tree -r --name-only main missions/M-1/work missions/M-1/codes | grep 'objs$' | while read -r p; do G "$T/vault" show "main:$p"; done)
check "the test knows the objects to erase" test "$(echo "$work_objs" | wc -l)" -eq 7

expect 0 "an admin closes the mission" as alice mission close M-1
check "the report ends with the certificate's place" grep -q 'certificate in dossier/erasure-certificate.txt$' "$T/out"
expect_error 8 "a second close says it is closed" as alice mission close M-1
check "no key copy of work or codes is left anywhere" test -z "$(find "$T/vault" -path '*/work/*.sealed' -o -path '*/codes/*.sealed')"
check "bob's dossier copy is gone too" test ! -e "$T/vault/keys/missions/M-1/dossier/bob.sealed"
check "alice's and dave's dossier copies remain" test -e "$T/vault/keys/missions/M-1/dossier/alice.sealed" -a -e "$T/vault/keys/missions/M-1/dossier/dave.sealed"
gone=0
for o in $work_objs; do store_has "$T/vault" "$o" && gone=$((gone + 1)); done
check "every work and codes object is deleted" test "$gone" -eq 0
check "no temporary file is left" test -z "$(ls -A "$T/vault/tmp")"
check "the objects left are intact" objects_intact "$T/vault"
expect 0 "the dossier reads back byte-identical (admin)" as alice get M-1/dossier/photo.jpg "$T/photo.out"
check "... same bytes" cmp -s "$T/photo.jpg" "$T/photo.out"
expect 0 "the granted auditor reads the dossier" as dave get M-1/dossier/report.txt
check "... same bytes" cmp -s "$T/report.txt" "$T/out"
expect_error 3 "the former member no longer sees the mission" as bob get M-1/dossier/report.txt
expect 0 "bob's mission list" as bob mission list
check "... does not show it" test "$(grep -c M-1 "$T/out")" -eq 0
expect_error 8 "nothing can be added to a closed mission" as alice put "$T/report.txt" M-1/dossier/late.txt
expect_error 3 "the work class is gone" as alice ls M-1/work
expect 0 "the certificate" as alice mission certificate M-1
cp "$T/out" "$T/cert.txt"
check "it is bilingual and names the method" grep -q "^Méthode / Method" "$T/cert.txt"
check "it fingerprints each kept file (SHA-256, checked by coreutils)" grep -q "^    $(sha256sum "$T/photo.jpg" | cut -c1-64)  2500000  dossier/photo.jpg$" "$T/cert.txt"
check "it names the codes and how they were handled" grep -q "codes/alarm.txt: signalé au client / reported to the client: M. Martin, gardien (bob, " "$T/cert.txt"
expect 0 "its copy in the dossier" as alice get M-1/dossier/erasure-certificate.txt
check "... is the same text" cmp -s "$T/cert.txt" "$T/out"
expect 0 "the auditor gets the certificate too" as dave mission certificate M-1
check "... the same" cmp -s "$T/cert.txt" "$T/out"
expect_error 3 "the former member does not" as bob mission certificate M-1
expect_error 3 "an open mission has none" as alice mission certificate M-2 
expect 0 "audit verify after close" "$EVAULT_BIN" audit verify --objects
check "stock git verifies every commit" git_verify_all "$T/vault"
expect 0 "the erasure record is in the state, in clear" G "$T/vault" show main:missions/M-1/CLOSE
check "... with counts and no names" test -n "$(grep -E '^erased work key [0-9a-f]{32} files 1 objects 5 bytes [0-9]+$' "$T/out")" -a -z "$(grep -i -e photo -e badge "$T/out")"

# A copy taken before close, with everything that survives it, still cannot
# read what was erased: the surviving key copies are dossier copies only.
rm -rf "$T/before/keys" && cp -a "$T/vault/keys" "$T/before/keys"
expect_error 3 "old objects + surviving keys: alice cannot read the work file" as alice -R "$T/before" get M-1/work/notes.bin
expect_error 3 "nor the codes" as alice -R "$T/before" get M-1/codes/badge.txt
expect_error 3 "nor can bob" as bob -R "$T/before" get M-1/work/notes.bin
expect_error 3 "nor the auditor" as dave -R "$T/before" get M-1/work/notes.bin

# Tampering: a surviving key copy, and forged close events signed by a real admin key.
cp "$T/vault/keys/missions/M-1/dossier/alice.sealed" "$T/vault/keys/missions/M-1/dossier/bob.sealed"
expect 1 "verify notices a dossier copy that close should have destroyed" "$EVAULT_BIN" audit verify
check "... naming it" grep -q "mission M-1 is closed but bob still holds a copy of its dossier key" "$T/err"
rm "$T/vault/keys/missions/M-1/dossier/bob.sealed"

ssh-keygen -q -t ed25519 -N '' -f "$T/eve" -C eve
expect 0 "an admin added after a close" as alice user add eve --role admin --pubkey "$(cat "$T/eve.pub")"
check "gets a copy of the closed mission's dossier key only" test "$(cd "$T/vault/keys/missions/M-1" && find . -name eve.sealed)" = "./dossier/eve.sealed"
expect 0 "and the history still verifies" "$EVAULT_BIN" audit verify
as alice mission create M-2 --member bob >/dev/null
as bob put "$T/report.txt" M-2/dossier/ >/dev/null
as bob put "$T/notes.bin" M-2/work/ >/dev/null
as bob put "$T/badge.txt" M-2/codes/ >/dev/null
forge() { # what action replacement-MISSION-status [extra index edits via function]
	local what=$1 action=$2 status=$3 edit=$4
	rm -rf "$T/v"; copy_vault "$T/vault" "$T/v"; forget_verified
	export GIT_INDEX_FILE=$T/index
	G "$T/v" read-tree main
	G "$T/v" show main:missions/M-2/MISSION | sed "s/^status .*/status $status/" >"$T/m"
	G "$T/v" update-index --add --cacheinfo "100644,$(G "$T/v" hash-object -w "$T/m"),missions/M-2/MISSION"
	$edit
	local tree seq c
	tree=$(G "$T/v" write-tree)
	unset GIT_INDEX_FILE
	seq=$(( $(G "$T/v" log -1 --format=%B main | sed -n 's/^Evault-Seq: //p') + 1 ))
	c=$(commit_as "$T/eve" main "$tree" -m "$what" -m "Evault-Seq: $seq
Evault-Action: $action
Evault-Actor: eve
Evault-Mission: M-2")
	G "$T/v" update-ref refs/heads/main "$c"
	"$EVAULT_BIN" -R "$T/v" audit verify >"$T/out" 2>"$T/err"
	if [ $? -eq 1 ] && grep -q "FAILED at commit $c" "$T/err"; then
		ok "$what: $(sed 's/.*FAILED at commit [0-9a-f]*: //' "$T/err")"
	else
		ko "$what: $(cat "$T/err")"
	fi
}
no_edit() { :; }
pending_record() {
	printf 'close M-2\nstatus pending\nby eve\nstarted %s\nerased work key %s files 1 objects 5 bytes 1\nerased codes key %s files 1 objects 1 bytes 1\nkept files 1 bytes 1\n' \
		"$(date +%s)" "$(G "$T/v" show main:missions/M-2/MISSION | sed -n 's/^key work //p')" \
		"$(G "$T/v" show main:missions/M-2/MISSION | sed -n 's/^key codes //p')" >"$T/close"
	G "$T/v" update-index --add --cacheinfo "100644,$(G "$T/v" hash-object -w "$T/close"),missions/M-2/CLOSE"
}
forge "a mission declared closed in one step, its files left" mission.close closed no_edit
forge "closing with a codes entry unmarked" mission.closing closing pending_record
drop_work() { G "$T/v" rm -q -r --cached missions/M-2/work; }
forge "closing that also drops the work files" mission.closing closing 'eval pending_record; drop_work'

# kill -9 at each step of close, then run close again: it finishes, and
# verify agrees at every point.
as bob codes mark M-2/codes/badge.txt --rotated >/dev/null
copy_vault "$T/vault" "$T/ready"
for point in close-after-closing close-mid-keys close-after-keys close-mid-objects close-before-commit; do
	rm -rf "$T/v"; copy_vault "$T/ready" "$T/v"; forget_verified
	rc=$(EVAULT_FAILPOINT=$point bash -c '"$@" >/dev/null 2>&1; echo $?' - \
		"$EVAULT_BIN" -R "$T/v" --identity "$T/alice.id" --passphrase-file "$T/alice.pass" mission close M-2 2>/dev/null)
	check "kill -9 at $point: the close was killed" test "$rc" -eq 137
	expect 0 "after kill -9 at $point: audit verify --objects agrees" "$EVAULT_BIN" -R "$T/v" audit verify --objects
	check "after kill -9 at $point: it says a close is under way" grep -q '1 close or expiry under way' "$T/out"
	expect_error 8 "after kill -9 at $point: the mission is read-only" as alice -R "$T/v" put "$T/report.txt" M-2/dossier/late.txt
	expect 0 "after kill -9 at $point: close again finishes it" as alice -R "$T/v" mission close M-2
	check "after kill -9 at $point: it said it resumed" grep -q 'was interrupted: finishing it' "$T/out"
	check "after kill -9 at $point: no work or codes key copy left" test -z "$(find "$T/v/keys/missions/M-2" -path '*/work/*' -o -path '*/codes/*')"
	expect 0 "after kill -9 at $point: verified, nothing under way" "$EVAULT_BIN" -R "$T/v" audit verify --objects
	check "after kill -9 at $point: ... nothing under way" test "$(grep -c 'under way' "$T/out")" -eq 0
	expect 0 "after kill -9 at $point: the dossier reads back" as alice -R "$T/v" get M-2/dossier/report.txt
	check "after kill -9 at $point: ... byte-identical" cmp -s "$T/report.txt" "$T/out"
done
check "the last repository's commits verify with stock git" git_verify_all "$T/v"

# The dossier rule: an empty dossier is refused unless the policy says otherwise.
as alice mission create M-3 --member bob >/dev/null
expect 12 "an empty dossier is refused" as alice mission close M-3 --dry-run
check "... with the reason" grep -q 'refused: the dossier holds no file' "$T/out"
expect 0 "an admin records the policy close-requires-dossier no" as alice policy set close-requires-dossier no
expect 0 "allowed when close-requires-dossier is no" as alice mission close M-3
expect 0 "and verified" "$EVAULT_BIN" audit verify
finish
