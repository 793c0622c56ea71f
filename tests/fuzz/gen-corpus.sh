#!/usr/bin/env bash
# Regenerates the seed corpus (corpus/<target>/) and the fixture bundle
# (fixtures/history.bundle) from the real code: fuzz-seed writes what the
# engine's encoders make under the fixed test key; the evault binary makes
# a vault (users, a mission with files in every class, codes marks, a
# close, a checkpoint, an export) whose records, identity files, .objs
# lists, commit messages and signatures are copied out. Seeds are small;
# run it after a format change and commit the result.
#   tests/fuzz/gen-corpus.sh [BUILD_DIR]   (default build-fuzz)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build-fuzz}
"$here/run.sh" --build-only "$build"
EV=$build/evault
SEED=$build/tests/fuzz/fuzz-seed
export ASAN_OPTIONS=detect_leaks=0 # the binary is built for fuzzing; its leaks are not seeds
T=$(mktemp -d /tmp/evault-gen-corpus.XXXXXX)
trap 'rm -rf "$T"' EXIT
export HOME=$T/home EVAULT_REPO=$T/vault
mkdir -p "$HOME"
out=$T/corpus
as() { local who=$1; shift; "$EV" --identity "$T/$who.id" --passphrase-file "$T/$who.pass" "$@"; }
G() { git -C "$EVAULT_REPO/audit.git" "$@"; }
seed() { # seed TARGET NAME [PREFIX]: stdin, after PREFIX (printf format), into the corpus
	mkdir -p "$out/$1"
	{ [ -z "${3:-}" ] || printf "$3"; cat; } >"$out/$1/seed-$2"
}

"$SEED" "$out"

# A vault as the end-to-end tests make one.
for who in alice bob dave; do printf 'passphrase of %s\n' "$who" >"$T/$who.pass"; done
as alice init --admin alice >/dev/null 2>&1
bob=$(as bob identity new --name bob 2>/dev/null)
as alice user add bob --role technician --pubkey "$bob" >/dev/null
as alice user add dave --role auditor --pubkey "$(as dave identity new --name dave 2>/dev/null)" >/dev/null
as alice mission create M-1 --client "Client One SA" --site Lyon --member bob >/dev/null
as alice mission grant M-1 dave >/dev/null
echo "rapport d'intervention" >"$T/report.txt"
head -c 2200000 /dev/urandom >"$T/notes.bin"
echo "badge 4711" >"$T/badge.txt"
echo "alarme 0000" >"$T/alarm.txt"
as bob put "$T/report.txt" M-1/dossier/ >/dev/null
as bob put "$T/notes.bin" M-1/work/ >/dev/null
as bob put "$T/badge.txt" "$T/alarm.txt" M-1/codes/ >/dev/null
as bob codes mark M-1/codes/badge.txt --rotated >/dev/null
as bob codes mark M-1/codes/alarm.txt --reported-to "M. Martin, gardien" >/dev/null
open=$(G rev-parse main)
as alice mission close M-1 >/dev/null
as bob mission refuse --client "Client Two SA" --reason employee-surveillance >/dev/null
as alice audit checkpoint >"$T/checkpoint"
"$EV" audit export --out "$T/exp" >/dev/null
# a dossier handed over, after the export (the fixture bundle stays as it was)
as alice dossier handover M-1 --to "Client One SA" --out "$T/ho" >/dev/null

seed config vault <"$EVAULT_REPO/evault.conf"
G show main:POLICY | seed policy vault
seed identity bob <"$T/bob.id"
seed identity alice <"$T/alice.id"
# the same file with a tiny KDF cost, so that the target also tries an unlock
sed -E 's/^(kdf argon2id13) [0-9]+ [0-9]+ /\1 1 8192 /' "$T/bob.id" | seed identity cheap-kdf
for u in alice bob dave; do G show "main:users/$u" | seed user "vault-$u" "$u\n"; done
G show "$open:missions/M-1/MISSION" | seed mission vault-open 'M-1\n'
G show main:missions/M-1/MISSION | seed mission vault-closed 'M-1\n'
pending=$(G log --format=%H -- missions/M-1/CLOSE | tail -1)
G show "$pending:missions/M-1/CLOSE" | seed close vault-pending 'M-1\n'
G show main:missions/M-1/CLOSE | seed close vault-done 'M-1\n'
G show main:missions/M-1/handovers/1 | seed handover vault '1\n'
seed package statement '\000' <"$T/ho/statement.txt"
seed package sums '\001' <"$T/ho/SHA256SUMS"
# the signer's key (the last 32 bytes of its wire form), the name, the text
{ cut -d' ' -f4 "$T/ho/allowed_signers" | base64 -d | tail -c 32; printf 'alice\n'; cat "$T/ho/allowed_signers"; } |
	seed package signers '\002'
