#!/usr/bin/env bash
# Benchmark (not a test): mission close and retention.
#  - close of a mission whose work class holds 10,000 objects (a 625 MiB
#    incompressible file in 64 KiB chunks), with 20 dossier files and 5
#    marked codes entries; RUNS closes, each of its own mission.
#  - retention over 1,000 closed missions (made by evault-gen-missions):
#    a dry run, the real run 11 years later (libfaketime) that expires all
#    1,000 dossiers, and a second run with nothing left to do.
# Targets: close under 5 s, retention under 30 s, on the 2-core machine.
#
# usage: tests/bench/close_retention.sh [RUNS] [MISSIONS]   (defaults 3, 1000)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
missions=${2:-1000}
[ -x build/evault-gen-missions ] || scripts/build.sh build >/dev/null
ev=$PWD/build/evault
dir=$(mktemp -d "${TMPDIR:-/tmp}/evault-bench-close.XXXXXX")
trap 'rm -rf "$dir"' EXIT
echo "bench passphrase" >"$dir/pass"
export EVAULT_REPO=$dir/vault EVAULT_IDENTITY=$dir/id EVAULT_PASSPHRASE_FILE=$dir/pass
"$ev" init --admin bench --chunk-size 65536 >/dev/null 2>&1
head -c $((10000 * 65536)) /dev/urandom >"$dir/work.bin"
for i in $(seq 20); do head -c 100000 /dev/urandom >"$dir/d$i.jpg"; done
for i in $(seq 5); do echo "code $i" >"$dir/c$i.txt"; done
secs() { /usr/bin/time -f '%e %M' -o "$dir/t" "$@" >/dev/null; cat "$dir/t"; }
for r in $(seq "$runs"); do
	m=M-BENCH-$r
	"$ev" mission create "$m" >/dev/null
	"$ev" put "$dir"/d*.jpg "$m/dossier/" >/dev/null
	"$ev" put "$dir/work.bin" "$m/work/" >/dev/null
	"$ev" put "$dir"/c*.txt "$m/codes/" >/dev/null
	for i in $(seq 5); do "$ev" codes mark "$m/codes/c$i.txt" --rotated >/dev/null; done
	objs=$(find "$dir/vault/objects" -type f | wc -l)
	read -r s kib < <(secs "$ev" mission close "$m")
	printf 'close %s: %s s (peak %d MiB), objects in the store before: %d, after: %d\n' "$m" "$s" \
		$((kib / 1024)) "$objs" "$(find "$dir/vault/objects" -type f | wc -l)"
done
rm -rf "$dir/vault" "$dir/work.bin"

"$ev" init --admin bench >/dev/null 2>&1
start=$(date +%s)
build/evault-gen-missions "$dir/vault" "$dir/id" "$dir/pass" "$missions" --close
echo "fixture: $missions closed missions in $(($(date +%s) - start)) s"
export FAKETIME_DONT_FAKE_MONOTONIC=1
later=(faketime "$(date -u -d '+11 years' '+%Y-%m-%d %H:%M:%S')")
read -r s kib < <(secs "$ev" retention run --dry-run --now "$(date -u -d '+11 years' +%F)")
echo "retention dry run over $missions closed missions: $s s (peak $((kib / 1024)) MiB)"
read -r s kib < <(secs "${later[@]}" "$ev" retention run)
echo "retention expiring $missions dossiers: $s s (peak $((kib / 1024)) MiB)"
read -r s kib < <(secs "${later[@]}" "$ev" retention run)
echo "retention again, nothing to do: $s s (peak $((kib / 1024)) MiB)"
read -r s kib < <(secs "$ev" audit verify --objects)
echo "audit verify afterwards: $s s"
