#!/usr/bin/env bash
# untorn replay --as VARIANT: the base's cases run under VARIANT against their
# own expectations, the others are skipped and counted.
#   - a what-if of v6.16 that changes nothing v6.16's cases see passes them
#     all (exit 0) and skips every other case;
#   - a what-if that changes an outcome fails, naming the case and what changed
#     (exit 1);
#   - cases of another variant only: all skipped (exit 0);
#   - an unknown variant: exit 2, the known ones listed.
# usage: bash tests/cli/replay_as.sh build/checker/untorn
set -u
U=$1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
C=$ROOT/corpus
fail=0
check() { # name, condition result
	if [ "$2" -eq 0 ]; then echo "ok $1"; else echo "FAIL $1"; fail=1; fi
}

total=$(find "$C" -name '*.json' | wc -l)
out=$("$U" replay --as v6.16+rfc-alloc-check "$C")
rc=$?
sum=$(tail -1 <<<"$out")
ran=$(grep -c '^PASS .*: under v6.16+rfc-alloc-check ' <<<"$out")
base=$(grep -lE '"variant": ?"v6.16"' -r "$C" --include='*.json' | wc -l)
[ $rc -eq 0 ] && [ "$ran" -eq "$base" ] && [ "$sum" = "$base passed, 0 failed, $((total - base)) skipped (not v6.16 cases)" ]
check "v6.16 cases under v6.16+rfc-alloc-check ($sum)" $?

out=$("$U" replay --as rfc-v1+dax-flags "$C/whatif/rfc-v1-whatif-iomap-dax-without-direct-loses-write.json")
rc=$?
[ $rc -eq 1 ] && grep -q '^FAIL .*rfc-v1-whatif-iomap-dax-without-direct-loses-write.json: under rfc-v1+dax-flags ok sw clean -- verdict clean, expected violation' <<<"$out" &&
	[ "$(tail -1 <<<"$out")" = "0 passed, 1 failed, 0 skipped (not rfc-v1 cases)" ]
check "a changed outcome fails and says what changed" $?

out=$("$U" replay --as v6.16+rfc-alloc-check "$C/fstests/v6.18-hole-1block-hw.json" "$C/fstests/rfc-v1-hole-1block-hw.json")
rc=$?
[ $rc -eq 0 ] && [ "$out" = "0 passed, 0 failed, 2 skipped (not v6.16 cases)" ]
check "other variants' cases are skipped and counted" $?

err=$("$U" replay --as no-such-variant "$C/fstests/v6.18-hole-1block-hw.json" 2>&1 >/dev/null)
rc=$?
[ $rc -eq 2 ] && grep -q 'no-such-variant: unknown variant; expected one of .*v6.18' <<<"$err"
check "unknown variant: exit 2" $?
exit $fail
