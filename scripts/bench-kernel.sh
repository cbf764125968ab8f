#!/usr/bin/env bash
# Throughput of the kernel trials on this machine, each as a ratio against a
# baseline measured in the same run (these machines are noisy):
#   fuzz:  the real design (one scratch filesystem, a remount only when a
#          layout leaves CoW fork state) against a remount after every layout;
#   crash, race: trials per second, and their cost against a fuzz trial.
# Root needed.   scripts/bench-kernel.sh [COUNT] [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-2000}
SEED=${2:-1}
BUILD_TARGET=untorn bash scripts/setup.sh >/dev/null
U=./build/checker/untorn
rate() { "$U" kernel "$@" --count "$COUNT" --seed "$SEED" --json | sed -n 's/.*"trials_per_second":\([0-9.e+]*\).*/\1/p'; }
# alternate, twice each, so machine noise hits every measurement alike
a1=$(rate fuzz); b1=$(rate fuzz --remount-every-trial); c1=$(rate crash); d1=$(rate race)
a2=$(rate fuzz); b2=$(rate fuzz --remount-every-trial); c2=$(rate crash); d2=$(rate race)
python3 - "$COUNT" "$SEED" "$a1" "$a2" "$b1" "$b2" "$c1" "$c2" "$d1" "$d2" <<'PY'
import sys
count, seed = sys.argv[1], sys.argv[2]
a1, a2, b1, b2, c1, c2, d1, d2 = map(float, sys.argv[3:])
a, b, c, d = (a1 + a2) / 2, (b1 + b2) / 2, (c1 + c2) / 2, (d1 + d2) / 2
print(f"kernel trials, {count} per measurement, seed {seed} (trials/s; the two runs in brackets):")
print(f"  fuzz, remount when needed   {a:8.1f}  ({a1:.1f}, {a2:.1f})")
print(f"  fuzz, remount every trial   {b:8.1f}  ({b1:.1f}, {b2:.1f})   baseline: {a / b:.2f}x faster when needed only")
print(f"  crash                       {c:8.1f}  ({c1:.1f}, {c2:.1f})   {a / c:.2f}x a fuzz trial's cost")
print(f"  race                        {d:8.1f}  ({d1:.1f}, {d2:.1f})   {a / d:.2f}x a fuzz trial's cost")
PY
