package craft

import (
	"encoding/binary"
	"fmt"
)

// ICMPv4 types used by echo (RFC 792).
const (
	ICMPEchoReply   uint8 = 0
	ICMPEchoRequest uint8 = 8
)

// ICMPEcho is an ICMPv4 echo request (Type 8) or echo reply (Type 0)
// message (RFC 792). The checksum is computed when encoding.
type ICMPEcho struct {
	Type, Code uint8
	ID, Seq    uint16
	Data       []byte
}

// ICMPEchoHeaderLen is the length of an echo message without data.
const ICMPEchoHeaderLen = 8

// AppendICMPEchoMessage appends the ICMP echo message e to b with its
// checksum (RFC 792: the Internet checksum of the whole ICMP message).
// Layout:
//
//	0   type (8 request, 0 reply)
//	1   code (0)
//	2:4 checksum
//	4:6 identifier
//	6:8 sequence number
//	8:  data, echoed back by the replier
func AppendICMPEchoMessage(b []byte, e ICMPEcho) []byte {
	n := len(b)
	b = grow(b, ICMPEchoHeaderLen)
	b = append(b, e.Data...)
	m := b[n:]
	m[0], m[1], m[2], m[3] = e.Type, e.Code, 0, 0
	binary.BigEndian.PutUint16(m[4:6], e.ID)
	binary.BigEndian.PutUint16(m[6:8], e.Seq)
	binary.BigEndian.PutUint16(m[2:4], Checksum(m))
	return b
}

// AppendICMPEcho appends a whole IPv4/ICMP echo frame to b: the Ethernet
// header (EtherType forced to IPv4), the IPv4 header (protocol forced to 1,
// TTL 0 written as DefaultTTL), the echo message, and zero padding up to the
// 60-byte minimum. It allocates nothing when cap(b) suffices.
func AppendICMPEcho(b []byte, eth Ethernet, ip IPv4, e ICMPEcho) []byte {
	start := len(b)
	eth.EtherType = EtherTypeIPv4
	ip.Protocol = ProtocolICMP
	if ip.TTL == 0 {
		ip.TTL = DefaultTTL
	}
	b = AppendEthernet(b, eth)
	b = AppendIPv4(b, ip, ICMPEchoHeaderLen+len(e.Data))
	b = AppendICMPEchoMessage(b, e)
	return pad(b, start)
}

// DecodeICMPEcho decodes the ICMP echo message b (the IPv4 payload) into e.
// e.Data aliases b; nothing is allocated. Other ICMP types return an error
// wrapping ErrUnsupported. The checksum is not verified: see Checksum, which
// returns 0 over a message with a correct one.
func DecodeICMPEcho(b []byte, e *ICMPEcho) error {
	if len(b) < ICMPEchoHeaderLen {
		return errICMPShort
	}
	if b[0] != ICMPEchoRequest && b[0] != ICMPEchoReply {
		return errICMPNotEcho
	}
	e.Type, e.Code = b[0], b[1]
	e.ID = binary.BigEndian.Uint16(b[4:6])
	e.Seq = binary.BigEndian.Uint16(b[6:8])
	e.Data = b[ICMPEchoHeaderLen:len(b):len(b)]
	return nil
}

// icmpTypeName names common ICMPv4 types (RFC 792, RFC 950) for summaries.
func icmpTypeName(t, code uint8) string {
	switch t {
	case 0:
		return "echo reply"
	case 3:
		names := [...]string{"net", "host", "protocol", "port", "need to frag", "source route failed",
			"net unknown", "host unknown", "isolated", "net prohibited", "host prohibited",
			"net tos", "host tos", "admin prohibited"}
		if int(code) < len(names) {
			return names[code] + " unreachable"
		}
		return fmt.Sprintf("unreachable code %d", code)
	case 4:
		return "source quench"
	case 5:
		return "redirect"
	case 8:
		return "echo request"
	case 11:
		return "time exceeded in-transit"
	case 12:
		return "parameter problem"
	case 13:
		return "time stamp request"
	case 14:
		return "time stamp reply"
	}
	return fmt.Sprintf("type-#%d", t)
}
