#!/usr/bin/env bash
# Random layouts before the exhaustive exploration: a known-buggy variant is
# refuted at a small bound, its witness minimized, validated and written as
# a case that replays, named as the known corpus finding it is; the same
# seed gives the same report and the same case bytes for any --jobs; a diff
# finds a difference the same way and writes the pair.
# Usage: prove_random.sh UNTORN CORPUS_FINDINGS
set -u
U=$1
K=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
b=(--geometry 3 --data-extents 0 --cow-extents 1 --refcount 0 --seed 3 --random 20000 --known "$K")
for j in 1 2; do
	"$U" prove --variant v6.16 "${b[@]}" --alloc 0 --jobs $j --json --out "$dir/out" >"$dir/j$j.json" 2>"$dir/j$j.err"
	rc=$?
	[ "$rc" -eq 10 ] || { echo "FAIL: prove v6.16 --jobs $j: exit $rc, expected 10"; cat "$dir/j$j.err"; fail=1; }
	mv "$dir/out" "$dir/out$j"
done
cmp -s "$dir/j1.json" "$dir/j2.json" || { echo "FAIL: --jobs 1 and 2 report differently"; diff "$dir/j1.json" "$dir/j2.json"; fail=1; }
diff -r "$dir/out1" "$dir/out2" >/dev/null || { echo "FAIL: --jobs 1 and 2 write different cases"; fail=1; }
jq -e '.proofs[0].random.found_at >= 0 and .proofs[0].divergences == []' "$dir/j1.json" >/dev/null ||
	{ echo "FAIL: no random refutation reported"; cat "$dir/j1.json"; fail=1; }
jq -e '[.proofs[0].invariants[] | select(.status == "counterexample")] | length > 0 and all(.minimizer_oracle_calls > 0 and (.known | test("v6.16-cow-delalloc-handed-to-dio-eio")))' "$dir/j1.json" >/dev/null ||
	{ echo "FAIL: the witnesses are not minimized or not named as the known delalloc finding"; cat "$dir/j1.json"; fail=1; }
"$U" replay "$dir/out1" >"$dir/replay.txt" 2>&1 || { echo "FAIL: the written cases do not replay"; cat "$dir/replay.txt"; fail=1; }
# the minimized witness: one delalloc CoW extent, a one-block write at 0
jq -e '.cow_fork == [{"startoff":0,"blockcount":1,"state":"delalloc"}] and .write.offset == 0' \
	"$dir/out1/prove-v6.16-no_spurious_failure.json" >/dev/null ||
	{ echo "FAIL: the witness is not the minimal delalloc case"; cat "$dir/out1/prove-v6.16-no_spurious_failure.json"; fail=1; }

# With no allocator answer v6.18 can only fail with ENOSPC where v6.16 fails
# with EIO: a difference the allocator script alone explains, reported as
# such.  With one answer, a difference in what the kernel does is preferred.
"$U" diff v6.16 v6.18 "${b[@]}" --alloc 0 --jobs 2 --json --out "$dir/diff0" >"$dir/diff0.json" 2>"$dir/diff0.err"
jq -e '.status == "different" and .random.allocator_only == true' "$dir/diff0.json" >/dev/null ||
	{ echo "FAIL: at --alloc 0 the difference is not the allocator's"; cat "$dir/diff0.json"; fail=1; }
"$U" diff v6.16 v6.18 "${b[@]}" --alloc 1 --jobs 2 --json --out "$dir/diff" >"$dir/diff.json" 2>"$dir/diff.err"
rc=$?
[ "$rc" -eq 10 ] || { echo "FAIL: diff v6.16 v6.18: exit $rc, expected 10"; cat "$dir/diff.err"; fail=1; }
jq -e '.status == "different" and .random.allocator_only == false and (.what | test("ENOSPC") | not) and (.known | test("^v6.16-"))' "$dir/diff.json" >/dev/null ||
	{ echo "FAIL: the diff does not report a known v6.16 finding that v6.18 does not have"; cat "$dir/diff.json"; fail=1; }
"$U" replay "$dir/diff" >"$dir/replay2.txt" 2>&1 || { echo "FAIL: the diff's cases do not replay"; cat "$dir/replay2.txt"; fail=1; }
if [ "$fail" -eq 0 ]; then echo "passed"; fi
exit "$fail"
