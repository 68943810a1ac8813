#!/bin/sh
# The demo: installs what is missing, builds, then shows the codes at work on
# simulated nodes (coded products, soft errors corrected, too many detected,
# the coded update, a corrupted block rebuilt) and the code choices for an
# 8-node cluster.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/deploy/install-deps.sh"
"$top/deploy/build.sh"
client=${GP_BUILD_DIR:-$top/build}/client/gpdot-client
echo
"$client" code-demo --nodes 8 --m 2 --n 2 --layer 1024x784 --batch 64 --errors 2
echo
"$client" plan --nodes 8 --layer 1024x784 --batch 64
