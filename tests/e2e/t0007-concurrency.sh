#!/usr/bin/env bash
# Several evault processes writing one repository at once: every change
# lands, the history stays linear and contiguous.
. "$(dirname "$0")/lib.sh"
standard_vault
pids=()
for i in $(seq 1 6); do
	who=bob; [ $((i % 2)) -eq 0 ] && who=alice
	head -c $((i * 50000)) /dev/urandom >"$T/f$i"
	as "$who" put "$T/f$i" "M-1/work/f$i" >"$T/o$i" 2>"$T/e$i" &
	pids+=($!)
done
as alice mission create M-2 --member bob >/dev/null 2>"$T/ec" &
pids+=($!)
fail=0
for p in "${pids[@]}"; do wait "$p" || fail=$((fail + 1)); done
check "all seven concurrent commands succeeded" test "$fail" -eq 0
for i in $(seq 1 6); do
	as bob get "M-1/work/f$i" "$T/g$i" 2>/dev/null
	check "file $i is there and right" cmp -s "$T/f$i" "$T/g$i"
done
expect 0 "log" as alice log
seqs=$(awk '{print $1}' "$T/out" | tr '\n' ' ')
n=$(wc -l <"$T/out")
expect_seqs=$(seq $((n - 1)) -1 0 | tr '\n' ' ')
check "sequence numbers are contiguous ($n events)" test "$seqs" = "$expect_seqs"
check "history is linear" test "$(git -C "$T/vault/audit.git" rev-list --min-parents=2 --count main)" -eq 0
check "every commit verifies with git" git_verify_all "$T/vault"
finish
