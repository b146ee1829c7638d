package dhcpopt

import (
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"strconv"
)

// SubOption is one sub-option of option 82, relay agent information
// (RFC 3046 §2.0 and the IANA "DHCP Relay Agent Sub-Option Codes" registry).
type SubOption struct {
	Code uint8  `json:"code"`
	Name string `json:"name"`
	Text string `json:"text"`
	Raw  Hex    `json:"raw"`
}

// String returns "Agent Circuit ID (1): eth0:100".
func (s SubOption) String() string { return fmt.Sprintf("%s (%d): %s", s.Name, s.Code, s.Text) }

// Relay agent sub-option codes rawlab sets from flags.
const (
	AgentCircuitID uint8 = 1
	AgentRemoteID  uint8 = 2
)

var relayNames = map[uint8]string{
	1: "Agent Circuit ID", 2: "Agent Remote ID", 4: "DOCSIS Device Class", 5: "Link selection",
	6: "Subscriber-ID", 7: "RADIUS Attributes", 8: "Authentication", 9: "Vendor-Specific Information",
	10: "Relay Agent Flags", 11: "Server Identifier Override", 12: "Relay Agent Identifier",
	13: "Access-Technology-Type", 14: "Access-Network-Name", 15: "Access-Point-Name",
	16: "Access-Point-BSSID", 17: "Operator-Identifier", 18: "Operator-Realm", 19: "Relay-Port",
	151: "Virtual Subnet Selection", 152: "Virtual Subnet Selection Control",
}

func relayName(c uint8) string {
	if n, ok := relayNames[c]; ok {
		return n
	}
	return "Sub-option " + strconv.Itoa(int(c))
}

// decodeRelay splits option 82 into its sub-options (RFC 3046 §2.0: code,
// length, data, with no padding).
func decodeRelay(b []byte) ([]SubOption, error) {
	if len(b) == 0 {
		return nil, malformedf("no sub-options")
	}
	var out []SubOption
	for p := 0; p < len(b); {
		if p+1 >= len(b) {
			return nil, fmt.Errorf("dhcpopt: relay sub-option at offset %d: length missing: %w", p, io.ErrUnexpectedEOF)
		}
		c, n := b[p], int(b[p+1])
		if p+2+n > len(b) {
			return nil, fmt.Errorf("dhcpopt: relay sub-option %d: %d bytes announced, %d left: %w", c, n, len(b)-p-2, io.ErrUnexpectedEOF)
		}
		d := b[p+2 : p+2+n]
		s := SubOption{Code: c, Name: relayName(c), Raw: Hex(append([]byte{}, d...))}
		switch {
		case (c == 5 || c == 11) && n == 4:
			s.Text = netip.AddrFrom4([4]byte(d)).String()
		case c == 10 && n == 1:
			s.Text = fmt.Sprintf("0x%02x", d[0])
			if d[0]&0x80 != 0 {
				s.Text += " (unicast)"
			}
		case c == 151 && n >= 1 || c == 152:
			s.Text = Hex(d).String()
		case c == 4 && n == 4:
			s.Text = strconv.FormatUint(uint64(binary.BigEndian.Uint32(d)), 10)
		case n > 0 && printable(d):
			s.Text = quoteIfNeeded(string(d))
		default:
			s.Text = Hex(d).String()
		}
		out = append(out, s)
		p += 2 + n
	}
	return out, nil
}

// EncodeRelayAgentInfo builds option 82 data from sub-options given as code
// and data, in order (RFC 3046 §2.0). Each sub-option holds at most 255 bytes.
func EncodeRelayAgentInfo(subs ...SubOption) ([]byte, error) {
	var b []byte
	for _, s := range subs {
		if len(s.Raw) > 255 {
			return nil, fmt.Errorf("dhcpopt: relay sub-option %d: %d bytes, at most 255", s.Code, len(s.Raw))
		}
		b = append(b, s.Code, byte(len(s.Raw)))
		b = append(b, s.Raw...)
	}
	if len(b) > 255 {
		return nil, fmt.Errorf("dhcpopt: relay agent information: %d bytes, at most 255", len(b))
	}
	return b, nil
}
