#!/bin/sh
# Runs every test: installs what is missing, builds, runs CTest on both cores.
# Extra arguments go to ctest (e.g. -L unit, -R decode).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/deploy/install-deps.sh" --tests
"$top/deploy/build.sh"
cd "${GP_BUILD_DIR:-$top/build}"
ctest --output-on-failure -j "$(nproc)" "$@"
