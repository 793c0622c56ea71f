#!/usr/bin/env bash
# What a technician meets around the mount (docs/mount.md): mount points
# and systems refused before anything is mounted, each with its own
# error; .evault/refused saying why a file was refused, and the log line;
# the shell's `>` recording one version, not an empty one first.
. "$(dirname "$0")/lib.sh"
standard_vault
HERE=$(cd "$(dirname "$0")" && pwd)
media() { python3 "$HERE/fixtures/media.py" "$@"; }
ops() { python3 "$HERE/fixtures/fsops.py" "$@"; }
as alice mission create M-2 --member carol >/dev/null
as alice mission create M-3 --member bob >/dev/null
M=$T/m
W=$M/M-1/work
# (mount points here have no spaces: mountinfo writes them as they are)
mounts_on() { grep -cF " $1 " /proc/self/mountinfo; }
unmounted() { test "$(mounts_on "$1")" -eq 0; }

# ---- mount points refused before mounting ----
MOUNTS+=("$T/nope" "$T/file" "$T/full" "$T/empty" "$T/nb") # unmounted at the end, if ever
expect_error 3 "a mount point that does not exist: exit 3" as bob mount "$T/nope"
check "... says so" grep -q "^evault: $T/nope: no such directory" "$T/err"
check "... nothing made, nothing mounted" test ! -e "$T/nope" -a "$(mounts_on "$T/nope")" -eq 0
touch "$T/file"
expect_error 2 "a regular file as mount point: exit 2" as bob mount "$T/file"
check "... says it is not a directory" grep -q "^evault: $T/file: not a directory" "$T/err"
check "... nothing mounted on it" unmounted "$T/file"
check "... still a regular file" test -f "$T/file"
mkdir "$T/full"
echo kept >"$T/full/keep.txt"
expect_error 7 "a directory that is not empty: exit 7" as bob mount "$T/full"
check "... says so" grep -q "^evault: $T/full: not empty" "$T/err"
check "... nothing mounted, its file still there" test "$(mounts_on "$T/full")" -eq 0 -a "$(cat "$T/full/keep.txt")" = kept
# refused before the passphrase is asked: no passphrase source at all here
expect_error 2 "checked before the passphrase is asked" "$EVAULT_BIN" --identity "$T/bob.id" mount "$T/file" </dev/null
check "... the mount point's error, not the passphrase's" grep -q "$T/file: not a directory" "$T/err"
mkdir "$T/empty"
expect_error 2 "an empty directory gets past the checks (then wants a passphrase)" \
	"$EVAULT_BIN" --identity "$T/bob.id" mount "$T/empty" </dev/null
check "... and the error is not about the mount point" bash -c "! grep -q '$T/empty' '$T/err'"

expect 0 "bob mounts the vault" mnt bob "$M"
check "one mount on the point" test "$(mounts_on "$M")" -eq 1
expect_error 9 "mounting again on the same point: exit 9" as bob mount "$M"
check "... says it is a mount point already" grep -q "^evault: $M: already a mount point" "$T/err"
check "... still one mount there, not two" test "$(mounts_on "$M")" -eq 1
expect_error 9 "... another user neither" as carol mount "$M"
check "... still one" test "$(mounts_on "$M")" -eq 1
# a bind mount of a directory of the same file system: same device as its parent
mkdir "$T/b1" "$T/b2"
mount --bind "$T/b1" "$T/b2"
expect_error 9 "a bind mount (same device as its parent) is a mount point too" as bob mount "$T/b2"
check "... one mount there" test "$(mounts_on "$T/b2")" -eq 1
umount "$T/b2"
expect 0 "a mount point freed is fine again" mnt bob "$T/b2"
as bob umount "$T/b2" >/dev/null
# a mount whose process died: the point answers "not connected"
expect 0 "bob mounts a second time elsewhere" mnt bob "$T/dead"
dpid=$(sed -n 's/^pid *//p' "$T/dead/.evault/status")
kill -9 "$dpid"
eventually 10 bash -c "! stat '$T/dead' >/dev/null 2>&1"
expect_error 9 "a mount whose process is gone: exit 9" as bob mount "$T/dead"
check "... says so, with the way out" grep -q "^evault: $T/dead: already a mount point, whose process is gone (fusermount3 -u" "$T/err"
fusermount3 -u -z "$T/dead" 2>/dev/null || umount -l "$T/dead"
check "... after fusermount3 -u, nothing there" unmounted "$T/dead"

# ---- the system: /dev/fuse and fusermount3 (private mount namespaces) ----
ns() { unshare -m --propagation private sh -c "$@"; }
expect_error 1 "/dev/fuse missing: exit 1" ns \
	'mount -t tmpfs none /dev && mknod -m 666 /dev/null c 1 3 && mknod -m 666 /dev/urandom c 1 9 &&
	 exec "$0" --identity "$1" --passphrase-file "$2" mount "$3"' \
	"$EVAULT_BIN" "$T/bob.id" "$T/bob.pass" "$T/empty"
