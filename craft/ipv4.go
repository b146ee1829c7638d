package craft

import (
	"encoding/binary"
	"net/netip"
)

// IP protocol numbers used here (IANA "Assigned Internet Protocol Numbers").
const (
	ProtocolICMP uint8 = 1
	ProtocolTCP  uint8 = 6
	ProtocolUDP  uint8 = 17
)

// DefaultTTL is the TTL encoders write when IPv4.TTL is 0 (Linux's
// net.ipv4.ip_default_ttl).
const DefaultTTL = 64

// IPv4 is an IPv4 header (RFC 791 §3.1). The version, header length, total
// length and header checksum are computed when encoding and checked (but not
// stored) when decoding.
type IPv4 struct {
	TOS           uint8  // DSCP and ECN (RFC 2474, RFC 3168)
	ID            uint16 // identification
	DontFragment  bool   // DF flag
	MoreFragments bool   // MF flag
	FragOffset    uint16 // in 8-byte units, 13 bits
	TTL           uint8  // 0 -> DefaultTTL when encoding with the frame builders
	Protocol      uint8
	Src, Dst      netip.Addr
	Options       []byte // raw options; encoders pad them with zeros (End of Option List) to a multiple of 4, at most 40 bytes
}

// IPv4HeaderLen is the length of an IPv4 header without options.
const IPv4HeaderLen = 20

// headerLen returns the encoded header length: 20 plus the options rounded
// up to 4 bytes, at most 60.
func (ip *IPv4) headerLen() int {
	o := min((len(ip.Options)+3)&^3, 40)
	return IPv4HeaderLen + o
}

// AppendIPv4 appends the IPv4 header ip for a payload of payloadLen bytes
// to b, with the header checksum computed (RFC 791 §3.1, RFC 1071). The TTL
// is written as given (see DefaultTTL for the builders' default). Layout:
//
//	0     version (4) << 4 | IHL in 32-bit words
//	1     type of service
//	2:4   total length, header and payload
//	4:6   identification
//	6:8   flags (reserved, DF 0x4000, MF 0x2000) | fragment offset (13 bits)
//	8     time to live
//	9     protocol
//	10:12 header checksum
//	12:16 source address
//	16:20 destination address
//	20:   options, padded to a 32-bit boundary
func AppendIPv4(b []byte, ip IPv4, payloadLen int) []byte {
	hl := ip.headerLen()
	n := len(b)
	b = grow(b, hl)
	h := b[n:]
	h[0] = 4<<4 | uint8(hl/4)
	h[1] = ip.TOS
	binary.BigEndian.PutUint16(h[2:4], uint16(hl+payloadLen))
	binary.BigEndian.PutUint16(h[4:6], ip.ID)
	f := ip.FragOffset & 0x1fff
	if ip.DontFragment {
		f |= 0x4000
	}
	if ip.MoreFragments {
		f |= 0x2000
	}
	binary.BigEndian.PutUint16(h[6:8], f)
	h[8] = ip.TTL
	h[9] = ip.Protocol
	h[10], h[11] = 0, 0
	put4(h[12:16], ip.Src)
	put4(h[16:20], ip.Dst)
	o := copy(h[20:hl], ip.Options)
	clear(h[20+o : hl])
	binary.BigEndian.PutUint16(h[10:12], Checksum(h[:hl]))
	return b
}

// DecodeIPv4 decodes the IPv4 header at the start of b into ip and returns
// the payload: the bytes from the end of the header to the total length, so
// Ethernet padding after the datagram is not included. ip.Options aliases b;
// nothing is allocated. The header checksum is not verified here: see
// IPv4ChecksumOK. A header that claims more bytes than b holds returns an
// error wrapping io.ErrUnexpectedEOF.
func DecodeIPv4(b []byte, ip *IPv4) (payload []byte, err error) {
	if len(b) < IPv4HeaderLen {
		return nil, errIPv4Short
	}
	if b[0]>>4 != 4 {
		return nil, errIPv4Version
	}
	hl := int(b[0]&0x0f) * 4
	if hl < IPv4HeaderLen {
		return nil, errIPv4IHL
	}
	total := int(binary.BigEndian.Uint16(b[2:4]))
	if len(b) < hl || len(b) < total {
		return nil, errIPv4Short
	}
	if total < hl {
		return nil, errIPv4TotalLen
	}
	ip.TOS = b[1]
	ip.ID = binary.BigEndian.Uint16(b[4:6])
	f := binary.BigEndian.Uint16(b[6:8])
	ip.DontFragment = f&0x4000 != 0
	ip.MoreFragments = f&0x2000 != 0
	ip.FragOffset = f & 0x1fff
	ip.TTL = b[8]
	ip.Protocol = b[9]
	ip.Src = netip.AddrFrom4([4]byte(b[12:16]))
	ip.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	if hl > IPv4HeaderLen {
		ip.Options = b[IPv4HeaderLen:hl:hl]
	} else {
		ip.Options = nil
	}
	return b[hl:total], nil
}

// IPv4ChecksumOK reports whether the IPv4 header at the start of b has a
// correct header checksum (RFC 791 §3.1: the one's complement sum of the
// header's 16-bit words, checksum included, is 0xffff).
func IPv4ChecksumOK(b []byte) bool {
	if len(b) < IPv4HeaderLen {
		return false
	}
	hl := int(b[0]&0x0f) * 4
	if hl < IPv4HeaderLen || len(b) < hl {
		return false
	}
	return Checksum(b[:hl]) == 0
}

// Checksum returns the Internet checksum of b (RFC 1071): the one's
// complement of the one's complement sum of its 16-bit big-endian words,
// an odd last byte padded with zero. Computed over data that already holds
// a correct checksum, it returns 0.
func Checksum(b []byte) uint16 {
	return ^fold(sum(0, b))
}

// sum adds b's 16-bit words to s without folding.
func sum(s uint64, b []byte) uint64 {
	for len(b) >= 8 {
		s += uint64(binary.BigEndian.Uint32(b)) + uint64(binary.BigEndian.Uint32(b[4:]))
		b = b[8:]
	}
	for len(b) >= 2 {
		s += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0]) << 8
	}
	return s
}

// fold reduces a 64-bit sum of 16-bit words to 16 bits with end-around carry.
func fold(s uint64) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}
