#!/usr/bin/env bash
# The mount under load (docs/mount.md): random operations checked against a
# model (fsx.py, fixed seeds, bounded time), several processes at once in
# one directory (stress.py), and everyday programs that work a file system
# hard (rsync -a, git). No crash, no hang, no lost byte, no sanitizer
# report; the history verifies afterwards. Longer runs: tests/fsx.sh.
. "$(dirname "$0")/lib.sh"
standard_vault
HERE=$(cd "$(dirname "$0")" && pwd)
alive() { timeout -k 1 10 head -c 1 "$M/.evault/status" >/dev/null 2>&1; }
M=$T/m
W=$M/M-1/work
# the sanitized build runs several times slower: the same seeds, fewer operations
scale=1
[ -n "${EVAULT_E2E_SANITIZED:-}" ] && scale=3

expect 0 "bob mounts the vault" mnt bob "$M"
pid=$(sed -n 's/^pid *//p' "$M/.evault/status")

# random operations, each read checked against a model; a failure names its seed
for seed in 1 2 3 4 5 6 7 8; do
	case $seed in
	1 | 2) opts=(--max-size 8388608 --handles 3) ;;   # several 1 MiB chunks, holes, mmap
	3 | 4) opts=(--max-size 262144 --handles 4) ;;    # a small file, many handles
	5 | 6) opts=(--max-size 4194304 --handles 2 --no-mmap) ;;
	*) opts=(--max-size 16777216 --handles 3) ;;
	esac
	out=$(timeout -k 5 300 python3 "$HERE/fixtures/fsx.py" --seed "$seed" --ops $((900 / scale)) \
		"${opts[@]}" "$W/fsx$seed.bin" 2>"$T/fsx.err")
	rc=$?
	[ $rc -eq 0 ] && ok "fsx seed $seed: $((900 / scale)) random operations match the model" ||
		ko "fsx seed $seed (exit $rc): $out $(tail -3 "$T/fsx.err" | tr '\n' ' ')"
done
check "the mount is alive after fsx" alive
for seed in 1 3 5; do # what was committed at the last close is what the mount shows
	as bob get "M-1/work/fsx$seed.bin" "$T/fsx$seed.got" 2>/dev/null &&
		cmp -s "$T/fsx$seed.got" "$W/fsx$seed.bin" && ok "fsx seed $seed: the recorded file is the mount's" ||
		ko "fsx seed $seed: recorded file differs"
done

# several processes at once in one directory: appends, read-ahead, open/close
# churn, renames, stats; every process must finish within its bound
mkdir "$W/stress"
out=$(timeout -k 5 200 python3 "$HERE/fixtures/stress.py" --seconds $((20 / scale + 5)) --procs 8 \
	--timeout 120 "$W/stress" 2>&1)
rc=$?
[ $rc -eq 0 ] && ok "8 processes at once: $(echo "$out" | tail -1)" || ko "stress (exit $rc): $(echo "$out" | head -8 | tr '\n' ' ')"
check "the mount is alive after the stress run" alive
as bob get M-1/work/stress/log.txt "$T/log.txt" 2>/dev/null && cmp -s "$T/log.txt" "$W/stress/log.txt" &&
	ok "... the appended log as recorded is the mount's" || ko "appended log differs from the record"

# everyday programs: rsync -a of a source tree, then git at work inside the mount
SRC=$(cd "$HERE/../.." && pwd)
mkdir -p "$T/src"
cp -r "$SRC/vaultd" "$SRC/cli" "$SRC/fusefs" "$SRC/docs" "$SRC/tests/unit" "$T/src/"
out=$(timeout -k 5 300 rsync -a "$T/src/" "$W/src/" 2>&1)
rc=$?
[ $rc -eq 0 ] && ok "rsync -a of $(find "$T/src" -type f | wc -l) files" || ko "rsync -a (exit $rc): $(echo "$out" | head -3)"
timeout -k 5 120 diff -r "$T/src" "$W/src" >"$T/diff" 2>&1 && ok "... the same tree (diff -r)" ||
	ko "... diff -r: $(head -c 300 "$T/diff")"
