#!/usr/bin/env bash
# Group commits in the mount (docs/mount.md, "What is durable when"):
# close(2) queues a file, the mount records what was closed within its
# window as one signed file.commit event per mission; fsync(2) returns once
# the file is recorded; removals are grouped too; kill -9 during a burst
# loses at most what was not yet recorded, never a recorded file; and a
# file.commit that does not say exactly what it changed fails verify.
. "$(dirname "$0")/lib.sh"
standard_vault
HERE=$(cd "$(dirname "$0")" && pwd)
FORGE=${EVAULT_FORGE:-$(dirname "$EVAULT_BIN")/evault-forge}
raw_events() { git -C "$T/vault/audit.git" rev-list --count main; }
M=$T/m
W=$M/M-1/work
expect 0 "bob mounts the vault" mnt bob "$M"

# fsync: durable and recorded before it returns
out=$(timeout -k 2 30 python3 - "$W/fsynced.txt" "$T/vault/audit.git" <<'PY'
import os, subprocess, sys
path, git = sys.argv[1], sys.argv[2]
count = lambda: int(subprocess.run(["git", "-C", git, "rev-list", "--count", "main"],
                                   capture_output=True, text=True).stdout)
before = count()
fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o644)
os.write(fd, b"durable at fsync\n")
os.fsync(fd)
after = count()
os.close(fd)
print(after - before)
PY
)
check "fsync returns once its event is in the history (events +$out)" test "$out" = 1
check "... which records the file" bash -c "git -C '$T/vault/audit.git' log -1 --format=%B main | grep -q '^Evault-Action: file.commit$'"

# close: files closed within the window are recorded together
e0=$(raw_events)
timeout -k 2 60 python3 - "$W/burst" <<'PY'
import os, sys
d = sys.argv[1]
os.makedirs(d)
for i in range(300):
    with open(os.path.join(d, "note-%03d.txt" % i), "w") as f:
        f.write("note %d\n" % i * 20)
PY
check "300 files closed" test "$(ls "$W/burst" | wc -l)" -eq 300
check "... listed at once, before they are recorded" test -s "$W/burst/note-299.txt"
settled "$M" window && ok "... recorded within the window" || ko "still queued"
e1=$(raw_events)
check "... in a few events, not 300 ($((e1 - e0)))" test $((e1 - e0)) -ge 1 -a $((e1 - e0)) -le 10
expect 0 "the CLI lists them" as bob ls M-1/work/burst
check "... all 300" test "$(wc -l <"$T/out")" -eq 300
check "the CLI reads one back" test "$(as bob get M-1/work/burst/note-123.txt - | head -1)" = "note 123"
as bob log --names -n $((e1 - e0)) >"$T/log" 2>&1
check "log --names lists each file of the events" test "$(grep -o 'work/burst/note-[0-9]*\.txt' "$T/log" | sort -u | wc -l)" -eq 300
check "... and the events say how many" grep -q 'Record [0-9]* files in M-1' "$T/log"

# sync of a directory in the mount: everything queued recorded when it returns
e0=$(raw_events)
for i in 1 2 3; do echo "synced $i" >"$W/dirsync-$i.txt"; done
sync "$W" && ok "sync DIR" || ko "sync DIR"
check "... returns once the queue is recorded (events +$(($(raw_events) - e0)))" test "$(raw_events)" -eq $((e0 + 1))
check "... queued 0" grep -q '^queued   0$' "$M/.evault/status"

# removals: grouped like closes
e0=$(raw_events)
rm -r "$W/burst" && ok "rm -r of 300 files" || ko "rm -r"
settled "$M"
e1=$(raw_events)
check "... recorded in a few events ($((e1 - e0)))" test $((e1 - e0)) -ge 1 -a $((e1 - e0)) -le 10
expect 3 "... gone for the CLI" as bob ls M-1/work/burst
as bob log --names -n 1 >"$T/log" 2>&1
check "... log marks them removed" grep -q -- '-work/burst/note-' "$T/log"

# a file written again while queued: its accepted version stays if the new one is refused
head -c 65536 /dev/zero >"$W/blank.bin"
python3 "$HERE/fixtures/media.py" jpeg "$T/p.jpg"
dd if="$T/p.jpg" of="$W/blank.bin" bs=4096 count=1 conv=notrunc status=none 2>/dev/null
check "a photo header written over a queued file is refused, the zeros stay" \
	test "$(as bob get M-1/work/blank.bin - | head -c 4 | od -An -tx1 | tr -d ' ')" = 00000000

