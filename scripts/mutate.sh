#!/usr/bin/env bash
# How much a green corpus replay is worth: small, standard mutants of a
# kernel version's decisions, each built as a patch variant
# (docs/patches.md), and which of them corpus replay and `check` kill.
#
#   bash scripts/mutate.sh VARIANT [--count N] [--seed S]
#
# VARIANT is a kernel version (rfc-v1, v6.16, v6.18); its own file of
# impl/variants/ is mutated, one mutant at a time, at every BRANCH():
#   neg   the condition negated: BRANCH(ip, !(COND))
#   rel   the first relational operator of COND made strict or not strict
#         (< <-> <=, > <-> >=), where COND has one
# Each mutant is written as impl/variants/patches/VARIANT+mut-LINE-KIND.patch,
# built, and run:
#   1. untorn replay --as MUTANT corpus: killed by the corpus when a case of
#      VARIANT no longer meets its expectations;
#   2. otherwise untorn check --variant MUTANT --count N --interleave
#      --known corpus: killed by check when it finds what the corpus does not
#      hold (interleavings on: some decisions are reached only after another
#      actor changed the layout at an ILOCK drop point);
#   3. otherwise it survives: an equivalent mutant, or a hole in the corpus.
# The patch is removed after each mutant, and the build reconfigured at the
# end, so the tree is left as it was (also on Ctrl-C).  One line per mutant,
# then the kill rates.  BUILD_DIR (default build) is the build folder.
set -uo pipefail

usage() {
	echo "usage: $0 VARIANT [--count N] [--seed S]" >&2
	exit 2
}
[ $# -ge 1 ] || usage
variant=$1
shift
count=100000 seed=1
while [ $# -gt 0 ]; do
	case $1 in
	--count) count=${2:-}; shift 2 || usage ;;
	--seed) seed=${2:-}; shift 2 || usage ;;
	*) usage ;;
	esac
done
[[ $count =~ ^[0-9]+$ && $seed =~ ^[0-9]+$ ]] || usage
case $variant in
rfc-v1) file=rfc_v1.cpp ;;
v6.16) file=v6_16.cpp ;;
v6.18) file=v6_18.cpp ;;
*) echo "$0: VARIANT: expected rfc-v1, v6.16 or v6.18, got \"$variant\"" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
src=$root/impl/variants/$file
patches=$root/impl/variants/patches
U=$build/checker/untorn
work=$(mktemp -d /tmp/untorn-mutate-XXXXXX)
current=""
cleanup() {
	[ -n "$current" ] && rm -f "$patches/$current.patch"
	cmake -S "$root" -B "$build" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# The mutants: "LINE KIND" and the mutated file, one per mutant.  awk finds
# each BRANCH(ip, ...) whose parentheses close on its own line.
awk -v out="$work" '
function close_paren(s, from,    i, depth, c) {
	depth = 1
	for (i = from; i <= length(s); i++) {
		c = substr(s, i, 1)
		if (c == "(") depth++
		else if (c == ")" && --depth == 0) return i
	}
	return 0
}
{ lines[NR] = $0 }
END {
	n = 0
	for (l = 1; l <= NR; l++) {
		at = index(lines[l], "BRANCH(ip, ")
		if (!at) continue
		from = at + length("BRANCH(ip, ")
		to = close_paren(lines[l], from)
		if (!to) continue
		cond = substr(lines[l], from, to - from)
		pre = substr(lines[l], 1, from - 1); post = substr(lines[l], to)
		kinds[1] = "neg"; muts[1] = pre "!(" cond ")" post
		k = 1
		rel = cond
		if (sub(/ <= /, " < ", rel) || sub(/ >= /, " > ", rel) || sub(/ < /, " <= ", rel) || sub(/ > /, " >= ", rel)) {
			k = 2; kinds[2] = "rel"; muts[2] = pre rel post
		}
		for (j = 1; j <= k; j++) {
			name = l "-" kinds[j]
			print name > (out "/list")
			f = out "/" name ".cpp"
			for (m = 1; m <= NR; m++) print (m == l ? muts[j] : lines[m]) > f
			close(f)
		}
	}
}' "$src"
[ -s "$work/list" ] || { echo "$0: no BRANCH() found in $src" >&2; exit 2; }

echo "untorn mutate: $variant ($(wc -l <"$work/list") mutants of impl/variants/$file; check: --count $count --seed $seed)"
corpus=0 checked=0 survived=0 failed=0 total=0
while read -r m; do
	name="$variant+mut-$m"
	current=$name
	{
		echo "Mutant $m of impl/variants/$file (scripts/mutate.sh)"
		echo
		diff -u --label "a/impl/variants/$file" --label "b/impl/variants/$file" "$src" "$work/$m.cpp"
	} >"$patches/$name.patch"
	total=$((total + 1))
	line=$(sed -n "${m%%-*}p" "$work/$m.cpp" | sed 's/^[[:space:]]*//')
	if ! cmake -S "$root" -B "$build" >"$work/log" 2>&1 ||
		! cmake --build "$build" -j"$(nproc)" --target untorn >>"$work/log" 2>&1; then
		echo "  $m  does not build            $line"
		failed=$((failed + 1))
	elif rc=$( ("$U" replay --as "$name" "$root/corpus" >"$work/replay" 2>&1); echo $?) 2>/dev/null &&
		[ "$rc" -ne 0 ]; then
		why=$(grep -m1 "^FAIL" "$work/replay" | sed "s|$root/||")
		# (a mutant may break what impl itself asserts: untorn stops)
		[ -n "$why" ] || why="replay stopped with exit $rc: $(tail -1 "$work/replay" | sed 's/^[[:space:]]*//')"
		echo "  $m  killed by the corpus      $line"
		echo "        ${why:0:160}"
		corpus=$((corpus + 1))
	else
		"$U" check --variant "$name" --count "$count" --seed "$seed" --interleave \
			--known "$root/corpus" --out "$work/check" >"$work/check.log" 2>&1
		rc=$?
		if [ $rc -eq 10 ]; then
			echo "  $m  killed by check           $line"
			checked=$((checked + 1))
		else
			echo "  $m  SURVIVES (check exit $rc)   $line"
			survived=$((survived + 1))
		fi
	fi
	rm -f "$patches/$name.patch"
	current=""
done <"$work/list"
built=$((total - failed))
pct() { [ "$2" -gt 0 ] && echo "$((100 * $1 / $2))%" || echo "-"; }
echo "$total mutants, $built built: corpus replay kills $corpus ($(pct $corpus $built)); corpus replay + check --count $count --interleave kills $((corpus + checked)) ($(pct $((corpus + checked)) $built)); $survived survive"
