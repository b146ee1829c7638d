package dhcpclient

import (
	"errors"
	"fmt"
	"time"
)

// ApplyOptions says what Apply configures besides the address.
//
// Apply adds (never replaces) the leased address with the lease's remaining
// time as its valid and preferred lifetimes, so the kernel removes it when
// the lease runs out. It adds one default route through the lease's router
// at metric RouteMetric(ifindex), 1024 plus the interface index, which ranks
// after the default routes other tools install on other interfaces (metric
// 0 to 600 for the kernel, ifupdown and NetworkManager) and cannot replace
// any: a route already there with the same key makes Apply fail instead.
// Every route has the leased address as its preferred source, so the kernel
// drops it with the address.
type ApplyOptions struct {
	// Routes adds the static routes of option 121 (RFC 3442), or of option
	// 33 when 121 is absent, at most MaxRoutes. Off by default: a server
	// that pushes routes can draw traffic away from the other interfaces
	// (CVE-2024-3661, "TunnelVision").
	Routes bool
}

// MaxRoutes bounds the routes Apply adds.
const MaxRoutes = 32

// RouteMetric is the metric of the routes Apply adds on interface ifindex.
func RouteMetric(ifindex int) int { return 1024 + ifindex }

// ErrNotApplicable is a lease Apply refuses.
var ErrNotApplicable = errors.New("dhcpclient: lease cannot be applied")

// checkApply refuses a lease Apply must not configure: no usable lease
// time, infinite, expired, or an address no client may hold.
func checkApply(l *Lease) error {
	if err := l.CheckExtend(); err != nil {
		return err
	}
	if why := unicastAddr(l.Address, l.Prefix()); why != "" {
		return fmt.Errorf("%w: the address %s is %s", ErrNotApplicable, l.Address, why)
	}
	switch {
	case l.LeaseTimeDefaulted:
		return fmt.Errorf("%w: the DHCPACK has no usable lease time (option 51), so the address would have no lifetime", ErrNotApplicable)
	case l.Infinite():
		return fmt.Errorf("%w: an infinite lease would stay on the interface forever", ErrNotApplicable)
	case time.Until(l.Expiry()) <= 0:
		return fmt.Errorf("%w: the lease expired at %s", ErrNotApplicable, l.Expiry().UTC().Format(time.RFC3339))
	case l.Interface == "":
		return fmt.Errorf("%w: no interface", ErrNotApplicable)
	}
	return nil
}
