#!/usr/bin/env bash
# The office and the laptops through a real sshd on loopback: clone (each
# replica a device of its user, registered and holding its user's missions
# by events it pushes), work offline, sync, two replicas of one mission,
# compartments, pushes the office refuses (t0024 forges them), and the
# connection lost in the middle.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"
standard_vault # alice admin, bob and carol technicians, dave auditor, M-1 with bob
OFFICE=$T/vault
unset EVAULT_REPO
as alice -R "$OFFICE" mission create M-2 --client "Client Two SA" --member carol >/dev/null
printf 'rapport de bob\n' >"$T/bob-report.txt"
head -c 3000000 /dev/urandom >"$T/photo.bin"
as bob -R "$OFFICE" put "$T/bob-report.txt" M-1/dossier/rapport.txt >/dev/null
as bob -R "$OFFICE" put "$T/photo.bin" M-1/work/scan.bin >/dev/null
printf 'note de carol\n' >"$T/carol-note.txt"
as carol -R "$OFFICE" put "$T/carol-note.txt" M-2/work/note.txt >/dev/null

# sanitizer reports of every process, the office's serve included, go to
# files that san_clean checks at the end (a serve's stderr goes to the client)
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:log_path=$T/san" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:log_path=$T/san"
sshd_start
for who in alice bob carol dave; do
	printf -v "SSH_$who" '%s' "$(sshd_client "$who")"
	sshd_authorize "$who" "$EVAULT_BIN serve -R $OFFICE"
done
URL="ssh://root@127.0.0.1:$SSHD_PORT$OFFICE"
# as WHO through ssh: on(WHO) sets EVAULT_SSH to WHO's ssh wrapper
on() { local who=$1; shift; local v="SSH_$who"; EVAULT_SSH=${!v} as "$who" "$@"; }
head_of() { git -C "$1/audit.git" rev-parse refs/heads/main; }
# the office's events, one line each: ACTION ACTOR MISSION DEVICE ("-" for none)
office_events() {
	git -C "$OFFICE/audit.git" log --format='%H%n%B%n--end--' main | awk '
		/^Evault-Action: / { a = $2 } /^Evault-Actor: / { u = $2 }
		/^Evault-Mission: / { m = $2 } /^Evault-Device: / { d = $2 }
		/^--end--$/ { if (a != "") print a, u, m, d; a = ""; u = "-"; m = "-"; d = "-" }
		BEGIN { u = "-"; m = "-"; d = "-" }'
}

# ---- clone ----
office_before=$(head_of "$OFFICE")
expect 0 "bob clones the office through ssh" on bob clone --device bob-laptop "$URL" "$T/bob"
check "clone prints one summary line and its figures" grep -q '^clone: .* 1 mission held here' "$T/out"
check "it names the device the replica is" grep -qx '  this replica is device bob-laptop' "$T/out"
check "which now holds his one mission" grep -qx '  device bob-laptop now holds 1 more mission' "$T/out"
check "REPO/remote names the office, bob and the device" test "$(sed -n '2,$p' "$T/bob/remote")" = "$(printf 'url %s\nuser bob\ndevice bob-laptop' "$URL")"
check "the clone registered the device at the office: device.add, then device.hold of M-1" \
	test "$(office_events | head -n 2 | tac | tr '\n' ' ')" = "device.add bob - bob-laptop device.hold bob M-1 bob-laptop "
