#!/usr/bin/env bash
# The register of refused missions (docs/cli.md, "Refusing a mission";
# docs/format.md, "Refusals"): technicians and admins record refusals by
# category; the client's name is nowhere in clear in the history; the
# register shows categories to everyone and clients to admins only; forged
# mission.refuse events fail verification; a refusal recorded on a laptop
# replica replays at the office and verifies there.
. "$(dirname "$0")/lib.sh"
# a refusal recorded late: the day it happened, 20 days ago
BACK=$(date -u -d '-20 days' +%F)
. "$(dirname "$0")/sshd.sh"
standard_vault # alice admin, bob and carol technicians, dave auditor, M-1 with bob
G() { git -C "$1/audit.git" "${@:2}"; }
CLIENT="Société Écoute-Tout SA"
TOKEN="Ecoute-Tout" # also looked for in ASCII
SECRET_DETAILS="camera hidden in the staff changing room"
SECRET_REF="DEV-4471-XQ"
# the number of mission.refuse events of a repository's history
nref() { G "$1" log --format=%B main | grep -c '^Evault-Action: mission.refuse$'; }

# ---- recording: every category, by a technician ----
for cat in employee-surveillance private-filming court-order competence other; do
	expect 0 "bob (technician) records a refusal: $cat" as bob mission refuse --client "$CLIENT" --reason "$cat" --ref "$SECRET_REF"
	check "  ... one line naming its id and category" grep -Eqx "refused mission recorded: [0-9a-f]{8} \($cat\)" "$T/out"
done
expect 0 "a reason in words with --category" as bob mission refuse --client "$CLIENT" --reason "$SECRET_DETAILS" --category private-filming
check "  ... recorded in the category given" grep -Eqx "refused mission recorded: [0-9a-f]{8} \(private-filming\)" "$T/out"
expect 0 "alice (admin) records one with details, a reference and a date" \
	as alice mission refuse --client "Other Client SARL" --reason court-order --details "asked us to ignore an injunction" --ref "R-2" --date "$BACK"
check "six refusals in the history" test "$(nref "$T/vault")" -eq 7

# ---- what is refused ----
expect_error 2 "a reason in words without a category" as bob mission refuse --client "$CLIENT" --reason "they wanted it all"
check "  ... the message says which categories there are" grep -q "say which category: employee-surveillance, private-filming, court-order, competence, other" "$T/err"
expect_error 2 "an unknown --category" as bob mission refuse --client "$CLIENT" --reason "words" --category spying
expect_error 2 "a --reason category that --category contradicts" as bob mission refuse --client "$CLIENT" --reason competence --category other
expect_error 2 "a reason in words and --details both" as bob mission refuse --client "$CLIENT" --reason "words" --category other --details "more"
expect_error 2 "no --client" as bob mission refuse --reason competence
expect_error 2 "no --reason" as bob mission refuse --client "$CLIENT"
expect_error 2 "an empty client" as bob mission refuse --client "" --reason competence
expect_error 2 "a client of 257 bytes" as bob mission refuse --client "$(head -c 257 /dev/zero | tr '\0' x)" --reason competence
expect 0 "a client of 256 bytes" as bob mission refuse --client "$(head -c 256 /dev/zero | tr '\0' y)" --reason competence
expect_error 2 "a client with a control character" as bob mission refuse --client $'ACME\tSA' --reason competence
expect_error 2 "a client that is not UTF-8" as bob mission refuse --client $'ACME \xff SA' --reason competence
expect_error 2 "details of 257 bytes" as bob mission refuse --client "$CLIENT" --reason competence --details "$(head -c 257 /dev/zero | tr '\0' d)"
expect_error 2 "empty details" as bob mission refuse --client "$CLIENT" --reason competence --details ""
expect_error 2 "a reference with a newline" as bob mission refuse --client "$CLIENT" --reason competence --ref $'a\nb'
expect_error 2 "a date that is no day" as bob mission refuse --client "$CLIENT" --reason competence --date 2026-02-30
expect_error 2 "a date in the future" as bob mission refuse --client "$CLIENT" --reason competence --date 2999-01-01
expect_error 2 "a date 40 days back (a refusal is recorded when it happens)" \
	as bob mission refuse --client "$CLIENT" --reason competence --date "$(date -u -d '-40 days' +%F)"
