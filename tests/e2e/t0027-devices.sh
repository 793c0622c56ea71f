#!/usr/bin/env bash
# Devices and erasure that reaches them (docs/deploy.md, "Devices and
# erasure"), through a real sshd on loopback: a clone registers its device
# and what it holds; a close, a revoke from a mission and a revoked device
# make the laptop destroy its key copies and objects at its next sync and
# sign a confirmation the certificate lists; a close with a device in the
# field is refused without --force; forged confirmations fail verify; a
# device erasure killed at each step finishes at the next sync.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"
FORGE=${EVAULT_FORGE:-$(dirname "$EVAULT_BIN")/evault-forge}
standard_vault # alice admin, bob and carol technicians, dave auditor, M-1 with bob
OFFICE=$T/vault
unset EVAULT_REPO
as alice -R "$OFFICE" mission create M-2 --client "Client Two SA" --member carol >/dev/null
as alice -R "$OFFICE" mission create M-3 --client "Client Three SA" --member bob >/dev/null
printf 'rapport M-1\n' >"$T/report.txt"
head -c 400000 /dev/urandom >"$T/notes.bin"
printf 'badge 1234\n' >"$T/badge.txt"
as bob -R "$OFFICE" put "$T/report.txt" M-1/dossier/report.txt >/dev/null
as bob -R "$OFFICE" put "$T/notes.bin" M-1/work/notes.bin >/dev/null
as bob -R "$OFFICE" put "$T/badge.txt" M-1/codes/badge.txt >/dev/null
as bob -R "$OFFICE" codes mark M-1/codes/badge.txt --rotated >/dev/null
as bob -R "$OFFICE" put "$T/report.txt" M-3/work/m3.txt >/dev/null
as carol -R "$OFFICE" put "$T/report.txt" M-2/work/c.txt >/dev/null

export ASAN_OPTIONS="${ASAN_OPTIONS:-}:log_path=$T/san" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:log_path=$T/san"
sshd_start
for who in alice bob carol dave; do
	printf -v "SSH_$who" '%s' "$(sshd_client "$who")"
	sshd_authorize "$who" "$EVAULT_BIN serve -R $OFFICE"
done
URL="ssh://root@127.0.0.1:$SSHD_PORT$OFFICE"
on() { local who=$1; shift; local v="SSH_$who"; EVAULT_SSH=${!v} as "$who" "$@"; }
G() { local r=$1; shift; git -C "$r/audit.git" "$@"; }
# the objects any version of a mission's files named, at the office
objects_of() { # MID
	local c
	for c in $(G "$OFFICE" rev-list main); do
		G "$OFFICE" ls-tree -r "$c" "missions/$1" 2>/dev/null | awk '$4 ~ /\.objs$/ {print $3}'
	done | sort -u | while read -r b; do G "$OFFICE" cat-file blob "$b"; done | grep -o '[0-9a-f]\{64\}' | sort -u
}
present() { # REPO: how many of the objects listed in $T/objs are in REPO
	local n=0 o
	while read -r o; do [ -e "$1/objects/${o:0:2}/$o" ] && n=$((n + 1)); done <"$T/objs"
	echo "$n"
}
verify_both() { # WHAT: the office and bob's replica verify
	as alice -R "$OFFICE" audit verify >/dev/null 2>"$T/verr" && ok "$1: the office verifies" ||
		ko "$1: the office verifies: $(cat "$T/verr")"
	as bob -R "$T/bob" audit verify >/dev/null 2>"$T/verr" && ok "$1: bob's replica verifies" ||
		ko "$1: bob's replica verifies: $(cat "$T/verr")"
}

