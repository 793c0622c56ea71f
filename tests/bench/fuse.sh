#!/usr/bin/env bash
# Benchmark (not a test): the same workloads on an evault mount, a gocryptfs
# mount and a plain directory, side by side in one run. Targets are for the
# ratio evault/gocryptfs (the plain directory is there for reference):
#
#   workload                                                    target
#   sequential write of 4 x 256 MiB incompressible files, sync  >= 1.5  MB/s
#   sequential read of them, cold cache                         >= 1.5  MB/s
#   500 photos of 4 MiB: cp -r + sync / read, cold cache        >= 1.5 / >= 1.5  files/s
#   5,000 files of 20 KiB: cp -r + sync                         >= 1.0  files/s
#   2,000 files of 200 KiB: cp -r + sync / read, cold cache     >= 1.0 / >= 1.0  files/s
#   rm -r of 2,000 of the 20 KiB files (20 of their 50 folders), sync  >= 1.0  files/s
#   ls -lR of the 5,000 files of 20 KiB                         >= 1.0  entries/s
#   peak memory (VmHWM) of the evault mount process             < 100 MiB
#
# Every step starts from a cold cache (sync; echo 3 > /proc/sys/vm/drop_caches:
# run as root), except ls -lR, which starts 1.1 s after the last write (past
# the mounts' attribute caches, so that it asks the file system). Each write
# ends with sync, so that every contender has its data on disk (evault commits
# at close anyway). After each read, and after ls -lR for the 20 KiB files,
# every file is checked outside the timing: its SHA-256, read back from the
# contender (from what the timed read left in the page cache, where the file
# system keeps it), must be the source's, taken when the sources were made; a
# wrong or missing byte stops the benchmark (exit 1).
#
# RUNS=n repeats all workloads n times; within a run each workload is
# measured on the three contenders one after the other, in the order plain,
# gocryptfs, evault on odd runs and the reverse on even ones (each run in
# fresh folders, the previous run's files removed untimed). The table then
# gives the median of the runs, each run's ratio and their range: on a
# shared 2-core machine, figures vary from run to run.
#
# usage: tests/bench/fuse.sh [SCALE]   (or SCALE=... in the environment;
#          1 = the sizes above, 0.1 for a quick look; 4 big files always)
#        RUNS=n (default 1) to repeat the workloads, alternating the order
#        EVAULT_BIN=path/to/evault to measure another build (default build/evault)
set -eEuo pipefail
shopt -s inherit_errexit
trap 'echo "FAIL: line $LINENO: $BASH_COMMAND" >&2' ERR
export LC_ALL=C
cd "$(dirname "$0")/../.."
scale=${1:-${SCALE:-1}}
runs=${RUNS:-1}
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "RUNS must be a positive integer" >&2; exit 2; }
awk -v s="$scale" 'BEGIN { exit !(s + 0 > 0) }' || { echo "SCALE must be a positive number" >&2; exit 2; }
[ -w /proc/sys/vm/drop_caches ] || { echo "run as root: the cold-cache steps write /proc/sys/vm/drop_caches" >&2; exit 2; }
command -v gocryptfs >/dev/null || { echo "installing gocryptfs"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gocryptfs >/dev/null; }
ev=${EVAULT_BIN:-$PWD/build/evault}
[ -x "$ev" ] || { scripts/build.sh build >/dev/null; ev=$PWD/build/evault; }
w=$(mktemp -d "${TMPDIR:-/var/tmp}/evault-bench-fuse.XXXXXX")
cleanup() {
	for m in "$w/mnt-evault" "$w/mnt-gocryptfs"; do if mountpoint -q "$m"; then fusermount3 -u -z "$m"; fi; done
	rm -rf "$w"
}
trap cleanup EXIT
n() { awk -v a="$1" -v s="$scale" 'BEGIN { v = int(a * s); print v < 1 ? 1 : v }'; }
nbig=4 big_mib=$(n 256) nphoto=$(n 500) nsmall=$(n 5000) nmid=$(n 2000) nrm=$(n 2000)