expect_error 6 "dave, an auditor, may not record a refusal" as dave mission refuse --client "$CLIENT" --reason competence
check "  ... told why" grep -q "only an admin or a technician records a refused mission" "$T/err"
check "nothing refused was recorded" test "$(nref "$T/vault")" -eq 8

# ---- nothing in clear ----
G "$T/vault" cat-file --batch-all-objects --batch >"$T/objects.txt"
check "no object of audit.git holds the client, details or reference in clear" \
	bash -c '! grep -aqF -e "$1" -e "$2" -e "$3" -e "$4" -e "Other Client" "$5"' _ "$CLIENT" "$TOKEN" "$SECRET_DETAILS" "$SECRET_REF" "$T/objects.txt"
check "  ... nor the log" bash -c '! G() { :; }; ! git -C "$1/audit.git" log -p --all | grep -aqF -e "$2" -e "$3"' _ "$T/vault" "$TOKEN" "$SECRET_REF"
check "  ... nor any file of the repository" bash -c '! grep -raqF -e "$1" -e "$2" "$3"' _ "$TOKEN" "$SECRET_DETAILS" "$T/vault"
rid=$(G "$T/vault" log -1 --format=%B main | sed -n 's/^Evault-Refusal: //p')
check "the event: action, refusal and category trailers, no mission" \
	bash -c 'm=$(git -C "$1/audit.git" log -1 --format=%B main); grep -qx "Evault-Action: mission.refuse" <<<"$m" && grep -qx "Evault-Category: competence" <<<"$m" && ! grep -q "^Evault-Mission" <<<"$m" && [ "$(head -1 <<<"$m")" = "Refuse a mission (competence)" ]' _ "$T/vault"
G "$T/vault" show "main:refusals/$rid" >"$T/rec"
check "the record: rid, time, date, by, category, one sealed line per admin" \
	bash -c 'sed -n 1p "$1" | grep -qx "refusal $2" && sed -n 2p "$1" | grep -Eqx "time [0-9]+" && sed -n 3p "$1" | grep -Eqx "date [0-9]{4}-[0-9]{2}-[0-9]{2}" && sed -n 4p "$1" | grep -qx "by bob" && sed -n 5p "$1" | grep -qx "category competence" && sed -n 6p "$1" | grep -Eq "^sealed alice [A-Za-z0-9+/]+=*$" && [ $(wc -l <"$1") -eq 6 ]' _ "$T/rec" "$rid"
check "the event added refusals/<rid> and nothing else" test "$(G "$T/vault" diff --name-status main~1 main)" = "$(printf 'A\trefusals/%s' "$rid")"

# ---- the register ----
expect 0 "bob lists the register" as bob mission refusals
check "  ... eight refusals, oldest first: alice's, dated 20 days ago, though recorded last" bash -c '[ $(wc -l <"$1") -eq 8 ] && head -1 "$1" | grep -q "^$2  .*court-order  *alice$"' _ "$T/out" "$BACK"
check "  ... with the day, the short id, the category and who" grep -Eq "^[0-9]{4}-[0-9]{2}-[0-9]{2}  [0-9a-f]{8}  employee-surveillance +bob$" "$T/out"
check "  ... and no client" bash -c '! grep -qF -e "$1" -e "Other Client" -e "$2" "$3"' _ "$TOKEN" "$SECRET_REF" "$T/out"
expect 0 "dave, an auditor, lists it too" as dave mission refusals
check "  ... without clients" bash -c '[ $(wc -l <"$2") -eq 8 ] && ! grep -qF "$1" "$2"' _ "$TOKEN" "$T/out"
expect 0 "alice lists it with what is sealed to her" as alice mission refusals
check "  ... each client" test "$(grep -c "^            client   $CLIENT$" "$T/out")" -eq 6
check "  ... the details and the reference" bash -c 'grep -qx "            details  $1" "$3" && grep -qx "            ref      $2" "$3" && grep -qx "            client   Other Client SARL" "$3"' _ "$SECRET_DETAILS" "$SECRET_REF" "$T/out"
expect 0 "--year of that day" as alice mission refusals --year "${BACK:0:4}"
check "  ... the refusals of that year, that one among them" bash -c '[ $(grep -c "^$2  " "$1") -eq 1 ] && ! grep -v "^  " "$1" | grep -vq "^$3-"' _ "$T/out" "$BACK" "${BACK:0:4}"
expect 0 "--year 2001" as alice mission refusals --year 2001
check "  ... none" test ! -s "$T/out"
expect_error 2 "--year that is no year" as alice mission refusals --year 25
expect 0 "--json as alice" as alice mission refusals --json
check "  ... parses, every field, the clients" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
r = d["refusals"]
assert len(r) == 8, r
for x in r:
    assert set(x) == {"rid", "date", "time", "by", "category", "client", "details", "ref", "damaged"}, x
    assert len(x["rid"]) == 32 and x["time"].endswith("Z"), x
