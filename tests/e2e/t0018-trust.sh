#!/usr/bin/env bash
# Trust only what was verified (docs/auditing.md, "Every command verifies
# first"): a writer of the repository files plants state; no command acts
# on it. Each identity keeps the last head it verified outside the
# repository (next to its identity file) and verifies what is new first.
. "$(dirname "$0")/lib.sh"
standard_vault
G() { GIT_AUTHOR_NAME=x GIT_AUTHOR_EMAIL=x@x GIT_COMMITTER_NAME=x GIT_COMMITTER_EMAIL=x@x \
	git -C "$T/vault/audit.git" "$@"; }
vid=$(sed -n 's/^vault-id //p' "$T/vault/evault.conf")
tf() { ls "$T/${1:-bob}.id.verified/$vid"-* 2>/dev/null | head -1; } # WHO's trust file of $T/vault
ssh-keygen -q -t ed25519 -N '' -f "$T/mallory-ssh" -C mallory
mallory_pub=$(new_identity mallory)

# The trusted head lives next to the identity file, outside the repository.
expect 0 "bob lists his mission" as bob ls M-1
check "the head bob verified is kept next to his identity" test -s "$(tf)"
check "... and names the vault's head" grep -q "^head $(G rev-parse main)$" "$(tf)"
check "nothing of it in the repository" test -z "$(grep -rl "evault-verified" "$T/vault" 2>/dev/null)"

