#!/usr/bin/env bash
# `untorn kernel fuzz` throughput on this machine: trials per second of the
# real design (one scratch filesystem, a remount only when a layout leaves
# CoW fork state) against a baseline measured in the same run on the same
# trials (a remount after every layout), and their ratio.  Root needed.
#   scripts/bench-kernel.sh [COUNT] [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-2000}
SEED=${2:-1}
BUILD_TARGET=untorn bash scripts/setup.sh >/dev/null
U=./build/checker/untorn
rate() { "$U" kernel fuzz --count "$COUNT" --seed "$SEED" --json "$@" | sed -n 's/.*"trials_per_second":\([0-9.]*\).*/\1/p'; }
# alternate the two, twice each, so machine noise hits both
a1=$(rate); b1=$(rate --remount-every-trial); a2=$(rate); b2=$(rate --remount-every-trial)
python3 - "$a1" "$a2" "$b1" "$b2" "$COUNT" "$SEED" <<'PY'
import sys
a1, a2, b1, b2 = map(float, sys.argv[1:5])
a, b = (a1 + a2) / 2, (b1 + b2) / 2
print(f"kernel fuzz, {sys.argv[5]} trials, seed {sys.argv[6]}:")
print(f"  remount when needed   {a:8.1f} trials/s  ({a1:.1f}, {a2:.1f})")
print(f"  remount every trial   {b:8.1f} trials/s  ({b1:.1f}, {b2:.1f})  (baseline)")
print(f"  ratio                 {a / b:8.2f}x")
PY
