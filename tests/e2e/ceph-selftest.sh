#!/usr/bin/env bash
# A check of tests/e2e/ceph.sh itself, not one of evault's tests (run.sh
# runs tNNNN-*.sh only): bash tests/e2e/ceph-selftest.sh
#
# A cluster takes writes and reads through `rados` with CEPH_CONF alone,
# binds loopback only and writes nothing outside $T; a frozen OSD makes a
# read fail within the client's timeout, and a thawed one serves again; an
# OSD killed and started again keeps its objects; two clusters at once do
# not see each other; a test's shell killed with SIGKILL leaves no daemon.
#
# As "ceph-selftest.sh child DIR", a test of its own that starts a cluster,
# writes DIR/conf, then waits for DIR/go to write an object named after DIR
# and list the pool into DIR/ls, then for DIR/end (or to be killed).

# No evault binary is needed: lib.sh is only asked for $T and cleanup_test.
export EVAULT_BIN=${EVAULT_BIN:-/bin/true}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ceph.sh"

if [ "${1:-}" = child ]; then
	dir=$2
	ceph_start >"$dir/start.out" 2>&1 || { echo failed >"$dir/conf"; exit 1; }
	echo "$T" >"$dir/T"
	echo "$CEPH_CONF" >"$dir/conf"
	until [ -e "$dir/go" ]; do sleep 0.1; done
	timeout 30 rados -p "$CEPH_POOL" put "$(basename "$dir")" /etc/hostname &&
		timeout 30 rados -p "$CEPH_POOL" ls >"$dir/ls.new" && mv "$dir/ls.new" "$dir/ls"
	until [ -e "$dir/end" ]; do sleep 0.1; done
	exit 0
fi

# The daemons of the cluster whose ceph.conf is CONF.
daemons_of() { # CONF
	pgrep -f -- "--conf $1 " | sort
}

# --- one cluster
var_before=$(find /var/run/ceph /var/log/ceph /var/lib/ceph /etc/ceph -newer "$0" 2>/dev/null | sort)
ceph_start
check "ceph_start starts a cluster" [ -n "${CEPH_CONF:-}" ]
check "CEPH_CONF is the cluster's conf" [ "$CEPH_CONF" = "$T/ceph/ceph.conf" ]
check "CEPH_POOL is the default pool" [ "$CEPH_POOL" = evault-objects ]
head -c 1048576 /dev/urandom >"$T/blob"
expect 0 "rados put with CEPH_CONF only" timeout 30 rados -p "$CEPH_POOL" put blob "$T/blob"
expect 0 "rados get" timeout 30 rados -p "$CEPH_POOL" get blob "$T/blob.back"
check "the object reads back whole" cmp -s "$T/blob" "$T/blob.back"
expect 0 "rados ls" timeout 30 rados -p "$CEPH_POOL" ls
check "the pool holds that object only (the probe is gone)" [ "$(cat "$T/out")" = blob ]
expect 0 "ceph -s" timeout 30 ceph --connect-timeout 10 -s
check "the pool has one replica" [ "$(timeout 30 ceph --connect-timeout 10 osd pool get "$CEPH_POOL" size)" = "size: 1" ]
expect 0 "python3-rados reads it with CEPH_CONF, rados_conf_read_file(NULL)" /usr/bin/python3 -I -c '
import rados, sys
c = rados.Rados()
c.conf_read_file()
c.connect(timeout=10)
io = c.open_ioctx(sys.argv[1])
assert len(io.read("blob", 2 << 20)) == 1 << 20
c.shutdown()' "$CEPH_POOL"
pids=$(daemons_of "$CEPH_CONF")
check "three daemons run" [ "$(echo "$pids" | wc -l)" -eq 3 ]
listen=$(ss -Htlnp | grep -E "pid=($(echo "$pids" | paste -sd'|'))," | awk '{print $4}')
echo "   listening: $(echo "$listen" | paste -sd' ')"
check "the daemons listen" [ -n "$listen" ]
check "on 127.0.0.1 only" [ -z "$(echo "$listen" | grep -v '^127\.0\.0\.1:')" ]
check "the monitor on CEPH_MON_PORT" grep -qx "127.0.0.1:$CEPH_MON_PORT" <<<"$listen"
var_after=$(find /var/run/ceph /var/log/ceph /var/lib/ceph /etc/ceph -newer "$0" 2>/dev/null | sort)
check "nothing written under /var or /etc" [ "$var_before" = "$var_after" ]
check "admin sockets under \$T/ceph/run" [ -S "$T/ceph/run/ceph-osd.0.asok" ]
check "the block file is sparse" [ "$(du -k "$T/ceph/block" | cut -f1)" -lt 1048576 ]