# ---- a clone registers its device, and what it holds ----
expect_error 2 "a device name that is not one" on bob clone --device 'Bad/Name' "$URL" "$T/bad"
check "... says what a device name is" grep -q "not a device name" "$T/err"
check "... and leaves nothing" test ! -e "$T/bad"
expect 0 "bob clones as bob-laptop" on bob clone --device bob-laptop "$URL" "$T/bob"
check "clone names the device" grep -q '^  this replica is device bob-laptop$' "$T/out"
check "and the missions it now holds" grep -q 'device bob-laptop now holds 2 more missions' "$T/out"
check "device.add is in the office's history, signed by bob" test "$(G "$OFFICE" log --format=%B main | grep -c '^Evault-Action: device.add$')" -eq 1
check "one device.hold per mission" test "$(G "$OFFICE" log --format=%B main | grep -c '^Evault-Action: device.hold$')" -eq 2
check "the record of the device" test "$(G "$OFFICE" show main:devices/bob-laptop)" = "$(printf 'device bob-laptop\nuser bob\nstatus active')"
expect_error 7 "a second replica of bob cannot take the name bob-laptop" on bob clone --device bob-laptop "$URL" "$T/bob-x"
check "... it says what to do" grep -q "device bob-laptop is already registered to you (another replica): name this one otherwise" "$T/err"
check "... and leaves nothing" test ! -e "$T/bob-x"
expect_error 6 "carol cannot take bob's device name" on carol clone --device bob-laptop "$URL" "$T/carol-x"
check "... told why" grep -q "registered to another user" "$T/err"
expect 0 "carol clones as carol-laptop (options after the address too)" on carol clone "$URL" "$T/carol" --device carol-laptop
expect 0 "bob keeps M-1 whole on his laptop" on bob -R "$T/bob" sync --offline M-1
expect 0 "status names the device" as bob -R "$T/bob" status
check "... bob-laptop" grep -q '^remote: .* (as bob, device bob-laptop)$' "$T/out"
expect 0 "alice lists the devices" as alice -R "$OFFICE" device list
cp "$T/out" "$T/devices"
check "bob-laptop, active, 2 held, nothing pending" grep -Eq '^bob-laptop +bob +active +[0-9-]+ [0-9:]+Z +[0-9-]+ [0-9:]+Z +2 +[0-9]+ +0 +0$' "$T/devices"
check "carol-laptop holds M-2" grep -Eq '^    M-2 +held since ' "$T/devices"
expect_error 6 "a technician may not list devices" as bob -R "$OFFICE" device list
verify_both "after the clones"
as bob -R "$T/bob" audit verify >"$T/out" 2>&1
check "a replica that owes nothing counts nothing owed" test -z "$(grep 'must still erase' "$T/out")"
check "stock git verifies every commit at the office" git_verify_all "$OFFICE"

# ---- close with a device in the field ----
objects_of M-1 >"$T/objs"
check "the test knows M-1's objects" test "$(wc -l <"$T/objs")" -ge 3
check "bob's laptop holds them all" test "$(present "$T/bob")" -eq "$(wc -l <"$T/objs")"
check "and his key copies" test -e "$T/bob/keys/missions/M-1/work/bob.sealed" -a -e "$T/bob/keys/missions/M-1/codes/bob.sealed"
cp -a "$T/bob" "$T/bob-before"
# offline on site: bob adds a note the office never hears of before the close
printf 'note de terrain\n' >"$T/late.txt"
expect 0 "bob, offline, adds a work note to M-1" as bob -R "$T/bob" put "$T/late.txt" M-1/work/late.txt
G "$T/bob" diff-tree -r --no-commit-id main | awk '$6 ~ /\.objs$/ {print $4}' |
	while read -r b; do G "$T/bob" cat-file blob "$b"; done >"$T/late-objs"
