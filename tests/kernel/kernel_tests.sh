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
crash)
	# atomic writes, a shutdown before, during or after them, log recovery:
	# nothing torn, nothing outside changed, every recovered layout one of
	# the model's crash states; the known kernel durability bug is counted
	# apart (docs/design/durability-after-shutdown.md) and does not fail
	"$U" kernel crash --count 100 --seed 1 --out "$tmp/out" | tee "$tmp/log"
	rc=${PIPESTATUS[0]}
	grep -q ' 100 crash trials, 0 with findings' "$tmp/log" || fail "crash trials with findings; see $tmp/out"
	grep -q 'recovered layout: write 0, 2 of 2 transactions' "$tmp/log" || fail "no trial recovered a completed write: the trials prove little"
	grep -q 'recovered layout: before any write' "$tmp/log" || fail "no trial recovered the layout before the writes"
	[ "$rc" -eq 0 ] || fail "exit $rc"
	;;
crash_control)
	# plain direct writes overwrite written blocks in place, which no crash
	# state of an atomic write allows: the layout check must see it
	"$U" kernel crash --plain --count 100 --seed 1 >"$tmp/log"
	rc=$?
	cat "$tmp/log"
	[ "$rc" -eq 10 ] || fail "the control (plain writes) must have findings: exit $rc"
	grep -q 'finding layout:' "$tmp/log" || fail "the layout check saw nothing in the control"
	;;
race)
	"$U" kernel race --count 100 --seed 1 --out "$tmp/out" | tee "$tmp/log"
	rc=${PIPESTATUS[0]}
	grep -q ' 100 race trials, 0 with findings' "$tmp/log" || fail "race trials with findings; see $tmp/out"
	grep -q 'with a crash' "$tmp/log" && grep -q 'overlapping pairs' "$tmp/log" || fail "the trials lack crashes or overlapping writers"
	# each writer of a race without a crash: its result and sw ->iomap_begin
	# calls are an outcome the model allows it (alone or interleaved)
	grep -Eq 'writers the model explains as if alone: [0-9]+' "$tmp/log" || fail "no writer was compared with the model"
	[ "$rc" -eq 0 ] || fail "exit $rc"
	;;
race_control)
	# the RFC's model has no software path without device atomics: the
	# kernel's writes are outcomes it does not allow, and the race must say so
	"$U" kernel race --count 30 --seed 1 --variant rfc-v1 >"$tmp/log"
	rc=$?
	cat "$tmp/log"
	[ "$rc" -eq 10 ] || fail "a wrong model must give findings: exit $rc"
	grep -q 'finding model:' "$tmp/log" || fail "the model comparison saw nothing in the control"
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
	grep -q '^untorn kernel: --geometry: BLOCK_SIZE:AG_BLOCKS:AG_COUNT' "$tmp/err" || fail "a bad --geometry: the message does not name the option: $(cat "$tmp/err")"
	"$U" kernel crash --geometry 1000:1:1 2>"$tmp/err"
	[ $? -eq 2 ] || fail "kernel crash with a bad --geometry: expected exit 2"
	"$U" kernel fuzz --count 1 --geometry 4096:1000:1 2>"$tmp/err"
	rc=$?
	cat "$tmp/err"
	[ "$rc" -eq 2 ] && grep -q 'mkfs.xfs refused' "$tmp/err" || fail "a geometry mkfs refuses: expected exit 2 naming mkfs, got $rc"
	# a valid case that user space cannot build (a CoW fork) is not bad
	# input: NOT REPRODUCED, exit 4, as an exported script says it
	"$U" kernel run "$here/../../corpus/findings/v6.16/v6.16-hole-runs-to-next-cow-extent-written.json" 2>"$tmp/err"
	rc=$?
	cat "$tmp/err"
	[ "$rc" -eq 4 ] || fail "a case with a CoW fork: expected exit 4, got $rc"
	grep -q 'NOT REPRODUCED: .*v6.16-hole-runs-to-next-cow-extent-written.json: cow_fork' "$tmp/err" || fail "the message does not say NOT REPRODUCED, naming the file and cow_fork"
	;;