echo "preparing sources in $w/src (random data; photos carry a JPEG signature, 200 KiB files a PDF one)"
mkdir -p "$w/src/big" "$w/src/photos" "$w/src/small" "$w/src/mid" "$w/sums"
for i in $(seq 1 $nbig); do head -c $((big_mib << 20)) /dev/urandom >"$w/src/big/f$i.bin"; done
python3 - "$w/src" "$nphoto" "$nsmall" "$nmid" <<'PY'
import os, sys
root, nphoto, nsmall, nmid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
head = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
for i in range(nphoto):
    with open(os.path.join(root, "photos", "IMG_%04d.JPG" % i), "wb") as f:
        f.write(head + os.urandom(4 * 1048576 - len(head)))
line = b"Compte rendu: armoire B verifiee, detecteurs testes, RAS.\n"
for i in range(nsmall):
    d = os.path.join(root, "small", "d%02d" % (i % 50))
    os.makedirs(d, exist_ok=True)
    body = (line * (20480 // len(line) + 1))[:20480 - 16] + os.urandom(8).hex().encode()
    with open(os.path.join(d, "note-%05d.txt" % i), "wb") as f:
        f.write(body)
pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
for i in range(nmid):
    d = os.path.join(root, "mid", "m%02d" % (i % 20))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "rapport-%05d.pdf" % i), "wb") as f:
        f.write(pdf + os.urandom(200 * 1024 - len(pdf)))
PY
# the sources' SHA-256, one list per workload, paths relative to src/
for k in big photos small mid; do
	(cd "$w/src" && find "$k" -type f -print0 | sort -z | xargs -0 sha256sum) >"$w/sums/$k"
done
# rm: the first folders of the 20 KiB files, until they hold at least nrm files
rm_dirs=() rm_count=0
for d in "$w"/src/small/d*; do
	((rm_count < nrm)) || break
	rm_dirs+=("${d##*/}")
	rm_count=$((rm_count + $(find "$d" -type f | wc -l)))
done

# the three contenders
mkdir -p "$w/plain" "$w/gc-cipher" "$w/mnt-gocryptfs" "$w/mnt-evault"
echo "bench passphrase" >"$w/pass"
gocryptfs -q -init -passfile "$w/pass" "$w/gc-cipher" >/dev/null 2>&1
gocryptfs -q -passfile "$w/pass" "$w/gc-cipher" "$w/mnt-gocryptfs" >/dev/null 2>&1
mkdir -p "$w/mnt-gocryptfs/x"
export EVAULT_REPO=$w/vault EVAULT_IDENTITY=$w/id EVAULT_PASSPHRASE_FILE=$w/pass
"$ev" init --admin admin >/dev/null 2>&1
"$ev" mission create B-1 >/dev/null
"$ev" mission authorize-photos B-1 --by "bench" --ref "bench" --scope "bench" >/dev/null
"$ev" mount "$w/mnt-evault"
epid=$(sed -n 's/^pid *//p' "$w/mnt-evault/.evault/status")
contenders=(plain gocryptfs evault)
# where each contender's files go (photos: in evault's dossier, the rest in work)
declare -A top=([plain]="$w/plain" [gocryptfs]="$w/mnt-gocryptfs/x" [evault]="$w/mnt-evault/B-1/work")
declare -A ptop=([plain]="$w/plain" [gocryptfs]="$w/mnt-gocryptfs/x" [evault]="$w/mnt-evault/B-1/dossier")
b() { echo "${top[$1]}/r$r"; }
pb() { echo "${ptop[$1]}/r$r"; }