out=$(timeout -k 5 120 rsync -a --delete --checksum "$T/src/" "$W/src/" 2>&1) && ok "... and again, nothing to do" ||
	ko "rsync again: $out"
g() { timeout -k 5 300 git -C "$W/src" -c user.name=bob -c user.email=bob@example.com "$@"; }
g init -q && g add -A && g commit -q -m "first" && ok "git init, add, commit inside the mount" || ko "git commit"
echo "/* changed */" >>"$W/src/vaultd/util.c"
g mv cli/main.c cli/main2.c && g commit -q -am "second" && ok "git mv and commit" || ko "git second commit"
out=$(g fsck --strict 2>&1) && ok "git fsck of the repository in the mount" || ko "git fsck: $(echo "$out" | head -3)"
check "git status is clean" test -z "$(g status --porcelain 2>&1)"
g gc -q 2>/dev/null && ok "git gc (packs, renames, deletes)" || ko "git gc"
check "git log has both commits" test "$(g rev-list --count HEAD)" = 2
check "the mount is alive at the end" alive
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
ok "mount peak memory $((hwm / 1024)) MiB"

# stopped by a signal (a shutdown) while a program still has a file open:
# what it wrote is recorded, nothing leaks
python3 -c "
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o644)
os.write(fd, b'written before the mount was stopped\n')
time.sleep(5)" "$W/held.txt" 2>/dev/null &
holder=$!
# (stopped once the holder has written: its file has bytes then)
eventually 20 test -s "$W/held.txt" || ko "the holder did not write in 20 s"
kill -TERM "$pid"
for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
check "SIGTERM stops the mount while a file is open" bash -c "! kill -0 $pid 2>/dev/null"
wait $holder
fusermount3 -u -z "$M" 2>/dev/null
check "... and what the open file held is recorded" \
	test "$(as bob get M-1/work/held.txt - 2>/dev/null)" = "written before the mount was stopped"
expect 0 "the history verifies, objects included" as alice audit verify --objects
expect 0 "fsck --full" "$EVAULT_BIN" fsck --full

# a full disk: writes fail (and stay failed) with a clear error, nothing hangs,
# what was recorded before stays
mkdir -p "$T/small"
mount -t tmpfs -o size=12m tmpfs "$T/small" && MOUNTS+=("$T/small")
S=$T/small/vault
as alice -R "$S" init --admin alice >/dev/null 2>&1 && as alice -R "$S" mission create F-1 >/dev/null 2>&1 &&
	ok "a vault on a 12 MiB file system" || ko "vault on a small file system"
MOUNTS=("$T/ms" "${MOUNTS[@]}")
mkdir -p "$T/ms"
ASAN_OPTIONS="${ASAN_OPTIONS:-}:log_path=$T/san" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:log_path=$T/san" \
	as alice -R "$S" mount "$T/ms" && ok "... mounted" || ko "mount on a small file system"
echo "recorded before the disk filled" >"$T/ms/F-1/work/before.txt"
timeout -k 5 120 dd if=/dev/urandom of="$T/ms/F-1/work/big.bin" bs=1M count=40 status=none 2>"$T/err"
rc=$?
check "writing 40 MiB onto 12 MiB fails, without hanging (exit $rc)" test $rc -ne 0 -a $rc -ne 124
check "... saying why" grep -qE 'No space left|Input/output error' "$T/err"
check "... and the mount is alive" bash -c "timeout 10 head -c 1 '$T/ms/.evault/status' >/dev/null"
check "the file recorded before is intact" test "$(cat "$T/ms/F-1/work/before.txt")" = "recorded before the disk filled"
rm -f "$T/ms/F-1/work/big.bin"
expect 0 "alice unmounts" as alice umount "$T/ms"
expect 0 "that vault's history verifies, objects included" as alice -R "$S" audit verify --objects
sleep 1
check "no sanitizer report from the mount processes" san_clean
finish