# --- a frozen OSD
pid=$(ceph_osd_pid)
ceph_osd_stop
t0=$SECONDS
expect 1 "rados get fails while the OSD is frozen" timeout 60 rados -p "$CEPH_POOL" get blob "$T/blob.back2"
took=$((SECONDS - t0))
echo "   (failed after $took s: $(head -c 200 "$T/err"))"
check "within the client's op timeout (10 s) and a little" [ "$took" -le 15 ]
ceph_osd_cont
expect 0 "rados get once the OSD is thawed" timeout 30 rados -p "$CEPH_POOL" get blob "$T/blob.back2"
check "the same OSD" [ "$(ceph_osd_pid)" = "$pid" ]

# --- an OSD killed and started again
ceph_osd_kill
check "ceph_osd_kill: the OSD is gone" [ ! -e "/proc/$pid" ]
check "ceph_osd_pid prints nothing then" [ -z "$(ceph_osd_pid)" ]
t0=$EPOCHREALTIME
expect 0 "ceph_osd_restart" ceph_osd_restart
_ceph_took "   ceph_osd_restart" "$t0"
check "a new OSD" [ "$(ceph_osd_pid)" != "$pid" ]
expect 0 "the object survives the kill" timeout 30 rados -p "$CEPH_POOL" get blob "$T/blob.back3"
check "whole" cmp -s "$T/blob" "$T/blob.back3"
expect 0 "writes again" timeout 30 rados -p "$CEPH_POOL" put blob2 "$T/blob"

# --- stop (the OSD frozen: it ends all the same)
pids=$(daemons_of "$CEPH_CONF")
ceph_osd_stop
t0=$EPOCHREALTIME
t0s=$SECONDS
ceph_stop
_ceph_took "   ceph_stop" "$t0"
left=
for p in $pids; do _ceph_alive "$p" && left+=" $p"; done
check "ceph_stop ends every daemon" [ -z "$left" ]
check "in 5 s at most" [ "$SECONDS" -le "$((t0s + 5))" ]
check "ceph_stop removes the block file" [ ! -e "$T/ceph/block" ]
check "and keeps the logs" [ -s "$T/ceph/log/osd.0.log" ]
ceph_stop
check "ceph_stop twice" true
expect 1 "a client fails without a monitor, in bounded time" timeout 40 rados -p "$CEPH_POOL" ls

# --- two clusters at once, then a test killed with SIGKILL
mkdir -p "$T/a" "$T/b"
t0=$EPOCHREALTIME
bash "$0" child "$T/a" &
ca=$!
bash "$0" child "$T/b" &
cb=$!
eventually 90 eval '[ -s "$T/a/conf" ] && [ -s "$T/b/conf" ]'
_ceph_took "   two ceph_start at once" "$t0"
conf_a=$(cat "$T/a/conf")
conf_b=$(cat "$T/b/conf")
check "both start" eval '[ "$conf_a" != failed ] && [ "$conf_b" != failed ]'
cat "$T/a/start.out" "$T/b/start.out" | sed 's/^/   /'
touch "$T/a/go" "$T/b/go"
eventually 60 eval '[ -e "$T/a/ls" ] && [ -e "$T/b/ls" ]'
check "each cluster sees its own object only (a)" [ "$(cat "$T/a/ls")" = a ]
check "each cluster sees its own object only (b)" [ "$(cat "$T/b/ls")" = b ]
check "distinct monitors" [ "$(grep mon_host "$conf_a")" != "$(grep mon_host "$conf_b")" ]
pids_a=$(daemons_of "$conf_a")
pids_b=$(daemons_of "$conf_b")
check "three daemons each" eval '[ "$(echo "$pids_a" | wc -l)" -eq 3 ] && [ "$(echo "$pids_b" | wc -l)" -eq 3 ]'
# a ends as a test does; b is killed.
touch "$T/a/end"
wait "$ca"
left=
for p in $pids_a; do _ceph_alive "$p" && left+=" $p"; done
check "a test that ends leaves no daemon" [ -z "$left" ]
check "and no directory" [ ! -e "$(cat "$T/a/T")" ]
{ kill -KILL "$cb"; wait "$cb"; } 2>/dev/null
t0=$EPOCHREALTIME
eventually 20 eval '[ -z "$(daemons_of "$conf_b")" ]'
_ceph_took "   daemons gone after SIGKILL" "$t0"
# (Zombies until whatever adopted them reaps them: not running.)
left=
for p in $pids_b; do _ceph_alive "$p" && left+=" $p"; done
check "a test killed with SIGKILL leaves no daemon" [ -z "$left" ]
rm -rf "$(cat "$T/b/T")"

finish
