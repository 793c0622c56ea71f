# A real single-node Ceph cluster on loopback for evault's end-to-end
# tests: one monitor, one manager and one OSD (BlueStore on a sparse file),
# Debian's ceph packages (scripts/deps.sh), no systemd, nothing of
# /etc/ceph or /var/lib/ceph. Sourced after lib.sh (it uses $T and wraps
# cleanup_test):
#
#	ceph_start [POOL]          starts the cluster, creates POOL (default
#	                           evault-objects, one replica) and waits until
#	                           it takes writes; exports CEPH_CONF, CEPH_POOL
#	rados -p "$CEPH_POOL" ls   any client: CEPH_CONF is all it needs
#	ceph_osd_pid               prints the OSD's pid
#	ceph_osd_stop              the OSD frozen (SIGSTOP): requests hang
#	ceph_osd_cont              and thawed (SIGCONT)
#	ceph_osd_kill              the OSD killed (SIGKILL), waits until gone
#	ceph_osd_restart           the OSD again on the same store, waits until
#	                           POOL takes writes again
#	ceph_stop                  OSD, then manager, then monitor; also run at
#	                           exit by cleanup_test
#
# Everything lives under $T/ceph: ceph.conf, the keyring (every entity's
# key), the monitor's, manager's and OSD's data, admin sockets and pid
# files (run/), daemons' logs (log/). The monitor listens on a random port
# of 127.0.0.1 (CEPH_MON_PORT), the manager and the OSD on ports of Ceph's
# own range (6800-7300) that they find free, so that several tests run a
# cluster each at the same time. CEPH_CONF names the monitor, the keyring
# (client.admin's key) and the client's timeouts: with it exported, the
# `ceph` and `rados` commands and a librados client calling
# rados_conf_read_file(cluster, NULL) reach this cluster and no other.
#
# Call ceph_start, ceph_osd_kill, ceph_osd_restart and ceph_stop from the
# test's own shell, not in $(...): the daemons are children of that shell
# and their pids are kept in its variables. Every `ceph` and `rados` command
# run here is bounded in time: without a monitor they would wait for ever.
#
# Ceph missing is a failure, not a skip: ceph_start says so and returns 1.

CEPH_DIR=$T/ceph
CEPH_POOL=
CEPH_MON_PORT=
_CEPH_MON_PID=
_CEPH_MGR_PID=
_CEPH_OSD_PID=
_CEPH_WATCH= # the watchdog that stops the daemons if the test is killed