# sync; for evault also every closed file recorded (sync(2) does not reach a
# FUSE file system's process; an fsync of a directory in the mount records
# its queue: docs/mount.md)
durable() {
	sync
	[ "$1" != evault ] || sync "$w/mnt-evault/B-1"
}
# the workloads, on contender $1 (run $r)
w_big_write() { local f; for f in "$w"/src/big/*; do cp "$f" "$(b "$1")/big/"; done; durable "$1"; }
w_big_read() { cat "$(b "$1")"/big/* >/dev/null; }
w_photo_write() { cp -r "$w/src/photos" "$(pb "$1")/"; durable "$1"; }
w_photo_read() { cat "$(pb "$1")"/photos/* >/dev/null; }
w_small_write() { cp -r "$w/src/small" "$(b "$1")/"; durable "$1"; }
w_ls() { ls -lR "$(b "$1")/small" >/dev/null; }
w_rm() { local d; d=$(b "$1")/small; rm -r "${rm_dirs[@]/#/$d/}"; durable "$1"; }
w_mid_write() { cp -r "$w/src/mid" "$(b "$1")/"; durable "$1"; }
w_mid_read() { cat "$(b "$1")"/mid/*/* >/dev/null; }
# before a step (untimed)
cold() { sync; echo 3 >/proc/sys/vm/drop_caches; }
settle() { sleep 1.1; }

