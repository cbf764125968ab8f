#!/usr/bin/env bash
# Ctrl-C during `untorn prove` / `untorn diff` stops them where they are:
# the report says inconclusive (interrupted), no query file is written for a
# query that was only interrupted, and the exit code is 130.  --time-limit
# stops them the same way, inconclusive (exit 5).
# Usage: interrupt_prove.sh UNTORN
set -u
U=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
# bounds that take minutes (an allocator answer on the hardware profile)
# (no random layouts first: this is about stopping the exhaustive exploration)
bounds=(--geometry 1 --data-extents 1 --cow-extents 1 --refcount 0 --alloc 1 --jobs 2 --random 0)
run() { # NAME ARGS...: runs untorn ARGS in the background and interrupts it
	local name=$1
	shift
	"$U" "$@" "${bounds[@]}" --out "$dir/$name" >"$dir/$name.stdout" 2>"$dir/$name.stderr" &
	local pid=$!
	# A background job starts with SIGINT ignored until untorn installs its
	# handler: repeat the signal until it exits, and give up after 60 s.
	sleep 2
	for _ in $(seq 60); do
		kill -INT "$pid" 2>/dev/null || break
		sleep 1
	done
	kill -KILL "$pid" 2>/dev/null && { echo "FAIL: $name still running 60 s after the first SIGINT"; fail=1; }
	wait "$pid"
	local rc=$?
	[ "$rc" -eq 130 ] || { echo "FAIL: $name exit $rc, expected 130"; fail=1; }
	grep -q "interrupted, with [0-9]* of [0-9]* sweeps finished" "$dir/$name.stdout" ||
		{ echo "FAIL: $name does not say it was interrupted"; cat "$dir/$name.stdout"; fail=1; }
	grep -q "proved\|equivalent" "$dir/$name.stdout" &&
		{ echo "FAIL: $name claims a proof it did not finish"; fail=1; }
	ls "$dir/$name" 2>/dev/null | grep -q '\.smt2$' &&
		{ echo "FAIL: $name wrote an interrupted query as undecided"; fail=1; }
}
run prove prove --variant v6.18
run diff diff v6.16 v6.16+rfc-alloc-check

# --time-limit: the same stop, from within; inconclusive (exit 5), saying so
# and up to what size the answer is complete.  (`timeout` only keeps a
# broken build from hanging the suite.)
limited() { # NAME ARGS...
	local name=$1
	shift
	timeout -s KILL 60 "$U" "$@" "${bounds[@]}" --time-limit 2 --json --out "$dir/$name" \
		>"$dir/$name.stdout" 2>"$dir/$name.stderr"
	local rc=$?
	[ "$rc" -eq 5 ] || { echo "FAIL: $name --time-limit 2: exit $rc, expected 5"; fail=1; }
	# (how far it got depends on the machine: the unit tests pin that down)
	grep -q '"time limit reached, with [0-9]* of [0-9]* sweeps finished; \(complete up to [0-9]* extents\|not complete for any size\)' "$dir/$name.stdout" ||
		{ echo "FAIL: $name does not say the time limit was reached"; cat "$dir/$name.stdout"; fail=1; }
	grep -q '"complete_up_to":\([0-9]*\|null\)[,}]' "$dir/$name.stdout" ||
		{ echo "FAIL: $name: no complete_up_to in the JSON"; fail=1; }
	ls "$dir/$name" 2>/dev/null | grep -q '\.smt2$' &&
		{ echo "FAIL: $name wrote a query cut by the time limit as undecided"; fail=1; }
}
limited prove-limited prove --variant v6.18
limited diff-limited diff v6.16 v6.16+rfc-alloc-check
if [ "$fail" -eq 0 ]; then echo "4 passed, 0 failed"; else echo "some of 4 failed"; fi
exit "$fail"
