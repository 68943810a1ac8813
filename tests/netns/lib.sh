# lib.sh - hosts in network namespaces, for the netns tests (sourced).
#
# netns_hosts N TAG DIR: N namespaces TAG0 .. TAG(N-1) ("hosts"), each with
# eth0 = 10.213.0.(i+1)/24 on a veth whose other end is on the bridge
# TAGbr, and a client address 10.213.0.100 on the same bridge; the bridge
# and the client's end live in a namespace of their own, TAGc, so that
# nothing touches this machine's own links. A second bridge, TAGbr2, is
# there to split the network: netns_side HOST 2 moves a host's veth to it,
# netns_side HOST 1 back. Traffic goes only to these addresses.
# netns_cleanup removes all of it (the caller kills its processes first).
# Needs root and ip(8) with netns support; netns_usable says whether the
# machine has them (else the caller skips).
netns_usable() {
    [ "$(id -u)" = 0 ] || { echo "network namespaces need root"; return 1; }
    command -v ip > /dev/null 2>&1 || { echo "ip(8) is missing (Debian: iproute2)"; return 1; }
    ip netns add "${1}probe" 2> /dev/null || { echo "cannot create network namespaces here"; return 1; }
    ip netns del "${1}probe"
}

netns_addr() { if [ "$1" = c ]; then echo 10.213.0.100; else echo "10.213.0.$(($1 + 1))"; fi; }

netns_hosts() {
    _n=$1 _tag=$2
    NETNS_N=$_n NETNS_TAG=$_tag
    ip netns add "${_tag}c"
    for _b in br br2; do
        ip -n "${_tag}c" link add "${_tag}$_b" type bridge
        ip -n "${_tag}c" link set "${_tag}$_b" up
    done
    _i=0
    while [ $_i -lt "$_n" ]; do
        ip netns add "$_tag$_i"
        ip -n "${_tag}c" link add "${_tag}v$_i" type veth peer name eth0 netns "$_tag$_i"
        ip -n "${_tag}c" link set "${_tag}v$_i" master "${_tag}br" up
        ip -n "$_tag$_i" addr add "$(netns_addr $_i)/24" dev eth0
        ip -n "$_tag$_i" link set eth0 up
        ip -n "$_tag$_i" link set lo up
        _i=$((_i + 1))
    done
    ip -n "${_tag}c" link add "${_tag}vc" type veth peer name "${_tag}ec"
    ip -n "${_tag}c" link set "${_tag}vc" master "${_tag}br" up
    ip -n "${_tag}c" link set "${_tag}ec" up
    ip -n "${_tag}c" addr add "$(netns_addr c)/24" dev "${_tag}ec"
    ip -n "${_tag}c" link set lo up
}

# netns_side HOST 1|2: the host's link on the main bridge or on the second
netns_side() {
    if [ "$2" = 2 ]; then _b=br2; else _b=br; fi
    ip -n "${NETNS_TAG}c" link set "${NETNS_TAG}v$1" master "${NETNS_TAG}$_b"
}

# the cluster file of the N hosts, one gpdotd each
netns_cluster_file() {
    _cfg=$1 _dir=$2 _hb=${3:-200} _to=${4:-2000}
    {
        echo "cluster: netns"
        echo "nodes:"
        _i=0
        while [ $_i -lt "$NETNS_N" ]; do
            echo "  - {id: $_i, client: \"tcp://$(netns_addr $_i):7100\", peer: \"tcp://$(netns_addr $_i):7200\"}"
            _i=$((_i + 1))
        done
        echo "defaults: {heartbeat_ms: $_hb, peer_timeout_ms: $_to, state_dir: \"$_dir\"}"
    } > "$_cfg"
}

netns_cleanup() {
    [ -n "${NETNS_TAG:-}" ] || return 0
    _i=0
    while [ $_i -lt "${NETNS_N:-0}" ]; do
        ip netns del "$NETNS_TAG$_i" 2> /dev/null || true
        _i=$((_i + 1))
    done
    ip netns del "${NETNS_TAG}c" 2> /dev/null || true
}