check "... says /dev/fuse is missing" grep -q "^evault: $T/empty: /dev/fuse is missing" "$T/err"
check "... nothing mounted" unmounted "$T/empty"
expect_error 1 "fusermount3 missing: exit 1" ns \
	'for f in /usr/bin/fusermount3 /bin/fusermount3; do [ -e "$f" ] && mount --bind /dev/null "$f"; done
	 exec "$0" --identity "$1" --passphrase-file "$2" mount "$3"' \
	"$EVAULT_BIN" "$T/bob.id" "$T/bob.pass" "$T/empty"
check "... says fusermount3 is missing" grep -q "^evault: $T/empty: fusermount3 is missing" "$T/err"
check "... nothing mounted" unmounted "$T/empty"
# a user who may not open /dev/fuse (mode 0600, as on a machine without
# udev): a copy of the device node bound over it in a private namespace
fuse_mode=$(stat -c '%a %U' /dev/fuse)
chmod 711 "$T"
mkdir "$T/nb" && chown nobody "$T/nb"
mknod -m 600 "$T/fuse600" c 10 229
mknod -m 666 "$T/fuse666" c 10 229
as_nobody_with() { # NODE: nobody mounts at $T/nb with NODE as /dev/fuse
	ns 'mount --bind "$0" /dev/fuse && exec setpriv --reuid=nobody --regid=nogroup --clear-groups "$1" mount "$2"' \
		"$1" "$EVAULT_BIN" "$T/nb"
}
expect_error 1 "a user for whom /dev/fuse is 0600: exit 1" as_nobody_with "$T/fuse600"
check "... says /dev/fuse is not accessible to the user" grep -q "^evault: $T/nb: /dev/fuse is not accessible to you" "$T/err"
check "... nothing mounted" unmounted "$T/nb"
as_nobody_with "$T/fuse666" >"$T/out" 2>"$T/err"
check "... with a 0666 /dev/fuse the same user gets past it (another error)" \
	bash -c "grep -q '^evault: ' '$T/err' && ! grep -q fuse '$T/err'"
check "... nothing mounted" unmounted "$T/nb"
check "the real /dev/fuse is as it was" test "$(stat -c '%a %U' /dev/fuse)" = "$fuse_mode"

# ---- .evault/refused ----
check ".evault lists refused" bash -c "ls '$M/.evault' | grep -qx refused"
check ".evault/refused is empty before any refusal" test -f "$M/.evault/refused" -a ! -s "$M/.evault/refused"
echo x 2>/dev/null >"$M/.evault/refused" && ko "writing .evault/refused" || ok "writing .evault/refused fails"
media jpeg "$T/p.jpg"
media wav "$T/v.wav"
cp "$T/p.jpg" "$M/M-1/dossier/site-photo.jpg" 2>/dev/null && ko "a photo without authorisation is stored" ||
	ok "a photo without authorisation is refused"
cp "$T/v.wav" "$M/M-3/work/memo.wav" 2>/dev/null && ko "audio is stored" || ok "audio is refused"
check "a text file is accepted" cp "$T/bob.pass" "$W/notes.txt"
cat "$M/.evault/refused" >"$T/refused"
check "two lines, one per refusal" test "$(wc -l <"$T/refused")" -eq 2
check "... the photo: time (UTC), path, why" grep -qP "^$(date -u +%Y-%m-%d) \d\d:\d\d:\d\dZ\tM-1/dossier/site-photo\.jpg\timage/jpeg is image content and mission M-1 records no written photo authorisation" "$T/refused"
check "... the recording" grep -qP '\tM-3/work/memo\.wav\taudio/x-wav is audio content, never stored' "$T/refused"
check "... in order, oldest first" bash -c "head -1 '$T/refused' | grep -q site-photo"
check "... never the accepted file" bash -c "! grep -q notes.txt '$T/refused'"
# carol's mount, on her own mission: her refusals are hers, bob's are not there
expect 0 "carol mounts" mnt carol "$T/mc"
cp "$T/p.jpg" "$T/mc/M-2/dossier/carol-secret.jpg" 2>/dev/null
check "carol's list has her refusal" grep -q 'M-2/dossier/carol-secret.jpg' "$T/mc/.evault/refused"
check "... and nothing of M-1 or M-3" bash -c "! grep -qE 'M-1|M-3|site-photo|memo' '$T/mc/.evault/refused'"
check "bob's list names no other mission" bash -c "! grep -qE 'M-2|carol' '$M/.evault/refused'"
as carol umount "$T/mc" >/dev/null
# a mission that leaves the mount (revoked): its refusals leave the list
as alice mission revoke M-3 bob >/dev/null
check "M-3 leaves bob's mount" eventually 10 test ! -e "$M/M-3"
check "... and his list no longer names it" eventually 10 bash -c "! grep -q 'M-3' '$M/.evault/refused'"
check "... the other refusal stays" grep -q 'M-1/dossier/site-photo.jpg' "$M/.evault/refused"
# bounded: the last 100
mkdir "$M/M-1/dossier/card"
for i in $(seq -w 1 105); do cp "$T/p.jpg" "$M/M-1/dossier/card/IMG_$i.JPG" 2>/dev/null; done
cat "$M/.evault/refused" >"$T/refused"
check "the list keeps the last 100" test "$(wc -l <"$T/refused")" -eq 100
check "... the newest in it" grep -q 'card/IMG_105.JPG' "$T/refused"
check "... the oldest gone" bash -c "! grep -qE 'site-photo|card/IMG_00[1-5]\.JPG' '$T/refused'"
check "... IMG_006 the oldest kept" bash -c "head -1 '$T/refused' | grep -q 'card/IMG_006.JPG'"

