#!/usr/bin/env bash
# What a new user reads: errors that name the mistake (a destination
# without its class, the file a multi-file put refused, an unreadable file
# and its owner, a repository of another account, a short passphrase),
# get that keeps an existing OUT, aligned log columns, dry runs in the
# conditional, and README's git example run as written.
. "$(dirname "$0")/lib.sh"
standard_vault
printf 'report\n' >"$T/a.txt"
printf 'notes\n' >"$T/b.txt"

# ---- put: a destination without its class ----
expect_error 2 "put - M-1/x.txt (stdin, no class) is a usage error" as bob put - M-1/x.txt <"$T/a.txt"
check "... that says the class is missing, and which classes there are" \
	grep -q '^evault: M-1/x.txt: no class: the destination is MID/CLASS/PATH, CLASS one of dossier, work, codes$' "$T/err"
check "... not that stdin needs a file name" test -z "$(grep 'needs a file name' "$T/err")"
expect_error 2 "put FILE M-1/x.txt (no class) says so too" as bob put "$T/a.txt" M-1/x.txt
check "... no class" grep -q 'M-1/x.txt: no class' "$T/err"
expect_error 2 "put FILE M-1 (no class at all)" as bob put "$T/a.txt" M-1
check "... no class" grep -q 'M-1: no class' "$T/err"
expect 0 "put - M-1/work/x.txt (with its class) stores" as bob put - M-1/work/x.txt <"$T/a.txt"
check "... the path it stored" grep -qx 'M-1/work/x.txt' "$T/out"
expect_error 2 "put - M-1/work/ (a directory) still needs a file name" as bob put - M-1/work/ <"$T/a.txt"
check "... and says so" grep -q 'reading stdin needs a file name' "$T/err"

# ---- a multi-file put names the file it refused ----
{ printf '\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01'; head -c 4000 /dev/urandom; } >"$T/photo.jpg"
expect_error 12 "put photo.jpg b.txt: the photo is refused by the charter" as bob put "$T/photo.jpg" "$T/b.txt" M-1/dossier/
check "... the error names photo.jpg" grep -q "^evault: $T/photo.jpg: refused: image/jpeg" "$T/err"
expect 0 "put a.txt alone stores it" as bob put "$T/a.txt" M-1/dossier/
expect_error 7 "put b.txt a.txt: a.txt exists already" as bob put "$T/b.txt" "$T/a.txt" M-1/dossier/
check "... the error names a.txt" grep -q "^evault: $T/a.txt: M-1/dossier/a.txt already exists" "$T/err"
check "... not b.txt, which was stored" test -z "$(grep "b.txt" "$T/err")" -a "$(cat "$T/out")" = M-1/dossier/b.txt
expect 0 "put -f b.txt a.txt replaces both" as bob put -f "$T/b.txt" "$T/a.txt" M-1/dossier/

