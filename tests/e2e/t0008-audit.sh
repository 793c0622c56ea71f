#!/usr/bin/env bash
# Auditors: verify, checkpoints, export, show; and every tampering of the
# issue caught with exit 1 and a message naming the commit and the rule.
. "$(dirname "$0")/lib.sh"
standard_vault
G() { git -C "$1/audit.git" "${@:2}"; }
# A technician whose key is an OpenSSH key file, so that git itself can sign as them.
ssh-keygen -q -t ed25519 -N '' -f "$T/tech" -C tech
as alice user add tech --role technician --pubkey "$(cat "$T/tech.pub")" >/dev/null
as alice mission grant M-1 tech >/dev/null
ssh-keygen -q -t ed25519 -N '' -f "$T/mallory" -C mallory
echo "report" >"$T/r"; head -c 300000 /dev/urandom >"$T/photo"
as bob put "$T/r" "$T/photo" M-1/dossier/ >/dev/null
as bob put "$T/r" M-1/work/notes.txt >/dev/null
as alice mission grant M-1 dave >/dev/null

expect 0 "a clean history verifies" "$EVAULT_BIN" audit verify
check "OK line with head, seq, count and time span" grep -Eq '^OK vault [0-9a-f]{32} head [0-9a-f]{12} seq 10, 11 events from .* to ' "$T/out"
expect 0 "with --objects" "$EVAULT_BIN" audit verify --objects
check "objects were checked" grep -q ', [1-9][0-9]* objects intact' "$T/out"
expect 0 "checkpoint (signed by alice)" as alice audit checkpoint
cp "$T/out" "$T/cp.txt"
check "checkpoint in signed-note form" grep -q "^evault-vault/" "$T/cp.txt"
expect 0 "verify --checkpoint" "$EVAULT_BIN" audit verify --checkpoint "$T/cp.txt"
expect 0 "show by seq" "$EVAULT_BIN" audit show 4
check "show names the action and verdict" grep -q 'verdict valid' "$T/out"
expect 0 "show by commit id" "$EVAULT_BIN" audit show "$(G "$T/vault" rev-parse --short=12 main)"
check "show lists the changes" grep -q "^    M missions/M-1/MISSION" "$T/out"
expect_error 3 "show of an unknown event" "$EVAULT_BIN" audit show 999
expect 0 "help for audit" "$EVAULT_BIN" help audit
check "help lists the audit subcommands" grep -q 'verify .*checkpoint' "$T/out"
expect 2 "verify usage error" "$EVAULT_BIN" audit verify --bogus
expect 2 "verify of something that is not a vault" "$EVAULT_BIN" -R "$T" audit verify

# A granted auditor: the dossier, read-only, and the detailed log with names.
expect 0 "a granted auditor reads the detailed log" as dave log --names --mission M-1
check "with the dossier's decrypted file names" grep -q ': dossier/photo$' "$T/out"
check "but no name from the work class" test "$(grep -c ': work/' "$T/out")" -eq 0
expect 0 "a member's detailed log names work files too" as bob log --names --mission M-1
check "work names for the member" grep -q ': work/notes.txt$' "$T/out"
expect 0 "the auditor reads the dossier" as dave get M-1/dossier/r
expect_error 8 "and cannot write to it" as dave put "$T/r" M-1/dossier/r2
expect_error 3 "a non-member gets no detailed log" as carol log --names --mission M-1
expect 0 "names are not in the plain log" as dave log --mission M-1
check "plain log without names" test "$(grep -c ': dossier/' "$T/out")" -eq 0