check "... two events on the office's head as it was" test "$(git -C "$OFFICE/audit.git" rev-parse main~2)" = "$office_before"
check "the office's state: device bob-laptop, bob's, active" test "$(git -C "$OFFICE/audit.git" show main:devices/bob-laptop)" = "$(printf 'device bob-laptop\nuser bob\nstatus active')"
check "... holding M-1" eval 'git -C "$OFFICE/audit.git" show main:missions/M-1/devices/bob-laptop | grep -qx "status held"'
check "bob's replica has those events too" test "$(head_of "$T/bob")" = "$(head_of "$OFFICE")"
expect 0 "bob's replica lists his mission only" as bob -R "$T/bob" ls
check "M-1 and nothing else" test "$(cat "$T/out")" = "M-1/"
check "a clone fetches no object: they come on demand" test -z "$(find "$T/bob/objects" -type f)"
expect 0 "fsck of a fresh replica" as bob -R "$T/bob" fsck
check "its objects are at the office, none missing" grep -q '^OK: .* 0 missing.*at the office' "$T/out"
expect 0 "bob reads his report on the replica: fetched from the office" on bob -R "$T/bob" get M-1/dossier/rapport.txt
check "the same bytes" cmp -s "$T/out" "$T/bob-report.txt"
check "and kept" test -n "$(find "$T/bob/objects" -type f)"
expect 0 "bob's replica verifies" as bob -R "$T/bob" audit verify
expect 0 "status of a fresh replica" as bob -R "$T/bob" status
check "status names the office and nothing waiting" grep -q "waiting to go up: 0 events" "$T/out"
check "status names the office, bob and the device" grep -qx "remote: $URL (as bob, device bob-laptop)" "$T/out"
check "the server logged bob's clone, from a device not registered yet" grep -q 'bob: session opened (technician, device bob-laptop not registered yet, 1 missions held)' "$OFFICE/serve.log"
check "... and his later session, from his registered device" grep -q 'bob: session opened (technician, device bob-laptop, 1 missions held)' "$OFFICE/serve.log"

# ---- compartments: nothing of M-2 on bob's laptop ----
m2_blobs() { # every git object under missions/M-2 in any commit of the office
	local c
	for c in $(git -C "$OFFICE/audit.git" rev-list main); do
		git -C "$OFFICE/audit.git" ls-tree -r -t "$c" missions/M-2 2>/dev/null | awk '$4 ~ /^missions\/M-2/ {print $3}'
		git -C "$OFFICE/audit.git" rev-parse --verify -q "$c:missions/M-2" 2>/dev/null
	done | sort -u
}
m2_objects() { # object names M-2's files use at the office
	git -C "$OFFICE/audit.git" ls-tree -r main missions/M-2 | awk '$4 ~ /\.objs$/ {print $3}' |
		while read -r b; do git -C "$OFFICE/audit.git" cat-file blob "$b"; done | grep -o '[0-9a-f]\{64\}' | sort -u
}
m2_blobs >"$T/m2-blobs"
m2_objects >"$T/m2-objects"
check "M-2 has history objects and stored objects to look for" test -s "$T/m2-blobs" -a -s "$T/m2-objects"
leaked=0
while read -r id; do git -C "$T/bob/audit.git" cat-file -e "$id" 2>/dev/null && leaked=$((leaked + 1)); done <"$T/m2-blobs"
check "no tree, record or manifest of M-2 in bob's history" test "$leaked" -eq 0
leaked=0
while read -r o; do
	[ -e "$T/bob/objects/${o:0:2}/$o" ] && leaked=$((leaked + 1))
	grep -rqs "$o" "$T/bob" && leaked=$((leaked + 1))
done <"$T/m2-objects"
check "no object of M-2, nor its name, anywhere under bob's replica" test "$leaked" -eq 0
check "no key copy of M-2 on bob's laptop" test ! -e "$T/bob/keys/missions/M-2"
check "no key copy of anyone else on bob's laptop" test -z "$(find "$T/bob/keys" -name '*.sealed' ! -name bob.sealed)"
check "carol's note is nowhere on bob's laptop" test -z "$(grep -rl 'note de carol' "$T/bob")"
expect_error 3 "M-2 on bob's replica is a mission that does not exist" as bob -R "$T/bob" ls M-2

