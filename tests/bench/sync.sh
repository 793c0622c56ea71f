#!/usr/bin/env bash
# Benchmark (not a test): evault sync over ssh on loopback, next to rsync -a
# over the same ssh in the same run. A real sshd is started on 127.0.0.1
# (tests/e2e/sshd.sh); evault reaches `evault serve` as a forced command,
# rsync reaches its own server with another key.
#
#   workload                                                    target
#   push of 1 GiB of 4 MiB incompressible photos (sync)         >= 0.8  x rsync's rate
#   fetch of them into a fresh replica (clone + sync --offline) >= 0.8  x rsync's rate
#   push of 10,000 files of 20 KiB (sync)                       >= 0.5  x rsync's rate
#   fetch of them (clone + sync --offline)                      >= 0.5  x rsync's rate
#   a sync with nothing to do, vault of 10,000 files            < 0.3 s
#   peak memory (max RSS) of evault sync and of evault serve    < 100 MiB
#
# The files are put into the laptop's replica before the timed push
# (`evault import`, untimed); rsync copies the same source folders. Both
# sides write to the same file system (TMPDIR).
#
# usage: tests/bench/sync.sh [SCALE]   (1 = the sizes above; 0.1 for a quick look)
#        EVAULT_BIN=path/to/evault to measure another build
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/../.."
scale=${1:-${SCALE:-1}}
[ -n "${EVAULT_BIN:-}" ] || [ -x build/evault ] || scripts/build.sh build >/dev/null
export EVAULT_BIN=${EVAULT_BIN:-$PWD/build/evault}
command -v rsync >/dev/null || apt-get install -y rsync >/dev/null
. tests/e2e/lib.sh
. tests/e2e/sshd.sh
set +u

nphotos=$(awk -v s="$scale" 'BEGIN { n = int(256 * s); print n < 1 ? 1 : n }')
nsmall=$(awk -v s="$scale" 'BEGIN { n = int(10000 * s); print n < 1 ? 1 : n }')
[ -n "${PHOTOS_ONLY:-}" ] && nsmall=100 # PHOTOS_ONLY=1: a quick look at the large objects
now() { date +%s.%N; }
rate() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", b / 1e6 / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

echo "making $nphotos photos of 4 MiB and $nsmall files of 20 KiB..."
mkdir -p "$T/src/photos" "$T/src/small"
for i in $(seq "$nphotos"); do head -c 4194304 /dev/urandom >"$T/src/photos/p$i.jpg.bin"; done
for d in $(seq 0 99); do
	mkdir -p "$T/src/small/d$d"
	for i in $(seq "$d" 100 $((nsmall - 1))); do head -c 20480 /dev/urandom >"$T/src/small/d$d/f$i"; done
done
pbytes=$((nphotos * 4194304))
sbytes=$((nsmall * 20480))

standard_vault >/dev/null 2>&1
OFFICE=$T/vault
unset EVAULT_REPO
as alice -R "$OFFICE" mission create M-PH --member bob >/dev/null
as alice -R "$OFFICE" mission create M-SM --member bob >/dev/null

sshd_start
SSH_bob=$(sshd_client bob)
SSH_rs=$(sshd_client rsync)
# evault serve with its peak memory written down after each session
sshd_authorize bob "/usr/bin/time -f %M -a -o $T/serve.rss $EVAULT_BIN serve -R $OFFICE"
printf '#!/bin/sh\nexec /bin/sh -c "$SSH_ORIGINAL_COMMAND"\n' >"$T/orig.sh"
chmod +x "$T/orig.sh"
sshd_authorize rsync "$T/orig.sh"
URL="ssh://root@127.0.0.1:$SSHD_PORT$OFFICE"
ev() { EVAULT_SSH=$SSH_bob /usr/bin/time -f %M -a -o "$T/sync.rss" "$EVAULT_BIN" --identity "$T/bob.id" --passphrase-file "$T/bob.pass" "$@"; }
rs() { rsync -a -e "$SSH_rs -p $SSHD_PORT" "$@"; }
cold() { sync; [ -w /proc/sys/vm/drop_caches ] && echo 3 >/proc/sys/vm/drop_caches; return 0; }

