#!/usr/bin/env bash
# How `untorn prove` grows with each bound, what a second core buys, and how
# many paths a proof at each bound has to explore.
#
# For each bound of a ladder (one kind of extent at a time, then together),
# v6.18 on the chosen geometry:
#   - `untorn census` counts the paths a proof must explore (a lower bound,
#     on sampled layouts; `+` marks a count still rising at the end of its
#     sample);
#   - `untorn prove` runs twice in the same run, `--jobs 1` (the baseline)
#     and `--jobs 2`, each stopped by `--time-limit`; both must give the same
#     answer and path count when both finish (the script checks it).
# Prints a Markdown table: sweeps, census paths, the paths prove explored,
# both times and their ratio, prove's answer (or how far a stopped run got)
# and prove's rate in paths per second with two jobs.
#
# Usage: scripts/bench-prove.sh [GEOMETRY] [TIME_LIMIT_SECONDS] [CENSUS_COUNT]
#   GEOMETRY: profiles (the default: all four), or 1..4
set -euo pipefail
cd "$(dirname "$0")/.."
geometry=${1:-profiles}
limit=${2:-120}
census_count=${3:-2000000}
BUILD_TARGET=untorn bash scripts/setup.sh >/dev/null
untorn=./build/checker/untorn
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# the census: prints "paths sweeps" ("paths+" while still rising)
census() {
	"$untorn" census --variant v6.18 --geometry "$geometry" "$@" --count "$census_count" \
		--jobs 2 2>/dev/null | awk '
		/^untorn census/ { sweeps = $4; gsub(/,/, "", sweeps) }
		/distinct paths:/ { paths = $3; gsub(/,/, "", paths) }
		/still rising/ { rising = "+" }
		END { printf "%s%s %s\n", paths, rising, sweeps }'
}

# one proof: prints "paths seconds answer" (answer "stopped:_complete_up_to_K"
# when the time limit stopped it)
prove() {
	local jobs=$1
	shift
	local start end rc=0
	start=$(date +%s.%N)
	"$untorn" prove --variant v6.18 --geometry "$geometry" "$@" --jobs "$jobs" \
		--time-limit "$limit" --out "$out" >"$out/r.txt" || rc=$?
	end=$(date +%s.%N)
	# "untorn prove v6.18: S sweeps, P paths, ...", one line per invariant,
	# and "exploration cut short: ... complete up to K ..." if stopped
	awk -v t0="$start" -v t1="$end" '
		/^untorn prove/ { paths = $6 }
		$1 ~ /^(proved|counterexample|inconclusive)$/ { n[$1]++ }
		/time limit reached/ {
			stopped = "stopped:_not_complete_for_any_size"
			if (match($0, /complete up to [0-9]+/))
				stopped = "stopped:_complete_up_to_" substr($0, RSTART + 15, RLENGTH - 15)
		}
		END {
			a = ""
			for (k in n) a = a (a == "" ? "" : "/") n[k] " " k
			gsub(/ /, "_", a)
			printf "%s %.2f %s\n", paths, t1 - t0, stopped != "" ? stopped : a
		}' "$out/r.txt"
}

echo "| bounds D/C/R/A | sweeps | census paths | prove paths | --jobs 1 | --jobs 2 | ratio | answer | paths/s (jobs 2) |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for b in "0 0 0 0" "1 0 0 0" "2 0 0 0" "3 0 0 0" "4 0 0 0" "0 1 0 0" "0 2 0 0" \
	"0 0 1 0" "0 0 2 0" "0 0 0 1" "0 0 0 2" "1 1 1 1" "4 2 2 2"; do
	set -- $b
	args=(--data-extents "$1" --cow-extents "$2" --refcount "$3" --alloc "$4")
	read -r cp sweeps < <(census "${args[@]}")
	read -r p1 t1 a1 < <(prove 1 "${args[@]}")
	read -r p2 t2 a2 < <(prove 2 "${args[@]}")
	if [[ $a1 != stopped* && $a2 != stopped* ]] && { [ "$p1" != "$p2" ] || [ "$a1" != "$a2" ]; }; then
		echo "bench-prove: --jobs 1 and --jobs 2 disagree at $b ($p1 $a1 vs $p2 $a2)" >&2
		exit 1
	fi
	ratio=-
	if [[ $a1 != stopped* && $a2 != stopped* ]]; then
		ratio=$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.2fx", a / b }')
	fi
	rate=$(awk -v p="$p2" -v t="$t2" 'BEGIN { printf "%.1f", p / t }')
	[[ $a1 == stopped* ]] && t1="> $limit"
	[[ $a2 == stopped* ]] && t2="> $limit"
	echo "| ${1}/${2}/${3}/${4} | $sweeps | $cp | $p2 | $t1 s | $t2 s | $ratio | ${a2//_/ } | $rate |"
done
