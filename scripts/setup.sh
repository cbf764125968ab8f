#!/usr/bin/env bash
# Installs what untorn needs from Debian's packages, if missing, then
# configures and builds into $BUILD_DIR (default: build) -- every target, or
# only $BUILD_TARGET.  Safe to rerun.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(cmake g++ pkg-config libz3-dev z3 nlohmann-json3-dev catch2 libcli11-dev xfsprogs)
missing=()
for p in "${PACKAGES[@]}"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "untorn setup: installing ${missing[*]}" >&2
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-Release} "$@" >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)" --target "${BUILD_TARGET:-all}"
