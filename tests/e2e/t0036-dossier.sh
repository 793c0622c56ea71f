#!/usr/bin/env bash
# The dossier's due date and its handover to the client: mission create
# --dossier-due and mission set-due (mission.due), dossier handover of an
# open and of a closed mission (dossier.handover), the package checked
# with stock sha256sum and ssh-keygen and with evault dossier verify,
# tampered packages refused, forged handover events caught by audit verify.
. "$(dirname "$0")/lib.sh"
standard_vault
G() { git -C "$1/audit.git" "${@:2}"; }
head_of() { G "$1" rev-parse main; }
record() { G "$T/vault" show "main:missions/$1/MISSION"; }
ev() { "$EVAULT_BIN" "$@"; }

# --- due dates
expect 0 "create with --dossier-due" as alice mission create M-2 --member bob --dossier-due 2027-03-31
check "the MISSION record says when the dossier is due, before the photo line" \
	bash -c '[ "$(grep -A1 "^dossier-due" <<<"$1")" = "dossier-due 2027-03-31
photo-authorisation no" ]' _ "$(record M-2)"
check "mission.create carries Evault-Dossier-Due" \
	bash -c "git -C '$T/vault/audit.git' log -1 --format=%B main | grep -qx 'Evault-Dossier-Due: 2027-03-31'"
check "a mission created without it has no such line" bash -c '! grep -q dossier-due <<<"$1"' _ "$(record M-1)"
for bad in 2027-02-29 1999-12-31 3000-01-01 2027-13-01 2027-4-01 tomorrow; do
	expect_error 2 "create refuses the due date $bad" as alice mission create M-9 --dossier-due "$bad"
done
before=$(head_of "$T/vault")
expect_error 6 "a technician cannot set a due date" as bob mission set-due M-1 2027-06-30
expect_error 2 "set-due refuses a date that is not one (2028-02-30)" as alice mission set-due M-1 2028-02-30
expect_error 2 "set-due needs a date" as alice mission set-due M-1
expect_error 3 "set-due of a mission that does not exist" as alice mission set-due M-404 2027-06-30
check "refusals change nothing" test "$(head_of "$T/vault")" = "$before"
expect 0 "an admin sets the due date of M-1 (leap day)" as alice mission set-due M-1 2028-02-29
check "... said so" grep -qx 'the dossier of M-1 is due on 2028-02-29' "$T/out"
check "... one mission.due event with Evault-Dossier-Due" \
	bash -c "git -C '$T/vault/audit.git' log -1 --format=%B main | grep -qx 'Evault-Action: mission.due' &&
		git -C '$T/vault/audit.git' log -1 --format=%B main | grep -qx 'Evault-Dossier-Due: 2028-02-29'"
check "... which changed only the MISSION record's dossier-due line" \
	bash -c "diff <(git -C '$T/vault/audit.git' show main~1:missions/M-1/MISSION) <(git -C '$T/vault/audit.git' show main:missions/M-1/MISSION) | grep '^[<>]' | tr '\n' '|' | grep -qx '> dossier-due 2028-02-29|'"
check "... and nothing else in the state" \
	test "$(G "$T/vault" diff --name-only main~1 main)" = "missions/M-1/MISSION"
expect 0 "changed again" as alice mission set-due M-1 2027-06-30
expect_error 7 "set-due to the date it has already" as alice mission set-due M-1 2027-06-30
expect 0 "mission show" as alice mission show M-1
check "... shows the due date" grep -q '^dossier due 2027-06-30$' "$T/out"
expect 0 "mission show --json" as alice --json mission show M-1
check "... dossier_due in JSON" grep -q '"dossier_due":"2027-06-30"' "$T/out"
as alice mission create M-3 >/dev/null
as alice --json mission show M-3 >"$T/m3.json"
check "... dossier_due null, no handovers" grep -q '"dossier_due":null,"handovers":\[\]' "$T/m3.json"

# --- the dossier of M-1
mkdir -p "$T/src/plans"
echo "rapport d'intervention" >"$T/src/rapport.txt"
head -c 300000 /dev/urandom >"$T/src/plans/niveau 1.pdf"
touch -d '2026-03-04 05:06:07.123456789' "$T/src/rapport.txt"
echo "notes de chantier" >"$T/notes.txt"
echo "badge 4711" >"$T/badge.txt"
as bob put "$T/src/rapport.txt" M-1/dossier/rapport.txt >/dev/null
as bob put "$T/src/plans/niveau 1.pdf" "M-1/dossier/plans/niveau 1.pdf" >/dev/null
as bob put "$T/notes.txt" M-1/work/ >/dev/null
as bob put "$T/badge.txt" M-1/codes/ >/dev/null

