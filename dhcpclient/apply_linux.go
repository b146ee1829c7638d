package dhcpclient

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/rawlab/rawlab/craft/dhcpopt"
	"github.com/vishvananda/netlink"
)

// Apply configures l on its interface through netlink: the address with
// the mask, valid and preferred lifetimes set to what remains of the lease
// (forever for an infinite lease), and the routes: the classless static
// routes of option 121 when the server sent them (RFC 3442 §2: the router
// option is then ignored), else a default route via the first router.
func Apply(l *Lease) error {
	if err := l.check(); err != nil {
		return err
	}
	link, err := netlink.LinkByName(l.Interface)
	if err != nil {
		return fmt.Errorf("dhcpclient: apply: interface %q: %w", l.Interface, err)
	}
	p := l.Prefix()
	a := &netlink.Addr{IPNet: &net.IPNet{IP: ip4(l.Address), Mask: net.CIDRMask(p.Bits(), 32)}}
	if l.Broadcast.IsValid() {
		a.Broadcast = ip4(l.Broadcast)
	}
	if !l.Infinite() && l.LeaseTime > 0 {
		left := max(time.Until(l.Expiry()), time.Second)
		a.ValidLft = int(left / time.Second)
		a.PreferedLft = a.ValidLft
	}
	if err := netlink.AddrReplace(link, a); err != nil {
		return fmt.Errorf("dhcpclient: apply: address %s on %s: %w", p, l.Interface, err)
	}
	var routes []dhcpopt.Route
	if o, ok := dhcpopt.Find(l.Options, dhcpopt.ClasslessStaticRoute); ok && o.Err == "" {
		routes = o.Value.([]dhcpopt.Route)
	} else if len(l.Routers) > 0 {
		routes = []dhcpopt.Route{{Destination: netip.PrefixFrom(netip.IPv4Unspecified(), 0), Router: l.Routers[0]}}
	}
	for _, r := range routes {
		rt := &netlink.Route{
			LinkIndex: link.Attrs().Index,
			Dst:       &net.IPNet{IP: ip4(r.Destination.Addr()), Mask: net.CIDRMask(r.Destination.Bits(), 32)},
			Protocol:  16, // RTPROT_DHCP
		}
		if r.Router.IsUnspecified() {
			rt.Scope = netlink.SCOPE_LINK
		} else {
			rt.Gw = ip4(r.Router)
		}
		if err := netlink.RouteReplace(rt); err != nil {
			return fmt.Errorf("dhcpclient: apply: route %s on %s: %w", r, l.Interface, err)
		}
	}
	return nil
}

// Unapply removes l's address from its interface; the kernel removes the
// routes through it.
func Unapply(l *Lease) error {
	if err := l.check(); err != nil {
		return err
	}
	link, err := netlink.LinkByName(l.Interface)
	if err != nil {
		return fmt.Errorf("dhcpclient: unapply: interface %q: %w", l.Interface, err)
	}
	p := l.Prefix()
	a := &netlink.Addr{IPNet: &net.IPNet{IP: ip4(l.Address), Mask: net.CIDRMask(p.Bits(), 32)}}
	if err := netlink.AddrDel(link, a); err != nil {
		return fmt.Errorf("dhcpclient: unapply: address %s on %s: %w", p, l.Interface, err)
	}
	return nil
}
