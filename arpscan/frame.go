package arpscan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
)

// Frame layout, RFC 826 for the ARP body and IEEE 802.1Q for the optional tag:
//
//	0      6      12         [12 TPID 0x8100, 14 TCI]   12|16
//	dst(6) src(6) [tag (4)] ethertype 0x0806 (2) ARP body (28)
//
// ARP body for Ethernet/IPv4 (offsets from its start):
//
//	0 htype(2)=1  2 ptype(2)=0x0800  4 hlen(1)=6  5 plen(1)=4  6 oper(2)
//	8 sha(6)  14 spa(4)  18 tha(6)  24 tpa(4)
const (
	etherHeaderLen = 14
	vlanTagLen     = 4
	arpBodyLen     = 28
	minFrameLen    = 60 // Ethernet minimum without the FCS

	etherTypeARP  = 0x0806
	etherTypeIPv4 = 0x0800
	etherTypeVLAN = 0x8100
	etherTypeQinQ = 0x88a8

	opRequest = 1
	opReply   = 2

	// offset of the target protocol address inside the ARP body
	offTPA = 24
)

// ErrNotARP is returned by DecodeFrame for a well-formed frame that does not
// carry an Ethernet/IPv4 ARP packet.
var ErrNotARP = errors.New("arpscan: not an Ethernet/IPv4 ARP frame")

// Packet is a decoded ARP frame. It holds values, not slices into the frame,
// so that decoding into a reused Packet allocates nothing.
type Packet struct {
	EthDst, EthSrc [6]byte
	VLAN           int // 802.1Q VLAN ID, or -1 when the frame was untagged
	Op             uint16
	SHA, THA       [6]byte // sender and target hardware addresses
	SPA, TPA       [4]byte // sender and target protocol (IPv4) addresses
}

// SenderIP returns the sender protocol address as a netip.Addr.
func (p *Packet) SenderIP() netip.Addr { return netip.AddrFrom4(p.SPA) }

// TargetIP returns the target protocol address as a netip.Addr.
func (p *Packet) TargetIP() netip.Addr { return netip.AddrFrom4(p.TPA) }

// Mismatch reports whether the Ethernet source differs from the ARP sender
// hardware address (arp-scan prints the Ethernet source in brackets then).
func (p *Packet) Mismatch() bool { return p.EthSrc != p.SHA }

// DecodeFrame decodes an Ethernet II frame, untagged or with one 802.1Q (or
// 802.1ad) tag, carrying an Ethernet/IPv4 ARP packet into p. A short frame
// returns io.ErrUnexpectedEOF; any other payload returns ErrNotARP. It
// allocates nothing.
func DecodeFrame(frame []byte, p *Packet) error {
	if len(frame) < etherHeaderLen {
		return io.ErrUnexpectedEOF
	}
	copy(p.EthDst[:], frame[0:6])
	copy(p.EthSrc[:], frame[6:12])
	p.VLAN = -1
	et := binary.BigEndian.Uint16(frame[12:14])
	body := frame[etherHeaderLen:]
	if et == etherTypeVLAN || et == etherTypeQinQ {
		if len(frame) < etherHeaderLen+vlanTagLen {
			return io.ErrUnexpectedEOF
		}
		p.VLAN = int(binary.BigEndian.Uint16(frame[14:16]) & 0x0fff)
		et = binary.BigEndian.Uint16(frame[16:18])
		body = frame[etherHeaderLen+vlanTagLen:]
	}
	if et != etherTypeARP {
		return ErrNotARP
	}
	return decodeBody(body, p)
}

// decodeBody decodes the 28-byte ARP body (RFC 826) into p.
func decodeBody(b []byte, p *Packet) error {
	if len(b) < 8 {
		return io.ErrUnexpectedEOF
	}
	// htype 1 (Ethernet), ptype 0x0800 (IPv4), hlen 6, plen 4.
	if binary.BigEndian.Uint16(b[0:2]) != 1 || binary.BigEndian.Uint16(b[2:4]) != etherTypeIPv4 || b[4] != 6 || b[5] != 4 {
		return ErrNotARP
	}
	if len(b) < arpBodyLen {
		return io.ErrUnexpectedEOF
	}
	p.Op = binary.BigEndian.Uint16(b[6:8])
	copy(p.SHA[:], b[8:14])
	copy(p.SPA[:], b[14:18])
	copy(p.THA[:], b[18:24])
	copy(p.TPA[:], b[24:28])
	return nil
}

// AppendFrame appends p encoded as an Ethernet frame (tagged when p.VLAN >=
// 0) to b, padded with zeros to the 60-byte Ethernet minimum. It allocates
// nothing when cap(b) suffices.
func AppendFrame(b []byte, p *Packet) []byte {
	start := len(b)
	b = append(b, p.EthDst[:]...)
	b = append(b, p.EthSrc[:]...)
	if p.VLAN >= 0 {
		b = binary.BigEndian.AppendUint16(b, etherTypeVLAN)
		b = binary.BigEndian.AppendUint16(b, uint16(p.VLAN)&0x0fff)
	}
	b = binary.BigEndian.AppendUint16(b, etherTypeARP)
	b = binary.BigEndian.AppendUint16(b, 1) // htype Ethernet
	b = binary.BigEndian.AppendUint16(b, etherTypeIPv4)
	b = append(b, 6, 4)
	b = binary.BigEndian.AppendUint16(b, p.Op)
	b = append(b, p.SHA[:]...)
	b = append(b, p.SPA[:]...)
	b = append(b, p.THA[:]...)
	b = append(b, p.TPA[:]...)
	for len(b)-start < minFrameLen {
		b = append(b, 0)
	}
	return b
}

// tpaOffset is where the target protocol address sits in a frame built by
// AppendFrame.
func tpaOffset(vlan int) int {
	if vlan >= 0 {
		return etherHeaderLen + vlanTagLen + offTPA
	}
	return etherHeaderLen + offTPA
}

// FrameBits is the cost in bits of one request frame in the bandwidth
// arithmetic, as arp-scan(1) computes it (arp-scan.c, main): the frame's
// length before padding (42 bytes, 46 with an 802.1Q tag), raised to 46
// (arp-scan's MINIMUM_FRAME_SIZE), plus 18 bytes of layer-2 overhead
// (PACKET_OVERHEAD: "6+6+2 + 4"), times 8. An ARP request therefore costs
// 512 bits, and the default 256,000 bit/s is 500 frames/s, one every 2 ms.
func FrameBits(vlan bool) int {
	n := etherHeaderLen + arpBodyLen
	if vlan {
		n += vlanTagLen
	}
	n = max(n, 46)
	return (n + 18) * 8
}

// mac6 copies a 6-byte hardware address into an array.
func mac6(hw net.HardwareAddr) ([6]byte, error) {
	var a [6]byte
	if len(hw) != 6 {
		return a, fmt.Errorf("arpscan: hardware address %v is not 6 bytes", hw)
	}
	copy(a[:], hw)
	return a, nil
}