assert [x["client"] for x in r].count(sys.argv[2]) == 6
assert sum(1 for x in r if x["details"] == sys.argv[3] and x["category"] == "private-filming") == 1
assert any(x["by"] == "alice" and x["date"] == sys.argv[4] and x["ref"] == "R-2" for x in r)
assert not any(x["damaged"] for x in r)
assert sorted(x["category"] for x in r if x["by"] == "bob") == sorted(["employee-surveillance", "private-filming", "court-order", "competence", "other", "private-filming", "competence"])
assert [(x["date"], x["time"]) for x in r] == sorted((x["date"], x["time"]) for x in r)
' "$T/out" "$CLIENT" "$SECRET_DETAILS" "$BACK"
expect 0 "--json as bob" as bob mission refusals --json
check "  ... client, details and ref null" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["refusals"]
assert len(r) == 8 and all(x["client"] is None and x["details"] is None and x["ref"] is None for x in r)' "$T/out"

# an admin added later reads none of the refusals sealed before
as alice user add erin --role admin --pubkey "$(new_identity erin)" >/dev/null
expect 0 "erin, a new admin, lists the register" as erin mission refusals
check "  ... every earlier refusal sealed to other admins" test "$(grep -c '^            (sealed to other admins)$' "$T/out")" -eq 8
expect 0 "a refusal recorded now" as carol mission refuse --client "Third Client" --reason other --details "no licence for drones"
rid=$(G "$T/vault" log -1 --format=%B main | sed -n 's/^Evault-Refusal: //p')
check "  ... is sealed to alice and erin, sorted" test "$(G "$T/vault" show "main:refusals/$rid" | awk '/^sealed/ {print $2}' | tr '\n' ' ')" = "alice erin "
expect 0 "  ... erin reads it" as erin mission refusals
check "  ... its client" grep -qx "            client   Third Client" "$T/out"
expect 0 "the history verifies" "$EVAULT_BIN" audit verify
expect 0 "audit show of a refusal" "$EVAULT_BIN" audit show "$(G "$T/vault" rev-parse --short=12 main)"
check "  ... valid" grep -q "verdict valid" "$T/out"

