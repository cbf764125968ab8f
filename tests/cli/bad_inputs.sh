#!/usr/bin/env bash
# The bad-input catalogue: every kind of bad case file and bad
# command line, run against the untorn binary given as $1.  Each kind asserts
#   - exit status 2 (and within a time limit: no hang);
#   - stderr names the file (where there is one), the JSON path (for
#     JSON-level errors) and what was expected (a distinctive fragment);
#   - nothing on stdout (no partial output);
#   - nothing left behind: each kind runs in its own folder (also its working
#     directory), and any entry that appears there (an -o/--out target, a
#     temporary file, a report folder) is a failure.
# Then valid but pathological inputs (data/pathological/, and a generated
# 14 MB case) and every input the fuzzer ever found (data/fuzz-regressions/)
# must run to a normal exit status (0, 2, 5 or 10) within a time limit.
#
# Prints `ok KIND` or `FAIL KIND: why` per kind, then `N passed, M failed`;
# exits 1 if any failed.  Needs bash and coreutils only (setpriv from
# util-linux for the unreadable-file kind when run as root, if present).
#
# usage: bash tests/cli/bad_inputs.sh build/checker/untorn
set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	echo "usage: $0 PATH/TO/untorn" >&2
	exit 2
fi
U=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DATA=$HERE/data

T=$(mktemp -d "${TMPDIR:-/tmp}/untorn-bad-inputs.XXXXXX") || exit 2
cleanup() { chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM
chmod 755 "$T" # the unreadable-file kind runs untorn as another user
mkdir "$T/cap"

passed=0
failed=0
n=0
ok() { echo "ok $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

# A fresh folder for one kind; the command runs there.
W=
newdir() {
	n=$((n + 1))
	W=$T/k$n
	mkdir "$W"
	chmod 755 "$W"
}

# ------------------------------------------------------------------ cases
# A valid case (corpus/fstests/v6.16-mapped-aligned-hw.json, compact); each
# kind replaces or removes one top-level field: mkcase FILE key=JSON ...
# (key= with nothing after it removes the field; extra= adds raw members).
GEO='{"block_size": 4096, "ag_blocks": 1024, "ag_count": 4, "reflink": true, "cowextsize": 0}'
DEV='{"awu_min": 4096, "awu_max": 65536}'
EXT='{"startoff": 0, "startblock": 1040, "blockcount": 16, "state": "norm"}'
WRITE='{"offset": 0, "length": 65536}'
mkcase() {
	local out=$1
	shift
	local format='"untorn-case/1"' name='"bad-input"' variant='"v6.16"' geometry=$GEO device=$DEV
	local data_fork="[$EXT]" cow_fork='[]' refcount='' alloc='' write=$WRITE expect='' extra=''
	local a k body='' sep=''
	for a; do
		k=${a%%=*}
		printf -v "$k" '%s' "${a#*=}"
	done
	for k in format name variant geometry device data_fork cow_fork refcount alloc write expect; do
		if [ -n "${!k}" ]; then
			body+="$sep\"$k\": ${!k}"
			sep=', '
		fi
	done
	[ -n "$extra" ] && body+="$sep$extra"
	printf '{%s}\n' "$body" >"$out"
}
geo() { # geo KEY VALUE: $GEO with one member replaced
	local g
	g=$(printf '%s' "$GEO" | sed -E "s/\"$1\": [^,}]*/\"$1\": $2/")
	printf '%s' "$g"
}

# --------------------------------------------------------------- checking
LIMIT=30 # seconds per command unless a kind sets it

describe_rc() {
	case $1 in
	124) echo "timed out after ${LIMIT}s (a hang)" ;;
	13[1-9] | 1[4-9][0-9] | 2[0-9][0-9]) echo "killed by signal $(($1 - 128)) (exit status $1, a crash)" ;;
	*) echo "exit status $1" ;;
	esac
}

