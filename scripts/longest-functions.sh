#!/usr/bin/env bash
# The longest functions in each of impl/, model/, checker/ and tests/ (for
# reviews of how the code is cut).  A function counts from a column-0 line
# with '(' that is not a declaration, through the next line that is "}" (or
# "};") at column 0: namespace-scope definitions; bodies inside a class are
# not counted on their own.
# Usage: scripts/longest-functions.sh [N]   (N per folder, default 1)
set -eu
n=${1:-1}
cd "$(dirname "$0")/.."
for folder in impl model checker tests; do
	find "$folder" -name '*.cpp' -o -name '*.h' | sort | while read -r f; do
		awk -v f="$f" '
		function is_start(l) {
			return l ~ /^[^ \t#\/}]/ && l ~ /\(/ && l !~ /;[ \t]*$/ &&
			       l !~ /^(namespace|static_assert)/ && substr(l, 1, index(l, "(")) !~ /=/
		}
		start == 0 && is_start($0) { start = NR; sig = $0; next }
		start > 0 && open == 0 && /;[ \t]*$/ { start = 0; next }
		start > 0 && open == 0 && /\{[ \t]*$/ { open = 1; next }
		start > 0 && open == 1 && /^\};?[ \t]*$/ {
			printf "%d\t%s:%d\t%s\n", NR - start + 1, f, start, substr(sig, 1, 70)
			start = 0; open = 0
		}' "$f"
	done | sort -t$'\t' -k1,1nr | head -n "$n" | sed "s/^/$folder\t/"
done
