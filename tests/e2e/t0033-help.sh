#!/usr/bin/env bash
# The command line's own documentation: `evault --help`, each command's and
# subcommand's page (`evault mission close --help`), the manual pages made
# from the same text, the bash completion, and `cmake --install`.
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$E2E_DIR/../.." && pwd)
BUILD=$(dirname "$EVAULT_BIN")
ev() { "$EVAULT_BIN" "$@"; }

# --- the overview
expect 0 "evault --help" ev --help
check "--help lists every command the binary dispatches" \
	bash -c "diff <('$EVAULT_BIN' help --complete '' | grep -v '^-') \
		<(sed -n 's/^  \([a-z]*\) .*/\1/p' '$T/out' | sed -n '1,/^help$/p')"
check "--help names EVAULT_THREADS and the other variables" \
	bash -c "grep -q EVAULT_THREADS '$T/out' && grep -q EVAULT_PASSPHRASE_FILE '$T/out'"
check "--help lists the exit codes" grep -q '^  12  refused by a charter rule' "$T/out"
expect 2 "evault alone: usage on stderr, exit 2" ev
check "  ... the usage went to stderr" bash -c "grep -q '^usage: evault' '$T/err' && [ ! -s '$T/out' ]"
expect_error 2 "help of an unknown command" ev help nosuch
expect_error 2 "help of an unknown subcommand" ev help mission nosuch

# --- every page, both ways
groups=$(ev help --complete '' | grep -v '^-')
pages=0 bad=""
for g in $groups; do
	subs=$(ev help --complete "$g" '' | grep -v '^[-@]')
	# a command without subcommands completes to options only
	[ -n "$subs" ] || subs=-
	for s in $subs; do
		[ "$s" = - ] && s=
		a=$(ev help "$g" $s) || bad+=" help:$g/$s"
		b=$(ev "$g" $s --help) || bad+=" --help:$g/$s"
		[ "$a" = "$b" ] || bad+=" differ:$g/$s"
		first=$(printf '%s\n' "$a" | head -1)
		[[ $first == "usage: evault $g${s:+ $s}"* ]] || bad+=" usage:$g/$s"
		[ -z "$s" ] || grep -q '^exit codes:' <<<"$a" || bad+=" exits:$g/$s"
		pages=$((pages + 1))
	done
done
check "every command's and subcommand's page ($pages), the same both ways${bad:+:$bad}" \
	test -z "$bad" -a "$pages" -gt 40
out=$(ev mission close --help)
check "mission close --help: its own options and exit codes, not the group's" \
	bash -c 'grep -q -- "--dry-run" <<<"$1" && grep -q "^  12 " <<<"$1" && ! grep -q "grant" <<<"$1"' _ "$out"
out=$(ev help user)
check "help user lists the roles" \
	bash -c 'grep -q "admin" <<<"$1" && grep -q "technician" <<<"$1" && grep -q "auditor" <<<"$1"' _ "$out"
out=$(ev identity new --help)
check "identity new --help lists the KDF levels" \
	bash -c 'grep -q interactive <<<"$1" && grep -q moderate <<<"$1" && grep -q "sensitive (1 GiB" <<<"$1"' _ "$out"
out=$(ev mission --help)
check "mission --help lists its subcommands" \
	bash -c 'grep -q "^  close " <<<"$1" && grep -q "^       evault mission grant MID USER" <<<"$1"' _ "$out"

# --- the manual pages: made from the same table, and rendered cleanly
expect 0 "scripts/man.sh writes the pages" bash "$SRC/scripts/man.sh" "$EVAULT_BIN" "$T/man"
n=$(ls "$T/man" | wc -l)
check "one page per command and evault(1) ($n)" test "$n" -eq $(($(wc -w <<<"$groups") + 1))
warn=""
for f in "$T/man"/*.1; do
	w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$f" 2>&1 >/dev/null)
	[ -z "$w" ] || warn+=" $(basename "$f"): $w"
done
check "every page renders without a warning${warn:+:$warn}" test -z "$warn"
# every subcommand's usage, as --help prints it, is in its manual page
miss=""
for g in $groups; do
	text=$(MANWIDTH=400 man -l "$T/man/evault-$g.1" 2>/dev/null | sed 's/^ *//; s/‐/-/g')
	subs=$(ev help --complete "$g" '' | grep -v '^[-@]')
	for s in ${subs:--}; do
		[ "$s" = - ] && s=
		# the usage paragraph, its wrapped lines joined
		syn=$(ev help "$g" $s | sed -n '1,/^$/p' | sed 's/^usage: //' | tr -s ' \n' ' ' | sed 's/ $//')
		grep -qxF -- "$syn" <<<"$text" || miss+=" [$syn]"
	done
