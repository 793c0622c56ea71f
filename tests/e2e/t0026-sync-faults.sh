#!/usr/bin/env bash
# Sync when things break: the office's `evault serve` killed as it records
# a clone's device, ssh killed in the middle of a large push, the office's
# `evault serve` killed (kill -9) at each step of taking a push, and the
# office's disk full during a push. Nothing is lost, nothing is sent
# twice beyond one batch, the office and the laptop verify afterwards.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"
standard_vault
OFFICE=$T/vault
unset EVAULT_REPO
# sanitizer reports of every process, the office's serve included, go to
# files that san_clean checks at the end (a serve's stderr goes to the client)
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:log_path=$T/san" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:log_path=$T/san"
sshd_start
SSH_bob=$(sshd_client bob)
sshd_authorize bob "$EVAULT_BIN serve -R $OFFICE"
URL="ssh://root@127.0.0.1:$SSHD_PORT$OFFICE"
on() { EVAULT_SSH=$SSH_bob as bob "$@"; }
head_of() { git -C "$1/audit.git" rev-parse refs/heads/main; }
count_objects() { find "$1/objects" -type f | wc -l; }
office_actions() { git -C "$OFFICE/audit.git" log --format=%B main | grep -c "^Evault-Action: $1$"; }

# ---- a clone whose office dies as it records the clone's device ----
# (a clone pushes the device's registration and its holds: device.add, device.hold)
ssh_clone=$(sshd_client bobclone)
sshd_authorize bobclone "env EVAULT_FAILPOINT=serve-push-recorded $EVAULT_BIN serve -R $OFFICE"
office_start=$(head_of "$OFFICE")
expect_error 1 "a clone whose office's serve is killed once it recorded the device fails" \
	env EVAULT_SSH="$ssh_clone" "$EVAULT_BIN" --identity "$T/bob.id" --passphrase-file "$T/bob.pass" clone --device bob-laptop "$URL" "$T/bob"
check "... leaving no half replica" test ! -e "$T/bob"
check "... the office took its device.add and device.hold" test "$(office_actions device.add) $(office_actions device.hold)" = "1 1"
expect 0 "the office verifies" as alice -R "$OFFICE" audit verify
# one replica, one device: the name stays with the registration, whose
# replica may exist for all the office knows; an admin revokes it
expect_error 7 "bob cannot clone again as that device" on clone --device bob-laptop "$URL" "$T/bob"
check "... told to name this replica otherwise" grep -q "device bob-laptop is already registered to you (another replica)" "$T/err"
check "... leaving nothing" test ! -e "$T/bob"
expect 0 "an admin revokes the device the failed clone left" as alice -R "$OFFICE" device revoke bob-laptop
expect 0 "bob clones under another name" on clone --device bob-laptop2 "$URL" "$T/bob"
check "... this replica is device bob-laptop2" grep -qx '  this replica is device bob-laptop2' "$T/out"
check "... which holds M-1" grep -q 'device bob-laptop2 now holds 1 more mission$' "$T/out"
check "one device.add and one device.hold more" test "$(office_actions device.add) $(office_actions device.hold)" = "2 2"
check "office and laptop agree" test "$(head_of "$OFFICE")" = "$(head_of "$T/bob")"

# ---- the connection cut in the middle of a large push ----
mkdir -p "$T/big"
for i in $(seq 1 150); do head -c 1000000 /dev/urandom >"$T/big/f$i.bin"; done
expect 0 "150 files of 1 MB on the replica" as bob -R "$T/bob" import M-1 "$T/big" --to work
# the office's serve dies as its 100th object arrives: ssh sees the connection end
ssh_cut=$(sshd_client bobcut)
sshd_authorize bobcut "env EVAULT_FAILPOINT=serve-object-staged:100 $EVAULT_BIN serve -R $OFFICE"
office_start=$(head_of "$OFFICE")
expect 1 "a sync cut in the middle fails" env EVAULT_SSH="$ssh_cut" "$EVAULT_BIN" --identity "$T/bob.id" --passphrase-file "$T/bob.pass" -R "$T/bob" sync
before=$(count_objects "$OFFICE")
check "the office stored part of the push before the cut ($before objects)" test "$before" -ge 64 -a "$before" -lt 150
check "the office's history did not move" test "$(head_of "$OFFICE")" = "$office_start"
# and a sync whose ssh is killed outright, wherever it is
EVAULT_SSH=$SSH_bob "$EVAULT_BIN" --identity "$T/bob.id" --passphrase-file "$T/bob.pass" -R "$T/bob" sync >/dev/null 2>&1 &
pid=$!
sleep 0.5
pkill -KILL -f "ssh-bob -p $SSHD_PORT" 2>/dev/null
pkill -KILL -f "^ssh .*$T/sshd/bob " 2>/dev/null
wait "$pid" 2>/dev/null
before=$(count_objects "$OFFICE")
expect 0 "sync again" on -R "$T/bob" sync
sent=$(sed -n 's/.*; \([0-9]*\) objects fetched, \([0-9]*\) sent.*/\2/p' "$T/out")
check "only what had not arrived is sent again, beyond one batch of 64 ($sent sent)" test "$sent" -le $((150 - before + 64 + 2))
check "the office has the push" test "$(head_of "$OFFICE")" = "$(head_of "$T/bob")"
expect 0 "the office verifies, every object intact" as alice -R "$OFFICE" audit verify --objects
check "objects hash to their names (coreutils)" objects_intact "$OFFICE"
expect 0 "the office reads the last file" as alice -R "$OFFICE" get M-1/work/f150.bin
check "its bytes" cmp -s "$T/out" "$T/big/f150.bin"

