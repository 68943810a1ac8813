#!/bin/sh
# Configures and builds gpdot into build/ (or $GP_BUILD_DIR), using both cores.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${GP_BUILD_DIR:-$top/build}
cmake -S "$top" -B "$dir" -DCMAKE_BUILD_TYPE=${GP_BUILD_TYPE:-RelWithDebInfo} ${GP_CMAKE_ARGS:-} >/dev/null
cmake --build "$dir" -j "$(nproc)"