# ---- work offline, then sync ----
expect 0 "before leaving: sync --offline M-1 fetches the whole mission" on bob -R "$T/bob" sync --offline M-1
check "the 3 MB scan among the objects fetched" grep -q '; [1-9][0-9]* objects fetched' "$T/out"
sshd_block
expect 0 "offline, the scan reads from the replica" as bob -R "$T/bob" get M-1/work/scan.bin
check "its bytes" cmp -s "$T/out" "$T/photo.bin"
printf 'written offline\n' >"$T/offline.txt"
expect 0 "bob puts into his replica with the office unreachable" as bob -R "$T/bob" put "$T/offline.txt" M-1/work/offline.txt
mnt bob "$T/mnt" -R "$T/bob" -o sync=0
expect 0 "bob's replica mounts offline" test -d "$T/mnt/M-1/work"
printf 'through the mount\n' >"$T/mnt/M-1/work/mounted.txt"
settled "$T/mnt"
expect 0 "status counts what waits" as bob -R "$T/bob" status
check "two events wait" grep -q "waiting to go up: 2 events" "$T/out"
expect 0 "status --json" as bob -R "$T/bob" status --json
check "  ... the same figures as one JSON document" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d["events_waiting"] == 2 and d["device"] == "bob-laptop" and d["user"] == "bob"
         and d["remote"] == sys.argv[2] and d["missions"] == 1 and d["last_sync"].endswith("Z") else 1)' "$T/out" "$URL"
expect 1 "sync with the office unreachable fails" on bob -R "$T/bob" sync
check "ssh says why, then evault one line" test "$(tail -n 1 "$T/err")" = "evault: cannot reach the office: the office closed the connection (see ssh's message above)"
sshd_unblock
expect 0 "sync --dry-run says what would move" on bob -R "$T/bob" sync --dry-run
check "dry run: would push 2 events, nothing moved" grep -q '^sync (dry run, nothing changed): would pull 0 events and push 2;' "$T/out"
check "the office did not move on a dry run" test "$(as alice -R "$OFFICE" log -n 1 | awk '{print $5}')" != file.commit
expect 0 "bob syncs" on bob -R "$T/bob" sync
check "2 events pushed" grep -q ', 2 pushed' "$T/out"
expect 0 "the office has the offline file" as alice -R "$OFFICE" get M-1/work/offline.txt
check "its bytes" cmp -s "$T/out" "$T/offline.txt"
expect 0 "and the one written through the mount" as alice -R "$OFFICE" get M-1/work/mounted.txt
expect 0 "the office verifies" as alice -R "$OFFICE" audit verify --objects
expect 0 "bob's replica verifies" as bob -R "$T/bob" audit verify
check "bob's replica and the office agree" test "$(head_of "$T/bob")" = "$(head_of "$OFFICE")"
expect 0 "a sync with nothing to do" on bob -R "$T/bob" sync
check "nothing moved" grep -q '^sync: 0 events pulled, 0 pushed; 0 objects fetched, 0 sent' "$T/out"

