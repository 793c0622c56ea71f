#!/usr/bin/env bash
# The charter's content rules through `evault put` (docs/mount.md): images and
# videos, told from their bytes whatever their names, are refused (exit 12)
# until the mission records the client's written photo authorisation; audio
# is always refused; every refusal is a signed content.refused event that
# changes nothing else; the authorisation is one signed event whose details
# only dossier key holders read.
. "$(dirname "$0")/lib.sh"
standard_vault
MEDIA=$(cd "$(dirname "$0")" && pwd)/fixtures/media.py
media() { python3 "$MEDIA" "$@"; }
cd "$T" || exit 1
for k in jpeg png heic mp4 mov m4a amr wav ogg odt pdf text mp3 aac; do media "$k" "$T/s.$k"; done
cp "$T/s.jpeg" "$T/rapport.txt" # a photo under a report's name
seq0=$(git -C vault/audit.git rev-list --count main)

for k in jpeg png heic mp4 mov; do
	expect_error 12 "$k refused without authorisation" as bob put "s.$k" "M-1/dossier/p.$k"
done
grep -q "photo authorisation" "$T/err" && ok "the message says why" || ko "message: $(cat "$T/err")"
expect_error 12 "a photo named rapport.txt is still a photo" as bob put rapport.txt M-1/work/
for k in wav m4a amr mp3 aac ogg; do # mp3, aac: raw frames, no container
	expect_error 12 "$k audio refused" as bob put "s.$k" "M-1/work/a.$k"
done
grep -q "voice recordings" "$T/err" && ok "audio message names the rule" || ko "audio message: $(cat "$T/err")"
expect 0 "nothing was stored" as bob ls M-1/dossier
check "dossier empty" test ! -s "$T/out"
seq1=$(git -C vault/audit.git rev-list --count main)
check "one content.refused event per refused put" test $((seq1 - seq0)) -eq 12
git -C vault/audit.git log -1 --format=%B main >"$T/msg"
grep -q '^Evault-Action: content.refused$' "$T/msg" && grep -q '^Evault-Refused: 1$' "$T/msg" &&
	grep -q '^Evault-Refused-Type: audio/ogg 1$' "$T/msg" &&
	grep -qE '^Evault-Refused-Between: [0-9]+ [0-9]+$' "$T/msg" && ok "event names count, time and type" ||
	ko "event: $(cat "$T/msg")"
# hidden in an archive (gzip, zip, tar, tar.gz) or after a leading byte
for k in shifted jpeg.gz jpeg.zip wav.zip jpeg.tar jpeg.tgz text.zip text.tgz; do media "$k" "$T/h.$k"; done
for k in shifted jpeg.gz jpeg.zip jpeg.tar jpeg.tgz; do
	expect_error 12 "a photo in $k is still a photo" as bob put "h.$k" "M-1/work/h.$k"
done
check "... told as image content of its container" grep -q "refused: application/gzip is image content" "$T/err"
expect_error 12 "a recording in a zip is still a recording" as bob put h.wav.zip M-1/work/h.wav.zip
check "... refused as audio" grep -q "refused: application/zip is audio content" "$T/err"
for k in text.zip text.tgz; do
	expect 0 "an archive of text ($k) is accepted" as bob put "h.$k" "M-1/work/h.$k"
	as bob rm "M-1/work/h.$k" >/dev/null
done
for k in odt pdf text; do
	expect 0 "$k accepted" as bob put "s.$k" "M-1/dossier/doc.$k"
done
expect 0 "ls -l" as bob ls -l M-1/dossier
grep -q 'application/pdf' "$T/out" && ok "content type recorded" || ko "ls: $(cat "$T/out")"

# the authorisation
expect_error 2 "authorize-photos needs --by --ref --scope" as bob mission authorize-photos M-1 --by "M. Martin"
as alice mission grant M-1 dave >/dev/null
expect_error 6 "an auditor cannot record it" as dave mission authorize-photos M-1 --by "M. Martin, gérant" --ref "BC-2026-117" --scope "armoire"
expect_error 3 "a non-member cannot see the mission" as carol mission authorize-photos M-1 --by "M. Martin, gérant" --ref "BC-2026-117" --scope "armoire"
expect_error 6 "nor can a technician member: the written authorisation goes to the office" as bob mission authorize-photos M-1 --by "M. Martin, gérant" --ref "BC-2026-117" --scope "armoire"
check "... saying who records it" grep -q "only an admin can record the client's photo authorisation" "$T/err"
expect_error 2 "control characters refused" as alice mission authorize-photos M-1 --by $'a\nb' --ref r --scope s
expect 0 "an admin records it" as alice mission authorize-photos M-1 --by "M. Martin, gérant" --ref "BC-2026-117" --scope "armoire et baie"
expect_error 7 "only once" as alice mission authorize-photos M-1 --by x --ref y --scope z
expect 0 "show" as alice mission show M-1
grep -q "photos *authorised" "$T/out" && grep -q "BC-2026-117" "$T/out" && grep -q "recorded by: alice" "$T/out" &&
	ok "show gives the authorisation" || ko "show: $(cat "$T/out")"
