#!/usr/bin/env bash
# The test command: installs what is missing, builds, runs every test (CTest: GoogleTest and the
# scripts' pytest suite). GPU tests report "skipped" where there is no GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
scripts/bootstrap.sh --build
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)"