# Export and stock tools.
expect 0 "export" "$EVAULT_BIN" audit export --out "$T/exp" --mission M-1
check "export has bundle, signers, README, mission log" test -f "$T/exp/history.bundle" -a -f "$T/exp/allowed_signers" -a -f "$T/exp/README.txt" -a -f "$T/exp/mission-log.txt"
check "mission log lists only M-1 events" test "$(grep -vc "^#" "$T/exp/mission-log.txt")" -eq 6
mkdir "$T/tmpdir"
expect 0 "the bundle verifies without a repository or keys" env -u EVAULT_REPO TMPDIR="$T/tmpdir" "$EVAULT_BIN" audit verify "$T/exp"
check "its temporary copy is removed (in TMPDIR)" test -z "$(ls -A "$T/tmpdir")"
expect 0 "with the checkpoint too" env -u EVAULT_REPO "$EVAULT_BIN" audit verify --checkpoint "$T/cp.txt" "$T/exp/history.bundle"
expect 0 "verify with the allowed signers pinned" "$EVAULT_BIN" audit verify --signers "$T/exp/allowed_signers" "$T/exp"
check "the OK line says so" grep -q 'every signer in' "$T/out"
# a fabricated history: a vault whose "alice" holds another key
printf 'another passphrase\n' >"$T/fake.pass"
"$EVAULT_BIN" -R "$T/fake" --identity "$T/fake.id" --passphrase-file "$T/fake.pass" init --admin alice >/dev/null 2>&1
root=$(git -C "$T/fake/audit.git" rev-list --max-parents=0 main)
"$EVAULT_BIN" -R "$T/fake" audit verify --signers "$T/exp/allowed_signers" >"$T/out" 2>"$T/err"
check "a fabricated history fails against the pinned signers, at its root" test $? -eq 1 -a -n "$(grep "FAILED at commit $root: alice's signing key is not" "$T/err")"
head -c 1100000 /dev/zero | tr '\0' '#' >"$T/huge"
expect_error 2 "an allowed-signers file over 1 MiB is refused, not cut" "$EVAULT_BIN" audit verify --signers "$T/huge"
expect_error 2 "a checkpoint file that does not exist" "$EVAULT_BIN" audit verify --checkpoint "$T/none"
echo "# nothing" >"$T/empty-signers"
expect 2 "an allowed-signers file without keys is a usage error" "$EVAULT_BIN" audit verify --signers "$T/empty-signers"
git clone -q --bare "$T/exp/history.bundle" "$T/clone.git"
bad=0
for c in $(git -C "$T/clone.git" rev-list main); do
	git -C "$T/clone.git" -c gpg.format=ssh -c gpg.ssh.allowedSignersFile="$T/exp/allowed_signers" verify-commit "$c" 2>/dev/null || bad=$((bad + 1))
done
check "stock git verify-commit accepts every commit of the export" test "$bad" -eq 0
expect_error 7 "export refuses an existing directory" "$EVAULT_BIN" audit export --out "$T/exp"
cp "$T/exp/history.bundle" "$T/broken.bundle"
printf 'XXXX' | dd of="$T/broken.bundle" bs=1 seek=300 conv=notrunc 2>/dev/null
expect 1 "a damaged bundle fails" env -u EVAULT_REPO "$EVAULT_BIN" audit verify "$T/broken.bundle"

# Each tampering on its own copy of the vault.
fresh() { rm -rf "$T/v"; cp -a "$T/vault" "$T/v"; forget_verified; }
failed_at() { # "what" commit-id: exit 1, names that commit
	local what=$1 id=$2
	"$EVAULT_BIN" -R "$T/v" audit verify >"$T/out" 2>"$T/err"
	local rc=$?
	if [ "$rc" -eq 1 ] && grep -q "^evault: verification FAILED at commit $id" "$T/err"; then
		ok "$what: $(sed 's/^evault: verification FAILED at commit [0-9a-f]*: //' "$T/err")"
	else
		ko "$what (exit $rc, wanted 1 naming $id): $(cat "$T/err")"
	fi
}
failed() { # "what" [args]: exit 1
	local what=$1; shift
	"$EVAULT_BIN" -R "$T/v" audit verify "$@" >"$T/out" 2>"$T/err"
	local rc=$?
	if [ "$rc" -eq 1 ]; then ok "$what: $(cat "$T/err")"; else ko "$what (exit $rc): $(cat "$T/err")"; fi
}

