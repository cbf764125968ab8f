#!/usr/bin/env bash
# The main job: set up, build, and run `untorn check` on every variant with
# its defaults (seeded random layouts, impl and specification side by side).
# The findings documented in corpus/ (real bugs of rfc-v1 and v6.16) are
# listed as known; extra arguments go to `untorn check`.  Exit status is
# untorn's: 0 nothing new, 10 a new finding, 5 inconclusive, 2 bad usage.
set -euo pipefail
cd "$(dirname "$0")/.."
# (only the untorn target: the tests' configuration in build/ is left as
# it is, so a later ctest there is not left with stale test binaries)
BUILD_TARGET=untorn bash scripts/setup.sh
exec ./build/checker/untorn check --jobs "$(nproc)" --known corpus "$@"