# --- refusals change nothing
before=$(head_of "$T/vault")
expect_error 6 "a technician cannot hand over" as bob dossier handover M-1 --to "ACME" --out "$T/no1"
expect_error 6 "nor can an auditor" as dave dossier handover M-1 --to "ACME" --out "$T/no1"
expect_error 12 "an empty dossier is refused" as alice dossier handover M-3 --to "ACME" --out "$T/no1"
expect_error 2 "a recipient with a control character is refused" as alice dossier handover M-1 --to $'ACME\nSA' --out "$T/no1"
expect_error 2 "an empty recipient is refused" as alice dossier handover M-1 --to "" --out "$T/no1"
expect_error 2 "a recipient longer than 256 bytes is refused" as alice dossier handover M-1 --to "$(printf 'x%.0s' $(seq 257))" --out "$T/no1"
expect_error 2 "--out is required" as alice dossier handover M-1 --to "ACME"
mkdir -p "$T/full" && echo keep >"$T/full/mine.txt"
expect_error 7 "DIR existing and not empty is refused" as alice dossier handover M-1 --to "ACME" --out "$T/full"
check "... its content untouched" test "$(ls -A "$T/full")" = "mine.txt"
check "no package and no temporary directory left" test -z "$(ls -d "$T"/no1* "$T"/full.tmp-* 2>/dev/null)"
check "the refusals recorded nothing" test "$(head_of "$T/vault")" = "$before"

# --- the handover of an open mission
expect 0 "an admin hands over the dossier of open M-1" as alice dossier handover M-1 --to "Mme Durand, ACME SA" --out "$T/h1"
check "... one line: files, bytes, where, which handover" \
	grep -qx "handed over 2 files (300023 bytes) of M-1: $T/h1 (handover 1)" "$T/out"
check "the package holds exactly what it should" \
	test "$(cd "$T/h1" && find . | LC_ALL=C sort | tr '\n' ' ')" = ". ./README.txt ./SHA256SUMS ./allowed_signers ./files ./files/plans ./files/plans/niveau 1.pdf ./files/rapport.txt ./statement.txt ./statement.txt.sig "
check "the files are the dossier's, byte for byte" \
	bash -c "cmp '$T/src/rapport.txt' '$T/h1/files/rapport.txt' && cmp '$T/src/plans/niveau 1.pdf' '$T/h1/files/plans/niveau 1.pdf'"
check "no work or codes file in it" bash -c "! grep -rqs -e 'notes de chantier' -e 'badge 4711' '$T/h1'"
check "a file keeps its recorded mtime" \
	test "$(stat -c %y "$T/h1/files/rapport.txt")" = "$(stat -c %y "$T/src/rapport.txt")"
check "modes as the umask allows (022 here: 0644 and 0755)" \
	test "$(stat -c %a "$T/h1/files/rapport.txt" "$T/h1/files/plans" "$T/h1" "$T/h1/statement.txt" | tr '\n' ' ')" = "644 755 755 644 "
check "SHA256SUMS lists both, sorted by path" \
	test "$(cut -c67- "$T/h1/SHA256SUMS" | tr '\n' '|')" = "files/plans/niveau 1.pdf|files/rapport.txt|"
expect 0 "stock sha256sum -c checks every file" bash -c "cd '$T/h1' && sha256sum -c SHA256SUMS"
check "the statement's manifest is the SHA-256 of SHA256SUMS" \
	grep -qx "manifest sha256 $(sha256sum "$T/h1/SHA256SUMS" | cut -c1-64)" "$T/h1/statement.txt"
check "the statement names mission, signer, recipient, counts and due date" \
	bash -c "grep -qx 'mission M-1' '$T/h1/statement.txt' && grep -qx 'handed-by alice' '$T/h1/statement.txt' &&
		grep -qx 'to Mme Durand, ACME SA' '$T/h1/statement.txt' && grep -qx 'files 2' '$T/h1/statement.txt' &&
		grep -qx 'bytes 300023' '$T/h1/statement.txt' && grep -qx 'dossier-due 2027-06-30' '$T/h1/statement.txt' &&
		grep -qx 'certificate none' '$T/h1/statement.txt' && grep -q '^FR: ' '$T/h1/statement.txt' && grep -q '^EN: ' '$T/h1/statement.txt'"
check "allowed_signers holds alice's key for namespace evault-dossier" \
	grep -qx "alice namespaces=\"evault-dossier\" $(as alice identity show | cut -d' ' -f1-2)" "$T/h1/allowed_signers"
expect 0 "stock ssh-keygen -Y verify checks the statement's signature" \
	bash -c "cd '$T/h1' && ssh-keygen -Y verify -f allowed_signers -I alice -n evault-dossier -s statement.txt.sig <statement.txt"
check "the README explains it, French and English" \
	bash -c "grep -q 'sha256sum -c SHA256SUMS' '$T/h1/README.txt' && grep -q 'ssh-keygen -Y verify' '$T/h1/README.txt' &&
		grep -q 'evault dossier verify' '$T/h1/README.txt' && grep -q FRANÇAIS '$T/h1/README.txt' && grep -q ENGLISH '$T/h1/README.txt'"
