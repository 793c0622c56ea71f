#!/usr/bin/env bash
# The mount (docs/mount.md) against what ordinary programs expect of a
# POSIX file system: open files that outlive their reader or their name,
# appends from several processes, renames of directories, very large sparse
# files, and what stat reports for directories, times and long names.
. "$(dirname "$0")/lib.sh"
standard_vault
HERE=$(cd "$(dirname "$0")" && pwd)
ops() { timeout -k 2 30 python3 "$HERE/fixtures/fsops.py" "$@"; }
px() { timeout -k 2 60 python3 "$HERE/fixtures/posix.py" "$@"; }
events() { settle_mounts; git -C "$T/vault/audit.git" rev-list --count main; }
tas() { # SECONDS who ARGS: evault as a given user, within a time limit
	local secs=$1 who=$2
	shift 2
	settle_mounts
	timeout -k 1 "$secs" "$EVAULT_BIN" --identity "$T/$who.id" --passphrase-file "$T/$who.pass" "$@"
}
M=$T/m
W=$M/M-1/work
MPID=
WATCH=

# A request the mount has taken cannot be interrupted, not even by SIGKILL:
# a program waiting on a hung mount is freed only when the mount process
# ends. So time limits here poll, and a hung mount is stopped (kill -9 of the
# pid it reports) and mounted again, so that each case tests its own behaviour.
ms() { local us=${EPOCHREALTIME//[.,]/}; echo $((us / 1000)); } # milliseconds since the epoch
within() { # SECONDS COMMAND...: COMMAND's status, or 124 if it is still running after SECONDS
	local end=$(($(ms) + $1 * 1000)) p
	shift
	"$@" &
	p=$!
	while kill -0 "$p" 2>/dev/null && [ "$(ms)" -lt "$end" ]; do sleep 0.05; done
	if kill -0 "$p" 2>/dev/null; then
		kill -TERM "$p" 2>/dev/null
		return 124 # it ends when the mount is stopped
	fi
	wait "$p"
}
alive() { within 5 head -c 1 "$M/.evault/status" >/dev/null 2>&1; }
stop_mount() {
	[ -n "$MPID" ] && kill -9 "$MPID" 2>/dev/null
	fusermount3 -u -z "$M" 2>/dev/null || umount -l "$M" 2>/dev/null
	MPID=
}
start_mount() {
	mnt bob "$M" >/dev/null 2>&1
	MPID=$(timeout 5 sed -n 's/^pid *//p' "$M/.evault/status" 2>/dev/null)
}
case_end() {
	[ -n "$WATCH" ] || return 0
	kill "$WATCH" 2>/dev/null
	wait "$WATCH" 2>/dev/null
	WATCH=
}
case_start() { # NAME SECONDS: a live mount, stopped if the case outlasts SECONDS
	case_end
	if ! alive; then
		echo "  (the mount died or hangs: mounting again)"
		stop_mount
		start_mount
	fi
	echo "# $1 (at ${SECONDS} s)"
	(
		trap 'kill $s 2>/dev/null; exit 0' TERM
		sleep "$2" &
		s=$!
		wait $s
		echo "  (case over its $2 s: stopping the mount)"
		kill -9 "$MPID" 2>/dev/null
	) &
	WATCH=$!
}
size_of() { timeout -k 1 5 stat -c %s "$1" 2>/dev/null; }
content() { timeout -k 1 5 cat "$1" 2>/dev/null; }
errno_is() { # WHAT GOT WANTED...: GOT is one of the WANTED errno names
	local what=$1 got=$2 w
	shift 2
	for w in "$@"; do [ "$got" = "$w" ] && { ok "$what"; return 0; }; done
	ko "$what (got ${got:-nothing})"
}
step_is() { # WHAT FILE STEP WANTED: the fixture's line "STEP RESULT" has RESULT WANTED
	local got
	got=$(sed -n "s/^$3 //p" "$2" | head -1)
	[ "$got" = "$4" ] && ok "$1" || ko "$1 (got ${got:-nothing}: $(head -c 200 "$2" | tr '\n' ' '))"
}

expect 0 "bob mounts the vault" start_mount
check "the mount is in place" mountpoint -q "$M"
check "the mount reports its pid" test -n "$MPID"

# ---- open files: a reader's close must not free what the mount still uses
case_start "a partly read file" 60
dd if=/dev/urandom of="$T/big16" bs=1M count=16 status=none
head -c 100 "$T/big16" >"$T/head100"
timeout -k 1 30 cp "$T/big16" "$W/big16.bin" && ok "a 16 MiB file copied in" || ko "a 16 MiB file copied in"
good=0
for i in 1 2 3 4 5; do # a read of 100 bytes starts a read-ahead that outlives the close
	timeout -k 1 10 head -c 100 "$W/big16.bin" >"$T/h100" 2>/dev/null && cmp -s "$T/h100" "$T/head100" &&
		[ "$(size_of "$W/big16.bin")" = 16777216 ] && good=$((good + 1))
	sleep 1.2
done
check "head -c 100 then stat of a 16 MiB file, 5 times: right bytes and size each time ($good/5)" test $good -eq 5
check "... and the mount survives" alive

case_start "one file opened and closed by two processes" 90
printf 'sealed' >"$W/six.txt"
px reopen "$W/six.txt" 2000 sealed >"$T/r1" 2>&1 &
p1=$!
px reopen "$W/six.txt" 2000 sealed >"$T/r2" 2>&1 &
p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
[ $r1 -eq 0 ] && [ $r2 -eq 0 ] && ok "two processes open, read and close a 6-byte file 2000 times each" ||
	ko "two processes open, read and close a 6-byte file 2000 times each (exit $r1 $r2: $(head -c 200 "$T/r1" "$T/r2" | tr '\n' ' '))"
check "... and the mount survives" alive

case_start "copying trees in" 300
for d in $(seq 1 8); do
	for s in a b c; do
		mkdir -p "$T/tree/d$d/$s/deeper"
		for f in $(seq 1 4); do head -c $((RANDOM % 3000 + 1)) /dev/urandom | base64 >"$T/tree/d$d/$s/f$f.txt"; done
		printf '%s\n' "$d $s" >"$T/tree/d$d/$s/deeper/leaf.txt"
	done
	printf 'top %s\n' "$d" >"$T/tree/d$d/top.txt"
done
mkdir -p "$T/tarsrc"
for d in $(seq 1 5); do
	mkdir -p "$T/tarsrc/t$d/sub"
	for f in $(seq 1 7); do head -c $((RANDOM % 5000 + 1)) /dev/urandom | base64 >"$T/tarsrc/t$d/sub/n$f.txt"; done
	printf 'level one %s\n' "$d" >"$T/tarsrc/t$d/one.txt"
done
tar -C "$T/tarsrc" -cf "$T/tree.tar" .
timeout -k 1 120 cp -a "$T/tree" "$W/tree" 2>"$T/err"
rc=$?
[ $rc -eq 0 ] && ok "cp -a of a tree of $(find "$T/tree" -type f | wc -l) files in $(find "$T/tree" -type d | wc -l) directories, within 120 s" ||
	ko "cp -a of a tree, within 120 s (exit $rc): $(head -c 200 "$T/err")"
check "... the mount survives" alive
timeout -k 1 60 diff -r "$T/tree" "$W/tree" >"$T/diff" 2>&1 && ok "... and holds the same tree (diff -r)" ||
	ko "... and holds the same tree (diff -r): $(head -c 200 "$T/diff")"
mkdir -p "$W/untar"
timeout -k 1 120 tar -C "$W/untar" -xf "$T/tree.tar" 2>"$T/err"
rc=$?
[ $rc -eq 0 ] && ok "tar -x of $(tar -tf "$T/tree.tar" | wc -l) entries into the mount, within 120 s" ||
	ko "tar -x into the mount, within 120 s (exit $rc): $(head -c 200 "$T/err")"
check "... the mount survives" alive
timeout -k 1 60 diff -r "$T/tarsrc" "$W/untar" >"$T/diff" 2>&1 && ok "... and holds the same tree (diff -r)" ||
	ko "... and holds the same tree (diff -r): $(head -c 200 "$T/diff")"

# ---- appends from two processes through one mount (each close is one
# signed event, some 20 ms here: 2 x 300 keeps the case near 12 s)
case_start "concurrent appends" 240
n=300
px append "$W/appends.log" A $n >"$T/a1" 2>&1 &
p1=$!
px append "$W/appends.log" B $n >"$T/a2" 2>&1 &
p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
[ $r1 -eq 0 ] && [ $r2 -eq 0 ] && ok "two processes: open(O_APPEND), write a 60-byte line, close; $n times each" ||
	ko "two processes append $n lines each (exit $r1 $r2: $(head -c 200 "$T/a1" "$T/a2" | tr '\n' ' '))"
out=$(px lines "$W/appends.log" $n A B) && ok "... every line present exactly once, no NUL byte, $((2 * n * 60)) bytes" ||
	ko "... every line once, no NUL, $((2 * n * 60)) bytes: $out"
timeout -k 1 30 cat "$W/appends.log" >"$T/appends.mount" 2>/dev/null
tas 60 bob get M-1/work/appends.log "$T/appends.cli" >/dev/null 2>&1 && cmp -s "$T/appends.cli" "$T/appends.mount" &&
	ok "... and the CLI reads the same bytes after close" || ko "... and the CLI reads the same bytes after close"

# ---- renames of directories
case_start "renaming directories" 60
R=$W/ren
mkdir -p "$R/c" "$R/d" "$R/e1" "$R/e2" "$R/x1" "$R/x2"
printf 'C\n' >"$R/c/f"
printf 'D\n' >"$R/d/f"
printf 'D2\n' >"$R/d/g"
printf 'E\n' >"$R/e1/f"
printf 'X\n' >"$R/x1/file"
e0=$(events)
errno_is "rename(dir, non-empty dir) fails with ENOTEMPTY" "$(ops errno rename "$R/c" "$R/d")" ENOTEMPTY EEXIST
check "... and changes nothing: d/f, d/g and c/f as they were" \
	test "$(content "$R/d/f")" = D -a "$(content "$R/d/g")" = D2 -a "$(content "$R/c/f")" = C
check "... in the vault either" test "$(tas 30 bob get M-1/work/ren/d/f - 2>/dev/null)" = D
check "... and records no event ($e0 before, $(events) after)" test "$(events)" -eq "$e0"
errno_is "rename(dir, empty dir) replaces it" "$(ops errno rename "$R/e1" "$R/e2")" OK
check "... the files follow, the old name is gone" test "$(content "$R/e2/f")" = E -a ! -e "$R/e1"
errno_is "rename(file, dir) is EISDIR" "$(ops errno rename "$R/x1/file" "$R/x2")" EISDIR
errno_is "rename(dir, file) is ENOTDIR" "$(ops errno rename "$R/x2" "$R/x1/file")" ENOTDIR

# ---- very large sparse files
case_start "sparse truncate" 240
S=$W/sparse
mkdir -p "$S"
printf 'other\n' >"$S/other.txt"
t0=$(ms)
within 20 truncate -s 50G "$S/f" 2>"$T/err"
rc=$?
t1=$(ms)
[ $rc -eq 0 ] && ok "truncate -s 50G finishes within 20 s ($((t1 - t0)) ms)" ||
	ko "truncate -s 50G finishes within 20 s (exit $rc after $((t1 - t0)) ms): $(head -c 200 "$T/err")"
[ $rc -eq 124 ] && stop_mount
case_start "sparse truncate: 50G file" 120
check "... stat shows 53687091200 bytes" test "$(size_of "$S/f")" = 53687091200
out=$(px zeros "$S/f") && ok "... reads zeros at its start, middle and end" || ko "... reads zeros at its start, middle and end: $out"

case_start "sparse truncate: 10T file" 120
sleep 1.1 # other.txt's attributes are no longer cached: its stat asks the mount
truncate_10t() { truncate -s 10T "$S/g" 2>"$T/err.g"; }
ts=$(ms)
truncate_10t &
tp=$!
sleep 0.3 # the truncate is under way
t0=$(ms)
within 2 stat "$S/other.txt" >/dev/null 2>&1
rc=$?
t1=$(ms)
[ $rc -eq 0 ] && ok "a stat of another file while truncate -s 10T runs is not blocked ($((t1 - t0)) ms)" ||
	ko "a stat of another file while truncate -s 10T runs is not blocked (exit $rc after $((t1 - t0)) ms)"
while kill -0 $tp 2>/dev/null && [ "$(ms)" -lt $((ts + 20000)) ]; do sleep 0.05; done
if kill -0 $tp 2>/dev/null; then
	rc=124
	stop_mount # frees it
	wait $tp
else
	wait $tp
	rc=$?
fi
t1=$(ms)
[ $rc -eq 0 ] && ok "truncate -s 10T finishes within 20 s ($((t1 - ts)) ms)" ||
	ko "truncate -s 10T finishes within 20 s (exit $rc after $((t1 - ts)) ms): $(head -c 200 "$T/err.g")"
case_start "sparse truncate: 10T file, after it" 120
check "... stat shows 10995116277760 bytes" test "$(size_of "$S/g")" = 10995116277760
out=$(px zeros "$S/g") && ok "... reads zeros at its start, middle and end" || ko "... reads zeros at its start, middle and end: $out"
out=$(px write-end "$S/g" "the end.") && ok "... 8 bytes written at its end read back" || ko "... 8 bytes written at its end read back: $out"

case_start "sparse truncate: too large" 60
within 20 truncate -s 999999999999999 "$S/h" 2>"$T/err"
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q 'File too large' "$T/err" && ok "truncate -s 999999999999999 fails with EFBIG" ||
	ko "truncate -s 999999999999999 fails with EFBIG (exit $rc): $(head -c 200 "$T/err")"
[ $rc -eq 124 ] && stop_mount
case_start "sparse truncate: in the vault" 120
tas 60 bob ls -l M-1/work/sparse >"$T/out" 2>"$T/err"
check "evault ls -l shows the 50G file's size" grep -qE '^-[0-7]{4} +53687091200 .* f$' "$T/out"
check "... and the 10T one's" grep -qE '^-[0-7]{4} +10995116277760 .* g$' "$T/out"
expect 0 "the history verifies, objects included" tas 120 alice audit verify --objects

# ---- an open, unlinked file
case_start "an open, unlinked file" 60
px unlinked "$W" >"$T/unl" 2>&1
step_is "fstat of an open, unlinked file gives its size" "$T/unl" fstat OK
step_is "... fchmod changes its mode (read back by fstat)" "$T/unl" fchmod OK
step_is "... futimens sets its mtime (read back by fstat)" "$T/unl" futimens OK
step_is "... read works" "$T/unl" read OK
step_is "... write works" "$T/unl" write OK

# ---- directories, times, names
case_start "directory modes" 60
P=$W/posix
mkdir -p "$P"
mkdir "$P/dm" && chmod 700 "$P/dm" && check "chmod 700 on a directory: stat shows 700" test "$(stat -c %a "$P/dm")" = 700 ||
	ko "chmod 700 on a directory"
mkdir -m 750 "$P/d2" && check "mkdir -m 750 gives mode 750" test "$(stat -c %a "$P/d2")" = 750 || ko "mkdir -m 750"

case_start "directory and file times" 60
mkdir -p "$P/dt"
m0=$(stat -c %Y "$P/dt")
sleep 1.1
printf 'x\n' >"$P/dt/new.txt"
m1=$(stat -c %Y "$P/dt")
check "a directory's mtime increases when an entry is added ($m0 -> $m1)" test "${m1:-0}" -gt "${m0:-0}"
old=$(date -d '2026-01-02 03:04:05Z' +%s)
touch -d '2026-01-02 03:04:05Z' "$P/dt/new.txt" && chmod 600 "$P/dt/new.txt"
check "after a chmod, a file's ctime is not its (older) mtime" \
	test "$(stat -c %Z "$P/dt/new.txt")" != "$(stat -c %Y "$P/dt/new.txt")"
touch -d '2026-01-02 03:04:05Z' "$P/dt" && check "touch -d on a directory sets its mtime" test "$(stat -c %Y "$P/dt")" = "$old" ||
	ko "touch -d on a directory"
chmod 700 "$P/dt"
check "after a chmod, a directory's ctime is not its (older) mtime" test "$(stat -c %Z "$P/dt")" != "$(stat -c %Y "$P/dt")"
at=$(date -d '2025-05-06 07:08:09Z' +%s)
touch -a -d '2025-05-06 07:08:09Z' "$P/dt/new.txt" && check "touch -a -d sets a file's atime" test "$(stat -c %X "$P/dt/new.txt")" = "$at" ||
	ko "touch -a -d on a file"
touch -a -d '2025-05-06 07:08:09Z' "$P/dt" && check "touch -a -d sets a directory's atime" test "$(stat -c %X "$P/dt")" = "$at" ||
	ko "touch -a -d on a directory"

case_start "long names and paths" 60
mkdir -p "$P/names"
px names "$P/names" >"$T/names" 2>&1
step_is "a name of 255 bytes: create works" "$T/names" "255 create" OK
step_is "... mkdir works" "$T/names" "255 mkdir" OK
step_is "... rename to it works" "$T/names" "255 rename" OK
step_is "a name of 256 bytes: create is ENAMETOOLONG" "$T/names" "256 create" ENAMETOOLONG
step_is "... mkdir is ENAMETOOLONG" "$T/names" "256 mkdir" ENAMETOOLONG
step_is "... rename to it is ENAMETOOLONG" "$T/names" "256 rename" ENAMETOOLONG
check "pathconf NAME_MAX is 255" test "$(px pathconf "$P/names" PC_NAME_MAX)" = 255
px path-limit "$W" 1024 >"$T/paths" 2>&1 # the vault's limit on a path inside a class
step_is "a path of 1024 bytes inside a class: its directories" "$T/paths" parents OK
step_is "... create works" "$T/paths" "1024 create" OK
step_is "... mkdir works" "$T/paths" "1024 mkdir" OK
step_is "... rename to it works" "$T/paths" "1024 rename" OK
step_is "a path of 1025 bytes: create is ENAMETOOLONG" "$T/paths" "1025 create" ENAMETOOLONG
step_is "... mkdir is ENAMETOOLONG" "$T/paths" "1025 mkdir" ENAMETOOLONG
step_is "... rename to it is ENAMETOOLONG" "$T/paths" "1025 rename" ENAMETOOLONG

case_start "directory link counts" 60
mkdir -p "$P/nl/s1" "$P/nl/s2" "$P/nl/s3"
printf 'f\n' >"$P/nl/file.txt"
check "a directory with 3 subdirectories (and a file) has 5 links" test "$(stat -c %h "$P/nl")" = 5

# ---- refused content and moves while files are being written
case_start "a photo header written last, after full chunks went to the workers" 60
px refuse-late "$W/late.txt" >"$T/late" 2>&1
step_is "the photo header's write is refused" "$T/late" write EACCES
step_is "... the file leaves no entry" "$T/late" gone OK
check "... and the mount survives" alive
case_start "a refused file's other handle" 60
px refuse-other "$W/other.txt" >"$T/other" 2>&1
step_is "the photo header's write is refused" "$T/other" write EACCES
step_is "... the same file's other handle is refused too, once it was dropped" "$T/other" later EACCES
check "... and the mount survives" alive
check "... nothing of it in the vault" bash -c "! tas 30 bob get M-1/work/other.txt - >/dev/null 2>&1"
case_start "a directory moved to another class while a file in it is written" 60
mkdir -p "$W/moving"
px write-moving "$W/moving/log.txt" "$M/M-1/dossier/moved/log.txt" >"$T/moving" 2>&1 &
wp=$!
sleep 1.5
timeout -k 1 30 mv "$W/moving" "$M/M-1/dossier/moved" 2>"$T/err" && ok "mv of the directory to the dossier" ||
	ko "mv of the directory (exit $?): $(head -c 200 "$T/err")"
wait $wp
check "... every line written before and after the move is in the file at its new place" grep -q '^OK' "$T/moving"
check "... as the vault recorded it" cmp -s <(tas 30 bob get M-1/dossier/moved/log.txt - 2>/dev/null) "$M/M-1/dossier/moved/log.txt"
check "... and the mount survives" alive

case_end
if alive; then
	expect 0 "bob unmounts" tas 60 bob umount "$M"
else
	ko "the mount is alive at the end"
	stop_mount
fi
fusermount3 -u -z "$M" 2>/dev/null
sleep 1
check "no sanitizer report from the mount processes" san_clean
finish