# ---- the mount syncs in the background ----
umount_settled() { settled "$1"; "$EVAULT_BIN" umount "$1" >/dev/null 2>&1; }
umount_settled "$T/mnt"
MOUNTS=()
sshd_block
EVAULT_SSH=$SSH_bob mnt bob "$T/mnt2" -R "$T/bob" -o sync=1
printf 'background\n' >"$T/mnt2/M-1/work/background.txt"
eventually 10 grep -q '^sync     failed' "$T/mnt2/.evault/status"
check "office unreachable: the mount says so in .evault/status" grep -q '^sync     failed .*office' "$T/mnt2/.evault/status"
check "and keeps working" cmp -s "$T/mnt2/M-1/work/background.txt" <(printf 'background\n')
sshd_unblock
eventually 15 grep -q '^sync     ok' "$T/mnt2/.evault/status"
check "office back: the mount synced by itself" grep -q '^sync     ok' "$T/mnt2/.evault/status"
eventually 10 as alice -R "$OFFICE" get M-1/work/background.txt
expect 0 "the office has the file written through the mount" as alice -R "$OFFICE" get M-1/work/background.txt
umount_settled "$T/mnt2"
MOUNTS=()
expect 0 "bob's replica verifies after the mount's syncs" as bob -R "$T/bob" audit verify
# a sync by hand that must replay while the replica is mounted: refused, nothing moved
mnt bob "$T/mnt3" -R "$T/bob" -o sync=0
printf 'office side\n' >"$T/os.txt"
as alice -R "$OFFICE" put "$T/os.txt" M-1/work/office-side.txt >/dev/null
printf 'laptop side\n' >"$T/mnt3/M-1/work/laptop-side.txt"
settled "$T/mnt3"
bob_head=$(head_of "$T/bob")
expect_error 9 "a sync that must replay while the replica is mounted is refused" on bob -R "$T/bob" sync
check "it says the mount syncs by itself, or to unmount" grep -q 'mounted (process [0-9]*).*unmount it' "$T/err"
check "bob's replica did not move" test "$(head_of "$T/bob")" = "$bob_head"
check "the mount still reads its file" cmp -s "$T/mnt3/M-1/work/laptop-side.txt" <(printf 'laptop side\n')
umount_settled "$T/mnt3"
MOUNTS=()
expect 0 "unmounted, the sync replays" on bob -R "$T/bob" sync
check "one event replayed" grep -q '1 recorded here replayed' "$T/out"
expect 0 "the office has the laptop's file" as alice -R "$OFFICE" get M-1/work/laptop-side.txt
expect 0 "bob's replica verifies" as bob -R "$T/bob" audit verify

# ---- two replicas of one mission, both offline ----
as alice -R "$OFFICE" mission grant M-1 carol >/dev/null
# device names are the vault's: bob's cannot be carol's
expect_error 6 "carol cannot clone as bob's device" on carol clone --device bob-laptop "$URL" "$T/carol"
check "... told so" grep -q 'device bob-laptop is registered to another user: clone again with another name (--device)' "$T/err"
check "... no replica left behind" test ! -e "$T/carol"
expect 0 "carol clones" on carol clone --device carol-laptop "$URL" "$T/carol"
check "her device now holds both her missions" grep -qx '  device carol-laptop now holds 2 more missions' "$T/out"
check "one device.hold each" test "$(office_events | awk '$1 == "device.hold" && $4 == "carol-laptop" { print $3 }' | sort | tr '\n' ' ')" = "M-1 M-2 "
expect 0 "carol's replica holds M-1 and M-2" as carol -R "$T/carol" ls
check "both missions" test "$(tr '\n' ' ' <"$T/out")" = "M-1/ M-2/ "
expect 0 "carol reads bob's offline file (on demand)" on carol -R "$T/carol" get M-1/work/offline.txt
check "its bytes" cmp -s "$T/out" "$T/offline.txt"
sshd_block
expect 1 "a file not fetched, with the office unreachable" on carol -R "$T/carol" get M-1/work/scan.bin
check "says it is not here and the office cannot be asked" grep -q 'not on this replica, and the office cannot be asked' "$T/err"
sshd_unblock
sshd_block
printf 'version de bob\n' >"$T/vb.txt"
printf 'version de carol\n' >"$T/vc.txt"
expect 0 "bob adds same.txt offline" as bob -R "$T/bob" put "$T/vb.txt" M-1/work/same.txt
expect 0 "carol adds same.txt offline" as carol -R "$T/carol" put "$T/vc.txt" M-1/work/same.txt
expect 0 "carol also adds her own file" as carol -R "$T/carol" put "$T/carol-note.txt" M-1/dossier/carol.txt
sshd_unblock
expect 0 "bob syncs first" on bob -R "$T/bob" sync
expect 0 "carol syncs second: her events are replayed on bob's" on carol -R "$T/carol" sync
check "two events replayed" grep -q '2 recorded here replayed' "$T/out"
expect 0 "the office keeps the later version in the state" as alice -R "$OFFICE" get M-1/work/same.txt
check "carol's (the later push)" cmp -s "$T/out" "$T/vc.txt"
expect 0 "the office's log" as alice -R "$OFFICE" log --mission M-1 --names
check "both versions are in the history" test "$(grep -c 'same.txt' "$T/out")" -ge 2
expect 0 "ls shows one same.txt" as alice -R "$OFFICE" ls M-1/work
check "one entry for the path" test "$(grep -c '^same.txt$' "$T/out")" -eq 1
expect 0 "bob's version is still readable from history" as alice -R "$OFFICE" audit verify --objects
expect 0 "bob syncs again and gets carol's" on bob -R "$T/bob" sync
expect 0 "bob reads the later version" on bob -R "$T/bob" get M-1/work/same.txt
check "carol's bytes" cmp -s "$T/out" "$T/vc.txt"
expect 0 "carol's replica verifies" as carol -R "$T/carol" audit verify
expect 0 "bob's replica verifies" as bob -R "$T/bob" audit verify
check "all three agree" test "$(head_of "$T/bob")" = "$(head_of "$OFFICE")" -a "$(head_of "$T/carol")" = "$(head_of "$OFFICE")"
git_verify_all "$OFFICE"