fresh
head=$(G "$T/v" rev-parse main)
msg=$(G "$T/v" log -1 --format=%B main | sed 's/^Grant dave/Grant mallory/')
forged=$(commit_as "$T/mallory" "$(G "$T/v" rev-parse main~1)" "$(G "$T/v" rev-parse 'main^{tree}')" -m "$msg")
G "$T/v" update-ref refs/heads/main "$forged"
failed_at "edited message re-signed by an outsider" "$forged"

fresh
# drop commit seq 5 and re-parent the rest (the attacker cannot sign as the vault's users)
mapfile -t chain < <(G "$T/v" rev-list --reverse main)
newparent=${chain[4]}
first=
for c in "${chain[@]:6}"; do
	newparent=$(commit_as "$T/mallory" "$newparent" "$(G "$T/v" rev-parse "$c^{tree}")" -m "$(G "$T/v" log -1 --format=%B "$c")")
	[ -n "$first" ] || first=$newparent
done
G "$T/v" update-ref refs/heads/main "$newparent"
failed_at "a middle commit dropped and the rest re-parented" "$first"

fresh
o1=$(G "$T/v" show "main:$(G "$T/v" ls-tree -r --name-only main missions/M-1/dossier/ | grep objs$ | head -1)" | head -1)
o2=$(find "$T/v/objects" -type f ! -name "$o1" | head -1)
p1="$T/v/objects/${o1:0:2}/$o1"
chmod u+w "$p1" "$o2"; cp "$p1" "$T/swap"; cp "$o2" "$p1"; cp "$T/swap" "$o2"
expect 0 "swapped objects: the history itself still verifies" "$EVAULT_BIN" -R "$T/v" audit verify
failed "two objects' contents swapped (--objects)" --objects
check "the message names the object" grep -q "object $o1 of missions/M-1/dossier/" "$T/err"

fresh
p1="$T/v/objects/${o1:0:2}/$o1"
chmod u+w "$p1"; printf '\x01' | dd of="$p1" bs=1 seek=77 conv=notrunc 2>/dev/null
failed "one bit flipped in an object (--objects)" --objects
rm -f "$p1"
failed "a missing object (--objects)" --objects

fresh
"$EVAULT_BIN" -R "$T/v" audit verify >/dev/null # records the verified head
G "$T/v" update-ref refs/heads/main main~2
failed "history rolled back with git update-ref (reflog)"
check "named as a rewrite" grep -q "moved backwards or sideways" "$T/err"
rm -f "$T/v/audit.git/logs/refs/heads/main"
failed "rolled back, reflog deleted (last verified head)"
check "named as a rollback" grep -q "no longer contains the head verified before" "$T/err"
rm -f "$T/v/audit-verified"
failed "rolled back: the key store still holds the copy the rolled-back grant gave dave"
check "... named" grep -q "dave still holds a copy of its dossier key .*: not a member, an auditor or an admin" "$T/err"
rm -f "$T/v/keys/missions/M-1/dossier/dave.sealed" # the rewriter tidies keys/ too
failed "rolled back, every trace in the repository removed: what this identity verified, kept outside it, still catches it"
check "named as a rollback" grep -q "no longer contains the head this identity verified before" "$T/err"
forget_verified
expect 0 "a new machine (nothing verified before) sees a shorter chain that verifies alone" "$EVAULT_BIN" -R "$T/v" audit verify
failed "... but not against the checkpoint" --checkpoint "$T/cp.txt"
check "named by the checkpoint" grep -q "checkpoint: .*does not contain it\|checkpoint: its head is not in this history" "$T/err"

fresh
# rewritten with valid signatures: roll back, then new legitimate events on top
G "$T/v" update-ref -d refs/heads/main && G "$T/v" update-ref refs/heads/main "$(G "$T/vault" rev-parse main~3)"
rm -f "$T/v/audit.git/logs/refs/heads/main" "$T/v/audit-verified" "$T/v/keys/missions/M-1/dossier/dave.sealed"
as alice -R "$T/v" mission create M-NEW >/dev/null
expect 0 "a validly re-signed rewrite verifies on its own" "$EVAULT_BIN" -R "$T/v" audit verify
failed "... but a checkpoint catches it" --checkpoint "$T/cp.txt"

