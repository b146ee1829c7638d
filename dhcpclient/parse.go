package dhcpclient

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/rawlab/rawlab/craft"
	"github.com/rawlab/rawlab/craft/dhcpopt"
)

// ParseAgentID parses an option 82 sub-option value (RFC 3046): text, or a
// dhcpopt typed value (hex:.., str:.., ip:..).
func ParseAgentID(s string) ([]byte, error) {
	if i := strings.IndexByte(s, ':'); i > 0 {
		switch strings.ToLower(s[:i]) {
		case "hex", "str", "ip", "u8", "u16", "u32":
			return dhcpopt.ParseValue(s)
		}
	}
	return []byte(s), nil
}

// ParseSelection parses "first", "server=IP" or "ip=IP".
func ParseSelection(s string) (Selection, error) {
	var sel Selection
	var err error
	k, v, _ := strings.Cut(s, "=")
	switch k {
	case "first", "":
		return sel, nil
	case "server":
		sel.Server, err = netip.ParseAddr(v)
	case "ip":
		sel.Address, err = netip.ParseAddr(v)
	default:
		err = fmt.Errorf("unknown")
	}
	if err != nil || (!sel.Server.Is4() && !sel.Address.Is4()) {
		return sel, &ConfigError{Field: "selection", Value: s, Reason: "want first, server=IP or ip=IP"}
	}
	return sel, nil
}

// ParseTrusted parses a list of servers' IPv4 addresses and MACs, for
// Config.Trusted and Config.TrustedMACs.
func ParseTrusted(list []string) ([]netip.Addr, []net.HardwareAddr, error) {
	var ips []netip.Addr
	var macs []net.HardwareAddr
	for _, s := range list {
		s = strings.TrimSpace(s)
		if ip, err := netip.ParseAddr(s); err == nil && ip.Is4() {
			ips = append(ips, ip)
		} else if m, err := craft.ParseMAC(s); err == nil {
			macs = append(macs, m)
		} else {
			return nil, nil, &ConfigError{Field: FieldTrusted, Value: s, Reason: "neither an IPv4 address nor a MAC"}
		}
	}
	return ips, macs, nil
}

// Commit applies l with o when o is not nil (recording what was added in
// l.Applied), then writes l to the lease file f when f is not nil.
func Commit(l *Lease, o *ApplyOptions, f *os.File) error {
	if o != nil {
		done, err := Apply(l, *o)
		if err != nil {
			return err
		}
		l.Applied = done
	}
	if f != nil {
		return WriteLeaseFile(f, l)
	}
	return nil
}

// Retire removes what l.Applied records, marks l released and writes it to
// the lease file f when f is not nil: run after a DHCPRELEASE.
func Retire(l *Lease, f *os.File) error {
	err := Unapply(l)
	if err == nil {
		l.Applied = nil
	}
	l.Released = time.Now().UTC()
	if f != nil {
		if werr := WriteLeaseFile(f, l); werr != nil {
			return errorsJoin(err, werr)
		}
	}
	return err
}