# evault dossier verify needs no vault, identity or passphrase
expect 0 "evault dossier verify, with no vault nor identity" env -u EVAULT_REPO HOME=/nonexistent "$EVAULT_BIN" dossier verify "$T/h1"
AKEY=$(as alice identity show | cut -d' ' -f1-2)
AFP=$(ssh-keygen -lf - <<<"$AKEY" | cut -d' ' -f2)
HTIME=$(sed -n 's/^time [0-9]* (\(.*\)T\(.*\))$/\1 \2/p' "$T/h1/statement.txt")
check "... one line, saying the key came from the package itself" \
	test "$(cat "$T/out")" = "dossier of M-1 verified: 2 files, handed by alice (key $AFP from the package itself: compare it with the key the company publishes, or pass --signers) to Mme Durand, ACME SA at $HTIME"
printf 'alice namespaces="evault-dossier" %s\n' "$AKEY" >"$T/company-signers"
expect 0 "... with --signers: the keys the company publishes" ev dossier verify "$T/h1" --signers "$T/company-signers"
check "... one line naming the key and the file it came from" \
	test "$(cat "$T/out")" = "dossier of M-1 verified: 2 files, handed by alice (key $AFP in $T/company-signers) to Mme Durand, ACME SA at $HTIME"
# the options of an allowed-signers line, as ssh-keygen -Y verify reads them
signers_line() { # NAME OPTIONS: a --signers file with alice's key under OPTIONS
	printf 'alice %s %s\n' "$2" "$AKEY" >"$T/opt-$1"
}
stock_verify() { # FILE: ssh-keygen -Y verify of h1's statement against FILE
	(cd "$T/h1" && ssh-keygen -Y verify -f "$1" -I alice -n evault-dossier -s statement.txt.sig <statement.txt >/dev/null 2>&1)
}
signers_line expired 'valid-before="20200101",namespaces="evault-dossier"'
expect_error 1 "a key that expired (valid-before 2020) before the statement is refused" ev dossier verify "$T/h1" --signers "$T/opt-expired"
check "... saying so" grep -q 'the key had expired at the statement.s time (valid-before)' "$T/err"
stock_verify "$T/opt-expired" && ko "... stock ssh-keygen accepts it" || ok "... as stock ssh-keygen refuses it"
signers_line future 'valid-after="29990101Z"'
expect_error 1 "a key valid only after 2999 is refused" ev dossier verify "$T/h1" --signers "$T/opt-future"
signers_line window 'namespaces="file,evault-dossier",valid-after="20000101",valid-before="29991231235959Z"'
expect 0 "a key valid from 2000 to 2999, namespaces listing evault-dossier, verifies" ev dossier verify "$T/h1" --signers "$T/opt-window"
stock_verify "$T/opt-window" && ok "... as with stock ssh-keygen" || ko "... stock ssh-keygen refuses it"
signers_line ca 'cert-authority'
expect_error 1 "a cert-authority line is no signer's key" ev dossier verify "$T/h1" --signers "$T/opt-ca"
check "... saying so" grep -q 'cert-authority' "$T/err"
stock_verify "$T/opt-ca" && ko "... stock ssh-keygen accepts it" || ok "... as stock ssh-keygen refuses it"
signers_line ns 'namespaces="git,file"'
expect_error 1 "namespaces without evault-dossier is refused" ev dossier verify "$T/h1" --signers "$T/opt-ns"
stock_verify "$T/opt-ns" && ko "... stock ssh-keygen accepts it" || ok "... as stock ssh-keygen refuses it"
signers_line unknown 'no-touch-required,namespaces="evault-dossier"'
expect_error 1 "an option ssh-keygen does not know makes the line unusable" ev dossier verify "$T/h1" --signers "$T/opt-unknown"
printf 'alice cert-authority %s\nalice namespaces="evault-dossier" %s\n' "$AKEY" "$AKEY" >"$T/opt-two"
expect 0 "a usable line after a cert-authority one for the same key verifies" ev dossier verify "$T/h1" --signers "$T/opt-two"
ssh-keygen -q -t ed25519 -N '' -f "$T/eve" -C eve
printf 'alice namespaces="evault-dossier" %s\n' "$(cut -d' ' -f1-2 "$T/eve.pub")" >"$T/other-signers"
expect_error 1 "... a package signed by a key the company does not list fails" ev dossier verify "$T/h1" --signers "$T/other-signers"
printf 'alice namespaces="git" %s\n' "$(as alice identity show | cut -d' ' -f1-2)" >"$T/git-signers"
expect_error 1 "... a key listed for another namespace does not count" ev dossier verify "$T/h1" --signers "$T/git-signers"
expect_error 2 "an unreadable --signers is exit 2" ev dossier verify "$T/h1" --signers "$T/nonexistent"
expect_error 2 "a missing DIR is exit 2" ev dossier verify "$T/nonexistent"
expect_error 2 "usage" ev dossier verify

