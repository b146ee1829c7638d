#!/usr/bin/env bash
# Runs rawlab's whole test suite: unit tests, fuzz seeds, and the integration
# tests that build network namespaces and talk to real DHCP servers, kernels
# and tshark. Run it as root on a Debian machine:
#
#   sudo scripts/test.sh            # installs the Debian packages it lacks first
#   sudo scripts/test.sh -run ARP   # extra arguments go to `go test`
#
# As root, RAWLAB_REQUIRE_NETNS=1 (the default here) turns a skipped
# integration test into a failure. Unprivileged, `go test ./...` runs the unit
# tests alone and says why it skips the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:$HOME/go/bin"
export DEBIAN_FRONTEND=noninteractive

# iproute2 builds the lab; tshark checks our pcapng; tcpdump is libpcap's
# filter compiler for the differential test and the capture reference;
# netsniff-ng brings trafgen; the DHCP servers and clients are the interop
# peers; isc-dhcp-relay brings dhcrelay for the relay test; arp-scan is the
# scan reference.
packages=(
	iproute2 iputils-ping iputils-arping procps time ethtool
	tshark tcpdump netsniff-ng
	dnsmasq-base kea-dhcp4-server isc-dhcp-server busybox udhcpc
	isc-dhcp-client dhcpcd-base isc-dhcp-relay arp-scan
)
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
	missing=()
	for p in "${packages[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "installing: ${missing[*]}"
		apt-get update -q
		echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
		apt-get install -y -q --no-install-recommends "${missing[@]}"
	fi
fi

export RAWLAB_REQUIRE_NETNS="${RAWLAB_REQUIRE_NETNS:-$([ "$(id -u)" -eq 0 ] && echo 1 || echo 0)}"
exec go test -race -count=1 -timeout 45m "$@" ./...
