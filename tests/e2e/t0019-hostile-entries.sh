#!/usr/bin/env bash
# What one member can sign that evault never writes: crafted manifests
# (counts and sizes that overflow), manifests that do not open, .objs lists
# that leave objects out. Each is a real event signed by the member's own
# key (tests/e2e/tools/forge.c); the test shows what everyone else's
# commands do with it (docs/auditing.md, "Damaged entries").
. "$(dirname "$0")/lib.sh"
standard_vault
FORGE=${EVAULT_FORGE:-$(dirname "$EVAULT_BIN")/evault-forge}
forge() { local who=$1; shift; "$FORGE" "$T/vault" "$T/$who.id" "$T/$who.pass" "$@"; }

printf 'intervention report\n' >"$T/report.txt"
head -c 300000 /dev/urandom >"$T/big.bin"
expect 0 "bob puts a report" as bob put "$T/report.txt" M-1/work/report.txt
expect 0 "... and a larger file in a folder" as bob put "$T/big.bin" M-1/work/notes/big.bin

# A manifest (docs/format.md): EVM3, type, path, size, mode, times, content
# type, chunk size, hole runs, object count and ids, zeros to 256; big-endian.
manifest() { # SIZE CHUNK NHOLES [FIRST COUNT]... -> stdout
	python3 - "$@" <<'EOF'
import struct, sys
a = [int(x) for x in sys.argv[1:]]
size, chunk, nholes, holes = a[0], a[1], a[2], a[3:]
p = b"notes/crafted.bin"; ct = b"application/octet-stream"
out = b"EVM3" + bytes([1]) + struct.pack(">I", len(p)) + p
out += struct.pack(">QIQIQ", size, 0o644, 1700000000, 0, 1700000000)
out += struct.pack(">I", len(ct)) + ct + struct.pack(">II", chunk, nholes)
for i in range(0, len(holes), 2):
    out += struct.pack(">QQ", holes[i], holes[i + 1])
out += struct.pack(">I", 0)
out += bytes(-len(out) % 256)
sys.stdout.buffer.write(out)
EOF
}

# Manifests are padded to 256 bytes: a name's length shows only within them.
expect 0 "a short name" as bob put "$T/report.txt" M-1/work/a.txt
fid_short=$(git -C "$T/vault/audit.git" log -1 --format=%B main | sed -n 's/^Evault-File: //p')
expect 0 "a long name" as bob put "$T/report.txt" "M-1/work/rapport-intervention-$(printf 'x%.0s' $(seq 1 90)).txt"
fid_long=$(git -C "$T/vault/audit.git" log -1 --format=%B main | sed -n 's/^Evault-File: //p')
encsize() { git -C "$T/vault/audit.git" cat-file -s "main:$(git -C "$T/vault/audit.git" ls-tree -r --name-only main | grep "$1.enc")"; }
check "... their sealed manifests have the same size" test "$(encsize "$fid_short")" -eq "$(encsize "$fid_long")"
expect 0 "bob removes both" as bob rm M-1/work/a.txt "M-1/work/rapport-intervention-$(printf 'x%.0s' $(seq 1 90)).txt"

# 4. Crafted manifests, signed by a member: a chunk count of 2^59+1 with
# chunks of one byte (its table is 2^64+32 bytes), a 16 TiB file with no
# objects, a hole run that wraps around.
manifest $(((1 << 59) + 1)) 1 0 >"$T/m.count"
manifest $((1 << 44)) 65536 0 >"$T/m.noobjs"
manifest 1048576 65536 1 1 18446744073709551615 >"$T/m.wrap"
for f in count noobjs wrap; do
	fid=$(forge bob add M-1/work "$T/m.$f") || ko "forging the $f manifest"
	eval "fid_$f=$fid"
done
expect 0 "the forged events verify without keys: they are signed by a member" "$EVAULT_BIN" audit verify
expect 0 "alice lists the class: every real file is there" as alice ls M-1/work
check "... report.txt and notes/" bash -c "grep -qx 'report.txt' '$T/out' && grep -qx 'notes/' '$T/out'"
check "... each crafted entry named on stderr as damaged" bash -c \
	"grep -q 'damaged entry M-1/work/$fid_count: .*malformed file manifest' '$T/err' && grep -q 'M-1/work/$fid_noobjs' '$T/err' && grep -q 'M-1/work/$fid_wrap' '$T/err'"
expect 0 "alice gets the report, unharmed" as alice get M-1/work/report.txt "$T/r.out"
check "... same bytes" cmp -s "$T/report.txt" "$T/r.out"
expect 0 "and the larger file" as alice get M-1/work/notes/big.bin "$T/b.out"
check "... same bytes" cmp -s "$T/big.bin" "$T/b.out"
mnt alice "$T/mnt" >/dev/null 2>&1
check "alice's mount lists the class's real files" bash -c "ls '$T/mnt/M-1/work' | grep -qx report.txt && ls '$T/mnt/M-1/work/notes' | grep -qx big.bin"
check "... reads them" cmp -s "$T/big.bin" "$T/mnt/M-1/work/notes/big.bin"
check "... and shows no crafted entry" bash -c "! ls -R '$T/mnt/M-1/work' | grep -q crafted"
"$EVAULT_BIN" umount "$T/mnt" >/dev/null 2>&1
check "no sanitizer report from the mount" san_clean

