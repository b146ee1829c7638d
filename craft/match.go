package craft

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// The Match functions return reply matchers for `rawlab craft --wait`:
// each reports whether a received frame answers what was sent. They decode
// untagged frames and frames with one 802.1Q tag (the kernel usually strips
// it anyway).

// MatchARPReply matches an ARP reply from ip (RFC 826: the sender of the
// reply is the target of the request).
func MatchARPReply(ip [4]byte) func([]byte) bool {
	var p Packet
	return func(b []byte) bool {
		return DecodePacket(b, &p) == nil && p.Layers&LayerARP != 0 && p.ARP.Op == ARPReply && p.ARP.SenderIP.As4() == ip
	}
}

// MatchEchoReply matches an ICMP echo reply with identifier id, a sequence
// number from first to first+n-1 (wrapping), and the data sent (RFC 792:
// the reply echoes it).
func MatchEchoReply(id, first, n uint16, data []byte) func([]byte) bool {
	var p Packet
	return func(b []byte) bool {
		return DecodePacket(b, &p) == nil && p.Layers&LayerICMPEcho != 0 && p.ICMP.Type == ICMPEchoReply &&
			p.ICMP.ID == id && p.ICMP.Seq-first < n && bytes.Equal(p.ICMP.Data, data)
	}
}

// MatchDHCPReply matches a BOOTREPLY with transaction ID xid.
func MatchDHCPReply(xid dhcpv4.TransactionID) func([]byte) bool {
	return func(b []byte) bool {
		p, err := DecodeDHCP(b)
		return err == nil && p.Msg.OpCode == dhcpv4.OpcodeBootReply && p.Msg.TransactionID == xid
	}
}

// ParseHex decodes bytes written in hex, with an optional 0x prefix and
// spaces, tabs, newlines, colons, dashes or dots anywhere between digits.
func ParseHex(s string) ([]byte, error) {
	clean := strings.Map(func(r rune) rune {
		if strings.ContainsRune(" \t\r\n:-.", r) {
			return -1
		}
		return r
	}, strings.TrimPrefix(strings.TrimSpace(s), "0x"))
	if clean == "" {
		return nil, errors.New("craft: hex: empty")
	}
	b, err := hex.DecodeString(clean)
	if err != nil {
		return nil, errors.New("craft: hex: " + err.Error())
	}
	return b, nil
}

// EchoPattern returns n bytes counting up from 0, the echo data `craft
// icmp --size` sends (ping's is similar).
func EchoPattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}
