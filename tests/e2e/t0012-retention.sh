#!/usr/bin/env bash
# gc, fsck and retention: orphans and stale staging files collected after
# the grace period, missing and corrupt objects found, dossiers expired
# when their retention ends (time moved with faketime), interrupted
# expiries finished, dry runs that match the real runs, exit codes for cron.
. "$(dirname "$0")/lib.sh"
standard_vault
BIN_DIR=$(dirname "$EVAULT_BIN")
G() { git -C "$1/audit.git" "${@:2}"; }
setconf() { # key value
	sed -i "/^$1 /d" "$EVAULT_REPO/evault.conf"
	echo "$1 $2" >>"$EVAULT_REPO/evault.conf"
}
# A command run at another date: libfaketime preloaded directly, the
# monotonic clock left real, ASan told not to insist on coming first.
# Under the sanitizers (EVAULT_E2E_SANITIZED, set by scripts/test.sh) some
# real retention runs abort inside glibc ("The futex facility returned an
# unexpected error code") when libfaketime and the sanitizer runtime are
# both preloaded; for those runs only, the release build of the same
# source stands in (EVAULT_E2E_RELEASE_BIN), and every other step,
# including the checks of what the run did, stays sanitized.
FAKETIME_LIB=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -1)
[ -n "$FAKETIME_LIB" ] || { echo "libfaketime not found (scripts/deps.sh installs faketime)"; exit 2; }
later() {
	local when=$1; shift
	if [ -n "${EVAULT_E2E_SANITIZED:-}" ] && [ "$1" = "$EVAULT_BIN" ] && [ -x "${EVAULT_E2E_RELEASE_BIN:-}" ]; then
		set -- "$EVAULT_E2E_RELEASE_BIN" "${@:2}"
	fi
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" FAKETIME_DONT_FAKE_MONOTONIC=1 \
		LD_PRELOAD="$FAKETIME_LIB" FAKETIME="@$(date -u -d "$when" '+%Y-%m-%d %H:%M:%S')" "$@"
}
# After events dated ten years ahead, every command runs at least then:
# neither verification nor a commit accepts events from its future.
as_later() { # WHEN WHO ARGS...
	local when=$1 who=$2
	shift 2
	later "$when" "$EVAULT_BIN" --identity "$T/$who.id" --passphrase-file "$T/$who.pass" "$@"
}
echo "rapport" >"$T/report.txt"
head -c 3000000 /dev/urandom >"$T/notes.bin"
echo "code 1" >"$T/code.txt"
as bob put "$T/report.txt" M-1/dossier/ >/dev/null
as bob put "$T/notes.bin" M-1/work/ >/dev/null
as bob put "$T/code.txt" M-1/codes/ >/dev/null

# fsck: keyless, exit 0 clean, 1 problems, 2 could not run.
expect 0 "fsck of a clean vault" "$EVAULT_BIN" fsck
check "fsck's OK line" grep -q '^OK: 5 objects stored, 5 referenced by live files, 0 missing, 0 corrupt' "$T/out"
expect 0 "fsck --full re-hashes every object" "$EVAULT_BIN" fsck --full
check "... all 5" grep -q '(5 re-hashed)' "$T/out"
expect 2 "fsck usage error" "$EVAULT_BIN" fsck --bogus
expect 2 "fsck of something that is not a vault" "$EVAULT_BIN" -R "$T" fsck
victim=$(store_list "$T/vault" | head -1)
store_get "$T/vault" "$victim" "$T/victim"
store_rm "$T/vault" "$victim"
expect 1 "fsck finds a missing object" "$EVAULT_BIN" fsck
check "... naming it" grep -q "^missing object $victim, named by a live file$" "$T/out"
store_put "$T/vault" "$victim" "$T/victim"
store_flip "$T/vault" "$victim" 100
expect 0 "fsck without --full does not read the bytes" "$EVAULT_BIN" fsck
expect 1 "fsck --full finds a flipped bit" "$EVAULT_BIN" fsck --full
check "... naming the object" grep -q "^corrupt object $victim" "$T/out"
store_put "$T/vault" "$victim" "$T/victim"

