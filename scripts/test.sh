#!/usr/bin/env bash
# The whole test suite, as CI runs it:
#   1. a Release build (g++) and every CTest test: unit tests, corpus replay,
#      the fixed-seed property checks per variant, the bad-input catalogue;
#   2. a clang build with ASan and UBSan: the same CTest suite again (its
#      sampling tests with a quarter of their sample, tests/sample.h), with
#      (CTest fuzz_run) a 60-second libFuzzer run of the case loader, run and
#      specification, seeded from corpus/.
# The kernel tests (kernel_*: `untorn kernel` on a scratch XFS) run in both
# stages; UNTORN_KERNEL_TESTS=off turns them off, and the run says so.
# Installs what is missing (Debian packages) and is safe to rerun.
# UNTORN_QUICK=1 skips stage 2 (for a fast local loop; CI never sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=$(nproc)

if [ "${UNTORN_KERNEL_TESTS:-on}" = off ]; then
	echo "== UNTORN_KERNEL_TESTS=off: the kernel tests (kernel_*) are turned off and reported as skipped"
else
	echo "== the kernel tests (kernel_*) run real RWF_ATOMIC writes on a scratch XFS: they need root, a loop device, XFS and tracefs"
fi
# test-only dependency: rsvg-convert renders the explain pictures (CTest
# explain_svg_renders); the main run (scripts/run.sh) does not need it
if ! dpkg -s librsvg2-bin >/dev/null 2>&1; then
	SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq librsvg2-bin >/dev/null
fi
echo "== stage 1: Release build and the CTest suite"
BUILD_DIR=build bash scripts/setup.sh -DBUILD_TESTING=ON
(cd build && ctest --output-on-failure -j"$JOBS")

if [ "${UNTORN_QUICK:-0}" = 1 ]; then
	echo "UNTORN_QUICK=1: skipping the sanitizer build and the fuzz run"
	exit 0
fi

echo "== stage 2: ASan + UBSan build (clang), the CTest suite, and a fuzz run"
missing=()
for p in clang libclang-rt-14-dev; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
	SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# -O1 and line tables only: what sanitizer reports need, and a quicker build
# than -O2 -g
CC=clang CXX=clang++ BUILD_DIR=build-sanitize BUILD_TYPE=RelWithDebInfo bash scripts/setup.sh \
	-DBUILD_TESTING=ON -DUNTORN_SANITIZE=ON -DUNTORN_FUZZ=ON \
	-DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# (the CTest suite of this build includes the 60-second fuzz run, fuzz_run)
(cd build-sanitize && ctest --output-on-failure -j"$JOBS")