# --- the same dossier again: the same bytes but for the statement
mkdir "$T/h2"
expect 0 "a second handover into an empty existing directory" as alice dossier handover M-1 --to "Mme Durand, ACME SA" --out "$T/h2"
check "... handover 2" grep -q '(handover 2)$' "$T/out"
check "deterministic: the same files/, SHA256SUMS, README.txt and allowed_signers" \
	bash -c "diff -r '$T/h1/files' '$T/h2/files' && cmp '$T/h1/SHA256SUMS' '$T/h2/SHA256SUMS' &&
		cmp '$T/h1/README.txt' '$T/h2/README.txt' && cmp '$T/h1/allowed_signers' '$T/h2/allowed_signers' &&
		[ \"\$(stat -c %y '$T/h1/files/rapport.txt')\" = \"\$(stat -c %y '$T/h2/files/rapport.txt')\" ]"
check "... and a statement that says handover 2" grep -qx 'handover 2' "$T/h2/statement.txt"

# --- tampered packages
tamper() { rm -rf "$T/t"; cp -a "$T/h1" "$T/t"; }
tamper
printf 'X' | dd of="$T/t/files/rapport.txt" bs=1 seek=3 conv=notrunc 2>/dev/null
expect_error 1 "one byte of a file changed: dossier verify fails" ev dossier verify "$T/t"
check "... naming the file" grep -q 'files/rapport.txt: its SHA-256 is not the one SHA256SUMS lists' "$T/err"
expect 1 "... and stock sha256sum -c fails" bash -c "cd '$T/t' && sha256sum --quiet -c SHA256SUMS"
tamper
echo "extra" >"$T/t/files/plans/extra.txt"
expect_error 1 "an extra file under files/ fails" ev dossier verify "$T/t"
check "... named" grep -q 'files/plans/extra.txt: not in SHA256SUMS' "$T/err"
tamper
rm "$T/t/files/rapport.txt"
ln -s "$T/h1/files/rapport.txt" "$T/t/files/rapport.txt"
expect_error 1 "a symbolic link in place of a file fails" ev dossier verify "$T/t"
tamper
rm "$T/t/files/rapport.txt"
expect_error 1 "a missing file fails" ev dossier verify "$T/t"
tamper
sed -i 's/Mme Durand, ACME SA/Someone Else/g' "$T/t/statement.txt"
expect_error 1 "a statement changed: dossier verify fails" ev dossier verify "$T/t"
check "... on its signature" grep -q 'statement.txt.sig: the signature does not verify' "$T/err"
check "... and stock ssh-keygen -Y verify fails" \
	bash -c "cd '$T/t' && ! ssh-keygen -Y verify -f allowed_signers -I alice -n evault-dossier -s statement.txt.sig <statement.txt >/dev/null 2>&1"
tamper
sed -i 's/^files 2$/files 3/' "$T/t/statement.txt"
expect_error 1 "a statement whose counts disagree fails" ev dossier verify "$T/t"
tamper
cp "$T/h2/statement.txt" "$T/t/statement.txt"
expect_error 1 "another handover's statement with this signature fails" ev dossier verify "$T/t"
tamper
printf '%s  files/../statement.txt\n' "$(sha256sum "$T/t/statement.txt" | cut -c1-64)" >>"$T/t/SHA256SUMS"
expect_error 1 "a SHA256SUMS line leaving files/ fails" ev dossier verify "$T/t"
check "... caught by the statement's manifest, before any line is read" grep -q "statement.txt: its manifest sha256 is not the SHA-256 of SHA256SUMS" "$T/err"
tamper
tac "$T/h1/SHA256SUMS" >"$T/t/SHA256SUMS"
expect_error 1 "SHA256SUMS out of order fails" ev dossier verify "$T/t"
tamper
rm "$T/t/statement.txt.sig"
expect_error 1 "no signature fails" ev dossier verify "$T/t"
tamper
rm "$T/t/statement.txt.sig"
ssh-keygen -q -Y sign -f "$T/eve" -n evault-dossier "$T/t/statement.txt" 2>/dev/null
printf 'alice namespaces="evault-dossier" %s\n' "$(cut -d' ' -f1-2 "$T/eve.pub")" >"$T/t/allowed_signers"
expect_error 1 "re-signed by another key with its own allowed_signers: fails against the company's keys" \
	ev dossier verify "$T/t" --signers "$T/company-signers"
# the statement and its signature are checked first, then the list, then the files
tamper
sed -i 's/Mme Durand, ACME SA/Someone Else/g' "$T/t/statement.txt"
rm "$T/t/files/rapport.txt" && mkfifo "$T/t/files/rapport.txt"
expect_error 1 "a bad signature is found before any file is opened (a fifo among them)" timeout 20 "$EVAULT_BIN" dossier verify "$T/t"
check "... on the signature" grep -q 'statement.txt.sig: the signature does not verify' "$T/err"
tamper
rm "$T/t/files/rapport.txt" && mkfifo "$T/t/files/rapport.txt"
expect_error 1 "a fifo in place of a listed file: refused without blocking" timeout 20 "$EVAULT_BIN" dossier verify "$T/t"
check "... as not a regular file" grep -q 'files/rapport.txt: missing or not a regular file' "$T/err"
tamper
rm "$T/t/SHA256SUMS" && mkfifo "$T/t/SHA256SUMS"
expect_error 1 "a fifo as SHA256SUMS: refused without blocking" timeout 20 "$EVAULT_BIN" dossier verify "$T/t"
check "... as not a regular file" grep -q 'SHA256SUMS: not a regular file' "$T/err"
tamper
head -c 2000000 /dev/zero >>"$T/t/files/plans/niveau 1.pdf"
sed -i 's/^bytes 300023$/bytes 1000/' "$T/t/statement.txt"
rm "$T/t/statement.txt.sig"
ssh-keygen -q -Y sign -f "$T/eve" -n evault-dossier "$T/t/statement.txt" 2>/dev/null
printf 'alice namespaces="evault-dossier" %s\n' "$(cut -d' ' -f1-2 "$T/eve.pub")" >"$T/t/allowed_signers"
expect_error 1 "a file longer than the statement's byte count is refused once the count is passed" ev dossier verify "$T/t"
check "... naming the file" grep -q 'files/plans/niveau 1.pdf: more bytes than statement.txt says the files hold' "$T/err"

# --- the handover of a closed mission: the certificate is one of its files
as bob codes mark M-1/codes/badge.txt --rotated >/dev/null
as alice mission grant M-1 dave >/dev/null
as alice mission close M-1 >/dev/null
expect 0 "an admin hands over the dossier of closed M-1" as alice dossier handover M-1 --to "Mme Durand, ACME SA" --out "$T/h3"
check "... 3 files, the certificate among them" grep -q '^handed over 3 files .*(handover 3)$' "$T/out"
check "the statement names the certificate" grep -qx 'certificate files/erasure-certificate.txt' "$T/h3/statement.txt"
check "the certificate is the one close stored" \
	cmp "$T/h3/files/erasure-certificate.txt" <(as alice get M-1/dossier/erasure-certificate.txt -)
check "still no work or codes file" bash -c "! grep -rqs -e 'notes de chantier' -e 'badge 4711' '$T/h3/files'"
check "each file's SHA-256 and size are the erasure record's kept-file line (but the certificate's, stored after)" \
	bash -c "
	rec=\$(git -C '$T/vault/audit.git' show main:missions/M-1/handovers/3)
	close=\$(git -C '$T/vault/audit.git' show main:missions/M-1/CLOSE)
	cert=\$(sed -n 's/^certificate //p' <<<\"\$close\")
	[ \"\$(grep '^file ' <<<\"\$rec\" | grep -v \"^file \$cert \" | sed 's/^file //')\" = \"\$(grep '^kept-file ' <<<\"\$close\" | sed 's/^kept-file //')\" ]"
expect 0 "it verifies with stock sha256sum" bash -c "cd '$T/h3' && sha256sum -c SHA256SUMS"
expect 0 "... with stock ssh-keygen" \
	bash -c "cd '$T/h3' && ssh-keygen -Y verify -f allowed_signers -I alice -n evault-dossier -s statement.txt.sig <statement.txt"
expect 0 "... and with evault dossier verify" ev dossier verify "$T/h3" --signers "$T/company-signers"
check "the files of the open handover are the same bytes" \
	bash -c "cmp '$T/h1/files/rapport.txt' '$T/h3/files/rapport.txt' && cmp '$T/h1/files/plans/niveau 1.pdf' '$T/h3/files/plans/niveau 1.pdf'"

# --- the record, the trailers, mission show
rec=$(G "$T/vault" show main:missions/M-1/handovers/1)
check "the handover record is canonical clear text" \
	bash -c '[ "$(sed -n 1,5p <<<"$1" | cut -d" " -f1 | tr "\n" " ")" = "handover by time manifest statement " ] &&
		[ "$(grep -c "^file [0-9a-f]\{32\} sha256 [0-9a-f]\{64\} size [0-9]*$" <<<"$1")" = 2 ] &&
		[ "$(grep "^file" <<<"$1")" = "$(grep "^file" <<<"$1" | LC_ALL=C sort)" ]' _ "$rec"
check "... with the statement's SHA-256" \
	grep -qx "statement sha256 $(sha256sum "$T/h1/statement.txt" | cut -c1-64)" <<<"$rec"
check "the recipient is not in clear in the history" \
	bash -c "! git -C '$T/vault/audit.git' log -p main | grep -q Durand"
log=$(G "$T/vault" log --format=%B main)
check "indicators' trailers: Evault-Dossier-Due" test "$(grep -c '^Evault-Dossier-Due: ' <<<"$log")" -eq 3
check "... Evault-Handover, -Files, -Manifest" \
	bash -c 'grep -qx "Evault-Handover: 3" <<<"$1" && grep -qx "Evault-Handover-Files: 3" <<<"$1" &&
		grep -qx "Evault-Handover-Manifest: $2" <<<"$1"' _ "$log" "$(sha256sum "$T/h3/SHA256SUMS" | cut -c1-64)"
expect 0 "mission show lists the handovers" as alice mission show M-1
check "... three, with their recipient for the dossier key's holder" \
	test "$(grep -c 'handover [123], .* by alice, [23] files, to Mme Durand, ACME SA$' "$T/out")" -eq 3
expect 0 "an auditor granted the dossier sees them too" as dave --json mission show M-1
check "... in JSON" grep -q '"handovers":\[{"handover":1,"time":"[^"]*","by":"alice","files":2,"to":"Mme Durand, ACME SA"}' "$T/out"
expect 0 "audit verify accepts the history" as alice audit verify
git_verify_all "$T/vault" && ok "stock git verifies every commit" || ko "stock git"

# --- forged events, signed with real keys, caught by audit verify
ssh-keygen -q -t ed25519 -N '' -f "$T/tom" -C tom
as alice user add eve --role admin --pubkey "$(cat "$T/eve.pub")" >/dev/null
as alice user add tom --role technician --pubkey "$(cat "$T/tom.pub")" >/dev/null
as alice mission grant M-2 tom >/dev/null
as bob put "$T/src/rapport.txt" M-2/dossier/rapport.txt >/dev/null
as bob put "$T/notes.txt" M-2/work/ >/dev/null
dfid=$(G "$T/vault" ls-tree -r --name-only main missions/M-2/dossier | sed -n 's|.*/\([0-9a-f]\{32\}\)\.enc$|\1|p')
wfid=$(G "$T/vault" ls-tree -r --name-only main missions/M-2/work | sed -n 's|.*/\([0-9a-f]\{32\}\)\.enc$|\1|p')
put_blob() { # PATH CONTENT-FILE
	G "$T/v" update-index --add --cacheinfo "100644,$(G "$T/v" hash-object -w "$2"),$1"
}
X=$(printf 'x' | sha256sum | cut -c1-64)
handover_of() { # MID N WHO FID [SHA SIZE]: a handover record N of MID naming FID
	printf 'handover %s\nby %s\ntime %s\nmanifest sha256 %s\nstatement sha256 %s\nfile %s sha256 %s size %s\n' \
		"$2" "$3" "$(date +%s)" "$X" "$X" "$4" "${5:-$X}" "${6:-23}" >"$T/rec"
	echo sealed >"$T/enc"
	put_blob "missions/$1/handovers/$2" "$T/rec"
	put_blob "missions/$1/handovers/$2.enc" "$T/enc"
}
due_of() { # MID SED-EXPRESSION: the MISSION record edited
	G "$T/v" show "main:missions/$1/MISSION" | sed "$2" >"$T/m"
	put_blob "missions/$1/MISSION" "$T/m"
}
forged() { # SIGNER ACTION MID TRAILERS EDIT ARGS...: a commit on a copy at $T/v, verified
	local who=$1 action=$2 mid=$3 trailers=$4 tree seq c
	shift 4
	rm -rf "$T/v"; cp -a "$T/vault" "$T/v"; forget_verified
	export GIT_INDEX_FILE=$T/index
	G "$T/v" read-tree main
	"$@"
	tree=$(G "$T/v" write-tree)
	unset GIT_INDEX_FILE
	seq=$(( $(G "$T/v" log -1 --format=%B main | sed -n 's/^Evault-Seq: //p') + 1 ))
	c=$(commit_as "$T/$who" main "$tree" -m "A forged $action" -m "Evault-Seq: $seq
Evault-Action: $action
Evault-Actor: $who
Evault-Mission: $mid
$trailers")
	G "$T/v" update-ref refs/heads/main "$c"
	"$EVAULT_BIN" -R "$T/v" audit verify >"$T/out" 2>"$T/err"
	echo $? >"$T/rc"
	echo "$c" >"$T/forged"
}
forge() { # WHAT SIGNER ACTION MID TRAILERS EDIT ARGS...: audit verify must fail at the forged commit
	local what=$1
	shift
	forged "$@"
	if [ "$(cat "$T/rc")" -eq 1 ] && grep -q "FAILED at commit $(cat "$T/forged")" "$T/err"; then
		ok "$what: $(sed 's/.*FAILED at commit [0-9a-f]*: //' "$T/err")"
	else
		ko "$what: $(cat "$T/err")"
	fi
}
HO1="Evault-Handover: 1
Evault-Handover-Files: 1
Evault-Handover-Manifest: $X"
forged eve dossier.handover M-2 "$HO1" handover_of M-2 1 eve "$dfid"
check "control: a handover made by hand, well formed and by an admin, verifies (so the forgeries fail for their own reason)" \
	test "$(cat "$T/rc")" -eq 0
forge "a handover signed by a technician member (tom)" tom dossier.handover M-2 "$HO1" handover_of M-2 1 tom "$dfid"
check "... refused as not an admin's" grep -q 'dossier.handover by tom, a technician: only admins may' "$T/err"
forge "a handover listing a work file (not in the dossier)" eve dossier.handover M-2 "$HO1" handover_of M-2 1 eve "$wfid"
check "... refused naming the fid" grep -q "dossier.handover lists $wfid, which is no live dossier file of M-2" "$T/err"
forge "a handover whose record names another admin" eve dossier.handover M-2 "$HO1" handover_of M-2 1 alice "$dfid"
forge "a handover numbered 2 where 1 follows" eve dossier.handover M-2 "Evault-Handover: 2
Evault-Handover-Files: 1
Evault-Handover-Manifest: $X" handover_of M-2 2 eve "$dfid"
forge "a handover whose count is not the trailer's" eve dossier.handover M-2 "Evault-Handover: 1
Evault-Handover-Files: 2
Evault-Handover-Manifest: $X" handover_of M-2 1 eve "$dfid"
kept=$(G "$T/vault" show main:missions/M-1/CLOSE | sed -n 's/^kept-file \([0-9a-f]*\) sha256 \([0-9a-f]*\) size \([0-9]*\)$/\1 \2 \3/p' | head -1)
G "$T/vault" show main:missions/M-1/handovers/3 | grep '^file ' >"$T/all-files"
handover_all() { # MID N WHO SED: a handover record naming every file of handover 3, edited by SED
	printf 'handover %s\nby %s\ntime %s\nmanifest sha256 %s\nstatement sha256 %s\n' \
		"$2" "$3" "$(date +%s)" "$X" "$X" >"$T/rec"
	sed "$4" "$T/all-files" >>"$T/rec"
	echo sealed >"$T/enc"
	put_blob "missions/$1/handovers/$2" "$T/rec"
	put_blob "missions/$1/handovers/$2.enc" "$T/enc"
}
HO4="Evault-Handover: 4
Evault-Handover-Files: 3
Evault-Handover-Manifest: $X"
forged eve dossier.handover M-1 "$HO4" handover_all M-1 4 eve ''
check "control: a handover of closed M-1's 3 dossier files with the bytes close kept verifies" test "$(cat "$T/rc")" -eq 0
forge "a handover of closed M-1 claiming other bytes than close kept" eve dossier.handover M-1 "$HO4" \
	handover_all M-1 4 eve "/^file ${kept%% *} /s/sha256 [0-9a-f]*/sha256 $X/"
check "... refused against the erasure record" grep -q 'is not the one the erasure record of M-1 kept' "$T/err"
forge "a handover listing 1 of the 3 dossier files of M-1" eve dossier.handover M-1 "Evault-Handover: 4
Evault-Handover-Files: 1
Evault-Handover-Manifest: $X" handover_of M-1 4 eve ${kept:-none none none}
check "... refused: a handover is the whole dossier" grep -q 'dossier.handover lists 1 files where the dossier of M-1 holds 3: a handover is the whole dossier' "$T/err"
forge "a handover listing 2 of the 3" eve dossier.handover M-1 "Evault-Handover: 4
Evault-Handover-Files: 2
Evault-Handover-Manifest: $X" handover_all M-1 4 eve '1d'
DUE="Evault-Dossier-Due: 2029-01-01"
forged eve mission.due M-3 "$DUE" due_of M-3 's/^photo-authorisation/dossier-due 2029-01-01\nphoto-authorisation/'
check "control: a mission.due made by hand verifies" test "$(cat "$T/rc")" -eq 0
forge "a mission.due signed by a technician" tom mission.due M-2 "$DUE" due_of M-2 's/^dossier-due .*/dossier-due 2029-01-01/'
forge "a mission.due whose record is not the trailer's date" eve mission.due M-3 "$DUE" due_of M-3 's/^photo-authorisation/dossier-due 2029-01-02\nphoto-authorisation/'
forge "a mission.due that also authorises photos" eve mission.due M-3 "$DUE" due_of M-3 's/^photo-authorisation no/dossier-due 2029-01-01\nphoto-authorisation yes/'
forge "a mission.due that also adds a member" eve mission.due M-3 "$DUE" due_of M-3 's/^photo-authorisation no/dossier-due 2029-01-01\nphoto-authorisation no\nmember bob/'
expect 0 "the real history still verifies" as alice audit verify

# --- a due date is not rewritten once the dossier is handed over, or once passed
as alice mission create M-4 --dossier-due 2020-01-01 >/dev/null
before=$(head_of "$T/vault")
expect_error 12 "a passed due date cannot move (M-4, due 2020-01-01)" as alice mission set-due M-4 2030-01-01
check "... saying so, on one line" bash -c '[ "$(wc -l <"$1")" = 1 ] && grep -q "was due on 2020-01-01, which has passed" "$1"' _ "$T/err"
expect_error 12 "... nor back to an earlier date" as alice mission set-due M-4 2019-12-31
check "... nothing recorded" test "$(head_of "$T/vault")" = "$before"
expect 0 "a first due date may be set any time, a passed one too (M-3)" as alice mission set-due M-3 2020-05-05
expect_error 12 "... and then stays" as alice mission set-due M-3 2030-05-05
expect_error 12 "the due date of a handed-over dossier cannot change (M-1)" as alice mission set-due M-1 2099-01-01
check "... saying so" grep -q 'the dossier of M-1 is handed over: its due date can no longer change' "$T/err"
expect 0 "a due date still ahead may move (M-2, before its handover)" as alice mission set-due M-2 2099-03-31
forge "a forged mission.due moving a passed date (M-3, due 2020-05-05)" eve mission.due M-3 "Evault-Dossier-Due: 2031-01-01" \
	due_of M-3 's/^dossier-due .*/dossier-due 2031-01-01/'
check "... refused as passed" grep -q 'mission.due moves the due date of M-3, 2020-05-05, which had passed' "$T/err"
forge "a forged mission.due after a handover (M-1)" eve mission.due M-1 "Evault-Dossier-Due: 2099-01-01" \
	due_of M-1 's/^dossier-due .*/dossier-due 2099-01-01/'
check "... refused as handed over" grep -q 'mission.due on mission M-1, whose dossier is handed over' "$T/err"
# a replayed event's own time is the replica's word: a mission.due claiming
# to be replayed from before the date passed is caught all the same
forge "a mission.due moving a passed date, claiming to be replayed from before it passed" eve mission.due M-3 \
	"Evault-Dossier-Due: 2031-01-01
Evault-Replayed: 1588291200" due_of M-3 's/^dossier-due .*/dossier-due 2031-01-01/'
check "... refused: recorded at the office, never replayed" grep -q 'mission.due is recorded at the office, never replayed' "$T/err"
forge "a handover claiming to be replayed (back-dated)" eve dossier.handover M-2 "$HO1
Evault-Replayed: 1588291200" handover_of M-2 1 eve "$dfid"
check "... refused: recorded at the office, never replayed" grep -q 'dossier.handover is recorded at the office, never replayed' "$T/err"

# --- the package's modes follow the umask, as cp's do
(umask 077 && as alice dossier handover M-2 --to "ACME" --out "$T/h077" >/dev/null)
check "with umask 077 nothing of the package is readable by others" \
	test "$(find "$T/h077" -perm /077 | wc -l)" = 0
check "... files 0600, directories 0700" \
	test "$(stat -c %a "$T/h077" "$T/h077/files" "$T/h077/files/rapport.txt" "$T/h077/statement.txt" | tr '\n' ' ')" = "700 700 600 600 "
(umask 027 && as alice dossier handover M-2 --to "ACME" --out "$T/h027" >/dev/null)
check "with umask 027: 0640 and 0750" \
	test "$(stat -c %a "$T/h027" "$T/h027/files" "$T/h027/files/rapport.txt" | tr '\n' ' ')" = "750 750 640 "
expect_error 12 "... and M-2's due date, handed over now, no longer moves" as alice mission set-due M-2 2099-04-30
expect 0 "the history still verifies" as alice audit verify

# --- an expired mission: its due date can no longer be set
FAKETIME_LIB=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -1)
if [ -n "$FAKETIME_LIB" ]; then
	later() { # WHEN COMMAND...: as t0012-retention.sh
		local when=$1; shift
		if [ -n "${EVAULT_E2E_SANITIZED:-}" ] && [ "$1" = "$EVAULT_BIN" ] && [ -x "${EVAULT_E2E_RELEASE_BIN:-}" ]; then
			set -- "$EVAULT_E2E_RELEASE_BIN" "${@:2}"
		fi
		ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" FAKETIME_DONT_FAKE_MONOTONIC=1 \
			LD_PRELOAD="$FAKETIME_LIB" FAKETIME="@$(date -u -d "$when" '+%Y-%m-%d %H:%M:%S')" "$@"
	}
	as alice policy set retention-years 1 >/dev/null
	as alice mission close M-2 >/dev/null
	later '+1 year +3 days' "$EVAULT_BIN" --identity "$T/alice.id" --passphrase-file "$T/alice.pass" retention run >/dev/null 2>&1
	check "M-2 expired" bash -c '[ "$(sed -n "s/^status //p" <<<"$1")" = expired ]' _ "$(record M-2)"
	check "... its due date line kept" bash -c 'grep -qx "dossier-due 2099-03-31" <<<"$1"' _ "$(record M-2)"
	before=$(head_of "$T/vault")
	expect_error 8 "set-due of an expired mission is refused" \
		later '+1 year +4 days' "$EVAULT_BIN" --identity "$T/alice.id" --passphrase-file "$T/alice.pass" mission set-due M-2 2028-01-31
	check "... nothing recorded" test "$(head_of "$T/vault")" = "$before"
else
	ko "libfaketime not found (scripts/deps.sh installs faketime): the expired mission was not tried"
fi
finish