# 5. A manifest that does not decrypt (garbage bytes as the .enc).
head -c 200 /dev/urandom >"$T/garbage"
fid_garbage=$(forge bob add M-1/work "$T/garbage" --raw)
expect 0 "ls -l still lists the class" as bob ls -l M-1/work
check "... the garbage entry as a damaged line" grep -q "^?---- .* damaged .*$fid_garbage$" "$T/out"
check "... and report.txt as usual" grep -q " report.txt$" "$T/out"
check "... the reason on stderr, once per entry" test "$(grep -c "$fid_garbage" "$T/err")" -eq 1
expect 0 "bob removes his report: the class still works" as bob rm M-1/work/report.txt
expect 0 "... and puts it again" as bob put "$T/report.txt" M-1/work/report.txt
expect 0 "keyless fsck: every object is there" "$EVAULT_BIN" fsck
expect 1 "fsck --keys, with alice's keys, finds the damaged entries" as alice fsck --keys
check "... naming each one" bash -c "for f in $fid_count $fid_noobjs $fid_wrap $fid_garbage; do grep -q \"^damaged entry M-1/work/\$f: \" '$T/out' || exit 1; done"
check "... in its summary" grep -q "^PROBLEMS: with alice's keys: .* 4 damaged entries, 0 .objs" "$T/out"

# Removal: a signed event, by someone who may change the mission's files.
expect_error 3 "carol (no member: the mission is hidden from her) cannot remove a damaged entry" as carol rm --damaged "M-1/work/$fid_garbage"
fid_report=$(git -C "$T/vault/audit.git" log -1 --format=%B main | sed -n 's/^Evault-File: //p')
expect_error 2 "a healthy entry is not removed as damaged" as alice rm --damaged "M-1/work/$fid_report"
check "... saying to remove it by name" grep -q "is not damaged: remove it by its name" "$T/err"
expect_error 2 "a name that is no file id is refused" as alice rm --damaged M-1/work/report.txt
expect_error 3 "an unknown id is not found" as alice rm --damaged M-1/work/0123456789abcdef0123456789abcdef
expect 0 "alice removes the four damaged entries" \
	as alice rm --damaged "M-1/work/$fid_count" "M-1/work/$fid_noobjs" "M-1/work/$fid_wrap" "M-1/work/$fid_garbage"
expect 0 "the log shows her removals" as alice log --mission M-1
check "... as file.remove events" test "$(grep -c 'file.remove' "$T/out")" -ge 4
expect 0 "fsck --keys is clean again" as alice fsck --keys
expect 0 "... and the history verifies" "$EVAULT_BIN" audit verify

# A .objs list that leaves out an object of its file: gc would delete it.
fid_objs=$(forge bob objs M-1/work/notes/big.bin)
expect 0 "keyless verify cannot see it (docs/auditing.md says so)" "$EVAULT_BIN" audit verify --objects
expect 1 "fsck --keys does" as alice fsck --keys
check "... naming the file and what gc would do" grep -q "M-1/work/$fid_objs: its .objs list does not name the objects its manifest does (gc would act on it)" "$T/out"
expect 0 "bob puts the file again, recorded as evault records it" as bob put -f "$T/big.bin" M-1/work/notes/big.bin
expect 0 "fsck --keys is clean" as alice fsck --keys

# Close with damaged entries: a codes entry is erased unread and named in
# the certificate; a dossier entry must be removed first (the archive keeps
# only what it can prove by its checksum).
printf 'door code 4711\n' >"$T/code.txt"
expect 0 "bob records an access code" as bob put "$T/code.txt" M-1/codes/door.txt
expect 0 "... and marks it rotated" as bob codes mark M-1/codes/door.txt --rotated
expect 0 "bob puts the dossier's report" as bob put "$T/report.txt" M-1/dossier/report.txt
fid_dcodes=$(forge bob add M-1/codes "$T/garbage" --raw)
fid_ddossier=$(forge bob add M-1/dossier "$T/garbage" --raw)
expect 12 "close is refused while a dossier entry is damaged" as alice mission close M-1 --dry-run
check "... naming it and the command that removes it" \
	grep -q "refused: dossier entry $fid_ddossier is damaged (.*): .*(evault rm --damaged M-1/dossier/$fid_ddossier" "$T/out"
check "... the damaged codes entry is no refusal" grep -q "codes entry $fid_dcodes: damaged (.*): would be erased unread" "$T/out"
expect 0 "alice removes the damaged dossier entry" as alice rm --damaged "M-1/dossier/$fid_ddossier"
expect 0 "the mission closes" as alice mission close M-1
expect 0 "the certificate" as alice mission certificate M-1
check "... names the damaged codes entry, erased unread" grep -q "entry $fid_dcodes: .*damaged, erased unread" "$T/out"
check "... and the rotated code by its name" grep -q "codes/door.txt: .*rotated" "$T/out"
expect 0 "the whole history verifies" "$EVAULT_BIN" audit verify
check "the damaged codes entry's bytes are gone with its class" test -z "$(git -C "$T/vault/audit.git" ls-tree -r main --name-only | grep "$fid_dcodes")"
finish
