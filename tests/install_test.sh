#!/bin/sh
# install_test.sh - `cmake --install` into a staging directory, then a small
# program built against the installed libgpdot twice: with pkg-config and
# with CMake's find_package(gpdot). Each build runs and must report, through
# the library, that a missing cluster file is missing.
# usage: install_test.sh BUILD_DIR
set -eu
build=$1
tmp=$(mktemp -d /tmp/gpdot-install-test-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
stage=$tmp/stage
DESTDIR=$stage cmake --install "$build" > "$tmp/install.log" || fail "cmake --install"
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
root=$stage$prefix
for f in bin/gpdotd bin/gpdot-client include/gpdot/gpdot.h include/gpdot/gp_err.h \
    include/gpdot/gp_mat.h; do
    [ -e "$root/$f" ] || fail "$prefix/$f was not installed"
done
pc=$(find "$stage" -name gpdot.pc | head -1)
cfg=$(find "$stage" -name gpdotConfig.cmake | head -1)
unit=$(find "$stage" -name 'gpdotd@.service' | head -1)
example=$(find "$stage" -path '*gpdot/cluster.yaml' | head -1)
for f in "$pc" "$cfg" "$unit" "$example"; do [ -n "$f" ] || fail "a file is missing: $(cat "$tmp/install.log")"; done
libdir=$(dirname "$(find "$stage" -name 'libgpdot.so' | head -1)")
echo "  installed under $prefix: $(cd "$stage" && find . -type f -o -type l | sort | tr '\n' ' ')"
"$root/bin/gpdotd" --config "$example" --check-config > /dev/null || fail "the example cluster file"

mkdir "$tmp/app"
cat > "$tmp/app/app.c" <<'EOF'
#include <stdio.h>
#include <string.h>

#include <gpdot.h>

int main(void)
{
    gp_msg why = {{0}};
    gpdot_t *c = gpdot_connect("/nonexistent/cluster.yaml", &why);
    if (c || !strstr(why.text, "/nonexistent/cluster.yaml")) return 1;
    printf("libgpdot says: %s\n", why.text);
    return 0;
}
EOF

echo "pkg-config"
export PKG_CONFIG_SYSROOT_DIR=$stage PKG_CONFIG_PATH=$(dirname "$pc")
flags=$(pkg-config --cflags --libs gpdot) || fail "pkg-config gpdot"
echo "  pkg-config --cflags --libs gpdot: $flags"
# shellcheck disable=SC2086
# a sanitized build's library needs its runtime in the program too
cc -std=c11 -Wall -Werror ${GP_TEST_CFLAGS:-} -o "$tmp/app/app-pc" "$tmp/app/app.c" $flags ||
    fail "build with pkg-config"
LD_LIBRARY_PATH=$libdir "$tmp/app/app-pc" || fail "the pkg-config build does not run"
unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_PATH

echo "find_package(gpdot)"
cat > "$tmp/app/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.18)
project(app LANGUAGES C)
find_package(gpdot 0.1 CONFIG REQUIRED)
add_executable(app-cmake app.c)
target_link_libraries(app-cmake PRIVATE gpdot::gpdot)
EOF
cmake -S "$tmp/app" -B "$tmp/app/build" -DCMAKE_PREFIX_PATH="$root" -DCMAKE_C_FLAGS="${GP_TEST_CFLAGS:-}" \
    > "$tmp/cmake.log" 2>&1 ||
    { cat "$tmp/cmake.log"; fail "configure with find_package"; }
cmake --build "$tmp/app/build" > "$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; fail "build with find_package"; }
LD_LIBRARY_PATH=$libdir "$tmp/app/build/app-cmake" || fail "the find_package build does not run"
echo ok
