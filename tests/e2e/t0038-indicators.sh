#!/usr/bin/env bash
# evault report indicators: the year's trust indicators counted from the
# verified history (docs/indicators.md). Dossiers due and met, missed and
# pending give the right counts; one client's report names nothing of
# another; the office and an export verified offline print the same
# figures; two runs print the same bytes; a history that does not verify
# gives no report.
. "$(dirname "$0")/lib.sh"
standard_vault # M-1: "Client One SA", bob a member
YEAR=$(date -u +%Y)
NEXT=$((YEAR + 1))
day() { date -u -d "$1" +%Y-%m-%d; } # a date relative to today (UTC)
TODAY=$(day today)
MEDIA=$(cd "$(dirname "$0")" && pwd)/fixtures/media.py

# ---- the missions and their due dates (today is the report's "now": the
# head's time) ----
BRAVO="Bravo Industries"
as alice mission create M-2 --client "$BRAVO" --member bob --dossier-due "$(day '+30 days')" >/dev/null
as alice mission create M-3 --client "$BRAVO" --member bob --dossier-due "$(day '-20 days')" >/dev/null
as alice mission create M-4 --client "Client One SA" --member bob >/dev/null
as alice mission create M-5 --client "$BRAVO" --member bob --dossier-due "$NEXT-01-15" >/dev/null
expect 0 "mission set-due records M-1's due date (passed)" as alice mission set-due M-1 "$(day '-10 days')"
expect 0 "... and M-4's (still ahead)" as alice mission set-due M-4 "$(day '+5 days')"
expect 0 "... and moves it a day (still ahead)" as alice mission set-due M-4 "$(day '+6 days')"
# when the due date passed or is in the next year, the figures still say so
# whatever the day the suite runs: M-1 late, M-2 on time, M-3 overdue,
# M-4 pending, M-5 due next year; the same-day boundary is M-6's
as alice mission create M-6 --client "$BRAVO" --member bob --dossier-due "$TODAY" >/dev/null
for m in M-1 M-2 M-3 M-4 M-5 M-6; do
	printf 'rapport %s\n' "$m" | as bob put - "$m/dossier/rapport.txt" >/dev/null
done
printf 'code\n' | as bob put - M-1/codes/porte.txt >/dev/null
printf 'code\n' | as bob put - M-1/codes/alarme.txt >/dev/null
as bob codes mark M-1/codes/porte.txt --rotated >/dev/null
as bob codes mark M-1/codes/alarme.txt --reported-to "M. Martin" >/dev/null
expect 0 "M-1 closes (one code rotated, one reported)" as alice mission close M-1
expect 0 "M-2 closes" as alice mission close M-2
for m in M-1 M-2 M-6; do
	expect 0 "$m handed over" as alice dossier handover "$m" --to "facility manager" --out "$T/h-$m"
done
expect 0 "M-2 handed over a second time (a copy)" as alice dossier handover M-2 --to "new manager" --out "$T/h2-M-2"

# content refused: a photo without authorisation, a voice recording; and an
# authorisation recorded on M-3
python3 "$MEDIA" jpeg "$T/p.jpeg"
python3 "$MEDIA" wav "$T/a.wav"
expect 12 "a photo refused in M-4 (Client One)" as bob put "$T/p.jpeg" M-4/work/p.jpeg
expect 12 "a photo refused in M-3 (Bravo)" as bob put "$T/p.jpeg" M-3/work/p.jpeg
expect 12 "a recording refused in M-3" as bob put "$T/a.wav" M-3/work/a.wav
expect 0 "photos authorised on M-3" as alice mission authorize-photos M-3 --by "Mme Roux, directrice" --ref "BC-17" --scope "baies"
# refused missions: the register
expect 0 "bob refuses a mission (employee surveillance)" \
	as bob mission refuse --client "$BRAVO" --reason employee-surveillance
expect 0 "alice refuses one (competence)" as alice mission refuse --client "Client One SA" --reason competence
expect 0 "alice refuses one (court order)" as alice mission refuse --client "Delta SARL" --reason court-order

# ---- the report ----
expect 0 "report indicators --json (a technician, no passphrase)" \
	"$EVAULT_BIN" --identity "$T/bob.id" report indicators --year "$YEAR" --json
cp "$T/out" "$T/office.json"
jq() { # NAME: the indicator's value
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["indicators"][sys.argv[2]])' "$T/office.json" "$1"
}
want() { # NAME VALUE [WHY]
	local got
	got=$(jq "$1")
	[ "$got" = "$2" ] && ok "$1 = $2${3:+ ($3)}" || ko "$1 = $got, wanted $2${3:+ ($3)}"
}
# M-5 is due next year; M-1 (-10 days) and M-3 (-20 days) fall in this
# year unless today is early January: then they are last year's
early=0
[ "$(day '-20 days' | cut -c1-4)" = "$YEAR" ] || early=1
if [ $early = 0 ]; then
	want dossiers_due 5 "M-1, M-2, M-3, M-4, M-6"
	want dossiers_late 1 "M-1: handed over after its date"
	want dossiers_overdue 1 "M-3: its date passed, not handed over"
