#!/usr/bin/env bash
# Benchmark (not a test): one large file streamed through the mount, to
# show that memory stays bounded whatever the file size. Writes SIZE GiB
# (default 10) of incompressible data into a mounted vault, reads it back
# with a cold cache, compares SHA-256, and prints MB/s and the mount
# process's peak memory (VmHWM). Needs SIZE GiB free for the objects.
#
# usage: tests/bench/fuse_stream.sh [SIZE_GIB]
set -eu # no pipefail: the generator stops on SIGPIPE by design
cd "$(dirname "$0")/../.."
gib=${1:-10}
[ -x build/evault ] || scripts/build.sh build >/dev/null
ev=$PWD/build/evault
w=$(mktemp -d "${TMPDIR:-/var/tmp}/evault-bench-stream.XXXXXX")
trap 'mountpoint -q "$w/m" && fusermount3 -u -z "$w/m"; rm -rf "$w"' EXIT
echo "bench passphrase" >"$w/pass"
export EVAULT_REPO=$w/vault EVAULT_IDENTITY=$w/id EVAULT_PASSPHRASE_FILE=$w/pass
"$ev" init --admin admin >/dev/null 2>&1
"$ev" mission create S-1 >/dev/null
mkdir "$w/m"
"$ev" mount "$w/m"
pid=$(sed -n 's/^pid *//p' "$w/m/.evault/status")
# a fast incompressible stream, the same each time it is made
stream() { openssl enc -aes-128-ctr -pass pass:evault -nosalt -pbkdf2 </dev/zero 2>/dev/null | head -c $((gib << 30)); }
s=$(date +%s.%N)
# 1 MiB writes, as cp or a camera import makes them (tee writes 8 KiB at a time)
stream | tee >(sha256sum >"$w/src.sha") | dd of="$w/m/S-1/work/big.bin" bs=1M iflag=fullblock status=none
sleep 0.5 # sha256sum's last line
[ "$(stat -c %s "$w/m/S-1/work/big.bin")" -eq $((gib << 30)) ] || { echo "short write"; exit 1; }
e=$(date +%s.%N)
awk -v s="$s" -v e="$e" -v g="$gib" 'BEGIN { printf "write %d GiB: %.1f s, %.0f MB/s (source generation included)\n", g, e - s, g * 1073.741824 / (e - s) }'
sync
echo 3 >/proc/sys/vm/drop_caches
s=$(date +%s.%N)
sha256sum <"$w/m/S-1/work/big.bin" >"$w/back.sha"
e=$(date +%s.%N)
awk -v s="$s" -v e="$e" -v g="$gib" 'BEGIN { printf "read %d GiB, cold cache: %.1f s, %.0f MB/s (sha256sum included)\n", g, e - s, g * 1073.741824 / (e - s) }'
cmp -s "$w/src.sha" "$w/back.sha" && echo "SHA-256 identical" || { echo "SHA-256 DIFFERS"; exit 1; }
awk '/VmHWM/ { printf "mount peak RSS: %.1f MiB\n", $2 / 1024 }' "/proc/$pid/status"
"$ev" umount "$w/m"
