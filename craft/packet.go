package craft

import (
	"errors"
	"fmt"
)

// Layer is a set of protocol layers found in a Packet.
type Layer uint8

// Layers that DecodePacket recognises above Ethernet.
const (
	LayerARP Layer = 1 << iota
	LayerIPv4
	LayerUDP
	LayerICMPEcho
)

// String lists the layers, "ARP|IPv4|UDP|ICMPEcho" style, or "none".
func (l Layer) String() string {
	if l == 0 {
		return "none"
	}
	s := ""
	for i, n := range [...]string{"ARP", "IPv4", "UDP", "ICMPEcho"} {
		if l&(1<<i) != 0 {
			if s != "" {
				s += "|"
			}
			s += n
		}
	}
	if l>>4 != 0 {
		s += fmt.Sprintf("|0x%02x", uint8(l>>4<<4))
	}
	return s
}

// Packet is a frame decoded layer by layer, in place, like gopacket's
// DecodingLayerParser: decoding into the same Packet again allocates
// nothing, and its slices alias the frame. Layers says which of ARP, IPv4,
// UDP and ICMP hold a decoded value; the others are stale. AppendPacket
// re-encodes a Packet to exactly the bytes it was decoded from, provided the
// checksums in them were correct.
type Packet struct {
	Eth    Ethernet
	Layers Layer
	ARP    ARP
	IPv4   IPv4
	UDP    UDP
	ICMP   ICMPEcho

	// Payload is what follows the last decoded layer: the UDP payload, the
	// IPv4 payload of another protocol (or of a fragment), the Ethernet
	// payload of an unknown EtherType.
	Payload []byte
	// Trailer is what follows the ARP packet or the IPv4 datagram in the
	// frame: usually the zero padding up to 60 bytes.
	Trailer []byte
}

// DecodePacket decodes frame into p. It stops without error at the first
// layer it does not decode (unknown EtherType, IPv4 protocol other than UDP
// or ICMP, ICMP other than echo, IPv4 fragments), leaving the rest in
// p.Payload. Malformed or truncated headers return an error (wrapping
// io.ErrUnexpectedEOF for truncation); p then holds the layers decoded so far.
func DecodePacket(frame []byte, p *Packet) error {
	p.Layers, p.Payload, p.Trailer = 0, nil, nil
	b, err := DecodeEthernet(frame, &p.Eth)
	if err != nil {
		return err
	}
	p.Payload = b
	switch p.Eth.EtherType {
	case EtherTypeARP:
		if err := DecodeARP(b, &p.ARP); err != nil {
			return err
		}
		p.Layers |= LayerARP
		p.Payload, p.Trailer = nil, b[ARPLen:]
		return nil
	case EtherTypeIPv4:
	default:
		return nil
	}
	pl, err := DecodeIPv4(b, &p.IPv4)
	if err != nil {
		return err
	}
	p.Layers |= LayerIPv4
	p.Payload, p.Trailer = pl, b[ihl(b)+len(pl):]
	if p.IPv4.MoreFragments || p.IPv4.FragOffset != 0 {
		return nil
	}
	switch p.IPv4.Protocol {
	case ProtocolUDP:
		up, err := DecodeUDP(pl, &p.UDP)
		if err != nil {
			return err
		}
		if len(up) != len(pl)-UDPHeaderLen {
			// Bytes between the UDP length and the IPv4 total length cannot
			// be re-encoded; keep the datagram undecoded.
			return nil
		}
		p.Layers |= LayerUDP
		p.Payload = up
	case ProtocolICMP:
		if err := DecodeICMPEcho(pl, &p.ICMP); err != nil {
			if errors.Is(err, ErrUnsupported) {
				return nil
			}
			return err
		}
		p.Layers |= LayerICMPEcho
		p.Payload = nil
	}
	return nil
}

// ihl returns the header length in bytes of the IPv4 header at b, which
// DecodeIPv4 has validated.
func ihl(b []byte) int { return int(b[0]&0x0f) * 4 }

// AppendPacket appends the frame p describes to b: every decoded layer
// re-encoded with fresh lengths and checksums, then p.Payload (for the
// undecoded rest) and p.Trailer. No padding is added beyond the Trailer and
// the TTL is written as is. For a Packet filled by DecodePacket the result
// is the decoded frame byte for byte, except where the frame had a wrong
// checksum, a UDP checksum of 0 (none; a real one is computed), a checksum
// of 0xffff where 0x0000 is computed (both are zero in one's complement), or
// the reserved IPv4 flag set.
func AppendPacket(b []byte, p *Packet) []byte {
	b = AppendEthernet(b, p.Eth)
	switch {
	case p.Layers&LayerARP != 0:
		b = AppendARPPacket(b, p.ARP)
	case p.Layers&LayerIPv4 != 0:
		switch {
		case p.Layers&LayerUDP != 0:
			b = AppendIPv4(b, p.IPv4, UDPHeaderLen+len(p.Payload))
			b = AppendUDPDatagram(b, p.IPv4.Src, p.IPv4.Dst, p.UDP, p.Payload)
		case p.Layers&LayerICMPEcho != 0:
			b = AppendIPv4(b, p.IPv4, ICMPEchoHeaderLen+len(p.ICMP.Data))
			b = AppendICMPEchoMessage(b, p.ICMP)
		default:
			b = AppendIPv4(b, p.IPv4, len(p.Payload))
			b = append(b, p.Payload...)
		}
	default:
		b = append(b, p.Payload...)
	}
	return append(b, p.Trailer...)
}