# Alive and not a zombie (as in sshd.sh).
_ceph_alive() {
	local s
	[ -n "$1" ] && read -r s 2>/dev/null <"/proc/$1/stat" || return 1
	s=${s##*) }
	[ "${s%% *}" != Z ]
}

# PID is a daemon of this cluster: its command line names this cluster's
# ceph.conf, so that a pid file left behind never gets another process
# killed once its pid has been reused.
_ceph_ours() { # PID
	local cmd
	_ceph_alive "$1" || return 1
	cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline") || return 1
	[[ "$cmd" == *" --conf $CEPH_DIR/ceph.conf "* ]]
}

# Ends daemon PID (SIGTERM, 5 s, then SIGKILL) and waits until it is gone.
# SIGCONT after SIGTERM: a frozen OSD (ceph_osd_stop) ends too.
_ceph_kill() { # PID
	local pid=$1 i
	_ceph_ours "$pid" || { wait "$pid" 2>/dev/null; return 0; }
	kill -TERM "$pid" 2>/dev/null
	kill -CONT "$pid" 2>/dev/null
	for ((i = 0; i < 500; i++)); do
		_ceph_alive "$pid" || break
		sleep 0.01
	done
	_ceph_alive "$pid" && kill -KILL "$pid" 2>/dev/null
	for ((i = 0; i < 500; i++)); do
		_ceph_alive "$pid" || break
		sleep 0.01
	done
	# Reaps it when it is this shell's child (not so in the watchdog).
	wait "$pid" 2>/dev/null
	return 0
}

# The rados command, bounded: without a monitor it would wait for ever.
_rados() { timeout -k 5 60 rados --conf "$CEPH_DIR/ceph.conf" "$@"; }

# The configuration of every daemon and client of this cluster.
_ceph_config() { # PORT FSID
	local d=$CEPH_DIR text
	IFS= read -r -d '' text <<-EOF || :
		[global]
		fsid = $2
		# msgr2 only, on loopback: the monitor's address, and the one the
		# manager and the OSD bind (on ports of ms_bind_port_min..max, 6800
		# to 7300, the first free one: several clusters share the range).
		mon_host = [v2:127.0.0.1:$1]
		public_addr = 127.0.0.1
		cluster_addr = 127.0.0.1
		ms_bind_msgr1 = false
		ms_bind_ipv6 = false
		# A taken port fails at once (one attempt) instead of being tried
		# again 3 times 5 s apart: ceph_start draws another port.
		ms_bind_retry_count = 1
		ms_bind_retry_delay = 1
		# Real cephx, with every entity's key in one keyring.
		auth_cluster_required = cephx
		auth_service_required = cephx
		auth_client_required = cephx
		keyring = $d/keyring
		# Everything the daemons write is in this directory, nothing in
		# /var/lib/ceph, /var/log/ceph or /var/run/ceph. Admin sockets are
		# run/CLUSTER-NAME.asok (a socket's path holds 107 bytes at most).
		run_dir = $d/run
		pid_file = $d/run/\$name.pid
		crash_dir = $d/crash
		mon_data = $d/mon
		mgr_data = $d/mgr
		osd_data = $d/osd
		log_to_syslog = false
		err_to_syslog = false
		log_to_stderr = false
		err_to_stderr = false
		mon_cluster_log_to_file = false
		mon_cluster_log_to_syslog = false
		# One OSD: pools of one replica, few placement groups, all on
		# that OSD (chooseleaf over OSDs, not hosts), no autoscaler moving
		# placement groups while a test runs.
		mon_allow_pool_size_one = true
		mon_allow_pool_delete = true
		osd_pool_default_size = 1
		osd_pool_default_min_size = 1
		osd_pool_default_pg_num = 8
		osd_pool_default_pgp_num = 8
		osd_pool_default_pg_autoscale_mode = off
		osd_crush_chooseleaf_type = 0
		# Warnings of a test cluster, which are expected here.
		mon_warn_on_pool_no_redundancy = false
		mon_warn_on_insecure_global_id_reclaim = false
		mon_warn_on_insecure_global_id_reclaim_allowed = false
		auth_allow_insecure_global_id_reclaim = false

		[mon]
		log_file = $d/log/\$name.log
		# Commits of the monitor's maps at once, not after 1 s (pool
		# creation, the OSD's boot): a few seconds less at start.
		paxos_propose_interval = 0.01
		paxos_min_wait = 0.01
		# The test's disk filling up must not stop the monitor (it shuts
		# down below mon_data_avail_crit, 5 % free by default).
		mon_data_avail_warn = 1
		mon_data_avail_crit = 0
		# Small caches: two tests may run a cluster each on 2 cores.
		mon_memory_target = 268435456
		rocksdb_cache_size = 33554432
		# The manager's modules: none on top of those always on...
		mgr_initial_modules =

		[mgr]
		log_file = $d/log/\$name.log
		# ...and of the others, none loaded (each costs the manager's
		# start CPU): the always-on ones must be, or the cluster's health
		# is an error.
		mgr_disabled_modules = alerts diskprediction_local influx insights iostat localpool mirroring nfs osd_perf_query osd_support prometheus restful selftest snap_schedule stats telegraf test_orchestrator zabbix
		# Statistics (ceph -s, ceph df) fresh within a second or two.
		mgr_tick_period = 1
		mgr_stats_period = 1

		[osd]
		log_file = $d/log/\$name.log
		# BlueStore on a sparse file of 10 GiB made by ceph_start (the
		# store's block is a symbolic link to it), with its metadata
		# (RocksDB, WAL) on the same file.
		osd_objectstore = bluestore
		bluestore_block_path = $d/block
		bluestore_block_create = false
		bluestore_block_db_create = false
		bluestore_block_wal_create = false
		bluestore_fsck_on_mkfs = false
		bluestore_fsck_on_mount = false
		bluestore_fsck_on_umount = false
		bdev_enable_discard = false
		# Small caches, few threads: two tests may run a cluster each on
		# a machine of 2 cores.
		osd_memory_target = 939524096
		bluestore_cache_autotune = false
		bluestore_cache_size = 134217728
		osd_op_num_shards = 1
		osd_op_num_threads_per_shard = 1
		# The store's device is opened and closed several times at start,
		# and each close waits for its I/O thread's poll (250 ms).
		bdev_aio_poll_ms = 20
		# SIGTERM ends the OSD at once (the default of Pacific, said here:
		# ceph_stop relies on it).
		osd_fast_shutdown = true

		[client]
		# A client gives up on a request after 10 s instead of waiting for
		# ever (an OSD frozen by ceph_osd_stop, a monitor gone).
		rados_osd_op_timeout = 10
		rados_mon_op_timeout = 10
		client_mount_timeout = 10
		# No admin socket nor log file per client process.
		admin_socket =
		log_file =
	EOF
	printf '%s' "$text" >"$d/ceph.conf"
}

# The end of a daemon's log, for a failure's message.
_ceph_log_tail() { # NAME
	tail -n 15 "$CEPH_DIR/log/$1.log" "$CEPH_DIR/log/$1.out" 2>/dev/null | head -c 3000
}

# Starts a daemon in the foreground (-f: it does not fork, its pid is $!)
# as this shell's child and prints its pid. Its stderr and stdout go to
# log/NAME.out, what it logs to log/NAME.log. Runs as root (no --setuser:
# it stays the user that started it).
_ceph_launch() { # NAME PROGRAM ARGS...
	local name=$1; shift
	"$@" --conf "$CEPH_DIR/ceph.conf" -f </dev/null >>"$CEPH_DIR/log/$name.out" 2>&1 &
	echo "$!" >"$CEPH_DIR/run/$name.pid"
	_CEPH_LAST=$!
}

# A keyring's entry: NAME, a new random key, the CAPS given (cephx's
# secret is 12 bytes of header, type 1 (AES), creation time 0 and length
# 16, then the 16 bytes of the key, in base64).
_ceph_key() { # NAME CAPS...
	local name=$1 cap key
	key=$({ printf '\1\0\0\0\0\0\0\0\0\0\20\0'; head -c 16 /dev/urandom; } | base64) || return 1
	printf '[%s]\n\tkey = %s\n' "$name" "$key"
	shift
	for cap; do printf '\tcaps %s\n' "$cap"; done
}

# Creates the monitor's store on PORT and starts it; waits until it listens.
# Returns 0 when it does, 1 when the port is taken (try another), 2 on any
# other failure (with a message).
_ceph_mon_launch() { # PORT FSID
	local port=$1 fsid=$2 d=$CEPH_DIR i
	rm -rf "$d/mon" "$d/monmap"
	if ! monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$port]" "$d/monmap" \
		>/dev/null 2>>"$d/log/mon.a.out" ||
		! ceph-mon --conf "$d/ceph.conf" --mkfs -i a --monmap "$d/monmap" --keyring "$d/keyring" \
			</dev/null >>"$d/log/mon.a.out" 2>&1; then
		echo "ceph_start: cannot create the monitor's store: $(_ceph_log_tail mon.a)" >&2
		return 2
	fi
	_ceph_launch mon.a ceph-mon -i a
	_CEPH_MON_PID=$_CEPH_LAST
	for ((i = 0; i < 1000; i++)); do
		if ! _ceph_alive "$_CEPH_MON_PID"; then
			wait "$_CEPH_MON_PID" 2>/dev/null
			_CEPH_MON_PID=
			grep -qs 'Address already in use' "$d/log/mon.a.log" "$d/log/mon.a.out" && return 1
			echo "ceph_start: ceph-mon exited at start: $(_ceph_log_tail mon.a)" >&2
			return 2
		fi
		: 2>/dev/null <>"/dev/tcp/127.0.0.1/$port" && return 0
		sleep 0.01
	done
	echo "ceph_start: ceph-mon does not listen on 127.0.0.1:$port after 10 s: $(_ceph_log_tail mon.a)" >&2
	return 2
}

