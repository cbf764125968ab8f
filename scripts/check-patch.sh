#!/usr/bin/env bash
# Checks a variant patch (docs/patches.md) against its base, and prints one
# summary a reviewer can paste into a mailing-list reply.
#
#   bash scripts/check-patch.sh PATCH [--count N] [--seed S] [--time-limit S]
#
# PATCH is a unified diff of one file of impl/variants/ (its file name,
# without .patch, is the variant's name).  The script puts it into
# impl/variants/patches/ (unless it is already there), builds `untorn`, and
# runs, all against the patch's base (the kernel version whose file it
# patches):
#   1. untorn replay corpus                   -- the corpus still passes
#      (and `replay --as NAME corpus` where the build has it: the corpus's
#      cases of the base, run under the patch)
#   2. untorn check --compare BASE --variant NAME   (where the build has it)
#      untorn check --variant NAME --known corpus   -- findings the corpus
#      does not hold
#   3. untorn diff BASE NAME, with a time limit -- the bounded proof
# A patch that does not apply, or does not compile, is an error (exit 2,
# the configure's or compiler's message), and the tree is left as it was:
# the patch file is removed again and the build reconfigured.  A patch that
# applies stays in impl/variants/patches/, so the explain commands of the
# summary work; delete the file to drop the variant.
#
# Exit status: 0 no difference and no new finding, 10 a difference or a new
# finding, 5 inconclusive (the diff's time limit), 2 bad input.
# BUILD_DIR (default build) is the build folder.
set -uo pipefail

usage() {
	echo "usage: $0 PATCH [--count N] [--seed S] [--time-limit SECONDS]" >&2
	exit 2
}
[ $# -ge 1 ] || usage
patch=$1
shift
count=20000 seed=1 limit=120
while [ $# -gt 0 ]; do
	case $1 in
	--count) count=${2:-}; shift 2 || usage ;;
	--seed) seed=${2:-}; shift 2 || usage ;;
	--time-limit) limit=${2:-}; shift 2 || usage ;;
	*) usage ;;
	esac
done
for n in "$count" "$seed" "$limit"; do
	[[ $n =~ ^[0-9]+$ ]] || { echo "check-patch: expected a whole number, got \"$n\"" >&2; exit 2; }
done

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
U=$build/checker/untorn

if [ ! -f "$patch" ] || [ ! -r "$patch" ]; then
	echo "check-patch: $patch: no such readable file" >&2
	exit 2
fi
base_name=$(basename "$patch")
case $base_name in
*.patch) name=${base_name%.patch} ;;
*) echo "check-patch: $patch: expected a file named NAME.patch (NAME becomes the variant's name)" >&2; exit 2 ;;
esac
if ! [[ $name =~ ^[A-Za-z0-9][A-Za-z0-9.+_-]*$ ]]; then
	echo "check-patch: $patch: \"$name\" is not a variant name (letters, digits and . + - _)" >&2
	exit 2
fi

dest=$root/impl/variants/patches/$base_name
placed=0
if [ -e "$dest" ]; then
	if ! cmp -s "$patch" "$dest"; then
		echo "check-patch: $dest exists and differs from $patch: rename the patch or remove that file" >&2
		exit 2
	fi
else
	cp "$patch" "$dest.tmp.$$" && mv "$dest.tmp.$$" "$dest" || { rm -f "$dest.tmp.$$"; exit 2; }
	placed=1
fi

log=$(mktemp -d "${TMPDIR:-/tmp}/untorn-check-patch.XXXXXX") || exit 2
out=$build/check-patch/$name
# On failure or interrupt: take the patch out again and restore the build's
# configuration, so the tree is as it was.
undo() {
	if [ "$placed" = 1 ]; then
		rm -f "$dest"
		cmake -S "$root" -B "$build" >/dev/null 2>&1
	fi
	rm -rf "$log"
}
trap 'undo; exit 130' INT TERM

# --- build -----------------------------------------------------------------
start=$(date +%s.%N)
if [ -f "$build/CMakeCache.txt" ]; then
	cmake -S "$root" -B "$build" >"$log/configure" 2>&1
else
	cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >"$log/configure" 2>&1
fi
if [ $? -ne 0 ]; then
	echo "check-patch: $patch does not apply:" >&2
	sed -n '/CMake Error/,/Call Stack\|^-- Configuring incomplete/p' "$log/configure" | grep -v "Call Stack\|Configuring incomplete" >&2
	undo
	exit 2
fi
if ! cmake --build "$build" --target untorn -j "$(nproc)" >"$log/build" 2>&1; then
	echo "check-patch: the patched variant does not compile:" >&2
	grep -E "error|Error" "$log/build" | head -20 >&2
	undo
	exit 2
fi
built=$(date +%s.%N)
trap 'rm -rf "$log"; exit 130' INT TERM

# The patch's base: the kernel version its row names in the generated table
# (build/impl/variants/variant_table.cpp: {"NAME", Variant::BASE, ...}).
table=$build/impl/variants/variant_table.cpp
base_id=$(grep -F "{\"$name\", Variant::" "$table" | sed -E 's/.*Variant::([A-Za-z0-9_]+),.*/\1/')
base=$(grep -E "^\s*\{\"[^\"]+\", Variant::$base_id, \"impl/variants/[^/\"]+\.cpp\"" "$table" | sed -E 's/^\s*\{"([^"]+)".*/\1/' | head -1)
if [ -z "$base" ]; then
	echo "check-patch: cannot find $name's base in $table" >&2
	exit 3
