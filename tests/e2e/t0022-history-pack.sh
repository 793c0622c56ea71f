#!/usr/bin/env bash
# gc packs the history (audit.git): its loose objects go into one pack,
# durable before the loose copies are deleted; stock git and verify still
# accept every commit; a mount reading meanwhile never misses an object;
# packs are merged into one before they pile up; a corrupt loose object
# stops the run with nothing changed; kill -9 mid-run loses nothing.
. "$(dirname "$0")/lib.sh"
standard_vault
GEN=${EVAULT_GEN:-$(dirname "$EVAULT_BIN")/evault-gen-history}
OBJ=$T/vault/audit.git/objects
loose() { find "$OBJ" -path "$OBJ/pack" -prune -o -path "$OBJ/info" -prune -o -type f -print | wc -l; }
packs() { find "$OBJ/pack" -name 'pack-*.pack' 2>/dev/null | wc -l; }

for i in 1 2 3 4 5; do echo "report $i" >"$T/r$i.txt"; done
for i in 1 2 3; do as bob put "$T/r$i.txt" M-1/dossier/ >/dev/null; done
n=$(loose)
check "events leave loose objects in the history ($n)" test "$n" -gt 10
expect 0 "gc --dry-run" "$EVAULT_BIN" gc --dry-run
check "... says how many it would pack" grep -q "history: would pack $n loose objects, 1 pack$" "$T/out"
check "... and packs nothing" test "$(loose)" -eq "$n" -a "$(packs)" -eq 0
expect 0 "gc" "$EVAULT_BIN" gc
check "... packs them all" grep -q "history: $n loose objects packed, 1 pack$" "$T/out"
check "... no loose object left, one pack" test "$(loose)" -eq 0 -a "$(packs)" -eq 1
expect 0 "stock git finds the packed history whole" git -C "$T/vault/audit.git" fsck --strict --no-dangling
git_verify_all "$T/vault" && ok "stock git verifies every packed commit" || ko "stock git verify-commit"
expect 0 "verify replays the packed history" "$EVAULT_BIN" audit verify --objects
expect 0 "a file recorded before the pack reads back" as bob get M-1/dossier/r2.txt "$T/r2.out"
check "... byte-identical" cmp -s "$T/r2.txt" "$T/r2.out"
expect 0 "a new event after the pack" as bob put "$T/r4.txt" M-1/dossier/
expect 0 "gc again" "$EVAULT_BIN" gc
check "... packs only what is new, 2 packs" grep -q "history: [1-9][0-9]* loose objects packed, 2 packs$" "$T/out"
expect 0 "gc with nothing loose" "$EVAULT_BIN" gc
check "... packs nothing, keeps 2 packs" grep -q "history: 0 loose objects packed, 2 packs$" "$T/out"

# Packs do not pile up: the run that would make a ninth merges all into one.
# (A stray file named like a pack is no pack of gc's: left as it is.)
echo stray >"$OBJ/pack/x.pack"
most=0
for i in $(seq 1 8); do
	as alice mission create "M-P$i" --client "Client P$i" --site Lyon --member bob >/dev/null
	"$EVAULT_BIN" gc >"$T/out" 2>&1 || ko "gc number $i: $(cat "$T/out")"
	p=$(packs)
	[ "$p" -gt "$most" ] && most=$p
done
check "never more than 8 packs (at most $most)" test "$most" -le 8
check "... the run that would make a ninth merged them ($(packs) now)" test "$(packs)" -lt 8
check "... leaving a stray file named like a pack alone" test "$(cat "$OBJ/pack/x.pack")" = stray
rm -f "$OBJ/pack/x.pack"
expect 0 "the merged history verifies" "$EVAULT_BIN" audit verify
expect 0 "... and stock git finds it whole" git -C "$T/vault/audit.git" fsck --strict --no-dangling

# A mount reads and writes while gc packs under it.
M=$T/m
expect 0 "bob mounts the vault" mnt bob "$M"
echo "written in the mount" >"$M/M-1/work/before.txt"
settled "$M"
"$GEN" "$T/vault" "$T/alice.id" "$T/alice.pass" 300 5 2>"$T/gen.err" || ko "generating events: $(cat "$T/gen.err")"
expect 0 "gc while the mount runs" "$EVAULT_BIN" gc
check "... packed the new events" grep -q "history: [1-9][0-9]* loose objects packed" "$T/out"
check "the mount still reads a file recorded before" grep -qx "written in the mount" "$M/M-1/work/before.txt"
check "... and one it never read before" grep -qx "report 1" "$M/M-1/dossier/r1.txt"
echo "written after the pack" >"$M/M-1/work/after.txt"
settled "$M"
check "... and records a new file" grep -q 'work/after.txt' <(as bob log --mission M-1 --names)
as bob umount "$M" >/dev/null
check "no sanitizer report from the mount" san_clean

# A corrupt loose object (one no event names, as an interrupted change
# leaves: verify never reads it, gc does): gc stops, nothing deleted,
# nothing packed.
as bob put "$T/r5.txt" M-1/dossier/ >/dev/null
id=$(echo "left by an interrupted change" | git -C "$T/vault/audit.git" hash-object -w --stdin)
victim=$OBJ/${id:0:2}/${id:2}
n=$(loose)
p=$(packs)
cp "$victim" "$T/victim"
chmod u+w "$victim"
printf 'not zlib at all' >"$victim"
expect_error 5 "gc refuses a corrupt history object" "$EVAULT_BIN" gc
check "... saying nothing changed" grep -q "cannot pack the history, nothing changed" "$T/err"
check "... every loose object still there, no new pack" test "$(loose)" -eq "$n" -a "$(packs)" -eq "$p"
cp "$T/victim" "$victim"
expect 0 "with the object restored, gc packs" "$EVAULT_BIN" gc
check "... no loose object left" test "$(loose)" -eq 0

# kill -9 mid-run: every object is in a pack or loose, never in neither.
"$GEN" "$T/vault" "$T/alice.id" "$T/alice.pass" 1200 5 2>"$T/gen.err" || ko "generating events: $(cat "$T/gen.err")"
"$EVAULT_BIN" gc >/dev/null 2>&1 &
gcpid=$!
sleep 1
kill -9 "$gcpid" 2>/dev/null
wait "$gcpid" 2>/dev/null
touch "$OBJ/pack/pack_git2_crashed" # what a run killed while writing leaves
expect 0 "after a killed gc, the history verifies" "$EVAULT_BIN" audit verify
expect 0 "... stock git finds it whole" git -C "$T/vault/audit.git" fsck --strict --no-dangling
expect 0 "... and the next gc finishes" "$EVAULT_BIN" gc
check "... deleting the killed run's temporary pack" test ! -e "$OBJ/pack/pack_git2_crashed"
check "... leaving no loose object" test "$(loose)" -eq 0
expect 0 "the history verifies with its objects" "$EVAULT_BIN" audit verify --objects
expect 0 "fsck --full" "$EVAULT_BIN" fsck --full
finish
