package dhcpopt

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// Setting is an option a user asked to send: a code and its raw data.
type Setting struct {
	Code Code
	Data []byte
}

// String returns "name(code)=hex".
func (s Setting) String() string { return fmt.Sprintf("%s(%d)=%s", s.Code.Key(), s.Code, Hex(s.Data)) }

// ParseSetting parses `--option CODE=VALUE`, the one option grammar of
// `rawlab craft dhcp` and `rawlab dhcp`. CODE is as ParseCode takes it (a
// number or a name); VALUE is typed by its prefix:
//
//	hex:0a0b0c   raw bytes; ':' '-' and ' ' between bytes are ignored; "hex:" alone is empty data
//	ip:1.2.3.4   one IPv4 address, or a comma-separated list of them
//	str:text     the bytes of text, as is
//	u8:N u16:N u32:N   an unsigned integer in network byte order (decimal or 0x hex)
//
// or, without a type, the list shorthand: decimal bytes (55=1,3,6,15 is
// hex:0103060f; 53=5 is one byte) or IPv4 addresses (6=198.18.0.1,198.18.0.2).
//
// Pad (0) and End (255) cannot be set. Data longer than 255 bytes is split into
// several instances when the message is encoded (RFC 3396), up to 1200 bytes.
func ParseSetting(s string) (Setting, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		return Setting{}, fmt.Errorf("dhcpopt: option %q: want CODE=VALUE, e.g. 252=str:http://wpad/wpad.dat", s)
	}
	c, err := ParseCode(k)
	if err != nil {
		return Setting{}, err
	}
	if c == Pad || c == End {
		return Setting{}, fmt.Errorf("dhcpopt: option %q: %d (%s) cannot be set", s, c, c)
	}
	d, err := parseShorthand(v)
	if err == nil && d == nil {
		d, err = ParseValue(v)
	}
	if err != nil {
		return Setting{}, fmt.Errorf("dhcpopt: option %q: %w", s, err)
	}
	return Setting{Code: c, Data: d}, nil
}

// parseShorthand parses an untyped list of decimal bytes or of IPv4
// addresses; it returns nil, nil when v is neither (a typed value).
func parseShorthand(v string) ([]byte, error) {
	if v == "" || strings.Contains(v, ":") {
		return nil, nil
	}
	parts := strings.Split(v, ",")
	if a, err := netip.ParseAddr(parts[0]); err == nil && a.Is4() {
		var d []byte
		for _, p := range parts {
			a, err := netip.ParseAddr(p)
			if err != nil || !a.Is4() {
				return nil, fmt.Errorf("list %q: %q is not an IPv4 address", v, p)
			}
			b := a.As4()
			d = append(d, b[:]...)
		}
		return d, nil
	}
	d := make([]byte, 0, len(parts))
	for _, p := range parts {
		n, err := strconv.ParseUint(p, 10, 8)
		if err != nil {
			return nil, fmt.Errorf("list %q: %q is not a byte (0-255): write a type (hex:, ip:, str:, u8:, u16:, u32:) for other values", v, p)
		}
		d = append(d, byte(n))
	}
	return d, nil
}

// ConflictError reports two values for one option: two settings of it, or
// a setting that contradicts a value the caller fixed (a message type
// chosen otherwise, say).
type ConflictError struct {
	Code        Code
	Given, Have []byte
	Fixed       bool // Have is the caller's fixed value, not another setting
}

// Error names the option and both values.
func (e *ConflictError) Error() string {
	return fmt.Sprintf("dhcpopt: option %d (%s) set to %s, contradicting %s", e.Code, e.Code.Key(), Hex(e.Given), Hex(e.Have))
}

// Compile parses each of options with ParseSetting and returns them as
// dhcpv4 modifiers, in order, for dhcpv4.New or DHCPv4.Update. fixed holds
// the options the caller sets by other means (the message type, the
// hostname...): an option that sets one of them to another value, or two
// options that set one code differently, is a *ConflictError. A setting
// equal to a fixed value is accepted and adds nothing.
func Compile(options []string, fixed map[Code][]byte) ([]dhcpv4.Modifier, []Setting, error) {
	var mods []dhcpv4.Modifier
	var settings []Setting
	seen := map[Code][]byte{}
	for _, o := range options {
		st, err := ParseSetting(o)
		if err != nil {
			return nil, nil, err
		}
		if have, ok := fixed[st.Code]; ok {
			if !bytes.Equal(have, st.Data) {
				return nil, nil, &ConflictError{Code: st.Code, Given: st.Data, Have: have, Fixed: true}
			}
			continue
		}
		if have, ok := seen[st.Code]; ok {
			if !bytes.Equal(have, st.Data) {
				return nil, nil, &ConflictError{Code: st.Code, Given: st.Data, Have: have}
			}
			continue
		}
		seen[st.Code] = st.Data
		settings = append(settings, st)
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptGeneric(dhcpv4.GenericOptionCode(st.Code), st.Data)))
	}
	return mods, settings, nil
}

