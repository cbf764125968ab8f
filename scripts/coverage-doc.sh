#!/usr/bin/env bash
# Rewrites the coverage table of docs/corpus.md (between its coverage markers)
# with what `untorn replay --markdown corpus` prints.
#
# usage: bash scripts/coverage-doc.sh [PATH/TO/untorn]   (default build/checker/untorn)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
U=${1:-$ROOT/build/checker/untorn}
DOC=$ROOT/docs/corpus.md
table=$(mktemp)
trap 'rm -f "$table" "$DOC.tmp"' EXIT
"$U" replay --markdown "$ROOT/corpus" >"$table"
awk -v t="$table" '
	/^<!-- coverage:end/ { skip = 0 }
	!skip { print }
	/^<!-- coverage:begin/ { while ((getline l < t) > 0) print l; skip = 1 }
' "$DOC" >"$DOC.tmp"
mv "$DOC.tmp" "$DOC"
