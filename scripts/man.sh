#!/usr/bin/env bash
# Writes the manual pages, evault(1) and evault-COMMAND(1), into OUTDIR
# from the built binary's own help (cli/help.c): the pages and --help are
# one text. The date is SOURCE_DATE_EPOCH's, else the last commit's.
#   scripts/man.sh BUILD/evault OUTDIR
set -euo pipefail
bin=$1 out=$2
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git -C "$(dirname "$0")" log -1 --format=%ct 2>/dev/null || date +%s)
	export SOURCE_DATE_EPOCH
fi
mkdir -p "$out"
rm -f "$out"/evault*.1
"$bin" help --man >"$out/evault.1.tmp"
mv "$out/evault.1.tmp" "$out/evault.1"
"$bin" help --complete '' | grep -v '^-' | while read -r cmd; do
	"$bin" help --man "$cmd" >"$out/evault-$cmd.1.tmp"
	mv "$out/evault-$cmd.1.tmp" "$out/evault-$cmd.1"
done
