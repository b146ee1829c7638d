package netnstest

import (
	"fmt"
	"sync"
	"testing"
)

// Segment is one Ethernet segment: a Linux bridge in a "switch" namespace,
// with one veth port per attached namespace. It lets a test put many hosts,
// each a kernel answering ARP, on the same broadcast domain as a client.
type Segment struct {
	// Switch is the namespace that holds the bridge.
	Switch *NS
	// Bridge is the bridge's name in Switch ("br0").
	Bridge string

	mu    sync.Mutex
	ports int
}

// NewSegment creates a switch namespace (named from prefix) holding an up
// bridge "br0".
func NewSegment(t testing.TB, prefix string) *Segment {
	t.Helper()
	s := &Segment{Switch: New(t, prefix), Bridge: "br0"}
	s.Switch.Bridge(t, s.Bridge)
	return s
}

// Attach joins ns to the segment through a veth pair: the end in ns is named
// ifname, the end in the switch is a new bridge port. Both are up. It returns
// the port's name in the switch namespace.
func (s *Segment) Attach(t testing.TB, ns *NS, ifname string) string {
	t.Helper()
	port, err := s.attach(ns, ifname)
	if err != nil {
		t.Fatalf("netnstest: %v", err)
	}
	return port
}

func (s *Segment) attach(ns *NS, ifname string) (string, error) {
	s.mu.Lock()
	s.ports++
	port := fmt.Sprintf("p%d", s.ports)
	s.mu.Unlock()
	sw := s.Switch
	if err := veth(ns, ifname, sw, port); err != nil {
		return "", err
	}
	br, err := sw.h.LinkByName(s.Bridge)
	if err != nil {
		return "", fmt.Errorf("%s: bridge %s: %w", sw.Name, s.Bridge, err)
	}
	l, err := sw.h.LinkByName(port)
	if err != nil {
		return "", fmt.Errorf("%s: port %s: %w", sw.Name, port, err)
	}
	if err := sw.h.LinkSetMasterByIndex(l, br.Attrs().Index); err != nil {
		return "", fmt.Errorf("%s: enslave %s to %s: %w", sw.Name, port, s.Bridge, err)
	}
	return port, nil
}

// AddHosts creates one namespace per CIDR (all in one batch), attaches each to
// the segment as "eth0" and gives it that address, so that its kernel answers
// ARP for it. Every CIDR must lie in 198.18.0.0/15.
func (s *Segment) AddHosts(t testing.TB, prefix string, cidrs ...string) []*NS {
	t.Helper()
	for _, c := range cidrs {
		if _, err := ParseLabPrefix(c); err != nil {
			t.Fatalf("netnstest: AddHosts: %v", err)
		}
	}
	if len(cidrs) == 0 {
		return nil
	}
	hosts := NewMany(t, prefix, len(cidrs))
	for i, h := range hosts {
		if _, err := s.attach(h, "eth0"); err != nil {
			t.Fatalf("netnstest: %v", err)
		}
		if err := h.addAddr("eth0", cidrs[i]); err != nil {
			t.Fatalf("netnstest: %s: %v", h.Name, err)
		}
	}
	return hosts
}

// Pair creates two namespaces (named from prefix) joined by a veth pair whose
// ends are both "eth0", and gives the ends aCIDR and bCIDR (an empty CIDR
// leaves that end without an address, as a DHCP client starts).
func Pair(t testing.TB, prefix, aCIDR, bCIDR string) (a, b *NS) {
	t.Helper()
	nss := NewMany(t, prefix, 2)
	a, b = nss[0], nss[1]
	Veth(t, a, "eth0", b, "eth0")
	if aCIDR != "" {
		a.AddAddr(t, "eth0", aCIDR)
	}
	if bCIDR != "" {
		b.AddAddr(t, "eth0", bCIDR)
	}
	return a, b
}
