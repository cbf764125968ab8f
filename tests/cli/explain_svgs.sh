#!/usr/bin/env bash
# Renders the `untorn explain --svg` picture of every corpus finding (a case
# whose expected verdict is not clean) to PNG with rsvg-convert, and checks
# that each picture shows what a reviewer looks for: the result and the
# verdict, the mappings ->iomap_begin returned and the bios, the blocks that
# make the finding (outlined), and the disk and fsbno alignment rows.
# Usage: explain_svgs.sh UNTORN CORPUS_DIR
set -uo pipefail
UNTORN=$1
CORPUS=$2
if ! command -v rsvg-convert >/dev/null; then
	echo "FAIL: rsvg-convert is missing (Debian: apt-get install librsvg2-bin; scripts/test.sh installs it)"
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0 n=0
while IFS= read -r -d '' f; do
	grep -q '"verdict": *"\(violation\|divergence\)"' "$f" || continue
	n=$((n + 1))
	svg="$tmp/$n.svg" png="$tmp/$n.png"
	if ! "$UNTORN" explain "$f" --svg "$svg" >"$tmp/out" 2>&1; then
		echo "FAIL $f: untorn explain exited $?"; cat "$tmp/out"; fail=1; continue
	fi
	for want in '>result: ' '>verdict (Z3): ' 'class="mark"' '>iomap #1 ' '>disk: aligned<' '>fsbno: aligned<' \
		'what makes the finding'; do
		grep -qF -- "$want" "$svg" || { echo "FAIL $f: the picture lacks $want"; fail=1; }
	done
	if grep -q 'bio 0:' "$tmp/out" && ! grep -qF '>bio 0<' "$svg"; then
		echo "FAIL $f: the trace has bios, the picture none"; fail=1
	fi
	if ! rsvg-convert "$svg" -o "$png" 2>"$tmp/err" || [ ! -s "$png" ]; then
		echo "FAIL $f: rsvg-convert: $(cat "$tmp/err")"; fail=1
	fi
done < <(find "$CORPUS" -name '*.json' -print0 | sort -z)
if [ "$n" -eq 0 ]; then
	echo "FAIL: no finding under $CORPUS"; exit 1
fi
echo "$n finding pictures rendered"
exit $fail