ev clone --device bob-laptop "$URL" "$T/lap" >/dev/null
echo "importing into the laptop's replica (untimed)..."
ev -R "$T/lap" import M-PH "$T/src/photos" --to work >/dev/null
# the small files through the mount (one import per file would take minutes)
mkdir -p "$T/mnt"
"$EVAULT_BIN" --identity "$T/bob.id" --passphrase-file "$T/bob.pass" -R "$T/lap" mount "$T/mnt" >/dev/null
cp -r "$T/src/small" "$T/mnt/M-SM/work/"
"$EVAULT_BIN" -R "$T/lap" umount "$T/mnt" >/dev/null

row() { printf '%-48s %10s %10s %8s\n' "$@"; }
results=()
measure() { # NAME BYTES EVAULT-CMD... -- RSYNC-CMD...
	local name=$1 bytes=$2; shift 2
	local e=() r=()
	while [ "$1" != -- ]; do e+=("$1"); shift; done
	shift
	r=("$@")
	cold
	local t0 t1 t2 t3
	t0=$(now); "${r[@]}" >/dev/null; t1=$(now)
	cold
	t2=$(now); "${e[@]}" >/dev/null; t3=$(now)
	local er rr
	er=$(rate "$bytes" "$(secs "$t2" "$t3")")
	rr=$(rate "$bytes" "$(secs "$t0" "$t1")")
	results+=("$(row "$name" "$er" "$rr" "$(ratio "$er" "$rr")")")
}

echo "measuring..."
measure "push 1 GiB of 4 MiB photos (MB/s)" "$pbytes" \
	ev -R "$T/lap" sync -- rs "$T/src/photos/" "root@127.0.0.1:$T/rs-office-photos/"
ev clone --device bob-laptop2 "$URL" "$T/lap2" >/dev/null
measure "fetch them into a fresh replica (MB/s)" "$pbytes" \
	ev -R "$T/lap2" sync --offline M-PH -- rs "root@127.0.0.1:$T/rs-office-photos/" "$T/rs-lap-photos/"
# the small files: pushed by a third replica's sync? the laptop's own
cp -a "$T/lap" /dev/null 2>/dev/null || :
measure "push 10,000 files of 20 KiB (MB/s)" "$sbytes" \
	ev -R "$T/lap" sync -- rs "$T/src/small/" "root@127.0.0.1:$T/rs-office-small/"
ev clone --device bob-laptop3 "$URL" "$T/lap3" >/dev/null
measure "fetch them into a fresh replica (MB/s)" "$sbytes" \
	ev -R "$T/lap3" sync --offline M-SM -- rs "root@127.0.0.1:$T/rs-office-small/" "$T/rs-lap-small/"

# a sync with nothing to do
noop=()
for i in 1 2 3 4 5; do
	t0=$(now); ev -R "$T/lap" sync >/dev/null; t1=$(now)
	noop+=("$(secs "$t0" "$t1")")
done
noop_med=$(printf '%s\n' "${noop[@]}" | sort -g | sed -n 3p)
t0=$(now); "$SSH_rs" -p "$SSHD_PORT" root@127.0.0.1 true; t1=$(now)
ssh_alone=$(secs "$t0" "$t1")
t0=$(now); "$EVAULT_BIN" --identity "$T/bob.id" --passphrase-file "$T/bob.pass" -R "$T/lap" ls >/dev/null; t1=$(now)
local_cmd=$(secs "$t0" "$t1")

echo
echo "evault sync over ssh on loopback, next to rsync -a over the same ssh ($(nproc) cores, $(date -u +%Y-%m-%d))"
row "workload" "evault" "rsync" "ratio"
printf '%s\n' "${results[@]}"
echo "sync with nothing to do: median of 5 ${noop_med} s (${noop[*]}); ssh alone ${ssh_alone} s; a local evault ls ${local_cmd} s"
echo "peak memory: evault sync/clone $(sort -n "$T/sync.rss" | tail -1) KiB, evault serve $(sort -n "$T/serve.rss" | tail -1) KiB"
ev -R "$T/lap" audit verify >/dev/null && as alice -R "$OFFICE" audit verify --objects >/dev/null && echo "office and laptop verify"
# (the watchdog's wait answers its SIGTERM's status: not a failure under set -e)
sshd_stop || :
