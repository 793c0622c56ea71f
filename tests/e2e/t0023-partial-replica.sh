#!/usr/bin/env bash
# A laptop replica holds every event of the office's history but the trees
# of its user's missions only (docs/auditing.md, "Verifying a replica").
# Made here by hand, without evault sync: a copy of the office's repository
# from which every tree and blob of one mission's directory, its objects
# and its key copies are deleted. On it, audit verify checks the events of
# that mission for signature, role and scope; every command works on the
# missions held and knows nothing of the other; writes keep its entry as
# it is. Crafted events that leave their scope, or that a technician may
# not sign, fail; and without REPO/remote (the office) an absent tree is
# damage.
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
FORGE=${EVAULT_FORGE:-$(dirname "$EVAULT_BIN")/evault-forge}
# an event signed by WHO: forge_commit WHO PARENT TREE MESSAGE-ARGS... (in
# $R's history; prints the commit id; dated now, with the actor's name)
forge_commit() {
	local who=$1 parent=$2 tree=$3 vid unsigned
	shift 3
	vid=$(sed -n 's/^vault-id *= *//p' "$R/evault.conf")
	unsigned=$(GIT_AUTHOR_NAME=$who GIT_AUTHOR_EMAIL=$who@$vid.evault GIT_COMMITTER_NAME=$who \
		GIT_COMMITTER_EMAIL=$who@$vid.evault git -C "$R/audit.git" commit-tree -p "$parent" \
		"$tree" "$@") || return 1
	git -C "$R/audit.git" cat-file commit "$unsigned" >"$T/unsigned"
	"$FORGE" "$T/vault" "$T/$who.id" "$T/$who.pass" sign "$T/unsigned" >"$T/signed" || return 1
	git -C "$R/audit.git" hash-object -t commit -w --stdin <"$T/signed"
}
# a tree like TREE whose entry NAME is ID (git mktree: no object is read)
with_entry() { # TREE NAME ID
	git -C "$R/audit.git" ls-tree "$1" |
		awk -v n="$2" -v id="$3" -F'\t' '{ if ($2 == n) { split($1, a, " "); $1 = a[1] " " a[2] " " id } print $1 "\t" $2 }' |
		git -C "$R/audit.git" mktree --missing
}
seq_next() { echo $(($(git -C "$R/audit.git" log -1 --format=%B main | sed -n 's/^Evault-Seq: //p') + 1)); }
# Any object an unexpected command would fetch from the office fails at once.
export EVAULT_SSH=false

# ---- the office: alice (admin), bob and carol (technicians), dave (auditor);
# M1 is bob's, M2 carol's
export EVAULT_REPO=$T/vault
printf 'passphrase of alice\n' >"$T/alice.pass"
as alice init --admin alice >/dev/null 2>&1 || { echo "init failed"; exit 1; }
for who in bob:technician carol:technician dave:auditor; do
	as alice user add "${who%%:*}" --role "${who#*:}" --pubkey "$(new_identity "${who%%:*}")" >/dev/null ||
		{ echo "user add failed"; exit 1; }
done
as alice mission create M1 --client "Client One SA" --site Lyon --member bob >/dev/null &&
	as alice mission create M2 --client "Client Two SA" --site Nice --member carol >/dev/null ||
	{ echo "mission create failed"; exit 1; }