key=$(cut -d' ' -f3-4 "$T/ho/allowed_signers")
{ cut -d' ' -f4 "$T/ho/allowed_signers" | base64 -d | tail -c 32; printf 'alice\n'
  printf 'alice,bob cert-authority %s\n' "$key"
  printf 'alice namespaces="file,evault-dossier",valid-after="20200101",valid-before="29991231235959Z" %s\n' "$key"; } |
	seed package signers-options '\002'
rid=$(G ls-tree --name-only main refusals/ | head -1)
rid=${rid#refusals/}
G show "main:refusals/$rid" | seed refusal vault "$rid\n"
for cls in work codes dossier; do
	p=$(G ls-tree -r --name-only "$open" "missions/M-1/$cls" | grep '\.objs$' | head -1)
	G show "$open:$p" | seed objs "vault-$cls"
done
i=0
for c in $(G rev-list main); do # one message per action, after a key byte and a room byte (80)
	action=$(G show -s --format=%B "$c" | sed -n 's/^Evault-Action: //p')
	[ -e "$out/trailer/seed-$action" ] && continue
	G show -s --format=%B "$c" | seed trailer "$action" "\\$(printf '%03o' $((i % 16)))\\117"
	i=$((i + 1))
done
G show -s --format=%B main | seed trailer own-key '\020\117Evault-Mission\n'
G cat-file commit main | sed -n '/^gpgsig /,/END SSH SIGNATURE/p' | sed 's/^gpgsig //; s/^ //' |
	seed sshsig vault-commit '\000'
seed sshsig vectors '\000' <"$root/tests/vectors/sshsig-git.sig"
seed sshkey vectors <"$root/tests/vectors/sshsig-ed25519.pub"
echo "$bob" | seed sshkey vault-bob
seed signers export <"$T/exp/allowed_signers"
seed checkpoint alice <"$T/checkpoint"

# The bundle the signers and checkpoint targets verify against, and a
# smaller one (a vault with its first event only) as the bundle seed.
mkdir -p "$here/fixtures"
cp "$T/exp/history.bundle" "$here/fixtures/history.bundle"
export EVAULT_REPO=$T/small HOME=$T/home2
mkdir -p "$HOME"
as alice init --admin alice >/dev/null 2>&1
"$EV" audit export --out "$T/exp2" >/dev/null
seed bundle init <"$T/exp2/history.bundle"
# its pack: what follows the header (# v2 git bundle, two ref lines, a blank line)
tail -c +121 "$T/exp2/history.bundle" | seed packscan init

# a file's first bytes: media, archives holding media or text (fixtures/media.py)
for k in jpeg png mp4 wav mp3 aac ogg text pdf shifted jpeg.gz jpeg.zip wav.zip jpeg.tar jpeg.tgz text.zip; do
	python3 "$here/../e2e/fixtures/media.py" "$k" /dev/stdout 3000 | seed content "$k"
done

# codes marks (docs/format.md): magic, how, contact, by, when, name
python3 - "$out" <<'PY'
import os, struct, sys
def s(b): return struct.pack(">I", len(b)) + b
os.makedirs(sys.argv[1] + "/mark", exist_ok=True)
for name, how, contact, by, path in (("reported", b"reported", "M. Martin, gardien".encode(), b"bob", b"badge.txt"),
                                     ("rotated", b"rotated", b"", b"alice", b"codes/porte.txt")):
    with open(sys.argv[1] + "/mark/seed-" + name, "wb") as f:
        f.write(b"EVR1" + s(how) + s(contact) + s(by) + struct.pack(">Q", 1763920000) + s(path))
PY

# the reproducers of past findings stay (regress-*)
(cd "$here/corpus" && find . -name 'regress-*' -type f) | while read -r f; do
	mkdir -p "$(dirname "$out/$f")" && cp "$here/corpus/$f" "$out/$f"
done
rm -rf "$here/corpus"
mv "$out" "$here/corpus"
find "$here/corpus" -type f | sort | while read -r f; do
	printf '%6d %s\n' "$(stat -c %s "$f")" "${f#"$here"/}"
done
printf '%6d %s\n' "$(stat -c %s "$here/fixtures/history.bundle")" fixtures/history.bundle