# The monitor's commands of ceph_start, in one client (the `ceph` command
# is a Python program too, and takes half a second each time): the
# manager's devicehealth module (always on) told not to make a pool of its
# own (an option of the monitor's configuration database, as the manager
# does not read its modules' options from ceph.conf; forced, as the monitor
# knows it once the manager has loaded the module), the OSD's id (0) in the OSD
# map, then the pool, of one replica (the defaults of ceph.conf), tagged
# for RADOS (or the cluster's health warns of a pool without
# application). Prints "ok" once done.
_ceph_mon_commands() { # OSD-UUID
	timeout -k 5 60 /usr/bin/python3 -I -c '
import json, sys, rados
conf, uuid, pool = sys.argv[1:]
cluster = rados.Rados(conffile=conf)
cluster.connect(timeout=20)
for cmd in ({"prefix": "config set", "who": "mgr",
             "name": "mgr/devicehealth/enable_monitoring", "value": "false",
             "force": True},
            {"prefix": "osd new", "uuid": uuid, "id": 0},
            {"prefix": "osd pool create", "pool": pool, "pg_num": 8, "pgp_num": 8,
             "pool_type": "replicated", "size": 1},
            {"prefix": "osd pool application enable", "pool": pool, "app": "rados"}):
	ret, out, err = cluster.mon_command(json.dumps(cmd), b"", timeout=20)
	if ret != 0:
		sys.exit("%s: %s (%d)" % (cmd["prefix"], err, ret))
cluster.shutdown()
print("ok", file=sys.stderr)
' "$CEPH_DIR/ceph.conf" "$1" "$CEPH_POOL"
}

