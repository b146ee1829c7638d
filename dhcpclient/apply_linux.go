package dhcpclient

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/rawlab/rawlab/craft/dhcpopt"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// rtprotDHCP marks the routes Apply adds (RTPROT_DHCP in rtnetlink.h).
const rtprotDHCP = 16

// Apply configures l on its interface through netlink and returns what it
// added, for Unapply; the caller records it in l.Applied (and the lease
// file). See ApplyOptions for what is added and what is refused.
//
// A renewed lease whose l.Applied already holds the same address only has
// the address's lifetimes refreshed.
func Apply(l *Lease, o ApplyOptions) (*Applied, error) {
	if err := checkApply(l); err != nil {
		return nil, err
	}
	link, err := netlink.LinkByName(l.Interface)
	if err != nil {
		return nil, fmt.Errorf("dhcpclient: apply: interface %q: %w", l.Interface, err)
	}
	p := l.Prefix()
	a := &netlink.Addr{IPNet: prefixNet(p)}
	if l.Broadcast.IsValid() {
		a.Broadcast = ip4(l.Broadcast)
	}
	left := time.Until(l.Expiry())
	a.ValidLft = int((left + time.Second - 1) / time.Second)
	a.PreferedLft = a.ValidLft
	if prev := l.Applied; prev != nil && prev.Address == p && prev.Interface == l.Interface {
		if err := netlink.AddrReplace(link, a); err != nil {
			return nil, fmt.Errorf("dhcpclient: apply: refresh address %s on %s: %w", p, l.Interface, err)
		}
		return prev, nil
	}
	have, err := netlink.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("dhcpclient: apply: addresses of %s: %w", l.Interface, err)
	}
	for _, h := range have {
		if h.IP.Equal(ip4(l.Address)) {
			return nil, fmt.Errorf("dhcpclient: apply: %s already holds %s, not put there by this lease; leaving it alone", l.Interface, l.Address)
		}
	}
	if err := netlink.AddrAdd(link, a); err != nil {
		return nil, fmt.Errorf("dhcpclient: apply: address %s on %s: %w", p, l.Interface, err)
	}
	done := &Applied{Interface: l.Interface, Address: p, Routes: []AppliedRoute{}}
	metric := RouteMetric(link.Attrs().Index)
	for _, r := range routesFor(l, o) {
		ar := AppliedRoute{Dst: r.Destination, Metric: metric}
		if !r.Router.IsUnspecified() {
			ar.Gateway = r.Router
		}
		if err := netlink.RouteAdd(routeOf(link.Attrs().Index, l.Address, ar)); err != nil {
			err = fmt.Errorf("dhcpclient: apply: route %s on %s: %w", r, l.Interface, err)
			return nil, errors.Join(err, undo(done))
		}
		done.Routes = append(done.Routes, ar)
	}
	return done, nil
}

// routesFor returns the routes Apply adds: the default route (from option
// 121 when present, RFC 3442 §2 saying the router option is then ignored,
// else via the first router of option 3), and with o.Routes the other
// routes of option 121 (or, without 121, option 33), at most MaxRoutes.
func routesFor(l *Lease, o ApplyOptions) []dhcpopt.Route {
	def := netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	var out []dhcpopt.Route
	if c, ok := dhcpopt.Find(l.Options, dhcpopt.ClasslessStaticRoute); ok && c.Err == "" {
		for _, r := range c.Value.([]dhcpopt.Route) {
			if r.Destination == def || o.Routes {
				out = append(out, r)
			}
		}
	} else {
		if len(l.Routers) > 0 {
			out = append(out, dhcpopt.Route{Destination: def, Router: l.Routers[0]})
		}
		if s, ok := dhcpopt.Find(l.Options, 33); ok && s.Err == "" && o.Routes {
			for _, pr := range s.Value.([][2]netip.Addr) {
				out = append(out, dhcpopt.Route{Destination: classful(pr[0]), Router: pr[1]})
			}
		}
	}
	return out[:min(len(out), MaxRoutes)]
}

// classful returns the classful network of a (RFC 2132 §5.8), or a host
// route when a has host bits under that mask.
func classful(a netip.Addr) netip.Prefix {
	bits := 24
	switch b := a.As4()[0]; {
	case b < 128:
		bits = 8
	case b < 192:
		bits = 16
	}
	if p := netip.PrefixFrom(a, bits); p.Masked().Addr() != a {
		return netip.PrefixFrom(a, 32)
	}
	return netip.PrefixFrom(a, bits)
}

func prefixNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: ip4(p.Addr()), Mask: net.CIDRMask(p.Bits(), 32)}
}

// routeOf is the netlink route for ar: main table, protocol DHCP, preferred
// source the leased address, so that the kernel drops it with the address.
func routeOf(ifindex int, src netip.Addr, ar AppliedRoute) *netlink.Route {
	rt := &netlink.Route{
		LinkIndex: ifindex,
		Dst:       prefixNet(ar.Dst.Masked()),
		Protocol:  rtprotDHCP,
		Priority:  ar.Metric,
		Table:     unix.RT_TABLE_MAIN,
		Src:       ip4(src),
	}
	if ar.Gateway.IsValid() {
		rt.Gw = ip4(ar.Gateway)
	} else {
		rt.Scope = netlink.SCOPE_LINK
	}
	return rt
}

// Unapply removes what l.Applied records, and nothing else: its routes,
// then its address. What is gone already (expired, removed by hand) is not
// an error. A lease Apply never configured changes nothing.
func Unapply(l *Lease) error {
	if l == nil || l.Applied == nil {
		return nil
	}
	return undo(l.Applied)
}

func undo(a *Applied) error {
	link, err := netlink.LinkByName(a.Interface)
	if err != nil {
		return fmt.Errorf("dhcpclient: unapply: interface %q: %w", a.Interface, err)
	}
	var errs []error
	for i := len(a.Routes) - 1; i >= 0; i-- {
		r := a.Routes[i]
		err := netlink.RouteDel(routeOf(link.Attrs().Index, a.Address.Addr(), r))
		if err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("dhcpclient: unapply: route %s on %s: %w", r.Dst, a.Interface, err))
		}
	}
	err = netlink.AddrDel(link, &netlink.Addr{IPNet: prefixNet(a.Address)})
	if err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
		errs = append(errs, fmt.Errorf("dhcpclient: unapply: address %s on %s: %w", a.Address, a.Interface, err))
	}
	return errors.Join(errs...)
}
