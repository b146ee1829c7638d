package craft

import (
	"errors"
	"net"
	"net/netip"
	"strings"
)

// MACFlag is a command-line flag value (flag.Value, pflag.Value) holding a
// MAC address: what ParseMAC reads, or "random" for RandomMAC. Its errors
// leave the flag's name and the input to the flag package.
type MACFlag struct{ net.HardwareAddr }

// Set parses s.
func (m *MACFlag) Set(s string) error {
	if strings.EqualFold(s, "random") {
		m.HardwareAddr = RandomMAC()
		return nil
	}
	mac, err := ParseMAC(s)
	if me := (*MACError)(nil); errors.As(err, &me) {
		return errors.New("not a MAC address: " + me.Reason)
	}
	m.HardwareAddr = mac
	return err
}

// String returns the address, "" when unset.
func (m *MACFlag) String() string { return m.HardwareAddr.String() }

// Type names the value in help text.
func (m *MACFlag) Type() string { return "MAC" }

// IPv4Flag is a command-line flag value holding an IPv4 address; the zero
// value (not IsValid) means the flag was not given.
type IPv4Flag struct{ netip.Addr }

// Set parses a dotted quad.
func (a *IPv4Flag) Set(s string) error {
	ip, err := netip.ParseAddr(s)
	if err != nil || !ip.Is4() {
		return errors.New("not an IPv4 address")
	}
	a.Addr = ip
	return nil
}

// String returns the address, "" when unset.
func (a *IPv4Flag) String() string {
	if !a.IsValid() {
		return ""
	}
	return a.Addr.String()
}

// Type names the value in help text.
func (a *IPv4Flag) Type() string { return "IP" }

// Or returns the address, or def when the flag was not given.
func (a IPv4Flag) Or(def netip.Addr) netip.Addr {
	if a.IsValid() {
		return a.Addr
	}
	return def
}