fresh
# a technician forges user.add with a real key of the vault
G "$T/v" show main:users/bob | sed 's/bob/eve/g; s/technician/admin/' >"$T/eve"
blob=$(G "$T/v" hash-object -w --stdin <"$T/eve")
export GIT_INDEX_FILE=$T/index
G "$T/v" read-tree main && G "$T/v" update-index --add --cacheinfo "100644,$blob,users/eve"
tree=$(G "$T/v" write-tree)
unset GIT_INDEX_FILE
seq=$(( $(G "$T/v" log -1 --format=%B main | sed -n 's/^Evault-Seq: //p') + 1 ))
forged=$(commit_as "$T/tech" "$(G "$T/v" rev-parse main)" "$tree" -m "Add user eve (admin)" -m "Evault-Seq: $seq
Evault-Action: user.add
Evault-Actor: tech
Evault-User: eve
Evault-Role: admin")
G "$T/v" update-ref refs/heads/main "$forged"
failed_at "user.add forged and signed by a technician" "$forged"
check "named as a role violation" grep -q "only admins may" "$T/err"

fresh
# a member adds a file whose entries sit outside the fid's buckets (layout: <f0>/<f1>/<fid>)
enc=$(G "$T/v" ls-tree -r main missions/M-1/work/ | awk '/\.enc$/ {print $3; exit}')
fid=00112233445566778899aabbccddeeff
export GIT_INDEX_FILE=$T/index
G "$T/v" read-tree main
G "$T/v" update-index --add --cacheinfo "100644,$enc,missions/M-1/work/f/f/$fid.enc" \
	--cacheinfo "100644,$enc,missions/M-1/work/f/f/$fid.objs"
tree=$(G "$T/v" write-tree)
unset GIT_INDEX_FILE
seq=$(( $(G "$T/v" log -1 --format=%B main | sed -n 's/^Evault-Seq: //p') + 1 ))
forged=$(commit_as "$T/tech" "$(G "$T/v" rev-parse main)" "$tree" -m "Add file in M-1/work" -m "Evault-Seq: $seq
Evault-Action: file.add
Evault-Actor: tech
Evault-Mission: M-1
Evault-Class: work
Evault-File: $fid
Evault-Objects: 0")
G "$T/v" update-ref refs/heads/main "$forged"
failed_at "a file.add with its entries in another fid's bucket" "$forged"
check "named as a file-entry violation" grep -q "must add exactly the entries of file $fid" "$T/err"
expect_error 1 "and ls refuses to act on it" as bob -R "$T/v" ls M-1/work
check "naming the commit and the rule" grep -q "commit ${forged:0:12}: file.add must add exactly the entries of file $fid" "$T/err"

fresh
# replay an old signed commit on top of the head
old=$(G "$T/v" rev-parse main~4)
G "$T/v" cat-file commit "$old" | sed "s/^parent .*/parent $(G "$T/v" rev-parse main)/" >"$T/replay"
replayed=$(G "$T/v" hash-object -t commit -w --stdin <"$T/replay")
G "$T/v" update-ref refs/heads/main "$replayed"
failed_at "an old signed commit replayed" "$replayed"

# checkpoints that must not be accepted
EVAULT_REPO=$T/other as alice init --admin alice >/dev/null 2>&1 || true
printf 'passphrase of alice\n' >"$T/alice.pass"
rm -rf "$T/other"; EVAULT_REPO=$T/other "$EVAULT_BIN" --identity "$T/alice.id" --passphrase-file "$T/alice.pass" init --admin alice >/dev/null 2>&1
EVAULT_REPO=$T/other as alice audit checkpoint >"$T/other-cp.txt"
fresh
failed "a checkpoint from another vault" --checkpoint "$T/other-cp.txt"
check "named as another vault's" grep -q "another vault" "$T/err"
sed '2s/.*/3/' "$T/cp.txt" >"$T/cp-edited.txt"
failed "an edited checkpoint" --checkpoint "$T/cp-edited.txt"
sed 's/^— alice /— dave /' "$T/cp.txt" >"$T/cp-renamed.txt"
failed "a checkpoint claiming another signer" --checkpoint "$T/cp-renamed.txt"
finish
