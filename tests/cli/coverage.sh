#!/usr/bin/env bash
# The corpus's decision coverage holds the line, and the docs show it:
#   - every kernel version (a variant that patches no other) covers at least
#     the directions corpus/coverage-floor.txt records for it;
#   - every direction a kernel version leaves uncovered is listed in
#     corpus/UNREACHABLE.md, and every direction listed there is uncovered;
#   - the table in docs/corpus.md (between the coverage markers) is exactly
#     what `untorn replay --markdown corpus` prints.
# Prints what fails; exits 1 if anything does.  Needs bash, coreutils, awk.
#
# usage: bash tests/cli/coverage.sh build/checker/untorn
set -u
if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	echo "usage: $0 PATH/TO/untorn" >&2
	exit 2
fi
U=$1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CORPUS=$ROOT/corpus
fail=0

text=$("$U" replay --coverage "$CORPUS")
rc=$?
if [ $rc -ne 0 ]; then
	echo "FAIL: untorn replay --coverage corpus exited $rc"
	exit 1
fi
# "  VARIANT: COVERED/DIRECTIONS" in the summary; what-ifs say "(patches BASE)"
versions=$(awk '/^coverage of /{s=1; next} /^every direction/{s=0} s && /^  [^ ]+: [0-9]+\/[0-9]+$/ {print $1, $2}' <<<"$text" | tr -d ':' | tr '/' ' ')
if [ -z "$versions" ]; then
	echo "FAIL: no kernel version in the coverage summary"
	exit 1
fi
while read -r variant covered directions; do
	floor=$(awk -v v="$variant" '$1 == v { print $2 }' "$CORPUS/coverage-floor.txt")
	if [ -z "$floor" ]; then
		echo "FAIL: $variant has no figure in corpus/coverage-floor.txt (it covers $covered of $directions)"
		fail=1
	elif [ "$covered" -lt "$floor" ]; then
		echo "FAIL: $variant covers $covered of $directions directions, below the recorded $floor"
		fail=1
	else
		echo "ok $variant: $covered of $directions directions (recorded $floor)"
	fi
done <<<"$versions"

# uncovered directions of the kernel versions <-> UNREACHABLE.md, by id
# (the uncovered line without its :LINE)
names=$(awk '{print $1}' <<<"$versions")
uncovered=$(awk '/^uncovered directions:/{s=1; next} s' <<<"$text" | sed -E 's/^  //; s/^([^ ]+ [^ :]+):[0-9]+ /\1 /' |
	awk 'NR==FNR {v[$1]=1; next} v[$1]' <(echo "$names") - | sort)
listed=$(grep -o '^- `[^`]*`' "$CORPUS/UNREACHABLE.md" | sed 's/^- `//; s/`$//' | sort)
while IFS= read -r id; do
	[ -z "$id" ] && continue
	echo "FAIL: uncovered and not in corpus/UNREACHABLE.md (add a case, or list it with the reason): $id"
	fail=1
done < <(comm -23 <(echo "$uncovered") <(echo "$listed"))
while IFS= read -r id; do
	[ -z "$id" ] && continue
	echo "FAIL: listed in corpus/UNREACHABLE.md but a case covers it (or no such direction): $id"
	fail=1
done < <(comm -13 <(echo "$uncovered") <(echo "$listed"))

# docs/corpus.md holds the generated table
doc=$(sed -n '/^<!-- coverage:begin/,/^<!-- coverage:end/p' "$ROOT/docs/corpus.md" | sed '1d;$d')
gen=$("$U" replay --markdown "$CORPUS")
if [ -z "$doc" ] || [ "$doc" != "$gen" ]; then
	echo "FAIL: docs/corpus.md's coverage table is not what \`untorn replay --markdown corpus\` prints (bash scripts/coverage-doc.sh rewrites it):"
	diff <(echo "$doc") <(echo "$gen") | head -20
	fail=1
fi
[ $fail -eq 0 ] && echo "coverage holds"
exit $fail
