package dhcpopt

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Seconds is a time value in seconds (lease time, T1, T2, ...). It encodes to
// JSON as a number; 0xffffffff means infinity (RFC 2132 §9.2).
type Seconds uint32

// Infinite is the lease time that never expires.
const Infinite Seconds = 0xffffffff

// Duration returns s as a time.Duration.
func (s Seconds) Duration() time.Duration { return time.Duration(s) * time.Second }

// String returns s as "3600 s (1h)", or "infinite".
func (s Seconds) String() string {
	if s == Infinite {
		return "infinite"
	}
	return fmt.Sprintf("%d s (%s)", uint32(s), Human(s.Duration()))
}

// Human writes d the way a person reads a lease time: "1h", "1h30m",
// "2d3h", "45s", "1.5s", "250ms".
func Human(d time.Duration) string {
	if d < 0 {
		return "-" + Human(-d)
	}
	if d < time.Second {
		return d.Round(time.Microsecond).String()
	}
	if d < time.Minute && d%time.Second != 0 {
		return d.Round(time.Millisecond).String()
	}
	d = d.Round(time.Second)
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		d time.Duration
		s string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := d / u.d; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10))
			b.WriteString(u.s)
			d -= n * u.d
		}
	}
	return b.String()
}

// MsgType is the DHCP message type of option 53 (RFC 2132 §9.6, RFC 3203,
// RFC 4388, RFC 6926, RFC 7724). It encodes to JSON as its name.
type MsgType uint8

// Message types.
const (
	Discover MsgType = 1
	Offer    MsgType = 2
	Request  MsgType = 3
	Decline  MsgType = 4
	Ack      MsgType = 5
	Nak      MsgType = 6
	Release  MsgType = 7
	Inform   MsgType = 8
)

var msgTypeNames = [...]string{
	1: "DHCPDISCOVER", 2: "DHCPOFFER", 3: "DHCPREQUEST", 4: "DHCPDECLINE", 5: "DHCPACK",
	6: "DHCPNAK", 7: "DHCPRELEASE", 8: "DHCPINFORM", 9: "DHCPFORCERENEW", 10: "DHCPLEASEQUERY",
	11: "DHCPLEASEUNASSIGNED", 12: "DHCPLEASEUNKNOWN", 13: "DHCPLEASEACTIVE", 14: "DHCPBULKLEASEQUERY",
	15: "DHCPLEASEQUERYDONE", 16: "DHCPACTIVELEASEQUERY", 17: "DHCPLEASEQUERYSTATUS", 18: "DHCPTLS",
}

// String returns the RFC name, e.g. "DHCPOFFER", or "type N".
func (t MsgType) String() string {
	if int(t) < len(msgTypeNames) && msgTypeNames[t] != "" {
		return msgTypeNames[t]
	}
	return "type " + strconv.Itoa(int(t))
}