else
	ok "(early January: last year's due dates left out)"
fi
if [ "$(day '+30 days' | cut -c1-4)" = "$YEAR" ]; then
	want dossiers_on_time 2 "M-2 before its date, M-6 on the day"
	want dossiers_pending 1 "M-4: its date still ahead"
fi
want missions_created 6 "M-1 to M-6"
want missions_closed 2
want due_dates_moved 1 "M-4's"
want handovers 4 "M-2 twice"
want closed_and_handed_over 2
want codes_rotated 1
want codes_reported 1
want codes_damaged 0
want content_refused 3
want photos_refused 2
want audio_refused 1
want photo_authorisations 1
want missions_refused 3
want refused_employee_surveillance 1
want refused_competence 1
want refused_court_order 1
want refused_other 0
want erasures 2
want erasures_no_device 2
want dossiers_expired 0
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["median_days_close_to_handover"] == 0.0, d
assert d["year"] == int(sys.argv[2]) and len(d["head"]) == 40 and d["as_of"].endswith("Z")
' "$T/office.json" "$YEAR" && ok "median 0.0 days, year, head and as-of" || ko "json: $(cat "$T/office.json")"

# the text report: bilingual, each figure on its line
expect 0 "the Markdown report" as alice report indicators --year "$YEAR"
grep -q "^# Indicateurs de confiance $YEAR / Trust indicators $YEAR" "$T/out" &&
	grep -q '^| Missions refusées / Missions refused | 3 |$' "$T/out" &&
	grep -q '^| Codes changés / Codes rotated | 1 |$' "$T/out" &&
	ok "French and English, the figures in a table" || ko "report: $(head -40 "$T/out")"
expect 0 "two runs print the same bytes" bash -c "
	'$EVAULT_BIN' --identity '$T/bob.id' report indicators --year $YEAR >'$T/r1' &&
	'$EVAULT_BIN' --identity '$T/dave.id' report indicators --year $YEAR >'$T/r2' && cmp '$T/r1' '$T/r2'"
expect 0 "--html: one page" as alice report indicators --year "$YEAR" --html
grep -q '^<!DOCTYPE html>' "$T/out" && grep -q '</html>$' "$T/out" && grep -q '<table>' "$T/out" &&
	ok "... a standalone HTML page" || ko "html: $(head -5 "$T/out")"
check "no client name in the yearly report" bash -c "! grep -q -e '$BRAVO' -e 'Client One' -e 'Delta' '$T/r1' '$T/office.json'"

expect_error 6 "--explain by a technician is refused (it names every mission)" \
	as bob report indicators --year "$YEAR" --explain
expect 0 "... an auditor may" as dave report indicators --year "$YEAR" --explain
# --explain: the events behind each figure, checked with audit show
expect 0 "--explain --json" as alice report indicators --year "$YEAR" --explain --json
python3 - "$T/out" >"$T/late" <<'EOF' && ok "--explain lists the handover behind 'late'" || ko "explain: $(head -c 400 "$T/out")"
import json, sys
d = json.load(open(sys.argv[1]))
e = d["explain"]
assert len(e["codes_rotated"]) == 1 and e["codes_rotated"][0]["mission"] == "M-1"
assert [x["mission"] for x in e["missions_closed"]] == ["M-1", "M-2"]
assert all(x["mission"] is None for x in e["missions_refused"])
late = e["dossiers_late"]
if late:
    assert late[0]["mission"] == "M-1"
    print(late[0]["seq"])
EOF
if [ -s "$T/late" ]; then
	expect 0 "audit show of that event" as alice audit show "$(cat "$T/late")"
	grep -q 'dossier.handover' "$T/out" && ok "... a dossier.handover of M-1" || ko "show: $(head -20 "$T/out")"
fi

# ---- one client's figures: nothing of another ----
expect 0 "--client 'Client One SA' (admin)" as alice report indicators --year "$YEAR" --client "Client One SA" --explain
cp "$T/out" "$T/one.md"
expect 0 "... and as JSON" as alice report indicators --year "$YEAR" --client "Client One SA" --explain --json
cp "$T/out" "$T/one.json"
for f in one.md one.json; do
	check "$f names no other client and none of their missions" \
		bash -c "! grep -q -e '$BRAVO' -e 'Bravo' -e 'Delta' -e 'M-2' -e 'M-3' -e 'M-5' -e 'M-6' '$T/$f'"
