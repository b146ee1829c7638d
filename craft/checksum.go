package craft

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// SetIPv4Checksum overwrites the IPv4 header checksum of frame, an Ethernet
// frame such as AppendUDP or AppendICMPEcho build, with c: a way to craft
// frames with a wrong checksum, which receivers must drop (RFC 1122
// §3.2.1.2). It fails, changing nothing, when frame holds no IPv4 header.
func SetIPv4Checksum(frame []byte, c uint16) error {
	var p Packet
	if err := DecodePacket(frame, &p); err != nil {
		return err
	}
	if p.Layers&LayerIPv4 == 0 {
		return fmt.Errorf("craft: set ipv4 checksum: frame has no IPv4 header: %w", ErrUnsupported)
	}
	binary.BigEndian.PutUint16(frame[p.Eth.HeaderLen()+10:], c)
	return nil
}

// SetTransportChecksum overwrites the UDP checksum (at offset 6 of the UDP
// header) or the ICMP checksum (at offset 2) of frame with c. A UDP
// checksum of 0 means the sender computed none (RFC 768), which receivers
// accept; any other wrong value they must drop (RFC 1122 §4.1.3.4, §3.2.2).
// It fails, changing nothing, when frame holds neither.
func SetTransportChecksum(frame []byte, c uint16) error {
	var p Packet
	if err := DecodePacket(frame, &p); err != nil {
		return err
	}
	if p.Layers&LayerIPv4 == 0 {
		return fmt.Errorf("craft: set transport checksum: frame has no IPv4 header: %w", ErrUnsupported)
	}
	l3 := frame[p.Eth.HeaderLen():]
	l4 := l3[ihl(l3):]
	switch {
	case p.Layers&LayerUDP != 0:
		binary.BigEndian.PutUint16(l4[6:], c)
	case p.IPv4.Protocol == ProtocolICMP && p.IPv4.FragOffset == 0 && len(l4) >= 4:
		binary.BigEndian.PutUint16(l4[2:], c)
	default:
		return fmt.Errorf("craft: set transport checksum: frame has no UDP or ICMP header: %w", ErrUnsupported)
	}
	return nil
}

// ChecksumLayer names a checksum BreakChecksum can spoil.
type ChecksumLayer uint8

// Checksums of a frame.
const (
	ChecksumIPv4 ChecksumLayer = iota + 1 // the IPv4 header checksum
	ChecksumUDP                           // the UDP checksum
	ChecksumICMP                          // the ICMP checksum
)

// String returns "ip", "udp" or "icmp".
func (l ChecksumLayer) String() string {
	switch l {
	case ChecksumIPv4:
		return "ip"
	case ChecksumUDP:
		return "udp"
	case ChecksumICMP:
		return "icmp"
	}
	return fmt.Sprintf("checksum(%d)", uint8(l))
}

// ParseChecksumLayer parses "ip", "udp" or "icmp".
func ParseChecksumLayer(s string) (ChecksumLayer, error) {
	for _, l := range []ChecksumLayer{ChecksumIPv4, ChecksumUDP, ChecksumICMP} {
		if s == l.String() {
			return l, nil
		}
	}
	return 0, fmt.Errorf("craft: checksum %q: want ip, udp or icmp", s)
}

// BreakChecksum makes the l checksum of frame (as DecodePacket reads it:
// untagged or one 802.1Q tag) wrong on purpose: its low byte is inverted,
// which no receiver can take for the right value (0x0000 and 0xffff, the
// two zeros of one's complement, never both result; a UDP checksum never
// becomes 0, "none"). It fails, changing nothing, when frame lacks that
// header.
func BreakChecksum(frame []byte, l ChecksumLayer) error {
	var p Packet
	if err := DecodePacket(frame, &p); err != nil {
		return err
	}
	l3 := frame[p.Eth.HeaderLen():]
	var at int
	switch {
	case p.Layers&LayerIPv4 == 0:
		return fmt.Errorf("craft: break %s checksum: frame has no IPv4 header: %w", l, ErrUnsupported)
	case l == ChecksumIPv4:
		at = 10
	case l == ChecksumUDP && p.Layers&LayerUDP != 0:
		at = ihl(l3) + 6
	case l == ChecksumICMP && p.IPv4.Protocol == ProtocolICMP && p.IPv4.FragOffset == 0 && len(l3) >= ihl(l3)+4:
		at = ihl(l3) + 2
	default:
		return fmt.Errorf("craft: break %s checksum: frame has no %s header: %w", l, strings.ToUpper(l.String()), ErrUnsupported)
	}
	c := binary.BigEndian.Uint16(l3[at:]) ^ 0x00ff
	if c == 0 || c == 0xffff {
		c ^= 0xff00
	}
	binary.BigEndian.PutUint16(l3[at:], c)
	return nil
}
