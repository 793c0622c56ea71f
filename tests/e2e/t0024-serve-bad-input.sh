#!/usr/bin/env bash
# `evault serve` under attack. A second client of the sync protocol,
# fixtures/sync_client.py (written from docs/protocol.md alone; it signs
# with stock ssh-keygen), talks to the server through pipes, as sshd's
# forced command would, and sends it what no evault client sends: broken
# frames, bad authentication (a device missing, empty, too long, badly
# named, not the one signed for, another user's or revoked), requests
# over the limits, objects and history of missions its user does not hold
# (as a member of none, of M-1 from a device that does not hold it yet,
# an auditor, revoked during the session), forged pushes and history no
# event names, then seeded random sessions. Legitimate pushes, made with
# git and ssh-keygen alone (devices registered, one holding M-1; a file
# removed), show the other side of the rules.
# After every session: the server ended by itself (no signal, no hang),
# sent well-formed frames, printed nothing on stderr (under the
# sanitizers: no report), logged why the session ended; the vault is as
# it was (head, history, objects, key copies) unless the session was a
# legitimate push or stored an object; `audit verify` passes.
# EVAULT_E2E_SEED repeats the random sessions; EVAULT_E2E_VERBOSE=1 prints
# how each session ended and the server's last word in its log.
. "$(dirname "$0")/lib.sh"
CLIENT="$(cd "$(dirname "$0")" && pwd)/fixtures/sync_client.py"
# the interpreter itself, not a wrapper that finds it (a version manager's
# shim costs most of a second at each of the hundreds of runs)
PY=$(python3 -c 'import sys; print(sys.executable)') || { echo "python3 not found"; exit 1; }
TIMEOUT=3 # evault serve --timeout
SLACK=4   # how much longer than that a server may take to end
[ -n "${EVAULT_E2E_SANITIZED:-}" ] && SLACK=8
# The servers' sanitizer reports, if any, on their stderr, which is collected.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:log_path=stderr" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:log_path=stderr"
t_start=$SECONDS
# What is under test is the server. The vault around it is made, changed
# and judged (audit verify after each session) by the release build when
# the server is the sanitized one: the same code, in a fraction of the
# time; the sanitized build verifies and checks the vault once at the end.
TOOL_BIN=$EVAULT_BIN
[ -n "${EVAULT_E2E_SANITIZED:-}" ] && [ -x "${EVAULT_E2E_RELEASE_BIN:-}" ] && TOOL_BIN=$EVAULT_E2E_RELEASE_BIN
by() { EVAULT_BIN=$TOOL_BIN as "$@"; } # by WHO ARGS: as, with the tools' build

EVAULT_BIN=$TOOL_BIN standard_vault # alice admin, bob and carol technicians, dave auditor, M-1 with bob
OFFICE=$T/vault
by alice mission create M-2 --client "Client Two SA" --site "Nantes" --member carol >/dev/null
printf 'rapport de bob\n' >"$T/report.txt"
head -c 1500000 /dev/urandom >"$T/scan.bin"
by bob put "$T/report.txt" M-1/dossier/rapport.txt >/dev/null
by bob put "$T/scan.bin" M-1/work/scan.bin >/dev/null
printf 'note de carol\n' >"$T/note.txt"
head -c 300000 /dev/urandom >"$T/photo.bin"
by carol put "$T/note.txt" M-2/work/note.txt >/dev/null
by carol put "$T/photo.bin" M-2/dossier/photo.bin >/dev/null

# OpenSSH keys: mallory (a technician, then a member of M-1), trudy (a
# user who will be disabled), audrey (an auditor), eve (no user at all).
for who in mallory trudy audrey eve; do
	ssh-keygen -q -t ed25519 -N '' -C "$who" -f "$T/$who.key" || { echo "ssh-keygen failed"; exit 1; }
done
by alice user add mallory --role technician --pubkey "$(cat "$T/mallory.key.pub")" >/dev/null &&
	by alice user add trudy --role technician --pubkey "$(cat "$T/trudy.key.pub")" >/dev/null &&
	by alice user add audrey --role auditor --pubkey "$(cat "$T/audrey.key.pub")" >/dev/null ||
	{ echo "user add failed"; exit 1; }
by bob identity show >"$T/bob.pub"

G() { git -C "$OFFICE/audit.git" "$@"; }
HEAD=$(G rev-parse main)
VID=$(sed -n 's/^vault-id //p' "$OFFICE/evault.conf")
ZERO=0000000000000000000000000000000000000000

# What a refused session must not change: every file of the vault but its
# log and what audit verify records, every directory (a quarantine left
# behind is a change), and the head. Of the office's notes of when each
# device last synced (contacts/, outside the history, rewritten at each
# session a registered device ends with BYE), the names: a session makes
# none for a device that is not registered to its user.
vault_state() {
	(cd "$OFFICE" && find . \( -path ./serve.log -o -path ./audit-verified -o -path ./lock \) -prune \
		-o -path './contacts/*' -type f -printf 'contact %p\n' \
		-o -type d -printf 'dir %p\n' -o -type f -exec sha256sum {} + | sort)
	G rev-parse main
}
STATE=$(vault_state)
SESSIONS=0
# the judge after each session
verify() { by alice -R "$OFFICE" audit verify; }

# The client runs as one process for the whole test (its driver command),
# each of its commands given one argument a line: client OUT ERR ARGS...
coproc CLIENTD { exec "$PY" "$CLIENT" driver; }
client() {
	local reply
	printf '%s\n' "$@" "" >&"${CLIENTD[1]}"
	if ! read -r -u "${CLIENTD[0]}" reply; then
		ko "the client's driver died"
		finish
		exit 1
	fi
}
# ssh-keygen's own fingerprint of a public key (what the server must log)
fp() { ssh-keygen -lf "$1" | awk '{print $2}'; }