# Starts the OSD on its store and waits (SECONDS at most) until it is up
# and POOL takes a write. Up first, read in its log ("booting -> active"),
# as a client that writes before then would wait for the OSD map that has
# it up until its next tick, 5 s later (objecter_tick_interval).
_ceph_osd_up() { # SECONDS
	local end=$((SECONDS + $1)) log=$CEPH_DIR/log/osd.0.log from=0
	[ -f "$log" ] && from=$(stat -c %s "$log")
	_ceph_launch osd.0 ceph-osd -i 0
	_CEPH_OSD_PID=$_CEPH_LAST
	until tail -c +$((from + 1)) "$log" 2>/dev/null | grep -q 'state: booting -> active'; do
		if ! _ceph_alive "$_CEPH_OSD_PID"; then
			echo "ceph-osd exited at start: $(_ceph_log_tail osd.0)" >&2
			return 1
		fi
		[ "$SECONDS" -ge "$end" ] && { echo "ceph-osd is not up: $(_ceph_log_tail osd.0)" >&2; return 1; }
		sleep 0.02
	done
	until _rados -p "$CEPH_POOL" put evault-e2e-probe /etc/hostname 2>>"$CEPH_DIR/log/probe.out"; do
		[ "$SECONDS" -ge "$end" ] && { echo "no write: $(tail -n 3 "$CEPH_DIR/log/probe.out")" >&2; return 1; }
		sleep 0.1
	done
	_rados -p "$CEPH_POOL" rm evault-e2e-probe 2>>"$CEPH_DIR/log/probe.out"
}

# Stops the daemons if the test's shell goes without running its EXIT trap
# (SIGKILL): they would be orphans nobody would end. It reads the pid
# files, so that it also stops an OSD started again by ceph_osd_restart.
_ceph_watchdog() {
	local test_pid=$$
	(
		trap - EXIT
		while kill -0 "$test_pid" 2>/dev/null; do sleep 1; done
		for n in osd.0 mgr.x mon.a; do
			_ceph_kill "$(cat "$CEPH_DIR/run/$n.pid" 2>/dev/null)"
		done
	) </dev/null >/dev/null 2>&1 &
	_CEPH_WATCH=$!
}

