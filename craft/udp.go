package craft

import (
	"encoding/binary"
	"net/netip"
)

// UDP is a UDP header (RFC 768). The length and checksum are computed when
// encoding.
type UDP struct {
	SrcPort, DstPort uint16
}

// UDPHeaderLen is the length of a UDP header.
const UDPHeaderLen = 8

// MaxUDPPayload is the largest UDP payload an IPv4 datagram without options
// carries: 65535 - 20 - 8 bytes. The builders do not check it (they return
// no error); with a longer payload the length fields wrap, so callers that
// take payloads from users must.
const MaxUDPPayload = 65535 - IPv4HeaderLen - UDPHeaderLen

// AppendUDPDatagram appends a UDP header and payload to b, with the length
// and the checksum over the IPv4 pseudo-header (RFC 768: source, destination,
// zero, protocol 17, UDP length) computed. A computed checksum of 0 is sent
// as 0xffff, since 0 means "no checksum". Layout:
//
//	0:2 source port
//	2:4 destination port
//	4:6 length, header and payload
//	6:8 checksum
func AppendUDPDatagram(b []byte, src, dst netip.Addr, u UDP, payload []byte) []byte {
	n := len(b)
	b = grow(b, UDPHeaderLen)
	b = append(b, payload...)
	d := b[n:]
	binary.BigEndian.PutUint16(d[0:2], u.SrcPort)
	binary.BigEndian.PutUint16(d[2:4], u.DstPort)
	binary.BigEndian.PutUint16(d[4:6], uint16(len(d)))
	d[6], d[7] = 0, 0
	c := ^fold(sum(pseudoHeaderSum(src, dst, ProtocolUDP, len(d)), d))
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(d[6:8], c)
	return b
}

// pseudoHeaderSum returns the unfolded sum of the IPv4 pseudo-header used by
// UDP and TCP checksums (RFC 768, RFC 9293 §3.1).
func pseudoHeaderSum(src, dst netip.Addr, proto uint8, length int) uint64 {
	var ph [12]byte
	put4(ph[0:4], src)
	put4(ph[4:8], dst)
	ph[9] = proto
	binary.BigEndian.PutUint16(ph[10:12], uint16(length))
	return sum(0, ph[:])
}

// DecodeUDP decodes the UDP header at the start of b (the IPv4 payload) into
// u and returns the payload, bounded by the UDP length field. Nothing is
// allocated. The checksum is not verified here: see UDPChecksumOK.
func DecodeUDP(b []byte, u *UDP) (payload []byte, err error) {
	if len(b) < UDPHeaderLen {
		return nil, errUDPShort
	}
	l := int(binary.BigEndian.Uint16(b[4:6]))
	if l < UDPHeaderLen {
		return nil, errUDPLength
	}
	if l > len(b) {
		return nil, errUDPShort
	}
	u.SrcPort = binary.BigEndian.Uint16(b[0:2])
	u.DstPort = binary.BigEndian.Uint16(b[2:4])
	return b[UDPHeaderLen:l], nil
}

// UDPChecksumOK reports whether the UDP datagram d (header and payload, as
// bounded by its length field) carried between src and dst has a correct
// checksum. A zero checksum means the sender computed none (RFC 768) and is
// reported as correct.
func UDPChecksumOK(src, dst netip.Addr, d []byte) bool {
	if len(d) < UDPHeaderLen {
		return false
	}
	if binary.BigEndian.Uint16(d[6:8]) == 0 {
		return true
	}
	return fold(sum(pseudoHeaderSum(src, dst, ProtocolUDP, len(d)), d)) == 0xffff
}

// AppendUDP appends a whole IPv4/UDP frame to b: the Ethernet header (its
// EtherType forced to IPv4), the IPv4 header (protocol forced to 17, TTL 0
// written as DefaultTTL), the UDP header and payload, and zero padding up to
// the 60-byte minimum. It allocates nothing when cap(b) suffices.
func AppendUDP(b []byte, eth Ethernet, ip IPv4, u UDP, payload []byte) []byte {
	start := len(b)
	eth.EtherType = EtherTypeIPv4
	ip.Protocol = ProtocolUDP
	if ip.TTL == 0 {
		ip.TTL = DefaultTTL
	}
	b = AppendEthernet(b, eth)
	b = AppendIPv4(b, ip, UDPHeaderLen+len(payload))
	b = AppendUDPDatagram(b, ip.Src, ip.Dst, u, payload)
	return pad(b, start)
}