# ---- forged events: signed with real keys of the vault, caught by verify ----
ssh-keygen -q -t ed25519 -N '' -f "$T/tech" -C tech
ssh-keygen -q -t ed25519 -N '' -f "$T/aud" -C aud
as alice user add tech --role technician --pubkey "$(cat "$T/tech.pub")" >/dev/null
as alice user add aud --role auditor --pubkey "$(cat "$T/aud.pub")" >/dev/null
SEALED=$(G "$T/vault" show "main:refusals/$rid" | grep '^sealed ')
fresh() { rm -rf "$T/v"; cp -a "$T/vault" "$T/v"; forget_verified; }
failed_at() { # "what" commit-id "message part": exit 1, names that commit and the rule
	local what=$1 id=$2 why=$3
	"$EVAULT_BIN" -R "$T/v" audit verify >"$T/out" 2>"$T/err"
	local rc=$?
	if [ "$rc" -eq 1 ] && grep -q "^evault: verification FAILED at commit $id.*$why" "$T/err"; then
		ok "$what: $(sed 's/^evault: verification FAILED at commit [0-9a-f]*: //' "$T/err")"
	else
		ko "$what (exit $rc, wanted 1 naming $id and '$why'): $(cat "$T/err")"
	fi
}
# forge KEY ACTOR BY CATEGORY TRAILER-CATEGORY [EXTRA-PATH]: a mission.refuse
# on top of $T/v signed with KEY; EXTRA-PATH: also adds that file. Prints the commit.
forge() {
	local key=$1 actor=$2 by=$3 cat=$4 tcat=$5 extra=${6:-}
	local frid seq blob tree
	frid=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
	printf 'refusal %s\ntime %s\ndate %s\nby %s\ncategory %s\n%s\n' "$frid" "$(date +%s)" \
		"${FDATE:-$(date -u +%F)}" "$by" "$cat" "$SEALED" >"$T/forged-rec"
	blob=$(G "$T/v" hash-object -w "$T/forged-rec")
	export GIT_INDEX_FILE=$T/index
	G "$T/v" read-tree main && G "$T/v" update-index --add --cacheinfo "100644,$blob,refusals/$frid"
	[ -z "$extra" ] || G "$T/v" update-index --add --cacheinfo "100644,$blob,$extra"
	tree=$(G "$T/v" write-tree)
	unset GIT_INDEX_FILE
	seq=$(($(G "$T/v" log -1 --format=%B main | sed -n 's/^Evault-Seq: //p') + 1))
	commit_as "$key" "$(G "$T/v" rev-parse main)" "$tree" -m "Refuse a mission ($tcat)" -m "Evault-Seq: $seq
Evault-Action: mission.refuse
Evault-Actor: $actor
Evault-Refusal: $frid
Evault-Category: $tcat"
}
fresh
f=$(forge "$T/tech" tech tech competence competence) && G "$T/v" update-ref refs/heads/main "$f"
expect 0 "control: a refusal made by stock git, signed by a technician, verifies" "$EVAULT_BIN" -R "$T/v" audit verify
fresh
f=$(forge "$T/aud" aud aud competence competence) && G "$T/v" update-ref refs/heads/main "$f"
failed_at "a mission.refuse signed by an auditor" "$f" "an auditor: only an admin or a technician"
fresh
f=$(forge "$T/tech" tech bob competence competence) && G "$T/v" update-ref refs/heads/main "$f"
failed_at "a record whose 'by' is another user" "$f" "by tech records a refusal by bob"
fresh
f=$(forge "$T/tech" tech tech competence competence users/mallory) && G "$T/v" update-ref refs/heads/main "$f"
failed_at "a refusal that also adds a user" "$f" "may change only refusals/"
fresh
f=$(forge "$T/tech" tech tech competence competence refusals/0123456789abcdef0123456789abcdef) && G "$T/v" update-ref refs/heads/main "$f"
failed_at "a refusal that adds two records" "$f" "must add exactly refusals/"
fresh
f=$(forge "$T/tech" tech tech competence other) && G "$T/v" update-ref refs/heads/main "$f"
failed_at "a record whose category differs from the trailer" "$f" "category is competence, the event's other"
fresh
f=$(forge "$T/tech" tech tech spying spying) && G "$T/v" update-ref refs/heads/main "$f"
failed_at "an unknown category" "$f" "is not valid"
fresh
SEALED=$(printf '%s\n' "$SEALED" | head -1)
f=$(forge "$T/tech" tech tech competence competence) && G "$T/v" update-ref refs/heads/main "$f"
failed_at "a refusal sealed to one admin of two" "$f" "sealed to 1 admins, where 2 were active"
# every box is one size, whatever the client's name: 48 + 784 bytes
check "every sealed box of the register is 832 bytes (its size says nothing of the name)" bash -c '
	for r in $(git -C "$1/audit.git" ls-tree --name-only main refusals/); do
		git -C "$1/audit.git" show "main:$r" | awk "/^sealed / {print \$3}"
	done | while read -r b; do printf "%s" "$b" | base64 -d | wc -c; done | sort -u | grep -qx 832' _ "$T/vault"
