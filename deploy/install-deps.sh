#!/bin/sh
# Installs the Debian 12 packages gpdot needs to build, test and run its demo,
# if any is missing (deploy/install-deps.sh [--tests]). Needs root (or sudo).
set -eu
PKGS="build-essential cmake pkg-config libzmq3-dev libmsgpack-dev libopenblas-dev libyaml-dev zlib1g-dev
python3 python3-numpy dataset-fashion-mnist"
# --tests: also the tools some tests use (systemd-analyze, docker-compose, ip)
if [ "${1:-}" = --tests ]; then PKGS="$PKGS systemd docker-compose iproute2"; fi
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root to install:$missing" >&2; exit 1; }
    SUDO=sudo
fi
echo "install-deps: installing$missing"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