# session WHAT [key=FILE] [device=NAME] [timeout=S] STEP...: one session of
# the second client against `evault serve` (the steps: sync_client.py
# help), as mallory unless key= says otherwise, from the device NAME (by
# default the key's user's laptop: mallory-laptop). Its output in $OUT,
# the server's stderr in $ERR, its log lines in $LOG. A session that waits
# for the server's timeout uses timeout=1 (the same code, two seconds
# sooner).
session() {
	WHAT=$1; shift
	local key=$T/mallory.key device= timeout=$TIMEOUT lines
	while :; do
		case ${1:-} in
		key=*) key=${1#key=}; shift ;;
		device=*) device=${1#device=}; shift ;;
		timeout=*) timeout=${1#timeout=}; shift ;;
		*) break ;;
		esac
	done
	[ -n "$device" ] || device=$(basename "$key" .key)-laptop
	SESSIONS=$((SESSIONS + 1))
	lines=0
	[ -f "$OFFICE/serve.log" ] && lines=$(wc -l <"$OFFICE/serve.log")
	: >"$T/s.err"
	client "$T/s.out" "$T/s.cerr" --serve "$EVAULT_BIN serve -R $OFFICE --timeout $timeout" --key "$key" \
		--device "$device" --limit $((timeout + SLACK)) --stderr "$T/s.err" session "$@"
	OUT=$(<"$T/s.out") ERR=$(<"$T/s.err") LOG=$(tail -n +$((lines + 1)) "$OFFICE/serve.log")
	[ -s "$T/s.cerr" ] && ko "$WHAT: the client failed: $(head -c 600 "$T/s.cerr")"
	[ -n "${EVAULT_E2E_VERBOSE:-}" ] &&
		echo "  -- $WHAT: ${OUT##*$'\n'}; log: $(printf '%s\n' "$LOG" | grep -vE 'session (opened|closed)' | tail -n 1)"
	return 0
}

show() { # what was seen, after a failed check
	printf '%s\n' "$OUT" | grep -v 'recv GITOBJ' | tail -n 8 | sed 's/^/      | /'
	printf '%s\n' "$LOG" | tail -n 4 | sed 's/^/      log: /'
}
checkv() { # like check, shows the session on failure
	local what=$1; shift
	if "$@"; then ok "$what"; else ko "$what"; show; fi
}
has() { [[ $'\n'$OUT =~ $'\n'$1 ]]; } # a line of the client's output starts with this regex
ended_by_itself() { has 'server exit code='; }
quiet_stderr() {
	[ -z "$ERR" ] && return 0
	echo "      server stderr: ${ERR:0:2000}"
	return 1
}
logged() { [[ $LOG =~ $1 ]]; }
ere() { printf '%s' "$1" | sed 's/[][\.*^$+?(){}|]/\\&/g'; } # a fixed string as a regex
got_error() { has "recv ERROR code=$1 "; }
no_welcome() { ! has 'recv WELCOME'; }