echo "rapport M1" >"$T/r1.txt"
echo "rapport M2" >"$T/r2.txt"
head -c 300000 /dev/urandom >"$T/big.bin"
printf '' >"$T/empty"
mkdir -p "$T/card/DCIM/100MEDIA"
python3 "$HERE/fixtures/media.py" jpeg "$T/card/DCIM/100MEDIA/IMG_0001.JPG" 200000
expect 0 "office: bob puts into M1" as bob put "$T/r1.txt" "$T/big.bin" M1/dossier/
expect 0 "office: carol puts into M2" as carol put "$T/r2.txt" "$T/big.bin" M2/dossier/
expect 0 "office: bob puts an empty file into M1" as bob put "$T/empty" M1/work/empty
expect 0 "office: carol one into M2" as carol put "$T/empty" M2/work/empty
expect 0 "office: carol's notes in M2" as carol put "$T/r2.txt" M2/work/notes.txt
expect 0 "office: carol records a code" as carol put "$T/r2.txt" M2/codes/badge.txt
expect 0 "office: and marks it rotated" as carol codes mark M2/codes/badge.txt --rotated
expect 12 "office: carol's card refused without photo authorisation (content.refused)" as carol import M2 "$T/card"
expect 0 "office: alice records M2's photo authorisation" as alice mission authorize-photos M2 --by "M. Client" --ref "courrier 1" --scope "locaux"
expect 0 "office: carol imports the card (file.import)" as carol import M2 "$T/card"
expect 0 "office: alice grants dave M2" as alice mission grant M2 dave
expect 0 "office: carol removes her notes" as carol rm M2/work/notes.txt
expect 0 "office: bob's notes in M1" as bob put "$T/r1.txt" M1/work/notes.txt
expect 0 "office: the history verifies" "$EVAULT_BIN" audit verify
G() { git -C "$T/vault/audit.git" "$@"; }
n_m2=$(G log --format=%B main | grep -c '^Evault-Mission: M2$')
check "office: $n_m2 events of M2, of every kind" test "$n_m2" -ge 10
check "office: no loose object packed yet" test ! -d "$T/vault/audit.git/objects/pack" -o -z "$(ls "$T/vault/audit.git/objects/pack" 2>/dev/null)"

# ---- bob's replica: the office's repository without M2's trees, objects and keys
R=$T/v
cp -a "$T/vault" "$R"
rm -f "$R/audit-verified"
GR() { git -C "$R/audit.git" "$@"; }
# every object under missions/M2 in any commit, less those the rest of the
# state also names (an empty .objs list is the same blob in every mission)
for c in $(G rev-list main); do
	sub=$(G rev-parse -q --verify "$c:missions/M2" 2>/dev/null) || continue
	echo "$sub"
	G ls-tree -r -t "$sub" | awk '{ print $3 }'
done | sort -u >"$T/m2.ids"
for c in $(G rev-list main); do
	G rev-parse "$c^{tree}"
	G ls-tree -r -t "$c" | awk -F'\t' '$2 !~ /^missions\/M2(\/|$)/ { split($1, a, " "); print a[3] }'
done | sort -u >"$T/held.ids"
comm -23 "$T/m2.ids" "$T/held.ids" >"$T/gone.ids"
# M2's objects: those its .objs lists name, less any a held list names
objs_of() { # ids of .objs blobs under PATH-REGEX, in every commit -> object names
	for c in $(G rev-list main); do G ls-tree -r "$c"; done |
		awk -F'\t' -v re="$1" -v inv="$2" '$2 ~ /\.objs$/ && (($2 ~ re) != inv) { split($1, a, " "); print a[3] }' |
		sort -u | while read -r b; do G cat-file blob "$b"; done | sort -u
}
objs_of '^missions/M2/' 0 >"$T/m2.objs"
objs_of '^missions/M2/' 1 >"$T/held.objs"
check "M2's directories hold $(wc -l <"$T/gone.ids") history objects of their own" test -s "$T/gone.ids"
check "... an empty .objs list is shared with M1 and stays" test "$(comm -12 "$T/m2.ids" "$T/held.ids" | wc -l)" -ge 1
deleted=0
while read -r id; do
	rm "$R/audit.git/objects/${id:0:2}/${id:2}" && deleted=$((deleted + 1))
done <"$T/gone.ids"
check "each was a loose object, deleted" test "$deleted" -eq "$(wc -l <"$T/gone.ids")"
while read -r o; do
	[ -n "$o" ] && find "$R/objects" -name "$o" -delete
