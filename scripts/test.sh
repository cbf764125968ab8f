#!/usr/bin/env bash
# Set up, build, and run the whole test suite (unit tests, corpus replay and
# the CI property checks) under CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=build bash scripts/setup.sh -DBUILD_TESTING=ON
cd build
ctest --output-on-failure -j"$(nproc)"