# ---- the log line (stderr with --foreground; syslog otherwise) ----
mkdir -p "$T/mf"
MOUNTS+=("$T/mf")
as bob mount "$T/mf" --foreground 2>"$T/fg.err" &
fgpid=$!
eventually 10 test -e "$T/mf/.evault/status"
cp "$T/p.jpg" "$T/mf/M-1/dossier/name-of-a-secret-place.jpg" 2>/dev/null
sync "$T/mf"
check "one line on the foreground mount's stderr for the refusal" \
	test "$(grep -c '^evault: M-1/dossier: refused: image/jpeg is image content' "$T/fg.err")" -eq 1
check "... naming no file" bash -c "! grep -q 'secret-place' '$T/fg.err'"
check "... while .evault/refused names it" grep -q 'name-of-a-secret-place.jpg' "$T/mf/.evault/refused"
as bob umount "$T/mf" >/dev/null
wait $fgpid

# ---- the shell's `>`: one version, not an empty one first ----
versions() { # PATH-IN-CLASS: how many times log --names lists it
	as bob log --names --mission M-1 >"$T/log" 2>&1
	grep -cE "(: |, )work/${1//./\\.}(,|\$)" "$T/log"
}
echo "written by echo" >"$W/echo.txt"
check "echo > f: one version" test "$(versions echo.txt)" -eq 1
: >"$W/append.txt"
echo "appended" >>"$W/append.txt"
check ": > f; echo x >> f: one version" test "$(versions append.txt)" -eq 1
check "... holding what was appended" test "$(as bob get M-1/work/append.txt -)" = appended
# a command that writes late: the empty file stays open for writing past the window
sh -c 'sleep 1.5; echo late' >"$W/late.txt"
settled "$M" window
check "cmd > f, writing after the window: one version" test "$(versions late.txt)" -eq 1
check "... its content" test "$(as bob get M-1/work/late.txt -)" = late
python3 - "$W/editor.txt" <<'PY'
import os, sys
p = sys.argv[1]
os.close(os.open(p, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o644))   # create, close
fd = os.open(p, os.O_WRONLY | os.O_TRUNC)                          # reopen, write, close
os.write(fd, b"saved\n")
os.close(fd)
PY
check "open(O_CREAT|O_TRUNC), close, reopen, write, close: one version" test "$(versions editor.txt)" -eq 1
check "... its content" test "$(as bob get M-1/work/editor.txt -)" = saved
# negative control: a file that really changed twice has two versions (the count can see them)
echo one >"$W/twice.txt"
settled "$M"
echo two >>"$W/twice.txt"
check "a file written, recorded, then appended: two versions" test "$(versions twice.txt)" -eq 2
# a file that stays empty is recorded, once
touch "$W/empty.txt"
: >"$W/empty2.txt"
settled "$M" window
check "touch f: recorded once" test "$(versions empty.txt)" -eq 1
check ": > f left empty: recorded once" test "$(versions empty2.txt)" -eq 1
expect 0 "the CLI lists the empty files" as bob ls -l M-1/work
check "... with size 0" bash -c "grep -E ' 0 .*empty\.txt$' '$T/out' >/dev/null && grep -E ' 0 .*empty2\.txt$' '$T/out' >/dev/null"
# an empty file held open for writing is recorded when asked (fsync), and at its close
python3 - "$W/held-empty.txt" "$T/vault/audit.git" <<'PY'
import os, subprocess, sys, time
p, git = sys.argv[1], sys.argv[2]
fd = os.open(p, os.O_CREAT | os.O_WRONLY, 0o644)
os.close(os.dup(fd))          # a close(2) while the file stays open (the shell's dup2)
time.sleep(1.2)               # past the window: not recorded while open and empty
os.fsync(fd)                  # asked for: recorded now
os.close(fd)
PY
check "an empty file fsync'ed while open is recorded, once" test "$(versions held-empty.txt)" -eq 1

expect 0 "bob unmounts" as bob umount "$M"
check "nothing mounted any more" unmounted "$M"
expect 0 "the history verifies" as alice audit verify
sleep 1
check "no sanitizer report from the mount processes" san_clean
finish
