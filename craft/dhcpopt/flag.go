package dhcpopt

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Setting is an option a user asked to send: a code and its raw data.
type Setting struct {
	Code Code
	Data []byte
}

// String returns "name(code)=hex".
func (s Setting) String() string { return fmt.Sprintf("%s(%d)=%s", s.Code.Key(), s.Code, Hex(s.Data)) }

// ParseSetting parses `--option CODE=VALUE`. CODE is as ParseCode takes it
// (a number or a name); VALUE is typed by its prefix:
//
//	hex:0a0b0c   raw bytes; ':' '-' and ' ' between bytes are ignored; "hex:" alone is empty data
//	ip:1.2.3.4   one IPv4 address, or a comma-separated list of them
//	str:text     the bytes of text, as is
//	u8:N u16:N u32:N   an unsigned integer in network byte order (decimal or 0x hex)
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
	d, err := ParseValue(v)
	if err != nil {
		return Setting{}, fmt.Errorf("dhcpopt: option %q: %w", s, err)
	}
	return Setting{Code: c, Data: d}, nil
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
