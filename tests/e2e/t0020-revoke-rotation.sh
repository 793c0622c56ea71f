#!/usr/bin/env bash
# A revoked member keeps nothing that reads what is written after: revoke
# adds a key generation that only the remaining holders receive (docs/
# lifecycle.md, "Revoke"). The proof is at the byte level: the key copies
# bob kept aside, opened with his own identity, against the files.
. "$(dirname "$0")/lib.sh"
standard_vault
FORGE=${EVAULT_FORGE:-$(dirname "$EVAULT_BIN")/evault-forge}
opens() { # WHO KEPT-COPY MID/CLASS/FID: does the kept copy decrypt the file?
	"$FORGE" "$T/vault" "$T/$1.id" "$T/$1.pass" open "$3" "$2" >/dev/null
}
fid_of() { git -C "$T/vault/audit.git" log -1 --format=%B main | sed -n 's/^Evault-File: //p'; }
G() { git -C "$T/vault/audit.git" "$@"; }

printf 'before the revoke\n' >"$T/a.txt"
printf 'after the revoke\n' >"$T/b.txt"
expect 0 "bob puts a note while a member" as bob put "$T/a.txt" M-1/work/a.txt
fid_a=$(fid_of)
mkdir -p "$T/kept"
for c in work codes dossier; do cp "$T/vault/keys/missions/M-1/$c/bob.sealed" "$T/kept/$c"; done
check "bob's kept copy opens his note (what he had stays his)" opens bob "$T/kept/work" "M-1/work/$fid_a"

expect 0 "alice revokes bob" as alice mission revoke M-1 bob
check "his copies are gone" test -z "$(find "$T/vault/keys/missions/M-1" -name 'bob.sealed*')"
for c in work codes dossier; do
	check "the record names a second generation of the $c key" test "$(G show main:missions/M-1/MISSION | grep -c "^key $c ")" -eq 2
done
expect 0 "alice puts a file after the revoke" as alice put "$T/b.txt" M-1/work/b.txt
fid_b=$(fid_of)
check "bob's kept copy, opened with his identity, does not decrypt it" bash -c "! '$FORGE' '$T/vault' '$T/bob.id' '$T/bob.pass' open 'M-1/work/$fid_b' '$T/kept/work' >'$T/open.out' 2>&1"
check "... not even its manifest" grep -q "its manifest does not open" "$T/open.out"
check "the new generation's copy opens it" opens alice "$T/vault/keys/missions/M-1/work/alice.sealed" "M-1/work/$fid_b"
expect 0 "alice reads both files" as alice get M-1/work/a.txt "$T/a.out"
check "... the older one" cmp -s "$T/a.txt" "$T/a.out"
expect 0 "... and the newer one" as alice get M-1/work/b.txt "$T/b.out"
check "... same bytes" cmp -s "$T/b.txt" "$T/b.out"
expect 0 "carol, granted after the revoke, receives every generation" as alice mission grant M-1 carol
expect 0 "... and reads the file from before" as carol get M-1/work/a.txt "$T/ca.out"
expect 0 "... and the one from after" as carol get M-1/work/b.txt "$T/cb.out"
check "... both intact" bash -c "cmp -s '$T/a.txt' '$T/ca.out' && cmp -s '$T/b.txt' '$T/cb.out'"
expect 0 "the history verifies" "$EVAULT_BIN" audit verify

# The mount of a holder that stays: files it writes after a revoke made by
# someone else are sealed with the new generation.
expect 0 "dave is granted as an auditor" as alice mission grant M-1 dave
cp "$T/vault/keys/missions/M-1/dossier/dave.sealed" "$T/kept/dave-dossier"
mnt carol "$T/mnt" >/dev/null 2>&1
printf 'written through the mount\n' >"$T/mnt/M-1/dossier/before.txt"
check "carol's mount wrote a dossier file" test -s "$T/mnt/M-1/dossier/before.txt"
expect 0 "alice revokes dave (the dossier key turns over) while carol's mount runs" as alice mission revoke M-1 dave
check "the dossier key has a third generation, the work key still two" bash -c \
	"[ \$(git -C '$T/vault/audit.git' show main:missions/M-1/MISSION | grep -c '^key dossier ') -eq 3 ] && [ \$(git -C '$T/vault/audit.git' show main:missions/M-1/MISSION | grep -c '^key work ') -eq 2 ]"