# after WHY [changed]: what every session must leave behind. WHY: a regex
# the server's log lines for this session must match. "changed": the
# session was a legitimate push or stored objects; the head and state are
# taken anew (the caller checks how).
after() {
	local why=$1 changed=${2:-} state
	checkv "$WHAT: the server ended by itself" ended_by_itself
	checkv "$WHAT: what it sent is well-formed protocol" eval '! has "protocol error"'
	checkv "$WHAT: nothing on the server's stderr" quiet_stderr
	checkv "$WHAT: the log says why ($why)" logged "$why"
	state=$(vault_state)
	if [ -z "$changed" ]; then
		checkv "$WHAT: the head did not move" test "${state##*$'\n'}" = "$HEAD"
		checkv "$WHAT: nothing changed in the vault" test "$state" = "$STATE"
	else
		HEAD=${state##*$'\n'}
		STATE=$state
	fi
	expect 0 "$WHAT: audit verify" verify
}

refused() { # CODE WHY: an ERROR of that code, then after WHY
	checkv "$WHAT: ERROR $1" got_error "$1"
	after "$2"
}

# ---- before authentication ----
session "empty input" eof
checkv "$WHAT: nothing sent back" eval '! has recv'
after 'left|no HELLO|nothing'

session "a frame of length 0" raw:hex=00000000
refused 5 'message of 0 bytes|empty'
session "a frame of length 0xFFFFFFFF" raw:hex=ffffffff raw:hex=01
refused 5 '4294967295 bytes'
# a HELLO may be at most 4 KiB: 4097 bytes, all of them sent
"$PY" -c 'import sys; sys.stdout.buffer.write(b"EVAULT-SYNC" + b"\0\0\0\1" + b"\0" * (4096 - 15))' >"$T/hello-pad"
session "a HELLO over its limit (4 KiB)" frame:type=01,file="$T/hello-pad"
refused 5 '4097 bytes'
session "a truncated frame (100 announced, 10 sent, EOF)" raw:hex=00000064 raw:hex=01455641554c542d5359 eof
after 'cut short|left'
"$PY" -c 'import random, sys; r = random.Random(24); sys.stdout.buffer.write(bytes(r.getrandbits(8) for _ in range(3000)))' >"$T/random"
session "random bytes" raw:file="$T/random" eof
checkv "$WHAT: no WELCOME" no_welcome
after 'message of|HELLO|cut short|protocol'
session "a HELLO with a wrong magic" hello:magic=EVAULT-SYNX
refused 5 'no HELLO'
session "a HELLO of version 1 (an evault from before devices)" hello:version=1
refused 11 'protocol version 1: this office speaks version 2'
session "a HELLO of version 3" hello:version=3
refused 11 'protocol version 3'
session "a HELLO with a trailing byte" frame:type=01,body="$(printf EVAULT-SYNC | od -An -tx1 | tr -d ' \n')0000000100" challenge auth welcome bye
checkv "$WHAT: no WELCOME" no_welcome
refused 5 'HELLO|trailing'
for m in "WANT:30:00000001$(printf '%064d' 0)" "PUSH:40:$HEAD$HEAD" "FETCH:10:${ZERO}00000000"; do
	IFS=: read -r name type body <<<"$m"
	session "a $name before HELLO" frame:type=$type,body=$body
	refused 5 'no HELLO'
	session "a $name after HELLO, before AUTH" hello challenge frame:type=$type,body=$body
	refused 5 'no AUTH'
done
session "an AUTH over its limit (8 KiB)" hello challenge raw:hex=00002001
refused 5 '8193 bytes'
session "silence before HELLO (the connection held open)" timeout=1
checkv "$WHAT: it ended at its timeout" has 'server exit code=[0-9]+ after=[1-4]\.'
after 'nothing for|timeout|silent'

# ---- authentication ----
session "mallory logs in (the client works)" hello challenge auth:save="$T/armour" welcome bye
checkv "$WHAT: WELCOME mallory, technician, the head" has "recv WELCOME user=mallory role=technician head=$HEAD "
checkv "$WHAT: her device is new to the office" has 'recv WELCOME .* device=new'$'\n'
after 'session opened \(technician, device mallory-laptop not registered yet, 0 missions held\)'
authfail() {
	checkv "$WHAT: no WELCOME" no_welcome
	checkv "$WHAT: ERROR 4 \"authentication failed\"" has 'recv ERROR code=4 msg=authentication failed'$'\n'
	after "authentication failed for key $(ere "$1")"
}
FP_M=$(fp "$T/mallory.key.pub")
session "a signature in namespace git" hello challenge auth:ns=git
authfail "$FP_M"
session "a signature of a previous session's nonce (replay)" hello challenge auth:armour="$T/armour"
authfail "$FP_M"
session "a signature of another vault's challenge" hello challenge auth:vault=00112233445566778899aabbccddeeff
authfail "$FP_M"
session "garbage instead of a signature" hello challenge auth:garbage=300
authfail "$FP_M"
session "bob's public key, mallory's signature" hello challenge auth:pub="$T/bob.pub"
authfail "$(fp "$T/bob.pub")"
session "a key that is no user's" key="$T/eve.key" hello challenge auth welcome
authfail "$(fp "$T/eve.key.pub")"
session "trudy logs in while active" key="$T/trudy.key" login bye
checkv "$WHAT: WELCOME trudy" has 'recv WELCOME user=trudy '
after 'session opened'
expect 0 "alice disables trudy" by alice user disable trudy
HEAD=$(G rev-parse main)
STATE=$(vault_state)
session "a disabled user's key" key="$T/trudy.key" hello challenge auth welcome
authfail "$(fp "$T/trudy.key.pub")"
session "an AUTH with a trailing byte" hello challenge auth:trailing=00 welcome
authfail "$FP_M"
# the device: a string after the armour, which the session text names
session "an AUTH without a device (version 1's AUTH)" hello challenge auth:nodevice=1 welcome
authfail "$FP_M"
session "an AUTH naming an empty device" hello challenge auth:device= welcome
authfail "$FP_M"
DEV32=$(printf 'd%.0s' $(seq 32))
session "an AUTH naming a device of 33 characters" hello challenge auth:device="${DEV32}x" welcome
authfail "$FP_M"
session "an AUTH naming device Bad/Name" hello challenge auth:device=Bad/Name welcome
authfail "$FP_M"
session "an AUTH naming device ../laptop" hello challenge auth:device=../laptop welcome
authfail "$FP_M"
session "an AUTH naming a device with a NUL in it" hello challenge auth:devicehex=6c6170746f70006d welcome
authfail "$FP_M"
session "an AUTH naming a device other than the one it signed for" hello challenge auth:device=mallory-laptop,signed=mallory-phone welcome
authfail "$FP_M"
session "a device name of 32 characters (the limit)" device="$DEV32" login bye
checkv "$WHAT: WELCOME, the device new" has 'recv WELCOME user=mallory .* device=new'$'\n'
after "session opened \\(technician, device $DEV32 not registered yet"
check "no session noted a contact: no device is registered" test ! -e "$OFFICE/contacts"

# ---- mallory, a technician of no mission ----
# M-2's stored objects (named in its files' .objs lists) and M-1's
m_objects() {
	G ls-tree -r main "missions/$1" | awk '$4 ~ /\.objs$/ {print $3}' |
		while read -r b; do G cat-file blob "$b"; done | grep -o '[0-9a-f]\{64\}' | sort -u
}
m_objects M-2 >"$T/m2-objects"
m_objects M-1 >"$T/m1-objects"
present=0
while read -r o; do [ -f "$OFFICE/objects/${o:0:2}/$o" ] && present=$((present + 1)); done <"$T/m2-objects"
N1=$(wc -l <"$T/m1-objects") N2=$(wc -l <"$T/m2-objects")
check "M-2 and M-1 have stored objects to ask for" test -s "$T/m1-objects" -a "$present" -gt 0 -a "$present" -eq "$(wc -l <"$T/m2-objects")"

# Every history object under missions/M-2 in any commit, but those that
# are also somewhere else (the same bytes elsewhere are no leak).
for c in $(G rev-list main); do
	G ls-tree -r -t "$c" missions/M-2 | awk '{print $3}'
	G rev-parse --verify -q "$c:missions/M-2"
done | sort -u >"$T/m2-ids"
for c in $(G rev-list main); do G ls-tree -r -t "$c" | awk '$4 !~ /^missions\/M-2(\/|$)/ {print $3}'; done | sort -u >"$T/other-ids"
comm -23 "$T/m2-ids" "$T/other-ids" >"$T/m2-only"
check "M-2 has history objects of its own to look for" test -s "$T/m2-only"
leaks() { # FILE of "type id" lines received: how many are M-2's
	awk '{print $2}' "$1" | sort -u | comm -12 - "$T/m2-only" | wc -l
}
session "FETCH and KEYS as a member of nothing" login fetch keys bye
checkv "$WHAT: no key copy" eval '! has key'
after 'fetch|session opened'
session "a FETCH naming 70,000 missions" login fetch:count=70000
refused 5 'FETCH'
session "a WANT of 2,000 ids" login want:random=2000
refused 5 'WANT'
session "a WANT of 1,024 ids (the limit)" login want:random=1024 bye
checkv "$WHAT: 1,024 MISSING" has 'want asked=1024 obj=0 missing=1024'
after 'session opened'
session "a FETCH naming 65,536 missions (the limit)" login fetch:count=65536 bye
checkv "$WHAT: FETCH_END" has 'recv FETCH_END '
after 'fetch:'
session "a WANT of no id (1 to 1,024)" login frame:type=30,body=00000000 bye
refused 5 'WANT'
session "a WANT of M-2's and M-1's objects (held by others)" login want:ids="$T/m2-objects" want:ids="$T/m1-objects" bye
checkv "$WHAT: every answer MISSING, none OBJ" has "want asked=$N2 obj=0 missing=$N2"$'\n'"(.*"$'\n'")*want asked=$N1 obj=0 missing=$N1"$'\n'
after 'session opened|replica left'
head -c 5000 /dev/urandom >"$T/obj"
OBJ_NAME=$(sha256sum "$T/obj" | cut -c1-64)
BAD_NAME=$(printf 'not these bytes' | sha256sum | cut -c1-64)
session "an OBJ whose bytes do not match its name" login obj:file="$T/obj",name="$BAD_NAME" flush
checkv "$WHAT: not stored (under either name)" test ! -e "$OFFICE/objects/${BAD_NAME:0:2}/$BAD_NAME" -a ! -e "$OFFICE/objects/${OBJ_NAME:0:2}/$OBJ_NAME"
refused 5 'do not match its name'
before=$STATE
session "an OBJ that matches its name, then FLUSH" login obj:file="$T/obj" flush obj:file="$T/obj" flush bye
checkv "$WHAT: FLUSHED 1, then 0 for the same object again" has "flushed n=1"$'\n'"(.*"$'\n'")*flushed n=0"$'\n'
checkv "$WHAT: stored, its bytes intact" cmp -s "$T/obj" "$OFFICE/objects/${OBJ_NAME:0:2}/$OBJ_NAME"
after 'stored 1 objects' changed
checkv "$WHAT: nothing but the object changed the vault" test \
	"$(diff <(printf '%s\n' "$before") <(printf '%s\n' "$STATE") | grep '^[<>]' | grep -v "objects/${OBJ_NAME:0:2}")" = ""
# the documented limit of an object is 16 MiB + 4096 bytes
head -c $((16 * 1024 * 1024 + 4097)) /dev/urandom >"$T/big"
BIG_NAME=$(sha256sum "$T/big" | cut -c1-64)
session "an OBJ of 16 MiB + 4097 bytes (over the limit)" login obj:file="$T/big" flush bye
checkv "$WHAT: not stored" test ! -e "$OFFICE/objects/${BIG_NAME:0:2}/$BIG_NAME"
refused 5 'refused|at most|limit'
rm -f "$T/big" "$OFFICE/objects/${BIG_NAME:0:2}/$BIG_NAME"
STATE=$(vault_state)

session "a PUSH, then a GITOBJ of type 9" login frame:type=40,body="${HEAD}0123456789abcdef0123456789abcdef01234567" gitobj:type=9,body=deadbeef end
refused 5 'unknown type|history object'
session "a PUSH whose new head was not sent" login push:old="$HEAD",new=0123456789abcdef0123456789abcdef01234567,noread=1
refused 5 'not a commit'
session "a PUSH back to an older commit (the office's own)" login push:old="$HEAD",new="$(G rev-parse main~1)",noread=1
checkv "$WHAT: an ERROR" has 'recv ERROR code='
after 'push refused'
# a history object no event names has no business in the office's history
printf 'a blob no event names\n' >"$T/stray"
STRAY=$(git hash-object "$T/stray")
not_in_history() { ! G cat-file -e "$1" 2>/dev/null; }
session "a PUSH of no event (old = new = the head) carrying a stray blob" login push:old="$HEAD",new="$HEAD",extra="$T/stray",noread=1 bye
checkv "$WHAT: the blob is not in the office's history" not_in_history "$STRAY"
after 'push'
# the vault as it was (if it was not), so that what follows is judged alone
rm -f "$OFFICE/audit.git/objects/${STRAY:0:2}/${STRAY:2}"
rmdir "$OFFICE/audit.git/objects/${STRAY:0:2}" 2>/dev/null
STATE=$(vault_state)
session "a PUSH whose old head is not the office's" login push:old="$(G rev-parse main~1)",new="$HEAD",noread=1
refused 9 'moved|head'
session "a PUSH, then a frame over the GITOBJ limit" login frame:type=40,body="$HEAD$HEAD" raw:hex=01000010
refused 5 'push broken off|bytes'
session "a message of unknown type 0x7f" login frame:type=7f
refused 5 'unknown message type 0x7f'
session "a message of unknown type 0x04 (WELCOME, the server's)" login frame:type=04
refused 5 'unknown message type 0x04'
session "a frame of the maximum size + 1" login raw:hex=01001041 raw:hex=10
refused 5 '16781377 bytes'
session "a BYE with a body" login frame:type=06,body=00
refused 5 'BYE'
session "silence in the middle of a frame after login" timeout=1 login raw:hex=00001000 raw:hex=10
after 'nothing for'

# ---- events made with stock git in a copy of the office ----
# copy_office: the office as it is now, at $T/v, where events are made by
# git and signed (SSHSIG, namespace git) with a user's OpenSSH key.
copy_office() { rm -rf "$T/v" && cp -a "$OFFICE" "$T/v"; }
V() { git -C "$T/v/audit.git" "$@"; }
seq_next() { echo $(($(V log -1 --format=%B main | sed -n 's/^Evault-Seq: //p') + 1)); }
# signed_commit WHO KEY(or "") TREE MESSAGE: WHO's commit of TREE on the
# copy's main, signed with KEY (unsigned without); prints its id
signed_commit() {
	local who=$1 key=$2 tree=$3 msg=$4 sign=()
	[ -n "$key" ] && sign=(-c gpg.format=ssh -c user.signingkey="$key")
	GIT_AUTHOR_NAME=$who GIT_AUTHOR_EMAIL=$who@$VID.evault GIT_COMMITTER_NAME=$who \
		GIT_COMMITTER_EMAIL=$who@$VID.evault V "${sign[@]}" commit-tree ${key:+-S} -p main -m "$msg" "$tree"
}
# one of bob's M-1 files
FID=$(G ls-tree -r --name-only main missions/M-1/work | sed -n 's/\.enc$//p' | head -1)
FID=${FID##*/}
# event WHO KEY(or "") SED(for users/WHO, or "") REMOVE(1: the file FID)
# MESSAGE: a commit on the copy's main, made by git; prints its id
event() {
	local who=$1 key=$2 edit=$3 remove=$4 msg=$5 idx=$T/v/index blob tree
	rm -f "$idx"
	GIT_INDEX_FILE=$idx V read-tree main
	if [ "$remove" = 1 ]; then
		GIT_INDEX_FILE=$idx V rm -q --cached "missions/M-1/work/${FID:0:1}/${FID:1:1}/$FID.enc" \
			"missions/M-1/work/${FID:0:1}/${FID:1:1}/$FID.objs" || return 1
	fi
	if [ -n "$edit" ]; then
		blob=$(V show "main:users/$who" | sed "$edit" | V hash-object -w --stdin)
		GIT_INDEX_FILE=$idx V update-index --cacheinfo "100644,$blob,users/$who"
	fi
	tree=$(GIT_INDEX_FILE=$idx V write-tree)
	signed_commit "$who" "$key" "$tree" "$msg"
}
# device_event WHO KEY DEVICE [MID]: what a clone of WHO records, made by
# git: the device.add of DEVICE (no MID), or the device.hold of MID by
# DEVICE; on the copy's main, which moves to it; prints its id
device_event() {
	local who=$1 key=$2 dev=$3 mid=${4:-} idx=$T/v/index path text action summary blob tree c
	if [ -z "$mid" ]; then
		path=devices/$dev action=device.add summary="Register device $dev of $who"
		text="device $dev"$'\n'"user $who"$'\n'"status active"$'\n'
	else
		path=missions/$mid/devices/$dev action=device.hold summary="Device $dev holds $mid"
		text="device $dev"$'\n'"user $who"$'\n'"status held"$'\n'"held $(date +%s)"$'\n'
	fi
	rm -f "$idx"
	GIT_INDEX_FILE=$idx V read-tree main &&
		blob=$(printf '%s' "$text" | V hash-object -w --stdin) &&
		GIT_INDEX_FILE=$idx V update-index --add --cacheinfo "100644,$blob,$path" &&
		tree=$(GIT_INDEX_FILE=$idx V write-tree) &&
		c=$(signed_commit "$who" "$key" "$tree" "$summary

Evault-Seq: $(seq_next)
Evault-Action: $action
Evault-Actor: $who${mid:+
Evault-Mission: $mid}
Evault-Device: $dev") &&
		V update-ref refs/heads/main "$c" &&
		echo "$c"
}

# ---- auditors: every mission's history, no other key or object; of
# events, only their own devices' ----
session "an auditor's FETCH, KEYS and WANT" key="$T/audrey.key" login fetch:save="$T/audited" keys want:ids="$T/m2-objects" bye
checkv "$WHAT: M-2's trees and files too" test "$(leaks "$T/audited")" -eq "$(wc -l <"$T/m2-only")"
checkv "$WHAT: no key copy, M-2's objects MISSING" eval '! has key && has "want asked=$N2 obj=0 missing=$N2"'
after 'fetch:'
session "an auditor's PUSH of no event" key="$T/audrey.key" login push:old="$HEAD",new="$HEAD",noread=1
refused 5 'push refused: it holds no event'
# an auditor of M-1 (of its dossier): she reads it; changing it is for its members
expect 0 "alice grants M-1 to audrey, an auditor" by alice mission grant M-1 audrey
HEAD=$(G rev-parse main)
STATE=$(vault_state)
copy_office
AUD_RM=$(event audrey "$T/audrey.key" "" 1 "Remove file from M-1/work

Evault-Seq: $(seq_next)
Evault-Action: file.remove
Evault-Actor: audrey
Evault-Mission: M-1
Evault-Class: work
Evault-File: $FID")
check "an auditor's file.remove made with git" test -n "$AUD_RM"
session "an auditor's PUSH of a file.remove she signed" key="$T/audrey.key" login push:old="$HEAD",new="$AUD_RM",git="$T/v/audit.git",noread=1
refused 6 'push refused: event [0-9a-f]+: file.remove by audrey, who is not a member of M-1'
checkv "$WHAT: the event is not in the office's history" not_in_history "$AUD_RM"
copy_office
AUD_DEV=$(device_event audrey "$T/audrey.key" audrey-laptop)
check "audrey's device.add made with git" test -n "$AUD_DEV"
session "an auditor's PUSH of her device.add (a legitimate push)" key="$T/audrey.key" login push:old="$HEAD",new="$AUD_DEV",git="$T/v/audit.git" bye
checkv "$WHAT: PUSHED" has "recv PUSHED head=$AUD_DEV "
checkv "$WHAT: the office records device audrey-laptop, audrey's" test "$(G show main:devices/audrey-laptop)" = "$(printf 'device audrey-laptop\nuser audrey\nstatus active')"
checkv "$WHAT: and notes its contact at the BYE" test -f "$OFFICE/contacts/audrey-laptop"
after 'push: 1 events' changed
session "audrey's device, registered" key="$T/audrey.key" login bye
checkv "$WHAT: WELCOME, the device active" has 'recv WELCOME user=audrey role=auditor .* device=active'$'\n'
after 'session opened \(auditor, device audrey-laptop, [0-9]+ missions held\)'
session "mallory naming audrey's device" device=audrey-laptop login bye
checkv "$WHAT: no WELCOME" no_welcome
refused 6 'device audrey-laptop is registered to another user'
expect 0 "alice revokes audrey's device" by alice device revoke audrey-laptop
HEAD=$(G rev-parse main)
STATE=$(vault_state)
session "audrey's revoked device (it holds nothing to erase)" key="$T/audrey.key" login bye
checkv "$WHAT: no WELCOME" no_welcome
refused 6 'device audrey-laptop was revoked by alice on [0-9]{4}-[0-9]{2}-[0-9]{2}'

# ---- mallory, now a member of M-1 ----
expect 0 "alice grants M-1 to mallory" by alice mission grant M-1 mallory
HEAD=$(G rev-parse main)
STATE=$(vault_state)
# a key copy and an object go only to a device that recorded it holds the mission
session "a WANT of M-1's objects and KEYS, from a device that holds nothing" login want:ids="$T/m1-objects" keys bye
checkv "$WHAT: M-1's objects MISSING" has "want asked=$N1 obj=0 missing=$N1"$'\n'
checkv "$WHAT: no key copy" eval '! has key'
after 'session opened \(technician, device mallory-laptop not registered yet, 1 missions held\)'
copy_office
OTHER=$(device_event mallory "$T/mallory.key" mallory-phone)
session "a PUSH of the device.add of another device than the session's" login push:old="$HEAD",new="$OTHER",git="$T/v/audit.git",noread=1
refused 6 'push refused: event [0-9a-f]+ is about another device than this one \(mallory-laptop\)'
checkv "$WHAT: the event is not in the office's history" not_in_history "$OTHER"
copy_office
M_ADD=$(device_event mallory "$T/mallory.key" mallory-laptop)
M_HOLD=$(device_event mallory "$T/mallory.key" mallory-laptop M-1)
check "mallory's device.add and device.hold of M-1 made with git" test -n "$M_ADD" -a -n "$M_HOLD"
session "mallory's device registers itself and holds M-1 (a legitimate push), then KEYS and WANT" \
	login push:old="$HEAD",new="$M_HOLD",git="$T/v/audit.git" keys want:ids="$T/m1-objects" bye
checkv "$WHAT: PUSHED" has "recv PUSHED head=$M_HOLD "
checkv "$WHAT: then M-1's three key copies" test "$(printf '%s\n' "$OUT" | grep '^key ' | awk '{print $2, $3}' | sort | tr '\n' ' ')" = "mission=M-1 class=codes mission=M-1 class=dossier mission=M-1 class=work "
checkv "$WHAT: and M-1's objects" has "want asked=$N1 obj=$N1 missing=0"$'\n'
checkv "$WHAT: the office records that mallory-laptop holds M-1" eval 'G show main:missions/M-1/devices/mallory-laptop | grep -qx "status held"'
after 'push: 2 events' changed
copy_office
M2_HOLD=$(device_event mallory "$T/mallory.key" mallory-laptop M-2)
session "a PUSH of a device.hold of M-2, a mission mallory holds no role on" login push:old="$HEAD",new="$M2_HOLD",git="$T/v/audit.git",noread=1
refused 6 'push refused: event [0-9a-f]+: device.hold of M-2 by mallory, who holds no role on it'
copy_office
AUD_HOLD=$(device_event mallory "$T/mallory.key" audrey-laptop M-1)
session "a PUSH of a device.hold of M-1 by audrey's device" login push:old="$HEAD",new="$AUD_HOLD",git="$T/v/audit.git",noread=1
refused 6 "push refused: event [0-9a-f]+: device.hold for device audrey-laptop, which is audrey's, by mallory"
session "mallory's device, registered: the office notes its contact" login bye
checkv "$WHAT: WELCOME, the device active" has 'recv WELCOME user=mallory .* device=active'$'\n'
checkv "$WHAT: its contact noted" test -f "$OFFICE/contacts/mallory-laptop"
after 'session opened \(technician, device mallory-laptop, 1 missions held\)'
# every history object under missions/M-1, in any commit (its device entries too)
for c in $(G rev-list main); do G ls-tree -r -t "$c" missions/M-1 | awk '{print $3}'; done | sort -u >"$T/m1-ids"
session "a WANT of M-2's objects as a member of M-1" login want:ids="$T/m2-objects" want:ids="$T/m1-objects" bye
checkv "$WHAT: M-2's MISSING, M-1's sent (and match their names)" has \
	"want asked=$N2 obj=0 missing=$N2"$'\n'"(.*"$'\n'")*want asked=$N1 obj=$N1 missing=0"$'\n'
after 'session opened|replica left'
session "KEYS as a member of M-1" login keys bye
checkv "$WHAT: M-1's three key copies, nothing else" test "$(printf '%s\n' "$OUT" | grep '^key ' | awk '{print $2, $3}' | sort | tr '\n' ' ')" = "mission=M-1 class=codes mission=M-1 class=dossier mission=M-1 class=work "
# a sealed box (48 bytes more than what it seals) of 32-byte key generations (format.md)
checkv "$WHAT: each a sealed box of class keys" test -z "$(printf '%s\n' "$OUT" | sed -n 's/^key .* len=//p' | awk '($1 - 48) % 32 != 0 || $1 < 80')"
after 'session opened|replica left'

session "FETCH of the whole history as a member of M-1" login fetch:missions=M-1,save="$T/fetched" bye
n=$(wc -l <"$T/fetched")
checkv "$WHAT: FETCH_END's count is what arrived" has "fetched count=$n received=$n older=0 head=$HEAD "
checkv "$WHAT: every commit" test "$(awk '$1 == "commit"' "$T/fetched" | wc -l)" -eq "$(G rev-list main | wc -l)"
checkv "$WHAT: every object one of the office's, whole" test -z "$(awk '{print $2}' "$T/fetched" | G cat-file --batch-check | grep missing)"
checkv "$WHAT: M-1's trees and files" test "$(awk '{print $2}' "$T/fetched" | sort -u | comm -12 - "$T/m1-ids" | wc -l)" -eq "$(wc -l <"$T/m1-ids")"
checkv "$WHAT: nothing of M-2" test "$(leaks "$T/fetched")" -eq 0
after 'fetch:'
session "FETCH from the head, M-1 not listed (a grant since)" login fetch:have="$HEAD",save="$T/older" bye
n=$(wc -l <"$T/older")
checkv "$WHAT: older is 1, the count is what arrived" has "fetched count=$n received=$n older=1 "
checkv "$WHAT: M-1's trees and files, nothing else" test "$(awk '{print $2}' "$T/older" | sort -u | comm -23 - "$T/m1-ids" | wc -l)" -eq 0 -a -s "$T/older"
checkv "$WHAT: nothing of M-2" test "$(leaks "$T/older")" -eq 0
after 'fetch:|session opened'
SCAN=$(cd "$OFFICE/objects" && ls -S $(sed 's#^\(..\)#\1/\1#' "$T/m1-objects") | head -1) # the largest
SCAN=${SCAN##*/}
printf '%s\n' $(for i in $(seq 64); do echo "$SCAN"; done) >"$T/want-64"
session "a WANT of 64 large objects, then reading nothing" timeout=1 login want:ids="$T/want-64",noread=1 stopread
after 'read nothing|session ended'

# A revoke while a session is open: from then on, the session gets none
# of M-1's objects or key copies ("the current state's files of the
# missions and classes the user holds keys for").
printf '%q ' "$TOOL_BIN" --identity "$T/alice.id" --passphrase-file "$T/alice.pass" -R "$OFFICE" \
	mission revoke M-1 mallory >"$T/revoke.sh"
session "a revoke of mallory during her session" login want:ids="$T/m1-objects" run:file="$T/revoke.sh" want:ids="$T/m1-objects" keys bye
checkv "$WHAT: the revoke was made" has 'ran .*: exit 0'
checkv "$WHAT: M-1's objects before it, MISSING after it" has \
	"want asked=$N1 obj=$N1 missing=0"$'\n'"(.*"$'\n'")*want asked=$N1 obj=0 missing=$N1"$'\n'
checkv "$WHAT: no key copy after it" eval '! has key'
after 'session opened' changed
expect 0 "alice grants M-1 to mallory again" by alice mission grant M-1 mallory
HEAD=$(G rev-parse main)
STATE=$(vault_state)

# Pushes built with stock git in a copy of the vault: a file.remove of
# one of bob's M-1 files, made and signed (SSHSIG, namespace git) by
# mallory's OpenSSH key, is an event mallory may record.
copy_office
SEQ=$(V log -1 --format=%B main | sed -n 's/^Evault-Seq: //p')
remove_msg="Remove file from M-1/work

Evault-Seq: $((SEQ + 1))
Evault-Action: file.remove
Evault-Actor: mallory
Evault-Mission: M-1
Evault-Class: work
Evault-File: $FID"
ADMIN='s/^role technician$/role admin/'
FORGED=$(event mallory "$T/mallory.key" "$ADMIN" 1 "$remove_msg")
UNSIGNED=$(event mallory "" "$ADMIN" 1 "$remove_msg")
check "forged events made with git" test -n "$FORGED" -a -n "$UNSIGNED"
check "... whose tree makes mallory admin" test "$(V show "$FORGED:users/mallory" | sed -n 's/^role //p')" = admin
session "a forged push: mallory's file.remove that also makes her admin, signed" login push:old="$HEAD",new="$FORGED",git="$T/v/audit.git",noread=1
refused 6 'push refused: event [0-9a-f]+: file.remove may change only'
checkv "$WHAT: the forged commit is not in the office's history" eval "! G cat-file -e $FORGED 2>/dev/null"
session "the same forged push, unsigned" login push:old="$HEAD",new="$UNSIGNED",git="$T/v/audit.git",noread=1
refused 6 'push refused: event [0-9a-f]+: .*not signed'
# a valid event of bob's, made by evault itself in the copy, pushed by mallory
by bob -R "$T/v" rm M-1/dossier/rapport.txt >/dev/null 2>&1
BOBS=$(V rev-parse main)
check "bob's event made in the copy" test "$BOBS" != "$HEAD"
session "mallory pushes an event of bob's" login push:old="$HEAD",new="$BOBS",git="$T/v/audit.git",noread=1
refused 6 'is not an event of mallory'
V update-ref refs/heads/main "$HEAD"
LEGIT=$(event mallory "$T/mallory.key" "" 1 "$remove_msg")
session "mallory's own file.remove, made with git and ssh-keygen (a legitimate push)" login push:old="$HEAD",new="$LEGIT",git="$T/v/audit.git",extra="$T/stray" bye
checkv "$WHAT: PUSHED, seq $((SEQ + 1))" has "recv PUSHED head=$LEGIT seq=$((SEQ + 1))"$'\n'
checkv "$WHAT: the office's head is the new event" test "$(G rev-parse main)" = "$LEGIT"
checkv "$WHAT: its reflog says sync: push" test "$(G reflog show -1 --format=%gs main)" = "sync: push"
checkv "$WHAT: the stray blob sent with it is not in the office's history" not_in_history "$STRAY"
after 'push: 1 events' changed
check "the file is gone from the office's state" test -z "$(G ls-tree -r main missions/M-1/work | grep "$FID")"
session "the same push again (its PUSHED lost)" login push:old="$(G rev-parse main~1)",new="$LEGIT",git="$T/v/audit.git",noread=1
refused 9 'moved'

# ---- seeded random sessions after a good login ----
# At most 300 sessions or 60 s, and no more than what keeps the whole test
# within two minutes (EVAULT_E2E_FUZZ_SECONDS sets it).
SEED=${EVAULT_E2E_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
FUZZ_SECONDS=$((105 - (SECONDS - t_start)))
[ "$FUZZ_SECONDS" -gt 60 ] && FUZZ_SECONDS=60
[ "$FUZZ_SECONDS" -lt 10 ] && FUZZ_SECONDS=10
FUZZ_SECONDS=${EVAULT_E2E_FUZZ_SECONDS:-$FUZZ_SECONDS}
echo "  random sessions: seed $SEED (EVAULT_E2E_SEED=$SEED repeats them)"
: >"$T/fuzz.err"
# the pushes it makes include one of a candidate event on the head: a
# promotion of mallory to admin (refused, however the frames are mangled)
V update-ref refs/heads/main "$LEGIT"
CANDIDATE=$(event mallory "$T/mallory.key" "$ADMIN" 0 "Add user mallory (admin)

Evault-Seq: $((SEQ + 2))
Evault-Action: user.add
Evault-Actor: mallory
Evault-User: mallory
Evault-Role: admin")
client "$T/fuzz.out" "$T/fuzz.cerr" --serve "$EVAULT_BIN serve -R $OFFICE --timeout $TIMEOUT" \
	--key "$T/mallory.key" --device mallory-laptop --limit $((TIMEOUT + SLACK)) --stderr "$T/fuzz.err" \
	fuzz repo="$OFFICE" seed="$SEED" seconds="$FUZZ_SECONDS" sessions=300 git="$T/v/audit.git" new="$CANDIDATE" \
	watch=audit.git+keys+evault.conf
grep '^fuzz session [0-9]' "$T/fuzz.out" | head -n 6 | cut -c1-400 | sed 's/^/  /'
grep '^fuzz sessions=' "$T/fuzz.out" | sed 's/^/  /'
[ -s "$T/fuzz.cerr" ] && ko "the client failed: $(head -c 600 "$T/fuzz.cerr")"
check "random sessions ran, each after a good login" grep -qE '^fuzz sessions=([1-9][0-9]*) logins=\1 ' "$T/fuzz.out"
check "no server killed by a signal or hung" grep -q '^fuzz sessions=.* signal=0 hung=0 ' "$T/fuzz.out"
check "no session changed the history, key copies or settings (each checked after each)" grep -q '^fuzz sessions=.* changed=0 ' "$T/fuzz.out"
if [ -s "$T/fuzz.err" ]; then
	ko "nothing on the servers' stderr (no sanitizer report): $(head -c 2000 "$T/fuzz.err")"
else
	ok "nothing on the servers' stderr (no sanitizer report)"
fi
check "the head did not move" test "$(G rev-parse main)" = "$HEAD"
check "no quarantine left behind" test -z "$(ls -A "$OFFICE/tmp")"
expect 0 "audit verify after the random sessions" verify

# ---- the end ----
expect 0 "audit verify --objects" as alice audit verify --objects
expect 0 "fsck --full" "$EVAULT_BIN" -R "$OFFICE" fsck --full
git_verify_all "$OFFICE" && ok "stock git verifies every commit, mallory's too" || ko "stock git verifies every commit"
echo "  $SESSIONS sessions, then the random ones, in $((SECONDS - t_start)) s"
finish
