package craft

import (
	"crypto/rand"
	"fmt"
	"net"
	"strings"
)

// Broadcast is the Ethernet broadcast address ff:ff:ff:ff:ff:ff.
// Treat it as read-only.
var Broadcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// MACError reports a MAC address that ParseMAC cannot read.
type MACError struct {
	Input  string // what the caller passed
	Reason string // what is wrong with it
}

// Error returns a one-line message naming the input and the problem.
func (e *MACError) Error() string {
	return fmt.Sprintf("craft: invalid MAC address %q: %s", e.Input, e.Reason)
}

// ParseMAC parses a 6-byte IEEE 802 MAC-48 address written in any of the
// common notations, upper or lower case:
//
//	aa:bb:cc:dd:ee:ff   colons (Linux, tcpdump); one-digit groups like a:b:c:d:e:f too (BSD, macOS)
//	aa-bb-cc-dd-ee-ff   hyphens (Windows, IEEE)
//	aabb.ccdd.eeff      dotted quads of hex digits (Cisco)
//	aabbcc-ddeeff       two halves (HP)
//	aabbccddeeff        bare hex
//
// Anything else, including 8- and 20-byte addresses that net.ParseMAC
// accepts, is an error of type *MACError.
func ParseMAC(s string) (net.HardwareAddr, error) {
	fail := func(format string, args ...any) (net.HardwareAddr, error) {
		return nil, &MACError{Input: s, Reason: fmt.Sprintf(format, args...)}
	}
	if s == "" {
		return fail("empty")
	}
	for i := 0; i < len(s); i++ {
		if _, ok := unhex(s[i]); !ok && s[i] != ':' && s[i] != '-' && s[i] != '.' {
			return fail("invalid character %q at position %d", rune(s[i]), i+1)
		}
	}
	var groups []string
	var width int // hex digits per group; 0 means 1 or 2
	switch {
	case strings.Contains(s, ":"):
		groups = strings.Split(s, ":")
	case strings.Count(s, "-") == 1:
		groups, width = strings.Split(s, "-"), 6
	case strings.Contains(s, "-"):
		groups = strings.Split(s, "-")
	case strings.Contains(s, "."):
		groups, width = strings.Split(s, "."), 4
	default:
		groups, width = []string{s}, 12
	}
	if strings.ContainsAny(s, ":") && strings.ContainsAny(s, "-.") {
		return fail("mixed separators")
	}
	if width == 12 && len(s) != 12 {
		return fail("want 12 hex digits, got %d", len(s))
	}
	want := map[int]int{0: 6, 6: 2, 4: 3, 12: 1}[width]
	if len(groups) != want {
		return fail("want %d groups, got %d", want, len(groups))
	}
	mac := make(net.HardwareAddr, 0, 6)
	for i, g := range groups {
		switch {
		case g == "":
			return fail("empty group %d", i+1)
		case width == 0 && len(g) > 2:
			return fail("group %d %q has more than 2 hex digits", i+1, g)
		case width != 0 && len(g) != width:
			return fail("group %d %q is not %d hex digits", i+1, g, width)
		}
		if width == 0 && len(g) == 1 {
			g = "0" + g
		}
		for j := 0; j < len(g); j += 2 {
			hi, ok1 := unhex(g[j])
			lo, ok2 := unhex(g[j+1])
			if !ok1 || !ok2 {
				return fail("bad hex digit in group %d %q", i+1, g)
			}
			mac = append(mac, hi<<4|lo)
		}
	}
	return mac, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// RandomMAC returns a random locally administered unicast MAC address:
// in the first octet the U/L bit (0x02) is set and the I/G bit (0x01) is
// clear (IEEE 802-2014 §8.2). The bytes come from crypto/rand.
func RandomMAC() net.HardwareAddr {
	mac := make(net.HardwareAddr, 6)
	rand.Read(mac) // never fails since Go 1.24
	mac[0] = mac[0]&^0x01 | 0x02
	return mac
}

// putMAC writes a 6-byte MAC at b[0:6]; a nil or short address is written
// as zeros (the unknown target hardware address of an ARP request).
func putMAC(b []byte, mac net.HardwareAddr) {
	n := copy(b[:6], mac)
	clear(b[n:6])
}

// MAC is a hardware address as rawlab's JSON carries it: MarshalText writes
// lower-case hex with colons ("02:00:5e:00:53:01") and UnmarshalText reads
// what ParseMAC reads. It converts to and from net.HardwareAddr.
type MAC net.HardwareAddr

// String returns the address lower-case with colons; "" for an empty MAC.
func (m MAC) String() string { return net.HardwareAddr(m).String() }

// MarshalText implements encoding.TextMarshaler.
func (m MAC) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseMAC; an
// address of another length (an ARP packet's own hlen) is read from
// MarshalText's form, colon-separated pairs of hex digits.
func (m *MAC) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*m = nil
		return nil
	}
	hw, err := ParseMAC(string(b))
	if err == nil {
		*m = MAC(hw)
		return nil
	}
	if len(b)%3 != 2 {
		return err
	}
	out := make(MAC, 0, (len(b)+1)/3)
	for i := 0; i < len(b); i += 3 {
		hi, ok1 := unhex(b[i])
		lo, ok2 := unhex(b[i+1])
		if !ok1 || !ok2 || (i+2 < len(b) && b[i+2] != ':') {
			return err
		}
		out = append(out, hi<<4|lo)
	}
	*m = out
	return nil
}