# expect_bad KIND FILE JSONPATH WHAT -- COMMAND...
#   FILE, JSONPATH: fragments stderr must contain ("" = not applicable);
#   WHAT: a fragment saying what was expected (grep -F, case-insensitive).
# Runs COMMAND in $W with a time limit and checks status 2, stderr, empty
# stdout, and that no entry appeared in $W.
expect_bad() {
	local kind=$1 file=$2 jpath=$3 what=$4
	shift 4
	[ "$1" = "--" ] && shift
	local before after rc=0 why='' new
	before=$(cd "$W" && ls -A | sort)
	(cd "$W" && timeout -k 5 "$LIMIT" "$@"; exit $?) >"$T/cap/out" 2>"$T/cap/err" </dev/null || rc=$?
	after=$(cd "$W" && ls -A | sort)
	[ "$rc" -eq 2 ] || why+="$(describe_rc "$rc"), expected 2; "
	[ -s "$T/cap/out" ] && why+="stdout not empty ($(wc -c <"$T/cap/out") bytes: $(head -c 80 "$T/cap/out" | tr '\n' ' ')); "
	[ -n "$file" ] && ! grep -qF -- "$file" "$T/cap/err" && why+="stderr does not name the file ($file); "
	[ -n "$jpath" ] && ! grep -qF -- "$jpath" "$T/cap/err" && why+="stderr does not name the JSON path ($jpath); "
	[ -n "$what" ] && ! grep -qiF -- "$what" "$T/cap/err" && why+="stderr does not say what was expected (\"$what\"); "
	new=$(comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after") | tr '\n' ' ')
	[ -n "${new// /}" ] && why+="left behind: $new; "
	if [ -z "$why" ]; then
		ok "$kind"
	else
		fail "$kind" "${why%; } -- stderr: $(head -c 300 "$T/cap/err" | tr '\n' ' ')"
	fi
	LIMIT=30
}

# A case-file kind: mkcase with the given fields, then `untorn run` on it.
# case_kind KIND JSONPATH WHAT key=JSON ...
case_kind() {
	local kind=$1 jpath=$2 what=$3
	shift 3
	newdir
	mkcase "$W/$kind.json" "$@"
	expect_bad "$kind" "$kind.json" "$jpath" "$what" -- "$U" run "$kind.json"
}
# A raw-text kind: the file holds exactly TEXT.
text_kind() {
	local kind=$1 jpath=$2 what=$3 text=$4
	newdir
	printf '%s' "$text" >"$W/$kind.json"
	expect_bad "$kind" "$kind.json" "$jpath" "$what" -- "$U" run "$kind.json"
}

# ------------------------------------------------------------ the baseline
newdir
mkcase "$W/valid.json"
rc=0
(cd "$W" && timeout -k 5 60 "$U" run --engine compiled valid.json) >"$T/cap/out" 2>"$T/cap/err" </dev/null || rc=$?
if [ "$rc" -eq 0 ] && grep -q 'verdict: clean' "$T/cap/out"; then
	ok "baseline: the unmodified case runs clean (exit 0)"
else
	fail "baseline: the unmodified case runs clean (exit 0)" "$(describe_rc "$rc"): $(head -c 300 "$T/cap/err")"
fi

# ------------------------------------------------- JSON syntax and encoding
newdir
mkcase "$W/full.json"
head -c 100 "$W/full.json" >"$W/broken-json.json"
rm "$W/full.json"
expect_bad broken-json broken-json.json "" "not valid JSON" -- "$U" run broken-json.json
text_kind trailing-garbage "" "expected end of input" "$(mkcase /dev/stdout) garbage"
text_kind empty-file "" "not valid JSON" ""
text_kind whitespace-only "" "not valid JSON" "$(printf ' \n\t\n')"
text_kind top-level-array "(top level)" "expected an object" '[1, 2, 3]'
text_kind invalid-utf8 "" "UTF-8" "$(mkcase /dev/stdout name="$(printf '"a\377\376b"')")"
text_kind control-char-in-string "" "must be escaped" "$(printf '{"format": "untorn-case/1", "name": "a\001b"}')"
newdir
printf '{"format": "untorn-case/1", "name": "a\000b"}' >"$W/nul-byte.json"
expect_bad nul-byte nul-byte.json "" "not valid JSON" -- "$U" run nul-byte.json

# ------------------------------------------------------ types and fields
case_kind wrong-type-string-for-number geometry.block_size "expected an unsigned integer, got a string" \
	geometry="$(geo block_size '"4096"')"
case_kind wrong-type-number-for-boolean geometry.reflink "expected true or false" geometry="$(geo reflink 1)"
case_kind wrong-type-object-for-array data_fork "expected an array" data_fork='{}'
case_kind wrong-type-extent-not-object 'data_fork[0]' "expected an object" data_fork='[5]'
case_kind wrong-type-null-for-string name "expected a string" name=null
# x_interleave: another actor at the ILOCK drop points (README "Interleavings")
case_kind interleave-unknown-action 'x_interleave[0].action' "expected \"buffered_cow_reservation\"" \
	extra='"x_interleave": [{"at": 0, "action": "blockgc", "offset": 0, "count": 1}]'
case_kind interleave-end-cow-over-the-write 'x_interleave[0]' "overlaps the write" \
	extra='"x_interleave": [{"at": 0, "action": "end_cow_other", "offset": 8, "count": 4}]'
case_kind interleave-zero-count 'x_interleave[0].count' "at least 1 block" \
	extra='"x_interleave": [{"at": 0, "action": "refcount_drop", "offset": 0, "count": 0}]'
case_kind missing-top-level-field write "missing" write=
case_kind missing-nested-field 'data_fork[0].blockcount' "missing" \
	data_fork='[{"startoff": 0, "startblock": 1040, "state": "norm"}]'
case_kind missing-format format "missing" format=
case_kind unknown-top-level-field colour "unknown field" extra='"colour": "blue"'
case_kind unknown-nested-field geometry.colour "unknown field" geometry="${GEO%\}}, \"colour\": 1}"
case_kind unknown-format format '"untorn-case/1"' format='"untorn-case/2"'
case_kind unknown-variant variant '"v6.16"' variant='"v9.99"'
case_kind unknown-extent-state 'data_fork[0].state' '"norm" or "unwritten"' \
	data_fork='[{"startoff": 0, "startblock": 1040, "blockcount": 16, "state": "shared"}]'
case_kind delalloc-in-data-fork 'data_fork[0].state' '"norm" or "unwritten"' \
	data_fork='[{"startoff": 0, "blockcount": 16, "state": "delalloc"}]'
case_kind unknown-expect-result expect.result "errno name" expect='{"result": "EFOO"}'

# --------------------------------------------------------------- numbers
case_kind negative-number write.offset "expected an unsigned integer, got the negative number" \
	write='{"offset": -65536, "length": 65536}'
case_kind fractional-number write.length "expected an unsigned integer" write='{"offset": 0, "length": 65536.5}'
case_kind huge-number-beyond-uint64 write.length "expected an unsigned integer" \
	write='{"offset": 0, "length": 18446744073709551616}'
# nlohmann::json throws out_of_range (not parse_error) for a number that
# overflows a double: it must still be a CaseError naming the file.
case_kind number-overflowing-double "" "1e400" write='{"offset": 0, "length": 1e400}'
case_kind number-above-field-range geometry.ag_count "at most" geometry="$(geo ag_count 99999999999)"
case_kind startoff-plus-blockcount-overflow 'data_fork[0].blockcount' "overflows" \
	data_fork='[{"startoff": 18014398509481980, "startblock": 1040, "blockcount": 16, "state": "norm"}]'
case_kind offset-plus-length-overflow write.length "overflows" write='{"offset": 4611686018427387904, "length": 65536}'
case_kind write-length-zero write.length "at least 1" write='{"offset": 0, "length": 0}'

# ------------------------------------------------------------- extents
case_kind unsorted-extents 'data_fork[1].startoff' "sorted" \
	data_fork='[{"startoff": 32, "startblock": 1040, "blockcount": 16, "state": "norm"}, {"startoff": 0, "startblock": 2064, "blockcount": 16, "state": "norm"}]'
case_kind overlapping-extents 'data_fork[1].startoff' "overlap" \
	data_fork='[{"startoff": 0, "startblock": 1040, "blockcount": 16, "state": "norm"}, {"startoff": 8, "startblock": 2064, "blockcount": 16, "state": "norm"}]'
case_kind physically-overlapping-extents 'data_fork[1].startblock' "physical blocks overlap" \
	data_fork='[{"startoff": 0, "startblock": 1040, "blockcount": 16, "state": "norm"}, {"startoff": 32, "startblock": 1048, "blockcount": 16, "state": "norm"}]'
case_kind startblock-agno-beyond-ag-count 'data_fork[0].startblock' "outside the AGs" \
	data_fork='[{"startoff": 0, "startblock": 5000, "blockcount": 16, "state": "norm"}]'
case_kind startblock-agbno-beyond-ag-blocks 'data_fork[0].startblock' "outside the AGs" \
	data_fork='[{"startoff": 0, "startblock": 1000, "blockcount": 16, "state": "norm"}]' geometry="$(geo ag_blocks 1000)"
# agno = fsbno >> agblklog is 2^32 here: truncated to uint32 it wraps to AG 0
# and the extent aliases disk block 1040.
case_kind startblock-agno-wraps-2-32 'data_fork[0].startblock' "outside the AGs" \
	data_fork='[{"startoff": 0, "startblock": 4398046512144, "blockcount": 16, "state": "norm"}]'
case_kind extent-crossing-ag-end 'data_fork[0].blockcount' "past the end of AG" \
	data_fork='[{"startoff": 0, "startblock": 1020, "blockcount": 16, "state": "norm"}]'
case_kind startblock-zero 'data_fork[0].startblock' "superblock" \
	data_fork='[{"startoff": 0, "startblock": 0, "blockcount": 16, "state": "norm"}]'
case_kind refcount-below-2 'refcount[0].refcount' "at least 2" \
	refcount='[{"startblock": 1040, "blockcount": 16, "refcount": 1}]'
case_kind cow-fork-without-reflink cow_fork "reflink" geometry="$(geo reflink false)" \
	cow_fork='[{"startoff": 0, "startblock": 2064, "blockcount": 16, "state": "norm"}]'
# thousands of extents on the same physical blocks: one error is enough,
# not one per pair (n^2 messages: seconds and gigabytes).
newdir
{
	printf '{"format": "untorn-case/1", "name": "aliased", "variant": "v6.16", "geometry": %s, "device": %s, "data_fork": [' "$GEO" "$DEV"
	for ((i = 0; i < 4000; i++)); do
		[ $i -gt 0 ] && printf ','
		printf '{"startoff": %d, "startblock": 1040, "blockcount": 1, "state": "norm"}' $((i * 2))
	done
	printf '], "write": %s}\n' "$WRITE"
} >"$W/aliased-extents-4000.json"
LIMIT=5
expect_bad many-aliased-extents-within-5s aliased-extents-4000.json 'data_fork[1].startblock' "physical blocks overlap" \
	-- "$U" run aliased-extents-4000.json

# -------------------------------------------------------------- geometry
case_kind ag-blocks-0 geometry.ag_blocks "from 2" geometry="$(geo ag_blocks 0)"
case_kind ag-blocks-1 geometry.ag_blocks "from 2" geometry="$(geo ag_blocks 1)"
case_kind ag-count-0 geometry.ag_count "from 1" geometry="$(geo ag_count 0)"
case_kind block-size-not-power-of-two geometry.block_size "power of two" geometry="$(geo block_size 3000)"
case_kind block-size-below-512 geometry.block_size "512" geometry="$(geo block_size 256)"
case_kind block-size-512-with-reflink geometry.block_size "at least 1024 with geometry.reflink" geometry="$(geo block_size 512)"
case_kind awu-min-above-awu-max device.awu_min "at most awu_max" device='{"awu_min": 65536, "awu_max": 4096}'
case_kind awu-not-power-of-two device.awu_max "power of two" device='{"awu_min": 4096, "awu_max": 12288}'
case_kind awu-only-one-zero device "both 0" device='{"awu_min": 0, "awu_max": 65536}'
case_kind max-atomic-ioend-0 geometry.x_max_atomic_ioend "at least 1" geometry="${GEO%\}}, \"x_max_atomic_ioend\": 0}"

# ---------------------------------------------------------------- nesting
case_kind deeply-nested-json "" "nested" extra="\"x_deep\": $(printf '%40s' | tr ' ' '[')$(printf '%40s' | tr ' ' ']')"
text_kind nested-100000-levels "" "nested" "$(printf '%100000s' | tr ' ' '[')"

# ------------------------------------------------------------ files
newdir
truncate -s 17M "$W/very-large.json"
expect_bad very-large-file-17MiB very-large.json "" "at most 16777216" -- "$U" run very-large.json

newdir
mkdir "$W/a-directory"
expect_bad directory-as-case-to-run a-directory "" "directory" -- "$U" run a-directory

newdir
expect_bad missing-file no-such-case.json "" "no such file" -- "$U" run no-such-case.json

newdir
mkcase "$W/unreadable.json"
chmod 000 "$W/unreadable.json"
if [ ! -r "$W/unreadable.json" ]; then
	expect_bad unreadable-file unreadable.json "" "cannot open" -- "$U" run unreadable.json
elif [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null && mkcase "$W/readable.json" &&
	setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$U" -a -r "$W/readable.json" 2>/dev/null; then
	# root reads anything: run untorn as nobody, to whom the file is unreadable
	expect_bad unreadable-file-as-nobody unreadable.json "" "cannot open" -- \
		setpriv --reuid=65534 --regid=65534 --clear-groups "$U" run unreadable.json
else
	echo "note: unreadable-file skipped (running as root, and cannot run untorn as another user)"
fi

newdir
if mkfifo "$W/fifo.json" 2>/dev/null; then
	LIMIT=10
	expect_bad fifo-as-case-must-not-block fifo.json "" "cannot read" -- "$U" run fifo.json
else
	echo "note: fifo-as-case skipped (mkfifo failed)"
fi

newdir
ln -s loop.json "$W/loop.json"
expect_bad symlink-loop loop.json "" "" -- "$U" run loop.json

newdir
ln -s nowhere.json "$W/dangling.json"
expect_bad dangling-symlink dangling.json "" "no such file" -- "$U" run dangling.json

# ------------------------------------------------ commands and partial output
newdir
mkcase "$W/good.json"
mkcase "$W/bad.json" write='{"offset": -1, "length": 65536}'
expect_bad run-good-then-bad-prints-nothing bad.json write.offset "unsigned integer" -- "$U" run good.json bad.json

newdir
mkdir "$W/cases"
mkcase "$W/cases/a-good.json"
mkcase "$W/cases/b-bad.json" variant='"v7"'
expect_bad replay-folder-with-one-bad-case b-bad.json variant '"v6.16"' -- "$U" replay cases

newdir
mkdir "$W/empty"
expect_bad replay-empty-folder empty "" "no case files" -- "$U" replay empty

newdir
mkcase "$W/bad.json" geometry="$(geo ag_blocks 1)"
expect_bad minimize-bad-case-writes-nothing bad.json geometry.ag_blocks "from 2" -- "$U" minimize bad.json -o min.json

newdir
mkcase "$W/clean.json"
expect_bad minimize-clean-case-refused clean.json "" "breaks no invariant" -- "$U" minimize clean.json -o min.json

newdir
FINDING=$ROOT/corpus/findings/v6.16/v6.16-cow-delalloc-handed-to-dio-eio.json
if [ -f "$FINDING" ]; then
	cp "$FINDING" "$W/finding.json"
	LIMIT=120
	expect_bad minimize-output-folder-missing no-such-folder "" "cannot create" -- \
		"$U" minimize finding.json -o no-such-folder/min.json
else
	fail minimize-output-folder-missing "$FINDING is missing"
fi

newdir
mkcase "$W/bad-known.json" format='"untorn-case/0"'
LIMIT=120
expect_bad check-bad-known-case-writes-nothing bad-known.json format '"untorn-case/1"' -- \
	"$U" check --variant v6.18 --count 1 --known bad-known.json --out out

newdir
echo "not a folder" >"$W/out-is-a-file"
LIMIT=120
expect_bad check-out-is-a-file out-is-a-file "" "cannot create" -- \
	"$U" check --variant v6.18 --count 1 --out out-is-a-file

# ------------------------------------------------------------ command line
# Each check run has a small --count so that a wrongly accepted value ends fast.
cli() { # cli KIND WHAT ARGS...
	local kind=$1 what=$2
	shift 2
	newdir
	LIMIT=60
	expect_bad "$kind" "" "" "$what" -- "$U" "$@"
}
cli unknown-option "--frobnicate" run --frobnicate x.json
cli unknown-subcommand "subcommand" frobnicate
cli no-subcommand "subcommand"
cli run-without-cases "required" run
cli replay-without-paths "required" replay
cli minimize-without-case "required" minimize
cli check-count-0 "--count" check --variant v6.18 --count 0 --out out
cli check-count-not-a-number "--count" check --variant v6.18 --count ten --out out
cli check-jobs-0 "--jobs" check --variant v6.18 --count 1 --jobs 0 --out out
cli check-jobs-missing-value "--jobs" check --variant v6.18 --count 1 --out out --jobs
cli check-shard-0-of-2 "--shard" check --variant v6.18 --count 1 --shard 0/2 --out out
cli check-shard-3-of-2 "--shard" check --variant v6.18 --count 1 --shard 3/2 --out out
cli check-shard-x "--shard" check --variant v6.18 --count 1 --shard x --out out
cli check-shard-trailing-garbage-1/2x "--shard" check --variant v6.18 --count 1 --shard 1/2x --out out
cli check-shard-negative-1/-1 "--shard" check --variant v6.18 --count 1 --shard 1/-1 --out out
cli check-variant-v9 "--variant" check --variant v9 --count 1 --out out
cli check-seed-negative "--seed" check --variant v6.18 --count 1 --seed -1 --out out
cli check-z3-every-negative "--z3-every" check --variant v6.18 --count 1 --z3-every -1 --out out
cli check-solver-timeout-0 "--solver-timeout" check --variant v6.18 --count 1 --solver-timeout 0 --out out
cli run-engine-unknown "--engine" run --engine foo x.json
cli prove-jobs-too-many "--jobs" prove --variant v6.18 --jobs 300 --out out
cli prove-jobs-negative "--jobs" prove --variant v6.18 --jobs -1 --out out
cli diff-jobs-not-a-number "--jobs" diff rfc-v1 v6.18 --jobs two --out out
cli prove-max-paths-0 "--max-paths" prove --variant v6.18 --max-paths 0 --out out
cli prove-time-limit-negative "--time-limit" prove --variant v6.18 --time-limit -1 --out out
cli diff-time-limit-word "--time-limit" diff v6.16 v6.18 --time-limit soon --out out
cli census-count-0 "--count" census --variant v6.18 --count 0
cli census-count-word "--count" census --variant v6.18 --count many
cli census-geometry-5 "--geometry" census --variant v6.18 --geometry 5
cli census-unknown-variant "--variant" census --variant v6.17
cli run-solver-timeout-0 "--solver-timeout" run --solver-timeout 0 x.json
cli bench-count-0 "--count" bench --count 0
cli bench-variant-v9 "--variant" bench --variant v9

# ---------------------------- valid but pathological inputs: never hang
# normal_exit KIND LIMIT FILE: `untorn run` on FILE (in a fresh folder) must
# end within LIMIT seconds with a normal status (0, 2, 5 or 10).
normal_exit() {
	local kind=$1 file=$3 rc=0
	LIMIT=$2
	(cd "$W" && timeout -k 5 "$LIMIT" "$U" run --engine compiled "$file"; exit $?) >"$T/cap/out" 2>"$T/cap/err" </dev/null || rc=$?
	case $rc in
	0 | 2 | 5 | 10) ok "$kind" ;;
	*) fail "$kind" "$(describe_rc "$rc"), expected 0, 2, 5 or 10 -- stderr: $(head -c 300 "$T/cap/err" | tr '\n' ' ')" ;;
	esac
	LIMIT=30
}
for f in "$DATA"/pathological/*.json; do
	[ -f "$f" ] || continue
	newdir
	cp "$f" "$W/input.json"
	normal_exit "pathological $(basename "$f" .json) within 10s" 10 input.json
done
# 200000 extents (14 MB, under the 16 MiB limit): loading must stay near
# linear (a pairwise physical-overlap check is 2*10^10 comparisons).
newdir
{
	printf '{"format": "untorn-case/1", "name": "many-extents", "variant": "v6.16", "geometry": {"block_size": 4096, "ag_blocks": 2147483648, "ag_count": 1, "reflink": true, "cowextsize": 0}, "device": %s, "data_fork": [' "$DEV"
	printf '{"startoff": 0, "startblock": 16, "blockcount": 1, "state": "norm"}'
	for ((i = 1; i < 200000; i++)); do
		printf ',{"startoff":%d,"startblock":%d,"blockcount":1,"state":"norm"}' $((i * 2)) $((i * 2 + 16))
	done
	printf '], "write": {"offset": 0, "length": 4096}}\n'
} >"$W/many-extents.json"
normal_exit "pathological many-extents-200000 within 20s" 20 many-extents.json

# ------------------------------------- fuzz regressions: never crash or hang
# Every input libFuzzer ever found: untorn must answer it with a normal exit
# status (0 clean, 2 bad input, 5 inconclusive, 10 found) in time.
for f in "$DATA"/fuzz-regressions/*; do
	[ -f "$f" ] || continue
	kind="fuzz-regression $(basename "$f")"
	newdir
	cp "$f" "$W/input.json"
	normal_exit "$kind" 20 input.json
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
