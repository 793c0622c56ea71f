#!/usr/bin/env bash
# Benchmark (not a test): the mount's cost per recorded file. N files of
# 20 KiB are copied one by one into a mount (each close records one signed
# event: seal, key refresh, commit), then the mount is unmounted; prints
# the seconds for all. With a second binary, the two are alternated RUNS
# times (e.g. before and after a change).
#
# usage: tests/bench/mount_commits.sh [N] [RUNS] [OTHER_EVAULT]   (defaults 1000, 2)
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-1000}
runs=${2:-2}
other=${3:-}
[ -x build/evault ] || scripts/build.sh build >/dev/null
one() { # BIN: prints the seconds
	local bin=$1 t
	t=$(mktemp -d "${TMPDIR:-/tmp}/evault-bench-mount.XXXXXX")
	(
		export HOME=$t/home
		mkdir -p "$HOME" "$t/m"
		printf 'passphrase a\n' >"$t/a.pass"
		printf 'passphrase b\n' >"$t/b.pass"
		a=(--identity "$t/a.id" --passphrase-file "$t/a.pass" -R "$t/v")
		b=(--identity "$t/b.id" --passphrase-file "$t/b.pass" -R "$t/v")
		"$bin" "${a[@]}" init --admin alice >/dev/null 2>&1
		pub=$("$bin" --identity "$t/b.id" --passphrase-file "$t/b.pass" identity new --name bob 2>/dev/null)
		"$bin" "${a[@]}" user add bob --role technician --pubkey "$pub" >/dev/null
		"$bin" "${a[@]}" mission create M-1 --member bob >/dev/null
		"$bin" "${b[@]}" mount "$t/m" >/dev/null 2>&1
		head -c 20480 /dev/urandom >"$t/f"
		s=$(date +%s.%N)
		for i in $(seq 1 "$n"); do cp "$t/f" "$t/m/M-1/work/f$i"; done
		"$bin" umount "$t/m" >/dev/null 2>&1
		e=$(date +%s.%N)
		echo "$e - $s" | bc
	)
	rm -rf "$t"
}
for r in $(seq 1 "$runs"); do
	printf 'run %d: %s: %s s\n' "$r" build/evault "$(one "$PWD/build/evault")"
	[ -z "$other" ] || printf 'run %d: %s: %s s\n' "$r" "$other" "$(one "$other")"
done