done
python3 - "$T/one.json" <<'EOF' && ok "Client One's figures: its missions and its refusal only" || ko "client: $(head -c 600 "$T/one.json")"
import json, sys
d = json.load(open(sys.argv[1]))
i = d["indicators"]
assert d["client"] == "Client One SA" and d["client_missions"] == 2, d
assert i["missions_closed"] == 1 and i["codes_rotated"] == 1 and i["handovers"] == 1
assert i["photos_refused"] == 1 and i["audio_refused"] == 0 and i["photo_authorisations"] == 0
assert i["missions_refused"] == 1 and i["refused_competence"] == 1 and i["refused_employee_surveillance"] == 0
EOF
expect_error 6 "--client by a technician is refused" as bob report indicators --year "$YEAR" --client "Client One SA"
expect 0 "--client of an unknown client: all zero" as alice report indicators --year "$YEAR" --client "Nobody" --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["client_missions"] == 0 and not any(d["indicators"].values())' "$T/out" &&
	ok "... nothing counted" || ko "unknown client: $(cat "$T/out")"
CLIENT_HTML='A&B <Sud>'
as alice mission create M-7 --client "$CLIENT_HTML" >/dev/null
expect 0 "--html --client escapes the name" as alice report indicators --year "$YEAR" --client "$CLIENT_HTML" --html
grep -q 'A&amp;B &lt;Sud&gt;' "$T/out" && ! grep -q '<Sud>' "$T/out" && ok "... as &amp; and &lt;" || ko "html: $(grep -i client "$T/out")"

# ---- the same figures from an export, verified offline ----
expect 0 "audit export" as alice audit export --out "$T/export"
as bob report indicators --year "$YEAR" --json >"$T/office.json"
mkdir -p "$T/offline"
expect 0 "report of the export, no repository, no identity" \
	env -u EVAULT_REPO HOME="$T/offline" "$EVAULT_BIN" report indicators --year "$YEAR" --json "$T/export"
cmp -s "$T/out" "$T/office.json" && ok "identical to the office's" || ko "export: $(diff "$T/out" "$T/office.json" | head -5)"
expect 0 "... from history.bundle itself, as Markdown" \
	env -u EVAULT_REPO HOME="$T/offline" "$EVAULT_BIN" report indicators --year "$YEAR" "$T/export/history.bundle"
as bob report indicators --year "$YEAR" >"$T/office.md"
cmp -s "$T/out" "$T/office.md" && ok "... the same report" || ko "export md differs"
expect_error 2 "--client on an export is refused" \
	env -u EVAULT_REPO "$EVAULT_BIN" report indicators --year "$YEAR" --client "Client One SA" "$T/export"
cp -r "$T/export" "$T/bad"
size=$(stat -c %s "$T/bad/history.bundle")
printf 'X' | dd of="$T/bad/history.bundle" bs=1 seek=$((size - 30)) conv=notrunc 2>/dev/null
expect_error 1 "a damaged export gives no report" env -u EVAULT_REPO "$EVAULT_BIN" report indicators --year "$YEAR" "$T/bad"
check "... nothing on stdout" test ! -s "$T/out"

