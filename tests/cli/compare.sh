#!/usr/bin/env bash
# `untorn check --compare` and `untorn explain --pair A B` from the command line:
# exit 0 for a variant against itself, 10 for a what-if that decides
# differently, the case pairs replay and explain side by side, --json prints
# report.json, the same seed writes the same files, bad names exit 2.
# Usage: compare.sh UNTORN
set -u
U=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
no() { echo "FAIL: $*"; fail=1; }

"$U" check --compare rfc-v1 --variant rfc-v1 --count 2000 --out "$dir/self" >"$dir/self.txt"
rc=$?
[ "$rc" -eq 0 ] || no "rfc-v1 against itself: exit $rc, expected 0"
grep -q "layouts that differ: 0 of 2000" "$dir/self.txt" || no "rfc-v1 against itself: differences reported"

what=rfc-v1+v6.16-alloc-check
"$U" check --compare rfc-v1 --variant "$what" --count 3000 --out "$dir/a" >"$dir/a.txt"
rc=$?
[ "$rc" -eq 10 ] || no "rfc-v1 against $what: exit $rc, expected 10"
grep -q "decisions (xfs_direct_write_iomap_begin)" "$dir/a.txt" || no "the one-block guard's difference is not reported"
"$U" replay "$dir/a" >"$dir/replay.txt" || no "the pairs do not replay: $(tail -n 3 "$dir/replay.txt")"
base=$(ls "$dir"/a/compare-decisions-*-rfc-v1.json 2>/dev/null | head -n 1)
patched=$(ls "$dir"/a/compare-decisions-*-"$what".json 2>/dev/null | head -n 1)
if [ -z "$base" ] || [ -z "$patched" ]; then
	no "no decisions pair written: $(ls "$dir/a")"
else
	grep -q "untorn explain --pair $base $patched" "$dir/a.txt" || no "the summary does not give the explain command"
	"$U" explain --pair "$base" "$patched" >"$dir/explain.txt"
	rc=$?
	[ "$rc" -eq 0 ] || no "explain of the pair: exit $rc"
	grep -q '^+ .*if (need_alloc && end_fsb - offset_fsb > 1) -> taken' "$dir/explain.txt" ||
		no "explain does not mark the what-if's decision"
	grep -q '^- .*if (need_alloc && imap.br_blockcount > 1) -> not taken' "$dir/explain.txt" ||
		no "explain does not mark the base's decision"
	"$U" explain --pair "$base" "$patched" --svg "$dir/x.svg" >/dev/null 2>&1
	rc=$?
	[ "$rc" -eq 2 ] || no "explain of a pair with --svg: exit $rc, expected 2"
fi

# --json prints report.json; the same seed writes the same files
"$U" check --compare rfc-v1 --variant "$what" --count 3000 --jobs 2 --out "$dir/b" --json >"$dir/b.json"
rc=$?
[ "$rc" -eq 10 ] || no "--json run: exit $rc, expected 10"
cmp -s "$dir/b.json" "$dir/b/report.json" || no "--json does not print report.json"
diff -r "$dir/a" "$dir/b" >/dev/null || no "the same seed wrote different files"
ls -a "$dir/a" | grep -q '\.tmp\.' && no "a temporary file was left behind"

# bad names: exit 2, the name and the known variants in the message, nothing written
"$U" check --compare v6.99 --variant v6.18 --count 10 --out "$dir/bad" >/dev/null 2>"$dir/err"
rc=$?
[ "$rc" -eq 2 ] || no "bad --compare name: exit $rc, expected 2"
grep -q '"v6.99" is not a variant; expected one of rfc-v1, ' "$dir/err" || no "bad --compare name: message: $(cat "$dir/err")"
[ -e "$dir/bad" ] && no "bad --compare name: the output folder was created"
"$U" check --compare v6.18 --variant v6.99 --count 10 --out "$dir/bad" >/dev/null 2>&1
rc=$?
[ "$rc" -eq 2 ] || no "bad --variant name: exit $rc, expected 2"
"$U" check --compare v6.18 --count 10 --out "$dir/bad" >/dev/null 2>"$dir/err"
rc=$?
[ "$rc" -eq 2 ] || no "--compare without --variant: exit $rc, expected 2"

if [ "$fail" -eq 0 ]; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; fi
exit "$fail"
