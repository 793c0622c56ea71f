#!/usr/bin/env bash
# The everyday flow of issue 2 through the real CLI: init, identities,
# users, missions, put/get/ls/rm, log, help.
. "$(dirname "$0")/lib.sh"

export EVAULT_REPO=$T/vault
printf 'passphrase of alice\n' >"$T/alice.pass"
expect 0 "init creates the vault and alice's identity" as alice init --admin alice
check "identity file is mode 0600" test "$(stat -c %a "$T/alice.id")" = 600
check "repository layout" test -f "$T/vault/evault.conf" -a -d "$T/vault/objects" -a -d "$T/vault/keys" -a -d "$T/vault/audit.git"
expect 0 "identity show needs no passphrase" "$EVAULT_BIN" --identity "$T/alice.id" identity show
check "public key in OpenSSH form" grep -q '^ssh-ed25519 AAAA.* alice$' "$T/out"

bobkey=$(new_identity bob)
check "identity new prints the public line" test "${bobkey#ssh-ed25519 AAAA}" != "$bobkey"
# the suite's identities use the test-only weak KDF (lib.sh); a real one
# uses the level asked for, and unlocks
check "the test identities: argon2id's minimum (EVAULT_TESTONLY_WEAK_KDF)" grep -q '^kdf argon2id13 1 8192 ' "$T/bob.id"
printf 'real passphrase\n' >"$T/real.pass"
for lv in interactive:2:67108864 moderate:3:268435456; do
	IFS=: read -r level ops mem <<<"$lv"
	expect 0 "identity new --kdf $level, outside the test setting" env -u EVAULT_TESTONLY_WEAK_KDF \
		"$EVAULT_BIN" --identity "$T/real-$level.id" --passphrase-file "$T/real.pass" identity new --name real --kdf "$level"
	check "... argon2id with the $level level's parameters" grep -q "^kdf argon2id13 $ops $mem " "$T/real-$level.id"
done
expect 0 "... and unlocks: a vault made with it" "$EVAULT_BIN" --identity "$T/real-interactive.id" --passphrase-file "$T/real.pass" -R "$T/realv" init --admin real
expect_error 4 "... not with another passphrase" "$EVAULT_BIN" --identity "$T/real-interactive.id" --passphrase-file "$T/alice.pass" -R "$T/realv" mission create M-R
expect 0 "admin adds bob" as alice user add bob --role technician --pubkey "$bobkey"
expect 0 "user list" as alice user list
check "user list shows roles" grep -q '^bob  *technician  *active  *SHA256:' "$T/out"

expect 0 "mission create" as alice mission create M-2026-0042 --client "Client SA" --site "Site" --description "alarm" --member bob
expect 0 "mission list (bob)" as bob mission list
check "bob sees his mission" grep -q '^M-2026-0042	open$' "$T/out"
expect 0 "mission show (bob)" as bob mission show M-2026-0042
check "show decrypts the client for a member" grep -q '^client *Client SA$' "$T/out"

printf 'rapport\n' >"$T/rapport.txt"
head -c 300000 /dev/urandom >"$T/photo.bin"
expect 0 "put two files into a class directory" as bob put "$T/rapport.txt" "$T/photo.bin" M-2026-0042/dossier/
echo "working note" | as bob put - M-2026-0042/work/notes/n1.txt >/dev/null
check "put from stdin" test $? -eq 0
expect 0 "get to stdout" as bob get M-2026-0042/dossier/rapport.txt
check "stdout has the bytes" cmp -s "$T/out" "$T/rapport.txt"
expect 0 "get to a file" as bob get M-2026-0042/dossier/photo.bin "$T/photo.out"
check "file has the bytes" cmp -s "$T/photo.out" "$T/photo.bin"
check "no temporary file left beside OUT" test "$(ls "$T" | grep -c evault-)" -eq 0
mkdir "$T/outdir"
expect 0 "get into a directory" as bob get M-2026-0042/work/notes/n1.txt "$T/outdir"
check "named after the file" grep -qx "working note" "$T/outdir/n1.txt"

expect 0 "ls missions" as bob ls
check "ls shows the mission" grep -qx 'M-2026-0042/' "$T/out"
expect 0 "ls a mission" as bob ls M-2026-0042
check "ls shows the classes" test "$(tr '\n' ' ' <"$T/out")" = "dossier/ work/ codes/ "
expect 0 "ls -l a class" as bob ls -l M-2026-0042/dossier
check "ls -l shows sizes" grep -q ' 300000 .* photo.bin$' "$T/out"
expect 0 "ls a subdirectory" as bob ls M-2026-0042/work/notes
check "ls lists the file" grep -qx 'n1.txt' "$T/out"

expect_error 7 "put over an existing file is refused" as bob put "$T/rapport.txt" M-2026-0042/dossier/rapport.txt
printf 'rapport v2\n' >"$T/rapport2.txt"
expect 0 "put --force replaces it" as bob put -f "$T/rapport2.txt" M-2026-0042/dossier/rapport.txt
as bob get M-2026-0042/dossier/rapport.txt >"$T/r2" 2>/dev/null
check "the new content is read back" cmp -s "$T/r2" "$T/rapport2.txt"

expect 0 "rm" as bob rm M-2026-0042/work/notes/n1.txt
expect_error 3 "the removed file is gone" as bob get M-2026-0042/work/notes/n1.txt

expect 0 "log" as bob log
check "log lists the events, newest first" test "$(awk '{print $5}' "$T/out" | head -1)" = file.remove
check "every event verified" test "$(grep -c 'NOT VERIFIED' "$T/out")" -eq 0
check "log numbers events from 0" grep -q '^0 .*vault.init' "$T/out"
expect 0 "log -n 2" as bob log -n 2
check "log -n limits" test "$(wc -l <"$T/out")" -eq 2
expect 0 "log --mission" as alice log --mission M-2026-0042
check "log --mission filters" test "$(grep -vc 'M-2026-0042' "$T/out")" -eq 0

expect 0 "--help" "$EVAULT_BIN" --help
check "help documents the environment" grep -q 'EVAULT_PASSPHRASE_FILE' "$T/out"
check "help documents exit codes" grep -q 'exit codes' "$T/out"
expect 0 "help for a command" "$EVAULT_BIN" help put
expect 0 "--version" "$EVAULT_BIN" --version
expect_error 2 "unknown command" "$EVAULT_BIN" frobnicate
expect_error 2 "missing arguments" as bob get
expect 0 "--repo overrides EVAULT_REPO" env EVAULT_REPO=/nonexistent "$EVAULT_BIN" --identity "$T/bob.id" --passphrase-file "$T/bob.pass" -R "$T/vault" ls
expect_error 2 "no repository given" env -u EVAULT_REPO "$EVAULT_BIN" --identity "$T/bob.id" ls
finish
