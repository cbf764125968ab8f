#!/usr/bin/env bash
# Every command accepts a patch variant (impl/variants/patches/NAME.patch):
# run, replay, check, explain, export, minimize, prove and diff, each on a
# case or bounds small enough for CI, each with its ordinary exit code.
# Usage: patch_variant.sh UNTORN NAME REPO WORKDIR
set -u
U=$1 V=$2 REPO=$3 W=$4
rm -rf "$W" && mkdir -p "$W" || exit 2
fail=0
expect() { # RC NAME CMD...: runs CMD, wants exit RC
	local want=$1 name=$2
	shift 2
	"$@" >"$W/$name.out" 2>"$W/$name.err"
	local rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL $name: exit $rc, expected $want"
		sed 's/^/    /' "$W/$name.err" | head -5
		fail=1
	else
		echo "ok   $name"
	fi
}
# A case of the patch variant: the RFC's EINVAL finding with its variant
# changed (the patch leaves that code alone: the same violation).
sed -E "s/\"variant\": *\"[^\"]*\"/\"variant\": \"$V\"/" \
	"$REPO/corpus/findings/rfc-v1/rfc-v1-span-checked-before-cow-trim-einval.json" >"$W/case.json"
grep -q "\"variant\": \"$V\"" "$W/case.json" || { echo "FAIL: could not make the case"; exit 1; }

expect 0 run "$U" run "$W/case.json"
grep -q "$V" "$W/run.out" || { echo "FAIL run: the trace does not name $V"; fail=1; }
expect 0 replay "$U" replay "$W/case.json"
expect 10 check "$U" check --variant "$V" --count 2000 --seed 1 --out "$W/check"
grep -q "violation $V \[hw_mapping_contract, no_spurious_failure\]" "$W/check.out" ||
	{ echo "FAIL check: the RFC's finding is not reported under $V as under rfc-v1"; fail=1; }
expect 0 explain "$U" explain "$W/case.json"
expect 0 export "$U" export "$W/case.json" --xfs-io -o "$W/case.sh"
expect 0 minimize "$U" minimize "$W/case.json" -o "$W/min.json"
grep -q "\"variant\": \"$V\"" "$W/min.json" || { echo "FAIL minimize: the variant is lost"; fail=1; }
expect 0 prove "$U" prove --variant "$V" --geometry 1 --data-extents 0 --cow-extents 0 --refcount 0 --alloc 0 --out "$W/prove"
expect 0 diff "$U" diff "$V" rfc-v1 --geometry 1 --data-extents 0 --cow-extents 0 --refcount 0 --alloc 0 --out "$W/diff"
expect 0 census "$U" census --variant "$V" --geometry 1 --data-extents 0 --cow-extents 0 --refcount 0 --alloc 0 --count 1000
expect 0 bench "$U" bench --variant "$V" --count 1000 --z3-sample 0
expect 2 unknown-variant "$U" check --variant "$V-no-such" --count 1
grep -q "$V" "$W/unknown-variant.err" || { echo "FAIL: the error for an unknown variant does not list $V"; fail=1; }
exit $fail