# gc: unreferenced objects (a removed file's) are kept during the grace period.
as bob put "$T/notes.bin" M-1/work/old.bin >/dev/null
as bob rm M-1/work/old.bin >/dev/null
# (old.bin shared every object with notes.bin, so removing it orphans nothing)
expect 0 "gc after removing a file whose objects another file still names" "$EVAULT_BIN" gc
check "... collects nothing" grep -q ', 0 collected (0 bytes), 0 younger than the grace period kept' "$T/out"
head -c 2000000 /dev/urandom >"$T/tmp.bin"
as bob put "$T/tmp.bin" M-1/work/tmp.bin >/dev/null
as bob rm M-1/work/tmp.bin >/dev/null
expect 0 "gc within the grace period" "$EVAULT_BIN" gc
check "... keeps the 2 orphans" grep -q ', 2 younger than the grace period kept' "$T/out"
touch -d '3 hours ago' "$T/vault/tmp/obj-stale-0001"
touch "$T/vault/tmp/obj-fresh-0002"
expect 0 "gc removes staging leftovers older than the grace period" "$EVAULT_BIN" gc
check "... the stale one, not the fresh one" test ! -e "$T/vault/tmp/obj-stale-0001" -a -e "$T/vault/tmp/obj-fresh-0002"
rm -f "$T/vault/tmp/obj-fresh-0002"
setconf gc-grace-minutes 0
stored_before=$(store_count "$T/vault")
expect 0 "gc --dry-run with no grace" "$EVAULT_BIN" gc --dry-run
check "... would delete the 2 orphans" grep -q ', would delete 2 unreferenced (' "$T/out"
check "... and changes nothing" test "$(store_count "$T/vault")" -eq "$stored_before"
expect 0 "gc" "$EVAULT_BIN" gc
check "... collects them" grep -q ', 2 collected' "$T/out"
check "... 2 fewer objects stored" test "$(store_count "$T/vault")" -eq $((stored_before - 2))
expect 0 "every live file still reads back" as bob get M-1/work/notes.bin "$T/notes.out"
check "... byte-identical" cmp -s "$T/notes.bin" "$T/notes.out"
expect 0 "fsck --full after gc" "$EVAULT_BIN" fsck --full
check "... nothing unreferenced left" grep -q ', 0 unreferenced' "$T/out"
setconf gc-grace-minutes 60

# retention: exit codes, refusals.
expect 2 "retention by a technician could not run" as bob retention run
check "... saying why" grep -q "only an admin can run retention" "$T/err"
expect 2 "--now needs --dry-run" as alice retention run --now 2040-01-01
expect 2 "a bad date" as alice retention run --dry-run --now yesterday
expect 0 "retention on a fresh vault: all good" as alice retention run
check "... the summary line" grep -q '^retention: 1 missions, 0 overdue open, 0 expired, .*: all good$' "$T/out"
expect 1 "an open mission past open-days-max needs a person" later '+100 days' "$EVAULT_BIN" --identity "$T/alice.id" --passphrase-file "$T/alice.pass" retention run --dry-run
check "... named" grep -q '^overdue: M-1 has been open 100 days (open-days-max 90)$' "$T/out"

# close M-1, then its dossier expires after retention-years.
as bob codes mark M-1/codes/code.txt --rotated >/dev/null
as alice mission authorize-photos M-1 --by "client" --ref "ref" --scope "scope" >/dev/null
as alice mission close M-1 >/dev/null
dossier_objs=$(G "$T/vault" ls-tree -r --name-only main missions/M-1/dossier | grep 'objs$' | while read -r p; do G "$T/vault" show "main:$p"; done)
expect 0 "before its retention date nothing expires" as alice retention run --dry-run --now "$(date -u -d '+9 years' +%F)"
check "... would expire none" grep -q ', would expire 0,' "$T/out"
expect 0 "after it: the dry run plans the expiry" as alice retention run --dry-run --now "$(date -u -d '+10 years +2 days' +%F)"
check "... of M-1" grep -q '^would expire M-1: dossier retained until ' "$T/out"
before=$(G "$T/vault" rev-parse main)
check "... and changes nothing" test "$(G "$T/vault" rev-parse main)" = "$before"

# kill -9 in the middle of an expiry, then the next run finishes it
for point in expire-after-expiring expire-after-keys; do
	rm -rf "$T/v"; copy_vault "$T/vault" "$T/v"; forget_verified
	rc=$(EVAULT_FAILPOINT=$point later '+10 years 2 days' bash -c '"$@" >/dev/null 2>&1; echo $?' - \
		"$EVAULT_BIN" -R "$T/v" --identity "$T/alice.id" --passphrase-file "$T/alice.pass" retention run 2>/dev/null)
	check "kill -9 at $point: the run was killed" test "$rc" -eq 137
	expect 0 "after kill -9 at $point: verify --objects agrees" later '+10 years 3 days' "$EVAULT_BIN" -R "$T/v" audit verify --objects
	check "after kill -9 at $point: an expiry under way" grep -q '1 close or expiry under way' "$T/out"
	expect 0 "after kill -9 at $point: the next run finishes it" later '+10 years 3 days' "$EVAULT_BIN" -R "$T/v" --identity "$T/alice.id" --passphrase-file "$T/alice.pass" retention run
	check "after kill -9 at $point: ... saying so" grep -q 'finishing an interrupted expiry' "$T/out"
	check "after kill -9 at $point: no key copy left" test -z "$(find "$T/v/keys/missions/M-1" -type f)"
	expect 0 "after kill -9 at $point: verified, nothing under way" later '+10 years 3 days' "$EVAULT_BIN" -R "$T/v" audit verify --objects
	check "after kill -9 at $point: ... nothing under way" test "$(grep -c 'under way' "$T/out")" -eq 0