done < <(comm -23 "$T/m2.objs" "$T/held.objs")
present() { # how many of the object names in FILE are stored in $R
	local o n=0
	while read -r o; do [ -n "$(find "$R/objects" -name "$o")" ] && n=$((n + 1)); done <"$1"
	echo "$n"
}
check "M2's objects are gone" test "$(present "$T/m2.objs")" -eq 0
check "... M1's are all there" test "$(present "$T/held.objs")" -eq "$(wc -l <"$T/held.objs")"
rm -rf "$R/keys/missions/M2"
# as evault clone writes it: the office, the user, and the device this
# replica is (a device that never reached the office, as none is reached here)
printf 'evault-remote 1\nurl ssh://evault@office.invalid/srv/evault\nuser bob\ndevice bob-laptop\n' >"$R/remote"
check "the replica's history lacks M2's trees (git fsck says so)" bash -c "! GIT_DIR='$R/audit.git' git fsck --connectivity-only >/dev/null 2>&1"
m2_entry=$(GR ls-tree main missions/ | awk -F'\t' '$2 == "missions/M2" { split($1, a, " "); print a[3] }')
check "... but its missions directory names M2" test -n "$m2_entry"
export EVAULT_REPO=$R

# ---- verify on the replica
expect 0 "replica: audit verify passes (as bob)" as bob audit verify
check "... every event checked" grep -q "^OK vault [0-9a-f]* head [0-9a-f]* seq [0-9]*, $(GR rev-list --count main) events" "$T/out"
check "... $n_m2 events of M2 for signature, role and scope only" grep -qx "$n_m2 events of missions not held on this replica: checked for signature, role and scope only (their contents are verified at the office)" "$T/out"
expect 0 "replica: audit verify without identity" "$EVAULT_BIN" audit verify
check "... the same count" grep -q "^$n_m2 events of missions not held" "$T/out"
expect 0 "replica: --objects checks M1's objects and passes over M2" "$EVAULT_BIN" audit verify --objects
check "... objects of M1 intact" grep -q ', [1-9][0-9]* objects intact' "$T/out"
expect 0 "office: verify says nothing of missions not held" "$EVAULT_BIN" -R "$T/vault" audit verify
check "... no such line" test "$(grep -c 'not held' "$T/out")" -eq 0
m2_event() { GR log --format='commit %H%n%B' main | awk '/^commit / { c = $2 } /^Evault-Mission: M2$/ { print c; exit }'; }
expect 0 "replica: audit show of an M2 event (no identity)" "$EVAULT_BIN" audit show "$(m2_event)"
check "... its verdict says it was judged by its scope" grep -q '^verdict valid (signature, role, scope: a mission not held on this replica)' "$T/out"
check "... and its change is M2's directory" grep -q '^    M missions/M2/ (not held on this replica)$' "$T/out"
expect_error 3 "replica: bob does not see an M2 event in audit show" as bob audit show "$(m2_event)"
expect_error 2 "replica: no export of a history that lacks missions" "$EVAULT_BIN" audit export --out "$T/exp"
check "... nothing made" test ! -e "$T/exp"