check "the late note's objects are on the laptop" test "$(wc -l <"$T/late-objs")" -ge 1 -a -e "$T/bob/objects/$(head -c 2 "$T/late-objs")/$(head -1 "$T/late-objs")"
expect 0 "the close plan (dry run)" as alice -R "$OFFICE" mission close M-1 --dry-run
check "it lists the device holding the mission, with its last contact" grep -Eq '^  bob-laptop \(bob\): last contact [0-9-]+ [0-9:]+Z, synced since the mission last changed$' "$T/out"
# the office changes M-1 after bob's last sync
expect 0 "alice adds a file to M-1 at the office" as alice -R "$OFFICE" put "$T/report.txt" M-1/dossier/annex.txt
expect_error 12 "close refuses while bob-laptop has not synced since" as alice -R "$OFFICE" mission close M-1
check "... and says why, and what --force does" grep -q "refused: bob-laptop has not synced since M-1 last changed" "$T/out"
expect 0 "alice closes with --force" as alice -R "$OFFICE" mission close M-1 --force
check "the plan says what happens to bob-laptop's later events" grep -q "forced: whatever bob-laptop sends later for M-1 is refused and erased" "$T/out"
check "the erasure record keeps the forced device" grep -Eq '^forced-device bob-laptop last-contact [0-9]+$' <(G "$OFFICE" show main:missions/M-1/CLOSE)
expect 0 "the certificate" as alice -R "$OFFICE" mission certificate M-1
check "lists bob-laptop as pending, with its last contact" grep -Eq '^    bob-laptop \(bob\): en attente, dernier contact / pending, last contact [0-9-]+ [0-9:]+Z$' "$T/out"
check "and says the close was forced past it" grep -q "closed without its last sync" "$T/out"
expect 0 "alice lists the devices" as alice -R "$OFFICE" device list
check "M-1 pending on bob-laptop" grep -Eq '^    M-1 +erasure pending \(closed\)$' "$T/out"
# the year's indicators: an erasure waiting for a device (docs/indicators.md)
ind_has() { # FIGURE MID: the report's --explain lists MID under FIGURE
	as alice -R "$OFFICE" report indicators --year "$(date -u +%Y)" --explain --json >"$T/ind" 2>"$T/err" &&
		python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["explain"]; assert sys.argv[3] in [x["mission"] for x in e[sys.argv[2]]], e' "$T/ind" "$1" "$2"
}
check "the indicators count M-1's erasure as waiting for a device" ind_has erasures_waiting M-1
expect 0 "retention in 8 days reports the late erasure" true
as alice -R "$OFFICE" retention run --dry-run --now "$(date -u -d '+8 days' +%Y-%m-%d)" >"$T/out" 2>&1
check "... with exit 1, naming the device and mission" grep -q "device bob-laptop (bob) has not erased M-1 (closed) since" "$T/out"
as alice -R "$OFFICE" retention run --dry-run >"$T/out" 2>&1
check "today it is not late yet" test -z "$(grep 'has not erased' "$T/out")"

# ---- bob syncs: the laptop erases ----
held_objs=$(( $(present "$T/bob") + $(wc -l <"$T/late-objs") ))
expect 0 "bob syncs" on bob -R "$T/bob" sync
cp "$T/out" "$T/sync-out"
check "it counts the objects it deleted, each once ($held_objs)" grep -q "its key copies and $held_objs objects on this device" "$T/sync-out"
check "sync says what it erased and why" grep -q "erased M-1 (the mission was closed): its key copies and [0-9]* objects on this device" "$T/sync-out"
check "and names the refused event" grep -q "refused and erased: file.add in M-1, recorded .*, work/late.txt (the mission was closed meanwhile)" "$T/sync-out"
check "no key copy of M-1 left on the laptop" test -z "$(find "$T/bob/keys/missions/M-1" -name '*.sealed' 2>/dev/null)"
check "M-3's key copies stay" test -e "$T/bob/keys/missions/M-3/work/bob.sealed"
check "none of M-1's objects left on the laptop" test "$(present "$T/bob")" -eq 0
cp "$T/late-objs" "$T/objs"
check "nor those of the refused note" test "$(present "$T/bob")" -eq 0
expect_error 3 "M-1 is gone from the laptop" as bob -R "$T/bob" ls M-1
expect 0 "the late event is not in the office's history" true
check "... no file.add of late.txt reached the office" test "$(G "$OFFICE" log --format=%B main | grep -c '^Evault-Action: device.erased$')" -eq 1
check "the confirmation names every key generation" test "$(G "$OFFICE" log -1 --format=%B main --grep='^Evault-Action: device.erased' | grep -c '^Evault-Erased-Key: ')" -eq 3
check "and the dropped event" grep -q '^Evault-Dropped: 1$' <(G "$OFFICE" log --format=%B main --grep='Evault-Action: device.erased')
expect 0 "the certificate, asked again" as alice -R "$OFFICE" mission certificate M-1
check "shows bob-laptop's confirmation with its time" grep -Eq '^    bob-laptop \(bob\): effacé le / erased [0-9-]+ [0-9:]+Z$' "$T/out"
check "and the refused event" grep -q "1 événement(s) refusé(s) et effacé(s)" "$T/out"
check "the indicators count it confirmed by every device" ind_has erasures_confirmed M-1
expect 0 "retention in 8 days has nothing late" true
as alice -R "$OFFICE" retention run --dry-run --now "$(date -u -d '+8 days' +%Y-%m-%d)" >"$T/out" 2>&1
check "... no device named" test -z "$(grep 'has not erased' "$T/out")"
verify_both "after the erasure"
check "stock git verifies every commit at the office" git_verify_all "$OFFICE"

