package labdhcp

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Route is one classless static route (RFC 3442) handed out in option 121.
type Route struct {
	Dest    netip.Prefix `json:"dest"`
	Gateway netip.Addr   `json:"gateway"`
}

// Config describes the segment the server is authoritative for and what it
// hands out. The zero value is not usable; start from [DefaultConfig].
type Config struct {
	ServerIP  netip.Addr   // option 54 and the source of replies; inside Subnet
	Subnet    netip.Prefix // the segment: option 1 and, by default, option 28
	PoolStart netip.Addr   // first address handed out
	PoolEnd   netip.Addr   // last address handed out (inclusive)

	Router    []netip.Addr // option 3
	DNS       []netip.Addr // option 6
	NTP       []netip.Addr // option 42
	Domain    string       // option 15
	Search    []string     // option 119, encoded by EncodeSearch
	Routes    []Route      // option 121
	Broadcast netip.Addr   // option 28; zero means Subnet's broadcast address

	LeaseTime time.Duration // option 51
	T1        time.Duration // option 58; zero means LeaseTime/2 (RFC 2131 §4.4.5)
	T2        time.Duration // option 59; zero means LeaseTime*7/8

	// OfferHold is how long an offered address stays reserved for the
	// client it was offered to. Zero means one minute.
	OfferHold time.Duration
	// DeclineHold is how long a declined address stays out of the pool.
	// Zero means LeaseTime.
	DeclineHold time.Duration

	// LeaseFile, when set, is where the lease table is kept as JSON. It is
	// read by New and rewritten (atomically) after every change.
	LeaseFile string
}

// DefaultConfig returns the configuration of rawlab's lab: server
// 198.18.0.1 on 198.18.0.0/24, pool 198.18.0.100-198.18.0.199, one-hour
// leases, and every option the package can send.
func DefaultConfig() Config {
	srv := netip.MustParseAddr("198.18.0.1")
	return Config{
		ServerIP:  srv,
		Subnet:    netip.MustParsePrefix("198.18.0.0/24"),
		PoolStart: netip.MustParseAddr("198.18.0.100"),
		PoolEnd:   netip.MustParseAddr("198.18.0.199"),
		Router:    []netip.Addr{srv},
		DNS:       []netip.Addr{srv},
		NTP:       []netip.Addr{srv},
		Domain:    "lab.rawlab.test",
		Search:    []string{"lab.rawlab.test", "rawlab.test"},
		Routes: []Route{
			{Dest: netip.MustParsePrefix("198.19.0.0/16"), Gateway: srv},
			{Dest: netip.MustParsePrefix("0.0.0.0/0"), Gateway: srv},
		},
		LeaseTime: time.Hour,
	}
}

// lab is the only address space the lab may use (RFC 2544's benchmarking range).
var lab = netip.MustParsePrefix("198.18.0.0/15")

// normalize checks c and fills in the defaults it documents.
func (c Config) normalize() (Config, error) {
	if !c.Subnet.IsValid() || !c.Subnet.Addr().Is4() {
		return c, fmt.Errorf("labdhcp: subnet %v: not an IPv4 prefix", c.Subnet)
	}
	c.Subnet = c.Subnet.Masked()
	if c.Subnet.Bits() > 30 {
		return c, fmt.Errorf("labdhcp: subnet %v: too small", c.Subnet)
	}
	for _, a := range []struct {
		name string
		ip   netip.Addr
	}{{"server address", c.ServerIP}, {"pool start", c.PoolStart}, {"pool end", c.PoolEnd}} {
		if !a.ip.Is4() || !lab.Contains(a.ip) {
			return c, fmt.Errorf("labdhcp: %s %v: outside the lab range %v", a.name, a.ip, lab)
		}
		if !c.Subnet.Contains(a.ip) {
			return c, fmt.Errorf("labdhcp: %s %v: not in subnet %v", a.name, a.ip, c.Subnet)
		}
	}
	for _, d := range c.DNS {
		if !d.Is4() || !lab.Contains(d) {
			return c, fmt.Errorf("labdhcp: DNS server %v: outside the lab range %v", d, lab)
		}
	}
	if c.PoolEnd.Less(c.PoolStart) {
		return c, fmt.Errorf("labdhcp: pool %v-%v: end before start", c.PoolStart, c.PoolEnd)
	}
	if c.LeaseTime < 10*time.Second || c.LeaseTime > 0xffffffff*time.Second {
		return c, fmt.Errorf("labdhcp: lease time %v: want 10s or more", c.LeaseTime)
	}
	if c.T1 == 0 {
		c.T1 = c.LeaseTime / 2
	}
	if c.T2 == 0 {
		c.T2 = c.LeaseTime * 7 / 8
	}
	if !(c.T1 < c.T2 && c.T2 < c.LeaseTime) {
		return c, fmt.Errorf("labdhcp: times T1 %v, T2 %v, lease %v: want T1 < T2 < lease", c.T1, c.T2, c.LeaseTime)
	}
	if !c.Broadcast.IsValid() {
		c.Broadcast = lastAddr(c.Subnet)
	}
	if c.OfferHold == 0 {
		c.OfferHold = time.Minute
	}
	if c.DeclineHold == 0 {
		c.DeclineHold = c.LeaseTime
	}
	if _, err := EncodeSearch(c.Search); err != nil {
		return c, err
	}
	return c, nil
}

// lastAddr returns the highest address of p (its directed broadcast).
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v |= host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// ParsePool parses a pool "FIRST-LAST" of IPv4 addresses.
func ParsePool(s string) (first, last netip.Addr, err error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return first, last, fmt.Errorf("labdhcp: pool %q: want FIRST-LAST, e.g. 198.18.0.100-198.18.0.199", s)
	}
	if first, err = netip.ParseAddr(strings.TrimSpace(a)); err != nil {
		return first, last, fmt.Errorf("labdhcp: pool %q: %w", s, err)
	}
	if last, err = netip.ParseAddr(strings.TrimSpace(b)); err != nil {
		return first, last, fmt.Errorf("labdhcp: pool %q: %w", s, err)
	}
	return first, last, nil
}
