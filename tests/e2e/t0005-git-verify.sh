#!/usr/bin/env bash
# Auditors' stock tools: every commit verifies with git and ssh-keygen;
# forged, unsigned and tampered commits do not, and evault log flags them.
. "$(dirname "$0")/lib.sh"
standard_vault
echo r >"$T/r"
as bob put "$T/r" M-1/dossier/ >/dev/null
as alice mission grant M-1 dave >/dev/null
G="git -C $T/vault/audit.git"
expect 0 "allowed-signers" "$EVAULT_BIN" audit allowed-signers
cp "$T/out" "$T/signers"
check "one line per user, git namespace" test "$(grep -c ' namespaces="git" ssh-ed25519 ' "$T/signers")" -eq 4
check "every commit verifies with git verify-commit" git_verify_all "$T/vault"
n=$($G rev-list --count main)
good=$($G -c gpg.format=ssh -c gpg.ssh.allowedSignersFile="$T/signers" log --show-signature 2>&1 | grep -c '^Good "git" signature for ')
check "git log --show-signature: $good good signatures for $n commits" test "$good" -eq "$n"
check "history is linear" test "$($G rev-list --min-parents=2 --count main)" -eq 0
check "one branch only" test "$($G for-each-ref --format=x refs/heads | wc -l)" -eq 1

# ssh-keygen alone verifies a commit: signature from the header, payload = commit without it.
head=$($G rev-parse main)
$G cat-file commit "$head" >"$T/commit"
awk '/^gpgsig /{s=1; sub(/^gpgsig /,""); print > "'"$T/sig"'"; next} s&&/^ /{sub(/^ /,""); print > "'"$T/sig"'"; next} {s=0; print}' "$T/commit" >"$T/payload"
actor=$($G log -1 --format=%an main)
ssh-keygen -Y verify -f "$T/signers" -I "$actor" -n git -s "$T/sig" <"$T/payload" >/dev/null 2>&1
check "ssh-keygen -Y verify accepts the head commit" test $? -eq 0
printf 'X' >>"$T/payload"
ssh-keygen -Y verify -f "$T/signers" -I "$actor" -n git -s "$T/sig" <"$T/payload" >/dev/null 2>&1
check "ssh-keygen -Y verify rejects a changed payload" test $? -ne 0

# A commit forged by someone outside the vault, claiming to be bob.
ssh-keygen -q -t ed25519 -N '' -f "$T/mallory" -C mallory
tree=$($G rev-parse "main^{tree}")
forged=$(GIT_AUTHOR_NAME=bob GIT_AUTHOR_EMAIL=b@x GIT_COMMITTER_NAME=bob GIT_COMMITTER_EMAIL=b@x \
	$G -c gpg.format=ssh -c user.signingkey="$T/mallory" commit-tree -S -p "$head" "$tree" \
	-m "Add file" -m "Evault-Seq: 99
Evault-Action: file.add
Evault-Actor: bob")
check "forged commit created" test -n "$forged"
$G -c gpg.format=ssh -c gpg.ssh.allowedSignersFile="$T/signers" verify-commit "$forged" >/dev/null 2>&1
check "git rejects the forged commit" test $? -ne 0
$G update-ref refs/heads/main "$forged"
expect_error 1 "log refuses a forged head: nothing is read from an unverified history" as alice log -n 1
check "... naming the forged commit" grep -q "commit ${forged:0:12}" "$T/err"

# An unsigned commit.
unsigned=$(GIT_AUTHOR_NAME=bob GIT_AUTHOR_EMAIL=b@x GIT_COMMITTER_NAME=bob GIT_COMMITTER_EMAIL=b@x \
	$G commit-tree -p "$head" "$tree" -m "x" -m "Evault-Seq: 99
Evault-Action: file.add
Evault-Actor: bob")
$G update-ref refs/heads/main "$unsigned"
expect_error 1 "log refuses an unsigned head" as alice log -n 1
check "... naming it" grep -q "commit ${unsigned:0:12}" "$T/err"

# A valid signature block moved from the header into the message body.
{ grep -v '^gpgsig \|^ ' "$T/commit" | sed -n '1,/^$/p'; sed -n '/^gpgsig /,/END SSH SIGNATURE/p' "$T/commit"; sed -n '/^$/,$p' "$T/commit" | tail -n +2; } >"$T/moved"
moved=$($G hash-object -t commit -w --stdin <"$T/moved" 2>/dev/null)
if [ -n "$moved" ]; then
	$G update-ref refs/heads/main "$moved"
	expect_error 1 "log refuses a commit with its signature in the body" as alice log -n 1
	check "... saying it is not signed" grep -q "commit ${moved:0:12}: the commit is not signed" "$T/err"
else
	ko "could not craft the moved-signature commit"
fi
$G update-ref refs/heads/main "$head"
expect 0 "back on the real head" as alice log -n 1
check "the real head verifies" test "$(grep -c 'NOT VERIFIED' "$T/out")" -eq 0
finish