# A copy of bob's laptop taken before the sync, with every key copy left
# anywhere after it (the office's and the laptop's), reads no work or codes.
rm -rf "$T/bob-before/keys" && mkdir "$T/bob-before/keys"
for k in "$OFFICE/keys" "$T/bob/keys"; do cp -a "$k/." "$T/bob-before/keys/"; done
expect_error 3 "old laptop + surviving keys: no work" as bob -R "$T/bob-before" get M-1/work/notes.bin
expect_error 3 "nor codes" as bob -R "$T/bob-before" get M-1/codes/badge.txt
check "bob holds no copy of M-1's keys anywhere" test -z "$(find "$OFFICE/keys/missions/M-1" "$T/bob/keys/missions/M-1" -name 'bob.sealed' 2>/dev/null)"
rm -rf "$T/bob-before"

# ---- revoked from a mission, with the laptop's mount running ----
EVAULT_SSH=$SSH_bob mnt bob "$T/mnt" -R "$T/bob" -o sync=1 >"$T/out" 2>"$T/err"
check "bob mounts his laptop's replica, syncing every second" test $? -eq 0
check "the mount shows M-3" test -e "$T/mnt/M-3/work/m3.txt"
expect 0 "alice revokes bob from M-3 at the office" as alice -R "$OFFICE" mission revoke M-3 bob
gone=no
for i in $(seq 1 100); do [ -e "$T/mnt/M-3" ] || { gone=yes; break; }; sleep 0.2; done
check "the running mount drops M-3 after its next sync" test "$gone" = yes
check "bob's key copies of M-3 are gone from the laptop" test -z "$(find "$T/bob/keys/missions/M-3" -name '*.sealed' 2>/dev/null)"
for i in $(seq 1 50); do G "$OFFICE" log -1 --format=%B main | grep -q '^Evault-Reason: revoked$' && break; sleep 0.2; done
check "the office holds bob-laptop's confirmation (revoked)" grep -q '^reason revoked$' <(G "$OFFICE" show main:missions/M-3/devices/bob-laptop)
expect 0 "bob unmounts" as bob umount "$T/mnt"
verify_both "after the revoke"

