#!/usr/bin/env bash
# A vault's objects in a real Ceph pool (a single-node cluster started by
# tests/e2e/ceph.sh): init, bad settings, an object tampered with in the
# pool with Ceph's own `rados` tool, the OSD frozen and killed while a put
# and a mount write, moving a vault's objects there and back with
# interruptions at every step, and the office's `evault serve` on top of it.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/sshd.sh"
. "$E2E_DIR/ceph.sh"
if ! ceph_start; then
	ko "a single-node Ceph starts"
	finish
	exit 1
fi
POOL=$CEPH_POOL
# sanitizer reports of every process, serve and the mount included
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:log_path=$T/san" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:log_path=$T/san"
head_of() { git -C "$1/audit.git" rev-parse refs/heads/main; }
# The exit code of background process PID once it ends, waiting 120 s at
# most; 124 (after killing it) when it has not ended by then: a hang.
bounded_wait() {
	timeout 120 tail --pid="$1" -f /dev/null
	if kill -0 "$1" 2>/dev/null; then
		kill -KILL "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		return 124
	fi
	wait "$1"
}

# ---- init ----
as_init() { # REPO ARGS...: alice's init of a new vault
	local repo=$1; shift
	"$EVAULT_BIN" -R "$repo" --identity "$T/alice.id" --passphrase-file "$T/alice.pass" init --admin alice "$@"
}
printf 'passphrase of alice\n' >"$T/alice.pass"
expect_error 2 "init with a malformed objects location" as_init "$T/bad1" --objects 'rados:a b'
expect_error 2 "... or an unknown kind of store" as_init "$T/bad1" --objects s3:bucket
check "... makes no repository" test ! -e "$T/bad1/evault.conf"
expect_error 1 "init naming a pool that does not exist" as_init "$T/bad2" --objects rados:no-such-pool
check "... says so" grep -q 'the Ceph pool no-such-pool does not exist' "$T/err"
check "... and makes nothing" test ! -e "$T/bad2/evault.conf" -a ! -e "$T/bad2/audit.git"
INIT_STORE=(--objects "rados:$POOL" --rados-conf "$CEPH_CONF")
standard_vault
V=$T/vault
check "evault.conf names the pool and the vault's own namespace" \
	grep -qx "objects rados:$POOL/$(sed -n 's/^vault-id //p' "$V/evault.conf")" "$V/evault.conf"
check "... and the cluster's ceph.conf" grep -qx "rados-conf $CEPH_CONF" "$V/evault.conf"
expect 0 "objects where" "$EVAULT_BIN" objects where
check "... names it" test "$(cat "$T/out")" = "$(store_loc "$V")"
check "the VAULT record in the history does not (a replica keeps its own objects)" \
	test -z "$(git -C "$V/audit.git" show main:VAULT | grep -e objects -e rados)"