done

expect 0 "retention after the date expires the dossier" later '+10 years 2 days' "$EVAULT_BIN" --identity "$T/alice.id" --passphrase-file "$T/alice.pass" retention run
check "... reported" grep -q '^expire M-1: dossier retained until ' "$T/out"
check "no key copy of M-1 is left at all" test -z "$(find "$T/vault/keys/missions/M-1" -type f)"
left=0
for o in $dossier_objs; do store_has "$T/vault" "$o" && left=$((left + 1)); done
check "its dossier objects are deleted" test "$left" -eq 0
expect 0 "the erasure record survives" G "$T/vault" show main:missions/M-1/CLOSE
check "the dossier, mission info and photo authorisation are gone from the state" test -z "$(G "$T/vault" ls-tree --name-only main missions/M-1/ | grep -e dossier -e info.enc -e marks -e photos.enc)"
expect 0 "the certificate is still given, with ids instead of names" as alice mission certificate M-1
check "... kept files by fid" grep -q '  entry [0-9a-f]\{32\}$' "$T/out"
expect 0 "audit verify" later '+10 years 3 days' "$EVAULT_BIN" audit verify --objects
check "stock git verifies every commit" later '+10 years 3 days' bash -c "$(declare -f git_verify_all); T='$T' EVAULT_BIN='$EVAULT_BIN' git_verify_all '$T/vault'"
expect 0 "the retention run is an event" as alice log -n 3
check "... retention.run, mission.expire, mission.expiring" test "$(awk '{print $5}' "$T/out" | tr '\n' ' ')" = "retention.run mission.expire mission.expiring "
head_after=$(G "$T/vault" rev-parse main)
expect 0 "a second run is idempotent" later '+10 years 3 days' "$EVAULT_BIN" --identity "$T/alice.id" --passphrase-file "$T/alice.pass" retention run
check "... nothing expired" grep -q ', 0 expired, 0 interrupted finished, 0 device erasures late, 0 objects collected' "$T/out"
check "... only its own event added" test "$(G "$T/vault" rev-list --count "$head_after"..main)" -eq 1

# scrub finds corruption: exit 1
setconf scrub-per-mille 1000
as_later '+10 years 4 days' alice mission create M-9 --member bob >/dev/null
as_later '+10 years 4 days' bob put "$T/notes.bin" M-9/work/ >/dev/null
# an object of the file just put (the vault also holds young orphans, which scrub skips)
objs=$(G "$T/vault" ls-tree -r --name-only main missions/M-9/work | grep '\.objs$' | head -1)
obj=$(G "$T/vault" show "main:$objs" | head -1)
store_flip "$T/vault" "$obj" 60
expect 1 "scrub finds a corrupt object: needs a person" as_later '+10 years 4 days' alice retention run --dry-run
check "... named" grep -q "^scrub: object $obj is corrupt" "$T/out"

# 1,000 missions: the dry run matches what the real run then does.
rm -rf "$T/big"
"$EVAULT_BIN" -R "$T/big" --identity "$T/alice.id" --passphrase-file "$T/alice.pass" init --admin alice "${INIT_STORE[@]}" >/dev/null 2>&1
"$BIN_DIR/evault-gen-history" "$T/big" "$T/alice.id" "$T/alice.pass" 0 980 2>/dev/null
"$BIN_DIR/evault-gen-missions" "$T/big" "$T/alice.id" "$T/alice.pass" 20 --close 2>/dev/null
big() { "$EVAULT_BIN" -R "$T/big" --identity "$T/alice.id" --passphrase-file "$T/alice.pass" "$@"; }
expect 1 "1,000 missions: the dry run (all open ones overdue)" later '+11 years' bash -c "$(declare -f big); EVAULT_BIN='$EVAULT_BIN' T='$T' big retention run --dry-run"
grep -E '^(would expire|overdue)' "$T/out" | sed 's/^would expire/expire/' | sort >"$T/plan"
check "... plans 20 expiries and 980 overdue missions" test "$(grep -c '^expire' "$T/plan")" -eq 20 -a "$(grep -c '^overdue' "$T/plan")" -eq 980
expect 1 "1,000 missions: the real run" later '+11 years' bash -c "$(declare -f big); EVAULT_BIN='$EVAULT_BIN' T='$T' big retention run"
grep -E '^(expire|overdue)' "$T/out" | sort >"$T/done"
check "... did exactly what the dry run said" cmp -s "$T/plan" "$T/done"
expect 0 "... and the history verifies" later '+11 years' "$EVAULT_BIN" -R "$T/big" audit verify --objects
finish
