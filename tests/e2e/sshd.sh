# A real OpenSSH server on loopback for evault's end-to-end tests, so that
# `evault clone` and `evault sync` reach `evault serve` through ssh and a
# forced command, as technicians' laptops reach the office server.
# Sourced after lib.sh (it uses $T and wraps cleanup_test):
#
#	sshd_start                 starts sshd on 127.0.0.1:$SSHD_PORT
#	ssh=$(sshd_client bob)     a key for bob and a wrapper around ssh using it
#	sshd_authorize bob "$EVAULT_BIN serve -R $T/office"
#	"$ssh" -p "$SSHD_PORT" root@127.0.0.1 ...
#	sshd_block / sshd_unblock  the office unreachable, then back
#	sshd_stop                  also run at exit by cleanup_test
#
# Everything lives under $T/sshd: config, host key, authorized_keys, log,
# pid file, client keys, known_hosts and the server's home. sshd reads no
# file of /etc/ssh. The forced commands get HOME=$T/sshd/home and the
# test's ASAN_OPTIONS, UBSAN_OPTIONS and LSAN_OPTIONS as they were at
# sshd_start (or sshd_unblock). Call sshd_start, sshd_block, sshd_unblock
# and sshd_stop from the test's own shell, not in $(...): they keep
# process ids in variables of that shell, and sshd is its child.
#
# Tests run as root, so the "evault" account of production is root here:
# PermitRootLogin forced-commands-only admits root with a key that has
# command= and nothing else, which is what the office's authorized_keys has.

SSHD_DIR=$T/sshd
SSHD_PORT=
_SSHD_PID=   # the listening sshd, a child of this shell
_SSHD_HOLD=  # what holds the port while sshd is blocked
_SSHD_WATCH= # the watchdog that stops sshd if the test is killed

# The privilege-separation user's directory: sshd refuses to start without
# it, and /run is empty after a reboot (the init script makes it, and the
# system's sshd is not started on test machines: scripts/deps.sh).
_sshd_privsep() {
	[ -d /run/sshd ] || mkdir -m 0755 /run/sshd
}