# git stores its objects compressed: search what git shows (every state, every message)
in_clear() { grep -rqF "$1" vault/keys vault/objects ||
	git -C vault/audit.git grep -qF "$1" $(git -C vault/audit.git rev-list main) ||
	git -C vault/audit.git log --format=%B main | grep -qF "$1"; }
check "reference never in clear" bash -c "$(declare -f in_clear); ! in_clear BC-2026-117"
check "... which the search would find if it were" bash -c "$(declare -f in_clear); in_clear 'Evault-Action: mission.authorize-photos'"
git -C vault/audit.git show main:missions/M-1/MISSION | grep -q '^photo-authorisation yes$' && ok "MISSION says yes" || ko "MISSION"
for k in jpeg png heic mp4 mov; do
	expect 0 "$k accepted after authorisation" as bob put "s.$k" "M-1/dossier/p.$k"
done
as bob get M-1/dossier/p.jpeg "$T/back.jpeg" && cmp -s s.jpeg back.jpeg && ok "photo round trip" || ko "photo round trip"
expect_error 12 "audio still refused" as bob put s.wav M-1/work/a.wav
as alice mission create M-2 --member bob >/dev/null
expect_error 12 "the authorisation is per mission" as bob put s.jpeg M-2/dossier/p.jpeg
expect 0 "verify accepts the history" as alice audit verify

# forged events signed by a real admin key, breaking the rules
G() { local r=$1; shift; git -C "$r/audit.git" "$@"; }
ssh-keygen -q -t ed25519 -N '' -f "$T/eve" -C eve
as alice user add eve --role admin --pubkey "$(cat "$T/eve.pub")" >/dev/null
ssh-keygen -q -t ed25519 -N '' -f "$T/tom" -C tom
as alice user add tom --role technician --pubkey "$(cat "$T/tom.pub")" >/dev/null
as alice mission grant M-2 tom >/dev/null
forge() { # what action mission edit-function [signer]
	local what=$1 action=$2 mid=$3 edit=$4 who=${5:-eve} tree seq c
	rm -rf "$T/v"; cp -a "$T/vault" "$T/v"; forget_verified
	export GIT_INDEX_FILE=$T/index
	G "$T/v" read-tree main
	$edit "$mid"
	tree=$(G "$T/v" write-tree)
	unset GIT_INDEX_FILE
	seq=$(( $(G "$T/v" log -1 --format=%B main | sed -n 's/^Evault-Seq: //p') + 1 ))
	c=$(commit_as "$T/$who" main "$tree" -m "$what" -m "Evault-Seq: $seq
Evault-Action: $action
Evault-Actor: $who
Evault-Mission: $mid
Evault-Refused: 1")
	G "$T/v" update-ref refs/heads/main "$c"
	"$EVAULT_BIN" -R "$T/v" audit verify >"$T/out" 2>"$T/err"
	if [ $? -eq 1 ] && grep -q "FAILED at commit $c" "$T/err"; then
		ok "$what: $(sed 's/.*FAILED at commit [0-9a-f]*: //' "$T/err")"
	else
		ko "$what: $(cat "$T/err")"
	fi
}
set_photo() { # mid: MISSION says yes, with or without photos.enc
	G "$T/v" show "main:missions/$1/MISSION" | sed 's/^photo-authorisation no/photo-authorisation yes/' >"$T/m"
	G "$T/v" update-index --add --cacheinfo "100644,$(G "$T/v" hash-object -w "$T/m"),missions/$1/MISSION"
}
with_record() {
	set_photo "$1"
	G "$T/v" update-index --add --cacheinfo "100644,$(G "$T/v" hash-object -w "$T/m"),missions/$1/photos.enc"
	G "$T/v" show "main:missions/$1/MISSION" | sed 's/^photo-authorisation no/photo-authorisation yes/; s/^member bob$/member carol/' >"$T/m"
	G "$T/v" update-index --add --cacheinfo "100644,$(G "$T/v" hash-object -w "$T/m"),missions/$1/MISSION"
}
add_file() { G "$T/v" update-index --add --cacheinfo "100644,$(G "$T/v" hash-object -w "$T/m" 2>/dev/null || echo x | G "$T/v" hash-object -w --stdin),missions/$1/dossier/0/0/00000000000000000000000000000000.enc"; }
forge "photos authorised without the encrypted record" mission.authorize-photos M-2 set_photo
forge "an authorisation that also swaps a member" mission.authorize-photos M-2 with_record
authorise() { set_photo "$1"; G "$T/v" update-index --add --cacheinfo "100644,$(echo sealed | G "$T/v" hash-object -w --stdin),missions/$1/photos.enc"; }
forge "an authorisation recorded by a technician member (tom)" mission.authorize-photos M-2 authorise tom
forge "a refusal that slips a file in" content.refused M-2 add_file
expect 0 "the real history still verifies" as alice audit verify
git_verify_all "$T/vault" && ok "stock git verifies every commit" || ko "stock git"
finish
