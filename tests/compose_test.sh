#!/bin/sh
# compose_test.sh - the Docker Compose cluster, as far as a machine without a
# Docker engine can check it: docker-compose validates deploy/compose.yaml,
# and the cluster file it mounts passes gpdotd --check-config.
# usage: compose_test.sh BUILD_DIR
set -eu
build=$1
top=$(cd "$(dirname "$0")/.." && pwd)
"$build/daemon/gpdotd" --config "$top/deploy/compose/cluster.yaml" --check-config ||
    { echo "FAIL: deploy/compose/cluster.yaml"; exit 1; }
if ! command -v docker-compose > /dev/null 2>&1; then
    echo "skipped: docker-compose is not installed (Debian: docker-compose)"
    exit 77
fi
docker-compose -f "$top/deploy/compose.yaml" config -q || { echo "FAIL: deploy/compose.yaml"; exit 1; }
# every daemon the trainer depends on, with its node id, mounted cluster file and state volume
n=$(docker-compose -f "$top/deploy/compose.yaml" config --services | grep -c '^node')
[ "$n" = 8 ] || { echo "FAIL: $n daemons, not 8"; exit 1; }
echo "deploy/compose.yaml: valid, 8 daemons and a trainer"