ceph_start() { # [POOL]
	local d=$CEPH_DIR p try port rc=1 fsid uuid mkfs='' t0=$EPOCHREALTIME
	[ -z "$_CEPH_MON_PID" ] || { echo "ceph_start: ceph already runs" >&2; return 1; }
	for p in ceph-mon ceph-mgr ceph-osd monmaptool rados /usr/bin/python3; do
		command -v "$p" >/dev/null ||
			{ echo "ceph_start: $p not found: install Ceph (scripts/deps.sh)" >&2; return 1; }
	done
	CEPH_POOL=${1:-evault-objects}
	CEPH_MON_PORT=
	# A new cluster each time (the logs of one before it are kept).
	rm -rf "$d/mon" "$d/mgr" "$d/osd" "$d/block" "$d/run"
	mkdir -p "$d/run" "$d/log" "$d/crash" "$d/mgr" "$d/osd" || return 1
	# Admin sockets are $d/run/ceph-osd.0.asok and the like, and a socket's
	# path has 107 bytes at most.
	[ "${#d}" -le 80 ] || { echo "ceph_start: $d is too long for admin sockets" >&2; return 1; }
	read -r fsid </proc/sys/kernel/random/uuid
	read -r uuid </proc/sys/kernel/random/uuid
	# The keyring of every entity, imported by the monitor at --mkfs: the
	# manager and the OSD need no `ceph auth` command to be let in.
	{
		_ceph_key mon. 'mon = "allow *"'
		_ceph_key client.admin 'mon = "allow *"' 'osd = "allow *"' 'mgr = "allow *"' 'mds = "allow *"'
		_ceph_key mgr.x 'mon = "allow profile mgr"' 'osd = "allow *"' 'mds = "allow *"'
		_ceph_key osd.0 'mon = "allow profile osd"' 'osd = "allow *"' 'mgr = "allow profile osd"'
	} >"$d/keyring" || { echo "ceph_start: cannot write $d/keyring" >&2; return 1; }
	[ -n "$_CEPH_WATCH" ] || _ceph_watchdog
	# The monitor on a free port of 127.0.0.1, drawn at random below the
	# kernel's ephemeral range and away from Ceph's own (6800-7300), as
	# sshd.sh does; a port taken meanwhile makes it fail, and another is
	# drawn. The OSD's store (BlueStore on a sparse file) is made
	# meanwhile: it needs no monitor (--no-mon-config), and takes a second.
	for ((try = 0; try < 20; try++)); do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
		: 2>/dev/null <>"/dev/tcp/127.0.0.1/$port" && continue # taken
		_ceph_config "$port" "$fsid"
		if [ -z "$mkfs" ]; then
			truncate -s 10G "$d/block" || return 1
			ceph-osd --conf "$d/ceph.conf" --no-mon-config -i 0 --mkfs --osd-uuid "$uuid" \
				</dev/null >>"$d/log/osd.0.out" 2>&1 &
			mkfs=$!
		fi
		rc=0
		_ceph_mon_launch "$port" "$fsid" || rc=$?
		[ "$rc" -eq 1 ] && continue
		[ "$rc" -eq 0 ] || break
		CEPH_MON_PORT=$port
		break
	done
	if [ -z "$CEPH_MON_PORT" ]; then
		[ "$rc" -eq 1 ] && echo "ceph_start: no free port after 20 tries" >&2
		[ -z "$mkfs" ] || wait "$mkfs"
		ceph_stop
		return 1
	fi
	# The manager is not needed to read and write: started now, it comes
	# up while the OSD does, at a lower priority (it loads its Python
	# modules for seconds of CPU) so as not to slow the OSD down.
	_ceph_launch mgr.x nice -n 10 ceph-mgr -i x
	_CEPH_MGR_PID=$_CEPH_LAST
	_ceph_mon_commands "$uuid" 2>>"$d/log/setup.out" ||
		echo "ceph_start: the monitor refused the OSD or the pool: $(tail -n 5 "$d/log/setup.out")" >&2
	if ! wait "$mkfs"; then
		echo "ceph_start: cannot create the OSD's store: $(_ceph_log_tail osd.0)" >&2
		ceph_stop
		return 1
	fi
	grep -qs '^ok$' "$d/log/setup.out" || { ceph_stop; return 1; }
	export CEPH_CONF=$d/ceph.conf CEPH_POOL CEPH_MON_PORT
	if ! _ceph_osd_up 60; then
		echo "ceph_start: pool $CEPH_POOL takes no write after 60 s" >&2
		ceph_stop
		return 1
	fi
	_ceph_took ceph_start "$t0"
}

