package dhcpclient

import (
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/rawlab/rawlab/craft"
	"github.com/rawlab/rawlab/craft/dhcpopt"
)

// ParseClientID parses a client identifier (option 61, RFC 2132 §9.14):
// hex bytes (01:02:00:00:00:00:10), or a dhcpopt hex:/str: value. The type
// byte comes first.
func ParseClientID(s string) ([]byte, error) {
	if l := strings.ToLower(s); strings.HasPrefix(l, "hex:") || strings.HasPrefix(l, "str:") {
		return dhcpopt.ParseValue(s)
	}
	b, err := hex.DecodeString(strings.NewReplacer(":", "", "-", "").Replace(s))
	if err != nil {
		return nil, &ConfigError{Field: FieldClientID, Value: s, Reason: "want hex bytes such as 01:02:00:00:00:00:10, hex:.., str:.. or mac"}
	}
	return b, nil
}

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
// l.Applied), then saves l to path when path is not empty.
func Commit(l *Lease, o *ApplyOptions, path string) error {
	if o != nil {
		done, err := Apply(l, *o)
		if err != nil {
			return err
		}
		l.Applied = done
	}
	if path != "" {
		return SaveLease(path, l)
	}
	return nil
}

// Retire removes what l.Applied records, marks l released and saves it to
// path when path is not empty: run after a DHCPRELEASE.
func Retire(l *Lease, path string) error {
	err := Unapply(l)
	if err == nil {
		l.Applied = nil
	}
	l.Released = time.Now().UTC()
	if path != "" {
		if serr := SaveLease(path, l); serr != nil {
			return errorsJoin(err, serr)
		}
	}
	return err
}
