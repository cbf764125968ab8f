#!/usr/bin/env bash
# prove --dump-queries DIR: every query of the proof in DIR/VARIANT, named
# after its sweep and path, with queries.tsv, scopes.tsv (time per sweep)
# and summary.txt; the report on stdout is byte for byte the one without
# the option; a DIR that cannot be made is an error (exit 2), not an empty
# dump.
# Usage: dump_queries.sh UNTORN
set -u
U=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
args=(prove --variant v6.18 --geometry 3 --data-extents 0 --cow-extents 0 --refcount 0 --alloc 0
	--random 0 --json --out "$dir/out")
"$U" "${args[@]}" >"$dir/plain.json" 2>/dev/null
"$U" "${args[@]}" --dump-queries "$dir/q" >"$dir/dumped.json" 2>"$dir/err"
rc=$?
[ "$rc" -eq 0 ] || { echo "FAIL: exit $rc, expected 0"; cat "$dir/err"; fail=1; }
cmp -s "$dir/plain.json" "$dir/dumped.json" || { echo "FAIL: the report changed with --dump-queries"; fail=1; }
tsv=$dir/q/v6.18/queries.tsv
[ -f "$tsv" ] && [ -f "$dir/q/v6.18/summary.txt" ] || { echo "FAIL: no queries.tsv or summary.txt"; ls -R "$dir/q"; exit 1; }
queries=$(($(wc -l <"$tsv") - 1))
files=$(find "$dir/q/v6.18" -name '*.smt2' | wc -l)
[ "$queries" -gt 0 ] && [ "$queries" -eq "$files" ] || { echo "FAIL: $queries queries listed, $files files"; fail=1; }
sweeps=$(jq '.proofs[0].stats.sweeps' "$dir/plain.json")
pre=$(grep -c '^sweep/[0-9]*/[0-9]*/precondition	' "$tsv")
[ "$pre" -eq "$sweeps" ] || { echo "FAIL: $pre precondition queries for $sweeps sweeps"; fail=1; }
grep -q '^sweep/[0-9]*/[0-9]*/path/[0-9]*/judge/any	unsat	' "$tsv" || { echo "FAIL: no path judgement named"; fail=1; }
grep -q '^kind of query' "$dir/q/v6.18/summary.txt" || { echo "FAIL: summary.txt has no table"; fail=1; }
# the time per sweep: one row per sweep, described, holding every query
scopes=$dir/q/v6.18/scopes.tsv
rows=$(($(wc -l <"$scopes") - 1))
[ "$rows" -eq "$sweeps" ] || { echo "FAIL: $rows rows in scopes.tsv for $sweeps sweeps"; fail=1; }
in_scopes=$(awk -F'\t' 'NR > 1 { n += $2 } END { print n + 0 }' "$scopes")
[ "$in_scopes" -eq "$queries" ] || { echo "FAIL: scopes.tsv counts $in_scopes of $queries queries"; fail=1; }
[ "$(awk -F'\t' 'NR > 1 && $5 !~ /^write length /' "$scopes" | wc -l)" -eq 0 ] ||
	{ echo "FAIL: a sweep in scopes.tsv is not described"; fail=1; }
grep -q '^scopes that took longest' "$dir/q/v6.18/summary.txt" || { echo "FAIL: summary.txt has no time per sweep"; fail=1; }
touch "$dir/file"
"$U" "${args[@]}" --dump-queries "$dir/file/q" >/dev/null 2>"$dir/err2"
rc=$?
[ "$rc" -eq 2 ] && grep -q "cannot create" "$dir/err2" ||
	{ echo "FAIL: an unusable folder gave exit $rc"; cat "$dir/err2"; fail=1; }
if [ "$fail" -eq 0 ]; then echo "passed"; fi
exit "$fail"
