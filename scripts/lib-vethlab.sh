# lib-vethlab.sh: the two-namespace lab of the capture benchmarks, sourced by
# bench-capture.sh and bench-sigkill.sh (not run on its own).
#
# The caller sets NS_TX, NS_RX, IF_TX, IF_RX, NET (the first three octets of
# a /24 in 198.18.0.0/15), work (a scratch directory), the array pids (PIDs
# to kill on exit), RAWLAB (optional) and a die function. vethlab_cleanup is
# the caller's to call from its own EXIT trap; vethlab_up builds rawlab if
# RAWLAB is unset, then the lab: tx --veth-- rx with IPv6 off (no stray
# frames in the captures), and sets src_mac to the sender's MAC.

vethlab_cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		[[ -n $pid ]] || continue
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	ip netns del "$NS_TX" 2>/dev/null || true
	ip netns del "$NS_RX" 2>/dev/null || true
	rm -rf "$work"
}

vethlab_up() {
	if [[ -z ${RAWLAB:-} ]]; then
		local root
		root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
		echo "building rawlab ..." >&2
		(cd "$root" && CGO_ENABLED=0 go build -o "$work/rawlab" ./cmd/rawlab)
		RAWLAB=$work/rawlab
	fi
	[[ -x $RAWLAB ]] || die "RAWLAB=$RAWLAB is not executable"
	local ns
	ip netns add "$NS_TX"
	ip netns add "$NS_RX"
	for ns in "$NS_TX" "$NS_RX"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
		ip -n "$ns" link set lo up
	done
	ip link add "$IF_TX" netns "$NS_TX" type veth peer name "$IF_RX" netns "$NS_RX"
	ip -n "$NS_TX" addr add "$NET.1/24" dev "$IF_TX"
	ip -n "$NS_RX" addr add "$NET.2/24" dev "$IF_RX"
	ip -n "$NS_TX" link set "$IF_TX" up
	ip -n "$NS_RX" link set "$IF_RX" up
	src_mac=$(ip -n "$NS_TX" -o link show "$IF_TX" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
}