# t CMD...: runs CMD, its wall time in seconds in $el (a failure stops the benchmark: set -e)
t() {
	local s=$EPOCHREALTIME e
	"$@"
	e=$EPOCHREALTIME
	el=$(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.6f", e - s }')
}
declare -A V # V[contender,workload,run]: MB/s, files/s or entries/s
# measure WL UNIT AMOUNT FUNC PREP: PREP then FUNC on each contender in this run's order;
# AMOUNT is MiB for MB/s, else a count
measure() {
	local wl=$1 unit=$2 amount=$3 fn=$4 prep=$5 c line
	line=$(printf '  %-8s' "$wl")
	for c in "${order[@]}"; do
		$prep
		t "$fn" "$c"
		V[$c,$wl,$r]=$(awk -v a="$amount" -v s="$el" -v u="$unit" \
			'BEGIN { v = u == "MB/s" ? a * 1.048576 / s : a / s; printf(v >= 100 ? "%.0f" : "%.1f", v) }')
		line+=$(printf ' %s %s' "$c" "${V[$c,$wl,$r]}")
	done
	echo "$line $unit"
}
# check KIND DIRFN: every file of KIND under each contender's DIRFN has its source's SHA-256
check() {
	local k=$1 dirfn=$2 c
	for c in "${order[@]}"; do
		if ! (cd "$($dirfn "$c")" && sha256sum --quiet --strict -c "$w/sums/$k") >"$w/check.out" 2>&1; then
			echo "FAIL: $c (run $r): the $k files read back differ from the sources:" >&2
			head -n 20 "$w/check.out" >&2
			exit 1
		fi
	done
}

for r in $(seq 1 "$runs"); do
	if ((r % 2)); then order=(plain gocryptfs evault); else order=(evault gocryptfs plain); fi
	echo "run $r of $runs: ${order[*]}"
	for c in "${contenders[@]}"; do mkdir -p "$(b "$c")/big" "$(pb "$c")"; done
	measure write MB/s $((nbig * big_mib)) w_big_write cold
	measure read MB/s $((nbig * big_mib)) w_big_read cold
	check big b
	measure pwrite files/s "$nphoto" w_photo_write cold
	measure pread files/s "$nphoto" w_photo_read cold
	check photos pb
	measure small files/s "$nsmall" w_small_write cold
	measure ls entries/s "$nsmall" w_ls settle
	check small b
	measure rm files/s "$rm_count" w_rm cold
	measure mwrite files/s "$nmid" w_mid_write cold
	measure mread files/s "$nmid" w_mid_read cold
	check mid b
	if ((r < runs)); then # room for the next run (untimed)
		for c in "${contenders[@]}"; do rm -rf "$(b "$c")" "$(pb "$c")"; done
	fi
done
hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$epid/status")

# the table: medians of the runs; ratio = median of the runs' evault/gocryptfs ratios
med() { tr ' ' '\n' | sort -g | awk '{ v[NR] = $1 } END { printf "%s", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
fmt() { awk -v v="$1" 'BEGIN { printf(v >= 100 ? "%.0f" : "%.1f", v) }'; }
rows=0 met_rows=0 mw=5
((runs == 1)) || mw=8
echo
printf '%-50s %9s %9s %9s %6s %7s %*s' "workload (scale $scale, $runs run$( ((runs > 1)) && echo s))" plain gocryptfs evault ev/gc target "$mw" met
((runs > 1)) && printf '   %s' "ev/gc per run [range]"
echo
row() { # LABEL WL TARGET
	local label=$1 wl=$2 target=$3 c i rat=() vals m ratio ok runs_ok=0 line
	line=$(printf '%-50s' "$label")
	for c in "${contenders[@]}"; do
		vals=""
		for i in $(seq 1 "$runs"); do vals+="${vals:+ }${V[$c,$wl,$i]}"; done
		m=$(med <<<"$vals")
		line+=$(printf ' %9s' "$(fmt "$m")")
	done
	for i in $(seq 1 "$runs"); do
		rat+=("$(awk -v a="${V[evault,$wl,$i]}" -v b="${V[gocryptfs,$wl,$i]}" 'BEGIN { printf "%.2f", a / b }')")
		awk -v x="${rat[-1]}" -v t="$target" 'BEGIN { exit !(x >= t) }' && runs_ok=$((runs_ok + 1))
	done
	ratio=$(med <<<"${rat[*]}")
	ratio=$(awk -v x="$ratio" 'BEGIN { printf "%.2f", x }')
	ok=no
	awk -v x="$ratio" -v t="$target" 'BEGIN { exit !(x >= t) }' && ok=yes && met_rows=$((met_rows + 1))
	rows=$((rows + 1))
	((runs > 1)) && ok+=" $runs_ok/$runs"
	line+=$(printf ' %6s %7s %*s' "$ratio" ">= $target" "$mw" "$ok")
	if ((runs > 1)); then
		line+=$(printf '   %s [%s-%s]' "${rat[*]}" "$(tr ' ' '\n' <<<"${rat[*]}" | sort -g | head -n1)" \
			"$(tr ' ' '\n' <<<"${rat[*]}" | sort -g | tail -n1)")
	fi
	echo "$line"
}
row "seq write ${nbig} x ${big_mib} MiB, sync (MB/s)" write 1.5
row "seq read of them, cold (MB/s)" read 1.5
row "${nphoto} photos of 4 MiB: cp -r, sync (files/s)" pwrite 1.5
row "${nphoto} photos of 4 MiB: read, cold (files/s)" pread 1.5
row "${nsmall} files of 20 KiB: cp -r, sync (files/s)" small 1.0
row "${nmid} files of 200 KiB: cp -r, sync (files/s)" mwrite 1.0
row "${nmid} files of 200 KiB: read, cold (files/s)" mread 1.0
row "rm -r of ${rm_count} of the 20 KiB files, sync (files/s)" rm 1.0
row "ls -lR of ${nsmall} files (entries/s)" ls 1.0
rss=$(awk -v k="$hwm" 'BEGIN { printf "%.1f", k / 1024 }')
ok=no
awk -v x="$rss" 'BEGIN { exit !(x < 100) }' && ok=yes && met_rows=$((met_rows + 1))
rows=$((rows + 1))
printf '%-50s %9s %9s %9s %6s %7s %*s\n' "evault mount peak RSS (MiB, all runs)" - - "$rss" - "< 100" "$mw" "$ok"
echo "targets met: $met_rows of $rows (ratios: median of the runs); every file read back matched its source"
"$ev" umount "$w/mnt-evault"
