#!/usr/bin/env bash
# How `untorn prove` grows with each bound, and what a second core buys.
# Proves v6.18 on one geometry profile at a ladder of bounds, each twice in
# the same run -- `--jobs 1` (the baseline) and `--jobs 2` -- and prints a
# Markdown table: sweeps, paths, both times and their ratio.  The proofs'
# answers and path counts must be the same for both (the script checks it).
# Usage: scripts/bench-prove.sh [PROFILE] [TIME_LIMIT_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${1:-3}
limit=${2:-90}
BUILD_TARGET=untorn bash scripts/setup.sh >/dev/null
untorn=./build/checker/untorn
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# one proof: prints "paths sweeps seconds status" (status "timeout" past the limit)
prove() {
	local jobs=$1
	shift
	local start end rc=0
	start=$(date +%s.%N)
	timeout "$limit" "$untorn" prove --variant v6.18 --geometry "$profile" "$@" \
		--jobs "$jobs" --out "$out" >"$out/r.txt" || rc=$?
	end=$(date +%s.%N)
	if [ "$rc" = 124 ]; then
		echo "- - $limit timeout"
		return
	fi
	# "untorn prove v6.18: S sweeps, P paths, ..." and one line per invariant
	awk -v t0="$start" -v t1="$end" '
		/^untorn prove/ { sweeps = $4; paths = $6 }
		$1 ~ /^(proved|counterexample|inconclusive)$/ { n[$1]++ }
		END {
			a = ""
			for (k in n) a = a (a == "" ? "" : "/") n[k] " " k
			gsub(/ /, "_", a)
			printf "%s %s %.2f %s\n", paths, sweeps, t1 - t0, a
		}' "$out/r.txt"
}

echo "| bounds D/C/R/A | sweeps | paths | --jobs 1 | --jobs 2 | ratio | answer |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for b in "0 0 0 0" "1 0 0 0" "0 1 0 0" "0 0 1 0" "0 0 0 1" "2 0 0 0"; do
	set -- $b
	args=(--data-extents "$1" --cow-extents "$2" --refcount "$3" --alloc "$4")
	read -r p1 s1 t1 a1 < <(prove 1 "${args[@]}")
	read -r p2 s2 t2 a2 < <(prove 2 "${args[@]}")
	if [ "$a1" != timeout ] && [ "$a2" != timeout ] && { [ "$p1" != "$p2" ] || [ "$a1" != "$a2" ]; }; then
		echo "bench-prove: --jobs 1 and --jobs 2 disagree at $b ($p1 $a1 vs $p2 $a2)" >&2
		exit 1
	fi
	ratio=-
	if [ "$a1" != timeout ] && [ "$a2" != timeout ]; then
		ratio=$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.2fx", a / b }')
	fi
	if [ "$a1" = timeout ]; then # the figures of whichever run finished
		s1=$s2 p1=$p2 a1=$a2
	fi
	echo "| ${1}/${2}/${3}/${4} | $s1 | $p1 | $t1 s | $t2 s | $ratio | ${a1//_/ } |"
done