# another writer changed the class between two of bob's groups: his next
# group finds the entry of the same path and replaces it, never a second one
expect 0 "alice mounts too" mnt alice "$T/ma"
echo "v1" >"$W/shared.txt"
settled "$M"
echo "alice's" >"$T/ma/M-1/work/alice.txt"
settled "$T/ma"
echo "v2" >"$W/shared.txt"
settled "$M"
check "... one entry for the path, not two" test "$(as bob ls M-1/work | grep -c '^shared.txt$')" -eq 1
check "... with the new content" test "$(as bob get M-1/work/shared.txt -)" = v2
as alice umount "$T/ma" >/dev/null

expect 0 "verify" "$EVAULT_BIN" audit verify --objects
expect 0 "fsck" "$EVAULT_BIN" fsck --full

# kill -9 during a burst of small files: fsync'd ones (and all closed before
# them) are intact; later ones absent or whole; the repository stays sound
pid=$(sed -n 's/^pid *//p' "$M/.evault/status")
timeout -k 2 60 python3 - "$W/crash" "$T/crash.log" <<'PY' &
import os, sys
d, log = sys.argv[1], sys.argv[2]
os.makedirs(d)
with open(log, "w") as lg:
    i = 0
    while True:
        p = os.path.join(d, "f%05d.txt" % i)
        try:
            fd = os.open(p, os.O_CREAT | os.O_WRONLY, 0o644)
            os.write(fd, (("%d\n" % i) * 500).encode())
            if i % 40 == 39:
                os.fsync(fd)
            os.close(fd)
        except OSError:
            break
        if i % 40 == 39:
            lg.write("synced %d\n" % i)
            lg.flush()
        i += 1
PY
writer=$!
sleep 2.5
kill -9 "$pid"
wait $writer 2>/dev/null
fusermount3 -u -z "$M" 2>/dev/null || umount -l "$M" 2>/dev/null
synced=$(sed -n 's/^synced //p' "$T/crash.log" | tail -1)
check "the writer got through several fsyncs before the kill (${synced:-none})" test -n "$synced"
expect 0 "verify after kill -9" "$EVAULT_BIN" audit verify --objects
expect 0 "fsck after kill -9" "$EVAULT_BIN" fsck --full
expect 0 "remount" mnt bob "$M"
out=$(python3 - "$W/crash" "${synced:-0}" <<'PY'
import os, sys
d, synced = sys.argv[1], int(sys.argv[2])
lost = whole = 0
for i in range(synced + 1):
    p = os.path.join(d, "f%05d.txt" % i)
    if not os.path.exists(p) or open(p).read() != ("%d\n" % i) * 500:
        print("file %d, closed before an fsync, is missing or wrong" % i); sys.exit(1)
for name in sorted(os.listdir(d)):
    i = int(name[1:6])
    if i > synced:
        if open(os.path.join(d, name)).read() != ("%d\n" % i) * 500:
            print("%s is there but not whole" % name); sys.exit(1)
        whole += 1
print("ok %d after the last fsync recorded whole" % whole)
PY
)
check "every file closed before the last fsync is intact, later ones absent or whole ($out)" test "${out%% *}" = ok

# file.commit events that do not tell exactly what they change
echo "kept" >"$W/kept.txt"
settled "$M"
as bob umount "$M" >/dev/null
cp -a "$T/vault" "$T/honest"
"$FORGE" "$T/honest" "$T/bob.id" "$T/bob.pass" batch M-1/work/kept.txt honest >/dev/null ||
	ko "forging the honest batch"
# (each copy verified with its own home: a verified head is kept per vault id)
mkdir -p "$T/h-honest"
expect 0 "a file.commit that lists its change verifies" env HOME="$T/h-honest" "$EVAULT_BIN" -R "$T/honest" audit verify
for lie in unlisted count fid; do
	cp -a "$T/vault" "$T/lie-$lie"
	"$FORGE" "$T/lie-$lie" "$T/bob.id" "$T/bob.pass" batch M-1/work/kept.txt "$lie" >/dev/null ||
		ko "forging the $lie batch"
	mkdir -p "$T/h-$lie"
	expect 1 "a file.commit that lies ($lie) fails verify" env HOME="$T/h-$lie" "$EVAULT_BIN" -R "$T/lie-$lie" audit verify
	check "... naming the rule" grep -q 'file.commit' "$T/out" "$T/err"
done
expect 0 "the real vault still verifies" "$EVAULT_BIN" audit verify --objects
check "no sanitizer report from the mount processes" san_clean
git_verify_all "$T/vault" && ok "stock git verifies every commit" || ko "stock git"
finish