// MarshalText encodes t as its name.
func (t MsgType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// OverloadFields is option 52's value (RFC 2132 §9.3).
type OverloadFields uint8

// String names the fields that carry options.
func (o OverloadFields) String() string {
	switch o {
	case 1:
		return "file"
	case 2:
		return "sname"
	case 3:
		return "file+sname"
	}
	return "invalid " + strconv.Itoa(int(o))
}

// ClientID is option 61 (RFC 2132 §9.14): a type, usually 1 (Ethernet) with a
// MAC, or 255 with an RFC 4361 IAID and DUID.
type ClientID struct {
	Type uint8 `json:"type"`
	ID   Hex   `json:"id"`
}

// String shows the MAC for type 1, IAID and DUID for type 255, hex otherwise.
func (c ClientID) String() string {
	switch {
	case c.Type == 1 && len(c.ID) == 6:
		return fmt.Sprintf("Ethernet %s", colonHex(c.ID))
	case c.Type == 255 && len(c.ID) >= 5:
		return fmt.Sprintf("IAID 0x%08x DUID %s", binary.BigEndian.Uint32(c.ID), colonHex(c.ID[4:]))
	case c.Type == 0 && printable(c.ID):
		return quoteIfNeeded(string(c.ID))
	}
	return fmt.Sprintf("type %d %s", c.Type, colonHex(c.ID))
}

// FQDN is option 81 (RFC 4702 §2): flags, two deprecated RCODEs, and the name.
type FQDN struct {
	Flags  uint8  `json:"flags"`
	RCode1 uint8  `json:"rcode1"`
	RCode2 uint8  `json:"rcode2"`
	Name   string `json:"name"`
}

// String shows the name and the flags by letter (S, O, E, N of RFC 4702 §2.1).
func (f FQDN) String() string {
	var fl []string
	for _, x := range []struct {
		bit uint8
		s   string
	}{{0x01, "S"}, {0x02, "O"}, {0x04, "E"}, {0x08, "N"}} {
		if f.Flags&x.bit != 0 {
			fl = append(fl, x.s)
		}
	}
	name := f.Name
	if name == "" {
		name = `""`
	}
	if len(fl) == 0 {
		return name + " (flags none)"
	}
	return name + " (flags " + strings.Join(fl, ",") + ")"
}

// Route is one classless static route of option 121 (RFC 3442).
type Route struct {
	Destination netip.Prefix `json:"destination"`
	Router      netip.Addr   `json:"router"`
}

// String returns "10.0.0.0/8 via 198.18.0.1".
func (r Route) String() string { return r.Destination.String() + " via " + r.Router.String() }

// colonHex writes b as aa:bb:cc.
func colonHex(b []byte) string {
	var s strings.Builder
	for i, x := range b {
		if i > 0 {
			s.WriteByte(':')
		}
		fmt.Fprintf(&s, "%02x", x)
	}
	return s.String()
}

func addrs(b []byte, min int) ([]netip.Addr, error) {
	if len(b) < min || len(b)%4 != 0 {
		return nil, malformedf("length %d is not a non-zero multiple of 4", len(b))
	}
	out := make([]netip.Addr, 0, len(b)/4)
	for i := 0; i+4 <= len(b); i += 4 {
		out = append(out, netip.AddrFrom4([4]byte(b[i:i+4])))
	}
	return out, nil
}

func joinAddrs(a []netip.Addr) string {
	s := make([]string, len(a))
	for i, x := range a {
		s[i] = x.String()
	}
	return strings.Join(s, ", ")
}

func exact(b []byte, n int) error {
	if len(b) != n {
		return malformedf("length %d, want %d", len(b), n)
	}
	return nil
}

// maskText returns "255.255.255.0 (/24)" or "(non-contiguous)".
func maskText(m netip.Addr) string {
	v := binary.BigEndian.Uint32(m.AsSlice())
	ones := bits.LeadingZeros32(^v)
	if bits.TrailingZeros32(v) == 32-ones || v == 0 {
		return fmt.Sprintf("%s (/%d)", m, ones)
	}
	return m.String() + " (non-contiguous)"
}

// decodeString strips trailing NULs (some servers terminate strings) and
// refuses nothing: non-printable bytes are quoted in the text.
func decodeString(b []byte) (string, string) {
	s := strings.TrimRight(string(b), "\x00")
	return s, quoteIfNeeded(s)
}

var archNames = map[uint16]string{
	0: "x86 BIOS", 6: "x86 UEFI", 7: "x64 UEFI", 9: "EBC", 10: "ARM32 UEFI", 11: "ARM64 UEFI",
	15: "x86 UEFI HTTP", 16: "x64 UEFI HTTP", 19: "ARM64 UEFI HTTP", 22: "RISC-V 64 UEFI",
}

var nodeTypes = map[uint8]string{1: "B-node", 2: "P-node", 4: "M-node", 8: "H-node"}

// decodeValue decodes b as code's format, returning the typed value and its
// text.
func decodeValue(code Code, b []byte) (any, string, error) {
	in, ok := table[code]
	if !ok {
		return Hex(b), Hex(b).String(), nil
	}
	switch in.kind {
	case kindIP:
		if err := exact(b, 4); err != nil {
			return nil, "", err
		}
		a := netip.AddrFrom4([4]byte(b))
		return a, a.String(), nil
	case kindIPs:
		a, err := addrs(b, 4)
		if err != nil {
			return nil, "", err
		}
		return a, joinAddrs(a), nil
	case kindIPPairs:
		if len(b) == 0 || len(b)%8 != 0 {
			return nil, "", malformedf("length %d is not a non-zero multiple of 8", len(b))
		}
		var pairs [][2]netip.Addr
		var s []string
		for i := 0; i+8 <= len(b); i += 8 {
			p := [2]netip.Addr{netip.AddrFrom4([4]byte(b[i : i+4])), netip.AddrFrom4([4]byte(b[i+4 : i+8]))}
			pairs = append(pairs, p)
			sep := " "
			if code == 33 {
				sep = " via "
			}
			s = append(s, p[0].String()+sep+p[1].String())
		}
		return pairs, strings.Join(s, ", "), nil
	case kindMask:
		if err := exact(b, 4); err != nil {
			return nil, "", err
		}
		m := netip.AddrFrom4([4]byte(b))
		return m, maskText(m), nil
	case kindString:
		if len(b) == 0 {
			return nil, "", malformedf("empty string")
		}
		s, t := decodeString(b)
		return s, t, nil
	case kindU8:
		if err := exact(b, 1); err != nil {
			return nil, "", err
		}
		return b[0], strconv.Itoa(int(b[0])), nil
	case kindU16:
		if err := exact(b, 2); err != nil {
			return nil, "", err
		}
		v := binary.BigEndian.Uint16(b)
		return v, strconv.Itoa(int(v)), nil
	case kindU16s:
		if len(b) == 0 || len(b)%2 != 0 {
			return nil, "", malformedf("length %d is not a non-zero multiple of 2", len(b))
		}
		var v []uint16
		var s []string
		for i := 0; i+2 <= len(b); i += 2 {
			x := binary.BigEndian.Uint16(b[i:])
			v = append(v, x)
			s = append(s, strconv.Itoa(int(x)))
		}
		return v, strings.Join(s, ", "), nil
	case kindU32:
		if err := exact(b, 4); err != nil {
			return nil, "", err
		}
		v := binary.BigEndian.Uint32(b)
		return v, strconv.FormatUint(uint64(v), 10), nil
	case kindI32:
		if err := exact(b, 4); err != nil {
			return nil, "", err
		}
		v := int32(binary.BigEndian.Uint32(b))
		return v, fmt.Sprintf("%d s (UTC%+.1fh)", v, float64(v)/3600), nil
	case kindSeconds:
		if err := exact(b, 4); err != nil {
			return nil, "", err
		}
		v := Seconds(binary.BigEndian.Uint32(b))
		return v, v.String(), nil
	case kindBool:
		if err := exact(b, 1); err != nil {
			return nil, "", err
		}
		if b[0] > 1 {
			return nil, "", malformedf("boolean %d is neither 0 nor 1", b[0])
		}
		return b[0] == 1, strconv.FormatBool(b[0] == 1), nil
	case kindEmpty:
		if len(b) != 0 {
			return nil, "", malformedf("length %d, want 0", len(b))
		}
		return nil, "(present)", nil
	case kindMsgType:
		if err := exact(b, 1); err != nil {
			return nil, "", err
		}
		return MsgType(b[0]), MsgType(b[0]).String(), nil
	case kindOverload:
		if err := exact(b, 1); err != nil {
			return nil, "", err
		}
		if b[0] < 1 || b[0] > 3 {
			return nil, "", malformedf("overload %d is not 1, 2 or 3", b[0])
		}
		return OverloadFields(b[0]), OverloadFields(b[0]).String(), nil
	case kindNodeType:
		if err := exact(b, 1); err != nil {
			return nil, "", err
		}
		if n, ok := nodeTypes[b[0]]; ok {
			return b[0], fmt.Sprintf("%d (%s)", b[0], n), nil
		}
		return b[0], strconv.Itoa(int(b[0])), nil
	case kindParamList:
		if len(b) == 0 {
			return nil, "", malformedf("empty list")
		}
		cs := make([]Code, len(b))
		s := make([]string, len(b))
		for i, x := range b {
			cs[i] = Code(x)
			s[i] = strconv.Itoa(int(x)) + " " + Code(x).Key()
		}
		return cs, strings.Join(s, ", "), nil
	case kindClientID:
		if len(b) < 2 {
			return nil, "", malformedf("length %d, want at least 2", len(b))
		}
		c := ClientID{Type: b[0], ID: Hex(b[1:])}
		return c, c.String(), nil
	case kindFQDN:
		return decodeFQDN(b)
	case kindRelay:
		subs, err := decodeRelay(b)
		if err != nil {
			return nil, "", err
		}
		s := make([]string, len(subs))
		for i, x := range subs {
			s[i] = x.String()
		}
		return subs, strings.Join(s, "; "), nil
	case kindDomains:
		d, err := DecodeDomainSearch(b)
		if err != nil {
			return nil, "", err
		}
		return d, strings.Join(d, ", "), nil
	case kindRoutes:
		r, err := DecodeClasslessRoutes(b)
		if err != nil {
			return nil, "", err
		}
		s := make([]string, len(r))
		for i, x := range r {
			s[i] = x.String()
		}
		return r, strings.Join(s, ", "), nil
	case kindArch:
		if len(b) == 0 || len(b)%2 != 0 {
			return nil, "", malformedf("length %d is not a non-zero multiple of 2", len(b))
		}
		var v []uint16
		var s []string
		for i := 0; i+2 <= len(b); i += 2 {
			x := binary.BigEndian.Uint16(b[i:])
			v = append(v, x)
			if n, ok := archNames[x]; ok {
				s = append(s, fmt.Sprintf("%d (%s)", x, n))
			} else {
				s = append(s, strconv.Itoa(int(x)))
			}
		}
		return v, strings.Join(s, ", "), nil
	case kindUUID:
		if len(b) != 17 || b[0] != 0 {
			return nil, "", malformedf("want type 0 and 16 bytes, got %d bytes", len(b))
		}
		u := b[1:]
		s := fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
		return s, s, nil
	case kindSIP:
		if len(b) < 2 {
			return nil, "", malformedf("length %d, want at least 2", len(b))
		}
		switch b[0] {
		case 0:
			d, err := DecodeDomainSearch(b[1:])
			if err != nil {
				return nil, "", err
			}
			return d, strings.Join(d, ", "), nil
		case 1:
			a, err := addrs(b[1:], 4)
			if err != nil {
				return nil, "", err
			}
			return a, joinAddrs(a), nil
		}
		return nil, "", malformedf("encoding %d is neither 0 (names) nor 1 (addresses)", b[0])
	case kindUserClass:
		// RFC 3004 §4: length-prefixed instances. Many clients send a bare
		// string instead; show that as a string.
		var v []string
		ok := len(b) > 0
		for i := 0; i < len(b) && ok; {
			n := int(b[i])
			if n == 0 || i+1+n > len(b) || !printable(b[i+1:i+1+n]) {
				ok = false
				break
			}
			v = append(v, string(b[i+1:i+1+n]))
			i += 1 + n
		}
		if ok {
			return v, strings.Join(v, ", "), nil
		}
		if len(b) > 0 && printable(b) {
			s, t := decodeString(b)
			return s, t, nil
		}
		return Hex(b), Hex(b).String(), nil
	}
	return Hex(b), Hex(b).String(), nil
}

func decodeFQDN(b []byte) (any, string, error) {
	if len(b) < 3 {
		return nil, "", malformedf("length %d, want at least 3", len(b))
	}
	f := FQDN{Flags: b[0], RCode1: b[1], RCode2: b[2]}
	if f.Flags&0x04 != 0 { // E: canonical wire format, RFC 4702 §2.3.1
		n, err := wireName(b[3:])
		if err != nil {
			return nil, "", err
		}
		f.Name = n
	} else {
		f.Name = strings.TrimRight(string(b[3:]), "\x00")
		if !printable([]byte(f.Name)) {
			f.Name = fmt.Sprintf("%q", f.Name)
		}
	}
	return f, f.String(), nil
}