export_run)
	# The exported reproducers, run for real on a raw scratch device each:
	# corpus/kernel's cases were read back from this very kernel, so each
	# must come out as expected; a case the script cannot build (a written
	# CoW extent) must say NOT REPRODUCED, never "outcome as expected".
	root=$(cd "$here/../.." && pwd)
	n=$(ls "$root"/corpus/kernel/*.json | wc -l)
	"$U" kernel export-run "$root/corpus/kernel" >"$tmp/log" 2>&1 &
	pid=$!
	wait $pid
	rc=$?
	cat "$tmp/log"
	[ "$rc" -eq 0 ] || fail "export-run of corpus/kernel exited $rc"
	[ "$(grep -c ': outcome as expected$' "$tmp/log")" -eq "$n" ] || fail "not all $n cases of corpus/kernel came out as expected"
	grep -q "^$n expected, 0 not reproduced, 0 differ, 0 data wrong$" "$tmp/log" || fail "no summary line"
	[ -z "$(leftovers $pid)" ] || fail "left behind: $(leftovers $pid)"
	ls -d "${TMPDIR:-/tmp}"/untorn-kern-$pid-* 2>/dev/null && fail "folder left behind"
	w="$root/corpus/findings/v6.16/v6.16-hole-runs-to-next-cow-extent-written.json"
	"$U" kernel export-run --verbose "$w" >"$tmp/log" 2>&1 &
	pid=$!
	wait $pid
	rc=$?
	cat "$tmp/log"
	[ "$rc" -eq 0 ] || fail "export-run of a case it cannot build exited $rc, expected 0 (not reproduced)"
	grep -q "v6.16-hole-runs-to-next-cow-extent-written.json: NOT REPRODUCED: CoW fork: a written CoW extent" "$tmp/log" || fail "not reported NOT REPRODUCED"
	grep -q "outcome as expected" "$tmp/log" && fail "a case the script cannot build came out as expected"
	grep -q "^0 expected, 1 not reproduced, 0 differ, 0 data wrong$" "$tmp/log" || fail "no summary line"
	grep -q "not reproduced: v6.16-hole-runs-to-next-cow-extent-written" "$tmp/log" || fail "the exit-0 line does not name the case not reproduced"
	[ -z "$(leftovers $pid)" ] || fail "left behind: $(leftovers $pid)"
	# the script itself: its own exit status for NOT REPRODUCED (4), before it touches any device
	"$U" export "$w" --xfs-io -o "$tmp/w.sh" || fail "export exited $?"
	SCRATCH_DEV=/nonexistent SCRATCH_MNT=/nonexistent bash "$tmp/w.sh" >"$tmp/out" 2>&1
	rc=$?
	cat "$tmp/out"
	[ "$rc" -eq 4 ] || fail "the script exited $rc, expected 4 (NOT REPRODUCED)"
	grep -q "^untorn-v6.16-hole-runs-to-next-cow-extent-written: NOT REPRODUCED: " "$tmp/out" || fail "no NOT REPRODUCED line"
	grep -q "outcome as expected" "$tmp/out" && fail "the script said outcome as expected"
	;;
awrite)
	# untorn kernel awrite on an XFS of this test's own (a loop device).
	img="$tmp/img"
	mnt="$tmp/mnt"
	mkdir "$mnt"
	truncate -s 320M "$img"
	mkfs.xfs -q -f -m reflink=1 "$img" || fail "mkfs.xfs exited $?"
	dev=$(losetup -f --show "$img") || fail "losetup exited $?"
	trap 'umount "$mnt" 2>/dev/null; losetup -d "$dev" 2>/dev/null; rm -rf "$tmp"' EXIT
	mount -t xfs "$dev" "$mnt" || fail "mount exited $?"
	f=$mnt/f
	truncate -s 1M "$f"
	"$U" kernel awrite "$f" 0 16384 --dsync >"$tmp/out" 2>&1
	rc=$?
	cat "$tmp/out"
	[ "$rc" -eq 0 ] || fail "a 16 KiB atomic write exited $rc"
	[ "$(cat "$tmp/out")" = "wrote 16384/16384 bytes at offset 0" ] || fail "not xfs_io's line"
	"$U" kernel awrite "$f" 16384 4096 --byte 0x5a >"$tmp/out" 2>&1 || fail "a 4 KiB write with --byte exited $?"
	head -c 16384 /dev/zero | tr '\000' '\245' >"$tmp/want"
	head -c 4096 /dev/zero | tr '\000' '\132' >>"$tmp/want"
	cmp "$tmp/want" <(head -c 20480 "$f") || fail "the file does not read 0xa5 x 16384, 0x5a x 4096"
	"$U" kernel awrite "$f" 512 4096 >"$tmp/out" 2>&1
	rc=$?
	cat "$tmp/out"
	[ "$rc" -eq 1 ] || fail "a misaligned atomic write exited $rc, expected 1"
	[ "$(cat "$tmp/out")" = "pwrite: Invalid argument" ] || fail "not xfs_io's error line"
	for bad in "$f x 4096" "$f 0" "$f 0 0" "$f 0 4096 --byte 256" "$mnt/absent 0 4096"; do
		# shellcheck disable=SC2086
		"$U" kernel awrite $bad >"$tmp/out" 2>&1
		rc=$?
		[ "$rc" -eq 2 ] || fail "awrite $bad: expected exit 2 (bad usage), got $rc: $(cat "$tmp/out")"
	done
	;;
*)
	fail "unknown kernel test $T"
	;;
esac
echo "kernel test '$T' passed"