# ---- forged confirmations ----
as alice -R "$OFFICE" mission create M-4 --client "Client Four SA" --member bob >/dev/null
expect 0 "bob's laptop takes M-4" on bob -R "$T/bob" sync
check "... a device.hold of M-4" test -n "$(G "$OFFICE" show main:missions/M-4/devices/bob-laptop 2>/dev/null)"
R=$T/v
forge() { # WHAT SIGNER REASON: a device.erased of bob-laptop's hold on M-4, in a copy
	local what=$1 who=$2 reason=$3 vid entry tree unsigned c seq
	rm -rf "$R"; cp -a "$OFFICE" "$R"; forget_verified
	vid=$(sed -n 's/^vault-id *= *//p' "$R/evault.conf")
	G "$R" show main:missions/M-4/devices/bob-laptop >"$T/entry"
	printf 'device bob-laptop\nuser bob\nstatus erased\nheld %s\nerased %s\nreason %s\ndropped 0\n' \
		"$(sed -n 's/^held //p' "$T/entry")" "$(date +%s)" "$reason" >"$T/entry2"
	export GIT_INDEX_FILE=$T/index
	G "$R" read-tree main
	G "$R" update-index --cacheinfo "100644,$(G "$R" hash-object -w "$T/entry2"),missions/M-4/devices/bob-laptop"
	tree=$(G "$R" write-tree)
	unset GIT_INDEX_FILE
	seq=$(( $(G "$R" log -1 --format=%B main | sed -n 's/^Evault-Seq: //p') + 1 ))
	keys=$(G "$R" show main:missions/M-4/MISSION | awk '$1 == "key" {print "Evault-Erased-Key: " $2 " " $3}')
	unsigned=$(GIT_AUTHOR_NAME=$who GIT_AUTHOR_EMAIL=$who@$vid.evault GIT_COMMITTER_NAME=$who \
		GIT_COMMITTER_EMAIL=$who@$vid.evault G "$R" commit-tree -p main "$tree" -m "Device bob-laptop erased M-4" \
		-m "Evault-Seq: $seq
Evault-Action: device.erased
Evault-Actor: $who
Evault-Mission: M-4
Evault-Device: bob-laptop
Evault-Reason: $reason
$keys
Evault-Dropped: 0")
	G "$R" cat-file commit "$unsigned" >"$T/unsigned"
	"$FORGE" "$OFFICE" "$T/$who.id" "$T/$who.pass" sign "$T/unsigned" >"$T/signed" || { ko "$what: cannot sign"; return; }
	c=$(G "$R" hash-object -t commit -w --stdin <"$T/signed")
	G "$R" update-ref refs/heads/main "$c"
	"$EVAULT_BIN" -R "$R" audit verify >"$T/out" 2>"$T/err"
	if [ $? -eq 1 ] && grep -q "FAILED at commit $c" "$T/err"; then
		ok "$what: $(sed 's/.*FAILED at commit [0-9a-f]*: //' "$T/err")"
	else
		ko "$what: $(cat "$T/err")"
	fi
}
forge "a confirmation signed by another user (carol)" carol closed
forge "a confirmation for a mission still open (bob, 'closed')" bob closed
forge "a confirmation for a revoke that did not happen (bob, 'revoked')" bob revoked
forge "a confirmation for a device that is not revoked (bob, 'device-revoked')" bob device-revoked
rm -rf "$R"
expect 0 "the real history still verifies" as alice -R "$OFFICE" audit verify

# ---- a lost laptop: revoked ----
expect 0 "carol keeps M-2 whole on her laptop" on carol -R "$T/carol" sync --offline M-2
check "her laptop holds M-2's objects and keys" test -n "$(find "$T/carol/objects" -type f)" -a -e "$T/carol/keys/missions/M-2/work/carol.sealed"
expect_error 6 "a technician may not revoke a device" as bob -R "$OFFICE" device revoke carol-laptop
expect 0 "alice revokes carol-laptop" as alice -R "$OFFICE" device revoke carol-laptop
check "the record says by whom" grep -q '^revoked-by alice$' <(G "$OFFICE" show main:devices/carol-laptop)
expect_error 7 "revoking it twice says so" as alice -R "$OFFICE" device revoke carol-laptop
expect_error 3 "a device that does not exist" as alice -R "$OFFICE" device revoke nobody-laptop
expect_error 6 "carol's laptop syncs: told, and erases everything" on carol -R "$T/carol" sync
check "... it says so" grep -q "this device (carol-laptop) was revoked by alice: every mission and key copy it held was erased (1 missions)" "$T/err"
check "no key copy left on it" test -z "$(find "$T/carol/keys" -name '*.sealed')"
check "no object left on it" test -z "$(find "$T/carol/objects" -type f)"
check "the office has its confirmation" grep -q '^reason device-revoked$' <(G "$OFFICE" show main:missions/M-2/devices/carol-laptop)
expect_error 6 "the office refuses it from then on" on carol -R "$T/carol" sync
check "... saying why" grep -q "device carol-laptop was revoked by alice on .*: the office no longer answers it" "$T/err"
expect_error 6 "a new clone under that name is refused too" on carol clone --device carol-laptop "$URL" "$T/carol2"
expect 0 "alice lists the devices" as alice -R "$OFFICE" device list
check "carol-laptop: revoked, its erasure of M-2 confirmed" grep -Eq '^carol-laptop +carol +revoked ' "$T/out"
check "... M-2 erased (device-revoked)" grep -Eq '^    M-2 +erased [0-9-]+ [0-9:]+Z \(device-revoked\)$' "$T/out"
expect 0 "carol clones again, as a new device" on carol clone --device carol-laptop2 "$URL" "$T/carol2"
check "... and works" test -e "$T/carol2/keys/missions/M-2/work/carol.sealed"

# ---- a technician who leaves: disabled, her laptop still erases ----
expect 0 "alice disables carol" as alice -R "$OFFICE" user disable carol
expect 0 "carol's laptop syncs once more: it may erase and confirm" on carol -R "$T/carol2" sync
check "... it erased M-2 (revoked)" grep -q "erased M-2 (you were revoked from it)" "$T/out"
check "no key copy left on it" test -z "$(find "$T/carol2/keys" -name '*.sealed')"
check "the office has the confirmation, signed by the disabled user" grep -q '^reason revoked$' <(G "$OFFICE" show main:missions/M-2/devices/carol-laptop2)
expect_error 6 "then her laptop knows she is disabled" on carol -R "$T/carol2" sync
check "... and says so" grep -q "user carol is disabled" "$T/err"
expect 0 "the office verifies" as alice -R "$OFFICE" audit verify

# ---- kill -9 at each step of a device erasure, then sync again ----
n=0
for fp in device-erase-keys device-erase-objects device-erased-before-event device-erased-recorded; do
	n=$((n + 1))
	mid=M-K$n
	as alice -R "$OFFICE" mission create "$mid" --client "Client K$n" --member bob >/dev/null
	as bob -R "$OFFICE" put "$T/notes.bin" "$mid/dossier/n.bin" >/dev/null
	as bob -R "$OFFICE" put "$T/notes.bin" "$mid/work/n.bin" >/dev/null
	on bob -R "$T/bob" sync --offline "$mid" >/dev/null 2>&1
	as alice -R "$OFFICE" mission close "$mid" >/dev/null 2>&1 || ko "$fp: close $mid: $(cat "$T/err")"
	EVAULT_FAILPOINT=$fp on bob -R "$T/bob" sync >/dev/null 2>&1
	check "$fp: the sync was killed there" test $? -eq 137
	verify_both "$fp: killed"
	if [ "$fp" = device-erase-keys ]; then
		as bob -R "$T/bob" audit verify >"$T/out" 2>&1
		check "$fp: verify counts the copies this device owes" grep -q 'key copies this device must still erase (evault sync does)' "$T/out"
	fi
	expect 0 "$fp: bob syncs again" on bob -R "$T/bob" sync
	check "$fp: no key copy of $mid left on the laptop" test -z "$(find "$T/bob/keys/missions/$mid" -name '*.sealed' 2>/dev/null)"
	objects_of "$mid" >"$T/objs"
	check "$fp: none of its objects" test "$(present "$T/bob")" -eq 0
	check "$fp: exactly one confirmation at the office" test "$(G "$OFFICE" log --format=%B main | grep -c "^Evault-Mission: $mid\$")" -ge 1 -a "$(G "$OFFICE" log --format=%B main --grep='^Evault-Action: device.erased' | grep -c "^Evault-Mission: $mid\$")" -eq 1
	verify_both "$fp: after"
done
check "stock git verifies every commit at the office" git_verify_all "$OFFICE"
check "no sanitizer report" san_clean

finish
