#!/usr/bin/env bash
# The cost of `untorn replay --coverage`: plain replay and replay --coverage
# of the same corpus, alternated ROUNDS times in one run (so machine load hits
# both alike); CPU seconds (user + system) of each, the totals and their ratio.
#
# usage: bash scripts/bench-coverage.sh [ROUNDS] [CORPUS] [PATH/TO/untorn]
#        (defaults: 5, corpus/, build/checker/untorn)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${1:-5}
CORPUS=${2:-$ROOT/corpus}
U=${3:-$ROOT/build/checker/untorn}
TIMEFORMAT='%U %S'
cpu() { { time "$@" >/dev/null; } 2>&1 | awk '{ print $1 + $2 }'; }
plain=0 cov=0
for i in $(seq "$ROUNDS"); do
	p=$(cpu "$U" replay "$CORPUS")
	c=$(cpu "$U" replay --coverage "$CORPUS")
	echo "round $i: replay $p s, replay --coverage $c s (CPU)"
	plain=$(awk -v a="$plain" -v b="$p" 'BEGIN { print a + b }')
	cov=$(awk -v a="$cov" -v b="$c" 'BEGIN { print a + b }')
done
awk -v p="$plain" -v c="$cov" 'BEGIN { printf "total: replay %.2f s, replay --coverage %.2f s (CPU), ratio %.2fx\n", p, c, c / p }'