# ---- authentication ----
sshd_client mallory >/dev/null
sshd_authorize mallory "$EVAULT_BIN serve -R $OFFICE"
new_identity mallory >/dev/null
office_before=$(head_of "$OFFICE")
expect_error 4 "an identity that is no user gets nothing" env EVAULT_SSH="$T/sshd/ssh-mallory" "$EVAULT_BIN" --identity "$T/mallory.id" --passphrase-file "$T/mallory.pass" clone --device mallory-laptop "$URL" "$T/mallory"
check "no replica was left behind" test ! -e "$T/mallory"
check "the server logged the failure" grep -q 'authentication failed for key' "$OFFICE/serve.log"
printf 'wrong\n' >"$T/wrong.pass"
expect_error 4 "bob's identity without its passphrase gets nothing" env EVAULT_SSH="$SSH_bob" "$EVAULT_BIN" --identity "$T/bob.id" --passphrase-file "$T/wrong.pass" clone --device bob-phone "$URL" "$T/bob2"
check "neither registered a device: the office did not move" test "$(head_of "$OFFICE")" = "$office_before"
expect 0 "dave (auditor) clones for audit verify" on dave clone --device dave-laptop "$URL" "$T/dave"
check "... his clone registered his device (device.add by dave)" eval 'office_events | grep -qx "device.add dave - dave-laptop"'
check "... as the office's history says: Evault-Action: device.add, Evault-Actor: dave" eval \
	"git -C '$OFFICE/audit.git' log --format=%B main | grep -A1 -x 'Evault-Action: device.add' | grep -qx 'Evault-Actor: dave'"
check "... and records no hold: he holds no role on a mission" test -z "$(office_events | awk '$1 == "device.hold" && $2 == "dave"')"
check "the server logged dave's clone" grep -q 'dave: session opened (auditor, device dave-laptop not registered yet, [0-9]* missions held)' "$OFFICE/serve.log"
expect 0 "dave's replica verifies the whole history" as dave -R "$T/dave" audit verify

