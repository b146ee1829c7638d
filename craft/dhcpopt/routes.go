package dhcpopt

import (
	"fmt"
	"io"
	"net/netip"
)

// DecodeClasslessRoutes decodes option 121 (RFC 3442 §2; Microsoft's 249 has
// the same format): a sequence of routes, each a prefix width (0-32), the
// significant octets of the destination (ceil(width/8) of them), then the
// router's 4 bytes. Width 0 is the default route. Bits beyond the width are
// cleared. A width above 32 is malformed; data that ends inside a route
// returns io.ErrUnexpectedEOF.
func DecodeClasslessRoutes(b []byte) ([]Route, error) {
	if len(b) == 0 {
		return nil, malformedf("empty route list")
	}
	var out []Route
	for p := 0; p < len(b); {
		w := int(b[p])
		if w > 32 {
			return nil, malformedf("route at offset %d: width %d above 32", p, w)
		}
		n := (w + 7) / 8
		if p+1+n+4 > len(b) {
			return nil, fmt.Errorf("dhcpopt: classless route at offset %d: %d bytes needed, %d left: %w", p, 1+n+4, len(b)-p, io.ErrUnexpectedEOF)
		}
		var dst [4]byte
		copy(dst[:], b[p+1:p+1+n])
		pfx, err := netip.AddrFrom4(dst).Prefix(w)
		if err != nil {
			return nil, malformedf("route at offset %d: %v", p, err)
		}
		r := netip.AddrFrom4([4]byte(b[p+1+n : p+1+n+4]))
		out = append(out, Route{Destination: pfx, Router: r})
		p += 1 + n + 4
	}
	return out, nil
}

// EncodeClasslessRoutes encodes routes as option 121 data (RFC 3442 §2).
// Destinations must be IPv4 prefixes.
func EncodeClasslessRoutes(routes ...Route) ([]byte, error) {
	var b []byte
	for _, r := range routes {
		if !r.Destination.Addr().Is4() || !r.Router.Is4() {
			return nil, fmt.Errorf("dhcpopt: route %s: not IPv4", r)
		}
		w := r.Destination.Bits()
		a := r.Destination.Masked().Addr().As4()
		b = append(b, byte(w))
		b = append(b, a[:(w+7)/8]...)
		rt := r.Router.As4()
		b = append(b, rt[:]...)
	}
	return b, nil
}