done
if [ -d "$BUILD/man" ]; then
	check "the build's pages are what this binary prints" \
		diff -r <(SOURCE_DATE_EPOCH=0 bash "$SRC/scripts/man.sh" "$EVAULT_BIN" "$T/man0" && cat "$T/man0"/*.1 | grep -v '^\.TH') \
		<(cat "$BUILD/man"/*.1 | grep -v '^\.TH')
fi
text=$(MANWIDTH=100 man -l "$T/man/evault.1")
check "evault(1): environment and exit status" \
	bash -c 'grep -q EVAULT_THREADS <<<"$1" && grep -q "EXIT STATUS" <<<"$1" && grep -q "evault-mission(1)" <<<"$1"' _ "$text"
expect_error 2 "help --man of an unknown command" ev help --man nosuch

# --- bash completion, through the completion function itself
standard_vault
printf 'report\n' | as bob put - M-1/dossier/rapport.txt >/dev/null
printf 'notes\n' | as bob put - M-1/work/notes.txt >/dev/null
as alice mission create M-2 >/dev/null
complete_line() { # WORDS... (the last one being completed): prints COMPREPLY
	bash -c '
		. "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		_evault
		printf "%s\n" "${COMPREPLY[@]}" | sort' _ "$SRC/dist/bash-completion/evault" "$EVAULT_BIN" "$@"
}
ids=(--identity "$T/bob.id")
check "completes commands" bash -c '[ "$(cat)" = "mission" ]' < <(complete_line mis)
check "completes subcommands" \
	bash -c '[ "$(cat | tr "\n" " ")" = "certificate close create " ]' < <(complete_line mission c)
check "completes a subcommand's options" \
	bash -c '[ "$(cat)" = "--dry-run" ]' < <(complete_line mission close --dr)
check "completes --kdf's levels" \
	bash -c '[ "$(cat | tr "\n" " ")" = "interactive moderate sensitive " ]' < <(complete_line identity new --kdf '')
out=$(complete_line "${ids[@]}" mission show M)
check "completes mission ids: only the identity's (bob: M-1, not M-2)" test "$out" = "M-1"
out=$(complete_line --identity "$T/alice.id" mission show M)
check "  ... an admin's: all" test "$(echo $out)" = "M-1 M-2"
out=$(complete_line --identity "$T/alice.id" mission grant M-2 ca)
check "completes user names" test "$out" = "carol"
out=$(EVAULT_PASSPHRASE_FILE=$T/bob.pass complete_line "${ids[@]}" get M-1/dossier/)
check "completes paths inside a mission with a passphrase file" test "$out" = "M-1/dossier/rapport.txt"
out=$(complete_line "${ids[@]}" --passphrase-file "$T/bob.pass" rm M-1/work/n)
check "  ... with --passphrase-file on the line" test "$out" = "M-1/work/notes.txt"
# without a passphrase source nothing may ask on the terminal: script(1)
# gives the completion a terminal; it must finish with no path and no prompt
script -qec "bash -c '. $SRC/dist/bash-completion/evault; COMP_WORDS=($EVAULT_BIN --identity $T/bob.id get M-1/dossier/); COMP_CWORD=4; _evault; echo n=\${#COMPREPLY[@]}'" \
	"$T/typescript" </dev/null >"$T/out" 2>&1 &
pid=$!
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
if kill -0 "$pid" 2>/dev/null; then
	kill "$pid"
	ko "completion without a passphrase source hung (asking on the terminal?)"
else
	check "completion without a passphrase source: no prompt, no path" \
		bash -c "grep -q 'n=0' '$T/out' && ! grep -qi passphrase '$T/out'"
fi

# --- cmake --install: the files land where a Debian system looks for them
if [ -f "$BUILD/CMakeCache.txt" ]; then
	expect 0 "cmake --install into a staging root" \
		env DESTDIR="$T/root" cmake --install "$BUILD" --prefix /usr
	missing=""
	for f in usr/bin/evault usr/share/man/man1/evault.1 usr/share/man/man1/evault-mission.1 \
		usr/share/bash-completion/completions/evault usr/share/doc/evault/cli.md \
		usr/share/doc/evault/README.md; do
		[ -e "$T/root/$f" ] || missing+=" $f"
	done
	check "binary, manual pages, completion and docs installed${missing:+; missing:$missing}" test -z "$missing"
	check "no test or benchmark tool is installed" \
		bash -c "[ \$(ls '$T/root/usr/bin' | wc -l) -eq 1 ]"
	check "the installed evault runs" "$T/root/usr/bin/evault" --version
fi
finish