# ---- get does not overwrite OUT without -f ----
printf 'keep me\n' >"$T/out.txt"
expect_error 7 "get over an existing OUT is refused (exit 7)" as bob get M-1/dossier/a.txt "$T/out.txt"
check "... naming it and -f" grep -q "^evault: $T/out.txt already exists (use -f to replace it)$" "$T/err"
check "... OUT is untouched" test "$(cat "$T/out.txt")" = "keep me"
check "... no temporary file left beside it" test -z "$(find "$T" -maxdepth 1 -name 'out.txt.evault-*')"
expect 0 "get -f replaces it" as bob get -f M-1/dossier/a.txt "$T/out.txt"
check "... with the file" cmp -s "$T/a.txt" "$T/out.txt"
expect 0 "get --force too" as bob get --force M-1/dossier/b.txt "$T/out.txt"
check "... with the other file" cmp -s "$T/b.txt" "$T/out.txt"
expect 0 "get OUT -f (the flag after)" as bob get M-1/dossier/a.txt "$T/out.txt" -f
check "... replaces it" cmp -s "$T/a.txt" "$T/out.txt"
expect_error 2 "get with an unknown option is a usage error" as bob get -x M-1/dossier/a.txt "$T/out.txt"
check "... that shows -f" grep -q 'usage: evault get \[-f\] MID/CLASS/PATH \[OUT\]' "$T/err"
expect 0 "get to a new OUT" as bob get M-1/dossier/a.txt "$T/new.txt"
check "... writes it" cmp -s "$T/a.txt" "$T/new.txt"
expect 0 "get to stdout (no OUT)" as bob get M-1/dossier/a.txt
check "... prints it" cmp -s "$T/a.txt" "$T/out"
expect 0 "get to '-'" as bob get M-1/dossier/a.txt -
check "... prints it" cmp -s "$T/a.txt" "$T/out"
mkdir "$T/dir"
expect 0 "get into a directory writes the file's name there" as bob get M-1/dossier/a.txt "$T/dir"
check "... $T/dir/a.txt" cmp -s "$T/a.txt" "$T/dir/a.txt"
printf 'mine\n' >"$T/dir/a.txt"
expect_error 7 "get into a directory where the name exists is refused" as bob get M-1/dossier/a.txt "$T/dir"
check "... naming the file inside" grep -q "^evault: $T/dir/a.txt already exists" "$T/err"
check "... which is untouched" test "$(cat "$T/dir/a.txt")" = mine
expect 0 "get -f into the directory replaces it" as bob get -f M-1/dossier/a.txt "$T/dir"
check "... with the file" cmp -s "$T/a.txt" "$T/dir/a.txt"
expect_error 3 "get of a missing file is still not found (and creates nothing)" as bob get M-1/dossier/none.txt "$T/none.txt"
check "... nothing created" test ! -e "$T/none.txt"
expect 0 "evault help get shows -f" "$EVAULT_BIN" help get
check "... in its usage line" grep -q '^usage: evault get \[-f\] MID/CLASS/PATH \[OUT\]' "$T/out"

# ---- another account's files, another account's repository ----
U=evault-e2e
id "$U" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$U" ||
	{ ko "cannot create user $U"; finish; exit; }
chmod 0755 "$T"
copy_vault "$T/vault" "$T/bobs" && forget_verified
mkdir -p "$T/u"
cp "$T/bob.id" "$T/bob.pass" "$T/u/"
chown -R "$U:" "$T/bobs" "$T/u"
as_user() { # evault as the account $U with bob's identity
	setpriv --reuid="$U" --regid="$U" --clear-groups env HOME="$T/u" \
		"$EVAULT_BIN" --identity "$T/u/bob.id" --passphrase-file "$T/u/bob.pass" -R "$T/bobs" "$@"
}
expect 0 "the account that owns the repository reads it" as_user ls M-1
expect 0 "... and writes it" as_user put "$T/a.txt" M-1/dossier/from-owner.txt
expect_error 6 "root creating a mission in it is refused (exit 6)" as alice -R "$T/bobs" mission create M-2 --member bob
check "... saying whose repository it is" grep -q "the repository belongs to $U; run evault as $U$" "$T/err"
check "... and writing nothing there" test -z "$(find "$T/bobs" -uid 0 -print -quit)"
expect_error 6 "root granting in it is refused" as alice -R "$T/bobs" mission grant M-1 carol
expect_error 6 "a keyless gc by root is refused too" "$EVAULT_BIN" -R "$T/bobs" gc
expect 0 "... its dry run changes nothing and runs" "$EVAULT_BIN" -R "$T/bobs" gc --dry-run
expect 0 "root still reads it (no change)" as alice -R "$T/bobs" log -n 1
expect 0 "root's own repository takes root's changes" as alice mission create M-9
# what an older evault let root leave: a key copy bob's account cannot read
key=$T/bobs/keys/missions/M-1/dossier/bob.sealed
check "bob's dossier key copy is there" test -f "$key"
chown root: "$key" && chmod 0600 "$key"
expect_error 1 "bob's account with an unreadable key copy: an error (exit 1)" as_user ls M-1/dossier
check "... saying permission denied, the file and its owner" \
	grep -q "$key: permission denied: it belongs to root (mode 0600), evault runs as $U" "$T/err"
