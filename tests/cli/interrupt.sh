#!/usr/bin/env bash
# Ctrl-C during `untorn check` leaves a valid partial report and exits 130.
# Usage: interrupt.sh UNTORN
set -u
U=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$U" check --count 100000000 --jobs 2 --out "$dir/out" >"$dir/stdout" 2>"$dir/stderr" &
pid=$!
# A background job starts with SIGINT ignored until untorn installs its
# handler, so on a loaded machine one early signal can be lost: repeat it
# (each sets the same flag) until untorn exits, and give up after 60 s.
sleep 2
for _ in $(seq 60); do
	kill -INT "$pid" 2>/dev/null || break
	sleep 1
done
kill -KILL "$pid" 2>/dev/null && echo "FAIL: still running 60 s after the first SIGINT"
wait "$pid"
rc=$?
fail=0
[ "$rc" -eq 130 ] || { echo "FAIL: exit $rc, expected 130"; fail=1; }
[ -f "$dir/out/report.json" ] || { echo "FAIL: no report.json"; fail=1; }
grep -q '"interrupted": true' "$dir/out/report.json" 2>/dev/null || { echo "FAIL: report does not say interrupted"; fail=1; }
# valid JSON: the closing brace is the report's last line, and no temporary file is left
tail -n 1 "$dir/out/report.json" | grep -qx '}' || { echo "FAIL: report.json is not complete"; fail=1; }
ls -a "$dir/out" | grep -q '\.tmp\.' && { echo "FAIL: a temporary file was left behind"; fail=1; }
grep -q "INTERRUPTED" "$dir/stdout" || { echo "FAIL: the summary does not say it was interrupted"; fail=1; }
if [ "$fail" -eq 0 ]; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; fi
exit "$fail"