# ---- a history that does not verify gives no report ----
copy_vault "$T/vault" "$T/v"
G() { git -C "$1/audit.git" "${@:2}"; }
seq=$(($(G "$T/v" log -1 --format=%B main | sed -n 's/^Evault-Seq: //p') + 1))
forged=$(GIT_AUTHOR_NAME=alice GIT_AUTHOR_EMAIL=a@x GIT_COMMITTER_NAME=alice GIT_COMMITTER_EMAIL=a@x \
	G "$T/v" commit-tree -p main "$(G "$T/v" rev-parse 'main^{tree}')" -m "Hand over M-3" \
	-m "Evault-Seq: $seq
Evault-Action: dossier.handover
Evault-Actor: alice
Evault-Mission: M-3
Evault-Handover: 1")
G "$T/v" update-ref refs/heads/main "$forged"
expect_error 1 "an unsigned handover appended: no report" as bob -R "$T/v" report indicators --year "$YEAR"
check "... nothing on stdout" test ! -s "$T/out"
grep -q 'does not verify' "$T/err" && ok "... the error says the history does not verify" || ko "err: $(cat "$T/err")"

# ---- the photo and recording counts rest on verified trailers ----
ssh-keygen -q -t ed25519 -N '' -f "$T/tech" -C tech
as alice user add tech --role technician --pubkey "$(cat "$T/tech.pub")" >/dev/null
as alice mission grant M-4 tech >/dev/null
refused_as_tech() { # REFUSED TYPE-LINES: a content.refused on M-4 signed by tech, on a fresh copy
	rm -rf "$T/v"
	copy_vault "$T/vault" "$T/v"
	local seq
	seq=$(($(G "$T/v" log -1 --format=%B main | sed -n 's/^Evault-Seq: //p') + 1))
	commit_as "$T/tech" "$(G "$T/v" rev-parse main)" "$(G "$T/v" rev-parse 'main^{tree}')" \
		-m "Refuse files in M-4 (charter content rules)" -m "Evault-Seq: $seq
Evault-Action: content.refused
Evault-Actor: tech
Evault-Mission: M-4
Evault-Refused: $1
Evault-Refused-Between: $(date +%s) $(date +%s)
$2" >"$T/c" && G "$T/v" update-ref refs/heads/main "$(cat "$T/c")"
}
refused_as_tech 2 "Evault-Refused-Type: image/jpeg 2"
expect 0 "control: a content.refused made by hand verifies" "$EVAULT_BIN" -R "$T/v" audit verify
refused_as_tech 1 "Evault-Refused-Type: image/jpeg 1000000"
expect 1 "a content.refused whose types claim more files than it refused is caught" "$EVAULT_BIN" -R "$T/v" audit verify
grep -q 'its types count 1000000 files, Evault-Refused 1' "$T/err" && ok "... naming the rule" || ko "err: $(cat "$T/err")"
expect_error 1 "... and gives no report" as bob -R "$T/v" report indicators --year "$YEAR"
refused_as_tech 01 "Evault-Refused-Type: image/jpeg 1"
expect 1 "a count with a leading zero is caught" "$EVAULT_BIN" -R "$T/v" audit verify

# ---- usage ----
expect_error 2 "no --year" as bob report indicators
expect_error 2 "--year 1999" as bob report indicators --year 1999
expect_error 2 "--year abc" as bob report indicators --year abc
expect_error 2 "--html with --json" as bob report indicators --year "$YEAR" --html --json
expect_error 2 "an unknown subcommand" as bob report nothing
expect 0 "another year: all zero" as bob report indicators --year 2001 --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert not any(d["indicators"].values())' "$T/out" &&
	ok "... nothing counted in 2001" || ko "2001: $(cat "$T/out")"
expect 0 "audit verify after all this" "$EVAULT_BIN" audit verify

# ---- a refusal counts in the year of the day the mission was refused ----
# recorded on 10 January for a mission refused on 28 December (libfaketime,
# as in t0012: under the sanitizers the release build runs these commands)
FAKETIME_LIB=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -1)
[ -n "$FAKETIME_LIB" ] || { echo "libfaketime not found (scripts/deps.sh installs faketime)"; exit 2; }
later() { # WHEN WHO ARGS...
	local when=$1 who=$2 bin=$EVAULT_BIN
	shift 2
	[ -n "${EVAULT_E2E_SANITIZED:-}" ] && [ -x "${EVAULT_E2E_RELEASE_BIN:-}" ] && bin=$EVAULT_E2E_RELEASE_BIN
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" FAKETIME_DONT_FAKE_MONOTONIC=1 \
		LD_PRELOAD="$FAKETIME_LIB" FAKETIME="@$(date -u -d "$when" '+%Y-%m-%d %H:%M:%S')" \
		"$bin" --identity "$T/$who.id" --passphrase-file "$T/$who.pass" "$@"
}
expect 0 "a refusal recorded on $NEXT-01-10, the mission refused on $YEAR-12-28" \
	later "$NEXT-01-10 09:00" alice mission refuse --client "Delta SARL" --reason private-filming --date "$YEAR-12-28"
expect_error 2 "... one refused on $YEAR-12-01 is too old to record then (more than 31 days)" \
	later "$NEXT-01-10 09:01" alice mission refuse --client "Delta SARL" --reason other --date "$YEAR-12-01"
expect 0 "$YEAR's report, asked in $NEXT" later "$NEXT-01-10 10:00" bob report indicators --year "$YEAR" --json
python3 -c 'import json,sys; i=json.load(open(sys.argv[1]))["indicators"]; assert i["missions_refused"] == 4 and i["refused_private_filming"] == 1' "$T/out" &&
	ok "... counts it" || ko "$YEAR: $(cat "$T/out")"
expect 0 "$NEXT's report" later "$NEXT-01-10 10:00" bob report indicators --year "$NEXT" --json
python3 -c 'import json,sys; i=json.load(open(sys.argv[1]))["indicators"]; assert i["missions_refused"] == 0' "$T/out" &&
	ok "... does not" || ko "$NEXT: $(cat "$T/out")"
finish