check "... not no such mission" test -z "$(grep 'no such mission' "$T/err")"
expect_error 1 "get says the same" as_user get M-1/dossier/a.txt
check "... permission denied" grep -q "permission denied: it belongs to root" "$T/err"
expect_error 1 "log --mission says the same" as_user log --mission M-1
check "... permission denied" grep -q "permission denied" "$T/err"
chown "$U:" "$key"
expect 0 "once the copy is bob's account's again, it reads" as_user get M-1/dossier/a.txt
check "... the file" cmp -s "$T/a.txt" "$T/out"
expect_error 3 "a mission bob holds no key for is still not found" as_user ls M-9
if _local "$T/bobs"; then
	find "$T/bobs/objects" -type f -exec chown root: {} + -exec chmod 0400 {} +
	expect_error 1 "an object bob's account cannot read: permission denied (exit 1)" as_user get M-1/dossier/a.txt
	check "... naming the object and its owner" grep -q "cannot open object $T/bobs/objects/.*: permission denied: it belongs to root" "$T/err"
	find "$T/bobs/objects" -type f -exec chown "$U:" {} + -exec chmod 0444 {} +
	expect 0 "... and once it is the account's again, get reads it" as_user get M-1/dossier/a.txt
fi
mkdir "$T/empty" && chown "$U:" "$T/empty"
expect_error 6 "root making a vault in the account's empty directory is refused" as alice -R "$T/empty" init --admin alice
check "... saying whose directory it is" grep -q "the repository belongs to $U; run evault as $U$" "$T/err"
check "... leaving it empty" test -z "$(ls -A "$T/empty")"
mkdir -p "$T/mnt"
MOUNTS+=("$T/mnt")
expect_error 6 "root mounting the account's repository is refused, before it mounts" as alice -R "$T/bobs" mount "$T/mnt"
check "... saying whose it is" grep -q "the repository belongs to $U; run evault as $U$" "$T/err"
check "... nothing mounted" test -z "$(grep " $T/mnt " /proc/mounts)"

# ---- log: aligned columns whatever the action and actor ----
long=technician-with-a-rather-long-nm
as alice user add "$long" --role technician --pubkey "$(new_identity "$long")" >/dev/null
as alice mission grant M-1 "$long" >/dev/null
as "$long" put "$T/a.txt" M-1/work/long.txt >/dev/null
as alice mission authorize-photos M-1 --by "Client, CEO" --ref "letter 1" --scope "site" >/dev/null
as alice mission create M-2026-0042-A-LONG-SITE-NAME --member bob >/dev/null
# the offsets where the actor, action, mission and summary columns start
columns() {
	awk '{ l = $0; off = 0; out = ""
		for (f = 1; f <= 7; f++) {
			match(l, /^ */); off += RLENGTH; l = substr(l, RLENGTH + 1)
			if (f >= 4) out = out " " off
			match(l, /^[^ ]+/); off += RLENGTH; l = substr(l, RLENGTH + 1)
		}
		print out }' "$1" | sort -u
}
expect 0 "log" as bob log
cp "$T/out" "$T/log"
check "the log holds the long actor" grep -q " $long file.add " "$T/log"
check "... and the longest action" grep -q ' mission.authorize-photos M-1 ' "$T/log"
check "... and a long mission id" grep -q ' mission.create  *M-2026-0042-A-LONG-SITE-NAME ' "$T/log"
check "every line's columns start at the same offsets ($(columns "$T/log" | wc -l) layouts)" \
	test "$(columns "$T/log" | wc -l)" -eq 1
check "... (the check sees a misaligned line)" \
	test "$(sed '1s/ alice / alice  /' "$T/log" | columns /dev/stdin | wc -l)" -eq 2
# the action column is 24 wide: no action of the history format is longer
format=$(dirname "$0")/../../docs/format.md
longest=$(grep -oE '`(vault|user|mission|file|device|codes|content|retention|objects)\.[a-z-]+`' "$format" |
	tr -d '`' | awk '{ print length($0), $0 }' | sort -n | tail -1)
check "the longest action of docs/format.md fits the column ($longest)" test "${longest%% *}" -le 24 -a "${longest#* }" = mission.authorize-photos
expect 0 "log --mission M-1" as bob log --mission M-1
check "... aligned too" test "$(columns "$T/out" | wc -l)" -eq 1

