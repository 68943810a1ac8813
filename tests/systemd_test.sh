#!/bin/sh
# systemd_test.sh - the systemd unit and gpdotd's readiness protocol.
#   (a) `cmake --install` into a staging directory puts gpdotd and the unit
#       in place; systemd-analyze verify finds nothing to say about the
#       installed unit (its binary path mapped into the staging directory)
#   (b) gpdotd with NOTIFY_SOCKET set to a datagram socket this test reads:
#       READY=1 comes only once both of its ports accept connections, STATUS=
#       follows, and SIGTERM gives STOPPING=1 and a clean exit
# usage: systemd_test.sh BUILD_DIR PYTHON
set -eu
build=$1
py=$2
tmp=$(mktemp -d /tmp/gpdot-systemd-test-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

echo "(a) the installed unit"
DESTDIR=$tmp/stage cmake --install "$build" > "$tmp/install.log" || fail "cmake --install"
unit=$(find "$tmp/stage" -name 'gpdotd@.service' | head -1)
[ -n "$unit" ] || fail "no gpdotd@.service installed"
bin=$(sed -n 's|^ExecStart=\([^ ]*\)/gpdotd .*|\1|p' "$unit")
[ -x "$tmp/stage$bin/gpdotd" ] || fail "the unit runs $bin/gpdotd, which was not installed there"
grep -q '^Type=notify$' "$unit" || fail "not Type=notify"
grep -q -- '--check-config' "$unit" || fail "no ExecStartPre=gpdotd --check-config"
echo "  $unit runs $bin/gpdotd"
if command -v systemd-analyze > /dev/null 2>&1; then
    sed "s|$bin/gpdotd|$tmp/stage$bin/gpdotd|g" "$unit" > "$tmp/gpdotd@0.service"
    out=$(systemd-analyze verify "$tmp/gpdotd@0.service" 2>&1) || fail "systemd-analyze: $out"
    [ -z "$out" ] || fail "systemd-analyze verify says: $out"
    echo "  systemd-analyze verify: clean"
else
    echo "  skipped systemd-analyze verify: systemd-analyze is not installed (Debian: systemd)"
fi

echo "(b) READY=1, STATUS=, STOPPING=1"
"$py" - "$build/daemon/gpdotd" "$tmp" <<'EOF'
import os, signal, socket, subprocess, sys, time
gpdotd, tmp = sys.argv[1], sys.argv[2]
def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p
cport, pport = free_port(), free_port()
cfg = os.path.join(tmp, "cluster.yaml")
with open(cfg, "w") as f:
    f.write(f"cluster: notify-test\nnodes:\n  - {{id: 0, client: 'tcp://127.0.0.1:{cport}', "
            f"peer: 'tcp://127.0.0.1:{pport}'}}\n")
path = os.path.join(tmp, "notify")
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
sock.settimeout(10)
def accepts(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close(); return True
    except OSError:
        return False
env = dict(os.environ, NOTIFY_SOCKET=path, OPENBLAS_NUM_THREADS="1")
p = subprocess.Popen([gpdotd, "--config", cfg, "--node", "0"], env=env,
                     stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "gpdotd.log"), "w"))
msgs = []
try:
    got = sock.recv(4096).decode()
    # READY=1 must be true when it arrives: both ports accept at once
    ok_c, ok_p = accepts(cport), accepts(pport)
    msgs.append(got)
    print(f"  first notification: {got!r}; client port accepts: {ok_c}, peer port accepts: {ok_p}")
    assert "READY=1" in got.split("\n"), "the first notification is not READY=1"
    assert ok_c and ok_p, "READY=1 came before the ports accepted connections"
    assert f"MAINPID={p.pid}" in got, "MAINPID is not the daemon's pid"
    got = sock.recv(4096).decode()
    msgs.append(got)
    print(f"  then: {got!r}")
    assert got.startswith("STATUS=node 0: 1 of 1 nodes up"), "no STATUS= with the membership"
    p.send_signal(signal.SIGTERM)
    stopping = False
    while not stopping:
        got = sock.recv(4096).decode()
        msgs.append(got)
        stopping = "STOPPING=1" in got.split("\n")
    print(f"  after SIGTERM: {got!r}")
    rc = p.wait(timeout=10)
    assert rc == 0, f"exit status {rc}"
    print("  exit status 0")
except Exception as e:
    print(f"FAIL: {e}; notifications: {msgs}", file=sys.stderr)
    p.kill()
    sys.exit(1)
EOF
echo ok