# Prints how long since T0 (an $EPOCHREALTIME) WHAT took, on stderr.
_ceph_took() { # WHAT T0
	local us=$((${EPOCHREALTIME/./} - ${2/./}))
	printf '%s: %d.%02d s\n' "$1" $((us / 1000000)) $((us % 1000000 / 10000)) >&2
}

ceph_osd_pid() {
	[ -n "$_CEPH_OSD_PID" ] || return 1
	echo "$_CEPH_OSD_PID"
}
ceph_osd_stop() {
	[ -n "$_CEPH_OSD_PID" ] || { echo "ceph_osd_stop: no OSD" >&2; return 1; }
	kill -STOP "$_CEPH_OSD_PID"
}
ceph_osd_cont() {
	[ -n "$_CEPH_OSD_PID" ] || { echo "ceph_osd_cont: no OSD" >&2; return 1; }
	kill -CONT "$_CEPH_OSD_PID"
}

ceph_osd_kill() {
	local i
	[ -n "$_CEPH_OSD_PID" ] || { echo "ceph_osd_kill: no OSD" >&2; return 1; }
	# Its stderr quiet: the shell reports a child killed by a signal.
	{
		kill -KILL "$_CEPH_OSD_PID"
		for ((i = 0; i < 1000; i++)); do
			_ceph_alive "$_CEPH_OSD_PID" || break
			sleep 0.01
		done
		wait "$_CEPH_OSD_PID"
	} 2>/dev/null
	_CEPH_OSD_PID=
}

ceph_osd_restart() {
	[ -n "$_CEPH_MON_PID" ] || { echo "ceph_osd_restart: ceph does not run" >&2; return 1; }
	[ -z "$_CEPH_OSD_PID" ] || ceph_osd_kill
	_ceph_osd_up 60 || { echo "ceph_osd_restart: pool $CEPH_POOL takes no write after 60 s" >&2; return 1; }
}

# Stops the OSD, then the manager, then the monitor, and waits for them to
# exit; removes the OSD's block file (10 GiB apparent), nothing else. Safe
# to call twice, and when ceph never started.
ceph_stop() {
	_ceph_kill "$_CEPH_OSD_PID"
	_CEPH_OSD_PID=
	_ceph_kill "$_CEPH_MGR_PID"
	_CEPH_MGR_PID=
	_ceph_kill "$_CEPH_MON_PID"
	_CEPH_MON_PID=
	rm -f "$CEPH_DIR/block"
	if [ -n "$_CEPH_WATCH" ]; then
		kill -TERM "$_CEPH_WATCH" 2>/dev/null
		wait "$_CEPH_WATCH" 2>/dev/null
		_CEPH_WATCH=
	fi
	return 0
}

# lib.sh's EXIT trap calls cleanup_test, which removes $T: ceph stops first,
# whether the test passed, failed or was interrupted.
if ! declare -F _ceph_cleanup_test_orig >/dev/null; then
	eval "_ceph_cleanup_test_orig$(declare -f cleanup_test | sed 1s/^cleanup_test//)"
	cleanup_test() {
		ceph_stop
		_ceph_cleanup_test_orig
	}
fi