# ---- what bob sees and does on the replica
expect 0 "replica: mission list" as bob mission list
check "... M1 only" bash -c "grep -q '^M1' '$T/out' && ! grep -q 'M2' '$T/out'"
expect 0 "replica: ls" as bob ls
check "... M1 only" test "$(cat "$T/out")" = "M1/"
expect 0 "replica: ls M1/dossier" as bob ls M1/dossier
check "... its files" bash -c "grep -qx 'r1.txt' '$T/out' && grep -qx 'big.bin' '$T/out'"
expect 0 "replica: get from M1" as bob get M1/dossier/big.bin "$T/big.out"
check "... same bytes" cmp -s "$T/big.bin" "$T/big.out"
expect 0 "replica: mission show M1" as bob mission show M1
check "... with its client" grep -q 'Client One SA' "$T/out"
for cmd in "ls M2" "ls M2/dossier" "get M2/dossier/r2.txt" "mission show M2" "log --mission M2" "import M2 CARD"; do
	c1=${cmd//CARD/$T/card}
	c2=${cmd//M2/M-404}
	c2=${c2//CARD/$T/card}
	as bob $c1 >"$T/o1" 2>"$T/e1"
	rc1=$?
	as bob $c2 >"$T/o2" 2>"$T/e2"
	rc2=$?
	check "replica: '$cmd' exits 3 like a mission that never existed" test "$rc1" -eq 3 -a "$rc2" -eq 3
	check "... with the same message" test "$(sed 's/M2/M-X/' "$T/e1")" = "$(sed 's/M-404/M-X/' "$T/e2")"
done
expect_error 3 "replica: bob cannot put into M2" as bob put "$T/r1.txt" M2/work/x.txt
check "... the same words as for M-404" grep -q 'no such mission: M2$' "$T/err"
expect 0 "replica: log" as bob log
check "... no M2 event" test "$(grep -c 'M2' "$T/out")" -eq 0
check "... M1's events" grep -q 'M1' "$T/out"
expect 0 "replica: log --names" as bob log --names --mission M1
check "... M1's names" grep -q ': dossier/r1.txt' "$T/out"
expect 0 "replica: fsck" "$EVAULT_BIN" fsck
check "... nothing missing" grep -q '^OK: .*, 0 missing, 0 corrupt' "$T/out"
expect 0 "replica: fsck --keys as bob" as bob fsck --keys

# ---- writes on the replica keep M2's entry
before=$(GR rev-parse main)
expect 0 "replica: bob puts into M1" as bob put "$T/r1.txt" M1/work/new.txt
check "... a new event" test "$(GR rev-parse main^)" = "$before"
check "... whose missions directory still names M2, with the same id" test "$(GR ls-tree main missions/ | awk -F'\t' '$2 == "missions/M2" { split($1, a, " "); print a[3] }')" = "$m2_entry"
expect 0 "replica: bob removes a file" as bob rm M1/work/notes.txt
expect 0 "replica: bob records a code" as bob put "$T/r1.txt" M1/codes/door.txt
expect 0 "... and marks it" as bob codes mark M1/codes/door.txt --reported-to "le client"
check "... M2's entry unchanged" test "$(GR ls-tree main missions/ | awk -F'\t' '$2 == "missions/M2" { split($1, a, " "); print a[3] }')" = "$m2_entry"
expect 0 "replica: verify still passes" as bob audit verify
check "... the same events of M2 checked by scope" grep -q "^$n_m2 events of missions not held" "$T/out"

# ---- bob's mount of the replica
mnt bob "$T/mnt" >/dev/null 2>&1
if eventually 10 test -d "$T/mnt/M1"; then
	ok "replica: the mount shows M1"
	check "... and M1 only" test "$(ls "$T/mnt")" = "M1"
	check "... reads M1's files" cmp -s "$T/big.bin" "$T/mnt/M1/dossier/big.bin"
	echo "written through the mount" >"$T/mnt/M1/work/mount.txt"
	settled "$T/mnt"
	check "... M2 cannot be made there" bash -c "! mkdir '$T/mnt/M2' 2>/dev/null"
	"$EVAULT_BIN" umount "$T/mnt" >/dev/null 2>&1
	eventually 10 bash -c "! grep -q ' $T/mnt ' /proc/mounts"
	expect 0 "replica: the file written through the mount is recorded" as bob get M1/work/mount.txt "$T/mount.out"
	check "... with its bytes" test "$(cat "$T/mount.out")" = "written through the mount"
	check "... M2's entry unchanged" test "$(GR ls-tree main missions/ | awk -F'\t' '$2 == "missions/M2" { split($1, a, " "); print a[3] }')" = "$m2_entry"
	check "no sanitizer report from the mount" san_clean
else
	ko "replica: the mount shows M1"
fi
expect 0 "replica: verify after the mount's events" as bob audit verify

# ---- gc packs a history that lacks M2's trees
expect 0 "replica: gc" "$EVAULT_BIN" gc
check "... the history packed: no loose object left" test -z "$(find "$R/audit.git/objects" -path '*/objects/[0-9a-f][0-9a-f]/*' -type f)"
check "... into a pack" test -n "$(ls "$R/audit.git/objects/pack/"*.pack 2>/dev/null)"
expect 0 "replica: verify after gc" "$EVAULT_BIN" audit verify --objects
check "... the same count" grep -q "^$n_m2 events of missions not held" "$T/out"
expect 0 "replica: fsck after gc" "$EVAULT_BIN" fsck
check "... nothing missing" grep -q '^OK: .*, 0 missing, 0 corrupt' "$T/out"
expect 0 "replica: bob reads M1 after gc" as bob get M1/dossier/big.bin "$T/big.out2"
check "... same bytes" cmp -s "$T/big.bin" "$T/big.out2"
expect 0 "replica: and writes" as bob put "$T/r1.txt" M1/work/after-gc.txt
expect 0 "replica: verify (as bob: from the head he verified)" as bob audit verify
packs() { find "$R/audit.git/objects/pack" -name 'pack-*.pack' | wc -l; }
most=0
for i in 1 2 3 4 5 6 7 8 9; do
	as bob put - "M1/work/round-$i.txt" <"$T/r1.txt" >/dev/null || ko "put $i"
	"$EVAULT_BIN" gc >/dev/null || ko "gc $i"
	[ "$(packs)" -gt "$most" ] && most=$(packs)
done
check "replica: gc made packs, then merged them all into one (at most $most)" test "$most" -ge 2 -a "$(packs)" -lt "$most"
expect 0 "... verify after the merge" "$EVAULT_BIN" audit verify --objects
check "... the same count" grep -q "^$n_m2 events of missions not held" "$T/out"

# ---- crafted events on copies of the replica
fresh() { # a copy of the replica at $T/c$1; R points at it
	R=$T/c$1
	rm -rf "$R"
	cp -a "$T/v" "$R"
	rm -f "$R/audit-verified"
}
failed_at() { # WHAT COMMIT GREP: verify of $R fails at COMMIT for that reason
	expect 1 "$1: verify fails" "$EVAULT_BIN" -R "$R" audit verify
	check "... at that commit" grep -q "FAILED at commit $2" "$T/err"
	check "... for that reason ($3)" grep -q "$3" "$T/err"
}
G() { git -C "$R/audit.git" "$@"; }
old_m2=$(G log --format=%H main | while read -r c; do
	e=$(G ls-tree "$c" missions/ | awk -F'\t' '$2 == "missions/M2" { split($1, a, " "); print a[3] }')
	[ "$e" != "$m2_entry" ] && [ -n "$e" ] && { echo "$e"; break; }
done)
check "an older tree of M2 is named by the history (absent here too)" test -n "$old_m2"

# within its scope, signed by carol, a member: its rule cannot be judged
# here, so it verifies (the office would judge its file entries)
fresh 1
fid=00112233445566778899aabbccddeeff
ms=$(with_entry "main:missions" M2 "$old_m2")
tree=$(with_entry "main^{tree}" missions "$ms")
c=$(forge_commit carol main "$tree" -m "Add file" -m "Evault-Seq: $(seq_next)
Evault-Action: file.add
Evault-Actor: carol
Evault-Mission: M2
Evault-Class: work
Evault-File: $fid
Evault-Objects: 0")
G update-ref refs/heads/main "$c"
expect 0 "an event of M2 signed by carol within its scope verifies on the replica" "$EVAULT_BIN" -R "$R" audit verify
check "... counted with the others" grep -q "^$((n_m2 + 1)) events of missions not held" "$T/out"

# M2's entry and M1's in one event
fresh 2
m1_old=$(G rev-parse "main~3:missions/M1")
ms=$(with_entry "$(with_entry "main:missions" M2 "$old_m2")" M1 "$m1_old")
tree=$(with_entry "main^{tree}" missions "$ms")
c=$(forge_commit carol main "$tree" -m "Add file" -m "Evault-Seq: $(seq_next)
Evault-Action: file.add
Evault-Actor: carol
Evault-Mission: M2
Evault-Class: work
Evault-File: $fid
Evault-Objects: 0")
G update-ref refs/heads/main "$c"
failed_at "an event of M2 that also changes M1" "$c" "file.add may change only missions/M2"
expect_error 1 "... and bob's commands refuse to act on it" as bob -R "$R" ls M1

# M2's entry and the users directory in one event
fresh 3
us=$(with_entry "main:users" carol "$(G rev-parse main:users/alice)")
tree=$(with_entry "$(with_entry "main^{tree}" missions "$(with_entry "main:missions" M2 "$old_m2")")" users "$us")
c=$(forge_commit carol main "$tree" -m "Add file" -m "Evault-Seq: $(seq_next)
Evault-Action: file.add
Evault-Actor: carol
Evault-Mission: M2
Evault-Class: work
Evault-File: $fid
Evault-Objects: 0")
G update-ref refs/heads/main "$c"
failed_at "an event of M2 that also changes a user record" "$c" "file.add may change only missions/ in the state"

# M2 removed from the missions directory
fresh 4
ms=$(G ls-tree main:missions | grep -v $'\tM2$' | G mktree --missing)
tree=$(with_entry "main^{tree}" missions "$ms")
c=$(forge_commit carol main "$tree" -m "Remove file" -m "Evault-Seq: $(seq_next)
Evault-Action: file.remove
Evault-Actor: carol
Evault-Mission: M2
Evault-Class: work
Evault-File: $fid")
G update-ref refs/heads/main "$c"
failed_at "an event of M2 that removes its directory" "$c" "file.remove removes missions/M2"

# an action only admins may record, on M2, signed by bob
fresh 5
ms=$(with_entry "main:missions" M2 "$old_m2")
tree=$(with_entry "main^{tree}" missions "$ms")
c=$(forge_commit bob main "$tree" -m "Grant bob on M2" -m "Evault-Seq: $(seq_next)
Evault-Action: mission.grant
Evault-Actor: bob
Evault-Mission: M2
Evault-User: bob
Evault-As: member")
G update-ref refs/heads/main "$c"
failed_at "mission.grant on M2 signed by bob, a technician" "$c" "mission.grant by bob, a technician: only admins may"

# a change to M2 signed by dave, an auditor (M2's, at the office)
fresh 9
ms=$(with_entry "main:missions" M2 "$old_m2")
tree=$(with_entry "main^{tree}" missions "$ms")
c=$(forge_commit dave main "$tree" -m "Mark" -m "Evault-Seq: $(seq_next)
Evault-Action: codes.mark
Evault-Actor: dave
Evault-Mission: M2
Evault-Class: codes
Evault-File: $fid
Evault-Mark: rotated")
G update-ref refs/heads/main "$c"
failed_at "codes.mark of M2 signed by dave, an auditor" "$c" "codes.mark by dave, an auditor: auditors change no mission"

# an event of M2 that changes nothing, though its action must
fresh 6
c=$(forge_commit carol main "$(G rev-parse 'main^{tree}')" -m "Add file" -m "Evault-Seq: $(seq_next)
Evault-Action: file.add
Evault-Actor: carol
Evault-Mission: M2
Evault-Class: work
Evault-File: $fid
Evault-Objects: 0")
G update-ref refs/heads/main "$c"
failed_at "a file.add of M2 that changes nothing" "$c" "may change only missions"

# an event that changes no state must change none
fresh 7
ms=$(with_entry "main:missions" M2 "$old_m2")
tree=$(with_entry "main^{tree}" missions "$ms")
c=$(forge_commit carol main "$tree" -m "Refused content" -m "Evault-Seq: $(seq_next)
Evault-Action: content.refused
Evault-Actor: carol
Evault-Mission: M2
Evault-Refused: 1")
G update-ref refs/heads/main "$c"
failed_at "a content.refused of M2 that changes its directory" "$c" "content.refused may not change the state"

# the same replica as the office: REPO/remote removed, an absent tree is damage
fresh 8
rm "$R/remote"
expect 1 "without REPO/remote, verify fails on M2's absent trees" "$EVAULT_BIN" -R "$R" audit verify
check "... at M2's creation" grep -q "FAILED at commit $(G log --format='commit %H%n%B' main | awk '/^commit / { c = $2; a = 0 } /^Evault-Action: mission.create$/ { a = 1 } /^Evault-Mission: M2$/ && a { print c }')" "$T/err"
check "... naming the missing tree" grep -q "mission.create: the tree of missions/M2 is missing or unreadable" "$T/err"
expect_error 1 "... and commands refuse to act on that history" as bob -R "$R" ls M1

# a replica whose REPO/remote names no device was cloned by an older evault
fresh 10
sed -i '/^device /d' "$R/remote"
expect_error 11 "a replica that names no device is refused" as bob -R "$R" ls M1
check "... told to clone it again" grep -q 'cloned by an older evault (it names no device): clone it again' "$T/err"
finish