# a box that does not open (random bytes of the right size): verify cannot
# see it; the register shows it damaged and lists the others
fresh
rnd() { head -c 832 /dev/urandom | base64 -w0; }
SEALED=$(printf 'sealed alice %s\nsealed erin %s' "$(rnd)" "$(rnd)")
f=$(forge "$T/tech" tech tech competence competence) && G "$T/v" update-ref refs/heads/main "$f"
expect 0 "a refusal whose boxes are noise verifies (no key sees inside)" "$EVAULT_BIN" -R "$T/v" audit verify
expect 0 "alice's register still lists everything" as alice -R "$T/v" mission refusals
check "  ... that refusal marked damaged, the others read" bash -c 'grep -q "(damaged: its sealed part does not open with your key)" "$1" && grep -q "client   Third Client" "$1"' _ "$T/out"
expect 0 "  ... and --json parses, one damaged" as alice -R "$T/v" mission refusals --json
check "  ... exactly one damaged" python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["refusals"]; assert sum(x["damaged"] for x in r) == 1' "$T/out"
# a record dated more than 31 days before it was recorded
fresh
SEALED=$(G "$T/vault" show "main:refusals/$rid" | grep '^sealed ')
f=$(forge "$T/tech" tech tech competence competence) && G "$T/v" update-ref refs/heads/main "$f"
expect 0 "control: the same forged refusal dated today verifies" "$EVAULT_BIN" -R "$T/v" audit verify
fresh
f=$(FDATE=$(date -u -d '-40 days' +%F) forge "$T/tech" tech tech competence competence) && G "$T/v" update-ref refs/heads/main "$f"
failed_at "a refusal dated 40 days before it was recorded" "$f" "the record is dated"

# ---- a laptop replica: recorded offline, replayed at the office ----
OFFICE=$T/vault
unset EVAULT_REPO
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:log_path=$T/san" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:log_path=$T/san"
sshd_start
for who in alice bob; do
	printf -v "SSH_$who" '%s' "$(sshd_client "$who")"
	sshd_authorize "$who" "$EVAULT_BIN serve -R $OFFICE"
done
URL="ssh://root@127.0.0.1:$SSHD_PORT$OFFICE"
on() { local who=$1; shift; local v="SSH_$who"; EVAULT_SSH=${!v} as "$who" "$@"; }
expect 0 "bob clones the office" on bob clone --device bob-laptop "$URL" "$T/bob"
sshd_block
expect 0 "offline, bob lists the register on his laptop" as bob -R "$T/bob" mission refusals
check "  ... every refusal, no client" bash -c '[ $(wc -l <"$1") -eq 9 ] && ! grep -qF "$2" "$1"' _ "$T/out" "$TOKEN"
expect 0 "offline, bob records a refusal on his laptop" as bob -R "$T/bob" mission refuse --client "Laptop Client SA" --reason employee-surveillance
lrid=$(G "$T/bob" log -1 --format=%B main | sed -n 's/^Evault-Refusal: //p')
# meanwhile at the office the admins change (erin disabled, frank added), and another refusal
as alice -R "$OFFICE" user disable erin >/dev/null
as alice -R "$OFFICE" user add frank --role admin --pubkey "$(new_identity frank)" >/dev/null
as alice -R "$OFFICE" mission refuse --client "Office Client" --reason competence >/dev/null
sshd_unblock
expect 0 "bob syncs: his refusal is replayed on the office's head" on bob -R "$T/bob" sync
check "the office holds his refusal" test -n "$(G "$OFFICE" ls-tree main "refusals/$lrid")"
check "  ... as a replayed event of bob's" bash -c 'git -C "$1/audit.git" log -1 --format=%B main | grep -q "^Evault-Replayed: " && git -C "$1/audit.git" log -1 --format=%B main | grep -qx "Evault-Actor: bob"' _ "$OFFICE"
check "  ... sealed to alice and erin (the admins of bob's laptop)" test "$(G "$OFFICE" show "main:refusals/$lrid" | awk '/^sealed/ {print $2}' | tr '\n' ' ')" = "alice erin "
expect 0 "the office's history verifies" "$EVAULT_BIN" -R "$OFFICE" audit verify
expect 0 "bob's replica verifies" as bob -R "$T/bob" audit verify
expect 0 "alice reads the laptop's refusal at the office" as alice -R "$OFFICE" mission refusals --json
check "  ... with its client" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["refusals"]
assert any(x["rid"] == sys.argv[2] and x["client"] == "Laptop Client SA" and x["by"] == "bob" for x in r), r' "$T/out" "$lrid"
expect 0 "frank, admin since, sees it sealed to other admins" as frank -R "$OFFICE" mission refusals
check "  ... and the office's own refusal, sealed to him" bash -c 'grep -qx "            client   Office Client" "$1" && [ $(grep -c "(sealed to other admins)" "$1") -eq 10 ]' _ "$T/out"
check "the laptop's client is nowhere in clear at the office" bash -c '! git -C "$1/audit.git" cat-file --batch-all-objects --batch | grep -aqF "Laptop Client"' _ "$OFFICE"
sshd_stop
check "no sanitizer report" san_clean

finish