fi
origin=$(grep -F "{\"$name\", Variant::" "$table" | sed -E 's/^[^,]*, [^,]*, "[^"]*", "(.*)",$/\1/')

rm -rf "$out" && mkdir -p "$out"
status=0
note() { # raise the exit status: 10 beats 5 beats 0
	if [ "$1" = 10 ] || { [ "$1" = 5 ] && [ "$status" = 0 ]; }; then status=$1; fi
}

# --- 1. the corpus -----------------------------------------------------------
"$U" replay "$root/corpus" >"$log/replay" 2>&1
replay_rc=$?
replay_line=$(tail -1 "$log/replay")
[ $replay_rc -eq 0 ] || note 10
as_line=""
if "$U" replay --help 2>/dev/null | grep -q -- "--as"; then
	"$U" replay --as "$name" "$root/corpus" >"$log/replay-as" 2>&1
	as_rc=$?
	as_line="$(tail -1 "$log/replay-as")"
	[ $as_rc -eq 0 ] || note 10
fi

# --- 2. random layouts -----------------------------------------------------
compare_line=""
if "$U" check --help 2>/dev/null | grep -q -- "--compare"; then
	"$U" check --compare "$base" --variant "$name" --count "$count" --seed "$seed" --out "$out/compare" \
		>"$log/compare" 2>&1
	compare_rc=$?
	case $compare_rc in
	0) compare_line="no difference" ;;
	10) compare_line="differences found (cases in $out/compare):"; note 10 ;;
	*) compare_line="failed (exit $compare_rc): $(tail -1 "$log/compare")"; note 5 ;;
	esac
fi
"$U" check --variant "$name" --count "$count" --seed "$seed" --known "$root/corpus" --out "$out/check" \
	>"$log/check" 2>&1
check_rc=$?
[ $check_rc -eq 0 ] || note "$check_rc"

# --- 3. the bounded proof ----------------------------------------------------
bounds=(--geometry 1 --data-extents 1 --cow-extents 1 --refcount 1 --alloc 0)
"$U" diff "$base" "$name" "${bounds[@]}" --time-limit "$limit" --out "$out/diff" >"$log/diff" 2>&1
diff_rc=$?
case $diff_rc in
0) diff_line="equivalent within the bounds" ;;
10) diff_line="they differ; the witness, under each variant:"; note 10 ;;
5) diff_line="inconclusive: $(grep -m1 -i "complete up to\|stopped\|inconclusive" "$log/diff")"; note 5 ;;
*) diff_line="failed (exit $diff_rc): $(tail -1 "$log/diff")"; note 5 ;;
esac
done_t=$(date +%s.%N)

# --- the summary -------------------------------------------------------------
rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo "?")
rel() { echo "${1#"$root"/}"; }
{
	echo "untorn's check of $name (impl/variants/patches/$base_name) against $base"
	[ -n "$origin" ] && echo "  the patch: $origin"
	echo "  corpus (untorn replay corpus): $replay_line"
	[ -n "$as_line" ] && echo "  the corpus's $base cases under $name (replay --as): $as_line"
	if [ -n "$compare_line" ]; then
		echo "  $count random layouts, $name beside $base (check --compare, seed $seed): $compare_line"
		grep -E "^\s+(differ|DIFF|[a-z_]+:)" "$log/compare" | head -20 | sed 's/^\s*/    /'
	fi
	nnew=$(grep -c "^    NEW " "$log/check")
	echo "  $count random layouts of $name (check --known corpus, seed $seed): $nnew finding(s) the corpus does not hold"
	grep "^    NEW " "$log/check" | while read -r _ verdict _ rest; do
		file=${rest##* }
		echo "    $verdict ${rest% *}: untorn explain $(rel "$out/check")/$file"
		# in kernel terms: what each broken invariant forbids, and where
		# in the kernel that comes from (explain's judgement section)
		"$U" explain "$out/check/$file" 2>/dev/null |
			awk '/^  [a-z_]+ \((violation|divergence)\)$/ { inv = $1 }
			     /^    forbids: / { sub(/^    forbids: /, ""); f = $0 }
			     /^    origin:  / { sub(/^    origin:  /, ""); if (inv != "") print "      " inv ": forbids " f " (" $0 ")"; inv = "" }'
	done
	grep "^    known " "$log/check" | while read -r _ verdict _ rest; do
		echo "    known: $verdict ${rest% *} (as in corpus/)"
	done
	echo "  bounded proof (untorn diff $base $name ${bounds[*]}, at most $limit s): $diff_line"
	if [ $diff_rc -eq 10 ]; then
		for f in "$out/diff"/*.json; do
			[ -f "$f" ] && echo "    untorn explain $(rel "$f")"
		done
	fi
	awk -v r="$rev" -v a="$start" -v b="$built" -v c="$done_t" \
		'BEGIN { printf "  (untorn %s; build %.0f s, checks %.0f s)\n", r, b - a, c - b }'
}
rm -rf "$log"
exit "$status"
