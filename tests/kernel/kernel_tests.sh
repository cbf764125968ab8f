#!/usr/bin/env bash
# The kernel tests (CTest): `untorn kernel` against the running kernel's XFS.
#   kernel_tests.sh UNTORN TEST
# They need root, a loop device, XFS, mkfs.xfs and tracefs; without them they
# fail with untorn's message naming what is missing (exit 4).  Only
# UNTORN_KERNEL_TESTS=off turns them off: each then says so and exits 77,
# which CTest reports as skipped, never as passed.
set -uo pipefail
U=$1
T=$2
here=$(cd "$(dirname "$0")" && pwd)
if [ "${UNTORN_KERNEL_TESTS:-on}" = off ]; then
	echo "kernel test '$T' turned off by UNTORN_KERNEL_TESTS=off"
	exit 77
fi
fail() { echo "FAIL: $*"; exit 1; }
# Nothing of ours may stay mounted or attached after a run.
leftovers() { { losetup -a; grep -E ' (xfs|tracefs) ' /proc/mounts; } 2>/dev/null | grep "untorn-kern-$1-"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

case $T in
probe)
	"$U" kernel probe || fail "kernel probe exited $? (the kernel's atomic limits and impl's differ, or a capability is missing)"
	;;
fuzz)
	"$U" kernel fuzz --count 400 --seed 1 --out "$tmp/out" | tee "$tmp/log"
	rc=${PIPESTATUS[0]}
	grep -q '^400 trials' "$tmp/log" || fail "fuzz did not run 400 trials"
	[ "$rc" -eq 0 ] || fail "fuzz found disagreements (exit $rc); see $tmp/out"
	;;
run)
	"$U" kernel run "$here"/*.script.json || fail "kernel run exited $?"
	;;
comparator)
	# rfc-v1 has no software path without hardware atomics: the comparison
	# must see the kernel succeed where the model refuses.
	"$U" kernel run --variant rfc-v1 "$here/shared-head-cowextsize-16k.script.json" >"$tmp/log"
	rc=$?
	cat "$tmp/log"
	[ "$rc" -eq 10 ] || fail "expected exit 10 (a disagreement), got $rc"
	grep -q 'DISAGREE    result: kernel ok 16384, model EOPNOTSUPP' "$tmp/log" || fail "the result disagreement is not shown"
	grep -q 'DISAGREE    data_fork' "$tmp/log" || fail "the data fork disagreement is not shown"
	;;
minimize)
	# rfc-v1 disagrees with the kernel on most trials: every distinct
	# disagreement is saved minimized, and the saved script still disagrees.
	"$U" kernel fuzz --variant rfc-v1 --count 40 --seed 1 --out "$tmp/out" >"$tmp/log"
	rc=$?
	cat "$tmp/log"
	[ "$rc" -eq 10 ] || fail "expected exit 10, got $rc"
	n=0
	for f in "$tmp"/out/*.script.json; do
		n=$((n + 1))
		grep -q '"note": "minimized from trial' "$f" || fail "$f: not marked minimized"
		ops=$(grep -c '"op":' "$f")
		[ "$ops" -le 1 ] || fail "$f: $ops layout operations left; the result disagreement needs none"
		"$U" kernel run --variant rfc-v1 "$f" >/dev/null
		[ $? -eq 10 ] || fail "$f: the minimized script no longer disagrees"
		[ -f "${f%.script.json}.case.json" ] && [ -f "${f%.script.json}.txt" ] || fail "$f: no case or text beside it"
	done
	[ "$n" -ge 2 ] || fail "expected at least two distinct disagreements saved, got $n"
	;;
interrupt)
	"$U" kernel fuzz --count 1000000 --seed 3 --out "$tmp/out" >"$tmp/log" 2>&1 &
	pid=$!
	sleep 3
	kill -INT $pid
	wait $pid
	rc=$?
	cat "$tmp/log"
	[ "$rc" -eq 130 ] || fail "expected exit 130 after SIGINT, got $rc"
	grep -q '"interrupted": true' "$tmp/out/report.json" || fail "no interrupted report"
	[ -z "$(leftovers $pid)" ] || fail "left behind: $(leftovers $pid)"
	ls -d "${TMPDIR:-/tmp}"/untorn-kern-$pid-* 2>/dev/null && fail "folder left behind"
	;;
killed)
	"$U" kernel fuzz --count 1000000 --seed 4 >/dev/null 2>&1 &
	pid=$!
	sleep 3
	kill -KILL $pid
	wait $pid 2>/dev/null
	[ -n "$(leftovers $pid)" ] || fail "SIGKILL left nothing to clean up: the test proves nothing"
	"$U" kernel probe --geometry 4096:20011:4 >/dev/null 2>"$tmp/err" || fail "probe after a killed run exited $?: $(cat "$tmp/err")"
	cat "$tmp/err"
	[ -z "$(leftovers $pid)" ] || fail "the killed run's leftovers were not cleaned: $(leftovers $pid)"
	ls -d "${TMPDIR:-/tmp}"/untorn-kern-$pid-* 2>/dev/null && fail "the killed run's folder is still there"
	;;
not_root)
	command -v setpriv >/dev/null || fail "setpriv (util-linux) is needed for this test"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$U" kernel probe >"$tmp/log" 2>&1
	rc=$?
	cat "$tmp/log"
	[ "$rc" -eq 4 ] || fail "expected exit 4 without root, got $rc"
	grep -q 'this machine cannot do it: root' "$tmp/log" || fail "the message does not name root"
	;;
bad_input)
	printf '{"format":"untorn-kernel-script/1","ops":[{"op":"write","offset":100,"length":4096}],"writes":[{"offset":0,"length":4096}]}' >"$tmp/bad.json"
	"$U" kernel run "$tmp/bad.json" 2>"$tmp/err"
	rc=$?
	cat "$tmp/err"
	[ "$rc" -eq 2 ] || fail "expected exit 2, got $rc"
	grep -q "bad.json: ops\[0\].offset: expected a multiple of the block size 4096, got 100" "$tmp/err" || fail "the message does not name the file, path and expectation"
	"$U" kernel fuzz --geometry 4096:20011 2>"$tmp/err"
	rc=$?
	[ "$rc" -eq 2 ] || fail "a bad --geometry: expected exit 2, got $rc"
	"$U" kernel fuzz --count 1 --geometry 4096:1000:1 2>"$tmp/err"
	rc=$?
	cat "$tmp/err"
	[ "$rc" -eq 2 ] && grep -q 'mkfs.xfs refused' "$tmp/err" || fail "a geometry mkfs refuses: expected exit 2 naming mkfs, got $rc"
	;;
*)
	fail "unknown kernel test $T"
	;;
esac
echo "kernel test '$T' passed"
