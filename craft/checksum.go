package craft

import (
	"encoding/binary"
	"fmt"
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