# Alive and not a zombie: a process orphaned by a killed test is reaped by
# whatever adopted it, which may be slow to do so.
_sshd_alive() {
	local s
	[ -n "$1" ] && read -r s 2>/dev/null <"/proc/$1/stat" || return 1
	s=${s##*) }
	[ "${s%% *}" != Z ]
}

_sshd_any_alive() {
	local p
	for p in "$@"; do _sshd_alive "$p" && return 0; done
	return 1
}

# PID and every process under it: the listener, the per-connection sshd
# processes (each in its own session, so no process group covers them),
# and the forced commands they run.
_sshd_tree() { # PID
	ps -e -o pid=,ppid= | awk -v root="$1" '
		{ parent[$1] = $2 }
		END {
			for (p in parent) {
				q = p
				for (n = 0; n < 64 && q != root && q > 1; n++) q = parent[q]
				if (q == root) print p
			}
		}'
}

# Ends PID and everything under it, and waits (5 s, then SIGKILL). The
# listener is stopped first so that it accepts no connection while the
# tree is read, and keeps its children while they are signalled.
_sshd_kill_tree() {
	local pid=$1 pids p i
	_sshd_alive "$pid" || return 0
	kill -STOP "$pid" 2>/dev/null
	mapfile -t pids < <(_sshd_tree "$pid")
	kill -TERM "${pids[@]}" 2>/dev/null
	kill -CONT "$pid" 2>/dev/null
	for ((i = 0; i < 500; i++)); do
		_sshd_any_alive "${pids[@]}" || break
		sleep 0.01
	done
	for p in "${pids[@]}"; do _sshd_alive "$p" && kill -KILL "$p" 2>/dev/null; done
	# Reaps the listener when it is this shell's child (not so in a watchdog).
	wait "$pid" 2>/dev/null
	return 0
}

_sshd_config() { # PORT
	local d=$SSHD_DIR text v kv kvs setenv=SetEnv
	# Built by the shell itself (read and printf are builtins): each
	# process started costs a test several milliseconds on a busy machine.
	IFS= read -r -d '' text <<-EOF || :
		ListenAddress 127.0.0.1:$1
		AddressFamily inet
		HostKey $d/host_ed25519
		PidFile $d/pid
		AuthorizedKeysFile $d/authorized_keys
		AuthorizedPrincipalsFile none
		AuthorizedKeysCommand none
		PermitRootLogin forced-commands-only
		AuthenticationMethods publickey
		PubkeyAuthentication yes
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		HostbasedAuthentication no
		GSSAPIAuthentication no
		KerberosAuthentication no
		PermitEmptyPasswords no
		UsePAM no
		StrictModes no
		PermitUserEnvironment no
		PermitUserRC no
		AllowTcpForwarding no
		AllowAgentForwarding no
		AllowStreamLocalForwarding no
		X11Forwarding no
		PermitTunnel no
		PermitTTY no
		PrintMotd no
		PrintLastLog no
		UseDNS no
		Compression no
		LoginGraceTime 20
		MaxStartups 64
		MaxSessions 64
		LogLevel VERBOSE
	EOF
	# The forced command's environment is what sshd makes, not the test's:
	# the sanitizer options of an ASan build have to be handed on, or a
	# report of `evault serve` would follow another policy than the
	# client's. HOME is a home of the server's own, apart from the test's
	# (the client's), as the office server's trust files are apart from a
	# laptop's; it is also where root's login shell, which runs the forced
	# command, looks for a .bashrc (bash reads one when started by sshd),
	# and there is none. Each NAME=VALUE in double quotes, as sshd splits
	# its lines like a shell.
	kvs=("HOME=$d/home")
	for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
		[ -n "${!v+set}" ] && kvs+=("$v=${!v}")
	done
	for kv in "${kvs[@]}"; do
		kv=${kv//\\/\\\\}
		setenv+=" \"${kv//\"/\\\"}\""
	done
	text+=$setenv$'\n'
	# OpenSSH 9.8 and later penalise addresses whose connections fail or
	# close before authenticating, and refuse them for a while: all of the
	# tests' connections come from 127.0.0.1, and failures are what some
	# of them are about. 9.2 (Debian 12) knows no such option and would
	# not start with it. sshd is asked once per test, and only when it is
	# at least 9.8, which split off sshd-session (not asking saves a
	# process per test).
	if [ -z "${_SSHD_PENALTIES:-}" ]; then
		_SSHD_PENALTIES=no
		if [ -e /usr/lib/openssh/sshd-session ]; then
			printf '%s' "$text" >"$d/sshd_config"
			/usr/sbin/sshd -t -f "$d/sshd_config" -o PerSourcePenalties=no >/dev/null 2>&1 && _SSHD_PENALTIES=yes
		fi
	fi
	[ "$_SSHD_PENALTIES" = no ] || text+=$'PerSourcePenalties no\n'
	printf '%s' "$text" >"$d/sshd_config"
}

# The log's lines since the last start, for a failure's message.
_sshd_log_since_start() {
	awk '/^=== sshd_start / { buf = "" } { buf = buf $0 "\n" } END { printf "%s", buf }' "$SSHD_DIR/log" | head -c 2000
}

# Starts sshd on PORT and waits until it accepts connections (5 s at most).
# Returns 0 when it does, 1 when the port is taken (try another), 2 on any
# other failure (with a message).
_sshd_launch() { # PORT
	local port=$1 d=$SSHD_DIR i pid got=
	_sshd_config "$port"
	echo "=== sshd_start on 127.0.0.1:$port" >>"$d/log"
	# -D: no daemon, so that sshd stays this shell's child (its exit is
	# seen at once, and it is reaped); -E: its log, not syslog; what it
	# says before it reads -E goes to the same log.
	# shellcheck disable=SC2094
	/usr/sbin/sshd -D -f "$d/sshd_config" -E "$d/log" </dev/null >/dev/null 2>>"$d/log" &
	pid=$!
	# sshd writes its pid file once its socket listens, so the pid file
	# says that this sshd, not another one, has the port.
	for ((i = 0; i < 500; i++)); do
		if ! _sshd_alive "$pid"; then
			wait "$pid" 2>/dev/null
			_sshd_log_since_start | grep -q -e 'Cannot bind any address' -e 'Address already in use' && return 1
			echo "sshd_start: sshd exited at start: $(_sshd_log_since_start)" >&2
			return 2
		fi
		read -r got 2>/dev/null <"$d/pid"
		[ "$got" = "$pid" ] && break
		sleep 0.01
	done
	if [ "$got" != "$pid" ] || ! : 2>/dev/null <>"/dev/tcp/127.0.0.1/$port"; then
		echo "sshd_start: sshd does not accept connections on 127.0.0.1:$port after 5 s: $(_sshd_log_since_start)" >&2
		_sshd_kill_tree "$pid"
		return 2
	fi
	_SSHD_PID=$pid
	return 0
}

# Stops sshd if the test's shell goes without running its EXIT trap
# (SIGKILL): sshd is then an orphan nobody would end.
_sshd_watchdog() {
	local test_pid=$$
	(
		trap - EXIT
		while kill -0 "$test_pid" 2>/dev/null; do sleep 1; done
		_sshd_kill_tree "$(cat "$SSHD_DIR/pid" 2>/dev/null)"
		_sshd_kill_tree "$(cat "$SSHD_DIR/hold.pid" 2>/dev/null)"
	) </dev/null >/dev/null 2>&1 &
	_SSHD_WATCH=$!
}

# Starts sshd on a free port of 127.0.0.1 and exports SSHD_PORT. Ports are
# drawn at random below the kernel's ephemeral range (32768 and up, where
# outgoing connections take theirs), so that tests running in parallel
# rarely draw the same; when one does, its bind fails and it draws again.
sshd_start() {
	local d=$SSHD_DIR try port rc kt kk
	[ -z "$_SSHD_PID" ] || { echo "sshd_start: sshd already runs" >&2; return 1; }
	[ -d "$d/home" ] || mkdir -p "$d/home"
	_sshd_privsep
	[ -f "$d/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C evault-e2e-host -f "$d/host_ed25519" ||
		{ echo "sshd_start: no host key" >&2; return 1; }
	: >>"$d/authorized_keys"
	for ((try = 0; try < 20; try++)); do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
		rc=0
		_sshd_launch "$port" || rc=$?
		[ "$rc" -eq 1 ] && continue
		[ "$rc" -eq 0 ] || return 1
		export SSHD_PORT=$port
		# The clients know the server's key beforehand, as the
		# technicians' laptops are given the office's.
		read -r kt kk _ <"$d/host_ed25519.pub"
		echo "[127.0.0.1]:$port $kt $kk" >"$d/known_hosts"
		[ -n "$_SSHD_WATCH" ] || _sshd_watchdog
		return 0
	done
	echo "sshd_start: no free port after 20 tries" >&2
	return 1
}

# A key pair for NAME (no passphrase) and $T/sshd/ssh-NAME, which runs ssh
# with that key only, this server's known_hosts only, no configuration file
# and no prompt: what EVAULT_SSH (like GIT_SSH_COMMAND) names. It takes
# ssh's own arguments: -p PORT root@127.0.0.1 COMMAND. Prints its path.
sshd_client() { # NAME
	local name=$1 d=$SSHD_DIR
	case $name in '' | *[!A-Za-z0-9_-]*) echo "sshd_client: bad name '$name'" >&2; return 1 ;; esac
	mkdir -p "$d"
	[ -f "$d/$name" ] || ssh-keygen -q -t ed25519 -N '' -C "$name" -f "$d/$name" ||
		{ echo "sshd_client: no key for $name" >&2; return 1; }
	cat >"$d/ssh-$name" <<-EOF
		#!/bin/sh
		exec ssh -F /dev/null -i '$d/$name' -o IdentitiesOnly=yes \\
			-o UserKnownHostsFile='$d/known_hosts' -o GlobalKnownHostsFile=/dev/null \\
			-o StrictHostKeyChecking=yes -o BatchMode=yes \\
			-o ConnectTimeout=5 -o ServerAliveInterval=5 "\$@"
	EOF
	chmod 0755 "$d/ssh-$name"
	echo "$d/ssh-$name"
}

# Lets NAME's key in, to run COMMAND only, whatever the client asks for
# (which the command finds in SSH_ORIGINAL_COMMAND): the line the office
# server's authorized_keys has for each laptop. sshd reads the file at each
# connection, so this works before or after sshd_start.
sshd_authorize() { # NAME COMMAND
	local name=$1 cmd=$2 d=$SSHD_DIR
	[ -f "$d/$name.pub" ] || { echo "sshd_authorize: no key for $name (sshd_client first)" >&2; return 1; }
	# In authorized_keys, only \" is an escape inside command="...".
	printf 'command="%s",restrict %s\n' "${cmd//\"/\\\"}" "$(cut -d' ' -f1,2 "$d/$name.pub") $name" >>"$d/authorized_keys"
}

# Stops sshd, the connections it serves and their commands, and waits for
# them to exit. Safe to call twice, and when sshd never started.
sshd_stop() {
	_sshd_kill_tree "$_SSHD_PID"
	_SSHD_PID=
	_sshd_kill_tree "$_SSHD_HOLD"
	_SSHD_HOLD=
	rm -f "$SSHD_DIR/hold.pid"
	if [ -n "$_SSHD_WATCH" ]; then
		kill -TERM "$_SSHD_WATCH" 2>/dev/null
		wait "$_SSHD_WATCH" 2>/dev/null
		_SSHD_WATCH=
	fi
	return 0
}
sshd_cleanup_hook() { sshd_stop; }

# The office unreachable: sshd stops (with the connections it serves) and
# new connections are reset at once, so a client's ssh fails in a moment
# instead of waiting out a timeout. The port stays held meanwhile by a
# listener that resets every connection: once free, another test's sshd
# could take it, and sshd_unblock could not have it back. (A socket bound
# without listening would refuse connections instead, but it cannot be
# bound while the last connections' TIME_WAIT hold the port.)
sshd_block() {
	local d=$SSHD_DIR i
	[ -n "$_SSHD_PID" ] || { echo "sshd_block: sshd does not run" >&2; return 1; }
	_sshd_kill_tree "$_SSHD_PID"
	_SSHD_PID=
	rm -f "$d/held"
	# Debian's python3 (scripts/deps.sh), isolated: a python3 earlier in
	# PATH may be a slow wrapper.
	/usr/bin/python3 -I -S -c '
import socket, struct, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
open(sys.argv[2], "w").close()
while True:
	c, _ = s.accept()
	c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
	c.close()
' "$SSHD_PORT" "$d/held" </dev/null >/dev/null 2>>"$d/log" &
	_SSHD_HOLD=$!
	echo "$_SSHD_HOLD" >"$d/hold.pid"
	for ((i = 0; i < 500; i++)); do
		[ -e "$d/held" ] && return 0
		_sshd_alive "$_SSHD_HOLD" || break
		sleep 0.01
	done
	echo "sshd_block: could not hold port $SSHD_PORT: $(tail -5 "$d/log")" >&2
	_sshd_kill_tree "$_SSHD_HOLD"
	_SSHD_HOLD=
	return 1
}

# The office back: sshd again on the same port, with the same host key and
# authorized_keys, so that clients connect as before.
sshd_unblock() {
	local try rc
	[ -n "$_SSHD_HOLD" ] || { echo "sshd_unblock: not blocked" >&2; return 1; }
	_sshd_kill_tree "$_SSHD_HOLD"
	_SSHD_HOLD=
	rm -f "$SSHD_DIR/hold.pid" "$SSHD_DIR/held"
	for try in 1 2 3; do
		rc=0
		_sshd_launch "$SSHD_PORT" || rc=$?
		[ "$rc" -eq 0 ] && return 0
		[ "$rc" -eq 1 ] || return 1
		sleep 0.1
	done
	echo "sshd_unblock: port $SSHD_PORT was taken meanwhile" >&2
	return 1
}

# lib.sh's EXIT trap calls cleanup_test, which removes $T: sshd stops first,
# whether the test passed, failed or was interrupted.
if ! declare -F _sshd_cleanup_test_orig >/dev/null; then
	eval "_sshd_cleanup_test_orig$(declare -f cleanup_test | sed 1s/^cleanup_test//)"
	cleanup_test() {
		sshd_stop
		_sshd_cleanup_test_orig
	}
fi
