#!/usr/bin/env bash
# Long runs of the file-system exerciser (tests/e2e/fixtures/fsx.py) on a
# real mount: a vault made like the e2e tests make it, mounted by bob, and
# fsx runs with seeds FIRST_SEED, FIRST_SEED+1, ... on files in M-1/work
# until SECONDS have passed or a seed fails. Then the mount is unmounted and
# the whole history verified.
#
#   tests/fsx.sh [SECONDS] [FIRST_SEED]     (defaults: 600 s, seed 1)
#
# Builds nothing: EVAULT_BIN names the binary (default build/evault).
# FSX_OPTS adds options to every fsx run (e.g. "--no-mmap --ops 500");
# FSX_TIMEOUT bounds one seed (default 600 s: a hung mount is a failure);
# FSX_KEEP=1 keeps the vault and the sanitizer logs after a failure.
# Exit 0 when every seed passed and the history verifies.
HERE=$(cd "$(dirname "$0")" && pwd)
EVAULT_BIN=${EVAULT_BIN:-$(cd "$HERE/.." && pwd)/build/evault}
. "$HERE/e2e/lib.sh"
FSX=$HERE/e2e/fixtures/fsx.py
budget=${1:-600}
seed=${2:-1}
per_seed=${FSX_TIMEOUT:-600}
read -r -a fsx_opts <<<"${FSX_OPTS:-}"

standard_vault
M=$T/m
mnt bob "$M" || { echo "fsx.sh: the mount failed"; exit 1; }
pid=$(sed -n 's/^pid *//p' "$M/.evault/status")
echo "fsx.sh: $EVAULT_BIN mounted at $M (process $pid), ${budget} s from seed $seed"

mount_state() { # up, dead (the process), hung (its root does not answer) or gone (unmounted)
	if ! kill -0 "$pid" 2>/dev/null; then echo dead; return; fi
	timeout -k 5 10 mountpoint -q "$M"
	case $? in 0) echo up ;; 124 | 137) echo hung ;; *) echo gone ;; esac
}
tmo() { timeout -k 10 "$per_seed" "$@"; } # a hung mount must not hang the run
failed=
passed=0
start=$(date +%s)
while [ $(($(date +%s) - start)) -lt "$budget" ]; do
	f=$M/M-1/work/fsx-$seed.bin
	t0=$(date +%s.%N)
	tmo python3 "$FSX" --seed "$seed" "${fsx_opts[@]}" "$f" >"$T/fsx.out" 2>"$T/fsx.err"
	rc=$?
	secs=$(printf '%.1f' "$(echo "$(date +%s.%N) - $t0" | bc)")
	line=$(head -1 "$T/fsx.out")
	[ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && line="fsx: seed $seed: timed out after $per_seed s (mount hung?)"
	[ -n "$line" ] || line="fsx: seed $seed: exit $rc: $(head -c 300 "$T/fsx.err")"
	if [ "$rc" -eq 0 ]; then
		# what the mount committed at the last close is what the CLI reads
		if ! tmo "$EVAULT_BIN" --identity "$T/bob.id" --passphrase-file "$T/bob.pass" \
			get "M-1/work/fsx-$seed.bin" "$T/got" >/dev/null 2>"$T/get.err"; then
			rc=1
			line="fsx: seed $seed: evault get failed or hung: $(head -c 200 "$T/get.err")"
		else
			tmo cmp "$T/got" "$f" >"$T/cmp.out" 2>&1
			case $? in
			0) ;;
			1) rc=1 line="fsx: seed $seed: the committed file differs from the mount's: $(head -1 "$T/cmp.out")" ;;
			124 | 137) rc=1 line="fsx: seed $seed: reading the file back through the mount hung" ;;
			*) rc=1 line="fsx: seed $seed: reading the file back: $(head -1 "$T/cmp.out")" ;;
			esac
		fi
		rm -f "$T/got"
	fi
	echo "$line (${secs} s)"
	if [ "$rc" -ne 0 ]; then
		failed=$seed
		sed 's/^/    /' "$T/fsx.err"
		echo "fsx.sh: the mount is $(mount_state)"
		echo "fsx.sh: replay: python3 $FSX --seed $seed ${FSX_OPTS:+$FSX_OPTS }FILE-IN-A-MOUNT"
		break
	fi
	tmo rm -f "$f" || { failed=$seed; echo "fsx.sh: cannot remove $f"; break; }
	passed=$((passed + 1))
	seed=$((seed + 1))
done

rc=0
state=$(mount_state)
if [ "$state" = up ]; then
	tmo "$EVAULT_BIN" --identity "$T/bob.id" --passphrase-file "$T/bob.pass" umount "$M" >/dev/null ||
		{ echo "fsx.sh: umount failed"; rc=1; }
else
	echo "fsx.sh: the mount is $state (process $pid)"
	rc=1
fi
# still in the mount table (a dead mount answers ENOTCONN): detached
grep -q " $M fuse" /proc/mounts && { fusermount3 -u -z "$M" 2>/dev/null || umount -l "$M"; }
for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && { echo "fsx.sh: the mount process outlived its unmount: killed"; kill -9 "$pid"; rc=1; }
if as alice audit verify --objects >"$T/verify.out" 2>&1; then
	echo "fsx.sh: audit verify --objects: ok"
else
	echo "fsx.sh: audit verify --objects FAILED: $(head -c 500 "$T/verify.out")"
	rc=1
fi
sleep 1
if ls "$T"/san.* >/dev/null 2>&1; then
	echo "fsx.sh: sanitizer reports from the mount:"
	grep -h -A 12 '^==[0-9]*==ERROR' "$T"/san.* | head -60
	grep -h '^SUMMARY' "$T"/san.*
	rc=1
fi
[ -n "$failed" ] && rc=1
if [ "$rc" -ne 0 ] && [ -n "${FSX_KEEP:-}" ]; then
	trap - EXIT
	for m in "${MOUNTS[@]}"; do umount -l "$m" 2>/dev/null; done
	echo "fsx.sh: kept $T"
fi
echo "fsx.sh: $passed seeds passed${failed:+, seed $failed failed} in $(($(date +%s) - start)) s"
exit "$rc"
