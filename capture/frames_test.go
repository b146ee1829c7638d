package capture

import (
	"encoding/binary"
	"net"
)

// Hand-built frames for the unit tests, so that capture's tests do not
// depend on package craft.

var (
	macA  = net.HardwareAddr{0x02, 0x00, 0x5e, 0x00, 0x00, 0x0a}
	macB  = net.HardwareAddr{0x02, 0x00, 0x5e, 0x00, 0x00, 0x0b}
	bcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	ipA   = [4]byte{198, 18, 0, 1}
	ipB   = [4]byte{198, 18, 0, 2}
)

// ethHeader returns an Ethernet header, with one tag of the given TPID
// (0 for none) carrying VLAN ID vid.
func ethHeader(dst, src net.HardwareAddr, tpid uint16, vid uint16, etherType uint16) []byte {
	b := append([]byte{}, dst...)
	b = append(b, src...)
	if tpid != 0 {
		b = binary.BigEndian.AppendUint16(b, tpid)
		b = binary.BigEndian.AppendUint16(b, vid)
	}
	return binary.BigEndian.AppendUint16(b, etherType)
}

func pad60(b []byte) []byte {
	for len(b) < 60 {
		b = append(b, 0)
	}
	return b
}

// arpFrame: RFC 826 request or reply for IPv4 over Ethernet.
func arpFrame(tpid uint16, op uint16, sha net.HardwareAddr, spa [4]byte, tha net.HardwareAddr, tpa [4]byte) []byte {
	dst := bcast
	if op == 2 {
		dst = tha
	}
	b := ethHeader(dst, sha, tpid, 10, 0x0806)
	b = append(b, 0, 1, 0x08, 0x00, 6, 4)
	b = binary.BigEndian.AppendUint16(b, op)
	b = append(b, sha...)
	b = append(b, spa[:]...)
	b = append(b, tha...)
	b = append(b, tpa[:]...)
	return pad60(b)
}

func checksum(b []byte, sum uint32) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// ipv4Frame builds Ethernet/[tag]/IPv4 with the given protocol, flags and
// fragment offset word (bytes 6-7), options and payload, checksums right.
func ipv4Frame(tpid uint16, proto uint8, fragWord uint16, options []byte, payload []byte) []byte {
	b := ethHeader(macB, macA, tpid, 10, 0x0800)
	ihl := 5 + len(options)/4
	ip := []byte{byte(0x40 | ihl), 0}
	ip = binary.BigEndian.AppendUint16(ip, uint16(ihl*4+len(payload)))
	ip = append(ip, 0x12, 0x34)
	ip = binary.BigEndian.AppendUint16(ip, fragWord)
	ip = append(ip, 64, proto, 0, 0)
	ip = append(ip, ipA[:]...)
	ip = append(ip, ipB[:]...)
	ip = append(ip, options...)
	binary.BigEndian.PutUint16(ip[10:], checksum(ip, 0))
	b = append(b, ip...)
	b = append(b, payload...)
	return pad60(b)
}

// udpPayload returns a UDP datagram (RFC 768) with its checksum over the
// pseudo-header of ipA -> ipB.
func udpPayload(src, dst uint16, data []byte) []byte {
	u := binary.BigEndian.AppendUint16(nil, src)
	u = binary.BigEndian.AppendUint16(u, dst)
	u = binary.BigEndian.AppendUint16(u, uint16(8+len(data)))
	u = append(u, 0, 0)
	u = append(u, data...)
	var pseudo uint32
	for _, w := range [][]byte{ipA[:], ipB[:]} {
		pseudo += uint32(binary.BigEndian.Uint16(w[0:])) + uint32(binary.BigEndian.Uint16(w[2:]))
	}
	pseudo += 17 + uint32(len(u))
	c := checksum(u, pseudo)
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(u[6:], c)
	return u
}

// icmpEcho returns an ICMP echo request (RFC 792).
func icmpEcho(id, seq uint16) []byte {
	b := []byte{8, 0, 0, 0}
	b = binary.BigEndian.AppendUint16(b, id)
	b = binary.BigEndian.AppendUint16(b, seq)
	b = append(b, "rawlab"...)
	binary.BigEndian.PutUint16(b[2:], checksum(b, 0))
	return b
}

// bootp returns a minimal DHCPDISCOVER (RFC 2131 §2, RFC 2132).
func bootp(chaddr net.HardwareAddr) []byte {
	b := make([]byte, 236)
	b[0], b[1], b[2] = 1, 1, 6
	copy(b[4:8], []byte{0xde, 0xad, 0xbe, 0xef})
	copy(b[28:], chaddr)
	b = append(b, 99, 130, 83, 99) // magic cookie
	b = append(b, 53, 1, 1, 255)   // DHCPDISCOVER, end
	return b
}