# ---- evault serve killed at each step of taking a push ----
n=0
for fp in serve-object-staged serve-push-adopted serve-push-recorded; do
	n=$((n + 1))
	printf 'file %s\n' "$fp" >"$T/fp$n.txt"
	as bob -R "$T/bob" put "$T/fp$n.txt" M-1/work/ >/dev/null
	ssh_fail=$(sshd_client "bob$n")
	sshd_authorize "bob$n" "env EVAULT_FAILPOINT=$fp $EVAULT_BIN serve -R $OFFICE"
	office_before=$(head_of "$OFFICE")
	expect 1 "sync while the office's serve is killed at $fp" env EVAULT_SSH="$ssh_fail" "$EVAULT_BIN" --identity "$T/bob.id" --passphrase-file "$T/bob.pass" -R "$T/bob" sync
	if [ "$fp" = serve-push-recorded ]; then
		check "$fp: the office took the event before it died" test "$(head_of "$OFFICE")" != "$office_before"
	else
		check "$fp: the office's history did not move" test "$(head_of "$OFFICE")" = "$office_before"
	fi
	expect 0 "$fp: the office verifies" as alice -R "$OFFICE" audit verify --objects
	expect 0 "$fp: sync again" on -R "$T/bob" sync
	check "$fp: office and laptop agree" test "$(head_of "$OFFICE")" = "$(head_of "$T/bob")"
	expect 0 "$fp: the office has the file" as alice -R "$OFFICE" get "M-1/work/fp$n.txt"
	expect 0 "$fp: the laptop verifies" as bob -R "$T/bob" audit verify
done
check "no quarantine of a killed session left after the next one" test -z "$(ls "$OFFICE/tmp" | grep incoming || true)"

# ---- the office's disk full during a push ----
mkdir -p "$T/small"
mount -t tmpfs -o size=24m tmpfs "$T/small"
MOUNTS+=("$T/small")
as alice -R "$T/small/office" init --admin alice >/dev/null 2>&1
as alice -R "$T/small/office" user add bob --role technician --pubkey "$(as bob identity show)" >/dev/null
as alice -R "$T/small/office" mission create M-1 --member bob >/dev/null
sshd_client bobs >/dev/null
sshd_authorize bobs "$EVAULT_BIN serve -R $T/small/office"
SMALL_URL="ssh://root@127.0.0.1:$SSHD_PORT$T/small/office"
on2() { EVAULT_SSH=$T/sshd/ssh-bobs as bob "$@"; }
expect 0 "bob clones the small office" on2 clone --device bob-laptop2 "$SMALL_URL" "$T/bob2"
avail=$(df --output=avail -B1 "$T/small" | tail -1)
head -c $((avail - 3000000)) /dev/zero >"$T/small/filler" 2>/dev/null
mkdir -p "$T/big2"
for i in 1 2 3 4 5 6; do head -c 1000000 /dev/urandom >"$T/big2/g$i.bin"; done
expect 0 "6 MB on the replica" as bob -R "$T/bob2" import M-1 "$T/big2" --to work
small_head=$(head_of "$T/small/office")
expect_error 10 "a push to a full office fails with exit 10" on2 -R "$T/bob2" sync
check "the message says the office's disk is full" grep -qi 'space' "$T/err"
check "the small office's history did not move" test "$(head_of "$T/small/office")" = "$small_head"
rm -f "$T/small/filler"
expect 0 "the small office verifies" as alice -R "$T/small/office" audit verify --objects
expect 0 "with room again, sync" on2 -R "$T/bob2" sync
expect 0 "the small office has the files" as alice -R "$T/small/office" get M-1/work/g6.bin
check "their bytes" cmp -s "$T/out" "$T/big2/g6.bin"
expect 0 "and verifies" as alice -R "$T/small/office" audit verify --objects
sshd_stop
check "no sanitizer report from any process, the office's included" san_clean
umount "$T/small"
finish