# ---- the connection lost in the middle of a large push ----
# dave's clone moved the office (his device.add): bob takes it first, so
# that the cut falls in a push alone (a replay cut short is the next part)
expect 0 "bob syncs: dave's device registered meanwhile" on bob -R "$T/bob" sync
check "... one event pulled" grep -q '^sync: 1 events pulled, 0 pushed' "$T/out"
sshd_block
for i in 1 2 3 4 5 6; do head -c 2000000 /dev/urandom >"$T/big$i.bin"; done
as bob -R "$T/bob" put "$T"/big?.bin M-1/dossier/ >/dev/null
sshd_unblock
EVAULT_SSH=$SSH_bob timeout -s KILL 0.7 "$EVAULT_BIN" --identity "$T/bob.id" --passphrase-file "$T/bob.pass" -R "$T/bob" sync >/dev/null 2>&1
stored_before=$(find "$OFFICE/objects" -type f | wc -l)
expect 0 "sync again after the cut" on bob -R "$T/bob" sync
check "the office took the push" test "$(head_of "$T/bob")" = "$(head_of "$OFFICE")"
expect 0 "office verify --objects after the cut" as alice -R "$OFFICE" audit verify --objects

# ---- a sync killed once it replayed the replica's events ----
# Both moved: the office (a file of alice's), the replica (bob's offline
# files). The sync replays bob's events on the office's head, then pushes;
# killed between the two, the next sync must still work.
printf 'office side again\n' >"$T/os2.txt"
as alice -R "$OFFICE" put "$T/os2.txt" M-1/work/office-side-2.txt >/dev/null
for i in 1 2 3 4 5 6; do head -c 2000000 /dev/urandom >"$T/big$i.bin"; done
as bob -R "$T/bob" put "$T"/big?.bin M-1/work/ >/dev/null
reflog=$T/bob/audit.git/logs/refs/heads/main
replays_before=$(grep -c 'sync: replay' "$reflog" 2>/dev/null)
EVAULT_SSH=$SSH_bob "$EVAULT_BIN" --identity "$T/bob.id" --passphrase-file "$T/bob.pass" -R "$T/bob" sync >/dev/null 2>&1 &
sync_pid=$!
eventually 30 eval 'test "$(grep -c "sync: replay" "$reflog" 2>/dev/null)" -gt "$replays_before"'
kill -KILL "$sync_pid" 2>/dev/null
wait "$sync_pid" 2>/dev/null
check "the sync was killed after its replay" test "$(grep -c 'sync: replay' "$reflog")" -gt "$replays_before"
expect 0 "sync again after a sync killed once it had replayed" on bob -R "$T/bob" sync
check "the office took the push" test "$(head_of "$T/bob")" = "$(head_of "$OFFICE")"
expect 0 "bob's replica verifies after it" as bob -R "$T/bob" audit verify
expect 0 "office verify --objects after it" as alice -R "$OFFICE" audit verify --objects

# ---- a user with no missions holds no mission data ----
as alice -R "$OFFICE" user add erin --role technician --pubkey "$(new_identity erin)" >/dev/null
sshd_client erin >/dev/null
sshd_authorize erin "$EVAULT_BIN serve -R $OFFICE"
expect 0 "erin, in no mission, clones" env EVAULT_SSH="$T/sshd/ssh-erin" "$EVAULT_BIN" --identity "$T/erin.id" --passphrase-file "$T/erin.pass" clone --device erin-laptop "$URL" "$T/erin"
check "erin's replica is there" test -f "$T/erin/remote"
check "her device registered, holding nothing" test "$(office_events | awk '$2 == "erin"' | tr '\n' ' ')" = "device.add erin - erin-laptop "
check "no mission tree in erin's history" test -z "$(git -C "$T/erin/audit.git" ls-tree main missions/ | awk '{print $3}' | while read -r id; do git -C "$T/erin/audit.git" cat-file -e "$id" 2>/dev/null && echo "$id"; done)"
check "no object, no key copy" test -z "$(find "$T/erin/objects" "$T/erin/keys" -type f)"
expect 0 "erin's replica verifies" as erin -R "$T/erin" audit verify
expect 0 "erin's ls is empty" as erin -R "$T/erin" ls
check "nothing listed" test ! -s "$T/out"

sshd_stop
check "no sanitizer report from any process, the office's included" san_clean
finish