// ParseClientID parses a client identifier (option 61, RFC 2132 §9.14) as
// both DHCP commands take it: "mac" for type 1 (Ethernet) and chaddr (RFC
// 2132's recommendation); a typed value (hex:..., str:...) as ParseValue
// reads it; otherwise hex bytes with optional ':' or '-' between them, the
// type byte first ("01:02:00:5e:00:53:01"). The result is 2 to 255 bytes.
func ParseClientID(s string, chaddr []byte) ([]byte, error) {
	var id []byte
	var err error
	switch {
	case strings.EqualFold(s, "mac"):
		id = append([]byte{1}, chaddr...)
	case strings.Contains(s, ":") && !isHexPairs(s):
		id, err = ParseValue(s)
	default:
		id, err = hex.DecodeString(strings.NewReplacer(":", "", "-", "").Replace(s))
		if err != nil {
			err = fmt.Errorf("%q: want hex bytes such as 01:02:00:5e:00:53:01, hex:.., str:.. or mac", s)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("dhcpopt: client identifier %w", err)
	}
	if len(id) < 2 || len(id) > 255 {
		return nil, fmt.Errorf("dhcpopt: client identifier %q: %d bytes, want 2 to 255 (a type byte, then the identifier)", s, len(id))
	}
	return id, nil
}

// isHexPairs reports whether s is hex digit pairs separated by ':'.
func isHexPairs(s string) bool {
	for _, p := range strings.Split(s, ":") {
		if _, err := hex.DecodeString(p); err != nil || len(p) != 2 {
			return false
		}
	}
	return true
}

// maxSetting bounds a user-given option's data: more would not fit a DHCP
// message on an Ethernet link.
const maxSetting = 1200

// ParseValue parses a typed option value (see ParseSetting) into raw bytes.
func ParseValue(v string) ([]byte, error) {
	typ, val, ok := strings.Cut(v, ":")
	if !ok {
		return nil, fmt.Errorf("value %q has no type: write hex:, ip:, str:, u8:, u16: or u32: before it", v)
	}
	var d []byte
	switch strings.ToLower(typ) {
	case "hex":
		clean := strings.Map(func(r rune) rune {
			if r == ':' || r == '-' || r == ' ' {
				return -1
			}
			return r
		}, strings.TrimPrefix(strings.TrimPrefix(val, "0x"), "0X"))
		b, err := hex.DecodeString(clean)
		if err != nil {
			return nil, fmt.Errorf("hex value %q: %w", val, err)
		}
		d = b
	case "ip":
		for _, f := range strings.Split(val, ",") {
			a, err := netip.ParseAddr(strings.TrimSpace(f))
			if err != nil || !a.Is4() {
				return nil, fmt.Errorf("ip value %q: %q is not an IPv4 address", val, f)
			}
			b := a.As4()
			d = append(d, b[:]...)
		}
	case "str":
		d = []byte(val)
	case "u8", "u16", "u32":
		size, _ := strconv.Atoi(typ[1:])
		n, err := strconv.ParseUint(val, 0, size)
		if err != nil {
			return nil, fmt.Errorf("%s value %q: not an integer from 0 to %d", typ, val, uint64(1)<<size-1)
		}
		switch size {
		case 8:
			d = []byte{byte(n)}
		case 16:
			d = binary.BigEndian.AppendUint16(nil, uint16(n))
		case 32:
			d = binary.BigEndian.AppendUint32(nil, uint32(n))
		}
	default:
		return nil, fmt.Errorf("value type %q unknown: want hex:, ip:, str:, u8:, u16: or u32:", typ)
	}
	if len(d) > maxSetting {
		return nil, fmt.Errorf("value is %d bytes, at most %d", len(d), maxSetting)
	}
	if d == nil {
		d = []byte{}
	}
	return d, nil
}
