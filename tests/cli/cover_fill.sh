#!/usr/bin/env bash
# untorn cover --fill, from a one-case corpus: every direction it fills is
# then covered (what stays uncovered is exactly what it did not find), the
# generated cases replay with the expectations written into them, and the
# same seed writes the same files byte for byte.
# usage: bash tests/cli/cover_fill.sh build/checker/untorn
set -u
U=$1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SEED_CASE=$ROOT/corpus/fstests/v6.18-hole-1block-hw.json
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
check() { if [ "$2" -eq 0 ]; then echo "ok $1"; else echo "FAIL $1"; fail=1; fi; }

out=$("$U" cover --fill --variant v6.18 --count 20000 --out "$T/a" "$SEED_CASE")
check "cover --fill exits 0" $?
filled=$(grep -c '^FILLED ' <<<"$out")
missing=$(grep -c '^NOT FOUND ' <<<"$out")
[ "$filled" -gt 0 ] && [ "$(tail -1 <<<"$out")" = "$filled filled, $missing not found" ]
check "$filled filled, $missing not found" $?
[ "$(find "$T/a" -name '*.json' | wc -l)" -eq "$filled" ]
check "one case per filled direction" $?
"$U" replay "$T/a" >"$T/replay.txt"
check "the generated cases replay ($(tail -1 "$T/replay.txt"))" $?
after=$("$U" cover --variant v6.18 "$SEED_CASE" "$T/a" | grep '^uncovered directions:')
[ "$after" = "uncovered directions: $missing" ]
check "afterwards only the not-found directions are uncovered ($after)" $?
"$U" cover --fill --variant v6.18 --count 20000 --out "$T/b" "$SEED_CASE" >/dev/null && diff -r "$T/a" "$T/b" >/dev/null
check "the same seed writes the same cases" $?
exit $fail
