#!/usr/bin/env bash
# How explored paths ended, in --json: per sweep and in total, the paths
# done (hw, sw), refused at admission and failed by errno add up to the
# paths explored; bounds with no allocator answer and no extent let no write
# succeed, and the report warns that the proof covers no successful write.
# Usage: prove_outcomes.sh UNTORN
set -u
U=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
"$U" prove --variant v6.18 --geometry 3 --data-extents 0 --cow-extents 0 --refcount 0 --alloc 0 --random 0 \
	--json --out "$dir/out" >"$dir/r.json" 2>"$dir/r.err"
rc=$?
[ "$rc" -eq 0 ] || { echo "FAIL: exit $rc, expected 0"; cat "$dir/r.err"; fail=1; }
sum='(.done.hw + .done.sw + .refused + ([.failed[]] | add // 0))'
jq -e ".proofs[0] | .stats.outcomes as \$o | (\$o | $sum) == .stats.paths" "$dir/r.json" >/dev/null ||
	{ echo "FAIL: the total outcomes do not add up to the paths"; cat "$dir/r.json"; fail=1; }
jq -e ".proofs[0].sweeps | length > 0 and all((.outcomes | $sum) == .paths)" "$dir/r.json" >/dev/null ||
	{ echo "FAIL: a sweep's outcomes do not add up to its paths"; cat "$dir/r.json"; fail=1; }
jq -e '.proofs[0] | .stats.outcomes.refused > 0 and .stats.outcomes.failed.ENOSPC > 0 and .stats.outcomes.done.hw + .stats.outcomes.done.sw == 0' "$dir/r.json" >/dev/null ||
	{ echo "FAIL: expected refusals and ENOSPC failures and no write done"; cat "$dir/r.json"; fail=1; }
jq -e '.proofs[0].warnings | length == 1 and (.[0] | test("no explored path ends with the write done"))' "$dir/r.json" >/dev/null ||
	{ echo "FAIL: no warning that no write succeeds"; cat "$dir/r.json"; fail=1; }
if [ "$fail" -eq 0 ]; then echo "passed"; fi
exit "$fail"