printf 'after dave left\n' >"$T/mnt/M-1/dossier/after.txt"
"$EVAULT_BIN" umount "$T/mnt" >/dev/null 2>&1
expect 0 "the mount's file is recorded" as alice get M-1/dossier/after.txt "$T/after.out"
check "... intact" cmp -s "$T/after.out" <(printf 'after dave left\n')
fid_after=$(G log --format=%B main | awk '/^Evault-File: /{print $2; exit} /^Evault-Put: /{print $3; exit}') # the mount's last commit
check "dave's kept copy does not decrypt what the mount wrote after the revoke" bash -c "! '$FORGE' '$T/vault' '$T/dave.id' '$T/dave.pass' open 'M-1/dossier/$fid_after' '$T/kept/dave-dossier' >/dev/null 2>&1"
check "... not even its content (the manifest read with carol's keys)" bash -c "! '$FORGE' '$T/vault' '$T/dave.id' '$T/dave.pass' open 'M-1/dossier/$fid_after' '$T/kept/dave-dossier' '$T/carol.id' '$T/carol.pass' >'$T/open.out' 2>&1; grep -q 'its object does not open' '$T/open.out'"
fid_before=$(G ls-tree -r --name-only main missions/M-1/dossier | sed -n 's|.*/\([0-9a-f]\{32\}\)\.enc$|\1|p' | grep -v "$fid_after" | head -1)
check "while what the mount wrote before it still opens with dave's copy (control)" "$FORGE" "$T/vault" "$T/dave.id" "$T/dave.pass" open "M-1/dossier/$fid_before" "$T/kept/dave-dossier" "$T/carol.id" "$T/carol.pass"
check "no sanitizer report from the mount" san_clean
expect 0 "the history verifies" "$EVAULT_BIN" audit verify

# A revoke that keeps the old keys: signed by an admin, refused by verify.
ssh-keygen -q -t ed25519 -N '' -f "$T/eve" -C eve
as alice user add eve --role admin --pubkey "$(cat "$T/eve.pub")" >/dev/null
rm -rf "$T/v" && cp -a "$T/vault" "$T/v"
forget_verified
GV() { git -C "$T/v/audit.git" "$@"; }
GV show main:missions/M-1/MISSION | grep -v '^member carol$' >"$T/m"
blob=$(GV hash-object -w "$T/m")
mtree=$( (GV ls-tree main:missions/M-1 | grep -v $'\tMISSION$'; printf '100644 blob %s\tMISSION\n' "$blob") | GV mktree)
mstree=$( (GV ls-tree main:missions | grep -v $'\tM-1$'; printf '040000 tree %s\tM-1\n' "$mtree") | GV mktree)
tree=$( (GV ls-tree main | grep -v $'\tmissions$'; printf '040000 tree %s\tmissions\n' "$mstree") | GV mktree)
seq=$(GV log -1 --format=%B main | sed -n 's/^Evault-Seq: //p')
forged=$(GIT_AUTHOR_NAME=eve GIT_AUTHOR_EMAIL=e@x GIT_COMMITTER_NAME=eve GIT_COMMITTER_EMAIL=e@x \
	GV -c gpg.format=ssh -c user.signingkey="$T/eve" commit-tree -S -p main "$tree" -m "Revoke carol from M-1" -m "Evault-Seq: $((seq + 1))
Evault-Action: mission.revoke
Evault-Actor: eve
Evault-Mission: M-1
Evault-User: carol
Evault-As: member")
GV update-ref refs/heads/main "$forged"
expect 1 "a revoke that adds no key generation: verify refuses it" "$EVAULT_BIN" -R "$T/v" audit verify
check "... naming the rule" grep -q "FAILED at commit $forged: mission.revoke of carol from M-1 must add exactly one new generation of its dossier key" "$T/err"
finish