# ---- dry runs speak in the conditional ----
expect 0 "mission close --dry-run" as alice mission close M-1 --dry-run
check "... would erase work and codes" test "$(grep -c '^would erase \(work\|codes\) (key ' "$T/out")" -eq 2
check "... would destroy the key copies" grep -q '^  would destroy key copies: ' "$T/out"
check "... would destroy the dossier copies" grep -q '^  would destroy dossier key copies: ' "$T/out"
check "... says nothing as done" test -z "$(grep -E '^(erase |keep )|copies destroyed' "$T/out")"
expect 0 "gc --dry-run" "$EVAULT_BIN" gc --dry-run
check "... would delete, would pack" grep -q '^gc (dry run, nothing changed): .*would delete [0-9]* unreferenced .*would delete [0-9]* stale temporary files; history: would pack [0-9]* loose objects' "$T/out"
check "... not as done" test -z "$(grep -E ' collected| removed| packed' "$T/out")"
expect 0 "gc (for real) says what it did" "$EVAULT_BIN" gc
check "... collected, removed, packed" grep -q '^gc: .* collected .* removed; history: [0-9]* loose objects packed' "$T/out"
expect 0 "retention run --dry-run" as alice retention run --dry-run
check "... its gc line: would delete" grep -q '^gc: .*would delete [0-9]* unreferenced' "$T/out"
check "... its summary: would expire, would delete" grep -q '^retention (dry run, nothing changed): .*would expire 0, .*would delete 0 objects' "$T/out"
check "... nothing said as done" test -z "$(grep -E ' expired,| collected' "$T/out")"
expect 0 "mission close (for real)" as alice mission close M-1
check "... says what it erases" grep -q '^erase work (key ' "$T/out"
check "... without would" test -z "$(grep would "$T/out")"

# ---- a passphrase too short says the rule ----
printf '' >"$T/empty.pass"
expect_error 2 "an empty passphrase is refused" "$EVAULT_BIN" --identity "$T/short.id" --passphrase-file "$T/empty.pass" identity new --name shorty
check "... stating the rule" grep -q 'a new passphrase has at least 8 characters' "$T/err"
check "... no identity file" test ! -e "$T/short.id"
printf 'é7chars\n' >"$T/seven.pass"
expect_error 2 "a new passphrase of 7 characters (8 bytes) is refused" "$EVAULT_BIN" --identity "$T/short.id" --passphrase-file "$T/seven.pass" identity new --name shorty
check "... stating the rule" grep -q 'too short (7 characters): a new passphrase has at least 8 characters' "$T/err"
check "... no identity file" test ! -e "$T/short.id"
expect_error 2 "... and by init, before anything is made" "$EVAULT_BIN" --identity "$T/short.id" --passphrase-file "$T/seven.pass" -R "$T/shortvault" init --admin shorty
check "... no vault, no identity" test ! -e "$T/shortvault/evault.conf" -a ! -e "$T/short.id"
printf '8 chars!\n' >"$T/eight.pass"
expect 0 "a passphrase of the minimum length is taken" "$EVAULT_BIN" --identity "$T/short.id" --passphrase-file "$T/eight.pass" identity new --name shorty

# ---- the README's git log --show-signature, exactly as written ----
mkdir -p "$T/readme" "$T/bin"
printf '#!/bin/sh\nexec "%s" "$@"\n' "$EVAULT_BIN" >"$T/bin/evault"
chmod +x "$T/bin/evault"
readme=$(dirname "$0")/../../README.md
sed -n '/^evault audit allowed-signers > signers$/,/log --show-signature/p' "$readme" >"$T/readme/example.sh"
check "README has the allowed-signers example ($(wc -l <"$T/readme/example.sh") lines)" \
	test "$(wc -l <"$T/readme/example.sh")" -eq 3
n=$(git -C "$T/vault/audit.git" rev-list --count main)
readme_good() { # SCRIPT: good signatures git shows, run from $T/readme as the README says
	(cd "$T/readme" && rm -f signers && PATH="$T/bin:$PATH" bash "$1" 2>&1) | grep -c '^Good "git" signature for '
}
good=$(readme_good "$T/readme/example.sh")
check "README's example verifies every commit ($good of $n)" test "$good" -eq "$n"
sed 's|allowedSignersFile="$PWD/signers"|allowedSignersFile=signers|' "$T/readme/example.sh" >"$T/readme/relative.sh"
check "... where a relative path (resolved in audit.git) verifies none" test "$(readme_good "$T/readme/relative.sh")" -eq 0

finish
