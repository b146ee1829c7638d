package netnstest

import (
	"fmt"
	"net/netip"
)

// LabNet is the only block the lab uses: 198.18.0.0/15, reserved for
// benchmarking (RFC 2544 §C.2.2, RFC 6815). No test ever targets another
// address.
const LabNet = "198.18.0.0/15"

var labNet = netip.MustParsePrefix(LabNet)

// CheckLabPrefix returns an error unless p is an IPv4 prefix inside
// 198.18.0.0/15: its address is in the block and its length is at least 15, so
// that neither the address nor the on-link route it implies leaves the block.
func CheckLabPrefix(p netip.Prefix) error {
	if !p.IsValid() || !p.Addr().Is4() || !labNet.Contains(p.Addr()) || p.Bits() < labNet.Bits() {
		return fmt.Errorf("netnstest: %s is outside the lab block %s", p, LabNet)
	}
	return nil
}

// CheckLabAddr returns an error unless a is an IPv4 address in 198.18.0.0/15.
func CheckLabAddr(a netip.Addr) error {
	if !a.Is4() || !labNet.Contains(a) {
		return fmt.Errorf("netnstest: %s is outside the lab block %s", a, LabNet)
	}
	return nil
}

// ParseLabPrefix parses a CIDR such as "198.18.0.1/24" and checks it with
// CheckLabPrefix.
func ParseLabPrefix(cidr string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("netnstest: %w", err)
	}
	if err := CheckLabPrefix(p); err != nil {
		return netip.Prefix{}, err
	}
	return p, nil
}

// HostCIDRs returns n consecutive addresses starting at first, each with
// prefix length bits, as CIDR strings for AddHosts: HostCIDRs("198.18.0.11",
// 24, 3) is 198.18.0.11/24, 198.18.0.12/24, 198.18.0.13/24. It panics if an
// address would leave 198.18.0.0/15.
func HostCIDRs(first string, bits, n int) []string {
	a := netip.MustParseAddr(first)
	out := make([]string, 0, n)
	for range n {
		if err := CheckLabPrefix(netip.PrefixFrom(a, bits)); err != nil {
			panic(err)
		}
		out = append(out, netip.PrefixFrom(a, bits).String())
		a = a.Next()
	}
	return out
}
