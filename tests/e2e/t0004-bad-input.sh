#!/usr/bin/env bash
# Bad input: one-line error, documented exit code, nothing lost or half-written.
. "$(dirname "$0")/lib.sh"
standard_vault --chunk-size 65536
head -c 200000 /dev/urandom >"$T/data"
as bob put "$T/data" M-1/work/data.bin >/dev/null

# Passphrases and identities.
echo "wrong" >"$T/wrong.pass"
expect_error 4 "wrong passphrase" "$EVAULT_BIN" --identity "$T/bob.id" --passphrase-file "$T/wrong.pass" ls
expect_error 2 "missing passphrase file" "$EVAULT_BIN" --identity "$T/bob.id" --passphrase-file "$T/none" ls
expect_error 3 "missing identity" "$EVAULT_BIN" --identity "$T/none.id" --passphrase-file "$T/bob.pass" ls
echo "garbage" >"$T/junk.id"
expect_error 5 "garbage identity" "$EVAULT_BIN" --identity "$T/junk.id" --passphrase-file "$T/bob.pass" ls
expect_error 7 "identity new over an existing one" as bob identity new --name bob
printf '' >"$T/empty.pass"
expect_error 2 "empty passphrase for a new identity" "$EVAULT_BIN" --identity "$T/new.id" --passphrase-file "$T/empty.pass" identity new --name newbie
check "no identity file left" test ! -e "$T/new.id"
printf 'passphrase of eve\n' >"$T/eve.pass"
as eve identity new --name eve >/dev/null 2>&1
expect_error 6 "an identity that is no user of the vault" as eve ls

# Names and paths.
expect_error 2 "mission id with a slash" as alice mission create "M/1"
expect_error 2 "mission id with .." as alice mission create ".."
expect_error 2 "mission id too long" as alice mission create "M$(printf 'x%.0s' $(seq 70))"
expect_error 2 "path with .." as bob put "$T/data" "M-1/work/../../etc/passwd"
expect_error 2 "path with an empty part" as bob put "$T/data" "M-1/work/a//b"
expect_error 2 "path part over 255 bytes" as bob put "$T/data" "M-1/work/$(printf 'y%.0s' $(seq 300))"
expect_error 2 "unknown class" as bob put "$T/data" "M-1/secrets/x"
expect_error 2 "user name with a slash" as alice user add "../x" --role technician --pubkey "$(as alice identity show)"
expect_error 2 "bad role" as alice user add eve --role root --pubkey "$(as eve identity show)"
expect_error 2 "bad public key" as alice user add eve --role technician --pubkey "ssh-rsa AAAAB3 eve"
expect_error 7 "user that exists" as alice user add bob --role technician --pubkey "$(as eve identity show)"
expect_error 7 "mission that exists" as alice mission create M-1
expect_error 3 "mission that does not exist" as alice mission show M-404
expect_error 3 "file that does not exist" as bob get M-1/work/none
expect_error 3 "source that does not exist" as bob put "$T/none" M-1/work/
expect_error 2 "a directory as source" as bob put "$T" M-1/work/
expect_error 2 "stdin without a name" as bob put - M-1/work/

# Corrupted objects are detected, never returned as wrong bytes, and OUT is not left behind.
cp -a "$T/vault" "$T/pristine"
flip() { chmod u+w "$1"; printf '\x01' | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null; }
# The file's first object, from its keyless .objs list in the history.
first=$(git -C "$T/vault/audit.git" show "main:$(git -C "$T/vault/audit.git" ls-tree -r --name-only main missions/M-1/work/ | grep objs$ | head -1)" | head -1)
path="$T/vault/objects/${first:0:2}/$first"
check "object of the file located" test -f "$path"
flip "$path" 200
expect_error 5 "bit-flipped object" as bob get M-1/work/data.bin "$T/out.bin"
check "no output file after a corrupt read" test ! -e "$T/out.bin"
check "no temporary output left" test "$(ls "$T" | grep -c 'evault-')" -eq 0
cp "$T/pristine/objects/${first:0:2}/$first" "$path"
chmod u+w "$path"; truncate -s 100 "$path"
expect_error 5 "truncated object" as bob get M-1/work/data.bin "$T/out.bin"
other=$(find "$T/pristine/objects" -type f ! -name "$first" | head -1)
cp "$other" "$path"
expect_error 5 "swapped object" as bob get M-1/work/data.bin "$T/out.bin"
rm -f "$path"
expect_error 5 "missing object" as bob get M-1/work/data.bin "$T/out.bin"
cp "$T/pristine/objects/${first:0:2}/$first" "$path"
expect 0 "restored object reads again" as bob get M-1/work/data.bin "$T/out.bin"
check "and gives the right bytes" cmp -s "$T/data" "$T/out.bin"

# A damaged key copy or a swapped one.
cp "$T/vault/keys/missions/M-1/work/bob.sealed" "$T/bob.work.sealed"
cp "$T/vault/keys/missions/M-1/dossier/bob.sealed" "$T/vault/keys/missions/M-1/work/bob.sealed"
expect_error 5 "key copy of another class" as bob get M-1/work/data.bin
cp "$T/bob.work.sealed" "$T/vault/keys/missions/M-1/work/bob.sealed"

# Configuration.
cp "$T/vault/evault.conf" "$T/conf.good"
echo "chunk-size banana" >>"$T/vault/evault.conf"
expect_error 5 "corrupt evault.conf" as bob ls
sed 's/^format 4$/format 9/' "$T/conf.good" >"$T/vault/evault.conf"
expect_error 11 "repository of a newer format" as bob ls
sed 's/^format 4$/format 2/' "$T/conf.good" >"$T/vault/evault.conf"
expect_error 11 "repository of an older format" as bob ls
check "... saying so" grep -q 'made by an earlier evault' "$T/err"
sed 's/^format 4$/format 3/' "$T/conf.good" >"$T/vault/evault.conf"
expect_error 11 "repository of format 3 (BLAKE2b object names)" as bob ls
check "... saying so" grep -q 'format 3 was made by an earlier evault' "$T/err"
sed 's/^chunk-size .*/chunk-size 131072/' "$T/conf.good" >"$T/vault/evault.conf"
expect_error 5 "evault.conf that disagrees with the signed history" as bob ls
cp "$T/conf.good" "$T/vault/evault.conf"
expect_error 3 "not a repository" "$EVAULT_BIN" -R "$T" audit allowed-signers
mkdir "$T/nonempty"; touch "$T/nonempty/x"
expect_error 7 "init into a non-empty directory" as alice -R "$T/nonempty" init --admin alice
expect_error 2 "bad chunk size" as alice -R "$T/new" init --admin alice --chunk-size 10
check "nothing created by a refused init" test ! -e "$T/new/evault.conf"
expect 0 "after all that, the vault still works" as bob get M-1/work/data.bin "$T/final.bin"
check "with the right bytes" cmp -s "$T/data" "$T/final.bin"
check "and every commit still verifies with git" git_verify_all "$T/vault"
finish