NS=$(store_loc "$V")
NS=${NS#*/}
R() { timeout 60 rados -p "$POOL" -N "$NS" "$@"; }

head -c 3000000 /dev/urandom >"$T/photo.bin"
printf 'rapport\n' >"$T/rapport.txt"
expect 0 "put into the pool" as bob put "$T/photo.bin" M-1/work/scan.bin
expect 0 "a second file" as bob put "$T/rapport.txt" M-1/dossier/rapport.txt
check "its objects are in the pool, under their names" test "$(R ls | wc -l)" -ge 4
check "the local objects directory stays empty" test -z "$(find "$V/objects" -type f)"
check "every object in the pool hashes to its name (rados get + sha256sum)" \
	eval 'for o in $(R ls); do R get "$o" "$T/o" && [ "$(sha256sum <"$T/o" | cut -c1-64)" = "$o" ] || exit 1; done'
expect_error 7 "a second vault cannot take a namespace that holds objects" \
	as_init "$T/dup" --objects "$(store_loc "$V")" --rados-conf "$CEPH_CONF"
check "... and makes nothing" test ! -e "$T/dup/evault.conf"
expect 0 "get from the pool" as bob get M-1/work/scan.bin "$T/got"
check "the same bytes" cmp -s "$T/photo.bin" "$T/got"
expect 0 "fsck --full" "$EVAULT_BIN" fsck --full
expect 0 "audit verify --objects" "$EVAULT_BIN" audit verify --objects
# evault log needs no object: it works while the cluster is away (below)

# ---- where librados is absent ----
# librados is loaded when a vault in a pool is opened: in a mount namespace
# where the library is an empty file, a local vault works and a pool's is
# refused, naming what is missing
lib=$(readlink -f "$(ldconfig -p | awk '$1 == "librados.so.2" { print $NF; exit }')")
no_librados() { unshare -m sh -c 'mount --bind /dev/null "$0" && exec "$@"' "$lib" "$@"; }
expect_error 11 "without librados: a vault in a pool is refused, exit 11" no_librados "$EVAULT_BIN" -R "$V" log
check "... saying librados cannot be loaded" grep -q 'librados cannot be loaded (Debian: librados2)' "$T/err"
"$EVAULT_BIN" -R "$T/plain" --identity "$T/alice.id" --passphrase-file "$T/alice.pass" init --admin alice >/dev/null 2>&1
expect 0 "... and a local vault needs none" no_librados "$EVAULT_BIN" -R "$T/plain" fsck --full
# an evault built without the backend (cmake -DEVAULT_RADOS=OFF; scripts/test.sh
# builds one and names it here)
if [ -n "${EVAULT_E2E_NORADOS_BIN:-}" ]; then
	expect_error 11 "built without the rados backend: a vault in a pool is refused, exit 11" \
		"$EVAULT_E2E_NORADOS_BIN" -R "$V" log
	check "... saying so" grep -q 'without that backend' "$T/err"
	expect 0 "... and that build works on a local vault" "$EVAULT_E2E_NORADOS_BIN" -R "$T/plain" fsck --full
elif [ -n "${CI:-}" ]; then
	ko "CI names an evault built without the rados backend (EVAULT_E2E_NORADOS_BIN)"
fi

# ---- tamper ----
obj=$(git -C "$V/audit.git" show "main:$(git -C "$V/audit.git" ls-tree -r --name-only main missions/M-1/work | grep '\.objs$' | head -1)" | head -1)
R get "$obj" "$T/orig"
cp "$T/orig" "$T/evil"
printf '\x01' | dd of="$T/evil" bs=1 seek=200 conv=notrunc 2>/dev/null
R put "$obj" "$T/evil"
expect_error 5 "an object changed in the pool with rados: get fails, exit 5" as bob get M-1/work/scan.bin "$T/got2"
check "... naming it" grep -q "object ${obj:0:16}" "$T/err"
check "... and writes no wrong bytes" test ! -s "$T/got2"
expect 1 "fsck --full reports it" "$EVAULT_BIN" fsck --full
check "... by name" grep -q "^corrupt object $obj" "$T/out"
R rm "$obj"
expect 1 "an object removed from the pool: fsck says missing" "$EVAULT_BIN" fsck
check "... by name" grep -q "^missing object $obj" "$T/out"
expect_error 5 "... and get fails: damage, exit 5" as bob get M-1/work/scan.bin "$T/got2"
R put "$obj" "$T/orig"
expect 0 "put back: fsck --full clean again" "$EVAULT_BIN" fsck --full
# a damaged copy of the wrong size under an object's name: a put of the same bytes replaces it
R put "$obj" /etc/hostname
expect_error 5 "a put meeting a damaged copy in the pool says so" as bob put -f "$T/photo.bin" M-1/work/scan.bin
expect 0 "... removed it: the same put again stores it" as bob put -f "$T/photo.bin" M-1/work/scan.bin
expect 0 "... and fsck --full is clean" "$EVAULT_BIN" fsck --full

# ---- the OSD frozen, then killed ----
printf 'rados-timeout 5\n' >>"$V/evault.conf"
head -c $((40 * 1024 * 1024)) /dev/urandom >"$T/big.bin"
before=$(head_of "$V")
ceph_osd_stop
expect 0 "log while the OSD is frozen: the history needs no object" as bob log -n 1
expect_error 1 "a put while the OSD is frozen: a clear error (rados-timeout 5)" timeout 120 "$EVAULT_BIN" --identity "$T/bob.id" --passphrase-file "$T/bob.pass" put "$T/big.bin" M-1/work/frozen.bin
check "... that names the timeout" grep -q 'did not answer within 5 s' "$T/err"
check "... and records nothing" test "$(head_of "$V")" = "$before"
expect_error 1 "a get while the OSD is frozen: a clear error too" timeout 120 "$EVAULT_BIN" --identity "$T/bob.id" --passphrase-file "$T/bob.pass" get M-1/dossier/rapport.txt
ceph_osd_cont
expect_error 3 "the OSD back: the file of the failed put is not there" as bob get M-1/work/frozen.bin
expect 0 "... everything verifies" "$EVAULT_BIN" audit verify --objects
expect 0 "... fsck --full clean" "$EVAULT_BIN" fsck --full
"$EVAULT_BIN" --identity "$T/bob.id" --passphrase-file "$T/bob.pass" put "$T/big.bin" M-1/work/killed.bin >"$T/kput.out" 2>"$T/kput.err" &
kpid=$!
sleep 0.5
ceph_osd_kill
bounded_wait "$kpid"
krc=$?
if [ "$krc" -eq 0 ]; then
	ok "a put while the OSD is killed: it had finished before the kill"
else
	check "a put while the OSD is killed: exit 1 with one clear line" test "$krc" -eq 1 -a "$(wc -l <"$T/kput.err")" -eq 1
	check "... naming the cluster's silence" grep -q 'did not answer within 5 s' "$T/kput.err"
fi
ceph_osd_restart
if [ "$krc" -eq 0 ]; then
	expect 0 "the OSD restarted: the file put before the kill reads back" as bob get M-1/work/killed.bin "$T/k.out"
	check "... whole" cmp -s "$T/big.bin" "$T/k.out"
else
	expect_error 3 "the OSD restarted: the failed put's file is not there" as bob get M-1/work/killed.bin
fi
expect 0 "... everything verifies" "$EVAULT_BIN" audit verify --objects
expect 0 "... fsck --full clean" "$EVAULT_BIN" fsck --full
expect 0 "... and a put works again" as bob put -f "$T/big.bin" M-1/work/killed.bin

# the mount writing while the OSD is frozen
M=$T/mnt
expect 0 "mount" mnt bob "$M"
cp "$T/photo.bin" "$M/M-1/work/before.bin" && sync "$M/M-1/work/before.bin" # fsync: recorded now
dd if="$T/big.bin" of="$M/M-1/work/during.bin" bs=1M status=none 2>"$T/dd.err" &
dpid=$!
sleep 0.3
ceph_osd_stop
bounded_wait "$dpid"
drc=$?
sync_rc=0
timeout 120 sync "$M/M-1/work/during.bin" 2>/dev/null || sync_rc=$?
ceph_osd_cont
check "the mount answered while the OSD was frozen (no hang)" test "$drc" -ne 124 -a "$sync_rc" -ne 124
as bob umount "$M" >/dev/null 2>&1
if [ "$drc" -eq 0 ] && [ "$sync_rc" -eq 0 ] && as bob get M-1/work/during.bin "$T/d.out" 2>/dev/null; then
	check "the file written during the freeze: whole if it is there" cmp -s "$T/big.bin" "$T/d.out"
else
	expect_error 3 "the file written during the freeze is not there, not half there" as bob get M-1/work/during.bin
fi
expect 0 "the file written before reads back" as bob get M-1/work/before.bin "$T/b.out"
check "... whole" cmp -s "$T/photo.bin" "$T/b.out"
expect 0 "after the freeze, everything verifies" "$EVAULT_BIN" audit verify --objects
expect 0 "... fsck --full clean" "$EVAULT_BIN" fsck --full
sed -i '/^rados-timeout /d' "$V/evault.conf"

# ---- a full pool: its quota reached ----
C() { timeout -k 5 30 ceph "$@"; }
pool_flags() { C osd dump 2>/dev/null | grep "^pool .* '$1' " | grep -o 'flags [a-z_,]*'; }
C osd pool create quota 8 8 replicated >/dev/null 2>&1 && C osd pool application enable quota rados >/dev/null 2>&1 &&
	C osd pool set-quota quota max_objects 3 >/dev/null 2>&1 || ko "a pool with a quota of 3 objects"
Q=$T/qv
as_init "$Q" --objects rados:quota --rados-conf "$CEPH_CONF" >/dev/null 2>&1 || ko "init of a vault in that pool"
qv() { as alice -R "$Q" "$@"; }
qv mission create M-Q >/dev/null
head -c 3000000 /dev/urandom >"$T/q1.bin"
expect 0 "a put that reaches the pool's quota" qv put "$T/q1.bin" M-Q/work/q1.bin
for i in $(seq 1 120); do [[ "$(pool_flags quota)" == *full_quota* ]] && break; sleep 0.25; done
check "... and the cluster marks the pool full" eval '[[ "$(pool_flags quota)" == *full_quota* ]]'
qhead=$(head_of "$Q")
head -c 3000000 /dev/urandom >"$T/q2.bin"
expect_error 10 "a put into the full pool: exit 10 at once, as on a full disk" timeout 60 "$EVAULT_BIN" -R "$Q" --identity "$T/alice.id" --passphrase-file "$T/alice.pass" put "$T/q2.bin" M-Q/work/q2.bin
check "... saying the pool is full" grep -q 'the pool of rados:quota/.* is full' "$T/err"
check "... and records nothing" test "$(head_of "$Q")" = "$qhead"
C osd pool set-quota quota max_objects 0 >/dev/null 2>&1
for i in $(seq 1 120); do [[ "$(pool_flags quota)" != *full* ]] && break; sleep 0.25; done
expect 0 "the quota lifted: the same put works" qv put "$T/q2.bin" M-Q/work/q2.bin
expect 0 "... both files read back" eval 'qv get M-Q/work/q1.bin | cmp -s - "$T/q1.bin" && qv get M-Q/work/q2.bin | cmp -s - "$T/q2.bin"'
expect 0 "... fsck --full clean" "$EVAULT_BIN" -R "$Q" fsck --full

# ---- moving a vault's objects: local -> pool -> local ----
L=$T/lv
as_init "$L" >/dev/null 2>&1 || ko "init of a local vault"
lv() { as alice -R "$L" "$@"; }
lv mission create M-7 --client "Client Seven" >/dev/null
for i in $(seq 1 40); do head -c $((RANDOM * 8 + 5000)) /dev/urandom >"$T/m$i.bin"; done
lv put "$T"/m*.bin M-7/dossier/ >/dev/null
expect 0 "a local vault with 40 files" lv fsck
nobj=$(find "$L/objects" -type f | wc -l)
sha_all() { for i in $(seq 1 40); do lv get "M-7/dossier/m$i.bin" || return 1; done | sha256sum; }
want=$(cat "$T"/m{1..40}.bin | sha256sum)
expect_error 6 "migrate: admins only" as bob -R "$L" objects migrate --to "rados:$POOL" --rados-conf "$CEPH_CONF"
expect_error 2 "migrate: a bad location" lv objects migrate --to rados:
expect_error 7 "migrate to where the objects are already" lv objects migrate --to local
# a damaged object: proven nowhere, nothing switched
victim=$(find "$L/objects" -type f | head -1)
cp "$victim" "$T/victim.keep"
chmod u+w "$victim"; printf '\x01' | dd of="$victim" bs=1 seek=40 conv=notrunc 2>/dev/null
expect_error 5 "migrate with a damaged object: refused" lv objects migrate --to "rados:$POOL" --rados-conf "$CEPH_CONF"
check "... naming it" grep -q "^object $(basename "$victim") is damaged in the current store" "$T/out"
check "... the vault stays local" test "$(store_loc "$L")" = local
check "... and the history has no switch" test -z "$(git -C "$L/audit.git" log --format=%B main | grep '^Evault-Action: objects.migrate')"
cp "$T/victim.keep" "$victim"
mnt alice "$T/lmnt" -R "$L" >/dev/null 2>&1 || ko "mount of the local vault"
expect_error 9 "migrate while the vault is mounted" lv objects migrate --to "rados:$POOL" --rados-conf "$CEPH_CONF"
check "... the vault stays local" test "$(store_loc "$L")" = local
as alice umount "$T/lmnt" >/dev/null 2>&1
# what those runs copied, removed from the pool: the runs below start afresh
/usr/bin/python3 "$E2E_DIR/tools/rados_store.py" "$POOL" "$(sed -n 's/^vault-id //p' "$L/evault.conf")" purge
lhead=$(head_of "$L")
# the first run copies at least 5 and at most 5 + one per copying thread:
# 15 more are always left for the second
for point in migrate-copied:5 migrate-copied:15 migrate-before-switch migrate-after-event; do
	EVAULT_FAILPOINT=$point lv objects migrate --to "rados:$POOL" --rados-conf "$CEPH_CONF" >/dev/null 2>&1
	check "migrate killed at $point: the vault is still local" test "$(store_loc "$L")" = local
	check "... reads every file" test "$(sha_all)" = "$want"
	expect 0 "... verifies" "$EVAULT_BIN" -R "$L" audit verify --objects
done
check "killed after the event: still local, the event recorded" test "$(store_loc "$L")" = local -a "$(git -C "$L/audit.git" log --format=%B main | grep -c '^Evault-Action: objects.migrate')" -eq 1
EVAULT_FAILPOINT=migrate-removing:2 lv objects migrate --to "rados:$POOL" --rados-conf "$CEPH_CONF" >/dev/null 2>&1
check "migrate again, killed while removing the local copies: the vault is in the pool" test "$(store_loc "$L" | cut -d/ -f1)" = "rados:$POOL"
# every object whole where the vault now reads them, and a few files
# decrypted (every file is read back just below)
expect 0 "... every object intact there (fsck --full)" "$EVAULT_BIN" -R "$L" fsck --full
check "... files read back" eval 'for i in 1 20 40; do lv get "M-7/dossier/m$i.bin" | cmp -s - "$T/m$i.bin" || exit 1; done'
check "... some local copies are left" test -n "$(find "$L/objects" -type f)"
expect 0 "... migrate again removes them" lv objects migrate --to "rados:$POOL" --rados-conf "$CEPH_CONF"
check "... says so" grep -q "^removed [0-9]* leftover copies from local" "$T/out"
check "... the local copies are gone" test -z "$(find "$L/objects" -type f)"
check "every file reads back from the pool" test "$(sha_all)" = "$want"
expect 0 "fsck --full on the pool" "$EVAULT_BIN" -R "$L" fsck --full
check "... all $nobj objects, none missing" grep -q "^OK: $nobj objects stored" "$T/out"
expect 0 "audit verify --objects" "$EVAULT_BIN" -R "$L" audit verify --objects
check "the switch is signed events that stock git verifies" git_verify_all "$L"
check "... two objects.migrate (the interrupted run's and this one's)" \
	test "$(git -C "$L/audit.git" log --format=%B main | grep -c "^Evault-Objects: rados:$POOL/")" -eq 2
EVAULT_FAILPOINT=migrate-after-switch lv objects migrate --to local >/dev/null 2>&1
check "back to local, killed after the switch: local, every file reads" test "$(store_loc "$L")" = local -a "$(sha_all)" = "$want"
expect 0 "... fsck --full clean" "$EVAULT_BIN" -R "$L" fsck --full
expect_error 7 "... and the move is done: migrate --to local again says so" lv objects migrate --to local
expect 0 "to the pool again, keeping the local copies" lv objects migrate --to "rados:$POOL" --rados-conf "$CEPH_CONF" --keep-source
check "... says what it proved" grep -q "^moved: $nobj objects .* proven in rados:$POOL/" "$T/out"
check "... the local copies stay" test "$(find "$L/objects" -type f | wc -l)" -eq "$nobj"
expect 0 "... and back" lv objects migrate --to local
check "... every file reads" test "$(sha_all)" = "$want"
expect 0 "... verify" "$EVAULT_BIN" -R "$L" audit verify --objects

# ---- the office's serve with its objects in the pool ----
sshd_start
for who in alice bob; do
	printf -v "SSH_$who" '%s' "$(sshd_client "$who")"
	sshd_authorize "$who" "$EVAULT_BIN serve -R $V"
done
URL="ssh://root@127.0.0.1:$SSHD_PORT$V"
on() { local who=$1; shift; local v="SSH_$who"; EVAULT_SSH=${!v} as "$who" "$@"; }
expect 0 "bob clones the office whose objects are in the pool" on bob clone --device bob-laptop "$URL" "$T/bob"
check "the replica keeps its objects on the laptop" test "$(store_loc "$T/bob")" = local
expect 0 "... and reads a file: fetched from the pool through serve" on bob -R "$T/bob" get M-1/dossier/rapport.txt "$T/r.out"
check "... the same bytes" cmp -s "$T/rapport.txt" "$T/r.out"
head -c 2000000 /dev/urandom >"$T/field.bin"
as bob -R "$T/bob" put "$T/field.bin" M-1/work/field.bin >/dev/null
expect 0 "a file put on the laptop syncs up" on bob -R "$T/bob" sync
expect 0 "... and reads back at the office, from the pool" as bob get M-1/work/field.bin "$T/f.out"
check "... the same bytes" cmp -s "$T/field.bin" "$T/f.out"
check "the local objects directory of the office is still empty" test -z "$(find "$V/objects" -type f)"
expect 0 "the office verifies" "$EVAULT_BIN" audit verify --objects
expect 0 "... fsck --full" "$EVAULT_BIN" fsck --full
sshd_stop
ceph_stop
san_clean
finish
