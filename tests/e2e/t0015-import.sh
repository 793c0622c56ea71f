#!/usr/bin/env bash
# evault import: the camera-card workflow. Every file stored and proven by
# SHA-256 before any source is wiped; one signed file.import event listing
# each file's fingerprint; refusals and failures wipe nothing.
. "$(dirname "$0")/lib.sh"
standard_vault
HERE=$(cd "$(dirname "$0")" && pwd)
media() { python3 "$HERE/fixtures/media.py" "$@"; }
card=$T/card
mkdir -p "$card/DCIM/100MEDIA" "$card/DCIM/101MEDIA"
for i in 1 2 3; do media jpeg "$card/DCIM/100MEDIA/IMG_000$i.JPG" $((300000 + i)); done
media heic "$card/DCIM/101MEDIA/IMG_0004.HEIC"
media mp4 "$card/DCIM/101MEDIA/VID_0005.MP4" 3000000
ln -s /etc/hostname "$card/DCIM/link"
sha256sum "$card"/DCIM/*/* 2>/dev/null | sort >"$T/card.sha"

expect_error 2 "usage" as bob import M-1
expect_error 3 "a mission bob cannot see" as bob import M-9 "$card"
expect_error 2 "a bad destination" as bob import M-1 "$card" --to nowhere
e0=$(git -C "$T/vault/audit.git" rev-list --count main)
expect_error 12 "photos without authorisation: refused, card untouched" as bob import M-1 "$card" --wipe-source
check "... every file still on the card" test "$(find "$card" -type f | wc -l)" -eq 5
check "... the summary says 5 refused" grep -q '^0 imported (0 bytes), 5 refused' "$T/out"
e1=$(git -C "$T/vault/audit.git" rev-list --count main)
check "... one refusal event for the five" test $((e1 - e0)) -eq 1
as alice mission authorize-photos M-1 --by "Mme Durand, directrice" --ref "courrier 2026-11-20" --scope "locaux techniques" >/dev/null
expect 0 "import with --wipe-source" as bob import M-1 "$card" --wipe-source
check "five imported" grep -q '^5 imported' "$T/out"
check "the symlink skipped, not followed" grep -q '1 skipped' "$T/out"
check "the card holds no file any more" test "$(find "$card" -type f | wc -l)" -eq 0
for f in DCIM/100MEDIA/IMG_0001.JPG DCIM/101MEDIA/VID_0005.MP4; do
	want=$(grep " $card/$f\$" "$T/card.sha" | cut -c1-64)
	got=$(as bob get "M-1/dossier/photos/$f" - | sha256sum | cut -c1-64)
	check "$f stored byte for byte" test "$want" = "$got"
done
git -C "$T/vault/audit.git" log -1 --format=%B main >"$T/msg"
check "one file.import event" grep -q '^Evault-Action: file.import$' "$T/msg"
check "... listing five fingerprints" test "$(grep -c '^Evault-Import-File: [0-9a-f]\{32\} sha256:[0-9a-f]\{64\}$' "$T/msg")" -eq 5
check "... that are the card's" bash -c "grep -o 'sha256:[0-9a-f]*' '$T/msg' | cut -c8- | sort | diff -q - <(cut -c1-64 '$T/card.sha' | sort)"
check "... and says all five wiped" grep -q '^Evault-Wiped: 5$' "$T/msg"
# existing files: nothing overwritten, nothing wiped
mkdir -p "$T/card2"; media jpeg "$T/card2/IMG_0001.JPG"; media jpeg "$T/card2/IMG_0009.JPG"
expect_error 12 "a name already in the vault: import --wipe-source refuses to wipe" \
	as bob import M-1 "$T/card2" --to dossier/photos/DCIM/100MEDIA --wipe-source
check "... the card is kept whole" test -f "$T/card2/IMG_0001.JPG" -a -f "$T/card2/IMG_0009.JPG"
check "... the other file imported" grep -q '^imported  IMG_0009.JPG' "$T/out"
# a file with two names on the card: wiping one would empty the other
mkdir -p "$T/card3/DCIM" "$T/elsewhere"
echo "rapport de visite, page 1" >"$T/elsewhere/kept.txt"
ln "$T/elsewhere/kept.txt" "$T/card3/DCIM/note.txt"
echo "autre note" >"$T/card3/DCIM/other.txt"
expect_error 12 "a hard-linked file on the card: import --wipe-source imports, wipes nothing" \
	as bob import M-1 "$T/card3" --to work/card3 --wipe-source
check "... saying why" grep -q "note.txt has 2 names on the card (hard links)" "$T/err"
check "... the other name keeps its content" test "$(cat "$T/elsewhere/kept.txt")" = "rapport de visite, page 1"
check "... nothing on the card was wiped" test -s "$T/card3/DCIM/other.txt" -a -s "$T/card3/DCIM/note.txt"
check "... both files are in the vault" test "$(as bob get M-1/work/card3/DCIM/note.txt -)" = "rapport de visite, page 1"
expect 0 "verify accepts the imports" as alice audit verify --objects
# a forged import listing a file that is not there
G() { local r=$1; shift; git -C "$r/audit.git" "$@"; }
ssh-keygen -q -t ed25519 -N '' -f "$T/eve" -C eve
as alice user add eve --role admin --pubkey "$(cat "$T/eve.pub")" >/dev/null
rm -rf "$T/v"; cp -a "$T/vault" "$T/v"; forget_verified
seq=$(( $(G "$T/v" log -1 --format=%B main | sed -n 's/^Evault-Seq: //p') + 1 ))
c=$(commit_as "$T/eve" main "$(G "$T/v" rev-parse 'main^{tree}')" -m "Import 1 file" -m "Evault-Seq: $seq
Evault-Action: file.import
Evault-Actor: eve
Evault-Mission: M-1
Evault-Class: dossier
Evault-Imported: 1
Evault-Import-File: 0123456789abcdef0123456789abcdef sha256:$(printf '%064d' 0)")
G "$T/v" update-ref refs/heads/main "$c"
expect 1 "verify refuses an import of a file that is not there" "$EVAULT_BIN" -R "$T/v" audit verify
check "... naming the rule" grep -q "no live dossier file" "$T/err"
finish