# 1. A writer of the repository files moves main to a commit of theirs that
# makes mallory an admin (unsigned, or signed by a key the vault does not know).
good=$(G rev-parse main)
G show main:users/alice | sed "s/^name alice$/name mallory/; s|^key .*|key $mallory_pub|" >"$T/mallory.rec"
blob=$(G hash-object -w "$T/mallory.rec")
utree=$( (G ls-tree main:users; printf '100644 blob %s\tmallory\n' "$blob") | G mktree)
tree=$( (G ls-tree main | grep -v $'\tusers$'; printf '040000 tree %s\tusers\n' "$utree") | G mktree)
seq=$(G log -1 --format=%B main | sed -n 's/^Evault-Seq: //p')
planted=$(GIT_AUTHOR_NAME=alice GIT_AUTHOR_EMAIL=a@x GIT_COMMITTER_NAME=alice GIT_COMMITTER_EMAIL=a@x \
	G -c gpg.format=ssh -c user.signingkey="$T/mallory-ssh" commit-tree -S -p "$good" "$tree" \
	-m "Add user mallory" -m "Evault-Seq: $((seq + 1))
Evault-Action: user.add
Evault-Actor: alice")
G update-ref refs/heads/main "$planted"
check "the planted state has mallory as an admin" bash -c "git -C '$T/vault/audit.git' show main:users/mallory | grep -q '^role admin'"
expect_error 1 "alice's mission create refuses to act on the planted head" \
	as alice mission create M-2 --client "Client Two" --member bob
check "... naming the planted commit and the rule" grep -q "commit ${planted:0:12}: signed by a key that is not alice's" "$T/err"
check "... and no key of a new mission was sealed to anyone" test ! -e "$T/vault/keys/missions/M-2"
expect_error 1 "mallory's own commands are refused too" as mallory ls
expect_error 1 "so is a keyless gc (it would delete what the planted state drops)" "$EVAULT_BIN" gc --dry-run

# Promoting oneself: bob's record rewritten to admin, signed by bob's own ssh key
# (a technician who can write the repository files).
G update-ref refs/heads/main "$good"
G show main:users/bob | sed 's/^role technician$/role admin/' >"$T/bob.rec"
blob=$(G hash-object -w "$T/bob.rec")
utree=$( (G ls-tree main:users | grep -v $'\tbob$'; printf '100644 blob %s\tbob\n' "$blob") | G mktree)
tree=$( (G ls-tree main | grep -v $'\tusers$'; printf '040000 tree %s\tusers\n' "$utree") | G mktree)
promoted=$(GIT_AUTHOR_NAME=bob GIT_AUTHOR_EMAIL=b@x GIT_COMMITTER_NAME=bob GIT_COMMITTER_EMAIL=b@x \
	G commit-tree -p "$good" "$tree" -m "Promote" -m "Evault-Seq: $((seq + 1))
Evault-Action: user.add
Evault-Actor: bob")
G update-ref refs/heads/main "$promoted"
expect_error 1 "bob promoted by a planted commit: refused" as bob mission create M-3 --member bob
check "... naming it" grep -q "commit ${promoted:0:12}" "$T/err"

# Back to the real head: everything works, nothing was lost.
G update-ref refs/heads/main "$good"
expect 0 "the real head: alice creates the mission" as alice mission create M-2 --client "Client Two" --member bob
check "... sealed to her and bob only" test "$(ls "$T/vault/keys/missions/M-2/work" | sort | tr '\n' ' ')" = "alice.sealed bob.sealed "
expect_error 6 "mallory is no user of the real vault" as mallory ls

# A history rewritten behind the trusted head: rolled back one event.
as bob ls M-1 >/dev/null # bob has verified the head with M-2
trusted=$(G rev-parse main)
G update-ref refs/heads/main "$(G rev-parse main~1)"
expect_error 1 "rolled back behind the head bob verified: refused" as bob ls M-1
check "... saying the history no longer contains it" grep -q "no longer contains the head verified before (${trusted:0:12})" "$T/err"
G update-ref refs/heads/main "$trusted"
expect 0 "the head restored: bob works again" as bob ls M-1

# The first use by an identity verifies from the root: a bad commit below a
# good-looking head is found even with no trusted head yet.
put1=$(G rev-parse main)
echo "note" >"$T/note.txt"
as bob put "$T/note.txt" M-1/work/ >/dev/null
G update-ref refs/heads/main "$planted"
G update-ref refs/heads/main "$(G commit-tree -p "$planted" "$(G rev-parse "$planted^{tree}")" -m "x" -m "Evault-Seq: $((seq + 2))
Evault-Action: retention.run
Evault-Actor: alice")"
forget_verified
expect_error 1 "a new identity's first command verifies from the root" as carol ls
check "... and names the oldest bad commit, not the head" grep -q "commit ${planted:0:12}" "$T/err"
G update-ref refs/heads/main "$(G rev-parse "$put1")"

# audit verify still reports the whole story, and records what it verified.
G update-ref refs/heads/main "$planted"
expect 1 "audit verify names the planted commit" "$EVAULT_BIN" audit verify
check "... the first bad commit" grep -q "FAILED at commit $planted" "$T/err"
G update-ref refs/heads/main "$put1"
G reflog expire --expire=now --all # (this test moved main back and forth itself)
forget_verified
expect 0 "audit verify of the real history" as alice audit verify
check "... records its head as verified" grep -q "^head $put1$" "$(tf alice)"
as bob ls M-1 >/dev/null
check "a damaged trust file is refused, not believed" bash -c "printf 'evault-verified 1\nvault $vid\nhead zz\n' >'$(tf)'; ! '$EVAULT_BIN' --identity '$T/bob.id' --passphrase-file '$T/bob.pass' ls M-1 2>'$T/err'; grep -q 'is damaged' '$T/err'"
forget_verified

# 2. Policy is signed state, not a local file.
expect 0 "the policy in force" as bob policy show
check "... ten years of retention by default" grep -q '^retention-years 10$' "$T/out"
cp "$T/vault/evault.conf" "$T/conf.good"
echo "retention-years 1" >>"$T/vault/evault.conf"
expect_error 5 "retention-years written into evault.conf: refused, not obeyed" as alice policy show
check "... saying it is the vault's signed policy" grep -q "retention-years is the vault's policy, recorded in its signed history" "$T/err"
cp "$T/conf.good" "$T/vault/evault.conf"
expect_error 6 "a technician cannot change the policy" as bob policy set retention-years 1
expect_error 2 "a bad value is refused" as alice policy set retention-years 0
expect 0 "an admin changes it, recorded and signed" as alice policy set retention-years 12
expect 0 "... shown" as bob policy show
check "... 12 years now" grep -q '^retention-years 12$' "$T/out"
expect 0 "... and in the log" as alice log -n 1
check "... as a vault.policy event by alice" grep -q 'vault.policy' "$T/out"
expect 0 "the history verifies" as alice audit verify
# a close dates its retention by the policy in force, and verify holds it to
# that, even for an admin's signed close (eve: an admin whose ssh key we hold)
ssh-keygen -q -t ed25519 -N '' -f "$T/eve" -C eve
as alice user add eve --role admin --pubkey "$(cat "$T/eve.pub")" >/dev/null
as alice mission create M-9 --client "C" --member bob >/dev/null
as bob put "$T/note.txt" M-9/dossier/ >/dev/null
expect 0 "a mission closed under retention-years 12" as alice mission close M-9
closed=$(G show main:missions/M-9/CLOSE | sed -n 's/^closed //p')
until=$(G show main:missions/M-9/CLOSE | sed -n 's/^retain-until //p')
check "... is kept 12 years" test "$(date -u -d "@$until" +%Y)" -eq $(( $(date -u -d "@$closed" +%Y) + 12 ))
closecommit=$(G rev-list -n 1 --grep='^Evault-Action: mission.close$' main)
cp -a "$T/vault" "$T/short"
GS() { GIT_AUTHOR_NAME=x GIT_AUTHOR_EMAIL=x@x GIT_COMMITTER_NAME=x GIT_COMMITTER_EMAIL=x@x git -C "$T/short/audit.git" "$@"; }
short=$(date -u -d "$(date -u -d "@$closed" '+%F %T') +1 year" +%s)
export GIT_INDEX_FILE=$T/index
GS read-tree "$closecommit"
for rec in CLOSE MISSION; do
	GS show "$closecommit:missions/M-9/$rec" | sed "s/^retain-until .*/retain-until $short/" >"$T/rec"
	GS update-index --add --cacheinfo "100644,$(GS hash-object -w "$T/rec"),missions/M-9/$rec"
done
tree=$(GS write-tree)
unset GIT_INDEX_FILE
msg=$(GS log -1 --format=%B "$closecommit" | sed 's/^Evault-Actor: alice$/Evault-Actor: eve/')
forged=$(GIT_AUTHOR_NAME=eve GIT_AUTHOR_EMAIL=e@x GIT_COMMITTER_NAME=eve GIT_COMMITTER_EMAIL=e@x \
	git -C "$T/short/audit.git" -c gpg.format=ssh -c user.signingkey="$T/eve" commit-tree -S -p "$closecommit^" "$tree" -m "$msg")
GS update-ref refs/heads/main "$forged"
GS reflog expire --expire=now --all
forget_verified
expect 1 "a close signed by an admin (eve) that keeps the dossier 1 year instead of 12: verify refuses it" \
	"$EVAULT_BIN" -R "$T/short" audit verify
check "... naming the rule" grep -q "FAILED at commit $forged: mission.close: the dossier's retention date is not the close date plus the 12 years the policy in force says" "$T/err"

# 7. A bundle is hostile input: what its pack may make verify do is bounded,
# checked while it is read, before anything expands it.
declare -A why=([big-delta]="a delta would produce an object larger than allowed"
	[many-deltas]="its objects would expand to more than allowed for its size"
	[deep-chain]="a chain of deltas is deeper than allowed"
	[bad-base]="a delta's base is not an object of the pack before it")
for bomb in big-delta many-deltas deep-chain bad-base; do
	python3 "$(dirname "$0")/fixtures/packbomb.py" "$bomb" "$T/$bomb.bundle"
	s0=$(date +%s%N)
	expect 1 "a $(stat -c %s "$T/$bomb.bundle")-byte bundle ($bomb) is refused" "$EVAULT_BIN" audit verify "$T/$bomb.bundle"
	ms=$(( ($(date +%s%N) - s0) / 1000000 ))
	check "... at once ($ms ms), saying which bound: ${why[$bomb]}" grep -q "the bundle's pack is refused: ${why[$bomb]}" "$T/err"
done
expect 0 "an export of this vault still verifies" bash -c "'$EVAULT_BIN' audit export --out '$T/exp' >/dev/null && '$EVAULT_BIN' audit verify '$T/exp'"

# Key copies left by an interrupted write are copies too: close destroys
# them, verify reports them.
as alice mission create M-7 --client "C" --member bob >/dev/null
as bob put "$T/note.txt" M-7/dossier/ >/dev/null
K=$T/vault/keys/missions/M-7
cp "$K/work/bob.sealed" "$K/work/bob.sealed.tmp-0badc0de"
expect 0 "close of a mission with a leftover key write" as alice mission close M-7
check "... destroys the leftover too" test -z "$(ls "$K/work" 2>/dev/null)"
mkdir -p "$K/codes" && cp "$K/dossier/alice.sealed" "$K/codes/carol.sealed.tmp-12345678"
expect 1 "a leftover key copy of an erased class: verify reports it" "$EVAULT_BIN" audit verify
check "... naming the holder" grep -q "M-7 is closed but carol still holds a copy of its codes key" "$T/err"
rm -rf "$K/codes"

# 8. Allowed-signers options are honoured or refused, never ignored.
expect 0 "pinned to the vault's own allowed signers" "$EVAULT_BIN" audit verify --signers "$T/exp/allowed_signers" "$T/exp"
for opt in 'valid-before="20200101"' 'cert-authority' 'namespaces="git",valid-after="20990101"'; do
	sed "s/ namespaces=\"git\" / $opt /" "$T/exp/allowed_signers" >"$T/signers.opt"
	expect 2 "a signer line with $opt is refused, not read without it" "$EVAULT_BIN" audit verify --signers "$T/signers.opt" "$T/exp"
	check "... saying so" grep -q 'options other than namespaces="git" are not supported' "$T/err"
done

# 8. Events of a mission are shown by audit show and export --mission as
# by log: to its key holders, admins and auditors.
m1=$(git -C "$T/vault/audit.git" log --grep='^Evault-Mission: M-1$' --format=%B -1 main | sed -n 's/^Evault-Seq: //p')
expect_error 3 "carol (no key of M-1) cannot see an event of M-1 with audit show" as carol audit show "$m1"
check "... told as of an event that does not exist" grep -q "no event $m1 (a sequence number or a commit id)" "$T/err"
check "... by its commit id either" bash -c "! '$EVAULT_BIN' --identity '$T/carol.id' audit show \$(git -C '$T/vault/audit.git' log --grep='^Evault-Mission: M-1$' --format=%h -1 main) >/dev/null 2>&1"
expect 0 "bob (a member) sees it" as bob audit show "$m1"
check "... its mission" grep -q "Evault-Mission: M-1" "$T/out"
expect 0 "so does dave (an auditor)" as dave audit show "$m1"
expect 0 "carol sees the vault's own events (user.add)" as carol audit show 1
expect_error 3 "carol cannot export M-1's events" as carol audit export --out "$T/exp-carol" --mission M-1
check "... and nothing is written" test ! -e "$T/exp-carol"
expect 0 "bob can" as bob audit export --out "$T/exp-bob" --mission M-1
check "... with its log" test -s "$T/exp-bob/mission-log.txt"

# 6. One member's clock does not date everyone's events. (libfaketime: one
# process at another date; under the sanitizers the release binary stands in.)
FAKETIME_LIB=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -1)
at() { # DATE BIN ARGS...: a command whose clock says DATE
	local when=$1; shift
	if [ -n "${EVAULT_E2E_SANITIZED:-}" ] && [ "$1" = "$EVAULT_BIN" ] && [ -x "${EVAULT_E2E_RELEASE_BIN:-}" ]; then
		set -- "$EVAULT_E2E_RELEASE_BIN" "${@:2}"
	fi
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" FAKETIME_DONT_FAKE_MONOTONIC=1 \
		LD_PRELOAD="$FAKETIME_LIB" FAKETIME="@$when" "$@"
}
cp -a "$T/vault" "$T/clock"
echo "from 2099" >"$T/2099.txt"
expect 0 "a put by a member whose clock says 2099" \
	at "2099-01-01 00:00:00" "$EVAULT_BIN" -R "$T/clock" --identity "$T/bob.id" --passphrase-file "$T/bob.pass" put "$T/2099.txt" M-1/work/
future=$(git -C "$T/clock/audit.git" rev-parse main)
expect_error 1 "another member's command refuses an event dated after its own clock" \
	as carol -R "$T/clock" ls
check "... naming it: dated after the time of verification" grep -q "commit ${future:0:12}: dated [0-9]* s after the time of verification" "$T/err"
expect_error 1 "the member himself, his clock corrected, records nothing after it" \
	as bob -R "$T/clock" put "$T/note.txt" M-1/work/again.txt
check "... saying the clock or the history is wrong" grep -q "the last event is dated [0-9]* s after this machine's clock: the clock or the history is wrong" "$T/err"
forget_verified
expect 1 "audit verify names the event from the future" "$EVAULT_BIN" -R "$T/clock" audit verify
check "... as the bad commit" grep -q "FAILED at commit $future: dated" "$T/err"
expect 0 "within the skew machines may have (4 minutes ahead), events are accepted" \
	at "$(date -u -d '+4 minutes' '+%Y-%m-%d %H:%M:%S')" "$EVAULT_BIN" --identity "$T/bob.id" --passphrase-file "$T/bob.pass" put "$T/2099.txt" M-1/work/skew.txt
expect 0 "... and verify" "$EVAULT_BIN" audit verify

# 8. A user who leaves is disabled: their key copies go, their identity
# opens nothing, and verify refuses anything they sign afterwards.
expect 0 "carol is granted M-1" as alice mission grant M-1 carol
cp "$T/vault/keys/missions/M-1/work/carol.sealed" "$T/carol-kept.sealed"
expect_error 6 "a technician cannot disable users" as bob user disable carol
expect_error 2 "an admin cannot disable themselves" as alice user disable alice
gens=$(git -C "$T/vault/audit.git" show main:missions/M-1/MISSION | grep -c '^key work ')
expect 0 "alice disables carol" as alice user disable carol
check "... every copy of carol's keys is gone" test -z "$(find "$T/vault/keys" -name 'carol.sealed*')"
check "... revoked first from M-1, whose keys turned over" bash -c \
	"git -C '$T/vault/audit.git' log -2 --format=%B main | grep -q '^Evault-Action: mission.revoke$' && [ \$(git -C '$T/vault/audit.git' show main:missions/M-1/MISSION | grep -c '^key work ') -eq $((gens + 1)) ]"
check "... then disabled" bash -c "git -C '$T/vault/audit.git' log -1 --format=%B main | grep -q '^Evault-Action: user.disable$'"
expect 0 "user list shows her disabled" as alice user list
check "... as disabled" grep -q "carol.*disabled" "$T/out"
expect_error 6 "carol's identity opens nothing" as carol ls
check "... saying she is disabled" grep -q "user carol is disabled" "$T/err"
expect_error 7 "disabling her twice says so" as alice user disable carol
expect_error 6 "she cannot be granted a mission again" as alice mission grant M-1 carol
cp "$T/carol-kept.sealed" "$T/vault/keys/missions/M-1/work/carol.sealed"
expect 1 "a key copy of hers put back: verify reports it" "$EVAULT_BIN" audit verify
check "... naming it" grep -q "user carol is disabled but still holds a copy of the work key of M-1" "$T/err"
rm "$T/vault/keys/missions/M-1/work/carol.sealed"
expect 0 "the vault verifies" "$EVAULT_BIN" audit verify
ssh-keygen -q -t ed25519 -N '' -f "$T/zed" -C zed
expect 0 "zed, a technician whose ssh key we hold" as alice user add zed --role technician --pubkey "$(cat "$T/zed.pub")"
expect 0 "... is granted M-1" as alice mission grant M-1 zed
expect 0 "... and disabled" as alice user disable zed
rm -rf "$T/dis" && cp -a "$T/vault" "$T/dis"
seq=$(git -C "$T/dis/audit.git" log -1 --format=%B main | sed -n 's/^Evault-Seq: //p')
late=$(GIT_AUTHOR_NAME=zed GIT_AUTHOR_EMAIL=z@x GIT_COMMITTER_NAME=zed GIT_COMMITTER_EMAIL=z@x \
	git -C "$T/dis/audit.git" -c gpg.format=ssh -c user.signingkey="$T/zed" commit-tree -S -p main "main^{tree}" \
	-m "Refused" -m "Evault-Seq: $((seq + 1))
Evault-Action: content.refused
Evault-Actor: zed
Evault-Mission: M-1
Evault-Refused: 1")
git -C "$T/dis/audit.git" update-ref refs/heads/main "$late"
forget_verified
expect 1 "an event zed signs after his disabling: verify refuses it" "$EVAULT_BIN" -R "$T/dis" audit verify
check "... naming the rule" grep -q "FAILED at commit $late: actor zed is not an active user at that point" "$T/err"
expect_error 1 "... and no command acts on it" as alice -R "$T/dis" ls
finish
